/* workers.c: a fixed thread pool handing out numbered tasks.
 * Part of common/; tasks are chunks of records, so their order of completion
 * may vary but what each produces does not. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <unistd.h>

#include "dolen/workers.h"

struct dl_workers {
    size_t n_threads;
    pthread_t *threads;
    pthread_mutex_t mu;
    pthread_cond_t start, done;
    /* the current run; guarded by mu */
    uint64_t generation;
    dl_task_fn fn;
    void *payload;
    size_t n_tasks, next, active;
    bool stop_handing_out, shutdown;
    size_t fail_task;
    dl_status fail_status;
    dl_error fail_err;
};

typedef struct thread_arg {
    dl_workers *w;
    size_t index;
} thread_arg;

size_t dl_cpu_count(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (size_t)n : 1;
}

/* Take tasks until none are left; called with mu held, returns with it held. */
static void take_tasks(dl_workers *w, size_t worker)
{
    while (!w->stop_handing_out && w->next < w->n_tasks) {
        size_t task = w->next++;
        dl_task_fn fn = w->fn;
        void *payload = w->payload;
        pthread_mutex_unlock(&w->mu);
        dl_error err = DL_ERROR_INIT;
        dl_status s = fn(task, worker, payload, &err);
        pthread_mutex_lock(&w->mu);
        if (s != DL_OK) {
            w->stop_handing_out = true;
            if (w->fail_status == DL_OK || task < w->fail_task) {
                w->fail_status = s;
                w->fail_task = task;
                w->fail_err = err;
            }
        }
    }
}

static void *thread_main(void *p)
{
    thread_arg *a = p;
    dl_workers *w = a->w;
    size_t index = a->index;
    free(a);
    uint64_t seen = 0;
    pthread_mutex_lock(&w->mu);
    for (;;) {
        while (!w->shutdown && w->generation == seen)
            pthread_cond_wait(&w->start, &w->mu);
        if (w->shutdown)
            break;
        seen = w->generation;
        w->active++;
        take_tasks(w, index);
        if (--w->active == 0)
            pthread_cond_broadcast(&w->done);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

dl_workers *dl_workers_new(size_t n_threads)
{
    dl_workers *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->n_threads = n_threads ? n_threads : dl_cpu_count();
    if (pthread_mutex_init(&w->mu, NULL) != 0) {
        free(w);
        return NULL;
    }
    pthread_cond_init(&w->start, NULL);
    pthread_cond_init(&w->done, NULL);
    if (w->n_threads == 1)
        return w;
    /* The caller's thread works too, so the pool starts n - 1 threads. */
    w->threads = calloc(w->n_threads - 1, sizeof *w->threads);
    if (!w->threads)
        goto fail;
    for (size_t i = 0; i + 1 < w->n_threads; i++) {
        thread_arg *a = malloc(sizeof *a);
        if (!a)
            goto fail_started;
        a->w = w;
        a->index = i + 1;
        if (pthread_create(&w->threads[i], NULL, thread_main, a) != 0) {
            free(a);
            goto fail_started;
        }
        continue;
    fail_started:
        w->n_threads = i + 1; /* threads 0..i-1 started; make free() join only those */
        dl_workers_free(w);
        return NULL;
    }
    return w;
fail:
    pthread_cond_destroy(&w->start);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w);
    return NULL;
}

size_t dl_workers_count(const dl_workers *w)
{
    return w->n_threads;
}

dl_status dl_workers_run(dl_workers *w, size_t n_tasks, dl_task_fn fn, void *payload,
                         dl_error *err)
{
    pthread_mutex_lock(&w->mu);
    w->fn = fn;
    w->payload = payload;
    w->n_tasks = n_tasks;
    w->next = 0;
    w->stop_handing_out = false;
    w->fail_status = DL_OK;
    w->fail_task = 0;
    dl_error_clear(&w->fail_err);
    w->generation++;
    pthread_cond_broadcast(&w->start);
    w->active++;
    take_tasks(w, 0);
    w->active--;
    while (w->active > 0 || (w->next < w->n_tasks && !w->stop_handing_out))
        pthread_cond_wait(&w->done, &w->mu);
    dl_status s = w->fail_status;
    if (s != DL_OK && err)
        *err = w->fail_err;
    pthread_mutex_unlock(&w->mu);
    return s;
}

void dl_workers_free(dl_workers *w)
{
    if (!w)
        return;
    pthread_mutex_lock(&w->mu);
    w->shutdown = true;
    pthread_cond_broadcast(&w->start);
    pthread_mutex_unlock(&w->mu);
    if (w->threads)
        for (size_t i = 0; i + 1 < w->n_threads; i++)
            pthread_join(w->threads[i], NULL);
    free(w->threads);
    pthread_cond_destroy(&w->start);
    pthread_cond_destroy(&w->done);
    pthread_mutex_destroy(&w->mu);
    free(w);
}
