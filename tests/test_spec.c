/* test_spec.c: the YAML linkage spec: loading, every validation error with its
 * line and column, defaults, the canonical hash, the examples, `dolen check`. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/spec.h"
#include "test_util.h"

static dl_status parse(const char *text, dl_spec **s, dl_error *e)
{
    return dl_spec_parse("t.yaml", text, strlen(text), s, e);
}

static dl_spec *parse_ok(const char *text)
{
    dl_error e = DL_ERROR_INIT;
    dl_spec *s = NULL;
    dl_status st = parse(text, &s, &e);
    char buf[600];
    cr_assert_eq(st, DL_OK, "expected a valid spec: %s",
                 dl_error_format(&e, buf, sizeof buf));
    cr_assert_not_null(s);
    return s;
}

/* TEXT must fail with DL_EINPUT at LINE:COL with NEEDLE in the message. */
static void expect_error(const char *text, uint64_t line, uint64_t col, const char *needle)
{
    dl_error e = DL_ERROR_INIT;
    dl_spec *s = (dl_spec *)&e; /* must be reset to NULL */
    dl_status st = parse(text, &s, &e);
    char buf[600];
    dl_error_format(&e, buf, sizeof buf);
    cr_assert_eq(st, DL_EINPUT, "expected DL_EINPUT, got %d: %s", (int)st, buf);
    cr_assert_null(s);
    cr_assert_eq(e.code, DL_EINPUT);
    cr_assert_str_eq(e.file, "t.yaml");
    cr_assert_eq(e.line, line, "line %llu, expected %llu: %s", (unsigned long long)e.line,
                 (unsigned long long)line, buf);
    cr_assert_eq(e.col, col, "column %llu, expected %llu: %s", (unsigned long long)e.col,
                 (unsigned long long)col, buf);
    cr_assert(strstr(e.msg, needle) != NULL, "message lacks '%s': %s", needle, buf);
}

/* Four lines every small spec starts with; fields follow on line 5. */
#define HEAD "version: 1\nname: t\ninput: {record_id: id}\nfields:\n"
#define GN                                                                                 \
    "  - {name: gn, column: fn, type: given_name, features: [token, dmetaphone, bloom]}\n"
#define DOB "  - {name: dob, column: d, type: date, features: [token, year, month, day]}\n"

/* ---- the errors named in the issue ---- */

Test(spec, typo_key_names_line_column_and_intended_key)
{
    expect_error("version: 1\nname: t\ninput: {record_id: id}\nfeilds:\n" GN, 4, 1,
                 "unknown key 'feilds' in the spec (did you mean 'fields'?)");
}

Test(spec, unknown_key_in_field)
{
    expect_error(HEAD "  - name: gn\n    colum: fn\n", 6, 5,
                 "unknown key 'colum' in fields[0] (did you mean 'column'?)");
    /* Nothing close: the valid keys are listed instead. */
    expect_error(HEAD "  - name: gn\n    zzzzzzzz: 1\n", 6, 5,
                 "expected one of: name, column,");
}

Test(spec, wrong_type_number_for_list)
{
    expect_error(HEAD
                 "  - name: gn\n    column: fn\n    type: given_name\n    features: 5\n",
                 8, 15, "expected a list of features, found a number");
    expect_error(
        HEAD "  - name: gn\n    column: fn\n    type: given_name\n    features: [token]\n"
             "    required: maybe\n",
        9, 15, "expected true or false for 'required', found a string");
    expect_error("version: 1\nname: t\ninput: [id]\nfields: []\n", 3, 8,
                 "expected a mapping of keys for input, found a list");
}

Test(spec, missing_required_key)
{
    expect_error(HEAD "  - name: gn\n    type: given_name\n    features: [token]\n", 5, 5,
                 "missing required key 'column' in fields[0]");
    expect_error("version: 1\nname: t\nfields:\n" GN, 1, 1,
                 "missing required key 'input' in the spec");
    expect_error("version: 1\nname: t\ninput: {delimiter: ','}\nfields:\n" GN, 3, 8,
                 "missing required key 'record_id' in input");
}

Test(spec, bad_enum_value_suggests)
{
    expect_error(HEAD
                 "  - name: sn\n    column: s\n    type: surnmae\n    features: [token]\n",
                 7, 11, "unknown type 'surnmae' (did you mean 'surname'?)");
    expect_error(HEAD GN
                 "  - {name: sn, column: s, type: surname, features: [token, sondex]}\n",
                 6, 60, "unknown feature 'sondex' (did you mean 'soundex'?)");
    expect_error(
        "version: 1\nname: t\nlink_type: dedup\ninput: {record_id: id}\nfields:\n" GN, 3,
        12, "did you mean 'dedupe'?");
}

Test(spec, feature_not_allowed_for_type)
{
    expect_error(HEAD
                 "  - {name: dob, column: d, type: date, features: [token, soundex]}\n",
                 5, 58, "feature 'soundex' is not available for type date");
    expect_error(HEAD "  - {name: s, column: s, type: sex, features: [bloom]}\n", 5, 48,
                 "not available for type sex");
}

Test(spec, feature_repeated)
{
    expect_error(HEAD "  - {name: s, column: s, type: surname, features: [token, token]}\n",
                 5, 59, "listed twice");
}

