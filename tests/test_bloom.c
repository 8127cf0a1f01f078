/* test_bloom.c: Bloom-filter encodings, hardening and Dice (hashing/bloom.c).
 * Filters are checked against a reference built from OpenSSL's one-shot HMAC(). */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "dolen/bloom.h"

static const uint8_t key1[32] = "0123456789abcdef0123456789abcdef";
static const uint8_t key2[32] = "fedcba9876543210fedcba9876543210";

#define MAXW (DL_BLOOM_MAX_BITS / 64 * 2)

static dl_bloom_opts opts(unsigned q, unsigned bits, unsigned k, bool padded)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    o.q = q;
    o.bits = bits;
    o.k = k;
    o.padded = padded;
    return o;
}

static dl_bloom_enc *enc_new(const uint8_t *key, const dl_bloom_opts *o)
{
    dl_bloom_enc *e = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_bloom_enc_new(key, o, &e, &err), DL_OK, "%s", err.msg);
    cr_assert_not_null(e);
    return e;
}

/* One whole filter: zero, add VALUE (salted or not), no hardening. */
static void encode(const dl_bloom_enc *e, dl_bloom_cache *c, const char *v, const char *salt,
                   uint64_t *bits)
{
    memset(bits, 0, dl_bloom_enc_opts(e)->bits / 8);
    dl_bloom_add(e, c, v, strlen(v), salt, salt ? strlen(salt) : 0, bits);
}

/* ---- reference: the construction of docs/bloom.md, written independently
 * (explicit padded string, one-shot HMAC, bit-by-bit stream reading). */

static void ref_gram(const uint8_t *key, const dl_bloom_opts *o, const uint8_t *gram,
                     size_t glen, const uint8_t *salt, size_t slen, uint64_t *bits)
{
    unsigned b = 0;
    while ((1u << b) < o->bits)
        b++;
    if ((1u << b) != o->bits)
        b += 16;
    unsigned blocks = (o->k * b + 255) / 256;
    uint8_t stream[8 * 32];
    uint8_t *msg = malloc(2 + glen + slen);
    for (unsigned j = 0; j < blocks; j++) {
        msg[0] = (uint8_t)j;
        msg[1] = (uint8_t)glen;
        memcpy(msg + 2, gram, glen);
        if (slen)
            memcpy(msg + 2 + glen, salt, slen);
        unsigned outlen = 0;
        cr_assert_not_null(HMAC(EVP_sha256(), key, 32, msg, 2 + glen + slen,
                                stream + 32 * j, &outlen));
        cr_assert_eq(outlen, 32);
    }
    free(msg);
    size_t t = 0;
    for (unsigned i = 0; i < o->k; i++) {
        uint64_t chunk = 0;
        for (unsigned n = 0; n < b; n++, t++)
            chunk = chunk << 1 | ((stream[t / 8] >> (7 - t % 8)) & 1);
        uint64_t p = (chunk * o->bits) >> b;
        bits[p / 64] |= (uint64_t)1 << (p % 64);
    }
}

static void ref_filter(const uint8_t *key, const dl_bloom_opts *o, const char *v, size_t len,
                       const char *salt, size_t slen, uint64_t *bits)
{
    memset(bits, 0, o->bits / 8);
    if (len == 0)
        return;
    size_t pad = o->padded ? o->q - 1 : 0;
    size_t n = len + 2 * pad;
    char *s = malloc(n);
    memset(s, '_', n);
    memcpy(s + pad, v, len);
    if (n < o->q)
        ref_gram(key, o, (const uint8_t *)s, n, (const uint8_t *)salt, slen, bits);
    else
        for (size_t g = 0; g + o->q <= n; g++)
            ref_gram(key, o, (const uint8_t *)s + g, o->q, (const uint8_t *)salt, slen, bits);
    free(s);
}

static uint64_t rng_state = 0x853c49e6748fea9bu;
static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005u + 1442695040888963407u;
    return (uint32_t)(rng_state >> 33);
}

