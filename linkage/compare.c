/* compare.c: turns a pair of records into a comparison pattern (one level per
 * comparison, packed in mixed radix). Part of linkage/; link.c feeds it the
 * candidate pairs of block.c and the random pairs behind u, and the model
 * turns the patterns into weights. docs/comparisons.md is the user's view. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

/* A dense histogram needs 8 bytes a pattern: 2^24 patterns is 128 MiB per
 * histogram, and link keeps one per worker and per EM pass. More patterns
 * would also mean most of them are never seen, and EM over empty cells
 * learns nothing. */
#define MAX_PATTERNS (UINT64_C(1) << 24)

/* Dice thresholds are taken to nine decimal places and compared in integers:
 * 2 * 10^9 * |A and B| >= T * (|A| + |B|), T = round(t * 10^9). A Dice that
 * equals a decimal threshold such as 0.9 exactly (2 * 9 / 20) is then met,
 * which a comparison of doubles cannot promise (0.9 is not a binary
 * fraction), and no float is involved per pair, so every kernel and
 * compiler gives the same level. Filters hold at most 2 * 65536 bits, so the
 * products stay below 2^49. */
#define DICE_SCALE UINT64_C(1000000000)

/* Pairs ahead whose rows are prefetched. Candidate pairs from big blocks or
 * random pairs for u touch rows all over the store; each row of each column
 * is a cache miss, and eight pairs ahead leaves time for ~20 columns' misses
 * to overlap. */
#define PREFETCH_AHEAD 8

enum level_kind {
    LV_EXACT1,   /* one token per record */
    LV_EXACTSET, /* token sets */
    LV_DICE,
    LV_COUNT,
};

typedef struct tok_col {
    const uint64_t *tok;
    unsigned stride;
} tok_col;

/* One spec level, with its column pointers resolved. */
typedef struct clevel {
    uint8_t kind;
    uint8_t n_terms;   /* count */
    uint8_t min_count; /* count */
    tok_col col;       /* exact */
    const uint64_t *bits; /* dice */
    const uint32_t *pop;
    size_t words;
    uint64_t thr;      /* dice: round(t * DICE_SCALE) */
    tok_col terms[DL_SPEC_MAX_COUNT_TERMS]; /* count */
} clevel;

typedef struct ccomp {
    uint32_t radix;
    uint32_t n_levels;  /* spec levels (values 1..n_levels; n_levels + 1 = else) */
    uint32_t first;     /* index of its first level in dl_comparator.levels */
    bool null_filter;   /* null_if is a filter column (pop 0 = missing) */
    tok_col null_tok;
    const uint32_t *null_pop;
} ccomp;

/* One row array to prefetch: row r starts at base + r * row_bytes and spans
 * LINES cache lines. */
typedef struct prefetch {
    const char *base;
    size_t row_bytes;
    unsigned lines;
} prefetch;

struct dl_comparator {
    size_t n_comp;
    ccomp *comp;
    clevel *levels;
    uint64_t n_patterns;
    size_t n_pf;
    prefetch *pf;
};

/* ---- construction ----------------------------------------------------- */

/* What dl__store_col answers, read from the table it answers from, so that
 * the comparator (and hand-built stores in tests and benchmarks) need nothing
 * of the loader but the store's documented layout. */
static int col_index(const dl_store *s, dl_feature_ref r)
{
    if (r.field >= DL_SPEC_MAX_FIELDS || (unsigned)r.kind >= DL_FEAT__COUNT)
        return -1;
    int c = s->col_of[r.field][r.kind];
    return c >= 0 && (size_t)c < s->n_cols ? c : -1;
}

static const char *ref_name(const dl_spec *spec, dl_feature_ref r, char *buf, size_t size)
{
    const char *field = r.field < spec->n_fields ? spec->fields[r.field].name : "?";
    snprintf(buf, size, "%s.%s", field, dl_feature_name(r.kind));
    return buf;
}

/* Resolve REF of comparison CMP to a loaded column; refuse a missing one. */
static dl_status resolve(const dl_spec *spec, const dl_store *s, const dl_spec_comparison *cmp,
                         dl_feature_ref ref, const dl_store_col **out, dl_error *err)
{
    int c = col_index(s, ref);
    if (c < 0) {
        char r[96];
        return dl_error_set(err, DL_EINPUT, spec->path, cmp->line, cmp->col,
                            "comparison '%s' uses feature '%s', which the loaded ids files "
                            "do not hold (expected a column '%s' in every ids file)",
                            cmp->name, ref_name(spec, ref, r, sizeof r), r);
    }
    *out = &s->cols[c];
    return DL_OK;
}

