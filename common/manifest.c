/* manifest.c: building, writing, loading and verifying JSON manifests.
 * Part of common/; prepare writes one beside its outputs, link and extract
 * load them, check spec hash and key fingerprint agree, and verify files. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dl_config.h"
#include "dolen/arena.h"
#include "dolen/hexb64.h"
#include "dolen/manifest.h"
#include "dolen/sha256.h"

typedef struct extra {
    const char *key;
    dl_json_doc *doc;          /* parsed text, or NULL */
    dl_manifest_extra_fn fn;   /* or a callback */
    void *payload;
} extra;

struct dl_manifest {
    dl_arena *arena;            /* every string */
    const char *command, *tool_version, *created, *dataset, *spec_hash, *fingerprint;
    dl_manifest_input *inputs;
    size_t n_inputs, cap_inputs;
    dl_manifest_output *outputs;
    size_t n_outputs, cap_outputs;
    bool has_accounting;
    uint64_t rows_read, rows_written, rows_rejected;
    extra *extras;
    size_t n_extras, cap_extras;
    dl_json_doc *loaded;        /* the document a loaded manifest came from */
    const char *dir;            /* folder of the loaded file, "" if built */
};

static dl_status nomem(dl_error *err)
{
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory building a manifest");
}

/* Grow *ARR (of *CAP elements of SIZE bytes) to hold one more. */
static bool grow(void **arr, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t nc = *cap ? 2 * *cap : 8;
    if (nc > SIZE_MAX / size)
        return false;
    void *p = realloc(*arr, nc * size);
    if (!p)
        return false;
    *arr = p;
    *cap = nc;
    return true;
}

static void format_time(dl_arena *a, int64_t t, const char **out)
{
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[40];
    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        snprintf(buf, sizeof buf, "1970-01-01T00:00:00Z");
    *out = dl_arena_strdup(a, buf);
}

static dl_manifest *alloc_manifest(void)
{
    dl_manifest *m = calloc(1, sizeof *m);
    if (!m)
        return NULL;
    m->arena = dl_arena_new(16 * 1024);
    if (!m->arena) {
        free(m);
        return NULL;
    }
    m->dir = "";
    return m;
}

dl_status dl_manifest_new(const char *command, dl_manifest **out, dl_error *err)
{
    *out = NULL;
    int64_t when = (int64_t)time(NULL);
    const char *sde = getenv("SOURCE_DATE_EPOCH");
    if (sde && *sde) {
        char *end;
        errno = 0;
        long long v = strtoll(sde, &end, 10);
        if (errno || *end || v < 0 || *sde == '+' || *sde == ' ')
            return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                                "SOURCE_DATE_EPOCH is set but is not a whole number of seconds");
        when = v;
    }
    dl_manifest *m = alloc_manifest();
    if (!m)
        return nomem(err);
    m->command = dl_arena_strdup(m->arena, command);
    m->tool_version = dl_arena_strdup(m->arena, DL_VERSION);
    format_time(m->arena, when, &m->created);
    if (!m->command || !m->tool_version || !m->created) {
        dl_manifest_free(m);
        return nomem(err);
    }
    *out = m;
    return DL_OK;
}

void dl_manifest_set_created(dl_manifest *m, int64_t epoch_seconds)
{
    const char *s;
    format_time(m->arena, epoch_seconds, &s);
    if (s)
        m->created = s;
}

dl_status dl_manifest_set_dataset(dl_manifest *m, const char *name, dl_error *err)
{
    const char *s = dl_arena_strdup(m->arena, name);
    if (!s)
        return nomem(err);
    m->dataset = s;
    return DL_OK;
}

/* A lower-case copy of HEX if it is exactly DIGITS hex digits. */
static dl_status set_hex(dl_manifest *m, const char *hex, size_t digits, const char *what,
                         const char **dst, dl_error *err)
{
    size_t n = strlen(hex);
    uint8_t tmp[32];
    if (n != digits || !dl_hex_decode(hex, n, tmp, NULL))
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "%s must be %zu hex digits", what,
                            digits);
    char *s = dl_arena_alloc(m->arena, n + 1);
    if (!s)
        return nomem(err);
    dl_hex_encode(tmp, n / 2, s);
    *dst = s;
    return DL_OK;
}

dl_status dl_manifest_set_spec_hash(dl_manifest *m, const char *hex, dl_error *err)
{
    return set_hex(m, hex, 64, "a spec hash", &m->spec_hash, err);
}

