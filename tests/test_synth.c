/* test_synth.c: generator properties of `dolen synth` (bench/synth_*.c): the
 * scenario loader's errors, tables against published counts, marginals, error
 * rates, valid NHS numbers and postcodes, truth, determinism, the command. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/synth_internal.h"
#include "dolen/csv.h"
#include "dolen/gz.h"
#include "dolen/normalise.h"
#include "test_util.h"

/* ---- helpers -------------------------------------------------------------------- */

static dl_synth_spec *parse_ok(const char *text)
{
    dl_error e = DL_ERROR_INIT;
    dl_synth_spec *s = NULL;
    dl_status st = dl_synth_spec_parse(text, strlen(text), "t.yaml", &s, &e);
    cr_assert_eq(st, DL_OK, "parse failed: %s (line %llu col %llu)", e.msg,
                 (unsigned long long)e.line, (unsigned long long)e.col);
    return s;
}

static void run_ok(const dl_synth_spec *s, const char *dir, uint64_t people, uint64_t seed,
                   size_t threads, bool gzip, dl_synth_stats *stats)
{
    dl_synth_opts o = DL_SYNTH_OPTS_INIT;
    o.people = people;
    o.seed = seed;
    o.threads = threads;
    o.gzip = gzip;
    dl_error e = DL_ERROR_INIT;
    dl_status st = dl_synth_run(s, dir, &o, stats, &e);
    cr_assert_eq(st, DL_OK, "run failed: %s", e.msg);
}

typedef void (*row_fn)(const dl_row *row, const dl_row *header, void *payload);

/* Call FN for every data row of the CSV at DIR/FILE; returns the row count. */
static uint64_t each_row(const char *dir, const char *file, row_fn fn, void *payload)
{
    char *path = tu_join(dir, file);
    dl_csv_reader *r = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_open(path, NULL, &r, &e), DL_OK, "open %s: %s", path, e.msg);
    dl_row row;
    dl_status st;
    uint64_t n = 0;
    while ((st = dl_csv_next(r, &row, &e)) == DL_OK) {
        if (fn)
            fn(&row, dl_csv_header(r), payload);
        n++;
    }
    cr_assert_eq(st, DL_END, "%s: %s", path, e.msg);
    dl_csv_close(r);
    free(path);
    return n;
}

static int col_index(const dl_row *h, const char *name)
{
    for (size_t i = 0; i < h->n; i++)
        if (strcmp(h->field[i], name) == 0)
            return (int)i;
    return -1;
}

static bool same_file(const char *a, const char *b)
{
    size_t la, lb;
    char *x = tu_read(a, &la), *y = tu_read(b, &lb);
    bool same = x && y && la == lb && memcmp(x, y, la) == 0;
    free(x);
    free(y);
    return same;
}

/* ---- the scenario ---------------------------------------------------------------- */

Test(synth, built_in_scenario_is_the_example_file)
{
    char *path = tu_source("config/examples/synth-carers.yaml");
    char *text = tu_read(path, NULL);
    cr_assert(text, "cannot read %s", path);
    cr_assert_str_eq(text, dl_synth_default_yaml(),
                     "config/examples/synth-carers.yaml and the built-in scenario differ");
    free(text);
    free(path);
}

Test(synth, examples_load)
{
    const char *files[] = {"config/examples/synth-carers.yaml",
                           "config/examples/synth-small.yaml"};
    for (size_t i = 0; i < 2; i++) {
        char *path = tu_source(files[i]);
        dl_synth_spec *s = NULL;
        dl_error e = DL_ERROR_INIT;
        cr_assert_eq(dl_synth_spec_load(path, &s, &e), DL_OK, "%s: %s", files[i], e.msg);
        cr_assert_gt(dl_synth_spec_datasets(s), 1);
        dl_synth_spec_free(s);
        free(path);
    }
    dl_synth_spec *s = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_synth_spec_default(&s, &e), DL_OK);
    cr_assert_eq(dl_synth_spec_datasets(s), 4);
    cr_assert_str_eq(dl_synth_spec_dataset_name(s, 2), "la_carers");
    cr_assert_str_eq(dl_synth_spec_dataset_file(s, 3), "carers_allowance.csv");
    /* The carers file must fit config/examples/demo.yaml's columns and formats. */
    const dl__synth_dataset *la = &s->ds[2];
    const char *cols[] = {"person_id", "forename",   "surname",   "date_of_birth",
                          "sex",       "postcode",   "nhs_number", "address",
                          "ethnicity", "care_type", "assessment_date"};
    cr_assert_eq(la->n_cols, 11);
    for (size_t i = 0; i < 11; i++)
        cr_assert_str_eq(la->col_name[i], cols[i]);
    cr_assert_str_eq(la->date_format, "%d/%m/%Y");
    cr_assert_str_eq(la->sex_codes[0], "M");
    cr_assert_str_eq(la->sex_codes[1], "F");
    dl_synth_spec_free(s);
    dl_synth_spec_free(NULL);
}

