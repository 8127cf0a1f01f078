/* dolen/key.h: 32-byte secret keys: generation, key files, fingerprints and
 * per-purpose subkeys. Part of hashing/; the linkage key of the custodians and
 * the project key of the data bank are both dl_key. docs/keys.md describes
 * the file format and the threat model. */
#ifndef DOLEN_KEY_H
#define DOLEN_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/hmac.h"

#define DL_KEY_BYTES 32

/* Opaque: 32 key bytes on a page of their own, locked in memory (mlock) and
 * left out of core dumps (MADV_DONTDUMP) where the system allows. Free with
 * dl_key_free(), which overwrites the bytes first. A key is never changed
 * after it is made, so threads may share one. */
typedef struct dl_key dl_key;

/* Load the key file at PATH: one line of exactly 64 hex digits (either case)
 * and an optional newline. DL_OK with *out to free with dl_key_free(); else
 * *out is NULL and: DL_EIO when it cannot be opened or read; DL_EINPUT when
 * it is not a regular file, when group or others have any permission on it
 * (mode & 077; the message says to run chmod 600), or when its content is
 * wrong, with line and column of the first bad character. Messages never
 * contain key characters. */
dl_status dl_key_load(const char *path, dl_key **out, dl_error *err) DL_MUST_CHECK;

/* A new key of 32 bytes from the operating system's random generator
 * (getrandom, blocking until the generator is seeded). DL_EIO if it fails,
 * DL_ENOMEM. */
dl_status dl_key_generate(dl_key **out, dl_error *err) DL_MUST_CHECK;

/* A key holding the LEN bytes at BYTES (for tests and tools; LEN must be 32,
 * else DL_EUSAGE). BYTES is copied; the caller cleanses its own copy. */
dl_status dl_key_from_bytes(const uint8_t *bytes, size_t len, dl_key **out,
                            dl_error *err) DL_MUST_CHECK;

/* Write K to PATH as 64 lower-case hex digits and a newline, in a file of
 * mode 0600, atomically (temporary file, then link or rename). Without FORCE
 * an existing PATH is never replaced: DL_EUSAGE ("use --force") if it exists
 * beforehand, DL_EIO (os_errno EEXIST) if it appears while writing. */
dl_status dl_key_save(const dl_key *k, const char *path, bool force, dl_error *err) DL_MUST_CHECK;

/* The key's fingerprint: the first 8 bytes, as 16 lower-case hex digits and
 * a NUL, of HMAC-SHA256 under the key of the ASCII label "dolen fingerprint
 * v1". Safe to print: it identifies a key without revealing it. */
void dl_key_fingerprint(const dl_key *k, char out[17]);

/* A 32-byte subkey for one purpose: HKDF-SHA256 (RFC 5869) with IKM = the
 * key, salt = the 8 ASCII bytes "dolen v1" and info = the bytes of LABEL
 * (e.g. "token/surname"). Different labels give independent subkeys. OUT is
 * secret: cleanse it after use. */
void dl_key_derive(const dl_key *k, const char *label, uint8_t out[32]);

/* dl_key_derive, then dl_hmac_init on the subkey (whose bytes are cleansed):
 * the usual way to get the HMAC key for one field's tokens. End OUT's life
 * with dl_hmac_key_cleanse(). */
void dl_key_hmac(const dl_key *k, const char *label, dl_hmac_key *out);

/* Overwrite the key bytes (OPENSSL_cleanse), unlock and release them.
 * NULL is a no-op. */
void dl_key_free(dl_key *k);

#endif
