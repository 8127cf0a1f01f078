/* spec_load.c: read a YAML linkage spec into a validated, typed dl_spec.
 * Part of config/; prepare, link and extract all start here, so every mistake
 * in a spec is caught once, with file:line:column and the intended key. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/spec_internal.h"
#include "config/spec_parse.h"
#include "dolen/arena.h"
#include "dolen/spec.h"
#include "dolen/suggest.h"

/* A spec file is a page of YAML; anything far bigger is a mistake (the wrong
 * file given), not a spec. */
#define MAX_SPEC_BYTES (4u << 20)
#define MAX_FORMATS 8
#define MAX_PLACEHOLDERS 256
#define MAX_DATE_PLACEHOLDERS 16 /* prepare compiles them into a fixed table */

/* The spec and the arena holding everything it points to, freed together. */
typedef struct spec_box {
    dl_spec spec;
    dl_arena *arena;
} spec_box;

/* ---- the sections ------------------------------------------------------ */

static const char *const top_keys[] = {
    "version",  "name",       "link_type",  "input",       "bloom",
    "fields",   "clk",        "content",    "comparisons", "blocking",
    "training", "thresholds", "clustering", "outputs",
};
enum {
    K_VERSION,
    K_NAME,
    K_LINK_TYPE,
    K_INPUT,
    K_BLOOM,
    K_FIELDS,
    K_CLK,
    K_CONTENT,
    K_COMPARISONS,
    K_BLOCKING,
    K_TRAINING,
    K_THRESHOLDS,
    K_CLUSTERING,
    K_OUTPUTS,
    K__N
};

static const char *const bloom_keys[] = {"q",    "bits",    "k",        "padded",
                                         "salt", "balance", "xor_folds"};
enum { B_Q, B_BITS, B_K, B_PADDED, B_SALT, B_BALANCE, B_XOR, B__N };

/* Apply the bloom keys present in V over *O. The salt is kept as its node for
 * resolution once every field is known. */
static dl_status parse_bloom(spec_ctx *c, const ynode *const *v, dl_bloom_opts *o,
                             const ynode **salt)
{
    dl_status st = DL_OK;
    if (dl__y_present(v[B_Q]) && (st = dl__y_get_unsigned(c, v[B_Q], "q", 1, 4, &o->q)))
        return st;
    if (dl__y_present(v[B_BITS])) {
        if ((st = dl__y_get_unsigned(c, v[B_BITS], "bits", 64, 8192, &o->bits)))
            return st;
        if (o->bits % 64)
            return dl__y_fail(c, v[B_BITS], "bits must be a multiple of 64, found %u",
                              o->bits);
    }
    if (dl__y_present(v[B_K]) && (st = dl__y_get_unsigned(c, v[B_K], "k", 1, 64, &o->k)))
        return st;
    if (dl__y_present(v[B_PADDED]) &&
        (st = dl__y_get_bool(c, v[B_PADDED], "padded", &o->padded)))
        return st;
    if (dl__y_present(v[B_BALANCE]) &&
        (st = dl__y_get_bool(c, v[B_BALANCE], "balance", &o->balance)))
        return st;
    if (dl__y_present(v[B_XOR]) &&
        (st = dl__y_get_unsigned(c, v[B_XOR], "xor_folds", 0, 3, &o->xor_folds)))
        return st;
    if (v[B_SALT]) {
        if (dl__y_is_null(v[B_SALT])) {
            *salt = NULL;
            o->salt_field = NULL;
        } else if (v[B_SALT]->kind != YN_SCALAR) {
            return dl__y_fail(c, v[B_SALT], "expected a field name for 'salt', found %s",
                              dl__y_describe(v[B_SALT]));
        } else {
            *salt = v[B_SALT];
        }
    }
    return DL_OK;
}

/* XOR-folding halves the filter each time; what is left must still be whole
 * 64-bit words. */
static dl_status check_folds(spec_ctx *c, const ynode *at, const dl_bloom_opts *o)
{
    if (o->bits % (64u << o->xor_folds))
        return dl__y_fail(
            c, at,
            "bits %u folded %u times is not a multiple of 64 (use bits divisible by "
            "%u or fewer xor_folds)",
            o->bits, o->xor_folds, 64u << o->xor_folds);
    return DL_OK;
}

int dl__spec_find_field(const dl_spec *s, const char *name)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* An unknown field name in N, with the nearest declared one suggested. */
dl_status dl__spec_unknown_field(spec_ctx *c, const ynode *n, const char *name,
                                 const char *in)
{
    const char *names[DL_SPEC_MAX_FIELDS];
    for (size_t i = 0; i < c->spec->n_fields; i++)
        names[i] = c->spec->fields[i].name;
    const char *near = dl_suggest(name, names, c->spec->n_fields);
    char sh[48];
    snprintf(sh, sizeof sh, "%.40s", name);
    if (near)
        return dl__y_fail(c, n, "unknown field '%s'%s (did you mean '%s'?)", sh, in, near);
    return dl__y_fail(c, n, "unknown field '%s'%s (declare it under fields:)", sh, in);
}

