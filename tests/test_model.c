/* test_model.c: the Fellegi-Sunter model (linkage/model.c): shape and labels,
 * u from random pairs, weights and probabilities, term-frequency adjustment,
 * and model.yaml (linkage/model_yaml.c): round trip and every load error. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/spec.h"
#include "linkage/link_internal.h"
#include "test_util.h"

/* Three comparisons: first (exact, phonetic, else: 4 values with null),
 * last (the same, with a label that needs quoting), sex (exact, else: 3):
 * 4 x 4 x 3 = 48 patterns. */
static const char SPEC[] =
    "version: 1\n"
    "name: modeltest\n"
    "link_type: dedupe\n"
    "input: {record_id: id}\n"
    "fields:\n"
    "  - {name: first, column: first, type: given_name, features: [token, dmetaphone]}\n"
    "  - {name: last, column: last, type: surname, features: [token, dmetaphone]}\n"
    "  - {name: sex, column: sex, type: sex, features: [token]}\n"
    "comparisons:\n"
    "  - name: first\n"
    "    levels: [{exact: first.token, label: exact}, {exact: first.dmetaphone, label: sounds}]\n"
    "    tf: first.token\n"
    "  - name: last\n"
    "    levels: [{exact: last.token, label: exact},\n"
    "             {exact: last.dmetaphone, label: \"say \\\"it\\\": back\\\\slash\"}]\n"
    "  - name: sex\n"
    "    levels: [{exact: sex.token, label: same}]\n"
    "blocking:\n"
    "  rules: [[last.token]]\n";

static dl_spec *spec;
static dl_model *model;
static char *dir;

static void setup(void)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_spec_parse("model.yaml", SPEC, strlen(SPEC), &spec, &e), DL_OK,
                 "%s:%llu:%llu: %s", e.file, (unsigned long long)e.line,
                 (unsigned long long)e.col, e.msg);
    cr_assert_eq(dl__model_new(spec, NULL, &model, &e), DL_OK, "%s", e.msg);
    dir = tu_tmpdir();
}

static void teardown(void)
{
    dl__model_free(model);
    dl_spec_free(spec);
    tu_rmtree(dir);
    free(dir);
}

TestSuite(model, .init = setup, .fini = teardown);

static uint32_t pat(unsigned first, unsigned last, unsigned sex)
{
    return first + 4 * last + 16 * sex;
}

/* Fixed parameters with easy logarithms. */
static void set_params(dl_model *m)
{
    static const double mm[3][4] = {{0, 0.5, 0.25, 0.25}, {0, 0.8, 0.1, 0.1}, {0, 0.75, 0.25}};
    static const double uu[3][4] = {{0, 0.0625, 0.125, 0.8125}, {0, 0.1, 0.2, 0.7},
                                    {0, 0.5, 0.5}};
    for (size_t c = 0; c < 3; c++)
        for (size_t v = 1; v < m->comp[c].n_levels; v++) {
            m->comp[c].m[v] = mm[c][v];
            m->comp[c].u[v] = uu[c][v];
        }
    m->lambda = 0.2; /* prior odds 1/4: weight -2 */
}

