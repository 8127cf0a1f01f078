/* spec_link.c: the linkage sections of a spec: comparisons and their levels,
 * blocking and training rules, thresholds and clustering. Part of config/;
 * spec_load.c calls these once the fields are read, so every feature a level
 * or rule names is checked against what the fields declare. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/spec_parse.h"
#include "dolen/suggest.h"

#define MAX_COMPARISONS 64
#define MAX_RULES 64

static dl_status get_feature_ref(spec_ctx *c, const ynode *n, const char *key,
                                 dl_feature_ref *out)
{
    if (n->kind != YN_SCALAR || dl__y_is_null(n))
        return dl__y_fail(c, n, "expected a feature FIELD.FEATURE for '%s', found %s", key,
                          dl__y_describe(n));
    char sh[48];
    const char *dot = strchr(n->s, '.');
    if (!dot || strchr(dot + 1, '.') || dot == n->s || !dot[1])
        return dl__y_fail(c, n, "expected a feature FIELD.FEATURE for '%s', found '%s'",
                          key, dl__y_show(n, sh));
    char fname[SPEC_MAX_NAME + 1];
    size_t fl = (size_t)(dot - n->s);
    if (fl > SPEC_MAX_NAME)
        fl = SPEC_MAX_NAME;
    memcpy(fname, n->s, fl);
    fname[fl] = '\0';
    int fi = dl__spec_find_field(c->spec, fname);
    if (fi < 0) {
        char in[80];
        snprintf(in, sizeof in, " in '%s'", dl__y_show(n, sh));
        return dl__spec_unknown_field(c, n, fname, in);
    }
    const dl_spec_field *f = &c->spec->fields[fi];
    const char *feat = dot + 1;
    dl_feature_kind k;
    if (!dl_feature_parse(feat, &k) || !dl__spec_has_feature(f, k)) {
        const char *declared[DL_SPEC_MAX_FEATURES];
        char list[160];
        size_t o = 0;
        list[0] = '\0';
        for (size_t i = 0; i < f->n_features; i++) {
            declared[i] = dl_feature_name(f->features[i]);
            if (o < sizeof list) {
                int w =
                    snprintf(list + o, sizeof list - o, "%s%s", i ? ", " : "", declared[i]);
                if (w > 0)
                    o += (size_t)w;
            }
        }
        const char *near = dl_suggest(feat, declared, f->n_features);
        if (near)
            return dl__y_fail(c, n,
                              "field '%s' has no feature '%.32s' (did you mean '%s.%s'?)",
                              f->name, feat, f->name, near);
        return dl__y_fail(c, n, "field '%s' has no feature '%.32s' (it declares: %s)",
                          f->name, feat, list);
    }
    out->field = (uint16_t)fi;
    out->kind = k;
    return DL_OK;
}

static const char *ref_str(const dl_spec *s, dl_feature_ref r, char *buf, size_t size)
{
    snprintf(buf, size, "%s.%s", s->fields[r.field].name, dl_feature_name(r.kind));
    return buf;
}

/* reversed: [A, B]: two token features of different fields whose tokens
 * share a subkey (token_key), or the crosswise test could never agree. */
static dl_status parse_reversed(spec_ctx *c, const ynode *l, dl_spec_level *lv)
{
    const dl_spec *s = c->spec;
    char r1[80];
    dl_status st = dl__y_expect_list(c, l, "token features to reverse", 2, 2);
    if (st)
        return st;
    const ynode *it = l->first;
    for (size_t t = 0; t < 2; t++, it = it->next) {
        if ((st = get_feature_ref(c, it, "reversed", &lv->terms[t])))
            return st;
        const dl_spec_field *f = &s->fields[lv->terms[t].field];
        if (lv->terms[t].kind != DL_FEAT_TOKEN)
            return dl__y_fail(c, it, "reversed compares tokens; '%s' is not a token feature",
                              ref_str(s, lv->terms[t], r1, sizeof r1));
        if (!f->token_key)
            return dl__y_fail(c, it,
                              "reversed needs fields whose tokens share a key: give %s "
                              "and the other field the same token_key",
                              f->name);
    }
    const dl_spec_field *a = &s->fields[lv->terms[0].field];
    const dl_spec_field *b = &s->fields[lv->terms[1].field];
    if (a == b)
        return dl__y_fail(c, l, "reversed needs two different fields (found %s twice)",
                          a->name);
    if (strcmp(a->token_key, b->token_key) != 0)
        return dl__y_fail(c, l,
                          "reversed needs fields with one token_key (%s has '%s', %s has "
                          "'%s')",
                          a->name, a->token_key, b->name, b->token_key);
    lv->n_terms = 2;
    return DL_OK;
}

