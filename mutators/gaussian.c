/* gaussian.c - the MAP-Elites mutator (Mouret & Clune 2015; pyribs'
 * GaussianEmitter): each child is a uniformly drawn elite plus isotropic
 * Gaussian noise N(0, sigma^2 I), optionally clipped to the genome bounds.
 * The first `initial` children, and any child asked while the archive is
 * empty, come from the initialiser instead (seeding.c): uniform in the
 * genome bounds ("uniform") or x0 plus the same noise ("x0", as pyribs). */
#include <gsl/gsl_randist.h>
#include "mutators/seeding.h"

typedef struct gaussian {
    double sigma;
    qdi_seeding seeding;
} gaussian;

static int gaussian_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    gaussian *g = m->state;
    g->sigma = 0.1;
    if (qd_config_number(cfg, "sigma", &g->sigma, "> 0"))
        return QD_EINVAL;
    return qdi_seeding_read(&g->seeding, m, cfg, space, 64, 1);
}

static int gaussian_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    gaussian *g = m->state;
    const qd_space *space = m->space;
    for (size_t j = 0; j < n; j++) {
        double *x = jobs[j].sol.x;
        size_t cell;
        qd_elite e;
        if (qdi_seeding_due(&g->seeding, a)) {
            qdi_seeding_sample(&g->seeding, space, m->rng, g->sigma, x);
        } else {
            qd_archive_sample(a, m->rng, &cell);
            qd_archive_elite(a, cell, &e);
            qd_ran_gaussian_fill(m->rng, g->sigma, x, space->dim);
            for (size_t i = 0; i < space->dim; i++)
                x[i] = e.x[i] + x[i];
        }
        qdi_seeding_clip(&g->seeding, space, x);
        g->seeding.asked++;
    }
    return QD_OK;
}

static int gaussian_save(const qd_mutator *m, cJSON *out)
{
    return qdi_seeding_save(&((const gaussian *)m->state)->seeding, out);
}

static int gaussian_load(qd_mutator *m, const cJSON *in)
{
    return qdi_seeding_load(&((gaussian *)m->state)->seeding, m, in);
}

static void gaussian_fini(qd_mutator *m)
{
    qdi_seeding_free(&((gaussian *)m->state)->seeding);
}

const qd_mutator_type qdi_mutator_gaussian = {
    .name = "gaussian",
    .state_size = sizeof(gaussian),
    .flags = QD_MUTATOR_ANY_N,
    .init = gaussian_init,
    .ask = gaussian_ask,
    .save = gaussian_save,
    .load = gaussian_load,
    .fini = gaussian_fini,
};
