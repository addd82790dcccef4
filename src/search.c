/* search.c - the search loop: ask -> produce + evaluate -> tell.
 *
 * Each iteration asks every mutator for its batch of jobs (main thread, the
 * mutator's own RNG stream: parents picked from the archive and copied into
 * the jobs), runs produce (the child's noise, CMA-ES's sample) and evaluate
 * for each job in the workers with an RNG seeded from (run seed, job id),
 * adds the successful results to the archive in job order and tells each
 * mutator the outcome of its own jobs (the tells of several
 * QD_MUTATOR_PARALLEL_TELL mutators, CMA-ES emitters, on the pool).
 * The archive and the mutators are touched by this thread only; jobs carry
 * everything a worker needs, so the worker pool can run them anywhere
 * without changing the result: with several workers the iteration's jobs
 * go to the pool in runs of consecutive jobs and the loop waits for all of
 * them before telling, so the archive is the same bit for bit whatever the
 * number of threads. A failed job is counted with its reason and
 * never inserted; the run goes on.
 *
 * In mode "async" (search_async.c) the loop keeps `inflight` jobs running and tells each as
 * it lands: a mutator whose ask and tell take any number of jobs
 * (QD_MUTATOR_ANY_N) is asked one job at a time, one that works in whole
 * batches (CMA-ES) is asked its batch and told when the batch is back.
 * Each result enters the archive on its own. An iteration is as many told
 * jobs as a batch iteration runs. Not bit-reproducible: the order results
 * land in depends on timing.
 *
 * A stop (qd_search_stop) lets the jobs in flight finish for `grace`
 * seconds; a second stop, or the grace running out, gives them up: they
 * are left running in their threads (C cannot cancel them); the search can
 * be saved, and freeing it waits for them.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pool.h"
#include "scheduler.h"
#include "search_internal.h"

double qdi_search_elapsed(const qd_search *s)
{
    return qdi_now() - s->started;
}

void qdi_search_set_elapsed(qd_search *s, double secs)
{
    s->started = qdi_now() - (secs > 0 ? secs : 0);
}

void qdi_search_reset_loaded(qd_search *s)
{
    memset(&s->counts, 0, sizeof s->counts);
    s->ask_offset = 0;
    s->next_job = 0;
    s->nhistory = 0;
    for (size_t i = 0; i < s->nkinds; i++)
        free(s->kinds[i].reason);
    s->nkinds = 0;
    s->other_failures = 0;
    for (size_t i = 0; i < s->nfailure_lines; i++)
        free(s->failure_lines[i]);
    free(s->failure_lines);
    s->failure_lines = NULL;
    s->nfailure_lines = s->capfailure_lines = 0;
}

static int read_output(qd_search *s, qd_config *cfg)
{
    qd_config *out;
    const char *dir = NULL;
    long log_every = 0, checkpoint_every = 0, max_failed_saves = 3;
    double save_every = 60.0, *range = NULL;
    size_t nrange = 0;
    if (qd_config_object(cfg, "output", 0, &out) || qd_config_string(out, "dir", &dir) ||
        qd_config_int(out, "log_every", &log_every, ">= 0") ||
        qd_config_number(out, "save_every", &save_every, ">= 0") ||
        qd_config_int(out, "checkpoint_every", &checkpoint_every, ">= 0") ||
        qd_config_int(out, "max_failed_saves", &max_failed_saves, ">= 1") ||
        qd_config_numbers(out, "heatmap_range", 0, &range, &nrange, NULL))
        return QD_EINVAL;
    /* the colour range of heatmap.svg and report.html (elites export --range) */
    s->output.heatmap_range[0] = s->output.heatmap_range[1] = NAN;
    if (range && (nrange != 2 || !(range[0] < range[1]))) {
        char *got = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(qd_config_json(out), "heatmap_range"));
        int rc = qd_config_fail(out, "heatmap_range", "must be two numbers [LO, HI] with LO < HI, got %s",
                                got ? got : "?");
        free(got);
        free(range);
        return rc;
    }
    if (range) {
        s->output.heatmap_range[0] = range[0];
        s->output.heatmap_range[1] = range[1];
    }
    free(range);
    if (qd_config_check_keys(out))
        return QD_EINVAL;
    s->output.max_failed_saves = max_failed_saves;
    s->output.checkpoint_every = checkpoint_every;
    s->output.dir = dir;
    s->output.log_every = log_every ? log_every : (long)(s->iterations >= 10 ? s->iterations / 10 : 1);
    s->output.save_every = save_every;
    return QD_OK;
}

