/* cluster.c: groups links into clusters (components, one-to-one, spine) and
 * names each cluster by its ALF. Part of linkage/; link.c calls it after scoring. */
#include <math.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/sha256.h"
#include "linkage/link_internal.h"

static dl_status check_links(const dl_store *s, const dl_link *links, size_t n_links,
                             dl_error *err)
{
    for (size_t k = 0; k < n_links; k++) {
        const dl_link *l = &links[k];
        if (l->i >= l->j || l->j >= s->n)
            return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                                "link %zu joins records %lu and %lu (expected i < j < %zu)", k,
                                (unsigned long)l->i, (unsigned long)l->j, s->n);
        if (isnan(l->weight))
            return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                                "link %zu has a weight that is not a number (expected a "
                                "finite or infinite weight)",
                                k);
    }
    return DL_OK;
}

/* ---- connected components ------------------------------------------------- */

/* Path halving (Tarjan and van Leeuwen, "Worst-case analysis of set union
 * algorithms", JACM 1984): each step points a node at its grandparent, so
 * paths shrink without a second pass or recursion. */
static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]];
        x = parent[x];
    }
    return x;
}

/* Union by rank keeps trees O(log n) deep whatever the link order; a rank
 * never exceeds log2(n) <= 32, so a byte per record is enough. */
static void uf_union(uint32_t *parent, uint8_t *rank, uint32_t a, uint32_t b)
{
    a = uf_find(parent, a);
    b = uf_find(parent, b);
    if (a == b)
        return;
    if (rank[a] < rank[b]) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    parent[b] = a;
    if (rank[a] == rank[b])
        rank[a]++;
}

/* CLUSTER doubles as the parent array, so components cost one byte of rank
 * per record beyond the output. */
static dl_status cluster_components(const dl_store *s, const dl_link *links, size_t n_links,
                                    uint32_t *cluster, double *w, dl_error *err)
{
    uint32_t n = (uint32_t)s->n;
    uint8_t *rank = calloc(n ? n : 1, 1);
    if (!rank)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory for union-find ranks (%zu records)", s->n);
    for (uint32_t r = 0; r < n; r++)
        cluster[r] = r;
    for (size_t k = 0; k < n_links; k++) {
        uf_union(cluster, rank, links[k].i, links[k].j);
        if (links[k].weight > w[links[k].i])
            w[links[k].i] = links[k].weight;
        if (links[k].weight > w[links[k].j])
            w[links[k].j] = links[k].weight;
    }
    free(rank);
    /* Relabel by the smallest member, so labels depend only on which records
     * are joined, not on the order unions happened in. Visiting records in
     * ascending order, the first member met of a component is its smallest:
     * make it the root (the old root points to it). Every later member finds
     * that smallest member as its root; point it there directly. */
    for (uint32_t r = 0; r < n; r++) {
        uint32_t root = uf_find(cluster, r);
        if (root > r) {
            cluster[root] = r;
            cluster[r] = r;
        } else {
            cluster[r] = root;
        }
    }
    return DL_OK;
}

/* ---- one-to-one ------------------------------------------------------------ */

/* A link as one_to_one sorts it: self-contained, so the sort runs over
 * sequential memory and almost never reads the store (32 bytes a link).
 * LO is the end with the smaller SLF; LO8 and HI8 are the first 8 bytes of
 * the two SLFs read big-endian, so comparing them as integers compares the
 * SLFs' prefixes in byte order. */
typedef struct o2o_key {
    double w;
    uint64_t lo8, hi8;
    uint32_t lo, hi;
} o2o_key;

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int b = 0; b < 8; b++)
        v = v << 8 | p[b];
    return v;
}

/* Weight descending, then the pair's SLFs: the smaller of its two SLFs,
 * then the larger, in byte order. SLFs are random per record and travel
 * with the record, so this order is the same whichever file is loaded
 * first; record numbers are not (swapping two files renumbers every record
 * and flips which end of a link is i). A model has few distinct weights (one
 * per pattern), so ties are the common case and this order decides most
 * choices. Two different records share an 8-byte SLF prefix with chance
 * about n^2 / 2^65; then the full SLFs decide. Equal keys are the same pair
 * listed twice with the same weight: either copy gives the same result. */
