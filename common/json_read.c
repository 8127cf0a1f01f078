/* json_read.c: a strict RFC 8259 parser into an arena-allocated tree.
 * Part of common/; reads manifests (and anything else dolen wrote as JSON),
 * so it rejects whatever a careful writer would never produce. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dolen/arena.h"
#include "dolen/json.h"

enum { MAX_FILE = 16 << 20 };

typedef struct member {
    const char *key;
    size_t keylen;
    uint64_t line, col; /* of the key, for duplicate-key errors */
    dl_json *val;
} member;

struct dl_json {
    dl_json_type type;
    bool b;
    bool has_i64, has_u64;
    uint64_t line, col;
    size_t len;       /* string bytes; array items; object members */
    const char *s;    /* string bytes, or number text */
    double d;
    int64_t i64;
    uint64_t u64;
    dl_json **items;  /* array */
    member *members;  /* object, in document order */
    member **sorted;  /* object, by key, for lookup */
};

struct dl_json_doc {
    dl_arena *arena;
    dl_json *root;
    char *name;
};

typedef struct parser {
    const unsigned char *s;
    size_t n, pos;
    uint64_t line;
    size_t line_start;
    const char *name;
    dl_arena *arena;
    dl_error *err;
    unsigned depth;
    /* Scratch stacks: children collect here until their container closes,
     * then move to the arena in one piece. Reused by every container. */
    dl_json **vals;
    size_t nvals, capvals;
    member *mems;
    size_t nmems, capmems;
} parser;

size_t dl__utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    size_t len;
    unsigned lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlong 3-byte forms */
        else if (c == 0xED)
            hi = 0x9F; /* no UTF-16 surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90; /* no overlong 4-byte forms */
        else if (c == 0xF4)
            hi = 0x8F; /* nothing above U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

static dl_status perr(parser *p, size_t at, const char *fmt, ...) DL_PRINTF(3, 4);

/* Report at byte offset AT, which is on the current line: newlines occur
 * only in whitespace, which is consumed before anything is reported. */
static dl_status perr(parser *p, size_t at, const char *fmt, ...)
{
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return dl_error_set(p->err, DL_EINPUT, p->name, p->line, at - p->line_start + 1, "%s",
                        msg);
}

static dl_status nomem(parser *p)
{
    return dl_error_set(p->err, DL_ENOMEM, p->name, 0, 0, "out of memory parsing JSON");
}

static void skip_ws(parser *p)
{
    while (p->pos < p->n) {
        unsigned char c = p->s[p->pos];
        if (c == '\n') {
            p->line++;
            p->line_start = p->pos + 1;
        } else if (c != ' ' && c != '\t' && c != '\r') {
            return;
        }
        p->pos++;
    }
}

static dl_json *new_node(parser *p, dl_json_type t, size_t at)
{
    dl_json *v = dl_arena_alloc(p->arena, sizeof *v);
    if (!v)
        return NULL;
    memset(v, 0, sizeof *v);
    v->type = t;
    v->line = p->line;
    v->col = at - p->line_start + 1;
    return v;
}

static int hexval(unsigned c)
{
    if (c >= '0' && c <= '9')
        return (int)(c - '0');
    if (c >= 'a' && c <= 'f')
        return (int)(c - 'a' + 10);
    if (c >= 'A' && c <= 'F')
        return (int)(c - 'A' + 10);
    return -1;
}

