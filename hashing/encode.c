/* encode.c: normalise a record's fields, derive features, and key them.
 * Part of hashing/; the core of `dolen prepare`, run by every worker thread.
 *
 * Two caches per worker make repeated values cheap. Names, dates and
 * postcodes repeat a great deal, so the first is per field and keyed by the
 * raw value: one entry holds everything the value yields (normalisation
 * result, every token of every feature, the finished Bloom filter), so a row
 * whose values were seen before costs one lookup per field and no MAC. On a
 * miss the features are derived again, and the second cache, per feature
 * and keyed by the feature's value (a sector, a Soundex code), still saves
 * the MACs of values that are new only as a whole. Caches change the speed,
 * never a byte of output. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#include <openssl/crypto.h>

#include "dolen/bloom.h"
#include "dolen/encode.h"
#include "dolen/hexb64.h"
#include "dolen/hll.h"
#include "dolen/hmac.h"
#include "dolen/phonetic.h"
#include "dolen/variants.h"

/* Dates are cached by their normalised value in a table with one entry per
 * possible date of years DATE_YEAR0 .. DATE_YEAR0 + DATE_YEARS - 1, month 0
 * to 12 and day 0 to 31 (0 = unknown): no hashing, no eviction, every date
 * met twice costs no MAC. The table is 16 MB of address space, but memory
 * is taken only for the pages of dates that occur (~5 MB for a century). */
#define DATE_YEAR0 1800
#define DATE_YEARS 400
#define DATE_SLOTS ((size_t)DATE_YEARS * 13 * 32)

/* Second level: a direct-mapped cache of feature value -> token per column.
 * It is consulted only when the field-level cache missed, so it can be
 * small: 1024 slots of 64 bytes, 64 KiB per column and thread. Values longer
 * than the slot are not cached. */
#define L2_SLOTS 1024
#define L2_VALUE_MAX 46

/* A field-level cache whose hit rate is below 1 in 4 after this many lookups
 * (NHS numbers: nearly every value is new) is switched off and its memory
 * released: probing it would cost more than it saves. */
#define ADAPT_LOOKUPS 16384

/* The Bloom q-gram caches see only field-level misses: names have a few
 * hundred distinct bigrams, so 2048 entries hold them. Salted filters are
 * computed on every row and keep the default size (salts multiply q-grams). */
#define BLOOM_CACHE_UNSALTED 2048

typedef struct cache_slot {
    uint64_t hash;
    uint64_t token;
    uint8_t len;
    char value[L2_VALUE_MAX + 1];
} cache_slot;

typedef struct column {
    char name[80];
    int field;              /* spec field index; -1 for the record-level clk */
    dl_feature_kind kind;
    bool single;            /* a token column given one value per record */
    bool filter;
    bool cached;            /* its value lives in the field-level cache entry */
    bool l2;                /* worth a second-level cache (values repeat) */
    size_t words;           /* filter words after hardening */
    dl_hmac_key mac;        /* token subkey (token columns) */
    dl_bloom_enc *bloom;    /* field-level filter encoder (bloom columns) */
} column;

/* What a field contributes, for the field-level cache (immutable). */
typedef struct field_info {
    size_t first_col, n_cols;  /* a field's columns are contiguous */
    size_t n_tok_cols;         /* token columns (all cached) */
    int bloom_col;             /* its Bloom column, -1 if none */
    bool bloom_cached;         /* the Bloom column is unsalted: cached */
    bool needs_norm;           /* its normalised value is read by row-level work
                                  (a salt, the record-level clk, its salted filter) */
    bool by_date;              /* a date: the cache is a table by date, not by raw value */
    size_t slots;              /* field-level cache slots (power of two; 0 = none) */
    size_t raw_max;            /* longest raw value cached */
    size_t tok_cap;            /* tokens an entry holds */
    /* entry layout: header, per-column token counts, raw bytes, tokens, filter */
    size_t off_counts, off_raw, off_tokens, off_filter, stride;
} field_info;

struct dl_encoder {
    const dl_spec *spec;
    size_t n_columns;
    column *cols;
    field_info *fi;         /* per field */
    /* per field: compiled date formats, date options, name options */
    dl_date_format (*formats)[16];
    dl_date_opts *date_opts;
    int32_t (*date_placeholders)[16];
    dl_name_opts *name_opts;
    int *salt_of;           /* per field: index of its salt field or -1 */
    /* record-level CLK: one encoder per contributing field, same filter */
    dl_bloom_enc **clk;     /* per field (NULL when not in the clk) */
    size_t clk_raw_words;   /* filter words before hardening */
    size_t clk_words;
    size_t raw_words_max;   /* largest filter before hardening (scratch size) */
};

/* A field's normalised form, kept while its features are derived. */
typedef struct norm_value {
    dl_norm_result result;
    const char *reason;
    dl_name_norm name;      /* names, text */
    int32_t date;           /* date: YYYYMMDD, month/day may be 0 */
    char sex;
    dl_postcode pc;
    char nhs[11];
} norm_value;

/* Header of a field-level cache entry; the rest of the entry is laid out by
 * field_info. Two ways per set: a value met twice in a row-mix of Zipf-like
 * names should not be evicted by one rare name that hashes alike. */
typedef struct entry_head {
    uint64_t hash;          /* of the raw value, never 0; 0 = empty */
    const char *reason;
    int32_t date;
    uint8_t raw_len;
    uint8_t result;
    char sex;
    uint8_t recent;         /* this way was used after the other one */
    uint8_t counted;        /* its tokens went to the distinct counters */
} entry_head;

typedef struct field_cache {
    uint8_t *slots;         /* info->slots entries of info->stride bytes */
    size_t map_len;         /* bytes mapped by table_alloc(); 0: from calloc */
    uint64_t lookups, hits;
    bool off;
    size_t used_lo, used_hi; /* date tables: the entries ever written */
} field_cache;

/* A date field's value normalised ahead by dl_encode_prefetch(), for the
 * next dl_encode_record() to take when its raw value is the same bytes. */
#define AHEAD_RAW_MAX 32
typedef struct date_ahead {
    bool valid;
    uint8_t len;
    char raw[AHEAD_RAW_MAX];
    dl_norm_result result;
    const char *reason;
    int32_t date;
} date_ahead;

/* A token whose MAC waits for a second one to be computed with it
 * (dl_hmac_token2): the places it goes to hold 0 meanwhile. */
typedef struct pending_mac {
    const dl_hmac_key *key;
    size_t col;
    uint64_t *cell;         /* the cell's token */
    uint64_t *l2;           /* the second-level cache slot's token, or NULL */
    uint64_t *entry;        /* the field-level cache entry's copy, or NULL */
    uint8_t len;
    char msg[DL_HMAC_TOKEN2_MAX];
} pending_mac;

struct dl_encode_ctx {
    const dl_encoder *e;
    date_ahead *ahead;               /* per field */
    pending_mac *pending;            /* n_columns */
    size_t n_pending;
    size_t *pending_of;              /* per column: its pending index + 1, or 0 */
    bool defer;                      /* MACs of single columns may wait */
    bool no_pairs;                   /* tests: never let them wait */
    cache_slot *cache;               /* n_columns * L2_SLOTS */
    field_cache *fc;                 /* per field */
    dl_bloom_cache **bloom_caches;   /* per column (field-level filters) */
    dl_bloom_cache **clk_caches;     /* per field (record-level clk) */
    uint64_t *filters;               /* per column: its words, at filter_off[c] */
    size_t *filter_off;
    uint64_t *scratch;               /* raw (unhardened) filter */
    norm_value *norm;                /* per field */
    uint8_t **count_flag;            /* per field: the entry's counted flag, or NULL */
    uint64_t *hashes;                /* per field: hash of the raw value, 0 = not cached */
    struct dl_encoded_cell *cells;
    dl_field_result *fields;
    int32_t *dates;
    char *sexes;
    dl_encoded out;
};

