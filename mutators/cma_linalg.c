/* cma_linalg.c - CMA-ES's matrix kernels on the BLAS/LAPACK picked by
 * configure --with-blas: OpenBLAS's CBLAS and LAPACKE's dsyevd when
 * HAVE_OPENBLAS, GSL's CBLAS and our QL (mutators/eigen_ql.c) otherwise.
 *
 * The products (sampling Y = Z (BD)^T, the rank-mu update A^T A) go to
 * whichever CBLAS is linked: configure links OpenBLAS instead of
 * -lgslcblas, and the standard cblas_* calls bind to it. The eigensolver is
 * picked per n: below EIGEN_CROSSOVER our own QL (mutators/eigen_ql.c:
 * Householder tridiagonalisation + implicit QL, inlined, 1.6-2.1x faster
 * than GSL's symmv, which does the same arithmetic through a call per row);
 * LAPACK's divide and conquer on OpenBLAS's blocked kernels from there on
 * (measured with bench/bench_eigen, see bench/RESULTS.md). GSL's symmv
 * stays available as QDI_EIGEN_GSL. All results are brought to one
 * convention, eigenvalues ascending and each eigenvector's largest
 * component positive, so which solver ran does not change how the samples
 * are drawn beyond rounding.
 *
 * OpenBLAS's pthread build would split a large call over every core; the
 * search's workers already use them, so qdi_linalg_init sets it to one
 * thread per call, once per process, and stops the threads that build
 * started when it loaded: each polls with sched_yield for about 2^28
 * cycles (0.1 s) before it sleeps, and on two cores that poll took a
 * fifth of a short run's CPU from the workers (bench/RESULTS.md, "OpenBLAS's
 * idle threads").
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cblas.h>
#include <gsl/gsl_eigen.h>
#include <gsl/gsl_errno.h>
#include "config.h"
#ifdef HAVE_OPENBLAS
#include <lapacke.h>
/* OpenBLAS's <cblas.h> cannot be included beside GSL's <gsl/gsl_cblas.h>
 * (gsl_eigen.h pulls it in; both define the CBLAS enums). The cblas_*
 * prototypes are the standard ones in either header, so GSL's serve, and
 * this is the one OpenBLAS extension used. */
void openblas_set_num_threads(int num_threads);
int openblas_get_num_threads(void);
/* Stops OpenBLAS's thread server (its fork handler's call); weak: the
 * serial and OpenMP builds have none. */
extern int blas_thread_shutdown_(void) __attribute__((weak));
#endif
#include "mutators/cma_linalg.h"
#include "mutators/eigen_ql.h"

/* Below this n qdi_eigen_ql is faster than dsyevd (bench/bench_eigen on
 * the project's 2-core machine, OpenBLAS 0.3.21, Haswell kernels: level at
 * 68, QL 1.07x faster at 64, dsyevd 1.25x faster at 100). */
#define EIGEN_CROSSOVER 68

