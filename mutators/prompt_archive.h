/* prompt_archive.h - LLMatic's archive of instruction prompts (Nasir et al.
 * 2023), kept by the llmatic mutator (mutators/llmatic.c). Internal (qdi_)
 * API. */
#ifndef ELITES_PROMPT_ARCHIVE_H
#define ELITES_PROMPT_ARCHIVE_H

#include <gsl/gsl_rng.h>
#include "src/internal.h"

/* One prompt: its text, whether it is a crossover prompt, its temperature
 * and curiosity, and how often it was used and its child entered the
 * network archive. */
typedef struct qdi_prompt {
    char *text;
    int crossover;
    double temperature, curiosity;
    uint64_t uses, successes;
} qdi_prompt;

typedef struct qdi_prompt_archive {
    qdi_prompt *prompts;
    size_t n;
    double step;     /* temperature move after a success (+) or failure (-): 0.05 */
    double jitter;   /* a child's temperature: parent's + U(-jitter, jitter): 0.1 */
    double t_min, t_max; /* temperatures are clipped to [0.1, 1.0] */
    double reward, penalty; /* curiosity + reward on success, - penalty on failure: 1, 0.5 */
} qdi_prompt_archive;

/* The paper's 13 mutation instructions and its crossover instruction. */
extern const char *const qdi_llmatic_instructions[13];
extern const char qdi_llmatic_crossover[];

/* Fills pa with n mutation prompts and ncross crossover prompts (copies),
 * each at temperature t0 with curiosity 0, and the paper's constants.
 * QD_ENOMEM on failure (pa then needs no free). */
int qdi_prompt_archive_init(qdi_prompt_archive *pa, const char *const *mutation, size_t n,
                            const char *const *crossover, size_t ncross, double t0);
/* Frees the prompts. Accepts a zeroed archive. */
void qdi_prompt_archive_free(qdi_prompt_archive *pa);
/* A prompt of the kind asked for (crossover or mutation), drawn uniformly
 * among the top `top` of that kind by curiosity (ties: the lower index
 * first); the index, or (size_t)-1 when there is none of that kind. */
size_t qdi_prompt_archive_pick(const qdi_prompt_archive *pa, int crossover, size_t top, gsl_rng *rng);
/* A child's temperature: prompt i's plus a uniform draw in [-jitter,
 * jitter], clipped to [t_min, t_max]. */
double qdi_prompt_archive_child_temperature(const qdi_prompt_archive *pa, size_t i, gsl_rng *rng);
/* Records the outcome of a child of prompt i: success (it entered the
 * network archive) raises curiosity by reward and temperature by step,
 * failure lowers them by penalty and step (temperature clipped). */
void qdi_prompt_archive_update(qdi_prompt_archive *pa, size_t i, int success);
/* The prompts as a JSON array (exact doubles) for checkpoints and
 * prompts.json; NULL when out of memory. The caller owns it. */
cJSON *qdi_prompt_archive_json(const qdi_prompt_archive *pa);
/* Restores temperatures, curiosities and counts from qdi_prompt_archive_json
 * output of an archive with the same prompts; QD_EFORMAT with the reason in
 * err otherwise. */
int qdi_prompt_archive_load(qdi_prompt_archive *pa, const cJSON *array, char *err, size_t errlen);
/* Writes prompts.json and prompts.csv into dir (atomically). */
int qdi_prompt_archive_write(const qdi_prompt_archive *pa, const char *dir, char *err, size_t errlen);

#endif