Test(synth, dataset_defaults_and_error_overrides)
{
    dl_synth_spec *s = parse_ok("version: 1\n"
                                "errors: {forename_typo: 0.1}\n"
                                "datasets:\n"
                                "  - name: a\n"
                                "    errors_scale: 2\n"
                                "    errors: {surname_typo: 0.2}\n"
                                "    columns: {id: record_id}\n");
    const dl__synth_dataset *d = &s->ds[0];
    cr_assert_str_eq(d->file, "a.csv");
    cr_assert_float_eq(d->err[DL_SYNTH_ERR_FORENAME_TYPO], 0.2, 1e-12);
    cr_assert_float_eq(d->err[DL_SYNTH_ERR_SURNAME_TYPO], 0.4, 1e-12);
    cr_assert_float_eq(d->err[DL_SYNTH_ERR_DOB_TYPO], 2 * dl_synth_error_default(DL_SYNTH_ERR_DOB_TYPO),
                       1e-12);
    cr_assert_str_eq(d->date_format, "%Y-%m-%d");
    dl_synth_spec_free(s);
    cr_assert_str_eq(dl_synth_error_name(DL_SYNTH_ERR_SURNAME_MARRIAGE), "surname_marriage");
    cr_assert_str_eq(dl_synth_error_name(DL_SYNTH_ERR__COUNT), "?");
}

