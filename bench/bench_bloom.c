/* bench_bloom.c: speed of Bloom-filter encoding (cache on and off, hardening)
 * and of Dice comparisons, on one core. Part of bench/; checks prepare's budget.
 *
 * usage: bench_bloom [NAMES.txt [RUNS]]
 * NAMES.txt has one name per line (upper-case ASCII, as normalised); without
 * it, 200000 Welsh-like names are generated from a fixed seed. */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "dl_commit.h"
#include "dl_config.h"
#include "dolen/bloom.h"

#define GEN_NAMES 200000
#define DICE_PAIRS 20000000u

/* Thread CPU time, not wall time: rates per core, less disturbed when other
 * processes share the machine. */
static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static uint64_t rng = 0x2545f4914f6cdd1du;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)((rng >> 32) % n);
}

/* Names built from syllables that recur in Welsh and English names, so that
 * bigrams repeat with realistic frequency (which is what the cache exploits). */
static const char *const syl[] = {
    "AN", "WEN", "LL", "DAF", "YDD", "GWY", "LIM", "RHI", "ANN", "ON", "SI", "AN", "ELE",
    "RI", "MAR", "GAR", "ET", "JON", "ES", "DAV", "IES", "EVA", "NS", "THO", "MAS",
    "WIL", "LIA", "MS", "HUG", "HES", "PRI", "CE", "OW", "EN", "LEW", "IS", "MOR", "GAN",
    "CAD", "WAL", "ADR", "BRY", "CER", "DWE", "FF", "ION", "IOL", "O", "TEG", "ST",
};

static char *gen_names(size_t n, size_t *count, size_t **offs)
{
    char *buf = malloc(n * 16);
    *offs = malloc((n + 1) * sizeof **offs);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        (*offs)[i] = at;
        unsigned parts = 2 + rnd(2);
        for (unsigned p = 0; p < parts; p++) {
            const char *s = syl[rnd(sizeof syl / sizeof syl[0])];
            size_t l = strlen(s);
            if (at - (*offs)[i] + l > 14)
                break;
            memcpy(buf + at, s, l);
            at += l;
        }
    }
    (*offs)[n] = at;
    *count = n;
    return buf;
}

static char *load_names(const char *path, size_t *count, size_t **offs)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    size_t cap = 1 << 20, at = 0, n = 0, ocap = 1 << 16;
    char *buf = malloc(cap);
    *offs = malloc(ocap * sizeof **offs);
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        size_t l = strcspn(line, "\r\n");
        if (l == 0)
            continue;
        if (at + l > cap)
            buf = realloc(buf, cap *= 2);
        if (n + 2 > ocap)
            *offs = realloc(*offs, (ocap *= 2) * sizeof **offs);
        (*offs)[n++] = at;
        memcpy(buf + at, line, l);
        at += l;
    }
    fclose(f);
    (*offs)[n] = at;
    *count = n;
    return buf;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static void report(const char *what, double *rate, int runs, const char *unit)
{
    qsort(rate, (size_t)runs, sizeof *rate, cmp_double);
    printf("%-34s median %10.0f %s/s  (min %.0f, max %.0f)\n", what, rate[runs / 2], unit,
           rate[0], rate[runs - 1]);
}

static void cpu_name(char *out, size_t size)
{
    snprintf(out, size, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f)
        return;
    char line[256];
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "model name", 10) == 0) {
            const char *c = strchr(line, ':');
            if (c)
                snprintf(out, size, "%.*s", (int)strcspn(c + 2, "\n"), c + 2);
            break;
        }
    fclose(f);
}

/* Encode every name RUNS times with ENC (cache or not), hashing the finished
 * filters of the last run into DIGEST. */
static void bench_encode(const char *label, const dl_bloom_enc *enc, bool cached,
                         const char *names, const size_t *offs, size_t n, int runs,
                         uint64_t *filters, unsigned char digest[32])
{
    const dl_bloom_opts *o = dl_bloom_enc_opts(enc);
    size_t in_words = o->bits / 64, out_words = dl_bloom_out_bits(o) / 64;
    uint64_t tmp[DL_BLOOM_MAX_BITS / 64];
    double *rate = malloc((size_t)runs * sizeof *rate);
    dl_bloom_cache *cache = NULL;
    for (int r = 0; r < runs; r++) {
        if (cached) {
            /* A fresh cache per run: its warm-up is part of the cost. */
            dl_bloom_cache_free(cache);
            cache = dl_bloom_cache_new(enc, 0, NULL);
        }
        double t0 = now();
        for (size_t i = 0; i < n; i++) {
            memset(tmp, 0, in_words * 8);
            dl_bloom_add(enc, cache, names + offs[i], offs[i + 1] - offs[i], NULL, 0, tmp);
            dl_bloom_finish(enc, tmp, filters + i * out_words);
        }
        rate[r] = (double)n / (now() - t0);
    }
    EVP_Digest(filters, n * out_words * 8, digest, NULL, EVP_sha256(), NULL);
    if (cache) {
        uint64_t hits, misses;
        dl_bloom_cache_stats(cache, &hits, &misses);
        printf("  (cache: %.3f%% of q-grams answered without a MAC)\n",
               100.0 * (double)hits / (double)(hits + misses));
    }
    report(label, rate, runs, "filters");
    printf("  output sha256 ");
    for (int i = 0; i < 32; i++)
        printf("%02x", digest[i]);
    printf("\n");
    dl_bloom_cache_free(cache);
    free(rate);
}

