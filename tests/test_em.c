/* test_em.c: EM over pattern histograms (linkage/em.c), combining passes and
 * lambda (linkage/model.c), histograms (linkage/histogram.c), on pairs simulated
 * from known m, u and lambda. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/spec.h"
#include "linkage/link_internal.h"

/* Five comparisons: 3 + 2 for the first four (exact, a looser level), 1 + 2
 * for sex, so 4 x 4 x 4 x 4 x 3 = 768 patterns. */
static const char SPEC[] =
    "version: 1\n"
    "name: emtest\n"
    "link_type: dedupe\n"
    "input: {record_id: id}\n"
    "fields:\n"
    "  - {name: first, column: first, type: given_name, features: [token, dmetaphone]}\n"
    "  - {name: last, column: last, type: surname, features: [token, dmetaphone]}\n"
    "  - {name: dob, column: dob, type: date, features: [token, year]}\n"
    "  - {name: pc, column: pc, type: uk_postcode, features: [token, sector]}\n"
    "  - {name: sex, column: sex, type: sex, features: [token]}\n"
    "comparisons:\n"
    "  - name: first\n"
    "    levels: [{exact: first.token, label: exact}, {exact: first.dmetaphone}]\n"
    "  - name: last\n"
    "    levels: [{exact: last.token, label: exact}, {exact: last.dmetaphone}]\n"
    "  - name: dob\n"
    "    levels: [{exact: dob.token, label: exact}, {exact: dob.year}]\n"
    "  - name: pc\n"
    "    levels: [{exact: pc.token, label: exact}, {exact: pc.sector}]\n"
    "  - name: sex\n"
    "    levels: [{exact: sex.token}]\n"
    "blocking:\n"
    "  rules: [[dob.token], [last.token]]\n";

#define NC 5
static const size_t NL[NC] = {4, 4, 4, 4, 3};
/* Truth over the non-null values 1..L+1 (index 0 unused). */
static const double TRUE_M[NC][4] = {
    {0, 0.85, 0.10, 0.05}, {0, 0.90, 0.06, 0.04}, {0, 0.92, 0.05, 0.03},
    {0, 0.70, 0.20, 0.10}, {0, 0.98, 0.02, 0}};
static const double TRUE_U[NC][4] = {
    {0, 0.01, 0.04, 0.95}, {0, 0.005, 0.03, 0.965}, {0, 0.0005, 0.02, 0.9795},
    {0, 0.001, 0.01, 0.989}, {0, 0.5, 0.5, 0}};
static const double P_NULL = 0.05;

static dl_spec *spec;
static dl_model *model;

static void setup(void)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_spec_parse("em.yaml", SPEC, strlen(SPEC), &spec, &e), DL_OK, "%s:%llu: %s",
                 e.file, (unsigned long long)e.line, e.msg);
    cr_assert_eq(dl__model_new(spec, NULL, &model, &e), DL_OK, "%s", e.msg);
    for (size_t c = 0; c < NC; c++)
        for (size_t v = 1; v < NL[c]; v++)
            model->comp[c].u[v] = TRUE_U[c][v];
}

static void teardown(void)
{
    dl__model_free(model);
    dl_spec_free(spec);
}

TestSuite(em, .init = setup, .fini = teardown);

/* splitmix64: a seeded generator, so the simulated data are fixed. */
static uint64_t rng_state;
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += UINT64_C(0x9E3779B97F4A7C15));
    z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
    return z ^ (z >> 31);
}
static double rng_unit(void)
{
    return (double)(rng_next() >> 11) * 0x1.0p-53;
}

static unsigned draw(const double *p, size_t n)
{
    double x = rng_unit(), acc = 0;
    for (unsigned v = 1; v < n; v++) {
        acc += p[v];
        if (x < acc)
            return v;
    }
    return (unsigned)n - 1;
}

static uint32_t pack(const unsigned *val)
{
    uint32_t p = 0, radix = 1;
    for (size_t c = 0; c < NC; c++) {
        p += val[c] * radix;
        radix *= (uint32_t)NL[c];
    }
    return p;
}