/* The 4 hex digits at P->s[AT..AT+3] as a number, or -1. */
static long hex4(const parser *p, size_t at)
{
    if (p->n - at < 4)
        return -1;
    long v = 0;
    for (size_t i = 0; i < 4; i++) {
        int h = hexval(p->s[at + i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static size_t put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | cp >> 6);
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | cp >> 12);
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | cp >> 18);
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string starting at the opening quote at p->pos. Validates in one pass,
 * then decodes into an arena copy no longer than the raw text (every escape
 * is at least as long as the bytes it stands for). */
static dl_status parse_string(parser *p, const char **out, size_t *outlen)
{
    size_t start = p->pos + 1, i = start;
    for (;;) {
        if (i >= p->n)
            return perr(p, p->pos, "unterminated string (expected '\"' before the end of input)");
        unsigned c = p->s[i];
        if (c == '"')
            break;
        if (c < 0x20)
            return perr(p, i, "control character in a string (write it as \\u%04x)", c);
        if (c == '\\') {
            if (i + 1 >= p->n)
                return perr(p, p->pos,
                            "unterminated string (expected '\"' before the end of input)");
            unsigned e = p->s[i + 1];
            if (e == 'u') {
                long cp = hex4(p, i + 2);
                if (cp < 0)
                    return perr(p, i, "invalid \\u escape (expected 4 hex digits)");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return perr(p, i, "unpaired UTF-16 low surrogate in a \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    long lo = -1;
                    if (i + 7 < p->n && p->s[i + 6] == '\\' && p->s[i + 7] == 'u')
                        lo = hex4(p, i + 8);
                    if (lo < 0xDC00 || lo > 0xDFFF)
                        return perr(p, i,
                                    "unpaired UTF-16 high surrogate in a \\u escape "
                                    "(expected a \\uDC00-\\uDFFF escape after it)");
                    i += 12;
                } else {
                    i += 6;
                }
                continue;
            }
            if (!strchr("\"\\/bfnrt", (int)e) || e == 0)
                return perr(p, i,
                            "invalid escape (expected one of \\\" \\\\ \\/ \\b \\f \\n \\r "
                            "\\t \\uXXXX)");
            i += 2;
            continue;
        }
        if (c >= 0x80) {
            size_t k = dl__utf8_seq(p->s + i, p->n - i);
            if (!k)
                return perr(p, i, "invalid UTF-8 byte sequence in a string");
            i += k;
            continue;
        }
        i++;
    }
    size_t end = i;
    char *o = dl_arena_alloc(p->arena, end - start + 1);
    if (!o)
        return nomem(p);
    size_t n = 0;
    for (i = start; i < end;) {
        unsigned c = p->s[i];
        if (c != '\\') {
            o[n++] = (char)c;
            i++;
            continue;
        }
        unsigned e = p->s[i + 1];
        i += 2;
        switch (e) {
        case 'b': o[n++] = '\b'; break;
        case 'f': o[n++] = '\f'; break;
        case 'n': o[n++] = '\n'; break;
        case 'r': o[n++] = '\r'; break;
        case 't': o[n++] = '\t'; break;
        case 'u': {
            unsigned long cp = (unsigned long)hex4(p, i);
            i += 4;
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                unsigned long lo = (unsigned long)hex4(p, i + 2);
                i += 6;
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            n += put_utf8(o + n, cp);
            break;
        }
        default: o[n++] = (char)e; /* " \ / */
        }
    }
    o[n] = '\0';
    *out = o;
    *outlen = n;
    p->pos = end + 1;
    return DL_OK;
}

static bool is_digit(const parser *p, size_t i)
{
    return i < p->n && p->s[i] >= '0' && p->s[i] <= '9';
}

static dl_status parse_number(parser *p, dl_json *v)
{
    size_t start = p->pos, i = start;
    bool neg = false, integral = true;
    if (p->s[i] == '-') {
        neg = true;
        i++;
    }
    if (!is_digit(p, i))
        return perr(p, i, "expected a digit in a number");
    if (p->s[i] == '0' && is_digit(p, i + 1))
        return perr(p, i, "leading zeros are not allowed in a number");
    uint64_t mag = 0;
    bool overflow = false;
    while (is_digit(p, i)) {
        unsigned d = p->s[i] - '0';
        if (mag > (UINT64_MAX - d) / 10)
            overflow = true;
        else
            mag = mag * 10 + d;
        i++;
    }
    if (i < p->n && p->s[i] == '.') {
        integral = false;
        if (!is_digit(p, ++i))
            return perr(p, i, "expected a digit after the decimal point");
        while (is_digit(p, i))
            i++;
    }
    if (i < p->n && (p->s[i] == 'e' || p->s[i] == 'E')) {
        integral = false;
        i++;
        if (i < p->n && (p->s[i] == '+' || p->s[i] == '-'))
            i++;
        if (!is_digit(p, i))
            return perr(p, i, "expected a digit in the exponent");
        while (is_digit(p, i))
            i++;
    }
    char *text = dl_arena_strndup(p->arena, (const char *)p->s + start, i - start);
    if (!text)
        return nomem(p);
    double d = strtod(text, NULL);
    if (isinf(d))
        return perr(p, start, "number out of range (beyond a double's largest value)");
    v->s = text;
    v->d = d;
    if (integral && !overflow) {
        if (!neg) {
            v->has_u64 = true;
            v->u64 = mag;
            if (mag <= (uint64_t)INT64_MAX) {
                v->has_i64 = true;
                v->i64 = (int64_t)mag;
            }
        } else if (mag <= (uint64_t)INT64_MAX + 1) {
            v->has_i64 = true;
            v->i64 = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
            if (mag == 0) { /* -0 is zero */
                v->has_u64 = true;
                v->u64 = 0;
            }
        }
    }
    p->pos = i;
    return DL_OK;
}

static bool push_val(parser *p, dl_json *v)
{
    if (p->nvals == p->capvals) {
        size_t cap = p->capvals ? 2 * p->capvals : 64;
        dl_json **nv = realloc(p->vals, cap * sizeof *nv);
        if (!nv)
            return false;
        p->vals = nv;
        p->capvals = cap;
    }
    p->vals[p->nvals++] = v;
    return true;
}

static bool push_mem(parser *p, const member *m)
{
    if (p->nmems == p->capmems) {
        size_t cap = p->capmems ? 2 * p->capmems : 64;
        member *nm = realloc(p->mems, cap * sizeof *nm);
        if (!nm)
            return false;
        p->mems = nm;
        p->capmems = cap;
    }
    p->mems[p->nmems++] = *m;
    return true;
}

static int cmp_key(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return alen < blen ? -1 : alen > blen;
}

static int cmp_member(const void *x, const void *y)
{
    const member *a = *(const member *const *)x, *b = *(const member *const *)y;
    return cmp_key(a->key, a->keylen, b->key, b->keylen);
}

static dl_status parse_value(parser *p, dl_json **out);

static dl_status parse_array(parser *p, dl_json *v)
{
    size_t base = p->nvals;
    p->pos++; /* [ */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == ']') {
        p->pos++;
        return DL_OK;
    }
    for (;;) {
        dl_json *item;
        dl_status s = parse_value(p, &item);
        if (s != DL_OK)
            return s;
        if (!push_val(p, item))
            return nomem(p);
        skip_ws(p);
        if (p->pos >= p->n)
            return perr(p, p->pos, "unterminated array (expected ',' or ']')");
        unsigned char c = p->s[p->pos];
        if (c == ']') {
            p->pos++;
            break;
        }
        if (c != ',')
            return perr(p, p->pos, "expected ',' or ']' after an array item");
        p->pos++;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == ']')
            return perr(p, p->pos, "trailing comma before ']' (expected another item)");
    }
    size_t n = p->nvals - base;
    v->items = dl_arena_alloc(p->arena, n * sizeof *v->items);
    if (!v->items)
        return nomem(p);
    memcpy(v->items, p->vals + base, n * sizeof *v->items);
    v->len = n;
    p->nvals = base;
    return DL_OK;
}