/* mode, inflight, job_timeout and grace. */
static int read_mode(qd_search *s, qd_config *cfg)
{
    static const char *const modes[] = {"batch", "async", NULL};
    int mode = 0;
    long inflight = 0;
    if (qd_config_choice(cfg, "mode", modes, &mode) || qd_config_int(cfg, "inflight", &inflight, ">= 0 <= 1000000") ||
        qd_config_number(cfg, "job_timeout", &s->job_timeout, ">= 0") ||
        qd_config_number(cfg, "grace", &s->grace, ">= 0"))
        return QD_EINVAL;
    s->async = mode == 1;
    s->inflight_max = (size_t)inflight;
    return QD_OK;
}

/* The optional top-level "llm" section: one LLM client for the whole run,
 * shared by the mutators and the evaluator (they get it before their init). */
static int read_llm(qd_search *s, qd_config *cfg)
{
    qd_config *lc;
    if (!qd_config_has(cfg, "llm"))
        return QD_OK;
    if (qd_config_object(cfg, "llm", 1, &lc) || qd_llm_new(lc, s->seed, &s->llm))
        return QD_EINVAL;
    return QD_OK;
}

/* With CMA-MAE (learning_rate < 1) a second, plain archive over the same
 * cells keeps the best solution per cell for reporting. */
static int build_result_archive(qd_search *s, qd_config *cfg)
{
    cJSON *json;
    if (qd_archive_learning_rate(s->archive) >= 1.0)
        return QD_OK;
    json = cJSON_Duplicate(qd_archive_description(s->archive), 1);
    if (!json)
        return qd_config_fail(cfg, "archive", "could not be copied: out of memory");
    cJSON_DeleteItemFromObjectCaseSensitive(json, "learning_rate");
    cJSON_DeleteItemFromObjectCaseSensitive(json, "threshold_min");
    if (qd_config_wrap(json, qd_config_source(cfg), &s->result_cfg) != QD_OK) {
        cJSON_Delete(json);
        return qd_config_fail(cfg, "archive", "could not be copied: out of memory");
    }
    if (qd_archive_new(s->result_cfg, &s->ev->space, &s->result) != QD_OK)
        return qd_config_fail(cfg, "archive", "result archive: %s", qd_config_error(s->result_cfg));
    return QD_OK;
}

/* An evaluator whose measures change during the run (online QDHF) needs
 * batch mode (no job may be in flight when they change) and a grid
 * archive (its cells are rebuilt from the new measure ranges). */
static int check_relearn(qd_search *s, qd_config *cfg)
{
    const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(qd_archive_description(s->archive), "type"));
    if (!s->ev->remeasures)
        return QD_OK;
    if (!s->ev->type->iterate || !s->ev->type->remeasure)
        return qd_config_fail(cfg, "evaluator", "\"%s\" changes its measures but has no iterate / remeasure hook",
                              s->ev->type->name);
    if (s->async)
        return qd_config_fail(cfg, "mode", "must be \"batch\": the evaluator re-learns its measures during the run");
    if (!type || strcmp(type, "grid") != 0)
        return qd_config_fail(cfg, "archive", "type must be \"grid\": the evaluator re-learns its measures during "
                                              "the run and the archive is rebuilt over the new ranges");
    return QD_OK;
}

/* Builds every mutator; an entry with "count": k stands for k instances
 * (pyribs' num_emitters), each with its own RNG stream. */
static int build_mutators(qd_search *s, qd_config *cfg)
{
    size_t n, total = 0;
    if (qd_config_array_size(cfg, "mutators", 1, &n))
        return QD_EINVAL;
    if (n == 0)
        return qd_config_fail(cfg, "mutators", "must list at least one mutator");
    for (size_t i = 0; i < n; i++) {
        qd_config *mc;
        long count = 1;
        if (qd_config_array_object(cfg, "mutators", i, &mc) || qd_config_int(mc, "count", &count, ">= 1 <= 100000"))
            return QD_EINVAL;
        total += (size_t)count;
    }
    if (!(s->mutators = calloc(total, sizeof *s->mutators)))
        return qd_config_fail(cfg, "mutators", "could not be built: out of memory");
    for (size_t i = 0; i < n; i++) {
        qd_config *mc;
        long count = 1;
        if (qd_config_array_object(cfg, "mutators", i, &mc) || qd_config_int(mc, "count", &count, ">= 1"))
            return QD_EINVAL;
        for (long k = 0; k < count; k++) {
            if (qdi_mutator_new(mc, &s->ev->space, s->nmutators, s->seed, s->llm, s->rng_type,
                                &s->mutators[s->nmutators]))
                return QD_EINVAL;
            s->njobs += s->mutators[s->nmutators]->batch;
            s->nmutators++;
        }
    }
    return QD_OK;
}

