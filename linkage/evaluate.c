/* evaluate.c: scores links and clusters against ground truth (dolen evaluate).
 * Part of linkage/; runs after link: slfmaps join SLFs to record ids, truth to persons. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dl_config.h"
#include "dolen/mix.h"
#include "dolen/arena.h"
#include "dolen/csv.h"
#include "dolen/evaluate.h"
#include "dolen/hexb64.h"
#include "dolen/json.h"

#define NONE UINT32_MAX
#define MAX_DATASETS 4096
#define SLF_BYTES 16

/* ---- hashing ----------------------------------------------------------------- */

/* FNV-1a over the bytes, then mixed: record ids are short, and FNV's weak
 * high bits are what the table's mask would use. */
static uint64_t hash_bytes(uint32_t tag, const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ tag;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 0x100000001b3ULL;
    }
    return dl_mix64(h ^ len);
}

static uint64_t hash_slf(const uint8_t *p)
{
    uint64_t a, b;
    memcpy(&a, p, 8);
    memcpy(&b, p + 8, 8);
    return dl_mix64(a ^ dl_mix64(b));
}

/* Grow *P (of *CAP items of SIZE bytes) to hold at least NEED items. */
static bool grow(void **p, size_t *cap, size_t need, size_t size)
{
    if (need <= *cap)
        return true;
    size_t c = *cap ? *cap : 1024;
    while (c < need) {
        if (c > SIZE_MAX / 2 / size)
            return false;
        c *= 2;
    }
    void *q = realloc(*p, c * size);
    if (!q)
        return false;
    *p = q;
    *cap = c;
    return true;
}

/* ---- interned strings: (tag, bytes) -> dense id ------------------------------
 * Record ids (tag = dataset), person ids, ALFs and patterns each get one.
 * Open addressing with linear probing at load <= 1/2; the slot holds id + 1. */

typedef struct str_entry {
    const char *s;
    uint64_t hash;
    uint32_t len, tag;
} str_entry;

typedef struct strtab {
    dl_arena *arena;
    str_entry *e;
    size_t n, cap;
    uint32_t *slot;
    size_t mask;
} strtab;

static void strtab_free(strtab *t)
{
    dl_arena_free(t->arena);
    free(t->e);
    free(t->slot);
    memset(t, 0, sizeof *t);
}

static bool strtab_rehash(strtab *t, size_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s)
        return false;
    for (size_t i = 0; i < t->n; i++) {
        size_t k = (size_t)t->e[i].hash & (nslots - 1);
        while (s[k])
            k = (k + 1) & (nslots - 1);
        s[k] = (uint32_t)i + 1;
    }
    free(t->slot);
    t->slot = s;
    t->mask = nslots - 1;
    return true;
}

/* Find (TAG, S) and set *ID; when absent and ADD, add it. Returns 1 found,
 * 0 absent (added when ADD), -1 out of memory. */
static int strtab_get(strtab *t, uint32_t tag, const char *s, size_t len, bool add,
                      uint32_t *id)
{
    if (!t->slot) {
        if (!(t->arena = dl_arena_new(0)) || !strtab_rehash(t, 1024))
            return -1;
    }
    uint64_t h = hash_bytes(tag, s, len);
    size_t k = (size_t)h & t->mask;
    for (uint32_t v; (v = t->slot[k]) != 0; k = (k + 1) & t->mask) {
        const str_entry *e = &t->e[v - 1];
        if (e->hash == h && e->tag == tag && e->len == len && memcmp(e->s, s, len) == 0) {
            *id = v - 1;
            return 1;
        }
    }
    if (!add)
        return 0;
    if (t->n >= NONE - 1 || len > UINT32_MAX || !grow((void **)&t->e, &t->cap, t->n + 1,
                                                      sizeof *t->e))
        return -1;
    char *copy = dl_arena_strndup(t->arena, s, len);
    if (!copy)
        return -1;
    t->e[t->n] = (str_entry){copy, h, (uint32_t)len, tag};
    t->slot[k] = (uint32_t)t->n + 1;
    *id = (uint32_t)t->n++;
    if (t->n * 2 > t->mask + 1 && !strtab_rehash(t, (t->mask + 1) * 2))
        return -1;
    return 0;
}

/* ---- a set of record pairs (i < j), keyed i << 32 | j ------------------------ */

typedef struct pairset {
    uint64_t *slot; /* 0 = empty; a key is never 0 since j > i >= 0 */
    size_t mask, n;
} pairset;

static bool pairset_resize(pairset *p, size_t nslots)
{
    uint64_t *s = calloc(nslots, sizeof *s);
    if (!s)
        return false;
    for (size_t i = 0; p->slot && i <= p->mask; i++) {
        if (!p->slot[i])
            continue;
        size_t k = (size_t)dl_mix64(p->slot[i]) & (nslots - 1);
        while (s[k])
            k = (k + 1) & (nslots - 1);
        s[k] = p->slot[i];
    }
    free(p->slot);
    p->slot = s;
    p->mask = nslots - 1;
    return true;
}

/* 1 when KEY was already there, 0 when added, -1 out of memory. */
static int pairset_add(pairset *p, uint64_t key)
{
    if (!p->slot && !pairset_resize(p, 4096))
        return -1;
    size_t k = (size_t)dl_mix64(key) & p->mask;
    for (; p->slot[k]; k = (k + 1) & p->mask)
        if (p->slot[k] == key)
            return 1;
    p->slot[k] = key;
    if (++p->n * 2 > p->mask + 1 && !pairset_resize(p, (p->mask + 1) * 2))
        return -1;
    return 0;
}

/* ---- LSD radix sort of 64-bit keys ------------------------------------------
 * Eight byte-wide passes, skipping those where every key has the same byte:
 * the keys pack (cluster, person, dataset) into few bits, so most are skipped.
 * Linear in n, unlike qsort's n log n at 10^7 records. */
static void radix_sort(uint64_t *a, uint64_t *tmp, size_t n)
{
    uint64_t *src = a, *dst = tmp;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0};
        for (size_t i = 0; i < n; i++)
            count[(src[i] >> shift) & 0xff]++;
        if (n == 0 || count[(src[0] >> shift) & 0xff] == n)
            continue;
        size_t pos = 0;
        for (size_t b = 0; b < 256; b++) {
            size_t c = count[b];
            count[b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i] >> shift) & 0xff]++] = src[i];
        uint64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != a)
        memcpy(a, src, n * sizeof *a);
}

/* Bits to hold values 0 .. n-1. */
static unsigned bits_for(uint64_t n)
{
    unsigned b = 0;
    while (b < 64 && (n - 1) >> b)
        b++;
    return n <= 1 ? 0 : b;
}

static uint64_t choose2(uint64_t n)
{
    return n < 2 ? 0 : n * (n - 1) / 2;
}

/* ---- the evaluation ----------------------------------------------------------- */

/* Thresholds of the precision-recall table: the upper ones split the links
 * file; those below 0.5 need review.csv.gz, written down to the review
 * threshold (0.5 in the example specs). */
static const double thresholds[] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7,
                                    0.8, 0.9, 0.95, 0.99, 0.999};
