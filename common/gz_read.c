/* gz_read.c: a byte input stream over a plain or gzip file (ISA-L, else zlib).
 * Part of common/; the CSV reader pulls its bytes from here, so every input
 * of prepare, link and extract may be gzip or not without anyone asking. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dl_config.h"
#include "dolen/gz.h"

#if DL_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#else
#include <zlib.h>
#endif

/* Big reads: one syscall per MiB keeps the kernel out of the profile, and a
 * MiB of compressed input is what the inflaters like to chew on at once. */
#define BLOCK_DEFAULT ((size_t)1 << 20)
/* The inflaters count in 32-bit units; stay well inside. */
#define MAX_OUT_PER_CALL ((size_t)1 << 30)
/* A plain read at least this big goes straight into the caller's buffer. */
#define DIRECT_MIN ((size_t)1 << 16)

struct dl_gz_reader {
    char *name;
    int fd; /* -1 for memory input */
    bool own_fd;
    const uint8_t *mem; /* memory input */
    size_t mem_len, mem_pos;
    uint64_t size;     /* file size, 0 when unknown */
    uint64_t fetched;  /* bytes taken from the file so far */
    uint8_t *in;       /* read buffer (file input only) */
    size_t in_cap;
    size_t block;      /* bytes per fetch */
    const uint8_t *cur; /* current block of raw bytes: cur[cur_pos..cur_len) unread */
    size_t cur_pos, cur_len;
    bool eof;          /* the file has no more bytes */
    bool gzip;
    bool member_open;  /* inside a gzip member (header seen or being parsed) */
    uint64_t members;  /* members completed */
    uint64_t member_out; /* content bytes of the current member */
    uint64_t member_at;  /* compressed offset where the current member starts */
    dl_status failed;  /* sticky error */
    dl_error saved;
#if DL_HAVE_ISAL
    struct inflate_state *st;
#else
    z_stream zs;
    bool zinit;
#endif
};

/* Read up to N bytes into P, retrying short reads so a pipe behaves like a
 * file; *got < N only at end of file. */
static dl_status read_full(dl_gz_reader *r, uint8_t *p, size_t n, size_t *got, dl_error *err)
{
    size_t have = 0;
    while (have < n) {
        ssize_t k = read(r->fd, p + have, n - have);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return dl_error_os(err, DL_EIO, errno, r->name, "cannot read");
        }
        if (k == 0)
            break;
        have += (size_t)k;
    }
    *got = have;
    return DL_OK;
}

/* Make the next block of raw bytes current (the previous one must be used
 * up). At end of file the block is empty and r->eof is set. */
static dl_status fetch(dl_gz_reader *r, dl_error *err)
{
    r->cur_pos = r->cur_len = 0;
    if (r->eof)
        return DL_OK;
    if (!r->mem) {
        size_t got = 0;
        dl_status s = read_full(r, r->in, r->block, &got, err);
        if (s != DL_OK)
            return s;
        r->cur = r->in;
        r->cur_len = got;
    } else {
        size_t left = r->mem_len - r->mem_pos;
        size_t n = left < r->block ? left : r->block;
        r->cur = r->mem + r->mem_pos;
        r->cur_len = n;
        r->mem_pos += n;
    }
    r->fetched += r->cur_len;
    if (r->cur_len == 0)
        r->eof = true;
    return DL_OK;
}

static dl_status fail(dl_gz_reader *r, dl_error *err, dl_status s)
{
    r->failed = s;
    if (err)
        r->saved = *err;
    return s;
}

static dl_status new_reader(const char *name, dl_gz_reader **out, dl_error *err)
{
    dl_gz_reader *r = calloc(1, sizeof *r);
    if (!r || !(r->name = strdup(name))) {
        free(r);
        return dl_error_set(err, DL_ENOMEM, name, 0, 0, "out of memory opening input");
    }
    r->fd = -1;
    r->block = BLOCK_DEFAULT;
    *out = r;
    return DL_OK;
}

/* Common tail of both opens: read the first block, look at the magic bytes
 * and set up the inflater. */
