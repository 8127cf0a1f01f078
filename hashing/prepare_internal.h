/* prepare_internal.h: pieces of prepare.c exposed to its tests. */
#ifndef DL_PREPARE_INTERNAL_H
#define DL_PREPARE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

/* The Monday of the ISO week holding YYYYMMDD, as YYYY-MM-DD into OUT (11
 * bytes); 0 (nothing written) when month or day is 0. */
size_t dl__week_of(int32_t ymd, char out[11]);

#endif
