/* test_extract.c: `dolen extract`: ALF_E, status codes, date coarsening and small
 * cells on hand-made values; a hand-made linkage run for every output and error
 * path; and synth -> prepare -> link -> extract end to end against ground truth. */
#include <criterion/criterion.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dolen/csv.h"
#include "dolen/extract.h"
#include "dolen/hmac.h"
#include "dolen/key.h"
#include "dolen/manifest.h"
#include "dolen/sha256.h"
#include "test_util.h"

static const uint8_t key1_bytes[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
                                       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30,
                                       31, 32};
static const char *const key1_hex =
    "0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20\n";

static dl_key *mkkey(const uint8_t *b)
{
    dl_key *k = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_from_bytes(b, 32, &k, &e), DL_OK);
    return k;
}

/* ---- ALF_E ------------------------------------------------------------------- */

Test(extract, alf_e_is_hmac_of_the_alf_under_the_hkdf_subkey)
{
    /* Recompute from the definition with OpenSSL's HMAC and dolen's HKDF
     * (itself checked against RFC 5869): subkey = HKDF(key, "dolen v1",
     * "extract/alf"), ALF_E = first 8 bytes of HMAC(subkey, ALF big-endian). */
    dl_key *k = mkkey(key1_bytes);
    dl_hmac_key hk;
    dl_extract_alf_key(k, &hk);
    uint8_t sub[32];
    cr_assert(dl_hkdf_sha256((const uint8_t *)"dolen v1", 8, key1_bytes, 32,
                             (const uint8_t *)"extract/alf", 11, sub, 32));
    const uint64_t alfs[] = {1, 13712680510326705669ULL, 7426028214920213095ULL, UINT64_MAX};
    for (size_t i = 0; i < 4; i++) {
        uint8_t msg[8], mac[32];
        unsigned len = 32;
        for (int j = 0; j < 8; j++)
            msg[j] = (uint8_t)(alfs[i] >> (56 - 8 * j));
        HMAC(EVP_sha256(), sub, 32, msg, 8, mac, &len);
        uint64_t want = 0;
        for (int j = 0; j < 8; j++)
            want = want << 8 | mac[j];
        cr_assert_eq(dl_extract_alf_e(&hk, alfs[i]), want, "ALF %zu", i);
    }
    dl_hmac_key_cleanse(&hk);
    dl_key_free(k);
}

Test(extract, alf_e_stable_under_one_key_unrelated_under_two)
{
    uint8_t b2[32];
    memcpy(b2, key1_bytes, 32);
    b2[31] ^= 1; /* one bit apart */
    dl_key *k1 = mkkey(key1_bytes), *k1again = mkkey(key1_bytes), *k2 = mkkey(b2);
    dl_hmac_key h1, h1b, h2;
    dl_extract_alf_key(k1, &h1);
    dl_extract_alf_key(k1again, &h1b);
    dl_extract_alf_key(k2, &h2);
    int same_bits = 0;
    for (uint64_t alf = 1; alf <= 2000; alf++) {
        uint64_t a = dl_extract_alf_e(&h1, alf), b = dl_extract_alf_e(&h2, alf);
        cr_assert_eq(a, dl_extract_alf_e(&h1b, alf), "same key, another run");
        cr_assert_neq(a, b, "two projects gave one ALF_E for ALF %llu",
                      (unsigned long long)alf);
        cr_assert_neq(a, dl_extract_alf_e(&h1, alf + 1), "neighbouring ALFs collide");
        same_bits += 64 - __builtin_popcountll(a ^ b);
    }
    /* Unrelated: about half of the bits agree (32 of 64; 2000 values give a
     * standard deviation of 0.09 bits on the mean). */
    double mean = same_bits / 2000.0;
    cr_assert(mean > 31.0 && mean < 33.0, "mean agreeing bits %.2f", mean);
    dl_hmac_key_cleanse(&h1), dl_hmac_key_cleanse(&h1b), dl_hmac_key_cleanse(&h2);
    dl_key_free(k1), dl_key_free(k1again), dl_key_free(k2);
}

/* ---- status codes ------------------------------------------------------------ */

Test(extract, status_codes)
{
    cr_assert_eq(dl_alf_sts_of(true, true, false), DL_ALF_STS_EXACT);
    cr_assert_eq(dl_alf_sts_of(true, true, true), DL_ALF_STS_EXACT);
    cr_assert_eq(dl_alf_sts_of(true, false, true), DL_ALF_STS_PROB);
    cr_assert_eq(dl_alf_sts_of(false, false, true), DL_ALF_STS_REVIEW);
    cr_assert_eq(dl_alf_sts_of(false, true, false), DL_ALF_STS_UNLINKED);
    cr_assert_eq(dl_alf_sts_of(false, false, false), DL_ALF_STS_UNLINKED);
    cr_assert_eq((int)DL_ALF_STS_UNLINKED, 0);
    cr_assert_eq((int)DL_ALF_STS_EXACT, 1);
    cr_assert_eq((int)DL_ALF_STS_PROB, 2);
    cr_assert_eq((int)DL_ALF_STS_REVIEW, 3);
    cr_assert_str_eq(dl_alf_sts_name(DL_ALF_STS_EXACT), "linked_exact");
    cr_assert_str_eq(dl_alf_sts_name(DL_ALF_STS_REVIEW), "review");
    cr_assert_str_eq(dl_alf_sts_name((dl_alf_sts)9), "?");
}

/* ---- dates ---------------------------------------------------------------------- */

static void coarse(const char *in, dl_coarsen how, const char *want)
{
    int32_t ymd = 0;
    char out[11];
    bool ok = dl_extract_parse_date(in, strlen(in), &ymd);
    size_t n = ok ? dl_coarsen_ymd(ymd, how, out) : 0;
    if (!n)
        out[0] = '\0';
    cr_assert_str_eq(out, want, "%s as %s", in, dl_coarsen_name(how));
    cr_assert_eq(n, strlen(want));
}

