/* test_prepare.c: `dolen prepare` end to end: outputs, rejects, accounting,
 * determinism across thread counts, and that no clear identifier leaks. */
#include <criterion/criterion.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dolen/csv.h"
#include "dolen/gz.h"
#include "hashing/prepare_internal.h"
#include "test_util.h"

/* The whole (decompressed) content of PATH. */
static char *read_any(const char *path, size_t *len)
{
    dl_gz_reader *r = NULL;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_gz_open(path, &r, &err), DL_OK, "%s: %s", path, err.msg);
    size_t cap = 1 << 16, n = 0, got = 0;
    char *buf = malloc(cap + 1);
    for (;;) {
        if (cap - n < 65536) {
            cap *= 2;
            buf = realloc(buf, cap + 1);
        }
        dl_status s = dl_gz_read(r, buf + n, cap - n, &got, &err);
        if (s == DL_END)
            break;
        cr_assert_eq(s, DL_OK, "%s: %s", path, err.msg);
        n += got;
    }
    dl_gz_close(r);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static char *key_file(const char *dir)
{
    char *src = tu_data("prepare/key.hex");
    char *text = tu_read(src, NULL);
    char *dst = tu_join(dir, "linkage.key");
    tu_write_str(dst, text);
    chmod(dst, 0600);
    free(src);
    free(text);
    return dst;
}

static int prepare(const char *spec, const char *key, const char *name, const char *out,
                   const char *threads, const char *input, char **err)
{
    const char *av[] = {"prepare", "-s", spec,    "-k",        key,     "-d", name, "-o",
                        out,       "--seed", "11", "--threads", threads, "-q", input, NULL};
    return tu_dolen(av, NULL, err);
}

static char *out_path(const char *dir, const char *name, const char *suffix)
{
    size_t n = strlen(dir) + strlen(name) + strlen(suffix) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s%s", dir, name, suffix);
    return p;
}

Test(prepare, week_of_birth_is_the_monday)
{
    char w[11];
    cr_assert_eq(dl__week_of(19800307, w), 10); /* a Friday */
    cr_assert_str_eq(w, "1980-03-03");
    dl__week_of(20240101, w); /* a Monday */
    cr_assert_str_eq(w, "2024-01-01");
    dl__week_of(20231231, w); /* a Sunday */
    cr_assert_str_eq(w, "2023-12-25");
    dl__week_of(20000301, w);
    cr_assert_str_eq(w, "2000-02-28");
    cr_assert_eq(dl__week_of(19800300, w), 0);
}

