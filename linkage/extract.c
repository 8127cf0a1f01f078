/* extract.c: anonymised linked extracts (`dolen extract`): ALF_E, status codes,
 * date coarsening, small-cell rules, overlap table, leak check, manifest.
 * Part of linkage/, the last stage: reads link's clusters and prepare's content files.
 *
 * The run, in order (docs/extract.md says why each step is there):
 *   1. chain of manifests: link.manifest.json lists clusters/links/review with their
 *      SHA-256 and the ids files it linked; each NAME.manifest.json lists the content
 *      file and its ids file; the ids hashes must meet;
 *   2. load clusters (SLF -> record, ALF -> cluster), then links (exact flags) and
 *      review (review flags), then optionally the ids files' tokens;
 *   3. pass 1 over content: SLF duplicates, SLFs unknown to the clusters, values of
 *      identifying columns; pass 2: write every extract under a temporary name,
 *      leak-checking each cell as it is made;
 *   4. only when every file passed: rename extracts into place, write the overlap
 *      table and the manifest. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dolen/mix.h"
#include "dolen/arena.h"
#include "dolen/buf.h"
#include "dolen/csv.h"
#include "dolen/extract.h"
#include "dolen/json.h"
#include "dolen/manifest.h"
#include "dolen/normalise.h"
#include "dolen/outfile.h"
#include "dolen/sha256.h"
#include "dolen/suggest.h"

/* ---- ALF_E and status ------------------------------------------------------ */

void dl_extract_alf_key(const dl_key *project, dl_hmac_key *out)
{
    dl_key_hmac(project, DL_EXTRACT_ALF_LABEL, out);
}

uint64_t dl_extract_alf_e(const dl_hmac_key *k, uint64_t alf)
{
    /* The number, not its decimal text: the same ALF gives the same ALF_E
     * whatever way a file happened to write it. */
    uint8_t m[8];
    for (int i = 0; i < 8; i++)
        m[i] = (uint8_t)(alf >> (56 - 8 * i));
    return dl_hmac_token(k, m, sizeof m);
}

const char *dl_alf_sts_name(dl_alf_sts s)
{
    switch (s) {
    case DL_ALF_STS_UNLINKED:
        return "unlinked";
    case DL_ALF_STS_EXACT:
        return "linked_exact";
    case DL_ALF_STS_PROB:
        return "linked_probabilistic";
    case DL_ALF_STS_REVIEW:
        return "review";
    default:
        return "?";
    }
}

dl_alf_sts dl_alf_sts_of(bool linked, bool exact_first, bool in_review)
{
    if (linked)
        return exact_first ? DL_ALF_STS_EXACT : DL_ALF_STS_PROB;
    return in_review ? DL_ALF_STS_REVIEW : DL_ALF_STS_UNLINKED;
}

/* ---- dates -------------------------------------------------------------------- */

static const char *const coarsen_names[] = {"none", "week", "month", "year"};

const char *dl_coarsen_name(dl_coarsen c)
{
    return (unsigned)c < 4 ? coarsen_names[c] : "?";
}

bool dl_coarsen_parse(const char *s, dl_coarsen *out)
{
    for (unsigned i = 0; i < 4; i++)
        if (strcmp(s, coarsen_names[i]) == 0) {
            *out = (dl_coarsen)i;
            return true;
        }
    return false;
}

/* Content dates are as the custodian wrote them. Day-first for the slashed,
 * dotted and dashed forms: dolen's data are British. Full forms come before
 * the partial ones so that a full date is never read as a month. */
static const char *const date_fmts[] = {"%Y-%m-%d", "%Y%m%d", "%d/%m/%Y", "%d.%m.%Y",
                                        "%d-%m-%Y", "%Y-%m",  "%Y"};
#define N_DATE_FMTS (sizeof date_fmts / sizeof date_fmts[0])
static dl_date_format date_compiled[N_DATE_FMTS];
static bool date_ok;
static pthread_once_t date_once = PTHREAD_ONCE_INIT;

/* Compiled once, then only read: compiling per cell would cost more than the
 * parse itself. */
static void date_init(void)
{
    dl_error e = DL_ERROR_INIT;
    for (size_t i = 0; i < N_DATE_FMTS; i++)
        if (dl_date_format_compile(date_fmts[i], &date_compiled[i], &e) != DL_OK)
            return;
    date_ok = true;
}

bool dl_extract_parse_date(const char *in, size_t len, int32_t *ymd)
{
    pthread_once(&date_once, date_init);
    if (!date_ok)
        return false;
    dl_date_opts o = {N_DATE_FMTS, date_compiled, 0, 0, 0, NULL};
    return dl_normalise_date(in, len, &o, ymd, NULL) == DL_NORM_OK;
}

size_t dl_coarsen_ymd(int32_t ymd, dl_coarsen how, char out[11])
{
    int y = ymd / 10000, m = ymd / 100 % 100, d = ymd % 100;
    out[0] = '\0';
    if (ymd <= 0 || y > 9999)
        return 0;
    switch (how) {
    case DL_COARSEN_WEEK: {
        if (!m || !d)
            return 0;
        /* The same week as prepare's week_of_birth. */
        int32_t mon = dl_date_week_monday(ymd);
        return (size_t)snprintf(out, 11, "%04d-%02d-%02d", (int)(mon / 10000),
                                (int)(mon / 100 % 100), (int)(mon % 100));
    }
    case DL_COARSEN_MONTH:
        if (!m)
            return 0;
        return (size_t)snprintf(out, 11, "%04d-%02d", y, m);
    case DL_COARSEN_YEAR:
        return (size_t)snprintf(out, 11, "%04d", y);
    default:
        return 0;
    }
}

/* ---- small cells -------------------------------------------------------------- */

bool dl_sdc_apply(const dl_sdc_rule *r, uint64_t count, uint64_t *shown)
{
    if (count == 0) {
        *shown = 0;
        return !r->suppress_zero;
    }
    if (r->min_cell > 1 && count < r->min_cell)
        return false;
    uint64_t q = r->round > 1 ? r->round : 1;
    /* Nearest multiple, halves up (15 -> 20 for 10): the convention of the ONS
     * and SAIL rounding rules. */
    uint64_t lo = count / q * q, rem = count - lo;
    *shown = (rem * 2 >= q && q > 1) ? lo + q : lo;
    return true;
}

/* ---- hashing helpers ------------------------------------------------------------ */

static uint64_t load_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Hex digit values, -1 for anything else: a table rather than three range
 * tests, since every SLF of every file goes through it (~10% of the run's
 * time with the tests). */
static const signed char hex_tab[256] = {
    ['0'] = 0,  ['1'] = 1,  ['2'] = 2,  ['3'] = 3,  ['4'] = 4,  ['5'] = 5,  ['6'] = 6,
    ['7'] = 7,  ['8'] = 8,  ['9'] = 9,  ['a'] = 10, ['b'] = 11, ['c'] = 12, ['d'] = 13,
    ['e'] = 14, ['f'] = 15, ['A'] = 10, ['B'] = 11, ['C'] = 12, ['D'] = 13, ['E'] = 14,
    ['F'] = 15,
};

static int hexval(unsigned char c)
{
    /* The table's other entries are 0, so '0' is told apart by the character. */
    return hex_tab[c] || c == '0' ? hex_tab[c] : -1;
}

/* N hex digits (either case) at S into N/2 bytes; false on a non-hex digit. */
static bool unhex(const char *s, size_t n, uint8_t *out)
{
    for (size_t i = 0; i < n; i += 2) {
        int a = hexval((unsigned char)s[i]), b = hexval((unsigned char)s[i + 1]);
        if (a < 0 || b < 0)
            return false;
        out[i / 2] = (uint8_t)(a << 4 | b);
    }
    return true;
}

/* A decimal of 1..20 digits that fits 64 bits. */
static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    if (n == 0 || n > 20)
        return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        unsigned dgt = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - dgt) / 10)
            return false;
        v = v * 10 + dgt;
    }
    *out = v;
    return true;
}

/* A probability in [0, 1] as written by link ("0.999909127", "1", "0"), to
 * millionths, rounded half up on the 7th decimal. Parsed by hand rather than
 * strtod so that every platform rounds the same way. */
static bool parse_prob(const char *s, size_t n, uint32_t *micro)
{
    if (n == 0 || (s[0] != '0' && s[0] != '1'))
        return false;
    uint64_t v = (uint64_t)(s[0] - '0') * 1000000;
    size_t i = 1;
    if (i < n) {
        if (s[i] != '.' || i + 1 == n)
            return false;
        i++;
        uint64_t scale = 100000;
        bool up = false;
        for (size_t k = 0; i < n; i++, k++) {
            if (s[i] < '0' || s[i] > '9')
                return false;
            if (k < 6) {
                v += (uint64_t)(s[i] - '0') * scale;
                scale /= 10;
            } else if (k == 6) {
                up = s[i] >= '5';
            }
        }
        v += up;
    }
    if (v > 1000000)
        return false;
    *micro = (uint32_t)v;
    return true;
}

/* ---- tables ------------------------------------------------------------------------ */

