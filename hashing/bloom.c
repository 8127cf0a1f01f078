/* bloom.c: Bloom-filter encodings of q-grams, their hardening, and Dice.
 * Part of hashing/: prepare encodes fuzzy string fields here; link compares. */
#include <assert.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dolen/mix.h"
#include "dolen/bloom.h"
#include "dolen/hmac.h"

/* Positions: "random hashing". One MAC of the q-gram gives 256 pseudo-random
 * bits, read as k chunks of B bits, each chunk one position; more MAC blocks
 * (counter j) are taken only when k*B > 256. The usual CLK construction
 * (Schnell, Bachteler, Reiher 2009) uses double hashing, position_i =
 * h1 + i*h2 mod bits (Kirsch & Mitzenmacher 2006): its k positions form an
 * arithmetic progression fixed by two numbers, a structure Niedermeyer et al.
 * (2014) exploited to find each bigram's footprint in a filter. With
 * independent chunks the k positions of a q-gram carry no such pattern; with
 * the default (bits 1024, B 10, k 20) it costs the same single MAC.
 *
 * MAC message of block j: [j][gram length][gram bytes][salt bytes]. The gram
 * length byte keeps a short gram plus salt apart from a longer gram with a
 * shorter salt ("A"+"B1" vs "AB"+"1"). Block indexes stay below 8, so the
 * balancing stream's messages, which start with 0xFF, never collide with a
 * q-gram's. */

#define MAX_BLOCKS 8         /* k*B <= 64*32 bits = 8 MAC blocks */
#define KEY_BYTES 32         /* cacheable [len][gram][salt] */
#define DEFAULT_ENTRIES 8192 /* bigrams of names (~750), with room for salts */

struct dl_bloom_enc {
    dl_hmac_key key;
    dl_bloom_opts o;
    unsigned chunk_bits; /* B: log2(bits) when a power of two, else ceil+16 */
    unsigned blocks;     /* MAC blocks per q-gram: ceil(k*B / 256) */
    size_t words;        /* bits / 64 */
    size_t out_bits;
    uint32_t *dest; /* balance: for the 2*bits positions, target mod out_bits */
    uint64_t *base; /* balance: the finished form of the empty filter */
};

struct dl_bloom_cache {
    const dl_bloom_enc *enc;
    size_t mask;     /* slots - 1 */
    size_t count;    /* occupied slots */
    size_t capacity; /* occupied slots allowed before the table is emptied */
    uint64_t (*keys)[4];
    uint8_t *klen;   /* 0: empty slot */
    uint16_t *pos;   /* k positions per slot */
    uint64_t hits, misses;
};

static bool is_pow2(size_t x)
{
    return x && !(x & (x - 1));
}

static unsigned ceil_log2(size_t x)
{
    unsigned b = 0;
    while (((size_t)1 << b) < x)
        b++;
    return b;
}

/* A chunk of B bits maps to (chunk * bits) >> B: exactly uniform when bits is
 * 2^B, and within a relative 2^-16 of uniform otherwise, because B then has
 * 16 bits to spare. */
static unsigned chunk_bits_for(size_t bits)
{
    unsigned b = ceil_log2(bits);
    return is_pow2(bits) ? b : b + 16;
}

size_t dl_bloom_out_bits(const dl_bloom_opts *o)
{
    if (!o || o->q < 1 || o->q > DL_BLOOM_MAX_Q || o->k < 1 || o->k > DL_BLOOM_MAX_K ||
        o->bits < 64 || o->bits > DL_BLOOM_MAX_BITS || o->bits % 64 != 0 || o->xor_folds > 16)
        return 0;
    size_t n = (size_t)o->bits * (o->balance ? 2 : 1);
    size_t unit = (size_t)64 << o->xor_folds;
    if (n % unit != 0)
        return 0;
    return n >> o->xor_folds;
}