/* Every error of the loader: its own tiny input, the code, line and column. */
Test(synth, spec_errors_name_line_and_column)
{
    static const struct {
        const char *text;
        uint64_t line, col;
        const char *msg;
    } cases[] = {
        {"version: 1\npeople: [1,\n", 3, 1, "bad YAML"},
        {"version: 1\npeple: 5\n", 2, 1, "unknown key 'peple' in the scenario (did you mean 'people'?)"},
        {"people: 5\ndatasets: []\n", 1, 1, "needs 'version: 1'"},
        {"version: 2\n", 1, 10, "version must be a whole number from 1 to 1"},
        {"version: 1\n", 1, 1, "needs a 'datasets' list"},
        {"version: 1\ndatasets: {a: 1}\n", 2, 11, "datasets must be a list"},
        {"version: 1\ndatasets: []\n", 2, 11, "at least one dataset"},
        {"version: 1\npeople: -3\ndatasets: []\n", 2, 9, "people must be a whole number"},
        {"version: 1\nreference_date: 2023-02-30\n", 2, 17, "reference_date must be a date"},
        {"version: 1\npopulation: {twin_rate: 2}\n", 2, 25, "twin_rate must be a number from 0 to 1"},
        {"version: 1\npopulation: {twin_rat: 0.1}\n", 2, 14, "did you mean 'twin_rate'?"},
        {"version: 1\nerrors:\n  forname_typo: 0.1\n", 3, 3, "did you mean 'forename_typo'?"},
        {"version: 1\nerrors:\n  duplicate: 1.5\n", 3, 14, "duplicate must be a number from 0 to 1"},
        {"version: 1\ndatasets:\n  - name: a\n    colums: {}\n", 4, 5, "did you mean 'columns'?"},
        {"version: 1\ndatasets:\n  - file: a.csv\n    columns: {id: record_id}\n", 3, 5,
         "a dataset needs a name"},
        {"version: 1\ndatasets:\n  - name: a\n", 3, 5, "dataset 'a' needs columns"},
        {"version: 1\ndatasets:\n  - name: a\n    columns: {id: surnam}\n", 4, 19,
         "unknown field 'surnam' (did you mean 'surname'?)"},
        {"version: 1\ndatasets:\n  - name: a\n    columns: {id: record_id, id: dob}\n", 4, 30,
         "column 'id' appears twice"},
        {"version: 1\ndatasets:\n  - name: a\n    columns: {}\n", 4, 14, "at least one column"},
        {"version: 1\ndatasets:\n  - name: a b\n    columns: {id: record_id}\n", 3, 11,
         "name must be at most 64 letters"},
        {"version: 1\ndatasets:\n  - name: a\n    file: ../x.csv\n    columns: {id: record_id}\n",
         4, 11, "plain file name"},
        {"version: 1\ndatasets:\n  - name: a\n    date_format: \"%d/%q/%Y\"\n    columns: {i: dob}\n",
         4, 18, "unknown directive at byte 4"},
        {"version: 1\ndatasets:\n  - name: a\n    date_format: \"%d/%m\"\n    columns: {i: dob}\n",
         4, 18, "must hold a year"},
        {"version: 1\ndatasets:\n  - name: a\n    sex_codes: [M, F]\n    columns: {i: sex}\n", 4,
         16, "three codes"},
        {"version: 1\ndatasets:\n  - name: a\n    postcode_style: wide\n    columns: {i: sex}\n",
         4, 21, "spaced or compact"},
        {"version: 1\ndatasets:\n  - name: a\n    name_case: lower\n    columns: {i: sex}\n", 4,
         16, "upper or title"},
        {"version: 1\ndatasets:\n  - name: a\n    carer_share: 0.5\n    columns: {i: sex}\n", 4,
         18, "needs min_age 18"},
        {"version: 1\ndatasets:\n  - name: a\n    min_age: 18\n    rate: 0.5\n"
         "    carer_share: 1\n    columns: {i: sex}\n",
         3, 5, "needs more carers than carer_rate"},
        {"version: 1\ndatasets:\n  - name: a\n    columns: {i: sex}\n  - name: a\n"
         "    file: b.csv\n    columns: {i: sex}\n",
         5, 5, "dataset name 'a' is used twice"},
        {"version: 1\ndatasets:\n  - name: a\n    columns: {i: sex}\n  - name: b\n"
         "    file: a.csv\n    columns: {i: sex}\n",
         5, 5, "file 'a.csv' is used by two datasets"},
        {"version: 1\ndatasets:\n  - name: a\n    file: truth.csv\n    columns: {i: sex}\n", 3, 5,
         "reserved"},
        {"", 1, 1, "empty scenario"},
        {"- 1\n", 1, 1, "the scenario must be a mapping"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dl_error e = DL_ERROR_INIT;
        dl_synth_spec *s = (dl_synth_spec *)1;
        dl_status st = dl_synth_spec_parse(cases[i].text, strlen(cases[i].text), "t.yaml", &s, &e);
        cr_assert_eq(st, DL_EINPUT, "case %zu: status %d", i, st);
        cr_assert_null(s, "case %zu", i);
        cr_assert_str_eq(e.file, "t.yaml", "case %zu", i);
        cr_assert(strstr(e.msg, cases[i].msg), "case %zu: message '%s'", i, e.msg);
        cr_assert_eq(e.line, cases[i].line, "case %zu (%s): line %llu", i, e.msg,
                     (unsigned long long)e.line);
        cr_assert_eq(e.col, cases[i].col, "case %zu (%s): col %llu", i, e.msg,
                     (unsigned long long)e.col);
    }
}

Test(synth, missing_scenario_file)
{
    dl_error e = DL_ERROR_INIT;
    dl_synth_spec *s = NULL;
    cr_assert_eq(dl_synth_spec_load("/nonexistent/s.yaml", &s, &e), DL_EINPUT);
    cr_assert_null(s);
    cr_assert_str_eq(e.file, "/nonexistent/s.yaml");
}

/* ---- tables against the published lists ------------------------------------------ */

static uint32_t weight_in_cohort(uint32_t c, const char *name)
{
    const dl__synth_cohort *co = &dl__synth_cohorts[c];
    for (uint32_t i = 0; i < co->count; i++)
        if (strcmp(dl__synth_names[dl__synth_given[co->first + i].name], name) == 0)
            return dl__synth_given[co->first + i].weight;
    return 0;
}

static uint32_t surname_weight(const char *name)
{
    for (uint32_t i = 0; i < dl__synth_surnames_n; i++)
        if (strcmp(dl__synth_names[dl__synth_surnames[i].name], name) == 0)
            return dl__synth_surnames[i].weight;
    return 0;
}

Test(synth, tables_follow_ons_counts)
{
    /* Welsh 1998 boys' top 100, mixed into cohorts from 1998 on. */
    char *wpath = tu_data("synth/ew_countries_1998_W_M.csv");
    char *wtext = tu_read(wpath, NULL);
    cr_assert(wtext);
    /* ONS 2018 boys: names absent from the Welsh list keep the ratios of their
     * England and Wales counts; names on it gain weight. */
    char *path = tu_data("synth/boyname2018EW_top20.csv");
    FILE *f = fopen(path, "r");
    cr_assert(f);
    char line[256], names[20][32];
    double counts[20];
    int n = 0;
    cr_assert(fgets(line, sizeof line, f));
    while (n < 20 && fgets(line, sizeof line, f)) {
        char *a = strchr(line, ','), *b = a ? strchr(a + 1, ',') : NULL;
        cr_assert(b);
        *b = '\0';
        snprintf(names[n], sizeof names[n], "%s", a + 1);
        double c = 0;
        for (char *p = b + 1; *p; p++)
            if (*p >= '0' && *p <= '9')
                c = c * 10 + (*p - '0');
        counts[n++] = c;
    }
    fclose(f);
    cr_assert_eq(n, 20);
    uint32_t c2018 = dl__synth_cohort_of(0, 2018);
    cr_assert_eq(dl__synth_cohorts[c2018].lo, 2018);
    cr_assert_eq(dl__synth_cohort_of(0, 2023), c2018, "later births use the 2018 list");
    int ref = -1, checked = 0, welsh = 0;
    for (int i = 0; i < n; i++) {
        char key[48];
        snprintf(key, sizeof key, ",W,M,%s,", names[i]);
        uint32_t w = weight_in_cohort(c2018, names[i]);
        cr_assert_gt(w, 0, "%s missing from the 2018 table", names[i]);
        if (strstr(wtext, key)) {
            welsh++;
            continue;
        }
        if (ref < 0) {
            ref = i;
            continue;
        }
        double want = counts[i] / counts[ref];
        double got = (double)w / weight_in_cohort(c2018, names[ref]);
        cr_assert(fabs(got / want - 1) < 0.002, "%s/%s: weight ratio %f, count ratio %f",
                  names[i], names[ref], got, want);
        checked++;
    }
    cr_assert_gt(checked, 5);
    cr_assert_gt(welsh, 0);
    /* A Welsh-list name that is rare in England and Wales as a whole is common here. */
    cr_assert(strstr(wtext, ",W,M,RHYS,"));
    cr_assert_gt(weight_in_cohort(dl__synth_cohort_of(0, 1999), "RHYS"),
                 weight_in_cohort(dl__synth_cohort_of(0, 1999), "GEORGE"));
    free(wtext);
    free(wpath);
    free(path);

    /* Surnames: the Welsh head as configured, the tail in proportion to the UK list. */
    double total = 0;
    for (uint32_t i = 0; i < dl__synth_surnames_n; i++)
        total += dl__synth_surnames[i].weight;
    cr_assert(fabs(surname_weight("JONES") / total - 0.055) < 0.0005);
    const char *order[] = {"JONES", "DAVIES", "WILLIAMS", "THOMAS", "EVANS"};
    for (int i = 0; i < 5; i++)
        cr_assert_str_eq(dl__synth_names[dl__synth_surnames[i].name], order[i]);
    char *lpath = tu_data("synth/lastname_uk_top50.csv");
    char *ltext = tu_read(lpath, NULL);
    cr_assert(ltext);
    /* smith 0.01302, taylor 0.00817, brown ...: none of them in the Welsh head. */
    double smith = atof(strstr(ltext, "\nsmith,") + 7), taylor = atof(strstr(ltext, "\ntaylor,") + 8);
    double got = (double)surname_weight("SMITH") / surname_weight("TAYLOR");
    cr_assert(fabs(got / (smith / taylor) - 1) < 0.001, "SMITH/TAYLOR %f vs %f", got,
              smith / taylor);
    free(ltext);
    free(lpath);
}

/* ---- the population -------------------------------------------------------------- */

#define POP_N (4 * DL_SYNTH_CHUNK)

/* People of chunks 0..3 exactly as dl_synth_run makes them (seed 11). */
static dl__person *make_population(dl__synth_model *m, dl_synth_spec **spec)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_synth_spec_default(spec, &e), DL_OK);
    cr_assert_eq(dl__synth_model_init(m, *spec, 11, &e), DL_OK, "%s", e.msg);
    dl__person *p = malloc(sizeof *p * POP_N);
    cr_assert(p);
    for (uint64_t c = 0; c < 4; c++) {
        dl__rng r;
        dl__rng_seed(&r, 11, c);
        dl__synth_people(m, &r, c * DL_SYNTH_CHUNK + 1, DL_SYNTH_CHUNK, p + c * DL_SYNTH_CHUNK);
    }
    return p;
}

