/* test_norm_tag.c: DL_NORMALISATION_TAG moves with what the normalisers output.
 * The tag is in every spec hash (config/spec_hash.c), so two dolen versions
 * that would encode a person differently must carry different tags. This test
 * fingerprints the output of the normalisers, phonetic codes and variant
 * tables over real names, dates and postcodes; when it fails, a change altered
 * what gets hashed: bump DL_NORMALISATION_TAG in include/dolen/spec.h and put
 * the new tag and fingerprint below, together. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/csv.h"
#include "dolen/normalise.h"
#include "dolen/phonetic.h"
#include "dolen/sha256.h"
#include "dolen/spec.h"
#include "dolen/variants.h"
#include "test_util.h"

/* The tag and the fingerprint of its output: change them together. */
#define EXPECTED_TAG "dolen-norm-1"
#define EXPECTED_FINGERPRINT "5f90bca885eaab43a924b0169d441758ff8ff052d9da7f9eaa5634fd59d966e8"

static void add(dl_buf *b, const char *s)
{
    cr_assert(dl_buf_puts(b, s) && dl_buf_putc(b, '\x1f'));
}

static void name_outputs(dl_buf *b, const char *raw, dl_variant_table t)
{
    dl_name_norm nm;
    const char *why = NULL;
    char tmp[64];
    snprintf(tmp, sizeof tmp, "%d", (int)dl_normalise_name(raw, strlen(raw), NULL, &nm, &why));
    add(b, tmp);
    add(b, nm.full);
    char sx[DL_SOUNDEX_SIZE], ny[DL_NAME_MAX + 1], p[DL_DMETAPHONE_SIZE], a[DL_DMETAPHONE_SIZE];
    dl_soundex(nm.full, nm.len, sx);
    add(b, sx);
    dl_nysiis(nm.full, nm.len, 0, ny, sizeof ny);
    add(b, ny);
    dl_dmetaphone(nm.full, nm.len, 4, p, a, sizeof p);
    add(b, p);
    add(b, a);
    for (size_t i = 0; i < nm.n_parts; i++) {
        const char *g[DL_TOKEN_SET_MAX];
        size_t n = dl_name_variants(t, nm.full + nm.parts[i].off, nm.parts[i].len, g,
                                    DL_TOKEN_SET_MAX);
        for (size_t k = 0; k < n; k++)
            add(b, g[k]);
    }
}

static void csv_column(dl_buf *b, const char *file, const char *column, bool trim,
                       void (*fn)(dl_buf *, const char *))
{
    char *path = tu_data(file);
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.trim = trim;
    dl_csv_reader *r = NULL;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_csv_open(path, &o, &r, &e), DL_OK, "%s: %s", path, e.msg);
    int col = dl_csv_find_column(r, column);
    cr_assert_geq(col, 0, "%s has no column %s", file, column);
    dl_row row;
    while (dl_csv_next(r, &row, &e) == DL_OK)
        fn(b, row.field[col]);
    dl_csv_close(r);
    free(path);
}

static void given(dl_buf *b, const char *v)
{
    name_outputs(b, v, DL_VARIANTS_GIVEN);
}

static void surname(dl_buf *b, const char *v)
{
    name_outputs(b, v, DL_VARIANTS_SURNAME);
}

static void date(dl_buf *b, const char *v)
{
    dl_date_format f[2];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_date_format_compile("%Y%m%d", &f[0], &e), DL_OK);
    cr_assert_eq(dl_date_format_compile("%d/%m/%Y", &f[1], &e), DL_OK);
    dl_date_opts o = {2, f, 19000101, 20261231, 0, NULL};
    int32_t ymd = 0;
    char tmp[32];
    /* The call first: arguments are evaluated in no set order, and gcc read
     * ymd before the call had set it (every date fingerprinted as 0). */
    int r = (int)dl_normalise_date(v, strlen(v), &o, &ymd, NULL);
    snprintf(tmp, sizeof tmp, "%d:%d:%d", r, (int)ymd, (int)dl_date_week_monday(ymd));
    add(b, tmp);
}

static void postcode(dl_buf *b, const char *v)
{
    dl_postcode pc;
    memset(&pc, 0, sizeof pc);
    char tmp[64];
    int r = (int)dl_normalise_postcode(v, strlen(v), &pc, NULL);
    snprintf(tmp, sizeof tmp, "%d:%s:%s:%s:%s", r, pc.unit, pc.sector, pc.district, pc.area);
    add(b, tmp);
}

Test(norm_tag, the_tag_moves_with_the_normalisers_output)
{
    dl_buf b = DL_BUF_INIT;
    csv_column(&b, "febrl/dataset3.csv", "given_name", true, given);
    csv_column(&b, "febrl/dataset3.csv", "surname", true, surname);
    csv_column(&b, "febrl/dataset3.csv", "date_of_birth", true, date);
    csv_column(&b, "geo/nspl_ld_sample.csv", "pcd2", false, postcode);
    /* Welsh names and forms the FEBRL data lack. */
    static const char *const welsh[] = {"Siân",  "Dafydd", "Siôn",   "Gwilym", "Ieuan",
                                        "Rhys",  "Llŷr",   "Dwynwen", "O'Neill", "Mr Huw Jones-Davies"};
    for (size_t i = 0; i < sizeof welsh / sizeof welsh[0]; i++)
        given(&b, welsh[i]);
    uint8_t sha[32];
    char hex[65];
    dl_sha256(b.data, b.len, sha);
    dl_sha256_hex(sha, hex);
    dl_buf_free(&b);
    cr_assert_str_eq(DL_NORMALISATION_TAG, EXPECTED_TAG,
                     "the tag changed: set EXPECTED_TAG and EXPECTED_FINGERPRINT here together");
    cr_assert_str_eq(hex, EXPECTED_FINGERPRINT,
                     "what the normalisers output changed (fingerprint %s): files prepared "
                     "before and after would not link. Bump DL_NORMALISATION_TAG in "
                     "include/dolen/spec.h, then set EXPECTED_TAG and EXPECTED_FINGERPRINT",
                     hex);
}
