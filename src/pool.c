/* pool.c - a fixed set of pthreads over a bounded job queue and a completion
 * queue, both ring buffers under one mutex. Jobs are pointers owned by the
 * caller, handed over as tasks (a run of consecutive jobs, so cheap
 * evaluations are not swamped by queue traffic); a worker takes a task, runs
 * it with its own qd_worker (RNG, plug-in thread state) and puts it on the
 * completion queue. Only the job queue is bounded: the completion queue
 * grows in submit (the caller's thread) to hold every task not yet
 * collected, so a worker never waits to hand a task back and a caller that
 * submits more than the queue holds before collecting is only slowed down
 * to the workers' pace, never deadlocked. One lock keeps the code obviously
 * correct; at the job rates QD runs reach (an evaluation is microseconds to
 * minutes) it is not the bottleneck (bench/bench_pool, bench/RESULTS.md). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <time.h>
#include "pool.h"

typedef struct ring {
    qdi_task *items;
    size_t cap, head, len;
} ring;

struct qdi_pool {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* a job was queued, or stop */
    pthread_cond_t idle;     /* threads beyond active wait here */
    pthread_cond_t space;    /* the job queue has room */
    pthread_cond_t done_cv;  /* a job finished (timed waits on CLOCK_MONOTONIC) */
    ring todo, done;
    size_t pending;          /* submitted, not yet collected */
    int wait_any;            /* a qdi_pool_wait wants each finished task */
    int stop;
    int cancel;              /* atomic: skip the rest of every task */
    size_t nthreads;
    size_t active;           /* atomic: threads 0..active-1 take tasks */
    pthread_t *threads;
    qd_worker *workers;
    qdi_pool_run_fn run;
    void *ctx;
};

typedef struct worker_arg {
    qdi_pool *pool;
    qd_worker *w;
    size_t index;
} worker_arg;

static void ring_push(ring *r, qdi_task t)
{
    r->items[(r->head + r->len) % r->cap] = t;
    __atomic_store_n(&r->len, r->len + 1, __ATOMIC_RELEASE); /* spinners read it unlocked */
}

static qdi_task ring_pop(ring *r)
{
    qdi_task j = r->items[r->head];
    r->head = (r->head + 1) % r->cap;
    __atomic_store_n(&r->len, r->len - 1, __ATOMIC_RELEASE);
    return j;
}

/* Grows r to hold at least need items, keeping their order. Called with the
 * lock held, by the caller's thread only. */
static int ring_reserve(ring *r, size_t need)
{
    size_t cap = r->cap;
    qdi_task *items;
    if (need <= cap)
        return QD_OK;
    while (cap < need)
        cap *= 2;
    if (!(items = malloc(cap * sizeof *items)))
        return QD_ENOMEM;
    for (size_t i = 0; i < r->len; i++)
        items[i] = r->items[(r->head + i) % r->cap];
    free(r->items);
    r->items = items;
    r->cap = cap;
    r->head = 0;
    return QD_OK;
}

/* How long a thread that ran out of work polls before it sleeps: the
 * loop's own work between two phases of an iteration (telling, asking)
 * takes tens of microseconds for cheap benchmarks, and a sleep and wake-up
 * costs a context switch each way (about 10-20 us here, more in a virtual
 * machine). Polling keeps the threads on their cores through that gap;
 * past it they sleep, so an idle pool costs nothing. */
#define SPIN_NS 200000L

static long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long)t.tv_sec * 1000000000L + t.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

/* Whether thread index has a task to take, or the pool stops (unlocked). */
static int work_or_stop(qdi_pool *p, size_t index)
{
    if (__atomic_load_n(&p->stop, __ATOMIC_ACQUIRE))
        return 1;
    return index < __atomic_load_n(&p->active, __ATOMIC_ACQUIRE) &&
           __atomic_load_n(&p->todo.len, __ATOMIC_ACQUIRE) > 0;
}

/* Whether every pending task is back (unlocked; the caller's thread). */
static int all_back(qdi_pool *p, size_t index)
{
    (void)index;
    return __atomic_load_n(&p->done.len, __ATOMIC_ACQUIRE) >= p->pending;
}

/* Polls (lock not held) until ready(p, index) or SPIN_NS have passed;
 * returns whether it became ready. */
static int spin_until(qdi_pool *p, size_t index, int (*ready)(qdi_pool *p, size_t index))
{
    long until = 0;
    for (unsigned i = 0;; i++) {
        if (ready(p, index))
            return 1;
        if ((i & 63) == 0) {
            long t = now_ns();
            if (until == 0)
                until = t + SPIN_NS;
            else if (t >= until)
                return 0;
        }
        cpu_relax();
    }
}

/* Runs a task's call or jobs in the calling thread with worker w (lock not
 * held); a cancel skips what has not started. */
