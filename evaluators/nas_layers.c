/* nas_layers.c - the layers of the network language, forward and backward,
 * on minibatches: rows of one example each, HxWxC examples stored with the
 * channel last. conv works by im2col (every kernel window a row) and one
 * GEMM, dense by one GEMM (CBLAS: GSL's own, or an optimised CBLAS linked
 * in its place); max and average pooling, flatten, inverted dropout,
 * batch normalisation (Ioffe & Szegedy 2015: batch statistics when training,
 * running averages otherwise) and residual blocks (He et al. 2016: the
 * block's input added to its output). Each layer's backward pass turns
 * dL/d(output) into dL/d(input) and adds its parameters' gradients; the
 * tests check every one against finite differences.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_cblas.h>
#include "evaluators/nas.h"

#define BN_EPS 1e-5
#define BN_MOMENTUM 0.1

/* ---- building a model ------------------------------------------------------ */

static size_t param_count(const qdi_nas_layer *L, size_t *nW, size_t *nb)
{
    *nW = *nb = 0;
    if (L->kind == QDI_NAS_CONV) {
        *nW = (size_t)L->units * (size_t)(L->kh * L->kw * L->in.c);
        *nb = (size_t)L->units;
    } else if (L->kind == QDI_NAS_DENSE) {
        *nW = (size_t)L->units * qdi_nas_shape_size(L->in);
        *nb = (size_t)L->units;
    } else if (L->kind == QDI_NAS_BATCHNORM) {
        *nW = *nb = (size_t)L->in.c;
    }
    return *nW + *nb;
}

void qdi_nas_model_free(qdi_nas_model *m)
{
    if (!m)
        return;
    for (size_t i = 0; m->units && i < m->net->n; i++) {
        qdi_nas_unit *u = &m->units[i];
        free(u->z);
        free(u->cols);
        free(u->dcols);
        free(u->arg);
        free(u->mask);
        free(u->xhat);
        free(u->mean);
        free(u->istd);
        free(u->run_mean);
        free(u->run_var);
        if (m->act)
            free(m->act[i]);
        if (m->grad)
            free(m->grad[i]);
    }
    free(m->units);
    free(m->act);
    free(m->grad);
    free(m->theta);
    free(m->dtheta);
    memset(m, 0, sizeof *m);
}

static double *zalloc(size_t n)
{
    return calloc(n ? n : 1, sizeof(double));
}