static dl_status parse_object(parser *p, dl_json *v)
{
    size_t base = p->nmems;
    p->pos++; /* { */
    skip_ws(p);
    if (p->pos < p->n && p->s[p->pos] == '}') {
        p->pos++;
        return DL_OK;
    }
    for (;;) {
        member m;
        dl_status s;
        if (p->pos >= p->n)
            return perr(p, p->pos, "unterminated object (expected a key)");
        if (p->s[p->pos] != '"')
            return perr(p, p->pos, "expected a key in double quotes");
        m.line = p->line;
        m.col = p->pos - p->line_start + 1;
        s = parse_string(p, &m.key, &m.keylen);
        if (s != DL_OK)
            return s;
        skip_ws(p);
        if (p->pos >= p->n || p->s[p->pos] != ':')
            return perr(p, p->pos, "expected ':' after the key");
        p->pos++;
        s = parse_value(p, &m.val);
        if (s != DL_OK)
            return s;
        if (!push_mem(p, &m))
            return nomem(p);
        skip_ws(p);
        if (p->pos >= p->n)
            return perr(p, p->pos, "unterminated object (expected ',' or '}')");
        unsigned char c = p->s[p->pos];
        if (c == '}') {
            p->pos++;
            break;
        }
        if (c != ',')
            return perr(p, p->pos, "expected ',' or '}' after a member");
        p->pos++;
        skip_ws(p);
        if (p->pos < p->n && p->s[p->pos] == '}')
            return perr(p, p->pos, "trailing comma before '}' (expected another member)");
    }
    size_t n = p->nmems - base;
    v->members = dl_arena_alloc(p->arena, n * sizeof *v->members);
    v->sorted = dl_arena_alloc(p->arena, n * sizeof *v->sorted);
    if (!v->members || !v->sorted)
        return nomem(p);
    memcpy(v->members, p->mems + base, n * sizeof *v->members);
    p->nmems = base;
    v->len = n;
    for (size_t i = 0; i < n; i++)
        v->sorted[i] = &v->members[i];
    /* Sorting gives O(log n) lookup and finds duplicates in O(n log n). */
    qsort(v->sorted, n, sizeof *v->sorted, cmp_member);
    for (size_t i = 1; i < n; i++) {
        const member *a = v->sorted[i - 1], *b = v->sorted[i];
        if (cmp_key(a->key, a->keylen, b->key, b->keylen) == 0) {
            const member *later = a > b ? a : b;
            return dl_error_set(p->err, DL_EINPUT, p->name, later->line, later->col,
                                "duplicate key in an object (each key may appear once)");
        }
    }
    return DL_OK;
}

