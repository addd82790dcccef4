/* test_pool.c - the worker pool (src/pool.c): every submitted task comes back
 * from qdi_pool_wait exactly once and each of its jobs ran exactly once;
 * a wait with a timeout says QD_ETIMEOUT while the only task is still
 * running and QD_ENOTFOUND when nothing is pending; submit blocks while the
 * queue is full and goes on as workers take tasks, also when the caller
 * submits far more than the queue holds before collecting anything; free
 * with queued tasks returns (valgrind checks it leaks nothing); and one
 * worker and seven give the same per-job results for a pure function;
 * wait_all collects every task at once (or times out leaving them pending),
 * and a caller helping with qdi_pool_help runs queued tasks itself while
 * the threads beyond qdi_pool_set_active's count take none.
 *
 * Jobs that must still be running when the test looks are held at a gate the
 * test opens, so no check depends on how fast the machine is; the calls that
 * could hang run in a thread joined with a deadline. */
#define _GNU_SOURCE /* pthread_timedjoin_np */
#include <errno.h>
#include <pthread.h>
#include <time.h>
#include <gsl/gsl_rng.h>
#include "src/pool.h"
#include "testutil.h"

static void sleep_us(long us)
{
    struct timespec t = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

/* Joins t within seconds; 0 if it finished. A thread that did not finish
 * is left behind (the test has failed). */
static int join_within(pthread_t t, double seconds)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)seconds;
    return pthread_timedjoin_np(t, NULL, &until);
}

/* Runs fn(arg) in a thread and joins it within seconds; 0 if it finished. */
static int finishes_within(void *(*fn)(void *), void *arg, double seconds)
{
    pthread_t t;
    if (pthread_create(&t, NULL, fn, arg) != 0)
        return -1;
    return join_within(t, seconds);
}

/* ---- counting jobs ------------------------------------------------------- */

/* Per job id: how often it ran, how long it sleeps (µs), which worker ran it. */
typedef struct counts {
    int *runs;
    long *sleep;
    unsigned *worker;
} counts;

static void count_run(void *ctx, qd_job *job, qd_worker *w)
{
    counts *c = ctx;
    if (c->sleep && c->sleep[job->id] > 0)
        sleep_us(c->sleep[job->id]);
    c->runs[job->id]++; /* two runs at once would be a race TSan reports */
    c->worker[job->id] = w->id;
    job->status = QD_OK;
}

static qd_job *new_jobs(size_t n)
{
    qd_job *jobs = calloc(n, sizeof *jobs);
    for (size_t i = 0; jobs && i < n; i++)
        jobs[i].id = i;
    return jobs;
}

static qd_worker *new_workers(size_t n)
{
    qd_worker *w = calloc(n, sizeof *w);
    for (size_t i = 0; w && i < n; i++)
        w[i].id = (unsigned)i;
    return w;
}

static void test_every_task_comes_back_once(void)
{
    enum { NJOBS = 3000, NWORKERS = 5 };
    qd_job *jobs = new_jobs(NJOBS);
    qd_worker *workers = new_workers(NWORKERS);
    int *runs = calloc(NJOBS, sizeof *runs), *returned = calloc(NJOBS, sizeof *returned);
    int *task_len = calloc(NJOBS, sizeof *task_len);
    long *sleep = calloc(NJOBS, sizeof *sleep);
    unsigned *worker = calloc(NJOBS, sizeof *worker);
    counts c = {runs, sleep, worker};
    unsigned seed = 12345;
    size_t ntasks = 0, got = 0;
    qdi_pool *p;
    qdi_task task;
    for (size_t i = 0; i < NJOBS; i++)
        sleep[i] = rand_r(&seed) % 300;
    CU_ASSERT_FATAL(qdi_pool_new(NWORKERS, workers, 8, count_run, &c, &p) == QD_OK);
    /* runs of 1 to 5 jobs */
    for (size_t off = 0; off < NJOBS; ntasks++) {
        size_t n = 1 + (size_t)(rand_r(&seed) % 5);
        if (off + n > NJOBS)
            n = NJOBS - off;
        task_len[off] = (int)n;
        CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + off, n), QD_OK);
        off += n;
        /* a poll now and then, a blocking wait when many are uncollected
         * (submitting far ahead is the deadlock test's job, below) */
        if ((rand_r(&seed) % 4 == 0 || qdi_pool_pending(p) >= 12) &&
            qdi_pool_wait(p, qdi_pool_pending(p) >= 12 ? -1 : 0, &task) == QD_OK) {
            returned[task.jobs - jobs]++;
            CU_ASSERT_EQUAL(task.n, (size_t)task_len[task.jobs - jobs]);
            got++;
        }
    }
    CU_ASSERT_EQUAL(qdi_pool_pending(p), ntasks - got);
    while (qdi_pool_wait(p, -1, &task) == QD_OK) {
        CU_ASSERT_FATAL(task.jobs >= jobs && task.jobs < jobs + NJOBS);
        returned[task.jobs - jobs]++;
        CU_ASSERT_EQUAL(task.n, (size_t)task_len[task.jobs - jobs]);
        got++;
    }
    CU_ASSERT_EQUAL(got, ntasks);
    CU_ASSERT_EQUAL(qdi_pool_pending(p), 0);
    for (size_t i = 0; i < NJOBS; i++) {
        CU_ASSERT_EQUAL(runs[i], 1);
        CU_ASSERT_EQUAL(returned[i], task_len[i] ? 1 : 0);
        CU_ASSERT(worker[i] < NWORKERS);
    }
    qdi_pool_free(p);
    free(jobs);
    free(workers);
    free(runs);
    free(returned);
    free(task_len);
    free(sleep);
    free(worker);
}

