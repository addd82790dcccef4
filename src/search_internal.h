/* search_internal.h - the search struct, shared by the loop (search.c) and
 * its outputs (search_save.c). */
#ifndef ELITES_SEARCH_INTERNAL_H
#define ELITES_SEARCH_INTERNAL_H

#include <signal.h>
#include <time.h>
#include "internal.h"

#define QDI_MAX_FAILURE_KINDS 64

typedef struct qdi_failure_kind {
    char *reason;
    uint64_t count;
} qdi_failure_kind;

struct qd_search {
    qd_config *cfg;
    uint64_t seed, iterations;
    const gsl_rng_type *rng_type; /* the "rng" key: every stream's generator */
    qd_evaluator *ev;
    qd_llm *llm;           /* the "llm" section's client, or NULL */
    qd_archive *archive;
    qd_archive *result;    /* CMA-MAE's result archive, or NULL */
    qd_config *result_cfg; /* its config (derived from the archive's) */
    qd_mutator **mutators;
    size_t nmutators;
    qd_job *jobs; /* one iteration's jobs, mutator by mutator */
    size_t njobs; /* capacity: every mutator's batch */
    size_t nrun;  /* jobs of the current iteration (active mutators) */
    struct qdi_scheduler *scheduler;
    size_t *active; /* mutators asked this iteration */
    size_t nactive;
    double *xbuf, *mbuf;
    double *ebuf;              /* every job's extra numbers (the largest job_extra each) */
    int *tell_rc;              /* per mutator: its tell's result when tells run on the pool */
    const qd_solution **batch; /* the iteration's successful solutions */
    size_t *batch_job;         /* their job numbers */
    qd_add_result *batch_res;
    qd_worker *workers;   /* one per thread (one when running inline) */
    size_t nworkers, workers_ready;
    qd_worker helper;     /* the loop thread's own, when it helps (rng NULL: never) */
    double jobs_wall;     /* seconds the last iteration's jobs took (helping decides) */
    int helping;          /* the loop thread helps (one worker stands by) */
    struct qdi_pool *pool;
    uint64_t next_job;
    int async;            /* mode "async": jobs told as they land */
    size_t inflight_max;  /* async: jobs kept running */
    double job_timeout;   /* seconds a job may take (0: no limit) */
    double grace;         /* seconds in-flight jobs get after a stop */
    size_t *mut_off;      /* first job slot of each mutator */
    unsigned char *slot;  /* async: each job slot free, running or done */
    size_t running;       /* async: jobs handed to the pool, not yet back */
    size_t rr;            /* async: the next mutator to ask */
    int64_t ask_offset;   /* async: jobs asked less iterations x njobs at a resume (<= 0) */
    int abandoned;        /* jobs were left running after a stop */
    int torn;             /* an iteration was given up half way: no checkpoint */
    double stop_seen;     /* when the loop first saw the stop (monotonic) */
    qd_counts counts;
    qd_metrics *history; /* one row per iteration */
    size_t nhistory, caphistory;
    char *ckpt_dir;       /* where the last checkpoint was written, */
    uint64_t ckpt_at;     /* after how many iterations (+1; 0: never) */
    FILE *journal;        /* OUTDIR/checkpoint-metrics, appended at checkpoints */
    char *journal_path;
    size_t journal_rows;  /* rows of history in the journal */
    long journal_bytes;   /* its size when those rows were last synced */
    qd_output_options output;
    int stop; /* 1: stop after in-flight jobs; 2: give them up (atomic access) */
    double started;       /* qdi_now() at the start, set back by a resume */
    qdi_failure_kind kinds[QDI_MAX_FAILURE_KINDS];
    size_t nkinds;
    uint64_t other_failures;
    long max_consecutive_failures; /* failed jobs in a row that stop the run (0: no cap) */
    uint64_t failures_in_row;      /* failed jobs since the last success */
    double max_failure_rate;       /* share of the last failure_window jobs that stops the run (1: no cap) */
    unsigned char *window;         /* the outcomes of the last jobs (1: failed), a ring */
    size_t window_len, window_pos, window_filled, window_failed;
    char last_failure[512];        /* the reason of the last failed job */
    char **failure_lines; /* failures.jsonl rows */
    size_t nfailure_lines, capfailure_lines;
    /* ground truth (qd_evaluator_type.truth; search_truth.c) */
    qd_archive *truth_all;  /* every evaluated solution, binned by its true measures (NULL: none) */
    qd_config *truth_cfg;   /* its config when the run's config has no "truth_archive" */
    qd_space truth_space;
    double *truth_g;        /* one solution's true measures */
    double *truth_best;     /* per cell of truth_all: the best re-binned elite */
    long truth_every;       /* iterations between archive-solutions numbers */
    /* the measures re-learned before the coming iteration (search_rebuild.c) */
    double rebuild_before, rebuild_after; /* coverage; NaN when none */
    /* the LLM totals of metrics.csv's last row when the run resumed: the
     * client counts from 0 in each process, the rows count the whole run */
    uint64_t llm_base_requests, llm_base_failures, llm_base_tokens;
    char error[1024];
};

