/* scheduler.h - which mutators the loop asks each iteration: all of them
 * (default), or a bandit over a pool (pyribs' BanditScheduler). */
#ifndef ELITES_SCHEDULER_H
#define ELITES_SCHEDULER_H

#include "internal.h"

typedef struct qdi_scheduler qdi_scheduler;

/* Reads the config's "scheduler" object ({"type": "all"} by default, or
 * {"type": "bandit", "active": k, "zeta": 0.05, "reselect": "terminated"}). */
int qdi_scheduler_new(qd_config *cfg, size_t nmutators, qdi_scheduler **out);
void qdi_scheduler_free(qdi_scheduler *sc);
/* Writes the indices of the mutators to ask this iteration into active[]
 * (ascending) and returns how many. */
size_t qdi_scheduler_select(qdi_scheduler *sc, qd_mutator *const *mutators, size_t *active);
/* Records that mutator i had `asked` solutions evaluated and `added` of them
 * entered the archive. */
void qdi_scheduler_tell(qdi_scheduler *sc, size_t i, uint64_t asked, uint64_t added);
/* Nonzero for the bandit scheduler. */
int qdi_scheduler_bandit(const qdi_scheduler *sc);
/* Checkpoint state. */
int qdi_scheduler_save(const qdi_scheduler *sc, cJSON *out);
int qdi_scheduler_load(qdi_scheduler *sc, const cJSON *in);

#endif
