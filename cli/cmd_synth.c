/* cmd_synth.c: `dolen synth`: write a synthetic Welsh population's datasets and truth.
 * Part of cli/; benchmarks, tests and the README demo start from its output. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "dolen/synth.h"

const char dl_help_synth[] =
    "usage: dolen synth [options] -o OUTDIR\n"
    "Generate a synthetic population living in Wales and datasets sampled from it,\n"
    "each with its own columns, codings and realistic errors, plus the truth file\n"
    "that says which person every record belongs to. Without -s the built-in\n"
    "scenario is used: a population spine, GP registrations, local-authority\n"
    "carers' assessments and Carer's Allowance claims (docs/synth.md).\n"
    "options:\n"
    "  -s, --spec SYNTH.yaml  scenario (default: built-in, the same as\n"
    "                         config/examples/synth-carers.yaml)\n"
    "  -o, --out OUTDIR       output folder (created if missing; required)\n"
    "      --seed S           random seed (default 1); same seed, same bytes\n"
    "  -n, --people N         population size (default: the scenario's `people`)\n"
    "      --threads N        worker threads (default: all cores); outputs do not\n"
    "                         depend on it\n"
    "      --gzip             gzip every output (\".gz\" added to names); else a file\n"
    "                         is gzip when its name in the scenario ends in .gz\n"
    "      --truth PATH       truth file (default OUTDIR/truth.csv)\n"
    "  -q, --quiet            print nothing but errors\n"
    "  -h, --help             show this help\n"
    "outputs: one CSV per dataset, truth.csv (dataset,record_id,person_id) and\n"
    "synth-manifest.json (records and injected errors per dataset, checksums).\n"
    "examples:\n"
    "  dolen synth -o demo --seed 1 -n 2000\n"
    "  dolen synth -s config/examples/synth-small.yaml -o small --seed 7 --gzip\n"
    "  dolen synth -o big -n 10000000 --threads 2 --truth big-truth.csv.gz\n"
    "exit: 0 written, 1 usage error, 2 bad scenario, 3 I/O or internal failure\n";

enum { O_SPEC, O_OUT, O_SEED, O_PEOPLE, O_THREADS, O_GZIP, O_TRUTH, O_QUIET, O_HELP };

static const dl_cli_opt opts[] = {
    [O_SPEC] = {"spec", 's', true},       [O_OUT] = {"out", 'o', true},
    [O_SEED] = {"seed", 0, true},         [O_PEOPLE] = {"people", 'n', true},
    [O_THREADS] = {"threads", 0, true},   [O_GZIP] = {"gzip", 0, false},
    [O_TRUTH] = {"truth", 0, true},       [O_QUIET] = {"quiet", 'q', false},
    [O_HELP] = {"help", 'h', false},      {NULL, 0, false},
};

static bool ends_gz(const char *s)
{
    size_t n = strlen(s);
    return n >= 3 && strcmp(s + n - 3, ".gz") == 0;
}

int dl_cmd_synth(int argc, char **argv)
{
    dl_cli_state st = DL_CLI_STATE_INIT;
    const char *arg, *spec_path = NULL, *outdir = NULL;
    dl_synth_opts o = DL_SYNTH_OPTS_INIT;
    unsigned long long v;
    int i;
    while ((i = dl_cli_getopt("synth", argc, argv, opts, &st, &arg)) != -1) {
        switch (i) {
        case -2:
            return DL_EXIT_USAGE;
        case O_SPEC:
            spec_path = arg;
            break;
        case O_OUT:
            outdir = arg;
            break;
        case O_SEED:
            if (!dl_cli_parse_uint("synth", "seed", arg, 0, UINT64_MAX, &v))
                return DL_EXIT_USAGE;
            o.seed = v;
            break;
        case O_PEOPLE:
            if (!dl_cli_parse_uint("synth", "people", arg, 1, 1000000000, &v))
                return DL_EXIT_USAGE;
            o.people = v;
            break;
        case O_THREADS:
            if (!dl_cli_parse_uint("synth", "threads", arg, 1, 1024, &v))
                return DL_EXIT_USAGE;
            o.threads = (size_t)v;
            break;
        case O_GZIP:
            o.gzip = true;
            break;
        case O_TRUTH:
            o.truth_path = arg;
            break;
        case O_QUIET:
            dl_cli_quiet = true;
            break;
        case O_HELP:
            fputs(dl_help_synth, stdout);
            return DL_EXIT_OK;
        default:
            return DL_EXIT_USAGE;
        }
    }
    if (st.n_operands > 0)
        return dl_cli_usage_error("synth", "unexpected argument '%s' (the scenario is given "
                                           "with -s)",
                                  st.operands[0]);
    if (!outdir)
        return dl_cli_usage_error("synth", "an output folder is required (-o OUTDIR)");
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        dl_error e = DL_ERROR_INIT;
        dl_error_os(&e, DL_EIO, errno, outdir, "cannot create output folder");
        return dl_cli_fail(&e);
    }

    dl_error err = DL_ERROR_INIT;
    dl_synth_spec *spec = NULL;
    dl_status s = spec_path ? dl_synth_spec_load(spec_path, &spec, &err)
                            : dl_synth_spec_default(&spec, &err);
    if (s)
        return dl_cli_fail(&err);
    dl_progress prog = dl_cli_progress();
    o.progress = &prog;
    dl_synth_stats stats;
    uint64_t t0 = dl_now_ns();
    s = dl_synth_run(spec, outdir, &o, &stats, &err);
    double secs = (double)(dl_now_ns() - t0) / 1e9;
    if (s) {
        dl_synth_spec_free(spec);
        return dl_cli_fail(&err);
    }
    if (stats.nhs_repeats)
        dl_cli_warn("%llu people share NHS numbers: the never-issued 999 range holds only "
                    "909,091 valid numbers",
                    (unsigned long long)stats.nhs_repeats);
    if (!dl_cli_quiet) {
        uint64_t total = 0;
        printf("people: %llu (seed %llu, %.1f s)\n", (unsigned long long)stats.people,
               (unsigned long long)o.seed, secs);
        for (size_t d = 0; d < stats.n_datasets; d++) {
            printf("  %-20s %10llu records  %s/%s%s\n", dl_synth_spec_dataset_name(spec, d),
                   (unsigned long long)stats.records[d], outdir,
                   dl_synth_spec_dataset_file(spec, d),
                   o.gzip && !ends_gz(dl_synth_spec_dataset_file(spec, d)) ? ".gz" : "");
            total += stats.records[d];
        }
        printf("truth: %llu rows; manifest: %s/synth-manifest.json\n",
               (unsigned long long)total, outdir);
    }
    dl_synth_spec_free(spec);
    return DL_EXIT_OK;
}
