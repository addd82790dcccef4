/* population.h - the texts an LLM mutator keeps for itself in the QDAIF
 * paper's baselines (Bradley et al. 2023), apart from the archive (which
 * then only measures): the best texts by quality alone (LMX, quality-only)
 * or a novelty archive over the AI-feedback measures (NSAIF: novelty search
 * with AI feedback). */
#ifndef ELITES_POPULATION_H
#define ELITES_POPULATION_H

#include "src/internal.h"

enum { QDI_POP_QUALITY, QDI_POP_NOVELTY };

typedef struct qdi_population {
    int kind;             /* QDI_POP_QUALITY or QDI_POP_NOVELTY */
    size_t m;             /* measures per member */
    size_t limit;         /* members at most */
    size_t k;             /* novelty: neighbours */
    double threshold;     /* novelty: the least a newcomer needs */
    double *lower, *upper; /* measure ranges: distances are in units of them */
    size_t n;
    char **texts;
    double *objective, *measures; /* n and n * m numbers */
} qdi_population;

/* Sets a population up (arrays for limit members; ranges copied). */
int qdi_population_init(qdi_population *p, int kind, size_t m, const double *lower, const double *upper, size_t limit,
                        size_t k, double threshold);
void qdi_population_fini(qdi_population *p);
/* The novelty of a measure vector: the mean distance to its k nearest
 * members (all of them when fewer), in range units; +inf when empty. */
double qdi_population_novelty(const qdi_population *p, const double *measures);
/* Offers a text (copied): quality keeps the limit best (a newcomer must
 * beat the worst); novelty adds it when the population has fewer than k
 * members or its novelty is at least threshold, while there is room.
 * Returns 1 when added, 0 when not, QD_ENOMEM. */
int qdi_population_offer(qdi_population *p, const char *text, double objective, const double *measures);
/* Writes / reads the members for a checkpoint. */
int qdi_population_save(const qdi_population *p, cJSON *out);
int qdi_population_load(qdi_population *p, const cJSON *in);

#endif
