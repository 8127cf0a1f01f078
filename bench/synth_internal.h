/* synth_internal.h: what the files of `dolen synth` share: the scenario, the
 * frequency tables, the random streams, people and records.
 * Part of bench/; tests include it to check generator properties. */
#ifndef DL_SYNTH_INTERNAL_H
#define DL_SYNTH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "dolen/arena.h"
#include "dolen/buf.h"
#include "dolen/error.h"
#include "dolen/synth.h"

/* ---- generated tables (synth_tables.c, by tools/gen_synth_tables.py) ------- */

typedef struct dl__synth_entry {
    uint32_t name;   /* index into dl__synth_names */
    uint32_t weight; /* relative frequency, integer */
} dl__synth_entry;

typedef struct dl__synth_cohort {
    uint8_t sex;     /* 0 male, 1 female */
    int16_t lo, hi;  /* birth years covered, inclusive */
    uint32_t first;  /* entries dl__synth_given[first .. first+count) */
    uint32_t count;
} dl__synth_cohort;

typedef struct dl__synth_pair {
    uint32_t a, b;   /* name indices: b is a variant of a; sorted by a's text */
} dl__synth_pair;

typedef struct dl__synth_sector {
    const char *sector; /* "CF10 1" */
    uint32_t weight;
} dl__synth_sector;

extern const char *const dl__synth_names[];
extern const uint32_t dl__synth_n_names;
extern const dl__synth_entry dl__synth_given[];
extern const uint32_t dl__synth_given_n;
extern const dl__synth_cohort dl__synth_cohorts[];
extern const uint32_t dl__synth_cohorts_n;
extern const dl__synth_entry dl__synth_surnames[];
extern const uint32_t dl__synth_surnames_n;
extern const dl__synth_pair dl__synth_forename_variants[];
extern const uint32_t dl__synth_forename_variants_n;
extern const dl__synth_pair dl__synth_welsh_english[];
extern const uint32_t dl__synth_welsh_english_n;
extern const dl__synth_pair dl__synth_surname_variants[];
extern const uint32_t dl__synth_surname_variants_n;
extern const dl__synth_sector dl__synth_sectors[];
extern const uint32_t dl__synth_sectors_n;
extern const char *const dl__synth_streets[];
extern const uint32_t dl__synth_streets_n;
extern const double dl__synth_age_bands[];
extern const uint32_t dl__synth_age_bands_n;
extern const char *const dl__synth_ethnicity[];
extern const double dl__synth_ethnicity_pct[];
extern const uint32_t dl__synth_ethnicity_n;

/* ---- random streams ---------------------------------------------------------- */

/* xoshiro256** (Blackman and Vigna, 2018), seeded through splitmix64 as its
 * authors advise; one stream per (seed, chunk), so chunks are independent of
 * the order in which threads make them. */
typedef struct dl__rng {
    uint64_t s[4];
} dl__rng;

static inline uint64_t dl__splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static inline void dl__rng_seed(dl__rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (0x5bd1e9955bd1e995u * (stream + 1));
    uint64_t mix = dl__splitmix64(&x);
    x ^= mix;
    for (int i = 0; i < 4; i++)
        r->s[i] = dl__splitmix64(&x);
}

static inline uint64_t dl__rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

static inline uint64_t dl__rng_next(dl__rng *r)
{
    uint64_t *s = r->s;
    uint64_t result = dl__rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = dl__rotl(s[3], 45);
    return result;
}

