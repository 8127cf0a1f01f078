/* gz_write.c: gzip output as a series of independent members (ISA-L, else zlib).
 * Part of common/; prepare and link write their .csv.gz outputs through it, and
 * prepare's workers compress chunks in parallel with dl_gz_compress_member(). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dl_config.h"
#include "dolen/gz.h"

#include "deflate_fast.h"

#if DL_HAVE_ISAL
#include <isa-l/crc.h>
#include <isa-l/igzip_lib.h>
#endif
#include <zlib.h>

#if DL_HAVE_ISAL
/* ISA-L level 1: DESIGN.md measured ~310 MB/s on ids-like data with a smaller
 * file than zlib -1; level 1 is its sweet spot (levels 2-3 cost far more
 * time for a few per cent). The level buffer size is ISA-L's suggested one. */
static dl_status compress_isal(const void *src, size_t len, dl_buf *out, dl_error *err)
{
    /* Stored blocks cost 5 bytes per 64 KiB at worst; add the 10-byte header,
     * 8-byte trailer and slack. */
    size_t bound = len + (len >> 12) * 5 + 5 * 16 + 1024;
    size_t old = out->len;
    /* Zeroed too, so that nothing the deflater reads is left to chance. */
    uint8_t *lvl = calloc(1, ISAL_DEF_LVL1_DEFAULT);
    if (!lvl || !dl_buf_reserve(out, bound)) {
        free(lvl);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory compressing a chunk");
    }
    /* Zeroed first: isal_deflate_stateless_init() leaves some of the struct
     * as it was, and stack garbage there was seen to change the compressed
     * bytes (never the content) of a member from run to run. */
    struct isal_zstream zs;
    memset(&zs, 0, sizeof zs);
    isal_deflate_stateless_init(&zs);
    zs.level = 1;
    zs.level_buf = lvl;
    zs.level_buf_size = ISAL_DEF_LVL1_DEFAULT;
    /* IGZIP_GZIP writes ISA-L's generic header: MTIME 0, no name, so the
     * bytes depend on the content only. */
    zs.gzip_flag = IGZIP_GZIP;
    zs.end_of_stream = 1;
    zs.flush = NO_FLUSH;
    zs.next_in = (uint8_t *)(uintptr_t)src;
    zs.avail_in = (uint32_t)len;
    zs.next_out = (uint8_t *)out->data + old;
    zs.avail_out = (uint32_t)bound;
    int ret = isal_deflate_stateless(&zs);
    free(lvl);
    if (ret != COMP_OK) {
        out->len = old;
        out->data[old] = '\0';
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "ISA-L deflate failed with code %d (expected success)", ret);
    }
    out->len = old + zs.total_out;
    out->data[out->len] = '\0';
    return DL_OK;
}
#endif

/* zlib level 6 (its default): the fallback is ~10x slower than ISA-L at any
 * level, so take zlib's usual size/speed balance rather than chase speed. */
static dl_status compress_zlib(const void *src, size_t len, dl_buf *out, dl_error *err)
{
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    /* windowBits 15 + 16: gzip wrapper. With no gz_header set, zlib writes
     * MTIME 0, no name and the build's OS byte: deterministic. */
    if (deflateInit2(&zs, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory compressing a chunk");
    size_t bound = deflateBound(&zs, (uLong)len);
    size_t old = out->len;
    if (!dl_buf_reserve(out, bound)) {
        deflateEnd(&zs);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory compressing a chunk");
    }
    zs.next_in = (Bytef *)(uintptr_t)src;
    zs.avail_in = (uInt)len;
    zs.next_out = (Bytef *)out->data + old;
    zs.avail_out = (uInt)bound;
    int ret = deflate(&zs, Z_FINISH);
    size_t made = bound - zs.avail_out;
    deflateEnd(&zs);
    if (ret != Z_STREAM_END) {
        out->data[old] = '\0';
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "zlib deflate failed with code %d (expected stream end)", ret);
    }
    out->len = old + made;
    out->data[out->len] = '\0';
    return DL_OK;
}

/* Members smaller than this go through zlib even where ISA-L is built in.
 * ISA-L once gave other bytes (a dynamic block instead of its usual static
 * one) for the same 71-byte input in one of three `dolen link` runs of a
 * test; the cause was not found in ISA-L's inputs, stack or alignment, and
 * ISA-L does not promise deterministic output (intel/isa-l issue #140).
 * zlib's output depends on its input alone, and small members (a header
 * row, a file's last partial chunk) cost nothing to compress either way. */
#define ZLIB_BELOW ((size_t)64 << 10)

dl_status dl_gz_compress_member(const void *src, size_t len, dl_buf *out, dl_error *err)
{
    if (len > DL_GZ_MEMBER_MAX)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "chunk of %zu bytes is too big for one gzip member (at most %zu)",
                            len, DL_GZ_MEMBER_MAX);
    static const char empty[1];
    if (!src)
        src = empty;
#if DL_HAVE_ISAL
    if (len >= ZLIB_BELOW)
        return compress_isal(src, len, out, err);
#endif
    return compress_zlib(src, len, out, err);
}

/* The CRC-32 of gzip (RFC 1952 8): ISA-L's folding code where the build has
 * it (tens of GB/s here), else zlib's. */
static uint32_t gzip_crc32(const void *p, size_t len)
{
#if DL_HAVE_ISAL
    return crc32_gzip_refl(0, (const unsigned char *)p, len);
#else
    uLong c = crc32(0L, Z_NULL, 0);
    const Bytef *b = p;
    while (len) {
        uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;
        c = crc32(c, b, n);
        b += n;
        len -= n;
    }
    return (uint32_t)c;
#endif
}

