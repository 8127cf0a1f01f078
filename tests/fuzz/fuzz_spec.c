/* fuzz_spec.c: fuzz target for the spec loader: arbitrary bytes to dl_spec_parse.
 * Part of tests/fuzz/; the replay driver runs the seeds in corpus/spec/ in the
 * normal suite, libFuzzer (-Dfuzz=true) explores from them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "dolen/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dl_error err = DL_ERROR_INIT;
    dl_spec *s = NULL;
    if (dl_spec_parse("fuzz.yaml", (const char *)data, size, &s, &err) == DL_OK) {
        /* A spec that loads must also yield its canonical text and summary
           inputs without touching freed or uninitialised memory. */
        char *t = dl_spec_canonical(s);
        free(t);
        char hex[65];
        dl_spec_hash_hex(s, hex);
    }
    dl_spec_free(s);
    return 0;
}
