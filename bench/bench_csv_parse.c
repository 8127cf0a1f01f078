/* bench_csv_parse.c: CSV parse throughput (MB/s, rows/s) on plain and gzip input.
 * Part of bench/; measures common/csv_read.c and gz_read.c on ids-like and
 * FEBRL-like files, the two shapes prepare and link read most.
 *
 * usage: bench_csv_parse [--size-mb N] [--runs N] [--keep DIR] [--gen-gb N] [FILE...]
 *   --size-mb N  size of each generated file (default 200)
 *   --runs N     timed parses per file (default 5); the median is quoted
 *   --keep DIR   write the generated files into DIR and keep them
 *   --gen-gb N   flat-memory check: stream an N GB ids-like file, parse it
 *                once, print peak RSS (expected well under 50 MB)
 *   --trim       trim spaces around fields of FILEs (FEBRL's ", ")
 *   FILE...      parse these files instead of generating (header, ',' delimiter)
 * MB/s is CSV text (after decompression) per wall-clock second; CPU MB/s per
 * second of this process's CPU time, the figure to quote on a busy machine.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dl_commit.h"
#include "dl_config.h"
#include "dolen/csv.h"
#include "dolen/gz.h"
#include "dolen/outfile.h"

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_rand(void)
{
    /* xorshift64*: fast and reproducible; the data only needs to look real. */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
}

