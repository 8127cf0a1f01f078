/* test_dice.c: the Dice kernels' batch entry points (linkage/dice.c):
 * pairs (dl__and_popcount_many) with and without runs that share a row, and
 * one filter against many rows (dl__and_popcount_rows, dl__and_popcount_idx).
 * Every kernel the CPU has is run and checked against a bit-by-bit count,
 * over word counts 1..33 (16, the 1024-bit case, has its own AVX-512 loops),
 * batch sizes around the 8-count step, and n = 0. Single-pair counts are
 * tested in test_compare.c. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/link_internal.h"

static const char *const kernel_names[] = {"portable", "popcnt", "avx2", "avx512-vpopcntdq"};
#define N_KERNELS (sizeof kernel_names / sizeof kernel_names[0])

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t rnd64(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* The count the slow way: bit by bit. */
static uint32_t ref_count(const uint64_t *a, const uint64_t *b, size_t words)
{
    uint32_t n = 0;
    for (size_t w = 0; w < words; w++)
        for (int bit = 0; bit < 64; bit++)
            n += (uint32_t)((a[w] & b[w]) >> bit & 1);
    return n;
}

/* N_REC rows of WORDS words in an allocation of exactly that size, so that
 * AddressSanitizer sees a read past the last row. Row 0 is all ones (counts
 * of 64 a word), row 1 all zeros, the rest dense or sparse random. */
static uint64_t *make_rows(size_t n_rec, size_t words)
{
    uint64_t *bits = malloc(n_rec * words * sizeof *bits);
    cr_assert_not_null(bits);
    for (size_t r = 0; r < n_rec; r++)
        for (size_t w = 0; w < words; w++) {
            uint64_t x = r == 0 ? ~UINT64_C(0) : r == 1 ? 0 : rnd64();
            bits[r * words + w] = r % 3 == 2 ? x & rnd64() : x;
        }
    return bits;
}

/* Batch sizes around the 8-count step, and longer ones with tails. */
static const size_t batch_sizes[] = {0, 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 200, 1001};
#define N_SIZES (sizeof batch_sizes / sizeof batch_sizes[0])
#define MAX_BATCH 1001
#define SENTINEL UINT32_C(0xdeadbeef)

static size_t available(const char **avail)
{
    size_t n = 0;
    for (size_t x = 0; x < N_KERNELS; x++)
        if (dl__dice_force(kernel_names[x]))
            avail[n++] = kernel_names[x];
    cr_assert(n >= 1 && strcmp(avail[0], "portable") == 0);
    return n;
}

/* OUT[0..N-1] written with the expected counts, OUT[N] left alone. */
static void check_out(const uint32_t *out, const uint32_t *want, size_t n, const char *kernel,
                      const char *what, size_t words)
{
    for (size_t k = 0; k < n; k++)
        cr_assert_eq(out[k], want[k], "%s, %s, %zu words, n %zu: count %zu is %u, expected %u",
                     kernel, what, words, n, k, out[k], want[k]);
    cr_assert_eq(out[n], SENTINEL, "%s, %s, %zu words: wrote past n = %zu", kernel, what,
                 words, n);
}

/* Pairs whose i repeats in runs of 1..MAX_RUN (blocking's order), with a
 * j anywhere, some j == i. */
static void run_pairs(dl_pair *p, size_t n, size_t n_rec, size_t max_run)
{
    size_t k = 0;
    while (k < n) {
        uint32_t i = (uint32_t)(rnd64() % n_rec);
        size_t run = 1 + rnd64() % max_run;
        for (size_t r = 0; r < run && k < n; r++, k++)
            p[k] = (dl_pair){i, rnd64() % 5 == 0 ? i : (uint32_t)(rnd64() % n_rec)};
    }
}

Test(dice, pairs_with_and_without_runs_match_a_bit_count)
{
    const size_t n_rec = 97;
    const char *avail[N_KERNELS];
    size_t n_avail = available(avail);
    dl_pair *p = malloc(MAX_BATCH * sizeof *p);
    uint32_t want[MAX_BATCH], out[MAX_BATCH + 1];
    /* runs of 1 (i changes at every pair), short runs that straddle the
     * 8-pair groups, and runs longer than a group */
    static const size_t max_runs[] = {1, 3, 9, 40, 2000};
    for (size_t words = 1; words <= 33; words++) {
        uint64_t *bits = make_rows(n_rec, words);
        for (size_t m = 0; m < sizeof max_runs / sizeof max_runs[0]; m++)
            for (size_t s = 0; s < N_SIZES; s++) {
                size_t n = batch_sizes[s];
                run_pairs(p, n, n_rec, max_runs[m]);
                for (size_t k = 0; k < n; k++)
                    want[k] = ref_count(bits + p[k].i * words, bits + p[k].j * words, words);
                for (size_t x = 0; x < n_avail; x++) {
                    cr_assert(dl__dice_force(avail[x]));
                    for (size_t k = 0; k <= n; k++)
                        out[k] = SENTINEL;
                    dl__and_popcount_many(bits, words, p, n, out);
                    check_out(out, want, n, avail[x], "pairs", words);
                }
            }
        free(bits);
    }
    cr_assert(dl__dice_force("auto"));
    free(p);
}

