/* link_internal.h: the data structures the linkage stages share.
 * Part of linkage/; store.c loads ids files into a dl_store, block.c makes
 * candidate pairs from it, compare.c turns a pair into a pattern index,
 * model.c and em.c estimate m, u and lambda over pattern histograms,
 * cluster.c groups links, link.c runs them in order and writes the outputs. */
#ifndef DL_LINK_INTERNAL_H
#define DL_LINK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/buf.h"
#include "dolen/error.h"
#include "dolen/progress.h"
#include "dolen/spec.h"
#include "dolen/workers.h"

/* ---- the columnar store (store.c) ---------------------------------------- */

/* One loaded column of the ids files. Records are numbered 0..n-1 in file
 * order (file 0's rows, then file 1's, ...). */
typedef struct dl_store_col {
    char name[80];           /* "surname.dmetaphone", "clk" */
    int field;               /* spec field index; -1 for "clk" */
    dl_feature_kind kind;    /* DL_FEAT_BLOOM for filters and clk */
    bool filter;
    /* token columns: STRIDE slots per record (1 for single tokens, up to
     * DL_TOKEN_SET_MAX for sets); unused slots are 0; a record whose first
     * slot is 0 is missing. Slots of a record are sorted ascending. */
    uint8_t stride;
    uint64_t *tok;           /* n * stride */
    /* filter columns: WORDS 64-bit words per record, bit i of the filter in
     * word i / 64 (dl_bloom_from_bytes); POP the popcount (0 = missing). */
    size_t words;
    uint64_t *bits;          /* n * words, 64-byte aligned */
    uint32_t *pop;           /* n */
} dl_store_col;

typedef struct dl_store_file {
    char path[4096];         /* the ids file */
    char dataset[72];        /* from its manifest */
    size_t first, n;         /* its records: first .. first + n - 1 */
} dl_store_file;

typedef struct dl_store {
    size_t n;                /* records */
    size_t n_files;
    dl_store_file *files;
    uint16_t *file_of;       /* n: index into files */
    uint8_t (*slf)[16];      /* n: the SLF as 16 bytes */
    size_t n_cols;
    dl_store_col *cols;
    /* col_of[field][feature] = index into cols, or -1 when not loaded;
     * clk_col likewise for the record-level CLK */
    int col_of[DL_SPEC_MAX_FIELDS][DL_FEAT__COUNT];
    int clk_col;
    char spec_hash[65];      /* shared by every file (checked) */
    char key_fingerprint[17];
    size_t bytes;            /* memory held by the columns, for reports */
} dl_store;

/* Load the ids files at PATHS (each with NAME.manifest.json beside it, as
 * prepare writes them) into a store holding only the columns SPEC uses in
 * comparisons, blocking rules, training rules and term frequencies. Verifies
 * each manifest (checksums, rows) and that every file has the spec hash of
 * SPEC and one key fingerprint, naming both files when they differ. Bad hex
 * or base64, a wrong column count, a duplicate SLF, an empty file: DL_EINPUT
 * with file, line and column. Uses WORKERS (may be NULL) to parse in
 * parallel; the store does not depend on the thread count. */
dl_status dl__store_load(const dl_spec *spec, size_t n_paths, const char *const *paths,
                         dl_workers *workers, dl_progress *progress, dl_store **out,
                         dl_error *err);
void dl__store_free(dl_store *s);

/* BYTES for a large array read at random (the store's filters, the
 * comparator's rows), 64-byte aligned, to release with free(). With 4 KiB
 * pages nearly every record of a pair read at random misses the TLB once the
 * array is larger than the TLB reaches (a few MiB), so an array of 2 MiB or
 * more is aligned to 2 MiB (its size rounded up to that) and offered to the
 * kernel for huge pages where it has them (Linux: transparent huge pages in
 * "madvise" mode; advice only). NULL when memory runs out. */
void *dl__alloc_large(size_t bytes);

/* A new store holding records REC[0..K-1] of S, renumbered 0..K-1 in that
 * order: the same columns (tokens, filters, popcounts), files, file_of and
 * SLFs, so any pair compares as the original pair does. For loops over many
 * pairs of few records (the u sample), which then stay in cache. Free with
 * dl__store_free(). DL_ENOMEM. */
dl_status dl__store_subset(const dl_store *s, const uint32_t *rec, size_t k, dl_store **out,
                           dl_error *err);