Test(extract, coarsen_week_is_the_monday)
{
    coarse("2024-01-01", DL_COARSEN_WEEK, "2024-01-01"); /* a Monday */
    coarse("2024-01-07", DL_COARSEN_WEEK, "2024-01-01"); /* the Sunday after */
    coarse("2024-01-08", DL_COARSEN_WEEK, "2024-01-08");
    coarse("2021-01-01", DL_COARSEN_WEEK, "2020-12-28"); /* Friday: into last year */
    coarse("2000-03-01", DL_COARSEN_WEEK, "2000-02-28"); /* across a leap day */
    coarse("1900-03-04", DL_COARSEN_WEEK, "1900-02-26"); /* 1900 was not leap */
    coarse("14/06/2022", DL_COARSEN_WEEK, "2022-06-13"); /* day first */
    coarse("20.03.2023", DL_COARSEN_WEEK, "2023-03-20");
    coarse("20170626", DL_COARSEN_WEEK, "2017-06-26");
    coarse("1/2/2003", DL_COARSEN_WEEK, "2003-01-27"); /* 1 February 2003, a Saturday */
    coarse("2007-08-08T10:30:00", DL_COARSEN_WEEK, "2007-08-06");
}

Test(extract, coarsen_month_and_year)
{
    coarse("14/06/2022", DL_COARSEN_MONTH, "2022-06");
    coarse("31-12-1999", DL_COARSEN_MONTH, "1999-12");
    coarse("14/06/2022", DL_COARSEN_YEAR, "2022");
    coarse("2022-03", DL_COARSEN_MONTH, "2022-03"); /* partial dates */
    coarse("2022-03", DL_COARSEN_YEAR, "2022");
    coarse("1987", DL_COARSEN_YEAR, "1987");
}

Test(extract, coarsen_refuses_what_is_not_a_date_or_lacks_the_part)
{
    coarse("2022-03", DL_COARSEN_WEEK, ""); /* no day */
    coarse("1987", DL_COARSEN_MONTH, "");   /* no month */
    coarse("31/02/2022", DL_COARSEN_YEAR, "");
    coarse("not a date", DL_COARSEN_YEAR, "");
    coarse("", DL_COARSEN_YEAR, "");
    char out[11];
    cr_assert_eq(dl_coarsen_ymd(20220614, DL_COARSEN_NONE, out), 0);
    dl_coarsen c;
    cr_assert(dl_coarsen_parse("month", &c) && c == DL_COARSEN_MONTH);
    cr_assert_not(dl_coarsen_parse("months", &c));
}

/* ---- small cells ------------------------------------------------------------------ */

static void sdc(const dl_sdc_rule *r, uint64_t count, long want /* -1 suppressed */)
{
    uint64_t shown = 12345;
    bool pub = dl_sdc_apply(r, count, &shown);
    if (want < 0)
        cr_assert_not(pub, "%llu should be suppressed", (unsigned long long)count);
    else {
        cr_assert(pub, "%llu should be published", (unsigned long long)count);
        cr_assert_eq(shown, (uint64_t)want, "%llu shown as %llu, expected %ld",
                     (unsigned long long)count, (unsigned long long)shown, want);
    }
}

Test(extract, default_rule_suppresses_below_10_rounds_to_5)
{
    const dl_sdc_rule r = DL_SDC_RULE_INIT;
    cr_assert_eq(r.min_cell, 10);
    cr_assert_eq(r.round, 5);
    sdc(&r, 0, 0);
    for (uint64_t n = 1; n < 10; n++)
        sdc(&r, n, -1);
    sdc(&r, 10, 10);
    sdc(&r, 12, 10);
    sdc(&r, 13, 15);
    sdc(&r, 17, 15);
    sdc(&r, 18, 20);
    sdc(&r, 1795, 1795);
    sdc(&r, 1797, 1795);
    sdc(&r, 1798, 1800);
}

Test(extract, other_published_rules)
{
    const dl_sdc_rule exact = {0, 1, false};
    for (uint64_t n = 0; n < 30; n++)
        sdc(&exact, n, (long)n);
    const dl_sdc_rule hes = {8, 5, false}; /* 1-7 suppressed, then nearest 5 */
    sdc(&hes, 7, -1);
    sdc(&hes, 8, 10);
    const dl_sdc_rule tens = {5, 10, true}; /* nearest 10, zeros hidden too */
    sdc(&tens, 0, -1);
    sdc(&tens, 4, -1);
    sdc(&tens, 5, 10); /* halves go up */
    sdc(&tens, 14, 10);
    sdc(&tens, 15, 20);
}

/* ---- a hand-made linkage run --------------------------------------------------------- */

#define SA1 "aa000000000000000000000000000001"
#define SA2 "aa000000000000000000000000000002"
#define SA3 "aa000000000000000000000000000003"
#define SA4 "aa000000000000000000000000000004"
#define SA5 "aa000000000000000000000000000005"
#define SB1 "bb000000000000000000000000000001"
#define SB2 "bb000000000000000000000000000002"
#define SB3 "bb000000000000000000000000000003"
#define SC1 "cc000000000000000000000000000001"
#define ALF1 "13712680510326705669"
#define ALF2 "10411724299255641909"
#define ALF3 "7426028214920213095"
#define ALF3B "13063239970048363916"
#define ALF4 "1234567890123456789"
#define TOKEN "5555666677778888"

static const char ids_a[] = "slf,nhs.token,surname.dmetaphone,surname.bloom\n" SA1
                            ",0123456789abcdef,1111222233334444 " TOKEN ",AAAA\n" SA2 ",,,\n";
static const char ids_b[] = "slf,nhs.token\n" SB1 ",0123456789abcdef\n";
static const char content_a[] = "slf,note,assessed,address\n" SA1
                                ",hello,14/06/2022,1 High Street\n" SA2
                                ",world,2022-03-01,2 Low Road\n" SA3 ",,20.03.2023,3 Mill Lane\n" SA4
                                ",x,notadate,4 Park Way\n";
static const char content_b[] = "slf,note\n" SB1 ",alpha\n" SB2 ",beta\n" SB3 ",gamma\n";
static const char clusters[] = "dataset,slf,alf,match_probability\n"
                               "A," SA1 "," ALF1 ",0.990000000\n"
                               "A," SA2 "," ALF2 ",0.970000000\n"
                               "A," SA3 "," ALF3 ",0.000000000\n"
                               "A," SA4 "," ALF4 ",0.000000000\n"
                               "B," SB1 "," ALF1 ",0.990000000\n"
                               "B," SB2 "," ALF2 ",0.965000049\n"
                               "B," SB3 "," ALF3B ",0.000000000\n"
                               "C," SC1 "," ALF1 ",0.999999600\n";
/* SA4-SB2 agrees exactly on the first comparison but the clustering did not
 * keep it (different ALFs): it must not make either record status 1. */
