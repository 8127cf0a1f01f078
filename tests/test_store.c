/* test_store.c: loading ids files into the columnar store (linkage/store.c):
 * prepared FEBRL files against a fresh encoding, and one bad file per error. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/bloom.h"
#include "dolen/csv.h"
#include "dolen/encode.h"
#include "dolen/hexb64.h"
#include "dolen/key.h"
#include "dolen/manifest.h"
#include "dolen/prepare.h"
#include "dolen/sha256.h"
#include "linkage/link_internal.h"
#include "test_util.h"

#define TODAY 20250101

/* ---- helpers ------------------------------------------------------------------ */

static dl_spec *spec_at(const char *path)
{
    dl_spec *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_spec_load(path, &s, &err), DL_OK, "%s: %s", path, err.msg);
    return s;
}

static dl_spec *febrl_spec(void)
{
    char *p = tu_source("config/examples/febrl.yaml");
    dl_spec *s = spec_at(p);
    free(p);
    return s;
}

static dl_spec *tiny_spec(void)
{
    char *p = tu_data("store/tiny.yaml");
    dl_spec *s = spec_at(p);
    free(p);
    return s;
}

/* A key of 32 bytes all equal to B. */
static dl_key *key_of(uint8_t b)
{
    uint8_t bytes[32];
    memset(bytes, b, sizeof bytes);
    dl_key *k = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_key_from_bytes(bytes, sizeof bytes, &k, &err), DL_OK);
    return k;
}

/* Prepare INPUT as dataset NAME into DIR; returns DIR/NAME.ids.csv.gz. */
static char *prepare(const dl_spec *spec, const dl_key *key, const char *input,
                     const char *name, const char *dir)
{
    dl_prepare_opts o = DL_PREPARE_OPTS_INIT;
    o.spec = spec;
    o.key = key;
    o.input = input;
    o.dataset = name;
    o.outdir = dir;
    o.threads = 2;
    o.has_seed = true;
    o.seed = 7;
    o.today = TODAY;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_prepare_run(&o, NULL, &err), DL_OK, "prepare %s: %s", name, err.msg);
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s.ids.csv.gz", dir, name);
    return strdup(buf);
}

static char *febrl_input(void)
{
    return tu_data("febrl/dataset3.csv");
}

/* Write the header and rows FROM..TO-1 (0-based data rows) of dataset3 to PATH. */
static void febrl_part(const char *path, size_t from, size_t to)
{
    char *in = febrl_input();
    char *text = tu_read(in, NULL);
    cr_assert_not_null(text);
    char *start = NULL, *end = NULL;
    char *hdr_end = strchr(text, '\n') + 1;
    /* dataset3 has one line per record: find the byte range of rows from..to */
    char *p = hdr_end;
    for (size_t row = 0; row < to && *p; row++) {
        if (row == from)
            start = p;
        char *nl = strchr(p, '\n');
        p = nl ? nl + 1 : p + strlen(p);
    }
    end = p;
    cr_assert_not_null(start);
    size_t hl = (size_t)(hdr_end - text), bl = (size_t)(end - start);
    char *out = malloc(hl + bl);
    memcpy(out, text, hl);
    memcpy(out + hl, start, bl);
    tu_write(path, out, hl + bl);
    free(out);
    free(text);
    free(in);
}

static dl_status load(const dl_spec *spec, size_t n, const char *const *paths,
                      dl_workers *w, dl_store **out, dl_error *err)
{
    return dl__store_load(spec, n, paths, w, NULL, out, err);
}

typedef struct progress_seen {
    uint64_t done, total;
    int finals;
} progress_seen;

static void on_progress(void *payload, const char *stage, uint64_t done, uint64_t total,
                        const char *unit, int final)
{
    progress_seen *p = payload;
    cr_assert_str_eq(stage, "load");
    cr_assert_str_eq(unit, "rows");
    p->done = done;
    p->total = total;
    p->finals += final;
}

static int col_named(const dl_store *s, const char *name)
{
    for (size_t c = 0; c < s->n_cols; c++)
        if (strcmp(s->cols[c].name, name) == 0)
            return (int)c;
    return -1;
}

/* ---- prepared files ------------------------------------------------------------ */

Test(store, large_allocations_are_aligned_and_whole)
{
    /* below, at and past the 2 MiB at which huge pages are asked for */
    static const size_t sizes[] = {0, 1, 63, 64, 4096, ((size_t)2 << 20) - 1, (size_t)2 << 20,
                                   ((size_t)2 << 20) + 1, (size_t)5 << 20};
    for (size_t x = 0; x < sizeof sizes / sizeof sizes[0]; x++) {
        unsigned char *p = dl__alloc_large(sizes[x]);
        cr_assert_not_null(p, "%zu bytes", sizes[x]);
        const size_t align = sizes[x] >= ((size_t)2 << 20) ? (size_t)2 << 20 : 64;
        cr_assert_eq((uintptr_t)p % align, 0, "%zu bytes: aligned to %zu", sizes[x], align);
        /* every byte asked for is there (ASan checks the bounds) */
        memset(p, 0xa5, sizes[x]);
        for (size_t b = 0; b < sizes[x]; b += 4093)
            cr_assert_eq(p[b], 0xa5);
        free(p);
    }
}