Test(spec, reference_to_unknown_field_or_feature)
{
    const char *cmp =
        HEAD GN "comparisons:\n  - name: g\n    levels:\n      - exact: gm.token\n"
                "blocking: {rules: [[gn.token]]}\n";
    expect_error(cmp, 9, 16, "unknown field 'gm' in 'gm.token' (did you mean 'gn'?)");
    cmp = HEAD GN "comparisons:\n  - name: g\n    levels:\n      - exact: gn.tokn\n"
                  "blocking: {rules: [[gn.token]]}\n";
    expect_error(cmp, 9, 16, "did you mean 'gn.token'?");
    cmp = HEAD GN "comparisons:\n  - name: g\n    levels:\n      - exact: gn.soundex\n"
                  "blocking: {rules: [[gn.token]]}\n";
    expect_error(cmp, 9, 16,
                 "field 'gn' has no feature 'soundex' (it declares: token, "
                 "dmetaphone, bloom)");
    cmp = HEAD GN "comparisons:\n  - name: g\n    levels:\n      - exact: gn\n"
                  "blocking: {rules: [[gn.token]]}\n";
    expect_error(cmp, 9, 16, "expected a feature FIELD.FEATURE");
    expect_error(HEAD GN "blocking: {rules: [[gn.token, zz.year]]}\n", 6, 31,
                 "unknown field 'zz'");
}

Test(spec, dice_needs_a_bloom_feature)
{
    expect_error(HEAD GN "comparisons:\n  - name: g\n    levels:\n"
                         "      - {dice: gn.dmetaphone, min: 0.8}\n"
                         "blocking: {rules: [[gn.token]]}\n",
                 9, 16, "'gn.dmetaphone' is not a bloom feature");
    expect_error(HEAD GN
                 "comparisons:\n  - name: g\n    levels:\n      - {dice: gn.bloom}\n"
                 "blocking: {rules: [[gn.token]]}\n",
                 9, 9, "missing required key 'min' in a dice level");
    expect_error(HEAD GN "comparisons:\n  - name: g\n    levels:\n"
                         "      - {dice: gn.bloom, min: 1.5}\n"
                         "blocking: {rules: [[gn.token]]}\n",
                 9, 31, "'min' must be above 0 and at most 1");
}

Test(spec, exact_and_count_need_token_features)
{
    expect_error(HEAD GN "comparisons:\n  - name: g\n    levels:\n      - exact: gn.bloom\n"
                         "blocking: {rules: [[gn.token]]}\n",
                 9, 16, "exact compares tokens; 'gn.bloom' is a Bloom filter (use dice)");
    expect_error(HEAD GN "comparisons:\n  - name: g\n    levels:\n"
                         "      - {count: [gn.token, gn.bloom], min: 1}\n"
                         "blocking: {rules: [[gn.token]]}\n",
                 9, 28, "count counts agreeing tokens; 'gn.bloom' is a Bloom filter");
}

Test(spec, review_above_match)
{
    expect_error(HEAD GN "thresholds:\n  match: 0.8\n  review: 0.9\n", 8, 11,
                 "review threshold 0.9 is above match threshold 0.8");
    /* The default review (0.5) above a lowered match is caught too, at match. */
    expect_error(HEAD GN "thresholds: {match: 0.4}\n", 6, 21, "above match threshold 0.4");
    expect_error(HEAD GN "thresholds: {match: 1}\n", 6, 21,
                 "'match' must be above 0 and below 1");
}

Test(spec, duplicate_field_name)
{
    expect_error(HEAD GN "  - {name: gn, column: other, type: text, features: [token]}\n",
                 6, 12, "duplicate field name 'gn' (first declared at line 5)");
}

Test(spec, duplicate_key)
{
    expect_error("version: 1\nname: t\nversion: 1\ninput: {record_id: id}\nfields:\n" GN, 3,
                 1, "duplicate key 'version' in the spec (first given at line 1)");
    expect_error(HEAD
                 "  - {name: gn, column: a, column: b, type: text, features: [token]}\n",
                 5, 27, "duplicate key 'column'");
}

Test(spec, yaml_syntax_error)
{
    expect_error("version: 1\nname: t: u\n", 2, 8,
                 "YAML syntax error: mapping values are not "
                 "allowed");
    expect_error("version: 1\nname: [t\n", 3, 1, "YAML syntax error");
}

Test(spec, empty_file)
{
    expect_error("", 1, 1, "empty spec");
    expect_error("# only a comment\n", 1, 1, "empty spec");
}

Test(spec, bloom_bits_not_multiple_of_64)
{
    expect_error(HEAD GN "bloom: {bits: 1000}\n", 6, 15, "bits must be a multiple of 64");
    expect_error(HEAD "  - name: gn\n    column: fn\n    type: given_name\n"
                      "    features: [bloom]\n    bloom: {bits: 8200}\n",
                 9, 19, "'bits' must be from 64 to 8192");
    /* 1088 = 17 words: folding once leaves half a word. */
    expect_error(HEAD GN "bloom: {bits: 1088, xor_folds: 1}\n", 6, 8,
                 "bits 1088 folded 1 times is not a multiple of 64");
}

Test(spec, salt_naming_itself)
{
    expect_error(HEAD "  - name: gn\n    column: fn\n    type: given_name\n"
                      "    features: [token, bloom]\n    bloom: {salt: gn}\n",
                 9, 19, "salt field 'gn' cannot salt its own filter");
    /* Inherited from the defaults: reported where the default is set. */
    expect_error(
        "version: 1\nname: t\ninput: {record_id: id}\nbloom: {salt: gn}\nfields:\n" GN, 4,
        15, "inherited from bloom:");
    expect_error(HEAD GN "bloom: {salt: dbo}\n", 6, 15, "unknown field 'dbo'");
}