static dl_status parse_level(spec_ctx *c, const ynode *m, dl_spec_level *lv)
{
    /* The first four in dl_level_kind order. */
    static const char *const keys[] = {"exact", "dice", "count", "reversed", "min", "label"};
    enum { L_MIN = 4, L_LABEL = 5 };
    const ynode *v[6], *kn[6];
    dl_status st = dl__y_check_map(c, m, "a comparison level", keys, 6, v, kn);
    if (st)
        return st;
    int kind = -1;
    for (int i = 0; i < L_MIN; i++) {
        if (!v[i])
            continue;
        if (kind >= 0)
            return dl__y_fail(c, kn[i],
                              "a level takes one of exact, dice, count or reversed; found "
                              "'%s' and '%s'",
                              keys[kind], keys[i]);
        kind = i;
    }
    if (kind < 0)
        return dl__y_fail(c, m, "a level needs one of exact, dice, count or reversed");
    lv->kind = (dl_level_kind)kind;
    const dl_spec *s = c->spec;
    char buf[192], r1[80];
    if (kind == DL_LV_EXACT) {
        if (v[L_MIN])
            return dl__y_fail(c, kn[L_MIN],
                              "'min' applies to dice and count levels, not exact");
        if ((st = get_feature_ref(c, v[0], "exact", &lv->terms[0])))
            return st;
        /* Filters of a person's two records rarely agree bit for bit; the
         * comparator has no exact test for them: refuse it here, not at link. */
        if (lv->terms[0].kind == DL_FEAT_BLOOM)
            return dl__y_fail(c, v[0],
                              "exact compares tokens; '%s' is a Bloom filter (use dice)",
                              ref_str(s, lv->terms[0], r1, sizeof r1));
        lv->n_terms = 1;
        snprintf(buf, sizeof buf, "exact %s", ref_str(s, lv->terms[0], r1, sizeof r1));
    } else if (kind == DL_LV_DICE) {
        if ((st = get_feature_ref(c, v[1], "dice", &lv->terms[0])))
            return st;
        ref_str(s, lv->terms[0], r1, sizeof r1);
        if (lv->terms[0].kind != DL_FEAT_BLOOM)
            return dl__y_fail(
                c, v[1], "dice compares Bloom filters; '%s' is not a bloom feature", r1);
        lv->n_terms = 1;
        if (!dl__y_present(v[L_MIN]))
            return v[L_MIN] ? dl__y_fail(c, v[L_MIN], "'min' has no value")
                        : dl__y_missing(c, m, "min", "a dice level");
        if ((st = dl__y_get_fraction(c, v[L_MIN], "min", true, &lv->min)))
            return st;
        snprintf(buf, sizeof buf, "dice %s >= %g", r1, lv->min);
    } else if (kind == DL_LV_REVERSED) {
        if ((st = parse_reversed(c, v[3], lv)))
            return st;
        if (v[L_MIN])
            return dl__y_fail(c, kn[L_MIN],
                              "'min' applies to dice and count levels, not reversed");
        char r2[80];
        snprintf(buf, sizeof buf, "%s and %s reversed",
                 ref_str(s, lv->terms[0], r1, sizeof r1),
                 ref_str(s, lv->terms[1], r2, sizeof r2));
    } else {
        const ynode *l = v[2];
        if ((st = dl__y_expect_list(c, l, "features to count", 2, DL_SPEC_MAX_COUNT_TERMS)))
            return st;
        for (const ynode *it = l->first; it; it = it->next) {
            dl_feature_ref r;
            if ((st = get_feature_ref(c, it, "count", &r)))
                return st;
            if (r.kind == DL_FEAT_BLOOM)
                return dl__y_fail(c, it,
                                  "count counts agreeing tokens; '%s' is a Bloom filter",
                                  ref_str(s, r, r1, sizeof r1));
            for (size_t j = 0; j < lv->n_terms; j++)
                if (lv->terms[j].field == r.field && lv->terms[j].kind == r.kind)
                    return dl__y_fail(c, it, "feature '%s' is counted twice",
                                      ref_str(s, r, r1, sizeof r1));
            lv->terms[lv->n_terms++] = r;
        }
        if (!dl__y_present(v[L_MIN]))
            return v[L_MIN] ? dl__y_fail(c, v[L_MIN], "'min' has no value")
                        : dl__y_missing(c, m, "min", "a count level");
        if ((st = dl__y_get_unsigned(c, v[L_MIN], "min", 1, (unsigned)lv->n_terms,
                                     &lv->min_count)))
            return st;
        int o = snprintf(buf, sizeof buf, "%u of ", lv->min_count);
        for (size_t j = 0; j < lv->n_terms && o > 0 && (size_t)o < sizeof buf; j++)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "%s%s", j ? "," : "",
                          ref_str(s, lv->terms[j], r1, sizeof r1));
    }
    if (dl__y_present(v[L_LABEL]))
        return dl__y_get_string(c, v[L_LABEL], "label", &lv->label);
    if (!(lv->label = dl_arena_strdup(c->arena, buf)))
        return dl__y_nomem(c);
    return DL_OK;
}