static const char links[] =
    "dataset_a,slf_a,dataset_b,slf_b,match_weight,match_probability,pattern\n"
    "A," SA1 ",B," SB1 ",10.000000,0.990000000,1-1-1\n"
    "A," SA2 ",B," SB2 ",8.000000,0.970000000,2-1-1\n"
    "A," SA4 ",B," SB2 ",7.000000,0.960000000,1-3-3\n"
    "A," SA1 ",C," SC1 ",12.000000,0.999000000,1-1-1\n";
static const char review[] =
    "dataset_a,slf_a,dataset_b,slf_b,match_weight,match_probability,pattern\n"
    "A," SA3 ",B," SB3 ",0.500000,0.600000000,3-1-1\n";

typedef struct run {
    char *dir, *prep, *linked, *out, *ca, *cb, *cl, *ida, *idb, *keyf;
    dl_key *key;
} run;

static void add_out(dl_manifest *m, const char *path, uint64_t rows)
{
    dl_outfile_info info;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_sha256_file_size(path, info.sha256, &info.bytes, &e), DL_OK);
    const char *base = strrchr(path, '/') + 1;
    cr_assert_eq(dl_manifest_add_output(m, base, rows, &info, &e), DL_OK, "%s", e.msg);
}

static void prep_manifest(const char *dir, const char *name, const char *ids,
                          const char *content)
{
    dl_manifest *m = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_new("prepare", &m, &e), DL_OK);
    cr_assert_eq(dl_manifest_set_dataset(m, name, &e), DL_OK);
    add_out(m, ids, 2);
    add_out(m, content, 4);
    char mn[64];
    snprintf(mn, sizeof mn, "%s.manifest.json", name);
    char *p = tu_join(dir, mn);
    cr_assert_eq(dl_manifest_write(m, p, NULL, &e), DL_OK, "%s", e.msg);
    free(p);
    dl_manifest_free(m);
}

/* Rewrite link.manifest.json for the files now in R->linked; the inputs are
 * the two ids files unless OTHER_RUN (then a third file stands in for A's). */
static void link_manifest(run *r, bool other_run)
{
    dl_manifest *m = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_new("link", &m, &e), DL_OK);
    uint8_t sha[32];
    if (other_run)
        dl_sha256("another run", 11, sha);
    else
        cr_assert_eq(dl_sha256_file(r->ida, sha, &e), DL_OK);
    cr_assert_eq(dl_manifest_add_input(m, "A.ids.csv.gz", 2, sha, &e), DL_OK);
    cr_assert_eq(dl_sha256_file(r->idb, sha, &e), DL_OK);
    cr_assert_eq(dl_manifest_add_input(m, "B.ids.csv.gz", 1, sha, &e), DL_OK);
    const char *names[] = {"links.csv.gz", "review.csv.gz", "clusters.csv.gz"};
    for (int i = 0; i < 3; i++) {
        char *p = tu_join(r->linked, names[i]);
        add_out(m, p, 1);
        free(p);
    }
    char *p = tu_join(r->linked, "link.manifest.json");
    cr_assert_eq(dl_manifest_write(m, p, NULL, &e), DL_OK, "%s", e.msg);
    free(p);
    dl_manifest_free(m);
}

/* Build the run with the given texts (NULL: the defaults above). Files named
 * .gz hold plain text here: readers go by the magic bytes, not the name. */
static void build(run *r, const char *ca, const char *cb, const char *cl, const char *li)
{
    memset(r, 0, sizeof *r);
    r->dir = tu_tmpdir();
    r->prep = tu_join(r->dir, "prep");
    r->linked = tu_join(r->dir, "linked");
    r->out = tu_join(r->dir, "out");
    mkdir(r->prep, 0755);
    mkdir(r->linked, 0755);
    r->ca = tu_join(r->prep, "A.content.csv.gz");
    r->cb = tu_join(r->prep, "B.content.csv.gz");
    r->ida = tu_join(r->prep, "A.ids.csv.gz");
    r->idb = tu_join(r->prep, "B.ids.csv.gz");
    r->cl = tu_join(r->linked, "clusters.csv.gz");
    tu_write_str(r->ida, ids_a);
    tu_write_str(r->idb, ids_b);
    tu_write_str(r->ca, ca ? ca : content_a);
    tu_write_str(r->cb, cb ? cb : content_b);
    tu_write_str(r->cl, cl ? cl : clusters);
    char *p = tu_join(r->linked, "links.csv.gz");
    tu_write_str(p, li ? li : links);
    free(p);
    p = tu_join(r->linked, "review.csv.gz");
    tu_write_str(p, review);
    free(p);
    prep_manifest(r->prep, "A", r->ida, r->ca);
    prep_manifest(r->prep, "B", r->idb, r->cb);
    link_manifest(r, false);
    r->key = mkkey(key1_bytes);
    r->keyf = tu_join(r->dir, "project.key");
    tu_write_str(r->keyf, key1_hex);
    chmod(r->keyf, 0600);
}

static void unbuild(run *r)
{
    tu_rmtree(r->dir);
    dl_key_free(r->key);
    free(r->dir), free(r->prep), free(r->linked), free(r->out), free(r->ca), free(r->cb);
    free(r->cl), free(r->ida), free(r->idb), free(r->keyf);
}

static dl_extract_opts opts_for(const run *r, const char *const *content, size_t n)
{
    dl_extract_opts o = DL_EXTRACT_OPTS_INIT;
    o.clusters = r->cl;
    o.project_key = r->key;
    o.outdir = r->out;
    o.content = content;
    o.n_content = n;
    return o;
}

/* The whole CSV as LF-joined lines (fields joined by commas, unquoted). */
static char *slurp_csv(const char *path)
{
    dl_csv_reader *rd = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_open(path, NULL, &rd, &e), DL_OK, "%s: %s", path, e.msg);
    dl_buf b = DL_BUF_INIT;
    const dl_row *h = dl_csv_header(rd);
    dl_row row;
    dl_status s = DL_OK;
    for (const dl_row *x = h; x; x = (s = dl_csv_next(rd, &row, &e)) == DL_OK ? &row : NULL) {
        for (size_t i = 0; i < x->n; i++) {
            cr_assert(dl_buf_puts(&b, i ? "," : ""));
            cr_assert(dl_buf_append(&b, x->field[i], x->len[i]));
        }
        cr_assert(dl_buf_putc(&b, '\n'));
    }
    cr_assert_eq(s, DL_END, "%s: %s", path, e.msg);
    dl_csv_close(rd);
    return b.data;
}

static bool exists(const char *dir, const char *name)
{
    char *p = tu_join(dir, name);
    bool ok = access(p, F_OK) == 0;
    free(p);
    return ok;
}