Test(model, shape_labels_and_start_values_follow_the_spec)
{
    cr_assert_eq(model->n_comp, 3);
    cr_assert_eq(dl__model_n_patterns(model), 48);
    cr_assert_str_eq(model->comp[1].name, "last");
    cr_assert_eq(model->comp[1].n_levels, 4);
    cr_assert_eq(model->comp[2].n_levels, 3);
    cr_assert_str_eq(model->comp[0].labels[0], "null");
    cr_assert_str_eq(model->comp[0].labels[2], "sounds");
    cr_assert_str_eq(model->comp[1].labels[2], "say \"it\": back\\slash");
    cr_assert_str_eq(model->comp[2].labels[2], "else");
    char hash[65];
    cr_assert_str_eq(model->spec_hash, dl_spec_hash_hex(spec, hash));
    cr_assert(model->trained);
    for (size_t c = 0; c < 3; c++) {
        double sm = 0, su = 0;
        for (size_t v = 1; v < model->comp[c].n_levels; v++) {
            sm += model->comp[c].m[v];
            su += model->comp[c].u[v];
            if (v > 1)
                cr_assert_lt(model->comp[c].m[v], model->comp[c].m[v - 1],
                             "start m decreases from the top level");
        }
        cr_assert_float_eq(sm, 1, 1e-12);
        cr_assert_float_eq(su, 1, 1e-12);
    }
    cr_assert_eq(model->comp[0].m[1], 0.9);
    cr_assert_eq(model->comp[0].tf_level, 1, "tf: first.token, exact at level 1");
    cr_assert_eq(model->comp[1].tf_level, 0, "no tf");
    dl__model_free(NULL);
}

Test(model, too_many_patterns_is_an_error_at_the_comparison)
{
    /* 9 comparisons of 12 levels: 14^9 > 2^32 patterns. */
    char text[8192];
    int n = snprintf(text, sizeof text,
                     "version: 1\nname: big\nlink_type: dedupe\ninput: {record_id: id}\n"
                     "fields:\n  - {name: a, column: a, type: text, features: [token]}\n"
                     "comparisons:\n");
    for (int c = 0; c < 9; c++) {
        n += snprintf(text + n, sizeof text - (size_t)n, "  - name: c%d\n    levels:\n", c);
        for (int l = 0; l < 12; l++)
            n += snprintf(text + n, sizeof text - (size_t)n,
                          "      - {exact: a.token, label: l%d}\n", l);
    }
    snprintf(text + n, sizeof text - (size_t)n, "blocking:\n  rules: [[a.token]]\n");
    dl_spec *big;
    dl_model *m = (dl_model *)1;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_spec_parse("big.yaml", text, strlen(text), &big, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl__model_new(big, NULL, &m, &e), DL_EINPUT);
    cr_assert_null(m);
    /* c8 is the ninth comparison: 7 lines, 14 per comparison, so line 120. */
    cr_assert_eq(e.line, big->comparisons[8].line);
    cr_assert_eq(e.line, 120);
    cr_assert_eq(e.col, big->comparisons[8].col);
    cr_assert(strstr(e.msg, "'c8'"), "%s", e.msg);
    dl_spec_free(big);
}

Test(model, u_from_random_pairs_with_half_a_pair_for_unseen_levels)
{
    dl_histogram h;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__histogram_init(&h, 48, &e), DL_OK);
    h.counts[pat(1, 1, 1)] = 10;
    h.counts[pat(3, 3, 2)] = 70;
    h.counts[pat(2, 0, 1)] = 20; /* last null: not counted in its u */
    h.total = 100;
    dl__model_set_u(model, NULL, &h);
    cr_assert_eq(model->u_pairs, 100);
    cr_assert_float_eq(model->comp[0].u[1], 0.1, 1e-15);
    cr_assert_float_eq(model->comp[0].u[2], 0.2, 1e-15);
    cr_assert_float_eq(model->comp[0].u[3], 0.7, 1e-15);
    cr_assert_eq(model->comp[1].u_count[0], 20);
    cr_assert_eq(model->comp[1].u_count[2], 0);
    /* last: 10 exact, 0 sounds (half a pair), 70 else, out of 80.5 */
    cr_assert_float_eq(model->comp[1].u[1], 10 / 80.5, 1e-15);
    cr_assert_float_eq(model->comp[1].u[2], 0.5 / 80.5, 1e-15);
    cr_assert_float_eq(model->comp[2].u[1], 0.3, 1e-15);
    cr_assert(strstr(model->warnings.data, "comparison 'last' level 'say \"it\": back\\slash': "
                                           "not seen in 80 random pairs"),
              "%s", model->warnings.data);
    dl__histogram_free(&h);
}