/* N pairs, a share LAMBDA of them matches; comparison FORCE (or -1) takes
 * value 1 on every pair, as a blocking rule on it would make it. */
static void simulate(dl_histogram *h, uint64_t n, double lambda, int force, uint64_t seed)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__histogram_init(h, dl__model_n_patterns(model), &e), DL_OK);
    rng_state = seed;
    for (uint64_t i = 0; i < n; i++) {
        bool match = rng_unit() < lambda;
        unsigned val[NC];
        for (size_t c = 0; c < NC; c++) {
            val[c] = draw(match ? TRUE_M[c] : TRUE_U[c], NL[c]);
            if ((int)c == force)
                val[c] = 1;
            else if (rng_unit() < P_NULL)
                val[c] = 0;
        }
        h->counts[pack(val)]++;
    }
    h->total = n;
}

static void check_recovered(const dl_em_pass *ps, double lambda, int skip)
{
    cr_assert(ps->converged, "converged in %u iterations", ps->iterations);
    cr_assert(fabs(ps->lambda - lambda) < 0.1 * lambda, "lambda %g, truth %g", ps->lambda,
              lambda);
    for (size_t c = 0, off = 0; c < NC; off += NL[c], c++) {
        if ((int)c == skip)
            continue;
        for (size_t v = 1; v < NL[c]; v++)
            cr_assert(fabs(ps->m[off + v] - TRUE_M[c][v]) < 0.02,
                      "lambda %g: m[%zu][%zu] = %g, truth %g", lambda, c, v, ps->m[off + v],
                      TRUE_M[c][v]);
    }
}

Test(em, recovers_m_and_lambda_small_lambda)
{
    dl_histogram h;
    simulate(&h, 1000000, 0.01, -1, 1);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "all", 500, 1e-7, &e), DL_OK, "%s",
                 e.msg);
    cr_assert_eq(model->n_passes, 1);
    check_recovered(&model->passes[0], 0.01, -1);
    cr_assert_eq(model->passes[0].pairs, 1000000);
    cr_assert_str_eq(model->passes[0].rule, "all");
    /* The trace ends below the tolerance, and only there. */
    const dl_em_pass *ps = &model->passes[0];
    cr_assert_lt(ps->trace[ps->iterations - 1], 1e-7);
    for (unsigned i = 0; i + 1 < ps->iterations; i++)
        cr_assert_geq(ps->trace[i], 1e-7);
    cr_assert_eq(model->warnings.len, 0, "%s", model->warnings.data);
    dl__histogram_free(&h);
}

Test(em, recovers_m_and_lambda_large_lambda)
{
    dl_histogram h;
    simulate(&h, 1000000, 0.2, -1, 2);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "all", 500, 1e-7, &e), DL_OK);
    check_recovered(&model->passes[0], 0.2, -1);
    dl__histogram_free(&h);
}

/* A level no pair shows (postcode "sector": every pattern with it removed)
 * gets half an expected match, not the fixed floor: evidence against a match
 * that other agreements can still outweigh. */
Test(em, level_no_pair_shows_counts_half_a_match)
{
    dl_histogram h;
    simulate(&h, 1000000, 0.01, -1, 1);
    const uint32_t radix = (uint32_t)(NL[0] * NL[1] * NL[2]); /* of comparison pc */
    for (uint32_t p = 0; p < h.n_patterns; p++)
        if (p / radix % NL[3] == 2) {
            h.total -= h.counts[p];
            h.counts[p] = 0;
        }
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "all", 500, 1e-7, &e), DL_OK);
    const dl_em_pass *ps = &model->passes[0];
    const size_t off = NL[0] + NL[1] + NL[2];
    /* Matches with a postcode: the pass's own estimate. */
    double matches = ps->lambda * (double)h.total * (1 - P_NULL);
    double m_sector = ps->m[off + 2];
    cr_assert_gt(m_sector, 10 * DL_MODEL_FLOOR, "m %g", m_sector);
    cr_assert(fabs(m_sector * matches - 0.5) < 0.05, "m %g: %g expected matches", m_sector,
              m_sector * matches);
    cr_assert(fabs(ps->m[off + 1] + ps->m[off + 2] + ps->m[off + 3] - 1) < 1e-12);
    dl__histogram_free(&h);
}

