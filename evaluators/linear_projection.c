/* linear_projection.c - space and measures of the "linear projection"
 * benchmarks (sphere, rastrigin) as pyribs' examples/sphere.py defines them. */
#include "evaluators/linear_projection.h"

int qdi_lp_init(qd_evaluator *ev, qd_config *cfg)
{
    qdi_lp_state *st = ev->state;
    long dim = 100;
    double bound;
    if (qd_config_int(cfg, "dim", &dim, ">= 2 <= 1000000"))
        return QD_EINVAL;
    st->dim = (size_t)dim;
    if (qd_space_init(&ev->space, QD_GENOME_REAL, st->dim, 2))
        return qd_config_fail(cfg, "dim", "could not be set up: out of memory");
    for (size_t i = 0; i < st->dim; i++) {
        ev->space.lower[i] = -QDI_LP_BOUND;
        ev->space.upper[i] = QDI_LP_BOUND;
    }
    bound = (double)dim / 2.0 * QDI_LP_BOUND;
    for (size_t k = 0; k < 2; k++) {
        ev->space.measure_lower[k] = -bound;
        ev->space.measure_upper[k] = bound;
    }
    qd_space_set_measure_name(&ev->space, 0, "sum_first_half");
    qd_space_set_measure_name(&ev->space, 1, "sum_second_half");
    ev->space.objective_min = 0.0;
    ev->space.objective_max = 100.0;
    return QD_OK;
}

/* x[i] itself within the bounds, else the bound over it (pyribs' clip). */
static inline double clipped(double v)
{
    return v < -QDI_LP_BOUND || v > QDI_LP_BOUND ? QDI_LP_BOUND / v : v;
}

void qdi_lp_measures(const double *x, size_t n, double *measures)
{
    size_t half = n / 2;
    double first = 0.0, second = 0.0; /* in registers: measures may alias x */
    for (size_t i = 0; i < half; i++)
        first += clipped(x[i]);
    for (size_t i = half; i < n; i++)
        second += clipped(x[i]);
    measures[0] = first;
    measures[1] = second;
}