#define N_THRESH (sizeof thresholds / sizeof thresholds[0])
#define N_LOW_THRESH 4

typedef struct dataset {
    char name[256];
    char path[4096];
    uint64_t records;
} dataset;

struct dl_eval {
    dl_eval_opts o;
    dl_eval_summary sum;
    dataset *ds;
    size_t n_ds;

    /* per record */
    size_t n, cap;
    uint8_t *slf;      /* SLF_BYTES a record */
    uint16_t *dsx;     /* dataset index */
    uint32_t *rid;     /* interned record id (freed after the truth join) */
    uint32_t *person;
    uint32_t *cluster;
    uint32_t *slot;    /* SLF hash table: record + 1; 0 empty */
    size_t mask;

    strtab rids, persons, alfs, patterns;
    uint32_t *person_of_rid;
    uint64_t n_persons; /* ids handed out, singletons included */
    uint32_t *person_size;

    /* union-find over the links when no clusters file is given */
    uint32_t *parent;
    uint8_t *rank;

    pairset seen;
    dl_eval_pattern *pat;
    size_t pat_cap;
    uint64_t bin_tp[N_THRESH], bin_fp[N_THRESH];
    double min_prob;
    uint64_t prob_rows;
    double covered_from; /* from link-report.json */
    dl_eval_threshold table[N_THRESH];
    size_t n_table;
};

static dl_status nomem(dl_error *err)
{
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory evaluating");
}

/* 1-based byte column of field F of ROW: dolen's own files quote no field
 * that these checks look at (hex, numbers), so earlier fields and their
 * commas sit before it. */
static uint64_t field_col(const dl_row *row, size_t f)
{
    uint64_t c = 1;
    for (size_t i = 0; i < f; i++)
        c += row->len[i] + 1;
    return c;
}

static dl_status open_csv(const char *path, const char *const *cols, size_t n_cols, int *idx,
                          dl_csv_reader **out, dl_error *err)
{
    dl_status st = dl_csv_open(path, NULL, out, err);
    if (st != DL_OK)
        return st;
    for (size_t k = 0; k < n_cols; k++) {
        idx[k] = dl_csv_find_column(*out, cols[k]);
        if (idx[k] < 0) {
            char want[256];
            size_t used = 0;
            want[0] = '\0';
            for (size_t j = 0; j < n_cols && used < sizeof want; j++)
                used += (size_t)snprintf(want + used, sizeof want - used, "%s%s",
                                         j ? "," : "", cols[j]);
            dl_csv_close(*out);
            *out = NULL;
            return dl_error_set(err, DL_EINPUT, path, 1, 0,
                                "no column '%s' in the header (expected columns %s)",
                                cols[k], want);
        }
    }
    return DL_OK;
}

/* The next row, DL_END at the end; a row the reader rejects fails the run,
 * since every file read here is written by dolen and a bad row means damage. */
static dl_status next_row(dl_csv_reader *r, dl_row *row, dl_progress *prog,
                          const char *stage, dl_error *err)
{
    dl_status st = dl_csv_next(r, row, err);
    if (st == DL_EROW)
        err->code = st = DL_EINPUT;
    if (st == DL_OK && (row->record & 0xffff) == 0)
        dl_progress_update(prog, stage, dl_csv_bytes_in(r), dl_csv_size(r), "bytes");
    return st;
}

static dl_status parse_slf(const dl_row *row, int f, const char *path, uint8_t out[SLF_BYTES],
                           dl_error *err)
{
    size_t bad = 0;
    if (row->len[f] != 2 * SLF_BYTES ||
        !dl_hex_decode(row->field[f], row->len[f], out, &bad))
        return dl_error_set(err, DL_EINPUT, path, row->line,
                            field_col(row, (size_t)f) +
                                (row->len[f] == 2 * SLF_BYTES ? bad : 0),
                            "malformed SLF (expected 32 hex digits, found %zu characters%s)",
                            row->len[f],
                            row->len[f] == 2 * SLF_BYTES ? " with a non-hex one" : "");
    return DL_OK;
}

static uint32_t slf_find(const dl_eval *e, const uint8_t *slf)
{
    if (!e->slot)
        return NONE;
    for (size_t k = (size_t)hash_slf(slf) & e->mask; e->slot[k]; k = (k + 1) & e->mask)
        if (memcmp(e->slf + (size_t)(e->slot[k] - 1) * SLF_BYTES, slf, SLF_BYTES) == 0)
            return e->slot[k] - 1;
    return NONE;
}

static bool slf_rehash(dl_eval *e, size_t nslots)
{
    uint32_t *s = calloc(nslots, sizeof *s);
    if (!s)
        return false;
    for (size_t r = 0; r < e->n; r++) {
        size_t k = (size_t)hash_slf(e->slf + r * SLF_BYTES) & (nslots - 1);
        while (s[k])
            k = (k + 1) & (nslots - 1);
        s[k] = (uint32_t)r + 1;
    }
    free(e->slot);
    e->slot = s;
    e->mask = nslots - 1;
    return true;
}

static dl_status add_record(dl_eval *e, const uint8_t *slf, uint16_t dsx, uint32_t rid,
                            dl_error *err)
{
    if (e->n >= NONE - 1)
        return dl_error_set(err, DL_EINPUT, NULL, 0, 0,
                            "more than %lu records (expected fewer)", (unsigned long)(NONE - 1));
    if (e->n + 1 > e->cap) {
        size_t cap = e->cap, c2 = e->cap, c3 = e->cap;
        if (!grow((void **)&e->slf, &cap, e->n + 1, SLF_BYTES) ||
            !grow((void **)&e->dsx, &c2, e->n + 1, sizeof *e->dsx) ||
            !grow((void **)&e->rid, &c3, e->n + 1, sizeof *e->rid))
            return nomem(err);
        e->cap = cap;
    }
    memcpy(e->slf + e->n * SLF_BYTES, slf, SLF_BYTES);
    e->dsx[e->n] = dsx;
    e->rid[e->n] = rid;
    e->n++;
    if (!e->slot || e->n * 2 > e->mask + 1) {
        if (!slf_rehash(e, e->slot ? (e->mask + 1) * 2 : 4096))
            return nomem(err);
    } else {
        size_t k = (size_t)hash_slf(slf) & e->mask;
        while (e->slot[k])
            k = (k + 1) & e->mask;
        e->slot[k] = (uint32_t)e->n;
    }
    return DL_OK;
}

/* The dataset name of a map: its file name without ".slfmap.csv.gz". */
static dl_status map_dataset(const char *path, char *name, size_t size, dl_error *err)
{
    static const char *const suffixes[] = {".slfmap.csv.gz", ".slfmap.csv"};
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t len = strlen(base);
    for (size_t k = 0; k < 2; k++) {
        size_t sl = strlen(suffixes[k]);
        if (len > sl && strcmp(base + len - sl, suffixes[k]) == 0) {
            if (len - sl >= size)
                break;
            memcpy(name, base, len - sl);
            name[len - sl] = '\0';
            return DL_OK;
        }
    }
    return dl_error_set(err, DL_EUSAGE, path, 0, 0,
                        "not an SLF map name (expected NAME.slfmap.csv.gz, NAME being the "
                        "dataset, at most %zu bytes)",
                        size - 1);
}

