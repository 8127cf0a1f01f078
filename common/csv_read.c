/* csv_read.c: streaming RFC 4180 reader with exact error positions.
 * Part of common/; every CSV input of prepare, link and extract comes through
 * here, one record at a time, in a buffer reused for the whole file. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/csv.h"
#include "dolen/gz.h"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* The buffer starts at one MiB (one read) and grows only for a record that
 * does not fit; PAD bytes after it let the scanners load 16 bytes at a time
 * without testing for the end first. */
#define BUF_INIT ((size_t)1 << 20)
#define PAD 64
#define BUF_MEM_MIN ((size_t)4096)
/* Without a header, the first record may have at most this many fields (it
 * then sets the count for the rest). With a header, the header count is the
 * bound; a header may have this many columns. */
#define MAX_FIELDS 16384
/* A record may take at most (2 * max_field + 3) bytes per expected field (a
 * field of quotes doubles in size, plus its quotes and delimiter); without a
 * header, as if there were this many fields. */
#define LIMIT_FIELDS_NOHDR 64
#define LIMIT_MIN ((size_t)1 << 20)
#define LIMIT_MAX ((size_t)1 << 30)

enum parse_result { P_ROW, P_BAD, P_MORE, P_END, P_UNTERM, P_NOMEM };

/* Problems found in a record, in the order they are reported. */
enum err_kind {
    E_NONE,
    E_QUOTE,      /* '"' inside an unquoted field */
    E_AFTER,      /* text after a closing quote */
    E_CR,         /* CR not followed by LF outside quotes */
    E_TOOMANY,    /* more fields than MAX_FIELDS (no header yet) */
};

typedef struct span {
    size_t cs, ce; /* content [cs, ce) in the buffer, trimmed; quotes excluded */
    uint32_t nesc; /* doubled quotes inside */
    bool quoted;
} span;

struct dl_csv_reader {
    dl_gz_reader *gz;
    char *name;
    dl_csv_opts o;
    char *buf;        /* cap + PAD bytes */
    size_t cap, pos, len;
    bool eof;
    size_t limit;     /* longest record in bytes */
    uint64_t line;    /* line where the next record starts */
    uint64_t record;  /* data records read (good or bad) */
    size_t nexp;      /* expected field count; 0 = not known yet */
    span *sp;         /* fields of the current record */
    char **fptr;
    size_t *flen;
    size_t fcap;
    /* result of parse() */
    size_t nf, rec_end;
    uint64_t rec_nl;
    enum err_kind ek;
    size_t err_off, err_field;
    /* header */
    bool has_header;
    dl_row hdr;
    char *hdr_mem;
    /* sticky failure */
    dl_status failed;
    dl_error saved;
};

/* ---- scanning ------------------------------------------------------------------ */

/* First byte in b[p, end) that is the delimiter, '"', CR or LF; END if none.
 * May read up to 15 bytes past END (the buffer's padding). */
static inline size_t find_special(const char *b, size_t p, size_t end, char d)
{
#if defined(__SSE2__)
    const __m128i vd = _mm_set1_epi8(d), vq = _mm_set1_epi8('"');
    const __m128i vr = _mm_set1_epi8('\r'), vn = _mm_set1_epi8('\n');
    while (p < end) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(b + p));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, vd), _mm_cmpeq_epi8(v, vq)),
                                 _mm_or_si128(_mm_cmpeq_epi8(v, vr), _mm_cmpeq_epi8(v, vn)));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) {
            size_t x = p + (size_t)__builtin_ctz(mask);
            return x < end ? x : end;
        }
        p += 16;
    }
    return end;
#else
    for (; p < end; p++) {
        char c = b[p];
        if (c == d || c == '"' || c == '\r' || c == '\n')
            return p;
    }
    return end;
#endif
}

