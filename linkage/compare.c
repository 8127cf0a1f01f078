/* compare.c: turns a pair of records into a comparison pattern (one level per
 * comparison, packed in mixed radix). Part of linkage/; link.c feeds it the
 * candidate pairs of block.c and the random pairs behind u, and the model
 * turns the patterns into weights. docs/comparisons.md is the user's view. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define DL_X86_KERNELS 1
#include <immintrin.h>
#endif

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

/* ---- the row copy: what the row kernels read --------------------------------
 *
 * The store is columnar: a pair of the demo spec touches 21 token columns and
 * 4 count arrays per record, each a separate cache line, and once the store is
 * larger than the cache each of those lines is a miss. The comparator keeps
 * its own copy of exactly the token slots (and filter popcounts) its levels
 * and null_if columns read, one row per record, 64-byte aligned: the demo's
 * 28 slots make 256 bytes, four lines instead of twenty-five. The filters
 * stay in the store (their AND is counted there, by dice.c).
 *
 * A column of set tokens (up to 4 a record) takes a group of 1, 2 or 4 slots
 * aligned to its size (a set of 3 is padded with a 0 slot), so a group never
 * straddles 8 slots and sets intersect by comparing row A with row B and with
 * B rotated within its groups. A pair's slot compares make one 64-bit mask,
 * folded so that each column's first slot says whether the column agrees;
 * single-token and set levels then read one bit each. */
#define ROW_MAX_SLOTS 64     /* one 64-bit mask a pair */
#define ROW_MAX_BITS 64      /* level bits: sum over comparisons of levels + 2 */
#define ROW_ZMM (ROW_MAX_SLOTS / 8)
/* Pairs ahead whose rows are prefetched: enough to cover a miss to memory
 * (~100 ns) at a few ns a pair, not so many the lines are evicted again. */
#define ROW_PREFETCH 8

enum kernel_kind {
    K_COLUMNS,       /* level by level over the store's columns (any spec) */
    K_ROWS_PORTABLE, /* the row copy, one pair at a time, plain C */
    K_ROWS_AVX512,   /* the row copy, slot compares in AVX-512 registers */
};

static const char *const kernel_names[] = {"columns", "rows-portable", "rows-avx512"};

/* One column's place in the row: STRIDE tokens of a token column, or the
 * popcount of a filter column in one slot. */
typedef struct rowcol {
    const uint64_t *tok;
    const uint32_t *pop;
    unsigned stride;   /* tokens copied a record (tok) */
    unsigned group;    /* slots taken: 1, 2 or 4 */
    unsigned slot;     /* the first */
} rowcol;

/* A dice level on the row: |A and B| from the chunk's counts of filter
 * column DCOL, |A| and |B| from the row's slot POP. */
typedef struct rdice {
    uint8_t bit, pop;
    uint16_t dcol;
    uint64_t thr;
} rdice;

/* A count level on the row: how many of the terms' column bits are set. */
typedef struct rcount {
    uint8_t bit, min, n_terms;
    uint8_t slot[DL_SPEC_MAX_COUNT_TERMS];
} rcount;

/* A reversed level on the row: slot A of one row equals slot B of the other
 * and back, both present (single tokens: their groups are one slot). */
typedef struct rrev {
    uint8_t bit, a, b;
} rrev;

/* The AVX-512 row kernel decides eight pairs at once, a pair a lane: it
 * copies the popcounts the dice levels read out of the rows, POP_SLOT[p] for
 * p < N_POP, and dice level d reads copy DICE_POP[d]. */
typedef struct vec_tables {
    size_t n_pop;
    uint8_t pop_slot[ROW_MAX_BITS];
    uint8_t dice_pop[ROW_MAX_BITS];
} vec_tables;

