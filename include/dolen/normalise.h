/* dolen/normalise.h: identifier normalisers (names, text, dates, sex, UK postcodes,
 * NHS numbers). Part of hashing/; `dolen prepare` calls one per field per row.
 *
 * Common contract of every dl_normalise_* function below:
 *  - input is LEN bytes at IN (no terminator needed; IN may be NULL when LEN is 0);
 *  - output goes to a caller-provided struct or buffer; nothing is allocated and
 *    nothing global is written, so every function is thread-safe and reentrant;
 *  - the result says whether a usable value was written (DL_NORM_OK); for any other
 *    result the output is unspecified (but NUL-terminated strings stay terminated);
 *  - *reason (REASON may be NULL) gets a short static code on DL_NORM_INVALID and
 *    NULL otherwise. The codes are listed in docs/normalisation.md; prepare counts
 *    invalid values by code. Neither codes nor anything else here ever carries the
 *    identifier value. */
#ifndef DOLEN_NORMALISE_H
#define DOLEN_NORMALISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/spec.h" /* DL_TOKEN_SET_MAX */

/* DL_NORMALISATION_TAG (dolen/spec.h) versions what these functions output:
 * bump it with any change to a normaliser, phonetic code or variant table. */

typedef enum dl_norm_result {
    DL_NORM_OK,          /* a usable normalised value was written */
    DL_NORM_MISSING,     /* empty or only spaces/punctuation */
    DL_NORM_PLACEHOLDER, /* a configured placeholder (UNKNOWN, 1900-01-01, ...): treat as missing */
    DL_NORM_INVALID,     /* present but invalid; *reason says why */
} dl_norm_result;

/* ---- UTF-8 folding (utf8_fold.c) -------------------------------------- */

/* Longest normalised name or text, in bytes, without the terminator. */
#define DL_NAME_MAX 255

/* Keep digits as word characters; without it digits are separators. */
#define DL_FOLD_KEEP_DIGITS 1u

/* Fold UTF-8 text to upper-case ASCII words joined by single spaces: letters of
 * ASCII, Latin-1, Latin Extended-A (and a few of Extended-B and Extended
 * Additional, such as Welsh ẁ ẃ ẅ ỳ) lose their diacritics (Â -> A, ß -> SS, Æ -> AE,
 * Þ -> TH); combining marks U+0300-U+036F, zero-width characters and the BOM are
 * dropped; apostrophes (' ` ´ U+2018 U+2019 U+02BC) are dropped without splitting
 * the word (O'NEILL -> ONEILL); every other character, including letters of other
 * scripts, is a separator. Digits are kept when FLAGS has DL_FOLD_KEEP_DIGITS.
 * Writes at most CAP bytes to OUT including a terminator and the length without
 * it to *OUT_LEN. Returns DL_NORM_OK (possibly with *OUT_LEN 0: nothing left),
 * or DL_NORM_INVALID with *reason "bad_utf8" (malformed, overlong, surrogate or
 * out-of-range sequence) or "too_long" (result would not fit in CAP - 1 bytes). */
dl_norm_result dl_fold_utf8(const char *in, size_t len, unsigned flags, char *out, size_t cap,
                            size_t *out_len, const char **reason);

/* ---- names and text (norm_name.c) ------------------------------------- */

typedef struct dl_name_opts {
    bool strip_titles;              /* drop leading titles and trailing suffixes */
    size_t n_placeholders;          /* extra values meaning "missing", compared after */
    const char *const *placeholders; /* folding (see dl_normalise_name); borrowed */
} dl_name_opts;

#define DL_NAME_OPTS_INIT {true, 0, NULL}

/* A normalised name: the whole value and its parts (words). */
typedef struct dl_name_norm {
    char full[DL_NAME_MAX + 1]; /* parts joined by one space, NUL-terminated */
    size_t len;                 /* strlen(full) */
    size_t n_parts;             /* 1..DL_TOKEN_SET_MAX when DL_NORM_OK */
    struct {
        uint16_t off, len;      /* part i is full[off .. off+len) */
    } parts[DL_TOKEN_SET_MAX];
    bool parts_truncated;       /* the value had more words than DL_TOKEN_SET_MAX:
                                   parts holds the first ones; full has them all */
} dl_name_norm;