static size_t random_string(char *out, size_t max)
{
    size_t len = rnd() % max;
    for (size_t i = 0; i < len; i++)
        out[i] = (rnd() % 8 == 0) ? (char)(rnd() % 256) : (char)('A' + rnd() % 26);
    return len;
}

static void check_against_reference(const dl_bloom_opts *o, bool use_cache, size_t cache_size)
{
    dl_bloom_enc *e = enc_new(key1, o);
    dl_error err = DL_ERROR_INIT;
    dl_bloom_cache *c = use_cache ? dl_bloom_cache_new(e, cache_size, &err) : NULL;
    cr_assert(!use_cache || c);
    uint64_t got[MAXW], want[MAXW];
    char v[40], salt[100];
    for (int i = 0; i < 200; i++) {
        size_t len = random_string(v, sizeof v);
        size_t slen = (i % 3 == 0) ? 0 : random_string(salt, (i % 7 == 0) ? sizeof salt : 6);
        memset(got, 0, o->bits / 8);
        dl_bloom_add(e, c, v, len, slen ? salt : NULL, slen, got);
        ref_filter(key1, o, v, len, salt, slen, want);
        cr_assert(memcmp(got, want, o->bits / 8) == 0,
                  "q=%u bits=%u k=%u padded=%d cache=%d string %d (len %zu, salt %zu)", o->q,
                  o->bits, o->k, o->padded, use_cache, i, len, slen);
    }
    dl_bloom_cache_free(c);
    dl_bloom_enc_free(e);
}

Test(bloom, filters_equal_one_shot_hmac_reference)
{
    const unsigned qs[] = {1, 2, 3, 4};
    for (size_t i = 0; i < 4; i++)
        for (int padded = 0; padded <= 1; padded++) {
            dl_bloom_opts o = opts(qs[i], 1024, 20, padded);
            check_against_reference(&o, false, 0);
        }
    /* Non-power-of-two length (26-bit chunks, 3 MAC blocks), many positions
     * (8 MAC blocks), the shortest filter. */
    dl_bloom_opts o = opts(2, 960, 20, true);
    check_against_reference(&o, false, 0);
    o = opts(3, 65472, 64, false);
    check_against_reference(&o, false, 0);
    o = opts(2, 64, 1, true);
    check_against_reference(&o, false, 0);
}

Test(bloom, cache_gives_identical_filters)
{
    dl_bloom_opts o = opts(2, 1024, 20, true);
    check_against_reference(&o, true, 0);
    /* A cache of 4 q-grams is emptied again and again: still identical. */
    check_against_reference(&o, true, 4);
    o = opts(4, 960, 30, false);
    check_against_reference(&o, true, 8);
}

Test(bloom, cache_answers_repeated_qgrams_without_mac)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *e = enc_new(key1, &o);
    dl_bloom_cache *c = dl_bloom_cache_new(e, 0, NULL);
    cr_assert_not_null(c);
    uint64_t bits[16];
    encode(e, c, "ANNA", NULL, bits); /* _A AN NN NA A_ : 5 new */
    uint64_t hits, misses;
    dl_bloom_cache_stats(c, &hits, &misses);
    cr_assert_eq(hits, 0);
    cr_assert_eq(misses, 5);
    encode(e, c, "ANN", NULL, bits); /* _A AN NN all cached, N_ new */
    dl_bloom_cache_stats(c, &hits, &misses);
    cr_assert_eq(hits, 3);
    cr_assert_eq(misses, 6);
    encode(e, c, "ANN", "1970", bits); /* salted: all new */
    dl_bloom_cache_stats(c, &hits, &misses);
    cr_assert_eq(misses, 10);
    dl_bloom_cache_stats(NULL, &hits, NULL);
    cr_assert_eq(hits, 0);
    dl_bloom_cache_free(c);
    dl_bloom_enc_free(e);
}

Test(bloom, different_subkeys_give_unrelated_filters)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *a = enc_new(key1, &o), *b = enc_new(key2, &o);
    uint64_t fa[16], fb[16];
    encode(a, NULL, "MARGARET", NULL, fa);
    encode(b, NULL, "MARGARET", NULL, fb);
    /* ~9 q-grams x 20 positions: about 160 of 1024 bits set each; unrelated
     * filters share about 160^2/1024 = 25, a Dice near 0.16. */
    double d = dl_dice(fa, fb, 16);
    cr_assert_lt(d, 0.35, "dice %f", d);
    cr_assert_gt(dl_popcount_words(fa, 16), 100);
    dl_bloom_enc_free(a);
    dl_bloom_enc_free(b);
}

