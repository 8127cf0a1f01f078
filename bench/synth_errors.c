/* synth_errors.c: one person as one dataset records them: coverage, then the
 * configured errors (typos, OCR, phonetic spellings, nicknames, marriage names,
 * date slips, house moves, missing values and placeholders).
 * Part of bench/; called per sampled person from the chunk workers. */
#include <string.h>

#include "bench/synth_internal.h"

/* Neighbours of each letter on a UK QWERTY keyboard: what a slipped finger hits. */
static const char *const qwerty[26] = {
    "QWSZ", "VGHN", "XDFV", "SERFCX", "WSDR", "DRTGVC", "FTYHBV", "GYUJNB", "UJKO",
    "HUIKMN", "JIOLM", "KOP", "NJK", "BHJM", "IKLP", "OL", "WA", "EDFT", "AWEDXZ",
    "RFGY", "YHJI", "CFGB", "QASE", "ZSDC", "TGHU", "ASX",
};

static char neighbour(char c, dl__rng *r)
{
    if (c < 'A' || c > 'Z')
        return 'E';
    const char *n = qwerty[c - 'A'];
    return n[dl__rng_below(r, (uint32_t)strlen(n))];
}

bool dl__err_typo(char *buf, dl__rng *r)
{
    size_t n = strlen(buf);
    if (n == 0)
        return false;
    /* A few tries: a transposition of equal letters changes nothing. */
    for (int tries = 0; tries < 4; tries++) {
        size_t i = dl__rng_below(r, (uint32_t)n);
        uint32_t op = dl__rng_below(r, 100);
        if (op < 40) { /* substitution by a neighbouring key */
            char c = neighbour(buf[i], r);
            if (c != buf[i]) {
                buf[i] = c;
                return true;
            }
        } else if (op < 60 && n >= 3) { /* deletion */
            memmove(buf + i, buf + i + 1, n - i);
            return true;
        } else if (op < 75 && n + 2 < DL__NAME_CAP) { /* insertion of a neighbour */
            memmove(buf + i + 1, buf + i, n - i + 1);
            buf[i] = neighbour(buf[i + 1], r);
            return true;
        } else if (n >= 2) { /* transposition of adjacent letters */
            if (i + 1 == n)
                i--;
            if (buf[i] != buf[i + 1]) {
                char t = buf[i];
                buf[i] = buf[i + 1];
                buf[i + 1] = t;
                return true;
            }
        }
    }
    return false;
}

/* Replace LEN bytes at POS of BUF by TO, if it fits. */
static bool splice(char *buf, size_t pos, size_t len, const char *to)
{
    size_t n = strlen(buf), tl = strlen(to);
    if (n - len + tl + 1 > DL__NAME_CAP)
        return false;
    memmove(buf + pos + tl, buf + pos + len, n - pos - len + 1);
    memcpy(buf + pos, to, tl);
    return true;
}

typedef struct rule {
    const char *from, *to;
    char where; /* 'a' anywhere, 's' start, 'e' end */
} rule;

/* Characters that scanning and handwriting recognition confuse. */
static const rule ocr_rules[] = {
    {"RN", "M", 'a'}, {"M", "RN", 'a'}, {"CL", "D", 'a'}, {"D", "CL", 'a'}, {"VV", "W", 'a'},
    {"W", "VV", 'a'}, {"LI", "U", 'a'}, {"U", "LI", 'a'}, {"O", "0", 'a'}, {"I", "1", 'a'},
    {"L", "1", 'a'},  {"S", "5", 'a'},  {"B", "8", 'a'},  {"G", "6", 'a'}, {"Z", "2", 'a'},
    {"E", "F", 'a'},  {"F", "E", 'a'},  {"Q", "O", 'a'},  {"O", "Q", 'a'}, {"C", "G", 'a'},
    {"H", "N", 'a'},  {"N", "H", 'a'},
};

/* Spellings that sound alike in English and Welsh (F and FF, DD and TH). */
static const rule phonetic_rules[] = {
    {"PH", "F", 'a'},   {"F", "PH", 's'},   {"CK", "K", 'a'},  {"C", "K", 'a'},
    {"K", "C", 'a'},    {"Y", "I", 'a'},    {"I", "Y", 'a'},   {"EE", "EA", 'a'},
    {"EA", "EE", 'a'},  {"OU", "OW", 'a'},  {"DD", "TH", 'a'}, {"TH", "DD", 'e'},
    {"FF", "F", 'a'},   {"F", "V", 'a'},    {"V", "F", 'a'},   {"LL", "L", 'a'},
    {"WH", "W", 'a'},   {"AI", "AY", 'a'},  {"AY", "AI", 'a'}, {"IE", "Y", 'e'},
    {"EY", "IE", 'e'},  {"Y", "IE", 'e'},   {"S", "Z", 'a'},   {"Z", "S", 'a'},
    {"MAC", "MC", 's'}, {"MC", "MAC", 's'}, {"SON", "SEN", 'e'}, {"EN", "AN", 'e'},
    {"NN", "N", 'a'},   {"TT", "T", 'a'},   {"SS", "S", 'a'},  {"RR", "R", 'a'},
    {"OR", "AR", 'a'},  {"ER", "AR", 'a'},  {"EI", "IE", 'a'}, {"IE", "EI", 'a'},
    {"W", "U", 'a'},    {"U", "W", 'a'},
};

