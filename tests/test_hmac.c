/* test_hmac.c: HMAC-SHA256 with precomputed states, tokens and HKDF
 * (hashing/hmac.c), against RFC 4231, RFC 5869 and OpenSSL. */
#include <criterion/criterion.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/hexb64.h"
#include "dolen/hmac.h"
#include "dolen/json.h"
#include "test_util.h"

typedef void (*init_fn)(dl_hmac_key *, const uint8_t *, size_t);
static const init_fn inits[] = {dl_hmac_init, dl__hmac_init_portable};

static size_t unhex(const char *hex, uint8_t *out, size_t cap)
{
    size_t n = strlen(hex);
    cr_assert(n % 2 == 0 && n / 2 <= cap);
    cr_assert(dl_hex_decode(hex, n, out, NULL));
    return n / 2;
}

static const char *field(const dl_json *c, const char *key)
{
    const char *s = dl_json_str(dl_json_get(c, key), NULL);
    cr_assert_not_null(s, "case lacks %s", key);
    return s;
}

Test(hmac, rfc4231_all_cases_both_implementations)
{
    char *path = tu_data("strings/hmac_sha256_rfc4231.json");
    dl_json_doc *doc;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_json_load(path, &doc, &e), DL_OK, "%s", e.msg);
    const dl_json *cases = dl_json_get(dl_json_root(doc), "cases");
    cr_assert_eq(dl_json_len(cases), 7);
    for (size_t i = 0; i < dl_json_len(cases); i++) {
        const dl_json *c = dl_json_at(cases, i);
        uint8_t key[200], data[200], mac[32];
        size_t kl = unhex(field(c, "key_hex"), key, sizeof key);
        size_t dl = unhex(field(c, "data_hex"), data, sizeof data);
        const char *want = field(c, "hmac_sha256_hex");
        uint64_t trunc = 256;
        (void)dl_json_uint64(dl_json_get(c, "truncate_bits"), &trunc);
        for (size_t impl = 0; impl < 2; impl++) {
            dl_hmac_key k;
            inits[impl](&k, key, kl);
            dl_hmac(&k, data, dl, mac);
            char hex[65];
            dl_hex_encode(mac, 32, hex);
            cr_assert(strncmp(hex, want, trunc / 4) == 0, "case %zu impl %zu: %s != %s", i + 1,
                      impl, hex, want);
            cr_assert_eq(strlen(want), trunc / 4);
            dl_hmac_key_cleanse(&k);
        }
    }
    dl_json_doc_free(doc);
    free(path);
}

/* RFC 5869, Appendix A, test cases 1-3 (SHA-256). */
Test(hmac, hkdf_rfc5869_cases)
{
    struct {
        const char *ikm, *salt, *info, *okm;
    } cases[] = {
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "000102030405060708090a0b0c",
         "f0f1f2f3f4f5f6f7f8f9",
         "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b88718"
         "5865"},
        {"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728"
         "292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f",
         "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f80818283848586878889"
         "8a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf",
         "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9"
         "dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
         "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c59045a99cac7827271cb"
         "41c65e590e09da3275600c2f09b8367793a9aca3db71cc30c58179ec3e87c14c01d5c1f3434f1d87"},
        {"0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b", "", "",
         "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c"
         "8"},
    };
    for (size_t i = 0; i < 3; i++) {
        uint8_t ikm[100], salt[100], info[100], okm[100];
        size_t il = unhex(cases[i].ikm, ikm, sizeof ikm);
        size_t sl = unhex(cases[i].salt, salt, sizeof salt);
        size_t nl = unhex(cases[i].info, info, sizeof info);
        size_t ol = strlen(cases[i].okm) / 2;
        cr_assert(dl_hkdf_sha256(sl ? salt : NULL, sl, ikm, il, nl ? info : NULL, nl, okm, ol));
        char hex[201];
        dl_hex_encode(okm, ol, hex);
        cr_assert_str_eq(hex, cases[i].okm, "RFC 5869 case %zu", i + 1);
    }
}

Test(hmac, hkdf_length_limit)
{
    static uint8_t out[255 * 32 + 1];
    uint8_t ikm[4] = {1, 2, 3, 4};
    memset(out, 0xAA, sizeof out);
    cr_assert_not(dl_hkdf_sha256(NULL, 0, ikm, 4, NULL, 0, out, sizeof out));
    cr_assert_eq(out[0], 0xAA, "output untouched on refusal");
    cr_assert(dl_hkdf_sha256(NULL, 0, ikm, 4, NULL, 0, out, 255 * 32));
    /* A prefix of a longer output is the shorter output (RFC 5869 2.3). */
    uint8_t shorter[40];
    cr_assert(dl_hkdf_sha256(NULL, 0, ikm, 4, NULL, 0, shorter, sizeof shorter));
    cr_assert(memcmp(shorter, out, sizeof shorter) == 0);
}

