/* test_workers.c: the thread pool (common/workers.c). */
#include <criterion/criterion.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "dolen/workers.h"

typedef struct sum_job {
    uint64_t *slot;
    atomic_size_t calls;
    size_t fail_from;
} sum_job;

static dl_status square(size_t task, size_t worker, void *payload, dl_error *err)
{
    sum_job *j = payload;
    (void)worker;
    atomic_fetch_add(&j->calls, 1);
    if (task >= j->fail_from)
        return dl_error_set(err, DL_EINPUT, "chunk", task + 1, 0, "task %zu failed", task);
    j->slot[task] = (uint64_t)task * task;
    return DL_OK;
}

Test(workers, every_task_runs_once_at_any_thread_count)
{
    size_t threads[] = {1, 2, 7};
    for (size_t t = 0; t < 3; t++) {
        dl_workers *w = dl_workers_new(threads[t]);
        cr_assert_not_null(w);
        cr_assert_eq(dl_workers_count(w), threads[t]);
        for (int round = 0; round < 20; round++) {
            size_t n = 1000 + (size_t)round;
            sum_job j = {calloc(n, sizeof(uint64_t)), 0, SIZE_MAX};
            dl_error err = DL_ERROR_INIT;
            cr_assert_eq(dl_workers_run(w, n, square, &j, &err), DL_OK);
            cr_assert_eq(atomic_load(&j.calls), n);
            for (size_t i = 0; i < n; i++)
                cr_assert_eq(j.slot[i], (uint64_t)i * i);
            free(j.slot);
        }
        dl_workers_free(w);
    }
}

Test(workers, failure_stops_and_reports_the_task)
{
    dl_workers *w = dl_workers_new(2);
    sum_job j = {calloc(100, sizeof(uint64_t)), 0, 40};
    dl_error err = DL_ERROR_INIT;
    cr_assert_eq(dl_workers_run(w, 100, square, &j, &err), DL_EINPUT);
    cr_assert_geq(err.line, 41);
    cr_assert_lt(atomic_load(&j.calls), 100);
    /* The pool is usable again after a failure. */
    j.fail_from = SIZE_MAX;
    cr_assert_eq(dl_workers_run(w, 100, square, &j, &err), DL_OK);
    free(j.slot);
    dl_workers_free(w);
    dl_workers_free(NULL);
}

Test(workers, zero_tasks)
{
    dl_workers *w = dl_workers_new(3);
    sum_job j = {NULL, 0, SIZE_MAX};
    cr_assert_eq(dl_workers_run(w, 0, square, &j, NULL), DL_OK);
    cr_assert_eq(atomic_load(&j.calls), 0);
    dl_workers_free(w);
    cr_assert_geq(dl_cpu_count(), 1);
}
