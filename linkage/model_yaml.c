/* model_yaml.c: model.yaml, the trained Fellegi-Sunter model as plain YAML.
 * Part of linkage/; link.c writes it after training and loads it for --model,
 * report.c and people read it. Written by hand (deterministic bytes, doubles
 * with %.17g so they read back exactly), read with libyaml. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "dolen/outfile.h"
#include "linkage/link_internal.h"

#define MODEL_FORMAT "dolen-model/1"

/* ---- writing ------------------------------------------------------------- */

/* A double-quoted YAML scalar: labels and rule texts come from the spec, so
 * they may hold quotes or colons but never data values. */
static bool put_quoted(dl_buf *b, const char *s)
{
    bool ok = dl_buf_putc(b, '"');
    for (const unsigned char *p = (const unsigned char *)s; ok && *p; p++) {
        if (*p == '"' || *p == '\\')
            ok = dl_buf_putc(b, '\\') && dl_buf_putc(b, (char)*p);
        else if (*p < 0x20 || *p == 0x7f)
            ok = dl_buf_printf(b, "\\x%02x", *p);
        else
            ok = dl_buf_putc(b, (char)*p);
    }
    return ok && dl_buf_putc(b, '"');
}

static bool put_double(dl_buf *b, double x)
{
    return dl_buf_printf(b, "%.17g", x);
}

static bool write_text(const dl_model *m, dl_buf *b)
{
    bool ok = dl_buf_puts(b,
                          "# model.yaml: a Fellegi-Sunter model written by dolen link "
                          "(docs/model.md).\n"
                          "# weight = prior_weight + sum of the levels' match_weight; "
                          "probability = 2^w / (1 + 2^w)\n"
                          "format: " MODEL_FORMAT "\n");
    ok = ok && dl_buf_printf(b, "spec_hash: \"%s\"\nlambda: ", m->spec_hash) &&
         put_double(b, m->lambda) && dl_buf_puts(b, "\nprior_weight: ") &&
         put_double(b, log2(m->lambda / (1 - m->lambda))) &&
         dl_buf_printf(b, "\nu_pairs: %llu\ncomparisons:\n", (unsigned long long)m->u_pairs);
    for (size_t c = 0; ok && c < m->n_comp; c++) {
        const dl_model_comp *mc = &m->comp[c];
        ok = dl_buf_puts(b, "  - name: ") && put_quoted(b, mc->name) &&
             dl_buf_printf(b, "\n    m_fixed: %s\n    levels:\n",
                           mc->n_levels > 1 && mc->m_fixed[1] ? "true" : "false");
        for (size_t v = 1; ok && v < mc->n_levels; v++) {
            double bf = mc->m[v] / mc->u[v];
            ok = dl_buf_puts(b, "      - label: ") && put_quoted(b, mc->labels[v]) &&
                 dl_buf_puts(b, "\n        m: ") && put_double(b, mc->m[v]) &&
                 dl_buf_puts(b, "\n        u: ") && put_double(b, mc->u[v]) &&
                 dl_buf_printf(b, "\n        u_count: %llu\n        bayes_factor: ",
                               (unsigned long long)mc->u_count[v]) &&
                 put_double(b, bf) && dl_buf_puts(b, "\n        match_weight: ") &&
                 put_double(b, log2(bf)) && dl_buf_putc(b, '\n');
        }
    }
    ok = ok && dl_buf_puts(b, m->n_passes ? "passes:\n" : "passes: []\n");
    for (size_t p = 0; ok && p < m->n_passes; p++) {
        const dl_em_pass *ps = &m->passes[p];
        ok = dl_buf_puts(b, "  - rule: ") && put_quoted(b, ps->rule) &&
             dl_buf_printf(b, "\n    pairs: %llu\n    iterations: %u\n    converged: %s\n"
                              "    lambda: ",
                           (unsigned long long)ps->pairs, ps->iterations,
                           ps->converged ? "true" : "false") &&
             put_double(b, ps->lambda) && dl_buf_puts(b, "\n    m:");
        bool any = false;
        for (size_t c = 0, off = 0; ok && c < m->n_comp; off += m->comp[c].n_levels, c++) {
            if (ps->fixed[c])
                continue;
            ok = dl_buf_puts(b, "\n      ") && put_quoted(b, m->comp[c].name) &&
                 dl_buf_puts(b, ": [");
            for (size_t v = 1; ok && v < m->comp[c].n_levels; v++)
                ok = (v == 1 || dl_buf_puts(b, ", ")) && put_double(b, ps->m[off + v]);
            ok = ok && dl_buf_putc(b, ']');
            any = true;
        }
        ok = ok && (any || dl_buf_puts(b, " {}")) && dl_buf_puts(b, "\n    trace: [");
        /* Four values a line: a trace of 100 iterations stays readable. */
        for (unsigned i = 0; ok && i < ps->iterations; i++)
            ok = (i == 0 || dl_buf_puts(b, i % 4 ? ", " : ",\n      ")) &&
                 put_double(b, ps->trace[i]);
        ok = ok && dl_buf_puts(b, "]\n");
    }
    /* One warning per line in m->warnings. */
    const char *w = m->warnings.len ? m->warnings.data : "";
    ok = ok && dl_buf_puts(b, *w ? "warnings:\n" : "warnings: []\n");
    while (ok && *w) {
        const char *nl = strchr(w, '\n');
        size_t len = nl ? (size_t)(nl - w) : strlen(w);
        char line[512];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1),
                 w);
        ok = dl_buf_puts(b, "  - ") && put_quoted(b, line) && dl_buf_putc(b, '\n');
        w += len + (nl != NULL);
    }
    return ok;
}

