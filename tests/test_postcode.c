/* test_postcode.c: UK postcode validation and splitting (hashing/postcode.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "dolen/normalise.h"
#include "test_util.h"

static dl_norm_result pc(const char *s, dl_postcode *p, const char **why)
{
    return dl_normalise_postcode(s, strlen(s), p, why);
}

Test(postcode, all_six_forms_valid)
{
    static const char *const ok[][5] = {
        /* input, unit, sector, district, area */
        {"M1 1AE", "M1 1AE", "M1 1", "M1", "M"},        /* AN NAA */
        {"B33 8TH", "B33 8TH", "B33 8", "B33", "B"},    /* ANN NAA */
        {"CR2 6XH", "CR2 6XH", "CR2 6", "CR2", "CR"},   /* AAN NAA */
        {"DN55 1PT", "DN55 1PT", "DN55 1", "DN55", "DN"}, /* AANN NAA */
        {"W1A 0AX", "W1A 0AX", "W1A 0", "W1A", "W"},    /* ANA NAA */
        {"EC1A 1BB", "EC1A 1BB", "EC1A 1", "EC1A", "EC"}, /* AANA NAA */
        {"CF10 1EP", "CF10 1EP", "CF10 1", "CF10", "CF"},
        {"LD1 5AB", "LD1 5AB", "LD1 5", "LD1", "LD"},
        {"SA31 3EP", "SA31 3EP", "SA31 3", "SA31", "SA"},
        {"GIR 0AA", "GIR 0AA", "GIR 0", "GIR", "GI"},
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        dl_postcode p;
        const char *why = "x";
        cr_assert_eq(pc(ok[i][0], &p, &why), DL_NORM_OK, "%s", ok[i][0]);
        cr_assert_null(why);
        cr_assert_str_eq(p.unit, ok[i][1]);
        cr_assert_str_eq(p.sector, ok[i][2]);
        cr_assert_str_eq(p.district, ok[i][3]);
        cr_assert_str_eq(p.area, ok[i][4]);
    }
}

Test(postcode, case_and_spacing_ignored)
{
    static const char *const in[] = {"cf101ep", " CF10  1EP ", "cf 10 1 ep", "Cf10\t1eP",
                                     "CF101EP"};
    for (size_t i = 0; i < sizeof in / sizeof *in; i++) {
        dl_postcode p;
        cr_assert_eq(pc(in[i], &p, NULL), DL_NORM_OK, "%s", in[i]);
        cr_assert_str_eq(p.unit, "CF10 1EP");
    }
}

Test(postcode, invalid_forms_and_letters)
{
    static const char *const bad[] = {
        "QA1 1AA",   /* Q first */
        "V1 1AA",    /* V first */
        "XX1 1AA",   /* X first */
        "AI1 1AA",   /* I second */
        "AJ1 1AA", "AZ1 1AA",
        "W1I 0AX",   /* I third in ANA */
        "W1L 0AX",   /* L not allowed third */
        "EC1C 1BB",  /* C not allowed fourth in AANA */
        "EC1Z 1BB",
        "CF10 1CA",  /* C in the inward letters */
        "CF10 1AI", "CF10 1KM", "CF10 1OV",
        "CF10 AEP",  /* inward must start with a digit */
        "CF10 1E",   /* short */
        "CF1",       /* far too short */
        "CF100 1EP", /* outward too long */
        "1F10 1EP",  /* digit first */
        "CF-10 1EP", /* punctuation */
        "CF10 1EPX",
        "GIR 0AB",
        "\303\202B1 1AA", /* ÂB1: not ASCII */
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        dl_postcode p;
        const char *why = NULL;
        cr_assert_eq(pc(bad[i], &p, &why), DL_NORM_INVALID, "%s", bad[i]);
        cr_assert_str_eq(why, "malformed_postcode", "%s", bad[i]);
    }
}

Test(postcode, missing_and_pseudo_postcodes)
{
    dl_postcode p;
    const char *why;
    cr_assert_eq(pc("", &p, &why), DL_NORM_MISSING);
    cr_assert_eq(pc("   ", &p, &why), DL_NORM_MISSING);
    cr_assert_eq(pc("ZZ99 3VZ", &p, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(pc("zz993wz", &p, &why), DL_NORM_PLACEHOLDER);
}

/* Every real postcode of a CSV column validates, and re-normalising its unit
 * gives the unit back. Returns how many were checked. */
static size_t check_file(const char *name, int col)
{
    char *path = tu_data(name);
    char *text = tu_read(path, NULL);
    cr_assert_not_null(text, "cannot read %s", path);
    size_t n = 0;
    char *save = NULL;
    char *line = strtok_r(text, "\n", &save); /* header */
    while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
        char *f = line;
        for (int c = 0; c < col && f; c++) {
            f = strchr(f, ',');
            if (f)
                f++;
        }
        cr_assert_not_null(f);
        size_t len = strcspn(f, ",\r");
        dl_postcode p, q;
        const char *why = NULL;
        cr_assert_eq(dl_normalise_postcode(f, len, &p, &why), DL_NORM_OK, "%s: %.*s (%s)",
                     name, (int)len, f, why ? why : "");
        cr_assert_eq(dl_normalise_postcode(p.unit, strlen(p.unit), &q, NULL), DL_NORM_OK);
        cr_assert_str_eq(p.unit, q.unit);
        cr_assert_eq(strncmp(p.unit, p.sector, strlen(p.sector)), 0);
        n++;
    }
    free(text);
    free(path);
    return n;
}

Test(postcode, every_real_postcode_validates)
{
    cr_assert_eq(check_file("geo/address_uk_sample.csv", 0), 400);
    cr_assert_eq(check_file("geo/nspl_ld_sample.csv", 0), 297); /* pcd: 7-char form */
    cr_assert_eq(check_file("geo/nspl_ld_sample.csv", 1), 297); /* pcd2: 8-char form */
    cr_assert_eq(check_file("geo/nspl_ld_sample.csv", 2), 297); /* pcds: one space */
}