Test(spec, salt_from_another_field_resolves)
{
    dl_spec *s = parse_ok(HEAD GN DOB "bloom: {salt: dob}\n");
    cr_assert_str_eq(s->fields[0].bloom.salt_field, "dob");
    /* dob has no filter: nothing to salt. */
    cr_assert_null(s->fields[1].bloom.salt_field);
    dl_spec_free(s);
}

Test(spec, bloom_options_only_with_bloom_feature)
{
    expect_error(
        HEAD "  - {name: gn, column: a, type: text, features: [token], bloom: {k: 3}}\n", 5,
        65, "bloom options need the feature 'bloom'");
}

Test(spec, keep_and_drop_both_given)
{
    expect_error(HEAD GN "content:\n  keep: [a]\n  drop: [b]\n", 8, 3,
                 "give 'keep' or 'drop' in content, not both");
}

Test(spec, keep_refuses_identifier_columns)
{
    expect_error(HEAD GN "content:\n  keep: [care, fn]\n", 7, 16,
                 "column 'fn' is read by field 'gn' and cannot be kept");
    expect_error(HEAD GN "content:\n  keep: [id]\n", 7, 10,
                 "record id column cannot be kept");
}

Test(spec, derive_needs_the_right_type)
{
    expect_error(HEAD GN DOB "content:\n  derive: {year_of_birth: gn}\n", 8, 27,
                 "'year_of_birth' needs a date field, and 'gn' is given_name");
}

Test(spec, spine_method_without_spine)
{
    expect_error(HEAD GN "clustering: {method: spine}\n", 6, 22,
                 "spine mode needs the spine dataset");
    expect_error(HEAD GN "clustering: {spine: wds}\n", 6, 21, "'spine' is only used with");
    expect_error(
        "version: 1\nname: t\nlink_type: spine\ninput: {record_id: id}\nfields:\n" GN, 3,
        12, "spine mode needs the spine dataset");
}

Test(spec, one_to_one_needs_link)
{
    expect_error(HEAD GN "clustering: {method: one_to_one}\n", 6, 22,
                 "method one_to_one needs link_type link");
}

/* ---- further checks ---- */

Test(spec, anchors_and_aliases_are_refused)
{
    expect_error("version: 1\nname: &n t\n", 2, 7, "anchors (&name) are not supported");
    expect_error("version: 1\nname: t\ninput: {record_id: id}\nfields:\n  - &f {name: a, "
                 "column: a, type: text, features: [token]}\n  - *f\n",
                 5, 5, "anchors (&name) are not supported");
    expect_error("version: 1\nname: *n\n", 2, 7, "aliases (*name) are not supported");
}

Test(spec, document_must_be_one_mapping)
{
    expect_error("- a\n- b\n", 1, 1, "a spec must be a mapping");
    expect_error("just words\n", 1, 1, "a spec must be a mapping");
    expect_error(HEAD GN "---\nversion: 1\n", 6, 1, "a second YAML document");
}

Test(spec, version_must_be_1)
{
    expect_error("version: 2\nname: t\ninput: {record_id: id}\nfields:\n" GN, 1, 10,
                 "unsupported spec version 2 (expected 1)");
    expect_error("version: one\nname: t\ninput: {record_id: id}\nfields:\n" GN, 1, 10,
                 "expected a whole number");
}

Test(spec, names_are_checked)
{
    expect_error("version: 1\nname: a b\ninput: {record_id: id}\nfields:\n" GN, 2, 7,
                 "name must be");
    expect_error(HEAD "  - {name: Given, column: a, type: text, features: [token]}\n", 5,
                 12, "field name must be a lower-case letter");
}

Test(spec, fields_count_limits)
{
    expect_error(HEAD "  []\n", 5, 3, "expected at least 1 fields");
    expect_error("version: 1\nname: t\ninput: {record_id: id}\nfields:\n", 4, 8,
                 "'fields' has no value");
}

Test(spec, date_only_keys_and_formats)
{
    expect_error(
        HEAD "  - {name: a, column: a, type: text, features: [token], min: 2000-01-01}\n",
        5, 62, "'min' applies only to date fields");
    expect_error(
        HEAD
        "  - {name: d, column: a, type: date, features: [token], formats: ['%d/%q/%Y']}"
        "\n",
        5, 67, "unknown directive in date format at byte 4");
    expect_error(
        HEAD
        "  - {name: d, column: a, type: date, features: [token], formats: ['%d/%m']}\n",
        5, 67, "needs exactly one year");
    expect_error(
        HEAD "  - {name: d, column: a, type: date, features: [token], max: 1800-01-01}\n",
        5, 62, "'max' is before 'min'");
    expect_error(
        HEAD "  - {name: d, column: a, type: date, features: [token], min: 2001-02-29}\n",
        5, 62, "expected a date YYYY-MM-DD for 'min'");
}

Test(spec, placeholders_normalised_and_limited)
{
    dl_spec *s = parse_ok(
        HEAD "  - name: gn\n    column: fn\n    type: given_name\n"
             "    features: [token]\n    placeholders: ['not  known ', nk, NK, Unknown]\n"
             "  - {name: d, column: b, type: date, features: [token], "
             "placeholders: [1900-01-01]}\n");
    cr_assert_eq(s->fields[0].n_placeholders, 3);
    cr_assert_str_eq(s->fields[0].placeholders[0], "NK");
    cr_assert_str_eq(s->fields[0].placeholders[1], "NOT KNOWN");
    cr_assert_str_eq(s->fields[0].placeholders[2], "UNKNOWN");
    cr_assert_str_eq(s->fields[1].placeholders[0], "1900-01-01");
    dl_spec_free(s);
    expect_error(
        HEAD "  - {name: s, column: s, type: sex, features: [token], placeholders: [X]}\n",
        5, 70, "placeholders apply to name, text and date fields");
    expect_error(HEAD "  - {name: d, column: s, type: date, features: [token], "
                      "placeholders: [UNKNOWN]}\n",
                 5, 72, "expected a date YYYY-MM-DD as a placeholder");
}

