/* test_manifest.c: writing, loading and verifying manifests (common/manifest.c). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_config.h"
#include "dolen/manifest.h"
#include "dolen/sha256.h"
#include "test_util.h"

static char *dir;

static void setup(void)
{
    dir = tu_tmpdir();
    setenv("SOURCE_DATE_EPOCH", "1700000000", 1);
}

static void teardown(void)
{
    tu_rmtree(dir);
    free(dir);
}

TestSuite(manifest, .init = setup, .fini = teardown);

static const char SPEC[] = "ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef0123456789";

/* Write NAME in DIR with TEXT through an outfile; INFO gets its checksum. */
static void output(const char *name, const char *text, dl_outfile_info *info)
{
    char *p = tu_join(dir, name);
    dl_outfile *f;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_outfile_create(p, 0644, &f, &e), DL_OK);
    cr_assert_eq(dl_outfile_write(f, text, strlen(text), &e), DL_OK);
    cr_assert_eq(dl_outfile_commit(f, info, &e), DL_OK);
    free(p);
}

static dl_status extra_fn(dl_json_writer *w, dl_error *err, void *payload)
{
    dl_jw_object(w);
    dl_jw_key(w, "pairs");
    dl_jw_uint(w, *(uint64_t *)payload);
    dl_jw_object_end(w);
    return DL_OK;
}

