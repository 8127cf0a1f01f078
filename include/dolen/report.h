/* dolen/report.h: the linkage quality report: one self-contained HTML page
 * (inline SVG and CSS, nothing loaded from anywhere) and its JSON twin.
 * Part of linkage/; what `dolen report` runs over the folder `dolen link`
 * wrote. docs/report.md describes every section and number. */
#ifndef DOLEN_REPORT_H
#define DOLEN_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "dolen/buf.h"
#include "dolen/error.h"

typedef struct dl_report_opts {
    const char *linkdir;          /* the folder dolen link wrote (borrowed) */
    /* Ground truth, optional: TRUTH (dataset,record_id,person_id) or, with
     * TRUTH_FEBRL, person ids from FEBRL record ids; either needs the MAPS
     * (NAME.slfmap.csv.gz) of the datasets to judge. */
    const char *truth;
    bool truth_febrl;
    size_t n_maps;
    const char *const *maps;
    size_t examples;              /* pairs shown near each side of each threshold;
                                     0: the default, 2 */
} dl_report_opts;

#define DL_REPORT_OPTS_INIT {NULL, NULL, false, 0, NULL, 0}

typedef struct dl_report dl_report;

/* Read the link folder: link.manifest.json (every output it lists must have
 * the size and SHA-256 it gives), link-report.json, model.yaml, links.csv.gz,
 * review.csv.gz and clusters.csv.gz (streamed once each; memory grows with
 * records, ~40 bytes a record, never with pairs), the prepare manifests
 * beside the ids files that link.manifest.json names, and, when asked, the
 * truth through dl_eval_run(). Files are checked against each other (row
 * counts, datasets, comparisons and levels, cluster counts).
 * DL_OK with *out to free with dl_report_free(). Else *out is NULL and *err
 * names the file at fault: DL_EUSAGE (maps without truth, truth without
 * maps); DL_EINPUT (a file missing, malformed or inconsistent with the
 * others, with line and column where there is one; maps or truth that match
 * none of the link folder's records); DL_EIO; DL_ENOMEM. Messages never
 * hold an SLF or an identifier. Single-threaded; reports may be built in
 * different threads at once. */
dl_status dl_report_load(const dl_report_opts *o, dl_report **out, dl_error *err) DL_MUST_CHECK;

/* Free R. NULL is a no-op. */
void dl_report_free(dl_report *r);

/* Append the page (XHTML5: well-formed XML, served as HTML) to OUT. The
 * same report always gives the same bytes. DL_OK or DL_ENOMEM. */
dl_status dl_report_html(const dl_report *r, dl_buf *out, dl_error *err) DL_MUST_CHECK;

/* Append the JSON twin, holding every number the page shows, to OUT.
 * DL_OK or DL_ENOMEM. */
dl_status dl_report_json(const dl_report *r, dl_buf *out, dl_error *err) DL_MUST_CHECK;

/* Write the page to HTML_PATH and its twin to JSON_PATH (NULL: HTML_PATH
 * with ".html" replaced by, or else followed by, ".json"), each under a
 * temporary name renamed when complete. On failure neither file is left
 * under its final name (a twin already renamed is removed again). */
dl_status dl_report_write(const dl_report *r, const char *html_path, const char *json_path,
                          dl_error *err) DL_MUST_CHECK;

/* The JSON path dl_report_write uses for HTML_PATH, into OUT (SIZE bytes).
 * False when it does not fit. */
bool dl_report_json_path(const char *html_path, char *out, size_t size);

#endif
