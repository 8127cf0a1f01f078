/* deflate_fast.c: a deflate encoder for delimited text of random tokens.
 * Part of common/; prepare's output chunks go through it. They are mostly
 * random hex tokens and base64 of sparse filters, where a general LZ77 search
 * (ISA-L level 1) spends most of its time finding nothing. What repeats there
 * is whole fields (a sex, month or area token seen a few rows up), so only
 * field starts are looked up, in one hash table of recent fields; the rest
 * is Huffman-coded literals from each block's own histogram. This keeps
 * level 1's file size within a few per cent at about three times its speed
 * (bench/results/2026-11-23-prepare.md has the measurements).
 *
 * Format: RFC 1951. Section 3.2.5 for length and distance codes, 3.2.7 for
 * the dynamic block header (code-length alphabet, its permuted order, the
 * run-length codes 16/17/18), 3.2.2 for canonical codes, 3.2.4 for stored
 * blocks. */
#include <stdatomic.h>
#include <stdbool.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#define DL_DEFLATE_X86 1
#include <immintrin.h>
#endif

#include "deflate_fast.h"

#define LL_SYMS 286           /* literals 0..255, end of block 256, lengths 257..285 */
#define EOB 256
#define D_SYMS 30
#define MAX_BITS 15           /* longest literal/length or distance code (3.2.7) */
#define CL_SYMS 19
#define CL_MAX_BITS 7         /* code-length codes have 3-bit lengths */
#define HUFF_MAX_SYMS 288
#define STORED_MAX 65535      /* bytes in one stored block (3.2.4) */
#define WINDOW 32768          /* farthest match distance */
#define MAX_MATCH 258
/* Shorter fields are left as literals: a match costs ~20-30 bits, about
 * what 5-6 literals of hex or base64 cost. */
#define MIN_FIELD 8
/* Input per block: small enough that its three passes (fields, histogram,
 * codes) run in L2 cache and the codes follow the data; big enough that the
 * block header (~100 bytes) is noise. */
#define SEG ((size_t)1 << 17)
/* Matches start at fields of >= MIN_FIELD bytes plus a separator. */
#define MAX_MATCHES (SEG / (MIN_FIELD + 1) + 1)
#define HASH_BITS 12
/* Literal and length codes are limited to 14 bits, so that four of them
 * always fit one 64-bit flush (4 * 14 + 7 leftover bits <= 64). The cost is
 * nil: only symbols rarer than 1 in 2^14 would get longer codes. */
#define LL_MAX_BITS 14
/* The literal histogram counts only the bytes of the first SAMPLE_WIN of
 * every SAMPLE_EVERY bytes of input: on a 128 KiB block of hex and base64
 * text that is still 32k samples of an alphabet of ~70 symbols, enough for
 * code lengths within a fraction of a per cent of the exact ones, at a
 * quarter of the counting time. Windows longer than a row see every column
 * of the rows they hold, where a sampling stride would alias with rows of
 * fixed length (slfmap rows are 48 bytes). A byte value the sample missed
 * has no code: when one occurs, the block is coded again from its exact
 * histogram. A block whose Huffman form turns out bigger than stored is
 * rewritten stored. */
#define SAMPLE_EVERY 4096
#define SAMPLE_WIN 1024

/* ---- bits, least significant first (3.1.1) -------------------------------- */

typedef struct bitw {
    uint8_t *p;
    uint64_t buf;
    unsigned cnt; /* bits in buf not yet past p; at most 7 after a flush */
} bitw;

static inline void store64(uint8_t *p, uint64_t v)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    memcpy(p, &v, 8);
#else
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
#endif
}

/* Store all 64 bits and move past the whole bytes: one unaligned store
 * instead of a loop; the bytes past the whole ones are rewritten later. */
static inline void flush(bitw *w)
{
    store64(w->p, w->buf);
    unsigned bytes = w->cnt >> 3;
    w->p += bytes;
    w->buf >>= 8 * bytes; /* cnt <= 63, so at most 56 */
    w->cnt &= 7;
}

/* V (N <= 16 bits) after what is there; flushed at once (header only). */
static void put(bitw *w, uint32_t v, unsigned n)
{
    w->buf |= (uint64_t)v << w->cnt;
    w->cnt += n;
    flush(w);
}

/* ---- Huffman code lengths ----------------------------------------------- */

typedef struct leaf {
    uint64_t w;
    uint16_t sym;
} leaf;

static int leaf_cmp(const void *a, const void *b)
{
    const leaf *x = a, *y = b;
    if (x->w != y->w)
        return x->w < y->w ? -1 : 1;
    return x->sym < y->sym ? -1 : x->sym > y->sym; /* ties by symbol: deterministic */
}

/* Sort the M leaves by weight, ties by symbol (as leaf_cmp orders them).
 * Weights below 2^55 go packed with their symbol into one 64-bit key and
 * through an insertion sort: a block's few hundred leaves (often sorted
 * again after flattening) cost less that way than qsort calling leaf_cmp;
 * larger weights (never from a block) take qsort. */
