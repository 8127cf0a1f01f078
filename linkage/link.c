/* link.c: the link stage in order: load, train (u, EM, lambda), score, cluster, write.
 * Part of linkage/; `dolen link` is a thin wrapper round dl_link_run().
 *
 * Pairs are never held: every pass over candidate pairs walks the blocking
 * tasks on the worker pool and keeps only per-task histograms and the pairs
 * that score above the review threshold. Tasks are fixed by the data, and
 * their results are merged in task order, so outputs are the same for any
 * number of threads. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "dl_config.h"
#include "dolen/csv.h"
#include "dolen/hexb64.h"
#include "dolen/json.h"
#include "dolen/link.h"
#include "dolen/manifest.h"
#include "dolen/outfile.h"
#include "dolen/sha256.h"
#include "linkage/block.h"
#include "linkage/link_internal.h"

/* Weight histogram for the report: 0.5-wide bins over [-40, 40), and one
 * bin each for below and above. */
#define WBINS 160
#define WMIN -40.0
#define WSTEP 0.5

typedef struct stage_time {
    const char *name;
    double seconds;
} stage_time;

typedef struct ctx {
    const dl_link_opts *o;
    const dl_spec *spec;
    dl_workers *pool;
    dl_store *store;
    dl_comparator *cmp;
    dl_model *model;
    int spine_file;
    /* term-frequency tables, per comparison (NULL without tf) */
    dl_tf_table **tf;
    int *tf_col;             /* store column of the tf feature */
    unsigned *tf_level;      /* the pattern value at which tf applies */
    double *wtable;          /* weight per pattern (NULL when too many patterns) */
    stage_time stages[8];
    size_t n_stages;
    uint64_t t_stage;
    dl_buf warnings;
} ctx;

static void stage_begin(ctx *c)
{
    c->t_stage = dl_now_ns();
}

static void stage_end(ctx *c, const char *name)
{
    if (c->n_stages < 8)
        c->stages[c->n_stages++] = (stage_time){name, (double)(dl_now_ns() - c->t_stage) / 1e9};
}

static void warn(ctx *c, const char *fmt, ...) DL_PRINTF(2, 3);
static void warn(ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char line[512];
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    dl_buf_puts(&c->warnings, line);
    dl_buf_putc(&c->warnings, '\n');
}

/* ---- hashing for the u sample: splitmix64 -------------------------------------- */

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* ---- pair totals ---------------------------------------------------------------- */

/* All pairs of records the link type allows (the space lambda is a share of). */
static double allowed_pairs(const ctx *c)
{
    const dl_store *s = c->store;
    double n = (double)s->n;
    switch (c->spec->link_type) {
    case DL_LINK_LINK: {
        double sum = 0, sq = 0;
        for (size_t f = 0; f < s->n_files; f++) {
            sum += (double)s->files[f].n;
            sq += (double)s->files[f].n * (double)s->files[f].n;
        }
        return (sum * sum - sq) / 2;
    }
    case DL_LINK_SPINE: {
        double sp = c->spine_file >= 0 ? (double)s->files[c->spine_file].n : 0;
        return sp * (n - sp);
    }
    default:
        return n * (n - 1) / 2;
    }
}

/* ---- passes over pairs ------------------------------------------------------- */

typedef struct hist_job {
    ctx *c;
    const dl_blocking *b;
    dl_histogram *per_worker;
    dl_histogram **rule_hists; /* per worker: a histogram per rule, or NULL */
    uint64_t **rule_pairs;   /* per worker */
    uint32_t **scratch;      /* per worker: DL_BLOCK_BATCH patterns */
    size_t worker;
} hist_job;

typedef struct hist_task_state {
    hist_job *job;
    size_t worker;
} hist_task_state;

static dl_status hist_pairs(const dl_pair *pairs, const uint64_t *masks, size_t n,
                           void *payload, dl_error *err)
{
    hist_task_state *t = payload;
    hist_job *j = t->job;
    uint32_t *pat = j->scratch[t->worker];
    dl_histogram *h = &j->per_worker[t->worker];
    (void)err;
    dl__compare_many(j->c->cmp, pairs, n, pat);
    for (size_t k = 0; k < n; k++)
        h->counts[pat[k]]++;
    h->total += n;
    if (masks && j->rule_hists) {
        dl_histogram *rh = j->rule_hists[t->worker];
        for (size_t k = 0; k < n; k++)
            for (uint64_t m = masks[k]; m; m &= m - 1) {
                dl_histogram *x = &rh[__builtin_ctzll(m)];
                x->counts[pat[k]]++;
                x->total++;
            }
    }
    return DL_OK;
}

static dl_status hist_task(size_t task, size_t worker, void *payload, dl_error *err)
{
    hist_job *j = payload;
    hist_task_state t = {j, worker};
    return dl__blocking_task(j->b, task, hist_pairs, &t, j->rule_pairs[worker], err);
}

static void free_hists(dl_histogram *h, size_t n)
{
    for (size_t r = 0; h && r < n; r++)
        dl__histogram_free(&h[r]);
    free(h);
}

/* N zeroed histograms of NP patterns, or NULL (ERR set). */
static dl_histogram *new_hists(size_t n, uint64_t np, dl_error *err)
{
    dl_histogram *h = calloc(n ? n : 1, sizeof *h);
    if (!h) {
        dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for pattern histograms");
        return NULL;
    }
    for (size_t r = 0; r < n; r++)
        if (dl__histogram_init(&h[r], np, err) != DL_OK) {
            free_hists(h, n);
            return NULL;
        }
    return h;
}

/* The pattern histogram of every pair of blocking B into OUT (summed over
 * workers in a fixed order: counts are integers, so the sum is exact). With
 * RULE_OUT (B's masks on), also one histogram per rule of B, of the pairs
 * that rule pairs: what the rule's own blocking would give. */
