/* test_deflate_fast.c: the field-match deflate encoder (common/deflate_fast.c)
 * and its gzip members: zlib and dolen's reader give back every input. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/deflate_fast.h"
#include "dolen/gz.h"

/* A small deterministic generator (xorshift64*), so failures repeat. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

/* Raw deflate of SRC with dl__deflate_fast, inflated by zlib: must give SRC
 * back, end exactly at the stream's end, and be deterministic. Returns the
 * compressed size. */
static size_t round_trip(const uint8_t *src, size_t len)
{
    size_t bound = dl__deflate_fast_bound(len);
    uint8_t *a = malloc(bound), *b = malloc(bound), *back = malloc(len + 1);
    size_t n = dl__deflate_fast(src, len, a);
    cr_assert_neq(n, SIZE_MAX);
    cr_assert(n + 8 <= bound, "%zu bytes over the bound %zu", n, bound);
    cr_assert_eq(dl__deflate_fast(src, len, b), n, "not deterministic (size)");
    cr_assert(memcmp(a, b, n) == 0, "not deterministic (bytes)");
    /* The scalar coder must give the same bytes as the vector one. */
    cr_assert_eq(dl__deflate_fast_portable(src, len, b), n, "scalar path: other size");
    cr_assert(memcmp(a, b, n) == 0, "scalar path: other bytes");
    z_stream z;
    memset(&z, 0, sizeof z);
    cr_assert_eq(inflateInit2(&z, -15), Z_OK);
    z.next_in = a;
    z.avail_in = (uInt)n;
    z.next_out = back;
    z.avail_out = (uInt)(len + 1);
    int ret = inflate(&z, Z_FINISH);
    cr_assert_eq(ret, Z_STREAM_END, "zlib: %d (%s) for %zu bytes", ret, z.msg ? z.msg : "",
                 len);
    cr_assert_eq(z.avail_in, 0, "bytes left after the final block");
    cr_assert_eq(z.total_out, len);
    cr_assert(len == 0 || memcmp(back, src, len) == 0, "content differs");
    inflateEnd(&z);
    free(a);
    free(b);
    free(back);
    return n;
}

/* CSV like an ids file: rows of random 16-hex tokens, base64-like filters of
 * sparse bits, and low-cardinality tokens that repeat (sex, month, area). */
static uint8_t *ids_like(size_t len)
{
    static const char hex[] = "0123456789abcdef";
    static const char b64[] = "AAAAAAAAAAAAgQIEBCE+/ABCDEFGHIJKLMNOPQRSTUVWXYZabcdef0123";
    uint8_t *p = malloc(len + 1);
    size_t i = 0;
    uint64_t few[5];
    for (int k = 0; k < 5; k++)
        few[k] = rnd();
    while (i < len) {
        int kind = (int)(rnd() % 4);
        size_t n = kind == 3 ? 172 : 16;
        uint64_t v = kind == 2 ? few[rnd() % 5] : rnd();
        for (size_t k = 0; k < n && i < len; k++, i++)
            p[i] = kind == 3 ? (uint8_t)b64[rnd() % (sizeof b64 - 1)]
                             : (uint8_t)hex[(v >> (4 * (k % 16))) & 15];
        if (i < len)
            p[i++] = rnd() % 8 == 0 ? '\n' : rnd() % 5 == 0 ? ' ' : ',';
    }
    return p;
}

Test(deflate_fast, empty_and_one_byte)
{
    round_trip((const uint8_t *)"", 0);
    round_trip((const uint8_t *)"x", 1);
    round_trip((const uint8_t *)",", 1);
}

Test(deflate_fast, random_bytes_fall_back_to_stored_blocks)
{
    /* Sizes about a stored block's 65535-byte limit and the 128 KiB block. */
    const size_t sizes[] = {2, 100, 65534, 65535, 65536, 65537, 131071, 131072, 131073, 400000};
    uint8_t *p = malloc(400000);
    for (size_t i = 0; i < 400000; i++)
        p[i] = (uint8_t)rnd();
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = round_trip(p, sizes[k]);
        /* Stored: 5 bytes per block of at most 65535 bytes; blocks also
         * end at each 128 KiB of input. */
        cr_assert(n <= sizes[k] + 5 * (sizes[k] / 65535 + sizes[k] / 131072 + 2), "%zu -> %zu",
                  sizes[k], n);
    }
    free(p);
}

Test(deflate_fast, one_byte_value_repeated)
{
    const size_t sizes[] = {1, 2, 3, 7, 8, 9, 258, 259, 1000, 131072, 300001};
    uint8_t *p = malloc(300001);
    memset(p, 'A', 300001);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++)
        round_trip(p, sizes[k]);
    /* One field of 199 'A' between separators, repeated: matches of 258
     * (fields longer than a match are not looked up). */
    for (size_t i = 0; i < 300001; i += 200)
        p[i] = ',';
    size_t n = round_trip(p, 300001);
    cr_assert(n < 300001 / 20, "repeated fields should be matched: %zu bytes", n);
}

