/* test_gz.c: gzip and plain byte streams (common/gz_read.c, common/gz_write.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "dolen/buf.h"
#include "dolen/gz.h"
#include "dolen/outfile.h"
#include "test_util.h"

/* Deterministic, somewhat compressible text: CSV-like lines. */
static char *make_text(size_t n)
{
    char *p = malloc(n + 1);
    cr_assert_not_null(p);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (i % 61 == 60) ? '\n' : (char)("abcdefghij,0123456789 JONES"[x % 27]);
    }
    p[n] = '\0';
    return p;
}

/* Read everything from R into a malloc'd buffer, in reads of CHUNK bytes. */
static dl_status slurp(dl_gz_reader *r, size_t chunk, char **out, size_t *len, dl_error *e)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    char *tmp = malloc(chunk);
    dl_status s;
    for (;;) {
        size_t got;
        s = dl_gz_read(r, tmp, chunk, &got, e);
        if (s != DL_OK)
            break;
        cr_assert_gt(got, 0);
        if (n + got > cap) {
            while (n + got > cap)
                cap *= 2;
            buf = realloc(buf, cap);
        }
        memcpy(buf + n, tmp, got);
        n += got;
    }
    free(tmp);
    *out = buf;
    *len = n;
    return s == DL_END ? DL_OK : s;
}

