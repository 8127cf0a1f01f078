/* prepare.c: stream a custodian's CSV through the encoder into the split files.
 * Part of hashing/; `dolen prepare` is a thin wrapper round dl_prepare_run().
 *
 * The input is read in fixed chunks of CHUNK_ROWS records; a batch of chunks
 * is encoded, formatted and gzip-compressed by the worker pool, one chunk per
 * task, and the compressed chunks are written in chunk order. Two sets of
 * chunks alternate so that reading and writing overlap the encoding: while
 * the pool encodes one batch, one task (task 0, taken first by whichever
 * thread is free) writes the batch before it and reads the batch after it
 * into the same set, then joins in the encoding. Chunk boundaries depend only
 * on the input, and each chunk is its own gzip member, so the output bytes
 * do not depend on the thread count or on batching. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "dolen/csv.h"
#include "dolen/encode.h"
#include "dolen/gz.h"
#include "dolen/hexb64.h"
#include "dolen/hll.h"
#include "dolen/hmac.h"
#include "dolen/json.h"
#include "dolen/manifest.h"
#include "dolen/normalise.h"
#include "dolen/outfile.h"
#include "dolen/prepare.h"
#include "dolen/sha256.h"
#include "dolen/suggest.h"
#include "dolen/workers.h"
#include "dl_config.h"
#include "hashing/prepare_internal.h"

#define CHUNK_ROWS 4096
/* Chunks per thread in one batch: enough that the thread doing the I/O task
 * still finds chunks to encode when it is done. */
#define CHUNKS_PER_THREAD 4
#define MAX_REASONS 16

/* ---- per-chunk data --------------------------------------------------- */

typedef struct row_meta {
    uint64_t line, record;
    size_t first;        /* index of its first value in chunk->val_off */
    bool bad;            /* a CSV error: err_* hold it */
    uint64_t err_col;
    size_t err_msg;      /* offset of its message in chunk->errs */
} row_meta;

typedef struct reason_count {
    const char *reason;
    uint64_t n;
} reason_count;

typedef struct field_stats {
    uint64_t ok, missing, placeholder, invalid;
    size_t n_reasons;
    reason_count reasons[MAX_REASONS];
} field_stats;

typedef struct chunk {
    size_t n_rows;
    row_meta *meta;           /* CHUNK_ROWS */
    dl_buf text;              /* the needed raw values, NUL-separated */
    size_t *val_off, *val_len;
    size_t n_vals, cap_vals;
    dl_buf errs;
    /* outputs: rejects as text, the rest compressed by a worker */
    dl_buf rejects, packed;
    size_t ids_len, content_len, slfmap_len; /* lengths within packed (gzip members) */
    uint64_t written, rejected;
    field_stats *stats;       /* per spec field */
} chunk;

typedef struct worker_ctx {
    dl_encode_ctx *enc;
    EVP_CIPHER_CTX *slf_ctx;  /* AES-128-CTR under the run's SLF key */
    uint8_t *slf;             /* the SLF bytes of a chunk's records: CHUNK_ROWS * 16 */
    dl_hll **hll;             /* per ids column (token columns only) */
    /* a chunk's rows as text before compression: per worker, not per chunk,
     * as only the compressed form must wait to be written */
    dl_buf ids, content, slfmap;
} worker_ctx;

/* Column plan: which input columns are needed and where they go. */
typedef struct plan {
    size_t n_need;
    int *need;                /* input column index of needed value i */
    size_t *field_val;        /* spec field f -> needed value index */
    size_t id_val;            /* record id */
    size_t n_keep;
    size_t *keep_val;         /* content column i -> needed value index */
    const char **keep_names;
} plan;

typedef struct run {
    const dl_prepare_opts *o;
    const dl_spec *spec;
    dl_encoder *enc;
    uint8_t slf_key[16];      /* AES-128 key of the SLFs (cleansed at the end) */
    plan pl;
    chunk *chunks;            /* two sets of n_chunks */
    size_t n_chunks;          /* per set */
    size_t n_filled[2];       /* chunks holding rows, per set */
    worker_ctx *workers;
    size_t n_workers;
    char delim;
    /* the batch being run: set enc_set is encoded; set io_set is written
     * (when io_write) and then refilled from the reader (unless eof) */
    size_t enc_set, io_set;
    bool io_write, eof;
    dl_csv_reader *rd;
    struct outputs *out;
    dl_prepare_result *res;
    struct field_stats *total;
} run;

/* ---- values ----------------------------------------------------------- */

static bool chunk_add_value(chunk *c, const char *p, size_t n)
{
    if (c->n_vals == c->cap_vals) {
        size_t cap = c->cap_vals ? c->cap_vals * 2 : 1024;
        size_t *o = realloc(c->val_off, cap * sizeof *o);
        if (!o)
            return false;
        c->val_off = o;
        size_t *l = realloc(c->val_len, cap * sizeof *l);
        if (!l)
            return false;
        c->val_len = l;
        c->cap_vals = cap;
    }
    c->val_off[c->n_vals] = c->text.len;
    c->val_len[c->n_vals] = n;
    c->n_vals++;
    return dl_buf_append(&c->text, p, n) && dl_buf_putc(&c->text, '\0');
}

static void chunk_reset(chunk *c, size_t n_fields)
{
    c->n_rows = 0;
    c->n_vals = 0;
    dl_buf_clear(&c->text);
    dl_buf_clear(&c->errs);
    c->written = c->rejected = 0;
    memset(c->stats, 0, n_fields * sizeof *c->stats);
}

/* Add K to the count of REASON. Reason codes are a short fixed list
 * (docs/normalisation.md), so MAX_REASONS slots are never all taken. */
