/* test_error.c: dl_error filling and formatting (common/error.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <string.h>

#include "dolen/error.h"

Test(error, set_returns_code_and_fills_location)
{
    dl_error e = DL_ERROR_INIT;
    dl_status s = dl_error_set(&e, DL_EINPUT, "a.csv", 12, 7, "expected %d digits", 10);
    cr_assert_eq(s, DL_EINPUT);
    cr_assert_eq(e.code, DL_EINPUT);
    cr_assert_str_eq(e.file, "a.csv");
    cr_assert_eq(e.line, 12);
    cr_assert_eq(e.col, 7);
    char buf[512];
    cr_assert_str_eq(dl_error_format(&e, buf, sizeof buf), "a.csv:12:7: expected 10 digits");
}

Test(error, format_omits_missing_parts)
{
    dl_error e = DL_ERROR_INIT;
    char buf[512];
    dl_error_set(&e, DL_EIO, NULL, 0, 0, "disk full");
    cr_assert_str_eq(dl_error_format(&e, buf, sizeof buf), "disk full");
    dl_error_set(&e, DL_EIO, "x", 3, 0, "bad");
    cr_assert_str_eq(dl_error_format(&e, buf, sizeof buf), "x:3: bad");
    dl_error_set(&e, DL_EIO, "x", 0, 0, "bad");
    cr_assert_str_eq(dl_error_format(&e, buf, sizeof buf), "x: bad");
}

Test(error, os_error_appends_strerror)
{
    dl_error e = DL_ERROR_INIT;
    dl_error_os(&e, DL_EIO, ENOENT, "k.key", "cannot open key file");
    cr_assert_eq(e.os_errno, ENOENT);
    cr_assert(strstr(e.msg, "cannot open key file: ") == e.msg);
    cr_assert(strstr(e.msg, strerror(ENOENT)) != NULL);
}

Test(error, long_message_is_truncated_not_overflowed)
{
    dl_error e = DL_ERROR_INIT;
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    dl_error_set(&e, DL_EINPUT, big, 1, 1, "%s", big);
    cr_assert_eq(strlen(e.msg), sizeof e.msg - 1);
    cr_assert_eq(strlen(e.file), sizeof e.file - 1);
    char small[16];
    dl_error_format(&e, small, sizeof small);
    cr_assert_eq(strlen(small), sizeof small - 1);
}

Test(error, names_and_texts)
{
    cr_assert_str_eq(dl_status_name(DL_EROW), "DL_EROW");
    cr_assert_str_eq(dl_status_text(DL_ENOMEM), "out of memory");
    cr_assert_str_eq(dl_status_name((dl_status)99), "DL_?");
    dl_error e;
    dl_error_clear(&e);
    cr_assert_eq(e.code, DL_OK);
    dl_error_clear(NULL);
    cr_assert_eq(dl_error_set(NULL, DL_EIO, NULL, 0, 0, "x"), DL_EIO);
}