struct qdi_eigen {
    size_t n;
    gsl_eigen_symmv_workspace *symmv;
    double *ql_work; /* qdi_eigen_ql's: 2n doubles */
#ifdef HAVE_OPENBLAS
    double *work; /* dsyevd's: 1 + 6n + 2n^2 doubles, 3 + 5n ints */
    lapack_int *iwork;
    lapack_int lwork, liwork;
#endif
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void init_once_fn(void)
{
#ifdef HAVE_OPENBLAS
    int threads = openblas_get_num_threads();
    openblas_set_num_threads(1);
    if (threads > 1 && blas_thread_shutdown_)
        blas_thread_shutdown_();
#endif
}

void qdi_linalg_init(void)
{
    pthread_once(&init_once, init_once_fn);
}

const char *qdi_linalg_name(void)
{
#ifdef HAVE_OPENBLAS
    return "OpenBLAS + LAPACKE";
#else
    return "GSL CBLAS";
#endif
}

size_t qdi_eigen_crossover(void)
{
#ifdef HAVE_OPENBLAS
    return EIGEN_CROSSOVER;
#else
    return SIZE_MAX;
#endif
}

qdi_eigen *qdi_eigen_new(size_t n)
{
    qdi_eigen *e;
    qdi_linalg_init();
    if (n == 0 || !(e = calloc(1, sizeof *e)))
        return NULL;
    e->n = n;
    e->symmv = gsl_eigen_symmv_alloc(n);
    e->ql_work = malloc(2 * n * sizeof *e->ql_work);
#ifdef HAVE_OPENBLAS
    e->lwork = (lapack_int)(1 + 6 * n + 2 * n * n);
    e->liwork = (lapack_int)(3 + 5 * n);
    e->work = malloc((size_t)e->lwork * sizeof *e->work);
    e->iwork = malloc((size_t)e->liwork * sizeof *e->iwork);
    if (!e->work || !e->iwork) {
        qdi_eigen_free(e);
        return NULL;
    }
#endif
    if (!e->symmv || !e->ql_work) {
        qdi_eigen_free(e);
        return NULL;
    }
    return e;
}

void qdi_eigen_free(qdi_eigen *e)
{
    if (!e)
        return;
    if (e->symmv)
        gsl_eigen_symmv_free(e->symmv);
    free(e->ql_work);
#ifdef HAVE_OPENBLAS
    free(e->work);
    free(e->iwork);
#endif
    free(e);
}

static int eigen_gsl(qdi_eigen *e, double *a, double *values, double *vectors)
{
    size_t n = e->n;
    gsl_matrix_view av = gsl_matrix_view_array(a, n, n), bv = gsl_matrix_view_array(vectors, n, n);
    gsl_vector_view ev = gsl_vector_view_array(values, n);
    if (gsl_eigen_symmv(&av.matrix, &ev.vector, &bv.matrix, e->symmv) != GSL_SUCCESS)
        return -1;
    return gsl_eigen_symmv_sort(&ev.vector, &bv.matrix, GSL_EIGEN_SORT_VAL_ASC) == GSL_SUCCESS ? 0 : -1;
}

#ifdef HAVE_OPENBLAS
/* a is symmetric, so row and column major are the same matrix; dsyevd
 * leaves eigenvector j in column j of the column-major a (ascending), i.e.
 * in row j of the row-major view, hence the transpose into vectors. */
static int eigen_dsyevd(qdi_eigen *e, double *a, double *values, double *vectors)
{
    size_t n = e->n;
    if (LAPACKE_dsyevd_work(LAPACK_COL_MAJOR, 'V', 'U', (lapack_int)n, a, (lapack_int)n, values, e->work, e->lwork,
                            e->iwork, e->liwork) != 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            vectors[i * n + j] = a[j * n + i];
    return 0;
}
#endif

/* Flips each column of vectors so that its largest-magnitude component is
 * positive. */
static void fix_signs(double *vectors, size_t n)
{
    for (size_t j = 0; j < n; j++) {
        size_t best = 0;
        for (size_t i = 1; i < n; i++)
            if (fabs(vectors[i * n + j]) > fabs(vectors[best * n + j]))
                best = i;
        if (vectors[best * n + j] < 0)
            for (size_t i = 0; i < n; i++)
                vectors[i * n + j] = -vectors[i * n + j];
    }
}

int qdi_eigen_symmetric(qdi_eigen *e, qdi_eigen_method method, double *a, double *values, double *vectors)
{
    int rc;
#ifdef HAVE_OPENBLAS
    if (method == QDI_EIGEN_AUTO)
        method = e->n >= EIGEN_CROSSOVER ? QDI_EIGEN_DSYEVD : QDI_EIGEN_QL;
#else
    if (method == QDI_EIGEN_AUTO || method == QDI_EIGEN_DSYEVD)
        method = QDI_EIGEN_QL;
#endif
    switch (method) {
    case QDI_EIGEN_GSL:
        rc = eigen_gsl(e, a, values, vectors);
        break;
#ifdef HAVE_OPENBLAS
    case QDI_EIGEN_DSYEVD:
        rc = eigen_dsyevd(e, a, values, vectors);
        break;
#endif
    default:
        rc = qdi_eigen_ql(e->n, a, values, vectors, e->ql_work);
        break;
    }
    if (rc == 0)
        fix_signs(vectors, e->n);
    return rc;
}

void qdi_linalg_gemm_nt(size_t m, size_t n, size_t k, double alpha, const double *a, const double *b, double beta,
                        double *c)
{
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)m, (int)n, (int)k, alpha, a, (int)k, b, (int)k, beta, c,
                (int)n);
}

