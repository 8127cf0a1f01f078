#!/usr/bin/env python3
"""Derive bench/synth_tables.c (the frequency tables of `dolen synth`) from open name
and postcode lists.

Usage:  tools/gen_synth_tables.py [TESTDATA_DIR] > bench/synth_tables.c
TESTDATA_DIR defaults to ../shared/testdata (the folder holding names/ and geo/;
their README.md files give source, licence and attribution of every list).

The derivation, step by step (docs/synth.md repeats it for users):

Given names, one weighted table per (sex, birth cohort):
  * birth years 1996-2018: the ONS England and Wales full tables
    (names/ons/{boy,girl}name1996to2018EW.csv); per year and sex the TOP_YEAR most
    frequent names, weight = births that year.  Mixed with the ONS Wales-only top 100
    (names/ons/ew_countries.csv, country W, 1997 and 1998; the nearer year is used)
    so that a WALES_SHARE of the cohort's mass follows the Welsh list: dolen's
    people live in Wales, and Welsh-medium names (RHYS, FFION, LOWRI, CARYS, DYLAN)
    are much more common there than in England and Wales as a whole.
  * birth years before 1996: the ONS historic top 100 for England and Wales
    (names/ons/ew_hist.csv, 1904, 1914, ..., 1994; ranks only).  A rank gets the
    weight of the same rank in 1996 (the mean share of that rank among the top 100
    of the 1996 boys and girls), because the historic lists carry no counts.  Mixed
    with OLD_WELSH (a short hand list of traditional Welsh given names, weights
    falling as 1/rank) at OLD_WELSH_SHARE, since the historic lists are for England
    and Wales and hold hardly any Welsh names.
  Cohort for a birth year y: y >= 1996 -> year min(y, 2018); else the historic list
  whose year is nearest (1904 for anything earlier).

Surnames: the Welsh head WELSH_SURNAMES (shares in percent of the population of Wales,
rounded from published counts: JONES about 5.5%, DAVIES, WILLIAMS, EVANS, THOMAS at
2-4%, then ROBERTS, HUGHES, LEWIS, MORGAN, GRIFFITHS ...), then the long tail from
names/ons/lastname_uk.csv (names of the head removed), scaled to the rest of the mass.

Name variants: names/variants/firstname_uk_variant.csv (nicknames and spellings of
a forename), restricted to reference names present in the given-name tables;
names/variants/lastname_uk_variant.csv (surname spellings); WELSH_ENGLISH, a hand
table of Welsh/English equivalent given names (Dafydd/David, Sion/John ...).

Postcode sectors (CF, SA, NP, LL, LD, SY only): every Welsh postcode of
geo/address_uk.csv (a random sample of real UK postcodes; country Wales), counted by
sector; the counts per area also give the area shares (a random sample of postcodes
follows where addresses are).  Within LD, the sectors of the live Welsh postcodes of
geo/NSPL_NOV_2021_UK_LD.csv share LD's mass in proportion to their unit counts.
The generator appends random inward unit letters to a sector, so a synthetic postcode
is valid in form and lies in a real Welsh sector, but the unit need not exist.

Output: C arrays, all weights as integers.  Deterministic: same inputs, same bytes.
"""
import collections
import csv
import io
import os
import sys

TOP_YEAR = 400          # names kept per year and sex, 1996-2018
WALES_SHARE = 0.5       # share of a 1996+ cohort drawn from the Welsh top 100
OLD_WELSH_SHARE = 0.12  # share of an older cohort drawn from OLD_WELSH
WEIGHT_SCALE = 1_000_000  # integer weights per table sum to about this

OLD_WELSH = {
    'M': ['GARETH', 'DAFYDD', 'HUW', 'RHYS', 'GWYN', 'DEWI', 'EMYR', 'ALUN', 'GERAINT',
          'IEUAN', 'GWILYM', 'ALED', 'GLYN', 'HYWEL', 'OWAIN', 'MEIRION', 'IWAN', 'TREFOR',
          'EMRYS', 'BRYN', 'ELWYN', 'DILWYN', 'GETHIN', 'ISLWYN', 'IFAN'],
    'F': ['SIAN', 'MAIR', 'GWEN', 'BETHAN', 'NIA', 'CATRIN', 'ANGHARAD', 'ELERI', 'GLENYS',
          'RHIANNON', 'DELYTH', 'NERYS', 'MEGAN', 'MYFANWY', 'OLWEN', 'SIONED', 'CERI',
          'CARYS', 'GWENDA', 'EIRLYS', 'MENNA', 'LOWRI', 'ELIN', 'HEULWEN', 'LLINOS'],
}

