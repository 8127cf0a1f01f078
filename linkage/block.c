/* block.c: blocking rules to candidate pairs, each pair generated once.
 * Part of linkage/; link.c walks the tasks made here on the worker pool.
 *
 * Each rule gives every record up to DL_BLOCK_KEYS_MAX keys (a hash of its
 * tokens for the rule's features). (key, record) entries are radix-sorted:
 * runs of one key are blocks, records ascending inside. A pair (i, j) is
 * emitted from the smallest key the two share under the rule, and, when the
 * rules form a union, only if no earlier rule would have emitted it: that is
 * decided from the two records' keys alone, so no set of pairs is ever held
 * and memory grows with records, not pairs. Sorted order depends only on
 * the data, so pairs and tasks are the same for any thread count. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/mix.h"
#include "linkage/block.h"

typedef struct entry {
    uint64_t key;
    uint32_t rec;
    uint32_t pad;
} entry;

typedef struct block {
    size_t start;      /* into entries */
    uint32_t size;     /* records paired (after a cap) */
} block;

typedef struct oversize {
    uint64_t key;
    uint32_t limit;    /* largest record kept (cap); 0 with none kept (skip) */
    bool skipped;
} oversize;

typedef struct rule_state {
    size_t n_terms;
    int cols[DL_SPEC_MAX_RULE_TERMS];
    uint8_t nkeys;     /* key slots per record: 1, or DL_BLOCK_KEYS_MAX with sets */
    uint64_t *keys;    /* n * nkeys, ascending, 0 = unused */
    entry *entries;
    size_t n_entries;
    block *blocks;
    size_t n_blocks;
    oversize *over;    /* sorted by key */
    size_t n_over;
    dl_rule_stats st;
} rule_state;

typedef struct task {
    uint32_t rule;
    uint32_t b0, b1;   /* blocks [b0, b1) */
    uint32_t a0, a1;   /* with one block split: its rows [a0, a1) */
    bool split;
} task;

struct dl_blocking {
    const dl_store *store;
    dl_link_type link_type;
    int spine_file;
    bool union_rules;
    bool masks;        /* tell the callback which rules pair each pair */
    size_t n_rules;
    rule_state *rules;
    task *tasks;
    size_t n_tasks;
};

/* ---- keys ---------------------------------------------------------------- */

static void sort_small(uint64_t *v, size_t n)
{
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && v[j - 1] > v[j]; j--) {
            uint64_t t = v[j];
            v[j] = v[j - 1];
            v[j - 1] = t;
        }
}

/* The keys of record R under a rule: one per combination of the terms'
 * tokens, smallest DL_BLOCK_KEYS_MAX kept, ascending; returns how many. */
static size_t record_keys(const dl_store *s, const rule_state *rs, size_t rule_index, size_t r,
                          uint64_t *out)
{
    const uint64_t *tok[DL_SPEC_MAX_RULE_TERMS];
    size_t cnt[DL_SPEC_MAX_RULE_TERMS], idx[DL_SPEC_MAX_RULE_TERMS];
    for (size_t t = 0; t < rs->n_terms; t++) {
        const dl_store_col *c = &s->cols[rs->cols[t]];
        tok[t] = c->tok + r * c->stride;
        size_t k = 0;
        while (k < c->stride && tok[t][k])
            k++;
        if (k == 0)
            return 0;
        cnt[t] = k;
        idx[t] = 0;
    }
    /* At most 4^8 combinations in theory; a cap keeps a pathological record
     * from costing much, and which keys survive depends only on the data. */
    uint64_t all[64];
    size_t n = 0;
    for (;;) {
        uint64_t h = dl_mix64(0x9e3779b97f4a7c15ull * (rule_index + 1));
        for (size_t t = 0; t < rs->n_terms; t++)
            h = dl_mix64(h ^ tok[t][idx[t]]);
        if (h == 0)
            h = 1;
        if (n < 64)
            all[n++] = h;
        size_t t = 0;
        while (t < rs->n_terms && ++idx[t] == cnt[t])
            idx[t++] = 0;
        if (t == rs->n_terms)
            break;
    }
    sort_small(all, n);
    size_t m = 0;
    for (size_t i = 0; i < n && m < rs->nkeys; i++)
        if (m == 0 || all[i] != out[m - 1])
            out[m++] = all[i];
    return m;
}

/* LSD radix sort of entries by key, 16 bits a pass; stable, so records stay
 * ascending within a key (they were generated in record order). */
