/* elites.h - public API of libelites, a quality-diversity search library.
 *
 * A search keeps an archive of elites (the best solution found in each cell of
 * a measure space) and fills it with an ask / evaluate / tell loop whose
 * variation operators (mutators) and scoring (evaluators) are plug-ins picked
 * by name from a JSON config. Library users can register their own plug-in
 * types before building a search. See DESIGN.md for the architecture.
 *
 * Conventions: functions that can fail return an int status (QD_OK = 0, a
 * negative QD_E* code otherwise) and give results through out parameters;
 * objects keep their last error text. Each comment says who owns memory.
 */
#ifndef ELITES_H
#define ELITES_H

#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <gsl/gsl_rng.h>
#include <cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- random numbers ---------------------------------------------------- */

/* xoshiro256++ (Blackman & Vigna 2018) as a GSL RNG type: 32 bytes of
 * state, seeded from one 64-bit word through splitmix64 (a few ns); the
 * run config's "rng": "xoshiro256++" picks it. Static: never freed. */
extern const gsl_rng_type *qd_rng_xoshiro256pp;
/* A N(0, sigma^2) draw: elites' ziggurat when rng is xoshiro256++, else
 * GSL's gsl_ran_gaussian_ziggurat (the same numbers as calling it). */
double qd_ran_gaussian(const gsl_rng *rng, double sigma);
/* n such draws into out (the same numbers as n calls, in a tighter loop). */
void qd_ran_gaussian_fill(const gsl_rng *rng, double sigma, double *out, size_t n);
/* k distinct indices below n into out[0..k) (k <= n), each drawn with
 * gsl_rng_uniform_int and drawn again while it repeats an earlier one. */
void qd_rng_pick_distinct(const gsl_rng *rng, size_t n, size_t k, size_t *out);

/* ---- status codes ------------------------------------------------------ */

enum {
    QD_OK = 0,
    QD_EINVAL = -1,    /* bad argument or configuration */
    QD_ENOMEM = -2,    /* out of memory */
    QD_EIO = -3,       /* file or process I/O failed */
    QD_EHTTP = -4,     /* HTTP request failed */
    QD_ENOTFOUND = -5, /* a named thing does not exist */
    QD_EEVAL = -6,     /* an evaluation or production failed */
    QD_EFORMAT = -7,   /* a file is not in the expected format */
    QD_EEXIST = -8,    /* a name is already taken */
    QD_ETIMEOUT = -9,  /* an operation timed out */
    QD_EINTR = -10,    /* interrupted by a signal */
    QD_ENOSPC = -11,   /* no space left on the device (or over quota) */
    QD_ETOOBIG = -12   /* a request does not fit (a model's context) */
};

/* Returns a static description of a status code. */
const char *qd_strerror(int code);

/* Returns the library version string (static). */
const char *qd_version(void);

/* Writes v into buf (at least 32 bytes, the caller's) as the shortest
 * decimal that reads back (strtod) as v bit for bit, laid out as printf's
 * %.15g or %.17g would, or "nan", "inf", "-inf"; the numbers of
 * metrics.csv and archive.csv are written so. Returns buf. */
char *qd_format_double(char *buf, double v);

/* Initialises process-wide state (libcurl, GSL's error handler) once, before
 * any thread starts. Safe to call more than once. */
int qd_global_init(void);

/* ---- solutions --------------------------------------------------------- */

typedef enum { QD_GENOME_REAL = 0, QD_GENOME_TEXT = 1 } qd_genome_kind;

/* A candidate or an elite. For a real genome x holds n numbers and text is
 * NULL; for a text genome text is set and x is NULL. meta and lineage are
 * JSON texts (or NULL): meta holds what the evaluator reported (raw AI
 * feedback, token counts), lineage what produced the solution (parents,
 * prompt). In a job, x and measures point into buffers owned by the search;
 * text, meta and lineage are malloc'd and owned by the solution. */
typedef struct qd_solution {
    double *x;
    size_t n;
    char *text;
    double objective;
    double *measures;
    size_t m;
    char *meta;
    char *lineage;
} qd_solution;

/* Replaces sol->text with a copy of text (NULL clears it). */
int qd_solution_set_text(qd_solution *sol, const char *text);
/* Replaces sol->meta with a copy of a JSON text (NULL clears it). */
int qd_solution_set_meta(qd_solution *sol, const char *json);
/* Replaces sol->lineage with a copy of a JSON text (NULL clears it). */
int qd_solution_set_lineage(qd_solution *sol, const char *json);
/* Frees text, meta and lineage and sets them to NULL; x and measures are
 * not touched (they belong to whoever allocated them). */
void qd_solution_clear(qd_solution *sol);

/* ---- search space ------------------------------------------------------ */

/* What an evaluator declares about the problem: genome kind and length,
 * genome bounds (infinite when unbounded), the number of measures with
 * their natural ranges (NaN when unknown) and names, and the objective's
 * range (NaN when unknown; objective_min becomes the archive's default
 * qd_score_offset). Arrays are owned by the space. */
typedef struct qd_space {
    qd_genome_kind kind;
    size_t dim;
    double *lower, *upper;
    size_t measures;
    double *measure_lower, *measure_upper;
    char **measure_names;
    double objective_min, objective_max;
    /* Optional names along each measure's axis, NULL when none was set (see
     * qd_space_set_measure_labels); for drawings only. */
    char ***measure_labels;  /* per measure: NULL or a NULL-terminated list */
    int *measure_categorical; /* per measure: 1 categories, 0 low/high ends */
} qd_space;

/* Allocates a space's arrays: genome bounds (-inf, inf), measure ranges NaN,
 * measure names "measure_0", ...; objective range NaN. */
int qd_space_init(qd_space *s, qd_genome_kind kind, size_t dim, size_t measures);
/* Sets the name of measure i (copied). */
int qd_space_set_measure_name(qd_space *s, size_t i, const char *name);
/* Names measure i's axis (labels copied): categorical, label j names the
 * values [j, j + 1) (n >= 1); otherwise n == 2 and labels are the names of
 * the low and the high end ("romance", "horror"). */