dl_status dl_manifest_set_key_fingerprint(dl_manifest *m, const char *hex, dl_error *err)
{
    return set_hex(m, hex, 16, "a key fingerprint", &m->fingerprint, err);
}

dl_status dl_manifest_add_input(dl_manifest *m, const char *name, uint64_t rows_read,
                                const uint8_t *sha256, dl_error *err)
{
    if (!grow((void **)&m->inputs, &m->cap_inputs, m->n_inputs, sizeof *m->inputs))
        return nomem(err);
    dl_manifest_input *in = &m->inputs[m->n_inputs];
    memset(in, 0, sizeof *in);
    in->name = dl_arena_strdup(m->arena, name);
    if (!in->name)
        return nomem(err);
    if (sha256) {
        in->has_sha256 = true;
        memcpy(in->sha256, sha256, 32);
    }
    in->rows_read = rows_read;
    m->n_inputs++;
    return DL_OK;
}

/* An output name must stay inside the manifest's folder. */
static bool name_ok(const char *name)
{
    if (!*name || name[0] == '/')
        return false;
    for (const char *p = name;;) {
        const char *e = strchr(p, '/');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return false;
        if (!e)
            return true;
        p = e + 1;
    }
}

dl_status dl_manifest_add_output(dl_manifest *m, const char *name, uint64_t rows,
                                 const dl_outfile_info *info, dl_error *err)
{
    if (!name_ok(name))
        return dl_error_set(err, DL_EUSAGE, name, 0, 0,
                            "an output name must be relative to the manifest's folder "
                            "(no leading '/', no '.' or '..' parts)");
    if (!grow((void **)&m->outputs, &m->cap_outputs, m->n_outputs, sizeof *m->outputs))
        return nomem(err);
    dl_manifest_output *o = &m->outputs[m->n_outputs];
    o->name = dl_arena_strdup(m->arena, name);
    if (!o->name)
        return nomem(err);
    o->rows = rows;
    o->bytes = info->bytes;
    memcpy(o->sha256, info->sha256, 32);
    m->n_outputs++;
    return DL_OK;
}

static dl_status check_accounting(const dl_manifest *m, dl_error *err)
{
    /* The second test catches a sum that wraps around 2^64. */
    if (m->rows_read != m->rows_written + m->rows_rejected || m->rows_written > m->rows_read)
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0,
                            "row accounting does not add up: %" PRIu64 " rows read, but %" PRIu64
                            " written + %" PRIu64 " rejected",
                            m->rows_read, m->rows_written, m->rows_rejected);
    return DL_OK;
}

dl_status dl_manifest_set_accounting(dl_manifest *m, uint64_t rows_read, uint64_t rows_written,
                                     uint64_t rows_rejected, dl_error *err)
{
    m->has_accounting = true;
    m->rows_read = rows_read;
    m->rows_written = rows_written;
    m->rows_rejected = rows_rejected;
    return check_accounting(m, err);
}

static dl_status add_extra(dl_manifest *m, const char *key, extra *e, dl_error *err)
{
    for (size_t i = 0; i < m->n_extras; i++)
        if (strcmp(m->extras[i].key, key) == 0)
            return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                                "manifest extra section '%s' is set twice", key);
    if (!grow((void **)&m->extras, &m->cap_extras, m->n_extras, sizeof *m->extras))
        return nomem(err);
    e->key = dl_arena_strdup(m->arena, key);
    if (!e->key)
        return nomem(err);
    m->extras[m->n_extras++] = *e;
    return DL_OK;
}

dl_status dl_manifest_set_extra(dl_manifest *m, const char *key, const char *json, size_t len,
                                dl_error *err)
{
    extra e = {0};
    dl_status s = dl_json_parse(json, len, NULL, &e.doc, err);
    if (s != DL_OK)
        return s;
    s = add_extra(m, key, &e, err);
    if (s != DL_OK)
        dl_json_doc_free(e.doc);
    return s;
}

dl_status dl_manifest_set_extra_fn(dl_manifest *m, const char *key, dl_manifest_extra_fn fn,
                                   void *payload, dl_error *err)
{
    extra e = {.fn = fn, .payload = payload};
    return add_extra(m, key, &e, err);
}

static void jw_opt_string(dl_json_writer *w, const char *key, const char *v)
{
    dl_jw_key(w, key);
    if (v)
        dl_jw_string(w, v);
    else
        dl_jw_null(w);
}

