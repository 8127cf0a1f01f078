/* norm_name.c: given names, surnames and free text to their normalised form.
 * Part of hashing/ (prepare): runs once per name field per row, after CSV
 * reading and before phonetic codes, variants and keyed tokens. */
#include <string.h>

#include "dolen/normalise.h"

/* A short word list as (length, text) so a lookup compares lengths first and
 * touches the bytes of only the few words of the right length. */
typedef struct word {
    unsigned char len;
    char s[15];
} word;

#define W(x) {sizeof(x) - 1, x}

/* Titles removed from the start. Only words that are not also common names:
 * SR here is Sister (at the end it is Senior); PARCH and PARCHEDIG are Welsh
 * for Reverend. */
static const word titles[] = {
    W("MR"), W("MRS"), W("MISS"), W("MS"), W("MX"), W("MSTR"), W("MASTER"),
    W("DR"), W("DOCTOR"), W("REV"), W("REVD"), W("REVEREND"), W("PROF"),
    W("PROFESSOR"), W("SIR"), W("DAME"), W("LADY"), W("LORD"), W("FR"), W("SR"),
    W("CAPT"), W("COL"), W("MAJ"), W("LT"), W("SGT"), W("CPL"), W("CLLR"),
    W("CLR"), W("HON"), W("RT"), W("PARCH"), W("PARCHEDIG"),
};

/* Suffixes removed from the end: generation marks and post-nominal letters.
 * Not V (a middle initial far more often than "the fifth"), nor degrees such as
 * BA or MA that are also surnames. */
static const word suffixes[] = {
    W("JR"), W("JNR"), W("JUNIOR"), W("SR"), W("SNR"), W("SENIOR"), W("II"),
    W("III"), W("IV"), W("ESQ"), W("OBE"), W("MBE"), W("CBE"), W("KBE"), W("DBE"),
    W("QC"), W("KC"), W("MP"), W("PHD"),
};

/* Built-in placeholders, as keys: letters only for names (so "TWIN 1", "Twin-2"
 * and "TWIN" meet, and "N.K." is NK). Not NA for names: Na is a surname. */
static const word name_placeholders[] = {
    W("UNKNOWN"), W("NOTKNOWN"), W("NK"), W("UNK"), W("NONE"), W("NULL"),
    W("BABY"), W("BABYBOY"), W("BABYGIRL"), W("BABYOF"), W("INFANT"), W("TWIN"),
    W("TWINA"), W("TWINB"), W("TWINONE"), W("TWINTWO"), W("X"), W("XX"), W("XXX"),
    W("XXXX"), W("UNNAMED"), W("NONAME"), W("NOTGIVEN"), W("NOTSTATED"),
    W("NOTRECORDED"), W("ANON"), W("ANONYMOUS"), W("REFUSED"), W("WITHHELD"),
    W("FNU"), W("LNU"), W("NFN"),
};

/* Text keys keep digits as well; only the values that mean "missing" whatever
 * the field holds. */
static const word text_placeholders[] = {
    W("UNKNOWN"), W("NOTKNOWN"), W("NK"), W("UNK"), W("NA"), W("NONE"), W("NULL"),
    W("X"), W("XX"), W("XXX"), W("XXXX"), W("NOTGIVEN"), W("NOTSTATED"),
    W("NOTRECORDED"), W("NOTAPPLICABLE"), W("NOTSPECIFIED"), W("REFUSED"),
    W("WITHHELD"),
};

static int in_list(const word *list, size_t n, const char *s, size_t len)
{
    for (size_t i = 0; i < n; i++)
        if (list[i].len == len && memcmp(list[i].s, s, len) == 0)
            return 1;
    return 0;
}

static int is_key_char(unsigned char c, int digits)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (digits && c >= '0' && c <= '9');
}

/* Whether the configured placeholder PH (NUL-terminated, any case and spacing)
 * has key KEY: both are read as their key characters only. */
static int placeholder_matches(const char *ph, const char *key, size_t klen, int digits)
{
    size_t k = 0;
    for (const unsigned char *p = (const unsigned char *)ph; *p; p++) {
        if (!is_key_char(*p, digits))
            continue;
        unsigned char c = *p;
        if (c >= 'a' && c <= 'z')
            c = (unsigned char)(c - 'a' + 'A');
        if (k >= klen || (unsigned char)key[k] != c)
            return 0;
        k++;
    }
    return k == klen && klen > 0;
}