Test(model, u_uniform_when_no_pair_had_values)
{
    dl_histogram h;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__histogram_init(&h, 48, &e), DL_OK);
    h.counts[pat(0, 1, 1)] = 4;
    h.total = 4;
    dl__model_set_u(model, NULL, &h);
    cr_assert_float_eq(model->comp[0].u[2], 1 / 3.0, 1e-15);
    cr_assert(strstr(model->warnings.data, "comparison 'first': no random pair had both"));
    dl__histogram_free(&h);
}

Test(model, weights_and_probabilities_of_known_values)
{
    set_params(model);
    /* prior -2; first exact log2(0.5/0.0625) = 3; last exact log2 8 = 3;
     * sex exact log2 1.5. */
    cr_assert_float_eq(dl__model_weight(model, NULL, pat(1, 1, 1)), -2 + 3 + 3 + log2(1.5),
                       1e-12);
    /* Nulls weigh 0: only the prior is left. */
    cr_assert_float_eq(dl__model_weight(model, NULL, pat(0, 0, 0)), -2, 1e-12);
    /* first sounds log2(2) = 1, last else log2(1/7), sex else log2(0.5) = -1. */
    cr_assert_float_eq(dl__model_weight(model, NULL, pat(2, 3, 2)), -2 + 1 + log2(1 / 7.0) - 1,
                       1e-12);
    cr_assert_eq(dl__prob(0), 0.5);
    cr_assert_float_eq(dl__prob(1), 2 / 3.0, 1e-15);
    cr_assert_float_eq(dl__prob(-1), 1 / 3.0, 1e-15);
    cr_assert_float_eq(dl__prob(10), 1024 / 1025.0, 1e-15);
    cr_assert_eq(dl__prob(5000), 1.0);
    cr_assert_eq(dl__prob(-5000), 0.0);
    double table[48];
    dl__model_weight_table(model, table);
    for (uint32_t p = 0; p < 48; p++)
        cr_assert_float_eq(table[p], dl__model_weight(model, NULL, p), 1e-12, "pattern %u", p);
}

Test(model, tf_common_value_weighs_less_than_rare_one)
{
    /* first-slot tokens with stride 2 (second slot ignored); 0 = missing. */
    enum { N = 1000 };
    uint64_t *tok = calloc(2 * N, sizeof *tok);
    for (size_t r = 0; r < N; r++) {
        tok[2 * r] = r < 500 ? 7 : r < 900 ? 8 : r < 990 ? 100 + r % 45 : 0;
        tok[2 * r + 1] = 999; /* a second slot tf does not count */
    }
    dl_tf_table *t;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__tf_build(tok, N, 2, &t, &e), DL_OK);
    cr_assert_eq(dl__tf_total(t), 990);
    cr_assert_float_eq(dl__tf_freq(t, 7), 500 / 990.0, 1e-15);
    cr_assert_float_eq(dl__tf_freq(t, 100), 2 / 990.0, 1e-15);
    cr_assert_eq(dl__tf_freq(t, 999), 0);
    cr_assert_eq(dl__tf_freq(t, 0), 0);
    /* u_exact = sum of f^2: agreement of two random records. */
    double s = 0, f;
    s += (500 / 990.0) * (500 / 990.0) + (400 / 990.0) * (400 / 990.0);
    s += 45 * (2 / 990.0) * (2 / 990.0);
    model->comp[0].u[1] = s;
    double common = dl__tf_adjust(model, 0, t, 7), rare = dl__tf_adjust(model, 0, t, 101);
    cr_assert_lt(common, 0, "a value half the records hold is weak evidence");
    cr_assert_gt(rare, 5, "a value two records hold is strong evidence");
    cr_assert_float_eq(common, log2(s / (500 / 990.0)), 1e-12);
    /* An unseen token counts as one record. */
    cr_assert_float_eq(dl__tf_adjust(model, 0, t, 424242), log2(s * 990), 1e-12);
    cr_assert_eq(dl__tf_adjust(model, 1, t, 7), 0, "no tf on comparison 'last'");
    /* Over agreeing random pairs (value x with weight f_x^2 / s), the mean
     * Bayes-factor multiplier 2^adjustment is exactly 1, and the mean
     * adjustment itself is near 0 (below, by Jensen). */
    double mean_mult = 0, mean_adj = 0;
    uint64_t vals[47] = {7, 8};
    for (int i = 0; i < 45; i++)
        vals[2 + i] = 100 + (uint64_t)i;
    for (int i = 0; i < 47; i++) {
        f = dl__tf_freq(t, vals[i]);
        double a = dl__tf_adjust(model, 0, t, vals[i]);
        mean_mult += f * f / s * exp2(a);
        mean_adj += f * f / s * a;
    }
    cr_assert_float_eq(mean_mult, 1, 1e-12);
    cr_assert(mean_adj <= 0 && mean_adj > -0.25, "mean adjustment %g", mean_adj);
    dl__tf_free(t);
    dl__tf_free(NULL);
    free(tok);
}