/* ---- small helpers ---------------------------------------------------- */

/* A fast non-cryptographic hash for cache indexes (not for tokens). */
static uint64_t fast_hash(const char *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h = (h ^ v) * 0xbf58476d1ce4e5b9ull;
        h ^= h >> 31;
        p += 8;
        n -= 8;
    }
    uint64_t v = 0;
    memcpy(&v, p, n);
    h = (h ^ v) * 0x94d049bb133111ebull;
    h ^= h >> 29;
    return h;
}

static uint64_t token_of(dl_encode_ctx *c, size_t col, const char *v, size_t n)
{
    const column *k = &c->e->cols[col];
    if (!k->l2 || n > L2_VALUE_MAX)
        return dl_hmac_token(&k->mac, v, n);
    uint64_t h = fast_hash(v, n);
    cache_slot *s = &c->cache[col * L2_SLOTS + (h & (L2_SLOTS - 1))];
    if (s->hash == h && s->len == n && s->token && memcmp(s->value, v, n) == 0)
        return s->token;
    uint64_t t = dl_hmac_token(&k->mac, v, n);
    s->hash = h;
    s->len = (uint8_t)n;
    memcpy(s->value, v, n);
    s->token = t;
    return t;
}

/* Add a token to a cell's set, keeping it free of repeats. */
static void cell_add(struct dl_encoded_cell *cell, uint64_t t)
{
    for (size_t i = 0; i < cell->n_tokens; i++)
        if (cell->tokens[i] == t)
            return;
    if (cell->n_tokens < DL_TOKEN_SET_MAX)
        cell->tokens[cell->n_tokens++] = t;
}

/* The token of value V of column COL, as token_of() gives it, but when it
 * needs a MAC and may wait, it is queued (with a 0 placeholder in the cell
 * and in the second-level slot) for flush_pending() to pair with another.
 * Only a column with one value per record waits, into its empty cell, so
 * the cell's order and repeat check are as if the token were known. */
static void cell_add_value(dl_encode_ctx *c, size_t col, const char *v, size_t n)
{
    if (!n)
        return;
    const column *k = &c->e->cols[col];
    struct dl_encoded_cell *cell = &c->cells[col];
    if (!c->defer || !k->single || cell->n_tokens || n > DL_HMAC_TOKEN2_MAX) {
        cell_add(cell, token_of(c, col, v, n));
        return;
    }
    cache_slot *s = NULL;
    if (k->l2 && n <= L2_VALUE_MAX) {
        uint64_t h = fast_hash(v, n);
        s = &c->cache[col * L2_SLOTS + (h & (L2_SLOTS - 1))];
        if (s->hash == h && s->len == n && s->token && memcmp(s->value, v, n) == 0) {
            cell_add(cell, s->token);
            return;
        }
        /* Token 0 marks the slot as not yet usable: a lookup misses it. */
        s->hash = h;
        s->len = (uint8_t)n;
        memcpy(s->value, v, n);
        s->token = 0;
    }
    pending_mac *pm = &c->pending[c->n_pending++];
    pm->key = &k->mac;
    pm->col = col;
    pm->len = (uint8_t)n;
    memcpy(pm->msg, v, n);
    cell->tokens[0] = 0;
    cell->n_tokens = 1;
    pm->cell = &cell->tokens[0];
    pm->l2 = s ? &s->token : NULL;
    pm->entry = NULL;
    c->pending_of[col] = c->n_pending;
}

static void pending_put(const pending_mac *pm, uint64_t t)
{
    *pm->cell = t;
    if (pm->l2)
        *pm->l2 = t;
    if (pm->entry)
        *pm->entry = t;
}

/* Compute the queued MACs two at a time and put the tokens in place. */
static void flush_pending(dl_encode_ctx *c)
{
    size_t i = 0;
    for (; i + 2 <= c->n_pending; i += 2) {
        const pending_mac *a = &c->pending[i], *b = &c->pending[i + 1];
        uint64_t t[2];
        dl_hmac_token2(a->key, a->msg, a->len, b->key, b->msg, b->len, t);
        pending_put(a, t[0]);
        pending_put(b, t[1]);
    }
    if (i < c->n_pending) {
        const pending_mac *a = &c->pending[i];
        pending_put(a, dl_hmac_token(a->key, a->msg, a->len));
    }
    for (i = 0; i < c->n_pending; i++)
        c->pending_of[c->pending[i].col] = 0;
    c->n_pending = 0;
}

/* The letters of a name without its spaces, for the phonetic codes: "MARY
 * ANNE" is coded as MARYANNE, so a name's code does not depend on spacing. */
static size_t letters_only(const dl_name_norm *nm, char *out)
{
    size_t n = 0;
    for (size_t i = 0; i < nm->len; i++)
        if (nm->full[i] != ' ')
            out[n++] = nm->full[i];
    out[n] = '\0';
    return n;
}

/* ---- normalisation ---------------------------------------------------- */

static void normalise_field(const dl_encoder *e, size_t f, const char *v, size_t n,
                            norm_value *out)
{
    const dl_spec_field *sf = &e->spec->fields[f];
    out->reason = NULL;
    switch (sf->type) {
    case DL_FT_GIVEN_NAME:
    case DL_FT_SURNAME:
        out->result = dl_normalise_name(v, n, &e->name_opts[f], &out->name, &out->reason);
        break;
    case DL_FT_TEXT:
        out->result = dl_normalise_text(v, n, &e->name_opts[f], &out->name, &out->reason);
        break;
    case DL_FT_DATE:
        out->result = dl_normalise_date(v, n, &e->date_opts[f], &out->date, &out->reason);
        break;
    case DL_FT_SEX:
        out->result = dl_normalise_sex(v, n, &out->sex, &out->reason);
        break;
    case DL_FT_UK_POSTCODE:
        out->result = dl_normalise_postcode(v, n, &out->pc, &out->reason);
        break;
    case DL_FT_NHS_NUMBER:
        out->result = dl_normalise_nhs(v, n, out->nhs, &out->reason);
        break;
    default:
        out->result = DL_NORM_MISSING;
        break;
    }
}

/* A date as the text "%08d" gives, for non-negative YYYYMMDD; printf for
 * anything else, so the bytes never differ from the formatted form. */
static size_t date_text(int32_t d, char *buf)
{
    if (d >= 0 && d <= 99999999)
        return dl_dec_padded((unsigned)d, 8, buf);
    return (size_t)snprintf(buf, 16, "%08d", (int)d);
}

/* The salt a field's filter is hardened with: the salting field's
 * normalised value, but only the year of a date, so that a typo in the day
 * of birth does not make two records of one person unrelated. */
static size_t salt_value(const dl_encoder *e, const dl_encode_ctx *c, size_t f, char *buf)
{
    int s = e->salt_of[f];
    if (s < 0)
        return 0;
    const norm_value *nv = &c->norm[s];
    if (nv->result != DL_NORM_OK)
        return 0;
    switch (e->spec->fields[s].type) {
    case DL_FT_DATE: {
        int y = (int)(nv->date / 10000);
        if (y >= 0 && y <= 9999)
            return dl_dec_padded((unsigned)y, 4, buf);
        return (size_t)snprintf(buf, 16, "%04d", y);
    }
    case DL_FT_SEX:
        buf[0] = nv->sex;
        return 1;
    case DL_FT_UK_POSTCODE: {
        size_t n = strnlen(nv->pc.district, 15);
        memcpy(buf, nv->pc.district, n);
        return n;
    }
    case DL_FT_NHS_NUMBER: {
        size_t n = strnlen(nv->nhs, 15);
        memcpy(buf, nv->nhs, n);
        return n;
    }
    default:
        memcpy(buf, nv->name.full, nv->name.len);
        return nv->name.len;
    }
}

