/* cma_es.c - the (mu/mu_w, lambda)-CMA-ES of Hansen's tutorial ("The CMA
 * Evolution Strategy: A Tutorial", 2016, the equations of its Table 1 and
 * Figure 6), the building block of the CMA-ME / CMA-MAE emitter.
 *
 * Samples are x_k = m + sigma * y_k with y_k = B D z_k, z_k ~ N(0, I). B D
 * is cached as one matrix, so a whole generation is one matrix product
 * (Y = Z (BD)^T, a dgemm). The instance keeps Z and Y, so tell needs only
 * the ranking: the mean moves by sigma * y_w, and C^(-1/2) y_w = B z_w
 * gives the conjugate path without an inverse. C is updated in its upper
 * triangle (dsyrk for rank mu, dsyr for rank one) and decomposed lazily
 * (mutators/cma_linalg.c: GSL's symmv or LAPACK's dsyevd, per n) when more
 * than lambda / ((c1 + c_mu) n 10) evaluations have passed since the last
 * decomposition; the lower triangle is mirrored from the upper one then, so
 * C stays exactly symmetric. The products go to the configured BLAS.
 *
 * Parents: the caller says how many of the ranked samples recombine. As
 * pyribs' CMAEvolutionStrategy does, the log-linear weights
 * w_i = ln(p + 1/2) - ln(i) (normalised) and every parameter that depends
 * on mu_eff (c_sigma, d_sigma, c_c, c1, c_mu) are computed for the p
 * parents of each tell, so "filter" selection with fewer (or more) than
 * mu added solutions still gets positive weights summing to one. The
 * lazy-decomposition gap uses the parameters of the default mu.
 *
 * The same generation can also be sampled outside the instance, one job
 * at a time in the workers (qdi_cma_es_begin / _sample / _put_sample): each
 * job reads the shared mean, sigma and B D, draws its own z and hands z and
 * y back for tell.
 *
 * Numerics: the step-size exponent is capped at 1 (as pycma and pyribs do),
 * eigenvalues below max / 1e14 are lifted (C += delta I) so sampling stays
 * well defined, and a non-finite mean, sigma or C marks the instance
 * failed (the emitter restarts it).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "mutators/cma_es.h"
#include "mutators/cma_linalg.h"

#define MAX_CONDITION 1e14 /* stop (and lift small eigenvalues) above this */
#define MIN_AREA 1e-11     /* stop when sigma * sqrt(max eigenvalue) falls below */
#define MAX_AREA_RATIO 1e20 /* stop when sigma * sqrt(max eigenvalue) / sigma0 exceeds */

struct qdi_cma_es {
    size_t n, lambda, mu;
    double sigma0, sigma;
    double chi_n;    /* E||N(0, I)|| */
    double lazy_gap; /* evaluations between decompositions */
    double *mean, *ps, *pc;
    double *C;          /* n x n; the upper triangle is current */
    double *B, *D, *BD; /* eigenvectors (columns), sqrt(eigenvalues), B diag(D) */
    double *z, *y;      /* lambda x n: the last ask's samples */
    double *w;          /* lambda weights (scratch) */
    double *work;       /* max(n, lambda) x n scratch */
    double *eigenvalues, *vec;
    qdi_eigen *eigen;
    uint64_t evaluations, eigen_evaluations, generations, decompositions;
    double condition; /* of C at the last decomposition, before lifting */
    int failed, pending;
    qdi_cma_es_view view; /* what qdi_cma_es_begin hands out */
};

/* Strategy parameters of Hansen's tutorial for p parents. */
typedef struct params {
    double mu_eff, c_sigma, d_sigma, c_c, c1, c_mu;
} params;

/* Normalised log-linear weights for p parents into w; returns mu_eff. */
static double weights(double *w, size_t p)
{
    double sum = 0, sq = 0;
    for (size_t i = 0; i < p; i++) {
        w[i] = log((double)p + 0.5) - log((double)i + 1.0);
        sum += w[i];
    }
    for (size_t i = 0; i < p; i++) {
        w[i] /= sum;
        sq += w[i] * w[i];
    }
    return 1.0 / sq;
}

