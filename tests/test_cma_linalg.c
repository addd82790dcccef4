/* test_cma_linalg.c - CMA-ES's linear algebra (mutators/cma_linalg.c) on the
 * configured BLAS/LAPACK: the three eigensolvers (our QL, GSL's symmv,
 * dsyevd) recover a matrix with known eigenvalues in the one convention
 * (ascending, each eigenvector's largest component positive) and agree
 * with each other, QL copes with repeated eigenvalues, AUTO picks by the
 * crossover, repeated calls give the same bytes, OpenBLAS runs on one
 * thread with none of its load-time threads left, and the four products
 * equal plain loops exactly on integer data. */
#include <dirent.h>
#include <math.h>
#include "config.h"
#include "testutil.h"
#include "mutators/cma_linalg.h"

/* A = Q diag(1..n, shuffled) Q^T with Q a product of three Householder
 * reflections of fixed pseudo-random vectors; Q into q (row major). */
static void known_matrix(size_t n, double *a, double *q)
{
    double *v = malloc(n * sizeof *v), *l = malloc(n * sizeof *l);
    unsigned s = 12345u;
    for (size_t i = 0; i < n * n; i++)
        q[i] = (i / n == i % n);
    for (int r = 0; r < 3; r++) {
        double norm = 0;
        for (size_t i = 0; i < n; i++) {
            s = s * 1103515245u + 12345u;
            v[i] = (double)(s >> 16 & 0x7fff) / 32768.0 - 0.5;
            norm += v[i] * v[i];
        }
        /* q <- q (I - 2 v v^T / |v|^2) */
        for (size_t i = 0; i < n; i++) {
            double d = 0;
            for (size_t k = 0; k < n; k++)
                d += q[i * n + k] * v[k];
            for (size_t j = 0; j < n; j++)
                q[i * n + j] -= 2.0 * d * v[j] / norm;
        }
    }
    for (size_t i = 0; i < n; i++)
        l[i] = (double)((i * 7) % n + 1); /* a permutation of 1..n when gcd(7, n) = 1 */
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++) {
            double x = 0;
            for (size_t k = 0; k < n; k++)
                x += q[i * n + k] * l[k] * q[j * n + k];
            a[i * n + j] = x;
        }
    /* exactly symmetric, as cma_es.c's mirrored C is */
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            a[j * n + i] = a[i * n + j];
    free(v);
    free(l);
}

/* values ascending, A v = lambda v for each column v of vectors (to tol),
 * and the columns orthonormal (to 1e-12). */
static void check_eigenpairs(size_t n, const double *a, const double *values, const double *vectors, double tol)
{
    for (size_t j = 0; j < n; j++) {
        if (j > 0)
            CU_ASSERT(values[j - 1] <= values[j]);
        for (size_t i = 0; i < n; i++) {
            double av = 0;
            for (size_t k = 0; k < n; k++)
                av += a[i * n + k] * vectors[k * n + j];
            CU_ASSERT_DOUBLE_EQUAL(av, values[j] * vectors[i * n + j], tol);
        }
        for (size_t m = 0; m < n; m++) {
            double dot = 0;
            for (size_t i = 0; i < n; i++)
                dot += vectors[i * n + j] * vectors[i * n + m];
            CU_ASSERT_DOUBLE_EQUAL(dot, j == m, 1e-12);
        }
    }
}

/* Runs method on A and checks values = 1..n, A v = lambda v, orthonormal
 * columns, and the sign convention; the vectors into out. */
static void check_solver(size_t n, qdi_eigen_method method, double *out)
{
    double *a = malloc(n * n * sizeof *a), *q = malloc(n * n * sizeof *q), *work = malloc(n * n * sizeof *work),
           *values = malloc(n * sizeof *values);
    qdi_eigen *e = qdi_eigen_new(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    known_matrix(n, a, q);
    memcpy(work, a, n * n * sizeof *a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, method, work, values, out), 0);
    check_eigenpairs(n, a, values, out, 1e-10);
    for (size_t j = 0; j < n; j++) {
        size_t big = 0;
        CU_ASSERT_DOUBLE_EQUAL(values[j], (double)(j + 1), 1e-10);
        for (size_t i = 1; i < n; i++)
            if (fabs(out[i * n + j]) > fabs(out[big * n + j]))
                big = i;
        CU_ASSERT(out[big * n + j] > 0);
    }
    qdi_eigen_free(e);
    free(a);
    free(q);
    free(work);
    free(values);
}

