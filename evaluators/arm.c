/* arm.c - the planar robotic arm of the MAP-Elites literature (Cully et al.
 * 2015; Vassiliades & Mouret 2018; the QDHF paper's benchmark): n joints with
 * equal links, joint angles in [-pi, pi]. Measures are the end effector's
 * (x, y) = (sum L cos(a_i), sum L sin(a_i)) with a_i the cumulative angle.
 * Objective "neg_variance" (default): -Var(angles), 0 at best (all angles
 * equal, a smooth arm); "qdhf": (1 - Var(angles)) * 100, as the QDHF code. */
#include <math.h>
#include "src/internal.h"

typedef struct arm {
    size_t joints;
    double link;
    int qdhf;
} arm;

static int arm_init(qd_evaluator *ev, qd_config *cfg)
{
    static const char *const objectives[] = {"neg_variance", "qdhf", NULL};
    arm *a = ev->state;
    long joints = 10;
    double link = 1.0, reach, max_var = M_PI * M_PI;
    int objective = 0;
    if (qd_config_int(cfg, "joints", &joints, ">= 1 <= 1000000") ||
        qd_config_number(cfg, "link_length", &link, "> 0") ||
        qd_config_choice(cfg, "objective", objectives, &objective))
        return QD_EINVAL;
    a->joints = (size_t)joints;
    a->link = link;
    a->qdhf = objective == 1;
    if (qd_space_init(&ev->space, QD_GENOME_REAL, a->joints, 2))
        return qd_config_fail(cfg, "joints", "could not be set up: out of memory");
    for (size_t i = 0; i < a->joints; i++) {
        ev->space.lower[i] = -M_PI;
        ev->space.upper[i] = M_PI;
    }
    reach = (double)joints * link;
    for (size_t k = 0; k < 2; k++) {
        ev->space.measure_lower[k] = -reach;
        ev->space.measure_upper[k] = reach;
    }
    qd_space_set_measure_name(&ev->space, 0, "x");
    qd_space_set_measure_name(&ev->space, 1, "y");
    /* Angles in [-pi, pi] have a variance of at most pi^2. */
    ev->space.objective_min = a->qdhf ? (1.0 - max_var) * 100.0 : -max_var;
    ev->space.objective_max = a->qdhf ? 100.0 : 0.0;
    return QD_OK;
}

static int arm_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const arm *a = ev->state;
    double mean = 0.0, var = 0.0, angle = 0.0, x = 0.0, y = 0.0;
    size_t n = a->joints;
    if (sol->n != n)
        return qd_worker_fail(w, "arm: expected %zu joint angles, got %zu", n, sol->n);
    for (size_t i = 0; i < n; i++)
        mean += sol->x[i];
    mean /= (double)n;
    for (size_t i = 0; i < n; i++) {
        double d = sol->x[i] - mean;
        var += d * d;
        angle += sol->x[i];
        x += a->link * cos(angle);
        y += a->link * sin(angle);
    }
    var /= (double)n;
    sol->objective = a->qdhf ? (1.0 - var) * 100.0 : -var;
    sol->measures[0] = x;
    sol->measures[1] = y;
    return QD_OK;
}

/* The ground truth is the arm's own measures (so a QD-GT run reports the
 * same ground-truth metrics as a QDHF run, all-solutions included). */
static int arm_truth_space(const qd_evaluator *ev, qd_space *out)
{
    return qd_space_copy(out, &ev->space);
}

static int arm_truth(const qd_evaluator *ev, const qd_solution *sol, double *g)
{
    const arm *a = ev->state;
    double angle = 0.0, x = 0.0, y = 0.0;
    if (sol->n != a->joints) {
        qdi_set_error(((qd_evaluator *)ev)->error, sizeof ev->error, "arm: expected %zu joint angles, got %zu",
                      a->joints, sol->n);
        return QD_EINVAL;
    }
    for (size_t i = 0; i < a->joints; i++) {
        angle += sol->x[i];
        x += a->link * cos(angle);
        y += a->link * sin(angle);
    }
    g[0] = x;
    g[1] = y;
    return QD_OK;
}

const qd_evaluator_type qdi_evaluator_arm = {
    .name = "arm",
    .state_size = sizeof(arm),
    .flags = QD_EVALUATOR_NO_RNG | QD_EVALUATOR_FAST,
    .init = arm_init,
    .evaluate = arm_evaluate,
    .truth_space = arm_truth_space,
    .truth = arm_truth,
};
