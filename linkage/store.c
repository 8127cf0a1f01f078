/* store.c: load ids files into a columnar store (tokens, Bloom bits, SLFs).
 * Part of linkage/; the first step of `dolen link`: blocking, comparison and
 * clustering all read the dl_store this builds. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dolen/bloom.h"
#include "dolen/csv.h"
#include "dolen/hexb64.h"
#include "dolen/manifest.h"
#include "dolen/prepare.h"
#include "dolen/sha256.h"
#include "linkage/link_internal.h"

#define IDS_SUFFIX ".ids.csv.gz"
#define MANIFEST_SUFFIX ".manifest.json"
#define SLF_HEX 32
#define TOKEN_HEX 16
/* Rows between progress reports and updates of the shared row counter. */
#define PROGRESS_ROWS 65536

/* What the manifest of one file promised, and what its parse found. */
typedef struct file_job {
    const char *path;
    uint64_t rows;           /* data rows of the ids file, from the manifest */
    uint64_t bytes;          /* its size and SHA-256, from the manifest */
    uint8_t sha256[32];
    uint8_t *max_set;        /* per store column: most tokens in one cell seen */
} file_job;

typedef struct loader {
    const dl_spec *spec;
    dl_store *s;
    file_job *jobs;
    dl_progress *progress;
    uint64_t total;
    atomic_uint_fast64_t done;
} loader;

static dl_status nomem(dl_error *err)
{
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory loading ids files");
}

static const char *base_name(const char *path)
{
    const char *sl = strrchr(path, '/');
    return sl ? sl + 1 : path;
}

/* ---- decoding cells ----------------------------------------------------- */