static params strategy(size_t dim, double mu_eff)
{
    const double n = (double)dim, alpha_cov = 2.0;
    params p;
    p.mu_eff = mu_eff;
    p.c_sigma = (mu_eff + 2.0) / (n + mu_eff + 5.0);
    p.d_sigma = 1.0 + 2.0 * fmax(0.0, sqrt((mu_eff - 1.0) / (n + 1.0)) - 1.0) + p.c_sigma;
    p.c_c = (4.0 + mu_eff / n) / (n + 4.0 + 2.0 * mu_eff / n);
    p.c1 = alpha_cov / ((n + 1.3) * (n + 1.3) + mu_eff);
    p.c_mu = fmin(1.0 - p.c1,
                  alpha_cov * (mu_eff - 2.0 + 1.0 / mu_eff) / ((n + 2.0) * (n + 2.0) + alpha_cov * mu_eff / 2.0));
    return p;
}

void qdi_cma_es_reset(qdi_cma_es *es, const double *mean, double sigma0)
{
    size_t n = es->n;
    memcpy(es->mean, mean, n * sizeof *es->mean);
    es->sigma0 = es->sigma = sigma0;
    memset(es->ps, 0, n * sizeof *es->ps);
    memset(es->pc, 0, n * sizeof *es->pc);
    memset(es->C, 0, n * n * sizeof *es->C);
    memset(es->B, 0, n * n * sizeof *es->B);
    memset(es->BD, 0, n * n * sizeof *es->BD);
    for (size_t i = 0; i < n; i++) {
        es->C[i * n + i] = es->B[i * n + i] = es->BD[i * n + i] = 1.0;
        es->D[i] = 1.0;
    }
    es->evaluations = es->eigen_evaluations = es->generations = 0;
    es->condition = 1.0;
    es->failed = es->pending = 0;
}

qdi_cma_es *qdi_cma_es_new(size_t dim, size_t lambda, double sigma0, const double *x0)
{
    qdi_cma_es *es;
    size_t n = dim, rows = lambda > dim ? lambda : dim;
    if (dim == 0 || lambda == 0 || !(es = calloc(1, sizeof *es)))
        return NULL;
    es->n = n;
    es->lambda = lambda;
    es->mu = lambda / 2 ? lambda / 2 : 1;
    es->chi_n = sqrt((double)n) * (1.0 - 1.0 / (4.0 * (double)n) + 1.0 / (21.0 * (double)n * (double)n));
    es->mean = malloc(n * sizeof *es->mean);
    es->ps = malloc(n * sizeof *es->ps);
    es->pc = malloc(n * sizeof *es->pc);
    es->C = malloc(n * n * sizeof *es->C);
    es->B = malloc(n * n * sizeof *es->B);
    es->BD = malloc(n * n * sizeof *es->BD);
    es->D = malloc(n * sizeof *es->D);
    /* zeroed: a checkpoint taken while a generation is out (async mode)
     * writes the rows its jobs have not handed back */
    es->z = calloc(lambda * n, sizeof *es->z);
    es->y = calloc(lambda * n, sizeof *es->y);
    es->w = malloc(lambda * sizeof *es->w);
    es->work = malloc(rows * n * sizeof *es->work);
    es->eigenvalues = malloc(n * sizeof *es->eigenvalues);
    es->vec = malloc(n * sizeof *es->vec);
    es->eigen = qdi_eigen_new(n);
    if (!es->mean || !es->ps || !es->pc || !es->C || !es->B || !es->BD || !es->D || !es->z || !es->y || !es->w ||
        !es->work || !es->eigenvalues || !es->vec || !es->eigen) {
        qdi_cma_es_free(es);
        return NULL;
    }
    qdi_cma_es_set_eigen_gap(es, 0.1);
    qdi_cma_es_reset(es, x0, sigma0);
    return es;
}

void qdi_cma_es_set_eigen_gap(qdi_cma_es *es, double factor)
{
    params p = strategy(es->n, weights(es->w, es->mu));
    es->lazy_gap = factor * (double)es->lambda / ((p.c1 + p.c_mu) * (double)es->n);
}

void qdi_cma_es_free(qdi_cma_es *es)
{
    if (!es)
        return;
    free(es->mean);
    free(es->ps);
    free(es->pc);
    free(es->C);
    free(es->B);
    free(es->BD);
    free(es->D);
    free(es->z);
    free(es->y);
    free(es->w);
    free(es->work);
    free(es->eigenvalues);
    free(es->vec);
    qdi_eigen_free(es->eigen);
    free(es);
}

