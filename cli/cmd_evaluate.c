/* cmd_evaluate.c: `dolen evaluate`, links and clusters scored against ground truth.
 * Part of cli/; parses options, runs dl_eval_run(), prints the summary, writes JSON. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "dolen/evaluate.h"
#include "dolen/outfile.h"

const char dl_help_evaluate[] =
    "usage: dolen evaluate (--truth TRUTH.csv | --truth-from-ids febrl)\n"
    "                      --map A.slfmap.csv.gz [--map B.slfmap.csv.gz ...]\n"
    "                      (--links LINKS.csv.gz | --clusters CLUSTERS.csv.gz | both)\n"
    "                      [--review REVIEW.csv.gz] [--cross-only] [-o REPORT.json]\n"
    "Score a linkage against ground truth. The custodians' SLF maps join each SLF back\n"
    "to its local record id, the truth file (dolen synth's truth.csv:\n"
    "dataset,record_id,person_id) to a person; the dataset of a map is its file name\n"
    "before .slfmap.csv.gz. Reports pairwise precision, recall and F1 of the links and\n"
    "of the clusters (pairs within a cluster; without --clusters, the connected\n"
    "components of the links), B-cubed precision, recall and F1, true and false\n"
    "positives by comparison pattern, false negatives found in the review file by\n"
    "pattern (the rest were missed by blocking or scored below review), and a\n"
    "precision-recall table at probability thresholds 0.5 to 0.999 (0.1 to 0.999\n"
    "with --review). Unknown SLFs, truth rows without a record, records without\n"
    "truth and repeated ids or pairs are counted and shown, never silently dropped.\n"
    "docs/evaluate.md defines every number.\n"
    "options:\n"
    "      --truth FILE          truth CSV (dataset,record_id,person_id)\n"
    "      --truth-from-ids KIND person ids from the record ids instead: febrl\n"
    "                            (rec-N-org, rec-N-dup-K: person N; integer ids of\n"
    "                            the dsgen files: id div 10)\n"
    "  -m, --map FILE            NAME.slfmap.csv.gz of a dataset (repeat per dataset)\n"
    "  -l, --links FILE          links.csv.gz from dolen link\n"
    "  -r, --review FILE         review.csv.gz from dolen link (FN by pattern; lower\n"
    "                            thresholds in the table)\n"
    "  -c, --clusters FILE       clusters.csv.gz from dolen link\n"
    "  -x, --cross-only          count pairs across datasets only (link type link)\n"
    "      --link-report FILE    link-report.json: its thresholds mark the rows of the\n"
    "                            table the files cover in full (default: the one\n"
    "                            beside the links file, if there)\n"
    "  -o, --out FILE            write the full report as JSON (every number)\n"
    "  -q, --quiet               print no summary\n"
    "examples:\n"
    "  dolen evaluate --truth raw/truth.csv --map prep/gp.slfmap.csv.gz \\\n"
    "      --map prep/spine.slfmap.csv.gz --links linked/links.csv.gz \\\n"
    "      --review linked/review.csv.gz --clusters linked/clusters.csv.gz -o eval.json\n"
    "  dolen evaluate --truth-from-ids febrl --map prep/febrl3.slfmap.csv.gz \\\n"
    "      --links out/links.csv.gz\n"
    "exit: 0 evaluated (issues are shown, not failures), 1 usage error, 2 bad or\n"
    "      missing input file, 3 internal or I/O failure\n";

static const dl_cli_opt opts[] = {
    {"truth", 0, true},   {"truth-from-ids", 0, true}, {"map", 'm', true},
    {"links", 'l', true},   {"review", 'r', true},       {"clusters", 'c', true},
    {"cross-only", 'x', false}, {"out", 'o', true},      {"quiet", 'q', false},
    {"link-report", 0, true},   {NULL, 0, false},
};

#define MAX_MAPS 4096

static dl_status write_report(const char *path, const dl_eval *e, dl_error *err)
{
    dl_buf b = DL_BUF_INIT;
    dl_status st = dl_eval_write_json(e, &b, err);
    if (st == DL_OK)
        st = dl_outfile_write_file(path, 0644, b.data, b.len, NULL, err);
    dl_buf_free(&b);
    return st;
}

/* link-report.json in the links file's folder, when it is there. */
static bool beside_links(const char *links, char *out, size_t size)
{
    const char *slash = strrchr(links, '/');
    int n = slash ? snprintf(out, size, "%.*s/link-report.json", (int)(slash - links), links)
                  : snprintf(out, size, "link-report.json");
    return n > 0 && (size_t)n < size && access(out, R_OK) == 0;
}