Test(bloom, similar_names_score_high_and_different_low)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *e = enc_new(key1, &o);
    uint64_t smith[16], smyth[16], jones[16], smith2[16];
    encode(e, NULL, "SMITH", NULL, smith);
    encode(e, NULL, "SMYTH", NULL, smyth);
    encode(e, NULL, "JONES", NULL, jones);
    encode(e, NULL, "SMITH", NULL, smith2);
    double similar = dl_dice(smith, smyth, 16), different = dl_dice(smith, jones, 16);
    /* Bigram sets share 4 of 6 (Dice 0.67); bits agree about as much. */
    cr_assert_gt(similar, 0.55, "dice(SMITH, SMYTH) %f", similar);
    cr_assert_lt(different, 0.25, "dice(SMITH, JONES) %f", different);
    cr_assert_eq(dl_dice(smith, smith2, 16), 1.0);
    dl_bloom_enc_free(e);
}

Test(bloom, padding_adds_edge_qgrams)
{
    dl_bloom_opts po = opts(2, 1024, 20, true), uo = opts(2, 1024, 20, false);
    dl_bloom_enc *p = enc_new(key1, &po), *u = enc_new(key1, &uo);
    uint64_t fp[16] = {0}, fu[16] = {0};
    cr_assert_eq(dl_bloom_add(p, NULL, "AB", 2, NULL, 0, fp), 3); /* _A AB B_ */
    cr_assert_eq(dl_bloom_add(u, NULL, "AB", 2, NULL, 0, fu), 1); /* AB */
    /* The shared gram AB sets the same bits with the same key. */
    cr_assert_eq(dl_popcount_and_words(fp, fu, 16), dl_popcount_words(fu, 16));
    cr_assert_gt(dl_popcount_words(fp, 16), dl_popcount_words(fu, 16));
    /* Unpadded, a value shorter than q is one gram of its own. */
    uint64_t a[16] = {0}, b[16] = {0};
    cr_assert_eq(dl_bloom_add(u, NULL, "A", 1, NULL, 0, a), 1);
    cr_assert_eq(dl_bloom_add(u, NULL, "B", 1, NULL, 0, b), 1);
    cr_assert_gt(dl_popcount_words(a, 16), 0);
    cr_assert_lt(dl_dice(a, b, 16), 0.5);
    dl_bloom_enc_free(p);
    dl_bloom_enc_free(u);
}

Test(bloom, qgram_counts_for_q_1_to_4)
{
    for (unsigned q = 1; q <= 4; q++) {
        dl_bloom_opts po = opts(q, 1024, 20, true), uo = opts(q, 1024, 20, false);
        dl_bloom_enc *p = enc_new(key1, &po), *u = enc_new(key1, &uo);
        uint64_t f[16] = {0};
        cr_assert_eq(dl_bloom_add(p, NULL, "GWILYM", 6, NULL, 0, f), 6 + q - 1, "q=%u", q);
        cr_assert_eq(dl_bloom_add(u, NULL, "GWILYM", 6, NULL, 0, f), 6 - q + 1, "q=%u", q);
        dl_bloom_enc_free(p);
        dl_bloom_enc_free(u);
    }
}

Test(bloom, empty_value_sets_nothing)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *e = enc_new(key1, &o);
    uint64_t f[16] = {0};
    cr_assert_eq(dl_bloom_add(e, NULL, "", 0, "1970", 4, f), 0);
    cr_assert_eq(dl_popcount_words(f, 16), 0);
    dl_bloom_enc_free(e);
}

