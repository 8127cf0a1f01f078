/* test_json.c: the JSON writer (common/json_write.c) and the strict reader
 * (common/json_read.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/json.h"

/* ---- writer ------------------------------------------------------------ */

Test(json, writer_pretty_prints_deterministically)
{
    dl_buf b = DL_BUF_INIT;
    dl_json_writer w;
    dl_jw_init(&w, &b);
    dl_jw_object(&w);
    dl_jw_key(&w, "name");
    dl_jw_string(&w, "A");
    dl_jw_key(&w, "rows");
    dl_jw_uint(&w, 18446744073709551615ULL);
    dl_jw_key(&w, "delta");
    dl_jw_int(&w, INT64_MIN);
    dl_jw_key(&w, "list");
    dl_jw_array(&w);
    dl_jw_bool(&w, true);
    dl_jw_null(&w);
    dl_jw_object(&w);
    dl_jw_object_end(&w);
    dl_jw_array(&w);
    dl_jw_array_end(&w);
    dl_jw_array_end(&w);
    dl_jw_key(&w, "empty");
    dl_jw_object(&w);
    dl_jw_object_end(&w);
    dl_jw_object_end(&w);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_jw_finish(&w, &e), DL_OK, "%s", e.msg);
    cr_assert_str_eq(b.data, "{\n"
                             "  \"name\": \"A\",\n"
                             "  \"rows\": 18446744073709551615,\n"
                             "  \"delta\": -9223372036854775808,\n"
                             "  \"list\": [\n"
                             "    true,\n"
                             "    null,\n"
                             "    {},\n"
                             "    []\n"
                             "  ],\n"
                             "  \"empty\": {}\n"
                             "}\n");
    dl_buf_free(&b);
}

static char *one_value(void (*fn)(dl_json_writer *, const void *), const void *arg)
{
    static char out[256];
    dl_buf b = DL_BUF_INIT;
    dl_json_writer w;
    dl_jw_init(&w, &b);
    fn(&w, arg);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_jw_finish(&w, &e), DL_OK, "%s", e.msg);
    snprintf(out, sizeof out, "%s", b.data);
    dl_buf_free(&b);
    return out;
}

static void w_str(dl_json_writer *w, const void *s)
{
    dl_jw_string(w, s);
}

static void w_dbl(dl_json_writer *w, const void *d)
{
    dl_jw_double(w, *(const double *)d);
}

Test(json, writer_escapes_strings)
{
    cr_assert_str_eq(one_value(w_str, "a\"b\\c\n\t\r\x01\x1f\x7f/"),
                     "\"a\\\"b\\\\c\\n\\t\\r\\u0001\\u001f\\u007f/\"\n");
    cr_assert_str_eq(one_value(w_str, "Si\xc3\xa2n \xf0\x9f\x98\x80"),
                     "\"Si\xc3\xa2n \xf0\x9f\x98\x80\"\n", "valid UTF-8 passes as is");
}