static void assert_no_outputs(const run *r)
{
    const char *names[] = {"A.extract.csv.gz", "B.extract.csv.gz", "overlap.csv",
                           "overlap.json", "extract.manifest.json"};
    for (int i = 0; i < 5; i++)
        cr_assert_not(exists(r->out, names[i]), "%s left behind", names[i]);
}

static char *alfe_text(const dl_key *k, uint64_t alf)
{
    dl_hmac_key hk;
    dl_extract_alf_key(k, &hk);
    char *s = malloc(24);
    snprintf(s, 24, "%llu", (unsigned long long)dl_extract_alf_e(&hk, alf));
    dl_hmac_key_cleanse(&hk);
    return s;
}

Test(extract, hand_made_run_statuses_coarsening_overlap)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    const char *cc[] = {"assessed"};
    const dl_coarsen how[] = {DL_COARSEN_WEEK};
    const char *ident[] = {"address"};
    o.n_coarsen = 1, o.coarsen_columns = cc, o.coarsen = how;
    o.n_identifying = 1, o.identifying = ident;
    o.sdc = (dl_sdc_rule){0, 1, false};
    dl_extract_result *res = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_extract_run(&o, &res, &e), DL_OK, "%s:%llu: %s", e.file,
                 (unsigned long long)e.line, e.msg);

    char *e1 = alfe_text(r.key, 13712680510326705669ULL);
    char *e2 = alfe_text(r.key, 10411724299255641909ULL);
    char want_a[512], want_b[512];
    snprintf(want_a, sizeof want_a,
             "ALF_E,ALF_MTCH_PCT,ALF_STS,note,assessed\n"
             "%s,0.990000,1,hello,2022-06-13\n"
             "%s,0.970000,2,world,2022-02-28\n"
             ",0.600000,3,,2023-03-20\n"
             ",0.000000,0,x,\n",
             e1, e2);
    snprintf(want_b, sizeof want_b,
             "ALF_E,ALF_MTCH_PCT,ALF_STS,note\n"
             "%s,0.990000,1,alpha\n"
             "%s,0.965000,2,beta\n"
             ",0.600000,3,gamma\n",
             e1, e2);
    char *pa = tu_join(r.out, "A.extract.csv.gz"), *pb = tu_join(r.out, "B.extract.csv.gz");
    char *ga = slurp_csv(pa), *gb = slurp_csv(pb);
    cr_assert_str_eq(ga, want_a);
    cr_assert_str_eq(gb, want_b);

    cr_assert_eq(res->n_datasets, 2);
    cr_assert_eq(res->datasets[0].rows_in, 4);
    cr_assert_eq(res->datasets[0].rows_out, 4);
    cr_assert_eq(res->datasets[0].bad_dates, 1);
    cr_assert_eq(res->datasets[0].status[DL_ALF_STS_EXACT], 1);
    cr_assert_eq(res->datasets[0].status[DL_ALF_STS_UNLINKED], 1);
    cr_assert_eq(res->n_warnings, 1, "the bad date is reported");
    /* People: ALF1 and ALF2 in A and B (ALF1 also in C, not extracted);
     * ALF3 and ALF4 in A only; ALF3B in B only. */
    cr_assert_eq(res->n_combos, 3);
    cr_assert_eq(res->people[0], 2); /* A only */
    cr_assert_eq(res->people[1], 1); /* B only */
    cr_assert_eq(res->people[2], 2); /* A and B */
    char *ov = tu_join(r.out, "overlap.csv");
    char *got = tu_read(ov, NULL);
    cr_assert_str_eq(got, "A,B,people\n1,0,2\n0,1,1\n1,1,2\n");

    /* The manifest lists every output with its hash and proves rows in = out. */
    char *mp = tu_join(r.out, "extract.manifest.json");
    dl_manifest *m = NULL;
    cr_assert_eq(dl_manifest_load(mp, &m, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_manifest_verify(m, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_manifest_n_outputs(m), 4); /* extracts and overlap */
    uint64_t rin, rout, rrej;
    cr_assert(dl_manifest_accounting(m, &rin, &rout, &rrej));
    cr_assert_eq(rin, 7);
    cr_assert_eq(rout, 7);
    char fp[17];
    dl_key_fingerprint(r.key, fp);
    cr_assert_str_eq(dl_manifest_key_fingerprint(m), fp);
    char *mtext = tu_read(mp, NULL);
    cr_assert(strstr(mtext, res->link_manifest_sha256), "link manifest hash not recorded");
    cr_assert_null(strstr(mtext, "High Street"));
    dl_manifest_free(m);

    free(mtext), free(mp), free(got), free(ov), free(ga), free(gb), free(pa), free(pb);
    free(e1), free(e2);
    dl_extract_result_free(res);
    unbuild(&r);
}

Test(extract, overlap_under_the_default_rule)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    dl_extract_result *res = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_extract_run(&o, &res, &e), DL_OK, "%s", e.msg);
    for (size_t i = 0; i < 3; i++)
        cr_assert(res->suppressed[i], "a count under 10 was published");
    char *ov = tu_join(r.out, "overlap.csv"), *oj = tu_join(r.out, "overlap.json");
    char *got = tu_read(ov, NULL), *js = tu_read(oj, NULL);
    cr_assert_str_eq(got, "A,B,people\n1,0,<10\n0,1,<10\n1,1,<10\n");
    cr_assert(strstr(js, "\"people\": null"));
    cr_assert_null(strstr(js, "\"people\": 2"));
    free(got), free(js), free(ov), free(oj);
    dl_extract_result_free(res);
    unbuild(&r);
}

/* Run, expect failure CODE at LINE:COL of FILE (NULL: not checked), with
 * WHAT in the message and nothing in the output folder. */
static void expect_fail(run *r, dl_extract_opts *o, dl_status code, const char *file,
                        uint64_t line, uint64_t col, const char *what)
{
    dl_extract_result *res = NULL;
    dl_error e = DL_ERROR_INIT;
    dl_status s = dl_extract_run(o, &res, &e);
    cr_assert_eq(s, code, "got %s: %s", dl_status_name(s), e.msg);
    cr_assert_null(res);
    if (file)
        cr_assert_str_eq(e.file, file);
    cr_assert_eq(e.line, line, "line %llu: %s", (unsigned long long)e.line, e.msg);
    cr_assert_eq(e.col, col, "col %llu: %s", (unsigned long long)e.col, e.msg);
    cr_assert(strstr(e.msg, what), "message: %s", e.msg);
    cr_assert_null(strstr(e.msg, "High Street"), "message holds a clear value");
    assert_no_outputs(r);
}