int qdi_nas_model_new(qdi_nas_model *m, const qdi_nas_net *net, size_t batch, gsl_rng *rng)
{
    size_t n = net->n, off = 0;
    memset(m, 0, sizeof *m);
    m->net = net;
    m->batch = batch;
    if (!(m->units = calloc(n, sizeof *m->units)) || !(m->act = calloc(n, sizeof *m->act)) ||
        !(m->grad = calloc(n, sizeof *m->grad)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        size_t nW, nb;
        m->nparams += param_count(&net->layers[i], &nW, &nb);
    }
    if (!(m->theta = zalloc(m->nparams)) || !(m->dtheta = zalloc(m->nparams)))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const qdi_nas_layer *L = &net->layers[i];
        qdi_nas_unit *u = &m->units[i];
        size_t in = qdi_nas_shape_size(L->in), out = qdi_nas_shape_size(L->out), C = (size_t)L->in.c;
        u->spec = L;
        u->in_size = in;
        u->out_size = out;
        param_count(L, &u->nW, &u->nb);
        u->W = m->theta + off;
        u->dW = m->dtheta + off;
        u->b = m->theta + off + u->nW;
        u->db = m->dtheta + off + u->nW;
        off += u->nW + u->nb;
        if (!(m->act[i] = zalloc(batch * out)) || !(m->grad[i] = zalloc(batch * out)))
            goto fail;
        switch (L->kind) {
        case QDI_NAS_CONV: {
            size_t kkc = (size_t)(L->kh * L->kw) * C, rows = batch * (size_t)(L->out.h * L->out.w);
            if (!(u->z = zalloc(batch * out)) || !(u->cols = zalloc(rows * kkc)) || !(u->dcols = zalloc(rows * kkc)))
                goto fail;
            break;
        }
        case QDI_NAS_DENSE:
            if (!(u->z = zalloc(batch * out)))
                goto fail;
            break;
        case QDI_NAS_POOL:
            if (!(u->arg = calloc(batch * out, sizeof *u->arg)))
                goto fail;
            break;
        case QDI_NAS_DROPOUT:
            if (!(u->mask = zalloc(batch * out)))
                goto fail;
            break;
        case QDI_NAS_BATCHNORM:
            if (!(u->xhat = zalloc(batch * out)) || !(u->mean = zalloc(C)) || !(u->istd = zalloc(C)) ||
                !(u->run_mean = zalloc(C)) || !(u->run_var = zalloc(C)))
                goto fail;
            for (size_t c = 0; c < C; c++) {
                u->W[c] = 1.0; /* gamma */
                u->run_var[c] = 1.0;
            }
            break;
        default:
            break;
        }
        if (L->kind == QDI_NAS_CONV || L->kind == QDI_NAS_DENSE) {
            /* He uniform before relu, Glorot uniform otherwise */
            double fan_in = (double)(u->nW / (size_t)L->units), fan_out = (double)L->units;
            double r = L->act == QDI_ACT_RELU ? sqrt(6.0 / fan_in) : sqrt(6.0 / (fan_in + fan_out));
            for (size_t k = 0; k < u->nW; k++)
                u->W[k] = (2.0 * gsl_rng_uniform(rng) - 1.0) * r;
        }
    }
    return QD_OK;
fail:
    qdi_nas_model_free(m);
    return QD_ENOMEM;
}

/* ---- activations ------------------------------------------------------------ */

static void act_forward(qdi_nas_act a, const double *z, double *y, size_t rows, size_t width)
{
    size_t n = rows * width;
    switch (a) {
    case QDI_ACT_NONE:
        memcpy(y, z, n * sizeof *y);
        break;
    case QDI_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            y[i] = z[i] > 0 ? z[i] : 0;
        break;
    case QDI_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            y[i] = tanh(z[i]);
        break;
    case QDI_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            y[i] = 1.0 / (1.0 + exp(-z[i]));
        break;
    case QDI_ACT_SOFTMAX:
        for (size_t r = 0; r < rows; r++) {
            const double *zr = z + r * width;
            double *yr = y + r * width, mx = zr[0], sum = 0;
            for (size_t k = 1; k < width; k++)
                if (zr[k] > mx)
                    mx = zr[k];
            for (size_t k = 0; k < width; k++)
                sum += (yr[k] = exp(zr[k] - mx));
            for (size_t k = 0; k < width; k++)
                yr[k] /= sum;
        }
        break;
    }
}

/* dy (in place) becomes dL/dz. A softmax output's gradient comes from the
 * loss as dL/d(logits) already. */
static void act_backward(qdi_nas_act a, const double *z, const double *y, double *dy, size_t n)
{
    switch (a) {
    case QDI_ACT_NONE:
    case QDI_ACT_SOFTMAX:
        break;
    case QDI_ACT_RELU:
        for (size_t i = 0; i < n; i++)
            if (z[i] <= 0)
                dy[i] = 0;
        break;
    case QDI_ACT_TANH:
        for (size_t i = 0; i < n; i++)
            dy[i] *= 1.0 - y[i] * y[i];
        break;
    case QDI_ACT_SIGMOID:
        for (size_t i = 0; i < n; i++)
            dy[i] *= y[i] * (1.0 - y[i]);
        break;
    }
}

/* ---- dense ---------------------------------------------------------------- */

static void add_bias(double *z, const double *bias, size_t rows, size_t width)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < width; k++)
            z[r * width + k] += bias[k];
}

static void bias_grad(const double *dz, double *db, size_t rows, size_t width)
{
    for (size_t r = 0; r < rows; r++)
        for (size_t k = 0; k < width; k++)
            db[k] += dz[r * width + k];
}