typedef struct rows {
    uint64_t *v;               /* n records * slots, 64-byte aligned */
    unsigned slots;            /* a multiple of 8 */
    unsigned n_zmm;            /* slots / 8 */
    size_t n_cols;
    rowcol cols[ROW_MAX_SLOTS];
    uint8_t gstart[ROW_MAX_SLOTS], gsize[ROW_MAX_SLOTS]; /* each slot's group */
    uint64_t fold1, fold2;     /* group folds: first slot |= the others */
    /* rotations within groups for the vector kernel: lane x of 8-slot block w
     * compared with lane rot[w][r][x] of B, for r < n_rot[w] */
    uint64_t rot[ROW_ZMM][3][8];
    uint8_t n_rot[ROW_ZMM];
    /* level bits: comparison k's null at bit off[k], its level v at off[k] + v
     * (as the column kernel's mask, shifted). EXACT_BITS are copied from the
     * folded agreement mask at slot GATHER[bit], NULL_BITS from the missing
     * mask at GATHER[bit]. */
    uint64_t exact_bits, null_bits;
    uint8_t gather[ROW_MAX_BITS];
    uint8_t off[ROW_MAX_BITS];
    size_t n_dice, n_count, n_rev;
    rdice dice[ROW_MAX_BITS];
    rcount count[ROW_MAX_BITS];
    rrev rev[ROW_MAX_BITS];
    /* count level q: its terms' slots, whose bits in the folded mask it
     * counts (the spec names a feature once in a count, so no slot twice) */
    uint64_t cmask[ROW_MAX_BITS];
    vec_tables vec;
} rows;