static void count_reason(reason_count *rc, size_t *n, const char *reason, uint64_t k)
{
    for (size_t i = 0; i < *n; i++)
        if (rc[i].reason == reason || strcmp(rc[i].reason, reason) == 0) {
            rc[i].n += k;
            return;
        }
    if (*n < MAX_REASONS) {
        rc[*n].reason = reason;
        rc[*n].n = k;
        (*n)++;
    }
}

/* ---- the SLF ---------------------------------------------------------- */

/* SLF of record R = AES-128 under the run's SLF key of R as a 128-bit
 * big-endian number: the R-th block of the AES-128-CTR keystream from
 * counter 0. Distinct records give distinct blocks (a permutation), the key
 * is random for the run (or from --seed, for tests), so the SLF says nothing
 * about the person, and it depends on the record alone, not on chunks or
 * threads. One cipher call makes a chunk's SLFs: ~1 ns a byte with AES-NI,
 * where an HMAC per row cost two SHA-256 compressions. */
static dl_status slf_blocks(worker_ctx *w, uint64_t first, size_t n, dl_error *err)
{
    uint8_t iv[16] = {0};
    for (int k = 0; k < 8; k++)
        iv[8 + k] = (uint8_t)(first >> (56 - 8 * k));
    memset(w->slf, 0, n * 16);
    int got = 0;
    if (EVP_EncryptInit_ex(w->slf_ctx, NULL, NULL, NULL, iv) != 1 ||
        EVP_EncryptUpdate(w->slf_ctx, w->slf, &got, w->slf, (int)(n * 16)) != 1 ||
        (size_t)got != n * 16)
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0, "AES-128-CTR failed making SLFs");
    return DL_OK;
}

/* The 32 hex digits of the 16 SLF bytes at B. */
static void slf_hex(const uint8_t *b, char out[33])
{
    uint64_t hi = 0, lo = 0;
    for (int k = 0; k < 8; k++) {
        hi = hi << 8 | b[k];
        lo = lo << 8 | b[8 + k];
    }
    dl_hex_u64(hi, out);
    dl_hex_u64(lo, out + 16);
}

/* ---- dates for the content file --------------------------------------- */

size_t dl__week_of(int32_t ymd, char out[11])
{
    int32_t mon = dl_date_week_monday(ymd);
    if (!mon)
        return 0;
    int y = mon / 10000, m = mon / 100 % 100, d = mon % 100;
    if (y < 0 || y > 9999)
        return (size_t)snprintf(out, 11, "%04d-%02d-%02d", y, m, d);
    dl_dec_padded((unsigned)y, 4, out);
    out[4] = '-';
    dl_dec_padded((unsigned)m, 2, out + 5);
    out[7] = '-';
    dl_dec_padded((unsigned)d, 2, out + 8);
    out[10] = '\0';
    return 10;
}

/* ---- the worker: one chunk -------------------------------------------- */

static bool add_reject(chunk *c, char delim, const row_meta *m, uint64_t col,
                       const char *reason, const char *msg)
{
    char line[24], colb[24];
    snprintf(line, sizeof line, "%llu", (unsigned long long)m->line);
    snprintf(colb, sizeof colb, "%llu", (unsigned long long)col);
    const char *f[4] = {line, col ? colb : "", reason, msg};
    c->rejected++;
    (void)delim;
    return dl_csv_format_row(&c->rejects, 4, f, NULL, ',');
}

static bool append_content(const run *r, const chunk *c, dl_buf *b, const row_meta *m,
                           const char *slf, const dl_encoded *enc)
{
    const dl_spec *s = r->spec;
    if (!dl_csv_append_field(b, slf, 32, r->delim))
        return false;
    for (size_t k = 0; k < r->pl.n_keep; k++) {
        size_t v = m->first + r->pl.keep_val[k];
        if (!dl_buf_putc(b, r->delim) ||
            !dl_csv_append_field(b, c->text.data + c->val_off[v], c->val_len[v], r->delim))
            return false;
    }
    char tmp[16];
    if (s->derive_week_of_birth >= 0) {
        int32_t d = enc->dates[s->derive_week_of_birth];
        size_t n = d ? dl__week_of(d, tmp) : 0;
        if (!dl_buf_putc(b, r->delim) || !dl_buf_append(b, tmp, n))
            return false;
    }
    if (s->derive_year_of_birth >= 0) {
        int32_t d = enc->dates[s->derive_year_of_birth];
        int y = (int)(d / 10000);
        size_t n = !d                        ? 0
                   : y >= 0 && y <= 9999 ? dl_dec_padded((unsigned)y, 4, tmp)
                                             : (size_t)snprintf(tmp, sizeof tmp, "%04d", y);
        if (!dl_buf_putc(b, r->delim) || !dl_buf_append(b, tmp, n))
            return false;
    }
    if (s->derive_sex >= 0) {
        char sx = enc->sexes[s->derive_sex];
        if (!dl_buf_putc(b, r->delim) || !dl_buf_append(b, &sx, sx ? 1 : 0))
            return false;
    }
    return dl_buf_putc(b, '\n');
}

/* The raw values of the spec fields of row M, as dl_encode_record() takes them. */
typedef struct row_values {
    const char *v[DL_SPEC_MAX_FIELDS];
    size_t len[DL_SPEC_MAX_FIELDS];
} row_values;

static void get_values(const run *r, const chunk *c, const row_meta *m, row_values *out)
{
    for (size_t f = 0; f < r->spec->n_fields; f++) {
        if (r->pl.field_val[f] == SIZE_MAX) {
            out->v[f] = NULL;
            out->len[f] = 0;
            continue;
        }
        size_t v = m->first + r->pl.field_val[f];
        out->v[f] = c->text.data + c->val_off[v];
        out->len[f] = c->val_len[v];
    }
}

