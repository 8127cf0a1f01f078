/* report.c: `dolen report`: read a link folder, check its files against each
 * other, and write one self-contained HTML page with SVG charts and a JSON twin.
 * Part of linkage/; the last stage, after link (and optionally with evaluate's
 * truth join). Pairs are streamed, never held: only a few example pairs, the
 * records' cluster numbers and the counts the page shows stay in memory. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "dl_config.h"
#include "dolen/mix.h"
#include "dolen/arena.h"
#include "dolen/csv.h"
#include "dolen/evaluate.h"
#include "dolen/json.h"
#include "dolen/manifest.h"
#include "dolen/outfile.h"
#include "dolen/report.h"
#include "linkage/svg.h"

#define MAX_COMP 64       /* comparisons a pattern may hold */
#define MAX_TOP 10        /* largest clusters listed */
#define MAX_SIZE_COLS 40  /* cluster-size columns drawn; larger sizes share the last */

typedef struct rp_level {
    const char *label;
    double m, u, bf, w;
    uint64_t u_count;
} rp_level;

typedef struct rp_comp {
    const char *name;
    bool m_fixed;
    size_t n;          /* levels listed in model.yaml: the spec's, then else */
    rp_level *lv;
} rp_comp;

typedef struct rp_pass {
    const char *rule;
    uint64_t pairs, iterations;
    bool converged;
    double lambda;
    double *trace;     /* iterations values */
} rp_pass;

typedef struct rp_rule {
    const char *rule;
    uint64_t pairs, keyed, blocks, largest, oversize_blocks, oversize_records;
} rp_rule;

typedef struct rp_reason {
    const char *name;
    uint64_t n;
} rp_reason;

typedef struct rp_field {
    const char *name, *column, *type;
    uint64_t usable, missing, placeholder, invalid;
    double completeness;
    size_t n_reasons;
    rp_reason *reasons;
} rp_field;

typedef struct rp_dataset {
    const char *name;
    uint64_t records;          /* link-report.json */
    uint64_t cluster_rows;     /* clusters.csv.gz */
    uint64_t linked;           /* records in a cluster of two or more */
    const char *manifest;      /* the prepare manifest read, or NULL */
    bool has_acc;
    uint64_t rows_read, rows_written, rows_rejected;
    size_t n_fields;
    rp_field *fields;
} rp_dataset;

typedef struct rp_pair {
    const char *near;          /* which threshold, and which side */
    char da[72], sa[40], db[72], sb[40];
    double w, p;
    char pattern[4 * MAX_COMP];
    unsigned val[MAX_COMP];
    uint64_t line;
} rp_pair;

typedef struct rp_top {
    uint64_t alf, size;
    uint32_t id;
    uint64_t *per_ds;
    bool flagged;
} rp_top;

typedef struct rp_stage {
    const char *name;
    double seconds;
} rp_stage;

struct dl_report {
    dl_arena *a;
    const char *linkdir;
    const char *tool, *link_type, *spec_hash, *key_fp, *created;
    size_t n_ds;
    rp_dataset *ds;
    uint64_t records;
    size_t n_rules;
    rp_rule *rules;
    uint64_t pairs_scored, links, review;
    double lambda, prior_weight;
    bool trained;
    uint64_t u_pairs;
    size_t n_comp;
    rp_comp *comp;
    size_t n_pass;
    rp_pass *pass;
    double t_match, t_review;
    double h_min, h_step;
    uint64_t h_below, h_above;
    size_t h_n;
    uint64_t *h_counts;
    uint64_t n_clusters, largest, flag_limit;
    size_t n_sizes;
    uint64_t *size_val, *size_count;
    size_t n_top;
    rp_top top[MAX_TOP];
    size_t n_stage;
    rp_stage *stage;
    double peak_rss, store_mb;
    size_t n_warn;
    const char **warn;
    size_t n_ex;
    rp_pair *ex;
    dl_eval *eval;             /* NULL without truth */
};

/* ---- small helpers ------------------------------------------------------------ */

static dl_status nomem(dl_error *err)
{
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory building the report");
}

static void *alloc0(dl_report *r, size_t n, size_t size)
{
    if (n && size > SIZE_MAX / n)
        return NULL;
    size_t bytes = n * size;
    if (bytes == 0)
        bytes = 1;
    void *p = dl_arena_alloc(r->a, bytes);
    if (p)
        memset(p, 0, bytes);
    return p;
}

