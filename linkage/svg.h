/* svg.h: chart writers that draw self-contained SVG onto a dl_buf.
 * Part of linkage/ (internal); report.c draws every chart of `dolen report`
 * with these, and tests/test_svg.c checks axes, scaling and escaping.
 *
 * Every writer appends one <svg> element (with xmlns, so the page is also
 * well-formed XHTML) holding a <title>, labelled axes, and a legend where
 * there is more than one kind of mark. Colours come from the Okabe-Ito
 * palette, chosen so that neighbouring marks also differ in lightness, dash
 * pattern or marker shape: charts stay readable in greyscale and for
 * colour-blind readers. All text passes through dl__svg_text(). Numbers are
 * printed with the C locale (dolen never changes LC_NUMERIC), so the same
 * data always give the same bytes. Writers return false only when the
 * buffer could not grow (out of memory); the buffer then holds a partial
 * chart that the caller discards. No writer keeps a pointer it was given.
 * Thread-safe: no state outside the arguments. */
#ifndef DL_SVG_H
#define DL_SVG_H

#include <stdbool.h>
#include <stddef.h>

#include "dolen/buf.h"

/* Append S with &, <, >, " and ' escaped as XML entities. Bytes that are not
 * valid UTF-8 become U+FFFD and control characters other than tab and
 * newline become '?': XML 1.0 cannot hold them even as references. */
bool dl__svg_text(dl_buf *b, const char *s);
bool dl__svg_text_n(dl_buf *b, const char *s, size_t len);

/* "Nice" axis ticks: a step of 1, 2 or 5 times a power of ten giving about
 * TARGET intervals over [LO, HI]; *NLO and *NHI get the range widened to
 * whole steps (LO == HI is widened by 1 on each side). Returns the step. */
double dl__svg_nice(double lo, double hi, unsigned target, double *nlo, double *nhi);

/* Format V as a tick label for ticks STEP apart: just enough decimals to
 * tell neighbouring ticks apart, no "-0". */
void dl__svg_tick_label(char *out, size_t size, double v, double step);

/* What every chart has: a title (also the SVG's <title>, for screen readers
 * and the page's outline) and axis titles that name the quantity and its
 * unit ("match weight (log2 Bayes factor)", "pairs"). Any may be NULL. */
typedef struct dl_svg_frame {
    const char *title;
    const char *x_title;
    const char *y_title;
    /* Bar charts with signed values (hbars, waterfall): what a dark
     * (positive) and a light (negative) bar mean; NULL: no legend. */
    const char *legend_pos, *legend_neg;
} dl_svg_frame;

/* A vertical reference line at X (a threshold), with a label at its top. */
typedef struct dl_svg_marker {
    double x;
    const char *label;
} dl_svg_marker;

/* ---- horizontal bars (the model's match weights) -------------------------
 * One row per bar, label on the left, the bar from 0 to VALUE (positive bars
 * dark blue to the right, negative light orange to the left, so sign shows
 * by side and by shade), and NOTE (or the value) printed beside the bar.
 * A GROUP that differs from the previous bar's starts a bold heading row. */
typedef struct dl_svg_hbar {
    const char *group; /* may be NULL */
    const char *label;
    double value;
    const char *note;  /* NULL: the value with 2 decimals */
} dl_svg_hbar;

bool dl__svg_hbars(dl_buf *b, const dl_svg_frame *f, const dl_svg_hbar *bars, size_t n);

/* ---- histogram over a numeric axis ---------------------------------------
 * N bins [X0 + i STEP, X0 + (i + 1) STEP) with COUNTS; LOG_Y draws the count
 * axis in powers of ten (empty bins are then not drawn). MARKERS are drawn
 * over the bars. */
typedef struct dl_svg_histogram {
    double x0, step;
    size_t n;
    const double *counts;
    bool log_y;
    const dl_svg_marker *markers;
    size_t n_markers;
} dl_svg_histogram;

bool dl__svg_histogram(dl_buf *b, const dl_svg_frame *f, const dl_svg_histogram *h);

/* ---- columns over categories (cluster sizes, share linked) ---------------
 * One column per category, LABELS under them, the value (formatted with
 * VALUE_DECIMALS decimals) above each column. LOG_Y as for histograms. */
typedef struct dl_svg_columns {
    size_t n;
    const char *const *labels;
    const double *values;
    bool log_y;
    int value_decimals;
    double y_max;      /* > 0: fix the top of the axis (1 for shares); 0: from the data */
} dl_svg_columns;

bool dl__svg_columns(dl_buf *b, const dl_svg_frame *f, const dl_svg_columns *c);

/* ---- lines (EM trace, precision-recall curve) ----------------------------
 * Each series is drawn with its own colour, dash pattern and marker shape
 * and named in the legend. On a LOG_Y axis, points with y <= 0 are left out
 * (the line breaks there). X_MIN < X_MAX (and Y_MIN < Y_MAX) fix an axis;
 * else it is fitted to the data. */
typedef struct dl_svg_series {
    const char *name;
    size_t n;
    const double *x, *y;
} dl_svg_series;

typedef struct dl_svg_lines {
    size_t n_series;
    const dl_svg_series *series;
    bool log_y;
    double x_min, x_max, y_min, y_max;
    const dl_svg_marker *markers;
    size_t n_markers;
} dl_svg_lines;

bool dl__svg_lines(dl_buf *b, const dl_svg_frame *f, const dl_svg_lines *l);

/* ---- waterfall (one pair's weight, term by term) -------------------------
 * A row for START (a bar from 0), then a row per step drawn from the
 * running total to the running total plus DELTA (rises dark, falls light),
 * then a TOTAL row from 0 to the sum; each row's delta is printed beside
 * it. MARKERS (thresholds on the weight axis) are vertical lines. */
typedef struct dl_svg_step {
    const char *label;
    double delta;
    const char *note;  /* NULL: the delta with 2 decimals and a sign */
} dl_svg_step;

typedef struct dl_svg_waterfall {
    const char *start_label;
    double start;
    size_t n;
    const dl_svg_step *steps;
    const char *total_label;
    const dl_svg_marker *markers;
    size_t n_markers;
} dl_svg_waterfall;

bool dl__svg_waterfall(dl_buf *b, const dl_svg_frame *f, const dl_svg_waterfall *w);

#endif