/* Length of the valid UTF-8 sequence at s (s[0] >= 0x80), 0 if invalid.
 * Well-formed sequences per RFC 3629 section 4 (no overlongs, no surrogates
 * D800-DFFF, nothing above U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    unsigned char lo = 0x80, hi = 0xBF;
    size_t k;
    if (c >= 0xC2 && c <= 0xDF) {
        k = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        k = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        k = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0;
    }
    if (n < k || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < k; i++)
        if ((s[i] & 0xC0) != 0x80)
            return 0;
    return k;
}

/* Offset of the first NUL byte (or, with UTF8, the first byte of an invalid
 * sequence) in s[0, n), *nul telling which; N if the text is clean. ASCII
 * runs go 16 bytes at a time. May read 15 bytes past N (padding). */
static size_t check_text(const unsigned char *s, size_t n, bool utf8, bool *nul)
{
    size_t i = 0;
    while (i < n) {
#if defined(__SSE2__)
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        unsigned mask = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_setzero_si128()));
        if (utf8)
            mask |= (unsigned)_mm_movemask_epi8(v);
        if (n - i < 16)
            mask &= (1u << (n - i)) - 1;
        if (!mask) {
            i += 16;
            continue;
        }
        i += (size_t)__builtin_ctz(mask);
#else
        if (s[i] != 0 && (!utf8 || s[i] < 0x80)) {
            i++;
            continue;
        }
#endif
        if (s[i] == 0) {
            *nul = true;
            return i;
        }
        if (!utf8 || s[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(s + i, n - i);
        if (!k) {
            *nul = false;
            return i;
        }
        i += k;
    }
    return n;
}

static void note(dl_csv_reader *r, enum err_kind k, size_t off, size_t field)
{
    if (r->ek == E_NONE) {
        r->ek = k;
        r->err_off = off;
        r->err_field = field;
    }
}

/* Grow the per-field arrays to hold at least N fields. */
static bool grow_fields(dl_csv_reader *r, size_t n)
{
    if (n <= r->fcap)
        return true;
    size_t cap = r->fcap ? r->fcap : 64;
    while (cap < n)
        cap *= 2;
    span *sp = realloc(r->sp, cap * sizeof *sp);
    if (!sp)
        return false;
    r->sp = sp;
    char **fp = realloc(r->fptr, cap * sizeof *fp);
    if (!fp)
        return false;
    r->fptr = fp;
    size_t *fl = realloc(r->flen, cap * sizeof *fl);
    if (!fl)
        return false;
    r->flen = fl;
    r->fcap = cap;
    return true;
}

/* Find where unquoted text starting at P ends: at a delimiter, LF, CR LF, a
 * CR as the last byte of the input, or the end of the input. A quote or a
 * bare CR on the way is noted as an error and passed over, so that a bad
 * record still ends where a lenient reader would end it. */
static int scan_unquoted(dl_csv_reader *r, size_t p, size_t field, size_t *t)
{
    const char *b = r->buf;
    const size_t end = r->len;
    for (;;) {
        size_t x = find_special(b, p, end, r->o.delimiter);
        if (x == end) {
            if (!r->eof)
                return P_MORE;
            *t = end;
            return P_ROW;
        }
        char c = b[x];
        if (c == '"') {
            note(r, E_QUOTE, x, field);
            p = x + 1;
            continue;
        }
        if (c == '\r') {
            if (x + 1 == end) {
                if (!r->eof)
                    return P_MORE;
            } else if (b[x + 1] != '\n') {
                note(r, E_CR, x, field);
                p = x + 1;
                continue;
            }
        }
        *t = x;
        return P_ROW;
    }
}

/* Parse the record at r->pos without changing the buffer: field spans into
 * r->sp (up to STORE fields; more are only counted), the count into r->nf,
 * the offset after it into r->rec_end, its LFs into r->rec_nl and the first
 * structural problem into r->ek. P_MORE when the buffer ends first. */