static char *path_in(dl_report *r, const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = dl_arena_alloc(r->a, n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* The prior odds of probability P as a match weight: where a threshold on
 * probability lies on the weight axis. */
static double weight_of(double p)
{
    return log2(p / (1 - p));
}

/* An error at a JSON value: its line and column, and the message. */
static dl_status jbad(dl_error *err, const char *path, const dl_json *v, const char *fmt, ...)
    DL_PRINTF(4, 5);
static dl_status jbad(dl_error *err, const char *path, const dl_json *v, const char *fmt, ...)
{
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(err, DL_EINPUT, path, dl_json_line(v), dl_json_col(v), "%s", msg);
}

static dl_status j_u64(const dl_json *o, const char *key, const char *path, uint64_t *out,
                       dl_error *err)
{
    const dl_json *v = dl_json_get(o, key);
    if (!dl_json_uint64(v, out))
        return jbad(err, path, v ? v : o, "'%s' is %s (expected a whole number >= 0)", key,
                    v ? dl_json_type_name(dl_json_type_of(v)) : "missing");
    return DL_OK;
}

static dl_status j_num(const dl_json *o, const char *key, const char *path, double *out,
                       dl_error *err)
{
    const dl_json *v = dl_json_get(o, key);
    if (!dl_json_double(v, out))
        return jbad(err, path, v ? v : o, "'%s' is %s (expected a number)", key,
                    v ? dl_json_type_name(dl_json_type_of(v)) : "missing");
    return DL_OK;
}

static dl_status j_str(dl_report *r, const dl_json *o, const char *key, const char *path,
                       const char **out, dl_error *err)
{
    const dl_json *v = dl_json_get(o, key);
    const char *s = dl_json_str(v, NULL);
    if (!s)
        return jbad(err, path, v ? v : o, "'%s' is %s (expected a string)", key,
                    v ? dl_json_type_name(dl_json_type_of(v)) : "missing");
    if (!(*out = dl_arena_strdup(r->a, s)))
        return nomem(err);
    return DL_OK;
}

static dl_status j_arr(const dl_json *o, const char *key, const char *path, const dl_json **out,
                       dl_error *err)
{
    const dl_json *v = dl_json_get(o, key);
    if (dl_json_type_of(v) != DL_JSON_ARRAY)
        return jbad(err, path, v ? v : o, "'%s' is %s (expected a list)", key,
                    v ? dl_json_type_name(dl_json_type_of(v)) : "missing");
    *out = v;
    return DL_OK;
}

static dl_status j_obj(const dl_json *o, const char *key, const char *path, const dl_json **out,
                       dl_error *err)
{
    const dl_json *v = dl_json_get(o, key);
    if (dl_json_type_of(v) != DL_JSON_OBJECT)
        return jbad(err, path, v ? v : o, "'%s' is %s (expected an object)", key,
                    v ? dl_json_type_name(dl_json_type_of(v)) : "missing");
    *out = v;
    return DL_OK;
}

/* ---- link-report.json ---------------------------------------------------------- */

static dl_status load_link_report(dl_report *r, const char *path, dl_error *err)
{
    dl_json_doc *doc = NULL;
    dl_status st = dl_json_load(path, &doc, err);
    if (st != DL_OK)
        return st;
    const dl_json *root = dl_json_root(doc), *ds = NULL, *bl = NULL, *model = NULL,
                  *passes = NULL, *th = NULL, *wh = NULL, *counts = NULL, *cl = NULL,
                  *sec = NULL, *warns = NULL;
    if (dl_json_type_of(root) != DL_JSON_OBJECT) {
        st = jbad(err, path, root, "the link report is not an object (expected the "
                                   "link-report.json dolen link writes)");
        goto done;
    }
    if ((st = j_str(r, root, "tool", path, &r->tool, err)) ||
        (st = j_str(r, root, "link_type", path, &r->link_type, err)) ||
        (st = j_str(r, root, "spec_hash", path, &r->spec_hash, err)) ||
        (st = j_str(r, root, "key_fingerprint", path, &r->key_fp, err)) ||
        (st = j_arr(root, "datasets", path, &ds, err)) ||
        (st = j_u64(root, "records", path, &r->records, err)) ||
        (st = j_arr(root, "blocking", path, &bl, err)) ||
        (st = j_u64(root, "pairs_scored", path, &r->pairs_scored, err)) ||
        (st = j_obj(root, "model", path, &model, err)) ||
        (st = j_obj(root, "thresholds", path, &th, err)) ||
        (st = j_u64(root, "links", path, &r->links, err)) ||
        (st = j_u64(root, "review_pairs", path, &r->review, err)) ||
        (st = j_obj(root, "weight_histogram", path, &wh, err)) ||
        (st = j_obj(root, "clusters", path, &cl, err)) ||
        (st = j_obj(root, "seconds_per_stage", path, &sec, err)) ||
        (st = j_num(root, "peak_rss_mb", path, &r->peak_rss, err)) ||
        (st = j_num(root, "store_mb", path, &r->store_mb, err)) ||
        (st = j_arr(root, "warnings", path, &warns, err)))
        goto done;
    r->n_ds = dl_json_len(ds);
    if (r->n_ds == 0 || r->n_ds > 4096) {
        st = jbad(err, path, ds, "%zu datasets (expected 1 to 4096)", r->n_ds);
        goto done;
    }
    if (!(r->ds = alloc0(r, r->n_ds, sizeof *r->ds))) {
        st = nomem(err);
        goto done;
    }
    uint64_t sum = 0;
    for (size_t i = 0; i < r->n_ds && !st; i++) {
        const dl_json *d = dl_json_at(ds, i);
        st = j_str(r, d, "name", path, &r->ds[i].name, err);
        if (!st)
            st = j_u64(d, "records", path, &r->ds[i].records, err);
        for (size_t k = 0; !st && k < i; k++)
            if (!strcmp(r->ds[k].name, r->ds[i].name))
                st = jbad(err, path, d, "dataset '%s' is listed twice (expected each once)",
                          r->ds[i].name);
        sum += r->ds[i].records;
    }
    if (!st && sum != r->records)
        st = jbad(err, path, dl_json_get(root, "records"),
                  "records is %llu but the datasets hold %llu (expected equal)",
                  (unsigned long long)r->records, (unsigned long long)sum);
    if (st)
        goto done;
    r->n_rules = dl_json_len(bl);
    if (!(r->rules = alloc0(r, r->n_rules, sizeof *r->rules))) {
        st = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < r->n_rules && !st; i++) {
        const dl_json *o = dl_json_at(bl, i);
        rp_rule *ru = &r->rules[i];
        if ((st = j_str(r, o, "rule", path, &ru->rule, err)) ||
            (st = j_u64(o, "pairs", path, &ru->pairs, err)) ||
            (st = j_u64(o, "records_keyed", path, &ru->keyed, err)) ||
            (st = j_u64(o, "blocks", path, &ru->blocks, err)) ||
            (st = j_u64(o, "largest_block", path, &ru->largest, err)) ||
            (st = j_u64(o, "oversize_blocks", path, &ru->oversize_blocks, err)) ||
            (st = j_u64(o, "oversize_records", path, &ru->oversize_records, err)))
            break;
    }
    if (st || (st = j_num(model, "lambda", path, &r->lambda, err)) ||
        (st = j_arr(model, "em_passes", path, &passes, err)) ||
        (st = j_num(th, "match", path, &r->t_match, err)) ||
        (st = j_num(th, "review", path, &r->t_review, err)) ||
        (st = j_num(wh, "min", path, &r->h_min, err)) ||
        (st = j_num(wh, "step", path, &r->h_step, err)) ||
        (st = j_u64(wh, "below_min", path, &r->h_below, err)) ||
        (st = j_u64(wh, "above_max", path, &r->h_above, err)) ||
        (st = j_arr(wh, "counts", path, &counts, err)) ||
        (st = j_u64(cl, "count", path, &r->n_clusters, err)) ||
        (st = j_u64(cl, "largest", path, &r->largest, err)))
        goto done;
    if (!(r->t_match > 0 && r->t_match < 1 && r->t_review > 0 && r->t_review <= r->t_match)) {
        st = jbad(err, path, th, "thresholds match %g and review %g (expected 0 < review <= "
                                 "match < 1)", r->t_match, r->t_review);
        goto done;
    }
    if (!(r->h_step > 0)) {
        st = jbad(err, path, wh, "the weight histogram's step is %g (expected above 0)",
                  r->h_step);
        goto done;
    }
    r->h_n = dl_json_len(counts);
    if (!(r->h_counts = alloc0(r, r->h_n, sizeof *r->h_counts))) {
        st = nomem(err);
        goto done;
    }
    sum = r->h_below + r->h_above;
    for (size_t i = 0; i < r->h_n; i++) {
        if (!dl_json_uint64(dl_json_at(counts, i), &r->h_counts[i])) {
            st = jbad(err, path, dl_json_at(counts, i),
                      "a weight histogram count is not a whole number (expected counts of pairs)");
            goto done;
        }
        sum += r->h_counts[i];
    }
    if (sum != r->pairs_scored) {
        st = jbad(err, path, wh, "the weight histogram counts %llu pairs, pairs_scored is %llu "
                                 "(expected equal)",
                  (unsigned long long)sum, (unsigned long long)r->pairs_scored);
        goto done;
    }
    /* EM passes are read from model.yaml, which has their traces; here only
     * their number, to check the two files belong together. */
    r->n_pass = dl_json_len(passes);
    r->n_stage = dl_json_len(sec);
    if (!(r->stage = alloc0(r, r->n_stage, sizeof *r->stage))) {
        st = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < r->n_stage; i++) {
        const dl_json *v = dl_json_at(sec, i);
        if (!dl_json_double(v, &r->stage[i].seconds)) {
            st = jbad(err, path, v, "a stage time is not a number (expected seconds)");
            goto done;
        }
        if (!(r->stage[i].name = dl_arena_strdup(r->a, dl_json_key_at(sec, i, NULL)))) {
            st = nomem(err);
            goto done;
        }
    }
    r->n_warn = dl_json_len(warns);
    if (!(r->warn = alloc0(r, r->n_warn, sizeof *r->warn))) {
        st = nomem(err);
        goto done;
    }
    for (size_t i = 0; i < r->n_warn; i++) {
        const char *s = dl_json_str(dl_json_at(warns, i), NULL);
        if (!s) {
            st = jbad(err, path, dl_json_at(warns, i), "a warning is not a string");
            goto done;
        }
        if (!(r->warn[i] = dl_arena_strdup(r->a, s))) {
            st = nomem(err);
            goto done;
        }
    }
done:
    dl_json_doc_free(doc);
    return st;
}

/* ---- model.yaml ------------------------------------------------------------------ */

typedef struct ymodel {
    yaml_document_t doc;
    const char *path;
    dl_error *err;
} ymodel;

static dl_status ybad(ymodel *y, const yaml_node_t *n, const char *fmt, ...) DL_PRINTF(3, 4);
static dl_status ybad(ymodel *y, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[240];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(y->err, DL_EINPUT, y->path, n ? n->start_mark.line + 1 : 0,
                        n ? n->start_mark.column + 1 : 0, "%s", msg);
}

static yaml_node_t *ynode(ymodel *y, int id)
{
    return yaml_document_get_node(&y->doc, id);
}

/* Member KEY of mapping N, or NULL. */
static yaml_node_t *yget(ymodel *y, yaml_node_t *n, const char *key)
{
    if (!n || n->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = ynode(y, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp((const char *)k->data.scalar.value, key))
            return ynode(y, p->value);
    }
    return NULL;
}

static dl_status yscalar(ymodel *y, yaml_node_t *parent, const char *key, const char **out)
{
    yaml_node_t *v = yget(y, parent, key);
    if (!v)
        return ybad(y, parent, "'%s' is missing (expected it in every %s of model.yaml)", key,
                    "entry");
    if (v->type != YAML_SCALAR_NODE)
        return ybad(y, v, "'%s' is not a scalar (expected a value)", key);
    *out = (const char *)v->data.scalar.value;
    return DL_OK;
}

static dl_status ydouble(ymodel *y, yaml_node_t *parent, const char *key, double *out)
{
    const char *s = NULL;
    dl_status st = yscalar(y, parent, key, &s);
    if (st)
        return st;
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    if (end == s || *end || errno == ERANGE || !isfinite(*out))
        return ybad(y, yget(y, parent, key), "'%s' is not a number (expected a decimal number)",
                    key);
    return DL_OK;
}

static dl_status yu64(ymodel *y, yaml_node_t *parent, const char *key, uint64_t *out)
{
    const char *s = NULL;
    dl_status st = yscalar(y, parent, key, &s);
    if (st)
        return st;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || *end || errno == ERANGE || *s == '-')
        return ybad(y, yget(y, parent, key), "'%s' is not a count (expected a whole number >= 0)",
                    key);
    *out = v;
    return DL_OK;
}

static dl_status ybool(ymodel *y, yaml_node_t *parent, const char *key, bool *out)
{
    const char *s = NULL;
    dl_status st = yscalar(y, parent, key, &s);
    if (st)
        return st;
    if (strcmp(s, "true") && strcmp(s, "false"))
        return ybad(y, yget(y, parent, key), "'%s' is not true or false", key);
    *out = !strcmp(s, "true");
    return DL_OK;
}

static dl_status yseq(ymodel *y, yaml_node_t *parent, const char *key, yaml_node_t **out)
{
    yaml_node_t *v = yget(y, parent, key);
    if (!v)
        return ybad(y, parent, "'%s' is missing (expected a list)", key);
    if (v->type != YAML_SEQUENCE_NODE)
        return ybad(y, v, "'%s' is not a list (expected a list)", key);
    *out = v;
    return DL_OK;
}

static size_t ylen(const yaml_node_t *n)
{
    return (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
}

static dl_status load_model_doc(dl_report *r, ymodel *y, dl_error *err)
{
    yaml_node_t *root = yaml_document_get_root_node(&y->doc), *comps, *passes, *warns;
    if (!root || root->type != YAML_MAPPING_NODE)
        return ybad(y, root, "the model is not a mapping (expected the model.yaml dolen link "
                             "writes)");
    const char *fmt, *hash;
    dl_status st;
    if ((st = yscalar(y, root, "format", &fmt)))
        return st;
    if (strcmp(fmt, "dolen-model/1"))
        return ybad(y, yget(y, root, "format"), "unknown model format (expected dolen-model/1)");
    if ((st = yscalar(y, root, "spec_hash", &hash)))
        return st;
    if (strcmp(hash, r->spec_hash))
        return ybad(y, yget(y, root, "spec_hash"),
                    "the model's spec hash %.12s... differs from link-report.json's %.12s... "
                    "(expected the files of one link run)",
                    hash, r->spec_hash);
    double lambda;
    if ((st = ydouble(y, root, "lambda", &lambda)) ||
        (st = ydouble(y, root, "prior_weight", &r->prior_weight)) ||
        (st = yu64(y, root, "u_pairs", &r->u_pairs)) ||
        (st = yseq(y, root, "comparisons", &comps)) ||
        (st = yseq(y, root, "passes", &passes)) || (st = yseq(y, root, "warnings", &warns)))
        return st;
    if (fabs(lambda - r->lambda) > 1e-9 * fabs(r->lambda))
        return ybad(y, yget(y, root, "lambda"),
                    "lambda %.6g differs from link-report.json's %.6g (expected the files of "
                    "one link run)",
                    lambda, r->lambda);
    r->n_comp = ylen(comps);
    if (r->n_comp == 0 || r->n_comp > MAX_COMP)
        return ybad(y, comps, "%zu comparisons (expected 1 to %d)", r->n_comp, MAX_COMP);
    if (!(r->comp = alloc0(r, r->n_comp, sizeof *r->comp)))
        return nomem(err);
    for (size_t c = 0; c < r->n_comp; c++) {
        yaml_node_t *cn = ynode(y, comps->data.sequence.items.start[c]), *levels;
        rp_comp *rc = &r->comp[c];
        const char *name;
        if ((st = yscalar(y, cn, "name", &name)) || (st = ybool(y, cn, "m_fixed", &rc->m_fixed)) ||
            (st = yseq(y, cn, "levels", &levels)))
            return st;
        rc->n = ylen(levels);
        if (rc->n < 1 || rc->n > 255)
            return ybad(y, levels, "comparison '%s' has %zu levels (expected 1 to 255)", name,
                        rc->n);
        if (!(rc->name = dl_arena_strdup(r->a, name)) ||
            !(rc->lv = alloc0(r, rc->n, sizeof *rc->lv)))
            return nomem(err);
        for (size_t v = 0; v < rc->n; v++) {
            yaml_node_t *ln = ynode(y, levels->data.sequence.items.start[v]);
            rp_level *l = &rc->lv[v];
            const char *label;
            if ((st = yscalar(y, ln, "label", &label)) || (st = ydouble(y, ln, "m", &l->m)) ||
                (st = ydouble(y, ln, "u", &l->u)) ||
                (st = ydouble(y, ln, "bayes_factor", &l->bf)) ||
                (st = ydouble(y, ln, "match_weight", &l->w)))
                return st;
            if (yget(y, ln, "u_count") && (st = yu64(y, ln, "u_count", &l->u_count)))
                return st;
            if (!(l->label = dl_arena_strdup(r->a, label)))
                return nomem(err);
        }
    }
    if (ylen(passes) != r->n_pass)
        return ybad(y, passes, "%zu EM passes, link-report.json lists %zu (expected the files "
                               "of one link run)",
                    ylen(passes), r->n_pass);
    if (!(r->pass = alloc0(r, r->n_pass, sizeof *r->pass)))
        return nomem(err);
    for (size_t p = 0; p < r->n_pass; p++) {
        yaml_node_t *pn = ynode(y, passes->data.sequence.items.start[p]), *trace;
        rp_pass *ps = &r->pass[p];
        const char *rule;
        if ((st = yscalar(y, pn, "rule", &rule)) || (st = yu64(y, pn, "pairs", &ps->pairs)) ||
            (st = yu64(y, pn, "iterations", &ps->iterations)) ||
            (st = ybool(y, pn, "converged", &ps->converged)) ||
            (st = ydouble(y, pn, "lambda", &ps->lambda)) || (st = yseq(y, pn, "trace", &trace)))
            return st;
        if (ylen(trace) != ps->iterations)
            return ybad(y, trace, "the trace has %zu values (expected one per iteration, %llu)",
                        ylen(trace), (unsigned long long)ps->iterations);
        if (!(ps->rule = dl_arena_strdup(r->a, rule)) ||
            !(ps->trace = alloc0(r, ylen(trace), sizeof *ps->trace)))
            return nomem(err);
        for (size_t i = 0; i < ylen(trace); i++) {
            yaml_node_t *tn = ynode(y, trace->data.sequence.items.start[i]);
            char *end;
            if (!tn || tn->type != YAML_SCALAR_NODE)
                return ybad(y, tn, "a trace value is not a number");
            ps->trace[i] = strtod((const char *)tn->data.scalar.value, &end);
            if (*end || end == (char *)tn->data.scalar.value)
                return ybad(y, tn, "a trace value is not a number (expected a decimal number)");
        }
    }
    /* The model's warnings are in link-report.json's list too (link copies
     * them there), so only their presence is checked. */
    return DL_OK;
}

static dl_status load_model(dl_report *r, const char *path, dl_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return dl_error_os(err, errno == ENOENT ? DL_EINPUT : DL_EIO, errno, path,
                           "cannot open the model (expected model.yaml from dolen link)");
    yaml_parser_t parser;
    ymodel y = {.path = path, .err = err};
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        return nomem(err);
    }
    yaml_parser_set_input_file(&parser, f);
    dl_status st;
    if (!yaml_parser_load(&parser, &y.doc)) {
        st = dl_error_set(err, DL_EINPUT, path, parser.problem_mark.line + 1,
                          parser.problem_mark.column + 1, "invalid YAML: %s",
                          parser.problem ? parser.problem : "syntax error");
        yaml_parser_delete(&parser);
        fclose(f);
        return st;
    }
    st = load_model_doc(r, &y, err);
    yaml_document_delete(&y.doc);
    yaml_parser_delete(&parser);
    fclose(f);
    return st;
}

/* ---- links.csv.gz and review.csv.gz ---------------------------------------------- */

static dl_status csv_open(const char *path, dl_csv_reader **rd, dl_error *err)
{
    dl_status st = dl_csv_open(path, NULL, rd, err);
    if (st == DL_EIO && err->os_errno == ENOENT)
        err->code = st = DL_EINPUT;
    return st;
}

/* Column indexes of NAMES in the header, or an error naming the one missing. */
static dl_status columns(dl_csv_reader *rd, const char *path, const char *const *names, int *idx,
                         size_t n, dl_error *err)
{
    for (size_t i = 0; i < n; i++)
        if ((idx[i] = dl_csv_find_column(rd, names[i])) < 0)
            return dl_error_set(err, DL_EINPUT, path, 1, 0,
                                "the header lacks column '%s' (expected the file dolen link "
                                "writes)",
                                names[i]);
    return DL_OK;
}

static dl_status next_row(dl_csv_reader *rd, dl_row *row, dl_error *err)
{
    dl_status st = dl_csv_next(rd, row, err);
    if (st == DL_EROW)
        err->code = st = DL_EINPUT; /* link writes no bad rows: any is corruption */
    return st;
}

static int dataset_index(const dl_report *r, const char *name)
{
    for (size_t i = 0; i < r->n_ds; i++)
        if (!strcmp(r->ds[i].name, name))
            return (int)i;
    return -1;
}

static bool is_hex32(const char *s, size_t len)
{
    if (len != 32)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

static dl_status parse_number(const char *path, const dl_row *row, int col, double *out,
                              dl_error *err)
{
    char *end;
    *out = strtod(row->field[col], &end);
    if (end == row->field[col] || *end || !isfinite(*out))
        return dl_error_set(err, DL_EINPUT, path, row->line, (uint64_t)col + 1,
                            "field %d is not a number (expected a decimal number)", col + 1);
    return DL_OK;
}

/* Check a pair row (datasets, SLFs, numbers, pattern) and, when P is not
 * NULL, copy it there. Checking every row costs little next to inflating
 * it, and catches a links file from another run. */
static dl_status pair_row(const dl_report *r, const char *path, const dl_row *row,
                          const int *ix, rp_pair *p, dl_error *err)
{
    for (int side = 0; side < 2; side++) {
        int dc = ix[side * 2], sc = ix[side * 2 + 1];
        if (dataset_index(r, row->field[dc]) < 0)
            return dl_error_set(err, DL_EINPUT, path, row->line, (uint64_t)dc + 1,
                                "a dataset link-report.json does not list (expected one of its "
                                "%zu datasets)",
                                r->n_ds);
        if (!is_hex32(row->field[sc], row->len[sc]))
            return dl_error_set(err, DL_EINPUT, path, row->line, (uint64_t)sc + 1,
                                "malformed SLF (expected 32 lower-case hex digits)");
    }
    double w, pr;
    dl_status st;
    if ((st = parse_number(path, row, ix[4], &w, err)) ||
        (st = parse_number(path, row, ix[5], &pr, err)))
        return st;
    unsigned val[MAX_COMP];
    size_t n = 0;
    const char *s = row->field[ix[6]];
    for (;;) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);
        if (end == s || n == r->n_comp || v > r->comp[n].n)
            return dl_error_set(err, DL_EINPUT, path, row->line, (uint64_t)ix[6] + 1,
                                "pattern does not fit model.yaml (expected %zu values joined "
                                "by '-', each 0 to its comparison's number of levels)",
                                r->n_comp);
        val[n++] = (unsigned)v;
        if (*end == '\0')
            break;
        if (*end != '-')
            return dl_error_set(err, DL_EINPUT, path, row->line, (uint64_t)ix[6] + 1,
                                "pattern holds '%c' (expected numbers joined by '-')", *end);
        s = end + 1;
    }
    if (n != r->n_comp)
        return dl_error_set(err, DL_EINPUT, path, row->line, (uint64_t)ix[6] + 1,
                            "pattern has %zu values (expected %zu, one per comparison of "
                            "model.yaml)",
                            n, r->n_comp);
    if (p) {
        snprintf(p->da, sizeof p->da, "%s", row->field[ix[0]]);
        snprintf(p->sa, sizeof p->sa, "%s", row->field[ix[1]]);
        snprintf(p->db, sizeof p->db, "%s", row->field[ix[2]]);
        snprintf(p->sb, sizeof p->sb, "%s", row->field[ix[3]]);
        snprintf(p->pattern, sizeof p->pattern, "%s", row->field[ix[6]]);
        memcpy(p->val, val, n * sizeof *val);
        p->w = w;
        p->p = pr;
        p->line = row->line;
    }
    return DL_OK;
}

