/* hmac.c: SHA-256 compression (SHA-NI or portable), HMAC with precomputed
 * key states, keyed 64-bit tokens and HKDF. Part of hashing/; prepare's hot
 * path: a token of a short value costs two compressions and no allocation. */
#include <openssl/crypto.h>
#include <string.h>

#include "dolen/hmac.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DL_HMAC_X86 1
#include <cpuid.h>
#include <immintrin.h>
#endif

/* FIPS 180-4, section 4.2.2: the first 32 bits of the fractional parts of the
 * cube roots of the first 64 primes. */
static const uint32_t K256[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
    0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
    0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
    0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
    0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
    0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
    0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
    0xc67178f2,
};

/* FIPS 180-4, section 5.3.3: the initial hash value. */
static const uint32_t IV256[8] = {
    0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19,
};

static inline uint32_t rotr(uint32_t x, unsigned n)
{
    return (x >> n) | (x << (32 - n));
}

static inline uint32_t load_be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void store_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The portable compression, FIPS 180-4 section 6.2.2, with the message
 * schedule kept in a 16-word ring instead of 64 words. */
static void compress_portable(uint32_t st[8], const uint8_t *p, size_t n)
{
    for (; n; n--, p += 64) {
        uint32_t w[16];
        uint32_t a = st[0], b = st[1], c = st[2], d = st[3];
        uint32_t e = st[4], f = st[5], g = st[6], h = st[7];
        for (int t = 0; t < 64; t++) {
            uint32_t wt;
            if (t < 16) {
                wt = w[t] = load_be32(p + 4 * t);
            } else {
                uint32_t w15 = w[(t - 15) & 15], w2 = w[(t - 2) & 15];
                uint32_t s0 = rotr(w15, 7) ^ rotr(w15, 18) ^ (w15 >> 3);
                uint32_t s1 = rotr(w2, 17) ^ rotr(w2, 19) ^ (w2 >> 10);
                wt = w[t & 15] = w[t & 15] + s0 + w[(t - 7) & 15] + s1;
            }
            uint32_t t1 = h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) +
                          ((e & f) ^ (~e & g)) + K256[t] + wt;
            uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) +
                          ((a & b) ^ (a & c) ^ (b & c));
            h = g;
            g = f;
            f = e;
            e = d + t1;
            d = c;
            c = b;
            b = a;
            a = t1 + t2;
        }
        st[0] += a;
        st[1] += b;
        st[2] += c;
        st[3] += d;
        st[4] += e;
        st[5] += f;
        st[6] += g;
        st[7] += h;
    }
}

