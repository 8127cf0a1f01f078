/* dolen/spec.h: the linkage spec (one YAML file) as a typed, read-only structure.
 * Part of config/; prepare, link and extract all read it. docs/spec.md is the
 * user-facing reference of every key. */
#ifndef DOLEN_SPEC_H
#define DOLEN_SPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"

#define DL_SPEC_MAX_FIELDS 64
#define DL_SPEC_MAX_FEATURES 24    /* per field */
#define DL_SPEC_MAX_LEVELS 12      /* per comparison, not counting null and else */
#define DL_SPEC_MAX_RULE_TERMS 8   /* features in one blocking rule */
#define DL_SPEC_MAX_COUNT_TERMS 8  /* features in one `count` level */

/* The version of everything that turns a value into what is hashed: the
 * normalisers, phonetic codes and name-variant tables (hashing/). It is a
 * line of the canonical text the spec hash covers, so custodians running
 * versions that would encode one person differently get different spec
 * hashes, and link refuses to mix their files. Bump it with any change to
 * their output. */
#define DL_NORMALISATION_TAG "dolen-norm-1"

typedef enum dl_field_type {
    DL_FT_GIVEN_NAME,
    DL_FT_SURNAME,
    DL_FT_DATE,
    DL_FT_SEX,
    DL_FT_UK_POSTCODE,
    DL_FT_NHS_NUMBER,
    DL_FT_TEXT,
    DL_FT__COUNT
} dl_field_type;

/* Features a field can be encoded as. Which kinds a type allows is
 * dl_feature_allowed(); each becomes one column `FIELD.FEATURE` of an ids file. */
typedef enum dl_feature_kind {
    DL_FEAT_TOKEN,      /* the normalised value: every type */
    DL_FEAT_PARTS,      /* names, text: each part of a multi-part value (a set) */
    DL_FEAT_SOUNDEX,    /* names */
    DL_FEAT_NYSIIS,     /* names */
    DL_FEAT_DMETAPHONE, /* names: Double Metaphone primary and alternate (a set) */
    DL_FEAT_VARIANT,    /* given_name, surname: name-variant group */
    DL_FEAT_INITIAL,    /* names, text: first letter */
    DL_FEAT_YEAR,       /* date */
    DL_FEAT_MONTH,      /* date */
    DL_FEAT_DAY,        /* date */
    DL_FEAT_SWAP,       /* date: day and month in canonical order, with year */
    DL_FEAT_YEAR_PM1,   /* date: two year buckets; shared iff years differ by <= 1 */
    DL_FEAT_SECTOR,     /* uk_postcode */
    DL_FEAT_DISTRICT,   /* uk_postcode */
    DL_FEAT_AREA,       /* uk_postcode */
    DL_FEAT_BLOOM,      /* names, text: Bloom filter of q-grams (field-level CLK) */
    DL_FEAT__COUNT
} dl_feature_kind;

typedef struct dl_bloom_opts {
    unsigned q;              /* q-gram length; default 2 */
    unsigned bits;           /* filter length before hardening, multiple of 64; 1024 */
    unsigned k;              /* positions per q-gram; default 20 */
    bool padded;             /* pad the value with '_' at both ends; default true */
    const char *salt_field;  /* hardening: salt q-gram positions with this field's
                                normalised value (NULL: none) */
    bool balance;            /* hardening: append the complement, then permute */
    unsigned xor_folds;      /* hardening: times the filter is XOR-folded in half */
} dl_bloom_opts;

typedef struct dl_spec_field {
    const char *name;      /* feature namespace, [a-z][a-z0-9_]* */
    const char *column;    /* input CSV column; NULL when the spec says `column: null`
                              (this dataset lacks it: every value is missing) */
    dl_field_type type;
    size_t n_features;
    dl_feature_kind features[DL_SPEC_MAX_FEATURES]; /* in spec order, no repeats */
    bool required;         /* a row whose value is missing or invalid is rejected */
    const char *token_key; /* fields with the same token_key share the subkey of
                              their `token` feature, so their tokens compare
                              across fields (reversed levels); NULL: own subkey */
    dl_bloom_opts bloom;   /* resolved: field value over `bloom:` defaults */
    size_t n_placeholders; /* values that mean "missing", after normalisation:
                              sorted, unique; names and text upper-case ASCII with
                              single spaces; dates "YYYY-MM-DD" (at most 16) */
    const char **placeholders;
    /* date only */
    size_t n_formats;      /* strptime-like formats tried in order */
    const char **formats;
    int32_t min_date;      /* plausible range as YYYYMMDD; max 0 = "today" */
    int32_t max_date;
    uint32_t line, col;    /* where the field was declared, for messages */
} dl_spec_field;

/* A feature reference `FIELD.FEATURE`, resolved to indexes into the spec. */
typedef struct dl_feature_ref {
    uint16_t field;        /* index into spec->fields */
    dl_feature_kind kind;
} dl_feature_ref;

typedef enum dl_level_kind {
    DL_LV_EXACT, /* the feature agrees (token sets intersect) */
    DL_LV_DICE,  /* Dice coefficient of two Bloom filters >= min */
    DL_LV_COUNT, /* at least min_count of the listed features agree */
    DL_LV_REVERSED, /* two fields' tokens agree crosswise: A of one record equals B
                       of the other and B equals A (a given name and surname
                       swapped); their fields share a token_key */
} dl_level_kind;

