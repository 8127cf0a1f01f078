/* model.c: the Fellegi-Sunter model: its shape, u from random pairs, combining
 * EM passes, lambda, match weights and term-frequency adjustments.
 * Part of linkage/; em.c estimates m into it, model_yaml.c saves and loads it,
 * link.c scores pairs with it. The maths and its sources: docs/model.md. */
#include <assert.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

/* Bounds of the prior: a lambda of exactly 0 or 1 would make every weight
 * infinite. 1e-12 is below one match in 10^6 x 10^6 pairs. */
#define LAMBDA_MIN 1e-12

/* Warnings are advisory: when memory runs out one is lost, nothing else. */
void dl__model_warn(dl_model *m, const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    (void)(dl_buf_puts(&m->warnings, line) && dl_buf_putc(&m->warnings, '\n'));
}

static void copy_str(char *dst, size_t size, const char *src)
{
    snprintf(dst, size, "%s", src ? src : "");
}

/* Start values of m for the non-null levels 1..L+1 (L+1 = else): Splink-like,
 * the top level 0.9 and the remaining 0.1 halving level by level, so that
 * EM starts on the side of "matches agree" and finds that mode, not the
 * mirror image where the classes are swapped. */
static void start_m(double *m, size_t n_levels)
{
    m[0] = 0;
    size_t k = n_levels - 1; /* non-null values */
    if (k == 1) {
        m[1] = 1;
        return;
    }
    double rest = 0, w = 1;
    for (size_t v = 2; v < n_levels; v++, w /= 2)
        rest += w;
    m[1] = 0.9;
    w = 1;
    for (size_t v = 2; v < n_levels; v++, w /= 2)
        m[v] = 0.1 * w / rest;
}

uint64_t dl__model_n_patterns(const dl_model *m)
{
    uint64_t p = 1;
    for (size_t c = 0; c < m->n_comp; p *= m->comp[c].n_levels, c++)
        ;
    return p;
}

dl_status dl__model_new(const dl_spec *spec, const dl_comparator *cmp, dl_model **out,
                        dl_error *err)
{
    /* The shape follows from the spec (n_levels = spec levels + 2, as
     * link_internal.h fixes it), so patterns are decoded here without a call
     * per comparison; CMP, when given, must agree. */
    *out = NULL;
    if (spec->n_comparisons == 0)
        return dl_error_set(err, DL_EINPUT, spec->path, 0, 0,
                            "the spec has no comparisons (expected at least one)");
    uint64_t patterns = 1;
    for (size_t c = 0; c < spec->n_comparisons; c++) {
        const dl_spec_comparison *sc = &spec->comparisons[c];
        patterns *= sc->n_levels + 2;
        /* Patterns are uint32_t indexes (link_internal.h). */
        if (patterns > UINT32_MAX)
            return dl_error_set(err, DL_EINPUT, spec->path, sc->line, sc->col,
                                "comparisons up to '%s' make more than 2^32 patterns "
                                "(expected fewer comparisons or levels)",
                                sc->name);
    }
    if (cmp) {
        bool same = dl__comparator_n_comparisons(cmp) == spec->n_comparisons;
        for (size_t c = 0; same && c < spec->n_comparisons; c++)
            same = dl__comparator_n_levels(cmp, c) == spec->comparisons[c].n_levels + 2;
        if (!same)
            return dl_error_set(err, DL_EINTERNAL, spec->path, 0, 0,
                                "the comparator's shape differs from the spec's comparisons");
    }
    dl_model *m = calloc(1, sizeof *m);
    if (!m)
        goto nomem;
    m->n_comp = spec->n_comparisons;
    m->comp = calloc(m->n_comp, sizeof *m->comp);
    if (!m->comp)
        goto nomem;
    for (size_t c = 0; c < m->n_comp; c++) {
        const dl_spec_comparison *sc = &spec->comparisons[c];
        dl_model_comp *mc = &m->comp[c];
        size_t n = sc->n_levels + 2;
        copy_str(mc->name, sizeof mc->name, sc->name);
        mc->n_levels = n;
        mc->labels = calloc(n, sizeof *mc->labels);
        mc->m = calloc(n, sizeof *mc->m);
        mc->u = calloc(n, sizeof *mc->u);
        mc->m_fixed = calloc(n, sizeof *mc->m_fixed);
        mc->u_count = calloc(n, sizeof *mc->u_count);
        if (!mc->labels || !mc->m || !mc->u || !mc->m_fixed || !mc->u_count)
            goto nomem;
        copy_str(mc->labels[0], sizeof mc->labels[0], "null");
        for (size_t l = 0; l < sc->n_levels; l++)
            copy_str(mc->labels[l + 1], sizeof mc->labels[0], sc->levels[l].label);
        copy_str(mc->labels[n - 1], sizeof mc->labels[0], "else");
        /* Term frequencies adjust exact agreement on the tf feature: the
         * first exact level on it (a looser level shares no one value). */
        for (size_t l = 0; sc->has_tf && l < sc->n_levels && !mc->tf_level; l++)
            if (sc->levels[l].kind == DL_LV_EXACT &&
                sc->levels[l].terms[0].field == sc->tf_feature.field &&
                sc->levels[l].terms[0].kind == sc->tf_feature.kind)
                mc->tf_level = (unsigned)l + 1;
        start_m(mc->m, n);
        /* u uniform until dl__model_set_u: weights are finite from the start. */
        for (size_t v = 1; v < n; v++)
            mc->u[v] = 1.0 / (double)(n - 1);
    }
    m->lambda = 1e-4;
    m->trained = true;
    dl_spec_hash_hex(spec, m->spec_hash);
    *out = m;
    return DL_OK;
nomem:
    dl__model_free(m);
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the model");
}

