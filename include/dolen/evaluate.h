/* dolen/evaluate.h: score links and clusters against ground truth.
 * Part of linkage/; what `dolen evaluate` runs after `dolen link`. It joins
 * SLFs back to local record ids through the custodians' slfmap files, then
 * to person ids through a truth file (or the FEBRL record ids), and counts
 * pairwise precision and recall, B-cubed measures, errors by comparison
 * pattern and a precision-recall table. docs/evaluate.md defines each number. */
#ifndef DOLEN_EVALUATE_H
#define DOLEN_EVALUATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/buf.h"
#include "dolen/error.h"
#include "dolen/progress.h"

/* Where person ids come from. */
typedef enum dl_eval_truth_from {
    DL_EVAL_TRUTH_FILE,  /* a truth CSV: dataset,record_id,person_id (dolen synth) */
    DL_EVAL_TRUTH_FEBRL, /* the record id: rec-N-org / rec-N-dup-K give N; an
                            integer id gives id div 10 (FEBRL dsgen files) */
} dl_eval_truth_from;

typedef struct dl_eval_opts {
    dl_eval_truth_from truth_from;
    const char *truth;              /* truth CSV path (DL_EVAL_TRUTH_FILE only) */
    size_t n_maps;
    const char *const *maps;        /* NAME.slfmap.csv.gz; NAME is the dataset */
    const char *links;              /* links.csv.gz, or NULL */
    const char *review;             /* review.csv.gz, or NULL (needs links or clusters) */
    const char *clusters;           /* clusters.csv.gz, or NULL; links or clusters needed */
    bool cross_only;                /* true pairs and judged pairs across datasets only
                                       (link type "link") */
    const char *link_report;        /* link-report.json, or NULL: its thresholds say
                                       which rows of the precision-recall table the
                                       links and review files cover in full */
    dl_progress *progress;          /* may be NULL */
} dl_eval_opts;

#define DL_EVAL_OPTS_INIT                                                                \
    {DL_EVAL_TRUTH_FILE, NULL, 0, NULL, NULL, NULL, NULL, false, NULL, NULL}

/* Pairwise counts over record pairs. Ratios are NaN when undefined (no
 * predicted pairs, no true pairs); the JSON report writes them as null. */
typedef struct dl_eval_pairwise {
    uint64_t pairs;        /* predicted matching pairs (distinct, judged) */
    uint64_t tp, fp, fn;   /* fn = true pairs not predicted */
    double precision, recall, f1;
} dl_eval_pairwise;

/* What could not be joined or was given twice: reported, never fatal. */
typedef struct dl_eval_pair_issues {
    uint64_t rows;             /* data rows read */
    uint64_t other_datasets;   /* a side's dataset has no map: not judged */
    uint64_t unknown_slf;      /* dataset has a map, SLF is not in it: not judged */
    uint64_t duplicate;        /* pair seen before (in this or an earlier file) */
    uint64_t self;             /* both sides the same record */
    uint64_t same_dataset;     /* with cross_only: both sides in one dataset */
} dl_eval_pair_issues;

typedef struct dl_eval_issues {
    uint64_t map_rows;
    uint64_t map_duplicate_ids;       /* a record id given again in one map */
    uint64_t map_duplicate_slfs;      /* an SLF seen before (the row is skipped) */
    uint64_t truth_rows;
    uint64_t truth_other_datasets;    /* rows for datasets without a map */
    uint64_t truth_without_record;    /* rows whose record is in no map (e.g. rejected) */
    uint64_t truth_duplicates;        /* a (dataset, record id) given again */
    uint64_t truth_conflicts;         /* ... with another person id (the first is kept) */
    uint64_t records_without_truth;   /* records counted as persons of their own */
    dl_eval_pair_issues links, review;
    uint64_t cluster_rows;
    uint64_t cluster_other_datasets;
    uint64_t cluster_unknown_slf;
    uint64_t cluster_duplicate_slfs;
    uint64_t records_without_cluster; /* counted as clusters of their own */
} dl_eval_issues;

