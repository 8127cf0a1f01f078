/* dolen/bloom.h: Bloom-filter encodings of q-grams (field-level filters and
 * record-level CLKs), their hardening, and the Dice coefficient. Part of
 * hashing/ (prepare writes the filters) and used by linkage/ (compare).
 * docs/bloom.md describes the construction and its privacy trade-offs. */
#ifndef DOLEN_BLOOM_H
#define DOLEN_BLOOM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/spec.h"

/* Defaults of dl_bloom_opts (docs/bloom.md says why):
 * bigrams, 1024 bits, 20 positions per q-gram, padded, no hardening. */
#ifndef DL_BLOOM_OPTS_INIT
#define DL_BLOOM_OPTS_INIT {2, 1024, 20, true, NULL, false, 0}
#endif

/* Limits checked by dl_bloom_enc_new. */
#define DL_BLOOM_MAX_Q 8        /* bytes in a q-gram */
#define DL_BLOOM_MAX_BITS 65536 /* filter length before hardening */
#define DL_BLOOM_MAX_K 64       /* positions per q-gram */

/* A filter is an array of 64-bit words: bit i of the filter is bit (i % 64)
 * (value 1 << (i % 64)) of word i / 64. */

/* Bits of a finished filter for options O: bits, doubled when balanced, then
 * halved xor_folds times. 0 when O is not valid for dl_bloom_enc_new. */
size_t dl_bloom_out_bits(const dl_bloom_opts *o);

/* An encoder: one subkey and one set of options. Immutable once made, so any
 * number of threads may use one encoder at the same time. */
typedef struct dl_bloom_enc dl_bloom_enc;

/* Make an encoder from the 32 bytes at SUBKEY (the caller derives one per field
 * with HKDF, so equal q-grams of different fields set unrelated bits) and the
 * options at O. SUBKEY and O are copied (O->salt_field is not kept: the salt
 * value is passed to dl_bloom_add). On success *OUT is an encoder to free with
 * dl_bloom_enc_free(); else *OUT is NULL and the status is DL_EUSAGE (an option
 * out of range: q 1..8, bits 64..65536 in steps of 64, k 1..64, a finished
 * length that is not a whole number of 64-bit words) or DL_ENOMEM, with *ERR
 * filled (no file, line or column). */
dl_status dl_bloom_enc_new(const uint8_t subkey[32], const dl_bloom_opts *o, dl_bloom_enc **out,
                           dl_error *err) DL_MUST_CHECK;

/* Cleanse the key material and free. NULL is a no-op. */
void dl_bloom_enc_free(dl_bloom_enc *e);

/* The options the encoder was made with (salt_field NULL). Lives as long as E. */
const dl_bloom_opts *dl_bloom_enc_opts(const dl_bloom_enc *e);

/* A per-thread cache of q-gram (with salt) -> k filter positions, so a q-gram
 * seen before costs no MAC. It holds at most MAX_ENTRIES q-grams (0: 8192)
 * and is emptied when full, so its memory is fixed: (33 + 2*k) bytes a
 * slot, 2 to 4 slots an entry (1.2 MB at the defaults). Bound to encoder E,
 * which must outlive it. Returns NULL when out of memory (*ERR, if not NULL,
 * set to DL_ENOMEM). Not thread-safe: one cache per thread and encoder. A
 * cache changes speed only, never a filter. */
typedef struct dl_bloom_cache dl_bloom_cache;
dl_bloom_cache *dl_bloom_cache_new(const dl_bloom_enc *e, size_t max_entries, dl_error *err);

/* Cleanse (the positions are key-derived) and free. NULL is a no-op. */
void dl_bloom_cache_free(dl_bloom_cache *c);

/* Lookups answered from the cache and q-grams that cost a MAC, since the
 * cache was made (for benchmarks and tests). Either pointer may be NULL. */
void dl_bloom_cache_stats(const dl_bloom_cache *c, uint64_t *hits, uint64_t *misses);

/* Set in BITS (opts.bits / 64 words, zeroed by the caller before the first
 * call) the k positions of every q-gram of the LEN bytes at VALUE. When padded,
 * the value is read with q-1 '_' before and after it. A value of LEN 0 sets
 * nothing (a missing value is not a short name); an unpadded value shorter
 * than q is one q-gram of its own length. The SALT_LEN bytes at SALT (NULL
 * when SALT_LEN is 0) enter every q-gram's MAC: salt_len 0 is the unsalted
 * filter. For a record-level CLK call it once per field, each field with its
 * own encoder (own subkey, same bits) into the same BITS. CACHE is NULL or a
 * cache made for E. Returns the number of q-grams added (repeats counted).
 * Thread-safe for one E with one CACHE per thread; cannot fail. */
size_t dl_bloom_add(const dl_bloom_enc *e, dl_bloom_cache *cache, const char *value, size_t len,
                    const char *salt, size_t salt_len, uint64_t *bits);

/* Apply the hardening of E to the filter BITS (opts.bits / 64 words, left
 * unchanged unless OUT == BITS) and write the finished filter to OUT
 * (dl_bloom_out_bits() / 64 words): with balance, the filter followed by its
 * complement, its 2*bits positions permuted by a permutation derived from E's
 * key; then xor_folds times, the first half XORed with the second. OUT may be
 * BITS itself when the encoder does not balance; else they must not overlap.
 * For a record-level CLK use an encoder made with the CLK's options. Thread-safe. */
void dl_bloom_finish(const dl_bloom_enc *e, const uint64_t *bits, uint64_t *out);

/* The WORDS 64-bit words at W as 8*WORDS bytes at OUT, little-endian, so that
 * filter bit i is bit (i % 8) of byte i / 8 on every platform: the byte form
 * that ids files carry (in base64). */
void dl_bloom_to_bytes(const uint64_t *w, size_t words, uint8_t *out);

/* The inverse of dl_bloom_to_bytes: 8*WORDS bytes at IN into WORDS words. */
void dl_bloom_from_bytes(const uint8_t *in, size_t words, uint64_t *w);

/* Set bits in the WORDS words at W. */
uint64_t dl_popcount_words(const uint64_t *w, size_t words);

/* Set bits of (A AND B) over WORDS words. */
uint64_t dl_popcount_and_words(const uint64_t *a, const uint64_t *b, size_t words);

/* Dice coefficient 2|A and B| / (|A| + |B|) of two filters of WORDS words, in
 * [0, 1]; 1 for identical non-empty filters; 0 when both are empty (no q-gram
 * on either side is no evidence of agreement; linkage treats an empty filter
 * as missing anyway). Exact: the same counts give the same double on every
 * platform. Thread-safe. */
double dl_dice(const uint64_t *a, const uint64_t *b, size_t words);

/* The same Dice when |A| = NA and |B| = NB are known (the link stage counts
 * each filter once): one popcount per word instead of three. */
double dl_dice_counted(const uint64_t *a, const uint64_t *b, size_t words, uint64_t na,
                       uint64_t nb);

/* Internal, for tests and benchmarks: Dice by the portable kernel whatever
 * the CPU, and the name of the kernel dl_dice uses ("portable", "popcnt"). */
double dl__dice_portable(const uint64_t *a, const uint64_t *b, size_t words);
const char *dl__popcount_impl(void);

#endif
