/* test_csv_read.c: the streaming CSV reader (common/csv_read.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/buf.h"
#include "dolen/csv.h"
#include "dolen/gz.h"
#include "dolen/outfile.h"
#include "test_util.h"

/* Read everything and write a transcript: one line per call,
 *   "3/2 [a|b]"     a row (line 3, record 2) and its fields,
 *   "E 4:7 msg"     DL_EROW at line 4, column 7,
 *   "END" or "X<code> 5:1 msg" for the final status. */
static char *transcript_opts(const char *data, size_t len, const dl_csv_opts *o)
{
    dl_buf t = DL_BUF_INIT;
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r;
    dl_status s = dl_csv_open_mem(data, len, o, &r, &e);
    if (s != DL_OK) {
        cr_assert_null(r);
        dl_buf_printf(&t, "OPEN X%d %llu:%llu %s", (int)s, (unsigned long long)e.line,
                      (unsigned long long)e.col, e.msg);
        return t.data;
    }
    const dl_row *h = dl_csv_header(r);
    if (h) {
        dl_buf_printf(&t, "H%llu [", (unsigned long long)h->line);
        for (size_t i = 0; i < h->n; i++)
            dl_buf_printf(&t, "%s%s", i ? "|" : "", h->field[i]);
        dl_buf_puts(&t, "]\n");
    }
    uint64_t last_line = 0;
    for (;;) {
        dl_row row;
        s = dl_csv_next(r, &row, &e);
        if (s == DL_OK) {
            cr_assert_gt(row.line, last_line, "lines must increase");
            last_line = row.line;
            dl_buf_printf(&t, "%llu/%llu [", (unsigned long long)row.line,
                          (unsigned long long)row.record);
            for (size_t i = 0; i < row.n; i++) {
                cr_assert_eq(strlen(row.field[i]), row.len[i], "field not NUL-terminated");
                dl_buf_printf(&t, "%s%s", i ? "|" : "", row.field[i]);
            }
            dl_buf_puts(&t, "]\n");
        } else if (s == DL_EROW) {
            cr_assert_eq(row.n, 0);
            cr_assert_eq(e.code, DL_EROW);
            dl_buf_printf(&t, "E %llu:%llu %s\n", (unsigned long long)e.line,
                          (unsigned long long)e.col, e.msg);
        } else {
            break;
        }
    }
    if (s == DL_END) {
        dl_buf_puts(&t, "END");
    } else {
        dl_buf_printf(&t, "X%d %llu:%llu %s", (int)s, (unsigned long long)e.line,
                      (unsigned long long)e.col, e.msg);
        /* Sticky: the same again. */
        dl_row row;
        dl_error e2 = DL_ERROR_INIT;
        cr_assert_eq(dl_csv_next(r, &row, &e2), s);
        cr_assert_str_eq(e2.msg, e.msg);
    }
    dl_csv_close(r);
    return t.data;
}

static char *transcript(const char *data, const dl_csv_opts *o)
{
    return transcript_opts(data, strlen(data), o);
}

#define EXPECT(data, o, want)                                                            \
    do {                                                                                 \
        char *got_ = transcript(data, o);                                                \
        cr_assert_str_eq(got_, want);                                                    \
        free(got_);                                                                      \
    } while (0)

Test(csv_read, simple_with_header)
{
    EXPECT("id,name\n1,Ann\n2,Bob\n", NULL, "H1 [id|name]\n2/1 [1|Ann]\n3/2 [2|Bob]\nEND");
}

Test(csv_read, last_line_with_or_without_newline)
{
    EXPECT("a,b\n1,2", NULL, "H1 [a|b]\n2/1 [1|2]\nEND");
    EXPECT("a,b\n1,2\n", NULL, "H1 [a|b]\n2/1 [1|2]\nEND");
    EXPECT("a,b\r\n1,2\r\n", NULL, "H1 [a|b]\n2/1 [1|2]\nEND");
    EXPECT("a,b\n1,2\r", NULL, "H1 [a|b]\n2/1 [1|2]\nEND");
    EXPECT("a,b\n1,\"2\"", NULL, "H1 [a|b]\n2/1 [1|2]\nEND");
    EXPECT("a,b\n1,", NULL, "H1 [a|b]\n2/1 [1|]\nEND");
    EXPECT("a,b\n", NULL, "H1 [a|b]\nEND");
    EXPECT("a,b", NULL, "H1 [a|b]\nEND");
}