Test(extract, leak_check_finds_an_slf_in_a_cell)
{
    run r;
    build(&r, NULL, "slf,note\n" SB1 ",alpha\n" SB2 ",see " SA3 " too\n" SB3 ",gamma\n", NULL,
          NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cb, 3, 4, "an SLF of the inputs");
    unbuild(&r);
}

Test(extract, leak_check_finds_an_slf_known_only_from_a_later_content_file)
{
    /* SA5 is in no cluster; it appears as an SLF in A and as a cell of B. */
    run r;
    build(&r,
          "slf,note\n" SA1 ",a\n" SA2 ",b\n" SA3 ",c\n" SA4 ",d\n" SA5 ",e\n",
          "slf,note\n" SB1 ",AA000000000000000000000000000005\n" SB2 ",b\n" SB3 ",c\n", NULL,
          NULL);
    const char *content[] = {r.cb, r.ca}; /* B first: the SLF is seen after the cell */
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cb, 2, 4, "an SLF");
    unbuild(&r);
}

Test(extract, leak_check_finds_an_alf)
{
    run r;
    build(&r, NULL, "slf,note\n" SB1 ",alpha\n" SB2 ",beta\n" SB3 "," ALF4 "\n", NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cb, 4, 4, "an ALF");
    unbuild(&r);
}

Test(extract, leak_check_finds_a_token_only_with_ids)
{
    run r;
    build(&r, NULL, "slf,note\n" SB1 ",alpha\n" SB2 ",x" TOKEN "\n" SB3 ",gamma\n", NULL,
          NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    /* Without the ids files the tokens are unknown: the documented limit. */
    dl_extract_result *res = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_extract_run(&o, &res, &e), DL_OK, "%s", e.msg);
    dl_extract_result_free(res);
    tu_rmtree(r.out);
    const char *ids[] = {r.ida, r.idb};
    o.n_ids = 2, o.ids = ids;
    expect_fail(&r, &o, DL_EINPUT, r.cb, 3, 4, "a token of the ids files");
    unbuild(&r);
}

Test(extract, leak_check_finds_an_identifying_value_in_another_column)
{
    run r;
    build(&r, NULL, "slf,note\n" SB1 ",alpha\n" SB2 ",beta\n" SB3 ",  2 low road \n", NULL,
          NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    const char *ident[] = {"address"};
    o.n_identifying = 1, o.identifying = ident;
    expect_fail(&r, &o, DL_EINPUT, r.cb, 4, 4, "identifying");
    unbuild(&r);
}

Test(extract, slfs_not_in_clusters_are_kept_unlinked_and_counted)
{
    run r;
    build(&r, "slf,note\n" SA1 ",a\n" SA2 ",b\n" SA3 ",c\n" SA4 ",d\n" SA5 ",e\n", NULL, NULL,
          NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    o.sdc = (dl_sdc_rule){0, 1, false};
    dl_extract_result *res = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_extract_run(&o, &res, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(res->datasets[0].not_in_clusters, 1);
    cr_assert_eq(res->datasets[0].rows_in, 5);
    cr_assert_eq(res->datasets[0].rows_out, 5);
    cr_assert_eq(res->datasets[0].status[DL_ALF_STS_UNLINKED], 2);
    cr_assert_eq(res->n_warnings, 1);
    cr_assert(strstr(res->warnings[0], "1 of 5 SLFs are not in clusters.csv.gz"), "%s",
              res->warnings[0]);
    cr_assert_eq(res->people[0], 3, "the unknown record is a person of its own");
    char *pa = tu_join(r.out, "A.extract.csv.gz");
    char *ga = slurp_csv(pa);
    cr_assert(strstr(ga, "\n,0.000000,0,e\n"), "%s", ga);
    free(ga), free(pa);
    dl_extract_result_free(res);
    unbuild(&r);
}

Test(extract, duplicate_slf_in_a_content_file)
{
    run r;
    build(&r, "slf,note\n" SA1 ",a\n" SA2 ",b\n" SA1 ",c\n", NULL, NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.ca, 4, 1, "duplicate SLF, first at A.content.csv.gz:2");
    unbuild(&r);
}

Test(extract, duplicate_slf_in_the_clusters)
{
    run r;
    char cl[1024];
    snprintf(cl, sizeof cl, "%sB,%s,%s,0\n", clusters, SA2, ALF2);
    build(&r, NULL, NULL, cl, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cl, 10, 3, "duplicate SLF");
    unbuild(&r);
}

Test(extract, bad_cells_in_the_clusters)
{
    const struct {
        const char *row;
        uint64_t col;
        const char *what;
    } cases[] = {
        {"A,xyz," ALF1 ",0.5\n", 3, "bad SLF"},
        {"A," SA5 ",12a,0.5\n", 36, "bad ALF"},
        {"A," SA5 ",0,0.5\n", 36, "bad ALF"},
        {"A," SA5 "," ALF1 ",1.5\n", 57, "bad match probability"},
        {"," SA5 "," ALF1 ",0.5\n", 1, "empty dataset"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        run r;
        char cl[1024];
        snprintf(cl, sizeof cl, "%s%s", clusters, cases[i].row);
        build(&r, NULL, NULL, cl, NULL);
        const char *content[] = {r.ca, r.cb};
        dl_extract_opts o = opts_for(&r, content, 2);
        expect_fail(&r, &o, DL_EINPUT, r.cl, 10, cases[i].col, cases[i].what);
        unbuild(&r);
    }
}

Test(extract, clusters_from_another_linkage_run)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    link_manifest(&r, true);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.ca, 0, 0, "is not from the linkage run");
    unbuild(&r);
}

Test(extract, a_link_output_changed_after_its_manifest)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    char cl[1024];
    snprintf(cl, sizeof cl, "%s", clusters);
    cl[strlen(cl) - 2] = '1'; /* one probability digit */
    tu_write_str(r.cl, cl);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cl, 0, 0, "changed since link.manifest.json");
    unbuild(&r);
}

Test(extract, a_content_file_without_its_manifest)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    char *m = tu_join(r.prep, "B.manifest.json");
    unlink(m);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, m, 0, 0, "not found");
    free(m);
    unbuild(&r);
}

Test(extract, a_link_that_names_an_unknown_slf)
{
    run r;
    char li[1024];
    snprintf(li, sizeof li, "%sA,%s,B,%s,1.0,0.99,1-1-1\n", links, SA5, SB1);
    build(&r, NULL, NULL, NULL, li);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    char *lp = tu_join(r.linked, "links.csv.gz");
    expect_fail(&r, &o, DL_EINPUT, lp, 6, 3, "not in clusters.csv.gz");
    free(lp);
    unbuild(&r);
}

