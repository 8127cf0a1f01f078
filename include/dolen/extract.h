/* dolen/extract.h: anonymised linked extracts for a research data bank.
 * Part of linkage/, after link: joins each NAME.content.csv.gz to the clusters of
 * a linkage run by SLF, replaces the ALF by a per-project ALF_E, applies
 * disclosure control, checks every output cell for leaks and writes the bundle.
 * docs/extract.md describes the outputs, status codes and checks. */
#ifndef DOLEN_EXTRACT_H
#define DOLEN_EXTRACT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/hmac.h"
#include "dolen/key.h"

/* ---- ALF_E: the project pseudonym ---------------------------------------- */

/* HKDF label of the project key's subkey for ALF_E (docs/keys.md). Part of the
 * format: changing it changes every ALF_E. */
#define DL_EXTRACT_ALF_LABEL "extract/alf"

/* The HMAC key for ALF_E: dl_key_hmac(PROJECT, DL_EXTRACT_ALF_LABEL). OUT is
 * secret: end its life with dl_hmac_key_cleanse(). */
void dl_extract_alf_key(const dl_key *project, dl_hmac_key *out);

/* ALF_E of ALF: the first 8 bytes, big-endian, of HMAC-SHA256 under K of the
 * ALF as 8 big-endian bytes (dl_hmac_token, so never 0). The same key gives
 * the same ALF_E every run; another key an unrelated one. Thread-safe. */
uint64_t dl_extract_alf_e(const dl_hmac_key *k, uint64_t alf);

/* ---- ALF_STS: how a record was linked ------------------------------------ */

typedef enum dl_alf_sts {
    DL_ALF_STS_UNLINKED = 0, /* no kept link (ALF_E empty) */
    DL_ALF_STS_EXACT = 1,    /* linked; a kept link within its cluster agrees exactly
                                on the spec's first comparison (pattern value 1) */
    DL_ALF_STS_PROB = 2,     /* linked; probabilistically only */
    DL_ALF_STS_REVIEW = 3,   /* not linked, but in a review-band pair (ALF_E empty) */
    DL_ALF_STS__COUNT
} dl_alf_sts;

/* "unlinked", "linked_exact", "linked_probabilistic", "review"; "?" otherwise. */
const char *dl_alf_sts_name(dl_alf_sts s);

/* The status of a record from what the link outputs say of it: whether its
 * cluster has more than one record, whether a kept link inside the cluster has
 * pattern value 1 on the first comparison, whether it is in a review pair. */
dl_alf_sts dl_alf_sts_of(bool linked, bool exact_first, bool in_review);

/* ---- disclosure control: dates ------------------------------------------- */

typedef enum dl_coarsen {
    DL_COARSEN_NONE,
    DL_COARSEN_WEEK,  /* the Monday of the ISO week, YYYY-MM-DD */
    DL_COARSEN_MONTH, /* YYYY-MM */
    DL_COARSEN_YEAR,  /* YYYY */
} dl_coarsen;

/* "week", "month", "year" (and "none"). Parse returns false when unknown. */
const char *dl_coarsen_name(dl_coarsen c);
bool dl_coarsen_parse(const char *s, dl_coarsen *out);

/* Read a content date cell: YYYY-MM-DD, YYYYMMDD, DD/MM/YYYY, DD.MM.YYYY,
 * DD-MM-YYYY (day first, as UK data are), YYYY-MM, YYYY; day and month may
 * have 1 or 2 digits with separators; a trailing time of day is ignored.
 * *YMD gets YYYYMMDD (month and day 0 for the partial forms). False when
 * empty or not a real date. Thread-safe. */
bool dl_extract_parse_date(const char *in, size_t len, int32_t *ymd);

/* Write YMD coarsened by HOW into OUT, NUL-terminated; returns its length, or
 * 0 when YMD lacks a part HOW needs (a week needs the day, a month the month)
 * or HOW is DL_COARSEN_NONE. */
size_t dl_coarsen_ymd(int32_t ymd, dl_coarsen how, char out[11]);

/* ---- disclosure control: small cells ------------------------------------- */

/* A small-cell rule for every count dolen publishes. The default is the
 * SAIL-style "below 10 suppressed, others rounded to the nearest 5". */