static bool radix_sort(entry *e, size_t n)
{
    entry *tmp = malloc((n ? n : 1) * sizeof *tmp);
    size_t *count = malloc(65536 * sizeof *count);
    if (!tmp || !count) {
        free(tmp);
        free(count);
        return false;
    }
    entry *src = e, *dst = tmp;
    for (int shift = 0; shift < 64; shift += 16) {
        memset(count, 0, 65536 * sizeof *count);
        for (size_t i = 0; i < n; i++)
            count[(src[i].key >> shift) & 0xffff]++;
        size_t sum = 0;
        for (size_t d = 0; d < 65536; d++) {
            size_t c = count[d];
            count[d] = sum;
            sum += c;
        }
        for (size_t i = 0; i < n; i++)
            dst[count[(src[i].key >> shift) & 0xffff]++] = src[i];
        entry *t = src;
        src = dst;
        dst = t;
    }
    /* Four passes: the result is back in E. */
    free(tmp);
    free(count);
    return true;
}

static const oversize *find_over(const rule_state *rs, uint64_t key)
{
    size_t lo = 0, hi = rs->n_over;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (rs->over[mid].key < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < rs->n_over && rs->over[lo].key == key ? &rs->over[lo] : NULL;
}

/* The smallest key under which the rule pairs I and J (i < j), or 0 when it
 * does not: a shared key whose block was neither skipped nor capped before
 * reaching them. */
static uint64_t pairing_key(const rule_state *rs, uint32_t i, uint32_t j)
{
    const uint64_t *a = rs->keys + (size_t)i * rs->nkeys, *b = rs->keys + (size_t)j * rs->nkeys;
    size_t x = 0, y = 0;
    while (x < rs->nkeys && y < rs->nkeys && a[x] && b[y]) {
        if (a[x] < b[y]) {
            x++;
        } else if (a[x] > b[y]) {
            y++;
        } else {
            const oversize *o = rs->n_over ? find_over(rs, a[x]) : NULL;
            if (!o || (!o->skipped && j <= o->limit))
                return a[x];
            x++;
            y++;
        }
    }
    return 0;
}

/* ---- building ------------------------------------------------------------ */

static dl_status build_rule(dl_blocking *b, const dl_spec *spec, const dl_blocking_rule *rule,
                            size_t r, dl_error *err)
{
    const dl_store *s = b->store;
    rule_state *rs = &b->rules[r];
    dl__rule_text(spec, rule, rs->st.text, sizeof rs->st.text);
    rs->n_terms = rule->n_terms;
    rs->nkeys = 1;
    for (size_t t = 0; t < rule->n_terms; t++) {
        int c = dl__store_col(s, rule->terms[t]);
        if (c < 0 || s->cols[c].filter)
            return dl_error_set(err, DL_EINPUT, spec->path, 0, 0,
                                "blocking rule '%s' needs a token feature the ids files lack",
                                rs->st.text);
        rs->cols[t] = c;
        if (s->cols[c].stride > 1)
            rs->nkeys = DL_BLOCK_KEYS_MAX;
    }
    rs->keys = calloc(s->n ? s->n * rs->nkeys : 1, sizeof *rs->keys);
    if (!rs->keys)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for block keys");
    size_t n_entries = 0;
    for (size_t i = 0; i < s->n; i++) {
        size_t k = record_keys(s, rs, r, i, rs->keys + i * rs->nkeys);
        n_entries += k;
        rs->st.records_keyed += k > 0;
    }
    rs->entries = malloc((n_entries ? n_entries : 1) * sizeof *rs->entries);
    if (!rs->entries)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for block keys");
    size_t e = 0;
    for (size_t i = 0; i < s->n; i++)
        for (size_t k = 0; k < rs->nkeys && rs->keys[i * rs->nkeys + k]; k++)
            rs->entries[e++] = (entry){rs->keys[i * rs->nkeys + k], (uint32_t)i, 0};
    rs->n_entries = e;
    if (!radix_sort(rs->entries, e))
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory sorting block keys");

    /* Blocks: runs of one key with two or more records. */
    size_t nb = 0, no = 0;
    for (size_t x = 0; x < e;) {
        size_t y = x + 1;
        while (y < e && rs->entries[y].key == rs->entries[x].key)
            y++;
        if (y - x >= 2)
            nb++;
        if (y - x > spec->max_block)
            no++;
        x = y;
    }
    rs->blocks = malloc((nb ? nb : 1) * sizeof *rs->blocks);
    rs->over = malloc((no ? no : 1) * sizeof *rs->over);
    if (!rs->blocks || !rs->over)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for blocks");
    for (size_t x = 0; x < e;) {
        size_t y = x + 1;
        while (y < e && rs->entries[y].key == rs->entries[x].key)
            y++;
        size_t size = y - x;
        if (size > rs->st.largest_block)
            rs->st.largest_block = size;
        if (size > spec->max_block) {
            oversize *o = &rs->over[rs->n_over++];
            o->key = rs->entries[x].key;
            o->skipped = spec->oversize == DL_OVERSIZE_SKIP;
            o->limit = o->skipped ? 0 : rs->entries[x + spec->max_block - 1].rec;
            rs->st.oversize_blocks++;
            rs->st.oversize_records += size;
            if (o->skipped) {
                x = y;
                continue;
            }
            size = spec->max_block;
        }
        if (size >= 2)
            rs->blocks[rs->n_blocks++] = (block){x, (uint32_t)size};
        x = y;
    }
    rs->st.blocks = rs->n_blocks;
    /* The oversize keys were met in key order: already sorted for lookups. */
    return DL_OK;
}

static bool push_task(dl_blocking *b, size_t *cap, task t)
{
    if (b->n_tasks == *cap) {
        size_t nc = *cap ? *cap * 2 : 256;
        task *nt = realloc(b->tasks, nc * sizeof *nt);
        if (!nt)
            return false;
        b->tasks = nt;
        *cap = nc;
    }
    b->tasks[b->n_tasks++] = t;
    return true;
}

/* Cut each rule's blocks into tasks of about TARGET candidate pairs: whole
 * blocks gathered, a block bigger than that split by rows. */
static dl_status make_tasks(dl_blocking *b, uint64_t target, dl_error *err)
{
    size_t cap = 0;
    for (size_t r = 0; r < b->n_rules; r++) {
        const rule_state *rs = &b->rules[r];
        uint64_t acc = 0;
        size_t start = 0;
        for (size_t k = 0; k < rs->n_blocks; k++) {
            uint64_t s = rs->blocks[k].size;
            uint64_t pairs = s * (s - 1) / 2;
            if (pairs > target) {
                if (k > start && !push_task(b, &cap, (task){(uint32_t)r, (uint32_t)start,
                                                            (uint32_t)k, 0, 0, false}))
                    goto nomem;
                uint64_t run = 0;
                uint32_t a0 = 0;
                for (uint32_t a = 0; a < s; a++) {
                    run += s - 1 - a;
                    if (run >= target || a + 1 == s) {
                        if (!push_task(b, &cap, (task){(uint32_t)r, (uint32_t)k,
                                                       (uint32_t)k + 1, a0, a + 1, true}))
                            goto nomem;
                        a0 = a + 1;
                        run = 0;
                    }
                }
                start = k + 1;
                acc = 0;
                continue;
            }
            acc += pairs;
            if (acc >= target) {
                if (!push_task(b, &cap, (task){(uint32_t)r, (uint32_t)start, (uint32_t)k + 1,
                                               0, 0, false}))
                    goto nomem;
                start = k + 1;
                acc = 0;
            }
        }
        if (start < rs->n_blocks &&
            !push_task(b, &cap, (task){(uint32_t)r, (uint32_t)start, (uint32_t)rs->n_blocks,
                                       0, 0, false}))
            goto nomem;
    }
    return DL_OK;
nomem:
    return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory for blocking tasks");
}

dl_status dl__blocking_new(const dl_store *store, const dl_spec *spec,
                           const dl_blocking_rule *rules, size_t n_rules, bool union_rules,
                           uint64_t task_pairs, dl_blocking **out, dl_error *err)
{
    *out = NULL;
    if (store->n > UINT32_MAX)
        return dl_error_set(err, DL_EINPUT, NULL, 0, 0, "more than 2^32 - 1 records");
    dl_blocking *b = calloc(1, sizeof *b);
    if (!b)
        return dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    b->store = store;
    b->link_type = spec->link_type;
    b->spine_file = -1;
    if (spec->link_type == DL_LINK_SPINE && spec->spine)
        for (size_t f = 0; f < store->n_files; f++)
            if (strcmp(store->files[f].dataset, spec->spine) == 0)
                b->spine_file = (int)f;
    b->union_rules = union_rules;
    b->n_rules = n_rules;
    b->rules = calloc(n_rules ? n_rules : 1, sizeof *b->rules);
    dl_status st = b->rules ? DL_OK : dl_error_set(err, DL_ENOMEM, NULL, 0, 0, "out of memory");
    for (size_t r = 0; r < n_rules && st == DL_OK; r++)
        st = build_rule(b, spec, &rules[r], r, err);
    if (st == DL_OK)
        st = make_tasks(b, task_pairs ? task_pairs : ((uint64_t)1 << 20), err);
    if (st != DL_OK) {
        dl__blocking_free(b);
        return st;
    }
    *out = b;
    return DL_OK;
}

void dl__blocking_free(dl_blocking *b)
{
    if (!b)
        return;
    for (size_t r = 0; r < b->n_rules && b->rules; r++) {
        free(b->rules[r].keys);
        free(b->rules[r].entries);
        free(b->rules[r].blocks);
        free(b->rules[r].over);
    }
    free(b->rules);
    free(b->tasks);
    free(b);
}

size_t dl__blocking_n_tasks(const dl_blocking *b)
{
    return b->n_tasks;
}

bool dl__blocking_set_masks(dl_blocking *b, bool on)
{
    if (on && b->n_rules > DL_BLOCK_MASK_RULES)
        return false;
    b->masks = on;
    return true;
}

size_t dl__blocking_n_rules(const dl_blocking *b)
{
    return b->n_rules;
}

const dl_rule_stats *dl__blocking_stats(const dl_blocking *b, size_t r)
{
    return &b->rules[r].st;
}

void dl__blocking_reset_pairs(dl_blocking *b)
{
    for (size_t r = 0; r < b->n_rules; r++)
        b->rules[r].st.pairs = 0;
}

void dl__blocking_add_pairs(dl_blocking *b, const uint64_t *rule_pairs)
{
    for (size_t r = 0; r < b->n_rules; r++)
        b->rules[r].st.pairs += rule_pairs[r];
}

/* ---- walking -------------------------------------------------------------- */

dl_status dl__blocking_task(const dl_blocking *b, size_t ti, dl_pairs_fn fn, void *payload,
                            uint64_t *rule_pairs, dl_error *err)
{
    const task *t = &b->tasks[ti];
    const rule_state *rs = &b->rules[t->rule];
    const dl_store *s = b->store;
    dl_pair batch[DL_BLOCK_BATCH];
    uint64_t mask[DL_BLOCK_BATCH];
    size_t n = 0;
    uint64_t emitted = 0;
    const bool multi_key = rs->nkeys > 1;
    const uint64_t own = UINT64_C(1) << (t->rule % DL_BLOCK_MASK_RULES);
    for (uint32_t k = t->b0; k < t->b1; k++) {
        const block *bl = &rs->blocks[k];
        const entry *e = rs->entries + bl->start;
        uint32_t a_lo = t->split ? t->a0 : 0, a_hi = t->split ? t->a1 : bl->size;
        for (uint32_t a = a_lo; a < a_hi; a++) {
            uint32_t i = e[a].rec;
            for (uint32_t c = a + 1; c < bl->size; c++) {
                uint32_t j = e[c].rec;
                if (!dl__pair_allowed(s, b->link_type, b->spine_file, i, j))
                    continue;
                /* Under several shared keys the pair belongs to the smallest. */
                if (multi_key && pairing_key(rs, i, j) != e[a].key)
                    continue;
                bool earlier = false;
                for (uint32_t r = 0; b->union_rules && r < t->rule && !earlier; r++)
                    earlier = pairing_key(&b->rules[r], i, j) != 0;
                if (earlier)
                    continue;
                if (b->masks) {
                    /* Earlier rules do not pair it (or it would not be
                     * here); later ones may. */
                    uint64_t m = own;
                    for (uint32_t r = t->rule + 1; b->union_rules && r < b->n_rules; r++)
                        if (pairing_key(&b->rules[r], i, j) != 0)
                            m |= UINT64_C(1) << r;
                    mask[n] = m;
                }
                batch[n++] = (dl_pair){i, j};
                if (n == DL_BLOCK_BATCH) {
                    dl_status st = fn(batch, b->masks ? mask : NULL, n, payload, err);
                    if (st != DL_OK)
                        return st;
                    emitted += n;
                    n = 0;
                }
            }
        }
    }
    if (n) {
        dl_status st = fn(batch, b->masks ? mask : NULL, n, payload, err);
        if (st != DL_OK)
            return st;
        emitted += n;
    }
    if (rule_pairs)
        rule_pairs[t->rule] += emitted;
    return DL_OK;
}

/* ---- rules as text -------------------------------------------------------- */

void dl__rule_text(const dl_spec *spec, const dl_blocking_rule *rule, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t t = 0; t < rule->n_terms && used < size; t++) {
        int w = snprintf(out + used, size - used, "%s%s.%s", t ? " & " : "",
                         spec->fields[rule->terms[t].field].name,
                         dl_feature_name(rule->terms[t].kind));
        if (w < 0)
            break;
        used += (size_t)w;
    }
}

void dl__rule_fixed_comparisons(const dl_spec *spec, const dl_blocking_rule *rule, bool *fixed)
{
    for (size_t c = 0; c < spec->n_comparisons; c++) {
        const dl_spec_comparison *cmp = &spec->comparisons[c];
        fixed[c] = false;
        for (size_t t = 0; t < rule->n_terms && !fixed[c]; t++) {
            uint16_t f = rule->terms[t].field;
            if (cmp->null_if.field == f)
                fixed[c] = true;
            for (size_t l = 0; l < cmp->n_levels && !fixed[c]; l++)
                for (size_t k = 0; k < cmp->levels[l].n_terms; k++)
                    if (cmp->levels[l].terms[k].field == f)
                        fixed[c] = true;
        }
    }
}