static bool literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->n - p->pos < n || memcmp(p->s + p->pos, word, n) != 0)
        return false;
    p->pos += n;
    return true;
}

static dl_status parse_value(parser *p, dl_json **out)
{
    skip_ws(p);
    if (p->pos >= p->n)
        return perr(p, p->pos, "expected a value, found the end of the input");
    size_t at = p->pos;
    unsigned char c = p->s[at];
    dl_json_type t;
    switch (c) {
    case '{': t = DL_JSON_OBJECT; break;
    case '[': t = DL_JSON_ARRAY; break;
    case '"': t = DL_JSON_STRING; break;
    case 't': case 'f': t = DL_JSON_BOOL; break;
    case 'n': t = DL_JSON_NULL; break;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            t = DL_JSON_NUMBER;
            break;
        }
        return perr(p, at,
                    "expected a value (an object, array, string, number, true, false or null)");
    }
    dl_json *v = new_node(p, t, at);
    if (!v)
        return nomem(p);
    dl_status s = DL_OK;
    switch (t) {
    case DL_JSON_OBJECT:
    case DL_JSON_ARRAY:
        if (p->depth == DL_JSON_MAX_DEPTH)
            return perr(p, at, "nested deeper than %d levels", DL_JSON_MAX_DEPTH);
        p->depth++;
        s = t == DL_JSON_OBJECT ? parse_object(p, v) : parse_array(p, v);
        p->depth--;
        break;
    case DL_JSON_STRING:
        s = parse_string(p, &v->s, &v->len);
        break;
    case DL_JSON_NUMBER:
        s = parse_number(p, v);
        break;
    case DL_JSON_BOOL:
        v->b = c == 't';
        if (!literal(p, v->b ? "true" : "false"))
            return perr(p, at, "expected a value (true or false?)");
        break;
    case DL_JSON_NULL:
        if (!literal(p, "null"))
            return perr(p, at, "expected a value (null?)");
        break;
    }
    if (s != DL_OK)
        return s;
    /* A literal or number must not run into letters: "truex", "1x". */
    *out = v;
    return DL_OK;
}

dl_status dl_json_parse(const char *text, size_t len, const char *name, dl_json_doc **out,
                        dl_error *err)
{
    *out = NULL;
    dl_json_doc *d = calloc(1, sizeof *d);
    if (!d)
        return dl_error_set(err, DL_ENOMEM, name, 0, 0, "out of memory parsing JSON");
    d->name = strdup(name ? name : "");
    d->arena = dl_arena_new(0);
    if (!d->name || !d->arena) {
        dl_json_doc_free(d);
        return dl_error_set(err, DL_ENOMEM, name, 0, 0, "out of memory parsing JSON");
    }
    parser p = {.s = (const unsigned char *)text, .n = len, .line = 1, .name = name,
                .arena = d->arena, .err = err};
    static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};
    if (len >= 3 && memcmp(text, bom, 3) == 0)
        p.pos = p.line_start = 3;
    dl_status s = parse_value(&p, &d->root);
    if (s == DL_OK) {
        skip_ws(&p);
        if (p.pos < p.n)
            s = perr(&p, p.pos, "unexpected text after the JSON value (expected the end)");
    }
    free(p.vals);
    free(p.mems);
    if (s != DL_OK) {
        dl_json_doc_free(d);
        return s;
    }
    *out = d;
    return DL_OK;
}

