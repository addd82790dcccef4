/* nas.h - the network language, its data sets and its trainer, shared by the
 * nas evaluator (evaluators/nas.c), the grammar mutator (mutators/network.c)
 * and the LLMatic mutator (mutators/llmatic.c). Internal (qdi_) API. */
#ifndef ELITES_NAS_H
#define ELITES_NAS_H

#include <gsl/gsl_rng.h>
#include "src/internal.h"

/* ---- the network language (nas_lang.c) ---------------------------------- */

typedef enum {
    QDI_NAS_INPUT,
    QDI_NAS_CONV,
    QDI_NAS_POOL,
    QDI_NAS_FLATTEN,
    QDI_NAS_DENSE,
    QDI_NAS_DROPOUT,
    QDI_NAS_BATCHNORM,
    QDI_NAS_RES_BEGIN,
    QDI_NAS_RES_END
} qdi_nas_kind;

typedef enum { QDI_ACT_NONE, QDI_ACT_RELU, QDI_ACT_TANH, QDI_ACT_SIGMOID, QDI_ACT_SOFTMAX } qdi_nas_act;

/* A tensor shape of one example: h x w x c, or a vector of c numbers
 * (flat, h = w = 1). */
typedef struct qdi_nas_shape {
    int h, w, c, flat;
} qdi_nas_shape;

/* One line of a network. */
typedef struct qdi_nas_layer {
    qdi_nas_kind kind;
    int line;         /* 1-based line of the source text */
    int units;        /* dense units, conv filters */
    int kh, kw, same; /* conv kernel; "same" padding */
    int pool_max, pool_size;
    double rate;      /* dropout probability */
    qdi_nas_act act;
    int partner;      /* residual: index of the matching begin / end */
    qdi_nas_shape in, out;
    long params, flops;
} qdi_nas_layer;

/* A parsed, shape-checked network: layers[0] is the input. */
typedef struct qdi_nas_net {
    qdi_nas_layer *layers;
    size_t n;
    long params, flops; /* FLOPs: 2 x multiply-adds of conv and dense, per example */
    int depth;          /* conv and dense layers */
    int max_width;      /* the most units or filters of one layer */
} qdi_nas_net;

/* Limits the parser enforces (beyond shapes). */
#define QDI_NAS_MAX_LAYERS 64
#define QDI_NAS_MAX_UNITS 4096

/* The language in one paragraph (for prompts and the README). */
extern const char qdi_nas_language[];

/* Parses and shape-checks a network text. On failure returns QD_EINVAL with
 * "line N: reason" in err. net is the caller's (qdi_nas_free). */
int qdi_nas_parse(const char *text, qdi_nas_net *net, char *err, size_t errlen);
/* Frees a network's layers. */
void qdi_nas_free(qdi_nas_net *net);
/* Re-infers shapes, parameters and FLOPs of net->layers (after an edit);
 * QD_EINVAL with "line N: reason" (N = layer's line) when it does not fit. */
int qdi_nas_check(qdi_nas_net *net, char *err, size_t errlen);
/* Prints a network in the language, one layer per line; malloc'd. */
char *qdi_nas_print(const qdi_nas_net *net);
/* Writes a shape as "6x6x16" or "64". buf needs 48 bytes. */
char *qdi_nas_shape_text(qdi_nas_shape s, char *buf);
/* Reads a shape "HxWxC" or "N"; QD_EINVAL when it is neither. */
int qdi_nas_parse_shape(const char *text, qdi_nas_shape *s);
/* Number of values in a shape. */
size_t qdi_nas_shape_size(qdi_nas_shape s);
/* Finds the network in an LLM reply: the first fenced code block with an
 * "input" line, else the lines from the first "input" line on while they
 * start with a layer keyword. A malloc'd text, or NULL when none is found. */
char *qdi_nas_extract(const char *reply);
/* Activation names ("relu", ...) and lookups. */
const char *qdi_nas_act_name(qdi_nas_act a);

/* ---- data sets (nas_data.c) --------------------------------------------- */

typedef struct qdi_nas_data {
    size_t n, features;
    int classes;
    double *x; /* n x features, row-major */
    int *y;
} qdi_nas_data;

/* Reads a CSV of "label, features..." rows (an optional header line, labels
 * 0..K-1). Errors name the file, line and value. */
int qdi_nas_data_read(const char *path, qdi_nas_data *d, char *err, size_t errlen);
/* Splits d into train and test sets: a shuffle by seed, the first
 * ceil(test_fraction n) rows to test; features standardised by the train
 * set's mean and standard deviation. Both outputs are the caller's. */
