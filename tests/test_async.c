/* test_async.c - async mode, stopping and job_timeout in the search loop
 * (src/search.c, src/checkpoint.c, src/cli/run.c): an async run keeps its
 * counts consistent (asked = evaluated + failed, evaluated = new + improved
 * + not_added, one failure record per failed job, one metrics row per
 * iteration) and every elite is a solution the evaluator really returned,
 * with an any-n mutator, a whole-batch mutator (CMA-ES) and both at once;
 * the bandit scheduler is refused in async mode; a stop in batch mode gives
 * a hung job up after the grace period (the archive is as after the last
 * whole iteration, it saves, no checkpoint), a second stop gives it up at
 * once; a stop in async mode collects the jobs in flight, and one that
 * gives up every job before any came back interrupts the step; a job slower
 * than job_timeout fails with its own reason (batch and async); an async
 * run checkpointed while a CMA-ES batch is half back resumes to its end
 * with consistent counts; the CLI says a run is async, and on SIGINT with
 * nothing back (its LLM server never answers) saves and exits 130.
 *
 * The plug-ins are this file's own: "napper" (a bounded problem whose jobs
 * sleep 0 to 2 ms, fail above a threshold and can be made to hang),
 * "slowpoke" and "job_number" (jobs known by their number). The resume
 * test reads the search's internals (src/search_internal.h) to checkpoint
 * at a moment CMA-ES's batch is half back.
 *
 * Timing: the test evaluators sleep up to 2 ms, or 0.3 s for the job_timeout
 * test; every wait for a thread has a safety timeout of 60 s so a broken
 * search fails a test instead of hanging the suite. No assertion is about
 * speed beyond "a second stop returns in well under its 60 s grace". */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cliutil.h"
#include "src/search_internal.h"

/* ---- shared state of the test plug-ins ---------------------------------- */

#define SAFETY_SECONDS 60

/* What the evaluators saw, under one lock (workers write, the test reads
 * after the run). A test resets it with reset_seen() before it builds its
 * search. */
static struct {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    double *seen;     /* genomes of successful evaluations, dim each */
    size_t nseen, capseen, dim;
    int hang_armed;   /* the next job evaluated hangs until released */
    int hanging;      /* a job is hanging now */
    int released;     /* let the hanging job return */
    unsigned long jobs, slow_jobs, bad_deadlines;
} g = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0, 0, 0, 0, 0, 0};

static void reset_seen(void)
{
    pthread_mutex_lock(&g.lock);
    free(g.seen);
    g.seen = NULL;
    g.nseen = g.capseen = g.dim = 0;
    g.hang_armed = g.hanging = g.released = 0;
    g.jobs = g.slow_jobs = g.bad_deadlines = 0;
    pthread_mutex_unlock(&g.lock);
}

/* An absolute CLOCK_REALTIME time secs from now, for timed waits. */
static struct timespec realtime_in(double secs)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    t.tv_sec += (time_t)secs;
    return t;
}

/* ---- "napper": a bounded problem whose jobs take 0 to 2 ms ---------------- */

/* Genome in [-1, 1]^dim, objective 10 - |x|^2, measures (x[0], x[1]). A job
 * sleeps a time derived from its genome (0 to 2 ms) and fails when x[0] >
 * fail_above. Every successful genome is recorded; a job started while the
 * test has armed the hang blocks until the test releases it. */
typedef struct napper {
    double fail_above;
} napper;

static double napper_objective(const double *x, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += x[i] * x[i];
    return 10.0 - s;
}

static int napper_init(qd_evaluator *ev, qd_config *cfg)
{
    napper *np = ev->state;
    long dim = 4;
    np->fail_above = 0.8;
    if (qd_config_int(cfg, "dim", &dim, ">= 2") || qd_config_number(cfg, "fail_above", &np->fail_above, NULL))
        return QD_EINVAL;
    return qdt_space(&ev->space, (size_t)dim, -1, 1, -1, 1, 0, 10);
}

/* Blocks while the hang is armed for this job (it takes the arming). */
static void maybe_hang(void)
{
    pthread_mutex_lock(&g.lock);
    if (g.hang_armed) {
        struct timespec until = realtime_in(SAFETY_SECONDS);
        g.hang_armed = 0;
        g.hanging = 1;
        pthread_cond_broadcast(&g.cond);
        while (!g.released)
            if (pthread_cond_timedwait(&g.cond, &g.lock, &until) == ETIMEDOUT)
                break; /* never released: the test has failed; return anyway */
        g.hanging = 0;
    }
    pthread_mutex_unlock(&g.lock);
}