/* ---- gated jobs ---------------------------------------------------------- */

/* Jobs that wait until the test opens the gate; started and finished count
 * the jobs that entered and left. */
typedef struct gate {
    pthread_mutex_t lock;
    pthread_cond_t cv;
    int open, started, finished;
} gate;

static void gate_init(gate *g)
{
    pthread_mutex_init(&g->lock, NULL);
    pthread_cond_init(&g->cv, NULL);
    g->open = g->started = g->finished = 0;
}

static void gate_destroy(gate *g)
{
    pthread_mutex_destroy(&g->lock);
    pthread_cond_destroy(&g->cv);
}

static void gate_run(void *ctx, qd_job *job, qd_worker *w)
{
    gate *g = ctx;
    (void)w;
    pthread_mutex_lock(&g->lock);
    g->started++;
    pthread_cond_broadcast(&g->cv);
    while (!g->open)
        pthread_cond_wait(&g->cv, &g->lock);
    g->finished++;
    pthread_mutex_unlock(&g->lock);
    job->status = QD_OK;
}

static void gate_open(gate *g)
{
    pthread_mutex_lock(&g->lock);
    g->open = 1;
    pthread_cond_broadcast(&g->cv);
    pthread_mutex_unlock(&g->lock);
}

static void gate_wait_started(gate *g, int n)
{
    pthread_mutex_lock(&g->lock);
    while (g->started < n)
        pthread_cond_wait(&g->cv, &g->lock);
    pthread_mutex_unlock(&g->lock);
}

static int gate_count(gate *g, const int *field)
{
    int v;
    pthread_mutex_lock(&g->lock);
    v = *field;
    pthread_mutex_unlock(&g->lock);
    return v;
}

static void test_wait_times_out_while_the_task_runs(void)
{
    qd_job jobs[1] = {{.id = 0}};
    qd_worker workers[1] = {{.id = 0}};
    gate g;
    qdi_pool *p;
    qdi_task task = {.jobs = jobs, .n = 7};
    gate_init(&g);
    CU_ASSERT_FATAL(qdi_pool_new(1, workers, 4, gate_run, &g, &p) == QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs, 1), QD_OK);
    gate_wait_started(&g, 1);
    double t0 = qdi_now();
    CU_ASSERT_EQUAL(qdi_pool_wait(p, 0.05, &task), QD_ETIMEOUT);
    CU_ASSERT(qdi_now() - t0 >= 0.049);
    CU_ASSERT_PTR_NULL(task.jobs);
    CU_ASSERT_EQUAL(task.n, 0);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, 0, &task), QD_ETIMEOUT); /* a poll */
    CU_ASSERT_EQUAL(qdi_pool_pending(p), 1);
    gate_open(&g);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, 10, &task), QD_OK);
    CU_ASSERT_PTR_EQUAL(task.jobs, jobs);
    CU_ASSERT_EQUAL(task.n, 1);
    qdi_pool_free(p);
    gate_destroy(&g);
}

