/* test_cluster.c: union-find components, one-to-one assignment, spine
 * clustering, ALFs and cluster sizes (linkage/cluster.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/sha256.h"
#include "linkage/link_internal.h"

/* ---- hand-made stores ------------------------------------------------------ */

/* A store with only what clustering reads: files, file_of, slf. */
typedef struct tstore {
    dl_store s;
    dl_store_file files[4];
} tstore;

static uint64_t splitmix(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* The SLF of row ROW of logical dataset DS: a pseudo-random 16 bytes that
 * depends on (DS, ROW) only, so it follows the record when files move. */
static void test_slf(unsigned ds, size_t row, uint8_t out[16])
{
    uint64_t x = (uint64_t)ds << 40 ^ row;
    for (int h = 0; h < 2; h++) {
        uint64_t v = splitmix(&x);
        memcpy(out + 8 * h, &v, 8);
    }
}

/* Files in ORDER (logical dataset numbers), SIZES per logical dataset. */
static tstore *store_new(size_t n_files, const unsigned *order, const size_t *sizes)
{
    tstore *t = calloc(1, sizeof *t);
    cr_assert(t);
    size_t n = 0;
    for (size_t f = 0; f < n_files; f++)
        n += sizes[order[f]];
    t->s.n = n;
    t->s.n_files = n_files;
    t->s.files = t->files;
    t->s.file_of = malloc((n ? n : 1) * sizeof *t->s.file_of);
    t->s.slf = malloc((n ? n : 1) * sizeof *t->s.slf);
    cr_assert(t->s.file_of && t->s.slf);
    size_t r = 0;
    for (size_t f = 0; f < n_files; f++) {
        t->files[f].first = r;
        t->files[f].n = sizes[order[f]];
        for (size_t k = 0; k < sizes[order[f]]; k++, r++) {
            t->s.file_of[r] = (uint16_t)f;
            test_slf(order[f], k, t->s.slf[r]);
        }
    }
    return t;
}

static void store_free(tstore *t)
{
    free(t->s.file_of);
    free(t->s.slf);
    free(t);
}

/* Record number of row ROW of logical dataset DS in T (built with ORDER). */
static uint32_t rec(const tstore *t, const unsigned *order, unsigned ds, size_t row)
{
    for (size_t f = 0; f < t->s.n_files; f++)
        if (order[f] == ds)
            return (uint32_t)(t->files[f].first + row);
    cr_assert_fail("no dataset %u", ds);
    return 0;
}

static dl_link mk(uint32_t a, uint32_t b, double w)
{
    dl_link l = {a < b ? a : b, a < b ? b : a, 0, w};
    return l;
}

static double prob(double w)
{
    return exp2(w) / (1 + exp2(w));
}

static void shuffle_links(dl_link *l, size_t n, uint64_t seed)
{
    for (size_t k = n; k > 1; k--) {
        size_t x = (size_t)(splitmix(&seed) % k);
        dl_link t = l[k - 1];
        l[k - 1] = l[x];
        l[x] = t;
    }
}

/* ---- components ------------------------------------------------------------ */

Test(cluster, components_chain_star_isolated)
{
    unsigned order[] = {0};
    size_t sizes[] = {10};
    tstore *t = store_new(1, order, sizes);
    /* chain 7-5-3-1, star around 8 (2, 4, 9), 0 and 6 alone */
    dl_link links[] = {mk(7, 5, 10), mk(3, 5, 11), mk(1, 3, 12),
                       mk(8, 2, 9), mk(4, 8, 13), mk(8, 9, 8)};
    uint32_t cl[10];
    double best[10];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_COMPONENTS, -1, links, 6, cl, best, &e), DL_OK);
    const uint32_t want[10] = {0, 1, 2, 1, 2, 1, 6, 1, 2, 2};
    for (int r = 0; r < 10; r++)
        cr_assert_eq(cl[r], want[r], "record %d: %u, expected %u", r, cl[r], want[r]);
    cr_assert_eq(best[0], 0.0);
    cr_assert_eq(best[6], 0.0);
    cr_assert_float_eq(best[5], prob(11), 1e-12);
    cr_assert_float_eq(best[3], prob(12), 1e-12);
    cr_assert_float_eq(best[8], prob(13), 1e-12);
    cr_assert_float_eq(best[9], prob(8), 1e-12);
    /* BEST may be NULL: same clusters */
    uint32_t cl2[10];
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_COMPONENTS, -1, links, 6, cl2, NULL, &e), DL_OK);
    cr_assert_arr_eq(cl, cl2, sizeof cl);
    store_free(t);
}