static int record_seen(const double *x, size_t n)
{
    int rc = QD_OK;
    pthread_mutex_lock(&g.lock);
    if (g.nseen == g.capseen) {
        size_t cap = g.capseen ? 2 * g.capseen : 256;
        double *v = realloc(g.seen, cap * n * sizeof *v);
        if (v) {
            g.seen = v;
            g.capseen = cap;
        }
    }
    if (g.nseen < g.capseen) {
        memcpy(g.seen + g.nseen * n, x, n * sizeof *x);
        g.nseen++;
        g.dim = n;
    } else {
        rc = QD_ENOMEM;
    }
    pthread_mutex_unlock(&g.lock);
    return rc;
}

static int napper_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const napper *np = ev->state;
    unsigned us = (unsigned)fmod(fabs(sol->x[1]) * 1e6, 2001.0);
    maybe_hang();
    usleep(us);
    if (sol->x[0] > np->fail_above)
        return qd_worker_fail(w, "napper: x[0] is above %g", np->fail_above);
    sol->objective = napper_objective(sol->x, sol->n);
    sol->measures[0] = sol->x[0];
    sol->measures[1] = sol->x[1];
    if (record_seen(sol->x, sol->n) != QD_OK)
        return qd_worker_fail(w, "napper: out of memory");
    return QD_OK;
}

static const qd_evaluator_type napper_type = {
    .name = "napper",
    .state_size = sizeof(napper),
    .init = napper_init,
    .evaluate = napper_evaluate,
};

/* ---- "slowpoke" and "job_number": jobs known by their number ------------- */

/* job_number sets x[0] = the job number (other genes 0); slowpoke sleeps
 * 0.3 s on jobs whose number is 2 mod 5 and returns at once on the others,
 * checking on each that the worker carries a deadline no later than
 * job_timeout (0.05 s) from now. */
static int slowpoke_init(qd_evaluator *ev, qd_config *cfg)
{
    (void)cfg;
    return qdt_space(&ev->space, 2, NAN, NAN, 0, 10, 0, 1);
}

static int slow_job(long k)
{
    return k % 5 == 2;
}

static int slowpoke_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    long k = lround(sol->x[0]);
    double now = qdi_now();
    (void)ev;
    pthread_mutex_lock(&g.lock);
    g.jobs++;
    /* run_job sets the deadline from a clock read before this one */
    if (!(w->deadline > 0 && w->deadline <= now + 0.05))
        g.bad_deadlines++;
    g.slow_jobs += slow_job(k);
    pthread_mutex_unlock(&g.lock);
    if (slow_job(k))
        usleep(300000);
    sol->objective = 1;
    sol->measures[0] = (double)(k % 10);
    sol->measures[1] = 0;
    return QD_OK;
}

static const qd_evaluator_type slowpoke_type = {
    .name = "slowpoke",
    .init = slowpoke_init,
    .evaluate = slowpoke_evaluate,
};

static int job_number_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    long batch = 10;
    (void)space;
    if (qd_config_int(cfg, "batch", &batch, ">= 1"))
        return QD_EINVAL;
    m->batch = (size_t)batch;
    return QD_OK;
}

static int job_number_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    (void)m;
    (void)a;
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < jobs[j].sol.n; i++)
            jobs[j].sol.x[i] = 0;
        jobs[j].sol.x[0] = (double)jobs[j].id;
    }
    return QD_OK;
}

static const qd_mutator_type job_number_type = {
    .name = "job_number",
    .flags = QD_MUTATOR_ANY_N,
    .init = job_number_init,
    .ask = job_number_ask,
};

static void register_test_types(void)
{
    static int done;
    if (!done) {
        CU_ASSERT_EQUAL(qd_register_evaluator(&napper_type), QD_OK);
        CU_ASSERT_EQUAL(qd_register_evaluator(&slowpoke_type), QD_OK);
        CU_ASSERT_EQUAL(qd_register_mutator(&job_number_type), QD_OK);
        done = 1;
    }
}

/* ---- helpers ------------------------------------------------------------ */

/* napper over a 10x10 grid; %s: extra top-level fields, then the mutators. */
#define NAPPER_CONFIG                                                                                          \
    "{\"seed\": 7, %s"                                                                                         \
    "\"evaluator\": {\"type\": \"napper\", \"dim\": 4, \"fail_above\": 0.5},"                                  \
    "\"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"                                               \
    "\"mutators\": [%s]}"

#define GAUSSIAN "{\"type\": \"gaussian\", \"sigma\": 0.3, \"batch\": 16, \"clip\": true}"
#define CMAES "{\"type\": \"cmaes\", \"sigma0\": 0.5, \"batch\": 8, \"clip\": true}"

