/* test_csv_write.c: the CSV writer and field quoting (common/csv_write.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/buf.h"
#include "dolen/csv.h"
#include "dolen/gz.h"
#include "dolen/outfile.h"
#include "test_util.h"

static char *field(const char *s, char d)
{
    dl_buf b = DL_BUF_INIT;
    cr_assert(dl_csv_append_field(&b, s, strlen(s), d));
    if (!b.data)
        return strdup("");
    return b.data;
}

#define QUOTE(in, d, want)                                                               \
    do {                                                                                 \
        char *got_ = field(in, d);                                                       \
        cr_assert_str_eq(got_, want, "quoting [%s]", in);                                \
        free(got_);                                                                      \
    } while (0)

Test(csv_write, minimal_quoting)
{
    QUOTE("", ',', "");
    QUOTE("plain", ',', "plain");
    QUOTE("a b", ',', "a b");
    QUOTE("a,b", ',', "\"a,b\"");
    QUOTE("a,b", ';', "a,b");
    QUOTE("a;b", ';', "\"a;b\"");
    QUOTE("say \"hi\"", ',', "\"say \"\"hi\"\"\"");
    QUOTE("\"", ',', "\"\"\"\"");
    QUOTE("l1\nl2", ',', "\"l1\nl2\"");
    QUOTE("cr\r", ',', "\"cr\r\"");
    QUOTE(" lead", ',', "\" lead\"");
    QUOTE("trail ", ',', "\"trail \"");
    QUOTE("\ttab", ',', "\"\ttab\"");
    QUOTE("Si\xC3\xA2n", ',', "Si\xC3\xA2n");
}

Test(csv_write, format_row_and_lone_empty_field)
{
    dl_buf b = DL_BUF_INIT;
    const char *f[] = {"1", "a,b", ""};
    cr_assert(dl_csv_format_row(&b, 3, f, NULL, ','));
    cr_assert_str_eq(b.data, "1,\"a,b\",\n");
    dl_buf_clear(&b);
    const char *e[] = {""};
    cr_assert(dl_csv_format_row(&b, 1, e, NULL, ','));
    cr_assert_str_eq(b.data, "\"\"\n");
    /* Lengths given: bytes beyond them are not written. */
    dl_buf_clear(&b);
    const size_t lens[] = {1, 2, 0};
    const char *g[] = {"xyz", "abc", "q"};
    cr_assert(dl_csv_format_row(&b, 3, g, lens, '\t'));
    cr_assert_str_eq(b.data, "x\tab\t\n");
    cr_assert_not(dl_csv_format_row(&b, 0, g, lens, ','));
    dl_buf_free(&b);
}

static dl_csv_writer *open_writer(const char *path, const dl_csv_wopts *o, dl_outfile **f)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(path, 0644, f, &e), DL_OK, "%s", e.msg);
    dl_csv_writer *w;
    cr_assert_eq(dl_csv_writer_open(*f, o, &w, &e), DL_OK, "%s", e.msg);
    return w;
}

static void finish(dl_csv_writer *w, dl_outfile *f)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_writer_close(w, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_OK, "%s", e.msg);
}

static void row(dl_csv_writer *w, size_t n, const char *const *f)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_write_row(w, n, f, NULL, &e), DL_OK, "%s", e.msg);
}

Test(csv_write, plain_file_bytes)
{
    char *dir = tu_tmpdir();
    char *path = tu_join(dir, "out.csv");
    dl_outfile *f;
    dl_csv_writer *w = open_writer(path, NULL, &f);
    cr_assert_not(dl_csv_writer_is_gzip(w));
    const char *h[] = {"id", "name"};
    const char *r1[] = {"1", "O'Neil, \"Sean\""};
    const char *r2[] = {"2", ""};
    row(w, 2, h);
    row(w, 2, r1);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_writer_put_raw(w, "raw,line\n", 9, &e), DL_OK);
    row(w, 2, r2);
    cr_assert_eq(dl_csv_write_row(w, 0, h, NULL, &e), DL_EUSAGE);
    finish(w, f);
    char *got = tu_read(path, NULL);
    cr_assert_str_eq(got, "id,name\n1,\"O'Neil, \"\"Sean\"\"\"\nraw,line\n2,\n");
    free(got);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