dl_status dl__model_write(const dl_model *m, const char *path, dl_error *err)
{
    dl_buf b = DL_BUF_INIT;
    if (!write_text(m, &b)) {
        dl_buf_free(&b);
        return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory writing the model");
    }
    dl_status st = dl_outfile_write_file(path, 0644, b.data, b.len, NULL, err);
    dl_buf_free(&b);
    return st;
}

/* ---- loading ------------------------------------------------------------- */

typedef struct ld {
    yaml_document_t doc;
    const char *path;
    dl_error *err;
} ld;

static dl_status bad(ld *c, const yaml_node_t *n, const char *fmt, ...) DL_PRINTF(3, 4);

static dl_status bad(ld *c, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(c->err, DL_EINPUT, c->path, n ? n->start_mark.line + 1 : 0,
                        n ? n->start_mark.column + 1 : 0, "%s", msg);
}

static yaml_node_t *node(ld *c, int i)
{
    return yaml_document_get_node(&c->doc, i);
}

static const char *kind_name(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE     ? "a scalar"
           : n->type == YAML_SEQUENCE_NODE ? "a list"
                                           : "a mapping";
}

static dl_status want(ld *c, const yaml_node_t *n, yaml_node_type_t t, const char *what)
{
    if (n->type == t)
        return DL_OK;
    return bad(c, n, "%s is %s (expected %s)", what, kind_name(n),
               t == YAML_SCALAR_NODE ? "a scalar" : t == YAML_SEQUENCE_NODE ? "a list"
                                                                           : "a mapping");
}

/* Look up the values of KEYS (NULL-terminated) in mapping N; an unknown key
 * is an error, so a misspelt key cannot be silently ignored. Missing keys
 * leave NULL; REQUIRED (a bit per key) names those that must be there. */