void dl__model_free(dl_model *m)
{
    if (!m)
        return;
    for (size_t c = 0; m->comp && c < m->n_comp; c++) {
        free(m->comp[c].labels);
        free(m->comp[c].m);
        free(m->comp[c].u);
        free(m->comp[c].m_fixed);
        free(m->comp[c].u_count);
    }
    free(m->comp);
    for (size_t p = 0; p < m->n_passes; p++) {
        free(m->passes[p].trace);
        free(m->passes[p].fixed);
        free(m->passes[p].m);
    }
    free(m->passes);
    dl_buf_free(&m->warnings);
    free(m);
}

void dl__model_set_u(dl_model *m, const dl_comparator *cmp, const dl_histogram *random_pairs)
{
    (void)cmp;
    const dl_histogram *h = random_pairs;
    assert(h->n_patterns == dl__model_n_patterns(m));
    for (size_t c = 0; c < m->n_comp; c++)
        memset(m->comp[c].u_count, 0, m->comp[c].n_levels * sizeof *m->comp[c].u_count);
    /* One pass over the histogram, decoding each non-empty pattern's digits
     * (comparison 0 least significant, as the comparator packs them). */
    for (uint64_t p = 0; p < h->n_patterns; p++) {
        uint64_t n = h->counts[p];
        if (!n)
            continue;
        uint64_t rest = p;
        for (size_t c = 0; c < m->n_comp; c++) {
            m->comp[c].u_count[rest % m->comp[c].n_levels] += n;
            rest /= m->comp[c].n_levels;
        }
    }
    m->u_pairs = h->total;
    for (size_t c = 0; c < m->n_comp; c++) {
        dl_model_comp *mc = &m->comp[c];
        uint64_t nonnull = 0;
        for (size_t v = 1; v < mc->n_levels; v++)
            nonnull += mc->u_count[v];
        if (nonnull == 0) {
            for (size_t v = 1; v < mc->n_levels; v++)
                mc->u[v] = 1.0 / (double)(mc->n_levels - 1);
            dl__model_warn(m, "comparison '%s': no random pair had both values (u left uniform)",
                 mc->name);
            continue;
        }
        /* A level no sampled pair reached counts as half a pair: its u is
         * then small but not 0 (a continuity correction rather than a fixed
         * floor, which would be too high for rare agreements such as an
         * exact NHS number, u ~ 1e-7 in a large population). */
        double sum = 0;
        for (size_t v = 1; v < mc->n_levels; v++) {
            double k = (double)mc->u_count[v];
            if (mc->u_count[v] == 0) {
                k = 0.5;
                dl__model_warn(m,
                     "comparison '%s' level '%s': not seen in %llu random pairs "
                     "(u set to half a pair)",
                     mc->name, mc->labels[v], (unsigned long long)nonnull);
            }
            mc->u[v] = k;
            sum += k;
        }
        for (size_t v = 1; v < mc->n_levels; v++)
            mc->u[v] /= sum;
        mc->u[0] = 0;
    }
}