static int parse(dl_csv_reader *r, size_t store)
{
    const char *b = r->buf;
    const size_t end = r->len;
    const char d = r->o.delimiter;
    const bool trim = r->o.trim;
    size_t p = r->pos, nf = 0;
    uint64_t nl = 0;
    r->ek = E_NONE;
    if (p == end)
        return r->eof ? P_END : P_MORE;
    for (;;) {
        size_t cs, ce, t;
        uint32_t nesc = 0;
        bool quoted = false;
        if (trim)
            while (p < end && (b[p] == ' ' || b[p] == '\t'))
                p++;
        if (p < end && b[p] == '"') {
            quoted = true;
            cs = p + 1;
            size_t q = cs;
            for (;;) {
                const char *x = memchr(b + q, '"', end - q);
                if (!x) {
                    if (!r->eof)
                        return P_MORE;
                    r->err_off = p;
                    return P_UNTERM;
                }
                size_t xi = (size_t)(x - b);
                if (xi + 1 == end && !r->eof)
                    return P_MORE;
                if (xi + 1 < end && b[xi + 1] == '"') {
                    nesc++;
                    q = xi + 2;
                    continue;
                }
                ce = xi;
                p = xi + 1;
                break;
            }
            for (const char *x = b + cs; (x = memchr(x, '\n', (size_t)(b + ce - x))); x++)
                nl++;
            if (trim)
                while (p < end && (b[p] == ' ' || b[p] == '\t'))
                    p++;
            if (p < end && b[p] != d && b[p] != '\n' && b[p] != '\r')
                note(r, E_AFTER, p, nf);
            int k = scan_unquoted(r, p, nf, &t);
            if (k != P_ROW)
                return k;
        } else {
            cs = p;
            int k = scan_unquoted(r, p, nf, &t);
            if (k != P_ROW)
                return k;
            ce = t;
            if (trim)
                while (ce > cs && (b[ce - 1] == ' ' || b[ce - 1] == '\t'))
                    ce--;
        }
        if (nf < store) {
            if (nf == r->fcap && !grow_fields(r, nf + 1))
                return P_NOMEM;
            r->sp[nf] = (span){cs, ce, nesc, quoted};
        } else if (r->nexp == 0) {
            note(r, E_TOOMANY, r->pos, nf);
        }
        nf++;
        if (t < end && b[t] == d) {
            p = t + 1;
            continue;
        }
        /* End of record: LF, CR LF, a CR at the end of input, or the end. */
        if (t == end)
            r->rec_end = end;
        else if (b[t] == '\n')
            r->rec_end = t + 1, nl++;
        else if (t + 1 < end)
            r->rec_end = t + 2, nl++;
        else
            r->rec_end = t + 1;
        r->nf = nf;
        r->rec_nl = nl;
        return r->ek == E_NONE ? P_ROW : P_BAD;
    }
}

/* Line and 1-based byte column of buffer offset X in the record starting at
 * RS on line r->line (the buffer is unchanged since parse()). */
static void pos_of(const dl_csv_reader *r, size_t rs, size_t x, uint64_t *line, uint64_t *col)
{
    uint64_t ln = r->line;
    size_t ls = rs;
    const char *b = r->buf;
    for (const char *t = b + rs; (t = memchr(t, '\n', (size_t)(b + x - t))); t++) {
        ln++;
        ls = (size_t)(t - b) + 1;
    }
    *line = ln;
    *col = x - ls + 1;
}

/* "field 3 (surname)" or "field 3" into BUF. */
static const char *field_label(const dl_csv_reader *r, size_t i, char *buf, size_t size)
{
    if (r->has_header && r->hdr.field && i < r->hdr.n)
        snprintf(buf, size, "field %zu (%s)", i + 1, r->hdr.field[i]);
    else
        snprintf(buf, size, "field %zu", i + 1);
    return buf;
}

static dl_status field_err(const dl_csv_reader *r, dl_error *err, size_t field, size_t off,
                           const char *what)
{
    uint64_t line, col;
    char lab[160];
    pos_of(r, r->pos, off, &line, &col);
    return dl_error_set(err, DL_EROW, r->name, line, col, "%s: %s",
                        field_label(r, field, lab, sizeof lab), what);
}