static void solvers_agree(size_t n)
{
    double *g = malloc(n * n * sizeof *g), *d = malloc(n * n * sizeof *d), *q = malloc(n * n * sizeof *q);
    check_solver(n, QDI_EIGEN_GSL, g);
    check_solver(n, QDI_EIGEN_DSYEVD, d);
    check_solver(n, QDI_EIGEN_QL, q);
    for (size_t i = 0; i < n * n; i++) {
        CU_ASSERT_DOUBLE_EQUAL(g[i], d[i], 1e-10);
        CU_ASSERT_DOUBLE_EQUAL(g[i], q[i], 1e-10);
    }
    free(g);
    free(d);
    free(q);
}

static void test_eigensolvers_recover_known_eigenpairs_and_agree(void)
{
    for (size_t n = 1; n <= 13; n++)
        if (n != 7) /* known_matrix's eigenvalues would all be 1 */
            solvers_agree(n);
    solvers_agree(20);
    solvers_agree(40);
    solvers_agree(67); /* the largest n AUTO gives QL */
    solvers_agree(100); /* above the crossover */
}

/* QL on matrices whose eigenvalues repeat (the identity CMA-ES starts
 * from, a diagonal, known_matrix at n = 14 and 21 with each eigenvalue
 * 7 times): A v = lambda v, orthonormal columns, ascending values. */
static void check_residuals(size_t n, const double *a)
{
    double *w = malloc(n * n * sizeof *w), *v = malloc(n * n * sizeof *v), *l = malloc(n * sizeof *l);
    qdi_eigen *e = qdi_eigen_new(n);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    memcpy(w, a, n * n * sizeof *a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l, v), 0);
    check_eigenpairs(n, a, l, v, 1e-10);
    qdi_eigen_free(e);
    free(w);
    free(v);
    free(l);
}

static void test_ql_handles_repeated_eigenvalues(void)
{
    double a[21 * 21], q[21 * 21];
    for (size_t n = 1; n <= 21; n += 4) {
        for (size_t i = 0; i < n * n; i++)
            a[i] = i / n == i % n ? 1.0 : 0.0;
        check_residuals(n, a);
        for (size_t i = 0; i < n; i++)
            a[i * n + i] = (double)(n - i) * 0.5; /* diagonal, descending */
        check_residuals(n, a);
    }
    known_matrix(14, a, q);
    check_residuals(14, a);
    known_matrix(21, a, q);
    check_residuals(21, a);
}

/* QL on known_matrix scaled by 2^-600 and 2^600 (squares that under- and
 * overflow, where the QL step falls back to hypot): the eigenvalues scale
 * exactly with the matrix, the eigenvectors do not change. */
static void test_ql_scales_without_overflow(void)
{
    enum { N = 12 };
    double a[N * N], q[N * N], w[N * N], v0[N * N], v[N * N], l0[N], l[N];
    const double scales[] = {0x1p-600, 0x1p600};
    qdi_eigen *e = qdi_eigen_new(N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    known_matrix(N, a, q);
    memcpy(w, a, sizeof a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l0, v0), 0);
    for (int k = 0; k < 2; k++) {
        for (size_t i = 0; i < N * N; i++)
            w[i] = a[i] * scales[k]; /* a power of two: exact */
        CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l, v), 0);
        for (size_t j = 0; j < N; j++)
            CU_ASSERT_DOUBLE_EQUAL(l[j] / scales[k], l0[j], 1e-10);
        for (size_t i = 0; i < N * N; i++)
            CU_ASSERT_DOUBLE_EQUAL(v[i], v0[i], 1e-10);
    }
    qdi_eigen_free(e);
}

/* A graded matrix, S T S with T = tridiag(-1, 2, -1) and S_ii spanning
 * 10^-3.75 .. 10^3.75 (eigenvalues 1e-8 .. 8e7): its top eigenvalue waits
 * while those below converge, which once ran out of QL's sweeps at n = 52
 * (30 per eigenvalue then; 30 n in all now, as dsteqr). A v = lambda v to
 * 1e-12 of the largest eigenvalue with orthonormal vectors, the values
 * those of GSL's symmv. */
static void test_ql_converges_on_a_graded_matrix(void)
{
    enum { N = 52 };
    static double a[N * N], w[N * N], v[N * N], g[N * N], l[N], lg[N];
    qdi_eigen *e = qdi_eigen_new(N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++) {
            double t = i == j ? 2 : abs(i - j) == 1 ? -1 : 0;
            a[i * N + j] = t * pow(10.0, 7.5 * (i / (N - 1.0) - 0.5)) * pow(10.0, 7.5 * (j / (N - 1.0) - 0.5));
        }
    memcpy(w, a, sizeof a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l, v), 0);
    memcpy(w, a, sizeof a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_GSL, w, lg, g), 0);
    double top = l[N - 1];
    CU_ASSERT(top > 1e7);
    for (int j = 0; j < N; j++)
        CU_ASSERT_DOUBLE_EQUAL(l[j] / top, lg[j] / top, 1e-12);
    check_eigenpairs(N, a, l, v, 1e-12 * top);
    qdi_eigen_free(e);
}

