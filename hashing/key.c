/* key.c: secret keys in locked memory, key files, fingerprints and HKDF
 * subkeys. Part of hashing/; `dolen keygen` makes keys, prepare and extract
 * load them and derive one subkey per field or purpose. */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dolen/hexb64.h"
#include "dolen/key.h"
#include "dolen/outfile.h"

#define FINGERPRINT_LABEL "dolen fingerprint v1"
#define HKDF_SALT "dolen v1"

struct dl_key {
    uint8_t bytes[DL_KEY_BYTES];
    size_t map_len; /* size of the mapping this struct lives in */
    bool locked;
};

/* The key gets an anonymous mapping of its own rather than malloc memory:
 * page aligned, so madvise(MADV_DONTDUMP) and mlock act on it alone and no
 * other data shares (or outlives the cleansing of) its page. Both are best
 * effort: mlock fails under a small RLIMIT_MEMLOCK, and that is no reason
 * to refuse work. */
static dl_key *key_alloc(void)
{
    long page = sysconf(_SC_PAGESIZE);
    size_t len = page > 0 ? (size_t)page : 4096;
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
#ifdef MADV_DONTDUMP
    (void)madvise(p, len, MADV_DONTDUMP);
#endif
    dl_key *k = p;
    k->map_len = len;
    k->locked = mlock(p, len) == 0;
    return k;
}

void dl_key_free(dl_key *k)
{
    if (!k)
        return;
    size_t len = k->map_len;
    bool locked = k->locked;
    OPENSSL_cleanse(k, sizeof *k);
    if (locked)
        munlock(k, len);
    munmap(k, len);
}

dl_status dl_key_from_bytes(const uint8_t *bytes, size_t len, dl_key **out, dl_error *err)
{
    *out = NULL;
    if (len != DL_KEY_BYTES)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "a key has %d bytes, not %zu",
                            DL_KEY_BYTES, len);
    dl_key *k = key_alloc();
    if (!k)
        return dl_error_os(err, DL_ENOMEM, errno, NULL, "cannot allocate key memory");
    memcpy(k->bytes, bytes, DL_KEY_BYTES);
    *out = k;
    return DL_OK;
}

dl_status dl_key_generate(dl_key **out, dl_error *err)
{
    *out = NULL;
    dl_key *k = key_alloc();
    if (!k)
        return dl_error_os(err, DL_ENOMEM, errno, NULL, "cannot allocate key memory");
    size_t got = 0;
    while (got < DL_KEY_BYTES) {
        /* Flags 0: the urandom pool, blocking only until it is first seeded. */
        ssize_t n = getrandom(k->bytes + got, DL_KEY_BYTES - got, 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            int e = errno;
            dl_key_free(k);
            return dl_error_os(err, DL_EIO, e, NULL,
                               "cannot read the operating system's random generator");
        }
        got += (size_t)n;
    }
    *out = k;
    return DL_OK;
}

/* Check the text of a key file and decode it into K. The text is 64 hex
 * digits, then optionally "\n" (or "\r\n"), then nothing. */
static dl_status parse_key_text(const char *path, const char *t, size_t n, dl_key *k,
                                dl_error *err)
{
    size_t digits = 0;
    while (digits < n && digits < 64) {
        char c = t[digits];
        if (c == '\n' || c == '\r')
            break;
        size_t bad;
        uint8_t ignored;
        char pair[2] = {c, '0'};
        if (!dl_hex_decode(pair, 2, &ignored, &bad))
            return dl_error_set(err, DL_EINPUT, path, 1, digits + 1,
                                "not a hex digit (a key file holds 64 hex digits 0-9a-f)");
        digits++;
    }
    if (digits == 0 && n == 0)
        return dl_error_set(err, DL_EINPUT, path, 1, 1,
                            "key file is empty (expected 64 hex digits)");
    if (digits < 64)
        return dl_error_set(err, DL_EINPUT, path, 1, digits + 1,
                            "key is too short: %zu hex digits (expected 64)", digits);
    size_t i = 64;
    if (i < n && t[i] == '\r' && i + 1 < n && t[i + 1] == '\n')
        i++;
    if (i < n && t[i] != '\n')
        return dl_error_set(err, DL_EINPUT, path, 1, 65,
                            "key is too long (expected exactly 64 hex digits and a newline)");
    if (i < n)
        i++;
    if (i < n)
        return dl_error_set(err, DL_EINPUT, path, 2, 1,
                            "unexpected text after the key line (expected one line)");
    if (!dl_hex_decode(t, 64, k->bytes, NULL))
        return dl_error_set(err, DL_EINTERNAL, path, 1, 1, "hex decoding failed");
    return DL_OK;
}

