/* cmd_check.c: `dolen check`: validate a linkage spec, print its summary and hash.
 * Part of cli/; custodians run it before prepare to confirm they share a spec. */
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "dolen/spec.h"

const char dl_help_check[] =
    "usage: dolen check [options] SPEC.yaml\n"
    "Validate a linkage spec. Print a normalised summary (every field with its column,\n"
    "type, features and Bloom settings; comparisons with their levels; blocking rules;\n"
    "training, thresholds and clustering, defaults filled in) and the spec hash: the\n"
    "SHA-256 of the encoding part, equal for custodians who encode alike.\n"
    "options:\n"
    "  -q, --quiet     print nothing; answer with the exit code only\n"
    "      --canonical print the canonical encoding text the spec hash is taken over,\n"
    "                  instead of the summary\n"
    "  -h, --help      show this help\n"
    "examples:\n"
    "  dolen check config/examples/febrl.yaml\n"
    "  dolen check --canonical a.yaml > a.txt; dolen check --canonical b.yaml | diff a.txt "
    "-\n"
    "  dolen check -q spec.yaml && dolen prepare ...\n"
    "exit: 0 valid, 1 usage, 2 invalid spec (message FILE:LINE:COL on stderr),\n"
    "      3 internal failure\n"
    "docs: docs/spec.md\n";

int dl_cmd_check(int argc, char **argv)
{
    static const dl_cli_opt opts[] = {
        {"quiet", 'q', false},
        {"canonical", 0, false},
        {NULL, 0, false},
    };
    dl_cli_state st = DL_CLI_STATE_INIT;
    bool canonical = false;
    const char *arg;
    int o;
    while ((o = dl_cli_getopt("check", argc, argv, opts, &st, &arg)) != -1) {
        if (o == -2)
            return DL_EXIT_USAGE;
        if (o == 0)
            dl_cli_quiet = true;
        else if (o == 1)
            canonical = true;
    }
    if (st.n_operands == 0)
        return dl_cli_usage_error("check", "missing the spec file");
    if (st.n_operands > 1)
        return dl_cli_usage_error("check", "give one spec file, not %d", st.n_operands);
    dl_error err = DL_ERROR_INIT;
    dl_spec *spec = NULL;
    if (dl_spec_load(st.operands[0], &spec, &err) != DL_OK)
        return dl_cli_fail(&err);
    int code = DL_EXIT_OK;
    if (!dl_cli_quiet) {
        if (canonical) {
            char *text = dl_spec_canonical(spec);
            if (!text) {
                fputs("dolen: out of memory\n", stderr);
                code = DL_EXIT_INTERNAL;
            } else {
                fputs(text, stdout);
                free(text);
            }
        } else {
            dl_spec_print(spec, stdout);
        }
    }
    dl_spec_free(spec);
    return code;
}