/* Field index whose text contains buffer offset X. */
static size_t field_at(const dl_csv_reader *r, size_t x)
{
    size_t n = r->nf < r->fcap ? r->nf : r->fcap, i = 0;
    while (i + 1 < n && r->sp[i + 1].cs - r->sp[i + 1].quoted <= x)
        i++;
    return i;
}

/* Check a structurally sound record: field count, bytes, lengths. DL_OK or
 * DL_EROW with *err filled. */
static dl_status check_record(dl_csv_reader *r, dl_error *err)
{
    if (r->ek != E_NONE) {
        static const char *const what[] = {
            [E_QUOTE] = "quote inside an unquoted field (expected the whole field in "
                        "quotes, with inner quotes doubled)",
            [E_AFTER] = "text after the closing quote (expected a delimiter or end of line)",
            [E_CR] = "carriage return not followed by line feed (expected CR LF, or the "
                     "field in quotes)",
        };
        if (r->ek == E_TOOMANY)
            return dl_error_set(err, DL_EROW, r->name, r->line, 1,
                                "more than %d fields (the limit for a record)", MAX_FIELDS);
        return field_err(r, err, r->err_field, r->err_off, what[r->ek]);
    }
    if (r->nexp && r->nf != r->nexp)
        return dl_error_set(err, DL_EROW, r->name, r->line, 1, "expected %zu fields, found %zu",
                            r->nexp, r->nf);
    bool nul = false;
    size_t n = r->rec_end - r->pos;
    size_t bad = check_text((const unsigned char *)r->buf + r->pos, n, r->o.check_utf8, &nul);
    if (bad < n) {
        size_t x = r->pos + bad;
        return field_err(r, err, field_at(r, x), x,
                         nul ? "NUL byte (expected text)" : "invalid UTF-8 (expected UTF-8 text)");
    }
    for (size_t i = 0; i < r->nf; i++) {
        const span *s = &r->sp[i];
        if (s->ce - s->cs - s->nesc > r->o.max_field) {
            char what[96];
            snprintf(what, sizeof what, "longer than %zu bytes (the max_field limit)",
                     r->o.max_field);
            return field_err(r, err, i, s->cs - s->quoted, what);
        }
    }
    return DL_OK;
}

/* Terminate and unescape the fields of a checked record in place. */
static void finalize(dl_csv_reader *r, dl_row *row)
{
    char *b = r->buf;
    for (size_t i = 0; i < r->nf; i++) {
        const span *s = &r->sp[i];
        char *f = b + s->cs;
        size_t len = s->ce - s->cs;
        if (s->nesc) {
            /* Inside quotes every '"' is doubled: keep one of each pair. */
            char *src = f, *dst = f, *end = f + len;
            while (src < end) {
                char *q = memchr(src, '"', (size_t)(end - src));
                size_t k = q ? (size_t)(q - src) + 1 : (size_t)(end - src);
                memmove(dst, src, k);
                dst += k;
                src += q ? k + 1 : k;
            }
            len = (size_t)(dst - f);
        }
        f[len] = '\0';
        r->fptr[i] = f;
        r->flen[i] = len;
    }
    row->n = r->nf;
    row->field = r->fptr;
    row->len = r->flen;
}

/* ---- buffer -------------------------------------------------------------------- */

static dl_status sticky(dl_csv_reader *r, dl_status s, dl_error *err)
{
    r->failed = s;
    if (err)
        r->saved = *err;
    else
        dl_error_set(&r->saved, s, r->name, r->line, 0, "%s", dl_status_text(s));
    return s;
}

static dl_status nomem(dl_csv_reader *r, dl_error *err)
{
    return dl_error_set(err, DL_ENOMEM, r->name, r->line, 0, "out of memory reading CSV");
}

/* Move the unread bytes to the front, grow the buffer if a partial record
 * fills half of it, and read until it is full or the input ends. *full is
 * set instead when the record has reached the limit. */
