/* test_block.c: blocking (linkage/block.c): a union of rules scores each pair
 * once, set features do not repeat pairs, oversize blocks are skipped or
 * capped, link types restrict pairs, and task cutting changes nothing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/block.h"

/* A store of N records with two token columns (field 0 feature token, field
 * 1 feature token) of the given stride, all records in file 0 unless FILES. */
typedef struct fixture {
    dl_store s;
    dl_store_file files[2];
    dl_store_col cols[2];
    dl_spec spec;
    uint16_t file_of[64];
    uint8_t slf[64][16];
    uint64_t tok[2][64 * 4];
} fixture;

static void fixture_init(fixture *f, size_t n, uint8_t stride)
{
    memset(f, 0, sizeof *f);
    f->s.n = n;
    f->s.n_files = 1;
    f->s.files = f->files;
    f->files[0].n = n;
    snprintf(f->files[0].dataset, sizeof f->files[0].dataset, "a");
    snprintf(f->files[1].dataset, sizeof f->files[1].dataset, "b");
    f->s.file_of = f->file_of;
    f->s.slf = f->slf;
    for (size_t i = 0; i < n; i++)
        f->slf[i][0] = (uint8_t)i;
    f->s.n_cols = 2;
    f->s.cols = f->cols;
    for (int c = 0; c < 2; c++) {
        f->cols[c].field = c;
        f->cols[c].kind = DL_FEAT_TOKEN;
        f->cols[c].stride = stride;
        f->cols[c].tok = f->tok[c];
    }
    memset(f->s.col_of, -1, sizeof f->s.col_of);
    f->s.col_of[0][DL_FEAT_TOKEN] = 0;
    f->s.col_of[1][DL_FEAT_TOKEN] = 1;
    f->s.clk_col = -1;
    f->spec.n_fields = 2;
    f->spec.fields[0].name = "a";
    f->spec.fields[1].name = "b";
    f->spec.max_block = 1000;
    f->spec.oversize = DL_OVERSIZE_SKIP;
    f->spec.link_type = DL_LINK_DEDUPE;
}

static void set_tok(fixture *f, int col, size_t rec, uint64_t t0, uint64_t t1)
{
    uint8_t st = f->cols[col].stride;
    f->tok[col][rec * st] = t0;
    if (st > 1)
        f->tok[col][rec * st + 1] = t1;
}

static dl_blocking_rule rule_on(int field)
{
    dl_blocking_rule r = {1, {{(uint16_t)field, DL_FEAT_TOKEN}}};
    return r;
}

typedef struct collected {
    dl_pair v[4096];
    uint64_t mask[4096]; /* when the walk asked for masks */
    size_t n;
} collected;

static dl_status collect(const dl_pair *p, const uint64_t *masks, size_t n, void *payload,
                         dl_error *err)
{
    collected *c = payload;
    (void)err;
    for (size_t k = 0; k < n; k++) {
        c->mask[c->n] = masks ? masks[k] : 0;
        c->v[c->n++] = p[k];
    }
    return DL_OK;
}

static int cmp_pair(const void *a, const void *b)
{
    const dl_pair *x = a, *y = b;
    if (x->i != y->i)
        return x->i < y->i ? -1 : 1;
    return x->j < y->j ? -1 : x->j > y->j;
}

/* Walk every task; return the pairs sorted, and the per-rule counts. */
static void walk(fixture *f, const dl_blocking_rule *rules, size_t n_rules, bool union_rules,
                 uint64_t task_pairs, collected *out, uint64_t *rule_pairs)
{
    dl_blocking *b = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl__blocking_new(&f->s, &f->spec, rules, n_rules, union_rules, task_pairs, &b,
                                  &err),
                 DL_OK, "%s", err.msg);
    out->n = 0;
    memset(rule_pairs, 0, n_rules * sizeof *rule_pairs);
    for (size_t t = 0; t < dl__blocking_n_tasks(b); t++)
        cr_assert_eq(dl__blocking_task(b, t, collect, out, rule_pairs, &err), DL_OK);
    qsort(out->v, out->n, sizeof out->v[0], cmp_pair);
    dl__blocking_free(b);
}

static bool has_pair(const collected *c, uint32_t i, uint32_t j)
{
    for (size_t k = 0; k < c->n; k++)
        if (c->v[k].i == i && c->v[k].j == j)
            return true;
    return false;
}

