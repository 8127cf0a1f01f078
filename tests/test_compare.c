/* test_compare.c: comparison levels, patterns and the Dice kernels
 * (linkage/compare.c, linkage/dice.c), over stores built by hand. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

/* ---- a spec and a hand-built store ---------------------------------------- */

/* Lines 1-8; comparisons start on line 9. */
#define HEAD                                                                               \
    "version: 1\n"                                                                         \
    "name: t\n"                                                                            \
    "input: {record_id: id}\n"                                                             \
    "blocking: {rules: [[gn.token]]}\n"                                                    \
    "fields:\n"                                                                            \
    "  - {name: gn, column: fn, type: given_name,\n"                                       \
    "     features: [token, dmetaphone, bloom, initial, variant]}\n"                       \
    "  - {name: dob, column: d, type: date, features: [token, year, month, day, swap]}\n"

#define N_REC 8
#define WORDS 16

typedef struct fixture {
    dl_spec *spec;
    dl_store st;
} fixture;

static void fx_init(fixture *fx, const char *yaml, size_t n_rec, size_t words)
{
    dl_error e = DL_ERROR_INIT;
    char buf[600];
    memset(fx, 0, sizeof *fx);
    cr_assert_eq(dl_spec_parse("t.yaml", yaml, strlen(yaml), &fx->spec, &e), DL_OK, "%s",
                 dl_error_format(&e, buf, sizeof buf));
    dl_store *s = &fx->st;
    s->n = n_rec;
    for (size_t f = 0; f < DL_SPEC_MAX_FIELDS; f++)
        for (size_t k = 0; k < DL_FEAT__COUNT; k++)
            s->col_of[f][k] = -1;
    s->clk_col = -1;
    s->cols = calloc(DL_SPEC_MAX_FIELDS, sizeof *s->cols);
    for (size_t f = 0; f < fx->spec->n_fields; f++) {
        const dl_spec_field *fd = &fx->spec->fields[f];
        for (size_t x = 0; x < fd->n_features; x++) {
            dl_store_col *c = &s->cols[s->n_cols];
            snprintf(c->name, sizeof c->name, "%s.%s", fd->name,
                     dl_feature_name(fd->features[x]));
            c->field = (int)f;
            c->kind = fd->features[x];
            if (c->kind == DL_FEAT_BLOOM) {
                c->filter = true;
                c->words = words;
                /* rounded up to a multiple of 64 bytes, as aligned_alloc wants */
                size_t bytes = (n_rec * words * 8 + 63) / 64 * 64;
                c->bits = aligned_alloc(64, bytes ? bytes : 64);
                memset(c->bits, 0, bytes);
                c->pop = calloc(n_rec, sizeof *c->pop);
            } else {
                c->stride = dl_feature_is_set(c->kind) ? DL_TOKEN_SET_MAX : 1;
                c->tok = calloc(n_rec * c->stride, sizeof *c->tok);
            }
            s->col_of[f][c->kind] = (int)s->n_cols++;
        }
    }
}

static void fx_free(fixture *fx)
{
    for (size_t c = 0; c < fx->st.n_cols; c++) {
        free(fx->st.cols[c].tok);
        free(fx->st.cols[c].bits);
        free(fx->st.cols[c].pop);
    }
    free(fx->st.cols);
    dl_spec_free(fx->spec);
}

static dl_store_col *col(fixture *fx, const char *name)
{
    for (size_t c = 0; c < fx->st.n_cols; c++)
        if (strcmp(fx->st.cols[c].name, name) == 0)
            return &fx->st.cols[c];
    cr_assert_fail("no column %s", name);
    return NULL;
}

/* Record R's tokens of column NAME: up to four, 0-terminated, stored sorted. */
static void set_tok(fixture *fx, const char *name, size_t r, uint64_t a, uint64_t b)
{
    dl_store_col *c = col(fx, name);
    uint64_t *t = c->tok + r * c->stride;
    memset(t, 0, c->stride * sizeof *t);
    t[0] = a < b || !b ? a : b;
    if (b && c->stride > 1)
        t[1] = a < b ? b : a;
}

/* Record R's filter of column NAME: the bits FROM .. TO - 1 set. */
static void set_bits(fixture *fx, const char *name, size_t r, unsigned from, unsigned to)
{
    dl_store_col *c = col(fx, name);
    uint64_t *w = c->bits + r * c->words;
    memset(w, 0, c->words * 8);
    for (unsigned b = from; b < to; b++)
        w[b / 64] |= UINT64_C(1) << (b % 64);
    c->pop[r] = to - from;
}

static dl_comparator *comparator(fixture *fx)
{
    dl_error e = DL_ERROR_INIT;
    char buf[600];
    dl_comparator *c = NULL;
    cr_assert_eq(dl__comparator_new(fx->spec, &fx->st, &c, &e), DL_OK, "%s",
                 dl_error_format(&e, buf, sizeof buf));
    return c;
}

/* Value of comparison COMP for records I and J, via dl__compare and, to
 * check they agree, via dl__compare_many in both orders of the pair. */
static unsigned value(const dl_comparator *c, uint32_t i, uint32_t j, size_t comp)
{
    uint32_t p = dl__compare(c, i, j);
    dl_pair pairs[2] = {{i, j}, {j, i}};
    uint32_t out[2];
    dl__compare_many(c, pairs, 2, out);
    cr_assert_eq(out[0], p);
    cr_assert_eq(out[1], p, "the pattern depends on the order of the pair");
    return dl__pattern_value(c, p, comp);
}

/* YAML of comparison "gn" with these levels (one per line, as flow maps). */
#define GN_COMPARISON(LEVELS) "comparisons:\n  - name: gn\n    levels:\n" LEVELS

/* ---- each level kind ------------------------------------------------------ */

