/* test_cli.c: the `dolen` command's dispatch, help, version and usage errors. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"

static const char *const commands[] = {"keygen", "check", "prepare", "link", "synth",
                                       "evaluate", "extract", "report"};

Test(cli, help_lists_every_command)
{
    char *out = NULL, *err = NULL;
    const char *av[] = {"--help", NULL};
    cr_assert_eq(tu_dolen(av, &out, &err), 0);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        cr_assert(strstr(out, commands[i]), "help does not list %s", commands[i]);
    cr_assert(strstr(out, "exit:"));
    cr_assert_str_eq(err, "");
    free(out);
    free(err);
}

Test(cli, no_arguments_is_a_usage_error)
{
    char *out = NULL, *err = NULL;
    const char *av[] = {NULL};
    cr_assert_eq(tu_dolen(av, &out, &err), 1);
    cr_assert(strstr(err, "usage: dolen"));
    free(out);
    free(err);
}

Test(cli, version)
{
    char *out = NULL;
    const char *av[] = {"--version", NULL};
    cr_assert_eq(tu_dolen(av, &out, NULL), 0);
    cr_assert(strncmp(out, "dolen ", 6) == 0, "got: %s", out);
    free(out);
}

Test(cli, every_command_has_help_with_examples_and_exit_codes)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
        char *out = NULL, *out2 = NULL;
        const char *av[] = {commands[i], "--help", NULL};
        cr_assert_eq(tu_dolen(av, &out, NULL), 0, "%s --help", commands[i]);
        cr_assert(strstr(out, "usage: dolen "), "%s help: %s", commands[i], out);
        cr_assert(strstr(out, "example"), "%s help has no examples", commands[i]);
        cr_assert(strstr(out, "exit:"), "%s help has no exit codes", commands[i]);
        const char *av2[] = {"help", commands[i], NULL};
        cr_assert_eq(tu_dolen(av2, &out2, NULL), 0);
        cr_assert_str_eq(out, out2, "'dolen help %s' differs from --help", commands[i]);
        free(out);
        free(out2);
    }
}

Test(cli, unknown_command_suggests_the_nearest)
{
    char *err = NULL;
    const char *av[] = {"chekc", "x.yaml", NULL};
    cr_assert_eq(tu_dolen(av, NULL, &err), 1);
    cr_assert(strstr(err, "unknown command 'chekc' (did you mean 'check'?)"), "got: %s", err);
    free(err);
}

Test(cli, unknown_option_suggests_the_nearest)
{
    char *err = NULL;
    const char *av[] = {"keygen", "--forse", "-o", "/nonexistent/k", NULL};
    cr_assert_eq(tu_dolen(av, NULL, &err), 1);
    cr_assert(strstr(err, "unknown option '--forse' (did you mean '--force'?)"), "got: %s", err);
    cr_assert(strstr(err, "see 'dolen keygen --help'"));
    free(err);
}

Test(cli, option_before_command_is_a_usage_error)
{
    char *err = NULL;
    const char *av[] = {"--frobnicate", NULL};
    cr_assert_eq(tu_dolen(av, NULL, &err), 1);
    cr_assert(strstr(err, "unknown option '--frobnicate'"));
    free(err);
}