#ifdef DL_HMAC_X86
/* The same compression with the x86 SHA extensions (Intel, "New
 * Instructions Supporting the Secure Hash Algorithm on Intel Architecture
 * Processors", 2013). sha256rnds2 does two rounds on the state split as
 * (A,B,E,F) and (C,D,G,H); sha256msg1/msg2 compute the message schedule four
 * words at a time. Chosen at run time, so the binary runs on any x86-64. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
compress_shani(uint32_t st[8], const uint8_t *p, size_t n)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    /* Rearrange (A,B,C,D),(E,F,G,H) into the (A,B,E,F),(C,D,G,H) layout. */
    __m128i t = _mm_loadu_si128((const __m128i *)(const void *)&st[0]);
    __m128i s1 = _mm_loadu_si128((const __m128i *)(const void *)&st[4]);
    t = _mm_shuffle_epi32(t, 0xB1);
    s1 = _mm_shuffle_epi32(s1, 0x1B);
    __m128i s0 = _mm_alignr_epi8(t, s1, 8);
    s1 = _mm_blend_epi16(s1, t, 0xF0);

    for (; n; n--, p += 64) {
        const __m128i save0 = s0, save1 = s1;
        __m128i w[4];
        for (int g = 0; g < 16; g++) {
            __m128i cur;
            if (g < 4) {
                cur = _mm_shuffle_epi8(
                    _mm_loadu_si128((const __m128i *)(const void *)(p + 16 * g)), bswap);
            } else {
                /* W[t..t+3] from W[t-16..t-1]: msg1 adds sigma0 terms, the
                 * alignr picks W[t-7..t-4], msg2 adds the sigma1 terms. */
                cur = _mm_sha256msg1_epu32(w[g & 3], w[(g + 1) & 3]);
                cur = _mm_add_epi32(cur, _mm_alignr_epi8(w[(g + 3) & 3], w[(g + 2) & 3], 4));
                cur = _mm_sha256msg2_epu32(cur, w[(g + 3) & 3]);
            }
            w[g & 3] = cur;
            __m128i m = _mm_add_epi32(
                cur, _mm_loadu_si128((const __m128i *)(const void *)&K256[4 * g]));
            s1 = _mm_sha256rnds2_epu32(s1, s0, m);
            m = _mm_shuffle_epi32(m, 0x0E);
            s0 = _mm_sha256rnds2_epu32(s0, s1, m);
        }
        s0 = _mm_add_epi32(s0, save0);
        s1 = _mm_add_epi32(s1, save1);
    }

    t = _mm_shuffle_epi32(s0, 0x1B);
    s1 = _mm_shuffle_epi32(s1, 0xB1);
    s0 = _mm_blend_epi16(t, s1, 0xF0);
    s1 = _mm_alignr_epi8(s1, t, 8);
    _mm_storeu_si128((__m128i *)(void *)&st[0], s0);
    _mm_storeu_si128((__m128i *)(void *)&st[4], s1);
}
/* Two independent one-block compressions with their rounds interleaved.
 * sha256rnds2 has a latency of several cycles and each round waits for the
 * one before, so a single message leaves the SHA unit idle most of the
 * time; a second message fills those cycles and two cost little more than
 * one. The steps are those of compress_shani(), done for A and then for B. */
__attribute__((target("sha,sse4.1,ssse3"))) static void
compress2_shani(uint32_t sta[8], const uint8_t *pa, uint32_t stb[8], const uint8_t *pb)
{
    const __m128i bswap = _mm_set_epi64x(0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
    __m128i a0, a1, b0, b1, t;
    t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&sta[0]), 0xB1);
    a1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&sta[4]), 0x1B);
    a0 = _mm_alignr_epi8(t, a1, 8);
    a1 = _mm_blend_epi16(a1, t, 0xF0);
    t = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&stb[0]), 0xB1);
    b1 = _mm_shuffle_epi32(_mm_loadu_si128((const __m128i *)(const void *)&stb[4]), 0x1B);
    b0 = _mm_alignr_epi8(t, b1, 8);
    b1 = _mm_blend_epi16(b1, t, 0xF0);
    const __m128i sa0 = a0, sa1 = a1, sb0 = b0, sb1 = b1;
    __m128i wa[4], wb[4];
    for (int g = 0; g < 16; g++) {
        __m128i ca, cb;
        if (g < 4) {
            ca = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(pa + 16 * g)),
                                  bswap);
            cb = _mm_shuffle_epi8(_mm_loadu_si128((const __m128i *)(const void *)(pb + 16 * g)),
                                  bswap);
        } else {
            ca = _mm_sha256msg1_epu32(wa[g & 3], wa[(g + 1) & 3]);
            cb = _mm_sha256msg1_epu32(wb[g & 3], wb[(g + 1) & 3]);
            ca = _mm_add_epi32(ca, _mm_alignr_epi8(wa[(g + 3) & 3], wa[(g + 2) & 3], 4));
            cb = _mm_add_epi32(cb, _mm_alignr_epi8(wb[(g + 3) & 3], wb[(g + 2) & 3], 4));
            ca = _mm_sha256msg2_epu32(ca, wa[(g + 3) & 3]);
            cb = _mm_sha256msg2_epu32(cb, wb[(g + 3) & 3]);
        }
        wa[g & 3] = ca;
        wb[g & 3] = cb;
        const __m128i k = _mm_loadu_si128((const __m128i *)(const void *)&K256[4 * g]);
        __m128i ma = _mm_add_epi32(ca, k), mb = _mm_add_epi32(cb, k);
        a1 = _mm_sha256rnds2_epu32(a1, a0, ma);
        b1 = _mm_sha256rnds2_epu32(b1, b0, mb);
        ma = _mm_shuffle_epi32(ma, 0x0E);
        mb = _mm_shuffle_epi32(mb, 0x0E);
        a0 = _mm_sha256rnds2_epu32(a0, a1, ma);
        b0 = _mm_sha256rnds2_epu32(b0, b1, mb);
    }
    a0 = _mm_add_epi32(a0, sa0);
    a1 = _mm_add_epi32(a1, sa1);
    b0 = _mm_add_epi32(b0, sb0);
    b1 = _mm_add_epi32(b1, sb1);
    t = _mm_shuffle_epi32(a0, 0x1B);
    a1 = _mm_shuffle_epi32(a1, 0xB1);
    _mm_storeu_si128((__m128i *)(void *)&sta[0], _mm_blend_epi16(t, a1, 0xF0));
    _mm_storeu_si128((__m128i *)(void *)&sta[4], _mm_alignr_epi8(a1, t, 8));
    t = _mm_shuffle_epi32(b0, 0x1B);
    b1 = _mm_shuffle_epi32(b1, 0xB1);
    _mm_storeu_si128((__m128i *)(void *)&stb[0], _mm_blend_epi16(t, b1, 0xF0));
    _mm_storeu_si128((__m128i *)(void *)&stb[4], _mm_alignr_epi8(b1, t, 8));
}
#endif

