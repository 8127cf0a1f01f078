/* test_norm_name.c: UTF-8 folding, name and text normalisation, name variants
 * (hashing/utf8_fold.c, hashing/norm_name.c, hashing/name_variants.c). */
#include <criterion/criterion.h>
#include <string.h>

#include "dolen/normalise.h"
#include "dolen/variants.h"

static dl_norm_result name(const char *s, dl_name_norm *n, const char **why)
{
    return dl_normalise_name(s, strlen(s), NULL, n, why);
}

/* The normalised whole name of S, or "" when not DL_NORM_OK. */
static const char *full(const char *s)
{
    static dl_name_norm n;
    const char *why;
    return name(s, &n, &why) == DL_NORM_OK ? n.full : "";
}

Test(norm_name, sian_in_every_form_folds_alike)
{
    cr_assert_str_eq(full("Si\xc3\xa2n"), "SIAN");   /* precomposed U+00E2 */
    cr_assert_str_eq(full("Sia\xcc\x82n"), "SIAN");  /* a + U+0302 combining */
    cr_assert_str_eq(full("SI\xc3\x82N"), "SIAN");   /* U+00C2 */
    cr_assert_str_eq(full("sian"), "SIAN");
}

Test(norm_name, welsh_and_latin_letters_fold)
{
    cr_assert_str_eq(full("Gw\xc5\xb5n"), "GWWN");            /* ŵ U+0175 */
    cr_assert_str_eq(full("\xc5\xb4\xc5\xb6\xc5\xb7"), "WYY"); /* Ŵ Ŷ ŷ */
    cr_assert_str_eq(full("Dafydd ap Ll\xc5\xb7r"), "DAFYDD AP LLYR");
    cr_assert_str_eq(full("\xe1\xba\x81\xe1\xba\x83\xe1\xba\x85\xe1\xbb\xb3"), "WWWY"); /* ẁẃẅỳ */
    cr_assert_str_eq(full("Stra\xc3\x9f" "e"), "STRASSE");   /* ß */
    cr_assert_str_eq(full("\xc3\x86lfric"), "AELFRIC");      /* Æ */
    cr_assert_str_eq(full("\xc5\x92uvre"), "OEUVRE");        /* Œ */
    cr_assert_str_eq(full("S\xc3\xb8ren"), "SOREN");         /* ø */
    cr_assert_str_eq(full("\xc5\x81ukasz"), "LUKASZ");       /* Ł */
    cr_assert_str_eq(full("\xc4\x90or\xc4\x91" "e"), "DORDE");  /* Đ đ */
    cr_assert_str_eq(full("\xc3\x9e" "ora"), "THORA");       /* Þ */
    cr_assert_str_eq(full("Fran\xc3\xa7oise M\xc3\xbcller"), "FRANCOISE MULLER");
    cr_assert_str_eq(full("\xc5\xa0\xc5\xbe" "en"), "SZEN");    /* Š ž */
}

Test(norm_name, apostrophes_dropped_inside_words)
{
    cr_assert_str_eq(full("O'Neill"), "ONEILL");
    cr_assert_str_eq(full("O\xe2\x80\x99Neill"), "ONEILL"); /* U+2019 */
    cr_assert_str_eq(full("D`Arcy"), "DARCY");
    cr_assert_str_eq(full("ONEILL"), "ONEILL");
}

Test(norm_name, hyphens_and_spaces_give_parts)
{
    dl_name_norm n;
    const char *why = "x";
    cr_assert_eq(name("  Jones-Davies ", &n, &why), DL_NORM_OK);
    cr_assert_null(why);
    cr_assert_str_eq(n.full, "JONES DAVIES");
    cr_assert_eq(n.len, 12);
    cr_assert_eq(n.n_parts, 2);
    cr_assert_eq(n.parts[0].off, 0);
    cr_assert_eq(n.parts[0].len, 5);
    cr_assert_eq(n.parts[1].off, 6);
    cr_assert_eq(n.parts[1].len, 6);
    cr_assert_eq(name("mary   anne", &n, &why), DL_NORM_OK);
    cr_assert_str_eq(n.full, "MARY ANNE");
    cr_assert_eq(n.n_parts, 2);
    cr_assert(!n.parts_truncated);
}

