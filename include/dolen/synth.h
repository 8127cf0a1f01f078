/* dolen/synth.h: synthetic Welsh populations, datasets sampled from them with
 * realistic errors, and the ground truth linking records to people.
 * Part of bench/; `dolen synth` drives it, benchmarks and end-to-end tests use
 * its output. docs/synth.md describes SYNTH.yaml and every output column. */
#ifndef DOLEN_SYNTH_H
#define DOLEN_SYNTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/progress.h"

/* Datasets one scenario may describe, and columns per dataset. */
#define DL_SYNTH_MAX_DATASETS 16
#define DL_SYNTH_MAX_COLUMNS 32

/* People per chunk: each chunk is generated from its own random stream, so
 * this constant is part of what a seed means; changing it changes outputs. */
#define DL_SYNTH_CHUNK 65536

/* Error kinds: NAME (also the key under `errors:` in SYNTH.yaml and in the
 * manifest) and the default rate. A rate is the chance that one record gets the
 * error; for kinds that need something to act on (a nickname to use, a
 * previous surname, an old address, a day <= 12 to swap with the month) it is
 * the chance among the records where that exists. The defaults are chosen so
 * that two records of one person disagree on surname about 18% and on forename
 * about 12% of the time, as reported for UK hospital data (docs/synth.md). */
#define DL_SYNTH_ERROR_LIST(X)                                                     \
    X(FORENAME_TYPO, "forename_typo", 0.012)                                       \
    X(FORENAME_OCR, "forename_ocr", 0.003)                                         \
    X(FORENAME_PHONETIC, "forename_phonetic", 0.008)                               \
    X(FORENAME_NICKNAME, "forename_nickname", 0.02)                                \
    X(FORENAME_WELSH_ENGLISH, "forename_welsh_english", 0.15)                      \
    X(FORENAME_MISSING, "forename_missing", 0.005)                                 \
    X(FORENAME_PLACEHOLDER, "forename_placeholder", 0.002)                         \
    X(MIDDLE_NAME_MISSING, "middle_name_missing", 0.2)                             \
    X(SURNAME_TYPO, "surname_typo", 0.015)                                         \
    X(SURNAME_OCR, "surname_ocr", 0.003)                                           \
    X(SURNAME_PHONETIC, "surname_phonetic", 0.01)                                  \
    X(SURNAME_VARIANT, "surname_variant", 0.05)                                    \
    X(SURNAME_MARRIAGE, "surname_marriage", 0.4)                                   \
    X(SURNAME_MISSING, "surname_missing", 0.004)                                   \
    X(SURNAME_PLACEHOLDER, "surname_placeholder", 0.001)                           \
    X(NAME_SWAP, "name_swap", 0.004)                                               \
    X(DOB_DAY_MONTH_SWAP, "dob_day_month_swap", 0.01)                              \
    X(DOB_YEAR_SLIP, "dob_year_slip", 0.004)                                       \
    X(DOB_TYPO, "dob_typo", 0.005)                                                 \
    X(DOB_MISSING, "dob_missing", 0.003)                                           \
    X(DOB_PLACEHOLDER, "dob_placeholder", 0.001)                                   \
    X(SEX_MISSING, "sex_missing", 0.003)                                           \
    X(SEX_FLIP, "sex_flip", 0.002)                                                 \
    X(ADDRESS_OLD, "address_old", 0.3)                                             \
    X(ADDRESS_MISSING, "address_missing", 0.01)                                    \
    X(POSTCODE_TYPO, "postcode_typo", 0.008)                                       \
    X(POSTCODE_MISSING, "postcode_missing", 0.01)                                  \
    X(POSTCODE_PLACEHOLDER, "postcode_placeholder", 0.002)                         \
    X(NHS_MISSING, "nhs_missing", 0.02)                                            \
    X(NHS_TRANSPOSE, "nhs_transpose", 0.0)                                         \
    X(DUPLICATE, "duplicate", 0.01)

typedef enum dl_synth_error_kind {
#define DL_X_SYNTH_ENUM(id, name, rate) DL_SYNTH_ERR_##id,
    DL_SYNTH_ERROR_LIST(DL_X_SYNTH_ENUM)
#undef DL_X_SYNTH_ENUM
    DL_SYNTH_ERR__COUNT
} dl_synth_error_kind;

