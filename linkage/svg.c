/* svg.c: SVG chart writers (bars, histogram, columns, lines, waterfall).
 * Part of linkage/; report.c draws the charts of `dolen report` with them.
 *
 * Charts are drawn here rather than by a script library so that the page
 * loads nothing from anywhere, prints as it shows, and gives the same bytes
 * for the same data. Layout is fixed-width (760 px user units; the page
 * scales the viewBox), with heights that grow with the rows or legend. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "dolen/json.h"
#include "linkage/svg.h"

#define W 760.0
#define FONT "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\" font-size=\"12\""

/* Okabe & Ito (2008), "Color Universal Design": distinguishable under the
 * common colour-vision deficiencies. Dark blue against light orange also
 * differs by about 0.3 in relative luminance, so the pair survives a
 * greyscale printer. */
#define C_POS "#0072B2"
#define C_NEG "#E69F00"
#define C_INK "#222222"
#define C_GRID "#dddddd"
#define C_NEUTRAL "#8c8c8c"

/* Lines differ in three ways at once, so any one suffices to tell them apart. */
static const struct {
    const char *colour, *dash;
    int marker; /* 0 circle, 1 square, 2 triangle, 3 diamond, 4 cross */
} series_style[] = {
    {"#0072B2", NULL, 0},      {"#D55E00", "7 3", 1},  {"#009E73", "2 2", 2},
    {"#CC79A7", "9 3 2 3", 3}, {"#000000", "1 3", 4},  {"#56B4E9", "12 4", 0},
    {"#E69F00", "4 4", 1},
};
#define N_STYLES (sizeof series_style / sizeof series_style[0])

/* ---- text ---------------------------------------------------------------- */

bool dl__svg_text_n(dl_buf *b, const char *s, size_t len)
{
    bool ok = true;
    const unsigned char *p = (const unsigned char *)s, *end = p + len;
    while (ok && p < end) {
        unsigned char c = *p;
        if (c >= 0x80) {
            size_t k = dl__utf8_seq(p, (size_t)(end - p));
            if (k == 0) {
                ok = dl_buf_puts(b, "\xEF\xBF\xBD"); /* U+FFFD */
                p++;
            } else {
                ok = dl_buf_append(b, p, k);
                p += k;
            }
            continue;
        }
        switch (c) {
        case '&': ok = dl_buf_puts(b, "&amp;"); break;
        case '<': ok = dl_buf_puts(b, "&lt;"); break;
        case '>': ok = dl_buf_puts(b, "&gt;"); break;
        case '"': ok = dl_buf_puts(b, "&quot;"); break;
        case '\'': ok = dl_buf_puts(b, "&#39;"); break;
        default:
            ok = dl_buf_putc(b, (c < 0x20 && c != '\t' && c != '\n') || c == 0x7f ? '?'
                                                                                  : (char)c);
        }
        p++;
    }
    return ok;
}

bool dl__svg_text(dl_buf *b, const char *s)
{
    return s ? dl__svg_text_n(b, s, strlen(s)) : true;
}

/* ---- numbers and scales --------------------------------------------------- */

double dl__svg_nice(double lo, double hi, unsigned target, double *nlo, double *nhi)
{
    if (!isfinite(lo) || !isfinite(hi)) {
        lo = 0;
        hi = 1;
    }
    if (hi < lo) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    if (hi == lo) {
        lo -= 1;
        hi += 1;
    }
    if (target == 0)
        target = 1;
    /* Heckbert, "Nice numbers for graph labels", Graphics Gems (1990): round
     * the raw step to 1, 2 or 5 times a power of ten. */
    double raw = (hi - lo) / target;
    double mag = pow(10, floor(log10(raw)));
    double norm = raw / mag;
    double step = (norm < 1.5 ? 1 : norm < 3 ? 2 : norm < 7 ? 5 : 10) * mag;
    *nlo = floor(lo / step + 1e-9) * step;
    *nhi = ceil(hi / step - 1e-9) * step;
    return step;
}

