/* dolen/hll.h: HyperLogLog distinct counting of 64-bit tokens in fixed memory.
 * Part of common/; prepare's data-quality profile in the manifest counts the
 * distinct values of each feature with it, at any number of rows. */
#ifndef DOLEN_HLL_H
#define DOLEN_HLL_H

#include <stddef.h>
#include <stdint.h>

/* Precision p = 14: 2^14 one-byte registers (16 KiB), a relative standard
 * error of about 1.04 / sqrt(2^14) = 0.8 %. */
#define DL_HLL_PRECISION 14
#define DL_HLL_REGISTERS (1u << DL_HLL_PRECISION)

typedef struct dl_hll dl_hll;

/* A new, empty counter. NULL when out of memory. Free with dl_hll_free(). */
dl_hll *dl_hll_new(void);

/* NULL is a no-op. */
void dl_hll_free(dl_hll *h);

/* Forget everything added. */
void dl_hll_clear(dl_hll *h);

/* Count the token V. Tokens are already keyed hashes, so no new hash is
 * computed, but V is mixed once (a bijection) so that register index and rank
 * do not reuse its raw bits. Adding a token again changes nothing. Not
 * thread-safe: one counter per thread (or chunk), merged afterwards. */
void dl_hll_add(dl_hll *h, uint64_t v);

/* DST becomes the counter of everything added to DST or SRC (register-wise
 * maximum). Merging is commutative and associative, so the merged registers,
 * and the estimate, do not depend on the order or on how the tokens were cut
 * into chunks or threads. SRC is unchanged; SRC == DST is allowed. */
void dl_hll_merge(dl_hll *dst, const dl_hll *src);

/* The estimated number of distinct tokens added, by Ertl's improved
 * estimator (2017): the HyperLogLog raw estimate (Flajolet, Fusy, Gandouet,
 * Meunier 2007) with the terms of empty and saturated registers corrected, so
 * small counts need no separate linear counting and no bias table. 0 for an
 * empty counter. A pure function of the registers. */
double dl_hll_estimate(const dl_hll *h);

/* Internal, for tests: the DL_HLL_REGISTERS registers. */
const uint8_t *dl__hll_registers(const dl_hll *h);

#endif
