/* isoline.c - Iso+LineDD (Vassiliades & Mouret 2018, "Discovering the
 * elite hypervolume by leveraging interspecies correlation"): for two
 * uniformly drawn elites x_i, x_j the child is
 *     x_i + sigma_iso * N(0, I) + sigma_line * N(0, 1) * (x_j - x_i),
 * isotropic noise plus a step along the line between two elites, which
 * follows the correlations between elites' genomes. Initial children and
 * clipping as the gaussian mutator (seeding.c). ask picks and copies the
 * parents on the loop's thread, produce draws the noise in the worker from
 * the job's own stream. */
#include <string.h>
#include <gsl/gsl_randist.h>
#include "mutators/seeding.h"

typedef struct isoline {
    double sigma_iso, sigma_line;
    qdi_seeding seeding;
} isoline;

static int isoline_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    isoline *g = m->state;
    g->sigma_iso = 0.01;
    g->sigma_line = 0.2;
    if (qd_config_number(cfg, "sigma_iso", &g->sigma_iso, ">= 0") ||
        qd_config_number(cfg, "sigma_line", &g->sigma_line, ">= 0"))
        return QD_EINVAL;
    m->job_extra = space->dim; /* the second parent */
    return qdi_seeding_read(&g->seeding, m, cfg, space, 64, 1);
}

/* What produce makes of a job: the iso + line child of the two parents
 * ask copied in (x_i in the genome, x_j in job->extra), or an initial
 * child. */
enum { CHILD, INITIAL };

/* Picks each child's two parents on the loop's thread and copies them into
 * the job; produce draws the noise. */
static int isoline_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    isoline *g = m->state;
    size_t dim = m->space->dim;
    for (size_t j = 0; j < n; j++) {
        const double *xi, *xj;
        if (qdi_seeding_due(&g->seeding, a) || !(xi = qdi_archive_sample_x(a, m->rng)) ||
            !(xj = qdi_archive_sample_x(a, m->rng))) {
            jobs[j].op = INITIAL;
        } else {
            memcpy(jobs[j].sol.x, xi, dim * sizeof *xi);
            memcpy(jobs[j].extra, xj, dim * sizeof *xj);
            jobs[j].op = CHILD;
        }
        g->seeding.asked++;
    }
    return QD_OK;
}

/* In the worker, from the job's own stream: x_i + sigma_iso N(0, I) +
 * sigma_line N(0, 1) (x_j - x_i), the noise drawn in blocks. */
static int isoline_produce(const qd_mutator *m, qd_job *job, qd_worker *w)
{
    const isoline *g = m->state;
    size_t dim = m->space->dim;
    double *x = job->sol.x, noise[64];
    const double *xj = job->extra;
    if (job->op == INITIAL) {
        qdi_seeding_sample(&g->seeding, m->space, w->rng, g->sigma_iso, x);
    } else {
        double line = g->sigma_line * qd_ran_gaussian(w->rng, 1.0);
        for (size_t i = 0; i < dim; i += 64) {
            size_t k = dim - i < 64 ? dim - i : 64;
            qd_ran_gaussian_fill(w->rng, g->sigma_iso, noise, k);
            for (size_t d = 0; d < k; d++) {
                double xi = x[i + d];
                x[i + d] = xi + noise[d] + line * (xj[i + d] - xi);
            }
        }
    }
    qdi_seeding_clip(&g->seeding, m->space, x);
    return QD_OK;
}

static int isoline_save(const qd_mutator *m, cJSON *out)
{
    return qdi_seeding_save(&((const isoline *)m->state)->seeding, out);
}

static int isoline_load(qd_mutator *m, const cJSON *in)
{
    return qdi_seeding_load(&((isoline *)m->state)->seeding, m, in);
}

static void isoline_fini(qd_mutator *m)
{
    qdi_seeding_free(&((isoline *)m->state)->seeding);
}

const qd_mutator_type qdi_mutator_isoline = {
    .name = "isoline",
    .state_size = sizeof(isoline),
    .flags = QD_MUTATOR_ANY_N,
    .init = isoline_init,
    .ask = isoline_ask,
    .produce = isoline_produce,
    .save = isoline_save,
    .load = isoline_load,
    .fini = isoline_fini,
};