static dl_status load_map(dl_eval *e, size_t dsx, dl_error *err)
{
    const char *path = e->ds[dsx].path;
    dl_csv_reader *r = NULL;
    int slf_col;
    const char *const cols[] = {"slf"};
    dl_status st = open_csv(path, cols, 1, &slf_col, &r, err);
    if (st != DL_OK)
        return st;
    const dl_row *h = dl_csv_header(r);
    int id_col = slf_col == 0 ? 1 : 0;
    if (h->n != 2) {
        size_t n = h->n;
        dl_csv_close(r);
        return dl_error_set(err, DL_EINPUT, path, 1, 0,
                            "header has %zu columns (expected 2: the record id column, slf)",
                            n);
    }
    dl_row row;
    uint64_t before = e->n;
    while ((st = next_row(r, &row, e->o.progress, "evaluate: maps", err)) == DL_OK) {
        e->sum.issues.map_rows++;
        uint8_t slf[SLF_BYTES];
        if ((st = parse_slf(&row, slf_col, path, slf, err)) != DL_OK)
            break;
        if (slf_find(e, slf) != NONE) {
            e->sum.issues.map_duplicate_slfs++;
            continue;
        }
        uint32_t rid;
        int got = strtab_get(&e->rids, (uint32_t)dsx, row.field[id_col], row.len[id_col], true,
                             &rid);
        if (got < 0) {
            st = nomem(err);
            break;
        }
        if (got == 1)
            e->sum.issues.map_duplicate_ids++;
        if ((st = add_record(e, slf, (uint16_t)dsx, rid, err)) != DL_OK)
            break;
    }
    dl_csv_close(r);
    e->ds[dsx].records = e->n - before;
    return st == DL_END ? DL_OK : st;
}

static int find_dataset(const dl_eval *e, const char *name, size_t len)
{
    for (size_t d = 0; d < e->n_ds; d++)
        if (strlen(e->ds[d].name) == len && memcmp(e->ds[d].name, name, len) == 0)
            return (int)d;
    return -1;
}

static dl_status load_truth(dl_eval *e, dl_error *err)
{
    const char *path = e->o.truth;
    dl_csv_reader *r = NULL;
    int c[3];
    const char *const cols[] = {"dataset", "record_id", "person_id"};
    dl_status st = open_csv(path, cols, 3, c, &r, err);
    if (st != DL_OK)
        return st;
    dl_row row;
    int last = -1;
    dl_eval_issues *is = &e->sum.issues;
    while ((st = next_row(r, &row, e->o.progress, "evaluate: truth", err)) == DL_OK) {
        is->truth_rows++;
        /* Truth files list datasets in runs: try the last one first. */
        int d = last;
        if (d < 0 || strlen(e->ds[d].name) != row.len[c[0]] ||
            memcmp(e->ds[d].name, row.field[c[0]], row.len[c[0]]) != 0)
            d = find_dataset(e, row.field[c[0]], row.len[c[0]]);
        if (d < 0) {
            is->truth_other_datasets++;
            continue;
        }
        last = d;
        uint32_t rid, pid;
        int got = strtab_get(&e->rids, (uint32_t)d, row.field[c[1]], row.len[c[1]], false, &rid);
        if (got == 0) {
            is->truth_without_record++;
            continue;
        }
        if (e->person_of_rid[rid] != NONE) {
            is->truth_duplicates++;
            got = strtab_get(&e->persons, 0, row.field[c[2]], row.len[c[2]], false, &pid);
            if (got == 0 || pid != e->person_of_rid[rid])
                is->truth_conflicts++;
            continue;
        }
        if (strtab_get(&e->persons, 0, row.field[c[2]], row.len[c[2]], true, &pid) < 0) {
            st = nomem(err);
            break;
        }
        e->person_of_rid[rid] = pid;
    }
    dl_csv_close(r);
    return st == DL_END ? DL_OK : st;
}

/* FEBRL ids: "rec-N-org" and "rec-N-dup-K" belong to person N (dataset1-4
 * of the FEBRL generator, Christen 2005); the dsgen link files number the
 * records of person E as 10E .. 10E+9. Any other id has no person. */
static size_t febrl_person(const char *id, size_t len, char *out)
{
    if (len > 4 && memcmp(id, "rec-", 4) == 0) {
        size_t k = 4;
        while (k < len && id[k] >= '0' && id[k] <= '9')
            k++;
        if (k == 4 || k - 4 > 19 || (k < len && id[k] != '-'))
            return 0;
        memcpy(out, id + 4, k - 4);
        return k - 4;
    }
    if (len == 0 || len > 18)
        return 0;
    unsigned long long v = 0;
    for (size_t k = 0; k < len; k++) {
        if (id[k] < '0' || id[k] > '9')
            return 0;
        v = v * 10 + (unsigned)(id[k] - '0');
    }
    return (size_t)snprintf(out, 24, "%llu", v / 10);
}

static dl_status truth_from_ids(dl_eval *e, dl_error *err)
{
    for (size_t i = 0; i < e->rids.n; i++) {
        char p[24];
        size_t len = febrl_person(e->rids.e[i].s, e->rids.e[i].len, p);
        uint32_t pid;
        if (len && strtab_get(&e->persons, 0, p, len, true, &pid) < 0)
            return nomem(err);
        if (len)
            e->person_of_rid[i] = pid;
    }
    return DL_OK;
}

/* Person of every record; records without one become persons of their own.
 * Then the record-id and person-id strings are freed: only dense ids are
 * needed from here on. */
static dl_status assign_persons(dl_eval *e, dl_error *err)
{
    e->person = malloc((e->n ? e->n : 1) * sizeof *e->person);
    if (!e->person)
        return nomem(err);
    e->n_persons = e->persons.n;
    for (size_t r = 0; r < e->n; r++) {
        uint32_t p = e->person_of_rid[e->rid[r]];
        if (p == NONE) {
            e->sum.issues.records_without_truth++;
            p = (uint32_t)e->n_persons++;
        }
        e->person[r] = p;
    }
    free(e->rid);
    e->rid = NULL;
    free(e->person_of_rid);
    e->person_of_rid = NULL;
    strtab_free(&e->rids);
    strtab_free(&e->persons);
    return DL_OK;
}

/* True pairs: per person p with n_p records, C(n_p, 2); across datasets only,
 * less C(n_pd, 2) for each dataset d. Also the size of every person, for the
 * B-cubed recall. Sorting (person, dataset) keys makes both runs contiguous. */
