/* fuzz_ids.c: fuzz target for the ids-file loader of `dolen link` (hex
 * tokens, base64 filters, SLFs, gzip or plain). Part of tests/fuzz/; these
 * files come from custodians, so the linkage unit parses untrusted bytes.
 * Each input is written as an ids file with a manifest that matches it
 * (checksum, bytes, a row count from its newlines), so mutations get past
 * the manifest checks and into the row decoding (and the gzip reader); a store that loads is then
 * compared pair by pair, which reads every decoded column. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "dolen/manifest.h"
#include "dolen/sha256.h"
#include "linkage/link_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* tests/data/store/tiny.yaml: two fields, tokens, a token set, a 64-bit
 * filter; the seeds in corpus/ids/ are files of this spec. */
static dl_spec *spec;
static char dir[64], ids[128], man[128];

static int setup(void)
{
    dl_error e = DL_ERROR_INIT;
    if (dl_spec_load(DL_FUZZ_SOURCE_ROOT "/tests/data/store/tiny.yaml", &spec, &e) != DL_OK)
        return -1;
    strcpy(dir, "/tmp/dolen-fuzz-ids-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(ids, sizeof ids, "%s/f.ids.csv.gz", dir);
    snprintf(man, sizeof man, "%s/f.manifest.json", dir);
    return 0;
}

static void cleanup(void)
{
    unlink(ids);
    unlink(man);
    rmdir(dir);
}

/* Newlines in DATA, inflated first when it is gzip (members concatenated),
 * so that a gzip seed's manifest lists its rows and the rows get parsed. */
static uint64_t count_newlines(const uint8_t *data, size_t size)
{
    uint64_t n = 0;
    if (size < 2 || data[0] != 0x1f || data[1] != 0x8b) {
        for (size_t i = 0; i < size; i++)
            n += data[i] == '\n';
        return n;
    }
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
        return 0;
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)size;
    unsigned char out[4096];
    for (;;) {
        z.next_out = out;
        z.avail_out = sizeof out;
        int rc = inflate(&z, Z_NO_FLUSH);
        for (size_t i = 0; i < sizeof out - z.avail_out; i++)
            n += out[i] == '\n';
        if (rc == Z_STREAM_END && z.avail_in > 0 && inflateReset(&z) == Z_OK)
            continue;
        if (rc != Z_OK)
            break;
    }
    inflateEnd(&z);
    return n;
}

static int write_inputs(const uint8_t *data, size_t size)
{
    FILE *f = fopen(ids, "wb");
    if (!f)
        return -1;
    int bad = fwrite(data, 1, size, f) != size;
    bad |= fclose(f) != 0;
    if (bad)
        return -1;
    /* Rows = lines after the header: right for plain seeds without quoted
     * newlines; otherwise the loader's row-count check is what gets fuzzed. */
    uint64_t rows = count_newlines(data, size);
    rows -= rows > 0;

    dl_error e = DL_ERROR_INIT;
    dl_outfile_info info;
    dl_manifest *m = NULL;
    char hash[65];
    int rc = -1;
    if (dl_sha256_file_size(ids, info.sha256, &info.bytes, &e) == DL_OK &&
        dl_manifest_new("prepare", &m, &e) == DL_OK &&
        dl_manifest_set_dataset(m, "f", &e) == DL_OK &&
        dl_manifest_set_spec_hash(m, dl_spec_hash_hex(spec, hash), &e) == DL_OK &&
        dl_manifest_set_key_fingerprint(m, "0123456789abcdef", &e) == DL_OK &&
        dl_manifest_add_output(m, "f.ids.csv.gz", rows, &info, &e) == DL_OK &&
        dl_manifest_set_accounting(m, rows, rows, 0, &e) == DL_OK &&
        dl_manifest_write(m, man, NULL, &e) == DL_OK)
        rc = 0;
    dl_manifest_free(m);
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!spec) {
        if (setup() != 0)
            return 0;
        atexit(cleanup);
    }
    if (write_inputs(data, size) != 0)
        return 0;
    dl_error err = DL_ERROR_INIT;
    dl_store *s = NULL;
    const char *paths[] = {ids};
    if (dl__store_load(spec, 1, paths, NULL, NULL, &s, &err) == DL_OK) {
        dl_comparator *c = NULL;
        if (dl__comparator_new(spec, s, &c, &err) == DL_OK) {
            /* Every pattern is a valid index: a decoding slip would show as
             * an out-of-range level here or as a sanitizer report. */
            uint64_t np = dl__comparator_n_patterns(c);
            size_t n = s->n < 64 ? s->n : 64;
            for (size_t i = 0; i < n; i++)
                for (size_t j = i + 1; j < n; j++)
                    if (dl__compare(c, (uint32_t)i, (uint32_t)j) >= np)
                        abort();
        }
        dl__comparator_free(c);
    }
    dl__store_free(s);
    return 0;
}
