/* main.c: the `dolen` command: dispatch to subcommands, global help and version.
 * Part of cli/; one table drives both dispatch and `dolen --help`. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "dl_commit.h"
#include "dl_config.h"
#include "dolen/suggest.h"

static const dl_cmd cmds[] = {
    {"keygen", dl_cmd_keygen, "make a 32-byte key file (mode 0600), print its fingerprint",
     dl_help_keygen},
    {"check", dl_cmd_check, "validate a linkage spec, print its summary and spec hash",
     dl_help_check},
    {"prepare", dl_cmd_prepare,
     "pseudonymise a dataset: encoded identifiers, content, SLF map, manifest",
     dl_help_prepare},
    {"link", dl_cmd_link, "link encoded datasets: block, score (Fellegi-Sunter, EM), cluster",
     dl_help_link},
    {"synth", dl_cmd_synth, "make a synthetic Welsh population: datasets with errors, truth",
     dl_help_synth},
    {"evaluate", dl_cmd_evaluate,
     "score links and clusters against truth: precision, recall, F1, B-cubed",
     dl_help_evaluate},
    {"extract", dl_cmd_extract,
     "anonymised linked extracts: ALF_E per project, disclosure control, leak check",
     dl_help_extract},
    {"report", dl_cmd_report,
     "a linkage quality report: one HTML page with charts, and its numbers as JSON",
     dl_help_report},
};
static const size_t n_cmds = sizeof cmds / sizeof cmds[0];

static void print_help(FILE *f)
{
    fputs("usage: dolen COMMAND [options] [arguments]\n"
          "       dolen COMMAND --help | dolen help COMMAND\n"
          "       dolen --version\n"
          "Privacy-preserving record linkage: pseudonymise identifiers with keyed hashes,\n"
          "link the encodings with blocking and Fellegi-Sunter scoring, and write\n"
          "anonymised linked extracts.\n"
          "commands:\n",
          f);
    for (size_t i = 0; i < n_cmds; i++)
        fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
    fputs("exit: 0 success, 1 usage error, 2 bad input, spec or key, 3 internal or I/O "
          "failure\n"
          "docs: docs/commands.md, docs/formats.md, docs/spec.md\n",
          f);
}

static void print_version(void)
{
    printf("dolen %s (commit %s; gzip: %s; OpenSSL libcrypto)\n", DL_VERSION, DL_COMMIT,
           DL_HAVE_ISAL ? "ISA-L igzip with zlib" : "zlib");
}

static const dl_cmd *find_cmd(const char *name)
{
    for (size_t i = 0; i < n_cmds; i++)
        if (strcmp(cmds[i].name, name) == 0)
            return &cmds[i];
    return NULL;
}

static int unknown_cmd(const char *name)
{
    const char *names[32];
    for (size_t i = 0; i < n_cmds && i < 32; i++)
        names[i] = cmds[i].name;
    const char *near = dl_suggest(name, names, n_cmds);
    if (near)
        fprintf(stderr, "dolen: unknown command '%s' (did you mean '%s'?)\n", name, near);
    else
        fprintf(stderr, "dolen: unknown command '%s'\n", name);
    fputs("see 'dolen --help'\n", stderr);
    return DL_EXIT_USAGE;
}

static bool wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--") == 0)
            return false;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
            return true;
    }
    return false;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return DL_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        print_help(stdout);
        return dl_cli_close_stdout(DL_EXIT_OK);
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0) {
        print_version();
        return dl_cli_close_stdout(DL_EXIT_OK);
    }
    if (strcmp(name, "help") == 0) {
        if (argc < 3) {
            print_help(stdout);
            return dl_cli_close_stdout(DL_EXIT_OK);
        }
        const dl_cmd *c = find_cmd(argv[2]);
        if (!c)
            return unknown_cmd(argv[2]);
        fputs(c->help, stdout);
        return dl_cli_close_stdout(DL_EXIT_OK);
    }
    if (name[0] == '-') {
        fprintf(stderr, "dolen: unknown option '%s' before the command\nsee 'dolen --help'\n",
                name);
        return DL_EXIT_USAGE;
    }
    const dl_cmd *c = find_cmd(name);
    if (!c)
        return unknown_cmd(name);
    if (wants_help(argc - 1, argv + 1)) {
        fputs(c->help, stdout);
        return dl_cli_close_stdout(DL_EXIT_OK);
    }
    return dl_cli_close_stdout(c->run(argc - 1, argv + 1));
}