Test(cluster, components_no_records_no_links)
{
    unsigned order[] = {0};
    size_t sizes[] = {0};
    tstore *t = store_new(1, order, sizes);
    dl_error e = DL_ERROR_INIT;
    uint32_t cl[1];
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_COMPONENTS, -1, NULL, 0, cl, NULL, &e), DL_OK);
    uint64_t hist[4];
    size_t top = 9;
    cr_assert_eq(dl__cluster_sizes(cl, 0, hist, 3, &top, &e), DL_OK);
    cr_assert_eq(top, 0);
    store_free(t);
}

/* Reference: relax min labels over the links until nothing changes. */
static void ref_components(size_t n, const dl_link *l, size_t nl, uint32_t *lab)
{
    for (size_t r = 0; r < n; r++)
        lab[r] = (uint32_t)r;
    for (bool changed = true; changed;) {
        changed = false;
        for (size_t k = 0; k < nl; k++) {
            uint32_t m = lab[l[k].i] < lab[l[k].j] ? lab[l[k].i] : lab[l[k].j];
            if (lab[l[k].i] != m || lab[l[k].j] != m) {
                lab[l[k].i] = lab[l[k].j] = m;
                changed = true;
            }
        }
    }
}

Test(cluster, components_match_reference_in_any_link_order)
{
    unsigned order[] = {0};
    size_t sizes[] = {300};
    tstore *t = store_new(1, order, sizes);
    enum { NL = 260 };
    dl_link links[NL];
    uint64_t seed = 7;
    for (int k = 0; k < NL; k++)
        do
            links[k] = mk((uint32_t)(splitmix(&seed) % 300), (uint32_t)(splitmix(&seed) % 300), 1);
        while (links[k].i == links[k].j);
    uint32_t want[300], cl[300];
    ref_components(300, links, NL, want);
    dl_error e = DL_ERROR_INIT;
    for (uint64_t sh = 0; sh < 5; sh++) {
        shuffle_links(links, NL, sh);
        cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_COMPONENTS, -1, links, NL, cl, NULL, &e), DL_OK);
        cr_assert_arr_eq(cl, want, sizeof cl);
    }
    /* some clusters of several records, some alone: the test means something */
    size_t top = 0;
    uint64_t hist[301];
    cr_assert_eq(dl__cluster_sizes(cl, 300, hist, 300, &top, &e), DL_OK);
    cr_assert_gt(hist[1], 0);
    cr_assert_gt(top, 3);
    store_free(t);
}

/* ---- one-to-one ----------------------------------------------------------- */

Test(cluster, one_to_one_greedy_by_weight)
{
    unsigned order[] = {0, 1};
    size_t sizes[] = {2, 2};
    tstore *t = store_new(2, order, sizes);
    /* a0-b0 5, a1-b0 4.5, a0-b1 4: a0-b0 taken first, the others lose a
     * record to it; a1 and b1 stay alone although they link to something */
    uint32_t a0 = 0, a1 = 1, b0 = 2, b1 = 3;
    dl_link links[] = {mk(a0, b1, 4), mk(a1, b0, 4.5), mk(a0, b0, 5)};
    uint32_t cl[4];
    double best[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, links, 3, cl, best, &e), DL_OK);
    cr_assert_eq(cl[a0], a0);
    cr_assert_eq(cl[b0], a0);
    cr_assert_eq(cl[a1], a1);
    cr_assert_eq(cl[b1], b1);
    cr_assert_float_eq(best[a0], prob(5), 1e-12);
    cr_assert_float_eq(best[b0], prob(5), 1e-12);
    cr_assert_eq(best[a1], 0.0);
    cr_assert_eq(best[b1], 0.0);
    /* the same links as components join all four */
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_COMPONENTS, -1, links, 3, cl, best, &e), DL_OK);
    for (int r = 0; r < 4; r++)
        cr_assert_eq(cl[r], 0);
    store_free(t);
}