Test(csv_read, blank_lines_skipped_and_counted)
{
    EXPECT("\n\na,b\n\n1,2\r\n\r\n\n3,4\n\n\n", NULL,
           "H3 [a|b]\n5/1 [1|2]\n8/2 [3|4]\nEND");
    /* A quoted empty field is a value, not a blank line. */
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.header = false;
    EXPECT("x\n\"\"\n\ny\n", &o, "1/1 [x]\n2/2 []\n4/3 [y]\nEND");
}

Test(csv_read, quoted_fields_rfc4180)
{
    /* RFC 4180 section 2 rules 5-7: delimiter, quote and line breaks inside quotes. */
    EXPECT("a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"l1\nl2\r\nl3\"\n\"\",\"\"\"\",z\n", NULL,
           "H1 [a|b|c]\n2/1 [x,y|say \"hi\"|l1\nl2\r\nl3]\n5/2 [|\"|z]\nEND");
}

Test(csv_read, quoted_fields_with_escapes_keep_lengths)
{
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r;
    const char *d = "h\n\"a\"\"b\"\"\"\"c\"\n";
    cr_assert_eq(dl_csv_open_mem(d, strlen(d), NULL, &r, &e), DL_OK);
    dl_row row;
    cr_assert_eq(dl_csv_next(r, &row, &e), DL_OK);
    cr_assert_eq(row.len[0], 6);
    cr_assert_str_eq(row.field[0], "a\"b\"\"c");
    dl_csv_close(r);
}

Test(csv_read, line_numbers_with_crlf_bom_and_quoted_newlines)
{
    EXPECT("\xEF\xBB\xBF"
           "id,note\r\n1,\"two\r\nlines\"\r\n2,x\r\n3,\"\n\n\"\r\n4,y",
           NULL, "H1 [id|note]\n2/1 [1|two\r\nlines]\n4/2 [2|x]\n5/3 [3|\n\n]\n8/4 [4|y]\nEND");
}

Test(csv_read, bom_is_stripped_and_columns_count_after_it)
{
    char *got = transcript("\xEF\xBB\xBFid,name\n\"a\"b,c\n", NULL);
    cr_assert_str_eq(got, "H1 [id|name]\nE 2:4 field 1 (id): text after the closing quote "
                          "(expected a delimiter or end of line)\nEND");
    free(got);
    got = transcript("\xEF\xBB\xBF\"a\"x,b\n", NULL);
    cr_assert(strstr(got, "OPEN X4 1:4 field 1: text after the closing quote"), "%s", got);
    free(got);
}

Test(csv_read, trim_febrl_style)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.trim = true;
    EXPECT("rec_id, given_name ,surname\nrec-1, , smith \n rec-2 ,\t\" a , b \" , \"x\"\n", &o,
           "H1 [rec_id|given_name|surname]\n2/1 [rec-1||smith]\n3/2 [rec-2| a , b |x]\nEND");
    /* Without trim the spaces are data. */
    EXPECT("a,b\n x , y \n", NULL, "H1 [a|b]\n2/1 [ x | y ]\nEND");
    /* With trim, a line of spaces is blank. */
    EXPECT("a,b\n  \t \n1,2\n", &o, "H1 [a|b]\n3/1 [1|2]\nEND");
}

Test(csv_read, other_delimiters)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.delimiter = ';';
    EXPECT("a;b\n1,5;\"x;y\"\n", &o, "H1 [a|b]\n2/1 [1,5|x;y]\nEND");
    o.delimiter = '\t';
    EXPECT("a\tb\n1\t2\n", &o, "H1 [a|b]\n2/1 [1|2]\nEND");
    o.delimiter = '|';
    EXPECT("a|b\n1|2\n", &o, "H1 [a|b]\n2/1 [1|2]\nEND");
}

Test(csv_read, no_header_first_record_sets_count)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.header = false;
    EXPECT("1,2\n3\n4,5\n", &o,
           "1/1 [1|2]\nE 2:1 expected 2 fields, found 1\n3/3 [4|5]\nEND");
}