static void jw_sha(dl_json_writer *w, const uint8_t sha[32])
{
    char hex[65];
    dl_sha256_hex(sha, hex);
    dl_jw_string(w, hex);
}

dl_status dl_manifest_to_json(const dl_manifest *m, dl_buf *out, dl_error *err)
{
    if (m->has_accounting) {
        dl_status s = check_accounting(m, err);
        if (s != DL_OK)
            return s;
    }
    dl_json_writer w;
    dl_jw_init(&w, out);
    dl_jw_object(&w);
    dl_jw_key(&w, "format");
    dl_jw_string(&w, DL_MANIFEST_FORMAT);
    dl_jw_key(&w, "format_version");
    dl_jw_uint(&w, DL_MANIFEST_FORMAT_VERSION);
    dl_jw_key(&w, "tool");
    dl_jw_string(&w, "dolen");
    jw_opt_string(&w, "tool_version", m->tool_version);
    jw_opt_string(&w, "command", m->command);
    jw_opt_string(&w, "dataset", m->dataset);
    jw_opt_string(&w, "created_utc", m->created);
    jw_opt_string(&w, "spec_sha256", m->spec_hash);
    jw_opt_string(&w, "key_fingerprint", m->fingerprint);
    dl_jw_key(&w, "inputs");
    dl_jw_array(&w);
    for (size_t i = 0; i < m->n_inputs; i++) {
        const dl_manifest_input *in = &m->inputs[i];
        dl_jw_object(&w);
        dl_jw_key(&w, "name");
        dl_jw_string(&w, in->name);
        dl_jw_key(&w, "sha256");
        if (in->has_sha256)
            jw_sha(&w, in->sha256);
        else
            dl_jw_null(&w);
        dl_jw_key(&w, "rows_read");
        dl_jw_uint(&w, in->rows_read);
        dl_jw_object_end(&w);
    }
    dl_jw_array_end(&w);
    dl_jw_key(&w, "outputs");
    dl_jw_array(&w);
    for (size_t i = 0; i < m->n_outputs; i++) {
        const dl_manifest_output *o = &m->outputs[i];
        dl_jw_object(&w);
        dl_jw_key(&w, "name");
        dl_jw_string(&w, o->name);
        dl_jw_key(&w, "rows");
        if (o->rows == DL_MANIFEST_NO_ROWS)
            dl_jw_null(&w);
        else
            dl_jw_uint(&w, o->rows);
        dl_jw_key(&w, "bytes");
        dl_jw_uint(&w, o->bytes);
        dl_jw_key(&w, "sha256");
        jw_sha(&w, o->sha256);
        dl_jw_object_end(&w);
    }
    dl_jw_array_end(&w);
    dl_jw_key(&w, "accounting");
    if (m->has_accounting) {
        dl_jw_object(&w);
        dl_jw_key(&w, "rows_read");
        dl_jw_uint(&w, m->rows_read);
        dl_jw_key(&w, "rows_written");
        dl_jw_uint(&w, m->rows_written);
        dl_jw_key(&w, "rows_rejected");
        dl_jw_uint(&w, m->rows_rejected);
        dl_jw_object_end(&w);
    } else {
        dl_jw_null(&w);
    }
    dl_jw_key(&w, "extra");
    dl_jw_object(&w);
    if (m->loaded) {
        /* A loaded manifest written again keeps the sections it was read with. */
        const dl_json *x = dl_json_get(dl_json_root(m->loaded), "extra");
        for (size_t i = 0; i < dl_json_len(x); i++) {
            dl_jw_key(&w, dl_json_key_at(x, i, NULL));
            dl_jw_value(&w, dl_json_at(x, i));
        }
    }
    for (size_t i = 0; i < m->n_extras; i++) {
        const extra *e = &m->extras[i];
        dl_jw_key(&w, e->key);
        if (e->doc) {
            dl_jw_value(&w, dl_json_root(e->doc));
        } else {
            dl_status s = e->fn(&w, err, e->payload);
            if (s != DL_OK)
                return s;
        }
    }
    dl_jw_object_end(&w);
    dl_jw_object_end(&w);
    return dl_jw_finish(&w, err);
}

dl_status dl_manifest_write(const dl_manifest *m, const char *path, dl_outfile_info *info,
                            dl_error *err)
{
    dl_buf b = DL_BUF_INIT;
    dl_status s = dl_manifest_to_json(m, &b, err);
    if (s == DL_OK)
        s = dl_outfile_write_file(path, 0644, b.data, b.len, info, err);
    dl_buf_free(&b);
    return s;
}

