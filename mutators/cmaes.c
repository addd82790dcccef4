/* cmaes.c - the CMA-ES emitter of CMA-ME (Fontaine et al. 2020) and CMA-MAE
 * (Fontaine & Nikolaidis 2023), as pyribs' EvolutionStrategyEmitter.
 *
 * A CMA-ES instance (cma_es.c) samples the batch; after the archive has
 * judged it, the emitter ranks the solutions by the archive's feedback
 * instead of the objective and updates the distribution from the best:
 *   improvement            by improvement value (f - threshold)
 *   two_stage_improvement  new cells first, then improved, then the rest;
 *                          by value inside each group (pyribs' default)
 *   objective              by objective (an optimizing emitter)
 *   random_direction       by the projection of the measures on a random
 *                          direction (new every restart)
 *   two_stage_random_direction  new / improved / rest, then by projection
 * Parents are the top mu ("mu") or only the solutions the archive took
 * ("filter"). Restart from a random elite (x0 while the archive is empty)
 * with C = I and sigma0 when no solution of a generation entered the archive
 * ("no_improvement") or on CMA-ES's own stopping criteria ("basic"). Failed
 * jobs rank last and are never parents.
 *
 * The workers sample: ask hands every job the generation's mean, sigma and
 * B D (shared, read only until the tell), produce draws the job's z from
 * its own stream and computes x, and the jobs bring z and y back for tell.
 * Tells touch only the emitter (QD_MUTATOR_PARALLEL_TELL), so several
 * emitters' rank-mu updates and decompositions run on the pool at once.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "mutators/cma_es.h"
#include "mutators/seeding.h"

enum { RANK_IMPROVEMENT, RANK_TWO_STAGE_IMPROVEMENT, RANK_OBJECTIVE, RANK_RANDOM_DIRECTION, RANK_TWO_STAGE_RD };
enum { SELECT_FILTER, SELECT_MU };
enum { RESTART_NO_IMPROVEMENT, RESTART_BASIC };

typedef struct cmaes {
    qdi_cma_es *es;
    int ranker, selection, restart_rule;
    double sigma0, eigen_gap;
    qdi_seeding seeding; /* x0 and clipping */
    double *direction;   /* random direction in measure space */
    size_t *order;       /* ranking scratch */
    double *key;         /* per-solution sort keys */
    int *group;
} cmaes;

static const char *const rankers[] = {"improvement", "two_stage_improvement", "objective", "random_direction",
                                      "two_stage_random_direction", NULL};
static const char *const selections[] = {"filter", "mu", NULL};
static const char *const restarts[] = {"no_improvement", "basic", NULL};

static void new_direction(qd_mutator *m)
{
    cmaes *c = m->state;
    double norm = 0;
    for (size_t k = 0; k < m->space->measures; k++) {
        c->direction[k] = qd_ran_gaussian(m->rng, 1.0);
        norm += c->direction[k] * c->direction[k];
    }
    norm = sqrt(norm);
    for (size_t k = 0; k < m->space->measures && norm > 0; k++)
        c->direction[k] /= norm;
}

