/* gaussian.c - the MAP-Elites mutator (Mouret & Clune 2015; pyribs'
 * GaussianEmitter): each child is a uniformly drawn elite plus isotropic
 * Gaussian noise N(0, sigma^2 I), optionally clipped to the genome bounds.
 * The first `initial` children, and any child asked while the archive is
 * empty, come from the initialiser instead: uniform in the genome bounds
 * ("uniform") or x0 plus the same noise ("x0", as pyribs does). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "src/internal.h"

enum { INIT_UNIFORM, INIT_X0 };

typedef struct gaussian {
    double sigma;
    int init, clip;
    double *x0;
    uint64_t initial, asked;
} gaussian;

static int bounded(const qd_space *space)
{
    for (size_t i = 0; i < space->dim; i++)
        if (!isfinite(space->lower[i]) || !isfinite(space->upper[i]))
            return 0;
    return 1;
}

static int gaussian_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    static const char *const inits[] = {"uniform", "x0", NULL};
    gaussian *g = m->state;
    long batch = 64, initial;
    int has_bounds = bounded(space);
    if (space->kind != QD_GENOME_REAL)
        return qd_config_fail(cfg, "type", "\"%s\" needs a real-valued genome; the evaluator's genome is text",
                              m->type->name);
    g->sigma = 0.1;
    g->init = has_bounds ? INIT_UNIFORM : INIT_X0;
    if (qd_config_number(cfg, "sigma", &g->sigma, "> 0") || qd_config_int(cfg, "batch", &batch, ">= 1 <= 10000000"))
        return QD_EINVAL;
    initial = batch;
    if (qd_config_choice(cfg, "init", inits, &g->init) || qd_config_int(cfg, "initial", &initial, ">= 0") ||
        qd_config_bool(cfg, "clip", &g->clip))
        return QD_EINVAL;
    if (!(g->x0 = calloc(space->dim + 1, sizeof *g->x0)))
        return qd_config_fail(cfg, "x0", "could not be set up: out of memory");
    if (qd_config_vector(cfg, "x0", g->x0, space->dim, NULL))
        return QD_EINVAL;
    if ((g->init == INIT_UNIFORM || g->clip) && !has_bounds)
        return qd_config_fail(cfg, g->clip ? "clip" : "init", "needs finite genome bounds, but the evaluator's genome is unbounded");
    m->batch = (size_t)batch;
    g->initial = (uint64_t)initial;
    return QD_OK;
}

static void clip(const qd_space *space, double *x)
{
    for (size_t i = 0; i < space->dim; i++) {
        if (x[i] < space->lower[i])
            x[i] = space->lower[i];
        else if (x[i] > space->upper[i])
            x[i] = space->upper[i];
    }
}

static int gaussian_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    gaussian *g = m->state;
    const qd_space *space = m->space;
    for (size_t j = 0; j < n; j++) {
        double *x = jobs[j].sol.x;
        size_t cell;
        qd_elite e;
        if (g->asked < g->initial || qd_archive_sample(a, m->rng, &cell) != QD_OK) {
            if (g->init == INIT_UNIFORM) {
                for (size_t i = 0; i < space->dim; i++)
                    x[i] = space->lower[i] + (space->upper[i] - space->lower[i]) * gsl_rng_uniform(m->rng);
            } else {
                for (size_t i = 0; i < space->dim; i++)
                    x[i] = g->x0[i] + gsl_ran_gaussian_ziggurat(m->rng, g->sigma);
            }
        } else {
            qd_archive_elite(a, cell, &e);
            for (size_t i = 0; i < space->dim; i++)
                x[i] = e.x[i] + gsl_ran_gaussian_ziggurat(m->rng, g->sigma);
        }
        if (g->clip)
            clip(space, x);
        g->asked++;
    }
    return QD_OK;
}

static int gaussian_save(const qd_mutator *m, cJSON *out)
{
    const gaussian *g = m->state;
    return cJSON_AddNumberToObject(out, "asked", (double)g->asked) ? QD_OK : QD_ENOMEM;
}

static int gaussian_load(qd_mutator *m, const cJSON *in)
{
    gaussian *g = m->state;
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(in, "asked");
    if (!cJSON_IsNumber(asked) || asked->valuedouble < 0)
        return qd_mutator_fail(m, QD_EFORMAT, "gaussian: checkpoint has no \"asked\" count");
    g->asked = (uint64_t)asked->valuedouble;
    return QD_OK;
}

static void gaussian_fini(qd_mutator *m)
{
    gaussian *g = m->state;
    free(g->x0);
}

const qd_mutator_type qdi_mutator_gaussian = {
    .name = "gaussian",
    .state_size = sizeof(gaussian),
    .init = gaussian_init,
    .ask = gaussian_ask,
    .save = gaussian_save,
    .load = gaussian_load,
    .fini = gaussian_fini,
};
