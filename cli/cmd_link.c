/* cmd_link.c: `dolen link`, the linkage unit's run over encoded datasets.
 * Part of cli/; parses options, loads the spec, runs dl_link_run(). */
#include <stdio.h>

#include "cli/cli.h"
#include "dolen/link.h"
#include "dolen/outfile.h"
#include "dolen/spec.h"

const char dl_help_link[] =
    "usage: dolen link -s SPEC.yaml -o OUTDIR [options] A.ids.csv.gz [B.ids.csv.gz ...]\n"
    "Link datasets from their encodings only: block, compare, estimate a Fellegi-Sunter\n"
    "model (u from random pairs, m by EM, the prior lambda), score every candidate pair,\n"
    "and cluster the links. Each ids file needs the manifest prepare wrote beside it;\n"
    "files prepared under another spec hash or key are refused.\n"
    "Writes into OUTDIR (each file under a temporary name until complete):\n"
    "  links.csv.gz       pairs at or above the match threshold: dataset and SLF of each\n"
    "                     side, match weight, probability, comparison pattern\n"
    "  review.csv.gz      pairs between the review and the match threshold\n"
    "  clusters.csv.gz    every record: dataset, SLF, ALF (anonymous linking field),\n"
    "                     the probability of its best link\n"
    "  model.yaml         lambda, m, u and match weight per comparison level, EM trace\n"
    "  link-report.json   pairs per blocking rule, EM convergence, thresholds, weight\n"
    "                     histogram, cluster sizes, time per stage, peak memory, warnings\n"
    "  link.manifest.json SHA-256 of every input and output\n"
    "options:\n"
    "  -s, --spec FILE      the linkage spec (the encoding part must match the files')\n"
    "  -o, --out DIR        output folder (created if missing)\n"
    "  -m, --model FILE     use this model.yaml instead of training one\n"
    "  -t, --threads N      worker threads (default: all cores); outputs are the same\n"
    "                       for any N (link-report.json's timings aside)\n"
    "  -q, --quiet          no progress or summary\n"
    "examples:\n"
    "  dolen link -s config/examples/demo.yaml -o linked prepared/*.ids.csv.gz\n"
    "  dolen link -s febrl.yaml -o out2 --model out1/model.yaml febrl3.ids.csv.gz\n"
    "exit: 0 done (warnings are in link-report.json), 1 usage error, 2 bad spec or\n"
    "      inputs (mismatched manifests, corrupt files), 3 internal or I/O failure\n";

static const dl_cli_opt opts[] = {
    {"spec", 's', true},    {"out", 'o', true},    {"model", 'm', true},
    {"threads", 't', true}, {"quiet", 'q', false}, {NULL, 0, false},
};

int dl_cmd_link(int argc, char **argv)
{
    static dl_cli_state st = DL_CLI_STATE_INIT;
    const char *spec_path = NULL, *arg;
    dl_link_opts lo = DL_LINK_OPTS_INIT;
    unsigned long long v;
    int i;
    while ((i = dl_cli_getopt("link", argc, argv, opts, &st, &arg)) != -1) {
        switch (i) {
        case 0:
            spec_path = arg;
            break;
        case 1:
            lo.outdir = arg;
            break;
        case 2:
            lo.model_path = arg;
            break;
        case 3:
            if (!dl_cli_parse_uint("link", "threads", arg, 1, 1024, &v))
                return DL_EXIT_USAGE;
            lo.threads = (size_t)v;
            break;
        case 4:
            dl_cli_quiet = true;
            break;
        default:
            return DL_EXIT_USAGE;
        }
    }
    if (!spec_path)
        return dl_cli_usage_error("link", "no spec (-s SPEC.yaml)");
    if (!lo.outdir)
        return dl_cli_usage_error("link", "no output folder (-o DIR)");
    if (st.n_operands == 0)
        return dl_cli_usage_error("link", "no ids files to link");
    lo.n_inputs = (size_t)st.n_operands;
    lo.inputs = (const char *const *)st.operands;

    dl_error err = DL_ERROR_INIT;
    dl_spec *spec = NULL;
    if (dl_spec_load(spec_path, &spec, &err) != DL_OK)
        return dl_cli_fail(&err);
    dl_outfile_cleanup_on_signals();
    dl_progress prog = dl_cli_progress();
    lo.spec = spec;
    lo.progress = &prog;
    dl_link_result res;
    dl_status s = dl_link_run(&lo, &res, &err);
    dl_spec_free(spec);
    if (s != DL_OK)
        return dl_cli_fail(&err);
    if (!dl_cli_quiet) {
        fprintf(stderr,
                "link: %llu records, %llu pairs scored, %llu links, %llu for review, %llu "
                "clusters (largest %llu); lambda %.3g; %.2f s on %zu threads\n",
                (unsigned long long)res.records, (unsigned long long)res.pairs_scored,
                (unsigned long long)res.links, (unsigned long long)res.review,
                (unsigned long long)res.clusters, (unsigned long long)res.largest_cluster,
                res.lambda, res.seconds, res.threads);
        if (res.warnings)
            dl_cli_warn("%zu warnings: see %s/link-report.json", res.warnings, lo.outdir);
    }
    return DL_EXIT_OK;
}