/* ---- features --------------------------------------------------------- */

static void name_features(dl_encode_ctx *c, size_t col, dl_feature_kind kind,
                          const dl_spec_field *sf, const dl_name_norm *nm)
{
    char buf[DL_NAME_MAX + 1];
    switch (kind) {
    case DL_FEAT_TOKEN:
        cell_add_value(c, col, nm->full, nm->len);
        break;
    case DL_FEAT_PARTS:
        for (size_t i = 0; i < nm->n_parts; i++)
            cell_add_value(c, col, nm->full + nm->parts[i].off, nm->parts[i].len);
        break;
    case DL_FEAT_INITIAL:
        cell_add_value(c, col, nm->full, 1);
        break;
    case DL_FEAT_SOUNDEX: {
        char code[DL_SOUNDEX_SIZE];
        size_t n = letters_only(nm, buf);
        cell_add_value(c, col, code, dl_soundex(buf, n, code));
        break;
    }
    case DL_FEAT_NYSIIS: {
        char code[DL_NAME_MAX + 1];
        size_t n = letters_only(nm, buf);
        cell_add_value(c, col, code, dl_nysiis(buf, n, 0, code, sizeof code));
        break;
    }
    case DL_FEAT_DMETAPHONE: {
        char p[DL_DMETAPHONE_SIZE], a[DL_DMETAPHONE_SIZE];
        size_t n = letters_only(nm, buf);
        if (dl_dmetaphone(buf, n, 4, p, a, sizeof p) == 0)
            break;
        cell_add_value(c, col, p, strlen(p));
        cell_add_value(c, col, a, strlen(a));
        break;
    }
    case DL_FEAT_VARIANT: {
        /* The groups of each part; a part in no group stands for itself, so
         * names that agree exactly always agree on variant too. */
        dl_variant_table t = sf->type == DL_FT_SURNAME ? DL_VARIANTS_SURNAME : DL_VARIANTS_GIVEN;
        for (size_t i = 0; i < nm->n_parts; i++) {
            const char *part = nm->full + nm->parts[i].off;
            size_t plen = nm->parts[i].len;
            const char *groups[DL_TOKEN_SET_MAX];
            size_t ng = dl_name_variants(t, part, plen, groups, DL_TOKEN_SET_MAX);
            if (ng == 0)
                cell_add_value(c, col, part, plen);
            for (size_t g = 0; g < ng; g++)
                cell_add_value(c, col, groups[g], strlen(groups[g]));
        }
        break;
    }
    default:
        break;
    }
}

static void date_features(dl_encode_ctx *c, size_t col, dl_feature_kind kind, int32_t d)
{
    int y = (int)(d / 10000), m = (int)(d / 100 % 100), day = (int)(d % 100);
    if (d < 0 || y > 9999) {
        /* Not a date the parser makes; keep printf's exact text anyway. */
        char buf[32];
        int n = 0;
        switch (kind) {
        case DL_FEAT_TOKEN:
            if (m && day)
                n = snprintf(buf, sizeof buf, "%08d", (int)d);
            break;
        case DL_FEAT_YEAR:
            n = snprintf(buf, sizeof buf, "%04d", y);
            break;
        case DL_FEAT_MONTH:
            if (m)
                n = snprintf(buf, sizeof buf, "%02d", m);
            break;
        case DL_FEAT_DAY:
            if (day)
                n = snprintf(buf, sizeof buf, "%02d", day);
            break;
        case DL_FEAT_SWAP:
            if (m && day)
                n = snprintf(buf, sizeof buf, "%04d%02d%02d", y, m < day ? m : day,
                             m < day ? day : m);
            break;
        case DL_FEAT_YEAR_PM1:
            n = snprintf(buf, sizeof buf, "E%d", y >> 1);
            cell_add_value(c, col, buf, (size_t)n);
            n = snprintf(buf, sizeof buf, "O%d", (y + 1) >> 1);
            break;
        default:
            break;
        }
        if (n > 0)
            cell_add_value(c, col, buf, (size_t)n);
        return;
    }
    char buf[24];
    size_t n = 0;
    switch (kind) {
    case DL_FEAT_TOKEN:
        if (m && day)
            n = dl_dec_padded((unsigned)d, 8, buf);
        break;
    case DL_FEAT_YEAR:
        n = dl_dec_padded((unsigned)y, 4, buf);
        break;
    case DL_FEAT_MONTH:
        if (m)
            n = dl_dec_padded((unsigned)m, 2, buf);
        break;
    case DL_FEAT_DAY:
        if (day)
            n = dl_dec_padded((unsigned)day, 2, buf);
        break;
    case DL_FEAT_SWAP:
        /* Day and month in canonical order: 1980-03-07 and 1980-07-03 agree. */
        if (m && day) {
            n = dl_dec_padded((unsigned)y, 4, buf);
            n += dl_dec_padded((unsigned)(m < day ? m : day), 2, buf + n);
            n += dl_dec_padded((unsigned)(m < day ? day : m), 2, buf + n);
        }
        break;
    case DL_FEAT_YEAR_PM1:
        /* Two bucketings of the year, by pairs starting on even and on odd
         * years: two years differ by at most one exactly when they share a
         * bucket in one of the two (docs/spec.md). */
        buf[0] = 'E';
        n = 1 + dl_dec_u64((unsigned)(y >> 1), buf + 1);
        cell_add_value(c, col, buf, n);
        buf[0] = 'O';
        n = 1 + dl_dec_u64((unsigned)((y + 1) >> 1), buf + 1);
        break;
    default:
        break;
    }
    if (n > 0)
        cell_add_value(c, col, buf, n);
}

static void postcode_features(dl_encode_ctx *c, size_t col, dl_feature_kind kind,
                              const dl_postcode *pc)
{
    const char *v = NULL;
    switch (kind) {
    case DL_FEAT_TOKEN:
        v = pc->unit;
        break;
    case DL_FEAT_SECTOR:
        v = pc->sector;
        break;
    case DL_FEAT_DISTRICT:
        v = pc->district;
        break;
    case DL_FEAT_AREA:
        v = pc->area;
        break;
    default:
        return;
    }
    cell_add_value(c, col, v, strlen(v));
}

/* A field-level filter into DST (the column's words). */
static void bloom_column(dl_encode_ctx *c, size_t col, const dl_name_norm *nm, size_t f,
                         uint64_t *dst)
{
    const dl_encoder *e = c->e;
    const column *k = &e->cols[col];
    size_t raw_words = dl_bloom_enc_opts(k->bloom)->bits / 64;
    memset(c->scratch, 0, raw_words * sizeof(uint64_t));
    char salt[DL_NAME_MAX + 1];
    size_t slen = salt_value(e, c, f, salt);
    dl_bloom_add(k->bloom, c->bloom_caches[col], nm->full, nm->len, salt, slen, c->scratch);
    dl_bloom_finish(k->bloom, c->scratch, dst);
    c->cells[col].has_filter = true;
    c->cells[col].filter = dst;
}

/* The record-level CLK: every contributing field's value into one filter,
 * each field with its own subkey (Schnell et al. 2011's record-level CLK). */
