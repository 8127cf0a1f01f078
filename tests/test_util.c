/* test_util.c: helpers for the Criterion tests (see test_util.h). */
#define _XOPEN_SOURCE 700 /* nftw */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test_util.h"

char *tu_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    if (!base || !*base)
        base = "/tmp";
    char *p = tu_join(base, "dolen-test-XXXXXX");
    if (!mkdtemp(p))
        cr_assert_fail("mkdtemp in %s: %s", base, strerror(errno));
    return p;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

void tu_rmtree(const char *path)
{
    if (path)
        nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

char *tu_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + lb + 2);
    cr_assert_not_null(p);
    memcpy(p, a, la);
    p[la] = '/';
    memcpy(p + la + 1, b, lb + 1);
    return p;
}

void tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f, "cannot create %s: %s", path, strerror(errno));
    cr_assert_eq(fwrite(data, 1, len, f), len);
    cr_assert_eq(fclose(f), 0);
}

void tu_write_str(const char *path, const char *s)
{
    tu_write(path, s, strlen(s));
}

char *tu_read(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, got;
    char *buf = malloc(cap + 1);
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    if (!buf)
        return NULL;
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

static char *from_env(const char *var, const char *name)
{
    const char *base = getenv(var);
    cr_assert(base && *base, "%s is not set (run the tests through meson test)", var);
    return tu_join(base, name);
}

char *tu_data(const char *name)
{
    return from_env("DL_TEST_DATA", name);
}

char *tu_source(const char *name)
{
    return from_env("DL_SOURCE_ROOT", name);
}

static char *slurp_fd(int fd)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap + 1);
    ssize_t got;
    while (buf && (got = read(fd, buf + n, cap - n)) > 0) {
        n += (size_t)got;
        if (n == cap) {
            char *nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    if (buf)
        buf[n] = '\0';
    return buf;
}

int tu_dolen(const char *const *argv, char **out, char **err)
{
    const char *bin = getenv("DOLEN");
    cr_assert(bin && *bin, "DOLEN is not set (run the tests through meson test)");
    /* Capture through temporary files: no risk of a pipe deadlock on big output. */
    char *dir = tu_tmpdir();
    char *opath = tu_join(dir, "stdout"), *epath = tu_join(dir, "stderr");
    size_t argc = 0;
    while (argv[argc])
        argc++;
    const char **av = calloc(argc + 2, sizeof *av);
    cr_assert_not_null(av);
    av[0] = bin;
    for (size_t i = 0; i < argc; i++)
        av[i + 1] = argv[i];
    pid_t pid = fork();
    cr_assert(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY);
        int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in < 0 || o < 0 || e < 0)
            _exit(127);
        dup2(in, 0);
        dup2(o, 1);
        dup2(e, 2);
        execv(bin, (char *const *)av);
        _exit(127);
    }
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    int o_fd = open(opath, O_RDONLY), e_fd = open(epath, O_RDONLY);
    if (out)
        *out = slurp_fd(o_fd);
    if (err)
        *err = slurp_fd(e_fd);
    close(o_fd);
    close(e_fd);
    tu_rmtree(dir);
    free(opath);
    free(epath);
    free(dir);
    free(av);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return WEXITSTATUS(status);
}