static dl_status bad_opts(dl_error *err, const dl_bloom_opts *o)
{
    if (o->q < 1 || o->q > DL_BLOOM_MAX_Q)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "bloom q %u is out of range (expected 1..%d)", o->q, DL_BLOOM_MAX_Q);
    if (o->k < 1 || o->k > DL_BLOOM_MAX_K)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "bloom k %u is out of range (expected 1..%d)", o->k, DL_BLOOM_MAX_K);
    if (o->bits < 64 || o->bits > DL_BLOOM_MAX_BITS || o->bits % 64 != 0)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "bloom bits %u is not allowed (expected 64..%d in steps of 64)",
                            o->bits, DL_BLOOM_MAX_BITS);
    /* Each fold halves the words, so at most as many folds as 2 divides them. */
    size_t words = (size_t)o->bits * (o->balance ? 2 : 1) / 64;
    unsigned max_folds = 0;
    while (words % 2 == 0) {
        words /= 2;
        max_folds++;
    }
    return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                        "bloom xor_folds %u leaves no whole 64-bit words of a %u-bit%s filter "
                        "(expected at most %u folds)",
                        o->xor_folds, o->bits, o->balance ? " balanced" : "", max_folds);
}

/* A keyed pseudo-random stream of 32-bit words for the balancing permutation:
 * HMAC(key, 0xFF "balance" counter) blocks, read big-endian. */
typedef struct {
    const dl_hmac_key *key;
    uint32_t counter;
    uint8_t block[32];
    unsigned used; /* bytes of block consumed */
} perm_stream;

static uint32_t stream_u32(perm_stream *s)
{
    if (s->used == sizeof s->block) {
        uint8_t msg[12] = {0xFF, 'b', 'a', 'l', 'a', 'n', 'c', 'e'};
        msg[8] = (uint8_t)(s->counter >> 24);
        msg[9] = (uint8_t)(s->counter >> 16);
        msg[10] = (uint8_t)(s->counter >> 8);
        msg[11] = (uint8_t)s->counter;
        s->counter++;
        dl_hmac(s->key, msg, sizeof msg, s->block);
        s->used = 0;
    }
    const uint8_t *p = s->block + s->used;
    s->used += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Uniform in [0, n) without modulo bias: Lemire's multiply-shift with
 * rejection ("Fast random integer generation in an interval", 2019). */
static uint32_t stream_below(perm_stream *s, uint32_t n)
{
    uint64_t m = (uint64_t)stream_u32(s) * n;
    uint32_t low = (uint32_t)m;
    if (low < n) {
        uint32_t threshold = (uint32_t)(-n) % n;
        while (low < threshold) {
            m = (uint64_t)stream_u32(s) * n;
            low = (uint32_t)m;
        }
    }
    return (uint32_t)(m >> 32);
}

/* Fisher-Yates over the 2*bits positions of a balanced filter, fixed by the
 * key so every custodian holding it permutes alike; then reduced modulo the
 * finished length, which folds in the same pass (see dl_bloom_finish). */
static dl_status make_dest(dl_bloom_enc *e, dl_error *err)
{
    size_t n = (size_t)e->o.bits * 2;
    e->dest = malloc(n * sizeof *e->dest);
    if (!e->dest)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory for a bloom balancing permutation (%zu bytes)",
                            n * sizeof *e->dest);
    for (size_t i = 0; i < n; i++)
        e->dest[i] = (uint32_t)i;
    perm_stream s = {&e->key, 0, {0}, 32};
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = stream_below(&s, (uint32_t)(i + 1));
        uint32_t t = e->dest[i];
        e->dest[i] = e->dest[j];
        e->dest[j] = t;
    }
    for (size_t i = 0; i < n; i++)
        e->dest[i] = (uint32_t)(e->dest[i] % e->out_bits);
    OPENSSL_cleanse(s.block, sizeof s.block);
    /* The empty filter balanced: every complement position set. A filter then
     * differs from it only at its own set bits, a sixth of them or fewer at
     * the defaults, so finishing costs per set bit, not per position. */
    e->base = calloc(e->out_bits / 64, sizeof *e->base);
    if (!e->base)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0,
                            "out of memory for a bloom balancing permutation");
    for (size_t i = 0; i < e->o.bits; i++) {
        uint32_t d = e->dest[e->o.bits + i];
        e->base[d >> 6] ^= (uint64_t)1 << (d & 63);
    }
    return DL_OK;
}