/* ---- loading ---------------------------------------------------------- */

typedef struct loader {
    const char *path;
    dl_error *err;
} loader;

static dl_status bad(const loader *L, const dl_json *at, const char *what, const char *expect)
{
    return dl_error_set(L->err, DL_EINPUT, L->path, dl_json_line(at), dl_json_col(at),
                        "manifest field \"%s\": %s", what, expect);
}

static const dl_json *need(const loader *L, const dl_json *obj, const char *key,
                           dl_json_type t, bool nullable, dl_status *s)
{
    const dl_json *v = dl_json_get(obj, key);
    if (!v) {
        *s = dl_error_set(L->err, DL_EINPUT, L->path, dl_json_line(obj), dl_json_col(obj),
                          "manifest object lacks the field \"%s\"", key);
        return NULL;
    }
    if (dl_json_type_of(v) == t || (nullable && dl_json_type_of(v) == DL_JSON_NULL))
        return v;
    char expect[64];
    snprintf(expect, sizeof expect, "expected %s%s, found %s", dl_json_type_name(t),
             nullable ? " or null" : "", dl_json_type_name(dl_json_type_of(v)));
    *s = bad(L, v, key, expect);
    return NULL;
}

static dl_status get_str(const loader *L, const dl_json *obj, const char *key, bool nullable,
                         const char **out)
{
    dl_status s = DL_OK;
    const dl_json *v = need(L, obj, key, DL_JSON_STRING, nullable, &s);
    if (!v)
        return s;
    size_t len;
    const char *str = dl_json_str(v, &len);
    if (str && strlen(str) != len)
        return bad(L, v, key, "contains a NUL character");
    *out = str; /* NULL for null */
    return DL_OK;
}

static dl_status get_u64(const loader *L, const dl_json *obj, const char *key, bool nullable,
                         uint64_t *out, bool *was_null)
{
    dl_status s = DL_OK;
    const dl_json *v = need(L, obj, key, DL_JSON_NUMBER, nullable, &s);
    if (!v)
        return s;
    if (was_null)
        *was_null = dl_json_type_of(v) == DL_JSON_NULL;
    if (dl_json_type_of(v) == DL_JSON_NULL)
        return DL_OK;
    if (!dl_json_uint64(v, out))
        return bad(L, v, key, "expected a whole number from 0 to 2^64-1");
    return DL_OK;
}

static dl_status get_sha(const loader *L, const dl_json *obj, const char *key, bool nullable,
                         uint8_t out[32], bool *present)
{
    const char *hex = NULL;
    dl_status s = get_str(L, obj, key, nullable, &hex);
    if (s != DL_OK)
        return s;
    if (present)
        *present = hex != NULL;
    if (!hex)
        return DL_OK;
    if (strlen(hex) != 64 || !dl_hex_decode(hex, 64, out, NULL))
        return bad(L, dl_json_get(obj, key), key, "expected 64 hex digits");
    return DL_OK;
}

static dl_status get_hex_str(const loader *L, const dl_json *obj, const char *key,
                             size_t digits, const char **out)
{
    dl_status s = get_str(L, obj, key, true, out);
    if (s != DL_OK || !*out)
        return s;
    uint8_t tmp[32];
    if (strlen(*out) != digits || !dl_hex_decode(*out, digits, tmp, NULL)) {
        char expect[40];
        snprintf(expect, sizeof expect, "expected %zu hex digits", digits);
        return bad(L, dl_json_get(obj, key), key, expect);
    }
    return DL_OK;
}