static void sort_leaves(leaf *lv, size_t m)
{
    uint64_t key[HUFF_MAX_SYMS];
    for (size_t i = 0; i < m; i++) {
        if (lv[i].w >> 55) {
            qsort(lv, m, sizeof *lv, leaf_cmp);
            return;
        }
        key[i] = lv[i].w << 9 | lv[i].sym;
    }
    for (size_t i = 1; i < m; i++) {
        uint64_t k = key[i];
        size_t j = i;
        for (; j > 0 && key[j - 1] > k; j--)
            key[j] = key[j - 1];
        key[j] = k;
    }
    for (size_t i = 0; i < m; i++)
        lv[i] = (leaf){key[i] >> 9, (uint16_t)(key[i] & 511)};
}

/* Unlimited Huffman lengths of the M (>= 2) leaves sorted by weight, by the
 * two-queue method (van Leeuwen 1976): merged nodes come out in
 * non-decreasing weight, so no heap is needed. Returns the longest. */
static unsigned huffman_depths(const leaf *lv, size_t m, uint8_t *len)
{
    uint64_t nw[2 * HUFF_MAX_SYMS];
    uint16_t parent[2 * HUFF_MAX_SYMS];
    uint8_t depth[2 * HUFF_MAX_SYMS];
    for (size_t i = 0; i < m; i++)
        nw[i] = lv[i].w;
    size_t li = 0, ii = m, next = m;
    while (next < 2 * m - 1) {
        size_t pick[2];
        for (int k = 0; k < 2; k++) {
            /* A leaf before an internal node of equal weight: shallower trees. */
            if (li < m && (ii >= next || nw[li] <= nw[ii]))
                pick[k] = li++;
            else
                pick[k] = ii++;
        }
        nw[next] = nw[pick[0]] + nw[pick[1]];
        parent[pick[0]] = parent[pick[1]] = (uint16_t)next;
        next++;
    }
    /* Parents are made after their children, so walking down from the
     * root in reverse order of creation sees every parent first. */
    unsigned max = 0;
    depth[2 * m - 2] = 0;
    for (size_t i = 2 * m - 2; i-- > 0;) {
        depth[i] = (uint8_t)(depth[parent[i]] + 1);
        if (i < m) {
            len[lv[i].sym] = depth[i];
            if (depth[i] > max)
                max = depth[i];
        }
    }
    return max;
}

void dl__huffman_lengths(const uint64_t *freq, size_t n, unsigned limit, uint8_t *len)
{
    leaf lv[HUFF_MAX_SYMS];
    size_t m = 0;
    memset(len, 0, n);
    for (size_t i = 0; i < n; i++)
        if (freq[i])
            lv[m++] = (leaf){freq[i], (uint16_t)i};
    /* A code of one symbol is incomplete, which inflaters may refuse: give
     * the first unused symbols a code too. */
    for (size_t i = 0; m < 2 && i < n; i++)
        if (!freq[i])
            lv[m++] = (leaf){1, (uint16_t)i};
    /* Too deep: flatten the weights and build again. Halving (keeping each
     * at least 1) lets rare symbols climb; it ends, at the latest, with all
     * weights 1 and depths ceil(log2 m) <= LIMIT. Rare on real data. */
    for (;;) {
        sort_leaves(lv, m);
        if (huffman_depths(lv, m, len) <= limit)
            return;
        for (size_t i = 0; i < m; i++)
            lv[i].w = (lv[i].w >> 1) | 1;
    }
}

/* Canonical codes (RFC 1951 3.2.2), bit-reversed, as deflate sends Huffman
 * codes starting from their most significant bit into an LSB-first stream. */
static void canonical_codes(const uint8_t *len, size_t n, uint16_t *code)
{
    unsigned count[MAX_BITS + 1] = {0}, next[MAX_BITS + 1];
    for (size_t i = 0; i < n; i++)
        count[len[i]]++;
    count[0] = 0;
    unsigned c = 0;
    for (unsigned b = 1; b <= MAX_BITS; b++) {
        c = (c + count[b - 1]) << 1;
        next[b] = c;
    }
    for (size_t i = 0; i < n; i++) {
        if (!len[i]) {
            code[i] = 0;
            continue;
        }
        unsigned v = next[len[i]]++, r = 0;
        for (unsigned b = 0; b < len[i]; b++)
            r |= ((v >> b) & 1u) << (len[i] - 1 - b);
        code[i] = (uint16_t)r;
    }
}


/* ---- length and distance symbols (3.2.5) -------------------------------- */

/* X >= 1. */
static inline unsigned floor_log2(unsigned x)
{
#if defined(__GNUC__) || defined(__clang__)
    return 31u - (unsigned)__builtin_clz(x);
#else
    unsigned r = 0;
    while (x >>= 1)
        r++;
    return r;
#endif
}

