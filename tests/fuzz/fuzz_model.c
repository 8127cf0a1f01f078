/* fuzz_model.c: fuzz target for the model.yaml loader (`dolen link --model`).
 * Part of tests/fuzz/; the replay driver runs corpus/model/ in the normal suite,
 * libFuzzer (-Dfuzz=true) explores from it. The spec is fixed; the seeds are
 * models of it written by dolen link, so mutations reach the deep checks. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "linkage/link_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The spec the seeds were trained with: config/examples/febrl.yaml's encoding
 * and comparisons, loaded from the source tree at first use. */
static dl_spec *spec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!spec) {
        dl_error e = DL_ERROR_INIT;
        if (dl_spec_load(DL_FUZZ_SOURCE_ROOT "/config/examples/febrl.yaml", &spec, &e) != DL_OK)
            return 0;
    }
    dl_error err = DL_ERROR_INIT;
    dl_model *m = NULL;
    if (dl__model_parse(spec, NULL, "fuzz.yaml", (const char *)data, size, &m, &err) == DL_OK) {
        /* A model that loads gives a finite weight to every pattern. */
        uint64_t np = dl__model_n_patterns(m);
        for (uint64_t p = 0; p < np && p < 4096; p++)
            (void)dl__model_weight(m, NULL, (uint32_t)p);
    }
    dl__model_free(m);
    return 0;
}