/* A field name that must be declared; its index into *out. */
static dl_status get_field_ref(spec_ctx *c, const ynode *n, const char *key, int *out)
{
    *out = -1;
    if (n->kind != YN_SCALAR || dl__y_is_null(n))
        return dl__y_fail(c, n, "expected a field name for '%s', found %s", key,
                          dl__y_describe(n));
    int i = dl__spec_find_field(c->spec, n->s);
    if (i < 0)
        return dl__spec_unknown_field(c, n, n->s, "");
    *out = i;
    return DL_OK;
}

static dl_status resolve_salt(spec_ctx *c, const ynode *salt, int self, dl_bloom_opts *o,
                              const char *whose)
{
    if (!salt) {
        o->salt_field = NULL;
        return DL_OK;
    }
    int i;
    dl_status st = get_field_ref(c, salt, "salt", &i);
    if (st)
        return st;
    if (i == self)
        return dl__y_fail(c, salt,
                          "salt field '%s' cannot salt its own filter (%s; name another "
                          "field)",
                          c->spec->fields[i].name, whose);
    o->salt_field = c->spec->fields[i].name;
    return DL_OK;
}

static dl_status parse_input(spec_ctx *c, const ynode *m)
{
    static const char *const keys[] = {"record_id", "delimiter", "trim", "max_field_bytes"};
    const ynode *v[4];
    dl_spec *s = c->spec;
    dl_status st = dl__y_check_map(c, m, "input", keys, 4, v, NULL);
    if (st)
        return st;
    if (!dl__y_present(v[0]))
        return v[0] ? dl__y_fail(c, v[0],
                                 "'record_id' has no value (expected a column name)")
                    : dl__y_missing(c, m, "record_id", "input");
    if ((st = dl__y_get_string(c, v[0], "record_id", &s->record_id)))
        return st;
    if (dl__y_present(v[1])) {
        const ynode *d = v[1];
        if (d->kind != YN_SCALAR)
            return dl__y_fail(c, d, "expected one character for 'delimiter', found %s",
                              dl__y_describe(d));
        /* "\t" arrives as a tab from a double-quoted string, or as backslash
           and t from a plain or single-quoted one: accept both. */
        char ch;
        if (d->len == 1)
            ch = d->s[0];
        else if (d->len == 2 && d->s[0] == '\\' && d->s[1] == 't')
            ch = '\t';
        else
            return dl__y_fail(
                c, d,
                "expected one byte for 'delimiter' (such as \",\" or \"\\t\"), "
                "found %zu bytes",
                d->len);
        if (ch == '"' || ch == '\n' || ch == '\r' || ch == ' ' || (unsigned char)ch >= 0x80)
            return dl__y_fail(c, d,
                              "a delimiter cannot be a quote, a space, a line break or a "
                              "non-ASCII byte");
        s->delimiter = ch;
    }
    if (dl__y_present(v[2]) && (st = dl__y_get_bool(c, v[2], "trim", &s->trim)))
        return st;
    if (dl__y_present(v[3])) {
        uint64_t x;
        if ((st = dl__y_get_uint(c, v[3], "max_field_bytes", 1, 16u << 20, &x)))
            return st;
        s->max_field_bytes = (size_t)x;
    }
    return DL_OK;
}

/* Normalise a name or text placeholder as prepare's normaliser compares it:
 * ASCII only (folding of other letters belongs to prepare), upper case,
 * spaces trimmed and collapsed. */