Test(model, tf_table_grows_past_many_distinct_values)
{
    enum { N = 200000 };
    uint64_t *tok = malloc(N * sizeof *tok);
    for (size_t r = 0; r < N; r++)
        tok[r] = (r % 50000) + 1; /* 50000 values, 4 records each */
    dl_tf_table *t;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__tf_build(tok, N, 1, &t, &e), DL_OK);
    for (uint64_t v = 1; v <= 50000; v += 997)
        cr_assert_float_eq(dl__tf_freq(t, v), 4.0 / N, 1e-15);
    cr_assert_eq(dl__tf_freq(t, 50001), 0);
    dl__tf_free(t);
    free(tok);
}

/* ---- model.yaml ---------------------------------------------------------- */

/* A model with passes, a fixed comparison and a warning, as training leaves. */
static void train_small(dl_model *m)
{
    set_params(m);
    dl_histogram h;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__histogram_init(&h, 48, &e), DL_OK);
    for (uint32_t p = 0; p < 48; p++)
        h.counts[p] = 1 + (p * 7919) % 13;
    h.counts[pat(1, 1, 1)] = 400;
    for (uint32_t p = 0; p < 48; p++)
        h.total += h.counts[p];
    bool fixed[3] = {false, true, false};
    cr_assert_eq(dl__em_pass(m, NULL, &h, fixed, "last.token", 50, 1e-9, &e), DL_OK);
    cr_assert_eq(dl__em_pass(m, NULL, &h, fixed, "last.token & \"q\"", 3, 1e-12, &e), DL_OK);
    dl__model_finish(m, 50, 1e6);
    dl__histogram_free(&h);
}

static char *written(void)
{
    char *p = tu_join(dir, "model.yaml");
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__model_write(model, p, &e), DL_OK, "%s", e.msg);
    char *text = tu_read(p, NULL);
    cr_assert_not_null(text);
    free(p);
    return text;
}