dl_status dl_key_load(const char *path, dl_key **out, dl_error *err)
{
    *out = NULL;
    dl_status s;
    /* One byte more than the longest valid file (64 + "\r\n") plus slack, so
     * an oversized file is seen as such without reading it all. */
    char text[80];
    size_t n = 0;
    dl_key *k = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return dl_error_os(err, DL_EIO, errno, path, "cannot open key file");
    struct stat st;
    if (fstat(fd, &st) != 0) {
        s = dl_error_os(err, DL_EIO, errno, path, "cannot inspect key file");
        goto done;
    }
    /* fstat on the open descriptor, not stat on the name: the file checked
     * is the file read. */
    if (!S_ISREG(st.st_mode)) {
        s = dl_error_set(err, DL_EINPUT, path, 0, 0, "key file is not a regular file");
        goto done;
    }
    if (st.st_mode & 077) {
        s = dl_error_set(err, DL_EINPUT, path, 0, 0,
                         "key file is %s by group or others (mode %04o); run chmod 600 %s",
                         (st.st_mode & 044) ? "readable" : "writable",
                         (unsigned)(st.st_mode & 07777), path);
        goto done;
    }
    for (;;) {
        ssize_t got = read(fd, text + n, sizeof text - n);
        if (got < 0) {
            if (errno == EINTR)
                continue;
            s = dl_error_os(err, DL_EIO, errno, path, "cannot read key file");
            goto done;
        }
        if (got == 0)
            break;
        n += (size_t)got;
        if (n == sizeof text)
            break;
    }
    k = key_alloc();
    if (!k) {
        s = dl_error_os(err, DL_ENOMEM, errno, path, "cannot allocate key memory");
        goto done;
    }
    s = parse_key_text(path, text, n, k, err);
    if (s == DL_OK) {
        *out = k;
        k = NULL;
    }
done:
    OPENSSL_cleanse(text, sizeof text);
    dl_key_free(k);
    close(fd);
    return s;
}

dl_status dl_key_save(const dl_key *k, const char *path, bool force, dl_error *err)
{
    struct stat st;
    if (!force && lstat(path, &st) == 0)
        return dl_error_set(err, DL_EUSAGE, path, 0, 0,
                            "file exists already; refusing to overwrite it (use --force)");
    dl_outfile *f;
    dl_status s = dl_outfile_create(path, 0600, &f, err);
    if (s != DL_OK)
        return s;
    if (!force)
        dl_outfile_no_replace(f);
    char text[2 * DL_KEY_BYTES + 2];
    dl_hex_encode(k->bytes, DL_KEY_BYTES, text);
    text[2 * DL_KEY_BYTES] = '\n';
    s = dl_outfile_write(f, text, 2 * DL_KEY_BYTES + 1, err);
    OPENSSL_cleanse(text, sizeof text);
    if (s != DL_OK) {
        dl_outfile_abort(f);
        return s;
    }
    /* The outfile wipes its buffer when it is freed. */
    return dl_outfile_commit(f, NULL, err);
}

void dl_key_fingerprint(const dl_key *k, char out[17])
{
    dl_hmac_key hk;
    uint8_t mac[32];
    dl_hmac_init(&hk, k->bytes, DL_KEY_BYTES);
    dl_hmac(&hk, FINGERPRINT_LABEL, strlen(FINGERPRINT_LABEL), mac);
    dl_hex_encode(mac, 8, out);
    dl_hmac_key_cleanse(&hk);
    OPENSSL_cleanse(mac, sizeof mac);
}

void dl_key_derive(const dl_key *k, const char *label, uint8_t out[32])
{
    bool ok = dl_hkdf_sha256((const uint8_t *)HKDF_SALT, strlen(HKDF_SALT), k->bytes,
                             DL_KEY_BYTES, (const uint8_t *)label, strlen(label), out, 32);
    (void)ok; /* 32 bytes is always within HKDF's limit */
}

void dl_key_hmac(const dl_key *k, const char *label, dl_hmac_key *out)
{
    uint8_t sub[32];
    dl_key_derive(k, label, sub);
    dl_hmac_init(out, sub, sizeof sub);
    OPENSSL_cleanse(sub, sizeof sub);
}