Test(compare, exact_single_token_agrees_or_falls_to_else)
{
    fixture fx;
    fx_init(&fx, HEAD GN_COMPARISON("      - {exact: gn.token}\n"), N_REC, WORDS);
    set_tok(&fx, "gn.token", 0, 11, 0);
    set_tok(&fx, "gn.token", 1, 11, 0);
    set_tok(&fx, "gn.token", 2, 12, 0);
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(dl__comparator_n_comparisons(c), 1);
    cr_assert_eq(dl__comparator_n_levels(c, 0), 3); /* null, exact, else */
    cr_assert_eq(dl__comparator_n_patterns(c), 3);
    cr_assert_eq(value(c, 0, 1, 0), 1);
    cr_assert_eq(value(c, 0, 2, 0), 2);
    cr_assert_eq(value(c, 0, 3, 0), 0, "record 3 lacks gn.token: null");
    cr_assert_eq(value(c, 3, 4, 0), 0, "both missing: null, not agreement");
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, exact_token_sets_agree_when_they_intersect)
{
    fixture fx;
    fx_init(&fx, HEAD GN_COMPARISON("      - {exact: gn.dmetaphone}\n"), N_REC, WORDS);
    for (size_t r = 0; r < N_REC; r++)
        set_tok(&fx, "gn.token", r, 100 + r, 0); /* null_if: present everywhere */
    set_tok(&fx, "gn.dmetaphone", 0, 5, 9);
    set_tok(&fx, "gn.dmetaphone", 1, 9, 0);  /* shares 9 with record 0 */
    set_tok(&fx, "gn.dmetaphone", 2, 3, 4);  /* shares nothing */
    set_tok(&fx, "gn.dmetaphone", 3, 7, 5);  /* shares 5 (stored sorted: 5, 7) */
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 1);
    cr_assert_eq(value(c, 0, 2, 0), 2);
    cr_assert_eq(value(c, 0, 3, 0), 1);
    cr_assert_eq(value(c, 1, 3, 0), 2);
    cr_assert_eq(value(c, 0, 4, 0), 0, "null_if defaults to the first level's feature");
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, count_level_needs_min_count_agreeing_terms)
{
    fixture fx;
    fx_init(&fx,
            HEAD "comparisons:\n  - name: dob\n    levels:\n"
                 "      - {exact: dob.token}\n"
                 "      - {count: [dob.year, dob.month, dob.day], min: 2}\n"
                 "      - {count: [dob.year, dob.month, dob.day], min: 1}\n",
            N_REC, WORDS);
    /* record: token, year, month, day */
    const uint64_t d[5][4] = {
        {1, 1980, 3, 14}, /* 0 */
        {2, 1980, 3, 15}, /* 1: year and month agree with 0 */
        {3, 1981, 3, 16}, /* 2: month only */
        {4, 1982, 4, 17}, /* 3: nothing */
        {1, 1980, 3, 14}, /* 4: identical to 0 */
    };
    for (size_t r = 0; r < 5; r++) {
        set_tok(&fx, "dob.token", r, d[r][0], 0);
        set_tok(&fx, "dob.year", r, d[r][1], 0);
        set_tok(&fx, "dob.month", r, d[r][2], 0);
        set_tok(&fx, "dob.day", r, d[r][3], 0);
    }
    /* record 5: a date whose day is missing but whose year and month agree with 0 */
    set_tok(&fx, "dob.token", 5, 6, 0);
    set_tok(&fx, "dob.year", 5, 1980, 0);
    set_tok(&fx, "dob.month", 5, 3, 0);
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(dl__comparator_n_levels(c, 0), 5);
    cr_assert_eq(value(c, 0, 4, 0), 1);
    cr_assert_eq(value(c, 0, 1, 0), 2);
    cr_assert_eq(value(c, 0, 2, 0), 3);
    cr_assert_eq(value(c, 0, 3, 0), 4, "no part agrees: else");
    cr_assert_eq(value(c, 0, 5, 0), 2, "a missing part does not agree, the others count");
    cr_assert_eq(value(c, 2, 5, 0), 3);
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, count_level_over_token_sets)
{
    fixture fx;
    fx_init(&fx,
            HEAD GN_COMPARISON("      - {count: [gn.dmetaphone, gn.variant, gn.initial], min: 2}\n"),
            N_REC, WORDS);
    for (size_t r = 0; r < 3; r++) {
        set_tok(&fx, "gn.token", r, 10 + r, 0);
        set_tok(&fx, "gn.initial", r, 77, 0);
    }
    set_tok(&fx, "gn.dmetaphone", 0, 1, 2);
    set_tok(&fx, "gn.dmetaphone", 1, 2, 3);  /* intersects 0 */
    set_tok(&fx, "gn.dmetaphone", 2, 4, 5);  /* does not */
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 1, "dmetaphone and initial agree");
    cr_assert_eq(value(c, 0, 2, 0), 2, "only the initial agrees");
    dl__comparator_free(c);
    fx_free(&fx);
}

/* ---- order, null, else ------------------------------------------------------ */

Test(compare, first_matching_level_wins)
{
    fixture fx;
    fx_init(&fx,
            HEAD GN_COMPARISON("      - {exact: gn.token}\n"
                               "      - {exact: gn.variant}\n"
                               "      - {exact: gn.dmetaphone}\n"
                               "      - {exact: gn.initial}\n"),
            N_REC, WORDS);
    /* 0 and 1 agree on everything; 0 and 2 on variant, dmetaphone, initial;
     * 0 and 3 on dmetaphone and initial; 0 and 4 on the initial only. */
    const uint64_t v[5][4] = {
        {1, 50, 60, 70}, {1, 50, 60, 70}, {2, 50, 60, 70}, {3, 51, 60, 70}, {4, 52, 61, 70},
    };
    for (size_t r = 0; r < 5; r++) {
        set_tok(&fx, "gn.token", r, v[r][0], 0);
        set_tok(&fx, "gn.variant", r, v[r][1], 0);
        set_tok(&fx, "gn.dmetaphone", r, v[r][2], 0);
        set_tok(&fx, "gn.initial", r, v[r][3], 0);
    }
    dl_comparator *c = comparator(&fx);
    for (uint32_t r = 1; r < 5; r++)
        cr_assert_eq(value(c, 0, r, 0), r, "pair (0, %u)", r);
    /* and 4 vs 3: initial only, again level 4 */
    cr_assert_eq(value(c, 3, 4, 0), 4);
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, null_follows_null_if_not_the_levels)
{
    /* null_if on the initial: a record without a token but with an initial
     * is compared (and falls to else); without an initial it is null, even
     * when a level would agree. */
    fixture fx;
    fx_init(&fx,
            HEAD "comparisons:\n  - name: gn\n    null_if: gn.initial\n    levels:\n"
                 "      - {exact: gn.token}\n      - {exact: gn.dmetaphone}\n",
            N_REC, WORDS);
    set_tok(&fx, "gn.initial", 0, 70, 0);
    set_tok(&fx, "gn.token", 0, 1, 0);
    set_tok(&fx, "gn.initial", 1, 71, 0); /* no token */
    set_tok(&fx, "gn.token", 2, 1, 0);    /* token agrees with 0, but no initial */
    set_tok(&fx, "gn.dmetaphone", 0, 9, 0);
    set_tok(&fx, "gn.dmetaphone", 1, 9, 0);
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 2, "token missing on one side, dmetaphone agrees");
    cr_assert_eq(value(c, 0, 2, 0), 0, "null_if missing: null despite an agreeing token");
    /* the comparator copies the tokens it reads: a changed store needs a new one */
    set_tok(&fx, "gn.dmetaphone", 1, 8, 0);
    dl__comparator_free(c);
    c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 3, "nothing agrees: else");
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, null_if_a_filter_uses_its_popcount)
{
    fixture fx;
    fx_init(&fx, HEAD GN_COMPARISON("      - {dice: gn.bloom, min: 0.5}\n"), N_REC, WORDS);
    set_bits(&fx, "gn.bloom", 0, 0, 10);
    set_bits(&fx, "gn.bloom", 1, 0, 10);
    set_bits(&fx, "gn.bloom", 2, 500, 510);
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 1);
    cr_assert_eq(value(c, 0, 2, 0), 2);
    cr_assert_eq(value(c, 0, 3, 0), 0, "record 3 has an empty filter: null");
    dl__comparator_free(c);
    fx_free(&fx);
}