static qd_search *build(const char *json, qd_config **cfg)
{
    qd_search *s = NULL;
    *cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*cfg);
    if (qd_search_new(*cfg, &s) != QD_OK) {
        fprintf(stderr, "\n  qd_search_new: %s\n", qd_config_error(*cfg));
        CU_FAIL_FATAL("qd_search_new failed");
    }
    return s;
}

/* Steps until done; 0 when every step returned QD_OK. */
static int run_to_end(qd_search *s)
{
    while (!qd_search_done(s)) {
        int rc = qd_search_step(s);
        if (rc != QD_OK) {
            fprintf(stderr, "\n  qd_search_step: %s (%s)\n", qd_strerror(rc), qd_search_error(s));
            return -1;
        }
    }
    return 0;
}

static char *slurp_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return qdt_slurp(path);
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Sum of the counts of every failure kind. */
static uint64_t failure_records(const qd_search *s)
{
    uint64_t sum = 0, n;
    for (size_t i = 0; i < qd_search_failure_kinds(s); i++)
        if (qd_search_failure_kind(s, i, &n))
            sum += n;
    return sum;
}

/* Nonzero if x (dim numbers) is among the genomes the evaluator returned. */
static int was_evaluated(const double *x, size_t dim)
{
    int found = 0;
    pthread_mutex_lock(&g.lock);
    for (size_t i = 0; i < g.nseen && !found; i++)
        found = g.dim == dim && memcmp(g.seen + i * dim, x, dim * sizeof *x) == 0;
    pthread_mutex_unlock(&g.lock);
    return found;
}

/* The counts of a finished (or fully collected) run agree with each other,
 * with the archive and with what was saved into dir. */
static void check_consistent(qd_search *s, const char *dir)
{
    const qd_counts *c = qd_search_counts(s);
    const qd_archive *a = qd_search_result_archive(s);
    CU_ASSERT_EQUAL(c->asked, c->evaluated + c->failed);
    CU_ASSERT_EQUAL(c->evaluated, c->new_cells + c->improved + c->not_added);
    CU_ASSERT_EQUAL(failure_records(s), c->failed);
    CU_ASSERT_EQUAL(qd_archive_filled(a), c->new_cells);
    CU_ASSERT_PTR_NOT_NULL_FATAL(qd_search_last_metrics(s));
    CU_ASSERT_EQUAL(qd_search_last_metrics(s)->iteration, c->iterations);
    CU_ASSERT_EQUAL(qd_search_last_metrics(s)->evaluations, c->evaluated);
    CU_ASSERT_EQUAL(qd_search_last_metrics(s)->failed, c->failed);
    CU_ASSERT_EQUAL_FATAL(qd_search_save(s, dir), QD_OK);
    char *metrics = slurp_in(dir, "metrics.csv"), *failures = slurp_in(dir, "failures.jsonl");
    CU_ASSERT_EQUAL(count_lines(metrics), c->iterations + 1); /* header + one row per iteration */
    CU_ASSERT_EQUAL(count_lines(failures), c->failed);
    free(metrics);
    free(failures);
}

/* Every elite is a genome the evaluator returned, with its objective and
 * measures. */
static void check_elites_were_evaluated(const qd_search *s)
{
    const qd_archive *a = qd_search_result_archive(s);
    size_t bad = 0;
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite e;
        CU_ASSERT_EQUAL_FATAL(qd_archive_elite_at(a, i, &e), QD_OK);
        if (!was_evaluated(e.x, e.n) || e.objective != napper_objective(e.x, e.n) || e.measures[0] != e.x[0] ||
            e.measures[1] != e.x[1])
            bad++;
    }
    CU_ASSERT_EQUAL(bad, 0);
}

/* The checkpoint's counts agree: every job it counts as asked came back
 * (some_asked: and there were some). */
static void check_checkpoint_counts(const char *dir, int some_asked)
{
    char *text = slurp_in(dir, "checkpoint/state.json");
    cJSON *st = text ? cJSON_Parse(text) : NULL;
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(st, "counts");
    double asked = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "asked"));
    double evaluated = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "evaluated"));
    double failed = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "failed"));
    CU_ASSERT_PTR_NOT_NULL(c);
    CU_ASSERT(some_asked ? asked > 0 : asked == 0);
    CU_ASSERT_EQUAL(asked, evaluated + failed);
    cJSON_Delete(st);
    free(text);
}

/* ---- async runs --------------------------------------------------------- */

