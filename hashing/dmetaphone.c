/* dmetaphone.c: Double Metaphone primary and alternate codes of names.
 * Part of hashing/ (prepare): one of the phonetic features encoded per name part. */
#include "dolen/phonetic.h"

#include <stdbool.h>
#include <stddef.h>

/* The rules are Lawrence Philips' Double Metaphone ("The Double Metaphone Search
 * Algorithm", C/C++ Users Journal, June 2000), read as Apache commons-codec's
 * DoubleMetaphone applies them, whose test table (1221 names from Stephen
 * Woodbridge's surnames list) tests/test_phonetic.c checks in full. Where
 * commons-codec differs from Philips' C++ original it is because the original
 * pads the word with spaces, so that looking past the end sees ' '; here, as in
 * commons-codec, looking past either end sees nothing (byte 0 / no match) and
 * the few rules that relied on the padding test for the end explicitly.
 *
 * The word is read in place: bytes are upper-cased on each read (no copy, no
 * allocation), positions are signed so that "two before the start" is simply
 * out of range. Each letter's rules are one function that writes code and
 * returns the position of the next letter to look at. */

typedef struct dm {
    const unsigned char *s;
    ptrdiff_t n;            /* length of the trimmed word */
    bool slavo_germanic;    /* W, K, CZ or WITZ anywhere: turns some rules off */
    char *p, *a;            /* primary and alternate codes */
    size_t pn, an, cap;
} dm;

/* Upper case of the lower-case letters (a-z -> A-Z); 0 for every other byte,
 * which at() keeps as it is. */
#define DM_LOWER(c) [(c) + 32] = (c)
static const unsigned char dm_upper_lc[256] = {
    DM_LOWER('A'), DM_LOWER('B'), DM_LOWER('C'), DM_LOWER('D'), DM_LOWER('E'),
    DM_LOWER('F'), DM_LOWER('G'), DM_LOWER('H'), DM_LOWER('I'), DM_LOWER('J'),
    DM_LOWER('K'), DM_LOWER('L'), DM_LOWER('M'), DM_LOWER('N'), DM_LOWER('O'),
    DM_LOWER('P'), DM_LOWER('Q'), DM_LOWER('R'), DM_LOWER('S'), DM_LOWER('T'),
    DM_LOWER('U'), DM_LOWER('V'), DM_LOWER('W'), DM_LOWER('X'), DM_LOWER('Y'),
    DM_LOWER('Z'),
};
#undef DM_LOWER

/* The upper-cased byte at I, or 0 outside the word. */
static inline char at(const dm *m, ptrdiff_t i)
{
    if (i < 0 || i >= m->n)
        return 0;
    unsigned char c = m->s[i];
    return (char)(dm_upper_lc[c] != 0 ? dm_upper_lc[c] : c);
}

/* Whether the word holds LIT at position I, entirely inside the word. No
 * strlen: at() gives 0 past the end, and 0 never matches a literal's byte. */
static inline bool is_at(const dm *m, ptrdiff_t i, const char *lit)
{
    if (i < 0)
        return false;
    for (; *lit != '\0'; lit++, i++)
        if (at(m, i) != *lit)
            return false;
    return true;
}

/* Whether the word holds, at I, any of the strings of LIST: "|"-separated
 * alternatives, e.g. "ORCHES|ARCHIT|ORCHID". */
static bool is_at_any(const dm *m, ptrdiff_t i, const char *list)
{
    if (i < 0)
        return false;
    while (*list != '\0') {
        ptrdiff_t k = i;
        while (*list != '\0' && *list != '|' && at(m, k) == *list) {
            list++;
            k++;
        }
        if (*list == '\0' || *list == '|')
            return true;            /* one alternative matched to its end */
        while (*list != '\0' && *list != '|')
            list++;
        if (*list == '|')
            list++;
    }
    return false;
}

/* Whether the byte at I is one of SET (never true outside the word). */
static inline bool one_of(const dm *m, ptrdiff_t i, const char *set)
{
    char c = at(m, i);
    for (; *set != '\0'; set++)
        if (*set == c)
            return true;
    return false;
}

