/* test_key.c: key files, generation, fingerprints and HKDF subkeys
 * (hashing/key.c), and the `dolen keygen` command. */
#include <criterion/criterion.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dolen/hexb64.h"
#include "dolen/key.h"
#include "test_util.h"

static const char KEY_HEX[] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

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

TestSuite(key, .init = setup, .fini = teardown);

/* Write TEXT to DIR/NAME with MODE; returns the malloc'd path. */
static char *key_file(const char *name, const char *text, mode_t mode)
{
    char *p = tu_join(dir, name);
    tu_write_str(p, text);
    cr_assert_eq(chmod(p, mode), 0);
    return p;
}

static dl_key *test_key(void)
{
    uint8_t b[32];
    cr_assert(dl_hex_decode(KEY_HEX, 64, b, NULL));
    dl_key *k;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_from_bytes(b, 32, &k, &e), DL_OK);
    return k;
}

Test(key, fingerprint_is_hmac_of_label)
{
    uint8_t b[32], mac[32];
    unsigned n;
    cr_assert(dl_hex_decode(KEY_HEX, 64, b, NULL));
    HMAC(EVP_sha256(), b, 32, (const uint8_t *)"dolen fingerprint v1", 20, mac, &n);
    char want[17];
    dl_hex_encode(mac, 8, want);
    dl_key *k = test_key();
    char fp[17];
    dl_key_fingerprint(k, fp);
    cr_assert_str_eq(fp, want);
    cr_assert_eq(strlen(fp), 16);
    dl_key_free(k);
}

/* dl_key_derive against OpenSSL's own HKDF (EVP_KDF "HKDF"). */
Test(key, derive_matches_openssl_hkdf)
{
    uint8_t b[32], want[32], got[32];
    cr_assert(dl_hex_decode(KEY_HEX, 64, b, NULL));
    EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
    cr_assert_not_null(kdf);
    EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(kdf);
    char digest[] = "SHA256", salt[] = "dolen v1", info[] = "token/surname";
    OSSL_PARAM params[] = {
        OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, b, 32),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, salt, strlen(salt)),
        OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, info, strlen(info)),
        OSSL_PARAM_construct_end(),
    };
    cr_assert_eq(EVP_KDF_derive(ctx, want, sizeof want, params), 1);
    EVP_KDF_CTX_free(ctx);
    EVP_KDF_free(kdf);
    dl_key *k = test_key();
    dl_key_derive(k, "token/surname", got);
    cr_assert(memcmp(got, want, 32) == 0);
    uint8_t other[32];
    dl_key_derive(k, "token/given_name", other);
    cr_assert(memcmp(got, other, 32) != 0, "labels give different subkeys");
    /* dl_key_hmac is HMAC under the derived subkey. */
    dl_hmac_key hk, ref;
    dl_key_hmac(k, "token/surname", &hk);
    dl_hmac_init(&ref, got, 32);
    cr_assert_eq(dl_hmac_token(&hk, "JONES", 5), dl_hmac_token(&ref, "JONES", 5));
    dl_hmac_key_cleanse(&hk);
    dl_hmac_key_cleanse(&ref);
    dl_key_free(k);
}

Test(key, from_bytes_wrong_length)
{
    uint8_t b[31] = {0};
    dl_key *k = (dl_key *)1;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_from_bytes(b, 31, &k, &e), DL_EUSAGE);
    cr_assert_null(k);
    dl_key_free(NULL);
}

Test(key, generate_gives_different_keys)
{
    dl_key *a, *b;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_generate(&a, &e), DL_OK);
    cr_assert_eq(dl_key_generate(&b, &e), DL_OK);
    char fa[17], fb[17];
    dl_key_fingerprint(a, fa);
    dl_key_fingerprint(b, fb);
    cr_assert_str_neq(fa, fb);
    dl_key_free(a);
    dl_key_free(b);
}

