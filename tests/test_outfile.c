/* test_outfile.c: atomic outputs (common/outfile.c): commit, abort, errors,
 * modes, checksums, no-replace and removal of temporaries on signals. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dolen/outfile.h"
#include "dolen/sha256.h"
#include "test_util.h"

static char *dir;

static void setup(void)
{
    dir = tu_tmpdir();
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

TestSuite(outfile, .init = setup, .fini = teardown);

/* Names in DIR, sorted, joined by spaces. */
static char *listing(void)
{
    static char buf[4096];
    buf[0] = '\0';
    struct dirent **names;
    int n = scandir(dir, &names, NULL, alphasort);
    cr_assert(n >= 0);
    for (int i = 0; i < n; i++) {
        if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, "..")) {
            if (buf[0])
                strcat(buf, " ");
            strcat(buf, names[i]->d_name);
        }
        free(names[i]);
    }
    free(names);
    return buf;
}

Test(outfile, commit_leaves_only_final_file_with_bytes_and_sha256)
{
    char *p = tu_join(dir, "out.csv");
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_OK, "%s", e.msg);
    cr_assert_str_eq(dl_outfile_path(f), p);
    cr_assert(strstr(listing(), ".out.csv.tmp."), "temporary in the same folder: %s", listing());
    cr_assert_eq(dl_outfile_write(f, "a,b\n", 4, &e), DL_OK);
    cr_assert_eq(dl_outfile_write(f, "1,2\n", 4, &e), DL_OK);
    cr_assert_eq(dl_outfile_bytes(f), 8);
    cr_assert_null(tu_read(p, NULL), "nothing under the final name before commit");
    dl_outfile_info info;
    cr_assert_eq(dl_outfile_commit(f, &info, &e), DL_OK, "%s", e.msg);
    cr_assert_str_eq(listing(), "out.csv");
    size_t n;
    char *text = tu_read(p, &n);
    cr_assert_str_eq(text, "a,b\n1,2\n");
    cr_assert_eq(info.bytes, 8);
    uint8_t want[32];
    dl_sha256("a,b\n1,2\n", 8, want);
    cr_assert(memcmp(info.sha256, want, 32) == 0);
    free(text);
    free(p);
}

Test(outfile, sha256_of_known_text)
{
    /* FIPS 180-2 example: SHA-256("abc"). */
    char *p = tu_join(dir, "abc");
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_OK);
    cr_assert_eq(dl_outfile_write(f, "abc", 3, &e), DL_OK);
    dl_outfile_info info;
    cr_assert_eq(dl_outfile_commit(f, &info, &e), DL_OK);
    char hex[65];
    dl_sha256_hex(info.sha256, hex);
    cr_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    uint8_t again[32];
    uint64_t bytes;
    cr_assert_eq(dl_sha256_file_size(p, again, &bytes, &e), DL_OK);
    cr_assert(memcmp(again, info.sha256, 32) == 0);
    cr_assert_eq(bytes, 3);
    free(p);
}

Test(outfile, big_and_small_writes_mixed)
{
    char *p = tu_join(dir, "big.bin");
    size_t total = 3 * 1024 * 1024 + 17;
    unsigned char *data = malloc(total);
    for (size_t i = 0; i < total; i++)
        data[i] = (unsigned char)(i * 131 + (i >> 13));
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_OK);
    size_t chunks[] = {1, 100, 300000, 7, 262144, 262143, 1000000, 5};
    size_t off = 0;
    for (size_t i = 0; off < total; i = (i + 1) % 8) {
        size_t n = chunks[i] < total - off ? chunks[i] : total - off;
        cr_assert_eq(dl_outfile_write(f, data + off, n, &e), DL_OK);
        off += n;
    }
    dl_outfile_info info;
    cr_assert_eq(dl_outfile_commit(f, &info, &e), DL_OK);
    size_t n;
    char *back = tu_read(p, &n);
    cr_assert_eq(n, total);
    cr_assert(memcmp(back, data, total) == 0);
    uint8_t want[32];
    dl_sha256(data, total, want);
    cr_assert(memcmp(info.sha256, want, 32) == 0);
    cr_assert_eq(info.bytes, total);
    free(back);
    free(data);
    free(p);
}

Test(outfile, abort_leaves_nothing)
{
    char *p = tu_join(dir, "gone.csv");
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_OK);
    cr_assert_eq(dl_outfile_write(f, "x", 1, &e), DL_OK);
    dl_outfile_abort(f);
    cr_assert_str_eq(listing(), "");
    dl_outfile_abort(NULL);
    free(p);
}