static void test_wait_with_nothing_pending_is_not_found(void)
{
    qd_job jobs[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    qd_worker workers[2] = {{.id = 0}, {.id = 1}};
    int runs[3] = {0};
    unsigned worker[3];
    counts c = {runs, NULL, worker};
    qdi_pool *p;
    qdi_task task;
    CU_ASSERT_FATAL(qdi_pool_new(2, workers, 4, count_run, &c, &p) == QD_OK);
    double t0 = qdi_now();
    /* a fresh pool: at once, whatever the timeout */
    CU_ASSERT_EQUAL(qdi_pool_wait(p, -1, &task), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, 5, &task), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, 0, &task), QD_ENOTFOUND);
    CU_ASSERT(qdi_now() - t0 < 1);
    /* and again once everything is collected */
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs, 2), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + 2, 1), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, -1, &task), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, -1, &task), QD_OK);
    t0 = qdi_now();
    CU_ASSERT_EQUAL(qdi_pool_wait(p, -1, &task), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, 5, &task), QD_ENOTFOUND);
    CU_ASSERT(qdi_now() - t0 < 1);
    CU_ASSERT_EQUAL(qdi_pool_pending(p), 0);
    CU_ASSERT(runs[0] == 1 && runs[1] == 1 && runs[2] == 1);
    qdi_pool_free(p);
}

typedef struct submitter {
    qdi_pool *pool;
    qd_job *jobs;
    size_t ntasks;
    int rc;
    pthread_mutex_t lock;
    int returned;
} submitter;

static void *submit_all(void *arg)
{
    submitter *s = arg;
    int rc = QD_OK;
    for (size_t i = 0; i < s->ntasks && rc == QD_OK; i++)
        rc = qdi_pool_submit(s->pool, s->jobs + i, 1);
    pthread_mutex_lock(&s->lock);
    s->rc = rc;
    s->returned = 1;
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

static int submitter_returned(submitter *s)
{
    int v;
    pthread_mutex_lock(&s->lock);
    v = s->returned;
    pthread_mutex_unlock(&s->lock);
    return v;
}

static void test_submit_blocks_while_the_queue_is_full(void)
{
    qd_job jobs[4] = {{.id = 0}, {.id = 1}, {.id = 2}, {.id = 3}};
    qd_worker workers[1] = {{.id = 0}};
    gate g;
    qdi_pool *p;
    qdi_task task;
    pthread_t t;
    submitter s = {.ntasks = 1, .jobs = jobs + 3};
    gate_init(&g);
    pthread_mutex_init(&s.lock, NULL);
    CU_ASSERT_FATAL(qdi_pool_new(1, workers, 2, gate_run, &g, &p) == QD_OK);
    s.pool = p;
    /* one task running in the only worker, two more fill the queue */
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs, 1), QD_OK);
    gate_wait_started(&g, 1);
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + 1, 1), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + 2, 1), QD_OK);
    CU_ASSERT_FATAL(pthread_create(&t, NULL, submit_all, &s) == 0);
    sleep_us(50000);
    CU_ASSERT_EQUAL(submitter_returned(&s), 0); /* still blocked */
    CU_ASSERT_EQUAL(gate_count(&g, &g.started), 1);
    gate_open(&g);
    /* the worker takes the queued tasks, so the submit goes through
     * without anything being collected */
    if (join_within(t, 10) != 0) {
        CU_FAIL("submit still blocked 10 s after the queue drained: deadlock");
        return; /* the pool cannot be freed under a blocked submit */
    }
    CU_ASSERT_EQUAL(s.rc, QD_OK);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(qdi_pool_wait(p, -1, &task), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_wait(p, -1, &task), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(gate_count(&g, &g.finished), 4);
    qdi_pool_free(p);
    gate_destroy(&g);
    pthread_mutex_destroy(&s.lock);
}

/* One caller submits ten times what the queue holds before it collects
 * anything (an asynchronous loop may): each submit waits for a free slot
 * as workers finish, none waits for a collect. */