#define NO_CLUSTER UINT32_MAX
enum { F_SEEN = 1, F_EXACT = 2, F_REVIEW = 4, F_CONTENT_ONLY = 8 };

typedef struct rec {
    uint8_t slf[16];
    uint32_t cluster; /* index into clus, NO_CLUSTER when only in a content file */
    uint32_t prob;    /* clusters' match probability, millionths */
    uint32_t review;  /* best review-pair probability, millionths */
    uint16_t dataset; /* index into ds names */
    uint8_t flags;
} rec;

typedef struct cluster {
    uint64_t alf;
    uint32_t size; /* records in the run (all datasets, extracted or not) */
    uint32_t mask; /* extracted datasets it has records in */
} cluster;

/* Open addressing over indexes, power-of-two size, at most 70% full. A slot
 * is (32 bits of the key's hash) << 32 | (index + 1), 0 = empty: a probe
 * compares the hash bits first and touches the record (a cache miss at 10^7
 * records) only when they match. Without the tag, probing was 44% of the run's
 * time on 4M records; 8 bytes a slot beside the 32-byte records. */
typedef struct index32 {
    uint64_t *slot;
    size_t cap;
} index32;

#define SLOT_IX(v) ((uint32_t)(v) - 1)
#define SLOT_MAKE(h, ix) (((h) >> 32) << 32 | ((uint64_t)(ix) + 1))

typedef struct u64set {
    uint64_t *slot; /* 0 = empty: tokens are never 0 */
    size_t cap, n;
} u64set;

typedef struct h128set {
    uint64_t (*slot)[2]; /* [0] never 0 when used */
    size_t cap, n;
} h128set;

static uint64_t slf_hash(const uint8_t slf[16])
{
    return dl_mix64(load_be64(slf) ^ dl_mix64(load_be64(slf + 8)));
}

/* ---- the run's state ------------------------------------------------------------- */

enum { ACT_KEEP, ACT_DROP, ACT_IDENT, ACT_COARSEN };

typedef struct cfile {
    const char *path, *name;
    char *manifest_path, *out_path;
    uint8_t sha[32], msha[32], ids_sha[32];
    uint64_t bytes, mbytes;
    uint16_t ds;
    uint32_t bit;
    dl_extract_dataset st;
    dl_outfile *of;
    dl_outfile_info info;
    bool committed;
} cfile;

typedef struct ctx {
    const dl_extract_opts *o;
    dl_error *err;
    dl_arena *arena;
    rec *recs;
    size_t n_recs, cap_recs;
    index32 rix;
    cluster *clus;
    size_t n_clus, cap_clus;
    index32 cix;
    const char **ds;
    size_t n_ds, cap_ds;
    u64set tokens;
    h128set clear;
    cfile files[DL_EXTRACT_MAX_FILES];
    size_t n_files;
    dl_hmac_key alfkey;
    dl_manifest *lm;
    char *lm_path, *links_path, *review_path;
    uint8_t lm_sha[32], cl_sha[32], li_sha[32], rv_sha[32];
    uint64_t lm_bytes, cl_rows, li_rows, rv_rows;
    uint8_t (*ids_sha)[32];
    uint64_t *ids_tokens;
    uint64_t cells_checked;
    char **warn;
    size_t n_warn, cap_warn;
    uint64_t counts[1u << DL_EXTRACT_MAX_FILES];
} ctx;

#define ENOMEM_RET(c) dl_error_set((c)->err, DL_ENOMEM, NULL, 0, 0, "out of memory")

static bool grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap : 1024;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return false;
        n *= 2;
    }
    void *q = realloc(*p, n * elem);
    if (!q)
        return false;
    *p = q;
    *cap = n;
    return true;
}

static size_t rix_probe(const ctx *c, const uint8_t slf[16], uint64_t h)
{
    size_t mask = c->rix.cap - 1, i = h & mask;
    uint64_t v;
    while ((v = c->rix.slot[i]) &&
           ((v ^ h) >> 32 || memcmp(c->recs[SLOT_IX(v)].slf, slf, 16) != 0))
        i = (i + 1) & mask;
    return i;
}

static rec *rec_find(const ctx *c, const uint8_t slf[16])
{
    if (!c->rix.cap)
        return NULL;
    uint64_t v = c->rix.slot[rix_probe(c, slf, slf_hash(slf))];
    return v ? &c->recs[SLOT_IX(v)] : NULL;
}

static size_t cix_probe(const ctx *c, uint64_t alf, uint64_t h)
{
    size_t mask = c->cix.cap - 1, i = h & mask;
    uint64_t v;
    while ((v = c->cix.slot[i]) && ((v ^ h) >> 32 || c->clus[SLOT_IX(v)].alf != alf))
        i = (i + 1) & mask;
    return i;
}

static bool rehash_recs(ctx *c)
{
    size_t cap = c->rix.cap ? c->rix.cap * 2 : 4096;
    uint64_t *s = calloc(cap, sizeof *s);
    if (!s)
        return false;
    free(c->rix.slot);
    c->rix.slot = s;
    c->rix.cap = cap;
    for (size_t k = 0; k < c->n_recs; k++) {
        uint64_t h = slf_hash(c->recs[k].slf);
        s[rix_probe(c, c->recs[k].slf, h)] = SLOT_MAKE(h, k);
    }
    return true;
}

static bool rehash_clus(ctx *c)
{
    size_t cap = c->cix.cap ? c->cix.cap * 2 : 4096;
    uint64_t *s = calloc(cap, sizeof *s);
    if (!s)
        return false;
    free(c->cix.slot);
    c->cix.slot = s;
    c->cix.cap = cap;
    for (size_t k = 0; k < c->n_clus; k++) {
        uint64_t h = dl_mix64(c->clus[k].alf);
        s[cix_probe(c, c->clus[k].alf, h)] = SLOT_MAKE(h, k);
    }
    return true;
}

/* A new record for SLF (the caller has checked it is not there). */
static rec *rec_add(ctx *c, const uint8_t slf[16])
{
    if (c->n_recs >= UINT32_MAX - 1)
        return NULL;
    if (!grow((void **)&c->recs, &c->cap_recs, c->n_recs + 1, sizeof(rec)))
        return NULL;
    if ((c->n_recs + 1) * 10 > c->rix.cap * 7 && !rehash_recs(c))
        return NULL;
    rec *r = &c->recs[c->n_recs];
    memset(r, 0, sizeof *r);
    memcpy(r->slf, slf, 16);
    r->cluster = NO_CLUSTER;
    uint64_t h = slf_hash(slf);
    c->rix.slot[rix_probe(c, slf, h)] = SLOT_MAKE(h, c->n_recs);
    c->n_recs++;
    return r;
}

/* The cluster of ALF, made when new; NO_CLUSTER when out of memory. */
static uint32_t clus_get(ctx *c, uint64_t alf)
{
    uint64_t h = dl_mix64(alf);
    if (c->cix.cap) {
        uint64_t v = c->cix.slot[cix_probe(c, alf, h)];
        if (v)
            return SLOT_IX(v);
    }
    if (c->n_clus >= UINT32_MAX - 1)
        return NO_CLUSTER;
    if (!grow((void **)&c->clus, &c->cap_clus, c->n_clus + 1, sizeof(cluster)))
        return NO_CLUSTER;
    if ((c->n_clus + 1) * 10 > c->cix.cap * 7 && !rehash_clus(c))
        return NO_CLUSTER;
    c->clus[c->n_clus] = (cluster){alf, 0, 0};
    c->cix.slot[cix_probe(c, alf, h)] = SLOT_MAKE(h, c->n_clus);
    return (uint32_t)c->n_clus++;
}

static bool clus_has(const ctx *c, uint64_t alf)
{
    return c->cix.cap && c->cix.slot[cix_probe(c, alf, dl_mix64(alf))];
}

static bool u64set_add(u64set *s, uint64_t v)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4096;
        uint64_t *n = calloc(cap, sizeof *n);
        if (!n)
            return false;
        for (size_t k = 0; k < s->cap; k++)
            if (s->slot[k]) {
                size_t i = dl_mix64(s->slot[k]) & (cap - 1);
                while (n[i])
                    i = (i + 1) & (cap - 1);
                n[i] = s->slot[k];
            }
        free(s->slot);
        s->slot = n;
        s->cap = cap;
    }
    size_t i = dl_mix64(v) & (s->cap - 1);
    while (s->slot[i] && s->slot[i] != v)
        i = (i + 1) & (s->cap - 1);
    if (!s->slot[i]) {
        s->slot[i] = v;
        s->n++;
    }
    return true;
}

static bool u64set_has(const u64set *s, uint64_t v)
{
    if (!s->cap)
        return false;
    size_t i = dl_mix64(v) & (s->cap - 1);
    while (s->slot[i]) {
        if (s->slot[i] == v)
            return true;
        i = (i + 1) & (s->cap - 1);
    }
    return false;
}

