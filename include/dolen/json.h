/* dolen/json.h: a deterministic JSON writer onto a dl_buf, and a strict JSON
 * reader into a small read-only tree. Part of common/; manifests, link
 * reports and the report command's JSON twin are written and read with it. */
#ifndef DOLEN_JSON_H
#define DOLEN_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/buf.h"
#include "dolen/error.h"

/* Containers nest at most this deep, in both writer and reader: deeper input
 * is an error rather than a stack overflow. */
#define DL_JSON_MAX_DEPTH 64

typedef struct dl_json dl_json; /* one value of a parsed document */

/* ---- Writer ("jw": JSON writer) ----------------------------------------
 * Pretty-printed with 2-space indents, "key": value, one member or item a
 * line, empty containers as {} and []. The same calls always give the same
 * bytes. Errors are sticky: the first misuse (a value where a key is due, an
 * unbalanced end, NaN, invalid UTF-8) or allocation failure is remembered,
 * later calls do nothing, and dl_jw_finish() reports it. So a caller makes
 * all its calls and checks once. One writer per thread. */
typedef struct dl_json_writer {
    dl_buf *out;
    dl_status status;
    const char *why;        /* static text of the first error */
    unsigned depth;
    bool done;              /* the top-level value is complete */
    bool after_key;         /* a key was written; its value is due */
    bool in_object[DL_JSON_MAX_DEPTH + 1];
    bool has_items[DL_JSON_MAX_DEPTH + 1];
} dl_json_writer;

/* Start writing one JSON value, appended to OUT (borrowed until finish). */
void dl_jw_init(dl_json_writer *w, dl_buf *out);
void dl_jw_object(dl_json_writer *w);
void dl_jw_object_end(dl_json_writer *w);
void dl_jw_array(dl_json_writer *w);
void dl_jw_array_end(dl_json_writer *w);
/* The next member's key (NUL-terminated, valid UTF-8). */
void dl_jw_key(dl_json_writer *w, const char *key);
/* Strings must be valid UTF-8; '"', '\\', newline, tab and carriage return
 * get their short escapes, other control characters and DEL \u00XX. */
void dl_jw_string(dl_json_writer *w, const char *s);
void dl_jw_string_n(dl_json_writer *w, const char *s, size_t len);
void dl_jw_uint(dl_json_writer *w, uint64_t v);
void dl_jw_int(dl_json_writer *w, int64_t v);
/* The shortest of %.15g, %.16g, %.17g that reads back as exactly V (so the
 * bytes depend only on V). NaN and infinities are refused. Assumes the C
 * locale for LC_NUMERIC, which dolen never changes. */
void dl_jw_double(dl_json_writer *w, double v);
void dl_jw_bool(dl_json_writer *w, bool v);
void dl_jw_null(dl_json_writer *w);
/* A copy of parsed value V (numbers keep their original text), re-indented
 * to fit: how a caller splices in a JSON fragment it holds as text. */
void dl_jw_value(dl_json_writer *w, const dl_json *v);
/* DL_OK when exactly one complete value was written (a newline is then
 * appended); else the first error, as DL_EINTERNAL (misuse, NaN),
 * DL_EINPUT (invalid UTF-8 in a string) or DL_ENOMEM, with *err filled. */
dl_status dl_jw_finish(dl_json_writer *w, dl_error *err) DL_MUST_CHECK;

/* ---- Reader ------------------------------------------------------------
 * RFC 8259 JSON, strictly: invalid UTF-8 (overlong forms, surrogates, beyond
 * U+10FFFF), unpaired \u surrogates, control characters in strings, leading
 * zeros, trailing commas, comments, duplicate keys in an object, anything
 * after the value, and nesting deeper than DL_JSON_MAX_DEPTH are errors
 * (DL_EINPUT, with line and 1-based byte column). A UTF-8 byte order mark at
 * the start is skipped. Numbers keep their text; they are also read as a
 * double (out-of-range magnitudes such as 1e999 are errors) and as an exact
 * int64/uint64 when they are integers in range. */
typedef struct dl_json_doc dl_json_doc;

typedef enum dl_json_type {
    DL_JSON_NULL,
    DL_JSON_BOOL,
    DL_JSON_NUMBER,
    DL_JSON_STRING,
    DL_JSON_ARRAY,
    DL_JSON_OBJECT,
} dl_json_type;

/* Parse the LEN bytes at TEXT (no NUL needed). NAME is the file name used in
 * error messages (may be NULL) and is copied. DL_OK with *out to free with
 * dl_json_doc_free(); else *out is NULL and *err says where and why:
 * DL_EINPUT, or DL_ENOMEM. TEXT is not kept. */
dl_status dl_json_parse(const char *text, size_t len, const char *name, dl_json_doc **out,
                        dl_error *err) DL_MUST_CHECK;

/* Read and parse the file at PATH (DL_EIO when it cannot be read). Files
 * over 16 MiB are refused (DL_EINPUT): dolen's JSON files are manifests and
 * reports of kilobytes, and a tree costs ~50 times its text at worst. */
dl_status dl_json_load(const char *path, dl_json_doc **out, dl_error *err) DL_MUST_CHECK;

/* Free the document and every value in it. NULL is a no-op. */
void dl_json_doc_free(dl_json_doc *d);

/* The top-level value; it and everything reached from it live as long as D.
 * A document is never changed after parsing: threads may share it. */
const dl_json *dl_json_root(const dl_json_doc *d);
/* The NAME given to dl_json_parse ("" if none). */
const char *dl_json_doc_name(const dl_json_doc *d);

/* Accessors. Each accepts NULL (a missing value) and then answers as for
 * the wrong type: NULL, 0 or false. */
dl_json_type dl_json_type_of(const dl_json *v);  /* NULL: DL_JSON_NULL */
const char *dl_json_type_name(dl_json_type t);   /* "null", "string", ... */
/* Where V starts in the text: 1-based line and byte column. */
uint64_t dl_json_line(const dl_json *v);
uint64_t dl_json_col(const dl_json *v);
/* Items of an array, members of an object; 0 for other types. */
size_t dl_json_len(const dl_json *v);
/* Item I of an array, or the value of member I of an object (document
 * order); NULL when out of range or V is neither. */
const dl_json *dl_json_at(const dl_json *v, size_t i);
/* The key of member I of an object (NUL-terminated; *LEN, if not NULL, its
 * length, as keys may hold \u0000). NULL when not an object or out of range. */
const char *dl_json_key_at(const dl_json *v, size_t i, size_t *len);
/* The value of member KEY of object V (O(log n)), or NULL. */
const dl_json *dl_json_get(const dl_json *v, const char *key);
/* A string's bytes (NUL-terminated, UTF-8; *LEN its length), or NULL. */
const char *dl_json_str(const dl_json *v, size_t *len);
/* A number's text as written, or NULL. */
const char *dl_json_num_text(const dl_json *v);
/* True and *OUT set when V is of the type and the value fits exactly. */
bool dl_json_bool(const dl_json *v, bool *out);
bool dl_json_double(const dl_json *v, double *out);
bool dl_json_int64(const dl_json *v, int64_t *out);
bool dl_json_uint64(const dl_json *v, uint64_t *out);

/* Internal: the length of the valid UTF-8 sequence at S (at most N bytes),
 * or 0 when it is not one (RFC 3629: no overlong forms, no surrogates, at
 * most U+10FFFF). Shared by the reader and the writer. */
size_t dl__utf8_seq(const unsigned char *s, size_t n);

#endif