/* The symbol of match length LEN (3..258), its extra bits and their count. */
static unsigned length_sym(unsigned len, unsigned *extra, unsigned *nextra)
{
    if (len == MAX_MATCH) {
        *extra = *nextra = 0;
        return 285;
    }
    unsigned x = len - 3;
    if (x < 8) {
        *extra = *nextra = 0;
        return 257 + x;
    }
    /* Codes 265..284 come four to each extra-bit count from 1 to 5. */
    unsigned nb = floor_log2(x);
    *nextra = nb - 2;
    *extra = x & ((1u << (nb - 2)) - 1);
    return 257 + 4 * (nb - 1) + ((x >> (nb - 2)) & 3);
}

/* The symbol of distance D (1..32768), its extra bits and their count. */
static unsigned dist_sym(unsigned d, unsigned *extra, unsigned *nextra)
{
    unsigned x = d - 1;
    if (x < 4) {
        *extra = *nextra = 0;
        return x;
    }
    /* Codes 4..29 come two to each extra-bit count from 1 to 13. */
    unsigned nb = floor_log2(x);
    *nextra = nb - 1;
    *extra = x & ((1u << (nb - 1)) - 1);
    return 2 * nb + ((x >> (nb - 1)) & 1);
}

/* ---- the block header (3.2.7) ------------------------------------------- */

/* RFC 1951 3.2.7: the order code-length code lengths are sent in. */
static const uint8_t cl_order[CL_SYMS] = {16, 17, 18, 0, 8,  7, 9,  6, 10, 5,
                                          11, 4,  12, 3, 13, 2, 14, 1, 15};

typedef struct cl_item {
    uint8_t sym, extra;
} cl_item;

/* Run-length code the N lengths L into ITEMS; returns their count. 16
 * repeats the previous length 3-6 times, 17 gives 3-10 zeros, 18 11-138. */
static size_t rle_lengths(const uint8_t *l, size_t n_len, cl_item *items)
{
    size_t n = 0;
    for (size_t i = 0; i < n_len;) {
        uint8_t v = l[i];
        size_t run = 1;
        while (i + run < n_len && l[i + run] == v)
            run++;
        i += run;
        if (v == 0) {
            while (run >= 11) {
                size_t r = run < 138 ? run : 138;
                items[n++] = (cl_item){18, (uint8_t)(r - 11)};
                run -= r;
            }
            if (run >= 3) {
                items[n++] = (cl_item){17, (uint8_t)(run - 3)};
                run = 0;
            }
        } else {
            items[n++] = (cl_item){v, 0};
            run--;
            while (run >= 3) {
                size_t r = run < 6 ? run : 6;
                items[n++] = (cl_item){16, (uint8_t)(r - 3)};
                run -= r;
            }
        }
        while (run--)
            items[n++] = (cl_item){v, 0};
    }
    return n;
}

/* Write BFINAL, BTYPE = dynamic and the code lengths of both alphabets. With
 * no distance codes, one of length zero is sent: RFC 1951 3.2.7 reserves it
 * for "no distance codes used at all (the data is all literals)". */
static void write_header(bitw *w, bool final, const uint8_t *ll_len, const uint8_t *d_len)
{
    size_t hlit = LL_SYMS, hdist = D_SYMS;
    while (hlit > 257 && ll_len[hlit - 1] == 0)
        hlit--;
    while (hdist > 1 && d_len[hdist - 1] == 0)
        hdist--;
    uint8_t l[LL_SYMS + D_SYMS];
    memcpy(l, ll_len, hlit);
    memcpy(l + hlit, d_len, hdist);
    cl_item items[LL_SYMS + D_SYMS];
    size_t n_items = rle_lengths(l, hlit + hdist, items);
    uint64_t cl_freq[CL_SYMS] = {0};
    for (size_t i = 0; i < n_items; i++)
        cl_freq[items[i].sym]++;
    uint8_t cl_len[CL_SYMS];
    uint16_t cl_code[CL_SYMS];
    dl__huffman_lengths(cl_freq, CL_SYMS, CL_MAX_BITS, cl_len);
    canonical_codes(cl_len, CL_SYMS, cl_code);
    size_t nclen = CL_SYMS;
    while (nclen > 4 && cl_len[cl_order[nclen - 1]] == 0)
        nclen--;
    put(w, final ? 1 : 0, 1);            /* BFINAL */
    put(w, 2, 2);                        /* BTYPE 10: dynamic Huffman */
    put(w, (uint32_t)(hlit - 257), 5);   /* HLIT */
    put(w, (uint32_t)(hdist - 1), 5);    /* HDIST */
    put(w, (uint32_t)(nclen - 4), 4);    /* HCLEN */
    for (size_t i = 0; i < nclen; i++)
        put(w, cl_len[cl_order[i]], 3);
    static const uint8_t extra_bits[CL_SYMS] = {[16] = 2, [17] = 3, [18] = 7};
    for (size_t i = 0; i < n_items; i++) {
        uint8_t s = items[i].sym;
        put(w, cl_code[s], cl_len[s]);
        if (extra_bits[s])
            put(w, items[i].extra, extra_bits[s]);
    }
}

