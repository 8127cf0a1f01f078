/* dolen/workers.h: a fixed pool of threads that runs numbered tasks.
 * Part of common/; prepare, synth and link cut their work into fixed-size
 * chunks and hand the chunk numbers to a pool, then merge in chunk order, so
 * results never depend on the number of threads. */
#ifndef DOLEN_WORKERS_H
#define DOLEN_WORKERS_H

#include <stddef.h>

#include "dolen/error.h"

typedef struct dl_workers dl_workers;

/* TASK is called once per task number in [0, n_tasks), from some thread of
 * the pool; WORKER is that thread's number in [0, n_threads), so a task can
 * use per-thread scratch without locks. A non-DL_OK return stops the handing
 * out of further tasks; the first failing task's status and *err are kept. */
typedef dl_status (*dl_task_fn)(size_t task, size_t worker, void *payload, dl_error *err);

/* A pool of N_THREADS threads (0: the number of online CPUs). With one
 * thread, tasks run on the caller's thread and no thread is created.
 * Returns NULL when out of memory or threads cannot be started. */
dl_workers *dl_workers_new(size_t n_threads);

/* Threads in the pool (>= 1). */
size_t dl_workers_count(const dl_workers *w);

/* Run tasks 0..N_TASKS-1 and wait for all. Returns DL_OK or the status of
 * the lowest-numbered failing task, with its error in *err. Not re-entrant:
 * one dl_workers_run at a time per pool. */
dl_status dl_workers_run(dl_workers *w, size_t n_tasks, dl_task_fn fn, void *payload,
                         dl_error *err) DL_MUST_CHECK;

/* Stop and join the threads. NULL is a no-op. */
void dl_workers_free(dl_workers *w);

/* Online CPUs (>= 1). */
size_t dl_cpu_count(void);

#endif
