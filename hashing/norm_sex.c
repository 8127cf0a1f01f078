/* norm_sex.c: sex codes (M/F, 1/2, male/female, SAIL's 1/2/8/9) to 'M' or 'F'.
 * Part of hashing/ (prepare): one call per sex field per row. */
#include <string.h>

#include "dolen/normalise.h"

/* Keys are upper case with inner spaces, dots, dashes and underscores removed,
 * so "Not known", "NOT-KNOWN" and "not_known" are one key. SAIL and NHS coding
 * (NHS Data Dictionary "person stated gender code"): 1 male, 2 female,
 * 0 not known, 9 not specified; SAIL also uses 8 for not specified. X and I
 * (indeterminate) carry no M/F value to link on, so they count as unknown. */
static const struct {
    const char *key;
    char sex; /* 'M', 'F', or 0 for a placeholder */
} codes[] = {
    {"M", 'M'}, {"MALE", 'M'}, {"1", 'M'}, {"MAN", 'M'}, {"BOY", 'M'},
    {"F", 'F'}, {"FEMALE", 'F'}, {"2", 'F'}, {"WOMAN", 'F'}, {"GIRL", 'F'},
    {"0", 0}, {"8", 0}, {"9", 0}, {"U", 0}, {"X", 0}, {"I", 0}, {"N", 0},
    {"UNKNOWN", 0}, {"UNK", 0}, {"NK", 0}, {"NOTKNOWN", 0}, {"NS", 0},
    {"NOTSPECIFIED", 0}, {"UNSPECIFIED", 0}, {"NOTSTATED", 0}, {"NOTRECORDED", 0},
    {"INDETERMINATE", 0}, {"UNDETERMINED", 0}, {"PREFERNOTTOSAY", 0},
};

dl_norm_result dl_normalise_sex(const char *in, size_t len, char *out, const char **reason)
{
    char key[16];
    size_t k = 0;
    if (reason)
        *reason = NULL;
    *out = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\t' || c == '.' || c == '-' || c == '_' || c == '\r')
            continue;
        if (k == sizeof key)
            goto invalid; /* longer than any code */
        key[k++] = (char)(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
    }
    if (k == 0)
        return DL_NORM_MISSING;
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++) {
        if (strlen(codes[i].key) != k || memcmp(codes[i].key, key, k) != 0)
            continue;
        if (!codes[i].sex)
            return DL_NORM_PLACEHOLDER;
        *out = codes[i].sex;
        return DL_NORM_OK;
    }
invalid:
    if (reason)
        *reason = "unknown_sex_code";
    return DL_NORM_INVALID;
}
