/* test_hll.c: HyperLogLog distinct counting (common/hll.c). */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "dolen/hll.h"

/* Distinct pseudo-random tokens: an LCG step is a bijection of 64-bit words,
 * so the first N outputs of one stream are N distinct values. */
static uint64_t next_token(uint64_t *s)
{
    *s = *s * 6364136223846793005u + 1442695040888963407u;
    return *s;
}

static dl_hll *fill(uint64_t seed, uint64_t n)
{
    dl_hll *h = dl_hll_new();
    cr_assert_not_null(h);
    uint64_t s = seed;
    for (uint64_t i = 0; i < n; i++)
        dl_hll_add(h, next_token(&s));
    return h;
}

Test(hll, empty_is_zero)
{
    dl_hll *h = dl_hll_new();
    cr_assert_eq(dl_hll_estimate(h), 0.0);
    dl_hll_free(h);
    dl_hll_free(NULL);
}

Test(hll, small_counts_are_near_exact)
{
    /* With 16384 registers, n tokens collide about n^2/32768 times; the
     * estimate corrects for the expected number, leaving a standard
     * deviation near n/181. So: exact below ~20, and within 1 + 2 % (over
     * 3.5 standard deviations) up to 300. */
    for (uint64_t n = 1; n <= 300; n++) {
        dl_hll *h = fill(n * 7919, n);
        double e = dl_hll_estimate(h);
        double tol = n < 20 ? 0.5 : 1.0 + 0.02 * (double)n;
        cr_assert_leq(fabs(e - (double)n), tol, "n=%lu estimate %f", (unsigned long)n, e);
        dl_hll_free(h);
    }
}

Test(hll, within_two_percent_from_thousand_to_million)
{
    /* Standard error 0.81 %; 2 % is 2.5 of them. The points straddle the
     * switch from linear counting to the raw estimate (2.5 * 16384 = 40960). */
    const uint64_t ns[] = {1000, 3000, 10000, 20000, 30000, 40000, 45000, 50000, 60000,
                           80000, 100000, 300000, 1000000};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            dl_hll *h = fill(seed * 0x9e3779b97f4a7c15u, ns[i]);
            double e = dl_hll_estimate(h);
            double rel = fabs(e - (double)ns[i]) / (double)ns[i];
            cr_assert_lt(rel, 0.02, "n=%lu seed %lu estimate %.0f (%.2f %%)",
                         (unsigned long)ns[i], (unsigned long)seed, e, 100 * rel);
            dl_hll_free(h);
        }
    }
}

Test(hll, repeats_change_nothing)
{
    dl_hll *once = fill(42, 5000);
    dl_hll *thrice = dl_hll_new();
    for (int r = 0; r < 3; r++) {
        uint64_t s = 42;
        for (int i = 0; i < 5000; i++)
            dl_hll_add(thrice, next_token(&s));
    }
    cr_assert(memcmp(dl__hll_registers(once), dl__hll_registers(thrice), DL_HLL_REGISTERS) == 0);
    dl_hll_free(once);
    dl_hll_free(thrice);
}

Test(hll, merge_equals_single_pass_in_any_order)
{
    enum { N = 200000, PARTS = 7 };
    dl_hll *all = fill(99, N);
    dl_hll *part[PARTS];
    for (int p = 0; p < PARTS; p++)
        part[p] = dl_hll_new();
    uint64_t s = 99;
    for (int i = 0; i < N; i++)
        dl_hll_add(part[(i * 31 + i / 1000) % PARTS], next_token(&s));

    dl_hll *fwd = dl_hll_new(), *back = dl_hll_new();
    for (int p = 0; p < PARTS; p++) {
        dl_hll_merge(fwd, part[p]);
        dl_hll_merge(back, part[PARTS - 1 - p]);
    }
    cr_assert(memcmp(dl__hll_registers(all), dl__hll_registers(fwd), DL_HLL_REGISTERS) == 0);
    cr_assert(memcmp(dl__hll_registers(all), dl__hll_registers(back), DL_HLL_REGISTERS) == 0);
    cr_assert_eq(dl_hll_estimate(all), dl_hll_estimate(fwd));
    /* A part alone counts less. */
    cr_assert_lt(dl_hll_estimate(part[0]), dl_hll_estimate(all) / 2);
    /* Merging with itself changes nothing. */
    dl_hll_merge(fwd, fwd);
    cr_assert(memcmp(dl__hll_registers(all), dl__hll_registers(fwd), DL_HLL_REGISTERS) == 0);
    for (int p = 0; p < PARTS; p++)
        dl_hll_free(part[p]);
    dl_hll_free(all);
    dl_hll_free(fwd);
    dl_hll_free(back);
}

Test(hll, clear_forgets)
{
    dl_hll *h = fill(5, 1000);
    cr_assert_gt(dl_hll_estimate(h), 900.0);
    dl_hll_clear(h);
    cr_assert_eq(dl_hll_estimate(h), 0.0);
    dl_hll_free(h);
}

Test(hll, raw_bits_are_mixed)
{
    /* Tokens that differ only in their low bits would all fall in register 0
     * if the top bits were used raw; mixed, they spread out. */
    dl_hll *h = dl_hll_new();
    for (uint64_t v = 1; v <= 1000; v++)
        dl_hll_add(h, v);
    double e = dl_hll_estimate(h);
    cr_assert(fabs(e - 1000.0) < 20.0, "estimate %f", e);
    dl_hll_free(h);
}