static dl_status fields(ld *c, yaml_node_t *n, const char *what, const char *const *keys,
                        unsigned required, yaml_node_t **vals)
{
    dl_status st = want(c, n, YAML_MAPPING_NODE, what);
    if (st)
        return st;
    size_t nk = 0;
    while (keys[nk])
        vals[nk++] = NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(c, p->key);
        if ((st = want(c, k, YAML_SCALAR_NODE, "a key")))
            return st;
        size_t i = 0;
        while (i < nk && strcmp((const char *)k->data.scalar.value, keys[i]))
            i++;
        if (i == nk)
            return bad(c, k, "unknown key in %s (expected one of the keys dolen writes)",
                       what);
        if (vals[i])
            return bad(c, k, "key '%s' given twice", keys[i]);
        vals[i] = node(c, p->value);
    }
    for (size_t i = 0; i < nk; i++)
        if ((required >> i & 1) && !vals[i])
            return bad(c, n, "%s lacks '%s'", what, keys[i]);
    return DL_OK;
}

static dl_status get_str(ld *c, const yaml_node_t *n, const char *what, const char **out)
{
    dl_status st = want(c, n, YAML_SCALAR_NODE, what);
    if (st)
        return st;
    *out = (const char *)n->data.scalar.value;
    return DL_OK;
}

static dl_status get_double(ld *c, const yaml_node_t *n, const char *what, double lo,
                            double hi, double *out)
{
    const char *s;
    dl_status st = get_str(c, n, what, &s);
    if (st)
        return st;
    char *end;
    errno = 0;
    double x = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(x))
        return bad(c, n, "%s is not a number (expected a decimal number)", what);
    if (x < lo || x > hi)
        return bad(c, n, "%s is %.17g (expected %g to %g)", what, x, lo, hi);
    *out = x;
    return DL_OK;
}

static dl_status get_u64(ld *c, const yaml_node_t *n, const char *what, uint64_t *out)
{
    const char *s;
    dl_status st = get_str(c, n, what, &s);
    if (st)
        return st;
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (end == s || *end || errno == ERANGE || s[0] == '-' || s[0] == '+')
        return bad(c, n, "%s is not a count (expected a whole number >= 0)", what);
    *out = x;
    return DL_OK;
}

static dl_status get_bool(ld *c, const yaml_node_t *n, const char *what, bool *out)
{
    const char *s;
    dl_status st = get_str(c, n, what, &s);
    if (st)
        return st;
    if (!strcmp(s, "true") || !strcmp(s, "false")) {
        *out = s[0] == 't';
        return DL_OK;
    }
    return bad(c, n, "%s is not true or false (expected true or false)", what);
}