static dl_status count_true_pairs(dl_eval *e, dl_error *err)
{
    unsigned bd = bits_for(e->n_ds);
    uint64_t *k = malloc((e->n ? e->n : 1) * sizeof *k);
    uint64_t *tmp = malloc((e->n ? e->n : 1) * sizeof *tmp);
    e->person_size = calloc(e->n_persons ? e->n_persons : 1, sizeof *e->person_size);
    if (!k || !tmp || !e->person_size) {
        free(k);
        free(tmp);
        return nomem(err);
    }
    for (size_t r = 0; r < e->n; r++)
        k[r] = (uint64_t)e->person[r] << bd | e->dsx[r];
    radix_sort(k, tmp, e->n);
    uint64_t pairs = 0, persons = 0;
    for (size_t i = 0; i < e->n;) {
        uint64_t p = k[i] >> bd;
        size_t j = i;
        uint64_t same_ds = 0;
        while (j < e->n && k[j] >> bd == p) {
            size_t m = j;
            while (m < e->n && k[m] == k[j])
                m++;
            same_ds += choose2(m - j);
            j = m;
        }
        e->person_size[p] = (uint32_t)(j - i);
        pairs += choose2(j - i) - (e->o.cross_only ? same_ds : 0);
        persons++;
        i = j;
    }
    free(k);
    free(tmp);
    e->sum.true_pairs = pairs;
    e->sum.persons = persons;
    return DL_OK;
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : NAN;
}

static void finish_pairwise(dl_eval_pairwise *m, uint64_t true_pairs)
{
    m->pairs = m->tp + m->fp;
    m->fn = true_pairs - m->tp;
    m->precision = ratio(m->tp, m->pairs);
    m->recall = ratio(m->tp, true_pairs);
    /* 2PR/(P+R) simplified, so it is defined whenever either set is not empty. */
    m->f1 = m->pairs + true_pairs ? 2.0 * (double)m->tp / (double)(m->pairs + true_pairs) : NAN;
}

/* ---- clusters ---------------------------------------------------------------- */

static dl_status load_clusters(dl_eval *e, dl_error *err)
{
    const char *path = e->o.clusters;
    dl_csv_reader *r = NULL;
    int c[3];
    const char *const cols[] = {"dataset", "slf", "alf"};
    dl_status st = open_csv(path, cols, 3, c, &r, err);
    if (st != DL_OK)
        return st;
    dl_eval_issues *is = &e->sum.issues;
    dl_row row;
    while ((st = next_row(r, &row, e->o.progress, "evaluate: clusters", err)) == DL_OK) {
        is->cluster_rows++;
        int d = find_dataset(e, row.field[c[0]], row.len[c[0]]);
        if (d < 0) {
            is->cluster_other_datasets++;
            continue;
        }
        uint8_t slf[SLF_BYTES];
        if ((st = parse_slf(&row, c[1], path, slf, err)) != DL_OK)
            break;
        uint32_t rec = slf_find(e, slf);
        if (rec == NONE || e->dsx[rec] != d) {
            is->cluster_unknown_slf++;
            continue;
        }
        if (e->cluster[rec] != NONE) {
            is->cluster_duplicate_slfs++;
            continue;
        }
        uint32_t id;
        if (strtab_get(&e->alfs, 0, row.field[c[2]], row.len[c[2]], true, &id) < 0) {
            st = nomem(err);
            break;
        }
        e->cluster[rec] = id;
    }
    dl_csv_close(r);
    if (st != DL_END)
        return st;
    uint64_t next = e->alfs.n;
    for (size_t rec = 0; rec < e->n; rec++)
        if (e->cluster[rec] == NONE) {
            is->records_without_cluster++;
            e->cluster[rec] = (uint32_t)next++;
        }
    strtab_free(&e->alfs);
    return DL_OK;
}

static uint32_t uf_find(uint32_t *parent, uint32_t x)
{
    while (parent[x] != x) {
        parent[x] = parent[parent[x]]; /* path halving */
        x = parent[x];
    }
    return x;
}

static void uf_union(dl_eval *e, uint32_t a, uint32_t b)
{
    a = uf_find(e->parent, a);
    b = uf_find(e->parent, b);
    if (a == b)
        return;
    if (e->rank[a] < e->rank[b]) {
        uint32_t t = a;
        a = b;
        b = t;
    }
    e->parent[b] = a;
    if (e->rank[a] == e->rank[b])
        e->rank[a]++;
}

/* Pairwise and B-cubed measures of the clustering. B-cubed (Bagga and
 * Baldwin, "Entity-based cross-document coreferencing using the vector space
 * model", 1998): per record r with cluster C and person P, precision
 * |C n P| / |C| and recall |C n P| / |P|, averaged over records; summed here
 * per (cluster, person) group as n_cp^2 / n_c and n_cp^2 / n_p. */
static dl_status cluster_measures(dl_eval *e, dl_error *err)
{
    uint64_t n_clusters = 0;
    for (size_t r = 0; r < e->n; r++)
        if (e->cluster[r] + 1ULL > n_clusters)
            n_clusters = e->cluster[r] + 1ULL;
    unsigned bd = bits_for(e->n_ds), bp = bits_for(e->n_persons), bc = bits_for(n_clusters);
    if (bd + bp + bc > 64)
        return dl_error_set(err, DL_EINPUT, NULL, 0, 0,
                            "too many clusters and persons to count (expected at most 2^64 "
                            "combinations)");
    uint64_t *k = malloc((e->n ? e->n : 1) * sizeof *k);
    uint64_t *tmp = malloc((e->n ? e->n : 1) * sizeof *tmp);
    uint64_t *dcount = calloc(e->n_ds, sizeof *dcount);
    uint16_t *touched = malloc(e->n_ds * sizeof *touched);
    if (!k || !tmp || !dcount || !touched) {
        free(k);
        free(tmp);
        free(dcount);
        free(touched);
        return nomem(err);
    }
    for (size_t r = 0; r < e->n; r++)
        k[r] = ((uint64_t)e->cluster[r] << bp | e->person[r]) << bd | e->dsx[r];
    radix_sort(k, tmp, e->n);
    uint64_t pred = 0, tp = 0, clusters = 0;
    double bp_sum = 0, br_sum = 0;
    const bool cross = e->o.cross_only;
    for (size_t i = 0; i < e->n;) {
        uint64_t c = k[i] >> (bp + bd);
        size_t j = i, n_touched = 0;
        double cl_sq = 0;
        while (j < e->n && k[j] >> (bp + bd) == c) { /* one (cluster, person) group */
            uint64_t cp = k[j] >> bd;
            size_t g = j;
            uint64_t same_ds = 0;
            while (g < e->n && k[g] >> bd == cp) {
                size_t m = g;
                while (m < e->n && k[m] == k[g])
                    m++;
                same_ds += choose2(m - g);
                uint16_t d = (uint16_t)(k[g] & ((1ULL << bd) - 1));
                if (dcount[d] == 0)
                    touched[n_touched++] = d;
                dcount[d] += m - g;
                g = m;
            }
            uint64_t ncp = g - j;
            tp += choose2(ncp) - (cross ? same_ds : 0);
            cl_sq += (double)ncp * (double)ncp;
            br_sum += (double)ncp * (double)ncp / e->person_size[cp & ((1ULL << bp) - 1)];
            j = g;
        }
        uint64_t nc = j - i;
        pred += choose2(nc);
        for (size_t t = 0; t < n_touched; t++) {
            if (cross)
                pred -= choose2(dcount[touched[t]]);
            dcount[touched[t]] = 0;
        }
        bp_sum += cl_sq / (double)nc;
        clusters++;
        i = j;
    }
    free(k);
    free(tmp);
    free(dcount);
    free(touched);
    dl_eval_summary *s = &e->sum;
    s->clusters = clusters;
    s->cluster_pairs.tp = tp;
    s->cluster_pairs.fp = pred - tp;
    finish_pairwise(&s->cluster_pairs, s->true_pairs);
    s->bcubed_precision = e->n ? bp_sum / (double)e->n : NAN;
    s->bcubed_recall = e->n ? br_sum / (double)e->n : NAN;
    s->bcubed_f1 = e->n && bp_sum + br_sum > 0
                       ? 2 * s->bcubed_precision * s->bcubed_recall /
                             (s->bcubed_precision + s->bcubed_recall)
                       : NAN;
    return DL_OK;
}