/* Two files with SLFs set by hand; X is A's rows, Y is B's. */
static tstore *store_slfs(bool swapped, const uint8_t (*a)[16], size_t na,
                          const uint8_t (*b)[16], size_t nb)
{
    unsigned order[] = {0, 1};
    size_t sizes[] = {na, nb};
    if (swapped) {
        order[0] = 1;
        order[1] = 0;
    }
    tstore *t = store_new(2, order, sizes);
    for (size_t k = 0; k < na; k++)
        memcpy(t->s.slf[rec(t, order, 0, k)], a[k], 16);
    for (size_t k = 0; k < nb; k++)
        memcpy(t->s.slf[rec(t, order, 1, k)], b[k], 16);
    return t;
}

/* SLFs that differ only at byte POS (values given), so POS >= 8 exercises
 * the comparison past an equal 8-byte prefix. */
static void set_slfs(uint8_t (*out)[16], const uint8_t *v, size_t n, int pos)
{
    for (size_t k = 0; k < n; k++) {
        memset(out[k], 0xa5, 16);
        out[k][pos] = v[k];
    }
}

static void check_o2o_ties(int pos)
{
    /* SLFs ordered by one byte, against record order inside each file so
     * that record numbers would choose otherwise: a0 = 9, a1 = 1, b0 = 7,
     * b1 = 5 */
    const uint8_t av[] = {9, 1}, bv[] = {7, 5};
    uint8_t a[2][16], b[2][16];
    set_slfs(a, av, 2, pos);
    set_slfs(b, bv, 2, pos);
    for (int sw = 0; sw < 2; sw++) {
        unsigned order[] = {sw ? 1u : 0u, sw ? 0u : 1u};
        tstore *t = store_slfs(sw, (const uint8_t(*)[16])a, 2, (const uint8_t(*)[16])b, 2);
        uint32_t a0 = rec(t, order, 0, 0), a1 = rec(t, order, 0, 1);
        uint32_t b0 = rec(t, order, 1, 0), b1 = rec(t, order, 1, 1);
        /* a0-b0 and a1-b0 tie: pair SLFs {7,9} and {1,7}; {1,7} first, so
         * a1-b0 wins though a0 has the smaller record number */
        dl_link links[] = {mk(a0, b0, 3), mk(a1, b0, 3)};
        uint32_t cl[4];
        dl_error e = DL_ERROR_INIT;
        cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, links, 2, cl, NULL, &e), DL_OK);
        cr_assert_eq(cl[a1], cl[b0], "pos %d swapped %d", pos, sw);
        cr_assert_eq(cl[a0], a0, "pos %d swapped %d", pos, sw);
        cr_assert_eq(cl[b1], b1);
        /* same smaller SLF on both sides (a1 = 1): the larger decides,
         * b1 (5) before b0 (7) */
        dl_link l2[] = {mk(a1, b0, 2), mk(a1, b1, 2)};
        cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, l2, 2, cl, NULL, &e), DL_OK);
        cr_assert_eq(cl[a1], cl[b1], "pos %d swapped %d", pos, sw);
        cr_assert_eq(cl[b0], b0);
        /* a0-b1 {5,9} against a1-b1 {1,5}: a1-b1 first; then a0-b0 is free */
        dl_link l3[] = {mk(a0, b1, 4), mk(a1, b1, 4), mk(a0, b0, 1)};
        cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, l3, 3, cl, NULL, &e), DL_OK);
        cr_assert_eq(cl[a1], cl[b1], "pos %d swapped %d", pos, sw);
        cr_assert_eq(cl[a0], cl[b0], "pos %d swapped %d", pos, sw);
        store_free(t);
    }
}

Test(cluster, one_to_one_ties_by_slf_not_record_number)
{
    check_o2o_ties(0);
    check_o2o_ties(7);
}

Test(cluster, one_to_one_ties_past_equal_slf_prefix)
{
    check_o2o_ties(8);
    check_o2o_ties(15);
}

/* Pairs kept by one-to-one, as (lo SLF, hi SLF) strings sorted, for
 * comparing results across stores. */