Test(prepare, small_dataset_outputs_rejects_and_accounting)
{
    setenv("SOURCE_DATE_EPOCH", "1767225600", 1);
    char *dir = tu_tmpdir(), *key = key_file(dir);
    char *spec = tu_data("prepare/small.yaml"), *csv = tu_data("prepare/small.csv");
    char *err = NULL;
    cr_assert_eq(prepare(spec, key, "small", dir, "2", csv, &err), 0, "stderr: %s", err);
    free(err);

    char *ids_p = out_path(dir, "small", ".ids.csv.gz");
    char *ids = read_any(ids_p, NULL);
    /* 7 records: A3 has no usable identifier, A6 is ragged; 5 written. */
    cr_assert_eq(count_lines(ids), 1 + 5, "ids:\n%s", ids);
    cr_assert(strncmp(ids, "slf,given_name.token,given_name.parts,", 38) == 0, "%s", ids);
    cr_assert(strstr(ids, "nhs.token\n"));

    char *rej_p = out_path(dir, "small", ".rejects.csv");
    char *rej = tu_read(rej_p, NULL);
    cr_assert_not_null(rej);
    cr_assert(strstr(rej, "line,column,reason,message\n") == rej, "%s", rej);
    cr_assert(strstr(rej, "\n4,,no_usable_identifier,"), "%s", rej);
    /* A6 starts on line 8: A5's quoted newline takes lines 6 and 7. */
    cr_assert(strstr(rej, "\n8,1,bad_csv_row,\"expected 9 fields, found 10\"\n"), "%s", rej);
    cr_assert_eq(count_lines(rej), 3, "%s", rej);

    char *content_p = out_path(dir, "small", ".content.csv.gz");
    char *content = read_any(content_p, NULL);
    cr_assert(strncmp(content, "slf,care_type,week_of_birth,year_of_birth,sex\n", 46) == 0,
              "%s", content);
    cr_assert(strstr(content, ",respite,1980-03-03,1980,F\n"), "%s", content);
    /* The impossible date of A4 leaves the derived dates empty. */
    cr_assert(strstr(content, ",respite,,,M\n"), "%s", content);

    char *map_p = out_path(dir, "small", ".slfmap.csv.gz");
    char *map = read_any(map_p, NULL);
    cr_assert(strncmp(map, "id,slf\nA1,", 10) == 0, "%s", map);
    cr_assert_eq(count_lines(map), 6);

    char *man_p = out_path(dir, "small", ".manifest.json");
    char *man = tu_read(man_p, NULL);
    cr_assert_not_null(man);
    cr_assert(strstr(man, "\"rows_read\": 7"), "%s", man);
    cr_assert(strstr(man, "\"rows_written\": 5"), "%s", man);
    cr_assert(strstr(man, "\"rows_rejected\": 2"), "%s", man);
    cr_assert(strstr(man, "\"impossible_date\": 1"), "%s", man);
    cr_assert(strstr(man, "\"malformed_postcode\": 1"), "%s", man);
    cr_assert(strstr(man, "\"bad_check_digit\": 1"), "%s", man);

    free(ids_p), free(ids), free(rej_p), free(rej), free(content_p), free(content);
    free(map_p), free(map), free(man_p), free(man);
    tu_rmtree(dir);
    free(dir), free(key), free(spec), free(csv);
}

/* A set of strings, compared without regard to ASCII case: open addressing. */
typedef struct strset {
    char **slot;
    size_t cap;
} strset;

static uint64_t hash_ci(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint64_t)tolower((unsigned char)p[i])) * 1099511628211ull;
    return h;
}

static void set_add(strset *s, const char *v, size_t n)
{
    size_t i = hash_ci(v, n) & (s->cap - 1);
    while (s->slot[i]) {
        if (strlen(s->slot[i]) == n && strncasecmp(s->slot[i], v, n) == 0)
            return;
        i = (i + 1) & (s->cap - 1);
    }
    s->slot[i] = strndup(v, n);
}

static const char *set_find(const strset *s, const char *v, size_t n)
{
    size_t i = hash_ci(v, n) & (s->cap - 1);
    while (s->slot[i]) {
        if (strlen(s->slot[i]) == n && strncasecmp(s->slot[i], v, n) == 0)
            return s->slot[i];
        i = (i + 1) & (s->cap - 1);
    }
    return NULL;
}

static bool is_hex(const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!strchr("0123456789abcdef", p[i]))
            return false;
    return true;
}

static bool is_b64(const char *p, size_t n)
{
    if (n % 4)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)p[i]) && p[i] != '+' && p[i] != '/' &&
            !(p[i] == '=' && i + 2 >= n))
            return false;
    return true;
}

/* Every data cell of an ids file is what an encoding looks like and nothing
 * else: 32 hex digits (slf), one to four 16-hex-digit tokens separated by
 * spaces, base64, or empty. A clear value cannot hide in such a cell. */