/* The YAML name of an error kind ("forename_typo"); "?" when out of range. */
const char *dl_synth_error_name(dl_synth_error_kind k);
/* The built-in default rate of an error kind; 0 when out of range. */
double dl_synth_error_default(dl_synth_error_kind k);

/* A loaded scenario. Read-only after loading: threads may share it. */
typedef struct dl_synth_spec dl_synth_spec;

/* Load SYNTH.yaml from PATH (copied into messages). DL_OK with *out to free
 * with dl_synth_spec_free(); else *out is NULL and *err says where: DL_EINPUT
 * with file, line and column for bad YAML, unknown keys (with the nearest known
 * key suggested), wrong types, values out of range and impossible sampling
 * (carer_share too high for rate and carer_rate); DL_EIO when the file cannot
 * be read; DL_ENOMEM. Thread-safe (no shared state). */
dl_status dl_synth_spec_load(const char *path, dl_synth_spec **out, dl_error *err) DL_MUST_CHECK;

/* As dl_synth_spec_load over LEN bytes at TEXT (not kept); NAME (may be NULL)
 * is the file name used in messages. */
dl_status dl_synth_spec_parse(const char *text, size_t len, const char *name,
                              dl_synth_spec **out, dl_error *err) DL_MUST_CHECK;

/* The built-in scenario (the carers story: population spine, GP registrations,
 * local-authority carers' assessments, Carer's Allowance claims). Its text is
 * dl_synth_default_yaml(); config/examples/synth-carers.yaml is a copy. */
dl_status dl_synth_spec_default(dl_synth_spec **out, dl_error *err) DL_MUST_CHECK;
const char *dl_synth_default_yaml(void);

/* Free S. NULL is a no-op. */
void dl_synth_spec_free(dl_synth_spec *s);

/* Facts about a loaded spec (strings live as long as S). */
uint64_t dl_synth_spec_people(const dl_synth_spec *s);
size_t dl_synth_spec_datasets(const dl_synth_spec *s);
const char *dl_synth_spec_dataset_name(const dl_synth_spec *s, size_t i);
const char *dl_synth_spec_dataset_file(const dl_synth_spec *s, size_t i);

typedef struct dl_synth_opts {
    uint64_t seed;           /* same seed and spec: byte-identical outputs */
    uint64_t people;         /* 0: the spec's `people` */
    size_t threads;          /* 0: all online CPUs; never changes outputs */
    bool gzip;               /* gzip every output (".gz" appended when missing);
                                else a file is gzip when its name ends in ".gz" */
    const char *truth_path;  /* NULL: OUTDIR/truth.csv (".gz" with gzip) */
    dl_progress *progress;   /* may be NULL; called from the calling thread */
} dl_synth_opts;

#define DL_SYNTH_OPTS_INIT {1, 0, 0, false, NULL, NULL}

/* What a run made: records per dataset and, per error kind, how many records
 * could have had it (eligible) and how many got it (injected), summed over all
 * datasets; the manifest has them per dataset too. */
typedef struct dl_synth_stats {
    uint64_t people;
    size_t n_datasets;
    uint64_t records[DL_SYNTH_MAX_DATASETS];
    uint64_t eligible[DL_SYNTH_ERR__COUNT];
    uint64_t injected[DL_SYNTH_ERR__COUNT];
    uint64_t nhs_repeats;    /* > 0 when people outnumber the 909,091 valid
                                numbers of the 999 range (numbers then repeat) */
} dl_synth_stats;

/* Generate the population and write, into the existing folder OUTDIR, one CSV
 * (or gzip CSV) per dataset, the truth file (dataset, record_id, person_id;
 * O->truth_path or OUTDIR/truth.csv) and OUTDIR/synth-manifest.json (counts,
 * injected errors, seed, spec). Streams in chunks of DL_SYNTH_CHUNK people
 * with memory bounded by the thread count, not by the population. Every file
 * is written under a temporary name and renamed when complete: on failure no
 * output appears under its final name. O may be NULL (defaults). STATS may be
 * NULL. Errors: DL_EUSAGE (bad options), DL_EIO (folder missing or not
 * writable, disk full), DL_ENOMEM, DL_EINTERNAL. Not thread-safe with
 * respect to the same OUTDIR; it starts its own threads. */
dl_status dl_synth_run(const dl_synth_spec *s, const char *outdir, const dl_synth_opts *o,
                       dl_synth_stats *stats, dl_error *err) DL_MUST_CHECK;

#endif
