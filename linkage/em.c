/* em.c: expectation-maximisation of m and lambda over a pattern histogram.
 * Part of linkage/; link.c runs one pass per training rule on the histogram of
 * that rule's pairs, model.c combines the passes. The maths: docs/model.md. */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

/* A pass's lambda stays inside these bounds: at 0 or 1 the posterior of
 * every pattern is fixed and EM cannot move again. */
#define PASS_LAMBDA_MIN 1e-9

/* Expected matches a level is given at the least in an M-step (see there). */
#define M_UNSEEN 0.5

/* Scratch of one pass: the non-empty patterns, decoded once, so an iteration
 * costs (non-empty patterns x comparisons) whatever the number of pairs. */
typedef struct em_work {
    size_t k;            /* non-empty patterns */
    double *cnt;         /* k pair counts */
    uint8_t *val;        /* k x n_comp values */
    double *ubase;       /* k: product of u over the estimated, non-null values */
    double *acc;         /* sum of n_levels: posterior-weighted counts per level */
    double *next;        /* sum of n_levels: the M-step's m */
} em_work;

static void work_free(em_work *w)
{
    free(w->cnt);
    free(w->val);
    free(w->ubase);
    free(w->acc);
    free(w->next);
}

/* Keep m at or above the floor so that log2(m/u) stays finite, and the
 * levels of a comparison still summing to 1: floored levels keep the floor,
 * the others share what is left in proportion. */
static void floor_m(double *m, size_t n_levels)
{
    double free_sum = 0, fixed_sum = 0;
    for (size_t v = 1; v < n_levels; v++) {
        if (m[v] < DL_MODEL_FLOOR) {
            m[v] = -DL_MODEL_FLOOR; /* marked: floored */
            fixed_sum += DL_MODEL_FLOOR;
        } else {
            free_sum += m[v];
        }
    }
    double scale = free_sum > 0 ? (1 - fixed_sum) / free_sum : 0;
    for (size_t v = 1; v < n_levels; v++)
        m[v] = m[v] < 0 ? DL_MODEL_FLOOR : m[v] * scale;
}

