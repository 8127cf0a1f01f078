/* spec_print.c: a normalised, human-readable summary of a loaded spec.
 * Part of config/; `dolen check` shows it so a user sees every default the
 * loader filled in, not only what the file says. */
#include <stdio.h>

#include "config/spec_internal.h"

static const char *yn(bool b)
{
    return b ? "yes" : "no";
}

static void print_ref(FILE *f, const dl_spec *s, dl_feature_ref r)
{
    fprintf(f, "%s.%s", s->fields[r.field].name, dl_feature_name(r.kind));
}

static void print_bloom(FILE *f, const dl_bloom_opts *o)
{
    fprintf(f, "q=%u bits=%u k=%u padded=%s salt=%s balance=%s xor_folds=%u", o->q, o->bits,
            o->k, yn(o->padded), o->salt_field ? o->salt_field : "none", yn(o->balance),
            o->xor_folds);
}

static void print_rules(FILE *f, const dl_spec *s, const dl_blocking_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "    %zu. ", i + 1);
        for (size_t j = 0; j < r[i].n_terms; j++) {
            if (j)
                fputs(" + ", f);
            print_ref(f, s, r[i].terms[j]);
        }
        fputc('\n', f);
    }
}

static void print_list(FILE *f, const char *const *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fprintf(f, "%s%s", i ? ", " : "", v[i]);
}

static const char *const link_names[] = {"dedupe", "link", "link_and_dedupe", "spine"};
static const char *const cluster_names[] = {"components", "one_to_one", "spine"};

void dl_spec_print(const dl_spec *s, void *file)
{
    FILE *f = file;
    char d1[11], d2[11];
    fprintf(f, "spec: %s (%s)\n", s->name, s->path);
    fprintf(f, "link type: %s\n", link_names[s->link_type]);
    fprintf(f, "input: record id column '%s', delimiter ", s->record_id);
    if (s->delimiter == '\t')
        fputs("tab", f);
    else
        fprintf(f, "'%c'", s->delimiter);
    fprintf(f, ", trim %s, max field %zu bytes\n", yn(s->trim), s->max_field_bytes);
    fputs("bloom defaults: ", f);
    print_bloom(f, &s->bloom);
    fputc('\n', f);

    fprintf(f, "fields (%zu):\n", s->n_fields);
    for (size_t i = 0; i < s->n_fields; i++) {
        const dl_spec_field *x = &s->fields[i];
        fprintf(f, "  %s: column %s%s%s, type %s%s\n", x->name, x->column ? "'" : "",
                x->column ? x->column : "none (absent in this dataset)", x->column ? "'" : "",
                dl_field_type_name(x->type), x->required ? ", required" : "");
        fputs("    features: ", f);
        bool bloom = false;
        for (size_t j = 0; j < x->n_features; j++) {
            fprintf(f, "%s%s", j ? ", " : "", dl_feature_name(x->features[j]));
            bloom |= x->features[j] == DL_FEAT_BLOOM;
        }
        fputc('\n', f);
        if (x->token_key)
            fprintf(f, "    token key: %s (shared)\n", x->token_key);
        if (bloom) {
            fputs("    bloom: ", f);
            print_bloom(f, &x->bloom);
            fputc('\n', f);
        }
        if (x->n_placeholders) {
            fputs("    placeholders: ", f);
            print_list(f, x->placeholders, x->n_placeholders);
            fputc('\n', f);
        }
        if (x->type == DL_FT_DATE) {
            fputs("    formats: ", f);
            print_list(f, x->formats, x->n_formats);
            fprintf(f, "; range %s to %s\n", dl__spec_date_str(x->min_date, d1),
                    dl__spec_date_str(x->max_date, d2));
        }
    }
    if (s->n_clk_fields) {
        fputs("clk: fields ", f);
        for (size_t j = 0; j < s->n_clk_fields; j++)
            fprintf(f, "%s%s", j ? ", " : "", s->fields[s->clk_fields[j]].name);
        fputs("; ", f);
        print_bloom(f, &s->clk);
        fputc('\n', f);
    } else {
        fputs("clk: none\n", f);
    }

    fputs("content: ", f);
    if (s->n_keep) {
        fputs("keep ", f);
        print_list(f, s->keep, s->n_keep);
    } else if (s->n_drop) {
        fputs("every other column except ", f);
        print_list(f, s->drop, s->n_drop);
    } else {
        fputs("every column that is not a field or the record id", f);
    }
    fputc('\n', f);
    if (s->derive_week_of_birth >= 0)
        fprintf(f, "  derive week_of_birth from %s\n",
                s->fields[s->derive_week_of_birth].name);
    if (s->derive_year_of_birth >= 0)
        fprintf(f, "  derive year_of_birth from %s\n",
                s->fields[s->derive_year_of_birth].name);
    if (s->derive_sex >= 0)
        fprintf(f, "  derive sex from %s\n", s->fields[s->derive_sex].name);

    fprintf(f, "comparisons (%zu):\n", s->n_comparisons);
    for (size_t i = 0; i < s->n_comparisons; i++) {
        const dl_spec_comparison *c = &s->comparisons[i];
        fprintf(f, "  %s: null if ", c->name);
        print_ref(f, s, c->null_if);
        fputs(" is missing", f);
        if (c->has_tf) {
            fputs("; term frequencies of ", f);
            print_ref(f, s, c->tf_feature);
        }
        fputc('\n', f);
        for (size_t j = 0; j < c->n_levels; j++) {
            const dl_spec_level *l = &c->levels[j];
            fprintf(f, "    %zu. ", j + 1);
            if (l->kind == DL_LV_EXACT) {
                fputs("exact ", f);
                print_ref(f, s, l->terms[0]);
            } else if (l->kind == DL_LV_DICE) {
                fputs("dice ", f);
                print_ref(f, s, l->terms[0]);
                fprintf(f, " >= %g", l->min);
            } else if (l->kind == DL_LV_REVERSED) {
                fputs("reversed ", f);
                print_ref(f, s, l->terms[0]);
                fputs(", ", f);
                print_ref(f, s, l->terms[1]);
            } else {
                fprintf(f, "count %u of ", l->min_count);
                for (size_t t = 0; t < l->n_terms; t++) {
                    if (t)
                        fputs(", ", f);
                    print_ref(f, s, l->terms[t]);
                }
            }
            fprintf(f, "  [%s]\n", l->label);
        }
        fprintf(f, "    %zu. else\n", c->n_levels + 1);
    }

    fprintf(f, "blocking: max block %llu records, oversize %s\n",
            (unsigned long long)s->max_block,
            s->oversize == DL_OVERSIZE_CAP ? "cap" : "skip");
    print_rules(f, s, s->rules, s->n_rules);
    fprintf(f,
            "training: seed %llu, u sample %llu pairs, max %u iterations, tolerance %g\n",
            (unsigned long long)s->seed, (unsigned long long)s->u_sample, s->max_iterations,
            s->tolerance);
    if (s->n_em_rules) {
        fputs("  em rules:\n", f);
        print_rules(f, s, s->em_rules, s->n_em_rules);
    } else {
        fputs("  em rules: the blocking rules\n", f);
    }
    fprintf(f, "thresholds: match %g, review %g\n", s->match_threshold,
            s->review_threshold);
    fprintf(f, "clustering: %s", cluster_names[s->cluster]);
    if (s->spine)
        fprintf(f, " (spine %s)", s->spine);
    fputc('\n', f);
    char hex[65];
    fprintf(f, "spec hash: %s\n", dl_spec_hash_hex(s, hex));
}
