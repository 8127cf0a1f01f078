/* dolen/progress.h: progress reports from long work, without the library printing.
 * Part of common/; stages call dl_progress_update(), the CLI decides what to show. */
#ifndef DOLEN_PROGRESS_H
#define DOLEN_PROGRESS_H

#include <stdint.h>

/* The caller's sink: called at most a few times a second, from the thread
 * that calls dl_progress_update(). STAGE is a static string ("prepare"),
 * DONE and TOTAL count UNIT ("rows", "bytes", "pairs"); TOTAL 0 = unknown.
 * FINAL is 1 on the last call of a stage. */
typedef void (*dl_progress_fn)(void *payload, const char *stage, uint64_t done,
                               uint64_t total, const char *unit, int final);

typedef struct dl_progress {
    dl_progress_fn fn;   /* NULL: no reports */
    void *payload;
    uint64_t next_ns;    /* private: when the next report is due */
} dl_progress;

#define DL_PROGRESS_NONE {NULL, NULL, 0}

/* Report DONE of TOTAL if a report is due (every 250 ms); cheap otherwise.
 * P may be NULL. Not thread-safe: call from one thread. */
void dl_progress_update(dl_progress *p, const char *stage, uint64_t done, uint64_t total,
                        const char *unit);
/* Report the end of a stage unconditionally. */
void dl_progress_done(dl_progress *p, const char *stage, uint64_t done, uint64_t total,
                      const char *unit);

/* Monotonic clock in nanoseconds (for stage timings in reports). */
uint64_t dl_now_ns(void);

#endif