/* Identifying values are compared as 128-bit hashes of their trimmed,
 * upper-cased bytes: the set then costs 16 bytes a value whatever the value's
 * length, holds no clear text, and at 10^8 values and 10^10 cells a chance
 * collision (~2^-62) cannot fail a run. Two multiplicative byte hashes with
 * different primes, each finished by mix64. Values shorter than 3 bytes are
 * not checked: an initial or a sex code identifies no one alone, and would
 * make every short cell a false alarm (docs/extract.md). */
#define CLEAR_MIN 3
static bool clear_hash(const char *s, size_t n, uint64_t h[2])
{
    while (n && (s[0] == ' ' || s[0] == '\t'))
        s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n < CLEAR_MIN)
        return false;
    uint64_t a = 0xcbf29ce484222325ULL, b = 0x84222325cbf29ce4ULL ^ n;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch >= 'a' && ch <= 'z')
            ch = (unsigned char)(ch - 32);
        a = (a ^ ch) * 0x100000001b3ULL;
        b = (b ^ ch) * 0x9e3779b97f4a7c15ULL;
    }
    h[0] = dl_mix64(a) | 1;
    h[1] = dl_mix64(b ^ a);
    return true;
}

static size_t h128_probe(const h128set *s, const uint64_t h[2])
{
    size_t i = h[1] & (s->cap - 1);
    while (s->slot[i][0] && (s->slot[i][0] != h[0] || s->slot[i][1] != h[1]))
        i = (i + 1) & (s->cap - 1);
    return i;
}

static bool h128set_add(h128set *s, const uint64_t h[2])
{
    if ((s->n + 1) * 2 > s->cap) {
        h128set t = {calloc(s->cap ? s->cap * 2 : 4096, sizeof *s->slot),
                     s->cap ? s->cap * 2 : 4096, s->n};
        if (!t.slot)
            return false;
        for (size_t k = 0; k < s->cap; k++)
            if (s->slot[k][0])
                memcpy(t.slot[h128_probe(&t, s->slot[k])], s->slot[k], 16);
        free(s->slot);
        *s = t;
    }
    size_t i = h128_probe(s, h);
    if (!s->slot[i][0]) {
        s->slot[i][0] = h[0];
        s->slot[i][1] = h[1];
        s->n++;
    }
    return true;
}

static bool h128set_has(const h128set *s, const uint64_t h[2])
{
    return s->cap && s->slot[h128_probe(s, h)][0];
}

static uint16_t ds_index(ctx *c, const char *name, size_t len, bool *ok)
{
    *ok = true;
    for (size_t i = c->n_ds; i-- > 0;)
        if (strlen(c->ds[i]) == len && memcmp(c->ds[i], name, len) == 0)
            return (uint16_t)i;
    if (c->n_ds >= UINT16_MAX || !grow((void **)&c->ds, &c->cap_ds, c->n_ds + 1,
                                       sizeof *c->ds)) {
        *ok = false;
        return 0;
    }
    const char *s = dl_arena_strndup(c->arena, name, len);
    if (!s) {
        *ok = false;
        return 0;
    }
    c->ds[c->n_ds] = s;
    return (uint16_t)c->n_ds++;
}

static dl_status warn(ctx *c, const char *fmt, ...) DL_PRINTF(2, 3);
static dl_status warn(ctx *c, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    char *s = strdup(buf);
    if (!s || !grow((void **)&c->warn, &c->cap_warn, c->n_warn + 1, sizeof *c->warn)) {
        free(s);
        return ENOMEM_RET(c);
    }
    c->warn[c->n_warn++] = s;
    return DL_OK;
}

/* Byte column of field I in a row as dolen writes it (unquoted fields). */
static uint64_t col_of(const dl_row *row, size_t i)
{
    uint64_t col = 1;
    for (size_t j = 0; j < i && j < row->n; j++)
        col += row->len[j] + 1;
    return col;
}

static char *path_in(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (p) {
        memcpy(p, dir, a);
        p[a] = '/';
        memcpy(p + a + 1, name, b + 1);
    }
    return p;
}

/* The folder of PATH ("." when it has none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *sl = strrchr(path, '/');
    if (!sl)
        return strdup(".");
    if (sl == path)
        return strdup("/");
    return strndup(path, (size_t)(sl - path));
}

static const char *base_of(const char *path)
{
    const char *sl = strrchr(path, '/');
    return sl ? sl + 1 : path;
}

static void hex12(const uint8_t sha[32], char out[13])
{
    char h[65];
    dl_sha256_hex(sha, h);
    memcpy(out, h, 12);
    out[12] = '\0';
}

/* Open a CSV and map the header columns NAMES to indexes in IDX. */
static dl_status open_csv(ctx *c, const char *path, size_t n, const char *const *names,
                          int *idx, dl_csv_reader **out)
{
    dl_status s = dl_csv_open(path, NULL, out, c->err);
    if (s != DL_OK)
        return s;
    for (size_t i = 0; i < n; i++) {
        idx[i] = dl_csv_find_column(*out, names[i]);
        if (idx[i] < 0) {
            dl_csv_close(*out);
            *out = NULL;
            return dl_error_set(c->err, DL_EINPUT, path, 1, 0,
                                "no column '%s' (expected the header link writes)", names[i]);
        }
    }
    return DL_OK;
}

/* A DL_EROW from the reader is fatal here: files from dolen are never ragged,
 * and skipping a row would lose it. */
static dl_status next_row(dl_csv_reader *r, dl_row *row, dl_error *err)
{
    dl_status s = dl_csv_next(r, row, err);
    if (s == DL_EROW)
        err->code = s = DL_EINPUT;
    return s;
}

/* ---- 1. the chain of manifests --------------------------------------------- */

static const dl_manifest_output *find_output(const dl_manifest *m, const char *name)
{
    for (size_t i = 0; i < dl_manifest_n_outputs(m); i++) {
        const dl_manifest_output *x = dl_manifest_output_at(m, i);
        if (strcmp(x->name, name) == 0)
            return x;
    }
    return NULL;
}

/* Hash PATH and compare with what manifest MPATH says of NAME in M. */
static dl_status check_listed(ctx *c, const dl_manifest *m, const char *mpath, const char *path,
                              uint8_t sha[32], uint64_t *bytes, uint64_t *rows)
{
    const char *name = base_of(path);
    const dl_manifest_output *x = find_output(m, name);
    if (!x)
        return dl_error_set(c->err, DL_EINPUT, mpath, 0, 0,
                            "does not list %s (expected the manifest written with it)", name);
    struct stat sb;
    if (stat(path, &sb) != 0)
        return dl_error_os(c->err, DL_EINPUT, errno, path, "cannot open");
    dl_status s = dl_sha256_file_size(path, sha, bytes, c->err);
    if (s != DL_OK)
        return s;
    if (*bytes != x->bytes || memcmp(sha, x->sha256, 32) != 0) {
        char a[13], b[13];
        hex12(sha, a);
        hex12(x->sha256, b);
        return dl_error_set(c->err, DL_EINPUT, path, 0, 0,
                            "changed since %s was written (SHA-256 %s..., the manifest says "
                            "%s...)",
                            base_of(mpath), a, b);
    }
    if (rows)
        *rows = x->rows;
    return DL_OK;
}

static bool link_has_input(const dl_manifest *m, const uint8_t sha[32])
{
    for (size_t i = 0; i < dl_manifest_n_inputs(m); i++) {
        const dl_manifest_input *in = dl_manifest_input_at(m, i);
        if (in->has_sha256 && memcmp(in->sha256, sha, 32) == 0)
            return true;
    }
    return false;
}

static dl_status load_link_manifest(ctx *c)
{
    char *dir = dir_of(c->o->clusters);
    if (!dir)
        return ENOMEM_RET(c);
    c->lm_path = path_in(dir, "link.manifest.json");
    c->links_path = path_in(dir, "links.csv.gz");
    c->review_path = path_in(dir, "review.csv.gz");
    free(dir);
    if (!c->lm_path || !c->links_path || !c->review_path)
        return ENOMEM_RET(c);
    dl_status s = dl_manifest_load(c->lm_path, &c->lm, c->err);
    if (s != DL_OK) {
        if (s == DL_EIO && c->err->os_errno == ENOENT)
            return dl_error_set(c->err, DL_EINPUT, c->lm_path, 0, 0,
                                "not found (expected link.manifest.json beside the clusters "
                                "file: it proves which run they come from)");
        return s;
    }
    const char *cmd = dl_manifest_command(c->lm);
    if (!cmd || strcmp(cmd, "link") != 0)
        return dl_error_set(c->err, DL_EINPUT, c->lm_path, 0, 0,
                            "not a link manifest (command is '%s', expected 'link')",
                            cmd ? cmd : "null");
    if ((s = dl_sha256_file_size(c->lm_path, c->lm_sha, &c->lm_bytes, c->err)) != DL_OK)
        return s;
    uint64_t b;
    if ((s = check_listed(c, c->lm, c->lm_path, c->o->clusters, c->cl_sha, &b, &c->cl_rows)))
        return s;
    if ((s = check_listed(c, c->lm, c->lm_path, c->links_path, c->li_sha, &b, &c->li_rows)))
        return s;
    return check_listed(c, c->lm, c->lm_path, c->review_path, c->rv_sha, &b, &c->rv_rows);
}