static dl_status parse_comparison(spec_ctx *c, const ynode *m, size_t idx)
{
    static const char *const keys[] = {"name", "levels", "null_if", "tf"};
    const ynode *v[4];
    dl_spec *s = c->spec;
    dl_spec_comparison *cmp = &s->comparisons[idx];
    char what[96];
    snprintf(what, sizeof what, "comparisons[%zu]", idx);
    dl_status st = dl__y_check_map(c, m, what, keys, 4, v, NULL);
    if (st)
        return st;
    cmp->line = m->line;
    cmp->col = m->col;
    if (!dl__y_present(v[0]))
        return v[0] ? dl__y_fail(c, v[0], "'name' has no value")
                    : dl__y_missing(c, m, "name", what);
    if ((st = dl__y_get_string(c, v[0], "name", &cmp->name)))
        return st;
    if (!dl__y_is_label_name(cmp->name))
        return dl__y_fail(c, v[0],
                          "comparison name must be 1 to %d letters, digits, '_', '.' or "
                          "'-'",
                          SPEC_MAX_NAME);
    for (size_t i = 0; i < idx; i++)
        if (strcmp(s->comparisons[i].name, cmp->name) == 0)
            return dl__y_fail(c, v[0], "duplicate comparison name '%s' (first at line %lu)",
                              cmp->name, (unsigned long)s->comparisons[i].line);
    snprintf(what, sizeof what, "comparison '%s'", cmp->name);
    if (!dl__y_present(v[1]))
        return v[1] ? dl__y_fail(c, v[1], "'levels' has no value")
                    : dl__y_missing(c, m, "levels", what);
    if ((st = dl__y_expect_list(c, v[1], "levels", 1, DL_SPEC_MAX_LEVELS)))
        return st;
    for (const ynode *it = v[1]->first; it; it = it->next) {
        if ((st = parse_level(c, it, &cmp->levels[cmp->n_levels])))
            return st;
        cmp->n_levels++;
    }
    cmp->null_if = cmp->levels[0].terms[0];
    if (dl__y_present(v[2]) && (st = get_feature_ref(c, v[2], "null_if", &cmp->null_if)))
        return st;
    if (dl__y_present(v[3])) {
        if ((st = get_feature_ref(c, v[3], "tf", &cmp->tf_feature)))
            return st;
        /* Term frequencies count values of one token; a filter or a set has
           no single value to count. */
        if (cmp->tf_feature.kind == DL_FEAT_BLOOM ||
            dl_feature_is_set(cmp->tf_feature.kind))
            return dl__y_fail(c, v[3],
                              "tf needs a single-token feature such as FIELD.token, not "
                              "'%s'",
                              dl_feature_name(cmp->tf_feature.kind));
        cmp->has_tf = true;
    }
    return DL_OK;
}

