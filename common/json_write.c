/* json_write.c: deterministic, pretty-printed JSON onto a dl_buf.
 * Part of common/; manifests and reports are written with it, and tests
 * compare their bytes, so output depends only on the calls made. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "dolen/json.h"

static void fail(dl_json_writer *w, dl_status s, const char *why)
{
    if (w->status == DL_OK) {
        w->status = s;
        w->why = why;
    }
}

static void put(dl_json_writer *w, const char *s, size_t n)
{
    if (w->status == DL_OK && !dl_buf_append(w->out, s, n))
        fail(w, DL_ENOMEM, "out of memory writing JSON");
}

static void newline_indent(dl_json_writer *w)
{
    static const char spaces[] = "                                                                ";
    put(w, "\n", 1);
    size_t n = 2 * (size_t)w->depth;
    while (n && w->status == DL_OK) {
        size_t k = n < sizeof spaces - 1 ? n : sizeof spaces - 1;
        put(w, spaces, k);
        n -= k;
    }
}

/* Everything a value needs before its first byte: check that a value may
 * come here, then a comma and an indent when it is an array item. */
static bool before_value(dl_json_writer *w)
{
    if (w->status != DL_OK)
        return false;
    if (w->done) {
        fail(w, DL_EINTERNAL, "JSON writer: a second top-level value");
        return false;
    }
    if (w->depth && w->in_object[w->depth]) {
        if (!w->after_key) {
            fail(w, DL_EINTERNAL, "JSON writer: a value in an object without a key");
            return false;
        }
        w->after_key = false;
        return true;
    }
    if (w->depth) {
        if (w->has_items[w->depth])
            put(w, ",", 1);
        w->has_items[w->depth] = true;
        newline_indent(w);
    }
    return w->status == DL_OK;
}

static void after_value(dl_json_writer *w)
{
    if (w->depth == 0)
        w->done = true;
}

void dl_jw_init(dl_json_writer *w, dl_buf *out)
{
    *w = (dl_json_writer){.out = out, .status = DL_OK};
}

static void open_container(dl_json_writer *w, char c, bool object)
{
    if (!before_value(w))
        return;
    if (w->depth == DL_JSON_MAX_DEPTH) {
        fail(w, DL_EINTERNAL, "JSON writer: containers nested too deep");
        return;
    }
    put(w, &c, 1);
    w->depth++;
    w->in_object[w->depth] = object;
    w->has_items[w->depth] = false;
}

static void close_container(dl_json_writer *w, char c, bool object)
{
    if (w->status != DL_OK)
        return;
    if (w->depth == 0 || w->in_object[w->depth] != object || w->after_key) {
        fail(w, DL_EINTERNAL, "JSON writer: an end that does not match its start");
        return;
    }
    bool items = w->has_items[w->depth];
    w->depth--;
    if (items)
        newline_indent(w);
    put(w, &c, 1);
    after_value(w);
}

void dl_jw_object(dl_json_writer *w)
{
    open_container(w, '{', true);
}

void dl_jw_object_end(dl_json_writer *w)
{
    close_container(w, '}', true);
}

void dl_jw_array(dl_json_writer *w)
{
    open_container(w, '[', false);
}

void dl_jw_array_end(dl_json_writer *w)
{
    close_container(w, ']', false);
}

static void put_string(dl_json_writer *w, const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    put(w, "\"", 1);
    size_t run = 0; /* start of the pending stretch copied as is */
    for (size_t i = 0; i < len && w->status == DL_OK;) {
        unsigned c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x7F) {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = dl__utf8_seq(s + i, len - i);
            if (!k) {
                fail(w, DL_EINPUT, "JSON writer: a string is not valid UTF-8");
                return;
            }
            i += k;
            continue;
        }
        put(w, str + run, i - run);
        char esc[8];
        switch (c) {
        case '"':
            put(w, "\\\"", 2);
            break;
        case '\\':
            put(w, "\\\\", 2);
            break;
        case '\n':
            put(w, "\\n", 2);
            break;
        case '\t':
            put(w, "\\t", 2);
            break;
        case '\r':
            put(w, "\\r", 2);
            break;
        default:
            snprintf(esc, sizeof esc, "\\u%04x", c);
            put(w, esc, 6);
        }
        run = ++i;
    }
    put(w, str + run, len - run);
    put(w, "\"", 1);
}