typedef struct slf_pair {
    uint8_t lo[16], hi[16];
    double best;
} slf_pair;

static int pair_cmp(const void *pa, const void *pb)
{
    return memcmp(pa, pb, 32);
}

static size_t kept_pairs(const tstore *t, const uint32_t *cl, const double *best, slf_pair *out)
{
    size_t n = 0;
    for (size_t r = 0; r < t->s.n; r++) {
        if (cl[r] == r)
            continue;
        const uint8_t *x = t->s.slf[cl[r]], *y = t->s.slf[r];
        if (memcmp(x, y, 16) > 0) {
            const uint8_t *z = x;
            x = y;
            y = z;
        }
        memcpy(out[n].lo, x, 16);
        memcpy(out[n].hi, y, 16);
        out[n].best = best[r];
        n++;
    }
    qsort(out, n, sizeof *out, pair_cmp);
    return n;
}

/* Reference greedy: repeatedly take the best remaining link (weight, then
 * SLF pair) whose records are both free. Quadratic; small inputs only. */
static size_t ref_greedy(const tstore *t, const dl_link *l, size_t nl, slf_pair *out)
{
    bool *used = calloc(nl, 1), *taken = calloc(t->s.n, 1);
    size_t n = 0;
    for (;;) {
        long bestk = -1;
        uint8_t blo[16], bhi[16];
        for (size_t k = 0; k < nl; k++) {
            if (used[k] || taken[l[k].i] || taken[l[k].j])
                continue;
            const uint8_t *x = t->s.slf[l[k].i], *y = t->s.slf[l[k].j];
            if (memcmp(x, y, 16) > 0) {
                const uint8_t *z = x;
                x = y;
                y = z;
            }
            bool better = bestk < 0 || l[k].weight > l[bestk].weight;
            if (!better && l[k].weight == l[bestk].weight) {
                int c = memcmp(x, blo, 16);
                better = c < 0 || (c == 0 && memcmp(y, bhi, 16) < 0);
            }
            if (better) {
                bestk = (long)k;
                memcpy(blo, x, 16);
                memcpy(bhi, y, 16);
            }
        }
        if (bestk < 0)
            break;
        used[bestk] = true;
        taken[l[bestk].i] = taken[l[bestk].j] = true;
        memcpy(out[n].lo, blo, 16);
        memcpy(out[n].hi, bhi, 16);
        out[n].best = prob(l[bestk].weight);
        n++;
    }
    free(used);
    free(taken);
    qsort(out, n, sizeof *out, pair_cmp);
    return n;
}

/* Random links between logical datasets 0 and 1 with few distinct weights
 * (ties everywhere), as (row in 0, row in 1, weight). */
enum { NA = 120, NB = 140, NL = 700 };
typedef struct lrow {
    size_t a, b;
    double w;
} lrow;

static void random_rows(lrow *rows, uint64_t seed)
{
    for (int k = 0; k < NL; k++) {
        rows[k].a = (size_t)(splitmix(&seed) % NA);
        rows[k].b = (size_t)(splitmix(&seed) % NB);
        rows[k].w = 10 + (double)(splitmix(&seed) % 3);
    }
}

Test(cluster, one_to_one_same_for_link_order_and_file_order)
{
    lrow rows[NL];
    random_rows(rows, 42);
    size_t sizes[] = {NA, NB};
    slf_pair ref[NL], got[NA + NB];
    dl_link links[NL];
    uint32_t cl[NA + NB];
    double best[NA + NB];
    size_t n_ref = 0;
    for (int sw = 0; sw < 2; sw++) {
        unsigned order[] = {sw ? 1u : 0u, sw ? 0u : 1u};
        tstore *t = store_new(2, order, sizes);
        for (int k = 0; k < NL; k++)
            links[k] = mk(rec(t, order, 0, rows[k].a), rec(t, order, 1, rows[k].b), rows[k].w);
        if (sw == 0) {
            n_ref = ref_greedy(t, links, NL, ref);
            cr_assert_gt(n_ref, 50);
        }
        for (uint64_t sh = 0; sh < 4; sh++) {
            shuffle_links(links, NL, sh + 100 * (uint64_t)sw);
            dl_error e = DL_ERROR_INIT;
            cr_assert_eq(
                dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, links, NL, cl, best, &e), DL_OK);
            size_t n = kept_pairs(t, cl, best, got);
            cr_assert_eq(n, n_ref, "swapped %d shuffle %lu", sw, (unsigned long)sh);
            for (size_t x = 0; x < n; x++) {
                cr_assert_eq(memcmp(got[x].lo, ref[x].lo, 32), 0);
                cr_assert_float_eq(got[x].best, ref[x].best, 1e-12);
            }
            /* each record in at most one pair */
            for (size_t r = 0; r < t->s.n; r++)
                cr_assert(cl[cl[r]] == cl[r]);
        }
        store_free(t);
    }
}