static bool encode_row(const run *r, chunk *c, worker_ctx *w, const row_meta *m,
                       const row_values *vals, const uint8_t *slf_bytes)
{
    const dl_spec *s = r->spec;
    const dl_encoded *enc = dl_encode_record(w->enc, vals->v, vals->len);
    for (size_t f = 0; f < s->n_fields; f++) {
        field_stats *st = &c->stats[f];
        switch (enc->fields[f].result) {
        case DL_NORM_OK:
            st->ok++;
            break;
        case DL_NORM_MISSING:
            st->missing++;
            break;
        case DL_NORM_PLACEHOLDER:
            st->placeholder++;
            break;
        case DL_NORM_INVALID:
            st->invalid++;
            count_reason(st->reasons, &st->n_reasons,
                         enc->fields[f].reason ? enc->fields[f].reason : "invalid", 1);
            break;
        }
    }
    if (enc->n_usable == 0)
        return add_reject(c, r->delim, m, 0, "no_usable_identifier",
                          "none of the identifier fields has a usable value");
    if (enc->required_failed) {
        for (size_t f = 0; f < s->n_fields; f++) {
            if (!s->fields[f].required || enc->fields[f].result == DL_NORM_OK)
                continue;
            char msg[160];
            const char *why = enc->fields[f].result == DL_NORM_INVALID
                                  ? (enc->fields[f].reason ? enc->fields[f].reason : "invalid")
                              : enc->fields[f].result == DL_NORM_PLACEHOLDER ? "placeholder"
                                                                             : "missing";
            snprintf(msg, sizeof msg, "required field '%s' (column '%s') is %s",
                     s->fields[f].name, s->fields[f].column ? s->fields[f].column : "none",
                     why);
            uint64_t col = r->pl.field_val[f] == SIZE_MAX
                               ? 0
                               : (uint64_t)r->pl.need[r->pl.field_val[f]] + 1;
            return add_reject(c, r->delim, m, col, "required_field", msg);
        }
    }
    char slf[33];
    slf_hex(slf_bytes, slf);
    /* ids row */
    if (!dl_buf_append(&w->ids, slf, 32) ||
        !dl_encoded_append_csv(r->enc, enc, &w->ids, r->delim) || !dl_buf_reserve(&w->ids, 1))
        return false;
    w->ids.data[w->ids.len++] = '\n';
    w->ids.data[w->ids.len] = '\0';
    dl_encode_count_distinct(w->enc, w->hll);
    /* content row */
    if (!append_content(r, c, &w->content, m, slf, enc))
        return false;
    /* slfmap row */
    size_t idv = m->first + r->pl.id_val;
    if (!dl_csv_append_field(&w->slfmap, c->text.data + c->val_off[idv], c->val_len[idv],
                             r->delim) ||
        !dl_buf_reserve(&w->slfmap, 34))
        return false;
    char *p = w->slfmap.data + w->slfmap.len;
    p[0] = r->delim;
    memcpy(p + 1, slf, 32);
    p[33] = '\n';
    p[34] = '\0';
    w->slfmap.len += 34;
    c->written++;
    return true;
}

/* FAST: dolen's field-match encoder, for the ids and slfmap text (random
 * tokens, where it is as small as ISA-L level 1 and much faster); the
 * content file repeats within fields (addresses, dates) and keeps the
 * general compressor. bench/results/2026-11-23-prepare.md has the figures. */
static dl_status pack(dl_buf *src, dl_buf *dst, size_t *len, bool fast, dl_error *err)
{
    size_t before = dst->len;
    const char *p = src->data ? src->data : "";
    dl_status s = fast ? dl_gz_compress_member_fast(p, src->len, dst, err)
                       : dl_gz_compress_member(p, src->len, dst, err);
    *len = dst->len - before;
    return s;
}

static dl_status chunk_task(run *r, chunk *c, worker_ctx *w, dl_error *err)
{
    dl_buf_clear(&w->ids);
    dl_buf_clear(&w->content);
    dl_buf_clear(&w->slfmap);
    dl_buf_clear(&c->rejects);
    dl_buf_clear(&c->packed);
    /* Records are numbered one per row read, so a chunk's rows are
     * consecutive records: one cipher call makes all their SLFs. */
    uint64_t first = c->n_rows ? c->meta[0].record : 0;
    bool batch = c->n_rows && c->meta[c->n_rows - 1].record - first < CHUNK_ROWS;
    if (batch) {
        dl_status s = slf_blocks(w, first, (size_t)(c->meta[c->n_rows - 1].record - first + 1),
                                 err);
        if (s != DL_OK)
            return s;
    }
    /* Row i + 1's values are handed to the encoder as a prefetch hint
     * before row i is encoded: its cache entries arrive meanwhile. */
    row_values vals[2];
    int cur = 0;
    size_t next = 0;
    while (next < c->n_rows && c->meta[next].bad)
        next++;
    if (next < c->n_rows)
        get_values(r, c, &c->meta[next], &vals[cur]);
    for (size_t i = 0; i < c->n_rows; i++) {
        const row_meta *m = &c->meta[i];
        bool ok;
        if (!m->bad) {
            /* i == next here: find the good row after it and prefetch it. */
            next = i + 1;
            while (next < c->n_rows && c->meta[next].bad)
                next++;
            if (next < c->n_rows) {
                get_values(r, c, &c->meta[next], &vals[cur ^ 1]);
                dl_encode_prefetch(w->enc, vals[cur ^ 1].v, vals[cur ^ 1].len);
            }
        }
        if (m->bad) {
            ok = add_reject(c, r->delim, m, m->err_col, "bad_csv_row", c->errs.data + m->err_msg);
        } else {
            if (!batch) { /* not met in practice; kept for safety */
                dl_status s = slf_blocks(w, m->record, 1, err);
                if (s != DL_OK)
                    return s;
            }
            const uint8_t *slf = w->slf + (batch ? (m->record - first) * 16 : 0);
            ok = encode_row(r, c, w, m, &vals[cur], slf);
            cur ^= 1;
        }
        if (!ok)
            return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory formatting rows");
    }
    dl_status s = pack(&w->ids, &c->packed, &c->ids_len, true, err);
    if (s == DL_OK)
        s = pack(&w->content, &c->packed, &c->content_len, false, err);
    if (s == DL_OK)
        s = pack(&w->slfmap, &c->packed, &c->slfmap_len, true, err);
    return s;
}

