/* cmd_prepare.c: `dolen prepare`, a custodian's dataset to encodings and content.
 * Part of cli/; parses options, loads spec and key, runs dl_prepare_run(). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dolen/key.h"
#include "dolen/outfile.h"
#include "dolen/prepare.h"
#include "dolen/spec.h"

const char dl_help_prepare[] =
    "usage: dolen prepare -s SPEC.yaml -k KEY -d NAME -o OUTDIR [options] INPUT.csv[.gz]\n"
    "Pseudonymise one dataset before it leaves the custodian: normalise every identifier\n"
    "the spec names, encode it with the linkage key (keyed 64-bit tokens, Bloom filters)\n"
    "and split the dataset into files joined only by a random System Linking Field (SLF).\n"
    "Writes into OUTDIR (each file under a temporary name until complete):\n"
    "  NAME.ids.csv.gz      SLF and encodings: what goes to the linkage unit\n"
    "  NAME.content.csv.gz  SLF and the non-identifying columns the spec keeps\n"
    "  NAME.slfmap.csv.gz   local record id -> SLF: stays with the custodian\n"
    "  NAME.rejects.csv     line, column, reason and message of every row not used\n"
    "  NAME.manifest.json   row counts, SHA-256 of every file, spec hash, key\n"
    "                       fingerprint and a data-quality profile\n"
    "options:\n"
    "  -s, --spec FILE      the linkage spec (YAML; see docs/spec.md)\n"
    "  -k, --key FILE       the linkage key (from dolen keygen; mode 0600)\n"
    "  -d, --dataset NAME   dataset name for the outputs: letters, digits, '_', '-'\n"
    "  -o, --out DIR        output folder (created if missing)\n"
    "  -t, --threads N      worker threads (default: all cores); outputs are the same\n"
    "                       for any N\n"
    "      --seed S         derive SLFs from S instead of the OS random generator, so\n"
    "                       outputs are byte-identical between runs (tests, benchmarks;\n"
    "                       never for real data: SLFs would then be predictable)\n"
    "      --today DATE     YYYY-MM-DD to use as today for date ranges (default: today)\n"
    "  -q, --quiet          no progress or summary\n"
    "examples:\n"
    "  dolen prepare -s config/examples/demo.yaml -k linkage.key -d carers -o out carers.csv\n"
    "  dolen prepare -s febrl.yaml -k linkage.key -d febrl3 -o out --threads 2 dataset3.csv\n"
    "exit: 0 done, 1 usage error, 2 bad spec, key or input (bad rows do not fail the run:\n"
    "      they are listed in NAME.rejects.csv), 3 internal or I/O failure\n";

static const dl_cli_opt opts[] = {
    {"spec", 's', true},     {"key", 'k', true},   {"dataset", 'd', true},
    {"out", 'o', true},      {"threads", 't', true}, {"seed", 0, true},
    {"today", 0, true},      {"quiet", 'q', false}, {NULL, 0, false},
};

static bool parse_date(const char *s, int32_t *out)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 ||
        d > 31)
        return false;
    *out = y * 10000 + m * 100 + d;
    return true;
}

int dl_cmd_prepare(int argc, char **argv)
{
    static dl_cli_state st = DL_CLI_STATE_INIT;
    const char *spec_path = NULL, *key_path = NULL, *arg;
    dl_prepare_opts po = DL_PREPARE_OPTS_INIT;
    unsigned long long v;
    int i;
    while ((i = dl_cli_getopt("prepare", argc, argv, opts, &st, &arg)) != -1) {
        switch (i) {
        case 0:
            spec_path = arg;
            break;
        case 1:
            key_path = arg;
            break;
        case 2:
            po.dataset = arg;
            break;
        case 3:
            po.outdir = arg;
            break;
        case 4:
            if (!dl_cli_parse_uint("prepare", "threads", arg, 1, 1024, &v))
                return DL_EXIT_USAGE;
            po.threads = (size_t)v;
            break;
        case 5:
            if (!dl_cli_parse_uint("prepare", "seed", arg, 0, UINT64_MAX, &v))
                return DL_EXIT_USAGE;
            po.has_seed = true;
            po.seed = v;
            break;
        case 6:
            if (!parse_date(arg, &po.today))
                return dl_cli_usage_error("prepare", "--today needs a date YYYY-MM-DD, not '%s'",
                                          arg);
            break;
        case 7:
            dl_cli_quiet = true;
            break;
        default:
            return DL_EXIT_USAGE;
        }
    }
    if (!spec_path)
        return dl_cli_usage_error("prepare", "no spec (-s SPEC.yaml)");
    if (!key_path)
        return dl_cli_usage_error("prepare", "no key file (-k KEY)");
    if (!po.dataset)
        return dl_cli_usage_error("prepare", "no dataset name (-d NAME)");
    if (!po.outdir)
        return dl_cli_usage_error("prepare", "no output folder (-o DIR)");
    if (st.n_operands != 1)
        return dl_cli_usage_error("prepare", st.n_operands ? "one input file at a time"
                                                           : "no input file");
    po.input = st.operands[0];
    if (!dl_dataset_name_valid(po.dataset))
        return dl_cli_usage_error("prepare",
                                  "dataset name '%s' must be 1 to 64 letters, digits, '_' or '-'",
                                  po.dataset);

    dl_error err = DL_ERROR_INIT;
    dl_spec *spec = NULL;
    dl_key *key = NULL;
    dl_status s = dl_spec_load(spec_path, &spec, &err);
    if (s == DL_OK)
        s = dl_key_load(key_path, &key, &err);
    if (s != DL_OK) {
        dl_spec_free(spec);
        return dl_cli_fail(&err);
    }
    dl_outfile_cleanup_on_signals();
    dl_progress prog = dl_cli_progress();
    po.spec = spec;
    po.key = key;
    po.progress = &prog;
    dl_prepare_result res;
    s = dl_prepare_run(&po, &res, &err);
    dl_key_free(key);
    dl_spec_free(spec);
    if (s != DL_OK)
        return dl_cli_fail(&err);
    if (!dl_cli_quiet)
        fprintf(stderr,
                "prepare: %s: %llu rows read, %llu written, %llu rejected; %.2f s, %.0f rows/s "
                "on %zu threads\n",
                po.dataset, (unsigned long long)res.rows_read,
                (unsigned long long)res.rows_written, (unsigned long long)res.rows_rejected,
                res.seconds, res.seconds > 0 ? (double)res.rows_read / res.seconds : 0.0,
                res.threads);
    if (res.rows_rejected && !dl_cli_quiet)
        dl_cli_warn("%llu rows rejected: see %s/%s.rejects.csv",
                    (unsigned long long)res.rows_rejected, po.outdir, po.dataset);
    return DL_EXIT_OK;
}
