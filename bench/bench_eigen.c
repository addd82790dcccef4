/* bench_eigen.c - the CMA-ES kernels of mutators/cma_linalg.c by n: the
 * eigendecomposition with GSL's symmv and with LAPACK's dsyevd (the same
 * random covariance-like matrix, best of several runs), which sets the
 * crossover EIGEN_CROSSOVER, and the dgemm rate of the sampling product
 * Y = Z (BD)^T at lambda = 36, and the sampling's y = B D z by our own loop
 * and by the CBLAS's dgemv, which sets GEMV_OWN_BELOW. Not part of make
 * check.
 *
 * usage: bench_eigen [--dims 10,20,...] [--seconds S]  (S per case, default 0.3) */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <gsl/gsl_cblas.h>
#include "mutators/cma_linalg.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* A = G^T G / n + I, G n x n uniform in [-1, 1): a well-conditioned SPD
 * matrix like a CMA-ES covariance. */
static void make_matrix(double *a, size_t n, unsigned seed)
{
    double *g = malloc(n * n * sizeof *g);
    srand(seed);
    for (size_t i = 0; i < n * n; i++)
        g[i] = 2.0 * rand() / ((double)RAND_MAX + 1.0) - 1.0;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double s = 0;
            for (size_t k = 0; k < n; k++)
                s += g[k * n + i] * g[k * n + j];
            a[i * n + j] = s / (double)n + (i == j);
        }
    free(g);
}

/* Microseconds per call, the best of repeated batches within `seconds`. */
static double time_eigen(qdi_eigen *e, qdi_eigen_method m, const double *a, size_t n, double seconds)
{
    double *work = malloc(n * n * sizeof *work), *values = malloc(n * sizeof *values),
           *vectors = malloc(n * n * sizeof *vectors), best = INFINITY, start = now();
    do {
        double t0 = now();
        memcpy(work, a, n * n * sizeof *work);
        if (qdi_eigen_symmetric(e, m, work, values, vectors) != 0) {
            fprintf(stderr, "bench_eigen: solver failed at n = %zu\n", n);
            exit(1);
        }
        double dt = now() - t0;
        if (dt < best)
            best = dt;
    } while (now() - start < seconds);
    free(work);
    free(values);
    free(vectors);
    return best * 1e6;
}

/* Nanoseconds per y = A x (n x n), the best of repeated batches of 1,000
 * calls within `seconds`: our own loop or the CBLAS's dgemv. */
static double time_gemv(size_t n, int own, double seconds)
{
    double *a = malloc(n * n * sizeof *a), *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y), best = INFINITY,
           start = now();
    for (size_t i = 0; i < n * n; i++)
        a[i] = (double)(i % 11) * 0.1 - 0.5;
    for (size_t i = 0; i < n; i++)
        x[i] = (double)(i % 7) - 3.0;
    do {
        double t0 = now();
        for (int k = 0; k < 1000; k++) {
            if (own)
                qdi_linalg_gemv_own(n, n, 1.0, a, x, 0.0, y);
            else
                cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)n, (int)n, 1.0, a, (int)n, x, 1, 0.0, y, 1);
            x[k % n] += y[0] * 1e-300; /* each call depends on the last */
        }
        double dt = (now() - t0) / 1000;
        if (dt < best)
            best = dt;
    } while (now() - start < seconds);
    free(a);
    free(x);
    free(y);
    return best * 1e9;
}

/* GFLOP/s of the sampling dgemm, 36 x n times n x n. */
static double gemm_rate(size_t n, double seconds)
{
    size_t lambda = 36, calls = 0;
    double *z = malloc(lambda * n * sizeof *z), *b = malloc(n * n * sizeof *b), *y = malloc(lambda * n * sizeof *y);
    for (size_t i = 0; i < lambda * n; i++)
        z[i] = (double)(i % 7) - 3.0;
    for (size_t i = 0; i < n * n; i++)
        b[i] = (double)(i % 5) * 0.1;
    double start = now();
    while (now() - start < seconds || calls < 10) {
        qdi_linalg_gemm_nt(lambda, n, n, 1.0, z, b, 0.0, y);
        calls++;
    }
    double dt = now() - start;
    free(z);
    free(b);
    free(y);
    return 2.0 * (double)(lambda * n * n) * (double)calls / dt * 1e-9;
}

int main(int argc, char **argv)
{
    const char *dims = "5,10,20,30,40,50,60,80,100,150,200";
    double seconds = 0.3;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--dims"))
            dims = argv[i + 1];
        else if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else {
            fprintf(stderr, "bench_eigen: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    qdi_linalg_init();
    printf("%s; AUTO uses dsyevd from n = %zu\n\n", qdi_linalg_name(), qdi_eigen_crossover());
    printf("| n | QL us | GSL symmv us | dsyevd us | symmv / QL | dsyevd / QL | dgemm 36 x n x n GFLOP/s | gemv own ns "
           "| gemv CBLAS ns | CBLAS / own |\n");
    printf("|---|---|---|---|---|---|---|---|---|---|\n");
    for (const char *d = dims; *d;) {
        size_t n = strtoul(d, (char **)&d, 10);
        if (*d == ',')
            d++;
        if (n == 0)
            continue;
        double *a = malloc(n * n * sizeof *a);
        qdi_eigen *e = qdi_eigen_new(n);
        if (!a || !e) {
            fprintf(stderr, "bench_eigen: out of memory\n");
            return 1;
        }
        make_matrix(a, n, (unsigned)n);
        double q = time_eigen(e, QDI_EIGEN_QL, a, n, seconds), g = time_eigen(e, QDI_EIGEN_GSL, a, n, seconds),
               l = time_eigen(e, QDI_EIGEN_DSYEVD, a, n, seconds);
        double vo = time_gemv(n, 1, seconds), vb = time_gemv(n, 0, seconds);
        printf("| %zu | %.1f | %.1f | %.1f | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f |\n", n, q, g, l, g / q, l / q,
               gemm_rate(n, seconds), vo, vb, vb / vo);
        fflush(stdout);
        qdi_eigen_free(e);
        free(a);
    }
    return 0;
}