dl_status dl_bloom_enc_new(const uint8_t subkey[32], const dl_bloom_opts *o, dl_bloom_enc **out,
                           dl_error *err)
{
    *out = NULL;
    size_t out_bits = dl_bloom_out_bits(o);
    if (out_bits == 0)
        return bad_opts(err, o);
    dl_bloom_enc *e = calloc(1, sizeof *e);
    if (!e)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for a bloom encoder");
    dl_hmac_init(&e->key, subkey, 32);
    e->o = *o;
    e->o.salt_field = NULL;
    e->chunk_bits = chunk_bits_for(o->bits);
    e->blocks = (o->k * e->chunk_bits + 255) / 256;
    assert(e->blocks <= MAX_BLOCKS);
    e->words = o->bits / 64;
    e->out_bits = out_bits;
    if (o->balance) {
        dl_status s = make_dest(e, err);
        if (s != DL_OK) {
            dl_bloom_enc_free(e);
            return s;
        }
    }
    *out = e;
    return DL_OK;
}

void dl_bloom_enc_free(dl_bloom_enc *e)
{
    if (!e)
        return;
    if (e->dest) {
        OPENSSL_cleanse(e->dest, (size_t)e->o.bits * 2 * sizeof *e->dest);
        free(e->dest);
    }
    if (e->base) {
        OPENSSL_cleanse(e->base, e->out_bits / 8);
        free(e->base);
    }
    dl_hmac_key_cleanse(&e->key);
    OPENSSL_cleanse(e, sizeof *e);
    free(e);
}

const dl_bloom_opts *dl_bloom_enc_opts(const dl_bloom_enc *e)
{
    return &e->o;
}

/* The k positions of one q-gram, from MACs: the uncached path. */
static void gram_positions(const dl_bloom_enc *e, const uint8_t *gram, unsigned glen,
                           const uint8_t *salt, size_t salt_len, uint16_t *pos)
{
    uint8_t mac[MAX_BLOCKS * 32];
    uint8_t msg[2 + DL_BLOOM_MAX_Q + 64];
    bool inline_msg = salt_len <= 64;
    if (inline_msg) {
        msg[1] = (uint8_t)glen;
        memcpy(msg + 2, gram, glen);
        if (salt_len)
            memcpy(msg + 2 + glen, salt, salt_len);
    }
    for (unsigned j = 0; j < e->blocks; j++) {
        if (inline_msg) {
            msg[0] = (uint8_t)j;
            dl_hmac(&e->key, msg, 2 + glen + salt_len, mac + 32 * j);
        } else {
            /* A long salt: stream it rather than bound its length. */
            uint8_t head[2] = {(uint8_t)j, (uint8_t)glen};
            dl_hmac_ctx c;
            dl_hmac_begin(&c, &e->key);
            dl_hmac_update(&c, head, 2);
            dl_hmac_update(&c, gram, glen);
            dl_hmac_update(&c, salt, salt_len);
            dl_hmac_end(&c, mac + 32 * j);
        }
    }
    /* Read the MAC bytes as one big-endian bit stream, B bits a position. */
    const unsigned b = e->chunk_bits;
    const uint64_t mask = ((uint64_t)1 << b) - 1;
    const uint64_t bits = e->o.bits;
    uint64_t acc = 0;
    unsigned nacc = 0;
    const uint8_t *p = mac;
    for (unsigned i = 0; i < e->o.k; i++) {
        while (nacc < b) {
            acc = acc << 8 | *p++;
            nacc += 8;
        }
        uint64_t chunk = (acc >> (nacc - b)) & mask;
        nacc -= b;
        pos[i] = (uint16_t)((chunk * bits) >> b);
    }
    OPENSSL_cleanse(mac, sizeof mac);
}