static dl_status check_content_chain(ctx *c, cfile *f)
{
    const char *base = base_of(f->path);
    static const char suffix[] = ".content.csv.gz";
    size_t bl = strlen(base), sl = sizeof suffix - 1;
    if (bl <= sl || strcmp(base + bl - sl, suffix) != 0)
        return dl_error_set(c->err, DL_EUSAGE, f->path, 0, 0,
                            "not a content file (expected NAME.content.csv.gz as prepare "
                            "writes it)");
    f->name = dl_arena_strndup(c->arena, base, bl - sl);
    char *dir = dir_of(f->path), mname[300], iname[300];
    if (!dir || !f->name)
        return free(dir), ENOMEM_RET(c);
    snprintf(mname, sizeof mname, "%s.manifest.json", f->name);
    snprintf(iname, sizeof iname, "%s.ids.csv.gz", f->name);
    f->manifest_path = path_in(dir, mname);
    free(dir);
    if (!f->manifest_path)
        return ENOMEM_RET(c);
    dl_manifest *m = NULL;
    dl_status s = dl_manifest_load(f->manifest_path, &m, c->err);
    if (s != DL_OK) {
        if (s == DL_EIO && c->err->os_errno == ENOENT)
            return dl_error_set(c->err, DL_EINPUT, f->manifest_path, 0, 0,
                                "not found (expected the manifest prepare wrote beside %s)",
                                base);
        return s;
    }
    const char *ds = dl_manifest_dataset(m);
    if (!ds || strcmp(ds, f->name) != 0) {
        s = dl_error_set(c->err, DL_EINPUT, f->manifest_path, 0, 0,
                         "is for dataset '%s' (expected '%s', the name of the content file)",
                         ds ? ds : "null", f->name);
        goto done;
    }
    uint64_t rows;
    if ((s = check_listed(c, m, f->manifest_path, f->path, f->sha, &f->bytes, &rows)))
        goto done;
    const dl_manifest_output *ids = find_output(m, iname);
    if (!ids) {
        s = dl_error_set(c->err, DL_EINPUT, f->manifest_path, 0, 0,
                         "does not list %s (expected prepare's manifest: extract needs the "
                         "ids file's SHA-256 to find the linkage run)", iname);
        goto done;
    }
    memcpy(f->ids_sha, ids->sha256, 32);
    if (!link_has_input(c->lm, ids->sha256)) {
        char h[13];
        hex12(ids->sha256, h);
        s = dl_error_set(c->err, DL_EINPUT, f->path, 0, 0,
                         "is not from the linkage run of %s: its ids file (SHA-256 %s...) is "
                         "not among the inputs of %s (expected the clusters of the run that "
                         "linked %s)",
                         base_of(c->o->clusters), h, c->lm_path, iname);
        goto done;
    }
    s = dl_sha256_file_size(f->manifest_path, f->msha, &f->mbytes, c->err);
done:
    dl_manifest_free(m);
    return s;
}

/* ---- 2. clusters, links, review, tokens ------------------------------------- */

static dl_status load_clusters(ctx *c)
{
    static const char *const names[] = {"dataset", "slf", "alf", "match_probability"};
    int ix[4];
    dl_csv_reader *r = NULL;
    const char *path = c->o->clusters;
    dl_status s = open_csv(c, path, 4, names, ix, &r);
    if (s != DL_OK)
        return s;
    /* Sized from the manifest's row count (checked against the file's hash),
     * so the tables are not rehashed while loading. */
    if (c->cl_rows != DL_MANIFEST_NO_ROWS && c->cl_rows < UINT32_MAX) {
        size_t cap = 4096;
        while (cap * 7 < c->cl_rows * 10)
            cap *= 2;
        c->rix.slot = calloc(cap, sizeof *c->rix.slot);
        c->recs = malloc((size_t)c->cl_rows * sizeof *c->recs + 1);
        if (!c->rix.slot || !c->recs) {
            dl_csv_close(r);
            return ENOMEM_RET(c);
        }
        c->rix.cap = cap;
        c->cap_recs = (size_t)c->cl_rows;
    }
    dl_row row;
    while ((s = next_row(r, &row, c->err)) == DL_OK) {
        uint8_t slf[16];
        uint64_t alf;
        uint32_t prob;
        const int bad = row.len[ix[1]] != 32 || !unhex(row.field[ix[1]], 32, slf) ? 1
                        : !parse_u64(row.field[ix[2]], row.len[ix[2]], &alf) || !alf ? 2
                        : !parse_prob(row.field[ix[3]], row.len[ix[3]], &prob)       ? 3
                        : row.len[ix[0]] == 0                                        ? 0
                                                                                     : -1;
        if (bad >= 0) {
            static const char *const what[] = {"an empty dataset (expected a name)",
                                               "a bad SLF (expected 32 hex digits)",
                                               "a bad ALF (expected a decimal from 1 to "
                                               "2^64-1)",
                                               "a bad match probability (expected a decimal "
                                               "from 0 to 1)"};
            s = dl_error_set(c->err, DL_EINPUT, path, row.line, col_of(&row, (size_t)ix[bad]),
                             "%s", what[bad]);
            break;
        }
        rec *old = rec_find(c, slf);
        if (old) {
            s = dl_error_set(c->err, DL_EINPUT, path, row.line, col_of(&row, (size_t)ix[1]),
                             "duplicate SLF (an SLF is one record; expected each once)");
            break;
        }
        bool ok;
        uint16_t d = ds_index(c, row.field[ix[0]], row.len[ix[0]], &ok);
        uint32_t cl = ok ? clus_get(c, alf) : NO_CLUSTER;
        rec *x = cl != NO_CLUSTER ? rec_add(c, slf) : NULL;
        if (!x) {
            s = ENOMEM_RET(c);
            break;
        }
        x->cluster = cl;
        x->prob = prob;
        x->dataset = d;
        c->clus[cl].size++;
    }
    dl_csv_close(r);
    return s == DL_END ? DL_OK : s;
}

/* Links set F_EXACT, review pairs F_REVIEW. A link counts for status 1 only
 * inside one cluster: one-to-one and spine clustering may drop a link above
 * the threshold, and a dropped link proves nothing about the ALF. */
static dl_status load_pairs(ctx *c, const char *path, bool review)
{
    static const char *const names[] = {"slf_a", "slf_b", "match_probability", "pattern"};
    int ix[4];
    dl_csv_reader *r = NULL;
    dl_status s = open_csv(c, path, 4, names, ix, &r);
    if (s != DL_OK)
        return s;
    dl_row row;
    while ((s = next_row(r, &row, c->err)) == DL_OK) {
        rec *x[2] = {NULL, NULL};
        for (int k = 0; k < 2; k++) {
            uint8_t slf[16];
            /* The error is set before the reader is closed: ROW points into it. */
            if (row.len[ix[k]] != 32 || !unhex(row.field[ix[k]], 32, slf)) {
                s = dl_error_set(c->err, DL_EINPUT, path, row.line, col_of(&row, (size_t)ix[k]),
                                 "a bad SLF (expected 32 hex digits)");
                dl_csv_close(r);
                return s;
            }
            if (!(x[k] = rec_find(c, slf))) {
                s = dl_error_set(c->err, DL_EINPUT, path, row.line, col_of(&row, (size_t)ix[k]),
                                 "an SLF that is not in %s (expected both files from one run)",
                                 base_of(c->o->clusters));
                dl_csv_close(r);
                return s;
            }
        }
        if (review) {
            uint32_t p;
            if (!parse_prob(row.field[ix[2]], row.len[ix[2]], &p)) {
                s = dl_error_set(c->err, DL_EINPUT, path, row.line, col_of(&row, (size_t)ix[2]),
                                 "a bad match probability (expected a decimal from 0 to 1)");
                dl_csv_close(r);
                return s;
            }
            for (int k = 0; k < 2; k++) {
                x[k]->flags |= F_REVIEW;
                if (p > x[k]->review)
                    x[k]->review = p;
            }
        } else {
            const char *pat = row.field[ix[3]];
            bool first_exact = pat[0] == '1' && (pat[1] == '-' || pat[1] == '\0');
            if (first_exact && x[0]->cluster == x[1]->cluster) {
                x[0]->flags |= F_EXACT;
                x[1]->flags |= F_EXACT;
            }
        }
    }
    dl_csv_close(r);
    return s == DL_END ? DL_OK : s;
}

/* Every token of an ids file: each cell of a token column holds up to four
 * 16-hex tokens separated by spaces (docs/formats.md). Bloom filters (base64)
 * are not tokens and are skipped. */