/* |observed - expected| within 5 standard deviations of a sum of Bernoullis. */
static void assert_count(const char *what, double observed, double expected, double var)
{
    cr_assert(fabs(observed - expected) <= 5 * sqrt(var) + 1e-9,
              "%s: observed %.0f, expected %.1f (sd %.1f)", what, observed, expected, sqrt(var));
}

Test(synth, name_and_surname_marginals_follow_the_tables)
{
    dl__synth_model m;
    dl_synth_spec *spec;
    dl__person *p = make_population(&m, &spec);

    double total = 0;
    for (uint32_t i = 0; i < dl__synth_surnames_n; i++)
        total += dl__synth_surnames[i].weight;
    /* Surnames are drawn per household, then partners may bring their own:
     * count household heads' draws through every person whose name is theirs
     * is not independent, so test on households: the first adult of each. */
    const char *sn[] = {"JONES", "DAVIES", "WILLIAMS", "EVANS", "SMITH", "HUGHES"};
    for (size_t k = 0; k < 6; k++) {
        double w = surname_weight(sn[k]) / total, obs = 0, heads = 0;
        for (uint32_t i = 0; i < POP_N; i++) {
            bool head = i == 0 || strcmp(p[i].postcode, p[i - 1].postcode) != 0 ||
                        p[i].house != p[i - 1].house;
            if (!head)
                continue;
            heads++;
            obs += strcmp(dl__synth_names[p[i].sur], sn[k]) == 0;
        }
        assert_count(sn[k], obs, heads * w, heads * w * (1 - w));
    }

    /* Given names: expected count = sum over people of P(name | sex, birth year). */
    const char *gn[] = {"DAVID", "JOHN", "OLIVIA", "SARAH", "MARGARET", "RHYS", "OLIVER"};
    double *ctot = calloc(dl__synth_cohorts_n, sizeof *ctot);
    for (uint32_t c = 0; c < dl__synth_cohorts_n; c++)
        for (uint32_t i = 0; i < dl__synth_cohorts[c].count; i++)
            ctot[c] += dl__synth_given[dl__synth_cohorts[c].first + i].weight;
    double *qc = calloc(dl__synth_cohorts_n, sizeof *qc);
    for (size_t k = 0; k < sizeof gn / sizeof gn[0]; k++) {
        double obs = 0, exp = 0, var = 0;
        for (uint32_t c = 0; c < dl__synth_cohorts_n; c++)
            qc[c] = weight_in_cohort(c, gn[k]) / ctot[c];
        for (uint32_t i = 0; i < POP_N; i++) {
            int32_t y, mo, d;
            dl__civil_from_days(p[i].dob, &y, &mo, &d);
            double q = qc[dl__synth_cohort_of(p[i].sex, y)];
            exp += q;
            var += q * (1 - q);
            obs += strcmp(dl__synth_names[p[i].fore], gn[k]) == 0;
        }
        cr_assert_gt(exp, 100, "%s too rare to test", gn[k]);
        assert_count(gn[k], obs, exp, var);
    }
    free(ctot);
    free(qc);

    /* Households share surname and postcode; twins share date of birth too. */
    uint64_t twins = 0, children = 0, under18 = 0, over64 = 0;
    for (uint32_t i = 0; i < POP_N; i++) {
        if (p[i].age < 18) {
            children++;
            under18++;
        }
        if (p[i].age >= 65)
            over64++;
        if (i && p[i].age < 18 && p[i].dob == p[i - 1].dob && p[i].sur == p[i - 1].sur &&
            strcmp(p[i].postcode, p[i - 1].postcode) == 0)
            twins++;
        cr_assert_eq(p[i].id, i + 1);
    }
    cr_assert_gt(twins, 0.003 * children, "twins %llu of %llu children",
                 (unsigned long long)twins, (unsigned long long)children);
    cr_assert_lt(twins, 0.03 * children);
    /* Wales: about a fifth under 18 and a fifth 65 or over. */
    cr_assert(under18 > 0.15 * POP_N && under18 < 0.27 * POP_N, "under 18: %llu",
              (unsigned long long)under18);
    cr_assert(over64 > 0.15 * POP_N && over64 < 0.28 * POP_N, "65+: %llu",
              (unsigned long long)over64);
    free(p);
    dl__synth_model_free(&m);
    dl_synth_spec_free(spec);
}

