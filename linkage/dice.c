/* dice.c: the popcount of (A AND B) over two Bloom filters, the core of Dice.
 * Part of linkage/; compare.c calls it for every dice level it evaluates.
 *
 * Four kernels count the same bits: AVX-512 VPOPCNTDQ (eight words per
 * instruction), AVX2 (the nibble-lookup count of Mula, Kurz and Lemire,
 * "Faster population counts using AVX2 instructions", Computer Journal 61(1),
 * 2018), the scalar popcnt instruction, and portable SWAR arithmetic (Hacker's
 * Delight, 2nd ed., 5-1). Each is exact, so the choice changes speed only,
 * never a count, a level or a pattern. The best one the CPU has is chosen
 * once, on first use. Each kernel has three batch loops: pairs of rows, and
 * one filter against contiguous rows or against rows by index (anonlink's
 * one-against-many); for 1024-bit filters AVX-512 has its own loops. */
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

/* Software prefetch, PF_AHEAD rows ahead, for rows named by index. Pairs
 * from blocking or random sampling rarely sit next to each other in memory,
 * and even rows "in cache" are mostly in L2, not L1 (a block's rows and the
 * u sample exceed L1's 32 KiB), so asking early pays. But each prefetch
 * takes a load slot, and loads are what bounds these kernels, so only a
 * row's first line is asked for. bench_compare -c, AVX-512, best of 10 runs
 * (M counts/s; none / first line / both lines): scattered pairs in L2
 * 307 / 334 / 315, over 128 MiB 24.9 / 29.3 / 29.1; indexed rows over
 * 128 MiB 50.6 / 59.5 / 58.0. */
#define PF_AHEAD 8
#define PREFETCH_ROW(bits, row, words) __builtin_prefetch((bits) + (size_t)(row) * (words))

/* A kernel's batch loops, compiled for the same target as the kernel so that
 * it inlines: a call per pair would cost as much as the count itself on
 * 1024-bit filters. The pair loop keeps no state between pairs, so it also
 * serves as the reference the specialised AVX-512 loops are tested against. */
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
                PREFETCH_ROW(bits, p[k + PF_AHEAD].i, words);                              \
                PREFETCH_ROW(bits, p[k + PF_AHEAD].j, words);                              \
            }                                                                              \
            out[k] = FN(bits + (size_t)p[k].i * words, bits + (size_t)p[k].j * words,      \
                        words);                                                            \
        }                                                                                  \
    }                                                                                      \
    TARGET static void rows_##NAME(const uint64_t *a, const uint64_t *rows, size_t words,  \
                                   size_t n, uint32_t *out)                                \
    {                                                                                      \
        for (size_t k = 0; k < n; k++)                                                     \
            out[k] = FN(a, rows + k * words, words);                                       \
    }                                                                                      \
    TARGET static void idx_##NAME(const uint64_t *a, const uint64_t *bits, size_t words,   \
                                  const uint32_t *idx, size_t n, uint32_t *out)            \
    {                                                                                      \
        for (size_t k = 0; k < n; k++) {                                                   \
            if (k + PF_AHEAD < n)                                                          \
                PREFETCH_ROW(bits, idx[k + PF_AHEAD], words);                              \
            out[k] = FN(a, bits + (size_t)idx[k] * words, words);                          \
        }                                                                                  \
    }

typedef void (*many_fn)(const uint64_t *, size_t, const dl_pair *, size_t, uint32_t *);
typedef void (*rows_fn)(const uint64_t *, const uint64_t *, size_t, size_t, uint32_t *);
typedef void (*idx_fn)(const uint64_t *, const uint64_t *, size_t, const uint32_t *, size_t,
                       uint32_t *);

typedef struct kernel {
    const char *name;
    uint32_t (*one)(const uint64_t *, const uint64_t *, size_t);
    many_fn many;
    rows_fn rows;
    idx_fn idx;
} kernel;

DEFINE_KERNEL(portable, , andpop_portable)
#ifdef DL_X86_KERNELS
DEFINE_KERNEL(popcnt, TARGET_POPCNT, andpop_popcnt)
DEFINE_KERNEL(avx2, TARGET_AVX2, andpop_avx2)
DEFINE_KERNEL(avx512_generic, TARGET_AVX512, andpop_avx512)

/* 1024-bit filters (16 words), the usual case, eight counts at a time: each
 * count is left as a vector of eight lane counts (lanes16), and the eight
 * vectors are summed across lanes together by a three-stage transpose-add
 * (sum8), which costs far less than reducing each vector on its own. */
TARGET_AVX512 static inline __m512i lanes16(__m512i a0, __m512i a1, const uint64_t *b)
{
    __m512i x = _mm512_and_si512(a0, _mm512_loadu_si512(b));
    __m512i y = _mm512_and_si512(a1, _mm512_loadu_si512(b + 8));
    return _mm512_add_epi64(_mm512_popcnt_epi64(x), _mm512_popcnt_epi64(y));
}

/* Sum across 128-bit lanes pairs: [X.L0+X.L1, X.L2+X.L3, Y.L0+Y.L1, Y.L2+Y.L3]. */
TARGET_AVX512 static inline __m512i fold128(__m512i x, __m512i y)
{
    return _mm512_add_epi64(_mm512_shuffle_i64x2(x, y, 0x88), _mm512_shuffle_i64x2(x, y, 0xdd));
}