Test(extract, an_slf_of_another_dataset)
{
    run r;
    build(&r, NULL, "slf,note\n" SB1 ",alpha\n" SC1 ",beta\n", NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cb, 3, 1, "give to dataset 'C'");
    unbuild(&r);
}

Test(extract, option_columns_must_exist)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    const char *drop[] = {"adress"};
    o.n_drop = 1, o.drop = drop;
    expect_fail(&r, &o, DL_EUSAGE, "", 0, 0, "did you mean 'address'?");
    o.n_drop = 0;
    const char *cc[] = {"address"};
    const dl_coarsen how[] = {DL_COARSEN_YEAR};
    o.n_coarsen = 1, o.coarsen_columns = cc, o.coarsen = how;
    o.n_identifying = 1, o.identifying = cc;
    expect_fail(&r, &o, DL_EUSAGE, "", 0, 0, "also dropped");
    unbuild(&r);
}

Test(extract, a_content_column_named_like_an_added_one)
{
    run r;
    build(&r, NULL, "slf,ALF_E\n" SB1 ",1\n", NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cb, 1, 5, "'ALF_E'");
    unbuild(&r);
}

Test(extract, a_missing_link_manifest)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    char *m = tu_join(r.linked, "link.manifest.json");
    unlink(m);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, m, 0, 0, "not found (expected link.manifest.json");
    free(m);
    unbuild(&r);
}

Test(extract, bad_content_files)
{
    run r;
    build(&r, NULL, "slf,note\n" SB1 ",a\nzz000000000000000000000000000001,b\n", NULL, NULL);
    const char *content[] = {r.ca, r.cb};
    dl_extract_opts o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EINPUT, r.cb, 3, 1, "bad SLF");
    unbuild(&r);

    build(&r, NULL, "id,note\n" SB1 ",a\n", NULL, NULL);
    o = opts_for(&r, content, 2);
    content[0] = r.ca, content[1] = r.cb;
    expect_fail(&r, &o, DL_EINPUT, r.cb, 1, 1, "first column is not 'slf'");
    unbuild(&r);

    build(&r, NULL, NULL, NULL, NULL);
    content[0] = r.ca, content[1] = r.ca;
    o = opts_for(&r, content, 2);
    expect_fail(&r, &o, DL_EUSAGE, r.ca, 0, 0, "given twice");
    content[1] = r.ida; /* not a content file */
    expect_fail(&r, &o, DL_EUSAGE, r.ida, 0, 0, "not a content file");
    unbuild(&r);
}

/* ---- the command ------------------------------------------------------------------- */

Test(extract, cli_refuses_a_project_key_of_wrong_mode_or_length)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    char *err = NULL;
    const char *av[] = {"extract", "-c", r.cl, "-k", r.keyf, "-o", r.out, r.ca, r.cb, NULL};
    chmod(r.keyf, 0644);
    cr_assert_eq(tu_dolen(av, NULL, &err), 2, "%s", err);
    cr_assert(strstr(err, "chmod 600"), "%s", err);
    free(err);
    tu_write_str(r.keyf, "0123\n");
    chmod(r.keyf, 0600);
    cr_assert_eq(tu_dolen(av, NULL, &err), 2, "%s", err);
    cr_assert(strstr(err, "project.key:1:"), "%s", err);
    free(err);
    assert_no_outputs(&r);
    unbuild(&r);
}

Test(extract, cli_runs_and_prints_the_published_table)
{
    run r;
    build(&r, NULL, NULL, NULL, NULL);
    char *out = NULL, *err = NULL;
    const char *av[] = {"extract",  "-c",         r.cl, "-k",        r.keyf,
                        "-o",       r.out,        "--coarsen", "assessed=month",
                        "--identifying", "address", "--min-cell", "2", "--round", "1",
                        r.ca,       r.cb,         NULL};
    cr_assert_eq(tu_dolen(av, &out, &err), 0, "%s", err);
    cr_assert(strstr(out, "<2"), "%s", out);  /* B only: 1 person */
    cr_assert(strstr(out, "  x  x  2\n"), "%s", out);
    cr_assert(strstr(err, "notadate") == NULL);
    cr_assert(strstr(err, "A: 4 rows in, 4 out"), "%s", err);
    free(out), free(err);
    const char *bad[] = {"extract", "-c", r.cl, "-k", r.keyf, "-o", r.out,
                         "--coarsen", "assessed=fortnight", r.ca, NULL};
    cr_assert_eq(tu_dolen(bad, NULL, &err), 1);
    cr_assert(strstr(err, "week, month or year"), "%s", err);
    free(err);
    unbuild(&r);
}

/* ---- end to end: synth -> prepare -> link -> extract --------------------------------- */

static void dolen_ok(const char *const *av)
{
    char *err = NULL;
    int rc = tu_dolen(av, NULL, &err);
    cr_assert_eq(rc, 0, "dolen %s: %s", av[0], err);
    free(err);
}

typedef void (*row_fn)(const dl_row *row, const dl_row *hdr, void *payload);
static void each_row(const char *path, row_fn fn, void *payload)
{
    dl_csv_reader *rd = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_open(path, NULL, &rd, &e), DL_OK, "%s: %s", path, e.msg);
    dl_row row;
    dl_status s;
    while ((s = dl_csv_next(rd, &row, &e)) == DL_OK)
        fn(&row, dl_csv_header(rd), payload);
    cr_assert_eq(s, DL_END, "%s: %s", path, e.msg);
    dl_csv_close(rd);
}

/* A set of strings by linear probing (test sizes: thousands). */
typedef struct strset {
    char **s;
    int *v;
    size_t cap, n;
} strset;

