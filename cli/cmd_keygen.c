/* cmd_keygen.c: `dolen keygen`, making a new key file and printing its fingerprint.
 * Part of cli/; the first step of the pipeline: custodians share a linkage key,
 * the data bank makes one project key per research project. */
#include <stdio.h>

#include "cli/cli.h"
#include "dolen/key.h"
#include "dolen/outfile.h"

const char dl_help_keygen[] =
    "usage: dolen keygen -o FILE [--force] [-q]\n"
    "Make a new key: 32 bytes from the operating system's random generator, written\n"
    "to FILE as 64 hex digits in a file of mode 0600. Print its fingerprint, which\n"
    "names the key without revealing it (manifests record it; compare it to check\n"
    "two parties hold the same key). The key itself is never printed.\n"
    "  -o, --output FILE   the key file to create (required)\n"
    "      --force         replace FILE if it exists (default: refuse)\n"
    "  -q, --quiet         print nothing, answer with the exit code\n"
    "output: one line 'fingerprint: ' and 16 hex digits\n"
    "examples:\n"
    "  dolen keygen -o linkage.key\n"
    "  dolen keygen -o project-2024-017.key --force -q\n"
    "exit: 0 key written, 1 usage error or FILE exists (without --force),\n"
    "      2 bad input, 3 I/O or internal failure\n"
    "docs: docs/keys.md\n";

int dl_cmd_keygen(int argc, char **argv)
{
    static const dl_cli_opt opts[] = {
        {"output", 'o', true},
        {"force", 0, false},
        {"quiet", 'q', false},
        {NULL, 0, false},
    };
    dl_cli_state st = DL_CLI_STATE_INIT;
    const char *out = NULL, *arg;
    bool force = false;
    int o;
    while ((o = dl_cli_getopt("keygen", argc, argv, opts, &st, &arg)) >= 0) {
        switch (o) {
        case 0:
            out = arg;
            break;
        case 1:
            force = true;
            break;
        case 2:
            dl_cli_quiet = true;
            break;
        }
    }
    if (o == -2)
        return DL_EXIT_USAGE;
    if (st.n_operands > 0)
        return dl_cli_usage_error("keygen", "unexpected argument '%s' (the key file is given "
                                  "with -o FILE)", st.operands[0]);
    if (!out || !*out)
        return dl_cli_usage_error("keygen", "missing -o FILE (where to write the key)");

    dl_outfile_cleanup_on_signals();
    dl_error err = DL_ERROR_INIT;
    dl_key *key = NULL;
    dl_status s = dl_key_generate(&key, &err);
    if (s == DL_OK)
        s = dl_key_save(key, out, force, &err);
    if (s != DL_OK) {
        dl_key_free(key);
        return dl_cli_fail(&err);
    }
    char fp[17];
    dl_key_fingerprint(key, fp);
    dl_key_free(key);
    if (!dl_cli_quiet)
        printf("fingerprint: %s\n", fp);
    return DL_EXIT_OK;
}
