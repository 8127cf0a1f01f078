/* encode.c: normalise a record's fields, derive features, and key them.
 * Part of hashing/; the core of `dolen prepare`, run by every worker thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "dolen/bloom.h"
#include "dolen/encode.h"
#include "dolen/hexb64.h"
#include "dolen/hmac.h"
#include "dolen/phonetic.h"
#include "dolen/variants.h"

/* A direct-mapped cache of value -> token per feature and thread. Names,
 * dates and postcodes repeat a great deal, so most lookups hit and cost no
 * MAC; a miss just overwrites the slot. Values longer than the slot are not
 * cached. 4096 slots of 64 bytes: 256 KiB per feature and thread. */
#define CACHE_SLOTS 4096
#define CACHE_VALUE_MAX 46

typedef struct cache_slot {
    uint64_t hash;
    uint64_t token;
    uint8_t len;
    char value[CACHE_VALUE_MAX + 1];
} cache_slot;

typedef struct column {
    char name[80];
    int field;              /* spec field index; -1 for the record-level clk */
    dl_feature_kind kind;
    bool filter;
    size_t words;           /* filter words after hardening */
    dl_hmac_key mac;        /* token subkey (token columns) */
    dl_bloom_enc *bloom;    /* field-level filter encoder (bloom columns) */
} column;