Test(deflate_fast, ids_like_text_round_trips_and_shrinks)
{
    const size_t sizes[] = {17, 1000, 65536, 131071, 131072, 131073, 1 << 20, 3000001};
    uint8_t *p = ids_like(3000001);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = round_trip(p, sizes[k]);
        if (sizes[k] >= 65536) /* hex is 4 bits a byte: well under 0.7 */
            cr_assert(n < sizes[k] * 7 / 10, "%zu -> %zu", sizes[k], n);
    }
    free(p);
}

/* The literal codes come from a sample of each block (the first 1 KiB of
 * every 4 KiB). A byte value met only outside the sample still round-trips:
 * the characters of hex and base64 text have a code anyway, anything else
 * sends the block to the exact histogram. */
Test(deflate_fast, bytes_the_sample_missed_are_coded)
{
    const size_t len = 600000;
    static const uint8_t strays[] = {0x01, '"', '!', 0xe9, 0xff, '/', '+', 'z', '\t'};
    for (size_t k = 0; k < sizeof strays / sizeof *strays; k++) {
        uint8_t *p = ids_like(len);
        /* Never in a sample window: offsets 1024..4095 of a 4 KiB piece;
         * a few per block, and in some blocks none. */
        for (size_t i = 2000 + 4096 * k; i < len; i += 4096 * 7)
            p[i] = strays[k];
        size_t n = round_trip(p, len);
        cr_assert(n < len * 7 / 10, "stray 0x%02x: %zu -> %zu", strays[k], len, n);
        free(p);
    }
}

/* Text whose sample windows hold base64 digits while the rest holds only
 * punctuation the sample never saw: those get the longest codes (~14 bits),
 * so the block costs more than stored, though its estimate said less. It
 * must come out stored (rewound after writing), within the bound, and
 * round-trip. */
Test(deflate_fast, a_misleading_sample_falls_back_to_stored)
{
    const size_t sizes[] = {5000, 131072, 131073, 400000};
    uint8_t *p = malloc(400000);
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    static const char rare[] = "-.:;<=>?@[]^_`";
    for (size_t i = 0; i < 400000; i++)
        p[i] = (i & 4095) < 1024 ? (uint8_t)b64[rnd() % 64]
                                 : (uint8_t)rare[rnd() % (sizeof rare - 1)];
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        size_t n = round_trip(p, sizes[k]);
        /* Within what all-stored blocks cost: no block got the bad codes. */
        cr_assert(n <= sizes[k] + 5 * (sizes[k] / 65535 + sizes[k] / 131072 + 2), "%zu -> %zu",
                  sizes[k], n);
    }
    free(p);
}

Test(deflate_fast, repeated_tokens_are_matched)
{
    /* The same 20 tokens over and over: literals alone need ~4 bits a byte,
     * matches of whole fields far less. */
    uint8_t *p = ids_like(200000);
    for (size_t i = 0; i + 17 <= 200000; i += 17) {
        memcpy(p + i, "0123456789abcdef", 16);
        p[i + 15] = (uint8_t)('a' + (i / 17) % 20 % 6);
        p[i + 14] = (uint8_t)('0' + (i / 17) % 20 / 6);
        p[i + 16] = ',';
    }
    size_t n = round_trip(p, 200000);
    cr_assert(n < 200000 / 10, "%zu bytes: fields were not matched", n);
    free(p);
}

/* The vector literal coder (AVX-512 VBMI, where the CPU has it) against the
 * scalar one, through round_trip(): literal runs of every length about its
 * 64-byte step and 16-byte threshold, bytes >= 128 (the vector tables hold
 * 0..127) in some steps, at every alignment of the output bits. */
Test(deflate_fast, vector_and_scalar_literals_agree)
{
    if (!dl__deflate_fast_have_simd())
        cr_log_info("no AVX-512 VBMI here: both paths are the scalar one");
    uint8_t *p = ids_like(70000);
    for (size_t len = 0; len <= 300; len++)
        round_trip(p + len % 7, len);
    /* High bytes: one in some 64-byte steps, runs of them in others. */
    for (size_t i = 500; i < 70000; i += 1 + rnd() % 700)
        p[i] = (uint8_t)(0x80 | rnd());
    for (size_t i = 30000; i < 30100; i++)
        p[i] = (uint8_t)(0x80 + i % 128);
    for (size_t len = 1000; len < 70000; len += 9973)
        round_trip(p, len);
    round_trip(p, 70000);
    /* Short repeated fields between random ones: many short literal runs. */
    for (size_t i = 0; i + 26 <= 70000; i += 26) {
        memcpy(p + i, i % 52 ? "aaaabbbbccccdddd," : "0123456789abcdef,", 17);
        for (size_t k = 17; k < 25; k++)
            p[i + k] = (uint8_t)"0123456789abcdef"[rnd() % 16];
        p[i + 25] = rnd() % 3 ? ',' : '\n';
    }
    for (size_t len = 64; len <= 70000; len = len * 3 + 1)
        round_trip(p, len);
    free(p);
}

/* Weights past 2^55 are sorted by qsort, smaller ones by the packed-key
 * insertion sort: scaling every weight by 2^40 must not change a length. */