/* Stream one pairs file: count its rows, check each, keep its first FIRST_N
 * rows in FIRST and its last K in the ring LAST (strongest first, so the
 * last rows of links are those just above the match threshold). */
static dl_status read_pairs(const dl_report *r, const char *path, rp_pair *first, size_t first_n,
                            rp_pair *last, size_t k, uint64_t *rows, dl_error *err)
{
    static const char *const names[] = {"dataset_a", "slf_a", "dataset_b", "slf_b",
                                        "match_weight", "match_probability", "pattern"};
    dl_csv_reader *rd = NULL;
    dl_status st = csv_open(path, &rd, err);
    int ix[7];
    if (st == DL_OK)
        st = columns(rd, path, names, ix, 7, err);
    dl_row row;
    *rows = 0;
    while (st == DL_OK && (st = next_row(rd, &row, err)) == DL_OK) {
        rp_pair *keep = NULL;
        if (*rows < first_n)
            keep = &first[*rows];
        else if (k)
            keep = &last[(*rows - first_n) % k];
        st = pair_row(r, path, &row, ix, keep, err);
        ++*rows;
    }
    if (st == DL_END)
        st = DL_OK;
    dl_csv_close(rd);
    return st;
}

static dl_status load_pairs(dl_report *r, dl_error *err)
{
    size_t k = r->n_ex; /* examples per side, set by the caller */
    rp_pair *buf = alloc0(r, 4 * k, sizeof *buf);
    if (!buf)
        return nomem(err);
    rp_pair *links_last = buf, *rev_first = buf + k, *rev_last = buf + 2 * k;
    uint64_t nl, nr;
    const char *lp = path_in(r, r->linkdir, "links.csv.gz");
    const char *rp = path_in(r, r->linkdir, "review.csv.gz");
    if (!lp || !rp)
        return nomem(err);
    dl_status st = read_pairs(r, lp, NULL, 0, links_last, k, &nl, err);
    if (st == DL_OK && nl != r->links)
        st = dl_error_set(err, DL_EINPUT, lp, 0, 0,
                          "%llu pairs, link-report.json says %llu links (expected equal)",
                          (unsigned long long)nl, (unsigned long long)r->links);
    if (st == DL_OK)
        st = read_pairs(r, rp, rev_first, k, rev_last, k, &nr, err);
    if (st == DL_OK && nr != r->review)
        st = dl_error_set(err, DL_EINPUT, rp, 0, 0,
                          "%llu pairs, link-report.json says %llu review pairs (expected equal)",
                          (unsigned long long)nr, (unsigned long long)r->review);
    if (st)
        return st;
    /* Gather the examples in weight order: lowest links, highest review
     * pairs (both next to the match threshold), lowest review pairs (next
     * to the review threshold). */
    rp_pair *ex = alloc0(r, 3 * k, sizeof *ex);
    if (!ex)
        return nomem(err);
    size_t n = 0;
    uint64_t take = nl < k ? nl : k;
    for (uint64_t i = 0; i < take; i++) {
        ex[n] = links_last[(nl - take + i) % k];
        ex[n++].near = "just above the match threshold";
    }
    uint64_t firsts = nr < k ? nr : k;
    for (uint64_t i = 0; i < firsts; i++) {
        ex[n] = rev_first[i];
        ex[n++].near = "just below the match threshold";
    }
    /* Ring rows hold review rows k.. nr-1; keep those not already shown. */
    uint64_t rest = nr > k ? nr - k : 0, lastn = rest < k ? rest : k;
    for (uint64_t i = 0; i < lastn; i++) {
        ex[n] = rev_last[(rest - lastn + i) % k];
        ex[n++].near = "just above the review threshold";
    }
    r->ex = ex;
    r->n_ex = n;
    return DL_OK;
}

/* ---- clusters.csv.gz ------------------------------------------------------------- */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static dl_status load_clusters(dl_report *r, dl_error *err)
{
    static const char *const names[] = {"dataset", "slf", "alf", "match_probability"};
    const char *path = path_in(r, r->linkdir, "clusters.csv.gz");
    if (!path)
        return nomem(err);
    /* One slot per record for its cluster and dataset; an open-addressing
     * table ALF -> cluster number at most half full. */
    size_t n = (size_t)r->records, cap = 16;
    while (cap < 2 * n + 16)
        cap *= 2;
    uint32_t *cl = malloc((n ? n : 1) * sizeof *cl);
    uint16_t *dsi = malloc((n ? n : 1) * sizeof *dsi);
    uint64_t *keys = calloc(cap, sizeof *keys);
    uint32_t *slot = calloc(cap, sizeof *slot);  /* cluster number + 1; 0 empty */
    uint64_t *alf_of = malloc((n ? n : 1) * sizeof *alf_of);
    uint64_t *size = calloc(n ? n : 1, sizeof *size);
    dl_csv_reader *rd = NULL;
    dl_status st = DL_OK;
    if (!cl || !dsi || !keys || !slot || !alf_of || !size) {
        st = nomem(err);
        goto done;
    }
    if ((st = csv_open(path, &rd, err)))
        goto done;
    int ix[4];
    if ((st = columns(rd, path, names, ix, 4, err)))
        goto done;
    dl_row row;
    uint64_t rows = 0, n_cl = 0;
    int last_ds = 0;
    while ((st = next_row(rd, &row, err)) == DL_OK) {
        if (rows == n) {
            st = dl_error_set(err, DL_EINPUT, path, row.line, 0,
                              "more rows than the %llu records link-report.json lists "
                              "(expected one row per record)",
                              (unsigned long long)r->records);
            goto done;
        }
        const char *d = row.field[ix[0]];
        if (strcmp(r->ds[last_ds].name, d) && (last_ds = dataset_index(r, d)) < 0) {
            last_ds = 0;
            st = dl_error_set(err, DL_EINPUT, path, row.line, (uint64_t)ix[0] + 1,
                              "a dataset link-report.json does not list (expected one of its "
                              "%zu datasets)",
                              r->n_ds);
            goto done;
        }
        if (!is_hex32(row.field[ix[1]], row.len[ix[1]])) {
            st = dl_error_set(err, DL_EINPUT, path, row.line, (uint64_t)ix[1] + 1,
                              "malformed SLF (expected 32 lower-case hex digits)");
            goto done;
        }
        const char *a = row.field[ix[2]];
        char *end;
        errno = 0;
        uint64_t alf = strtoull(a, &end, 10);
        if (end == a || *end || errno == ERANGE || *a == '-' || *a == '+') {
            st = dl_error_set(err, DL_EINPUT, path, row.line, (uint64_t)ix[2] + 1,
                              "malformed ALF (expected a whole number below 2^64)");
            goto done;
        }
        double pr;
        if ((st = parse_number(path, &row, ix[3], &pr, err)))
            goto done;
        size_t h = (size_t)dl_mix64(alf) & (cap - 1);
        while (slot[h] && keys[h] != alf)
            h = (h + 1) & (cap - 1);
        if (!slot[h]) {
            keys[h] = alf;
            alf_of[n_cl] = alf;
            slot[h] = (uint32_t)++n_cl;
        }
        cl[rows] = slot[h] - 1;
        dsi[rows] = (uint16_t)last_ds;
        size[slot[h] - 1]++;
        r->ds[last_ds].cluster_rows++;
        rows++;
    }
    if (st != DL_END)
        goto done;
    st = DL_OK;
    for (size_t i = 0; i < r->n_ds && !st; i++)
        if (r->ds[i].cluster_rows != r->ds[i].records)
            st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                              "%llu rows of dataset '%s', link-report.json says %llu records "
                              "(expected one row per record)",
                              (unsigned long long)r->ds[i].cluster_rows, r->ds[i].name,
                              (unsigned long long)r->ds[i].records);
    if (st)
        goto done;
    uint64_t largest = 0;
    for (uint64_t c = 0; c < n_cl; c++)
        largest = size[c] > largest ? size[c] : largest;
    if (n_cl != r->n_clusters || largest != r->largest) {
        st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                          "%llu clusters (largest %llu), link-report.json says %llu (largest "
                          "%llu) (expected the files of one link run)",
                          (unsigned long long)n_cl, (unsigned long long)largest,
                          (unsigned long long)r->n_clusters, (unsigned long long)r->largest);
        goto done;
    }
    for (uint64_t i = 0; i < n; i++)
        if (size[cl[i]] > 1)
            r->ds[dsi[i]].linked++;
    /* The largest clusters, ties by ALF so that the list does not depend on
     * file order. Insertion into a list of MAX_TOP: linear in clusters. */
    for (uint64_t c = 0; c < n_cl; c++) {
        size_t at = r->n_top;
        while (at > 0 && (r->top[at - 1].size < size[c] ||
                          (r->top[at - 1].size == size[c] && r->top[at - 1].alf > alf_of[c])))
            at--;
        if (at >= MAX_TOP)
            continue;
        size_t end = r->n_top < MAX_TOP ? r->n_top : MAX_TOP - 1;
        memmove(&r->top[at + 1], &r->top[at], (end - at) * sizeof r->top[0]);
        r->top[at] = (rp_top){alf_of[c], size[c], (uint32_t)c, NULL, false};
        if (r->n_top < MAX_TOP)
            r->n_top++;
    }
    for (size_t t = 0; t < r->n_top; t++)
        if (!(r->top[t].per_ds = alloc0(r, r->n_ds, sizeof(uint64_t)))) {
            st = nomem(err);
            goto done;
        }
    for (uint64_t i = 0; i < n; i++)
        for (size_t t = 0; t < r->n_top; t++)
            if (cl[i] == r->top[t].id)
                r->top[t].per_ds[dsi[i]]++;
    /* Over-linking: a person seldom has more than two records in one
     * dataset, so a cluster larger than twice the datasets is suspect; with
     * link type 'link' (no duplicates within a dataset) so is any cluster
     * holding two records of one dataset. */
    r->flag_limit = 2 * (uint64_t)r->n_ds;
    bool one_each = !strcmp(r->link_type, "link");
    for (size_t t = 0; t < r->n_top; t++) {
        bool f = r->top[t].size > r->flag_limit;
        for (size_t d = 0; one_each && d < r->n_ds; d++)
            f = f || r->top[t].per_ds[d] > 1;
        r->top[t].flagged = f;
    }
    /* The distribution of sizes: sort a copy, count runs. */
    qsort(size, (size_t)n_cl, sizeof *size, cmp_u64);
    size_t distinct = 0;
    for (uint64_t c = 0; c < n_cl; c++)
        distinct += c == 0 || size[c] != size[c - 1];
    r->size_val = alloc0(r, distinct, sizeof *r->size_val);
    r->size_count = alloc0(r, distinct, sizeof *r->size_count);
    if (!r->size_val || !r->size_count) {
        st = nomem(err);
        goto done;
    }
    for (uint64_t c = 0; c < n_cl; c++) {
        if (c == 0 || size[c] != size[c - 1])
            r->size_val[r->n_sizes++] = size[c];
        r->size_count[r->n_sizes - 1]++;
    }
done:
    dl_csv_close(rd);
    free(cl);
    free(dsi);
    free(keys);
    free(slot);
    free(alf_of);
    free(size);
    return st;
}

/* ---- link.manifest.json and the prepare manifests --------------------------------- */

static dl_status load_profile(dl_report *r, rp_dataset *d, const dl_manifest *m, const char *path,
                              dl_error *err)
{
    d->has_acc = dl_manifest_accounting(m, &d->rows_read, &d->rows_written, &d->rows_rejected);
    const dl_json *prof = dl_manifest_extra(m, "profile");
    if (!prof)
        return DL_OK; /* older manifests: the page says so */
    const dl_json *fields = NULL;
    dl_status st = j_arr(prof, "fields", path, &fields, err);
    if (st)
        return st;
    d->n_fields = dl_json_len(fields);
    if (!(d->fields = alloc0(r, d->n_fields, sizeof *d->fields)))
        return nomem(err);
    for (size_t i = 0; i < d->n_fields; i++) {
        const dl_json *o = dl_json_at(fields, i), *why = NULL;
        rp_field *f = &d->fields[i];
        if ((st = j_str(r, o, "name", path, &f->name, err)) ||
            (st = j_str(r, o, "type", path, &f->type, err)) ||
            (st = j_u64(o, "usable", path, &f->usable, err)) ||
            (st = j_u64(o, "missing", path, &f->missing, err)) ||
            (st = j_u64(o, "placeholder", path, &f->placeholder, err)) ||
            (st = j_u64(o, "invalid", path, &f->invalid, err)) ||
            (st = j_num(o, "completeness", path, &f->completeness, err)) ||
            (st = j_obj(o, "invalid_by_reason", path, &why, err)))
            return st;
        /* A spec field the dataset lacks has a null column: all missing. */
        const dl_json *col = dl_json_get(o, "column");
        if (dl_json_type_of(col) != DL_JSON_NULL &&
            (st = j_str(r, o, "column", path, &f->column, err)))
            return st;
        f->n_reasons = dl_json_len(why);
        if (!(f->reasons = alloc0(r, f->n_reasons, sizeof *f->reasons)))
            return nomem(err);
        for (size_t k = 0; k < f->n_reasons; k++) {
            if (!dl_json_uint64(dl_json_at(why, k), &f->reasons[k].n))
                return jbad(err, path, dl_json_at(why, k),
                            "an invalid count is not a whole number (expected a count of rows)");
            if (!(f->reasons[k].name = dl_arena_strdup(r->a, dl_json_key_at(why, k, NULL))))
                return nomem(err);
        }
    }
    return DL_OK;
}

/* The prepare manifest beside ids file NAME (as link.manifest.json gives it):
 * DIR/D.ids.csv.gz -> DIR/D.manifest.json. A relative name was relative to
 * where link ran; failing that, it is tried from the link folder. */
