/* test_report.c: `dolen report` end to end (linkage/report.c): a report of
 * demo data that is well-formed XHTML, holds the link run's numbers, renders
 * in headless Chromium, and bad link folders refused with the file named. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "dolen/json.h"
#include "dolen/report.h"
#include "dolen/sha256.h"
#include "test_util.h"

/* ---- fixture: synth -> prepare -> link on a small demo population ---------- */

static const char *const DATASETS[] = {"spine", "gp", "la_carers", "carers_allowance"};

static void run_ok(const char *const *av)
{
    char *err = NULL;
    int rc = tu_dolen(av, NULL, &err);
    cr_assert_eq(rc, 0, "dolen %s failed (%d): %s", av[0], rc, err);
    free(err);
}

/* Prepare every demo dataset of D/raw into D/OUT with SEED's SLFs. */
static void prepare_all(const char *d, const char *out, const char *seed)
{
    char key[512], raw[512], spec[512], po[512];
    snprintf(key, sizeof key, "%s/key", d);
    snprintf(po, sizeof po, "%s/%s", d, out);
    for (size_t i = 0; i < 4; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "config/examples/demo-%s.yaml", DATASETS[i]);
        char *sp = tu_source(rel);
        struct stat sb;
        if (stat(sp, &sb) != 0) {
            free(sp);
            sp = tu_source("config/examples/demo.yaml");
        }
        snprintf(spec, sizeof spec, "%s", sp);
        free(sp);
        snprintf(raw, sizeof raw, "%s/raw/%s.csv", d, DATASETS[i]);
        const char *av[] = {"prepare", "-q", "-s", spec, "-k", key, "-d", DATASETS[i], "-o",
                            po, "--seed", seed, raw, NULL};
        run_ok(av);
    }
}

/* A fresh folder holding raw/, prepared/ and linked/. Caller removes it. */
static char *fixture(void)
{
    char *d = tu_tmpdir();
    char key[512], raw[512], linked[512], in[4][512];
    snprintf(key, sizeof key, "%s/key", d);
    snprintf(raw, sizeof raw, "%s/raw", d);
    snprintf(linked, sizeof linked, "%s/linked", d);
    const char *kg[] = {"keygen", "-o", key, NULL};
    char *out = NULL;
    cr_assert_eq(tu_dolen(kg, &out, NULL), 0);
    free(out);
    const char *sy[] = {"synth", "-o", raw, "--seed", "3", "-n", "300", NULL};
    cr_assert_eq(tu_dolen(sy, &out, NULL), 0);
    free(out);
    prepare_all(d, "prepared", "1");
    for (size_t i = 0; i < 4; i++)
        snprintf(in[i], sizeof in[i], "%s/prepared/%s.ids.csv.gz", d, DATASETS[i]);
    char *spec = tu_source("config/examples/demo.yaml");
    const char *lk[] = {"link", "-q", "-t", "2", "-s", spec, "-o", linked,
                        in[0],  in[1], in[2], in[3], NULL};
    run_ok(lk);
    free(spec);
    return d;
}

static char *path(const char *d, const char *rel)
{
    return tu_join(d, rel);
}

/* Replace LINKDIR/NAME by TEXT and update link.manifest.json's size and
 * SHA-256 of it, so the manifest check passes and the check under test is
 * the one that speaks. */
