/* pool.h - the worker pool: a fixed set of pthreads that run jobs handed to
 * them through a bounded queue and hand them back through a completion
 * queue. The main thread keeps the archive and the mutators; workers touch
 * only the job they hold and their own qd_worker. */
#ifndef ELITES_POOL_H
#define ELITES_POOL_H

#include "internal.h"

typedef struct qdi_pool qdi_pool;

/* A run of consecutive jobs handed to one worker, or (call set) one call
 * call(arg, worker) instead. */
typedef struct qdi_task {
    qd_job *jobs;
    size_t n;
    void (*call)(void *arg, qd_worker *w);
    void *arg;
} qdi_task;

/* Runs one job in a worker; sets job->status. */
typedef void (*qdi_pool_run_fn)(void *ctx, qd_job *job, qd_worker *w);

/* Starts n threads over the n qd_worker structs given (owned by the caller,
 * set up before, torn down after). The queue holds up to queue_cap tasks. */
int qdi_pool_new(size_t n, qd_worker *workers, size_t queue_cap, qdi_pool_run_fn run, void *ctx,
                 qdi_pool **out);
/* Queues the n jobs from jobs[0] as one task; blocks while the queue is
 * full, until a worker takes a task (collecting is not needed: any number
 * of tasks may wait to be collected). QD_ENOMEM when the completion queue
 * could not grow (nothing was queued). */
int qdi_pool_submit(qdi_pool *p, qd_job *jobs, size_t n);
/* Queues one call(arg, worker) as a task, as qdi_pool_submit does jobs
 * (qdi_pool_wait returns it; a cancel may skip it). */
int qdi_pool_submit_call(qdi_pool *p, void (*call)(void *arg, qd_worker *w), void *arg);
/* Waits for the next finished task (any order). timeout_s < 0 waits
 * forever; QD_ETIMEOUT when nothing finished in time, QD_ENOTFOUND when
 * nothing is pending. */
int qdi_pool_wait(qdi_pool *p, double timeout_s, qdi_task *task);
/* Waits until every task submitted has finished and collects them all
 * (wakes once, when the last comes back, not once per task). timeout_s as
 * for qdi_pool_wait; QD_ETIMEOUT leaves them pending, QD_ENOTFOUND when
 * nothing is pending. */
int qdi_pool_wait_all(qdi_pool *p, double timeout_s);
/* Runs queued tasks in the calling thread, with w as its worker (owned by
 * the caller; not one of the pool's), until the queue is empty or the pool
 * is cancelled; they are collected as if a pool thread had run them.
 * Returns how many it ran. */
size_t qdi_pool_help(qdi_pool *p, qd_worker *w);
/* Lets only the first n threads take tasks (all at the start; n above
 * their number means all): a caller that runs tasks itself with
 * qdi_pool_help keeps as many threads busy as there are cores. n = 0
 * leaves every task to qdi_pool_help. Results never depend on it. */
void qdi_pool_set_active(qdi_pool *p, size_t n);
/* Tasks submitted and not yet returned by qdi_pool_wait. Unlocked: call it
 * from the thread that submits and waits. */
size_t qdi_pool_pending(const qdi_pool *p);
/* Gives up: drops the queued tasks and has each worker stop after the job
 * it is running (the rest of its task is skipped; tasks still running come
 * back as usual). For a stop that no longer wants results. */
void qdi_pool_cancel(qdi_pool *p);
/* Stops the threads after the job each is running, drops queued jobs (they
 * belong to the caller) and joins the threads. Accepts NULL. */
void qdi_pool_free(qdi_pool *p);

#endif