static dl_status prepare_manifest(dl_report *r, const char *lm_path, const char *ids,
                                  dl_error *err)
{
    size_t len = strlen(ids);
    static const char suffix[] = ".ids.csv.gz";
    if (len <= sizeof suffix - 1 || strcmp(ids + len - (sizeof suffix - 1), suffix))
        return dl_error_set(err, DL_EINPUT, lm_path, 0, 0,
                            "an input is not an ids file (expected NAME.ids.csv.gz)");
    size_t stem = len - (sizeof suffix - 1);
    char *mp = dl_arena_alloc(r->a, stem + 32);
    if (!mp)
        return nomem(err);
    snprintf(mp, stem + 32, "%.*s.manifest.json", (int)stem, ids);
    struct stat sb;
    if (stat(mp, &sb) != 0 && mp[0] != '/') {
        char *alt = path_in(r, r->linkdir, mp);
        if (!alt)
            return nomem(err);
        if (stat(alt, &sb) == 0)
            mp = alt;
    }
    dl_manifest *m = NULL;
    dl_status st = dl_manifest_load(mp, &m, err);
    if (st == DL_EIO && err->os_errno == ENOENT)
        st = dl_error_set(err, DL_EINPUT, mp, 0, 0,
                          "cannot find the prepare manifest of an input link.manifest.json "
                          "lists (expected NAME.manifest.json beside NAME.ids.csv.gz)");
    if (st)
        return st;
    const char *dsname = dl_manifest_dataset(m);
    int di = dsname ? dataset_index(r, dsname) : -1;
    if (di < 0)
        st = dl_error_set(err, DL_EINPUT, mp, 0, 0,
                          "its dataset is not one link-report.json lists (expected the "
                          "manifest of a linked dataset)");
    else if (!dl_manifest_spec_hash(m) || strcmp(dl_manifest_spec_hash(m), r->spec_hash))
        st = dl_error_set(err, DL_EINPUT, mp, 0, 0,
                          "its spec hash differs from the link run's %.12s... (expected the "
                          "manifest the ids file was prepared with)",
                          r->spec_hash);
    else if (r->ds[di].manifest)
        st = dl_error_set(err, DL_EINPUT, mp, 0, 0,
                          "dataset '%s' has two prepare manifests (expected one)", dsname);
    else if (!(r->ds[di].manifest = dl_arena_strdup(r->a, mp)))
        st = nomem(err);
    if (st == DL_OK)
        st = load_profile(r, &r->ds[di], m, mp, err);
    dl_manifest_free(m);
    return st;
}

/* Load link.manifest.json and check every output it lists has the bytes
 * link wrote: a report of files from two runs would be a confident lie. */
static dl_status verify_link_manifest(dl_report *r, dl_manifest **out, dl_error *err)
{
    const char *path = path_in(r, r->linkdir, "link.manifest.json");
    if (!path)
        return nomem(err);
    dl_manifest *m = NULL;
    dl_status st = dl_manifest_load(path, &m, err);
    if (st == DL_EIO && err->os_errno == ENOENT)
        return dl_error_set(err, DL_EINPUT, path, 0, 0,
                            "no link manifest (expected a folder written by dolen link)");
    if (st)
        return st;
    if (!dl_manifest_command(m) || strcmp(dl_manifest_command(m), "link"))
        st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                          "not a link manifest (expected \"command\": \"link\")");
    static const char *const need[] = {"links.csv.gz", "review.csv.gz", "clusters.csv.gz",
                                       "link-report.json", "model.yaml"};
    for (size_t k = 0; st == DL_OK && k < 5; k++) {
        bool found = false;
        for (size_t i = 0; i < dl_manifest_n_outputs(m); i++)
            found = found || !strcmp(dl_manifest_output_at(m, i)->name, need[k]);
        if (!found)
            st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                              "it does not list %s (expected every output of dolen link)",
                              need[k]);
    }
    if (st == DL_OK) {
        st = dl_manifest_verify(m, err);
        if (st == DL_EIO && err->os_errno == ENOENT)
            err->code = st = DL_EINPUT;
    }
    if (st == DL_OK && dl_manifest_created(m) &&
        !(r->created = dl_arena_strdup(r->a, dl_manifest_created(m))))
        st = nomem(err);
    if (st) {
        dl_manifest_free(m);
        return st;
    }
    *out = m;
    return DL_OK;
}

/* The prepare manifests of the inputs M lists, once link-report.json is read. */
static dl_status load_prepare_manifests(dl_report *r, const dl_manifest *m, dl_error *err)
{
    const char *path = path_in(r, r->linkdir, "link.manifest.json");
    if (!path)
        return nomem(err);
    if (dl_manifest_n_inputs(m) != r->n_ds)
        return dl_error_set(err, DL_EINPUT, path, 0, 0,
                            "%zu inputs, link-report.json lists %zu datasets (expected one ids "
                            "file per dataset)",
                            dl_manifest_n_inputs(m), r->n_ds);
    if (!dl_manifest_spec_hash(m) || strcmp(dl_manifest_spec_hash(m), r->spec_hash))
        return dl_error_set(err, DL_EINPUT, path, 0, 0,
                            "its spec hash differs from link-report.json's %.12s... (expected "
                            "the files of one link run)",
                            r->spec_hash);
    dl_status st = DL_OK;
    for (size_t i = 0; st == DL_OK && i < dl_manifest_n_inputs(m); i++)
        st = prepare_manifest(r, path, dl_manifest_input_at(m, i)->name, err);
    return st;
}

/* ---- truth ------------------------------------------------------------------------ */

static dl_status load_truth(dl_report *r, const dl_report_opts *o, dl_error *err)
{
    dl_eval_opts eo = DL_EVAL_OPTS_INIT;
    eo.truth_from = o->truth_febrl ? DL_EVAL_TRUTH_FEBRL : DL_EVAL_TRUTH_FILE;
    eo.truth = o->truth;
    eo.n_maps = o->n_maps;
    eo.maps = o->maps;
    eo.links = path_in(r, r->linkdir, "links.csv.gz");
    eo.review = path_in(r, r->linkdir, "review.csv.gz");
    eo.clusters = path_in(r, r->linkdir, "clusters.csv.gz");
    eo.cross_only = !strcmp(r->link_type, "link");
    if (!eo.links || !eo.review || !eo.clusters)
        return nomem(err);
    dl_status st = dl_eval_run(&eo, &r->eval, err);
    if (st)
        return st;
    const dl_eval_summary *s = dl_eval_summary_of(r->eval);
    const dl_eval_issues *is = &s->issues;
    /* Maps or truth from another run would give numbers that mean nothing:
     * refuse them rather than print a precision of 0. */
    uint64_t judged = is->cluster_rows - is->cluster_other_datasets - is->cluster_unknown_slf;
    if (is->cluster_unknown_slf > 0 || judged == 0)
        return dl_error_set(err, DL_EINPUT, o->maps[0], 0, 0,
                            "the maps do not match this link folder: %llu of %llu records of "
                            "clusters.csv.gz are not in the map of their dataset (expected the "
                            "maps prepare wrote beside the linked ids files)",
                            (unsigned long long)(judged ? is->cluster_unknown_slf
                                                        : is->cluster_rows),
                            (unsigned long long)is->cluster_rows);
    if (!o->truth_febrl &&
        is->truth_rows - is->truth_other_datasets - is->truth_without_record == 0)
        return dl_error_set(err, DL_EINPUT, o->truth, 0, 0,
                            "the truth names none of the linked records (expected "
                            "dataset,record_id,person_id rows for these datasets)");
    return DL_OK;
}

/* ---- load ------------------------------------------------------------------------- */

void dl_report_free(dl_report *r)
{
    if (!r)
        return;
    dl_eval_free(r->eval);
    dl_arena_free(r->a);
    free(r);
}

dl_status dl_report_load(const dl_report_opts *o, dl_report **out, dl_error *err)
{
    *out = NULL;
    if (!o->linkdir)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "no link folder given");
    if ((o->truth || o->truth_febrl) && o->n_maps == 0)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "truth needs the datasets' maps (expected --map NAME.slfmap.csv.gz)");
    if (o->n_maps && !o->truth && !o->truth_febrl)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "maps are only used with truth (expected --truth or --febrl)");
    struct stat sb;
    if (stat(o->linkdir, &sb) != 0 || !S_ISDIR(sb.st_mode))
        return dl_error_set(err, DL_EINPUT, o->linkdir, 0, 0,
                            "not a folder (expected the output folder of dolen link)");
    dl_report *r = calloc(1, sizeof *r);
    if (!r || !(r->a = dl_arena_new(0)) || !(r->linkdir = dl_arena_strdup(r->a, o->linkdir))) {
        dl_report_free(r);
        return nomem(err);
    }
    dl_status st;
    dl_manifest *lm = NULL;
    const char *rp = path_in(r, r->linkdir, "link-report.json");
    const char *mp = path_in(r, r->linkdir, "model.yaml");
    if (!rp || !mp)
        st = nomem(err);
    else
        st = verify_link_manifest(r, &lm, err);
    if (st == DL_OK)
        st = load_link_report(r, rp, err);
    if (st == DL_OK)
        st = load_model(r, mp, err);
    if (st == DL_OK) {
        r->n_ex = o->examples ? o->examples : 2;
        if (r->n_ex > 50)
            r->n_ex = 50;
        st = load_pairs(r, err);
    }
    if (st == DL_OK)
        st = load_clusters(r, err);
    if (st == DL_OK)
        st = load_prepare_manifests(r, lm, err);
    dl_manifest_free(lm);
    if (st == DL_OK && (o->truth || o->truth_febrl))
        st = load_truth(r, o, err);
    if (st) {
        dl_report_free(r);
        return st;
    }
    *out = r;
    return DL_OK;
}

/* ---- derived numbers, shared by the page and its twin ------------------------------ */

/* m at the EM floor (docs/model.md: 1e-6) means no match in training
 * showed the level; u_count 0 means no random pair did. */
#define M_FLOOR 1e-6

static bool level_unseen_m(const rp_level *l)
{
    return l->m <= M_FLOOR * 1.0000001;
}

static uint64_t blocked_total(const dl_report *r)
{
    uint64_t t = 0;
    for (size_t i = 0; i < r->n_rules; i++)
        t += r->rules[i].pairs;
    return t;
}

static double stage_total(const dl_report *r)
{
    double t = 0;
    for (size_t i = 0; i < r->n_stage; i++)
        t += r->stage[i].seconds;
    return t;
}

/* The first and last non-empty weight bins, widened to show both
 * thresholds; *LO > *HI when every bin is empty. */
static void hist_range(const dl_report *r, size_t *lo, size_t *hi)
{
    *lo = r->h_n;
    *hi = 0;
    for (size_t i = 0; i < r->h_n; i++)
        if (r->h_counts[i]) {
            if (*lo == r->h_n)
                *lo = i;
            *hi = i;
        }
    double ws[2] = {weight_of(r->t_match), weight_of(r->t_review)};
    for (int k = 0; k < 2; k++) {
        double b = floor((ws[k] - r->h_min) / r->h_step);
        if (b >= 0 && b < (double)r->h_n) {
            size_t bi = (size_t)b;
            if (*lo == r->h_n || bi < *lo)
                *lo = bi;
            if (bi > *hi)
                *hi = bi;
        }
    }
}

/* The weight a pattern value adds: 0 for null, else the level's weight. */
static double contribution(const dl_report *r, size_t c, unsigned v)
{
    return v == 0 ? 0 : r->comp[c].lv[v - 1].w;
}

/* What the model gives for the pair; the file's weight may differ by the
 * term-frequency adjustment (and by rounding to 6 decimals). */
static double model_weight(const dl_report *r, const rp_pair *p)
{
    double w = r->prior_weight;
    for (size_t c = 0; c < r->n_comp; c++)
        w += contribution(r, c, p->val[c]);
    return w;
}

static double tf_adjustment(const dl_report *r, const rp_pair *p)
{
    double d = p->w - model_weight(r, p);
    return fabs(d) < 5e-6 ? 0 : d;
}

static bool is_flag_reason_oversize(const dl_report *r, const rp_top *t)
{
    return t->size > r->flag_limit;
}

/* ---- JSON twin -------------------------------------------------------------------- */

static void jw_num(dl_json_writer *w, double v)
{
    if (isfinite(v))
        dl_jw_double(w, v);
    else
        dl_jw_null(w);
}

static void jw_pairwise(dl_json_writer *w, const dl_eval_pairwise *m)
{
    dl_jw_object(w);
    dl_jw_key(w, "pairs");
    dl_jw_uint(w, m->pairs);
    dl_jw_key(w, "tp");
    dl_jw_uint(w, m->tp);
    dl_jw_key(w, "fp");
    dl_jw_uint(w, m->fp);
    dl_jw_key(w, "fn");
    dl_jw_uint(w, m->fn);
    dl_jw_key(w, "precision");
    jw_num(w, m->precision);
    dl_jw_key(w, "recall");
    jw_num(w, m->recall);
    dl_jw_key(w, "f1");
    jw_num(w, m->f1);
    dl_jw_object_end(w);
}

