/* fuzz_json.c: fuzz target for the JSON reader and writer (common/json_*.c).
 * Part of tests/; any input must be parsed or refused cleanly, and whatever
 * parses must write out, parse again and write out to the same bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void write_value(const dl_json *v, dl_buf *out)
{
    dl_json_writer w;
    dl_error e = DL_ERROR_INIT;
    dl_jw_init(&w, out);
    dl_jw_value(&w, v);
    if (dl_jw_finish(&w, &e) != DL_OK)
        abort(); /* a parsed tree must always be writable */
}

/* Walk every accessor over the tree, so their bounds are exercised too. */
static void walk(const dl_json *v)
{
    size_t n;
    double d;
    int64_t i;
    uint64_t u;
    bool b;
    (void)dl_json_str(v, &n);
    (void)dl_json_double(v, &d);
    (void)dl_json_int64(v, &i);
    (void)dl_json_uint64(v, &u);
    (void)dl_json_bool(v, &b);
    for (size_t k = 0; k < dl_json_len(v); k++) {
        const char *key = dl_json_key_at(v, k, &n);
        if (key && strlen(key) == n && dl_json_get(v, key) != dl_json_at(v, k))
            abort(); /* lookup must find the member it was listed with */
        walk(dl_json_at(v, k));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dl_json_doc *d1 = NULL, *d2 = NULL;
    dl_error e = DL_ERROR_INIT;
    if (dl_json_parse((const char *)data, size, "fuzz", &d1, &e) != DL_OK) {
        if (e.code != DL_EINPUT || e.line == 0 || e.col == 0)
            abort(); /* refusals carry a position */
        return 0;
    }
    walk(dl_json_root(d1));
    dl_buf b1 = DL_BUF_INIT, b2 = DL_BUF_INIT;
    write_value(dl_json_root(d1), &b1);
    if (dl_json_parse(b1.data, b1.len, "fuzz", &d2, &e) != DL_OK)
        abort(); /* the writer's output must parse */
    write_value(dl_json_root(d2), &b2);
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        abort(); /* and be a fixed point */
    dl_buf_free(&b1);
    dl_buf_free(&b2);
    dl_json_doc_free(d1);
    dl_json_doc_free(d2);
    return 0;
}
