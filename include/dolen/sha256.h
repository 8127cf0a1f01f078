/* dolen/sha256.h: SHA-256 of files and buffers, and its hex form.
 * Part of common/; manifests record and verify the SHA-256 of every input
 * and output, and the spec hash is a SHA-256. */
#ifndef DOLEN_SHA256_H
#define DOLEN_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"

/* OUT = SHA-256 of the file at PATH, read as a stream in 1 MiB pieces (never
 * whole). DL_EIO (with errno, file = PATH) when it cannot be opened or read;
 * OUT is then unspecified. Thread-safe. */
dl_status dl_sha256_file(const char *path, uint8_t out[32], dl_error *err) DL_MUST_CHECK;

/* As dl_sha256_file, and *BYTES (if not NULL) gets the number of bytes read. */
dl_status dl_sha256_file_size(const char *path, uint8_t out[32], uint64_t *bytes,
                              dl_error *err) DL_MUST_CHECK;

/* OUT = SHA-256 of the LEN bytes at P (P may be NULL when LEN is 0). */
void dl_sha256(const void *p, size_t len, uint8_t out[32]);

/* The 64 lower-case hex digits of a digest, then a NUL. */
void dl_sha256_hex(const uint8_t in[32], char out[65]);

#endif