int dl_cmd_evaluate(int argc, char **argv)
{
    static dl_cli_state st = DL_CLI_STATE_INIT;
    static const char *maps[MAX_MAPS];
    dl_eval_opts o = DL_EVAL_OPTS_INIT;
    const char *arg, *out_path = NULL, *from_ids = NULL;
    size_t n_maps = 0;
    int i;
    while ((i = dl_cli_getopt("evaluate", argc, argv, opts, &st, &arg)) != -1) {
        switch (i) {
        case 0:
            o.truth = arg;
            break;
        case 1:
            from_ids = arg;
            break;
        case 2:
            if (n_maps == MAX_MAPS)
                return dl_cli_usage_error("evaluate", "more than %d maps", MAX_MAPS);
            maps[n_maps++] = arg;
            break;
        case 3:
            o.links = arg;
            break;
        case 4:
            o.review = arg;
            break;
        case 5:
            o.clusters = arg;
            break;
        case 6:
            o.cross_only = true;
            break;
        case 7:
            out_path = arg;
            break;
        case 8:
            dl_cli_quiet = true;
            break;
        case 9:
            o.link_report = arg;
            break;
        default:
            return DL_EXIT_USAGE;
        }
    }
    if (st.n_operands > 0)
        return dl_cli_usage_error("evaluate", "unexpected argument '%s' (files are given "
                                              "with --map, --links, --clusters, --truth)",
                                  st.operands[0]);
    if (from_ids) {
        if (strcmp(from_ids, "febrl") != 0)
            return dl_cli_usage_error("evaluate",
                                      "unknown --truth-from-ids '%s' (expected febrl)",
                                      from_ids);
        if (o.truth)
            return dl_cli_usage_error("evaluate",
                                      "--truth and --truth-from-ids given (expected one)");
        o.truth_from = DL_EVAL_TRUTH_FEBRL;
    } else if (!o.truth) {
        return dl_cli_usage_error("evaluate", "no truth (--truth FILE or --truth-from-ids "
                                              "febrl)");
    }
    if (n_maps == 0)
        return dl_cli_usage_error("evaluate", "no SLF map (--map NAME.slfmap.csv.gz)");
    if (!o.links && !o.clusters)
        return dl_cli_usage_error("evaluate", "nothing to evaluate (--links or --clusters)");
    o.n_maps = n_maps;
    o.maps = maps;
    char beside[4096];
    if (!o.link_report && o.links && beside_links(o.links, beside, sizeof beside))
        o.link_report = beside;

    dl_error err = DL_ERROR_INIT;
    dl_outfile_cleanup_on_signals();
    dl_progress prog = dl_cli_progress();
    o.progress = &prog;
    dl_eval *e = NULL;
    if (dl_eval_run(&o, &e, &err) != DL_OK) {
        if (err.code == DL_EUSAGE)
            return dl_cli_usage_error("evaluate", "%s%s%s", err.file, err.file[0] ? ": " : "",
                                      err.msg);
        return dl_cli_fail(&err);
    }
    dl_status s = DL_OK;
    if (out_path)
        s = write_report(out_path, e, &err);
    if (s == DL_OK && !dl_cli_quiet) {
        dl_buf text = DL_BUF_INIT;
        s = dl_eval_write_text(e, &text, &err);
        if (s == DL_OK)
            fputs(text.data, stdout);
        dl_buf_free(&text);
    }
    dl_eval_free(e);
    return s == DL_OK ? DL_EXIT_OK : dl_cli_fail(&err);
}