static void test_submit_beyond_the_queue_before_collecting_does_not_deadlock(void)
{
    enum { NTASKS = 40 };
    qd_job *jobs = new_jobs(NTASKS);
    qd_worker workers[2] = {{.id = 0}, {.id = 1}};
    int runs[NTASKS] = {0};
    long sleep[NTASKS];
    unsigned worker[NTASKS];
    counts c = {runs, sleep, worker};
    submitter s = {.ntasks = NTASKS, .jobs = jobs};
    qdi_pool *p;
    qdi_task task;
    size_t got = 0;
    for (int i = 0; i < NTASKS; i++)
        sleep[i] = 1000;
    pthread_mutex_init(&s.lock, NULL);
    CU_ASSERT_FATAL(qdi_pool_new(2, workers, 2, count_run, &c, &p) == QD_OK);
    s.pool = p;
    if (finishes_within(submit_all, &s, 10) != 0) {
        CU_FAIL("submit still blocked after 10 s: deadlock");
        return; /* the pool cannot be freed under a blocked submit */
    }
    CU_ASSERT_EQUAL(s.rc, QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_pending(p), NTASKS);
    while (qdi_pool_wait(p, -1, &task) == QD_OK)
        got++;
    CU_ASSERT_EQUAL(got, NTASKS);
    for (int i = 0; i < NTASKS; i++)
        CU_ASSERT_EQUAL(runs[i], 1);
    qdi_pool_free(p);
    free(jobs);
    pthread_mutex_destroy(&s.lock);
}

static void *free_pool(void *arg)
{
    qdi_pool_free(arg);
    return NULL;
}

static void *open_later(void *arg)
{
    sleep_us(50000);
    gate_open(arg);
    return NULL;
}

static void test_free_with_queued_tasks_returns(void)
{
    enum { NTASKS = 11 };
    qd_job *jobs = new_jobs(NTASKS);
    qd_worker workers[1] = {{.id = 0}};
    gate g;
    qdi_pool *p;
    pthread_t opener;
    gate_init(&g);
    CU_ASSERT_FATAL(qdi_pool_new(1, workers, 16, gate_run, &g, &p) == QD_OK);
    for (int i = 0; i < NTASKS; i++)
        CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + i, 1), QD_OK);
    gate_wait_started(&g, 1);
    /* free stops the worker after the job it holds; the gate opens 50 ms
     * later, while free waits for that job */
    CU_ASSERT_FATAL(pthread_create(&opener, NULL, open_later, &g) == 0);
    CU_ASSERT_EQUAL_FATAL(finishes_within(free_pool, p, 10), 0);
    pthread_join(opener, NULL);
    /* the queued tasks were dropped, not run (only a caller stalled for
     * the whole 50 ms before free set the stop would let some through) */
    CU_ASSERT(gate_count(&g, &g.finished) < NTASKS);
    CU_ASSERT_EQUAL(gate_count(&g, &g.finished), gate_count(&g, &g.started));
    gate_destroy(&g);
    free(jobs);
}

static void test_free_accepts_null_and_an_idle_pool(void)
{
    qd_worker workers[3] = {{.id = 0}, {.id = 1}, {.id = 2}};
    counts c = {0};
    qdi_pool *p;
    qdi_pool_free(NULL);
    CU_ASSERT_FATAL(qdi_pool_new(3, workers, 1, count_run, &c, &p) == QD_OK);
    qdi_pool_free(p);
}

static void test_new_refuses_no_workers_or_no_queue(void)
{
    qd_worker workers[1] = {{.id = 0}};
    qdi_pool *p = (qdi_pool *)workers;
    CU_ASSERT_EQUAL(qdi_pool_new(0, workers, 4, count_run, NULL, &p), QD_EINVAL);
    CU_ASSERT_PTR_NULL(p);
    CU_ASSERT_EQUAL(qdi_pool_new(1, workers, 0, count_run, NULL, &p), QD_EINVAL);
    CU_ASSERT_PTR_NULL(p);
}

/* ---- one worker or seven ------------------------------------------------- */

/* A pure function of the job: draws from the worker's RNG seeded by the job
 * id (as the search does), so the result cannot depend on the thread. */
static void pure_run(void *ctx, qd_job *job, qd_worker *w)
{
    double sum = 0;
    (void)ctx;
    qdi_rng_seed(w->rng, qdi_seed_mix(99, job->id));
    for (int k = 0; k < 1 + (int)(job->id % 50); k++)
        sum += gsl_rng_uniform(w->rng) * (double)(k + 1);
    job->sol.objective = sum;
    job->status = QD_OK;
}

