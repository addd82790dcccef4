/* eigen_ql.h - a small dense symmetric eigensolver for CMA-ES's covariance
 * at small n (mutators/cma_linalg.c picks it by n): Householder
 * tridiagonalisation, then implicit QL with Wilkinson shifts, every loop
 * inlined and running along contiguous rows. */
#ifndef ELITES_EIGEN_QL_H
#define ELITES_EIGEN_QL_H

#include <stddef.h>

/* Eigendecomposition of the symmetric n x n matrix a (row major, both
 * triangles set; overwritten with scratch): eigenvalues ascending into
 * values (n), eigenvectors as the columns of vectors (n x n, row major,
 * not normalised in sign). work holds 2n doubles, owned by the caller.
 * Returns 0, or -1 when QL does not converge in 30 n sweeps (or the input
 * is not finite). Deterministic: the same input gives the same bytes. */
int qdi_eigen_ql(size_t n, double *a, double *values, double *vectors, double *work);

#endif
