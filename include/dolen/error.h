/* dolen/error.h: status codes and the error record every fallible call fills.
 * Part of common/; every other module reports through it. */
#ifndef DOLEN_ERROR_H
#define DOLEN_ERROR_H

#include <stdarg.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define DL_MUST_CHECK __attribute__((warn_unused_result))
#define DL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define DL_MUST_CHECK
#define DL_PRINTF(f, a)
#endif

/* One list yields the enum, the names and the texts, so they cannot drift. */
#define DL_STATUS_LIST(X)                                                    \
    X(DL_OK, 0, "success")                                                   \
    X(DL_END, 1, "end of input")                                             \
    X(DL_EROW, 2, "bad row")                                                 \
    X(DL_EUSAGE, 3, "usage error")                                           \
    X(DL_EINPUT, 4, "bad input")                                             \
    X(DL_EIO, 5, "input/output error")                                       \
    X(DL_ENOMEM, 6, "out of memory")                                         \
    X(DL_EINTERNAL, 7, "internal error")

typedef enum dl_status {
#define DL_X_ENUM(name, val, text) name = val,
    DL_STATUS_LIST(DL_X_ENUM)
#undef DL_X_ENUM
} dl_status;

/* The caller owns it (usually on the stack). Fixed buffers: reporting an
 * error never allocates, so it works when memory has run out. Messages
 * carry positions and expectations, never a key byte or an identifier. */
typedef struct dl_error {
    dl_status code;
    int os_errno;   /* errno when the OS refused, else 0 */
    char file[256]; /* input at fault, "" if none */
    uint64_t line;  /* 1-based; 0 = not applicable */
    uint64_t col;   /* 1-based; 0 = not applicable */
    char msg[256];  /* what is wrong (what was expected) */
} dl_error;

#define DL_ERROR_INIT {DL_OK, 0, "", 0, 0, ""}

/* Reset *err to DL_OK with empty fields. NULL is allowed. */
void dl_error_clear(dl_error *err);

/* Fill *err (if not NULL) and return CODE, so a detector can write
 * `return dl_error_set(err, DL_EINPUT, path, ln, col, "...", ...);`.
 * FILE may be NULL. The message is truncated to fit. */
dl_status dl_error_set(dl_error *err, dl_status code, const char *file, uint64_t line,
                       uint64_t col, const char *fmt, ...) DL_PRINTF(6, 7);

/* As dl_error_set, and record errno (captured by the caller before any
 * other call could change it); the message gets ": strerror" appended. */
dl_status dl_error_os(dl_error *err, dl_status code, int os_errno, const char *file,
                      const char *fmt, ...) DL_PRINTF(5, 6);

/* "DL_EINPUT" and so on; "DL_?" for an unknown value. Static strings. */
const char *dl_status_name(dl_status s);
/* "bad input" and so on. Static strings. */
const char *dl_status_text(dl_status s);

/* Format *err as "FILE:LINE:COL: msg" (parts omitted when empty or 0) into
 * BUF of SIZE bytes, always NUL-terminated. Returns BUF. */
char *dl_error_format(const dl_error *err, char *buf, size_t size);

#endif