void dl__model_finish(dl_model *m, double expected_matches, double total_pairs)
{
    for (size_t c = 0, off = 0; c < m->n_comp; off += m->comp[c].n_levels, c++) {
        dl_model_comp *mc = &m->comp[c];
        double wsum = 0;
        size_t passes = 0;
        for (size_t p = 0; p < m->n_passes; p++)
            if (!m->passes[p].fixed[c]) {
                wsum += m->passes[p].lambda * (double)m->passes[p].pairs;
                passes++;
            }
        if (passes == 0) {
            for (size_t v = 0; v < mc->n_levels; v++)
                mc->m_fixed[v] = true;
            dl__model_warn(m,
                 "comparison '%s': used by every training rule, m never estimated "
                 "(start values kept; add a training rule without it)",
                 mc->name);
            continue;
        }
        /* Weighted by expected matches; when no pass found any, plainly. */
        for (size_t v = 1; v < mc->n_levels; v++) {
            double acc = 0;
            for (size_t p = 0; p < m->n_passes; p++) {
                const dl_em_pass *ps = &m->passes[p];
                if (ps->fixed[c])
                    continue;
                double w = wsum > 0 ? ps->lambda * (double)ps->pairs / wsum
                                    : 1.0 / (double)passes;
                acc += w * ps->m[off + v];
            }
            mc->m[v] = acc;
            mc->m_fixed[v] = false;
        }
    }
    double lambda = total_pairs > 0 ? expected_matches / total_pairs : 0;
    if (!(lambda >= LAMBDA_MIN)) { /* also NaN */
        dl__model_warn(m, "lambda %.3g below %.0e: clamped (no matches expected?)", lambda, LAMBDA_MIN);
        lambda = LAMBDA_MIN;
    } else if (lambda > 1 - LAMBDA_MIN) {
        dl__model_warn(m, "lambda %.3g above 1 - %.0e: clamped", lambda, LAMBDA_MIN);
        lambda = 1 - LAMBDA_MIN;
    }
    m->lambda = lambda;
}

/* m/u of one level of one comparison, 1 for null. */
static inline double bayes_factor(const dl_model_comp *mc, unsigned v)
{
    return v == 0 ? 1.0 : mc->m[v] / mc->u[v];
}

double dl__model_weight(const dl_model *m, const dl_comparator *cmp, uint32_t pattern)
{
    (void)cmp;
    double w = log2(m->lambda / (1 - m->lambda));
    uint32_t rest = pattern;
    for (size_t c = 0; c < m->n_comp; c++) {
        const dl_model_comp *mc = &m->comp[c];
        unsigned v = (unsigned)(rest % mc->n_levels);
        rest /= (uint32_t)mc->n_levels;
        if (v)
            w += log2(mc->m[v] / mc->u[v]);
    }
    return w;
}

