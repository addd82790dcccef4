/* gaussian.c - the MAP-Elites mutator (Mouret & Clune 2015; pyribs'
 * GaussianEmitter): each child is a uniformly drawn elite plus isotropic
 * Gaussian noise N(0, sigma^2 I), optionally clipped to the genome bounds.
 * The first `initial` children, and any child asked while the archive is
 * empty, come from the initialiser instead (seeding.c): uniform in the
 * genome bounds ("uniform") or x0 plus the same noise ("x0", as pyribs).
 * ask picks the parent on the loop's thread and copies it into the job;
 * produce draws the noise in the worker from the job's own stream, so the
 * children do not depend on the number of workers. */
#include <string.h>
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

/* What produce makes of a job: noise on the parent ask copied in, or an
 * initial child. */
enum { CHILD, INITIAL };

/* Picks each child's parent (archive access stays on the loop's thread) and
 * copies it into the job; produce adds the noise. */
static int gaussian_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    gaussian *g = m->state;
    const qd_space *space = m->space;
    for (size_t j = 0; j < n; j++) {
        const double *x;
        if (qdi_seeding_due(&g->seeding, a) || !(x = qdi_archive_sample_x(a, m->rng))) {
            jobs[j].op = INITIAL;
        } else {
            memcpy(jobs[j].sol.x, x, space->dim * sizeof *x);
            jobs[j].op = CHILD;
        }
        g->seeding.asked++;
    }
    return QD_OK;
}

/* In the worker: the child's noise from the job's own stream. */
static int gaussian_produce(const qd_mutator *m, qd_job *job, qd_worker *w)
{
    const gaussian *g = m->state;
    double *x = job->sol.x;
    if (job->op == INITIAL)
        qdi_seeding_sample(&g->seeding, m->space, w->rng, g->sigma, x);
    else
        qdi_add_noise(w->rng, g->sigma, x, m->space->dim);
    qdi_seeding_clip(&g->seeding, m->space, x);
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
    .produce = gaussian_produce,
    .save = gaussian_save,
    .load = gaussian_load,
    .fini = gaussian_fini,
};