static inline bool vowel(const dm *m, ptrdiff_t i)
{
    switch (at(m, i)) {
    case 'A': case 'E': case 'I': case 'O': case 'U': case 'Y':
        return true;
    default:
        return false;
    }
}

/* Append to one code, cut at CAP characters (commons-codec cuts each append
 * the same way, so a two-letter code may be half written at the end). */
static void put(char *buf, size_t *len, size_t cap, const char *code)
{
    while (*code != '\0' && *len < cap)
        buf[(*len)++] = *code++;
}

static void add2(dm *m, const char *primary, const char *alternate)
{
    put(m->p, &m->pn, m->cap, primary);
    put(m->a, &m->an, m->cap, alternate);
}

static void add(dm *m, const char *code)
{
    add2(m, code, code);
}

/* "VAN ", "VON " or "SCH" at the start: Germanic or Dutch names, where CH, G
 * and TH keep a hard sound. */
static bool germanic_start(const dm *m)
{
    return is_at_any(m, 0, "VAN |VON ") || is_at(m, 0, "SCH");
}

/* Skip a doubled letter: the position after I, or after I+1 if it repeats C. */
static ptrdiff_t skip_double(const dm *m, ptrdiff_t i, char c)
{
    return at(m, i + 1) == c ? i + 2 : i + 1;
}

static ptrdiff_t rule_ch(dm *m, ptrdiff_t i)
{
    if (i > 0 && is_at(m, i, "CHAE")) {                 /* MICHAEL */
        add2(m, "K", "X");
        return i + 2;
    }
    if (i == 0 && (is_at_any(m, i + 1, "HARAC|HARIS") || is_at_any(m, i + 1, "HOR|HYM|HIA|HEM"))
        && !is_at(m, 0, "CHORE")) {                     /* Greek: CHARACTER, CHORUS */
        add(m, "K");
        return i + 2;
    }
    /* Germanic and Greek CH, ORCHESTRA, ARCHITECT, ORCHID; CH before T or S;
     * after a vowel or at the start, before L R N M B H F V W, a space or the end
     * (WACHTLER, WECHSLER, but not TICHNER). */
    if (germanic_start(m) || is_at_any(m, i - 2, "ORCHES|ARCHIT|ORCHID")
        || one_of(m, i + 2, "TS")
        || ((one_of(m, i - 1, "AOUE") || i == 0)
            && (one_of(m, i + 2, "LRNMBHFVW ") || i + 1 == m->n - 1))) {
        add(m, "K");
    } else if (i > 0) {
        if (is_at(m, 0, "MC"))
            add(m, "K");                                /* MCHUGH */
        else
            add2(m, "X", "K");
    } else {
        add(m, "X");
    }
    return i + 2;
}

static ptrdiff_t rule_c(dm *m, ptrdiff_t i)
{
    /* Italian CHIA (CHIANTI); Germanic ACH not before I or E (BACHER, MACHER
     * excepted): K. */
    if (is_at(m, i, "CHIA")
        || (i > 1 && !vowel(m, i - 2) && is_at(m, i - 1, "ACH")
            && ((at(m, i + 2) != 'I' && at(m, i + 2) != 'E')
                || is_at_any(m, i - 2, "BACHER|MACHER")))) {
        add(m, "K");
        return i + 2;
    }
    if (i == 0 && is_at(m, i, "CAESAR")) {
        add(m, "S");
        return i + 2;
    }
    if (is_at(m, i, "CH"))
        return rule_ch(m, i);
    if (is_at(m, i, "CZ") && !is_at(m, i - 2, "WICZ")) {    /* CZERNY */
        add2(m, "S", "X");
        return i + 2;
    }
    if (is_at(m, i + 1, "CIA")) {                        /* FOCACCIA */
        add(m, "X");
        return i + 3;
    }
    /* Double C, but not McCLELLAN. */
    if (is_at(m, i, "CC") && !(i == 1 && at(m, 0) == 'M')) {
        if (one_of(m, i + 2, "IEH") && !is_at(m, i + 2, "HU")) {
            /* ACCIDENT, ACCEDE, SUCCEED: KS; BACCI, BERTUCCI: X */
            if ((i == 1 && at(m, 0) == 'A') || is_at_any(m, i - 1, "UCCEE|UCCES"))
                add(m, "KS");
            else
                add(m, "X");
            return i + 3;
        }
        add(m, "K");                                    /* BACCHUS, Pierce's rule */
        return i + 2;
    }
    if (is_at_any(m, i, "CK|CG|CQ")) {
        add(m, "K");
        return i + 2;
    }
    if (is_at_any(m, i, "CI|CE|CY")) {
        if (is_at_any(m, i, "CIO|CIE|CIA"))             /* Italian */
            add2(m, "S", "X");
        else
            add(m, "S");
        return i + 2;
    }
    add(m, "K");
    if (is_at_any(m, i + 1, " C| Q| G"))                /* MAC CAFFREY, MAC GREGOR */
        return i + 3;
    if (one_of(m, i + 1, "CKQ") && !is_at_any(m, i + 1, "CE|CI"))
        return i + 2;
    return i + 1;
}