Test(spec, level_shapes)
{
    const char *tail = "blocking: {rules: [[dob.token]]}\n";
    char buf[1024];
    snprintf(buf, sizeof buf,
             "%s%scomparisons:\n  - name: d\n    levels:\n      - {label: x}\n%s", HEAD,
             DOB, tail);
    expect_error(buf, 9, 9, "a level needs one of exact, dice, count or reversed");
    snprintf(buf, sizeof buf,
             "%s%scomparisons:\n  - name: d\n    levels:\n      - {exact: dob.token, dice: "
             "dob.year}\n%s",
             HEAD, DOB, tail);
    expect_error(buf, 9, 28, "a level takes one of exact, dice, count or reversed");
    snprintf(buf, sizeof buf,
             "%s%scomparisons:\n  - name: d\n    levels:\n      - {count: [dob.year, "
             "dob.month], min: 3}\n%s",
             HEAD, DOB, tail);
    expect_error(buf, 9, 45, "'min' must be from 1 to 2");
    snprintf(buf, sizeof buf,
             "%s%scomparisons:\n  - name: d\n    levels:\n      - {count: [dob.year], min: "
             "1}\n%s",
             HEAD, DOB, tail);
    expect_error(buf, 9, 17, "expected at least 2 features to count");
    snprintf(
        buf, sizeof buf,
        "%s%scomparisons:\n  - name: d\n    levels:\n      - {exact: dob.year, min: 1}\n%s",
        HEAD, DOB, tail);
    expect_error(buf, 9, 27, "'min' applies to dice and count levels");
    snprintf(buf, sizeof buf,
             "%s%scomparisons:\n  - name: d\n    levels:\n      - {exact: dob.year}\n"
             "    tf: dob.nope\n%s",
             HEAD, DOB, tail);
    expect_error(buf, 10, 9, "field 'dob' has no feature 'nope'");
}

Test(spec, tf_needs_a_single_token_feature)
{
    expect_error(HEAD GN "comparisons:\n  - name: g\n    levels: [{exact: gn.token}]\n"
                         "    tf: gn.bloom\n"
                         "blocking: {rules: [[gn.token]]}\n",
                 9, 9, "tf needs a single-token feature");
}

Test(spec, comparisons_need_blocking_and_blocking_refuses_bloom)
{
    expect_error(HEAD GN "comparisons:\n  - {name: g, levels: [{exact: gn.token}]}\n", 6, 1,
                 "comparisons need blocking rules");
    expect_error(HEAD GN "blocking:\n  rules:\n    - [gn.bloom]\n", 8, 8,
                 "a blocking rule cannot use a bloom feature");
    expect_error(HEAD GN "comparisons:\n  - {name: g, levels: [{exact: gn.token}]}\n"
                         "  - {name: g, levels: [{exact: gn.token}]}\n"
                         "blocking: {rules: [gn.token]}\n",
                 8, 12, "duplicate comparison name 'g'");
}

Test(spec, outputs_reserved)
{
    dl_spec *s = parse_ok(HEAD GN "outputs: {}\n");
    dl_spec_free(s);
    expect_error(HEAD GN "outputs:\n  links: x.csv\n", 7, 3, "'outputs' is reserved");
}

Test(spec, clk_section)
{
    dl_spec *s = parse_ok(HEAD GN DOB "clk: {fields: [gn, dob], bits: 2048, k: 10}\n");
    cr_assert_eq(s->n_clk_fields, 2);
    cr_assert_eq(s->clk_fields[1], 1);
    cr_assert_eq(s->clk.bits, 2048);
    cr_assert_eq(s->clk.k, 10);
    cr_assert_eq(s->clk.q, 2);
    dl_spec_free(s);
    expect_error(HEAD GN DOB "clk: {fields: [gn, dob], salt: dob}\n", 7, 32,
                 "salt field 'dob' is one of the clk fields");
    expect_error(HEAD GN DOB "clk: {fields: [gn, gn]}\n", 7, 20, "listed twice");
}

Test(spec, defaults_are_filled_in)
{
    dl_spec *s = parse_ok(HEAD GN DOB);
    cr_assert_str_eq(s->name, "t");
    cr_assert_str_eq(s->path, "t.yaml");
    cr_assert_eq(s->link_type, DL_LINK_DEDUPE);
    cr_assert_eq(s->delimiter, ',');
    cr_assert_eq(s->max_field_bytes, 65536);
    cr_assert_eq(s->fields[0].bloom.bits, 1024);
    cr_assert_eq(s->fields[0].bloom.k, 20);
    cr_assert_eq(s->fields[0].bloom.q, 2);
    cr_assert(s->fields[0].bloom.padded);
    cr_assert_eq(s->fields[1].n_formats, 3);
    cr_assert_str_eq(s->fields[1].formats[1], "%d/%m/%Y");
    cr_assert_eq(s->fields[1].min_date, 19000101);
    cr_assert_eq(s->fields[1].max_date, 0);
    cr_assert_eq(s->derive_sex, -1);
    cr_assert_eq(s->max_block, 10000);
    cr_assert_eq(s->seed, 42);
    cr_assert_eq(s->u_sample, 10000000);
    cr_assert_eq(s->max_iterations, 100);
    cr_assert_float_eq(s->tolerance, 1e-6, 1e-12);
    cr_assert_float_eq(s->match_threshold, 0.95, 1e-12);
    cr_assert_float_eq(s->review_threshold, 0.5, 1e-12);
    cr_assert_eq(s->cluster, DL_CLUSTER_COMPONENTS);
    dl_spec_free(s);
}