/* Within one file (one-to-one is meant for two, but nothing breaks): the
 * order is still by the pair's smaller SLF, then its larger, which on a
 * graph that is not bipartite differs from ordering by the SLF of the
 * lower record number. */
Test(cluster, one_to_one_single_file_matches_reference)
{
    unsigned order[] = {0};
    size_t sizes[] = {200};
    tstore *t = store_new(1, order, sizes);
    enum { L1 = 600 };
    dl_link links[L1];
    uint64_t seed = 11;
    for (int k = 0; k < L1; k++)
        do
            links[k] = mk((uint32_t)(splitmix(&seed) % 200), (uint32_t)(splitmix(&seed) % 200),
                          (double)(splitmix(&seed) % 2));
        while (links[k].i == links[k].j);
    slf_pair ref[L1], got[200];
    size_t n_ref = ref_greedy(t, links, L1, ref);
    uint32_t cl[200];
    double best[200];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, links, L1, cl, best, &e), DL_OK);
    size_t n = kept_pairs(t, cl, best, got);
    cr_assert_eq(n, n_ref);
    for (size_t x = 0; x < n; x++)
        cr_assert_eq(memcmp(got[x].lo, ref[x].lo, 32), 0, "pair %zu", x);
    store_free(t);
}

/* ---- spine ------------------------------------------------------------------ */

Test(cluster, spine_best_link_and_ties)
{
    /* spine S = dataset 0 (s0 SLF 8, s1 SLF 3), other R = dataset 1 */
    uint8_t sp[2][16] = {{8}, {3}}, ot[4][16] = {{1}, {2}, {4}, {6}};
    for (int sw = 0; sw < 2; sw++) {
        unsigned order[] = {sw ? 1u : 0u, sw ? 0u : 1u};
        tstore *t = store_slfs(sw, (const uint8_t(*)[16])sp, 2, (const uint8_t(*)[16])ot, 4);
        int spine_file = sw ? 1 : 0;
        uint32_t s0 = rec(t, order, 0, 0), s1 = rec(t, order, 0, 1);
        uint32_t r0 = rec(t, order, 1, 0), r1 = rec(t, order, 1, 1);
        uint32_t r2 = rec(t, order, 1, 2), r3 = rec(t, order, 1, 3);
        dl_link links[] = {
            mk(r0, s0, 2), mk(r0, s1, 3), /* r0: s1, the higher weight */
            mk(r1, s0, 2), mk(r1, s1, 2), /* r1: tie, s1 has the smaller SLF */
            mk(r3, s0, 5),                /* r3: s0 */
            mk(r0, r2, 9),                /* non-spine pair: ignored */
            mk(s0, s1, 9),                /* spine pair: ignored */
        };
        uint32_t cl[6];
        double best[6];
        dl_error e = DL_ERROR_INIT;
        cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_SPINE, spine_file, links, 7, cl, best, &e),
                     DL_OK);
        cr_assert_eq(cl[r0], s1, "swapped %d", sw);
        cr_assert_eq(cl[r1], s1, "swapped %d", sw);
        cr_assert_eq(cl[r3], s0);
        cr_assert_eq(cl[r2], r2);
        cr_assert_eq(cl[s0], s0);
        cr_assert_eq(cl[s1], s1);
        cr_assert_float_eq(best[r0], prob(3), 1e-12);
        cr_assert_float_eq(best[r1], prob(2), 1e-12);
        cr_assert_float_eq(best[s1], prob(3), 1e-12);
        cr_assert_float_eq(best[s0], prob(5), 1e-12);
        cr_assert_eq(best[r2], 0.0);
        /* spine ALF: the spine record's SLF, though r0 and r1 have smaller */
        uint64_t alf[6];
        cr_assert_eq(dl__cluster_alfs(&t->s, DL_CLUSTER_SPINE, cl, alf, &e), DL_OK);
        cr_assert_eq(alf[r0], dl__alf(sp[1]));
        cr_assert_eq(alf[r1], dl__alf(sp[1]));
        cr_assert_eq(alf[s1], dl__alf(sp[1]));
        cr_assert_eq(alf[r3], dl__alf(sp[0]));
        cr_assert_eq(alf[r2], dl__alf(ot[2]));
        /* the same clusters as components would name them by the smallest SLF */
        cr_assert_eq(dl__cluster_alfs(&t->s, DL_CLUSTER_COMPONENTS, cl, alf, &e), DL_OK);
        cr_assert_eq(alf[s1], dl__alf(ot[0]));
        store_free(t);
    }
}