Test(block, union_scores_each_pair_once)
{
    fixture f;
    fixture_init(&f, 6, 1);
    /* 0,1 share a and b; 2,3 share b only; 4,5 share a only. */
    set_tok(&f, 0, 0, 10, 0), set_tok(&f, 1, 0, 20, 0);
    set_tok(&f, 0, 1, 10, 0), set_tok(&f, 1, 1, 20, 0);
    set_tok(&f, 0, 2, 11, 0), set_tok(&f, 1, 2, 21, 0);
    set_tok(&f, 0, 3, 12, 0), set_tok(&f, 1, 3, 21, 0);
    set_tok(&f, 0, 4, 13, 0), set_tok(&f, 1, 4, 22, 0);
    set_tok(&f, 0, 5, 13, 0), set_tok(&f, 1, 5, 23, 0);
    dl_blocking_rule rules[2] = {rule_on(0), rule_on(1)};
    collected c;
    uint64_t per[2];
    walk(&f, rules, 2, true, 0, &c, per);
    cr_assert_eq(c.n, 3);
    cr_assert(has_pair(&c, 0, 1) && has_pair(&c, 2, 3) && has_pair(&c, 4, 5));
    cr_assert_eq(per[0], 2, "rule a: 0-1 and 4-5");
    cr_assert_eq(per[1], 1, "rule b: only 2-3, as 0-1 came from rule a");
    /* Without the union each rule makes its own pairs, 0-1 in both. */
    walk(&f, &rules[1], 1, false, 0, &c, per);
    cr_assert_eq(c.n, 2);
    cr_assert(has_pair(&c, 0, 1) && has_pair(&c, 2, 3));
}

Test(block, set_features_do_not_repeat_a_pair)
{
    fixture f;
    fixture_init(&f, 3, 2);
    /* Records 0 and 1 share both of their tokens (two keys); 2 shares one. */
    set_tok(&f, 0, 0, 5, 9);
    set_tok(&f, 0, 1, 5, 9);
    set_tok(&f, 0, 2, 9, 0);
    dl_blocking_rule r = rule_on(0);
    collected c;
    uint64_t per[1];
    walk(&f, &r, 1, true, 0, &c, per);
    cr_assert_eq(c.n, 3, "0-1 once, 0-2, 1-2: got %zu", c.n);
    cr_assert(has_pair(&c, 0, 1) && has_pair(&c, 0, 2) && has_pair(&c, 1, 2));
}

Test(block, oversize_skip_leaves_pairs_to_later_rules)
{
    fixture f;
    fixture_init(&f, 3, 1);
    f.spec.max_block = 2;
    /* Rule a puts all three in one block (oversize: skipped); rule b pairs 0-1. */
    for (size_t i = 0; i < 3; i++)
        set_tok(&f, 0, i, 7, 0);
    set_tok(&f, 1, 0, 30, 0), set_tok(&f, 1, 1, 30, 0), set_tok(&f, 1, 2, 31, 0);
    dl_blocking_rule rules[2] = {rule_on(0), rule_on(1)};
    collected c;
    uint64_t per[2];
    dl_blocking *b = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl__blocking_new(&f.s, &f.spec, rules, 2, true, 0, &b, &err), DL_OK);
    cr_assert_eq(dl__blocking_stats(b, 0)->oversize_blocks, 1);
    cr_assert_eq(dl__blocking_stats(b, 0)->oversize_records, 3);
    cr_assert_eq(dl__blocking_stats(b, 0)->largest_block, 3);
    dl__blocking_free(b);
    walk(&f, rules, 2, true, 0, &c, per);
    cr_assert_eq(c.n, 1);
    cr_assert(has_pair(&c, 0, 1));
    cr_assert_eq(per[0], 0);
    cr_assert_eq(per[1], 1, "rule b makes 0-1: rule a's block was skipped");
}

Test(block, oversize_cap_keeps_the_first_records)
{
    fixture f;
    fixture_init(&f, 4, 1);
    f.spec.max_block = 2;
    f.spec.oversize = DL_OVERSIZE_CAP;
    for (size_t i = 0; i < 4; i++)
        set_tok(&f, 0, i, 7, 0);
    /* Rule b would pair 0-1 and 2-3; 0-1 is rule a's (capped block keeps 0, 1). */
    set_tok(&f, 1, 0, 30, 0), set_tok(&f, 1, 1, 30, 0);
    set_tok(&f, 1, 2, 31, 0), set_tok(&f, 1, 3, 31, 0);
    dl_blocking_rule rules[2] = {rule_on(0), rule_on(1)};
    collected c;
    uint64_t per[2];
    walk(&f, rules, 2, true, 0, &c, per);
    cr_assert_eq(c.n, 2);
    cr_assert(has_pair(&c, 0, 1) && has_pair(&c, 2, 3));
    cr_assert_eq(per[0], 1);
    cr_assert_eq(per[1], 1, "2-3 fell beyond rule a's cap, so rule b makes it");
}