dl_bloom_cache *dl_bloom_cache_new(const dl_bloom_enc *e, size_t max_entries, dl_error *err)
{
    if (max_entries == 0)
        max_entries = DEFAULT_ENTRIES;
    if (max_entries > ((size_t)1 << 26))
        max_entries = (size_t)1 << 26;
    /* Load factor at most 1/2 keeps linear probes short. */
    size_t slots = 16;
    while (slots < 2 * max_entries)
        slots *= 2;
    dl_bloom_cache *c = calloc(1, sizeof *c);
    if (!c)
        goto nomem;
    c->enc = e;
    c->mask = slots - 1;
    c->capacity = max_entries;
    c->keys = malloc(slots * sizeof *c->keys);
    c->klen = calloc(slots, 1);
    c->pos = malloc(slots * e->o.k * sizeof *c->pos);
    if (!c->keys || !c->klen || !c->pos)
        goto nomem;
    return c;
nomem:
    dl_bloom_cache_free(c);
    dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for a bloom cache of %zu q-grams",
                 max_entries);
    return NULL;
}

void dl_bloom_cache_free(dl_bloom_cache *c)
{
    if (!c)
        return;
    size_t slots = c->mask + 1;
    if (c->pos) {
        OPENSSL_cleanse(c->pos, slots * c->enc->o.k * sizeof *c->pos);
        free(c->pos);
    }
    if (c->keys) {
        OPENSSL_cleanse(c->keys, slots * sizeof *c->keys);
        free(c->keys);
    }
    free(c->klen);
    free(c);
}

void dl_bloom_cache_stats(const dl_bloom_cache *c, uint64_t *hits, uint64_t *misses)
{
    if (hits)
        *hits = c ? c->hits : 0;
    if (misses)
        *misses = c ? c->misses : 0;
}

/* The positions of one gram: from the cache when it fits and is there. */
static const uint16_t *lookup(const dl_bloom_enc *e, dl_bloom_cache *c, const uint8_t *gram,
                              unsigned glen, const uint8_t *salt, size_t salt_len,
                              uint16_t *scratch)
{
    size_t klen = 1 + glen + salt_len;
    if (!c || klen > KEY_BYTES) {
        gram_positions(e, gram, glen, salt, salt_len, scratch);
        return scratch;
    }
    union {
        uint64_t w[4];
        uint8_t b[KEY_BYTES];
    } key = {{0, 0, 0, 0}};
    key.b[0] = (uint8_t)glen;
    memcpy(key.b + 1, gram, glen);
    if (salt_len)
        memcpy(key.b + 1 + glen, salt, salt_len);
    uint64_t h = dl_mix64(key.w[0] ^ dl_mix64(key.w[1] ^ dl_mix64(key.w[2] ^ dl_mix64(key.w[3]))));
    size_t i = (size_t)h & c->mask;
    while (c->klen[i]) {
        if (c->klen[i] == klen && c->keys[i][0] == key.w[0] && c->keys[i][1] == key.w[1] &&
            c->keys[i][2] == key.w[2] && c->keys[i][3] == key.w[3]) {
            c->hits++;
            return c->pos + i * e->o.k;
        }
        i = (i + 1) & c->mask;
    }
    c->misses++;
    if (c->count >= c->capacity) {
        /* Full: start again rather than evict one by one. A bounded table
         * with a rare reset keeps memory flat under salted q-grams (whose
         * number grows with the salt values) at the cost of a few MACs. */
        memset(c->klen, 0, c->mask + 1);
        c->count = 0;
        i = (size_t)h & c->mask;
    }
    c->klen[i] = (uint8_t)klen;
    memcpy(c->keys[i], key.w, sizeof key.w);
    uint16_t *pos = c->pos + i * e->o.k;
    gram_positions(e, gram, glen, salt, salt_len, pos);
    c->count++;
    return pos;
}