Test(csv_read, wrong_field_count_is_erow_at_record_start)
{
    EXPECT("a,b,c\n1,2\n1,2,3,4\n\"x\ny\",2,3\n5,6,7\n", NULL,
           "H1 [a|b|c]\nE 2:1 expected 3 fields, found 2\nE 3:1 expected 3 fields, found 4\n"
           "4/3 [x\ny|2|3]\n6/4 [5|6|7]\nEND");
}

Test(csv_read, invalid_utf8_gives_byte_column_and_field_name)
{
    EXPECT("id,name\n1,Si\xC3\xA2n\n2,ab\xFF\n3,\"q\n\xE0\x80\x80\"\n4,ok\n", NULL,
           "H1 [id|name]\n2/1 [1|Si\xC3\xA2n]\n"
           "E 3:5 field 2 (name): invalid UTF-8 (expected UTF-8 text)\n"
           "E 5:1 field 2 (name): invalid UTF-8 (expected UTF-8 text)\n"
           "6/4 [4|ok]\nEND");
}

Test(csv_read, utf8_edge_cases)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.header = false;
    /* Valid: 2-, 3-, 4-byte sequences, U+FFFF, U+10FFFF. */
    EXPECT("\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF\n", &o,
           "1/1 [\xC2\x80\xDF\xBF\xE0\xA0\x80\xEF\xBF\xBF\xF0\x90\x80\x80\xF4\x8F\xBF\xBF]\nEND");
    /* Overlong, surrogate, above U+10FFFF, lone continuation, truncated. */
    const char *bad[] = {"ab\xC0\xAF", "ab\xED\xA0\x80", "ab\xF4\x90\x80\x80", "ab\x80",
                         "ab\xE2\x82", "ab\xF8\x88\x80\x80\x80"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char in[64], want[128];
        snprintf(in, sizeof in, "%s,z\n", bad[i]);
        char *got = transcript(in, &o);
        snprintf(want, sizeof want,
                 "E 1:3 field 1: invalid UTF-8 (expected UTF-8 text)\nEND");
        cr_assert_str_eq(got, want, "case %zu", i);
        free(got);
    }
    /* Not checked when asked not to; NUL still is. */
    o.check_utf8 = false;
    EXPECT("ab\xFF\n", &o, "1/1 [ab\xFF]\nEND");
}

Test(csv_read, nul_byte_is_erow)
{
    const char d[] = "a,b\n1,x\0y\n2,z\n";
    char *got = transcript_opts(d, sizeof d - 1, NULL);
    cr_assert_str_eq(got, "H1 [a|b]\nE 2:4 field 2 (b): NUL byte (expected text)\n3/2 [2|z]\nEND");
    free(got);
}

Test(csv_read, field_too_long)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.max_field = 5;
    /* "ab""cd" decodes to 5 bytes: fine; 6 is not. Trimmed spaces do not count. */
    o.trim = true;
    EXPECT("a,b\n12345,\"ab\"\"cd\"\n1,  123456\n2,\"x\"\"\"\"yzw\"\n3, 12345 \n", &o,
           "H1 [a|b]\n2/1 [12345|ab\"cd]\n"
           "E 3:5 field 2 (b): longer than 5 bytes (the max_field limit)\n"
           "E 4:3 field 2 (b): longer than 5 bytes (the max_field limit)\n"
           "5/4 [3|12345]\nEND");
}

Test(csv_read, bad_quoting_is_erow_and_reader_resyncs)
{
    EXPECT("a,b\n1,x\"y\n2,\"p\"q\n3,\"ok\"\n4,\"r\" s,t\n5,u\n", NULL,
           "H1 [a|b]\n"
           "E 2:4 field 2 (b): quote inside an unquoted field (expected the whole field in "
           "quotes, with inner quotes doubled)\n"
           "E 3:6 field 2 (b): text after the closing quote (expected a delimiter or end of "
           "line)\n"
           "4/3 [3|ok]\n"
           "E 5:6 field 2 (b): text after the closing quote (expected a delimiter or end of "
           "line)\n"
           "6/5 [5|u]\nEND");
}