/* Column index of FIELD.FEATURE (the spec's reference), or -1. */
int dl__store_col(const dl_store *s, dl_feature_ref ref);

/* Whether records I and J agree on token column C (their token sets
 * intersect; false when either is missing). */
static inline bool dl__tok_agree(const dl_store_col *c, size_t i, size_t j)
{
    const uint64_t *a = c->tok + i * c->stride, *b = c->tok + j * c->stride;
    if (!a[0] || !b[0])
        return false;
    if (c->stride == 1)
        return a[0] == b[0];
    for (size_t x = 0; x < c->stride && a[x]; x++)
        for (size_t y = 0; y < c->stride && b[y]; y++)
            if (a[x] == b[y])
                return true;
    return false;
}

static inline bool dl__col_missing(const dl_store_col *c, size_t i)
{
    return c->filter ? c->pop[i] == 0 : c->tok[i * c->stride] == 0;
}

/* ---- pairs and patterns ------------------------------------------------ */

/* A candidate pair of records, i < j. */
typedef struct dl_pair {
    uint32_t i, j;
} dl_pair;

/* Whether the link type allows comparing records I and J (i != j): `link`
 * only across files, `spine` only between the spine file and another,
 * `dedupe` and `link_and_dedupe` any pair. SPINE_FILE is the spine's file
 * index (spine mode). */
static inline bool dl__pair_allowed(const dl_store *s, dl_link_type t, int spine_file,
                                    uint32_t i, uint32_t j)
{
    switch (t) {
    case DL_LINK_LINK:
        return s->file_of[i] != s->file_of[j];
    case DL_LINK_SPINE:
        return (s->file_of[i] == spine_file) != (s->file_of[j] == spine_file);
    default:
        return true;
    }
}

/* ---- comparison (compare.c) ------------------------------------------- */

/* Compiled comparisons over a store. Comparison c has n_levels(c) =
 * spec levels + 2 values: 0 = null (null_if missing on either side),
 * 1..L = the spec's levels in order (first match wins), L + 1 = else.
 * A pattern index is sum over c of value_c * radix_c, radix_0 = 1,
 * radix_{c+1} = radix_c * n_levels(c). */
typedef struct dl_comparator dl_comparator;

dl_status dl__comparator_new(const dl_spec *spec, const dl_store *store, dl_comparator **out,
                             dl_error *err);
void dl__comparator_free(dl_comparator *c);
size_t dl__comparator_n_comparisons(const dl_comparator *c);
size_t dl__comparator_n_levels(const dl_comparator *c, size_t comp);
uint64_t dl__comparator_n_patterns(const dl_comparator *c);
/* The comparator keeps its own row-major copy of the token slots and filter
 * popcounts its levels read (one 64-byte aligned row a record, a multiple of
 * 64 bytes: 256 for the demo spec), so the store's token columns and
 * popcounts must not change while it lives; filter bits are read from the
 * store. Specs needing more than 64 slots or 64 level bits have no rows and
 * compare column by column. dl__comparator_bytes: the row's bytes a record
 * (0 without rows). */
size_t dl__comparator_bytes(const dl_comparator *c);
/* The kernel in use ("rows-avx512", "rows-portable" or "columns"; every one
 * gives the same patterns), and a way for tests and benchmarks to choose one:
 * false, and no change, when NAME is unknown, the CPU lacks it or C has no
 * rows; NULL or "auto" restores the automatic choice. Not to be called while
 * another thread compares with C. */
const char *dl__comparator_kernel(const dl_comparator *c);
bool dl__comparator_force(dl_comparator *c, const char *name);
/* The pattern of records I and J. Thread-safe. */
uint32_t dl__compare(const dl_comparator *c, uint32_t i, uint32_t j);
/* Patterns of N pairs at once (what the hot loop calls). */
void dl__compare_many(const dl_comparator *c, const dl_pair *pairs, size_t n, uint32_t *out);
/* The value (0 null, 1..L level, L+1 else) of comparison COMP in PATTERN. */
unsigned dl__pattern_value(const dl_comparator *c, uint32_t pattern, size_t comp);

/* Dice kernels (dice.c): the popcount of A AND B over WORDS words, with
 * AVX-512 VPOPCNTDQ, AVX2 or portable code chosen at run time; every variant
 * returns the same count. */