/* ---- reading ------------------------------------------------------------ */

/* Fill chunk set SET from the reader. Sets *eof at the end. */
static dl_status fill_batch(run *r, size_t set, dl_csv_reader *rd, bool *eof, dl_error *err)
{
    size_t *filled = &r->n_filled[set];
    *filled = 0;
    while (*filled < r->n_chunks && !*eof) {
        chunk *c = &r->chunks[set * r->n_chunks + *filled];
        chunk_reset(c, r->spec->n_fields);
        while (c->n_rows < CHUNK_ROWS) {
            dl_row row;
            dl_error rerr = DL_ERROR_INIT;
            dl_status s = dl_csv_next(rd, &row, &rerr);
            if (s == DL_END) {
                *eof = true;
                break;
            }
            row_meta *m = &c->meta[c->n_rows];
            if (s == DL_EROW) {
                m->line = rerr.line ? rerr.line : row.line;
                m->record = row.record;
                m->bad = true;
                m->err_col = rerr.col;
                m->err_msg = c->errs.len;
                if (!dl_buf_append(&c->errs, rerr.msg, strlen(rerr.msg) + 1))
                    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
                c->n_rows++;
                continue;
            }
            if (s != DL_OK) {
                *err = rerr;
                return s;
            }
            m->line = row.line;
            m->record = row.record;
            m->bad = false;
            m->first = c->n_vals;
            for (size_t i = 0; i < r->pl.n_need; i++) {
                size_t col = (size_t)r->pl.need[i];
                if (!chunk_add_value(c, row.field[col], row.len[col]))
                    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
            }
            c->n_rows++;
        }
        if (c->n_rows)
            (*filled)++;
    }
    return DL_OK;
}

/* ---- planning ------------------------------------------------------------ */

static int header_index(dl_csv_reader *rd, const char *name)
{
    return dl_csv_find_column(rd, name);
}

static dl_status missing_column(const run *r, dl_csv_reader *rd, const char *what,
                                const char *col, uint32_t line, uint32_t colno, dl_error *err)
{
    const dl_row *h = dl_csv_header(rd);
    const char *near = h ? dl_suggest(col, (const char *const *)h->field, h->n) : NULL;
    if (near)
        return dl_error_set(err, DL_EINPUT, r->spec->path, line, colno,
                            "%s: column '%s' is not in the header of %s (did you mean '%s'?)",
                            what, col, r->o->input, near);
    return dl_error_set(err, DL_EINPUT, r->spec->path, line, colno,
                        "%s: column '%s' is not in the header of %s", what, col, r->o->input);
}

static size_t add_need(plan *p, int col)
{
    for (size_t i = 0; i < p->n_need; i++)
        if (p->need[i] == col)
            return i;
    p->need[p->n_need] = col;
    return p->n_need++;
}

static bool name_in(const char *name, const char **list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], name) == 0)
            return true;
    return false;
}

static dl_status make_plan(run *r, dl_csv_reader *rd, dl_error *err)
{
    const dl_spec *s = r->spec;
    const dl_row *h = dl_csv_header(rd);
    plan *p = &r->pl;
    size_t ncols = h->n;
    p->need = calloc(ncols + 1, sizeof *p->need);
    p->field_val = calloc(s->n_fields + 1, sizeof *p->field_val);
    p->keep_val = calloc(ncols + 1, sizeof *p->keep_val);
    p->keep_names = calloc(ncols + 1, sizeof *p->keep_names);
    if (!p->need || !p->field_val || !p->keep_val || !p->keep_names)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    bool *is_ident = calloc(ncols, sizeof *is_ident);
    if (!is_ident)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    dl_status st = DL_OK;
    for (size_t f = 0; f < s->n_fields && st == DL_OK; f++) {
        if (!s->fields[f].column) {
            p->field_val[f] = SIZE_MAX; /* absent from this dataset */
            continue;
        }
        int col = header_index(rd, s->fields[f].column);
        if (col < 0) {
            char what[96];
            snprintf(what, sizeof what, "field '%s'", s->fields[f].name);
            st = missing_column(r, rd, what, s->fields[f].column, s->fields[f].line,
                                s->fields[f].col, err);
            break;
        }
        p->field_val[f] = add_need(p, col);
        is_ident[col] = true;
    }
    if (st == DL_OK) {
        int col = header_index(rd, s->record_id);
        if (col < 0)
            st = missing_column(r, rd, "input.record_id", s->record_id, 0, 0, err);
        else {
            p->id_val = add_need(p, col);
            is_ident[col] = true;
        }
    }
    if (st == DL_OK && s->n_keep) {
        for (size_t k = 0; k < s->n_keep && st == DL_OK; k++) {
            int col = header_index(rd, s->keep[k]);
            if (col < 0) {
                st = missing_column(r, rd, "content.keep", s->keep[k], 0, 0, err);
                break;
            }
            if (is_ident[col]) {
                st = dl_error_set(err, DL_EINPUT, s->path, 0, 0,
                                  "content.keep names column '%s', which is an identifier "
                                  "(a field's column or the record id): it cannot be kept",
                                  s->keep[k]);
                break;
            }
            p->keep_names[p->n_keep] = s->keep[k];
            p->keep_val[p->n_keep++] = add_need(p, col);
        }
    } else if (st == DL_OK) {
        /* Without a keep list: every column that is not an identifier and
         * not dropped. A drop entry missing from the header is an error, as
         * a misspelt drop would otherwise leak the column it meant. */
        for (size_t d = 0; d < s->n_drop && st == DL_OK; d++)
            if (header_index(rd, s->drop[d]) < 0)
                st = missing_column(r, rd, "content.drop", s->drop[d], 0, 0, err);
        for (size_t col = 0; col < ncols && st == DL_OK; col++) {
            if (is_ident[col] || name_in(h->field[col], s->drop, s->n_drop))
                continue;
            p->keep_names[p->n_keep] = h->field[col];
            p->keep_val[p->n_keep++] = add_need(p, (int)col);
        }
    }
    free(is_ident);
    return st;
}