static dl_status norm_placeholder(spec_ctx *c, const ynode *n, const char **out)
{
    if (n->kind != YN_SCALAR || dl__y_is_null(n))
        return dl__y_fail(c, n, "expected a string for a placeholder, found %s",
                          dl__y_describe(n));
    char *p = dl_arena_alloc(c->arena, n->len + 1);
    if (!p)
        return dl__y_nomem(c);
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char)n->s[i];
        if (ch < 0x20 || ch >= 0x7f)
            return dl__y_fail(
                c, n, "placeholders must be printable ASCII (found byte 0x%02x)", ch);
        if (ch == ' ') {
            space = o > 0;
            continue;
        }
        if (space)
            p[o++] = ' ';
        space = false;
        p[o++] = (char)toupper(ch);
    }
    p[o] = '\0';
    if (o == 0)
        return dl__y_fail(c, n, "an empty placeholder (empty values are missing already)");
    *out = p;
    return DL_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static dl_status parse_placeholders(spec_ctx *c, const ynode *n, dl_spec_field *f)
{
    if (f->type != DL_FT_GIVEN_NAME && f->type != DL_FT_SURNAME && f->type != DL_FT_TEXT &&
        f->type != DL_FT_DATE)
        return dl__y_fail(c, n,
                          "placeholders apply to name, text and date fields, not to %s",
                          dl_field_type_name(f->type));
    dl_status st =
        dl__y_expect_list(c, n, "placeholders", 0,
                          f->type == DL_FT_DATE ? MAX_DATE_PLACEHOLDERS : MAX_PLACEHOLDERS);
    if (st)
        return st;
    const char **arr = dl_arena_alloc(c->arena, (n->n ? n->n : 1) * sizeof *arr);
    if (!arr)
        return dl__y_nomem(c);
    size_t k = 0;
    for (const ynode *it = n->first; it; it = it->next) {
        if (f->type == DL_FT_DATE) {
            int32_t d;
            if (it->kind != YN_SCALAR || !dl__y_parse_iso_date(it->s, &d))
                return dl__y_fail(c, it,
                                  "expected a date YYYY-MM-DD as a placeholder, found %s",
                                  dl__y_describe(it));
            /* Stored re-written as YYYY-MM-DD, so equal dates compare equal. */
            char *p = dl_arena_alloc(c->arena, 11);
            if (!p)
                return dl__y_nomem(c);
            dl__spec_date_str(d, p);
            arr[k++] = p;
        } else if ((st = norm_placeholder(c, it, &arr[k++]))) {
            return st;
        }
    }
    qsort(arr, k, sizeof *arr, cmp_str);
    size_t u = 0;
    for (size_t i = 0; i < k; i++)
        if (u == 0 || strcmp(arr[u - 1], arr[i]) != 0)
            arr[u++] = arr[i];
    f->placeholders = arr;
    f->n_placeholders = u;
    return DL_OK;
}

/* Date formats use %d %m %Y %y %b %% and literal characters; each format
 * needs a year and names each part at most once. */
static dl_status check_format(spec_ctx *c, const ynode *n)
{
    if (n->kind != YN_SCALAR || dl__y_is_null(n))
        return dl__y_fail(c, n, "expected a date format such as \"%%d/%%m/%%Y\", found %s",
                          dl__y_describe(n));
    int seen[128] = {0};
    for (size_t i = 0; i < n->len; i++) {
        if (n->s[i] != '%')
            continue;
        char d = i + 1 < n->len ? n->s[i + 1] : '\0';
        if (!d || !strchr("dmYyb%", d))
            return dl__y_fail_at(
                c, n->line, n->col,
                "unknown directive in date format at byte %zu (allowed: %%d %%m "
                "%%Y %%y %%b %%%%)",
                i + 1);
        i++;
        if (d != '%' && seen[(int)d]++)
            return dl__y_fail(c, n, "date format repeats %%%c", d);
    }
    int year = seen['Y'] + seen['y'], month = seen['m'] + seen['b'];
    if (year != 1)
        return dl__y_fail(c, n, "a date format needs exactly one year (%%Y or %%y)");
    if (month > 1)
        return dl__y_fail(c, n, "a date format needs at most one month (%%m or %%b)");
    if (seen['d'] && !month)
        return dl__y_fail(c, n,
                          "a date format with a day (%%d) needs a month (%%m or %%b)");
    return DL_OK;
}

static const char *const default_formats[] = {"%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"};

static const char *const field_keys[] = {"name",     "column",       "type",  "features",
                                         "required", "placeholders", "bloom", "formats",
                                         "min",      "max",          "token_key"};
enum {
    F_NAME,
    F_COLUMN,
    F_TYPE,
    F_FEATURES,
    F_REQUIRED,
    F_PLACEHOLDERS,
    F_BLOOM,
    F_FORMATS,
    F_MIN,
    F_MAX,
    F_TOKEN_KEY,
    F__N
};

static dl_status parse_features(spec_ctx *c, const ynode *n, dl_spec_field *f)
{
    const char *feat_names[DL_FEAT__COUNT];
    for (int i = 0; i < DL_FEAT__COUNT; i++)
        feat_names[i] = dl_feature_name((dl_feature_kind)i);
    dl_status st = dl__y_expect_list(c, n, "features", 1, DL_SPEC_MAX_FEATURES);
    if (st)
        return st;
    for (const ynode *it = n->first; it; it = it->next) {
        int k = 0;
        if (it->kind != YN_SCALAR)
            return dl__y_fail(c, it, "expected a feature name, found %s",
                              dl__y_describe(it));
        if ((st = dl__y_get_enum(c, it, "feature", feat_names, DL_FEAT__COUNT, &k)))
            return st;
        if (!dl_feature_allowed(f->type, (dl_feature_kind)k))
            return dl__y_fail(c, it, "feature '%s' is not available for type %s",
                              feat_names[k], dl_field_type_name(f->type));
        for (size_t j = 0; j < f->n_features; j++)
            if (f->features[j] == (dl_feature_kind)k)
                return dl__y_fail(c, it, "feature '%s' is listed twice", feat_names[k]);
        f->features[f->n_features++] = (dl_feature_kind)k;
    }
    return DL_OK;
}

bool dl__spec_has_feature(const dl_spec_field *f, dl_feature_kind k)
{
    for (size_t i = 0; i < f->n_features; i++)
        if (f->features[i] == k)
            return true;
    return false;
}

