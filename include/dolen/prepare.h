/* dolen/prepare.h: a custodian's dataset to encoded identifiers and content.
 * Part of hashing/; what `dolen prepare` runs. Reads one CSV as a stream and
 * writes NAME.ids.csv.gz, NAME.content.csv.gz, NAME.slfmap.csv.gz,
 * NAME.rejects.csv and NAME.manifest.json into the output folder. */
#ifndef DOLEN_PREPARE_H
#define DOLEN_PREPARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dolen/error.h"
#include "dolen/key.h"
#include "dolen/progress.h"
#include "dolen/spec.h"

typedef struct dl_prepare_opts {
    const dl_spec *spec;    /* borrowed */
    const dl_key *key;      /* the linkage key; borrowed */
    const char *input;      /* CSV path, plain or gzip; "-" = standard input */
    const char *dataset;    /* NAME: [A-Za-z0-9_-]+, names every output */
    const char *outdir;     /* created (one level) when missing */
    size_t threads;         /* 0: all online CPUs */
    bool has_seed;          /* SLFs from SEED instead of the OS random generator */
    uint64_t seed;
    int32_t today;          /* YYYYMMDD for date ranges ending "today"; 0: now */
    dl_progress *progress;  /* may be NULL */
} dl_prepare_opts;

#define DL_PREPARE_OPTS_INIT {NULL, NULL, NULL, NULL, NULL, 0, false, 0, 0, NULL}

typedef struct dl_prepare_result {
    uint64_t rows_read;      /* data records in the input, bad ones included */
    uint64_t rows_written;   /* rows in the ids, content and slfmap files */
    uint64_t rows_rejected;  /* rows in the rejects file */
    uint64_t input_bytes;
    double seconds;
    size_t threads;
} dl_prepare_result;

/* Whether S is a valid dataset name: 1 to 64 ASCII letters, digits, '_', '-'. */
bool dl_dataset_name_valid(const char *s);

/* Run prepare. On DL_OK every output is in place and *res (if not NULL) says
 * how many rows went where. On failure no output with a final name is left
 * behind (files of an earlier run under the same names are untouched) and
 * *err says why, with file, line and column where there is one: the spec
 * names a column the header lacks (DL_EINPUT, spec position), the input is
 * unreadable or its gzip corrupt (DL_EINPUT), a disk error (DL_EIO). Bad rows
 * do not fail the run: they go to the rejects file. Not thread-safe itself;
 * it runs its own worker threads. */
dl_status dl_prepare_run(const dl_prepare_opts *o, dl_prepare_result *res,
                         dl_error *err) DL_MUST_CHECK;

#endif
