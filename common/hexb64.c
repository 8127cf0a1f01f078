/* hexb64.c: hex and base64 encoding and strict decoding.
 * Part of common/; prepare writes every token and filter through it, so
 * both directions are table lookups with no branches on data in the loops. */
#include <stdatomic.h>
#include <string.h>

#include "dolen/hexb64.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DL_HEXB64_X86 1
#include <immintrin.h>
#endif

static const char hex_digits[] = "0123456789abcdef";

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Decoding tables: value of a character, or 0xff when it is not in the set.
 * Built at compile time with designated initialisers: no init race. */
#define H(c, v) [c] = (v) + 1
static const uint8_t hex_val1[256] = {
    H('0', 0),  H('1', 1),  H('2', 2),  H('3', 3),  H('4', 4),  H('5', 5),
    H('6', 6),  H('7', 7),  H('8', 8),  H('9', 9),  H('a', 10), H('b', 11),
    H('c', 12), H('d', 13), H('e', 14), H('f', 15), H('A', 10), H('B', 11),
    H('C', 12), H('D', 13), H('E', 14), H('F', 15),
};
#undef H
/* Stored as value + 1 so that the zero default means "not a digit". */

#define B(c, v) [c] = (v) + 1
static const uint8_t b64_val1[256] = {
    B('A', 0),  B('B', 1),  B('C', 2),  B('D', 3),  B('E', 4),  B('F', 5),  B('G', 6),
    B('H', 7),  B('I', 8),  B('J', 9),  B('K', 10), B('L', 11), B('M', 12), B('N', 13),
    B('O', 14), B('P', 15), B('Q', 16), B('R', 17), B('S', 18), B('T', 19), B('U', 20),
    B('V', 21), B('W', 22), B('X', 23), B('Y', 24), B('Z', 25), B('a', 26), B('b', 27),
    B('c', 28), B('d', 29), B('e', 30), B('f', 31), B('g', 32), B('h', 33), B('i', 34),
    B('j', 35), B('k', 36), B('l', 37), B('m', 38), B('n', 39), B('o', 40), B('p', 41),
    B('q', 42), B('r', 43), B('s', 44), B('t', 45), B('u', 46), B('v', 47), B('w', 48),
    B('x', 49), B('y', 50), B('z', 51), B('0', 52), B('1', 53), B('2', 54), B('3', 55),
    B('4', 56), B('5', 57), B('6', 58), B('7', 59), B('8', 60), B('9', 61), B('+', 62),
    B('/', 63),
};
#undef B

size_t dl_hex_encode(const void *in, size_t len, char *out)
{
    const uint8_t *p = in;
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = hex_digits[p[i] >> 4];
        out[2 * i + 1] = hex_digits[p[i] & 15];
    }
    out[2 * len] = '\0';
    return 2 * len;
}

/* The 8 nibbles of X, most significant first, one per byte of the result
 * as it lies in memory (a little-endian load order is undone by the caller's
 * byte swap): SWAR, so a token costs a dozen ALU operations, no table. */
static uint64_t spread_nibbles(uint32_t x)
{
    uint64_t y = x;
    y = (y | (y << 16)) & 0x0000FFFF0000FFFFull;
    y = (y | (y << 8)) & 0x00FF00FF00FF00FFull;
    y = (y | (y << 4)) & 0x0F0F0F0F0F0F0F0Full;
    return y; /* byte k (from the least significant) = nibble k of x */
}

/* Eight nibble bytes to ASCII hex: '0' + n, plus 39 more ('a' - '0' - 10)
 * where n >= 10, found by the carry of n + 6 into bit 4. */
static uint64_t nibbles_to_ascii(uint64_t y)
{
    uint64_t ge10 = ((y + 0x0606060606060606ull) >> 4) & 0x0101010101010101ull;
    return y + 0x3030303030303030ull + ge10 * 39;
}

