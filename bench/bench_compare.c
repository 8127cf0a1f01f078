/* bench_compare.c: speed of the Dice kernels and of comparison vectors, on
 * one core. Part of bench/; checks the link stage's comparison budget.
 *
 * usage: bench_compare [-r RUNS] [-x TIMES] [-n PAIRS] [-k KERNEL] [-K CMP_KERNEL]
 *                      [-P PAIRS_KIND] [-D] [-c]
 *                      [SPEC.yaml IDS.csv.gz ...]
 * (a) Dice: every kernel the CPU has, on random 1024-bit filters, in cache
 *     (1024 filters) and over a large array (2^20 filters, 128 MiB): pairs
 *     (scattered, and in runs that share a record as blocking makes them),
 *     one filter against contiguous rows (as anonlink measures), and one
 *     filter against rows by index.
 * (b) with a spec and ids files (as `dolen prepare` writes them): comparison
 *     patterns per second for the spec's comparisons, over pairs that share a
 *     block key (as blocking makes them) and over random pairs, at most PAIRS
 *     (default 2^22) a run, from the whole store and in cache: the blocked
 *     pairs of the first blocks touching at most 2048 records, repeated, and
 *     random pairs among 2048 records (as the u sample makes them). Each
 *     comparison kernel runs (-K one only) with the best dice kernel (-k
 *     another). -x TIMES repeats the records TIMES times, to see a store of a
 *     million records without preparing one.
 * -P times one kind of pairs only ("blocked", "random", "blocked in cache" or
 * "random in cache"), for profiling. -k runs one dice kernel only; -D skips
 * (a); -c times (a)'s counts without the Dice test. Rates are the median of RUNS runs;
 * the maximum is the least disturbed by other processes on a shared machine. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dl_commit.h"
#include "dl_config.h"
#include "dolen/bloom.h"
#include "linkage/link_internal.h"

#define BATCH 4096

static const char *const kernel_names[] = {"avx512-vpopcntdq", "avx2", "popcnt", "portable"};
static const char *only_kernel;    /* -k */
static size_t max_pairs = (size_t)1 << 22; /* -n */

static bool skip_kernel(const char *name)
{
    return only_kernel && strcmp(only_kernel, name) != 0;
}

/* Thread CPU time, not wall time: rates per core, less disturbed when other
 * processes share the machine. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x853c49e6748fea9bu;
static uint64_t rnd(void)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1du;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *rate, int runs, const char *unit)
{
    qsort(rate, (size_t)runs, sizeof *rate, cmp_double);
    printf("  %-62s median %7.1f M %s/s  (min %.1f, max %.1f)\n", what, rate[runs / 2] / 1e6,
           unit, rate[0] / 1e6, rate[runs - 1] / 1e6);
}

static void cpu_name(char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c)
                snprintf(out, size, "%.*s", (int)strcspn(c + 2, "\n"), c + 2);
            break;
        }
    fclose(f);
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3u;
    return h;
}

/* ---- (a) Dice ------------------------------------------------------------- */

/* Three ways to meet the kernels, each on rows in cache (a window of 1024
 * filters, 128 KiB: L2) and on rows over the whole 2^20 filters (128 MiB):
 * - pairs: dl__and_popcount_many over (i, j) pairs, either with i changing at
 *   every pair ("scattered") or in runs that share i as blocking emits them
 *   (blocks of 2..48 records, all pairs within each: "block runs");
 * - rows: one query filter against contiguous rows (dl__and_popcount_rows),
 *   which is how anonlink measures its Dice throughput: one filter against a
 *   contiguous array of candidates with their popcounts known
 *   (match_one_against_many_dice_k_top in anonlink's _cffi_src/dice_one_against_many.cpp;
 *   anonlink/benchmark.py counts n1 * n2 comparisons over the similarity time);
 * - idx: one query filter against rows named by index (dl__and_popcount_idx).
 * Every pass ends with the integer Dice test compare.c uses (threshold 0.3,
 * scaled by 10^9; see need[]), so a rate is Dice decisions per second, not
 * bare counts (unless -c). */
typedef enum dice_mode { PAIRS, ROWS, IDX } dice_mode;