static int alloc_jobs(qd_search *s)
{
    size_t dim = s->ev->space.kind == QD_GENOME_REAL ? s->ev->space.dim : 0;
    size_t m = s->ev->space.measures, extra = 0;
    for (size_t i = 0; i < s->nmutators; i++)
        extra = s->mutators[i]->job_extra > extra ? s->mutators[i]->job_extra : extra;
    s->jobs = calloc(s->njobs, sizeof *s->jobs);
    s->ebuf = calloc(s->njobs * extra + 1, sizeof *s->ebuf);
    s->tell_rc = calloc(s->nmutators, sizeof *s->tell_rc);
    s->xbuf = malloc((s->njobs * dim + 1) * sizeof *s->xbuf);
    s->mbuf = malloc(s->njobs * m * sizeof *s->mbuf);
    s->batch = malloc(s->njobs * sizeof *s->batch);
    s->batch_job = malloc(s->njobs * sizeof *s->batch_job);
    s->batch_res = malloc(s->njobs * sizeof *s->batch_res);
    s->active = malloc(s->nmutators * sizeof *s->active);
    s->mut_off = malloc(s->nmutators * sizeof *s->mut_off);
    s->slot = calloc(s->njobs, 1);
    if (!s->active || !s->jobs || !s->xbuf || !s->mbuf || !s->batch || !s->batch_job || !s->batch_res ||
        !s->mut_off || !s->slot || !s->ebuf || !s->tell_rc)
        return QD_ENOMEM;
    for (size_t i = 0, off = 0; i < s->nmutators; off += s->mutators[i]->batch, i++)
        s->mut_off[i] = off;
    for (size_t j = 0; j < s->njobs; j++) {
        s->jobs[j].sol.x = dim ? s->xbuf + j * dim : NULL;
        s->jobs[j].sol.n = dim;
        s->jobs[j].sol.measures = s->mbuf + j * m;
        s->jobs[j].sol.m = m;
        s->jobs[j].extra = extra ? s->ebuf + j * extra : NULL;
    }
    return QD_OK;
}

static void run_job(void *ctx, qd_job *job, qd_worker *w);

/* Sets up the workers (0: one per core) and the pool. Even one worker runs
 * in its own thread, so the loop can always answer a stop. */
static int start_workers(qd_search *s, qd_config *cfg, long n)
{
    if (n == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n = cores > 0 ? cores : 1;
    }
    if (!(s->workers = calloc((size_t)n, sizeof *s->workers)))
        return qd_config_fail(cfg, "workers", "could not be set up: out of memory");
    s->nworkers = (size_t)n;
    for (size_t i = 0; i < s->nworkers; i++) {
        qd_worker *w = &s->workers[i];
        w->id = (unsigned)i;
        if (!(w->rng = gsl_rng_alloc(s->rng_type)))
            return qd_config_fail(cfg, "workers", "could not be set up: out of memory");
        /* LLM: one session (curl handle) per worker thread */
        if (s->llm && qd_llm_session_new(s->llm, (unsigned)i, &w->llm) != QD_OK)
            return qd_config_fail(cfg, "llm", "could not set up worker %zu: out of memory", i);
        if (s->ev->type->worker_init && s->ev->type->worker_init(s->ev, w) != QD_OK)
            return qd_config_fail(cfg, "evaluator", "could not set up worker %zu: %s", i, w->error);
        s->workers_ready++;
    }
    /* the loop thread helps with short jobs of plug-ins that keep no
     * per-thread state (see jobs_help) */
    if (!s->async && !s->llm && (s->ev->type->flags & QD_EVALUATOR_FAST) && !s->ev->type->worker_init) {
        s->helper.id = (unsigned)s->nworkers;
        if (!(s->helper.rng = gsl_rng_alloc(s->rng_type)))
            return qd_config_fail(cfg, "workers", "could not be set up: out of memory");
    }
    if (s->async && s->inflight_max == 0)
        s->inflight_max = 2 * s->nworkers;
    /* async hands over one job per task, batch at most 4 runs per worker */
    if (qdi_pool_new(s->nworkers, s->workers, s->njobs + 4 * s->nworkers, run_job, s, &s->pool) != QD_OK)
        return qd_config_fail(cfg, "workers", "could not start %zu threads", s->nworkers);
    return QD_OK;
}

/* The stop level (0 none, 1 stop, 2 give up): an atomic, as a signal
 * handler or another thread may raise it. */
int qdi_search_stopped(const qd_search *s)
{
    return __atomic_load_n(&s->stop, __ATOMIC_SEQ_CST);
}

/* After a stop, whether the jobs still running are given up: at once on
 * a second stop, else when the grace period is over. */
int qdi_search_give_up(qd_search *s)
{
    int stop = qdi_search_stopped(s);
    if (!stop)
        return 0;
    if (s->stop_seen == 0)
        s->stop_seen = qdi_now();
    return stop >= 2 || qdi_now() - s->stop_seen >= s->grace;
}

/* Gives up the jobs in flight: nothing queued starts, LLM requests abort,
 * and evaluators that can (the command evaluator kills its program) end
 * the running ones. */
