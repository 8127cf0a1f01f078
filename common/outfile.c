/* outfile.c: outputs written to a temporary name, checksummed while written,
 * renamed into place when complete. Part of common/; every file dolen writes
 * goes through it, so an interrupted run never leaves a truncated output. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dolen/outfile.h"

/* 256 KiB: large enough that write() calls cost nothing next to gzip, small
 * enough to keep one per output per thread. */
enum { OUT_BUF = 256 * 1024 };

struct dl_outfile {
    int fd;
    int slot;        /* index in the live table, or -1 */
    char *path;      /* final name */
    char *tmp;       /* temporary name, same folder */
    char *dir;       /* the folder, for fsync after rename */
    unsigned char *buf;
    size_t nbuf;
    uint64_t bytes;
    EVP_MD_CTX *md;
    bool no_replace;
};

/* Temporary names the signal handler must remove. A handler may only call
 * async-signal-safe functions, so it walks this fixed table of pointers and
 * calls unlink(); slots are claimed and released with atomic operations, and
 * a name is released from its slot before it is freed. */
static _Atomic(char *) live[DL_OUTFILE_MAX_LIVE];

static int live_add(char *name)
{
    for (int i = 0; i < DL_OUTFILE_MAX_LIVE; i++) {
        char *expect = NULL;
        if (atomic_compare_exchange_strong(&live[i], &expect, name))
            return i;
    }
    return -1;
}

static void live_remove(int slot)
{
    if (slot >= 0)
        atomic_store(&live[slot], NULL);
}

static void on_signal(int sig)
{
    int saved = errno;
    for (int i = 0; i < DL_OUTFILE_MAX_LIVE; i++) {
        char *name = atomic_load(&live[i]);
        if (name)
            unlink(name);
    }
    errno = saved;
    /* SA_RESETHAND restored the default action: once this handler returns,
     * the re-raised signal ends the process with the usual status. */
    raise(sig);
}

void dl_outfile_cleanup_on_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction old, sa;
        if (sigaction(sigs[i], NULL, &old) != 0)
            continue;
        if (old.sa_handler == SIG_IGN) /* e.g. SIGHUP under nohup: keep ignoring */
            continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESETHAND;
        sigaction(sigs[i], &sa, NULL);
    }
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* Six characters for the temporary name: from getrandom when it answers at
 * once, else from the clock and a counter (uniqueness, not secrecy, is what
 * matters: O_EXCL catches any clash). */
static void tmp_suffix(char out[7])
{
    static const char set[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    static atomic_uint counter;
    unsigned char r[6];
    if (getrandom(r, sizeof r, GRND_NONBLOCK) != (ssize_t)sizeof r) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t v = (uint64_t)ts.tv_nsec ^ (uint64_t)getpid() << 20 ^
                     (uint64_t)atomic_fetch_add(&counter, 1) << 40;
        for (int i = 0; i < 6; i++, v >>= 8)
            r[i] = (unsigned char)v;
    }
    for (int i = 0; i < 6; i++)
        out[i] = set[r[i] % 62];
    out[6] = '\0';
}

static void free_file(dl_outfile *f)
{
    live_remove(f->slot);
    EVP_MD_CTX_free(f->md);
    /* Key files pass through this buffer: wipe it rather than hand key
     * bytes back to malloc. 256 KiB once per output costs nothing. */
    if (f->buf)
        OPENSSL_cleanse(f->buf, OUT_BUF);
    free(f->buf);
    free(f->tmp);
    free(f->dir);
    free(f->path);
    free(f);
}

dl_status dl_outfile_create(const char *path, unsigned mode, dl_outfile **out, dl_error *err)
{
    *out = NULL;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    if (!*base)
        return dl_error_set(err, DL_EUSAGE, path, 0, 0,
                            "output path names a folder (expected a file name)");
    dl_outfile *f = calloc(1, sizeof *f);
    if (!f)
        return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory opening output");
    f->fd = -1;
    f->slot = -1;
    f->path = dup_n(path, strlen(path));
    f->dir = slash ? dup_n(path, slash == path ? 1 : (size_t)(slash - path)) : dup_n(".", 1);
    size_t dirpart = slash ? (size_t)(slash + 1 - path) : 0;
    size_t tmplen = dirpart + 1 + strlen(base) + 5 + 6;
    f->tmp = malloc(tmplen + 1);
    f->buf = malloc(OUT_BUF);
    f->md = EVP_MD_CTX_new();
    if (!f->path || !f->dir || !f->tmp || !f->buf || !f->md) {
        free_file(f);
        return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory opening output");
    }
    if (EVP_DigestInit_ex(f->md, EVP_sha256(), NULL) != 1) {
        free_file(f);
        return dl_error_set(err, DL_EINTERNAL, path, 0, 0, "OpenSSL SHA-256 is unavailable");
    }
    for (int tries = 0; tries < 100; tries++) {
        char sfx[7];
        tmp_suffix(sfx);
        snprintf(f->tmp, tmplen + 1, "%.*s.%s.tmp.%s", (int)dirpart, path, base, sfx);
        /* Register before the file exists, so no instant passes in which a
         * signal would leave it behind. */
        if (f->slot < 0)
            f->slot = live_add(f->tmp);
        f->fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
        if (f->fd >= 0 || errno != EEXIST)
            break;
    }
    if (f->fd < 0) {
        int e = errno;
        dl_status s;
        if (e == ENOENT || e == ENOTDIR)
            s = dl_error_os(err, DL_EIO, e, path,
                            "cannot create output: folder '%s' does not exist", f->dir);
        else
            s = dl_error_os(err, DL_EIO, e, path,
                            "cannot create a temporary file in folder '%s'", f->dir);
        free_file(f);
        return s;
    }
    *out = f;
    return DL_OK;
}