static void free_plan(plan *p)
{
    free(p->need);
    free(p->field_val);
    free(p->keep_val);
    free(p->keep_names);
}

/* ---- outputs ------------------------------------------------------------ */

enum { OUT_IDS, OUT_CONTENT, OUT_SLFMAP, OUT_REJECTS, N_OUT };
static const char *const out_suffix[N_OUT] = {".ids.csv.gz", ".content.csv.gz",
                                              ".slfmap.csv.gz", ".rejects.csv"};

typedef struct outputs {
    char path[N_OUT][4096];
    dl_outfile *f[N_OUT];
    dl_csv_writer *w[N_OUT];
    dl_outfile_info info[N_OUT];
    uint64_t rows[N_OUT];
} outputs;

static dl_status open_outputs(const run *r, outputs *out, dl_error *err)
{
    for (int i = 0; i < N_OUT; i++) {
        int n = snprintf(out->path[i], sizeof out->path[i], "%s/%s%s", r->o->outdir,
                         r->o->dataset, out_suffix[i]);
        if (n < 0 || (size_t)n >= sizeof out->path[i])
            return dl_error_set(err, DL_EUSAGE, r->o->outdir, 0, 0, "output path too long");
        dl_status s = dl_outfile_create(out->path[i], 0644, &out->f[i], err);
        if (s == DL_OK)
            s = dl_csv_writer_open(out->f[i], NULL, &out->w[i], err);
        if (s != DL_OK)
            return s;
    }
    return DL_OK;
}

static void abort_outputs(outputs *out)
{
    for (int i = 0; i < N_OUT; i++) {
        dl_csv_writer_free(out->w[i]);
        out->w[i] = NULL;
        dl_outfile_abort(out->f[i]);
        out->f[i] = NULL;
    }
}

static dl_status write_headers(const run *r, outputs *out, dl_error *err)
{
    const dl_spec *s = r->spec;
    size_t ncol = dl_encoder_n_columns(r->enc);
    const char **h = calloc(ncol + r->pl.n_keep + 8, sizeof *h);
    if (!h)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    size_t n = 0;
    h[n++] = "slf";
    for (size_t c = 0; c < ncol; c++)
        h[n++] = dl_encoder_column(r->enc, c);
    dl_status st = dl_csv_write_row(out->w[OUT_IDS], n, h, NULL, err);
    n = 0;
    h[n++] = "slf";
    for (size_t k = 0; k < r->pl.n_keep; k++)
        h[n++] = r->pl.keep_names[k];
    if (s->derive_week_of_birth >= 0)
        h[n++] = "week_of_birth";
    if (s->derive_year_of_birth >= 0)
        h[n++] = "year_of_birth";
    if (s->derive_sex >= 0)
        h[n++] = "sex";
    if (st == DL_OK)
        st = dl_csv_write_row(out->w[OUT_CONTENT], n, h, NULL, err);
    const char *m[2] = {s->record_id, "slf"};
    if (st == DL_OK)
        st = dl_csv_write_row(out->w[OUT_SLFMAP], 2, m, NULL, err);
    const char *rj[4] = {"line", "column", "reason", "message"};
    if (st == DL_OK)
        st = dl_csv_write_row(out->w[OUT_REJECTS], 4, rj, NULL, err);
    free(h);
    return st;
}

static dl_status write_batch(run *r, size_t set, outputs *out, dl_prepare_result *res,
                             field_stats *total, dl_error *err)
{
    for (size_t i = 0; i < r->n_filled[set]; i++) {
        chunk *c = &r->chunks[set * r->n_chunks + i];
        const char *p = c->packed.data;
        dl_status s = dl_csv_writer_put_raw(out->w[OUT_IDS], p, c->ids_len, err);
        if (s == DL_OK)
            s = dl_csv_writer_put_raw(out->w[OUT_CONTENT], p + c->ids_len, c->content_len, err);
        if (s == DL_OK)
            s = dl_csv_writer_put_raw(out->w[OUT_SLFMAP], p + c->ids_len + c->content_len,
                                      c->slfmap_len, err);
        if (s == DL_OK && c->rejects.len)
            s = dl_csv_writer_put_raw(out->w[OUT_REJECTS], c->rejects.data, c->rejects.len, err);
        if (s != DL_OK)
            return s;
        res->rows_read += c->n_rows;
        res->rows_written += c->written;
        res->rows_rejected += c->rejected;
        for (size_t f = 0; f < r->spec->n_fields; f++) {
            field_stats *t = &total[f], *cs = &c->stats[f];
            t->ok += cs->ok;
            t->missing += cs->missing;
            t->placeholder += cs->placeholder;
            t->invalid += cs->invalid;
            for (size_t k = 0; k < cs->n_reasons; k++)
                count_reason(t->reasons, &t->n_reasons, cs->reasons[k].reason,
                             cs->reasons[k].n);
        }
    }
    return DL_OK;
}

