/* synth_write.c: dl_synth_run: chunks of people made by worker threads, sampled
 * into datasets, formatted as CSV (gzip members when asked) and written in chunk
 * order with the truth file and a manifest. Part of bench/; the end of synth. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/synth_internal.h"
#include "dl_config.h"
#include "dolen/csv.h"
#include "dolen/gz.h"
#include "dolen/json.h"
#include "dolen/outfile.h"
#include "dolen/workers.h"

#define MAX_DS DL_SYNTH_MAX_DATASETS
#define N_ERR DL_SYNTH_ERR__COUNT

static const char *const care_types[] = {"Parent", "Partner or spouse", "Child",
                                         "Other relative", "Friend or neighbour"};

/* A growable array of offsets into a row buffer. */
typedef struct offs {
    size_t *v;
    size_t n, cap;
} offs;

static bool offs_push(offs *o, size_t x)
{
    if (o->n == o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 4096;
        size_t *v = realloc(o->v, sizeof *v * cap);
        if (!v)
            return false;
        o->v = v;
        o->cap = cap;
    }
    o->v[o->n++] = x;
    return true;
}

/* Per worker thread: reused for every chunk it makes. */
typedef struct scratch {
    dl__person *people;
    dl_buf rows[MAX_DS], truth[MAX_DS];
    offs row_off[MAX_DS], truth_off[MAX_DS];
    uint32_t *perm;
    size_t perm_cap;
} scratch;

/* Per chunk of a batch: what the main thread writes, in chunk order. */
typedef struct slot {
    dl_buf data[MAX_DS]; /* rows in output order, plain CSV */
    dl_buf z[MAX_DS];    /* the same as one gzip member, when the file is gzip */
    dl_buf truth, truth_z;
    uint64_t records[MAX_DS];
    uint64_t elig[MAX_DS][N_ERR], inj[MAX_DS][N_ERR];
} slot;

typedef struct run {
    const dl_synth_spec *s;
    dl__synth_model model;
    uint64_t seed, people, n_chunks;
    uint64_t id_key[MAX_DS];
    bool gz[MAX_DS], truth_gz;
    scratch *scr;
    slot *slots;
    size_t n_slots;
    uint64_t batch_first;
} run;

/* A bijection of 48-bit numbers (xor-multiply-xorshift rounds, each invertible
 * modulo 2^48): record ids are unique per dataset yet reveal neither the person
 * nor the order of generation. */
static uint64_t mix48(uint64_t x, uint64_t key)
{
    const uint64_t M = ((uint64_t)1 << 48) - 1;
    x = (x ^ key) & M;
    x = (x * 0x9E3779B97F4Bu) & M;
    x ^= x >> 23;
    x = (x * 0xC2B2AE3D27D5u) & M;
    x ^= x >> 21;
    x = (x * 0x165667B19E37u) & M;
    x ^= x >> 25;
    return x;
}