static double clock_s(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Wall time, and this process's CPU time: on a shared machine the second is
 * what the code costs, the first what a user waits. */
static double now(void)
{
    return clock_s(CLOCK_MONOTONIC);
}

static double cpu_now(void)
{
    return clock_s(CLOCK_PROCESS_CPUTIME_ID);
}

static void die(const char *what, const dl_error *e)
{
    char buf[600];
    fprintf(stderr, "bench_csv_parse: %s: %s\n", what, e ? dl_error_format(e, buf, sizeof buf) : "");
    exit(1);
}

/* ---- data ------------------------------------------------------------------ */

/* An ids file row: SLF, 12 hex tokens, 2 base64 Bloom filters (1024 bits). */
static size_t ids_row(char *p, uint64_t i)
{
    static const char hex[] = "0123456789abcdef";
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *s = p;
    s += sprintf(s, "S%015llu", (unsigned long long)i);
    for (int t = 0; t < 12; t++) {
        *s++ = ',';
        uint64_t x = next_rand();
        if (x % 13 == 0)
            continue; /* missing */
        for (int k = 0; k < 16; k++, x >>= 4)
            *s++ = hex[x & 15];
    }
    for (int f = 0; f < 2; f++) {
        *s++ = ',';
        for (int k = 0; k < 170; k += 10) {
            uint64_t x = next_rand();
            for (int j = 0; j < 10; j++, x >>= 6)
                *s++ = b64[x & 63];
        }
        memcpy(s, "AA==", 4);
        s += 4;
    }
    *s++ = '\n';
    return (size_t)(s - p);
}

static const char ids_header[] =
    "slf,t1,t2,t3,t4,t5,t6,t7,t8,t9,t10,t11,t12,bloom_name,bloom_addr\n";

/* A FEBRL-style row: ", " separators, a few quoted fields. */
static size_t febrl_row(char *p, uint64_t i)
{
    static const char *const given[] = {"michael", "sarah", "dafydd", "sian", "", "lachlan",
                                        "o'brien", "jo ann"};
    static const char *const sur[] = {"jones", "williams", "davies", "evans", "thomas",
                                      "roberts", "smith, jr", "hughes"};
    static const char *const street[] = {"tullaroop street", "giblin street", "heol y dwr",
                                         "wallaby place", "ffordd las", "milne cove"};
    static const char *const sub[] = {"st james", "bittern", "aberystwyth", "killarney",
                                      "llandrindod wells", "cleveland"};
    uint64_t x = next_rand();
    const char *g = given[x & 7], *s = sur[(x >> 3) & 7];
    bool q = strchr(s, ',') != NULL;
    return (size_t)sprintf(p,
                           "rec-%llu-org, %s, %s%s%s, %u, %s, %s, %s, %04u, %s, %04u%02u%02u, "
                           "%07u\n",
                           (unsigned long long)i, g, q ? "\"" : "", s, q ? "\"" : "",
                           (unsigned)(x >> 6) % 300, street[(x >> 15) % 6],
                           (x >> 20) % 3 ? "" : "rosetta", sub[(x >> 24) % 6],
                           (unsigned)(x >> 28) % 9000 + 1000, (x >> 40) % 2 ? "nsw" : "wls",
                           1900 + (unsigned)(x >> 42) % 110, 1 + (unsigned)(x >> 50) % 12,
                           1 + (unsigned)(x >> 54) % 28, (unsigned)(x >> 33) % 9999999);
}

static const char febrl_header[] = "rec_id, given_name, surname, street_number, address_1, "
                                   "address_2, suburb, postcode, state, date_of_birth, "
                                   "soc_sec_id\n";

typedef size_t (*row_fn)(char *, uint64_t);

/* Write about BYTES of rows to PATH, plain or (by name) gzip through our writer. */
static void generate(const char *path, const char *header, row_fn fn, uint64_t bytes)
{
    dl_error e = DL_ERROR_INIT;
    dl_outfile *f;
    if (dl_outfile_create(path, 0644, &f, &e) != DL_OK)
        die("create", &e);
    size_t n = strlen(path);
    bool gz = n > 3 && strcmp(path + n - 3, ".gz") == 0;
    dl_gz_writer *w = NULL;
    if (gz && dl_gzw_open(f, &w, &e) != DL_OK)
        die("gzip writer", &e);
    size_t cap = 1 << 20, len = 0;
    char *buf = malloc(cap + 4096);
    memcpy(buf, header, strlen(header));
    len = strlen(header);
    uint64_t done = 0, i = 0;
    rng = 0x9E3779B97F4A7C15ull; /* same rows in the plain and gzip files */
    while (done < bytes) {
        size_t k = fn(buf + len, ++i);
        len += k;
        done += k;
        if (len >= cap || done >= bytes) {
            dl_status s = gz ? dl_gzw_write(w, buf, len, &e) : dl_outfile_write(f, buf, len, &e);
            if (s != DL_OK)
                die("write", &e);
            len = 0;
        }
    }
    free(buf);
    if (gz && dl_gzw_close(w, &e) != DL_OK)
        die("gzip close", &e);
    if (dl_outfile_commit(f, NULL, &e) != DL_OK)
        die("commit", &e);
}

/* ---- parsing --------------------------------------------------------------- */

typedef struct result {
    uint64_t rows, bad, content_bytes, hash;
    double secs, cpu;
} result;

/* Parse PATH once. With HASH, FNV-1a over every field (length and bytes),
 * so that a faster parser that changes what it returns shows up. */
static result parse(const char *path, bool trim, bool hash)
{
    result res = {0, 0, 0, 14695981039346656037ull, 0, 0};
    dl_csv_opts o = DL_CSV_OPTS_INIT;
    o.trim = trim;
    dl_error e = DL_ERROR_INIT;
    dl_csv_reader *r;
    double t0 = now(), c0 = cpu_now();
    if (dl_csv_open(path, &o, &r, &e) != DL_OK)
        die("open", &e);
    dl_row row;
    dl_status s;
    uint64_t sum = 0;
    while ((s = dl_csv_next(r, &row, &e)) != DL_END) {
        if (s == DL_EROW) {
            res.bad++;
            continue;
        }
        if (s != DL_OK)
            die("parse", &e);
        res.rows++;
        for (size_t i = 0; i < row.n; i++) {
            sum += row.len[i];
            if (hash) {
                uint64_t h = res.hash ^ row.len[i];
                h *= 1099511628211ull;
                for (size_t k = 0; k < row.len[i]; k++) {
                    h ^= (unsigned char)row.field[i][k];
                    h *= 1099511628211ull;
                }
                res.hash = h;
            }
        }
    }
    res.secs = now() - t0;
    res.cpu = cpu_now() - c0;
    dl_csv_close(r);
    res.content_bytes = sum;
    return res;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static uint64_t plain_size(const char *path, bool *gz)
{
    dl_error e = DL_ERROR_INIT;
    dl_gz_reader *r;
    if (dl_gz_open(path, &r, &e) != DL_OK)
        die("open", &e);
    *gz = dl_gz_is_gzip(r);
    static char buf[1 << 20];
    uint64_t n = 0;
    size_t got;
    dl_status s;
    while ((s = dl_gz_read(r, buf, sizeof buf, &got, &e)) == DL_OK)
        n += got;
    if (s != DL_END)
        die("read", &e);
    dl_gz_close(r);
    return n;
}

static long peak_rss_kb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static double median(double *t, int n)
{
    qsort(t, (size_t)n, sizeof *t, cmp_double);
    return n % 2 ? t[n / 2] : (t[n / 2 - 1] + t[n / 2]) / 2;
}

static void bench_file(const char *label, const char *path, bool trim, int runs)
{
    bool gz;
    uint64_t bytes = plain_size(path, &gz);
    struct stat st;
    stat(path, &st);
    result check = parse(path, trim, true);
    double *t = malloc(sizeof *t * (size_t)runs), *c = malloc(sizeof *c * (size_t)runs);
    for (int i = 0; i < runs; i++) {
        result r = parse(path, trim, false);
        if (r.rows != check.rows)
            die("rows differ between runs", NULL);
        t[i] = r.secs;
        c[i] = r.cpu;
    }
    double med = median(t, runs), cmed = median(c, runs);
    double mb = (double)bytes / 1e6;
    printf("| %-12s | %-4s | %7.1f | %7.1f | %7.1f | %7.1f-%-7.1f | %7.1f | %6.2f | %5llu | "
           "%016llx |\n",
           label, gz ? "gzip" : "csv", (double)st.st_size / 1e6, mb, mb / med, mb / t[runs - 1],
           mb / t[0], mb / cmed, (double)check.rows / cmed / 1e6,
           (unsigned long long)check.bad, (unsigned long long)check.hash);
    fflush(stdout);
    free(t);
    free(c);
}

static void print_env(void)
{
    char model[600] = "unknown";
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f) {
        char line[512];
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "model name", 10) == 0) {
                char *c = strchr(line, ':');
                snprintf(model, sizeof model, "%s", c ? c + 2 : line);
                model[strcspn(model, "\n")] = '\0';
                break;
            }
        fclose(f);
    }
    printf("cpu: %s; cores online: %ld\n", model, sysconf(_SC_NPROCESSORS_ONLN));