bool dl__hmac_have_shani(void)
{
#ifdef DL_HMAC_X86
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return false;
    bool sse41 = c & (1u << 19), ssse3 = c & (1u << 9);
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d))
        return false;
    return sse41 && ssse3 && (b & (1u << 29));
#else
    return false;
#endif
}

typedef void (*compress_fn)(uint32_t st[8], const uint8_t *p, size_t n);

static compress_fn pick_compress(void)
{
#ifdef DL_HMAC_X86
    if (dl__hmac_have_shani())
        return compress_shani;
#endif
    return compress_portable;
}

/* Hash the last LEN (< 64) bytes at P of a message of TOTAL bytes into ST:
 * append 0x80, zeros and the bit length (FIPS 180-4 section 5.1.1). */
static void finish(compress_fn f, uint32_t st[8], const uint8_t *p, size_t len,
                   uint64_t total)
{
    uint8_t block[128];
    memcpy(block, p, len);
    block[len] = 0x80;
    size_t nblocks = len < 56 ? 1 : 2;
    size_t end = nblocks * 64;
    memset(block + len + 1, 0, end - 8 - (len + 1));
    uint64_t bits = total * 8;
    store_be32(block + end - 8, (uint32_t)(bits >> 32));
    store_be32(block + end - 4, (uint32_t)bits);
    f(st, block, nblocks);
}

static void init_with(dl_hmac_key *k, const uint8_t *key, size_t len, compress_fn f)
{
    uint8_t block[64], hashed[32];
    memset(block, 0, sizeof block);
    if (len > 64) {
        /* RFC 2104, section 2: a key longer than the block is hashed first. */
        uint32_t st[8];
        memcpy(st, IV256, sizeof st);
        f(st, key, len / 64);
        finish(f, st, key + len / 64 * 64, len % 64, len);
        for (int i = 0; i < 8; i++)
            store_be32(hashed + 4 * i, st[i]);
        memcpy(block, hashed, 32);
        OPENSSL_cleanse(st, sizeof st);
    } else if (len) {
        memcpy(block, key, len);
    }
    for (int i = 0; i < 64; i++)
        block[i] ^= 0x36;
    memcpy(k->inner, IV256, sizeof k->inner);
    f(k->inner, block, 1);
    for (int i = 0; i < 64; i++)
        block[i] ^= 0x36 ^ 0x5c;
    memcpy(k->outer, IV256, sizeof k->outer);
    f(k->outer, block, 1);
    k->compress = f;
    OPENSSL_cleanse(block, sizeof block);
    OPENSSL_cleanse(hashed, sizeof hashed);
}

