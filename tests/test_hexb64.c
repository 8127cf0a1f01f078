/* test_hexb64.c: hex and base64 encoding and strict decoding (common/hexb64.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/hexb64.h"

Test(hexb64, hex_encode_is_lower_case)
{
    const uint8_t in[] = {0x00, 0x01, 0xab, 0xff, 0x7e};
    char out[11];
    cr_assert_eq(dl_hex_encode(in, sizeof in, out), 10);
    cr_assert_str_eq(out, "0001abff7e");
    cr_assert_eq(dl_hex_encode(in, 0, out), 0);
    cr_assert_str_eq(out, "");
    char u[17];
    dl_hex_u64(0x0123456789abcdefULL, u);
    cr_assert_str_eq(u, "0123456789abcdef");
    dl_hex_u64(1, u);
    cr_assert_str_eq(u, "0000000000000001");
}

Test(hexb64, hex_decode_accepts_both_cases)
{
    uint8_t out[4];
    cr_assert(dl_hex_decode("DeadBEEF", 8, out, NULL));
    cr_assert_eq(out[0], 0xde);
    cr_assert_eq(out[1], 0xad);
    cr_assert_eq(out[2], 0xbe);
    cr_assert_eq(out[3], 0xef);
}

Test(hexb64, hex_decode_reports_bad_character_offset)
{
    uint8_t out[4];
    size_t bad = 99;
    cr_assert_not(dl_hex_decode("00g0", 4, out, &bad));
    cr_assert_eq(bad, 2);
    cr_assert_not(dl_hex_decode("000 ", 4, out, &bad));
    cr_assert_eq(bad, 3);
    cr_assert_not(dl_hex_decode("0x00", 4, out, &bad));
    cr_assert_eq(bad, 1);
}

Test(hexb64, hex_decode_odd_length)
{
    uint8_t out[4];
    size_t bad = 99;
    cr_assert_not(dl_hex_decode("abc", 3, out, &bad));
    cr_assert_eq(bad, 3);
    cr_assert_not(dl_hex_decode("abz", 3, out, &bad));
    cr_assert_eq(bad, 2, "a bad last character is named before the odd length");
}

/* RFC 4648, section 10: test vectors for BASE64. */
static const char *const b64_vectors[][2] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},     {"foo", "Zm9v"},
    {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
};

Test(hexb64, base64_rfc4648_vectors)
{
    for (size_t i = 0; i < sizeof b64_vectors / sizeof b64_vectors[0]; i++) {
        const char *plain = b64_vectors[i][0], *enc = b64_vectors[i][1];
        char out[16];
        size_t n = dl_b64_encode(plain, strlen(plain), out);
        cr_assert_eq(n, strlen(enc));
        cr_assert_eq(n, dl_b64_encoded_len(strlen(plain)));
        cr_assert_str_eq(out, enc);
        uint8_t dec[16];
        size_t dn = 99;
        cr_assert(dl_b64_decode(enc, strlen(enc), dec, &dn, NULL), "decode %s", enc);
        cr_assert_eq(dn, strlen(plain));
        cr_assert(memcmp(dec, plain, dn) == 0);
    }
}

Test(hexb64, base64_round_trip_all_lengths_and_bytes)
{
    uint8_t in[300], dec[300];
    char enc[401];
    srand(7);
    for (size_t len = 0; len <= sizeof in; len++) {
        for (size_t i = 0; i < len; i++)
            in[i] = (uint8_t)rand();
        size_t n = dl_b64_encode(in, len, enc);
        size_t dn;
        cr_assert(dl_b64_decode(enc, n, dec, &dn, NULL));
        cr_assert_eq(dn, len);
        cr_assert(memcmp(in, dec, len) == 0, "length %zu", len);
    }
    /* Every byte value, to exercise the whole alphabet including + and /. */
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)i;
    size_t n = dl_b64_encode(in, 256, enc), dn;
    cr_assert(strchr(enc, '+') && strchr(enc, '/'));
    cr_assert(dl_b64_decode(enc, n, dec, &dn, NULL));
    cr_assert(memcmp(in, dec, 256) == 0);
}

static void b64_bad(const char *text, size_t want_bad)
{
    uint8_t out[32];
    size_t n, bad = 999;
    cr_assert_not(dl_b64_decode(text, strlen(text), out, &n, &bad), "accepted '%s'", text);
    cr_assert_eq(bad, want_bad, "'%s': bad at %zu, expected %zu", text, bad, want_bad);
}

Test(hexb64, base64_rejects_bad_length)
{
    b64_bad("Zm9", 3);
    b64_bad("Zm9vY", 5);
}