void qdi_search_cancel_jobs(qd_search *s)
{
    s->abandoned = 1;
    qdi_pool_cancel(s->pool);
    for (size_t i = 0; i < s->nworkers; i++) {
        qd_llm_session_cancel(s->workers[i].llm);
        if (s->ev->type->cancel)
            s->ev->type->cancel(s->ev, &s->workers[i]);
    }
}

/* Whether the loop thread takes tasks from the queue itself rather than
 * sleep while the workers run them: when the evaluator says it never
 * blocks (QD_EVALUATOR_FAST, so a stop is still seen within a task's time;
 * no LLM, no async mode) and the jobs are short (the last iteration's took
 * under HELP_BELOW seconds in all).
 * Then it stands in for one of the workers (that one takes no tasks), so
 * as many threads run as there are workers. Which thread runs a job never
 * changes its result (each job draws from its own stream). It saves the
 * hand-overs and wake-ups that dominate cheap benchmarks' iterations. */
#define HELP_BELOW 0.05
static int jobs_help(qd_search *s)
{
    int help = s->helper.rng && s->jobs_wall < HELP_BELOW;
    if (help != s->helping) {
        qdi_pool_set_active(s->pool, help ? s->nworkers - 1 : s->nworkers);
        s->helping = help;
    }
    return help;
}

/* Runs every job of the iteration in the pool and waits for them; QD_EINTR
 * when a stop gave them up (the iteration is then torn: nothing of it is
 * told). */
static int run_jobs(qd_search *s)
{
    qdi_task task;
    double t0 = qdi_now();
    /* runs of consecutive jobs, at most four per worker, keep the queue
     * traffic small for cheap evaluations and the load balanced. */
    size_t chunk = (s->nrun + 4 * s->nworkers - 1) / (4 * s->nworkers);
    int help = jobs_help(s);
    if (chunk == 0)
        chunk = 1;
    for (size_t off = 0; off < s->nrun; off += chunk)
        if (qdi_pool_submit(s->pool, s->jobs + off, off + chunk <= s->nrun ? chunk : s->nrun - off) != QD_OK) {
            /* out of memory: collect what went out, then stop the run */
            while (qdi_pool_wait(s->pool, -1, &task) == QD_OK)
                ;
            qdi_set_error(s->error, sizeof s->error, "out of memory handing jobs to the workers");
            return QD_ENOMEM;
        }
    if (help)
        qdi_pool_help(s->pool, &s->helper);
    /* wake up now and then to see a stop */
    while (qdi_pool_wait_all(s->pool, 0.1) == QD_ETIMEOUT) {
        if (qdi_search_give_up(s)) {
            qdi_search_cancel_jobs(s);
            s->torn = 1;
            s->counts.asked -= s->nrun; /* the dropped iteration was never asked */
            qdi_set_error(s->error, sizeof s->error,
                          "stopped: gave up the %zu jobs of iteration %llu still running", s->nrun,
                          (unsigned long long)s->counts.iterations + 1);
            return QD_EINTR;
        }
    }
    s->jobs_wall = qdi_now() - t0;
    return QD_OK;
}

int qd_search_new(qd_config *cfg, qd_search **out)
{
    qd_search *s;
    qd_config *ec, *ac;
    long seed = 1, iterations = 1000, workers = 0, window = 200;
    const char *name = NULL, *description = NULL;
    *out = NULL;
    if (qd_global_init() != QD_OK)
        return qd_config_fail(cfg, NULL, "could not initialise libcurl");
    if (!(s = calloc(1, sizeof *s)))
        return qd_config_fail(cfg, NULL, "out of memory");
    s->cfg = cfg;
    s->grace = 30;
    s->jobs_wall = INFINITY; /* the loop helps once it has seen the jobs are short */
    s->rebuild_before = s->rebuild_after = NAN;
    if (qd_config_int(cfg, "seed", &seed, ">= 0") || qd_config_int(cfg, "iterations", &iterations, ">= 1") ||
        qd_config_string(cfg, "name", &name) || qd_config_string(cfg, "description", &description) ||
        qd_config_int(cfg, "workers", &workers, ">= 0 <= 4096") || read_mode(s, cfg) ||
        qdi_rng_read(cfg, &s->rng_type))
        goto fail;
    s->max_consecutive_failures = 50;
    s->max_failure_rate = 0.9;
    if (qd_config_int(cfg, "max_consecutive_failures", &s->max_consecutive_failures, ">= 0") ||
        qd_config_number(cfg, "max_failure_rate", &s->max_failure_rate, ">= 0 <= 1") ||
        qd_config_int(cfg, "failure_window", &window, ">= 1 <= 1000000"))
        goto fail;
    s->window_len = (size_t)window;
    if (!(s->window = calloc(s->window_len, 1))) {
        qd_config_fail(cfg, "failure_window", "could not be set up: out of memory");
        goto fail;
    }
    s->seed = (uint64_t)seed;
    s->iterations = (uint64_t)iterations;
    if (read_output(s, cfg) || read_llm(s, cfg) || qd_config_object(cfg, "evaluator", 1, &ec) ||
        qdi_evaluator_new(ec, s->llm, s->seed, &s->ev) ||
        qd_config_object(cfg, "archive", 1, &ac) || qd_archive_new(ac, &s->ev->space, &s->archive) ||
        build_result_archive(s, cfg) || qdi_truth_new(s, cfg) || check_relearn(s, cfg) || build_mutators(s, cfg) ||
        qdi_scheduler_new(cfg, s->nmutators, &s->scheduler) || qd_config_check_keys(cfg))
        goto fail;
    if (s->async && qdi_scheduler_bandit(s->scheduler)) {
        qd_config_fail(cfg, "scheduler", "type \"bandit\" needs mode \"batch\" (async mode asks every mutator)");
        goto fail;
    }
    if (alloc_jobs(s)) {
        qd_config_fail(cfg, NULL, "out of memory for %zu jobs", s->njobs);
        goto fail;
    }
    if (start_workers(s, cfg, workers))
        goto fail;
    s->started = qdi_now();
    *out = s;
    return QD_OK;
fail:
    qd_search_free(s);
    return QD_EINVAL;
}