/* The I/O of a round: write the rows of the I/O set (encoded in the round
 * before), then refill it with the next batch of input. One thread at a
 * time runs it, so the reader, the writers and the totals need no lock;
 * dl_workers_run() orders it after the round before. */
static dl_status io_task(run *r, dl_error *err)
{
    if (r->io_write) {
        dl_status s = write_batch(r, r->io_set, r->out, r->res, r->total, err);
        if (s != DL_OK)
            return s;
        dl_progress_update(r->o->progress, "prepare", r->res->rows_read, 0, "rows");
    }
    r->n_filled[r->io_set] = 0;
    if (r->eof)
        return DL_OK;
    return fill_batch(r, r->io_set, r->rd, &r->eof, err);
}

/* Task 0 is the I/O of the round; task i > 0 encodes chunk i - 1 of the
 * encoding set. The pool hands tasks out in order, so the I/O starts first. */
static dl_status batch_task(size_t task, size_t worker, void *payload, dl_error *err)
{
    run *r = payload;
    if (task == 0)
        return io_task(r, err);
    return chunk_task(r, &r->chunks[r->enc_set * r->n_chunks + task - 1], &r->workers[worker],
                      err);
}

/* ---- the data-quality profile for the manifest -------------------------- */

typedef struct profile_args {
    const run *r;
    const field_stats *total;
    dl_hll **hll;
} profile_args;

static dl_status write_profile(dl_json_writer *jw, dl_error *err, void *payload)
{
    const profile_args *a = payload;
    const run *r = a->r;
    const dl_spec *s = r->spec;
    (void)err;
    dl_jw_object(jw);
    dl_jw_key(jw, "fields");
    dl_jw_array(jw);
    for (size_t f = 0; f < s->n_fields; f++) {
        const field_stats *t = &a->total[f];
        dl_jw_object(jw);
        dl_jw_key(jw, "name");
        dl_jw_string(jw, s->fields[f].name);
        dl_jw_key(jw, "column");
        if (s->fields[f].column)
            dl_jw_string(jw, s->fields[f].column);
        else
            dl_jw_null(jw);
        dl_jw_key(jw, "type");
        dl_jw_string(jw, dl_field_type_name(s->fields[f].type));
        dl_jw_key(jw, "usable");
        dl_jw_uint(jw, t->ok);
        dl_jw_key(jw, "missing");
        dl_jw_uint(jw, t->missing);
        dl_jw_key(jw, "placeholder");
        dl_jw_uint(jw, t->placeholder);
        dl_jw_key(jw, "invalid");
        dl_jw_uint(jw, t->invalid);
        dl_jw_key(jw, "invalid_by_reason");
        dl_jw_object(jw);
        /* Sorted by code so the bytes do not depend on which reason came first. */
        const char *done = "";
        for (size_t pass = 0; pass < t->n_reasons; pass++) {
            const reason_count *best = NULL;
            for (size_t k = 0; k < t->n_reasons; k++)
                if (strcmp(t->reasons[k].reason, done) > 0 &&
                    (!best || strcmp(t->reasons[k].reason, best->reason) < 0))
                    best = &t->reasons[k];
            if (!best)
                break;
            dl_jw_key(jw, best->reason);
            dl_jw_uint(jw, best->n);
            done = best->reason;
        }
        dl_jw_object_end(jw);
        double rows = (double)(t->ok + t->missing + t->placeholder + t->invalid);
        dl_jw_key(jw, "completeness");
        dl_jw_double(jw, rows > 0 ? (double)t->ok / rows : 0.0);
        dl_jw_key(jw, "distinct_tokens_estimate");
        dl_jw_object(jw);
        for (size_t c = 0; c < dl_encoder_n_columns(r->enc); c++) {
            if (dl_encoder_column_field(r->enc, c) != (int)f || !a->hll[c])
                continue;
            dl_jw_key(jw, dl_encoder_column(r->enc, c));
            dl_jw_uint(jw, (uint64_t)(dl_hll_estimate(a->hll[c]) + 0.5));
        }
        dl_jw_object_end(jw);
        dl_jw_object_end(jw);
    }
    dl_jw_array_end(jw);
    dl_jw_object_end(jw);
    return DL_OK;
}

/* ---- the run --------------------------------------------------------- */

bool dl_dataset_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* The run's SLF key: HKDF-SHA256 (RFC 5869) of 32 bytes from the OS random
 * generator, or, with --seed, of SHA-256 of "dolen slf seed v1:SEED", with the
 * dataset name in the info, so datasets prepared with one seed still get
 * unrelated SLFs. docs/keys.md lists it. */