static void run_async_and_check(const char *label, const char *mutators, uint64_t iterations)
{
    char json[2048], top[256];
    qd_config *cfg;
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    reset_seen();
    snprintf(top, sizeof top, "\"iterations\": %llu, \"mode\": \"async\", \"inflight\": 6, \"workers\": 2,",
             (unsigned long long)iterations);
    snprintf(json, sizeof json, NAPPER_CONFIG, top, mutators);
    qd_search *s = build(json, &cfg);
    CU_ASSERT(qd_search_async(s));
    CU_ASSERT_EQUAL(run_to_end(s), 0);
    const qd_counts *c = qd_search_counts(s);
    printf("\n    %s: %llu asked, %llu evaluated, %llu failed, %zu elites ", label, (unsigned long long)c->asked,
           (unsigned long long)c->evaluated, (unsigned long long)c->failed,
           qd_archive_filled(qd_search_result_archive(s)));
    CU_ASSERT_EQUAL(c->iterations, iterations);
    CU_ASSERT(c->failed > 0); /* x[0] > 0.5 happens */
    CU_ASSERT(c->evaluated > 0);
    CU_ASSERT(c->new_cells > 10);
    CU_ASSERT_FALSE(qd_search_abandoned(s));
    check_consistent(s, dir);
    check_elites_were_evaluated(s);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_async_counts_agree_with_gaussian(void)
{
    register_test_types();
    run_async_and_check("gaussian", GAUSSIAN, 15);
}

static void test_async_counts_agree_with_cmaes(void)
{
    register_test_types();
    run_async_and_check("cmaes", CMAES, 20);
}

static void test_async_counts_agree_with_two_mutators(void)
{
    register_test_types();
    run_async_and_check("gaussian + cmaes", GAUSSIAN "," CMAES, 12);
}

static void test_async_refuses_bandit_scheduler(void)
{
    char json[2048];
    qd_config *cfg;
    qd_search *s = NULL;
    register_test_types();
    snprintf(json, sizeof json, NAPPER_CONFIG,
             "\"iterations\": 2, \"mode\": \"async\", \"scheduler\": {\"type\": \"bandit\", \"active\": 1},",
             GAUSSIAN "," CMAES);
    cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(qd_search_new(cfg, &s), QD_EINVAL);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_STRING_EQUAL(qd_config_error(cfg),
                           "test.json: scheduler type \"bandit\" needs mode \"batch\" (async mode asks every mutator)");
    qd_config_free(cfg);
}

/* ---- stopping ----------------------------------------------------------- */

/* A thread that waits for the armed job to hang, then stops the search
 * `stops` times and notes when. */
typedef struct stopper {
    qd_search *s;
    int stops;
    int saw_hang;
    double stopped_at;
    pthread_t thread;
} stopper;

static void *stopper_main(void *arg)
{
    stopper *st = arg;
    struct timespec until = realtime_in(SAFETY_SECONDS);
    pthread_mutex_lock(&g.lock);
    while (!g.hanging)
        if (pthread_cond_timedwait(&g.cond, &g.lock, &until) == ETIMEDOUT)
            break;
    st->saw_hang = g.hanging;
    pthread_mutex_unlock(&g.lock);
    st->stopped_at = qdi_now();
    for (int i = 0; i < st->stops; i++)
        qd_search_stop(st->s);
    return NULL;
}

static void arm_hang(void)
{
    pthread_mutex_lock(&g.lock);
    g.hang_armed = 1;
    g.released = 0;
    pthread_mutex_unlock(&g.lock);
}

static void release_hang(void)
{
    pthread_mutex_lock(&g.lock);
    g.released = 1;
    pthread_cond_broadcast(&g.cond);
    pthread_mutex_unlock(&g.lock);
}

/* A batch run whose first job of iteration 4 hangs is stopped from another
 * thread (stops times) while the loop waits for it; returns the search
 * after the step that was interrupted (the hang still holds a worker) and
 * the seconds from the stop to the step's return in *secs. */
static qd_search *stop_during_hang(const char *grace, int stops, qd_config **cfg, int *rc, double *secs)
{
    char json[2048], top[256];
    stopper st = {0};
    reset_seen();
    snprintf(top, sizeof top, "\"iterations\": 10, \"workers\": 2, \"grace\": %s,", grace);
    snprintf(json, sizeof json, NAPPER_CONFIG, top, GAUSSIAN);
    qd_search *s = build(json, cfg);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
    arm_hang();
    st.s = s;
    st.stops = stops;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&st.thread, NULL, stopper_main, &st), 0);
    *rc = qd_search_step(s);
    double returned = qdi_now();
    pthread_join(st.thread, NULL);
    *secs = returned - st.stopped_at;
    CU_ASSERT(st.saw_hang);
    return s;
}