/* A small integer matrix times 2^-1060 (every entry exact, most of them
 * subnormal) gives the integer matrix's eigenvectors exactly and its
 * eigenvalues times 2^-1060 (rounded to subnormals): QL scales such a
 * matrix up by a power of two first. Unscaled, its
 * off-diagonal sank into subnormals and it lost accuracy or gave up. */
static void test_ql_scales_a_subnormal_matrix_exactly(void)
{
    enum { N = 12 };
    double a[N * N], w[N * N], v0[N * N], v[N * N], l0[N], l[N];
    unsigned r = 7u;
    qdi_eigen *e = qdi_eigen_new(N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    for (int i = 0; i < N; i++)
        for (int j = 0; j <= i; j++) {
            r = r * 1103515245u + 12345u;
            a[i * N + j] = a[j * N + i] = (double)((int)(r >> 16 & 7) - 3) + 8.0 * (i == j);
        }
    memcpy(w, a, sizeof a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l0, v0), 0);
    for (int i = 0; i < N * N; i++)
        w[i] = ldexp(a[i], -1060);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l, v), 0);
    for (int j = 0; j < N; j++) /* the values themselves are subnormal: exact to half their last place, 2^-1075 */
        CU_ASSERT_DOUBLE_EQUAL(ldexp(l[j], 1060), l0[j], 0x1p-15);
    CU_ASSERT_EQUAL(memcmp(v, v0, sizeof v), 0);
    qdi_eigen_free(e);
}

/* Inputs with a known structure: tridiag(-1, 2, -1) (already
 * tridiagonal: no reflection), whose eigenvalues are 2 - 2 cos(k pi /
 * (n + 1)), and the rank-1 u u^T (eigenvalues 0, n - 1 times, and u.u). */
static void test_ql_on_tridiagonal_and_rank_one_matrices(void)
{
    enum { N = 30 };
    double a[N * N], w[N * N], v[N * N], l[N], u[N], uu = 0;
    qdi_eigen *e = qdi_eigen_new(N);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            a[i * N + j] = i == j ? 2 : abs(i - j) == 1 ? -1 : 0;
    check_residuals(N, a);
    memcpy(w, a, sizeof a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l, v), 0);
    for (int k = 0; k < N; k++)
        CU_ASSERT_DOUBLE_EQUAL(l[k], 2 - 2 * cos((k + 1) * M_PI / (N + 1)), 1e-13);
    for (int i = 0; i < N; i++) {
        u[i] = (double)(i % 5) - 1.5;
        uu += u[i] * u[i];
    }
    for (int i = 0; i < N; i++)
        for (int j = 0; j < N; j++)
            a[i * N + j] = u[i] * u[j];
    check_residuals(N, a);
    memcpy(w, a, sizeof a);
    CU_ASSERT_EQUAL_FATAL(qdi_eigen_symmetric(e, QDI_EIGEN_QL, w, l, v), 0);
    CU_ASSERT_DOUBLE_EQUAL(l[N - 1], uu, 1e-12 * uu);
    for (int k = 0; k + 1 < N; k++)
        CU_ASSERT_DOUBLE_EQUAL(l[k], 0, 1e-12 * uu);
    qdi_eigen_free(e);
}

/* AUTO gives exactly what the solver for its n gives, the same bytes on
 * every call. */