/* ---- links and review --------------------------------------------------------- */

static dl_status parse_prob(const dl_row *row, int f, const char *path, double *out,
                            dl_error *err)
{
    char *end = NULL;
    double v = row->len[f] ? strtod(row->field[f], &end) : NAN;
    if (!end || *end || !(v >= 0 && v <= 1))
        return dl_error_set(err, DL_EINPUT, path, row->line, field_col(row, (size_t)f),
                            "bad match_probability (expected a number from 0 to 1)");
    *out = v;
    return DL_OK;
}

/* One side of a pair: the record, or NONE with the reason counted. */
static uint32_t side(const dl_eval *e, const dl_row *row, int dcol, const uint8_t *slf,
                     bool *other)
{
    int d = find_dataset(e, row->field[dcol], row->len[dcol]);
    if (d < 0) {
        *other = true;
        return NONE;
    }
    uint32_t rec = slf_find(e, slf);
    return rec != NONE && e->dsx[rec] == d ? rec : NONE;
}

static dl_status read_pairs(dl_eval *e, const char *path, bool review, dl_error *err)
{
    dl_csv_reader *r = NULL;
    int c[6];
    const char *const cols[] = {"dataset_a", "slf_a", "dataset_b", "slf_b",
                                "match_probability", "pattern"};
    dl_status st = open_csv(path, cols, 6, c, &r, err);
    if (st != DL_OK)
        return st;
    dl_eval_summary *s = &e->sum;
    dl_eval_pair_issues *is = review ? &s->issues.review : &s->issues.links;
    const bool judge_by_links = s->has_links;
    dl_row row;
    while ((st = next_row(r, &row, e->o.progress, review ? "evaluate: review" : "evaluate: links",
                          err)) == DL_OK) {
        is->rows++;
        uint8_t sa[SLF_BYTES], sb[SLF_BYTES];
        double prob = 0;
        if ((st = parse_slf(&row, c[1], path, sa, err)) != DL_OK ||
            (st = parse_slf(&row, c[3], path, sb, err)) != DL_OK ||
            (st = parse_prob(&row, c[4], path, &prob, err)) != DL_OK)
            break;
        if (prob < e->min_prob)
            e->min_prob = prob;
        e->prob_rows++;
        bool other = false;
        uint32_t a = side(e, &row, c[0], sa, &other);
        uint32_t b = side(e, &row, c[2], sb, &other);
        if (other) {
            is->other_datasets++;
            continue;
        }
        if (a == NONE || b == NONE) {
            is->unknown_slf++;
            continue;
        }
        if (a == b) {
            is->self++;
            continue;
        }
        if (e->o.cross_only && e->dsx[a] == e->dsx[b]) {
            is->same_dataset++;
            continue;
        }
        uint32_t i = a < b ? a : b, j = a < b ? b : a;
        int got = pairset_add(&e->seen, (uint64_t)i << 32 | j);
        if (got < 0) {
            st = nomem(err);
            break;
        }
        if (got == 1) {
            is->duplicate++;
            continue;
        }
        uint32_t pid;
        got = strtab_get(&e->patterns, 0, row.field[c[5]], row.len[c[5]], true, &pid);
        if (got < 0 || !grow((void **)&e->pat, &e->pat_cap, e->patterns.n, sizeof *e->pat)) {
            st = nomem(err);
            break;
        }
        dl_eval_pattern *pt = &e->pat[pid];
        if (got == 0)
            *pt = (dl_eval_pattern){NULL, 0, 0, 0, 0, 0};
        bool same = e->person[i] == e->person[j];
        if (!review) {
            pt->links++;
            same ? (s->links.tp++, pt->tp++) : (s->links.fp++, pt->fp++);
            if (e->parent)
                uf_union(e, i, j);
        } else {
            pt->review++;
            /* A true pair in the review file is a false negative of the links
             * (never in both files), or of the clusters when only they were
             * given and the pair ended up apart. */
            if (same && (judge_by_links || e->cluster[i] != e->cluster[j])) {
                pt->fn++;
                s->fn_review++;
            }
        }
        /* Bin by the highest threshold the pair reaches. */
        size_t t = N_THRESH;
        while (t > 0 && prob < thresholds[t - 1])
            t--;
        if (t > 0)
            (same ? e->bin_tp : e->bin_fp)[t - 1]++;
    }
    dl_csv_close(r);
    return st == DL_END ? DL_OK : st;
}

/* The lowest probability the links (and review) files hold in full: link
 * writes every pair at or above its match threshold to links.csv.gz and
 * those from the review threshold up to review.csv.gz. */
static dl_status read_link_report(dl_eval *e, dl_error *err)
{
    dl_json_doc *doc = NULL;
    dl_status st = dl_json_load(e->o.link_report, &doc, err);
    if (st != DL_OK)
        return st;
    const dl_json *th = dl_json_get(dl_json_root(doc), "thresholds");
    const char *key = e->o.review ? "review" : "match";
    const dl_json *v = dl_json_get(th, key);
    double d;
    if (!dl_json_double(v, &d) || !(d >= 0 && d <= 1)) {
        const dl_json *at = v ? v : th ? th : dl_json_root(doc);
        st = dl_error_set(err, DL_EINPUT, e->o.link_report, dl_json_line(at), dl_json_col(at),
                          "no thresholds.%s in the link report (expected a probability "
                          "from 0 to 1)",
                          key);
    } else {
        e->covered_from = d;
    }
    dl_json_doc_free(doc);
    return st;
}

static void make_table(dl_eval *e)
{
    uint64_t tp = 0, fp = 0;
    double from = e->o.link_report ? e->covered_from : e->min_prob;
    size_t lowest = e->o.review ? 0 : N_LOW_THRESH;
    e->n_table = 0;
    for (size_t t = N_THRESH; t-- > lowest;) {
        tp += e->bin_tp[t];
        fp += e->bin_fp[t];
        dl_eval_threshold *row = &e->table[e->n_table++];
        row->threshold = thresholds[t];
        row->complete = (e->o.link_report || e->prob_rows > 0) && thresholds[t] >= from;
        row->m.tp = tp;
        row->m.fp = fp;
        finish_pairwise(&row->m, e->sum.true_pairs);
    }
}