static void json_summary(const dl_report *r, dl_json_writer *w)
{
    dl_jw_key(w, "summary");
    dl_jw_object(w);
    dl_jw_key(w, "link_folder");
    dl_jw_string(w, r->linkdir);
    dl_jw_key(w, "link_tool");
    dl_jw_string(w, r->tool);
    dl_jw_key(w, "created_utc");
    if (r->created)
        dl_jw_string(w, r->created);
    else
        dl_jw_null(w);
    dl_jw_key(w, "link_type");
    dl_jw_string(w, r->link_type);
    dl_jw_key(w, "spec_hash");
    dl_jw_string(w, r->spec_hash);
    dl_jw_key(w, "key_fingerprint");
    dl_jw_string(w, r->key_fp);
    dl_jw_key(w, "datasets");
    dl_jw_array(w);
    for (size_t i = 0; i < r->n_ds; i++) {
        dl_jw_object(w);
        dl_jw_key(w, "name");
        dl_jw_string(w, r->ds[i].name);
        dl_jw_key(w, "records");
        dl_jw_uint(w, r->ds[i].records);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_key(w, "records");
    dl_jw_uint(w, r->records);
    dl_jw_key(w, "blocking");
    dl_jw_array(w);
    for (size_t i = 0; i < r->n_rules; i++) {
        const rp_rule *ru = &r->rules[i];
        dl_jw_object(w);
        dl_jw_key(w, "rule");
        dl_jw_string(w, ru->rule);
        dl_jw_key(w, "pairs");
        dl_jw_uint(w, ru->pairs);
        dl_jw_key(w, "records_keyed");
        dl_jw_uint(w, ru->keyed);
        dl_jw_key(w, "blocks");
        dl_jw_uint(w, ru->blocks);
        dl_jw_key(w, "largest_block");
        dl_jw_uint(w, ru->largest);
        dl_jw_key(w, "oversize_blocks");
        dl_jw_uint(w, ru->oversize_blocks);
        dl_jw_key(w, "oversize_records");
        dl_jw_uint(w, ru->oversize_records);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_key(w, "pairs_blocked");
    dl_jw_uint(w, blocked_total(r));
    dl_jw_key(w, "pairs_scored");
    dl_jw_uint(w, r->pairs_scored);
    dl_jw_key(w, "links");
    dl_jw_uint(w, r->links);
    dl_jw_key(w, "review_pairs");
    dl_jw_uint(w, r->review);
    dl_jw_key(w, "clusters");
    dl_jw_uint(w, r->n_clusters);
    dl_jw_key(w, "largest_cluster");
    dl_jw_uint(w, r->largest);
    dl_jw_key(w, "seconds_per_stage");
    dl_jw_object(w);
    for (size_t i = 0; i < r->n_stage; i++) {
        dl_jw_key(w, r->stage[i].name);
        dl_jw_double(w, r->stage[i].seconds);
    }
    dl_jw_object_end(w);
    dl_jw_key(w, "seconds_total");
    dl_jw_double(w, round(stage_total(r) * 1000) / 1000);
    dl_jw_key(w, "peak_rss_mb");
    dl_jw_double(w, r->peak_rss);
    dl_jw_key(w, "store_mb");
    dl_jw_double(w, r->store_mb);
    dl_jw_object_end(w);
}

static void json_model(const dl_report *r, dl_json_writer *w)
{
    dl_jw_key(w, "model");
    dl_jw_object(w);
    dl_jw_key(w, "lambda");
    dl_jw_double(w, r->lambda);
    dl_jw_key(w, "prior_weight");
    dl_jw_double(w, r->prior_weight);
    dl_jw_key(w, "u_pairs");
    dl_jw_uint(w, r->u_pairs);
    dl_jw_key(w, "comparisons");
    dl_jw_array(w);
    for (size_t c = 0; c < r->n_comp; c++) {
        const rp_comp *rc = &r->comp[c];
        dl_jw_object(w);
        dl_jw_key(w, "name");
        dl_jw_string(w, rc->name);
        dl_jw_key(w, "m_fixed");
        dl_jw_bool(w, rc->m_fixed);
        dl_jw_key(w, "levels");
        dl_jw_array(w);
        for (size_t v = 0; v < rc->n; v++) {
            const rp_level *l = &rc->lv[v];
            dl_jw_object(w);
            dl_jw_key(w, "label");
            dl_jw_string(w, l->label);
            dl_jw_key(w, "m");
            dl_jw_double(w, l->m);
            dl_jw_key(w, "u");
            dl_jw_double(w, l->u);
            dl_jw_key(w, "bayes_factor");
            dl_jw_double(w, l->bf);
            dl_jw_key(w, "match_weight");
            dl_jw_double(w, l->w);
            dl_jw_key(w, "u_count");
            dl_jw_uint(w, l->u_count);
            dl_jw_key(w, "unseen_in_u_sample");
            dl_jw_bool(w, l->u_count == 0);
            dl_jw_key(w, "unseen_in_training");
            dl_jw_bool(w, level_unseen_m(l));
            dl_jw_object_end(w);
        }
        dl_jw_array_end(w);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_key(w, "em_passes");
    dl_jw_array(w);
    for (size_t p = 0; p < r->n_pass; p++) {
        const rp_pass *ps = &r->pass[p];
        dl_jw_object(w);
        dl_jw_key(w, "rule");
        dl_jw_string(w, ps->rule);
        dl_jw_key(w, "pairs");
        dl_jw_uint(w, ps->pairs);
        dl_jw_key(w, "iterations");
        dl_jw_uint(w, ps->iterations);
        dl_jw_key(w, "converged");
        dl_jw_bool(w, ps->converged);
        dl_jw_key(w, "lambda");
        dl_jw_double(w, ps->lambda);
        dl_jw_key(w, "trace");
        dl_jw_array(w);
        for (uint64_t i = 0; i < ps->iterations; i++)
            jw_num(w, ps->trace[i]);
        dl_jw_array_end(w);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_key(w, "warnings");
    dl_jw_array(w);
    for (size_t i = 0; i < r->n_warn; i++)
        dl_jw_string(w, r->warn[i]);
    dl_jw_array_end(w);
    dl_jw_object_end(w);
}

static void json_scores(const dl_report *r, dl_json_writer *w)
{
    dl_jw_key(w, "scores");
    dl_jw_object(w);
    dl_jw_key(w, "thresholds");
    dl_jw_object(w);
    dl_jw_key(w, "match");
    dl_jw_double(w, r->t_match);
    dl_jw_key(w, "match_weight");
    dl_jw_double(w, weight_of(r->t_match));
    dl_jw_key(w, "review");
    dl_jw_double(w, r->t_review);
    dl_jw_key(w, "review_weight");
    dl_jw_double(w, weight_of(r->t_review));
    dl_jw_object_end(w);
    dl_jw_key(w, "weight_histogram");
    dl_jw_object(w);
    dl_jw_key(w, "min");
    dl_jw_double(w, r->h_min);
    dl_jw_key(w, "step");
    dl_jw_double(w, r->h_step);
    dl_jw_key(w, "below_min");
    dl_jw_uint(w, r->h_below);
    dl_jw_key(w, "counts");
    dl_jw_array(w);
    for (size_t i = 0; i < r->h_n; i++)
        dl_jw_uint(w, r->h_counts[i]);
    dl_jw_array_end(w);
    dl_jw_key(w, "above_max");
    dl_jw_uint(w, r->h_above);
    dl_jw_object_end(w);
    dl_jw_key(w, "linked_per_dataset");
    dl_jw_array(w);
    for (size_t i = 0; i < r->n_ds; i++) {
        dl_jw_object(w);
        dl_jw_key(w, "dataset");
        dl_jw_string(w, r->ds[i].name);
        dl_jw_key(w, "records");
        dl_jw_uint(w, r->ds[i].records);
        dl_jw_key(w, "linked");
        dl_jw_uint(w, r->ds[i].linked);
        dl_jw_key(w, "share");
        jw_num(w, r->ds[i].records ? (double)r->ds[i].linked / (double)r->ds[i].records : NAN);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_object_end(w);
}

static void json_examples(const dl_report *r, dl_json_writer *w)
{
    dl_jw_key(w, "examples");
    dl_jw_array(w);
    for (size_t i = 0; i < r->n_ex; i++) {
        const rp_pair *p = &r->ex[i];
        dl_jw_object(w);
        dl_jw_key(w, "near");
        dl_jw_string(w, p->near);
        dl_jw_key(w, "dataset_a");
        dl_jw_string(w, p->da);
        dl_jw_key(w, "slf_a");
        dl_jw_string(w, p->sa);
        dl_jw_key(w, "dataset_b");
        dl_jw_string(w, p->db);
        dl_jw_key(w, "slf_b");
        dl_jw_string(w, p->sb);
        dl_jw_key(w, "match_weight");
        dl_jw_double(w, p->w);
        dl_jw_key(w, "match_probability");
        dl_jw_double(w, p->p);
        dl_jw_key(w, "pattern");
        dl_jw_string(w, p->pattern);
        dl_jw_key(w, "prior_weight");
        dl_jw_double(w, r->prior_weight);
        dl_jw_key(w, "contributions");
        dl_jw_array(w);
        for (size_t c = 0; c < r->n_comp; c++) {
            dl_jw_object(w);
            dl_jw_key(w, "comparison");
            dl_jw_string(w, r->comp[c].name);
            dl_jw_key(w, "value");
            dl_jw_uint(w, p->val[c]);
            dl_jw_key(w, "level");
            dl_jw_string(w, p->val[c] ? r->comp[c].lv[p->val[c] - 1].label : "null");
            dl_jw_key(w, "match_weight");
            dl_jw_double(w, contribution(r, c, p->val[c]));
            dl_jw_object_end(w);
        }
        dl_jw_array_end(w);
        dl_jw_key(w, "tf_adjustment");
        dl_jw_double(w, tf_adjustment(r, p));
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
}

static void json_clusters(const dl_report *r, dl_json_writer *w)
{
    dl_jw_key(w, "clusters");
    dl_jw_object(w);
    dl_jw_key(w, "count");
    dl_jw_uint(w, r->n_clusters);
    dl_jw_key(w, "largest");
    dl_jw_uint(w, r->largest);
    dl_jw_key(w, "sizes");
    dl_jw_array(w);
    for (size_t i = 0; i < r->n_sizes; i++) {
        dl_jw_object(w);
        dl_jw_key(w, "size");
        dl_jw_uint(w, r->size_val[i]);
        dl_jw_key(w, "clusters");
        dl_jw_uint(w, r->size_count[i]);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_key(w, "flag_above_size");
    dl_jw_uint(w, r->flag_limit);
    dl_jw_key(w, "largest_clusters");
    dl_jw_array(w);
    for (size_t t = 0; t < r->n_top; t++) {
        dl_jw_object(w);
        dl_jw_key(w, "alf");
        char alf[24];
        snprintf(alf, sizeof alf, "%llu", (unsigned long long)r->top[t].alf);
        dl_jw_string(w, alf); /* a string: 64-bit ids lose digits as JSON doubles */
        dl_jw_key(w, "size");
        dl_jw_uint(w, r->top[t].size);
        dl_jw_key(w, "records_per_dataset");
        dl_jw_object(w);
        for (size_t d = 0; d < r->n_ds; d++) {
            dl_jw_key(w, r->ds[d].name);
            dl_jw_uint(w, r->top[t].per_ds[d]);
        }
        dl_jw_object_end(w);
        dl_jw_key(w, "flagged");
        dl_jw_bool(w, r->top[t].flagged);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_object_end(w);
}

static void json_quality(const dl_report *r, dl_json_writer *w)
{
    dl_jw_key(w, "quality");
    if (!r->eval) {
        dl_jw_null(w);
        return;
    }
    const dl_eval_summary *s = dl_eval_summary_of(r->eval);
    dl_jw_object(w);
    dl_jw_key(w, "threshold");
    dl_jw_double(w, r->t_match);
    dl_jw_key(w, "records");
    dl_jw_uint(w, s->records);
    dl_jw_key(w, "persons");
    dl_jw_uint(w, s->persons);
    dl_jw_key(w, "true_pairs");
    dl_jw_uint(w, s->true_pairs);
    dl_jw_key(w, "links");
    jw_pairwise(w, &s->links);
    dl_jw_key(w, "fn_review");
    dl_jw_uint(w, s->fn_review);
    dl_jw_key(w, "fn_unscored");
    dl_jw_uint(w, s->fn_unscored);
    dl_jw_key(w, "cluster_pairs");
    jw_pairwise(w, &s->cluster_pairs);
    dl_jw_key(w, "bcubed_precision");
    jw_num(w, s->bcubed_precision);
    dl_jw_key(w, "bcubed_recall");
    jw_num(w, s->bcubed_recall);
    dl_jw_key(w, "bcubed_f1");
    jw_num(w, s->bcubed_f1);
    dl_jw_key(w, "pr_curve");
    dl_jw_array(w);
    for (size_t i = 0; i < dl_eval_n_thresholds(r->eval); i++) {
        const dl_eval_threshold *t = dl_eval_threshold_at(r->eval, i);
        dl_jw_object(w);
        dl_jw_key(w, "threshold");
        dl_jw_double(w, t->threshold);
        dl_jw_key(w, "complete");
        dl_jw_bool(w, t->complete);
        dl_jw_key(w, "pairs");
        dl_jw_uint(w, t->m.pairs);
        dl_jw_key(w, "precision");
        jw_num(w, t->m.precision);
        dl_jw_key(w, "recall");
        jw_num(w, t->m.recall);
        dl_jw_key(w, "f1");
        jw_num(w, t->m.f1);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_object_end(w);
}

static void json_data_quality(const dl_report *r, dl_json_writer *w)
{
    dl_jw_key(w, "data_quality");
    dl_jw_array(w);
    for (size_t i = 0; i < r->n_ds; i++) {
        const rp_dataset *d = &r->ds[i];
        dl_jw_object(w);
        dl_jw_key(w, "dataset");
        dl_jw_string(w, d->name);
        dl_jw_key(w, "manifest");
        dl_jw_string(w, d->manifest ? d->manifest : "");
        dl_jw_key(w, "rows_read");
        if (d->has_acc)
            dl_jw_uint(w, d->rows_read);
        else
            dl_jw_null(w);
        dl_jw_key(w, "rows_written");
        if (d->has_acc)
            dl_jw_uint(w, d->rows_written);
        else
            dl_jw_null(w);
        dl_jw_key(w, "rows_rejected");
        if (d->has_acc)
            dl_jw_uint(w, d->rows_rejected);
        else
            dl_jw_null(w);
        dl_jw_key(w, "fields");
        dl_jw_array(w);
        for (size_t k = 0; k < d->n_fields; k++) {
            const rp_field *f = &d->fields[k];
            dl_jw_object(w);
            dl_jw_key(w, "name");
            dl_jw_string(w, f->name);
            dl_jw_key(w, "column");
            if (f->column)
                dl_jw_string(w, f->column);
            else
                dl_jw_null(w);
            dl_jw_key(w, "type");
            dl_jw_string(w, f->type);
            dl_jw_key(w, "usable");
            dl_jw_uint(w, f->usable);
            dl_jw_key(w, "missing");
            dl_jw_uint(w, f->missing);
            dl_jw_key(w, "placeholder");
            dl_jw_uint(w, f->placeholder);
            dl_jw_key(w, "invalid");
            dl_jw_uint(w, f->invalid);
            dl_jw_key(w, "invalid_by_reason");
            dl_jw_object(w);
            for (size_t q = 0; q < f->n_reasons; q++) {
                dl_jw_key(w, f->reasons[q].name);
                dl_jw_uint(w, f->reasons[q].n);
            }
            dl_jw_object_end(w);
            dl_jw_key(w, "completeness");
            dl_jw_double(w, f->completeness);
            dl_jw_object_end(w);
        }
        dl_jw_array_end(w);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
}

dl_status dl_report_json(const dl_report *r, dl_buf *out, dl_error *err)
{
    dl_json_writer w;
    dl_jw_init(&w, out);
    dl_jw_object(&w);
    dl_jw_key(&w, "format");
    dl_jw_string(&w, "dolen-report/1");
    dl_jw_key(&w, "tool");
    dl_jw_string(&w, "dolen " DL_VERSION);
    json_summary(r, &w);
    json_model(r, &w);
    json_scores(r, &w);
    json_examples(r, &w);
    json_clusters(r, &w);
    json_quality(r, &w);
    json_data_quality(r, &w);
    dl_jw_object_end(&w);
    return dl_jw_finish(&w, err);
}

/* ---- the page ---------------------------------------------------------------------- */

/* Counts with thousands separators: 17,672 reads at a glance. */
static const char *cnt(char *buf, uint64_t v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        if (i && (n - i) % 3 == 0)
            buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

static const char *pct(char *buf, double share)
{
    if (!isfinite(share))
        snprintf(buf, 32, "n/a");
    else
        snprintf(buf, 32, "%.1f%%", 100 * share);
    return buf;
}

static const char *ratio(char *buf, double v)
{
    if (!isfinite(v))
        snprintf(buf, 32, "n/a");
    else
        snprintf(buf, 32, "%.4f", v);
    return buf;
}

static bool esc(dl_buf *b, const char *s)
{
    return dl__svg_text(b, s);
}

/* A cell holding escaped text, then a cell per number given as text. */
static bool td(dl_buf *b, const char *s)
{
    return dl_buf_puts(b, "<td>") && esc(b, s) && dl_buf_puts(b, "</td>");
}

static bool tdn(dl_buf *b, const char *s)
{
    return dl_buf_puts(b, "<td class=\"n\">") && esc(b, s) && dl_buf_puts(b, "</td>");
}

static bool warning(dl_buf *b, const char *s)
{
    return dl_buf_puts(b, "<p class=\"warn\"><strong>Warning:</strong> ") && esc(b, s) &&
           dl_buf_puts(b, "</p>\n");
}

static const char CSS[] =
    "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;color:#222;margin:0 auto;"
    "max-width:1180px;padding:0 16px 40px;line-height:1.4}\n"
    "h1{margin:24px 0 4px}h2{border-bottom:2px solid #222;padding-bottom:2px;margin-top:36px}\n"
    "h3{margin:20px 0 6px}\n"
    "table{border-collapse:collapse;margin:6px 0 12px;font-size:13px}\n"
    "th,td{border:1px solid #999;padding:2px 8px;text-align:left;vertical-align:top}\n"
    "th{background:#eee}td.n{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.flag td{font-weight:bold}\n"
    ".fig{display:flex;flex-wrap:wrap;gap:16px;align-items:flex-start}\n"
    ".fig svg{max-width:100%;height:auto;border:1px solid #ccc}\n"
    ".scroll{max-height:420px;overflow:auto}\n"
    ".warn{border:2px solid #222;border-left-width:8px;padding:4px 8px;background:#fff6e0}\n"
    ".note{color:#444;font-size:13px}code,.slf{font-family:'DejaVu Sans Mono',monospace;"
    "font-size:12px}\n"
    "nav ol{columns:2;font-size:14px}\n"
    "@media print{body{max-width:none}.scroll{max-height:none;overflow:visible}"
    "section,.fig,table,svg{break-inside:avoid}h2{break-after:avoid}nav{display:none}}\n";

static bool html_summary(const dl_report *r, dl_buf *b)
{
    char x[32], y[32], z[32];
    bool ok = dl_buf_puts(b, "<section id=\"summary\">\n<h2>1. Summary</h2>\n<table>\n");
    ok = ok && dl_buf_puts(b, "<tr><th>link folder</th>") && td(b, r->linkdir) &&
         dl_buf_puts(b, "</tr>\n<tr><th>link type</th>") && td(b, r->link_type) &&
         dl_buf_puts(b, "</tr>\n<tr><th>linked by</th>") && td(b, r->tool) &&
         dl_buf_puts(b, "</tr>\n<tr><th>linked at (UTC)</th>") &&
         td(b, r->created ? r->created : "unknown") &&
         dl_buf_puts(b, "</tr>\n<tr><th>spec hash</th><td><code>") && esc(b, r->spec_hash) &&
         dl_buf_puts(b, "</code></td></tr>\n<tr><th>key fingerprint</th><td><code>") &&
         esc(b, r->key_fp) && dl_buf_puts(b, "</code></td></tr>\n</table>\n");
    ok = ok && dl_buf_puts(b, "<h3>Datasets</h3>\n<table>\n<tr><th>dataset</th><th>records</th>"
                              "<th>linked</th><th>share linked</th></tr>\n");
    for (size_t i = 0; ok && i < r->n_ds; i++) {
        const rp_dataset *d = &r->ds[i];
        ok = dl_buf_puts(b, "<tr>") && td(b, d->name) && tdn(b, cnt(x, d->records)) &&
             tdn(b, cnt(y, d->linked)) &&
             tdn(b, pct(z, d->records ? (double)d->linked / (double)d->records : NAN)) &&
             dl_buf_puts(b, "</tr>\n");
    }
    ok = ok && dl_buf_puts(b, "<tr><th>all</th>") && tdn(b, cnt(x, r->records)) &&
         dl_buf_puts(b, "<td></td><td></td></tr>\n</table>\n");
    ok = ok && dl_buf_puts(b, "<h3>Blocking and scoring</h3>\n<table>\n<tr><th>blocking rule</th>"
                              "<th>pairs (new to this rule)</th><th>records keyed</th>"
                              "<th>blocks</th><th>largest block</th><th>oversize blocks "
                              "(capped)</th></tr>\n");
    for (size_t i = 0; ok && i < r->n_rules; i++) {
        const rp_rule *ru = &r->rules[i];
        char v[32];
        ok = dl_buf_puts(b, "<tr><td><code>") && esc(b, ru->rule) &&
             dl_buf_puts(b, "</code></td>") && tdn(b, cnt(x, ru->pairs)) &&
             tdn(b, cnt(y, ru->keyed)) && tdn(b, cnt(z, ru->blocks)) &&
             tdn(b, cnt(v, ru->largest)) && tdn(b, cnt(x, ru->oversize_blocks)) &&
             dl_buf_puts(b, "</tr>\n");
    }
    ok = ok && dl_buf_puts(b, "<tr><th>all rules</th>") && tdn(b, cnt(x, blocked_total(r))) &&
         dl_buf_puts(b, "<td></td><td></td><td></td><td></td></tr>\n</table>\n<table>\n");
    snprintf(z, sizeof z, "%g", r->t_match);
    ok = ok && dl_buf_puts(b, "<tr><th>pairs scored</th>") && tdn(b, cnt(x, r->pairs_scored)) &&
         dl_buf_printf(b, "</tr>\n<tr><th>links (match probability &#8805; %g)</th>",
                       r->t_match) &&
         tdn(b, cnt(x, r->links)) &&
         dl_buf_printf(b, "</tr>\n<tr><th>review pairs (%g &#8804; probability &lt; %g)</th>",
                       r->t_review, r->t_match) &&
         tdn(b, cnt(x, r->review)) && dl_buf_puts(b, "</tr>\n<tr><th>clusters</th>") &&
         tdn(b, cnt(x, r->n_clusters)) &&
         dl_buf_puts(b, "</tr>\n<tr><th>largest cluster (records)</th>") &&
         tdn(b, cnt(x, r->largest)) && dl_buf_puts(b, "</tr>\n</table>\n");
    ok = ok && dl_buf_puts(b, "<h3>Time and memory</h3>\n<table>\n<tr><th>stage</th>"
                              "<th>seconds</th></tr>\n");
    for (size_t i = 0; ok && i < r->n_stage; i++) {
        snprintf(x, sizeof x, "%.3f", r->stage[i].seconds);
        ok = dl_buf_puts(b, "<tr>") && td(b, r->stage[i].name) && tdn(b, x) &&
             dl_buf_puts(b, "</tr>\n");
    }
    snprintf(x, sizeof x, "%.3f", stage_total(r));
    snprintf(y, sizeof y, "%.1f", r->peak_rss);
    snprintf(z, sizeof z, "%.1f", r->store_mb);
    ok = ok && dl_buf_puts(b, "<tr><th>all stages</th>") && tdn(b, x) &&
         dl_buf_puts(b, "</tr>\n<tr><th>peak memory (resident, MB)</th>") && tdn(b, y) &&
         dl_buf_puts(b, "</tr>\n<tr><th>columnar store (MB)</th>") && tdn(b, z) &&
         dl_buf_puts(b, "</tr>\n</table>\n<p class=\"note\">Memory is measured for the whole "
                        "link run (peak resident set), not per stage.</p>\n</section>\n");
    return ok;
}

static bool html_model(const dl_report *r, dl_buf *b)
{
    char x[32], y[32];
    bool ok = dl_buf_puts(b, "<section id=\"model\">\n<h2>2. Model</h2>\n");
    ok = ok && dl_buf_printf(b, "<p>Prior &#955; = %.6g (the share of matches among all pairs "
                                "the link type allows); prior weight log2(&#955;/(1&#8722;&#955;)) = "
                                "%.3f; u estimated from %s random pairs.</p>\n",
                             r->lambda, r->prior_weight, cnt(x, r->u_pairs));
    for (size_t i = 0; ok && i < r->n_warn; i++)
        ok = warning(b, r->warn[i]);
    for (size_t p = 0; ok && p < r->n_pass; p++)
        if (!r->pass[p].converged) {
            char msg[400];
            snprintf(msg, sizeof msg, "EM did not converge for training rule '%s' in %llu "
                                      "iterations: its m estimates may be poor.",
                     r->pass[p].rule, (unsigned long long)r->pass[p].iterations);
            ok = warning(b, msg);
        }
    for (size_t c = 0; ok && c < r->n_comp; c++)
        for (size_t v = 0; ok && v < r->comp[c].n; v++) {
            const rp_level *l = &r->comp[c].lv[v];
            char msg[400];
            if (l->u_count == 0) {
                snprintf(msg, sizeof msg, "level '%s' of comparison '%s' was never observed "
                                          "among the random pairs: its u is a guess.",
                         l->label, r->comp[c].name);
                ok = warning(b, msg);
            }
            if (ok && level_unseen_m(l) && !r->comp[c].m_fixed) {
                snprintf(msg, sizeof msg, "level '%s' of comparison '%s' was never observed "
                                          "among the matches in training: its m is at the "
                                          "floor (%g).",
                         l->label, r->comp[c].name, M_FLOOR);
                ok = warning(b, msg);
            }
        }
    /* The match-weights chart: the prior, then every level, as Splink draws it. */
    size_t nb = 1;
    for (size_t c = 0; c < r->n_comp; c++)
        nb += r->comp[c].n;
    dl_svg_hbar *bars = calloc(nb, sizeof *bars);
    char (*notes)[64] = calloc(nb, sizeof *notes);
    if (!bars || !notes) {
        free(bars);
        free(notes);
        return false;
    }
    bars[0] = (dl_svg_hbar){"prior", "log2(lambda/(1-lambda))", r->prior_weight, NULL};
    snprintf(notes[0], sizeof notes[0], "%.2f (lambda %.3g)", r->prior_weight, r->lambda);
    bars[0].note = notes[0];
    size_t k = 1;
    for (size_t c = 0; c < r->n_comp; c++)
        for (size_t v = 0; v < r->comp[c].n; v++, k++) {
            const rp_level *l = &r->comp[c].lv[v];
            snprintf(notes[k], sizeof notes[k], "%.2f  (m %.3g, u %.3g)", l->w, l->m, l->u);
            bars[k] = (dl_svg_hbar){r->comp[c].name, l->label, l->w, notes[k]};
        }
    dl_svg_frame f = {"Match weight of each comparison level",
                      "match weight (log2 of the Bayes factor m/u)", NULL,
                      "positive: evidence for a match", "negative: evidence against"};
    ok = ok && dl_buf_puts(b, "<h3>Match weights</h3>\n<div class=\"fig\">\n") &&
         dl__svg_hbars(b, &f, bars, nb);
    free(bars);
    free(notes);
    ok = ok && dl_buf_puts(b, "<table>\n<tr><th>comparison</th><th>level</th><th>m</th>"
                              "<th>u</th><th>Bayes factor m/u</th><th>match weight</th>"
                              "<th>random pairs at level</th></tr>\n");
    for (size_t c = 0; ok && c < r->n_comp; c++)
        for (size_t v = 0; ok && v < r->comp[c].n; v++) {
            const rp_level *l = &r->comp[c].lv[v];
            char m[32], u[32], bf[32], w[32];
            snprintf(m, sizeof m, "%.4g", l->m);
            snprintf(u, sizeof u, "%.4g", l->u);
            snprintf(bf, sizeof bf, "%.4g", l->bf);
            snprintf(w, sizeof w, "%.3f", l->w);
            ok = dl_buf_puts(b, "<tr>") && td(b, v == 0 ? r->comp[c].name : "") &&
                 td(b, l->label) && tdn(b, m) && tdn(b, u) && tdn(b, bf) && tdn(b, w) &&
                 tdn(b, cnt(x, l->u_count)) && dl_buf_puts(b, "</tr>\n");
        }
    ok = ok && dl_buf_puts(b, "</table>\n</div>\n<p class=\"note\">A null (missing on either "
                              "side) adds nothing. m is fixed (not trained) for comparisons "
                              "every training rule uses.</p>\n");
    /* EM trace. */
    dl_svg_series *ser = calloc(r->n_pass ? r->n_pass : 1, sizeof *ser);
    double **xs = calloc(r->n_pass ? r->n_pass : 1, sizeof *xs);
    uint64_t maxit = 0;
    bool mem = ser && xs;
    for (size_t p = 0; mem && p < r->n_pass; p++) {
        const rp_pass *ps = &r->pass[p];
        maxit = ps->iterations > maxit ? ps->iterations : maxit;
        if (!(xs[p] = malloc((ps->iterations ? ps->iterations : 1) * sizeof(double))))
            mem = false;
        for (uint64_t i = 0; mem && i < ps->iterations; i++)
            xs[p][i] = (double)(i + 1);
        if (mem)
            ser[p] = (dl_svg_series){ps->rule, (size_t)ps->iterations, xs[p], ps->trace};
    }
    dl_svg_lines ln = {r->n_pass, ser, true, 1, (double)(maxit > 1 ? maxit : 2), 0, 0, NULL, 0};
    dl_svg_frame ft = {"EM trace: largest change per iteration, one line per training rule",
                       "EM iteration", "largest change in m or lambda (log scale)", NULL, NULL};
    ok = ok && mem && dl_buf_puts(b, "<h3>EM training</h3>\n<div class=\"fig\">\n") &&
         (r->n_pass == 0 ? dl_buf_puts(b, "<p>No EM passes: the model was loaded, not "
                                          "trained.</p>\n")
                         : dl__svg_lines(b, &ft, &ln));
    for (size_t p = 0; xs && p < r->n_pass; p++)
        free(xs[p]);
    free(xs);
    free(ser);
    ok = ok && dl_buf_puts(b, "<table>\n<tr><th>training rule</th><th>pairs</th>"
                              "<th>iterations</th><th>converged</th><th>&#955; in its pairs</th>"
                              "<th>last change</th></tr>\n");
    for (size_t p = 0; ok && p < r->n_pass; p++) {
        const rp_pass *ps = &r->pass[p];
        char it[32], lam[32], last[32];
        snprintf(it, sizeof it, "%llu", (unsigned long long)ps->iterations);
        snprintf(lam, sizeof lam, "%.4g", ps->lambda);
        snprintf(last, sizeof last, "%.3g", ps->iterations ? ps->trace[ps->iterations - 1] : 0);
        ok = dl_buf_puts(b, "<tr><td><code>") && esc(b, ps->rule) &&
             dl_buf_puts(b, "</code></td>") && tdn(b, cnt(x, ps->pairs)) && tdn(b, it) &&
             td(b, ps->converged ? "yes" : "NO") && tdn(b, lam) && tdn(b, last) &&
             dl_buf_puts(b, "</tr>\n");
    }
    ok = ok && dl_buf_puts(b, "</table>\n</div>\n");
    /* The whole trace, iteration by pass. */
    if (ok && r->n_pass) {
        ok = dl_buf_puts(b, "<div class=\"scroll\"><table>\n<tr><th>iteration</th>");
        for (size_t p = 0; ok && p < r->n_pass; p++)
            ok = dl_buf_puts(b, "<th><code>") && esc(b, r->pass[p].rule) &&
                 dl_buf_puts(b, "</code></th>");
        ok = ok && dl_buf_puts(b, "</tr>\n");
        for (uint64_t i = 0; ok && i < maxit; i++) {
            snprintf(y, sizeof y, "%llu", (unsigned long long)(i + 1));
            ok = dl_buf_puts(b, "<tr>") && tdn(b, y);
            for (size_t p = 0; ok && p < r->n_pass; p++) {
                if (i < r->pass[p].iterations)
                    snprintf(x, sizeof x, "%.3g", r->pass[p].trace[i]);
                else
                    x[0] = '\0';
                ok = tdn(b, x);
            }
            ok = ok && dl_buf_puts(b, "</tr>\n");
        }
        ok = ok && dl_buf_puts(b, "</table></div>\n");
    }
    return ok && dl_buf_puts(b, "</section>\n");
}

static bool html_scores(const dl_report *r, dl_buf *b)
{
    char x[32], y[32], z[32], lab[2][96];
    size_t lo, hi;
    hist_range(r, &lo, &hi);
    bool ok = dl_buf_puts(b, "<section id=\"scores\">\n<h2>3. Scores</h2>\n");
    double wm = weight_of(r->t_match), wr = weight_of(r->t_review);
    snprintf(lab[0], sizeof lab[0], "match threshold p %g (w %.2f)", r->t_match, wm);
    snprintf(lab[1], sizeof lab[1], "review threshold p %g (w %.2f)", r->t_review, wr);
    dl_svg_marker mk[2] = {{wm, lab[0]}, {wr, lab[1]}};
    size_t nbins = lo <= hi && lo < r->h_n ? hi - lo + 1 : 0;
    double *counts = calloc(nbins ? nbins : 1, sizeof *counts);
    if (!counts)
        return false;
    for (size_t i = 0; i < nbins; i++)
        counts[i] = (double)r->h_counts[lo + i];
    dl_svg_histogram h = {r->h_min + (double)lo * r->h_step, r->h_step, nbins, counts, true,
                          mk, r->t_review < r->t_match ? 2 : 1};
    dl_svg_frame f = {"Match weights of the scored pairs",
                      "match weight (log2 odds; probability = 2^w / (1 + 2^w))",
                      "pairs (log scale)", NULL, NULL};
    ok = ok && dl_buf_puts(b, "<div class=\"fig\">\n") && dl__svg_histogram(b, &f, &h);
    free(counts);
    ok = ok && dl_buf_puts(b, "<div class=\"scroll\"><table>\n<tr><th>weight from</th>"
                              "<th>to (excl.)</th><th>pairs</th></tr>\n");
    snprintf(y, sizeof y, "%g", r->h_min);
    ok = ok && dl_buf_puts(b, "<tr><td>below</td>") && tdn(b, y) &&
         tdn(b, cnt(x, r->h_below)) && dl_buf_puts(b, "</tr>\n");
    for (size_t i = 0; ok && i < r->h_n; i++) {
        if (!r->h_counts[i])
            continue;
        snprintf(y, sizeof y, "%g", r->h_min + (double)i * r->h_step);
        snprintf(z, sizeof z, "%g", r->h_min + (double)(i + 1) * r->h_step);
        ok = dl_buf_puts(b, "<tr>") && tdn(b, y) && tdn(b, z) && tdn(b, cnt(x, r->h_counts[i])) &&
             dl_buf_puts(b, "</tr>\n");
    }
    snprintf(y, sizeof y, "%g", r->h_min + (double)r->h_n * r->h_step);
    ok = ok && dl_buf_puts(b, "<tr>") && tdn(b, y) && dl_buf_puts(b, "<td>and above</td>") &&
         tdn(b, cnt(x, r->h_above)) && dl_buf_puts(b, "</tr>\n</table></div>\n</div>\n");
    ok = ok && dl_buf_printf(b, "<p class=\"note\">%s pairs scored below %g and %s at %g or "
                                "above lie outside the chart; empty bins are not listed.</p>\n",
                             cnt(x, r->h_below), r->h_min, cnt(y, r->h_above),
                             r->h_min + (double)r->h_n * r->h_step);
    /* Share linked per dataset. */
    const char **labels = calloc(r->n_ds, sizeof *labels);
    double *share = calloc(r->n_ds, sizeof *share);
    if (!labels || !share) {
        free(labels);
        free(share);
        return false;
    }
    for (size_t i = 0; i < r->n_ds; i++) {
        labels[i] = r->ds[i].name;
        share[i] = r->ds[i].records ? (double)r->ds[i].linked / (double)r->ds[i].records : 0;
    }
    dl_svg_columns col = {r->n_ds, labels, share, false, 3, 1};
    dl_svg_frame fs = {"Share of records linked, per dataset", "dataset",
                       "share of records in a cluster of two or more", NULL, NULL};
    ok = ok && dl_buf_puts(b, "<h3>Records linked</h3>\n<div class=\"fig\">\n") &&
         dl__svg_columns(b, &fs, &col);
    free(labels);
    free(share);
    ok = ok && dl_buf_puts(b, "<table>\n<tr><th>dataset</th><th>records</th><th>linked</th>"
                              "<th>share</th></tr>\n");
    for (size_t i = 0; ok && i < r->n_ds; i++) {
        const rp_dataset *d = &r->ds[i];
        ok = dl_buf_puts(b, "<tr>") && td(b, d->name) && tdn(b, cnt(x, d->records)) &&
             tdn(b, cnt(y, d->linked)) &&
             tdn(b, pct(z, d->records ? (double)d->linked / (double)d->records : NAN)) &&
             dl_buf_puts(b, "</tr>\n");
    }
    return ok && dl_buf_puts(b, "</table>\n</div>\n</section>\n");
}

static bool html_examples(const dl_report *r, dl_buf *b)
{
    bool ok = dl_buf_puts(b, "<section id=\"examples\">\n<h2>4. Examples near the "
                             "thresholds</h2>\n<p>Pairs are identified by dataset and SLF "
                             "only. Each chart adds the weights term by term: the prior, then "
                             "each comparison's level.</p>\n");
    if (r->n_ex == 0)
        ok = ok && dl_buf_puts(b, "<p>No pairs at or above the review threshold.</p>\n");
    double wm = weight_of(r->t_match), wr = weight_of(r->t_review);
    char lab[2][64];
    snprintf(lab[0], sizeof lab[0], "match threshold (w %.2f)", wm);
    snprintf(lab[1], sizeof lab[1], "review threshold (w %.2f)", wr);
    dl_svg_marker mk[2] = {{wm, lab[0]}, {wr, lab[1]}};
    dl_svg_step steps[MAX_COMP + 1];
    char labels[MAX_COMP + 1][160];
    for (size_t i = 0; ok && i < r->n_ex; i++) {
        const rp_pair *p = &r->ex[i];
        size_t n = 0;
        for (size_t c = 0; c < r->n_comp; c++, n++) {
            snprintf(labels[n], sizeof labels[n], "%s: %s", r->comp[c].name,
                     p->val[c] ? r->comp[c].lv[p->val[c] - 1].label : "null");
            steps[n] = (dl_svg_step){labels[n], contribution(r, c, p->val[c]), NULL};
        }
        double tf = tf_adjustment(r, p);
        if (tf != 0)
            steps[n++] = (dl_svg_step){"term-frequency adjustment", tf, NULL};
        char title[200];
        snprintf(title, sizeof title, "Pair %zu, %s: weight %.2f, probability %.4f", i + 1,
                 p->near, p->w, p->p);
        dl_svg_waterfall wf = {"prior", r->prior_weight, n, steps, "match weight", mk,
                               r->t_review < r->t_match ? 2 : 1};
        dl_svg_frame f = {title, "match weight (log2 odds)", NULL, "raises the weight",
                          "lowers the weight"};
        ok = dl_buf_printf(b, "<h3>Pair %zu: %s</h3>\n<p><span class=\"slf\">", i + 1, p->near) &&
             esc(b, p->da) && dl_buf_puts(b, " ") && esc(b, p->sa) &&
             dl_buf_puts(b, "</span> and <span class=\"slf\">") && esc(b, p->db) &&
             dl_buf_puts(b, " ") && esc(b, p->sb) &&
             dl_buf_puts(b, "</span>, pattern <code>") && esc(b, p->pattern) &&
             dl_buf_puts(b, "</code></p>\n<div class=\"fig\">\n") && dl__svg_waterfall(b, &f, &wf) &&
             dl_buf_puts(b, "<table>\n<tr><th>term</th><th>level</th><th>weight</th>"
                            "<th>running total</th></tr>\n");
        double run = r->prior_weight;
        char w[32], t[32];
        snprintf(w, sizeof w, "%.3f", run);
        ok = ok && dl_buf_puts(b, "<tr><td>prior</td><td></td>") && tdn(b, w) && tdn(b, w) &&
             dl_buf_puts(b, "</tr>\n");
        for (size_t c = 0; ok && c < r->n_comp; c++) {
            double d = contribution(r, c, p->val[c]);
            run += d;
            snprintf(w, sizeof w, "%+.3f", d);
            snprintf(t, sizeof t, "%.3f", run);
            ok = dl_buf_puts(b, "<tr>") && td(b, r->comp[c].name) &&
                 td(b, p->val[c] ? r->comp[c].lv[p->val[c] - 1].label : "null") && tdn(b, w) &&
                 tdn(b, t) && dl_buf_puts(b, "</tr>\n");
        }
        if (ok && tf != 0) {
            run += tf;
            snprintf(w, sizeof w, "%+.3f", tf);
            snprintf(t, sizeof t, "%.3f", run);
            ok = dl_buf_puts(b, "<tr><td>term-frequency adjustment</td><td></td>") &&
                 tdn(b, w) && tdn(b, t) && dl_buf_puts(b, "</tr>\n");
        }
        snprintf(w, sizeof w, "%.3f", p->w);
        ok = ok && dl_buf_puts(b, "<tr><th>match weight</th><td></td><td></td>") && tdn(b, w) &&
             dl_buf_puts(b, "</tr>\n</table>\n</div>\n");
    }
    return ok && dl_buf_puts(b, "</section>\n");
}

static bool html_clusters(const dl_report *r, dl_buf *b)
{
    char x[32], y[32];
    bool ok = dl_buf_puts(b, "<section id=\"clusters\">\n<h2>5. Clusters</h2>\n");
    size_t ncol = r->n_sizes <= MAX_SIZE_COLS ? r->n_sizes : MAX_SIZE_COLS;
    char (*labs)[32] = calloc(ncol ? ncol : 1, sizeof *labs);
    const char **lp = calloc(ncol ? ncol : 1, sizeof *lp);
    double *vals = calloc(ncol ? ncol : 1, sizeof *vals);
    if (!labs || !lp || !vals) {
        free(labs);
        free(lp);
        free(vals);
        return false;
    }
    for (size_t i = 0; i < r->n_sizes; i++) {
        size_t k = i < ncol ? i : ncol - 1;
        if (i < ncol)
            snprintf(labs[k], sizeof labs[k], "%llu%s", (unsigned long long)r->size_val[i],
                     k == ncol - 1 && r->n_sizes > ncol ? "+" : "");
        lp[k] = labs[k];
        vals[k] += (double)r->size_count[i];
    }
    dl_svg_columns col = {ncol, lp, vals, true, 0, 0};
    dl_svg_frame f = {"Cluster sizes", "records in the cluster", "clusters (log scale)", NULL,
                      NULL};
    ok = ok && dl_buf_puts(b, "<div class=\"fig\">\n") && dl__svg_columns(b, &f, &col);
    free(labs);
    free(lp);
    free(vals);
    ok = ok && dl_buf_puts(b, "<div class=\"scroll\"><table>\n<tr><th>records in cluster</th>"
                              "<th>clusters</th></tr>\n");
    for (size_t i = 0; ok && i < r->n_sizes; i++)
        ok = dl_buf_puts(b, "<tr>") && tdn(b, cnt(x, r->size_val[i])) &&
             tdn(b, cnt(y, r->size_count[i])) && dl_buf_puts(b, "</tr>\n");
    ok = ok && dl_buf_puts(b, "</table></div>\n</div>\n");
    size_t flagged = 0;
    for (size_t t = 0; t < r->n_top; t++)
        flagged += r->top[t].flagged;
    ok = ok && dl_buf_printf(b, "<h3>The largest clusters</h3>\n<p>Flagged (bold, "
                                "&#8220;yes&#8221;): more than %llu records (twice the number "
                                "of datasets)%s. A person seldom has more records than that; "
                                "large clusters are a sign of over-linking, often a chain of "
                                "links through a common name or a shared placeholder value.</p>\n",
                             (unsigned long long)r->flag_limit,
                             !strcmp(r->link_type, "link")
                                 ? ", or two records of one dataset (link type 'link' expects "
                                   "each person once per dataset)"
                                 : "");
    if (ok && flagged) {
        char msg[200];
        snprintf(msg, sizeof msg, "%zu of the %zu largest clusters are flagged as possibly "
                                  "over-linked.", flagged, r->n_top);
        ok = warning(b, msg);
    }
    ok = ok && dl_buf_puts(b, "<table>\n<tr><th>ALF</th><th>records</th>");
    for (size_t d = 0; ok && d < r->n_ds; d++)
        ok = dl_buf_puts(b, "<th>") && esc(b, r->ds[d].name) && dl_buf_puts(b, "</th>");
    ok = ok && dl_buf_puts(b, "<th>flagged</th></tr>\n");
    for (size_t t = 0; ok && t < r->n_top; t++) {
        const rp_top *tp = &r->top[t];
        ok = dl_buf_printf(b, "<tr%s><td class=\"slf\">%llu</td>", tp->flagged ? " class=\"flag\"" : "",
                           (unsigned long long)tp->alf) &&
             tdn(b, cnt(x, tp->size));
        for (size_t d = 0; ok && d < r->n_ds; d++)
            ok = tdn(b, cnt(x, tp->per_ds[d]));
        ok = ok && td(b, !tp->flagged ? "no"
                         : is_flag_reason_oversize(r, tp) ? "yes: large"
                                                          : "yes: two records of one dataset") &&
             dl_buf_puts(b, "</tr>\n");
    }
    return ok && dl_buf_puts(b, "</table>\n</section>\n");
}

static bool html_quality(const dl_report *r, dl_buf *b)
{
    bool ok = dl_buf_puts(b, "<section id=\"quality\">\n<h2>6. Quality against truth</h2>\n");
    if (!r->eval)
        return ok && dl_buf_puts(b, "<p>Not computed: no ground truth was given (dolen report "
                                    "--truth TRUTH.csv --map NAME.slfmap.csv.gz ...).</p>\n"
                                    "</section>\n");
    const dl_eval_summary *s = dl_eval_summary_of(r->eval);
    char x[32], y[32], z[32], q[32];
    ok = ok && dl_buf_printf(b, "<p>%s records of %s persons; %s true pairs%s.</p>\n",
                             cnt(x, s->records), cnt(y, s->persons), cnt(z, s->true_pairs),
                             !strcmp(r->link_type, "link") ? " (across datasets)" : "");
    ok = ok && dl_buf_puts(b, "<table>\n<tr><th>measure</th><th>pairs</th><th>true positives"
                              "</th><th>false positives</th><th>false negatives</th>"
                              "<th>precision</th><th>recall</th><th>F1</th></tr>\n");
    const dl_eval_pairwise *ms[2] = {&s->links, &s->cluster_pairs};
    char head[2][96];
    snprintf(head[0], sizeof head[0], "links (probability >= %g)", r->t_match);
    snprintf(head[1], sizeof head[1], "pairs within clusters");
    for (int k = 0; ok && k < 2; k++) {
        char v[32], w[32], u[32];
        ok = dl_buf_puts(b, "<tr>") && td(b, head[k]) && tdn(b, cnt(x, ms[k]->pairs)) &&
             tdn(b, cnt(y, ms[k]->tp)) && tdn(b, cnt(z, ms[k]->fp)) &&
             tdn(b, cnt(q, ms[k]->fn)) && tdn(b, ratio(v, ms[k]->precision)) &&
             tdn(b, ratio(w, ms[k]->recall)) && tdn(b, ratio(u, ms[k]->f1)) &&
             dl_buf_puts(b, "</tr>\n");
    }
    ok = ok && dl_buf_puts(b, "<tr><td>B-cubed (per record)</td><td></td><td></td><td></td>"
                              "<td></td>") &&
         tdn(b, ratio(x, s->bcubed_precision)) && tdn(b, ratio(y, s->bcubed_recall)) &&
         tdn(b, ratio(z, s->bcubed_f1)) && dl_buf_puts(b, "</tr>\n</table>\n");
    ok = ok && dl_buf_printf(b, "<p>Of the false negatives, %s are in the review file and %s "
                                "were never scored above the review threshold (missed by "
                                "blocking or scored low).</p>\n",
                             cnt(x, s->fn_review), cnt(y, s->fn_unscored));
    size_t n = dl_eval_n_thresholds(r->eval);
    double *px = calloc(n ? n : 1, sizeof *px), *py = calloc(n ? n : 1, sizeof *py);
    if (!px || !py) {
        free(px);
        free(py);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const dl_eval_threshold *t = dl_eval_threshold_at(r->eval, i);
        px[i] = t->m.recall;
        py[i] = t->m.precision;
    }
    char mlab[96];
    snprintf(mlab, sizeof mlab, "recall at the match threshold (%.3f)", s->links.recall);
    dl_svg_marker mk = {s->links.recall, mlab};
    dl_svg_series se = {"pairs at or above each probability threshold", n, px, py};
    /* Axes fitted to the data: a good linkage lives in the top right corner,
     * where a 0..1 square would squash the curve into a dot. */
    dl_svg_lines ln = {1, &se, false, 0, 0, 0, 0, &mk, isfinite(s->links.recall) ? 1 : 0};
    dl_svg_frame f = {"Precision and recall across probability thresholds", "recall",
                      "precision", NULL, NULL};
    ok = ok && dl_buf_puts(b, "<div class=\"fig\">\n") && dl__svg_lines(b, &f, &ln);
    free(px);
    free(py);
    ok = ok && dl_buf_puts(b, "<table>\n<tr><th>threshold</th><th>pairs</th><th>precision</th>"
                              "<th>recall</th><th>F1</th></tr>\n");
    for (size_t i = 0; ok && i < n; i++) {
        const dl_eval_threshold *t = dl_eval_threshold_at(r->eval, i);
        char th[32], v[32];
        snprintf(th, sizeof th, "%g%s", t->threshold, t->complete ? "" : " *");
        ok = dl_buf_puts(b, "<tr>") && tdn(b, th) && tdn(b, cnt(x, t->m.pairs)) &&
             tdn(b, ratio(y, t->m.precision)) && tdn(b, ratio(z, t->m.recall)) &&
             tdn(b, ratio(v, t->m.f1)) && dl_buf_puts(b, "</tr>\n");
    }
    return ok && dl_buf_puts(b, "</table>\n</div>\n<p class=\"note\">* below the review "
                                "threshold: pairs scored lower were not written, so these rows "
                                "undercount.</p>\n</section>\n");
}

static bool html_data_quality(const dl_report *r, dl_buf *b)
{
    bool ok = dl_buf_puts(b, "<section id=\"data\">\n<h2>7. Data quality</h2>\n<p>From the "
                             "manifests prepare wrote: a value is usable when present, not a "
                             "placeholder and valid for its type.</p>\n");
    size_t nb = 0;
    for (size_t i = 0; i < r->n_ds; i++)
        nb += r->ds[i].n_fields;
    dl_svg_hbar *bars = calloc(nb ? nb : 1, sizeof *bars);
    char (*notes)[64] = calloc(nb ? nb : 1, sizeof *notes);
    if (!bars || !notes) {
        free(bars);
        free(notes);
        return false;
    }
    size_t k = 0;
    for (size_t i = 0; i < r->n_ds; i++)
        for (size_t j = 0; j < r->ds[i].n_fields; j++, k++) {
            const rp_field *f = &r->ds[i].fields[j];
            snprintf(notes[k], sizeof notes[k], "%.1f%%", 100 * f->completeness);
            bars[k] = (dl_svg_hbar){r->ds[i].name, f->name, f->completeness, notes[k]};
        }
    dl_svg_frame f = {"Completeness per field and dataset",
                      "completeness (share of rows with a usable value)", NULL, NULL, NULL};
    if (nb)
        ok = ok && dl_buf_puts(b, "<div class=\"fig\">\n") && dl__svg_hbars(b, &f, bars, nb);
    free(bars);
    free(notes);
    ok = ok && dl_buf_puts(b, (nb ? "" : "<div class=\"fig\">\n")) &&
         dl_buf_puts(b, "<table>\n<tr><th>dataset</th><th>field</th><th>column</th><th>type</th>"
                        "<th>usable</th><th>missing</th><th>placeholder</th><th>invalid</th>"
                        "<th>invalid by reason</th><th>completeness</th></tr>\n");
    char x[32], y[32], z[32], q[32], c[32];
    for (size_t i = 0; ok && i < r->n_ds; i++) {
        const rp_dataset *d = &r->ds[i];
        if (!d->n_fields)
            ok = dl_buf_puts(b, "<tr>") && td(b, d->name) &&
                 dl_buf_puts(b, "<td colspan=\"9\">no profile in its manifest</td></tr>\n");
        for (size_t j = 0; ok && j < d->n_fields; j++) {
            const rp_field *fl = &d->fields[j];
            ok = dl_buf_puts(b, "<tr>") && td(b, j == 0 ? d->name : "") && td(b, fl->name) &&
                 td(b, fl->column ? fl->column : "(none)") && td(b, fl->type) && tdn(b, cnt(x, fl->usable)) &&
                 tdn(b, cnt(y, fl->missing)) && tdn(b, cnt(z, fl->placeholder)) &&
                 tdn(b, cnt(q, fl->invalid)) && dl_buf_puts(b, "<td>");
            for (size_t s = 0; ok && s < fl->n_reasons; s++)
                ok = esc(b, fl->reasons[s].name) &&
                     dl_buf_printf(b, " %s%s", cnt(x, fl->reasons[s].n),
                                   s + 1 < fl->n_reasons ? "; " : "");
            ok = ok && dl_buf_puts(b, "</td>") && tdn(b, pct(c, fl->completeness)) &&
                 dl_buf_puts(b, "</tr>\n");
        }
    }
    ok = ok && dl_buf_puts(b, "</table>\n</div>\n<h3>Rows per dataset</h3>\n<table>\n<tr>"
                              "<th>dataset</th><th>rows read</th><th>written</th>"
                              "<th>rejected</th><th>manifest</th></tr>\n");
    for (size_t i = 0; ok && i < r->n_ds; i++) {
        const rp_dataset *d = &r->ds[i];
        ok = dl_buf_puts(b, "<tr>") && td(b, d->name) &&
             tdn(b, d->has_acc ? cnt(x, d->rows_read) : "") &&
             tdn(b, d->has_acc ? cnt(y, d->rows_written) : "") &&
             tdn(b, d->has_acc ? cnt(z, d->rows_rejected) : "") &&
             dl_buf_puts(b, "<td><code>") && esc(b, d->manifest ? d->manifest : "") &&
             dl_buf_puts(b, "</code></td></tr>\n");
    }
    return ok && dl_buf_puts(b, "</table>\n</section>\n");
}

dl_status dl_report_html(const dl_report *r, dl_buf *b, dl_error *err)
{
    bool ok = dl_buf_puts(b, "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" "
                             "lang=\"en\">\n<head>\n<meta charset=\"utf-8\"/>\n"
                             "<meta name=\"generator\" content=\"dolen " DL_VERSION "\"/>\n"
                             "<title>dolen linkage report</title>\n<style>\n") &&
              dl_buf_puts(b, CSS) &&
              dl_buf_puts(b, "</style>\n</head>\n<body>\n<h1>Linkage quality report</h1>\n"
                             "<p class=\"note\">Written by dolen " DL_VERSION " from the link "
                             "folder <code>") &&
              esc(b, r->linkdir) &&
              dl_buf_puts(b, "</code>. Every number here is also in the JSON file beside this "
                             "page. Records are identified by SLF and clusters by ALF only.</p>\n"
                             "<nav><ol><li><a href=\"#summary\">Summary</a></li>"
                             "<li><a href=\"#model\">Model</a></li>"
                             "<li><a href=\"#scores\">Scores</a></li>"
                             "<li><a href=\"#examples\">Examples near the thresholds</a></li>"
                             "<li><a href=\"#clusters\">Clusters</a></li>"
                             "<li><a href=\"#quality\">Quality against truth</a></li>"
                             "<li><a href=\"#data\">Data quality</a></li></ol></nav>\n") &&
              html_summary(r, b) && html_model(r, b) && html_scores(r, b) &&
              html_examples(r, b) && html_clusters(r, b) && html_quality(r, b) &&
              html_data_quality(r, b) && dl_buf_puts(b, "</body>\n</html>\n");
    return ok ? DL_OK : nomem(err);
}

/* ---- writing ------------------------------------------------------------------------ */

bool dl_report_json_path(const char *html_path, char *out, size_t size)
{
    size_t n = strlen(html_path);
    const char *ext = NULL;
    if (n > 5 && !strcmp(html_path + n - 5, ".html"))
        ext = html_path + n - 5;
    else if (n > 4 && !strcmp(html_path + n - 4, ".htm"))
        ext = html_path + n - 4;
    size_t stem = ext ? (size_t)(ext - html_path) : n;
    return (size_t)snprintf(out, size, "%.*s.json", (int)stem, html_path) < size;
}

dl_status dl_report_write(const dl_report *r, const char *html_path, const char *json_path,
                          dl_error *err)
{
    char jp[4096];
    if (!json_path) {
        if (!dl_report_json_path(html_path, jp, sizeof jp))
            return dl_error_set(err, DL_EUSAGE, html_path, 0, 0, "output path too long");
        json_path = jp;
    }
    if (!strcmp(json_path, html_path))
        return dl_error_set(err, DL_EUSAGE, html_path, 0, 0,
                            "the page and its JSON twin would be the same file (expected a "
                            "path ending in .html)");
    dl_buf html = DL_BUF_INIT, json = DL_BUF_INIT;
    dl_outfile *fh = NULL, *fj = NULL;
    dl_status st = dl_report_html(r, &html, err);
    if (st == DL_OK)
        st = dl_report_json(r, &json, err);
    if (st == DL_OK)
        st = dl_outfile_create(json_path, 0644, &fj, err);
    if (st == DL_OK)
        st = dl_outfile_create(html_path, 0644, &fh, err);
    if (st == DL_OK)
        st = dl_outfile_write(fj, json.data, json.len, err);
    if (st == DL_OK)
        st = dl_outfile_write(fh, html.data, html.len, err);
    dl_buf_free(&html);
    dl_buf_free(&json);
    if (st != DL_OK) {
        dl_outfile_abort(fh);
        dl_outfile_abort(fj);
        return st;
    }
    st = dl_outfile_commit(fj, NULL, err);
    if (st != DL_OK) {
        dl_outfile_abort(fh);
        return st;
    }
    st = dl_outfile_commit(fh, NULL, err);
    if (st != DL_OK)
        unlink(json_path); /* never a twin without its page */
    return st;
}
