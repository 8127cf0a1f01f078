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
#include "dolen/arena.h"
#include "dolen/spec.h"
#include "dolen/suggest.h"

/* A spec file is a page of YAML; anything far bigger is a mistake (the wrong
 * file given), not a spec. */
#define MAX_SPEC_BYTES (4u << 20)
/* The deepest legitimate nesting is six (spec > comparisons > comparison >
 * levels > level > count list); deeper input is refused before it can cost
 * anything. */
#define MAX_DEPTH 16
#define MAX_COMPARISONS 64
#define MAX_RULES 64
#define MAX_FORMATS 8
#define MAX_PLACEHOLDERS 256
#define MAX_DATE_PLACEHOLDERS 16 /* prepare compiles them into a fixed table */
#define MAX_NAME 64

/* ---- a small YAML tree ------------------------------------------------- */

/* libyaml's event stream turned into a tree with positions, so the checks
 * below can look keys up in any order and still point at the exact spot. We
 * build it from events rather than with yaml_parser_load() because the
 * document API resolves aliases silently and drops the anchor marks we must
 * reject. */
typedef enum { YN_SCALAR, YN_SEQ, YN_MAP } yn_kind;

typedef struct ynode {
    yn_kind kind;
    bool plain;    /* scalar written without quotes (may be a number, null...) */
    const char *s; /* scalar text, NUL-terminated */
    size_t len;
    uint32_t line, col; /* 1-based */
    size_t n;           /* children; a mapping holds key, value, key, value... */
    struct ynode *first, *last, *next;
} ynode;

typedef struct ctx {
    const char *path; /* for messages */
    dl_error *err;
    dl_arena *tmp;   /* the tree, freed after loading */
    dl_arena *arena; /* the spec's strings and arrays */
    dl_spec *spec;
} ctx;

/* The spec and the arena holding everything it points to, freed together. */
typedef struct spec_box {
    dl_spec spec;
    dl_arena *arena;
} spec_box;

static dl_status fail_at(ctx *c, uint64_t line, uint64_t col, const char *fmt, ...)
    DL_PRINTF(4, 5);
static dl_status fail_at(ctx *c, uint64_t line, uint64_t col, const char *fmt, ...)
{
    char msg[sizeof c->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(c->err, DL_EINPUT, c->path, line, col, "%s", msg);
}

static dl_status fail(ctx *c, const ynode *n, const char *fmt, ...) DL_PRINTF(3, 4);
static dl_status fail(ctx *c, const ynode *n, const char *fmt, ...)
{
    char msg[sizeof c->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(c->err, DL_EINPUT, c->path, n ? n->line : 0, n ? n->col : 0, "%s",
                        msg);
}

static dl_status nomem(ctx *c)
{
    return dl_error_set(c->err, DL_ENOMEM, c->path, 0, 0, "out of memory loading the spec");
}

/* A scalar shown in a message: at most 40 bytes, non-printing bytes as '?'.
 * Spec text is configuration, never data, so quoting it is safe. */
static const char *show(const ynode *n, char out[48])
{
    size_t i = 0;
    for (; i < n->len && i < 40; i++) {
        unsigned char ch = (unsigned char)n->s[i];
        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    if (n->len > 40) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
    return out;
}

static ynode *new_node(ctx *c, yn_kind kind, const yaml_mark_t *m)
{
    ynode *n = dl_arena_alloc(c->tmp, sizeof *n);
    if (!n)
        return NULL;
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->line = (uint32_t)(m->line + 1);
    n->col = (uint32_t)(m->column + 1);
    return n;
}

static void attach(ynode *parent, ynode *child)
{
    if (parent->last)
        parent->last->next = child;
    else
        parent->first = child;
    parent->last = child;
    parent->n++;
}

/* Line and column of byte OFF of TEXT, for libyaml's reader errors, which
 * carry only an offset. */
static void offset_pos(const char *text, size_t len, size_t off, uint64_t *line,
                       uint64_t *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < len; i++) {
        if (text[i] == '\n') {
            ++*line;
            *col = 1;
        } else {
            ++*col;
        }
    }
}

static dl_status yaml_fail(ctx *c, const yaml_parser_t *p, const char *text, size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return nomem(c);
    const char *problem = p->problem ? p->problem : "unreadable YAML";
    if (p->error == YAML_READER_ERROR) {
        uint64_t line, col;
        offset_pos(text, len, p->problem_offset, &line, &col);
        return fail_at(c, line, col, "cannot read the spec as text: %s (expected UTF-8)",
                       problem);
    }
    if (p->context)
        return fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
                       "YAML syntax error: %s (%s at line %lu)", problem, p->context,
                       (unsigned long)p->context_mark.line + 1);
    return fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
                   "YAML syntax error: %s", problem);
}

/* Anchors and aliases would let one value stand in several places; a spec is
 * read by people who must see every value where it applies, so they are
 * refused rather than expanded. */
static dl_status no_anchor(ctx *c, const yaml_char_t *anchor, const yaml_mark_t *m)
{
    if (!anchor)
        return DL_OK;
    return fail_at(
        c, m->line + 1, m->column + 1,
        "YAML anchors (&name) are not supported in a spec (write the value out)");
}

static dl_status build_tree(ctx *c, const char *text, size_t len, ynode **root)
{
    yaml_parser_t p;
    *root = NULL;
    if (!yaml_parser_initialize(&p))
        return nomem(c);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    ynode *stack[MAX_DEPTH];
    int depth = 0, docs = 0;
    dl_status st = DL_OK;
    for (bool done = false; !done && st == DL_OK;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            st = yaml_fail(c, &p, text, len);
            break;
        }
        const yaml_mark_t *m = &ev.start_mark;
        ynode *n = NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (docs++ > 0)
                st = fail_at(c, m->line + 1, m->column + 1,
                             "a second YAML document (a spec file holds exactly one)");
            break;
        case YAML_ALIAS_EVENT:
            st =
                fail_at(c, m->line + 1, m->column + 1,
                        "YAML aliases (*name) are not supported in a spec (write the value "
                        "out)");
            break;
        case YAML_SCALAR_EVENT:
            if ((st = no_anchor(c, ev.data.scalar.anchor, m)) != DL_OK)
                break;
            if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
                st = fail_at(c, m->line + 1, m->column + 1,
                             "a NUL character in a value (expected text)");
                break;
            }
            n = new_node(c, YN_SCALAR, m);
            if (!n || !(n->s = dl_arena_strndup(c->tmp, (const char *)ev.data.scalar.value,
                                                ev.data.scalar.length))) {
                st = nomem(c);
                break;
            }
            n->len = ev.data.scalar.length;
            n->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
            break;
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            const yaml_char_t *anchor = ev.type == YAML_SEQUENCE_START_EVENT
                                            ? ev.data.sequence_start.anchor
                                            : ev.data.mapping_start.anchor;
            if ((st = no_anchor(c, anchor, m)) != DL_OK)
                break;
            if (depth == MAX_DEPTH) {
                st = fail_at(c, m->line + 1, m->column + 1,
                             "nesting deeper than %d levels (a spec needs at most 6)",
                             MAX_DEPTH);
                break;
            }
            n = new_node(c, ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP, m);
            if (!n)
                st = nomem(c);
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        if (n) {
            if (depth > 0)
                attach(stack[depth - 1], n);
            else
                *root = n;
            if (n->kind != YN_SCALAR)
                stack[depth++] = n;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    return st;
}