Test(em, fixed_comparison_left_out_and_untouched)
{
    /* As if blocked on dob.token: dob agrees on every pair. */
    dl_histogram h;
    simulate(&h, 1000000, 0.05, 2, 3);
    double start[4];
    memcpy(start, model->comp[2].m, sizeof start);
    bool fixed[NC] = {false, false, true, false, false};
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h, fixed, "dob.token", 500, 1e-7, &e), DL_OK);
    const dl_em_pass *ps = &model->passes[0];
    check_recovered(ps, 0.05, 2);
    cr_assert(ps->fixed[2] && !ps->fixed[0]);
    for (size_t v = 0; v < 4; v++) {
        cr_assert_eq(ps->m[8 + v], start[v], "the pass keeps dob's start m");
        cr_assert_eq(model->comp[2].m[v], start[v], "the model's dob m is untouched");
    }
    /* Had dob stayed in, its forced agreement (u = 0.0005) would have made
     * every pair look like a match. */
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "dob.token", 500, 1e-7, &e), DL_OK);
    cr_assert_gt(model->passes[1].lambda, 0.5);
    dl__histogram_free(&h);
}

Test(em, non_convergence_is_reported)
{
    dl_histogram h;
    simulate(&h, 100000, 0.05, -1, 4);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "dob.token & last.token", 2, 1e-9, &e),
                 DL_OK);
    const dl_em_pass *ps = &model->passes[0];
    cr_assert_not(ps->converged);
    cr_assert_eq(ps->iterations, 2);
    cr_assert_gt(ps->trace[1], 1e-9);
    cr_assert(strstr(model->warnings.data, "'dob.token & last.token': EM did not converge in 2"),
              "%s", model->warnings.data);
    dl__histogram_free(&h);
}

Test(em, passes_combined_by_expected_matches_and_lambda_finished)
{
    dl_histogram h1, h2;
    simulate(&h1, 400000, 0.05, 2, 5); /* blocked on dob */
    simulate(&h2, 200000, 0.2, 1, 6);  /* blocked on last */
    bool f1[NC] = {false, false, true, false, false};
    bool f2[NC] = {false, true, false, false, false};
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h1, f1, "dob.token", 500, 1e-7, &e), DL_OK);
    cr_assert_eq(dl__em_pass(model, NULL, &h2, f2, "last.token", 500, 1e-7, &e), DL_OK);
    const dl_em_pass *a = &model->passes[0], *b = &model->passes[1];
    double wa = a->lambda * 400000, wb = b->lambda * 200000;
    dl__model_finish(model, 1234, 1e9);
    /* first: estimated by both passes, weighted by their expected matches. */
    for (size_t v = 1; v < 4; v++)
        cr_assert_float_eq(model->comp[0].m[v], (wa * a->m[v] + wb * b->m[v]) / (wa + wb),
                           1e-12);
    /* last: only the first pass estimated it; dob: only the second. */
    for (size_t v = 1; v < 4; v++) {
        cr_assert_float_eq(model->comp[1].m[v], a->m[4 + v], 1e-15);
        cr_assert_float_eq(model->comp[2].m[v], b->m[8 + v], 1e-15);
        cr_assert(fabs(model->comp[2].m[v] - TRUE_M[2][v]) < 0.02);
        cr_assert_not(model->comp[2].m_fixed[v]);
    }
    cr_assert_float_eq(model->lambda, 1234 / 1e9, 1e-20);
    cr_assert_eq(model->warnings.len, 0, "%s", model->warnings.data);
    dl__histogram_free(&h1);
    dl__histogram_free(&h2);
}

Test(em, comparison_in_every_rule_keeps_start_m_with_warning)
{
    dl_histogram h;
    simulate(&h, 100000, 0.05, 2, 7);
    bool f[NC] = {false, false, true, false, false};
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h, f, "dob.token", 500, 1e-7, &e), DL_OK);
    double start = model->comp[2].m[1];
    dl__model_finish(model, 10, 1000);
    cr_assert_eq(model->comp[2].m[1], start);
    cr_assert(model->comp[2].m_fixed[1]);
    cr_assert_not(model->comp[0].m_fixed[1]);
    cr_assert(strstr(model->warnings.data, "comparison 'dob': used by every training rule"),
              "%s", model->warnings.data);
    cr_assert_float_eq(model->lambda, 0.01, 1e-15);
    dl__histogram_free(&h);
}