/* Normalise a given name or surname. After dl_fold_utf8 (digits are separators):
 * leading titles (MR, MRS, MISS, MS, MX, DR, REV, PROF, SIR, DAME, LADY, LORD, FR,
 * SR, MASTER, ...) and trailing suffixes (JR, JNR, SR, SNR, II, III, IV, OBE, ...)
 * are removed when O->strip_titles, as whole words, never the last word left.
 * The result is a placeholder when it equals, ignoring case, spaces and any
 * character that is not a letter, one of the built-in list (UNKNOWN, NOT KNOWN,
 * NK, BABY, BABY BOY, TWIN, TWIN A, XXX, NONE, NULL, N/A, ...; docs/normalisation.md)
 * or O->placeholders. "Jones-Davies" gives full "JONES DAVIES" and parts JONES,
 * DAVIES. O may be NULL (= DL_NAME_OPTS_INIT). Reasons: bad_utf8, too_long. */
dl_norm_result dl_normalise_name(const char *in, size_t len, const dl_name_opts *o,
                                 dl_name_norm *out, const char **reason);

/* Normalise free text (field type `text`): fold as names do but keep digits,
 * no title stripping (O->strip_titles is ignored); placeholders compared on
 * letters and digits, the built-in list being the non-name part of the names list
 * (UNKNOWN, NOT KNOWN, NK, NONE, NULL, N/A, XXX, ...). O may be NULL. */
dl_norm_result dl_normalise_text(const char *in, size_t len, const dl_name_opts *o,
                                 dl_name_norm *out, const char **reason);

/* ---- dates (norm_date.c) ---------------------------------------------- */

#define DL_DATE_FORMAT_MAX_OPS 24

/* A compiled input format. Plain value: copy it, keep arrays of it, no free.
 * Its fields are private to norm_date.c. */
typedef struct dl_date_format {
    uint8_t n_ops;
    uint8_t has; /* bit set of the directives present */
    struct {
        uint8_t kind;  /* private: literal, space, %d, %m, %Y, %y, %b */
        uint8_t width; /* private: digits accepted (min in low nibble, max high) */
        char lit;
    } ops[DL_DATE_FORMAT_MAX_OPS];
} dl_date_format;

/* Compile the strptime-like FMT (NUL-terminated): %d %m %Y %y %b (English month
 * name or abbreviation, any case), %% and literal characters; a space matches
 * one or more spaces. %d and %m read 1 or 2 digits when literals or the ends
 * stand on both sides (3/7/1985), exactly 2 next to another directive (%Y%m%d). A year
 * (%Y or %y) is required; %m or %b without %d gives a partial date (day 0);
 * %Y alone gives month and day 0; %d without a month is refused.
 * DL_OK, or DL_EINPUT with err->col the 1-based position in FMT of the fault
 * (line 0, file "") and *out unspecified. Thread-safe. */
dl_status dl_date_format_compile(const char *fmt, dl_date_format *out,
                                 dl_error *err) DL_MUST_CHECK;

typedef struct dl_date_opts {
    size_t n_formats;               /* tried in order; first that parses to a */
    const dl_date_format *formats;  /* real calendar date wins; borrowed */
    int32_t min_date;               /* YYYYMMDD, inclusive; 0: no lower limit */
    int32_t max_date;               /* YYYYMMDD, inclusive, already resolved (pass
                                       dl_date_today() for "today"); 0: no upper
                                       limit, and %y then reads as 20yy */
    size_t n_placeholders;          /* YYYYMMDD values meaning "missing" */
    const int32_t *placeholders;    /* (e.g. 19000101); borrowed */
} dl_date_opts;