struct dl_comparator {
    size_t n_comp;
    ccomp *comp;
    clevel *levels;
    uint64_t n_patterns;
    size_t n_dcol;
    dcol *dcols;
    size_t chunk;       /* pairs per chunk: n_dcol * chunk counts fit NAB_CELLS */
    enum kernel_kind kernel;
    rows *rows;         /* NULL when the spec does not fit a row */
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

/* ---- the row copy: construction ------------------------------------------- */

static enum kernel_kind best_kernel(const dl_comparator *c);

/* The slot group of a column of STRIDE tokens: sets of 3 take 4 slots. */
static unsigned group_of(unsigned stride)
{
    return stride <= 1 ? 1 : stride == 2 ? 2 : 4;
}

/* The index in R->cols of the token column T or popcounts POP, added when new
 * (false when the row is full: the spec does not fit). */
static bool row_col(rows *R, const uint64_t *tok, unsigned stride, const uint32_t *pop,
                    size_t *out)
{
    for (size_t x = 0; x < R->n_cols; x++)
        if (tok ? R->cols[x].tok == tok : R->cols[x].pop == pop) {
            *out = x;
            return true;
        }
    if (R->n_cols == ROW_MAX_SLOTS)
        return false;
    R->cols[R->n_cols] = (rowcol){tok, tok ? NULL : pop, tok ? stride : 0,
                                  tok ? group_of(stride) : 1, 0};
    *out = R->n_cols++;
    return true;
}

/* Slots for every column: largest groups first, so each group starts at a
 * multiple of its size (sizes are powers of two) and sets share few 8-slot
 * blocks, the only ones the vector kernel rotates. False when they exceed
 * ROW_MAX_SLOTS. */
static bool place_cols(rows *R)
{
    unsigned at = 0;
    for (unsigned g = 4; g >= 1; g /= 2)
        for (size_t x = 0; x < R->n_cols; x++)
            if (R->cols[x].group == g) {
                R->cols[x].slot = at;
                at += g;
            }
    if (at > ROW_MAX_SLOTS)
        return false;
    R->slots = (at + 7) / 8 * 8;
    if (R->slots == 0)
        R->slots = 8;
    R->n_zmm = R->slots / 8;
    for (unsigned sl = 0; sl < R->slots; sl++) {
        R->gstart[sl] = (uint8_t)sl; /* padding: a group of its own */
        R->gsize[sl] = 1;
    }
    for (size_t x = 0; x < R->n_cols; x++) {
        const rowcol *rc = &R->cols[x];
        for (unsigned o = 0; o < rc->group; o++) {
            R->gstart[rc->slot + o] = (uint8_t)rc->slot;
            R->gsize[rc->slot + o] = (uint8_t)rc->group;
        }
        if (rc->group >= 2)
            R->fold1 |= UINT64_C(1) << rc->slot;
        if (rc->group == 4) {
            R->fold1 |= UINT64_C(1) << (rc->slot + 2);
            R->fold2 |= UINT64_C(1) << rc->slot;
        }
    }
    for (unsigned w = 0; w < R->n_zmm; w++) {
        unsigned most = 1;
        for (unsigned x = 0; x < 8; x++) {
            unsigned sl = 8 * w + x, g = R->gsize[sl], o = sl - R->gstart[sl];
            most = g > most ? g : most;
            for (unsigned r = 0; r < 3; r++)
                R->rot[w][r][x] = (R->gstart[sl] - 8 * w) + (o + r + 1) % g;
        }
        R->n_rot[w] = (uint8_t)(most - 1);
    }
    return true;
}

/* The row's slot of the first token (or the popcount) of a level's column. */
static bool level_slot(rows *R, tok_col t, const uint32_t *pop, uint8_t *out)
{
    size_t x;
    if (!row_col(R, t.tok, t.stride, pop, &x))
        return false;
    *out = (uint8_t)x; /* a column number: compile_rows makes it a slot */
    return true;
}

/* The AVX-512 kernel's popcount copies (vec_tables) for R, whose levels are
 * compiled and placed. */
static void compile_vec(rows *R)
{
    vec_tables *V = &R->vec;
    for (size_t d = 0; d < R->n_dice; d++) {
        size_t p = 0;
        while (p < V->n_pop && V->pop_slot[p] != R->dice[d].pop)
            p++;
        if (p == V->n_pop)
            V->pop_slot[V->n_pop++] = R->dice[d].pop;
        V->dice_pop[d] = (uint8_t)p;
    }
}

/* Compile the levels onto row bits. Columns are first numbered, then placed;
 * the ops hold column numbers until the end, where they become slots. False
 * when the spec does not fit a row (too many slots or level bits). */
static bool compile_rows(const dl_comparator *c, rows *R)
{
    unsigned bit = 0;
    for (size_t k = 0; k < c->n_comp; k++) {
        const ccomp *cc = &c->comp[k];
        if (bit + cc->n_levels + 2 > ROW_MAX_BITS)
            return false;
        R->off[k] = (uint8_t)bit;
        uint8_t col;
        if (!level_slot(R, cc->null_filter ? (tok_col){NULL, 0} : cc->null_tok,
                        cc->null_pop, &col))
            return false;
        R->null_bits |= UINT64_C(1) << bit;
        R->gather[bit] = col;
        for (unsigned v = 1; v <= cc->n_levels; v++) {
            const clevel *l = &c->levels[cc->first + v - 1];
            unsigned b = bit + v;
            if (l->kind == LV_TOKENS) {
                if (!level_slot(R, l->col, NULL, &col))
                    return false;
                R->exact_bits |= UINT64_C(1) << b;
                R->gather[b] = col;
            } else if (l->kind == LV_DICE) {
                rdice *d = &R->dice[R->n_dice++];
                if (!level_slot(R, (tok_col){NULL, 0}, l->pop, &d->pop))
                    return false;
                d->bit = (uint8_t)b;
                d->dcol = l->dcol;
                d->thr = l->thr;
            } else if (l->kind == LV_REVERSED) {
                rrev *x = &R->rev[R->n_rev++];
                x->bit = (uint8_t)b;
                if (!level_slot(R, l->terms[0], NULL, &x->a) ||
                    !level_slot(R, l->terms[1], NULL, &x->b))
                    return false;
            } else {
                rcount *n = &R->count[R->n_count++];
                n->bit = (uint8_t)b;
                n->min = l->min_count;
                n->n_terms = l->n_terms;
                for (unsigned t = 0; t < l->n_terms; t++)
                    if (!level_slot(R, l->terms[t], NULL, &n->slot[t]))
                        return false;
            }
        }
        bit += cc->n_levels + 2;
    }
    if (!place_cols(R))
        return false;
    /* column numbers to slots */
    for (unsigned b = 0; b < ROW_MAX_BITS; b++)
        if ((R->exact_bits | R->null_bits) >> b & 1)
            R->gather[b] = (uint8_t)R->cols[R->gather[b]].slot;
    for (size_t d = 0; d < R->n_dice; d++)
        R->dice[d].pop = (uint8_t)R->cols[R->dice[d].pop].slot;
    for (size_t x = 0; x < R->n_count; x++)
        for (unsigned t = 0; t < R->count[x].n_terms; t++)
            R->count[x].slot[t] = (uint8_t)R->cols[R->count[x].slot[t]].slot;
    for (size_t x = 0; x < R->n_rev; x++) {
        R->rev[x].a = (uint8_t)R->cols[R->rev[x].a].slot;
        R->rev[x].b = (uint8_t)R->cols[R->rev[x].b].slot;
    }
    for (size_t q = 0; q < R->n_count; q++)
        for (unsigned t = 0; t < R->count[q].n_terms; t++) {
            const uint64_t slot = UINT64_C(1) << R->count[q].slot[t];
            if (R->cmask[q] & slot)
                return false; /* a term twice (spec_load refuses it): columns count it */
            R->cmask[q] |= slot;
        }
    compile_vec(R);
    return true;
}

/* Copy the store's columns into rows (zero-padded). */
static void fill_rows(rows *R, size_t n)
{
    memset(R->v, 0, n * R->slots * sizeof *R->v);
    for (size_t x = 0; x < R->n_cols; x++) {
        const rowcol *rc = &R->cols[x];
        uint64_t *dst = R->v + rc->slot;
        if (rc->tok) {
            for (size_t r = 0; r < n; r++, dst += R->slots)
                memcpy(dst, rc->tok + r * rc->stride, rc->stride * sizeof *dst);
        } else {
            for (size_t r = 0; r < n; r++, dst += R->slots)
                *dst = rc->pop[r];
        }
    }
}

/* Build C's row copy of STORE, or leave c->rows NULL when the spec does not
 * fit one (the column kernel then serves it). */
static dl_status build_rows(dl_comparator *c, const dl_store *store, dl_error *err)
{
    rows *R = calloc(1, sizeof *R);
    if (!R)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory compiling comparisons");
    if (!compile_rows(c, R)) {
        free(R);
        return DL_OK;
    }
    size_t bytes = store->n * R->slots * sizeof *R->v;
    R->v = dl__alloc_large(bytes); /* huge pages: rows are read at random */
    if (!R->v) {
        const unsigned row = R->slots * 8;
        free(R);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory for the comparison rows (%zu bytes: %u a record)",
                            bytes, row);
    }
    fill_rows(R, store->n);
    c->rows = R;
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
    if ((st = build_rows(c, store, err)))
        goto fail;
    c->kernel = best_kernel(c);
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
    if (c->rows)
        free(c->rows->v);
    free(c->rows);
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

/* The column kernel: patterns of N <= c->chunk pairs into OUT, given the
 * chunk's Dice counts NAB. A comparison's value is found from a mask per
 * pair: bit 0 null, bit v level v, bit L + 1 else (always set); the lowest
 * set bit is the value. */
static void chunk_columns(const dl_comparator *c, const dl_pair *pairs, size_t n,
                          const uint32_t *nab, uint32_t *out)
{
    uint32_t met[MAX_CHUNK], cnt[MAX_CHUNK];
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

/* ---- the row kernels ---------------------------------------------------------
 *
 * One pair at a time, all its levels at once: the slot compares give two
 * masks, AGREE (slot of A is not 0 and equals a slot of B's group) and BOTH
 * (A's and B's slots are not 0); folding AGREE's groups into their first
 * slot gives a bit per column. Level bits (laid out as the column kernel's
 * masks, comparison after comparison) are gathered from those masks, the dice
 * and count levels added, and each comparison's value is the lowest bit set
 * among its own. No branch depends on the data. */

/* Fold each group's agreement into its first slot. */
static inline uint64_t fold(const rows *R, uint64_t m)
{
    m |= (m >> 1) & R->fold1;
    return m | ((m >> 2) & R->fold2);
}

/* The bits of R's reversed levels met by rows A and B: both single tokens
 * present and equal crosswise. Shared by every row kernel. */
static inline uint64_t reversed_bits(const rows *R, const uint64_t *a, const uint64_t *b)
{
    uint64_t lv = 0;
    for (size_t q = 0; q < R->n_rev; q++) {
        const rrev *x = &R->rev[q];
        const uint64_t aa = a[x->a], ab = a[x->b];
        lv |= (uint64_t)((aa == b[x->b]) & (ab == b[x->a]) & (aa != 0) & (ab != 0)) << x->bit;
    }
    return lv;
}

/* The pattern from level bits LV (exact and null levels set) and the folded
 * mask M of rows A and B, whose |A and B| of filter column d is NAB[d * N]. */
static inline uint32_t row_pattern(const dl_comparator *c, const rows *R, uint64_t m,
                                   uint64_t lv, const uint64_t *a, const uint64_t *b,
                                   const uint32_t *nab, size_t n)
{
    for (size_t d = 0; d < R->n_dice; d++) {
        const rdice *x = &R->dice[d];
        const uint64_t na = a[x->pop], nb = b[x->pop], ab = nab[x->dcol * n];
        lv |= (uint64_t)((na != 0) & (nb != 0) & (2 * DICE_SCALE * ab >= x->thr * (na + nb)))
              << x->bit;
    }
    for (size_t q = 0; q < R->n_count; q++) {
        const rcount *x = &R->count[q];
        unsigned agree = 0;
        for (unsigned t = 0; t < x->n_terms; t++)
            agree += (unsigned)(m >> x->slot[t]) & 1;
        lv |= (uint64_t)(agree >= x->min) << x->bit;
    }
    lv |= reversed_bits(R, a, b);
    uint32_t p = 0;
    for (size_t x = 0; x < c->n_comp; x++) {
        const ccomp *cc = &c->comp[x];
        const uint64_t v = (lv >> R->off[x]) | (UINT64_C(1) << (cc->n_levels + 1));
        p += (uint32_t)__builtin_ctzll(v) * cc->radix;
    }
    return p;
}

static inline void prefetch_rows(const rows *R, const dl_pair *p)
{
    const char *a = (const char *)(R->v + (size_t)p->i * R->slots);
    const char *b = (const char *)(R->v + (size_t)p->j * R->slots);
    for (unsigned w = 0; w < R->n_zmm; w++) {
        __builtin_prefetch(a + 64 * w);
        __builtin_prefetch(b + 64 * w);
    }
}

static void chunk_rows_portable(const dl_comparator *c, const dl_pair *pairs, size_t n,
                                const uint32_t *nab, uint32_t *out)
{
    const rows *R = c->rows;
    for (size_t k = 0; k < n; k++) {
        if (k + ROW_PREFETCH < n)
            prefetch_rows(R, &pairs[k + ROW_PREFETCH]);
        const uint64_t *a = R->v + (size_t)pairs[k].i * R->slots;
        const uint64_t *b = R->v + (size_t)pairs[k].j * R->slots;
        uint64_t agree = 0, both = 0;
        for (unsigned sl = 0; sl < R->slots; sl++) {
            const uint64_t x = a[sl];
            unsigned hit = 0;
            for (unsigned t = R->gstart[sl]; t < R->gstart[sl] + R->gsize[sl]; t++)
                hit |= x == b[t];
            agree |= (uint64_t)(hit & (x != 0)) << sl;
            both |= (uint64_t)((x != 0) & (b[sl] != 0)) << sl;
        }
        const uint64_t m = fold(R, agree);
        uint64_t lv = 0;
        for (uint64_t e = R->exact_bits; e; e &= e - 1) {
            const unsigned bit = (unsigned)__builtin_ctzll(e);
            lv |= (m >> R->gather[bit] & 1) << bit;
        }
        for (uint64_t e = R->null_bits; e; e &= e - 1) {
            const unsigned bit = (unsigned)__builtin_ctzll(e);
            lv |= (~both >> R->gather[bit] & 1) << bit;
        }
        out[k] = row_pattern(c, R, m, lv, a, b, nab + k, n);
    }
}

#ifdef DL_X86_KERNELS
#define TARGET_AVX512                                                                      \
    __attribute__((                                                                        \
        target("avx512f,avx512bw,avx512vl,avx512cd,avx512bitalg,avx512vpopcntdq")))

/* The patterns of eight pairs, a pair a lane, into OUT (lanes VALID): M
 * their folded agreement masks, LV their exact, null and reversed level
 * bits, PA and PB the popcounts of rows A and B (copy p at PA[p]), and their
 * Dice counts at NAB + d * N for filter column d. The count and dice levels
 * add their bits (the dice test is row_pattern's, in 64-bit lanes: each
 * factor is below 2^32, counts below 2^18 and thresholds at most
 * DICE_SCALE); then each comparison's value is the lowest bit set among its
 * own (ctz = 63 - lzcnt of the lowest bit alone), times its radix. */
TARGET_AVX512 static inline void decide8(const dl_comparator *c, const rows *R, __m512i m,
                                         __m512i lv, const uint32_t (*pa)[8],
                                         const uint32_t (*pb)[8], const uint32_t *nab,
                                         size_t n, __mmask8 valid, uint32_t *out)
{
    for (size_t q = 0; q < R->n_count; q++) {
        const rcount *x = &R->count[q];
        const __m512i terms = _mm512_set1_epi64((long long)R->cmask[q]);
        const __m512i agreed = _mm512_popcnt_epi64(_mm512_and_si512(m, terms));
        const __mmask8 met = _mm512_cmpge_epu64_mask(agreed, _mm512_set1_epi64(x->min));
        lv = _mm512_mask_or_epi64(lv, met, lv,
                                  _mm512_set1_epi64((long long)(UINT64_C(1) << x->bit)));
    }
    const __m512i scale = _mm512_set1_epi64((long long)(2 * DICE_SCALE));
    for (size_t d = 0; d < R->n_dice; d++) {
        const rdice *x = &R->dice[d];
        const unsigned p = R->vec.dice_pop[d];
        const __m512i na = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const void *)pa[p]));
        const __m512i nb = _mm512_cvtepu32_epi64(_mm256_loadu_si256((const void *)pb[p]));
        const __m512i ab =
            _mm512_cvtepu32_epi64(_mm256_maskz_loadu_epi32(valid, nab + x->dcol * n));
        const __m512i lhs = _mm512_mul_epu32(ab, scale);
        const __m512i rhs = _mm512_mul_epu32(_mm512_set1_epi64((long long)x->thr),
                                             _mm512_add_epi64(na, nb));
        const __mmask8 met = _mm512_mask_cmpge_epu64_mask(
            _mm512_test_epi64_mask(na, na) & _mm512_test_epi64_mask(nb, nb), lhs, rhs);
        lv = _mm512_mask_or_epi64(lv, met, lv,
                                  _mm512_set1_epi64((long long)(UINT64_C(1) << x->bit)));
    }
    const __m512i zero = _mm512_setzero_si512(), c63 = _mm512_set1_epi64(63);
    __m512i p = zero;
    for (size_t k = 0; k < c->n_comp; k++) {
        const ccomp *cc = &c->comp[k];
        const __m512i top = _mm512_set1_epi64((long long)(UINT64_C(1) << (cc->n_levels + 1)));
        __m512i v = _mm512_or_si512(_mm512_srlv_epi64(lv, _mm512_set1_epi64(R->off[k])), top);
        v = _mm512_and_si512(v, _mm512_sub_epi64(zero, v));
        const __m512i value = _mm512_sub_epi64(c63, _mm512_lzcnt_epi64(v));
        p = _mm512_add_epi64(p, _mm512_mul_epu32(value, _mm512_set1_epi64(cc->radix)));
    }
    _mm256_mask_storeu_epi32(out, valid, _mm512_cvtepi64_epi32(p));
}

