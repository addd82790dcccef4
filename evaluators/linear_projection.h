/* linear_projection.h - the measures shared by the sphere and rastrigin
 * benchmarks (Fontaine et al. 2020, section 4; pyribs examples/sphere.py). */
#ifndef ELITES_LINEAR_PROJECTION_H
#define ELITES_LINEAR_PROJECTION_H

#include "src/internal.h"

#define QDI_LP_BOUND 5.12
#define QDI_LP_SHIFT (0.4 * 5.12)

typedef struct qdi_lp_state {
    size_t dim;
} qdi_lp_state;

/* Reads "dim" and declares the space: genome [-5.12, 5.12]^dim (used by
 * uniform initialisation and optional clipping), two measures each over
 * +-dim/2 * 5.12, objective in [0, 100]. */
int qdi_lp_init(qd_evaluator *ev, qd_config *cfg);

/* Measures: every x_i outside [-5.12, 5.12] becomes 5.12 / x_i; measure 0
 * sums the first floor(n/2) clipped values, measure 1 the rest. */
void qdi_lp_measures(const double *x, size_t n, double *measures);

#endif