static int all_finite(const double *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

/* BD = B diag(D), row by row. */
static void cache_bd(qdi_cma_es *es)
{
    size_t n = es->n;
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < n; j++)
            es->BD[i * n + j] = es->B[i * n + j] * es->D[j];
}

/* C = B diag(D^2) B^T, with C's lower triangle mirrored from the upper one
 * first; lifts eigenvalues below max / MAX_CONDITION. */
static void decompose(qdi_cma_es *es)
{
    size_t n = es->n;
    double max = -INFINITY, min = INFINITY;
    for (size_t i = 0; i < n; i++)
        for (size_t j = i; j < n; j++)
            es->C[j * n + i] = es->C[i * n + j];
    if (!all_finite(es->C, n * n)) {
        es->failed = 1;
        return;
    }
    memcpy(es->work, es->C, n * n * sizeof *es->work);
    if (qdi_eigen_symmetric(es->eigen, QDI_EIGEN_AUTO, es->work, es->eigenvalues, es->B) != 0 ||
        !all_finite(es->eigenvalues, n)) {
        es->failed = 1;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        max = fmax(max, es->eigenvalues[i]);
        min = fmin(min, es->eigenvalues[i]);
    }
    es->condition = min > 0 ? max / min : INFINITY;
    if (!(max > 0)) {
        es->failed = 1;
        return;
    }
    if (min < max / MAX_CONDITION) {
        double lift = max / MAX_CONDITION - min;
        for (size_t i = 0; i < n; i++) {
            es->eigenvalues[i] += lift;
            es->C[i * n + i] += lift;
        }
    }
    for (size_t i = 0; i < n; i++)
        es->D[i] = sqrt(es->eigenvalues[i]);
    cache_bd(es);
    es->eigen_evaluations = es->evaluations;
    es->decompositions++;
}

void qdi_cma_es_prepare(qdi_cma_es *es)
{
    if ((double)(es->evaluations - es->eigen_evaluations) > es->lazy_gap)
        decompose(es);
}

const qdi_cma_es_view *qdi_cma_es_begin(qdi_cma_es *es)
{
    qdi_cma_es_prepare(es);
    es->view = (qdi_cma_es_view){.n = es->n, .sigma = es->sigma, .mean = es->mean, .BD = es->BD};
    es->pending = 1;
    return &es->view;
}

void qdi_cma_es_sample(const qdi_cma_es_view *v, const gsl_rng *rng, double *z, double *y, double *x)
{
    size_t n = v->n;
    qd_ran_gaussian_fill(rng, 1.0, z, n);
    qdi_linalg_gemv(n, n, 1.0, v->BD, z, 0.0, y); /* y = BD z, BD row-major */
    for (size_t i = 0; i < n; i++)
        x[i] = v->mean[i] + v->sigma * y[i];
}

void qdi_cma_es_put_sample(qdi_cma_es *es, size_t k, const double *z, const double *y)
{
    memcpy(es->z + k * es->n, z, es->n * sizeof *z);
    memcpy(es->y + k * es->n, y, es->n * sizeof *y);
}

void qdi_cma_es_ask(qdi_cma_es *es, gsl_rng *rng, double *xs)
{
    size_t n = es->n, total = es->lambda * n;
    if ((double)(es->evaluations - es->eigen_evaluations) > es->lazy_gap)
        decompose(es);
    qd_ran_gaussian_fill(rng, 1.0, es->z, total);
    /* Y = Z (BD)^T: row k of Y is B D z_k */
    qdi_linalg_gemm_nt(es->lambda, n, n, 1.0, es->z, es->BD, 0.0, es->y);
    for (size_t k = 0; k < es->lambda; k++)
        for (size_t i = 0; i < n; i++)
            xs[k * n + i] = es->mean[i] + es->sigma * es->y[k * n + i];
    es->pending = 1;
}