static void put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

dl_status dl_gz_compress_member_fast(const void *src, size_t len, dl_buf *out, dl_error *err)
{
    if (len > DL_GZ_MEMBER_MAX)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "chunk of %zu bytes is too big for one gzip member (at most %zu)",
                            len, DL_GZ_MEMBER_MAX);
    static const uint8_t empty[1];
    if (!src)
        src = empty;
    /* RFC 1952 2.3: ID1 ID2, CM 8 (deflate), no flags, MTIME 0, XFL 0, OS
     * 255 (unknown): the bytes ISA-L writes, so the header is the same
     * whichever encoder made a member and on any build. */
    static const uint8_t header[10] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff};
    size_t old = out->len;
    if (!dl_buf_reserve(out, sizeof header + dl__deflate_fast_bound(len) + 8))
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory compressing a chunk");
    uint8_t *o = (uint8_t *)out->data + old;
    memcpy(o, header, sizeof header);
    size_t n = dl__deflate_fast(src, len, o + sizeof header);
    if (n == SIZE_MAX) {
        out->data[old] = '\0';
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory compressing a chunk");
    }
    o += sizeof header + n;
    put_le32(o, gzip_crc32(src, len));
    put_le32(o + 4, (uint32_t)len); /* ISIZE: the length modulo 2^32 */
    out->len = old + sizeof header + n + 8;
    out->data[out->len] = '\0';
    return DL_OK;
}

struct dl_gz_writer {
    dl_outfile *f;
    dl_buf chunk; /* content not yet compressed (< DL_GZ_CHUNK bytes) */
    dl_buf z;     /* compressed member being written */
    uint64_t in_bytes;
    bool wrote;   /* any member written */
    bool tokens;  /* members by dl_gz_compress_member_fast */
};

dl_status dl_gzw_open(dl_outfile *f, dl_gz_writer **out, dl_error *err)
{
    *out = NULL;
    dl_gz_writer *w = calloc(1, sizeof *w);
    if (!w || !dl_buf_reserve(&w->chunk, DL_GZ_CHUNK)) {
        free(w);
        return dl_error_set(err, DL_ENOMEM, dl_outfile_path(f), 0, 0,
                            "out of memory for gzip writer");
    }
    w->f = f;
    *out = w;
    return DL_OK;
}

static dl_status emit(dl_gz_writer *w, const void *p, size_t len, dl_error *err)
{
    dl_buf_clear(&w->z);
    dl_status s = w->tokens ? dl_gz_compress_member_fast(p, len, &w->z, err)
                            : dl_gz_compress_member(p, len, &w->z, err);
    if (s != DL_OK)
        return s;
    w->wrote = true;
    return dl_outfile_write(w->f, w->z.data, w->z.len, err);
}

void dl_gzw_use_token_encoder(dl_gz_writer *w)
{
    w->tokens = true;
}

dl_status dl_gzw_flush(dl_gz_writer *w, dl_error *err)
{
    if (w->chunk.len == 0)
        return DL_OK;
    dl_status s = emit(w, w->chunk.data, w->chunk.len, err);
    dl_buf_clear(&w->chunk);
    return s;
}

dl_status dl_gzw_write(dl_gz_writer *w, const void *p, size_t len, dl_error *err)
{
    const char *c = p;
    w->in_bytes += len;
    while (len > 0) {
        /* Whole chunks straight from the caller's memory: no copy, and the
         * member boundaries fall where they would have anyway. */
        if (w->chunk.len == 0 && len >= DL_GZ_CHUNK) {
            dl_status s = emit(w, c, DL_GZ_CHUNK, err);
            if (s != DL_OK)
                return s;
            c += DL_GZ_CHUNK;
            len -= DL_GZ_CHUNK;
            continue;
        }
        size_t room = DL_GZ_CHUNK - w->chunk.len;
        size_t n = len < room ? len : room;
        if (!dl_buf_append(&w->chunk, c, n))
            return dl_error_set(err, DL_ENOMEM, dl_outfile_path(w->f), 0, 0,
                                "out of memory in gzip writer");
        c += n;
        len -= n;
        if (w->chunk.len == DL_GZ_CHUNK) {
            dl_status s = dl_gzw_flush(w, err);
            if (s != DL_OK)
                return s;
        }
    }
    return DL_OK;
}

dl_status dl_gzw_put_member(dl_gz_writer *w, const void *member, size_t len, dl_error *err)
{
    dl_status s = dl_gzw_flush(w, err);
    if (s != DL_OK || len == 0)
        return s;
    w->wrote = true;
    return dl_outfile_write(w->f, member, len, err);
}

dl_status dl_gzw_close(dl_gz_writer *w, dl_error *err)
{
    dl_status s = dl_gzw_flush(w, err);
    /* An empty file is not valid gzip (`gzip -t` refuses it); one empty
     * member is. */
    if (s == DL_OK && !w->wrote)
        s = emit(w, NULL, 0, err);
    dl_gzw_free(w);
    return s;
}

void dl_gzw_free(dl_gz_writer *w)
{
    if (!w)
        return;
    dl_buf_free(&w->chunk);
    dl_buf_free(&w->z);
    free(w);
}

uint64_t dl_gzw_bytes_in(const dl_gz_writer *w)
{
    return w->in_bytes;
}
