/* buf.c: growable byte buffer.
 * Part of common/; geometric growth with overflow checks. */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "dolen/buf.h"

bool dl_buf_reserve(dl_buf *b, size_t extra)
{
    if (extra > SIZE_MAX - b->len - 1)
        return false;
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(b->data, cap);
    if (!p)
        return false;
    b->data = p;
    b->cap = cap;
    return true;
}

bool dl_buf_append(dl_buf *b, const void *p, size_t n)
{
    if (!dl_buf_reserve(b, n))
        return false;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return true;
}

bool dl_buf_putc(dl_buf *b, char c)
{
    return dl_buf_append(b, &c, 1);
}

bool dl_buf_puts(dl_buf *b, const char *s)
{
    return dl_buf_append(b, s, strlen(s));
}

bool dl_buf_printf(dl_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || !dl_buf_reserve(b, (size_t)n))
        return false;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return true;
}

void dl_buf_free(dl_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