void qd_search_free(qd_search *s)
{
    if (!s)
        return;
    /* joins the threads: waits for jobs given up after a stop to return */
    qdi_pool_free(s->pool);
    free(s->window);
    for (size_t i = 0; i < s->nworkers; i++) {
        if (i < s->workers_ready && s->ev->type->worker_fini)
            s->ev->type->worker_fini(s->ev, &s->workers[i]);
        if (s->workers[i].rng)
            gsl_rng_free(s->workers[i].rng);
        qd_llm_session_free(s->workers[i].llm);
    }
    free(s->workers);
    if (s->helper.rng)
        gsl_rng_free(s->helper.rng);
    for (size_t j = 0; s->jobs && j < s->njobs; j++)
        qd_solution_clear(&s->jobs[j].sol);
    for (size_t i = 0; i < s->nmutators; i++)
        qd_mutator_free(s->mutators[i]);
    free(s->mutators);
    qd_archive_free(s->archive);
    qd_archive_free(s->result);
    qd_config_free(s->result_cfg);
    qdi_truth_free(s);
    qd_evaluator_free(s->ev);
    qd_llm_free(s->llm); /* after its sessions and the plug-ins that hold it */
    free(s->jobs);
    free(s->xbuf);
    free(s->mbuf);
    free(s->ebuf);
    free(s->tell_rc);
    free(s->batch);
    free(s->batch_job);
    free(s->batch_res);
    free(s->active);
    free(s->mut_off);
    free(s->slot);
    qdi_scheduler_free(s->scheduler);
    free(s->history);
    if (s->journal)
        fclose(s->journal);
    free(s->journal_path);
    free(s->ckpt_dir);
    for (size_t i = 0; i < s->nkinds; i++)
        free(s->kinds[i].reason);
    for (size_t i = 0; i < s->nfailure_lines; i++)
        free(s->failure_lines[i]);
    free(s->failure_lines);
    free(s);
}

/* Produce and evaluate one job; sets job->status and job->reason. Runs in
 * a worker: reads the search, writes only the job and the worker. */
static void run_job(void *ctx, qd_job *job, qd_worker *w)
{
    const qd_search *s = ctx;
    const qd_mutator *m = s->mutators[job->mutator];
    int rc = QD_OK;
    double t0 = s->job_timeout > 0 ? qdi_now() : 0;
    /* the job's own stream, for the plug-ins that read it */
    if (!(s->ev->type->flags & QD_EVALUATOR_NO_RNG) || (m->type->produce && !(m->type->flags & QD_MUTATOR_NO_RNG)))
        qdi_rng_seed(w->rng, qdi_seed_mix(s->seed, job->id));
    w->error[0] = '\0';
    w->deadline = s->job_timeout > 0 ? t0 + s->job_timeout : 0;
    qd_llm_session_set_deadline(w->llm, w->deadline);
    if (m->type->produce && (rc = m->type->produce(m, job, w)) != QD_OK) {
        qdi_set_error(job->reason, sizeof job->reason, "%s: %s", m->type->name,
                      w->error[0] ? w->error : qd_strerror(rc));
    } else if ((rc = s->ev->type->evaluate(s->ev, &job->sol, w)) != QD_OK) {
        qdi_set_error(job->reason, sizeof job->reason, "%s", w->error[0] ? w->error : qd_strerror(rc));
    } else if (!isfinite(job->sol.objective)) {
        rc = QD_EEVAL;
        qdi_set_error(job->reason, sizeof job->reason, "%s: objective is %s", s->ev->type->name,
                      isnan(job->sol.objective) ? "NaN" : "infinite");
    } else {
        for (size_t k = 0; k < job->sol.m; k++)
            if (!isfinite(job->sol.measures[k])) {
                rc = QD_EEVAL;
                qdi_set_error(job->reason, sizeof job->reason, "%s: measure %zu (%s) is %s", s->ev->type->name,
                              k, s->ev->space.measure_names[k], isnan(job->sol.measures[k]) ? "NaN" : "infinite");
                break;
            }
    }
    if (rc == QD_OK && s->job_timeout > 0 && qdi_now() - t0 > s->job_timeout) {
        rc = QD_ETIMEOUT;
        qdi_set_error(job->reason, sizeof job->reason, "timed out: the job took longer than job_timeout (%g s)",
                      s->job_timeout);
    }
    job->status = rc == QD_OK ? QD_OK : (rc == QD_ENOMEM ? QD_ENOMEM : QD_EEVAL);
}