static dl_status load_ids(ctx *c, size_t k)
{
    const char *path = c->o->ids[k];
    dl_status s = dl_sha256_file(path, c->ids_sha[k], c->err);
    if (s != DL_OK)
        return s;
    if (!link_has_input(c->lm, c->ids_sha[k]))
        return dl_error_set(c->err, DL_EINPUT, path, 0, 0,
                            "is not among the inputs of %s (expected an ids file of the run "
                            "the clusters come from)",
                            c->lm_path);
    dl_csv_reader *r = NULL;
    if ((s = dl_csv_open(path, NULL, &r, c->err)) != DL_OK)
        return s;
    const dl_row *h = dl_csv_header(r);
    size_t nh = h->n;
    bool *use = calloc(nh ? nh : 1, 1);
    if (!use) {
        dl_csv_close(r);
        return ENOMEM_RET(c);
    }
    for (size_t i = 0; i < nh; i++) {
        size_t l = h->len[i];
        bool bloom = (l >= 6 && strcmp(h->field[i] + l - 6, ".bloom") == 0) ||
                     strcmp(h->field[i], "clk") == 0;
        use[i] = !bloom && strcmp(h->field[i], "slf") != 0;
    }
    dl_row row;
    uint64_t n = 0;
    while ((s = next_row(r, &row, c->err)) == DL_OK) {
        n++;
        for (size_t i = 0; i < row.n; i++) {
            if (!use[i])
                continue;
            const char *p = row.field[i];
            size_t len = row.len[i];
            for (size_t j = 0; j + 16 <= len; j += 17) {
                uint8_t b[8];
                if (!unhex(p + j, 16, b)) {
                    s = dl_error_set(c->err, DL_EINPUT, path, row.line,
                                     col_of(&row, i) + j,
                                     "a bad token (expected 16 hex digits)");
                    goto out;
                }
                uint64_t t = load_be64(b);
                if (t && !u64set_add(&c->tokens, t)) {
                    s = ENOMEM_RET(c);
                    goto out;
                }
            }
        }
    }
out:
    c->ids_tokens[k] = n;
    free(use);
    dl_csv_close(r);
    return s == DL_END ? DL_OK : s;
}

/* ---- 3. content: the column plan, pass 1, pass 2 ----------------------------- */

static const char *const added[] = {"ALF_E", "ALF_MTCH_PCT", "ALF_STS"};

static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return true;
    return false;
}

/* What to do with each column of F's header; ACT[i], HOW[i]. */
static dl_status plan(ctx *c, const cfile *f, const dl_row *h, unsigned char *act,
                      dl_coarsen *how)
{
    const dl_extract_opts *o = c->o;
    if (h->n == 0 || strcmp(h->field[0], "slf") != 0)
        return dl_error_set(c->err, DL_EINPUT, f->path, 1, 1,
                            "first column is not 'slf' (expected a content file written by "
                            "dolen prepare)");
    act[0] = ACT_DROP;
    how[0] = DL_COARSEN_NONE;
    for (size_t i = 1; i < h->n; i++) {
        const char *name = h->field[i];
        how[i] = DL_COARSEN_NONE;
        act[i] = ACT_KEEP;
        if (in_list(name, 3, added))
            return dl_error_set(c->err, DL_EINPUT, f->path, 1, col_of(h, i),
                                "a column named '%s' (a name extract adds; expected none)",
                                name);
        if (in_list(name, o->n_identifying, o->identifying))
            act[i] = ACT_IDENT;
        else if (in_list(name, o->n_drop, o->drop))
            act[i] = ACT_DROP;
        for (size_t k = 0; k < o->n_coarsen; k++)
            if (strcmp(name, o->coarsen_columns[k]) == 0 &&
                (act[i] == ACT_KEEP || act[i] == ACT_COARSEN)) { /* the last given wins */
                act[i] = ACT_COARSEN;
                how[i] = o->coarsen[k];
            }
    }
    return DL_OK;
}

/* Every column an option names must be in some content file: a typo would
 * otherwise silently publish what the user meant to drop. */
static dl_status check_option_columns(ctx *c, const dl_row *const *hdr)
{
    const dl_extract_opts *o = c->o;
    const struct {
        const char *opt;
        size_t n;
        const char *const *cols;
    } lists[] = {{"--drop", o->n_drop, o->drop},
                 {"--identifying", o->n_identifying, o->identifying},
                 {"--coarsen", o->n_coarsen, o->coarsen_columns}};
    for (size_t l = 0; l < 3; l++)
        for (size_t k = 0; k < lists[l].n; k++) {
            const char *col = lists[l].cols[k];
            bool found = false;
            for (size_t f = 0; f < c->n_files && !found; f++)
                for (size_t i = 1; i < hdr[f]->n && !found; i++)
                    found = strcmp(hdr[f]->field[i], col) == 0;
            if (found)
                continue;
            const char *cand[256];
            size_t nc = 0;
            for (size_t f = 0; f < c->n_files; f++)
                for (size_t i = 1; i < hdr[f]->n && nc < 256; i++)
                    cand[nc++] = hdr[f]->field[i];
            const char *near = dl_suggest(col, cand, nc);
            if (near)
                return dl_error_set(c->err, DL_EUSAGE, NULL, 0, 0,
                                    "%s %s: no content file has that column (did you mean "
                                    "'%s'?)",
                                    lists[l].opt, col, near);
            return dl_error_set(c->err, DL_EUSAGE, NULL, 0, 0,
                                "%s %s: no content file has that column", lists[l].opt, col);
        }
    for (size_t k = 0; k < o->n_coarsen; k++)
        if (in_list(o->coarsen_columns[k], o->n_drop, o->drop) ||
            in_list(o->coarsen_columns[k], o->n_identifying, o->identifying))
            return dl_error_set(c->err, DL_EUSAGE, NULL, 0, 0,
                                "--coarsen %s: the column is also dropped (expected one or "
                                "the other)",
                                o->coarsen_columns[k]);
    return DL_OK;
}

/* Where SLF first occurs among the content files (for the duplicate
 * message): read again, as this only runs on the error path. */
static void first_seen(ctx *c, const uint8_t slf[16], const char **file, uint64_t *line)
{
    *file = NULL;
    *line = 0;
    for (size_t k = 0; k < c->n_files && !*file; k++) {
        dl_csv_reader *r = NULL;
        dl_error e = DL_ERROR_INIT;
        if (dl_csv_open(c->files[k].path, NULL, &r, &e) != DL_OK)
            continue;
        dl_row row;
        while (dl_csv_next(r, &row, &e) == DL_OK) {
            uint8_t b[16];
            if (row.len[0] == 32 && unhex(row.field[0], 32, b) && memcmp(b, slf, 16) == 0) {
                *file = c->files[k].path;
                *line = row.line;
                break;
            }
        }
        dl_csv_close(r);
    }
}

static dl_status pass1(ctx *c, cfile *f, dl_csv_reader *r, const unsigned char *act)
{
    dl_row row;
    dl_status s;
    while ((s = next_row(r, &row, c->err)) == DL_OK) {
        uint8_t slf[16];
        if (row.len[0] != 32 || !unhex(row.field[0], 32, slf))
            return dl_error_set(c->err, DL_EINPUT, f->path, row.line, 1,
                                "a bad SLF (expected 32 hex digits)");
        rec *x = rec_find(c, slf);
        if (x && (x->flags & F_SEEN)) {
            const char *ff;
            uint64_t fl;
            first_seen(c, slf, &ff, &fl);
            return dl_error_set(c->err, DL_EINPUT, f->path, row.line, 1,
                                "duplicate SLF, first at %s:%llu (expected each record once)",
                                ff ? base_of(ff) : "?", (unsigned long long)fl);
        }
        if (x && x->dataset != f->ds)
            return dl_error_set(c->err, DL_EINPUT, f->path, row.line, 1,
                                "an SLF the clusters give to dataset '%s' (expected '%s')",
                                c->ds[x->dataset], f->name);
        if (!x) {
            if (!(x = rec_add(c, slf)))
                return ENOMEM_RET(c);
            x->dataset = f->ds;
            x->flags = F_CONTENT_ONLY;
            f->st.not_in_clusters++;
        }
        x->flags |= F_SEEN;
        for (size_t i = 1; i < row.n; i++) {
            uint64_t h[2];
            if (act[i] == ACT_IDENT && clear_hash(row.field[i], row.len[i], h) &&
                !h128set_add(&c->clear, h))
                return ENOMEM_RET(c);
        }
        f->st.rows_in++;
    }
    return s == DL_END ? DL_OK : s;
}

static dl_status leak(ctx *c, const cfile *f, const dl_row *row, size_t out_col,
                      const char *colname, const char *what)
{
    return dl_error_set(c->err, DL_EINPUT, f->path, row->line, out_col,
                        "leak check: extract column %zu ('%s') holds %s; no extract written "
                        "(expected no identifier in any cell)",
                        out_col, colname, what);
}

/* Check one output cell. OWN_ALF is the record's ALF for the ALF_E cell
 * (compared with it alone: a chance equality of a keyed hash with some other
 * ALF is not a leak), else 0. */