Test(em, lambda_clamped_with_warning)
{
    dl__model_finish(model, 0, 1e6);
    cr_assert_eq(model->lambda, 1e-12);
    cr_assert(strstr(model->warnings.data, "clamped"));
    dl__model_finish(model, 5, 0); /* no pairs at all */
    cr_assert_eq(model->lambda, 1e-12);
    dl__model_finish(model, 2e6, 1e6);
    cr_assert_eq(model->lambda, 1 - 1e-12);
}

Test(em, expected_matches_of_blocked_pairs)
{
    /* Train on one histogram, then count the matches of another drawn from
     * the same truth: the fixed point of lambda finds its 3% of 500000. */
    dl_histogram h, g;
    simulate(&h, 1000000, 0.05, -1, 8);
    simulate(&g, 500000, 0.03, -1, 9);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "all", 500, 1e-7, &e), DL_OK);
    dl__model_finish(model, 1, 1e6);
    double x = dl__model_expected_matches(model, NULL, &g);
    cr_assert(fabs(x - 15000) < 0.05 * 15000, "expected matches %g (truth 15000)", x);
    dl_histogram empty;
    cr_assert_eq(dl__histogram_init(&empty, 768, &e), DL_OK);
    cr_assert_eq(dl__model_expected_matches(model, NULL, &empty), 0);
    dl__histogram_free(&empty);
    dl__histogram_free(&h);
    dl__histogram_free(&g);
}

Test(em, empty_histogram_estimates_nothing)
{
    dl_histogram h;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__histogram_init(&h, 768, &e), DL_OK);
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "nothing", 10, 1e-6, &e), DL_OK);
    cr_assert_eq(model->passes[0].iterations, 0);
    cr_assert(strstr(model->warnings.data, "'nothing': no pairs"));
    dl__histogram_free(&h);
}

Test(em, bad_arguments_are_errors)
{
    dl_histogram h;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__histogram_init(&h, 767, &e), DL_OK);
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "x", 10, 1e-6, &e), DL_EINTERNAL);
    cr_assert(strstr(e.msg, "767 patterns (expected 768)"), "%s", e.msg);
    cr_assert_eq(e.line, 0);
    dl__histogram_free(&h);
    cr_assert_eq(dl__histogram_init(&h, 768, &e), DL_OK);
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "x", 0, 1e-6, &e), DL_EUSAGE);
    cr_assert_eq(dl__em_pass(model, NULL, &h, NULL, "x", 10, 0, &e), DL_EUSAGE);
    cr_assert_eq(model->n_passes, 0, "a refused pass is not recorded");
    dl__histogram_free(&h);
    cr_assert_eq(dl__histogram_init(&h, 0, &e), DL_EINTERNAL);
    cr_assert_null(h.counts);
    dl__histogram_free(&h);
}

Test(em, histogram_add_merges_counts_and_totals)
{
    dl_histogram a, b;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl__histogram_init(&a, 10, &e), DL_OK);
    cr_assert_eq(dl__histogram_init(&b, 10, &e), DL_OK);
    for (int p = 0; p < 10; p++)
        cr_assert_eq(a.counts[p], 0);
    a.counts[3] = 5;
    a.total = 5;
    b.counts[3] = 2;
    b.counts[9] = 7;
    b.total = 9;
    dl__histogram_add(&a, &b);
    cr_assert_eq(a.counts[3], 7);
    cr_assert_eq(a.counts[9], 7);
    cr_assert_eq(a.counts[0], 0);
    cr_assert_eq(a.total, 14);
    cr_assert_eq(b.counts[3], 2, "the source is unchanged");
    dl__histogram_free(&a);
    dl__histogram_free(&b);
    dl__histogram_free(&a); /* freeing twice is harmless */
    dl__histogram_free(NULL);
}
