/* seeding.c - initial children and bounds handling shared by the
 * real-valued mutators (gaussian, isoline, cmaes). pyribs starts its
 * emitters from x0 ("x0" here); the MAP-Elites papers start from uniform
 * random genomes ("uniform", the default when the genome is bounded). */
#include <math.h>
#include <stdlib.h>
#include <gsl/gsl_randist.h>
#include "mutators/seeding.h"

static int bounded(const qd_space *space)
{
    for (size_t i = 0; i < space->dim; i++)
        if (!isfinite(space->lower[i]) || !isfinite(space->upper[i]))
            return 0;
    return 1;
}

int qdi_seeding_read(qdi_seeding *s, qd_mutator *m, qd_config *cfg, const qd_space *space, long default_batch,
                     int with_init)
{
    static const char *const inits[] = {"uniform", "x0", NULL};
    long batch = default_batch, initial;
    int has_bounds = bounded(space);
    if (space->kind != QD_GENOME_REAL)
        return qd_config_fail(cfg, "type", "\"%s\" needs a real-valued genome; the evaluator's genome is text",
                              m->type->name);
    s->init = has_bounds && with_init ? QDI_INIT_UNIFORM : QDI_INIT_X0;
    if (qd_config_int(cfg, "batch", &batch, ">= 1 <= 10000000"))
        return QD_EINVAL;
    initial = with_init ? batch : 0;
    if ((with_init && (qd_config_choice(cfg, "init", inits, &s->init) ||
                       qd_config_int(cfg, "initial", &initial, ">= 0"))) ||
        qd_config_bool(cfg, "clip", &s->clip))
        return QD_EINVAL;
    if (!(s->x0 = calloc(space->dim + 1, sizeof *s->x0)))
        return qd_config_fail(cfg, "x0", "could not be set up: out of memory");
    if (qd_config_vector(cfg, "x0", s->x0, space->dim, NULL))
        return QD_EINVAL;
    if ((s->init == QDI_INIT_UNIFORM || s->clip) && !has_bounds)
        return qd_config_fail(cfg, s->clip ? "clip" : "init",
                              "needs finite genome bounds, but the evaluator's genome is unbounded");
    m->batch = (size_t)batch;
    s->initial = (uint64_t)initial;
    return QD_OK;
}

int qdi_seeding_due(const qdi_seeding *s, const qd_archive *a)
{
    return s->asked < s->initial || qd_archive_filled(a) == 0;
}

void qdi_seeding_sample(const qdi_seeding *s, const qd_space *space, gsl_rng *rng, double sigma, double *x)
{
    for (size_t i = 0; i < space->dim; i++)
        x[i] = s->init == QDI_INIT_UNIFORM
                   ? space->lower[i] + (space->upper[i] - space->lower[i]) * gsl_rng_uniform(rng)
                   : s->x0[i] + qd_ran_gaussian(rng, sigma);
}

/* in blocks on the stack: the same numbers as one qd_ran_gaussian_fill */
void qdi_add_noise(const gsl_rng *rng, double sigma, double *x, size_t n)
{
    double noise[64];
    for (size_t i = 0; i < n; i += 64) {
        size_t k = n - i < 64 ? n - i : 64;
        qd_ran_gaussian_fill(rng, sigma, noise, k);
        for (size_t d = 0; d < k; d++)
            x[i + d] = x[i + d] + noise[d];
    }
}

void qdi_seeding_clip(const qdi_seeding *s, const qd_space *space, double *x)
{
    if (!s->clip)
        return;
    for (size_t i = 0; i < space->dim; i++) {
        if (x[i] < space->lower[i])
            x[i] = space->lower[i];
        else if (x[i] > space->upper[i])
            x[i] = space->upper[i];
    }
}

int qdi_seeding_save(const qdi_seeding *s, cJSON *out)
{
    return cJSON_AddNumberToObject(out, "asked", (double)s->asked) ? QD_OK : QD_ENOMEM;
}

int qdi_seeding_load(qdi_seeding *s, qd_mutator *m, const cJSON *in)
{
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(in, "asked");
    if (!qdi_json_is_whole(asked, 0, QDI_JSON_COUNT_MAX))
        return qd_mutator_fail(m, QD_EFORMAT, "%s: checkpoint has no \"asked\" count", m->type->name);
    s->asked = (uint64_t)asked->valuedouble;
    return QD_OK;
}

void qdi_seeding_free(qdi_seeding *s)
{
    free(s->x0);
    s->x0 = NULL;
}
