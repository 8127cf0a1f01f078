/* error.c: filling and formatting dl_error records.
 * Part of common/; used by every module to report what went wrong and where. */
#include <stdio.h>
#include <string.h>

#include "dolen/error.h"

void dl_error_clear(dl_error *err)
{
    if (!err)
        return;
    memset(err, 0, sizeof *err);
    err->code = DL_OK;
}

static void set_file(dl_error *err, const char *file)
{
    if (!file)
        file = "";
    snprintf(err->file, sizeof err->file, "%s", file);
}

dl_status dl_error_set(dl_error *err, dl_status code, const char *file, uint64_t line,
                       uint64_t col, const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->os_errno = 0;
    set_file(err, file);
    err->line = line;
    err->col = col;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    return code;
}

dl_status dl_error_os(dl_error *err, dl_status code, int os_errno, const char *file,
                      const char *fmt, ...)
{
    if (!err)
        return code;
    err->code = code;
    err->os_errno = os_errno;
    set_file(err, file);
    err->line = 0;
    err->col = 0;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
    if (os_errno && n >= 0 && (size_t)n < sizeof err->msg)
        snprintf(err->msg + n, sizeof err->msg - (size_t)n, ": %s", strerror(os_errno));
    return code;
}

const char *dl_status_name(dl_status s)
{
    switch (s) {
#define DL_X_NAME(name, val, text)                                                       \
    case name:                                                                           \
        return #name;
        DL_STATUS_LIST(DL_X_NAME)
#undef DL_X_NAME
    }
    return "DL_?";
}

const char *dl_status_text(dl_status s)
{
    switch (s) {
#define DL_X_TEXT(name, val, text)                                                       \
    case name:                                                                           \
        return text;
        DL_STATUS_LIST(DL_X_TEXT)
#undef DL_X_TEXT
    }
    return "unknown status";
}

char *dl_error_format(const dl_error *err, char *buf, size_t size)
{
    if (!buf || size == 0)
        return buf;
    buf[0] = '\0';
    if (!err)
        return buf;
    size_t n = 0;
    int w;
    if (err->file[0]) {
        if (err->line && err->col)
            w = snprintf(buf, size, "%s:%llu:%llu: ", err->file,
                         (unsigned long long)err->line, (unsigned long long)err->col);
        else if (err->line)
            w = snprintf(buf, size, "%s:%llu: ", err->file, (unsigned long long)err->line);
        else
            w = snprintf(buf, size, "%s: ", err->file);
        if (w > 0)
            n = (size_t)w < size ? (size_t)w : size - 1;
    }
    snprintf(buf + n, size - n, "%s", err->msg[0] ? err->msg : dl_status_text(err->code));
    return buf;
}