Test(store, febrl_loads_every_record_with_the_used_columns_only)
{
    dl_spec *spec = febrl_spec();
    dl_key *key = key_of(1);
    char *dir = tu_tmpdir(), *in = febrl_input();
    char *ids = prepare(spec, key, in, "febrl3", dir);
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    const char *paths[] = {ids};
    progress_seen seen = {0, 0, 0};
    dl_progress prog = {on_progress, &seen, 0};
    cr_assert_eq(dl__store_load(spec, 1, paths, NULL, &prog, &s, &err), DL_OK, "%s: %s",
                 err.file, err.msg);
    cr_assert_eq(seen.finals, 1);
    cr_assert_eq(seen.done, 5000);
    cr_assert_eq(seen.total, 5000);

    cr_assert_eq(s->n, 5000);
    cr_assert_eq(s->n_files, 1);
    cr_assert_str_eq(s->files[0].dataset, "febrl3");
    cr_assert_str_eq(s->files[0].path, ids);
    cr_assert_eq(s->files[0].first, 0);
    cr_assert_eq(s->files[0].n, 5000);
    char hash[65], fp[17];
    cr_assert_str_eq(s->spec_hash, dl_spec_hash_hex(spec, hash));
    dl_key_fingerprint(key, fp);
    cr_assert_str_eq(s->key_fingerprint, fp);
    cr_assert_eq(s->clk_col, -1);

    /* Used by levels, tf or rules; the soundex features and surname.initial
     * are declared but used nowhere in febrl.yaml. */
    const char *used[] = {"given_name.token", "given_name.dmetaphone", "given_name.initial",
                          "given_name.bloom", "surname.bloom",   "dob.swap",
                          "dob.year",         "soc_sec_id.bloom", "postcode.token"};
    for (size_t i = 0; i < sizeof used / sizeof *used; i++)
        cr_assert_geq(col_named(s, used[i]), 0, "%s not loaded", used[i]);
    cr_assert_eq(col_named(s, "given_name.soundex"), -1);
    cr_assert_eq(col_named(s, "surname.soundex"), -1);
    cr_assert_eq(col_named(s, "surname.initial"), -1);
    dl_feature_ref r = {0, DL_FEAT_SOUNDEX};
    cr_assert_eq(dl__store_col(s, r), -1);
    r.kind = DL_FEAT_BLOOM;
    int c = dl__store_col(s, r);
    cr_assert_eq(c, col_named(s, "given_name.bloom"));
    cr_assert(s->cols[c].filter);
    cr_assert_eq(s->cols[c].field, 0);
    cr_assert_eq(s->cols[c].kind, DL_FEAT_BLOOM);
    cr_assert_eq(s->cols[c].words, 16);
    cr_assert_eq((uintptr_t)s->cols[c].bits % 64, 0);
    r.field = 60;
    cr_assert_eq(dl__store_col(s, r), -1);

    size_t bytes = s->n * 18;
    for (size_t k = 0; k < s->n_cols; k++)
        bytes += s->cols[k].filter ? s->n * (s->cols[k].words * 8 + 4)
                                   : s->n * s->cols[k].stride * 8;
    cr_assert_eq(s->bytes, bytes);
    for (size_t i = 0; i < s->n; i++)
        cr_assert_eq(s->file_of[i], 0);

    dl__store_free(s);
    tu_rmtree(dir);
    free(dir), free(in), free(ids);
    dl_key_free(key);
    dl_spec_free(spec);
}

/* Every loaded cell of every record equals what the encoder makes of the
 * record's raw values: the store holds exactly what prepare wrote. */