static void read_mem_expect(const void *z, size_t zlen, const char *want, size_t wlen,
                            size_t block, size_t chunk)
{
    dl_error e = DL_ERROR_INIT;
    dl_gz_reader *r;
    cr_assert_eq(dl_gz_open_mem(z, zlen, "t.gz", &r, &e), DL_OK, "%s", e.msg);
    if (block)
        dl__gz_set_block(r, block);
    char *got;
    size_t n;
    cr_assert_eq(slurp(r, chunk, &got, &n, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(n, wlen, "got %zu bytes, want %zu", n, wlen);
    cr_assert(memcmp(got, want, wlen) == 0);
    cr_assert_eq(dl_gz_bytes_in(r), zlen);
    free(got);
    dl_gz_close(r);
}

static void compress(const void *p, size_t n, dl_buf *out)
{
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_gz_compress_member(p, n, out, &e), DL_OK, "%s", e.msg);
}

Test(gz, roundtrip_empty_member)
{
    dl_buf z = DL_BUF_INIT;
    compress("", 0, &z);
    cr_assert_geq(z.len, 18); /* 10-byte header, 8-byte trailer */
    cr_assert_eq((unsigned char)z.data[0], 0x1f);
    cr_assert_eq((unsigned char)z.data[1], 0x8b);
    read_mem_expect(z.data, z.len, "", 0, 0, 4096);
    dl_buf_free(&z);
}

Test(gz, roundtrip_tiny_and_header_has_no_time)
{
    dl_buf z = DL_BUF_INIT;
    compress("hello\n", 6, &z);
    /* RFC 1952: bytes 4-7 are MTIME; 0 keeps output reproducible; FLG 0 = no name. */
    cr_assert_eq(z.data[3], 0);
    cr_assert_eq(z.data[4] | z.data[5] | z.data[6] | z.data[7], 0);
    read_mem_expect(z.data, z.len, "hello\n", 6, 0, 1);
    dl_buf_free(&z);
}

Test(gz, same_input_same_bytes)
{
    char *t = make_text(300000);
    dl_buf a = DL_BUF_INIT, b = DL_BUF_INIT;
    compress(t, 300000, &a);
    compress(t, 300000, &b);
    cr_assert_eq(a.len, b.len);
    cr_assert(memcmp(a.data, b.data, a.len) == 0);
    cr_assert_lt(a.len, 300000); /* it did compress */
    dl_buf_free(&a);
    dl_buf_free(&b);
    free(t);
}

Test(gz, multi_member_with_small_blocks)
{
    /* Members one after another, read with blocks so small that headers and
     * trailers straddle them. */
    char *t = make_text(50000);
    dl_buf z = DL_BUF_INIT;
    compress(t, 20000, &z);
    compress(t + 20000, 0, &z);
    compress(t + 20000, 29999, &z);
    compress(t + 49999, 1, &z);
    size_t blocks[] = {1, 3, 7, 10, 17, 4096, 0};
    for (size_t i = 0; i < sizeof blocks / sizeof *blocks; i++)
        read_mem_expect(z.data, z.len, t, 50000, blocks[i], i % 2 ? 5 : 65536);
    dl_buf_free(&z);
    free(t);
}

static char *write_gz_stream(const char *dir, const char *name, const char *t, size_t n,
                             size_t piece)
{
    char *path = tu_join(dir, name);
    dl_error e = DL_ERROR_INIT;
    dl_outfile *f;
    cr_assert_eq(dl_outfile_create(path, 0644, &f, &e), DL_OK, "%s", e.msg);
    dl_gz_writer *w;
    cr_assert_eq(dl_gzw_open(f, &w, &e), DL_OK);
    for (size_t off = 0; off < n; off += piece) {
        size_t k = n - off < piece ? n - off : piece;
        cr_assert_eq(dl_gzw_write(w, t + off, k, &e), DL_OK, "%s", e.msg);
    }
    cr_assert_eq(dl_gzw_bytes_in(w), n);
    cr_assert_eq(dl_gzw_close(w, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_OK, "%s", e.msg);
    return path;
}

static void read_file_expect(const char *path, const char *want, size_t wlen, bool gzip)
{
    dl_error e = DL_ERROR_INIT;
    dl_gz_reader *r;
    cr_assert_eq(dl_gz_open(path, &r, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_gz_is_gzip(r), gzip);
    char *got;
    size_t n;
    cr_assert_eq(slurp(r, 1 << 20, &got, &n, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(n, wlen, "got %zu want %zu", n, wlen);
    cr_assert(memcmp(got, want, wlen) == 0);
    cr_assert_eq(dl_gz_bytes_in(r), dl_gz_size(r));
    free(got);
    dl_gz_close(r);
}

Test(gz, stream_writer_many_mib_members_independent_of_write_sizes)
{
    const size_t n = 5 * DL_GZ_CHUNK + 12345;
    char *t = make_text(n);
    char *dir = tu_tmpdir();
    char *a = write_gz_stream(dir, "a.gz", t, n, n);       /* one big write */
    char *b = write_gz_stream(dir, "b.gz", t, n, 777);     /* many small ones */
    size_t la, lb;
    char *ca = tu_read(a, &la), *cb = tu_read(b, &lb);
    cr_assert_eq(la, lb, "%zu vs %zu", la, lb);
    cr_assert(memcmp(ca, cb, la) == 0, "bytes depend on write sizes");
    /* Same bytes as compressing each 1 MiB chunk as its own member. */
    dl_buf z = DL_BUF_INIT;
    for (size_t off = 0; off < n; off += DL_GZ_CHUNK)
        compress(t + off, n - off < DL_GZ_CHUNK ? n - off : DL_GZ_CHUNK, &z);
    cr_assert_eq(z.len, la);
    cr_assert(memcmp(z.data, ca, la) == 0);
    read_file_expect(a, t, n, true);
    dl_buf_free(&z);
    free(ca);
    free(cb);
    free(a);
    free(b);
    free(t);
    tu_rmtree(dir);
    free(dir);
}

Test(gz, put_member_keeps_order)
{
    char *dir = tu_tmpdir();
    char *path = tu_join(dir, "m.gz");
    dl_error e = DL_ERROR_INIT;
    dl_outfile *f;
    cr_assert_eq(dl_outfile_create(path, 0644, &f, &e), DL_OK, "%s", e.msg);
    dl_gz_writer *w;
    cr_assert_eq(dl_gzw_open(f, &w, &e), DL_OK);
    dl_buf m = DL_BUF_INIT;
    compress("two\n", 4, &m);
    cr_assert_eq(dl_gzw_write(w, "one\n", 4, &e), DL_OK);
    cr_assert_eq(dl_gzw_put_member(w, m.data, m.len, &e), DL_OK);
    cr_assert_eq(dl_gzw_write(w, "three\n", 6, &e), DL_OK);
    cr_assert_eq(dl_gzw_close(w, &e), DL_OK);
    cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_OK);
    read_file_expect(path, "one\ntwo\nthree\n", 14, true);
    dl_buf_free(&m);
    free(path);
    tu_rmtree(dir);
    free(dir);
}

static bool have_gzip(void)
{
    return system("gzip --version >/dev/null 2>&1") == 0;
}

/* Run "PROG 'A' SEP 'B'" through the shell; its exit status. */
static int sh(const char *prog, const char *a, const char *sep, const char *b)
{
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s '%s' %s '%s'", prog, a, sep, b);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

Test(gz, empty_stream_is_valid_gzip_and_gzip_accepts_our_output)
{
    char *dir = tu_tmpdir();
    char *e0 = write_gz_stream(dir, "empty.gz", "", 0, 1);
    read_file_expect(e0, "", 0, true);
    const size_t n = 3 * DL_GZ_CHUNK + 5;
    char *t = make_text(n);
    char *p = write_gz_stream(dir, "big.gz", t, n, 65536);
    if (!have_gzip()) {
        cr_log_warn("no gzip binary: skipping gzip -t");
    } else {
        cr_assert_eq(sh("gzip -t", e0, "&& gzip -t", p), 0);
        char *plain = tu_join(dir, "big.txt");
        cr_assert_eq(sh("gzip -dc", p, ">", plain), 0);
        size_t len;
        char *back = tu_read(plain, &len);
        cr_assert_eq(len, n);
        cr_assert(memcmp(back, t, n) == 0);
        free(back);
        free(plain);
    }
    free(t);
    free(e0);
    free(p);
    tu_rmtree(dir);
    free(dir);
}

Test(gz, reads_files_made_by_system_gzip_including_concatenated)
{
    if (!have_gzip()) {
        cr_log_warn("no gzip binary: skipping");
        return;
    }
    char *dir = tu_tmpdir();
    char *a = tu_join(dir, "a.txt"), *b = tu_join(dir, "b.txt");
    char *ta = make_text(200000);
    tu_write(a, ta, 200000);
    tu_write_str(b, "tail line\n");
    /* gzip stores the file name and time in the header (FNAME, MTIME). */
    cr_assert_eq(sh("gzip -9 -k", a, "&& gzip -1 -k", b), 0);
    char *cat = tu_join(dir, "both.gz");
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "cat '%s.gz' '%s.gz' > '%s'", a, b, cat);
    cr_assert_eq(system(cmd), 0);
    char *want = malloc(200000 + 10);
    memcpy(want, ta, 200000);
    memcpy(want + 200000, "tail line\n", 10);
    read_file_expect(cat, want, 200010, true);
    char *agz = tu_join(dir, "a.txt.gz");
    read_file_expect(agz, ta, 200000, true);
    read_file_expect(a, ta, 200000, false); /* plain file, same stream */
    free(want);
    free(ta);
    free(agz);
    free(cat);
    free(a);
    free(b);
    tu_rmtree(dir);
    free(dir);
}

/* Open Z[0..N) and read to the end; returns the final status. */
static dl_status read_all_mem(const void *z, size_t n, size_t block, dl_error *e)
{
    dl_gz_reader *r;
    dl_status s = dl_gz_open_mem(z, n, "bad.gz", &r, e);
    if (s != DL_OK)
        return s;
    if (block)
        dl__gz_set_block(r, block);
    char *got;
    size_t len;
    s = slurp(r, 4096, &got, &len, e);
    free(got);
    /* The error is sticky. */
    if (s != DL_OK) {
        char buf[16];
        size_t k;
        dl_error e2 = DL_ERROR_INIT;
        cr_assert_eq(dl_gz_read(r, buf, sizeof buf, &k, &e2), s);
        cr_assert_str_eq(e2.msg, e->msg);
    }
    dl_gz_close(r);
    return s;
}

Test(gz, truncated_stream_names_file_and_offset)
{
    char *t = make_text(100000);
    dl_buf z = DL_BUF_INIT;
    compress(t, 100000, &z);
    compress(t, 10, &z);
    size_t cuts[] = {2, 5, 9, 10, 11, 100, z.len / 2, z.len - 25, z.len - 8, z.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
        dl_error e = DL_ERROR_INIT;
        dl_status s = read_all_mem(z.data, cuts[i], i % 3 ? 0 : 1, &e);
        cr_assert_eq(s, DL_EINPUT, "cut at %zu: %d %s", cuts[i], s, e.msg);
        cr_assert_str_eq(e.file, "bad.gz");
        char want[64];
        snprintf(want, sizeof want, "compressed byte %zu", cuts[i]);
        cr_assert(strstr(e.msg, "truncated gzip stream") && strstr(e.msg, want),
                  "cut %zu: %s", cuts[i], e.msg);
        cr_assert_eq(e.line, 0);
    }
    dl_buf_free(&z);
    free(t);
}

Test(gz, corrupt_data_and_crc_mismatch)
{
    char *t = make_text(100000);
    dl_buf z = DL_BUF_INIT;
    compress(t, 100000, &z);
    /* Bad CRC-32 in the trailer (RFC 1952: 8 bytes from the end). */
    char *c = malloc(z.len);
    memcpy(c, z.data, z.len);
    c[z.len - 8] ^= 0x55;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(read_all_mem(c, z.len, 0, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "corrupt gzip stream at compressed byte"), "%s", e.msg);
    /* Wrong ISIZE (last 4 bytes). */
    memcpy(c, z.data, z.len);
    c[z.len - 1] ^= 0x01;
    cr_assert_eq(read_all_mem(c, z.len, 0, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "corrupt gzip stream"), "%s", e.msg);
    /* Garbage in the deflate data: a run of 0xff bytes is never valid for long. */
    memcpy(c, z.data, z.len);
    memset(c + 20, 0xff, 200);
    cr_assert_eq(read_all_mem(c, z.len, 0, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "corrupt gzip stream at compressed byte"), "%s", e.msg);
    /* Bad compression method byte (CM must be 8). */
    memcpy(c, z.data, z.len);
    c[2] = 7;
    cr_assert_eq(read_all_mem(c, z.len, 0, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "corrupt gzip stream"), "%s", e.msg);
    free(c);
    dl_buf_free(&z);
    free(t);
}

Test(gz, trailing_garbage_after_member)
{
    dl_buf z = DL_BUF_INIT;
    compress("abc\n", 4, &z);
    size_t good = z.len;
    dl_buf_append(&z, "not gzip at all", 15);
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(read_all_mem(z.data, z.len, 0, &e), DL_EINPUT);
    char want[64];
    snprintf(want, sizeof want, "unexpected bytes after gzip member 1 at compressed byte %zu",
             good);
    cr_assert(strstr(e.msg, want), "%s", e.msg);
    dl_buf_free(&z);
}

Test(gz, plain_input_passes_through)
{
    const char *s = "\x1f not gzip, only one magic byte\n";
    read_mem_expect(s, strlen(s), s, strlen(s), 0, 3);
    read_mem_expect("", 0, "", 0, 0, 3);
    read_mem_expect("\x1f", 1, "\x1f", 1, 0, 3);
}

Test(gz, missing_file_and_folder)
{
    dl_error e = DL_ERROR_INIT;
    dl_gz_reader *r = (dl_gz_reader *)1;
    cr_assert_eq(dl_gz_open("/nonexistent/dolen/x.csv.gz", &r, &e), DL_EINPUT);
    cr_assert_null(r);
    cr_assert_str_eq(e.file, "/nonexistent/dolen/x.csv.gz");
    cr_assert(strstr(e.msg, "cannot open input"));
    char *dir = tu_tmpdir();
    cr_assert_eq(dl_gz_open(dir, &r, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "is a folder"), "%s", e.msg);
    tu_rmtree(dir);
    free(dir);
    dl_gz_close(NULL);
    dl_gzw_free(NULL);
}

Test(gz, member_too_big_is_usage_error)
{
    dl_buf z = DL_BUF_INIT;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_gz_compress_member("x", DL_GZ_MEMBER_MAX + 1, &z, &e), DL_EUSAGE);
    cr_assert_eq(z.len, 0);
    dl_buf_free(&z);
}
