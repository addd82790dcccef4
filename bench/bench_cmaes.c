/* bench_cmaes.c - CMA-ES ask + tell cost per solution (mutators/cma_es.c) at
 * n = 20, 100, 1000, with the default lambda = 4 + floor(3 ln n) and with
 * the QD emitters' batch of 36, over enough generations to include the
 * lazy eigendecompositions, with the tutorial's decomposition gap (the
 * default) and pycma's five times larger one; prints ns per solution, its
 * ratio to 2 n^2 ns (the target for n >= 100), and how the time
 * splits between sampling, the update and the decompositions. Not part of
 * make check.
 *
 * usage: bench_cmaes [--dims 20,100,1000] [--seconds S]  (S per case, default 2) */
#define _GNU_SOURCE /* qsort_r */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "mutators/cma_es.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b, void *values)
{
    const double *f = values;
    double x = f[*(const size_t *)a], y = f[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

static void run(size_t n, size_t lambda, double gap, double seconds)
{
    double *x0 = calloc(n, sizeof *x0), *xs = malloc(lambda * n * sizeof *xs), *f = malloc(lambda * sizeof *f);
    size_t *order = malloc(lambda * sizeof *order);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    qdi_cma_es *es;
    double t_ask = 0, t_tell = 0, t_plain = 0, t0, dt, start;
    uint64_t generations = 0, plain = 0;
    for (size_t i = 0; i < n; i++)
        x0[i] = 1.0;
    es = qdi_cma_es_new(n, lambda, 0.5, x0);
    if (!es) {
        fprintf(stderr, "bench_cmaes: out of memory\n");
        exit(1);
    }
    qdi_cma_es_set_eigen_gap(es, gap);
    start = now();
    /* at least 3 decompositions and `seconds` of work */
    while (now() - start < seconds || qdi_cma_es_decompositions(es) < 3) {
        uint64_t before = qdi_cma_es_decompositions(es);
        t0 = now();
        qdi_cma_es_ask(es, rng, xs);
        dt = now() - t0;
        t_ask += dt;
        if (qdi_cma_es_decompositions(es) == before) { /* sampling alone */
            t_plain += dt;
            plain++;
        }
        /* a rotated ellipsoid-like ranking (not timed): sum (i+1) x_i^2 */
        for (size_t k = 0; k < lambda; k++) {
            f[k] = 0;
            for (size_t i = 0; i < n; i++)
                f[k] += (double)(i % 10 + 1) * xs[k * n + i] * xs[k * n + i];
            order[k] = k;
        }
        qsort_r(order, lambda, sizeof *order, by_value, f);
        t0 = now();
        qdi_cma_es_tell(es, order, qdi_cma_es_mu(es));
        t_tell += now() - t0;
        generations++;
    }
    double solutions = (double)(generations * lambda), per = (t_ask + t_tell) / solutions * 1e9;
    /* sampling per solution from the generations without a decomposition;
     * the rest of ask is the decompositions, amortised */
    double sample = plain ? t_plain / (double)(plain * lambda) * 1e9 : NAN;
    double eigen = t_ask / solutions * 1e9 - (plain ? sample : 0);
    printf("| %zu | %zu | %s | %llu | %llu | %.0f | %.0f | %.0f | %.0f | %.2f |\n", n, lambda,
           gap == 0.1 ? "0.1 (tutorial)" : "0.5 (pycma)",
           (unsigned long long)generations, (unsigned long long)qdi_cma_es_decompositions(es), sample, eigen,
           t_tell / solutions * 1e9, per, per / (2.0 * (double)n * (double)n));
    fflush(stdout);
    qdi_cma_es_free(es);
    gsl_rng_free(rng);
    free(x0);
    free(xs);
    free(f);
    free(order);
}

int main(int argc, char **argv)
{
    const char *dims = "20,100,1000";
    double seconds = 2.0;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dims"))
            dims = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else {
            fprintf(stderr, "bench_cmaes: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    printf("CMA-ES ask + tell per solution; ask includes the lazy eigendecompositions\n\n");
    printf("| n | lambda | eigen gap | generations | decompositions | sample ns/sol | eigen ns/sol | tell ns/sol |"
           " total ns/sol | total / 2n^2 ns |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (const char *d = dims; *d;) {
        size_t n = strtoul(d, (char **)&d, 10);
        if (*d == ',')
            d++;
        if (n == 0)
            continue;
        for (int g = 0; g < 2; g++) {
            run(n, 4 + (size_t)floor(3.0 * log((double)n)), g ? 0.5 : 0.1, seconds);
            run(n, 36, g ? 0.5 : 0.1, seconds);
        }
    }
    return 0;
}