/* ---- Dice thresholds ---------------------------------------------------------- */

#define NAME_LEVELS                                                                        \
    GN_COMPARISON("      - {exact: gn.token}\n"                                            \
                  "      - {dice: gn.bloom, min: 0.9}\n"                                   \
                  "      - {exact: gn.dmetaphone}\n"                                       \
                  "      - {dice: gn.bloom, min: 0.75}\n")

Test(compare, dice_exactly_at_threshold_is_met)
{
    fixture fx;
    fx_init(&fx, HEAD NAME_LEVELS, N_REC, WORDS);
    for (size_t r = 0; r < N_REC; r++)
        set_tok(&fx, "gn.token", r, 100 + r, 0);
    set_bits(&fx, "gn.bloom", 0, 0, 10);
    set_bits(&fx, "gn.bloom", 1, 1, 11);   /* 9 shared of 10 + 10: Dice 0.9 exactly */
    set_bits(&fx, "gn.bloom", 2, 2, 12);   /* 8 of 10 + 10: 0.8 */
    set_bits(&fx, "gn.bloom", 3, 0, 6);    /* 6 of 10 + 6: 0.75 exactly */
    set_bits(&fx, "gn.bloom", 4, 3, 13);   /* 7 of 10 + 10: 0.7 */
    set_bits(&fx, "gn.bloom", 5, 1, 1000); /* 9 of 10 + 999: Dice ~0.018 */
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 2);
    cr_assert_eq(value(c, 0, 2, 0), 4);
    cr_assert_eq(value(c, 0, 3, 0), 4);
    cr_assert_eq(value(c, 0, 4, 0), 5);
    cr_assert_eq(value(c, 0, 5, 0), 5);
    /* one bit less than the threshold needs: 0.9 wants 2|A&B| >= 0.9 * 20 */
    set_bits(&fx, "gn.bloom", 1, 1, 12);   /* 9 of 10 + 11: 18/21 = 0.857 */
    dl__comparator_free(c);                /* it copied the old popcounts */
    c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 4);
    dl__comparator_free(c);
    fx_free(&fx);
}

/* Thresholds whose exact Dice a comparison of doubles misses: 2 * 7 >=
 * 0.56 * 25 is false in binary floating point (0.56 is stored as slightly
 * more), though 14/25 = 0.56. Found by a search over two-digit thresholds. */
Test(compare, dice_threshold_compared_as_decimal_not_binary)
{
    cr_assert(2.0 * 7 < 0.56 * 25.0, "premise: doubles miss this boundary");
    cr_assert(2.0 * 55 < 0.55 * 200.0, "premise: doubles miss this boundary");
    fixture fx;
    fx_init(&fx,
            HEAD GN_COMPARISON("      - {dice: gn.bloom, min: 0.56}\n"
                               "      - {dice: gn.bloom, min: 0.55}\n"),
            N_REC, WORDS);
    set_bits(&fx, "gn.bloom", 0, 0, 12);
    set_bits(&fx, "gn.bloom", 1, 5, 18);     /* |B| 13, shared 7: 14/25 = 0.56 */
    set_bits(&fx, "gn.bloom", 2, 0, 100);
    set_bits(&fx, "gn.bloom", 3, 45, 145);   /* 55 of 100 + 100: 0.55 */
    set_bits(&fx, "gn.bloom", 4, 46, 146);   /* 54 of 100 + 100: 0.54 */
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 1);
    cr_assert_eq(value(c, 2, 3, 0), 2);
    cr_assert_eq(value(c, 2, 4, 0), 3);
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, dice_empty_filter_is_not_met_and_min_one_means_identical)
{
    fixture fx;
    fx_init(&fx,
            HEAD "comparisons:\n  - name: gn\n    null_if: gn.token\n    levels:\n"
                 "      - {dice: gn.bloom, min: 1}\n      - {dice: gn.bloom, min: 0.01}\n",
            N_REC, WORDS);
    for (size_t r = 0; r < N_REC; r++)
        set_tok(&fx, "gn.token", r, 100 + r, 0);
    set_bits(&fx, "gn.bloom", 0, 0, 40);
    set_bits(&fx, "gn.bloom", 1, 0, 40);
    set_bits(&fx, "gn.bloom", 2, 0, 39);
    set_bits(&fx, "gn.bloom", 3, 30, 130);  /* 10 of 40 + 100: 0.14 */
    set_bits(&fx, "gn.bloom", 6, 600, 700); /* nothing shared: Dice 0 */
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 1);
    cr_assert_eq(value(c, 0, 2, 0), 2, "one bit short of identical");
    cr_assert_eq(value(c, 0, 3, 0), 2);
    cr_assert_eq(value(c, 0, 6, 0), 3);
    cr_assert_eq(value(c, 0, 4, 0), 3, "an empty filter meets no dice level");
    cr_assert_eq(value(c, 4, 5, 0), 3);
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, dice_on_filters_of_odd_word_counts)
{
    /* 3 words (192 bits): the AVX kernels' tails carry everything. */
    fixture fx;
    fx_init(&fx, HEAD GN_COMPARISON("      - {dice: gn.bloom, min: 0.8}\n"), N_REC, 3);
    set_bits(&fx, "gn.bloom", 0, 100, 192);  /* 92 bits */
    set_bits(&fx, "gn.bloom", 1, 110, 192);  /* 82: 164/174 = 0.94 */
    set_bits(&fx, "gn.bloom", 2, 150, 192);  /* 42: 84/134 = 0.63 */
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(value(c, 0, 1, 0), 1);
    cr_assert_eq(value(c, 0, 2, 0), 2);
    dl__comparator_free(c);
    fx_free(&fx);
}

/* ---- patterns --------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd64(void)
{
    /* xorshift64*: fixed seed, so a failure repeats */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1du;
}

#define THREE_COMPARISONS                                                                  \
    "comparisons:\n"                                                                       \
    "  - name: gn\n    levels:\n"                                                          \
    "      - {exact: gn.token}\n      - {dice: gn.bloom, min: 0.8}\n"                      \
    "      - {exact: gn.dmetaphone}\n      - {dice: gn.bloom, min: 0.5}\n"                 \
    "  - name: init\n    levels:\n      - {exact: gn.initial}\n"                           \
    "  - name: dob\n    levels:\n"                                                         \
    "      - {exact: dob.token}\n      - {exact: dob.swap}\n"                              \
    "      - {count: [dob.year, dob.month, dob.day], min: 2}\n"

