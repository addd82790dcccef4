/* rastrigin.c - the shifted rastrigin benchmark of the CMA-ME / CMA-MAE
 * papers' linear projection domain: f = sum(A + (x-s)^2 - A cos(2 pi (x-s))),
 * A = 10, s = 0.4 * 5.12, normalised as the sphere: 100 at the optimum, 0 at
 * x_i = -5.12 (the value the papers' code divides by). Measures as sphere. */
#include <math.h>
#include "evaluators/linear_projection.h"

#define RASTRIGIN_A 10.0

static double term(double x)
{
    double d = x - QDI_LP_SHIFT;
    return RASTRIGIN_A + d * d - RASTRIGIN_A * cos(2.0 * M_PI * d);
}

static int rastrigin_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const qdi_lp_state *st = ev->state;
    double raw = 0.0, worst;
    if (sol->n != st->dim)
        return qd_worker_fail(w, "rastrigin: expected %zu numbers, got %zu", st->dim, sol->n);
    for (size_t i = 0; i < sol->n; i++)
        raw += term(sol->x[i]);
    worst = term(-QDI_LP_BOUND) * (double)st->dim;
    sol->objective = (raw - worst) / (0.0 - worst) * 100.0;
    qdi_lp_measures(sol->x, sol->n, sol->measures);
    return QD_OK;
}

const qd_evaluator_type qdi_evaluator_rastrigin = {
    .name = "rastrigin",
    .state_size = sizeof(qdi_lp_state),
    .flags = QD_EVALUATOR_NO_RNG | QD_EVALUATOR_FAST,
    .init = qdi_lp_init,
    .evaluate = rastrigin_evaluate,
};