void dl__svg_tick_label(char *out, size_t size, double v, double step)
{
    if (fabs(v) < step * 1e-6)
        v = 0; /* no "-0" from rounding */
    int dec = 0;
    if (step > 0 && step < 1)
        dec = (int)ceil(-log10(step) - 1e-9);
    if (dec > 6 || fabs(v) >= 1e7)
        snprintf(out, size, "%g", v);
    else
        snprintf(out, size, "%.*f", dec, v);
}

typedef struct scale {
    double lo, hi;   /* domain (log10 of it when LOG) */
    double step;     /* tick step in domain units */
    bool log;
    double p0, p1;   /* pixels of lo and hi */
} scale;

static double sc_map(const scale *s, double v)
{
    double t = s->log ? log10(v) : v;
    return s->p0 + (t - s->lo) / (s->hi - s->lo) * (s->p1 - s->p0);
}

/* Fit S to [LO, HI]: widened to whole nice steps, or, with TIGHT, kept as
 * given with nice ticks inside (histogram bins must not move). Log scales
 * cover whole decades of the positive values. */
static void sc_fit(scale *s, double lo, double hi, bool log_scale, bool tight, unsigned target)
{
    s->log = log_scale;
    if (log_scale) {
        if (!(lo > 0))
            lo = 1;
        if (!(hi > lo))
            hi = lo * 10;
        s->lo = floor(log10(lo) + 1e-9);
        s->hi = ceil(log10(hi) - 1e-9);
        if (s->hi <= s->lo)
            s->hi = s->lo + 1;
        s->step = ceil((s->hi - s->lo) / 8); /* at most ~8 decade labels */
        return;
    }
    double nlo, nhi;
    s->step = dl__svg_nice(lo, hi, target, &nlo, &nhi);
    if (tight && hi > lo) {
        s->lo = lo;
        s->hi = hi;
    } else {
        s->lo = nlo;
        s->hi = nhi;
    }
}

/* The I-th tick value (in data units) and how many there are. */
static size_t sc_ticks(const scale *s, double *out, size_t max)
{
    size_t n = 0;
    double first = ceil(s->lo / s->step - 1e-9) * s->step;
    for (long i = 0; n < max; i++) {
        double t = first + (double)i * s->step;
        if (t > s->hi + s->step * 1e-9)
            break;
        out[n++] = s->log ? pow(10, t) : t;
    }
    return n;
}

static void sc_label(const scale *s, double v, char *buf, size_t size)
{
    if (s->log)
        snprintf(buf, size, "%g", v);
    else
        dl__svg_tick_label(buf, size, v, s->step);
}

/* ---- primitives ------------------------------------------------------------ */

static bool open_svg(dl_buf *b, double h, const dl_svg_frame *f)
{
    bool ok = dl_buf_printf(b,
                            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" "
                            "viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" height=\"%.0f\" "
                            "role=\"img\" " FONT ">\n<title>",
                            W, h, W, h) &&
              dl__svg_text(b, f->title) && dl_buf_puts(b, "</title>\n");
    if (ok && f->title)
        ok = dl_buf_puts(b, "<text x=\"8\" y=\"18\" font-size=\"14\" font-weight=\"bold\" fill=\""
                            C_INK "\">") &&
             dl__svg_text(b, f->title) && dl_buf_puts(b, "</text>\n");
    return ok;
}

static bool close_svg(dl_buf *b)
{
    return dl_buf_puts(b, "</svg>\n");
}

/* A text element; ANCHOR is "start", "middle" or "end"; EXTRA more attributes. */
static bool text_at(dl_buf *b, double x, double y, const char *anchor, const char *extra,
                    const char *s)
{
    return dl_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\"%s%s>", x, y, anchor,
                         extra ? " " : "", extra ? extra : "") &&
           dl__svg_text(b, s) && dl_buf_puts(b, "</text>\n");
}

static bool line_at(dl_buf *b, double x1, double y1, double x2, double y2, const char *stroke,
                    const char *extra)
{
    return dl_buf_printf(b,
                         "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"%s\"%s%s/>\n",
                         x1, y1, x2, y2, stroke, extra ? " " : "", extra ? extra : "");
}

