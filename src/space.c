/* space.c - the search space an evaluator declares: genome kind, length and
 * bounds; measure count, natural ranges and names; objective range. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int qd_space_init(qd_space *s, qd_genome_kind kind, size_t dim, size_t measures)
{
    memset(s, 0, sizeof *s);
    s->kind = kind;
    s->dim = dim;
    s->measures = measures;
    s->objective_min = NAN;
    s->objective_max = NAN;
    if (dim) {
        s->lower = malloc(dim * sizeof *s->lower);
        s->upper = malloc(dim * sizeof *s->upper);
        if (!s->lower || !s->upper)
            goto fail;
        for (size_t i = 0; i < dim; i++) {
            s->lower[i] = -INFINITY;
            s->upper[i] = INFINITY;
        }
    }
    if (measures) {
        s->measure_lower = malloc(measures * sizeof *s->measure_lower);
        s->measure_upper = malloc(measures * sizeof *s->measure_upper);
        s->measure_names = calloc(measures, sizeof *s->measure_names);
        if (!s->measure_lower || !s->measure_upper || !s->measure_names)
            goto fail;
        for (size_t i = 0; i < measures; i++) {
            char name[32];
            s->measure_lower[i] = NAN;
            s->measure_upper[i] = NAN;
            snprintf(name, sizeof name, "measure_%zu", i);
            if (!(s->measure_names[i] = strdup(name)))
                goto fail;
        }
    }
    return QD_OK;
fail:
    qd_space_free(s);
    return QD_ENOMEM;
}

int qd_space_set_measure_name(qd_space *s, size_t i, const char *name)
{
    char *copy;
    if (i >= s->measures || !name)
        return QD_EINVAL;
    if (!(copy = strdup(name)))
        return QD_ENOMEM;
    free(s->measure_names[i]);
    s->measure_names[i] = copy;
    return QD_OK;
}

static void free_labels(char **l)
{
    for (size_t j = 0; l && l[j]; j++)
        free(l[j]);
    free(l);
}

int qd_space_set_measure_labels(qd_space *s, size_t i, const char *const *labels, size_t n, int categorical)
{
    char **l;
    if (i >= s->measures || (categorical ? n < 1 : n != 2))
        return QD_EINVAL;
    if (!s->measure_labels) {
        if (!(s->measure_labels = calloc(s->measures, sizeof *s->measure_labels)))
            return QD_ENOMEM;
        if (!(s->measure_categorical = calloc(s->measures, sizeof *s->measure_categorical))) {
            free(s->measure_labels);
            s->measure_labels = NULL;
            return QD_ENOMEM;
        }
    }
    if (!(l = calloc(n + 1, sizeof *l)))
        return QD_ENOMEM;
    for (size_t j = 0; j < n; j++)
        if (!(l[j] = strdup(labels[j]))) {
            free_labels(l);
            return QD_ENOMEM;
        }
    free_labels(s->measure_labels[i]);
    s->measure_labels[i] = l;
    s->measure_categorical[i] = categorical != 0;
    return QD_OK;
}

void qd_space_free(qd_space *s)
{
    if (!s)
        return;
    if (s->measure_labels)
        for (size_t i = 0; i < s->measures; i++)
            free_labels(s->measure_labels[i]);
    free(s->measure_labels);
    free(s->measure_categorical);
    s->measure_labels = NULL;
    s->measure_categorical = NULL;
    free(s->lower);
    free(s->upper);
    free(s->measure_lower);
    free(s->measure_upper);
    if (s->measure_names)
        for (size_t i = 0; i < s->measures; i++)
            free(s->measure_names[i]);
    free(s->measure_names);
    s->lower = s->upper = s->measure_lower = s->measure_upper = NULL;
    s->measure_names = NULL;
}

int qd_space_copy(qd_space *dst, const qd_space *src)
{
    int rc = qd_space_init(dst, src->kind, src->dim, src->measures);
    if (rc)
        return rc;
    if (src->dim) {
        memcpy(dst->lower, src->lower, src->dim * sizeof *dst->lower);
        memcpy(dst->upper, src->upper, src->dim * sizeof *dst->upper);
    }
    for (size_t i = 0; i < src->measures; i++) {
        dst->measure_lower[i] = src->measure_lower[i];
        dst->measure_upper[i] = src->measure_upper[i];
        if ((rc = qd_space_set_measure_name(dst, i, src->measure_names[i]))) {
            qd_space_free(dst);
            return rc;
        }
        if (src->measure_labels && src->measure_labels[i]) {
            size_t n = 0;
            while (src->measure_labels[i][n])
                n++;
            if ((rc = qd_space_set_measure_labels(dst, i, (const char *const *)src->measure_labels[i], n,
                                                  src->measure_categorical[i]))) {
                qd_space_free(dst);
                return rc;
            }
        }
    }
    dst->objective_min = src->objective_min;
    dst->objective_max = src->objective_max;
    return QD_OK;
}
