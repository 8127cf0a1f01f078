/* dolen/gz.h: byte streams that read plain or gzip input and write gzip output.
 * Part of common/; the CSV reader and writer sit on top of these, and prepare's
 * workers compress their own chunks with dl_gz_compress_member().
 *
 * The fast path is ISA-L (igzip); zlib is the fallback when the build lacks
 * it (dl_config.h: DL_HAVE_ISAL). Both read and write standard gzip (RFC 1952). */
#ifndef DOLEN_GZ_H
#define DOLEN_GZ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/buf.h"
#include "dolen/error.h"
#include "dolen/outfile.h"

/* ---- reading ------------------------------------------------------------------ */

typedef struct dl_gz_reader dl_gz_reader;

/* Open PATH ("-" = standard input) for reading. Whether it is gzip is decided
 * by its first two bytes (1f 8b); anything else is read as it is. A gzip file
 * may hold several members one after another (what dl_gz_writer makes); they
 * read as one stream. PATH is copied. DL_OK with *out to free with
 * dl_gz_close(); else *out is NULL and *err says why (DL_EINPUT: missing file,
 * a folder; DL_EIO: read failure; DL_ENOMEM). One reader per thread. */
dl_status dl_gz_open(const char *path, dl_gz_reader **out, dl_error *err) DL_MUST_CHECK;

/* As dl_gz_open over LEN bytes at DATA (borrowed: must outlive the reader).
 * NAME (copied; NULL = "<memory>") is the file name used in messages. */
dl_status dl_gz_open_mem(const void *data, size_t len, const char *name, dl_gz_reader **out,
                         dl_error *err) DL_MUST_CHECK;

/* Read up to CAP (> 0) bytes of content into BUF; *got is how many.
 * DL_OK with *got > 0; DL_END at the end (*got == 0); DL_EINPUT for a
 * truncated or corrupt gzip stream or a CRC/length mismatch, the message
 * naming the compressed byte offset, file set, line and column 0; DL_EIO;
 * DL_ENOMEM. After an error every later call returns the same error. */
dl_status dl_gz_read(dl_gz_reader *r, void *buf, size_t cap, size_t *got,
                     dl_error *err) DL_MUST_CHECK;

/* True when the input is gzip (known after open). */
bool dl_gz_is_gzip(const dl_gz_reader *r);
/* Bytes of the file (compressed bytes for gzip) consumed so far, and the
 * file's size (0 when unknown, e.g. a pipe): for progress reports. */
uint64_t dl_gz_bytes_in(const dl_gz_reader *r);
uint64_t dl_gz_size(const dl_gz_reader *r);
/* The name given at open (for messages). Valid until dl_gz_close(). */
const char *dl_gz_name(const dl_gz_reader *r);

/* Close the file (not standard input) and free R. NULL is a no-op. */
void dl_gz_close(dl_gz_reader *r);

/* For tests only: read the file in blocks of N bytes (>= 1) instead of 1 MiB,
 * so that gzip headers and trailers straddle block edges. Call right after
 * open, before the first dl_gz_read(). */
void dl__gz_set_block(dl_gz_reader *r, size_t n);

/* ---- writing ------------------------------------------------------------------- */

/* Bytes of content per gzip member written by dl_gz_writer. */
#define DL_GZ_CHUNK ((size_t)1 << 20)
/* Largest input of one dl_gz_compress_member() call. */
#define DL_GZ_MEMBER_MAX ((size_t)1 << 30)

/* Append to OUT one complete gzip member (header, deflate data, CRC-32 and
 * length trailer) holding the LEN bytes at SRC (LEN may be 0; at most
 * DL_GZ_MEMBER_MAX). ISA-L level 1, or zlib level 6 without ISA-L. The header
 * has MTIME 0, no name and a fixed OS byte, so the same input gives the same
 * bytes every time on the same build. Thread-safe: no shared state; each call
 * allocates its own work memory. DL_OK; DL_EUSAGE if LEN is too big;
 * DL_ENOMEM (OUT keeps its old length); DL_EINTERNAL if the library refuses. */
dl_status dl_gz_compress_member(const void *src, size_t len, dl_buf *out,
                                dl_error *err) DL_MUST_CHECK;

/* As dl_gz_compress_member(), with dolen's own encoder (common/deflate_fast.c)
 * instead of the library's: LZ77 matches only of whole repeated fields of
 * CSV (runs between ',', ' ' and newline), the rest Huffman-coded literals.
 * For text of random tokens (prepare's ids and slfmap files) it is about as
 * small as ISA-L level 1 at ~1.7x its speed; on text that repeats within
 * fields it is much bigger. Standard gzip, the same bytes on every build
 * (with or without ISA-L). Allocates ~150 KB of work memory per call. */
dl_status dl_gz_compress_member_fast(const void *src, size_t len, dl_buf *out,
                                     dl_error *err) DL_MUST_CHECK;

/* A gzip stream writer over F (borrowed; the caller commits or aborts it).
 * Content is cut every DL_GZ_CHUNK bytes and each chunk is written as its own
 * member, so output bytes depend only on the content and on where
 * dl_gzw_put_member() inserted members, never on threads. Not thread-safe. */
typedef struct dl_gz_writer dl_gz_writer;

dl_status dl_gzw_open(dl_outfile *f, dl_gz_writer **out, dl_error *err) DL_MUST_CHECK;
/* Compress W's members with dl_gz_compress_member_fast() (dolen's own
 * encoder: whole repeated fields and literals) instead of the library's:
 * faster on files of random tokens, about as small, and its bytes depend on
 * the content alone by construction. Call before writing anything. */
void dl_gzw_use_token_encoder(dl_gz_writer *w);
/* Append LEN bytes of content. Errors (DL_EIO from F, DL_ENOMEM) leave the
 * stream unusable: free it and abort F. */
dl_status dl_gzw_write(dl_gz_writer *w, const void *p, size_t len, dl_error *err) DL_MUST_CHECK;
/* Compress and write the buffered content (if any) as a member now. */
dl_status dl_gzw_flush(dl_gz_writer *w, dl_error *err) DL_MUST_CHECK;
/* Write LEN bytes that are already whole gzip members (from
 * dl_gz_compress_member()), after flushing the buffered content, so the
 * order of content is kept. */
dl_status dl_gzw_put_member(dl_gz_writer *w, const void *member, size_t len,
                            dl_error *err) DL_MUST_CHECK;
/* Flush and free W (whatever happens). If nothing at all was written, one
 * empty member is written, so the file is still valid gzip. */
dl_status dl_gzw_close(dl_gz_writer *w, dl_error *err) DL_MUST_CHECK;
/* Free W without writing anything more (failure paths). NULL is a no-op. */
void dl_gzw_free(dl_gz_writer *w);
/* Content bytes accepted so far (before compression). */
uint64_t dl_gzw_bytes_in(const dl_gz_writer *w);

#endif