/* Whether C is a hex digit (either case, as dl_hex_decode accepts). */
static inline bool is_hex(unsigned char c)
{
    return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

/* Offset of the first non-hex digit among the LEN bytes at P (LEN if none). */
static size_t first_bad_hex(const unsigned char *p, size_t len)
{
    size_t i = 0;
    while (i < len && is_hex(p[i]))
        i++;
    return i;
}

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Eight hex digits, the first in the lowest byte of X, as a 32-bit value;
 * *OK cleared when one is not a hex digit. SWAR: every byte is checked and
 * converted at once, so a token costs a few dozen instructions and no
 * branch per digit (strtoull would be several times slower). A byte is in
 * [LO, HI] (both < 0x80) when x + (0x80 - LO) sets its top bit and
 * x + (0x7f - HI) does not; bytes below 0x80 never carry into the next. */
static inline uint32_t hex8(uint64_t x, bool *ok)
{
    uint64_t lower = x | ONES * 0x20; /* 'A'-'F' -> 'a'-'f'; digits keep 0x20 */
    uint64_t digit = (x + ONES * (0x80 - '0')) & ~(x + ONES * (0x7f - '9'));
    uint64_t letter = (lower + ONES * (0x80 - 'a')) & ~(lower + ONES * (0x7f - 'f'));
    /* a byte of 0x80 or more is bad whatever its neighbours' sums say */
    if (((digit | letter) & ~x & HIGHS) != HIGHS)
        *ok = false;
    /* digits: low nibble; letters (bit 6 set): low nibble + 9 */
    uint64_t v = (x & ONES * 0x0f) + 9 * ((x >> 6) & ONES);
    v = ((v << 4) | (v >> 8)) & 0x00ff00ff00ff00ffull;
    v = ((v << 8) | (v >> 16)) & 0x0000ffff0000ffffull;
    v = ((v << 16) | (v >> 32)) & 0xffffffffull;
    return (uint32_t)v;
}

static inline uint64_t load_le64(const unsigned char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    x = __builtin_bswap64(x);
#endif
    return x;
}

/* The 16 hex digits at P as a big-endian 64-bit value (how prepare writes a
 * token). False when one is not a hex digit. */
static inline bool hex_u64(const unsigned char *p, uint64_t *out)
{
    bool ok = true;
    uint64_t hi = hex8(load_le64(p), &ok);
    *out = hi << 32 | hex8(load_le64(p + 8), &ok);
    return ok;
}

/* 1-based byte column of offset OFF in field F of ROW. ids files are never
 * quoted (hex and base64 hold no delimiter or quote), so the field's bytes sit
 * in the line after every earlier field and its comma. */
static uint64_t byte_col(const dl_row *row, size_t f, size_t off)
{
    uint64_t c = 1;
    for (size_t i = 0; i < f; i++)
        c += row->len[i] + 1;
    return c + off;
}

static dl_status bad_token(const dl_store_col *c, const dl_row *row, size_t f, size_t pos,
                           const char *path, dl_error *err)
{
    const unsigned char *p = (const unsigned char *)row->field[f];
    size_t len = row->len[f], avail = len - pos < TOKEN_HEX ? len - pos : TOKEN_HEX;
    /* the first bad digit, or (sixteen good ones) the separator after them */
    size_t at = pos + first_bad_hex(p + pos, avail);
    return dl_error_set(err, DL_EINPUT, path, row->line, byte_col(row, f, at),
                        "bad token in column '%s' (expected 16 hex digits%s)", c->name,
                        c->stride > 1 ? " per token, separated by single spaces" : "");
}

static dl_status zero_token(const dl_store_col *c, const dl_row *row, size_t f, size_t pos,
                            const char *path, dl_error *err)
{
    return dl_error_set(err, DL_EINPUT, path, row->line, byte_col(row, f, pos),
                        "token 0 in column '%s' (0 marks a missing value; prepare never "
                        "writes it)",
                        c->name);
}

/* Decode token cell F of ROW into STRIDE slots at OUT: up to STRIDE tokens
 * separated by single spaces, stored ascending with unused slots 0. *COUNT
 * gets how many there were. */
static dl_status decode_tokens(const dl_store_col *c, const dl_row *row, size_t f,
                               const char *path, uint64_t *out, uint8_t *count, dl_error *err)
{
    const unsigned char *p = (const unsigned char *)row->field[f];
    size_t len = row->len[f];
    uint64_t v;
    /* The common cases first: one token, or none. */
    if (c->stride == 1 && len == TOKEN_HEX) {
        if (!hex_u64(p, &v))
            return bad_token(c, row, f, 0, path, err);
        if (v == 0)
            return zero_token(c, row, f, 0, path, err);
        out[0] = v;
        *count = 1;
        return DL_OK;
    }
    uint64_t t[DL_TOKEN_SET_MAX] = {0};
    size_t n = 0, pos = 0;
    while (pos < len) {
        if (n == c->stride)
            return dl_error_set(err, DL_EINPUT, path, row->line, byte_col(row, f, pos),
                                "column '%s' holds more than %u token%s (expected at most "
                                "%u, separated by single spaces)",
                                c->name, (unsigned)c->stride, c->stride == 1 ? "" : "s",
                                (unsigned)c->stride);
        if (len - pos < TOKEN_HEX || !hex_u64(p + pos, &v))
            return bad_token(c, row, f, pos, path, err);
        if (v == 0)
            return zero_token(c, row, f, pos, path, err);
        /* Insertion keeps the slots ascending: at most four, so no sort call. */
        size_t k = n++;
        while (k > 0 && t[k - 1] > v) {
            t[k] = t[k - 1];
            k--;
        }
        t[k] = v;
        pos += TOKEN_HEX;
        if (pos < len && (p[pos] != ' ' || pos + 1 == len))
            return bad_token(c, row, f, pos - TOKEN_HEX, path, err);
        pos++;
    }
    for (size_t k = 0; k < c->stride; k++)
        out[k] = t[k];
    *count = (uint8_t)n;
    return DL_OK;
}

/* Decode filter cell F of ROW (base64 of the filter's bytes) straight into
 * record R's words, and count its bits. */
static dl_status decode_filter(dl_store_col *c, const dl_row *row, size_t f, size_t r,
                               const char *path, dl_error *err)
{
    uint64_t *w = c->bits + r * c->words;
    const char *p = row->field[f];
    size_t len = row->len[f], nbytes = c->words * 8;
    if (len == 0) {
        memset(w, 0, nbytes);
        c->pop[r] = 0;
        return DL_OK;
    }
    size_t want = dl_b64_encoded_len(nbytes);
    if (len != want)
        return dl_error_set(err, DL_EINPUT, path, row->line, byte_col(row, f, 0),
                            "filter in column '%s' has %zu base64 characters (expected %zu: "
                            "%zu bits)",
                            c->name, len, want, nbytes * 8);
    /* Whole groups decode into the column itself; the last group, which may
     * carry padding, goes through a 3-byte scratch so that nothing is written
     * past this record's words (the next record may belong to another file,
     * filled by another thread). */
    size_t head = want - 4, got = 0, bad = 0;
    uint8_t *dst = (uint8_t *)w;
    if (!dl_b64_decode(p, head, dst, &got, &bad))
        goto bad_b64;
    uint8_t last[3];
    size_t tail = 0;
    if (!dl_b64_decode(p + head, 4, last, &tail, &bad)) {
        bad += head;
        goto bad_b64;
    }
    if (got + tail != nbytes) {
        bad = want - 1;
        goto bad_b64;
    }
    memcpy(dst + got, last, tail);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    for (size_t i = 0; i < c->words; i++)
        w[i] = __builtin_bswap64(w[i]);
#endif
    c->pop[r] = (uint32_t)dl_popcount_words(w, c->words);
    return DL_OK;
bad_b64:
    return dl_error_set(err, DL_EINPUT, path, row->line, byte_col(row, f, bad),
                        "bad base64 in column '%s' (expected padded standard base64 of %zu "
                        "bytes)",
                        c->name, nbytes);
}

static dl_status decode_slf(const dl_row *row, size_t f, const char *path, uint8_t out[16],
                           dl_error *err)
{
    size_t bad = 0;
    if (row->len[f] != SLF_HEX || !dl_hex_decode(row->field[f], SLF_HEX, out, &bad)) {
        if (row->len[f] != SLF_HEX)
            bad = first_bad_hex((const unsigned char *)row->field[f], row->len[f]);
        return dl_error_set(err, DL_EINPUT, path, row->line, byte_col(row, f, bad),
                            "bad SLF (expected 32 hex digits)");
    }
    return DL_OK;
}

/* ---- one file ------------------------------------------------------------- */

/* Compare the ids file's size and SHA-256 with its manifest. Only the ids
 * file: the content, slfmap and rejects files that the same manifest lists
 * never reach the linkage unit, so dl_manifest_verify would demand files
 * that are rightly absent. */
static dl_status check_sum(const file_job *j, dl_error *err)
{
    uint8_t sha[32];
    uint64_t bytes = 0;
    dl_status s = dl_sha256_file_size(j->path, sha, &bytes, err);
    if (s != DL_OK)
        return s;
    if (bytes != j->bytes)
        return dl_error_set(err, DL_EINPUT, j->path, 0, 0,
                            "file has %llu bytes but its manifest says %llu (changed or "
                            "truncated since prepare wrote it)",
                            (unsigned long long)bytes, (unsigned long long)j->bytes);
    if (memcmp(sha, j->sha256, 32) != 0)
        return dl_error_set(err, DL_EINPUT, j->path, 0, 0,
                            "SHA-256 differs from its manifest's (the file changed since "
                            "prepare wrote it)");
    return DL_OK;
}

/* Parse file FI into its records of the store. */
static dl_status parse_file(loader *L, size_t fi, size_t worker, dl_error *err)
{
    dl_store *s = L->s;
    file_job *j = &L->jobs[fi];
    const char *path = j->path;
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    /* Every cell is decoded and checked byte by byte below: a UTF-8 pass
     * would only cost time. */
    o.check_utf8 = false;
    dl_csv_reader *rd = NULL;
    int *src = NULL;
    dl_status st = dl_csv_open(path, &o, &rd, err);
    if (st != DL_OK)
        return st;
    src = malloc((s->n_cols + 1) * sizeof *src);
    if (!src) {
        st = nomem(err);
        goto done;
    }
    int slf_f = dl_csv_find_column(rd, "slf");
    if (slf_f < 0) {
        st = dl_error_set(err, DL_EINPUT, path, 1, 0,
                          "header has no column 'slf' (expected an ids file written by "
                          "prepare)");
        goto done;
    }
    for (size_t c = 0; c < s->n_cols; c++) {
        src[c] = dl_csv_find_column(rd, s->cols[c].name);
        if (src[c] < 0) {
            st = dl_error_set(err, DL_EINPUT, path, 1, 0,
                              "header has no column '%s', which the spec's comparisons or "
                              "blocking rules use",
                              s->cols[c].name);
            goto done;
        }
    }

    const size_t first = s->files[fi].first, end = first + s->files[fi].n;
    size_t r = first;
    uint64_t since = 0;
    dl_row row;
    while ((st = dl_csv_next(rd, &row, err)) != DL_END) {
        if (st == DL_EROW) {
            /* A bad row of an ids file is a corrupt file, not a reject. */
            if (err)
                err->code = DL_EINPUT;
            st = DL_EINPUT;
        }
        if (st != DL_OK)
            goto done;
        if (r == end) {
            st = dl_error_set(err, DL_EINPUT, path, row.line, 0,
                              "more rows than the %llu its manifest lists",
                              (unsigned long long)j->rows);
            goto done;
        }
        if ((st = decode_slf(&row, (size_t)slf_f, path, s->slf[r], err)))
            goto done;
        s->file_of[r] = (uint16_t)fi;
        for (size_t c = 0; c < s->n_cols; c++) {
            dl_store_col *col = &s->cols[c];
            if (col->filter) {
                st = decode_filter(col, &row, (size_t)src[c], r, path, err);
            } else {
                uint8_t n = 0;
                st = decode_tokens(col, &row, (size_t)src[c], path, col->tok + r * col->stride,
                                   &n, err);
                if (n > j->max_set[c])
                    j->max_set[c] = n;
            }
            if (st != DL_OK)
                goto done;
        }
        r++;
        if (++since == PROGRESS_ROWS) {
            uint64_t d = atomic_fetch_add(&L->done, since) + since;
            since = 0;
            /* Only the pool's thread 0 reports: the sink is single-threaded. */
            if (worker == 0)
                dl_progress_update(L->progress, "load", d, L->total, "rows");
        }
    }
    st = DL_OK;
    atomic_fetch_add(&L->done, since);
    if (r != end)
        st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                          "%llu rows but its manifest lists %llu (file truncated?)",
                          (unsigned long long)(r - first), (unsigned long long)j->rows);
done:
    free(src);
    dl_csv_close(rd);
    return st;
}

