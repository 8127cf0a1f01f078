/* dolen/encode.h: one record's identifiers to keyed encodings, as the spec says.
 * Part of hashing/; prepare's workers call dl_encode_record() once per row,
 * then format the result as a row of NAME.ids.csv.gz. */
#ifndef DOLEN_ENCODE_H
#define DOLEN_ENCODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/buf.h"
#include "dolen/error.h"
#include "dolen/hll.h"
#include "dolen/key.h"
#include "dolen/normalise.h"
#include "dolen/spec.h"

/* Shared, immutable after creation: per-feature subkeys and Bloom encoders.
 * Any number of threads may use one encoder through their own contexts. */
typedef struct dl_encoder dl_encoder;

/* Per-thread: caches (a field's raw value -> all its encodings; a feature
 * value -> token; q-gram -> positions) and scratch. Fixed memory: a few MB
 * per context, whatever the number of records. */
typedef struct dl_encode_ctx dl_encode_ctx;

/* How one field of one record fared. */
typedef struct dl_field_result {
    dl_norm_result result;
    const char *reason; /* static code when DL_NORM_INVALID, else NULL */
} dl_field_result;

/* An encoded record, filled by dl_encode_record(); owned by the context and
 * valid until its next call. Column c (0..n_columns-1) holds either a set of
 * up to DL_TOKEN_SET_MAX tokens (n_tokens 0 = missing) or, for Bloom columns,
 * a filter (has_filter false = missing). */
typedef struct dl_encoded {
    size_t n_columns;
    struct dl_encoded_cell {
        uint8_t n_tokens;
        bool has_filter;
        uint64_t tokens[DL_TOKEN_SET_MAX];
        const uint64_t *filter; /* dl_encoder_filter_words() words */
    } *cells;
    dl_field_result *fields;  /* one per spec field */
    size_t n_usable;          /* fields with a usable value */
    bool required_failed;     /* a `required` field is not usable */
    int32_t *dates;           /* per field: YYYYMMDD of date fields (0 when not usable) */
    char *sexes;              /* per field: 'M'/'F' of sex fields, 0 otherwise */
} dl_encoded;

/* Derive every subkey from KEY (HKDF-SHA256, labels in docs/keys.md) and set
 * up the Bloom encoders. SPEC and KEY are borrowed only during the call; the
 * encoder keeps derived subkeys, which dl_encoder_free() cleanses. TODAY is
 * YYYYMMDD for dates whose spec max is "today". DL_EINPUT when the spec
 * cannot be encoded (a date format that does not compile), DL_ENOMEM. */
dl_status dl_encoder_new(const dl_spec *spec, const dl_key *key, int32_t today, dl_encoder **out,
                         dl_error *err) DL_MUST_CHECK;
void dl_encoder_free(dl_encoder *e);

/* The output columns, in order: "FIELD.FEATURE" for every feature of every
 * field, then "clk" when the spec has a record-level CLK. Static for the
 * encoder's life. */
size_t dl_encoder_n_columns(const dl_encoder *e);
const char *dl_encoder_column(const dl_encoder *e, size_t c);
bool dl_encoder_column_is_filter(const dl_encoder *e, size_t c);
/* Length in 64-bit words of column C's filter (0 for token columns). */
size_t dl_encoder_filter_words(const dl_encoder *e, size_t c);
/* The spec field index column C belongs to (-1 for the record-level "clk"). */
int dl_encoder_column_field(const dl_encoder *e, size_t c);

/* NULL when out of memory. Free with dl_encode_ctx_free(). */
dl_encode_ctx *dl_encode_ctx_new(const dl_encoder *e);
void dl_encode_ctx_free(dl_encode_ctx *c);

/* Encode one record. VALUES[i] / LENS[i] is the raw UTF-8 value of spec field
 * i (NULL with length 0 when absent). Never fails: a bad value becomes a
 * missing feature, and the reason is in the result. The result lives in the
 * context until the next call. */
const dl_encoded *dl_encode_record(dl_encode_ctx *c, const char *const *values,
                                   const size_t *lens);

/* A hint that the next dl_encode_record() on C will be given VALUES / LENS
 * (as it takes them): their cache entries are fetched into the CPU cache
 * while the current record is finished, and date values are parsed now and
 * kept for that call. Prepare calls it for row i + 1 before encoding row i,
 * so the cache misses of a row overlap the work of the one before. Never
 * changes a result: a hint that proves wrong costs only its own time. */
void dl_encode_prefetch(dl_encode_ctx *c, const char *const *values, const size_t *lens);

/* Add the tokens of the record last encoded by C to the distinct counters:
 * the tokens of token column c go to COUNTERS[c] (NULL: not counted; filter
 * columns have no tokens). Call it for the records that count (prepare: the
 * rows it writes) right after dl_encode_record(), always with the same
 * COUNTERS for one context. A value whose tokens the context has counted
 * before is skipped, because adding a token twice does not change a
 * HyperLogLog: the counters end up exactly as if every token of every
 * counted record had been added, at a fraction of the cost. */
void dl_encode_count_distinct(dl_encode_ctx *c, dl_hll *const *counters);

/* Internal, for tests and benchmarks: lookups and hits of field F's
 * value cache in C, and whether it is off; and turn every field-level cache
 * of C off (results must not change: the tests compare). */
void dl__encode_cache_stats(const dl_encode_ctx *c, size_t f, uint64_t *lookups, uint64_t *hits,
                            bool *off);
void dl__encode_ctx_cache_off(dl_encode_ctx *c);
/* Internal, for tests: compute every MAC at once instead of in pairs. */
void dl__encode_ctx_pairs_off(dl_encode_ctx *c);

/* Append the encoded cells as CSV fields (each preceded by DELIM): tokens as
 * 16 lower-case hex digits separated by single spaces, filters as base64.
 * False when out of memory. */
bool dl_encoded_append_csv(const dl_encoder *e, const dl_encoded *r, dl_buf *b, char delim);

#endif
