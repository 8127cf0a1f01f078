/* dolen/manifest.h: the JSON manifest written beside every set of outputs:
 * tool version, time, spec hash, key fingerprint, inputs, outputs with row
 * counts and SHA-256, and the row accounting. Part of common/; prepare writes
 * one per dataset, link reads them to refuse mismatched inputs and to check
 * that no file changed. docs/manifest.md describes the format. */
#ifndef DOLEN_MANIFEST_H
#define DOLEN_MANIFEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/json.h"
#include "dolen/outfile.h"

#define DL_MANIFEST_FORMAT "dolen-manifest"
#define DL_MANIFEST_FORMAT_VERSION 1
/* Row count of an output that has no rows (a model, a report): written null. */
#define DL_MANIFEST_NO_ROWS UINT64_MAX

/* Opaque. Built with dl_manifest_new() and the setters, or read with
 * dl_manifest_load(); freed with dl_manifest_free(). Not thread-safe while
 * being built; a loaded manifest may be read from many threads. Strings it
 * returns live as long as it does. */
typedef struct dl_manifest dl_manifest;

typedef struct dl_manifest_input {
    const char *name;   /* as given: a path or a name */
    bool has_sha256;    /* false: not known (e.g. standard input) */
    uint8_t sha256[32];
    uint64_t rows_read;
} dl_manifest_input;

typedef struct dl_manifest_output {
    const char *name;   /* relative to the manifest's folder */
    uint64_t rows;      /* DL_MANIFEST_NO_ROWS: not a table */
    uint64_t bytes;
    uint8_t sha256[32];
} dl_manifest_output;

/* A new manifest for COMMAND ("prepare", "link", ...; copied), with tool
 * version DL_VERSION and creation time now, or the time in seconds since
 * 1970 UTC given by the environment variable SOURCE_DATE_EPOCH when it is set
 * (reproducible outputs; https://reproducible-builds.org/specs/source-date-epoch/).
 * DL_EUSAGE when SOURCE_DATE_EPOCH is set but not a whole number; DL_ENOMEM. */
dl_status dl_manifest_new(const char *command, dl_manifest **out, dl_error *err) DL_MUST_CHECK;

/* Override the creation time (seconds since 1970-01-01T00:00:00Z). */
void dl_manifest_set_created(dl_manifest *m, int64_t epoch_seconds);

/* Setters copy their strings. The spec hash is 64 hex digits, the key
 * fingerprint 16 (as dl_key_fingerprint gives); both stored lower-case;
 * other text is DL_EUSAGE. */
dl_status dl_manifest_set_dataset(dl_manifest *m, const char *name, dl_error *err) DL_MUST_CHECK;
dl_status dl_manifest_set_spec_hash(dl_manifest *m, const char *hex,
                                    dl_error *err) DL_MUST_CHECK;
dl_status dl_manifest_set_key_fingerprint(dl_manifest *m, const char *hex,
                                          dl_error *err) DL_MUST_CHECK;

/* Record an input (SHA256 may be NULL when unknown). In call order. */
dl_status dl_manifest_add_input(dl_manifest *m, const char *name, uint64_t rows_read,
                                const uint8_t *sha256, dl_error *err) DL_MUST_CHECK;

/* Record an output: NAME relative to the manifest's folder (not absolute,
 * no "." or ".." or empty parts: DL_EUSAGE), ROWS (or DL_MANIFEST_NO_ROWS),
 * and the size and SHA-256 from dl_outfile_commit(). In call order. */
dl_status dl_manifest_add_output(dl_manifest *m, const char *name, uint64_t rows,
                                 const dl_outfile_info *info, dl_error *err) DL_MUST_CHECK;

/* The row accounting of the run. Optional (written null when never set).
 * The numbers are stored even when they do not add up, but then this call
 * returns DL_EINTERNAL (rows_read != rows_written + rows_rejected; the
 * message gives the three numbers), and so will any attempt to write. */