static void dense_forward(qdi_nas_unit *u, const double *x, double *y, size_t b)
{
    int in = (int)u->in_size, out = (int)u->out_size;
    /* z = x W^T + bias, W is out x in */
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)b, out, in, 1.0, x, in, u->W, in, 0.0, u->z, out);
    add_bias(u->z, u->b, b, u->out_size);
    act_forward(u->spec->act, u->z, y, b, u->out_size);
}

static void dense_backward(qdi_nas_unit *u, const double *x, const double *y, double *dy, double *dx, size_t b)
{
    int in = (int)u->in_size, out = (int)u->out_size;
    act_backward(u->spec->act, u->z, y, dy, b * u->out_size);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, (int)b, 1.0, dy, out, x, in, 1.0, u->dW, in);
    bias_grad(dy, u->db, b, u->out_size);
    if (dx)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)b, in, out, 1.0, dy, out, u->W, in, 0.0, dx, in);
}

/* ---- conv ------------------------------------------------------------------ */

/* Visits every (row, column of the window matrix, input index or -1 for
 * padding) of an im2col layout. */
#define FOR_WINDOWS(L, b, BODY)                                                          \
    do {                                                                                 \
        int H = (L)->in.h, Wd = (L)->in.w, C = (L)->in.c, Ho = (L)->out.h, Wo = (L)->out.w; \
        int pt = (L)->same ? ((L)->kh - 1) / 2 : 0, pl = (L)->same ? ((L)->kw - 1) / 2 : 0; \
        size_t kkc = (size_t)((L)->kh * (L)->kw * C), row = 0;                           \
        for (size_t s = 0; s < (b); s++)                                                 \
            for (int oy = 0; oy < Ho; oy++)                                              \
                for (int ox = 0; ox < Wo; ox++, row++) {                                 \
                    size_t col = 0;                                                      \
                    for (int ky = 0; ky < (L)->kh; ky++)                                 \
                        for (int kx = 0; kx < (L)->kw; kx++) {                           \
                            int iy = oy + ky - pt, ix = ox + kx - pl;                    \
                            int inside = iy >= 0 && iy < H && ix >= 0 && ix < Wd;        \
                            size_t base = ((s * (size_t)H + (size_t)iy) * (size_t)Wd + (size_t)ix) * (size_t)C; \
                            for (int c = 0; c < C; c++, col++) {                         \
                                size_t at = row * kkc + col, from = base + (size_t)c;    \
                                BODY;                                                    \
                            }                                                            \
                        }                                                                \
                }                                                                        \
    } while (0)

static void conv_forward(qdi_nas_unit *u, const double *x, double *y, size_t b)
{
    const qdi_nas_layer *L = u->spec;
    int kkc = L->kh * L->kw * L->in.c, rows = (int)b * L->out.h * L->out.w;
    double *cols = u->cols;
    FOR_WINDOWS(L, b, cols[at] = inside ? x[from] : 0.0);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, L->units, kkc, 1.0, cols, kkc, u->W, kkc, 0.0, u->z,
                L->units);
    add_bias(u->z, u->b, (size_t)rows, (size_t)L->units);
    act_forward(L->act, u->z, y, b, u->out_size);
}

static void conv_backward(qdi_nas_unit *u, const double *y, double *dy, double *dx, size_t b)
{
    const qdi_nas_layer *L = u->spec;
    int kkc = L->kh * L->kw * L->in.c, rows = (int)b * L->out.h * L->out.w;
    double *dcols = u->dcols;
    act_backward(L->act, u->z, y, dy, b * u->out_size);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, L->units, kkc, rows, 1.0, dy, L->units, u->cols, kkc, 1.0,
                u->dW, kkc);
    bias_grad(dy, u->db, (size_t)rows, (size_t)L->units);
    if (!dx)
        return;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, kkc, L->units, 1.0, dy, L->units, u->W, kkc, 0.0,
                dcols, kkc);
    memset(dx, 0, b * u->in_size * sizeof *dx);
    FOR_WINDOWS(L, b, if (inside) dx[from] += dcols[at]);
}