/* Parse a date into *out as YYYYMMDD (month and day 0 for partial formats, see
 * dl_date_format_compile). Spaces around the value are ignored, and so is a
 * trailing time of day ("T" or spaces, then hh:mm[:ss[.fff]][Z]). A %y year takes
 * the latest century that does not put the date after max_date (so with max
 * 2024-06-30, 24/06/30 is 1930 but 24/06/24 is 2024). Results: DL_NORM_MISSING
 * for empty or punctuation-only input; DL_NORM_PLACEHOLDER for a configured
 * placeholder or all-zero digits (00/00/0000); DL_NORM_INVALID with
 * "unparseable_date" (no format matched), "impossible_date" (a format matched
 * but not a real date: 31/02/2000, 29/02/1900) or "out_of_range_date" (a
 * partial date is in range when some day of it is). */
dl_norm_result dl_normalise_date(const char *in, size_t len, const dl_date_opts *o,
                                 int32_t *out, const char **reason);

/* Today's local date as YYYYMMDD: call once per run, not per row. */
int32_t dl_date_today(void);

/* The Monday of the ISO 8601 week holding YMD (YYYYMMDD), as YYYYMMDD; 0 when
 * its month or day is 0. What prepare's week_of_birth and extract's week
 * coarsening both mean by "week". */
int32_t dl_date_week_monday(int32_t ymd);

/* Whether Y-M-D is a real Gregorian date (1 <= M <= 12, 1 <= D <= days in month). */
bool dl_date_valid(int32_t y, int32_t m, int32_t d);

/* ---- sex (norm_sex.c) -------------------------------------------------- */

/* Sex codes to one coding: *out = 'M' (M, MALE, 1, MAN, BOY) or 'F' (F, FEMALE,
 * 2, WOMAN, GIRL), case-insensitive, spaces and trailing dots trimmed.
 * DL_NORM_MISSING when empty; DL_NORM_PLACEHOLDER for unknown or not stated
 * (SAIL 0, 8 not specified, 9 unknown; U, X, I, UNKNOWN, NOT KNOWN, NOT
 * SPECIFIED, ...); else DL_NORM_INVALID "unknown_sex_code". */
dl_norm_result dl_normalise_sex(const char *in, size_t len, char *out, const char **reason);

/* ---- UK postcodes (postcode.c) ---------------------------------------- */

typedef struct dl_postcode {
    char unit[9];     /* "CF10 1AA" */
    char sector[7];   /* "CF10 1" */
    char district[5]; /* "CF10" */
    char area[3];     /* "CF" */
} dl_postcode;

/* Validate and split a UK postcode: ASCII spaces and tabs removed, upper-cased,
 * then one of AN NAA, ANN NAA, AAN NAA, AANN NAA, ANA NAA, AANA NAA with the
 * Royal Mail letter rules, or GIR 0AA. DL_NORM_MISSING when empty;
 * DL_NORM_PLACEHOLDER for NHS pseudo-postcodes (outward ZZ99); else
 * DL_NORM_INVALID "malformed_postcode". */
dl_norm_result dl_normalise_postcode(const char *in, size_t len, dl_postcode *out,
                                     const char **reason);

/* ---- NHS numbers (nhs.c) ---------------------------------------------- */

/* Spaces and dashes removed, then 10 digits whose last is the Modulus 11 check
 * digit; *out gets the 10 digits and a terminator. DL_NORM_MISSING when empty;
 * DL_NORM_PLACEHOLDER when all ten digits are the same (0000000000 and the like
 * pass the check but are fillers); DL_NORM_INVALID "not_10_digits" or
 * "bad_check_digit". */
dl_norm_result dl_normalise_nhs(const char *in, size_t len, char out[11], const char **reason);

/* The Modulus 11 check digit of NINE_DIGITS (weights 10..2): 0..9, or -1 when
 * no digit is possible (remainder 10) or a byte is not a digit. */
int dl_nhs_check_digit(const char nine_digits[9]);

/* Static text of a reason code for reports ("bad_check_digit" -> "NHS number
 * check digit wrong"); "unknown reason" when the code is not one of ours. */
const char *dl_norm_reason_text(const char *reason);

#endif