int qd_space_set_measure_labels(qd_space *s, size_t i, const char *const *labels, size_t n, int categorical);
/* Frees a space's arrays (not the struct). */
void qd_space_free(qd_space *s);
/* Deep-copies src into dst (dst's old arrays are not freed). */
int qd_space_copy(qd_space *dst, const qd_space *src);

/* ---- configuration ----------------------------------------------------- */

/* A view on one JSON object of a config, with its path ("mutators[1]") for
 * error messages. Readers mark the keys they know, write defaults back into
 * the tree (so the saved config echo is complete) and check values against a
 * rule. Child views are owned by the root and freed with it. The first error
 * is kept in the root (qd_config_error) and every later call returns
 * QD_EINVAL at once. */
typedef struct qd_config qd_config;

/* Parses a JSON text; source names it in messages (a file path).
 * On failure returns QD_EFORMAT/QD_ENOMEM, *out is NULL and err holds why. */
int qd_config_parse(const char *text, const char *source, qd_config **out, char *err, size_t errlen);
/* Reads and parses a JSON file. Errors as qd_config_parse (QD_EIO if unreadable). */
int qd_config_load_file(const char *path, qd_config **out, char *err, size_t errlen);
/* Wraps a cJSON object; the config takes ownership of json. */
int qd_config_wrap(cJSON *json, const char *source, qd_config **out);
/* Frees a root config, its tree and all child views. Accepts NULL. */
void qd_config_free(qd_config *root);

/* Applies "path=value" (path like evaluator.dim or mutators[0].sigma): the
 * value is typed as the existing field is (number, bool, string, JSON), or
 * parsed as JSON and else taken as a string when the field is absent. */
int qd_config_set(qd_config *root, const char *assignment);

/* Returns the first error message, or "" (owned by the root). */
const char *qd_config_error(const qd_config *c);
/* Returns the source name (file path) of the config. */
const char *qd_config_source(const qd_config *c);
/* Returns the dotted path of this view ("" for the root). */
const char *qd_config_path(const qd_config *c);
/* Returns the JSON object this view reads (borrowed). */
cJSON *qd_config_json(const qd_config *c);
/* A deep copy of the view's JSON with every URL's user:password@ and any
 * "api_key" value redacted: what a file or a message may show of a config.
 * The caller frees it (cJSON_Delete); NULL when out of memory. */