/* ---- ALFs -------------------------------------------------------------------- */

Test(cluster, alf_test_vector)
{
    /* SHA-256("dolen alf v1" || 00 01 .. 0f), first 8 bytes, computed
     * independently with Python's hashlib: b28ffeb9032da82c. */
    uint8_t slf[16], msg[28], d[32];
    for (int k = 0; k < 16; k++)
        slf[k] = (uint8_t)k;
    memcpy(msg, "dolen alf v1", 12);
    memcpy(msg + 12, slf, 16);
    dl_sha256(msg, 28, d);
    uint64_t want = 0;
    for (int k = 0; k < 8; k++)
        want = want << 8 | d[k];
    cr_assert_eq(dl__alf(slf), want);
    cr_assert_eq(dl__alf(slf), UINT64_C(0xb28ffeb9032da82c));
}

Test(cluster, alf_never_zero_and_distinct)
{
    enum { N = 100000 };
    uint64_t *v = malloc(N * sizeof *v);
    cr_assert(v);
    uint8_t slf[16];
    for (size_t k = 0; k < N; k++) {
        test_slf(3, k, slf);
        v[k] = dl__alf(slf);
        cr_assert_neq(v[k], 0);
    }
    memset(slf, 0, 16);
    cr_assert_neq(dl__alf(slf), 0);
    for (size_t k = 1; k < N; k++)
        cr_assert_neq(v[k], v[k - 1]);
    free(v);
}

/* ALF per logical (dataset, row), comparing two file orders. */
Test(cluster, alf_same_across_file_orders)
{
    lrow rows[NL];
    random_rows(rows, 5);
    size_t sizes[] = {NA, NB};
    uint64_t by_row[2][NA + NB];
    dl_cluster_method methods[] = {DL_CLUSTER_COMPONENTS, DL_CLUSTER_ONE_TO_ONE,
                                   DL_CLUSTER_SPINE};
    for (int m = 0; m < 3; m++) {
        for (int sw = 0; sw < 2; sw++) {
            unsigned order[] = {sw ? 1u : 0u, sw ? 0u : 1u};
            tstore *t = store_new(2, order, sizes);
            dl_link links[NL];
            for (int k = 0; k < NL; k++)
                links[k] =
                    mk(rec(t, order, 0, rows[k].a), rec(t, order, 1, rows[k].b), rows[k].w);
            uint32_t cl[NA + NB];
            uint64_t alf[NA + NB];
            dl_error e = DL_ERROR_INIT;
            int spine_file = sw ? 1 : 0; /* dataset 0 is the spine */
            cr_assert_eq(dl__cluster(&t->s, methods[m], spine_file, links, NL, cl, NULL, &e),
                         DL_OK);
            cr_assert_eq(dl__cluster_alfs(&t->s, methods[m], cl, alf, &e), DL_OK);
            for (size_t k = 0; k < NA; k++)
                by_row[sw][k] = alf[rec(t, order, 0, k)];
            for (size_t k = 0; k < NB; k++)
                by_row[sw][NA + k] = alf[rec(t, order, 1, k)];
            /* records of one cluster share the ALF, of different clusters not */
            for (size_t r = 0; r < t->s.n; r++) {
                cr_assert_neq(alf[r], 0);
                cr_assert_eq(alf[r], alf[cl[r]]);
                if (cl[r] == r && r > 0 && cl[r - 1] == r - 1)
                    cr_assert_neq(alf[r], alf[r - 1]);
            }
            store_free(t);
        }
        cr_assert_arr_eq(by_row[0], by_row[1], sizeof by_row[0], "method %d", m);
    }
}