static dl_status want_tokens(const dl_spec *spec, const dl_spec_comparison *cmp, size_t lv,
                             dl_feature_ref ref, const dl_store_col *col, const char *kind,
                             dl_error *err)
{
    if (!col->filter && col->stride >= 1 && col->stride <= DL_TOKEN_SET_MAX && col->tok)
        return DL_OK;
    char r[96];
    ref_name(spec, ref, r, sizeof r);
    if (col->filter)
        return dl_error_set(err, DL_EINPUT, spec->path, cmp->line, cmp->col,
                            "comparison '%s', level %zu: %s compares tokens, and '%s' is a "
                            "Bloom filter (use a dice level, e.g. min: 1 for identical "
                            "filters)",
                            cmp->name, lv + 1, kind, r);
    return dl_error_set(err, DL_EINTERNAL, spec->path, cmp->line, cmp->col,
                        "comparison '%s', level %zu: column '%s' has no tokens (expected "
                        "1 to %d a record)",
                        cmp->name, lv + 1, r, DL_TOKEN_SET_MAX);
}

static void add_prefetch(dl_comparator *c, const void *base, size_t row_bytes)
{
    for (size_t i = 0; i < c->n_pf; i++)
        if (c->pf[i].base == base)
            return;
    /* A long filter (many lines) is mostly read after the first lines have
     * arrived; prefetching two is enough to start the stream. */
    unsigned lines = (unsigned)((row_bytes + 63) / 64);
    c->pf[c->n_pf++] = (prefetch){base, row_bytes, lines > 2 ? 2 : lines};
}

static void add_col_prefetch(dl_comparator *c, const dl_store_col *col)
{
    if (col->filter) {
        add_prefetch(c, col->bits, col->words * sizeof(uint64_t));
        add_prefetch(c, col->pop, sizeof(uint32_t));
    } else {
        add_prefetch(c, col->tok, col->stride * sizeof(uint64_t));
    }
}

static dl_status compile_level(const dl_spec *spec, const dl_store *s,
                               const dl_spec_comparison *cmp, size_t lv, dl_comparator *c,
                               clevel *out, dl_error *err)
{
    const dl_spec_level *sl = &cmp->levels[lv];
    const dl_store_col *col;
    dl_status st;
    memset(out, 0, sizeof *out);
    switch (sl->kind) {
    case DL_LV_EXACT:
        if ((st = resolve(spec, s, cmp, sl->terms[0], &col, err)) ||
            (st = want_tokens(spec, cmp, lv, sl->terms[0], col, "exact", err)))
            return st;
        out->kind = col->stride == 1 ? LV_EXACT1 : LV_EXACTSET;
        out->col = (tok_col){col->tok, col->stride};
        break;
    case DL_LV_DICE: {
        if ((st = resolve(spec, s, cmp, sl->terms[0], &col, err)))
            return st;
        if (!col->filter || !col->bits || !col->pop) {
            char r[96];
            return dl_error_set(err, DL_EINPUT, spec->path, cmp->line, cmp->col,
                                "comparison '%s', level %zu: dice compares Bloom filters, "
                                "and '%s' is a token column (expected a bloom feature)",
                                cmp->name, lv + 1, ref_name(spec, sl->terms[0], r, sizeof r));
        }
        if (!(sl->min >= 0.0 && sl->min <= 1.0))
            return dl_error_set(err, DL_EINPUT, spec->path, cmp->line, cmp->col,
                                "comparison '%s', level %zu: dice min %g is out of range "
                                "(expected 0 to 1)",
                                cmp->name, lv + 1, sl->min);
        out->kind = LV_DICE;
        out->bits = col->bits;
        out->pop = col->pop;
        out->words = col->words;
        out->thr = (uint64_t)(sl->min * (double)DICE_SCALE + 0.5);
        break;
    }
    case DL_LV_COUNT:
        if (sl->n_terms == 0 || sl->n_terms > DL_SPEC_MAX_COUNT_TERMS ||
            sl->min_count > sl->n_terms)
            return dl_error_set(err, DL_EINTERNAL, spec->path, cmp->line, cmp->col,
                                "comparison '%s', level %zu: count of %u out of %zu terms "
                                "(expected 1 to %d terms and a count no larger)",
                                cmp->name, lv + 1, sl->min_count, sl->n_terms,
                                DL_SPEC_MAX_COUNT_TERMS);
        out->kind = LV_COUNT;
        out->n_terms = (uint8_t)sl->n_terms;
        out->min_count = (uint8_t)sl->min_count;
        for (size_t t = 0; t < sl->n_terms; t++) {
            if ((st = resolve(spec, s, cmp, sl->terms[t], &col, err)) ||
                (st = want_tokens(spec, cmp, lv, sl->terms[t], col, "count", err)))
                return st;
            out->terms[t] = (tok_col){col->tok, col->stride};
            add_col_prefetch(c, col);
        }
        return DL_OK;
    default:
        return dl_error_set(err, DL_EINTERNAL, spec->path, cmp->line, cmp->col,
                            "comparison '%s', level %zu: unknown level kind %d", cmp->name,
                            lv + 1, (int)sl->kind);
    }
    add_col_prefetch(c, col);
    return DL_OK;
}