static ptrdiff_t rule_d(dm *m, ptrdiff_t i)
{
    if (is_at(m, i, "DG")) {
        if (one_of(m, i + 2, "IEY")) {                   /* EDGE */
            add(m, "J");
            return i + 3;
        }
        add(m, "TK");                                   /* EDGAR */
        return i + 2;
    }
    add(m, "T");
    return is_at_any(m, i, "DT|DD") ? i + 2 : i + 1;
}

static ptrdiff_t rule_gh(dm *m, ptrdiff_t i)
{
    if (i > 0 && !vowel(m, i - 1)) {
        add(m, "K");
        return i + 2;
    }
    if (i == 0) {                                       /* GHISLANE, GHOST */
        add(m, at(m, i + 2) == 'I' ? "J" : "K");
        return i + 2;
    }
    /* Silent after B, H, D two or three back, or B, H four back:
     * HUGH, BOUGH, BROUGHTON. */
    if ((i > 1 && one_of(m, i - 2, "BHD")) || (i > 2 && one_of(m, i - 3, "BHD"))
        || (i > 3 && one_of(m, i - 4, "BH")))
        return i + 2;
    /* LAUGH, McLAUGHLIN, COUGH, GOUGH, ROUGH, TOUGH: F; else K unless after I. */
    if (i > 2 && at(m, i - 1) == 'U' && one_of(m, i - 3, "CGLRT"))
        add(m, "F");
    else if (i > 0 && at(m, i - 1) != 'I')
        add(m, "K");
    return i + 2;
}

static ptrdiff_t rule_g(dm *m, ptrdiff_t i)
{
    char next = at(m, i + 1);
    if (next == 'H')
        return rule_gh(m, i);
    if (next == 'N') {
        if (i == 1 && vowel(m, 0) && !m->slavo_germanic)
            add2(m, "KN", "N");
        else if (!is_at(m, i + 2, "EY") && !m->slavo_germanic)
            add2(m, "N", "KN");                          /* not CAGNEY */
        else
            add(m, "KN");
        return i + 2;
    }
    if (is_at(m, i + 1, "LI") && !m->slavo_germanic) {  /* TAGLIARO */
        add2(m, "KL", "L");
        return i + 2;
    }
    /* Initial GY, GES, GEP, ... GER: K or J. */
    if (i == 0 && (next == 'Y' || is_at_any(m, i + 1, "ES|EP|EB|EL|EY|IB|IL|IN|IE|EI|ER"))) {
        add2(m, "K", "J");
        return i + 2;
    }
    /* -GER-, -GY-, but not DANGER, RANGER, MANGER, nor after E or I, nor RGY, OGY. */
    if ((is_at(m, i + 1, "ER") || next == 'Y') && !is_at_any(m, 0, "DANGER|RANGER|MANGER")
        && !one_of(m, i - 1, "EI") && !is_at_any(m, i - 1, "RGY|OGY")) {
        add2(m, "K", "J");
        return i + 2;
    }
    /* Italian BIAGGI; GE, GI, GY. */
    if (one_of(m, i + 1, "EIY") || is_at_any(m, i - 1, "AGGI|OGGI")) {
        if (germanic_start(m) || is_at(m, i + 1, "ET"))
            add(m, "K");
        else if (is_at(m, i + 1, "IER"))
            add(m, "J");
        else
            add2(m, "J", "K");
        return i + 2;
    }
    add(m, "K");
    return skip_double(m, i, 'G');
}

