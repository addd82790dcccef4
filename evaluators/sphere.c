/* sphere.c - the shifted sphere benchmark of pyribs' examples/sphere.py
 * (after Fontaine et al. 2020): optimum moved to x_i = 0.4 * 5.12, objective
 * normalised so that 100 is optimal and 0 is the value at x_i = -5.12. */
#include "evaluators/linear_projection.h"

static int sphere_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const qdi_lp_state *st = ev->state;
    double raw = 0.0, worst;
    if (sol->n != st->dim)
        return qd_worker_fail(w, "sphere: expected %zu numbers, got %zu", st->dim, sol->n);
    for (size_t i = 0; i < sol->n; i++) {
        double d = sol->x[i] - QDI_LP_SHIFT;
        raw += d * d;
    }
    worst = (-QDI_LP_BOUND - QDI_LP_SHIFT) * (-QDI_LP_BOUND - QDI_LP_SHIFT) * (double)st->dim;
    sol->objective = (raw - worst) / (0.0 - worst) * 100.0;
    qdi_lp_measures(sol->x, sol->n, sol->measures);
    return QD_OK;
}

const qd_evaluator_type qdi_evaluator_sphere = {
    .name = "sphere",
    .state_size = sizeof(qdi_lp_state),
    .flags = QD_EVALUATOR_NO_RNG | QD_EVALUATOR_FAST,
    .init = qdi_lp_init,
    .evaluate = sphere_evaluate,
};