static dl_status blocked_histogram(ctx *c, dl_blocking *b, dl_histogram *out,
                                   dl_histogram *rule_out, dl_error *err)
{
    size_t nw = dl_workers_count(c->pool), nr = dl__blocking_n_rules(b);
    uint64_t np = dl__comparator_n_patterns(c->cmp);
    hist_job j = {c, b, calloc(nw, sizeof(dl_histogram)),
                  rule_out ? calloc(nw, sizeof(dl_histogram *)) : NULL,
                  calloc(nw, sizeof(uint64_t *)), calloc(nw, sizeof(uint32_t *)), 0};
    dl_status st = DL_OK;
    if (!j.per_worker || !j.rule_pairs || !j.scratch || (rule_out && !j.rule_hists))
        st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t w = 0; w < nw && st == DL_OK; w++) {
        st = dl__histogram_init(&j.per_worker[w], np, err);
        j.rule_pairs[w] = calloc(nr ? nr : 1, sizeof(uint64_t));
        j.scratch[w] = malloc(DL_BLOCK_BATCH * sizeof(uint32_t));
        if (st == DL_OK && (!j.rule_pairs[w] || !j.scratch[w]))
            st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
        if (st == DL_OK && rule_out && !(j.rule_hists[w] = new_hists(nr, np, err)))
            st = DL_ENOMEM;
    }
    if (st == DL_OK)
        st = dl__histogram_init(out, np, err);
    if (st == DL_OK)
        st = dl_workers_run(c->pool, dl__blocking_n_tasks(b), hist_task, &j, err);
    if (st == DL_OK)
        for (size_t w = 0; w < nw; w++) {
            dl__histogram_add(out, &j.per_worker[w]);
            dl__blocking_add_pairs(b, j.rule_pairs[w]);
            for (size_t r = 0; rule_out && r < nr; r++)
                dl__histogram_add(&rule_out[r], &j.rule_hists[w][r]);
        }
    for (size_t w = 0; w < nw && j.per_worker; w++) {
        dl__histogram_free(&j.per_worker[w]);
        if (j.rule_pairs)
            free(j.rule_pairs[w]);
        if (j.scratch)
            free(j.scratch[w]);
        if (j.rule_hists)
            free_hists(j.rule_hists[w], nr);
    }
    free(j.per_worker);
    free(j.rule_hists);
    free(j.rule_pairs);
    free(j.scratch);
    return st;
}

/* ---- u from random pairs --------------------------------------------------- */

/* u is estimated as Splink does: a random sample of k records, all the
 * allowed pairs among them compared, k chosen so those pairs number about
 * u_sample. The k records are those with the smallest keyed hash of their
 * SLF, taken in SLF order, so the sample depends on the data and the seed
 * only (not on file order or threads); and k records (thousands) stay in
 * cache where k random pairs of a large store would not. */

typedef struct sample_rec {
    uint64_t h;
    uint32_t rec;
} sample_rec;

static uint64_t slf_hash(uint64_t seed, const uint8_t slf[16])
{
    uint64_t a, b;
    memcpy(&a, slf, 8);
    memcpy(&b, slf + 8, 8);
    uint64_t s = seed ^ 0x6a09e667f3bcc908ull;
    uint64_t x = a ^ splitmix(&s);
    x = (x ^ (x >> 31)) * 0xbf58476d1ce4e5b9ull ^ b;
    return splitmix(&x);
}

static int by_hash(const void *pa, const void *pb)
{
    const sample_rec *a = pa, *b = pb;
    return a->h < b->h ? -1 : a->h > b->h;
}

/* Pairs of the sample are compared a tile at a time: rows A of one tile of
 * U_TILE records against rows B of another, whose columns (a few hundred KB
 * with two 1024-bit filters a record) stay in L2 while the tile's 65k pairs
 * are compared. */
#define U_TILE 256

typedef struct u_job {
    const ctx *c;
    const dl_store *sample;  /* the k sampled records, copied together */
    const dl_comparator *cmp; /* over SAMPLE */
    size_t k, tiles;         /* tiles per side */
    dl_histogram *per_worker;
} u_job;

static dl_status u_task(size_t task, size_t worker, void *payload, dl_error *err)
{
    u_job *j = payload;
    const ctx *c = j->c;
    size_t ta = task / j->tiles, tb = task % j->tiles;
    if (tb < ta)
        return DL_OK; /* each pair of tiles once */
    dl_pair batch[1024];
    uint32_t pat[1024];
    dl_histogram *h = &j->per_worker[worker];
    size_t n = 0;
    (void)err;
    size_t a_end = (ta + 1) * U_TILE < j->k ? (ta + 1) * U_TILE : j->k;
    size_t b_end = (tb + 1) * U_TILE < j->k ? (tb + 1) * U_TILE : j->k;
    for (size_t a = ta * U_TILE; a < a_end; a++) {
        for (size_t b = a + 1 > tb * U_TILE ? a + 1 : tb * U_TILE; b < b_end; b++) {
            if (!dl__pair_allowed(j->sample, c->spec->link_type, c->spine_file, (uint32_t)a,
                                  (uint32_t)b))
                continue;
            batch[n++] = (dl_pair){(uint32_t)a, (uint32_t)b};
            if (n == 1024) {
                dl__compare_many(j->cmp, batch, n, pat);
                for (size_t q = 0; q < n; q++)
                    h->counts[pat[q]]++;
                h->total += n;
                n = 0;
            }
        }
    }
    if (n) {
        dl__compare_many(j->cmp, batch, n, pat);
        for (size_t q = 0; q < n; q++)
            h->counts[pat[q]]++;
        h->total += n;
    }
    return DL_OK;
}