/* Random records drawn from small alphabets, so that every level happens. */
static void fill_random(fixture *fx, size_t n)
{
    for (size_t r = 0; r < n; r++) {
        uint64_t x = rnd64();
        set_tok(fx, "gn.token", r, x % 9, 0); /* 0: missing */
        set_tok(fx, "gn.initial", r, (x >> 8) % 3, 0);
        set_tok(fx, "gn.dmetaphone", r, 1 + (x >> 12) % 5, (x >> 16) % 5);
        unsigned from = (unsigned)((x >> 20) % 40), len = (unsigned)((x >> 28) % 60);
        if ((x >> 36) % 7 == 0)
            len = 0;
        set_bits(fx, "gn.bloom", r, from, from + len);
        set_tok(fx, "dob.token", r, (x >> 40) % 6, 0);
        set_tok(fx, "dob.swap", r, 1 + (x >> 44) % 4, 0);
        set_tok(fx, "dob.year", r, 1 + (x >> 48) % 3, 0);
        set_tok(fx, "dob.month", r, 1 + (x >> 52) % 3, 0);
        set_tok(fx, "dob.day", r, (x >> 56) % 3, 0);
    }
}

Test(compare, pattern_is_mixed_radix_and_decodes)
{
    fixture fx;
    fx_init(&fx, HEAD THREE_COMPARISONS, 300, WORDS);
    fill_random(&fx, 300);
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(dl__comparator_n_comparisons(c), 3);
    cr_assert_eq(dl__comparator_n_levels(c, 0), 6);
    cr_assert_eq(dl__comparator_n_levels(c, 1), 3);
    cr_assert_eq(dl__comparator_n_levels(c, 2), 5);
    cr_assert_eq(dl__comparator_n_levels(c, 3), 0, "no such comparison");
    cr_assert_eq(dl__comparator_n_patterns(c), 6 * 3 * 5);
    /* a pattern is v0 + 6 v1 + 18 v2: decode each, and see every value of
     * every comparison occur among random pairs */
    for (uint32_t p = 0; p < 90; p++) {
        cr_assert_eq(dl__pattern_value(c, p, 0), p % 6);
        cr_assert_eq(dl__pattern_value(c, p, 1), p / 6 % 3);
        cr_assert_eq(dl__pattern_value(c, p, 2), p / 18);
    }
    bool seen[3][6] = {{false}};
    for (uint32_t i = 0; i < 300; i++)
        for (uint32_t j = i + 1; j < 300; j += 7) {
            uint32_t p = dl__compare(c, i, j);
            cr_assert_lt(p, 90);
            for (size_t k = 0; k < 3; k++)
                seen[k][dl__pattern_value(c, p, k)] = true;
        }
    for (size_t k = 0; k < 3; k++)
        for (size_t v = 0; v < dl__comparator_n_levels(c, k); v++)
            cr_assert(seen[k][v], "comparison %zu never had value %zu", k, v);
    dl__comparator_free(c);
    fx_free(&fx);
}

/* A reference comparator written plainly from the rules, to check the
 * compiled one on random data: the three comparisons above. */
static unsigned ref_dice(fixture *fx, size_t i, size_t j, double t)
{
    dl_store_col *b = col(fx, "gn.bloom");
    uint64_t na = b->pop[i], nb = b->pop[j], nab = 0;
    if (!na || !nb)
        return 0;
    for (size_t w = 0; w < b->words; w++)
        nab += (uint64_t)__builtin_popcountll(b->bits[i * b->words + w] &
                                              b->bits[j * b->words + w]);
    /* exact rational comparison at the test's thresholds (0.8 = 4/5, 0.5 = 1/2) */
    uint64_t num = (uint64_t)(t * 10 + 0.5);
    return 2 * nab * 10 >= num * (na + nb);
}

static uint32_t ref_pattern(fixture *fx, size_t i, size_t j)
{
#define AG(name) dl__tok_agree(col(fx, name), i, j)
#define MISS(name) dl__col_missing(col(fx, name), i) || dl__col_missing(col(fx, name), j)
    unsigned v0, v1, v2;
    if (MISS("gn.token"))
        v0 = 0;
    else
        v0 = AG("gn.token") ? 1 : ref_dice(fx, i, j, 0.8) ? 2 : AG("gn.dmetaphone") ? 3
           : ref_dice(fx, i, j, 0.5) ? 4 : 5;
    v1 = MISS("gn.initial") ? 0 : AG("gn.initial") ? 1 : 2;
    if (MISS("dob.token"))
        v2 = 0;
    else
        v2 = AG("dob.token") ? 1 : AG("dob.swap") ? 2
           : AG("dob.year") + AG("dob.month") + AG("dob.day") >= 2 ? 3 : 4;
    return v0 + 6 * v1 + 18 * v2;
#undef AG
#undef MISS
}

static const char *const kernel_names[] = {"portable", "popcnt", "avx2", "avx512-vpopcntdq"};
static const char *const compare_kernels[] = {"columns", "rows-portable", "rows-avx512"};

Test(compare, compare_many_matches_reference_on_every_kernel)
{
    fixture fx;
    fx_init(&fx, HEAD THREE_COMPARISONS, 500, WORDS);
    fill_random(&fx, 500);
    dl_comparator *c = comparator(&fx);
    size_t n = 20000;
    dl_pair *pairs = malloc(n * sizeof *pairs);
    uint32_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    for (size_t k = 0; k < n; k++) {
        pairs[k].i = (uint32_t)(rnd64() % 500);
        pairs[k].j = (uint32_t)(rnd64() % 500);
        want[k] = ref_pattern(&fx, pairs[k].i, pairs[k].j);
    }
    int kernels_run = 0;
    for (size_t x = 0; x < 4; x++) {
        if (!dl__dice_force(kernel_names[x]))
            continue;
        cr_assert_str_eq(dl__dice_kernel(), kernel_names[x]);
        for (size_t y = 0; y < 3; y++) {
            if (!dl__comparator_force(c, compare_kernels[y]))
                continue;
            kernels_run++;
            memset(got, 0xff, n * sizeof *got);
            dl__compare_many(c, pairs, n, got);
            for (size_t k = 0; k < n; k++)
                cr_assert_eq(got[k], want[k],
                             "kernels %s, %s, pair %zu (%u, %u): %u, expected %u",
                             kernel_names[x], compare_kernels[y], k, pairs[k].i, pairs[k].j,
                             got[k], want[k]);
        }
    }
    cr_assert(dl__dice_force("auto"));
    cr_assert(dl__comparator_force(c, "auto"));
    cr_assert_geq(kernels_run, 1);
    free(pairs);
    free(want);
    free(got);
    dl__comparator_free(c);
    fx_free(&fx);
}

/* ---- the comparator's kernels: rows and columns ------------------------------ */

/* Two names with filters, a date with a set (year_pm1), and every level
 * kind, null_if on a filter and on a column no level reads, a count over
 * sets and columns of other fields: what the row layout must place. */