void dl_hex_u64(uint64_t v, char out[17])
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ && \
    (defined(__GNUC__) || defined(__clang__))
    uint64_t hi = __builtin_bswap64(nibbles_to_ascii(spread_nibbles((uint32_t)(v >> 32))));
    uint64_t lo = __builtin_bswap64(nibbles_to_ascii(spread_nibbles((uint32_t)v)));
    memcpy(out, &hi, 8);
    memcpy(out + 8, &lo, 8);
#else
    for (int i = 15; i >= 0; i--) {
        out[i] = hex_digits[v & 15];
        v >>= 4;
    }
#endif
    out[16] = '\0';
}

void dl__hex_u64_seps_portable(const uint64_t *v, const char *sep, size_t n, char *out)
{
    char tmp[17];
    for (size_t i = 0; i < n; i++) {
        out[17 * i] = sep[i];
        dl_hex_u64(v[i], tmp);
        memcpy(out + 17 * i + 1, tmp, 16);
    }
}

#ifdef DL_HEXB64_X86
/* Three tokens a step with AVX-512 VBMI: vpermb puts the byte that holds
 * each output digit's nibble in that digit's lane (byte 7 of a little-endian
 * token first), the high or low nibble is kept by lane parity, a second
 * vpermb maps nibbles to digits, and the separators are blended in; one
 * masked store writes the 51 (or fewer, at the end) bytes. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static void
hex_u64_seps_vbmi(const uint64_t *v, const char *sep, size_t n, char *out)
{
    /* Lane 17t: separator t; lane 17t + 1 + d: digit d of token t, from
     * byte 8t + 7 - d/2 (high nibble when d is even: the EVEN mask). Lanes
     * 51..63 are not stored. */
#define DIGITS(t) 8 * (t) + 7, 8 * (t) + 7, 8 * (t) + 6, 8 * (t) + 6, 8 * (t) + 5, 8 * (t) + 5, \
                  8 * (t) + 4, 8 * (t) + 4, 8 * (t) + 3, 8 * (t) + 3, 8 * (t) + 2, 8 * (t) + 2, \
                  8 * (t) + 1, 8 * (t) + 1, 8 * (t), 8 * (t)
    static const uint8_t idx_b[64] = {0, DIGITS(0), 0, DIGITS(1), 0, DIGITS(2)};
#undef DIGITS
    static const uint8_t sep_b[64] = {[17] = 1, [34] = 2};
    const __mmask64 even = 0x2aaa95554aaaaull, seps = 0x400020001ull;
    const __m512i idx = _mm512_loadu_si512(idx_b), sep_idx = _mm512_loadu_si512(sep_b);
    const __m512i digits = _mm512_broadcast_i32x4(_mm_loadu_si128((const void *)hex_digits));
    const __m512i low4 = _mm512_set1_epi8(0x0f);
    for (size_t i = 0; i < n; i += 3) {
        size_t k = n - i < 3 ? n - i : 3;
        __m512i x = _mm512_maskz_loadu_epi8(((__mmask64)1 << (8 * k)) - 1, v + i);
        __m512i s = _mm512_maskz_loadu_epi8(((__mmask64)1 << k) - 1, sep + i);
        x = _mm512_permutexvar_epi8(idx, x);
        __m512i nib = _mm512_mask_blend_epi8(even, _mm512_and_si512(x, low4),
                                             _mm512_and_si512(_mm512_srli_epi16(x, 4), low4));
        __m512i o = _mm512_mask_blend_epi8(seps, _mm512_permutexvar_epi8(nib, digits),
                                           _mm512_permutexvar_epi8(sep_idx, s));
        _mm512_mask_storeu_epi8(out + 17 * i, ((__mmask64)1 << (17 * k)) - 1, o);
    }
}
#endif

typedef void (*hex_seps_fn)(const uint64_t *v, const char *sep, size_t n, char *out);

/* Chosen on first use, like b64_chosen below. */
static _Atomic(hex_seps_fn) hex_seps_chosen;