static void run_task(qdi_pool *p, const qdi_task *task, qd_worker *w)
{
    if (task->call && !__atomic_load_n(&p->cancel, __ATOMIC_SEQ_CST))
        task->call(task->arg, w);
    for (size_t i = 0; i < task->n && !__atomic_load_n(&p->cancel, __ATOMIC_SEQ_CST); i++)
        p->run(p->ctx, &task->jobs[i], w);
}

/* Hands a finished task back (lock held): the waiter is woken only when
 * it waits for any task or this was the last one out. */
static void finish_task(qdi_pool *p, qdi_task task)
{
    ring_push(&p->done, task);
    if (p->wait_any || p->done.len == p->pending)
        pthread_cond_signal(&p->done_cv);
}

static void *worker_main(void *arg)
{
    qdi_pool *p = ((worker_arg *)arg)->pool;
    qd_worker *w = ((worker_arg *)arg)->w;
    size_t index = ((worker_arg *)arg)->index;
    free(arg);
    pthread_mutex_lock(&p->lock);
    for (;;) {
        if (!work_or_stop(p, index)) {
            pthread_mutex_unlock(&p->lock);
            spin_until(p, index, work_or_stop);
            pthread_mutex_lock(&p->lock);
        }
        while (!work_or_stop(p, index))
            pthread_cond_wait(index < p->active ? &p->work : &p->idle, &p->lock);
        if (p->stop)
            break;
        qdi_task task = ring_pop(&p->todo);
        pthread_cond_signal(&p->space);
        pthread_mutex_unlock(&p->lock);
        run_task(p, &task, w);
        pthread_mutex_lock(&p->lock);
        finish_task(p, task);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

int qdi_pool_new(size_t n, qd_worker *workers, size_t queue_cap, qdi_pool_run_fn run, void *ctx, qdi_pool **out)
{
    qdi_pool *p;
    pthread_condattr_t monotonic;
    *out = NULL;
    if (n == 0 || queue_cap == 0)
        return QD_EINVAL;
    if (!(p = calloc(1, sizeof *p)))
        return QD_ENOMEM;
    p->todo.cap = queue_cap;
    /* room for every task queued or running; submit grows it beyond */
    p->done.cap = queue_cap + n;
    p->todo.items = malloc(p->todo.cap * sizeof *p->todo.items);
    p->done.items = malloc(p->done.cap * sizeof *p->done.items);
    p->threads = calloc(n, sizeof *p->threads);
    if (!p->todo.items || !p->done.items || !p->threads) {
        free(p->todo.items);
        free(p->done.items);
        free(p->threads);
        free(p);
        return QD_ENOMEM;
    }
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->space, NULL);
    pthread_cond_init(&p->idle, NULL);
    /* a timed wait must not stretch or shrink when the wall clock is set */
    pthread_condattr_init(&monotonic);
    pthread_condattr_setclock(&monotonic, CLOCK_MONOTONIC);
    pthread_cond_init(&p->done_cv, &monotonic);
    pthread_condattr_destroy(&monotonic);
    p->workers = workers;
    p->active = n;
    p->run = run;
    p->ctx = ctx;
    /* workers block the stop signals (they inherit the mask), so SIGINT
     * and SIGTERM reach the thread that asked for them, not a worker in
     * the middle of an HTTP call or a pipe read */
    sigset_t stop_signals, old;
    sigemptyset(&stop_signals);
    sigaddset(&stop_signals, SIGINT);
    sigaddset(&stop_signals, SIGTERM);
    sigaddset(&stop_signals, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &stop_signals, &old);
    for (size_t i = 0; i < n; i++) {
        worker_arg *a = malloc(sizeof *a);
        if (!a || (a->pool = p, a->w = &workers[i], a->index = i, pthread_create(&p->threads[i], NULL, worker_main, a)) != 0) {
            free(a);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            qdi_pool_free(p);
            return QD_ENOMEM;
        }
        p->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *out = p;
    return QD_OK;
}

static int submit(qdi_pool *p, qdi_task task)
{
    pthread_mutex_lock(&p->lock);
    while (p->todo.len == p->todo.cap)
        pthread_cond_wait(&p->space, &p->lock);
    /* the completion queue must have room for every uncollected task, so a
     * worker can always hand this one back */
    if (ring_reserve(&p->done, p->pending + 1) != QD_OK) {
        pthread_mutex_unlock(&p->lock);
        return QD_ENOMEM;
    }
    ring_push(&p->todo, task);
    p->pending++;
    if (p->active > 0)
        pthread_cond_signal(&p->work);
    pthread_mutex_unlock(&p->lock);
    return QD_OK;
}

int qdi_pool_submit(qdi_pool *p, qd_job *jobs, size_t n)
{
    return submit(p, (qdi_task){.jobs = jobs, .n = n});
}

int qdi_pool_submit_call(qdi_pool *p, void (*call)(void *arg, qd_worker *w), void *arg)
{
    return submit(p, (qdi_task){.call = call, .arg = arg});
}

/* The CLOCK_MONOTONIC moment timeout_s from now; 0 when timeout_s < 0 (or
 * beyond 30 years, which is for ever and fits a time_t). */
static int deadline(double timeout_s, struct timespec *until)
{
    if (timeout_s < 0 || timeout_s > 1e9)
        return 0;
    clock_gettime(CLOCK_MONOTONIC, until);
    until->tv_sec += (time_t)timeout_s;
    until->tv_nsec += (long)((timeout_s - (double)(time_t)timeout_s) * 1e9);
    if (until->tv_nsec >= 1000000000L) {
        until->tv_sec++;
        until->tv_nsec -= 1000000000L;
    }
    return 1;
}

int qdi_pool_wait(qdi_pool *p, double timeout_s, qdi_task *task)
{
    struct timespec until;
    int rc = 0, timed = deadline(timeout_s, &until);
    *task = (qdi_task){0};
    pthread_mutex_lock(&p->lock);
    p->wait_any = 1;
    while (p->done.len == 0 && rc != ETIMEDOUT) {
        if (p->pending == 0) {
            p->wait_any = 0;
            pthread_mutex_unlock(&p->lock);
            return QD_ENOTFOUND;
        }
        if (timed)
            rc = pthread_cond_timedwait(&p->done_cv, &p->lock, &until);
        else
            pthread_cond_wait(&p->done_cv, &p->lock);
    }
    p->wait_any = 0;
    if (p->done.len == 0) {
        pthread_mutex_unlock(&p->lock);
        return QD_ETIMEOUT;
    }
    *task = ring_pop(&p->done);
    p->pending--;
    pthread_mutex_unlock(&p->lock);
    return QD_OK;
}

int qdi_pool_wait_all(qdi_pool *p, double timeout_s)
{
    struct timespec until;
    int rc = 0, timed = deadline(timeout_s, &until);
    pthread_mutex_lock(&p->lock);
    if (p->pending == 0) {
        pthread_mutex_unlock(&p->lock);
        return QD_ENOTFOUND;
    }
    if (p->done.len < p->pending) {
        pthread_mutex_unlock(&p->lock);
        spin_until(p, 0, all_back);
        pthread_mutex_lock(&p->lock);
    }
    while (p->done.len < p->pending && rc != ETIMEDOUT) {
        if (timed)
            rc = pthread_cond_timedwait(&p->done_cv, &p->lock, &until);
        else
            pthread_cond_wait(&p->done_cv, &p->lock);
    }
    if (p->done.len < p->pending) {
        pthread_mutex_unlock(&p->lock);
        return QD_ETIMEOUT;
    }
    p->done.head = 0;
    __atomic_store_n(&p->done.len, 0, __ATOMIC_RELEASE);
    p->pending = 0;
    pthread_mutex_unlock(&p->lock);
    return QD_OK;
}

size_t qdi_pool_help(qdi_pool *p, qd_worker *w)
{
    size_t ran = 0;
    pthread_mutex_lock(&p->lock);
    while (p->todo.len > 0 && !__atomic_load_n(&p->cancel, __ATOMIC_SEQ_CST)) {
        qdi_task task = ring_pop(&p->todo);
        pthread_cond_signal(&p->space);
        pthread_mutex_unlock(&p->lock);
        run_task(p, &task, w);
        ran++;
        pthread_mutex_lock(&p->lock);
        ring_push(&p->done, task);
    }
    pthread_mutex_unlock(&p->lock);
    return ran;
}

void qdi_pool_set_active(qdi_pool *p, size_t n)
{
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->active, n < p->nthreads ? n : p->nthreads, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->lock);
}

size_t qdi_pool_pending(const qdi_pool *p)
{
    return p->pending;
}

void qdi_pool_free(qdi_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stop, 1, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->work);
    pthread_cond_broadcast(&p->idle);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->space);
    pthread_cond_destroy(&p->idle);
    pthread_cond_destroy(&p->done_cv);
    free(p->todo.items);
    free(p->done.items);
    free(p->threads);
    free(p);
}

void qdi_pool_cancel(qdi_pool *p)
{
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->cancel, 1, __ATOMIC_SEQ_CST);
    p->pending -= p->todo.len; /* dropped: never run, never returned */
    __atomic_store_n(&p->todo.len, 0, __ATOMIC_RELEASE);
    pthread_cond_broadcast(&p->space);
    pthread_mutex_unlock(&p->lock);
}
