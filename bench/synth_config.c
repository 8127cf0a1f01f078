/* synth_config.c: SYNTH.yaml (a synthetic-data scenario) loaded into a checked
 * dl_synth_spec. Part of bench/; `dolen synth` reads it before generating. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "bench/synth_internal.h"
#include "dolen/suggest.h"

static const char default_yaml[] =
    /* A copy of config/examples/synth-carers.yaml (a test keeps them equal). */
    "# synth-carers.yaml: the built-in scenario of `dolen synth` (the carers story).\n"
    "# A Welsh population and four datasets sampled from it, each recorded the way a\n"
    "# different kind of system records people. docs/synth.md explains every key.\n"
    "version: 1\n"
    "people: 100000\n"
    "reference_date: 2024-03-31\n"
    "population:\n"
    "  carer_rate: 0.105        # adults giving unpaid care (Census 2021, Wales: 10.5%)\n"
    "  twin_rate: 0.015         # births that are twin pairs\n"
    "  middle_name_rate: 0.35   # people with a middle name\n"
    "  married_name_rate: 0.6   # partners who share the household surname\n"
    "  move_rate: 0.12          # households with an earlier address\n"
    "errors:                    # chance per record (see docs/synth.md)\n"
    "  forename_typo: 0.012\n"
    "  forename_ocr: 0.003\n"
    "  forename_phonetic: 0.008\n"
    "  forename_nickname: 0.02\n"
    "  forename_welsh_english: 0.15\n"
    "  forename_missing: 0.005\n"
    "  forename_placeholder: 0.002\n"
    "  middle_name_missing: 0.2\n"
    "  surname_typo: 0.015\n"
    "  surname_ocr: 0.003\n"
    "  surname_phonetic: 0.01\n"
    "  surname_variant: 0.05\n"
    "  surname_marriage: 0.4\n"
    "  surname_missing: 0.004\n"
    "  surname_placeholder: 0.001\n"
    "  name_swap: 0.004\n"
    "  dob_day_month_swap: 0.01\n"
    "  dob_year_slip: 0.004\n"
    "  dob_typo: 0.005\n"
    "  dob_missing: 0.003\n"
    "  dob_placeholder: 0.001\n"
    "  sex_missing: 0.003\n"
    "  sex_flip: 0.002\n"
    "  address_old: 0.3\n"
    "  address_missing: 0.01\n"
    "  postcode_typo: 0.008\n"
    "  postcode_missing: 0.01\n"
    "  postcode_placeholder: 0.002\n"
    "  nhs_missing: 0.02\n"
    "  nhs_transpose: 0\n"
    "  duplicate: 0.01\n"
    "datasets:\n"
    "  - name: spine                # everyone: a population register\n"
    "    file: spine.csv\n"
    "    id_prefix: SP\n"
    "    rate: 1.0\n"
    "    date_format: \"%Y%m%d\"\n"
    "    sex_codes: [M, F, U]\n"
    "    name_case: upper\n"
    "    postcode_style: spaced\n"
    "    columns:\n"
    "      spine_id: record_id\n"
    "      nhs_number: nhs_number\n"
    "      given_name: forename\n"
    "      middle_names: middle_name\n"
    "      family_name: surname\n"
    "      dob: dob\n"
    "      sex: sex\n"
    "      address: address\n"
    "      postcode: postcode\n"
    "  - name: gp                   # GP registrations\n"
    "    file: gp.csv\n"
    "    id_prefix: GP\n"
    "    rate: 0.95\n"
    "    date_format: \"%Y-%m-%d\"\n"
    "    sex_codes: [\"1\", \"2\", \"9\"]\n"
    "    event_years: 30\n"
    "    columns:\n"
    "      patient_ref: record_id\n"
    "      nhs_no: nhs_number\n"
    "      forenames: forenames\n"
    "      surname: surname\n"
    "      date_birth: dob\n"
    "      gender: sex\n"
    "      address_line_1: address\n"
    "      post_code: postcode\n"
    "      registration_date: event_date\n"
    "  - name: la_carers            # local-authority carers' assessments\n"
    "    file: la_carers.csv\n"
    "    id_prefix: LA\n"
    "    min_age: 18\n"
    "    rate: 0.04\n"
    "    carer_share: 1.0\n"
    "    nhs_number_rate: 0.4\n"
    "    date_format: \"%d/%m/%Y\"\n"
    "    sex_codes: [M, F, U]\n"
    "    name_case: title\n"
    "    event_years: 3\n"
    "    errors_scale: 1.5          # typed in from forms: more errors\n"
    "    columns:\n"
    "      person_id: record_id\n"
    "      forename: forename\n"
    "      surname: surname\n"
    "      date_of_birth: dob\n"
    "      sex: sex\n"
    "      postcode: postcode\n"
    "      nhs_number: nhs_number\n"
    "      address: address\n"
    "      ethnicity: ethnicity\n"
    "      care_type: care_type\n"
    "      assessment_date: event_date\n"
    "  - name: carers_allowance     # Carer's Allowance claims (benefits)\n"
    "    file: carers_allowance.csv\n"
    "    id_prefix: CA\n"
    "    min_age: 18\n"
    "    rate: 0.03\n"
    "    carer_share: 0.9\n"
    "    nhs_number_rate: 0\n"
    "    date_format: \"%d.%m.%Y\"\n"
    "    sex_codes: [MALE, FEMALE, UNKNOWN]\n"
    "    postcode_style: compact\n"
    "    event_years: 5\n"
    "    columns:\n"
    "      claim_id: record_id\n"
    "      first_name: forename\n"
    "      last_name: surname\n"
    "      birth_date: dob\n"
    "      sex: sex\n"
    "      address1: address\n"
    "      postcode: postcode\n"
    "      award_date: event_date\n";