static bool rect_at(dl_buf *b, double x, double y, double w, double h, const char *fill,
                    const char *extra)
{
    if (w < 0) {
        x += w;
        w = -w;
    }
    if (h < 0) {
        y += h;
        h = -h;
    }
    return dl_buf_printf(b,
                         "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"%s%s/>\n",
                         x, y, w, h, fill, extra ? " " : "", extra ? extra : "");
}

/* Horizontal axis at pixel row Y (plot from TOP down to Y): grid, ticks,
 * labels and title. */
static bool axis_x(dl_buf *b, const scale *x, double y, double top, const char *title)
{
    double ticks[64];
    size_t n = sc_ticks(x, ticks, 64);
    bool ok = dl_buf_puts(b, "<g class=\"axis x\">\n");
    for (size_t i = 0; ok && i < n; i++) {
        double px = sc_map(x, ticks[i]);
        char lab[48];
        sc_label(x, ticks[i], lab, sizeof lab);
        ok = line_at(b, px, top, px, y, C_GRID, NULL) &&
             line_at(b, px, y, px, y + 5, C_INK, NULL) &&
             text_at(b, px, y + 18, "middle", NULL, lab);
    }
    ok = ok && line_at(b, x->p0, y, x->p1, y, C_INK, NULL);
    if (ok && title)
        ok = text_at(b, (x->p0 + x->p1) / 2, y + 36, "middle", "font-weight=\"bold\"", title);
    return ok && dl_buf_puts(b, "</g>\n");
}

/* Vertical axis at pixel column X (plot from X to RIGHT). */
static bool axis_y(dl_buf *b, const scale *y, double x, double right, const char *title)
{
    double ticks[64];
    size_t n = sc_ticks(y, ticks, 64);
    bool ok = dl_buf_puts(b, "<g class=\"axis y\">\n");
    for (size_t i = 0; ok && i < n; i++) {
        double py = sc_map(y, ticks[i]);
        char lab[48];
        sc_label(y, ticks[i], lab, sizeof lab);
        ok = line_at(b, x, py, right, py, C_GRID, NULL) &&
             line_at(b, x - 5, py, x, py, C_INK, NULL) &&
             text_at(b, x - 8, py + 4, "end", NULL, lab);
    }
    ok = ok && line_at(b, x, y->p0, x, y->p1, C_INK, NULL);
    if (ok && title) {
        double cy = (y->p0 + y->p1) / 2;
        char tr[96];
        snprintf(tr, sizeof tr, "font-weight=\"bold\" transform=\"rotate(-90 16 %.1f)\"", cy);
        ok = text_at(b, 16, cy, "middle", tr, title);
    }
    return ok && dl_buf_puts(b, "</g>\n");
}

/* Dashed vertical lines with labels stacked at the top so that two close
 * thresholds do not write over each other. */
static bool draw_markers(dl_buf *b, const scale *x, double top, double bottom,
                         const dl_svg_marker *m, size_t n)
{
    bool ok = true;
    for (size_t i = 0; ok && i < n; i++) {
        if (!isfinite(m[i].x))
            continue;
        double t = x->log ? log10(m[i].x) : m[i].x;
        if (t < x->lo || t > x->hi)
            continue;
        double px = sc_map(x, m[i].x);
        const char *anchor = px > (x->p0 + x->p1) / 2 ? "end" : "start";
        double tx = *anchor == 'e' ? px - 4 : px + 4;
        ok = line_at(b, px, top, px, bottom, C_INK,
                     "stroke-width=\"1.5\" stroke-dasharray=\"6 3\" class=\"marker\"") &&
             text_at(b, tx, top + 11 + 13 * (double)i, anchor,
                     "font-size=\"11\" fill=\"" C_INK "\" paint-order=\"stroke\" "
                     "stroke=\"#ffffff\" stroke-width=\"3\"",
                     m[i].label);
    }
    return ok;
}

