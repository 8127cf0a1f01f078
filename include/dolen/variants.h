/* dolen/variants.h: name-variant groups (nicknames, spelling variants and
 * Welsh/English equivalents: Dafydd ~ David, Siôn ~ John, Gwilym ~ William).
 * Part of hashing/; prepare encodes the groups of a name as its `variant`
 * feature, so two names agree on it when they share a group. Sources of the
 * compiled-in tables: docs/name-variants.md. */
#ifndef DOLEN_VARIANTS_H
#define DOLEN_VARIANTS_H

#include <stddef.h>

typedef enum dl_variant_table {
    DL_VARIANTS_GIVEN,   /* given names */
    DL_VARIANTS_SURNAME, /* surnames */
} dl_variant_table;

/* The canonical names of the groups NORM (LEN bytes, a normalised single name
 * as dl_normalise_name writes a part: upper-case ASCII letters) belongs to.
 * Writes up to MAX pointers to static NUL-terminated strings into OUT and
 * returns how many (0: the name is in no group, or T is unknown). A name in a
 * group of its own name comes first ("DAVID" for DAVID); the rest are in a
 * fixed order, so outputs are deterministic. The tables hold at most
 * DL_TOKEN_SET_MAX (4) groups per name. No allocation; thread-safe. */
size_t dl_name_variants(dl_variant_table t, const char *norm, size_t len, const char **out,
                        size_t max);

#endif