/* Async mode: the state of a job slot. */
enum { SLOT_FREE, SLOT_RUNNING, SLOT_DONE };

/* The stop level: 0 none, 1 stop after the jobs in flight, 2 give them up. */
int qdi_search_stopped(const qd_search *s);
/* After a stop, nonzero once the jobs still running are to be given up
 * (a second stop, or the grace period is over). */
int qdi_search_give_up(qd_search *s);
/* Gives up the jobs in flight (pool, LLM sessions, evaluator cancel). */
void qdi_search_cancel_jobs(qd_search *s);
/* Fills in a fresh job of mutator `mutator` (id, cleared results). */
void qdi_search_prepare_job(qd_search *s, qd_job *job, size_t mutator);
/* One async iteration (search_async.c); QD_EINTR when a stop left
 * nothing to count. */
int qdi_search_async_step(qd_search *s, qd_metrics *row);

/* The header of archive.json (version, seed, the config with credentials
 * redacted, counts); the caller owns it. NULL when out of memory. */
cJSON *qdi_search_header(const qd_search *s);
/* Threads a save point may use: the run's workers (at least 1). */
size_t qdi_search_save_threads(const qd_search *s);
/* Sets up the ground-truth archive when the evaluator has true measures
 * ("truth_archive" in the config, default a grid of 50 bins per measure
 * over their ranges). */
int qdi_truth_new(qd_search *s, qd_config *cfg);
void qdi_truth_free(qd_search *s);
/* Bins the iteration's successful solutions by their true measures. */
int qdi_truth_observe(qd_search *s);
/* Fills row's truth_* fields (NaN without ground truth). */
int qdi_truth_metrics(qd_search *s, qd_metrics *row);
/* Before an iteration: lets the evaluator re-learn its measures and, when
 * it did, moves the elites into fresh archives (search_rebuild.c). */
int qdi_search_relearn(qd_search *s);

/* Records a failed job (reason counted by kind, row kept for failures.jsonl). */
int qdi_search_record_failure(qd_search *s, qd_job *job);
/* Counts a job's outcome for the failure caps: failures in a row and the
 * window of the last failure_window jobs. */
void qdi_search_outcome(qd_search *s, int failed);
/* Appends a metrics row. */
int qdi_search_push_metrics(qd_search *s, const qd_metrics *row);
/* Seconds the search has run (including the run before a resume). */
double qdi_search_elapsed(const qd_search *s);
/* Makes the elapsed time read secs now (resume). */
void qdi_search_set_elapsed(qd_search *s, double secs);
/* Forgets counts, metrics and failures read from a bad checkpoint. */
void qdi_search_reset_loaded(qd_search *s);
/* Appends the metrics rows not yet in the journal at path (a new journal
 * for a run that has not written one there) and syncs it. */
int qdi_checkpoint_journal_append(qd_search *s, const char *path);
/* Reads the first n rows of the journal at path into the history, cuts off
 * what follows and keeps it open for appending. Errors name the file. */
int qdi_checkpoint_journal_load(qd_search *s, const char *path, size_t n, char *err, size_t errlen);

#endif
