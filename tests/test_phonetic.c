/* test_phonetic.c: Soundex, NYSIIS and Double Metaphone (hashing/soundex.c,
 * hashing/nysiis.c, hashing/dmetaphone.c) against peer test vectors and edge cases. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dolen/phonetic.h"
#include "test_util.h"

/* Vector files are simple CSV without quoting (checked: a quote fails the
 * test); the project's CSV reader is not used so these tests stand alone. */
#define MAX_FIELDS 3

typedef struct vec_file {
    FILE *f;
    char line[512];
    char *field[MAX_FIELDS];
    int nfields;
    unsigned lineno;
} vec_file;

static void vec_open(vec_file *v, const char *name)
{
    char *path = tu_data(name);
    v->f = fopen(path, "rb");
    cr_assert_not_null(v->f, "cannot open %s", path);
    free(path);
    v->lineno = 0;
}

/* Next line split at commas; false at end of file. */
static bool vec_next(vec_file *v)
{
    if (fgets(v->line, sizeof v->line, v->f) == NULL)
        return false;
    v->lineno++;
    size_t n = strlen(v->line);
    while (n > 0 && (v->line[n - 1] == '\n' || v->line[n - 1] == '\r'))
        v->line[--n] = '\0';
    cr_assert_null(strchr(v->line, '"'), "line %u: quoted field not supported", v->lineno);
    v->nfields = 0;
    char *p = v->line;
    for (;;) {
        cr_assert_lt(v->nfields, MAX_FIELDS, "line %u: too many fields", v->lineno);
        v->field[v->nfields++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    return true;
}

static bool is_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return false;
    return true;
}

/* ---- Soundex ---- */

Test(phonetic, soundex_jellyfish_vectors)
{
    vec_file v;
    vec_open(&v, "strings/jellyfish_soundex.csv");
    unsigned rows = 0, pass = 0, adapted = 0;
    while (vec_next(&v)) {
        cr_assert_eq(v.nfields, 2, "line %u", v.lineno);
        const char *name = v.field[0], *want = v.field[1];
        if (!is_ascii(name)) {
            /* jellyfish NFKD-normalises, then codes a non-letter first character
             * as itself. dolen's input is already folded to ASCII by the name
             * normaliser, so: "Çáŕẗéř" (whose marks NFKD splits off) is fed as
             * its ASCII letters "CARTER", same code C636; "¿" has no letter,
             * which dolen codes as "" where jellyfish gives "¿000". */
            adapted++;
            if (strcmp(want, "C636") == 0) {
                name = "CARTER";
            } else {
                cr_assert_str_eq(want, "\xc2\xbf" "000", "line %u: unexpected row", v.lineno);
                name = "\xc2\xbf";
                want = "";
            }
        }
        rows++;
        char out[DL_SOUNDEX_SIZE];
        size_t n = dl_soundex(name, strlen(name), out);
        cr_expect_str_eq(out, want, "line %u: soundex(%s)", v.lineno, name);
        cr_expect_eq(n, strlen(want), "line %u", v.lineno);
        if (strcmp(out, want) == 0 && n == strlen(want))
            pass++;
    }
    fclose(v.f);
    cr_log_info("soundex: %u/%u jellyfish rows pass (%u adapted)", pass, rows, adapted);
    cr_assert_eq(rows, 11);
    cr_assert_eq(adapted, 2);
    cr_assert_eq(pass, rows);
}

static void check_soundex(const char *in, const char *want)
{
    char out[DL_SOUNDEX_SIZE];
    memset(out, 'x', sizeof out);
    size_t n = dl_soundex(in, strlen(in), out);
    cr_assert_str_eq(out, want, "soundex(\"%s\")", in);
    cr_assert_eq(n, strlen(want), "soundex(\"%s\") length", in);
}

Test(phonetic, soundex_h_w_transparent_vowels_separate)
{
    check_soundex("ASHCRAFT", "A261");      /* S, H, C: C not coded again */
    check_soundex("ASHCROFT", "A261");
    check_soundex("BURROUGHS", "B620");     /* G, H, S: S not coded again */
    check_soundex("TYMCZAK", "T522");       /* Y separates nothing here; C Z equal */
    check_soundex("PFISTER", "P236");       /* first letter's code suppresses F */
    check_soundex("GUTIERREZ", "G362");
    check_soundex("SOSA", "S200");          /* vowel separates: S, O, S -> 2 */
    check_soundex("ROBERT", "R163");
    check_soundex("RUPERT", "R163");
    check_soundex("HONEYMAN", "H555");      /* Y as a vowel separates N, M */
}

Test(phonetic, soundex_non_letters_and_case)
{
    check_soundex("", "");
    check_soundex("  -' ", "");
    check_soundex("  lee", "L000");                 /* leading non-letters skipped */
    check_soundex("van dyke", "V532");
    check_soundex("ANN NASH", "A552");              /* a space separates like a vowel */
    check_soundex("ANNNASH", "A520");
    check_soundex("O'BRIEN", "O165");
    check_soundex("AB\xc3\xa7" "D", "A130");        /* UTF-8 bytes are not letters */
    check_soundex("ABCDEFGHIJ", "A123");            /* stops after 3 digits */
    /* The length argument is honoured: no terminator needed. */
    char out[DL_SOUNDEX_SIZE];
    cr_assert_eq(dl_soundex("ROBERTSON", 3, out), 4);
    cr_assert_str_eq(out, "R100");
    cr_assert_eq(dl_soundex(NULL, 0, out), 0);
    cr_assert_str_eq(out, "");
}

/* ---- NYSIIS ---- */

Test(phonetic, nysiis_jellyfish_vectors)
{
    vec_file v;
    vec_open(&v, "strings/jellyfish_nysiis.csv");
    unsigned rows = 0, pass = 0, adapted = 0;
    while (vec_next(&v)) {
        cr_assert_eq(v.nfields, 2, "line %u", v.lineno);
        const char *name = v.field[0], *want = v.field[1];
        if (!is_ascii(name)) {
            /* "ç" codes as itself, "Ç", in jellyfish, which keeps the first
             * character whatever it is. It has no ASCII letter, so dolen gives
             * "" (the name normaliser would fold it to "C" first; see the next
             * test). */
            cr_assert_str_eq(name, "\xc3\xa7", "line %u: unexpected row", v.lineno);
            adapted++;
            want = "";
        }
        rows++;
        char out[64];
        size_t n = dl_nysiis(name, strlen(name), 0, out, sizeof out);
        cr_expect_str_eq(out, want, "line %u: nysiis(%s)", v.lineno, name);
        cr_expect_eq(n, strlen(want), "line %u", v.lineno);
        if (strcmp(out, want) == 0 && n == strlen(want))
            pass++;
    }
    fclose(v.f);
    cr_log_info("nysiis: %u/%u jellyfish rows pass (%u adapted)", pass, rows, adapted);
    cr_assert_eq(rows, 36);
    cr_assert_eq(adapted, 1);
    cr_assert_eq(pass, rows);
}

static void check_nysiis(const char *in, size_t max_len, size_t outsz, const char *want)
{
    char out[64];
    memset(out, 'x', sizeof out);
    cr_assert_leq(outsz, sizeof out);
    size_t n = dl_nysiis(in, strlen(in), max_len, out, outsz);
    cr_assert_str_eq(out, want, "nysiis(\"%s\", %zu, %zu)", in, max_len, outsz);
    cr_assert_eq(n, strlen(want), "nysiis(\"%s\") length", in);
    if (outsz < sizeof out)
        cr_assert_eq(out[outsz], 'x', "wrote past OUTSZ");
}

Test(phonetic, nysiis_rules)
{
    check_nysiis("C", 0, 64, "C");
    check_nysiis("KNIGHT", 0, 64, "NAGT");          /* KN -> N; GH after vowel then T */
    check_nysiis("KNT", 0, 64, "D");                /* prefix and suffix both apply */
    check_nysiis("KIRK", 0, 64, "CARC");            /* K -> C at the start and inside */
    check_nysiis("PHILLIPS", 0, 64, "FALAP");       /* PH -> FF; final S dropped */
    check_nysiis("SCHOOL", 0, 64, "SAL");           /* SCH -> SSS */
    check_nysiis("BOSCH", 0, 64, "BAS");            /* inner SCH -> SS, then final S */
    check_nysiis("EVANS", 0, 64, "EVAN");           /* first letter kept as it is */
    check_nysiis("DEVON", 0, 64, "DAFAN");          /* EV -> AF */
    check_nysiis("BARNETT", 0, 64, "BARNAT");
    check_nysiis("BRANDT", 0, 64, "BRAND");         /* DT -> D */
}

Test(phonetic, nysiis_non_letters_and_case)
{
    check_nysiis("", 0, 64, "");
    check_nysiis(" - ", 0, 64, "");
    check_nysiis("MAC DONALD", 0, 64, "MCDANALD");
    check_nysiis("MACDONALD", 0, 64, "MCDANALD");
    check_nysiis("mac-donald", 0, 64, "MCDANALD");
    check_nysiis("K'NIGHT", 0, 64, "NAGT");         /* the prefix sees letters only */
    check_nysiis("FRAN\xc3\xa7OIS", 0, 64, "FRAN");     /* ç bytes dropped */
}

Test(phonetic, nysiis_truncation)
{
    check_nysiis("MONTGOMERY", 0, 64, "MANTGANARY");
    check_nysiis("MONTGOMERY", 6, 64, "MANTGA");    /* Taft's original length */
    check_nysiis("MONTGOMERY", 0, 5, "MANT");       /* cut by the buffer too */
    check_nysiis("MONTGOMERY", 6, 4, "MAN");
    check_nysiis("MONTGOMERY", 0, 1, "");
    /* Steps 5-7 work on the whole key, before any cut. */
    check_nysiis("WIYH", 0, 64, "WY");              /* WAY -> WY */
    check_nysiis("WIYH", 2, 64, "WY");
    check_nysiis("WIYH", 0, 2, "W");
    check_nysiis("BAYS", 0, 64, "BY");              /* final S, then AY -> Y */
    check_nysiis("BAYS", 0, 3, "BY");
    check_nysiis("BOSCH", 3, 64, "BAS");
    check_nysiis("BOSCH", 0, 3, "BA");
    /* LEN is honoured: only "JON" is read. */
    char out[4];
    cr_assert_eq(dl_nysiis("JONES", 3, 0, out, sizeof out), 3);
    cr_assert_str_eq(out, "JAN");
}

/* ---- Double Metaphone ---- */

Test(phonetic, dmetaphone_commons_codec_vectors)
{
    vec_file v;
    vec_open(&v, "strings/double_metaphone_commons_codec.csv");
    cr_assert(vec_next(&v));
    cr_assert_str_eq(v.field[0], "word");
    unsigned rows = 0, pass = 0;
    while (vec_next(&v)) {
        cr_assert_eq(v.nfields, 3, "line %u", v.lineno);
        const char *word = v.field[0];
        char p[DL_DMETAPHONE_SIZE], a[DL_DMETAPHONE_SIZE];
        size_t n = dl_dmetaphone(word, strlen(word), 4, p, a, sizeof p);
        rows++;
        bool ok = strcmp(p, v.field[1]) == 0 && strcmp(a, v.field[2]) == 0
            && n == strlen(p);
        cr_expect(ok, "line %u: dmetaphone(%s) = %s/%s, want %s/%s", v.lineno, word, p, a,
                  v.field[1], v.field[2]);
        pass += ok;
    }
    fclose(v.f);
    cr_log_info("dmetaphone: %u/%u commons-codec rows pass", pass, rows);
    cr_assert_eq(rows, 1221);
    cr_assert_eq(pass, rows);
}

static void check_dm(const char *in, size_t max_len, size_t outsz, const char *want_p,
                     const char *want_a)
{
    char p[64], a[64];
    memset(p, 'x', sizeof p);
    memset(a, 'x', sizeof a);
    cr_assert_leq(outsz, sizeof p);
    size_t n = dl_dmetaphone(in, strlen(in), max_len, p, a, outsz);
    cr_assert_str_eq(p, want_p, "dmetaphone(\"%s\") primary", in);
    cr_assert_str_eq(a, want_a, "dmetaphone(\"%s\") alternate", in);
    cr_assert_eq(n, strlen(want_p));
    if (outsz < sizeof p) {
        cr_assert_eq(p[outsz], 'x', "wrote past OUTSZ");
        cr_assert_eq(a[outsz], 'x', "wrote past OUTSZ");
    }
}

Test(phonetic, dmetaphone_lengths)
{
    /* No limit: the whole word is coded (values checked with commons-codec). */
    check_dm("WASHINGTON", 0, 64, "AXNKTN", "FXNKTN");
    check_dm("WASHINGTON", 4, 64, "AXNK", "FXNK");
    check_dm("WASHINGTON", 0, 4, "AXN", "FXN");         /* cut by the buffer */
    check_dm("WASHINGTON", 6, 4, "AXN", "FXN");
    check_dm("WASHINGTON", 0, 1, "", "");
    /* A two-letter code is cut in the middle at the limit, as in commons-codec. */
    check_dm("AXE", 2, 64, "AK", "AK");
    check_dm("AXE", 0, 64, "AKS", "AKS");
    /* Primary and alternate can differ in length. */
    check_dm("ROGIER", 0, 64, "RJ", "RJR");
    check_dm("JUMPED", 3, 64, "JMP", "AMP");            /* commons-codec testSetMaxCodeLength */
}

Test(phonetic, dmetaphone_edges)
{
    check_dm("", 4, 5, "", "");
    check_dm(" \t\n\r ", 4, 5, "", "");         /* commons-codec testEmpty: null there */
    check_dm("?", 4, 5, "", "");
    check_dm("H", 4, 5, "", "");                    /* a letter, but nothing to say */
    check_dm("  smith  ", 4, 5, "SM0", "XMT");      /* trimmed and upper-cased */
    check_dm("VAN HALEN", 4, 5, "FNLN", "FNLN");    /* the space is seen by rules, not coded */
    check_dm("GNOME", 4, 5, "NM", "NM");            /* silent first letter */
    check_dm("SM\xc3\xafTH", 4, 5, "SM0", "XMT");   /* non-ASCII bytes are not coded */
    char p[5], a[5];
    cr_assert_eq(dl_dmetaphone(NULL, 0, 4, p, a, sizeof p), 0);
    cr_assert_str_eq(p, "");
    cr_assert_str_eq(a, "");
    /* LEN is honoured: "THOMAS" cut to "TH". */
    cr_assert_eq(dl_dmetaphone("THOMAS", 2, 4, p, a, sizeof p), 1);
    cr_assert_str_eq(p, "0");
    cr_assert_str_eq(a, "T");
}
/* Words chosen to reach each Double Metaphone rule that the 1221-row table
 * leaves untouched (Greek and Germanic CH, CHIA, -WICZ, CIA/CIO, initial AGN,
 * -GET, -IER, -AUX, -EWSKI, SIO/SIAN, final J, ...). Expected codes computed
 * by running Apache commons-codec 1.15 (Debian libcommons-codec-java 1.15-1),
 * DoubleMetaphone with max length 4 and with max length 1000; the first rows
 * are also asserted by commons-codec's own DoubleMetaphoneTest
 * (testDoubleMetaphone). Columns: word, primary/alternate at 4, unlimited. */
static const struct dm_case {
    const char *word, *p4, *a4, *p, *a;
} dm_cases[] = {
    { "testing", "TSTN", "TSTN", "TSTNK", "TSTNK" },
    { "The", "0", "T", "0", "T" },
    { "quick", "KK", "KK", "KK", "KK" },
    { "jumped", "JMPT", "AMPT", "JMPT", "AMPT" },
    { "over", "AFR", "AFR", "AFR", "AFR" },
    { "lazy", "LS", "LS", "LS", "LS" },
    { "dogs", "TKS", "TKS", "TKS", "TKS" },
    { "MacCafferey", "MKFR", "MKFR", "MKFR", "MKFR" },
    { "Stephan", "STFN", "STFN", "STFN", "STFN" },
    { "Kuczewski", "KSSK", "KXFS", "KSSK", "KXFSK" },
    { "McClelland", "MKLL", "MKLL", "MKLLNT", "MKLLNT" },
    { "san jose", "SNHS", "SNHS", "SNHS", "SNHS" },
    { "xenophobia", "SNFP", "SNFP", "SNFP", "SNFP" },
    { "Kutchefski", "KXFS", "KXFS", "KXFSK", "KXFSK" },
    { "Fokker", "FKR", "FKR", "FKR", "FKR" },
    { "Joqqi", "JK", "AK", "JK", "AK" },
    { "Hovvi", "HF", "HF", "HF", "HF" },
    { "Czerny", "SRN", "XRN", "SRN", "XRN" },
    { "MICHAEL", "MKL", "MXL", "MKL", "MXL" },
    { "CHARACTER", "KRKT", "KRKT", "KRKTR", "KRKTR" },
    { "CHORUS", "KRS", "KRS", "KRS", "KRS" },
    { "CHORE", "XR", "XR", "XR", "XR" },
    { "CHIANTI", "KNT", "KNT", "KNT", "KNT" },
    { "BACHER", "PKR", "PKR", "PKR", "PKR" },
    { "MACHER", "MKR", "MKR", "MKR", "MKR" },
    { "WACHTLER", "AKTL", "FKTL", "AKTLR", "FKTLR" },
    { "TICHNER", "TXNR", "TKNR", "TXNR", "TKNR" },
    { "ORCHESTRA", "ARKS", "ARKS", "ARKSTR", "ARKSTR" },
    { "ARCHITECT", "ARKT", "ARKT", "ARKTKT", "ARKTKT" },
    { "ORCHID", "ARKT", "ARKT", "ARKT", "ARKT" },
    { "MCHUGH", "MK", "MK", "MK", "MK" },
    { "BACH", "PK", "PK", "PK", "PK" },
    { "CZERNY", "SRN", "XRN", "SRN", "XRN" },
    { "FILIPOWICZ", "FLPT", "FLPF", "FLPTS", "FLPFX" },
    { "FOCACCIA", "FKX", "FKX", "FKX", "FKX" },
    { "CIAO", "S", "X", "S", "X" },
    { "CIOFFI", "SF", "XF", "SF", "XF" },
    { "ACCIDENT", "AKST", "AKST", "AKSTNT", "AKSTNT" },
    { "SUCCEED", "SKST", "SKST", "SKST", "SKST" },
    { "BACCI", "PX", "PX", "PX", "PX" },
    { "BACCHUS", "PKS", "PKS", "PKS", "PKS" },
    { "MCCLELLAN", "MKLL", "MKLL", "MKLLN", "MKLLN" },
    { "MAC CAFFREY", "MKFR", "MKFR", "MKFR", "MKFR" },
    { "MAC GREGOR", "MKRK", "MKRK", "MKRKR", "MKRKR" },
    { "EDGE", "AJ", "AJ", "AJ", "AJ" },
    { "EDGAR", "ATKR", "ATKR", "ATKR", "ATKR" },
    { "AGNES", "AKNS", "ANS", "AKNS", "ANS" },
    { "CAGNEY", "KKN", "KKN", "KKN", "KKN" },
    { "SIGNOR", "SNR", "SKNR", "SNR", "SKNR" },
    { "TAGLIARO", "TKLR", "TLR", "TKLR", "TLR" },
    { "GEORGE", "JRJ", "KRK", "JRJ", "KRK" },
    { "GYORGY", "KRJ", "JRK", "KRJ", "JRK" },
    { "GERBER", "KRPR", "JRPR", "KRPR", "JRPR" },
    { "DANGER", "TNJR", "TNKR", "TNJR", "TNKR" },
    { "ROGER", "RKR", "RJR", "RKR", "RJR" },
    { "BIAGGI", "PJ", "PK", "PJ", "PK" },
    { "GETTY", "KT", "KT", "KT", "KT" },
    { "VAN GOGH", "FNKK", "FNKK", "FNKK", "FNKK" },
    { "SCHOOL", "SKL", "SKL", "SKL", "SKL" },
    { "SCHENKER", "XNKR", "SKNK", "XNKR", "SKNKR" },
    { "SCHERMERHORN", "XRMR", "SKRM", "XRMRRN", "SKRMRRN" },
    { "SCHLESINGER", "XLSN", "SLSN", "XLSNKR", "SLSNJR" },
    { "ISLAND", "ALNT", "ALNT", "ALNT", "ALNT" },
    { "CARLISLE", "KRLL", "KRLL", "KRLL", "KRLL" },
    { "SUGAR", "XKR", "SKR", "XKR", "SKR" },
    { "RASHOLM", "RSLM", "RSLM", "RSLM", "RSLM" },
    { "SHAW", "X", "XF", "X", "XF" },
    { "ASIAN", "ASN", "AXN", "ASN", "AXN" },
    { "ERSIAN", "ARSN", "ARXN", "ARSN", "ARXN" },
    { "SMITH", "SM0", "XMT", "SM0", "XMT" },
    { "SNIDER", "SNTR", "XNTR", "SNTR", "XNTR" },
    { "SZABO", "SP", "XP", "SP", "XP" },
    { "DUMB", "TM", "TM", "TM", "TM" },
    { "THUMB", "0M", "TM", "0M", "TM" },
    { "DUMBER", "TMR", "TMR", "TMR", "TMR" },
    { "CABRILLO", "KPRL", "KPR", "KPRL", "KPR" },
    { "GALLEGOS", "KLKS", "KKS", "KLKS", "KKS" },
    { "ROGIER", "RJ", "RJR", "RJ", "RJR" },
    { "HOCHMEIER", "HKMR", "HKMR", "HKMR", "HKMR" },
    { "BREAUX", "PR", "PR", "PR", "PR" },
    { "JACQUES", "JKS", "AKS", "JKS", "AKS" },
    { "JOSE", "HS", "HS", "HS", "HS" },
    { "SAN JACINTO", "SNHS", "SNHS", "SNHSNT", "SNHSNT" },
    { "JANKELOWICZ", "JNKL", "ANKL", "JNKLTS", "ANKLFX" },
    { "RAJ", "RJ", "R ", "RJ", "R " },
    { "HAJO", "HJ", "HH", "HJ", "HH" },
    { "SAJKO", "SK", "SK", "SK", "SK" },
    { "THOMAS", "TMS", "TMS", "TMS", "TMS" },
    { "THAMES", "TMS", "TMS", "TMS", "TMS" },
    { "NATION", "NXN", "NXN", "NXN", "NXN" },
    { "TATIANA", "TXN", "TXN", "TXN", "TXN" },
    { "WRIGHT", "RT", "RT", "RT", "RT" },
    { "WHITE", "AT", "AT", "AT", "AT" },
    { "WASSERMAN", "ASRM", "FSRM", "ASRMN", "FSRMN" },
    { "KOWALEWSKI", "KLSK", "KLFS", "KLSK", "KLFSK" },
    { "SCHWARZ", "XRS", "XFRT", "XRS", "XFRTS" },
    { "ZHAO", "J", "J", "J", "J" },
    { "ZIOLKOWSKI", "SLKS", "SLKF", "SLKSK", "SLKFSK" },
    { "ZOLTAN", "SLTN", "SLTN", "SLTN", "SLTN" },
    { "HUGH", "H", "H", "H", "H" },
    { "BOUGH", "P", "P", "P", "P" },
    { "LAUGH", "LF", "LF", "LF", "LF" },
    { "TOUGH", "TF", "TF", "TF", "TF" },
    { "GHISLANE", "JLN", "JLN", "JLN", "JLN" },
    { "GHOST", "KST", "KST", "KST", "KST" },
    { "CAMPBELL", "KMPL", "KMPL", "KMPL", "KMPL" },
    { "XAVIER", "SF", "SFR", "SF", "SFR" },
    { "ARCHIAS", "ARKS", "ARKS", "ARKS", "ARKS" },
    { "WICZEK", "AKSK", "FKTS", "AKSK", "FKTSK" },
    { "ACCIA", "AX", "AX", "AX", "AX" },
    { "SJOBERG", "SPRK", "SPRK", "SPRK", "SPRK" },
    { "CZERNIER", "SRNR", "XRNR", "SRNR", "XRNR" },
};

Test(phonetic, dmetaphone_rule_cases)
{
    size_t fails = 0;
    for (size_t i = 0; i < sizeof dm_cases / sizeof dm_cases[0]; i++) {
        const struct dm_case *c = &dm_cases[i];
        char p[64], a[64];
        dl_dmetaphone(c->word, strlen(c->word), 4, p, a, sizeof p);
        bool ok4 = strcmp(p, c->p4) == 0 && strcmp(a, c->a4) == 0;
        cr_expect(ok4, "%s (4): %s/%s, want %s/%s", c->word, p, a, c->p4, c->a4);
        dl_dmetaphone(c->word, strlen(c->word), 0, p, a, sizeof p);
        bool ok = strcmp(p, c->p) == 0 && strcmp(a, c->a) == 0;
        cr_expect(ok, "%s: %s/%s, want %s/%s", c->word, p, a, c->p, c->a);
        fails += !ok4 + !ok;
    }
    cr_assert_eq(fails, 0);
}