/* ---- sizes ------------------------------------------------------------------- */

Test(cluster, sizes_histogram)
{
    /* clusters: {0}, {1,2}, {3,4,5}, {6,7,8,9}, {10,...,14} */
    uint32_t cl[15] = {0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10, 10, 10, 10};
    uint64_t hist[4];
    size_t top = 0;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster_sizes(cl, 15, hist, 3, &top, &e), DL_OK);
    cr_assert_eq(top, 5);
    cr_assert_eq(hist[0], 0);
    cr_assert_eq(hist[1], 1);
    cr_assert_eq(hist[2], 1);
    cr_assert_eq(hist[3], 3); /* sizes 3, 4 and 5: "3 or more" */
    uint64_t h10[11];
    cr_assert_eq(dl__cluster_sizes(cl, 15, h10, 10, NULL, &e), DL_OK);
    cr_assert_eq(h10[4], 1);
    cr_assert_eq(h10[5], 1);
    cr_assert_eq(h10[6], 0);
}

/* ---- errors ----------------------------------------------------------------- */

static void assert_err(const dl_error *e, dl_status code, const char *part)
{
    cr_assert_eq(e->code, code);
    cr_assert_eq(e->line, 0);
    cr_assert_eq(e->col, 0);
    cr_assert_str_eq(e->file, "");
    cr_assert(strstr(e->msg, part), "message: %s", e->msg);
}

static tstore *small_store(void)
{
    unsigned order[] = {0, 1};
    size_t sizes[] = {2, 2};
    return store_new(2, order, sizes);
}

Test(cluster, error_link_not_ordered)
{
    tstore *t = small_store();
    dl_link l[] = {{0, 2, 0, 1}, {3, 1, 0, 1}};
    uint32_t cl[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_COMPONENTS, -1, l, 2, cl, NULL, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "link 1 joins records 3 and 1 (expected i < j < 4)");
    l[1].i = l[1].j = 1;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, l, 2, cl, NULL, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "link 1 joins records 1 and 1");
    store_free(t);
}

Test(cluster, error_link_out_of_range)
{
    tstore *t = small_store();
    dl_link l[] = {{0, 4, 0, 1}};
    uint32_t cl[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_SPINE, 0, l, 1, cl, NULL, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "link 0 joins records 0 and 4 (expected i < j < 4)");
    store_free(t);
}

Test(cluster, error_weight_nan)
{
    tstore *t = small_store();
    dl_link l[] = {{0, 2, 0, 1}, {1, 3, 0, NAN}};
    uint32_t cl[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, l, 2, cl, NULL, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "link 1 has a weight that is not a number");
    store_free(t);
}

Test(cluster, infinite_weights_are_links)
{
    tstore *t = small_store();
    dl_link l[] = {{0, 2, 0, INFINITY}, {1, 3, 0, -INFINITY}};
    uint32_t cl[4];
    double best[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_ONE_TO_ONE, -1, l, 2, cl, best, &e), DL_OK);
    cr_assert_eq(cl[2], 0);
    cr_assert_eq(cl[3], 1);
    cr_assert_eq(best[0], 1.0);
    cr_assert_eq(best[3], 0.0);
    store_free(t);
}