/* Task 2k checks file k's checksum, task 2k + 1 parses it: both read the
 * same file, so on two cores the hash costs no wall time. A tampered file
 * whose parse also fails reports the checksum (the lower task number). */
static dl_status load_task(size_t task, size_t worker, void *payload, dl_error *err)
{
    loader *L = payload;
    if (task % 2 == 0)
        return check_sum(&L->jobs[task / 2], err);
    return parse_file(L, task / 2, worker, err);
}

/* ---- manifests -------------------------------------------------------------- */

/* Load and check the manifest beside PATHS[FI]; fill file FI and job FI. */
static dl_status read_manifest(loader *L, size_t fi, const char *hash, dl_error *err)
{
    dl_store *s = L->s;
    file_job *j = &L->jobs[fi];
    const char *path = j->path;
    size_t pl = strlen(path), sl = strlen(IDS_SUFFIX);
    const char *base = base_name(path);
    if (pl <= sl || strcmp(path + pl - sl, IDS_SUFFIX) != 0 || strlen(base) <= sl)
        return dl_error_set(err, DL_EUSAGE, path, 0, 0,
                            "expected an ids file NAME" IDS_SUFFIX " written by prepare");
    if (pl >= sizeof s->files[fi].path)
        return dl_error_set(err, DL_EUSAGE, path, 0, 0, "path too long (at most %zu bytes)",
                            sizeof s->files[fi].path - 1);
    char mpath[sizeof s->files[fi].path + sizeof MANIFEST_SUFFIX];
    snprintf(mpath, sizeof mpath, "%.*s%s", (int)(pl - sl), path, MANIFEST_SUFFIX);

    dl_manifest *m = NULL;
    dl_status st = dl_manifest_load(mpath, &m, err);
    if (st == DL_EIO)
        return dl_error_os(err, DL_EINPUT, err ? err->os_errno : 0, mpath,
                           "cannot read the manifest of %s (prepare writes it beside the "
                           "ids file; it must travel with it)",
                           base);
    if (st != DL_OK)
        return st;
    const char *ds = dl_manifest_dataset(m), *sh = dl_manifest_spec_hash(m);
    const char *fp = dl_manifest_key_fingerprint(m);
    const dl_manifest_output *out = NULL;
    for (size_t i = 0; i < dl_manifest_n_outputs(m); i++) {
        const dl_manifest_output *o = dl_manifest_output_at(m, i);
        if (strcmp(o->name, base) == 0)
            out = o;
    }
    if (!ds || !sh || !fp) {
        st = dl_error_set(err, DL_EINPUT, mpath, 0, 0,
                          "manifest has no %s (expected one written by prepare)",
                          !ds ? "dataset" : !sh ? "spec_sha256" : "key_fingerprint");
    } else if (strcmp(sh, hash) != 0) {
        st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                          "prepared under spec %.12s but the linkage spec's hash is %.12s "
                          "(prepare and link must use the same spec)",
                          sh, hash);
    } else if (fi > 0 && strcmp(fp, s->key_fingerprint) != 0) {
        st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                          "prepared with key %s but %s with key %s (every file must be "
                          "prepared with one linkage key)",
                          fp, base_name(L->jobs[0].path), s->key_fingerprint);
    } else if (!out || out->rows == DL_MANIFEST_NO_ROWS) {
        st = dl_error_set(err, DL_EINPUT, mpath, 0, 0,
                          "manifest lists no table named %s (the ids file was renamed?)",
                          base);
    } else if (out->rows == 0) {
        st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                          "no records (every row was rejected in prepare, or the input "
                          "was empty; an empty dataset cannot be linked)");
    } else if (!dl_dataset_name_valid(ds)) {
        st = dl_error_set(err, DL_EINPUT, mpath, 0, 0,
                          "bad dataset name (expected 1 to 64 letters, digits, '_' or '-')");
    }
    for (size_t k = 0; st == DL_OK && k < fi; k++)
        if (strcmp(s->files[k].dataset, ds) == 0)
            st = dl_error_set(err, DL_EINPUT, path, 0, 0,
                              "dataset '%s' is also %s (each dataset may be given once)", ds,
                              base_name(L->jobs[k].path));
    if (st == DL_OK) {
        if (fi == 0)
            snprintf(s->key_fingerprint, sizeof s->key_fingerprint, "%s", fp);
        memcpy(s->files[fi].path, path, pl + 1);
        snprintf(s->files[fi].dataset, sizeof s->files[fi].dataset, "%s", ds);
        j->rows = out->rows;
        j->bytes = out->bytes;
        memcpy(j->sha256, out->sha256, 32);
    }
    dl_manifest_free(m);
    return st;
}

