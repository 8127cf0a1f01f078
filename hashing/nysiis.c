/* nysiis.c: NYSIIS phonetic codes of names, jellyfish's variant.
 * Part of hashing/ (prepare): one of the phonetic features encoded per name part. */
#include "dolen/phonetic.h"

#include <stdbool.h>

/* The algorithm is NYSIIS as R. L. Taft published it ("Name Search Techniques",
 * New York State Identification and Intelligence System, 1970) in the form the
 * jellyfish library computes (steps below numbered as there): first and last
 * letters rewritten, then each letter translated, skipping a translation that
 * repeats the key's last character, then final S, AY and A tidied. jellyfish
 * drops Taft's cut to 6 characters; MAX_LEN = 6 restores it.
 *
 * No buffer of the whole name is built (names have no length limit and this runs
 * per row): a "virtual letter" stream applies the prefix and suffix rewrites on
 * the fly, by letter index, over the letters of the input (other bytes are not
 * letters and are skipped). Rewrites never overlap: the prefix rules touch
 * letters 0-2 and the suffix rules the last two, and no suffix pattern can end
 * within a prefix pattern (checked by hand against the lists below). */

enum prefix { PFX_NONE, PFX_MAC, PFX_KN, PFX_K, PFX_PH, PFX_SCH };

typedef struct vstream {
    const unsigned char *s;
    size_t len, pos;    /* byte cursor */
    size_t j, n;        /* index of the next letter; number of letters */
    enum prefix pfx;
    char sfx;           /* 0, or the letter replacing the last two letters */
} vstream;