static dl_status estimate_u(ctx *c, dl_error *err)
{
    const dl_store *s = c->store;
    double all = allowed_pairs(c);
    if (all < 1)
        return dl_error_set(err, DL_EINPUT, NULL, 0, 0,
                            "no pair of records can be compared under this link type");
    /* k(k-1)/2 sampled pairs, a share all / (n(n-1)/2) of them allowed. */
    double n = (double)s->n, share = all / (n * (n - 1) / 2);
    double want = (double)c->spec->u_sample / share;
    size_t k = (size_t)ceil((1 + sqrt(1 + 8 * want)) / 2);
    if (k > s->n)
        k = s->n;
    sample_rec *v = malloc(s->n * sizeof *v);
    uint32_t *rec = malloc((k ? k : 1) * sizeof *rec);
    if (!v || !rec) {
        free(v);
        free(rec);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the u sample");
    }
    for (size_t r = 0; r < s->n; r++)
        v[r] = (sample_rec){slf_hash(c->spec->seed, s->slf[r]), (uint32_t)r};
    qsort(v, s->n, sizeof *v, by_hash);
    for (size_t r = 0; r < k; r++)
        rec[r] = v[r].rec;
    free(v);

    size_t nw = dl_workers_count(c->pool);
    uint64_t np = dl__comparator_n_patterns(c->cmp);
    size_t tiles = (k + U_TILE - 1) / U_TILE;
    u_job j = {c, NULL, NULL, k, tiles, calloc(nw, sizeof(dl_histogram))};
    dl_store *sample = NULL;
    dl_comparator *scmp = NULL;
    dl_histogram total = {0};
    dl_status st = j.per_worker ? DL_OK : dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    if (st == DL_OK && (st = dl__store_subset(s, rec, k, &sample, err)) == DL_OK)
        st = dl__comparator_new(c->spec, sample, &scmp, err);
    j.sample = sample;
    j.cmp = scmp;
    for (size_t w = 0; w < nw && st == DL_OK; w++)
        st = dl__histogram_init(&j.per_worker[w], np, err);
    if (st == DL_OK)
        st = dl__histogram_init(&total, np, err);
    if (st == DL_OK)
        st = dl_workers_run(c->pool, tiles * tiles, u_task, &j, err);
    if (st == DL_OK) {
        for (size_t w = 0; w < nw; w++)
            dl__histogram_add(&total, &j.per_worker[w]);
        if (total.total == 0)
            st = dl_error_set(err, DL_EINPUT, NULL, 0, 0,
                              "the random sample for u holds no comparable pair");
    }
    if (st == DL_OK) {
        dl__model_set_u(c->model, c->cmp, &total);
        c->model->u_pairs = total.total;
        uint64_t seen = 0;
        for (uint64_t p = 0; p < np && seen < 2; p++)
            seen += total.counts[p] != 0;
        if (seen == 1 && total.total > 1)
            warn(c, "every one of the %llu sampled pairs of records has the same comparison "
                    "pattern (are the records all alike?): the model cannot tell matches "
                    "from non-matches, and its links mean nothing",
                 (unsigned long long)total.total);
    }
    for (size_t w = 0; w < nw && j.per_worker; w++)
        dl__histogram_free(&j.per_worker[w]);
    free(j.per_worker);
    free(rec);
    dl__comparator_free(scmp);
    dl__store_free(sample);
    dl__histogram_free(&total);
    return st;
}

/* ---- training ------------------------------------------------------------------ */

/* Histograms a one-walk training may hold: (rules + 1) per worker and once
 * more for the sums. Past this (specs with millions of patterns), each
 * training rule gets its own walk, holding two or three at a time. */
#define FUSED_HIST_BYTES ((uint64_t)1 << 29)

/* Whether training can walk the linkage blocking UNION once: its rules are
 * the training rules (no em_rules of their own), their histograms fit, and
 * the blocking can say which rules pair each pair. */
static bool fused_training(const ctx *c, dl_blocking *b)
{
    const dl_spec *s = c->spec;
    uint64_t hists = (uint64_t)(s->n_rules + 1) * (dl_workers_count(c->pool) + 1);
    return s->n_em_rules == 0 && s->n_rules > 0 &&
           hists * dl__comparator_n_patterns(c->cmp) * sizeof(uint64_t) <= FUSED_HIST_BYTES &&
           dl__blocking_set_masks(b, true);
}

/* u from random pairs, then m by EM, one pass per training rule. When the
 * training rules are the blocking rules of UNION, one walk of UNION counts
 * every rule's pairs at once (a pair counts for each rule that pairs it, so
 * each histogram is exactly that rule's own blocking's) and *PAIRS_HIST
 * gets the histogram of all its pairs, which lambda needs next; otherwise
 * each rule is walked on its own and *PAIRS_HIST is left empty. */
static dl_status train(ctx *c, dl_blocking *union_b, dl_histogram *pairs_hist, dl_error *err)
{
    const dl_spec *s = c->spec;
    dl_status st = dl__model_new(s, c->cmp, &c->model, err);
    if (st != DL_OK)
        return st;
    dl_progress_update(c->o->progress, "link: u from random pairs", 0, 0, "pairs");
    stage_begin(c);
    st = estimate_u(c, err);
    stage_end(c, "u_sampling");
    if (st != DL_OK)
        return st;

    const dl_blocking_rule *rules = s->n_em_rules ? s->em_rules : s->rules;
    size_t n_rules = s->n_em_rules ? s->n_em_rules : s->n_rules;
    bool *fixed = calloc(s->n_comparisons ? s->n_comparisons : 1, sizeof *fixed);
    if (!fixed)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    stage_begin(c);
    dl_histogram *fused = NULL;
    if (fused_training(c, union_b)) {
        dl_progress_update(c->o->progress, "link: pairs of every training rule", 0, 0, "pairs");
        fused = new_hists(n_rules, dl__comparator_n_patterns(c->cmp), err);
        st = fused ? blocked_histogram(c, union_b, pairs_hist, fused, err) : DL_ENOMEM;
        dl__blocking_set_masks(union_b, false);
    }
    for (size_t r = 0; r < n_rules && st == DL_OK; r++) {
        char text[256];
        dl__rule_text(s, &rules[r], text, sizeof text);
        dl_progress_update(c->o->progress, "link: EM", r, n_rules, "rules");
        dl_blocking *b = NULL;
        dl_histogram h = {0};
        if (fused) {
            h = fused[r];
            fused[r] = (dl_histogram){0};
        } else {
            st = dl__blocking_new(c->store, s, &rules[r], 1, false, 0, &b, err);
            if (st == DL_OK)
                st = blocked_histogram(c, b, &h, NULL, err);
        }
        if (st == DL_OK) {
            dl__rule_fixed_comparisons(s, &rules[r], fixed);
            if (h.total == 0)
                warn(c, "training rule '%s' made no pairs: it was left out of EM", text);
            else
                st = dl__em_pass(c->model, c->cmp, &h, fixed, text, s->max_iterations,
                                 s->tolerance, err);
        }
        dl__histogram_free(&h);
        dl__blocking_free(b);
    }
    free_hists(fused, n_rules);
    free(fixed);
    stage_end(c, "em");
    return st;
}

/* ---- term frequencies ------------------------------------------------------ */