/* ---- columns ----------------------------------------------------------------- */

static void mark(bool used[][DL_FEAT__COUNT], dl_feature_ref r)
{
    if (r.field < DL_SPEC_MAX_FIELDS && (unsigned)r.kind < DL_FEAT__COUNT)
        used[r.field][r.kind] = true;
}

static void mark_rules(bool used[][DL_FEAT__COUNT], const dl_blocking_rule *rules, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t t = 0; t < rules[i].n_terms; t++)
            mark(used, rules[i].terms[t]);
}

/* The columns SPEC uses, in spec order (fields, then each field's features):
 * the store's layout depends only on the spec. */
static dl_status plan_columns(const dl_spec *spec, dl_store *s, dl_error *err)
{
    bool used[DL_SPEC_MAX_FIELDS][DL_FEAT__COUNT];
    memset(used, 0, sizeof used);
    for (size_t i = 0; i < spec->n_comparisons; i++) {
        const dl_spec_comparison *c = &spec->comparisons[i];
        for (size_t l = 0; l < c->n_levels; l++)
            for (size_t t = 0; t < c->levels[l].n_terms; t++)
                mark(used, c->levels[l].terms[t]);
        mark(used, c->null_if);
        if (c->has_tf)
            mark(used, c->tf_feature);
    }
    mark_rules(used, spec->rules, spec->n_rules);
    mark_rules(used, spec->em_rules, spec->n_em_rules);

    size_t n = 0;
    for (size_t f = 0; f < spec->n_fields; f++)
        for (size_t k = 0; k < spec->fields[f].n_features; k++)
            n += used[f][spec->fields[f].features[k]];
    s->cols = calloc(n ? n : 1, sizeof *s->cols);
    if (!s->cols)
        return nomem(err);
    for (size_t f = 0; f < spec->n_fields; f++) {
        const dl_spec_field *fd = &spec->fields[f];
        for (size_t k = 0; k < fd->n_features; k++) {
            dl_feature_kind kind = fd->features[k];
            if (!used[f][kind])
                continue;
            dl_store_col *c = &s->cols[s->n_cols];
            snprintf(c->name, sizeof c->name, "%s.%s", fd->name, dl_feature_name(kind));
            c->field = (int)f;
            c->kind = kind;
            c->filter = kind == DL_FEAT_BLOOM;
            if (c->filter) {
                c->words = dl_bloom_out_bits(&fd->bloom) / 64;
                if (c->words == 0)
                    return dl_error_set(err, DL_EINTERNAL, spec->path, fd->line, fd->col,
                                        "field '%s' has Bloom options no encoder accepts",
                                        fd->name);
            } else {
                c->stride = dl_feature_is_set(kind) ? DL_TOKEN_SET_MAX : 1;
            }
            s->col_of[f][kind] = (int)s->n_cols++;
        }
    }
    return DL_OK;
}