/* Row A of a run of pairs, held while the pairs share it: its 8-slot blocks,
 * each with its rotations within groups, and its non-zero slots. */
typedef struct row_a {
    __m512i v[ROW_ZMM][4];
    __mmask8 nz[ROW_ZMM];
} row_a;

TARGET_AVX512 static inline void load_row_a(const rows *R, const uint64_t *a, row_a *A,
                                            unsigned n_zmm)
{
    for (unsigned w = 0; w < n_zmm; w++) {
        const __m512i va = _mm512_load_si512(a + 8 * w);
        A->v[w][0] = va;
        A->nz[w] = _mm512_test_epi64_mask(va, va);
        for (unsigned r = 0; r < R->n_rot[w]; r++)
            A->v[w][r + 1] = _mm512_permutexvar_epi64(_mm512_loadu_si512(R->rot[w][r]), va);
    }
}

/* Pairs PREFETCH ahead: row B's lines, and row A's when the run changes. */
static inline void prefetch_run(const rows *R, const dl_pair *p, unsigned n_zmm)
{
    const char *b = (const char *)(R->v + (size_t)p->j * R->slots);
    for (unsigned w = 0; w < n_zmm; w++)
        __builtin_prefetch(b + 64 * w);
    if (p[0].i != p[-1].i) {
        const char *a = (const char *)(R->v + (size_t)p->i * R->slots);
        for (unsigned w = 0; w < n_zmm; w++)
            __builtin_prefetch(a + 64 * w);
    }
}

