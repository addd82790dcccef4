/* autoencoder.c - the auto-encoder baseline of the QDHF paper (Ding et al.
 * 2024, after AURORA, Grillotti and Cully 2022): unsupervised measures,
 * the latent code of an auto-encoder fitted on the solutions' features,
 * offline on random solutions before the search or again from the archive
 * at every online round, as the PCA baseline (pca.c).
 *
 * The network: features (standardised per feature) -> hidden (tanh) -> k
 * latent (linear) -> hidden (tanh) -> features (linear), mean squared
 * reconstruction error, Adam over shuffled minibatches, PyTorch's default
 * initialisation (uniform in +-1/sqrt(fan in)), every random number from
 * the caller's rng, so a seed gives the same encoder bit for bit. Only the
 * encoder is kept, with the standardisation folded into its first layer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/qdhf_learn.h"

/* The four layers' parameters, one array; offsets into it. */
typedef struct ae_net {
    size_t d, h, k, size;
    size_t W1, b1, W2, b2, W3, b3, W4, b4;
} ae_net;

static void net_layout(ae_net *n, size_t d, size_t h, size_t k)
{
    size_t o = 0;
    n->d = d;
    n->h = h;
    n->k = k;
    n->W1 = o, o += h * d;
    n->b1 = o, o += h;
    n->W2 = o, o += k * h;
    n->b2 = o, o += k;
    n->W3 = o, o += h * k;
    n->b3 = o, o += h;
    n->W4 = o, o += d * h;
    n->b4 = o, o += d;
    n->size = o;
}

/* Uniform in +-1/sqrt(fan_in) for a rows x cols layer and its bias. */
static void init_layer(double *W, double *b, size_t rows, size_t cols, gsl_rng *rng)
{
    double bound = 1.0 / sqrt((double)cols);
    for (size_t i = 0; i < rows * cols; i++)
        W[i] = -bound + 2.0 * bound * gsl_rng_uniform(rng);
    for (size_t i = 0; i < rows; i++)
        b[i] = -bound + 2.0 * bound * gsl_rng_uniform(rng);
}

/* out = W in + b (W rows x cols), then tanh when squash. */
static void layer(const double *W, const double *b, size_t rows, size_t cols, const double *in, double *out,
                  int squash)
{
    for (size_t r = 0; r < rows; r++) {
        double s = b[r];
        const double *w = W + r * cols;
        for (size_t c = 0; c < cols; c++)
            s += w[c] * in[c];
        out[r] = squash ? tanh(s) : s;
    }
}

/* Activations of one row: a1 (h), z (k), a3 (h), y (d). */
typedef struct ae_acts {
    double *a1, *z, *a3, *y;
} ae_acts;

/* Forward pass; returns the row's squared reconstruction error. */
static double forward(const ae_net *n, const double *t, const double *x, ae_acts *a)
{
    double e = 0;
    layer(t + n->W1, t + n->b1, n->h, n->d, x, a->a1, 1);
    layer(t + n->W2, t + n->b2, n->k, n->h, a->a1, a->z, 0);
    layer(t + n->W3, t + n->b3, n->h, n->k, a->z, a->a3, 1);
    layer(t + n->W4, t + n->b4, n->d, n->h, a->a3, a->y, 0);
    for (size_t c = 0; c < n->d; c++)
        e += (a->y[c] - x[c]) * (a->y[c] - x[c]);
    return e;
}

/* g += the gradient of a rows x cols layer for output gradient dout and
 * input in; din (cols) = W^T dout when not NULL. */
static void layer_back(const double *W, size_t rows, size_t cols, const double *in, const double *dout, double *gW,
                       double *gb, double *din)
{
    if (din)
        memset(din, 0, cols * sizeof *din);
    for (size_t r = 0; r < rows; r++) {
        const double *w = W + r * cols;
        double *g = gW + r * cols;
        gb[r] += dout[r];
        for (size_t c = 0; c < cols; c++) {
            g[c] += dout[r] * in[c];
            if (din)
                din[c] += w[c] * dout[r];
        }
    }
}

/* Adds to g the gradient of scale * (the row's squared error); s is
 * scratch of 2 h + k + d numbers. */
static void backward(const ae_net *n, const double *t, const double *x, const ae_acts *a, double scale, double *g,
                     double *s)
{
    double *dy = s, *da3 = dy + n->d, *dz = da3 + n->h, *da1 = dz + n->k;
    for (size_t c = 0; c < n->d; c++)
        dy[c] = 2.0 * scale * (a->y[c] - x[c]);
    layer_back(t + n->W4, n->d, n->h, a->a3, dy, g + n->W4, g + n->b4, da3);
    for (size_t i = 0; i < n->h; i++)
        da3[i] *= 1 - a->a3[i] * a->a3[i];
    layer_back(t + n->W3, n->h, n->k, a->z, da3, g + n->W3, g + n->b3, dz);
    layer_back(t + n->W2, n->k, n->h, a->a1, dz, g + n->W2, g + n->b2, da1);
    for (size_t i = 0; i < n->h; i++)
        da1[i] *= 1 - a->a1[i] * a->a1[i];
    layer_back(t + n->W1, n->h, n->d, x, da1, g + n->W1, g + n->b1, NULL);
}

/* Mean squared error per feature over all rows. */
static double mean_error(const ae_net *n, const double *t, const double *x, size_t rows, ae_acts *a)
{
    double e = 0;
    for (size_t r = 0; r < rows; r++)
        e += forward(n, t, x + r * n->d, a);
    return e / (double)(rows * n->d);
}