static void assert_ids_cells_encoded(const char *text)
{
    const char *p = strchr(text, '\n') + 1; /* past the header */
    size_t rows = 0;
    while (*p) {
        size_t line = strcspn(p, "\n");
        const char *end = p + line, *c = p;
        size_t col = 0;
        while (c <= end) {
            size_t n = strcspn(c, ",\n");
            if (c + n > end)
                n = (size_t)(end - c);
            if (col == 0)
                cr_assert(n == 32 && is_hex(c, n), "row %zu: bad slf", rows + 1);
            else if (n > 0 && !is_b64(c, n) ) {
                for (size_t t = 0; t < n; t += 17) {
                    cr_assert(is_hex(c + t, 16) && (t + 16 == n || c[t + 16] == ' '),
                              "row %zu column %zu is neither tokens nor base64", rows + 1, col);
                }
            } else if (n > 0 && n != 172) {
                /* base64 of a 1024-bit filter is 172 characters; a cell that
                 * is valid base64 by accident must then be a token set. */
                for (size_t t = 0; t < n; t += 17)
                    cr_assert(is_hex(c + t, 16), "row %zu column %zu: odd cell", rows + 1, col);
            }
            col++;
            c += n + 1;
        }
        rows++;
        p = *end ? end + 1 : end;
    }
    cr_assert_gt(rows, 0);
}

/* No cell of TEXT (nor any space-separated token in one) equals a clear value
 * of WHOLE (whatever the case); and, for plain text, no 7-byte window of TEXT
 * equals the first 7 bytes of a value of 7 bytes or more (PREFIX7). */
static void assert_no_value(const char *what, const char *text, const strset *whole,
                            const strset *prefix7)
{
    const char *p = text;
    while (*p) {
        size_t cell = strcspn(p, ", \n");
        const char *hit = set_find(whole, p, cell);
        cr_assert_null(hit, "%s has a cell equal to the clear value '%s'", what, hit);
        p += cell;
        if (*p)
            p++;
    }
    if (!prefix7)
        return;
    size_t n = strlen(text);
    for (size_t i = 0; i + 7 <= n; i++) {
        const char *hit = set_find(prefix7, text + i, 7);
        cr_assert_null(hit, "%s holds the clear text '%s...'", what, hit);
    }
}

Test(prepare, no_clear_identifier_in_ids_or_content, .timeout = 120)
{
    char *dir = tu_tmpdir(), *key = key_file(dir);
    char *spec = tu_source("config/examples/febrl.yaml");
    char *csv = tu_data("febrl/dataset3.csv");
    char *err = NULL;
    cr_assert_eq(prepare(spec, key, "febrl3", dir, "2", csv, &err), 0, "stderr: %s", err);
    free(err);

    /* Every clear value of the identifying columns, raw and upper-cased. */
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.trim = true;
    dl_csv_reader *r = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_open(csv, &o, &r, &e), DL_OK, "%s", e.msg);
    const char *ident[] = {"rec_id", "given_name", "surname", "address_1", "address_2",
                           "suburb", "date_of_birth", "soc_sec_id"};
    int cols[8];
    for (int i = 0; i < 8; i++) {
        cols[i] = dl_csv_find_column(r, ident[i]);
        cr_assert_geq(cols[i], 0, "%s", ident[i]);
    }
    strset whole = {calloc(1 << 17, sizeof(char *)), 1 << 17};
    strset prefix7 = {calloc(1 << 17, sizeof(char *)), 1 << 17};
    size_t n = 0;
    dl_row row;
    dl_status s;
    while ((s = dl_csv_next(r, &row, &e)) != DL_END) {
        if (s != DL_OK)
            continue;
        for (int i = 0; i < 8; i++) {
            const char *v = row.field[cols[i]];
            size_t len = strlen(v);
            if (len < 3)
                continue;
            set_add(&whole, v, len);
            if (len >= 7)
                set_add(&prefix7, v, 7);
            n++;
        }
    }
    dl_csv_close(r);
    cr_assert_gt(n, 20000);

    char *p = out_path(dir, "febrl3", ".ids.csv.gz");
    char *text = read_any(p, NULL);
    assert_ids_cells_encoded(text);
    assert_no_value("ids", text, &whole, NULL);
    free(text);
    free(p);
    /* The content file is plain text: every window of it is searched too,
     * once the SLFs are blanked (their hex digits hold digit runs by chance). */
    p = out_path(dir, "febrl3", ".content.csv.gz");
    text = read_any(p, NULL);
    for (char *q = text; *q; q = strchr(q, '\n') ? strchr(q, '\n') + 1 : q + strlen(q)) {
        size_t slf = strcspn(q, ",\n");
        cr_assert(slf == 32 || q == text, "content row without an SLF");
        if (q != text)
            memset(q, ' ', slf);
    }
    assert_no_value("content", text, &whole, &prefix7);
    free(text);
    free(p);
    /* The test can fail: the slfmap holds rec_id, a clear identifier. */
    p = out_path(dir, "febrl3", ".slfmap.csv.gz");
    text = read_any(p, NULL);
    cr_assert(strstr(text, "rec-1496-org"), "slfmap should hold the local ids");
    free(text);
    free(p);

    for (size_t i = 0; i < whole.cap; i++)
        free(whole.slot[i]), free(prefix7.slot[i]);
    free(whole.slot), free(prefix7.slot);
    tu_rmtree(dir);
    free(dir), free(key), free(spec), free(csv);
}