int qdi_nas_data_split(const qdi_nas_data *d, double test_fraction, uint64_t seed, qdi_nas_data *train,
                       qdi_nas_data *test);
/* Frees a data set's arrays. */
void qdi_nas_data_free(qdi_nas_data *d);

/* ---- the trainer (nas_layers.c, nas_optim.c, nas_train.c) ---------------- */

/* One layer's buffers: parameters point into the model's one vector. */
typedef struct qdi_nas_unit {
    const qdi_nas_layer *spec;
    size_t in_size, out_size;
    double *W, *b, *dW, *db; /* conv/dense: W and bias; batchnorm: gamma, beta */
    size_t nW, nb;
    double *z;               /* pre-activation (conv, dense) */
    double *cols, *dcols;    /* conv: im2col rows (batch x positions) x (kh kw c) */
    size_t *arg;             /* max pool: where each output came from */
    double *mask;            /* dropout: 0 or 1 / (1 - rate) */
    double *xhat, *mean, *istd, *run_mean, *run_var; /* batchnorm */
} qdi_nas_unit;

typedef struct qdi_nas_model {
    const qdi_nas_net *net;
    size_t batch;            /* the largest batch the buffers hold */
    qdi_nas_unit *units;     /* one per layer */
    double **act, **grad;    /* act[i]: output of layer i (batch x size) */
    double *theta, *dtheta;  /* every parameter and its gradient */
    size_t nparams;
    int input_grad;          /* also fill grad[0] = dL/dx (tests); off by default */
} qdi_nas_model;

/* Allocates a model's buffers for batches up to `batch` rows and draws its
 * weights (He uniform before relu, Glorot uniform otherwise) from rng. */
int qdi_nas_model_new(qdi_nas_model *m, const qdi_nas_net *net, size_t batch, gsl_rng *rng);
/* Frees a model's buffers. */
void qdi_nas_model_free(qdi_nas_model *m);
/* Forward pass of b rows of x; train: dropout masks from rng, batchnorm on
 * batch statistics (and its running averages updated). Output in
 * m->act[n - 1]. */
void qdi_nas_forward(qdi_nas_model *m, const double *x, size_t b, int train, gsl_rng *rng);
/* Backward pass: m->grad[n - 1] holds dL/d(output) (for a softmax output:
 * dL/d(logits)); fills m->dtheta (accumulated: zero it first) and grad[]
 * down to grad[0] (dL/dx). */
void qdi_nas_backward(qdi_nas_model *m, size_t b);

/* Softmax cross-entropy of the model's output rows against labels: the mean
 * loss, and dL/d(logits) into m->grad[n - 1] when with_grad. */
double qdi_nas_loss(qdi_nas_model *m, const int *y, size_t b, int with_grad);

typedef enum { QDI_OPT_SGD, QDI_OPT_ADAM } qdi_nas_opt_kind;

typedef struct qdi_nas_opt {
    qdi_nas_opt_kind kind;
    double lr, momentum, beta1, beta2, eps;
    double *m1, *m2; /* SGD: velocity in m1; Adam: the two moments */
    size_t n;
    long t;
} qdi_nas_opt;

/* Allocates an optimiser's state for n parameters. */
int qdi_nas_opt_init(qdi_nas_opt *o, qdi_nas_opt_kind kind, double lr, double momentum, size_t n);
/* One step: theta -= update(dtheta). */
void qdi_nas_opt_step(qdi_nas_opt *o, double *theta, const double *dtheta);
/* Frees an optimiser's state. */
void qdi_nas_opt_free(qdi_nas_opt *o);

typedef struct qdi_nas_train_options {
    int epochs;
    size_t batch;
    qdi_nas_opt_kind optimizer;
    double lr, momentum;
    double time_budget; /* seconds (0: none); stops after the epoch it runs out in */
    double deadline;    /* qdi_now() seconds by which to give up (0: none) */
} qdi_nas_train_options;

typedef struct qdi_nas_train_result {
    double accuracy;     /* on the test set, in [0, 1] */
    double test_loss, train_loss;
    int epochs;          /* epochs run */
} qdi_nas_train_result;

/* Trains net on train (job's rng: weights, shuffles, dropout) and scores it
 * on test. QD_EINVAL with the reason in err when the loss diverges or the
 * deadline passes. */
int qdi_nas_train(const qdi_nas_net *net, const qdi_nas_data *train, const qdi_nas_data *test,
                  const qdi_nas_train_options *opt, gsl_rng *rng, qdi_nas_train_result *res, char *err,
                  size_t errlen);

#endif