static size_t seq_len(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static dl_status load_comp(ld *c, yaml_node_t *n, size_t ci, const dl_spec *spec,
                           dl_model_comp *mc)
{
    static const char *const keys[] = {"name", "m_fixed", "levels", NULL};
    yaml_node_t *v[3];
    const char *name;
    dl_status st = fields(c, n, "a comparison", keys, 1u | 4u, v);
    if (st || (st = get_str(c, v[0], "the comparison name", &name)))
        return st;
    if (strcmp(name, mc->name))
        return bad(c, v[0],
                   "comparison %zu of the model is '%s' (expected the spec's '%s': the "
                   "same comparisons in the same order)",
                   ci + 1, name, mc->name);
    bool fixed = false;
    if (v[1] && (st = get_bool(c, v[1], "m_fixed", &fixed)))
        return st;
    if ((st = want(c, v[2], YAML_SEQUENCE_NODE, "levels")))
        return st;
    if (seq_len(v[2]) != mc->n_levels - 1)
        return bad(c, v[2], "comparison '%s' has %zu levels (expected %zu as in the spec, "
                            "with 'else')",
                   mc->name, seq_len(v[2]), mc->n_levels - 1);
    (void)spec;
    size_t lv = 1;
    for (yaml_node_item_t *it = v[2]->data.sequence.items.start;
         it < v[2]->data.sequence.items.top; it++, lv++) {
        static const char *const lkeys[] = {"label", "m", "u", "u_count", "bayes_factor",
                                            "match_weight", NULL};
        yaml_node_t *lvv[6];
        const char *label;
        yaml_node_t *ln = node(c, *it);
        if ((st = fields(c, ln, "a level", lkeys, 1u | 2u | 4u, lvv)) ||
            (st = get_str(c, lvv[0], "the level label", &label)))
            return st;
        if (strcmp(label, mc->labels[lv]))
            return bad(c, lvv[0],
                       "level %zu of comparison '%s' is '%s' (expected the spec's '%s')", lv,
                       mc->name, label, mc->labels[lv]);
        /* m and u were floored above 0 when trained; 0 would make a weight
         * infinite. bayes_factor and match_weight follow from them. */
        if ((st = get_double(c, lvv[1], "m", 1e-300, 1, &mc->m[lv])) ||
            (st = get_double(c, lvv[2], "u", 1e-300, 1, &mc->u[lv])))
            return st;
        mc->u_count[lv] = 0;
        if (lvv[3] && (st = get_u64(c, lvv[3], "u_count", &mc->u_count[lv])))
            return st;
        double x;
        if (lvv[4] && (st = get_double(c, lvv[4], "bayes_factor", 0, HUGE_VAL, &x)))
            return st;
        if (lvv[5] && (st = get_double(c, lvv[5], "match_weight", -HUGE_VAL, HUGE_VAL, &x)))
            return st;
        mc->m_fixed[lv] = fixed;
    }
    return DL_OK;
}

static dl_status load_pass(ld *c, yaml_node_t *n, dl_model *m, dl_em_pass *ps)
{
    static const char *const keys[] = {"rule",   "pairs", "iterations", "converged",
                                       "lambda", "m",     "trace",      NULL};
    yaml_node_t *v[7];
    const char *rule;
    uint64_t iters;
    dl_status st = fields(c, n, "a pass", keys, 0x7f, v);
    if (st || (st = get_str(c, v[0], "the rule", &rule)) ||
        (st = get_u64(c, v[1], "pairs", &ps->pairs)) ||
        (st = get_u64(c, v[2], "iterations", &iters)) ||
        (st = get_bool(c, v[3], "converged", &ps->converged)) ||
        (st = get_double(c, v[4], "lambda", 0, 1, &ps->lambda)) ||
        (st = want(c, v[5], YAML_MAPPING_NODE, "m")) ||
        (st = want(c, v[6], YAML_SEQUENCE_NODE, "trace")))
        return st;
    snprintf(ps->rule, sizeof ps->rule, "%s", rule);
    if (iters != seq_len(v[6]) || iters > UINT32_MAX)
        return bad(c, v[2], "iterations is %llu (expected the %zu values of trace)",
                   (unsigned long long)iters, seq_len(v[6]));
    ps->iterations = (unsigned)iters;
    size_t n_m = 0;
    for (size_t k = 0; k < m->n_comp; k++)
        n_m += m->comp[k].n_levels;
    ps->trace = calloc(iters ? iters : 1, sizeof *ps->trace);
    ps->fixed = calloc(m->n_comp, sizeof *ps->fixed);
    ps->m = calloc(n_m, sizeof *ps->m);
    if (!ps->trace || !ps->fixed || !ps->m)
        return dl_error_set(c->err, DL_ENOMEM, c->path, 0, 0, "out of memory for the model");
    size_t i = 0;
    for (yaml_node_item_t *it = v[6]->data.sequence.items.start;
         it < v[6]->data.sequence.items.top; it++, i++)
        if ((st = get_double(c, node(c, *it), "a trace value", 0, HUGE_VAL, &ps->trace[i])))
            return st;
    /* Comparisons absent from m were fixed in this pass; their m there was
     * the start value, which the file does not need to carry. */
    for (size_t k = 0; k < m->n_comp; k++)
        ps->fixed[k] = true;
    for (yaml_node_pair_t *p = v[5]->data.mapping.pairs.start; p < v[5]->data.mapping.pairs.top;
         p++) {
        yaml_node_t *kn = node(c, p->key), *vn = node(c, p->value);
        const char *name;
        if ((st = get_str(c, kn, "a comparison name", &name)))
            return st;
        size_t k = 0, off = 0;
        while (k < m->n_comp && strcmp(m->comp[k].name, name))
            off += m->comp[k++].n_levels;
        if (k == m->n_comp)
            return bad(c, kn, "pass m names comparison '%s' (expected one of the spec's)",
                       name);
        if (!ps->fixed[k])
            return bad(c, kn, "comparison '%s' given twice", name);
        if ((st = want(c, vn, YAML_SEQUENCE_NODE, "a pass's m")))
            return st;
        if (seq_len(vn) != m->comp[k].n_levels - 1)
            return bad(c, vn, "pass m of '%s' has %zu values (expected %zu)", name,
                       seq_len(vn), m->comp[k].n_levels - 1);
        ps->fixed[k] = false;
        size_t lv = 1;
        for (yaml_node_item_t *it = vn->data.sequence.items.start;
             it < vn->data.sequence.items.top; it++, lv++)
            if ((st = get_double(c, node(c, *it), "a pass's m", 0, 1, &ps->m[off + lv])))
                return st;
    }
    for (size_t k = 0, off = 0; k < m->n_comp; off += m->comp[k].n_levels, k++)
        if (ps->fixed[k])
            memcpy(ps->m + off, m->comp[k].m, m->comp[k].n_levels * sizeof *ps->m);
    return DL_OK;
}

static dl_status load_doc(ld *c, const dl_spec *spec, dl_model *m)
{
    static const char *const keys[] = {"format",      "spec_hash", "lambda",   "prior_weight",
                                       "u_pairs",     "comparisons", "passes", "warnings",
                                       NULL};
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (!root)
        return dl_error_set(c->err, DL_EINPUT, c->path, 1, 1,
                            "empty model file (expected a model.yaml written by dolen link)");
    yaml_node_t *v[8];
    const char *format, *hash;
    double x;
    dl_status st = fields(c, root, "the model", keys, 1u | 2u | 4u | 16u | 32u, v);
    if (st || (st = get_str(c, v[0], "format", &format)))
        return st;
    if (strcmp(format, MODEL_FORMAT))
        return bad(c, v[0], "unknown model format (expected '" MODEL_FORMAT "')");
    if ((st = get_str(c, v[1], "spec_hash", &hash)))
        return st;
    /* The hash covers the encodings: m and u learnt on other encodings (other
     * Bloom settings, say) would mean other things. */
    if (strcmp(hash, m->spec_hash))
        return bad(c, v[1],
                   "the model was trained for another spec (spec hash %.12s..., expected "
                   "this spec's %.12s...)",
                   hash, m->spec_hash);
    if ((st = get_double(c, v[2], "lambda", 1e-300, 1, &m->lambda)))
        return st;
    if (!(m->lambda < 1))
        return bad(c, v[2], "lambda is 1 (expected below 1)");
    if (v[3] && (st = get_double(c, v[3], "prior_weight", -HUGE_VAL, HUGE_VAL, &x)))
        return st;
    if ((st = get_u64(c, v[4], "u_pairs", &m->u_pairs)) ||
        (st = want(c, v[5], YAML_SEQUENCE_NODE, "comparisons")))
        return st;
    if (seq_len(v[5]) != m->n_comp)
        return bad(c, v[5], "the model has %zu comparisons (expected %zu as in the spec)",
                   seq_len(v[5]), m->n_comp);
    size_t i = 0;
    for (yaml_node_item_t *it = v[5]->data.sequence.items.start;
         it < v[5]->data.sequence.items.top; it++, i++)
        if ((st = load_comp(c, node(c, *it), i, spec, &m->comp[i])))
            return st;
    if (v[6]) {
        if ((st = want(c, v[6], YAML_SEQUENCE_NODE, "passes")))
            return st;
        size_t np = seq_len(v[6]);
        m->passes = calloc(np ? np : 1, sizeof *m->passes);
        if (!m->passes)
            return dl_error_set(c->err, DL_ENOMEM, c->path, 0, 0,
                                "out of memory for the model");
        for (yaml_node_item_t *it = v[6]->data.sequence.items.start;
             it < v[6]->data.sequence.items.top; it++) {
            /* Counted before loading, so a failure midway frees this pass. */
            dl_em_pass *ps = &m->passes[m->n_passes++];
            if ((st = load_pass(c, node(c, *it), m, ps)))
                return st;
        }
    }
    if (v[7]) {
        if ((st = want(c, v[7], YAML_SEQUENCE_NODE, "warnings")))
            return st;
        for (yaml_node_item_t *it = v[7]->data.sequence.items.start;
             it < v[7]->data.sequence.items.top; it++) {
            const char *w;
            if ((st = get_str(c, node(c, *it), "a warning", &w)))
                return st;
            if (!dl_buf_puts(&m->warnings, w) || !dl_buf_putc(&m->warnings, '\n'))
                return dl_error_set(c->err, DL_ENOMEM, c->path, 0, 0,
                                    "out of memory for the model");
        }
    }
    return DL_OK;
}

/* Model files are small (a few KB); one bigger than this is not one of ours. */
#define MODEL_MAX_BYTES (64u << 20)

dl_status dl__model_parse(const dl_spec *spec, const dl_comparator *cmp, const char *path,
                          const char *text, size_t len, dl_model **out, dl_error *err)
{
    *out = NULL;
    dl_model *m = NULL;
    dl_status st;
    if ((st = dl__model_new(spec, cmp, &m, err)))
        return st;
    m->trained = false;

    ld c = {.path = path, .err = err};
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        st = dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory for the YAML parser");
        goto done_text;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    if (!yaml_parser_load(&p, &c.doc)) {
        const char *problem = p.problem ? p.problem : "unreadable YAML";
        if (p.error == YAML_MEMORY_ERROR)
            st = dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory for the model");
        else if (p.error == YAML_READER_ERROR)
            st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                              "cannot read the model as text: %s (expected UTF-8)", problem);
        else
            st = dl_error_set(err, DL_EINPUT, path, p.problem_mark.line + 1,
                              p.problem_mark.column + 1, "YAML syntax error: %s", problem);
        yaml_parser_delete(&p);
        goto done_text;
    }
    yaml_parser_delete(&p);
    st = load_doc(&c, spec, m);
    yaml_document_delete(&c.doc);
done_text:
    if (st) {
        dl__model_free(m);
        return st;
    }
    *out = m;
    return DL_OK;
}