static void clk_column(dl_encode_ctx *c, size_t col)
{
    const dl_encoder *e = c->e;
    const dl_spec *s = e->spec;
    memset(c->scratch, 0, e->clk_raw_words * sizeof(uint64_t));
    bool any = false;
    dl_bloom_enc *last = NULL;
    for (size_t i = 0; i < s->n_clk_fields; i++) {
        size_t f = s->clk_fields[i];
        const norm_value *nv = &c->norm[f];
        if (nv->result != DL_NORM_OK)
            continue;
        char text[DL_NAME_MAX + 1];
        size_t n;
        switch (s->fields[f].type) {
        case DL_FT_DATE:
            n = date_text(nv->date, text);
            break;
        case DL_FT_SEX:
            text[0] = nv->sex;
            n = 1;
            break;
        case DL_FT_UK_POSTCODE:
            n = strnlen(nv->pc.unit, sizeof nv->pc.unit);
            memcpy(text, nv->pc.unit, n);
            break;
        case DL_FT_NHS_NUMBER:
            n = strnlen(nv->nhs, sizeof nv->nhs);
            memcpy(text, nv->nhs, n);
            break;
        default:
            n = nv->name.len;
            memcpy(text, nv->name.full, n);
            break;
        }
        dl_bloom_add(e->clk[f], c->clk_caches[f], text, n, NULL, 0, c->scratch);
        last = e->clk[f];
        any = true;
    }
    if (!any)
        return;
    uint64_t *dst = c->filters + c->filter_off[col];
    dl_bloom_finish(last, c->scratch, dst);
    c->cells[col].has_filter = true;
    c->cells[col].filter = dst;
}

/* ---- the field-level cache ---------------------------------------------- */

static entry_head *head_of(uint8_t *ent)
{
    return (entry_head *)(void *)ent;
}

/* Derive the cached columns of field F from c->norm[f] (a usable value). */
static void field_columns(dl_encode_ctx *c, size_t f)
{
    const dl_encoder *e = c->e;
    const field_info *fi = &e->fi[f];
    const norm_value *nv = &c->norm[f];
    const dl_spec_field *sf = &e->spec->fields[f];
    for (size_t col = fi->first_col; col < fi->first_col + fi->n_cols; col++) {
        const column *k = &e->cols[col];
        if (!k->cached)
            continue;
        switch (sf->type) {
        case DL_FT_GIVEN_NAME:
        case DL_FT_SURNAME:
        case DL_FT_TEXT:
            if (k->filter)
                bloom_column(c, col, &nv->name, f, c->filters + c->filter_off[col]);
            else
                name_features(c, col, k->kind, sf, &nv->name);
            break;
        case DL_FT_DATE:
            date_features(c, col, k->kind, nv->date);
            break;
        case DL_FT_SEX:
            cell_add_value(c, col, &nv->sex, 1);
            break;
        case DL_FT_UK_POSTCODE:
            postcode_features(c, col, k->kind, &nv->pc);
            break;
        case DL_FT_NHS_NUMBER:
            cell_add_value(c, col, nv->nhs, 10);
            break;
        default:
            break;
        }
    }
}

/* The entry of raw value V (N bytes, hash H) in its two-way set, or NULL
 * with *VICTIM set to the way a new entry should take. */
static uint8_t *entry_find(const field_info *fi, field_cache *fc, uint64_t h, const char *v,
                           size_t n, uint8_t **victim)
{
    size_t set = (size_t)(h >> 1) & (fi->slots - 1) & ~(size_t)1;
    uint8_t *w0 = fc->slots + set * fi->stride, *w1 = w0 + fi->stride;
    entry_head *h0 = head_of(w0), *h1 = head_of(w1);
    if (h0->hash == h && h0->raw_len == n && memcmp(w0 + fi->off_raw, v, n) == 0) {
        h0->recent = 1;
        h1->recent = 0;
        return w0;
    }
    if (h1->hash == h && h1->raw_len == n && memcmp(w1 + fi->off_raw, v, n) == 0) {
        h1->recent = 1;
        h0->recent = 0;
        return w1;
    }
    if (h0->hash == 0)
        *victim = w0;
    else if (h1->hash == 0)
        *victim = w1;
    else
        *victim = h0->recent ? w1 : w0;
    return NULL;
}

/* Fill the result of field F from the entry ENT. */
static void entry_load(dl_encode_ctx *c, size_t f, uint8_t *ent)
{
    const dl_encoder *e = c->e;
    const field_info *fi = &e->fi[f];
    entry_head *hd = head_of(ent);
    c->fields[f].result = (dl_norm_result)hd->result;
    c->fields[f].reason = hd->reason;
    c->dates[f] = hd->date;
    c->sexes[f] = hd->sex;
    c->count_flag[f] = &hd->counted;
    if (hd->result != DL_NORM_OK)
        return;
    const uint8_t *counts = ent + fi->off_counts;
    const uint64_t *tok = (const uint64_t *)(const void *)(ent + fi->off_tokens);
    size_t j = 0;
    for (size_t col = fi->first_col; col < fi->first_col + fi->n_cols; col++) {
        struct dl_encoded_cell *cell = &c->cells[col];
        if (e->cols[col].filter) {
            if (fi->bloom_cached) {
                cell->has_filter = true;
                cell->filter = (const uint64_t *)(const void *)(ent + fi->off_filter);
            }
            continue;
        }
        uint8_t k = counts[j++];
        cell->n_tokens = k;
        memcpy(cell->tokens, tok, k * sizeof *tok);
        tok += k;
    }
}

/* Keep field F's result (just computed) in the entry ENT for raw value V;
 * leaves ENT empty when the value has more tokens than an entry holds. */
static void entry_store(dl_encode_ctx *c, size_t f, uint8_t *ent, uint64_t h, const char *v,
                        size_t n)
{
    const dl_encoder *e = c->e;
    const field_info *fi = &e->fi[f];
    entry_head *hd = head_of(ent);
    const norm_value *nv = &c->norm[f];
    hd->hash = 0;
    size_t total = 0;
    if (nv->result == DL_NORM_OK) {
        uint8_t *counts = ent + fi->off_counts;
        uint64_t *tok = (uint64_t *)(void *)(ent + fi->off_tokens);
        size_t j = 0;
        for (size_t col = fi->first_col; col < fi->first_col + fi->n_cols; col++) {
            const struct dl_encoded_cell *cell = &c->cells[col];
            if (e->cols[col].filter) {
                if (fi->bloom_cached)
                    memcpy(ent + fi->off_filter, cell->filter,
                           e->cols[col].words * sizeof(uint64_t));
                continue;
            }
            if (total + cell->n_tokens > fi->tok_cap)
                return;
            counts[j++] = cell->n_tokens;
            memcpy(tok + total, cell->tokens, cell->n_tokens * sizeof *tok);
            if (c->pending_of[col]) /* its token is still to come: there too */
                c->pending[c->pending_of[col] - 1].entry = tok + total;
            total += cell->n_tokens;
        }
    }
    memcpy(ent + fi->off_raw, v, n);
    hd->raw_len = (uint8_t)n;
    hd->result = (uint8_t)nv->result;
    hd->reason = nv->reason;
    hd->date = c->dates[f];
    hd->sex = c->sexes[f];
    hd->counted = 0;
    hd->recent = 1;
    hd->hash = h;
    c->count_flag[f] = &hd->counted;
    if (fi->by_date)
        return;
    /* The other way of the set is now the older one. */
    bool first_way = (size_t)(ent - c->fc[f].slots) / fi->stride % 2 == 0;
    entry_head *other = head_of(first_way ? ent + fi->stride : ent - fi->stride);
    other->recent = 0;
}