typedef struct dice_data {
    const uint64_t *bits;
    const uint32_t *pop;
    size_t n_filters;
    dl_pair *pairs;   /* PAIRS: the pairs; ROWS and IDX: .i the query, .j unused */
    uint32_t *idx;    /* IDX: candidate rows, BATCH per query */
    size_t n;         /* comparisons a run */
    size_t window;    /* ROWS: rows each query meets */
    uint32_t *nab;    /* BATCH counts */
} dice_data;

static bool counts_only; /* -c */

/* The Dice test 2 * 10^9 * nab >= thr * (pa + pb) (compare.c's, thr = 0.3
 * scaled by 10^9) decided without a multiply: NEED[pa + pb] is the least nab
 * that passes, so the test is one table look-up and one comparison, and
 * gives exactly the same decisions. Filled by need_init. */
static uint16_t need[2 * 1024 + 1];

static void need_init(void)
{
    const uint64_t scale = 1000000000u, thr = 300000000u;
    for (uint64_t sum = 0; sum <= 2 * 1024; sum++) {
        uint64_t nab = 0;
        while (2 * scale * nab < thr * sum)
            nab++;
        need[sum] = (uint16_t)nab;
    }
}

/* With -c, the count alone is used (the kernel's own speed). */
static uint64_t dice_met(uint32_t nab, uint32_t pa, uint32_t pb)
{
    if (counts_only)
        return nab;
    return nab >= need[pa + pb];
}

/* One run: Dice decisions over D->n comparisons; returns how many met 0.3. */
static uint64_t dice_pass(dice_mode mode, const dice_data *d)
{
    uint64_t met = 0;
    const uint32_t *pop = d->pop;
    if (mode == ROWS) {
        /* query q (pairs[q].i) against every row of the window in turn */
        size_t done = 0;
        for (size_t q = 0; done < d->n; q++) {
            uint32_t a = d->pairs[q].i;
            for (size_t first = 0; first < d->window && done < d->n; first += BATCH) {
                size_t n = d->window - first < BATCH ? d->window - first : BATCH;
                if (n > d->n - done)
                    n = d->n - done;
                dl__and_popcount_rows(d->bits + (size_t)a * 16, d->bits + first * 16, 16, n,
                                      d->nab);
                for (size_t x = 0; x < n; x++)
                    met += dice_met(d->nab[x], pop[a], pop[first + x]);
                done += n;
            }
        }
        return met;
    }
    for (size_t k = 0; k < d->n; k += BATCH) {
        size_t n = d->n - k < BATCH ? d->n - k : BATCH;
        if (mode == PAIRS) {
            const dl_pair *p = d->pairs + k;
            dl__and_popcount_many(d->bits, 16, p, n, d->nab);
            for (size_t x = 0; x < n; x++)
                met += dice_met(d->nab[x], pop[p[x].i], pop[p[x].j]);
        } else { /* IDX: query k / BATCH against BATCH indexed rows */
            uint32_t a = d->pairs[k / BATCH].i;
            const uint32_t *idx = d->idx + k;
            dl__and_popcount_idx(d->bits + (size_t)a * 16, d->bits, 16, idx, n, d->nab);
            for (size_t x = 0; x < n; x++)
                met += dice_met(d->nab[x], pop[a], pop[idx[x]]);
        }
    }
    return met;
}

/* Pairs of blocks of 2..48 random records of the window, each block's pairs
 * (a, c > a) in the order dl__blocking_task emits them: runs sharing i. */
static void block_pairs(dl_pair *pairs, size_t n, size_t win)
{
    uint32_t rec[48];
    size_t k = 0;
    while (k < n) {
        size_t size = 2 + rnd() % 47;
        for (size_t r = 0; r < size; r++)
            rec[r] = (uint32_t)(rnd() % win);
        for (size_t a = 0; a < size && k < n; a++)
            for (size_t c = a + 1; c < size && k < n; c++)
                pairs[k++] = (dl_pair){rec[a], rec[c]};
    }
}

static void bench_dice_case(dice_mode mode, const char *what, const dice_data *d, double *rate,
                            int runs)
{
    uint64_t first = UINT64_MAX;
    for (size_t x = 0; x < sizeof kernel_names / sizeof kernel_names[0]; x++) {
        if (skip_kernel(kernel_names[x]) || !dl__dice_force(kernel_names[x]))
            continue;
        uint64_t met = 0;
        for (int r = 0; r < runs; r++) {
            double t0 = now();
            met = dice_pass(mode, d);
            rate[r] = (double)d->n / (now() - t0);
        }
        char label[160];
        snprintf(label, sizeof label, "%s, %s", kernel_names[x], what);
        report(label, rate, runs, "cmp");
        if (first == UINT64_MAX)
            first = met;
        printf(counts_only ? "    sum of counts: %llu%s\n" : "    Dice >= 0.3: %llu%s\n",
               (unsigned long long)met,
               met == first ? "" : "  DIFFERS FROM THE FIRST KERNEL");
    }
}