typedef struct dl_sdc_rule {
    uint64_t min_cell;  /* counts 1..min_cell-1 are suppressed; 0 or 1: none */
    uint64_t round;     /* others to the nearest multiple, halves up; 0 or 1: exact */
    bool suppress_zero; /* also suppress 0 (some rules treat an empty cell as
                           disclosive) */
} dl_sdc_rule;

#define DL_SDC_RULE_INIT {10, 5, false}

/* False when COUNT is suppressed; else true with *SHOWN the published value. */
bool dl_sdc_apply(const dl_sdc_rule *r, uint64_t count, uint64_t *shown);

/* ---- the run ---------------------------------------------------------------- */

/* Most content files, and so datasets in the overlap table, of one run. */
#define DL_EXTRACT_MAX_FILES 16

typedef struct dl_extract_opts {
    const char *clusters;            /* LINKDIR/clusters.csv.gz; link.manifest.json,
                                        links.csv.gz and review.csv.gz beside it */
    const dl_key *project_key;       /* borrowed */
    const char *outdir;              /* created (one level) when missing */
    size_t n_content;                /* 1..DL_EXTRACT_MAX_FILES */
    const char *const *content;      /* NAME.content.csv.gz, NAME.manifest.json beside */
    size_t n_ids;                    /* optional: ids files of the run, whose tokens */
    const char *const *ids;          /*   the leak check then also looks for */
    size_t n_coarsen;
    const char *const *coarsen_columns; /* with coarsen[i]: dates to week/month/year */
    const dl_coarsen *coarsen;
    size_t n_drop;
    const char *const *drop;         /* columns left out of the extracts */
    size_t n_identifying;
    const char *const *identifying;  /* columns of clear identifiers: left out, and
                                        their values searched for in every cell */
    dl_sdc_rule sdc;
} dl_extract_opts;

#define DL_EXTRACT_OPTS_INIT                                                            \
    {NULL, NULL, NULL, 0, NULL, 0, NULL, 0, NULL, NULL, 0, NULL, 0, NULL, DL_SDC_RULE_INIT}

typedef struct dl_extract_dataset {
    const char *name;
    uint64_t rows_in, rows_out;             /* equal on success */
    uint64_t status[DL_ALF_STS__COUNT];     /* rows by ALF_STS */
    uint64_t not_in_clusters;               /* SLFs absent from the clusters (unlinked) */
    uint64_t bad_dates;                     /* coarsened cells that were not dates
                                               (written empty) */
} dl_extract_dataset;

typedef struct dl_extract_result {
    size_t n_datasets;                      /* in the order given */
    dl_extract_dataset *datasets;
    size_t n_combos;                        /* 2^n_datasets - 1 */
    /* Combination i is the set of datasets whose bits are set in i + 1 (bit d =
     * datasets[d]): people in exactly those datasets. people[] are the true
     * counts, for tests and checks only: never publish them. shown[] and
     * suppressed[] are what overlap.csv and overlap.json say. */
    uint64_t *people, *shown;
    bool *suppressed;
    size_t n_warnings;
    char **warnings;                        /* e.g. SLFs not in the clusters */
    uint64_t cells_checked;                 /* output cells the leak check read */
    char project_fingerprint[17];
    char link_manifest_sha256[65];
} dl_extract_result;

/* Run the extract. Before reading a row it proves the clusters belong to the
 * content files (the chain of manifests, docs/extract.md) and that the link
 * outputs are those its manifest lists. It writes into OUTDIR NAME.extract.csv.gz
 * per content file, overlap.csv, overlap.json and extract.manifest.json.
 * On DL_OK *out is a result to free with dl_extract_result_free(). On failure
 * *out is NULL, no output is left under its final name, and *err says why:
 * DL_EUSAGE for options (a column no content file has, with a suggestion; too
 * many files); DL_EINPUT for inputs that do not belong together, corrupt or
 * duplicate SLFs, and for any leak-check hit (file and line of the content
 * row, column = the extract's column number); DL_EIO; DL_ENOMEM. Content rows
 * whose SLF is not in the clusters are kept as unlinked and reported among the
 * warnings. Single-threaded; runs may proceed in parallel on different OUTDIRs. */
dl_status dl_extract_run(const dl_extract_opts *o, dl_extract_result **out,
                         dl_error *err) DL_MUST_CHECK;

/* Free R and everything in it. NULL is a no-op. */
void dl_extract_result_free(dl_extract_result *r);

#endif