/* Zeroed memory for a field-level cache of BYTES. The tables are read at
 * random places, one or two per row, and span megabytes (the date table
 * 16 MB of address space): with 4 KiB pages nearly every lookup also misses
 * the TLB. On Linux they are mapped apart and marked for transparent huge
 * pages, which the kernel grants only where whole 2 MiB pieces are touched
 * (so untouched parts of the date table still cost nothing). */
static bool table_alloc(field_cache *fc, size_t bytes)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (bytes >= ((size_t)1 << 21)) {
        void *p =
            mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p != MAP_FAILED) {
            (void)madvise(p, bytes, MADV_HUGEPAGE); /* a hint: refusal is fine */
            fc->slots = p;
            fc->map_len = bytes;
            return true;
        }
    }
#endif
    fc->slots = calloc(1, bytes);
    fc->map_len = 0;
    return fc->slots != NULL;
}

static void table_free(field_cache *fc)
{
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (fc->map_len) {
        munmap(fc->slots, fc->map_len);
        return;
    }
#endif
    free(fc->slots);
}

static void cache_release(const field_info *fi, field_cache *fc)
{
    if (fc->slots) {
        /* The entries hold identifiers and their tokens: wipe them first
         * (of a date table, only the entries written: the rest were never
         * touched and may not even be mapped yet). */
        if (fi->by_date) {
            if (fc->used_hi > fc->used_lo)
                OPENSSL_cleanse(fc->slots + fc->used_lo * fi->stride,
                                (fc->used_hi - fc->used_lo) * fi->stride);
        } else {
            OPENSSL_cleanse(fc->slots, fi->slots * fi->stride);
        }
        table_free(fc);
        fc->slots = NULL;
    }
}

/* A date field: normalise, then take the date's entry of the date table. */
/* The date table entry of date D, or SIZE_MAX when D is outside the table. */
static size_t date_index(int32_t d)
{
    int y = (int)(d / 10000), m = (int)(d / 100 % 100), day = (int)(d % 100);
    if (d < 0 || y < DATE_YEAR0 || y >= DATE_YEAR0 + DATE_YEARS || m > 12 || day > 31)
        return SIZE_MAX;
    return ((size_t)(y - DATE_YEAR0) * 13 + (size_t)m) * 32 + (size_t)day;
}

static void encode_date_field(dl_encode_ctx *c, size_t f, const char *v, size_t n)
{
    const dl_encoder *e = c->e;
    const field_info *fi = &e->fi[f];
    field_cache *fc = &c->fc[f];
    norm_value *nv = &c->norm[f];
    date_ahead *ah = &c->ahead[f];
    if (ah->valid && ah->len == n && memcmp(ah->raw, v, n) == 0) {
        nv->result = ah->result;
        nv->reason = ah->reason;
        nv->date = ah->date;
    } else {
        normalise_field(e, f, v, n, nv);
    }
    ah->valid = false;
    c->fields[f].result = nv->result;
    c->fields[f].reason = nv->reason;
    c->dates[f] = 0;
    c->sexes[f] = 0;
    if (nv->result != DL_NORM_OK)
        return;
    int32_t d = nv->date;
    c->dates[f] = d;
    size_t idx = date_index(d);
    if (!fc->slots || idx == SIZE_MAX) {
        field_columns(c, f);
        return;
    }
    uint8_t *ent = fc->slots + idx * fi->stride;
    fc->lookups++;
    if (head_of(ent)->hash) {
        fc->hits++;
        entry_load(c, f, ent);
        return;
    }
    field_columns(c, f);
    entry_store(c, f, ent, 1, v, 0);
    if (fc->used_hi == 0 || idx < fc->used_lo)
        fc->used_lo = idx;
    if (idx + 1 > fc->used_hi)
        fc->used_hi = idx + 1;
}

/* Normalise field F's raw value V and derive its cached columns, from the
 * field-level cache when the value was seen before. */
static void encode_field(dl_encode_ctx *c, size_t f, const char *v, size_t n, uint64_t h)
{
    const dl_encoder *e = c->e;
    const field_info *fi = &e->fi[f];
    field_cache *fc = &c->fc[f];
    norm_value *nv = &c->norm[f];
    uint8_t *victim = NULL;
    c->count_flag[f] = NULL;
    if (fi->by_date) {
        encode_date_field(c, f, v, n);
        return;
    }
    if (h) {
        uint8_t *hit = entry_find(fi, fc, h, v, n, &victim);
        fc->lookups++;
        if (hit) {
            fc->hits++;
            entry_load(c, f, hit);
            if (fi->needs_norm)
                normalise_field(e, f, v, n, nv);
            return;
        }
        if (fc->lookups == ADAPT_LOOKUPS && fc->hits * 4 < fc->lookups) {
            cache_release(fi, fc);
            fc->off = true;
            victim = NULL;
        }
    }
    normalise_field(e, f, v, n, nv);
    c->fields[f].result = nv->result;
    c->fields[f].reason = nv->reason;
    c->dates[f] = 0;
    c->sexes[f] = 0;
    if (nv->result == DL_NORM_OK) {
        if (e->spec->fields[f].type == DL_FT_DATE)
            c->dates[f] = nv->date;
        else if (e->spec->fields[f].type == DL_FT_SEX)
            c->sexes[f] = nv->sex;
        field_columns(c, f);
    }
    if (victim)
        entry_store(c, f, victim, h, v, n);
}

/* Prefetch the LEN bytes at P, a cache line at a time. */
static void prefetch_bytes(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i += 64)
        __builtin_prefetch(p + i);
    __builtin_prefetch(p + len - 1);
}

void dl_encode_prefetch(dl_encode_ctx *c, const char *const *values, const size_t *lens)
{
    const dl_encoder *e = c->e;
    for (size_t f = 0; f < e->spec->n_fields; f++) {
        const field_info *fi = &e->fi[f];
        const field_cache *fc = &c->fc[f];
        size_t n = values[f] ? lens[f] : 0;
        if (fi->by_date) {
            /* The table index needs the parsed date: parse it now and keep
             * the result, so the record's own call does not parse again. */
            date_ahead *ah = &c->ahead[f];
            ah->valid = false;
            if (!fc->slots || n == 0 || n > AHEAD_RAW_MAX)
                continue;
            ah->reason = NULL;
            ah->result =
                dl_normalise_date(values[f], n, &e->date_opts[f], &ah->date, &ah->reason);
            memcpy(ah->raw, values[f], n);
            ah->len = (uint8_t)n;
            ah->valid = true;
            size_t idx = ah->result == DL_NORM_OK ? date_index(ah->date) : SIZE_MAX;
            if (idx != SIZE_MAX)
                prefetch_bytes(fc->slots + idx * fi->stride, fi->stride);
            continue;
        }
        if (!fc->slots || n == 0 || n > fi->raw_max)
            continue;
        uint64_t h = fast_hash(values[f], n) | 1;
        const uint8_t *set =
            fc->slots + ((size_t)(h >> 1) & (fi->slots - 1) & ~(size_t)1) * fi->stride;
        prefetch_bytes(set, 2 * fi->stride);
    }
}