Test(bloom, record_level_clk_is_union_of_fields)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *given = enc_new(key1, &o), *sur = enc_new(key2, &o);
    uint64_t clk[16] = {0}, g[16], s[16];
    dl_bloom_add(given, NULL, "DAFYDD", 6, NULL, 0, clk);
    dl_bloom_add(sur, NULL, "DAVIES", 6, NULL, 0, clk);
    encode(given, NULL, "DAFYDD", NULL, g);
    encode(sur, NULL, "DAVIES", NULL, s);
    for (int i = 0; i < 16; i++)
        cr_assert_eq(clk[i], g[i] | s[i]);
    dl_bloom_enc_free(given);
    dl_bloom_enc_free(sur);
}

Test(bloom, salting_changes_filters)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *e = enc_new(key1, &o);
    uint64_t none[16], y70[16], y71[16], y70b[16];
    encode(e, NULL, "ELERI", NULL, none);
    encode(e, NULL, "ELERI", "1970", y70);
    encode(e, NULL, "ELERI", "1971", y71);
    encode(e, NULL, "ELERI", "1970", y70b);
    cr_assert(memcmp(y70, y70b, sizeof y70) == 0);
    cr_assert_lt(dl_dice(none, y70, 16), 0.35);
    cr_assert_lt(dl_dice(y70, y71, 16), 0.35);
    /* An empty salt is no salt. */
    uint64_t empty[16] = {0};
    dl_bloom_add(e, NULL, "ELERI", 5, "", 0, empty);
    cr_assert(memcmp(none, empty, sizeof none) == 0);
    dl_bloom_enc_free(e);
}

Test(bloom, out_bits_follows_hardening)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    cr_assert_eq(dl_bloom_out_bits(&o), 1024);
    o.balance = true;
    cr_assert_eq(dl_bloom_out_bits(&o), 2048);
    o.xor_folds = 1;
    cr_assert_eq(dl_bloom_out_bits(&o), 1024);
    o.xor_folds = 5;
    cr_assert_eq(dl_bloom_out_bits(&o), 64);
    o.xor_folds = 6;
    cr_assert_eq(dl_bloom_out_bits(&o), 0);
    o.balance = false;
    o.xor_folds = 2;
    cr_assert_eq(dl_bloom_out_bits(&o), 256);
    o.bits = 192; /* 3 words cannot be halved */
    o.xor_folds = 1;
    cr_assert_eq(dl_bloom_out_bits(&o), 0);
    cr_assert_eq(dl_bloom_out_bits(NULL), 0);
}

Test(bloom, no_hardening_copies)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *e = enc_new(key1, &o);
    uint64_t f[16], out[16];
    encode(e, NULL, "RHIANNON", NULL, f);
    dl_bloom_finish(e, f, out);
    cr_assert(memcmp(f, out, sizeof f) == 0);
    dl_bloom_enc_free(e);
}

Test(bloom, folding_halves_the_length)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    o.xor_folds = 1;
    dl_bloom_enc *e = enc_new(key1, &o);
    uint64_t f[16], out[8];
    encode(e, NULL, "RHIANNON", NULL, f);
    dl_bloom_finish(e, f, out);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(out[i], f[i] ^ f[i + 8]);
    dl_bloom_enc_free(e);
    /* Two folds, and in place. */
    o.xor_folds = 2;
    e = enc_new(key1, &o);
    uint64_t g[16];
    memcpy(g, f, sizeof f);
    dl_bloom_finish(e, g, g);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(g[i], f[i] ^ f[i + 4] ^ f[i + 8] ^ f[i + 12]);
    dl_bloom_enc_free(e);
}

Test(bloom, balancing_sets_exactly_half_and_is_deterministic)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    o.balance = true;
    dl_bloom_enc *e = enc_new(key1, &o), *same = enc_new(key1, &o), *other = enc_new(key2, &o);
    const char *names[] = {"", "A", "SIAN", "GWENLLIAN", "AP RHYS ANWYL PRITCHARD"};
    for (size_t n = 0; n < 5; n++) {
        uint64_t f[16], a[32], b[32], c[32];
        encode(e, NULL, names[n], NULL, f);
        dl_bloom_finish(e, f, a);
        dl_bloom_finish(same, f, b);
        dl_bloom_finish(other, f, c);
        cr_assert_eq(dl_popcount_words(a, 32), 1024, "%s", names[n]);
        cr_assert_eq(dl_popcount_words(c, 32), 1024);
        cr_assert(memcmp(a, b, sizeof a) == 0);
        cr_assert(memcmp(a, c, sizeof a) != 0, "the permutation depends on the key");
        /* A permutation, not a plain concatenation of filter and complement. */
        cr_assert(memcmp(a, f, sizeof f) != 0);
    }
    dl_bloom_enc_free(e);
    dl_bloom_enc_free(same);
    dl_bloom_enc_free(other);
}

