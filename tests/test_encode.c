/* test_encode.c: the encoder's caches change its speed, never its output.
 * Part of tests/; hashing/encode.c, run by prepare's workers on every row. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/encode.h"
#include "dolen/hll.h"
#include "dolen/key.h"
#include "dolen/spec.h"
#include "test_util.h"

#define TODAY 20261123

/* Every field type and feature; a salt and a record-level CLK in the second. */
static const char *const PLAIN_SPEC =
    "version: 1\n"
    "name: enc\n"
    "link_type: dedupe\n"
    "input: {record_id: id}\n"
    "fields:\n"
    "  - {name: given_name, column: fn, type: given_name, placeholders: [UNKNOWN],\n"
    "     features: [token, parts, soundex, nysiis, dmetaphone, variant, initial, bloom]}\n"
    "  - {name: surname, column: sn, type: surname,\n"
    "     features: [token, dmetaphone, nysiis, variant, initial, bloom]}\n"
    "  - {name: dob, column: dob, type: date, formats: ['%Y%m%d', '%Y-%m', '%Y'],\n"
    "     min: 1700-01-01, max: 2299-12-31,\n"
    "     features: [token, year, month, day, swap, year_pm1]}\n"
    "  - {name: sex, column: sex, type: sex, features: [token]}\n"
    "  - {name: postcode, column: pc, type: uk_postcode,\n"
    "     features: [token, sector, district, area]}\n"
    "  - {name: nhs, column: nhs, type: nhs_number, features: [token]}\n"
    "  - {name: notes, column: notes, type: text, features: [token, initial, bloom]}\n";

static const char *const SALTED_SPEC =
    "version: 1\n"
    "name: enc\n"
    "link_type: dedupe\n"
    "input: {record_id: id}\n"
    "bloom: {q: 2, bits: 512, k: 10, salt: dob, balance: true}\n"
    "fields:\n"
    "  - {name: given_name, column: fn, type: given_name, features: [token, bloom]}\n"
    "  - {name: surname, column: sn, type: surname, features: [token, soundex, bloom],\n"
    "     bloom: {salt: null, xor_folds: 1}}\n"
    "  - {name: dob, column: dob, type: date, formats: ['%Y%m%d'], features: [token, year]}\n"
    "  - {name: postcode, column: pc, type: uk_postcode, features: [district]}\n"
    "clk:\n"
    "  fields: [given_name, surname, postcode]\n"
    "  bits: 1024\n"
    "  k: 10\n";

/* A salt that is cached by raw value (a postcode), and a field salted by
 * default that has no filter of its own. */
static const char *const SALTED_BY_POSTCODE_SPEC =
    "version: 1\n"
    "name: enc\n"
    "link_type: dedupe\n"
    "input: {record_id: id}\n"
    "bloom: {q: 2, bits: 512, k: 10, salt: postcode}\n"
    "fields:\n"
    "  - {name: given_name, column: fn, type: given_name, features: [token, bloom]}\n"
    "  - {name: sex, column: sex, type: sex, features: [token]}\n"
    "  - {name: postcode, column: pc, type: uk_postcode, features: [token, district]}\n"
    "  - {name: surname, column: sn, type: surname, features: [token, bloom]}\n";

#define N_FIELDS_MAX 8

static dl_spec *load_spec(const char *text)
{
    char *dir = tu_tmpdir();
    char *path = tu_join(dir, "spec.yaml");
    tu_write_str(path, text);
    dl_spec *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_spec_load(path, &s, &err), DL_OK, "%s:%llu: %s", path,
                 (unsigned long long)err.line, err.msg);
    tu_rmtree(dir);
    free(path);
    free(dir);
    return s;
}

static dl_key *key_of(uint8_t b)
{
    uint8_t bytes[32];
    memset(bytes, b, sizeof bytes);
    dl_key *k = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_key_from_bytes(bytes, sizeof bytes, &k, &err), DL_OK);
    return k;
}