const dl_encoded *dl_encode_record(dl_encode_ctx *c, const char *const *values,
                                   const size_t *lens)
{
    const dl_encoder *e = c->e;
    const dl_spec *s = e->spec;
    dl_encoded *out = &c->out;
    out->n_usable = 0;
    out->required_failed = false;
    for (size_t col = 0; col < e->n_columns; col++) {
        struct dl_encoded_cell *cell = &c->cells[col];
        cell->n_tokens = 0;
        cell->has_filter = false;
        cell->filter = NULL;
    }
    /* Hash every field's value and prefetch its cache set first, so the
     * fields' cache misses overlap instead of following one another. */
    for (size_t f = 0; f < s->n_fields; f++) {
        const field_info *fi = &e->fi[f];
        size_t n = values[f] ? lens[f] : 0;
        c->hashes[f] = 0;
        if (!c->fc[f].slots || fi->by_date || n == 0 || n > fi->raw_max)
            continue;
        uint64_t h = fast_hash(values[f], n) | 1;
        c->hashes[f] = h;
        const uint8_t *set =
            c->fc[f].slots + ((size_t)(h >> 1) & (fi->slots - 1) & ~(size_t)1) * fi->stride;
        __builtin_prefetch(set);
        __builtin_prefetch(set + fi->stride);
    }
    bool row_level = false;
    /* MACs of new values wait and are made in pairs (dl_hmac_token2): a row
     * usually has two or more (an NHS number, a postcode unit). */
    c->defer = !c->no_pairs;
    for (size_t f = 0; f < s->n_fields; f++) {
        encode_field(c, f, values[f], values[f] ? lens[f] : 0, c->hashes[f]);
        if (c->fields[f].result == DL_NORM_OK)
            out->n_usable++;
        else if (s->fields[f].required)
            out->required_failed = true;
        row_level |= e->fi[f].bloom_col >= 0 && !e->fi[f].bloom_cached;
    }
    flush_pending(c);
    c->defer = false;
    /* Salted filters and the record-level CLK read other fields' values:
     * they are made per row, once every field is normalised. */
    if (row_level || s->n_clk_fields)
        for (size_t col = 0; col < e->n_columns; col++) {
            const column *k = &e->cols[col];
            if (k->cached)
                continue;
            if (k->field < 0)
                clk_column(c, col);
            else if (c->norm[k->field].result == DL_NORM_OK)
                bloom_column(c, col, &c->norm[k->field].name, (size_t)k->field,
                             c->filters + c->filter_off[col]);
        }
    return out;
}

void dl_encode_count_distinct(dl_encode_ctx *c, dl_hll *const *counters)
{
    const dl_encoder *e = c->e;
    for (size_t f = 0; f < e->spec->n_fields; f++) {
        uint8_t *flag = c->count_flag[f];
        if (flag && *flag)
            continue;
        if (c->fields[f].result == DL_NORM_OK) {
            const field_info *fi = &e->fi[f];
            for (size_t col = fi->first_col; col < fi->first_col + fi->n_cols; col++) {
                const struct dl_encoded_cell *cell = &c->cells[col];
                if (counters[col])
                    for (size_t i = 0; i < cell->n_tokens; i++)
                        dl_hll_add(counters[col], cell->tokens[i]);
            }
        }
        if (flag)
            *flag = 1;
    }
}

void dl__encode_ctx_cache_off(dl_encode_ctx *c)
{
    for (size_t f = 0; f < c->e->spec->n_fields; f++) {
        cache_release(&c->e->fi[f], &c->fc[f]);
        c->fc[f].off = true;
    }
}

void dl__encode_ctx_pairs_off(dl_encode_ctx *c)
{
    c->no_pairs = true;
}

void dl__encode_cache_stats(const dl_encode_ctx *c, size_t f, uint64_t *lookups, uint64_t *hits,
                            bool *off)
{
    *lookups = c->fc[f].lookups;
    *hits = c->fc[f].hits;
    *off = c->fc[f].off;
}

bool dl_encoded_append_csv(const dl_encoder *e, const dl_encoded *r, dl_buf *b, char delim)
{
    /* Room for the whole row first, then plain stores: one reserve per row
     * instead of one or more per cell. */
    size_t need = 0;
    for (size_t col = 0; col < e->n_columns; col++) {
        const struct dl_encoded_cell *cell = &r->cells[col];
        if (e->cols[col].filter)
            need += 1 + (cell->has_filter ? dl_b64_encoded_len(e->cols[col].words * 8) : 0);
        else
            need += 1 + (size_t)cell->n_tokens * 17;
    }
    if (!dl_buf_reserve(b, need))
        return false;
    char *p = b->data + b->len;
    /* Runs of token cells go to dl_hex_u64_seps() whole (a row's tokens
     * are written several at a time), each token with its separator: the
     * delimiter before a cell's first token, a space between its tokens. */
    enum { RUN_MAX = 64 };
    uint64_t tok[RUN_MAX];
    char sep[RUN_MAX];
    size_t nt = 0;
    for (size_t col = 0; col < e->n_columns; col++) {
        const struct dl_encoded_cell *cell = &r->cells[col];
        if (!e->cols[col].filter && cell->n_tokens) {
            if (nt + cell->n_tokens > RUN_MAX) {
                dl_hex_u64_seps(tok, sep, nt, p);
                p += 17 * nt;
                nt = 0;
            }
            for (size_t i = 0; i < cell->n_tokens; i++) {
                sep[nt] = i ? ' ' : delim;
                tok[nt++] = cell->tokens[i];
            }
            continue;
        }
        dl_hex_u64_seps(tok, sep, nt, p);
        p += 17 * nt;
        nt = 0;
        *p++ = delim;
        if (!e->cols[col].filter || !cell->has_filter)
            continue;
        size_t bytes = e->cols[col].words * 8;
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
        /* The byte form is little-endian words: on this CPU, the words. */
        p += dl_b64_encode(cell->filter, bytes, p);
#else
        uint8_t raw[DL_BLOOM_MAX_BITS / 4]; /* balancing doubles the length */
        dl_bloom_to_bytes(cell->filter, e->cols[col].words, raw);
        p += dl_b64_encode(raw, bytes, p);
#endif
    }
    dl_hex_u64_seps(tok, sep, nt, p);
    p += 17 * nt;
    *p = '\0';
    b->len = (size_t)(p - b->data);
    return true;
}
/* ---- set-up ----------------------------------------------------------- */

static dl_status add_columns(dl_encoder *e, const dl_key *key, dl_error *err)
{
    const dl_spec *s = e->spec;
    size_t n = 0;
    for (size_t f = 0; f < s->n_fields; f++)
        n += s->fields[f].n_features;
    if (s->n_clk_fields)
        n++;
    e->cols = calloc(n ? n : 1, sizeof *e->cols);
    if (!e->cols)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the encoder");
    for (size_t f = 0; f < s->n_fields; f++) {
        const dl_spec_field *sf = &s->fields[f];
        for (size_t i = 0; i < sf->n_features; i++) {
            column *k = &e->cols[e->n_columns++];
            k->field = (int)f;
            k->kind = sf->features[i];
            snprintf(k->name, sizeof k->name, "%s.%s", sf->name, dl_feature_name(k->kind));
            char label[128];
            if (k->kind == DL_FEAT_BLOOM) {
                /* One subkey per field for its filter: docs/keys.md lists the labels. */
                snprintf(label, sizeof label, "bloom/%s", sf->name);
                uint8_t sub[32];
                dl_key_derive(key, label, sub);
                dl_status st = dl_bloom_enc_new(sub, &sf->bloom, &k->bloom, err);
                OPENSSL_cleanse(sub, sizeof sub);
                if (st != DL_OK)
                    return st;
                k->filter = true;
                k->words = dl_bloom_out_bits(&sf->bloom) / 64;
                size_t raw = sf->bloom.bits / 64;
                if (raw > e->raw_words_max)
                    e->raw_words_max = raw;
            } else if (k->kind == DL_FEAT_TOKEN && sf->token_key) {
                /* Shared by the fields with this token_key ('@' is never in
                 * a field name, so no field's own label can collide). */
                snprintf(label, sizeof label, "token/@%s/token", sf->token_key);
                dl_key_hmac(key, label, &k->mac);
            } else {
                snprintf(label, sizeof label, "token/%s/%s", sf->name, dl_feature_name(k->kind));
                dl_key_hmac(key, label, &k->mac);
            }
        }
    }
    if (s->n_clk_fields) {
        column *k = &e->cols[e->n_columns++];
        k->field = -1;
        k->kind = DL_FEAT_BLOOM;
        k->filter = true;
        snprintf(k->name, sizeof k->name, "clk");
        e->clk = calloc(s->n_fields, sizeof *e->clk);
        if (!e->clk)
            return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the encoder");
        for (size_t i = 0; i < s->n_clk_fields; i++) {
            size_t f = s->clk_fields[i];
            char label[128];
            snprintf(label, sizeof label, "clk/%s", s->fields[f].name);
            uint8_t sub[32];
            dl_key_derive(key, label, sub);
            dl_status st = dl_bloom_enc_new(sub, &s->clk, &e->clk[f], err);
            OPENSSL_cleanse(sub, sizeof sub);
            if (st != DL_OK)
                return st;
            e->clk_raw_words = s->clk.bits / 64;
            e->clk_words = dl_bloom_out_bits(&s->clk) / 64;
        }
        k->words = e->clk_words;
        if (e->clk_raw_words > e->raw_words_max)
            e->raw_words_max = e->clk_raw_words;
    }
    return DL_OK;
}