static dl_status refill(dl_csv_reader *r, bool *full, dl_error *err)
{
    *full = false;
    if (r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, r->len - r->pos);
        r->len -= r->pos;
        r->pos = 0;
    }
    if (r->len > r->cap / 2) {
        if (r->cap >= r->limit) {
            if (r->len == r->cap) {
                *full = true;
                return DL_OK;
            }
        } else {
            size_t cap = r->cap * 2 < r->limit ? r->cap * 2 : r->limit;
            char *nb = realloc(r->buf, cap + PAD);
            if (!nb)
                return nomem(r, err);
            memset(nb + r->cap, 0, cap + PAD - r->cap);
            r->buf = nb;
            r->cap = cap;
        }
    }
    while (r->len < r->cap && !r->eof) {
        size_t got = 0;
        dl_status s = dl_gz_read(r->gz, r->buf + r->len, r->cap - r->len, &got, err);
        if (s == DL_END) {
            r->eof = true;
        } else if (s != DL_OK) {
            if (err) {
                snprintf(err->file, sizeof err->file, "%s", r->name);
                if (err->line == 0)
                    err->line = r->line; /* where in the CSV the stream broke */
            }
            return s;
        }
        r->len += got;
    }
    return DL_OK;
}

/* Stream past a record too long for the buffer, without keeping it: the same
 * quote rules as parse(), one byte at a time (a rare path). Reports the first
 * field longer than max_field, else the record's length. */
static dl_status skip_record(dl_csv_reader *r, dl_row *row, dl_error *err)
{
    const char d = r->o.delimiter;
    const uint64_t rec_line = r->line;
    uint64_t line = r->line, col = 1, fl_line = line, fl_col = 1, bad_line = 0, bad_col = 0;
    size_t fld = 0, flen = 0, bad = SIZE_MAX;
    bool in_q = false, qpend = false, at_start = true, done = false;
    while (!done) {
        for (size_t i = r->pos; i < r->len && !done; i++) {
            unsigned char c = (unsigned char)r->buf[i];
            bool counts = true; /* byte belongs to the field's value */
            if (in_q && qpend) {
                qpend = false;
                if (c != '"')
                    in_q = false; /* closed: C is text after the quote */
            } else if (in_q && c == '"') {
                qpend = true;
                counts = false;
            }
            if (!in_q) {
                if (at_start && r->o.trim && (c == ' ' || c == '\t')) {
                    col++;
                    continue;
                }
                if (at_start) {
                    at_start = false;
                    fl_line = line;
                    fl_col = col;
                    if (c == '"') {
                        in_q = true;
                        col++;
                        continue;
                    }
                }
                if (c == (unsigned char)d) {
                    fld++;
                    flen = 0;
                    at_start = true;
                    counts = false;
                } else if (c == '\n') {
                    r->pos = i + 1;
                    r->line = line + 1;
                    done = true;
                    break;
                }
            }
            if (counts && ++flen > r->o.max_field && bad == SIZE_MAX) {
                bad = fld;
                bad_line = fl_line;
                bad_col = fl_col;
            }
            if (c == '\n') {
                line++;
                col = 1;
            } else {
                col++;
            }
        }
        if (done)
            break;
        r->pos = r->len;
        bool full;
        dl_status s = refill(r, &full, err);
        if (s != DL_OK)
            return sticky(r, s, err);
        if (r->len == 0) { /* end of input */
            if (in_q && !qpend)
                return sticky(r, dl_error_set(err, DL_EINPUT, r->name, fl_line, fl_col,
                                              "unterminated quoted field (expected '\"' "
                                              "before end of file)"),
                              err);
            r->line = line;
            done = true;
        }
    }
    r->record++;
    row->n = 0;
    row->line = rec_line;
    row->record = r->record;
    if (bad != SIZE_MAX) {
        char lab[160];
        return dl_error_set(err, DL_EROW, r->name, bad_line, bad_col,
                            "%s: longer than %zu bytes (the max_field limit)",
                            field_label(r, bad, lab, sizeof lab), r->o.max_field);
    }
    return dl_error_set(err, DL_EROW, r->name, rec_line, 1,
                        "record longer than %zu bytes (expected at most %zu bytes per field)",
                        r->limit, r->o.max_field);
}

