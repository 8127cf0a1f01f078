/* store_subset.c: a copy of some records of a store, contiguous and small.
 * Part of linkage/; link.c compares every pair among the few thousand
 * records of the u sample, which lie scattered over a store of millions:
 * copied together they stay in cache while their millions of pairs are
 * compared. */
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

dl_status dl__store_subset(const dl_store *s, const uint32_t *rec, size_t k, dl_store **out,
                           dl_error *err)
{
    *out = NULL;
    dl_store *t = calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    /* Everything but the per-record arrays is shared by value. */
    *t = *s;
    t->n = k;
    t->files = NULL;
    t->file_of = NULL;
    t->slf = NULL;
    t->cols = NULL;
    t->n_cols = 0;
    t->bytes = 0;
    size_t n = k ? k : 1;
    t->files = malloc(s->n_files * sizeof *t->files);
    t->file_of = malloc(n * sizeof *t->file_of);
    t->slf = malloc(n * sizeof *t->slf);
    t->cols = calloc(s->n_cols ? s->n_cols : 1, sizeof *t->cols);
    if (!t->files || !t->file_of || !t->slf || !t->cols)
        goto nomem;
    memcpy(t->files, s->files, s->n_files * sizeof *t->files);
    for (size_t r = 0; r < k; r++) {
        t->file_of[r] = s->file_of[rec[r]];
        memcpy(t->slf[r], s->slf[rec[r]], sizeof t->slf[r]);
    }
    for (size_t c = 0; c < s->n_cols; c++, t->n_cols++) {
        const dl_store_col *from = &s->cols[c];
        dl_store_col *to = &t->cols[c];
        *to = *from;
        to->tok = NULL;
        to->bits = NULL;
        to->pop = NULL;
        if (from->filter) {
            size_t w = from->words, bytes = n * w * sizeof *to->bits;
            to->bits = aligned_alloc(64, (bytes + 63) / 64 * 64);
            to->pop = malloc(n * sizeof *to->pop);
            if (!to->bits || !to->pop)
                goto nomem;
            for (size_t r = 0; r < k; r++) {
                memcpy(to->bits + r * w, from->bits + (size_t)rec[r] * w, w * sizeof *to->bits);
                to->pop[r] = from->pop[rec[r]];
            }
            t->bytes += bytes + n * sizeof *to->pop;
        } else {
            size_t st = from->stride;
            to->tok = malloc(n * st * sizeof *to->tok);
            if (!to->tok)
                goto nomem;
            for (size_t r = 0; r < k; r++)
                memcpy(to->tok + r * st, from->tok + (size_t)rec[r] * st, st * sizeof *to->tok);
            t->bytes += n * st * sizeof *to->tok;
        }
    }
    *out = t;
    return DL_OK;
nomem:
    dl__store_free(t);
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory copying %zu records", k);
}