/* ---- finding repeated fields -------------------------------------------- */

typedef struct match {
    uint32_t pos;  /* offset in the input */
    uint16_t len;  /* 3..258 (>= MIN_FIELD in practice) */
    uint16_t dist; /* 1..32768, stored as dist - 1 */
} match;

typedef struct work {
    uint32_t table[1u << HASH_BITS]; /* offset + 1 of the latest field of a hash */
    match m[MAX_MATCHES];
    size_t n_m;
} work;

static inline bool is_sep(uint8_t c)
{
    return c == ',' || c == ' ' || c == '\n';
}

/* Offset of the first separator in P[I..END), or END. SSE2 is part of
 * x86-64, so no dispatch is needed; elsewhere the plain loop. Either way
 * the same answer. (A separator bitmap of the whole block, made with
 * AVX-512 first, measured no faster: the time here goes to the hash table
 * and the match checks, not the scan.) */
static size_t next_sep(const uint8_t *p, size_t i, size_t end)
{
#if defined(__SSE2__)
    const __m128i comma = _mm_set1_epi8(','), space = _mm_set1_epi8(' ');
    const __m128i nl = _mm_set1_epi8('\n');
    for (; i + 16 <= end; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i hit = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, comma), _mm_cmpeq_epi8(v, space)),
                                   _mm_cmpeq_epi8(v, nl));
        unsigned mask = (unsigned)_mm_movemask_epi8(hit);
        if (mask)
            return i + (size_t)__builtin_ctz(mask);
    }
#endif
    while (i < end && !is_sep(p[i]))
        i++;
    return i;
}

/* A hash of a field's length, first and last 8 bytes (N >= 8), read as
 * little-endian on any machine so the output does not depend on it. */
static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t field_hash(const uint8_t *p, size_t n)
{
    uint64_t a = load_le64(p), b = load_le64(p + n - 8);
    uint64_t h = (a ^ (b * 0x9e3779b97f4a7c15ull) ^ n) * 0xff51afd7ed558ccdull;
    return (uint32_t)(h >> (64 - HASH_BITS));
}

/* How many of the first LIM bytes at A and B agree; A < B, and B + LIM is
 * within the input. Eight bytes at a time: the first differing byte is the
 * lowest set byte of the XOR of little-endian loads. */
static inline size_t common_prefix(const uint8_t *a, const uint8_t *b, size_t lim)
{
    size_t n = 0;
    for (; n + 8 <= lim; n += 8) {
        uint64_t x = load_le64(a + n) ^ load_le64(b + n);
        if (x) {
#if defined(__GNUC__) || defined(__clang__)
            return n + (size_t)__builtin_ctzll(x) / 8;
#else
            while (!(x & 0xff)) {
                x >>= 8;
                n++;
            }
            return n;
#endif
        }
    }
    while (n < lim && a[n] == b[n])
        n++;
    return n;
}

/* Fill W->m with the matches of the block SRC[START..END): at each field of
 * MIN_FIELD..MAX_MATCH bytes not inside an earlier match, the latest field
 * of the same hash within the window, if its bytes agree; the match then
 * runs on while the bytes do (up to MAX_MATCH or END). Every field goes into
 * the table, so the nearest earlier copy is the one found. */
static void find_matches(const uint8_t *src, size_t start, size_t end, work *w)
{
    w->n_m = 0;
    size_t i = start, covered = start;
    if (i > 0 && !is_sep(src[i - 1]))
        i = next_sep(src, i, end) + 1; /* the field cut by the block edge */
    while (i < end) {
        size_t e = next_sep(src, i, end), flen = e - i;
        if (flen >= MIN_FIELD && flen <= MAX_MATCH) {
            uint32_t *slot = &w->table[field_hash(src + i, flen)];
            size_t cand = *slot;
            *slot = (uint32_t)(i + 1);
            if (i >= covered && cand && i - (cand - 1) <= WINDOW) {
                size_t c = cand - 1, lim = end - i < MAX_MATCH ? end - i : MAX_MATCH;
                size_t ml = common_prefix(src + c, src + i, lim);
                if (ml >= flen) {
                    w->m[w->n_m++] = (match){(uint32_t)i, (uint16_t)ml, (uint16_t)(i - c - 1)};
                    covered = i + ml;
                }
            }
        }
        i = e + 1;
    }
}

/* ---- the encoder ---------------------------------------------------------- */

/* Add the byte counts of P[0..N) to T, four tables so that a run of one
 * byte value does not make every increment wait for the one before. */
static void histogram_add(const uint8_t *p, size_t n, uint32_t t[4][256])
{
    size_t i = 0;
    for (; i + 4 <= n; i += 4) {
        t[0][p[i]]++;
        t[1][p[i + 1]]++;
        t[2][p[i + 2]]++;
        t[3][p[i + 3]]++;
    }
    for (; i < n; i++)
        t[0][p[i]]++;
}

