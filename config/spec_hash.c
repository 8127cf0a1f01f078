/* spec_hash.c: the canonical text of a spec's encoding part and its SHA-256.
 * Part of config/; prepare writes the hash into every manifest and link
 * refuses inputs whose hashes differ, so custodians can confirm they encode alike. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "config/spec_internal.h"
#include "dolen/buf.h"

/* Only what changes the bytes of an encoding goes in: per field its name
 * (it selects the field's subkey), type (the normaliser), features, Bloom
 * options when it has a filter, placeholders and the date range (both decide
 * what counts as missing), and the record-level CLK. Column names, date input
 * formats, the record id, the delimiter, content, comparisons, blocking,
 * training, thresholds and clustering do not change any encoding, so two
 * custodians whose CSVs differ only there get the same hash (docs/spec.md).
 * Changing this text changes every hash: bump the version line if you do. */

char *dl__spec_date_str(int32_t ymd, char out[11])
{
    if (ymd == 0)
        snprintf(out, 11, "today");
    else {
        unsigned u = (unsigned)ymd;
        snprintf(out, 11, "%04u-%02u-%02u", u / 10000 % 10000, u / 100 % 100, u % 100);
    }
    return out;
}

static bool put_bloom(dl_buf *b, const char *prefix, const dl_bloom_opts *o)
{
    return dl_buf_printf(b,
                         "%s.bloom.q=%u\n%s.bloom.bits=%u\n%s.bloom.k=%u\n"
                         "%s.bloom.padded=%s\n%s.bloom.salt=%s\n%s.bloom.balance=%s\n"
                         "%s.bloom.xor_folds=%u\n",
                         prefix, o->q, prefix, o->bits, prefix, o->k, prefix,
                         o->padded ? "true" : "false", prefix,
                         o->salt_field ? o->salt_field : "", prefix,
                         o->balance ? "true" : "false", prefix, o->xor_folds);
}

char *dl_spec_canonical(const dl_spec *s)
{
    dl_buf b = DL_BUF_INIT;
    bool ok = dl_buf_puts(&b, "dolen-spec-encoding v1\n") &&
              dl_buf_puts(&b, "normalisation=" DL_NORMALISATION_TAG "\n");
    for (size_t i = 0; ok && i < s->n_fields; i++) {
        const dl_spec_field *f = &s->fields[i];
        ok = dl_buf_printf(&b, "field=%s\n%s.type=%s\n%s.features=", f->name, f->name,
                           dl_field_type_name(f->type), f->name);
        bool bloom = false;
        for (size_t j = 0; ok && j < f->n_features; j++) {
            ok = dl_buf_printf(&b, "%s%s", j ? "," : "", dl_feature_name(f->features[j]));
            bloom |= f->features[j] == DL_FEAT_BLOOM;
        }
        ok = ok && dl_buf_putc(&b, '\n');
        /* Only when set, so that the hash of every spec without it stays. */
        if (ok && f->token_key)
            ok = dl_buf_printf(&b, "%s.token_key=%s\n", f->name, f->token_key);
        if (ok && bloom)
            ok = put_bloom(&b, f->name, &f->bloom);
        /* Placeholders are sorted and upper-cased by the loader, so their
           order and case in the file do not matter. */
        for (size_t j = 0; ok && j < f->n_placeholders; j++)
            ok = dl_buf_printf(&b, "%s.placeholder=%s\n", f->name, f->placeholders[j]);
        if (ok && f->type == DL_FT_DATE) {
            char lo[11], hi[11];
            ok = dl_buf_printf(&b, "%s.date.min=%s\n%s.date.max=%s\n", f->name,
                               dl__spec_date_str(f->min_date, lo), f->name,
                               dl__spec_date_str(f->max_date, hi));
        }
    }
    if (ok && s->n_clk_fields) {
        ok = dl_buf_puts(&b, "clk.fields=");
        for (size_t j = 0; ok && j < s->n_clk_fields; j++)
            ok = dl_buf_printf(&b, "%s%s", j ? "," : "", s->fields[s->clk_fields[j]].name);
        ok = ok && dl_buf_putc(&b, '\n') && put_bloom(&b, "clk", &s->clk);
    }
    if (!ok) {
        dl_buf_free(&b);
        return NULL;
    }
    return b.data;
}

bool dl__spec_compute_hash(dl_spec *s)
{
    memset(s->hash, 0, sizeof s->hash);
    char *text = dl_spec_canonical(s);
    if (!text)
        return false;
    unsigned int n = 0;
    int ok = EVP_Digest(text, strlen(text), s->hash, &n, EVP_sha256(), NULL);
    free(text);
    if (!ok || n != sizeof s->hash) {
        memset(s->hash, 0, sizeof s->hash);
        return false;
    }
    return true;
}

char *dl_spec_hash_hex(const dl_spec *s, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = hex[s->hash[i] >> 4];
        out[2 * i + 1] = hex[s->hash[i] & 15];
    }
    out[64] = '\0';
    return out;
}