Test(json, writer_doubles_shortest_round_trip)
{
    struct {
        double v;
        const char *text;
    } cases[] = {{0.1, "0.1\n"}, {1.0 / 3, "0.3333333333333333\n"}, {1e300, "1e+300\n"},
                 {-0.0, "-0\n"}, {2.5, "2.5\n"}, {0.30000000000000004, "0.30000000000000004\n"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        cr_assert_str_eq(one_value(w_dbl, &cases[i].v), cases[i].text);
}

static void expect_writer_error(void (*fn)(dl_json_writer *), dl_status code, const char *needle)
{
    dl_buf b = DL_BUF_INIT;
    dl_json_writer w;
    dl_jw_init(&w, &b);
    fn(&w);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_jw_finish(&w, &e), code, "got %s", dl_status_name(e.code));
    cr_assert(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
    dl_buf_free(&b);
}

static void bad_nan(dl_json_writer *w)
{
    dl_jw_array(w);
    dl_jw_double(w, NAN);
    dl_jw_array_end(w);
}
static void bad_inf(dl_json_writer *w)
{
    dl_jw_double(w, -INFINITY);
}
static void bad_no_key(dl_json_writer *w)
{
    dl_jw_object(w);
    dl_jw_uint(w, 1);
    dl_jw_object_end(w);
}
static void bad_key_in_array(dl_json_writer *w)
{
    dl_jw_array(w);
    dl_jw_key(w, "k");
    dl_jw_array_end(w);
}
static void bad_mismatch(dl_json_writer *w)
{
    dl_jw_object(w);
    dl_jw_array_end(w);
}
static void bad_incomplete(dl_json_writer *w)
{
    dl_jw_array(w);
}
static void bad_two_values(dl_json_writer *w)
{
    dl_jw_null(w);
    dl_jw_null(w);
}
static void bad_utf8(dl_json_writer *w)
{
    dl_jw_string(w, "\xc3\x28");
}
static void bad_key_without_value(dl_json_writer *w)
{
    dl_jw_object(w);
    dl_jw_key(w, "k");
    dl_jw_object_end(w);
}
static void bad_too_deep(dl_json_writer *w)
{
    for (int i = 0; i < DL_JSON_MAX_DEPTH + 1; i++)
        dl_jw_array(w);
    for (int i = 0; i < DL_JSON_MAX_DEPTH + 1; i++)
        dl_jw_array_end(w);
}

Test(json, writer_errors_are_sticky_and_reported)
{
    expect_writer_error(bad_nan, DL_EINTERNAL, "NaN");
    expect_writer_error(bad_inf, DL_EINTERNAL, "infinity");
    expect_writer_error(bad_no_key, DL_EINTERNAL, "without a key");
    expect_writer_error(bad_key_in_array, DL_EINTERNAL, "key outside an object");
    expect_writer_error(bad_mismatch, DL_EINTERNAL, "does not match");
    expect_writer_error(bad_incomplete, DL_EINTERNAL, "incomplete");
    expect_writer_error(bad_two_values, DL_EINTERNAL, "second top-level");
    expect_writer_error(bad_utf8, DL_EINPUT, "UTF-8");
    expect_writer_error(bad_key_without_value, DL_EINTERNAL, "does not match");
    expect_writer_error(bad_too_deep, DL_EINTERNAL, "too deep");
}

/* ---- reader ------------------------------------------------------------ */

static dl_json_doc *parse_ok(const char *text)
{
    dl_json_doc *d = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_json_parse(text, strlen(text), "t.json", &d, &e), DL_OK,
                 "'%s': %llu:%llu %s", text, (unsigned long long)e.line,
                 (unsigned long long)e.col, e.msg);
    return d;
}

static void parse_bad_n(const char *text, size_t len, uint64_t line, uint64_t col,
                        const char *needle)
{
    dl_json_doc *d = (dl_json_doc *)1;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_json_parse(text, len, "t.json", &d, &e), DL_EINPUT, "accepted '%s'", text);
    cr_assert_null(d);
    cr_assert_str_eq(e.file, "t.json");
    cr_assert(e.line == line && e.col == col, "'%s': at %llu:%llu, expected %llu:%llu (%s)",
              text, (unsigned long long)e.line, (unsigned long long)e.col,
              (unsigned long long)line, (unsigned long long)col, e.msg);
    cr_assert(strstr(e.msg, needle), "'%s': message '%s' lacks '%s'", text, e.msg, needle);
}

static void parse_bad(const char *text, uint64_t line, uint64_t col, const char *needle)
{
    parse_bad_n(text, strlen(text), line, col, needle);
}

Test(json, reader_builds_tree_with_lookup)
{
    dl_json_doc *d = parse_ok("\xef\xbb\xbf {\"b\": [1, \"two\", null, true],\n"
                              "  \"a\": {\"x\": -2.5e1}, \"\": false}");
    const dl_json *r = dl_json_root(d);
    cr_assert_eq(dl_json_type_of(r), DL_JSON_OBJECT);
    cr_assert_eq(dl_json_len(r), 3);
    size_t kl;
    cr_assert_str_eq(dl_json_key_at(r, 0, &kl), "b");
    cr_assert_str_eq(dl_json_key_at(r, 1, NULL), "a");
    const dl_json *b = dl_json_get(r, "b");
    cr_assert_eq(dl_json_len(b), 4);
    int64_t i;
    cr_assert(dl_json_int64(dl_json_at(b, 0), &i) && i == 1);
    cr_assert_str_eq(dl_json_str(dl_json_at(b, 1), NULL), "two");
    cr_assert_eq(dl_json_type_of(dl_json_at(b, 2)), DL_JSON_NULL);
    bool t = false;
    cr_assert(dl_json_bool(dl_json_at(b, 3), &t) && t);
    cr_assert_null(dl_json_at(b, 4));
    double x;
    const dl_json *xv = dl_json_get(dl_json_get(r, "a"), "x");
    cr_assert(dl_json_double(xv, &x) && x == -25.0);
    cr_assert_not(dl_json_int64(xv, &i), "an exponent form is not an exact integer");
    cr_assert_str_eq(dl_json_num_text(xv), "-2.5e1");
    cr_assert_eq(dl_json_line(xv), 2);
    cr_assert_eq(dl_json_col(xv), 14);
    cr_assert(dl_json_bool(dl_json_get(r, ""), &t) && !t);
    cr_assert_null(dl_json_get(r, "zz"));
    cr_assert_null(dl_json_get(b, "b"), "lookup by key in an array");
    cr_assert_null(dl_json_str(b, NULL));
    dl_json_doc_free(d);
    dl_json_doc_free(NULL);
}