static void test_batch_stop_gives_up_hung_job_after_grace(void)
{
    char json[2048], top[256];
    qd_config *cfg, *ref_cfg;
    int rc;
    double secs;
    char *dir = qdt_tmpdir(), *ref_dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ref_dir);
    register_test_types();
    qd_search *s = stop_during_hang("0.2", 1, &cfg, &rc, &secs);
    CU_ASSERT_EQUAL(rc, QD_EINTR);
    CU_ASSERT(qd_search_abandoned(s));
    CU_ASSERT(qd_search_done(s));
    CU_ASSERT_STRING_EQUAL(qd_search_error(s), "stopped: gave up the 16 jobs of iteration 4 still running");
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 3);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated + qd_search_counts(s)->failed, 3 * 16);
    /* nothing more happens */
    CU_ASSERT_EQUAL(qd_search_step(s), QD_OK);
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 3);
    /* the search saves, and what it saves is the archive of 3 whole iterations */
    CU_ASSERT_EQUAL(qd_search_save(s, dir), QD_OK);
    snprintf(top, sizeof top, "\"iterations\": 3, \"workers\": 2,");
    snprintf(json, sizeof json, NAPPER_CONFIG, top, GAUSSIAN);
    qd_search *ref = build(json, &ref_cfg);
    CU_ASSERT_EQUAL(run_to_end(ref), 0);
    CU_ASSERT_EQUAL(qd_search_save(ref, ref_dir), QD_OK);
    char *got = slurp_in(dir, "archive.csv"), *want = slurp_in(ref_dir, "archive.csv");
    char *metrics = slurp_in(dir, "metrics.csv");
    CU_ASSERT_PTR_NOT_NULL(got);
    CU_ASSERT(got && want && strcmp(got, want) == 0);
    CU_ASSERT(count_lines(want) > 5);
    CU_ASSERT_EQUAL(count_lines(metrics), 3 + 1);
    free(got);
    free(want);
    free(metrics);
    /* no checkpoint of a torn iteration */
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, dir), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(qd_search_error(s),
                           "no checkpoint after an iteration given up half way (the last one stays)");
    /* free joins the worker once the hung job returns */
    release_hang();
    qd_search_free(s);
    qd_search_free(ref);
    qd_config_free(cfg);
    qd_config_free(ref_cfg);
    qdt_rmdir(dir);
    qdt_rmdir(ref_dir);
    free(dir);
    free(ref_dir);
}

static void test_second_stop_gives_up_at_once(void)
{
    qd_config *cfg;
    int rc;
    double secs;
    register_test_types();
    qd_search *s = stop_during_hang("60", 2, &cfg, &rc, &secs);
    printf("\n    the step returned %.2f s after the stops ", secs);
    CU_ASSERT_EQUAL(rc, QD_EINTR);
    CU_ASSERT(secs < 30); /* the grace is 60 s */
    CU_ASSERT(qd_search_abandoned(s));
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 3);
    release_hang();
    qd_search_free(s);
    qd_config_free(cfg);
}

static void test_async_stop_collects_jobs_in_flight(void)
{
    char json[2048];
    qd_config *cfg;
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    register_test_types();
    reset_seen();
    snprintf(json, sizeof json, NAPPER_CONFIG,
             "\"iterations\": 50, \"mode\": \"async\", \"inflight\": 6, \"workers\": 2, \"grace\": 30,",
             GAUSSIAN "," CMAES);
    qd_search *s = build(json, &cfg);
    const qd_counts *c = qd_search_counts(s);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
    /* between async steps jobs are in flight */
    CU_ASSERT(c->asked > c->evaluated + c->failed);
    qd_search_stop(s);
    CU_ASSERT_FALSE(qd_search_done(s)); /* not before the jobs in flight are in */
    CU_ASSERT_EQUAL(run_to_end(s), 0);
    CU_ASSERT(qd_search_done(s));
    CU_ASSERT_FALSE(qd_search_abandoned(s));
    CU_ASSERT_EQUAL(c->iterations, 4); /* the jobs in flight make a short 4th */
    check_consistent(s, dir);
    check_elites_were_evaluated(s);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, dir), QD_OK);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

/* An async run whose only worker hangs on its first job, stopped twice:
 * nothing came back, so the step is interrupted and records no iteration;
 * what is done (nothing) still saves and checkpoints. */