dl_status dl__comparator_new(const dl_spec *spec, const dl_store *store, dl_comparator **out,
                             dl_error *err)
{
    *out = NULL;
    size_t n_levels = 0, n_cols_max = 1;
    for (size_t k = 0; k < spec->n_comparisons; k++) {
        n_levels += spec->comparisons[k].n_levels;
        n_cols_max += 1;
        for (size_t l = 0; l < spec->comparisons[k].n_levels; l++)
            n_cols_max += 2 * spec->comparisons[k].levels[l].n_terms;
    }
    dl_comparator *c = calloc(1, sizeof *c);
    if (c) {
        c->comp = calloc(spec->n_comparisons + 1, sizeof *c->comp);
        c->levels = calloc(n_levels + 1, sizeof *c->levels);
        /* every null_if and term can add a row array (filters two) */
        c->pf = calloc(2 * n_cols_max, sizeof *c->pf);
    }
    if (!c || !c->comp || !c->levels || !c->pf) {
        dl__comparator_free(c);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory compiling %zu comparisons", spec->n_comparisons);
    }
    c->n_comp = spec->n_comparisons;
    uint64_t radix = 1;
    size_t at = 0;
    dl_status st;
    for (size_t k = 0; k < spec->n_comparisons; k++) {
        const dl_spec_comparison *sc = &spec->comparisons[k];
        ccomp *cc = &c->comp[k];
        if (sc->n_levels < 1 || sc->n_levels > DL_SPEC_MAX_LEVELS) {
            st = dl_error_set(err, DL_EINTERNAL, spec->path, sc->line, sc->col,
                              "comparison '%s' has %zu levels (expected 1 to %d)", sc->name,
                              sc->n_levels, DL_SPEC_MAX_LEVELS);
            goto fail;
        }
        uint64_t values = sc->n_levels + 2;
        if (radix * values > MAX_PATTERNS) {
            st = dl_error_set(err, DL_EINPUT, spec->path, sc->line, sc->col,
                              "comparisons up to '%s' make %llu patterns (at most %llu: "
                              "training counts pairs in a dense array of one cell per "
                              "pattern; use fewer comparisons or levels)",
                              sc->name, (unsigned long long)(radix * values),
                              (unsigned long long)MAX_PATTERNS);
            goto fail;
        }
        cc->radix = (uint32_t)radix;
        cc->n_levels = (uint32_t)sc->n_levels;
        cc->first = (uint32_t)at;
        radix *= values;

        const dl_store_col *nc;
        if ((st = resolve(spec, store, sc, sc->null_if, &nc, err)))
            goto fail;
        cc->null_filter = nc->filter;
        if (nc->filter) {
            if (!nc->pop) {
                st = dl_error_set(err, DL_EINTERNAL, spec->path, sc->line, sc->col,
                                  "comparison '%s': null_if filter column has no counts",
                                  sc->name);
                goto fail;
            }
            cc->null_pop = nc->pop;
        } else {
            if (!nc->tok || nc->stride < 1) {
                st = dl_error_set(err, DL_EINTERNAL, spec->path, sc->line, sc->col,
                                  "comparison '%s': null_if column has no tokens", sc->name);
                goto fail;
            }
            cc->null_tok = (tok_col){nc->tok, nc->stride};
        }
        add_col_prefetch(c, nc);
        for (size_t l = 0; l < sc->n_levels; l++, at++)
            if ((st = compile_level(spec, store, sc, l, c, &c->levels[at], err)))
                goto fail;
    }
    c->n_patterns = radix;
    if (getenv("L3_NOPF")) c->n_pf = 0; /* EXPERIMENT */
    *out = c;
    return DL_OK;
fail:
    dl__comparator_free(c);
    return st;
}

void dl__comparator_free(dl_comparator *c)
{
    if (!c)
        return;
    free(c->comp);
    free(c->levels);
    free(c->pf);
    free(c);
}

size_t dl__comparator_n_comparisons(const dl_comparator *c)
{
    return c->n_comp;
}

size_t dl__comparator_n_levels(const dl_comparator *c, size_t comp)
{
    return comp < c->n_comp ? c->comp[comp].n_levels + 2 : 0;
}

uint64_t dl__comparator_n_patterns(const dl_comparator *c)
{
    return c->n_patterns;
}