Test(bloom, balanced_similarity_is_kept)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    o.balance = true;
    dl_bloom_enc *e = enc_new(key1, &o);
    uint64_t f[16], g[16], a[32], b[32];
    encode(e, NULL, "SMITH", NULL, f);
    encode(e, NULL, "SMYTH", NULL, g);
    dl_bloom_finish(e, f, a);
    dl_bloom_finish(e, g, b);
    /* Bits differ at the same positions before and after: matching 0s now
     * count too, so Dice rises, but stays below 1. */
    uint64_t differ = 0;
    for (int i = 0; i < 16; i++)
        differ += (uint64_t)__builtin_popcountll(f[i] ^ g[i]);
    cr_assert_eq(2048 - 2 * dl_popcount_and_words(a, b, 32), 2 * differ);
    cr_assert_lt(dl_dice(a, b, 32), 1.0);
    dl_bloom_enc_free(e);
}

Test(bloom, balanced_then_folded_equals_folds_of_balanced)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    o.balance = true;
    dl_bloom_enc *plain = enc_new(key2, &o);
    o.xor_folds = 2;
    dl_bloom_enc *folded = enc_new(key2, &o);
    uint64_t f[16], full[32], out[8];
    encode(plain, NULL, "LLEWELLYN", NULL, f);
    dl_bloom_finish(plain, f, full);
    dl_bloom_finish(folded, f, out);
    for (int i = 0; i < 8; i++)
        cr_assert_eq(out[i], full[i] ^ full[i + 8] ^ full[i + 16] ^ full[i + 24]);
    dl_bloom_enc_free(plain);
    dl_bloom_enc_free(folded);
}

Test(bloom, dice_of_known_counts)
{
    uint64_t a[2] = {0xB, 0}, b[2] = {0x3, 0}, z[2] = {0, 0};
    cr_assert_eq(dl_popcount_words(a, 2), 3);
    cr_assert_eq(dl_popcount_and_words(a, b, 2), 2);
    cr_assert_eq(dl_dice(a, b, 2), 0.8); /* 2*2 / (3+2) */
    cr_assert_eq(dl_dice(a, a, 2), 1.0);
    cr_assert_eq(dl_dice(z, z, 2), 0.0); /* both empty: defined as 0 */
    cr_assert_eq(dl_dice(a, z, 2), 0.0);
    uint64_t full[2] = {~(uint64_t)0, ~(uint64_t)0};
    cr_assert_eq(dl_popcount_words(full, 2), 128);
    cr_assert_eq(dl_dice(full, b, 2), 4.0 / 130.0);
}

Test(bloom, bytes_are_little_endian_bit_order)
{
    uint64_t w[2] = {(uint64_t)1 | (uint64_t)1 << 9, (uint64_t)1 << 63}, back[2];
    uint8_t bytes[16];
    dl_bloom_to_bytes(w, 2, bytes);
    cr_assert_eq(bytes[0], 0x01);
    cr_assert_eq(bytes[1], 0x02);
    cr_assert_eq(bytes[15], 0x80);
    for (int i = 2; i < 15; i++)
        cr_assert_eq(bytes[i], 0);
    dl_bloom_from_bytes(bytes, 2, back);
    cr_assert(memcmp(w, back, sizeof w) == 0);
}

static void expect_bad(dl_bloom_opts o, const char *fragment)
{
    dl_bloom_enc *e = (dl_bloom_enc *)1;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_bloom_enc_new(key1, &o, &e, &err), DL_EUSAGE, "%s", fragment);
    cr_assert_null(e);
    cr_assert_eq(err.code, DL_EUSAGE);
    cr_assert_eq(err.line, 0);
    cr_assert_eq(err.col, 0);
    cr_assert_str_eq(err.file, "");
    cr_assert(strstr(err.msg, fragment) != NULL, "message '%s' lacks '%s'", err.msg, fragment);
}