/* Eight slots a compare. Blocking emits a block's pairs as runs that share
 * i, so row A and its rotations within set groups are made once a run
 * (load_row_a), and each pair compares row B with them: a slot of B agrees
 * when it is not 0 and equals a slot of A's group, which folded over the
 * group is the same column bit as the other way round. The exact and null
 * level bits are gathered in one instruction each (VPSHUFBITQMB: bit x of
 * the result is bit GATHER[x] of the broadcast mask); the rest is decided
 * eight pairs at a time, a pair a lane (decide8). No loop over levels runs
 * per pair. */
TARGET_AVX512 static inline __attribute__((always_inline)) void
rows_avx512_body(const dl_comparator *c, const dl_pair *pairs, size_t n, const uint32_t *nab,
                 uint32_t *out, const unsigned n_zmm)
{
    const rows *R = c->rows;
    const vec_tables *V = &R->vec;
    if (n == 0) /* PAIRS may be any pointer then: read nothing */
        return;
    const __m512i gather = _mm512_loadu_si512(R->gather);
    row_a A;
    const uint64_t *a = R->v + (size_t)pairs[0].i * R->slots;
    load_row_a(R, a, &A, n_zmm);
    /* eight pairs' masks and popcounts; lanes past the last pair are 0 */
    uint64_t bm[8] = {0}, blv[8] = {0};
    uint32_t pa[ROW_MAX_BITS][8], pb[ROW_MAX_BITS][8];
    memset(pa, 0, V->n_pop * sizeof pa[0]);
    memset(pb, 0, V->n_pop * sizeof pb[0]);
    for (size_t k0 = 0; k0 < n; k0 += 8) {
        const size_t nk = n - k0 < 8 ? n - k0 : 8;
        for (size_t q = 0; q < nk; q++) {
            const size_t k = k0 + q;
            if (k + ROW_PREFETCH < n)
                prefetch_run(R, &pairs[k + ROW_PREFETCH], n_zmm);
            if (k && pairs[k].i != pairs[k - 1].i) {
                a = R->v + (size_t)pairs[k].i * R->slots;
                load_row_a(R, a, &A, n_zmm);
            }
            const uint64_t *b = R->v + (size_t)pairs[k].j * R->slots;
            uint64_t agree = 0, both = 0;
            for (unsigned w = 0; w < n_zmm; w++) {
                const __m512i vb = _mm512_load_si512(b + 8 * w);
                __mmask8 eq = _mm512_cmpeq_epi64_mask(A.v[w][0], vb);
                for (unsigned r = 1; r <= R->n_rot[w]; r++)
                    eq |= _mm512_cmpeq_epi64_mask(A.v[w][r], vb);
                const __mmask8 nzb = _mm512_test_epi64_mask(vb, vb);
                agree |= (uint64_t)(eq & nzb) << (8 * w);
                both |= (uint64_t)(A.nz[w] & nzb) << (8 * w);
            }
            const uint64_t m = fold(R, agree);
            uint64_t lv =
                (_mm512_bitshuffle_epi64_mask(_mm512_set1_epi64((long long)m), gather) &
                 R->exact_bits) |
                (_mm512_bitshuffle_epi64_mask(_mm512_set1_epi64((long long)~both), gather) &
                 R->null_bits);
            lv |= reversed_bits(R, a, b);
            bm[q] = m;
            blv[q] = lv;
            for (size_t x = 0; x < V->n_pop; x++) {
                pa[x][q] = (uint32_t)a[V->pop_slot[x]];
                pb[x][q] = (uint32_t)b[V->pop_slot[x]];
            }
        }
        decide8(c, R, _mm512_loadu_si512(bm), _mm512_loadu_si512(blv),
                (const uint32_t(*)[8])pa, (const uint32_t(*)[8])pb, nab + k0, n,
                (__mmask8)((1u << nk) - 1u), out + k0);
    }
}