/* Add to T the counts of the bytes of SRC[A..B) that lie in a sample window. */
static void histogram_sample(const uint8_t *src, size_t a, size_t b, uint32_t t[4][256])
{
    while (a < b) {
        size_t win = a & ~(size_t)(SAMPLE_EVERY - 1);
        if (a < win + SAMPLE_WIN) {
            size_t e = b < win + SAMPLE_WIN ? b : win + SAMPLE_WIN;
            histogram_add(src + a, e - a, t);
            a = e;
        } else {
            a = win + SAMPLE_EVERY;
        }
    }
}

static size_t stored_size(size_t len)
{
    size_t blocks = len ? (len + STORED_MAX - 1) / STORED_MAX : 1;
    return len + 5 * blocks;
}

size_t dl__deflate_fast_bound(size_t len)
{
    /* Each block is at most its stored size plus a byte of bit padding (the
     * encoder picks stored blocks when Huffman would be bigger); a header
     * written before that choice (< 1 KB) and 8 bytes of slack for the last
     * 64-bit store come on top. */
    size_t blocks = len / SEG + 1;
    /* A Huffman block is written before it is known to be no bigger than
     * stored (the histogram is sampled), and rewound when it is bigger: its
     * codes are at most 14 bits a byte, so one block may run 3/4 of SEG past
     * its stored size meanwhile. */
    return stored_size(len) + 5 * blocks + blocks + 1024 + SEG / 4 * 3 + 8;
}

/* Stored blocks (3.2.4) of SRC[0..LEN): 3 header bits, padding to a byte,
 * LEN, NLEN, the bytes. */
static void write_stored(bitw *w, const uint8_t *src, size_t len, bool final)
{
    size_t done = 0;
    do {
        size_t n = len - done < STORED_MAX ? len - done : STORED_MAX;
        put(w, final && done + n == len ? 1 : 0, 3);
        uint8_t *o = w->p + (w->cnt ? 1 : 0);
        o[0] = (uint8_t)n;
        o[1] = (uint8_t)(n >> 8);
        o[2] = (uint8_t)~n;
        o[3] = (uint8_t)(~n >> 8);
        if (n)
            memcpy(o + 4, src + done, n);
        w->p = o + 4 + n;
        w->buf = 0;
        w->cnt = 0;
        done += n;
    } while (done < len);
}

/* A table entry of a byte value without a code: length 0, and a flag bit
 * above any code. Its bits may reach the stream, but the stream advances by
 * lengths alone, so no more is written than with a code of length 0; the
 * caller sees the flag in write_literals()' result and writes the block
 * again. */
#define NO_CODE ((uint64_t)1 << 31)

/* The literals S[0..LEN); TAB[b] is b's code (low 32 bits) and length
 * (high 32 bits), at most LL_MAX_BITS, or NO_CODE. Returns the OR of the
 * entries used, so the caller sees whether a NO_CODE byte was met. Four
 * codes are first joined into one group of at most 56 bits, which then goes into the stream with a single
 * shift by the bit count: the shifts inside a group do not wait for the
 * running count, so the chain from one group to the next is short. */
static uint64_t write_literals(bitw *w, const uint8_t *s, size_t len, const uint64_t tab[256])
{
    const uint8_t *end = s + len;
    uint64_t seen = 0;
    uint64_t buf = w->buf;
    unsigned cnt = w->cnt;
    uint8_t *p = w->p;
    for (; end - s >= 4; s += 4) {
        uint64_t e0 = tab[s[0]], e1 = tab[s[1]], e2 = tab[s[2]], e3 = tab[s[3]];
        seen |= e0 | e1 | e2 | e3;
        unsigned l0 = (unsigned)(e0 >> 32), l1 = (unsigned)(e1 >> 32);
        unsigned l2 = (unsigned)(e2 >> 32), l3 = (unsigned)(e3 >> 32);
        uint64_t lo = (uint32_t)e0 | (uint64_t)(uint32_t)e1 << l0;
        uint64_t hi = (uint32_t)e2 | (uint64_t)(uint32_t)e3 << l2;
        uint64_t g = lo | hi << (l0 + l1);
        buf |= g << cnt;
        cnt += l0 + l1 + l2 + l3;
        store64(p, buf);
        p += cnt >> 3;
        buf >>= cnt & ~7u;
        cnt &= 7;
    }
    for (; s < end; s++) {
        seen |= tab[s[0]];
        buf |= (uint64_t)(uint32_t)tab[s[0]] << cnt;
        cnt += (unsigned)(tab[s[0]] >> 32);
        store64(p, buf);
        p += cnt >> 3;
        buf >>= cnt & ~7u;
        cnt &= 7;
    }
    w->buf = buf;
    w->cnt = cnt;
    w->p = p;
    return seen;
}