static dl_status write_all(dl_outfile *f, const unsigned char *p, size_t len, dl_error *err)
{
    if (len && EVP_DigestUpdate(f->md, p, len) != 1)
        return dl_error_set(err, DL_EINTERNAL, f->path, 0, 0, "OpenSSL SHA-256 update failed");
    while (len) {
        ssize_t w = write(f->fd, p, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return dl_error_os(err, DL_EIO, errno, f->path, "cannot write output");
        }
        p += w;
        len -= (size_t)w;
    }
    return DL_OK;
}

static dl_status flush_buf(dl_outfile *f, dl_error *err)
{
    dl_status s = write_all(f, f->buf, f->nbuf, err);
    f->nbuf = 0;
    return s;
}

dl_status dl_outfile_write(dl_outfile *f, const void *buf, size_t len, dl_error *err)
{
    if (len <= OUT_BUF - f->nbuf) {
        if (len)
            memcpy(f->buf + f->nbuf, buf, len);
        f->nbuf += len;
        f->bytes += len;
        return DL_OK;
    }
    dl_status s = flush_buf(f, err);
    if (s != DL_OK)
        return s;
    f->bytes += len;
    if (len >= OUT_BUF) /* big pieces skip the copy */
        return write_all(f, buf, len, err);
    memcpy(f->buf, buf, len);
    f->nbuf = len;
    return DL_OK;
}

const char *dl_outfile_path(const dl_outfile *f)
{
    return f->path;
}

uint64_t dl_outfile_bytes(const dl_outfile *f)
{
    return f->bytes;
}

dl_status dl_outfile_commit(dl_outfile *f, dl_outfile_info *info, dl_error *err)
{
    dl_status s = flush_buf(f, err);
    if (s != DL_OK)
        goto fail;
    if (fsync(f->fd) != 0) {
        s = dl_error_os(err, DL_EIO, errno, f->path, "cannot sync output to disk");
        goto fail;
    }
    int fd = f->fd;
    f->fd = -1;
    if (close(fd) != 0) {
        s = dl_error_os(err, DL_EIO, errno, f->path, "cannot close output");
        goto fail;
    }
    if (info) {
        info->bytes = f->bytes;
        if (EVP_DigestFinal_ex(f->md, info->sha256, NULL) != 1) {
            s = dl_error_set(err, DL_EINTERNAL, f->path, 0, 0, "OpenSSL SHA-256 final failed");
            goto fail;
        }
    }
    if (f->no_replace) {
        /* link() fails with EEXIST rather than replace: no window in which
         * another file at PATH could be lost. */
        if (link(f->tmp, f->path) != 0) {
            int e = errno;
            if (e == EEXIST)
                s = dl_error_os(err, DL_EIO, e, f->path, "output exists already (not replaced)");
            else
                s = dl_error_os(err, DL_EIO, e, f->path, "cannot link the finished output into place");
            goto fail;
        }
        unlink(f->tmp);
    } else if (rename(f->tmp, f->path) != 0) {
        s = dl_error_os(err, DL_EIO, errno, f->path,
                        "cannot rename the finished output into place");
        goto fail;
    }
    live_remove(f->slot);
    f->slot = -1;
    /* The rename is durable only once the folder is synced. Some file
     * systems refuse fsync on a folder (EINVAL): nothing more can be done. */
    int dfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        if (fsync(dfd) != 0 && errno != EINVAL && errno != EROFS) {
            s = dl_error_os(err, DL_EIO, errno, f->path, "cannot sync the output's folder");
        }
        close(dfd);
    }
    free_file(f);
    return s;
fail:
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp);
    free_file(f);
    return s;
}

void dl_outfile_no_replace(dl_outfile *f)
{
    f->no_replace = true;
}

void dl_outfile_abort(dl_outfile *f)
{
    if (!f)
        return;
    if (f->fd >= 0)
        close(f->fd);
    unlink(f->tmp);
    free_file(f);
}

dl_status dl_outfile_write_file(const char *path, unsigned mode, const void *data, size_t len,
                                dl_outfile_info *info, dl_error *err)
{
    dl_outfile *f = NULL;
    dl_status s = dl_outfile_create(path, mode, &f, err);
    if (s == DL_OK)
        s = dl_outfile_write(f, data, len, err);
    if (s != DL_OK) {
        dl_outfile_abort(f);
        return s;
    }
    return dl_outfile_commit(f, info, err);
}