# Welsh/English equivalent given names (both directions are used).
WELSH_ENGLISH = [
    ('DAFYDD', 'DAVID'), ('DEWI', 'DAVID'), ('SION', 'JOHN'), ('IEUAN', 'JOHN'),
    ('IFAN', 'EVAN'), ('GWILYM', 'WILLIAM'), ('HUW', 'HUGH'), ('RHYS', 'REECE'),
    ('OWAIN', 'OWEN'), ('TOMOS', 'THOMAS'), ('GRUFFUDD', 'GRIFFITH'), ('HYWEL', 'HOWELL'),
    ('SIENCYN', 'JENKIN'), ('EMRYS', 'AMBROSE'), ('PEDR', 'PETER'), ('MIHANGEL', 'MICHAEL'),
    ('SIAN', 'JANE'), ('SIONED', 'JANET'), ('MAIR', 'MARY'), ('ELEN', 'HELEN'),
    ('CATRIN', 'CATHERINE'), ('MARGED', 'MARGARET'), ('SIWAN', 'JOAN'), ('ELISABETH', 'ELIZABETH'),
    ('BETHAN', 'ELIZABETH'), ('GWENLLIAN', 'GWENDOLINE'), ('ANGHARAD', 'ANN'),
]

# Percent of people in Wales bearing each surname (head of the distribution).
WELSH_SURNAMES = [
    ('JONES', 5.5), ('DAVIES', 3.6), ('WILLIAMS', 3.4), ('THOMAS', 2.4), ('EVANS', 2.3),
    ('ROBERTS', 1.6), ('HUGHES', 1.3), ('LEWIS', 1.3), ('MORGAN', 1.2), ('GRIFFITHS', 1.1),
    ('JAMES', 0.9), ('PRICE', 0.9), ('REES', 0.8), ('PHILLIPS', 0.8), ('EDWARDS', 0.8),
    ('OWEN', 0.8), ('JENKINS', 0.8), ('MORRIS', 0.7), ('LLOYD', 0.6), ('POWELL', 0.5),
    ('PARRY', 0.5), ('RICHARDS', 0.4), ('HARRIS', 0.4), ('WATKINS', 0.4), ('BOWEN', 0.3),
    ('HOWELLS', 0.3), ('PRITCHARD', 0.3), ('PUGH', 0.3), ('ELLIS', 0.3), ('LLEWELLYN', 0.2),
    ('MORGANS', 0.1), ('PROSSER', 0.1), ('GWYNNE', 0.1), ('VAUGHAN', 0.2), ('PROBERT', 0.1),
]

# Street names (invented list in the style of Welsh addresses; not from any data set).
STREETS = [
    'High Street', 'Stryd Fawr', 'Church Road', 'Heol yr Eglwys', 'Station Road',
    'Ffordd yr Orsaf', 'Heol y Parc', 'Park View', 'Maes y Coed', 'Bryn Heulog',
    'Llys Derwen', 'Victoria Road', 'Mill Lane', 'Heol Las', 'Pen y Bryn', 'Cae Mawr',
    'Tan y Bryn', 'Ffordd Penrhos', 'Heol Newydd', 'New Road', 'Chapel Street',
    'Stryd y Capel', 'Castle Street', 'Heol y Castell', 'Bridge Street', 'Mountain Road',
    'Heol y Mynydd', 'Brynteg', 'Maes yr Haf', 'Clos y Dderwen', 'Oak Close', 'School Lane',
    'Heol yr Ysgol', 'Queen Street', 'King Street', 'Market Street', 'Water Street',
    'Glan yr Afon', 'Riverside', 'Meadow Way', 'Cwrt y Felin', 'Coed y Gof', 'Heol Hir',
    'Lon Isaf', 'Lon Uchaf', 'Tir Coed', 'Garth Road', 'Llwyn Onn', 'Y Dderwen',
    'Cefn Road', 'Oakfield Road', 'Ash Grove', 'Beech Avenue', 'Elm Grove', 'Hill Street',
]

