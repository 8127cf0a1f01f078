/* fuzz_csv.c: fuzz target for the CSV reader over the gzip/plain byte stream.
 * Part of tests/fuzz/; replayed over corpus/csv/ in the normal suite, run
 * with libFuzzer by tests/fuzz/run.sh. Crashes and broken invariants abort. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                         \
    do {                                                                                 \
        if (!(c)) {                                                                      \
            fprintf(stderr, "fuzz_csv: invariant failed: %s (line %d)\n", #c, __LINE__); \
            abort();                                                                     \
        }                                                                                \
    } while (0)

static bool utf8_ok(const unsigned char *s, size_t n)
{
    /* A slow, obviously right validator to cross-check the fast one. */
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp;
        if ((c & 0xE0) == 0xC0)
            k = 2, cp = c & 0x1F;
        else if ((c & 0xF0) == 0xE0)
            k = 3, cp = c & 0x0F;
        else if ((c & 0xF8) == 0xF0)
            k = 4, cp = c & 0x07;
        else
            return false;
        if (i + k > n)
            return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min[k] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return false;
        i += k;
    }
    return true;
}

static void run(const uint8_t *data, size_t size, const dl_csv_opts *o)
{
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r = NULL;
    dl_status s = dl_csv_open_mem(data, size, o, &r, &e);
    if (s != DL_OK) {
        CHECK(r == NULL);
        CHECK(s == DL_EINPUT || s == DL_ENOMEM);
        CHECK(e.code == s && e.line >= 1);
        return;
    }
    const dl_row *h = dl_csv_header(r);
    CHECK((h != NULL) == o->header);
    size_t want = h ? h->n : 0;
    uint64_t last_line = h ? h->line : 0, last_rec = 0;
    for (int guard = 0; guard < 1000000; guard++) {
        dl_row row;
        s = dl_csv_next(r, &row, &e);
        if (s == DL_END || s == DL_EINPUT)
            break;
        CHECK(s == DL_OK || s == DL_EROW);
        CHECK(row.line > last_line);
        CHECK(row.record == last_rec + 1);
        last_line = row.line;
        last_rec = row.record;
        if (s == DL_EROW) {
            CHECK(e.code == DL_EROW && e.line >= row.line && e.col >= 1);
            continue;
        }
        if (want == 0)
            want = row.n;
        CHECK(row.n == want);
        for (size_t i = 0; i < row.n; i++) {
            CHECK(row.len[i] <= o->max_field);
            CHECK(strlen(row.field[i]) == row.len[i]); /* no NUL inside */
            if (o->check_utf8)
                CHECK(utf8_ok((const unsigned char *)row.field[i], row.len[i]));
        }
    }
    CHECK(dl_csv_bytes_in(r) <= dl_csv_size(r) || dl_csv_size(r) == 0);
    dl_csv_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    run(data, size, &o);
    o.header = false;
    run(data, size, &o);
    o.trim = true;
    o.max_field = 8;
    run(data, size, &o);
    o.header = true;
    o.delimiter = ';';
    o.check_utf8 = false;
    run(data, size, &o);
    return 0;
}