static dl_status build_tf(ctx *c, dl_error *err)
{
    const dl_spec *s = c->spec;
    size_t nc = s->n_comparisons;
    c->tf = calloc(nc ? nc : 1, sizeof *c->tf);
    c->tf_col = calloc(nc ? nc : 1, sizeof *c->tf_col);
    c->tf_level = calloc(nc ? nc : 1, sizeof *c->tf_level);
    if (!c->tf || !c->tf_col || !c->tf_level)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t k = 0; k < nc; k++) {
        const dl_spec_comparison *cmp = &s->comparisons[k];
        c->tf_col[k] = -1;
        if (!cmp->has_tf)
            continue;
        /* The adjustment applies where the pair agrees exactly on the tf
         * feature: the first `exact` level on it. */
        for (size_t l = 0; l < cmp->n_levels && !c->tf_level[k]; l++)
            if (cmp->levels[l].kind == DL_LV_EXACT &&
                cmp->levels[l].terms[0].field == cmp->tf_feature.field &&
                cmp->levels[l].terms[0].kind == cmp->tf_feature.kind)
                c->tf_level[k] = (unsigned)l + 1;
        int col = dl__store_col(c->store, cmp->tf_feature);
        if (!c->tf_level[k] || col < 0) {
            warn(c, "comparison '%s': tf needs an exact level on its tf feature; no adjustment",
                 cmp->name);
            continue;
        }
        const dl_store_col *sc = &c->store->cols[col];
        dl_status st = dl__tf_build(sc->tok, c->store->n, sc->stride, &c->tf[k], err);
        if (st != DL_OK)
            return st;
        c->tf_col[k] = col;
    }
    return DL_OK;
}

/* A table of weights by pattern costs 8 bytes a pattern and saves a log2 per
 * comparison per pair; past 2^22 patterns (32 MiB) weights are computed. */
#define WTABLE_MAX ((uint64_t)1 << 22)

static dl_status build_wtable(ctx *c, dl_error *err)
{
    uint64_t np = dl__comparator_n_patterns(c->cmp);
    if (np > WTABLE_MAX)
        return DL_OK;
    c->wtable = malloc(np * sizeof *c->wtable);
    if (!c->wtable)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the weight table");
    dl__model_weight_table(c->model, c->wtable);
    return DL_OK;
}

static double pair_weight(const ctx *c, const dl_pair *p, uint32_t pattern)
{
    double w = c->wtable ? c->wtable[pattern] : dl__model_weight(c->model, c->cmp, pattern);
    for (size_t k = 0; k < c->spec->n_comparisons; k++) {
        if (c->tf_col[k] < 0 || dl__pattern_value(c->cmp, pattern, k) != c->tf_level[k])
            continue;
        const dl_store_col *sc = &c->store->cols[c->tf_col[k]];
        w += dl__tf_adjust(c->model, k, c->tf[k], sc->tok[(size_t)p->i * sc->stride]);
    }
    return w;
}

/* ---- scoring ------------------------------------------------------------------- */

typedef struct task_links {
    dl_link *v;
    size_t n, cap;
    uint64_t scored;
    uint64_t whist[WBINS + 2];
} task_links;

typedef struct score_job {
    ctx *c;
    const dl_blocking *b;
    task_links *tasks;
    uint64_t **rule_pairs;
    uint32_t **scratch;
    double review_w;             /* weight of the review threshold */
} score_job;

typedef struct score_state {
    score_job *job;
    task_links *out;
    size_t worker;
} score_state;

static double weight_of_prob(double p)
{
    return log2(p / (1 - p));
}

static dl_status score_pairs(const dl_pair *pairs, const uint64_t *masks, size_t n,
                            void *payload, dl_error *err)
{
    (void)masks;
    score_state *s = payload;
    const ctx *c = s->job->c;
    uint32_t *pat = s->job->scratch[s->worker];
    task_links *out = s->out;
    dl__compare_many(c->cmp, pairs, n, pat);
    for (size_t k = 0; k < n; k++) {
        double w = pair_weight(c, &pairs[k], pat[k]);
        int bin = w < WMIN ? 0 : (int)((w - WMIN) / WSTEP) + 1;
        out->whist[bin > WBINS ? WBINS + 1 : bin]++;
        if (w < s->job->review_w)
            continue;
        if (out->n == out->cap) {
            size_t cap = out->cap ? out->cap * 2 : 1024;
            dl_link *v = realloc(out->v, cap * sizeof *v);
            if (!v)
                return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for links");
            out->v = v;
            out->cap = cap;
        }
        out->v[out->n++] = (dl_link){pairs[k].i, pairs[k].j, pat[k], w};
    }
    out->scored += n;
    return DL_OK;
}

static dl_status score_task(size_t task, size_t worker, void *payload, dl_error *err)
{
    score_job *j = payload;
    score_state s = {j, &j->tasks[task], worker};
    return dl__blocking_task(j->b, task, score_pairs, &s, j->rule_pairs[worker], err);
}

typedef struct scored {
    dl_link *links;          /* every pair at or above the review threshold, task order */
    size_t n;
    uint64_t pairs;
    uint64_t whist[WBINS + 2];
} scored;

static dl_status score(ctx *c, dl_blocking *b, scored *out, dl_error *err)
{
    size_t nt = dl__blocking_n_tasks(b), nw = dl_workers_count(c->pool);
    size_t nr = dl__blocking_n_rules(b);
    score_job j = {c, b, calloc(nt ? nt : 1, sizeof(task_links)), calloc(nw, sizeof(uint64_t *)),
                   calloc(nw, sizeof(uint32_t *)), weight_of_prob(c->spec->review_threshold)};
    dl_status st = DL_OK;
    if (!j.tasks || !j.rule_pairs || !j.scratch)
        st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t w = 0; w < nw && st == DL_OK; w++) {
        j.rule_pairs[w] = calloc(nr ? nr : 1, sizeof(uint64_t));
        j.scratch[w] = malloc(DL_BLOCK_BATCH * sizeof(uint32_t));
        if (!j.rule_pairs[w] || !j.scratch[w])
            st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    if (st == DL_OK)
        st = dl_workers_run(c->pool, nt, score_task, &j, err);
    size_t total = 0;
    for (size_t t = 0; st == DL_OK && t < nt; t++)
        total += j.tasks[t].n;
    if (st == DL_OK) {
        out->links = malloc((total ? total : 1) * sizeof *out->links);
        if (!out->links)
            st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for links");
    }
    for (size_t t = 0; st == DL_OK && t < nt; t++) {
        if (j.tasks[t].n) /* an empty task's buffer is NULL */
            memcpy(out->links + out->n, j.tasks[t].v, j.tasks[t].n * sizeof *out->links);
        out->n += j.tasks[t].n;
        out->pairs += j.tasks[t].scored;
        for (size_t k = 0; k < WBINS + 2; k++)
            out->whist[k] += j.tasks[t].whist[k];
    }
    if (st == DL_OK)
        for (size_t w = 0; w < nw; w++)
            dl__blocking_add_pairs(b, j.rule_pairs[w]);
    for (size_t t = 0; t < nt && j.tasks; t++)
        free(j.tasks[t].v);
    for (size_t w = 0; w < nw; w++) {
        if (j.rule_pairs)
            free(j.rule_pairs[w]);
        if (j.scratch)
            free(j.scratch[w]);
    }
    free(j.tasks);
    free(j.rule_pairs);
    free(j.scratch);
    return st;
}

