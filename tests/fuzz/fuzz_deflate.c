/* fuzz_deflate.c: round-trip fuzz target for dolen's own deflate encoder
 * (common/deflate_fast.c). Part of tests/fuzz/; an encoder bug would write
 * gzip that no one can read back, so every input is compressed, inflated by
 * zlib and compared, and the encoder must never write past its bound. */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "common/deflate_fast.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Inputs are short; repeat them to reach the encoder's block and window
     * sizes, with the first byte choosing how often (field-like repeats are
     * what its matcher looks for). */
    size_t times = size ? 1 + (size_t)data[0] % 64 : 1;
    size_t len = size * times;
    uint8_t *src = malloc(len ? len : 1);
    if (!src)
        return 0;
    for (size_t t = 0; t < times; t++)
        memcpy(src + t * size, data, size);
    size_t bound = dl__deflate_fast_bound(len);
    uint8_t *dst = malloc(bound);
    uint8_t *back = malloc(len + 1);
    if (!dst || !back)
        abort();
    size_t n = dl__deflate_fast(src, len, dst);
    if (n == SIZE_MAX || n > bound)
        abort();
    z_stream z;
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, -MAX_WBITS) != Z_OK)
        abort();
    z.next_in = dst;
    z.avail_in = (uInt)n;
    z.next_out = back;
    z.avail_out = (uInt)(len + 1);
    int rc = inflate(&z, Z_FINISH);
    /* The whole stream, no more and no less, gives the input back. */
    if (rc != Z_STREAM_END || z.total_out != len || z.avail_in != 0 ||
        (len && memcmp(back, src, len) != 0))
        abort();
    inflateEnd(&z);
    free(src);
    free(dst);
    free(back);
    return 0;
}