Test(csv_read, bare_cr_is_erow)
{
    EXPECT("a,b\n1,x\ry\n2,z\n", NULL,
           "H1 [a|b]\nE 2:4 field 2 (b): carriage return not followed by line feed (expected "
           "CR LF, or the field in quotes)\n3/2 [2|z]\nEND");
}

Test(csv_read, unterminated_quote_is_einput_at_the_quote)
{
    EXPECT("a,b\n1,2\n3,\"abc\ndef\n", NULL,
           "H1 [a|b]\n2/1 [1|2]\nX4 3:3 unterminated quoted field (expected '\"' before end "
           "of file)");
    EXPECT("a,b\n\"", NULL,
           "H1 [a|b]\nX4 2:1 unterminated quoted field (expected '\"' before end of file)");
}

Test(csv_read, header_errors_are_einput)
{
    EXPECT("id,,name\n", NULL,
           "OPEN X4 1:4 header: column 2 has an empty name (expected a unique, non-empty "
           "name)");
    EXPECT("\n\nid,name,\"id\"\n", NULL,
           "OPEN X4 3:9 header: column 3 has the same name as column 1 (expected unique "
           "names)");
    EXPECT("", NULL, "OPEN X4 1:1 empty input (expected a header row)");
    EXPECT("\xEF\xBB\xBF\n\n", NULL, "OPEN X4 3:1 empty input (expected a header row)");
    EXPECT("id,n\xFFm\n", NULL, "OPEN X4 1:5 field 2: invalid UTF-8 (expected UTF-8 text)");
    EXPECT("id,\"name\n", NULL,
           "OPEN X4 1:4 unterminated quoted field (expected '\"' before end of file)");
    /* With trim, " id" and "id" are the same name. */
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.trim = true;
    EXPECT("id, id\n", &o,
           "OPEN X4 1:5 header: column 2 has the same name as column 1 (expected unique "
           "names)");
}

Test(csv_read, bad_options_are_usage_errors)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.delimiter = '"';
    char *got = transcript("a\n", &o);
    cr_assert(strncmp(got, "OPEN X3 0:0 bad CSV delimiter", 29) == 0, "%s", got);
    free(got);
    o.delimiter = ' ';
    o.trim = true;
    got = transcript("a\n", &o);
    cr_assert(strncmp(got, "OPEN X3", 7) == 0, "%s", got);
    free(got);
    o = (dl_csv_opts)DL_CSV_OPTS_INIT;
    o.max_field = 0;
    got = transcript("a\n", &o);
    cr_assert(strncmp(got, "OPEN X3 0:0 max_field 0 out of range", 36) == 0, "%s", got);
    free(got);
}

Test(csv_read, find_column_and_names_in_messages)
{
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r;
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.name = "people.csv";
    const char *d = "id,surname\n1\n";
    cr_assert_eq(dl_csv_open_mem(d, strlen(d), &o, &r, &e), DL_OK);
    cr_assert_eq(dl_csv_find_column(r, "surname"), 1);
    cr_assert_eq(dl_csv_find_column(r, "id"), 0);
    cr_assert_eq(dl_csv_find_column(r, "sur"), -1);
    dl_row row;
    cr_assert_eq(dl_csv_next(r, &row, &e), DL_EROW);
    cr_assert_str_eq(e.file, "people.csv");
    cr_assert_eq(row.line, 2);
    cr_assert_eq(row.record, 1);
    char buf[512];
    cr_assert_str_eq(dl_error_format(&e, buf, sizeof buf),
                     "people.csv:2:1: expected 2 fields, found 1");
    cr_assert_eq(dl_csv_next(r, &row, &e), DL_END);
    cr_assert_eq(dl_csv_next(r, &row, &e), DL_END);
    cr_assert_eq(dl_csv_bytes_in(r), strlen(d));
    cr_assert_eq(dl_csv_size(r), strlen(d));
    dl_csv_close(r);
    o.header = false;
    cr_assert_eq(dl_csv_open_mem(d, strlen(d), &o, &r, &e), DL_OK);
    cr_assert_null(dl_csv_header(r));
    cr_assert_eq(dl_csv_find_column(r, "id"), -1);
    dl_csv_close(r);
    dl_csv_close(NULL);
}

/* ---- big inputs: buffer edges, growth, skipping ------------------------------- */