Test(json, reader_lookup_in_big_object)
{
    char text[20000];
    size_t n = 0;
    n += (size_t)snprintf(text + n, sizeof text - n, "{");
    for (int i = 0; i < 500; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "%s\"k%d\": %d", i ? "," : "",
                              (i * 37) % 500, i);
    snprintf(text + n, sizeof text - n, "}");
    dl_json_doc *d = parse_ok(text);
    for (int i = 0; i < 500; i++) {
        char k[16];
        snprintf(k, sizeof k, "k%d", (i * 37) % 500);
        int64_t v;
        cr_assert(dl_json_int64(dl_json_get(dl_json_root(d), k), &v));
        cr_assert_eq(v, i);
    }
    dl_json_doc_free(d);
}

Test(json, reader_numbers)
{
    dl_json_doc *d = parse_ok("[9223372036854775807, -9223372036854775808, "
                              "18446744073709551615, 18446744073709551616, -0, 0.5, 1E2]");
    const dl_json *a = dl_json_root(d);
    int64_t i;
    uint64_t u;
    cr_assert(dl_json_int64(dl_json_at(a, 0), &i) && i == INT64_MAX);
    cr_assert(dl_json_int64(dl_json_at(a, 1), &i) && i == INT64_MIN);
    cr_assert_not(dl_json_uint64(dl_json_at(a, 1), &u));
    cr_assert(dl_json_uint64(dl_json_at(a, 2), &u) && u == UINT64_MAX);
    cr_assert_not(dl_json_int64(dl_json_at(a, 2), &i));
    cr_assert_not(dl_json_uint64(dl_json_at(a, 3), &u), "2^64 is not exact");
    double x;
    cr_assert(dl_json_double(dl_json_at(a, 3), &x) && x == 18446744073709551616.0);
    cr_assert(dl_json_int64(dl_json_at(a, 4), &i) && i == 0);
    cr_assert(dl_json_uint64(dl_json_at(a, 4), &u) && u == 0);
    cr_assert_not(dl_json_int64(dl_json_at(a, 5), &i));
    cr_assert(dl_json_double(dl_json_at(a, 6), &x) && x == 100.0);
    dl_json_doc_free(d);
}

Test(json, reader_strings_and_escapes)
{
    dl_json_doc *d = parse_ok("[\"\\u00e2\\ud83d\\ude00\\/\\b\\f\", \"a\\u0000b\"]");
    size_t n;
    const char *s = dl_json_str(dl_json_at(dl_json_root(d), 0), &n);
    cr_assert_str_eq(s, "\xc3\xa2\xf0\x9f\x98\x80/\b\f");
    s = dl_json_str(dl_json_at(dl_json_root(d), 1), &n);
    cr_assert_eq(n, 3);
    cr_assert(memcmp(s, "a\0b", 3) == 0);
    dl_json_doc_free(d);
}

Test(json, reader_syntax_errors)
{
    parse_bad("", 1, 1, "end of the input");
    parse_bad("  \n  ", 2, 3, "end of the input");
    parse_bad("[1,]", 1, 4, "trailing comma");
    parse_bad("{\"a\":1,}", 1, 8, "trailing comma");
    parse_bad("[1 2]", 1, 4, "expected ',' or ']'");
    parse_bad("{\"a\" 1}", 1, 6, "expected ':'");
    parse_bad("{a:1}", 1, 2, "key in double quotes");
    parse_bad("{\"a\":1 \"b\":2}", 1, 8, "expected ',' or '}'");
    parse_bad("[1", 1, 3, "unterminated array");
    parse_bad("{\"a\":1", 1, 7, "unterminated object");
    parse_bad("tru", 1, 1, "true or false");
    parse_bad("nul", 1, 1, "null");
    parse_bad("{} x", 1, 4, "after the JSON value");
    parse_bad("truex", 1, 5, "after the JSON value");
    parse_bad("// comment\n1", 1, 1, "expected a value");
    parse_bad("'a'", 1, 1, "expected a value");
}

Test(json, reader_number_errors)
{
    parse_bad("[01]", 1, 2, "leading zeros");
    parse_bad("[-]", 1, 3, "expected a digit");
    parse_bad("[1.]", 1, 4, "after the decimal point");
    parse_bad("[1e]", 1, 4, "exponent");
    parse_bad("[.5]", 1, 2, "expected a value");
    parse_bad("[+1]", 1, 2, "expected a value");
    parse_bad("\n  1e999", 2, 3, "out of range");
}