static int cmaes_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    cmaes *c = m->state;
    long default_batch = 4 + (long)floor(3.0 * log((double)(space->dim ? space->dim : 1)));
    c->ranker = RANK_TWO_STAGE_IMPROVEMENT;
    c->selection = SELECT_FILTER;
    c->restart_rule = RESTART_NO_IMPROVEMENT;
    c->sigma0 = 0.5;
    /* evaluations between eigendecompositions, in units of
     * lambda / ((c1 + c_mu) n): pyribs' (and purecma's) 0.5 by default,
     * Hansen's tutorial says 0.1 (five times the decompositions, the same
     * search quality within noise: bench/RESULTS.md) */
    c->eigen_gap = 0.5;
    if (qd_config_number(cfg, "sigma0", &c->sigma0, "> 0") || qd_config_number(cfg, "eigen_gap", &c->eigen_gap, "> 0") ||
        qd_config_choice(cfg, "ranker", rankers, &c->ranker) ||
        qd_config_choice(cfg, "selection", selections, &c->selection) ||
        qd_config_choice(cfg, "restart", restarts, &c->restart_rule))
        return QD_EINVAL;
    /* the emitter starts at x0 (pyribs); "init" and "initial" do not apply */
    if (qdi_seeding_read(&c->seeding, m, cfg, space, default_batch, 0))
        return QD_EINVAL;
    if (m->batch < 2)
        return qd_config_fail(cfg, "batch", "must be >= 2 for CMA-ES, got %zu", m->batch);
    {
        /* C, B and BD are n x n doubles, the work matrix max(batch, n) x n:
         * bounded before they are allocated (n = 20,000 took 12.5 GB) */
        double n = (double)space->dim, rows = (double)m->batch > n ? (double)m->batch : n;
        double mb = (3.0 * n * n + rows * n + 2.0 * (double)m->batch * n) * sizeof(double) / 1048576.0;
        long max_mb = 2048;
        if (qd_config_int(cfg, "max_memory_mb", &max_mb, ">= 1"))
            return QD_EINVAL;
        if (mb > (double)max_mb)
            return qd_config_fail(cfg, NULL, "needs %.0f MB for CMA-ES's n x n matrices (n = %zu), more than its "
                                  "max_memory_mb (%ld) allows; raise it if the memory is there",
                                  mb, space->dim, max_mb);
    }
    if ((c->es = qdi_cma_es_new(space->dim, m->batch, c->sigma0, c->seeding.x0)))
        qdi_cma_es_set_eigen_gap(c->es, c->eigen_gap);
    m->job_extra = 2 * space->dim; /* z and y back from produce */
    c->direction = calloc(space->measures, sizeof *c->direction);
    c->order = malloc(m->batch * sizeof *c->order);
    c->key = malloc(m->batch * sizeof *c->key);
    c->group = malloc(m->batch * sizeof *c->group);
    if (!c->es || !c->direction || !c->order || !c->key || !c->group)
        return qd_config_fail(cfg, "type", "could not set up CMA-ES: out of memory");
    new_direction(m);
    return QD_OK;
}

/* Begins a generation: every job of the batch points at the emitter's
 * view of it (mean, sigma, B D; unchanged until this batch is told, so
 * shared read only); produce samples. */
static int cmaes_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    cmaes *c = m->state;
    const qdi_cma_es_view *v;
    (void)a;
    if (n != m->batch)
        return qd_mutator_fail(m, QD_EINVAL, "cmaes asks whole batches of %zu, not %zu", m->batch, n);
    v = qdi_cma_es_begin(c->es);
    for (size_t j = 0; j < n; j++)
        jobs[j].data = (void *)v;
    c->seeding.asked += n;
    return QD_OK;
}

/* In the worker: x = m + sigma B D z with z from the job's own stream; z
 * and y go back in job->extra for tell. */
static int cmaes_produce(const qd_mutator *m, qd_job *job, qd_worker *w)
{
    const cmaes *c = m->state;
    size_t dim = m->space->dim;
    qdi_cma_es_sample(job->data, w->rng, job->extra, job->extra + dim, job->sol.x);
    qdi_seeding_clip(&c->seeding, m->space, job->sol.x);
    return QD_OK;
}

/* Whether solution i ranks before j: by group (descending), key
 * (descending), index. */
static inline int ranks_before(const cmaes *c, size_t i, size_t j)
{
    if (c->group[i] != c->group[j])
        return c->group[i] > c->group[j];
    if (c->key[i] != c->key[j])
        return c->key[i] > c->key[j];
    return i < j;
}

/* Sorts c->order[0..n) by rank: an insertion sort with the comparison
 * inlined (a batch is tens of solutions; qsort_r's calls through a pointer
 * and its mispredicted merges were 9% of a CMA-ME n = 20 run). The order
 * is total (keys are finite or -inf), so any sort gives the same result. */
static void sort_by_rank(cmaes *c, size_t n)
{
    for (size_t k = 1; k < n; k++) {
        size_t v = c->order[k], p = k;
        while (p > 0 && ranks_before(c, v, c->order[p - 1])) {
            c->order[p] = c->order[p - 1];
            p--;
        }
        c->order[p] = v;
    }
}

/* pyribs' "basic" rule also stops when the ranking values are flat: the
 * best and the worst solution differ by less than 1e-12 (in group and
 * key; a failed job's -inf key is never flat). */
static int flat(const cmaes *c, size_t n)
{
    size_t best = c->order[0], worst = c->order[n - 1];
    return n >= 2 && c->group[best] == c->group[worst] && fabs(c->key[best] - c->key[worst]) < 1e-12;
}

static void restart(qd_mutator *m, const qd_archive *a)
{
    cmaes *c = m->state;
    size_t cell;
    qd_elite e;
    const double *mean = c->seeding.x0;
    if (qd_archive_sample(a, m->rng, &cell) == QD_OK && qd_archive_elite(a, cell, &e) == QD_OK)
        mean = e.x;
    qdi_cma_es_reset(c->es, mean, c->sigma0);
    new_direction(m);
    m->restarts++;
}