static dl_status start(dl_gz_reader *r, dl_error *err)
{
    dl_status s = fetch(r, err);
    if (s != DL_OK)
        return s;
    /* RFC 1952 section 2.3.1: ID1 = 31 (0x1f), ID2 = 139 (0x8b). */
    r->gzip = r->cur_len >= 2 && r->cur[0] == 0x1f && r->cur[1] == 0x8b;
    if (!r->gzip)
        return DL_OK;
#if DL_HAVE_ISAL
    r->st = malloc(sizeof *r->st);
    if (!r->st)
        return dl_error_set(err, DL_ENOMEM, r->name, 0, 0, "out of memory for inflate state");
    isal_inflate_init(r->st);
    r->st->next_in = (uint8_t *)(uintptr_t)r->cur; /* the block just looked at */
    r->st->avail_in = (uint32_t)r->cur_len;
#else
    memset(&r->zs, 0, sizeof r->zs);
    /* 15 + 16: gzip wrapper only, so a zlib or raw stream is refused. */
    if (inflateInit2(&r->zs, 15 + 16) != Z_OK)
        return dl_error_set(err, DL_ENOMEM, r->name, 0, 0, "out of memory for inflate state");
    r->zinit = true;
    r->zs.next_in = (Bytef *)(uintptr_t)r->cur;
    r->zs.avail_in = (uInt)r->cur_len;
#endif
    return DL_OK;
}

