/* spec_yaml.c: YAML text to a tree of nodes with positions, and the checked
 * reads of its values (keys, numbers, names, dates) every spec section uses.
 * Part of config/; spec_load.c and spec_link.c read the sections with it, so
 * each mistake is reported once, at its line and column. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "config/spec_parse.h"
#include "dolen/suggest.h"

/* The deepest legitimate nesting is six (spec > comparisons > comparison >
 * levels > level > count list); deeper input is refused before it can cost
 * anything. */
#define MAX_DEPTH 16

dl_status dl__y_fail_at(spec_ctx *c, uint64_t line, uint64_t col, const char *fmt, ...)
{
    char msg[sizeof c->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(c->err, DL_EINPUT, c->path, line, col, "%s", msg);
}

dl_status dl__y_fail(spec_ctx *c, const ynode *n, const char *fmt, ...)
{
    char msg[sizeof c->err->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(c->err, DL_EINPUT, c->path, n ? n->line : 0, n ? n->col : 0, "%s",
                        msg);
}

dl_status dl__y_nomem(spec_ctx *c)
{
    return dl_error_set(c->err, DL_ENOMEM, c->path, 0, 0, "out of memory loading the spec");
}

/* A scalar shown in a message: at most 40 bytes, non-printing bytes as '?'.
 * Spec text is configuration, never data, so quoting it is safe. */
const char *dl__y_show(const ynode *n, char out[48])
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

static ynode *new_node(spec_ctx *c, yn_kind kind, const yaml_mark_t *m)
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

static dl_status yaml_fail(spec_ctx *c, const yaml_parser_t *p, const char *text,
                           size_t len)
{
    if (p->error == YAML_MEMORY_ERROR)
        return dl__y_nomem(c);
    const char *problem = p->problem ? p->problem : "unreadable YAML";
    if (p->error == YAML_READER_ERROR) {
        uint64_t line, col;
        offset_pos(text, len, p->problem_offset, &line, &col);
        return dl__y_fail_at(c, line, col,
                             "cannot read the spec as text: %s (expected UTF-8)", problem);
    }
    if (p->context)
        return dl__y_fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
                             "YAML syntax error: %s (%s at line %lu)", problem, p->context,
                             (unsigned long)p->context_mark.line + 1);
    return dl__y_fail_at(c, p->problem_mark.line + 1, p->problem_mark.column + 1,
                         "YAML syntax error: %s", problem);
}

/* Anchors and aliases would let one value stand in several places; a spec is
 * read by people who must see every value where it applies, so they are
 * refused rather than expanded. */
static dl_status no_anchor(spec_ctx *c, const yaml_char_t *anchor, const yaml_mark_t *m)
{
    if (!anchor)
        return DL_OK;
    return dl__y_fail_at(
        c, m->line + 1, m->column + 1,
        "YAML anchors (&name) are not supported in a spec (write the value out)");
}

dl_status dl__y_build_tree(spec_ctx *c, const char *text, size_t len, ynode **root)
{
    yaml_parser_t p;
    *root = NULL;
    if (!yaml_parser_initialize(&p))
        return dl__y_nomem(c);
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
                st =
                    dl__y_fail_at(c, m->line + 1, m->column + 1,
                                  "a second YAML document (a spec file holds exactly one)");
            break;
        case YAML_ALIAS_EVENT:
            st = dl__y_fail_at(
                c, m->line + 1, m->column + 1,
                "YAML aliases (*name) are not supported in a spec (write the value "
                "out)");
            break;
        case YAML_SCALAR_EVENT:
            if ((st = no_anchor(c, ev.data.scalar.anchor, m)) != DL_OK)
                break;
            if (memchr(ev.data.scalar.value, '\0', ev.data.scalar.length)) {
                st = dl__y_fail_at(c, m->line + 1, m->column + 1,
                                   "a NUL character in a value (expected text)");
                break;
            }
            n = new_node(c, YN_SCALAR, m);
            if (!n || !(n->s = dl_arena_strndup(c->tmp, (const char *)ev.data.scalar.value,
                                                ev.data.scalar.length))) {
                st = dl__y_nomem(c);
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
                st = dl__y_fail_at(c, m->line + 1, m->column + 1,
                                   "nesting deeper than %d levels (a spec needs at most 6)",
                                   MAX_DEPTH);
                break;
            }
            n = new_node(c, ev.type == YAML_SEQUENCE_START_EVENT ? YN_SEQ : YN_MAP, m);
            if (!n)
                st = dl__y_nomem(c);
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

bool dl__y_is_null(const ynode *n)
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

const char *dl__y_describe(const ynode *n)
{
    double d;
    if (n->kind == YN_SEQ)
        return "a list";
    if (n->kind == YN_MAP)
        return "a mapping";
    if (dl__y_is_null(n))
        return "nothing";
    if (bool_value(n) >= 0)
        return "a boolean";
    if (parse_double(n, &d))
        return "a number";
    return "a string";
}

bool dl__y_present(const ynode *n)
{
    return n && !dl__y_is_null(n);
}

/* ---- mappings with a fixed set of keys --------------------------------- */

/* Check that every key of mapping M is one of KEYS (NK of them), each at most
 * once, and put the value of KEYS[i] in vals[i] and the key node in
 * knodes[i] (NULL when absent). WHAT names the mapping in messages. */
dl_status dl__y_check_map(spec_ctx *c, const ynode *m, const char *what,
                          const char *const *keys, size_t nk, const ynode **vals,
                          const ynode **knodes)
{
    for (size_t i = 0; i < nk; i++) {
        vals[i] = NULL;
        if (knodes)
            knodes[i] = NULL;
    }
    if (m->kind != YN_MAP)
        return dl__y_fail(c, m, "expected a mapping of keys for %s, found %s", what,
                          dl__y_describe(m));
    char sh[48];
    for (const ynode *k = m->first; k; k = k->next->next) {
        const ynode *v = k->next;
        if (k->kind != YN_SCALAR)
            return dl__y_fail(c, k, "expected a key name in %s, found %s", what,
                              dl__y_describe(k));
        size_t i = 0;
        while (i < nk && strcmp(k->s, keys[i]) != 0)
            i++;
        if (i == nk) {
            const char *near = dl_suggest(k->s, keys, nk);
            if (near)
                return dl__y_fail(c, k, "unknown key '%s' in %s (did you mean '%s'?)",
                                  dl__y_show(k, sh), what, near);
            char list[200];
            size_t o = 0;
            list[0] = '\0';
            for (size_t j = 0; j < nk && o < sizeof list; j++) {
                int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", keys[j]);
                if (w < 0)
                    break;
                o += (size_t)w;
            }
            return dl__y_fail(c, k, "unknown key '%s' in %s (expected one of: %s)",
                              dl__y_show(k, sh), what, list);
        }
        if (vals[i]) {
            const ynode *first = vals[i];
            return dl__y_fail(c, k, "duplicate key '%s' in %s (first given at line %lu)",
                              keys[i], what, (unsigned long)first->line);
        }
        vals[i] = v;
        if (knodes)
            knodes[i] = k;
    }
    return DL_OK;
}

dl_status dl__y_missing(spec_ctx *c, const ynode *m, const char *key, const char *what)
{
    return dl__y_fail(c, m, "missing required key '%s' in %s", key, what);
}

/* ---- typed values ------------------------------------------------------ */

dl_status dl__y_get_string(spec_ctx *c, const ynode *n, const char *key, const char **out)
{
    if (n->kind != YN_SCALAR || dl__y_is_null(n))
        return dl__y_fail(c, n, "expected a string for '%s', found %s", key,
                          dl__y_describe(n));
    if (!(*out = dl_arena_strndup(c->arena, n->s, n->len)))
        return dl__y_nomem(c);
    return DL_OK;
}

dl_status dl__y_get_uint(spec_ctx *c, const ynode *n, const char *key, uint64_t min,
                         uint64_t max, uint64_t *out)
{
    uint64_t v;
    if (!parse_u64(n, &v))
        return dl__y_fail(
            c, n, "expected a whole number from %llu to %llu for '%s', found %s",
            (unsigned long long)min, (unsigned long long)max, key, dl__y_describe(n));
    if (v < min || v > max) {
        char sh[48];
        return dl__y_fail(c, n, "'%s' must be from %llu to %llu, found %s", key,
                          (unsigned long long)min, (unsigned long long)max,
                          dl__y_show(n, sh));
    }
    *out = v;
    return DL_OK;
}

dl_status dl__y_get_unsigned(spec_ctx *c, const ynode *n, const char *key, unsigned min,
                             unsigned max, unsigned *out)
{
    uint64_t v;
    dl_status st = dl__y_get_uint(c, n, key, min, max, &v);
    if (st == DL_OK)
        *out = (unsigned)v;
    return st;
}

dl_status dl__y_get_bool(spec_ctx *c, const ynode *n, const char *key, bool *out)
{
    int b = bool_value(n);
    if (b < 0)
        return dl__y_fail(c, n, "expected true or false for '%s', found %s", key,
                          dl__y_describe(n));
    *out = b == 1;
    return DL_OK;
}

/* A number in the open interval (0, 1), or (0, 1] when ONE_OK. */
dl_status dl__y_get_fraction(spec_ctx *c, const ynode *n, const char *key, bool one_ok,
                             double *out)
{
    double v;
    if (!parse_double(n, &v))
        return dl__y_fail(c, n, "expected a number between 0 and 1 for '%s', found %s", key,
                          dl__y_describe(n));
    if (!(v > 0 && (v < 1 || (one_ok && v == 1))))
        return dl__y_fail(c, n, "'%s' must be above 0 and %s 1", key,
                          one_ok ? "at most" : "below");
    *out = v;
    return DL_OK;
}

/* One of NAMES (NN of them); an unknown value gets the nearest suggested. */
dl_status dl__y_get_enum(spec_ctx *c, const ynode *n, const char *key,
                         const char *const *names, size_t nn, int *out)
{
    if (n->kind != YN_SCALAR || dl__y_is_null(n))
        return dl__y_fail(c, n, "expected one of the names for '%s', found %s", key,
                          dl__y_describe(n));
    for (size_t i = 0; i < nn; i++)
        if (strcmp(n->s, names[i]) == 0) {
            *out = (int)i;
            return DL_OK;
        }
    char sh[48];
    const char *near = dl_suggest(n->s, names, nn);
    if (near)
        return dl__y_fail(c, n, "unknown %s '%s' (did you mean '%s'?)", key,
                          dl__y_show(n, sh), near);
    char list[160];
    size_t o = 0;
    list[0] = '\0';
    for (size_t j = 0; j < nn && o < sizeof list; j++) {
        int w = snprintf(list + o, sizeof list - o, "%s%s", j ? ", " : "", names[j]);
        if (w < 0)
            break;
        o += (size_t)w;
    }
    return dl__y_fail(c, n, "unknown %s '%s' (expected one of: %s)", key, dl__y_show(n, sh),
                      list);
}

dl_status dl__y_expect_list(spec_ctx *c, const ynode *n, const char *of, size_t min,
                            size_t max)
{
    if (n->kind != YN_SEQ)
        return dl__y_fail(c, n, "expected a list of %s, found %s", of, dl__y_describe(n));
    if (n->n < min)
        return dl__y_fail(c, n, "expected at least %zu %s, found %zu", min, of, n->n);
    if (n->n > max)
        return dl__y_fail(c, n, "expected at most %zu %s, found %zu", max, of, n->n);
    return DL_OK;
}

/* [A-Za-z0-9_.-]{1,SPEC_MAX_NAME}: names that appear in file names and reports. */
bool dl__y_is_label_name(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > SPEC_MAX_NAME)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr("_.-", s[i]))
            return false;
    return true;
}

/* [a-z][a-z0-9_]{0,31}: field names become column names FIELD.FEATURE. */
bool dl__y_is_field_name(const char *s)
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
bool dl__y_parse_iso_date(const char *s, int32_t *out)
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
