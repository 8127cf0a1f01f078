/* soundex.c: American Soundex codes of names.
 * Part of hashing/ (prepare): one of the phonetic features encoded per name part. */
#include "dolen/phonetic.h"

/* Digit of each byte: '1'..'6' for coded consonants; 0 for vowels, Y and every
 * non-letter (separators: equal codes on both sides are both written); 'h' for
 * H and W, which are transparent. The rule that H and W do not separate while
 * vowels do is the one of the US National Archives' "The Soundex Indexing
 * System" (2007), which jellyfish follows. Lower case maps like upper case. */
#define SX_LETTER(c, v) [c] = v, [(c) + 32] = v
static const char sx_code[256] = {
    SX_LETTER('B', '1'), SX_LETTER('F', '1'), SX_LETTER('P', '1'), SX_LETTER('V', '1'),
    SX_LETTER('C', '2'), SX_LETTER('G', '2'), SX_LETTER('J', '2'), SX_LETTER('K', '2'),
    SX_LETTER('Q', '2'), SX_LETTER('S', '2'), SX_LETTER('X', '2'), SX_LETTER('Z', '2'),
    SX_LETTER('D', '3'), SX_LETTER('T', '3'),
    SX_LETTER('L', '4'),
    SX_LETTER('M', '5'), SX_LETTER('N', '5'),
    SX_LETTER('R', '6'),
    SX_LETTER('H', 'h'), SX_LETTER('W', 'h'),
};
#undef SX_LETTER

static int is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

size_t dl_soundex(const char *in, size_t len, char out[DL_SOUNDEX_SIZE])
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    while (i < len && !is_letter(s[i]))
        i++;
    if (i == len) {
        out[0] = '\0';
        return 0;
    }
    out[0] = (char)(s[i] & ~0x20);      /* a-z -> A-Z */
    /* The first letter's own code counts: "PFISTER" is P236, not P123. */
    char last = sx_code[s[i]];
    size_t n = 1;
    for (i++; i < len && n < 4; i++) {
        char d = sx_code[s[i]];
        if (d == 'h')
            continue;
        if (d != 0 && d != last)
            out[n++] = d;
        last = d;
    }
    while (n < 4)
        out[n++] = '0';
    out[4] = '\0';
    return 4;
}
