/* synth_people.c: the synthetic population: weighted tables ready for drawing,
 * and people made in households (names, dates of birth, addresses, NHS numbers).
 * Part of bench/; dl_synth_run makes each chunk's people here, then samples them
 * into datasets (synth_errors.c) and writes them (synth_write.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bench/synth_internal.h"
#include "dolen/normalise.h"

/* ---- dates: days since 1970-01-01 (the civil-from-days algorithm in the form
 * published by Howard Hinnant, "chrono-compatible low-level date algorithms") */

int32_t dl__days_from_civil(int32_t y, int32_t m, int32_t d)
{
    y -= m <= 2;
    int32_t era = (y >= 0 ? y : y - 399) / 400;
    int32_t yoe = y - era * 400;
    int32_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int32_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void dl__civil_from_days(int32_t z, int32_t *y, int32_t *m, int32_t *d)
{
    z += 719468;
    int32_t era = (z >= 0 ? z : z - 146096) / 146097;
    int32_t doe = z - era * 146097;
    int32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int32_t mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yoe + era * 400 + (*m <= 2);
}

/* ---- alias tables --------------------------------------------------------------- */

dl_status dl__alias_build(dl__alias *a, const double *w, uint32_t n, dl_error *err)
{
    a->n = n;
    a->prob = malloc(sizeof *a->prob * n);
    a->alias = malloc(sizeof *a->alias * n);
    double *p = malloc(sizeof *p * n);
    uint32_t *small = malloc(sizeof *small * n), *large = malloc(sizeof *large * n);
    if (!a->prob || !a->alias || !p || !small || !large) {
        free(p);
        free(small);
        free(large);
        dl__alias_free(a);
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory (alias table)");
    }
    double total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += w[i];
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; i < n; i++) {
        p[i] = total > 0 ? w[i] * n / total : 1;
        a->alias[i] = i;
        if (p[i] < 1)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns && nl) {
        uint32_t s = small[--ns], l = large[nl - 1];
        a->prob[s] = (uint32_t)fmin(4294967295.0, p[s] * 4294967296.0);
        a->alias[s] = l;
        p[l] -= 1 - p[s];
        if (p[l] < 1) {
            nl--;
            small[ns++] = l;
        }
    }
    /* What is left is 1 up to rounding: always take the column itself. */
    while (nl)
        a->prob[large[--nl]] = UINT32_MAX;
    while (ns)
        a->prob[small[--ns]] = UINT32_MAX;
    free(p);
    free(small);
    free(large);
    return DL_OK;
}

void dl__alias_free(dl__alias *a)
{
    free(a->prob);
    free(a->alias);
    a->prob = a->alias = NULL;
}

static dl_status alias_from_entries(dl__alias *a, const dl__synth_entry *e, uint32_t n,
                                    dl_error *err)
{
    double *w = malloc(sizeof *w * n);
    if (!w)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    for (uint32_t i = 0; i < n; i++)
        w[i] = e[i].weight;
    dl_status s = dl__alias_build(a, w, n, err);
    free(w);
    return s;
}

/* Household compositions (adults, children) with their shares of households,
 * roughly as in the 2021 Census for Wales: a third live alone, a third are
 * couples without children at home; about a fifth of people are children. */
static const struct {
    uint8_t adults, children;
    double share;
} compositions[] = {
    {1, 0, 0.30}, {2, 0, 0.34}, {1, 1, 0.04}, {1, 2, 0.03}, {2, 1, 0.11},
    {2, 2, 0.09}, {2, 3, 0.02}, {3, 0, 0.05}, {3, 1, 0.02},
};

/* ---- the model ----------------------------------------------------------------- */

uint32_t dl__synth_cohort_of(uint32_t sex, int32_t year)
{
    /* Cohorts of one sex are stored in order of birth years; pick the one
     * holding YEAR, else the nearest end. */
    uint32_t best = 0;
    bool found = false;
    for (uint32_t i = 0; i < dl__synth_cohorts_n; i++) {
        const dl__synth_cohort *c = &dl__synth_cohorts[i];
        if (c->sex != sex)
            continue;
        if (!found) {
            best = i;
            found = true;
        }
        if (year >= c->lo && year <= c->hi)
            return i;
        if (year > c->hi)
            best = i;
    }
    return best;
}

static dl_status index_pairs(const dl__synth_pair *p, uint32_t n, uint32_t **first,
                             uint32_t **count, dl_error *err)
{
    *first = calloc(dl__synth_n_names, sizeof **first);
    *count = calloc(dl__synth_n_names, sizeof **count);
    if (!*first || !*count)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    for (uint32_t i = 0; i < n; i++) {
        if ((*count)[p[i].a] == 0)
            (*first)[p[i].a] = i;
        (*count)[p[i].a]++;
    }
    return DL_OK;
}

