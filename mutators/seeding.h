/* seeding.h - what every real-valued mutator shares: how the first children
 * are made (uniform in the genome bounds, or x0 plus Gaussian noise), for how
 * many jobs, and optional clipping to the bounds. */
#ifndef ELITES_SEEDING_H
#define ELITES_SEEDING_H

#include "src/internal.h"

typedef struct qdi_seeding {
    int init;          /* QDI_INIT_UNIFORM or QDI_INIT_X0 */
    int clip;
    double *x0;        /* dim numbers */
    uint64_t initial;  /* jobs made by the initialiser */
    uint64_t asked;    /* jobs asked so far */
} qdi_seeding;

enum { QDI_INIT_UNIFORM, QDI_INIT_X0 };

/* Reads "batch" (into m->batch, default default_batch), "x0", "clip" and,
 * with with_init, "init" and "initial" (default: the batch); checks the
 * genome is real. */
int qdi_seeding_read(qdi_seeding *s, qd_mutator *m, qd_config *cfg, const qd_space *space, long default_batch,
                     int with_init);
/* Nonzero while the next child must come from the initialiser. */
int qdi_seeding_due(const qdi_seeding *s, const qd_archive *a);
/* Writes an initial child: uniform in the bounds or x0 + N(0, sigma^2 I). */
void qdi_seeding_sample(const qdi_seeding *s, const qd_space *space, gsl_rng *rng, double sigma, double *x);
/* Adds N(0, sigma^2) noise to each of x[0..n) (the numbers of
 * qd_ran_gaussian_fill(rng, sigma, ., n)). */
void qdi_add_noise(const gsl_rng *rng, double sigma, double *x, size_t n);
/* Clips x to the genome bounds when "clip" is set. */
void qdi_seeding_clip(const qdi_seeding *s, const qd_space *space, double *x);
/* Checkpoint of the asked count. */
int qdi_seeding_save(const qdi_seeding *s, cJSON *out);
int qdi_seeding_load(qdi_seeding *s, qd_mutator *m, const cJSON *in);
/* Frees x0. */
void qdi_seeding_free(qdi_seeding *s);

#endif