/* Below this many columns qdi_linalg_gemv runs its own loop: a CBLAS call's
 * checks and dispatch cost more than the multiply-adds (bench/bench_eigen's
 * gemv columns). */
#define GEMV_OWN_BELOW 32

typedef double v2 __attribute__((vector_size(16), aligned(8), may_alias));

/* Row r's dot product with x: the pair sums s, then the odd column. */
static inline double dot_end(v2 s, const double *r, const double *x, size_t n)
{
    double t = s[0] + s[1];
    return n & 1 ? t + r[n - 1] * x[n - 1] : t;
}

static inline void gemv_store(double *y, double alpha, double t, double beta)
{
    *y = beta == 0.0 ? alpha * t : alpha * t + beta * *y;
}

/* Four rows at a time, so four sums run at once rather than one waiting
 * on each add. */
void qdi_linalg_gemv_own(size_t m, size_t n, double alpha, const double *a, const double *x, double beta, double *y)
{
    size_t i = 0, pairs = n & ~(size_t)1;
    for (; i + 4 <= m; i += 4) {
        const double *r0 = a + i * n, *r1 = r0 + n, *r2 = r1 + n, *r3 = r2 + n;
        v2 s0 = {0, 0}, s1 = {0, 0}, s2 = {0, 0}, s3 = {0, 0};
        for (size_t j = 0; j < pairs; j += 2) {
            v2 xv = *(const v2 *)(x + j);
            s0 += *(const v2 *)(r0 + j) * xv;
            s1 += *(const v2 *)(r1 + j) * xv;
            s2 += *(const v2 *)(r2 + j) * xv;
            s3 += *(const v2 *)(r3 + j) * xv;
        }
        gemv_store(y + i, alpha, dot_end(s0, r0, x, n), beta);
        gemv_store(y + i + 1, alpha, dot_end(s1, r1, x, n), beta);
        gemv_store(y + i + 2, alpha, dot_end(s2, r2, x, n), beta);
        gemv_store(y + i + 3, alpha, dot_end(s3, r3, x, n), beta);
    }
    for (; i < m; i++) {
        const double *r = a + i * n;
        v2 s = {0, 0};
        for (size_t j = 0; j < pairs; j += 2)
            s += *(const v2 *)(r + j) * *(const v2 *)(x + j);
        gemv_store(y + i, alpha, dot_end(s, r, x, n), beta);
    }
}

void qdi_linalg_gemv(size_t m, size_t n, double alpha, const double *a, const double *x, double beta, double *y)
{
    if (n < GEMV_OWN_BELOW) {
        qdi_linalg_gemv_own(m, n, alpha, a, x, beta, y);
        return;
    }
    cblas_dgemv(CblasRowMajor, CblasNoTrans, (int)m, (int)n, alpha, a, (int)n, x, 1, beta, y, 1);
}

void qdi_linalg_syrk_upper(size_t n, size_t k, double alpha, const double *a, double beta, double *c)
{
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, (int)n, (int)k, alpha, a, (int)n, beta, c, (int)n);
}

void qdi_linalg_syr_upper(size_t n, double alpha, const double *x, double *c)
{
    cblas_dsyr(CblasRowMajor, CblasUpper, (int)n, alpha, x, 1, c, (int)n);
}