static bool o2o_before(const dl_store *s, const o2o_key *a, const o2o_key *b)
{
    if (a->w != b->w)
        return a->w > b->w;
    if (a->lo8 != b->lo8)
        return a->lo8 < b->lo8;
    if (a->lo != b->lo)
        return memcmp(s->slf[a->lo], s->slf[b->lo], 16) < 0;
    if (a->hi8 != b->hi8)
        return a->hi8 < b->hi8;
    if (a->hi != b->hi)
        return memcmp(s->slf[a->hi], s->slf[b->hi], 16) < 0;
    return false;
}

/* Bottom-up merge sort: qsort has no payload argument for the rare full-SLF
 * comparison (qsort_r is not portable), and a merge sort is O(n log n)
 * whatever the input, with sequential memory access. Runs of RUN keys are
 * insertion-sorted first. */
enum { RUN = 16 };

static void o2o_sort(const dl_store *s, o2o_key *a, o2o_key *tmp, size_t n)
{
    for (size_t lo = 0; lo < n; lo += RUN) {
        size_t hi = lo + RUN < n ? lo + RUN : n;
        for (size_t x = lo + 1; x < hi; x++) {
            o2o_key v = a[x];
            size_t y = x;
            for (; y > lo && o2o_before(s, &v, &a[y - 1]); y--)
                a[y] = a[y - 1];
            a[y] = v;
        }
    }
    o2o_key *src = a, *dst = tmp;
    for (size_t width = RUN; width < n; width *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * width) {
            size_t mid = lo + width < n ? lo + width : n;
            size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
            size_t x = lo, y = mid, o = lo;
            while (x < mid && y < hi)
                dst[o++] = o2o_before(s, &src[y], &src[x]) ? src[y++] : src[x++];
            while (x < mid)
                dst[o++] = src[x++];
            while (y < hi)
                dst[o++] = src[y++];
        }
        o2o_key *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* Greedy assignment: not the maximum-weight matching (that needs the
 * Hungarian algorithm, cubic), but what linkage tools use in practice, and
 * it keeps every link whose two records have no better option. */
static dl_status cluster_one_to_one(const dl_store *s, const dl_link *links, size_t n_links,
                                    uint32_t *cluster, double *w, dl_error *err)
{
    uint32_t n = (uint32_t)s->n;
    size_t nk = n_links ? n_links : 1;
    o2o_key *keys = malloc(nk * sizeof *keys), *tmp = malloc(nk * sizeof *tmp);
    uint8_t *taken = calloc(n ? n : 1, 1);
    if (!keys || !tmp || !taken) {
        free(keys);
        free(tmp);
        free(taken);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory for one-to-one assignment (%zu links)", n_links);
    }
    for (size_t k = 0; k < n_links; k++) {
        const dl_link *l = &links[k];
        bool swap = memcmp(s->slf[l->i], s->slf[l->j], 16) > 0;
        o2o_key *y = &keys[k];
        y->w = l->weight;
        y->lo = swap ? l->j : l->i;
        y->hi = swap ? l->i : l->j;
        y->lo8 = be64(s->slf[y->lo]);
        y->hi8 = be64(s->slf[y->hi]);
    }
    o2o_sort(s, keys, tmp, n_links);
    free(tmp);
    for (uint32_t r = 0; r < n; r++)
        cluster[r] = r;
    for (size_t x = 0; x < n_links; x++) {
        const o2o_key *y = &keys[x];
        if (taken[y->lo] || taken[y->hi])
            continue;
        taken[y->lo] = taken[y->hi] = 1;
        /* the smaller record number labels the pair */
        uint32_t i = y->lo < y->hi ? y->lo : y->hi, j = y->lo ^ y->hi ^ i;
        cluster[j] = i;
        w[i] = w[j] = y->w;
    }
    free(keys);
    free(taken);
    return DL_OK;
}

/* ---- spine ------------------------------------------------------------------ */

/* One pass: a non-spine record keeps its best spine link so far. No sort and
 * no memory beyond the outputs. A spine record may gather any number of
 * non-spine records (a GP register and a benefit file can both hold the
 * person); two non-spine records meet only through their spine record. */
static void cluster_spine(const dl_store *s, int spine_file, const dl_link *links,
                          size_t n_links, uint32_t *cluster, double *w)
{
    uint32_t n = (uint32_t)s->n;
    for (uint32_t r = 0; r < n; r++)
        cluster[r] = r;
    for (size_t k = 0; k < n_links; k++) {
        const dl_link *l = &links[k];
        bool si = s->file_of[l->i] == spine_file, sj = s->file_of[l->j] == spine_file;
        if (si == sj)
            continue; /* spine-spine or non-spine pair: not a spine link */
        uint32_t sp = si ? l->i : l->j, ns = si ? l->j : l->i;
        uint32_t cur = cluster[ns];
        if (cur == ns || l->weight > w[ns] ||
            (l->weight == w[ns] && memcmp(s->slf[sp], s->slf[cur], 16) < 0)) {
            cluster[ns] = sp;
            w[ns] = l->weight;
        }
    }
    /* A spine record's best is the best link any record kept to it. */
    for (uint32_t r = 0; r < n; r++) {
        uint32_t sp = cluster[r];
        if (sp != r && w[r] > w[sp])
            w[sp] = w[r];
    }
}

dl_status dl__cluster(const dl_store *s, dl_cluster_method method, int spine_file,
                      const dl_link *links, size_t n_links, uint32_t *cluster, double *best,
                      dl_error *err)
{
    if (s->n > UINT32_MAX)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "%zu records are too many to cluster (expected at most %lu)", s->n,
                            (unsigned long)UINT32_MAX);
    if (method == DL_CLUSTER_SPINE && (spine_file < 0 || (size_t)spine_file >= s->n_files))
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "spine file index %d is out of range (expected 0 to %zu)",
                            spine_file, s->n_files ? s->n_files - 1 : 0);
    if (method != DL_CLUSTER_COMPONENTS && method != DL_CLUSTER_ONE_TO_ONE &&
        method != DL_CLUSTER_SPINE)
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "unknown clustering method %d (expected components, one_to_one "
                            "or spine)",
                            (int)method);
    dl_status st = check_links(s, links, n_links, err);
    if (st != DL_OK)
        return st;

    /* Best weights are gathered in BEST itself when the caller wants it. */
    double *w = best;
    if (!w) {
        w = malloc((s->n ? s->n : 1) * sizeof *w);
        if (!w)
            return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                                "out of memory for link weights (%zu records)", s->n);
    }
    for (size_t r = 0; r < s->n; r++)
        w[r] = -INFINITY;

    switch (method) {
    case DL_CLUSTER_COMPONENTS:
        st = cluster_components(s, links, n_links, cluster, w, err);
        break;
    case DL_CLUSTER_ONE_TO_ONE:
        st = cluster_one_to_one(s, links, n_links, cluster, w, err);
        break;
    case DL_CLUSTER_SPINE:
        cluster_spine(s, spine_file, links, n_links, cluster, w);
        break;
    }
    if (best) {
        /* dl__prob(-inf) = 0: "no kept link" was carried as a weight of -inf */
        for (size_t r = 0; r < s->n; r++)
            best[r] = dl__prob(best[r]);
    } else {
        free(w);
    }
    return st;
}