static int cmaes_tell(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    cmaes *c = m->state;
    size_t added = 0, parents;
    int two_stage = c->ranker == RANK_TWO_STAGE_IMPROVEMENT || c->ranker == RANK_TWO_STAGE_RD;
    for (size_t j = 0; j < n; j++) {
        const qd_job *job = &jobs[j];
        qdi_cma_es_put_sample(c->es, j, job->extra, job->extra + m->space->dim);
        c->order[j] = j;
        if (job->status != QD_OK) { /* failed: last, never a parent */
            c->group[j] = -1;
            c->key[j] = -INFINITY;
            continue;
        }
        if (job->add.status != QD_NOT_ADDED)
            added++;
        c->group[j] = two_stage ? (int)job->add.status : 0;
        switch (c->ranker) {
        case RANK_OBJECTIVE:
            c->key[j] = job->sol.objective;
            break;
        case RANK_RANDOM_DIRECTION:
        case RANK_TWO_STAGE_RD: {
            double p = 0;
            for (size_t k = 0; k < job->sol.m; k++)
                p += job->sol.measures[k] * c->direction[k];
            c->key[j] = p;
            break;
        }
        default:
            c->key[j] = job->add.value;
        }
    }
    sort_by_rank(c, n);
    parents = c->selection == SELECT_FILTER ? added : qdi_cma_es_mu(c->es);
    qdi_cma_es_tell(c->es, c->order, parents); /* with 0 parents it only counts the evaluations */
    if ((c->restart_rule == RESTART_NO_IMPROVEMENT && added == 0) ||
        (c->restart_rule == RESTART_BASIC && (qdi_cma_es_should_stop(c->es) || flat(c, n))) ||
        qdi_cma_es_failed(c->es))
        restart(m, a);
    /* here rather than in the next ask: tells run on the workers */
    qdi_cma_es_prepare(c->es);
    return QD_OK;
}

static int cmaes_save(const qd_mutator *m, cJSON *out)
{
    const cmaes *c = m->state;
    cJSON *es = cJSON_AddObjectToObject(out, "es");
    if (!es || qdi_seeding_save(&c->seeding, out) || qdi_cma_es_save(c->es, es))
        return QD_ENOMEM;
    cJSON_AddNumberToObject(out, "restarts", (double)m->restarts);
    cJSON *dir = qdi_json_doubles(c->direction, m->space->measures);
    if (!dir || !cJSON_AddItemToObject(out, "direction", dir)) {
        cJSON_Delete(dir);
        return QD_ENOMEM;
    }
    return QD_OK;
}

static int cmaes_load(qd_mutator *m, const cJSON *in)
{
    cmaes *c = m->state;
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(in, "direction");
    const cJSON *restarts_item = cJSON_GetObjectItemCaseSensitive(in, "restarts");
    if (qdi_seeding_load(&c->seeding, m, in) ||
        qdi_cma_es_load(c->es, cJSON_GetObjectItemCaseSensitive(in, "es")) != QD_OK)
        return qd_mutator_fail(m, QD_EFORMAT, "cmaes: checkpoint has no valid CMA-ES state");
    if (qdi_json_get_doubles(dir, c->direction, m->space->measures) != QD_OK)
        return qd_mutator_fail(m, QD_EFORMAT, "cmaes: checkpoint has no random direction of %zu numbers",
                               m->space->measures);
    m->restarts = qdi_json_is_whole(restarts_item, 0, QDI_JSON_COUNT_MAX) ? (uint64_t)restarts_item->valuedouble : 0;
    return QD_OK;
}

static void cmaes_fini(qd_mutator *m)
{
    cmaes *c = m->state;
    qdi_cma_es_free(c->es);
    qdi_seeding_free(&c->seeding);
    free(c->direction);
    free(c->order);
    free(c->key);
    free(c->group);
}

const qd_mutator_type qdi_mutator_cmaes = {
    .name = "cmaes",
    .state_size = sizeof(cmaes),
    .flags = QD_MUTATOR_PARALLEL_TELL,
    .init = cmaes_init,
    .ask = cmaes_ask,
    .produce = cmaes_produce,
    .tell = cmaes_tell,
    .save = cmaes_save,
    .load = cmaes_load,
    .fini = cmaes_fini,
};