static void test_async_stop_before_any_job_lands_interrupts_the_step(void)
{
    char json[2048];
    qd_config *cfg;
    stopper st = {0};
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    register_test_types();
    reset_seen();
    snprintf(json, sizeof json, NAPPER_CONFIG,
             "\"iterations\": 5, \"mode\": \"async\", \"inflight\": 4, \"workers\": 1, \"grace\": 60,", GAUSSIAN);
    qd_search *s = build(json, &cfg);
    arm_hang();
    st.s = s;
    st.stops = 2;
    CU_ASSERT_EQUAL_FATAL(pthread_create(&st.thread, NULL, stopper_main, &st), 0);
    int rc = qd_search_step(s);
    pthread_join(st.thread, NULL);
    CU_ASSERT(st.saw_hang);
    CU_ASSERT_EQUAL(rc, QD_EINTR);
    CU_ASSERT_STRING_EQUAL(qd_search_error(s), "stopped: gave up the 4 jobs in flight before any came back");
    CU_ASSERT(qd_search_abandoned(s));
    CU_ASSERT(qd_search_done(s));
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 0);
    CU_ASSERT_EQUAL(qd_search_counts(s)->asked, 4);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated + qd_search_counts(s)->failed, 0);
    CU_ASSERT_PTR_NULL(qd_search_last_metrics(s));
    CU_ASSERT_EQUAL(qd_search_save(s, dir), QD_OK);
    /* async keeps no half iteration: the checkpoint leaves the 4 out */
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, dir), QD_OK);
    check_checkpoint_counts(dir, 0);
    release_hang();
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

/* ---- job_timeout -------------------------------------------------------- */

static void run_with_job_timeout(const char *mode)
{
    char json[1024];
    qd_config *cfg;
    uint64_t count;
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    register_test_types();
    reset_seen();
    snprintf(json, sizeof json,
             "{\"seed\": 3, \"iterations\": 2, \"workers\": 2, \"mode\": \"%s\", \"job_timeout\": 0.05,"
             "\"evaluator\": {\"type\": \"slowpoke\"},"
             "\"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 1}]},"
             "\"mutators\": [{\"type\": \"job_number\", \"batch\": 10}]}",
             mode);
    qd_search *s = build(json, &cfg);
    CU_ASSERT_EQUAL(run_to_end(s), 0);
    const qd_counts *c = qd_search_counts(s);
    CU_ASSERT_EQUAL(c->iterations, 2);
    CU_ASSERT_EQUAL(g.jobs, 20);
    CU_ASSERT_EQUAL(g.slow_jobs, 4); /* jobs 2, 7, 12, 17 */
    CU_ASSERT_EQUAL(g.bad_deadlines, 0);
    CU_ASSERT_EQUAL(c->failed, 4);
    CU_ASSERT_EQUAL(c->evaluated, 16);
    CU_ASSERT_EQUAL_FATAL(qd_search_failure_kinds(s), 1);
    CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 0, &count),
                           "timed out: the job took longer than job_timeout (0.05 s)");
    CU_ASSERT_EQUAL(count, 4);
    /* the failed jobs are the slow ones */
    CU_ASSERT_EQUAL_FATAL(qd_search_save(s, dir), QD_OK);
    char *text = slurp_in(dir, "failures.jsonl"), *line = text, *nl;
    unsigned seen_slow = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    for (; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        cJSON *row = cJSON_Parse(line);
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(row, "job");
        CU_ASSERT_FATAL(cJSON_IsNumber(job));
        CU_ASSERT(slow_job((long)job->valuedouble));
        seen_slow |= 1u << (unsigned)job->valuedouble;
        cJSON_Delete(row);
    }
    CU_ASSERT_EQUAL(seen_slow, (1u << 2) | (1u << 7) | (1u << 12) | (1u << 17));
    free(text);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_job_over_timeout_fails_with_reason_in_batch_mode(void)
{
    run_with_job_timeout("batch");
}

static void test_job_over_timeout_fails_with_reason_in_async_mode(void)
{
    run_with_job_timeout("async");
}

/* ---- checkpoint and resume ---------------------------------------------- */

/* Jobs of a whole-batch mutator that are back while the rest of their batch
 * still runs (slots neither free nor running: reads the search's
 * internals). */
static size_t jobs_back_untold(const qd_search *s)
{
    size_t busy = 0;
    for (size_t j = 0; j < s->njobs; j++)
        busy += s->slot[j] != 0; /* 0: a free slot */
    return busy - s->running;
}

