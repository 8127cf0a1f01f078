/* dolen/hexb64.h: lower-case hex and standard base64 (RFC 4648) encoding.
 * Part of common/; tokens are written as hex and Bloom filters as base64 in
 * every ids file, so these sit on prepare's hot path: table driven, no malloc. */
#ifndef DOLEN_HEXB64_H
#define DOLEN_HEXB64_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Write the 2*LEN lower-case hex digits of the LEN bytes at IN to OUT, then a
 * NUL (OUT needs 2*LEN + 1 bytes). Returns 2*LEN. Thread-safe. */
size_t dl_hex_encode(const void *in, size_t len, char *out);

/* V (V < 10^W) as exactly W decimal digits, zero-padded, no NUL: what
 * "%0Wu" writes, without printf's cost on prepare's hot path. Returns W. */
static inline size_t dl_dec_padded(uint64_t v, size_t w, char *out)
{
    for (size_t i = w; i-- > 0;) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return w;
}

/* V in decimal, no NUL, as "%llu" writes it; OUT needs 20 bytes. Returns the
 * number of digits. */
static inline size_t dl_dec_u64(uint64_t v, char *out)
{
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* The 16 lower-case hex digits of V, most significant first, then a NUL
 * (OUT needs 17 bytes): how a 64-bit token is written. */
void dl_hex_u64(uint64_t v, char out[17]);

/* The N tokens V[0..N) as a separated list: for each, the byte SEP[i] then
 * the 16 digits dl_hex_u64() writes; 17*N bytes at OUT, no NUL. How a row's
 * run of token cells is written (AVX-512 VBMI where the CPU has it, three
 * tokens a step). Thread-safe. */
void dl_hex_u64_seps(const uint64_t *v, const char *sep, size_t n, char *out);

/* Internal, for tests: the portable dl_hex_u64_seps() (the same bytes). */
void dl__hex_u64_seps_portable(const uint64_t *v, const char *sep, size_t n, char *out);

/* Decode the LEN hex digits at IN (either case; no NUL needed) into LEN/2
 * bytes at OUT. False when a character is not a hex digit (*BAD, if not NULL,
 * gets its 0-based offset) or LEN is odd (*BAD = LEN); OUT is then partly
 * written. Thread-safe. */
bool dl_hex_decode(const char *in, size_t len, void *out, size_t *bad);

/* Characters (without NUL) of the padded base64 form of N bytes: 4*ceil(N/3). */
static inline size_t dl_b64_encoded_len(size_t n)
{
    return (n + 2) / 3 * 4;
}

/* Write the padded standard base64 (alphabet A-Z a-z 0-9 + /, '=' padding)
 * of the LEN bytes at IN to OUT, then a NUL (OUT needs
 * dl_b64_encoded_len(LEN) + 1 bytes). Returns the characters written. */
size_t dl_b64_encode(const void *in, size_t len, char *out);

/* Internal, for tests and benchmarks: whether dl_b64_encode() can use AVX-512
 * VBMI on this CPU, and the portable encoder it otherwise uses (the same
 * output, byte for byte). */
bool dl__b64_have_vbmi(void);
size_t dl__b64_encode_portable(const void *in, size_t len, char *out);

/* Decode the LEN characters of padded base64 at IN into OUT (which needs
 * LEN/4*3 bytes), setting *OUTLEN to the bytes decoded. Strict, so that every
 * byte string has exactly one accepted text: LEN must be a multiple of 4, '='
 * only as the last one or two characters, unused bits of the last group zero,
 * no whitespace. False on a violation, with *BAD (if not NULL) the 0-based
 * offset of the first offending character (LEN when the length is wrong). */
bool dl_b64_decode(const char *in, size_t len, void *out, size_t *outlen, size_t *bad);

#endif