static void test_auto_picks_by_crossover_and_repeats_exactly(void)
{
    const size_t sizes[] = {9, 100};
    for (int s = 0; s < 2; s++) {
        size_t n = sizes[s];
        qdi_eigen_method expect = n >= qdi_eigen_crossover() ? QDI_EIGEN_DSYEVD : QDI_EIGEN_QL;
        double *a = malloc(n * n * sizeof *a), *q = malloc(n * n * sizeof *q), *w = malloc(n * n * sizeof *w),
               *v1 = malloc(n * n * sizeof *v1), *v2 = malloc(n * n * sizeof *v2), *l1 = malloc(n * sizeof *l1),
               *l2 = malloc(n * sizeof *l2);
        qdi_eigen *e = qdi_eigen_new(n);
        known_matrix(n, a, q);
        memcpy(w, a, n * n * sizeof *a);
        CU_ASSERT_EQUAL(qdi_eigen_symmetric(e, QDI_EIGEN_AUTO, w, l1, v1), 0);
        memcpy(w, a, n * n * sizeof *a);
        CU_ASSERT_EQUAL(qdi_eigen_symmetric(e, expect, w, l2, v2), 0);
        CU_ASSERT_EQUAL(memcmp(v1, v2, n * n * sizeof *v1), 0);
        CU_ASSERT_EQUAL(memcmp(l1, l2, n * sizeof *l1), 0);
        memcpy(w, a, n * n * sizeof *a);
        CU_ASSERT_EQUAL(qdi_eigen_symmetric(e, QDI_EIGEN_AUTO, w, l2, v2), 0);
        CU_ASSERT_EQUAL(memcmp(v1, v2, n * n * sizeof *v1), 0);
        qdi_eigen_free(e);
        free(a);
        free(q);
        free(w);
        free(v1);
        free(v2);
        free(l1);
        free(l2);
    }
}

#ifdef HAVE_OPENBLAS
int openblas_get_num_threads(void); /* OpenBLAS's; see cma_linalg.c on <cblas.h> */
#endif

static void test_build_names_its_blas(void)
{
#ifdef HAVE_OPENBLAS
    CU_ASSERT_STRING_EQUAL(qdi_linalg_name(), "OpenBLAS + LAPACKE");
    /* qd_global_init (the harness calls it) pins OpenBLAS to the calling thread */
    CU_ASSERT_EQUAL(openblas_get_num_threads(), 1);
    CU_ASSERT(qdi_eigen_crossover() > 1 && qdi_eigen_crossover() < 1000);
#else
    CU_ASSERT_STRING_EQUAL(qdi_linalg_name(), "GSL CBLAS");
    CU_ASSERT_EQUAL(qdi_eigen_crossover(), SIZE_MAX);
#endif
    CU_ASSERT_PTR_NULL(qdi_eigen_new(0));
}

/* Threads of this process (entries of /proc/self/task); 0 without /proc. */
static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* OpenBLAS's pthread build starts a thread per further core when it loads;
 * each polls with sched_yield for ~0.1 s. qd_global_init (the harness calls
 * it) stops them, so the harness's thread is the only one left. */
static void test_init_leaves_no_blas_threads(void)
{
#ifdef __SANITIZE_THREAD__
    printf("(under TSan, whose runtime keeps a thread of its own: skipped) ");
#else
    int n = thread_count();
    if (n == 0)
        printf("(no /proc/self/task: skipped) ");
    else
        CU_ASSERT_EQUAL(n, 1);
#endif
}

/* Small integers: every product is exact, so the BLAS must equal the loops
 * bit for bit (whatever order it sums in). */
static void test_products_equal_plain_loops_exactly(void)
{
    enum { M = 37, N = 21, K = 13 };
    static double a[M * N], b[N * N], c[M * N], c0[M * N], x[N], y[N], y0[N], s[N * N], s0[N * N];
    for (size_t i = 0; i < M * N; i++)
        a[i] = (double)((int)(i * 5 % 11) - 5);
    for (size_t i = 0; i < N * N; i++) {
        b[i] = (double)((int)(i * 3 % 7) - 3);
        s[i] = s0[i] = (double)(i % 4);
    }
    for (size_t i = 0; i < N; i++)
        x[i] = y[i] = y0[i] = (double)((int)i % 5 - 2);
    for (size_t i = 0; i < M * N; i++)
        c[i] = c0[i] = (double)(i % 3);

    /* C = 2 A B^T + 0.5 C, A M x N, B N x N */
    qdi_linalg_gemm_nt(M, N, N, 2.0, a, b, 0.5, c);
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double e = 0;
            for (size_t k = 0; k < N; k++)
                e += a[i * N + k] * b[j * N + k];
            CU_ASSERT_EQUAL(c[i * N + j], 2.0 * e + 0.5 * c0[i * N + j]);
        }
    /* y = 3 B x - y */
    qdi_linalg_gemv(N, N, 3.0, b, x, -1.0, y);
    for (size_t i = 0; i < N; i++) {
        double e = 0;
        for (size_t k = 0; k < N; k++)
            e += b[i * N + k] * x[k];
        CU_ASSERT_EQUAL(y[i], 3.0 * e - y0[i]);
    }
    /* upper S = 0.25 A^T A + 2 S with A's first K rows (K x N), then += 0.5 x x^T */
    qdi_linalg_syrk_upper(N, K, 0.25, a, 2.0, s);
    qdi_linalg_syr_upper(N, 0.5, x, s);
    for (size_t i = 0; i < N; i++)
        for (size_t j = 0; j < N; j++) {
            double e = 0;
            for (size_t k = 0; k < K; k++)
                e += a[k * N + i] * a[k * N + j];
            if (j >= i) {
                CU_ASSERT_EQUAL(s[i * N + j], 0.25 * e + 2.0 * s0[i * N + j] + 0.5 * x[i] * x[j]);
            } else {
                CU_ASSERT_EQUAL(s[i * N + j], s0[i * N + j]); /* lower triangle untouched */
            }
        }
}