void qdi_search_prepare_job(qd_search *s, qd_job *job, size_t mutator)
{
    job->id = s->next_job++;
    job->mutator = mutator;
    job->data = NULL;
    job->op = 0;
    job->status = QD_OK;
    job->reason[0] = '\0';
    job->sol.objective = NAN;
    memset(&job->add, 0, sizeof job->add);
    for (size_t k = 0; k < job->sol.m; k++)
        job->sol.measures[k] = NAN;
}

static int ask_all(qd_search *s)
{
    size_t off = 0;
    s->nactive = qdi_scheduler_select(s->scheduler, s->mutators, s->active);
    for (size_t a = 0; a < s->nactive; a++) {
        size_t i = s->active[a];
        qd_mutator *m = s->mutators[i];
        for (size_t j = off; j < off + m->batch; j++)
            qdi_search_prepare_job(s, &s->jobs[j], i);
        m->error[0] = '\0';
        int rc = m->type->ask(m, s->archive, s->jobs + off, m->batch);
        if (rc != QD_OK) {
            qdi_set_error(s->error, sizeof s->error, "mutators[%zu] (%s) failed to ask: %s", i, m->type->name,
                          m->error[0] ? m->error : qd_strerror(rc));
            return rc;
        }
        s->counts.asked += m->batch;
        off += m->batch;
    }
    s->nrun = off;
    return QD_OK;
}

/* Adds the iteration's successful solutions to the archive(s) as one batch
 * (each judged against the archive as it was before the iteration, as
 * pyribs' scheduler does), counts, records failures. */
static int add_all(qd_search *s, qd_metrics *row)
{
    size_t k = 0, filled = qd_archive_filled(s->archive);
    for (size_t j = 0; j < s->nrun; j++)
        if (s->jobs[j].status == QD_OK) {
            s->batch[k] = &s->jobs[j].sol;
            s->batch_job[k++] = j;
        }
    if (qd_archive_add_batch(s->archive, s->batch, k, s->batch_res) != QD_OK) {
        /* run_job checked every value, so this is a plug-in bug */
        qdi_set_error(s->error, sizeof s->error, "archive refused a batch: %s", qd_archive_error(s->archive));
        return QD_EINVAL;
    }
    for (size_t i = 0; i < k; i++)
        s->jobs[s->batch_job[i]].add = s->batch_res[i];
    if (s->result && qd_archive_add_batch(s->result, s->batch, k, s->batch_res) != QD_OK) {
        qdi_set_error(s->error, sizeof s->error, "result archive refused a batch: %s", qd_archive_error(s->result));
        return QD_EINVAL;
    }
    for (size_t j = 0; j < s->nrun; j++) {
        qd_job *job = &s->jobs[j];
        if (job->status != QD_OK) {
            s->counts.failed++;
            qdi_search_outcome(s, 1);
            if (qdi_search_record_failure(s, job) != QD_OK)
                return QD_ENOMEM;
            continue;
        }
        s->counts.evaluated++;
        qdi_search_outcome(s, 0);
        if (job->add.status == QD_IMPROVE)
            row->improved++;
        else if (job->add.status == QD_NOT_ADDED)
            s->counts.not_added++;
    }
    row->new_cells = qd_archive_filled(s->archive) - filled;
    s->counts.new_cells += row->new_cells;
    s->counts.improved += row->improved;
    return QD_OK;
}

/* One mutator's tell as a pool task: which mutator, where its jobs start;
 * the result goes into s->tell_rc. */
typedef struct tell_arg {
    qd_search *s;
    size_t mutator, off;
} tell_arg;

static void tell_call(void *arg, qd_worker *w)
{
    const tell_arg *t = arg;
    qd_mutator *m = t->s->mutators[t->mutator];
    (void)w;
    t->s->tell_rc[t->mutator] = m->type->tell(m, t->s->archive, t->s->jobs + t->off, m->batch);
}

