/* eigen_ql.c - symmetric eigendecomposition for small n: Householder
 * tridiagonalisation, then the implicit QL algorithm with Wilkinson shifts
 * (the method of EISPACK's tred2/tql2, Wilkinson and Reinsch's Handbook),
 * written for CMA-ES's covariance matrices of n up to a few dozen.
 *
 * Why not GSL's symmv or LAPACK at these sizes: both do the same
 * arithmetic through a BLAS-1/2 call or a gsl_vector view per row, and at
 * n = 20 those calls cost more than the multiply-adds (gsl_eigen_symmv was
 * 315,000 instructions per 20 x 20 matrix under callgrind, two thirds of a
 * CMA-ME run). Here every loop is inlined and walks contiguous memory:
 *
 *   - the full symmetric matrix is kept (not one triangle), so A u is a dot
 *     product along rows and the rank-2 update runs along rows;
 *   - the eigenvectors are kept as rows (Z = Q^T, then each QL rotation
 *     mixes two rows), and transposed once at the end.
 *
 * Householder step for row i (m = i entries left of the diagonal, x =
 * A[i][0..m-1], scaled by sum |x_k| against over- and underflow): u = x with
 * u[m-1] = alpha - beta, beta = -sign(alpha) |x|, h = u.u / 2, P = I - u u^T / h;
 * P A P on the leading m x m block is A - u q^T - q u^T with p = A u / h,
 * q = p - (u.p / 2h) u. T = P_1 ... P_{n-1} A P_{n-1} ... P_1, so A = Q T Q^T
 * with Q^T = P_1 P_2 ... P_{n-1}, built from the identity left to right.
 *
 * Two guards LAPACK's dsteqr also has: QL gets 30 n sweeps in all, not 30
 * per eigenvalue (on a graded matrix the top eigenvalue waits while those
 * below it converge), and a matrix whose largest entry is below 2^-256 or
 * above 2^256 is scaled by a power of two first (exact), so that QL's
 * off-diagonal does not sink into subnormals or its squares overflow.
 */
#include <float.h>
#include <math.h>
#include <string.h>
#include "mutators/eigen_ql.h"

#define MAX_SWEEPS 30 /* QL iterations allowed per eigenvalue, on average */

/* Two doubles at any 8-byte address: GCC's vector extension, one SSE2
 * operation on baseline x86-64. Each lane does the scalar code's
 * arithmetic in the same order, so results do not depend on the width. */
typedef double v2 __attribute__((vector_size(16), aligned(8), may_alias));

/* sum x[k] y[k], k < n: even and odd k summed apart, then added (a fixed
 * order: the same bytes on every machine the build runs on). */
static inline double dot(const double *x, const double *y, size_t n)
{
    v2 acc = {0, 0};
    size_t k = 0;
    for (; k + 2 <= n; k += 2)
        acc += *(const v2 *)(x + k) * *(const v2 *)(y + k);
    double s = acc[0] + acc[1];
    for (; k < n; k++)
        s += x[k] * y[k];
    return s;
}

/* x[k] -= a y[k] + b w[k], k < n (the rank-2 update; axpy below is its one-term case). */
static inline void axpy2(double *x, size_t n, double a, const double *y, double b, const double *w)
{
    size_t k = 0;
    for (; k + 2 <= n; k += 2)
        *(v2 *)(x + k) -= a * *(const v2 *)(y + k) + b * *(const v2 *)(w + k);
    for (; k < n; k++)
        x[k] -= a * y[k] + b * w[k];
}

static inline void axpy(double *x, size_t n, double a, const double *y)
{
    size_t k = 0;
    for (; k + 2 <= n; k += 2)
        *(v2 *)(x + k) -= a * *(const v2 *)(y + k);
    for (; k < n; k++)
        x[k] -= a * y[k];
}

/* The Givens rotation of rows x and y: x = c x - s y, y = s x + c y. */
static inline void rotate(double *x, double *y, size_t n, double c, double s)
{
    size_t k = 0;
    for (; k + 2 <= n; k += 2) {
        v2 a = *(v2 *)(x + k), b = *(v2 *)(y + k);
        *(v2 *)(x + k) = c * a - s * b;
        *(v2 *)(y + k) = s * a + c * b;
    }
    for (; k < n; k++) {
        double a = x[k], b = y[k];
        x[k] = c * a - s * b;
        y[k] = s * a + c * b;
    }
}

/* Reduces a (n x n, full) to tridiagonal: a's diagonal becomes T's,
 * off[i] = T[i][i-1] (i >= 1), and row i keeps u_i in columns 0..i-1 with
 * h[i] its u.u / 2 (0: no reflection at that row). */
static void tridiagonalise(size_t n, double *a, double *off, double *h)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t m = i;
        double *x = a + i * n, scale = 0, sigma2 = 0;
        h[i] = 0;
        for (size_t k = 0; k < m; k++)
            scale += fabs(x[k]);
        if (m == 1 || scale == 0) {
            off[i] = x[m - 1];
            continue;
        }
        for (size_t k = 0; k < m; k++)
            x[k] /= scale;
        for (size_t k = 0; k + 1 < m; k++)
            sigma2 += x[k] * x[k];
        double alpha = x[m - 1];
        if (sigma2 == 0) { /* this row is tridiagonal already */
            off[i] = scale * alpha;
            continue;
        }
        double norm = sqrt(alpha * alpha + sigma2), beta = alpha > 0 ? -norm : norm;
        double hh = norm * norm - alpha * beta, up = 0, *q = off; /* off[0..m-1] is free until row m's turn */
        x[m - 1] = alpha - beta;
        off[i] = scale * beta;
        h[i] = hh;
        for (size_t j = 0; j < m; j++) { /* p = A u / h, into q */
            q[j] = dot(a + j * n, x, m) / hh;
            up += x[j] * q[j];
        }
        double kk = up / (2 * hh);
        for (size_t j = 0; j < m; j++)
            q[j] -= kk * x[j];
        for (size_t j = 0; j < m; j++)
            axpy2(a + j * n, m, x[j], q, q[j], x);
    }
    off[0] = 0;
    h[0] = 0;
}