#define ROWS_SPEC                                                                          \
    "version: 1\n"                                                                         \
    "name: t\n"                                                                            \
    "input: {record_id: id}\n"                                                             \
    "blocking: {rules: [[gn.token]]}\n"                                                    \
    "fields:\n"                                                                            \
    "  - {name: gn, column: fn, type: given_name,\n"                                       \
    "     features: [token, dmetaphone, bloom, initial, variant]}\n"                       \
    "  - {name: sn, column: sn, type: surname, features: [token, dmetaphone, bloom, variant]}\n" \
    "  - {name: dob, column: d, type: date,\n"                                             \
    "     features: [token, year, month, day, swap, year_pm1]}\n"                          \
    "comparisons:\n"                                                                       \
    "  - name: gn\n    levels:\n"                                                          \
    "      - {exact: gn.token}\n      - {exact: gn.variant}\n"                             \
    "      - {dice: gn.bloom, min: 0.9}\n      - {exact: gn.dmetaphone}\n"                 \
    "      - {dice: gn.bloom, min: 0.6}\n      - {exact: gn.initial}\n"                    \
    "  - name: sn\n    null_if: sn.bloom\n    levels:\n"                                   \
    "      - {exact: sn.token}\n      - {exact: sn.variant}\n"                             \
    "      - {dice: sn.bloom, min: 0.8}\n      - {exact: sn.dmetaphone}\n"                 \
    "  - name: dob\n    levels:\n"                                                         \
    "      - {exact: dob.token}\n      - {exact: dob.swap}\n"                              \
    "      - {count: [dob.year, dob.month, dob.day], min: 2}\n"                             \
    "      - {exact: dob.year_pm1}\n"                                                      \
    "      - {count: [gn.initial, sn.dmetaphone, dob.year, gn.variant], min: 3}\n"          \
    "  - name: init\n    null_if: dob.day\n    levels: [{exact: gn.initial}]\n"

/* Give token column NAME STRIDE slots a record (as the store packs sets to
 * the most tokens any record has), all 0. */
static void narrow(fixture *fx, const char *name, unsigned stride)
{
    dl_store_col *c = col(fx, name);
    free(c->tok);
    c->stride = (uint8_t)stride;
    c->tok = calloc(fx->st.n * stride, sizeof *c->tok);
}

/* Every column random from a small alphabet, so that every level happens;
 * filters of 0 (missing) to 40 bits in a window of 60. */
static void fill_columns(fixture *fx)
{
    for (size_t c = 0; c < fx->st.n_cols; c++) {
        dl_store_col *sc = &fx->st.cols[c];
        for (size_t r = 0; r < fx->st.n; r++) {
            uint64_t x = rnd64();
            if (sc->filter) {
                unsigned from = (unsigned)(x % 20), len = (unsigned)((x >> 8) % 41);
                uint64_t *w = sc->bits + r * sc->words;
                memset(w, 0, sc->words * 8);
                for (unsigned b = from; b < from + len; b++)
                    w[b / 64] |= UINT64_C(1) << (b % 64);
                sc->pop[r] = len;
                continue;
            }
            uint64_t *t = sc->tok + r * sc->stride;
            memset(t, 0, sc->stride * sizeof *t);
            /* a quarter missing; else a token from 1..3, or a set of up to
             * STRIDE distinct tokens from 1..5, each drawn with odds 1/2 */
            if ((x >> 16) % 4 == 0)
                continue;
            if (sc->stride == 1) {
                t[0] = 1 + (x >> 20) % 3;
                continue;
            }
            unsigned have = 0;
            for (uint64_t v = 1; v <= 5 && have < sc->stride; v++)
                if ((x >> (24 + v)) & 1)
                    t[have++] = v * UINT64_C(0x0100000000000001); /* large, ascending */
        }
    }
}

Test(compare, row_kernels_match_the_column_kernel)
{
    /* set sizes as the store packs them: 1 to 4 slots, 3 padded to a group of 4 */
    static const unsigned strides[][4] = {
        {4, 4, 4, 2}, {2, 3, 2, 2}, {1, 2, 4, 1}, {3, 1, 3, 2}, {2, 2, 1, 2}};
    static const char *const sets[4] = {"gn.dmetaphone", "gn.variant", "sn.dmetaphone",
                                        "dob.year_pm1"};
    const size_t n_rec = 400, n = 30000;
    dl_pair *pairs = malloc(n * sizeof *pairs);
    uint32_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    for (size_t round = 0; round < sizeof strides / sizeof strides[0]; round++) {
        fixture fx;
        fx_init(&fx, ROWS_SPEC, n_rec, round % 2 ? 5 : WORDS); /* 5 words: a dice tail */
        for (size_t x = 0; x < 4; x++)
            narrow(&fx, sets[x], strides[round][x]);
        fill_columns(&fx);
        dl_comparator *c = comparator(&fx);
        cr_assert_str_neq(dl__comparator_kernel(c), "columns", "the spec fits a row");
        cr_assert_gt(dl__comparator_bytes(c), 0);
        cr_assert_eq(dl__comparator_bytes(c) % 64, 0, "rows are whole cache lines");
        for (size_t k = 0; k < n; k++) /* some pairs of a record with itself */
            pairs[k] = (dl_pair){(uint32_t)(rnd64() % n_rec),
                                 (uint32_t)(k % 97 || !k ? rnd64() % n_rec : pairs[k - 1].i)};
        cr_assert(dl__comparator_force(c, "columns"));
        dl__compare_many(c, pairs, n, want);
        size_t seen = 0;
        for (size_t y = 1; y < 3; y++) {
            if (!dl__comparator_force(c, compare_kernels[y])) {
                cr_assert_eq(y, 2, "the portable row kernel is always there");
                continue;
            }
            cr_assert_str_eq(dl__comparator_kernel(c), compare_kernels[y]);
            /* odd batch sizes: chunks and the prefetch distance end anywhere */
            memset(got, 0xff, n * sizeof *got);
            for (size_t k = 0, b = 1; k < n; k += b, b = b * 3 % 1031 + 1)
                dl__compare_many(c, pairs + k, n - k < b ? n - k : b, got + k);
            for (size_t k = 0; k < n; k++) {
                cr_assert_eq(got[k], want[k], "round %zu, %s, pair %zu (%u, %u): %u vs %u",
                             round, compare_kernels[y], k, pairs[k].i, pairs[k].j, got[k],
                             want[k]);
                seen |= (size_t)1 << (got[k] % 7); /* crude: many patterns happen */
            }
            for (size_t k = 0; k < 200; k++)
                cr_assert_eq(dl__compare(c, pairs[k].i, pairs[k].j), want[k]);
        }
        cr_assert_eq(seen, 0x7f);
        /* every level of every comparison happens on this data */
        for (size_t x = 0; x < dl__comparator_n_comparisons(c); x++)
            for (unsigned v = 0; v < dl__comparator_n_levels(c, x); v++) {
                bool hit = false;
                for (size_t k = 0; k < n && !hit; k++)
                    hit = dl__pattern_value(c, want[k], x) == v;
                cr_assert(hit, "round %zu: comparison %zu never at value %u", round, x, v);
            }
        dl__comparator_free(c);
        fx_free(&fx);
    }
    free(pairs);
    free(want);
    free(got);
}