/* ---- pooling ---------------------------------------------------------------- */

static void pool_forward(qdi_nas_unit *u, const double *x, double *y, size_t b)
{
    const qdi_nas_layer *L = u->spec;
    int H = L->in.h, W = L->in.w, C = L->in.c, Ho = L->out.h, Wo = L->out.w, S = L->pool_size;
    size_t o = 0;
    for (size_t s = 0; s < b; s++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int c = 0; c < C; c++, o++) {
                    double best = -HUGE_VAL, sum = 0;
                    size_t arg = 0;
                    for (int ky = 0; ky < S; ky++)
                        for (int kx = 0; kx < S; kx++) {
                            size_t i = ((s * (size_t)H + (size_t)(oy * S + ky)) * (size_t)W + (size_t)(ox * S + kx)) *
                                           (size_t)C + (size_t)c;
                            sum += x[i];
                            if (x[i] > best) {
                                best = x[i];
                                arg = i;
                            }
                        }
                    y[o] = L->pool_max ? best : sum / (double)(S * S);
                    u->arg[o] = arg;
                }
}

static void pool_backward(qdi_nas_unit *u, const double *dy, double *dx, size_t b)
{
    const qdi_nas_layer *L = u->spec;
    int H = L->in.h, W = L->in.w, C = L->in.c, Ho = L->out.h, Wo = L->out.w, S = L->pool_size;
    size_t o = 0;
    memset(dx, 0, b * u->in_size * sizeof *dx);
    if (L->pool_max) {
        for (size_t k = 0; k < b * u->out_size; k++)
            dx[u->arg[k]] += dy[k];
        return;
    }
    for (size_t s = 0; s < b; s++)
        for (int oy = 0; oy < Ho; oy++)
            for (int ox = 0; ox < Wo; ox++)
                for (int c = 0; c < C; c++, o++)
                    for (int ky = 0; ky < S; ky++)
                        for (int kx = 0; kx < S; kx++)
                            dx[((s * (size_t)H + (size_t)(oy * S + ky)) * (size_t)W + (size_t)(ox * S + kx)) *
                                   (size_t)C + (size_t)c] += dy[o] / (double)(S * S);
}

/* ---- dropout, batchnorm ------------------------------------------------------ */

static void dropout_forward(qdi_nas_unit *u, const double *x, double *y, size_t b, int train, gsl_rng *rng)
{
    size_t n = b * u->out_size;
    double rate = u->spec->rate, keep = 1.0 / (1.0 - rate);
    if (!train || rate == 0) {
        memcpy(y, x, n * sizeof *y);
        for (size_t i = 0; i < n; i++)
            u->mask[i] = 1.0;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        u->mask[i] = gsl_rng_uniform(rng) < rate ? 0.0 : keep;
        y[i] = x[i] * u->mask[i];
    }
}

static void batchnorm_forward(qdi_nas_unit *u, const double *x, double *y, size_t b, int train)
{
    size_t C = (size_t)u->spec->in.c, N = b * u->out_size / C;
    for (size_t c = 0; c < C; c++) {
        double mean = 0, var = 0, istd;
        if (train) {
            for (size_t r = 0; r < N; r++)
                mean += x[r * C + c];
            mean /= (double)N;
            for (size_t r = 0; r < N; r++)
                var += (x[r * C + c] - mean) * (x[r * C + c] - mean);
            var /= (double)N;
            u->run_mean[c] = (1 - BN_MOMENTUM) * u->run_mean[c] + BN_MOMENTUM * mean;
            u->run_var[c] = (1 - BN_MOMENTUM) * u->run_var[c] + BN_MOMENTUM * var;
        } else {
            mean = u->run_mean[c];
            var = u->run_var[c];
        }
        istd = 1.0 / sqrt(var + BN_EPS);
        u->mean[c] = mean;
        u->istd[c] = istd;
        for (size_t r = 0; r < N; r++) {
            double h = (x[r * C + c] - mean) * istd;
            u->xhat[r * C + c] = h;
            y[r * C + c] = u->W[c] * h + u->b[c];
        }
    }
}