void dl__model_weight_table(const dl_model *m, double *out)
{
    /* Odometer over the digits, so each pattern costs one addition per
     * comparison and no division or logarithm. */
    size_t n_comp = m->n_comp;
    unsigned *digit = calloc(n_comp, sizeof *digit);
    double *table = calloc(n_comp * (DL_SPEC_MAX_LEVELS + 2), sizeof *table);
    uint64_t n = dl__model_n_patterns(m);
    double prior = log2(m->lambda / (1 - m->lambda));
    if (!digit || !table) {
        /* Out of memory: the slow way still gives the same numbers. */
        for (uint64_t p = 0; p < n; p++)
            out[p] = dl__model_weight(m, NULL, (uint32_t)p);
        free(digit);
        free(table);
        return;
    }
    for (size_t c = 0; c < n_comp; c++)
        for (unsigned v = 1; v < m->comp[c].n_levels; v++)
            table[c * (DL_SPEC_MAX_LEVELS + 2) + v] = log2(bayes_factor(&m->comp[c], v));
    for (uint64_t p = 0; p < n; p++) {
        double w = prior;
        for (size_t c = 0; c < n_comp; c++)
            w += table[c * (DL_SPEC_MAX_LEVELS + 2) + digit[c]];
        out[p] = w;
        for (size_t c = 0; c < n_comp; c++) {
            if (++digit[c] < m->comp[c].n_levels)
                break;
            digit[c] = 0;
        }
    }
    free(digit);
    free(table);
}

double dl__prob(double weight)
{
    /* 1 / (1 + 2^-w) equals 2^w / (1 + 2^w) and never computes inf / inf. */
    return 1.0 / (1.0 + exp2(-weight));
}

double dl__model_expected_matches(const dl_model *m, const dl_comparator *cmp,
                                  const dl_histogram *h)
{
    (void)cmp;
    assert(h->n_patterns == dl__model_n_patterns(m));
    if (h->total == 0)
        return 0;
    /* Bayes factors of the non-empty patterns, once: m and u stay fixed. */
    size_t k = 0, cap = 1024;
    double *bf = malloc(cap * sizeof *bf), *cnt = malloc(cap * sizeof *cnt);
    double expected = 0;
    if (!bf || !cnt)
        goto done;
    for (uint64_t p = 0; p < h->n_patterns; p++) {
        if (!h->counts[p])
            continue;
        if (k == cap) {
            cap *= 2;
            double *b2 = realloc(bf, cap * sizeof *bf);
            if (b2)
                bf = b2;
            double *c2 = realloc(cnt, cap * sizeof *cnt);
            if (c2)
                cnt = c2;
            if (!b2 || !c2)
                goto done;
        }
        double r = 1;
        uint64_t rest = p;
        for (size_t c = 0; c < m->n_comp; c++) {
            r *= bayes_factor(&m->comp[c], (unsigned)(rest % m->comp[c].n_levels));
            rest /= m->comp[c].n_levels;
        }
        bf[k] = r;
        cnt[k++] = (double)h->counts[p];
    }
    /* EM for the mixing weight alone: lambda <- mean posterior. Each step
     * raises the likelihood, so it converges from any start in (0, 1); start
     * from the passes' lambda (their pairs are a subset of these). */
    double total = (double)h->total, lam = 0, wsum = 0;
    for (size_t p = 0; p < m->n_passes; p++) {
        lam += m->passes[p].lambda * (double)m->passes[p].pairs;
        wsum += (double)m->passes[p].pairs;
    }
    lam = wsum > 0 ? lam / wsum : 0.5;
    if (!(lam > 1e-9 && lam < 1 - 1e-9))
        lam = 0.5;
    for (int it = 0; it < 100000; it++) {
        double e = 0;
        for (size_t i = 0; i < k; i++)
            e += cnt[i] * lam * bf[i] / (lam * bf[i] + (1 - lam));
        double next = e / total;
        expected = e;
        if (fabs(next - lam) <= 1e-12 * (lam > 1e-3 ? lam : 1e-3) || next <= 0)
            break;
        lam = next;
    }
done:
    free(bf);
    free(cnt);
    return expected;
}

/* ---- term frequencies ---------------------------------------------------- */

struct dl_tf_table {
    uint64_t *keys; /* 0 = empty slot (0 is never a token: it means missing) */
    uint64_t *counts;
    size_t mask;    /* slots - 1, a power of two minus one */
    size_t used;
    uint64_t total; /* non-missing records */
};

