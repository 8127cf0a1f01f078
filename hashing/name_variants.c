/* name_variants.c: look a normalised name up in the compiled-in variant tables.
 * Part of hashing/ (prepare): gives the `variant` feature of given names and
 * surnames; the data is generated into name_variants_table.c. */
#include <stdint.h>

#include "dolen/variants.h"

/* Defined in name_variants_table.c (generated; the same declarations head it). */
extern const uint32_t dl__nv_given_n, dl__nv_surname_n;
extern const char dl__nv_given_pool[], dl__nv_surname_pool[];
extern const uint32_t dl__nv_given_off[], dl__nv_surname_off[];
extern const uint16_t dl__nv_given_groups[][4], dl__nv_surname_groups[][4];

size_t dl_name_variants(dl_variant_table t, const char *norm, size_t len, const char **out,
                        size_t max)
{
    const char *pool;
    const uint32_t *off;
    const uint16_t(*groups)[4];
    uint32_t n;
    switch (t) {
    case DL_VARIANTS_GIVEN:
        pool = dl__nv_given_pool, off = dl__nv_given_off, groups = dl__nv_given_groups;
        n = dl__nv_given_n;
        break;
    case DL_VARIANTS_SURNAME:
        pool = dl__nv_surname_pool, off = dl__nv_surname_off, groups = dl__nv_surname_groups;
        n = dl__nv_surname_n;
        break;
    default:
        return 0;
    }
    /* Binary search over the sorted names: a dozen short comparisons for a few
     * thousand names, no table to build at start-up and nothing to hash. */
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        const unsigned char *s = (const unsigned char *)pool + off[mid];
        /* Compare without strlen: a table name that ends early meets its NUL,
         * which sorts before any letter. */
        int c = 0;
        for (size_t i = 0; i < len && c == 0; i++) {
            c = (int)s[i] - (int)(unsigned char)norm[i];
            if (s[i] == 0 && c == 0)
                c = -1; /* a NUL inside NORM: never read past this name */
        }
        if (c == 0)
            c = s[len] != 0;
        if (c == 0) {
            size_t k = 0;
            for (size_t j = 0; j < 4 && k < max && groups[mid][j] != 0xFFFF; j++)
                out[k++] = pool + off[groups[mid][j]];
            return k;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}