/* Name and surname normalise alike (names.md), so their tokens can be
 * compared; other types share a token key only with their own type. */
static bool normalised_alike(dl_field_type a, dl_field_type b)
{
    bool na = a == DL_FT_GIVEN_NAME || a == DL_FT_SURNAME;
    bool nb = b == DL_FT_GIVEN_NAME || b == DL_FT_SURNAME;
    return a == b || (na && nb);
}

/* token_key of field IDX: its token is keyed under the shared label, so it
 * equals the token of the same value in every field with that key. The
 * fields before it are parsed, so the type check against them is here. */
static dl_status parse_token_key(spec_ctx *c, const ynode *n, size_t idx)
{
    dl_spec_field *f = &c->spec->fields[idx];
    dl_status st = dl__y_get_string(c, n, "token_key", &f->token_key);
    if (st)
        return st;
    if (!dl__y_is_field_name(f->token_key))
        return dl__y_fail(c, n,
                          "token_key must be a lower-case letter then up to 31 "
                          "lower-case letters, digits or '_'");
    if (!dl__spec_has_feature(f, DL_FEAT_TOKEN))
        return dl__y_fail(c, n, "token_key needs the feature 'token' in %s's features",
                          f->name);
    for (size_t i = 0; i < idx; i++) {
        const dl_spec_field *o = &c->spec->fields[i];
        if (o->token_key && strcmp(o->token_key, f->token_key) == 0 &&
            !normalised_alike(o->type, f->type))
            return dl__y_fail(c, n,
                              "token_key '%s' is shared with field '%s' of type %s, but "
                              "%s is %s (only names, or fields of one type, normalise "
                              "alike)",
                              f->token_key, o->name, dl_field_type_name(o->type), f->name,
                              dl_field_type_name(f->type));
    }
    return DL_OK;
}

/* Per field, what has to wait until every field is declared. */
typedef struct field_pending {
    const ynode *salt; /* effective salt node (own or inherited), or NULL */
    bool salt_inherited;
} field_pending;