/* Apply one of the matching (rule, position) pairs, chosen uniformly. */
static bool apply_rules(char *buf, dl__rng *r, const rule *rules, size_t n_rules)
{
    size_t n = strlen(buf);
    uint32_t count = 0;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t pick = pass ? dl__rng_below(r, count) : 0;
        uint32_t seen = 0;
        for (size_t k = 0; k < n_rules; k++) {
            size_t fl = strlen(rules[k].from);
            for (size_t i = 0; i + fl <= n; i++) {
                if (memcmp(buf + i, rules[k].from, fl) != 0)
                    continue;
                if ((rules[k].where == 's' && i != 0) || (rules[k].where == 'e' && i + fl != n))
                    continue;
                /* Never leave a one-letter name or rewrite the whole name. */
                if (fl == n)
                    continue;
                if (pass && seen == pick)
                    return splice(buf, i, fl, rules[k].to);
                seen++;
            }
        }
        if (!pass) {
            count = seen;
            if (count == 0)
                return false;
        }
    }
    return false;
}

bool dl__err_ocr(char *buf, dl__rng *r)
{
    return apply_rules(buf, r, ocr_rules, sizeof ocr_rules / sizeof ocr_rules[0]);
}

bool dl__err_phonetic(char *buf, dl__rng *r)
{
    return apply_rules(buf, r, phonetic_rules, sizeof phonetic_rules / sizeof phonetic_rules[0]);
}

static void set_name(char *buf, uint32_t idx)
{
    if (idx == DL__NONE) {
        buf[0] = '\0';
        return;
    }
    const char *s = dl__synth_names[idx];
    size_t n = strlen(s);
    if (n >= DL__NAME_CAP)
        n = DL__NAME_CAP - 1;
    memcpy(buf, s, n);
    buf[n] = '\0';
}

/* Draw whether error K happens to an eligible record; count it. */
static bool roll(const dl__synth_dataset *d, dl__rng *r, int k, uint64_t *elig)
{
    elig[k]++;
    return dl__rng_chance(r, d->err[k]);
}

static void swap_names(dl__record *o)
{
    char t[DL__NAME_CAP];
    memcpy(t, o->fore, sizeof t);
    memcpy(o->fore, o->sur, sizeof t);
    memcpy(o->sur, t, sizeof t);
}