dl_status dl__spec_parse_comparisons(spec_ctx *c, const ynode *n)
{
    dl_spec *s = c->spec;
    dl_status st = dl__y_expect_list(c, n, "comparisons", 1, MAX_COMPARISONS);
    if (st)
        return st;
    s->comparisons = dl_arena_alloc(c->arena, n->n * sizeof *s->comparisons);
    if (!s->comparisons)
        return dl__y_nomem(c);
    memset(s->comparisons, 0, n->n * sizeof *s->comparisons);
    size_t i = 0;
    for (const ynode *it = n->first; it; it = it->next, i++) {
        if ((st = parse_comparison(c, it, i)))
            return st;
        s->n_comparisons = i + 1;
    }
    return DL_OK;
}

/* A list of rules, each a list of features (or one feature alone). Blocking
 * keys are exact values, so a Bloom filter (compared by similarity) cannot be
 * one. */
static dl_status parse_rules(spec_ctx *c, const ynode *n, const char *key,
                             dl_blocking_rule **out, size_t *nout)
{
    dl_status st = dl__y_expect_list(c, n, "blocking rules", 1, MAX_RULES);
    if (st)
        return st;
    dl_blocking_rule *rules = dl_arena_alloc(c->arena, n->n * sizeof *rules);
    if (!rules)
        return dl__y_nomem(c);
    memset(rules, 0, n->n * sizeof *rules);
    size_t k = 0;
    char r1[80];
    for (const ynode *it = n->first; it; it = it->next, k++) {
        dl_blocking_rule *r = &rules[k];
        const ynode *single = it->kind == YN_SCALAR ? it : NULL;
        if (!single && (st = dl__y_expect_list(c, it, "features in a rule", 1,
                                               DL_SPEC_MAX_RULE_TERMS)))
            return st;
        for (const ynode *t = single ? single : it->first; t; t = single ? NULL : t->next) {
            dl_feature_ref ref;
            if ((st = get_feature_ref(c, t, key, &ref)))
                return st;
            if (ref.kind == DL_FEAT_BLOOM)
                return dl__y_fail(c, t,
                                  "a blocking rule cannot use a bloom feature ('%s'); use "
                                  "an exact feature such as a token or phonetic code",
                                  ref_str(c->spec, ref, r1, sizeof r1));
            for (size_t j = 0; j < r->n_terms; j++)
                if (r->terms[j].field == ref.field && r->terms[j].kind == ref.kind)
                    return dl__y_fail(c, t, "feature '%s' appears twice in one rule",
                                      ref_str(c->spec, ref, r1, sizeof r1));
            r->terms[r->n_terms++] = ref;
        }
    }
    *out = rules;
    *nout = k;
    return DL_OK;
}

