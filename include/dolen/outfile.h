/* dolen/outfile.h: outputs written under a temporary name, renamed when complete.
 * Part of common/; every file dolen writes goes through it, so a failed run
 * never leaves a half-written file under a final name. */
#ifndef DOLEN_OUTFILE_H
#define DOLEN_OUTFILE_H

#include <stdint.h>
#include <stddef.h>

#include "dolen/error.h"

typedef struct dl_outfile dl_outfile;

/* What a committed file was: its size and the SHA-256 of its bytes, computed
 * while writing so a manifest need not read the file again. */
typedef struct dl_outfile_info {
    uint64_t bytes;
    uint8_t sha256[32];
} dl_outfile_info;

/* Open a temporary file in PATH's folder (".NAME.tmp.XXXXXX"), created with
 * permissions MODE (e.g. 0644; 0600 for key files; the umask applies). PATH
 * is copied. Returns DL_OK with *out to end with dl_outfile_commit() or
 * dl_outfile_abort(); else an error (folder missing, not writable) and *out
 * is NULL. One writer per file; different files may be used from different
 * threads. */
dl_status dl_outfile_create(const char *path, unsigned mode, dl_outfile **out,
                            dl_error *err) DL_MUST_CHECK;

/* Append LEN bytes (buffered). On error the file stays open; abort it. */
dl_status dl_outfile_write(dl_outfile *f, const void *buf, size_t len,
                           dl_error *err) DL_MUST_CHECK;

/* The final path and the bytes written so far. */
const char *dl_outfile_path(const dl_outfile *f);
uint64_t dl_outfile_bytes(const dl_outfile *f);

/* Flush, fsync, rename over PATH (replacing an existing file), fsync the
 * folder. Fills *info when not NULL. F is freed whatever happens; on failure
 * the temporary file is removed and PATH is untouched. */
dl_status dl_outfile_commit(dl_outfile *f, dl_outfile_info *info, dl_error *err) DL_MUST_CHECK;

/* The LEN bytes at DATA as the whole content of PATH: create (MODE), write,
 * commit, with *INFO (may be NULL) filled as by dl_outfile_commit(). On
 * failure nothing is left under PATH's temporary or final name. */
dl_status dl_outfile_write_file(const char *path, unsigned mode, const void *data, size_t len,
                                dl_outfile_info *info, dl_error *err) DL_MUST_CHECK;

/* Remove the temporary file and free F. NULL is a no-op. Cannot fail. */
void dl_outfile_abort(dl_outfile *f);

/* Make dl_outfile_commit() refuse to replace an existing PATH: the finished
 * file is linked into place (atomic; fails if PATH appeared meanwhile) and
 * the commit returns DL_EIO with os_errno EEXIST, removing the temporary.
 * For key files, which must never be overwritten by accident. */
void dl_outfile_no_replace(dl_outfile *f);

/* Install handlers for SIGINT, SIGTERM and SIGHUP that unlink the temporary
 * file of every outfile still open (in any thread), then die of the same
 * signal as if unhandled. Signals the process ignores stay ignored. Call once
 * from main() before creating outputs. Temporaries are kept
 * track of in a fixed table of DL_OUTFILE_MAX_LIVE entries: beyond that many
 * open outfiles, the rest still work but are not removed on a signal. */
#define DL_OUTFILE_MAX_LIVE 256
void dl_outfile_cleanup_on_signals(void);

#endif
