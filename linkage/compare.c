/* compare.c: turns a pair of records into a comparison pattern (one level per
 * comparison, packed in mixed radix). Part of linkage/; link.c feeds it the
 * candidate pairs of block.c and the random pairs behind u, and the model
 * turns the patterns into weights. docs/comparisons.md is the user's view. */
#include <assert.h>
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

/* Dice counts of one chunk of pairs, on the stack (16 KiB): every filter
 * column a dice level reads is counted for the whole chunk in one batch
 * call, where the kernel is inlined, before the levels are evaluated. */
#define NAB_CELLS 4096
#define MAX_CHUNK 512

enum level_kind {
    LV_TOKENS, /* exact: token sets intersect (one token: equal and not 0) */
    LV_DICE,
    LV_COUNT,
    LV_REVERSED, /* terms[0] of one record equals terms[1] of the other, and back */
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
    uint16_t dcol;     /* dice: which of the comparator's filter columns */
    tok_col col;       /* exact */
    const uint32_t *pop; /* dice */
    uint64_t thr;      /* dice: round(t * DICE_SCALE) */
    tok_col terms[DL_SPEC_MAX_COUNT_TERMS]; /* count; reversed: the two columns */
} clevel;

typedef struct ccomp {
    uint32_t radix;
    uint32_t n_levels;  /* spec levels (values 1..n_levels; n_levels + 1 = else) */
    uint32_t first;     /* index of its first level in dl_comparator.levels */
    bool null_filter;   /* null_if is a filter column (pop 0 = missing) */
    tok_col null_tok;
    const uint32_t *null_pop;
} ccomp;

/* A filter column some dice level reads: its |A and B| is counted for every
 * pair of a chunk before the levels are evaluated. */
typedef struct dcol {
    const uint64_t *bits;
    size_t words;
} dcol;

struct dl_comparator {
    size_t n_comp;
    ccomp *comp;
    clevel *levels;
    uint64_t n_patterns;
    size_t n_dcol;
    dcol *dcols;
    size_t chunk;       /* pairs per chunk: n_dcol * chunk counts fit NAB_CELLS */
};

/* ---- construction ----------------------------------------------------- */

static int col_index(const dl_store *s, dl_feature_ref r)
{
    int c = dl__store_col(s, r);
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

static uint16_t add_dcol(dl_comparator *c, const dl_store_col *col)
{
    for (size_t i = 0; i < c->n_dcol; i++)
        if (c->dcols[i].bits == col->bits)
            return (uint16_t)i;
    c->dcols[c->n_dcol] = (dcol){col->bits, col->words};
    return (uint16_t)c->n_dcol++;
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
        out->kind = LV_TOKENS;
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
        out->dcol = add_dcol(c, col);
        out->pop = col->pop;
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
        }
        return DL_OK;
    case DL_LV_REVERSED:
        out->kind = LV_REVERSED;
        for (size_t t = 0; t < 2; t++) {
            if ((st = resolve(spec, s, cmp, sl->terms[t], &col, err)) ||
                (st = want_tokens(spec, cmp, lv, sl->terms[t], col, "reversed", err)))
                return st;
            if (col->stride != 1) {
                char r[96];
                return dl_error_set(err, DL_EINTERNAL, spec->path, cmp->line, cmp->col,
                                    "comparison '%s', level %zu: reversed needs one token a "
                                    "record in '%s'",
                                    cmp->name, lv + 1, ref_name(spec, sl->terms[t], r, sizeof r));
            }
            out->terms[t] = (tok_col){col->tok, 1};
        }
        return DL_OK;
    default:
        return dl_error_set(err, DL_EINTERNAL, spec->path, cmp->line, cmp->col,
                            "comparison '%s', level %zu: unknown level kind %d", cmp->name,
                            lv + 1, (int)sl->kind);
    }
    return DL_OK;
}

