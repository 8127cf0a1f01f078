/* sha256_file.c: streaming SHA-256 of files and one-shot SHA-256 of buffers.
 * Part of common/; manifests use it to checksum inputs and to verify outputs.
 * OpenSSL's EVP SHA-256 uses the CPU's SHA instructions where present. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdlib.h>
#include <unistd.h>

#include "dolen/hexb64.h"
#include "dolen/sha256.h"

enum { READ_CHUNK = 1 << 20 };

dl_status dl_sha256_file_size(const char *path, uint8_t out[32], uint64_t *bytes,
                              dl_error *err)
{
    dl_status s = DL_OK;
    uint64_t total = 0;
    unsigned char *buf = NULL;
    EVP_MD_CTX *ctx = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dl_error_os(err, DL_EIO, errno, path, "cannot open file to checksum");
    buf = malloc(READ_CHUNK);
    ctx = EVP_MD_CTX_new();
    if (!buf || !ctx) {
        s = dl_error_set(err, DL_ENOMEM, path, 0, 0, "out of memory checksumming the file");
        goto done;
    }
    if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
        s = dl_error_set(err, DL_EINTERNAL, path, 0, 0, "OpenSSL SHA-256 is unavailable");
        goto done;
    }
    for (;;) {
        ssize_t got = read(fd, buf, READ_CHUNK);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            s = dl_error_os(err, DL_EIO, errno, path, "cannot read file to checksum");
            goto done;
        }
        if (got == 0)
            break;
        total += (uint64_t)got;
        if (EVP_DigestUpdate(ctx, buf, (size_t)got) != 1) {
            s = dl_error_set(err, DL_EINTERNAL, path, 0, 0, "OpenSSL SHA-256 update failed");
            goto done;
        }
    }
    if (EVP_DigestFinal_ex(ctx, out, NULL) != 1) {
        s = dl_error_set(err, DL_EINTERNAL, path, 0, 0, "OpenSSL SHA-256 final failed");
        goto done;
    }
    if (bytes)
        *bytes = total;
done:
    EVP_MD_CTX_free(ctx);
    free(buf);
    close(fd);
    return s;
}

dl_status dl_sha256_file(const char *path, uint8_t out[32], dl_error *err)
{
    return dl_sha256_file_size(path, out, NULL, err);
}

void dl_sha256(const void *p, size_t len, uint8_t out[32])
{
    static const unsigned char empty[1];
    /* SHA256() (not deprecated in OpenSSL 3, unlike SHA256_Init) cannot fail. */
    SHA256(len ? p : empty, len, out);
}

void dl_sha256_hex(const uint8_t in[32], char out[65])
{
    dl_hex_encode(in, 32, out);
}
