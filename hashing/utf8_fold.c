/* utf8_fold.c: UTF-8 to upper-case ASCII words, diacritics folded (Siân -> SIAN).
 * Part of hashing/ (prepare): the first step of the name and text normalisers. */
#include <stdint.h>

#include "dolen/normalise.h"

/* What one character does to the output. */
enum { C_SEP = 0, C_DROP = 1 }; /* else: the upper-case ASCII byte to write */

/* ASCII classes: the fast path reads one table entry per byte. Apostrophes
 * (' and `) are dropped so O'NEILL and ONEILL meet; digits are handled apart
 * because DL_FOLD_KEEP_DIGITS decides them per call. */
static const uint8_t ascii_class[128] = {
    ['\''] = C_DROP, ['`'] = C_DROP,
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['A'] = 'A', ['B'] = 'B', ['C'] = 'C', ['D'] = 'D', ['E'] = 'E', ['F'] = 'F',
    ['G'] = 'G', ['H'] = 'H', ['I'] = 'I', ['J'] = 'J', ['K'] = 'K', ['L'] = 'L',
    ['M'] = 'M', ['N'] = 'N', ['O'] = 'O', ['P'] = 'P', ['Q'] = 'Q', ['R'] = 'R',
    ['S'] = 'S', ['T'] = 'T', ['U'] = 'U', ['V'] = 'V', ['W'] = 'W', ['X'] = 'X',
    ['Y'] = 'Y', ['Z'] = 'Z',
    ['a'] = 'A', ['b'] = 'B', ['c'] = 'C', ['d'] = 'D', ['e'] = 'E', ['f'] = 'F',
    ['g'] = 'G', ['h'] = 'H', ['i'] = 'I', ['j'] = 'J', ['k'] = 'K', ['l'] = 'L',
    ['m'] = 'M', ['n'] = 'N', ['o'] = 'O', ['p'] = 'P', ['q'] = 'Q', ['r'] = 'R',
    ['s'] = 'S', ['t'] = 'T', ['u'] = 'U', ['v'] = 'V', ['w'] = 'W', ['x'] = 'X',
    ['y'] = 'Y', ['z'] = 'Z',
};

/* Generated once with Python's unicodedata (NFKD, keep the ASCII letters,
 * upper-case) plus hand mappings for letters that do not decompose (Æ AE, Ø O,
 * Þ TH, ß SS, Ł L, Đ D, Œ OE, ı I, ...). Kept as data, not computed at run
 * time, so no table is built per process and no locale is involved. */
