/* bench_pool.c - the worker pool's overhead and scaling (src/pool.c, through
 * the internal qdi_pool_* API), and a whole search's rate at 1 and 2 workers.
 *
 * Jobs that do nothing measure the pool's own cost per job; jobs that sleep
 * 10 ms and 100 ms (standing in for an LLM or simulator call) measure how
 * close w workers get to the ideal rate w / latency. Each kind is submitted
 * two ways:
 *  - one job per task, streamed: at most 4 tasks per worker uncollected
 *    (the pool's queue holds 4 per worker, as the search sets it up), a
 *    finished task collected before the next is submitted;
 *  - chunked, as src/search.c runs an iteration: the iteration's jobs split
 *    into 4 runs per worker, all submitted, then all collected (540 jobs per
 *    iteration for no-op jobs, the default batch; 16 per worker for sleeps).
 * Then the sphere (n = 20 and n = 1000, MAP-Elites, one Gaussian mutator,
 * batch 540) through qd_search at 1 and 2 workers, in evaluations/s.
 * Not part of make check.
 *
 * usage: bench_pool [--scale K] [--workers 1,2,8,32,128] [--no-search]
 *   K multiplies every job count (default 1: about half a minute).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include "src/pool.h"

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

static void sleep_seconds(double s)
{
    struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&t, &t) == -1 && errno == EINTR)
        ;
}

/* The job: sleep ctx's latency (none for 0). */
static void run_job(void *ctx, qd_job *job, qd_worker *w)
{
    double latency = *(const double *)ctx;
    (void)w;
    if (latency > 0)
        sleep_seconds(latency);
    job->status = QD_OK;
}

typedef struct measure {
    double seconds, cpu;
} measure;

static void fail(const char *what)
{
    fprintf(stderr, "bench_pool: %s\n", what);
    exit(1);
}

/* One job per task, at most 4 per worker uncollected; the njobs jobs cycle
 * through the nslots job structs (a slot comes round again only after more
 * than 4 per worker were submitted since, so its task was collected). */
static measure streamed(size_t nworkers, qd_worker *workers, double *latency, qd_job *jobs, size_t nslots,
                        size_t njobs)
{
    qdi_pool *p;
    qdi_task task;
    measure m;
    if (qdi_pool_new(nworkers, workers, 4 * nworkers, run_job, latency, &p) != QD_OK)
        fail("could not start the pool");
    double t0 = qdi_now(), c0 = cpu_seconds();
    for (size_t j = 0; j < njobs; j++) {
        if (qdi_pool_pending(p) >= 4 * nworkers)
            qdi_pool_wait(p, -1, &task);
        if (qdi_pool_submit(p, &jobs[j % nslots], 1) != QD_OK)
            fail("submit failed");
    }
    while (qdi_pool_wait(p, -1, &task) == QD_OK)
        ;
    m.seconds = qdi_now() - t0;
    m.cpu = cpu_seconds() - c0;
    qdi_pool_free(p);
    return m;
}

/* Iterations of batch jobs (the same batch job structs each time), each
 * split into 4 runs per worker (rounded up, as src/search.c does), all
 * submitted, then all collected. */
static measure chunked(size_t nworkers, qd_worker *workers, double *latency, qd_job *jobs, size_t njobs,
                       size_t batch)
{
    qdi_pool *p;
    qdi_task task;
    measure m;
    if (qdi_pool_new(nworkers, workers, 4 * nworkers, run_job, latency, &p) != QD_OK)
        fail("could not start the pool");
    double t0 = qdi_now(), c0 = cpu_seconds();
    for (size_t it = 0; it < njobs; it += batch) {
        size_t end = it + batch < njobs ? batch : njobs - it;
        size_t chunk = (end + 4 * nworkers - 1) / (4 * nworkers);
        for (size_t off = 0; off < end; off += chunk)
            if (qdi_pool_submit(p, jobs + off, off + chunk <= end ? chunk : end - off) != QD_OK)
                fail("submit failed");
        while (qdi_pool_wait(p, -1, &task) == QD_OK)
            ;
    }
    m.seconds = qdi_now() - t0;
    m.cpu = cpu_seconds() - c0;
    qdi_pool_free(p);
    return m;
}

static void noop_table(const size_t *nw, size_t nnw, qd_worker *workers, qd_job *jobs, size_t nslots, double scale)
{
    double zero = 0;
    size_t streamed_jobs = (size_t)(100000 * scale), chunked_jobs = (size_t)(1080000 * scale);
    printf("\nNo-op jobs: the pool's own cost per job (%zu jobs streamed one per task; %zu jobs in iterations of "
           "540, 4 runs per worker)\n\n",
           streamed_jobs, chunked_jobs);
    printf("| workers | one per task: jobs/s | µs/job | CPU µs/job | chunked: jobs/s | µs/job | CPU µs/job | "
           "jobs per task |\n");
    printf("|---|---|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nnw; i++) {
        measure a = streamed(nw[i], workers, &zero, jobs, nslots, streamed_jobs);
        measure b = chunked(nw[i], workers, &zero, jobs, chunked_jobs, 540);
        printf("| %zu | %.0f | %.2f | %.2f | %.0f | %.3f | %.3f | %zu |\n", nw[i], (double)streamed_jobs / a.seconds,
               1e6 * a.seconds / (double)streamed_jobs, 1e6 * a.cpu / (double)streamed_jobs,
               (double)chunked_jobs / b.seconds, 1e6 * b.seconds / (double)chunked_jobs,
               1e6 * b.cpu / (double)chunked_jobs, (540 + 4 * nw[i] - 1) / (4 * nw[i]));
        fflush(stdout);
    }
}