/* A file of N records whose fields exercise quoting, at every offset
 * relative to the 1 MiB buffer edge; *want gets the transcript expected. */
static char *make_big(size_t nrec, size_t *len, dl_buf *want)
{
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, "id,text,n\r\n");
    dl_buf_puts(want, "H1 [id|text|n]\n");
    uint64_t line = 2;
    for (size_t i = 0; i < nrec; i++) {
        size_t k = i % 7;
        if (k == 0) {
            dl_buf_printf(&b, "%zu,plain%zu,%zu\r\n", i, i * 31, i);
            dl_buf_printf(want, "%llu/%zu [%zu|plain%zu|%zu]\n", (unsigned long long)line,
                          i + 1, i, i * 31, i);
            line++;
        } else if (k == 1) {
            dl_buf_printf(&b, "%zu,\"q,\"\"%zu\"\"\n2nd\",%zu\n", i, i, i);
            dl_buf_printf(want, "%llu/%zu [%zu|q,\"%zu\"\n2nd|%zu]\n", (unsigned long long)line,
                          i + 1, i, i, i);
            line += 2;
        } else {
            /* Variable lengths move record edges across the buffer edge. */
            char pad[200];
            size_t n = (i * 37) % 150;
            memset(pad, 'a' + (int)(i % 26), n);
            pad[n] = '\0';
            dl_buf_printf(&b, "%zu,%s,\"%zu\"\n", i, pad, k);
            dl_buf_printf(want, "%llu/%zu [%zu|%s|%zu]\n", (unsigned long long)line, i + 1, i,
                          pad, k);
            line++;
        }
    }
    dl_buf_puts(want, "END");
    *len = b.len;
    return b.data;
}

Test(csv_read, many_mib_in_memory_and_gzip_file)
{
    size_t len;
    dl_buf want = DL_BUF_INIT;
    char *d = make_big(60000, &len, &want);
    cr_assert_gt(len, 3u << 20);
    char *got = transcript_opts(d, len, NULL);
    cr_assert(strcmp(got, want.data) == 0, "big transcript differs");
    free(got);
    /* The same through a gzip file, from the path. */
    char *dir = tu_tmpdir();
    char *path = tu_join(dir, "big.csv.gz");
    dl_buf z = DL_BUF_INIT;
    dl_error e = DL_ERROR_INIT;
    for (size_t off = 0; off < len; off += 100000)
        cr_assert_eq(dl_gz_compress_member(d + off, len - off < 100000 ? len - off : 100000, &z,
                                           &e),
                     DL_OK);
    tu_write(path, z.data, z.len);
    dl_csv_reader *r;
    cr_assert_eq(dl_csv_open(path, NULL, &r, &e), DL_OK, "%s", e.msg);
    cr_assert(dl_csv_is_gzip(r));
    dl_row row;
    size_t n = 0;
    dl_status s;
    while ((s = dl_csv_next(r, &row, &e)) == DL_OK)
        n++;
    cr_assert_eq(s, DL_END, "%s", e.msg);
    cr_assert_eq(n, 60000);
    cr_assert_eq(dl_csv_bytes_in(r), z.len);
    cr_assert_eq(dl_csv_size(r), z.len);
    dl_csv_close(r);
    /* Truncated: DL_EINPUT naming the file and the CSV line reached. */
    tu_write(path, z.data, z.len - 100);
    cr_assert_eq(dl_csv_open(path, NULL, &r, &e), DL_OK, "%s", e.msg);
    while ((s = dl_csv_next(r, &row, &e)) == DL_OK)
        n++;
    cr_assert_eq(s, DL_EINPUT);
    cr_assert_str_eq(e.file, path);
    cr_assert_gt(e.line, 1000);
    cr_assert(strstr(e.msg, "truncated gzip stream"), "%s", e.msg);
    dl_csv_close(r);
    dl_buf_free(&z);
    free(path);
    tu_rmtree(dir);
    free(dir);
    free(d);
    dl_buf_free(&want);
}

