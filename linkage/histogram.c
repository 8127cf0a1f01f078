/* histogram.c: counts of comparison patterns over a set of record pairs.
 * Part of linkage/; block.c and link.c fill one per thread and merge them,
 * model.c and em.c estimate u, m and lambda from them without seeing pairs. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

dl_status dl__histogram_init(dl_histogram *h, uint64_t n_patterns, dl_error *err)
{
    h->n_patterns = 0;
    h->total = 0;
    h->counts = NULL;
    if (n_patterns == 0 || n_patterns > SIZE_MAX / sizeof *h->counts)
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "histogram of %llu patterns (expected 1 to %zu)",
                            (unsigned long long)n_patterns, SIZE_MAX / sizeof *h->counts);
    /* calloc: a histogram of a 6-comparison spec is tens of thousands of
     * zero counts, and fresh pages come zeroed. */
    h->counts = calloc((size_t)n_patterns, sizeof *h->counts);
    if (!h->counts)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory for a histogram of %llu patterns",
                            (unsigned long long)n_patterns);
    h->n_patterns = n_patterns;
    return DL_OK;
}

void dl__histogram_add(dl_histogram *dst, const dl_histogram *src)
{
    /* Both come from one comparator; a shape mismatch is a bug of ours. */
    assert(dst->n_patterns == src->n_patterns);
    uint64_t *restrict d = dst->counts;
    const uint64_t *restrict s = src->counts;
    for (uint64_t p = 0; p < src->n_patterns; p++)
        d[p] += s[p];
    dst->total += src->total;
}

void dl__histogram_free(dl_histogram *h)
{
    if (!h)
        return;
    free(h->counts);
    h->counts = NULL;
    h->n_patterns = 0;
    h->total = 0;
}
