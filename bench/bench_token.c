/* bench_token.c: the keyed-token kernel: dl_hmac_token (precomputed HMAC
 * states, SHA-NI or portable) against OpenSSL's one-shot HMAC().
 * Part of bench/; prints ns per token (median and min-max of several runs),
 * the CPU, and a checksum of the tokens showing every method agrees. */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dl_commit.h"
#include "dl_config.h"
#include "dolen/hmac.h"

#define N_VALUES 4096
#define VALUE_MAX 16

static double cpu_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void cpu_model(char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[256];
    while (f && fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            char *p = strchr(line, ':');
            snprintf(out, size, "%.100s", p ? p + 2 : line);
            out[strcspn(out, "\n")] = '\0';
            break;
        }
    if (f)
        fclose(f);
}

typedef enum { M_PRECOMPUTED, M_PORTABLE, M_ONESHOT } method;

/* Tokens of every value, REPS times; returns the xor of the tokens. */
static uint64_t run(method how, const dl_hmac_key *k, const uint8_t key[32],
                    char values[][VALUE_MAX], const size_t *lens, int reps)
{
    uint64_t x = 0;
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < N_VALUES; i++) {
            if (how == M_ONESHOT) {
                unsigned char mac[32];
                unsigned int len = 32;
                HMAC(EVP_sha256(), key, 32, (const unsigned char *)values[i], lens[i], mac,
                     &len);
                uint64_t t = 0;
                for (int b = 0; b < 8; b++)
                    t = t << 8 | mac[b];
                x ^= t ? t : 1;
            } else {
                x ^= dl_hmac_token(k, values[i], lens[i]);
            }
        }
    return x;
}

int main(int argc, char **argv)
{
    int runs = argc > 1 ? atoi(argv[1]) : 5;
    if (runs < 1)
        runs = 5;
    /* Name-like values: 3 to 12 upper-case letters, from a fixed generator. */
    static char values[N_VALUES][VALUE_MAX];
    size_t lens[N_VALUES];
    uint64_t s = 42;
    for (size_t i = 0; i < N_VALUES; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        lens[i] = 3 + (size_t)(s >> 60) % 10;
        for (size_t c = 0; c < lens[i]; c++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            values[i][c] = (char)('A' + (s >> 59) % 26);
        }
    }
    uint8_t key[32];
    for (int i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    dl_hmac_key fast, portable;
    dl_hmac_init(&fast, key, sizeof key);
    dl__hmac_init_portable(&portable, key, sizeof key);

    char cpu[128];
    cpu_model(cpu, sizeof cpu);
    printf("cpu: %s\ncompiler: %s\ndolen: %s (commit %s)\n", cpu, __VERSION__, DL_VERSION,
           DL_COMMIT);
    printf("values: %d name-like strings of 3-12 bytes; %d runs; CPU time of this thread\n\n",
           N_VALUES, runs);
    printf("| method | ns per token (median) | min-max | tokens checksum |\n");
    printf("|---|---|---|---|\n");
    const char *names[3] = {dl__hmac_have_shani() ? "dl_hmac_token, precomputed, SHA-NI"
                                                  : "dl_hmac_token, precomputed",
                            "dl_hmac_token, precomputed, portable C",
                            "OpenSSL HMAC(), one shot"};
    const dl_hmac_key *keys[3] = {&fast, &portable, NULL};
    int reps[3] = {200, 40, 20};
    double median[3];
    for (int m = 0; m < 3; m++) {
        double *t = malloc((size_t)runs * sizeof *t);
        /* One pass gives the checksum (xor over an even number of passes is 0). */
        uint64_t sum = run((method)m, keys[m], key, values, lens, 1);
        for (int r = 0; r < runs; r++) {
            double t0 = cpu_seconds();
            (void)run((method)m, keys[m], key, values, lens, reps[m]);
            t[r] = (cpu_seconds() - t0) * 1e9 / ((double)reps[m] * N_VALUES);
        }
        qsort(t, (size_t)runs, sizeof *t, cmp_double);
        median[m] = t[runs / 2];
        printf("| %s | %.0f | %.0f-%.0f | %016llx |\n", names[m], median[m], t[0], t[runs - 1],
               (unsigned long long)sum);
        free(t);
    }
    printf("\none-shot HMAC() / precomputed: %.1fx\n", median[2] / median[0]);
    dl_hmac_key_cleanse(&fast);
    dl_hmac_key_cleanse(&portable);
    return 0;
}