Test(store, tokens_and_filters_equal_a_fresh_encoding)
{
    dl_spec *spec = febrl_spec();
    dl_key *key = key_of(2);
    char *dir = tu_tmpdir(), *in = febrl_input();
    char *ids = prepare(spec, key, in, "febrl3", dir);
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    const char *paths[] = {ids};
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_OK, "%s", err.msg);

    dl_encoder *enc = NULL;
    cr_assert_eq(dl_encoder_new(spec, key, TODAY, &enc, &err), DL_OK, "%s", err.msg);
    dl_encode_ctx *ctx = dl_encode_ctx_new(enc);
    cr_assert_not_null(ctx);
    /* store column -> encoder column */
    int enc_col[64];
    for (size_t c = 0; c < s->n_cols; c++) {
        enc_col[c] = -1;
        for (size_t e = 0; e < dl_encoder_n_columns(enc); e++)
            if (strcmp(dl_encoder_column(enc, e), s->cols[c].name) == 0)
                enc_col[c] = (int)e;
        cr_assert_geq(enc_col[c], 0);
    }

    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.trim = true;
    dl_csv_reader *raw = NULL;
    cr_assert_eq(dl_csv_open(in, &o, &raw, &err), DL_OK);
    int src[DL_SPEC_MAX_FIELDS];
    for (size_t f = 0; f < spec->n_fields; f++)
        cr_assert_geq(src[f] = dl_csv_find_column(raw, spec->fields[f].column), 0);

    char map_path[4096];
    snprintf(map_path, sizeof map_path, "%s/febrl3.slfmap.csv.gz", dir);
    dl_csv_reader *map = NULL;
    cr_assert_eq(dl_csv_open(map_path, NULL, &map, &err), DL_OK);

    dl_row rr, mr;
    size_t r = 0, checked = 0;
    int ssn_src = dl_csv_find_column(raw, "soc_sec_id");
    char **ids_of = calloc(s->n, sizeof *ids_of), **ssn_of = calloc(s->n, sizeof *ssn_of);
    while (dl_csv_next(map, &mr, &err) == DL_OK) {
        /* The slfmap lists records in ids order; skip raw rows prepare rejected. */
        do
            cr_assert_eq(dl_csv_next(raw, &rr, &err), DL_OK);
        while (strcmp(rr.field[0], mr.field[0]) != 0);
        uint8_t slf[16];
        cr_assert(dl_hex_decode(mr.field[1], 32, slf, NULL));
        cr_assert_eq(memcmp(slf, s->slf[r], 16), 0, "record %zu", r);

        const char *vals[DL_SPEC_MAX_FIELDS];
        size_t lens[DL_SPEC_MAX_FIELDS];
        for (size_t f = 0; f < spec->n_fields; f++) {
            vals[f] = rr.field[src[f]];
            lens[f] = rr.len[src[f]];
        }
        const dl_encoded *e = dl_encode_record(ctx, vals, lens);
        for (size_t c = 0; c < s->n_cols; c++) {
            const dl_store_col *col = &s->cols[c];
            const struct dl_encoded_cell *cell = &e->cells[enc_col[c]];
            if (col->filter) {
                const uint64_t *w = col->bits + r * col->words;
                if (!cell->has_filter) {
                    cr_assert_eq(col->pop[r], 0);
                    continue;
                }
                cr_assert_eq(memcmp(w, cell->filter, col->words * 8), 0, "%s record %zu",
                             col->name, r);
                cr_assert_eq(col->pop[r], dl_popcount_words(cell->filter, col->words));
                cr_assert_gt(col->pop[r], 0);
                continue;
            }
            const uint64_t *t = col->tok + r * col->stride;
            size_t n = 0;
            while (n < col->stride && t[n])
                n++;
            cr_assert_eq(n, cell->n_tokens, "%s record %zu", col->name, r);
            for (size_t k = 0; k < cell->n_tokens; k++) {
                bool found = false;
                for (size_t x = 0; x < n; x++)
                    found |= t[x] == cell->tokens[k];
                cr_assert(found, "%s record %zu token %zu", col->name, r, k);
            }
            for (size_t k = n; k < col->stride; k++)
                cr_assert_eq(t[k], 0);
        }
        ids_of[r] = strdup(rr.field[0]);
        ssn_of[r] = strdup(rr.field[ssn_src]);
        r++;
        checked++;
    }
    cr_assert_eq(checked, s->n);

    /* FEBRL's rec-N-org and rec-N-dup-0 are one person: where their raw
     * social security numbers agree, so do their loaded tokens; where they
     * differ, the tokens do not. */
    int ssn = col_named(s, "soc_sec_id.token");
    cr_assert_geq(ssn, 0);
    size_t agree = 0, differ = 0;
    for (size_t i = 0; i < checked; i++) {
        size_t l = strlen(ids_of[i]);
        if (l < 5 || strcmp(ids_of[i] + l - 4, "-org") != 0)
            continue;
        char dup[64];
        snprintf(dup, sizeof dup, "%.*s-dup-0", (int)(l - 4), ids_of[i]);
        for (size_t j = 0; j < checked; j++) {
            if (strcmp(ids_of[j], dup) != 0)
                continue;
            bool same = ssn_of[i][0] && strcmp(ssn_of[i], ssn_of[j]) == 0;
            cr_assert_eq(dl__tok_agree(&s->cols[ssn], i, j), same, "%s", dup);
            agree += same;
            differ += !same;
        }
    }
    cr_assert_gt(agree, 500);
    cr_assert_gt(differ, 10);
    for (size_t i = 0; i < checked; i++)
        free(ids_of[i]), free(ssn_of[i]);
    free(ids_of), free(ssn_of);

    dl_csv_close(raw);
    dl_csv_close(map);
    dl_encode_ctx_free(ctx);
    dl_encoder_free(enc);
    dl__store_free(s);
    tu_rmtree(dir);
    free(dir), free(in), free(ids);
    dl_key_free(key);
    dl_spec_free(spec);
}

Test(store, set_columns_are_sorted_and_narrowed_to_the_largest_set)
{
    dl_spec *spec = febrl_spec();
    dl_key *key = key_of(3);
    char *dir = tu_tmpdir(), *in = febrl_input();
    char *ids = prepare(spec, key, in, "febrl3", dir);
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    const char *paths[] = {ids};
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_OK, "%s", err.msg);
    size_t sets = 0;
    for (size_t c = 0; c < s->n_cols; c++) {
        const dl_store_col *col = &s->cols[c];
        if (col->filter)
            continue;
        if (!dl_feature_is_set(col->kind)) {
            cr_assert_eq(col->stride, 1, "%s", col->name);
            continue;
        }
        sets++;
        cr_assert(col->stride >= 1 && col->stride <= DL_TOKEN_SET_MAX);
        size_t full = 0;
        for (size_t r = 0; r < s->n; r++) {
            const uint64_t *t = col->tok + r * col->stride;
            for (size_t k = 1; k < col->stride; k++) {
                if (t[k])
                    cr_assert_lt(t[k - 1], t[k], "%s record %zu not ascending", col->name, r);
                else
                    for (size_t x = k; x < col->stride; x++)
                        cr_assert_eq(t[x], 0);
            }
            full += t[col->stride - 1] != 0;
        }
        /* narrowed to the largest set seen: some record fills every slot */
        cr_assert_gt(full, 0, "%s", col->name);
    }
    cr_assert_eq(sets, 2); /* given_name.dmetaphone, surname.dmetaphone */
    int gd = col_named(s, "given_name.dmetaphone");
    cr_assert_eq(s->cols[gd].stride, 2);
    dl__store_free(s);
    tu_rmtree(dir);
    free(dir), free(in), free(ids);
    dl_key_free(key);
    dl_spec_free(spec);
}

/* Two files: records numbered file by file in the order given, and the same
 * store whether parsed by a pool of threads or not. */