const char *dl_synth_default_yaml(void)
{
    return default_yaml;
}

static const char *const error_names[DL_SYNTH_ERR__COUNT] = {
#define X(id, name, rate) name,
    DL_SYNTH_ERROR_LIST(X)
#undef X
};
static const double error_defaults[DL_SYNTH_ERR__COUNT] = {
#define X(id, name, rate) rate,
    DL_SYNTH_ERROR_LIST(X)
#undef X
};

const char *dl_synth_error_name(dl_synth_error_kind k)
{
    return (unsigned)k < DL_SYNTH_ERR__COUNT ? error_names[k] : "?";
}

double dl_synth_error_default(dl_synth_error_kind k)
{
    return (unsigned)k < DL_SYNTH_ERR__COUNT ? error_defaults[k] : 0;
}

static const char *const field_names[DL__SF__COUNT] = {
    [DL__SF_RECORD_ID] = "record_id",   [DL__SF_FORENAME] = "forename",
    [DL__SF_MIDDLE_NAME] = "middle_name", [DL__SF_FORENAMES] = "forenames",
    [DL__SF_SURNAME] = "surname",       [DL__SF_DOB] = "dob",
    [DL__SF_SEX] = "sex",               [DL__SF_POSTCODE] = "postcode",
    [DL__SF_ADDRESS] = "address",       [DL__SF_NHS_NUMBER] = "nhs_number",
    [DL__SF_ETHNICITY] = "ethnicity",   [DL__SF_CARE_TYPE] = "care_type",
    [DL__SF_EVENT_DATE] = "event_date",
};

const char *dl__synth_field_name(dl__synth_field f)
{
    return (unsigned)f < DL__SF__COUNT ? field_names[f] : "?";
}

uint64_t dl_synth_spec_people(const dl_synth_spec *s)
{
    return s->people;
}

size_t dl_synth_spec_datasets(const dl_synth_spec *s)
{
    return s->n_datasets;
}

const char *dl_synth_spec_dataset_name(const dl_synth_spec *s, size_t i)
{
    return i < s->n_datasets ? s->ds[i].name : NULL;
}

const char *dl_synth_spec_dataset_file(const dl_synth_spec *s, size_t i)
{
    return i < s->n_datasets ? s->ds[i].file : NULL;
}

void dl_synth_spec_free(dl_synth_spec *s)
{
    if (!s)
        return;
    dl_arena_free(s->arena);
    free(s);
}

/* ---- loader ------------------------------------------------------------------- */

typedef struct loader {
    yaml_document_t doc;
    const char *name;
    dl_synth_spec *spec;
    dl_error *err;
    double base_err[DL_SYNTH_ERR__COUNT];
} loader;

static uint64_t line_of(const yaml_node_t *n)
{
    return (uint64_t)n->start_mark.line + 1;
}

static uint64_t col_of(const yaml_node_t *n)
{
    return (uint64_t)n->start_mark.column + 1;
}