static dl_manifest *sample(void)
{
    dl_manifest *m;
    dl_error e = DL_ERROR_INIT;
    dl_outfile_info ids, rej;
    output("A.ids.csv", "slf,tok\nx,1\n", &ids);
    output("A.rejects.csv", "line,column,reason\n3,2,bad date\n", &rej);
    cr_assert_eq(dl_manifest_new("prepare", &m, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_manifest_set_dataset(m, "A", &e), DL_OK);
    cr_assert_eq(dl_manifest_set_spec_hash(m, SPEC, &e), DL_OK);
    cr_assert_eq(dl_manifest_set_key_fingerprint(m, "00112233aabbccdd", &e), DL_OK);
    uint8_t in_sha[32];
    dl_sha256("raw", 3, in_sha);
    cr_assert_eq(dl_manifest_add_input(m, "raw.csv", 2, in_sha, &e), DL_OK);
    cr_assert_eq(dl_manifest_add_input(m, "-", 0, NULL, &e), DL_OK);
    cr_assert_eq(dl_manifest_add_output(m, "A.ids.csv", 1, &ids, &e), DL_OK);
    cr_assert_eq(dl_manifest_add_output(m, "A.rejects.csv", DL_MANIFEST_NO_ROWS, &rej, &e),
                 DL_OK);
    cr_assert_eq(dl_manifest_set_accounting(m, 2, 1, 1, &e), DL_OK);
    const char *profile = "{\"fields\": [{\"name\": \"surname\", \"completeness\": 0.5}]}";
    cr_assert_eq(dl_manifest_set_extra(m, "profile", profile, strlen(profile), &e), DL_OK);
    static uint64_t pairs = 42;
    cr_assert_eq(dl_manifest_set_extra_fn(m, "link", extra_fn, &pairs, &e), DL_OK);
    return m;
}

Test(manifest, write_gives_exact_bytes)
{
    dl_manifest *m = sample();
    char *p = tu_join(dir, "A.manifest.json");
    dl_error e = DL_ERROR_INIT;
    dl_outfile_info info;
    cr_assert_eq(dl_manifest_write(m, p, &info, &e), DL_OK, "%s", e.msg);
    size_t n;
    char *text = tu_read(p, &n);
    cr_assert_eq(info.bytes, n);
    char ids_hex[65], rej_hex[65], raw_hex[65];
    uint8_t h[32];
    dl_sha256("slf,tok\nx,1\n", 12, h);
    dl_sha256_hex(h, ids_hex);
    dl_sha256("line,column,reason\n3,2,bad date\n", 32, h);
    dl_sha256_hex(h, rej_hex);
    dl_sha256("raw", 3, h);
    dl_sha256_hex(h, raw_hex);
    char want[4096];
    snprintf(want, sizeof want,
             "{\n"
             "  \"format\": \"dolen-manifest\",\n"
             "  \"format_version\": 1,\n"
             "  \"tool\": \"dolen\",\n"
             "  \"tool_version\": \"%s\",\n"
             "  \"command\": \"prepare\",\n"
             "  \"dataset\": \"A\",\n"
             "  \"created_utc\": \"2023-11-14T22:13:20Z\",\n"
             "  \"spec_sha256\": \"abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\",\n"
             "  \"key_fingerprint\": \"00112233aabbccdd\",\n"
             "  \"inputs\": [\n"
             "    {\n"
             "      \"name\": \"raw.csv\",\n"
             "      \"sha256\": \"%s\",\n"
             "      \"rows_read\": 2\n"
             "    },\n"
             "    {\n"
             "      \"name\": \"-\",\n"
             "      \"sha256\": null,\n"
             "      \"rows_read\": 0\n"
             "    }\n"
             "  ],\n"
             "  \"outputs\": [\n"
             "    {\n"
             "      \"name\": \"A.ids.csv\",\n"
             "      \"rows\": 1,\n"
             "      \"bytes\": 12,\n"
             "      \"sha256\": \"%s\"\n"
             "    },\n"
             "    {\n"
             "      \"name\": \"A.rejects.csv\",\n"
             "      \"rows\": null,\n"
             "      \"bytes\": 32,\n"
             "      \"sha256\": \"%s\"\n"
             "    }\n"
             "  ],\n"
             "  \"accounting\": {\n"
             "    \"rows_read\": 2,\n"
             "    \"rows_written\": 1,\n"
             "    \"rows_rejected\": 1\n"
             "  },\n"
             "  \"extra\": {\n"
             "    \"profile\": {\n"
             "      \"fields\": [\n"
             "        {\n"
             "          \"name\": \"surname\",\n"
             "          \"completeness\": 0.5\n"
             "        }\n"
             "      ]\n"
             "    },\n"
             "    \"link\": {\n"
             "      \"pairs\": 42\n"
             "    }\n"
             "  }\n"
             "}\n",
             DL_VERSION, raw_hex, ids_hex, rej_hex);
    cr_assert_str_eq(text, want);
    free(text);
    free(p);
    dl_manifest_free(m);
}

Test(manifest, load_reads_back_and_verifies)
{
    dl_manifest *m = sample(), *back;
    char *p = tu_join(dir, "A.manifest.json");
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_write(m, p, NULL, &e), DL_OK, "%s", e.msg);
    cr_assert_eq(dl_manifest_load(p, &back, &e), DL_OK, "%s", e.msg);
    cr_assert_str_eq(dl_manifest_command(back), "prepare");
    cr_assert_str_eq(dl_manifest_tool_version(back), DL_VERSION);
    cr_assert_str_eq(dl_manifest_dataset(back), "A");
    cr_assert_str_eq(dl_manifest_created(back), "2023-11-14T22:13:20Z");
    cr_assert_str_eq(dl_manifest_spec_hash(back), dl_manifest_spec_hash(m));
    cr_assert_str_eq(dl_manifest_key_fingerprint(back), "00112233aabbccdd");
    cr_assert_eq(dl_manifest_n_inputs(back), 2);
    cr_assert(dl_manifest_input_at(back, 0)->has_sha256);
    cr_assert_not(dl_manifest_input_at(back, 1)->has_sha256);
    cr_assert_eq(dl_manifest_n_outputs(back), 2);
    const dl_manifest_output *o = dl_manifest_output_at(back, 1);
    cr_assert_str_eq(o->name, "A.rejects.csv");
    cr_assert_eq(o->rows, DL_MANIFEST_NO_ROWS);
    cr_assert_eq(o->bytes, 32);
    cr_assert_null(dl_manifest_output_at(back, 2));
    uint64_t r, w, j;
    cr_assert(dl_manifest_accounting(back, &r, &w, &j));
    cr_assert(r == 2 && w == 1 && j == 1);
    uint64_t pairs;
    cr_assert(dl_json_uint64(dl_json_get(dl_manifest_extra(back, "link"), "pairs"), &pairs));
    cr_assert_eq(pairs, 42);
    cr_assert_not_null(dl_manifest_extra(m, "profile"));
    cr_assert_null(dl_manifest_extra(m, "link"), "callback sections have no tree");
    cr_assert_eq(dl_manifest_verify(back, &e), DL_OK, "%s", e.msg);
    /* Writing a loaded manifest again gives the same bytes. */
    char *p2 = tu_join(dir, "again.json");
    cr_assert_eq(dl_manifest_write(back, p2, NULL, &e), DL_OK, "%s", e.msg);
    char *t1 = tu_read(p, NULL), *t2 = tu_read(p2, NULL);
    cr_assert_str_eq(t1, t2);
    free(t1);
    free(t2);
    free(p2);
    dl_manifest_free(back);
    dl_manifest_free(m);
    free(p);
}