static ptrdiff_t rule_h(dm *m, ptrdiff_t i)
{
    /* Kept only at the start or after a vowel, and before a vowel. */
    if ((i == 0 || vowel(m, i - 1)) && vowel(m, i + 1)) {
        add(m, "H");
        return i + 2;
    }
    return i + 1;
}

static ptrdiff_t rule_j(dm *m, ptrdiff_t i)
{
    if (is_at(m, i, "JOSE") || is_at(m, 0, "SAN ")) {    /* Spanish: JOSE, SAN JACINTO */
        if ((i == 0 && (at(m, i + 4) == ' ' || m->n == 4)) || is_at(m, 0, "SAN "))
            add(m, "H");
        else
            add2(m, "J", "H");
        return i + 1;
    }
    if (i == 0)
        add2(m, "J", "A");                              /* JANKELOWICZ, YANKELOVICH */
    else if (vowel(m, i - 1) && !m->slavo_germanic && one_of(m, i + 1, "AO"))
        add2(m, "J", "H");                              /* Spanish vowel-J-vowel */
    else if (i == m->n - 1)
        add2(m, "J", " ");      /* commons-codec writes a space to the alternate */
    else if (!one_of(m, i + 1, "LTKSNMBZ") && !one_of(m, i - 1, "SKL"))
        add(m, "J");
    return skip_double(m, i, 'J');
}

static ptrdiff_t rule_l(dm *m, ptrdiff_t i)
{
    if (at(m, i + 1) == 'L') {
        /* Spanish CABRILLO, GALLEGOS: silent in the alternate. */
        bool spanish = (i == m->n - 3 && is_at_any(m, i - 1, "ILLO|ILLA|ALLE"))
            || ((is_at_any(m, m->n - 2, "AS|OS") || one_of(m, m->n - 1, "AO"))
                && is_at(m, i - 1, "ALLE"));
        add2(m, "L", spanish ? "" : "L");
        return i + 2;
    }
    add(m, "L");
    return i + 1;
}

static ptrdiff_t rule_m(dm *m, ptrdiff_t i)
{
    add(m, "M");
    /* DUMB, THUMB, DUMBER: the B after M is silent. */
    if (at(m, i + 1) == 'M'
        || (is_at(m, i - 1, "UMB") && (i + 1 == m->n - 1 || is_at(m, i + 2, "ER"))))
        return i + 2;
    return i + 1;
}

static ptrdiff_t rule_r(dm *m, ptrdiff_t i)
{
    /* French final -IER (ROGIER) silent in the primary, but not -MEIER, -MAIER. */
    if (i == m->n - 1 && !m->slavo_germanic && is_at(m, i - 2, "IE")
        && !is_at_any(m, i - 4, "ME|MA"))
        add2(m, "", "R");
    else
        add(m, "R");
    return skip_double(m, i, 'R');
}

static ptrdiff_t rule_sc(dm *m, ptrdiff_t i)
{
    if (at(m, i + 2) == 'H') {
        if (is_at_any(m, i + 3, "OO|ER|EN|UY|ED|EM")) {  /* Dutch SCHOOL, SCHENKER */
            if (is_at_any(m, i + 3, "ER|EN"))
                add2(m, "X", "SK");                     /* SCHERMERHORN, SCHENKER */
            else
                add(m, "SK");
        } else if (i == 0 && !vowel(m, 3) && at(m, 3) != 'W') {
            add2(m, "X", "S");                          /* SCHLESINGER */
        } else {
            add(m, "X");
        }
    } else if (one_of(m, i + 2, "IEY")) {
        add(m, "S");
    } else {
        add(m, "SK");
    }
    return i + 3;
}