Test(bloom, bad_q)
{
    expect_bad(opts(0, 1024, 20, true), "bloom q 0 is out of range (expected 1..8)");
    expect_bad(opts(9, 1024, 20, true), "bloom q 9 is out of range");
}

Test(bloom, bad_k)
{
    expect_bad(opts(2, 1024, 0, true), "bloom k 0 is out of range (expected 1..64)");
    expect_bad(opts(2, 1024, 65, true), "bloom k 65");
}

Test(bloom, bad_bits)
{
    expect_bad(opts(2, 1000, 20, true), "bloom bits 1000 is not allowed (expected 64..65536");
    expect_bad(opts(2, 0, 20, true), "bloom bits 0 ");
    expect_bad(opts(2, 65600, 20, true), "bloom bits 65600 ");
}

Test(bloom, bad_xor_folds)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    o.xor_folds = 5;
    expect_bad(o, "bloom xor_folds 5 leaves no whole 64-bit words of a 1024-bit filter "
                  "(expected at most 4 folds)");
    o.balance = true;
    o.xor_folds = 17;
    expect_bad(o, "1024-bit balanced filter (expected at most 5 folds)");
}

Test(bloom, cache_keeps_salts_with_trailing_zero_bytes_apart)
{
    /* Cache keys are zero-padded: "19" and "19\0" must still differ. */
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *e = enc_new(key1, &o);
    dl_bloom_cache *c = dl_bloom_cache_new(e, 0, NULL);
    uint64_t a[16] = {0}, b[16] = {0}, want[16];
    dl_bloom_add(e, c, "EMRYS", 5, "19", 2, a);
    dl_bloom_add(e, c, "EMRYS", 5, "19\0", 3, b);
    ref_filter(key1, &o, "EMRYS", 5, "19\0", 3, want);
    cr_assert(memcmp(b, want, sizeof b) == 0);
    cr_assert(memcmp(a, b, sizeof a) != 0);
    dl_bloom_cache_free(c);
    dl_bloom_enc_free(e);
}

Test(bloom, popcount_kernels_agree)
{
    uint64_t a[32], b[32];
    for (int round = 0; round < 200; round++) {
        for (int i = 0; i < 32; i++) {
            a[i] = (uint64_t)rnd() << 32 | rnd();
            b[i] = (uint64_t)rnd() << 32 | rnd();
            if (round % 4 == 0)
                a[i] &= b[i];
        }
        size_t words = 1 + (size_t)round % 32;
        uint64_t na = 0, nab = 0;
        for (size_t i = 0; i < words * 64; i++) {
            na += (a[i / 64] >> (i % 64)) & 1;
            nab += (a[i / 64] & b[i / 64]) >> (i % 64) & 1;
        }
        cr_assert_eq(dl_popcount_words(a, words), na);
        cr_assert_eq(dl_popcount_and_words(a, b, words), nab);
        cr_assert_eq(dl_dice(a, b, words), dl__dice_portable(a, b, words), "%s",
                     dl__popcount_impl());
    }
}

Test(bloom, dice_counted_equals_dice)
{
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *e = enc_new(key1, &o);
    uint64_t f[16], g[16], z[16] = {0};
    encode(e, NULL, "CERIDWEN", NULL, f);
    encode(e, NULL, "CERIDWYN", NULL, g);
    uint64_t nf = dl_popcount_words(f, 16), ng = dl_popcount_words(g, 16);
    cr_assert_eq(dl_dice_counted(f, g, 16, nf, ng), dl_dice(f, g, 16));
    cr_assert_neq(dl_dice_counted(f, g, 16, nf, ng), dl_dice_counted(f, g, 16, nf + 9, ng));
    cr_assert_eq(dl_dice_counted(z, z, 16, 0, 0), 0.0);
    dl_bloom_enc_free(e);
}