Test(manifest, verify_reports_changed_and_missing_files)
{
    dl_manifest *m = sample(), *back;
    char *p = tu_join(dir, "A.manifest.json");
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_write(m, p, NULL, &e), DL_OK);
    cr_assert_eq(dl_manifest_load(p, &back, &e), DL_OK);
    char *ids = tu_join(dir, "A.ids.csv");
    tu_write_str(ids, "slf,tok\nx,2\n"); /* same size, other bytes */
    cr_assert_eq(dl_manifest_verify(back, &e), DL_EINPUT);
    cr_assert_str_eq(e.file, ids);
    cr_assert(strstr(e.msg, "SHA-256 differs"), "%s", e.msg);
    tu_write_str(ids, "slf,tok\n");
    cr_assert_eq(dl_manifest_verify(back, &e), DL_EINPUT);
    cr_assert(strstr(e.msg, "has 8 bytes but the manifest says 12"), "%s", e.msg);
    remove(ids);
    cr_assert_eq(dl_manifest_verify(back, &e), DL_EIO);
    cr_assert_eq(e.os_errno, ENOENT);
    cr_assert_str_eq(e.file, ids);
    cr_assert(strstr(e.msg, "missing"), "%s", e.msg);
    free(ids);
    free(p);
    dl_manifest_free(back);
    dl_manifest_free(m);
}

Test(manifest, accounting_must_add_up)
{
    dl_manifest *m;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_new("prepare", &m, &e), DL_OK);
    cr_assert_eq(dl_manifest_set_accounting(m, 10, 7, 2, &e), DL_EINTERNAL);
    cr_assert(strstr(e.msg, "10 rows read, but 7 written + 2 rejected"), "%s", e.msg);
    char *p = tu_join(dir, "m.json");
    dl_error e2 = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_write(m, p, NULL, &e2), DL_EINTERNAL);
    cr_assert_str_eq(e2.msg, e.msg);
    cr_assert_null(tu_read(p, NULL), "nothing written");
    /* A sum that wraps around 2^64 is no escape. */
    cr_assert_eq(dl_manifest_set_accounting(m, 1, UINT64_MAX, 2, &e), DL_EINTERNAL);
    cr_assert_eq(dl_manifest_set_accounting(m, 10, 8, 2, &e), DL_OK);
    cr_assert_eq(dl_manifest_write(m, p, NULL, &e), DL_OK);
    free(p);
    dl_manifest_free(m);
}

Test(manifest, setters_refuse_bad_values)
{
    dl_manifest *m;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_new("link", &m, &e), DL_OK);
    cr_assert_eq(dl_manifest_set_spec_hash(m, "abc", &e), DL_EUSAGE);
    cr_assert_eq(dl_manifest_set_key_fingerprint(m, "00112233aabbccdz", &e), DL_EUSAGE);
    dl_outfile_info info = {0};
    cr_assert_eq(dl_manifest_add_output(m, "../x.csv", 1, &info, &e), DL_EUSAGE);
    cr_assert_eq(dl_manifest_add_output(m, "/tmp/x.csv", 1, &info, &e), DL_EUSAGE);
    cr_assert_eq(dl_manifest_add_output(m, "a//b", 1, &info, &e), DL_EUSAGE);
    cr_assert_eq(dl_manifest_add_output(m, "sub/x.csv", 1, &info, &e), DL_OK);
    cr_assert_eq(dl_manifest_set_extra(m, "x", "{", 1, &e), DL_EINPUT);
    cr_assert_eq(e.col, 2);
    cr_assert_eq(dl_manifest_set_extra(m, "x", "1", 1, &e), DL_OK);
    cr_assert_eq(dl_manifest_set_extra(m, "x", "2", 1, &e), DL_EUSAGE);
    dl_manifest_free(m);
    dl_manifest_free(NULL);
}