static void tamper(const char *linked, const char *name, const char *text)
{
    char *f = tu_join(linked, name), *mp = tu_join(linked, "link.manifest.json");
    uint8_t sha[32];
    uint64_t bytes;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_sha256_file_size(f, sha, &bytes, &err), DL_OK);
    char old_hex[65], new_hex[65], old_b[64], new_b[64];
    dl_sha256_hex(sha, old_hex);
    tu_write_str(f, text);
    dl_sha256(text, strlen(text), sha);
    dl_sha256_hex(sha, new_hex);
    snprintf(old_b, sizeof old_b, "\"bytes\": %llu,", (unsigned long long)bytes);
    snprintf(new_b, sizeof new_b, "\"bytes\": %zu,", strlen(text));
    char *m = tu_read(mp, NULL);
    cr_assert_not_null(m);
    char key[128];
    snprintf(key, sizeof key, "\"name\": \"%s\"", name);
    char *at = strstr(m, key);
    cr_assert_not_null(at);
    char *bp = strstr(at, old_b), *hp = strstr(at, old_hex);
    cr_assert(bp && hp, "manifest entry of %s not found", name);
    dl_buf nb = DL_BUF_INIT;
    dl_buf_append(&nb, m, (size_t)(bp - m));
    dl_buf_puts(&nb, new_b);
    dl_buf_append(&nb, bp + strlen(old_b), (size_t)(hp - bp - (ptrdiff_t)strlen(old_b)));
    dl_buf_puts(&nb, new_hex);
    dl_buf_puts(&nb, hp + 64);
    tu_write_str(mp, nb.data);
    dl_buf_free(&nb);
    free(m);
    free(f);
    free(mp);
}

static char *gunzip_text(const char *p)
{
    gzFile g = gzopen(p, "rb");
    cr_assert_not_null(g);
    dl_buf b = DL_BUF_INIT;
    char tmp[65536];
    int n;
    while ((n = gzread(g, tmp, sizeof tmp)) > 0)
        dl_buf_append(&b, tmp, (size_t)n);
    gzclose(g);
    return b.data;
}

/* Run the load and expect CODE, with the error naming a file ending in
 * FILE_END at LINE and COL. */
static void expect_error(const dl_report_opts *o, dl_status code, const char *file_end,
                         uint64_t line, uint64_t col)
{
    dl_report *r = NULL;
    dl_error err = DL_ERROR_INIT;
    dl_status st = dl_report_load(o, &r, &err);
    char buf[600];
    cr_assert_eq(st, code, "expected %s, got %s: %s", dl_status_name(code), dl_status_name(st),
                 dl_error_format(&err, buf, sizeof buf));
    cr_assert_null(r);
    size_t fl = strlen(err.file), el = strlen(file_end);
    cr_assert(fl >= el && !strcmp(err.file + fl - el, file_end), "file '%s', expected ...%s: %s",
              err.file, file_end, err.msg);
    cr_assert_eq(err.line, line, "line %llu: %s", (unsigned long long)err.line, err.msg);
    cr_assert_eq(err.col, col, "col %llu: %s", (unsigned long long)err.col, err.msg);
}

static dl_report_opts opts_for(const char *linked)
{
    dl_report_opts o = DL_REPORT_OPTS_INIT;
    o.linkdir = linked;
    return o;
}

/* ---- end to end ------------------------------------------------------------- */

/* python3 is guaranteed where meson runs; its expat parser is a real XML
 * parser, so this checks the page as XHTML, not just by our own reading. */
static void assert_xml(const char *file)
{
    char cmd[1200];
    snprintf(cmd, sizeof cmd,
             "python3 -c \"import sys,xml.etree.ElementTree as E; r=E.parse(sys.argv[1]).getroot();"
             "sys.exit(0 if r.tag=='{http://www.w3.org/1999/xhtml}html' and "
             "len(r.findall('.//{http://www.w3.org/2000/svg}svg'))>=7 else 3)\" '%s'",
             file);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "%s is not well-formed XHTML with its SVG charts (python3 said %d)",
                 file, rc);
}

static uint64_t json_u64(const dl_json *o, const char *k)
{
    uint64_t v = 0;
    cr_assert(dl_json_uint64(dl_json_get(o, k), &v), "no %s", k);
    return v;
}