static void bench_dice(int runs)
{
    const size_t n_filters = (size_t)1 << 20, n_cmp = (size_t)1 << 23;
    uint64_t *bits = aligned_alloc(64, n_filters * 128);
    uint32_t *pop = malloc(n_filters * sizeof *pop);
    dl_pair *pairs = malloc(n_cmp * sizeof *pairs);
    uint32_t *idx = malloc(n_cmp * sizeof *idx);
    uint32_t *nab = malloc(BATCH * sizeof *nab);
    double *rate = malloc((size_t)runs * sizeof *rate);
    /* Bloom filters of names are about a quarter full (20 hash positions for
     * each of ~8 bigrams in 1024 bits); AND of two random words thins that. */
    for (size_t w = 0; w < n_filters * 16; w++)
        bits[w] = rnd() & rnd();
    for (size_t f = 0; f < n_filters; f++)
        pop[f] = (uint32_t)dl_popcount_words(bits + f * 16, 16);
    dice_data d = {bits, pop, n_filters, pairs, idx, n_cmp, 0, nab};
    need_init();
    printf("(a) Dice on 1024-bit filters, %zu comparisons a run, batches of %d; "
           "M cmp/s = million %s a second on one core\n",
           n_cmp, BATCH, counts_only ? "AND-popcounts (-c)" : "Dice decisions");
    const size_t windows[2] = {1024, n_filters};
    for (int wi = 0; wi < 2; wi++) {
        size_t win = windows[wi];
        const char *where = wi == 0 ? "1024 filters (in cache)" : "2^20 filters (128 MiB)";
        char what[96];
        for (size_t k = 0; k < n_cmp; k++) {
            if (wi == 0) /* in cache, i changing at every pair */
                pairs[k] = (dl_pair){(uint32_t)(k % win), (uint32_t)((k * 7 + 1) % win)};
            else /* everywhere: as random pairs for u */
                pairs[k] = (dl_pair){(uint32_t)(rnd() % win), (uint32_t)(rnd() % win)};
        }
        snprintf(what, sizeof what, "pairs scattered, %s", where);
        bench_dice_case(PAIRS, what, &d, rate, runs);
        block_pairs(pairs, n_cmp, win);
        snprintf(what, sizeof what, "pairs in block runs, %s", where);
        bench_dice_case(PAIRS, what, &d, rate, runs);
        /* queries (pairs[q].i) for ROWS and IDX */
        for (size_t k = 0; k < n_cmp; k++) {
            pairs[k].i = (uint32_t)(rnd() % n_filters);
            idx[k] = (uint32_t)(rnd() % win);
        }
        d.window = win;
        snprintf(what, sizeof what, "one vs rows, %s", wi == 0 ? "1024 rows (in cache)"
                                                               : "2^20 rows (streaming)");
        bench_dice_case(ROWS, what, &d, rate, runs);
        snprintf(what, sizeof what, "one vs indexed rows, %s", where);
        bench_dice_case(IDX, what, &d, rate, runs);
    }
    /* One call per pair through the dispatching dl__and_popcount, for scale. */
    dl__dice_force("auto");
    for (int r = 0; r < runs; r++) {
        uint64_t s = 0;
        double t0 = now();
        for (size_t k = 0; k < n_cmp; k++)
            s += dl__and_popcount(bits + (size_t)(k % 1024) * 16,
                                  bits + (size_t)((k * 7 + 1) % 1024) * 16, 16);
        rate[r] = (double)n_cmp / (now() - t0);
        if (s == 42)
            printf(" ");
    }
    report("dl__and_popcount one call a pair, in cache", rate, runs, "pairs");
    free(rate);
    free(bits);
    free(pop);
    free(pairs);
    free(idx);
    free(nab);
}

/* ---- (b) comparison vectors over a store loaded from ids files ----------- */

/* Repeat the store's records TIMES times over (TIMES * n records): the
 * columns the comparator reads are reallocated and tiled; file_of and slf,
 * which it does not read, are left as they are. */