static size_t ss_slot(const strset *t, const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (const char *p = s; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    size_t i = h & (t->cap - 1);
    while (t->s[i] && strcmp(t->s[i], s) != 0)
        i = (i + 1) & (t->cap - 1);
    return i;
}

static void ss_put(strset *t, const char *s, int v)
{
    if (!t->cap) {
        t->cap = 1 << 17;
        t->s = calloc(t->cap, sizeof *t->s);
        t->v = calloc(t->cap, sizeof *t->v);
    }
    cr_assert(t->n * 2 < t->cap);
    size_t i = ss_slot(t, s);
    if (!t->s[i]) {
        t->s[i] = strdup(s);
        t->n++;
    }
    t->v[i] = v;
}

static int ss_get(const strset *t, const char *s)
{
    if (!t->cap)
        return -1;
    size_t i = ss_slot(t, s);
    return t->s[i] ? t->v[i] : -1;
}

static void ss_free(strset *t)
{
    for (size_t i = 0; i < t->cap; i++)
        free(t->s[i]);
    free(t->s), free(t->v);
}

static void add_all_cells(const dl_row *row, const dl_row *hdr, void *payload)
{
    (void)hdr;
    for (size_t i = 0; i < row->n; i++)
        if (row->len[i]) {
            /* token sets: each token on its own */
            char *copy = strdup(row->field[i]), *save = NULL;
            for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
                ss_put(payload, t, 1);
            free(copy);
        }
}

static void add_col1(const dl_row *row, const dl_row *hdr, void *payload)
{
    (void)hdr;
    ss_put(payload, row->field[1], 1);
}

typedef struct e2e {
    strset secrets;      /* SLFs, ALFs, tokens */
    strset slf_person;   /* SLF -> person id */
    strset rid_slf;      /* dataset/record id -> index into slfs */
    strset alf_of;       /* SLF -> index of its ALF in alfs */
    char **slfs;
    size_t n_slfs;
    int dataset;
    uint64_t cells;
    int person_mask[4096];
    int alf_mask[8192];
    strset alf_ix;
} e2e;

static void map_row(const dl_row *row, const dl_row *hdr, void *payload)
{
    (void)hdr;
    e2e *t = payload;
    char key[128];
    snprintf(key, sizeof key, "%d/%s", t->dataset, row->field[0]);
    t->slfs[t->n_slfs] = strdup(row->field[1]);
    ss_put(&t->rid_slf, key, (int)t->n_slfs++);
}

static void truth_row(const dl_row *row, const dl_row *hdr, void *payload)
{
    (void)hdr;
    e2e *t = payload;
    static const char *const names[] = {"spine", "gp", "la_carers", "carers_allowance"};
    for (int d = 0; d < 4; d++)
        if (strcmp(row->field[0], names[d]) == 0) {
            char key[128];
            snprintf(key, sizeof key, "%d/%s", d, row->field[1]);
            int ix = ss_get(&t->rid_slf, key);
            if (ix >= 0) /* rejected rows have no SLF */
                ss_put(&t->slf_person, t->slfs[ix], atoi(row->field[2]));
        }
}

static void cluster_row(const dl_row *row, const dl_row *hdr, void *payload)
{
    (void)hdr;
    e2e *t = payload;
    int ix = ss_get(&t->alf_ix, row->field[2]);
    if (ix < 0) {
        ix = (int)t->alf_ix.n;
        cr_assert_lt(ix, 8192);
        ss_put(&t->alf_ix, row->field[2], ix);
    }
    ss_put(&t->alf_of, row->field[1], ix);
}

static void content_row(const dl_row *row, const dl_row *hdr, void *payload)
{
    (void)hdr;
    e2e *t = payload;
    int p = ss_get(&t->slf_person, row->field[0]);
    cr_assert_geq(p, 0, "an SLF without a person");
    cr_assert_lt(p, 4096);
    t->person_mask[p] |= 1 << t->dataset;
    int a = ss_get(&t->alf_of, row->field[0]);
    cr_assert_geq(a, 0);
    t->alf_mask[a] |= 1 << t->dataset;
}

static void extract_row(const dl_row *row, const dl_row *hdr, void *payload)
{
    e2e *t = payload;
    for (size_t i = 0; i < row->n; i++) {
        t->cells++;
        cr_assert_lt(ss_get(&t->secrets, row->field[i]), 0,
                     "extract column %s holds an SLF, ALF or token", hdr->field[i]);
    }
    cr_assert_str_neq(hdr->field[0], "slf");
    int sts = atoi(row->field[2]);
    cr_assert(sts >= 0 && sts <= 3);
    cr_assert_eq(row->len[0] == 0, sts == 0 || sts == 3, "ALF_E empty iff not linked");
    cr_assert_eq(row->len[1], 8, "ALF_MTCH_PCT %s", row->field[1]);
}

/* Clear identifiers of the raw files: every cell of the columns that never
 * reach content, except dates of birth and sex (a derived week or year may
 * legitimately look like a date). */
static void raw_row(const dl_row *row, const dl_row *hdr, void *payload)
{
    static const char *const keep[] = {"registration_date", "ethnicity",   "care_type",
                                       "assessment_date",   "award_date",  "dob",
                                       "date_birth",        "date_of_birth", "birth_date",
                                       "sex",               "gender"};
    for (size_t i = 1; i < row->n; i++) {
        bool skip = row->len[i] < 3;
        for (size_t k = 0; k < sizeof keep / sizeof keep[0] && !skip; k++)
            skip = strcmp(hdr->field[i], keep[k]) == 0;
        if (!skip)
            ss_put(payload, row->field[i], 1);
    }
}

static void no_clear_row(const dl_row *row, const dl_row *hdr, void *payload)
{
    for (size_t i = 0; i < row->n; i++)
        cr_assert_lt(ss_get(payload, row->field[i]), 0,
                     "extract column %s holds a clear identifier", hdr->field[i]);
}

Test(extract, end_to_end_synth_prepare_link_extract, .timeout = 300)
{
    static const char *const names[] = {"spine", "gp", "la_carers", "carers_allowance"};
    char *dir = tu_tmpdir();
    char *raw = tu_join(dir, "raw"), *prep = tu_join(dir, "prep"), *linked = tu_join(dir, "l");
    char *out = tu_join(dir, "x"), *out2 = tu_join(dir, "x2"), *lkey = tu_join(dir, "lk");
    char *pkey = tu_join(dir, "pk");
    tu_write_str(lkey, "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n");
    tu_write_str(pkey, key1_hex);
    chmod(lkey, 0600);
    chmod(pkey, 0600);
    const char *syn[] = {"synth", "-o", raw, "--seed", "3", "-n", "1500", "-q", NULL};
    dolen_ok(syn);
    char *ids[4], *content[4], *maps[4], *raws[4];
    for (int d = 0; d < 4; d++) {
        char spec_name[128], f[128];
        snprintf(spec_name, sizeof spec_name, "config/examples/demo-%s.yaml", names[d]);
        char *spec = tu_source(spec_name);
        if (access(spec, F_OK) != 0) { /* as tools/demo.sh: one spec serves the rest */
            free(spec);
            spec = tu_source("config/examples/demo.yaml");
        }
        snprintf(f, sizeof f, "%s.csv", names[d]);
        raws[d] = tu_join(raw, f);
        const char *pr[] = {"prepare", "-s", spec, "-k", lkey, "-d", names[d], "-o", prep,
                            "--seed", "3", "-q", raws[d], NULL};
        dolen_ok(pr);
        free(spec);
        snprintf(f, sizeof f, "%s.ids.csv.gz", names[d]);
        ids[d] = tu_join(prep, f);
        snprintf(f, sizeof f, "%s.content.csv.gz", names[d]);
        content[d] = tu_join(prep, f);
        snprintf(f, sizeof f, "%s.slfmap.csv.gz", names[d]);
        maps[d] = tu_join(prep, f);
    }
    char *spec = tu_source("config/examples/demo.yaml");
    const char *lk[] = {"link", "-s", spec, "-o", linked, "-q", ids[0], ids[1], ids[2], ids[3],
                        NULL};
    dolen_ok(lk);
    char *cl = tu_join(linked, "clusters.csv.gz");
    const char *ex[] = {"extract", "-c", cl, "-k", pkey, "-o", out, "-q",
                        "--coarsen", "week_of_birth=month", "--identifying", "address",
                        "--identifying", "middle_names", "--ids", ids[0], "--ids", ids[1],
                        "--ids", ids[2], "--ids", ids[3],
                        content[0], content[1], content[2], content[3], NULL};
    dolen_ok(ex);
    /* And exact counts, for comparing with what the test computes itself. */
    const char *ex2[] = {"extract", "-c", cl, "-k", pkey, "-o", out2, "-q",
                         "--min-cell", "0", "--round", "1",
                         content[0], content[1], content[2], content[3], NULL};
    dolen_ok(ex2);

    e2e *t = calloc(1, sizeof *t);
    t->slfs = calloc(20000, sizeof *t->slfs);
    for (int d = 0; d < 4; d++) {
        each_row(ids[d], add_all_cells, &t->secrets); /* SLFs and tokens */
        t->dataset = d;
        each_row(maps[d], map_row, t);
    }
    strset alfs = {0};
    each_row(cl, add_col1, &t->secrets); /* SLFs again */
    char *truth = tu_join(raw, "truth.csv");
    each_row(truth, truth_row, t);
    each_row(cl, cluster_row, t);
    for (size_t i = 0; i < t->alf_ix.cap; i++)
        if (t->alf_ix.s[i])
            ss_put(&t->secrets, t->alf_ix.s[i], 1);
    strset clear = {0};
    for (int d = 0; d < 4; d++) {
        t->dataset = d;
        each_row(content[d], content_row, t);
        each_row(raws[d], raw_row, &clear);
    }
    for (int d = 0; d < 4; d++) {
        char f[128];
        snprintf(f, sizeof f, "%s.extract.csv.gz", names[d]);
        char *p = tu_join(out, f);
        each_row(p, extract_row, t);
        each_row(p, no_clear_row, &clear);
        free(p);
    }
    cr_assert_gt(t->cells, 10000);

    /* Overlap: exact counts equal the test's own count from the clusters; the
     * published table is that count under the default rule; and both are
     * close to the ground truth (linkage is not perfect). */
    uint64_t by_alf[16] = {0}, by_person[16] = {0};
    for (size_t a = 0; a < 8192; a++)
        by_alf[t->alf_mask[a]]++;
    for (size_t p = 0; p < 4096; p++)
        by_person[t->person_mask[p]]++;
    char *o1p = tu_join(out, "overlap.csv"), *o2p = tu_join(out2, "overlap.csv");
    char *o1 = tu_read(o1p, NULL), *o2 = tu_read(o2p, NULL);
    cr_assert(strncmp(o1, "spine,gp,la_carers,carers_allowance,people\n", 43) == 0, "%s", o1);
    const char *l1 = strchr(o1, '\n') + 1, *l2 = strchr(o2, '\n') + 1;
    const dl_sdc_rule rule = DL_SDC_RULE_INIT;
    uint64_t total_err = 0, total = 0;
    for (unsigned mask = 1; mask < 16; mask++) {
        int f[4];
        char shown[32], exact[32];
        cr_assert_eq(sscanf(l1, "%d,%d,%d,%d,%31s", &f[0], &f[1], &f[2], &f[3], shown), 5);
        cr_assert_eq(sscanf(l2, "%*d,%*d,%*d,%*d,%31s", exact), 1);
        for (int d = 0; d < 4; d++)
            cr_assert_eq(f[d], (int)(mask >> d & 1), "row order");
        cr_assert_eq(strtoull(exact, NULL, 10), by_alf[mask], "mask %u: %s vs %llu", mask,
                     exact, (unsigned long long)by_alf[mask]);
        uint64_t want;
        if (dl_sdc_apply(&rule, by_alf[mask], &want))
            cr_assert_eq(strtoull(shown, NULL, 10), want, "mask %u", mask);
        else
            cr_assert_str_eq(shown, "<10", "mask %u", mask);
        uint64_t diff = by_alf[mask] > by_person[mask] ? by_alf[mask] - by_person[mask]
                                                       : by_person[mask] - by_alf[mask];
        total_err += diff;
        total += by_person[mask];
        cr_log_info("mask %2u: truth %4llu, ALFs %4llu, published %s", mask,
                    (unsigned long long)by_person[mask], (unsigned long long)by_alf[mask],
                    shown);
        l1 = strchr(l1, '\n') + 1;
        l2 = strchr(l2, '\n') + 1;
    }
    /* Linkage errors move people between cells; on this synthetic data they
     * move fewer than 5% of them. */
    cr_assert_lt(total_err * 20, total, "overlap differs from truth by %llu of %llu",
                 (unsigned long long)total_err, (unsigned long long)total);

    free(o1), free(o2), free(o1p), free(o2p), free(truth), free(cl), free(spec);
    for (size_t i = 0; i < t->n_slfs; i++)
        free(t->slfs[i]);
    free(t->slfs);
    ss_free(&t->secrets), ss_free(&t->slf_person), ss_free(&t->rid_slf), ss_free(&t->alf_of);
    ss_free(&t->alf_ix), ss_free(&alfs), ss_free(&clear);
    free(t);
    for (int d = 0; d < 4; d++)
        free(ids[d]), free(content[d]), free(maps[d]), free(raws[d]);
    tu_rmtree(dir);
    free(dir), free(raw), free(prep), free(linked), free(out), free(out2), free(lkey);
    free(pkey);
}
