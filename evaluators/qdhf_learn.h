/* qdhf_learn.h - learning diversity measures from similarity judgments, as
 * QDHF does (Ding et al., "Quality Diversity through Human Feedback"): a
 * linear projection z = W f + b from a feature vector f to k latent
 * measures, trained on triplets "of x1 and x2, which is closer to ref?" with
 * a hinge loss on the difference of squared latent distances. */
#ifndef ELITES_QDHF_LEARN_H
#define ELITES_QDHF_LEARN_H

#include "src/internal.h"

/* One judgment over three feature vectors (rows of a feature table):
 * y = +1 when x2 is the closer to ref, -1 when x1 is. */
typedef struct qdi_triplet {
    size_t ref, x1, x2;
    int y;
} qdi_triplet;

/* The projection: W is k x d (row-major), b has k entries. An
 * auto-encoder's encoder has a hidden layer first (h > 0): z = W tanh(W1 f
 * + b1) + b with W1 h x d, b1 h entries and W then k x h; h == 0 (W1, b1
 * NULL) is the linear z = W f + b. */
typedef struct qdi_projection {
    size_t d, k;
    double *W, *b;
    size_t h;
    double *W1, *b1;
} qdi_projection;

/* The widest hidden layer an auto-encoder may have. */
#define QDI_AE_MAX_HIDDEN 1024

/* Training settings; the defaults are the QDHF authors' (Adam, lr 1e-3,
 * batch 32, margin 0.05, 75% / 25% split, up to 1,000 epochs, stop when the
 * mean validation accuracy of the last 10 epochs falls below that of the 10
 * before). */
typedef struct qdi_train_options {
    double lr, margin, train_fraction;
    size_t batch, max_epochs, patience;
    size_t min_epochs; /* no early stop before this many epochs (default 0) */
} qdi_train_options;

/* What training reached. */
typedef struct qdi_train_report {
    size_t epochs, train_size, valid_size;
    double train_accuracy, valid_accuracy, loss;
} qdi_train_report;

void qdi_train_defaults(qdi_train_options *o);

/* Allocates a d -> k projection with PyTorch's default initialisation of a
 * linear layer (uniform in +-1/sqrt(d)) from rng. */
int qdi_projection_init(qdi_projection *p, size_t d, size_t k, gsl_rng *rng);
void qdi_projection_free(qdi_projection *p);
/* z = W f + b, or through the hidden layer when p->h > 0 (z has k entries). */
void qdi_projection_apply(const qdi_projection *p, const double *f, double *z);

/* The mean hinge loss over n triplets of a feature table (rows of d
 * numbers) and, when grad_W is not NULL, its gradient with respect to W
 * (k x d; b has none: it cancels in every distance). */
double qdi_triplet_loss(const qdi_projection *p, const double *features, const qdi_triplet *t, size_t n,
                        double margin, double *grad_W);
/* Fraction of triplets whose latent distances order ref's neighbours as the
 * judge did. */
double qdi_triplet_accuracy(const qdi_projection *p, const double *features, const qdi_triplet *t, size_t n);

/* Trains p from scratch (re-initialised from rng) on n triplets: shuffles
 * and splits them, runs Adam over minibatches, stops early as the options
 * say; fills *report. */
int qdi_projection_train(qdi_projection *p, const double *features, qdi_triplet *t, size_t n,
                         const qdi_train_options *o, gsl_rng *rng, qdi_train_report *report);

/* Fits p (k x d, allocated here) as the first k principal components of
 * n feature rows: W's rows the unit eigenvectors of the covariance by
 * decreasing eigenvalue (each signed so its largest entry is positive),
 * b = -W mean, so z is the centred projection (scikit-learn's
 * PCA.transform). QD_EINVAL when n < 2. */
int qdi_projection_fit_pca(qdi_projection *p, const double *features, size_t n, size_t d, size_t k);

/* Auto-encoder settings (the AURORA-style baseline of the QDHF paper). */
typedef struct qdi_ae_options {
    size_t hidden, epochs, batch;
    double lr;
} qdi_ae_options;

/* What fitting the auto-encoder reached: mean squared reconstruction error
 * per feature (of the standardised features) before and after training. */
typedef struct qdi_ae_report {
    size_t epochs;
    double initial_error, error;
} qdi_ae_report;

/* Fits an auto-encoder features -> hidden (tanh) -> k latent -> hidden
 * (tanh) -> features on n rows of d features (standardised per feature),
 * minimising the mean squared reconstruction error with Adam over shuffled
 * minibatches for o->epochs epochs, all random numbers from rng; p gets
 * the encoder (allocated here, the standardisation folded into W1, b1),
 * the decoder is dropped. QD_EINVAL when n < 2 or hidden is 0 or above
 * QDI_AE_MAX_HIDDEN. report may be NULL. */
int qdi_projection_fit_autoencoder(qdi_projection *p, const double *features, size_t n, size_t d, size_t k,
                                   const qdi_ae_options *o, gsl_rng *rng, qdi_ae_report *report);

/* The simulated judge: y from ground-truth measures (m numbers per row):
 * +1 when |g(ref) - g(x1)|^2 - |g(ref) - g(x2)|^2 > 0, else -1. */
int qdi_judge_simulated(const double *truth, size_t m, size_t ref, size_t x1, size_t x2);

#endif