Test(spec, typed_structure_of_a_full_spec)
{
    dl_spec *s =
        parse_ok(HEAD GN DOB "comparisons:\n"
                             "  - name: g\n"
                             "    levels:\n"
                             "      - {exact: gn.token}\n"
                             "      - {dice: gn.bloom, min: 0.8, label: close}\n"
                             "    null_if: gn.dmetaphone\n"
                             "  - name: d\n"
                             "    levels:\n"
                             "      - {count: [dob.year, dob.month, dob.day], min: 2}\n"
                             "blocking:\n  rules: [[gn.dmetaphone, dob.year], dob.token]\n"
                             "  oversize: cap\n"
                             "training: {em_rules: [[dob.token]], seed: 7}\n");
    cr_assert_eq(s->n_comparisons, 2);
    const dl_spec_comparison *g = &s->comparisons[0];
    cr_assert_eq(g->n_levels, 2);
    cr_assert_eq(g->levels[0].kind, DL_LV_EXACT);
    cr_assert_eq(g->levels[0].terms[0].field, 0);
    cr_assert_eq(g->levels[0].terms[0].kind, DL_FEAT_TOKEN);
    cr_assert_str_eq(g->levels[0].label, "exact gn.token");
    cr_assert_eq(g->levels[1].kind, DL_LV_DICE);
    cr_assert_float_eq(g->levels[1].min, 0.8, 1e-12);
    cr_assert_str_eq(g->levels[1].label, "close");
    cr_assert_eq(g->null_if.kind, DL_FEAT_DMETAPHONE);
    const dl_spec_comparison *d = &s->comparisons[1];
    cr_assert_eq(d->levels[0].kind, DL_LV_COUNT);
    cr_assert_eq(d->levels[0].n_terms, 3);
    cr_assert_eq(d->levels[0].min_count, 2);
    cr_assert_eq(d->null_if.field, 1); /* default: first feature of the first level */
    cr_assert_eq(d->null_if.kind, DL_FEAT_YEAR);
    cr_assert_eq(s->n_rules, 2);
    cr_assert_eq(s->rules[0].n_terms, 2);
    cr_assert_eq(s->rules[0].terms[1].kind, DL_FEAT_YEAR);
    cr_assert_eq(s->rules[1].n_terms, 1);
    cr_assert_eq(s->oversize, DL_OVERSIZE_CAP);
    cr_assert_eq(s->n_em_rules, 1);
    cr_assert_eq(s->seed, 7);
    dl_spec_free(s);
}

Test(spec, delimiter_forms)
{
    dl_spec *s =
        parse_ok("version: 1\nname: t\ninput: {record_id: id, delimiter: \"\\t\"}\n"
                 "fields:\n" GN);
    cr_assert_eq(s->delimiter, '\t');
    dl_spec_free(s);
    s = parse_ok(
        "version: 1\nname: t\ninput: {record_id: id, delimiter: '\\t'}\nfields:\n" GN);
    cr_assert_eq(s->delimiter, '\t');
    dl_spec_free(s);
    expect_error(
        "version: 1\nname: t\ninput: {record_id: id, delimiter: ';;'}\nfields:\n" GN, 3, 35,
        "expected one byte for 'delimiter'");
}

Test(spec, model_tables)
{
    dl_field_type t;
    dl_feature_kind k;
    for (int i = 0; i < DL_FT__COUNT; i++) {
        cr_assert(dl_field_type_parse(dl_field_type_name((dl_field_type)i), &t));
        cr_assert_eq((int)t, i);
    }
    for (int i = 0; i < DL_FEAT__COUNT; i++) {
        cr_assert(dl_feature_parse(dl_feature_name((dl_feature_kind)i), &k));
        cr_assert_eq((int)k, i);
    }
    cr_assert_not(dl_field_type_parse("surnmae", &t));
    cr_assert_not(dl_feature_parse("", &k));
    cr_assert(dl_feature_allowed(DL_FT_SURNAME, DL_FEAT_DMETAPHONE));
    cr_assert_not(dl_feature_allowed(DL_FT_TEXT, DL_FEAT_SOUNDEX));
    cr_assert_not(dl_feature_allowed(DL_FT_NHS_NUMBER, DL_FEAT_BLOOM));
    cr_assert(dl_feature_allowed(DL_FT_UK_POSTCODE, DL_FEAT_SECTOR));
    cr_assert(dl_feature_is_set(DL_FEAT_DMETAPHONE));
    cr_assert_not(dl_feature_is_set(DL_FEAT_TOKEN));
    dl_spec_free(NULL);
}

/* ---- the spec hash ---- */

#define HASH_BASE                                                                          \
    "version: 1\nname: a\ninput: {record_id: id}\nfields:\n"                               \
    "  - {name: gn, column: %s, type: given_name, features: [token, %s], bloom: {k: %d},"  \
    " placeholders: [%s]}\n"                                                               \
    "  - {name: dob, column: d, type: date, features: [token, year], formats: ['%s']}\n"   \
    "comparisons:\n  - {name: g, levels: [{exact: gn.token}, {dice: gn.bloom, min: "       \
    "%s}]}\n"                                                                              \
    "blocking: {rules: [[dob.token]]}\n"