/* ---- ALFs and sizes ------------------------------------------------------- */

/* A fixed, versioned label keeps this hash apart from every other SHA-256
 * of an SLF. The linkage unit holds no key, so the ALF is a public function
 * of the SLF; extract re-keys it per project (ALF_E). */
static const char ALF_LABEL[] = "dolen alf v1";
enum { ALF_LABEL_LEN = sizeof ALF_LABEL - 1, ALF_MSG_LEN = ALF_LABEL_LEN + 16 };

static uint64_t alf_of_digest(const uint8_t d[32])
{
    uint64_t v = be64(d);
    /* 0 is "no ALF" downstream; a zero prefix (chance 2^-64) becomes 1. */
    return v ? v : 1;
}

uint64_t dl__alf(const uint8_t slf[16])
{
    uint8_t msg[ALF_MSG_LEN], d[32];
    memcpy(msg, ALF_LABEL, ALF_LABEL_LEN);
    memcpy(msg + ALF_LABEL_LEN, slf, 16);
    dl_sha256(msg, sizeof msg, d);
    return alf_of_digest(d);
}

/* ALF doubles as scratch: a label's slot first holds the record with the
 * cluster's smallest SLF, then that record's ALF; every other slot is
 * filled last from its label's. Labels are members of their clusters, so
 * every label slot is reached in the first pass. */