/* ---- scalar types ------------------------------------------------------ */

static bool is_null(const ynode *n)
{
    return n->kind == YN_SCALAR && n->plain &&
           (n->len == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
            strcmp(n->s, "Null") == 0 || strcmp(n->s, "NULL") == 0);
}

static int bool_value(const ynode *n) /* 1 true, 0 false, -1 not a boolean */
{
    if (n->kind != YN_SCALAR || !n->plain)
        return -1;
    if (!strcmp(n->s, "true") || !strcmp(n->s, "True") || !strcmp(n->s, "TRUE"))
        return 1;
    if (!strcmp(n->s, "false") || !strcmp(n->s, "False") || !strcmp(n->s, "FALSE"))
        return 0;
    return -1;
}

static bool parse_double(const ynode *n, double *out)
{
    if (n->kind != YN_SCALAR || !n->plain || n->len == 0)
        return false;
    /* strtod alone would also take "inf", "nan" and hex floats. */
    for (size_t i = 0; i < n->len; i++)
        if (!strchr("0123456789+-.eE", n->s[i]))
            return false;
    char *end;
    errno = 0;
    double v = strtod(n->s, &end);
    if (*end || errno || !isfinite(v))
        return false;
    *out = v;
    return true;
}

static bool parse_u64(const ynode *n, uint64_t *out)
{
    if (n->kind != YN_SCALAR || !n->plain || n->len == 0 || n->len > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n->len; i++) {
        if (n->s[i] < '0' || n->s[i] > '9')
            return false;
        unsigned d = (unsigned)(n->s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

static const char *describe(const ynode *n)
{
    double d;
    if (n->kind == YN_SEQ)
        return "a list";
    if (n->kind == YN_MAP)
        return "a mapping";
    if (is_null(n))
        return "nothing";
    if (bool_value(n) >= 0)
        return "a boolean";
    if (parse_double(n, &d))
        return "a number";
    return "a string";
}

static bool present(const ynode *n)
{
    return n && !is_null(n);
}

/* ---- mappings with a fixed set of keys --------------------------------- */

/* Check that every key of mapping M is one of KEYS (NK of them), each at most
 * once, and put the value of KEYS[i] in vals[i] and the key node in
 * knodes[i] (NULL when absent). WHAT names the mapping in messages. */
static dl_status check_map(ctx *c, const ynode *m, const char *what,
                           const char *const *keys, size_t nk, const ynode **vals,
                           const ynode **knodes)
{
    for (size_t i = 0; i < nk; i++) {
        vals[i] = NULL;
        if (knodes)
            knodes[i] = NULL;
    }
    if (m->kind != YN_MAP)
        return fail(c, m, "expected a mapping of keys for %s, found %s", what, describe(m));
    char sh[48];
    for (const ynode *k = m->first; k; k = k->next->next) {
        const ynode *v = k->next;
        if (k->kind != YN_SCALAR)
            return fail(c, k, "expected a key name in %s, found %s", what, describe(k));
        size_t i = 0;
        while (i < nk && strcmp(k->s, keys[i]) != 0)
            i++;
        if (i == nk) {
            const char *near = dl_suggest(k->s, keys, nk);
            if (near)
                return fail(c, k, "unknown key '%s' in %s (did you mean '%s'?)",
                            show(k, sh), what, near);
            char list[200];
            size_t o = 0;
            list[0] = '\0';
            for (size_t j = 0; j < nk && o < sizeof list; j++) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", keys[j]);
                if (w < 0)
                    break;
                o += (size_t)w;
            }
            return fail(c, k, "unknown key '%s' in %s (expected one of: %s)", show(k, sh),
                        what, list);
        }
        if (vals[i]) {
            const ynode *first = vals[i];
            return fail(c, k, "duplicate key '%s' in %s (first given at line %lu)", keys[i],
                        what, (unsigned long)first->line);
        }
        vals[i] = v;
        if (knodes)
            knodes[i] = k;
    }
    return DL_OK;
}

static dl_status missing(ctx *c, const ynode *m, const char *key, const char *what)
{
    return fail(c, m, "missing required key '%s' in %s", key, what);
}

/* ---- typed values ------------------------------------------------------ */

static dl_status get_string(ctx *c, const ynode *n, const char *key, const char **out)
{
    if (n->kind != YN_SCALAR || is_null(n))
        return fail(c, n, "expected a string for '%s', found %s", key, describe(n));
    if (!(*out = dl_arena_strndup(c->arena, n->s, n->len)))
        return nomem(c);
    return DL_OK;
}

static dl_status get_uint(ctx *c, const ynode *n, const char *key, uint64_t min,
                          uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (!parse_u64(n, &v))
        return fail(c, n, "expected a whole number from %llu to %llu for '%s', found %s",
                    (unsigned long long)min, (unsigned long long)max, key, describe(n));
    if (v < min || v > max) {
        char sh[48];
        return fail(c, n, "'%s' must be from %llu to %llu, found %s", key,
                    (unsigned long long)min, (unsigned long long)max, show(n, sh));
    }
    *out = v;
    return DL_OK;
}

static dl_status get_unsigned(ctx *c, const ynode *n, const char *key, unsigned min,
                              unsigned max, unsigned *out)
{
    uint64_t v;
    dl_status st = get_uint(c, n, key, min, max, &v);
    if (st == DL_OK)
        *out = (unsigned)v;
    return st;
}

static dl_status get_bool(ctx *c, const ynode *n, const char *key, bool *out)
{
    int b = bool_value(n);
    if (b < 0)
        return fail(c, n, "expected true or false for '%s', found %s", key, describe(n));
    *out = b == 1;
    return DL_OK;
}

/* A number in the open interval (0, 1), or (0, 1] when ONE_OK. */
static dl_status get_fraction(ctx *c, const ynode *n, const char *key, bool one_ok,
                              double *out)
{
    double v;
    if (!parse_double(n, &v))
        return fail(c, n, "expected a number between 0 and 1 for '%s', found %s", key,
                    describe(n));
    if (!(v > 0 && (v < 1 || (one_ok && v == 1))))
        return fail(c, n, "'%s' must be above 0 and %s 1", key,
                    one_ok ? "at most" : "below");
    *out = v;
    return DL_OK;
}

/* One of NAMES (NN of them); an unknown value gets the nearest suggested. */
static dl_status get_enum(ctx *c, const ynode *n, const char *key, const char *const *names,
                          size_t nn, int *out)
{
    if (n->kind != YN_SCALAR || is_null(n))
        return fail(c, n, "expected one of the names for '%s', found %s", key, describe(n));
    for (size_t i = 0; i < nn; i++)
        if (strcmp(n->s, names[i]) == 0) {
            *out = (int)i;
            return DL_OK;
        }
    char sh[48];
    const char *near = dl_suggest(n->s, names, nn);
    if (near)
        return fail(c, n, "unknown %s '%s' (did you mean '%s'?)", key, show(n, sh), near);
    char list[160];
    size_t o = 0;
    list[0] = '\0';
    for (size_t j = 0; j < nn && o < sizeof list; j++) {
        int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return fail(c, n, "unknown %s '%s' (expected one of: %s)", key, show(n, sh), list);
}

static dl_status expect_list(ctx *c, const ynode *n, const char *of, size_t min, size_t max)
{
    if (n->kind != YN_SEQ)
        return fail(c, n, "expected a list of %s, found %s", of, describe(n));
    if (n->n < min)
        return fail(c, n, "expected at least %zu %s, found %zu", min, of, n->n);
    if (n->n > max)
        return fail(c, n, "expected at most %zu %s, found %zu", max, of, n->n);
    return DL_OK;
}

/* [A-Za-z0-9_.-]{1,MAX_NAME}: names that appear in file names and reports. */
static bool is_label_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

/* [a-z][a-z0-9_]{0,31}: field names become column names FIELD.FEATURE. */
static bool is_field_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static bool leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* "YYYY-MM-DD", a real calendar date from year 1000, as YYYYMMDD. */
static bool parse_iso_date(const char *s, int32_t *out)
{
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return false;
    int v[3] = {0, 0, 0};
    const int at[3] = {0, 5, 8}, len[3] = {4, 2, 2};
    for (int p = 0; p < 3; p++)
        for (int i = 0; i < len[p]; i++) {
            char ch = s[at[p] + i];
            if (ch < '0' || ch > '9')
                return false;
            v[p] = v[p] * 10 + (ch - '0');
        }
    static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (v[0] < 1000 || v[1] < 1 || v[1] > 12 || v[2] < 1)
        return false;
    int md = mdays[v[1] - 1] + (v[1] == 2 && leap(v[0]));
    if (v[2] > md)
        return false;
    *out = v[0] * 10000 + v[1] * 100 + v[2];
    return true;
}

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
static dl_status parse_bloom(ctx *c, const ynode *const *v, dl_bloom_opts *o,
                             const ynode **salt)
{
    dl_status st = DL_OK;
    if (present(v[B_Q]) && (st = get_unsigned(c, v[B_Q], "q", 1, 4, &o->q)))
        return st;
    if (present(v[B_BITS])) {
        if ((st = get_unsigned(c, v[B_BITS], "bits", 64, 8192, &o->bits)))
            return st;
        if (o->bits % 64)
            return fail(c, v[B_BITS], "bits must be a multiple of 64, found %u", o->bits);
    }
    if (present(v[B_K]) && (st = get_unsigned(c, v[B_K], "k", 1, 64, &o->k)))
        return st;
    if (present(v[B_PADDED]) && (st = get_bool(c, v[B_PADDED], "padded", &o->padded)))
        return st;
    if (present(v[B_BALANCE]) && (st = get_bool(c, v[B_BALANCE], "balance", &o->balance)))
        return st;
    if (present(v[B_XOR]) &&
        (st = get_unsigned(c, v[B_XOR], "xor_folds", 0, 3, &o->xor_folds)))
        return st;
    if (v[B_SALT]) {
        if (is_null(v[B_SALT])) {
            *salt = NULL;
            o->salt_field = NULL;
        } else if (v[B_SALT]->kind != YN_SCALAR) {
            return fail(c, v[B_SALT], "expected a field name for 'salt', found %s",
                        describe(v[B_SALT]));
        } else {
            *salt = v[B_SALT];
        }
    }
    return DL_OK;
}

/* XOR-folding halves the filter each time; what is left must still be whole
 * 64-bit words. */
static dl_status check_folds(ctx *c, const ynode *at, const dl_bloom_opts *o)
{
    if (o->bits % (64u << o->xor_folds))
        return fail(
            c, at,
            "bits %u folded %u times is not a multiple of 64 (use bits divisible by "
            "%u or fewer xor_folds)",
            o->bits, o->xor_folds, 64u << o->xor_folds);
    return DL_OK;
}

static int find_field(const dl_spec *s, const char *name)
{
    for (size_t i = 0; i < s->n_fields; i++)
        if (strcmp(s->fields[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* An unknown field name in N, with the nearest declared one suggested. */
static dl_status unknown_field(ctx *c, const ynode *n, const char *name, const char *in)
{
    const char *names[DL_SPEC_MAX_FIELDS];
    for (size_t i = 0; i < c->spec->n_fields; i++)
        names[i] = c->spec->fields[i].name;
    const char *near = dl_suggest(name, names, c->spec->n_fields);
    char sh[48];
    snprintf(sh, sizeof sh, "%.40s", name);
    if (near)
        return fail(c, n, "unknown field '%s'%s (did you mean '%s'?)", sh, in, near);
    return fail(c, n, "unknown field '%s'%s (declare it under fields:)", sh, in);
}

/* A field name that must be declared; its index into *out. */
static dl_status get_field_ref(ctx *c, const ynode *n, const char *key, int *out)
{
    if (n->kind != YN_SCALAR || is_null(n))
        return fail(c, n, "expected a field name for '%s', found %s", key, describe(n));
    int i = find_field(c->spec, n->s);
    if (i < 0)
        return unknown_field(c, n, n->s, "");
    *out = i;
    return DL_OK;
}

static dl_status resolve_salt(ctx *c, const ynode *salt, int self, dl_bloom_opts *o,
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
        return fail(c, salt,
                    "salt field '%s' cannot salt its own filter (%s; name another "
                    "field)",
                    c->spec->fields[i].name, whose);
    o->salt_field = c->spec->fields[i].name;
    return DL_OK;
}

static dl_status parse_input(ctx *c, const ynode *m)
{
    static const char *const keys[] = {"record_id", "delimiter", "trim", "max_field_bytes"};
    const ynode *v[4];
    dl_spec *s = c->spec;
    dl_status st = check_map(c, m, "input", keys, 4, v, NULL);
    if (st)
        return st;
    if (!present(v[0]))
        return v[0] ? fail(c, v[0], "'record_id' has no value (expected a column name)")
                    : missing(c, m, "record_id", "input");
    if ((st = get_string(c, v[0], "record_id", &s->record_id)))
        return st;
    if (present(v[1])) {
        const ynode *d = v[1];
        if (d->kind != YN_SCALAR)
            return fail(c, d, "expected one character for 'delimiter', found %s",
                        describe(d));
        /* "\t" arrives as a tab from a double-quoted string, or as backslash
           and t from a plain or single-quoted one: accept both. */
        char ch;
        if (d->len == 1)
            ch = d->s[0];
        else if (d->len == 2 && d->s[0] == '\\' && d->s[1] == 't')
            ch = '\t';
        else
            return fail(c, d,
                        "expected one byte for 'delimiter' (such as \",\" or \"\\t\"), "
                        "found %zu bytes",
                        d->len);
        if (ch == '"' || ch == '\n' || ch == '\r' || ch == ' ' || (unsigned char)ch >= 0x80)
            return fail(c, d,
                        "a delimiter cannot be a quote, a space, a line break or a "
                        "non-ASCII byte");
        s->delimiter = ch;
    }
    if (present(v[2]) && (st = get_bool(c, v[2], "trim", &s->trim)))
        return st;
    if (present(v[3])) {
        uint64_t x;
        if ((st = get_uint(c, v[3], "max_field_bytes", 1, 16u << 20, &x)))
            return st;
        s->max_field_bytes = (size_t)x;
    }
    return DL_OK;
}

/* Normalise a name or text placeholder as prepare's normaliser compares it:
 * ASCII only (folding of other letters belongs to prepare), upper case,
 * spaces trimmed and collapsed. */
static dl_status norm_placeholder(ctx *c, const ynode *n, const char **out)
{
    if (n->kind != YN_SCALAR || is_null(n))
        return fail(c, n, "expected a string for a placeholder, found %s", describe(n));
    char *p = dl_arena_alloc(c->arena, n->len + 1);
    if (!p)
        return nomem(c);
    size_t o = 0;
    bool space = false;
    for (size_t i = 0; i < n->len; i++) {
        unsigned char ch = (unsigned char)n->s[i];
        if (ch < 0x20 || ch >= 0x7f)
            return fail(c, n, "placeholders must be printable ASCII (found byte 0x%02x)",
                        ch);
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
        return fail(c, n, "an empty placeholder (empty values are missing already)");
    *out = p;
    return DL_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static dl_status parse_placeholders(ctx *c, const ynode *n, dl_spec_field *f)
{
    if (f->type != DL_FT_GIVEN_NAME && f->type != DL_FT_SURNAME && f->type != DL_FT_TEXT &&
        f->type != DL_FT_DATE)
        return fail(c, n, "placeholders apply to name, text and date fields, not to %s",
                    dl_field_type_name(f->type));
    dl_status st =
        expect_list(c, n, "placeholders", 0,
                    f->type == DL_FT_DATE ? MAX_DATE_PLACEHOLDERS : MAX_PLACEHOLDERS);
    if (st)
        return st;
    const char **arr = dl_arena_alloc(c->arena, (n->n ? n->n : 1) * sizeof *arr);
    if (!arr)
        return nomem(c);
    size_t k = 0;
    for (const ynode *it = n->first; it; it = it->next) {
        if (f->type == DL_FT_DATE) {
            int32_t d;
            if (it->kind != YN_SCALAR || !parse_iso_date(it->s, &d))
                return fail(c, it, "expected a date YYYY-MM-DD as a placeholder, found %s",
                            describe(it));
            /* Stored re-written as YYYY-MM-DD, so equal dates compare equal. */
            char *p = dl_arena_alloc(c->arena, 11);
            if (!p)
                return nomem(c);
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
static dl_status check_format(ctx *c, const ynode *n)
{
    if (n->kind != YN_SCALAR || is_null(n))
        return fail(c, n, "expected a date format such as \"%%d/%%m/%%Y\", found %s",
                    describe(n));
    int seen[128] = {0};
    for (size_t i = 0; i < n->len; i++) {
        if (n->s[i] != '%')
            continue;
        char d = i + 1 < n->len ? n->s[i + 1] : '\0';
        if (!d || !strchr("dmYyb%", d))
            return fail_at(c, n->line, n->col,
                           "unknown directive in date format at byte %zu (allowed: %%d %%m "
                           "%%Y %%y %%b %%%%)",
                           i + 1);
        i++;
        if (d != '%' && seen[(int)d]++)
            return fail(c, n, "date format repeats %%%c", d);
    }
    int year = seen['Y'] + seen['y'], month = seen['m'] + seen['b'];
    if (year != 1)
        return fail(c, n, "a date format needs exactly one year (%%Y or %%y)");
    if (month > 1)
        return fail(c, n, "a date format needs at most one month (%%m or %%b)");
    if (seen['d'] && !month)
        return fail(c, n, "a date format with a day (%%d) needs a month (%%m or %%b)");
    return DL_OK;
}

static const char *const default_formats[] = {"%Y-%m-%d", "%d/%m/%Y", "%Y%m%d"};

static const char *const field_keys[] = {"name",     "column",       "type",  "features",
                                         "required", "placeholders", "bloom", "formats",
                                         "min",      "max"};
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
    F__N
};

static dl_status parse_features(ctx *c, const ynode *n, dl_spec_field *f)
{
    const char *feat_names[DL_FEAT__COUNT];
    for (int i = 0; i < DL_FEAT__COUNT; i++)
        feat_names[i] = dl_feature_name((dl_feature_kind)i);
    dl_status st = expect_list(c, n, "features", 1, DL_SPEC_MAX_FEATURES);
    if (st)
        return st;
    for (const ynode *it = n->first; it; it = it->next) {
        int k = 0;
        if (it->kind != YN_SCALAR)
            return fail(c, it, "expected a feature name, found %s", describe(it));
        if ((st = get_enum(c, it, "feature", feat_names, DL_FEAT__COUNT, &k)))
            return st;
        if (!dl_feature_allowed(f->type, (dl_feature_kind)k))
            return fail(c, it, "feature '%s' is not available for type %s", feat_names[k],
                        dl_field_type_name(f->type));
        for (size_t j = 0; j < f->n_features; j++)
            if (f->features[j] == (dl_feature_kind)k)
                return fail(c, it, "feature '%s' is listed twice", feat_names[k]);
        f->features[f->n_features++] = (dl_feature_kind)k;
    }
    return DL_OK;
}

static bool has_feature(const dl_spec_field *f, dl_feature_kind k)
{
    for (size_t i = 0; i < f->n_features; i++)
        if (f->features[i] == k)
            return true;
    return false;
}

/* Per field, what has to wait until every field is declared. */
typedef struct field_pending {
    const ynode *salt; /* effective salt node (own or inherited), or NULL */
    bool salt_inherited;
} field_pending;

static dl_status parse_field(ctx *c, const ynode *m, size_t idx, const ynode *default_salt,
                             field_pending *pend)
{
    dl_spec *s = c->spec;
    dl_spec_field *f = &s->fields[idx];
    const ynode *v[F__N];
    char what[96];
    snprintf(what, sizeof what, "fields[%zu]", idx);
    dl_status st = check_map(c, m, what, field_keys, F__N, v, NULL);
    if (st)
        return st;
    f->line = m->line;
    f->col = m->col;
    static const char *const req[] = {"name", "column", "type", "features"};
    for (int i = 0; i < 4; i++) {
        /* `column: null` is a value: this dataset lacks the column. */
        if (i == F_COLUMN && v[i])
            continue;
        if (!present(v[i]))
            return v[i] ? fail(c, v[i], "'%s' has no value", req[i])
                        : missing(c, m, req[i], what);
    }
    if ((st = get_string(c, v[F_NAME], "name", &f->name)))
        return st;
    if (!is_field_name(f->name))
        return fail(c, v[F_NAME],
                    "field name must be a lower-case letter then up to 31 "
                    "lower-case letters, digits or '_'");
    for (size_t i = 0; i < idx; i++)
        if (strcmp(s->fields[i].name, f->name) == 0)
            return fail(c, v[F_NAME],
                        "duplicate field name '%s' (first declared at line %lu)", f->name,
                        (unsigned long)s->fields[i].line);
    snprintf(what, sizeof what, "field '%s'", f->name);
    if (v[F_COLUMN]->kind == YN_SCALAR && is_null(v[F_COLUMN]) && v[F_COLUMN]->plain) {
        f->column = NULL; /* every value missing; the encoding is unchanged */
    } else {
        if ((st = get_string(c, v[F_COLUMN], "column", &f->column)))
            return st;
        if (!f->column[0])
            return fail(c, v[F_COLUMN], "'column' is empty (expected a CSV column name, or "
                                        "null when this dataset lacks it)");
    }
    const char *type_names[DL_FT__COUNT];
    for (int i = 0; i < DL_FT__COUNT; i++)
        type_names[i] = dl_field_type_name((dl_field_type)i);
    int t;
    if ((st = get_enum(c, v[F_TYPE], "type", type_names, DL_FT__COUNT, &t)))
        return st;
    f->type = (dl_field_type)t;
    if ((st = parse_features(c, v[F_FEATURES], f)))
        return st;
    if (present(v[F_REQUIRED]) &&
        (st = get_bool(c, v[F_REQUIRED], "required", &f->required)))
        return st;
    if (present(v[F_PLACEHOLDERS]) && (st = parse_placeholders(c, v[F_PLACEHOLDERS], f)))
        return st;

    f->bloom = s->bloom;
    pend->salt = default_salt;
    pend->salt_inherited = true;
    if (present(v[F_BLOOM])) {
        if (!has_feature(f, DL_FEAT_BLOOM))
            return fail(c, v[F_BLOOM],
                        "bloom options need the feature 'bloom' in %s's "
                        "features",
                        f->name);
        const ynode *bv[B__N];
        if ((st = check_map(c, v[F_BLOOM], "bloom", bloom_keys, B__N, bv, NULL)))
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
    if (!has_feature(f, DL_FEAT_BLOOM)) {
        /* No filter: nothing to salt; keep the options neutral so the hash and
           the summary do not show settings that have no effect. */
        pend->salt = NULL;
        f->bloom.salt_field = NULL;
    }

    bool is_date = f->type == DL_FT_DATE;
    static const int date_only[] = {F_FORMATS, F_MIN, F_MAX};
    for (int i = 0; i < 3; i++)
        if (!is_date && v[date_only[i]])
            return fail(c, v[date_only[i]], "'%s' applies only to date fields (%s is %s)",
                        field_keys[date_only[i]], f->name, dl_field_type_name(f->type));
    if (is_date) {
        f->min_date = 19000101;
        f->max_date = 0;
        if (present(v[F_FORMATS])) {
            const ynode *fl = v[F_FORMATS];
            if ((st = expect_list(c, fl, "date formats", 1, MAX_FORMATS)))
                return st;
            const char **arr = dl_arena_alloc(c->arena, fl->n * sizeof *arr);
            if (!arr)
                return nomem(c);
            size_t k = 0;
            for (const ynode *it = fl->first; it; it = it->next) {
                if ((st = check_format(c, it)) ||
                    (st = get_string(c, it, "formats", &arr[k])))
                    return st;
                k++;
            }
            f->formats = arr;
            f->n_formats = k;
        } else {
            size_t k = sizeof default_formats / sizeof default_formats[0];
            const char **arr = dl_arena_alloc(c->arena, k * sizeof *arr);
            if (!arr)
                return nomem(c);
            memcpy(arr, default_formats, k * sizeof *arr);
            f->formats = arr;
            f->n_formats = k;
        }
        if (present(v[F_MIN])) {
            if (v[F_MIN]->kind != YN_SCALAR || !parse_iso_date(v[F_MIN]->s, &f->min_date))
                return fail(c, v[F_MIN], "expected a date YYYY-MM-DD for 'min'");
        }
        if (present(v[F_MAX])) {
            const ynode *x = v[F_MAX];
            if (x->kind == YN_SCALAR && strcmp(x->s, "today") == 0)
                f->max_date = 0;
            else if (x->kind != YN_SCALAR || !parse_iso_date(x->s, &f->max_date))
                return fail(c, x, "expected a date YYYY-MM-DD or 'today' for 'max'");
            if (f->max_date && f->max_date < f->min_date)
                return fail(c, x, "'max' is before 'min'");
        }
    }
    return DL_OK;
}

static dl_status parse_fields(ctx *c, const ynode *n, const ynode *default_salt)
{
    dl_spec *s = c->spec;
    dl_status st = expect_list(c, n, "fields", 1, DL_SPEC_MAX_FIELDS);
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

static dl_status parse_clk(ctx *c, const ynode *m, const ynode *default_salt)
{
    static const char *const keys[] = {"fields", "q",    "bits",    "k",
                                       "padded", "salt", "balance", "xor_folds"};
    const ynode *v[8];
    dl_spec *s = c->spec;
    dl_status st = check_map(c, m, "clk", keys, 8, v, NULL);
    if (st)
        return st;
    if (!present(v[0]))
        return v[0] ? fail(c, v[0], "'fields' has no value")
                    : missing(c, m, "fields", "clk");
    if ((st = expect_list(c, v[0], "field names", 1, DL_SPEC_MAX_FIELDS)))
        return st;
    for (const ynode *it = v[0]->first; it; it = it->next) {
        int fi;
        if ((st = get_field_ref(c, it, "clk fields", &fi)))
            return st;
        for (size_t j = 0; j < s->n_clk_fields; j++)
            if (s->clk_fields[j] == fi)
                return fail(c, it, "field '%s' is listed twice", s->fields[fi].name);
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
                return fail(c, salt,
                            "salt field '%s' is one of the clk fields (a salt must "
                            "be a field outside the filter)",
                            s->fields[fi].name);
        s->clk.salt_field = s->fields[fi].name;
    } else {
        s->clk.salt_field = NULL;
    }
    return DL_OK;
}

static dl_status get_column_list(ctx *c, const ynode *n, const char *key, const char ***out,
                                 size_t *nout)
{
    dl_status st = expect_list(c, n, "column names", 0, 4096);
    if (st)
        return st;
    const char **arr = dl_arena_alloc(c->arena, (n->n ? n->n : 1) * sizeof *arr);
    if (!arr)
        return nomem(c);
    size_t k = 0;
    for (const ynode *it = n->first; it; it = it->next) {
        if ((st = get_string(c, it, key, &arr[k])))
            return st;
        for (size_t j = 0; j < k; j++)
            if (strcmp(arr[j], arr[k]) == 0)
                return fail(c, it, "column '%s' is listed twice in '%s'", arr[k], key);
        k++;
    }
    *out = arr;
    *nout = k;
    return DL_OK;
}

static dl_status parse_content(ctx *c, const ynode *m)
{
    static const char *const keys[] = {"keep", "drop", "derive"};
    const ynode *v[3], *kn[3];
    dl_spec *s = c->spec;
    dl_status st = check_map(c, m, "content", keys, 3, v, kn);
    if (st)
        return st;
    if (v[0] && v[1]) {
        const ynode *later = kn[0]->line > kn[1]->line ||
                                     (kn[0]->line == kn[1]->line && kn[0]->col > kn[1]->col)
                                 ? kn[0]
                                 : kn[1];
        return fail(c, later, "give 'keep' or 'drop' in content, not both");
    }
    if (present(v[0])) {
        if ((st = get_column_list(c, v[0], "keep", &s->keep, &s->n_keep)))
            return st;
        /* Content travels to the linkage unit and the data bank beside the
           SLF; an identifier column there would defeat the encoding. */
        const ynode *it = v[0]->first;
        for (size_t i = 0; i < s->n_keep; i++, it = it->next) {
            if (strcmp(s->keep[i], s->record_id) == 0)
                return fail(c, it, "the record id column cannot be kept in content");
            for (size_t j = 0; j < s->n_fields; j++)
                if (s->fields[j].column && strcmp(s->keep[i], s->fields[j].column) == 0)
                    return fail(c, it,
                                "column '%s' is read by field '%s' and cannot be kept "
                                "in content (identifiers are encoded, never copied)",
                                s->keep[i], s->fields[j].name);
        }
    }
    if (present(v[1]) && (st = get_column_list(c, v[1], "drop", &s->drop, &s->n_drop)))
        return st;
    if (present(v[2])) {
        static const char *const dkeys[] = {"week_of_birth", "year_of_birth", "sex"};
        const ynode *dv[3];
        if ((st = check_map(c, v[2], "derive", dkeys, 3, dv, NULL)))
            return st;
        int *dst[3] = {&s->derive_week_of_birth, &s->derive_year_of_birth, &s->derive_sex};
        for (int i = 0; i < 3; i++) {
            if (!present(dv[i]))
                continue;
            int fi;
            if ((st = get_field_ref(c, dv[i], dkeys[i], &fi)))
                return st;
            dl_field_type want = i < 2 ? DL_FT_DATE : DL_FT_SEX;
            if (s->fields[fi].type != want)
                return fail(c, dv[i], "'%s' needs a %s field, and '%s' is %s", dkeys[i],
                            dl_field_type_name(want), s->fields[fi].name,
                            dl_field_type_name(s->fields[fi].type));
            *dst[i] = fi;
        }
    }
    return DL_OK;
}

/* A feature reference FIELD.FEATURE naming a declared field and a feature it
 * declares. */
static dl_status get_feature_ref(ctx *c, const ynode *n, const char *key,
                                 dl_feature_ref *out)
{
    if (n->kind != YN_SCALAR || is_null(n))
        return fail(c, n, "expected a feature FIELD.FEATURE for '%s', found %s", key,
                    describe(n));
    char sh[48];
    const char *dot = strchr(n->s, '.');
    if (!dot || strchr(dot + 1, '.') || dot == n->s || !dot[1])
        return fail(c, n, "expected a feature FIELD.FEATURE for '%s', found '%s'", key,
                    show(n, sh));
    char fname[MAX_NAME + 1];
    size_t fl = (size_t)(dot - n->s);
    if (fl > MAX_NAME)
        fl = MAX_NAME;
    memcpy(fname, n->s, fl);
    fname[fl] = '\0';
    int fi = find_field(c->spec, fname);
    if (fi < 0) {
        char in[80];
        snprintf(in, sizeof in, " in '%s'", show(n, sh));
        return unknown_field(c, n, fname, in);
    }
    const dl_spec_field *f = &c->spec->fields[fi];
    const char *feat = dot + 1;
    dl_feature_kind k;
    if (!dl_feature_parse(feat, &k) || !has_feature(f, k)) {
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
            return fail(c, n, "field '%s' has no feature '%.32s' (did you mean '%s.%s'?)",
                        f->name, feat, f->name, near);
        return fail(c, n, "field '%s' has no feature '%.32s' (it declares: %s)", f->name,
                    feat, list);
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

static dl_status parse_level(ctx *c, const ynode *m, dl_spec_level *lv)
{
    static const char *const keys[] = {"exact", "dice", "count", "min", "label"};
    const ynode *v[5], *kn[5];
    dl_status st = check_map(c, m, "a comparison level", keys, 5, v, kn);
    if (st)
        return st;
    int kind = -1;
    for (int i = 0; i < 3; i++) {
        if (!v[i])
            continue;
        if (kind >= 0)
            return fail(c, kn[i],
                        "a level takes one of exact, dice or count; found '%s' "
                        "and '%s'",
                        keys[kind], keys[i]);
        kind = i;
    }
    if (kind < 0)
        return fail(c, m, "a level needs one of exact, dice or count");
    lv->kind = (dl_level_kind)kind;
    const dl_spec *s = c->spec;
    char buf[160], r1[80];
    if (kind == DL_LV_EXACT) {
        if (v[3])
            return fail(c, kn[3], "'min' applies to dice and count levels, not exact");
        if ((st = get_feature_ref(c, v[0], "exact", &lv->terms[0])))
            return st;
        /* Filters of a person's two records rarely agree bit for bit; the
         * comparator has no exact test for them: refuse it here, not at link. */
        if (lv->terms[0].kind == DL_FEAT_BLOOM)
            return fail(c, v[0], "exact compares tokens; '%s' is a Bloom filter (use dice)",
                        ref_str(s, lv->terms[0], r1, sizeof r1));
        lv->n_terms = 1;
        snprintf(buf, sizeof buf, "exact %s", ref_str(s, lv->terms[0], r1, sizeof r1));
    } else if (kind == DL_LV_DICE) {
        if ((st = get_feature_ref(c, v[1], "dice", &lv->terms[0])))
            return st;
        ref_str(s, lv->terms[0], r1, sizeof r1);
        if (lv->terms[0].kind != DL_FEAT_BLOOM)
            return fail(c, v[1], "dice compares Bloom filters; '%s' is not a bloom feature",
                        r1);
        lv->n_terms = 1;
        if (!present(v[3]))
            return v[3] ? fail(c, v[3], "'min' has no value")
                        : missing(c, m, "min", "a dice level");
        if ((st = get_fraction(c, v[3], "min", true, &lv->min)))
            return st;
        snprintf(buf, sizeof buf, "dice %s >= %g", r1, lv->min);
    } else {
        const ynode *l = v[2];
        if ((st = expect_list(c, l, "features to count", 2, DL_SPEC_MAX_COUNT_TERMS)))
            return st;
        for (const ynode *it = l->first; it; it = it->next) {
            dl_feature_ref r;
            if ((st = get_feature_ref(c, it, "count", &r)))
                return st;
            if (r.kind == DL_FEAT_BLOOM)
                return fail(c, it, "count counts agreeing tokens; '%s' is a Bloom filter",
                            ref_str(s, r, r1, sizeof r1));
            for (size_t j = 0; j < lv->n_terms; j++)
                if (lv->terms[j].field == r.field && lv->terms[j].kind == r.kind)
                    return fail(c, it, "feature '%s' is counted twice",
                                ref_str(s, r, r1, sizeof r1));
            lv->terms[lv->n_terms++] = r;
        }
        if (!present(v[3]))
            return v[3] ? fail(c, v[3], "'min' has no value")
                        : missing(c, m, "min", "a count level");
        if ((st = get_unsigned(c, v[3], "min", 1, (unsigned)lv->n_terms, &lv->min_count)))
            return st;
        int o = snprintf(buf, sizeof buf, "%u of ", lv->min_count);
        for (size_t j = 0; j < lv->n_terms && o > 0 && (size_t)o < sizeof buf; j++)
            o += snprintf(buf + o, sizeof buf - (size_t)o, "%s%s", j ? "," : "",
                          ref_str(s, lv->terms[j], r1, sizeof r1));
    }
    if (present(v[4]))
        return get_string(c, v[4], "label", &lv->label);
    if (!(lv->label = dl_arena_strdup(c->arena, buf)))
        return nomem(c);
    return DL_OK;
}

static dl_status parse_comparison(ctx *c, const ynode *m, size_t idx)
{
    static const char *const keys[] = {"name", "levels", "null_if", "tf"};
    const ynode *v[4];
    dl_spec *s = c->spec;
    dl_spec_comparison *cmp = &s->comparisons[idx];
    char what[96];
    snprintf(what, sizeof what, "comparisons[%zu]", idx);
    dl_status st = check_map(c, m, what, keys, 4, v, NULL);
    if (st)
        return st;
    cmp->line = m->line;
    cmp->col = m->col;
    if (!present(v[0]))
        return v[0] ? fail(c, v[0], "'name' has no value") : missing(c, m, "name", what);
    if ((st = get_string(c, v[0], "name", &cmp->name)))
        return st;
    if (!is_label_name(cmp->name))
        return fail(c, v[0],
                    "comparison name must be 1 to %d letters, digits, '_', '.' or "
                    "'-'",
                    MAX_NAME);
    for (size_t i = 0; i < idx; i++)
        if (strcmp(s->comparisons[i].name, cmp->name) == 0)
            return fail(c, v[0], "duplicate comparison name '%s' (first at line %lu)",
                        cmp->name, (unsigned long)s->comparisons[i].line);
    snprintf(what, sizeof what, "comparison '%s'", cmp->name);
    if (!present(v[1]))
        return v[1] ? fail(c, v[1], "'levels' has no value")
                    : missing(c, m, "levels", what);
    if ((st = expect_list(c, v[1], "levels", 1, DL_SPEC_MAX_LEVELS)))
        return st;
    for (const ynode *it = v[1]->first; it; it = it->next) {
        if ((st = parse_level(c, it, &cmp->levels[cmp->n_levels])))
            return st;
        cmp->n_levels++;
    }
    cmp->null_if = cmp->levels[0].terms[0];
    if (present(v[2]) && (st = get_feature_ref(c, v[2], "null_if", &cmp->null_if)))
        return st;
    if (present(v[3])) {
        if ((st = get_feature_ref(c, v[3], "tf", &cmp->tf_feature)))
            return st;
        /* Term frequencies count values of one token; a filter or a set has
           no single value to count. */
        if (cmp->tf_feature.kind == DL_FEAT_BLOOM ||
            dl_feature_is_set(cmp->tf_feature.kind))
            return fail(c, v[3],
                        "tf needs a single-token feature such as FIELD.token, not "
                        "'%s'",
                        dl_feature_name(cmp->tf_feature.kind));
        cmp->has_tf = true;
    }
    return DL_OK;
}

static dl_status parse_comparisons(ctx *c, const ynode *n)
{
    dl_spec *s = c->spec;
    dl_status st = expect_list(c, n, "comparisons", 1, MAX_COMPARISONS);
    if (st)
        return st;
    s->comparisons = dl_arena_alloc(c->arena, n->n * sizeof *s->comparisons);
    if (!s->comparisons)
        return nomem(c);
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
static dl_status parse_rules(ctx *c, const ynode *n, const char *key,
                             dl_blocking_rule **out, size_t *nout)
{
    dl_status st = expect_list(c, n, "blocking rules", 1, MAX_RULES);
    if (st)
        return st;
    dl_blocking_rule *rules = dl_arena_alloc(c->arena, n->n * sizeof *rules);
    if (!rules)
        return nomem(c);
    memset(rules, 0, n->n * sizeof *rules);
    size_t k = 0;
    char r1[80];
    for (const ynode *it = n->first; it; it = it->next, k++) {
        dl_blocking_rule *r = &rules[k];
        const ynode *single = it->kind == YN_SCALAR ? it : NULL;
        if (!single &&
            (st = expect_list(c, it, "features in a rule", 1, DL_SPEC_MAX_RULE_TERMS)))
            return st;
        for (const ynode *t = single ? single : it->first; t; t = single ? NULL : t->next) {
            dl_feature_ref ref;
            if ((st = get_feature_ref(c, t, key, &ref)))
                return st;
            if (ref.kind == DL_FEAT_BLOOM)
                return fail(c, t,
                            "a blocking rule cannot use a bloom feature ('%s'); use "
                            "an exact feature such as a token or phonetic code",
                            ref_str(c->spec, ref, r1, sizeof r1));
            for (size_t j = 0; j < r->n_terms; j++)
                if (r->terms[j].field == ref.field && r->terms[j].kind == ref.kind)
                    return fail(c, t, "feature '%s' appears twice in one rule",
                                ref_str(c->spec, ref, r1, sizeof r1));
            r->terms[r->n_terms++] = ref;
        }
    }
    *out = rules;
    *nout = k;
    return DL_OK;
}

static dl_status parse_blocking(ctx *c, const ynode *m, const ynode *comparisons_key)
{
    static const char *const keys[] = {"rules", "max_block", "oversize"};
    const ynode *v[3];
    dl_spec *s = c->spec;
    dl_status st = check_map(c, m, "blocking", keys, 3, v, NULL);
    if (st)
        return st;
    if (present(v[0])) {
        if ((st = parse_rules(c, v[0], "rules", &s->rules, &s->n_rules)))
            return st;
    } else if (comparisons_key) {
        return v[0]
                   ? fail(c, v[0], "'rules' has no value (comparisons need blocking rules)")
                   : missing(c, m, "rules", "blocking");
    }
    if (present(v[1]) &&
        (st = get_uint(c, v[1], "max_block", 2, UINT32_MAX, &s->max_block)))
        return st;
    if (present(v[2])) {
        static const char *const names[] = {"skip", "cap"};
        int o;
        if ((st = get_enum(c, v[2], "oversize", names, 2, &o)))
            return st;
        s->oversize = (dl_oversize)o;
    }
    return DL_OK;
}

static dl_status parse_training(ctx *c, const ynode *m)
{
    static const char *const keys[] = {"seed", "u_sample", "em_rules", "max_iterations",
                                       "tolerance"};
    const ynode *v[5];
    dl_spec *s = c->spec;
    dl_status st = check_map(c, m, "training", keys, 5, v, NULL);
    if (st)
        return st;
    if (present(v[0]) && (st = get_uint(c, v[0], "seed", 0, UINT64_MAX, &s->seed)))
        return st;
    if (present(v[1]) &&
        (st = get_uint(c, v[1], "u_sample", 1, UINT64_C(1000000000000), &s->u_sample)))
        return st;
    if (present(v[2]) &&
        (st = parse_rules(c, v[2], "em_rules", &s->em_rules, &s->n_em_rules)))
        return st;
    if (present(v[3]) &&
        (st = get_unsigned(c, v[3], "max_iterations", 1, 100000, &s->max_iterations)))
        return st;
    if (present(v[4]) && (st = get_fraction(c, v[4], "tolerance", false, &s->tolerance)))
        return st;
    return DL_OK;
}

static dl_status parse_thresholds(ctx *c, const ynode *m)
{
    static const char *const keys[] = {"match", "review"};
    const ynode *v[2];
    dl_spec *s = c->spec;
    dl_status st = check_map(c, m, "thresholds", keys, 2, v, NULL);
    if (st)
        return st;
    if (present(v[0]) && (st = get_fraction(c, v[0], "match", false, &s->match_threshold)))
        return st;
    if (present(v[1]) &&
        (st = get_fraction(c, v[1], "review", false, &s->review_threshold)))
        return st;
    if (s->review_threshold > s->match_threshold)
        return fail(c, present(v[1]) ? v[1] : v[0],
                    "review threshold %g is above match threshold %g (expected review <= "
                    "match)",
                    s->review_threshold, s->match_threshold);
    return DL_OK;
}

static dl_status parse_clustering(ctx *c, const ynode *m, const ynode **method_node,
                                  const ynode **spine_node)
{
    static const char *const keys[] = {"method", "spine"};
    const ynode *v[2];
    dl_spec *s = c->spec;
    dl_status st = check_map(c, m, "clustering", keys, 2, v, NULL);
    if (st)
        return st;
    if (present(v[0])) {
        static const char *const names[] = {"components", "one_to_one", "spine"};
        int o;
        if ((st = get_enum(c, v[0], "clustering method", names, 3, &o)))
            return st;
        s->cluster = (dl_cluster_method)o;
        *method_node = v[0];
    }
    if (present(v[1])) {
        if ((st = get_string(c, v[1], "spine", &s->spine)))
            return st;
        if (!is_label_name(s->spine))
            return fail(c, v[1],
                        "spine must be a dataset name of 1 to %d letters, digits, "
                        "'_', '.' or '-'",
                        MAX_NAME);
        *spine_node = v[1];
    }
    return DL_OK;
}

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

static dl_status parse_spec(ctx *c, const ynode *root)
{
    dl_spec *s = c->spec;
    if (!root || (root->kind == YN_SCALAR && is_null(root)))
        return fail_at(
            c, root ? root->line : 1, root ? root->col : 1,
            "empty spec (expected a mapping with version, name, input and fields)");
    if (root->kind != YN_MAP)
        return fail(c, root,
                    "a spec must be a mapping of keys (version, name, ...), found %s",
                    describe(root));
    const ynode *v[K__N], *kn[K__N];
    dl_status st = check_map(c, root, "the spec", top_keys, K__N, v, kn);
    if (st)
        return st;
    static const int required[] = {K_VERSION, K_NAME, K_INPUT, K_FIELDS};
    for (int i = 0; i < 4; i++)
        if (!present(v[required[i]]))
            return v[required[i]]
                       ? fail(c, v[required[i]], "'%s' has no value", top_keys[required[i]])
                       : missing(c, root, top_keys[required[i]], "the spec");

    uint64_t ver;
    if ((st = get_uint(c, v[K_VERSION], "version", 0, UINT32_MAX, &ver)))
        return st;
    if (ver != 1)
        return fail(c, v[K_VERSION], "unsupported spec version %llu (expected 1)",
                    (unsigned long long)ver);
    if ((st = get_string(c, v[K_NAME], "name", &s->name)))
        return st;
    if (!is_label_name(s->name))
        return fail(c, v[K_NAME], "name must be 1 to %d letters, digits, '_', '.' or '-'",
                    MAX_NAME);
    if (present(v[K_LINK_TYPE])) {
        static const char *const names[] = {"dedupe", "link", "link_and_dedupe", "spine"};
        int o;
        if ((st = get_enum(c, v[K_LINK_TYPE], "link_type", names, 4, &o)))
            return st;
        s->link_type = (dl_link_type)o;
    }
    if ((st = parse_input(c, v[K_INPUT])))
        return st;

    const ynode *default_salt = NULL;
    if (present(v[K_BLOOM])) {
        const ynode *bv[B__N];
        if ((st = check_map(c, v[K_BLOOM], "bloom", bloom_keys, B__N, bv, NULL)) ||
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
    if (present(v[K_CLK]) && (st = parse_clk(c, v[K_CLK], default_salt)))
        return st;
    if (present(v[K_CONTENT]) && (st = parse_content(c, v[K_CONTENT])))
        return st;
    if (v[K_COMPARISONS] && (st = parse_comparisons(c, v[K_COMPARISONS])))
        return st;
    if (present(v[K_BLOCKING])) {
        if ((st = parse_blocking(c, v[K_BLOCKING],
                                 s->n_comparisons ? kn[K_COMPARISONS] : NULL)))
            return st;
    } else if (s->n_comparisons) {
        return fail(c, kn[K_COMPARISONS],
                    "comparisons need blocking rules (add blocking: "
                    "{rules: [[FIELD.FEATURE, ...], ...]})");
    }
    if (present(v[K_TRAINING]) && (st = parse_training(c, v[K_TRAINING])))
        return st;
    if (present(v[K_THRESHOLDS]) && (st = parse_thresholds(c, v[K_THRESHOLDS])))
        return st;
    const ynode *method = NULL, *spine = NULL;
    if (present(v[K_CLUSTERING]) &&
        (st = parse_clustering(c, v[K_CLUSTERING], &method, &spine)))
        return st;
    /* A spine is named exactly when something uses it. */
    bool spine_mode = s->cluster == DL_CLUSTER_SPINE || s->link_type == DL_LINK_SPINE;
    if (spine_mode && !s->spine) {
        const ynode *at = method            ? method
                          : v[K_CLUSTERING] ? v[K_CLUSTERING]
                                            : v[K_LINK_TYPE];
        return fail(c, at,
                    "spine mode needs the spine dataset (add clustering: {method: "
                    "spine, spine: NAME})");
    }
    if (!spine_mode && s->spine)
        return fail(c, spine, "'spine' is only used with method spine or link_type spine");
    if (s->link_type == DL_LINK_SPINE && s->cluster != DL_CLUSTER_SPINE)
        return fail(c, method ? method : v[K_LINK_TYPE],
                    "link_type spine needs clustering method spine");
    /* One-to-one assignment assumes each dataset holds a person once: only
       linking without deduplication fits. */
    if (s->cluster == DL_CLUSTER_ONE_TO_ONE && s->link_type != DL_LINK_LINK)
        return fail(c, method,
                    "method one_to_one needs link_type link (each dataset holding "
                    "a person at most once)");
    if (v[K_OUTPUTS]) {
        const ynode *o = v[K_OUTPUTS];
        if (o->kind != YN_MAP && !is_null(o))
            return fail(c, o, "expected an empty mapping {} for 'outputs', found %s",
                        describe(o));
        if (o->kind == YN_MAP && o->n)
            return fail(c, o->first,
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
    ctx c = {.path = name ? name : "", .err = err};
    dl_status st;
    if (!box || !(box->arena = dl_arena_new(16 * 1024)) || !(c.tmp = dl_arena_new(0))) {
        st = nomem(&c);
        goto fail;
    }
    c.arena = box->arena;
    c.spec = &box->spec;
    set_defaults(c.spec);
    if (!(c.spec->path = dl_arena_strdup(c.arena, c.path))) {
        st = nomem(&c);
        goto fail;
    }
    ynode *root;
    if ((st = build_tree(&c, text, len, &root)) || (st = parse_spec(&c, root)))
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
