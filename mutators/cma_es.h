/* cma_es.h - the (mu/mu_w, lambda)-CMA-ES that the cmaes emitter drives
 * (Hansen, "The CMA Evolution Strategy: A Tutorial", 2016). The caller asks
 * for lambda samples, ranks them however it likes (objective, archive
 * improvement, a random direction) and tells the ranking; the instance keeps
 * the samples it produced, so tell needs only the order. */
#ifndef ELITES_CMA_ES_H
#define ELITES_CMA_ES_H

#include "src/internal.h"

typedef struct qdi_cma_es qdi_cma_es;

/* A new instance in dimension dim with lambda samples per generation,
 * step size sigma0 and mean x0 (copied), C = I. NULL when out of memory or
 * dim or lambda is 0. Free with qdi_cma_es_free. */
qdi_cma_es *qdi_cma_es_new(size_t dim, size_t lambda, double sigma0, const double *x0);
/* Sets the evaluations between eigendecompositions to
 * factor * lambda / ((c1 + c_mu) n), for the default mu: 0.1 is Hansen's
 * tutorial (the default), 0.5 what purecma, pycma and pyribs use. */
void qdi_cma_es_set_eigen_gap(qdi_cma_es *es, double factor);
/* Frees an instance. Accepts NULL. */
void qdi_cma_es_free(qdi_cma_es *es);
/* Starts over at mean (copied) with sigma0, C = I, empty paths and zeroed
 * counters. */
void qdi_cma_es_reset(qdi_cma_es *es, const double *mean, double sigma0);
/* Writes lambda samples x = m + sigma B D z into xs (lambda x dim, row
 * major) and keeps them for the next tell. */
void qdi_cma_es_ask(qdi_cma_es *es, gsl_rng *rng, double *xs);
/* The distribution one generation samples from: x = mean + sigma B D z. */
typedef struct qdi_cma_es_view {
    size_t n;
    double sigma;
    const double *mean, *BD; /* n numbers; n x n, row major */
} qdi_cma_es_view;
/* Starts a generation sampled outside the instance (in the workers): does
 * the eigendecomposition if one is due and returns the view jobs share,
 * read only, until the next tell, reset or load (owned by es). Each sample
 * k is then made with qdi_cma_es_sample and handed back with
 * qdi_cma_es_put_sample before the tell. */
const qdi_cma_es_view *qdi_cma_es_begin(qdi_cma_es *es);
/* One sample of view v: z ~ N(0, I) from rng, y = B D z, x = mean + sigma y
 * (n numbers each). Reads only v: safe in any thread. */
void qdi_cma_es_sample(const qdi_cma_es_view *v, const gsl_rng *rng, double *z, double *y, double *x);
/* Records z and y (copied) as sample k of the generation begun, for tell. */
void qdi_cma_es_put_sample(qdi_cma_es *es, size_t k, const double *z, const double *y);
/* Does the eigendecomposition if one is due (otherwise the next ask or
 * begin does): lets a tell running on a worker take it off the loop. */
void qdi_cma_es_prepare(qdi_cma_es *es);
/* Updates mean, paths, C and sigma from the last ask's samples: order lists
 * sample indices best first; the first `parents` of them (at most lambda)
 * recombine with log-linear weights computed for that many parents. With 0
 * parents only the evaluation count moves. */
void qdi_cma_es_tell(qdi_cma_es *es, const size_t *order, size_t parents);
/* The default number of parents, floor(lambda / 2). */
size_t qdi_cma_es_mu(const qdi_cma_es *es);
/* Nonzero when CMA-ES's own stopping criteria hold (the "basic" restart
 * rule): sigma * sqrt(max eigenvalue) < 1e-11, condition number of C
 * above 1e14, or a numerical failure. */
int qdi_cma_es_should_stop(const qdi_cma_es *es);
/* Nonzero after a numerical failure (NaN or infinite mean, sigma or C). */
int qdi_cma_es_failed(const qdi_cma_es *es);
/* Read-only views for tests and benchmarks: the mean (dim numbers), sigma,
 * evaluations since the last reset, and eigendecompositions done. */
const double *qdi_cma_es_mean(const qdi_cma_es *es);
double qdi_cma_es_sigma(const qdi_cma_es *es);
uint64_t qdi_cma_es_evaluations(const qdi_cma_es *es);
uint64_t qdi_cma_es_decompositions(const qdi_cma_es *es);
/* Writes the whole state (every number exactly) into the object out. */
int qdi_cma_es_save(const qdi_cma_es *es, cJSON *out);
/* Restores a state written by qdi_cma_es_save into an instance of the same
 * dim and lambda; QD_EFORMAT (the instance unchanged) if in is not one. */
int qdi_cma_es_load(qdi_cma_es *es, const cJSON *in);

#endif