/* Our own gemv at every shape it meets (rows in fours and a remainder,
 * odd and even columns, 1 x 1): small integers, so it must equal the plain
 * loop bit for bit; beta 0 must not read y (NaN there stays out), and on
 * real numbers it sums in its fixed order: pairs of columns in two lanes,
 * the lanes added, then the odd column. */
static void test_own_gemv_equals_plain_loop_at_every_shape(void)
{
    enum { MAXN = 11 };
    static double a[MAXN * MAXN], x[MAXN], y[MAXN], y0[MAXN];
    for (size_t m = 1; m <= MAXN; m++)
        for (size_t n = 1; n <= MAXN; n++) {
            for (size_t i = 0; i < m * n; i++)
                a[i] = (double)((int)(i * 7 % 13) - 6);
            for (size_t i = 0; i < n; i++)
                x[i] = (double)((int)(i * 3 % 5) - 2);
            for (size_t i = 0; i < m; i++)
                y[i] = y0[i] = (double)((int)i % 3 - 1);
            qdi_linalg_gemv_own(m, n, 2.0, a, x, 0.5, y);
            for (size_t i = 0; i < m; i++) {
                double e = 0;
                for (size_t k = 0; k < n; k++)
                    e += a[i * n + k] * x[k];
                CU_ASSERT_EQUAL(y[i], 2.0 * e + 0.5 * y0[i]);
            }
            for (size_t i = 0; i < m; i++)
                y[i] = NAN;
            qdi_linalg_gemv_own(m, n, 1.0, a, x, 0.0, y);
            for (size_t i = 0; i < m; i++) {
                double e = 0;
                for (size_t k = 0; k < n; k++)
                    e += a[i * n + k] * x[k];
                CU_ASSERT_EQUAL(y[i], e);
            }
        }
    /* 1 + 1e-16 + ...: the order shows in the rounding (a plain loop
     * gives exactly 1) */
    double r[5] = {1.0, 1e-16, 1e-16, 1e-16, 1e-16}, ones[5] = {1, 1, 1, 1, 1}, out, lanes[2];
    qdi_linalg_gemv_own(1, 5, 1.0, r, ones, 0.0, &out);
    lanes[0] = r[0] + r[2]; /* columns 0 and 2 */
    lanes[1] = r[1] + r[3]; /* columns 1 and 3 */
    CU_ASSERT_EQUAL(out, (lanes[0] + lanes[1]) + r[4]);
    CU_ASSERT(out > 1.0);
    /* through qdi_linalg_gemv below its crossover: the same bytes */
    double via = 0;
    qdi_linalg_gemv(1, 5, 1.0, r, ones, 0.0, &via);
    CU_ASSERT_EQUAL(via, out);
}

static const qdt_test tests[] = {
    {"eigensolvers recover known eigenpairs and agree", test_eigensolvers_recover_known_eigenpairs_and_agree},
    {"auto picks by crossover and repeats exactly", test_auto_picks_by_crossover_and_repeats_exactly},
    {"build names its BLAS", test_build_names_its_blas},
    {"init leaves no BLAS threads", test_init_leaves_no_blas_threads},
    {"QL handles repeated eigenvalues", test_ql_handles_repeated_eigenvalues},
    {"QL scales without overflow", test_ql_scales_without_overflow},
    {"QL converges on a graded matrix", test_ql_converges_on_a_graded_matrix},
    {"QL scales a subnormal matrix exactly", test_ql_scales_a_subnormal_matrix_exactly},
    {"QL on tridiagonal and rank-one matrices", test_ql_on_tridiagonal_and_rank_one_matrices},
    {"products equal plain loops exactly", test_products_equal_plain_loops_exactly},
    {"own gemv equals plain loop at every shape", test_own_gemv_equals_plain_loop_at_every_shape},
    {NULL, NULL},
};

QDT_MAIN("cma_linalg", tests)