Test(store, two_files_in_order_and_independent_of_threads)
{
    dl_spec *spec = febrl_spec();
    dl_key *key = key_of(4);
    char *dir = tu_tmpdir();
    char *a_csv = tu_join(dir, "a.csv"), *b_csv = tu_join(dir, "b.csv");
    febrl_part(a_csv, 0, 3000);
    febrl_part(b_csv, 3000, 5000);
    char *a = prepare(spec, key, a_csv, "part_a", dir);
    char *b = prepare(spec, key, b_csv, "part_b", dir);
    const char *paths[] = {b, a};
    dl_store *s1 = NULL, *s2 = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 2, paths, NULL, &s1, &err), DL_OK, "%s", err.msg);
    dl_workers *w = dl_workers_new(3);
    cr_assert_not_null(w);
    cr_assert_eq(load(spec, 2, paths, w, &s2, &err), DL_OK, "%s", err.msg);

    cr_assert_eq(s1->n, 5000);
    cr_assert_str_eq(s1->files[0].dataset, "part_b");
    cr_assert_str_eq(s1->files[1].dataset, "part_a");
    cr_assert_eq(s1->files[0].first, 0);
    cr_assert_eq(s1->files[0].n, 2000);
    cr_assert_eq(s1->files[1].first, 2000);
    cr_assert_eq(s1->files[1].n, 3000);
    cr_assert_eq(s1->file_of[1999], 0);
    cr_assert_eq(s1->file_of[2000], 1);

    cr_assert_eq(s2->n, s1->n);
    cr_assert_eq(s2->n_cols, s1->n_cols);
    cr_assert_eq(s2->bytes, s1->bytes);
    cr_assert_eq(memcmp(s1->slf, s2->slf, s1->n * 16), 0);
    cr_assert_eq(memcmp(s1->file_of, s2->file_of, s1->n * 2), 0);
    for (size_t c = 0; c < s1->n_cols; c++) {
        const dl_store_col *x = &s1->cols[c], *y = &s2->cols[c];
        cr_assert_eq(x->stride, y->stride);
        if (x->filter) {
            cr_assert_eq(memcmp(x->bits, y->bits, s1->n * x->words * 8), 0);
            cr_assert_eq(memcmp(x->pop, y->pop, s1->n * 4), 0);
        } else {
            cr_assert_eq(memcmp(x->tok, y->tok, s1->n * x->stride * 8), 0);
        }
    }

    /* the same dataset twice */
    dl__store_free(s1);
    s1 = NULL;
    const char *twice[] = {a, b, a};
    cr_assert_eq(load(spec, 3, twice, w, &s1, &err), DL_EINPUT);
    cr_assert_null(s1);
    cr_assert_str_eq(err.file, a);
    cr_assert(strstr(err.msg, "dataset 'part_a' is also part_a.ids.csv.gz"), "%s", err.msg);

    dl_workers_free(w);
    dl__store_free(s2);
    tu_rmtree(dir);
    free(dir), free(a_csv), free(b_csv), free(a), free(b);
    dl_key_free(key);
    dl_spec_free(spec);
}

/* ---- refusals of prepared files ------------------------------------------------- */

static void flip_byte(const char *path, long at)
{
    size_t len = 0;
    char *d = tu_read(path, &len);
    cr_assert_not_null(d);
    size_t i = at < 0 ? len + (size_t)at : (size_t)at;
    d[i] ^= 0x20;
    tu_write(path, d, len);
    free(d);
}

Test(store, tampered_file_fails_its_checksum)
{
    dl_spec *spec = febrl_spec();
    dl_key *key = key_of(5);
    char *dir = tu_tmpdir(), *in = febrl_input();
    char *ids = prepare(spec, key, in, "febrl3", dir);
    flip_byte(ids, 5000);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_null(s);
    cr_assert_str_eq(err.file, ids);
    cr_assert_eq(err.line, 0);
    cr_assert_eq(err.col, 0);
    cr_assert(strstr(err.msg, "SHA-256 differs"), "%s", err.msg);
    /* with threads the checksum still wins over whatever the parse finds */
    dl_workers *w = dl_workers_new(2);
    dl_error_clear(&err);
    cr_assert_eq(load(spec, 1, paths, w, &s, &err), DL_EINPUT);
    cr_assert(strstr(err.msg, "SHA-256 differs"), "%s", err.msg);
    dl_workers_free(w);

    /* truncated: the size differs */
    size_t len = 0;
    char *d = tu_read(ids, &len);
    tu_write(ids, d, len - 10);
    free(d);
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_str_eq(err.file, ids);
    cr_assert(strstr(err.msg, "bytes but its manifest says"), "%s", err.msg);

    tu_rmtree(dir);
    free(dir), free(in), free(ids);
    dl_key_free(key);
    dl_spec_free(spec);
}

Test(store, files_of_another_spec_are_refused)
{
    dl_spec *spec = febrl_spec();
    /* The same spec with another filter length: another spec hash. */
    char *p = tu_source("config/examples/febrl.yaml");
    char *text = tu_read(p, NULL);
    char *k30 = strstr(text, "bloom: {k: 30}");
    cr_assert_not_null(k30);
    memcpy(k30, "bloom: {k: 31}", 14);
    dl_spec *other = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_spec_parse("other.yaml", text, strlen(text), &other, &err), DL_OK, "%s",
                 err.msg);
    dl_key *key = key_of(6);
    char *dir = tu_tmpdir(), *in = febrl_input();
    char *ids = prepare(other, key, in, "febrl3", dir);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_null(s);
    cr_assert_str_eq(err.file, ids);
    cr_assert_eq(err.line, 0);
    char h1[65], h2[65], want[200];
    dl_spec_hash_hex(other, h1);
    dl_spec_hash_hex(spec, h2);
    snprintf(want, sizeof want, "prepared under spec %.12s but the linkage spec's hash is %.12s",
             h1, h2);
    cr_assert(strstr(err.msg, want), "%s", err.msg);
    tu_rmtree(dir);
    free(dir), free(in), free(ids), free(p), free(text);
    dl_key_free(key);
    dl_spec_free(spec);
    dl_spec_free(other);
}