static dl_status field_options(dl_encoder *e, int32_t today, dl_error *err)
{
    const dl_spec *s = e->spec;
    size_t nf = s->n_fields ? s->n_fields : 1;
    e->formats = calloc(nf, sizeof *e->formats);
    e->date_opts = calloc(nf, sizeof *e->date_opts);
    e->date_placeholders = calloc(nf, sizeof *e->date_placeholders);
    e->name_opts = calloc(nf, sizeof *e->name_opts);
    e->salt_of = calloc(nf, sizeof *e->salt_of);
    if (!e->formats || !e->date_opts || !e->date_placeholders || !e->name_opts || !e->salt_of)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the encoder");
    for (size_t f = 0; f < s->n_fields; f++) {
        const dl_spec_field *sf = &s->fields[f];
        e->salt_of[f] = -1;
        if (sf->bloom.salt_field)
            for (size_t g = 0; g < s->n_fields; g++)
                if (strcmp(s->fields[g].name, sf->bloom.salt_field) == 0)
                    e->salt_of[f] = (int)g;
        dl_name_opts no = DL_NAME_OPTS_INIT;
        no.n_placeholders = sf->n_placeholders;
        no.placeholders = sf->placeholders;
        e->name_opts[f] = no;
        if (sf->type != DL_FT_DATE)
            continue;
        if (sf->n_formats > 16)
            return dl_error_set(err, DL_EINPUT, s->path, sf->line, sf->col,
                                "field '%s' has %zu date formats (at most 16)", sf->name,
                                sf->n_formats);
        for (size_t i = 0; i < sf->n_formats; i++) {
            dl_error ferr = DL_ERROR_INIT;
            if (dl_date_format_compile(sf->formats[i], &e->formats[f][i], &ferr) != DL_OK)
                return dl_error_set(err, DL_EINPUT, s->path, sf->line, sf->col,
                                    "field '%s': date format '%s': %s", sf->name,
                                    sf->formats[i], ferr.msg);
        }
        size_t np = 0;
        for (size_t i = 0; i < sf->n_placeholders && np < 16; i++) {
            /* Placeholders of a date field are written YYYY-MM-DD in the spec. */
            int y, m, d;
            if (sscanf(sf->placeholders[i], "%d-%d-%d", &y, &m, &d) == 3)
                e->date_placeholders[f][np++] = y * 10000 + m * 100 + d;
        }
        dl_date_opts *o = &e->date_opts[f];
        o->n_formats = sf->n_formats;
        o->formats = e->formats[f];
        o->min_date = sf->min_date;
        o->max_date = sf->max_date ? sf->max_date : today;
        o->n_placeholders = np;
        o->placeholders = e->date_placeholders[f];
    }
    return DL_OK;
}

/* Field-level cache slots by field type: enough for the distinct values a
 * worker meets often (Welsh given names and surnames are few; dates of birth
 * and postcode units many), small enough that the tables of one worker stay
 * within a few MB. NHS numbers are all different: their cache switches
 * itself off (ADAPT_LOOKUPS). */
static size_t cache_slots(dl_field_type t)
{
    switch (t) {
    case DL_FT_GIVEN_NAME:
    case DL_FT_SURNAME:
        return 8192;
    case DL_FT_DATE:
        return DATE_SLOTS;
    case DL_FT_SEX:
        return 64;
    case DL_FT_UK_POSTCODE:
        return 16384;
    case DL_FT_NHS_NUMBER:
    case DL_FT_TEXT:
    default:
        return 4096;
    }
}

static size_t round8(size_t n)
{
    return (n + 7) & ~(size_t)7;
}

/* Plan each field's cache entry once all columns are known. */
static dl_status plan_fields(dl_encoder *e, dl_error *err)
{
    const dl_spec *s = e->spec;
    e->fi = calloc(s->n_fields ? s->n_fields : 1, sizeof *e->fi);
    if (!e->fi)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the encoder");
    for (size_t f = 0; f < s->n_fields; f++)
        e->fi[f].bloom_col = -1;
    for (size_t col = 0; col < e->n_columns; col++) {
        column *k = &e->cols[col];
        if (k->field < 0)
            continue;
        field_info *fi = &e->fi[k->field];
        if (fi->n_cols == 0)
            fi->first_col = col;
        fi->n_cols++;
        if (k->filter) {
            fi->bloom_col = (int)col;
            fi->bloom_cached = e->salt_of[k->field] < 0;
            k->cached = fi->bloom_cached;
        } else {
            fi->n_tok_cols++;
            k->cached = true;
            /* Features that give one value per record (the others may give
             * repeats, which the cell's repeat check must see as tokens). */
            switch (k->kind) {
            case DL_FEAT_TOKEN:
            case DL_FEAT_INITIAL:
            case DL_FEAT_SOUNDEX:
            case DL_FEAT_NYSIIS:
            case DL_FEAT_YEAR:
            case DL_FEAT_MONTH:
            case DL_FEAT_DAY:
            case DL_FEAT_SWAP:
            case DL_FEAT_SECTOR:
            case DL_FEAT_DISTRICT:
            case DL_FEAT_AREA:
                k->single = true;
                break;
            default:
                k->single = false;
                break;
            }
            /* NHS numbers and postcode units hardly repeat, and a value
             * that reaches this cache missed the field-level one already. */
            dl_field_type t = e->spec->fields[k->field].type;
            k->l2 = !(k->kind == DL_FEAT_TOKEN &&
                      (t == DL_FT_NHS_NUMBER || t == DL_FT_UK_POSTCODE));
        }
    }
    for (size_t f = 0; f < s->n_fields; f++) {
        field_info *fi = &e->fi[f];
        if (e->salt_of[f] >= 0 && fi->bloom_col >= 0) {
            fi->needs_norm = true;                  /* its own salted filter */
            e->fi[e->salt_of[f]].needs_norm = true; /* and the salt's value */
        }
    }
    for (size_t i = 0; i < s->n_clk_fields; i++)
        e->fi[s->clk_fields[i]].needs_norm = true;
    for (size_t f = 0; f < s->n_fields; f++) {
        field_info *fi = &e->fi[f];
        dl_field_type t = s->fields[f].type;
        bool name = t == DL_FT_GIVEN_NAME || t == DL_FT_SURNAME || t == DL_FT_TEXT;
        fi->slots = fi->n_cols ? cache_slots(t) : 0;
        /* A date is normalised on every row anyway (the table is keyed by its
         * value), so a date that is a salt or in the clk is cached too. */
        fi->by_date = t == DL_FT_DATE;
        fi->raw_max = fi->by_date ? 0 : name ? 40 : 24;
        /* Dates have one feature with two tokens (year_pm1); names may have
         * several parts, variants and phonetic codes. */
        fi->tok_cap = fi->n_tok_cols + (t == DL_FT_DATE ? 1 : 4);
        if (fi->tok_cap > fi->n_tok_cols * DL_TOKEN_SET_MAX)
            fi->tok_cap = fi->n_tok_cols * DL_TOKEN_SET_MAX;
        size_t off = round8(sizeof(entry_head));
        fi->off_counts = off;
        off = round8(off + fi->n_tok_cols);
        fi->off_raw = off;
        off = round8(off + fi->raw_max);
        fi->off_tokens = off;
        off += fi->tok_cap * sizeof(uint64_t);
        fi->off_filter = off;
        if (fi->bloom_cached)
            off += e->cols[fi->bloom_col].words * sizeof(uint64_t);
        fi->stride = off;
    }
    return DL_OK;
}