Test(cluster, error_spine_file_out_of_range)
{
    tstore *t = small_store();
    uint32_t cl[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_SPINE, 2, NULL, 0, cl, NULL, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "spine file index 2 is out of range (expected 0 to 1)");
    cr_assert_eq(dl__cluster(&t->s, DL_CLUSTER_SPINE, -1, NULL, 0, cl, NULL, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "spine file index -1");
    store_free(t);
}

Test(cluster, error_unknown_method)
{
    tstore *t = small_store();
    uint32_t cl[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster(&t->s, (dl_cluster_method)7, 0, NULL, 0, cl, NULL, &e),
                 DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "unknown clustering method 7");
    store_free(t);
}

Test(cluster, error_too_many_records)
{
    /* checked before any record is touched, so no arrays are needed */
    dl_store s;
    memset(&s, 0, sizeof s);
    s.n = (size_t)UINT32_MAX + 1;
    dl_error e = DL_ERROR_INIT;
    uint32_t cl[1];
    cr_assert_eq(dl__cluster(&s, DL_CLUSTER_COMPONENTS, -1, NULL, 0, cl, NULL, &e), DL_EUSAGE);
    assert_err(&e, DL_EUSAGE, "4294967296 records are too many to cluster");
}

Test(cluster, error_alfs_label_out_of_range)
{
    tstore *t = small_store();
    uint32_t cl[4] = {0, 1, 9, 3};
    uint64_t alf[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster_alfs(&t->s, DL_CLUSTER_COMPONENTS, cl, alf, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "record 2 has cluster label 9");
    store_free(t);
}

Test(cluster, error_alfs_label_not_its_own)
{
    tstore *t = small_store();
    uint32_t cl[4] = {0, 2, 3, 3}; /* 1 points to 2, which is in 3's cluster */
    uint64_t alf[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster_alfs(&t->s, DL_CLUSTER_SPINE, cl, alf, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "record 1 has cluster label 2 (expected a record below 4 "
                                 "labelled by itself)");
    store_free(t);
}

Test(cluster, error_sizes_bad_input)
{
    uint32_t cl[3] = {0, 0, 5};
    uint64_t hist[4];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__cluster_sizes(cl, 3, hist, 0, NULL, &e), DL_EUSAGE);
    assert_err(&e, DL_EUSAGE, "0 buckets (expected at least 1)");
    cr_assert_eq(dl__cluster_sizes(cl, 3, hist, 3, NULL, &e), DL_EINTERNAL);
    assert_err(&e, DL_EINTERNAL, "record 2 has cluster label 5 (expected below 3)");
}

/* ---- scale ------------------------------------------------------------------- */

Test(cluster, million_random_links, .timeout = 120)
{
    enum { N = 1000000 };
    unsigned order[] = {0, 1};
    size_t sizes[] = {N / 2, N / 2};
    tstore *t = store_new(2, order, sizes);
    dl_link *links = malloc(N * sizeof *links);
    uint32_t *cl = malloc(N * sizeof *cl);
    double *best = malloc(N * sizeof *best);
    uint64_t *alf = malloc(N * sizeof *alf);
    cr_assert(links && cl && best && alf);
    uint64_t seed = 99;
    for (size_t k = 0; k < N; k++) {
        uint32_t a = (uint32_t)(splitmix(&seed) % (N / 2));
        uint32_t b = (uint32_t)(N / 2 + splitmix(&seed) % (N / 2));
        links[k] = mk(a, b, (double)(splitmix(&seed) % 8));
    }
    dl_error e = DL_ERROR_INIT;
    dl_cluster_method methods[] = {DL_CLUSTER_COMPONENTS, DL_CLUSTER_ONE_TO_ONE,
                                   DL_CLUSTER_SPINE};
    for (int m = 0; m < 3; m++) {
        cr_assert_eq(dl__cluster(&t->s, methods[m], 0, links, N, cl, best, &e), DL_OK);
        for (size_t r = 0; r < N; r++)
            cr_assert(cl[cl[r]] == cl[r]);
        if (methods[m] == DL_CLUSTER_COMPONENTS)
            for (size_t k = 0; k < N; k++)
                cr_assert(cl[links[k].i] == cl[links[k].j]);
        cr_assert_eq(dl__cluster_alfs(&t->s, methods[m], cl, alf, &e), DL_OK);
    }
    uint64_t hist[11];
    size_t top = 0;
    cr_assert_eq(dl__cluster_sizes(cl, N, hist, 10, &top, &e), DL_OK);
    cr_assert_gt(top, 2);
    free(links);
    free(cl);
    free(best);
    free(alf);
    store_free(t);
}