Test(norm_name, more_words_than_parts_truncates_parts_only)
{
    dl_name_norm n;
    cr_assert_eq(name("a b c d e", &n, NULL), DL_NORM_OK);
    cr_assert_str_eq(n.full, "A B C D E");
    cr_assert_eq(n.n_parts, DL_TOKEN_SET_MAX);
    cr_assert(n.parts_truncated);
    cr_assert_eq(n.parts[3].off, 6);
}

Test(norm_name, titles_and_suffixes_removed_but_never_the_last_word)
{
    cr_assert_str_eq(full("Mr. John Smith"), "JOHN SMITH");
    cr_assert_str_eq(full("DR REV John"), "JOHN");
    cr_assert_str_eq(full("John Smith Jnr"), "JOHN SMITH");
    cr_assert_str_eq(full("John Smith III OBE"), "JOHN SMITH");
    cr_assert_str_eq(full("Miss"), "MISS");
    cr_assert_str_eq(full("Mrs Jr"), "JR");        /* title goes, the only word stays */
    cr_assert_str_eq(full("Mrsmith"), "MRSMITH");  /* only whole words */
    cr_assert_str_eq(full("John Mr"), "JOHN MR");  /* titles only at the start */
    dl_name_opts o = DL_NAME_OPTS_INIT;
    o.strip_titles = false;
    dl_name_norm n;
    cr_assert_eq(dl_normalise_name("Mr Smith", 8, &o, &n, NULL), DL_NORM_OK);
    cr_assert_str_eq(n.full, "MR SMITH");
}