static uint64_t rng(uint64_t *s)
{
    *s += 0x9e3779b97f4a7c15ull;
    uint64_t z = *s;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* One synthetic record: mostly values from short lists (cache hits), some
 * unique ones (misses and evictions), some bad, missing and too long for a
 * cache entry. Column order: fn, sn, dob, sex, pc, nhs, notes. */
typedef struct record {
    char v[N_FIELDS_MAX][96];
} record;

static void make_record(uint64_t *s, size_t i, record *r)
{
    static const char *const given[] = {
        "Siân", "DAFYDD", "dafydd", "Mary Anne", "Gwilym", "John", "Siôn", "William",
        "Mr John Paul", "UNKNOWN", "", "O'Neill", "Jean-Luc", "Nia", "RHIANNON", "Ffion",
        /* more tokens than an entry holds: parts plus variants */
        "JOHN WILLIAM DAVID GWILYM", "A B C D E F"};
    static const char *const surname[] = {"JONES", "Llewellyn-Davies", "Williams", "EVANS",
                                          "ap Rhys", "", "O'Brien", "Smith"};
    static const char *const dob[] = {
        "19800307", "19800703", "1980-03", "1980", "17991231", "17000101", "18000101",
        "21991231", "22000101", "22991231", "20240229", "20230229", "", "not a date",
        "19000101",
        /* neighbours in the date table, partial dates between full ones */
        "19800131", "1980-02", "19801231", "1981", "1981-01", "19810101"};
    static const char *const sex[] = {"M", "F", "1", "2", "", "x"};
    static const char *const pc[] = {"CF10 1EP", "sa313ep", "SA31 3EP", "XX1 1XX", "",
                                     "LL57 2DG"};
    uint64_t x = rng(s);
    if (x % 5 == 0) /* a unique given name: fills and evicts the cache */
        snprintf(r->v[0], sizeof r->v[0], "NAME%c%c%c%zu", 'A' + (int)(x >> 8) % 26,
                 'A' + (int)(x >> 16) % 26, 'A' + (int)(x >> 24) % 26, i);
    else if (x % 97 == 1) /* longer than a cached raw value */
        snprintf(r->v[0], sizeof r->v[0], "%s", "BARTHOLOMEW MAXIMILIAN ALEXANDER FREDERICK");
    else
        snprintf(r->v[0], sizeof r->v[0], "%s", given[(x >> 32) % (sizeof given / sizeof *given)]);
    x = rng(s);
    if (x % 7 == 0)
        snprintf(r->v[1], sizeof r->v[1], "SUR%zu", i % 5000);
    else
        snprintf(r->v[1], sizeof r->v[1], "%s",
                 surname[(x >> 32) % (sizeof surname / sizeof *surname)]);
    x = rng(s);
    if (x % 3 == 0)
        snprintf(r->v[2], sizeof r->v[2], "%04d%02d%02d", 1900 + (int)(x >> 8) % 120,
                 1 + (int)(x >> 16) % 12, 1 + (int)(x >> 24) % 28);
    else
        snprintf(r->v[2], sizeof r->v[2], "%s", dob[(x >> 32) % (sizeof dob / sizeof *dob)]);
    x = rng(s);
    snprintf(r->v[3], sizeof r->v[3], "%s", sex[(x >> 32) % (sizeof sex / sizeof *sex)]);
    x = rng(s);
    if (x % 2 == 0)
        snprintf(r->v[4], sizeof r->v[4], "CF%d %d%c%c", 1 + (int)(x >> 8) % 40,
                 (int)(x >> 16) % 10, 'A' + (int)(x >> 20) % 26, 'A' + (int)(x >> 28) % 26);
    else
        snprintf(r->v[4], sizeof r->v[4], "%s", pc[(x >> 32) % (sizeof pc / sizeof *pc)]);
    x = rng(s);
    /* Valid NHS numbers are not needed: invalid ones are cached alike. */
    snprintf(r->v[5], sizeof r->v[5], "%010llu", (unsigned long long)(x % 10000000000ull));
    x = rng(s);
    snprintf(r->v[6], sizeof r->v[6], "%s", x % 4 == 0 ? "" : x % 4 == 1 ? "respite care" : "Day");
}

static const char *const COLUMNS[] = {"fn", "sn", "dob", "sex", "pc", "nhs", "notes"};

/* Spec field f -> index into record.v, from the field's column name. */
static void map_fields(const dl_spec *spec, size_t *src)
{
    for (size_t f = 0; f < spec->n_fields; f++) {
        src[f] = SIZE_MAX;
        for (size_t k = 0; k < sizeof COLUMNS / sizeof *COLUMNS; k++)
            if (strcmp(spec->fields[f].column, COLUMNS[k]) == 0)
                src[f] = k;
        cr_assert_neq(src[f], SIZE_MAX);
    }
}

static void assert_same(const dl_encoder *enc, const dl_encoded *a, const dl_encoded *b,
                        size_t n_fields, size_t i)
{
    cr_assert_eq(a->n_usable, b->n_usable, "record %zu", i);
    cr_assert_eq(a->required_failed, b->required_failed, "record %zu", i);
    for (size_t f = 0; f < n_fields; f++) {
        cr_assert_eq(a->fields[f].result, b->fields[f].result, "record %zu field %zu", i, f);
        cr_assert_eq(a->fields[f].reason, b->fields[f].reason, "record %zu field %zu", i, f);
        cr_assert_eq(a->dates[f], b->dates[f], "record %zu field %zu", i, f);
        cr_assert_eq(a->sexes[f], b->sexes[f], "record %zu field %zu", i, f);
    }
    for (size_t c = 0; c < a->n_columns; c++) {
        const struct dl_encoded_cell *x = &a->cells[c], *y = &b->cells[c];
        cr_assert_eq(x->n_tokens, y->n_tokens, "record %zu column %s", i,
                     dl_encoder_column(enc, c));
        for (size_t t = 0; t < x->n_tokens; t++)
            cr_assert_eq(x->tokens[t], y->tokens[t], "record %zu column %s", i,
                         dl_encoder_column(enc, c));
        cr_assert_eq(x->has_filter, y->has_filter, "record %zu column %s", i,
                     dl_encoder_column(enc, c));
        if (x->has_filter)
            cr_assert_eq(memcmp(x->filter, y->filter,
                                dl_encoder_filter_words(enc, c) * sizeof(uint64_t)),
                         0, "record %zu column %s", i, dl_encoder_column(enc, c));
    }
    dl_buf ta = DL_BUF_INIT, tb = DL_BUF_INIT;
    cr_assert(dl_encoded_append_csv(enc, a, &ta, ','));
    cr_assert(dl_encoded_append_csv(enc, b, &tb, ','));
    cr_assert_str_eq(ta.data, tb.data, "record %zu", i);
    dl_buf_free(&ta);
    dl_buf_free(&tb);
}

/* Encode N records with a caching context and with one whose field-level
 * caches are off; every result must agree. The caching context also makes
 * its MACs in pairs and is given prefetch hints (dl_encode_prefetch): the
 * next record's values mostly, a wrong record's every third time, none
 * every seventh; the plain one does neither. *LOOKUPS_OUT and *HITS_OUT get
 * the caching context's totals over all fields. */
static void compare_run(const char *spec_text, size_t n, uint64_t seed, uint64_t *lookups_out,
                        uint64_t *hits_out)
{
    dl_spec *spec = load_spec(spec_text);
    dl_key *key = key_of(7);
    dl_encoder *enc = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_encoder_new(spec, key, TODAY, &enc, &err), DL_OK, "%s", err.msg);
    dl_encode_ctx *cached = dl_encode_ctx_new(enc), *plain = dl_encode_ctx_new(enc);
    cr_assert_not_null(cached);
    cr_assert_not_null(plain);
    dl__encode_ctx_cache_off(plain);
    dl__encode_ctx_pairs_off(plain);
    size_t src[DL_SPEC_MAX_FIELDS];
    map_fields(spec, src);
    uint64_t s = seed, s_wrong = seed ^ 0x5555;
    record r, next, wrong;
    const char *vals[DL_SPEC_MAX_FIELDS], *hint[DL_SPEC_MAX_FIELDS];
    size_t lens[DL_SPEC_MAX_FIELDS], hint_lens[DL_SPEC_MAX_FIELDS];
    make_record(&s, 0, &next);
    for (size_t i = 0; i < n; i++) {
        r = next;
        make_record(&s, i + 1, &next);
        for (size_t f = 0; f < spec->n_fields; f++) {
            vals[f] = r.v[src[f]];
            lens[f] = strlen(r.v[src[f]]);
            if (lens[f] == 0 && i % 2) /* absent and empty must agree too */
                vals[f] = NULL;
        }
        if (i % 7 != 6) {
            const record *h = &next;
            if (i % 3 == 2) {
                make_record(&s_wrong, i, &wrong);
                h = &wrong;
            }
            for (size_t f = 0; f < spec->n_fields; f++) {
                hint[f] = h->v[src[f]];
                hint_lens[f] = strlen(h->v[src[f]]);
            }
            dl_encode_prefetch(cached, hint, hint_lens);
        }
        const dl_encoded *a = dl_encode_record(cached, vals, lens);
        const dl_encoded *b = dl_encode_record(plain, vals, lens);
        assert_same(enc, a, b, spec->n_fields, i);
    }
    uint64_t lookups = 0, hits = 0;
    for (size_t f = 0; f < spec->n_fields; f++) {
        uint64_t l, h;
        bool off;
        dl__encode_cache_stats(cached, f, &l, &h, &off);
        lookups += l;
        hits += h;
        dl__encode_cache_stats(plain, f, &l, &h, &off);
        cr_assert_eq(l, 0, "field %zu of the uncached context was looked up", f);
        cr_assert(off);
    }
    *lookups_out = lookups;
    *hits_out = hits;
    dl_encode_ctx_free(cached);
    dl_encode_ctx_free(plain);
    dl_encoder_free(enc);
    dl_key_free(key);
    dl_spec_free(spec);
}

