/* postcode.c: UK postcodes validated and split into unit, sector, district, area.
 * Part of hashing/ (prepare): one call per postcode field per row. */
#include <string.h>

#include "dolen/normalise.h"

/* Letter rules of the UK postcode format (Royal Mail, as restated in the ONS
 * Postcode Directory user guide and the UK government data standards catalogue
 * "BS7666" postcode pattern): position 1 never Q V X; position 2 never I J Z;
 * position 3 of A9A only A B C D E F G H J K P S T U W; position 4 of AA9A only
 * A B E H M N P R V W X Y; the two inward letters never C I K M O V. */
static int is_alpha(char c)
{
    return c >= 'A' && c <= 'Z';
}

static int is_num(char c)
{
    return c >= '0' && c <= '9';
}

static int allowed(char c, const char *set)
{
    return is_alpha(c) && strchr(set, c) != NULL;
}

static int pos1(char c)
{
    return is_alpha(c) && !strchr("QVX", c);
}

static int pos2(char c)
{
    return is_alpha(c) && !strchr("IJZ", c);
}

static int inward_letter(char c)
{
    return is_alpha(c) && !strchr("CIKMOV", c);
}

/* Whether OUT[0..N) is a valid outward code; *area_len gets its letter count. */
static int outward_ok(const char *p, size_t n, size_t *area_len)
{
    if (!pos1(p[0]))
        return 0;
    *area_len = 1;
    switch (n) {
    case 2: /* A9 */
        return is_num(p[1]);
    case 3: /* A99, AA9, A9A */
        if (is_num(p[1]))
            return is_num(p[2]) || allowed(p[2], "ABCDEFGHJKPSTUW");
        *area_len = 2;
        return pos2(p[1]) && is_num(p[2]);
    case 4: /* AA99, AA9A */
        *area_len = 2;
        return pos2(p[1]) && is_num(p[2]) &&
               (is_num(p[3]) || allowed(p[3], "ABEHMNPRVWXY"));
    default:
        return 0;
    }
}

dl_norm_result dl_normalise_postcode(const char *in, size_t len, dl_postcode *out,
                                     const char **reason)
{
    char c[8];
    size_t n = 0;
    int bad = 0;
    if (reason)
        *reason = NULL;
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < len; i++) {
        char ch = in[i];
        if (ch == ' ' || ch == '\t' || ch == '\r')
            continue;
        if (ch >= 'a' && ch <= 'z')
            ch = (char)(ch - 'a' + 'A');
        if (n == 7 || !(is_alpha(ch) || is_num(ch))) {
            bad = 1;
            break;
        }
        c[n++] = ch;
    }
    if (!bad && n == 0)
        return DL_NORM_MISSING;
    c[n] = '\0';
    /* NHS pseudo-postcodes ZZ99 3VZ (no fixed abode), ZZ99 3WZ (not known) and
     * the ZZ99 country codes say "no UK address": not a place to link on. */
    if (!bad && n == 7 && memcmp(c, "ZZ99", 4) == 0)
        return DL_NORM_PLACEHOLDER;
    const int giro = !bad && n == 6 && memcmp(c, "GIR0AA", 6) == 0;
    size_t out_n = n - 3, area = 0;
    if (bad || n < 5 ||
        !(is_num(c[out_n]) && inward_letter(c[out_n + 1]) && inward_letter(c[out_n + 2])) ||
        !(giro || outward_ok(c, out_n, &area))) {
        if (reason)
            *reason = "malformed_postcode";
        return DL_NORM_INVALID;
    }
    if (giro)
        area = 2; /* Girobank's non-geographic code; its "area" is G, kept as GI */
    memcpy(out->unit, c, out_n);
    out->unit[out_n] = ' ';
    memcpy(out->unit + out_n + 1, c + out_n, 3);
    memcpy(out->sector, out->unit, out_n + 2);
    memcpy(out->district, c, out_n);
    memcpy(out->area, c, area);
    return DL_NORM_OK;
}
