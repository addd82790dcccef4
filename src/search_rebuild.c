/* search_rebuild.c - measures that change during a run. An evaluator with
 * an iterate hook (QDHF online: the projection is retrained on new
 * judgments at set iterations) may re-learn its measures before an
 * iteration; the loop then builds fresh archives over the evaluator's new
 * measure ranges (same tessellation config, ranges taken from the space)
 * and re-inserts every elite of the old ones with its measures recomputed
 * by the evaluator's remeasure hook, one at a time in the old archive's
 * order, so each new cell keeps the best elite that lands in it (the QDHF
 * authors' arm code rebuilds its archive the same way). The coverage
 * before and after goes into the coming iteration's metrics row. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "search_internal.h"

/* A fresh archive with a's tessellation over the evaluator's current
 * measure ranges ("range" dropped from each grid dimension). */
static int fresh_archive(qd_search *s, const qd_archive *a, qd_archive **out)
{
    cJSON *json = cJSON_Duplicate(qd_archive_description(a), 1), *dims, *d;
    qd_config *cfg = NULL;
    int rc;
    *out = NULL;
    if (!json)
        return QD_ENOMEM;
    dims = cJSON_GetObjectItemCaseSensitive(json, "dims");
    cJSON_ArrayForEach(d, dims) cJSON_DeleteItemFromObjectCaseSensitive(d, "range");
    if (qd_config_wrap(json, "rebuilt archive", &cfg) != QD_OK) {
        cJSON_Delete(json);
        return QD_ENOMEM;
    }
    if ((rc = qd_archive_new(cfg, &s->ev->space, out)) != QD_OK)
        qdi_set_error(s->error, sizeof s->error, "rebuilding the archive: %s", qd_config_error(cfg));
    qd_config_free(cfg);
    return rc;
}

/* Moves every elite of *a into a fresh archive under the new measures. */
static int rebuild(qd_search *s, qd_archive **a)
{
    qd_archive *fresh;
    size_t m = s->ev->space.measures;
    double *meas = malloc((m + 1) * sizeof *meas);
    int rc;
    if (!meas)
        return QD_ENOMEM;
    if ((rc = fresh_archive(s, *a, &fresh))) {
        free(meas);
        return rc;
    }
    for (size_t i = 0; i < qd_archive_filled(*a) && rc == QD_OK; i++) {
        qd_elite e;
        qd_add_result res;
        qd_archive_elite_at(*a, i, &e);
        qd_solution sol = {.x = (double *)e.x, .n = e.n, .text = (char *)e.text, .objective = e.objective,
                           .measures = meas, .m = m, .meta = (char *)e.meta, .lineage = (char *)e.lineage};
        s->ev->error[0] = '\0';
        if (s->ev->type->remeasure(s->ev, &sol, meas) != QD_OK) {
            qdi_set_error(s->error, sizeof s->error, "%s: re-measuring an elite failed: %s", s->ev->type->name,
                          s->ev->error);
            rc = QD_EINVAL;
        } else if (qd_archive_add(fresh, &sol, &res) != QD_OK) {
            qdi_set_error(s->error, sizeof s->error, "rebuilding the archive: %s", qd_archive_error(fresh));
            rc = QD_EINVAL;
        }
    }
    free(meas);
    if (rc) {
        qd_archive_free(fresh);
        return rc;
    }
    qd_archive_free(*a);
    *a = fresh;
    return QD_OK;
}

int qdi_search_relearn(qd_search *s)
{
    int changed = 0, rc;
    qd_archive_stats st;
    s->rebuild_before = s->rebuild_after = NAN;
    if (!s->ev->type->iterate)
        return QD_OK;
    s->ev->error[0] = '\0';
    if ((rc = s->ev->type->iterate(s->ev, s->archive, s->counts.iterations + 1, &changed)) != QD_OK) {
        qdi_set_error(s->error, sizeof s->error, "%s: %s", s->ev->type->name,
                      s->ev->error[0] ? s->ev->error : qd_strerror(rc));
        return rc;
    }
    if (!changed)
        return QD_OK;
    qd_archive_stats_get(qd_search_result_archive(s), &st);
    s->rebuild_before = st.coverage;
    if ((rc = rebuild(s, &s->archive)) || (s->result && (rc = rebuild(s, &s->result)))) {
        if (rc == QD_ENOMEM && !s->error[0])
            qdi_set_error(s->error, sizeof s->error, "rebuilding the archive: out of memory");
        return rc;
    }
    qd_archive_stats_get(qd_search_result_archive(s), &st);
    s->rebuild_after = st.coverage;
    return QD_OK;
}