Test(encode, cached_values_encode_exactly_as_fresh_ones, .timeout = 120)
{
    /* 30000 records: more unique given names (a fifth) than the given-name
     * cache has slots, so entries are evicted and recomputed too. */
    uint64_t lookups, hits;
    compare_run(PLAIN_SPEC, 30000, 1, &lookups, &hits);
    /* The caches were used, and mostly hit: the test would pass vacuously
     * if they were not. */
    cr_assert_gt(lookups, 30000 * 3);
    cr_assert_gt(hits, lookups / 2, "%llu hits of %llu", (unsigned long long)hits,
                 (unsigned long long)lookups);
}

Test(encode, salted_filters_and_clk_are_the_same_from_the_cache, .timeout = 120)
{
    uint64_t lookups, hits;
    compare_run(SALTED_SPEC, 5000, 2, &lookups, &hits);
    cr_assert_gt(hits, 5000);
}

Test(encode, a_salt_from_a_cached_field_is_read_on_every_row, .timeout = 120)
{
    uint64_t lookups, hits;
    compare_run(SALTED_BY_POSTCODE_SPEC, 5000, 6, &lookups, &hits);
    cr_assert_gt(hits, 5000);
}

/* A value seen before is not counted again, yet the distinct counters end
 * with exactly the registers of adding every token of every counted record,
 * and tokens of records not counted (prepare's rejects) never get in, even
 * when their values were cached first. */