dl_status dl__cluster_alfs(const dl_store *s, dl_cluster_method method, const uint32_t *cluster,
                           uint64_t *alf, dl_error *err)
{
    size_t n = s->n;
    for (size_t r = 0; r < n; r++)
        alf[r] = UINT64_MAX;
    for (size_t r = 0; r < n; r++) {
        uint32_t lab = cluster[r];
        if (lab >= n || cluster[lab] != lab)
            return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                                "record %zu has cluster label %lu (expected a record below %zu "
                                "labelled by itself)",
                                r, (unsigned long)lab, n);
        if (method == DL_CLUSTER_SPINE)
            alf[lab] = lab; /* the spine record names its cluster */
        else if (alf[lab] == UINT64_MAX || memcmp(s->slf[r], s->slf[alf[lab]], 16) < 0)
            alf[lab] = r;
    }
    /* The same digest as dl__alf, through one fetched SHA-256 and one reused
     * context: the one-shot SHA256() looks the algorithm up on every call
     * and costs about 4 times as much (570 ns against 135 ns here). */
    EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (!md || !ctx) {
        EVP_MD_free(md);
        EVP_MD_CTX_free(ctx);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "cannot set up SHA-256 for ALFs (expected OpenSSL's default "
                            "provider)");
    }
    uint8_t d[32];
    unsigned dn = 0;
    bool ok = true;
    for (size_t r = 0; r < n; r++) {
        if (cluster[r] != r)
            continue;
        ok = EVP_DigestInit_ex2(ctx, md, NULL) &&
             EVP_DigestUpdate(ctx, ALF_LABEL, ALF_LABEL_LEN) &&
             EVP_DigestUpdate(ctx, s->slf[alf[r]], 16) && EVP_DigestFinal_ex(ctx, d, &dn);
        if (!ok)
            break;
        alf[r] = alf_of_digest(d);
    }
    EVP_MD_free(md);
    EVP_MD_CTX_free(ctx);
    if (!ok)
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "SHA-256 failed while computing ALFs (expected OpenSSL to "
                            "hash 28 bytes)");
    for (size_t r = 0; r < n; r++)
        if (cluster[r] != r)
            alf[r] = alf[cluster[r]];
    return DL_OK;
}

dl_status dl__cluster_sizes(const uint32_t *cluster, size_t n, uint64_t *hist, size_t max_size,
                            size_t *largest, dl_error *err)
{
    if (max_size == 0)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "cluster-size histogram of 0 buckets (expected at least 1)");
    uint32_t *count = calloc(n ? n : 1, sizeof *count);
    if (!count)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory for cluster sizes (%zu records)", n);
    for (size_t r = 0; r < n; r++) {
        if (cluster[r] >= n) {
            free(count);
            return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                                "record %zu has cluster label %lu (expected below %zu)", r,
                                (unsigned long)cluster[r], n);
        }
        count[cluster[r]]++;
    }
    memset(hist, 0, (max_size + 1) * sizeof *hist);
    size_t top = 0;
    for (size_t r = 0; r < n; r++) {
        size_t c = count[r];
        if (!c)
            continue;
        hist[c < max_size ? c : max_size]++;
        if (c > top)
            top = c;
    }
    free(count);
    if (largest)
        *largest = top;
    return DL_OK;
}