dl_status dl__comparator_new(const dl_spec *spec, const dl_store *store, dl_comparator **out,
                             dl_error *err)
{
    *out = NULL;
    size_t n_levels = 0;
    for (size_t k = 0; k < spec->n_comparisons; k++)
        n_levels += spec->comparisons[k].n_levels;
    dl_comparator *c = calloc(1, sizeof *c);
    if (c) {
        c->comp = calloc(spec->n_comparisons + 1, sizeof *c->comp);
        c->levels = calloc(n_levels + 1, sizeof *c->levels);
        c->dcols = calloc(n_levels + 1, sizeof *c->dcols);
    }
    if (!c || !c->comp || !c->levels || !c->dcols) {
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
        for (size_t l = 0; l < sc->n_levels; l++, at++)
            if ((st = compile_level(spec, store, sc, l, c, &c->levels[at], err)))
                goto fail;
    }
    c->n_patterns = radix;
    c->chunk = c->n_dcol ? NAB_CELLS / c->n_dcol : NAB_CELLS;
    if (c->chunk > MAX_CHUNK)
        c->chunk = MAX_CHUNK;
    /* at most one filter column per field, so at least 4096 / 64 pairs */
    assert(c->chunk >= 1);
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
    free(c->dcols);
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

/* Whether token sets A and B (S slots each, unused slots 0) intersect. No
 * branch: with S a constant it unrolls into S * S compares. (Testing the
 * one-token case first saves 5% of the instructions on the demo data but
 * mispredicts more than once a pair: variant groups often hold two.) */
static inline bool sets_meet(const uint64_t *a, const uint64_t *b, unsigned s)
{
    unsigned hit = 0;
    for (unsigned x = 0; x < s; x++) {
        unsigned any = 0;
        for (unsigned y = 0; y < s; y++)
            any |= a[x] == b[y];
        hit |= any & (a[x] != 0);
    }
    return hit;
}

/* Pairs are compared a chunk at a time and a level at a time: one tight loop
 * per level over the chunk's pairs, each iteration setting the level's bit
 * in the pair's mask MET. Compared with walking the levels pair by pair,
 * this has no branch that depends on the data (which level a pair meets is
 * unpredictable: that is the point of comparing), no dispatch per pair and
 * level, and independent iterations whose cache misses overlap. Every level
 * is evaluated, none skipped: the lowest bit of MET is the first level met. */
#define FOR_PAIRS(BODY)                                                                    \
    for (size_t k = 0; k < n; k++) {                                                       \
        size_t i = pairs[k].i, j = pairs[k].j;                                             \
        BODY;                                                                              \
    }

/* ACC[k] OP= MUL times whether the pair's token sets in column C intersect;
 * the set size is made a constant so sets_meet unrolls. */
#define TOKENS_LOOP(C, ACC, OP, MUL)                                                       \
    do {                                                                                   \
        const uint64_t *t_ = (C).tok;                                                      \
        switch ((C).stride) {                                                              \
        case 1:                                                                            \
            FOR_PAIRS(ACC[k] OP(MUL) * (uint32_t)((t_[i] == t_[j]) & (t_[i] != 0)));       \
            break;                                                                         \
        case 2:                                                                            \
            FOR_PAIRS(ACC[k] OP(MUL) * (uint32_t)sets_meet(t_ + 2 * i, t_ + 2 * j, 2));    \
            break;                                                                         \
        case 3:                                                                            \
            FOR_PAIRS(ACC[k] OP(MUL) * (uint32_t)sets_meet(t_ + 3 * i, t_ + 3 * j, 3));    \
            break;                                                                         \
        default:                                                                           \
            FOR_PAIRS(ACC[k] OP(MUL) * (uint32_t)sets_meet(t_ + 4 * i, t_ + 4 * j, 4));    \
            break;                                                                         \
        }                                                                                  \
    } while (0)

/* Patterns of N <= c->chunk pairs into OUT. A comparison's value is found
 * from a mask per pair: bit 0 null, bit v level v, bit L + 1 else (always
 * set); the lowest set bit is the value. */
static void compare_chunk(const dl_comparator *c, const dl_pair *pairs, size_t n,
                          uint32_t *out)
{
    uint32_t nab[NAB_CELLS], met[MAX_CHUNK], cnt[MAX_CHUNK];
    for (size_t d = 0; d < c->n_dcol; d++)
        dl__and_popcount_many(c->dcols[d].bits, c->dcols[d].words, pairs, n, nab + d * n);
    for (size_t x = 0; x < c->n_comp; x++) {
        const ccomp *cc = &c->comp[x];
        if (cc->null_filter) {
            const uint32_t *pop = cc->null_pop;
            FOR_PAIRS(met[k] = (uint32_t)((pop[i] == 0) | (pop[j] == 0)));
        } else {
            const uint64_t *t = cc->null_tok.tok;
            const size_t st = cc->null_tok.stride;
            FOR_PAIRS(met[k] = (uint32_t)((t[i * st] == 0) | (t[j * st] == 0)));
        }
        const clevel *l = c->levels + cc->first;
        for (unsigned v = 1; v <= cc->n_levels; v++, l++) {
            const uint32_t bit = UINT32_C(1) << v;
            switch (l->kind) {
            case LV_TOKENS:
                TOKENS_LOOP(l->col, met, |=, bit);
                break;
            case LV_DICE: {
                const uint32_t *pop = l->pop, *nd = nab + l->dcol * n;
                const uint64_t thr = l->thr;
                FOR_PAIRS(uint64_t na = pop[i]; uint64_t nb = pop[j];
                          met[k] |= bit * (uint32_t)((na != 0) & (nb != 0) &
                                                     (2 * DICE_SCALE * nd[k] >=
                                                      thr * (na + nb))));
                break;
            }
            case LV_REVERSED: {
                const uint64_t *a = l->terms[0].tok, *b = l->terms[1].tok;
                FOR_PAIRS(met[k] |= bit * (uint32_t)((a[i] == b[j]) & (b[i] == a[j]) &
                                                     (a[i] != 0) & (b[i] != 0)));
                break;
            }
            default: /* LV_COUNT */
                TOKENS_LOOP(l->terms[0], cnt, =, 1);
                for (unsigned t = 1; t < l->n_terms; t++)
                    TOKENS_LOOP(l->terms[t], cnt, +=, 1);
                for (size_t k = 0; k < n; k++)
                    met[k] |= bit * (uint32_t)(cnt[k] >= l->min_count);
                break;
            }
        }
        const uint32_t radix = cc->radix, other = UINT32_C(1) << (cc->n_levels + 1);
        if (x == 0)
            for (size_t k = 0; k < n; k++)
                out[k] = (uint32_t)__builtin_ctz(met[k] | other) * radix;
        else
            for (size_t k = 0; k < n; k++)
                out[k] += (uint32_t)__builtin_ctz(met[k] | other) * radix;
    }
}

uint32_t dl__compare(const dl_comparator *c, uint32_t i, uint32_t j)
{
    dl_pair p = {i, j};
    uint32_t out;
    compare_chunk(c, &p, 1, &out);
    return out;
}

void dl__compare_many(const dl_comparator *c, const dl_pair *pairs, size_t n, uint32_t *out)
{
    for (size_t k = 0; k < n; k += c->chunk)
        compare_chunk(c, pairs + k, n - k < c->chunk ? n - k : c->chunk, out + k);
}
