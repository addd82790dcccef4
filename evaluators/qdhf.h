/* qdhf.h - the private state of the "qdhf" evaluator, shared by its files:
 * qdhf.c (config, evaluation, the hooks), qdhf_judge.c (judgments from a
 * file or a simulated judge) and qdhf_rounds.c (online rounds, checkpoint
 * state, saved projections). */
#ifndef ELITES_QDHF_H
#define ELITES_QDHF_H

#include "evaluators/qdhf_learn.h"
#include "evaluators/text_embedder.h"

enum { QDHF_FEATURES_GENOME, QDHF_FEATURES_ARM, QDHF_FEATURES_TEXT, QDHF_FEATURES_EMBEDDINGS };
enum { QDHF_LEARNED, QDHF_PCA, QDHF_AUTOENCODER };

typedef struct qdhf {
    qd_evaluator *base;  /* objective and ground-truth measures */
    qd_evaluator *judge; /* "judge": whose measures the simulated judge compares (NULL: base) */
    int features, projection, online;
    size_t dim, d, k, mb, mj; /* genome, feature, latent, base and judge measure counts */
    qdi_projection proj;
    uint64_t seed;
    double noise;      /* probability the simulated judge answers wrong */
    int fixed_ranges;  /* "ranges" given: kept through every round */
    double *ranges;    /* the given ranges (2 k numbers) */
    qdi_train_options train;
    qdi_ae_options ae; /* projection "autoencoder" */
    size_t per_round;  /* online: triplets per round */
    uint64_t *schedule; /* online: iterations the rounds run before (schedule[0] == 1: at init) */
    size_t nschedule, next_round;
    double *genomes;   /* every judgment so far: 3 genomes each, triplet t[i] over rows 3i.. */
    qdi_triplet *t;
    size_t n, cap;
    cJSON *rounds;     /* one record per training */
    qd_worker main;    /* the loop thread's worker for the base (judge, truth) */
    qd_worker judge_worker;
    /* features "text": the built-in embedder; the genome table then holds
     * the judged texts' embeddings (dim == d) */
    qdi_text_embedder embedder;
    /* features "embeddings": /v1/embeddings through the run's LLM client;
     * the loop thread's session (judgments, remeasure) */
    qd_llm_session *session;
} qdhf;

/* Per-worker state: the base's own state and scratch. */
typedef struct qdhf_worker {
    void *base_state;
    double *truth, *f;
} qdhf_worker;

/* The features of a genome (d numbers into f); with features "text" x is
 * an embedding already. */
void qdi_qdhf_features(const qdhf *q, const double *x, double *f);
/* The features of a solution (its genome's, or its text's embedding; an
 * LLM embedding comes through session). QD_OK, or an error with why in
 * err (an LLM failure, an embedding of the wrong length). */
int qdi_qdhf_solution_features(const qdhf *q, const qd_solution *sol, qd_llm_session *session, double *f, char *err,
                               size_t errlen);
/* Sets up / tears down a worker for the base evaluator. */
int qdi_qdhf_worker_init(const qdhf *q, qd_worker *w);
void qdi_qdhf_worker_fini(const qdhf *q, qd_worker *w);
/* The base's ground-truth measures of genome x (mb numbers into truth),
 * run in worker w; the objective is dropped. */
int qdi_qdhf_truth(const qdhf *q, const double *x, qd_worker *w, double *truth);

/* Makes room for n more judgments. */
int qdi_qdhf_reserve(qdhf *q, size_t more);
/* Reads judgments from a JSONL file into q (errors name the line). */
int qdi_qdhf_read_judgments(qd_config *cfg, qdhf *q, const char *path);
/* Reads judgments keyed by text, {"ref": "...", "x1": "...", "x2": "...",
 * "closer": 1 or 2} per line, fits the embedder on their texts and keeps
 * the embeddings. */
int qdi_qdhf_read_text_judgments(qd_config *cfg, qdhf *q, const char *path);
/* Has the simulated judge answer n triplets over the 3 n genomes already
 * appended after the first q->n rows, flipping each answer with
 * probability q->noise; q->n grows by n. err gets why on failure. */
int qdi_qdhf_judge(qdhf *q, size_t n, gsl_rng *rng, char *err, size_t errlen);

/* Fits the projection on the judgments so far (learned) or on the rows of
 * a genome table (PCA) and sets the measure ranges of space from the
 * projected rows; records the round. */
int qdi_qdhf_fit(qdhf *q, qd_space *space, const double *rows, size_t nrows, gsl_rng *rng, uint64_t iteration,
                 char *err, size_t errlen);
/* Reads a saved projection (a projection file or an archive.json of a
 * QDHF run) into q and the ranges of space. */
int qdi_qdhf_load_projection(qd_config *cfg, qdhf *q, qd_space *space, const char *path);

/* The evaluator hooks of online QDHF (qdhf_rounds.c). */
int qdi_qdhf_iterate(qd_evaluator *ev, const qd_archive *a, uint64_t iteration, int *rebuild);
int qdi_qdhf_save(const qd_evaluator *ev, cJSON *out);
int qdi_qdhf_load(qd_evaluator *ev, const cJSON *in);
int qdi_qdhf_describe(const qd_evaluator *ev, cJSON *out);

#endif