Test(report, end_to_end_page_and_twin, .timeout = 120)
{
    char *d = fixture();
    char *linked = path(d, "linked"), *html = path(d, "out.html"), *json = path(d, "out.json");
    const char *av[] = {"report", "-o", html, linked, NULL};
    char *out = NULL, *err = NULL;
    cr_assert_eq(tu_dolen(av, &out, &err), 0, "report: %s", err);
    cr_assert(strstr(out, html), "the page's path is printed: %s", out);
    assert_xml(html);

    size_t len;
    char *page = tu_read(html, &len);
    cr_assert_not_null(page);
    /* self-contained: no script, nothing fetched */
    cr_assert_null(strstr(page, "<script"));
    cr_assert_null(strstr(page, "src="));
    cr_assert_null(strstr(page, "@import"));
    cr_assert_null(strstr(page, "https://"));
    for (const char *p = page; (p = strstr(p, "http://")); p++)
        cr_assert(!strncmp(p, "http://www.w3.org/", 18), "a URL other than a namespace");

    /* the twin holds the link run's numbers, and the page shows them */
    dl_json_doc *lr = NULL, *tw = NULL;
    dl_error e = DL_ERROR_INIT;
    char *lrp = path(linked, "link-report.json");
    cr_assert_eq(dl_json_load(lrp, &lr, &e), DL_OK);
    cr_assert_eq(dl_json_load(json, &tw, &e), DL_OK, "%s", e.msg);
    const dl_json *L = dl_json_root(lr), *T = dl_json_root(tw);
    const dl_json *S = dl_json_get(T, "summary");
    cr_assert_eq(json_u64(S, "pairs_scored"), json_u64(L, "pairs_scored"));
    cr_assert_eq(json_u64(S, "links"), json_u64(L, "links"));
    cr_assert_eq(json_u64(S, "review_pairs"), json_u64(L, "review_pairs"));
    cr_assert_eq(json_u64(S, "records"), json_u64(L, "records"));
    const dl_json *C = dl_json_get(T, "clusters");
    cr_assert_eq(json_u64(C, "count"), json_u64(dl_json_get(L, "clusters"), "count"));
    char expect[128];
    uint64_t links = json_u64(L, "links");
    snprintf(expect, sizeof expect, "<td class=\"n\">%llu</td>", (unsigned long long)links);
    if (links >= 1000)
        snprintf(expect, sizeof expect, "<td class=\"n\">%llu,%03llu</td>",
                 (unsigned long long)(links / 1000), (unsigned long long)(links % 1000));
    cr_assert(strstr(page, expect), "the page shows the links count %s", expect);
    /* the model section: one bar per level plus the prior */
    const dl_json *comps = dl_json_get(dl_json_get(T, "model"), "comparisons");
    cr_assert_eq(dl_json_len(comps), 6);
    cr_assert(strstr(page, "Match weight of each comparison level"));
    cr_assert(strstr(page, "EM trace"));
    cr_assert(strstr(page, "Match weights of the scored pairs"));
    cr_assert(strstr(page, "match threshold p 0.95"));
    cr_assert(strstr(page, "Cluster sizes"));
    cr_assert(strstr(page, "Completeness per field and dataset"));
    cr_assert(strstr(page, "Not computed: no ground truth"));
    cr_assert(dl_json_type_of(dl_json_get(T, "quality")) == DL_JSON_NULL);
    /* examples are identified by SLF: each one's SLFs are on the page */
    const dl_json *ex = dl_json_get(T, "examples");
    cr_assert_gt(dl_json_len(ex), 0);
    for (size_t i = 0; i < dl_json_len(ex); i++) {
        const char *slf = dl_json_str(dl_json_get(dl_json_at(ex, i), "slf_a"), NULL);
        cr_assert(slf && strstr(page, slf));
    }
    /* data quality: a row per field of each prepared dataset */
    const dl_json *dq = dl_json_get(T, "data_quality");
    cr_assert_eq(dl_json_len(dq), 4);
    cr_assert_eq(dl_json_len(dl_json_get(dl_json_at(dq, 0), "fields")), 6);

    /* the same inputs give the same page */
    char *html2 = path(d, "again.html");
    const char *av2[] = {"report", "-q", "-o", html2, linked, NULL};
    cr_assert_eq(tu_dolen(av2, NULL, NULL), 0);
    size_t len2;
    char *page2 = tu_read(html2, &len2);
    cr_assert(len == len2 && !memcmp(page, page2, len), "two runs differ");
    free(page2);
    free(html2);

    dl_json_doc_free(lr);
    dl_json_doc_free(tw);
    free(lrp);
    free(page);
    free(out);
    free(err);
    free(html);
    free(json);
    free(linked);
    tu_rmtree(d);
    free(d);
}