Test(synth, nhs_numbers_are_valid_distinct_and_never_issued)
{
    dl__synth_model m;
    dl_synth_spec *spec;
    dl__person *p = make_population(&m, &spec);
    cr_assert_eq(m.nhs_n, 909091, "valid numbers in 9990000000..9999999999");
    char *seen = calloc(1000000, 1);
    for (uint32_t i = 0; i < POP_N; i++) {
        char norm[11];
        const char *why;
        cr_assert_eq(dl_normalise_nhs(p[i].nhs, 10, norm, &why), DL_NORM_OK, "%s", p[i].nhs);
        cr_assert(strncmp(p[i].nhs, "999", 3) == 0);
        uint32_t v = (uint32_t)atoi(p[i].nhs + 3) / 10;
        cr_assert_eq(seen[v], 0, "NHS number repeated below 909,091 people");
        seen[v] = 1;
    }
    free(seen);
    free(p);
    dl__synth_model_free(&m);
    dl_synth_spec_free(spec);
}

Test(synth, error_primitives_change_names_within_bounds)
{
    dl__rng r;
    dl__rng_seed(&r, 5, 0);
    uint32_t typo = 0, ocr = 0, phon = 0;
    for (uint32_t i = 0; i < 20000; i++) {
        char buf[DL__NAME_CAP], orig[DL__NAME_CAP];
        const char *name = dl__synth_names[dl__rng_below(&r, dl__synth_n_names)];
        snprintf(orig, sizeof orig, "%s", name);
        memcpy(buf, orig, sizeof buf);
        if (dl__err_typo(buf, &r)) {
            cr_assert_str_neq(buf, orig);
            typo++;
        }
        cr_assert_lt(strlen(buf), DL__NAME_CAP);
        memcpy(buf, orig, sizeof buf);
        if (dl__err_ocr(buf, &r)) {
            cr_assert_str_neq(buf, orig);
            ocr++;
        }
        memcpy(buf, orig, sizeof buf);
        if (dl__err_phonetic(buf, &r)) {
            cr_assert_str_neq(buf, orig);
            phon++;
        }
        cr_assert_lt(strlen(buf), DL__NAME_CAP);
    }
    cr_assert_gt(typo, 19000);
    cr_assert_gt(ocr, 15000);
    cr_assert_gt(phon, 15000);
    /* Known cases: Welsh F is English V; PH is F. */
    char b[DL__NAME_CAP] = "PHIL";
    cr_assert(dl__err_phonetic(b, &r));
    cr_assert_str_eq(b, "FIL");
    char e[DL__NAME_CAP] = "A";
    cr_assert_not(dl__err_phonetic(e, &r), "a one-letter name is left alone");
}

/* ---- runs -------------------------------------------------------------------------- */

static const char rates_spec[] =
    "version: 1\n"
    "people: 30000\n"
    "errors:\n"
    "%s"
    "datasets:\n"
    "  - name: a\n"
    "    id_prefix: A\n"
    "    columns: {id: record_id, f: forename, m: middle_name, s: surname, d: dob,\n"
    "              x: sex, p: postcode, n: nhs_number, ad: address}\n"
    "  - name: b\n"
    "    file: b.csv.gz\n"
    "    rate: 0.5\n"
    "    id_prefix: B\n"
    "    postcode_style: compact\n"
    "    columns: {id: record_id, f: forename, s: surname, p: postcode, n: nhs_number}\n";

