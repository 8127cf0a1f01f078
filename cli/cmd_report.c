/* cmd_report.c: `dolen report`, the linkage quality report of a link folder.
 * Part of cli/; parses options, runs dl_report_load() and dl_report_write(). */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "dolen/outfile.h"
#include "dolen/report.h"

const char dl_help_report[] =
    "usage: dolen report -o REPORT.html [options] LINKDIR\n"
    "Write a linkage quality report of the folder dolen link wrote: one self-contained\n"
    "HTML page (inline SVG charts and CSS; nothing is loaded from anywhere; prints as\n"
    "shown) and REPORT.json beside it, holding every number the page shows:\n"
    "  1 summary: datasets, blocking rules and pairs, links, review pairs, clusters,\n"
    "    time per stage, peak memory\n"
    "  2 model: lambda; m, u and match weight per comparison level (chart); EM trace;\n"
    "    warnings for levels never observed and EM that did not converge\n"
    "  3 scores: histogram of match weights with the thresholds; share linked per dataset\n"
    "  4 examples: weight waterfalls of pairs near each threshold (by SLF only)\n"
    "  5 clusters: size distribution; the largest clusters, flagged when suspect\n"
    "  6 quality against truth (with --truth or --febrl): precision, recall, F1 and a\n"
    "    precision-recall curve\n"
    "  7 data quality from the prepare manifests: completeness and invalid values\n"
    "Every file of LINKDIR is checked against link.manifest.json and against each other;\n"
    "a missing or inconsistent file is an error naming it, and no report is written.\n"
    "options:\n"
    "  -o, --out FILE       the page (required); the JSON twin is FILE with .html\n"
    "                       replaced by .json\n"
    "  --truth FILE         ground truth: dataset,record_id,person_id (dolen synth)\n"
    "  --febrl              ground truth from FEBRL record ids (rec-N-org, rec-N-dup-K)\n"
    "  --map FILE           NAME.slfmap.csv.gz of a dataset (repeat; needed with truth)\n"
    "  --examples N         pairs shown on each side of each threshold (default 2, max 50)\n"
    "  -q, --quiet          print nothing on success\n"
    "examples:\n"
    "  dolen report -o linked/report.html linked\n"
    "  dolen report -o report.html --truth raw/truth.csv --map prepared/gp.slfmap.csv.gz \\\n"
    "      --map prepared/spine.slfmap.csv.gz linked\n"
    "exit: 0 written (the page's path is printed), 1 usage error, 2 missing, malformed or\n"
    "      inconsistent files in LINKDIR, or truth that does not match, 3 internal or I/O\n"
    "      failure\n";

static const dl_cli_opt opts[] = {
    {"out", 'o', true},       {"truth", 0, true},  {"febrl", 0, false}, {"map", 0, true},
    {"examples", 0, true},    {"quiet", 'q', false}, {NULL, 0, false},
};

int dl_cmd_report(int argc, char **argv)
{
    static dl_cli_state st = DL_CLI_STATE_INIT;
    const char *out = NULL, *arg;
    dl_report_opts ro = DL_REPORT_OPTS_INIT;
    const char **maps = calloc((size_t)argc + 1, sizeof *maps);
    if (!maps) {
        fputs("dolen: out of memory\n", stderr);
        return DL_EXIT_INTERNAL;
    }
    size_t n_maps = 0;
    unsigned long long v;
    int i, code = DL_EXIT_OK;
    while ((i = dl_cli_getopt("report", argc, argv, opts, &st, &arg)) != -1) {
        switch (i) {
        case 0:
            out = arg;
            break;
        case 1:
            ro.truth = arg;
            break;
        case 2:
            ro.truth_febrl = true;
            break;
        case 3:
            maps[n_maps++] = arg;
            break;
        case 4:
            if (!dl_cli_parse_uint("report", "examples", arg, 1, 50, &v)) {
                free(maps);
                return DL_EXIT_USAGE;
            }
            ro.examples = (size_t)v;
            break;
        case 5:
            dl_cli_quiet = true;
            break;
        default:
            free(maps);
            return DL_EXIT_USAGE;
        }
    }
    if (!out)
        code = dl_cli_usage_error("report", "no output page (-o REPORT.html)");
    else if (st.n_operands != 1)
        code = dl_cli_usage_error("report", "expected one link folder, found %d",
                                  st.n_operands);
    else if (ro.truth && ro.truth_febrl)
        code = dl_cli_usage_error("report", "--truth and --febrl exclude each other");
    else if ((ro.truth || ro.truth_febrl) && n_maps == 0)
        code = dl_cli_usage_error("report", "truth needs the datasets' maps (--map FILE)");
    else if (n_maps && !ro.truth && !ro.truth_febrl)
        code = dl_cli_usage_error("report", "--map is used only with --truth or --febrl");
    if (code != DL_EXIT_OK) {
        free(maps);
        return code;
    }
    ro.linkdir = st.operands[0];
    ro.n_maps = n_maps;
    ro.maps = maps;

    dl_error err = DL_ERROR_INIT;
    dl_report *rep = NULL;
    dl_outfile_cleanup_on_signals();
    dl_status s = dl_report_load(&ro, &rep, &err);
    if (s == DL_OK)
        s = dl_report_write(rep, out, NULL, &err);
    dl_report_free(rep);
    free(maps);
    if (s != DL_OK)
        return dl_cli_fail(&err);
    if (!dl_cli_quiet) {
        char jp[4096];
        if (!dl_report_json_path(out, jp, sizeof jp))
            jp[0] = '\0';
        /* The path alone on stdout, so scripts can open it; the twin on stderr. */
        printf("%s\n", out);
        fprintf(stderr, "report: written with its numbers in %s\n", jp);
    }
    return DL_EXIT_OK;
}
