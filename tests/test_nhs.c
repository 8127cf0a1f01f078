/* test_nhs.c: NHS number validation and the Modulus 11 check digit (hashing/nhs.c). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "dolen/normalise.h"

static dl_norm_result nhs(const char *s, char *out, const char **why)
{
    return dl_normalise_nhs(s, strlen(s), out, why);
}

Test(nhs, known_valid_number_in_any_spacing)
{
    char out[11];
    const char *why = "x";
    /* 943 476 5919: the NHS Data Dictionary's worked example. */
    cr_assert_eq(nhs("9434765919", out, &why), DL_NORM_OK);
    cr_assert_str_eq(out, "9434765919");
    cr_assert_null(why);
    cr_assert_eq(nhs("943 476 5919", out, &why), DL_NORM_OK);
    cr_assert_eq(nhs(" 943-476-5919 ", out, &why), DL_NORM_OK);
    cr_assert_str_eq(out, "9434765919");
}

Test(nhs, check_digit_helper)
{
    cr_assert_eq(dl_nhs_check_digit("943476591"), 9);
    /* Sum 0 gives 11, which means 0. */
    cr_assert_eq(dl_nhs_check_digit("000000000"), 0);
    /* 100000001: sum 10 + 2 = 12, 12 mod 11 = 1, check 10: no valid number. */
    cr_assert_eq(dl_nhs_check_digit("100000001"), -1);
    cr_assert_eq(dl_nhs_check_digit("94347659x"), -1);
    /* Every made number passes the normaliser. */
    char nine[10] = "999000000";
    int made = 0;
    for (int i = 0; i < 500; i++) {
        snprintf(nine, sizeof nine, "999%06d", i * 1997);
        int c = dl_nhs_check_digit(nine);
        if (c < 0)
            continue;
        char ten[11];
        memcpy(ten, nine, 9);
        ten[9] = (char)('0' + c);
        ten[10] = '\0';
        char out[11];
        cr_assert_eq(dl_normalise_nhs(ten, 10, out, NULL), DL_NORM_OK, "%s", ten);
        made++;
    }
    cr_assert_gt(made, 400);
}

Test(nhs, bad_check_digit)
{
    char out[11];
    const char *why = NULL;
    cr_assert_eq(nhs("9434765918", out, &why), DL_NORM_INVALID);
    cr_assert_str_eq(why, "bad_check_digit");
    why = NULL;
    cr_assert_eq(nhs("1000000010", out, &why), DL_NORM_INVALID); /* remainder 10 */
    cr_assert_str_eq(why, "bad_check_digit");
}

Test(nhs, not_ten_digits)
{
    static const char *const bad[] = {"943476591", "94347659190", "943476591A", "943/476/5919",
                                      "x"};
    char out[11];
    const char *why;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why = NULL;
        cr_assert_eq(nhs(bad[i], out, &why), DL_NORM_INVALID, "%s", bad[i]);
        cr_assert_str_eq(why, "not_10_digits");
    }
}

Test(nhs, missing_and_fillers)
{
    char out[11];
    const char *why;
    cr_assert_eq(nhs("", out, &why), DL_NORM_MISSING);
    cr_assert_eq(nhs(" - ", out, &why), DL_NORM_MISSING);
    cr_assert_eq(nhs("0000000000", out, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(nhs("999 999 9999", out, &why), DL_NORM_PLACEHOLDER);
}