static int run_pure(size_t nworkers, size_t chunk, qd_job *jobs, size_t n)
{
    qd_worker *workers = new_workers(nworkers);
    qdi_pool *p = NULL;
    qdi_task task;
    int rc = QD_ENOMEM;
    for (size_t i = 0; i < nworkers; i++)
        if (!(workers[i].rng = gsl_rng_alloc(gsl_rng_mt19937)))
            goto fail;
    if ((rc = qdi_pool_new(nworkers, workers, 2 * nworkers, pure_run, NULL, &p)) != QD_OK)
        goto fail;
    for (size_t off = 0; off < n && rc == QD_OK; off += chunk) {
        if (qdi_pool_pending(p) >= 2 * nworkers) /* collect as it goes */
            qdi_pool_wait(p, -1, &task);
        rc = qdi_pool_submit(p, jobs + off, off + chunk <= n ? chunk : n - off);
    }
    while (qdi_pool_wait(p, -1, &task) == QD_OK)
        ;
fail:
    qdi_pool_free(p);
    for (size_t i = 0; i < nworkers; i++)
        if (workers[i].rng)
            gsl_rng_free(workers[i].rng);
    free(workers);
    return rc;
}

static void test_one_and_seven_workers_give_the_same_results(void)
{
    enum { NJOBS = 2000 };
    qd_job *one = new_jobs(NJOBS), *seven = new_jobs(NJOBS), *seven_single = new_jobs(NJOBS);
    CU_ASSERT_EQUAL_FATAL(run_pure(1, 13, one, NJOBS), QD_OK);
    CU_ASSERT_EQUAL_FATAL(run_pure(7, 13, seven, NJOBS), QD_OK);
    CU_ASSERT_EQUAL_FATAL(run_pure(7, 1, seven_single, NJOBS), QD_OK);
    for (size_t i = 0; i < NJOBS; i++) {
        CU_ASSERT(one[i].sol.objective > 0);
        CU_ASSERT_EQUAL(memcmp(&one[i].sol.objective, &seven[i].sol.objective, sizeof(double)), 0);
        CU_ASSERT_EQUAL(memcmp(&one[i].sol.objective, &seven_single[i].sol.objective, sizeof(double)), 0);
    }
    free(one);
    free(seven);
    free(seven_single);
}

/* ---- the caller helping: wait_all, help, set_active ----------------------- */

static void test_wait_all_times_out_while_a_task_runs(void)
{
    qd_job jobs[2] = {{.id = 0}, {.id = 1}};
    qd_worker workers[1] = {{.id = 0}};
    gate g;
    qdi_pool *p;
    gate_init(&g);
    CU_ASSERT_FATAL(qdi_pool_new(1, workers, 4, gate_run, &g, &p) == QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 0), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs, 1), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + 1, 1), QD_OK);
    gate_wait_started(&g, 1);
    double t0 = qdi_now();
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 0.05), QD_ETIMEOUT);
    CU_ASSERT(qdi_now() - t0 >= 0.049);
    CU_ASSERT_EQUAL(qdi_pool_pending(p), 2); /* nothing collected */
    gate_open(&g);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 10), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_pending(p), 0);
    CU_ASSERT_EQUAL(gate_count(&g, &g.finished), 2);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, -1), QD_ENOTFOUND);
    qdi_pool_free(p);
    gate_destroy(&g);
}

/* Three threads of which one takes tasks, and the caller helping as worker
 * 99: every job runs once, by thread 0 or the caller, and one wait_all
 * collects every task; then with all three active again, without help. */
