/* test_norm_date.c: date formats, calendar and range checks (hashing/norm_date.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "dolen/normalise.h"

static dl_date_format fmts[8];

static dl_date_opts opts(size_t n, const char *const *f)
{
    dl_error err = DL_ERROR_INIT;
    for (size_t i = 0; i < n; i++)
        cr_assert_eq(dl_date_format_compile(f[i], &fmts[i], &err), DL_OK, "%s: %s", f[i],
                     err.msg);
    dl_date_opts o = {n, fmts, 19000101, 20240630, 0, NULL};
    return o;
}

static dl_norm_result date(const dl_date_opts *o, const char *s, int32_t *v, const char **why)
{
    return dl_normalise_date(s, strlen(s), o, v, why);
}

Test(norm_date, common_formats)
{
    static const char *const f[] = {"%d/%m/%Y", "%Y-%m-%d", "%d.%m.%Y", "%Y%m%d", "%d %b %Y"};
    dl_date_opts o = opts(5, f);
    int32_t v;
    const char *why = "x";
    cr_assert_eq(date(&o, "03/07/1985", &v, &why), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_null(why);
    cr_assert_eq(date(&o, "3/7/1985", &v, &why), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_eq(date(&o, "1985-07-03", &v, &why), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_eq(date(&o, "03.07.1985", &v, &why), DL_NORM_OK);
    cr_assert_eq(date(&o, "19850703", &v, &why), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_eq(date(&o, "3 jul 1985", &v, &why), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_eq(date(&o, "03  JULY 1985", &v, &why), DL_NORM_OK);
    cr_assert_eq(date(&o, "3 Sept 1985", &v, &why), DL_NORM_OK);
    cr_assert_eq(v, 19850903);
    cr_assert_eq(date(&o, "  1985-07-03 00:00:00 ", &v, &why), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_eq(date(&o, "1985-07-03T12:30:00.000Z", &v, &why), DL_NORM_OK);
    cr_assert_eq(date(&o, "1985-07-03T12:30", &v, &why), DL_NORM_OK);
}

Test(norm_date, leap_years_and_impossible_dates)
{
    static const char *const f[] = {"%d/%m/%Y"};
    dl_date_opts o = opts(1, f);
    int32_t v;
    const char *why;
    cr_assert_eq(date(&o, "29/02/2000", &v, &why), DL_NORM_OK);
    cr_assert_eq(date(&o, "29/02/2004", &v, &why), DL_NORM_OK);
    static const char *const bad[] = {"31/02/2000", "29/02/1900", "29/02/2001", "31/04/2001",
                                      "00/01/2001", "01/13/2001", "01/00/2001"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why = NULL;
        cr_assert_eq(date(&o, bad[i], &v, &why), DL_NORM_INVALID, "%s", bad[i]);
        cr_assert_str_eq(why, "impossible_date", "%s", bad[i]);
    }
    cr_assert(dl_date_valid(2000, 2, 29));
    cr_assert(!dl_date_valid(2100, 2, 29));
    cr_assert(!dl_date_valid(0, 1, 1));
}

Test(norm_date, unparseable)
{
    static const char *const f[] = {"%d/%m/%Y", "%Y%m%d"};
    dl_date_opts o = opts(2, f);
    int32_t v;
    const char *why;
    static const char *const bad[] = {"1985-07-03", "03/07/85", "123/07/1985", "03/07/19850",
                                      "1985073", "03/07/1985x", "birthday", "03/07/1985 25h",
                                      "198507031"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why = NULL;
        cr_assert_eq(date(&o, bad[i], &v, &why), DL_NORM_INVALID, "%s", bad[i]);
        cr_assert_str_eq(why, "unparseable_date", "%s", bad[i]);
    }
}

Test(norm_date, first_valid_format_wins)
{
    /* 13/02/2001 is not m/d/Y, so the second format takes it. */
    static const char *const f[] = {"%m/%d/%Y", "%d/%m/%Y"};
    dl_date_opts o = opts(2, f);
    int32_t v;
    cr_assert_eq(date(&o, "13/02/2001", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 20010213);
    cr_assert_eq(date(&o, "02/03/2001", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 20010203);
}

Test(norm_date, range_and_placeholders)
{
    static const char *const f[] = {"%Y-%m-%d"};
    dl_date_opts o = opts(1, f);
    int32_t ph[] = {19000101, 19990909};
    o.placeholders = ph;
    o.n_placeholders = 2;
    int32_t v;
    const char *why = NULL;
    cr_assert_eq(date(&o, "1900-01-01", &v, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(date(&o, "1999-09-09", &v, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(date(&o, "0000-00-00", &v, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(date(&o, "1899-12-31", &v, &why), DL_NORM_INVALID);
    cr_assert_str_eq(why, "out_of_range_date");
    why = NULL;
    cr_assert_eq(date(&o, "2024-07-01", &v, &why), DL_NORM_INVALID);
    cr_assert_str_eq(why, "out_of_range_date");
    cr_assert_eq(date(&o, "2024-06-30", &v, &why), DL_NORM_OK);
    cr_assert_eq(date(&o, "", &v, &why), DL_NORM_MISSING);
    cr_assert_eq(date(&o, " -- / ", &v, &why), DL_NORM_MISSING);
    o.min_date = 0;
    o.max_date = 0;
    cr_assert_eq(date(&o, "0001-01-01", &v, &why), DL_NORM_OK);
}

Test(norm_date, two_digit_year_takes_latest_century_not_after_max)
{
    static const char *const f[] = {"%d/%m/%y"};
    dl_date_opts o = opts(1, f);
    int32_t v;
    cr_assert_eq(date(&o, "30/06/24", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 20240630);
    cr_assert_eq(date(&o, "01/07/24", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 19240701);
    cr_assert_eq(date(&o, "01/02/35", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 19350201);
    cr_assert_eq(date(&o, "01/02/00", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 20000201);
    /* 29/02/00 is 2000 (a leap year); 29/02/24 with max 2024-02-28 is 1924. */
    o.max_date = 20240228;
    cr_assert_eq(date(&o, "29/02/24", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 19240229);
    o.max_date = 0;
    cr_assert_eq(date(&o, "01/02/35", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 20350201);
}

Test(norm_date, partial_dates_have_zero_day_and_month)
{
    static const char *const f[] = {"%m/%Y", "%Y"};
    dl_date_opts o = opts(2, f);
    int32_t v;
    const char *why = NULL;
    cr_assert_eq(date(&o, "7/1985", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 19850700);
    cr_assert_eq(date(&o, "1985", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 19850000);
    cr_assert_eq(date(&o, "1900", &v, NULL), DL_NORM_OK); /* some day of 1900 is in range */
    cr_assert_eq(date(&o, "2024", &v, NULL), DL_NORM_OK);
    cr_assert_eq(date(&o, "2025", &v, &why), DL_NORM_INVALID);
    cr_assert_str_eq(why, "out_of_range_date");
    cr_assert_eq(date(&o, "13/1985", &v, &why), DL_NORM_INVALID);
    cr_assert_str_eq(why, "impossible_date");
}

Test(norm_date, percent_literal_and_space)
{
    static const char *const f[] = {"%Y%%%m%%%d", "%d %m %Y"};
    dl_date_opts o = opts(2, f);
    int32_t v;
    cr_assert_eq(date(&o, "1985%07%03", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_eq(date(&o, "3   7 1985", &v, NULL), DL_NORM_OK);
    cr_assert_eq(v, 19850703);
    cr_assert_eq(date(&o, "3-7-1985", &v, NULL), DL_NORM_INVALID);
}

static void compile_fails(const char *fmt, uint64_t col, const char *msg_part)
{
    dl_date_format f;
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_date_format_compile(fmt, &f, &err), DL_EINPUT, "%s", fmt);
    cr_assert_eq(err.code, DL_EINPUT);
    cr_assert_eq(err.line, 0);
    cr_assert_eq(err.col, col, "%s: col %llu", fmt, (unsigned long long)err.col);
    cr_assert(strstr(err.msg, msg_part), "%s: %s", fmt, err.msg);
}

Test(norm_date, bad_formats_name_the_column)
{
    compile_fails("%d/%q/%Y", 4, "unknown date directive");
    compile_fails("%Y-%m-%", 7, "lone '%'");
    compile_fails("%d/%m", 0, "no year");
    compile_fails("", 0, "no year");
    compile_fails("%d/%Y", 0, "no month");
    compile_fails("%d/%m/%Y %d", 10, "repeated");
    compile_fails("%b %m %Y", 4, "repeated");
    compile_fails("%y%Y", 3, "repeated");
    compile_fails("%Y-a-b-c-d-e-f-g-h-i-j-k-l-m-n", 26, "too long"); /* op 25 */
}

Test(norm_date, today_is_plausible)
{
    int32_t t = dl_date_today();
    cr_assert_gt(t, 20240101);
    cr_assert(dl_date_valid(t / 10000, t / 100 % 100, t % 100));
}