Test(report, quality_against_truth, .timeout = 120)
{
    char *d = fixture();
    char *linked = path(d, "linked"), *html = path(d, "q.html"), *json = path(d, "q.json");
    char *truth = path(d, "raw/truth.csv");
    char maps[4][512];
    for (size_t i = 0; i < 4; i++)
        snprintf(maps[i], sizeof maps[i], "%s/prepared/%s.slfmap.csv.gz", d, DATASETS[i]);
    const char *av[] = {"report", "-q",    "-o",    html,    "--truth", truth,  "--map",
                        maps[0],  "--map", maps[1], "--map", maps[2],   "--map", maps[3],
                        linked,   NULL};
    char *err = NULL;
    cr_assert_eq(tu_dolen(av, NULL, &err), 0, "%s", err);
    assert_xml(html);
    dl_json_doc *tw = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_json_load(json, &tw, &e), DL_OK);
    const dl_json *q = dl_json_get(dl_json_root(tw), "quality");
    cr_assert_eq(dl_json_type_of(q), DL_JSON_OBJECT);
    double p = -1, r = -1;
    const dl_json *lk = dl_json_get(q, "links");
    cr_assert(dl_json_double(dl_json_get(lk, "precision"), &p));
    cr_assert(dl_json_double(dl_json_get(lk, "recall"), &r));
    /* the demo data link well; a broken join would give near 0 */
    cr_assert(p > 0.9 && p <= 1 && r > 0.8 && r <= 1, "precision %g recall %g", p, r);
    cr_assert_eq(json_u64(lk, "tp") + json_u64(lk, "fp"), json_u64(lk, "pairs"));
    cr_assert_gt(dl_json_len(dl_json_get(q, "pr_curve")), 5);
    char *page = tu_read(html, NULL);
    cr_assert(strstr(page, "Precision and recall across probability thresholds"));
    free(page);
    dl_json_doc_free(tw);
    free(err);
    free(truth);
    free(html);
    free(json);
    free(linked);
    tu_rmtree(d);
    free(d);
}

/* ---- rendering in headless Chromium -------------------------------------------- */

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/* Decode an 8-bit RGB or RGBA PNG (what Chromium writes; PNG spec, ISO/IEC
 * 15948, sections 11 and 9 for chunks and filters) and return the share of
 * pixels that are not near-white: a blank or failed render is all white. */