static dl_status check_cell(ctx *c, const cfile *f, const dl_row *row, size_t out_col,
                            const char *colname, const char *s, size_t n, bool alfe,
                            uint64_t own_alf)
{
    c->cells_checked++;
    uint64_t v;
    if (parse_u64(s, n, &v)) {
        if (alfe ? v == own_alf : clus_has(c, v))
            return leak(c, f, row, out_col, colname, "an ALF of the clusters");
    }
    /* SLFs and tokens are hex; look at every 32- and 16-digit window of every
     * run of hex digits, so one embedded in longer text is found too. */
    for (size_t i = 0; i < n;) {
        if (hexval((unsigned char)s[i]) < 0) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < n && hexval((unsigned char)s[j]) >= 0)
            j++;
        for (size_t k = i; k + 32 <= j; k++) {
            uint8_t b[16];
            if (unhex(s + k, 32, b) && rec_find(c, b))
                return leak(c, f, row, out_col, colname, "an SLF of the inputs");
        }
        if (c->tokens.n)
            for (size_t k = i; k + 16 <= j; k++) {
                uint8_t b[8];
                if (unhex(s + k, 16, b) && u64set_has(&c->tokens, load_be64(b)))
                    return leak(c, f, row, out_col, colname, "a token of the ids files");
            }
        i = j;
    }
    uint64_t h[2];
    if (c->clear.n && clear_hash(s, n, h) && h128set_has(&c->clear, h))
        return leak(c, f, row, out_col, colname, "a value of an identifying column");
    return DL_OK;
}

static dl_status pass2(ctx *c, cfile *f, dl_csv_reader *r, const unsigned char *act,
                       const dl_coarsen *how)
{
    const dl_row *h = dl_csv_header(r);
    size_t n_out = 3;
    for (size_t i = 1; i < h->n; i++)
        n_out += act[i] != ACT_DROP && act[i] != ACT_IDENT;
    const char **cells = malloc(n_out * sizeof *cells);
    const char **names = malloc(n_out * sizeof *names);
    size_t *lens = malloc(n_out * sizeof *lens);
    /* One 11-byte slot per coarsened column: no allocation per row. */
    char(*dates)[11] = malloc(h->n * sizeof *dates);
    dl_csv_writer *w = NULL;
    dl_status s = DL_OK;
    if (!cells || !names || !lens || !dates) {
        s = ENOMEM_RET(c);
        goto out;
    }
    memcpy(names, added, sizeof added);
    for (size_t i = 1, k = 3; i < h->n; i++)
        if (act[i] != ACT_DROP && act[i] != ACT_IDENT)
            names[k++] = h->field[i];
    if ((s = dl_outfile_create(f->out_path, 0640, &f->of, c->err)) != DL_OK)
        goto out;
    if ((s = dl_csv_writer_open(f->of, NULL, &w, c->err)) != DL_OK)
        goto out;
    if ((s = dl_csv_write_row(w, n_out, names, NULL, c->err)) != DL_OK)
        goto out;
    dl_row row;
    char alfe[24], pct[16], sts[4];
    while ((s = next_row(r, &row, c->err)) == DL_OK) {
        uint8_t slf[16];
        rec *x = row.len[0] == 32 && unhex(row.field[0], 32, slf) ? rec_find(c, slf) : NULL;
        if (!x) {   /* pass 1 saw every SLF: the file changed under us */
            s = dl_error_set(c->err, DL_EINPUT, f->path, row.line, 1,
                             "changed while being read (expected the SLF read before)");
            goto out;
        }
        bool linked = x->cluster != NO_CLUSTER && c->clus[x->cluster].size > 1;
        dl_alf_sts st = dl_alf_sts_of(linked, x->flags & F_EXACT, x->flags & F_REVIEW);
        uint64_t alf = x->cluster != NO_CLUSTER ? c->clus[x->cluster].alf : 0;
        uint32_t p = st == DL_ALF_STS_REVIEW ? x->review : linked ? x->prob : 0;
        lens[0] = linked ? (size_t)snprintf(alfe, sizeof alfe, "%llu",
                                            (unsigned long long)dl_extract_alf_e(&c->alfkey,
                                                                                 alf))
                         : 0;
        alfe[lens[0]] = '\0';
        lens[1] = (size_t)snprintf(pct, sizeof pct, "%u.%06u", p / 1000000, p % 1000000);
        lens[2] = (size_t)snprintf(sts, sizeof sts, "%d", (int)st);
        cells[0] = alfe, cells[1] = pct, cells[2] = sts;
        size_t k = 3;
        for (size_t i = 1; i < row.n; i++) {
            if (act[i] == ACT_DROP || act[i] == ACT_IDENT)
                continue;
            if (act[i] == ACT_COARSEN) {
                int32_t ymd;
                size_t dn = 0;
                if (row.len[i] && dl_extract_parse_date(row.field[i], row.len[i], &ymd))
                    dn = dl_coarsen_ymd(ymd, how[i], dates[i]);
                /* A value that is not a date, or lacks the part asked for,
                 * is written empty: its raw text may be as precise as a date. */
                if (!dn && row.len[i])
                    f->st.bad_dates++;
                dates[i][dn] = '\0';
                cells[k] = dates[i];
                lens[k++] = dn;
            } else {
                cells[k] = row.field[i];
                lens[k++] = row.len[i];
            }
        }
        for (size_t j = 0; j < n_out; j++)
            if ((s = check_cell(c, f, &row, j + 1, names[j], cells[j], lens[j], j == 0,
                                alf)) != DL_OK)
                goto out;
        if ((s = dl_csv_write_row(w, n_out, cells, lens, c->err)) != DL_OK)
            goto out;
        f->st.rows_out++;
        f->st.status[st]++;
        if (x->cluster != NO_CLUSTER)
            c->clus[x->cluster].mask |= f->bit;
        else
            c->counts[f->bit]++; /* a record unknown to the clusters: a person alone */
    }
    if (s == DL_END) {
        s = dl_csv_writer_close(w, c->err);
        w = NULL;
    }
out:
    dl_csv_writer_free(w);
    free(cells), free(names), free(lens), free(dates);
    return s;
}

static dl_status process_content(ctx *c)
{
    /* Headers of all files first: the option columns are checked against the
     * union of them before any row is read. */
    dl_csv_reader *rd[DL_EXTRACT_MAX_FILES] = {0};
    const dl_row *hdr[DL_EXTRACT_MAX_FILES];
    unsigned char *act[DL_EXTRACT_MAX_FILES] = {0};
    dl_coarsen *how[DL_EXTRACT_MAX_FILES] = {0};
    dl_status s = DL_OK;
    for (size_t k = 0; k < c->n_files && s == DL_OK; k++) {
        cfile *f = &c->files[k];
        if ((s = dl_csv_open(f->path, NULL, &rd[k], c->err)) != DL_OK)
            break;
        hdr[k] = dl_csv_header(rd[k]);
        act[k] = malloc(hdr[k]->n + 1);
        how[k] = malloc((hdr[k]->n + 1) * sizeof(dl_coarsen));
        if (!act[k] || !how[k])
            s = ENOMEM_RET(c);
        else
            s = plan(c, f, hdr[k], act[k], how[k]);
    }
    if (s == DL_OK)
        s = check_option_columns(c, hdr);
    for (size_t k = 0; k < c->n_files && s == DL_OK; k++) {
        s = pass1(c, &c->files[k], rd[k], act[k]);
        dl_csv_close(rd[k]);
        rd[k] = NULL;
    }
    for (size_t k = 0; k < c->n_files && s == DL_OK; k++) {
        cfile *f = &c->files[k];
        if (f->st.not_in_clusters)
            s = warn(c,
                     "%s: %llu of %llu SLFs are not in %s; they are kept as unlinked (status "
                     "0)",
                     base_of(f->path), (unsigned long long)f->st.not_in_clusters,
                     (unsigned long long)f->st.rows_in, base_of(c->o->clusters));
    }
    for (size_t k = 0; k < c->n_files && s == DL_OK; k++) {
        cfile *f = &c->files[k];
        dl_csv_reader *r = NULL;
        if ((s = dl_csv_open(f->path, NULL, &r, c->err)) != DL_OK)
            break;
        s = pass2(c, f, r, act[k], how[k]);
        dl_csv_close(r);
        if (s == DL_OK && f->st.rows_out != f->st.rows_in)
            s = dl_error_set(c->err, DL_EINTERNAL, f->path, 0, 0,
                             "%llu rows in, %llu written (expected equal)",
                             (unsigned long long)f->st.rows_in,
                             (unsigned long long)f->st.rows_out);
        if (s == DL_OK && f->st.bad_dates)
            s = warn(c, "%s: %llu values of coarsened columns are not dates; written empty",
                     base_of(f->path), (unsigned long long)f->st.bad_dates);
    }
    for (size_t k = 0; k < c->n_files; k++) {
        dl_csv_close(rd[k]);
        free(act[k]);
        free(how[k]);
    }
    return s;
}

/* ---- 4. overlap table and manifest ------------------------------------------- */

static void sdc_marker(const dl_sdc_rule *r, char out[32])
{
    snprintf(out, 32, "<%llu", (unsigned long long)(r->min_cell > 1 ? r->min_cell : 1));
}

