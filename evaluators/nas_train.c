/* nas_train.c - trains a network of the language: softmax cross-entropy,
 * minibatches drawn by a shuffle each epoch, the optimiser of nas_optim.c,
 * for a fixed number of epochs or until a time budget runs out; then the
 * held-out accuracy and loss. Every random draw (weights, shuffles, dropout)
 * comes from the job's RNG, so a network trains the same way for the same
 * job whatever the thread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "evaluators/nas.h"

double qdi_nas_loss(qdi_nas_model *m, const int *y, size_t b, int with_grad)
{
    size_t last = m->net->n - 1, K = m->units[last].out_size;
    const double *p = m->act[last];
    double *g = m->grad[last], loss = 0;
    for (size_t r = 0; r < b; r++) {
        double py = p[r * K + (size_t)y[r]];
        loss -= log(py > 1e-300 ? py : 1e-300);
        if (with_grad)
            for (size_t k = 0; k < K; k++)
                g[r * K + k] = (p[r * K + k] - (k == (size_t)y[r])) / (double)b;
    }
    return loss / (double)b;
}

/* Mean loss and accuracy over a data set, in evaluation mode. */
static void score(qdi_nas_model *m, const qdi_nas_data *d, double *loss, double *accuracy)
{
    size_t last = m->net->n - 1, K = m->units[last].out_size, right = 0;
    double total = 0;
    for (size_t at = 0; at < d->n; at += m->batch) {
        size_t b = d->n - at < m->batch ? d->n - at : m->batch;
        qdi_nas_forward(m, d->x + at * d->features, b, 0, NULL);
        total += qdi_nas_loss(m, d->y + at, b, 0) * (double)b;
        for (size_t r = 0; r < b; r++) {
            const double *p = m->act[last] + r * K;
            size_t best = 0;
            for (size_t k = 1; k < K; k++)
                if (p[k] > p[best])
                    best = k;
            right += (int)best == d->y[at + r];
        }
    }
    *loss = total / (double)d->n;
    *accuracy = (double)right / (double)d->n;
}

int qdi_nas_train(const qdi_nas_net *net, const qdi_nas_data *train, const qdi_nas_data *test,
                  const qdi_nas_train_options *opt, gsl_rng *rng, qdi_nas_train_result *res, char *err,
                  size_t errlen)
{
    qdi_nas_model m;
    qdi_nas_opt o;
    size_t *order = malloc(train->n * sizeof *order), F = train->features;
    double *xb = malloc(opt->batch * F * sizeof *xb), start = qdi_now();
    int *yb = malloc(opt->batch * sizeof *yb), rc = QD_OK;
    memset(res, 0, sizeof *res);
    if (!order || !xb || !yb) {
        free(order);
        free(xb);
        free(yb);
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    if (qdi_nas_model_new(&m, net, opt->batch, rng) != QD_OK) {
        free(order);
        free(xb);
        free(yb);
        qdi_set_error(err, errlen, "out of memory for the model");
        return QD_ENOMEM;
    }
    if (qdi_nas_opt_init(&o, opt->optimizer, opt->lr, opt->momentum, m.nparams) != QD_OK) {
        qdi_set_error(err, errlen, "out of memory for the optimiser");
        rc = QD_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < train->n; i++)
        order[i] = i;
    for (int e = 0; e < opt->epochs; e++) {
        double sum = 0;
        gsl_ran_shuffle(rng, order, train->n, sizeof *order);
        for (size_t at = 0; at < train->n; at += opt->batch) {
            size_t b = train->n - at < opt->batch ? train->n - at : opt->batch;
            double l;
            for (size_t r = 0; r < b; r++) {
                memcpy(xb + r * F, train->x + order[at + r] * F, F * sizeof *xb);
                yb[r] = train->y[order[at + r]];
            }
            qdi_nas_forward(&m, xb, b, 1, rng);
            l = qdi_nas_loss(&m, yb, b, 1);
            if (!isfinite(l)) {
                qdi_set_error(err, errlen, "training diverged: the loss is %g in epoch %d", l, e + 1);
                rc = QD_EINVAL;
                goto done;
            }
            sum += l * (double)b;
            memset(m.dtheta, 0, m.nparams * sizeof *m.dtheta);
            qdi_nas_backward(&m, b);
            qdi_nas_opt_step(&o, m.theta, m.dtheta);
        }
        res->train_loss = sum / (double)train->n;
        res->epochs = e + 1;
        if (opt->deadline > 0 && qdi_now() > opt->deadline) {
            qdi_set_error(err, errlen, "training stopped at the job's deadline after %d epochs", e + 1);
            rc = QD_EINVAL;
            goto done;
        }
        if (opt->time_budget > 0 && qdi_now() - start >= opt->time_budget)
            break;
    }
    score(&m, test, &res->test_loss, &res->accuracy);
    if (!isfinite(res->test_loss)) {
        qdi_set_error(err, errlen, "the held-out loss is %g", res->test_loss);
        rc = QD_EINVAL;
    }
done:
    qdi_nas_opt_free(&o);
    qdi_nas_model_free(&m);
    free(order);
    free(xb);
    free(yb);
    return rc;
}