static double ink_share(const char *png, uint32_t *w_out, uint32_t *h_out)
{
    size_t len;
    unsigned char *d = (unsigned char *)tu_read(png, &len);
    cr_assert_not_null(d, "no screenshot at %s", png);
    cr_assert(len > 33 && !memcmp(d, "\x89PNG\r\n\x1a\n", 8), "not a PNG");
    uint32_t w = be32(d + 16), h = be32(d + 20);
    int depth = d[24], type = d[25], interlace = d[28];
    cr_assert(depth == 8 && (type == 2 || type == 6) && interlace == 0,
              "unexpected PNG kind: depth %d type %d interlace %d", depth, type, interlace);
    size_t bpp = type == 6 ? 4 : 3, stride = (size_t)w * bpp;
    dl_buf idat = DL_BUF_INIT;
    for (size_t p = 8; p + 12 <= len;) {
        uint32_t n = be32(d + p);
        if (p + 12 + n > len)
            break;
        if (!memcmp(d + p + 4, "IDAT", 4))
            dl_buf_append(&idat, d + p + 8, n);
        p += 12 + n;
    }
    uLongf raw_len = (uLongf)((stride + 1) * h);
    unsigned char *raw = malloc(raw_len);
    cr_assert_not_null(raw);
    cr_assert_eq(uncompress(raw, &raw_len, (const Bytef *)idat.data, idat.len), Z_OK);
    cr_assert_eq(raw_len, (stride + 1) * h);
    uint64_t ink = 0;
    unsigned char *prev = NULL;
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *row = raw + y * (stride + 1), f = row[0], *px = row + 1;
        for (size_t i = 0; i < stride; i++) {
            int a = i >= bpp ? px[i - bpp] : 0, b = prev ? prev[i] : 0,
                c = prev && i >= bpp ? prev[i - bpp] : 0;
            int v = px[i];
            switch (f) {
            case 1: v += a; break;
            case 2: v += b; break;
            case 3: v += (a + b) / 2; break;
            case 4: v += paeth(a, b, c); break;
            default: break;
            }
            px[i] = (unsigned char)v;
        }
        for (size_t x = 0; x < w; x++) {
            const unsigned char *q = px + x * bpp;
            if (q[0] < 200 || q[1] < 200 || q[2] < 200)
                ink++;
        }
        prev = px;
    }
    free(raw);
    dl_buf_free(&idat);
    free(d);
    *w_out = w;
    *h_out = h;
    return (double)ink / ((double)w * h);
}

static const char *chromium(void)
{
    static const char *const names[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser",
                                        "/usr/bin/google-chrome"};
    const char *env = getenv("DL_CHROMIUM");
    if (env && *env)
        return env;
    for (size_t i = 0; i < 3; i++)
        if (access(names[i], X_OK) == 0)
            return names[i];
    return NULL;
}

Test(report, renders_in_headless_chromium, .timeout = 240)
{
    const char *chrome = chromium();
    cr_assert_not_null(chrome, "headless Chromium is needed to render the report: install the "
                               "Debian package chromium (bash tools/deps.sh --test)");
    char *d = fixture();
    char *linked = path(d, "linked"), *html = path(d, "r.html"), *png = path(d, "r.png");
    char *prof = path(d, "chrome-profile");
    const char *av[] = {"report", "-q", "-o", html, linked, NULL};
    cr_assert_eq(tu_dolen(av, NULL, NULL), 0);
    cr_assert_eq(mkdir(prof, 0700), 0);
    char cmd[3000];
    snprintf(cmd, sizeof cmd,
             "'%s' --headless --no-sandbox --disable-gpu --no-first-run "
             "--disable-background-networking --disable-component-update --disable-sync "
             "--screenshot='%s' --window-size=1200,3000 --user-data-dir='%s' 'file://%s' "
             ">/dev/null 2>&1",
             chrome, png, prof, html);
    int rc = system(cmd);
    cr_assert_eq(rc, 0, "chromium failed (%d): %s", rc, cmd);
    struct stat sb;
    cr_assert_eq(stat(png, &sb), 0, "chromium wrote no screenshot");
    cr_assert_gt(sb.st_size, 20000, "screenshot of %lld bytes: blank?", (long long)sb.st_size);
    uint32_t w, h;
    double ink = ink_share(png, &w, &h);
    cr_assert_eq(w, 1200);
    cr_assert_eq(h, 3000);
    /* text, tables and bars cover several per cent of a rendered page */
    cr_assert(ink > 0.02, "only %.4f of the screenshot is not white", ink);
    tu_rmtree(d);
    free(d);
    free(linked);
    free(html);
    free(png);
    free(prof);
}