/* U+00C0..U+024F; "" = not a foldable letter (a separator) */
static const char fold_latin[0x190][3] = {
    /* 00C0 */ "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
    /* 00D0 */ "D", "N", "O", "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "TH", "SS",
    /* 00E0 */ "A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
    /* 00F0 */ "D", "N", "O", "O", "O", "O", "O", "", "O", "U", "U", "U", "U", "Y", "TH", "Y",
    /* 0100 */ "A", "A", "A", "A", "A", "A", "C", "C", "C", "C", "C", "C", "C", "C", "D", "D",
    /* 0110 */ "D", "D", "E", "E", "E", "E", "E", "E", "E", "E", "E", "E", "G", "G", "G", "G",
    /* 0120 */ "G", "G", "G", "G", "H", "H", "H", "H", "I", "I", "I", "I", "I", "I", "I", "I",
    /* 0130 */ "I", "I", "IJ", "IJ", "J", "J", "K", "K", "K", "L", "L", "L", "L", "L", "L", "L",
    /* 0140 */ "L", "L", "L", "N", "N", "N", "N", "N", "N", "N", "N", "N", "O", "O", "O", "O",
    /* 0150 */ "O", "O", "OE", "OE", "R", "R", "R", "R", "R", "R", "S", "S", "S", "S", "S", "S",
    /* 0160 */ "S", "S", "T", "T", "T", "T", "T", "T", "U", "U", "U", "U", "U", "U", "U", "U",
    /* 0170 */ "U", "U", "U", "U", "W", "W", "Y", "Y", "Y", "Z", "Z", "Z", "Z", "Z", "Z", "S",
    /* 0180 */ "B", "B", "", "", "", "", "", "C", "C", "D", "D", "D", "D", "", "", "E",
    /* 0190 */ "E", "F", "F", "G", "G", "", "I", "I", "K", "K", "L", "", "M", "N", "N", "O",
    /* 01A0 */ "O", "O", "", "", "", "", "", "", "", "", "", "", "", "", "", "U",
    /* 01B0 */ "U", "", "V", "Y", "Y", "Z", "Z", "", "", "", "", "", "", "", "", "",
    /* 01C0 */ "", "", "", "", "DZ", "DZ", "DZ", "LJ", "LJ", "LJ", "NJ", "NJ", "NJ", "A", "A", "I",
    /* 01D0 */ "I", "O", "O", "U", "U", "U", "U", "U", "U", "U", "U", "U", "U", "", "A", "A",
    /* 01E0 */ "A", "A", "", "", "G", "G", "G", "G", "K", "K", "O", "O", "O", "O", "", "",
    /* 01F0 */ "J", "DZ", "DZ", "DZ", "G", "G", "", "", "N", "N", "A", "A", "", "", "", "",
    /* 0200 */ "A", "A", "A", "A", "E", "E", "E", "E", "I", "I", "I", "I", "O", "O", "O", "O",
    /* 0210 */ "R", "R", "R", "R", "U", "U", "U", "U", "S", "S", "T", "T", "", "", "H", "H",
    /* 0220 */ "", "D", "", "", "", "", "A", "A", "E", "E", "O", "O", "O", "O", "O", "O",
    /* 0230 */ "O", "O", "Y", "Y", "L", "N", "T", "J", "", "", "A", "C", "C", "L", "T", "S",
    /* 0240 */ "Z", "", "", "", "", "", "E", "E", "J", "J", "", "", "R", "R", "Y", "Y",
};
/* U+1E00..U+1EFF; "" = not a foldable letter (a separator) */
static const char fold_ext_additional[0x100][3] = {
    /* 1E00 */ "A", "A", "B", "B", "B", "B", "B", "B", "C", "C", "D", "D", "D", "D", "D", "D",
    /* 1E10 */ "D", "D", "D", "D", "E", "E", "E", "E", "E", "E", "E", "E", "E", "E", "F", "F",
    /* 1E20 */ "G", "G", "H", "H", "H", "H", "H", "H", "H", "H", "H", "H", "I", "I", "I", "I",
    /* 1E30 */ "K", "K", "K", "K", "K", "K", "L", "L", "L", "L", "L", "L", "L", "L", "M", "M",
    /* 1E40 */ "M", "M", "M", "M", "N", "N", "N", "N", "N", "N", "N", "N", "O", "O", "O", "O",
    /* 1E50 */ "O", "O", "O", "O", "P", "P", "P", "P", "R", "R", "R", "R", "R", "R", "R", "R",
    /* 1E60 */ "S", "S", "S", "S", "S", "S", "S", "S", "S", "S", "T", "T", "T", "T", "T", "T",
    /* 1E70 */ "T", "T", "U", "U", "U", "U", "U", "U", "U", "U", "U", "U", "V", "V", "V", "V",
    /* 1E80 */ "W", "W", "W", "W", "W", "W", "W", "W", "W", "W", "X", "X", "X", "X", "Y", "Y",
    /* 1E90 */ "Z", "Z", "Z", "Z", "Z", "Z", "H", "T", "W", "Y", "A", "S", "", "", "SS", "",
    /* 1EA0 */ "A", "A", "A", "A", "A", "A", "A", "A", "A", "A", "A", "A", "A", "A", "A", "A",
    /* 1EB0 */ "A", "A", "A", "A", "A", "A", "A", "A", "E", "E", "E", "E", "E", "E", "E", "E",
    /* 1EC0 */ "E", "E", "E", "E", "E", "E", "E", "E", "I", "I", "I", "I", "O", "O", "O", "O",
    /* 1ED0 */ "O", "O", "O", "O", "O", "O", "O", "O", "O", "O", "O", "O", "O", "O", "O", "O",
    /* 1EE0 */ "O", "O", "O", "O", "U", "U", "U", "U", "U", "U", "U", "U", "U", "U", "U", "U",
    /* 1EF0 */ "U", "U", "Y", "Y", "Y", "Y", "Y", "Y", "Y", "Y", "", "", "", "", "", "",
};

/* The fold of code point CP: a pointer to 1-2 ASCII letters, or C_SEP/C_DROP
 * through *cls with NULL returned. */
