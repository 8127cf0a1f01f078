/* spec_internal.h: what the config/ files share beyond include/dolen/spec.h.
 * Part of config/; the loader calls the hasher once a spec is valid. */
#ifndef DL_SPEC_INTERNAL_H
#define DL_SPEC_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "dolen/spec.h"

/* Fill s->hash with the SHA-256 of dl_spec_canonical(s). False when out of
 * memory or libcrypto fails; s->hash is then zero. */
bool dl__spec_compute_hash(dl_spec *s);

/* YYYYMMDD as "YYYY-MM-DD" into OUT (11 bytes); 0 as "today". Returns OUT. */
char *dl__spec_date_str(int32_t ymd, char out[11]);

#endif