/* ---- run ---------------------------------------------------------------------- */

static dl_status check_opts(const dl_eval_opts *o, dl_error *err)
{
    if (o->n_maps == 0 || !o->maps)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "no SLF map (expected at least one NAME.slfmap.csv.gz)");
    if (o->n_maps > MAX_DATASETS)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "%zu maps (expected at most %d)",
                            o->n_maps, MAX_DATASETS);
    if (!o->links && !o->clusters)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "nothing to evaluate (expected a links or a clusters file)");
    if (o->truth_from == DL_EVAL_TRUTH_FILE && !o->truth)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "no truth (expected a truth file or truth from FEBRL ids)");
    if (o->truth_from == DL_EVAL_TRUTH_FEBRL && o->truth)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0,
                            "both a truth file and truth from ids (expected one)");
    if (o->truth_from != DL_EVAL_TRUTH_FILE && o->truth_from != DL_EVAL_TRUTH_FEBRL)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "unknown truth source %d",
                            (int)o->truth_from);
    return DL_OK;
}

static dl_status run(dl_eval *e, dl_error *err)
{
    const dl_eval_opts *o = &e->o;
    dl_status st;
    e->ds = calloc(o->n_maps, sizeof *e->ds);
    if (!e->ds)
        return nomem(err);
    for (size_t m = 0; m < o->n_maps; m++) {
        dataset *d = &e->ds[m];
        if ((st = map_dataset(o->maps[m], d->name, sizeof d->name, err)) != DL_OK)
            return st;
        if (strlen(o->maps[m]) >= sizeof d->path)
            return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "map path too long");
        strcpy(d->path, o->maps[m]);
        if (find_dataset(e, d->name, strlen(d->name)) >= 0)
            return dl_error_set(err, DL_EUSAGE, o->maps[m], 0, 0,
                                "a second map of dataset '%s' (expected one map a dataset)",
                                d->name);
        e->n_ds++;
        if ((st = load_map(e, m, err)) != DL_OK)
            return st;
    }
    e->sum.datasets = e->n_ds;
    e->sum.records = e->n;
    e->person_of_rid = malloc((e->rids.n ? e->rids.n : 1) * sizeof *e->person_of_rid);
    if (!e->person_of_rid)
        return nomem(err);
    for (size_t i = 0; i < e->rids.n; i++)
        e->person_of_rid[i] = NONE;
    st = o->truth_from == DL_EVAL_TRUTH_FEBRL ? truth_from_ids(e, err) : load_truth(e, err);
    if (st != DL_OK || (st = assign_persons(e, err)) != DL_OK ||
        (st = count_true_pairs(e, err)) != DL_OK)
        return st;

    e->cluster = malloc((e->n ? e->n : 1) * sizeof *e->cluster);
    if (!e->cluster)
        return nomem(err);
    e->sum.clusters_from_file = o->clusters != NULL;
    if (o->clusters) {
        for (size_t r = 0; r < e->n; r++)
            e->cluster[r] = NONE;
        if ((st = load_clusters(e, err)) != DL_OK)
            return st;
    } else {
        e->parent = malloc((e->n ? e->n : 1) * sizeof *e->parent);
        e->rank = calloc(e->n ? e->n : 1, 1);
        if (!e->parent || !e->rank)
            return nomem(err);
        for (size_t r = 0; r < e->n; r++)
            e->parent[r] = (uint32_t)r;
    }
    e->min_prob = INFINITY;
    if (o->links) {
        if ((st = read_pairs(e, o->links, false, err)) != DL_OK)
            return st;
        e->sum.has_links = true;
        finish_pairwise(&e->sum.links, e->sum.true_pairs);
    }
    if (o->review && (st = read_pairs(e, o->review, true, err)) != DL_OK)
        return st;
    if (e->parent) {
        for (size_t r = 0; r < e->n; r++)
            e->cluster[r] = uf_find(e->parent, (uint32_t)r);
        free(e->parent);
        free(e->rank);
        e->parent = NULL;
        e->rank = NULL;
    }
    for (size_t p = 0; p < e->patterns.n; p++)
        e->pat[p].pattern = e->patterns.e[p].s;
    if (e->sum.has_links) {
        e->sum.fn_unscored = e->sum.links.fn - e->sum.fn_review;
        if (o->link_report && (st = read_link_report(e, err)) != DL_OK)
            return st;
        make_table(e);
    }
    if ((st = cluster_measures(e, err)) != DL_OK)
        return st;
    if (!e->sum.has_links)
        e->sum.fn_unscored = e->sum.cluster_pairs.fn - e->sum.fn_review;
    dl_progress_done(o->progress, "evaluate", e->n, e->n, "records");
    return DL_OK;
}

dl_status dl_eval_run(const dl_eval_opts *o, dl_eval **out, dl_error *err)
{
    *out = NULL;
    dl_status st = check_opts(o, err);
    if (st != DL_OK)
        return st;
    dl_eval *e = calloc(1, sizeof *e);
    if (!e)
        return nomem(err);
    e->o = *o;
    st = run(e, err);
    if (st != DL_OK) {
        dl_eval_free(e);
        return st;
    }
    *out = e;
    return DL_OK;
}

void dl_eval_free(dl_eval *e)
{
    if (!e)
        return;
    free(e->ds);
    free(e->slf);
    free(e->dsx);
    free(e->rid);
    free(e->person);
    free(e->cluster);
    free(e->slot);
    strtab_free(&e->rids);
    strtab_free(&e->persons);
    strtab_free(&e->alfs);
    strtab_free(&e->patterns);
    free(e->person_of_rid);
    free(e->person_size);
    free(e->parent);
    free(e->rank);
    free(e->seen.slot);
    free(e->pat);
    free(e);
}

const dl_eval_summary *dl_eval_summary_of(const dl_eval *e)
{
    return &e->sum;
}

size_t dl_eval_n_patterns(const dl_eval *e)
{
    return e->patterns.n;
}

const dl_eval_pattern *dl_eval_pattern_at(const dl_eval *e, size_t i)
{
    return i < e->patterns.n ? &e->pat[i] : NULL;
}

size_t dl_eval_n_thresholds(const dl_eval *e)
{
    return e->n_table;
}

const dl_eval_threshold *dl_eval_threshold_at(const dl_eval *e, size_t i)
{
    return i < e->n_table ? &e->table[i] : NULL;
}

/* ---- reports ------------------------------------------------------------------ */

static void jw_ratio(dl_json_writer *w, const char *key, double v)
{
    dl_jw_key(w, key);
    if (isnan(v))
        dl_jw_null(w);
    else
        dl_jw_double(w, v);
}

static void jw_u(dl_json_writer *w, const char *key, uint64_t v)
{
    dl_jw_key(w, key);
    dl_jw_uint(w, v);
}

static void jw_pairwise(dl_json_writer *w, const dl_eval_pairwise *m)
{
    jw_u(w, "pairs", m->pairs);
    jw_u(w, "tp", m->tp);
    jw_u(w, "fp", m->fp);
    jw_u(w, "fn", m->fn);
    jw_ratio(w, "precision", m->precision);
    jw_ratio(w, "recall", m->recall);
    jw_ratio(w, "f1", m->f1);
}