static dl_status fail_at(loader *L, const yaml_node_t *n, const char *fmt, ...) DL_PRINTF(3, 4);

static dl_status fail_at(loader *L, const yaml_node_t *n, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(L->err, DL_EINPUT, L->name, n ? line_of(n) : 0, n ? col_of(n) : 0,
                        "%s", msg);
}

static yaml_node_t *node(loader *L, int i)
{
    return yaml_document_get_node(&L->doc, i);
}

static const char *scalar(const yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const char *kind_name(const yaml_node_t *n)
{
    switch (n->type) {
    case YAML_SCALAR_NODE:
        return "a scalar";
    case YAML_SEQUENCE_NODE:
        return "a list";
    case YAML_MAPPING_NODE:
        return "a mapping";
    default:
        return "nothing";
    }
}

static dl_status want_mapping(loader *L, const yaml_node_t *n, const char *what)
{
    if (n->type != YAML_MAPPING_NODE)
        return fail_at(L, n, "%s must be a mapping (found %s)", what, kind_name(n));
    return DL_OK;
}

static dl_status unknown_key(loader *L, const yaml_node_t *k, const char *const *known,
                             size_t n, const char *where)
{
    /* YAML allows any node as a key ("[a]: b"); only plain strings are ours. */
    if (!scalar(k))
        return fail_at(L, k, "a key in %s must be a plain string (found %s)", where,
                       kind_name(k));
    const char *near = dl_suggest(scalar(k), known, n);
    if (near)
        return fail_at(L, k, "unknown key '%s' in %s (did you mean '%s'?)", scalar(k), where,
                       near);
    return fail_at(L, k, "unknown key '%s' in %s", scalar(k), where);
}

static dl_status get_double(loader *L, const yaml_node_t *v, const char *key, double lo,
                            double hi, double *out)
{
    const char *s = scalar(v);
    char *end;
    errno = 0;
    double d = s && *s ? strtod(s, &end) : NAN;
    if (!s || !*s || errno || *end || !isfinite(d) || d < lo || d > hi)
        return fail_at(L, v, "%s must be a number from %g to %g", key, lo, hi);
    *out = d;
    return DL_OK;
}

static dl_status get_uint(loader *L, const yaml_node_t *v, const char *key, uint64_t lo,
                          uint64_t hi, uint64_t *out)
{
    const char *s = scalar(v);
    char *end;
    errno = 0;
    unsigned long long u = 0;
    bool ok = s && *s >= '0' && *s <= '9';
    if (ok) {
        u = strtoull(s, &end, 10);
        ok = !errno && !*end && u >= lo && u <= hi;
    }
    if (!ok)
        return fail_at(L, v, "%s must be a whole number from %llu to %llu", key,
                       (unsigned long long)lo, (unsigned long long)hi);
    *out = u;
    return DL_OK;
}

static dl_status get_str(loader *L, const yaml_node_t *v, const char *key, const char **out)
{
    const char *s = scalar(v);
    if (!s)
        return fail_at(L, v, "%s must be a string (found %s)", key, kind_name(v));
    *out = dl_arena_strdup(L->spec->arena, s);
    if (!*out)
        return dl_error_set(L->err, DL_ENOMEM, L->name, 0, 0, "out of memory");
    return DL_OK;
}

static bool word_ok(const char *s, bool allow_empty, bool allow_dot)
{
    if (!*s && !allow_empty)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '_' || *s == '-' || (allow_dot && *s == '.')))
            return false;
    return true;
}

static dl_status get_date(loader *L, const yaml_node_t *v, const char *key, int32_t *out)
{
    const char *s = scalar(v);
    int y, m, d, n = 0;
    int32_t yy = 0, mm = 0, dd = 0;
    bool ok = s && strlen(s) == 10 && sscanf(s, "%4d-%2d-%2d%n", &y, &m, &d, &n) == 3 &&
              !s[n] && y >= 1900 && y <= 2200 && m >= 1 && m <= 12 && d >= 1 && d <= 31;
    /* A real calendar date survives the round trip through a day count. */
    if (ok)
        dl__civil_from_days(dl__days_from_civil(y, m, d), &yy, &mm, &dd);
    if (!ok || yy != y || mm != m || dd != d)
        return fail_at(L, v, "%s must be a date YYYY-MM-DD from 1900 to 2200", key);
    *out = dl__days_from_civil(y, m, d);
    return DL_OK;
}