/* ---- outputs -------------------------------------------------------------------- */

typedef struct out_file {
    char path[4200];
    dl_outfile *f;
    dl_csv_writer *w;
    dl_outfile_info info;
    uint64_t rows;
} out_file;

static dl_status open_out(const ctx *c, out_file *o, const char *name, dl_error *err)
{
    snprintf(o->path, sizeof o->path, "%s/%s", c->o->outdir, name);
    dl_status st = dl_outfile_create(o->path, 0644, &o->f, err);
    /* SLFs in hex and numbers: dolen's own encoder, faster there, and its
     * bytes cannot vary from run to run (ISA-L's once did). */
    dl_csv_wopts wo = DL_CSV_WOPTS_INIT;
    wo.tokens = true;
    if (st == DL_OK && strstr(name, ".csv"))
        st = dl_csv_writer_open(o->f, &wo, &o->w, err);
    return st;
}

static void abort_out(out_file *o)
{
    dl_csv_writer_free(o->w);
    o->w = NULL;
    dl_outfile_abort(o->f);
    o->f = NULL;
}

/* A probability as "%.9f" writes it. Most are within 5e-10 of 1 (links) or
 * of 0 (records without one), which print as 1.000000000 and 0.000000000:
 * those skip printf, which would otherwise cost a good share of writing the
 * outputs; the margin keeps clear of the rounding boundary at 5e-10. */
static void prob_text(double p, char out[32])
{
    if (p >= 0.99999999951 && p <= 1.0)
        memcpy(out, "1.000000000", 12);
    else if (p >= 0.0 && p <= 4.9e-10)
        memcpy(out, "0.000000000", 12);
    else
        snprintf(out, 32, "%.9f", p);
}

static void slf_hex(const dl_store *s, uint32_t r, char out[33])
{
    dl_hex_encode(s->slf[r], 16, out);
    out[32] = '\0';
}

/* Pattern as its comparison values joined by '-', comparison 0 first. */
static void pattern_text(const ctx *c, uint32_t p, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t k = 0; k < dl__comparator_n_comparisons(c->cmp) && used + 4 < size; k++)
        used += (size_t)snprintf(out + used, size - used, "%s%u", k ? "-" : "",
                                 dl__pattern_value(c->cmp, p, k));
}

/* Links are written strongest first; ties by the SLFs of the pair, so the
 * order depends on the data only (not on file order or threads). The sort
 * keys carry the SLFs, as qsort passes no context. */
typedef struct link_key {
    double weight;
    uint8_t a[16], b[16];
    size_t k;
} link_key;

static int by_weight(const void *pa, const void *pb)
{
    const link_key *a = pa, *b = pb;
    if (a->weight != b->weight)
        return a->weight > b->weight ? -1 : 1;
    int x = memcmp(a->a, b->a, 16);
    return x ? x : memcmp(a->b, b->b, 16);
}

static bool sort_links(const dl_store *s, dl_link *v, size_t n)
{
    link_key *keys = malloc((n ? n : 1) * sizeof *keys);
    dl_link *copy = malloc((n ? n : 1) * sizeof *copy);
    if (!keys || !copy) {
        free(keys);
        free(copy);
        return false;
    }
    for (size_t k = 0; k < n; k++) {
        keys[k].weight = v[k].weight;
        memcpy(keys[k].a, s->slf[v[k].i], 16);
        memcpy(keys[k].b, s->slf[v[k].j], 16);
        keys[k].k = k;
    }
    qsort(keys, n, sizeof *keys, by_weight);
    memcpy(copy, v, n * sizeof *v);
    for (size_t k = 0; k < n; k++)
        v[k] = copy[keys[k].k];
    free(keys);
    free(copy);
    return true;
}

static dl_status write_pairs(const ctx *c, out_file *o, const scored *sc, bool links,
                             dl_error *err)
{
    const char *h[7] = {"dataset_a", "slf_a", "dataset_b", "slf_b", "match_weight",
                        "match_probability", "pattern"};
    dl_status st = dl_csv_write_row(o->w, 7, h, NULL, err);
    double match_w = weight_of_prob(c->spec->match_threshold);
    for (size_t k = 0; k < sc->n && st == DL_OK; k++) {
        const dl_link *l = &sc->links[k];
        if ((l->weight >= match_w) != links)
            continue;
        char sa[33], sb[33], pt[256], wt[32], pr[32];
        slf_hex(c->store, l->i, sa);
        slf_hex(c->store, l->j, sb);
        pattern_text(c, l->pattern, pt, sizeof pt);
        snprintf(wt, sizeof wt, "%.6f", l->weight);
        prob_text(dl__prob(l->weight), pr);
        const char *row[7] = {c->store->files[c->store->file_of[l->i]].dataset, sa,
                              c->store->files[c->store->file_of[l->j]].dataset, sb, wt, pr, pt};
        st = dl_csv_write_row(o->w, 7, row, NULL, err);
        o->rows++;
    }
    return st;
}

typedef struct clusters {
    uint32_t *cluster;
    double *best;
    uint64_t *alf;
    uint64_t n_clusters, largest;
    uint64_t sizes[33];      /* [k] clusters of size k; [32] = 32 or more */
} clusters;