dl_status dl_gz_open(const char *path, dl_gz_reader **out, dl_error *err)
{
    *out = NULL;
    dl_gz_reader *r = NULL;
    dl_status s = new_reader(path, &r, err);
    if (s != DL_OK)
        return s;
    if (strcmp(path, "-") == 0) {
        r->fd = STDIN_FILENO;
    } else {
        r->fd = open(path, O_RDONLY | O_CLOEXEC);
        if (r->fd < 0) {
            int e = errno;
            dl_gz_close(r);
            return dl_error_os(err, e == ENOENT || e == EACCES ? DL_EINPUT : DL_EIO, e, path,
                               "cannot open input");
        }
        r->own_fd = true;
    }
    struct stat st;
    if (fstat(r->fd, &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            dl_gz_close(r);
            return dl_error_set(err, DL_EINPUT, path, 0, 0,
                                "is a folder (expected a file)");
        }
        if (S_ISREG(st.st_mode))
            r->size = (uint64_t)st.st_size;
    }
    r->in_cap = r->block;
    r->in = malloc(r->in_cap);
    if (!r->in) {
        dl_gz_close(r);
        return dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory for read buffer");
    }
#ifdef POSIX_FADV_SEQUENTIAL
    if (r->own_fd)
        (void)posix_fadvise(r->fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    s = start(r, err);
    if (s != DL_OK) {
        dl_gz_close(r);
        return s;
    }
    *out = r;
    return DL_OK;
}

dl_status dl_gz_open_mem(const void *data, size_t len, const char *name, dl_gz_reader **out,
                         dl_error *err)
{
    *out = NULL;
    dl_gz_reader *r = NULL;
    dl_status s = new_reader(name ? name : "<memory>", &r, err);
    if (s != DL_OK)
        return s;
    static const uint8_t none[1];
    r->mem = len ? data : none;
    r->mem_len = len;
    r->size = len;
    s = start(r, err);
    if (s != DL_OK) {
        dl_gz_close(r);
        return s;
    }
    *out = r;
    return DL_OK;
}

void dl__gz_set_block(dl_gz_reader *r, size_t n)
{
    if (n < 1)
        n = 1;
    if (!r->mem && n > r->in_cap)
        n = r->in_cap; /* the buffer holds the first block; never move it */
    r->block = n;
}

static uint64_t unread(const dl_gz_reader *r)
{
#if DL_HAVE_ISAL
    if (r->gzip && r->st)
        return r->st->avail_in;
#else
    if (r->gzip && r->zinit)
        return r->zs.avail_in;
#endif
    return r->cur_len - r->cur_pos;
}

uint64_t dl_gz_bytes_in(const dl_gz_reader *r)
{
    return r->fetched - unread(r);
}

uint64_t dl_gz_size(const dl_gz_reader *r)
{
    return r->size;
}

bool dl_gz_is_gzip(const dl_gz_reader *r)
{
    return r->gzip;
}

const char *dl_gz_name(const dl_gz_reader *r)
{
    return r->name;
}

static dl_status read_plain(dl_gz_reader *r, uint8_t *buf, size_t cap, size_t *got,
                            dl_error *err)
{
    if (r->cur_pos == r->cur_len) {
        /* A big request on a file goes straight into the caller's buffer:
         * no copy through ours. */
        if (!r->mem && !r->eof && cap >= DIRECT_MIN) {
            size_t n = 0;
            dl_status s = read_full(r, buf, cap, &n, err);
            if (s != DL_OK)
                return s;
            r->fetched += n;
            if (n == 0)
                r->eof = true;
            *got = n;
            return n ? DL_OK : DL_END;
        }
        dl_status s = fetch(r, err);
        if (s != DL_OK)
            return s;
        if (r->cur_len == 0)
            return DL_END;
    }
    size_t n = r->cur_len - r->cur_pos;
    if (n > cap)
        n = cap;
    memcpy(buf, r->cur + r->cur_pos, n);
    r->cur_pos += n;
    *got = n;
    return DL_OK;
}

static dl_status corrupt(dl_gz_reader *r, dl_error *err, const char *what)
{
    return dl_error_set(err, DL_EINPUT, r->name, 0, 0,
                        "corrupt gzip stream at compressed byte %llu (%s)",
                        (unsigned long long)dl_gz_bytes_in(r), what);
}

static dl_status truncated(dl_gz_reader *r, dl_error *err)
{
    return dl_error_set(err, DL_EINPUT, r->name, 0, 0,
                        "truncated gzip stream: input ends at compressed byte %llu inside "
                        "member %llu (expected the rest of the member and its CRC trailer)",
                        (unsigned long long)r->fetched, (unsigned long long)r->members + 1);
}

static dl_status trailing(dl_gz_reader *r, dl_error *err)
{
    return dl_error_set(err, DL_EINPUT, r->name, 0, 0,
                        "unexpected bytes after gzip member %llu at compressed byte %llu "
                        "(expected another gzip member or end of file)",
                        (unsigned long long)r->members, (unsigned long long)r->member_at);
}

#if DL_HAVE_ISAL
static const char *isal_what(int ret)
{
    switch (ret) {
    case ISAL_INVALID_BLOCK:
        return "invalid deflate block";
    case ISAL_INVALID_SYMBOL:
        return "invalid deflate symbol";
    case ISAL_INVALID_LOOKBACK:
        return "invalid back-reference distance";
    case ISAL_INVALID_WRAPPER:
        return "invalid gzip header";
    case ISAL_UNSUPPORTED_METHOD:
        return "unsupported compression method";
    case ISAL_INCORRECT_CHECKSUM:
        return "CRC-32 or length mismatch";
    default:
        return "inflate failed";
    }
}

static dl_status read_gzip(dl_gz_reader *r, uint8_t *buf, size_t cap, size_t *got,
                           dl_error *err)
{
    struct inflate_state *st = r->st;
    size_t done = 0;
    if (cap > MAX_OUT_PER_CALL)
        cap = MAX_OUT_PER_CALL;
    while (done == 0) {
        if (st->avail_in == 0 && !r->eof) {
            dl_status s = fetch(r, err);
            if (s != DL_OK)
                return s;
            st->next_in = (uint8_t *)(uintptr_t)r->cur;
            st->avail_in = (uint32_t)r->cur_len;
        }
        /* With the input used up the inflater may still hold output that did
         * not fit last time: only a call that makes nothing means the end. */
        if (st->avail_in == 0 && !r->member_open)
            break;
        if (!r->member_open) {
            /* Members follow each other (RFC 1952 section 2.2); each starts
             * afresh, and the reset must not lose the input pointer. */
            uint8_t *nin = st->next_in;
            uint32_t ain = st->avail_in;
            isal_inflate_reset(st);
            st->next_in = nin;
            st->avail_in = ain;
            st->crc_flag = ISAL_GZIP;
            r->member_open = true;
            r->member_at = dl_gz_bytes_in(r);
            r->member_out = 0;
        }
        uint32_t in_before = st->avail_in;
        st->next_out = buf + done;
        st->avail_out = (uint32_t)(cap - done);
        int ret = isal_inflate(st);
        size_t made = (cap - done) - st->avail_out;
        done += made;
        r->member_out += made;
        if (ret < 0) {
            if (ret == ISAL_INVALID_WRAPPER && r->members > 0 && r->member_out == 0)
                return trailing(r, err);
            return corrupt(r, err, isal_what(ret));
        }
        if (st->block_state == ISAL_BLOCK_FINISH) {
            r->member_open = false;
            r->members++;
        } else if (made == 0 && st->avail_in == 0 && r->eof) {
            return truncated(r, err);
        } else if (made == 0 && st->avail_in == in_before && st->avail_in > 0) {
            /* No progress with input and room: never seen, but never spin. */
            return corrupt(r, err, "inflate made no progress");
        }
    }
    *got = done;
    return done ? DL_OK : DL_END;
}
#else
static dl_status read_gzip(dl_gz_reader *r, uint8_t *buf, size_t cap, size_t *got,
                           dl_error *err)
{
    z_stream *zs = &r->zs;
    size_t done = 0;
    if (cap > MAX_OUT_PER_CALL)
        cap = MAX_OUT_PER_CALL;
    while (done == 0) {
        if (zs->avail_in == 0 && !r->eof) {
            dl_status s = fetch(r, err);
            if (s != DL_OK)
                return s;
            zs->next_in = (Bytef *)(uintptr_t)r->cur;
            zs->avail_in = (uInt)r->cur_len;
        }
        /* With the input used up the inflater may still hold output that did
         * not fit last time: only a call that makes nothing means the end. */
        if (zs->avail_in == 0 && !r->member_open)
            break;
        if (!r->member_open) {
            if (r->members > 0 && inflateReset(zs) != Z_OK)
                return corrupt(r, err, "inflate reset failed");
            r->member_open = true;
            r->member_at = dl_gz_bytes_in(r);
            r->member_out = 0;
        }
        zs->next_out = buf + done;
        zs->avail_out = (uInt)(cap - done);
        int ret = inflate(zs, Z_NO_FLUSH);
        size_t made = (cap - done) - zs->avail_out;
        done += made;
        r->member_out += made;
        if (ret == Z_STREAM_END) {
            r->member_open = false;
            r->members++;
        } else if (ret == Z_MEM_ERROR) {
            return dl_error_set(err, DL_ENOMEM, r->name, 0, 0, "out of memory inflating");
        } else if (ret == Z_DATA_ERROR || ret == Z_NEED_DICT || ret == Z_STREAM_ERROR) {
            if (r->members > 0 && r->member_out == 0 && zs->msg &&
                strcmp(zs->msg, "incorrect header check") == 0)
                return trailing(r, err);
            return corrupt(r, err, zs->msg ? zs->msg : "inflate failed");
        }
        else if (made == 0 && zs->avail_in == 0 && r->eof)
            return truncated(r, err);
        /* Z_BUF_ERROR: needs more input; the loop fetches it. */
    }
    *got = done;
    return done ? DL_OK : DL_END;
}
#endif

dl_status dl_gz_read(dl_gz_reader *r, void *buf, size_t cap, size_t *got, dl_error *err)
{
    *got = 0;
    if (r->failed != DL_OK) {
        if (err)
            *err = r->saved;
        return r->failed;
    }
    if (cap == 0)
        return DL_OK;
    dl_status s = r->gzip ? read_gzip(r, buf, cap, got, err) : read_plain(r, buf, cap, got, err);
    if (s != DL_OK && s != DL_END)
        return fail(r, err, s);
    return s;
}

void dl_gz_close(dl_gz_reader *r)
{
    if (!r)
        return;
#if DL_HAVE_ISAL
    free(r->st);
#else
    if (r->zinit)
        inflateEnd(&r->zs);
#endif
    if (r->own_fd)
        close(r->fd);
    free(r->in);
    free(r->name);
    free(r);
}