/* A date format: %Y or %y, %m and %d once each, literals, %%. */
static dl_status check_date_format(loader *L, const yaml_node_t *v, const char *fmt)
{
    int y = 0, m = 0, d = 0;
    for (const char *p = fmt; *p; p++) {
        if (*p != '%')
            continue;
        p++;
        switch (*p) {
        case 'Y':
        case 'y':
            y++;
            break;
        case 'm':
            m++;
            break;
        case 'd':
            d++;
            break;
        case '%':
            break;
        default:
            return dl_error_set(L->err, DL_EINPUT, L->name, line_of(v), col_of(v),
                                "date_format: unknown directive at byte %zu (expected %%Y, "
                                "%%y, %%m, %%d or %%%%)",
                                (size_t)(p - fmt));
        }
    }
    if (y != 1 || m != 1 || d != 1)
        return fail_at(L, v, "date_format must hold a year (%%Y or %%y), %%m and %%d once each");
    return DL_OK;
}

static int find(const char *s, const char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return (int)i;
    return -1;
}

static dl_status load_errors(loader *L, const yaml_node_t *map, double *rates, const char *where)
{
    dl_status s = want_mapping(L, map, where);
    if (s)
        return s;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        int i = scalar(k) ? find(scalar(k), error_names, DL_SYNTH_ERR__COUNT) : -1;
        if (i < 0)
            return unknown_key(L, k, error_names, DL_SYNTH_ERR__COUNT, where);
        if ((s = get_double(L, v, scalar(k), 0, 1, &rates[i])))
            return s;
    }
    return DL_OK;
}

static const char *const top_keys[] = {"version", "people", "reference_date", "population",
                                       "errors", "datasets"};
static const char *const pop_keys[] = {"carer_rate", "twin_rate", "middle_name_rate",
                                       "married_name_rate", "move_rate"};
static const char *const ds_keys[] = {
    "name",        "file",          "id_prefix",  "min_age",      "rate",
    "carer_share", "nhs_number_rate", "event_years", "date_format", "sex_codes",
    "postcode_style", "name_case",  "errors_scale", "errors",     "columns"};
#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

static dl_status load_population(loader *L, const yaml_node_t *map)
{
    dl_synth_spec *S = L->spec;
    dl_status s = want_mapping(L, map, "population");
    if (s)
        return s;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        double *dst = NULL;
        switch (find(key, pop_keys, N_OF(pop_keys))) {
        case 0:
            dst = &S->carer_rate;
            break;
        case 1:
            dst = &S->twin_rate;
            break;
        case 2:
            dst = &S->middle_rate;
            break;
        case 3:
            dst = &S->married_rate;
            break;
        case 4:
            dst = &S->move_rate;
            break;
        default:
            return unknown_key(L, k, pop_keys, N_OF(pop_keys), "population");
        }
        /* A carer rate of 1 would leave no non-carers to sample from. */
        if ((s = get_double(L, v, key, 0, dst == &S->carer_rate ? 0.99 : 1, dst)))
            return s;
    }
    return DL_OK;
}

static dl_status load_columns(loader *L, dl__synth_dataset *d, const yaml_node_t *map)
{
    dl_status s = want_mapping(L, map, "columns");
    if (s)
        return s;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *name = scalar(k);
        if (!name || !*name || strpbrk(name, "\r\n"))
            return fail_at(L, k, "a column name must be a non-empty single-line string");
        if (d->n_cols == DL_SYNTH_MAX_COLUMNS)
            return fail_at(L, k, "too many columns (at most %d)", DL_SYNTH_MAX_COLUMNS);
        for (uint32_t i = 0; i < d->n_cols; i++)
            if (strcmp(d->col_name[i], name) == 0)
                return fail_at(L, k, "column '%s' appears twice", name);
        const char *f = scalar(v);
        int fi = f ? find(f, field_names, DL__SF__COUNT) : -1;
        if (fi < 0) {
            const char *near = f ? dl_suggest(f, field_names, DL__SF__COUNT) : NULL;
            if (near)
                return fail_at(L, v, "unknown field '%s' (did you mean '%s'?)", f, near);
            return fail_at(L, v, "a column's value must be one of the fields record_id, "
                                 "forename, middle_name, forenames, surname, dob, sex, "
                                 "postcode, address, nhs_number, ethnicity, care_type, "
                                 "event_date");
        }
        if ((s = get_str(L, k, "column", &d->col_name[d->n_cols])))
            return s;
        d->col_field[d->n_cols++] = (dl__synth_field)fi;
    }
    if (d->n_cols == 0)
        return fail_at(L, map, "columns must list at least one column");
    return DL_OK;
}