/* Ten comparisons: a reversed level, count levels over sets and singles of
 * several fields, dice levels on two filter columns whose popcounts sit in different 8-slot
 * blocks of the row (gn's among the first singles, sn's after eight more). */
#define WIDE_SPEC                                                                          \
    "version: 1\n"                                                                         \
    "name: t\n"                                                                            \
    "input: {record_id: id}\n"                                                             \
    "blocking: {rules: [[gn.token]]}\n"                                                    \
    "fields:\n"                                                                            \
    "  - {name: gn, column: fn, type: given_name, token_key: nm,\n"                        \
    "     features: [token, dmetaphone, bloom, initial, variant]}\n"                       \
    "  - {name: sn, column: sn, type: surname, token_key: nm,\n"                           \
    "     features: [token, dmetaphone, bloom, variant]}\n"                                \
    "  - {name: dob, column: d, type: date,\n"                                             \
    "     features: [token, year, month, day, swap, year_pm1]}\n"                          \
    "comparisons:\n"                                                                       \
    "  - name: gn\n    levels:\n"                                                          \
    "      - {exact: gn.token}\n      - {exact: gn.variant}\n"                             \
    "      - {dice: gn.bloom, min: 0.9}\n      - {exact: gn.dmetaphone}\n"                 \
    "      - {dice: gn.bloom, min: 0.6}\n      - {exact: gn.initial}\n"                    \
    "  - name: dob\n    levels:\n"                                                         \
    "      - {exact: dob.token}\n      - {exact: dob.swap}\n"                              \
    "      - {count: [dob.year, dob.month, dob.day], min: 2}\n"                             \
    "      - {exact: dob.year_pm1}\n"                                                      \
    "  - name: mixed\n    levels:\n"                                                       \
    "      - {count: [gn.variant, sn.dmetaphone, dob.day, gn.initial], min: 3}\n"           \
    "      - {count: [dob.month, sn.token], min: 1}\n"                                      \
    "  - name: crossed\n    levels: [{reversed: [gn.token, sn.token]}]\n"                  \
    "  - name: year\n    levels: [{exact: dob.year}]\n"                                    \
    "  - name: month\n    levels: [{exact: dob.month}]\n"                                  \
    "  - name: day\n    levels: [{exact: dob.day}]\n"                                      \
    "  - name: init\n    null_if: dob.day\n    levels: [{exact: gn.initial}]\n"            \
    "  - name: sn\n    null_if: sn.bloom\n    levels:\n"                                   \
    "      - {exact: sn.token}\n      - {exact: sn.variant}\n"                             \
    "      - {dice: sn.bloom, min: 0.8}\n      - {exact: sn.dmetaphone}\n"                 \
    "      - {dice: sn.bloom, min: 0.5}\n"                                                 \
    "  - name: sn_loose\n    levels: [{dice: sn.bloom, min: 0.3}]\n"

/* Pairs as blocking emits them: runs that share i (1 to 40 pairs, j any
 * record, i itself included), and now and then single random pairs. */
static void run_pairs(dl_pair *pairs, size_t n, size_t n_rec)
{
    for (size_t k = 0; k < n;) {
        const uint32_t i = (uint32_t)(rnd64() % n_rec);
        size_t len = rnd64() % 4 == 0 ? 1 : 1 + rnd64() % 40;
        for (; len && k < n; len--, k++)
            pairs[k] = (dl_pair){i, (uint32_t)(rnd64() % 7 == 0 ? i : rnd64() % n_rec)};
    }
}

Test(compare, row_kernels_match_the_column_kernel_on_runs_and_wide_specs)
{
    static const unsigned strides[][4] = {{4, 2, 2, 2}, {1, 1, 4, 4}, {3, 3, 1, 2}};
    static const char *const sets[4] = {"gn.dmetaphone", "gn.variant", "sn.dmetaphone",
                                        "dob.year_pm1"};
    const size_t n_rec = 300, n = 40000;
    dl_pair *pairs = malloc(n * sizeof *pairs);
    uint32_t *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    for (size_t round = 0; round < sizeof strides / sizeof strides[0]; round++) {
        fixture fx;
        fx_init(&fx, WIDE_SPEC, n_rec, round == 1 ? 3 : WORDS); /* 3 words: a short filter */
        for (size_t x = 0; x < 4; x++)
            narrow(&fx, sets[x], strides[round][x]);
        fill_columns(&fx);
        dl_comparator *c = comparator(&fx);
        cr_assert_str_neq(dl__comparator_kernel(c), "columns", "the spec fits a row");
        run_pairs(pairs, n, n_rec);
        cr_assert(dl__comparator_force(c, "columns"));
        dl__compare_many(c, pairs, n, want);
        for (size_t y = 1; y < 3; y++) {
            if (!dl__comparator_force(c, compare_kernels[y]))
                continue; /* rows-avx512 on a CPU without it */
            /* batch sizes from 1 up: the eight-pair groups end anywhere */
            memset(got, 0xff, n * sizeof *got);
            for (size_t k = 0, b = 1; k < n; k += b, b = b * 5 % 997 + 1)
                dl__compare_many(c, pairs + k, n - k < b ? n - k : b, got + k);
            for (size_t k = 0; k < n; k++)
                cr_assert_eq(got[k], want[k], "round %zu, %s, pair %zu (%u, %u): %u vs %u",
                             round, compare_kernels[y], k, pairs[k].i, pairs[k].j, got[k],
                             want[k]);
        }
        /* every value of every comparison happens, so each was checked */
        for (size_t x = 0; x < dl__comparator_n_comparisons(c); x++)
            for (unsigned v = 0; v < dl__comparator_n_levels(c, x); v++) {
                bool hit = false;
                for (size_t k = 0; k < n && !hit; k++)
                    hit = dl__pattern_value(c, want[k], x) == v;
                cr_assert(hit, "round %zu: comparison %zu never at value %u", round, x, v);
            }
        dl__comparator_free(c);
        fx_free(&fx);
    }
    free(pairs);
    free(want);
    free(got);
}

Test(compare, comparator_force_refuses_unknown_kernels)
{
    fixture fx;
    fx_init(&fx, HEAD THREE_COMPARISONS, 4, WORDS);
    dl_comparator *c = comparator(&fx);
    const char *best = dl__comparator_kernel(c);
    cr_assert_not(dl__comparator_force(c, "rows"));
    cr_assert_not(dl__comparator_force(c, ""));
    cr_assert_str_eq(dl__comparator_kernel(c), best, "a refusal changes nothing");
    cr_assert(dl__comparator_force(c, "columns"));
    cr_assert_str_eq(dl__comparator_kernel(c), "columns");
    cr_assert(dl__comparator_force(c, NULL));
    cr_assert_str_eq(dl__comparator_kernel(c), best);
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512bitalg") && __builtin_cpu_supports("avx512bw"))
        cr_assert_str_eq(best, "rows-avx512", "the best kernel is chosen");
#endif
    dl__comparator_free(c);
    fx_free(&fx);
}