Test(synth, injected_error_rates_follow_the_configuration)
{
    /* Every kind at 0.08: high enough to measure, each checked within 5 sd. */
    char errs[4096] = "", spec_text[8192];
    for (int k = 0; k < DL_SYNTH_ERR__COUNT; k++) {
        size_t n = strlen(errs);
        snprintf(errs + n, sizeof errs - n, "  %s: 0.08\n",
                 dl_synth_error_name((dl_synth_error_kind)k));
    }
    snprintf(spec_text, sizeof spec_text, rates_spec, errs);
    dl_synth_spec *s = parse_ok(spec_text);
    char *dir = tu_tmpdir();
    dl_synth_stats st;
    run_ok(s, dir, 0, 3, 2, false, &st);
    cr_assert_eq(st.people, 30000);
    for (int k = 0; k < DL_SYNTH_ERR__COUNT; k++) {
        double n = (double)st.eligible[k], rate = 0.08;
        cr_assert_gt(n, 1000, "%s: too few eligible records", dl_synth_error_name(k));
        double sd = sqrt(n * rate * (1 - rate));
        /* Spelling errors that find nothing to change (a name with no OCR
         * look-alike) are not counted, so they may fall a little short. */
        bool spelling = k == DL_SYNTH_ERR_FORENAME_OCR || k == DL_SYNTH_ERR_SURNAME_OCR ||
                        k == DL_SYNTH_ERR_FORENAME_PHONETIC || k == DL_SYNTH_ERR_SURNAME_PHONETIC ||
                        k == DL_SYNTH_ERR_FORENAME_TYPO || k == DL_SYNTH_ERR_SURNAME_TYPO;
        double lo = n * rate * (spelling ? 0.85 : 1) - 5 * sd, hi = n * rate + 5 * sd;
        cr_assert((double)st.injected[k] >= lo && (double)st.injected[k] <= hi,
                  "%s: %llu of %.0f (expected %.0f)", dl_synth_error_name(k),
                  (unsigned long long)st.injected[k], n, n * rate);
    }
    dl_synth_spec_free(s);
    tu_rmtree(dir);
    free(dir);
}

typedef struct missing_count {
    uint64_t empty_forename, rows;
} missing_count;

static void count_empty_forename(const dl_row *row, const dl_row *h, void *payload)
{
    missing_count *mc = payload;
    int f = col_index(h, "f");
    mc->rows++;
    mc->empty_forename += row->len[f] == 0;
}

Test(synth, missing_values_show_in_the_output_at_their_rate)
{
    char spec_text[8192];
    snprintf(spec_text, sizeof spec_text, rates_spec,
             "  forename_missing: 0.1\n  forename_placeholder: 0\n  name_swap: 0\n");
    dl_synth_spec *s = parse_ok(spec_text);
    char *dir = tu_tmpdir();
    dl_synth_stats st;
    run_ok(s, dir, 20000, 4, 1, false, &st);
    missing_count mc = {0};
    each_row(dir, "a.csv", count_empty_forename, &mc);
    cr_assert_eq(mc.rows, st.records[0]);
    double n = (double)mc.rows;
    assert_count("empty forenames", (double)mc.empty_forename, 0.1 * n, n * 0.09);
    dl_synth_spec_free(s);
    tu_rmtree(dir);
    free(dir);
}

typedef struct validity {
    uint64_t rows, nhs, postcodes, placeholders;
} validity;

static void check_ids(const dl_row *row, const dl_row *h, void *payload)
{
    validity *v = payload;
    v->rows++;
    for (size_t i = 0; i < h->n; i++) {
        const char *name = h->field[i], *val = row->field[i];
        if (!row->len[i])
            continue;
        if (strstr(name, "nhs")) {
            char out[11];
            const char *why;
            cr_assert_eq(dl_normalise_nhs(val, row->len[i], out, &why), DL_NORM_OK, "%s", val);
            cr_assert(strncmp(val, "999", 3) == 0, "%s", val);
            v->nhs++;
        } else if (strstr(name, "post")) {
            dl_postcode pc;
            const char *why;
            dl_norm_result r = dl_normalise_postcode(val, row->len[i], &pc, &why);
            if (r == DL_NORM_PLACEHOLDER) {
                v->placeholders++;
                continue;
            }
            cr_assert_eq(r, DL_NORM_OK, "%s", val);
            const char *areas = " CF SA NP LL LD SY ";
            char key[5] = {' ', pc.area[0], pc.area[1], ' ', 0};
            cr_assert(pc.area[0] && strstr(areas, key), "%s is not in a Welsh area", val);
            v->postcodes++;
        }
    }
}

Test(synth, nhs_numbers_and_postcodes_in_outputs_are_valid)
{
    dl_synth_spec *s;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_synth_spec_default(&s, &e), DL_OK);
    char *dir = tu_tmpdir();
    dl_synth_stats st;
    run_ok(s, dir, 30000, 9, 2, false, &st);
    validity v = {0};
    for (size_t d = 0; d < dl_synth_spec_datasets(s); d++)
        each_row(dir, dl_synth_spec_dataset_file(s, d), check_ids, &v);
    cr_assert_gt(v.nhs, 50000);
    cr_assert_gt(v.postcodes, 50000);
    cr_assert_gt(v.placeholders, 0, "the default scenario has pseudo-postcodes");
    dl_synth_spec_free(s);
    tu_rmtree(dir);
    free(dir);
}