void *dl__alloc_large(size_t bytes)
{
#ifdef MADV_HUGEPAGE
    const size_t huge = (size_t)1 << 21;
    if (bytes >= huge) {
        bytes = (bytes + huge - 1) / huge * huge;
        void *v = aligned_alloc(huge, bytes);
        if (v)
            (void)madvise(v, bytes, MADV_HUGEPAGE); /* advice only: fine if refused */
        return v;
    }
#endif
    /* aligned_alloc wants a multiple of the alignment */
    return aligned_alloc(64, bytes ? (bytes + 63) / 64 * 64 : 64);
}

/* Allocate every column for S->n records, sized exactly from the manifests'
 * row counts: no growing, no copying. Filters are read at random (a block's
 * records are scattered over the store), so they go in huge pages. */
static dl_status alloc_columns(dl_store *s, dl_error *err)
{
    size_t n = s->n;
    s->file_of = malloc(n * sizeof *s->file_of);
    s->slf = malloc(n * sizeof *s->slf);
    if (!s->file_of || !s->slf)
        return nomem(err);
    for (size_t c = 0; c < s->n_cols; c++) {
        dl_store_col *col = &s->cols[c];
        if (col->filter) {
            if (col->words > SIZE_MAX / 8 / n)
                return nomem(err);
            col->bits = dl__alloc_large(n * col->words * 8);
            col->pop = malloc(n * sizeof *col->pop);
            if (!col->bits || !col->pop)
                return nomem(err);
        } else {
            col->tok = malloc(n * col->stride * sizeof *col->tok);
            if (!col->tok)
                return nomem(err);
        }
    }
    return DL_OK;
}