static void spec_hash(char out[65], const char *column, const char *feats, int k,
                      const char *ph, const char *fmt, const char *min)
{
    char text[2048];
    snprintf(text, sizeof text, HASH_BASE, column, feats, k, ph, fmt, min);
    dl_spec *s = parse_ok(text);
    dl_spec_hash_hex(s, out);
    dl_spec_free(s);
}

Test(spec, hash_tracks_encoding_part_only)
{
    char base[65], h[65];
    spec_hash(base, "forename", "bloom", 20, "NK, UNKNOWN", "%d/%m/%Y", "0.9");
    cr_assert_eq(strlen(base), 64);
    /* Different column names, date input formats, comparisons: same hash. */
    spec_hash(h, "first_name", "bloom", 20, "NK, UNKNOWN", "%d/%m/%Y", "0.9");
    cr_assert_str_eq(h, base);
    spec_hash(h, "forename", "bloom", 20, "NK, UNKNOWN", "%Y%m%d", "0.9");
    cr_assert_str_eq(h, base);
    spec_hash(h, "forename", "bloom", 20, "NK, UNKNOWN", "%d/%m/%Y", "0.7");
    cr_assert_str_eq(h, base);
    /* Placeholders are a set of normalised values. */
    spec_hash(h, "forename", "bloom", 20, "unknown, nk", "%d/%m/%Y", "0.9");
    cr_assert_str_eq(h, base);
    /* A feature, a Bloom option, a placeholder: a different hash. */
    spec_hash(h, "forename", "soundex, bloom", 20, "NK, UNKNOWN", "%d/%m/%Y", "0.9");
    cr_assert_str_neq(h, base);
    spec_hash(h, "forename", "bloom", 25, "NK, UNKNOWN", "%d/%m/%Y", "0.9");
    cr_assert_str_neq(h, base);
    spec_hash(h, "forename", "bloom", 20, "NK", "%d/%m/%Y", "0.9");
    cr_assert_str_neq(h, base);
}

Test(spec, canonical_text_format)
{
    dl_spec *s =
        parse_ok(HEAD "  - {name: gn, column: fn, type: given_name, features: [token, "
                      "bloom], bloom: {k: 25}}\n" DOB);
    char *t = dl_spec_canonical(s);
    cr_assert_not_null(t);
    cr_assert_str_eq(
        t, "dolen-spec-encoding v1\nnormalisation=dolen-norm-1\n"
           "field=gn\ngn.type=given_name\ngn.features=token,bloom\n"
           "gn.bloom.q=2\ngn.bloom.bits=1024\ngn.bloom.k=25\ngn.bloom.padded=true\n"
           "gn.bloom.salt=\ngn.bloom.balance=false\ngn.bloom.xor_folds=0\n"
           "field=dob\ndob.type=date\ndob.features=token,year,month,day\n"
           "dob.date.min=1900-01-01\ndob.date.max=today\n");
    free(t);
    dl_spec_free(s);
}

/* ---- the examples ---- */

static dl_spec *load_example(const char *name)
{
    char *path = tu_source(name);
    dl_error e = DL_ERROR_INIT;
    dl_spec *s = NULL;
    char buf[600];
    dl_status st = dl_spec_load(path, &s, &e);
    cr_assert_eq(st, DL_OK, "%s: %s", name, dl_error_format(&e, buf, sizeof buf));
    free(path);
    return s;
}

Test(spec, example_demo_loads)
{
    dl_spec *s = load_example("config/examples/demo.yaml");
    cr_assert_str_eq(s->name, "demo");
    cr_assert_eq(s->link_type, DL_LINK_AND_DEDUPE);
    cr_assert_eq(s->n_fields, 6);
    cr_assert_str_eq(s->fields[0].column, "forename");
    cr_assert_eq(s->fields[0].n_features, 5);
    cr_assert_eq(s->n_rules, 5);
    cr_assert_eq(s->n_comparisons, 6);
    cr_assert_eq(s->derive_week_of_birth, 2);
    cr_assert_eq(s->derive_sex, 3);
    for (size_t i = 0; i < s->n_keep; i++)
        cr_assert_str_neq(s->keep[i], "address");
    dl_spec_free(s);
}

static bool ref_is(dl_feature_ref r, size_t field, dl_feature_kind kind)
{
    return r.field == field && r.kind == kind;
}

/* Data minimisation: every feature the demo spec encodes is read by a
 * comparison level, a tf adjustment or a blocking rule. A feature nothing
 * reads would leave the custodian for no use. */
Test(spec, example_demo_encodes_only_what_link_reads)
{
    dl_spec *s = load_example("config/examples/demo.yaml");
    for (size_t f = 0; f < s->n_fields; f++) {
        for (size_t x = 0; x < s->fields[f].n_features; x++) {
            dl_feature_kind k = s->fields[f].features[x];
            bool used = false;
            for (size_t c = 0; c < s->n_comparisons && !used; c++) {
                const dl_spec_comparison *cmp = &s->comparisons[c];
                used = cmp->has_tf && ref_is(cmp->tf_feature, f, k);
                for (size_t l = 0; l < cmp->n_levels && !used; l++)
                    for (size_t t = 0; t < cmp->levels[l].n_terms; t++)
                        used |= ref_is(cmp->levels[l].terms[t], f, k);
            }
            for (size_t r = 0; r < s->n_rules && !used; r++)
                for (size_t t = 0; t < s->rules[r].n_terms; t++)
                    used |= ref_is(s->rules[r].terms[t], f, k);
            cr_expect(used, "feature %zu of field %s is encoded but never read", x,
                      s->fields[f].name);
        }
    }
    dl_spec_free(s);
}