dl_status dl__em_pass(dl_model *m, const dl_comparator *cmp, const dl_histogram *h,
                      const bool *fixed, const char *rule_text, unsigned max_iter,
                      double tol, dl_error *err)
{
    (void)cmp; /* patterns are decoded by the model's own shape */
    const size_t nc = m->n_comp;
    if (h->n_patterns != dl__model_n_patterns(m))
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "EM histogram has %llu patterns (expected %llu)",
                            (unsigned long long)h->n_patterns,
                            (unsigned long long)dl__model_n_patterns(m));
    if (max_iter == 0 || !(tol > 0))
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "EM needs max_iterations >= 1 and tolerance > 0");

    size_t n_m = 0; /* m values of all comparisons, flattened */
    size_t off[DL_SPEC_MAX_FIELDS * 4];
    size_t *offs = off;
    if (nc > sizeof off / sizeof off[0]) {
        offs = malloc(nc * sizeof *offs);
        if (!offs)
            return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for EM");
    }
    for (size_t c = 0; c < nc; c++) {
        offs[c] = n_m;
        n_m += m->comp[c].n_levels;
    }

    em_work w = {0};
    dl_em_pass ps = {0};
    snprintf(ps.rule, sizeof ps.rule, "%s", rule_text ? rule_text : "");
    ps.pairs = h->total;
    ps.trace = calloc(max_iter, sizeof *ps.trace);
    ps.fixed = calloc(nc, sizeof *ps.fixed);
    ps.m = calloc(n_m, sizeof *ps.m);
    w.acc = calloc(n_m, sizeof *w.acc);
    w.next = calloc(n_m, sizeof *w.next);
    dl_em_pass *grown = realloc(m->passes, (m->n_passes + 1) * sizeof *m->passes);
    if (grown)
        m->passes = grown;
    if (!ps.trace || !ps.fixed || !ps.m || !w.acc || !w.next || !grown)
        goto nomem;

    size_t n_est = 0;
    for (size_t c = 0; c < nc; c++) {
        ps.fixed[c] = fixed && fixed[c];
        n_est += !ps.fixed[c];
        memcpy(ps.m + offs[c], m->comp[c].m, m->comp[c].n_levels * sizeof *ps.m);
        if (!ps.fixed[c])
            floor_m(ps.m + offs[c], m->comp[c].n_levels);
    }

    /* Non-empty patterns; comparisons of the rule are left out of the E-step
     * (their values were forced by blocking, so they carry no information on
     * match status here, as in Splink), which is done by treating their
     * values as null: factor 1 in both classes. */
    for (uint64_t p = 0; p < h->n_patterns; p++)
        w.k += h->counts[p] != 0;
    w.cnt = malloc((w.k ? w.k : 1) * sizeof *w.cnt);
    w.val = malloc((w.k ? w.k : 1) * nc);
    w.ubase = malloc((w.k ? w.k : 1) * sizeof *w.ubase);
    if (!w.cnt || !w.val || !w.ubase)
        goto nomem;
    size_t i = 0;
    for (uint64_t p = 0; p < h->n_patterns; p++) {
        if (!h->counts[p])
            continue;
        uint64_t rest = p;
        double u = 1;
        for (size_t c = 0; c < nc; c++) {
            unsigned v = (unsigned)(rest % m->comp[c].n_levels);
            rest /= m->comp[c].n_levels;
            if (ps.fixed[c])
                v = 0;
            w.val[i * nc + c] = (uint8_t)v;
            if (v)
                u *= m->comp[c].u[v];
        }
        w.cnt[i] = (double)h->counts[p];
        w.ubase[i++] = u;
    }

    /* Start lambda from the pass itself: the share of its pairs whose
     * pattern favours a match (Bayes factor > 1) under the start values,
     * kept off the bounds so EM can move either way. */
    double total = (double)h->total, lam = 0.5;
    if (total > 0) {
        double favour = 0;
        for (i = 0; i < w.k; i++) {
            double mm = 1;
            for (size_t c = 0; c < nc; c++) {
                unsigned v = w.val[i * nc + c];
                if (v)
                    mm *= ps.m[offs[c] + v];
            }
            if (mm > w.ubase[i])
                favour += w.cnt[i];
        }
        lam = favour / total;
        if (lam < 0.001)
            lam = 0.001;
        if (lam > 0.999)
            lam = 0.999;
    }

    for (unsigned it = 0; it < max_iter && w.k > 0; it++) {
        /* E-step per pattern: P(match | pattern) = lam M / (lam M + (1-lam) U),
         * M and U products over the estimated, non-null comparisons. */
        memset(w.acc, 0, n_m * sizeof *w.acc);
        double matches = 0;
        for (i = 0; i < w.k; i++) {
            const uint8_t *val = w.val + i * nc;
            double mm = 1;
            for (size_t c = 0; c < nc; c++)
                if (val[c])
                    mm *= ps.m[offs[c] + val[c]];
            double num = lam * mm;
            double post = num / (num + (1 - lam) * w.ubase[i]);
            double e = w.cnt[i] * post;
            matches += e;
            for (size_t c = 0; c < nc; c++)
                if (val[c])
                    w.acc[offs[c] + val[c]] += e;
        }
        /* M-step: m = expected matches at each level over those with a
         * non-null value; lambda = expected matches over pairs. */
        double delta = 0;
        for (size_t c = 0; c < nc; c++) {
            if (ps.fixed[c])
                continue;
            double *nx = w.next + offs[c], *cur = ps.m + offs[c];
            double den = 0;
            for (size_t v = 1; v < m->comp[c].n_levels; v++)
                den += w.acc[offs[c] + v];
            if (!(den > 0)) {
                /* No expected match has this comparison non-null: nothing
                 * to learn in this pass; keep the current values. */
                memcpy(nx, cur, m->comp[c].n_levels * sizeof *nx);
                continue;
            }
            /* A level with under half an expected match counts as half a
             * match, as u counts an unseen level as half a pair: evidence
             * against a match in proportion to how many matches trained it,
             * not the fixed floor's -20 bits that vetoes any pair showing it
             * (a move to another district of the same area, say). */
            den = 0;
            for (size_t v = 1; v < m->comp[c].n_levels; v++) {
                double a = w.acc[offs[c] + v];
                nx[v] = a < M_UNSEEN ? M_UNSEEN : a;
                den += nx[v];
            }
            nx[0] = 0;
            for (size_t v = 1; v < m->comp[c].n_levels; v++)
                nx[v] /= den;
            floor_m(nx, m->comp[c].n_levels);
            for (size_t v = 1; v < m->comp[c].n_levels; v++) {
                double d = fabs(nx[v] - cur[v]);
                if (d > delta)
                    delta = d;
                cur[v] = nx[v];
            }
        }
        double next = matches / total;
        if (next < PASS_LAMBDA_MIN)
            next = PASS_LAMBDA_MIN;
        if (next > 1 - PASS_LAMBDA_MIN)
            next = 1 - PASS_LAMBDA_MIN;
        if (fabs(next - lam) > delta)
            delta = fabs(next - lam);
        lam = next;
        ps.trace[it] = delta;
        ps.iterations = it + 1;
        if (delta < tol) {
            ps.converged = true;
            break;
        }
    }
    if (w.k == 0)
        ps.converged = true; /* no pairs: nothing to estimate, said below */
    ps.lambda = lam;

    if (w.k == 0)
        dl__model_warn(m, "training rule '%s': no pairs (this pass estimates nothing)", ps.rule);
    else if (!ps.converged)
        dl__model_warn(m,
             "training rule '%s': EM did not converge in %u iterations (last change "
             "%.3g, tolerance %.3g)",
             ps.rule, ps.iterations, ps.trace[ps.iterations - 1], tol);
    if (n_est == 0)
        dl__model_warn(m, "training rule '%s': uses every comparison, estimates none", ps.rule);
    if (w.k > 0 && (lam <= PASS_LAMBDA_MIN || lam >= 1 - PASS_LAMBDA_MIN))
        dl__model_warn(m, "training rule '%s': lambda at its bound %.3g", ps.rule, lam);

    m->passes[m->n_passes++] = ps;
    work_free(&w);
    if (offs != off)
        free(offs);
    return DL_OK;
nomem:
    free(ps.trace);
    free(ps.fixed);
    free(ps.m);
    work_free(&w);
    if (offs != off)
        free(offs);
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                        "out of memory for EM over %llu patterns",
                        (unsigned long long)h->n_patterns);
}