Test(encode, distinct_counts_equal_adding_every_token, .timeout = 120)
{
    dl_spec *spec = load_spec(PLAIN_SPEC);
    dl_key *key = key_of(9);
    dl_encoder *enc = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_encoder_new(spec, key, TODAY, &enc, &err), DL_OK, "%s", err.msg);
    dl_encode_ctx *ctx = dl_encode_ctx_new(enc);
    cr_assert_not_null(ctx);
    size_t ncol = dl_encoder_n_columns(enc);
    dl_hll **mine = calloc(ncol, sizeof *mine), **ref = calloc(ncol, sizeof *ref);
    for (size_t c = 0; c < ncol; c++)
        if (!dl_encoder_column_is_filter(enc, c)) {
            mine[c] = dl_hll_new();
            ref[c] = dl_hll_new();
        }
    size_t src[DL_SPEC_MAX_FIELDS];
    map_fields(spec, src);
    uint64_t s = 3;
    record r;
    const char *vals[DL_SPEC_MAX_FIELDS];
    size_t lens[DL_SPEC_MAX_FIELDS];
    for (size_t i = 0; i < 20000; i++) {
        make_record(&s, i, &r);
        for (size_t f = 0; f < spec->n_fields; f++) {
            vals[f] = r.v[src[f]];
            lens[f] = strlen(r.v[src[f]]);
        }
        const dl_encoded *e = dl_encode_record(ctx, vals, lens);
        /* Leave out the first record of each given name entirely (it is
         * cached, uncounted) and every third record after. */
        bool counted = i % 3 != 0 && i >= 50;
        if (!counted)
            continue;
        dl_encode_count_distinct(ctx, mine);
        for (size_t c = 0; c < ncol; c++)
            if (ref[c])
                for (size_t t = 0; t < e->cells[c].n_tokens; t++)
                    dl_hll_add(ref[c], e->cells[c].tokens[t]);
    }
    size_t nonempty = 0;
    for (size_t c = 0; c < ncol; c++) {
        if (!ref[c])
            continue;
        cr_assert_eq(memcmp(dl__hll_registers(mine[c]), dl__hll_registers(ref[c]),
                            DL_HLL_REGISTERS),
                     0, "column %s", dl_encoder_column(enc, c));
        nonempty += dl_hll_estimate(ref[c]) > 0;
        dl_hll_free(mine[c]);
        dl_hll_free(ref[c]);
    }
    cr_assert_geq(nonempty, 15);
    free(mine);
    free(ref);
    dl_encode_ctx_free(ctx);
    dl_encoder_free(enc);
    dl_key_free(key);
    dl_spec_free(spec);
}