static dl_status make_clusters(ctx *c, const scored *sc, clusters *cl, dl_error *err)
{
    const dl_store *s = c->store;
    double match_w = weight_of_prob(c->spec->match_threshold);
    size_t n_links = 0;
    dl_link *links = malloc((sc->n ? sc->n : 1) * sizeof *links);
    cl->cluster = malloc((s->n ? s->n : 1) * sizeof *cl->cluster);
    cl->best = malloc((s->n ? s->n : 1) * sizeof *cl->best);
    cl->alf = malloc((s->n ? s->n : 1) * sizeof *cl->alf);
    if (!links || !cl->cluster || !cl->best || !cl->alf) {
        free(links);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for clusters");
    }
    for (size_t k = 0; k < sc->n; k++)
        if (sc->links[k].weight >= match_w)
            links[n_links++] = sc->links[k];
    dl_status st = dl__cluster(s, c->spec->cluster, c->spine_file, links, n_links, cl->cluster,
                               cl->best, err);
    free(links);
    if (st == DL_OK)
        st = dl__cluster_alfs(s, c->spec->cluster, cl->cluster, cl->alf, err);
    size_t largest = 0;
    if (st == DL_OK)
        st = dl__cluster_sizes(cl->cluster, s->n, cl->sizes, 32, &largest, err);
    if (st == DL_OK) {
        cl->largest = largest;
        for (size_t k = 1; k <= 32; k++)
            cl->n_clusters += cl->sizes[k];
    }
    return st;
}

static dl_status write_clusters(const ctx *c, out_file *o, const clusters *cl, dl_error *err)
{
    const char *h[4] = {"dataset", "slf", "alf", "match_probability"};
    dl_status st = dl_csv_write_row(o->w, 4, h, NULL, err);
    for (size_t r = 0; r < c->store->n && st == DL_OK; r++) {
        char slf[33], alf[24], pr[32];
        slf_hex(c->store, (uint32_t)r, slf);
        alf[dl_dec_u64(cl->alf[r], alf)] = '\0';
        prob_text(cl->best[r], pr);
        const char *row[4] = {c->store->files[c->store->file_of[r]].dataset, slf, alf, pr};
        st = dl_csv_write_row(o->w, 4, row, NULL, err);
        o->rows++;
    }
    return st;
}

static size_t peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (size_t)ru.ru_maxrss;
}

static void report_rules(dl_json_writer *jw, const dl_blocking *b)
{
    dl_jw_array(jw);
    for (size_t r = 0; r < dl__blocking_n_rules(b); r++) {
        const dl_rule_stats *st = dl__blocking_stats(b, r);
        dl_jw_object(jw);
        dl_jw_key(jw, "rule");
        dl_jw_string(jw, st->text);
        dl_jw_key(jw, "pairs");
        dl_jw_uint(jw, st->pairs);
        dl_jw_key(jw, "records_keyed");
        dl_jw_uint(jw, st->records_keyed);
        dl_jw_key(jw, "blocks");
        dl_jw_uint(jw, st->blocks);
        dl_jw_key(jw, "largest_block");
        dl_jw_uint(jw, st->largest_block);
        dl_jw_key(jw, "oversize_blocks");
        dl_jw_uint(jw, st->oversize_blocks);
        dl_jw_key(jw, "oversize_records");
        dl_jw_uint(jw, st->oversize_records);
        dl_jw_object_end(jw);
    }
    dl_jw_array_end(jw);
}

