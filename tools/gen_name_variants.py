#!/usr/bin/env python3
"""Generate hashing/name_variants_table.c from the name-variant lists in
tests/data/names/ (sources and licences in tests/data/names/README.md and
docs/name-variants.md). Run from the repository root:

    python3 tools/gen_name_variants.py > hashing/name_variants_table.c

A group is a reference name with the names listed as its variants or
nicknames; lists naming the same reference are merged; a group whose names
all lie in a larger group is dropped (the larger one already joins them).
Each name then maps to the canonical (reference) names of up to MAX groups
that hold it, chosen greedily to cover as many of its fellow members as
possible, its own group first. Names are folded like dl_normalise_name does
(upper-case ASCII, diacritics and apostrophes dropped); names with more than
one word are skipped (the C side looks up single normalised names or parts).
"""
import csv
import os
import sys
import unicodedata

MAX = 4  # DL_TOKEN_SET_MAX in include/dolen/spec.h
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'tests', 'data', 'names')


def norm(s):
    s = unicodedata.normalize('NFKD', s.strip())
    s = ''.join(c for c in s if not unicodedata.combining(c) and c not in "'\u2019`")
    s = s.upper()
    if not s or not all('A' <= c <= 'Z' for c in s):
        return None
    return s


def add(groups, key, members):
    key = norm(key)
    if key is None:
        return
    g = groups.setdefault(key, set([key]))
    for m in members:
        m = norm(m)
        if m:
            g.add(m)


def read_pairs(path, groups):
    with open(path, newline='', encoding='utf-8') as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            if len(row) >= 2:
                add(groups, row[0], [row[1]])


def read_rows(path, groups):
    with open(path, newline='', encoding='utf-8') as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            if row:
                add(groups, row[0], [c for c in row[1:] if c.strip()])


def read_welsh(path, groups):
    with open(path, newline='', encoding='utf-8') as f:
        r = csv.reader(f)
        next(r)
        for row in r:
            if len(row) == 2:
                add(groups, row[0], row[1].split())


def build(groups):
    # Drop groups contained in a larger (or equal, earlier-named) group.
    items = sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))
    kept = []
    member_of = {}
    for key, s in items:
        cands = None
        for m in s:
            gi = set(member_of.get(m, ()))
            cands = gi if cands is None else cands & gi
            if not cands:
                break
        if cands:
            continue
        kept.append((key, s))
        for m in s:
            member_of.setdefault(m, []).append(len(kept) - 1)
    table = {}
    lost = 0
    for name, gis in member_of.items():
        if len(gis) <= MAX:
            chosen = sorted(gis, key=lambda g: (kept[g][0] != name, kept[g][0]))
        else:
            left = set(gis)
            chosen = []
            covered = set()
            own = [g for g in gis if kept[g][0] == name]
            if own:
                chosen.append(own[0])
                covered |= kept[own[0]][1]
                left.discard(own[0])
            while len(chosen) < MAX and left:
                best = max(left, key=lambda g: (len(kept[g][1] - covered), len(kept[g][1]),
                                                 [-ord(c) for c in kept[g][0]]))
                chosen.append(best)
                covered |= kept[best][1]
                left.discard(best)
            allm = set().union(*(kept[g][1] for g in gis))
            lost += len(allm - covered)
        table[name] = [kept[g][0] for g in chosen]
    # How many pairs listed together no longer share a canonical after the cap.
    pairs = broken = 0
    for key, s in kept:
        ms = sorted(s)
        for i, a in enumerate(ms):
            for b in ms[i + 1:]:
                pairs += 1
                if not set(table[a]) & set(table[b]):
                    broken += 1
    return table, len(kept), pairs, broken


def emit(out, prefix, table):
    names = sorted(table)
    index = {n: i for i, n in enumerate(names)}
    out.write('/* %d names */\n' % len(names))
    out.write('const uint32_t dl__nv_%s_n = %d;\n' % (prefix, len(names)))
    out.write('const char dl__nv_%s_pool[] =\n' % prefix)
    offs = []
    pos = 0
    line = '    "'
    for n in names:
        offs.append(pos)
        pos += len(n) + 1
        piece = n + '\\0'
        if len(line) + len(piece) > 86:
            out.write(line + '"\n')
            line = '    "'
        line += piece
    out.write(line + '";\n')
    out.write('const uint32_t dl__nv_%s_off[] = {\n' % prefix)
    for i in range(0, len(offs), 10):
        out.write('    ' + ', '.join(str(o) for o in offs[i:i + 10]) + ',\n')
    out.write('};\n')
    out.write('const uint16_t dl__nv_%s_groups[][%d] = {\n' % (prefix, MAX))
    for n in names:
        g = [index[c] for c in table[n]] + [0xFFFF] * (MAX - len(table[n]))
        out.write('    {%s}, /* %s */\n' % (', '.join(str(x) for x in g), n))
    out.write('};\n\n')


def main():
    given = {}
    read_pairs(os.path.join(HERE, 'firstname_uk_variant.csv'), given)
    read_rows(os.path.join(HERE, 'nicknames_pseudopeople.csv'), given)
    read_welsh(os.path.join(HERE, 'welsh_english_given.csv'), given)
    surname = {}
    read_pairs(os.path.join(HERE, 'lastname_uk_variant.csv'), surname)
    read_welsh(os.path.join(HERE, 'welsh_english_surnames.csv'), surname)
    gt, gk, gp, gb = build(given)
    st, sk, sp, sb = build(surname)
    sys.stderr.write('given: %d names, %d groups, %d member pairs, %d split by the cap\n'
                     % (len(gt), gk, gp, gb))
    sys.stderr.write('surname: %d names, %d groups, %d member pairs, %d split by the cap\n'
                     % (len(st), sk, sp, sb))
    out = sys.stdout
    out.write('/* name_variants_table.c: GENERATED by tools/gen_name_variants.py from\n'
              ' * tests/data/names/ (see docs/name-variants.md); do not edit by hand.\n'
              ' * Part of hashing/: the data behind dl_name_variants (name_variants.c). */\n'
              '#include <stdint.h>\n\n'
              '/* For each table: names sorted bytewise, NUL-separated in _pool, starting at\n'
              ' * _off[i]; _groups[i] lists the indexes of the canonical names of the groups\n'
              ' * name i belongs to, 0xFFFF when unused. Declared again in name_variants.c. */\n'
              'extern const uint32_t dl__nv_given_n, dl__nv_surname_n;\n'
              'extern const char dl__nv_given_pool[], dl__nv_surname_pool[];\n'
              'extern const uint32_t dl__nv_given_off[], dl__nv_surname_off[];\n'
              'extern const uint16_t dl__nv_given_groups[][%d], dl__nv_surname_groups[][%d];\n\n'
              % (MAX, MAX))
    emit(out, 'given', gt)
    emit(out, 'surname', st)


if __name__ == '__main__':
    main()
