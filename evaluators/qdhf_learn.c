/* qdhf_learn.c - the learned projection of QDHF (Ding et al. 2023/2024),
 * after the authors' arm code: a linear layer z = W f + b, the hinge loss
 * mean(max(0, margin - y * delta)) with delta = |z_ref - z_1|^2 -
 * |z_ref - z_2|^2, Adam, minibatches of 32, a 75% / 25% train / validation
 * split, early stopping on validation accuracy. The bias cancels in every
 * latent distance, so only W learns (b stays at its initial value, as it
 * would under the authors' optimiser, whose gradient for b is zero).
 *
 * The gradient of delta with respect to W is 2 W (u u^T - v v^T) with
 * u = f_ref - f_1, v = f_ref - f_2; computed as 2 ((W u) u^T - (W v) v^T)
 * it costs O(k d) per triplet. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/qdhf_learn.h"

void qdi_train_defaults(qdi_train_options *o)
{
    o->lr = 1e-3;
    o->margin = 0.05;
    o->train_fraction = 0.75;
    o->batch = 32;
    o->max_epochs = 1000;
    o->patience = 10;
    o->min_epochs = 0;
}

int qdi_projection_init(qdi_projection *p, size_t d, size_t k, gsl_rng *rng)
{
    double bound = 1.0 / sqrt((double)d);
    p->d = d;
    p->k = k;
    p->h = 0;
    p->W1 = p->b1 = NULL;
    p->W = malloc(k * d * sizeof *p->W);
    p->b = malloc(k * sizeof *p->b);
    if (!p->W || !p->b) {
        qdi_projection_free(p);
        return QD_ENOMEM;
    }
    for (size_t i = 0; i < k * d; i++)
        p->W[i] = -bound + 2.0 * bound * gsl_rng_uniform(rng);
    for (size_t i = 0; i < k; i++)
        p->b[i] = -bound + 2.0 * bound * gsl_rng_uniform(rng);
    return QD_OK;
}

void qdi_projection_free(qdi_projection *p)
{
    free(p->W);
    free(p->b);
    free(p->W1);
    free(p->b1);
    p->W = p->b = p->W1 = p->b1 = NULL;
    p->h = 0;
}

/* out = W in + b, W rows x cols. */
static void affine(const double *W, const double *b, size_t rows, size_t cols, const double *in, double *out)
{
    for (size_t r = 0; r < rows; r++) {
        double s = b[r];
        const double *w = W + r * cols;
        for (size_t c = 0; c < cols; c++)
            s += w[c] * in[c];
        out[r] = s;
    }
}

void qdi_projection_apply(const qdi_projection *p, const double *f, double *z)
{
    double hidden[QDI_AE_MAX_HIDDEN];
    if (!p->h) {
        affine(p->W, p->b, p->k, p->d, f, z);
        return;
    }
    affine(p->W1, p->b1, p->h, p->d, f, hidden);
    for (size_t i = 0; i < p->h; i++)
        hidden[i] = tanh(hidden[i]);
    affine(p->W, p->b, p->k, p->h, hidden, z);
}

/* delta of one triplet; wu, wv (k numbers) receive W u and W v, u and v
 * (d numbers) the feature differences. */
static double delta(const qdi_projection *p, const double *features, const qdi_triplet *t, double *u, double *v,
                    double *wu, double *wv)
{
    const double *r = features + t->ref * p->d, *a = features + t->x1 * p->d, *b = features + t->x2 * p->d;
    double du = 0, dv = 0;
    for (size_t c = 0; c < p->d; c++) {
        u[c] = r[c] - a[c];
        v[c] = r[c] - b[c];
    }
    for (size_t i = 0; i < p->k; i++) {
        const double *w = p->W + i * p->d;
        double su = 0, sv = 0;
        for (size_t c = 0; c < p->d; c++) {
            su += w[c] * u[c];
            sv += w[c] * v[c];
        }
        wu[i] = su;
        wv[i] = sv;
        du += su * su;
        dv += sv * sv;
    }
    return du - dv;
}

/* Scratch for delta: u, v (d each), wu, wv (k each). */
static double *scratch(const qdi_projection *p)
{
    return malloc((2 * p->d + 2 * p->k) * sizeof(double));
}

double qdi_triplet_loss(const qdi_projection *p, const double *features, const qdi_triplet *t, size_t n,
                        double margin, double *grad_W)
{
    double *s = scratch(p), loss = 0;
    if (!s)
        return NAN;
    double *u = s, *v = s + p->d, *wu = v + p->d, *wv = wu + p->k;
    if (grad_W)
        memset(grad_W, 0, p->k * p->d * sizeof *grad_W);
    for (size_t j = 0; j < n; j++) {
        double y = t[j].y, h = margin - y * delta(p, features, &t[j], u, v, wu, wv);
        if (h <= 0)
            continue;
        loss += h;
        if (!grad_W)
            continue;
        /* d(-y delta)/dW = -2 y ((W u) u^T - (W v) v^T), averaged below */
        for (size_t i = 0; i < p->k; i++)
            for (size_t c = 0; c < p->d; c++)
                grad_W[i * p->d + c] -= 2.0 * y * (wu[i] * u[c] - wv[i] * v[c]);
    }
    if (grad_W && n)
        for (size_t i = 0; i < p->k * p->d; i++)
            grad_W[i] /= (double)n;
    free(s);
    return n ? loss / (double)n : 0.0;
}

