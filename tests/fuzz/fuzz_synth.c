/* fuzz_synth.c: fuzz target for the SYNTH.yaml scenario loader.
 * Part of tests/fuzz/; the replay driver runs corpus/synth/ in the normal suite,
 * libFuzzer (-Dfuzz=true) explores from it. */
#include <stddef.h>
#include <stdint.h>

#include "dolen/synth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dl_error err = DL_ERROR_INIT;
    dl_synth_spec *s = NULL;
    if (dl_synth_spec_parse((const char *)data, size, "fuzz.yaml", &s, &err) == DL_OK) {
        /* A scenario that loads answers its accessors without touching freed or
           uninitialised memory. */
        size_t n = dl_synth_spec_datasets(s);
        for (size_t i = 0; i < n; i++)
            (void)(dl_synth_spec_dataset_name(s, i)[0] + dl_synth_spec_dataset_file(s, i)[0]);
        (void)dl_synth_spec_people(s);
    }
    dl_synth_spec_free(s);
    return 0;
}
