/* spec_model.c: the vocabulary of the linkage spec: field types, features and
 * which feature each type may carry. Part of config/; the loader, the printer
 * and prepare all name things through these tables. */
#include <string.h>

#include "dolen/spec.h"

/* Indexed by dl_field_type; the names are the YAML spellings. */
static const char *const type_names[DL_FT__COUNT] = {
    [DL_FT_GIVEN_NAME] = "given_name",
    [DL_FT_SURNAME] = "surname",
    [DL_FT_DATE] = "date",
    [DL_FT_SEX] = "sex",
    [DL_FT_UK_POSTCODE] = "uk_postcode",
    [DL_FT_NHS_NUMBER] = "nhs_number",
    [DL_FT_TEXT] = "text",
};

/* Indexed by dl_feature_kind; these also name the columns `FIELD.FEATURE` of
 * an ids file, so they must never change once data are written with them. */
static const char *const feature_names[DL_FEAT__COUNT] = {
    [DL_FEAT_TOKEN] = "token",
    [DL_FEAT_PARTS] = "parts",
    [DL_FEAT_SOUNDEX] = "soundex",
    [DL_FEAT_NYSIIS] = "nysiis",
    [DL_FEAT_DMETAPHONE] = "dmetaphone",
    [DL_FEAT_VARIANT] = "variant",
    [DL_FEAT_INITIAL] = "initial",
    [DL_FEAT_YEAR] = "year",
    [DL_FEAT_MONTH] = "month",
    [DL_FEAT_DAY] = "day",
    [DL_FEAT_SWAP] = "swap",
    [DL_FEAT_YEAR_PM1] = "year_pm1",
    [DL_FEAT_SECTOR] = "sector",
    [DL_FEAT_DISTRICT] = "district",
    [DL_FEAT_AREA] = "area",
    [DL_FEAT_BLOOM] = "bloom",
};

#define B(k) (1u << (k))
/* Per type, the set of allowed features as a bit mask. Phonetic codes and
 * name variants only make sense for personal names; q-gram filters for any
 * free string (names, text); date parts for dates; postcode levels for UK
 * postcodes. Sex and NHS numbers are exact codes: a token only. */
#define NAME_FEATS                                                                         \
    (B(DL_FEAT_TOKEN) | B(DL_FEAT_PARTS) | B(DL_FEAT_SOUNDEX) | B(DL_FEAT_NYSIIS) |        \
     B(DL_FEAT_DMETAPHONE) | B(DL_FEAT_VARIANT) | B(DL_FEAT_INITIAL) | B(DL_FEAT_BLOOM))
static const unsigned allowed[DL_FT__COUNT] = {
    [DL_FT_GIVEN_NAME] = NAME_FEATS,
    [DL_FT_SURNAME] = NAME_FEATS,
    [DL_FT_DATE] = B(DL_FEAT_TOKEN) | B(DL_FEAT_YEAR) | B(DL_FEAT_MONTH) | B(DL_FEAT_DAY) |
                   B(DL_FEAT_SWAP) | B(DL_FEAT_YEAR_PM1),
    [DL_FT_SEX] = B(DL_FEAT_TOKEN),
    [DL_FT_UK_POSTCODE] =
        B(DL_FEAT_TOKEN) | B(DL_FEAT_SECTOR) | B(DL_FEAT_DISTRICT) | B(DL_FEAT_AREA),
    [DL_FT_NHS_NUMBER] = B(DL_FEAT_TOKEN),
    [DL_FT_TEXT] =
        B(DL_FEAT_TOKEN) | B(DL_FEAT_PARTS) | B(DL_FEAT_INITIAL) | B(DL_FEAT_BLOOM),
};

const char *dl_field_type_name(dl_field_type t)
{
    return (unsigned)t < DL_FT__COUNT ? type_names[t] : "?";
}

const char *dl_feature_name(dl_feature_kind k)
{
    return (unsigned)k < DL_FEAT__COUNT ? feature_names[k] : "?";
}

bool dl_field_type_parse(const char *s, dl_field_type *out)
{
    for (int i = 0; i < DL_FT__COUNT; i++)
        if (strcmp(s, type_names[i]) == 0) {
            *out = (dl_field_type)i;
            return true;
        }
    return false;
}

bool dl_feature_parse(const char *s, dl_feature_kind *out)
{
    for (int i = 0; i < DL_FEAT__COUNT; i++)
        if (strcmp(s, feature_names[i]) == 0) {
            *out = (dl_feature_kind)i;
            return true;
        }
    return false;
}

bool dl_feature_allowed(dl_field_type t, dl_feature_kind k)
{
    if ((unsigned)t >= DL_FT__COUNT || (unsigned)k >= DL_FEAT__COUNT)
        return false;
    return (allowed[t] & B(k)) != 0;
}

bool dl_feature_is_set(dl_feature_kind k)
{
    /* Parts of a multi-part name, the two Double Metaphone codes, the
     * variant groups of each part (a name can sit in several groups), and the
     * two year buckets of year_pm1 are each several tokens; agreement means
     * the sets intersect. Everything else is one token. */
    return k == DL_FEAT_PARTS || k == DL_FEAT_DMETAPHONE || k == DL_FEAT_VARIANT ||
           k == DL_FEAT_YEAR_PM1;
}
