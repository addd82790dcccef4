/* pca.c - principal components of feature rows, the unsupervised baseline
 * of the QDHF paper (Ding et al. 2024, as AURORA: the measures are the
 * first principal components of the solutions' features, fitted once
 * before the search or again at every online round). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_eigen.h>
#include "evaluators/qdhf_learn.h"

int qdi_projection_fit_pca(qdi_projection *p, const double *features, size_t n, size_t d, size_t k)
{
    double *mean = calloc(d, sizeof *mean);
    gsl_matrix *cov = gsl_matrix_calloc(d, d), *vec = gsl_matrix_alloc(d, d);
    gsl_vector *val = gsl_vector_alloc(d);
    gsl_eigen_symmv_workspace *ws = gsl_eigen_symmv_alloc(d);
    int rc = QD_ENOMEM;
    qdi_projection_free(p);
    p->d = d;
    p->k = k;
    p->W = calloc(k * d, sizeof *p->W);
    p->b = calloc(k, sizeof *p->b);
    if (!mean || !cov || !vec || !val || !ws || !p->W || !p->b)
        goto done;
    rc = QD_EINVAL;
    if (n < 2 || k > d)
        goto done;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < d; c++)
            mean[c] += features[r * d + c] / (double)n;
    for (size_t r = 0; r < n; r++)
        for (size_t i = 0; i < d; i++)
            for (size_t j = 0; j <= i; j++) {
                double v = (features[r * d + i] - mean[i]) * (features[r * d + j] - mean[j]) / (double)(n - 1);
                gsl_matrix_set(cov, i, j, gsl_matrix_get(cov, i, j) + v);
            }
    for (size_t i = 0; i < d; i++)
        for (size_t j = 0; j < i; j++)
            gsl_matrix_set(cov, j, i, gsl_matrix_get(cov, i, j));
    if (gsl_eigen_symmv(cov, val, vec, ws) || gsl_eigen_symmv_sort(val, vec, GSL_EIGEN_SORT_VAL_DESC))
        goto done;
    for (size_t i = 0; i < k; i++) {
        size_t big = 0;
        for (size_t c = 1; c < d; c++)
            if (fabs(gsl_matrix_get(vec, c, i)) > fabs(gsl_matrix_get(vec, big, i)))
                big = c;
        double sign = gsl_matrix_get(vec, big, i) < 0 ? -1.0 : 1.0;
        for (size_t c = 0; c < d; c++) {
            p->W[i * d + c] = sign * gsl_matrix_get(vec, c, i);
            p->b[i] -= p->W[i * d + c] * mean[c];
        }
    }
    rc = QD_OK;
done:
    if (rc != QD_OK)
        qdi_projection_free(p);
    free(mean);
    gsl_matrix_free(cov);
    gsl_matrix_free(vec);
    gsl_vector_free(val);
    if (ws)
        gsl_eigen_symmv_free(ws);
    return rc;
}