static dl_status parse_field(spec_ctx *c, const ynode *m, size_t idx,
                             const ynode *default_salt, field_pending *pend)
{
    dl_spec *s = c->spec;
    dl_spec_field *f = &s->fields[idx];
    const ynode *v[F__N];
    char what[96];
    snprintf(what, sizeof what, "fields[%zu]", idx);
    dl_status st = dl__y_check_map(c, m, what, field_keys, F__N, v, NULL);
    if (st)
        return st;
    f->line = m->line;
    f->col = m->col;
    static const char *const req[] = {"name", "column", "type", "features"};
    for (int i = 0; i < 4; i++) {
        /* `column: null` is a value: this dataset lacks the column. */
        if (i == F_COLUMN && v[i])
            continue;
        if (!dl__y_present(v[i]))
            return v[i] ? dl__y_fail(c, v[i], "'%s' has no value", req[i])
                        : dl__y_missing(c, m, req[i], what);
    }
    if ((st = dl__y_get_string(c, v[F_NAME], "name", &f->name)))
        return st;
    if (!dl__y_is_field_name(f->name))
        return dl__y_fail(c, v[F_NAME],
                          "field name must be a lower-case letter then up to 31 "
                          "lower-case letters, digits or '_'");
    for (size_t i = 0; i < idx; i++)
        if (strcmp(s->fields[i].name, f->name) == 0)
            return dl__y_fail(c, v[F_NAME],
                              "duplicate field name '%s' (first declared at line %lu)",
                              f->name, (unsigned long)s->fields[i].line);
    snprintf(what, sizeof what, "field '%s'", f->name);
    if (v[F_COLUMN]->kind == YN_SCALAR && dl__y_is_null(v[F_COLUMN]) &&
        v[F_COLUMN]->plain) {
        f->column = NULL; /* every value missing; the encoding is unchanged */
    } else {
        if ((st = dl__y_get_string(c, v[F_COLUMN], "column", &f->column)))
            return st;
        if (!f->column[0])
            return dl__y_fail(c, v[F_COLUMN],
                              "'column' is empty (expected a CSV column name, or "
                              "null when this dataset lacks it)");
    }
    const char *type_names[DL_FT__COUNT];
    for (int i = 0; i < DL_FT__COUNT; i++)
        type_names[i] = dl_field_type_name((dl_field_type)i);
    int t;
    if ((st = dl__y_get_enum(c, v[F_TYPE], "type", type_names, DL_FT__COUNT, &t)))
        return st;
    f->type = (dl_field_type)t;
    if ((st = parse_features(c, v[F_FEATURES], f)))
        return st;
    if (dl__y_present(v[F_REQUIRED]) &&
        (st = dl__y_get_bool(c, v[F_REQUIRED], "required", &f->required)))
        return st;
    if (dl__y_present(v[F_PLACEHOLDERS]) &&
        (st = parse_placeholders(c, v[F_PLACEHOLDERS], f)))
        return st;
    if (v[F_TOKEN_KEY] && (st = parse_token_key(c, v[F_TOKEN_KEY], idx)))
        return st;

    f->bloom = s->bloom;
    pend->salt = default_salt;
    pend->salt_inherited = true;
    if (dl__y_present(v[F_BLOOM])) {
        if (!dl__spec_has_feature(f, DL_FEAT_BLOOM))
            return dl__y_fail(c, v[F_BLOOM],
                              "bloom options need the feature 'bloom' in %s's "
                              "features",
                              f->name);
        const ynode *bv[B__N];
        if ((st = dl__y_check_map(c, v[F_BLOOM], "bloom", bloom_keys, B__N, bv, NULL)))
            return st;
        const ynode *salt = default_salt;
        if ((st = parse_bloom(c, bv, &f->bloom, &salt)))
            return st;
        if (bv[B_SALT]) {
            pend->salt = salt;
            pend->salt_inherited = false;
        }
        if ((st = check_folds(c, v[F_BLOOM], &f->bloom)))
            return st;
    }
    if (!dl__spec_has_feature(f, DL_FEAT_BLOOM)) {
        /* No filter: nothing to salt; keep the options neutral so the hash and
           the summary do not show settings that have no effect. */
        pend->salt = NULL;
        f->bloom.salt_field = NULL;
    }

    bool is_date = f->type == DL_FT_DATE;
    static const int date_only[] = {F_FORMATS, F_MIN, F_MAX};
    for (int i = 0; i < 3; i++)
        if (!is_date && v[date_only[i]])
            return dl__y_fail(
                c, v[date_only[i]], "'%s' applies only to date fields (%s is %s)",
                field_keys[date_only[i]], f->name, dl_field_type_name(f->type));
    if (is_date) {
        f->min_date = 19000101;
        f->max_date = 0;
        if (dl__y_present(v[F_FORMATS])) {
            const ynode *fl = v[F_FORMATS];
            if ((st = dl__y_expect_list(c, fl, "date formats", 1, MAX_FORMATS)))
                return st;
            const char **arr = dl_arena_alloc(c->arena, fl->n * sizeof *arr);
            if (!arr)
                return dl__y_nomem(c);
            size_t k = 0;
            for (const ynode *it = fl->first; it; it = it->next) {
                if ((st = check_format(c, it)) ||
                    (st = dl__y_get_string(c, it, "formats", &arr[k])))
                    return st;
                k++;
            }
            f->formats = arr;
            f->n_formats = k;
        } else {
            size_t k = sizeof default_formats / sizeof default_formats[0];
            const char **arr = dl_arena_alloc(c->arena, k * sizeof *arr);
            if (!arr)
                return dl__y_nomem(c);
            memcpy(arr, default_formats, k * sizeof *arr);
            f->formats = arr;
            f->n_formats = k;
        }
        if (dl__y_present(v[F_MIN])) {
            if (v[F_MIN]->kind != YN_SCALAR ||
                !dl__y_parse_iso_date(v[F_MIN]->s, &f->min_date))
                return dl__y_fail(c, v[F_MIN], "expected a date YYYY-MM-DD for 'min'");
        }
        if (dl__y_present(v[F_MAX])) {
            const ynode *x = v[F_MAX];
            if (x->kind == YN_SCALAR && strcmp(x->s, "today") == 0)
                f->max_date = 0;
            else if (x->kind != YN_SCALAR || !dl__y_parse_iso_date(x->s, &f->max_date))
                return dl__y_fail(c, x, "expected a date YYYY-MM-DD or 'today' for 'max'");
            if (f->max_date && f->max_date < f->min_date)
                return dl__y_fail(c, x, "'max' is before 'min'");
        }
    }
    return DL_OK;
}

static dl_status parse_fields(spec_ctx *c, const ynode *n, const ynode *default_salt)
{
    dl_spec *s = c->spec;
    dl_status st = dl__y_expect_list(c, n, "fields", 1, DL_SPEC_MAX_FIELDS);
    if (st)
        return st;
    field_pending pend[DL_SPEC_MAX_FIELDS];
    size_t i = 0;
    for (const ynode *it = n->first; it; it = it->next, i++) {
        if ((st = parse_field(c, it, i, default_salt, &pend[i])))
            return st;
        s->n_fields = i + 1;
    }
    /* Salts name other fields, so they resolve once all are declared. */
    for (i = 0; i < s->n_fields; i++) {
        char whose[96];
        snprintf(whose, sizeof whose, "%s for field '%s'",
                 pend[i].salt_inherited ? "inherited from bloom:" : "set",
                 s->fields[i].name);
        if ((st = resolve_salt(c, pend[i].salt, (int)i, &s->fields[i].bloom, whose)))
            return st;
    }
    return DL_OK;
}