/* The encoder of t into p, with x = (f - mean) / sd folded into layer 1. */
static int keep_encoder(qdi_projection *p, const ae_net *n, const double *t, const double *mean, const double *sd)
{
    p->d = n->d;
    p->k = n->k;
    p->h = n->h;
    p->W1 = malloc(n->h * n->d * sizeof *p->W1);
    p->b1 = malloc(n->h * sizeof *p->b1);
    p->W = malloc(n->k * n->h * sizeof *p->W);
    p->b = malloc(n->k * sizeof *p->b);
    if (!p->W1 || !p->b1 || !p->W || !p->b)
        return QD_ENOMEM;
    for (size_t i = 0; i < n->h; i++) {
        p->b1[i] = t[n->b1 + i];
        for (size_t c = 0; c < n->d; c++) {
            p->W1[i * n->d + c] = t[n->W1 + i * n->d + c] / sd[c];
            p->b1[i] -= p->W1[i * n->d + c] * mean[c];
        }
    }
    memcpy(p->W, t + n->W2, n->k * n->h * sizeof *p->W);
    memcpy(p->b, t + n->b2, n->k * sizeof *p->b);
    return QD_OK;
}

int qdi_projection_fit_autoencoder(qdi_projection *p, const double *features, size_t n, size_t d, size_t k,
                                   const qdi_ae_options *o, gsl_rng *rng, qdi_ae_report *report)
{
    const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    size_t h = o->hidden, *order = NULL;
    double *x = NULL, *mean = NULL, *sd = NULL, *t = NULL, *g = NULL, *m1 = NULL, *m2 = NULL, *buf = NULL;
    double b1t = 1, b2t = 1;
    ae_net net;
    ae_acts a;
    int rc = QD_EINVAL;
    qdi_projection_free(p);
    if (report)
        memset(report, 0, sizeof *report);
    if (n < 2 || d < 1 || k < 1 || h < 1 || h > QDI_AE_MAX_HIDDEN || o->batch < 1)
        return rc;
    net_layout(&net, d, h, k);
    rc = QD_ENOMEM;
    x = malloc(n * d * sizeof *x);
    mean = calloc(d, sizeof *mean);
    sd = calloc(d, sizeof *sd);
    order = malloc(n * sizeof *order);
    t = malloc(net.size * sizeof *t);
    g = malloc(net.size * sizeof *g);
    m1 = calloc(net.size, sizeof *m1);
    m2 = calloc(net.size, sizeof *m2);
    buf = malloc((2 * h + k + d) * 2 * sizeof *buf);
    if (!x || !mean || !sd || !order || !t || !g || !m1 || !m2 || !buf)
        goto done;
    a = (ae_acts){buf, buf + h, buf + h + k, buf + 2 * h + k};
    /* standardise: a feature that never varies keeps sd 1 */
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < d; c++)
            mean[c] += features[r * d + c] / (double)n;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < d; c++)
            sd[c] += (features[r * d + c] - mean[c]) * (features[r * d + c] - mean[c]) / (double)n;
    for (size_t c = 0; c < d; c++)
        sd[c] = sd[c] > 1e-24 ? sqrt(sd[c]) : 1.0;
    for (size_t r = 0; r < n; r++)
        for (size_t c = 0; c < d; c++)
            x[r * d + c] = (features[r * d + c] - mean[c]) / sd[c];
    init_layer(t + net.W1, t + net.b1, h, d, rng);
    init_layer(t + net.W2, t + net.b2, k, h, rng);
    init_layer(t + net.W3, t + net.b3, h, k, rng);
    init_layer(t + net.W4, t + net.b4, d, h, rng);
    if (report)
        report->initial_error = mean_error(&net, t, x, n, &a);
    for (size_t r = 0; r < n; r++)
        order[r] = r;
    for (size_t epoch = 0; epoch < o->epochs; epoch++) {
        for (size_t i = n - 1; i > 0; i--) {
            size_t j = gsl_rng_uniform_int(rng, i + 1), tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        for (size_t off = 0; off < n; off += o->batch) {
            size_t nb = off + o->batch <= n ? o->batch : n - off;
            memset(g, 0, net.size * sizeof *g);
            for (size_t r = off; r < off + nb; r++) {
                const double *row = x + order[r] * d;
                forward(&net, t, row, &a);
                backward(&net, t, row, &a, 1.0 / (double)(nb * d), g, buf + 2 * h + k + d);
            }
            b1t *= beta1;
            b2t *= beta2;
            for (size_t i = 0; i < net.size; i++) {
                m1[i] = beta1 * m1[i] + (1 - beta1) * g[i];
                m2[i] = beta2 * m2[i] + (1 - beta2) * g[i] * g[i];
                t[i] -= o->lr * (m1[i] / (1 - b1t)) / (sqrt(m2[i] / (1 - b2t)) + eps);
            }
        }
    }
    if (report) {
        report->epochs = o->epochs;
        report->error = mean_error(&net, t, x, n, &a);
    }
    rc = keep_encoder(p, &net, t, mean, sd);
done:
    if (rc != QD_OK)
        qdi_projection_free(p);
    free(x);
    free(mean);
    free(sd);
    free(order);
    free(t);
    free(g);
    free(m1);
    free(m2);
    free(buf);
    return rc;
}