/* Qword q of the result is the sum of V[q]'s eight qwords. */
TARGET_AVX512 static inline __m512i sum8(const __m512i v[8])
{
    /* Stage 1: within each 128-bit lane, [sum of v0's pair, sum of v1's pair]. */
    __m512i a01 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[0], v[1]),
                                   _mm512_unpackhi_epi64(v[0], v[1]));
    __m512i a23 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[2], v[3]),
                                   _mm512_unpackhi_epi64(v[2], v[3]));
    __m512i a45 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[4], v[5]),
                                   _mm512_unpackhi_epi64(v[4], v[5]));
    __m512i a67 = _mm512_add_epi64(_mm512_unpacklo_epi64(v[6], v[7]),
                                   _mm512_unpackhi_epi64(v[6], v[7]));
    /* Stages 2 and 3: the lanes folded until qword q holds v[q]'s total. */
    return fold128(fold128(a01, a23), fold128(a45, a67));
}

TARGET_AVX512 static inline void store8(uint32_t *out, const __m512i v[8])
{
    _mm256_storeu_si256((__m256i *)out, _mm512_cvtepi64_epi32(sum8(v)));
}

/* Pairs of 1024-bit rows. Blocking emits the pairs of a block as runs that
 * share i (i fixed, j walking the rest of the block), so row i is loaded
 * only when it differs from the previous pair's: that halves the loads of a
 * run, and the branch is predictable both on long runs and on pairs whose i
 * always changes (random pairs). */
TARGET_AVX512 static void many_avx512(const uint64_t *bits, size_t words, const dl_pair *p,
                                      size_t n, uint32_t *out)
{
    if (words != 16) {
        many_avx512_generic(bits, words, p, n, out);
        return;
    }
    if (n == 0) /* P may be any pointer then: read nothing */
        return;
    uint32_t prev = p[0].i;
    __m512i a0 = _mm512_loadu_si512(bits + (size_t)prev * 16);
    __m512i a1 = _mm512_loadu_si512(bits + (size_t)prev * 16 + 8);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        if (k + 8 + PF_AHEAD <= n)
            for (size_t q = k + PF_AHEAD; q < k + 8 + PF_AHEAD; q++) {
                if (p[q].i != p[q - 1].i)
                    PREFETCH_ROW(bits, p[q].i, 16);
                PREFETCH_ROW(bits, p[q].j, 16);
            }
        __m512i v[8];
        for (int q = 0; q < 8; q++) {
            uint32_t i = p[k + q].i;
            if (i != prev) {
                prev = i;
                a0 = _mm512_loadu_si512(bits + (size_t)i * 16);
                a1 = _mm512_loadu_si512(bits + (size_t)i * 16 + 8);
            }
            v[q] = lanes16(a0, a1, bits + (size_t)p[k + q].j * 16);
        }
        store8(out + k, v);
    }
    for (; k < n; k++)
        out[k] = andpop_avx512(bits + (size_t)p[k].i * 16, bits + (size_t)p[k].j * 16, 16);
}

/* One 1024-bit filter, held in two registers, against contiguous rows: two
 * loads a count instead of four, and no index to fetch. The rows stream in
 * order, which the hardware prefetchers follow without help: software
 * prefetch here measured no gain in L2 and cost a third streaming from
 * memory (120 vs 82 M/s over 128 MiB, best of 7). */
TARGET_AVX512 static void rows_avx512(const uint64_t *a, const uint64_t *rows, size_t words,
                                      size_t n, uint32_t *out)
{
    if (words != 16) {
        rows_avx512_generic(a, rows, words, n, out);
        return;
    }
    if (n == 0) /* A may be any pointer then: read nothing */
        return;
    const __m512i a0 = _mm512_loadu_si512(a), a1 = _mm512_loadu_si512(a + 8);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m512i v[8];
        for (int q = 0; q < 8; q++)
            v[q] = lanes16(a0, a1, rows + (k + q) * 16);
        store8(out + k, v);
    }
    for (; k < n; k++)
        out[k] = andpop_avx512(a, rows + k * 16, 16);
}

/* The same against rows named by index (a block's records, scattered). */
TARGET_AVX512 static void idx_avx512(const uint64_t *a, const uint64_t *bits, size_t words,
                                     const uint32_t *idx, size_t n, uint32_t *out)
{
    if (words != 16) {
        idx_avx512_generic(a, bits, words, idx, n, out);
        return;
    }
    if (n == 0) /* A may be any pointer then: read nothing */
        return;
    const __m512i a0 = _mm512_loadu_si512(a), a1 = _mm512_loadu_si512(a + 8);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        if (k + 8 + PF_AHEAD <= n) /* one test a group, not one a row */
            for (size_t q = k + PF_AHEAD; q < k + 8 + PF_AHEAD; q++)
                PREFETCH_ROW(bits, idx[q], 16);
        __m512i v[8];
        for (int q = 0; q < 8; q++)
            v[q] = lanes16(a0, a1, bits + (size_t)idx[k + q] * 16);
        store8(out + k, v);
    }
    for (; k < n; k++)
        out[k] = andpop_avx512(a, bits + (size_t)idx[k] * 16, 16);
}
#endif

/* In order of preference. */
static const kernel kernels[] = {
#ifdef DL_X86_KERNELS
    {"avx512-vpopcntdq", one_avx512_generic, many_avx512, rows_avx512, idx_avx512},
    {"avx2", one_avx2, many_avx2, rows_avx2, idx_avx2},
    {"popcnt", one_popcnt, many_popcnt, rows_popcnt, idx_popcnt},
#endif
    {"portable", one_portable, many_portable, rows_portable, idx_portable},
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

void dl__and_popcount_rows(const uint64_t *a, const uint64_t *rows, size_t words, size_t n,
                           uint32_t *out)
{
    current()->rows(a, rows, words, n, out);
}

void dl__and_popcount_idx(const uint64_t *a, const uint64_t *bits, size_t words,
                          const uint32_t *idx, size_t n, uint32_t *out)
{
    current()->idx(a, bits, words, idx, n, out);
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