static void sleep_table(const size_t *nw, size_t nnw, qd_worker *workers, qd_job *jobs, size_t nslots,
                        double latency, size_t per_worker)
{
    /* what one sleep of this length really takes here (timer slack,
     * wake-up latency): the ceiling on the efficiency */
    double t0 = qdi_now();
    for (int k = 0; k < 10; k++)
        sleep_seconds(latency);
    double real = (qdi_now() - t0) / 10;
    printf("\nJobs that sleep %.0f ms (%zu jobs per worker; one sleep alone takes %.3f ms here, so at most "
           "%.1f%% of ideal)\n\n",
           latency * 1e3, per_worker, real * 1e3, 100 * latency / real);
    printf("| workers | ideal jobs/s | one per task: jobs/s | of ideal | chunked: jobs/s | of ideal |\n");
    printf("|---|---|---|---|---|---|\n");
    for (size_t i = 0; i < nnw; i++) {
        size_t n = per_worker * nw[i];
        double ideal = (double)nw[i] / latency;
        measure a = streamed(nw[i], workers, &latency, jobs, nslots, n);
        measure b = chunked(nw[i], workers, &latency, jobs, n, 16 * nw[i]);
        double ra = (double)n / a.seconds, rb = (double)n / b.seconds;
        printf("| %zu | %.0f | %.1f | %.1f%% | %.1f | %.1f%% |\n", nw[i], ideal, ra, 100 * ra / ideal, rb,
               100 * rb / ideal);
        fflush(stdout);
    }
}

static const char *SEARCH_CONFIG =
    "{\"seed\": 1, \"iterations\": %ld, \"workers\": %d, \"evaluator\": {\"type\": \"sphere\", \"dim\": %d}, "
    "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 100}, {\"bins\": 100}]}, "
    "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 540, \"init\": \"x0\", \"x0\": 0}]}";

static void search_table(double scale)
{
    static const struct {
        int dim;
        long iterations;
    } cases[] = {{20, 2000}, {1000, 100}};
    printf("\nqd_search, sphere, MAP-Elites (Gaussian mutator, batch 540, 100x100 grid)\n\n");
    printf("| n | iterations | workers | seconds | evaluations/s | CPU s |\n");
    printf("|---|---|---|---|---|---|\n");
    for (size_t c = 0; c < QDI_ARRAY_LEN(cases); c++)
        for (int w = 1; w <= 2; w++) {
            char json[1024], err[512];
            qd_config *cfg = NULL;
            qd_search *s;
            long iterations = (long)((double)cases[c].iterations * scale);
            snprintf(json, sizeof json, SEARCH_CONFIG, iterations > 0 ? iterations : 1, w, cases[c].dim);
            if (qd_config_parse(json, "bench", &cfg, err, sizeof err) != QD_OK || qd_search_new(cfg, &s) != QD_OK) {
                fprintf(stderr, "bench_pool: %s%s\n", cfg ? "" : err, cfg ? qd_config_error(cfg) : "");
                exit(1);
            }
            double t0 = qdi_now(), c0 = cpu_seconds();
            while (!qd_search_done(s))
                if (qd_search_step(s) != QD_OK)
                    fail(qd_search_error(s));
            double dt = qdi_now() - t0, cpu = cpu_seconds() - c0;
            double evals = (double)qd_search_counts(s)->asked;
            printf("| %d | %ld | %d | %.2f | %.0f | %.2f |\n", cases[c].dim, iterations, w, dt, evals / dt, cpu);
            fflush(stdout);
            qd_search_free(s);
            qd_config_free(cfg);
        }
}

int main(int argc, char **argv)
{
    size_t nw[16] = {1, 2, 8, 32, 128}, nnw = 5, most = 0;
    double scale = 1;
    int search = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--scale") && i + 1 < argc) {
            scale = atof(argv[++i]);
        } else if (!strcmp(argv[i], "--workers") && i + 1 < argc) {
            char *p = argv[++i], *end;
            for (nnw = 0; *p && nnw < QDI_ARRAY_LEN(nw); nnw++) {
                nw[nnw] = strtoul(p, &end, 10);
                if (end == p)
                    fail("--workers takes counts separated by commas, as 1,2,8");
                p = *end == ',' ? end + 1 : end;
            }
        } else if (!strcmp(argv[i], "--no-search")) {
            search = 0;
        } else {
            fprintf(stderr, "usage: bench_pool [--scale K] [--workers 1,2,8,32,128] [--no-search]\n");
            return 2;
        }
    }
    if (scale <= 0 || nnw == 0)
        fail("--scale must be > 0 and --workers name at least one count");
    for (size_t i = 0; i < nnw; i++) {
        if (nw[i] == 0)
            fail("--workers: every count must be >= 1");
        if (nw[i] > most)
            most = nw[i];
    }
    qd_global_init();
    size_t per10 = (size_t)(48 * scale), per100 = (size_t)(8 * scale);
    per10 = per10 < 4 ? 4 : per10;
    per100 = per100 < 2 ? 2 : per100;
    /* job structs: a 540-job iteration, 16 per worker for the sleeps'
     * iterations, more than 4 per worker for streaming */
    size_t nslots = 16 * most > 540 ? 16 * most : 540;
    qd_job *jobs = calloc(nslots, sizeof *jobs);
    qd_worker *workers = calloc(most, sizeof *workers);
    if (!jobs || !workers)
        fail("out of memory");
    for (size_t i = 0; i < most; i++)
        workers[i].id = (unsigned)i;
    printf("bench_pool: scale %g\n", scale);
    noop_table(nw, nnw, workers, jobs, nslots, scale);
    sleep_table(nw, nnw, workers, jobs, nslots, 0.010, per10);
    sleep_table(nw, nnw, workers, jobs, nslots, 0.100, per100);
    if (search)
        search_table(scale);
    free(jobs);
    free(workers);
    return 0;
}