Test(manifest, bad_source_date_epoch)
{
    dl_manifest *m = (dl_manifest *)1;
    dl_error e = DL_ERROR_INIT;
    setenv("SOURCE_DATE_EPOCH", "12x", 1);
    cr_assert_eq(dl_manifest_new("prepare", &m, &e), DL_EUSAGE);
    cr_assert_null(m);
    cr_assert(strstr(e.msg, "SOURCE_DATE_EPOCH"));
    unsetenv("SOURCE_DATE_EPOCH");
    cr_assert_eq(dl_manifest_new("prepare", &m, &e), DL_OK);
    cr_assert_eq(strlen(dl_manifest_created(m)), 20);
    dl_manifest_set_created(m, 86400);
    cr_assert_str_eq(dl_manifest_created(m), "1970-01-02T00:00:00Z");
    dl_manifest_free(m);
}

/* Load TEXT as a manifest; expect DL_EINPUT at LINE:COL with NEEDLE. */
static void load_bad(const char *text, uint64_t line, uint64_t col, const char *needle)
{
    char *p = tu_join(dir, "bad.json");
    tu_write_str(p, text);
    dl_manifest *m = (dl_manifest *)1;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_load(p, &m, &e), DL_EINPUT, "accepted: %s", text);
    cr_assert_null(m);
    cr_assert_str_eq(e.file, p);
    cr_assert(e.line == line && e.col == col, "at %llu:%llu, expected %llu:%llu (%s)",
              (unsigned long long)e.line, (unsigned long long)e.col, (unsigned long long)line,
              (unsigned long long)col, e.msg);
    cr_assert(strstr(e.msg, needle), "message '%s' lacks '%s'", e.msg, needle);
    free(p);
}

#define HEAD "{\"format\": \"dolen-manifest\", \"format_version\": 1,\n"
#define FIELDS                                                                              \
    "\"tool_version\": \"0\", \"command\": \"prepare\", \"dataset\": null,\n"                \
    "\"created_utc\": null, \"spec_sha256\": null, \"key_fingerprint\": null,\n"

Test(manifest, load_errors)
{
    load_bad("[]", 1, 1, "a manifest is a JSON object");
    load_bad("{\"format\": \"other\"}", 1, 12, "not a dolen manifest");
    load_bad("{\"format\": \"dolen-manifest\", \"format_version\": 2}", 1, 48,
             "a newer dolen wrote it");
    load_bad("{\"format\": \"dolen-manifest\", \"format_version\": \"1\"}", 1, 48,
             "expected number, found string");
    load_bad("{\"format\": \"dolen-manifest\"}", 1, 1, "lacks the field \"format_version\"");
    load_bad(HEAD FIELDS "\"inputs\": [], \"outputs\": [{\"name\": \"../x\", \"rows\": 1, "
                         "\"bytes\": 1, \"sha256\": "
                         "\"0000000000000000000000000000000000000000000000000000000000000000\"}],"
                         "\n\"accounting\": null, \"extra\": {}}",
             4, 36, "relative to the manifest's folder");
    load_bad(HEAD FIELDS "\"inputs\": [], \"outputs\": [{\"name\": \"x\", \"rows\": 1, "
                         "\"bytes\": 1, \"sha256\": \"00\"}],\n"
                         "\"accounting\": null, \"extra\": {}}",
             4, 74, "64 hex digits");
    load_bad(HEAD FIELDS "\"inputs\": [], \"outputs\": [],\n"
                         "\"accounting\": {\"rows_read\": 5, \"rows_written\": 3, "
                         "\"rows_rejected\": 1}, \"extra\": {}}",
             5, 15, "5 rows read, but 3 written + 1 rejected");
    load_bad(HEAD FIELDS "\"inputs\": [], \"outputs\": [],\n"
                         "\"accounting\": null, \"extra\": {}, \"extra\": {}}",
             5, 34, "duplicate key");
    load_bad(HEAD FIELDS "\"inputs\": [], \"outputs\": [],\n"
                         "\"accounting\": {\"rows_read\": -1, \"rows_written\": 0, "
                         "\"rows_rejected\": 0}, \"extra\": {}}",
             5, 29, "whole number");
}

Test(manifest, load_missing_file)
{
    char *p = tu_join(dir, "none.json");
    dl_manifest *m;
    dl_error e = DL_ERROR_INIT;
    cr_assert_eq(dl_manifest_load(p, &m, &e), DL_EIO);
    cr_assert_str_eq(e.file, p);
    free(p);
}