Test(store, files_of_two_keys_are_refused_naming_both)
{
    dl_spec *spec = febrl_spec();
    dl_key *k1 = key_of(7), *k2 = key_of(8);
    char *dir = tu_tmpdir();
    char *a_csv = tu_join(dir, "a.csv"), *b_csv = tu_join(dir, "b.csv");
    febrl_part(a_csv, 0, 100);
    febrl_part(b_csv, 100, 200);
    char *a = prepare(spec, k1, a_csv, "part_a", dir);
    char *b = prepare(spec, k2, b_csv, "part_b", dir);
    const char *paths[] = {a, b};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 2, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_null(s);
    cr_assert_str_eq(err.file, b);
    char f1[17], f2[17], want[200];
    dl_key_fingerprint(k1, f1);
    dl_key_fingerprint(k2, f2);
    snprintf(want, sizeof want, "prepared with key %s but part_a.ids.csv.gz with key %s", f2,
             f1);
    cr_assert(strstr(err.msg, want), "%s", err.msg);
    tu_rmtree(dir);
    free(dir), free(a_csv), free(b_csv), free(a), free(b);
    dl_key_free(k1);
    dl_key_free(k2);
    dl_spec_free(spec);
}

/* ---- hand-made files with the tiny spec ------------------------------------------ */

#define NCELLS 7
static const char *const header =
    "slf,given_name.token,given_name.soundex,given_name.dmetaphone,given_name.bloom,"
    "dob.token,dob.year\n";

typedef struct cells {
    char c[NCELLS][128];
} cells;

/* The cells of good record I (1-based): SLF, tokens, a two-token set, a
 * 64-bit filter. */
static cells good(unsigned i)
{
    cells x;
    snprintf(x.c[0], 128, "%032x", 0xabc000u + i);
    snprintf(x.c[1], 128, "%016x", 0x100u + i);
    snprintf(x.c[2], 128, "%016x", 0x200u + i);
    /* descending on purpose: the store sorts the set */
    snprintf(x.c[3], 128, "%016x %016x", 0x400u + i, 0x300u + i);
    uint8_t f[8] = {(uint8_t)i, 0x0f, 0, 0, 0, 0, 0, 0x80};
    dl_b64_encode(f, 8, x.c[4]);
    snprintf(x.c[5], 128, "%016x", 0x500u + i);
    snprintf(x.c[6], 128, "%016x", 0x600u + (i % 3));
    return x;
}

static void append_row(dl_buf *b, const cells *x)
{
    for (int k = 0; k < NCELLS; k++) {
        if (k)
            dl_buf_putc(b, ',');
        dl_buf_puts(b, x->c[k]);
    }
    dl_buf_putc(b, '\n');
}

/* 1-based byte column of offset OFF in cell K of X. */
static uint64_t col_of_cell(const cells *x, int k, size_t off)
{
    uint64_t c = 1;
    for (int i = 0; i < k; i++)
        c += strlen(x->c[i]) + 1;
    return c + off;
}

/* Write TEXT as DIR/NAME.ids.csv.gz (plain text: the reader goes by magic
 * bytes) and a manifest saying it has ROWS rows, under SPEC's hash and key
 * fingerprint FP. Returns the ids path. */
static char *hand_file(const char *dir, const char *name, const char *text, uint64_t rows,
                       const dl_spec *spec, const char *fp)
{
    char ids[4096], man[4096], base[256];
    snprintf(base, sizeof base, "%s.ids.csv.gz", name);
    snprintf(ids, sizeof ids, "%s/%s", dir, base);
    snprintf(man, sizeof man, "%s/%s.manifest.json", dir, name);
    tu_write_str(ids, text);
    dl_error err = DL_ERROR_INIT;
    dl_outfile_info info;
    cr_assert_eq(dl_sha256_file_size(ids, info.sha256, &info.bytes, &err), DL_OK);
    dl_manifest *m = NULL;
    char hash[65];
    cr_assert_eq(dl_manifest_new("prepare", &m, &err), DL_OK);
    cr_assert_eq(dl_manifest_set_dataset(m, name, &err), DL_OK);
    cr_assert_eq(dl_manifest_set_spec_hash(m, dl_spec_hash_hex(spec, hash), &err), DL_OK);
    cr_assert_eq(dl_manifest_set_key_fingerprint(m, fp, &err), DL_OK);
    cr_assert_eq(dl_manifest_add_output(m, base, rows, &info, &err), DL_OK, "%s", err.msg);
    cr_assert_eq(dl_manifest_set_accounting(m, rows, rows, 0, &err), DL_OK);
    cr_assert_eq(dl_manifest_write(m, man, NULL, &err), DL_OK, "%s", err.msg);
    dl_manifest_free(m);
    return strdup(ids);
}

#define FP "0123456789abcdef"

/* N good rows, with row BAD (1-based; 0 none) replaced by *ALT. */
static char *rows_text(unsigned n, unsigned bad, const cells *alt)
{
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, header);
    for (unsigned i = 1; i <= n; i++) {
        cells x = good(i);
        append_row(&b, i == bad ? alt : &x);
    }
    return b.data;
}

/* Load one hand-made file of N rows whose row BAD is *ALT; expect CODE. */
static dl_status load_bad(unsigned n, unsigned bad, const cells *alt, uint64_t rows,
                          char **path, dl_error *err)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    char *text = rows_text(n, bad, alt);
    char *ids = hand_file(dir, "hand", text, rows, spec, FP);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_status st = load(spec, 1, paths, NULL, &s, err);
    if (st != DL_OK)
        cr_assert_null(s);
    dl__store_free(s);
    *path = ids;
    tu_rmtree(dir);
    free(dir), free(text);
    dl_spec_free(spec);
    return st;
}