static dl_norm_result normalise(const char *in, size_t len, const dl_name_opts *o,
                                dl_name_norm *out, const char **reason, int text)
{
    static const dl_name_opts defaults = DL_NAME_OPTS_INIT;
    if (!o)
        o = &defaults;
    out->len = 0;
    out->n_parts = 0;
    out->parts_truncated = false;
    size_t n;
    dl_norm_result r = dl_fold_utf8(in, len, text ? DL_FOLD_KEEP_DIGITS : 0u, out->full,
                                     sizeof out->full, &n, reason);
    if (r != DL_NORM_OK)
        return r;
    if (n == 0)
        return DL_NORM_MISSING;

    /* Words are separated by exactly one space, so the words kept after
     * stripping titles and suffixes are one contiguous span of full. */
    char *f = out->full;
    size_t start = 0, end = n;
    if (!text && o->strip_titles) {
        for (;;) {
            const char *sp = memchr(f + start, ' ', end - start);
            if (!sp)
                break; /* never remove the only word */
            size_t wl = (size_t)(sp - (f + start));
            if (!in_list(titles, sizeof titles / sizeof *titles, f + start, wl))
                break;
            start += wl + 1;
        }
        for (;;) {
            size_t ws = end;
            while (ws > start && f[ws - 1] != ' ')
                ws--;
            if (ws == start || !in_list(suffixes, sizeof suffixes / sizeof *suffixes,
                                        f + ws, end - ws))
                break;
            end = ws - 1;
        }
        if (start > 0)
            memmove(f, f + start, end - start);
        n = end - start;
        f[n] = '\0';
    }
    out->len = n;

    /* The key: letters (and for text digits), no spaces. */
    char key[DL_NAME_MAX + 1];
    size_t kl = 0;
    for (size_t i = 0; i < n; i++)
        if (f[i] != ' ')
            key[kl++] = f[i];
    const word *bl = text ? text_placeholders : name_placeholders;
    size_t bn = text ? sizeof text_placeholders / sizeof *text_placeholders
                     : sizeof name_placeholders / sizeof *name_placeholders;
    if (in_list(bl, bn, key, kl))
        return DL_NORM_PLACEHOLDER;
    for (size_t i = 0; i < o->n_placeholders; i++)
        if (o->placeholders[i] && placeholder_matches(o->placeholders[i], key, kl, text))
            return DL_NORM_PLACEHOLDER;

    size_t i = 0;
    while (i < n) {
        size_t ws = i;
        while (i < n && f[i] != ' ')
            i++;
        if (out->n_parts == DL_TOKEN_SET_MAX) {
            out->parts_truncated = true;
            break;
        }
        out->parts[out->n_parts].off = (uint16_t)ws;
        out->parts[out->n_parts].len = (uint16_t)(i - ws);
        out->n_parts++;
        i++; /* the space */
    }
    return DL_NORM_OK;
}

dl_norm_result dl_normalise_name(const char *in, size_t len, const dl_name_opts *o,
                                 dl_name_norm *out, const char **reason)
{
    return normalise(in, len, o, out, reason, 0);
}

dl_norm_result dl_normalise_text(const char *in, size_t len, const dl_name_opts *o,
                                 dl_name_norm *out, const char **reason)
{
    return normalise(in, len, o, out, reason, 1);
}

/* Reason codes of every normaliser, with a line for reports. One table so the
 * codes documented in docs/normalisation.md have one home. */
static const struct {
    const char *code, *text;
} reasons[] = {
    {"bad_utf8", "not valid UTF-8"},
    {"too_long", "longer than 255 bytes after normalisation"},
    {"unparseable_date", "date matches none of the configured formats"},
    {"impossible_date", "not a real calendar date"},
    {"out_of_range_date", "date outside the configured range"},
    {"unknown_sex_code", "sex code not recognised"},
    {"malformed_postcode", "not a valid UK postcode"},
    {"not_10_digits", "NHS number is not 10 digits"},
    {"bad_check_digit", "NHS number check digit wrong"},
};

const char *dl_norm_reason_text(const char *reason)
{
    if (reason)
        for (size_t i = 0; i < sizeof reasons / sizeof *reasons; i++)
            if (strcmp(reasons[i].code, reason) == 0)
                return reasons[i].text;
    return "unknown reason";
}