static dl_status load_tree(dl_manifest *m, const loader *L, const dl_json *root)
{
    dl_status s = DL_OK;
    const char *fmt;
    if (dl_json_type_of(root) != DL_JSON_OBJECT)
        return dl_error_set(L->err, DL_EINPUT, L->path, dl_json_line(root), dl_json_col(root),
                            "a manifest is a JSON object (found %s)",
                            dl_json_type_name(dl_json_type_of(root)));
    if ((s = get_str(L, root, "format", false, &fmt)) != DL_OK)
        return s;
    if (strcmp(fmt, DL_MANIFEST_FORMAT) != 0)
        return bad(L, dl_json_get(root, "format"), "format",
                   "expected \"" DL_MANIFEST_FORMAT "\" (not a dolen manifest)");
    uint64_t version;
    if ((s = get_u64(L, root, "format_version", false, &version, NULL)) != DL_OK)
        return s;
    if (version != DL_MANIFEST_FORMAT_VERSION) {
        char expect[120];
        snprintf(expect, sizeof expect,
                 "version %" PRIu64 " is not one this dolen reads (expected %d%s)", version,
                 DL_MANIFEST_FORMAT_VERSION,
                 version > DL_MANIFEST_FORMAT_VERSION ? "; a newer dolen wrote it" : "");
        return bad(L, dl_json_get(root, "format_version"), "format_version", expect);
    }
    if ((s = get_str(L, root, "tool_version", true, &m->tool_version)) != DL_OK ||
        (s = get_str(L, root, "command", true, &m->command)) != DL_OK ||
        (s = get_str(L, root, "dataset", true, &m->dataset)) != DL_OK ||
        (s = get_str(L, root, "created_utc", true, &m->created)) != DL_OK ||
        (s = get_hex_str(L, root, "spec_sha256", 64, &m->spec_hash)) != DL_OK ||
        (s = get_hex_str(L, root, "key_fingerprint", 16, &m->fingerprint)) != DL_OK)
        return s;

    const dl_json *ins = need(L, root, "inputs", DL_JSON_ARRAY, false, &s);
    if (!ins)
        return s;
    for (size_t i = 0; i < dl_json_len(ins); i++) {
        const dl_json *o = dl_json_at(ins, i);
        if (dl_json_type_of(o) != DL_JSON_OBJECT)
            return bad(L, o, "inputs", "expected an object for each input");
        dl_manifest_input in = {0};
        if ((s = get_str(L, o, "name", false, &in.name)) != DL_OK ||
            (s = get_sha(L, o, "sha256", true, in.sha256, &in.has_sha256)) != DL_OK ||
            (s = get_u64(L, o, "rows_read", false, &in.rows_read, NULL)) != DL_OK)
            return s;
        if (!grow((void **)&m->inputs, &m->cap_inputs, m->n_inputs, sizeof *m->inputs))
            return nomem(L->err);
        m->inputs[m->n_inputs++] = in;
    }
    const dl_json *outs = need(L, root, "outputs", DL_JSON_ARRAY, false, &s);
    if (!outs)
        return s;
    for (size_t i = 0; i < dl_json_len(outs); i++) {
        const dl_json *o = dl_json_at(outs, i);
        if (dl_json_type_of(o) != DL_JSON_OBJECT)
            return bad(L, o, "outputs", "expected an object for each output");
        dl_manifest_output out = {0};
        bool no_rows = false;
        if ((s = get_str(L, o, "name", false, &out.name)) != DL_OK ||
            (s = get_u64(L, o, "rows", true, &out.rows, &no_rows)) != DL_OK ||
            (s = get_u64(L, o, "bytes", false, &out.bytes, NULL)) != DL_OK ||
            (s = get_sha(L, o, "sha256", false, out.sha256, NULL)) != DL_OK)
            return s;
        if (no_rows)
            out.rows = DL_MANIFEST_NO_ROWS;
        if (!name_ok(out.name))
            return bad(L, dl_json_get(o, "name"), "name",
                       "an output name must be relative to the manifest's folder "
                       "(no leading '/', no '.' or '..' parts)");
        if (!grow((void **)&m->outputs, &m->cap_outputs, m->n_outputs, sizeof *m->outputs))
            return nomem(L->err);
        m->outputs[m->n_outputs++] = out;
    }
    const dl_json *acc = need(L, root, "accounting", DL_JSON_OBJECT, true, &s);
    if (!acc)
        return s;
    if (dl_json_type_of(acc) == DL_JSON_OBJECT) {
        if ((s = get_u64(L, acc, "rows_read", false, &m->rows_read, NULL)) != DL_OK ||
            (s = get_u64(L, acc, "rows_written", false, &m->rows_written, NULL)) != DL_OK ||
            (s = get_u64(L, acc, "rows_rejected", false, &m->rows_rejected, NULL)) != DL_OK)
            return s;
        if (m->rows_read != m->rows_written + m->rows_rejected ||
            m->rows_written > m->rows_read)
            return dl_error_set(L->err, DL_EINPUT, L->path, dl_json_line(acc),
                                dl_json_col(acc),
                                "row accounting does not add up: %" PRIu64
                                " rows read, but %" PRIu64 " written + %" PRIu64 " rejected",
                                m->rows_read, m->rows_written, m->rows_rejected);
        m->has_accounting = true;
    }
    if (!need(L, root, "extra", DL_JSON_OBJECT, false, &s))
        return s;
    return DL_OK;
}