uint32_t dl__and_popcount(const uint64_t *a, const uint64_t *b, size_t words);
/* The same count for N pairs of rows of one filter column (BITS, WORDS words
 * a row): OUT[k] = popcount(row pairs[k].i AND row pairs[k].j). One call per
 * batch, so the kernel inlines into the loop. Runs of pairs that share i (as
 * blocking emits them) load row i once. Thread-safe; N may be 0. */
void dl__and_popcount_many(const uint64_t *bits, size_t words, const dl_pair *pairs, size_t n,
                           uint32_t *out);
/* One filter A against many rows, as a linkage of one record against a
 * block, or anonlink's one-against-many: OUT[k] = popcount(A AND row k) for
 * N contiguous rows of WORDS words at ROWS (dl__and_popcount_rows), or for
 * the rows IDX[0..N-1] of BITS (dl__and_popcount_idx). A is read once and
 * held in registers: half the loads of dl__and_popcount_many. Same counts as
 * dl__and_popcount on every kernel. Thread-safe; N may be 0. */
void dl__and_popcount_rows(const uint64_t *a, const uint64_t *rows, size_t words, size_t n,
                           uint32_t *out);
void dl__and_popcount_idx(const uint64_t *a, const uint64_t *bits, size_t words,
                          const uint32_t *idx, size_t n, uint32_t *out);
/* The kernel in use as a function (what dl__and_popcount calls), for loops
 * that fetch it once per batch. */
typedef uint32_t (*dl__and_popcount_fn)(const uint64_t *a, const uint64_t *b, size_t words);
dl__and_popcount_fn dl__and_popcount_kernel(void);
/* The kernel in use ("avx512-vpopcntdq", "avx2", "popcnt", "portable") and a
 * way for tests and benchmarks to force one (false when the CPU lacks it or
 * the name is unknown; NAME NULL or "auto" restores the automatic choice).
 * Forcing is not meant to race with running comparisons: call it between them. */
const char *dl__dice_kernel(void);
bool dl__dice_force(const char *name);

/* ---- the model (model.c, em.c) --------------------------------------------- */

/* The least m or u may be (em.c, model.c), so that log2(m/u) stays finite:
 * a level no match showed in training is very strong evidence against, not
 * infinite evidence. */
#define DL_MODEL_FLOOR 1e-6

/* Fellegi-Sunter parameters. Level values as in the comparator; m[c][0] and
 * u[c][0] (null) are unused: a null contributes weight 0. */
typedef struct dl_model_comp {
    char name[64];
    size_t n_levels;           /* spec levels + 2 */
    char (*labels)[64];        /* n_levels: "null", spec labels..., "else" */
    double *m, *u;             /* n_levels each */
    bool *m_fixed;             /* never estimated in any pass (reported) */
    uint64_t *u_count;         /* random-sample counts behind u */
    unsigned tf_level;         /* the level term frequencies adjust: the first
                                  exact level on the spec's tf feature; 0 none */
} dl_model_comp;

typedef struct dl_em_pass {
    char rule[256];            /* "dob.token & surname.token" */
    uint64_t pairs;
    unsigned iterations;
    bool converged;
    double lambda;             /* share of matches among this pass's pairs */
    double *trace;             /* iterations: max parameter change per iteration */
    bool *fixed;               /* n_comp: left out of this pass (used by its rule) */
    double *m;                 /* this pass's m, comparison after comparison, n_levels
                                  each (start values where fixed) */
} dl_em_pass;

typedef struct dl_model {
    size_t n_comp;
    dl_model_comp *comp;
    double lambda;             /* prior: P(match) for a random pair of records */
    uint64_t u_pairs;          /* random pairs sampled for u */
    size_t n_passes;
    dl_em_pass *passes;
    char spec_hash[65];
    bool trained;              /* false when loaded from a file */
    /* warnings found while training (a level never observed, EM not
     * converging, lambda at a bound): one per line */
    dl_buf warnings;
} dl_model;

/* Histogram of patterns: counts[p] pairs had pattern p. */
typedef struct dl_histogram {
    uint64_t n_patterns;
    uint64_t *counts;
    uint64_t total;
} dl_histogram;

dl_status dl__histogram_init(dl_histogram *h, uint64_t n_patterns, dl_error *err);
void dl__histogram_add(dl_histogram *dst, const dl_histogram *src);
void dl__histogram_free(dl_histogram *h);

/* A new model shaped like the comparator (n_levels = spec levels + 2), with
 * labels from SPEC and start values for m (uniform u until set). CMP may be
 * NULL; when given, its shape must match SPEC (else DL_EINTERNAL). More than
 * 2^32 patterns: DL_EINPUT at the comparison. Free with dl__model_free(). */
