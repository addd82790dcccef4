/* search_truth.c - QD score and coverage in the problem's ground-truth
 * measure space, for a search that runs on other measures (QDHF's learned
 * ones). The QDHF paper reports two numbers (Ding et al. 2024, section 4):
 * "archive solutions", the final archive's elites re-binned in a
 * ground-truth grid, and "all solutions", every solution the search ever
 * evaluated binned there. The second is a plain archive (truth_all) fed
 * after every iteration; the first is computed afresh from the result
 * archive's elites whenever a metrics row is made. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "search_internal.h"

/* The default ground-truth grid: 50 bins per measure over the truth ranges,
 * with the main archive's qd_score_offset (the paper sums raw objectives). */
static cJSON *default_truth_archive(const qd_search *s)
{
    cJSON *j = cJSON_CreateObject(), *dims;
    if (!j || !cJSON_AddStringToObject(j, "type", "grid") || !(dims = cJSON_AddArrayToObject(j, "dims"))) {
        cJSON_Delete(j);
        return NULL;
    }
    for (size_t k = 0; k < s->truth_space.measures; k++) {
        cJSON *d = cJSON_CreateObject();
        cJSON_AddItemToArray(dims, d);
        cJSON_AddNumberToObject(d, "bins", 50);
    }
    cJSON_AddNumberToObject(j, "qd_score_offset", qd_archive_qd_score_offset(s->archive));
    return j;
}

int qdi_truth_new(qd_search *s, qd_config *cfg)
{
    const qd_evaluator_type *t = s->ev->type;
    qd_config *tc;
    s->truth_every = 10;
    if (!t->truth_space || !t->truth) {
        if (qd_config_has(cfg, "truth_archive"))
            return qd_config_fail(cfg, "truth_archive", "is set, but evaluator \"%s\" has no ground-truth measures",
                                  t->name);
        return QD_OK;
    }
    /* re-binning every elite costs as much as a few hundred evaluations:
     * every truth_every iterations (and the first and last) is enough */
    if (qd_config_int(cfg, "truth_every", &s->truth_every, ">= 1"))
        return QD_EINVAL;
    int rc = t->truth_space(s->ev, &s->truth_space);
    if (rc == QD_ENOTFOUND) { /* this instance has none */
        qd_space_free(&s->truth_space);
        memset(&s->truth_space, 0, sizeof s->truth_space);
        return QD_OK;
    }
    if (rc != QD_OK)
        return qd_config_fail(cfg, "evaluator", "could not declare its ground-truth measures: %s", s->ev->error);
    if (qd_config_has(cfg, "truth_archive")) {
        if (qd_config_object(cfg, "truth_archive", 1, &tc))
            return QD_EINVAL;
    } else {
        cJSON *j = default_truth_archive(s);
        if (!j || qd_config_wrap(j, qd_config_source(cfg), &s->truth_cfg) != QD_OK) {
            cJSON_Delete(j);
            return qd_config_fail(cfg, "truth_archive", "could not be set up: out of memory");
        }
        tc = s->truth_cfg;
    }
    if (qd_archive_new(tc, &s->truth_space, &s->truth_all) != QD_OK)
        return qd_config_fail(cfg, "truth_archive", "%s", qd_config_error(tc));
    s->truth_g = malloc((s->truth_space.measures + 1) * sizeof *s->truth_g);
    s->truth_best = malloc(qd_archive_cells(s->truth_all) * sizeof *s->truth_best);
    if (!s->truth_g || !s->truth_best)
        return qd_config_fail(cfg, "truth_archive", "could not be set up: out of memory");
    return QD_OK;
}

void qdi_truth_free(qd_search *s)
{
    qd_archive_free(s->truth_all);
    qd_config_free(s->truth_cfg);
    qd_space_free(&s->truth_space);
    free(s->truth_g);
    free(s->truth_best);
}

/* True measures of a solution into s->truth_g; QD_EINVAL (s->error says
 * why) when the evaluator fails or gives a non-finite number. */
static int truth_of(qd_search *s, const qd_solution *sol)
{
    s->ev->error[0] = '\0';
    if (s->ev->type->truth(s->ev, sol, s->truth_g) != QD_OK) {
        qdi_set_error(s->error, sizeof s->error, "%s: ground-truth measures failed: %s", s->ev->type->name,
                      s->ev->error);
        return QD_EINVAL;
    }
    for (size_t k = 0; k < s->truth_space.measures; k++)
        if (!isfinite(s->truth_g[k])) {
            qdi_set_error(s->error, sizeof s->error, "%s: ground-truth measure %zu is not finite", s->ev->type->name, k);
            return QD_EINVAL;
        }
    return QD_OK;
}

int qdi_truth_observe(qd_search *s)
{
    if (!s->truth_all)
        return QD_OK;
    for (size_t j = 0; j < s->nrun; j++) {
        const qd_job *job = &s->jobs[j];
        qd_add_result res;
        if (job->status != QD_OK)
            continue;
        if (truth_of(s, &job->sol))
            return QD_EINVAL;
        qd_solution g = job->sol;
        g.measures = s->truth_g;
        g.m = s->truth_space.measures;
        if (qd_archive_add(s->truth_all, &g, &res) != QD_OK) {
            qdi_set_error(s->error, sizeof s->error, "ground-truth archive: %s", qd_archive_error(s->truth_all));
            return QD_EINVAL;
        }
    }
    return QD_OK;
}

int qdi_truth_metrics(qd_search *s, qd_metrics *row)
{
    const qd_archive *res = qd_search_result_archive(s);
    size_t cells, filled = 0;
    double offset, sum = 0;
    qd_archive_stats st;
    row->truth_qd_score = row->truth_coverage = row->truth_all_qd_score = row->truth_all_coverage = NAN;
    if (!s->truth_all)
        return QD_OK;
    if (row->iteration != 1 && row->iteration % (uint64_t)s->truth_every != 0 && row->iteration != s->iterations &&
        !qdi_search_stopped(s))
        goto all;
    cells = qd_archive_cells(s->truth_all);
    offset = qd_archive_qd_score_offset(s->truth_all);
    for (size_t c = 0; c < cells; c++)
        s->truth_best[c] = NAN;
    for (size_t i = 0; i < qd_archive_filled(res); i++) {
        qd_elite e;
        size_t cell;
        qd_archive_elite_at(res, i, &e);
        qd_solution sol = {.x = (double *)e.x, .n = e.n, .text = (char *)e.text, .objective = e.objective,
                           .measures = (double *)e.measures, .m = e.m};
        if (truth_of(s, &sol) || qd_archive_find(s->truth_all, s->truth_g, &cell) != QD_OK)
            return QD_EINVAL;
        if (isnan(s->truth_best[cell]) || e.objective > s->truth_best[cell])
            s->truth_best[cell] = e.objective;
    }
    for (size_t c = 0; c < cells; c++)
        if (!isnan(s->truth_best[c])) {
            filled++;
            sum += s->truth_best[c] - offset;
        }
    row->truth_qd_score = sum / (double)cells;
    row->truth_coverage = (double)filled / (double)cells;
all:
    if (s->async) /* qdi_truth_observe sees batch iterations only */
        return QD_OK;
    qd_archive_stats_get(s->truth_all, &st);
    row->truth_all_qd_score = st.norm_qd_score;
    row->truth_all_coverage = st.coverage;
    return QD_OK;
}