static void key_n(dl_json_writer *w, const char *key, size_t len)
{
    if (w->status != DL_OK)
        return;
    if (!w->depth || !w->in_object[w->depth] || w->after_key) {
        fail(w, DL_EINTERNAL, "JSON writer: a key outside an object or after a key");
        return;
    }
    if (w->has_items[w->depth])
        put(w, ",", 1);
    w->has_items[w->depth] = true;
    newline_indent(w);
    put_string(w, key, len);
    put(w, ": ", 2);
    w->after_key = true;
}

void dl_jw_key(dl_json_writer *w, const char *key)
{
    key_n(w, key, strlen(key));
}

void dl_jw_string_n(dl_json_writer *w, const char *s, size_t len)
{
    if (!before_value(w))
        return;
    put_string(w, s, len);
    after_value(w);
}

void dl_jw_string(dl_json_writer *w, const char *s)
{
    dl_jw_string_n(w, s, strlen(s));
}

static void put_raw_value(dl_json_writer *w, const char *text, size_t n)
{
    if (!before_value(w))
        return;
    put(w, text, n);
    after_value(w);
}

void dl_jw_uint(dl_json_writer *w, uint64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
    put_raw_value(w, t, (size_t)n);
}

void dl_jw_int(dl_json_writer *w, int64_t v)
{
    char t[24];
    int n = snprintf(t, sizeof t, "%lld", (long long)v);
    put_raw_value(w, t, (size_t)n);
}

void dl_jw_double(dl_json_writer *w, double v)
{
    if (w->status != DL_OK)
        return;
    if (!isfinite(v)) {
        fail(w, DL_EINTERNAL, "JSON writer: NaN or infinity has no JSON form");
        return;
    }
    char t[40];
    int n = 0;
    /* 17 significant digits always round-trip (IEEE 754 binary64); fewer
     * often do and read better. Taking the first that does keeps the text a
     * function of the value alone. */
    for (int prec = 15; prec <= 17; prec++) {
        n = snprintf(t, sizeof t, "%.*g", prec, v);
        if (strtod(t, NULL) == v)
            break;
    }
    put_raw_value(w, t, (size_t)n);
}

void dl_jw_bool(dl_json_writer *w, bool v)
{
    put_raw_value(w, v ? "true" : "false", v ? 4 : 5);
}

void dl_jw_null(dl_json_writer *w)
{
    put_raw_value(w, "null", 4);
}

void dl_jw_value(dl_json_writer *w, const dl_json *v)
{
    size_t n;
    const char *s;
    bool b;
    switch (dl_json_type_of(v)) {
    case DL_JSON_NULL:
        dl_jw_null(w);
        break;
    case DL_JSON_BOOL:
        dl_json_bool(v, &b);
        dl_jw_bool(w, b);
        break;
    case DL_JSON_NUMBER:
        s = dl_json_num_text(v);
        put_raw_value(w, s, strlen(s));
        break;
    case DL_JSON_STRING:
        s = dl_json_str(v, &n);
        dl_jw_string_n(w, s, n);
        break;
    case DL_JSON_ARRAY:
        dl_jw_array(w);
        for (size_t i = 0; i < dl_json_len(v) && w->status == DL_OK; i++)
            dl_jw_value(w, dl_json_at(v, i));
        dl_jw_array_end(w);
        break;
    case DL_JSON_OBJECT:
        dl_jw_object(w);
        for (size_t i = 0; i < dl_json_len(v) && w->status == DL_OK; i++) {
            /* Keys may hold \u0000: write them with their length. */
            const char *k = dl_json_key_at(v, i, &n);
            key_n(w, k, n);
            dl_jw_value(w, dl_json_at(v, i));
        }
        dl_jw_object_end(w);
        break;
    }
}

dl_status dl_jw_finish(dl_json_writer *w, dl_error *err)
{
    if (w->status == DL_OK && !w->done)
        fail(w, DL_EINTERNAL, "JSON writer: the value is incomplete (an end is missing)");
    put(w, "\n", 1);
    if (w->status != DL_OK)
        return dl_error_set(err, w->status, NULL, 0, 0, "%s", w->why);
    return DL_OK;
}