static bool marker_shape(dl_buf *b, int kind, double x, double y, const char *colour)
{
    switch (kind) {
    case 1:
        return dl_buf_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"7\" height=\"7\" fill=\"%s\"/>\n",
                             x - 3.5, y - 3.5, colour);
    case 2:
        return dl_buf_printf(b, "<path d=\"M%.2f %.2fl4 7h-8z\" fill=\"%s\"/>\n", x, y - 4.5,
                             colour);
    case 3:
        return dl_buf_printf(b, "<path d=\"M%.2f %.2fl4.5 4.5l-4.5 4.5l-4.5 -4.5z\" fill=\"%s\"/>\n",
                             x, y - 4.5, colour);
    case 4:
        return dl_buf_printf(b,
                             "<path d=\"M%.2f %.2fl7 7m0 -7l-7 7\" stroke=\"%s\" "
                             "stroke-width=\"2\"/>\n",
                             x - 3.5, y - 3.5, colour);
    default:
        return dl_buf_printf(b, "<circle cx=\"%.2f\" cy=\"%.2f\" r=\"3.5\" fill=\"%s\"/>\n", x, y,
                             colour);
    }
}

/* A legend of two swatches (dark = raises, light = lowers) for bar charts. */
static bool sign_legend(dl_buf *b, double y, const char *pos, const char *neg)
{
    if (!pos || !neg)
        return true;
    return rect_at(b, 230, y - 10, 14, 12, C_POS, NULL) && text_at(b, 250, y, "start", NULL, pos) &&
           rect_at(b, 470, y - 10, 14, 12, C_NEG, "stroke=\"" C_INK "\" stroke-width=\"0.6\"") &&
           text_at(b, 490, y, "start", NULL, neg);
}

/* ---- horizontal bars -------------------------------------------------------- */

#define ROW 20.0
#define LABEL_W 230.0
#define NOTE_W 190.0

bool dl__svg_hbars(dl_buf *b, const dl_svg_frame *f, const dl_svg_hbar *bars, size_t n)
{
    size_t rows = 0;
    double lo = 0, hi = 0;
    for (size_t i = 0; i < n; i++) {
        const char *g = bars[i].group;
        if (g && (i == 0 || !bars[i - 1].group || strcmp(g, bars[i - 1].group) != 0))
            rows++;
        rows++;
        if (isfinite(bars[i].value)) {
            lo = fmin(lo, bars[i].value);
            hi = fmax(hi, bars[i].value);
        }
    }
    double top = 34, bottom = top + (double)rows * ROW + 6;
    double h = bottom + 70;
    scale x;
    sc_fit(&x, lo, hi, false, false, 8);
    x.p0 = LABEL_W;
    x.p1 = W - NOTE_W;
    bool ok = open_svg(b, h, f) && axis_x(b, &x, bottom, top, f->x_title);
    double zero = sc_map(&x, 0);
    double y = top + 3;
    for (size_t i = 0; ok && i < n; i++) {
        const char *g = bars[i].group;
        if (g && (i == 0 || !bars[i - 1].group || strcmp(g, bars[i - 1].group) != 0)) {
            ok = text_at(b, 8, y + 14, "start", "font-weight=\"bold\"", g);
            y += ROW;
        }
        double v = isfinite(bars[i].value) ? bars[i].value : 0;
        double px = sc_map(&x, v);
        char note[64];
        if (!bars[i].note)
            snprintf(note, sizeof note, "%.2f", bars[i].value);
        ok = ok && text_at(b, LABEL_W - 8, y + 14, "end", NULL, bars[i].label) &&
             rect_at(b, zero, y + 3, px - zero, ROW - 6, v >= 0 ? C_POS : C_NEG,
                     v >= 0 ? NULL : "stroke=\"" C_INK "\" stroke-width=\"0.6\"") &&
             text_at(b, W - NOTE_W + 8, y + 14, "start", "font-size=\"11\"",
                     bars[i].note ? bars[i].note : note);
        y += ROW;
    }
    ok = ok && line_at(b, zero, top, zero, bottom, C_INK, NULL) &&
         sign_legend(b, bottom + 58, f->legend_pos, f->legend_neg);
    return ok && close_svg(b);
}