dl_status dl__model_load(const dl_spec *spec, const dl_comparator *cmp, const char *path,
                         dl_model **out, dl_error *err)
{
    *out = NULL;
    char *text = NULL;
    size_t len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dl_error_os(err, errno == ENOENT ? DL_EINPUT : DL_EIO, errno, path,
                           "cannot open the model");
    dl_buf b = DL_BUF_INIT;
    int rerr = 0;
    while (b.len <= MODEL_MAX_BYTES) {
        if (!dl_buf_reserve(&b, 65536)) {
            fclose(f);
            dl_buf_free(&b);
            return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory reading the model");
        }
        size_t got = fread(b.data + b.len, 1, 65536, f);
        b.len += got;
        if (got < 65536) {
            rerr = ferror(f) ? errno : 0;
            break;
        }
    }
    fclose(f);
    text = b.data;
    len = b.len;
    if (rerr) {
        free(text);
        return dl_error_os(err, DL_EIO, rerr, path, "cannot read the model");
    }
    if (len > MODEL_MAX_BYTES) {
        free(text);
        return dl_error_set(err, DL_EINPUT, path, 0, 0,
                            "model file larger than %u MiB (expected a model.yaml)",
                            MODEL_MAX_BYTES >> 20);
    }
    dl_status st = dl__model_parse(spec, cmp, path, text, len, out, err);
    free(text);
    return st;
}