void qdi_cma_es_tell(qdi_cma_es *es, const size_t *order, size_t parents)
{
    size_t n = es->n;
    double *yw = es->vec, *zw = es->work, norm_ps = 0;
    es->evaluations += es->lambda;
    es->generations++;
    es->pending = 0;
    if (parents == 0 || es->failed)
        return;
    if (parents > es->lambda)
        parents = es->lambda;
    params p = strategy(n, weights(es->w, parents));

    /* y_w and z_w: weighted means of the parents' steps */
    memset(yw, 0, n * sizeof *yw);
    memset(zw, 0, n * sizeof *zw);
    for (size_t i = 0; i < parents; i++) {
        const double *yi = es->y + order[i] * n, *zi = es->z + order[i] * n;
        for (size_t j = 0; j < n; j++) {
            yw[j] += es->w[i] * yi[j];
            zw[j] += es->w[i] * zi[j];
        }
    }
    /* m <- m + c_m sigma y_w, c_m = 1 */
    for (size_t j = 0; j < n; j++)
        es->mean[j] += es->sigma * yw[j];

    /* p_sigma <- (1 - c_sigma) p_sigma + sqrt(c_sigma (2 - c_sigma) mu_eff) C^(-1/2) y_w,
     * C^(-1/2) y_w = B D^-1 B^T B D z_w = B z_w */
    {
        double a = sqrt(p.c_sigma * (2.0 - p.c_sigma) * p.mu_eff);
        qdi_linalg_gemv(n, n, a, es->B, zw, 1.0 - p.c_sigma, es->ps);
    }
    for (size_t j = 0; j < n; j++)
        norm_ps += es->ps[j] * es->ps[j];
    norm_ps = sqrt(norm_ps);

    /* h_sigma stalls the rank-one path while ||p_sigma|| is large */
    double corr = sqrt(1.0 - pow(1.0 - p.c_sigma, 2.0 * (double)es->generations));
    int h_sigma = norm_ps / corr < (1.4 + 2.0 / ((double)n + 1.0)) * es->chi_n;
    double a_c = h_sigma ? sqrt(p.c_c * (2.0 - p.c_c) * p.mu_eff) : 0.0;
    for (size_t j = 0; j < n; j++)
        es->pc[j] = (1.0 - p.c_c) * es->pc[j] + a_c * yw[j];

    /* C <- (1 + c1 delta(h) - c1 - c_mu) C + c1 p_c p_c^T + c_mu sum w_i y_i y_i^T
     * (sum w_i = 1); rows of W are sqrt(w_i) y_i, so the rank-mu term is W^T W */
    double delta = (1.0 - h_sigma) * p.c_c * (2.0 - p.c_c);
    for (size_t i = 0; i < parents; i++) {
        double s = sqrt(es->w[i]);
        const double *yi = es->y + order[i] * n;
        for (size_t j = 0; j < n; j++)
            es->work[i * n + j] = s * yi[j];
    }
    qdi_linalg_syrk_upper(n, parents, p.c_mu, es->work, 1.0 + p.c1 * delta - p.c1 - p.c_mu, es->C);
    qdi_linalg_syr_upper(n, p.c1, es->pc, es->C);

    /* sigma <- sigma exp(min(1, (c_sigma / d_sigma) (||p_sigma|| / E||N(0,I)|| - 1))) */
    es->sigma *= exp(fmin(1.0, p.c_sigma / p.d_sigma * (norm_ps / es->chi_n - 1.0)));
    if (!isfinite(es->sigma) || !(es->sigma > 0) || !all_finite(es->mean, n))
        es->failed = 1;
}

size_t qdi_cma_es_mu(const qdi_cma_es *es) { return es->mu; }
int qdi_cma_es_failed(const qdi_cma_es *es) { return es->failed; }
const double *qdi_cma_es_mean(const qdi_cma_es *es) { return es->mean; }
double qdi_cma_es_sigma(const qdi_cma_es *es) { return es->sigma; }
uint64_t qdi_cma_es_evaluations(const qdi_cma_es *es) { return es->evaluations; }
uint64_t qdi_cma_es_decompositions(const qdi_cma_es *es) { return es->decompositions; }

int qdi_cma_es_should_stop(const qdi_cma_es *es)
{
    double max_d = 0;
    if (es->failed)
        return 1;
    for (size_t i = 0; i < es->n; i++)
        max_d = fmax(max_d, es->D[i]);
    /* pyribs' (and pycma's) tests: the distribution's largest axis has
     * collapsed (tolx) or exploded (tolupsigma), or C is ill conditioned */
    return es->sigma * max_d < MIN_AREA || es->sigma * max_d > MAX_AREA_RATIO * es->sigma0 ||
           es->condition > MAX_CONDITION;
}

/* ---- checkpoints: every number written exactly (qdi_json_double) ------ */

static int put_doubles(cJSON *out, const char *key, const double *v, size_t n)
{
    cJSON *a = qdi_json_doubles(v, n);
    return a && cJSON_AddItemToObject(out, key, a) ? QD_OK : (cJSON_Delete(a), QD_ENOMEM);
}

