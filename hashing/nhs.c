/* nhs.c: NHS numbers: 10 digits with a Modulus 11 check digit.
 * Part of hashing/ (prepare): one call per NHS number field per row; synth uses
 * dl_nhs_check_digit to make valid numbers. */
#include "dolen/normalise.h"

/* NHS Data Dictionary, "NHS Number": weights 10 down to 2 on the first nine
 * digits; check = 11 - (sum mod 11); 11 becomes 0; 10 means no valid number. */
int dl_nhs_check_digit(const char nine_digits[9])
{
    int sum = 0;
    for (int i = 0; i < 9; i++) {
        if (nine_digits[i] < '0' || nine_digits[i] > '9')
            return -1;
        sum += (nine_digits[i] - '0') * (10 - i);
    }
    int c = 11 - sum % 11;
    if (c == 11)
        return 0;
    return c == 10 ? -1 : c;
}

dl_norm_result dl_normalise_nhs(const char *in, size_t len, char out[11], const char **reason)
{
    size_t n = 0;
    int other = 0;
    if (reason)
        *reason = NULL;
    out[0] = '\0';
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == ' ' || c == '-' || c == '\t' || c == '\r')
            continue;
        if (c < '0' || c > '9' || n == 10) {
            other = 1;
            break;
        }
        out[n++] = c;
    }
    if (!other && n == 0)
        return DL_NORM_MISSING;
    if (other || n != 10) {
        out[0] = '\0';
        if (reason)
            *reason = "not_10_digits";
        return DL_NORM_INVALID;
    }
    out[10] = '\0';
    int same = 1;
    for (int i = 1; i < 10; i++)
        same &= out[i] == out[0];
    /* Every ten-repeated-digit number passes the check (the weighted sum is 54d,
     * and 54 = -1 mod 11, giving check digit d), yet such numbers are fillers. */
    if (same)
        return DL_NORM_PLACEHOLDER;
    if (dl_nhs_check_digit(out) != out[9] - '0') {
        if (reason)
            *reason = "bad_check_digit";
        return DL_NORM_INVALID;
    }
    return DL_NORM_OK;
}