static void batchnorm_backward(qdi_nas_unit *u, const double *dy, double *dx, size_t b)
{
    size_t C = (size_t)u->spec->in.c, N = b * u->out_size / C;
    for (size_t c = 0; c < C; c++) {
        double sum = 0, sumh = 0, g = u->W[c];
        for (size_t r = 0; r < N; r++) {
            double d = dy[r * C + c];
            u->db[c] += d;
            u->dW[c] += d * u->xhat[r * C + c];
            sum += d * g;
            sumh += d * g * u->xhat[r * C + c];
        }
        for (size_t r = 0; r < N; r++) {
            double dh = dy[r * C + c] * g;
            dx[r * C + c] = u->istd[c] / (double)N * ((double)N * dh - sum - u->xhat[r * C + c] * sumh);
        }
    }
}

/* ---- the passes --------------------------------------------------------------- */

void qdi_nas_forward(qdi_nas_model *m, const double *x, size_t b, int train, gsl_rng *rng)
{
    const qdi_nas_net *net = m->net;
    memcpy(m->act[0], x, b * m->units[0].out_size * sizeof *x);
    for (size_t i = 1; i < net->n; i++) {
        qdi_nas_unit *u = &m->units[i];
        const double *in = m->act[i - 1];
        double *out = m->act[i];
        size_t n = b * u->out_size;
        switch (u->spec->kind) {
        case QDI_NAS_CONV:
            conv_forward(u, in, out, b);
            break;
        case QDI_NAS_DENSE:
            dense_forward(u, in, out, b);
            break;
        case QDI_NAS_POOL:
            pool_forward(u, in, out, b);
            break;
        case QDI_NAS_DROPOUT:
            dropout_forward(u, in, out, b, train, rng);
            break;
        case QDI_NAS_BATCHNORM:
            batchnorm_forward(u, in, out, b, train);
            break;
        case QDI_NAS_RES_END: {
            const double *skip = m->act[u->spec->partner];
            for (size_t k = 0; k < n; k++)
                out[k] = in[k] + skip[k];
            break;
        }
        default: /* input, flatten, residual begin: the same numbers */
            memcpy(out, in, n * sizeof *out);
        }
    }
}

void qdi_nas_backward(qdi_nas_model *m, size_t b)
{
    const qdi_nas_net *net = m->net;
    for (size_t i = net->n - 1; i >= 1; i--) {
        qdi_nas_unit *u = &m->units[i];
        double *dy = m->grad[i], *dx = (i > 1 || m->input_grad) ? m->grad[i - 1] : NULL;
        const double *in = m->act[i - 1];
        size_t n = b * u->in_size;
        switch (u->spec->kind) {
        case QDI_NAS_CONV:
            conv_backward(u, m->act[i], dy, dx, b);
            break;
        case QDI_NAS_DENSE:
            dense_backward(u, in, m->act[i], dy, dx, b);
            break;
        case QDI_NAS_POOL:
            if (dx)
                pool_backward(u, dy, dx, b);
            break;
        case QDI_NAS_BATCHNORM: {
            /* gamma and beta need the pass even when dx is not wanted */
            double *scratch = dx ? dx : m->grad[0];
            batchnorm_backward(u, dy, scratch, b);
            break;
        }
        case QDI_NAS_DROPOUT:
            if (dx)
                for (size_t k = 0; k < n; k++)
                    dx[k] = dy[k] * u->mask[k];
            break;
        case QDI_NAS_RES_BEGIN:
            if (dx) {
                const double *skip = m->grad[u->spec->partner];
                for (size_t k = 0; k < n; k++)
                    dx[k] = dy[k] + skip[k];
            }
            break;
        default: /* flatten, residual end */
            if (dx)
                memcpy(dx, dy, n * sizeof *dx);
        }
    }
}