static dl_status parse_clk(spec_ctx *c, const ynode *m, const ynode *default_salt)
{
    static const char *const keys[] = {"fields", "q",    "bits",    "k",
                                       "padded", "salt", "balance", "xor_folds"};
    const ynode *v[8];
    dl_spec *s = c->spec;
    dl_status st = dl__y_check_map(c, m, "clk", keys, 8, v, NULL);
    if (st)
        return st;
    if (!dl__y_present(v[0]))
        return v[0] ? dl__y_fail(c, v[0], "'fields' has no value")
                    : dl__y_missing(c, m, "fields", "clk");
    if ((st = dl__y_expect_list(c, v[0], "field names", 1, DL_SPEC_MAX_FIELDS)))
        return st;
    for (const ynode *it = v[0]->first; it; it = it->next) {
        int fi;
        if ((st = get_field_ref(c, it, "clk fields", &fi)))
            return st;
        for (size_t j = 0; j < s->n_clk_fields; j++)
            if (s->clk_fields[j] == fi)
                return dl__y_fail(c, it, "field '%s' is listed twice", s->fields[fi].name);
        s->clk_fields[s->n_clk_fields++] = (uint16_t)fi;
    }
    s->clk = s->bloom;
    const ynode *salt = default_salt;
    if ((st = parse_bloom(c, v + 1, &s->clk, &salt)))
        return st;
    if ((st = check_folds(c, m, &s->clk)))
        return st;
    if (salt) {
        int fi;
        if ((st = get_field_ref(c, salt, "salt", &fi)))
            return st;
        for (size_t j = 0; j < s->n_clk_fields; j++)
            if (s->clk_fields[j] == fi)
                return dl__y_fail(c, salt,
                                  "salt field '%s' is one of the clk fields (a salt must "
                                  "be a field outside the filter)",
                                  s->fields[fi].name);
        s->clk.salt_field = s->fields[fi].name;
    } else {
        s->clk.salt_field = NULL;
    }
    return DL_OK;
}

static dl_status get_column_list(spec_ctx *c, const ynode *n, const char *key,
                                 const char ***out, size_t *nout)
{
    dl_status st = dl__y_expect_list(c, n, "column names", 0, 4096);
    if (st)
        return st;
    const char **arr = dl_arena_alloc(c->arena, (n->n ? n->n : 1) * sizeof *arr);
    if (!arr)
        return dl__y_nomem(c);
    size_t k = 0;
    for (const ynode *it = n->first; it; it = it->next) {
        if ((st = dl__y_get_string(c, it, key, &arr[k])))
            return st;
        for (size_t j = 0; j < k; j++)
            if (strcmp(arr[j], arr[k]) == 0)
                return dl__y_fail(c, it, "column '%s' is listed twice in '%s'", arr[k],
                                  key);
        k++;
    }
    *out = arr;
    *nout = k;
    return DL_OK;
}

static dl_status parse_content(spec_ctx *c, const ynode *m)
{
    static const char *const keys[] = {"keep", "drop", "derive"};
    const ynode *v[3], *kn[3];
    dl_spec *s = c->spec;
    dl_status st = dl__y_check_map(c, m, "content", keys, 3, v, kn);
    if (st)
        return st;
    if (v[0] && v[1]) {
        const ynode *later = kn[0]->line > kn[1]->line ||
                                     (kn[0]->line == kn[1]->line && kn[0]->col > kn[1]->col)
                                 ? kn[0]
                                 : kn[1];
        return dl__y_fail(c, later, "give 'keep' or 'drop' in content, not both");
    }
    if (dl__y_present(v[0])) {
        if ((st = get_column_list(c, v[0], "keep", &s->keep, &s->n_keep)))
            return st;
        /* Content travels to the linkage unit and the data bank beside the
           SLF; an identifier column there would defeat the encoding. */
        const ynode *it = v[0]->first;
        for (size_t i = 0; i < s->n_keep; i++, it = it->next) {
            if (strcmp(s->keep[i], s->record_id) == 0)
                return dl__y_fail(c, it, "the record id column cannot be kept in content");
            for (size_t j = 0; j < s->n_fields; j++)
                if (s->fields[j].column && strcmp(s->keep[i], s->fields[j].column) == 0)
                    return dl__y_fail(
                        c, it,
                        "column '%s' is read by field '%s' and cannot be kept "
                        "in content (identifiers are encoded, never copied)",
                        s->keep[i], s->fields[j].name);
        }
    }
    if (dl__y_present(v[1]) &&
        (st = get_column_list(c, v[1], "drop", &s->drop, &s->n_drop)))
        return st;
    if (dl__y_present(v[2])) {
        static const char *const dkeys[] = {"week_of_birth", "year_of_birth", "sex"};
        const ynode *dv[3];
        if ((st = dl__y_check_map(c, v[2], "derive", dkeys, 3, dv, NULL)))
            return st;
        int *dst[3] = {&s->derive_week_of_birth, &s->derive_year_of_birth, &s->derive_sex};
        for (int i = 0; i < 3; i++) {
            if (!dl__y_present(dv[i]))
                continue;
            int fi;
            if ((st = get_field_ref(c, dv[i], dkeys[i], &fi)))
                return st;
            dl_field_type want = i < 2 ? DL_FT_DATE : DL_FT_SEX;
            if (s->fields[fi].type != want)
                return dl__y_fail(c, dv[i], "'%s' needs a %s field, and '%s' is %s",
                                  dkeys[i], dl_field_type_name(want), s->fields[fi].name,
                                  dl_field_type_name(s->fields[fi].type));
            *dst[i] = fi;
        }
    }
    return DL_OK;
}