Test(hexb64, base64_rejects_bad_characters)
{
    b64_bad("Zm!v", 2);
    b64_bad("Zm9v Zm9v", 9);   /* length 9 */
    b64_bad("Zm9vZm9 ", 7);
    b64_bad("-m9v", 0);         /* URL-safe alphabet is not accepted */
    b64_bad("Z_9v", 1);
}

Test(hexb64, base64_rejects_misplaced_padding)
{
    b64_bad("Zg==Zg==", 2);     /* padding before the last group */
    b64_bad("Z===", 1);
    b64_bad("Zg=A", 3);
    b64_bad("=Zg=", 0);
}

Test(hexb64, base64_rejects_nonzero_unused_bits)
{
    b64_bad("Zh==", 1);         /* "f" is Zg==; h sets a bit past the byte */
    b64_bad("Zm9=", 2);         /* "fo" is Zm8= */
}

/* The dispatched encoder (AVX-512 VBMI where the CPU has it) writes exactly
 * the portable encoder's bytes, for every length across several 48-byte
 * steps and their masked tails, at every alignment, and writes nothing past
 * the NUL. On a CPU without VBMI both are the portable code and this checks
 * only the dispatch. */
Test(hexb64, base64_fast_path_equals_portable)
{
    uint8_t buf[400 + 64];
    char a[560], b[560];
    uint64_t s = 11;
    for (size_t len = 0; len <= 400; len++) {
        for (size_t align = 0; align < 4; align++) {
            uint8_t *in = buf + align * 13;
            for (size_t i = 0; i < len; i++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                /* Random bytes, and runs of 0x00 and 0xff for the edges of
                 * the alphabet. */
                in[i] = len % 7 == 0 ? 0xff : len % 11 == 0 ? 0 : (uint8_t)(s >> 56);
            }
            memset(a, '#', sizeof a);
            memset(b, '#', sizeof b);
            size_t na = dl_b64_encode(in, len, a + align);
            size_t nb = dl__b64_encode_portable(in, len, b + align);
            cr_assert_eq(na, nb, "length %zu", len);
            cr_assert_eq(na, dl_b64_encoded_len(len));
            cr_assert(memcmp(a, b, sizeof a) == 0, "length %zu align %zu", len, align);
            cr_assert_eq(a[align + na], '\0');
            cr_assert_eq(a[align + na + 1], '#', "wrote past the end at length %zu", len);
        }
    }
    cr_log_info("base64 VBMI path %s", dl__b64_have_vbmi() ? "tested" : "not on this CPU");
}

/* The RFC 4648 section 10 vectors through the portable encoder as well. */
Test(hexb64, base64_portable_rfc4648_vectors)
{
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=",
                                       "Zm9vYmFy"};
    char out[16];
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        dl__b64_encode_portable(in[i], strlen(in[i]), out);
        cr_assert_str_eq(out, want[i]);
    }
}

/* dl_hex_u64_seps (AVX-512 VBMI where the CPU has it, three tokens a step)
 * against the portable code and against dl_hex_u64 one token at a time,
 * for every count 0..40 (partial last steps), with nothing written past
 * 17*N bytes. */
Test(hexb64, hex_u64_seps_matches_one_at_a_time)
{
    uint64_t x = 0x9e3779b97f4a7c15ull;
    uint64_t v[40];
    char sep[40];
    char a[17 * 40 + 8], b[17 * 40 + 8], one[17];
    for (int round = 0; round < 20; round++) {
        for (size_t i = 0; i < 40; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            v[i] = round == 0 ? (i % 2 ? ~0ull : 0) : x;
            sep[i] = ",; \t"[(x >> 60) % 4];
        }
        for (size_t n = 0; n <= 40; n++) {
            memset(a, '#', sizeof a);
            memset(b, '#', sizeof b);
            dl_hex_u64_seps(v, sep, n, a);
            dl__hex_u64_seps_portable(v, sep, n, b);
            cr_assert(memcmp(a, b, sizeof a) == 0, "round %d n %zu: paths differ", round, n);
            for (size_t i = 0; i < n; i++) {
                dl_hex_u64(v[i], one);
                cr_assert_eq(a[17 * i], sep[i]);
                cr_assert(memcmp(a + 17 * i + 1, one, 16) == 0, "n %zu token %zu", n, i);
            }
            for (size_t i = 17 * n; i < sizeof a; i++)
                cr_assert_eq(a[i], '#', "n %zu: byte %zu written past the end", n, i);
        }
    }
}