/* 7 comparisons of 8 levels: 10^7 patterns (allowed), but 70 level bits, more
 * than a row pattern holds: the comparator compares column by column, and
 * still right (the reference is the same comparator's single calls). */
Test(compare, spec_too_wide_for_a_row_uses_columns)
{
    static char text[8192];
    int o = snprintf(text, sizeof text, HEAD "comparisons:\n");
    for (int k = 0; k < 7; k++)
        o += snprintf(text + o, sizeof text - (size_t)o,
                      "  - {name: c%d, levels: [{exact: gn.token}, {exact: gn.initial}, "
                      "{exact: dob.year}, {exact: dob.month}, {exact: dob.day}, "
                      "{exact: dob.swap}, {exact: gn.dmetaphone}, {exact: gn.variant}]}\n",
                      k);
    fixture fx;
    fx_init(&fx, text, 50, WORDS);
    fill_columns(&fx);
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(dl__comparator_n_patterns(c), 10000000);
    cr_assert_str_eq(dl__comparator_kernel(c), "columns");
    cr_assert_eq(dl__comparator_bytes(c), 0);
    cr_assert_not(dl__comparator_force(c, "rows-portable"));
    cr_assert_str_eq(dl__comparator_kernel(c), "columns");
    /* all seven comparisons are the same: every digit of a pattern equal */
    for (uint32_t i = 0; i < 50; i++)
        for (uint32_t j = 0; j < 50; j++) {
            uint32_t p = dl__compare(c, i, j);
            for (size_t k = 1; k < 7; k++)
                cr_assert_eq(dl__pattern_value(c, p, k), dl__pattern_value(c, p, 0));
        }
    dl__comparator_free(c);
    fx_free(&fx);
}

/* ---- the Dice kernels ---------------------------------------------------------- */

Test(compare, every_kernel_counts_the_same_bits)
{
    /* word counts around every kernel's step (1, 4, 8) and chunking (4 * 31
     * for AVX2's byte counters), and the largest filter (2 * 65536 bits) */
    static const size_t sizes[] = {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33,
                                   123, 124, 125, 129, 250, 1000, 2048};
    const size_t max_words = 2048;
    uint64_t *a = malloc(max_words * 8), *b = malloc(max_words * 8);
    const char *avail[4];
    size_t n_avail = 0;
    for (size_t x = 0; x < 4; x++)
        if (dl__dice_force(kernel_names[x]))
            avail[n_avail++] = kernel_names[x];
    cr_assert(n_avail >= 1 && strcmp(avail[0], "portable") == 0);
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (int round = 0; round < 20; round++) {
            size_t words = sizes[s];
            /* dense, sparse and all-ones filters: byte counters saturate on ones */
            for (size_t w = 0; w < words; w++) {
                a[w] = round == 0 ? ~UINT64_C(0) : rnd64() & (round % 3 ? rnd64() : ~0u);
                b[w] = round == 0 ? ~UINT64_C(0) : rnd64() | (round % 4 ? 0 : rnd64());
            }
            uint32_t want = 0;
            for (size_t w = 0; w < words; w++)
                for (int bit = 0; bit < 64; bit++)
                    want += (uint32_t)((a[w] & b[w]) >> bit & 1);
            for (size_t x = 0; x < n_avail; x++) {
                cr_assert(dl__dice_force(avail[x]));
                cr_assert_eq(dl__and_popcount(a, b, words), want, "%s, %zu words: %u vs %u",
                             avail[x], words, dl__and_popcount(a, b, words), want);
            }
        }
    cr_assert(dl__dice_force(NULL));
    free(a);
    free(b);
}

Test(compare, batch_kernel_matches_single_calls)
{
    const size_t n_rec = 64, words = 16, n = 1003; /* not a multiple of 8: the tail too */
    uint64_t *bits = aligned_alloc(64, n_rec * words * 8);
    for (size_t w = 0; w < n_rec * words; w++)
        bits[w] = rnd64() & rnd64();
    dl_pair pairs[1003];
    uint32_t out[1003];
    for (size_t k = 0; k < n; k++)
        pairs[k] = (dl_pair){(uint32_t)(rnd64() % n_rec), (uint32_t)(rnd64() % n_rec)};
    for (size_t x = 0; x < 4; x++) {
        if (!dl__dice_force(kernel_names[x]))
            continue;
        memset(out, 0, sizeof out);
        dl__and_popcount_many(bits, words, pairs, n, out);
        for (size_t k = 0; k < n; k++)
            cr_assert_eq(out[k], dl__and_popcount_kernel()(bits + pairs[k].i * words,
                                                           bits + pairs[k].j * words, words));
    }
    cr_assert(dl__dice_force("auto"));
    free(bits);
}

Test(compare, dice_force_refuses_unknown_kernels)
{
    cr_assert_not(dl__dice_force("sse9"));
    cr_assert_not(dl__dice_force(""));
    cr_assert(dl__dice_force("portable"));
    cr_assert_str_eq(dl__dice_kernel(), "portable");
    cr_assert(dl__dice_force("auto"));
    const char *k = dl__dice_kernel();
    bool known = false;
    for (size_t x = 0; x < 4; x++)
        known |= strcmp(k, kernel_names[x]) == 0;
    cr_assert(known, "unknown kernel name '%s'", k);
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512vpopcntdq"))
        cr_assert_str_eq(k, "avx512-vpopcntdq", "the best kernel is chosen");
#endif
}

/* ---- construction errors ------------------------------------------------------ */

/* Build a comparator for YAML over a store whose columns are those of the
 * spec except DROP (a column name, or NULL); expect CODE at LINE:COL with
 * NEEDLE in the message. */
/* dl__comparator_new on FX fails with CODE at LINE:COLUMN of t.yaml, saying NEEDLE. */
static void expect_comparator_error(fixture *fx, dl_status code, uint64_t line,
                                    uint64_t column, const char *needle)
{
    dl_error e = DL_ERROR_INIT;
    dl_comparator *c = (dl_comparator *)&e; /* must come back NULL */
    dl_status st = dl__comparator_new(fx->spec, &fx->st, &c, &e);
    char buf[600];
    dl_error_format(&e, buf, sizeof buf);
    cr_assert_eq(st, code, "got %d: %s", (int)st, buf);
    cr_assert_eq(e.code, code);
    cr_assert_null(c);
    cr_assert_str_eq(e.file, "t.yaml");
    cr_assert_eq(e.line, line, "%s", buf);
    cr_assert_eq(e.col, column, "%s", buf);
    cr_assert(strstr(e.msg, needle), "message lacks '%s': %s", needle, buf);
}

static void expect_error(const char *yaml, const char *drop, dl_status code, uint64_t line,
                         uint64_t column, const char *needle)
{
    fixture fx;
    fx_init(&fx, yaml, 4, WORDS);
    if (drop) {
        dl_store_col *c = col(&fx, drop);
        fx.st.col_of[c->field][c->kind] = -1;
    }
    expect_comparator_error(&fx, code, line, column, needle);
    fx_free(&fx);
}