/* Narrow set columns to the largest set actually seen (dmetaphone rarely has
 * two codes, variant groups one or two): memory is then what the data needs.
 * Slots are packed in place front to back (the new stride is never larger). */
static void narrow_sets(dl_store *s, const file_job *jobs)
{
    for (size_t c = 0; c < s->n_cols; c++) {
        dl_store_col *col = &s->cols[c];
        if (col->filter || col->stride == 1)
            continue;
        uint8_t m = 1;
        for (size_t f = 0; f < s->n_files; f++)
            if (jobs[f].max_set[c] > m)
                m = jobs[f].max_set[c];
        if (m >= col->stride)
            continue;
        for (size_t r = 0; r < s->n; r++)
            memmove(col->tok + r * m, col->tok + r * col->stride, m * sizeof *col->tok);
        col->stride = m;
        uint64_t *t = realloc(col->tok, s->n * m * sizeof *t);
        if (t)
            col->tok = t;
    }
}

/* ---- duplicate SLFs ------------------------------------------------------ */

/* Physical line of data record REC (1-based) of PATH: read again, only when
 * reporting a duplicate, so the load keeps no line numbers. */
static uint64_t record_line(const char *path, uint64_t rec)
{
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.check_utf8 = false;
    dl_csv_reader *rd = NULL;
    dl_error e = DL_ERROR_INIT;
    uint64_t line = rec + 1; /* one header line, one line per record */
    if (dl_csv_open(path, &o, &rd, &e) != DL_OK)
        return line;
    dl_row row;
    dl_status st;
    while ((st = dl_csv_next(rd, &row, &e)) == DL_OK || st == DL_EROW)
        if (st == DL_OK && row.record == rec) {
            line = row.line;
            break;
        }
    dl_csv_close(rd);
    return line;
}