/* The body with its number of 8-slot blocks a constant, so that the block
 * loop unrolls and row A stays in registers. */
TARGET_AVX512 static void chunk_rows_avx512(const dl_comparator *c, const dl_pair *pairs,
                                            size_t n, const uint32_t *nab, uint32_t *out)
{
    switch (c->rows->n_zmm) {
#define ROWS_CASE(Z)                                                                       \
    case Z:                                                                                \
        rows_avx512_body(c, pairs, n, nab, out, Z);                                        \
        break;
        ROWS_CASE(1)
        ROWS_CASE(2)
        ROWS_CASE(3)
        ROWS_CASE(4)
        ROWS_CASE(5)
        ROWS_CASE(6)
        ROWS_CASE(7)
#undef ROWS_CASE
    default:
        rows_avx512_body(c, pairs, n, nab, out, ROW_ZMM);
        break;
    }
}
#endif

static bool cpu_has(enum kernel_kind k)
{
    if (k != K_ROWS_AVX512)
        return true;
#ifdef DL_X86_KERNELS
    __builtin_cpu_init();
    /* also checks that the OS saves the AVX-512 registers */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512cd") &&
           __builtin_cpu_supports("avx512bitalg") &&
           __builtin_cpu_supports("avx512vpopcntdq");
#else
    return false;
#endif
}