static void test_help_with_one_active_thread_runs_every_job_once(void)
{
    enum { NJOBS = 600, NWORKERS = 3, HELPER = 99 };
    qd_job *jobs = new_jobs(NJOBS);
    qd_worker *workers = new_workers(NWORKERS), helper = {.id = HELPER};
    int *runs = calloc(NJOBS, sizeof *runs);
    long *sleep = calloc(NJOBS, sizeof *sleep);
    unsigned *worker = calloc(NJOBS, sizeof *worker);
    counts c = {runs, sleep, worker};
    size_t by_helper = 0, by_zero = 0;
    qdi_pool *p;
    for (size_t i = 0; i < NJOBS; i++)
        sleep[i] = (long)(i % 7) * 20;
    CU_ASSERT_FATAL(qdi_pool_new(NWORKERS, workers, NJOBS, count_run, &c, &p) == QD_OK);
    qdi_pool_set_active(p, 1);
    for (size_t off = 0; off < NJOBS / 2; off += 10)
        CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + off, 10), QD_OK);
    CU_ASSERT(qdi_pool_help(p, &helper) <= NJOBS / 20);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 10), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_pending(p), 0);
    for (size_t i = 0; i < NJOBS / 2; i++) {
        CU_ASSERT_EQUAL(runs[i], 1);
        CU_ASSERT(worker[i] == 0 || worker[i] == HELPER);
        by_helper += worker[i] == HELPER;
        by_zero += worker[i] == 0;
    }
    CU_ASSERT_EQUAL(by_helper + by_zero, NJOBS / 2);
    qdi_pool_set_active(p, 100); /* more than there are: all */
    for (size_t off = NJOBS / 2; off < NJOBS; off += 10)
        CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + off, 10), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 10), QD_OK);
    for (size_t i = NJOBS / 2; i < NJOBS; i++) {
        CU_ASSERT_EQUAL(runs[i], 1);
        CU_ASSERT(worker[i] < NWORKERS);
    }
    qdi_pool_free(p);
    free(jobs);
    free(workers);
    free(runs);
    free(sleep);
    free(worker);
}

/* active 0: no thread takes a task, help runs them all; set_active then
 * wakes the sleeping threads for tasks queued while none was active. */
static void test_no_active_thread_leaves_the_tasks_to_help(void)
{
    enum { NJOBS = 40, NWORKERS = 2, HELPER = 7 };
    qd_job *jobs = new_jobs(NJOBS);
    qd_worker *workers = new_workers(NWORKERS), helper = {.id = HELPER};
    int *runs = calloc(NJOBS, sizeof *runs);
    unsigned *worker = calloc(NJOBS, sizeof *worker);
    counts c = {runs, NULL, worker};
    qdi_pool *p;
    CU_ASSERT_FATAL(qdi_pool_new(NWORKERS, workers, NJOBS, count_run, &c, &p) == QD_OK);
    qdi_pool_set_active(p, 0);
    for (size_t off = 0; off < NJOBS / 2; off += 4)
        CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + off, 4), QD_OK);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 0.05), QD_ETIMEOUT); /* no thread took one */
    CU_ASSERT_EQUAL(qdi_pool_help(p, &helper), NJOBS / 8);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 0), QD_OK);
    for (size_t i = 0; i < NJOBS / 2; i++) {
        CU_ASSERT_EQUAL(runs[i], 1);
        CU_ASSERT_EQUAL(worker[i], HELPER);
    }
    for (size_t off = NJOBS / 2; off < NJOBS; off += 4)
        CU_ASSERT_EQUAL(qdi_pool_submit(p, jobs + off, 4), QD_OK);
    qdi_pool_set_active(p, NWORKERS);
    CU_ASSERT_EQUAL(qdi_pool_wait_all(p, 10), QD_OK);
    for (size_t i = NJOBS / 2; i < NJOBS; i++) {
        CU_ASSERT_EQUAL(runs[i], 1);
        CU_ASSERT(worker[i] < NWORKERS);
    }
    qdi_pool_free(p);
    free(jobs);
    free(workers);
    free(runs);
    free(worker);
}

static const qdt_test tests[] = {
    {"every task comes back once", test_every_task_comes_back_once},
    {"wait times out while the task runs", test_wait_times_out_while_the_task_runs},
    {"wait with nothing pending is not found", test_wait_with_nothing_pending_is_not_found},
    {"submit blocks while the queue is full", test_submit_blocks_while_the_queue_is_full},
    {"submit beyond the queue before collecting does not deadlock",
     test_submit_beyond_the_queue_before_collecting_does_not_deadlock},
    {"free with queued tasks returns", test_free_with_queued_tasks_returns},
    {"free accepts NULL and an idle pool", test_free_accepts_null_and_an_idle_pool},
    {"new refuses no workers or no queue", test_new_refuses_no_workers_or_no_queue},
    {"one and seven workers give the same results", test_one_and_seven_workers_give_the_same_results},
    {"wait_all times out while a task runs", test_wait_all_times_out_while_a_task_runs},
    {"help with one active thread runs every job once", test_help_with_one_active_thread_runs_every_job_once},
    {"no active thread leaves the tasks to help", test_no_active_thread_leaves_the_tasks_to_help},
    {NULL, NULL},
};

QDT_MAIN("pool", tests)