Test(norm_name, placeholders_and_missing)
{
    dl_name_norm n;
    const char *why;
    cr_assert_eq(name("UNKNOWN", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(name("not known", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(name("N.K.", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(name("Baby", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(name("TWIN 1", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(name("Twin-2", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(name("xxx", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(name("Mr Unknown", &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_null(why);
    cr_assert_eq(name("", &n, &why), DL_NORM_MISSING);
    cr_assert_eq(name("  -- . '", &n, &why), DL_NORM_MISSING);
    cr_assert_eq(name("123", &n, &why), DL_NORM_MISSING);
    cr_assert_eq(dl_normalise_name(NULL, 0, NULL, &n, &why), DL_NORM_MISSING);
    cr_assert_eq(name("Nkechi", &n, &why), DL_NORM_OK); /* NK only as a whole */
    cr_assert_eq(name("Na", &n, &why), DL_NORM_OK);     /* a surname, not N/A */
}

Test(norm_name, configured_placeholders_any_case_and_spacing)
{
    const char *extra[] = {"no name given", "zzz"};
    dl_name_opts o = DL_NAME_OPTS_INIT;
    o.placeholders = extra;
    o.n_placeholders = 2;
    dl_name_norm n;
    cr_assert_eq(dl_normalise_name("NO-NAME GIVEN", 13, &o, &n, NULL), DL_NORM_PLACEHOLDER);
    cr_assert_eq(dl_normalise_name("Zzz", 3, &o, &n, NULL), DL_NORM_PLACEHOLDER);
    cr_assert_eq(dl_normalise_name("Zz", 2, &o, &n, NULL), DL_NORM_OK);
    cr_assert_eq(dl_normalise_name("Zz", 2, NULL, &n, NULL), DL_NORM_OK);
}

Test(norm_name, bad_utf8_is_invalid)
{
    dl_name_norm n;
    const char *why = NULL;
    static const char *const bad[] = {
        "Si\xc3",             /* truncated */
        "\xc0\xae",           /* overlong */
        "\xe0\x80\xaf",       /* overlong, 3 bytes */
        "\xed\xa0\x80",       /* surrogate U+D800 */
        "\xf4\x90\x80\x80",   /* above U+10FFFF */
        "\x80",               /* lone continuation */
        "A\xff",
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        why = NULL;
        cr_assert_eq(name(bad[i], &n, &why), DL_NORM_INVALID, "case %zu", i);
        cr_assert_str_eq(why, "bad_utf8", "case %zu", i);
    }
    cr_assert_eq(name("\xf0\x9f\x98\x80 Ann", &n, &why), DL_NORM_OK); /* emoji: separator */
    cr_assert_str_eq(n.full, "ANN");
}

Test(norm_name, too_long_is_invalid)
{
    char buf[600];
    memset(buf, 'a', 255);
    dl_name_norm n;
    const char *why = NULL;
    cr_assert_eq(dl_normalise_name(buf, 255, NULL, &n, &why), DL_NORM_OK);
    cr_assert_eq(n.len, 255);
    memset(buf, 'a', 256);
    cr_assert_eq(dl_normalise_name(buf, 256, NULL, &n, &why), DL_NORM_INVALID);
    cr_assert_str_eq(why, "too_long");
    /* Separators do not count: 500 spaces then a name is fine. */
    memset(buf, ' ', 500);
    memcpy(buf + 500, "Ann", 3);
    cr_assert_eq(dl_normalise_name(buf, 503, NULL, &n, &why), DL_NORM_OK);
    cr_assert_str_eq(n.full, "ANN");
}

Test(norm_name, text_keeps_digits_no_titles)
{
    dl_name_norm n;
    const char *why;
    const char *addr = "  Mr  Flat 3,  T\xc5\xb7 Gwyn ";
    cr_assert_eq(dl_normalise_text(addr, strlen(addr), NULL, &n, &why), DL_NORM_OK);
    cr_assert_str_eq(n.full, "MR FLAT 3 TY GWYN");
    cr_assert_eq(dl_normalise_text("N/A", 3, NULL, &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(dl_normalise_text("Baby", 4, NULL, &n, &why), DL_NORM_OK);
    const char *extra[] = {"code 99"};
    dl_name_opts o = {false, 1, extra};
    cr_assert_eq(dl_normalise_text("CODE-99", 7, &o, &n, &why), DL_NORM_PLACEHOLDER);
    cr_assert_eq(dl_normalise_text("CODE-98", 7, &o, &n, &why), DL_NORM_OK);
}

Test(norm_name, fold_reports_length_and_honours_cap)
{
    char out[8];
    size_t n = 99;
    const char *why = NULL;
    cr_assert_eq(dl_fold_utf8("a-b", 3, 0, out, sizeof out, &n, &why), DL_NORM_OK);
    cr_assert_str_eq(out, "A B");
    cr_assert_eq(n, 3);
    cr_assert_eq(dl_fold_utf8("abcdefgh", 8, 0, out, sizeof out, &n, &why), DL_NORM_INVALID);
    cr_assert_str_eq(why, "too_long");
    cr_assert_eq(strlen(out), 7); /* what fitted, terminated */
    cr_assert_eq(dl_fold_utf8("r2d2", 4, DL_FOLD_KEEP_DIGITS, out, sizeof out, &n, &why),
                 DL_NORM_OK);
    cr_assert_str_eq(out, "R2D2");
    cr_assert_eq(dl_fold_utf8("r2d2", 4, 0, out, sizeof out, &n, &why), DL_NORM_OK);
    cr_assert_str_eq(out, "R D");
    cr_assert_eq(dl_fold_utf8("\xef\xbc\xa1\xef\xbd\x82", 6, 0, out, sizeof out, &n, &why),
                 DL_NORM_OK); /* full-width Ａｂ */
    cr_assert_str_eq(out, "AB");
    cr_assert_eq(dl_fold_utf8("x", 1, 0, out, 0, &n, &why), DL_NORM_INVALID);
}

Test(norm_name, reason_texts)
{
    cr_assert_str_eq(dl_norm_reason_text("bad_check_digit"), "NHS number check digit wrong");
    cr_assert_str_eq(dl_norm_reason_text("nope"), "unknown reason");
    cr_assert_str_eq(dl_norm_reason_text(NULL), "unknown reason");
}

/* ---- name variants ---- */

static int share(dl_variant_table t, const char *a, const char *b)
{
    const char *ga[4], *gb[4];
    size_t na = dl_name_variants(t, a, strlen(a), ga, 4);
    size_t nb = dl_name_variants(t, b, strlen(b), gb, 4);
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            if (strcmp(ga[i], gb[j]) == 0)
                return 1;
    return 0;
}

Test(variants, welsh_english_pairs_share_a_group)
{
    cr_assert(share(DL_VARIANTS_GIVEN, "DAFYDD", "DAVID"));
    cr_assert(share(DL_VARIANTS_GIVEN, "SION", "JOHN"));
    cr_assert(share(DL_VARIANTS_GIVEN, "GWILYM", "WILLIAM"));
    cr_assert(share(DL_VARIANTS_GIVEN, "IEUAN", "EVAN"));
    cr_assert(share(DL_VARIANTS_GIVEN, "SIAN", "JANE"));
    cr_assert(share(DL_VARIANTS_GIVEN, "BILL", "WILLIAM"));
    cr_assert(share(DL_VARIANTS_GIVEN, "DAI", "DAVE"));
    cr_assert(share(DL_VARIANTS_SURNAME, "RHYS", "REES"));
    cr_assert(share(DL_VARIANTS_SURNAME, "ADAMS", "ADAMSON"));
}

Test(variants, unrelated_names_do_not_share)
{
    cr_assert(!share(DL_VARIANTS_GIVEN, "DAFYDD", "WILLIAM"));
    cr_assert(!share(DL_VARIANTS_GIVEN, "SIAN", "GWILYM"));
    cr_assert(!share(DL_VARIANTS_SURNAME, "RHYS", "ADAMS"));
}

Test(variants, own_group_first_and_limits)
{
    const char *g[4];
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "DAVID", 5, g, 4), 1);
    cr_assert_str_eq(g[0], "DAVID");
    size_t n = dl_name_variants(DL_VARIANTS_GIVEN, "JO", 2, g, 4);
    cr_assert_geq(n, 2); /* JO: JOSEPHINE, JOANNA, ... */
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "JO", 2, g, 1), 1);
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "JO", 2, g, 0), 0);
}

Test(variants, name_in_no_group_returns_zero)
{
    const char *g[4];
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "ZZYZX", 5, g, 4), 0);
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "", 0, g, 4), 0);
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "DAVIDX", 6, g, 4), 0);
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "DAVI", 4, g, 4), 0); /* no prefix hits */
    cr_assert_eq(dl_name_variants((dl_variant_table)7, "DAVID", 5, g, 4), 0);
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "DAVID\0X", 7, g, 4), 0);
    cr_assert_eq(dl_name_variants(DL_VARIANTS_GIVEN, "AARON", 5, g, 4), 1); /* first */
    cr_assert_eq(dl_name_variants(DL_VARIANTS_SURNAME, "ZZ", 2, g, 4), 0);  /* past last */
}

Test(variants, lookup_of_a_normalised_part)
{
    dl_name_norm n;
    cr_assert_eq(dl_normalise_name("Si\xc3\xb4n", 5, NULL, &n, NULL), DL_NORM_OK);
    const char *g[4];
    size_t k = dl_name_variants(DL_VARIANTS_GIVEN, n.full + n.parts[0].off, n.parts[0].len, g, 4);
    int john = 0;
    for (size_t i = 0; i < k; i++)
        john |= strcmp(g[i], "JOHN") == 0;
    cr_assert(john);
}