/* ---- histogram -------------------------------------------------------------- */

#define ML 80.0
#define MR 24.0

bool dl__svg_histogram(dl_buf *b, const dl_svg_frame *f, const dl_svg_histogram *hg)
{
    double top = 34, bottom = 300;
    double ymax = 0;
    for (size_t i = 0; i < hg->n; i++)
        ymax = fmax(ymax, hg->counts[i]);
    scale x, y;
    double step = hg->step > 0 ? hg->step : 1;
    sc_fit(&x, hg->x0, hg->x0 + (double)(hg->n ? hg->n : 1) * step, false, true, 10);
    sc_fit(&y, hg->log_y ? 1 : 0, ymax > 0 ? ymax : 1, hg->log_y, false, 5);
    x.p0 = ML;
    x.p1 = W - MR;
    y.p0 = bottom;
    y.p1 = top + 14;
    bool ok = open_svg(b, bottom + 50, f) && axis_y(b, &y, ML, W - MR, f->y_title) &&
              axis_x(b, &x, bottom, top + 14, f->x_title);
    ok = ok && dl_buf_puts(b, "<g class=\"bars\" fill=\"" C_POS "\">\n");
    for (size_t i = 0; ok && i < hg->n; i++) {
        double c = hg->counts[i];
        if (!(c > 0) || (hg->log_y && c < 1))
            continue;
        double x0 = sc_map(&x, hg->x0 + (double)i * step);
        double x1 = sc_map(&x, hg->x0 + (double)(i + 1) * step);
        double gap = x1 - x0 > 3 ? 0.5 : 0;
        double py = sc_map(&y, c);
        ok = dl_buf_printf(b, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\"/>\n",
                           x0 + gap, py, x1 - x0 - 2 * gap, bottom - py);
    }
    ok = ok && dl_buf_puts(b, "</g>\n") &&
         draw_markers(b, &x, top + 14, bottom, hg->markers, hg->n_markers);
    return ok && close_svg(b);
}

/* ---- columns ---------------------------------------------------------------- */

bool dl__svg_columns(dl_buf *b, const dl_svg_frame *f, const dl_svg_columns *c)
{
    double top = 34, bottom = 280;
    double ymax = c->y_max;
    if (!(ymax > 0))
        for (size_t i = 0; i < c->n; i++)
            ymax = fmax(ymax, c->values[i]);
    scale x = {0, 1, 1, false, ML, W - MR}, y;
    sc_fit(&y, c->log_y ? 1 : 0, ymax > 0 ? ymax : 1, c->log_y, c->y_max > 0, 5);
    y.p0 = bottom;
    y.p1 = top + 16;
    bool ok = open_svg(b, bottom + 50, f) && axis_y(b, &y, ML, W - MR, f->y_title) &&
              line_at(b, ML, bottom, W - MR, bottom, C_INK, NULL);
    double slot = c->n ? (x.p1 - x.p0) / (double)c->n : 1;
    /* Labels thin out when columns are narrow, so that they never overlap. */
    size_t every = slot >= 34 ? 1 : (size_t)ceil(34 / slot);
    for (size_t i = 0; ok && i < c->n; i++) {
        double cx = x.p0 + slot * ((double)i + 0.5);
        double v = c->values[i];
        if (v > 0 && !(c->log_y && v < 1)) {
            double py = sc_map(&y, v);
            char num[48];
            snprintf(num, sizeof num, "%.*f", c->value_decimals, v);
            ok = rect_at(b, cx - slot * 0.35, py, slot * 0.7, bottom - py, C_POS, NULL) &&
                 (slot < 26 || text_at(b, cx, py - 4, "middle", "font-size=\"10\"", num));
        }
        if (ok && i % every == 0)
            ok = line_at(b, cx, bottom, cx, bottom + 4, C_INK, NULL) &&
                 text_at(b, cx, bottom + 18, "middle", NULL, c->labels[i]);
    }
    if (ok && f->x_title)
        ok = text_at(b, (x.p0 + x.p1) / 2, bottom + 38, "middle", "font-weight=\"bold\"",
                     f->x_title);
    return ok && close_svg(b);
}