Test(model, yaml_round_trip_gives_the_same_weights)
{
    train_small(model);
    cr_assert(model->comp[1].m_fixed[1]);
    cr_assert_neq(model->warnings.len, 0);
    char *p = tu_join(dir, "model.yaml");
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__model_write(model, p, &e), DL_OK, "%s", e.msg);
    dl_model *back;
    cr_assert_eq(dl__model_load(spec, NULL, p, &back, &e), DL_OK, "%s:%llu:%llu: %s", e.file,
                 (unsigned long long)e.line, (unsigned long long)e.col, e.msg);
    cr_assert_not(back->trained);
    cr_assert_eq(back->lambda, model->lambda);
    for (uint32_t q = 0; q < 48; q++)
        cr_assert_eq(dl__model_weight(back, NULL, q), dl__model_weight(model, NULL, q),
                     "pattern %u", q);
    cr_assert_eq(back->u_pairs, model->u_pairs);
    cr_assert_eq(back->n_passes, 2);
    cr_assert_str_eq(back->passes[1].rule, "last.token & \"q\"");
    for (size_t i = 0; i < 2; i++) {
        const dl_em_pass *a = &model->passes[i], *b = &back->passes[i];
        cr_assert_eq(a->iterations, b->iterations);
        cr_assert_eq(a->converged, b->converged);
        cr_assert_eq(a->lambda, b->lambda);
        cr_assert_eq(a->pairs, b->pairs);
        for (unsigned k = 0; k < a->iterations; k++)
            cr_assert_eq(a->trace[k], b->trace[k]);
        for (size_t c = 0; c < 3; c++)
            cr_assert_eq(a->fixed[c], b->fixed[c]);
        for (size_t v = 1; v < 4; v++)
            cr_assert_eq(a->m[v], b->m[v]);
    }
    cr_assert(back->comp[1].m_fixed[1] && !back->comp[0].m_fixed[1]);
    cr_assert_str_eq(back->warnings.data, model->warnings.data);
    /* Written again, the bytes are the same. */
    char *one = tu_read(p, NULL);
    dl__model_free(model);
    model = back;
    model->trained = true;
    char *two = written();
    cr_assert_str_eq(one, two);
    cr_assert(strstr(one, "\n    m: {}\n") == NULL);
    cr_assert(strstr(one, "        bayes_factor: 8\n        match_weight: 3\n"), "%s", one);
    free(one);
    free(two);
    free(p);
}

Test(model, yaml_write_to_missing_folder_fails_cleanly)
{
    char *p = tu_join(dir, "no/such/model.yaml");
    dl_error e = DL_ERROR_INIT;
    cr_assert_neq(dl__model_write(model, p, &e), DL_OK);
    cr_assert_neq(e.msg[0], '\0');
    free(p);
}

/* Load TEXT with FROM replaced by TO; expect DL_EINPUT at the line and column
 * where AT starts in the changed text (searched from the top, or from the
 * change on when AT starts with '>'), and MSG in the message. */
