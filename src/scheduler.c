/* scheduler.c - the mutator scheduler. "all" asks every mutator every
 * iteration. "bandit" is pyribs' BanditScheduler (after Sharma et al.,
 * "Multi-emitter MAP-Elites", 2022): a fixed number of mutators of the pool
 * are active; when an active one restarts ("terminated") or every iteration
 * ("all"), the free places go to the inactive mutators with the highest
 * UCB1 score
 *     success_i / selected_i + zeta * sqrt(ln(sum of successes) / selected_i)
 * (never-selected mutators first, ties to the lowest index), where
 * selected_i counts the solutions it was asked for and success_i those that
 * entered the archive. */
#include <math.h>
#include <stdlib.h>
#include "scheduler.h"

struct qdi_scheduler {
    int bandit, reselect_all;
    size_t n, want;
    double zeta;
    unsigned char *active;
    double *success, *selected;
    uint64_t *restarts_seen;
};

int qdi_scheduler_new(qd_config *cfg, size_t nmutators, qdi_scheduler **out)
{
    static const char *const types[] = {"all", "bandit", NULL};
    static const char *const reselects[] = {"terminated", "all", NULL};
    qd_config *sc_cfg;
    qdi_scheduler *sc;
    int type = 0, reselect = 0;
    long want = (long)nmutators;
    double zeta = 0.05;
    *out = NULL;
    if (qd_config_object(cfg, "scheduler", 0, &sc_cfg) || qd_config_choice(sc_cfg, "type", types, &type))
        return QD_EINVAL;
    if (type == 1) {
        if (qd_config_require(sc_cfg, "active") || qd_config_int(sc_cfg, "active", &want, ">= 1") ||
            qd_config_number(sc_cfg, "zeta", &zeta, ">= 0") ||
            qd_config_choice(sc_cfg, "reselect", reselects, &reselect))
            return QD_EINVAL;
        if ((size_t)want > nmutators)
            return qd_config_fail(sc_cfg, "active", "must be at most the number of mutators (%zu), got %ld",
                                  nmutators, want);
    }
    if (qd_config_check_keys(sc_cfg))
        return QD_EINVAL;
    if (!(sc = calloc(1, sizeof *sc)))
        return qd_config_fail(sc_cfg, NULL, "could not be set up: out of memory");
    sc->bandit = type == 1;
    sc->reselect_all = reselect == 1;
    sc->n = nmutators;
    sc->want = (size_t)want;
    sc->zeta = zeta;
    sc->active = calloc(nmutators, 1);
    sc->success = calloc(nmutators, sizeof *sc->success);
    sc->selected = calloc(nmutators, sizeof *sc->selected);
    sc->restarts_seen = calloc(nmutators, sizeof *sc->restarts_seen);
    if (!sc->active || !sc->success || !sc->selected || !sc->restarts_seen) {
        qdi_scheduler_free(sc);
        return qd_config_fail(sc_cfg, NULL, "could not be set up: out of memory");
    }
    *out = sc;
    return QD_OK;
}

void qdi_scheduler_free(qdi_scheduler *sc)
{
    if (!sc)
        return;
    free(sc->active);
    free(sc->success);
    free(sc->selected);
    free(sc->restarts_seen);
    free(sc);
}

static double ucb1(const qdi_scheduler *sc, size_t i, double total_success)
{
    if (sc->selected[i] == 0)
        return INFINITY;
    return sc->success[i] / sc->selected[i] +
           sc->zeta * sqrt(log(total_success > 1 ? total_success : 1) / sc->selected[i]);
}

size_t qdi_scheduler_select(qdi_scheduler *sc, qd_mutator *const *mutators, size_t *active)
{
    size_t count = 0, nactive = 0;
    double total = 0;
    if (!sc->bandit) {
        for (size_t i = 0; i < sc->n; i++)
            active[i] = i;
        return sc->n;
    }
    for (size_t i = 0; i < sc->n; i++) {
        /* an active mutator that restarted since the last look is done */
        if (sc->active[i] && (sc->reselect_all || mutators[i]->restarts != sc->restarts_seen[i]))
            sc->active[i] = 0;
        sc->restarts_seen[i] = mutators[i]->restarts;
        nactive += sc->active[i];
        total += sc->success[i];
    }
    while (nactive < sc->want) {
        size_t best = sc->n;
        double best_score = -INFINITY;
        for (size_t i = 0; i < sc->n; i++) {
            double u;
            if (sc->active[i])
                continue;
            u = ucb1(sc, i, total);
            if (best == sc->n || u > best_score) {
                best = i;
                best_score = u;
            }
        }
        sc->active[best] = 1;
        nactive++;
    }
    for (size_t i = 0; i < sc->n; i++)
        if (sc->active[i])
            active[count++] = i;
    return count;
}

void qdi_scheduler_tell(qdi_scheduler *sc, size_t i, uint64_t asked, uint64_t added)
{
    sc->selected[i] += (double)asked;
    sc->success[i] += (double)added;
}

int qdi_scheduler_bandit(const qdi_scheduler *sc)
{
    return sc->bandit;
}

int qdi_scheduler_save(const qdi_scheduler *sc, cJSON *out)
{
    cJSON *active = cJSON_AddArrayToObject(out, "active"), *restarts;
    if (!active)
        return QD_ENOMEM;
    for (size_t i = 0; i < sc->n; i++)
        cJSON_AddItemToArray(active, cJSON_CreateBool(sc->active[i]));
    cJSON_AddItemToObject(out, "success", cJSON_CreateDoubleArray(sc->success, (int)sc->n));
    cJSON_AddItemToObject(out, "selected", cJSON_CreateDoubleArray(sc->selected, (int)sc->n));
    if (!(restarts = cJSON_AddArrayToObject(out, "restarts_seen")))
        return QD_ENOMEM;
    for (size_t i = 0; i < sc->n; i++)
        cJSON_AddItemToArray(restarts, cJSON_CreateNumber((double)sc->restarts_seen[i]));
    return QD_OK;
}

int qdi_scheduler_load(qdi_scheduler *sc, const cJSON *in)
{
    const cJSON *active = cJSON_GetObjectItemCaseSensitive(in, "active");
    const cJSON *success = cJSON_GetObjectItemCaseSensitive(in, "success");
    const cJSON *selected = cJSON_GetObjectItemCaseSensitive(in, "selected");
    const cJSON *restarts = cJSON_GetObjectItemCaseSensitive(in, "restarts_seen");
    if (!cJSON_IsArray(active) || !cJSON_IsArray(success) || !cJSON_IsArray(selected) ||
        !cJSON_IsArray(restarts) || (size_t)cJSON_GetArraySize(restarts) != sc->n ||
        (size_t)cJSON_GetArraySize(active) != sc->n || (size_t)cJSON_GetArraySize(success) != sc->n ||
        (size_t)cJSON_GetArraySize(selected) != sc->n)
        return QD_EFORMAT;
    for (size_t i = 0; i < sc->n; i++) {
        sc->active[i] = cJSON_IsTrue(cJSON_GetArrayItem(active, (int)i));
        sc->success[i] = cJSON_GetArrayItem(success, (int)i)->valuedouble;
        sc->selected[i] = cJSON_GetArrayItem(selected, (int)i)->valuedouble;
        sc->restarts_seen[i] = (uint64_t)cJSON_GetArrayItem(restarts, (int)i)->valuedouble;
    }
    return QD_OK;
}