/* The PNG check itself must fail on a blank image. */
Test(report, blank_png_has_no_ink)
{
    char *d = tu_tmpdir(), *png = path(d, "blank.png");
    /* 4 x 2 white RGB: filter byte 0 and 12 bytes of 0xff per row */
    unsigned char raw[2 * 13];
    memset(raw, 0xff, sizeof raw);
    raw[0] = raw[13] = 0;
    unsigned char z[128];
    uLongf zl = sizeof z;
    cr_assert_eq(compress(z, &zl, raw, sizeof raw), Z_OK);
    dl_buf b = DL_BUF_INIT;
    dl_buf_append(&b, "\x89PNG\r\n\x1a\n", 8);
    unsigned char ihdr[25] = {0, 0, 0, 13, 'I', 'H', 'D', 'R', 0, 0, 0, 4, 0, 0, 0, 2, 8, 2,
                              0, 0, 0};
    dl_buf_append(&b, ihdr, 25);
    unsigned char hd[8] = {0, 0, 0, (unsigned char)zl, 'I', 'D', 'A', 'T'};
    dl_buf_append(&b, hd, 8);
    dl_buf_append(&b, z, zl);
    dl_buf_append(&b, "\0\0\0\0", 4);
    tu_write(png, b.data, b.len);
    uint32_t w, h;
    cr_assert_float_eq(ink_share(png, &w, &h), 0, 1e-12);
    cr_assert_eq(w, 4);
    cr_assert_eq(h, 2);
    dl_buf_free(&b);
    tu_rmtree(d);
    free(d);
    free(png);
}

/* ---- bad link folders ----------------------------------------------------------- */

Test(report, usage_errors)
{
    dl_report_opts o = DL_REPORT_OPTS_INIT;
    expect_error(&o, DL_EUSAGE, "", 0, 0);
    o.linkdir = "/nonexistent-dolen-linkdir";
    expect_error(&o, DL_EINPUT, "/nonexistent-dolen-linkdir", 0, 0);
    o.truth = "truth.csv";
    expect_error(&o, DL_EUSAGE, "", 0, 0); /* truth without maps */
    const char *maps[] = {"a.slfmap.csv.gz"};
    o.truth = NULL;
    o.n_maps = 1;
    o.maps = maps;
    expect_error(&o, DL_EUSAGE, "", 0, 0); /* maps without truth */
    const char *av[] = {"report", "somewhere", NULL};
    char *err = NULL;
    cr_assert_eq(tu_dolen(av, NULL, &err), 1);
    cr_assert(strstr(err, "-o REPORT.html"), "%s", err);
    free(err);
}

Test(report, folder_without_manifest)
{
    char *d = tu_tmpdir();
    dl_report_opts o = opts_for(d);
    expect_error(&o, DL_EINPUT, "link.manifest.json", 0, 0);
    tu_rmtree(d);
    free(d);
}

Test(report, missing_or_changed_output_no_partial_report, .timeout = 120)
{
    char *d = fixture();
    char *linked = path(d, "linked"), *rev = path(linked, "review.csv.gz");
    char *cl = path(linked, "clusters.csv.gz"), *html = path(d, "x.html");
    /* a changed file: its checksum no longer matches the manifest */
    FILE *f = fopen(cl, "ab");
    cr_assert_not_null(f);
    fputc('x', f);
    fclose(f);
    dl_report_opts o = opts_for(linked);
    expect_error(&o, DL_EINPUT, "clusters.csv.gz", 0, 0);
    /* a missing file */
    cr_assert_eq(unlink(rev), 0);
    const char *av[] = {"report", "-o", html, linked, NULL};
    char *err = NULL;
    cr_assert_eq(tu_dolen(av, NULL, &err), 2);
    cr_assert(strstr(err, "review.csv.gz"), "the file is named: %s", err);
    struct stat sb;
    cr_assert_neq(stat(html, &sb), 0, "no page after an error");
    char *json = path(d, "x.json");
    cr_assert_neq(stat(json, &sb), 0, "no twin after an error");
    free(json);
    free(err);
    free(linked);
    free(rev);
    free(cl);
    free(html);
    tu_rmtree(d);
    free(d);
}