static void bad_load(const char *text, const char *from, const char *to, const char *at,
                     const char *msg)
{
    const char *hit = strstr(text, from);
    cr_assert_not_null(hit, "'%s' not in the model text", from);
    size_t pre = (size_t)(hit - text), tl = strlen(to);
    char *t = malloc(strlen(text) + tl + 1);
    memcpy(t, text, pre);
    memcpy(t + pre, to, tl);
    strcpy(t + pre + tl, hit + strlen(from));
    uint64_t line = 0, col = 0;
    if (at) {
        const char *a = at[0] == '>' ? strstr(t + pre, at + 1) : strstr(t, at);
        cr_assert_not_null(a, "'%s' not in the changed text", at);
        line = 1;
        col = 1;
        for (const char *q = t; q < a; q++) {
            if (*q == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
    }
    char *p = tu_join(dir, "bad.yaml");
    tu_write_str(p, t);
    dl_model *m = (dl_model *)1;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__model_load(spec, NULL, p, &m, &e), DL_EINPUT, "%s -> %s: %s", from, to,
                 e.msg);
    cr_assert_null(m);
    cr_assert_str_eq(e.file, p);
    cr_assert(strstr(e.msg, msg), "message '%s' lacks '%s'", e.msg, msg);
    cr_assert_eq(e.line, line, "%s: line %llu, expected %llu", e.msg,
                 (unsigned long long)e.line, (unsigned long long)line);
    cr_assert_eq(e.col, col, "%s: column %llu, expected %llu", e.msg,
                 (unsigned long long)e.col, (unsigned long long)col);
    free(p);
    free(t);
}

Test(model, yaml_load_errors_name_line_and_column)
{
    train_small(model);
    char *text = written();
    bad_load(text, "format: dolen-model/1", "format: [dolen", ": \"", "YAML syntax error");
    bad_load(text, "format: dolen-model/1", "format: dolen-model/9", ">dolen-model/9",
             "unknown model format");
    bad_load(text, "u_pairs:", "u_pears:", "u_pears", "unknown key in the model");
    bad_load(text, "spec_hash: \"", "spec_hash: \"00", "\"00", "trained for another spec");
    bad_load(text, "lambda: ", "lambda: -", ">-5.0", "lambda is -");
    bad_load(text, "lambda: ", "lambda: xx", "xx", "lambda is not a number");
    bad_load(text, "name: \"first\"", "name: \"given\"", "\"given\"", "expected the spec's 'first'");
    bad_load(text, "label: \"sounds\"", "label: \"phonetic\"", "\"phonetic\"",
             "level 2 of comparison 'first' is 'phonetic'");
    bad_load(text, "        m: 0.80000000000000004\n", "        m: 0.0\n", "0.0\n", "m is 0");
    bad_load(text, "        m: 0.80000000000000004\n", "        mm: 0.5\n", "mm:", "unknown key in a level");
    bad_load(text, "        m: 0.80000000000000004\n", "", "label: \"exact\"\n        u: ",
             "a level lacks 'm'");
    bad_load(text, "    m_fixed: false\n", "    m_fixed: maybe\n", "maybe", "not true or false");
    bad_load(text, "    m_fixed: false\n", "    m_fixed: [false]\n", "[false]",
             "m_fixed is a list (expected a scalar)");
    bad_load(text, "u_pairs:", "comparisons: []\nu_pairs:", "comparisons:\n",
             "key 'comparisons' given twice");
    bad_load(text, "    iterations: 3\n", "    iterations: 4\n", ">4\n",
             "iterations is 4 (expected the 3 values of trace)");
    bad_load(text, "    pairs: ", "    pairs: -0", ">-0", "pairs is not a count");
    bad_load(text, "      \"first\": [", "      \"fist\": [", "\"fist\"", "names comparison 'fist'");
    bad_load(text, "    converged: ", "    xconverged: ", "xconverged", "unknown key in a pass");
    free(text);
}

Test(model, yaml_load_missing_key_comparison_count_and_files)
{
    train_small(model);
    char *text = written();
    /* Lambda removed: reported at the top mapping. */
    bad_load(text, "lambda: ", "x_lambda: ", "x_lambda", "unknown key");
    const char *lam = strstr(text, "lambda: ");
    const char *eol = strchr(lam, '\n');
    char from[64];
    snprintf(from, sizeof from, "%.*s", (int)(eol - lam + 1), lam);
    bad_load(text, from, "", "format:", "the model lacks 'lambda'");
    /* One comparison fewer than the spec. */
    const char *sex = strstr(text, "  - name: \"sex\"");
    const char *end = strstr(sex, "passes:");
    char *cut = malloc((size_t)(end - sex) + 1);
    snprintf(cut, (size_t)(end - sex) + 1, "%s", sex);
    bad_load(text, cut, "", "- name: \"first\"", "the model has 2 comparisons (expected 3");
    bad_load(text, cut, "  - name: \"sex\"\n    levels: []\n", "[]",
             "comparison 'sex' has 0 levels (expected 2");
    free(cut);
    free(text);

    dl_model *m;
    dl_error e = DL_ERROR_INIT;
    char *p = tu_join(dir, "absent.yaml");
    cr_assert_eq(dl__model_load(spec, NULL, p, &m, &e), DL_EINPUT);
    cr_assert_eq(e.line, 0);
    cr_assert_neq(e.os_errno, 0);
    tu_write_str(p, "");
    cr_assert_eq(dl__model_load(spec, NULL, p, &m, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "empty model file"), "%s", e.msg);
    cr_assert_eq(e.line, 1);
    cr_assert_eq(e.col, 1);
    tu_write_str(p, "- a\n- b\n");
    cr_assert_eq(dl__model_load(spec, NULL, p, &m, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "the model is a list (expected a mapping)"), "%s", e.msg);
    cr_assert_eq(e.line, 1);
    cr_assert_eq(e.col, 1);
    free(p);
}