/* Runs the tells of the active QD_MUTATOR_PARALLEL_TELL mutators on the
 * pool when there are several (each touches only its own instance, so the
 * result does not depend on which thread runs it) and records each result
 * in tell_rc; the rest tell on this thread in tell_all. */
static int tell_parallel(qd_search *s, tell_arg *args)
{
    size_t n = 0, off = 0;
    qdi_task task;
    for (size_t a = 0; a < s->nactive; off += s->mutators[s->active[a]]->batch, a++) {
        const qd_mutator *m = s->mutators[s->active[a]];
        if (m->type->tell && (m->type->flags & QD_MUTATOR_PARALLEL_TELL))
            args[n++] = (tell_arg){s, s->active[a], off};
    }
    int help = jobs_help(s);
    if (n < 2 || s->nworkers < 2)
        return 0;
    for (size_t k = 0; k < n; k++)
        s->tell_rc[args[k].mutator] = QD_EINTR; /* unless the call runs */
    for (size_t k = 0; k < n; k++)
        if (qdi_pool_submit_call(s->pool, tell_call, &args[k]) != QD_OK) {
            while (qdi_pool_wait(s->pool, -1, &task) == QD_OK)
                ;
            qdi_set_error(s->error, sizeof s->error, "out of memory handing tells to the workers");
            return -1;
        }
    if (help)
        qdi_pool_help(s->pool, &s->helper);
    qdi_pool_wait_all(s->pool, -1);
    return 1;
}

static int tell_all(qd_search *s, qd_metrics *row)
{
    int rc = add_all(s, row), parallel;
    tell_arg *args;
    if (rc)
        return rc;
    if (!(args = malloc((s->nactive + 1) * sizeof *args)))
        return QD_ENOMEM;
    parallel = tell_parallel(s, args);
    free(args);
    if (parallel < 0)
        return QD_ENOMEM;
    size_t off = 0;
    for (size_t a = 0; a < s->nactive; a++) {
        size_t i = s->active[a], added = 0;
        qd_mutator *m = s->mutators[i];
        int told = parallel && (m->type->flags & QD_MUTATOR_PARALLEL_TELL);
        if (m->type->tell && (told ? s->tell_rc[i] : m->type->tell(m, s->archive, s->jobs + off, m->batch)) != QD_OK) {
            qdi_set_error(s->error, sizeof s->error, "mutators[%zu] (%s) failed to learn: %s", i, m->type->name,
                          m->error);
            return QD_EINVAL;
        }
        for (size_t j = off; j < off + m->batch; j++)
            added += s->jobs[j].status == QD_OK && s->jobs[j].add.status != QD_NOT_ADDED;
        qdi_scheduler_tell(s->scheduler, i, m->batch, added);
        off += m->batch;
    }
    return QD_OK;
}

int qdi_search_push_metrics(qd_search *s, const qd_metrics *row)
{
    if (s->nhistory == s->caphistory) {
        size_t cap = s->caphistory ? 2 * s->caphistory : 256;
        qd_metrics *h = realloc(s->history, cap * sizeof *h);
        if (!h)
            return QD_ENOMEM;
        s->history = h;
        s->caphistory = cap;
    }
    s->history[s->nhistory++] = *row;
    return QD_OK;
}