cJSON *qd_config_redacted(const qd_config *c);
/* Sets the error "<source>: <path>.<key> <message>" and returns QD_EINVAL. */
int qd_config_fail(qd_config *c, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Nonzero if the key is present (and marks it known). */
int qd_config_has(qd_config *c, const char *key);
/* Error "<path>.<key> is required" unless the key is present. */
int qd_config_require(qd_config *c, const char *key);
/* Optional number: *v holds the default on entry. rule is NULL or a list of
 * bounds such as "> 0", ">= 0 <= 1"; values must be finite. */
int qd_config_number(qd_config *c, const char *key, double *v, const char *rule);
/* As qd_config_number for integers (a JSON number with no fraction). */
int qd_config_int(qd_config *c, const char *key, long *v, const char *rule);
/* Optional boolean; *v holds the default (0 or 1). */
int qd_config_bool(qd_config *c, const char *key, int *v);
/* Optional string; *v holds the default (may be NULL) and on return points
 * into the tree or at the default (borrowed). */
int qd_config_string(qd_config *c, const char *key, const char **v);
/* Optional string among NULL-terminated choices; *index holds the default. */
int qd_config_choice(qd_config *c, const char *key, const char *const *choices, int *index);
/* Optional number or array of n numbers (a single number is repeated);
 * out holds the defaults on entry. rule as for qd_config_number. */
int qd_config_vector(qd_config *c, const char *key, double *out, size_t n, const char *rule);
/* Array of numbers of any length (NULL rule: any finite); *out is
 * malloc'd (caller frees) and NULL with *n = 0 when absent and not required. */
int qd_config_numbers(qd_config *c, const char *key, int required, double **out, size_t *n, const char *rule);
/* Child object view; when absent and not required, an empty object is added
 * to the tree. *child is owned by the root. */
int qd_config_object(qd_config *c, const char *key, int required, qd_config **child);
/* Length of an array field (error if present and not an array; 0 if absent
 * and not required). */
int qd_config_array_size(qd_config *c, const char *key, int required, size_t *n);
/* View of the object at key[i]. */
int qd_config_array_object(qd_config *c, const char *key, size_t i, qd_config **child);
/* Error naming the first key of this object that no reader asked for. */
int qd_config_check_keys(qd_config *c);

/* ---- archive ----------------------------------------------------------- */

typedef enum { QD_NOT_ADDED = 0, QD_IMPROVE = 1, QD_NEW = 2 } qd_add_status;

/* The outcome of an add: status, cell, and value = objective minus the
 * cell's threshold before the add (the improvement CMA-ME ranks by; for a
 * new cell with no threshold, the objective itself). */
typedef struct qd_add_result {
    qd_add_status status;
    size_t cell;
    double value;
} qd_add_result;

typedef struct qd_archive_stats {
    size_t cells, filled;
    double coverage;   /* filled / cells */
    double qd_score;   /* sum over elites of (objective - qd_score_offset) */
    double norm_qd_score; /* qd_score / cells */
    double obj_max, obj_mean; /* NaN when empty */
} qd_archive_stats;

/* A read-only view of one elite; pointers are valid until the archive is
 * next modified. */
typedef struct qd_elite {
    size_t cell;
    const double *x;
    size_t n;
    const char *text;
    double objective;
    double threshold;
    const double *measures;
    size_t m;
    const char *meta;
    const char *lineage;
} qd_elite;

typedef struct qd_archive qd_archive;

/* A tessellation of measure space into cells (grid, CVT); the generic
 * archive does the storage, add, sampling and stats. */
typedef struct qd_archive_type {
    const char *name;
    size_t state_size;
    /* Reads its config (dims, bins...), sets *cells. */
    int (*init)(void *state, qd_config *cfg, const qd_space *space, size_t *cells);
    /* Cell of a finite measure vector. */
    size_t (*find)(const void *state, const double *measures);
    /* Optional: cell coordinates (one per measure dimension, grid only). */
    void (*coords)(const void *state, size_t cell, size_t *coords);
    /* Optional: adds data the config does not hold (centroids) to the saved
     * archive description. */
    int (*describe)(const void *state, cJSON *out);
    void (*fini)(void *state);
} qd_archive_type;

/* Builds an archive from its config section for a space; the config's
 * resolved values (ranges from the space, defaults) are written back.
 * Errors are in qd_config_error(cfg). The caller owns *out. */
int qd_archive_new(qd_config *cfg, const qd_space *space, qd_archive **out);
/* Frees an archive. Accepts NULL. */
void qd_archive_free(qd_archive *a);
/* Adds a solution (copied; meta and lineage kept as compact JSON, the form
 * archive.json gives back) when its objective beats the cell's threshold
 * (threshold_min for an empty cell): sets res->status to NEW, IMPROVE or
 * NOT_ADDED and res->value to the improvement. QD_EINVAL for a NaN/infinite objective
 * or measure (reason in qd_archive_error). */
int qd_archive_add(qd_archive *a, const qd_solution *sol, qd_add_result *res);
/* Adds n solutions as one batch, as pyribs does: each is judged against the
 * archive as it was before the batch (res[i] as for qd_archive_add); per
 * cell the best entrant becomes the elite and the threshold takes the
 * CMA-MAE batch update. QD_EINVAL (nothing added) if any solution is
 * invalid; qd_archive_error names it. */
int qd_archive_add_batch(qd_archive *a, const qd_solution *const *sols, size_t n, qd_add_result *res);
/* Cell of a measure vector; QD_EINVAL for NaN. */
int qd_archive_find(const qd_archive *a, const double *measures, size_t *cell);
/* Cell of a uniformly drawn elite; QD_ENOTFOUND when empty. */
int qd_archive_sample(const qd_archive *a, gsl_rng *rng, size_t *cell);
/* The elite of a cell; QD_ENOTFOUND when the cell is empty. */
int qd_archive_elite(const qd_archive *a, size_t cell, qd_elite *out);
/* The i-th elite in insertion order (0 <= i < filled), for iteration. */
int qd_archive_elite_at(const qd_archive *a, size_t i, qd_elite *out);
/* Number of cells / of elites. */
size_t qd_archive_cells(const qd_archive *a);
size_t qd_archive_filled(const qd_archive *a);
/* Number of measures, genome kind and genome length. */
size_t qd_archive_measure_dim(const qd_archive *a);
qd_genome_kind qd_archive_genome_kind(const qd_archive *a);
size_t qd_archive_solution_dim(const qd_archive *a);
/* Threshold of a cell (threshold_min when empty). */
double qd_archive_threshold(const qd_archive *a, size_t cell);
/* Grid coordinates of a cell (one per measure); QD_ENOTFOUND if the archive
 * type has none. */
int qd_archive_coords(const qd_archive *a, size_t cell, size_t *coords);
/* Fills *st. */
void qd_archive_stats_get(const qd_archive *a, qd_archive_stats *st);
/* The CMA-MAE learning rate (1 for plain MAP-Elites). */
double qd_archive_learning_rate(const qd_archive *a);
/* The qd_score_offset in use. */
double qd_archive_qd_score_offset(const qd_archive *a);
/* The archive's last error text. */
const char *qd_archive_error(const qd_archive *a);
/* The archive's description (resolved config plus genome kind and sizes), as
 * saved in archive.json; borrowed. */
const cJSON *qd_archive_description(const qd_archive *a);

/* Writes the archive as JSON (header object extra, borrowed, is merged into
 * the top level: config echo, seed, counts) atomically to path. */
int qd_archive_save_json(const qd_archive *a, const cJSON *extra, const char *path, char *err, size_t errlen);
/* Writes one CSV row per elite (index, objective, measures_*, solution_* or
 * text, meta) atomically to path. */
int qd_archive_save_csv(const qd_archive *a, const char *path, char *err, size_t errlen);
/* Options of an SVG heatmap: the two measures on the x and y axes (ignored
 * for a 1-D archive), the plot's size in pixels, the raster resolution of a
 * CVT heatmap, the objective range of the colour scale (NaN: the elites'
 * min and max) and a title (borrowed; NULL for none). */
typedef struct qd_heatmap_options {
    size_t x_measure, y_measure;
    size_t size, raster;
    double vmin, vmax;
    const char *title;
} qd_heatmap_options;

/* Fills o with the defaults (measures 0 and 1, 480 px, raster 240, auto
 * colour range, no title). */
void qd_heatmap_defaults(qd_heatmap_options *o);
/* Writes the archive as an SVG heatmap (viridis by objective, a tooltip per
 * elite) atomically to path; opt NULL takes the defaults. Errors in err. */
int qd_archive_save_svg(const qd_archive *a, const qd_heatmap_options *opt, const char *path, char *err,
                        size_t errlen);
/* Loads an archive saved by qd_archive_save_json; the caller owns *out and,
 * if top is not NULL, *top (the whole parsed document). */
int qd_archive_load_json(const char *path, qd_archive **out, cJSON **top, char *err, size_t errlen);

/* ---- workers and jobs -------------------------------------------------- */

/* The search's LLM client (one per run) and a worker's connection to it
 * (one per thread); see "LLM client" below. */
typedef struct qd_llm qd_llm;
typedef struct qd_llm_session qd_llm_session;

/* Per-thread context handed to produce and evaluate: an RNG seeded for each
 * job from (run seed, job id), per-plugin thread state, and a buffer for the
 * reason of a failure. */
typedef struct qd_worker {
    unsigned id;
    gsl_rng *rng;
    void *eval_state;
    char error[512];
    qd_llm_session *llm; /* this thread's LLM session (NULL: no "llm" section) */
    double deadline;     /* CLOCK_MONOTONIC seconds by which the current job
                          * should be done (0: no limit; config job_timeout).
                          * Slow plug-ins honour it: a job that ends later
                          * is counted as timed out anyway. */
} qd_worker;

/* Records a failure reason in w->error and returns QD_EEVAL. */
int qd_worker_fail(qd_worker *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One candidate on its way through produce, evaluate and tell. */
typedef struct qd_job {
    uint64_t id;        /* run-wide job number */
    size_t mutator;     /* index of the mutator that asked it */
    qd_solution sol;
    void *data;         /* mutator-private payload; the mutator frees it */
    unsigned op;        /* mutator-private: what produce makes of the job */
    double *extra;      /* the mutator's job_extra numbers (plain data that
                         * travels with the job: a second parent in, CMA-ES's
                         * z and y out); owned by whoever made the job */
    int status;         /* QD_OK, or the failure code */
    char reason[512];   /* why it failed */
    qd_add_result add;  /* filled in before tell */
} qd_job;

/* ---- mutators ---------------------------------------------------------- */

typedef struct qd_mutator qd_mutator;

/* qd_mutator_type.flags: ask and tell take any number of jobs, one at a
 * time included (async mode then asks one job at a time; without it a
 * mutator is always asked and told its whole batch). */
#define QD_MUTATOR_ANY_N 1u
/* qd_mutator_type.flags: produce never reads w->rng (a mutator with no
 * produce never needs it). */
#define QD_MUTATOR_NO_RNG 2u
/* qd_mutator_type.flags: tell touches only its own instance (state, rng,
 * error) and reads the archive, so the tells of several instances may run
 * at once on the worker pool (CMA-ES's rank-mu update and decomposition). */
#define QD_MUTATOR_PARALLEL_TELL 4u

typedef struct qd_mutator_type {
    const char *name;
    size_t state_size;
    unsigned flags; /* QD_MUTATOR_* */
    /* Reads its config; sets m->batch. */
    int (*init)(qd_mutator *m, qd_config *cfg, const qd_space *space);
    /* Fills n jobs (genomes or produce payloads) on the main thread. */
    int (*ask)(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n);
    /* Optional: finishes a candidate in a worker (an LLM call, a child's
     * noise drawn from the job's stream w->rng). */
    int (*produce)(const qd_mutator *m, qd_job *job, qd_worker *w);
    /* Optional: learns from the add results of its own jobs. */
    int (*tell)(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n);
    /* Optional: checkpoint state. Called at a save point, maybe on a thread
     * of the save's own while the outputs are written on others (no job
     * runs then): it must only read the mutator. */
    int (*save)(const qd_mutator *m, cJSON *out);
    int (*load)(qd_mutator *m, const cJSON *in);
    void (*fini)(qd_mutator *m);
    /* Optional: writes the mutator's own outputs (LLMatic's prompt archive)
     * into the run's output folder dir, beside archive.json. */
    int (*write)(const qd_mutator *m, const char *dir, char *err, size_t errlen);
} qd_mutator_type;

/* A mutator instance: its type, private state (state_size bytes, zeroed),
 * jobs per iteration, the space, its own RNG stream, a restart count the
 * mutator raises when it starts over (CMA-ES restarts; the bandit scheduler
 * reselects on it) and its last error. */
struct qd_mutator {
    const qd_mutator_type *type;
    void *state;
    size_t batch;
    const qd_space *space;
    gsl_rng *rng;
    size_t index;
    uint64_t restarts;
    char error[512];
    qd_llm *llm; /* the search's LLM client, set before init (NULL: none) */
    size_t job_extra; /* set by init: numbers each job carries in job->extra */
};

/* Builds a mutator from its config section ("type" picks the kind).
 * The caller owns *out. Errors in qd_config_error(cfg). */
int qd_mutator_new(qd_config *cfg, const qd_space *space, size_t index, uint64_t seed, qd_mutator **out);
/* Frees a mutator. Accepts NULL. */
void qd_mutator_free(qd_mutator *m);
/* Sets m->error and returns code. */
int qd_mutator_fail(qd_mutator *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- evaluators -------------------------------------------------------- */

typedef struct qd_evaluator qd_evaluator;

/* qd_evaluator_type.flags: evaluate never reads w->rng, so the loop need
 * not seed it for each job (seeding a Mersenne Twister costs about 1 us,
 * half of a cheap benchmark evaluation's whole cost). */
#define QD_EVALUATOR_NO_RNG 1u
/* qd_evaluator_type.flags: evaluate is a computation of microseconds that
 * never blocks or waits (the benchmarks), so the loop's own thread may run
 * some of an iteration's jobs itself instead of waiting for the workers;
 * a plug-in that may hang, sleep or call out must not set it (the loop
 * would not see a stop while it runs). */
#define QD_EVALUATOR_FAST 2u

typedef struct qd_evaluator_type {
    const char *name;
    size_t state_size;
    unsigned flags; /* QD_EVALUATOR_* */
    /* Reads its config and declares the space (ev->space). */
    int (*init)(qd_evaluator *ev, qd_config *cfg);
    /* Sets sol->objective, sol->measures[0..m) and optionally meta;
     * thread-safe; on failure returns qd_worker_fail(w, ...). */
    int (*evaluate)(const qd_evaluator *ev, qd_solution *sol, qd_worker *w);
    /* Optional per-thread state (w->eval_state). */
    int (*worker_init)(const qd_evaluator *ev, qd_worker *w);
    void (*worker_fini)(const qd_evaluator *ev, qd_worker *w);
    void (*fini)(qd_evaluator *ev);
    /* Optional: the job running in w is given up (a second stop, or the
     * grace period ran out): make evaluate return soon, e.g. kill the
     * process it waits for. Called from the loop's thread while evaluate
     * may be running in w's thread, so it must be safe against it. */
    void (*cancel)(const qd_evaluator *ev, qd_worker *w);
    /* Optional: the ground-truth measures of the problem (the arm's end
     * effector) when the search runs on other ones (learned measures):
     * truth_space fills out (qd_space_init'd by the callee; the caller frees
     * it) with their number, ranges and names (QD_ENOTFOUND: this instance
     * has none); truth writes them for an
     * evaluated solution into g. Both run on the loop's thread. The loop
     * then reports QD score and coverage in that space (metrics.csv, the
     * summary). */
    int (*truth_space)(const qd_evaluator *ev, qd_space *out);
    int (*truth)(const qd_evaluator *ev, const qd_solution *sol, double *g);
    /* Optional: called on the loop's thread before iteration `iteration`
     * (1-based) runs, with the search archive (read only). It may learn new
     * measures (QDHF's online rounds): it then updates ev->space's measure
     * ranges and sets *rebuild, and the loop moves every elite into a fresh
     * archive with the new ranges, its measures from remeasure. Errors go in
     * ev->error. Only evaluators that set ev->remeasures at init do this. */
    int (*iterate)(qd_evaluator *ev, const qd_archive *a, uint64_t iteration, int *rebuild);
    int (*remeasure)(const qd_evaluator *ev, const qd_solution *sol, double *measures);
    /* Optional: checkpoint state (what iterate learnt). save and describe
     * run at a save point, maybe on a thread of the save's own while the
     * outputs are written on others (no job runs then): they must only
     * read the evaluator. */
    int (*save)(const qd_evaluator *ev, cJSON *out);
    int (*load)(qd_evaluator *ev, const cJSON *in);
    /* Optional: what the saved archive.json records about the evaluator
     * (QDHF: the projection in use and each round's training), into out. */
    int (*describe)(const qd_evaluator *ev, cJSON *out);
} qd_evaluator_type;

struct qd_evaluator {
    const qd_evaluator_type *type;
    void *state;
    qd_space space;
    char error[512];
    qd_llm *llm; /* the search's LLM client, set before init (NULL: none) */
    uint64_t seed;  /* the run's seed, set before init (1 outside a search) */
    int remeasures; /* set by init: iterate may change the measures */
};

/* Builds an evaluator from its config section. The caller owns *out. */
int qd_evaluator_new(qd_config *cfg, qd_evaluator **out);
/* The same with an LLM client (borrowed: it must outlive the evaluator;
 * NULL for none) and a seed, as a search gives its evaluator: what
 * evaluators that ask a language model (ai_feedback) need. Workers then
 * need a session of that client each (qd_worker.llm). */
int qd_evaluator_new_llm(qd_config *cfg, qd_llm *llm, uint64_t seed, qd_evaluator **out);
/* Frees an evaluator. Accepts NULL. */
void qd_evaluator_free(qd_evaluator *ev);

/* ---- plug-in registry -------------------------------------------------- */

/* Register a plug-in type under its name (the table must outlive its use);
 * QD_EEXIST if the name is taken. Call before building a search. */
int qd_register_archive(const qd_archive_type *t);
int qd_register_mutator(const qd_mutator_type *t);
int qd_register_evaluator(const qd_evaluator_type *t);
/* Look a type up by name; NULL if unknown. */
const qd_archive_type *qd_find_archive(const char *name);
const qd_mutator_type *qd_find_mutator(const char *name);
const qd_evaluator_type *qd_find_evaluator(const char *name);
/* Comma-separated names of a role ("archive", "mutator", "evaluator") into
 * buf, for messages. */
void qd_registry_names(const char *role, char *buf, size_t len);

/* ---- LLM client -------------------------------------------------------- */

/* One client per search speaks the OpenAI-compatible HTTP API (llama.cpp's
 * server, vLLM, Ollama, OpenAI): text completions with logprobs, chat
 * completions, embeddings. It is configured from the config's top-level
 * "llm" section; each worker thread calls it through its own session (a
 * curl handle; connections and DNS are shared). Retries, round-robin over
 * several base URLs, accounting and the record/replay cache live in the
 * client. The API key comes from an environment variable and is never
 * logged or written anywhere. */

typedef enum { QD_LLM_COMPLETIONS = 0, QD_LLM_CHAT = 1 } qd_llm_endpoint;

/* One request. Unset fields take the client's defaults. */
typedef struct qd_llm_request {
    qd_llm_endpoint endpoint;
    const char *system;        /* chat: optional system message */
    const char *prompt;        /* the prompt, or (chat) the user message */
    double temperature;        /* < 0: the client's default */
    long max_tokens;           /* 0: the client's default */
    const char *const *stop;   /* NULL-terminated; NULL: the client's default */
    long top_logprobs;         /* > 0: ask for this many alternatives per token */
    int seeded;                /* nonzero: send seed (sampling seed) */
    uint64_t seed;
    int generation;            /* nonzero: a mutator's generated text (counted in generations and truncated;
                                * a judge's answer, cut at its few max_tokens by design, is not) */
} qd_llm_request;

/* A token of a reply with its log-probability and top alternatives. */
typedef struct qd_llm_alt {
    char *token;
    double logprob;            /* -inf when the server gave none */
} qd_llm_alt;
typedef struct qd_llm_token {
    char *token;
    double logprob;
    qd_llm_alt *top;
    size_t ntop;
} qd_llm_token;

/* A parsed reply; every string is owned by the reply (qd_llm_reply_clear). */
typedef struct qd_llm_reply {
    char *text;                /* the completion ("" when the server gave none) */
    char *finish_reason;       /* NULL when not given */
    long prompt_tokens;        /* -1 when the server did not say */
    long completion_tokens;
    qd_llm_token *tokens;      /* logprobs of the first tokens (ntokens 0: none) */
    size_t ntokens;
    int from_cache;            /* answered from the record/replay cache */
} qd_llm_reply;

/* Failed attempts by kind, for the accounting. */
enum {
    QD_LLM_ERR_CONNECT, QD_LLM_ERR_TIMEOUT, QD_LLM_ERR_DROPPED, QD_LLM_ERR_HTTP_429,
    QD_LLM_ERR_HTTP_5XX, QD_LLM_ERR_HTTP_4XX, QD_LLM_ERR_BAD_REPLY, QD_LLM_ERR_TOO_LARGE,
    QD_LLM_ERR_REPLAY_MISS, QD_LLM_ERR_OTHER, QD_LLM_ERR_CONTEXT, QD_LLM_ERR_KINDS
};

/* Run-wide accounting of a client. */
typedef struct qd_llm_stats {
    uint64_t calls;            /* completion and embedding calls */
    uint64_t requests;         /* HTTP requests sent (what the server sees) */
    uint64_t resent;           /* of them, sent again by libcurl itself (a reused connection had died) */
    uint64_t retries;          /* attempts after the first of a call */
    uint64_t failures;         /* calls that failed after every retry */
    uint64_t cache_hits;       /* calls answered from the cache */
    uint64_t prompt_tokens, completion_tokens;
    uint64_t no_usage;         /* replies that gave no token counts */
    uint64_t label_scores;     /* answers scored from label logprobs */
    uint64_t label_bounded;    /* of them, with a label absent from the top logprobs */
    uint64_t generations;      /* replies to generation requests (qd_llm_request.generation) */
    uint64_t truncated;        /* of them, cut by max_tokens (finish_reason "length") */
    long context_tokens;       /* the server's context per request (0: not known) */
    uint64_t errors[QD_LLM_ERR_KINDS]; /* failed attempts by kind */
    double latency_mean, latency_p95;  /* seconds per successful attempt; NaN if none */
} qd_llm_stats;

/* Builds a client from a config's "llm" section (url, model, api_key_env,
 * sampling defaults, timeouts, retries, cache, replay); seed derives the
 * retry jitter. Errors in qd_config_error(cfg). The caller owns *out. */
int qd_llm_new(qd_config *cfg, uint64_t seed, qd_llm **out);
/* Frees a client (after its sessions). Accepts NULL. */
void qd_llm_free(qd_llm *llm);
/* Opens a session (one per thread) on a client; id numbers it. The caller
 * owns *out. */
int qd_llm_session_new(qd_llm *llm, unsigned id, qd_llm_session **out);
/* Frees a session. Accepts NULL. */
void qd_llm_session_free(qd_llm_session *s);
/* The CLOCK_MONOTONIC time by which the session's current job must end (0:
 * none): requests time out by then and no retry starts after it. The loop
 * sets it from job_timeout before each job. Accepts NULL. */
void qd_llm_session_set_deadline(qd_llm_session *s, double deadline);
/* Gives up the session's current and later requests (from any thread):
 * a transfer aborts within about a second and no retry starts. The loop
 * calls it when a stop gives up the jobs in flight. Accepts NULL. */
void qd_llm_session_cancel(qd_llm_session *s);
/* Sends a completion or chat request (retrying as configured) and parses
 * the reply into *reply (output only; the caller clears it after). On
 * failure returns QD_EHTTP, QD_ETIMEOUT, QD_EFORMAT, QD_ENOTFOUND (a
 * replay miss) or QD_ETOOBIG (the server said the prompt does not fit its
 * context; not retried) and qd_llm_session_error says why. */
int qd_llm_complete(qd_llm_session *s, const qd_llm_request *req, qd_llm_reply *reply);
/* Embeds a text; *vec (n numbers) is malloc'd and owned by the caller. */
int qd_llm_embed(qd_llm_session *s, const char *text, double **vec, size_t *n);
/* The session's last error text (owned by the session). */
const char *qd_llm_session_error(const qd_llm_session *s);
/* Fills *st with the client's accounting so far (thread-safe). */
void qd_llm_stats_get(const qd_llm *llm, qd_llm_stats *st);
/* What the client knows of the server's context: *tokens per request (0:
 * unknown; llm.context_tokens, else llama.cpp's /props n_ctx per slot, asked
 * once, or an error reply that names it; a session calling while another
 * asks /props waits for its answer) and *per_char, prompt tokens per prompt
 * character seen in usage.prompt_tokens (0: none yet). */
void qd_llm_context(qd_llm_session *s, long *tokens, double *per_char);
/* Counts an answer scored from label logprobs (qd_llm_label_probs) in
 * the accounting; bounded: labels that got the bound. Thread-safe. */
void qd_llm_count_label_score(qd_llm *llm, size_t bounded);
/* A static name for a failure kind ("timeout", "http_429", ...). */
const char *qd_llm_error_kind_name(int kind);
/* Writes the accounting as a JSON object into out (borrowed). */
int qd_llm_stats_json(const qd_llm *llm, cJSON *out);
/* Checks every base URL with one GET of <url>/models (not counted in the
 * stats): QD_OK when each answers 2xx, else QD_EHTTP/QD_ETIMEOUT with err
 * naming the URL (credentials redacted) and the cause. Skipped (QD_OK)
 * with llm.probe false or in replay mode. */
int qd_llm_probe(qd_llm *llm, char *err, size_t errlen);

/* Parses a completion or chat reply in any of the supported shapes
 * (OpenAI, vLLM, llama.cpp, Ollama) into *reply (output only; the caller
 * clears it after). QD_EFORMAT (why in err, reply zeroed) when it is not
 * JSON or holds no completion. */
int qd_llm_reply_parse(const char *json, qd_llm_reply *reply, char *err, size_t errlen);
/* Frees a reply's contents and zeroes it. */
void qd_llm_reply_clear(qd_llm_reply *reply);
/* How qd_llm_label_probs scored: the token position used, and how many
 * labels were absent from its top logprobs and so given the bound (the
 * smallest listed logprob, or the mass the list leaves if that is less). */
typedef struct qd_llm_label_info {
    size_t position;
    size_t bounded;
    double bound;              /* the logprob given them; -inf when none */
} qd_llm_label_info;

/* The probability of each of n answer labels from a reply's top logprobs,
 * at the first token position whose alternatives name any label. A token
 * names a label when, normalised (leading space, newline, quotes and
 * tokenizer markers dropped, trailing space and punctuation dropped,
 * lowercased: " Yes.", "\u0120yes", "YES" are "yes"), it is the label or a
 * prefix of it that starts no other label ("Y", "pos", the first piece " s"
 * of a label "sad" spelled in two tokens). A label's mass is the sum of its
 * tokens' probabilities; where the reply's own tokens go on to spell a
 * label of several tokens, that token's mass is multiplied by the rest of
 * the path (the whole label's probability); a first piece alone counts its
 * own probability, an upper bound of the label's. A label named by no
 * listed token gets the bound (see qd_llm_label_info), never 0. The masses
 * are normalised over the labels. p gets n numbers; *info (may be NULL)
 * says how. QD_ENOTFOUND when the reply has no logprobs or no position
 * names a label. */
int qd_llm_label_probs(const qd_llm_reply *reply, const char *const *labels, size_t n, double *p,
                       qd_llm_label_info *info);
/* What an LLM judge answered about a triplet (qd_llm_judge_triplet). */
typedef struct qd_llm_judgment {
    int closer;                /* 1: B is more similar to A, 2: C */
    double p_b;                /* p(B) from the logprobs; 1 or 0 from the answer text */
    int from_logprobs;         /* nonzero: scored from the answer's top logprobs */
} qd_llm_judgment;

/* Asks QDHF's question "Of B and C, which is more similar to A? Answer B
 * or C." about texts a, b, c (QDAIF's instruction format, temperature 0)
 * and fills *out from the answer's top logprobs, or from the first B or C
 * of the answer text when the reply has none. QD_EFORMAT when the answer
 * names neither; the errors of qd_llm_complete otherwise; why in err. */
int qd_llm_judge_triplet(qd_llm_session *s, qd_llm_endpoint endpoint, const char *a, const char *b, const char *c,
                         qd_llm_judgment *out, char *err, size_t errlen);
/* Reads the first number in a rating answer ("7", "Rating: 8.5/10") and
 * checks lo <= v <= hi; QD_ENOTFOUND when there is none, QD_EINVAL when out
 * of range. */
int qd_llm_parse_rating(const char *text, double lo, double hi, double *v);

/* ---- logging ----------------------------------------------------------- */

/* Where the library's notes go (one line each, no newline); the default
 * writes "elites: <line>" to stderr. NULL restores the default. */
void qd_set_log_handler(void (*fn)(void *ctx, const char *line), void *ctx);

/* ---- search ------------------------------------------------------------ */

/* One row of metrics, after an iteration. */
typedef struct qd_metrics {
    uint64_t iteration;
    uint64_t evaluations; /* successful evaluations so far */
    uint64_t failed;      /* failed jobs so far */
    uint64_t new_cells, improved; /* this iteration: cells filled, IMPROVE statuses */
    qd_archive_stats stats;
    double seconds;       /* wall time since the search started */
    uint64_t llm_requests, llm_failures, llm_tokens; /* LLM client totals so far (0 without one) */
    /* With ground-truth measures (qd_evaluator_type.truth), NaN without:
     * the result archive's elites re-binned in the ground-truth grid
     * ("archive solutions") and every solution evaluated so far binned there
     * ("all solutions"): normalised QD score and coverage. */
    double truth_qd_score, truth_coverage, truth_all_qd_score, truth_all_coverage;
    /* When the measures were re-learned before this iteration (online
     * QDHF): the archive's coverage before and after the rebuild; NaN else. */
    double rebuild_coverage_before, rebuild_coverage_after;
} qd_metrics;

/* Run-wide counts: jobs asked, evaluated (successfully) and failed; cells
 * newly filled; solutions whose add status was IMPROVE / NOT_ADDED. */
typedef struct qd_counts {
    uint64_t iterations, asked, evaluated, failed, new_cells, improved, not_added;
} qd_counts;

/* Output options read from the config's "output" section. */
typedef struct qd_output_options {
    const char *dir;      /* default output folder (NULL: none set) */
    long log_every;       /* iterations between plain log lines */
    double save_every;    /* seconds between intermediate saves (0: only at end) */
    long checkpoint_every; /* iterations between checkpoints (0: with each save) */
    double heatmap_range[2]; /* objective range of the heatmaps' colours (NaN: the elites') */
    long max_failed_saves; /* save points failing in a row that stop the run (default 3) */
} qd_output_options;

/* Gets the output folder dir ready before a run: creates it, writes and
 * removes a probe file (so a file in its place or a folder that cannot be
 * written is found before any work is done), and removes the temporary
 * files an earlier, killed run left there (NAME.tmp and NAME.tmp.XXXXXX of
 * the outputs, a checkpoint.tmp/ folder); *removed (may be NULL) gets
 * their number. Errors name the folder and the cause. */
int qd_output_prepare(const char *dir, size_t *removed, char *err, size_t errlen);

/* Options of an HTML report: title and description (NULL: none), the run's
 * config shown folded (NULL: none), the metrics rows for the progress charts
 * (NULL/0: none), the heatmap's options, and extra_html, markup placed as it
 * is after the progress charts (NULL: none; `elites export --compare` puts
 * a comparison with other runs there). All borrowed. */
typedef struct qd_report_options {
    const char *title, *description;
    const cJSON *config;
    const qd_metrics *metrics;
    size_t nmetrics;
    qd_heatmap_options heatmap;
    size_t svg_cells; /* archives of more cells get a canvas map (0: 4096) */
    const char *extra_html;
} qd_report_options;

/* Fills o with empty fields and the heatmap defaults. */
void qd_report_defaults(qd_report_options *o);
/* Writes report.html: one self-contained page (summary, heatmap, progress
 * charts, a browsable table of the elites with each one's text or genome,
 * meta and lineage) atomically to path; opt NULL takes the defaults. */
int qd_archive_save_html(const qd_archive *a, const qd_report_options *opt, const char *path, char *err,
                         size_t errlen);

typedef struct qd_search qd_search;

/* Builds a search from a config (seed, iterations, evaluator, archive,
 * mutators, output). The config is borrowed and must outlive the search; its
 * tree receives the resolved defaults. Errors in qd_config_error(cfg). */
int qd_search_new(qd_config *cfg, qd_search **out);
/* Frees a search. Accepts NULL. */
void qd_search_free(qd_search *s);
/* Runs one iteration: ask every mutator, produce and evaluate each job,
 * add the results in job order, tell each mutator, record metrics. */
int qd_search_step(qd_search *s);
/* Nonzero once the configured iterations are done, or a stop has been
 * carried out (async: the jobs in flight collected or given up). */
int qd_search_done(const qd_search *s);
/* Asks the search to stop (safe from a signal handler): the jobs in flight
 * may finish for the config's "grace" seconds (default 30). A second call
 * gives them up at once. Jobs given up keep running in their threads (C
 * cannot cancel a thread safely). In batch mode qd_search_step then
 * returns QD_EINTR (the iteration is dropped, the archive is as after the
 * last whole iteration); in async mode it records the jobs that came back
 * as a short iteration (QD_EINTR if none did). The search can still be
 * saved (qd_search_abandoned tells it happened), and qd_search_free
 * waits for them to return (a program in a hurry exits instead). */
void qd_search_stop(qd_search *s);
/* Nonzero in mode "async" (results told as they land: not bit-reproducible). */
int qd_search_async(const qd_search *s);
/* Nonzero once a stop gave up jobs that were still running. */
int qd_search_abandoned(const qd_search *s);
/* Writes a checkpoint into dir/checkpoint/ (archives, every mutator's state
 * and RNG, the scheduler, counts, metrics, failures; exact numbers), the
 * previous one kept as dir/checkpoint.prev/ until the new one is complete.
 * Refused (QD_EINVAL) after a batch iteration was given up half way. */
int qd_search_checkpoint(qd_search *s, const char *dir);
/* Loads the checkpoint of dir into a search just built from the same config
 * (only iterations, output, workers, inflight, job_timeout, grace, name,
 * description and the LLM connection settings may differ: anything else is
 * refused naming the field). A bad newest checkpoint falls back to
 * dir/checkpoint.prev/, saying so in note (may be NULL). Errors name the
 * file; the search must then be freed. */
int qd_search_resume(qd_search *s, const char *dir, char *note, size_t notelen);
/* The resolved config a checkpoint in dir was written with (from
 * dir/checkpoint/, else dir/checkpoint.prev/), to resume without the
 * original config file. The caller owns *out; errors name the files. */
int qd_checkpoint_config(const char *dir, qd_config **out, char *err, size_t errlen);
/* Writes archive.json, archive.csv, metrics.csv, heatmap.svg, report.html
 * (and failures.jsonl when there were failures, llm.json when there is an
 * LLM client) into dir, each atomically. */
int qd_search_save(qd_search *s, const char *dir);
/* One save point of both: the checkpoint (as qd_search_checkpoint) and the
 * outputs (as qd_search_save) of the same state into dir, the outputs
 * written while the checkpoint is, each file on its own thread (each
 * spends much of its time waiting on its fsync). The files and their bytes are
 * those of the two calls in turn. The checkpoint's status goes to
 * *checkpoint_rc and its error to checkpoint_err (checkpoint_errlen bytes,
 * the caller's; "" when it was written); the return value and
 * qd_search_error are the outputs'. When the checkpoint finds the disk
 * full, the outputs' files are removed and the checkpoint is written again
 * alone, so it has the space it would have had first; if the disk is still
 * full, the outputs are written after it only with outputs_on_full_disk
 * (else none are, and QD_OK is returned). When only an output finds the
 * disk full, the outputs are written again after the checkpoint, alone:
 * either way a full disk has the effect the two calls in turn would have. */
int qd_search_save_point(qd_search *s, const char *dir, int outputs_on_full_disk, int *checkpoint_rc,
                         char *checkpoint_err, size_t checkpoint_errlen);
/* Accessors (borrowed pointers, valid for the search's life). */
const qd_archive *qd_search_archive(const qd_search *s);
/* The archive results are reported from: with CMA-MAE (learning_rate < 1)
 * a plain archive of the same cells that keeps the best solution per cell,
 * since the search archive's elites may be replaced by worse ones; else the
 * search archive itself. It is what qd_search_save writes. */
const qd_archive *qd_search_result_archive(const qd_search *s);
const qd_metrics *qd_search_last_metrics(const qd_search *s);
const qd_counts *qd_search_counts(const qd_search *s);
const qd_output_options *qd_search_output(const qd_search *s);
uint64_t qd_search_seed(const qd_search *s);
uint64_t qd_search_iterations(const qd_search *s);
const char *qd_search_error(const qd_search *s);
/* The search's LLM client, or NULL when the config has no "llm" section. */
const qd_llm *qd_search_llm(const qd_search *s);
/* Before a run: checks that the LLM server (if the config has an "llm"
 * section, and llm.probe is not false) answers and accepts the key, one
 * GET of <url>/models per base URL; errors in qd_search_error name the URL
 * (credentials redacted) and the cause. */
int qd_search_probe(qd_search *s);
/* The reason the last failed job gave, or NULL if none failed. */
const char *qd_search_last_failure(const qd_search *s);
/* Number of distinct failure reasons and the i-th (reason, count). */
size_t qd_search_failure_kinds(const qd_search *s);
const char *qd_search_failure_kind(const qd_search *s, size_t i, uint64_t *count);

/* ---- comparing runs ----------------------------------------------------- */
/* Reads a metrics.csv written by qd_search_save (columns found by header
 * name; empty obj_max / obj_mean read as NaN). *rows is malloc'd and owned by
 * the caller (NULL with *n 0 on error); errors name the file, line and
 * column. */
int qd_metrics_load_csv(const char *path, qd_metrics **rows, size_t *n, char *err, size_t errlen);
/* One run in a comparison: its legend name, its group (runs with the same
 * group are seeds of one config, drawn as their mean with a min-max band;
 * NULL: drawn alone) and its metrics rows in order. All borrowed. */
typedef struct qd_run_series {
    const char *label, *group;
    const qd_metrics *rows;
    size_t nrows;
} qd_run_series;
/* Writes an SVG element (no XML prologue, so it also fits inside HTML) of
 * QD score, coverage and best objective against evaluations, the runs
 * overlaid with a legend, groups as mean and min-max band; title may be
 * NULL. QD_EINVAL for no runs or a run without rows. */
int qd_runs_plot_svg(FILE *fp, const qd_run_series *runs, size_t n, const char *title, char *err, size_t errlen);
/* The same as an SVG file, written atomically to path. */
int qd_runs_save_svg(const qd_run_series *runs, size_t n, const char *title, const char *path, char *err,
                     size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