dl_status dl__model_new(const dl_spec *spec, const dl_comparator *cmp, dl_model **out,
                        dl_error *err);
void dl__model_free(dl_model *m);
/* Append one line to m->warnings (advisory: lost if memory runs out). */
void dl__model_warn(dl_model *m, const char *fmt, ...) DL_PRINTF(2, 3);
/* Product of the comparisons' n_levels: the patterns of the model's shape. */
uint64_t dl__model_n_patterns(const dl_model *m);

/* u from a histogram of random pairs: u[c][v] = share of value v among the
 * non-null values of comparison c, with a floor so no level has u = 0. */
void dl__model_set_u(dl_model *m, const dl_comparator *cmp, const dl_histogram *random_pairs);

/* One EM pass over the histogram H of the pairs of one training rule, with
 * u fixed and the m of comparisons in FIXED (a bool per comparison: those
 * using a feature of the rule) left out: estimates m of the others and the
 * pass's lambda; records the pass (trace, convergence) in the model. */
dl_status dl__em_pass(dl_model *m, const dl_comparator *cmp, const dl_histogram *h,
                      const bool *fixed, const char *rule_text, unsigned max_iter,
                      double tol, dl_error *err);

/* Combine the passes: each comparison's m is the mean of its estimates over
 * the passes that estimated it, weighted by each pass's expected matches
 * (lambda * pairs: m is a property of matches, so a pass's information about
 * it grows with its matches, not its pairs); a comparison estimated in no
 * pass keeps its start m, is marked m_fixed and gets a warning. lambda =
 * EXPECTED_MATCHES / TOTAL_PAIRS (all allowed pairs of records), clamped to
 * [1e-12, 1 - 1e-12]. docs/model.md explains the choice. */
void dl__model_finish(dl_model *m, double expected_matches, double total_pairs);

/* Expected matches among the pairs of H under M's m and u: sum over patterns
 * of count * P(match | pattern), where the prior inside P is lambda_H, the
 * share of matches among H's pairs, found as the fixed point of lambda_H =
 * expected / H->total (EM for the mixing weight alone, m and u held). Pass
 * the histogram of all blocked pairs and dl__model_finish() gets the number of
 * matches blocking found. 0 when H is empty (or memory ran out). */
double dl__model_expected_matches(const dl_model *m, const dl_comparator *cmp,
                                  const dl_histogram *h);

/* Match weight of a pattern (log2 Bayes factor sum plus prior) and the
 * probability 2^w / (1 + 2^w). */
double dl__model_weight(const dl_model *m, const dl_comparator *cmp, uint32_t pattern);
double dl__prob(double weight);
/* The weight of every pattern into OUT (n_patterns doubles, the caller's),
 * for scoring by table look-up. Same values as dl__model_weight. */
void dl__model_weight_table(const dl_model *m, double *out);

/* Term frequencies of one token column: token -> share of the non-missing
 * records whose first slot holds it. Read-only after building: thread-safe. */
typedef struct dl_tf_table dl_tf_table;

/* Count the first-slot tokens of N records of STRIDE slots at TOKENS (0 =
 * missing, skipped). *out to free with dl__tf_free(); DL_ENOMEM otherwise. */
dl_status dl__tf_build(const uint64_t *tokens, size_t n, size_t stride, dl_tf_table **out,
                       dl_error *err);
void dl__tf_free(dl_tf_table *t);
/* Records counted, and the share of them holding TOKEN (0 when absent). */
uint64_t dl__tf_total(const dl_tf_table *t);
double dl__tf_freq(const dl_tf_table *t, uint64_t token);
/* The weight to add when a pair of comparison COMP is at its tf_level (exact
 * agreement on the tf feature) and shares TOKEN: log2(u_exact / f), u_exact =
 * u[tf_level], f = the token's share floored at one record in T, so a common
 * value weighs less than the average agreement and a rare one more. 0 when
 * the comparison has no tf_level or T counted nothing. */
double dl__tf_adjust(const dl_model *m, size_t comp, const dl_tf_table *t, uint64_t token);

/* model.yaml: write M (with the EM trace) atomically to PATH; load one
 * written before (DL_EINPUT with line and column when malformed or when its
 * comparisons do not match SPEC). */