/* Tokens are HMAC outputs and already uniform, but a multiplicative mix keeps
 * the table sound for any keys (tests use 1, 2, 3). */
static inline size_t tf_slot(uint64_t key, size_t mask)
{
    return (size_t)((key * UINT64_C(0x9E3779B97F4A7C15)) >> 17) & mask;
}

static bool tf_grow(dl_tf_table *t)
{
    size_t slots = (t->mask + 1) * 2;
    uint64_t *keys = calloc(slots, sizeof *keys), *counts = calloc(slots, sizeof *counts);
    if (!keys || !counts) {
        free(keys);
        free(counts);
        return false;
    }
    for (size_t i = 0; i <= t->mask; i++) {
        if (!t->keys[i])
            continue;
        size_t s = tf_slot(t->keys[i], slots - 1);
        while (keys[s])
            s = (s + 1) & (slots - 1);
        keys[s] = t->keys[i];
        counts[s] = t->counts[i];
    }
    free(t->keys);
    free(t->counts);
    t->keys = keys;
    t->counts = counts;
    t->mask = slots - 1;
    return true;
}

dl_status dl__tf_build(const uint64_t *tokens, size_t n, size_t stride, dl_tf_table **out,
                       dl_error *err)
{
    *out = NULL;
    dl_tf_table *t = calloc(1, sizeof *t);
    if (!t)
        goto nomem;
    /* Open addressing with linear probing, grown at half full: distinct
     * values (surnames, postcodes) are far fewer than records. */
    t->mask = 1023;
    t->keys = calloc(t->mask + 1, sizeof *t->keys);
    t->counts = calloc(t->mask + 1, sizeof *t->counts);
    if (!t->keys || !t->counts)
        goto nomem;
    for (size_t r = 0; r < n; r++) {
        uint64_t key = tokens[r * stride];
        if (!key)
            continue;
        size_t s = tf_slot(key, t->mask);
        while (t->keys[s] && t->keys[s] != key)
            s = (s + 1) & t->mask;
        if (!t->keys[s]) {
            if (2 * (t->used + 1) > t->mask + 1) {
                if (!tf_grow(t))
                    goto nomem;
                s = tf_slot(key, t->mask);
                while (t->keys[s])
                    s = (s + 1) & t->mask;
            }
            t->keys[s] = key;
            t->used++;
        }
        t->counts[s]++;
        t->total++;
    }
    *out = t;
    return DL_OK;
nomem:
    dl__tf_free(t);
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                        "out of memory for a term-frequency table of %zu records", n);
}

void dl__tf_free(dl_tf_table *t)
{
    if (!t)
        return;
    free(t->keys);
    free(t->counts);
    free(t);
}

uint64_t dl__tf_total(const dl_tf_table *t)
{
    return t->total;
}

double dl__tf_freq(const dl_tf_table *t, uint64_t token)
{
    if (!token || !t->total)
        return 0;
    size_t s = tf_slot(token, t->mask);
    while (t->keys[s]) {
        if (t->keys[s] == token)
            return (double)t->counts[s] / (double)t->total;
        s = (s + 1) & t->mask;
    }
    return 0;
}

double dl__tf_adjust(const dl_model *m, size_t comp, const dl_tf_table *t, uint64_t token)
{
    /* Two random records agree on value x with probability f_x^2 and a
     * matched pair shows x with probability f_x, so agreement on x has Bayes
     * factor m_exact / f_x, against m_exact / u_exact without adjustment
     * (Winkler 1989; Splink's term-frequency adjustments). Averaged over
     * agreeing random pairs, 2^adjustment is sum f_x^2 / u_exact: 1 when
     * u_exact = sum f_x^2. */
    assert(comp < m->n_comp);
    unsigned lv = m->comp[comp].tf_level;
    if (!t->total || !lv)
        return 0;
    double f = dl__tf_freq(t, token), floor = 1.0 / (double)t->total;
    if (f < floor)
        f = floor; /* a value this data never held: as rare as one record */
    return log2(m->comp[comp].u[lv] / f);
}