dl_status dl__spec_parse_blocking(spec_ctx *c, const ynode *m, const ynode *comparisons_key)
{
    static const char *const keys[] = {"rules", "max_block", "oversize"};
    const ynode *v[3];
    dl_spec *s = c->spec;
    dl_status st = dl__y_check_map(c, m, "blocking", keys, 3, v, NULL);
    if (st)
        return st;
    if (dl__y_present(v[0])) {
        if ((st = parse_rules(c, v[0], "rules", &s->rules, &s->n_rules)))
            return st;
    } else if (comparisons_key) {
        return v[0] ? dl__y_fail(c, v[0],
                                 "'rules' has no value (comparisons need blocking rules)")
                    : dl__y_missing(c, m, "rules", "blocking");
    }
    if (dl__y_present(v[1]) &&
        (st = dl__y_get_uint(c, v[1], "max_block", 2, UINT32_MAX, &s->max_block)))
        return st;
    if (dl__y_present(v[2])) {
        static const char *const names[] = {"skip", "cap"};
        int o;
        if ((st = dl__y_get_enum(c, v[2], "oversize", names, 2, &o)))
            return st;
        s->oversize = (dl_oversize)o;
    }
    return DL_OK;
}

dl_status dl__spec_parse_training(spec_ctx *c, const ynode *m)
{
    static const char *const keys[] = {"seed", "u_sample", "em_rules", "max_iterations",
                                       "tolerance"};
    const ynode *v[5];
    dl_spec *s = c->spec;
    dl_status st = dl__y_check_map(c, m, "training", keys, 5, v, NULL);
    if (st)
        return st;
    if (dl__y_present(v[0]) &&
        (st = dl__y_get_uint(c, v[0], "seed", 0, UINT64_MAX, &s->seed)))
        return st;
    if (dl__y_present(v[1]) && (st = dl__y_get_uint(c, v[1], "u_sample", 1,
                                                    UINT64_C(1000000000000), &s->u_sample)))
        return st;
    if (dl__y_present(v[2]) &&
        (st = parse_rules(c, v[2], "em_rules", &s->em_rules, &s->n_em_rules)))
        return st;
    if (dl__y_present(v[3]) &&
        (st = dl__y_get_unsigned(c, v[3], "max_iterations", 1, 100000, &s->max_iterations)))
        return st;
    if (dl__y_present(v[4]) &&
        (st = dl__y_get_fraction(c, v[4], "tolerance", false, &s->tolerance)))
        return st;
    return DL_OK;
}

dl_status dl__spec_parse_thresholds(spec_ctx *c, const ynode *m)
{
    static const char *const keys[] = {"match", "review"};
    const ynode *v[2];
    dl_spec *s = c->spec;
    dl_status st = dl__y_check_map(c, m, "thresholds", keys, 2, v, NULL);
    if (st)
        return st;
    if (dl__y_present(v[0]) &&
        (st = dl__y_get_fraction(c, v[0], "match", false, &s->match_threshold)))
        return st;
    if (dl__y_present(v[1]) &&
        (st = dl__y_get_fraction(c, v[1], "review", false, &s->review_threshold)))
        return st;
    if (s->review_threshold > s->match_threshold)
        return dl__y_fail(
            c, dl__y_present(v[1]) ? v[1] : v[0],
            "review threshold %g is above match threshold %g (expected review <= "
            "match)",
            s->review_threshold, s->match_threshold);
    return DL_OK;
}

dl_status dl__spec_parse_clustering(spec_ctx *c, const ynode *m, const ynode **method_node,
                                    const ynode **spine_node)
{
    static const char *const keys[] = {"method", "spine"};
    const ynode *v[2];
    dl_spec *s = c->spec;
    dl_status st = dl__y_check_map(c, m, "clustering", keys, 2, v, NULL);
    if (st)
        return st;
    if (dl__y_present(v[0])) {
        static const char *const names[] = {"components", "one_to_one", "spine"};
        int o;
        if ((st = dl__y_get_enum(c, v[0], "clustering method", names, 3, &o)))
            return st;
        s->cluster = (dl_cluster_method)o;
        *method_node = v[0];
    }
    if (dl__y_present(v[1])) {
        if ((st = dl__y_get_string(c, v[1], "spine", &s->spine)))
            return st;
        if (!dl__y_is_label_name(s->spine))
            return dl__y_fail(c, v[1],
                              "spine must be a dataset name of 1 to %d letters, digits, "
                              "'_', '.' or '-'",
                              SPEC_MAX_NAME);
        *spine_node = v[1];
    }
    return DL_OK;
}
