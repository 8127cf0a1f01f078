/* deflate_fast.h: a fast deflate encoder for delimited text (internal to common/).
 * Part of common/; gz_write.c wraps it in gzip members for prepare's output
 * chunks, and the tests call it directly. */
#ifndef DL_DEFLATE_FAST_H
#define DL_DEFLATE_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most bytes dl__deflate_fast() writes for LEN input bytes, including the 8
 * bytes of slack its 64-bit stores may touch past the end. */
size_t dl__deflate_fast_bound(size_t len);

/* Write the raw deflate stream (RFC 1951, no wrapper) of the LEN bytes at SRC
 * to DST, which must hold dl__deflate_fast_bound(LEN) bytes; return the bytes
 * of the stream, or SIZE_MAX when out of memory (DST is then undefined).
 *
 * Made for CSV of random tokens: the only LZ77 matches sought are of whole
 * fields (runs of >= 8 bytes between ',', ' ' or '\n') met before within the
 * 32 KiB window, extended while the bytes agree; all else is literals. Each
 * block of up to 128 KiB of input gets dynamic Huffman codes from a sample
 * of its own literals (from all of them when the sample missed a byte value
 * that occurs), or is stored when that is smaller. The bytes depend on SRC
 * alone. Thread-safe; allocates ~150 KB of work memory per call. */
size_t dl__deflate_fast(const uint8_t *src, size_t len, uint8_t *dst);

/* For the tests: dl__deflate_fast() with its scalar code only (the same
 * bytes, which the tests check), and whether this CPU takes the vector path
 * (AVX-512 VBMI) in dl__deflate_fast(). */
size_t dl__deflate_fast_portable(const uint8_t *src, size_t len, uint8_t *dst);
bool dl__deflate_fast_have_simd(void);

/* Huffman code lengths for the N (<= 288) symbol frequencies FREQ, none
 * longer than LIMIT (ceil(log2 N) <= LIMIT <= 15), into LEN (0 = unused).
 * At least two symbols get a code, so the code is always complete: a symbol
 * of zero frequency is given one if fewer than two are used. Exposed for
 * the tests (Kraft equality, the limit). */
void dl__huffman_lengths(const uint64_t *freq, size_t n, unsigned limit, uint8_t *len);

#endif