int qd_search_step(qd_search *s)
{
    qd_metrics row = {0};
    int rc;
    if (qd_search_done(s))
        return QD_OK;
    if (!s->async && (rc = qdi_search_relearn(s)))
        return rc;
    if (s->async) {
        /* QD_EINTR: stopped before anything came back; no iteration to
         * record (the caller saves what is done, as in batch mode) */
        if ((rc = qdi_search_async_step(s, &row)))
            return rc;
    } else {
        if ((rc = ask_all(s)))
            return rc;
        if ((rc = run_jobs(s)))
            return rc;
        rc = tell_all(s, &row);
        if (rc == QD_OK)
            rc = qdi_truth_observe(s);
        for (size_t j = 0; j < s->nrun; j++)
            qd_solution_clear(&s->jobs[j].sol);
        if (rc) {
            if (!s->error[0])
                qdi_set_error(s->error, sizeof s->error, "out of memory");
            return rc;
        }
    }
    s->counts.iterations++;
    row.iteration = s->counts.iterations;
    row.evaluations = s->counts.evaluated;
    row.failed = s->counts.failed;
    qd_archive_stats_get(qd_search_result_archive(s), &row.stats);
    if ((rc = qdi_truth_metrics(s, &row)))
        return rc;
    row.rebuild_coverage_before = s->async ? NAN : s->rebuild_before;
    row.rebuild_coverage_after = s->async ? NAN : s->rebuild_after;
    row.seconds = qdi_search_elapsed(s);
    if (s->llm) {
        qd_llm_stats st;
        qd_llm_stats_get(s->llm, &st);
        row.llm_requests = s->llm_base_requests + st.requests;
        row.llm_failures = s->llm_base_failures + st.failures;
        row.llm_tokens = s->llm_base_tokens + st.prompt_tokens + st.completion_tokens;
    }
    if (qdi_search_push_metrics(s, &row)) {
        qdi_set_error(s->error, sizeof s->error, "out of memory");
        return QD_ENOMEM;
    }
    /* a server that refuses every request, a command that cannot start:
     * stop rather than fail every job of the run; an LLM failure names
     * the server it came from */
    char server[700] = "";
    if (s->llm && strncmp(s->last_failure, "llm:", 4) == 0) {
        char urls[640];
        qdi_llm_shown_urls(s->llm, urls, sizeof urls);
        snprintf(server, sizeof server, " (llm.url %s)", urls);
    }
    if (s->max_consecutive_failures > 0 && s->failures_in_row >= (uint64_t)s->max_consecutive_failures) {
        qdi_set_error(s->error, sizeof s->error,
                      "stopped after iteration %llu: %llu jobs in a row failed (max_consecutive_failures is %ld); "
                      "the last: %s%s",
                      (unsigned long long)s->counts.iterations, (unsigned long long)s->failures_in_row,
                      s->max_consecutive_failures, s->last_failure, server);
        return QD_EEVAL;
    }
    /* a failure rate that stays high without 50 in a row (a flaky server
     * that answers one job in twenty) */
    if (s->max_failure_rate < 1 && s->window_filled == s->window_len &&
        (double)s->window_failed > s->max_failure_rate * (double)s->window_len) {
        qdi_set_error(s->error, sizeof s->error,
                      "stopped after iteration %llu: %zu of the last %zu jobs failed, more than max_failure_rate %g "
                      "allows (failure_window %zu); the last: %s%s",
                      (unsigned long long)s->counts.iterations, s->window_failed, s->window_len, s->max_failure_rate,
                      s->window_len, s->last_failure, server);
        return QD_EEVAL;
    }
    return QD_OK;
}

void qdi_search_outcome(qd_search *s, int failed)
{
    s->failures_in_row = failed ? s->failures_in_row + 1 : 0;
    if (!s->window_len)
        return;
    if (s->window_filled == s->window_len)
        s->window_failed -= s->window[s->window_pos];
    else
        s->window_filled++;
    s->window[s->window_pos] = (unsigned char)(failed != 0);
    s->window_failed += (size_t)(failed != 0);
    s->window_pos = (s->window_pos + 1) % s->window_len;
}

int qd_search_probe(qd_search *s)
{
    if (!s->llm)
        return QD_OK;
    return qd_llm_probe(s->llm, s->error, sizeof s->error);
}

const char *qd_search_last_failure(const qd_search *s)
{
    return s->last_failure[0] ? s->last_failure : NULL;
}

int qd_search_done(const qd_search *s)
{
    /* async: a stopped run first collects the jobs still in flight */
    if (s->async && s->running > 0 && !s->abandoned)
        return 0;
    return qdi_search_stopped(s) || s->counts.iterations >= s->iterations || s->abandoned;
}

void qd_search_stop(qd_search *s)
{
    /* async-signal-safe: lock-free atomics, no locks */
    int old = __atomic_load_n(&s->stop, __ATOMIC_SEQ_CST);
    __atomic_store_n(&s->stop, old ? 2 : 1, __ATOMIC_SEQ_CST);
}

int qd_search_async(const qd_search *s)
{
    return s->async;
}

int qd_search_abandoned(const qd_search *s)
{
    return s->abandoned;
}

const qd_archive *qd_search_archive(const qd_search *s) { return s->archive; }
const qd_archive *qd_search_result_archive(const qd_search *s) { return s->result ? s->result : s->archive; }
const qd_counts *qd_search_counts(const qd_search *s) { return &s->counts; }
const qd_output_options *qd_search_output(const qd_search *s) { return &s->output; }
uint64_t qd_search_seed(const qd_search *s) { return s->seed; }
uint64_t qd_search_iterations(const qd_search *s) { return s->iterations; }
const char *qd_search_error(const qd_search *s) { return s->error; }
const qd_llm *qd_search_llm(const qd_search *s) { return s->llm; }

const qd_metrics *qd_search_last_metrics(const qd_search *s)
{
    return s->nhistory ? &s->history[s->nhistory - 1] : NULL;
}

size_t qd_search_failure_kinds(const qd_search *s)
{
    return s->nkinds + (s->other_failures ? 1 : 0);
}

const char *qd_search_failure_kind(const qd_search *s, size_t i, uint64_t *count)
{
    if (i < s->nkinds) {
        *count = s->kinds[i].count;
        return s->kinds[i].reason;
    }
    if (i == s->nkinds && s->other_failures) {
        *count = s->other_failures;
        return "(other reasons)";
    }
    *count = 0;
    return NULL;
}