Test(hmac, matches_openssl_for_random_keys_and_lengths)
{
    uint8_t key[200], msg[301], mine[32], ref[32];
    unsigned reflen;
    srand(42);
    for (int trial = 0; trial < 40; trial++) {
        size_t kl = (size_t)rand() % sizeof key;
        for (size_t i = 0; i < kl; i++)
            key[i] = (uint8_t)rand();
        dl_hmac_key k[2];
        dl_hmac_init(&k[0], key, kl);
        dl__hmac_init_portable(&k[1], key, kl);
        for (size_t len = 0; len <= 300; len++) {
            for (size_t i = 0; i < len; i++)
                msg[i] = (uint8_t)rand();
            cr_assert_not_null(HMAC(EVP_sha256(), key, (int)kl, msg, len, ref, &reflen));
            for (int impl = 0; impl < 2; impl++) {
                dl_hmac(&k[impl], msg, len, mine);
                cr_assert(memcmp(mine, ref, 32) == 0, "key %zu bytes, msg %zu, impl %d", kl,
                          len, impl);
            }
        }
    }
}

Test(hmac, empty_message_may_be_null)
{
    uint8_t key[3] = {1, 2, 3}, a[32], b[32];
    unsigned n;
    dl_hmac_key k;
    dl_hmac_init(&k, key, 3);
    dl_hmac(&k, NULL, 0, a);
    HMAC(EVP_sha256(), key, 3, (const uint8_t *)"", 0, b, &n);
    cr_assert(memcmp(a, b, 32) == 0);
}

Test(hmac, streaming_equals_one_shot_at_every_split)
{
    uint8_t key[32], msg[200], one[32], parts[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7);
    for (int i = 0; i < 200; i++)
        msg[i] = (uint8_t)(i ^ 0x5a);
    dl_hmac_key k;
    dl_hmac_init(&k, key, sizeof key);
    dl_hmac(&k, msg, sizeof msg, one);
    for (size_t a = 0; a <= sizeof msg; a += 3) {
        for (size_t b = a; b <= sizeof msg; b += 17) {
            dl_hmac_ctx c;
            dl_hmac_begin(&c, &k);
            dl_hmac_update(&c, msg, a);
            dl_hmac_update(&c, msg + a, b - a);
            dl_hmac_update(&c, msg + b, sizeof msg - b);
            dl_hmac_end(&c, parts);
            cr_assert(memcmp(one, parts, 32) == 0, "split %zu %zu", a, b);
        }
    }
}

Test(hmac, token_is_first_eight_bytes_big_endian)
{
    uint8_t key[32] = {9}, mac[32];
    dl_hmac_key k;
    dl_hmac_init(&k, key, sizeof key);
    const char *vals[] = {"", "JONES", "SIAN",
                          ("a much longer value of more than sixty-four "
                           "bytes, so that it needs two blocks")};
    for (size_t i = 0; i < 4; i++) {
        dl_hmac(&k, vals[i], strlen(vals[i]), mac);
        uint64_t want = 0;
        for (int j = 0; j < 8; j++)
            want = want << 8 | mac[j];
        cr_assert_eq(dl_hmac_token(&k, vals[i], strlen(vals[i])), want ? want : 1);
        cr_assert_neq(dl_hmac_token(&k, vals[i], strlen(vals[i])), 0);
    }
    cr_assert_neq(dl_hmac_token(&k, "A", 1), dl_hmac_token(&k, "B", 1));
}

Test(hmac, cleanse_zeroes_the_key)
{
    uint8_t key[16] = {1};
    dl_hmac_key k, zero;
    memset(&zero, 0, sizeof zero);
    dl_hmac_init(&k, key, sizeof key);
    cr_assert(memcmp(&k, &zero, sizeof k) != 0);
    dl_hmac_key_cleanse(&k);
    cr_assert(memcmp(&k, &zero, sizeof k) == 0);
}

typedef struct {
    const dl_hmac_key *k;
    uint64_t sum;
} thread_arg;

static void *hash_many(void *p)
{
    thread_arg *a = p;
    char buf[32];
    for (int i = 0; i < 20000; i++) {
        int n = snprintf(buf, sizeof buf, "value-%d", i);
        a->sum += dl_hmac_token(a->k, buf, (size_t)n);
    }
    return NULL;
}