Test(compare, refuses_a_level_column_not_loaded)
{
    expect_error(HEAD "comparisons:\n  - {name: a, levels: [{exact: gn.token}]}\n"
                      "  - name: b\n    levels:\n      - {exact: dob.token}\n"
                      "      - {exact: dob.swap}\n",
                 "dob.swap", DL_EINPUT, 11, 5,
                 "comparison 'b' uses feature 'dob.swap', which the loaded ids files do "
                 "not hold");
}

Test(compare, refuses_a_null_if_column_not_loaded)
{
    expect_error(HEAD "comparisons:\n  - name: a\n    null_if: gn.initial\n"
                      "    levels: [{exact: gn.token}]\n",
                 "gn.initial", DL_EINPUT, 10, 5,
                 "comparison 'a' uses feature 'gn.initial'");
}

Test(compare, refuses_a_count_term_not_loaded)
{
    expect_error(HEAD "comparisons:\n  - name: d\n    levels:\n"
                      "      - {count: [dob.year, dob.month, dob.day], min: 2}\n",
                 "dob.day", DL_EINPUT, 10, 5, "comparison 'd' uses feature 'dob.day'");
}

/* The spec loader refuses exact and count levels on a filter (tests/test_spec.c);
 * the comparator still guards itself against a spec built some other way. */
Test(compare, refuses_exact_on_a_bloom_filter)
{
    fixture fx;
    fx_init(&fx, HEAD GN_COMPARISON("      - {exact: gn.token}\n      - {exact: gn.initial}\n"),
            4, WORDS);
    fx.spec->comparisons[0].levels[1].terms[0].kind = DL_FEAT_BLOOM;
    expect_comparator_error(&fx, DL_EINPUT, 10, 5,
                            "comparison 'gn', level 2: exact compares tokens, and 'gn.bloom' "
                            "is a Bloom filter");
    fx_free(&fx);
}

Test(compare, refuses_a_bloom_filter_in_a_count)
{
    fixture fx;
    fx_init(&fx, HEAD GN_COMPARISON("      - {count: [gn.token, gn.initial], min: 1}\n"), 4,
            WORDS);
    fx.spec->comparisons[0].levels[0].terms[1].kind = DL_FEAT_BLOOM;
    expect_comparator_error(&fx, DL_EINPUT, 10, 5,
                            "comparison 'gn', level 1: count compares tokens, and 'gn.bloom' "
                            "is a Bloom filter");
    fx_free(&fx);
}

/* 12 comparisons of two levels make 4^12 = 2^24 patterns, the most allowed;
 * a 13th is refused, at its own line. */
static char *many_comparisons(int n)
{
    static char text[8192];
    int o = snprintf(text, sizeof text, HEAD "comparisons:\n");
    for (int k = 0; k < n; k++)
        o += snprintf(text + o, sizeof text - (size_t)o,
                      "  - {name: c%d, levels: [{exact: gn.token}, {exact: gn.initial}]}\n",
                      k);
    return text;
}

Test(compare, allows_exactly_two_to_the_24_patterns)
{
    fixture fx;
    fx_init(&fx, many_comparisons(12), 4, WORDS);
    set_tok(&fx, "gn.token", 0, 5, 0);
    set_tok(&fx, "gn.token", 1, 5, 0);
    set_tok(&fx, "gn.initial", 0, 7, 0);
    set_tok(&fx, "gn.initial", 2, 7, 0);
    dl_comparator *c = comparator(&fx);
    cr_assert_eq(dl__comparator_n_patterns(c), UINT64_C(1) << 24);
    /* every comparison: 0-1 agree on the token (1), 0-2 only on the initial
     * but 2 has no token (null), 0-3: null */
    uint32_t p01 = dl__compare(c, 0, 1), p02 = dl__compare(c, 0, 2);
    for (size_t k = 0; k < 12; k++) {
        cr_assert_eq(dl__pattern_value(c, p01, k), 1);
        cr_assert_eq(dl__pattern_value(c, p02, k), 0);
    }
    cr_assert_eq(p01, 0x555555u, "value 1 in every base-4 digit");
    dl__comparator_free(c);
    fx_free(&fx);
}

Test(compare, refuses_more_than_two_to_the_24_patterns)
{
    expect_error(many_comparisons(13), NULL, DL_EINPUT, 10 + 12, 5,
                 "comparisons up to 'c12' make 67108864 patterns (at most 16777216");
}

/* ---- reversed -------------------------------------------------------------- */

Test(compare, reversed_level_needs_both_names_crosswise)
{
    const char *yaml = "version: 1\nname: t\ninput: {record_id: id}\n"
                       "blocking: {rules: [[gn.token]]}\n"
                       "fields:\n"
                       "  - {name: gn, column: fn, type: given_name, features: [token], "
                       "token_key: nm}\n"
                       "  - {name: sn, column: ln, type: surname, features: [token], "
                       "token_key: nm}\n"
                       "comparisons:\n"
                       "  - name: gn\n"
                       "    levels:\n"
                       "      - {exact: gn.token}\n"
                       "      - {reversed: [gn.token, sn.token]}\n";
    fixture fx;
    fx_init(&fx, yaml, 6, WORDS);
    /* forename, surname: A B | B A | B C | A B | - A | B - */
    static const uint64_t gn[6] = {0xa, 0xb, 0xb, 0xa, 0, 0xb};
    static const uint64_t sn[6] = {0xb, 0xa, 0xc, 0xb, 0xa, 0};
    for (size_t r = 0; r < 6; r++) {
        set_tok(&fx, "gn.token", r, gn[r], 0);
        set_tok(&fx, "sn.token", r, sn[r], 0);
    }
    dl_comparator *c = comparator(&fx);
    size_t ran = 0;
    for (size_t y = 0; y < sizeof compare_kernels / sizeof *compare_kernels; y++) {
        if (!dl__comparator_force(c, compare_kernels[y]))
            continue; /* not on this CPU */
        ran++;
        /* values: 0 null, 1 exact, 2 reversed, 3 else */
        cr_assert_eq(value(c, 0, 1, 0), 2, "%s: A B and B A are swapped", compare_kernels[y]);
        cr_assert_eq(value(c, 0, 3, 0), 1, "exact comes first");
        cr_assert_eq(value(c, 0, 2, 0), 3, "%s: B C: only one side crosses", compare_kernels[y]);
        cr_assert_eq(value(c, 1, 2, 0), 1);
        cr_assert_eq(value(c, 0, 4, 0), 0, "a missing forename is null");
        cr_assert_eq(value(c, 0, 5, 0), 3, "%s: a missing surname never agrees crosswise",
                     compare_kernels[y]);
        cr_assert_eq(value(c, 1, 5, 0), 1);
    }
    cr_assert_geq(ran, 2, "the column kernel and a row kernel at least");
    dl__comparator_free(c);
    fx_free(&fx);
}
