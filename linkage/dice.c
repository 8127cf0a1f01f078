/* dice.c: the popcount of (A AND B) over two Bloom filters, the core of Dice.
 * Part of linkage/; compare.c calls it for every dice level it evaluates.
 *
 * Four kernels count the same bits: AVX-512 VPOPCNTDQ (eight words per
 * instruction), AVX2 (the nibble-lookup count of Mula, Kurz and Lemire,
 * "Faster population counts using AVX2 instructions", Computer Journal 61(1),
 * 2018), the scalar popcnt instruction, and portable SWAR arithmetic (Hacker's
 * Delight, 2nd ed., 5-1). Each is exact, so the choice changes speed only,
 * never a count, a level or a pattern. The best one the CPU has is chosen
 * once, on first use. */
#include <stdatomic.h>
#include <string.h>

#include "linkage/link_internal.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#define DL_X86_KERNELS 1
#include <immintrin.h>
#endif

/* ---- the kernels --------------------------------------------------------- */

static inline uint64_t pop_swar(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555u;
    x = (x & 0x3333333333333333u) + ((x >> 2) & 0x3333333333333333u);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fu;
    return (x * 0x0101010101010101u) >> 56;
}

static inline uint32_t andpop_portable(const uint64_t *a, const uint64_t *b, size_t words)
{
    uint64_t n = 0;
    for (size_t w = 0; w < words; w++)
        n += pop_swar(a[w] & b[w]);
    return (uint32_t)n;
}

#ifdef DL_X86_KERNELS
#define TARGET_POPCNT __attribute__((target("popcnt")))
#define TARGET_AVX2 __attribute__((target("avx2,popcnt")))
#define TARGET_AVX512 __attribute__((target("avx512f,avx512vpopcntdq,popcnt")))

/* Four accumulators: popcnt has a latency of a few cycles but a throughput
 * of several a cycle, so one chain of additions would leave it idle. */
TARGET_POPCNT static inline uint32_t andpop_popcnt(const uint64_t *a, const uint64_t *b,
                                                   size_t words)
{
    uint64_t n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    size_t w = 0;
    for (; w + 4 <= words; w += 4) {
        n0 += (uint64_t)__builtin_popcountll(a[w] & b[w]);
        n1 += (uint64_t)__builtin_popcountll(a[w + 1] & b[w + 1]);
        n2 += (uint64_t)__builtin_popcountll(a[w + 2] & b[w + 2]);
        n3 += (uint64_t)__builtin_popcountll(a[w + 3] & b[w + 3]);
    }
    for (; w < words; w++)
        n0 += (uint64_t)__builtin_popcountll(a[w] & b[w]);
    return (uint32_t)(n0 + n1 + n2 + n3);
}

/* Each byte of the 256-bit AND is split in two nibbles, whose bit counts a
 * 16-entry table answers with one shuffle each. Byte counters gain at most 8
 * per round, so they are folded into 64-bit lanes (vpsadbw) every 31 rounds,
 * before 255 could overflow. */
TARGET_AVX2 static inline uint32_t andpop_avx2(const uint64_t *a, const uint64_t *b,
                                               size_t words)
{
    const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1,
                                         1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
    const __m256i low = _mm256_set1_epi8(0x0f);
    const __m256i zero = _mm256_setzero_si256();
    __m256i total = zero;
    size_t w = 0, full = words & ~(size_t)3;
    while (w < full) {
        size_t end = full - w > 4 * 31 ? w + 4 * 31 : full;
        __m256i acc = zero;
        for (; w < end; w += 4) {
            __m256i v = _mm256_and_si256(_mm256_loadu_si256((const __m256i *)(a + w)),
                                         _mm256_loadu_si256((const __m256i *)(b + w)));
            __m256i lo = _mm256_and_si256(v, low);
            __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
            acc = _mm256_add_epi8(acc, _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo),
                                                       _mm256_shuffle_epi8(lut, hi)));
        }
        total = _mm256_add_epi64(total, _mm256_sad_epu8(acc, zero));
    }
    __m128i s = _mm_add_epi64(_mm256_castsi256_si128(total), _mm256_extracti128_si256(total, 1));
    uint64_t n = (uint64_t)_mm_cvtsi128_si64(s) + (uint64_t)_mm_extract_epi64(s, 1);
    for (; w < words; w++)
        n += (uint64_t)__builtin_popcountll(a[w] & b[w]);
    return (uint32_t)n;
}