static void test_async_run_resumes_from_checkpoint_to_its_end(void)
{
    char json[2048], note[1024];
    qd_config *cfg, *cfg2;
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    register_test_types();
    reset_seen();
    snprintf(json, sizeof json, NAPPER_CONFIG,
             "\"iterations\": 8, \"mode\": \"async\", \"inflight\": 6, \"workers\": 2,", GAUSSIAN "," CMAES);
    qd_search *s = build(json, &cfg);
    /* stop when CMA-ES's batch is partly back (those jobs are in the
     * archive, the rest still run), as is likely at a step's end */
    size_t held = 0;
    do {
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
        held = jobs_back_untold(s);
    } while (held == 0 && qd_search_counts(s)->iterations < 6);
    printf("\n    checkpoint at iteration %llu: %zu jobs back, not told; %llu still running ",
           (unsigned long long)qd_search_counts(s)->iterations, held,
           (unsigned long long)(qd_search_counts(s)->asked - qd_search_counts(s)->evaluated -
                                qd_search_counts(s)->failed));
    uint64_t iterations = qd_search_counts(s)->iterations;
    CU_ASSERT_EQUAL_FATAL(qd_search_checkpoint(s, dir), QD_OK);
    qd_search_free(s); /* with jobs in flight: they are not in the checkpoint */
    qd_config_free(cfg);
    check_checkpoint_counts(dir, 1);

    s = build(json, &cfg2);
    if (qd_search_resume(s, dir, note, sizeof note) != QD_OK) {
        fprintf(stderr, "\n  resume: %s\n", qd_search_error(s));
        CU_FAIL_FATAL("qd_search_resume failed");
    }
    CU_ASSERT_STRING_EQUAL(note, "");
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, iterations);
    CU_ASSERT_EQUAL(run_to_end(s), 0);
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 8);
    check_consistent(s, dir);
    qd_search_free(s);
    qd_config_free(cfg2);
    qdt_rmdir(dir);
    free(dir);
}

/* ---- the CLI ------------------------------------------------------------ */

/* The first line of a text, cut in place. */
static char *first_line(char *text)
{
    char *nl = text ? strchr(text, '\n') : NULL;
    if (nl)
        *nl = '\0';
    return text;
}

