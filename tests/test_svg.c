/* test_svg.c: the SVG chart writers (linkage/svg.c): escaping, ticks, axes,
 * scaling of bars and lines, and well-formed output. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "linkage/svg.h"

/* A small XML well-formedness check: tags nest and close, attributes are
 * quoted, text holds no raw '<' and every '&' starts one of the five
 * entities or a numeric reference. Enough for what svg.c writes. */
static bool well_formed(const char *s, char *why, size_t wsize)
{
    const char *stack[256];
    size_t stack_len[256], depth = 0;
    const char *p = s;
    while (*p) {
        if (*p == '&') {
            static const char *const ents[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&#"};
            bool ok = false;
            for (int i = 0; i < 5; i++)
                ok = ok || !strncmp(p, ents[i], strlen(ents[i]));
            if (!ok) {
                snprintf(why, wsize, "bare & at %td", p - s);
                return false;
            }
            p++;
            continue;
        }
        if (*p != '<') {
            if (*p == '>') {
                /* legal in XML text, but svg.c escapes it: a raw one means a
                 * tag was broken */
                snprintf(why, wsize, "raw > at %td", p - s);
                return false;
            }
            p++;
            continue;
        }
        bool closing = p[1] == '/';
        const char *name = p + 1 + closing;
        size_t nlen = strcspn(name, " \t\n/>");
        if (nlen == 0) {
            snprintf(why, wsize, "empty tag name at %td", p - s);
            return false;
        }
        const char *q = name + nlen;
        /* attributes: name="value" */
        while (*q && *q != '>' && !(q[0] == '/' && q[1] == '>')) {
            if (*q == ' ' || *q == '\n' || *q == '\t') {
                q++;
                continue;
            }
            size_t an = strcspn(q, "= >");
            if (an == 0 || q[an] != '=' || q[an + 1] != '"') {
                snprintf(why, wsize, "unquoted attribute at %td", q - s);
                return false;
            }
            const char *v = q + an + 2, *e = strchr(v, '"');
            if (!e || memchr(v, '<', (size_t)(e - v))) {
                snprintf(why, wsize, "bad attribute value at %td", v - s);
                return false;
            }
            q = e + 1;
        }
        if (!*q) {
            snprintf(why, wsize, "unterminated tag at %td", p - s);
            return false;
        }
        bool empty = *q == '/';
        if (closing) {
            if (depth == 0 || stack_len[depth - 1] != nlen || strncmp(stack[depth - 1], name, nlen)) {
                snprintf(why, wsize, "mismatched </%.*s> at %td", (int)nlen, name, p - s);
                return false;
            }
            depth--;
        } else if (!empty) {
            if (depth == 256)
                return false;
            stack[depth] = name;
            stack_len[depth++] = nlen;
        }
        p = q + (empty ? 2 : 1);
    }
    if (depth) {
        snprintf(why, wsize, "%zu unclosed elements", depth);
        return false;
    }
    return true;
}

static void assert_well_formed(const dl_buf *b)
{
    char why[128] = "";
    cr_assert(b->len > 0);
    cr_assert(well_formed(b->data, why, sizeof why), "not well-formed: %s\n%s", why, b->data);
    cr_assert(strncmp(b->data, "<svg xmlns=\"http://www.w3.org/2000/svg\"", 39) == 0);
}

/* The checker itself must reject broken markup, or the tests above prove nothing. */
Test(svg, checker_rejects_broken_markup)
{
    char why[128];
    cr_assert(well_formed("<a><b x=\"1\"/>t &amp; u</a>", why, sizeof why));
    cr_assert_not(well_formed("<a><b></a>", why, sizeof why));
    cr_assert_not(well_formed("<a>x & y</a>", why, sizeof why));
    cr_assert_not(well_formed("<a x=1></a>", why, sizeof why));
    cr_assert_not(well_formed("<a>", why, sizeof why));
}

Test(svg, text_escapes_markup_and_bad_bytes)
{
    dl_buf b = DL_BUF_INIT;
    cr_assert(dl__svg_text(&b, "dice >= 0.9 & <x> \"q\" 'a'"));
    cr_assert_str_eq(b.data, "dice &gt;= 0.9 &amp; &lt;x&gt; &quot;q&quot; &#39;a&#39;");
    dl_buf_clear(&b);
    /* invalid UTF-8 (a lone continuation byte, an overlong form) and a
     * control character XML cannot hold */
    cr_assert(dl__svg_text(&b, "a\x80" "b\xC0\xAF" "c\x01" "d Si\xC3\xA2n"));
    cr_assert_str_eq(b.data, "a\xEF\xBF\xBD" "b\xEF\xBF\xBD\xEF\xBF\xBD" "c?d Si\xC3\xA2n");
    dl_buf_clear(&b);
    cr_assert(dl__svg_text(&b, NULL));
    cr_assert_eq(b.len, 0);
    dl_buf_free(&b);
}

Test(svg, nice_ticks)
{
    double lo, hi, step;
    step = dl__svg_nice(0, 97, 5, &lo, &hi);
    cr_assert_float_eq(step, 20, 1e-12);
    cr_assert_float_eq(lo, 0, 1e-12);
    cr_assert_float_eq(hi, 100, 1e-12);
    step = dl__svg_nice(-11.68, 11.87, 5, &lo, &hi);
    cr_assert_float_eq(step, 5, 1e-12);
    cr_assert_float_eq(lo, -15, 1e-12);
    cr_assert_float_eq(hi, 15, 1e-12);
    step = dl__svg_nice(0.984, 0.9987, 8, &lo, &hi);
    cr_assert_float_eq(step, 0.002, 1e-12);
    cr_assert_float_eq(lo, 0.984, 1e-9);
    cr_assert_float_eq(hi, 1.0, 1e-9);
    /* an empty range is widened, never a division by zero */
    step = dl__svg_nice(3, 3, 5, &lo, &hi);
    cr_assert(step > 0 && lo < 3 && hi > 3);
}

Test(svg, tick_labels)
{
    char buf[32];
    dl__svg_tick_label(buf, sizeof buf, -1e-17, 0.5);
    cr_assert_str_eq(buf, "0.0"); /* never "-0.0" */
    dl__svg_tick_label(buf, sizeof buf, -1e-15, 2);
    cr_assert_str_eq(buf, "0");
    dl__svg_tick_label(buf, sizeof buf, 0.5, 0.5);
    cr_assert_str_eq(buf, "0.5");
    dl__svg_tick_label(buf, sizeof buf, 0.986, 0.002);
    cr_assert_str_eq(buf, "0.986");
    dl__svg_tick_label(buf, sizeof buf, 1000, 200);
    cr_assert_str_eq(buf, "1000");
}

/* The rects of a chart, in document order. */
typedef struct rect {
    double x, y, w, h;
    char fill[16];
} rect;

static size_t rects(const char *s, rect *out, size_t max)
{
    size_t n = 0;
    for (const char *p = s; n < max && (p = strstr(p, "<rect ")); p++) {
        rect r = {0};
        if (sscanf(p, "<rect x=\"%lf\" y=\"%lf\" width=\"%lf\" height=\"%lf\" fill=\"%15[^\"]\"", &r.x,
                   &r.y, &r.w, &r.h, r.fill) >= 4)
            out[n++] = r;
    }
    return n;
}

Test(svg, hbars_scale_and_sign)
{
    dl_buf b = DL_BUF_INIT;
    dl_svg_hbar bars[] = {
        {"name <a>", "exact", 10, NULL},
        {"name <a>", "else", -5, "m 0.1 & u 0.9"},
    };
    dl_svg_frame f = {"Weights & <bars>", "match weight (log2)", NULL, "for", "against"};
    cr_assert(dl__svg_hbars(&b, &f, bars, 2));
    assert_well_formed(&b);
    rect r[8];
    size_t n = rects(b.data, r, 8);
    cr_assert_geq(n, 2);
    /* the bar of 10 is twice as long as the bar of -5, and they meet at zero */
    cr_assert_float_eq(r[0].w, 2 * r[1].w, 0.05);
    cr_assert_float_eq(r[0].x, r[1].x + r[1].w, 0.05);
    cr_assert(strcmp(r[0].fill, r[1].fill) != 0, "sign must show in the shade");
    cr_assert(strstr(b.data, "<title>Weights &amp; &lt;bars&gt;</title>"));
    cr_assert(strstr(b.data, ">name &lt;a&gt;</text>"));
    cr_assert(strstr(b.data, ">m 0.1 &amp; u 0.9</text>"));
    cr_assert(strstr(b.data, ">10.00</text>"), "the value is printed beside the bar");
    cr_assert(strstr(b.data, ">match weight (log2)</text>"), "axis title");
    cr_assert(strstr(b.data, ">-4</text>") && strstr(b.data, ">10</text>"), "tick labels");
    cr_assert(strstr(b.data, ">against</text>"), "legend");
    dl_buf_free(&b);
}

Test(svg, histogram_linear_and_log)
{
    dl_buf b = DL_BUF_INIT;
    double counts[] = {50, 100, 0, 25};
    dl_svg_marker mk[] = {{1.0, "match <w>"}};
    dl_svg_histogram h = {-1, 0.5, 4, counts, false, mk, 1};
    dl_svg_frame f = {"H", "weight", "pairs", NULL, NULL};
    cr_assert(dl__svg_histogram(&b, &f, &h));
    assert_well_formed(&b);
    rect r[8];
    size_t n = rects(b.data, r, 8);
    cr_assert_eq(n, 3, "empty bins are not drawn (%zu rects)", n);
    cr_assert_float_eq(r[1].h, 2 * r[0].h, 0.05);
    cr_assert_float_eq(r[0].h, 2 * r[2].h, 0.05);
    cr_assert_float_eq(r[0].w, r[1].w, 0.01);
    /* bins keep their place: bin 3 starts three bin widths after bin 0 */
    double bw = r[1].x - r[0].x;
    cr_assert_float_eq(r[2].x - r[0].x, 3 * bw, 0.05);
    cr_assert(strstr(b.data, "match &lt;w&gt;"));
    cr_assert(strstr(b.data, "class=\"marker\""));
    dl_buf_free(&b);

    double lc[] = {10, 100, 1000};
    dl_svg_histogram hl = {0, 1, 3, lc, true, NULL, 0};
    cr_assert(dl__svg_histogram(&b, &f, &hl));
    assert_well_formed(&b);
    n = rects(b.data, r, 8);
    cr_assert_eq(n, 3);
    /* each decade adds the same height */
    cr_assert_float_eq(r[1].h - r[0].h, r[2].h - r[1].h, 0.05);
    cr_assert(strstr(b.data, ">1000</text>"), "decade labels");
    dl_buf_free(&b);
}

Test(svg, columns_labels_and_values)
{
    dl_buf b = DL_BUF_INIT;
    const char *labels[] = {"gp", "la&carers"};
    double v[] = {0.5, 1.0};
    dl_svg_columns c = {2, labels, v, false, 3, 1};
    dl_svg_frame f = {"Share", "dataset", "share", NULL, NULL};
    cr_assert(dl__svg_columns(&b, &f, &c));
    assert_well_formed(&b);
    rect r[4];
    cr_assert_eq(rects(b.data, r, 4), 2);
    cr_assert_float_eq(r[1].h, 2 * r[0].h, 0.05);
    cr_assert(strstr(b.data, ">la&amp;carers</text>"));
    cr_assert(strstr(b.data, ">0.500</text>") && strstr(b.data, ">1.000</text>"));
    dl_buf_free(&b);
}

Test(svg, lines_break_on_bad_points_and_have_a_legend)
{
    dl_buf b = DL_BUF_INIT;
    double x[] = {1, 2, 3, 4}, y1[] = {1, 0.1, 0, 0.001}, y2[] = {0.5, 0.05, 0.005, NAN};
    dl_svg_series s[] = {{"rule a & b", 4, x, y1}, {"rule <c>", 4, x, y2}};
    dl_svg_lines l = {2, s, true, 0, 0, 0, 0, NULL, 0};
    dl_svg_frame f = {"EM", "iteration", "change", NULL, NULL};
    cr_assert(dl__svg_lines(&b, &f, &l));
    assert_well_formed(&b);
    /* series 1: y = 0 cannot be drawn on a log axis, so its path has two
     * pieces (two moves); series 2 one piece */
    const char *p1 = strstr(b.data, "<path fill=\"none\"");
    cr_assert(p1);
    const char *d1 = strstr(p1, " d=\""), *e1 = strchr(d1 + 4, '"');
    size_t moves = 0;
    for (const char *q = d1; q < e1; q++)
        moves += *q == 'M';
    cr_assert_eq(moves, 2);
    /* different dash patterns: greyscale still tells the lines apart */
    cr_assert(strstr(b.data, "stroke-dasharray=\"7 3\""));
    cr_assert(strstr(b.data, ">rule a &amp; b</text>") && strstr(b.data, ">rule &lt;c&gt;</text>"));
    dl_buf_free(&b);
}

Test(svg, waterfall_adds_up)
{
    dl_buf b = DL_BUF_INIT;
    dl_svg_step st[] = {{"nhs: exact", 12, NULL}, {"name: else", -4, NULL}};
    dl_svg_marker mk[] = {{4.25, "match"}};
    dl_svg_waterfall w = {"prior", -6, 2, st, "total", mk, 1};
    dl_svg_frame f = {"Pair", "weight", NULL, "up", "down"};
    cr_assert(dl__svg_waterfall(&b, &f, &w));
    assert_well_formed(&b);
    rect r[8];
    size_t n = rects(b.data, r, 8);
    cr_assert_geq(n, 4);
    double unit = r[1].w / 12; /* pixels per weight unit */
    cr_assert_float_eq(r[0].w, 6 * unit, 0.05);
    cr_assert_float_eq(r[2].w, 4 * unit, 0.05);
    cr_assert_float_eq(r[3].w, 2 * unit, 0.05); /* total -6 + 12 - 4 = 2 */
    /* the second step starts where the first ended */
    cr_assert_float_eq(r[2].x + r[2].w, r[1].x + r[1].w, 0.05);
    cr_assert(strstr(b.data, ">+12.00</text>") && strstr(b.data, ">-4.00</text>"));
    cr_assert(strstr(b.data, ">2.00</text>"));
    dl_buf_free(&b);
}