static void jw_path(dl_json_writer *w, const char *key, const char *path)
{
    dl_jw_key(w, key);
    if (path)
        dl_jw_string(w, path);
    else
        dl_jw_null(w);
}

static void jw_pair_issues(dl_json_writer *w, const char *key, const dl_eval_pair_issues *p)
{
    dl_jw_key(w, key);
    dl_jw_object(w);
    jw_u(w, "rows", p->rows);
    jw_u(w, "other_datasets", p->other_datasets);
    jw_u(w, "unknown_slf", p->unknown_slf);
    jw_u(w, "duplicate", p->duplicate);
    jw_u(w, "self", p->self);
    jw_u(w, "same_dataset", p->same_dataset);
    dl_jw_object_end(w);
}

dl_status dl_eval_write_json(const dl_eval *e, dl_buf *out, dl_error *err)
{
    const dl_eval_summary *s = &e->sum;
    const dl_eval_issues *is = &s->issues;
    dl_json_writer w;
    dl_jw_init(&w, out);
    dl_jw_object(&w);
    dl_jw_key(&w, "tool");
    dl_jw_string(&w, "dolen " DL_VERSION);
    dl_jw_key(&w, "inputs");
    dl_jw_object(&w);
    jw_path(&w, "truth", e->o.truth);
    dl_jw_key(&w, "truth_from_ids");
    if (e->o.truth_from == DL_EVAL_TRUTH_FEBRL)
        dl_jw_string(&w, "febrl");
    else
        dl_jw_null(&w);
    dl_jw_key(&w, "maps");
    dl_jw_array(&w);
    for (size_t d = 0; d < e->n_ds; d++) {
        dl_jw_object(&w);
        dl_jw_key(&w, "path");
        dl_jw_string(&w, e->ds[d].path);
        dl_jw_key(&w, "dataset");
        dl_jw_string(&w, e->ds[d].name);
        jw_u(&w, "records", e->ds[d].records);
        dl_jw_object_end(&w);
    }
    dl_jw_array_end(&w);
    jw_path(&w, "links", e->o.links);
    jw_path(&w, "review", e->o.review);
    jw_path(&w, "clusters", e->o.clusters);
    jw_path(&w, "link_report", e->o.link_report);
    dl_jw_key(&w, "cross_only");
    dl_jw_bool(&w, e->o.cross_only);
    dl_jw_object_end(&w);

    jw_u(&w, "records", s->records);
    jw_u(&w, "persons", s->persons);
    jw_u(&w, "true_pairs", s->true_pairs);

    dl_jw_key(&w, "links");
    if (!s->has_links) {
        dl_jw_null(&w);
    } else {
        dl_jw_object(&w);
        jw_pairwise(&w, &s->links);
        jw_u(&w, "fn_in_review", s->fn_review);
        jw_u(&w, "fn_unscored", s->fn_unscored);
        dl_jw_key(&w, "thresholds");
        dl_jw_array(&w);
        for (size_t t = 0; t < e->n_table; t++) {
            dl_jw_object(&w);
            dl_jw_key(&w, "threshold");
            dl_jw_double(&w, e->table[t].threshold);
            dl_jw_key(&w, "complete");
            dl_jw_bool(&w, e->table[t].complete);
            jw_pairwise(&w, &e->table[t].m);
            dl_jw_object_end(&w);
        }
        dl_jw_array_end(&w);
        dl_jw_object_end(&w);
    }
    dl_jw_key(&w, "patterns");
    dl_jw_array(&w);
    for (size_t p = 0; p < e->patterns.n; p++) {
        const dl_eval_pattern *pt = &e->pat[p];
        dl_jw_object(&w);
        dl_jw_key(&w, "pattern");
        dl_jw_string(&w, pt->pattern);
        jw_u(&w, "links", pt->links);
        jw_u(&w, "tp", pt->tp);
        jw_u(&w, "fp", pt->fp);
        jw_u(&w, "review", pt->review);
        jw_u(&w, "fn", pt->fn);
        dl_jw_object_end(&w);
    }
    dl_jw_array_end(&w);

    dl_jw_key(&w, "clusters");
    dl_jw_object(&w);
    dl_jw_key(&w, "source");
    dl_jw_string(&w, s->clusters_from_file ? "clusters" : "links_components");
    jw_u(&w, "clusters", s->clusters);
    jw_pairwise(&w, &s->cluster_pairs);
    if (!s->has_links) {
        jw_u(&w, "fn_in_review", s->fn_review);
        jw_u(&w, "fn_unscored", s->fn_unscored);
    }
    dl_jw_key(&w, "bcubed");
    dl_jw_object(&w);
    jw_ratio(&w, "precision", s->bcubed_precision);
    jw_ratio(&w, "recall", s->bcubed_recall);
    jw_ratio(&w, "f1", s->bcubed_f1);
    dl_jw_object_end(&w);
    dl_jw_object_end(&w);

    dl_jw_key(&w, "issues");
    dl_jw_object(&w);
    dl_jw_key(&w, "maps");
    dl_jw_object(&w);
    jw_u(&w, "rows", is->map_rows);
    jw_u(&w, "duplicate_record_ids", is->map_duplicate_ids);
    jw_u(&w, "duplicate_slfs", is->map_duplicate_slfs);
    dl_jw_object_end(&w);
    dl_jw_key(&w, "truth");
    dl_jw_object(&w);
    jw_u(&w, "rows", is->truth_rows);
    jw_u(&w, "other_datasets", is->truth_other_datasets);
    jw_u(&w, "without_record", is->truth_without_record);
    jw_u(&w, "duplicates", is->truth_duplicates);
    jw_u(&w, "conflicts", is->truth_conflicts);
    jw_u(&w, "records_without_truth", is->records_without_truth);
    dl_jw_object_end(&w);
    jw_pair_issues(&w, "links", &is->links);
    jw_pair_issues(&w, "review", &is->review);
    dl_jw_key(&w, "clusters");
    dl_jw_object(&w);
    jw_u(&w, "rows", is->cluster_rows);
    jw_u(&w, "other_datasets", is->cluster_other_datasets);
    jw_u(&w, "unknown_slf", is->cluster_unknown_slf);
    jw_u(&w, "duplicate_slfs", is->cluster_duplicate_slfs);
    jw_u(&w, "records_without_cluster", is->records_without_cluster);
    dl_jw_object_end(&w);
    dl_jw_object_end(&w);
    dl_jw_object_end(&w);
    return dl_jw_finish(&w, err);
}

static void fmt_ratio(char *buf, size_t size, double v)
{
    if (isnan(v))
        snprintf(buf, size, "n/a");
    else
        snprintf(buf, size, "%.4f", v);
}