unsigned dl__pattern_value(const dl_comparator *c, uint32_t pattern, size_t comp)
{
    const ccomp *cc = &c->comp[comp];
    return (unsigned)(pattern / cc->radix % (cc->n_levels + 2));
}

/* ---- the hot loop --------------------------------------------------------- */

static inline bool tok_agree(tok_col c, size_t i, size_t j)
{
    const uint64_t *a = c.tok + i * c.stride, *b = c.tok + j * c.stride;
    if (!a[0] || !b[0])
        return false;
    for (size_t x = 0; x < c.stride && a[x]; x++)
        for (size_t y = 0; y < c.stride && b[y]; y++)
            if (a[x] == b[y])
                return true;
    return false;
}

/* Whether the Dice of rows I and J reaches the level's threshold. The
 * popcount of A AND B is cached per comparison (*LAST_BITS, *NAB): a name
 * comparison typically tries dice >= 0.9 and, levels later, dice >= 0.75 on
 * the same filters. */
static inline bool dice_met(const clevel *l, dl__and_popcount_fn andpop, size_t i, size_t j,
                            const uint64_t **last_bits, uint64_t *nab)
{
    uint64_t na = l->pop[i], nb = l->pop[j];
    if (!na || !nb)
        return false;
    uint64_t need = l->thr * (na + nb);
    /* |A and B| <= min(|A|, |B|): filters of very different fill cannot
     * reach the threshold, and that is known without reading them. */
    if (2 * DICE_SCALE * (na < nb ? na : nb) < need)
        return false;
    if (*last_bits != l->bits) {
        *nab = andpop(l->bits + i * l->words, l->bits + j * l->words, l->words);
        *last_bits = l->bits;
    }
    return 2 * DICE_SCALE * *nab >= need;
}

static inline unsigned comp_value(const dl_comparator *c, const ccomp *cc,
                                  dl__and_popcount_fn andpop, size_t i, size_t j)
{
    if (cc->null_filter) {
        if (!cc->null_pop[i] || !cc->null_pop[j])
            return 0;
    } else if (!cc->null_tok.tok[i * cc->null_tok.stride] ||
               !cc->null_tok.tok[j * cc->null_tok.stride]) {
        return 0;
    }
    const clevel *l = c->levels + cc->first;
    const uint64_t *last_bits = NULL;
    uint64_t nab = 0;
    for (unsigned v = 1; v <= cc->n_levels; v++, l++) {
        bool met;
        switch (l->kind) {
        case LV_EXACT1: {
            uint64_t a = l->col.tok[i];
            met = a && a == l->col.tok[j];
            break;
        }
        case LV_EXACTSET:
            met = tok_agree(l->col, i, j);
            break;
        case LV_DICE:
            met = dice_met(l, andpop, i, j, &last_bits, &nab);
            break;
        default: { /* LV_COUNT */
            unsigned agree = 0, left = l->n_terms;
            met = false;
            for (unsigned t = 0; t < l->n_terms; t++) {
                agree += tok_agree(l->terms[t], i, j);
                left--;
                if (agree >= l->min_count) {
                    met = true;
                    break;
                }
                if (agree + left < l->min_count)
                    break;
            }
            break;
        }
        }
        if (met)
            return v;
    }
    return cc->n_levels + 1;
}

static inline uint32_t pattern_of(const dl_comparator *c, dl__and_popcount_fn andpop,
                                  size_t i, size_t j)
{
    uint32_t p = 0;
    for (size_t k = 0; k < c->n_comp; k++) {
        const ccomp *cc = &c->comp[k];
        p += comp_value(c, cc, andpop, i, j) * cc->radix;
    }
    return p;
}

static inline void prefetch_rows(const dl_comparator *c, size_t i, size_t j)
{
    for (size_t x = 0; x < c->n_pf; x++) {
        const prefetch *f = &c->pf[x];
        const char *a = f->base + i * f->row_bytes, *b = f->base + j * f->row_bytes;
        __builtin_prefetch(a);
        __builtin_prefetch(b);
        if (f->lines > 1) {
            __builtin_prefetch(a + 64);
            __builtin_prefetch(b + 64);
        }
    }
}

uint32_t dl__compare(const dl_comparator *c, uint32_t i, uint32_t j)
{
    return pattern_of(c, dl__and_popcount_kernel(), i, j);
}

void dl__compare_many(const dl_comparator *c, const dl_pair *pairs, size_t n, uint32_t *out)
{
    dl__and_popcount_fn andpop = dl__and_popcount_kernel();
    for (size_t k = 0; k < n; k++) {
        if (k + PREFETCH_AHEAD < n)
            prefetch_rows(c, pairs[k + PREFETCH_AHEAD].i, pairs[k + PREFETCH_AHEAD].j);
        out[k] = pattern_of(c, andpop, pairs[k].i, pairs[k].j);
    }
}