dl_status dl__model_write(const dl_model *m, const char *path, dl_error *err);
/* As dl__model_load over LEN bytes at TEXT (not kept); PATH names it in
 * messages. For the fuzz target. */
dl_status dl__model_parse(const dl_spec *spec, const dl_comparator *cmp, const char *path,
                          const char *text, size_t len, dl_model **out, dl_error *err);
dl_status dl__model_load(const dl_spec *spec, const dl_comparator *cmp, const char *path,
                         dl_model **out, dl_error *err);

/* ---- clustering (cluster.c) --------------------------------------------- */

typedef struct dl_link {
    uint32_t i, j;             /* records, i < j */
    uint32_t pattern;
    double weight;
} dl_link;

/* Assign every record a cluster. Links are those at or above the match
 * threshold (the caller filters), each with i < j < s->n and a weight that
 * is not NaN; the same pair may appear twice. METHOD:
 * - components: connected components (union-find, union by rank, path
 *   halving); CLUSTER[r] = the smallest record number in r's cluster.
 * - one_to_one: links taken greedily by weight, highest first, each record
 *   used at most once; ties by the SLFs of the pair (smaller SLF of the two,
 *   then the larger, byte order), never by record number, so the pairs kept
 *   do not depend on file order. CLUSTER[r] = the smaller record of r's pair.
 * - spine: each record outside the spine file SPINE_FILE joins the spine
 *   record of its best link (ties: the spine record with the smaller SLF);
 *   links between two spine or two non-spine records are ignored.
 *   CLUSTER[r] = the spine record of r's cluster (r itself when unlinked).
 * In every method a label is a member of its own cluster (CLUSTER[CLUSTER[r]]
 * == CLUSTER[r]), depends only on the data, and an unlinked record is its
 * own cluster. BEST (may be NULL) gets per record the probability
 * 2^w / (1 + 2^w) of its best link that was kept (0 when none).
 * CLUSTER and BEST have s->n entries, written in full on success and left
 * unspecified on failure. Errors: DL_EINTERNAL for a malformed link or
 * SPINE_FILE out of range, DL_EUSAGE when s->n exceeds UINT32_MAX, DL_ENOMEM.
 * Memory: one byte per record beyond the outputs (a double per record when
 * BEST is NULL), plus 64 bytes per link for one_to_one's sort. Single-threaded;
 * thread-safe on distinct outputs. See docs/clustering.md. */
dl_status dl__cluster(const dl_store *s, dl_cluster_method method, int spine_file,
                      const dl_link *links, size_t n_links, uint32_t *cluster, double *best,
                      dl_error *err) DL_MUST_CHECK;

/* The ALF of a cluster: the first 8 bytes of SHA-256 of "dolen alf v1" and
 * the cluster's smallest SLF (byte order), as a big-endian integer, never 0
 * (a zero digest prefix becomes 1). In spine mode that is the spine record's
 * SLF, so a person's ALF is stable across runs that use the same prepared
 * spine. Thread-safe. */
uint64_t dl__alf(const uint8_t slf[16]);

/* ALF[r] for every record r of S, given CLUSTER from dl__cluster with METHOD:
 * dl__alf of the smallest SLF in r's cluster, or in spine mode of the label
 * record's SLF (the spine record). Neither depends on file order or thread
 * count. ALF has s->n entries, unspecified on failure; the only allocation
 * is one OpenSSL digest context (DL_ENOMEM when it cannot be made).
 * DL_EINTERNAL when a label is out of range or not a member of its own
 * cluster, or when OpenSSL fails to hash. Single-threaded. */
dl_status dl__cluster_alfs(const dl_store *s, dl_cluster_method method, const uint32_t *cluster,
                           uint64_t *alf, dl_error *err) DL_MUST_CHECK;

/* Cluster-size histogram for reports: HIST[k] (k = 1 .. MAX_SIZE, HIST has
 * MAX_SIZE + 1 entries, HIST[0] = 0) = clusters of size k, HIST[MAX_SIZE]
 * counting those of MAX_SIZE or more; *LARGEST (may be NULL) = the largest
 * size (0 when N is 0). CLUSTER as dl__cluster writes it, N records.
 * DL_EUSAGE when MAX_SIZE is 0, DL_EINTERNAL for a label >= N, DL_ENOMEM. */
dl_status dl__cluster_sizes(const uint32_t *cluster, size_t n, uint64_t *hist, size_t max_size,
                            size_t *largest, dl_error *err) DL_MUST_CHECK;

#endif
