/* isoline.c - Iso+LineDD (Vassiliades & Mouret 2018, "Discovering the
 * elite hypervolume by leveraging interspecies correlation"): for two
 * uniformly drawn elites x_i, x_j the child is
 *     x_i + sigma_iso * N(0, I) + sigma_line * N(0, 1) * (x_j - x_i),
 * isotropic noise plus a step along the line between two elites, which
 * follows the correlations between elites' genomes. Initial children and
 * clipping as the gaussian mutator (seeding.c). */
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
    return qdi_seeding_read(&g->seeding, m, cfg, space, 64, 1);
}

static int isoline_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    isoline *g = m->state;
    const qd_space *space = m->space;
    for (size_t j = 0; j < n; j++) {
        double *x = jobs[j].sol.x;
        size_t ci, cj;
        qd_elite ei, ej;
        if (qdi_seeding_due(&g->seeding, a)) {
            qdi_seeding_sample(&g->seeding, space, m->rng, g->sigma_iso, x);
        } else {
            qd_archive_sample(a, m->rng, &ci);
            qd_archive_sample(a, m->rng, &cj);
            qd_archive_elite(a, ci, &ei);
            qd_archive_elite(a, cj, &ej);
            double line = g->sigma_line * qd_ran_gaussian(m->rng, 1.0);
            qd_ran_gaussian_fill(m->rng, g->sigma_iso, x, space->dim);
            for (size_t i = 0; i < space->dim; i++)
                x[i] = ei.x[i] + x[i] + line * (ej.x[i] - ei.x[i]);
        }
        qdi_seeding_clip(&g->seeding, space, x);
        g->seeding.asked++;
    }
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
    .save = isoline_save,
    .load = isoline_load,
    .fini = isoline_fini,
};