static void test_cli_says_a_run_is_async(void)
{
    static const char *const modes[] = {"async", "batch"};
    char *tmp = qdt_tmpdir(), config[1024], out[1024], err[256], json[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    snprintf(config, sizeof config, "%s/config.json", tmp);
    snprintf(out, sizeof out, "%s/run", tmp);
    for (size_t i = 0; i < 2; i++) {
        char *text = NULL, *errors = NULL;
        const char *args[] = {"run", config, "-o", out, NULL};
        snprintf(json, sizeof json,
                 "{\"seed\": 1, \"iterations\": 3, \"mode\": \"%s\", \"workers\": 2,"
                 "\"evaluator\": {\"type\": \"sphere\", \"dim\": 4},"
                 "\"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"
                 "\"mutators\": [{\"type\": \"gaussian\", \"batch\": 20}]}",
                 modes[i]);
        CU_ASSERT_EQUAL_FATAL(qdi_write_file_atomic(config, json, strlen(json), err, sizeof err), QD_OK);
        CU_ASSERT_EQUAL(qdt_wait_cli(qdt_start_cli(tmp, args), tmp, &text, &errors), 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        first_line(text);
        CU_ASSERT(strncmp(text, "elites ", 7) == 0);
        if (i == 0) {
            CU_ASSERT_PTR_NOT_NULL(strstr(text, ", 3 iterations, async (not bit-reproducible) -> "));
        } else {
            CU_ASSERT_PTR_NULL(strstr(text, ", async"));
        }
        free(text);
        free(errors);
    }
    qdt_rmdir(tmp);
    free(tmp);
}

/* An LLM server that hangs: a thread accepts connections on 127.0.0.1 (a
 * port the OS picks) and never answers; the test waits for the first. */
typedef struct silent_server {
    int fd, port, stop;
    int conns[64];
    size_t nconns;
    pthread_t thread;
} silent_server;

static void *silent_main(void *arg)
{
    silent_server *sv = arg;
    while (!__atomic_load_n(&sv->stop, __ATOMIC_SEQ_CST)) {
        struct pollfd p = {.fd = sv->fd, .events = POLLIN};
        if (poll(&p, 1, 50) <= 0)
            continue;
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            continue;
        pthread_mutex_lock(&g.lock);
        if (sv->nconns < 64)
            sv->conns[sv->nconns++] = c;
        else
            close(c);
        pthread_cond_broadcast(&g.cond);
        pthread_mutex_unlock(&g.lock);
    }
    return NULL;
}

static int silent_start(silent_server *sv)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    memset(sv, 0, sizeof *sv);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((sv->fd = socket(AF_INET, SOCK_STREAM, 0)) < 0 || bind(sv->fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(sv->fd, 16) != 0 || getsockname(sv->fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    sv->port = ntohs(a.sin_port);
    return pthread_create(&sv->thread, NULL, silent_main, sv) == 0 ? 0 : -1;
}

/* Waits (at most SAFETY_SECONDS) until a client has connected. */
static int silent_wait(silent_server *sv)
{
    struct timespec until = realtime_in(SAFETY_SECONDS);
    int got;
    pthread_mutex_lock(&g.lock);
    while (sv->nconns == 0)
        if (pthread_cond_timedwait(&g.cond, &g.lock, &until) == ETIMEDOUT)
            break;
    got = sv->nconns > 0;
    pthread_mutex_unlock(&g.lock);
    return got;
}

static void silent_stop(silent_server *sv)
{
    __atomic_store_n(&sv->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(sv->thread, NULL);
    for (size_t i = 0; i < sv->nconns; i++)
        close(sv->conns[i]);
    close(sv->fd);
}

/* `elites run` in async mode whose only job waits on an LLM server that
 * never answers: SIGINT, the grace runs out with nothing back, and the
 * program saves what is done (no iteration) and exits 130. */
static void test_cli_sigint_with_nothing_back_saves_and_exits_130(void)
{
    char *tmp = qdt_tmpdir(), config[1024], out[1024], url[128], path[1100];
    silent_server sv;
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    CU_ASSERT_EQUAL_FATAL(silent_start(&sv), 0);
    snprintf(config, sizeof config, "%s/examples/qdaif-opinions.json", qdt_srcdir());
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(url, sizeof url, "llm.url=http://127.0.0.1:%d", sv.port);
    const char *args[] = {"run", config, "--iterations", "2", "--set", url, "--set", "llm.model=test",
                          "--set", "llm.timeout=120", "--set", "mode=async", "--set", "workers=1",
                          "--set", "grace=0.3", "--set", "llm.probe=false", "-o", out, NULL};
    pid_t pid = qdt_start_cli(tmp, args);
    char *text = NULL, *errors = NULL;
    int connected = silent_wait(&sv);
    CU_ASSERT(connected);
    kill(pid, SIGINT);
    int status = qdt_wait_cli(pid, tmp, &text, &errors);
    silent_stop(&sv);
    if (status != 130)
        fprintf(stderr, "\n  stderr: %s\n", errors ? errors : "(none)");
    CU_ASSERT_EQUAL(status, 130);
    CU_ASSERT_PTR_NOT_NULL(strstr(first_line(text), ", async (not bit-reproducible) -> "));
    CU_ASSERT_PTR_NOT_NULL(errors && strstr(errors, "elites run: interrupted after iteration 0; saved the archive"));
    snprintf(path, sizeof path, "%s/archive.json", out);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    snprintf(path, sizeof path, "%s/checkpoint/state.json", out);
    CU_ASSERT_EQUAL(access(path, F_OK), 0);
    free(text);
    free(errors);
    qdt_rmdir(tmp);
    free(tmp);
}

static const qdt_test tests[] = {
    {"async counts agree with gaussian", test_async_counts_agree_with_gaussian},
    {"async counts agree with cmaes", test_async_counts_agree_with_cmaes},
    {"async counts agree with two mutators", test_async_counts_agree_with_two_mutators},
    {"async refuses bandit scheduler", test_async_refuses_bandit_scheduler},
    {"batch stop gives up hung job after grace", test_batch_stop_gives_up_hung_job_after_grace},
    {"second stop gives up at once", test_second_stop_gives_up_at_once},
    {"async stop collects jobs in flight", test_async_stop_collects_jobs_in_flight},
    {"async stop before any job lands interrupts the step", test_async_stop_before_any_job_lands_interrupts_the_step},
    {"job over timeout fails with reason in batch mode", test_job_over_timeout_fails_with_reason_in_batch_mode},
    {"job over timeout fails with reason in async mode", test_job_over_timeout_fails_with_reason_in_async_mode},
    {"async run resumes from checkpoint to its end", test_async_run_resumes_from_checkpoint_to_its_end},
    {"CLI says a run is async", test_cli_says_a_run_is_async},
    {"CLI SIGINT with nothing back saves and exits 130", test_cli_sigint_with_nothing_back_saves_and_exits_130},
    {NULL, NULL},
};

int main(void)
{
    int rc = qdt_run("async", tests);
    reset_seen(); /* frees what the evaluators recorded */
    return rc;
}