static size_t record_limit(const dl_csv_reader *r);

/* The next non-blank record, checked; STORE bounds the fields kept. */
static dl_status next_record(dl_csv_reader *r, dl_row *row, size_t store, dl_error *err)
{
    if (r->failed != DL_OK) {
        if (err)
            *err = r->saved;
        return r->failed;
    }
    for (;;) {
        int k = parse(r, store);
        if (k == P_MORE) {
            bool full;
            dl_status s = refill(r, &full, err);
            if (s != DL_OK)
                return sticky(r, s, err);
            if (full)
                return skip_record(r, row, err);
            continue;
        }
        if (k == P_END)
            return DL_END;
        if (k == P_NOMEM)
            return sticky(r, nomem(r, err), err);
        if (k == P_UNTERM) {
            uint64_t line, col;
            pos_of(r, r->pos, r->err_off, &line, &col);
            return sticky(r, dl_error_set(err, DL_EINPUT, r->name, line, col,
                                          "unterminated quoted field (expected '\"' before "
                                          "end of file)"),
                          err);
        }
        /* A blank line: one empty unquoted field and nothing wrong. */
        if (k == P_ROW && r->nf == 1 && !r->sp[0].quoted && r->sp[0].cs == r->sp[0].ce) {
            r->pos = r->rec_end;
            r->line += r->rec_nl;
            continue;
        }
        r->record++;
        row->line = r->line;
        row->record = r->record;
        if (r->nexp == 0 && r->ek != E_TOOMANY) {
            r->nexp = r->nf; /* no header: the first record sets the count */
            r->limit = record_limit(r);
        }
        dl_status s = check_record(r, err);
        if (s == DL_OK)
            finalize(r, row);
        else
            row->n = 0;
        r->pos = r->rec_end;
        r->line += r->rec_nl;
        return s;
    }
}

dl_status dl_csv_next(dl_csv_reader *r, dl_row *row, dl_error *err)
{
    return next_record(r, row, r->nexp ? r->nexp : MAX_FIELDS, err);
}

/* ---- open and header ------------------------------------------------------------ */

static size_t record_limit(const dl_csv_reader *r)
{
    size_t per = 2 * r->o.max_field + 3;
    size_t nf = r->nexp ? r->nexp + 1 : LIMIT_FIELDS_NOHDR;
    size_t lim = per > LIMIT_MAX / nf ? LIMIT_MAX : per * nf;
    return lim < LIMIT_MIN ? LIMIT_MIN : lim;
}

/* Read the header row; any fault in it is DL_EINPUT (nothing can be read
 * without it). Names are copied out of the buffer. */