static int put_double(cJSON *out, const char *key, double v)
{
    cJSON *item = qdi_json_double(v);
    return item && cJSON_AddItemToObject(out, key, item) ? QD_OK : (cJSON_Delete(item), QD_ENOMEM);
}

int qdi_cma_es_save(const qdi_cma_es *es, cJSON *out)
{
    size_t n = es->n, nn = n * n;
    if (put_double(out, "dim", (double)n) || put_double(out, "lambda", (double)es->lambda) ||
        put_double(out, "sigma0", es->sigma0) || put_double(out, "sigma", es->sigma) ||
        put_double(out, "condition", es->condition) || put_double(out, "evaluations", (double)es->evaluations) ||
        put_double(out, "eigen_evaluations", (double)es->eigen_evaluations) ||
        put_double(out, "generations", (double)es->generations) ||
        put_double(out, "decompositions", (double)es->decompositions) ||
        put_double(out, "failed", es->failed) || put_double(out, "pending", es->pending) ||
        put_doubles(out, "mean", es->mean, n) || put_doubles(out, "ps", es->ps, n) ||
        put_doubles(out, "pc", es->pc, n) || put_doubles(out, "C", es->C, nn) || put_doubles(out, "B", es->B, nn) ||
        put_doubles(out, "D", es->D, n))
        return QD_ENOMEM;
    /* between ask and tell the samples are state too */
    if (es->pending && (put_doubles(out, "z", es->z, es->lambda * n) || put_doubles(out, "y", es->y, es->lambda * n)))
        return QD_ENOMEM;
    return QD_OK;
}

static int get_double(const cJSON *in, const char *key, double *v)
{
    return qdi_json_get_double(cJSON_GetObjectItemCaseSensitive(in, key), v);
}

static int get_count(const cJSON *in, const char *key, uint64_t *v)
{
    double d;
    if (get_double(in, key, &d) || !(d >= 0) || d > 9007199254740992.0 || d != floor(d))
        return QD_EFORMAT;
    *v = (uint64_t)d;
    return QD_OK;
}

static int get_doubles(const cJSON *in, const char *key, double *v, size_t n)
{
    return qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(in, key), v, n);
}

int qdi_cma_es_load(qdi_cma_es *es, const cJSON *in)
{
    size_t n = es->n, nn = n * n;
    qdi_cma_es *t;
    double dim, lambda, failed, pending;
    int rc = QD_EFORMAT;
    if (!cJSON_IsObject(in) || get_double(in, "dim", &dim) || get_double(in, "lambda", &lambda) ||
        dim != (double)n || lambda != (double)es->lambda)
        return QD_EFORMAT;
    /* read into a scratch instance, so a bad checkpoint leaves es as it was */
    if (!(t = qdi_cma_es_new(n, es->lambda, es->sigma0, es->mean)))
        return QD_ENOMEM;
    if (get_double(in, "sigma0", &t->sigma0) || get_double(in, "sigma", &t->sigma) ||
        get_double(in, "condition", &t->condition) || get_count(in, "evaluations", &t->evaluations) ||
        get_count(in, "eigen_evaluations", &t->eigen_evaluations) ||
        get_count(in, "generations", &t->generations) || get_count(in, "decompositions", &t->decompositions) ||
        get_double(in, "failed", &failed) || get_double(in, "pending", &pending) ||
        get_doubles(in, "mean", t->mean, n) || get_doubles(in, "ps", t->ps, n) || get_doubles(in, "pc", t->pc, n) ||
        get_doubles(in, "C", t->C, nn) || get_doubles(in, "B", t->B, nn) || get_doubles(in, "D", t->D, n))
        goto done;
    if (pending != 0 && (get_doubles(in, "z", t->z, es->lambda * n) || get_doubles(in, "y", t->y, es->lambda * n)))
        goto done;
    t->failed = failed != 0;
    t->pending = pending != 0;
    t->lazy_gap = es->lazy_gap; /* configuration, not state */
    cache_bd(t); /* the same products as when B and D were made */
    /* swap the loaded state in; the scratch instance takes the old one */
    {
        qdi_cma_es tmp = *es;
        *es = *t;
        *t = tmp;
    }
    rc = QD_OK;
done:
    qdi_cma_es_free(t);
    return rc;
}
