/* test_norm_sex.c: sex codes to M/F (hashing/norm_sex.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "dolen/normalise.h"

static dl_norm_result sex(const char *s, char *out, const char **why)
{
    return dl_normalise_sex(s, strlen(s), out, why);
}

Test(norm_sex, male_and_female_codes)
{
    static const char *const m[] = {"M", "m", " male ", "MALE", "1", "Male.", "man", "Boy"};
    static const char *const f[] = {"F", "f", "Female", " 2", "woman", "GIRL", "f."};
    char c;
    const char *why = "x";
    for (size_t i = 0; i < sizeof m / sizeof *m; i++) {
        cr_assert_eq(sex(m[i], &c, &why), DL_NORM_OK, "%s", m[i]);
        cr_assert_eq(c, 'M');
        cr_assert_null(why);
    }
    for (size_t i = 0; i < sizeof f / sizeof *f; i++) {
        cr_assert_eq(sex(f[i], &c, &why), DL_NORM_OK, "%s", f[i]);
        cr_assert_eq(c, 'F');
    }
}

Test(norm_sex, sail_unknown_codes_are_placeholders)
{
    static const char *const u[] = {"8", "9", "0", "U", "x", "unknown", "Not Known",
                                    "not-specified", "NOT STATED", "I"};
    char c;
    const char *why;
    for (size_t i = 0; i < sizeof u / sizeof *u; i++)
        cr_assert_eq(sex(u[i], &c, &why), DL_NORM_PLACEHOLDER, "%s", u[i]);
    cr_assert_eq(sex("", &c, &why), DL_NORM_MISSING);
    cr_assert_eq(sex("   ", &c, &why), DL_NORM_MISSING);
}

Test(norm_sex, anything_else_is_invalid)
{
    static const char *const bad[] = {"3", "MF", "males", "femalexxxxxxxxxxxxxxxxxx", "?", "12"};
    char c;
    const char *why;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why = NULL;
        cr_assert_eq(sex(bad[i], &c, &why), DL_NORM_INVALID, "%s", bad[i]);
        cr_assert_str_eq(why, "unknown_sex_code");
    }
}