Test(dice, one_against_rows_matches_a_bit_count)
{
    const char *avail[N_KERNELS];
    size_t n_avail = available(avail);
    uint32_t want[MAX_BATCH], out[MAX_BATCH + 1];
    for (size_t words = 1; words <= 33; words++) {
        /* the query is one of the rows too (all ones, zeros, or random), as
         * when a record meets its own block */
        uint64_t *rows = make_rows(MAX_BATCH, words);
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = batch_sizes[s];
            const uint64_t *a = rows + (s % 3) * words;
            /* the last N rows of the allocation: a full-width read past a
             * short tail would leave it */
            const uint64_t *first = rows + (MAX_BATCH - n) * words;
            for (size_t k = 0; k < n; k++)
                want[k] = ref_count(a, first + k * words, words);
            for (size_t x = 0; x < n_avail; x++) {
                cr_assert(dl__dice_force(avail[x]));
                for (size_t k = 0; k <= n; k++)
                    out[k] = SENTINEL;
                dl__and_popcount_rows(a, first, words, n, out);
                check_out(out, want, n, avail[x], "rows", words);
            }
        }
        free(rows);
    }
    cr_assert(dl__dice_force("auto"));
}

Test(dice, one_against_indexed_rows_matches_a_bit_count)
{
    const size_t n_rec = 61;
    const char *avail[N_KERNELS];
    size_t n_avail = available(avail);
    uint32_t want[MAX_BATCH], out[MAX_BATCH + 1], idx[MAX_BATCH];
    for (size_t words = 1; words <= 33; words++) {
        uint64_t *bits = make_rows(n_rec, words);
        uint64_t *a = make_rows(1, words + 1) + 1; /* a query outside BITS, misaligned */
        for (size_t w = 0; w < words; w++)
            a[w] = rnd64() | rnd64();
        for (size_t s = 0; s < N_SIZES; s++) {
            size_t n = batch_sizes[s];
            for (size_t k = 0; k < n; k++)
                idx[k] = k % 4 == 3 ? (uint32_t)(n_rec - 1) : (uint32_t)(rnd64() % n_rec);
            for (size_t k = 0; k < n; k++)
                want[k] = ref_count(a, bits + idx[k] * words, words);
            for (size_t x = 0; x < n_avail; x++) {
                cr_assert(dl__dice_force(avail[x]));
                for (size_t k = 0; k <= n; k++)
                    out[k] = SENTINEL;
                dl__and_popcount_idx(a, bits, words, idx, n, out);
                check_out(out, want, n, avail[x], "indexed rows", words);
            }
        }
        free(a - 1);
        free(bits);
    }
    cr_assert(dl__dice_force("auto"));
}

Test(dice, empty_batches_read_and_write_nothing)
{
    const char *avail[N_KERNELS];
    size_t n_avail = available(avail);
    uint32_t out = SENTINEL;
    static const size_t words[] = {1, 16, 17};
    for (size_t x = 0; x < n_avail; x++) {
        cr_assert(dl__dice_force(avail[x]));
        for (size_t w = 0; w < sizeof words / sizeof words[0]; w++) {
            dl__and_popcount_many(NULL, words[w], NULL, 0, &out);
            dl__and_popcount_rows(NULL, NULL, words[w], 0, &out);
            dl__and_popcount_idx(NULL, NULL, words[w], NULL, 0, &out);
            cr_assert_eq(out, SENTINEL, "%s, %zu words", avail[x], words[w]);
        }
    }
    cr_assert(dl__dice_force("auto"));
}

/* The three entry points are three routes to the same numbers: a block met
 * as pairs (i fixed, j walking), as indexed rows, and copied out as
 * contiguous rows must give the same counts on every kernel. */
Test(dice, pairs_rows_and_indexed_rows_agree)
{
    const size_t n_rec = 300, words = 16, n = 299;
    const char *avail[N_KERNELS];
    size_t n_avail = available(avail);
    uint64_t *bits = make_rows(n_rec, words);
    uint64_t *rows = malloc(n * words * sizeof *rows);
    dl_pair *p = malloc(n * sizeof *p);
    uint32_t idx[299], by_pairs[300], by_rows[300], by_idx[300], first[299];
    for (size_t k = 0; k < n; k++) {
        idx[k] = (uint32_t)(rnd64() % n_rec);
        p[k] = (dl_pair){7, idx[k]};
        memcpy(rows + k * words, bits + (size_t)idx[k] * words, words * sizeof *rows);
    }
    for (size_t x = 0; x < n_avail; x++) {
        cr_assert(dl__dice_force(avail[x]));
        dl__and_popcount_many(bits, words, p, n, by_pairs);
        dl__and_popcount_rows(bits + 7 * words, rows, words, n, by_rows);
        dl__and_popcount_idx(bits + 7 * words, bits, words, idx, n, by_idx);
        for (size_t k = 0; k < n; k++) {
            cr_assert_eq(by_rows[k], by_pairs[k], "%s, count %zu", avail[x], k);
            cr_assert_eq(by_idx[k], by_pairs[k], "%s, count %zu", avail[x], k);
            if (x == 0)
                first[k] = by_pairs[k];
            cr_assert_eq(by_pairs[k], first[k], "%s vs portable, count %zu", avail[x], k);
        }
    }
    cr_assert(dl__dice_force("auto"));
    free(p);
    free(rows);
    free(bits);
}