void dl_hex_u64_seps(const uint64_t *v, const char *sep, size_t n, char *out)
{
    hex_seps_fn f = atomic_load_explicit(&hex_seps_chosen, memory_order_relaxed);
    if (!f) {
        f = dl__hex_u64_seps_portable;
#if defined(DL_HEXB64_X86) && defined(__BYTE_ORDER__) && \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        if (dl__b64_have_vbmi())
            f = hex_u64_seps_vbmi;
#endif
        atomic_store_explicit(&hex_seps_chosen, f, memory_order_relaxed);
    }
    f(v, sep, n, out);
}

bool dl_hex_decode(const char *in, size_t len, void *out, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)in;
    uint8_t *o = out;
    for (size_t i = 0; i + 1 < len; i += 2) {
        unsigned hi = hex_val1[s[i]], lo = hex_val1[s[i + 1]];
        if (!hi || !lo) {
            if (bad)
                *bad = hi ? i + 1 : i;
            return false;
        }
        o[i / 2] = (uint8_t)(((hi - 1) << 4) | (lo - 1));
    }
    if (len % 2) {
        /* Report a bad last character before the odd length: it is the
         * more specific complaint. */
        if (bad)
            *bad = hex_val1[s[len - 1]] ? len : len - 1;
        return false;
    }
    return true;
}

size_t dl__b64_encode_portable(const void *in, size_t len, char *out)
{
    const uint8_t *p = in;
    char *o = out;
    size_t i = 0;
    for (; i + 3 <= len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        o[0] = b64_alphabet[v >> 18];
        o[1] = b64_alphabet[(v >> 12) & 63];
        o[2] = b64_alphabet[(v >> 6) & 63];
        o[3] = b64_alphabet[v & 63];
        o += 4;
    }
    if (len - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        o[0] = b64_alphabet[v >> 18];
        o[1] = b64_alphabet[(v >> 12) & 63];
        o[2] = '=';
        o[3] = '=';
        o += 4;
    } else if (len - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        o[0] = b64_alphabet[v >> 18];
        o[1] = b64_alphabet[(v >> 12) & 63];
        o[2] = b64_alphabet[(v >> 6) & 63];
        o[3] = '=';
        o += 4;
    }
    *o = '\0';
    return (size_t)(o - out);
}

#ifdef DL_HEXB64_X86
/* Base64 with AVX-512 VBMI, after Mula and Lemire, "Base64 encoding and
 * decoding at almost the speed of a memory copy" (Software: Practice and
 * Experience 50(2), 2020), section on AVX-512 encoding. Each 3-byte group
 * a,b,c is spread by vpermb into a 32-bit lane holding the bytes b,a,c,b;
 * in that lane the four 6-bit indexes start at bits 10, 4, 22 and 16, and
 * vpmultishiftqb pulls each into its own byte; vpermb then looks the
 * indexes up in the alphabet (it reads only the low 6 bits of an index).
 * 48 input bytes make 64 characters per step; the last partial step uses
 * masked loads and stores, so nothing outside IN or OUT is touched, and
 * a final 1 or 2 bytes go through the portable code for their padding. */
__attribute__((target("avx512f,avx512bw,avx512vbmi"))) static size_t
b64_encode_vbmi(const void *in, size_t len, char *out)
{
    /* Lane j of 16 takes input bytes 3j+1, 3j, 3j+2, 3j+1. */
#define LANE(j) 3 * (j) + 1, 3 * (j), 3 * (j) + 2, 3 * (j) + 1
    static const uint8_t spread_b[64] = {
        LANE(0),  LANE(1),  LANE(2),  LANE(3),  LANE(4),  LANE(5),  LANE(6),  LANE(7),
        LANE(8),  LANE(9),  LANE(10), LANE(11), LANE(12), LANE(13), LANE(14), LANE(15),
    };
#undef LANE
    const uint8_t *p = in;
    const __m512i spread = _mm512_loadu_si512(spread_b);
    /* Bit offsets 10, 4, 22, 16 in the low lane of each qword, +32 in the high. */
    const __m512i shifts = _mm512_set1_epi64(0x3036242a1016040aLL);
    const __m512i alphabet = _mm512_loadu_si512(b64_alphabet);
    size_t i = 0, o = 0;
    for (; len - i >= 48; i += 48, o += 64) {
        __m512i v = _mm512_maskz_loadu_epi8((__mmask64)0xffffffffffffull, p + i);
        v = _mm512_permutexvar_epi8(spread, v);
        v = _mm512_multishift_epi64_epi8(shifts, v);
        _mm512_storeu_si512(out + o, _mm512_permutexvar_epi8(v, alphabet));
    }
    size_t groups = (len - i) / 3;
    if (groups) {
        __mmask64 in_mask = ((__mmask64)1 << (3 * groups)) - 1;
        __mmask64 out_mask = ((__mmask64)1 << (4 * groups)) - 1;
        __m512i v = _mm512_maskz_loadu_epi8(in_mask, p + i);
        v = _mm512_permutexvar_epi8(spread, v);
        v = _mm512_multishift_epi64_epi8(shifts, v);
        _mm512_mask_storeu_epi8(out + o, out_mask, _mm512_permutexvar_epi8(v, alphabet));
        i += 3 * groups;
        o += 4 * groups;
    }
    return o + dl__b64_encode_portable(p + i, len - i, out + o);
}
#endif