Test(prepare, same_seed_same_bytes_at_1_and_2_threads, .timeout = 120)
{
    setenv("SOURCE_DATE_EPOCH", "1767225600", 1);
    char *dir = tu_tmpdir(), *key = key_file(dir);
    char *d1 = tu_join(dir, "t1"), *d2 = tu_join(dir, "t2");
    mkdir(d1, 0755);
    mkdir(d2, 0755);
    char *spec = tu_source("config/examples/febrl.yaml");
    char *csv = tu_data("febrl/dataset3.csv");
    cr_assert_eq(prepare(spec, key, "f", d1, "1", csv, NULL), 0);
    cr_assert_eq(prepare(spec, key, "f", d2, "2", csv, NULL), 0);
    const char *outs[] = {".ids.csv.gz", ".content.csv.gz", ".slfmap.csv.gz", ".rejects.csv",
                          ".manifest.json"};
    for (int i = 0; i < 5; i++) {
        char *a = out_path(d1, "f", outs[i]), *b = out_path(d2, "f", outs[i]);
        size_t la, lb;
        char *ta = tu_read(a, &la), *tb = tu_read(b, &lb);
        cr_assert_not_null(ta, "%s", a);
        cr_assert_not_null(tb, "%s", b);
        cr_assert(la == lb && memcmp(ta, tb, la) == 0, "%s differs between 1 and 2 threads",
                  outs[i]);
        free(a), free(b), free(ta), free(tb);
    }
    tu_rmtree(dir);
    free(dir), free(key), free(d1), free(d2), free(spec), free(csv);
}

/* The SLFs of a file, one per data row (the first field), in order. */
static size_t slfs_of(const char *path, char (**out)[33])
{
    char *text = read_any(path, NULL);
    size_t rows = count_lines(text) - 1, n = 0;
    char(*v)[33] = calloc(rows ? rows : 1, sizeof *v);
    for (const char *p = strchr(text, '\n') + 1; *p; p = strchr(p, '\n') + 1) {
        cr_assert(strcspn(p, ",\n") == 32, "an SLF is 32 hex digits");
        memcpy(v[n], p, 32);
        v[n++][32] = '\0';
    }
    free(text);
    *out = v;
    return n;
}

static int cmp_slf(const void *a, const void *b)
{
    return memcmp(a, b, 32);
}

/* SLFs come from one AES-128-CTR keystream per run: every row gets its own,
 * the same record gets the same one at any thread count (above), and two
 * datasets prepared with one seed share none (the dataset is in the key). */