# Approximate age structure of Wales, percent per 5-year band 0-4 ... 85-89, 90+
# (rounded from ONS mid-year population estimates for Wales, around 2020).
AGE_BANDS = [5.3, 5.8, 5.8, 5.6, 6.5, 6.2, 6.1, 5.8, 5.5, 6.1, 7.0, 7.0, 6.4, 5.9, 6.1,
             4.4, 3.0, 1.8, 1.0]

# Ethnic group, Wales, Census 2021 (ONS), percent.
ETHNICITY = [('White', 93.8), ('Asian or Asian British', 2.9), ('Mixed or Multiple', 1.6),
             ('Black or Black British', 0.9), ('Other ethnic group', 0.9)]

AREAS = ('CF', 'SA', 'NP', 'LL', 'LD', 'SY')


def read_csv(path):
    with open(path, newline='', encoding='utf-8-sig') as f:
        return list(csv.reader(f))


def scale(weights):
    total = float(sum(weights))
    return [max(1, int(round(w * WEIGHT_SCALE / total))) for w in weights]


def mix(parts):
    """parts: list of (share, {name: weight}); returns {name: mixed weight}."""
    out = collections.defaultdict(float)
    for share, table in parts:
        total = float(sum(table.values()))
        for n, w in table.items():
            out[n] += share * w / total
    return out