static dl_status load_dataset(loader *L, const yaml_node_t *map, dl__synth_dataset *d)
{
    dl_status s = want_mapping(L, map, "a dataset");
    if (s)
        return s;
    d->line = (uint32_t)line_of(map);
    d->col = (uint32_t)col_of(map);
    d->id_prefix = "";
    d->rate = 1;
    d->carer_share = -1;
    d->nhs_rate = 1;
    d->event_years = 5;
    d->date_format = "%Y-%m-%d";
    d->sex_codes[0] = "M";
    d->sex_codes[1] = "F";
    d->sex_codes[2] = "U";
    d->postcode_style = DL__PC_SPACED;
    d->name_case = DL__CASE_UPPER;
    double scale = 1;
    double rates[DL_SYNTH_ERR__COUNT];
    memcpy(rates, L->base_err, sizeof rates);
    const yaml_node_t *carer_node = NULL, *columns = NULL;
    uint64_t u;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        switch (find(key, ds_keys, N_OF(ds_keys))) {
        case 0:
            if ((s = get_str(L, v, key, &d->name)))
                return s;
            if (!word_ok(d->name, false, false) || strlen(d->name) > 64)
                return fail_at(L, v, "name must be at most 64 letters, digits, '_' or '-'");
            break;
        case 1:
            if ((s = get_str(L, v, key, &d->file)))
                return s;
            if (!word_ok(d->file, false, true) || d->file[0] == '.')
                return fail_at(L, v, "file must be a plain file name (letters, digits, "
                                     "'_', '-', '.'; no folder)");
            break;
        case 2:
            if ((s = get_str(L, v, key, &d->id_prefix)))
                return s;
            if (!word_ok(d->id_prefix, true, false) || strlen(d->id_prefix) > 16)
                return fail_at(L, v, "id_prefix must be at most 16 letters, digits, '_' "
                                     "or '-'");
            break;
        case 3:
            if ((s = get_uint(L, v, key, 0, 120, &u)))
                return s;
            d->min_age = (uint32_t)u;
            break;
        case 4:
            if ((s = get_double(L, v, key, 0, 1, &d->rate)))
                return s;
            break;
        case 5:
            if ((s = get_double(L, v, key, 0, 1, &d->carer_share)))
                return s;
            carer_node = v;
            break;
        case 6:
            if ((s = get_double(L, v, key, 0, 1, &d->nhs_rate)))
                return s;
            break;
        case 7:
            if ((s = get_double(L, v, key, 0, 100, &d->event_years)))
                return s;
            break;
        case 8:
            if ((s = get_str(L, v, key, &d->date_format)))
                return s;
            if ((s = check_date_format(L, v, d->date_format)))
                return s;
            break;
        case 9:
            if (v->type != YAML_SEQUENCE_NODE ||
                v->data.sequence.items.top - v->data.sequence.items.start != 3)
                return fail_at(L, v, "sex_codes must be a list of three codes: male, female, "
                                     "unknown");
            for (int i = 0; i < 3; i++) {
                yaml_node_t *c = node(L, v->data.sequence.items.start[i]);
                if ((s = get_str(L, c, "a sex code", &d->sex_codes[i])))
                    return s;
                if (strpbrk(d->sex_codes[i], "\r\n") || strlen(d->sex_codes[i]) > 32)
                    return fail_at(L, c, "a sex code must be one line of at most 32 bytes");
            }
            break;
        case 10: {
            const char *st = scalar(v);
            if (st && strcmp(st, "spaced") == 0)
                d->postcode_style = DL__PC_SPACED;
            else if (st && strcmp(st, "compact") == 0)
                d->postcode_style = DL__PC_COMPACT;
            else
                return fail_at(L, v, "postcode_style must be spaced or compact");
            break;
        }
        case 11: {
            const char *st = scalar(v);
            if (st && strcmp(st, "upper") == 0)
                d->name_case = DL__CASE_UPPER;
            else if (st && strcmp(st, "title") == 0)
                d->name_case = DL__CASE_TITLE;
            else
                return fail_at(L, v, "name_case must be upper or title");
            break;
        }
        case 12:
            if ((s = get_double(L, v, key, 0, 100, &scale)))
                return s;
            break;
        case 13:
            if ((s = load_errors(L, v, rates, "a dataset's errors")))
                return s;
            break;
        case 14:
            columns = v;
            break;
        default:
            return unknown_key(L, k, ds_keys, N_OF(ds_keys), "a dataset");
        }
    }
    if (!d->name)
        return fail_at(L, map, "a dataset needs a name");
    if (!columns)
        return fail_at(L, map, "dataset '%s' needs columns", d->name);
    if ((s = load_columns(L, d, columns)))
        return s;
    if (!d->file) {
        char buf[256];
        snprintf(buf, sizeof buf, "%s.csv", d->name);
        if (!(d->file = dl_arena_strdup(L->spec->arena, buf)))
            return dl_error_set(L->err, DL_ENOMEM, L->name, 0, 0, "out of memory");
    }
    /* Rates above 1 after scaling are capped: a scale is a rough dial. */
    for (int i = 0; i < DL_SYNTH_ERR__COUNT; i++)
        d->err[i] = fmin(1.0, rates[i] * scale);
    if (carer_node && d->min_age < 18)
        return fail_at(L, carer_node, "carer_share needs min_age 18 or more (carers are "
                                      "adults)");
    return DL_OK;
}