/* Random awkward fields: quotes, delimiters, CR, LF, spaces, UTF-8. */
static void random_field(uint64_t *x, char *out, size_t *len)
{
    static const char *const bits[] = {"a", "Z", "7", ",", "\"", "\n", "\r\n", " ", "\t",
                                       "\xC3\xA2", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", ";"};
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    size_t n = *x % 9, k = 0;
    for (size_t i = 0; i < n; i++) {
        *x ^= *x << 13;
        *x ^= *x >> 7;
        *x ^= *x << 17;
        const char *b = bits[*x % (sizeof bits / sizeof *bits)];
        memcpy(out + k, b, strlen(b));
        k += strlen(b);
    }
    out[k] = '\0';
    *len = k;
}

static void roundtrip(const char *name, const dl_csv_wopts *o, bool expect_gzip)
{
    char *dir = tu_tmpdir();
    char *path = tu_join(dir, name);
    dl_outfile *f;
    dl_csv_writer *w = open_writer(path, o, &f);
    cr_assert_eq(dl_csv_writer_is_gzip(w), expect_gzip);
    const size_t nrow = 30000, ncol = 4;
    char cells[4][64];
    const char *ptr[4];
    size_t lens[4];
    uint64_t x = 12345;
    const char *hdr[] = {"c1", "c2", "c3", "c4"};
    row(w, ncol, hdr);
    dl_error e = DL_ERROR_INIT;
    for (size_t i = 0; i < nrow; i++) {
        for (size_t j = 0; j < ncol; j++) {
            random_field(&x, cells[j], &lens[j]);
            ptr[j] = cells[j];
        }
        cr_assert_eq(dl_csv_write_row(w, ncol, ptr, lens, &e), DL_OK);
    }
    finish(w, f);
    size_t flen;
    char *bytes = tu_read(path, &flen);
    cr_assert_eq(flen > 2 && (unsigned char)bytes[0] == 0x1f && (unsigned char)bytes[1] == 0x8b,
                 expect_gzip);
    free(bytes);
    dl_csv_reader *r;
    dl_csv_opts ro = DL_CSV_OPTS_INIT;
    ro.delimiter = o ? o->delimiter : ',';
    cr_assert_eq(dl_csv_open(path, &ro, &r, &e), DL_OK, "%s", e.msg);
    x = 12345;
    dl_row rw;
    for (size_t i = 0; i < nrow; i++) {
        cr_assert_eq(dl_csv_next(r, &rw, &e), DL_OK, "row %zu: %s", i, e.msg);
        cr_assert_eq(rw.n, ncol);
        for (size_t j = 0; j < ncol; j++) {
            random_field(&x, cells[j], &lens[j]);
            cr_assert_eq(rw.len[j], lens[j], "row %zu col %zu", i, j);
            cr_assert(memcmp(rw.field[j], cells[j], lens[j]) == 0, "row %zu col %zu", i, j);
        }
    }
    cr_assert_eq(dl_csv_next(r, &rw, &e), DL_END);
    dl_csv_close(r);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

Test(csv_write, roundtrip_through_reader_plain_gzip_and_delimiters)
{
    roundtrip("rt.csv", NULL, false);
    roundtrip("rt.csv.gz", NULL, true);
    dl_csv_wopts o = DL_CSV_WOPTS_INIT;
    o.delimiter = ';';
    o.gzip = 1;
    roundtrip("forced.csv", &o, true);
    o.delimiter = '\t';
    o.gzip = 0;
    roundtrip("plain.csv.gz", &o, false);
    /* dolen's own encoder (link's outputs), on random fields with quotes,
     * delimiters and line breaks in them: the same rows come back. */
    dl_csv_wopts t = DL_CSV_WOPTS_INIT;
    t.tokens = true;
    roundtrip("tokens.csv.gz", &t, true);
}

Test(csv_write, gzip_members_from_workers_in_order)
{
    char *dir = tu_tmpdir();
    char *path = tu_join(dir, "w.csv.gz");
    dl_outfile *f;
    dl_csv_writer *w = open_writer(path, NULL, &f);
    cr_assert(dl_csv_writer_is_gzip(w));
    const char *h[] = {"k", "v"};
    row(w, 2, h);
    /* What a worker does: format a chunk of rows, compress it as a member. */
    dl_buf text = DL_BUF_INIT, member = DL_BUF_INIT;
    const char *a[] = {"1", "x,y"}, *b[] = {"2", "z"};
    cr_assert(dl_csv_format_row(&text, 2, a, NULL, ','));
    cr_assert(dl_csv_format_row(&text, 2, b, NULL, ','));
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_gz_compress_member(text.data, text.len, &member, &e), DL_OK);
    cr_assert_eq(dl_csv_writer_put_raw(w, member.data, member.len, &e), DL_OK);
    const char *c[] = {"3", "last"};
    row(w, 2, c);
    finish(w, f);
    dl_csv_reader *r;
    cr_assert_eq(dl_csv_open(path, NULL, &r, &e), DL_OK, "%s", e.msg);
    dl_row rw;
    const char *want[] = {"x,y", "z", "last"};
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(dl_csv_next(r, &rw, &e), DL_OK, "%s", e.msg);
        cr_assert_str_eq(rw.field[1], want[i]);
        cr_assert_eq(rw.line, (uint64_t)i + 2);
    }
    cr_assert_eq(dl_csv_next(r, &rw, &e), DL_END);
    dl_csv_close(r);
    if (system("gzip --version >/dev/null 2>&1") == 0) {
        char cmd[4200];
        snprintf(cmd, sizeof cmd, "gzip -t '%s'", path);
        cr_assert_eq(system(cmd), 0);
    }
    dl_buf_free(&text);
    dl_buf_free(&member);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

Test(csv_write, bad_delimiter_and_free_paths)
{
    char *dir = tu_tmpdir();
    char *path = tu_join(dir, "x.csv");
    dl_error e = DL_ERROR_INIT;
    dl_outfile *f;
    cr_assert_eq(dl_outfile_create(path, 0644, &f, &e), DL_OK, "%s", e.msg);
    dl_csv_wopts o = DL_CSV_WOPTS_INIT;
    o.delimiter = '\n';
    dl_csv_writer *w = (dl_csv_writer *)1;
    cr_assert_eq(dl_csv_writer_open(f, &o, &w, &e), DL_EUSAGE);
    cr_assert_null(w);
    cr_assert_str_eq(e.file, path);
    o.delimiter = ',';
    o.gzip = 1;
    cr_assert_eq(dl_csv_writer_open(f, &o, &w, &e), DL_OK);
    const char *r1[] = {"a"};
    row(w, 1, r1);
    dl_csv_writer_free(w); /* abandon: nothing flushed, no leak */
    dl_csv_writer_free(NULL);
    dl_outfile_abort(f);
    cr_assert_null(tu_read(path, NULL));
    free(path);
    tu_rmtree(dir);
    free(dir);
}