double qdi_triplet_accuracy(const qdi_projection *p, const double *features, const qdi_triplet *t, size_t n)
{
    double *s = scratch(p);
    size_t right = 0;
    if (!s)
        return NAN;
    double *u = s, *v = s + p->d, *wu = v + p->d, *wv = wu + p->k;
    for (size_t j = 0; j < n; j++)
        right += (delta(p, features, &t[j], u, v, wu, wv) > 0 ? 1 : -1) == t[j].y;
    free(s);
    return n ? (double)right / (double)n : NAN;
}

static double mean_of(const double *v, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += v[i];
    return s / (double)n;
}

int qdi_projection_train(qdi_projection *p, const double *features, qdi_triplet *t, size_t n,
                         const qdi_train_options *o, gsl_rng *rng, qdi_train_report *report)
{
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    size_t d = p->d, k = p->k, size = k * d, ntrain, nvalid;
    double *grad, *m1, *m2, *history, b1t = 1, b2t = 1;
    int rc = QD_OK;
    memset(report, 0, sizeof *report);
    if (n < 2)
        return QD_EINVAL;
    qdi_projection_free(p);
    if ((rc = qdi_projection_init(p, d, k, rng)))
        return rc;
    /* shuffle, then split: the first ntrain train, the rest validate */
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = gsl_rng_uniform_int(rng, i + 1);
        qdi_triplet tmp = t[i];
        t[i] = t[j];
        t[j] = tmp;
    }
    ntrain = (size_t)floor(o->train_fraction * (double)n);
    ntrain = ntrain < 1 ? 1 : ntrain >= n ? n - 1 : ntrain;
    nvalid = n - ntrain;
    grad = calloc(size, sizeof *grad);
    m1 = calloc(size, sizeof *m1);
    m2 = calloc(size, sizeof *m2);
    history = calloc(o->max_epochs + 1, sizeof *history);
    if (!grad || !m1 || !m2 || !history) {
        rc = QD_ENOMEM;
        goto done;
    }
    for (size_t epoch = 0; epoch < o->max_epochs; epoch++) {
        for (size_t i = ntrain - 1; i > 0; i--) { /* a new order every epoch */
            size_t j = gsl_rng_uniform_int(rng, i + 1);
            qdi_triplet tmp = t[i];
            t[i] = t[j];
            t[j] = tmp;
        }
        for (size_t off = 0; off < ntrain; off += o->batch) {
            size_t nb = off + o->batch <= ntrain ? o->batch : ntrain - off;
            qdi_triplet_loss(p, features, t + off, nb, o->margin, grad);
            b1t *= beta1;
            b2t *= beta2;
            for (size_t i = 0; i < size; i++) {
                m1[i] = beta1 * m1[i] + (1 - beta1) * grad[i];
                m2[i] = beta2 * m2[i] + (1 - beta2) * grad[i] * grad[i];
                p->W[i] -= o->lr * (m1[i] / (1 - b1t)) / (sqrt(m2[i] / (1 - b2t)) + eps);
            }
        }
        history[epoch] = qdi_triplet_accuracy(p, features, t + ntrain, nvalid);
        report->epochs = epoch + 1;
        /* stop when the last `patience` epochs average below the ones before */
        if (epoch + 1 >= 2 * o->patience && epoch + 1 >= o->min_epochs &&
            mean_of(history + epoch + 1 - o->patience, o->patience) <
                mean_of(history + epoch + 1 - 2 * o->patience, o->patience))
            break;
    }
    report->train_size = ntrain;
    report->valid_size = nvalid;
    report->train_accuracy = qdi_triplet_accuracy(p, features, t, ntrain);
    report->valid_accuracy = qdi_triplet_accuracy(p, features, t + ntrain, nvalid);
    report->loss = qdi_triplet_loss(p, features, t, ntrain, o->margin, NULL);
done:
    free(grad);
    free(m1);
    free(m2);
    free(history);
    return rc;
}

int qdi_judge_simulated(const double *truth, size_t m, size_t ref, size_t x1, size_t x2)
{
    double d1 = 0, d2 = 0;
    for (size_t i = 0; i < m; i++) {
        double a = truth[ref * m + i] - truth[x1 * m + i], b = truth[ref * m + i] - truth[x2 * m + i];
        d1 += a * a;
        d2 += b * b;
    }
    return d1 - d2 > 0 ? 1 : -1;
}
