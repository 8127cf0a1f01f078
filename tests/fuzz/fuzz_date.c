/* fuzz_date.c: fuzz target for the date parser, and the name and text
 * normalisers on the same bytes. Part of tests/fuzz/: replayed over
 * corpus/date/ in the normal suite; a libFuzzer binary with -Dfuzz=true. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/normalise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const fmts[] = {"%d/%m/%Y", "%Y-%m-%d", "%Y%m%d", "%d %b %y", "%m/%Y",
                                       "%Y"};
    enum { NF = sizeof fmts / sizeof *fmts };
    dl_date_format f[NF];
    for (size_t i = 0; i < NF; i++)
        if (dl_date_format_compile(fmts[i], &f[i], NULL) != DL_OK)
            abort(); /* the harness's own formats must compile */
    const char *in = (const char *)data;
    int32_t ph[] = {19000101};
    dl_date_opts o = {NF, f, 18900101, 20240630, 1, ph};
    int32_t v = -1;
    const char *why = NULL;
    dl_norm_result r = dl_normalise_date(in, size, &o, &v, &why);
    if (r == DL_NORM_OK) {
        int32_t y = v / 10000, m = v / 100 % 100, d = v % 100;
        if (why || v < 18900000 || v > 20240630 || (m && !dl_date_valid(y, m, d ? d : 1)))
            abort();
    } else if ((r == DL_NORM_INVALID) != (why != NULL)) {
        abort();
    }

    /* The same bytes as a date format: compiling must never crash either. */
    char fmt[64];
    size_t fl = size < sizeof fmt - 1 ? size : sizeof fmt - 1;
    memcpy(fmt, data, fl);
    fmt[fl] = '\0';
    dl_date_format g;
    dl_error err;
    if (dl_date_format_compile(fmt, &g, &err) == DL_OK) {
        dl_date_opts o2 = {1, &g, 0, 0, 0, NULL};
        (void)dl_normalise_date(in, size, &o2, &v, &why);
    }

    /* Arbitrary bytes must never crash the name normaliser, and its output is
     * upper-case ASCII words joined by single spaces. */
    dl_name_norm n;
    r = dl_normalise_name(in, size, NULL, &n, &why);
    if (r == DL_NORM_OK) {
        if (n.len != strlen(n.full) || n.len == 0 || n.full[0] == ' ' ||
            n.full[n.len - 1] == ' ' || n.n_parts == 0 || n.n_parts > DL_TOKEN_SET_MAX)
            abort();
        for (size_t i = 0; i < n.len; i++)
            if (!((n.full[i] >= 'A' && n.full[i] <= 'Z') ||
                  (n.full[i] == ' ' && n.full[i + 1] != ' ')))
                abort();
        /* Normalising is idempotent. */
        dl_name_norm n2;
        dl_name_opts keep = {false, 0, NULL};
        if (dl_normalise_name(n.full, n.len, &keep, &n2, &why) != DL_NORM_OK ||
            strcmp(n.full, n2.full) != 0)
            abort();
    }
    (void)dl_normalise_text(in, size, NULL, &n, &why);
    return 0;
}