/* With carer_share c_s, a record comes from a carer with that share: the
 * chances for a carer and for anyone else follow from rate and carer_rate. */
static dl_status derive_sampling(loader *L, dl__synth_dataset *d, const yaml_node_t *map)
{
    double c = L->spec->carer_rate;
    if (d->carer_share < 0) {
        d->p_carer = d->p_other = d->rate;
        return DL_OK;
    }
    if (c <= 0 && d->carer_share > 0)
        return fail_at(L, map, "dataset '%s' has carer_share but population.carer_rate is 0",
                       d->name);
    d->p_carer = c > 0 ? d->rate * d->carer_share / c : 0;
    d->p_other = d->rate * (1 - d->carer_share) / (1 - c);
    if (d->p_carer > 1 + 1e-9)
        return fail_at(L, map,
                       "dataset '%s': carer_share %g of rate %g needs more carers than "
                       "carer_rate %g gives (rate * carer_share must be <= carer_rate)",
                       d->name, d->carer_share, d->rate, c);
    d->p_carer = fmin(1, d->p_carer);
    return DL_OK;
}

static dl_status load_root(loader *L, const yaml_node_t *root)
{
    dl_synth_spec *S = L->spec;
    dl_status s = want_mapping(L, root, "the scenario");
    if (s)
        return s;
    const yaml_node_t *datasets = NULL, *errors = NULL, *version = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *v = node(L, p->value);
        const char *key = scalar(k) ? scalar(k) : "";
        uint64_t u;
        switch (find(key, top_keys, N_OF(top_keys))) {
        case 0:
            if ((s = get_uint(L, v, key, 1, 1, &u)))
                return s;
            version = v;
            break;
        case 1:
            if ((s = get_uint(L, v, key, 1, 1000000000, &S->people)))
                return s;
            break;
        case 2:
            if ((s = get_date(L, v, key, &S->ref_day)))
                return s;
            break;
        case 3:
            if ((s = load_population(L, v)))
                return s;
            break;
        case 4:
            errors = v;
            break;
        case 5:
            datasets = v;
            break;
        default:
            return unknown_key(L, k, top_keys, N_OF(top_keys), "the scenario");
        }
    }
    if (!version)
        return fail_at(L, root, "the scenario needs 'version: 1'");
    /* Errors first: datasets start from these rates wherever they appear. */
    if (errors && (s = load_errors(L, errors, L->base_err, "errors")))
        return s;
    if (!datasets)
        return fail_at(L, root, "the scenario needs a 'datasets' list");
    if (datasets->type != YAML_SEQUENCE_NODE)
        return fail_at(L, datasets, "datasets must be a list (found %s)", kind_name(datasets));
    int n = (int)(datasets->data.sequence.items.top - datasets->data.sequence.items.start);
    if (n == 0)
        return fail_at(L, datasets, "datasets must list at least one dataset");
    if (n > DL_SYNTH_MAX_DATASETS)
        return fail_at(L, datasets, "too many datasets (at most %d)", DL_SYNTH_MAX_DATASETS);
    for (int i = 0; i < n; i++) {
        yaml_node_t *m = node(L, datasets->data.sequence.items.start[i]);
        dl__synth_dataset *d = &S->ds[i];
        if ((s = load_dataset(L, m, d)) || (s = derive_sampling(L, d, m)))
            return s;
        for (int j = 0; j < i; j++) {
            if (strcmp(S->ds[j].name, d->name) == 0)
                return fail_at(L, m, "dataset name '%s' is used twice", d->name);
            if (strcmp(S->ds[j].file, d->file) == 0)
                return fail_at(L, m, "file '%s' is used by two datasets", d->file);
        }
        if (strcmp(d->file, "synth-manifest.json") == 0 || strncmp(d->file, "truth.csv", 9) == 0)
            return fail_at(L, m, "file '%s' is reserved for the manifest or truth", d->file);
        S->n_datasets++;
    }
    return DL_OK;
}