static dl_status write_report(ctx *c, const dl_blocking *b, const scored *sc,
                              const clusters *cl, const dl_link_result *res, out_file *o,
                              dl_error *err)
{
    const dl_spec *s = c->spec;
    dl_buf text = DL_BUF_INIT;
    dl_json_writer jw;
    dl_jw_init(&jw, &text);
    dl_jw_object(&jw);
    dl_jw_key(&jw, "tool");
    dl_jw_string(&jw, "dolen " DL_VERSION);
    dl_jw_key(&jw, "link_type");
    static const char *const lt[] = {"dedupe", "link", "link_and_dedupe", "spine"};
    dl_jw_string(&jw, lt[s->link_type]);
    dl_jw_key(&jw, "spec_hash");
    dl_jw_string(&jw, c->store->spec_hash);
    dl_jw_key(&jw, "key_fingerprint");
    dl_jw_string(&jw, c->store->key_fingerprint);
    dl_jw_key(&jw, "datasets");
    dl_jw_array(&jw);
    for (size_t f = 0; f < c->store->n_files; f++) {
        dl_jw_object(&jw);
        dl_jw_key(&jw, "name");
        dl_jw_string(&jw, c->store->files[f].dataset);
        dl_jw_key(&jw, "records");
        dl_jw_uint(&jw, c->store->files[f].n);
        dl_jw_object_end(&jw);
    }
    dl_jw_array_end(&jw);
    dl_jw_key(&jw, "records");
    dl_jw_uint(&jw, c->store->n);
    dl_jw_key(&jw, "blocking");
    report_rules(&jw, b);
    dl_jw_key(&jw, "pairs_scored");
    dl_jw_uint(&jw, sc->pairs);
    dl_jw_key(&jw, "model");
    dl_jw_object(&jw);
    dl_jw_key(&jw, "lambda");
    dl_jw_double(&jw, c->model->lambda);
    dl_jw_key(&jw, "trained");
    dl_jw_bool(&jw, c->model->trained);
    dl_jw_key(&jw, "u_pairs");
    dl_jw_uint(&jw, c->model->u_pairs);
    dl_jw_key(&jw, "em_passes");
    dl_jw_array(&jw);
    for (size_t p = 0; p < c->model->n_passes; p++) {
        const dl_em_pass *ps = &c->model->passes[p];
        dl_jw_object(&jw);
        dl_jw_key(&jw, "rule");
        dl_jw_string(&jw, ps->rule);
        dl_jw_key(&jw, "pairs");
        dl_jw_uint(&jw, ps->pairs);
        dl_jw_key(&jw, "iterations");
        dl_jw_uint(&jw, ps->iterations);
        dl_jw_key(&jw, "converged");
        dl_jw_bool(&jw, ps->converged);
        dl_jw_key(&jw, "lambda");
        dl_jw_double(&jw, ps->lambda);
        dl_jw_object_end(&jw);
    }
    dl_jw_array_end(&jw);
    dl_jw_object_end(&jw);
    dl_jw_key(&jw, "thresholds");
    dl_jw_object(&jw);
    dl_jw_key(&jw, "match");
    dl_jw_double(&jw, s->match_threshold);
    dl_jw_key(&jw, "review");
    dl_jw_double(&jw, s->review_threshold);
    dl_jw_object_end(&jw);
    dl_jw_key(&jw, "links");
    dl_jw_uint(&jw, res->links);
    dl_jw_key(&jw, "review_pairs");
    dl_jw_uint(&jw, res->review);
    dl_jw_key(&jw, "weight_histogram");
    dl_jw_object(&jw);
    dl_jw_key(&jw, "min");
    dl_jw_double(&jw, WMIN);
    dl_jw_key(&jw, "step");
    dl_jw_double(&jw, WSTEP);
    dl_jw_key(&jw, "below_min");
    dl_jw_uint(&jw, sc->whist[0]);
    dl_jw_key(&jw, "counts");
    dl_jw_array(&jw);
    for (size_t k = 1; k <= WBINS; k++)
        dl_jw_uint(&jw, sc->whist[k]);
    dl_jw_array_end(&jw);
    dl_jw_key(&jw, "above_max");
    dl_jw_uint(&jw, sc->whist[WBINS + 1]);
    dl_jw_object_end(&jw);
    dl_jw_key(&jw, "clusters");
    dl_jw_object(&jw);
    dl_jw_key(&jw, "count");
    dl_jw_uint(&jw, cl->n_clusters);
    dl_jw_key(&jw, "largest");
    dl_jw_uint(&jw, cl->largest);
    dl_jw_key(&jw, "size_histogram");
    dl_jw_object(&jw);
    for (size_t k = 1; k <= 32; k++) {
        if (!cl->sizes[k])
            continue;
        char key[16];
        snprintf(key, sizeof key, k == 32 ? "%zu+" : "%zu", k);
        dl_jw_key(&jw, key);
        dl_jw_uint(&jw, cl->sizes[k]);
    }
    dl_jw_object_end(&jw);
    dl_jw_object_end(&jw);
    /* Timings and memory differ from run to run: the report is the one
     * output that is not byte-identical, and says so by its keys. */
    dl_jw_key(&jw, "seconds_per_stage");
    dl_jw_object(&jw);
    for (size_t k = 0; k < c->n_stages; k++) {
        dl_jw_key(&jw, c->stages[k].name);
        dl_jw_double(&jw, round(c->stages[k].seconds * 1000) / 1000);
    }
    dl_jw_object_end(&jw);
    dl_jw_key(&jw, "peak_rss_mb");
    dl_jw_double(&jw, round((double)peak_rss_kb() / 1024.0 * 10) / 10);
    dl_jw_key(&jw, "store_mb");
    dl_jw_double(&jw, round((double)c->store->bytes / 1048576.0 * 10) / 10);
    dl_jw_key(&jw, "warnings");
    dl_jw_array(&jw);
    /* The run's own warnings first: they say what matters most. */
    const dl_buf *ws[2] = {&c->warnings, &c->model->warnings};
    for (int k = 0; k < 2; k++) {
        const char *p = ws[k]->data ? ws[k]->data : "";
        while (*p) {
            size_t n = strcspn(p, "\n");
            dl_jw_string_n(&jw, p, n);
            p += n + (p[n] == '\n');
        }
    }
    dl_jw_array_end(&jw);
    dl_jw_object_end(&jw);
    dl_status st = dl_jw_finish(&jw, err);
    if (st == DL_OK)
        st = dl_outfile_write(o->f, text.data, text.len, err);
    dl_buf_free(&text);
    return st;
}

/* ---- the run ---------------------------------------------------------------------- */

enum { O_LINKS, O_REVIEW, O_CLUSTERS, O_REPORT, N_OUT };
static const char *const out_names[N_OUT] = {"links.csv.gz", "review.csv.gz", "clusters.csv.gz",
                                             "link-report.json"};

static dl_status commit_all(ctx *c, out_file *outs, dl_error *err)
{
    dl_manifest *m = NULL;
    dl_status st = dl_manifest_new("link", &m, err);
    if (st == DL_OK)
        st = dl_manifest_set_spec_hash(m, c->store->spec_hash, err);
    if (st == DL_OK)
        st = dl_manifest_set_key_fingerprint(m, c->store->key_fingerprint, err);
    for (size_t f = 0; f < c->store->n_files && st == DL_OK; f++) {
        uint8_t sha[32];
        st = dl_sha256_file(c->store->files[f].path, sha, err);
        if (st == DL_OK)
            st = dl_manifest_add_input(m, c->store->files[f].path, c->store->files[f].n, sha,
                                       err);
    }
    for (int k = 0; k < N_OUT && st == DL_OK; k++) {
        if (outs[k].w)
            st = dl_csv_writer_close(outs[k].w, err);
        outs[k].w = NULL;
        if (st == DL_OK)
            st = dl_outfile_commit(outs[k].f, &outs[k].info, err);
        outs[k].f = NULL;
        if (st == DL_OK)
            st = dl_manifest_add_output(m, out_names[k],
                                        k == O_REPORT ? DL_MANIFEST_NO_ROWS : outs[k].rows,
                                        &outs[k].info, err);
    }
    if (st == DL_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/model.yaml", c->o->outdir);
        st = dl__model_write(c->model, path, err);
        if (st == DL_OK) {
            uint8_t sha[32];
            uint64_t bytes;
            st = dl_sha256_file_size(path, sha, &bytes, err);
            dl_outfile_info info = {bytes, {0}};
            memcpy(info.sha256, sha, 32);
            if (st == DL_OK)
                st = dl_manifest_add_output(m, "model.yaml", DL_MANIFEST_NO_ROWS, &info, err);
        }
    }
    if (st == DL_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/link.manifest.json", c->o->outdir);
        st = dl_manifest_write(m, path, NULL, err);
    }
    dl_manifest_free(m);
    return st;
}

static void free_ctx(ctx *c)
{
    if (c->tf)
        for (size_t k = 0; k < c->spec->n_comparisons; k++)
            dl__tf_free(c->tf[k]);
    free(c->tf);
    free(c->tf_col);
    free(c->tf_level);
    free(c->wtable);
    dl__model_free(c->model);
    dl__comparator_free(c->cmp);
    dl__store_free(c->store);
    dl_workers_free(c->pool);
    dl_buf_free(&c->warnings);
}