void dl_hmac_init(dl_hmac_key *k, const uint8_t *key, size_t len)
{
    init_with(k, key, len, pick_compress());
}

void dl__hmac_init_portable(dl_hmac_key *k, const uint8_t *key, size_t len)
{
    init_with(k, key, len, compress_portable);
}

/* The outer hash over the 32-byte inner digest held as state words: one
 * block of 32 digest bytes, padding and the length of 64 + 32 bytes. */
static void outer_hash(const dl_hmac_key *k, const uint32_t inner[8], uint32_t st[8])
{
    uint8_t block[64];
    for (int i = 0; i < 8; i++)
        store_be32(block + 4 * i, inner[i]);
    block[32] = 0x80;
    memset(block + 33, 0, 64 - 33 - 2);
    block[62] = (uint8_t)((96 * 8) >> 8);
    block[63] = (uint8_t)(96 * 8);
    memcpy(st, k->outer, 32);
    k->compress(st, block, 1);
}

static void hmac_words(const dl_hmac_key *k, const void *msg, size_t len, uint32_t out[8])
{
    static const uint8_t empty[1];
    const uint8_t *p = len ? msg : empty; /* MSG may be NULL when LEN is 0 */
    uint32_t st[8];
    memcpy(st, k->inner, sizeof st);
    size_t full = len / 64;
    if (full)
        k->compress(st, p, full);
    finish(k->compress, st, p + full * 64, len % 64, 64 + (uint64_t)len);
    outer_hash(k, st, out);
}

void dl_hmac(const dl_hmac_key *k, const void *msg, size_t len, uint8_t out[32])
{
    uint32_t st[8];
    hmac_words(k, msg, len, st);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, st[i]);
}

uint64_t dl_hmac_token(const dl_hmac_key *k, const void *msg, size_t len)
{
    uint32_t st[8];
    hmac_words(k, msg, len, st);
    /* The state words are the digest's big-endian words already. */
    uint64_t t = (uint64_t)st[0] << 32 | st[1];
    return t ? t : 1;
}

/* One SHA-256 block of a message of LEN (<= 55) bytes that follows the
 * 64-byte key block: the bytes, 0x80, zeros and the bit length 8 * (64 + LEN). */
static void inner_block(const uint8_t *msg, size_t len, uint8_t block[64])
{
    if (len)
        memcpy(block, msg, len);
    block[len] = 0x80;
    memset(block + len + 1, 0, 64 - 8 - (len + 1));
    uint64_t bits = (64 + (uint64_t)len) * 8;
    store_be32(block + 56, (uint32_t)(bits >> 32));
    store_be32(block + 60, (uint32_t)bits);
}

/* The outer block over a 32-byte inner digest held as state words. */
static void outer_block(const uint32_t inner[8], uint8_t block[64])
{
    for (int i = 0; i < 8; i++)
        store_be32(block + 4 * i, inner[i]);
    block[32] = 0x80;
    memset(block + 33, 0, 64 - 33 - 2);
    block[62] = (uint8_t)((96 * 8) >> 8);
    block[63] = (uint8_t)(96 * 8);
}

static uint64_t token_of_state(const uint32_t st[8])
{
    uint64_t t = (uint64_t)st[0] << 32 | st[1];
    return t ? t : 1;
}