Test(report, links_inconsistent_with_model, .timeout = 120)
{
    char *d = fixture();
    char *linked = path(d, "linked"), *lp = path(linked, "links.csv.gz");
    char *text = gunzip_text(lp);
    /* keep the header and the first row, give the row a seventh comparison */
    char *nl = strchr(text, '\n');
    nl = strchr(nl + 1, '\n');
    nl[0] = '\0';
    dl_buf b = DL_BUF_INIT;
    dl_buf_puts(&b, text);
    dl_buf_puts(&b, "-1\n");
    tamper(linked, "links.csv.gz", b.data);
    dl_report_opts o = opts_for(linked);
    expect_error(&o, DL_EINPUT, "links.csv.gz", 2, 7);

    /* a well-formed row, but fewer rows than link-report.json counts */
    dl_buf_clear(&b);
    dl_buf_puts(&b, text);
    dl_buf_puts(&b, "\n");
    tamper(linked, "links.csv.gz", b.data);
    expect_error(&o, DL_EINPUT, "links.csv.gz", 0, 0);
    dl_buf_free(&b);
    free(text);
    free(lp);
    free(linked);
    tu_rmtree(d);
    free(d);
}

Test(report, clusters_with_unknown_dataset, .timeout = 120)
{
    char *d = fixture();
    char *linked = path(d, "linked"), *cp = path(linked, "clusters.csv.gz");
    char *text = gunzip_text(cp);
    /* rename the first row's dataset */
    char *row = strchr(text, '\n') + 1;
    dl_buf b = DL_BUF_INIT;
    dl_buf_append(&b, text, (size_t)(row - text));
    dl_buf_puts(&b, "nowhere");
    dl_buf_puts(&b, strchr(row, ','));
    tamper(linked, "clusters.csv.gz", b.data);
    dl_report_opts o = opts_for(linked);
    expect_error(&o, DL_EINPUT, "clusters.csv.gz", 2, 1);
    dl_buf_free(&b);
    free(text);
    free(cp);
    free(linked);
    tu_rmtree(d);
    free(d);
}

Test(report, model_from_another_run, .timeout = 120)
{
    char *d = fixture();
    char *linked = path(d, "linked"), *mp = path(linked, "model.yaml");
    char *text = tu_read(mp, NULL);
    char *lam = strstr(text, "\nlambda: ");
    cr_assert_not_null(lam);
    /* find its line number for the expected error position */
    uint64_t line = 2;
    for (const char *p = text; p < lam; p++)
        line += *p == '\n';
    lam[9] = lam[9] == '9' ? '8' : '9'; /* change the first digit of lambda */
    tamper(linked, "model.yaml", text);
    dl_report_opts o = opts_for(linked);
    expect_error(&o, DL_EINPUT, "model.yaml", line, 9);
    free(text);
    free(mp);
    free(linked);
    tu_rmtree(d);
    free(d);
}

Test(report, truth_that_does_not_match, .timeout = 120)
{
    char *d = fixture();
    /* prepare again with another seed: other SLFs, so these maps cannot
     * join the link folder's records */
    prepare_all(d, "other", "2");
    char *linked = path(d, "linked"), *truth = path(d, "raw/truth.csv");
    char m0[512], m1[512];
    snprintf(m0, sizeof m0, "%s/other/spine.slfmap.csv.gz", d);
    snprintf(m1, sizeof m1, "%s/other/gp.slfmap.csv.gz", d);
    const char *maps[] = {m0, m1};
    dl_report_opts o = opts_for(linked);
    o.truth = truth;
    o.n_maps = 2;
    o.maps = maps;
    expect_error(&o, DL_EINPUT, "other/spine.slfmap.csv.gz", 0, 0);
    /* a truth file about other records */
    char *t2 = path(d, "truth2.csv");
    tu_write_str(t2, "dataset,record_id,person_id\nspine,NOBODY,1\n");
    snprintf(m0, sizeof m0, "%s/prepared/spine.slfmap.csv.gz", d);
    snprintf(m1, sizeof m1, "%s/prepared/gp.slfmap.csv.gz", d);
    o.truth = t2;
    expect_error(&o, DL_EINPUT, "truth2.csv", 0, 0);
    free(t2);
    free(truth);
    free(linked);
    tu_rmtree(d);
    free(d);
}
