/* dolen/buf.h: a growable byte buffer (like htslib's kstring).
 * Part of common/; rows, chunks and messages are built in these. */
#ifndef DOLEN_BUF_H
#define DOLEN_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Zero-initialise (DL_BUF_INIT) and free with dl_buf_free(). data is always
 * NUL-terminated after a successful append (not counted in len). */
typedef struct dl_buf {
    char *data;
    size_t len, cap;
} dl_buf;

#define DL_BUF_INIT {NULL, 0, 0}

/* Make room for at least EXTRA more bytes plus a terminator. False when out
 * of memory or on size overflow; the buffer is then unchanged. */
bool dl_buf_reserve(dl_buf *b, size_t extra);
bool dl_buf_append(dl_buf *b, const void *p, size_t n);
bool dl_buf_putc(dl_buf *b, char c);
bool dl_buf_puts(dl_buf *b, const char *s);
bool dl_buf_printf(dl_buf *b, const char *fmt, ...)
#if defined(__GNUC__) || defined(__clang__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static inline void dl_buf_clear(dl_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}
void dl_buf_free(dl_buf *b);

#endif