static dl_status init_slf_key(run *r, dl_error *err)
{
    uint8_t k[32];
    if (r->o->has_seed) {
        char text[64];
        int n = snprintf(text, sizeof text, "dolen slf seed v1:%llu",
                         (unsigned long long)r->o->seed);
        dl_sha256(text, (size_t)n, k);
    } else {
        dl_key *rk = NULL;
        dl_status s = dl_key_generate(&rk, err);
        if (s != DL_OK)
            return s;
        dl_key_derive(rk, "slf", k);
        dl_key_free(rk);
    }
    char info[128];
    int n = snprintf(info, sizeof info, "dolen slf aes-128-ctr v2:%s", r->o->dataset);
    bool ok = dl_hkdf_sha256(NULL, 0, k, sizeof k, (const uint8_t *)info, (size_t)n, r->slf_key,
                             sizeof r->slf_key);
    OPENSSL_cleanse(k, sizeof k);
    if (!ok)
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0, "cannot derive the SLF key");
    return DL_OK;
}

static dl_status setup_workers(run *r, size_t n, dl_error *err)
{
    r->n_workers = n;
    r->workers = calloc(n, sizeof *r->workers);
    r->n_chunks = n * CHUNKS_PER_THREAD;
    r->chunks = calloc(2 * r->n_chunks, sizeof *r->chunks);
    if (!r->workers || !r->chunks)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    size_t ncol = dl_encoder_n_columns(r->enc);
    for (size_t i = 0; i < n; i++) {
        worker_ctx *w = &r->workers[i];
        w->enc = dl_encode_ctx_new(r->enc);
        w->hll = calloc(ncol ? ncol : 1, sizeof *w->hll);
        w->slf = malloc((size_t)CHUNK_ROWS * 16);
        w->slf_ctx = EVP_CIPHER_CTX_new();
        if (!w->enc || !w->hll || !w->slf || !w->slf_ctx)
            return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
        if (EVP_EncryptInit_ex(w->slf_ctx, EVP_aes_128_ctr(), NULL, r->slf_key, NULL) != 1)
            return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0, "cannot set up AES-128-CTR");
        for (size_t c = 0; c < ncol; c++)
            if (!dl_encoder_column_is_filter(r->enc, c) && !(w->hll[c] = dl_hll_new()))
                return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    for (size_t i = 0; i < 2 * r->n_chunks; i++) {
        chunk *c = &r->chunks[i];
        c->meta = calloc(CHUNK_ROWS, sizeof *c->meta);
        c->stats = calloc(r->spec->n_fields ? r->spec->n_fields : 1, sizeof *c->stats);
        if (!c->meta || !c->stats)
            return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    }
    return DL_OK;
}

static void free_run(run *r)
{
    size_t ncol = r->enc ? dl_encoder_n_columns(r->enc) : 0;
    for (size_t i = 0; r->workers && i < r->n_workers; i++) {
        dl_encode_ctx_free(r->workers[i].enc);
        /* EVP_CIPHER_CTX_free cleanses the key schedule. */
        EVP_CIPHER_CTX_free(r->workers[i].slf_ctx);
        if (r->workers[i].slf)
            OPENSSL_cleanse(r->workers[i].slf, (size_t)CHUNK_ROWS * 16);
        free(r->workers[i].slf);
        if (r->workers[i].hll)
            for (size_t c = 0; c < ncol; c++)
                dl_hll_free(r->workers[i].hll[c]);
        free(r->workers[i].hll);
        dl_buf_free(&r->workers[i].ids);
        dl_buf_free(&r->workers[i].content);
        /* The slfmap text pairs local record ids with SLFs: wipe it. */
        if (r->workers[i].slfmap.data)
            OPENSSL_cleanse(r->workers[i].slfmap.data, r->workers[i].slfmap.cap);
        dl_buf_free(&r->workers[i].slfmap);
    }
    free(r->workers);
    for (size_t i = 0; r->chunks && i < 2 * r->n_chunks; i++) {
        chunk *c = &r->chunks[i];
        /* Chunks held clear identifiers: wipe them before they go back to malloc. */
        if (c->text.data)
            OPENSSL_cleanse(c->text.data, c->text.cap);
        dl_buf_free(&c->text);
        dl_buf_free(&c->errs);
        dl_buf_free(&c->rejects);
        dl_buf_free(&c->packed);
        free(c->val_off);
        free(c->val_len);
        free(c->meta);
        free(c->stats);
    }
    free(r->chunks);
    free_plan(&r->pl);
    dl_encoder_free(r->enc);
    OPENSSL_cleanse(r->slf_key, sizeof r->slf_key);
}