Test(store, hand_made_file_loads)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    char *text = rows_text(5, 0, NULL);
    char *ids = hand_file(dir, "hand", text, 5, spec, FP);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_OK, "%s:%llu:%llu: %s", err.file,
                 (unsigned long long)err.line, (unsigned long long)err.col, err.msg);
    cr_assert_eq(s->n, 5);
    cr_assert_str_eq(s->key_fingerprint, FP);
    cr_assert_eq(s->n_cols, 5); /* no soundex */
    dl_feature_ref r = {0, DL_FEAT_DMETAPHONE};
    const dl_store_col *dm = &s->cols[dl__store_col(s, r)];
    cr_assert_eq(dm->stride, 2);
    cr_assert_eq(dm->tok[2 * 2], 0x303);
    cr_assert_eq(dm->tok[2 * 2 + 1], 0x403);
    r.kind = DL_FEAT_BLOOM;
    const dl_store_col *bl = &s->cols[dl__store_col(s, r)];
    cr_assert_eq(bl->words, 1);
    /* bytes {3, 0x0f, 0, ..., 0x80}: little-endian word, 2 + 4 + 1 bits */
    cr_assert_eq(bl->bits[2], 0x8000000000000f03ull);
    cr_assert_eq(bl->pop[2], 7);
    r.field = 1;
    r.kind = DL_FEAT_TOKEN;
    cr_assert_eq(s->cols[dl__store_col(s, r)].tok[4], 0x505);
    uint8_t slf[16] = {0};
    slf[13] = 0xab, slf[14] = 0xc0, slf[15] = 0x01;
    cr_assert_eq(memcmp(s->slf[0], slf, 16), 0);
    dl__store_free(s);
    tu_rmtree(dir);
    free(dir), free(text), free(ids);
    dl_spec_free(spec);
}

Test(store, missing_values_are_zero)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    cells x = good(2);
    x.c[1][0] = x.c[3][0] = x.c[4][0] = '\0';
    char *text = rows_text(3, 2, &x);
    char *ids = hand_file(dir, "hand", text, 3, spec, FP);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_OK, "%s", err.msg);
    for (size_t c = 0; c < s->n_cols; c++) {
        const dl_store_col *col = &s->cols[c];
        bool expect = col->field == 0;
        cr_assert_eq(dl__col_missing(col, 1), expect, "%s", col->name);
        cr_assert(!dl__col_missing(col, 0));
        if (col->filter)
            cr_assert_eq(col->bits[1], 0);
        else if (expect)
            for (size_t k = 0; k < col->stride; k++)
                cr_assert_eq(col->tok[1 * col->stride + k], 0);
    }
    dl__store_free(s);
    tu_rmtree(dir);
    free(dir), free(text), free(ids);
    dl_spec_free(spec);
}

