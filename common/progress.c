/* progress.c: rate-limited progress callbacks and a monotonic clock.
 * Part of common/; long stages report through it and the CLI draws the line. */
#include <time.h>

#include "dolen/progress.h"

#define REPORT_EVERY_NS 250000000ull

uint64_t dl_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void dl_progress_update(dl_progress *p, const char *stage, uint64_t done, uint64_t total,
                        const char *unit)
{
    if (!p || !p->fn)
        return;
    uint64_t now = dl_now_ns();
    if (now < p->next_ns)
        return;
    p->next_ns = now + REPORT_EVERY_NS;
    p->fn(p->payload, stage, done, total, unit, 0);
}

void dl_progress_done(dl_progress *p, const char *stage, uint64_t done, uint64_t total,
                      const char *unit)
{
    if (!p || !p->fn)
        return;
    p->next_ns = 0;
    p->fn(p->payload, stage, done, total, unit, 1);
}