/* Eight words per step; a masked load takes the last 1..7 words without
 * reading past the filter. */
TARGET_AVX512 static inline uint32_t andpop_avx512(const uint64_t *a, const uint64_t *b,
                                                   size_t words)
{
    __m512i acc = _mm512_setzero_si512();
    size_t w = 0;
    for (; w + 8 <= words; w += 8) {
        __m512i v = _mm512_and_si512(_mm512_loadu_si512(a + w), _mm512_loadu_si512(b + w));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(v));
    }
    if (w < words) {
        __mmask8 m = (__mmask8)((1u << (words - w)) - 1u);
        __m512i v = _mm512_and_si512(_mm512_maskz_loadu_epi64(m, a + w),
                                     _mm512_maskz_loadu_epi64(m, b + w));
        acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(v));
    }
    return (uint32_t)_mm512_reduce_add_epi64(acc);
}
#else
#define TARGET_POPCNT
#define TARGET_AVX2
#define TARGET_AVX512
#endif

/* A kernel and its batch loop, compiled for the same target so that the
 * kernel inlines into the loop: a call per pair would cost as much as the
 * count itself on 1024-bit filters. The loop asks for the rows of the pair
 * PF_AHEAD on (their first two lines: a 1024-bit filter), because pairs from
 * blocking or random sampling rarely sit next to each other in memory. */
#define PF_AHEAD 8
#define DEFINE_KERNEL(NAME, TARGET, FN)                                                    \
    TARGET static uint32_t one_##NAME(const uint64_t *a, const uint64_t *b, size_t words)  \
    {                                                                                      \
        return FN(a, b, words);                                                            \
    }                                                                                      \
    TARGET static void many_##NAME(const uint64_t *bits, size_t words, const dl_pair *p,   \
                                   size_t n, uint32_t *out)                                \
    {                                                                                      \
        for (size_t k = 0; k < n; k++) {                                                   \
            if (k + PF_AHEAD < n) {                                                        \
                const uint64_t *fa = bits + (size_t)p[k + PF_AHEAD].i * words;             \
                const uint64_t *fb = bits + (size_t)p[k + PF_AHEAD].j * words;             \
                __builtin_prefetch(fa);                                                    \
                __builtin_prefetch(fb);                                                    \
                if (words > 8) {                                                           \
                    __builtin_prefetch(fa + 8);                                            \
                    __builtin_prefetch(fb + 8);                                            \
                }                                                                          \
            }                                                                              \
            out[k] = FN(bits + (size_t)p[k].i * words, bits + (size_t)p[k].j * words,      \
                        words);                                                            \
        }                                                                                  \
    }

typedef struct kernel {
    const char *name;
    uint32_t (*one)(const uint64_t *, const uint64_t *, size_t);
    void (*many)(const uint64_t *, size_t, const dl_pair *, size_t, uint32_t *);
} kernel;

DEFINE_KERNEL(portable, , andpop_portable)
#ifdef DL_X86_KERNELS
DEFINE_KERNEL(popcnt, TARGET_POPCNT, andpop_popcnt)
DEFINE_KERNEL(avx2, TARGET_AVX2, andpop_avx2)
DEFINE_KERNEL(avx512_generic, TARGET_AVX512, andpop_avx512)

/* 1024-bit filters (16 words), the usual case, eight pairs at a time: each
 * pair's AND-popcount is left as eight lane counts, and the eight pairs'
 * vectors are summed across lanes together by a three-stage transpose-add,
 * which costs far less than reducing each vector on its own. */
TARGET_AVX512 static inline __m512i lanes16(const uint64_t *a, const uint64_t *b)
{
    __m512i x = _mm512_and_si512(_mm512_loadu_si512(a), _mm512_loadu_si512(b));
    __m512i y = _mm512_and_si512(_mm512_loadu_si512(a + 8), _mm512_loadu_si512(b + 8));
    return _mm512_add_epi64(_mm512_popcnt_epi64(x), _mm512_popcnt_epi64(y));
}

/* Sum across 128-bit lanes pairs: [X.L0+X.L1, X.L2+X.L3, Y.L0+Y.L1, Y.L2+Y.L3]. */
TARGET_AVX512 static inline __m512i fold128(__m512i x, __m512i y)
{
    return _mm512_add_epi64(_mm512_shuffle_i64x2(x, y, 0x88), _mm512_shuffle_i64x2(x, y, 0xdd));
}