/* ---- literals with AVX-512 VBMI ----------------------------------------- */

#ifdef DL_DEFLATE_X86
/* The codes of the byte values 0..127 split into three byte tables (length,
 * low and high byte of the code), so that vpermi2b looks up 64 bytes at once;
 * ids and slfmap text is ASCII, and a 64-byte step that holds a byte >= 128
 * goes through the scalar coder. Length 0 means no code. */
typedef struct lit_vtab {
    uint8_t len[128], lo[128], hi[128];
} lit_vtab;

static void lit_vtab_fill(lit_vtab *v, const uint64_t tab[256])
{
    for (int b = 0; b < 128; b++) {
        v->len[b] = (tab[b] & NO_CODE) ? 0 : (uint8_t)(tab[b] >> 32);
        v->lo[b] = (uint8_t)tab[b];
        v->hi[b] = (uint8_t)(tab[b] >> 8);
    }
}

/* write_literals() 64 bytes a step: the codes are looked up by vpermi2b,
 * joined in registers two by two (16 -> 32 bits) and again (-> 64 bits, at
 * most 4 * 14 = 56 bits) with variable shifts, and the 16 groups of four go
 * into the stream as in the scalar coder, so the bits are the same. The
 * input is first permuted so that unpacking the code bytes (which works
 * within 128-bit lanes) leaves the symbols in order. Returns NO_CODE when a
 * byte without a code was met (its group is then short: harmless, as the
 * caller writes the block again). */
__attribute__((target("avx512f,avx512bw,avx512vbmi,bmi2"))) static uint64_t
write_literals_vbmi(bitw *w, const uint8_t *s, size_t len, const uint64_t tab[256],
                    const lit_vtab *vt)
{
    /* Byte 16k + j of the permuted vector is input byte 8k + j (j < 8) or
     * 32 + 8k + (j - 8): then unpacklo gives symbols 0..31 in order and
     * unpackhi 32..63. */
    static const uint8_t order_b[64] = {
        0,  1,  2,  3,  4,  5,  6,  7,  32, 33, 34, 35, 36, 37, 38, 39,
        8,  9,  10, 11, 12, 13, 14, 15, 40, 41, 42, 43, 44, 45, 46, 47,
        16, 17, 18, 19, 20, 21, 22, 23, 48, 49, 50, 51, 52, 53, 54, 55,
        24, 25, 26, 27, 28, 29, 30, 31, 56, 57, 58, 59, 60, 61, 62, 63,
    };
    const __m512i order = _mm512_loadu_si512(order_b);
    const __m512i len_a = _mm512_loadu_si512(vt->len), len_b = _mm512_loadu_si512(vt->len + 64);
    const __m512i lo_a = _mm512_loadu_si512(vt->lo), lo_b = _mm512_loadu_si512(vt->lo + 64);
    const __m512i hi_a = _mm512_loadu_si512(vt->hi), hi_b = _mm512_loadu_si512(vt->hi + 64);
    const __m512i zero = _mm512_setzero_si512();
    const __m512i low16 = _mm512_set1_epi32(0xffff);
    const __m512i low32 = _mm512_set1_epi64(0xffffffff);
    uint64_t seen = 0;
    uint64_t buf = w->buf;
    unsigned cnt = w->cnt;
    uint8_t *p = w->p;
    for (size_t i = 0; i < len; i += 64) {
        /* The last step loads fewer bytes; its other lanes get length 0,
         * so their groups add nothing. */
        size_t n = len - i < 64 ? len - i : 64;
        __mmask64 in = n == 64 ? ~(__mmask64)0 : ((__mmask64)1 << n) - 1;
        __m512i x = _mm512_maskz_loadu_epi8(in, s + i);
        if (_mm512_movepi8_mask(x)) { /* a byte >= 128 */
            w->buf = buf, w->cnt = cnt, w->p = p;
            seen |= write_literals(w, s + i, n, tab);
            buf = w->buf, cnt = w->cnt, p = w->p;
            continue;
        }
        __mmask64 valid = _mm512_movepi8_mask(_mm512_permutexvar_epi8(order, _mm512_movm_epi8(in)));
        x = _mm512_permutexvar_epi8(order, x);
        __m512i l = _mm512_maskz_permutex2var_epi8(valid, len_a, x, len_b);
        if (_mm512_mask_testn_epi8_mask(valid, l, l))
            seen |= NO_CODE;
        __m512i lo = _mm512_maskz_permutex2var_epi8(valid, lo_a, x, lo_b);
        __m512i hi = _mm512_maskz_permutex2var_epi8(valid, hi_a, x, hi_b);
        /* Through memory: 32 loads cost less than the lane extractions a
         * compiler makes of register-held groups. */
        _Alignas(64) uint64_t g[16], gl[16];
        for (int h = 0; h < 2; h++) {
            __m512i c16 = h ? _mm512_unpackhi_epi8(lo, hi) : _mm512_unpacklo_epi8(lo, hi);
            __m512i l16 = h ? _mm512_unpackhi_epi8(l, zero) : _mm512_unpacklo_epi8(l, zero);
            /* Pairs: even | odd << len(even), lengths summed. */
            __m512i le = _mm512_and_si512(l16, low16);
            __m512i c32 = _mm512_or_si512(_mm512_and_si512(c16, low16),
                                          _mm512_sllv_epi32(_mm512_srli_epi32(c16, 16), le));
            __m512i l32 = _mm512_add_epi32(le, _mm512_srli_epi32(l16, 16));
            /* Quads, the same one level up. */
            __m512i ll = _mm512_and_si512(l32, low32);
            __m512i c64 = _mm512_or_si512(_mm512_and_si512(c32, low32),
                                          _mm512_sllv_epi64(_mm512_srli_epi64(c32, 32), ll));
            __m512i l64 = _mm512_add_epi64(ll, _mm512_srli_epi64(l32, 32));
            _mm512_store_si512(g + 8 * h, c64);
            _mm512_store_si512(gl + 8 * h, l64);
        }
        /* An empty asm that may read the arrays keeps them in memory. */
        __asm__ volatile("" : : "r"(g), "r"(gl) : "memory");
        for (size_t k = 0; k < (n + 3) / 4; k++) {
            buf |= g[k] << cnt;
            cnt += (unsigned)gl[k];
            store64(p, buf);
            p += cnt >> 3;
            buf >>= cnt & ~7u;
            cnt &= 7;
        }
    }
    w->buf = buf;
    w->cnt = cnt;
    w->p = p;
    return seen;
}
#endif