dl_status dl_manifest_load(const char *path, dl_manifest **out, dl_error *err)
{
    *out = NULL;
    dl_manifest *m = alloc_manifest();
    if (!m)
        return nomem(err);
    dl_status s = dl_json_load(path, &m->loaded, err);
    if (s == DL_OK) {
        loader L = {path, err};
        s = load_tree(m, &L, dl_json_root(m->loaded));
    }
    if (s == DL_OK) {
        const char *slash = strrchr(path, '/');
        size_t n = slash ? (size_t)(slash - path) + 1 : 0;
        char *dir = dl_arena_strndup(m->arena, path, n);
        if (!dir)
            s = nomem(err);
        else
            m->dir = dir;
    }
    if (s != DL_OK) {
        dl_manifest_free(m);
        return s;
    }
    *out = m;
    return DL_OK;
}

dl_status dl_manifest_verify(const dl_manifest *m, dl_error *err)
{
    dl_buf path = DL_BUF_INIT;
    dl_status s = DL_OK;
    for (size_t i = 0; i < m->n_outputs && s == DL_OK; i++) {
        const dl_manifest_output *o = &m->outputs[i];
        dl_buf_clear(&path);
        if (!dl_buf_puts(&path, m->dir) || !dl_buf_puts(&path, o->name)) {
            s = nomem(err);
            break;
        }
        uint8_t sha[32];
        uint64_t bytes = 0;
        s = dl_sha256_file_size(path.data, sha, &bytes, err);
        if (s != DL_OK) {
            if (err && err->os_errno == ENOENT)
                dl_error_os(err, DL_EIO, ENOENT, path.data,
                            "output named in the manifest is missing");
            break;
        }
        if (bytes != o->bytes)
            s = dl_error_set(err, DL_EINPUT, path.data, 0, 0,
                             "file has %" PRIu64 " bytes but the manifest says %" PRIu64
                             " (changed or truncated since it was written)",
                             bytes, o->bytes);
        else if (memcmp(sha, o->sha256, 32) != 0)
            s = dl_error_set(err, DL_EINPUT, path.data, 0, 0,
                             "SHA-256 differs from the manifest's (file changed since it was "
                             "written)");
    }
    dl_buf_free(&path);
    return s;
}

const char *dl_manifest_command(const dl_manifest *m) { return m->command; }
const char *dl_manifest_tool_version(const dl_manifest *m) { return m->tool_version; }
const char *dl_manifest_created(const dl_manifest *m) { return m->created; }
const char *dl_manifest_dataset(const dl_manifest *m) { return m->dataset; }
const char *dl_manifest_spec_hash(const dl_manifest *m) { return m->spec_hash; }
const char *dl_manifest_key_fingerprint(const dl_manifest *m) { return m->fingerprint; }
size_t dl_manifest_n_inputs(const dl_manifest *m) { return m->n_inputs; }
size_t dl_manifest_n_outputs(const dl_manifest *m) { return m->n_outputs; }

const dl_manifest_input *dl_manifest_input_at(const dl_manifest *m, size_t i)
{
    return i < m->n_inputs ? &m->inputs[i] : NULL;
}

const dl_manifest_output *dl_manifest_output_at(const dl_manifest *m, size_t i)
{
    return i < m->n_outputs ? &m->outputs[i] : NULL;
}

bool dl_manifest_accounting(const dl_manifest *m, uint64_t *rows_read, uint64_t *rows_written,
                            uint64_t *rows_rejected)
{
    if (!m->has_accounting)
        return false;
    *rows_read = m->rows_read;
    *rows_written = m->rows_written;
    *rows_rejected = m->rows_rejected;
    return true;
}

const dl_json *dl_manifest_extra(const dl_manifest *m, const char *key)
{
    for (size_t i = 0; i < m->n_extras; i++)
        if (strcmp(m->extras[i].key, key) == 0)
            return m->extras[i].doc ? dl_json_root(m->extras[i].doc) : NULL;
    if (m->loaded)
        return dl_json_get(dl_json_get(dl_json_root(m->loaded), "extra"), key);
    return NULL;
}

void dl_manifest_free(dl_manifest *m)
{
    if (!m)
        return;
    for (size_t i = 0; i < m->n_extras; i++)
        dl_json_doc_free(m->extras[i].doc);
    free(m->extras);
    free(m->inputs);
    free(m->outputs);
    dl_json_doc_free(m->loaded);
    dl_arena_free(m->arena);
    free(m);
}