Test(json, reader_string_errors)
{
    parse_bad("\"abc", 1, 1, "unterminated string");
    parse_bad("[\"a\tb\"]", 1, 4, "control character");
    parse_bad("\"\\x\"", 1, 2, "invalid escape");
    parse_bad("\"\\u12G4\"", 1, 2, "4 hex digits");
    parse_bad("\"ab\\ud800\"", 1, 4, "high surrogate");
    parse_bad("\"\\ud800\\u0041\"", 1, 2, "high surrogate");
    parse_bad("\"\\udc00\"", 1, 2, "low surrogate");
    parse_bad("\"\\", 1, 1, "unterminated string");
}

Test(json, reader_refuses_invalid_utf8)
{
    parse_bad("\"a\xc0\x80\"", 1, 3, "UTF-8");          /* overlong NUL */
    parse_bad("\"\xed\xa0\x80\"", 1, 2, "UTF-8");       /* encoded surrogate */
    parse_bad("\"\xf4\x90\x80\x80\"", 1, 2, "UTF-8");   /* above U+10FFFF */
    parse_bad("\"\xe2\x82\"", 1, 2, "UTF-8");           /* truncated */
    parse_bad("\"\xff\"", 1, 2, "UTF-8");
    parse_bad("\xc3\xa2", 1, 1, "expected a value");    /* outside a string */
    parse_bad_n("[\"a\"]\0", 6, 1, 6, "after the JSON value");
}

Test(json, reader_refuses_duplicate_keys)
{
    parse_bad("{\"a\": 1,\n \"b\": 2,\n \"a\": 3}", 3, 2, "duplicate key");
    parse_bad("{\"x\": {\"k\": 1, \"k\": 1}}", 1, 16, "duplicate key");
    dl_json_doc *d = parse_ok("{\"a\": {\"a\": 1}, \"b\": {\"a\": 2}}");
    dl_json_doc_free(d);
}

Test(json, reader_depth_limit)
{
    char deep[2 * DL_JSON_MAX_DEPTH + 3];
    for (int i = 0; i < DL_JSON_MAX_DEPTH; i++) {
        deep[i] = '[';
        deep[DL_JSON_MAX_DEPTH + i] = ']';
    }
    deep[2 * DL_JSON_MAX_DEPTH] = '\0';
    dl_json_doc *d = parse_ok(deep);
    dl_json_doc_free(d);
    char deeper[2 * DL_JSON_MAX_DEPTH + 3];
    memset(deeper, '[', DL_JSON_MAX_DEPTH + 1);
    memset(deeper + DL_JSON_MAX_DEPTH + 1, ']', DL_JSON_MAX_DEPTH + 1);
    deeper[2 * DL_JSON_MAX_DEPTH + 2] = '\0';
    parse_bad(deeper, 1, DL_JSON_MAX_DEPTH + 1, "nested deeper than 64");
}

Test(json, write_of_parsed_value_round_trips)
{
    const char *text = "{\"k\\u0000\": [1.50, -0, {\"\": \"\\u001f\\\"\"}], \"z\": {}, \"e\": []}";
    dl_json_doc *d = parse_ok(text);
    dl_buf b1 = DL_BUF_INIT, b2 = DL_BUF_INIT;
    dl_json_writer w;
    dl_error e = DL_ERROR_INIT;
    dl_jw_init(&w, &b1);
    dl_jw_value(&w, dl_json_root(d));
    cr_assert_eq(dl_jw_finish(&w, &e), DL_OK, "%s", e.msg);
    cr_assert_str_eq(b1.data, "{\n"
                              "  \"k\\u0000\": [\n"
                              "    1.50,\n"
                              "    -0,\n"
                              "    {\n"
                              "      \"\": \"\\u001f\\\"\"\n"
                              "    }\n"
                              "  ],\n"
                              "  \"z\": {},\n"
                              "  \"e\": []\n"
                              "}\n");
    dl_json_doc *d2 = parse_ok(b1.data);
    dl_jw_init(&w, &b2);
    dl_jw_value(&w, dl_json_root(d2));
    cr_assert_eq(dl_jw_finish(&w, &e), DL_OK);
    cr_assert_str_eq(b1.data, b2.data);
    dl_json_doc_free(d);
    dl_json_doc_free(d2);
    dl_buf_free(&b1);
    dl_buf_free(&b2);
}

Test(json, load_missing_file)
{
    dl_json_doc *d;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_json_load("/nonexistent/x.json", &d, &e), DL_EIO);
    cr_assert_str_eq(e.file, "/nonexistent/x.json");
    cr_assert_null(d);
}