def clean(name):
    name = name.strip().upper()
    return name if name and all(c.isalpha() or c in "-'" for c in name) else None


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), '..', '..', 'shared', 'testdata')
    names = os.path.join(root, 'names')
    geo = os.path.join(root, 'geo')

    # ---- given names -------------------------------------------------------------
    years = {}  # (sex, year) -> {name: count}
    for sex, fn in (('M', 'boyname1996to2018EW.csv'), ('F', 'girlname1996to2018EW.csv')):
        for row in read_csv(os.path.join(names, 'ons', fn))[1:]:
            n = clean(row[1])
            if n:
                t = years.setdefault((sex, int(row[0])), {})
                t[n] = t.get(n, 0) + int(row[2].replace(',', ''))
    wales = {}  # (sex, year) -> {name: count}
    for row in read_csv(os.path.join(names, 'ons', 'ew_countries.csv'))[1:]:
        if row[1] == 'W':
            wales.setdefault((row[2], int(row[0])), {})[row[3].upper()] = int(row[4])
    hist = {}  # (sex, year) -> {name: rank}
    for row in read_csv(os.path.join(names, 'ons', 'ew_hist.csv'))[1:]:
        hist.setdefault((row[1], int(row[0])), {})[row[2].upper()] = int(row[3])
    # Share of each rank among the top 100 in 1996, mean of boys and girls.
    rank_share = [0.0] * 101
    for sex in 'MF':
        top = sorted(years[(sex, 1996)].values(), reverse=True)[:100]
        for r, c in enumerate(top, 1):
            rank_share[r] += c / sum(top) / 2

    cohorts = []  # (sex, year_from, year_to, [(name, weight)])
    hist_years = sorted({y for (_, y) in hist})
    for sex in 'MF':
        for i, hy in enumerate(hist_years):
            lo = 0 if i == 0 else (hist_years[i - 1] + hy) // 2 + 1
            hi = 1995 if i == len(hist_years) - 1 else (hy + hist_years[i + 1]) // 2
            base = {n: rank_share[r] for n, r in hist[(sex, hy)].items()}
            old = {n: 1.0 / r for r, n in enumerate(OLD_WELSH[sex], 1)}
            t = mix([(1 - OLD_WELSH_SHARE, base), (OLD_WELSH_SHARE, old)])
            cohorts.append((sex, lo, hi, t))
        for y in range(1996, 2019):
            top = dict(sorted(years[(sex, y)].items(), key=lambda kv: (-kv[1], kv[0]))[:TOP_YEAR])
            wy = 1997 if y <= 1997 else 1998
            t = mix([(1 - WALES_SHARE, top), (WALES_SHARE, wales[(sex, wy)])])
            cohorts.append((sex, y, 9999 if y == 2018 else y, t))

    pool = {}

    def nid(n):
        if n not in pool:
            pool[n] = len(pool)
        return pool[n]

    given_entries = []
    cohort_rows = []
    for sex, lo, hi, t in cohorts:
        items = sorted(t.items(), key=lambda kv: (-kv[1], kv[0]))
        ws = scale([w for _, w in items])
        cohort_rows.append((0 if sex == 'M' else 1, lo, hi, len(given_entries), len(items)))
        for (n, _), w in zip(items, ws):
            given_entries.append((nid(n), w))

    # ---- surnames -------------------------------------------------------------
    head = dict(WELSH_SURNAMES)
    head_total = sum(head.values())
    tail = collections.OrderedDict()
    for row in read_csv(os.path.join(names, 'ons', 'lastname_uk.csv'))[1:]:
        n = clean(row[0])
        if n and n not in head:
            tail[n] = tail.get(n, 0.0) + float(row[1])
    tail_total = sum(tail.values())
    sur = [(n, p / 100.0) for n, p in WELSH_SURNAMES]
    sur += [(n, f / tail_total * (1 - head_total / 100.0)) for n, f in tail.items()]
    sur.sort(key=lambda kv: (-kv[1], kv[0]))
    sur_w = [max(1, int(round(p * 100_000_000))) for _, p in sur]
    sur_ids = [nid(n) for n, _ in sur]

    # ---- variants -------------------------------------------------------------
    given_names = {n for (_, _, _, t) in cohorts for n in t}
    fvar = []
    seen = set()
    for row in read_csv(os.path.join(names, 'variants', 'firstname_uk_variant.csv'))[1:]:
        a, b = clean(row[0]), clean(row[1])
        if a and b and a != b and a in given_names and len(b) >= 2 and (a, b) not in seen:
            seen.add((a, b))
            fvar.append((a, b))
    welsh = []
    for a, b in WELSH_ENGLISH:
        welsh.append((a, b))
        welsh.append((b, a))
    svar = []
    seen = set()
    sur_names = {n for n, _ in sur}
    for row in read_csv(os.path.join(names, 'variants', 'lastname_uk_variant.csv'))[1:]:
        a, b = clean(row[0]), clean(row[1])
        if a and b and a != b and a in sur_names and (a, b) not in seen:
            seen.add((a, b))
            svar.append((a, b))
    fvar.sort()
    welsh.sort()
    svar.sort()
    fvar = [(nid(a), nid(b)) for a, b in fvar]
    welsh = [(nid(a), nid(b)) for a, b in welsh]
    svar = [(nid(a), nid(b)) for a, b in svar]

    # ---- postcode sectors -----------------------------------------------------
    sectors = collections.Counter()
    for row in read_csv(os.path.join(geo, 'address_uk.csv'))[1:]:
        pc = row[0].strip().upper()
        if row[1] == 'Wales' and pc[:2] in AREAS and pc[2].isdigit() and pc[:2] != 'LD':
            sectors[pc[:-2]] += 1
    ld_share = sum(1 for row in read_csv(os.path.join(geo, 'address_uk.csv'))[1:]
                   if row[1] == 'Wales' and row[0].startswith('LD'))
    ld = collections.Counter()
    for row in read_csv(os.path.join(geo, 'NSPL_NOV_2021_UK_LD.csv'))[1:]:
        # pcds, doterm, ctry
        if row[4] == '' and row[16] == 'W92000004':
            ld[row[2].strip()[:-2]] += 1
    ld_total = sum(ld.values())
    sec = [(s, float(c)) for s, c in sectors.items()]
    sec += [(s, ld_share * c / ld_total) for s, c in ld.items()]
    sec.sort()
    sec_w = [max(1, int(round(w * 1000))) for _, w in sec]

    # ---- emit -----------------------------------------------------------------
    o = io.StringIO()
    w = o.write
    w('/* synth_tables.c: frequency tables for `dolen synth` (GENERATED, do not edit).\n'
      ' * Part of bench/; made by tools/gen_synth_tables.py, which documents the derivation.\n'
      ' *\n'
      ' * Sources: ONS baby names for England and Wales 1996-2018, ONS Wales top 100\n'
      ' * (1997, 1998), ONS historic top 100 (1904-1994), a UK surname list (sdglinkage,\n'
      ' * "provided by the ONS"), UK forename/surname variant lists (sdglinkage), real\n'
      ' * Welsh postcodes (postcodes.io sample via sdglinkage; ONS NSPL Nov 2021, LD).\n'
      ' * "Source: Office for National Statistics licensed under the Open Government\n'
      ' * Licence v3.0." Postcodes: "Contains OS data (c) Crown copyright and database\n'
      ' * right. Contains Royal Mail data (c) Royal Mail copyright and database right.\n'
      ' * Contains GeoPlace data (c) Local Government Information House Limited copyright\n'
      ' * and database right." Repackaging repositories: MIT licence. See\n'
      ' * tests/data/names/README.md. */\n'
      '#include "bench/synth_internal.h"\n\n')
    pool_list = sorted(pool.items(), key=lambda kv: kv[1])
    w('const char *const dl__synth_names[] = {\n')
    line = '   '
    for n, _ in pool_list:
        item = ' "%s",' % n
        if len(line) + len(item) > 90:
            w(line + '\n')
            line = '   '
        line += item
    w(line + '\n};\n')
    w('const uint32_t dl__synth_n_names = %d;\n\n' % len(pool_list))

    def emit_pairs(name, ctype, rows, per_line):
        w('const %s %s[] = {\n' % (ctype, name))
        for i in range(0, len(rows), per_line):
            w('   ' + ''.join(' {%s},' % ', '.join(str(x) for x in r)
                              for r in rows[i:i + per_line]) + '\n')
        w('};\n')
        w('const uint32_t %s_n = %d;\n\n' % (name, len(rows)))

    emit_pairs('dl__synth_given', 'dl__synth_entry', given_entries, 6)
    emit_pairs('dl__synth_cohorts', 'dl__synth_cohort', cohort_rows, 3)
    emit_pairs('dl__synth_surnames', 'dl__synth_entry', list(zip(sur_ids, sur_w)), 6)
    emit_pairs('dl__synth_forename_variants', 'dl__synth_pair', fvar, 8)
    emit_pairs('dl__synth_welsh_english', 'dl__synth_pair', welsh, 8)
    emit_pairs('dl__synth_surname_variants', 'dl__synth_pair', svar, 8)
    w('const dl__synth_sector dl__synth_sectors[] = {\n')
    for i in range(0, len(sec), 5):
        w('   ' + ''.join(' {"%s", %d},' % (s, wt) for (s, _), wt in
                          zip(sec[i:i + 5], sec_w[i:i + 5])) + '\n')
    w('};\nconst uint32_t dl__synth_sectors_n = %d;\n\n' % len(sec))
    w('const char *const dl__synth_streets[] = {\n')
    for s in STREETS:
        w('    "%s",\n' % s)
    w('};\nconst uint32_t dl__synth_streets_n = %d;\n\n' % len(STREETS))
    w('/* Percent per 5-year age band, 0-4 ... 85-89, 90+ (ONS mid-year estimates, Wales,\n'
      ' * rounded). */\n')
    w('const double dl__synth_age_bands[] = {%s};\n' % ', '.join(str(x) for x in AGE_BANDS))
    w('const uint32_t dl__synth_age_bands_n = %d;\n\n' % len(AGE_BANDS))
    w('/* Ethnic group, Wales, Census 2021 (ONS), percent. */\n')
    w('const char *const dl__synth_ethnicity[] = {%s};\n'
      % ', '.join('"%s"' % e for e, _ in ETHNICITY))
    w('const double dl__synth_ethnicity_pct[] = {%s};\n' % ', '.join(str(p) for _, p in ETHNICITY))
    w('const uint32_t dl__synth_ethnicity_n = %d;\n' % len(ETHNICITY))
    sys.stdout.write(o.getvalue())


if __name__ == '__main__':
    main()