typedef struct dl_spec_level {
    const char *label;       /* shown in reports; generated when not given */
    dl_level_kind kind;
    size_t n_terms;          /* 1 for exact and dice, 2 for reversed */
    dl_feature_ref terms[DL_SPEC_MAX_COUNT_TERMS];
    double min;              /* dice */
    unsigned min_count;      /* count */
} dl_spec_level;

typedef struct dl_spec_comparison {
    const char *name;
    size_t n_levels;          /* ordered, first match wins; then "else" */
    dl_spec_level levels[DL_SPEC_MAX_LEVELS];
    dl_feature_ref null_if;   /* missing on either side => null level;
                                 default: first feature of the first level */
    bool has_tf;              /* term-frequency adjustment on tf_feature */
    dl_feature_ref tf_feature;
    uint32_t line, col;
} dl_spec_comparison;

typedef struct dl_blocking_rule {
    size_t n_terms;
    dl_feature_ref terms[DL_SPEC_MAX_RULE_TERMS];
} dl_blocking_rule;

typedef enum dl_link_type { DL_LINK_DEDUPE, DL_LINK_LINK, DL_LINK_AND_DEDUPE, DL_LINK_SPINE } dl_link_type;
typedef enum dl_oversize { DL_OVERSIZE_SKIP, DL_OVERSIZE_CAP } dl_oversize;
typedef enum dl_cluster_method { DL_CLUSTER_COMPONENTS, DL_CLUSTER_ONE_TO_ONE, DL_CLUSTER_SPINE } dl_cluster_method;

typedef struct dl_spec {
    const char *path;          /* as given to dl_spec_load */
    const char *name;          /* spec `name:` */
    dl_link_type link_type;

    /* input: how prepare reads a custodian's CSV */
    const char *record_id;     /* local record id column (to the slfmap) */
    char delimiter;            /* default ',' */
    bool trim;                 /* trim spaces around unquoted fields */
    size_t max_field_bytes;    /* default 65536 */

    size_t n_fields;
    dl_spec_field fields[DL_SPEC_MAX_FIELDS];
    dl_bloom_opts bloom;       /* defaults for field-level filters */

    /* record-level CLK: one Bloom filter over several fields (n_clk_fields 0: none) */
    size_t n_clk_fields;
    uint16_t clk_fields[DL_SPEC_MAX_FIELDS];
    dl_bloom_opts clk;

    /* content: columns kept beside the SLF (keep XOR drop; neither = keep all
       columns that are not identifier fields or the record id) */
    size_t n_keep, n_drop;
    const char **keep, **drop;
    int derive_week_of_birth;  /* field index of the date to derive from, -1 none */
    int derive_year_of_birth;
    int derive_sex;            /* field index of a sex field, -1 none */

    size_t n_comparisons;
    dl_spec_comparison *comparisons;

    size_t n_rules;
    dl_blocking_rule *rules;
    uint64_t max_block;        /* records in one block before oversize handling */
    dl_oversize oversize;

    /* training */
    uint64_t seed;
    uint64_t u_sample;         /* record pairs sampled for u; default 10^7 */
    size_t n_em_rules;         /* blocking rules of the EM passes; 0: use `rules` */
    dl_blocking_rule *em_rules;
    unsigned max_iterations;   /* default 100 */
    double tolerance;          /* default 1e-6 */

    double match_threshold;    /* probability; default 0.95 */
    double review_threshold;   /* default 0.5; <= match_threshold */

    dl_cluster_method cluster;
    const char *spine;         /* dataset name of the spine (spine mode) */

    uint8_t hash[32];          /* SHA-256 of the canonical encoding part */
} dl_spec;

/* Load and validate PATH. On success *out is a spec to free with
 * dl_spec_free(); every string in it lives as long as the spec. On failure
 * returns DL_EINPUT (bad YAML or spec, with file, line, column and, where a
 * key is unknown but close to a known one, "did you mean 'KEY'?") or
 * DL_EIO/DL_ENOMEM, and *out is NULL. Thread-safe (no shared state). */
dl_status dl_spec_load(const char *path, dl_spec **out, dl_error *err) DL_MUST_CHECK;

/* As dl_spec_load, from LEN bytes at TEXT; NAME is used in messages. */
dl_status dl_spec_parse(const char *name, const char *text, size_t len, dl_spec **out,
                        dl_error *err) DL_MUST_CHECK;

void dl_spec_free(dl_spec *s);

/* The canonical text that dl_spec.hash is the SHA-256 of, NUL-terminated,
 * malloc'd (caller frees), or NULL when out of memory. */
char *dl_spec_canonical(const dl_spec *s);

/* Lower-case hex of s->hash into OUT (65 bytes). Returns OUT. */
char *dl_spec_hash_hex(const dl_spec *s, char out[65]);

/* Print a normalised, human-readable summary (what `dolen check` shows). */
void dl_spec_print(const dl_spec *s, void *file /* FILE * */);

/* Names: "given_name", "dmetaphone", "dice", ... Static strings. */
const char *dl_field_type_name(dl_field_type t);
const char *dl_feature_name(dl_feature_kind k);
/* Parse a name; returns false when unknown. */
bool dl_field_type_parse(const char *s, dl_field_type *out);
bool dl_feature_parse(const char *s, dl_feature_kind *out);
/* Whether type T may carry feature K. */
bool dl_feature_allowed(dl_field_type t, dl_feature_kind k);
/* Whether K is a set of up to DL_TOKEN_SET_MAX tokens rather than one token. */
bool dl_feature_is_set(dl_feature_kind k);
#define DL_TOKEN_SET_MAX 4

#endif