/* The fastest kernel C can use: rows when its spec fits one. */
static enum kernel_kind best_kernel(const dl_comparator *c)
{
    if (!c->rows)
        return K_COLUMNS;
    return cpu_has(K_ROWS_AVX512) ? K_ROWS_AVX512 : K_ROWS_PORTABLE;
}

const char *dl__comparator_kernel(const dl_comparator *c)
{
    return kernel_names[c->kernel];
}

bool dl__comparator_force(dl_comparator *c, const char *name)
{
    if (!name || strcmp(name, "auto") == 0) {
        c->kernel = best_kernel(c);
        return true;
    }
    for (size_t k = 0; k < sizeof kernel_names / sizeof kernel_names[0]; k++)
        if (strcmp(name, kernel_names[k]) == 0) {
            if ((k != K_COLUMNS && !c->rows) || !cpu_has((enum kernel_kind)k))
                return false;
            c->kernel = (enum kernel_kind)k;
            return true;
        }
    return false;
}

size_t dl__comparator_bytes(const dl_comparator *c)
{
    return c->rows ? c->rows->slots * sizeof *c->rows->v : 0;
}

/* Patterns of N <= c->chunk pairs into OUT: the chunk's Dice counts, for
 * every filter column a dice level reads, in one batch call each (where the
 * kernel is inlined), then the levels. */
static void compare_chunk(const dl_comparator *c, const dl_pair *pairs, size_t n,
                          uint32_t *out)
{
    uint32_t nab[NAB_CELLS];
    for (size_t d = 0; d < c->n_dcol; d++)
        dl__and_popcount_many(c->dcols[d].bits, c->dcols[d].words, pairs, n, nab + d * n);
    switch (c->kernel) {
#ifdef DL_X86_KERNELS
    case K_ROWS_AVX512:
        chunk_rows_avx512(c, pairs, n, nab, out);
        break;
#endif
    case K_ROWS_PORTABLE:
        chunk_rows_portable(c, pairs, n, nab, out);
        break;
    default:
        chunk_columns(c, pairs, n, nab, out);
        break;
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
