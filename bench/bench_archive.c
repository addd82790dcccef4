/* bench_archive.c - archive add throughput: 1,000,000 random solutions
 * (n = 20, two measures uniform over a 100x100 grid, objectives uniform)
 * added one by one and in batches of 540 (the loop's way), reported as
 * solutions per second and nanoseconds per solution. Not part of make check. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include "src/elites.h"

#define N 1000000
#define DIM 20

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static qd_archive *make(qd_space *sp, qd_config **cfg, const char *extra)
{
    char json[256], err[256];
    qd_archive *a = NULL;
    snprintf(json, sizeof json, "{\"dims\": [{\"bins\": 100, \"range\": [0, 1]}, {\"bins\": 100, \"range\": [0, 1]}]%s}",
             extra);
    if (qd_config_parse(json, "bench", cfg, err, sizeof err) || qd_archive_new(*cfg, sp, &a)) {
        fprintf(stderr, "bench_archive: %s\n", qd_config_error(*cfg));
        exit(1);
    }
    return a;
}

int main(void)
{
    qd_space sp;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *x = malloc(sizeof(double) * N * DIM), *m = malloc(sizeof(double) * N * 2), *f = malloc(sizeof(double) * N);
    qd_solution *sols = malloc(sizeof *sols * N);
    const qd_solution **ptrs = malloc(sizeof *ptrs * N);
    qd_add_result *res = malloc(sizeof *res * N);
    qd_global_init();
    qd_space_init(&sp, QD_GENOME_REAL, DIM, 2);
    for (size_t i = 0; i < (size_t)N * DIM; i++)
        x[i] = gsl_rng_uniform(rng);
    for (size_t i = 0; i < N; i++) {
        m[2 * i] = gsl_rng_uniform(rng);
        m[2 * i + 1] = gsl_rng_uniform(rng);
        f[i] = gsl_rng_uniform(rng) * 100;
        sols[i] = (qd_solution){.x = x + i * DIM, .n = DIM, .objective = f[i], .measures = m + 2 * i, .m = 2};
        ptrs[i] = &sols[i];
    }
    const char *variants[][2] = {{"MAP-Elites archive", ""}, {"CMA-MAE archive (lr 0.01)", ", \"learning_rate\": 0.01, \"threshold_min\": 0"}};
    printf("archive add, %d random solutions, n = %d, 100x100 grid\n", N, DIM);
    for (int v0 = 0; v0 < 4; v0++) {
        int v = v0 % 2;
        qd_config *cfg;
        qd_archive *a = make(&sp, &cfg, variants[v][1]);
        double t0 = now();
        for (size_t i = 0; i < N; i++)
            qd_archive_add(a, &sols[i], &res[i]);
        double single = now() - t0;
        qd_archive_free(a);
        qd_config_free(cfg);
        a = make(&sp, &cfg, variants[v][1]);
        t0 = now();
        for (size_t i = 0; i < N; i += 540)
            qd_archive_add_batch(a, ptrs + i, i + 540 <= N ? 540 : N - i, res + i);
        double batch = now() - t0;
        printf("%-28s one by one: %6.1f ns/solution (%.2fM/s)   batches of 540: %6.1f ns/solution (%.2fM/s)\n",
               variants[v][0], single / N * 1e9, N / single / 1e6, batch / N * 1e9, N / batch / 1e6);
        qd_archive_free(a);
        qd_config_free(cfg);
    }
    qd_space_free(&sp);
    gsl_rng_free(rng);
    free(x); free(m); free(f); free(sols); free(ptrs); free(res);
    return 0;
}