Test(store, bad_hex_in_a_token_names_line_and_column)
{
    cells x = good(3);
    x.c[1][5] = 'g';
    char *ids;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load_bad(4, 3, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert(strstr(err.file, "hand.ids.csv.gz"));
    cr_assert_eq(err.line, 4);
    cr_assert_eq(err.col, col_of_cell(&x, 1, 5));
    cr_assert(strstr(err.msg, "bad token in column 'given_name.token'"), "%s", err.msg);
    free(ids);

    /* a short token in a set, and bad separators */
    x = good(2);
    x.c[3][20] = '\0';
    cr_assert_eq(load_bad(4, 2, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.col, col_of_cell(&x, 3, 17 + 3));
    cr_assert(strstr(err.msg, "'given_name.dmetaphone'"), "%s", err.msg);
    free(ids);
    x = good(2);
    x.c[3][16] = '-';
    cr_assert_eq(load_bad(4, 2, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.col, col_of_cell(&x, 3, 16));
    free(ids);
    x = good(2);
    strcat(x.c[3], " ");
    cr_assert_eq(load_bad(4, 2, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.col, col_of_cell(&x, 3, 33));
    free(ids);

    /* two tokens where one is expected */
    x = good(1);
    strcat(x.c[5], " 0000000000000001");
    cr_assert_eq(load_bad(4, 1, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.line, 2);
    cr_assert_eq(err.col, col_of_cell(&x, 5, 17));
    cr_assert(strstr(err.msg, "holds more than 1 token "), "%s", err.msg);
    free(ids);
    /* five in a set of at most four */
    x = good(1);
    snprintf(x.c[3], 128, "%s", "0000000000000001 0000000000000002 0000000000000003 "
                                "0000000000000004 00000000000000");
    cr_assert_eq(load_bad(4, 1, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.col, col_of_cell(&x, 3, 68));
    cr_assert(strstr(err.msg, "more than 4 tokens"), "%s", err.msg);
    free(ids);
    /* token 0 */
    x = good(1);
    memset(x.c[1], '0', 16);
    cr_assert_eq(load_bad(4, 1, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.col, col_of_cell(&x, 1, 0));
    cr_assert(strstr(err.msg, "token 0"), "%s", err.msg);
    free(ids);
}

/* Tokens are decoded eight digits at a time: every digit of either case is
 * read right, and each byte just outside the digit ranges is refused at its
 * own column. */
Test(store, hex_digits_of_either_case_and_their_neighbours)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    cells x = good(1);
    strcpy(x.c[1], "0123456789abcdef");
    strcpy(x.c[2], "FEDCBA9876543210"); /* given_name.soundex: not loaded */
    strcpy(x.c[5], "AbCdEf0918273645");
    cells y = good(2);
    strcpy(y.c[5], "fFfFfFfFfFfFfFfF");
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, header);
    append_row(&b, &x);
    append_row(&b, &y);
    char *ids = hand_file(dir, "cases", b.data, 2, spec, FP);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_OK, "%s", err.msg);
    dl_feature_ref r = {0, DL_FEAT_TOKEN};
    cr_assert_eq(s->cols[dl__store_col(s, r)].tok[0], 0x0123456789abcdefull);
    r.field = 1;
    cr_assert_eq(s->cols[dl__store_col(s, r)].tok[0], 0xabcdef0918273645ull);
    cr_assert_eq(s->cols[dl__store_col(s, r)].tok[1], 0xffffffffffffffffull);
    dl__store_free(s);
    dl_buf_free(&b);

    const unsigned char bad[] = {'/', ':', '@', 'G', '`', 'g', ' ', 0x80 | '0', 0x80 | 'a',
                                 0xff, 0x01, 'x', '-'};
    for (size_t i = 0; i < sizeof bad; i++)
        for (size_t at = 0; at < 16; at += 5) {
            cells z = good(1);
            z.c[1][at] = (char)bad[i];
            char *text = rows_text(2, 1, &z);
            char *p = hand_file(dir, "badhex", text, 2, spec, FP);
            paths[0] = p;
            cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT, "byte %#x at %zu",
                         bad[i], at);
            cr_assert_eq(err.line, 2);
            cr_assert_eq(err.col, col_of_cell(&z, 1, at), "byte %#x at %zu", bad[i], at);
            free(text), free(p);
        }
    tu_rmtree(dir);
    free(dir), free(ids);
    dl_spec_free(spec);
}

Test(store, bad_slf_names_line_and_column)
{
    cells x = good(2);
    x.c[0][31] = 'x';
    char *ids;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load_bad(3, 2, &x, 3, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.col, 32);
    cr_assert(strstr(err.msg, "bad SLF"), "%s", err.msg);
    free(ids);
    x = good(2);
    x.c[0][30] = '\0';
    cr_assert_eq(load_bad(3, 2, &x, 3, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.col, 31);
    free(ids);
}

Test(store, bad_base64_names_line_and_column)
{
    cells x = good(2);
    x.c[4][3] = '*';
    char *ids;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load_bad(3, 2, &x, 3, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.col, col_of_cell(&x, 4, 3));
    cr_assert(strstr(err.msg, "bad base64 in column 'given_name.bloom'"), "%s", err.msg);
    free(ids);
    /* the padding replaced by data: 9 bytes where 8 are expected */
    x = good(2);
    cr_assert_eq(x.c[4][11], '=');
    x.c[4][11] = 'A';
    cr_assert_eq(load_bad(3, 2, &x, 3, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.col, col_of_cell(&x, 4, 11));
    free(ids);
    /* the wrong length: a filter of another spec */
    x = good(2);
    strcat(x.c[4], "AAAA");
    cr_assert_eq(load_bad(3, 2, &x, 3, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.col, col_of_cell(&x, 4, 0));
    cr_assert(strstr(err.msg, "has 16 base64 characters (expected 12: 64 bits)"), "%s",
              err.msg);
    free(ids);
}

Test(store, wrong_column_count_names_line)
{
    cells x = good(2);
    strcat(x.c[6], ",extra");
    char *ids;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load_bad(3, 2, &x, 3, &ids, &err), DL_EINPUT);
    cr_assert(strstr(err.file, "hand.ids.csv.gz"));
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.col, 1);
    cr_assert(strstr(err.msg, "expected 7 fields, found 8"), "%s", err.msg);
    free(ids);
}

Test(store, duplicate_slf_names_both_lines)
{
    cells x = good(2);
    strcpy(x.c[0], good(1).c[0]);
    char *ids;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load_bad(4, 2, &x, 4, &ids, &err), DL_EINPUT);
    cr_assert(strstr(err.file, "hand.ids.csv.gz"));
    cr_assert_eq(err.line, 3);
    cr_assert_eq(err.col, 1);
    cr_assert(strstr(err.msg, "duplicate SLF: the same as hand.ids.csv.gz line 2"), "%s",
              err.msg);
    free(ids);
}

Test(store, duplicate_slf_across_files_names_both)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    char *t1 = rows_text(3, 0, NULL);
    cells x = good(7);
    strcpy(x.c[0], good(3).c[0]);
    /* blank lines put the duplicate on line 5 of the second file */
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, header);
    cells y = good(8);
    append_row(&b, &y);
    dl_buf_puts(&b, "\n\n");
    append_row(&b, &x);
    char *a = hand_file(dir, "one", t1, 3, spec, FP);
    char *c = hand_file(dir, "two", b.data, 2, spec, FP);
    const char *paths[] = {a, c};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 2, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_str_eq(err.file, c);
    cr_assert_eq(err.line, 5);
    cr_assert_eq(err.col, 1);
    cr_assert(strstr(err.msg, "the same as one.ids.csv.gz line 4"), "%s", err.msg);
    dl_buf_free(&b);
    tu_rmtree(dir);
    free(dir), free(t1), free(a), free(c);
    dl_spec_free(spec);
}

Test(store, empty_file_has_no_records)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    char *ids = hand_file(dir, "empty", header, 0, spec, FP);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_null(s);
    cr_assert_str_eq(err.file, ids);
    cr_assert_eq(err.line, 0);
    cr_assert_eq(err.col, 0);
    cr_assert(strstr(err.msg, "no records"), "%s", err.msg);
    tu_rmtree(dir);
    free(dir), free(ids);
    dl_spec_free(spec);
}

Test(store, row_count_must_match_the_manifest)
{
    char *ids;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load_bad(4, 0, NULL, 3, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.line, 5);
    cr_assert(strstr(err.msg, "more rows than the 3 its manifest lists"), "%s", err.msg);
    free(ids);
    cr_assert_eq(load_bad(4, 0, NULL, 6, &ids, &err), DL_EINPUT);
    cr_assert_eq(err.line, 0);
    cr_assert(strstr(err.msg, "4 rows but its manifest lists 6"), "%s", err.msg);
    free(ids);
}

