/* nas_optim.c - the trainer's optimisers over one parameter vector:
 * minibatch SGD with (heavy-ball) momentum, v = mu v - lr g, theta += v;
 * and Adam (Kingma & Ba 2015) with bias-corrected moments, beta1 0.9,
 * beta2 0.999, eps 1e-8. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/nas.h"

int qdi_nas_opt_init(qdi_nas_opt *o, qdi_nas_opt_kind kind, double lr, double momentum, size_t n)
{
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->lr = lr;
    o->momentum = momentum;
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->eps = 1e-8;
    o->n = n;
    o->m1 = calloc(n ? n : 1, sizeof *o->m1);
    o->m2 = kind == QDI_OPT_ADAM ? calloc(n ? n : 1, sizeof *o->m2) : NULL;
    if (!o->m1 || (kind == QDI_OPT_ADAM && !o->m2)) {
        qdi_nas_opt_free(o);
        return QD_ENOMEM;
    }
    return QD_OK;
}

void qdi_nas_opt_step(qdi_nas_opt *o, double *theta, const double *g)
{
    o->t++;
    if (o->kind == QDI_OPT_SGD) {
        for (size_t i = 0; i < o->n; i++) {
            o->m1[i] = o->momentum * o->m1[i] - o->lr * g[i];
            theta[i] += o->m1[i];
        }
        return;
    }
    double c1 = 1.0 - pow(o->beta1, (double)o->t), c2 = 1.0 - pow(o->beta2, (double)o->t);
    double step = o->lr * sqrt(c2) / c1;
    for (size_t i = 0; i < o->n; i++) {
        o->m1[i] = o->beta1 * o->m1[i] + (1.0 - o->beta1) * g[i];
        o->m2[i] = o->beta2 * o->m2[i] + (1.0 - o->beta2) * g[i] * g[i];
        theta[i] -= step * o->m1[i] / (sqrt(o->m2[i]) + o->eps * sqrt(c2));
    }
}

void qdi_nas_opt_free(qdi_nas_opt *o)
{
    free(o->m1);
    free(o->m2);
    o->m1 = o->m2 = NULL;
}