/* ---- truth ------------------------------------------------------------------------- */

typedef struct truth_check {
    char **keys; /* "dataset,record_id" of every truth row, sorted */
    size_t n, cap;
    uint64_t max_person;
    uint8_t *seen[2]; /* records per person in register, extract */
    const char *dataset;
    uint64_t found;
} truth_check;

static void add_truth(const dl_row *row, const dl_row *h, void *payload)
{
    truth_check *t = payload;
    (void)h;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 1024;
        t->keys = realloc(t->keys, sizeof *t->keys * t->cap);
    }
    size_t n = row->len[0] + row->len[1] + 2;
    t->keys[t->n] = malloc(n);
    snprintf(t->keys[t->n++], n, "%s,%s", row->field[0], row->field[1]);
    uint64_t pid = strtoull(row->field[2], NULL, 10);
    cr_assert(pid >= 1 && pid <= t->max_person, "person id %llu", (unsigned long long)pid);
    t->seen[strcmp(row->field[0], "register") == 0 ? 0 : 1][pid - 1]++;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void find_record(const dl_row *row, const dl_row *h, void *payload)
{
    truth_check *t = payload;
    char key[128];
    snprintf(key, sizeof key, "%s,%s", t->dataset, row->field[col_index(h, "ref") >= 0
                                                                  ? col_index(h, "ref")
                                                                  : col_index(h, "id")]);
    char *k = key;
    cr_assert(bsearch(&k, t->keys, t->n, sizeof *t->keys, cmp_str), "%s not in truth", key);
    t->found++;
}

Test(synth, truth_matches_the_datasets)
{
    char *path = tu_source("config/examples/synth-small.yaml");
    dl_synth_spec *s;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_synth_spec_load(path, &s, &e), DL_OK);
    char *dir = tu_tmpdir();
    dl_synth_stats st;
    run_ok(s, dir, 0, 21, 2, false, &st);
    truth_check t = {.max_person = dl_synth_spec_people(s)};
    t.seen[0] = calloc(t.max_person, 1);
    t.seen[1] = calloc(t.max_person, 1);
    uint64_t rows = each_row(dir, "truth.csv", add_truth, &t);
    cr_assert_eq(rows, st.records[0] + st.records[1]);
    qsort(t.keys, t.n, sizeof *t.keys, cmp_str);
    for (size_t i = 1; i < t.n; i++)
        cr_assert_str_neq(t.keys[i - 1], t.keys[i], "record id repeated in truth");
    /* The register has everyone once (its errors_scale 0 means no duplicates);
     * the extract about half of them, 4% twice (duplicate 0.02, scale 2). */
    uint64_t in_extract = 0, twice = 0;
    for (uint64_t i = 0; i < t.max_person; i++) {
        cr_assert_eq(t.seen[0][i], 1, "person %llu: %d register records",
                     (unsigned long long)i + 1, t.seen[0][i]);
        cr_assert_leq(t.seen[1][i], 2);
        in_extract += t.seen[1][i] > 0;
        twice += t.seen[1][i] == 2;
    }
    assert_count("people in extract", (double)in_extract, 0.5 * t.max_person,
                 0.25 * t.max_person);
    assert_count("extract duplicates", (double)twice, 0.04 * in_extract, 0.04 * 0.96 * in_extract);
    for (size_t d = 0; d < 2; d++) {
        t.dataset = dl_synth_spec_dataset_name(s, d);
        t.found = 0;
        uint64_t n = each_row(dir, dl_synth_spec_dataset_file(s, d), find_record, &t);
        cr_assert_eq(n, st.records[d]);
        cr_assert_eq(t.found, n);
    }
    /* The manifest counts what was written. */
    char *mpath = tu_join(dir, "synth-manifest.json");
    char *m = tu_read(mpath, NULL);
    cr_assert(m);
    char want[64];
    snprintf(want, sizeof want, "\"records\": %llu", (unsigned long long)st.records[1]);
    cr_assert(strstr(m, want), "manifest lacks %s", want);
    cr_assert(strstr(m, "\"file\": \"truth.csv\""));
    for (size_t i = 0; i < t.n; i++)
        free(t.keys[i]);
    free(t.keys);
    free(t.seen[0]);
    free(t.seen[1]);
    free(m);
    free(mpath);
    dl_synth_spec_free(s);
    tu_rmtree(dir);
    free(dir);
    free(path);
}

/* ---- determinism ------------------------------------------------------------------ */