void dl_hmac_token2(const dl_hmac_key *ka, const void *ma, size_t la, const dl_hmac_key *kb,
                    const void *mb, size_t lb, uint64_t out[2])
{
#ifdef DL_HMAC_X86
    if (la <= DL_HMAC_TOKEN2_MAX && lb <= DL_HMAC_TOKEN2_MAX && ka->compress == compress_shani &&
        kb->compress == compress_shani) {
        uint8_t ba[64], bb[64];
        uint32_t sa[8], sb[8];
        inner_block(ma, la, ba);
        inner_block(mb, lb, bb);
        memcpy(sa, ka->inner, sizeof sa);
        memcpy(sb, kb->inner, sizeof sb);
        compress2_shani(sa, ba, sb, bb);
        outer_block(sa, ba);
        outer_block(sb, bb);
        memcpy(sa, ka->outer, sizeof sa);
        memcpy(sb, kb->outer, sizeof sb);
        compress2_shani(sa, ba, sb, bb);
        out[0] = token_of_state(sa);
        out[1] = token_of_state(sb);
        return;
    }
#endif
    out[0] = dl_hmac_token(ka, ma, la);
    out[1] = dl_hmac_token(kb, mb, lb);
}

void dl_hmac_key_cleanse(dl_hmac_key *k)
{
    if (k)
        OPENSSL_cleanse(k, sizeof *k);
}

void dl_hmac_begin(dl_hmac_ctx *c, const dl_hmac_key *k)
{
    c->key = k;
    memcpy(c->h, k->inner, sizeof c->h);
    c->total = 64;
    c->nbuf = 0;
}

void dl_hmac_update(dl_hmac_ctx *c, const void *msg, size_t len)
{
    const uint8_t *p = msg;
    if (!len)
        return;
    c->total += len;
    if (c->nbuf) {
        size_t take = 64 - c->nbuf < len ? 64 - c->nbuf : len;
        memcpy(c->buf + c->nbuf, p, take);
        c->nbuf += take;
        p += take;
        len -= take;
        if (c->nbuf < 64)
            return;
        c->key->compress(c->h, c->buf, 1);
        c->nbuf = 0;
    }
    if (len >= 64) {
        c->key->compress(c->h, p, len / 64);
        p += len / 64 * 64;
        len %= 64;
    }
    if (len) {
        memcpy(c->buf, p, len);
        c->nbuf = len;
    }
}

void dl_hmac_end(dl_hmac_ctx *c, uint8_t out[32])
{
    uint32_t st[8];
    finish(c->key->compress, c->h, c->buf, c->nbuf, c->total);
    outer_hash(c->key, c->h, st);
    for (int i = 0; i < 8; i++)
        store_be32(out + 4 * i, st[i]);
    OPENSSL_cleanse(c, sizeof *c);
    OPENSSL_cleanse(st, sizeof st);
}

bool dl_hkdf_sha256(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
                    const uint8_t *info, size_t infolen, uint8_t *out, size_t outlen)
{
    if (outlen > 255 * 32)
        return false;
    static const uint8_t zeros[32];
    dl_hmac_key k;
    uint8_t prk[32], t[32];
    /* RFC 5869 section 2.2: PRK = HMAC-Hash(salt, IKM); no salt = HashLen zeros. */
    if (saltlen)
        dl_hmac_init(&k, salt, saltlen);
    else
        dl_hmac_init(&k, zeros, sizeof zeros);
    dl_hmac(&k, ikm, ikmlen, prk);
    /* Section 2.3: T(i) = HMAC-Hash(PRK, T(i-1) | info | i), T(0) empty. */
    dl_hmac_init(&k, prk, sizeof prk);
    size_t done = 0;
    for (unsigned i = 1; done < outlen; i++) {
        dl_hmac_ctx c;
        uint8_t ctr = (uint8_t)i;
        dl_hmac_begin(&c, &k);
        if (i > 1)
            dl_hmac_update(&c, t, sizeof t);
        if (infolen)
            dl_hmac_update(&c, info, infolen);
        dl_hmac_update(&c, &ctr, 1);
        dl_hmac_end(&c, t);
        size_t take = outlen - done < 32 ? outlen - done : 32;
        memcpy(out + done, t, take);
        done += take;
    }
    dl_hmac_key_cleanse(&k);
    OPENSSL_cleanse(prk, sizeof prk);
    OPENSSL_cleanse(t, sizeof t);
    return true;
}