static bool text_pairwise(dl_buf *b, const char *what, const dl_eval_pairwise *m)
{
    char p[16], r[16], f[16];
    fmt_ratio(p, sizeof p, m->precision);
    fmt_ratio(r, sizeof r, m->recall);
    fmt_ratio(f, sizeof f, m->f1);
    return dl_buf_printf(b, "%-10s precision %s  recall %s  F1 %s  (%llu pairs: %llu TP, %llu FP; "
                            "%llu FN)\n",
                         what, p, r, f, (unsigned long long)m->pairs,
                         (unsigned long long)m->tp, (unsigned long long)m->fp,
                         (unsigned long long)m->fn);
}

static bool text_issue(dl_buf *b, uint64_t n, const char *what)
{
    return n == 0 || dl_buf_printf(b, "  %llu %s\n", (unsigned long long)n, what);
}

static bool text_pair_issues(dl_buf *b, const char *file, const dl_eval_pair_issues *p)
{
    char w[128];
    bool ok = true;
    snprintf(w, sizeof w, "%s rows with a dataset that has no map (not judged)", file);
    ok = ok && text_issue(b, p->other_datasets, w);
    snprintf(w, sizeof w, "%s rows with an SLF in no map (not judged)", file);
    ok = ok && text_issue(b, p->unknown_slf, w);
    snprintf(w, sizeof w, "%s rows repeating a pair (counted once)", file);
    ok = ok && text_issue(b, p->duplicate, w);
    snprintf(w, sizeof w, "%s rows linking a record to itself (not judged)", file);
    ok = ok && text_issue(b, p->self, w);
    snprintf(w, sizeof w, "%s rows within one dataset (not judged: cross-only)", file);
    return ok && text_issue(b, p->same_dataset, w);
}

static uint64_t pair_issue_total(const dl_eval_pair_issues *p)
{
    return p->other_datasets + p->unknown_slf + p->duplicate + p->self + p->same_dataset;
}

dl_status dl_eval_write_text(const dl_eval *e, dl_buf *b, dl_error *err)
{
    const dl_eval_summary *s = &e->sum;
    const dl_eval_issues *is = &s->issues;
    bool ok = dl_buf_printf(b, "evaluate: %llu records in %zu dataset%s, %llu persons, %llu "
                               "true pairs%s\n",
                            (unsigned long long)s->records, s->datasets,
                            s->datasets == 1 ? "" : "s", (unsigned long long)s->persons,
                            (unsigned long long)s->true_pairs,
                            e->o.cross_only ? " (across datasets only)" : "");
    if (s->has_links) {
        ok = ok && text_pairwise(b, "links", &s->links);
        ok = ok && dl_buf_printf(b, "           FN: %llu in review, %llu not in review "
                                    "(missed by blocking or below the review threshold)\n",
                                 (unsigned long long)s->fn_review,
                                 (unsigned long long)s->fn_unscored);
    }
    char what[32];
    snprintf(what, sizeof what, "%s", s->clusters_from_file ? "clusters" : "components");
    ok = ok && text_pairwise(b, what, &s->cluster_pairs);
    char p[16], r[16], f[16];
    fmt_ratio(p, sizeof p, s->bcubed_precision);
    fmt_ratio(r, sizeof r, s->bcubed_recall);
    fmt_ratio(f, sizeof f, s->bcubed_f1);
    ok = ok && dl_buf_printf(b, "B-cubed    precision %s  recall %s  F1 %s  (%llu %s)\n", p, r,
                             f, (unsigned long long)s->clusters,
                             s->clusters_from_file ? "clusters" : "components of the links");
    if (s->has_links && e->n_table) {
        ok = ok && dl_buf_puts(b, "threshold  pairs       precision  recall  F1\n");
        for (size_t t = 0; t < e->n_table; t++) {
            const dl_eval_threshold *row = &e->table[t];
            if (!row->complete)
                continue;
            fmt_ratio(p, sizeof p, row->m.precision);
            fmt_ratio(r, sizeof r, row->m.recall);
            fmt_ratio(f, sizeof f, row->m.f1);
            ok = ok && dl_buf_printf(b, "  >= %-5g %-11llu %-10s %-7s %s\n", row->threshold,
                                     (unsigned long long)row->m.pairs, p, r, f);
        }
    }
    /* The patterns that cost most: up to five by false positives, five by
     * false negatives found in review. Selection, not a sort: few lines. */
    for (int kind = 0; kind < 2; kind++) {
        size_t pick[5];
        size_t n_pick = 0;
        for (; n_pick < 5; n_pick++) {
            size_t best = SIZE_MAX;
            uint64_t best_v = 0;
            for (size_t i = 0; i < e->patterns.n; i++) {
                uint64_t v = kind ? e->pat[i].fn : e->pat[i].fp;
                bool taken = false;
                for (size_t k = 0; k < n_pick; k++)
                    taken = taken || pick[k] == i;
                if (v > best_v && !taken) {
                    best = i;
                    best_v = v;
                }
            }
            if (best == SIZE_MAX)
                break;
            pick[n_pick] = best;
        }
        if (n_pick)
            ok = ok && dl_buf_printf(b, "%s by pattern:", kind ? "FN in review" : "FP");
        for (size_t k = 0; k < n_pick; k++)
            ok = ok && dl_buf_printf(b, " %s (%llu)", e->pat[pick[k]].pattern,
                                     (unsigned long long)(kind ? e->pat[pick[k]].fn
                                                               : e->pat[pick[k]].fp));
        if (n_pick)
            ok = ok && dl_buf_putc(b, '\n');
    }
    uint64_t n_issues = is->map_duplicate_ids + is->map_duplicate_slfs +
                        is->truth_without_record + is->truth_duplicates +
                        is->records_without_truth + pair_issue_total(&is->links) +
                        pair_issue_total(&is->review) + is->cluster_other_datasets +
                        is->cluster_unknown_slf + is->cluster_duplicate_slfs +
                        is->records_without_cluster;
    if (n_issues) {
        ok = ok && dl_buf_puts(b, "issues:\n");
        ok = ok && text_issue(b, is->map_duplicate_ids, "map rows repeating a record id");
        ok = ok && text_issue(b, is->map_duplicate_slfs, "map rows repeating an SLF (skipped)");
        ok = ok && text_issue(b, is->truth_without_record,
                              "truth rows whose record is in no map (e.g. rejected by prepare)");
        ok = ok && text_issue(b, is->truth_duplicates,
                              "truth rows repeating a record (first kept)");
        ok = ok && text_issue(b, is->truth_conflicts,
                              "of them giving another person id");
        ok = ok && text_issue(b, is->records_without_truth,
                              "records without truth (each its own person)");
        ok = ok && text_pair_issues(b, "links", &is->links);
        ok = ok && text_pair_issues(b, "review", &is->review);
        ok = ok && text_issue(b, is->cluster_other_datasets,
                              "clusters rows with a dataset that has no map");
        ok = ok && text_issue(b, is->cluster_unknown_slf, "clusters rows with an SLF in no map");
        ok = ok && text_issue(b, is->cluster_duplicate_slfs,
                              "clusters rows repeating a record (first kept)");
        ok = ok && text_issue(b, is->records_without_cluster,
                              "records in no cluster row (each its own cluster)");
    }
    return ok ? DL_OK : nomem(err);
}