static dl_status write_overlap(ctx *c, dl_extract_result *res, dl_outfile_info *ci,
                               dl_outfile_info *ji)
{
    const dl_sdc_rule *rule = &c->o->sdc;
    size_t n = c->n_files, nc = res->n_combos;
    char *csv = path_in(c->o->outdir, "overlap.csv");
    char *json = path_in(c->o->outdir, "overlap.json");
    dl_outfile *of = NULL;
    dl_csv_writer *w = NULL;
    dl_buf b = DL_BUF_INIT;
    dl_status s = DL_OK;
    if (!csv || !json) {
        s = ENOMEM_RET(c);
        goto out;
    }
    const char *cells[DL_EXTRACT_MAX_FILES + 1];
    char num[32], marker[32];
    sdc_marker(rule, marker);
    if ((s = dl_outfile_create(csv, 0644, &of, c->err)) ||
        (s = dl_csv_writer_open(of, NULL, &w, c->err)))
        goto out;
    for (size_t d = 0; d < n; d++)
        cells[d] = c->files[d].name;
    cells[n] = "people";
    if ((s = dl_csv_write_row(w, n + 1, cells, NULL, c->err)))
        goto out;
    for (size_t i = 0; i < nc; i++) {
        for (size_t d = 0; d < n; d++)
            cells[d] = ((i + 1) >> d & 1) ? "1" : "0";
        if (res->suppressed[i])
            cells[n] = marker;
        else {
            snprintf(num, sizeof num, "%llu", (unsigned long long)res->shown[i]);
            cells[n] = num;
        }
        if ((s = dl_csv_write_row(w, n + 1, cells, NULL, c->err)))
            goto out;
    }
    s = dl_csv_writer_close(w, c->err);
    w = NULL;
    if (s || (s = dl_outfile_commit(of, ci, c->err))) {
        of = NULL;
        goto out;
    }
    of = NULL;

    dl_json_writer jw;
    dl_jw_init(&jw, &b);
    dl_jw_object(&jw);
    dl_jw_key(&jw, "datasets");
    dl_jw_array(&jw);
    for (size_t d = 0; d < n; d++)
        dl_jw_string(&jw, c->files[d].name);
    dl_jw_array_end(&jw);
    dl_jw_key(&jw, "rule");
    dl_jw_object(&jw);
    dl_jw_key(&jw, "min_cell");
    dl_jw_uint(&jw, rule->min_cell);
    dl_jw_key(&jw, "round");
    dl_jw_uint(&jw, rule->round);
    dl_jw_key(&jw, "suppress_zero");
    dl_jw_bool(&jw, rule->suppress_zero);
    dl_jw_key(&jw, "suppressed_as");
    dl_jw_string(&jw, marker);
    dl_jw_object_end(&jw);
    dl_jw_key(&jw, "combinations");
    dl_jw_array(&jw);
    for (size_t i = 0; i < nc; i++) {
        dl_jw_object(&jw);
        dl_jw_key(&jw, "in");
        dl_jw_array(&jw);
        for (size_t d = 0; d < n; d++)
            if ((i + 1) >> d & 1)
                dl_jw_string(&jw, c->files[d].name);
        dl_jw_array_end(&jw);
        dl_jw_key(&jw, "people");
        if (res->suppressed[i])
            dl_jw_null(&jw);
        else
            dl_jw_uint(&jw, res->shown[i]);
        dl_jw_key(&jw, "suppressed");
        dl_jw_bool(&jw, res->suppressed[i]);
        dl_jw_object_end(&jw);
    }
    dl_jw_array_end(&jw);
    dl_jw_object_end(&jw);
    if ((s = dl_jw_finish(&jw, c->err)) == DL_OK)
        s = dl_outfile_write_file(json, 0644, b.data, b.len, ji, c->err);
out:
    dl_csv_writer_free(w);
    dl_outfile_abort(of);
    dl_buf_free(&b);
    free(csv);
    free(json);
    return s;
}

static dl_status extra_json(dl_json_writer *w, dl_error *err, void *payload)
{
    (void)err;
    const ctx *c = payload;
    const dl_extract_opts *o = c->o;
    char hex[65];
    dl_jw_object(w);
    dl_jw_key(w, "link_manifest_sha256");
    dl_sha256_hex(c->lm_sha, hex);
    dl_jw_string(w, hex);
    dl_jw_key(w, "linkage_key_fingerprint");
    const char *lkf = dl_manifest_key_fingerprint(c->lm);
    if (lkf)
        dl_jw_string(w, lkf);
    else
        dl_jw_null(w);
    dl_jw_key(w, "alf_e_label");
    dl_jw_string(w, DL_EXTRACT_ALF_LABEL);
    dl_jw_key(w, "status_codes");
    dl_jw_object(w);
    for (int i = 0; i < DL_ALF_STS__COUNT; i++) {
        char k[4];
        snprintf(k, sizeof k, "%d", i);
        dl_jw_key(w, k);
        dl_jw_string(w, dl_alf_sts_name((dl_alf_sts)i));
    }
    dl_jw_object_end(w);
    dl_jw_key(w, "disclosure");
    dl_jw_object(w);
    dl_jw_key(w, "coarsen");
    dl_jw_object(w);
    for (size_t k = 0; k < o->n_coarsen; k++) {
        bool dup = false;
        for (size_t j = k + 1; j < o->n_coarsen; j++)
            dup |= strcmp(o->coarsen_columns[j], o->coarsen_columns[k]) == 0;
        if (dup)   /* the last one given wins, as in plan() */
            continue;
        dl_jw_key(w, o->coarsen_columns[k]);
        dl_jw_string(w, dl_coarsen_name(o->coarsen[k]));
    }
    dl_jw_object_end(w);
    dl_jw_key(w, "dropped");
    dl_jw_array(w);
    for (size_t k = 0; k < o->n_drop; k++)
        dl_jw_string(w, o->drop[k]);
    dl_jw_array_end(w);
    dl_jw_key(w, "identifying");
    dl_jw_array(w);
    for (size_t k = 0; k < o->n_identifying; k++)
        dl_jw_string(w, o->identifying[k]);
    dl_jw_array_end(w);
    dl_jw_key(w, "min_cell");
    dl_jw_uint(w, o->sdc.min_cell);
    dl_jw_key(w, "round");
    dl_jw_uint(w, o->sdc.round);
    dl_jw_key(w, "suppress_zero");
    dl_jw_bool(w, o->sdc.suppress_zero);
    dl_jw_object_end(w);
    dl_jw_key(w, "leak_check");
    dl_jw_object(w);
    dl_jw_key(w, "cells_checked");
    dl_jw_uint(w, c->cells_checked);
    dl_jw_key(w, "slfs");
    dl_jw_uint(w, c->n_recs);
    dl_jw_key(w, "alfs");
    dl_jw_uint(w, c->n_clus);
    dl_jw_key(w, "tokens");
    dl_jw_uint(w, c->tokens.n);
    dl_jw_key(w, "identifying_values");
    dl_jw_uint(w, c->clear.n);
    dl_jw_key(w, "hits");
    dl_jw_uint(w, 0);
    dl_jw_object_end(w);
    dl_jw_key(w, "datasets");
    dl_jw_array(w);
    for (size_t k = 0; k < c->n_files; k++) {
        const dl_extract_dataset *d = &c->files[k].st;
        dl_jw_object(w);
        dl_jw_key(w, "name");
        dl_jw_string(w, d->name);
        dl_jw_key(w, "rows_in");
        dl_jw_uint(w, d->rows_in);
        dl_jw_key(w, "rows_out");
        dl_jw_uint(w, d->rows_out);
        for (int i = 0; i < DL_ALF_STS__COUNT; i++) {
            dl_jw_key(w, dl_alf_sts_name((dl_alf_sts)i));
            dl_jw_uint(w, d->status[i]);
        }
        dl_jw_key(w, "not_in_clusters");
        dl_jw_uint(w, d->not_in_clusters);
        dl_jw_key(w, "bad_dates");
        dl_jw_uint(w, d->bad_dates);
        dl_jw_object_end(w);
    }
    dl_jw_array_end(w);
    dl_jw_key(w, "warnings");
    dl_jw_array(w);
    for (size_t k = 0; k < c->n_warn; k++)
        dl_jw_string(w, c->warn[k]);
    dl_jw_array_end(w);
    dl_jw_object_end(w);
    return DL_OK;
}