Test(synth, same_seed_same_bytes_at_any_thread_count)
{
    dl_synth_spec *s;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_synth_spec_default(&s, &e), DL_OK);
    /* Three chunks, so threads really share the work. */
    uint64_t n = 2 * DL_SYNTH_CHUNK + 1000;
    const size_t threads[] = {1, 2, 7};
    char *dirs[3];
    for (int i = 0; i < 3; i++) {
        dirs[i] = tu_tmpdir();
        run_ok(s, dirs[i], n, 42, threads[i], i == 2, NULL);
    }
    const char *files[] = {"spine.csv", "gp.csv", "la_carers.csv", "carers_allowance.csv",
                           "truth.csv"};
    for (int f = 0; f < 5; f++) {
        char *a = tu_join(dirs[0], files[f]), *b = tu_join(dirs[1], files[f]);
        cr_assert(same_file(a, b), "%s differs between 1 and 2 threads", files[f]);
        free(a);
        free(b);
    }
    char *m0 = tu_join(dirs[0], "synth-manifest.json"), *m1 = tu_join(dirs[1], "synth-manifest.json");
    cr_assert(same_file(m0, m1));
    free(m0);
    free(m1);
    /* 7 threads and gzip: the same content once decompressed. */
    for (int f = 0; f < 5; f++) {
        char name[64];
        snprintf(name, sizeof name, "%s.gz", files[f]);
        char *a = tu_join(dirs[0], files[f]), *b = tu_join(dirs[2], name);
        size_t la;
        char *plain = tu_read(a, &la);
        dl_gz_reader *g;
        cr_assert_eq(dl_gz_open(b, &g, &e), DL_OK, "%s", e.msg);
        cr_assert(dl_gz_is_gzip(g));
        char *got = malloc(la + 1);
        size_t have = 0, chunk;
        dl_status st;
        while ((st = dl_gz_read(g, got + have, la + 1 - have, &chunk, &e)) == DL_OK) {
            have += chunk;
            if (have > la)
                break;
        }
        cr_assert_eq(have, la, "%s: %zu bytes, want %zu", name, have, la);
        cr_assert(memcmp(got, plain, la) == 0, "%s differs from the plain file", name);
        dl_gz_close(g);
        free(got);
        free(plain);
        free(a);
        free(b);
    }
    /* Another seed, other people. */
    char *other = tu_tmpdir();
    run_ok(s, other, 5000, 43, 2, false, NULL);
    char *d5 = tu_tmpdir();
    run_ok(s, d5, 5000, 42, 2, false, NULL);
    char *a = tu_join(other, "spine.csv"), *b = tu_join(d5, "spine.csv");
    cr_assert_not(same_file(a, b));
    free(a);
    free(b);
    tu_rmtree(other);
    tu_rmtree(d5);
    free(other);
    free(d5);
    for (int i = 0; i < 3; i++) {
        tu_rmtree(dirs[i]);
        free(dirs[i]);
    }
    dl_synth_spec_free(s);
}

Test(synth, missing_output_folder_leaves_nothing)
{
    dl_synth_spec *s;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_synth_spec_default(&s, &e), DL_OK);
    dl_synth_opts o = DL_SYNTH_OPTS_INIT;
    o.people = 100;
    dl_status st = dl_synth_run(s, "/nonexistent/out", &o, NULL, &e);
    cr_assert_eq(st, DL_EIO, "status %d: %s", st, e.msg);
    cr_assert_eq(dl_synth_run(s, "", &o, NULL, &e), DL_EUSAGE);
    dl_synth_spec_free(s);
}

/* ---- the command ------------------------------------------------------------------ */

Test(synth, command_writes_the_demo)
{
    char *dir = tu_tmpdir();
    char *out = tu_join(dir, "demo");
    char *sout = NULL, *serr = NULL;
    const char *av[] = {"synth", "-o", out, "--seed", "1", "-n", "2000", NULL};
    cr_assert_eq(tu_dolen(av, &sout, &serr), 0, "stderr: %s", serr);
    cr_assert(strstr(sout, "people: 2000"), "%s", sout);
    const char *files[] = {"spine.csv", "gp.csv", "la_carers.csv", "carers_allowance.csv",
                           "truth.csv", "synth-manifest.json"};
    for (int i = 0; i < 6; i++) {
        char *p = tu_join(out, files[i]);
        char *t = tu_read(p, NULL);
        cr_assert(t, "%s missing", files[i]);
        free(t);
        free(p);
    }
    free(sout);
    free(serr);
    tu_rmtree(dir);
    free(dir);
    free(out);
}

Test(synth, command_usage_and_spec_errors)
{
    char *err = NULL;
    const char *av1[] = {"synth", "--seed", "1", NULL};
    cr_assert_eq(tu_dolen(av1, NULL, &err), 1);
    cr_assert(strstr(err, "output folder is required"), "%s", err);
    free(err);
    const char *av2[] = {"synth", "-o", "x", "--sed", "1", NULL};
    cr_assert_eq(tu_dolen(av2, NULL, &err), 1);
    cr_assert(strstr(err, "did you mean '--seed'?"), "%s", err);
    free(err);
    char *dir = tu_tmpdir();
    char *spec = tu_join(dir, "bad.yaml");
    tu_write_str(spec, "version: 1\npeople: lots\n");
    const char *av3[] = {"synth", "-s", spec, "-o", dir, NULL};
    cr_assert_eq(tu_dolen(av3, NULL, &err), 2);
    cr_assert(strstr(err, "bad.yaml:2:9: people must be a whole number"), "%s", err);
    free(err);
    tu_rmtree(dir);
    free(dir);
    free(spec);
}