/* Uniform in [0, 1) with 53 random bits. */
static inline double dl__rng_unit(dl__rng *r)
{
    return (double)(dl__rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, N), N >= 1: Lemire's multiply-shift; the bias is below
 * N / 2^32 and irrelevant for tables of thousands. */
static inline uint32_t dl__rng_below(dl__rng *r, uint32_t n)
{
    return (uint32_t)(((dl__rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

static inline bool dl__rng_chance(dl__rng *r, double p)
{
    return p > 0 && dl__rng_unit(r) < p;
}

/* ---- alias tables (Vose's method): O(1) draws from a weighted table -------- */

typedef struct dl__alias {
    uint32_t n;
    uint32_t *prob;   /* threshold in units of 2^-32 */
    uint32_t *alias;
} dl__alias;

/* Build from N (>= 1) non-negative weights, not all zero. */
dl_status dl__alias_build(dl__alias *a, const double *w, uint32_t n, dl_error *err) DL_MUST_CHECK;
void dl__alias_free(dl__alias *a);

static inline uint32_t dl__alias_draw(const dl__alias *a, dl__rng *r)
{
    uint64_t x = dl__rng_next(r);
    uint32_t i = (uint32_t)(((x >> 32) * (uint64_t)a->n) >> 32);
    return (uint32_t)x < a->prob[i] ? i : a->alias[i];
}

/* ---- the scenario (synth_config.c) --------------------------------------------- */

/* What a dataset column holds. */
typedef enum dl__synth_field {
    DL__SF_RECORD_ID,
    DL__SF_FORENAME,
    DL__SF_MIDDLE_NAME,
    DL__SF_FORENAMES,   /* forename and middle name, space-separated */
    DL__SF_SURNAME,
    DL__SF_DOB,
    DL__SF_SEX,
    DL__SF_POSTCODE,
    DL__SF_ADDRESS,
    DL__SF_NHS_NUMBER,
    DL__SF_ETHNICITY,
    DL__SF_CARE_TYPE,
    DL__SF_EVENT_DATE,
    DL__SF__COUNT
} dl__synth_field;

const char *dl__synth_field_name(dl__synth_field f);

enum { DL__PC_SPACED, DL__PC_COMPACT };
enum { DL__CASE_UPPER, DL__CASE_TITLE };

typedef struct dl__synth_dataset {
    const char *name;        /* [A-Za-z0-9_-]+ */
    const char *file;        /* plain file name inside OUTDIR */
    const char *id_prefix;
    uint32_t min_age;        /* eligible people: age >= min_age at reference date */
    double rate;             /* share of eligible people with a record */
    double carer_share;      /* < 0: ignore carer status; else share of records
                                drawn from carers */
    double p_carer, p_other; /* derived: chance of a record for a carer / other */
    double nhs_rate;         /* share of records where the NHS number was taken */
    double event_years;      /* event date within this many years before reference */
    const char *date_format; /* %Y %m %d %y and literals */
    const char *sex_codes[3];/* male, female, unknown */
    int postcode_style;
    int name_case;
    double err[DL_SYNTH_ERR__COUNT]; /* effective rates, scale applied */
    uint32_t n_cols;
    const char *col_name[DL_SYNTH_MAX_COLUMNS];
    dl__synth_field col_field[DL_SYNTH_MAX_COLUMNS];
    uint32_t line, col;      /* where declared */
} dl__synth_dataset;

struct dl_synth_spec {
    dl_arena *arena;
    uint64_t people;
    int32_t ref_day;         /* reference date, days since 1970-01-01 */
    double carer_rate;       /* adults providing unpaid care */
    double twin_rate;        /* births that are twins (a pair per event) */
    double middle_rate;      /* people with a middle name */
    double married_rate;     /* partners sharing the household surname */
    double move_rate;        /* households with an earlier address */
    uint32_t n_datasets;
    dl__synth_dataset ds[DL_SYNTH_MAX_DATASETS];
};

/* ---- dates -------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date, and back. */
int32_t dl__days_from_civil(int32_t y, int32_t m, int32_t d);
void dl__civil_from_days(int32_t z, int32_t *y, int32_t *m, int32_t *d);

/* ---- the model: tables ready for drawing (synth_people.c) --------------------- */

#define DL__YEAR0 1800
#define DL__YEARS 500

typedef struct dl__synth_model {
    const dl_synth_spec *spec;
    uint64_t seed;
    dl__alias given[128];          /* per cohort */
    uint8_t cohort_by_year[2][DL__YEARS]; /* sex, birth year - DL__YEAR0 -> cohort */
    dl__alias surname, sector, age_adult, age_child, age_parent, ethnicity;
    /* name index -> first pair and count in each variant table */
    uint32_t *fvar_first, *fvar_n, *welsh_first, *welsh_n, *svar_first, *svar_n;
    uint32_t *nhs_valid;           /* 6-digit suffixes whose check digit is not 10 */
    uint32_t nhs_n;
    uint64_t nhs_mul, nhs_add;     /* person -> number: affine map modulo nhs_n */
} dl__synth_model;

dl_status dl__synth_model_init(dl__synth_model *m, const dl_synth_spec *s, uint64_t seed,
                               dl_error *err) DL_MUST_CHECK;
void dl__synth_model_free(dl__synth_model *m);

/* The cohort table index for sex (0/1) and birth year. */
uint32_t dl__synth_cohort_of(uint32_t sex, int32_t year);

#define DL__NONE UINT32_MAX

typedef struct dl__person {
    uint64_t id;             /* 1-based */
    uint8_t sex;             /* 0 male, 1 female */
    bool carer;
    uint8_t care_type;
    uint8_t ethnicity;
    int32_t dob;             /* days since 1970-01-01 */
    uint32_t age;            /* whole years at the reference date */
    uint32_t fore, middle;   /* name indices; middle may be DL__NONE */
    uint32_t sur, prev_sur;  /* prev_sur: birth surname, or DL__NONE */
    char postcode[9];
    uint16_t house, street;
    bool moved;
    char old_postcode[9];
    uint16_t old_house, old_street;
    char nhs[11];
} dl__person;

/* Make the people of chunk C (ids C*DL_SYNTH_CHUNK+1 ...): N of them into
 * OUT, in households. R is the chunk's stream. */
void dl__synth_people(const dl__synth_model *m, dl__rng *r, uint64_t first_id, uint32_t n,
                      dl__person *out);

/* ---- records and errors (synth_errors.c) -------------------------------------- */

#define DL__NAME_CAP 64

typedef struct dl__record {
    char fore[DL__NAME_CAP], middle[DL__NAME_CAP], sur[DL__NAME_CAP];
    bool dob_missing;
    int32_t y, m, d;
    int sex;                 /* 0 male, 1 female, 2 unknown */
    char postcode[16];
    bool address_missing;
    uint16_t house, street;
    char nhs[11];
    int32_t event;           /* days since 1970-01-01 */
} dl__record;

/* A record of P as dataset D holds it, with D's errors drawn from R. ELIG and
 * INJ (DL_SYNTH_ERR__COUNT counters each) count what could and did happen. */
void dl__synth_record(const dl__synth_model *m, const dl__synth_dataset *d,
                      const dl__person *p, dl__rng *r, dl__record *out, uint64_t *elig,
                      uint64_t *inj);

/* Error primitives on an upper-case ASCII name in BUF (capacity DL__NAME_CAP),
 * exposed for tests. Each returns true when it changed the name. */
bool dl__err_typo(char *buf, dl__rng *r);
bool dl__err_ocr(char *buf, dl__rng *r);
bool dl__err_phonetic(char *buf, dl__rng *r);

#endif