static uint64_t gcd64(uint64_t a, uint64_t b)
{
    while (b) {
        uint64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

dl_status dl__synth_model_init(dl__synth_model *m, const dl_synth_spec *s, uint64_t seed,
                               dl_error *err)
{
    memset(m, 0, sizeof *m);
    m->spec = s;
    m->seed = seed;
    dl_status st = DL_OK;
    if (dl__synth_cohorts_n > sizeof m->given / sizeof m->given[0])
        return dl_error_set(err, DL_EINTERNAL, NULL, 0, 0, "too many name cohorts");
    for (uint32_t c = 0; c < dl__synth_cohorts_n && !st; c++)
        st = alias_from_entries(&m->given[c], dl__synth_given + dl__synth_cohorts[c].first,
                                dl__synth_cohorts[c].count, err);
    for (uint32_t sex = 0; sex < 2; sex++)
        for (int32_t y = 0; y < DL__YEARS; y++)
            m->cohort_by_year[sex][y] = (uint8_t)dl__synth_cohort_of(sex, DL__YEAR0 + y);
    if (!st)
        st = alias_from_entries(&m->surname, dl__synth_surnames, dl__synth_surnames_n, err);
    if (!st) {
        double w[512];
        uint32_t n = dl__synth_sectors_n;
        double *wp = n <= 512 ? w : malloc(sizeof *wp * n);
        if (!wp)
            return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
        for (uint32_t i = 0; i < n; i++)
            wp[i] = dl__synth_sectors[i].weight;
        st = dl__alias_build(&m->sector, wp, n, err);
        if (wp != w)
            free(wp);
    }
    /* Single years of age from 5-year bands; the last band (90+) spread over
     * 90-100 with the same total. */
    double age[101], child[101], adult[101], parent[101];
    for (int a = 0; a <= 100; a++) {
        uint32_t band = (uint32_t)a / 5;
        if (band >= dl__synth_age_bands_n - 1)
            age[a] = dl__synth_age_bands[dl__synth_age_bands_n - 1] / 11.0;
        else
            age[a] = dl__synth_age_bands[band] / 5.0;
        child[a] = a < 18 ? age[a] : 0;
        adult[a] = a >= 18 ? age[a] : 0;
        /* Parents of children at home: 20 to 55. */
        parent[a] = a >= 20 && a <= 55 ? age[a] : 0;
    }
    if (!st)
        st = dl__alias_build(&m->age_child, child, 101, err);
    /* Adults of households with children are drawn as parents (20-55) and
     * third adults as grown-up children (18-29). The first adult of a
     * household without children takes the rest of the target age profile,
     * so that all adults together follow the bands. */
    double n_adults = 0, f_parent = 0, f_grown = 0, s_adult = 0, s_parent = 0;
    for (size_t i = 0; i < sizeof compositions / sizeof compositions[0]; i++) {
        n_adults += compositions[i].share * compositions[i].adults;
        if (compositions[i].children)
            f_parent += compositions[i].share * (compositions[i].adults < 2 ? 1 : 2);
        f_grown += compositions[i].share * (compositions[i].adults == 3);
    }
    f_parent /= n_adults;
    f_grown /= n_adults;
    for (int a = 0; a <= 100; a++) {
        s_adult += adult[a];
        s_parent += parent[a];
    }
    for (int a = 0; a <= 100; a++) {
        double rest = adult[a] / s_adult - f_parent * parent[a] / s_parent -
                      (a >= 18 && a < 30 ? f_grown / 12 : 0);
        adult[a] = rest > 0 ? rest : 0;
    }
    if (!st)
        st = dl__alias_build(&m->age_adult, adult, 101, err);
    if (!st)
        st = dl__alias_build(&m->age_parent, parent, 101, err);
    if (!st)
        st = dl__alias_build(&m->ethnicity, dl__synth_ethnicity_pct, dl__synth_ethnicity_n, err);
    if (!st)
        st = index_pairs(dl__synth_forename_variants, dl__synth_forename_variants_n,
                         &m->fvar_first, &m->fvar_n, err);
    if (!st)
        st = index_pairs(dl__synth_welsh_english, dl__synth_welsh_english_n, &m->welsh_first,
                         &m->welsh_n, err);
    if (!st)
        st = index_pairs(dl__synth_surname_variants, dl__synth_surname_variants_n,
                         &m->svar_first, &m->svar_n, err);
    if (!st) {
        /* NHS numbers only from 999 000 000 x to 999 999 999 x: a range never
         * issued, so synthetic numbers cannot be anyone's. A 9-digit stem
         * whose Modulus 11 check digit would be 10 has no valid number. */
        m->nhs_valid = malloc(sizeof *m->nhs_valid * 1000000);
        if (!m->nhs_valid)
            st = dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
        for (uint32_t v = 0; !st && v < 1000000; v++) {
            char nine[9] = {'9', '9', '9'};
            uint32_t x = v;
            for (int i = 8; i >= 3; i--, x /= 10)
                nine[i] = (char)('0' + x % 10);
            if (dl_nhs_check_digit(nine) >= 0)
                m->nhs_valid[m->nhs_n++] = v;
        }
    }
    if (!st) {
        /* People get numbers through an affine map modulo the count of valid
         * numbers: distinct for distinct people until the range runs out, and
         * in no order that reveals the person id. */
        uint64_t x = seed ^ 0x4e485321u;
        do
            m->nhs_mul = 1 + dl__splitmix64(&x) % (m->nhs_n - 1);
        while (gcd64(m->nhs_mul, m->nhs_n) != 1);
        m->nhs_add = dl__splitmix64(&x) % m->nhs_n;
    }
    if (st)
        dl__synth_model_free(m);
    return st;
}

void dl__synth_model_free(dl__synth_model *m)
{
    if (!m)
        return;
    for (size_t c = 0; c < sizeof m->given / sizeof m->given[0]; c++)
        dl__alias_free(&m->given[c]);
    dl__alias_free(&m->surname);
    dl__alias_free(&m->sector);
    dl__alias_free(&m->age_child);
    dl__alias_free(&m->age_adult);
    dl__alias_free(&m->age_parent);
    dl__alias_free(&m->ethnicity);
    free(m->fvar_first);
    free(m->fvar_n);
    free(m->welsh_first);
    free(m->welsh_n);
    free(m->svar_first);
    free(m->svar_n);
    free(m->nhs_valid);
    memset(m, 0, sizeof *m);
}

/* ---- people --------------------------------------------------------------------- */

/* Letters allowed in the unit part of an inward code (Royal Mail: not C I K M O V). */
static const char unit_letters[] = "ABDEFGHJLNPQRSTUWXYZ";

static void make_postcode(const dl__synth_model *m, dl__rng *r, char out[9])
{
    const char *sec = dl__synth_sectors[dl__alias_draw(&m->sector, r)].sector;
    size_t n = strlen(sec);
    memcpy(out, sec, n);
    out[n] = unit_letters[dl__rng_below(r, 20)];
    out[n + 1] = unit_letters[dl__rng_below(r, 20)];
    out[n + 2] = '\0';
}

static int32_t years_between(int32_t from, int32_t to)
{
    int32_t y1, m1, d1, y2, m2, d2;
    dl__civil_from_days(from, &y1, &m1, &d1);
    dl__civil_from_days(to, &y2, &m2, &d2);
    return y2 - y1 - (m2 < m1 || (m2 == m1 && d2 < d1));
}

static uint32_t draw_given(const dl__synth_model *m, dl__rng *r, uint32_t sex, int32_t dob)
{
    int32_t y, mo, d;
    dl__civil_from_days(dob, &y, &mo, &d);
    y -= DL__YEAR0;
    uint32_t c = m->cohort_by_year[sex][y < 0 ? 0 : y >= DL__YEARS ? DL__YEARS - 1 : y];
    return dl__synth_given[dl__synth_cohorts[c].first + dl__alias_draw(&m->given[c], r)].name;
}

static void make_person(const dl__synth_model *m, dl__rng *r, dl__person *p, uint32_t age,
                        uint8_t sex, int32_t dob_or_0)
{
    const dl_synth_spec *s = m->spec;
    p->sex = sex;
    if (dob_or_0)
        p->dob = dob_or_0;
    else
        p->dob = s->ref_day - (int32_t)floor(((double)age + dl__rng_unit(r)) * 365.2425);
    int32_t a = years_between(p->dob, s->ref_day);
    p->age = a < 0 ? 0 : (uint32_t)a;
    p->fore = draw_given(m, r, sex, p->dob);
    p->middle = DL__NONE;
    if (dl__rng_chance(r, s->middle_rate)) {
        uint32_t mid = draw_given(m, r, sex, p->dob);
        if (mid != p->fore)
            p->middle = mid;
    }
    p->prev_sur = DL__NONE;
    p->carer = p->age >= 18 && dl__rng_chance(r, s->carer_rate);
    /* Who is cared for, as carers' assessments record it. */
    double u = dl__rng_unit(r);
    p->care_type = u < 0.4 ? 0 : u < 0.65 ? 1 : u < 0.8 ? 2 : u < 0.92 ? 3 : 4;
}

static void set_nhs(const dl__synth_model *m, dl__person *p)
{
    uint64_t k = (m->nhs_mul * ((p->id - 1) % m->nhs_n) + m->nhs_add) % m->nhs_n;
    uint32_t v = m->nhs_valid[k];
    char *o = p->nhs;
    o[0] = o[1] = o[2] = '9';
    for (int i = 8; i >= 3; i--, v /= 10)
        o[i] = (char)('0' + v % 10);
    o[9] = (char)('0' + dl_nhs_check_digit(o));
    o[10] = '\0';
}

void dl__synth_people(const dl__synth_model *m, dl__rng *r, uint64_t first_id, uint32_t n,
                      dl__person *out)
{
    const dl_synth_spec *s = m->spec;
    const size_t n_comp = sizeof compositions / sizeof compositions[0];
    uint32_t i = 0;
    while (i < n) {
        double u = dl__rng_unit(r);
        size_t ci = 0;
        while (ci + 1 < n_comp && u >= compositions[ci].share) {
            u -= compositions[ci].share;
            ci++;
        }
        uint32_t adults = compositions[ci].adults, children = compositions[ci].children;
        /* The last household of a chunk is cut to fit: chunks never share one. */
        while (adults + children > n - i) {
            if (children)
                children--;
            else
                adults--;
        }
        uint32_t sur = dl__synth_surnames[dl__alias_draw(&m->surname, r)].name;
        uint8_t eth = (uint8_t)dl__alias_draw(&m->ethnicity, r);
        char pc[9], old_pc[9] = "";
        make_postcode(m, r, pc);
        uint16_t house = (uint16_t)(1 + dl__rng_below(r, 150));
        uint16_t street = (uint16_t)dl__rng_below(r, dl__synth_streets_n);
        bool moved = dl__rng_chance(r, s->move_rate);
        uint16_t old_house = 0, old_street = 0;
        if (moved) {
            make_postcode(m, r, old_pc);
            old_house = (uint16_t)(1 + dl__rng_below(r, 150));
            old_street = (uint16_t)dl__rng_below(r, dl__synth_streets_n);
        }
        dl__person *h = out + i;
        uint32_t size = adults + children;
        memset(h, 0, sizeof *h * size);
        uint32_t first_age =
            dl__alias_draw(children ? &m->age_parent : &m->age_adult, r);
        for (uint32_t k = 0; k < adults; k++) {
            dl__person *p = &h[k];
            uint8_t sex = (uint8_t)dl__rng_below(r, 2);
            uint32_t age = first_age;
            if (k == 1) {
                /* A partner: mostly of the other sex, of similar age. */
                sex = dl__rng_chance(r, 0.97) ? (uint8_t)(1 - h[0].sex) : h[0].sex;
                int32_t a = (int32_t)first_age + (int32_t)dl__rng_below(r, 11) - 5;
                age = a < 18 ? 18 : (uint32_t)a;
            } else if (k >= 2) {
                age = 18 + dl__rng_below(r, 12); /* a grown-up child at home */
            }
            make_person(m, r, p, age, sex, 0);
            p->sur = sur;
            if (k == 1 && !dl__rng_chance(r, s->married_rate)) {
                p->sur = dl__synth_surnames[dl__alias_draw(&m->surname, r)].name;
            } else if (k == 1) {
                /* A shared married name: the woman of the couple (or the
                 * partner, in a same-sex couple) had a birth surname. */
                dl__person *w = h[0].sex == 1 && p->sex == 0 ? &h[0] : p;
                w->prev_sur = dl__synth_surnames[dl__alias_draw(&m->surname, r)].name;
                if (w->prev_sur == sur)
                    w->prev_sur = DL__NONE;
            }
        }
        /* Twins: same date of birth, surname and address. A twin birth is one
         * event, so twin_rate is the chance that a child has a twin among the
         * next children of the household. */
        bool twin_next = false;
        for (uint32_t k = adults; k < size; k++) {
            dl__person *p = &h[k];
            uint8_t sex = (uint8_t)dl__rng_below(r, 2);
            int32_t twin_dob = twin_next ? h[k - 1].dob : 0;
            make_person(m, r, p, dl__alias_draw(&m->age_child, r), sex, twin_dob);
            p->sur = sur;
            twin_next = !twin_next && k + 1 < size && dl__rng_chance(r, s->twin_rate);
        }
        for (uint32_t k = 0; k < size; k++) {
            dl__person *p = &h[k];
            p->id = first_id + i + k;
            p->ethnicity = eth;
            memcpy(p->postcode, pc, sizeof pc);
            p->house = house;
            p->street = street;
            p->moved = moved;
            if (moved) {
                memcpy(p->old_postcode, old_pc, sizeof old_pc);
                p->old_house = old_house;
                p->old_street = old_street;
            }
            set_nhs(m, p);
        }
        i += size;
    }
}