Test(prepare, slfs_unique_and_unrelated_across_datasets, .timeout = 120)
{
    setenv("SOURCE_DATE_EPOCH", "1767225600", 1);
    char *dir = tu_tmpdir(), *key = key_file(dir);
    char *spec = tu_source("config/examples/febrl.yaml");
    char *csv = tu_data("febrl/dataset3.csv");
    cr_assert_eq(prepare(spec, key, "a", dir, "2", csv, NULL), 0);
    cr_assert_eq(prepare(spec, key, "b", dir, "1", csv, NULL), 0);
    char *pa = out_path(dir, "a", ".ids.csv.gz"), *pb = out_path(dir, "b", ".ids.csv.gz");
    char *pm = out_path(dir, "a", ".slfmap.csv.gz");
    char(*a)[33], (*b)[33], (*m)[33];
    size_t na = slfs_of(pa, &a), nb = slfs_of(pb, &b);
    cr_assert(na > 1000 && na == nb, "%zu and %zu rows", na, nb);
    /* The slfmap holds id,slf: compare its SLF column with the ids file. */
    char *map = read_any(pm, NULL);
    size_t nm = 0;
    m = calloc(na, sizeof *m);
    for (const char *p = strchr(map, '\n') + 1; *p && nm < na; p = strchr(p, '\n') + 1) {
        const char *c = strchr(p, ',');
        memcpy(m[nm], c + 1, 32);
        m[nm++][32] = '\0';
    }
    cr_assert_eq(nm, na);
    for (size_t i = 0; i < na; i++)
        cr_assert_str_eq(m[i], a[i], "row %zu: slfmap and ids disagree", i + 1);
    char(*all)[33] = calloc(na + nb, sizeof *all);
    memcpy(all, a, na * sizeof *a);
    memcpy(all + na, b, nb * sizeof *b);
    qsort(all, na + nb, sizeof *all, cmp_slf);
    for (size_t i = 1; i < na + nb; i++)
        cr_assert(memcmp(all[i - 1], all[i], 32) != 0, "SLF %s twice", all[i]);
    tu_rmtree(dir);
    free(a), free(b), free(m), free(all), free(map), free(pa), free(pb), free(pm);
    free(dir), free(key), free(spec), free(csv);
}

Test(prepare, missing_column_is_an_error_naming_the_spec_line)
{
    char *dir = tu_tmpdir(), *key = key_file(dir);
    char *spec_p = tu_join(dir, "bad.yaml");
    char *src = tu_data("prepare/small.yaml");
    char *text = tu_read(src, NULL);
    char *at = strstr(text, "column: last");
    cr_assert_not_null(at);
    memcpy(at, "column: lsat", 12);
    tu_write_str(spec_p, text);
    char *csv = tu_data("prepare/small.csv");
    char *err = NULL;
    cr_assert_eq(prepare(spec_p, key, "small", dir, "1", csv, &err), 2);
    cr_assert(strstr(err, "bad.yaml:"), "%s", err);
    cr_assert(strstr(err, "column 'lsat' is not in the header"), "%s", err);
    cr_assert(strstr(err, "did you mean 'last'?"), "%s", err);
    /* Nothing is left behind. */
    char *ids = out_path(dir, "small", ".ids.csv.gz");
    struct stat st;
    cr_assert_neq(stat(ids, &st), 0);
    free(err), free(ids), free(text), free(src), free(spec_p), free(csv);
    tu_rmtree(dir);
    free(dir), free(key);
}

Test(prepare, key_readable_by_others_is_refused)
{
    char *dir = tu_tmpdir(), *key = key_file(dir);
    chmod(key, 0644);
    char *spec = tu_data("prepare/small.yaml"), *csv = tu_data("prepare/small.csv");
    char *err = NULL;
    cr_assert_eq(prepare(spec, key, "small", dir, "1", csv, &err), 2);
    cr_assert(strstr(err, "chmod 600"), "%s", err);
    cr_assert_null(strstr(err, "0123456789abcdef"), "the key leaked into: %s", err);
    free(err);
    tu_rmtree(dir);
    free(dir), free(key), free(spec), free(csv);
}

Test(prepare, usage_errors)
{
    char *err = NULL;
    const char *av[] = {"prepare", "-s", "x.yaml", "-k", "k", "-d", "bad name!", "-o", "/tmp",
                        "in.csv", NULL};
    cr_assert_eq(tu_dolen(av, NULL, &err), 1);
    cr_assert(strstr(err, "dataset name 'bad name!'"), "%s", err);
    free(err);
    const char *av2[] = {"prepare", "-s", "x.yaml", NULL};
    cr_assert_eq(tu_dolen(av2, NULL, &err), 1);
    cr_assert(strstr(err, "no key file"), "%s", err);
    free(err);
}