/* ---- lines ------------------------------------------------------------------ */

static bool point_ok(bool log_y, double xv, double yv)
{
    return isfinite(xv) && isfinite(yv) && (!log_y || yv > 0);
}

bool dl__svg_lines(dl_buf *b, const dl_svg_frame *f, const dl_svg_lines *l)
{
    double xlo = INFINITY, xhi = -INFINITY, ylo = INFINITY, yhi = -INFINITY;
    for (size_t s = 0; s < l->n_series; s++)
        for (size_t i = 0; i < l->series[s].n; i++) {
            double xv = l->series[s].x[i], yv = l->series[s].y[i];
            if (!point_ok(l->log_y, xv, yv))
                continue;
            xlo = fmin(xlo, xv);
            xhi = fmax(xhi, xv);
            ylo = fmin(ylo, yv);
            yhi = fmax(yhi, yv);
        }
    bool fx = l->x_min < l->x_max, fy = l->y_min < l->y_max;
    if (fx) {
        xlo = l->x_min;
        xhi = l->x_max;
    }
    if (fy) {
        ylo = l->y_min;
        yhi = l->y_max;
    }
    if (!(xlo <= xhi)) {
        xlo = 0;
        xhi = 1;
    }
    if (!(ylo <= yhi)) {
        ylo = l->log_y ? 1 : 0;
        yhi = l->log_y ? 10 : 1;
    }
    double top = 34, bottom = 300;
    scale x, y;
    sc_fit(&x, xlo, xhi, false, fx, 8);
    sc_fit(&y, ylo, yhi, l->log_y, fy, 5);
    x.p0 = ML;
    x.p1 = W - MR;
    y.p0 = bottom;
    y.p1 = top + 14;
    double h = bottom + 56 + 18 * (double)l->n_series;
    bool ok = open_svg(b, h, f) && axis_y(b, &y, ML, W - MR, f->y_title) &&
              axis_x(b, &x, bottom, top + 14, f->x_title) &&
              draw_markers(b, &x, top + 14, bottom, l->markers, l->n_markers);
    for (size_t s = 0; ok && s < l->n_series; s++) {
        const dl_svg_series *se = &l->series[s];
        const char *col = series_style[s % N_STYLES].colour;
        const char *dash = series_style[s % N_STYLES].dash;
        ok = dl_buf_printf(b, "<g class=\"series\"><path fill=\"none\" stroke=\"%s\" "
                              "stroke-width=\"2\"%s%s%s d=\"",
                           col, dash ? " stroke-dasharray=\"" : "", dash ? dash : "",
                           dash ? "\"" : "");
        bool pen = false;
        for (size_t i = 0; ok && i < se->n; i++) {
            if (!point_ok(l->log_y, se->x[i], se->y[i])) {
                pen = false;
                continue;
            }
            ok = dl_buf_printf(b, "%s%.2f %.2f ", pen ? "L" : "M", sc_map(&x, se->x[i]),
                               sc_map(&y, se->y[i]));
            pen = true;
        }
        ok = ok && dl_buf_puts(b, "\"/>\n");
        /* Markers on every point while they stay apart; beyond that the dash
         * pattern alone tells the lines apart. */
        for (size_t i = 0; ok && se->n <= 60 && i < se->n; i++)
            if (point_ok(l->log_y, se->x[i], se->y[i]))
                ok = marker_shape(b, series_style[s % N_STYLES].marker, sc_map(&x, se->x[i]),
                                  sc_map(&y, se->y[i]), col);
        ok = ok && dl_buf_puts(b, "</g>\n");
    }
    /* Legend below the axis title, one series a line: names may be long. */
    for (size_t s = 0; ok && s < l->n_series; s++) {
        double ly = bottom + 56 + 18 * (double)s;
        const char *col = series_style[s % N_STYLES].colour;
        const char *dash = series_style[s % N_STYLES].dash;
        char extra[80];
        snprintf(extra, sizeof extra, "stroke-width=\"2\"%s%s%s", dash ? " stroke-dasharray=\"" : "",
                 dash ? dash : "", dash ? "\"" : "");
        ok = line_at(b, ML, ly - 4, ML + 36, ly - 4, col, extra) &&
             marker_shape(b, series_style[s % N_STYLES].marker, ML + 18, ly - 4, col) &&
             text_at(b, ML + 44, ly, "start", NULL, l->series[s].name);
    }
    return ok && close_svg(b);
}