/* z (n x n) = Q^T = P_1 P_2 ... P_{n-1}, rows < i of column block < i at
 * step i (the rest of Z is still the identity there). */
static void accumulate(size_t n, const double *a, const double *h, double *z)
{
    memset(z, 0, n * n * sizeof *z);
    for (size_t i = 0; i < n; i++)
        z[i * n + i] = 1;
    for (size_t i = 1; i < n; i++) {
        if (h[i] == 0)
            continue;
        size_t m = i;
        const double *u = a + i * n;
        for (size_t r = 0; r < m; r++) {
            double *row = z + r * n;
            axpy(row, m, dot(row, u, m) / h[i], u);
        }
    }
}

/* sqrt(f^2 + g^2): the plain formula where its square neither overflows
 * nor loses bits to underflow (hypot's call costs more than the rest of a
 * QL step on the step's critical path), hypot outside. */
static inline double norm2(double f, double g)
{
    double t = f * f + g * g;
    return t > 0x1p-960 && t < 0x1p960 ? sqrt(t) : hypot(f, g);
}

/* Implicit QL on the tridiagonal (d, e: e[k] couples k and k + 1), each
 * rotation applied to rows k, k + 1 of z. */
static int ql(size_t n, double *d, double *e, double *z)
{
    size_t sweeps = 0;
    for (size_t l = 0; l < n; l++) {
        for (;;) {
            size_t m;
            for (m = l; m + 1 < n; m++)
                if (fabs(e[m]) <= DBL_EPSILON * (fabs(d[m]) + fabs(d[m + 1])))
                    break;
            if (m == l)
                break;
            if (sweeps++ == MAX_SWEEPS * n)
                return -1;
            double g = (d[l + 1] - d[l]) / (2 * e[l]), r = norm2(g, 1.0);
            g = d[m] - d[l] + e[l] / (g + copysign(r, g));
            double s = 1, c = 1, p = 0;
            size_t i;
            int underflow = 0;
            for (i = m; i-- > l;) {
                double f = s * e[i], b = c * e[i];
                r = norm2(f, g);
                e[i + 1] = r;
                if (r == 0) { /* split: restart on the smaller block */
                    d[i + 1] -= p;
                    e[m] = 0;
                    underflow = 1;
                    break;
                }
                s = f / r;
                c = g / r;
                g = d[i + 1] - p;
                r = (d[i] - g) * s + 2 * c * b;
                p = s * r;
                d[i + 1] = g + p;
                g = c * r - b;
                rotate(z + i * n, z + (i + 1) * n, n, c, s);
            }
            if (underflow)
                continue;
            d[l] -= p;
            e[l] = g;
            e[m] = 0;
        }
    }
    return 0;
}

int qdi_eigen_ql(size_t n, double *a, double *values, double *vectors, double *work)
{
    double *e = work, *h = work + n, amax = 0;
    int shift = 0;
    if (n == 0)
        return 0;
    for (size_t i = 0; i < n * n; i++) {
        double x = fabs(a[i]);
        if (!(x <= DBL_MAX)) /* inf or nan */
            return -1;
        amax = x > amax ? x : amax;
    }
    if (amax > 0 && (amax < 0x1p-256 || amax > 0x1p256)) { /* to [1, 2) by a power of two */
        shift = ilogb(amax);
        for (size_t i = 0; i < n * n; i++)
            a[i] = ldexp(a[i], -shift);
    }
    tridiagonalise(n, a, e, h);
    for (size_t i = 0; i < n; i++)
        values[i] = a[i * n + i];
    accumulate(n, a, h, vectors);
    for (size_t i = 0; i + 1 < n; i++) /* e[i] couples i and i + 1 */
        e[i] = e[i + 1];
    e[n - 1] = 0;
    if (ql(n, values, e, vectors) != 0)
        return -1;
    if (shift)
        for (size_t i = 0; i < n; i++)
            values[i] = ldexp(values[i], shift);
    for (size_t i = 0; i + 1 < n; i++) { /* ascending; a selection sort moves each row once */
        size_t k = i;
        for (size_t j = i + 1; j < n; j++)
            if (values[j] < values[k])
                k = j;
        if (k != i) {
            double t = values[i];
            values[i] = values[k];
            values[k] = t;
            for (size_t c = 0; c < n; c++) {
                t = vectors[i * n + c];
                vectors[i * n + c] = vectors[k * n + c];
                vectors[k * n + c] = t;
            }
        }
    }
    for (size_t i = 0; i < n; i++) /* rows -> columns */
        for (size_t j = i + 1; j < n; j++) {
            double t = vectors[i * n + j];
            vectors[i * n + j] = vectors[j * n + i];
            vectors[j * n + i] = t;
        }
    return 0;
}