Test(key, save_then_load_round_trip_mode_0600)
{
    dl_key *k = test_key(), *back;
    dl_error e = DL_ERROR_INIT;
    char *p = tu_join(dir, "k.key");
    cr_assert_eq(dl_key_save(k, p, false, &e), DL_OK, "%s", e.msg);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    char *text = tu_read(p, NULL);
    cr_assert_str_eq(text, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n");
    cr_assert_eq(dl_key_load(p, &back, &e), DL_OK, "%s", e.msg);
    char f1[17], f2[17];
    dl_key_fingerprint(k, f1);
    dl_key_fingerprint(back, f2);
    cr_assert_str_eq(f1, f2);
    dl_key_free(back);
    dl_key_free(k);
    free(text);
    free(p);
}

Test(key, save_refuses_existing_file_without_force)
{
    dl_key *k = test_key();
    dl_error e = DL_ERROR_INIT;
    char *p = key_file("old.key", "keep me\n", 0600);
    cr_assert_eq(dl_key_save(k, p, false, &e), DL_EUSAGE);
    cr_assert_str_eq(e.file, p);
    cr_assert(strstr(e.msg, "--force"));
    char *text = tu_read(p, NULL);
    cr_assert_str_eq(text, "keep me\n");
    free(text);
    cr_assert_eq(dl_key_save(k, p, true, &e), DL_OK);
    text = tu_read(p, NULL);
    cr_assert_eq(strlen(text), 65);
    free(text);
    free(p);
    dl_key_free(k);
}

Test(key, load_accepts_variants)
{
    const char *texts[] = {
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
        "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\r\n",
    };
    dl_key *ref = test_key();
    char want[17];
    dl_key_fingerprint(ref, want);
    dl_key_free(ref);
    for (int i = 0; i < 3; i++) {
        char name[16];
        snprintf(name, sizeof name, "v%d.key", i);
        char *p = key_file(name, texts[i], 0600);
        dl_key *k;
        dl_error e = DL_ERROR_INIT;
        cr_assert_eq(dl_key_load(p, &k, &e), DL_OK, "variant %d: %s", i, e.msg);
        char fp[17];
        dl_key_fingerprint(k, fp);
        cr_assert_str_eq(fp, want);
        dl_key_free(k);
        free(p);
    }
}

/* Load TEXT (mode MODE) and expect CODE at LINE:COL with NEEDLE in the message. */
static void load_bad(const char *text, mode_t mode, dl_status code, uint64_t line, uint64_t col,
                     const char *needle)
{
    char *p = key_file("bad.key", text, mode);
    dl_key *k = (dl_key *)1;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_load(p, &k, &e), code, "got %s: %s", dl_status_name(e.code), e.msg);
    cr_assert_null(k);
    cr_assert_str_eq(e.file, p);
    cr_assert_eq(e.line, line, "line %llu", (unsigned long long)e.line);
    cr_assert_eq(e.col, col, "col %llu", (unsigned long long)e.col);
    cr_assert(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
    /* Never echo key material: no run of 6 characters of the file. */
    for (size_t i = 0; i + 6 <= strlen(text); i++) {
        char piece[7];
        memcpy(piece, text + i, 6);
        piece[6] = '\0';
        if (!strchr(piece, '\n'))
            cr_assert_null(strstr(e.msg, piece), "message echoes key text: %s", e.msg);
    }
    free(p);
}

Test(key, load_refuses_group_readable_file)
{
    char *p = key_file("open.key", KEY_HEX, 0644);
    dl_key *k;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_load(p, &k, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "readable by group or others (mode 0644)"), "%s", e.msg);
    cr_assert(strstr(e.msg, "chmod 600"));
    cr_assert_eq(e.line, 0);
    free(p);
    load_bad(KEY_HEX, 0620, DL_EINPUT, 0, 0, "writable by group or others (mode 0620)");
    load_bad(KEY_HEX, 0604, DL_EINPUT, 0, 0, "readable");
}

Test(key, load_refuses_non_hex)
{
    load_bad("0001z20304050607080900000000000000000000000000000000000000000000\n", 0600,
             DL_EINPUT, 1, 5, "not a hex digit");
    load_bad("g001020304050607080900000000000000000000000000000000000000000000\n", 0600,
             DL_EINPUT, 1, 1, "not a hex digit");
    load_bad(" 001020304050607080900000000000000000000000000000000000000000000\n", 0600,
             DL_EINPUT, 1, 1, "not a hex digit");
}

Test(key, load_refuses_wrong_length)
{
    load_bad("00010203040506070809", 0600, DL_EINPUT, 1, 21, "too short: 20 hex digits");
    load_bad("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n", 0600,
             DL_EINPUT, 1, 64, "too short: 63");
    load_bad("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f0\n", 0600,
             DL_EINPUT, 1, 65, "too long");
    load_bad("", 0600, DL_EINPUT, 1, 1, "empty");
    load_bad("\n", 0600, DL_EINPUT, 1, 1, "too short: 0");
}

