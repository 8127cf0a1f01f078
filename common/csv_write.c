/* csv_write.c: CSV output with RFC 4180 minimal quoting, plain or gzip.
 * Part of common/; every CSV that dolen writes (ids, content, rejects, links,
 * clusters, extracts) goes through here into a dl_outfile. */
#include <stdlib.h>
#include <string.h>

#include "dolen/csv.h"
#include "dolen/gz.h"

/* Plain output is handed to the outfile in pieces of this size. */
#define PLAIN_FLUSH ((size_t)1 << 16)

struct dl_csv_writer {
    dl_outfile *f;
    char delimiter;
    dl_gz_writer *gz; /* NULL for plain output */
    dl_buf line;      /* rows not yet handed on */
};

static bool needs_quotes(const char *s, size_t len, char d)
{
    if (len == 0)
        return false;
    if (s[0] == ' ' || s[0] == '\t' || s[len - 1] == ' ' || s[len - 1] == '\t')
        return true; /* a trimming reader would lose them */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c == d || c == '"' || c == '\r' || c == '\n')
            return true;
    }
    return false;
}

bool dl_csv_append_field(dl_buf *b, const char *s, size_t len, char delimiter)
{
    if (!needs_quotes(s, len, delimiter))
        return dl_buf_append(b, s, len);
    /* RFC 4180 section 2, rules 6-7: enclose in quotes, double inner quotes. */
    if (!dl_buf_putc(b, '"'))
        return false;
    const char *end = s + len;
    while (s < end) {
        const char *q = memchr(s, '"', (size_t)(end - s));
        size_t k = q ? (size_t)(q - s) + 1 : (size_t)(end - s);
        if (!dl_buf_append(b, s, k))
            return false;
        if (q && !dl_buf_putc(b, '"'))
            return false;
        s += k;
    }
    return dl_buf_putc(b, '"');
}

bool dl_csv_format_row(dl_buf *b, size_t n, const char *const *fields, const size_t *lens,
                       char delimiter)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        size_t len = lens ? lens[i] : strlen(fields[i]);
        if (i > 0 && !dl_buf_putc(b, delimiter))
            return false;
        if (n == 1 && len == 0)
            return dl_buf_append(b, "\"\"\n", 3); /* not a blank line */
        if (!dl_csv_append_field(b, fields[i], len, delimiter))
            return false;
    }
    return dl_buf_putc(b, '\n');
}

static bool ends_with_gz(const char *path)
{
    size_t n = strlen(path);
    return n >= 3 && strcmp(path + n - 3, ".gz") == 0;
}

dl_status dl_csv_writer_open(dl_outfile *f, const dl_csv_wopts *o, dl_csv_writer **out,
                             dl_error *err)
{
    static const dl_csv_wopts defaults = DL_CSV_WOPTS_INIT;
    *out = NULL;
    if (!o)
        o = &defaults;
    const char *path = dl_outfile_path(f);
    char d = o->delimiter;
    if (d == '"' || d == '\r' || d == '\n' || d == '\0')
        return dl_error_set(err, DL_EUSAGE, path, 0, 0,
                            "bad CSV delimiter (expected a character other than quote, CR, "
                            "LF or NUL)");
    dl_csv_writer *w = calloc(1, sizeof *w);
    if (!w)
        return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory for CSV writer");
    w->f = f;
    w->delimiter = d;
    bool gz = o->gzip == DL_CSV_GZIP_AUTO ? ends_with_gz(path) : o->gzip != 0;
    if (gz) {
        dl_status s = dl_gzw_open(f, &w->gz, err);
        if (s != DL_OK) {
            free(w);
            return s;
        }
        if (o->tokens)
            dl_gzw_use_token_encoder(w->gz);
    }
    *out = w;
    return DL_OK;
}

/* Hand the buffered rows on: to the gzip stream (which cuts members at fixed
 * content offsets) or straight to the outfile. */
static dl_status drain(dl_csv_writer *w, dl_error *err)
{
    if (w->line.len == 0)
        return DL_OK;
    dl_status s = w->gz ? dl_gzw_write(w->gz, w->line.data, w->line.len, err)
                        : dl_outfile_write(w->f, w->line.data, w->line.len, err);
    dl_buf_clear(&w->line);
    return s;
}

dl_status dl_csv_write_row(dl_csv_writer *w, size_t n, const char *const *fields,
                           const size_t *lens, dl_error *err)
{
    if (n == 0)
        return dl_error_set(err, DL_EUSAGE, dl_outfile_path(w->f), 0, 0,
                            "a CSV row needs at least one field");
    if (!dl_csv_format_row(&w->line, n, fields, lens, w->delimiter))
        return dl_error_set(err, DL_ENOMEM, dl_outfile_path(w->f), 0, 0,
                            "out of memory formatting a CSV row");
    return w->line.len >= PLAIN_FLUSH ? drain(w, err) : DL_OK;
}

bool dl_csv_writer_is_gzip(const dl_csv_writer *w)
{
    return w->gz != NULL;
}

dl_status dl_csv_writer_put_raw(dl_csv_writer *w, const void *data, size_t len, dl_error *err)
{
    dl_status s = drain(w, err);
    if (s != DL_OK)
        return s;
    if (w->gz)
        return dl_gzw_put_member(w->gz, data, len, err);
    return len ? dl_outfile_write(w->f, data, len, err) : DL_OK;
}

dl_status dl_csv_writer_close(dl_csv_writer *w, dl_error *err)
{
    dl_status s = drain(w, err);
    if (w->gz) {
        dl_gz_writer *gz = w->gz;
        w->gz = NULL;
        if (s == DL_OK)
            s = dl_gzw_close(gz, err);
        else
            dl_gzw_free(gz);
    }
    dl_csv_writer_free(w);
    return s;
}

void dl_csv_writer_free(dl_csv_writer *w)
{
    if (!w)
        return;
    dl_gzw_free(w->gz);
    dl_buf_free(&w->line);
    free(w);
}
