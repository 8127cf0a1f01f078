/* dolen/hmac.h: HMAC-SHA256 with precomputed key states, keyed 64-bit tokens,
 * and HKDF-SHA256. Part of hashing/; the hot path of prepare: every feature of
 * every row becomes one dl_hmac_token() under its field's subkey. */
#ifndef DOLEN_HMAC_H
#define DOLEN_HMAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"

/* An HMAC-SHA256 key reduced to the two SHA-256 chaining states after the
 * ipad and opad blocks (RFC 2104), so a message of up to 55 bytes costs two
 * SHA-256 compressions. A plain struct the caller owns (stack, array, arena);
 * it holds secret state: end its life with dl_hmac_key_cleanse(). Once
 * initialised it is never written, so any number of threads may use one key
 * at the same time. */
typedef struct dl_hmac_key {
    uint32_t inner[8]; /* SHA-256 state after (key ^ ipad) */
    uint32_t outer[8]; /* SHA-256 state after (key ^ opad) */
    /* The compression function picked for this CPU at init time (SHA-NI or
     * portable; both give identical results). Internal. */
    void (*compress)(uint32_t state[8], const uint8_t *blocks, size_t n);
} dl_hmac_key;

/* Precompute K for the LEN bytes at KEY (any length; a key longer than 64
 * bytes is hashed first, as RFC 2104 says). KEY is not kept. Cannot fail. */
void dl_hmac_init(dl_hmac_key *k, const uint8_t *key, size_t len);

/* OUT = HMAC-SHA256(K, the LEN bytes at MSG). MSG may be NULL when LEN is 0.
 * Thread-safe for concurrent use of one K. */
void dl_hmac(const dl_hmac_key *k, const void *msg, size_t len, uint8_t out[32]);

/* The keyed token of a value: the first 8 bytes of HMAC-SHA256(K, MSG) read
 * big-endian into an integer, except that 0 becomes 1, because 0 means
 * "missing" in the linkage store. (So tokens 0x..01 are twice as likely as
 * any other value: a 2^-64 effect, irrelevant to linkage.) */
uint64_t dl_hmac_token(const dl_hmac_key *k, const void *msg, size_t len);

/* Two tokens at once: OUT[0] = dl_hmac_token(KA, MA, LA) and OUT[1] =
 * dl_hmac_token(KB, MB, LB), exactly. When both messages have at most
 * DL_HMAC_TOKEN2_MAX bytes and the CPU has the SHA extensions, the two
 * messages' SHA-256 rounds are interleaved, which costs little more than one
 * token; otherwise it is two calls. The keys may be the same. Thread-safe. */
#define DL_HMAC_TOKEN2_MAX 55
void dl_hmac_token2(const dl_hmac_key *ka, const void *ma, size_t la, const dl_hmac_key *kb,
                    const void *mb, size_t lb, uint64_t out[2]);

/* Overwrite K with zeros in a way the compiler cannot drop (OPENSSL_cleanse). */
void dl_hmac_key_cleanse(dl_hmac_key *k);

/* An HMAC over a message given in pieces: dl_hmac_begin, any number of
 * dl_hmac_update, dl_hmac_end (which cleanses the context). K is borrowed
 * until dl_hmac_end. One context per thread. */
typedef struct dl_hmac_ctx {
    const dl_hmac_key *key;
    uint32_t h[8];
    uint64_t total; /* bytes hashed, counting the 64-byte key block */
    size_t nbuf;
    uint8_t buf[64];
} dl_hmac_ctx;

void dl_hmac_begin(dl_hmac_ctx *c, const dl_hmac_key *k);
void dl_hmac_update(dl_hmac_ctx *c, const void *msg, size_t len);
void dl_hmac_end(dl_hmac_ctx *c, uint8_t out[32]);

/* HKDF-SHA256 (RFC 5869): extract PRK = HMAC(SALT, IKM), then expand to
 * OUTLEN bytes at OUT with INFO. SALT may be NULL with SALTLEN 0 (then a
 * string of 32 zero bytes is used, as the RFC says); INFO likewise. False
 * (OUT untouched) only when OUTLEN > 255*32 = 8160. Thread-safe. */
bool dl_hkdf_sha256(const uint8_t *salt, size_t saltlen, const uint8_t *ikm, size_t ikmlen,
                    const uint8_t *info, size_t infolen, uint8_t *out,
                    size_t outlen) DL_MUST_CHECK;

/* Internal, for tests and benchmarks: whether this CPU has the SHA
 * extensions, and K re-initialised to use the portable code even so. */
bool dl__hmac_have_shani(void);
void dl__hmac_init_portable(dl_hmac_key *k, const uint8_t *key, size_t len);

#endif