TARGET_AVX512 static void many_avx512(const uint64_t *bits, size_t words, const dl_pair *p,
                                      size_t n, uint32_t *out)
{
    if (words != 16) {
        many_avx512_generic(bits, words, p, n, out);
        return;
    }
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        for (size_t q = k + PF_AHEAD; q < k + 8 + PF_AHEAD && q < n; q++) {
            __builtin_prefetch(bits + (size_t)p[q].i * 16);
            __builtin_prefetch(bits + (size_t)p[q].i * 16 + 8);
            __builtin_prefetch(bits + (size_t)p[q].j * 16);
            __builtin_prefetch(bits + (size_t)p[q].j * 16 + 8);
        }
        __m512i v[8];
        for (int q = 0; q < 8; q++)
            v[q] = lanes16(bits + (size_t)p[k + q].i * 16, bits + (size_t)p[k + q].j * 16);
        /* Stage 1: within each 128-bit lane, [sum of v0's pair, sum of v1's pair]. */
        __m512i a01 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[0], v[1]),
                                       _mm512_unpackhi_epi64(v[0], v[1]));
        __m512i a23 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[2], v[3]),
                                       _mm512_unpackhi_epi64(v[2], v[3]));
        __m512i a45 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[4], v[5]),
                                       _mm512_unpackhi_epi64(v[4], v[5]));
        __m512i a67 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[6], v[7]),
                                       _mm512_unpackhi_epi64(v[6], v[7]));
        /* Stages 2 and 3: the lanes folded until qword q holds pair q's total. */
        __m512i t = fold128(fold128(a01, a23), fold128(a45, a67));
        _mm256_storeu_si256((__m256i *)(out + k), _mm512_cvtepi64_epi32(t));
    }
    for (; k < n; k++)
        out[k] = andpop_avx512(bits + (size_t)p[k].i * 16, bits + (size_t)p[k].j * 16, 16);
}
#endif

/* In order of preference. */
static const kernel kernels[] = {
#ifdef DL_X86_KERNELS
    {"avx512-vpopcntdq", one_avx512_generic, many_avx512},
    {"avx2", one_avx2, many_avx2},
    {"popcnt", one_popcnt, many_popcnt},
#endif
    {"portable", one_portable, many_portable},
};
#define N_KERNELS (sizeof kernels / sizeof kernels[0])

static bool cpu_has(const kernel *k)
{
#ifdef DL_X86_KERNELS
    __builtin_cpu_init();
    /* __builtin_cpu_supports also checks that the OS saves the AVX and
     * AVX-512 registers (XGETBV), not only that the CPU has the instructions. */
    if (k->one == one_avx512_generic)
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq");
    if (k->one == one_avx2)
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("popcnt");
    if (k->one == one_popcnt)
        return __builtin_cpu_supports("popcnt");
#endif
    return k->one == one_portable;
}

/* Chosen on first use. A relaxed atomic makes two threads' concurrent first
 * use well defined: both store the same pointer. */
static _Atomic(const kernel *) chosen;

static const kernel *best(void)
{
    for (size_t i = 0; i < N_KERNELS; i++)
        if (cpu_has(&kernels[i]))
            return &kernels[i];
    return &kernels[N_KERNELS - 1];
}

static const kernel *current(void)
{
    const kernel *k = atomic_load_explicit(&chosen, memory_order_relaxed);
    if (!k) {
        k = best();
        atomic_store_explicit(&chosen, k, memory_order_relaxed);
    }
    return k;
}

/* ---- the interface -------------------------------------------------------- */

uint32_t dl__and_popcount(const uint64_t *a, const uint64_t *b, size_t words)
{
    return current()->one(a, b, words);
}

void dl__and_popcount_many(const uint64_t *bits, size_t words, const dl_pair *pairs, size_t n,
                           uint32_t *out)
{
    current()->many(bits, words, pairs, n, out);
}

dl__and_popcount_fn dl__and_popcount_kernel(void)
{
    return current()->one;
}

const char *dl__dice_kernel(void)
{
    return current()->name;
}

bool dl__dice_force(const char *name)
{
    if (!name || strcmp(name, "auto") == 0) {
        atomic_store_explicit(&chosen, best(), memory_order_relaxed);
        return true;
    }
    for (size_t i = 0; i < N_KERNELS; i++)
        if (strcmp(kernels[i].name, name) == 0) {
            if (!cpu_has(&kernels[i]))
                return false;
            atomic_store_explicit(&chosen, &kernels[i], memory_order_relaxed);
            return true;
        }
    return false;
}