static ptrdiff_t rule_s(dm *m, ptrdiff_t i)
{
    if (is_at_any(m, i - 1, "ISL|YSL"))                 /* ISLAND, CARLISLE: silent */
        return i + 1;
    if (i == 0 && is_at(m, i, "SUGAR")) {
        add2(m, "X", "S");
        return i + 1;
    }
    if (is_at(m, i, "SH")) {                            /* Germanic -SHEIM, -SHOLM */
        add(m, is_at_any(m, i + 1, "HEIM|HOEK|HOLM|HOLZ") ? "S" : "X");
        return i + 2;
    }
    if (is_at_any(m, i, "SIO|SIA") || is_at(m, i, "SIAN")) {    /* Italian, Armenian */
        if (m->slavo_germanic)
            add(m, "S");
        else
            add2(m, "S", "X");
        return i + 3;
    }
    /* Initial SM, SN, SL, SW (German SCHM...: SMITH ~ SCHMIDT), and SZ. */
    if ((i == 0 && one_of(m, i + 1, "MNLW")) || at(m, i + 1) == 'Z') {
        add2(m, "S", "X");
        return at(m, i + 1) == 'Z' ? i + 2 : i + 1;
    }
    if (is_at(m, i, "SC"))
        return rule_sc(m, i);
    /* French final -AIS, -OIS: silent in the primary. */
    if (i == m->n - 1 && is_at_any(m, i - 2, "AI|OI"))
        add2(m, "", "S");
    else
        add(m, "S");
    return one_of(m, i + 1, "SZ") ? i + 2 : i + 1;
}

static ptrdiff_t rule_t(dm *m, ptrdiff_t i)
{
    if (is_at(m, i, "TION") || is_at_any(m, i, "TIA|TCH")) {
        add(m, "X");
        return i + 3;
    }
    if (is_at(m, i, "TH") || is_at(m, i, "TTH")) {
        /* THOMAS, THAMES, and Germanic names: T. */
        if (is_at_any(m, i + 2, "OM|AM") || germanic_start(m))
            add(m, "T");
        else
            add2(m, "0", "T");
        return i + 2;
    }
    add(m, "T");
    return one_of(m, i + 1, "TD") ? i + 2 : i + 1;
}

static ptrdiff_t rule_w(dm *m, ptrdiff_t i)
{
    if (is_at(m, i, "WR")) {                            /* WRIGHT */
        add(m, "R");
        return i + 2;
    }
    if (i == 0 && (vowel(m, i + 1) || is_at(m, i, "WH"))) {
        /* WASSERMAN ~ VASSERMAN: A or F; WH: A. */
        if (vowel(m, i + 1))
            add2(m, "A", "F");
        else
            add(m, "A");
        return i + 1;
    }
    /* Polish final W after a vowel (FILIPOWICZ...), -EWSKI, -OWSKY, and SCH-
     * names: F in the alternate only. */
    if ((i == m->n - 1 && vowel(m, i - 1)) || is_at_any(m, i - 1, "EWSKI|EWSKY|OWSKI|OWSKY")
        || is_at(m, 0, "SCH")) {
        add2(m, "", "F");
        return i + 1;
    }
    if (is_at_any(m, i, "WICZ|WITZ")) {                 /* Polish */
        add2(m, "TS", "FX");
        return i + 4;
    }
    return i + 1;
}

static ptrdiff_t rule_x(dm *m, ptrdiff_t i)
{
    if (i == 0) {                                       /* XAVIER */
        add(m, "S");
        return i + 1;
    }
    /* French final -IAUX, -EAUX, -AUX, -OUX: silent. */
    if (!(i == m->n - 1 && (is_at_any(m, i - 3, "IAU|EAU") || is_at_any(m, i - 2, "AU|OU"))))
        add(m, "KS");
    return one_of(m, i + 1, "CX") ? i + 2 : i + 1;
}