static bool is_letter(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_vowel(char c)
{
    return c == 'A' || c == 'E' || c == 'I' || c == 'O' || c == 'U';
}

/* The next letter of the input (upper case), or 0 at the end. */
static char next_letter(vstream *v)
{
    while (v->pos < v->len) {
        unsigned char c = v->s[v->pos++];
        if (is_letter(c))
            return (char)(c & ~0x20);
    }
    return 0;
}

/* The next letter after the step 1 and 2 rewrites, or 0 at the end. */
static char vnext(vstream *v)
{
    for (;;) {
        char c = next_letter(v);
        if (c == 0)
            return 0;
        size_t j = v->j++;
        if (v->sfx != 0 && j + 2 >= v->n) {
            if (j + 2 == v->n)
                return v->sfx;
            continue;   /* the second of the two replaced letters */
        }
        switch (v->pfx) {
        case PFX_MAC:   /* MAC -> MCC */
            if (j == 1)
                return 'C';
            break;
        case PFX_KN:    /* KN -> N */
            if (j == 0)
                continue;
            break;
        case PFX_K:     /* K -> C */
            if (j == 0)
                return 'C';
            break;
        case PFX_PH:    /* PH, PF -> FF */
            if (j < 2)
                return 'F';
            break;
        case PFX_SCH:   /* SCH -> SSS */
            if (j == 1 || j == 2)
                return 'S';
            break;
        case PFX_NONE:
            break;
        }
        return c;
    }
}

/* Key under construction: the first CAP characters go to OUT; the last four of
 * the full key are kept aside, as steps 5-7 look at and change only the end
 * (at most three pops before the next look). */
typedef struct key {
    char *out;
    size_t cap, n;
    char tail[4];       /* tail[3] is the last character */
} key;

static void key_push(key *k, char c)
{
    if (k->n < k->cap)
        k->out[k->n] = c;
    k->n++;
    k->tail[0] = k->tail[1];
    k->tail[1] = k->tail[2];
    k->tail[2] = k->tail[3];
    k->tail[3] = c;
}

static void key_pop(key *k)
{
    k->n--;
    k->tail[3] = k->tail[2];
    k->tail[2] = k->tail[1];
    k->tail[1] = k->tail[0];
    k->tail[0] = 0;
}

/* Append the translation T (1 or 2 characters) unless its last character
 * repeats the key's last one. */
static void key_add(key *k, const char *t, size_t tn)
{
    if (t[tn - 1] == k->tail[3])
        return;
    for (size_t i = 0; i < tn; i++)
        key_push(k, t[i]);
}

size_t dl_nysiis(const char *in, size_t len, size_t max_len, char *out, size_t outsz)
{
    const unsigned char *s = (const unsigned char *)in;
    /* First pass: count letters and read the first three and last two. */
    char head[3] = { 0, 0, 0 }, end[2] = { 0, 0 };
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        if (!is_letter(s[i]))
            continue;
        char c = (char)(s[i] & ~0x20);
        if (n < 3)
            head[n] = c;
        end[0] = end[1];
        end[1] = c;
        n++;
    }
    if (n == 0) {
        out[0] = '\0';
        return 0;
    }

    vstream v = { .s = s, .len = len, .n = n, .pfx = PFX_NONE };
    /* Step 1: prefixes, in jellyfish's order of tests. */
    if (head[0] == 'M' && head[1] == 'A' && head[2] == 'C')
        v.pfx = PFX_MAC;
    else if (head[0] == 'K' && head[1] == 'N')
        v.pfx = PFX_KN;
    else if (head[0] == 'K')
        v.pfx = PFX_K;
    else if (head[0] == 'P' && (head[1] == 'H' || head[1] == 'F'))
        v.pfx = PFX_PH;
    else if (head[0] == 'S' && head[1] == 'C' && head[2] == 'H')
        v.pfx = PFX_SCH;
    /* Step 2: suffixes IE, EE -> Y; DT, RT, RD, NT, ND -> D. */
    if (n >= 2) {
        if ((end[0] == 'I' || end[0] == 'E') && end[1] == 'E')
            v.sfx = 'Y';
        else if ((end[1] == 'T' && (end[0] == 'D' || end[0] == 'R' || end[0] == 'N'))
                 || (end[1] == 'D' && (end[0] == 'R' || end[0] == 'N')))
            v.sfx = 'D';
    }

    size_t cap = outsz - 1;
    if (max_len != 0 && max_len < cap)
        cap = max_len;
    key k = { .out = out, .cap = cap };

    /* Window over the virtual letters: prev, cur and two of lookahead. */
    char w0 = vnext(&v);        /* never 0: at least one letter survives step 1-2 */
    char w1 = vnext(&v), w2 = vnext(&v), w3 = vnext(&v);
    key_push(&k, w0);           /* step 3: the key starts with the first letter */

    /* Step 4: translate the remaining letters. SKIP is how many letters the
     * translation consumed beyond the current one. */
    while (w1 != 0) {
        char t[2] = { w1, 0 };
        size_t tn = 1, skip = 0;
        switch (w1) {
        case 'E':
            if (w2 == 'V') {
                t[0] = 'A';
                t[1] = 'F';
                tn = 2;
                skip = 1;
            } else {
                t[0] = 'A';
            }
            break;
        case 'A': case 'I': case 'O': case 'U':
            t[0] = 'A';
            break;
        case 'Q': t[0] = 'G'; break;
        case 'Z': t[0] = 'S'; break;
        case 'M': t[0] = 'N'; break;
        case 'K': t[0] = w2 == 'N' ? 'N' : 'C'; break;
        case 'S':
            if (w2 == 'C' && w3 == 'H') {
                t[1] = 'S';
                tn = 2;
                skip = 2;
            }
            break;
        case 'P':
            if (w2 == 'H') {
                t[0] = 'F';
                skip = 1;
            }
            break;
        case 'H':
            /* H after a consonant, before a consonant, or last, takes the
             * previous letter's sound (A after a vowel); else it stays H. */
            if (!is_vowel(w0) || w2 == 0 || !is_vowel(w2))
                t[0] = is_vowel(w0) ? 'A' : w0;
            break;
        case 'W':
            if (is_vowel(w0))
                t[0] = w0;
            break;
        default:
            break;
        }
        key_add(&k, t, tn);
        for (size_t a = 0; a <= skip; a++) {
            w0 = w1;
            w1 = w2;
            w2 = w3;
            w3 = w3 != 0 ? vnext(&v) : 0;
        }
    }

    /* Step 5: drop a final S; 6: final AY -> Y; 7: drop a final A. */
    if (k.n > 1 && k.tail[3] == 'S')
        key_pop(&k);
    if (k.n > 1 && k.tail[2] == 'A' && k.tail[3] == 'Y') {
        key_pop(&k);
        key_pop(&k);
        key_push(&k, 'Y');
    }
    if (k.n > 1 && k.tail[3] == 'A')
        key_pop(&k);

    /* Every position but the last holds what was pushed there; the last may be
     * the Y that step 6 moved. */
    size_t w = k.n < cap ? k.n : cap;
    if (k.n <= cap)
        out[k.n - 1] = k.tail[3];
    out[w] = '\0';
    return w;
}