static int days_in_month(int32_t y, int32_t m)
{
    static const int dm[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : dm[m - 1];
}

void dl__synth_record(const dl__synth_model *m, const dl__synth_dataset *d,
                      const dl__person *p, dl__rng *r, dl__record *o, uint64_t *elig,
                      uint64_t *inj)
{
    const dl_synth_spec *s = m->spec;
#define TRY(k) (roll(d, r, DL_SYNTH_ERR_##k, elig) && (inj[DL_SYNTH_ERR_##k]++, 1))

    /* ---- forename ---- */
    set_name(o->fore, p->fore);
    if (m->fvar_n[p->fore] && TRY(FORENAME_NICKNAME)) {
        const dl__synth_pair *v = &dl__synth_forename_variants[m->fvar_first[p->fore] +
                                                               dl__rng_below(r, m->fvar_n[p->fore])];
        set_name(o->fore, v->b);
    }
    if (m->welsh_n[p->fore] && TRY(FORENAME_WELSH_ENGLISH)) {
        const dl__synth_pair *v = &dl__synth_welsh_english[m->welsh_first[p->fore] +
                                                           dl__rng_below(r, m->welsh_n[p->fore])];
        set_name(o->fore, v->b);
    }
    /* A spelling error that finds nothing to change is not counted. */
    if (roll(d, r, DL_SYNTH_ERR_FORENAME_PHONETIC, elig) && dl__err_phonetic(o->fore, r))
        inj[DL_SYNTH_ERR_FORENAME_PHONETIC]++;
    if (roll(d, r, DL_SYNTH_ERR_FORENAME_TYPO, elig) && dl__err_typo(o->fore, r))
        inj[DL_SYNTH_ERR_FORENAME_TYPO]++;
    if (roll(d, r, DL_SYNTH_ERR_FORENAME_OCR, elig) && dl__err_ocr(o->fore, r))
        inj[DL_SYNTH_ERR_FORENAME_OCR]++;
    if (TRY(FORENAME_MISSING))
        o->fore[0] = '\0';
    else if (TRY(FORENAME_PLACEHOLDER))
        strcpy(o->fore, p->age < 1 && dl__rng_chance(r, 0.5) ? "BABY" : "UNKNOWN");

    set_name(o->middle, p->middle);
    if (p->middle != DL__NONE && TRY(MIDDLE_NAME_MISSING))
        o->middle[0] = '\0';

    /* ---- surname ---- */
    uint32_t sur = p->sur;
    if (p->prev_sur != DL__NONE && TRY(SURNAME_MARRIAGE))
        sur = p->prev_sur;
    set_name(o->sur, sur);
    if (m->svar_n[sur] && TRY(SURNAME_VARIANT)) {
        const dl__synth_pair *v =
            &dl__synth_surname_variants[m->svar_first[sur] + dl__rng_below(r, m->svar_n[sur])];
        set_name(o->sur, v->b);
    }
    if (roll(d, r, DL_SYNTH_ERR_SURNAME_PHONETIC, elig) && dl__err_phonetic(o->sur, r))
        inj[DL_SYNTH_ERR_SURNAME_PHONETIC]++;
    if (roll(d, r, DL_SYNTH_ERR_SURNAME_TYPO, elig) && dl__err_typo(o->sur, r))
        inj[DL_SYNTH_ERR_SURNAME_TYPO]++;
    if (roll(d, r, DL_SYNTH_ERR_SURNAME_OCR, elig) && dl__err_ocr(o->sur, r))
        inj[DL_SYNTH_ERR_SURNAME_OCR]++;
    if (TRY(SURNAME_MISSING))
        o->sur[0] = '\0';
    else if (TRY(SURNAME_PLACEHOLDER))
        strcpy(o->sur, "UNKNOWN");
    if (o->fore[0] && o->sur[0] && TRY(NAME_SWAP))
        swap_names(o);

    /* ---- date of birth ---- */
    dl__civil_from_days(p->dob, &o->y, &o->m, &o->d);
    o->dob_missing = false;
    if (o->d <= 12 && o->d != o->m && TRY(DOB_DAY_MONTH_SWAP)) {
        int32_t t = o->d;
        o->d = o->m;
        o->m = t;
    }
    if (TRY(DOB_YEAR_SLIP)) {
        o->y += dl__rng_chance(r, 0.5) ? 1 : -1;
        if (o->d > days_in_month(o->y, o->m))
            o->d = days_in_month(o->y, o->m);
    }
    if (TRY(DOB_TYPO)) {
        /* A slipped digit of the day, kept a real date. */
        int32_t nd = o->d + (dl__rng_chance(r, 0.5) ? 1 : -1) * (1 + (int32_t)dl__rng_below(r, 2));
        if (nd < 1 || nd > days_in_month(o->y, o->m))
            nd = o->d > 2 ? o->d - 2 : o->d + 2;
        o->d = nd;
    }
    if (TRY(DOB_MISSING)) {
        o->dob_missing = true;
    } else if (TRY(DOB_PLACEHOLDER)) {
        o->y = 1900;
        o->m = 1;
        o->d = 1;
    }

    /* ---- sex ---- */
    o->sex = p->sex;
    if (TRY(SEX_MISSING))
        o->sex = 2;
    else if (TRY(SEX_FLIP))
        o->sex = 1 - p->sex;

    /* ---- address ---- */
    const char *pc = p->postcode;
    o->house = p->house;
    o->street = p->street;
    if (p->moved && TRY(ADDRESS_OLD)) {
        pc = p->old_postcode;
        o->house = p->old_house;
        o->street = p->old_street;
    }
    size_t pl = strlen(pc);
    memcpy(o->postcode, pc, pl + 1);
    if (TRY(POSTCODE_TYPO)) {
        /* One unit letter keyed wrong, still a well-formed postcode. */
        static const char letters[] = "ABDEFGHJLNPQRSTUWXYZ";
        size_t i = pl - 1 - dl__rng_below(r, 2);
        char c;
        do
            c = letters[dl__rng_below(r, 20)];
        while (c == o->postcode[i]);
        o->postcode[i] = c;
    }
    if (TRY(POSTCODE_MISSING))
        o->postcode[0] = '\0';
    else if (TRY(POSTCODE_PLACEHOLDER))
        strcpy(o->postcode, "ZZ99 3VZ"); /* NHS pseudo-postcode: no fixed abode */
    o->address_missing = TRY(ADDRESS_MISSING);

    /* ---- NHS number: taken by this system at all, then errors ---- */
    o->nhs[0] = '\0';
    if (dl__rng_chance(r, d->nhs_rate)) {
        memcpy(o->nhs, p->nhs, sizeof o->nhs);
        if (TRY(NHS_MISSING)) {
            o->nhs[0] = '\0';
        } else if (TRY(NHS_TRANSPOSE)) {
            uint32_t i = dl__rng_below(r, 9);
            if (o->nhs[i] == o->nhs[i + 1])
                i = i ? i - 1 : i + 1;
            char t = o->nhs[i];
            o->nhs[i] = o->nhs[i + 1];
            o->nhs[i + 1] = t;
        }
    }

    /* ---- event date: within event_years before the reference date ---- */
    int32_t span = (int32_t)(d->event_years * 365.2425);
    int32_t lo = s->ref_day - span;
    if (lo < p->dob)
        lo = p->dob;
    o->event = lo + (int32_t)dl__rng_below(r, (uint32_t)(s->ref_day - lo + 1));
#undef TRY
}