struct dl_encoder {
    const dl_spec *spec;
    size_t n_columns;
    column *cols;
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

struct dl_encode_ctx {
    const dl_encoder *e;
    cache_slot *cache;               /* n_columns * CACHE_SLOTS */
    dl_bloom_cache **bloom_caches;   /* per column (field-level filters) */
    dl_bloom_cache **clk_caches;     /* per field (record-level clk) */
    uint64_t *filters;               /* per column: its words, at filter_off[c] */
    size_t *filter_off;
    uint64_t *scratch;               /* raw (unhardened) filter */
    norm_value *norm;                /* per field */
    struct dl_encoded_cell *cells;
    dl_field_result *fields;
    int32_t *dates;
    char *sexes;
    dl_encoded out;
};

/* ---- small helpers ---------------------------------------------------- */

/* A fast non-cryptographic hash for the cache index (not for tokens). */
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
    if (n > CACHE_VALUE_MAX)
        return dl_hmac_token(&k->mac, v, n);
    uint64_t h = fast_hash(v, n);
    cache_slot *s = &c->cache[col * CACHE_SLOTS + (h & (CACHE_SLOTS - 1))];
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

static void cell_add_value(dl_encode_ctx *c, size_t col, const char *v, size_t n)
{
    if (n)
        cell_add(&c->cells[col], token_of(c, col, v, n));
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
    case DL_FT_DATE:
        return (size_t)snprintf(buf, 16, "%04d", (int)(nv->date / 10000));
    case DL_FT_SEX:
        buf[0] = nv->sex;
        return 1;
    case DL_FT_UK_POSTCODE:
        return (size_t)snprintf(buf, 16, "%s", nv->pc.district);
    case DL_FT_NHS_NUMBER:
        return (size_t)snprintf(buf, 16, "%s", nv->nhs);
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
    char buf[24];
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
        /* Day and month in canonical order: 1980-03-07 and 1980-07-03 agree. */
        if (m && day)
            n = snprintf(buf, sizeof buf, "%04d%02d%02d", y, m < day ? m : day,
                         m < day ? day : m);
        break;
    case DL_FEAT_YEAR_PM1:
        /* Two bucketings of the year, by pairs starting on even and on odd
         * years: two years differ by at most one exactly when they share a
         * bucket in one of the two (docs/spec.md). */
        n = snprintf(buf, sizeof buf, "E%d", y >> 1);
        cell_add_value(c, col, buf, (size_t)n);
        n = snprintf(buf, sizeof buf, "O%d", (y + 1) >> 1);
        break;
    default:
        break;
    }
    if (n > 0)
        cell_add_value(c, col, buf, (size_t)n);
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

static void bloom_column(dl_encode_ctx *c, size_t col, const dl_name_norm *nm, size_t f)
{
    const dl_encoder *e = c->e;
    const column *k = &e->cols[col];
    size_t raw_words = dl_bloom_enc_opts(k->bloom)->bits / 64;
    memset(c->scratch, 0, raw_words * sizeof(uint64_t));
    char salt[DL_NAME_MAX + 1];
    size_t slen = salt_value(e, c, f, salt);
    dl_bloom_add(k->bloom, c->bloom_caches[col], nm->full, nm->len, salt, slen, c->scratch);
    uint64_t *dst = c->filters + c->filter_off[col];
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
            n = (size_t)snprintf(text, sizeof text, "%08d", (int)nv->date);
            break;
        case DL_FT_SEX:
            text[0] = nv->sex;
            n = 1;
            break;
        case DL_FT_UK_POSTCODE:
            n = (size_t)snprintf(text, sizeof text, "%s", nv->pc.unit);
            break;
        case DL_FT_NHS_NUMBER:
            n = (size_t)snprintf(text, sizeof text, "%s", nv->nhs);
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

const dl_encoded *dl_encode_record(dl_encode_ctx *c, const char *const *values,
                                   const size_t *lens)
{
    const dl_encoder *e = c->e;
    const dl_spec *s = e->spec;
    dl_encoded *out = &c->out;
    out->n_usable = 0;
    out->required_failed = false;
    for (size_t f = 0; f < s->n_fields; f++) {
        norm_value *nv = &c->norm[f];
        normalise_field(e, f, values[f], values[f] ? lens[f] : 0, nv);
        c->fields[f].result = nv->result;
        c->fields[f].reason = nv->reason;
        c->dates[f] = 0;
        c->sexes[f] = 0;
        if (nv->result == DL_NORM_OK) {
            out->n_usable++;
            if (s->fields[f].type == DL_FT_DATE)
                c->dates[f] = nv->date;
            else if (s->fields[f].type == DL_FT_SEX)
                c->sexes[f] = nv->sex;
        } else if (s->fields[f].required) {
            out->required_failed = true;
        }
    }
    for (size_t col = 0; col < e->n_columns; col++) {
        const column *k = &e->cols[col];
        struct dl_encoded_cell *cell = &c->cells[col];
        cell->n_tokens = 0;
        cell->has_filter = false;
        cell->filter = NULL;
        if (k->field < 0) {
            clk_column(c, col);
            continue;
        }
        const norm_value *nv = &c->norm[k->field];
        if (nv->result != DL_NORM_OK)
            continue;
        const dl_spec_field *sf = &s->fields[k->field];
        switch (sf->type) {
        case DL_FT_GIVEN_NAME:
        case DL_FT_SURNAME:
        case DL_FT_TEXT:
            if (k->filter)
                bloom_column(c, col, &nv->name, (size_t)k->field);
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
    return out;
}

bool dl_encoded_append_csv(const dl_encoder *e, const dl_encoded *r, dl_buf *b, char delim)
{
    for (size_t col = 0; col < e->n_columns; col++) {
        const struct dl_encoded_cell *cell = &r->cells[col];
        if (!dl_buf_putc(b, delim))
            return false;
        if (e->cols[col].filter) {
            if (!cell->has_filter)
                continue;
            size_t bytes = e->cols[col].words * 8;
            uint8_t raw[DL_BLOOM_MAX_BITS / 4]; /* balancing doubles the length */
            dl_bloom_to_bytes(cell->filter, e->cols[col].words, raw);
            if (!dl_buf_reserve(b, dl_b64_encoded_len(bytes)))
                return false;
            b->len += dl_b64_encode(raw, bytes, b->data + b->len);
            b->data[b->len] = '\0';
            continue;
        }
        if (!dl_buf_reserve(b, (size_t)cell->n_tokens * 17))
            return false;
        for (size_t i = 0; i < cell->n_tokens; i++) {
            if (i)
                b->data[b->len++] = ' ';
            dl_hex_u64(cell->tokens[i], b->data + b->len);
            b->len += 16;
        }
        b->data[b->len] = '\0';
    }
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
    c->cache = calloc(ncol * CACHE_SLOTS, sizeof *c->cache);
    c->bloom_caches = calloc(ncol, sizeof *c->bloom_caches);
    c->clk_caches = calloc(nf, sizeof *c->clk_caches);
    c->filter_off = calloc(ncol, sizeof *c->filter_off);
    c->norm = calloc(nf, sizeof *c->norm);
    c->cells = calloc(ncol, sizeof *c->cells);
    c->fields = calloc(nf, sizeof *c->fields);
    c->dates = calloc(nf, sizeof *c->dates);
    c->sexes = calloc(nf, sizeof *c->sexes);
    c->scratch = calloc(e->raw_words_max ? e->raw_words_max : 1, sizeof(uint64_t));
    if (!c->cache || !c->bloom_caches || !c->clk_caches || !c->filter_off || !c->norm ||
        !c->cells || !c->fields || !c->dates || !c->sexes || !c->scratch)
        goto fail;
    size_t words = 0;
    for (size_t col = 0; col < e->n_columns; col++) {
        c->filter_off[col] = words;
        words += e->cols[col].filter ? e->cols[col].words : 0;
        if (e->cols[col].bloom &&
            !(c->bloom_caches[col] = dl_bloom_cache_new(e->cols[col].bloom, 0, NULL)))
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
    /* The caches hold normalised identifiers: wipe them before release. */
    if (c->cache)
        OPENSSL_cleanse(c->cache, e->n_columns * CACHE_SLOTS * sizeof *c->cache);
    if (c->norm)
        OPENSSL_cleanse(c->norm, e->spec->n_fields * sizeof *c->norm);
    free(c->cache);
    free(c->bloom_caches);
    free(c->clk_caches);
    free(c->filter_off);
    free(c->filters);
    free(c->scratch);
    free(c->norm);
    free(c->cells);
    free(c->fields);
    free(c->dates);
    free(c->sexes);
    free(c);
}
