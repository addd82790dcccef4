/* custom.c - using libelites from C: registers an evaluator type of its own
 * ("styblinski_tang") and runs a MAP-Elites search on it from a JSON config,
 * driving the search step by step as the elites CLI does, then saves the
 * archive. Build against an installed libelites:
 *     make                       (uses pkg-config --cflags --libs elites)
 *     ./custom custom.json OUTDIR
 *
 * The evaluator: the Styblinski-Tang function in n dimensions, negated so
 * that higher is better, with its minimum -39.166 n at x_i = -2.9035;
 * measures are the means of the first and of the second half of x, so the
 * archive shows how good a solution can be in each region of the box. */
#include <elites.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct st_state {
    size_t dim;
} st_state;

/* Reads "dim" and declares the space: x in [-5, 5]^dim, two measures. */
static int st_init(qd_evaluator *ev, qd_config *cfg)
{
    st_state *st = ev->state;
    long dim = 10;
    if (qd_config_int(cfg, "dim", &dim, ">= 2 <= 100000"))
        return QD_EINVAL;
    st->dim = (size_t)dim;
    if (qd_space_init(&ev->space, QD_GENOME_REAL, st->dim, 2))
        return qd_config_fail(cfg, "dim", "could not be set up: out of memory");
    for (size_t i = 0; i < st->dim; i++) {
        ev->space.lower[i] = -5.0;
        ev->space.upper[i] = 5.0;
    }
    for (size_t k = 0; k < 2; k++) {
        ev->space.measure_lower[k] = -5.0;
        ev->space.measure_upper[k] = 5.0;
    }
    qd_space_set_measure_name(&ev->space, 0, "mean_first_half");
    qd_space_set_measure_name(&ev->space, 1, "mean_second_half");
    /* f ranges over [-250 n, 39.17 n]: -f over [-39.17 n, 250 n] */
    ev->space.objective_min = -250.0 * (double)st->dim;
    ev->space.objective_max = 39.16617 * (double)st->dim;
    return QD_OK;
}

/* Runs in the worker threads: reads only its solution and the state. */
static int st_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const st_state *st = ev->state;
    size_t half = st->dim / 2;
    double f = 0.0, sum[2] = {0.0, 0.0};
    if (sol->n != st->dim)
        return qd_worker_fail(w, "styblinski_tang: expected %zu numbers, got %zu", st->dim, sol->n);
    for (size_t i = 0; i < sol->n; i++) {
        double x = sol->x[i];
        f += (x * x * x * x - 16.0 * x * x + 5.0 * x) / 2.0;
        sum[i >= half] += x;
    }
    sol->objective = -f;
    sol->measures[0] = sum[0] / (double)half;
    sol->measures[1] = sum[1] / (double)(st->dim - half);
    return QD_OK;
}

static const qd_evaluator_type styblinski_tang = {
    .name = "styblinski_tang",
    .state_size = sizeof(st_state),
    .init = st_init,
    .evaluate = st_evaluate,
};

int main(int argc, char **argv)
{
    char err[1024];
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    qd_archive_stats st;
    int status = 1;
    if (argc != 3) {
        fprintf(stderr, "usage: %s CONFIG.json OUTDIR\n", argv[0]);
        return 2;
    }
    if (qd_global_init() != QD_OK || qd_register_evaluator(&styblinski_tang) != QD_OK) {
        fprintf(stderr, "custom: could not set up libelites\n");
        return 1;
    }
    if (qd_config_load_file(argv[1], &cfg, err, sizeof err) != QD_OK) {
        fprintf(stderr, "custom: %s\n", err);
        return 2;
    }
    if (qd_search_new(cfg, &s) != QD_OK) {
        fprintf(stderr, "custom: %s\n", qd_config_error(cfg));
        status = 2;
        goto done;
    }
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "custom: %s\n", qd_search_error(s));
            goto done;
        }
    if (qd_search_save(s, argv[2]) != QD_OK) {
        fprintf(stderr, "custom: could not save: %s\n", qd_search_error(s));
        goto done;
    }
    qd_archive_stats_get(qd_search_result_archive(s), &st);
    printf("styblinski_tang: %zu of %zu cells (coverage %.1f%%), best %.4f, QD score %.6g; wrote %s\n", st.filled,
           st.cells, 100.0 * st.coverage, st.obj_max, st.qd_score, argv[2]);
    status = 0;
done:
    qd_search_free(s);
    qd_config_free(cfg);
    return status;
}