static ptrdiff_t rule_z(dm *m, ptrdiff_t i)
{
    if (at(m, i + 1) == 'H') {                          /* Chinese ZHAO */
        add(m, "J");
        return i + 2;
    }
    if (is_at_any(m, i + 1, "ZO|ZI|ZA")
        || (m->slavo_germanic && i > 0 && at(m, i - 1) != 'T'))
        add2(m, "S", "TS");
    else
        add(m, "S");
    return skip_double(m, i, 'Z');
}

/* Philips' test for Slavic and Germanic names: W, K, CZ or WITZ anywhere
 * (WITZ holds a W, so three tests suffice). */
static bool slavo_germanic(const dm *m)
{
    for (ptrdiff_t i = 0; i < m->n; i++) {
        char c = at(m, i);
        if (c == 'W' || c == 'K' || (c == 'C' && at(m, i + 1) == 'Z'))
            return true;
    }
    return false;
}

size_t dl_dmetaphone(const char *in, size_t len, size_t max_len, char *primary,
                     char *alternate, size_t outsz)
{
    const unsigned char *s = (const unsigned char *)in;
    /* Trim bytes <= ' ' at both ends, as Java's String.trim() in commons-codec. */
    while (len > 0 && s[0] <= ' ') {
        s++;
        len--;
    }
    while (len > 0 && s[len - 1] <= ' ')
        len--;

    dm m = { .s = s, .n = (ptrdiff_t)len, .p = primary, .a = alternate };
    m.cap = outsz - 1;
    if (max_len != 0 && max_len < m.cap)
        m.cap = max_len;

    if (len > 0) {
        m.slavo_germanic = slavo_germanic(&m);
        ptrdiff_t i = 0;
        /* Silent first letter: GNOME, KNIGHT, PNEUMONIA, WRIGHT, PSYCHOLOGY. */
        if (is_at_any(&m, 0, "GN|KN|PN|WR|PS"))
            i = 1;
        while (i < m.n && (m.pn < m.cap || m.an < m.cap)) {
            char c = at(&m, i);
            switch (c) {
            case 'A': case 'E': case 'I': case 'O': case 'U': case 'Y':
                if (i == 0)
                    add(&m, "A");   /* vowels count only at the start */
                i++;
                break;
            case 'B':                                   /* -MB handled at M */
                add(&m, "P");
                i = skip_double(&m, i, 'B');
                break;
            case 'C': i = rule_c(&m, i); break;
            case 'D': i = rule_d(&m, i); break;
            case 'F':
                add(&m, "F");
                i = skip_double(&m, i, 'F');
                break;
            case 'G': i = rule_g(&m, i); break;
            case 'H': i = rule_h(&m, i); break;
            case 'J': i = rule_j(&m, i); break;
            case 'K':
                add(&m, "K");
                i = skip_double(&m, i, 'K');
                break;
            case 'L': i = rule_l(&m, i); break;
            case 'M': i = rule_m(&m, i); break;
            case 'N':
                add(&m, "N");
                i = skip_double(&m, i, 'N');
                break;
            case 'P':
                if (at(&m, i + 1) == 'H') {
                    add(&m, "F");
                    i += 2;
                } else {                                /* CAMPBELL, RASPBERRY */
                    add(&m, "P");
                    i = one_of(&m, i + 1, "PB") ? i + 2 : i + 1;
                }
                break;
            case 'Q':
                add(&m, "K");
                i = skip_double(&m, i, 'Q');
                break;
            case 'R': i = rule_r(&m, i); break;
            case 'S': i = rule_s(&m, i); break;
            case 'T': i = rule_t(&m, i); break;
            case 'V':
                add(&m, "F");
                i = skip_double(&m, i, 'V');
                break;
            case 'W': i = rule_w(&m, i); break;
            case 'X': i = rule_x(&m, i); break;
            case 'Z': i = rule_z(&m, i); break;
            default:        /* spaces, punctuation, other bytes: not coded */
                i++;
                break;
            }
        }
    }
    primary[m.pn] = '\0';
    alternate[m.an] = '\0';
    return m.pn;
}