dl_status dl_link_run(const dl_link_opts *o, dl_link_result *res, dl_error *err)
{
    dl_link_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    uint64_t t0 = dl_now_ns();
    const dl_spec *s = o->spec;
    if (s->n_comparisons == 0 || s->n_rules == 0)
        return dl_error_set(err, DL_EINPUT, s->path, 0, 0,
                            "the spec has no comparisons or no blocking rules: nothing to link");
    struct stat sb;
    if (stat(o->outdir, &sb) != 0 && mkdir(o->outdir, 0755) != 0)
        return dl_error_os(err, DL_EIO, errno, o->outdir, "cannot create the output folder");

    ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.spec = s;
    c.spine_file = -1;
    out_file outs[N_OUT];
    memset(outs, 0, sizeof outs);
    dl_blocking *b = NULL;
    scored sc;
    memset(&sc, 0, sizeof sc);
    clusters cl;
    memset(&cl, 0, sizeof cl);
    dl_status st = DL_OK;

    c.pool = dl_workers_new(o->threads);
    if (!c.pool)
        st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "cannot start worker threads");
    if (st == DL_OK) {
        stage_begin(&c);
        st = dl__store_load(s, o->n_inputs, o->inputs, c.pool, o->progress, &c.store, err);
        stage_end(&c, "load");
    }
    if (st == DL_OK && s->link_type == DL_LINK_SPINE) {
        for (size_t f = 0; f < c.store->n_files; f++)
            if (s->spine && strcmp(c.store->files[f].dataset, s->spine) == 0)
                c.spine_file = (int)f;
        if (c.spine_file < 0)
            st = dl_error_set(err, DL_EINPUT, s->path, 0, 0,
                              "the spine dataset '%s' is not among the inputs",
                              s->spine ? s->spine : "");
    }
    if (st == DL_OK && s->link_type == DL_LINK_LINK && c.store->n_files < 2)
        st = dl_error_set(err, DL_EINPUT, s->path, 0, 0,
                          "link type 'link' needs two or more input files");
    if (st == DL_OK)
        st = dl__comparator_new(s, c.store, &c.cmp, err);
    if (st == DL_OK) {
        stage_begin(&c);
        st = dl__blocking_new(c.store, s, s->rules, s->n_rules, true, 0, &b, err);
        stage_end(&c, "blocking");
    }
    /* The histogram of every blocked pair: training may make it on the way. */
    dl_histogram h = {0};
    if (st == DL_OK) {
        if (o->model_path) {
            st = dl__model_load(s, c.cmp, o->model_path, &c.model, err);
        } else {
            st = train(&c, b, &h, err);
        }
    }
    if (st == DL_OK)
        st = build_tf(&c, err);
    if (st == DL_OK && c.model->trained) {
        /* Lambda: the matches EM expects among all scored pairs, as a share
         * of every pair the link type allows. */
        stage_begin(&c);
        if (!h.counts)
            st = blocked_histogram(&c, b, &h, NULL, err);
        if (st == DL_OK) {
            double expected = dl__model_expected_matches(c.model, c.cmp, &h);
            dl__model_finish(c.model, expected, allowed_pairs(&c));
        }
        dl__histogram_free(&h);
        /* The pairs were counted in this pass; scoring counts them again. */
        dl__blocking_reset_pairs(b);
        stage_end(&c, "lambda");
    }
    if (st == DL_OK)
        st = build_wtable(&c, err); /* after lambda is final: it is in every weight */
    if (st == DL_OK) {
        dl_progress_update(o->progress, "link: scoring", 0, 0, "pairs");
        stage_begin(&c);
        st = score(&c, b, &sc, err);
        stage_end(&c, "score");
    }
    if (st == DL_OK) {
        stage_begin(&c);
        st = make_clusters(&c, &sc, &cl, err);
        stage_end(&c, "cluster");
    }
    if (st == DL_OK) {
        double match_w = weight_of_prob(s->match_threshold);
        for (size_t k = 0; k < sc.n; k++) {
            if (sc.links[k].weight >= match_w)
                res->links++;
            else
                res->review++;
        }
        if (res->links == 0 && sc.pairs > 0)
            warn(&c, "none of the %llu scored pairs reached the match threshold %g: no links",
                 (unsigned long long)sc.pairs, s->match_threshold);
        res->records = c.store->n;
        res->pairs_scored = sc.pairs;
        res->clusters = cl.n_clusters;
        res->largest_cluster = cl.largest;
        res->lambda = c.model->lambda;
        for (int k = 0; k < N_OUT && st == DL_OK; k++)
            st = open_out(&c, &outs[k], out_names[k], err);
    }
    if (st == DL_OK) {
        stage_begin(&c);
        if (!sort_links(c.store, sc.links, sc.n))
            st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory sorting links");
        if (st == DL_OK)
            st = write_pairs(&c, &outs[O_LINKS], &sc, true, err);
        if (st == DL_OK)
            st = write_pairs(&c, &outs[O_REVIEW], &sc, false, err);
        if (st == DL_OK)
            st = write_clusters(&c, &outs[O_CLUSTERS], &cl, err);
        stage_end(&c, "write");
    }
    if (st == DL_OK)
        st = write_report(&c, b, &sc, &cl, res, &outs[O_REPORT], err);
    if (st == DL_OK)
        st = commit_all(&c, outs, err);
    for (int k = 0; k < N_OUT; k++)
        abort_out(&outs[k]);
    if (st == DL_OK) {
        const char *p = c.warnings.data ? c.warnings.data : "";
        for (; *p; p++)
            res->warnings += *p == '\n';
        p = c.model->warnings.data ? c.model->warnings.data : "";
        for (; *p; p++)
            res->warnings += *p == '\n';
        dl_progress_done(o->progress, "link", sc.pairs, 0, "pairs");
    }
    res->threads = c.pool ? dl_workers_count(c.pool) : 0;
    res->seconds = (double)(dl_now_ns() - t0) / 1e9;
    free(sc.links);
    free(cl.cluster);
    free(cl.best);
    free(cl.alf);
    dl__histogram_free(&h); /* when an error came between training and lambda */
    dl__blocking_free(b);
    free_ctx(&c);
    return st;
}