/* One comparison pattern seen in the links or review file. */
typedef struct dl_eval_pattern {
    const char *pattern;       /* as written ("1-2-0"); lives as long as the result */
    uint64_t links, tp, fp;    /* judged pairs of the links file with this pattern */
    uint64_t review, fn;       /* judged review pairs; those that are true pairs
                                  left apart (false negatives that were scored) */
} dl_eval_pattern;

/* One row of the precision-recall table: pairs with probability >= threshold
 * among the links and review files. COMPLETE is false when pairs at that
 * threshold may have gone unwritten, so the row undercounts: the threshold is
 * below link's review threshold (with a review file) or match threshold
 * (without), as link-report.json gives them; without that report, below the
 * lowest probability in the files. */
typedef struct dl_eval_threshold {
    double threshold;
    bool complete;
    dl_eval_pairwise m;
} dl_eval_threshold;

typedef struct dl_eval_summary {
    uint64_t records;           /* records in the maps (after skipped duplicate SLFs) */
    uint64_t persons;           /* distinct persons among them */
    size_t datasets;
    uint64_t true_pairs;        /* pairs of records of one person (cross-dataset
                                   only with cross_only) */
    bool has_links;
    dl_eval_pairwise links;     /* the links file against the true pairs */
    uint64_t fn_review;         /* false negatives found in the review file */
    uint64_t fn_unscored;       /* the rest: missed by blocking or scored below review */
    bool clusters_from_file;    /* else clusters are the connected components of links */
    uint64_t clusters;
    dl_eval_pairwise cluster_pairs; /* pairs within one cluster against the true pairs */
    double bcubed_precision, bcubed_recall, bcubed_f1;
    dl_eval_issues issues;
} dl_eval_summary;

typedef struct dl_eval dl_eval;

/* Run the evaluation O describes. All files are streamed once; memory grows
 * with records and judged pairs (hash maps SLF -> record), about 100 bytes a
 * record. DL_OK with *out to free with dl_eval_free(). Else *out is NULL and
 * *err says why: DL_EUSAGE (no map, neither links nor clusters, a truth file
 * missing or given with DL_EVAL_TRUTH_FEBRL, two maps of one dataset);
 * DL_EINPUT (a file missing, a header lacking a column, a malformed SLF or
 * probability: file, line and column given; messages never hold an id or an
 * SLF); DL_EIO; DL_ENOMEM. Rows that cannot be joined are counted in the
 * summary's issues, not errors. Single-threaded; independent runs may go on
 * in different threads. */
dl_status dl_eval_run(const dl_eval_opts *o, dl_eval **out, dl_error *err) DL_MUST_CHECK;

/* Free E. NULL is a no-op. */
void dl_eval_free(dl_eval *e);

/* The numbers; valid as long as E. */
const dl_eval_summary *dl_eval_summary_of(const dl_eval *e);

/* Patterns in order of first appearance (links file, then review); NULL
 * when I is out of range. */
size_t dl_eval_n_patterns(const dl_eval *e);
const dl_eval_pattern *dl_eval_pattern_at(const dl_eval *e, size_t i);

/* The precision-recall table, highest threshold first: 0.999 ... 0.5, and,
 * when a review file was given, 0.4 ... 0.1 too. Empty without links. */
size_t dl_eval_n_thresholds(const dl_eval *e);
const dl_eval_threshold *dl_eval_threshold_at(const dl_eval *e, size_t i);

/* Append the whole report as JSON (every number; docs/evaluate.md) to OUT.
 * DL_OK or DL_ENOMEM. */
dl_status dl_eval_write_json(const dl_eval *e, dl_buf *out, dl_error *err) DL_MUST_CHECK;

/* Append a human summary (a few lines; issues only when not zero) to OUT.
 * DL_OK or DL_ENOMEM. */
dl_status dl_eval_write_text(const dl_eval *e, dl_buf *out, dl_error *err) DL_MUST_CHECK;

#endif