dl_status dl_manifest_set_accounting(dl_manifest *m, uint64_t rows_read, uint64_t rows_written,
                                     uint64_t rows_rejected, dl_error *err) DL_MUST_CHECK;

/* Sections under "extra", for later stages (data-quality profile, link
 * statistics), written in the order added; keys must differ (DL_EUSAGE).
 * Either the LEN bytes of JSON text at JSON (parsed now, so bad text is
 * DL_EINPUT at once; re-indented when written), or a callback that writes
 * exactly one value when the manifest is written (PAYLOAD borrowed until
 * then; its status stops the write). */
dl_status dl_manifest_set_extra(dl_manifest *m, const char *key, const char *json, size_t len,
                                dl_error *err) DL_MUST_CHECK;
typedef dl_status (*dl_manifest_extra_fn)(dl_json_writer *w, dl_error *err, void *payload);
dl_status dl_manifest_set_extra_fn(dl_manifest *m, const char *key, dl_manifest_extra_fn fn,
                                   void *payload, dl_error *err) DL_MUST_CHECK;

/* The manifest as JSON text appended to OUT. DL_EINTERNAL when the
 * accounting does not add up (the message gives the three numbers), or an
 * extra callback's error. */
dl_status dl_manifest_to_json(const dl_manifest *m, dl_buf *out, dl_error *err) DL_MUST_CHECK;

/* Write it to PATH atomically (mode 0644, via dl_outfile); INFO (may be
 * NULL) gets the manifest's own size and SHA-256. Errors as
 * dl_manifest_to_json, and dl_outfile's. Nothing is left at PATH on error. */
dl_status dl_manifest_write(const dl_manifest *m, const char *path, dl_outfile_info *info,
                            dl_error *err) DL_MUST_CHECK;

/* Read the manifest at PATH: JSON errors, a wrong "format", a
 * "format_version" this dolen does not know, a missing or mistyped field,
 * an output name that leaves the folder, or accounting that does not add up
 * are DL_EINPUT with line and column. Checks no other file: see verify. */
dl_status dl_manifest_load(const char *path, dl_manifest **out, dl_error *err) DL_MUST_CHECK;

/* Re-read every output the manifest names, from the folder of the path it
 * was loaded from (for one built in memory: the working folder), and compare
 * size and SHA-256 (streaming). DL_EINPUT naming the file on the first
 * mismatch, DL_EIO (os_errno ENOENT for a missing file) when one cannot be
 * read. */
dl_status dl_manifest_verify(const dl_manifest *m, dl_error *err) DL_MUST_CHECK;

/* Accessors: NULL for a field not set (or null in the file). */
const char *dl_manifest_command(const dl_manifest *m);
const char *dl_manifest_tool_version(const dl_manifest *m);
const char *dl_manifest_created(const dl_manifest *m); /* "2024-05-01T12:00:00Z" */
const char *dl_manifest_dataset(const dl_manifest *m);
const char *dl_manifest_spec_hash(const dl_manifest *m);
const char *dl_manifest_key_fingerprint(const dl_manifest *m);
size_t dl_manifest_n_inputs(const dl_manifest *m);
const dl_manifest_input *dl_manifest_input_at(const dl_manifest *m, size_t i);
size_t dl_manifest_n_outputs(const dl_manifest *m);
const dl_manifest_output *dl_manifest_output_at(const dl_manifest *m, size_t i);
/* False when no accounting was set (or it was null in the file). */
bool dl_manifest_accounting(const dl_manifest *m, uint64_t *rows_read, uint64_t *rows_written,
                            uint64_t *rows_rejected);
/* The extra section KEY: as set with dl_manifest_set_extra or as loaded;
 * NULL when absent or set with a callback. */
const dl_json *dl_manifest_extra(const dl_manifest *m, const char *key);

/* Free M. NULL is a no-op. */
void dl_manifest_free(dl_manifest *m);

#endif