Test(spec, example_febrl_loads)
{
    dl_spec *s = load_example("config/examples/febrl.yaml");
    cr_assert_str_eq(s->name, "febrl");
    cr_assert_eq(s->link_type, DL_LINK_DEDUPE);
    cr_assert(s->trim);
    cr_assert_str_eq(s->record_id, "rec_id");
    cr_assert_eq(s->fields[2].type, DL_FT_DATE);
    cr_assert_str_eq(s->fields[2].formats[0], "%Y%m%d");
    cr_assert_gt(s->n_em_rules, 0);
    dl_spec_free(s);
}

/* Every custodian's copy of the demo spec encodes like demo.yaml: same hash,
 * whatever its columns and date formats; the carers-allowance copy has no
 * NHS-number column (`column: null`). */
Test(spec, demo_specs_of_every_dataset_share_the_hash)
{
    static const char *const copies[] = {"config/examples/demo-spine.yaml",
                                         "config/examples/demo-gp.yaml",
                                         "config/examples/demo-carers_allowance.yaml",
                                         "config/examples/demo-spine-gp.yaml"};
    dl_spec *demo = load_example("config/examples/demo.yaml");
    char want[65], got[65];
    dl_spec_hash_hex(demo, want);
    for (size_t i = 0; i < sizeof copies / sizeof copies[0]; i++) {
        dl_spec *s = load_example(copies[i]);
        cr_assert_str_eq(dl_spec_hash_hex(s, got), want, "%s", copies[i]);
        dl_spec_free(s);
    }
    dl_spec *ca = load_example("config/examples/demo-carers_allowance.yaml");
    cr_assert_null(ca->fields[5].column, "nhs has column: null");
    cr_assert_eq(ca->fields[5].type, DL_FT_NHS_NUMBER);
    dl_spec_free(ca);
    dl_spec_free(demo);
}

Test(spec, load_missing_file)
{
    dl_error e = DL_ERROR_INIT;
    dl_spec *s = NULL;
    cr_assert_eq(dl_spec_load("/nonexistent/x.yaml", &s, &e), DL_EINPUT);
    cr_assert_null(s);
    cr_assert_str_eq(e.file, "/nonexistent/x.yaml");
}

/* ---- dolen check ---- */

Test(spec, cli_check_valid_prints_summary_and_hash)
{
    char *path = tu_source("config/examples/febrl.yaml");
    char *out = NULL, *err = NULL;
    const char *argv[] = {"check", path, NULL};
    cr_assert_eq(tu_dolen(argv, &out, &err), 0, "stderr: %s", err);
    dl_error e = DL_ERROR_INIT;
    dl_spec *s = NULL;
    cr_assert_eq(dl_spec_load(path, &s, &e), DL_OK);
    char hex[65], line[96];
    snprintf(line, sizeof line, "spec hash: %s\n", dl_spec_hash_hex(s, hex));
    cr_assert(strstr(out, line) != NULL, "no hash line in: %s", out);
    cr_assert(strstr(out, "soc_sec_id: column 'soc_sec_id', type text") != NULL);
    cr_assert(strstr(out, "dice given_name.bloom >= 0.85") != NULL);
    free(out);
    free(err);

    const char *argv2[] = {"check", "--canonical", path, NULL};
    cr_assert_eq(tu_dolen(argv2, &out, &err), 0);
    char *canon = dl_spec_canonical(s);
    cr_assert_str_eq(out, canon);
    free(canon);
    free(out);
    free(err);

    const char *argv3[] = {"check", "-q", path, NULL};
    cr_assert_eq(tu_dolen(argv3, &out, &err), 0);
    cr_assert_str_eq(out, "");
    free(out);
    free(err);
    dl_spec_free(s);
    free(path);
}

Test(spec, cli_check_typo_exits_2_with_location)
{
    char *path = tu_data("specs/typo.yaml");
    char *out = NULL, *err = NULL;
    const char *argv[] = {"check", path, NULL};
    cr_assert_eq(tu_dolen(argv, &out, &err), 2);
    char want[4200];
    snprintf(want, sizeof want,
             "dolen: %s:11:1: unknown key 'feilds' in the spec (did you mean 'fields'?)\n",
             path);
    cr_assert_str_eq(err, want);
    cr_assert_str_eq(out, "");
    free(out);
    free(err);
    free(path);
}

Test(spec, cli_check_usage_errors)
{
    char *out = NULL, *err = NULL;
    const char *none[] = {"check", NULL};
    cr_assert_eq(tu_dolen(none, &out, &err), 1);
    cr_assert(strstr(err, "missing the spec file") != NULL);
    free(out);
    free(err);
    const char *bad[] = {"check", "--canonicl", "x.yaml", NULL};
    cr_assert_eq(tu_dolen(bad, &out, &err), 1);
    cr_assert(strstr(err, "did you mean '--canonical'?") != NULL, "%s", err);
    free(out);
    free(err);
    const char *two[] = {"check", "a.yaml", "b.yaml", NULL};
    cr_assert_eq(tu_dolen(two, &out, &err), 1);
    free(out);
    free(err);
    const char *missing[] = {"check", "/nonexistent/spec.yaml", NULL};
    cr_assert_eq(tu_dolen(missing, &out, &err), 2);
    cr_assert(strstr(err, "dolen: /nonexistent/spec.yaml: cannot open spec") == err, "%s",
              err);
    free(out);
    free(err);
    const char *help[] = {"check", "--help", NULL};
    cr_assert_eq(tu_dolen(help, &out, &err), 0);
    cr_assert(strstr(out, "usage: dolen check") == out);
    free(out);
    free(err);
}