size_t dl_bloom_add(const dl_bloom_enc *e, dl_bloom_cache *cache, const char *value, size_t len,
                    const char *salt, size_t salt_len, uint64_t *bits)
{
    assert(!cache || cache->enc == e);
    if (len == 0)
        return 0;
    const unsigned q = e->o.q, k = e->o.k;
    const uint8_t *v = (const uint8_t *)value;
    const uint8_t *s = salt_len ? (const uint8_t *)salt : NULL;
    const size_t pad = e->o.padded ? q - 1 : 0;
    uint16_t scratch[DL_BLOOM_MAX_K];
    uint8_t gram[DL_BLOOM_MAX_Q];

    if (len < q && !e->o.padded) {
        const uint16_t *pos = lookup(e, cache, v, (unsigned)len, s, salt_len, scratch);
        for (unsigned i = 0; i < k; i++)
            bits[pos[i] >> 6] |= (uint64_t)1 << (pos[i] & 63);
        return 1;
    }
    /* The padded text is '_' x pad, VALUE, '_' x pad; grams start at 0..n-q. */
    const size_t n = len + 2 * pad;
    const size_t ngrams = n - q + 1;
    for (size_t g = 0; g < ngrams; g++) {
        const uint8_t *src;
        if (g >= pad && g + q <= pad + len) {
            src = v + (g - pad);
        } else {
            for (unsigned j = 0; j < q; j++) {
                size_t at = g + j;
                gram[j] = (at < pad || at >= pad + len) ? '_' : v[at - pad];
            }
            src = gram;
        }
        const uint16_t *pos = lookup(e, cache, src, q, s, salt_len, scratch);
        for (unsigned i = 0; i < k; i++)
            bits[pos[i] >> 6] |= (uint64_t)1 << (pos[i] & 63);
    }
    OPENSSL_cleanse(scratch, sizeof scratch);
    return ngrams;
}

void dl_bloom_finish(const dl_bloom_enc *e, const uint64_t *bits, uint64_t *out)
{
    const size_t in_words = e->words;
    const size_t out_words = e->out_bits / 64;
    if (!e->o.balance) {
        /* Folding f times in half XORs together every word whose index is
         * congruent modulo the final length: out[j] = XOR_t in[j + t*out_words]
         * (Schnell, Borgs, Encarnacao 2016 fold once; repeated folds compose
         * this way). In place is safe: word j is written after all reads of it. */
        for (size_t j = 0; j < out_words; j++) {
            uint64_t x = bits[j];
            for (size_t t = j + out_words; t < in_words; t += out_words)
                x ^= bits[t];
            out[j] = x;
        }
        return;
    }
    assert(out + out_words <= bits || bits + in_words <= out);
    /* Balanced (Berger/Schnell 2017): position i of the filter lands at
     * dest[i] when set, position i of the complement (dest[bits+i]) when not;
     * every set bit of the 2*bits array is toggled at its place modulo the
     * finished length, which is the permutation and all folds in one pass.
     * Start from the empty filter's result and, for each set bit i, move its
     * bit from the complement's place to the filter's. */
    memcpy(out, e->base, out_words * sizeof *out);
    const uint32_t *d1 = e->dest, *d0 = e->dest + e->o.bits;
    for (size_t w = 0; w < in_words; w++) {
        uint64_t x = bits[w];
        while (x) {
            size_t i = w * 64 + (size_t)__builtin_ctzll(x);
            x &= x - 1;
            out[d0[i] >> 6] ^= (uint64_t)1 << (d0[i] & 63);
            out[d1[i] >> 6] ^= (uint64_t)1 << (d1[i] & 63);
        }
    }
}

void dl_bloom_to_bytes(const uint64_t *w, size_t words, uint8_t *out)
{
    for (size_t i = 0; i < words; i++)
        for (unsigned b = 0; b < 8; b++)
            out[8 * i + b] = (uint8_t)(w[i] >> (8 * b));
}

void dl_bloom_from_bytes(const uint8_t *in, size_t words, uint64_t *w)
{
    for (size_t i = 0; i < words; i++) {
        uint64_t x = 0;
        for (unsigned b = 0; b < 8; b++)
            x |= (uint64_t)in[8 * i + b] << (8 * b);
        w[i] = x;
    }
}

