/* fuzz_postcode.c: fuzz target for the UK postcode parser (and the NHS number
 * and sex normalisers on the same bytes). Part of tests/fuzz/: replayed over
 * corpus/postcode/ in the normal suite; a libFuzzer binary with -Dfuzz=true. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/normalise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data;
    dl_postcode p, q;
    const char *why = NULL;
    dl_norm_result r = dl_normalise_postcode(in, size, &p, &why);
    if (r == DL_NORM_OK) {
        /* A valid unit normalises to itself, and its parts are its prefixes. */
        if (dl_normalise_postcode(p.unit, strlen(p.unit), &q, &why) != DL_NORM_OK ||
            strcmp(p.unit, q.unit) != 0 || strncmp(p.unit, p.sector, strlen(p.sector)) != 0 ||
            strncmp(p.unit, p.district, strlen(p.district)) != 0 ||
            strncmp(p.unit, p.area, strlen(p.area)) != 0 || strlen(p.area) == 0)
            abort();
    } else if ((r == DL_NORM_INVALID) != (why != NULL)) {
        abort();
    }

    char nhs[11];
    if (dl_normalise_nhs(in, size, nhs, &why) == DL_NORM_OK &&
        (strlen(nhs) != 10 || dl_nhs_check_digit(nhs) != nhs[9] - '0'))
        abort();
    char sex;
    if (dl_normalise_sex(in, size, &sex, &why) == DL_NORM_OK && sex != 'M' && sex != 'F')
        abort();
    return 0;
}