static int replicate(dl_store *s, int times)
{
    size_t n = s->n, t = times > 1 ? (size_t)times : 1;
    if (t == 1)
        return 0;
    for (size_t c = 0; c < s->n_cols; c++) {
        dl_store_col *col = &s->cols[c];
        if (col->filter) {
            size_t row = col->words * 8, bytes = (t * n * row + 63) / 64 * 64;
            uint64_t *b = aligned_alloc(64, bytes ? bytes : 64);
            uint32_t *p = malloc(t * n * sizeof *p);
            if (!b || !p)
                return -1;
            for (size_t r = 0; r < t; r++) {
                memcpy((char *)b + r * n * row, col->bits, n * row);
                memcpy(p + r * n, col->pop, n * sizeof *p);
            }
            free(col->bits);
            free(col->pop);
            col->bits = b;
            col->pop = p;
        } else {
            size_t row = col->stride * 8;
            uint64_t *k = malloc(t * n * row);
            if (!k)
                return -1;
            for (size_t r = 0; r < t; r++)
                memcpy((char *)k + r * n * row, col->tok, n * row);
            free(col->tok);
            col->tok = k;
        }
    }
    s->n = t * n;
    return 0;
}

typedef struct keyrec {
    uint64_t key;
    uint32_t rec;
} keyrec;

static int keyrec_cmp(const void *a, const void *b)
{
    const keyrec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->rec > y->rec) - (x->rec < y->rec);
}

/* Pairs within blocks of the key (surname.dmetaphone, dob.year) when the spec
 * has them, else of the first comparison's first feature; blocks over 1000
 * records are skipped; at most MAX pairs. Records sorted by key, so the rows
 * of a block are scattered over the store as they are in the link stage. */
static size_t blocked_pairs(const dl_spec *spec, const dl_store *s, dl_pair *out, size_t max)
{
    dl_feature_ref a = spec->comparisons[0].levels[0].terms[0], b = a;
    for (size_t f = 0; f < spec->n_fields; f++) {
        if (strcmp(spec->fields[f].name, "surname") == 0)
            a = (dl_feature_ref){(uint16_t)f, DL_FEAT_DMETAPHONE};
        if (strcmp(spec->fields[f].name, "dob") == 0)
            b = (dl_feature_ref){(uint16_t)f, DL_FEAT_YEAR};
    }
    int ca = s->col_of[a.field][a.kind], cb = s->col_of[b.field][b.kind];
    if (ca < 0 || cb < 0 || s->cols[ca].filter || s->cols[cb].filter)
        return 0;
    const dl_store_col *A = &s->cols[ca], *B = &s->cols[cb];
    keyrec *k = malloc(s->n * sizeof *k);
    size_t n = 0;
    for (size_t r = 0; r < s->n; r++) {
        uint64_t x = A->tok[r * A->stride], y = B->tok[r * B->stride];
        if (x && y)
            k[n++] = (keyrec){x * 0x9e3779b97f4a7c15u ^ y, (uint32_t)r};
    }
    qsort(k, n, sizeof *k, keyrec_cmp);
    size_t np = 0;
    for (size_t i = 0; i < n && np < max;) {
        size_t j = i;
        while (j < n && k[j].key == k[i].key)
            j++;
        if (j - i <= 1000)
            for (size_t x = i; x < j && np < max; x++)
                for (size_t y = x + 1; y < j && np < max; y++)
                    out[np++] = (dl_pair){k[x].rec, k[y].rec};
        i = j;
    }
    free(k);
    return np;
}

/* Records of the in-cache figures: their rows, filters and columns take
 * about 1 MiB, so they stay in L2 and L3 after the first pass. */
#define CACHE_RECORDS 2048

/* The in-cache blocked pairs: the blocked pairs, in order, up to the last
 * whole block that keeps the records they touch within CACHE_RECORDS, then
 * repeated up to MAX pairs. Returns the pairs written to OUT. */
static size_t cached_blocked(const dl_pair *blocked, size_t nb, size_t n_rec, dl_pair *out,
                             size_t max)
{
    unsigned char *seen = calloc(n_rec, 1);
    size_t recs = 0, np = 0;
    for (size_t k = 0; k < nb && np < max; k++) {
        size_t add = !seen[blocked[k].i] + (blocked[k].j != blocked[k].i && !seen[blocked[k].j]);
        if (recs + add > CACHE_RECORDS)
            break;
        recs += add;
        seen[blocked[k].i] = seen[blocked[k].j] = 1;
        out[np++] = blocked[k];
    }
    free(seen);
    for (size_t k = np; np && k < max; k++)
        out[k] = out[k % np];
    return np ? max : 0;
}