dl_status dl_encoder_new(const dl_spec *spec, const dl_key *key, int32_t today, dl_encoder **out,
                         dl_error *err)
{
    *out = NULL;
    dl_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for the encoder");
    e->spec = spec;
    dl_status st = field_options(e, today ? today : dl_date_today(), err);
    if (st == DL_OK)
        st = add_columns(e, key, err);
    if (st == DL_OK)
        st = plan_fields(e, err);
    if (st != DL_OK) {
        dl_encoder_free(e);
        return st;
    }
    *out = e;
    return DL_OK;
}

void dl_encoder_free(dl_encoder *e)
{
    if (!e)
        return;
    for (size_t i = 0; i < e->n_columns; i++) {
        dl_hmac_key_cleanse(&e->cols[i].mac);
        dl_bloom_enc_free(e->cols[i].bloom);
    }
    if (e->clk)
        for (size_t f = 0; f < e->spec->n_fields; f++)
            dl_bloom_enc_free(e->clk[f]);
    free(e->clk);
    free(e->cols);
    free(e->fi);
    free(e->formats);
    free(e->date_opts);
    free(e->date_placeholders);
    free(e->name_opts);
    free(e->salt_of);
    free(e);
}

size_t dl_encoder_n_columns(const dl_encoder *e)
{
    return e->n_columns;
}

const char *dl_encoder_column(const dl_encoder *e, size_t c)
{
    return e->cols[c].name;
}

bool dl_encoder_column_is_filter(const dl_encoder *e, size_t c)
{
    return e->cols[c].filter;
}

size_t dl_encoder_filter_words(const dl_encoder *e, size_t c)
{
    return e->cols[c].filter ? e->cols[c].words : 0;
}

int dl_encoder_column_field(const dl_encoder *e, size_t c)
{
    return e->cols[c].field;
}

dl_encode_ctx *dl_encode_ctx_new(const dl_encoder *e)
{
    const dl_spec *s = e->spec;
    dl_encode_ctx *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->e = e;
    size_t ncol = e->n_columns ? e->n_columns : 1, nf = s->n_fields ? s->n_fields : 1;
    c->cache = calloc(ncol * L2_SLOTS, sizeof *c->cache);
    c->fc = calloc(nf, sizeof *c->fc);
    c->ahead = calloc(nf, sizeof *c->ahead);
    c->pending = calloc(ncol, sizeof *c->pending);
    c->pending_of = calloc(ncol, sizeof *c->pending_of);
    c->bloom_caches = calloc(ncol, sizeof *c->bloom_caches);
    c->clk_caches = calloc(nf, sizeof *c->clk_caches);
    c->filter_off = calloc(ncol, sizeof *c->filter_off);
    c->norm = calloc(nf, sizeof *c->norm);
    c->count_flag = calloc(nf, sizeof *c->count_flag);
    c->hashes = calloc(nf, sizeof *c->hashes);
    c->cells = calloc(ncol, sizeof *c->cells);
    c->fields = calloc(nf, sizeof *c->fields);
    c->dates = calloc(nf, sizeof *c->dates);
    c->sexes = calloc(nf, sizeof *c->sexes);
    c->scratch = calloc(e->raw_words_max ? e->raw_words_max : 1, sizeof(uint64_t));
    if (!c->cache || !c->fc || !c->ahead || !c->pending || !c->pending_of ||
        !c->bloom_caches || !c->clk_caches || !c->filter_off ||
        !c->norm || !c->count_flag || !c->hashes || !c->cells || !c->fields || !c->dates || !c->sexes ||
        !c->scratch)
        goto fail;
    for (size_t f = 0; f < s->n_fields; f++)
        if (e->fi[f].slots && !table_alloc(&c->fc[f], e->fi[f].slots * e->fi[f].stride))
            goto fail;
    size_t words = 0;
    for (size_t col = 0; col < e->n_columns; col++) {
        const column *k = &e->cols[col];
        c->filter_off[col] = words;
        words += k->filter ? k->words : 0;
        if (k->bloom && !(c->bloom_caches[col] = dl_bloom_cache_new(
                              k->bloom, k->cached ? BLOOM_CACHE_UNSALTED : 0, NULL)))
            goto fail;
    }
    if (e->clk)
        for (size_t f = 0; f < s->n_fields; f++)
            if (e->clk[f] && !(c->clk_caches[f] = dl_bloom_cache_new(e->clk[f], 0, NULL)))
                goto fail;
    c->filters = calloc(words ? words : 1, sizeof(uint64_t));
    if (!c->filters)
        goto fail;
    c->out.n_columns = e->n_columns;
    c->out.cells = c->cells;
    c->out.fields = c->fields;
    c->out.dates = c->dates;
    c->out.sexes = c->sexes;
    return c;
fail:
    dl_encode_ctx_free(c);
    return NULL;
}

void dl_encode_ctx_free(dl_encode_ctx *c)
{
    if (!c)
        return;
    const dl_encoder *e = c->e;
    if (c->bloom_caches)
        for (size_t col = 0; col < e->n_columns; col++)
            dl_bloom_cache_free(c->bloom_caches[col]);
    if (c->clk_caches)
        for (size_t f = 0; f < e->spec->n_fields; f++)
            dl_bloom_cache_free(c->clk_caches[f]);
    if (c->fc)
        for (size_t f = 0; f < e->spec->n_fields; f++)
            cache_release(&e->fi[f], &c->fc[f]);
    /* The caches hold normalised identifiers: wipe them before release. */
    if (c->cache)
        OPENSSL_cleanse(c->cache, e->n_columns * L2_SLOTS * sizeof *c->cache);
    if (c->norm)
        OPENSSL_cleanse(c->norm, e->spec->n_fields * sizeof *c->norm);
    if (c->ahead)
        OPENSSL_cleanse(c->ahead, e->spec->n_fields * sizeof *c->ahead);
    if (c->pending)
        OPENSSL_cleanse(c->pending, e->n_columns * sizeof *c->pending);
    free(c->ahead);
    free(c->pending);
    free(c->pending_of);
    free(c->cache);
    free(c->fc);
    free(c->bloom_caches);
    free(c->clk_caches);
    free(c->filter_off);
    free(c->filters);
    free(c->scratch);
    free(c->norm);
    free(c->count_flag);
    free(c->hashes);
    free(c->cells);
    free(c->fields);
    free(c->dates);
    free(c->sexes);
    free(c);
}