dl_status dl_json_load(const char *path, dl_json_doc **out, dl_error *err)
{
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dl_error_os(err, DL_EIO, errno, path, "cannot open JSON file");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return dl_error_os(err, DL_EIO, e, path, "cannot inspect JSON file");
    }
    if (!S_ISREG(st.st_mode) || st.st_size > MAX_FILE) {
        close(fd);
        return dl_error_set(err, DL_EINPUT, path, 0, 0,
                            "not a regular file of at most %d MiB", MAX_FILE >> 20);
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        close(fd);
        return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory reading JSON file");
    }
    for (;;) {
        ssize_t got = read(fd, buf + n, cap - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            int e = errno;
            free(buf);
            close(fd);
            return dl_error_os(err, DL_EIO, e, path, "cannot read JSON file");
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == cap) { /* the file grew since fstat */
            free(buf);
            close(fd);
            return dl_error_set(err, DL_EIO, path, 0, 0, "file changed while being read");
        }
    }
    close(fd);
    dl_status s = dl_json_parse(buf, n, path, out, err);
    free(buf);
    return s;
}

void dl_json_doc_free(dl_json_doc *d)
{
    if (!d)
        return;
    dl_arena_free(d->arena);
    free(d->name);
    free(d);
}

const dl_json *dl_json_root(const dl_json_doc *d)
{
    return d->root;
}

const char *dl_json_doc_name(const dl_json_doc *d)
{
    return d->name;
}

dl_json_type dl_json_type_of(const dl_json *v)
{
    return v ? v->type : DL_JSON_NULL;
}

const char *dl_json_type_name(dl_json_type t)
{
    switch (t) {
    case DL_JSON_NULL: return "null";
    case DL_JSON_BOOL: return "boolean";
    case DL_JSON_NUMBER: return "number";
    case DL_JSON_STRING: return "string";
    case DL_JSON_ARRAY: return "array";
    case DL_JSON_OBJECT: return "object";
    }
    return "?";
}

uint64_t dl_json_line(const dl_json *v)
{
    return v ? v->line : 0;
}

uint64_t dl_json_col(const dl_json *v)
{
    return v ? v->col : 0;
}

size_t dl_json_len(const dl_json *v)
{
    return v && (v->type == DL_JSON_ARRAY || v->type == DL_JSON_OBJECT) ? v->len : 0;
}

const dl_json *dl_json_at(const dl_json *v, size_t i)
{
    if (!v || i >= v->len)
        return NULL;
    if (v->type == DL_JSON_ARRAY)
        return v->items[i];
    if (v->type == DL_JSON_OBJECT)
        return v->members[i].val;
    return NULL;
}

const char *dl_json_key_at(const dl_json *v, size_t i, size_t *len)
{
    if (!v || v->type != DL_JSON_OBJECT || i >= v->len)
        return NULL;
    if (len)
        *len = v->members[i].keylen;
    return v->members[i].key;
}

const dl_json *dl_json_get(const dl_json *v, const char *key)
{
    if (!v || v->type != DL_JSON_OBJECT)
        return NULL;
    size_t klen = strlen(key), lo = 0, hi = v->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const member *m = v->sorted[mid];
        int c = cmp_key(m->key, m->keylen, key, klen);
        if (c == 0)
            return m->val;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const char *dl_json_str(const dl_json *v, size_t *len)
{
    if (!v || v->type != DL_JSON_STRING)
        return NULL;
    if (len)
        *len = v->len;
    return v->s;
}

const char *dl_json_num_text(const dl_json *v)
{
    return v && v->type == DL_JSON_NUMBER ? v->s : NULL;
}

bool dl_json_bool(const dl_json *v, bool *out)
{
    if (!v || v->type != DL_JSON_BOOL)
        return false;
    *out = v->b;
    return true;
}

bool dl_json_double(const dl_json *v, double *out)
{
    if (!v || v->type != DL_JSON_NUMBER)
        return false;
    *out = v->d;
    return true;
}

bool dl_json_int64(const dl_json *v, int64_t *out)
{
    if (!v || v->type != DL_JSON_NUMBER || !v->has_i64)
        return false;
    *out = v->i64;
    return true;
}

bool dl_json_uint64(const dl_json *v, uint64_t *out)
{
    if (!v || v->type != DL_JSON_NUMBER || !v->has_u64)
        return false;
    *out = v->u64;
    return true;
}