/* Random pairs among CACHE_RECORDS random records, as the u sample makes
 * them (link compares all pairs among a few thousand sampled records). */
static size_t cached_random(size_t n_rec, dl_pair *out, size_t max)
{
    uint32_t rec[CACHE_RECORDS];
    for (size_t r = 0; r < CACHE_RECORDS; r++)
        rec[r] = (uint32_t)(rnd() % n_rec);
    for (size_t k = 0; k < max; k++)
        out[k] = (dl_pair){rec[rnd() % CACHE_RECORDS], rec[rnd() % CACHE_RECORDS]};
    return max;
}

static const char *const compare_kernels[] = {"rows-avx512", "rows-portable", "columns"};
static const char *only_compare; /* -K */
static const char *only_pairs;   /* -P: one kind of pairs */

static void bench_patterns(const dl_spec *spec, const dl_store *s, int runs)
{
    dl_error err = DL_ERROR_INIT;
    char msg[600];
    dl_comparator *cmp = NULL;
    double t0 = now();
    if (dl__comparator_new(spec, s, &cmp, &err) != DL_OK) {
        fprintf(stderr, "bench_compare: %s\n", dl_error_format(&err, msg, sizeof msg));
        return;
    }
    double build = now() - t0;
    size_t levels = 0;
    for (size_t c = 0; c < spec->n_comparisons; c++)
        levels += spec->comparisons[c].n_levels;
    printf("(b) comparison patterns: %zu comparisons, %zu levels, %llu patterns; "
           "%zu records; comparator rows %zu bytes a record (%.1f MiB), built in %.2f s; "
           "dice kernel %s\n",
           spec->n_comparisons, levels, (unsigned long long)dl__comparator_n_patterns(cmp),
           s->n, dl__comparator_bytes(cmp),
           (double)(dl__comparator_bytes(cmp) * s->n) / 1048576.0, build,
           only_kernel ? only_kernel : dl__dice_kernel());
    if (only_kernel && !dl__dice_force(only_kernel)) {
        fprintf(stderr, "bench_compare: dice kernel %s is not available\n", only_kernel);
        dl__comparator_free(cmp);
        return;
    }
    dl_pair *pairs = malloc(max_pairs * sizeof *pairs);
    dl_pair *blocked = malloc(max_pairs * sizeof *blocked);
    size_t n_blocked = blocked_pairs(spec, s, blocked, max_pairs);
    uint32_t *out = malloc(BATCH * sizeof *out);
    double *rate = malloc((size_t)runs * sizeof *rate);
    static const char *const kinds[] = {"blocked", "random", "blocked in cache",
                                        "random in cache"};
    for (int kind = 0; kind < 4; kind++) {
        size_t n = 0;
        if (kind == 0) {
            memcpy(pairs, blocked, n_blocked * sizeof *pairs);
            n = n_blocked;
        } else if (kind == 1) {
            for (n = 0; n < max_pairs; n++)
                pairs[n] = (dl_pair){(uint32_t)(rnd() % s->n), (uint32_t)(rnd() % s->n)};
        } else if (kind == 2) {
            n = cached_blocked(blocked, n_blocked, s->n, pairs, max_pairs);
        } else {
            n = cached_random(s->n, pairs, max_pairs);
        }
        if (n == 0 || (only_pairs && strcmp(only_pairs, kinds[kind]) != 0))
            continue;
        uint64_t first = 0;
        for (size_t x = 0; x < sizeof compare_kernels / sizeof compare_kernels[0]; x++) {
            if ((only_compare && strcmp(only_compare, compare_kernels[x]) != 0) ||
                !dl__comparator_force(cmp, compare_kernels[x]))
                continue;
            uint64_t h = 0;
            for (int r = 0; r < runs; r++) {
                h = 0xcbf29ce484222325u;
                double t1 = now();
                for (size_t k = 0; k < n; k += BATCH) {
                    size_t b = n - k < BATCH ? n - k : BATCH;
                    dl__compare_many(cmp, pairs + k, b, out);
                    h = fnv(h, out, b * sizeof *out);
                }
                rate[r] = (double)n / (now() - t1);
            }
            char label[96];
            snprintf(label, sizeof label, "%s (%zu), %s", kinds[kind], n, compare_kernels[x]);
            report(label, rate, runs, "pairs");
            if (!first)
                first = h;
            printf("    patterns fnv-1a %016llx%s\n", (unsigned long long)h,
                   h == first ? "" : "  DIFFERS FROM THE FIRST KERNEL");
        }
    }
    dl__dice_force("auto");
    free(rate);
    free(out);
    free(pairs);
    free(blocked);
    dl__comparator_free(cmp);
}

