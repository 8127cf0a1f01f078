/* norm_date.c: dates in configured formats to YYYYMMDD integers, with calendar
 * and range checks. Part of hashing/ (prepare): one call per date field per row;
 * formats are compiled once from the spec. */
#include <string.h>
#include <time.h>

#include "dolen/normalise.h"

enum { OP_LIT = 1, OP_SPACE, OP_DAY, OP_MONTH, OP_YEAR4, OP_YEAR2, OP_MONNAME };

#define HAS(k) (1u << (k))

dl_status dl_date_format_compile(const char *fmt, dl_date_format *out, dl_error *err)
{
    memset(out, 0, sizeof *out);
    size_t i = 0;
    while (fmt[i]) {
        uint64_t col = i + 1;
        uint8_t kind, width = 0;
        char lit = 0;
        if (fmt[i] == '%') {
            char c = fmt[i + 1];
            switch (c) {
            case 'd': kind = OP_DAY; break;
            case 'm': kind = OP_MONTH; break;
            case 'Y': kind = OP_YEAR4; width = 0x44; break;
            case 'y': kind = OP_YEAR2; width = 0x22; break;
            case 'b': kind = OP_MONNAME; break;
            case '%': kind = OP_LIT; lit = '%'; break;
            case '\0':
                return dl_error_set(err, DL_EINPUT, NULL, 0, col,
                                    "date format ends in a lone '%%' (expected a "
                                    "directive such as %%d, or %%%% for a percent sign)");
            default:
                return dl_error_set(err, DL_EINPUT, NULL, 0, col,
                                    "unknown date directive (expected one of %%d %%m %%Y "
                                    "%%y %%b %%%%)");
            }
            i += 2;
        } else if (fmt[i] == ' ') {
            kind = OP_SPACE;
            while (fmt[i] == ' ')
                i++;
        } else {
            kind = OP_LIT;
            lit = fmt[i++];
        }
        if (kind != OP_LIT && kind != OP_SPACE) {
            /* One month, be it %m or %b, and one year, be it %Y or %y. */
            unsigned clash = HAS(kind);
            if (kind == OP_MONTH || kind == OP_MONNAME)
                clash = HAS(OP_MONTH) | HAS(OP_MONNAME);
            if (kind == OP_YEAR4 || kind == OP_YEAR2)
                clash = HAS(OP_YEAR4) | HAS(OP_YEAR2);
            if (out->has & clash)
                return dl_error_set(err, DL_EINPUT, NULL, 0, col,
                                    "date directive repeated (expected each of day, month "
                                    "and year at most once)");
            out->has = (uint8_t)(out->has | HAS(kind));
        }
        if (out->n_ops == DL_DATE_FORMAT_MAX_OPS)
            return dl_error_set(err, DL_EINPUT, NULL, 0, col,
                                "date format too long (expected at most %d directives and "
                                "literals)", DL_DATE_FORMAT_MAX_OPS);
        out->ops[out->n_ops].kind = kind;
        out->ops[out->n_ops].width = width;
        out->ops[out->n_ops].lit = lit;
        out->n_ops++;
    }
    if (!(out->has & (HAS(OP_YEAR4) | HAS(OP_YEAR2))))
        return dl_error_set(err, DL_EINPUT, NULL, 0, 0,
                            "date format has no year (expected %%Y or %%y)");
    if ((out->has & HAS(OP_DAY)) && !(out->has & (HAS(OP_MONTH) | HAS(OP_MONNAME))))
        return dl_error_set(err, DL_EINPUT, NULL, 0, 0,
                            "date format has a day but no month (expected %%m or %%b)");
    /* %d and %m take 1 or 2 digits only where literals (or the ends) stand on
     * both sides; next to another directive (%Y%m%d) they take exactly 2, so a
     * 7-digit 1985073 is refused rather than guessed. */
    for (size_t k = 0; k < out->n_ops; k++) {
        uint8_t kd = out->ops[k].kind;
        if (kd != OP_DAY && kd != OP_MONTH)
            continue;
        int after = k + 1 == out->n_ops || out->ops[k + 1].kind == OP_LIT ||
                    out->ops[k + 1].kind == OP_SPACE;
        int before = k == 0 || out->ops[k - 1].kind == OP_LIT ||
                     out->ops[k - 1].kind == OP_SPACE;
        out->ops[k].width = after && before ? 0x21 : 0x22;
    }
    return DL_OK;
}