Test(hmac, one_key_shared_by_threads)
{
    uint8_t key[32] = {3};
    dl_hmac_key k;
    dl_hmac_init(&k, key, sizeof key);
    thread_arg solo = {&k, 0}, args[4];
    hash_many(&solo);
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (thread_arg){&k, 0};
        cr_assert_eq(pthread_create(&t[i], NULL, hash_many, &args[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        cr_assert_eq(args[i].sum, solo.sum);
    }
}

/* The first 8 bytes of MAC as a token, as dl_hmac_token() reads them. */
static uint64_t token_of_mac(const uint8_t *mac)
{
    uint64_t t = 0;
    for (int j = 0; j < 8; j++)
        t = t << 8 | mac[j];
    return t ? t : 1;
}

/* A byte from a 64-bit LCG (Knuth's MMIX constants), high bits. */
static uint8_t next_byte(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (uint8_t)(*s >> 56);
}

/* dl_hmac_token2 gives exactly two dl_hmac_token calls' results: every pair
 * of message lengths 0..119 (one and two inner blocks, the interleaved path
 * up to 55 bytes and the fallback beyond), one key or two, SHA-NI and
 * portable keys mixed, and the tokens against OpenSSL's HMAC. */
Test(hmac, token2_equals_two_tokens_at_every_length, .timeout = 120)
{
    uint8_t ka_bytes[32], kb_bytes[40], msg[2][120];
    uint64_t s = 5;
    for (size_t i = 0; i < sizeof ka_bytes; i++)
        ka_bytes[i] = next_byte(&s);
    for (size_t i = 0; i < sizeof kb_bytes; i++)
        kb_bytes[i] = next_byte(&s);
    for (size_t m = 0; m < 2; m++)
        for (size_t i = 0; i < sizeof msg[m]; i++)
            msg[m][i] = next_byte(&s);
    for (size_t impl = 0; impl < 4; impl++) {
        dl_hmac_key ka, kb;
        inits[impl & 1](&ka, ka_bytes, sizeof ka_bytes);
        inits[impl >> 1](&kb, kb_bytes, sizeof kb_bytes);
        for (size_t la = 0; la < 120; la++) {
            for (size_t lb = 0; lb < 120; lb++) {
                uint64_t two[2], same[2];
                dl_hmac_token2(&ka, msg[0], la, &kb, msg[1], lb, two);
                cr_assert_eq(two[0], dl_hmac_token(&ka, msg[0], la), "la %zu lb %zu", la, lb);
                cr_assert_eq(two[1], dl_hmac_token(&kb, msg[1], lb), "la %zu lb %zu", la, lb);
                dl_hmac_token2(&ka, msg[1], lb, &ka, msg[0], la, same);
                cr_assert_eq(same[0], dl_hmac_token(&ka, msg[1], lb));
                cr_assert_eq(same[1], dl_hmac_token(&ka, msg[0], la));
            }
            /* Against OpenSSL, independently of dl_hmac_token. */
            uint8_t mac[EVP_MAX_MD_SIZE];
            unsigned ml = 0;
            cr_assert_not_null(HMAC(EVP_sha256(), kb_bytes, sizeof kb_bytes, msg[1], la, mac, &ml));
            uint64_t two[2];
            dl_hmac_token2(&ka, msg[0], la, &kb, msg[1], la, two);
            cr_assert_eq(two[1], token_of_mac(mac), "length %zu", la);
        }
        dl_hmac_key_cleanse(&ka);
        dl_hmac_key_cleanse(&kb);
    }
    cr_log_info("SHA-NI %s", dl__hmac_have_shani() ? "present: interleaved path tested"
                                                   : "absent: fallback only");
}

/* RFC 4231 test cases 1-4 and 6-7 through the paired path, two cases per
 * call: the token is the first 8 bytes of the RFC's HMAC. */
Test(hmac, token2_rfc4231_vectors)
{
    char *path = tu_data("strings/hmac_sha256_rfc4231.json");
    dl_json_doc *doc;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_json_load(path, &doc, &e), DL_OK, "%s", e.msg);
    const dl_json *cases = dl_json_get(dl_json_root(doc), "cases");
    size_t n = dl_json_len(cases);
    for (size_t i = 0; i < n; i++) {
        size_t j = (i + 1) % n;
        uint8_t key[2][200], data[2][200], want[2][32];
        size_t kl[2], dlen[2];
        const dl_json *c[2] = {dl_json_at(cases, i), dl_json_at(cases, j)};
        for (int q = 0; q < 2; q++) {
            kl[q] = unhex(field(c[q], "key_hex"), key[q], sizeof key[q]);
            dlen[q] = unhex(field(c[q], "data_hex"), data[q], sizeof data[q]);
            const char *w = field(c[q], "hmac_sha256_hex");
            cr_assert_geq(strlen(w), 16);
            char first[17];
            memcpy(first, w, 16);
            first[16] = '\0';
            unhex(first, want[q], sizeof want[q]);
        }
        dl_hmac_key ka, kb;
        dl_hmac_init(&ka, key[0], kl[0]);
        dl_hmac_init(&kb, key[1], kl[1]);
        uint64_t two[2];
        dl_hmac_token2(&ka, data[0], dlen[0], &kb, data[1], dlen[1], two);
        cr_assert_eq(two[0], token_of_mac(want[0]), "case %zu", i + 1);
        cr_assert_eq(two[1], token_of_mac(want[1]), "case %zu", j + 1);
        dl_hmac_key_cleanse(&ka);
        dl_hmac_key_cleanse(&kb);
    }
    dl_json_doc_free(doc);
    free(path);
}