dl_status dl_synth_spec_parse(const char *text, size_t len, const char *name,
                              dl_synth_spec **out, dl_error *err)
{
    *out = NULL;
    loader L = {.name = name ? name : "<synth spec>", .err = err};
    for (int i = 0; i < DL_SYNTH_ERR__COUNT; i++)
        L.base_err[i] = error_defaults[i];
    dl_synth_spec *S = calloc(1, sizeof *S);
    if (!S || !(S->arena = dl_arena_new(0))) {
        free(S);
        return dl_error_set(err, DL_ENOMEM, L.name, 0, 0, "out of memory");
    }
    S->people = 10000;
    S->ref_day = dl__days_from_civil(2024, 3, 31);
    S->carer_rate = 0.105;
    S->twin_rate = 0.015;
    S->middle_rate = 0.35;
    S->married_rate = 0.6;
    S->move_rate = 0.12;
    L.spec = S;

    yaml_parser_t parser;
    if (!yaml_parser_initialize(&parser)) {
        dl_synth_spec_free(S);
        return dl_error_set(err, DL_ENOMEM, L.name, 0, 0, "out of memory");
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    dl_status s;
    if (!yaml_parser_load(&parser, &L.doc)) {
        s = dl_error_set(err, DL_EINPUT, L.name, (uint64_t)parser.problem_mark.line + 1,
                         (uint64_t)parser.problem_mark.column + 1, "bad YAML: %s%s%s",
                         parser.problem ? parser.problem : "unreadable",
                         parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        dl_synth_spec_free(S);
        return s;
    }
    yaml_node_t *root = yaml_document_get_root_node(&L.doc);
    if (!root)
        s = dl_error_set(err, DL_EINPUT, L.name, 1, 1, "empty scenario (expected a mapping "
                                                        "with version, people, datasets)");
    else
        s = load_root(&L, root);
    yaml_document_delete(&L.doc);
    yaml_parser_delete(&parser);
    if (s) {
        dl_synth_spec_free(S);
        return s;
    }
    *out = S;
    return DL_OK;
}

dl_status dl_synth_spec_load(const char *path, dl_synth_spec **out, dl_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f)
        return dl_error_os(err, errno == ENOENT ? DL_EINPUT : DL_EIO, errno, path,
                           "cannot open scenario");
    dl_buf b = DL_BUF_INIT;
    char tmp[65536];
    size_t n;
    dl_status s = DL_OK;
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) {
        if (b.len + n > ((size_t)16 << 20)) {
            s = dl_error_set(err, DL_EINPUT, path, 0, 0, "scenario larger than 16 MiB");
            break;
        }
        if (!dl_buf_append(&b, tmp, n)) {
            s = dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory");
            break;
        }
    }
    if (!s && ferror(f))
        s = dl_error_os(err, DL_EIO, errno, path, "cannot read scenario");
    fclose(f);
    if (!s)
        s = dl_synth_spec_parse(b.data ? b.data : "", b.len, path, out, err);
    dl_buf_free(&b);
    return s;
}

dl_status dl_synth_spec_default(dl_synth_spec **out, dl_error *err)
{
    return dl_synth_spec_parse(default_yaml, sizeof default_yaml - 1, "<built-in scenario>",
                               out, err);
}