/* Hand-rolled formatting: snprintf was a third of the generator's time. */
static size_t put_digits(char *out, uint64_t v, int width)
{
    char t[24];
    int n = 0;
    do {
        t[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n < width)
        t[n++] = '0';
    for (int i = 0; i < n; i++)
        out[i] = t[n - 1 - i];
    return (size_t)n;
}

static size_t put_str(char *out, const char *s)
{
    size_t n = strlen(s);
    memcpy(out, s, n + 1);
    return n;
}

/* PREFIX then the 12 upper-case hex digits of a 48-bit record number. */
static size_t put_record_id(char *out, const char *prefix, uint64_t id)
{
    static const char hx[] = "0123456789ABCDEF";
    size_t n = put_str(out, prefix);
    for (int i = 11; i >= 0; i--)
        out[n++] = hx[(id >> (4 * i)) & 15];
    out[n] = '\0';
    return n;
}

static size_t put_date(char *out, const char *fmt, int32_t y, int32_t m, int32_t d)
{
    size_t n = 0;
    for (const char *p = fmt; *p && n < 60; p++) {
        if (*p != '%') {
            out[n++] = *p;
            continue;
        }
        p++;
        switch (*p) {
        case 'Y':
            n += put_digits(out + n, (uint64_t)(y < 0 ? 0 : y), 4);
            break;
        case 'y':
            n += put_digits(out + n, (uint64_t)((y < 0 ? 0 : y) % 100), 2);
            break;
        case 'm':
            n += put_digits(out + n, (uint64_t)m, 2);
            break;
        case 'd':
            n += put_digits(out + n, (uint64_t)d, 2);
            break;
        case '%':
            out[n++] = '%';
            break;
        default: /* checked at load; keep the loop safe anyway */
            p--;
            break;
        }
    }
    out[n] = '\0';
    return n;
}

static size_t put_case(char *out, const char *in, int name_case)
{
    size_t n = 0;
    bool start = true;
    for (; in[n]; n++) {
        char c = in[n];
        if (name_case == DL__CASE_TITLE && c >= 'A' && c <= 'Z' && !start)
            c = (char)(c - 'A' + 'a');
        else if (name_case == DL__CASE_UPPER && c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        start = !((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z'));
        out[n] = c;
    }
    out[n] = '\0';
    return n;
}

/* Append one CSV row of record O (of person P, dataset D, id REC_ID) to B. */
static bool format_row(const dl__synth_dataset *d, const dl__person *p, const dl__record *o,
                       uint64_t rec_id, dl_buf *b)
{
    char v[256];
    for (uint32_t c = 0; c < d->n_cols; c++) {
        size_t n = 0;
        switch (d->col_field[c]) {
        case DL__SF_RECORD_ID:
            n = put_record_id(v, d->id_prefix, rec_id);
            break;
        case DL__SF_FORENAME:
            n = put_case(v, o->fore, d->name_case);
            break;
        case DL__SF_MIDDLE_NAME:
            n = put_case(v, o->middle, d->name_case);
            break;
        case DL__SF_FORENAMES: {
            char t[2 * DL__NAME_CAP + 2];
            size_t k = put_str(t, o->fore);
            if (o->fore[0] && o->middle[0])
                t[k++] = ' ';
            put_str(t + k, o->middle);
            n = put_case(v, t, d->name_case);
            break;
        }
        case DL__SF_SURNAME:
            n = put_case(v, o->sur, d->name_case);
            break;
        case DL__SF_DOB:
            n = o->dob_missing ? 0 : put_date(v, d->date_format, o->y, o->m, o->d);
            break;
        case DL__SF_SEX:
            n = put_str(v, d->sex_codes[o->sex]);
            break;
        case DL__SF_POSTCODE:
            if (d->postcode_style == DL__PC_COMPACT) {
                for (const char *q = o->postcode; *q; q++)
                    if (*q != ' ')
                        v[n++] = *q;
                v[n] = '\0';
            } else {
                n = put_str(v, o->postcode);
            }
            break;
        case DL__SF_ADDRESS:
            if (!o->address_missing) {
                char t[128];
                size_t k = put_digits(t, o->house, 1);
                t[k++] = ' ';
                put_str(t + k, dl__synth_streets[o->street]);
                n = d->name_case == DL__CASE_UPPER ? put_case(v, t, DL__CASE_UPPER)
                                                   : put_str(v, t);
            }
            break;
        case DL__SF_NHS_NUMBER:
            n = put_str(v, o->nhs);
            break;
        case DL__SF_ETHNICITY:
            n = put_str(v, dl__synth_ethnicity[p->ethnicity]);
            break;
        case DL__SF_CARE_TYPE:
            n = put_str(v, care_types[p->care_type]);
            break;
        case DL__SF_EVENT_DATE: {
            int32_t y, m, dd;
            dl__civil_from_days(o->event, &y, &m, &dd);
            n = put_date(v, d->date_format, y, m, dd);
            break;
        }
        default:
            break;
        }
        if (n >= sizeof v)
            n = sizeof v - 1;
        if ((c && !dl_buf_putc(b, ',')) || !dl_csv_append_field(b, v, n, ','))
            return false;
    }
    return dl_buf_putc(b, '\n');
}

/* "dataset,record_id,person_id\n". */
static bool truth_row(dl_buf *b, const dl__synth_dataset *d, uint64_t id, uint64_t person)
{
    char v[128];
    size_t n = put_str(v, d->name);
    v[n++] = ',';
    n += put_record_id(v + n, d->id_prefix, id);
    v[n++] = ',';
    n += put_digits(v + n, person, 1);
    v[n++] = '\n';
    return dl_buf_append(b, v, n);
}

static dl_status nomem(dl_error *err)
{
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory (synth chunk)");
}

/* Make chunk C into slot SL using scratch W: the heart of the generator. */
static dl_status make_chunk(run *R, uint64_t c, scratch *W, slot *SL, dl_error *err)
{
    const dl_synth_spec *s = R->s;
    uint64_t first = c * DL_SYNTH_CHUNK;
    uint32_t n = (uint32_t)(R->people - first < DL_SYNTH_CHUNK ? R->people - first
                                                                : DL_SYNTH_CHUNK);
    dl__rng rng;
    dl__rng_seed(&rng, R->seed, c);
    dl__synth_people(&R->model, &rng, first + 1, n, W->people);

    for (uint32_t d = 0; d < s->n_datasets; d++) {
        dl_buf_clear(&W->rows[d]);
        dl_buf_clear(&W->truth[d]);
        W->row_off[d].n = W->truth_off[d].n = 0;
        SL->records[d] = 0;
        memset(SL->elig[d], 0, sizeof SL->elig[d]);
        memset(SL->inj[d], 0, sizeof SL->inj[d]);
    }
    dl__record rec;
    for (uint32_t i = 0; i < n; i++) {
        const dl__person *p = &W->people[i];
        for (uint32_t di = 0; di < s->n_datasets; di++) {
            const dl__synth_dataset *d = &s->ds[di];
            if (p->age < d->min_age)
                continue;
            double pr = d->carer_share < 0 ? d->rate : p->carer ? d->p_carer : d->p_other;
            if (!dl__rng_chance(&rng, pr))
                continue;
            int nrec = 1;
            SL->elig[di][DL_SYNTH_ERR_DUPLICATE]++;
            if (dl__rng_chance(&rng, d->err[DL_SYNTH_ERR_DUPLICATE])) {
                nrec = 2;
                SL->inj[di][DL_SYNTH_ERR_DUPLICATE]++;
            }
            for (int k = 0; k < nrec; k++) {
                dl__synth_record(&R->model, d, p, &rng, &rec, SL->elig[di], SL->inj[di]);
                uint64_t local = W->row_off[di].n;
                uint64_t id = mix48((c << 20) | local, R->id_key[di]);
                if (!offs_push(&W->row_off[di], W->rows[di].len) ||
                    !offs_push(&W->truth_off[di], W->truth[di].len) ||
                    !format_row(d, p, &rec, id, &W->rows[di]) ||
                    !truth_row(&W->truth[di], d, id, p->id))
                    return nomem(err);
            }
        }
    }
    /* Rows leave in a shuffled order: people are made household by household,
     * and a file in that order would hand a linker the answer. */
    for (uint32_t di = 0; di < s->n_datasets; di++) {
        size_t m = W->row_off[di].n;
        if (m > W->perm_cap) {
            uint32_t *pp = realloc(W->perm, sizeof *pp * m);
            if (!pp)
                return nomem(err);
            W->perm = pp;
            W->perm_cap = m;
        }
        for (size_t i = 0; i < m; i++)
            W->perm[i] = (uint32_t)i;
        for (size_t i = m; i > 1; i--) {
            uint32_t j = dl__rng_below(&rng, (uint32_t)i);
            uint32_t t = W->perm[i - 1];
            W->perm[i - 1] = W->perm[j];
            W->perm[j] = t;
        }
        if (!offs_push(&W->row_off[di], W->rows[di].len) ||
            !offs_push(&W->truth_off[di], W->truth[di].len))
            return nomem(err);
        dl_buf_clear(&SL->data[di]);
        if (!dl_buf_reserve(&SL->data[di], W->rows[di].len))
            return nomem(err);
        if (di == 0)
            dl_buf_clear(&SL->truth);
        for (size_t i = 0; i < m; i++) {
            uint32_t k = W->perm[i];
            const size_t *ro = W->row_off[di].v, *to = W->truth_off[di].v;
            if (!dl_buf_append(&SL->data[di], W->rows[di].data + ro[k], ro[k + 1] - ro[k]) ||
                !dl_buf_append(&SL->truth, W->truth[di].data + to[k], to[k + 1] - to[k]))
                return nomem(err);
        }
        SL->records[di] = m;
        if (R->gz[di]) {
            dl_buf_clear(&SL->z[di]);
            dl_status st = dl_gz_compress_member(SL->data[di].data ? SL->data[di].data : "",
                                                 SL->data[di].len, &SL->z[di], err);
            if (st)
                return st;
        }
    }
    if (R->truth_gz) {
        dl_buf_clear(&SL->truth_z);
        return dl_gz_compress_member(SL->truth.data ? SL->truth.data : "", SL->truth.len,
                                     &SL->truth_z, err);
    }
    return DL_OK;
}

static dl_status chunk_task(size_t task, size_t worker, void *payload, dl_error *err)
{
    run *R = payload;
    return make_chunk(R, R->batch_first + task, &R->scr[worker], &R->slots[task], err);
}

/* ---- outputs -------------------------------------------------------------------- */

typedef struct output {
    char *path;
    dl_outfile *f;
    dl_outfile_info info;
} output;

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static char *make_path(const char *dir, const char *file, bool add_gz)
{
    size_t n = strlen(dir) + strlen(file) + 8;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s%s", dir, file, add_gz && !ends_with(file, ".gz") ? ".gz" : "");
    return p;
}

/* Write bytes already in the file's encoding (plain text, or gzip members). */
static dl_status put(output *o, const dl_buf *b, dl_error *err)
{
    return b->len ? dl_outfile_write(o->f, b->data, b->len, err) : DL_OK;
}

static dl_status put_text(output *o, bool gz, const char *text, size_t len, dl_error *err)
{
    if (!gz)
        return dl_outfile_write(o->f, text, len, err);
    dl_buf z = DL_BUF_INIT;
    dl_status s = dl_gz_compress_member(text, len, &z, err);
    if (!s)
        s = put(o, &z, err);
    dl_buf_free(&z);
    return s;
}

static void hex32(const uint8_t *h, char out[65])
{
    static const char hx[] = "0123456789abcdef";
    for (int i = 0; i < 32; i++) {
        out[2 * i] = hx[h[i] >> 4];
        out[2 * i + 1] = hx[h[i] & 15];
    }
    out[64] = '\0';
}

static dl_status write_manifest(const run *R, const char *outdir, const output *outs,
                                const output *truth, const dl_synth_opts *o,
                                const uint64_t *records,
                                uint64_t (*elig)[N_ERR], uint64_t (*inj)[N_ERR],
                                uint64_t truth_rows, dl_error *err)
{
    const dl_synth_spec *s = R->s;
    dl_buf b = DL_BUF_INIT;
    dl_json_writer w;
    char hex[65], date[16];
    int32_t y, m, d;
    dl__civil_from_days(s->ref_day, &y, &m, &d);
    snprintf(date, sizeof date, "%04d-%02d-%02d", (int)y, (int)m, (int)d);
    dl_jw_init(&w, &b);
    dl_jw_object(&w);
    dl_jw_key(&w, "tool");
    dl_jw_string(&w, "dolen synth");
    dl_jw_key(&w, "version");
    dl_jw_string(&w, DL_VERSION);
    dl_jw_key(&w, "seed");
    dl_jw_uint(&w, o->seed);
    dl_jw_key(&w, "people");
    dl_jw_uint(&w, R->people);
    dl_jw_key(&w, "chunk");
    dl_jw_uint(&w, DL_SYNTH_CHUNK);
    dl_jw_key(&w, "reference_date");
    dl_jw_string(&w, date);
    dl_jw_key(&w, "nhs_numbers_repeat");
    dl_jw_bool(&w, R->people > R->model.nhs_n);
    dl_jw_key(&w, "truth");
    dl_jw_object(&w);
    /* The truth file by its name when it sits in OUTDIR, else by its path. */
    size_t dl = strlen(outdir);
    bool inside = !o->truth_path && strncmp(truth->path, outdir, dl) == 0 &&
                  truth->path[dl] == '/';
    dl_jw_key(&w, "file");
    dl_jw_string(&w, inside ? truth->path + dl + 1 : truth->path);
    dl_jw_key(&w, "rows");
    dl_jw_uint(&w, truth_rows);
    dl_jw_key(&w, "bytes");
    dl_jw_uint(&w, truth->info.bytes);
    hex32(truth->info.sha256, hex);
    dl_jw_key(&w, "sha256");
    dl_jw_string(&w, hex);
    dl_jw_object_end(&w);
    dl_jw_key(&w, "datasets");
    dl_jw_array(&w);
    for (uint32_t i = 0; i < s->n_datasets; i++) {
        const char *slash = strrchr(outs[i].path, '/');
        dl_jw_object(&w);
        dl_jw_key(&w, "name");
        dl_jw_string(&w, s->ds[i].name);
        dl_jw_key(&w, "file");
        dl_jw_string(&w, slash ? slash + 1 : outs[i].path);
        dl_jw_key(&w, "records");
        dl_jw_uint(&w, records[i]);
        dl_jw_key(&w, "bytes");
        dl_jw_uint(&w, outs[i].info.bytes);
        hex32(outs[i].info.sha256, hex);
        dl_jw_key(&w, "sha256");
        dl_jw_string(&w, hex);
        dl_jw_key(&w, "errors");
        dl_jw_object(&w);
        for (int k = 0; k < N_ERR; k++) {
            dl_jw_key(&w, dl_synth_error_name((dl_synth_error_kind)k));
            dl_jw_object(&w);
            dl_jw_key(&w, "rate");
            dl_jw_double(&w, s->ds[i].err[k]);
            dl_jw_key(&w, "eligible");
            dl_jw_uint(&w, elig[i][k]);
            dl_jw_key(&w, "injected");
            dl_jw_uint(&w, inj[i][k]);
            dl_jw_object_end(&w);
        }
        dl_jw_object_end(&w);
        dl_jw_object_end(&w);
    }
    dl_jw_array_end(&w);
    dl_jw_object_end(&w);
    dl_status st = dl_jw_finish(&w, err);
    output mo = {0};
    if (!st && !(mo.path = make_path(outdir, "synth-manifest.json", false)))
        st = nomem(err);
    if (!st)
        st = dl_outfile_create(mo.path, 0644, &mo.f, err);
    if (!st) {
        st = dl_outfile_write(mo.f, b.data, b.len, err);
        if (st)
            dl_outfile_abort(mo.f);
        else
            st = dl_outfile_commit(mo.f, NULL, err);
    }
    free(mo.path);
    dl_buf_free(&b);
    return st;
}

static void free_run_buffers(run *R, size_t n_workers)
{
    if (R->scr) {
        for (size_t w = 0; w < n_workers; w++) {
            scratch *W = &R->scr[w];
            free(W->people);
            free(W->perm);
            for (int d = 0; d < MAX_DS; d++) {
                dl_buf_free(&W->rows[d]);
                dl_buf_free(&W->truth[d]);
                free(W->row_off[d].v);
                free(W->truth_off[d].v);
            }
        }
        free(R->scr);
    }
    if (R->slots) {
        for (size_t i = 0; i < R->n_slots; i++) {
            slot *S = &R->slots[i];
            for (int d = 0; d < MAX_DS; d++) {
                dl_buf_free(&S->data[d]);
                dl_buf_free(&S->z[d]);
            }
            dl_buf_free(&S->truth);
            dl_buf_free(&S->truth_z);
        }
        free(R->slots);
    }
}

dl_status dl_synth_run(const dl_synth_spec *s, const char *outdir, const dl_synth_opts *o,
                       dl_synth_stats *stats, dl_error *err)
{
    dl_synth_opts defaults = DL_SYNTH_OPTS_INIT;
    if (!o)
        o = &defaults;
    if (!s || !outdir || !*outdir)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "a scenario and an output folder "
                                                        "are required");
    run R = {.s = s, .seed = o->seed, .people = o->people ? o->people : s->people};
    if (R.people > 1000000000u)
        return dl_error_set(err, DL_EUSAGE, NULL, 0, 0, "at most 10^9 people (asked for %llu)",
                            (unsigned long long)R.people);
    R.n_chunks = (R.people + DL_SYNTH_CHUNK - 1) / DL_SYNTH_CHUNK;
    dl_status st = dl__synth_model_init(&R.model, s, o->seed, err);
    if (st)
        return st;

    output outs[MAX_DS] = {{0}}, truth = {0};
    uint64_t records[MAX_DS] = {0}, truth_rows = 0;
    uint64_t(*elig)[N_ERR] = calloc(MAX_DS, sizeof *elig);
    uint64_t(*inj)[N_ERR] = calloc(MAX_DS, sizeof *inj);
    dl_workers *pool = dl_workers_new(o->threads);
    size_t n_workers = pool ? dl_workers_count(pool) : 0;
    if (!elig || !inj || !pool) {
        st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory or cannot start threads");
        goto done;
    }
    /* Two chunks in flight per thread keeps every core busy while memory
     * stays bounded by the thread count, whatever the population. */
    R.n_slots = 2 * n_workers;
    R.scr = calloc(n_workers, sizeof *R.scr);
    R.slots = calloc(R.n_slots, sizeof *R.slots);
    if (!R.scr || !R.slots) {
        st = nomem(err);
        goto done;
    }
    for (size_t w = 0; w < n_workers; w++)
        if (!(R.scr[w].people = malloc(sizeof(dl__person) * DL_SYNTH_CHUNK))) {
            st = nomem(err);
            goto done;
        }
    for (uint32_t d = 0; d < s->n_datasets; d++) {
        uint64_t x = o->seed ^ (0x1d5u + d);
        R.id_key[d] = dl__splitmix64(&x);
        R.gz[d] = o->gzip || ends_with(s->ds[d].file, ".gz");
    }
    /* Open every output; a failure leaves nothing under a final name. */
    for (uint32_t d = 0; d < s->n_datasets && !st; d++) {
        if (!(outs[d].path = make_path(outdir, s->ds[d].file, o->gzip)))
            st = nomem(err);
        else
            st = dl_outfile_create(outs[d].path, 0644, &outs[d].f, err);
    }
    if (!st) {
        if (o->truth_path) {
            size_t n = strlen(o->truth_path) + 4;
            if ((truth.path = malloc(n)))
                snprintf(truth.path, n, "%s%s", o->truth_path,
                         o->gzip && !ends_with(o->truth_path, ".gz") ? ".gz" : "");
        } else {
            truth.path = make_path(outdir, "truth.csv", o->gzip);
        }
        if (!truth.path)
            st = nomem(err);
        else
            st = dl_outfile_create(truth.path, 0644, &truth.f, err);
        R.truth_gz = truth.path && ends_with(truth.path, ".gz");
    }
    /* Headers. */
    for (uint32_t d = 0; d < s->n_datasets && !st; d++) {
        dl_buf h = DL_BUF_INIT;
        bool ok = dl_csv_format_row(&h, s->ds[d].n_cols, s->ds[d].col_name, NULL, ',');
        st = ok ? put_text(&outs[d], R.gz[d], h.data, h.len, err) : nomem(err);
        dl_buf_free(&h);
    }
    if (!st) {
        static const char th[] = "dataset,record_id,person_id\n";
        st = put_text(&truth, R.truth_gz, th, sizeof th - 1, err);
    }
    for (uint64_t c = 0; c < R.n_chunks && !st; c += R.n_slots) {
        R.batch_first = c;
        size_t n_tasks = R.n_chunks - c < R.n_slots ? (size_t)(R.n_chunks - c) : R.n_slots;
        st = dl_workers_run(pool, n_tasks, chunk_task, &R, err);
        for (size_t t = 0; t < n_tasks && !st; t++) {
            slot *SL = &R.slots[t];
            for (uint32_t d = 0; d < s->n_datasets && !st; d++) {
                st = put(&outs[d], R.gz[d] ? &SL->z[d] : &SL->data[d], err);
                records[d] += SL->records[d];
                truth_rows += SL->records[d];
                for (int k = 0; k < N_ERR; k++) {
                    elig[d][k] += SL->elig[d][k];
                    inj[d][k] += SL->inj[d][k];
                }
            }
            if (!st)
                st = put(&truth, R.truth_gz ? &SL->truth_z : &SL->truth, err);
        }
        uint64_t done = (c + n_tasks) * DL_SYNTH_CHUNK;
        dl_progress_update(o->progress, "synth", done < R.people ? done : R.people, R.people,
                           "people");
    }
    for (uint32_t d = 0; d < s->n_datasets && !st; d++) {
        st = dl_outfile_commit(outs[d].f, &outs[d].info, err);
        outs[d].f = NULL;
    }
    if (!st) {
        st = dl_outfile_commit(truth.f, &truth.info, err);
        truth.f = NULL;
    }
    if (!st)
        st = write_manifest(&R, outdir, outs, &truth, o, records, elig, inj, truth_rows, err);
    if (!st) {
        dl_progress_done(o->progress, "synth", R.people, R.people, "people");
        if (stats) {
            memset(stats, 0, sizeof *stats);
            stats->people = R.people;
            stats->n_datasets = s->n_datasets;
            for (uint32_t d = 0; d < s->n_datasets; d++) {
                stats->records[d] = records[d];
                for (int k = 0; k < N_ERR; k++) {
                    stats->eligible[k] += elig[d][k];
                    stats->injected[k] += inj[d][k];
                }
            }
            stats->nhs_repeats = R.people > R.model.nhs_n ? R.people - R.model.nhs_n : 0;
        }
    }
done:
    for (uint32_t d = 0; d < MAX_DS; d++) {
        dl_outfile_abort(outs[d].f);
        free(outs[d].path);
    }
    dl_outfile_abort(truth.f);
    free(truth.path);
    free_run_buffers(&R, n_workers);
    dl_workers_free(pool);
    free(elig);
    free(inj);
    dl__synth_model_free(&R.model);
    return st;
}
