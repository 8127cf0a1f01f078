/* cli.h: what the subcommands of the `dolen` command share.
 * Part of cli/ (not the library): option parsing, messages, exit codes. */
#ifndef DOLEN_CLI_H
#define DOLEN_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "dolen/error.h"

/* Exit codes, the same for every command (docs/commands.md). */
enum { DL_EXIT_OK = 0, DL_EXIT_USAGE = 1, DL_EXIT_INPUT = 2, DL_EXIT_INTERNAL = 3 };

/* The exit code for a status. */
int dl_cli_exit_code(dl_status s);

/* Print "dolen: FILE:LINE:COL: msg" to stderr and return the exit code. */
int dl_cli_fail(const dl_error *err);

/* Print "dolen CMD: msg" and "see 'dolen CMD --help'" to stderr; return 1. */
int dl_cli_usage_error(const char *cmd, const char *fmt, ...) DL_PRINTF(2, 3);

/* Print "dolen: warning: msg" to stderr unless quiet. */
void dl_cli_warn(const char *fmt, ...) DL_PRINTF(1, 2);

/* A long option: NAME without dashes, SHORT letter or 0, whether it takes a value. */
typedef struct dl_cli_opt {
    const char *name;
    char short_name;
    bool has_arg;
} dl_cli_opt;

/* Parser state: start with DL_CLI_STATE_INIT. Operands (arguments that are
 * not options, and everything after "--") are collected in order. */
#define DL_CLI_MAX_OPERANDS 4096
typedef struct dl_cli_state {
    int idx;
    bool dashdash;
    int n_operands;
    char *operands[DL_CLI_MAX_OPERANDS];
} dl_cli_state;
#define DL_CLI_STATE_INIT {1, false, 0, {0}}

/* A small getopt_long over OPTS (terminated by a zeroed entry): --name VALUE,
 * --name=VALUE, -n VALUE, -nVALUE; options and operands may be mixed.
 * Returns the index into OPTS of the next option, with *arg set to its value
 * (or NULL); -1 when the arguments are used up; -2 after printing a usage
 * error (an unknown option, with the nearest known one suggested; a missing
 * value; too many operands). */
int dl_cli_getopt(const char *cmd, int argc, char **argv, const dl_cli_opt *opts,
                  dl_cli_state *st, const char **arg);

/* Parse a whole number in [MIN, MAX] for option NAME; on error prints a usage
 * error and returns false. */
bool dl_cli_parse_uint(const char *cmd, const char *name, const char *s, unsigned long long min,
                       unsigned long long max, unsigned long long *out);

/* The global --quiet state, set by commands that accept it. */
extern bool dl_cli_quiet;

/* Close stdout, reporting a write error (full disk, closed pipe) as exit 3. */
int dl_cli_close_stdout(int code);

/* A progress sink that draws one self-overwriting line on stderr when stderr
 * is a terminal and --quiet was not given; otherwise it stays silent. */
#include "dolen/progress.h"
dl_progress dl_cli_progress(void);

/* One subcommand: cli/cmd_NAME.c defines dl_cmd_NAME and dl_help_NAME. The
 * help text is printed for `dolen NAME --help` and `dolen help NAME`. */
typedef struct dl_cmd {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
    const char *help;
} dl_cmd;

#define DL_CMD_DECLARE(n)                                                                \
    int dl_cmd_##n(int argc, char **argv);                                               \
    extern const char dl_help_##n[]

DL_CMD_DECLARE(keygen);
DL_CMD_DECLARE(check);
DL_CMD_DECLARE(synth);
DL_CMD_DECLARE(prepare);
DL_CMD_DECLARE(link);
DL_CMD_DECLARE(evaluate);
DL_CMD_DECLARE(extract);
DL_CMD_DECLARE(report);

#endif