#if defined(__clang__)
    printf("compiler: clang %s", __clang_version__);
#elif defined(__GNUC__)
    printf("compiler: gcc %s", __VERSION__);
#else
    printf("compiler: unknown");
#endif
#if defined(__OPTIMIZE__)
    printf(" (optimised");
#else
    printf(" (not optimised");
#endif
#if defined(__SSE2__)
    printf(", SSE2 scanner)\n");
#else
    printf(", byte scanner)\n");
#endif
    printf("dolen commit: %s; gzip: %s\n", DL_COMMIT,
           DL_HAVE_ISAL ? "ISA-L (level 1)" : "zlib (level 6)");
}

int main(int argc, char **argv)
{
    double size_mb = 200, gen_gb = 0;
    int runs = 5;
    const char *keep = NULL;
    bool trim = false;
    int nfiles = 0;
    char **files = calloc((size_t)argc, sizeof *files);
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--size-mb") == 0 && i + 1 < argc)
            size_mb = atof(argv[++i]);
        else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = atoi(argv[++i]);
        else if (strcmp(argv[i], "--keep") == 0 && i + 1 < argc)
            keep = argv[++i];
        else if (strcmp(argv[i], "--trim") == 0)
            trim = true;
        else if (strcmp(argv[i], "--gen-gb") == 0 && i + 1 < argc)
            gen_gb = atof(argv[++i]);
        else if (argv[i][0] == '-' && argv[i][1] == '-') {
            fprintf(stderr, "usage: bench_csv_parse [--size-mb N] [--runs N] [--keep DIR] "
                            "[--gen-gb N] [--trim] [FILE...]\n");
            return 1;
        } else
            files[nfiles++] = argv[i];
    }
    if (runs < 1 || size_mb <= 0) {
        fprintf(stderr, "bench_csv_parse: --runs and --size-mb must be positive\n");
        return 1;
    }
    print_env();
    char tmpl[] = "/tmp/dolen-bench-XXXXXX";
    const char *dir = keep;
    if (!dir && nfiles == 0) {
        if (!mkdtemp(tmpl)) {
            fprintf(stderr, "bench_csv_parse: mkdtemp: %s\n", strerror(errno));
            return 1;
        }
        dir = tmpl;
    } else if (keep) {
        mkdir(keep, 0755);
    }
    printf("runs: %d (median quoted; MB = 10^6 bytes of CSV text, before compression)\n\n",
           runs);
    printf("| %-12s | %-4s | %7s | %7s | %7s | %-15s | %7s | %6s | %5s | %-16s |\n", "input",
           "kind", "file MB", "CSV MB", "MB/s", "min-max MB/s", "CPU MB/s", "Mrow/s", "bad",
           "content hash");
    printf("|--------------|------|---------|---------|---------|-----------------|---------|"
           "--------|-------|------------------|\n");
    char path[4][4200] = {{0}};
    if (gen_gb > 0) {
        snprintf(path[0], sizeof path[0], "%s/flat.ids.csv.gz", dir);
        generate(path[0], ids_header, ids_row, (uint64_t)(gen_gb * 1e9));
        bench_file("ids-like big", path[0], false, 1);
    } else if (nfiles > 0) {
        for (int i = 0; i < nfiles; i++)
            bench_file(files[i], files[i], trim, runs);
    } else {
        uint64_t bytes = (uint64_t)(size_mb * 1e6);
        const char *names[4] = {"ids.csv", "ids.csv.gz", "febrl.csv", "febrl.csv.gz"};
        for (int i = 0; i < 4; i++) {
            snprintf(path[i], sizeof path[i], "%s/%s", dir, names[i]);
            generate(path[i], i < 2 ? ids_header : febrl_header, i < 2 ? ids_row : febrl_row,
                     bytes);
        }
        bench_file("ids-like", path[0], false, runs);
        bench_file("ids-like", path[1], false, runs);
        bench_file("febrl-like", path[2], true, runs);
        bench_file("febrl-like", path[3], true, runs);
    }
    printf("\npeak RSS: %.1f MB\n", (double)peak_rss_kb() / 1024);
    if (!keep && nfiles == 0) {
        for (int i = 0; i < 4; i++)
            if (path[i][0])
                remove(path[i]);
        remove(dir);
    }
    free(files);
    return 0;
}