bool dl__b64_have_vbmi(void)
{
#ifdef DL_HEXB64_X86
    __builtin_cpu_init();
    /* __builtin_cpu_supports also checks that the OS saves the AVX-512 state. */
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi");
#else
    return false;
#endif
}

typedef size_t (*b64_fn)(const void *in, size_t len, char *out);

/* Chosen on first use; a relaxed atomic makes two threads' concurrent first
 * use well defined (both store the same pointer). */
static _Atomic(b64_fn) b64_chosen;

size_t dl_b64_encode(const void *in, size_t len, char *out)
{
    b64_fn f = atomic_load_explicit(&b64_chosen, memory_order_relaxed);
    if (!f) {
        f = dl__b64_encode_portable;
#ifdef DL_HEXB64_X86
        if (dl__b64_have_vbmi())
            f = b64_encode_vbmi;
#endif
        atomic_store_explicit(&b64_chosen, f, memory_order_relaxed);
    }
    return f(in, len, out);
}

static bool b64_fail(size_t *bad, size_t at)
{
    if (bad)
        *bad = at;
    return false;
}

bool dl_b64_decode(const char *in, size_t len, void *out, size_t *outlen, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)in;
    uint8_t *o = out;
    size_t n = 0;
    *outlen = 0;
    if (len % 4)
        return b64_fail(bad, len);
    for (size_t i = 0; i < len; i += 4) {
        unsigned a = b64_val1[s[i]], b = b64_val1[s[i + 1]];
        unsigned c = b64_val1[s[i + 2]], d = b64_val1[s[i + 3]];
        if (a && b && c && d) {
            uint32_t v = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12 |
                         (uint32_t)(c - 1) << 6 | (d - 1);
            o[n] = (uint8_t)(v >> 16);
            o[n + 1] = (uint8_t)(v >> 8);
            o[n + 2] = (uint8_t)v;
            n += 3;
            continue;
        }
        /* Slow path: padding (last group only) or a bad character. */
        if (!a)
            return b64_fail(bad, i);
        if (!b)
            return b64_fail(bad, i + 1);
        bool last = i + 4 == len;
        if (!c) {
            if (!last || s[i + 2] != '=')
                return b64_fail(bad, i + 2);
            if (s[i + 3] != '=')
                return b64_fail(bad, i + 3);
            if ((b - 1) & 15) /* the 4 unused bits must be zero */
                return b64_fail(bad, i + 1);
            o[n++] = (uint8_t)((a - 1) << 2 | (b - 1) >> 4);
            break;
        }
        if (!last || s[i + 3] != '=')
            return b64_fail(bad, i + 3);
        if ((c - 1) & 3) /* the 2 unused bits must be zero */
            return b64_fail(bad, i + 2);
        uint32_t v = (uint32_t)(a - 1) << 18 | (uint32_t)(b - 1) << 12 | (uint32_t)(c - 1) << 6;
        o[n++] = (uint8_t)(v >> 16);
        o[n++] = (uint8_t)(v >> 8);
    }
    *outlen = n;
    return true;
}