bool dl_date_valid(int32_t y, int32_t m, int32_t d)
{
    static const int8_t dim[13] = {0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= dim[m] + (m == 2 && leap);
}

int32_t dl_date_today(void)
{
    time_t t = time(NULL);
    struct tm tm;
    if (!localtime_r(&t, &tm))
        return 0;
    return (int32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

static int upper(int c)
{
    return c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
}

/* English month names; a value may give the first three letters, the whole
 * name, or SEPT. */
static int month_from_name(const char *s, size_t n)
{
    static const char *const names[12] = {"JANUARY", "FEBRUARY", "MARCH", "APRIL",
                                          "MAY", "JUNE", "JULY", "AUGUST",
                                          "SEPTEMBER", "OCTOBER", "NOVEMBER", "DECEMBER"};
    if (n < 3)
        return 0;
    for (int m = 0; m < 12; m++) {
        size_t nl = strlen(names[m]);
        if (n != 3 && n != nl && !(m == 8 && n == 4))
            continue;
        if (n > nl)
            continue;
        size_t k = 0;
        while (k < n && upper((unsigned char)s[k]) == names[m][k])
            k++;
        if (k == n)
            return m + 1;
    }
    return 0;
}

static int is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Whether S[0..N) is a time of day that may trail a date: "T" or spaces, then
 * hh:mm, optionally :ss and .fraction, optionally Z. Exports from databases
 * often print midnight after every date of birth. */
static int is_time_suffix(const char *s, size_t n)
{
    size_t i = 0;
    if (i < n && (s[i] == 'T' || s[i] == 't'))
        i++;
    else
        while (i < n && s[i] == ' ')
            i++;
    if (i == 0)
        return 0;
    for (int part = 0; part < 3; part++) {
        if (part > 0) {
            if (i == n && part == 2)
                break; /* seconds are optional */
            if (i >= n || s[i] != ':')
                return 0;
            i++;
        }
        if (i + 2 > n || !is_digit(s[i]) || !is_digit(s[i + 1]))
            return 0;
        i += 2;
    }
    if (i < n && s[i] == '.') {
        i++;
        size_t f = i;
        while (i < n && is_digit(s[i]))
            i++;
        if (i == f)
            return 0;
    }
    if (i < n && (s[i] == 'Z' || s[i] == 'z'))
        i++;
    return i == n;
}

/* Match S[0..N) against F. On success fills y (yy for %y, flagged by *two),
 * m and d (0 when the format has none) and returns 1. */
static int match(const dl_date_format *f, const char *s, size_t n, int32_t *y, int32_t *m,
                 int32_t *d, int *two)
{
    size_t i = 0;
    *y = *m = *d = 0;
    *two = 0;
    for (size_t k = 0; k < f->n_ops; k++) {
        uint8_t kind = f->ops[k].kind;
        if (kind == OP_LIT) {
            if (i >= n || upper((unsigned char)s[i]) != upper((unsigned char)f->ops[k].lit))
                return 0;
            i++;
        } else if (kind == OP_SPACE) {
            if (i >= n || s[i] != ' ')
                return 0;
            while (i < n && s[i] == ' ')
                i++;
        } else if (kind == OP_MONNAME) {
            size_t st = i;
            while (i < n && i - st < 10 &&
                   ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
                i++;
            if ((*m = month_from_name(s + st, i - st)) == 0)
                return 0;
        } else {
            size_t lo = f->ops[k].width & 0xFu, hi = f->ops[k].width >> 4, st = i;
            int32_t v = 0;
            while (i < n && i - st < hi && is_digit(s[i]))
                v = v * 10 + (s[i++] - '0');
            if (i - st < lo)
                return 0;
            if (kind == OP_DAY)
                *d = v;
            else if (kind == OP_MONTH)
                *m = v;
            else
                *y = v;
            if (kind == OP_YEAR2)
                *two = 1;
        }
    }
    return i == n || is_time_suffix(s + i, n - i);
}

dl_norm_result dl_normalise_date(const char *in, size_t len, const dl_date_opts *o,
                                 int32_t *out, const char **reason)
{
    if (reason)
        *reason = NULL;
    *out = 0;
    while (len > 0 && (in[0] == ' ' || in[0] == '\t')) {
        in++;
        len--;
    }
    while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t' || in[len - 1] == '\r'))
        len--;
    int digits = 0, nonzero = 0, alpha = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (is_digit((char)c)) {
            digits = 1;
            nonzero |= c != '0';
        } else if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c >= 0x80) {
            alpha = 1;
        }
    }
    if (!digits && !alpha)
        return DL_NORM_MISSING;
    if (digits && !nonzero && !alpha)
        return DL_NORM_PLACEHOLDER; /* 00/00/0000, 0000-00-00: a zero filler */

    int parsed = 0, found = 0;
    int32_t y = 0, m = 0, d = 0;
    for (size_t k = 0; k < o->n_formats && !found; k++) {
        const dl_date_format *f = &o->formats[k];
        int two;
        if (!match(f, in, len, &y, &m, &d, &two))
            continue;
        parsed = 1;
        if (two) {
            /* The latest century not after max: a birth date 01/02/35 read
             * with max 2024-06-30 is 1935, not 2035. */
            if (o->max_date > 0) {
                int32_t c = o->max_date / 1000000 * 100;
                y += c;
                if (y * 10000 + m * 100 + d > o->max_date)
                    y -= 100;
            } else {
                y += 2000;
            }
        }
        int has_m = (f->has & (HAS(OP_MONTH) | HAS(OP_MONNAME))) != 0;
        int has_d = (f->has & HAS(OP_DAY)) != 0;
        if (dl_date_valid(y, has_m ? m : 1, has_d ? d : 1))
            found = 1;
    }
    if (!found) {
        if (reason)
            *reason = parsed ? "impossible_date" : "unparseable_date";
        return DL_NORM_INVALID;
    }
    int32_t v = y * 10000 + m * 100 + d;
    for (size_t k = 0; k < o->n_placeholders; k++)
        if (o->placeholders[k] == v)
            return DL_NORM_PLACEHOLDER;
    /* A partial date is in range when some day of it is: its last day against
     * the minimum, its first day against the maximum. */
    int32_t latest = y * 10000 + (m ? m : 12) * 100 + (d ? d : 31);
    int32_t earliest = y * 10000 + (m ? m : 1) * 100 + (d ? d : 1);
    if ((o->min_date > 0 && latest < o->min_date) ||
        (o->max_date > 0 && earliest > o->max_date)) {
        if (reason)
            *reason = "out_of_range_date";
        return DL_NORM_INVALID;
    }
    *out = v;
    return DL_NORM_OK;
}

/* ---- weeks ---------------------------------------------------------------- */

/* Days since 1970-01-01 of a civil date (H. Hinnant, "chrono-Compatible
 * Low-Level Date Algorithms"). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

int32_t dl_date_week_monday(int32_t ymd)
{
    int y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
    if (!m || !d)
        return 0;
    int64_t days = days_from_civil(y, m, d);
    /* 1970-01-01 was a Thursday: this makes 0 = Monday (ISO 8601 weeks start
     * on Monday). */
    int64_t dow = ((days % 7) + 7 + 3) % 7;
    civil_from_days(days - dow, &y, &m, &d);
    return y * 10000 + m * 100 + d;
}