int main(int argc, char **argv)
{
    size_t n, *offs;
    const char *input = argc > 1 ? argv[1] : NULL;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    if (runs < 1)
        runs = 1;
    char *names = input ? load_names(input, &n, &offs) : gen_names(GEN_NAMES, &n, &offs);
    if (!names || n == 0) {
        fprintf(stderr, "bench_bloom: cannot read names from %s\n", input);
        free(names);
        if (names)
            free(offs);
        return 1;
    }
    char cpu[128];
    cpu_name(cpu, sizeof cpu);
    double load[1] = {0};
    if (getloadavg(load, 1) < 1)
        load[0] = -1;
    printf("bench_bloom: cpu %s, %ld cores online, one used (thread CPU time); "
           "load average %.1f\n",
           cpu, sysconf(_SC_NPROCESSORS_ONLN), load[0]);
#ifdef __VERSION__
    printf("compiler %s, %s, commit %s\n", __VERSION__,
#ifdef __OPTIMIZE__
           "optimised",
#else
           "not optimised",
#endif
           DL_COMMIT);
#endif
    printf("input %s: %zu names, %.1f bytes on average; %d runs each\n",
           input ? input : "generated Welsh-like names (seeded)", n,
           (double)offs[n] / (double)n, runs);

    static const uint8_t key[32] = "bench-bloom-subkey-0123456789ab";
    dl_bloom_opts o = DL_BLOOM_OPTS_INIT;
    dl_bloom_enc *plain = NULL, *hard = NULL;
    dl_error err = DL_ERROR_INIT;
    if (dl_bloom_enc_new(key, &o, &plain, &err) != DL_OK)
        return 1;
    o.balance = true;
    o.xor_folds = 1;
    if (dl_bloom_enc_new(key, &o, &hard, &err) != DL_OK)
        return 1;

    uint64_t *filters = malloc(n * 16 * sizeof *filters);
    unsigned char d1[32], d2[32], d3[32];
    bench_encode("1024-bit, no cache", plain, false, names, offs, n, runs, filters, d1);
    bench_encode("1024-bit, cache", plain, true, names, offs, n, runs, filters, d2);
    printf("  cache %s the filters\n", memcmp(d1, d2, 32) == 0 ? "did not change" : "CHANGED");
    bench_encode("1024-bit, cache, balance + 1 fold", hard, true, names, offs, n, runs, filters,
                 d3);

    /* Dice over pseudo-random pairs of the plain filters (the last encoding
     * run left balanced ones; redo plain ones first). */
    uint64_t tmp[16];
    dl_bloom_cache *cache = dl_bloom_cache_new(plain, 0, NULL);
    for (size_t i = 0; i < n; i++) {
        memset(tmp, 0, sizeof tmp);
        dl_bloom_add(plain, cache, names + offs[i], offs[i + 1] - offs[i], NULL, 0, tmp);
        dl_bloom_finish(plain, tmp, filters + i * 16);
    }
    dl_bloom_cache_free(cache);
    double *rate = malloc((size_t)runs * sizeof *rate);
    uint64_t *counts = malloc(n * sizeof *counts);
    for (size_t i = 0; i < n; i++)
        counts[i] = dl_popcount_words(filters + i * 16, 16);
    /* A window of 1024 filters (128 KiB) stays in cache, as the records of one
     * block do in the link stage; the whole array measures memory instead. */
    const size_t windows[2] = {n < 1024 ? n : 1024, n};
    for (int counted = 0; counted <= 1; counted++)
        for (int wi = 0; wi < 2; wi++) {
            size_t win = windows[wi];
            double sum = 0.0;
            for (int r = 0; r < runs; r++) {
                double s = 0.0, t0 = now();
                size_t a = 0, b = 1 % win;
                for (uint32_t p = 0; p < DICE_PAIRS; p++) {
                    const uint64_t *fa = filters + a * 16, *fb = filters + b * 16;
                    s += counted ? dl_dice_counted(fa, fb, 16, counts[a], counts[b])
                                 : dl_dice(fa, fb, 16);
                    if (++a == win)
                        a = 0;
                    for (b += 7; b >= win;)
                        b -= win;
                }
                rate[r] = DICE_PAIRS / (now() - t0);
                sum = s;
            }
            char label[64];
            snprintf(label, sizeof label, "Dice%s, %zu filters", counted ? " (counted)" : "",
                     win);
            report(label, rate, runs, "pairs");
            printf("  checksum of Dice values %.6f\n", sum);
        }
    printf("popcount kernel: %s\n", dl__popcount_impl());
    free(counts);

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("peak RSS %ld KiB\n", ru.ru_maxrss);
    free(rate);
    free(filters);
    free(names);
    free(offs);
    dl_bloom_enc_free(plain);
    dl_bloom_enc_free(hard);
    return 0;
}
