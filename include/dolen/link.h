/* dolen/link.h: link encoded datasets: block, compare, train, score, cluster.
 * Part of linkage/; what `dolen link` runs. Reads the ids files prepare
 * wrote (never a clear identifier) and writes links.csv.gz, review.csv.gz,
 * clusters.csv.gz, model.yaml, link-report.json and link.manifest.json. */
#ifndef DOLEN_LINK_H
#define DOLEN_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/progress.h"
#include "dolen/spec.h"

typedef struct dl_link_opts {
    const dl_spec *spec;            /* borrowed */
    size_t n_inputs;
    const char *const *inputs;      /* NAME.ids.csv.gz, each with its manifest beside it */
    const char *outdir;             /* created (one level) when missing */
    const char *model_path;         /* load this model.yaml instead of training; NULL: train */
    size_t threads;                 /* 0: all online CPUs; outputs do not depend on it */
    dl_progress *progress;          /* may be NULL */
} dl_link_opts;

#define DL_LINK_OPTS_INIT {NULL, 0, NULL, NULL, NULL, 0, NULL}

typedef struct dl_link_result {
    uint64_t records;
    uint64_t pairs_scored;
    uint64_t links;                 /* pairs at or above the match threshold */
    uint64_t review;                /* pairs in [review, match) */
    uint64_t clusters;
    uint64_t largest_cluster;
    double lambda;
    double seconds;
    size_t threads;
    size_t warnings;                /* lines in the report's warnings */
} dl_link_result;

/* Run the linkage. On DL_OK every output is in place and *res (may be NULL)
 * summarises it; on failure nothing with a final name is left behind and
 * *err says why (DL_EINPUT for inputs that disagree, are corrupt or lack a
 * feature the spec uses; DL_EIO; DL_ENOMEM). Warnings (EM not converging, a
 * level never observed, oversize blocks) do not fail the run: they are in
 * link-report.json. Runs its own worker threads. */
dl_status dl_link_run(const dl_link_opts *o, dl_link_result *res, dl_error *err) DL_MUST_CHECK;

#endif
