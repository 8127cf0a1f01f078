/* cli_progress.c: the progress line on stderr, for terminals only.
 * Part of cli/; the library reports through dl_progress, this draws it. */
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"

typedef struct line_state {
    uint64_t start_ns;
    const char *stage;
} line_state;

static line_state state;

static void human(char *buf, size_t size, double v)
{
    if (v >= 1e9)
        snprintf(buf, size, "%.2fG", v / 1e9);
    else if (v >= 1e6)
        snprintf(buf, size, "%.2fM", v / 1e6);
    else if (v >= 1e4)
        snprintf(buf, size, "%.1fk", v / 1e3);
    else
        snprintf(buf, size, "%.0f", v);
}

static void draw(void *payload, const char *stage, uint64_t done, uint64_t total,
                 const char *unit, int final)
{
    line_state *s = payload;
    uint64_t now = dl_now_ns();
    if (s->stage != stage) {
        s->stage = stage;
        s->start_ns = now;
    }
    double secs = (double)(now - s->start_ns) / 1e9;
    char d[32], r[32];
    human(d, sizeof d, (double)done);
    human(r, sizeof r, secs > 0 ? (double)done / secs : 0);
    if (total)
        fprintf(stderr, "\r\033[K%s: %s %s (%.0f%%), %s %s/s", stage, d, unit,
                100.0 * (double)done / (double)total, r, unit);
    else
        fprintf(stderr, "\r\033[K%s: %s %s, %s %s/s", stage, d, unit, r, unit);
    if (final)
        fprintf(stderr, " in %.1f s\n", secs);
    fflush(stderr);
}

dl_progress dl_cli_progress(void)
{
    dl_progress p = DL_PROGRESS_NONE;
    if (!dl_cli_quiet && isatty(STDERR_FILENO)) {
        p.fn = draw;
        p.payload = &state;
    }
    return p;
}