/* A feature reference FIELD.FEATURE naming a declared field and a feature it
 * declares. */

static void set_defaults(dl_spec *s)
{
    s->link_type = DL_LINK_DEDUPE;
    s->delimiter = ',';
    s->max_field_bytes = 65536;
    s->bloom = (dl_bloom_opts){.q = 2, .bits = 1024, .k = 20, .padded = true};
    s->clk = s->bloom;
    s->derive_week_of_birth = s->derive_year_of_birth = s->derive_sex = -1;
    s->max_block = 10000;
    s->oversize = DL_OVERSIZE_SKIP;
    s->seed = 42;
    s->u_sample = 10000000;
    s->max_iterations = 100;
    s->tolerance = 1e-6;
    s->match_threshold = 0.95;
    s->review_threshold = 0.5;
    s->cluster = DL_CLUSTER_COMPONENTS;
}

static dl_status parse_spec(spec_ctx *c, const ynode *root)
{
    dl_spec *s = c->spec;
    if (!root || (root->kind == YN_SCALAR && dl__y_is_null(root)))
        return dl__y_fail_at(
            c, root ? root->line : 1, root ? root->col : 1,
            "empty spec (expected a mapping with version, name, input and fields)");
    if (root->kind != YN_MAP)
        return dl__y_fail(c, root,
                          "a spec must be a mapping of keys (version, name, ...), found %s",
                          dl__y_describe(root));
    const ynode *v[K__N], *kn[K__N];
    dl_status st = dl__y_check_map(c, root, "the spec", top_keys, K__N, v, kn);
    if (st)
        return st;
    static const int required[] = {K_VERSION, K_NAME, K_INPUT, K_FIELDS};
    for (int i = 0; i < 4; i++)
        if (!dl__y_present(v[required[i]]))
            return v[required[i]]
                       ? dl__y_fail(c, v[required[i]], "'%s' has no value",
                                    top_keys[required[i]])
                       : dl__y_missing(c, root, top_keys[required[i]], "the spec");

    uint64_t ver;
    if ((st = dl__y_get_uint(c, v[K_VERSION], "version", 0, UINT32_MAX, &ver)))
        return st;
    if (ver != 1)
        return dl__y_fail(c, v[K_VERSION], "unsupported spec version %llu (expected 1)",
                          (unsigned long long)ver);
    if ((st = dl__y_get_string(c, v[K_NAME], "name", &s->name)))
        return st;
    if (!dl__y_is_label_name(s->name))
        return dl__y_fail(c, v[K_NAME],
                          "name must be 1 to %d letters, digits, '_', '.' or '-'",
                          SPEC_MAX_NAME);
    if (dl__y_present(v[K_LINK_TYPE])) {
        static const char *const names[] = {"dedupe", "link", "link_and_dedupe", "spine"};
        int o;
        if ((st = dl__y_get_enum(c, v[K_LINK_TYPE], "link_type", names, 4, &o)))
            return st;
        s->link_type = (dl_link_type)o;
    }
    if ((st = parse_input(c, v[K_INPUT])))
        return st;

    const ynode *default_salt = NULL;
    if (dl__y_present(v[K_BLOOM])) {
        const ynode *bv[B__N];
        if ((st = dl__y_check_map(c, v[K_BLOOM], "bloom", bloom_keys, B__N, bv, NULL)) ||
            (st = parse_bloom(c, bv, &s->bloom, &default_salt)) ||
            (st = check_folds(c, v[K_BLOOM], &s->bloom)))
            return st;
    }
    if ((st = parse_fields(c, v[K_FIELDS], default_salt)))
        return st;
    if (default_salt) {
        int fi;
        if ((st = get_field_ref(c, default_salt, "salt", &fi)))
            return st;
        s->bloom.salt_field = s->fields[fi].name;
    }
    s->clk = s->bloom;
    if (dl__y_present(v[K_CLK]) && (st = parse_clk(c, v[K_CLK], default_salt)))
        return st;
    if (dl__y_present(v[K_CONTENT]) && (st = parse_content(c, v[K_CONTENT])))
        return st;
    if (v[K_COMPARISONS] && (st = dl__spec_parse_comparisons(c, v[K_COMPARISONS])))
        return st;
    if (dl__y_present(v[K_BLOCKING])) {
        if ((st = dl__spec_parse_blocking(c, v[K_BLOCKING],
                                          s->n_comparisons ? kn[K_COMPARISONS] : NULL)))
            return st;
    } else if (s->n_comparisons) {
        return dl__y_fail(c, kn[K_COMPARISONS],
                          "comparisons need blocking rules (add blocking: "
                          "{rules: [[FIELD.FEATURE, ...], ...]})");
    }
    if (dl__y_present(v[K_TRAINING]) && (st = dl__spec_parse_training(c, v[K_TRAINING])))
        return st;
    if (dl__y_present(v[K_THRESHOLDS]) &&
        (st = dl__spec_parse_thresholds(c, v[K_THRESHOLDS])))
        return st;
    const ynode *method = NULL, *spine = NULL;
    if (dl__y_present(v[K_CLUSTERING]) &&
        (st = dl__spec_parse_clustering(c, v[K_CLUSTERING], &method, &spine)))
        return st;
    /* A spine is named exactly when something uses it. */
    bool spine_mode = s->cluster == DL_CLUSTER_SPINE || s->link_type == DL_LINK_SPINE;
    if (spine_mode && !s->spine) {
        const ynode *at = method            ? method
                          : v[K_CLUSTERING] ? v[K_CLUSTERING]
                                            : v[K_LINK_TYPE];
        return dl__y_fail(c, at,
                          "spine mode needs the spine dataset (add clustering: {method: "
                          "spine, spine: NAME})");
    }
    if (!spine_mode && s->spine)
        return dl__y_fail(c, spine,
                          "'spine' is only used with method spine or link_type spine");
    if (s->link_type == DL_LINK_SPINE && s->cluster != DL_CLUSTER_SPINE)
        return dl__y_fail(c, method ? method : v[K_LINK_TYPE],
                          "link_type spine needs clustering method spine");
    /* One-to-one assignment assumes each dataset holds a person once: only
       linking without deduplication fits. */
    if (s->cluster == DL_CLUSTER_ONE_TO_ONE && s->link_type != DL_LINK_LINK)
        return dl__y_fail(c, method,
                          "method one_to_one needs link_type link (each dataset holding "
                          "a person at most once)");
    if (v[K_OUTPUTS]) {
        const ynode *o = v[K_OUTPUTS];
        if (o->kind != YN_MAP && !dl__y_is_null(o))
            return dl__y_fail(c, o, "expected an empty mapping {} for 'outputs', found %s",
                              dl__y_describe(o));
        if (o->kind == YN_MAP && o->n)
            return dl__y_fail(c, o->first,
                              "'outputs' is reserved for a later version (only {} is "
                              "accepted)");
    }
    return DL_OK;
}