static dl_status write_manifest(ctx *c, const dl_outfile_info *ci, const dl_outfile_info *ji)
{
    dl_manifest *m = NULL;
    dl_status s = dl_manifest_new("extract", &m, c->err);
    if (s != DL_OK)
        return s;
    char fp[17];
    dl_key_fingerprint(c->o->project_key, fp);
    uint64_t in = 0, out = 0;
    if ((s = dl_manifest_set_key_fingerprint(m, fp, c->err)))
        goto done;
    const char *sh = dl_manifest_spec_hash(c->lm);
    if (sh && (s = dl_manifest_set_spec_hash(m, sh, c->err)))
        goto done;
    if ((s = dl_manifest_add_input(m, c->lm_path, 0, c->lm_sha, c->err)) ||
        (s = dl_manifest_add_input(m, c->o->clusters, c->cl_rows, c->cl_sha, c->err)) ||
        (s = dl_manifest_add_input(m, c->links_path, c->li_rows, c->li_sha, c->err)) ||
        (s = dl_manifest_add_input(m, c->review_path, c->rv_rows, c->rv_sha, c->err)))
        goto done;
    for (size_t k = 0; k < c->n_files; k++) {
        const cfile *f = &c->files[k];
        if ((s = dl_manifest_add_input(m, f->manifest_path, 0, f->msha, c->err)) ||
            (s = dl_manifest_add_input(m, f->path, f->st.rows_in, f->sha, c->err)))
            goto done;
        in += f->st.rows_in;
        out += f->st.rows_out;
    }
    for (size_t k = 0; k < c->o->n_ids; k++)
        if ((s = dl_manifest_add_input(m, c->o->ids[k], c->ids_tokens[k], c->ids_sha[k],
                                       c->err)))
            goto done;
    for (size_t k = 0; k < c->n_files; k++)
        if ((s = dl_manifest_add_output(m, base_of(c->files[k].out_path), c->files[k].st.rows_out,
                                        &c->files[k].info, c->err)))
            goto done;
    if ((s = dl_manifest_add_output(m, "overlap.csv", (uint64_t)((1u << c->n_files) - 1), ci,
                                    c->err)) ||
        (s = dl_manifest_add_output(m, "overlap.json", DL_MANIFEST_NO_ROWS, ji, c->err)) ||
        (s = dl_manifest_set_accounting(m, in, out, 0, c->err)) ||
        (s = dl_manifest_set_extra_fn(m, "extract", extra_json, c, c->err)))
        goto done;
    char *mp = path_in(c->o->outdir, "extract.manifest.json");
    if (!mp) {
        s = ENOMEM_RET(c);
        goto done;
    }
    s = dl_manifest_write(m, mp, NULL, c->err);
    free(mp);
done:
    dl_manifest_free(m);
    return s;
}

/* ---- the run -------------------------------------------------------------------- */

void dl_extract_result_free(dl_extract_result *r)
{
    if (!r)
        return;
    for (size_t i = 0; i < r->n_warnings; i++)
        free(r->warnings[i]);
    free(r->warnings);
    for (size_t i = 0; i < r->n_datasets; i++)
        free((char *)r->datasets[i].name);
    free(r->datasets);
    free(r->people);
    free(r->shown);
    free(r->suppressed);
    free(r);
}

static dl_status make_result(ctx *c, dl_extract_result **out)
{
    dl_extract_result *r = calloc(1, sizeof *r);
    if (!r)
        return ENOMEM_RET(c);
    size_t n = c->n_files, nc = ((size_t)1 << n) - 1;
    r->datasets = calloc(n, sizeof *r->datasets);
    r->people = calloc(nc, sizeof *r->people);
    r->shown = calloc(nc, sizeof *r->shown);
    r->suppressed = calloc(nc, sizeof *r->suppressed);
    if (!r->datasets || !r->people || !r->shown || !r->suppressed) {
        dl_extract_result_free(r);
        return ENOMEM_RET(c);
    }
    r->n_combos = nc;
    for (size_t k = 0; k < n; k++) {
        r->datasets[k] = c->files[k].st;
        r->datasets[k].name = strdup(c->files[k].name);
        r->n_datasets = k + 1;
        if (!r->datasets[k].name) {
            dl_extract_result_free(r);
            return ENOMEM_RET(c);
        }
    }
    for (size_t i = 0; i < nc; i++) {
        r->people[i] = c->counts[i + 1];
        r->suppressed[i] = !dl_sdc_apply(&c->o->sdc, r->people[i], &r->shown[i]);
    }
    r->cells_checked = c->cells_checked;
    dl_key_fingerprint(c->o->project_key, r->project_fingerprint);
    dl_sha256_hex(c->lm_sha, r->link_manifest_sha256);
    *out = r;
    return DL_OK;
}

static dl_status check_opts(const dl_extract_opts *o, dl_error *err)
{
    if (!o->clusters || !o->project_key || !o->outdir)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "clusters file, project key and output folder are required");
    if (o->n_content == 0 || o->n_content > DL_EXTRACT_MAX_FILES)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "%zu content files (expected 1 to %d)", o->n_content,
                            DL_EXTRACT_MAX_FILES);
    for (size_t i = 0; i < o->n_coarsen; i++)
        if (o->coarsen[i] == DL_COARSEN_NONE || (unsigned)o->coarsen[i] > DL_COARSEN_YEAR)
            return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                                "--coarsen %s: expected week, month or year",
                                o->coarsen_columns[i]);
    return DL_OK;
}

dl_status dl_extract_run(const dl_extract_opts *o, dl_extract_result **out, dl_error *err)
{
    *out = NULL;
    dl_status s = check_opts(o, err);
    if (s != DL_OK)
        return s;
    ctx *c = calloc(1, sizeof *c);
    if (!c)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    c->o = o;
    c->err = err;
    c->n_files = o->n_content;
    c->arena = dl_arena_new(0);
    c->ids_sha = calloc(o->n_ids + 1, sizeof *c->ids_sha);
    c->ids_tokens = calloc(o->n_ids + 1, sizeof *c->ids_tokens);
    if (!c->arena || !c->ids_sha || !c->ids_tokens) {
        s = ENOMEM_RET(c);
        goto out;
    }
    dl_extract_alf_key(o->project_key, &c->alfkey);

    if ((s = load_link_manifest(c)))
        goto out;
    for (size_t k = 0; k < c->n_files; k++) {
        cfile *f = &c->files[k];
        f->path = o->content[k];
        f->bit = 1u << k;
        if ((s = check_content_chain(c, f)))
            goto out;
        for (size_t j = 0; j < k; j++)
            if (strcmp(c->files[j].name, f->name) == 0) {
                s = dl_error_set(err, DL_EUSAGE, f->path, 0, 0,
                                 "dataset '%s' given twice (expected each content file once)",
                                 f->name);
                goto out;
            }
    }
    if ((s = load_clusters(c)) || (s = load_pairs(c, c->links_path, false)) ||
        (s = load_pairs(c, c->review_path, true)))
        goto out;
    for (size_t k = 0; k < o->n_ids; k++)
        if ((s = load_ids(c, k)))
            goto out;
    for (size_t k = 0; k < c->n_files; k++) {
        cfile *f = &c->files[k];
        bool ok;
        f->ds = ds_index(c, f->name, strlen(f->name), &ok);
        char nm[300];
        snprintf(nm, sizeof nm, "%s.extract.csv.gz", f->name);
        f->out_path = path_in(o->outdir, nm);
        f->st.name = f->name;
        if (!ok || !f->out_path) {
            s = ENOMEM_RET(c);
            goto out;
        }
    }
    struct stat sb;
    if (stat(o->outdir, &sb) != 0 && mkdir(o->outdir, 0755) != 0) {
        s = dl_error_os(err, DL_EIO, errno, o->outdir, "cannot create the output folder");
        goto out;
    }
    if ((s = process_content(c)))
        goto out;

    /* Every extract passed the leak check: only now do they get their names. */
    for (size_t k = 0; k < c->n_files; k++) {
        cfile *f = &c->files[k];
        s = dl_outfile_commit(f->of, &f->info, err);
        f->of = NULL;
        if (s)
            goto out;
        f->committed = true;
    }
    for (size_t i = 0; i < c->n_clus; i++)
        if (c->clus[i].mask)
            c->counts[c->clus[i].mask]++;
    dl_extract_result *res = NULL;
    dl_outfile_info ci, ji;
    if ((s = make_result(c, &res)))
        goto out;
    if ((s = write_overlap(c, res, &ci, &ji)) || (s = write_manifest(c, &ci, &ji))) {
        dl_extract_result_free(res);
        goto out;
    }
    res->n_warnings = c->n_warn;
    res->warnings = c->warn;
    c->warn = NULL;
    c->n_warn = 0;
    *out = res;
out:
    for (size_t k = 0; k < c->n_files; k++) {
        cfile *f = &c->files[k];
        dl_outfile_abort(f->of);
        /* All or nothing: a later failure takes back the extracts already
         * renamed, so no partial bundle is mistaken for a complete one. */
        if (s != DL_OK && f->committed)
            unlink(f->out_path);
        free(f->manifest_path);
        free(f->out_path);
    }
    if (s != DL_OK) {
        char *p = path_in(o->outdir, "overlap.csv");
        char *q = path_in(o->outdir, "overlap.json");
        if (p && c->files[0].committed)
            unlink(p);
        if (q && c->files[0].committed)
            unlink(q);
        free(p);
        free(q);
    }
    dl_hmac_key_cleanse(&c->alfkey);
    for (size_t k = 0; k < c->n_warn; k++)
        free(c->warn[k]);
    free(c->warn);
    free(c->recs);
    free(c->rix.slot);
    free(c->clus);
    free(c->cix.slot);
    free(c->ds);
    free(c->tokens.slot);
    free(c->clear.slot);
    free(c->ids_sha);
    free(c->ids_tokens);
    free(c->lm_path);
    free(c->links_path);
    free(c->review_path);
    dl_manifest_free(c->lm);
    dl_arena_free(c->arena);
    free(c);
    return s;
}