Test(store, missing_column_is_named)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    /* a file without dob.year, which the blocking rule uses */
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, "slf,given_name.token,given_name.soundex,given_name.dmetaphone,"
                    "given_name.bloom,dob.token\n");
    cells x = good(1);
    x.c[6][0] = '\0';
    for (int k = 0; k < 6; k++)
        dl_buf_printf(&b, "%s%s", k ? "," : "", x.c[k]);
    dl_buf_putc(&b, '\n');
    char *ids = hand_file(dir, "narrow", b.data, 1, spec, FP);
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_null(s);
    cr_assert_str_eq(err.file, ids);
    cr_assert_eq(err.line, 1);
    cr_assert_eq(err.col, 0);
    cr_assert(strstr(err.msg, "header has no column 'dob.year'"), "%s", err.msg);
    /* without its slf column */
    dl_buf_clear(&b);
    dl_buf_puts(&b, header + 4);
    for (int k = 1; k < NCELLS; k++)
        dl_buf_printf(&b, "%s%s", k > 1 ? "," : "", good(1).c[k]);
    dl_buf_putc(&b, '\n');
    char *ids2 = hand_file(dir, "noslf", b.data, 1, spec, FP);
    paths[0] = ids2;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_str_eq(err.file, ids2);
    cr_assert_eq(err.line, 1);
    cr_assert_eq(err.col, 0);
    cr_assert(strstr(err.msg, "header has no column 'slf'"), "%s", err.msg);
    dl_buf_free(&b);
    tu_rmtree(dir);
    free(dir), free(ids), free(ids2);
    dl_spec_free(spec);
}

Test(store, ids_file_without_manifest_is_refused)
{
    dl_spec *spec = tiny_spec();
    char *dir = tu_tmpdir();
    char *ids = tu_join(dir, "lone.ids.csv.gz");
    tu_write_str(ids, "slf\n");
    const char *paths[] = {ids};
    dl_store *s = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    char *man = tu_join(dir, "lone.manifest.json");
    cr_assert_str_eq(err.file, man);
    cr_assert(strstr(err.msg, "cannot read the manifest of lone.ids.csv.gz"), "%s", err.msg);
    /* an ids file renamed away from the name its manifest lists */
    char *text = rows_text(2, 0, NULL);
    char *named = hand_file(dir, "named", text, 2, spec, FP);
    char *other = tu_join(dir, "other.ids.csv.gz"), *other_man = tu_join(dir, "other.manifest.json");
    char *named_man = tu_join(dir, "named.manifest.json");
    cr_assert_eq(rename(named, other), 0);
    cr_assert_eq(rename(named_man, other_man), 0);
    paths[0] = other;
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_EINPUT);
    cr_assert_str_eq(err.file, other_man);
    cr_assert_eq(err.line, 0);
    cr_assert(strstr(err.msg, "manifest lists no table named other.ids.csv.gz"), "%s", err.msg);
    free(text), free(named), free(other), free(other_man), free(named_man);
    /* not an ids file name at all */
    const char *bad[] = {"x.csv"};
    cr_assert_eq(load(spec, 1, bad, NULL, &s, &err), DL_EUSAGE);
    cr_assert_str_eq(err.file, "x.csv");
    tu_rmtree(dir);
    free(dir), free(ids), free(man);
    dl_spec_free(spec);
}

Test(store, free_null_is_a_noop)
{
    dl__store_free(NULL);
}

/* ---- subsets (the u sample) ------------------------------------------------------ */

/* A copy of some records compares exactly as the originals: every pair of
 * the copy has the pattern of the pair of records it was made from, and the
 * files, SLFs and alignment carry over. */
Test(store, subset_compares_as_the_records_it_copies)
{
    dl_spec *spec = febrl_spec();
    dl_key *key = key_of(1);
    char *dir = tu_tmpdir(), *in = febrl_input();
    char *ids = prepare(spec, key, in, "febrl3", dir);
    dl_store *s = NULL, *t = NULL;
    dl_error err = DL_ERROR_INIT;
    const char *paths[] = {ids};
    cr_assert_eq(load(spec, 1, paths, NULL, &s, &err), DL_OK, "%s", err.msg);
    /* 300 records, scattered and out of order, one twice */
    uint32_t rec[300];
    for (size_t r = 0; r < 300; r++)
        rec[r] = (uint32_t)((r * 2654435761u) % s->n);
    rec[299] = rec[3];
    cr_assert_eq(dl__store_subset(s, rec, 300, &t, &err), DL_OK, "%s", err.msg);
    cr_assert_eq(t->n, 300);
    cr_assert_eq(t->n_cols, s->n_cols);
    cr_assert_eq(t->n_files, 1);
    cr_assert_str_eq(t->files[0].dataset, "febrl3");
    dl_comparator *a = NULL, *b = NULL;
    cr_assert_eq(dl__comparator_new(spec, s, &a, &err), DL_OK, "%s", err.msg);
    cr_assert_eq(dl__comparator_new(spec, t, &b, &err), DL_OK, "%s", err.msg);
    size_t differ = 0, agree_somewhere = 0;
    for (uint32_t i = 0; i < 300; i++) {
        cr_assert_eq(memcmp(t->slf[i], s->slf[rec[i]], 16), 0);
        cr_assert_eq(t->file_of[i], s->file_of[rec[i]]);
        for (uint32_t j = i + 1; j < 300; j++) {
            uint32_t p = dl__compare(b, i, j);
            differ += p != dl__compare(a, rec[i], rec[j]);
            agree_somewhere += p != 0;
        }
    }
    cr_assert_eq(differ, 0);
    cr_assert_gt(agree_somewhere, 0);
    for (size_t c = 0; c < t->n_cols; c++)
        if (t->cols[c].filter)
            cr_assert_eq((uintptr_t)t->cols[c].bits % 64, 0);
    dl__comparator_free(a);
    dl__comparator_free(b);
    dl__store_free(t);
    dl__store_free(s);
    tu_rmtree(dir);
    free(dir), free(in), free(ids);
    dl_key_free(key);
    dl_spec_free(spec);
}