static const char *fold_cp(uint32_t cp, int *cls)
{
    *cls = C_SEP;
    if (cp >= 0xC0 && cp < 0x250) {
        const char *s = fold_latin[cp - 0xC0];
        return s[0] ? s : NULL;
    }
    if (cp >= 0x1E00 && cp < 0x1F00) {
        const char *s = fold_ext_additional[cp - 0x1E00];
        return s[0] ? s : NULL;
    }
    /* Apostrophes typed or auto-corrected in many ways: right and left single
     * quotes (Word turns O'Neill into O’Neill), the modifier letter apostrophe,
     * the acute accent used as one, the full-width apostrophe. */
    if (cp == 0x2019 || cp == 0x2018 || cp == 0x02BC || cp == 0x00B4 || cp == 0xFF07 ||
        cp == 0x201B) {
        *cls = C_DROP;
        return NULL;
    }
    /* Combining marks: "Sia" + U+0302 + "n" (decomposed Siân) must equal the
     * precomposed form, so the mark vanishes rather than splitting the word.
     * Zero-width characters, the soft hyphen and the BOM are invisible. */
    if ((cp >= 0x0300 && cp <= 0x036F) || (cp >= 0x1AB0 && cp <= 0x1AFF) ||
        (cp >= 0x1DC0 && cp <= 0x1DFF) || (cp >= 0x20D0 && cp <= 0x20FF) ||
        (cp >= 0xFE20 && cp <= 0xFE2F) || (cp >= 0x200B && cp <= 0x200D) ||
        cp == 0x2060 || cp == 0xFEFF || cp == 0x00AD) {
        *cls = C_DROP;
        return NULL;
    }
    return NULL;
}

/* Decode one UTF-8 sequence at P (N > 0 bytes left, P[0] >= 0x80) into *cp;
 * returns its length, or 0 when malformed (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF, no truncated sequence). */
static size_t utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned char b = p[0];
    size_t need;
    uint32_t v;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (b >= 0xC2 && b <= 0xDF) {
        need = 2;
        v = b & 0x1Fu;
    } else if (b >= 0xE0 && b <= 0xEF) {
        need = 3;
        v = b & 0x0Fu;
        if (b == 0xE0)
            lo = 0xA0; /* overlong */
        else if (b == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (b >= 0xF0 && b <= 0xF4) {
        need = 4;
        v = b & 0x07u;
        if (b == 0xF0)
            lo = 0x90; /* overlong */
        else if (b == 0xF4)
            hi = 0x8F; /* above U+10FFFF */
    } else {
        return 0;
    }
    if (n < need || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xC0u) != 0x80u)
            return 0;
        v = (v << 6) | (p[i] & 0x3Fu);
    }
    *cp = v;
    return need;
}

dl_norm_result dl_fold_utf8(const char *in, size_t len, unsigned flags, char *out, size_t cap,
                            size_t *out_len, const char **reason)
{
    const unsigned char *p = (const unsigned char *)in;
    const int keep_digits = (flags & DL_FOLD_KEEP_DIGITS) != 0;
    size_t o = 0, i = 0;
    int sep = 0; /* a separator is pending before the next letter */
    if (reason)
        *reason = NULL;
    *out_len = 0;
    if (cap == 0) {
        if (reason)
            *reason = "too_long";
        return DL_NORM_INVALID;
    }
    out[0] = '\0';
    const size_t lim = cap - 1; /* bytes available before the terminator */
    while (i < len) {
        char one[2];
        const char *s;
        size_t sn;
        unsigned char b = p[i];
        if (b < 0x80) {
            uint8_t c = ascii_class[b];
            i++;
            if (c == C_DROP)
                continue;
            if (c == C_SEP || (!keep_digits && c <= '9')) {
                sep = 1;
                continue;
            }
            one[0] = (char)c;
            s = one;
            sn = 1;
        } else {
            uint32_t cp;
            size_t k = utf8_decode(p + i, len - i, &cp);
            if (k == 0) {
                if (reason)
                    *reason = "bad_utf8";
                out[o] = '\0';
                return DL_NORM_INVALID;
            }
            i += k;
            int cls;
            if (cp >= 0xFF01 && cp <= 0xFF5E) {
                /* Full-width ASCII forms, as some East Asian input methods type. */
                uint8_t c = ascii_class[cp - 0xFEE0];
                if (c == C_DROP)
                    continue;
                if (c == C_SEP || (!keep_digits && c <= '9')) {
                    sep = 1;
                    continue;
                }
                one[0] = (char)c;
                s = one;
                sn = 1;
            } else if ((s = fold_cp(cp, &cls)) != NULL) {
                sn = s[1] ? 2 : 1;
            } else {
                if (cls == C_SEP)
                    sep = 1;
                continue;
            }
        }
        size_t need = sn + (sep && o > 0);
        if (need > lim - o) {
            out[o] = '\0';
            if (reason)
                *reason = "too_long";
            return DL_NORM_INVALID;
        }
        if (sep && o > 0)
            out[o++] = ' ';
        sep = 0;
        out[o++] = s[0];
        if (sn == 2)
            out[o++] = s[1];
    }
    out[o] = '\0';
    *out_len = o;
    return DL_NORM_OK;
}