Test(block, link_type_link_pairs_across_files_only)
{
    fixture f;
    fixture_init(&f, 4, 1);
    f.spec.link_type = DL_LINK_LINK;
    f.s.n_files = 2;
    f.files[0].n = 2;
    f.files[1].first = 2;
    f.files[1].n = 2;
    f.file_of[2] = f.file_of[3] = 1;
    for (size_t i = 0; i < 4; i++)
        set_tok(&f, 0, i, 7, 0);
    dl_blocking_rule r = rule_on(0);
    collected c;
    uint64_t per[1];
    walk(&f, &r, 1, true, 0, &c, per);
    cr_assert_eq(c.n, 4, "2 x 2 cross pairs, none within a file");
    cr_assert(!has_pair(&c, 0, 1) && !has_pair(&c, 2, 3));
}

Test(block, task_size_does_not_change_the_pairs)
{
    fixture f;
    fixture_init(&f, 60, 1);
    for (size_t i = 0; i < 60; i++) {
        set_tok(&f, 0, i, 100 + i % 3, 0);
        set_tok(&f, 1, i, 200 + i % 7, 0);
    }
    dl_blocking_rule rules[2] = {rule_on(0), rule_on(1)};
    static collected big, small;
    uint64_t per_big[2], per_small[2];
    walk(&f, rules, 2, true, 0, &big, per_big);
    walk(&f, rules, 2, true, 5, &small, per_small);
    cr_assert_eq(big.n, small.n);
    cr_assert_eq(memcmp(big.v, small.v, big.n * sizeof big.v[0]), 0);
    cr_assert_eq(per_big[0], per_small[0]);
    cr_assert_eq(per_big[1], per_small[1]);
    /* Rule a: three blocks of 20 -> 3 * 190 pairs; rule b adds pairs that
     * share b but not a. Each pair appears once. */
    cr_assert_eq(per_big[0], 570);
    for (size_t k = 1; k < big.n; k++)
        cr_assert(cmp_pair(&big.v[k - 1], &big.v[k]) < 0, "a pair repeated");
}

Test(block, rule_without_its_column_is_an_error)
{
    fixture f;
    fixture_init(&f, 2, 1);
    f.spec.path = "spec.yaml";
    f.s.col_of[1][DL_FEAT_TOKEN] = -1;
    dl_blocking_rule r = rule_on(1);
    dl_blocking *b = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl__blocking_new(&f.s, &f.spec, &r, 1, true, 0, &b, &err), DL_EINPUT);
    cr_assert(strstr(err.msg, "b.token"), "%s", err.msg);
    cr_assert_null(b);
}

/* With masks, one union walk tells each pair's rules: the pairs with bit r
 * are exactly those rule r's own walk makes, whatever the oversize handling
 * and with set features (several keys a record). */
static void check_masks(fixture *f, const dl_blocking_rule *rules, size_t nr)
{
    dl_blocking *b = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl__blocking_new(&f->s, &f->spec, rules, nr, true, 7, &b, &err), DL_OK, "%s",
                 err.msg);
    cr_assert(dl__blocking_set_masks(b, true));
    static collected all, own;
    all.n = 0;
    for (size_t t = 0; t < dl__blocking_n_tasks(b); t++)
        cr_assert_eq(dl__blocking_task(b, t, collect, &all, NULL, &err), DL_OK);
    dl__blocking_free(b);
    size_t with_bits = 0;
    for (size_t r = 0; r < nr; r++) {
        uint64_t per[1];
        walk(f, &rules[r], 1, false, 0, &own, per);
        size_t in_union = 0;
        for (size_t k = 0; k < all.n; k++) {
            cr_assert(all.mask[k] != 0, "every pair is made by some rule");
            if (all.mask[k] >> r & 1) {
                in_union++;
                cr_assert(has_pair(&own, all.v[k].i, all.v[k].j) ||
                              has_pair(&own, all.v[k].j, all.v[k].i),
                          "rule %zu: pair %u-%u marked but not made by the rule alone", r,
                          all.v[k].i, all.v[k].j);
            }
        }
        cr_assert_eq(in_union, own.n, "rule %zu: %zu marked, %zu made alone", r, in_union,
                     own.n);
        with_bits += in_union;
    }
    cr_assert_gt(with_bits, all.n, "some pairs are made by several rules");
}

Test(block, masks_name_every_rule_that_pairs_a_pair)
{
    fixture f;
    fixture_init(&f, 48, 2);
    uint64_t s = 1;
    for (size_t i = 0; i < 48; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        /* few distinct values, so blocks overlap across rules */
        set_tok(&f, 0, i, 1 + (s >> 60) % 5, (s >> 50) % 3 ? 0 : 6 + (s >> 40) % 2);
        set_tok(&f, 1, i, 1 + (s >> 30) % 4, 0);
    }
    dl_blocking_rule rules[3] = {rule_on(0), rule_on(1),
                                 {2, {{0, DL_FEAT_TOKEN}, {1, DL_FEAT_TOKEN}}}};
    check_masks(&f, rules, 3);
    f.spec.max_block = 9;
    check_masks(&f, rules, 3);
    f.spec.oversize = DL_OVERSIZE_CAP;
    check_masks(&f, rules, 3);
}
