/* cma_linalg.h - the dense linear algebra of CMA-ES (mutators/cma_es.c) on
 * the BLAS/LAPACK chosen at configure time (--with-blas): OpenBLAS with
 * LAPACKE, or GSL's own CBLAS and eigensolver. */
#ifndef ELITES_CMA_LINALG_H
#define ELITES_CMA_LINALG_H

#include <stddef.h>

/* Which eigensolver qdi_eigen_symmetric uses. */
typedef enum qdi_eigen_method {
    QDI_EIGEN_AUTO,   /* per n: QL below the measured crossover, dsyevd from it on */
    QDI_EIGEN_GSL,    /* gsl_eigen_symmv */
    QDI_EIGEN_DSYEVD, /* LAPACK dsyevd (divide and conquer); QL when built without LAPACKE */
    QDI_EIGEN_QL,     /* mutators/eigen_ql.c: tridiagonalisation + implicit QL, inlined */
} qdi_eigen_method;

typedef struct qdi_eigen qdi_eigen;

/* Makes OpenBLAS run every call on the calling thread (the worker pool
 * already uses the cores). Idempotent and thread-safe; qd_global_init and
 * qdi_eigen_new call it. Does nothing on the GSL build. */
void qdi_linalg_init(void);
/* The BLAS/LAPACK this build uses, e.g. "OpenBLAS 0.3.21 + LAPACKE" or
 * "GSL CBLAS"; a static string. */
const char *qdi_linalg_name(void);
/* The smallest n at which QDI_EIGEN_AUTO uses dsyevd instead of QL
 * (SIZE_MAX without LAPACKE). */
size_t qdi_eigen_crossover(void);

/* Workspace for eigendecompositions of n x n symmetric matrices; NULL when
 * out of memory or n is 0. Free with qdi_eigen_free (accepts NULL). */
qdi_eigen *qdi_eigen_new(size_t n);
void qdi_eigen_free(qdi_eigen *e);
/* Eigendecomposition of the symmetric n x n matrix a (row major, both
 * triangles set; overwritten): eigenvalues ascending into values (n),
 * eigenvectors as the columns of vectors (n x n, row major), each with its
 * largest-magnitude component positive (the first such on ties), so the
 * result does not depend on the solver's sign convention. Returns 0, or
 * -1 when the solver fails. */
int qdi_eigen_symmetric(qdi_eigen *e, qdi_eigen_method method, double *a, double *values, double *vectors);

/* C (m x n) = alpha A B^T + beta C, with A m x k and B n x k (row major). */
void qdi_linalg_gemm_nt(size_t m, size_t n, size_t k, double alpha, const double *a, const double *b, double beta,
                        double *c);
/* y (m) = alpha A x + beta y, A m x n (row major); beta 0 does not read y.
 * Below 32 columns by qdi_linalg_gemv_own, else by the CBLAS. */
void qdi_linalg_gemv(size_t m, size_t n, double alpha, const double *a, const double *x, double beta, double *y);
/* The same product by our own loop at any size, in a fixed order (the same
 * bytes on every machine and with either BLAS); bench/bench_eigen times it
 * against the CBLAS to set the crossover. */
void qdi_linalg_gemv_own(size_t m, size_t n, double alpha, const double *a, const double *x, double beta,
                         double *y);
/* The upper triangle of C (n x n) = alpha A^T A + beta C, A k x n (row
 * major); the lower triangle is left alone. */
void qdi_linalg_syrk_upper(size_t n, size_t k, double alpha, const double *a, double beta, double *c);
/* The upper triangle of C (n x n) += alpha x x^T. */
void qdi_linalg_syr_upper(size_t n, double alpha, const double *x, double *c);

#endif