Test(key, load_refuses_second_line)
{
    load_bad("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\nxx\n", 0600,
             DL_EINPUT, 2, 1, "after the key line");
    load_bad("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\n", 0600,
             DL_EINPUT, 2, 1, "after the key line");
}

Test(key, load_missing_file_and_folder)
{
    char *p = tu_join(dir, "nope.key");
    dl_key *k;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_load(p, &k, &e), DL_EIO);
    cr_assert_str_eq(e.file, p);
    cr_assert(strstr(e.msg, "cannot open key file"));
    free(p);
    cr_assert_eq(chmod(dir, 0700), 0);
    cr_assert_eq(dl_key_load(dir, &k, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "not a regular file"), "%s", e.msg);
}

/* ---- dolen keygen ------------------------------------------------------ */

Test(key, keygen_writes_key_and_prints_its_fingerprint)
{
    char *p = tu_join(dir, "new.key");
    char *out = NULL, *err = NULL;
    const char *argv[] = {"keygen", "-o", p, NULL};
    cr_assert_eq(tu_dolen(argv, &out, &err), 0, "stderr: %s", err);
    struct stat st;
    cr_assert_eq(stat(p, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0600);
    dl_key *k;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_key_load(p, &k, &e), DL_OK, "%s", e.msg);
    char fp[17], want[40];
    dl_key_fingerprint(k, fp);
    snprintf(want, sizeof want, "fingerprint: %s\n", fp);
    cr_assert_str_eq(out, want);
    cr_assert_str_eq(err, "");
    /* The key itself appears nowhere in the output. */
    char *text = tu_read(p, NULL);
    text[64] = '\0';
    cr_assert_null(strstr(out, text));
    dl_key_free(k);
    free(text);
    free(out);
    free(err);
    free(p);
}

Test(key, keygen_refuses_overwrite_without_force)
{
    char *p = key_file("have.key", KEY_HEX, 0600);
    char *out = NULL, *err = NULL;
    const char *argv[] = {"keygen", "-o", p, NULL};
    cr_assert_eq(tu_dolen(argv, &out, &err), 1);
    cr_assert(strstr(err, "--force"), "%s", err);
    cr_assert_str_eq(out, "");
    char *text = tu_read(p, NULL);
    cr_assert_str_eq(text, KEY_HEX);
    free(text);
    free(out);
    free(err);
    const char *argv2[] = {"keygen", "--force", "-q", "-o", p, NULL};
    cr_assert_eq(tu_dolen(argv2, &out, &err), 0, "%s", err);
    cr_assert_str_eq(out, "", "-q prints nothing");
    text = tu_read(p, NULL);
    cr_assert_str_neq(text, KEY_HEX);
    free(text);
    free(out);
    free(err);
    free(p);
}

Test(key, keygen_usage_errors)
{
    char *err = NULL;
    const char *none[] = {"keygen", NULL};
    cr_assert_eq(tu_dolen(none, NULL, &err), 1);
    cr_assert(strstr(err, "missing -o FILE"), "%s", err);
    cr_assert(strstr(err, "see 'dolen keygen --help'"));
    free(err);
    const char *extra[] = {"keygen", "-o", "x.key", "y.key", NULL};
    cr_assert_eq(tu_dolen(extra, NULL, &err), 1);
    cr_assert(strstr(err, "unexpected argument 'y.key'"), "%s", err);
    free(err);
    const char *typo[] = {"keygen", "--forse", NULL};
    cr_assert_eq(tu_dolen(typo, NULL, &err), 1);
    cr_assert(strstr(err, "did you mean '--force'"), "%s", err);
    free(err);
}

Test(key, keygen_missing_folder_is_io_error)
{
    char *p = tu_join(dir, "no/such/folder/k.key");
    char *err = NULL;
    const char *argv[] = {"keygen", "-o", p, NULL};
    cr_assert_eq(tu_dolen(argv, NULL, &err), 3);
    cr_assert(strstr(err, "does not exist"), "%s", err);
    free(err);
    free(p);
}

Test(key, keygen_help)
{
    char *out = NULL;
    const char *argv[] = {"keygen", "--help", NULL};
    cr_assert_eq(tu_dolen(argv, &out, NULL), 0);
    cr_assert(strstr(out, "usage: dolen keygen -o FILE"));
    cr_assert(strstr(out, "examples:"));
    cr_assert(strstr(out, "exit:"));
    free(out);
}