int main(int argc, char **argv)
{
    int runs = 5, times = 1, opt;
    bool dice = true;
    while ((opt = getopt(argc, argv, "r:x:n:k:K:P:Dc")) != -1) {
        if (opt == 'r')
            runs = atoi(optarg);
        else if (opt == 'x')
            times = atoi(optarg);
        else if (opt == 'n')
            max_pairs = (size_t)strtoull(optarg, NULL, 10);
        else if (opt == 'k')
            only_kernel = optarg;
        else if (opt == 'K')
            only_compare = optarg;
        else if (opt == 'P')
            only_pairs = optarg;
        else if (opt == 'D')
            dice = false;
        else if (opt == 'c')
            counts_only = true;
        else {
            fprintf(stderr, "usage: bench_compare [-r RUNS] [-x TIMES] [-n PAIRS] [-k KERNEL] "
                            "[-K CMP_KERNEL] [-P PAIRS_KIND] [-D] [-c]\n"
                            "                     [SPEC.yaml IDS.csv.gz ...]\n");
            return 1;
        }
    }
    if (max_pairs < 1)
        max_pairs = 1;
    if (runs < 1)
        runs = 1;
    char cpu[128];
    cpu_name(cpu, sizeof cpu);
    double load[1] = {0};
    if (getloadavg(load, 1) < 1)
        load[0] = -1;
    printf("bench_compare: cpu %s, %ld cores online, one used (thread CPU time); "
           "load average %.1f\n",
           cpu, sysconf(_SC_NPROCESSORS_ONLN), load[0]);
#ifdef __VERSION__
    printf("compiler %s, %s, commit %s; %d runs each; dice kernel chosen: %s\n", __VERSION__,
#ifdef __OPTIMIZE__
           "optimised",
#else
           "not optimised",
#endif
           DL_COMMIT, runs, dl__dice_kernel());
#endif
    if (dice)
        bench_dice(runs);

    if (optind + 1 < argc) {
        dl_spec *spec = NULL;
        dl_store *store = NULL;
        dl_error err = DL_ERROR_INIT;
        char msg[600];
        if (dl_spec_load(argv[optind], &spec, &err) != DL_OK ||
            dl__store_load(spec, (size_t)(argc - optind - 1),
                           (const char *const *)argv + optind + 1, NULL, NULL, &store,
                           &err) != DL_OK) {
            fprintf(stderr, "bench_compare: %s\n", dl_error_format(&err, msg, sizeof msg));
            dl_spec_free(spec);
            return 2;
        }
        if (replicate(store, times)) {
            fprintf(stderr, "bench_compare: out of memory repeating the store\n");
            dl__store_free(store);
            dl_spec_free(spec);
            return 2;
        }
        size_t bytes = 0;
        char strides[256] = "";
        for (size_t c = 0; c < store->n_cols; c++) {
            const dl_store_col *col = &store->cols[c];
            bytes += col->filter ? store->n * (col->words * 8 + 4)
                                 : store->n * col->stride * 8;
            if (!col->filter && col->stride > 1) {
                size_t o = strlen(strides);
                snprintf(strides + o, sizeof strides - o, " %s:%u", col->name,
                         (unsigned)col->stride);
            }
        }
        printf("store (dl__store_load): %s, %d ids files%s: %zu records, %zu columns, "
               "%.1f MiB\n  token sets (slots):%s\n",
               argv[optind], argc - optind - 1, times > 1 ? ", repeated" : "", store->n,
               store->n_cols, (double)bytes / 1048576.0, strides);
        bench_patterns(spec, store, runs);
        dl__store_free(store);
        dl_spec_free(spec);
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %ld KiB\n", ru.ru_maxrss);
    return 0;
}