static dl_status read_header(dl_csv_reader *r, dl_error *err)
{
    dl_row row;
    uint64_t hline = 0;
    /* Positions of each name, taken before finalize() rewrites the buffer. */
    dl_status s;
    for (;;) {
        if (r->failed != DL_OK)
            return r->failed;
        int k = parse(r, MAX_FIELDS);
        if (k == P_MORE) {
            bool full;
            s = refill(r, &full, err);
            if (s != DL_OK)
                return s;
            if (full)
                return dl_error_set(err, DL_EINPUT, r->name, r->line, 1,
                                    "header row longer than %zu bytes (expected a header "
                                    "row of column names)",
                                    r->limit);
            continue;
        }
        if (k == P_END)
            return dl_error_set(err, DL_EINPUT, r->name, r->line, 1,
                                "empty input (expected a header row)");
        if (k == P_NOMEM)
            return nomem(r, err);
        if (k == P_UNTERM) {
            uint64_t line, col;
            pos_of(r, r->pos, r->err_off, &line, &col);
            return dl_error_set(err, DL_EINPUT, r->name, line, col,
                                "unterminated quoted field (expected '\"' before end of file)");
        }
        if (k == P_ROW && r->nf == 1 && !r->sp[0].quoted && r->sp[0].cs == r->sp[0].ce) {
            r->pos = r->rec_end;
            r->line += r->rec_nl;
            continue;
        }
        break;
    }
    hline = r->line;
    if (r->ek == E_TOOMANY)
        return dl_error_set(err, DL_EINPUT, r->name, hline, 1,
                            "header has more than %d columns (the limit)", MAX_FIELDS);
    s = check_record(r, err);
    if (s != DL_OK) {
        if (err)
            err->code = DL_EINPUT;
        return DL_EINPUT;
    }
    /* Empty names, checked while the raw positions are still known. */
    for (size_t i = 0; i < r->nf; i++) {
        const span *sp = &r->sp[i];
        if (sp->ce - sp->cs == 0) {
            uint64_t line, col;
            pos_of(r, r->pos, sp->cs - sp->quoted, &line, &col);
            return dl_error_set(err, DL_EINPUT, r->name, line, col,
                                "header: column %zu has an empty name (expected a unique, "
                                "non-empty name)",
                                i + 1);
        }
    }
    size_t *cols = malloc(r->nf * sizeof *cols);
    uint64_t *lines = malloc(r->nf * sizeof *lines);
    if (!cols || !lines) {
        free(cols);
        free(lines);
        return nomem(r, err);
    }
    for (size_t i = 0; i < r->nf; i++) {
        uint64_t c;
        pos_of(r, r->pos, r->sp[i].cs - r->sp[i].quoted, &lines[i], &c);
        cols[i] = (size_t)c;
    }
    finalize(r, &row);
    r->pos = r->rec_end;
    r->line += r->rec_nl;
    size_t n = row.n, total = 0;
    for (size_t i = 0; i < n; i++)
        total += row.len[i] + 1;
    r->hdr_mem = malloc(total + n * (sizeof(char *) + sizeof(size_t)));
    if (!r->hdr_mem) {
        free(cols);
        free(lines);
        return nomem(r, err);
    }
    r->hdr.field = (char **)(void *)r->hdr_mem;
    r->hdr.len = (size_t *)(void *)(r->hdr_mem + n * sizeof(char *));
    char *q = r->hdr_mem + n * (sizeof(char *) + sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        memcpy(q, row.field[i], row.len[i] + 1);
        r->hdr.field[i] = q;
        r->hdr.len[i] = row.len[i];
        q += row.len[i] + 1;
    }
    r->hdr.n = n;
    r->hdr.line = hline;
    r->hdr.record = 0;
    /* Duplicates: a header is small, so pairwise is fine. */
    s = DL_OK;
    for (size_t i = 1; i < n && s == DL_OK; i++)
        for (size_t j = 0; j < i; j++)
            if (r->hdr.len[i] == r->hdr.len[j] &&
                memcmp(r->hdr.field[i], r->hdr.field[j], r->hdr.len[i]) == 0) {
                s = dl_error_set(err, DL_EINPUT, r->name, lines[i], cols[i],
                                 "header: column %zu has the same name as column %zu "
                                 "(expected unique names)",
                                 i + 1, j + 1);
                break;
            }
    free(cols);
    free(lines);
    if (s != DL_OK)
        return s;
    r->has_header = true;
    r->nexp = n;
    return DL_OK;
}

static dl_status open_common(dl_csv_reader *r, size_t cap, dl_error *err)
{
    r->cap = cap;
    r->buf = calloc(1, r->cap + PAD);
    if (!r->buf)
        return nomem(r, err);
    r->line = 1;
    r->limit = record_limit(r);
    bool full;
    dl_status s = refill(r, &full, err);
    if (s != DL_OK)
        return s;
    /* A UTF-8 byte-order mark is not content; columns count from after it. */
    if (r->len >= 3 && memcmp(r->buf, "\xEF\xBB\xBF", 3) == 0)
        r->pos = 3;
    if (r->o.header) {
        s = read_header(r, err);
        if (s != DL_OK)
            return s;
        r->limit = record_limit(r);
    }
    return DL_OK;
}