/* Popcounts. The portable kernel counts with SWAR arithmetic (Hacker's
 * Delight, 5-1) because __builtin_popcountll without a popcnt target calls a
 * slow library routine; on x86-64 a second instance compiled for the popcnt
 * instruction is picked at run time. Both count exactly, so results never
 * depend on the CPU. (The link stage may add AVX2/AVX-512 kernels here.) */
static inline uint64_t pop_swar(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555u;
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (x * 0x0101010101010101u) >> 56;
}

#define POP_BUILTIN(x) ((uint64_t)__builtin_popcountll(x))

#define DEFINE_POP_KERNELS(SUFFIX, ATTR, POP)                                                 \
    ATTR static uint64_t pop1_##SUFFIX(const uint64_t *w, size_t words)                       \
    {                                                                                         \
        uint64_t n = 0;                                                                       \
        for (size_t i = 0; i < words; i++)                                                    \
            n += POP(w[i]);                                                                   \
        return n;                                                                             \
    }                                                                                         \
    ATTR static uint64_t pop_and_##SUFFIX(const uint64_t *a, const uint64_t *b, size_t words) \
    {                                                                                         \
        uint64_t n = 0;                                                                       \
        for (size_t i = 0; i < words; i++)                                                    \
            n += POP(a[i] & b[i]);                                                            \
        return n;                                                                             \
    }                                                                                         \
    ATTR static double dice_##SUFFIX(const uint64_t *a, const uint64_t *b, size_t words)      \
    {                                                                                         \
        uint64_t na = 0, nb = 0, nab = 0;                                                     \
        for (size_t i = 0; i < words; i++) {                                                  \
            na += POP(a[i]);                                                                  \
            nb += POP(b[i]);                                                                  \
            nab += POP(a[i] & b[i]);                                                          \
        }                                                                                     \
        if (na + nb == 0)                                                                     \
            return 0.0;                                                                       \
        return 2.0 * (double)nab / (double)(na + nb);                                         \
    }

typedef struct pop_impl {
    const char *name;
    uint64_t (*pop1)(const uint64_t *, size_t);
    uint64_t (*pop_and)(const uint64_t *, const uint64_t *, size_t);
    double (*dice)(const uint64_t *, const uint64_t *, size_t);
} pop_impl;

DEFINE_POP_KERNELS(portable, , pop_swar)
static const pop_impl impl_portable = {"portable", pop1_portable, pop_and_portable,
                                       dice_portable};

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define HAVE_POPCNT_KERNEL 1
DEFINE_POP_KERNELS(popcnt, __attribute__((target("popcnt"))), POP_BUILTIN)
static const pop_impl impl_popcnt = {"popcnt", pop1_popcnt, pop_and_popcnt, dice_popcnt};
#endif

/* Chosen on first use; a relaxed atomic makes a concurrent first use by two
 * threads well defined (both store the same pointer). */
static _Atomic(const pop_impl *) chosen;

static const pop_impl *impl(void)
{
    const pop_impl *p = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (!p) {
        p = &impl_portable;
#ifdef HAVE_POPCNT_KERNEL
        __builtin_cpu_init();
        if (__builtin_cpu_supports("popcnt"))
            p = &impl_popcnt;
#endif
        atomic_store_explicit(&chosen, p, memory_order_relaxed);
    }
    return p;
}

uint64_t dl_popcount_words(const uint64_t *w, size_t words)
{
    return impl()->pop1(w, words);
}

uint64_t dl_popcount_and_words(const uint64_t *a, const uint64_t *b, size_t words)
{
    return impl()->pop_and(a, b, words);
}

double dl_dice(const uint64_t *a, const uint64_t *b, size_t words)
{
    return impl()->dice(a, b, words);
}

double dl_dice_counted(const uint64_t *a, const uint64_t *b, size_t words, uint64_t na,
                       uint64_t nb)
{
    if (na + nb == 0)
        return 0.0;
    return 2.0 * (double)impl()->pop_and(a, b, words) / (double)(na + nb);
}

double dl__dice_portable(const uint64_t *a, const uint64_t *b, size_t words)
{
    return dice_portable(a, b, words);
}

const char *dl__popcount_impl(void)
{
    return impl()->name;
}