/* Whether this CPU runs write_literals_vbmi (AVX-512 F, BW and VBMI, BMI2, with
 * the OS saving their state: __builtin_cpu_supports checks both). */
static bool have_vbmi(void)
{
#ifdef DL_DEFLATE_X86
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vbmi") && __builtin_cpu_supports("bmi2");
#else
    return false;
#endif
}

bool dl__deflate_fast_have_simd(void)
{
    return have_vbmi();
}

/* The literal coder of one block: the vector one when allowed, else scalar.
 * Runs shorter than LIT_SIMD_MIN stay scalar: the vector step's fixed cost
 * (three lookups, the unpacking) outweighs a few symbols. */
#define LIT_SIMD_MIN 16
typedef struct lit_coder {
    const uint64_t *tab;
#ifdef DL_DEFLATE_X86
    bool simd;
    lit_vtab vt;
#endif
} lit_coder;

static inline uint64_t code_literals(bitw *w, const uint8_t *s, size_t len, const lit_coder *lc)
{
#ifdef DL_DEFLATE_X86
    if (lc->simd && len >= LIT_SIMD_MIN)
        return write_literals_vbmi(w, s, len, lc->tab, &lc->vt);
#endif
    return write_literals(w, s, len, lc->tab);
}

/* One block: SRC[START..END) with the matches in W, its literal codes from
 * a sample of its bytes (EXACT false) or from all of them. False, with *W
 * undefined, when a literal met no code: it was not in the sample. */
