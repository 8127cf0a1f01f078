/* dolen/csv.h: streaming CSV reader and writer (RFC 4180, UTF-8, gzip or not).
 * Part of common/; prepare reads raw extracts with it, link reads ids files,
 * extract reads content files, and every CSV output is written with it.
 * docs/csv.md describes the dialect and every error. */
#ifndef DOLEN_CSV_H
#define DOLEN_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/buf.h"
#include "dolen/error.h"
#include "dolen/outfile.h"

/* ---- reading ------------------------------------------------------------------ */

typedef struct dl_csv_opts {
    char delimiter;     /* ','; not '"', CR, LF or NUL; not space/tab with trim */
    bool trim;          /* drop spaces/tabs around unquoted fields and around
                           quoted ones (FEBRL writes ", "); default false */
    bool header;        /* first record is a header; default true */
    size_t max_field;   /* bytes of a field's value; default 65536; longer = DL_EROW */
    bool check_utf8;    /* default true: invalid UTF-8 = DL_EROW */
    const char *name;   /* name used in messages (copied); default: the path */
} dl_csv_opts;

#define DL_CSV_OPTS_INIT {',', false, true, 65536, true, NULL}

typedef struct dl_row {
    size_t n;           /* fields */
    char **field;       /* NUL-terminated values, pointing into the reader */
    size_t *len;        /* byte lengths */
    uint64_t line;      /* physical line where the record starts (1-based) */
    uint64_t record;    /* data record number, 1-based, header excluded */
} dl_row;

typedef struct dl_csv_reader dl_csv_reader;

/* Open PATH ("-" = standard input), plain or gzip (by its magic bytes), and,
 * with o->header, read the header row. O may be NULL (defaults). PATH is
 * copied. DL_OK with *out to free with dl_csv_close(). Else *out is NULL:
 * DL_EUSAGE bad options; DL_EINPUT a missing or unreadable file, an empty
 * file when a header is expected, a header with an empty or duplicate column
 * name or any other fault (line and column given); DL_EIO; DL_ENOMEM.
 * One reader per thread; different readers are independent. */
dl_status dl_csv_open(const char *path, const dl_csv_opts *o, dl_csv_reader **out,
                      dl_error *err) DL_MUST_CHECK;

/* As dl_csv_open over LEN bytes at DATA (borrowed: must outlive the reader);
 * messages name o->name or "<memory>". For tests and fuzzing. */
dl_status dl_csv_open_mem(const void *data, size_t len, const dl_csv_opts *o,
                          dl_csv_reader **out, dl_error *err) DL_MUST_CHECK;

/* The header row, or NULL when opts.header is false. Valid until close. */
const dl_row *dl_csv_header(const dl_csv_reader *r);

/* Read the next data record into *row. Its pointers stay valid until the
 * next dl_csv_next() or dl_csv_close(); no allocation per row.
 *   DL_OK     a row;
 *   DL_END    no more rows (and every later call);
 *   DL_EROW   this record is bad: wrong field count (the header's, or without
 *             a header the first record's), invalid UTF-8, a field longer than
 *             max_field, a NUL byte, a bare CR, a quote inside an unquoted field
 *             or text after a closing quote. *err has file, line, column and
 *             the field; row->line and row->record say which record (row->n is
 *             0). The reader has moved to the next record: call again.
 *   DL_EINPUT unrecoverable: unterminated quote at end of input, truncated or
 *             corrupt gzip. Every later call returns the same error.
 *   DL_EIO, DL_ENOMEM: likewise sticky.
 * Blank lines are skipped (and with trim, lines of only spaces and tabs). */
dl_status dl_csv_next(dl_csv_reader *r, dl_row *row, dl_error *err) DL_MUST_CHECK;

/* Index of the header column named NAME (exact bytes), or -1 (also when there
 * is no header). */
int dl_csv_find_column(const dl_csv_reader *r, const char *name);