Test(csv_read, record_bigger_than_buffer_grows_it)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.max_field = 4u << 20;
    size_t big = 3u << 20;
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, "a,b\n1,\"");
    for (size_t i = 0; i < big; i++)
        dl_buf_putc(&b, i % 1000 == 999 ? '\n' : 'x');
    dl_buf_puts(&b, "\"\n2,y\n");
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r;
    cr_assert_eq(dl_csv_open_mem(b.data, b.len, &o, &r, &e), DL_OK);
    dl_row row;
    cr_assert_eq(dl_csv_next(r, &row, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(row.len[1], big);
    cr_assert_eq(dl_csv_next(r, &row, &e), DL_OK);
    cr_assert_eq(row.line, 2 + big / 1000 + 1);
    cr_assert_str_eq(row.field[1], "y");
    cr_assert_eq(dl_csv_next(r, &row, &e), DL_END);
    dl_csv_close(r);
    dl_buf_free(&b);
}

Test(csv_read, record_over_the_limit_is_skipped_without_buffering)
{
    /* max_field 100, two columns: the record limit is 1 MiB (the minimum); a
     * 3 MiB field streams past as one bad record and reading goes on. */
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.max_field = 100;
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, "a,b\n1,2\nxx,\"");
    for (size_t i = 0; i < (3u << 20); i++)
        dl_buf_putc(&b, i % 500 == 499 ? '\n' : (i % 10 < 2 ? '"' : 'q')); /* "" pairs */
    dl_buf_puts(&b, "\",3\n4,5\n");
    char *got = transcript_opts(b.data, b.len, &o);
    char want[512];
    snprintf(want, sizeof want,
             "H1 [a|b]\n2/1 [1|2]\nE 3:4 field 2 (b): longer than 100 bytes (the max_field "
             "limit)\n%u/3 [4|5]\nEND",
             4 + (3u << 20) / 500);
    cr_assert_str_eq(got, want);
    free(got);
    /* Unterminated inside such a record: DL_EINPUT at the opening quote. */
    b.len -= 8;
    got = transcript_opts(b.data, b.len, &o);
    cr_assert(strstr(got, "X4 3:4 unterminated quoted field"), "%.300s", got);
    free(got);
    /* Many short fields: no field too long, the record is. */
    dl_buf_clear(&b);
    dl_buf_puts(&b, "a,b\n");
    for (size_t i = 0; i < (1u << 20); i++)
        dl_buf_puts(&b, "1,");
    dl_buf_puts(&b, "\n7,8\n");
    got = transcript_opts(b.data, b.len, &o);
    cr_assert_str_eq(got, "H1 [a|b]\nE 2:1 record longer than 1048576 bytes (expected at "
                          "most 100 bytes per field)\n3/2 [7|8]\nEND");
    free(got);
    dl_buf_free(&b);
}

Test(csv_read, febrl_file_with_trim)
{
    char *path = tu_data("csv/febrl_dataset1.csv");
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.trim = true;
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r;
    cr_assert_eq(dl_csv_open(path, &o, &r, &e), DL_OK, "%s", e.msg);
    const dl_row *h = dl_csv_header(r);
    cr_assert_eq(h->n, 11);
    cr_assert_str_eq(h->field[1], "given_name");
    cr_assert_eq(dl_csv_find_column(r, "soc_sec_id"), 10);
    dl_row row;
    size_t n = 0, empty_given = 0;
    dl_status s;
    while ((s = dl_csv_next(r, &row, &e)) == DL_OK) {
        if (n == 0) {
            cr_assert_str_eq(row.field[0], "rec-223-org");
            cr_assert_str_eq(row.field[4], "tullaroop street");
            cr_assert_str_eq(row.field[10], "6988048");
        }
        empty_given += row.len[1] == 0;
        cr_assert_eq(row.line, n + 2);
        n++;
    }
    cr_assert_eq(s, DL_END, "%s", e.msg);
    cr_assert_eq(n, 1000);
    cr_assert_gt(empty_given, 0);
    cr_assert_eq(dl_csv_bytes_in(r), 102415);
    dl_csv_close(r);
    free(path);
}

Test(csv_read, missing_file)
{
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r;
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.name = "shown.csv";
    cr_assert_eq(dl_csv_open("/nonexistent/x.csv", &o, &r, &e), DL_EINPUT);
    cr_assert_null(r);
    cr_assert_str_eq(e.file, "shown.csv");
}