/* Every SLF must be unique across all files: two equal ones mean a file was
 * given twice under another name or was forged. An open-addressing set of
 * record numbers keyed by the SLF's first 8 bytes (random bits already),
 * filled in record order, so the pair reported does not depend on threads. */
static dl_status check_duplicates(const dl_store *s, dl_error *err)
{
    size_t cap = 16;
    while (cap < 2 * s->n)
        cap *= 2;
    uint32_t *slot = calloc(cap, sizeof *slot);
    if (!slot)
        return nomem(err);
    dl_status st = DL_OK;
    for (size_t r = 0; r < s->n; r++) {
        uint64_t h;
        memcpy(&h, s->slf[r], 8);
        size_t i = (size_t)((h * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
        while (slot[i] && memcmp(s->slf[slot[i] - 1], s->slf[r], 16) != 0)
            i = (i + 1) & (cap - 1);
        if (!slot[i]) {
            slot[i] = (uint32_t)(r + 1);
            continue;
        }
        size_t q = slot[i] - 1;
        const dl_store_file *a = &s->files[s->file_of[q]], *b = &s->files[s->file_of[r]];
        uint64_t la = record_line(a->path, q - a->first + 1);
        uint64_t lb = record_line(b->path, r - b->first + 1);
        st = dl_error_set(err, DL_EINPUT, b->path, lb, 1,
                          "duplicate SLF: the same as %s line %llu (expected every SLF once "
                          "across all files)",
                          base_name(a->path), (unsigned long long)la);
        break;
    }
    free(slot);
    return st;
}

/* ---- the store ----------------------------------------------------------- */

dl_status dl__store_load(const dl_spec *spec, size_t n_paths, const char *const *paths,
                         dl_workers *workers, dl_progress *progress, dl_store **out,
                         dl_error *err)
{
    *out = NULL;
    if (n_paths == 0)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "no ids files to load");
    if (n_paths > UINT16_MAX)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "%zu ids files (at most %u can be linked at once)", n_paths,
                            (unsigned)UINT16_MAX);
    dl_status st = DL_OK;
    loader L;
    memset(&L, 0, sizeof L);
    atomic_init(&L.done, 0);
    L.spec = spec;
    L.progress = progress;
    dl_store *s = calloc(1, sizeof *s);
    if (!s)
        return nomem(err);
    L.s = s;
    memset(s->col_of, 0xff, sizeof s->col_of); /* every entry -1 */
    s->clk_col = -1;
    s->files = calloc(n_paths, sizeof *s->files);
    L.jobs = calloc(n_paths, sizeof *L.jobs);
    if (!s->files || !L.jobs) {
        st = nomem(err);
        goto fail;
    }
    s->n_files = n_paths;
    dl_spec_hash_hex(spec, s->spec_hash);

    uint64_t total = 0;
    for (size_t f = 0; f < n_paths; f++) {
        L.jobs[f].path = paths[f];
        if ((st = read_manifest(&L, f, s->spec_hash, err)))
            goto fail;
        s->files[f].first = (size_t)total;
        s->files[f].n = (size_t)L.jobs[f].rows;
        total += L.jobs[f].rows;
        /* Pairs hold record numbers as uint32_t. */
        if (total >= UINT32_MAX) {
            st = dl_error_set(err, DL_EINPUT, paths[f], 0, 0,
                              "more than %u records in all (the most one link run takes)",
                              (unsigned)(UINT32_MAX - 1));
            goto fail;
        }
    }
    s->n = (size_t)total;
    L.total = total;

    if ((st = plan_columns(spec, s, err)) || (st = alloc_columns(s, err)))
        goto fail;
    for (size_t f = 0; f < n_paths; f++)
        if (!(L.jobs[f].max_set = calloc(s->n_cols + 1, 1))) {
            st = nomem(err);
            goto fail;
        }

    if (workers) {
        st = dl_workers_run(workers, 2 * n_paths, load_task, &L, err);
    } else {
        for (size_t t = 0; t < 2 * n_paths && st == DL_OK; t++)
            st = load_task(t, 0, &L, err);
    }
    if (st != DL_OK)
        goto fail;
    dl_progress_done(progress, "load", total, total, "rows");

    narrow_sets(s, L.jobs);
    if ((st = check_duplicates(s, err)))
        goto fail;

    s->bytes = s->n * (sizeof *s->slf + sizeof *s->file_of);
    for (size_t c = 0; c < s->n_cols; c++) {
        const dl_store_col *col = &s->cols[c];
        s->bytes += col->filter ? s->n * (col->words * 8 + sizeof *col->pop)
                                : s->n * col->stride * sizeof *col->tok;
    }
    for (size_t f = 0; f < n_paths; f++)
        free(L.jobs[f].max_set);
    free(L.jobs);
    *out = s;
    return DL_OK;

fail:
    if (L.jobs)
        for (size_t f = 0; f < n_paths; f++)
            free(L.jobs[f].max_set);
    free(L.jobs);
    dl__store_free(s);
    return st;
}

void dl__store_free(dl_store *s)
{
    if (!s)
        return;
    for (size_t c = 0; c < s->n_cols; c++) {
        free(s->cols[c].tok);
        free(s->cols[c].bits);
        free(s->cols[c].pop);
    }
    free(s->cols);
    free(s->files);
    free(s->file_of);
    free(s->slf);
    free(s);
}

int dl__store_col(const dl_store *s, dl_feature_ref ref)
{
    if (ref.field >= DL_SPEC_MAX_FIELDS || (unsigned)ref.kind >= DL_FEAT__COUNT)
        return -1;
    return s->col_of[ref.field][ref.kind];
}