Test(outfile, missing_folder_names_the_path)
{
    char *p = tu_join(dir, "nope/out.csv");
    dl_outfile *f = (dl_outfile *)1;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_EIO);
    cr_assert_null(f);
    cr_assert_str_eq(e.file, p);
    cr_assert_eq(e.os_errno, ENOENT);
    cr_assert(strstr(e.msg, "does not exist"), "%s", e.msg);
    free(p);
}

Test(outfile, path_naming_a_folder_is_refused)
{
    char *p = tu_join(dir, "sub/");
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_EUSAGE);
    cr_assert_null(f);
    free(p);
}

Test(outfile, failing_commit_leaves_no_temporary)
{
    char *p = tu_join(dir, "target");
    cr_assert_eq(mkdir(p, 0755), 0);
    char *inner = tu_join(p, "keep");
    tu_write_str(inner, "x");
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_OK);
    cr_assert_eq(dl_outfile_write(f, "data", 4, &e), DL_OK);
    cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_EIO);
    cr_assert_str_eq(e.file, p);
    cr_assert(strstr(e.msg, "cannot rename"), "%s", e.msg);
    cr_assert_str_eq(listing(), "target");
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert(S_ISDIR(st.st_mode), "the folder is untouched");
    free(inner);
    free(p);
}

Test(outfile, modes_are_honoured)
{
    mode_t old = umask(022);
    const unsigned modes[] = {0600, 0644};
    for (int i = 0; i < 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "m%o", modes[i]);
        char *p = tu_join(dir, name);
        dl_outfile *f;
        dl_error e = DL_ERROR_INIT;
        cr_assert_eq(dl_outfile_create(p, modes[i], &f, &e), DL_OK);
        cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_OK);
        struct stat st;
        cr_assert_eq(stat(p, &st), 0);
        cr_assert_eq(st.st_mode & 0777, modes[i], "mode %o", st.st_mode & 0777);
        free(p);
    }
    umask(old);
}

Test(outfile, commit_replaces_existing_file)
{
    char *p = tu_join(dir, "x");
    tu_write_str(p, "old");
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_OK);
    cr_assert_eq(dl_outfile_write(f, "new", 3, &e), DL_OK);
    cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_OK);
    char *t = tu_read(p, NULL);
    cr_assert_str_eq(t, "new");
    free(t);
    free(p);
}

Test(outfile, no_replace_keeps_existing_file)
{
    char *p = tu_join(dir, "x");
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0600, &f, &e), DL_OK);
    dl_outfile_no_replace(f);
    tu_write_str(p, "appeared meanwhile");
    cr_assert_eq(dl_outfile_write(f, "new", 3, &e), DL_OK);
    cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_EIO);
    cr_assert_eq(e.os_errno, EEXIST);
    char *t = tu_read(p, NULL);
    cr_assert_str_eq(t, "appeared meanwhile");
    free(t);
    cr_assert_str_eq(listing(), "x");
    /* And without a clash it works. */
    char *q = tu_join(dir, "y");
    cr_assert_eq(dl_outfile_create(q, 0600, &f, &e), DL_OK);
    dl_outfile_no_replace(f);
    cr_assert_eq(dl_outfile_write(f, "yy", 2, &e), DL_OK);
    cr_assert_eq(dl_outfile_commit(f, NULL, &e), DL_OK);
    cr_assert_str_eq(listing(), "x y");
    free(q);
    free(p);
}

static void die_midway(int sig)
{
    dl_outfile_cleanup_on_signals();
    dl_outfile *f[3];
    dl_error e = DL_ERROR_INIT;
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "part%d", i);
        char *p = tu_join(dir, name);
        if (dl_outfile_create(p, 0644, &f[i], &e) != DL_OK ||
            dl_outfile_write(f[i], "half", 4, &e) != DL_OK)
            _exit(10);
        free(p);
    }
    dl_outfile_abort(f[1]); /* a released slot must not matter */
    raise(sig);
    _exit(11); /* not reached */
}

Test(outfile, signal_removes_live_temporaries_and_kills)
{
    const int sigs[] = {SIGTERM, SIGINT};
    for (int i = 0; i < 2; i++) {
        fflush(NULL);
        pid_t pid = fork();
        cr_assert(pid >= 0);
        if (pid == 0)
            die_midway(sigs[i]);
        int status;
        cr_assert_eq(waitpid(pid, &status, 0), pid);
        cr_assert(WIFSIGNALED(status), "child exited %d", WEXITSTATUS(status));
        cr_assert_eq(WTERMSIG(status), sigs[i]);
        cr_assert_str_eq(listing(), "", "temporaries left: %s", listing());
    }
}

Test(outfile, sha256_file_missing)
{
    char *p = tu_join(dir, "missing");
    uint8_t out[32];
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_sha256_file(p, out, &e), DL_EIO);
    cr_assert_eq(e.os_errno, ENOENT);
    cr_assert_str_eq(e.file, p);
    free(p);
}