static dl_status check_opts(const dl_csv_opts *o, const char *name, dl_error *err)
{
    char d = o->delimiter;
    if (d == '"' || d == '\r' || d == '\n' || d == '\0')
        return dl_error_set(err, DL_EUSAGE, name, 0, 0,
                            "bad CSV delimiter (expected a character other than quote, CR, "
                            "LF or NUL)");
    if (o->trim && (d == ' ' || d == '\t'))
        return dl_error_set(err, DL_EUSAGE, name, 0, 0,
                            "CSV delimiter is a space or tab while trimming is on (expected "
                            "another delimiter, or no trimming)");
    if (o->max_field == 0 || o->max_field > LIMIT_MAX / 4)
        return dl_error_set(err, DL_EUSAGE, name, 0, 0,
                            "max_field %zu out of range (expected 1 to %zu)", o->max_field,
                            LIMIT_MAX / 4);
    return DL_OK;
}

static dl_status new_reader(const char *path, const dl_csv_opts *o, dl_csv_reader **out,
                            dl_error *err)
{
    static const dl_csv_opts defaults = DL_CSV_OPTS_INIT;
    if (!o)
        o = &defaults;
    const char *name = o->name ? o->name : path;
    dl_status s = check_opts(o, name, err);
    if (s != DL_OK)
        return s;
    dl_csv_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return dl_error_set(err, DL_ENOMEM, name, 0, 0, "out of memory opening CSV");
    }
    r->o = *o;
    r->o.name = r->name;
    *out = r;
    return DL_OK;
}

dl_status dl_csv_open(const char *path, const dl_csv_opts *o, dl_csv_reader **out,
                      dl_error *err)
{
    *out = NULL;
    dl_csv_reader *r = NULL;
    dl_status s = new_reader(path, o, &r, err);
    if (s != DL_OK)
        return s;
    s = dl_gz_open(path, &r->gz, err);
    if (s == DL_OK)
        s = open_common(r, BUF_INIT, err);
    else if (err) /* messages name the input as asked in o->name */
        snprintf(err->file, sizeof err->file, "%s", r->name);
    if (s != DL_OK) {
        dl_csv_close(r);
        return s;
    }
    *out = r;
    return DL_OK;
}

dl_status dl_csv_open_mem(const void *data, size_t len, const dl_csv_opts *o,
                          dl_csv_reader **out, dl_error *err)
{
    *out = NULL;
    dl_csv_reader *r = NULL;
    dl_status s = new_reader("<memory>", o, &r, err);
    if (s != DL_OK)
        return s;
    s = dl_gz_open_mem(data, len, r->name, &r->gz, err);
    /* Small inputs (tests, fuzzing) get a small buffer; it grows as needed. */
    size_t cap = len < BUF_MEM_MIN ? BUF_MEM_MIN : len < BUF_INIT ? len : BUF_INIT;
    if (s == DL_OK)
        s = open_common(r, cap, err);
    if (s != DL_OK) {
        dl_csv_close(r);
        return s;
    }
    *out = r;
    return DL_OK;
}

const dl_row *dl_csv_header(const dl_csv_reader *r)
{
    return r->has_header ? &r->hdr : NULL;
}

int dl_csv_find_column(const dl_csv_reader *r, const char *name)
{
    if (!r->has_header)
        return -1;
    for (size_t i = 0; i < r->hdr.n; i++)
        if (strcmp(r->hdr.field[i], name) == 0)
            return i <= INT32_MAX ? (int)i : -1;
    return -1;
}

uint64_t dl_csv_bytes_in(const dl_csv_reader *r)
{
    return dl_gz_bytes_in(r->gz);
}

uint64_t dl_csv_size(const dl_csv_reader *r)
{
    return dl_gz_size(r->gz);
}

bool dl_csv_is_gzip(const dl_csv_reader *r)
{
    return dl_gz_is_gzip(r->gz);
}

void dl_csv_close(dl_csv_reader *r)
{
    if (!r)
        return;
    dl_gz_close(r->gz);
    free(r->buf);
    free(r->sp);
    free(r->fptr);
    free(r->flen);
    free(r->hdr_mem);
    free(r->name);
    free(r);
}