/* ---- token_key and reversed levels ------------------------------------------ */

#define SWAP_FIELDS                                                                        \
    "  - {name: gn, column: fn, type: given_name, features: [token], token_key: name}\n"   \
    "  - {name: sn, column: ln, type: surname, features: [token], token_key: name}\n"
#define SWAP_TAIL "blocking: {rules: [[gn.token]]}\n"

Test(spec, reversed_level_on_fields_sharing_a_token_key)
{
    dl_spec *s = parse_ok(HEAD SWAP_FIELDS "comparisons:\n  - name: g\n    levels:\n"
                                           "      - {exact: gn.token}\n"
                                           "      - {reversed: [gn.token, sn.token]}\n" SWAP_TAIL);
    cr_assert_str_eq(s->fields[0].token_key, "name");
    cr_assert_str_eq(s->fields[1].token_key, "name");
    const dl_spec_level *l = &s->comparisons[0].levels[1];
    cr_assert_eq(l->kind, DL_LV_REVERSED);
    cr_assert_eq(l->n_terms, 2);
    cr_assert_eq(l->terms[0].field, 0);
    cr_assert_eq(l->terms[1].field, 1);
    cr_assert_str_eq(l->label, "gn.token and sn.token reversed");
    dl_spec_free(s);
}

Test(spec, token_key_changes_the_hash_and_only_when_set)
{
    const char *plain = HEAD
        "  - {name: gn, column: fn, type: given_name, features: [token]}\n"
        "  - {name: sn, column: ln, type: surname, features: [token]}\n";
    dl_spec *a = parse_ok(plain), *b = parse_ok(HEAD SWAP_FIELDS);
    char ha[65], hb[65];
    cr_assert_str_neq(dl_spec_hash_hex(a, ha), dl_spec_hash_hex(b, hb));
    char *text = dl_spec_canonical(a);
    cr_assert_null(strstr(text, "token_key"), "%s", text);
    free(text);
    text = dl_spec_canonical(b);
    cr_assert(strstr(text, "gn.token_key=name\n"), "%s", text);
    free(text);
    dl_spec_free(a);
    dl_spec_free(b);
}

Test(spec, token_key_and_reversed_errors)
{
    expect_error(HEAD "  - {name: gn, column: fn, type: given_name, features: [soundex], "
                      "token_key: name}\n",
                 5, 78, "token_key needs the feature 'token'");
    expect_error(HEAD "  - {name: gn, column: fn, type: given_name, features: [token], "
                      "token_key: Name}\n",
                 5, 76, "token_key must be a lower-case letter");
    expect_error(HEAD "  - {name: gn, column: fn, type: given_name, features: [token], "
                      "token_key: k}\n"
                      "  - {name: d, column: d, type: date, features: [token], token_key: k}\n",
                 6, 68, "token_key 'k' is shared with field 'gn' of type given_name, but d is date");
    const char *lv = "comparisons:\n  - name: g\n    levels:\n      - ";
    char buf[1024];
    snprintf(buf, sizeof buf, "%s%s%s{reversed: [gn.token, gn.token]}\n%s", HEAD,
             SWAP_FIELDS, lv, SWAP_TAIL);
    expect_error(buf, 10, 20, "reversed needs two different fields (found gn twice)");
    snprintf(buf, sizeof buf, "%s%s%s{reversed: [gn.token]}\n%s", HEAD, SWAP_FIELDS, lv,
             SWAP_TAIL);
    expect_error(buf, 10, 20, "expected at least 2 token features to reverse, found 1");
    snprintf(buf, sizeof buf, "%s%s%s{reversed: [gn.token, sn.token], min: 1}\n%s", HEAD,
             SWAP_FIELDS, lv, SWAP_TAIL);
    expect_error(buf, 10, 42, "'min' applies to dice and count levels, not reversed");
    snprintf(buf, sizeof buf,
             "%s  - {name: gn, column: fn, type: given_name, features: [token, soundex], "
             "token_key: name}\n"
             "  - {name: sn, column: ln, type: surname, features: [token]}\n"
             "%s{reversed: [gn.soundex, sn.token]}\n%s",
             HEAD, lv, SWAP_TAIL);
    expect_error(buf, 10, 21, "reversed compares tokens; 'gn.soundex' is not a token feature");
    snprintf(buf, sizeof buf,
             "%s  - {name: gn, column: fn, type: given_name, features: [token], "
             "token_key: name}\n"
             "  - {name: sn, column: ln, type: surname, features: [token]}\n"
             "%s{reversed: [gn.token, sn.token]}\n%s",
             HEAD, lv, SWAP_TAIL);
    expect_error(buf, 10, 31, "give sn and the other field the same token_key");
    snprintf(buf, sizeof buf,
             "%s  - {name: gn, column: fn, type: given_name, features: [token], "
             "token_key: a}\n"
             "  - {name: sn, column: ln, type: surname, features: [token], token_key: b}\n"
             "%s{reversed: [gn.token, sn.token]}\n%s",
             HEAD, lv, SWAP_TAIL);
    expect_error(buf, 10, 20, "reversed needs fields with one token_key (gn has 'a', sn has 'b')");
}