/* ---- entry points ------------------------------------------------------ */

dl_status dl_spec_parse(const char *name, const char *text, size_t len, dl_spec **out,
                        dl_error *err)
{
    *out = NULL;
    spec_box *box = calloc(1, sizeof *box);
    spec_ctx c = {.path = name ? name : "", .err = err};
    dl_status st;
    if (!box || !(box->arena = dl_arena_new(16 * 1024)) || !(c.tmp = dl_arena_new(0))) {
        st = dl__y_nomem(&c);
        goto fail;
    }
    c.arena = box->arena;
    c.spec = &box->spec;
    set_defaults(c.spec);
    if (!(c.spec->path = dl_arena_strdup(c.arena, c.path))) {
        st = dl__y_nomem(&c);
        goto fail;
    }
    ynode *root;
    if ((st = dl__y_build_tree(&c, text, len, &root)) || (st = parse_spec(&c, root)))
        goto fail;
    if (!dl__spec_compute_hash(c.spec)) {
        st = dl_error_set(err, DL_ENOMEM, c.path, 0, 0, "cannot compute the spec hash");
        goto fail;
    }
    dl_arena_free(c.tmp);
    *out = c.spec;
    return DL_OK;
fail:
    dl_arena_free(c.tmp);
    dl_spec_free(box ? &box->spec : NULL);
    return st;
}

dl_status dl_spec_load(const char *path, dl_spec **out, dl_error *err)
{
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        return dl_error_os(err, e == ENOENT || e == EACCES ? DL_EINPUT : DL_EIO, e, path,
                           "cannot open spec");
    }
    char *text = malloc(MAX_SPEC_BYTES + 1);
    if (!text) {
        fclose(f);
        return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory reading the spec");
    }
    size_t n = fread(text, 1, MAX_SPEC_BYTES + 1, f);
    int rerr = ferror(f) ? errno : 0;
    fclose(f);
    dl_status st;
    if (rerr)
        st = dl_error_os(err, DL_EIO, rerr, path, "cannot read spec");
    else if (n > MAX_SPEC_BYTES)
        st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                          "spec file larger than %u MiB (is it the right file?)",
                          MAX_SPEC_BYTES >> 20);
    else
        st = dl_spec_parse(path, text, n, out, err);
    free(text);
    return st;
}

void dl_spec_free(dl_spec *s)
{
    if (!s)
        return;
    /* The spec is the first member of its box. */
    spec_box *box = (spec_box *)s;
    dl_arena_free(box->arena);
    free(box);
}