Test(deflate_fast, huffman_lengths_same_for_scaled_weights)
{
    uint64_t f[288], g[288];
    uint8_t a[288], b[288];
    for (int trial = 0; trial < 50; trial++) {
        size_t n = 2 + rnd() % 287;
        for (size_t i = 0; i < n; i++) {
            f[i] = rnd() % 4 ? 1 + rnd() % 5000 : 0;
            g[i] = f[i] << 40;
        }
        dl__huffman_lengths(f, n, 15, a);
        dl__huffman_lengths(g, n, 15, b);
        cr_assert(memcmp(a, b, n) == 0, "trial %d: lengths differ", trial);
    }
}

Test(deflate_fast, huffman_lengths_complete_and_limited)
{
    uint64_t f[288];
    uint8_t len[288];
    /* Fibonacci counts give an unlimited depth of n - 1: the limit must bite. */
    for (size_t n = 2; n <= 288; n += 7) {
        for (unsigned limit = 7; limit <= 15; limit += 8) {
            if ((1u << limit) < n)
                continue;
            uint64_t a = 1, b = 1;
            for (size_t i = 0; i < n; i++) {
                f[i] = a;
                uint64_t c = a + b;
                a = b;
                b = c < b ? b : c; /* saturate */
            }
            dl__huffman_lengths(f, n, limit, len);
            double kraft = 0;
            for (size_t i = 0; i < n; i++) {
                cr_assert(len[i] >= 1 && len[i] <= limit, "n %zu sym %zu len %u", n, i, len[i]);
                kraft += 1.0 / (double)(1u << len[i]);
            }
            cr_assert_float_eq(kraft, 1.0, 1e-12, "n %zu: incomplete or over-full code", n);
        }
    }
    /* One symbol used (or none): a second one gets a code, both length 1. */
    memset(f, 0, sizeof f);
    f[65] = 1000;
    dl__huffman_lengths(f, 257, 15, len);
    cr_assert_eq(len[65], 1);
    cr_assert_eq(len[0], 1);
    memset(f, 0, sizeof f);
    dl__huffman_lengths(f, 19, 7, len);
    cr_assert_eq(len[0] + len[1], 2);
}

/* The gzip member: zlib (gzip mode, CRC and length checked) and dolen's own
 * reader both give back the content, concatenated with ISA-L/zlib members. */
Test(deflate_fast, gzip_members_read_by_zlib_and_dolen)
{
    const size_t sizes[] = {0, 1, 4096, 1 << 20};
    uint8_t *p = ids_like(1 << 20);
    for (size_t k = 0; k < sizeof sizes / sizeof *sizes; k++) {
        dl_buf z = DL_BUF_INIT;
        dl_error err = DL_ERROR_INIT;
        cr_assert_eq(dl_gz_compress_member_fast(p, sizes[k], &z, &err), DL_OK, "%s", err.msg);
        size_t one = z.len;
        /* A member of the other encoder after it: still one stream. */
        cr_assert_eq(dl_gz_compress_member(p, sizes[k], &z, &err), DL_OK, "%s", err.msg);
        uint8_t *back = malloc(2 * sizes[k] + 1);
        z_stream zs;
        memset(&zs, 0, sizeof zs);
        cr_assert_eq(inflateInit2(&zs, 15 + 16), Z_OK);
        zs.next_in = (Bytef *)z.data;
        zs.avail_in = (uInt)one;
        zs.next_out = back;
        zs.avail_out = (uInt)(sizes[k] + 1);
        cr_assert_eq(inflate(&zs, Z_FINISH), Z_STREAM_END, "zlib refused the member");
        cr_assert_eq(zs.total_out, sizes[k]);
        cr_assert(sizes[k] == 0 || memcmp(back, p, sizes[k]) == 0);
        inflateEnd(&zs);

        dl_gz_reader *r = NULL;
        cr_assert_eq(dl_gz_open_mem(z.data, z.len, "mem", &r, &err), DL_OK, "%s", err.msg);
        size_t have = 0, got = 0;
        dl_status s;
        while ((s = dl_gz_read(r, back + have, 2 * sizes[k] + 1 - have, &got, &err)) == DL_OK)
            have += got;
        cr_assert_eq(s, DL_END, "%s", err.msg);
        cr_assert_eq(have, 2 * sizes[k]);
        cr_assert(sizes[k] == 0 || (memcmp(back, p, sizes[k]) == 0 &&
                                    memcmp(back + sizes[k], p, sizes[k]) == 0));
        dl_gz_close(r);
        /* Corrupt the CRC: the reader must notice. */
        z.data[one - 8] ^= 1;
        cr_assert_eq(dl_gz_open_mem(z.data, z.len, "mem", &r, &err), DL_OK);
        while ((s = dl_gz_read(r, back, 2 * sizes[k] + 1, &got, &err)) == DL_OK)
            ;
        cr_assert_eq(s, DL_EINPUT, "a bad CRC was not seen");
        dl_gz_close(r);
        free(back);
        dl_buf_free(&z);
    }
    free(p);
}