static bool try_block(bitw *w, const uint8_t *src, size_t start, size_t end, const work *wk,
                      bool final, bool exact, bool simd)
{
    /* Symbol counts: the literals of the gaps between matches (sampled ones
     * scaled back), then the matches' length and distance symbols. */
    uint32_t t[4][256];
    memset(t, 0, sizeof t);
    uint64_t ll_freq[LL_SYMS] = {0}, d_freq[D_SYMS] = {0}, extra_total = 0;
    size_t at = start;
    for (size_t k = 0; k < wk->n_m; k++) {
        const match *m = &wk->m[k];
        if (exact)
            histogram_add(src + at, m->pos - at, t);
        else
            histogram_sample(src, at, m->pos, t);
        unsigned ex, nex, dx, ndx;
        ll_freq[length_sym(m->len, &ex, &nex)]++;
        d_freq[dist_sym(m->dist + 1u, &dx, &ndx)]++;
        extra_total += nex + ndx;
        at = m->pos + m->len;
    }
    if (exact)
        histogram_add(src + at, end - at, t);
    else
        histogram_sample(src, at, end, t);
    uint64_t scale = exact ? 1 : SAMPLE_EVERY / SAMPLE_WIN;
    for (int s = 0; s < 256; s++)
        ll_freq[s] = ((uint64_t)t[0][s] + t[1][s] + t[2][s] + t[3][s]) * scale;
    /* The characters of hex, base64 and CSV text get a code even when the
     * sample missed them: a filter's rare base64 digits ('/', '+', 'v' have
     * many bits set) would otherwise send most blocks to the exact pass. */
    if (!exact)
        for (int s = 0; s < 256; s++)
            ll_freq[s] += (s >= '+' && s <= 'z') || s == ' ' || s == '\n';
    ll_freq[EOB] = 1;
    uint8_t ll_len[LL_SYMS], d_len[D_SYMS];
    uint16_t ll_code[LL_SYMS], d_code[D_SYMS];
    dl__huffman_lengths(ll_freq, LL_SYMS, LL_MAX_BITS, ll_len);
    if (wk->n_m)
        dl__huffman_lengths(d_freq, D_SYMS, MAX_BITS, d_len);
    else
        memset(d_len, 0, sizeof d_len);
    canonical_codes(ll_len, LL_SYMS, ll_code);
    canonical_codes(d_len, D_SYMS, d_code);

    bitw saved = *w;
    write_header(w, final, ll_len, d_len);
    /* The size of the Huffman block (estimated when sampled) against
     * stored blocks; after writing, the exact size decides again. */
    uint64_t stored_bits = 8 * (uint64_t)stored_size(end - start) + 8;
    uint64_t bits = (uint64_t)(w->p - saved.p) * 8 + w->cnt - saved.cnt + extra_total;
    for (size_t s = 0; s < LL_SYMS; s++)
        bits += ll_freq[s] * ll_len[s];
    for (size_t s = 0; s < D_SYMS; s++)
        bits += d_freq[s] * d_len[s];
    if (bits > stored_bits) {
        *w = saved;
        write_stored(w, src + start, end - start, final);
        return true;
    }
    uint64_t tab[256];
    for (int s = 0; s < 256; s++)
        tab[s] = ll_len[s] ? ll_code[s] | (uint64_t)ll_len[s] << 32 : NO_CODE;
    lit_coder lc = {.tab = tab};
#ifdef DL_DEFLATE_X86
    lc.simd = simd;
    if (simd)
        lit_vtab_fill(&lc.vt, tab);
#else
    (void)simd;
#endif
    uint64_t seen = 0;
    at = start;
    for (size_t k = 0; k < wk->n_m; k++) {
        const match *m = &wk->m[k];
        seen |= code_literals(w, src + at, m->pos - at, &lc);
        unsigned ex, nex, dx, ndx;
        unsigned ls = length_sym(m->len, &ex, &nex), ds = dist_sym(m->dist + 1u, &dx, &ndx);
        /* At most 14 + 5 and 15 + 13 bits: two flushes. */
        w->buf |= ((uint64_t)ll_code[ls] | (uint64_t)ex << ll_len[ls]) << w->cnt;
        w->cnt += ll_len[ls] + nex;
        flush(w);
        w->buf |= ((uint64_t)d_code[ds] | (uint64_t)dx << d_len[ds]) << w->cnt;
        w->cnt += d_len[ds] + ndx;
        flush(w);
        at = m->pos + m->len;
    }
    seen |= code_literals(w, src + at, end - at, &lc);
    if (seen & NO_CODE)
        return false;
    put(w, ll_code[EOB], ll_len[EOB]);
    if ((uint64_t)(w->p - saved.p) * 8 + w->cnt - saved.cnt > stored_bits) {
        *w = saved;
        write_stored(w, src + start, end - start, final);
    }
    return true;
}

/* One block: sampled codes first; the exact histogram when the sample
 * missed a byte value that occurs (rare in ids text: a stray character). */
static void write_block(bitw *w, const uint8_t *src, size_t start, size_t end, const work *wk,
                        bool final, bool simd)
{
    bitw saved = *w;
    if (try_block(w, src, start, end, wk, final, false, simd))
        return;
    *w = saved;
    bool ok = try_block(w, src, start, end, wk, final, true, simd);
    (void)ok; /* every literal of an exact histogram has a code */
}

static size_t deflate_impl(const uint8_t *src, size_t len, uint8_t *dst, bool simd)
{
    work *wk = malloc(sizeof *wk);
    if (!wk)
        return SIZE_MAX;
    memset(wk->table, 0, sizeof wk->table);
    bitw w = {dst, 0, 0};
    size_t start = 0;
    do {
        size_t end = len - start < SEG ? len : start + SEG;
        find_matches(src, start, end, wk);
        write_block(&w, src, start, end, wk, end == len, simd);
        start = end;
    } while (start < len);
    free(wk);
    return (size_t)(w.p - dst) + (w.cnt ? 1 : 0);
}

/* Chosen on first use; two threads' concurrent first use both store the
 * same answer, and a relaxed atomic makes that well defined. 0 = not yet,
 * 1 = scalar, 2 = vector. */
static _Atomic int simd_state;

size_t dl__deflate_fast(const uint8_t *src, size_t len, uint8_t *dst)
{
    int st = atomic_load_explicit(&simd_state, memory_order_relaxed);
    if (!st) {
        st = have_vbmi() ? 2 : 1;
        atomic_store_explicit(&simd_state, st, memory_order_relaxed);
    }
    return deflate_impl(src, len, dst, st == 2);
}

size_t dl__deflate_fast_portable(const uint8_t *src, size_t len, uint8_t *dst)
{
    return deflate_impl(src, len, dst, false);
}
