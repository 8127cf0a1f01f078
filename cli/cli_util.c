/* cli_util.c: option parsing, messages and exit codes shared by the subcommands.
 * Part of cli/; the library never prints, so all printing starts here. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "dolen/suggest.h"

bool dl_cli_quiet = false;

int dl_cli_exit_code(dl_status s)
{
    switch (s) {
    case DL_OK:
    case DL_END:
        return DL_EXIT_OK;
    case DL_EUSAGE:
        return DL_EXIT_USAGE;
    case DL_EROW: /* a bad row nobody chose to skip */
    case DL_EINPUT:
        return DL_EXIT_INPUT;
    default:
        return DL_EXIT_INTERNAL;
    }
}

int dl_cli_fail(const dl_error *err)
{
    char buf[1024];
    fprintf(stderr, "dolen: %s\n", dl_error_format(err, buf, sizeof buf));
    return dl_cli_exit_code(err->code);
}

int dl_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dolen %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nsee 'dolen %s --help'\n", cmd);
    return DL_EXIT_USAGE;
}

void dl_cli_warn(const char *fmt, ...)
{
    if (dl_cli_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    fputs("dolen: warning: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static int unknown_option(const char *cmd, const char *given, const dl_cli_opt *opts)
{
    const char *names[64];
    size_t n = 0;
    for (size_t i = 0; opts[i].name && n < 64; i++)
        names[n++] = opts[i].name;
    const char *word = given;
    while (*word == '-')
        word++;
    char bare[128];
    snprintf(bare, sizeof bare, "%s", word);
    char *eq = strchr(bare, '=');
    if (eq)
        *eq = '\0';
    const char *near = dl_suggest(bare, names, n);
    if (near)
        dl_cli_usage_error(cmd, "unknown option '%s' (did you mean '--%s'?)", given, near);
    else
        dl_cli_usage_error(cmd, "unknown option '%s'", given);
    return -2;
}

static bool add_operand(const char *cmd, dl_cli_state *st, char *a)
{
    if (st->n_operands >= DL_CLI_MAX_OPERANDS) {
        dl_cli_usage_error(cmd, "too many operands (at most %d)", DL_CLI_MAX_OPERANDS);
        return false;
    }
    st->operands[st->n_operands++] = a;
    return true;
}

static int take_value(const char *cmd, int argc, char **argv, dl_cli_state *st,
                      const char *shown, const char **arg)
{
    if (st->idx >= argc) {
        dl_cli_usage_error(cmd, "option '%s' needs a value", shown);
        return -2;
    }
    *arg = argv[st->idx++];
    return 0;
}

int dl_cli_getopt(const char *cmd, int argc, char **argv, const dl_cli_opt *opts,
                  dl_cli_state *st, const char **arg)
{
    *arg = NULL;
    char *a;
    for (;;) {
        if (st->idx >= argc)
            return -1;
        a = argv[st->idx++];
        if (!st->dashdash && strcmp(a, "--") == 0) {
            st->dashdash = true;
            continue;
        }
        if (st->dashdash || a[0] != '-' || a[1] == '\0') {
            if (!add_operand(cmd, st, a))
                return -2;
            continue;
        }
        break;
    }
    char shown[80];
    if (a[1] == '-') {
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        for (int i = 0; opts[i].name; i++) {
            if (strlen(opts[i].name) != len || strncmp(opts[i].name, name, len) != 0)
                continue;
            if (!opts[i].has_arg) {
                if (eq) {
                    dl_cli_usage_error(cmd, "option '--%s' takes no value", opts[i].name);
                    return -2;
                }
                return i;
            }
            if (eq) {
                *arg = eq + 1;
                return i;
            }
            snprintf(shown, sizeof shown, "--%s", opts[i].name);
            return take_value(cmd, argc, argv, st, shown, arg) ? -2 : i;
        }
        return unknown_option(cmd, a, opts);
    }
    for (int i = 0; opts[i].name; i++) {
        if (!opts[i].short_name || opts[i].short_name != a[1])
            continue;
        if (!opts[i].has_arg) {
            if (a[2]) {
                dl_cli_usage_error(cmd, "option '-%c' takes no value (write options apart)",
                                   a[1]);
                return -2;
            }
            return i;
        }
        if (a[2]) {
            *arg = a + 2;
            return i;
        }
        snprintf(shown, sizeof shown, "-%c", a[1]);
        return take_value(cmd, argc, argv, st, shown, arg) ? -2 : i;
    }
    return unknown_option(cmd, a, opts);
}

bool dl_cli_parse_uint(const char *cmd, const char *name, const char *s, unsigned long long min,
                       unsigned long long max, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-' || *s == '+') {
        dl_cli_usage_error(cmd, "--%s needs a whole number from %llu to %llu", name, min, max);
        return false;
    }
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max) {
        dl_cli_usage_error(cmd, "--%s needs a whole number from %llu to %llu, not '%s'", name,
                           min, max, s);
        return false;
    }
    *out = v;
    return true;
}

int dl_cli_close_stdout(int code)
{
    if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0) {
        fprintf(stderr, "dolen: cannot write to standard output: %s\n", strerror(errno));
        return code ? code : DL_EXIT_INTERNAL;
    }
    return code;
}