static dl_status finish(run *r, outputs *out, dl_csv_reader *rd, const dl_prepare_result *res,
                        const field_stats *total, dl_error *err)
{
    out->rows[OUT_IDS] = out->rows[OUT_CONTENT] = out->rows[OUT_SLFMAP] = res->rows_written;
    out->rows[OUT_REJECTS] = res->rows_rejected;
    if (res->rows_read != res->rows_written + res->rows_rejected)
        return dl_error_set(err, DL_EINTERNAL, r->o->input, 0, 0,
                            "row accounting does not add up: %llu read, %llu written, %llu "
                            "rejected",
                            (unsigned long long)res->rows_read,
                            (unsigned long long)res->rows_written,
                            (unsigned long long)res->rows_rejected);
    for (int i = 0; i < N_OUT; i++) {
        dl_status s = dl_csv_writer_close(out->w[i], err);
        out->w[i] = NULL;
        if (s != DL_OK)
            return s;
    }
    /* Merge the workers' distinct counters: max of registers, so the estimate
     * does not depend on which thread saw which row. */
    size_t ncol = dl_encoder_n_columns(r->enc);
    for (size_t w = 1; w < r->n_workers; w++)
        for (size_t c = 0; c < ncol; c++)
            if (r->workers[0].hll[c])
                dl_hll_merge(r->workers[0].hll[c], r->workers[w].hll[c]);

    dl_manifest *m = NULL;
    dl_status s = dl_manifest_new("prepare", &m, err);
    if (s != DL_OK)
        return s;
    char hash[65], fp[17];
    dl_spec_hash_hex(r->spec, hash);
    dl_key_fingerprint(r->o->key, fp);
    profile_args pa = {r, total, r->workers[0].hll};
    s = dl_manifest_set_dataset(m, r->o->dataset, err);
    if (s == DL_OK)
        s = dl_manifest_set_spec_hash(m, hash, err);
    if (s == DL_OK)
        s = dl_manifest_set_key_fingerprint(m, fp, err);
    if (s == DL_OK)
        s = dl_manifest_add_input(m, r->o->input, res->rows_read, NULL, err);
    if (s == DL_OK)
        s = dl_manifest_set_accounting(m, res->rows_read, res->rows_written, res->rows_rejected,
                                       err);
    if (s == DL_OK)
        s = dl_manifest_set_extra_fn(m, "profile", write_profile, &pa, err);
    (void)rd;
    /* The outputs are committed first so their sizes and hashes are final;
     * should the manifest then fail, the run reports failure and the
     * custodian reruns: outputs without a manifest are refused by link. */
    for (int i = 0; i < N_OUT && s == DL_OK; i++) {
        s = dl_outfile_commit(out->f[i], &out->info[i], err);
        out->f[i] = NULL;
        const char *slash = strrchr(out->path[i], '/');
        if (s == DL_OK)
            s = dl_manifest_add_output(m, slash ? slash + 1 : out->path[i], out->rows[i],
                                       &out->info[i], err);
    }
    if (s == DL_OK) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.manifest.json", r->o->outdir, r->o->dataset);
        s = dl_manifest_write(m, path, NULL, err);
    }
    dl_manifest_free(m);
    return s;
}

dl_status dl_prepare_run(const dl_prepare_opts *o, dl_prepare_result *res, dl_error *err)
{
    dl_prepare_result local;
    if (!res)
        res = &local;
    memset(res, 0, sizeof *res);
    uint64_t t0 = dl_now_ns();
    if (!dl_dataset_name_valid(o->dataset))
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "dataset name '%s' must be 1 to 64 letters, digits, '_' or '-'",
                            o->dataset);
    struct stat st;
    if (stat(o->outdir, &st) != 0 && mkdir(o->outdir, 0755) != 0)
        return dl_error_os(err, DL_EIO, errno, o->outdir, "cannot create the output folder");
    if (stat(o->outdir, &st) != 0 || !S_ISDIR(st.st_mode))
        return dl_error_set(err, DL_EUSAGE, o->outdir, 0, 0,
                            "the output path exists and is not a folder");

    run r;
    memset(&r, 0, sizeof r);
    r.o = o;
    r.spec = o->spec;
    r.delim = ',';
    outputs out;
    memset(&out, 0, sizeof out);
    dl_csv_reader *rd = NULL;
    field_stats *total = calloc(o->spec->n_fields ? o->spec->n_fields : 1, sizeof *total);
    dl_workers *pool = NULL;
    dl_status s = total ? DL_OK : dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");

    dl_csv_opts co = DL_CSV_OPTS_INIT;
    co.delimiter = o->spec->delimiter ? o->spec->delimiter : ',';
    co.trim = o->spec->trim;
    co.max_field = o->spec->max_field_bytes ? o->spec->max_field_bytes : 65536;
    if (s == DL_OK)
        s = dl_csv_open(o->input, &co, &rd, err);
    if (s == DL_OK)
        s = dl_encoder_new(o->spec, o->key, o->today, &r.enc, err);
    if (s == DL_OK)
        s = make_plan(&r, rd, err);
    if (s == DL_OK)
        s = init_slf_key(&r, err);
    if (s == DL_OK) {
        pool = dl_workers_new(o->threads);
        if (!pool)
            s = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "cannot start worker threads");
    }
    if (s == DL_OK)
        s = setup_workers(&r, dl_workers_count(pool), err);
    if (s == DL_OK)
        s = open_outputs(&r, &out, err);
    if (s == DL_OK)
        s = write_headers(&r, &out, err);
    r.rd = rd;
    r.out = &out;
    r.res = res;
    r.total = total;
    if (s == DL_OK)
        s = fill_batch(&r, 0, rd, &r.eof, err);
    /* Each round encodes one set while task 0 writes the other set's rows
     * (encoded in the round before) and refills it. */
    bool have_prev = false;
    r.enc_set = 0;
    while (s == DL_OK && r.n_filled[r.enc_set]) {
        r.io_set = r.enc_set ^ 1;
        r.io_write = have_prev;
        s = dl_workers_run(pool, 1 + r.n_filled[r.enc_set], batch_task, &r, err);
        have_prev = true;
        r.enc_set ^= 1;
    }
    if (s == DL_OK && have_prev) {
        s = write_batch(&r, r.enc_set ^ 1, &out, res, total, err);
        dl_progress_update(o->progress, "prepare", res->rows_read, 0, "rows");
    }
    res->input_bytes = rd ? dl_csv_bytes_in(rd) : 0;
    if (s == DL_OK)
        s = finish(&r, &out, rd, res, total, err);
    if (s != DL_OK)
        abort_outputs(&out);
    else
        dl_progress_done(o->progress, "prepare", res->rows_read, 0, "rows");
    res->threads = pool ? dl_workers_count(pool) : 0;
    res->seconds = (double)(dl_now_ns() - t0) / 1e9;
    dl_workers_free(pool);
    dl_csv_close(rd);
    free_run(&r);
    free(total);
    return s;
}