/* NHS numbers hardly repeat: their cache switches itself off, given names'
 * does not, and the results stay the same after the switch (checked by the
 * comparison test, which runs past it). */
Test(encode, a_cache_that_rarely_hits_switches_off)
{
    dl_spec *spec = load_spec(PLAIN_SPEC);
    dl_key *key = key_of(4);
    dl_encoder *enc = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_encoder_new(spec, key, TODAY, &enc, &err), DL_OK, "%s", err.msg);
    dl_encode_ctx *ctx = dl_encode_ctx_new(enc);
    cr_assert_not_null(ctx);
    size_t src[DL_SPEC_MAX_FIELDS];
    map_fields(spec, src);
    uint64_t s = 5;
    record r;
    const char *vals[DL_SPEC_MAX_FIELDS];
    size_t lens[DL_SPEC_MAX_FIELDS];
    for (size_t i = 0; i < 20000; i++) {
        make_record(&s, i, &r);
        for (size_t f = 0; f < spec->n_fields; f++) {
            vals[f] = r.v[src[f]];
            lens[f] = strlen(r.v[src[f]]);
        }
        (void)dl_encode_record(ctx, vals, lens);
    }
    uint64_t l, h;
    bool off;
    dl__encode_cache_stats(ctx, 5, &l, &h, &off); /* nhs */
    cr_assert(off);
    cr_assert_lt(l, 20000);
    dl__encode_cache_stats(ctx, 0, &l, &h, &off); /* given_name */
    cr_assert_not(off);
    cr_assert_gt(l, 15000);
    dl__encode_cache_stats(ctx, 2, &l, &h, &off); /* dob: by date, never off */
    cr_assert_not(off);
    cr_assert_gt(h, l / 2);
    dl_encode_ctx_free(ctx);
    dl_encoder_free(enc);
    dl_key_free(key);
    dl_spec_free(spec);
}

/* token_key: a name's token is the same in every field sharing the key, so a
 * reversed level can see a forename and surname swapped; without the key the
 * same name gives unrelated tokens in two fields. */
static void name_tokens(const char *spec_text, uint64_t out[2][2])
{
    dl_spec *spec = load_spec(spec_text);
    dl_key *key = key_of(7);
    dl_encoder *enc = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_encoder_new(spec, key, TODAY, &enc, &err), DL_OK, "%s", err.msg);
    dl_encode_ctx *ctx = dl_encode_ctx_new(enc);
    static const char *const rows[2][2] = {{"Rhys", "Thomas"}, {"Thomas", "Rhys"}};
    for (int r = 0; r < 2; r++) {
        const char *vals[2] = {rows[r][0], rows[r][1]};
        size_t lens[2] = {strlen(vals[0]), strlen(vals[1])};
        const dl_encoded *e = dl_encode_record(ctx, vals, lens);
        cr_assert_eq(e->cells[0].n_tokens, 1);
        cr_assert_eq(e->cells[1].n_tokens, 1);
        out[r][0] = e->cells[0].tokens[0];
        out[r][1] = e->cells[1].tokens[0];
    }
    dl_encode_ctx_free(ctx);
    dl_encoder_free(enc);
    dl_key_free(key);
    dl_spec_free(spec);
}

Test(encode, token_key_shares_name_tokens_across_fields)
{
    const char *head = "version: 1\nname: t\ninput: {record_id: id}\nfields:\n";
    char text[512];
    uint64_t t[2][2];
    snprintf(text, sizeof text,
             "%s  - {name: gn, column: fn, type: given_name, features: [token], token_key: nm}\n"
             "  - {name: sn, column: ln, type: surname, features: [token], token_key: nm}\n",
             head);
    name_tokens(text, t);
    cr_assert_eq(t[0][0], t[1][1], "RHYS as forename and as surname");
    cr_assert_eq(t[0][1], t[1][0], "THOMAS as surname and as forename");
    cr_assert_neq(t[0][0], t[0][1]);
    snprintf(text, sizeof text,
             "%s  - {name: gn, column: fn, type: given_name, features: [token]}\n"
             "  - {name: sn, column: ln, type: surname, features: [token]}\n",
             head);
    uint64_t u[2][2];
    name_tokens(text, u);
    cr_assert_neq(u[0][0], u[1][1]);
    cr_assert_neq(u[0][1], u[1][0]);
    /* The shared label is not the field's own: sharing changes its tokens. */
    cr_assert_neq(t[0][0], u[0][0]);
}