/* ---- waterfall -------------------------------------------------------------- */

bool dl__svg_waterfall(dl_buf *b, const dl_svg_frame *f, const dl_svg_waterfall *w)
{
    double run = w->start, lo = fmin(0, run), hi = fmax(0, run);
    for (size_t i = 0; i < w->n; i++) {
        run += isfinite(w->steps[i].delta) ? w->steps[i].delta : 0;
        lo = fmin(lo, run);
        hi = fmax(hi, run);
    }
    for (size_t i = 0; i < w->n_markers; i++)
        if (isfinite(w->markers[i].x)) {
            lo = fmin(lo, w->markers[i].x);
            hi = fmax(hi, w->markers[i].x);
        }
    size_t rows = w->n + 2;
    double top = 34 + 13 * (double)w->n_markers, bottom = top + (double)rows * ROW + 6;
    scale x;
    sc_fit(&x, lo, hi, false, false, 8);
    x.p0 = LABEL_W;
    x.p1 = W - 100;
    bool ok = open_svg(b, bottom + 70, f) && axis_x(b, &x, bottom, top, f->x_title);
    double zero = sc_map(&x, 0), y = top + 3;
    char note[64];
    /* Start: the prior's weight, a neutral bar from zero. */
    snprintf(note, sizeof note, "%.2f", w->start);
    ok = ok && text_at(b, LABEL_W - 8, y + 14, "end", NULL, w->start_label) &&
         rect_at(b, zero, y + 3, sc_map(&x, w->start) - zero, ROW - 6, C_NEUTRAL, NULL) &&
         text_at(b, W - 92, y + 14, "start", "font-size=\"11\"", note);
    run = w->start;
    for (size_t i = 0; ok && i < w->n; i++) {
        double d = isfinite(w->steps[i].delta) ? w->steps[i].delta : 0;
        double a = sc_map(&x, run), c = sc_map(&x, run + d);
        /* A connector from the end of the previous bar to the start of this. */
        ok = line_at(b, a, y + ROW - 3, a, y + ROW + 3, C_INK, "stroke-dasharray=\"2 2\"");
        y += ROW;
        snprintf(note, sizeof note, "%+.2f", d);
        ok = ok && text_at(b, LABEL_W - 8, y + 14, "end", NULL, w->steps[i].label) &&
             rect_at(b, a, y + 3, fabs(c - a) < 1 ? (d < 0 ? -1 : 1) : c - a, ROW - 6,
                     d >= 0 ? C_POS : C_NEG,
                     d >= 0 ? NULL : "stroke=\"" C_INK "\" stroke-width=\"0.6\"") &&
             text_at(b, W - 92, y + 14, "start", "font-size=\"11\"",
                     w->steps[i].note ? w->steps[i].note : note);
        run += d;
    }
    y += ROW;
    snprintf(note, sizeof note, "%.2f", run);
    ok = ok && text_at(b, LABEL_W - 8, y + 14, "end", "font-weight=\"bold\"", w->total_label) &&
         rect_at(b, zero, y + 3, sc_map(&x, run) - zero, ROW - 6, C_INK, NULL) &&
         text_at(b, W - 92, y + 14, "start", "font-size=\"11\" font-weight=\"bold\"", note) &&
         line_at(b, zero, top, zero, bottom, C_INK, NULL) &&
         draw_markers(b, &x, top - 13 * (double)w->n_markers, bottom, w->markers, w->n_markers) &&
         sign_legend(b, bottom + 58, f->legend_pos, f->legend_neg);
    return ok && close_svg(b);
}