/* Input bytes consumed (compressed bytes for gzip) and the input's size
 * (0 when unknown): for progress. */
uint64_t dl_csv_bytes_in(const dl_csv_reader *r);
uint64_t dl_csv_size(const dl_csv_reader *r);
/* True when the input is gzip. */
bool dl_csv_is_gzip(const dl_csv_reader *r);

/* Free R and close its file. NULL is a no-op. */
void dl_csv_close(dl_csv_reader *r);

/* ---- writing ------------------------------------------------------------------ */

typedef struct dl_csv_wopts {
    char delimiter;     /* ',' */
    int gzip;           /* DL_CSV_GZIP_AUTO (default): gzip when the outfile's
                           path ends in ".gz"; 0 plain; 1 gzip */
    bool tokens;        /* the rows are mostly random tokens (hex, base64,
                           numbers): gzip them with dolen's own encoder
                           (dl_gzw_use_token_encoder) rather than ISA-L */
} dl_csv_wopts;

#define DL_CSV_GZIP_AUTO (-1)
#define DL_CSV_WOPTS_INIT {',', DL_CSV_GZIP_AUTO, false}

typedef struct dl_csv_writer dl_csv_writer;

/* A CSV writer into F (borrowed: the caller commits or aborts F after
 * dl_csv_writer_close()). O may be NULL (defaults). Rows end in LF; gzip
 * output is cut into DL_GZ_CHUNK-byte members (see dolen/gz.h). DL_OK with
 * *out; DL_EUSAGE bad delimiter; DL_ENOMEM. Not thread-safe. */
dl_status dl_csv_writer_open(dl_outfile *f, const dl_csv_wopts *o, dl_csv_writer **out,
                             dl_error *err) DL_MUST_CHECK;

/* Write one row of N (>= 1) fields, quoted as needed. LENS may be NULL (then
 * the fields are NUL-terminated). Errors (DL_EIO, DL_ENOMEM; DL_EUSAGE for
 * N == 0) leave the writer unusable: free it and abort F. */
dl_status dl_csv_write_row(dl_csv_writer *w, size_t n, const char *const *fields,
                           const size_t *lens, dl_error *err) DL_MUST_CHECK;

/* True when the writer compresses: then dl_csv_writer_put_raw() takes whole
 * gzip members, else plain CSV text. */
bool dl_csv_writer_is_gzip(const dl_csv_writer *w);

/* Write LEN bytes that are already in the file's encoding, after all rows
 * written before: for prepare's workers, which format a chunk of rows with
 * dl_csv_format_row() and, when dl_csv_writer_is_gzip(), compress it with
 * dl_gz_compress_member(); the main thread then puts the chunks in order. */
dl_status dl_csv_writer_put_raw(dl_csv_writer *w, const void *data, size_t len,
                                dl_error *err) DL_MUST_CHECK;

/* Flush everything into F and free W, whatever happens. F is not committed. */
dl_status dl_csv_writer_close(dl_csv_writer *w, dl_error *err) DL_MUST_CHECK;

/* Free W without flushing (failure paths). NULL is a no-op. */
void dl_csv_writer_free(dl_csv_writer *w);

/* Append one field to B with RFC 4180 minimal quoting: quoted (and inner
 * quotes doubled) when it holds the delimiter, '"', CR or LF, or starts or
 * ends with a space or tab. False when out of memory (B unchanged in
 * content but possibly grown). Thread-safe on distinct buffers. */
bool dl_csv_append_field(dl_buf *b, const char *s, size_t len, char delimiter);

/* Append a whole row (fields joined by DELIMITER, then LF) to B. LENS may be
 * NULL. A row of one empty field is written `""` so that it is not a blank
 * line (which readers skip). False when out of memory or N == 0. */
bool dl_csv_format_row(dl_buf *b, size_t n, const char *const *fields, const size_t *lens,
                       char delimiter);

#endif
