/* population.c - the LLM mutator's own population for the QDAIF paper's
 * baselines (Bradley et al. 2023, "Quality-Diversity through AI
 * Feedback"): "lmx-quality" keeps the best texts by quality alone (a
 * single-objective LMX; the archive only measures what it finds), "nsaif"
 * keeps a novelty archive in the space of the AI-feedback measures (novelty
 * search, Lehman and Stanley 2011: a text joins when the mean distance from
 * its measures to its k nearest members reaches a threshold). Distances
 * are Euclidean in units of each measure's range. Members are told in job
 * order on the main thread, so a batch run stays reproducible. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "population.h"

int qdi_population_init(qdi_population *p, int kind, size_t m, const double *lower, const double *upper, size_t limit,
                        size_t k, double threshold)
{
    memset(p, 0, sizeof *p);
    p->kind = kind;
    p->m = m;
    p->limit = limit;
    p->k = k;
    p->threshold = threshold;
    p->lower = malloc((m ? m : 1) * sizeof *p->lower);
    p->upper = malloc((m ? m : 1) * sizeof *p->upper);
    p->texts = calloc(limit ? limit : 1, sizeof *p->texts);
    p->objective = malloc((limit ? limit : 1) * sizeof *p->objective);
    p->measures = malloc((limit ? limit : 1) * (m ? m : 1) * sizeof *p->measures);
    if (!p->lower || !p->upper || !p->texts || !p->objective || !p->measures) {
        qdi_population_fini(p);
        return QD_ENOMEM;
    }
    for (size_t d = 0; d < m; d++) {
        p->lower[d] = lower[d];
        p->upper[d] = upper[d];
    }
    return QD_OK;
}

void qdi_population_fini(qdi_population *p)
{
    for (size_t i = 0; p->texts && i < p->n; i++)
        free(p->texts[i]);
    free(p->texts);
    free(p->objective);
    free(p->measures);
    free(p->lower);
    free(p->upper);
    memset(p, 0, sizeof *p);
}

static double distance(const qdi_population *p, const double *a, const double *b)
{
    double d2 = 0;
    for (size_t d = 0; d < p->m; d++) {
        double range = p->upper[d] - p->lower[d];
        double x = (a[d] - b[d]) / (range > 0 && isfinite(range) ? range : 1.0);
        d2 += x * x;
    }
    return sqrt(d2);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double qdi_population_novelty(const qdi_population *p, const double *measures)
{
    double *d, sum = 0;
    size_t k = p->k < p->n ? p->k : p->n;
    if (p->n == 0 || k == 0)
        return INFINITY;
    if (!(d = malloc(p->n * sizeof *d)))
        return NAN;
    for (size_t i = 0; i < p->n; i++)
        d[i] = distance(p, measures, p->measures + i * p->m);
    qsort(d, p->n, sizeof *d, cmp_double);
    for (size_t i = 0; i < k; i++)
        sum += d[i];
    free(d);
    return sum / (double)k;
}

static int put(qdi_population *p, size_t at, const char *text, double objective, const double *measures)
{
    char *copy = strdup(text);
    if (!copy)
        return QD_ENOMEM;
    if (at < p->n)
        free(p->texts[at]);
    else
        p->n++;
    p->texts[at] = copy;
    p->objective[at] = objective;
    memcpy(p->measures + at * p->m, measures, p->m * sizeof *measures);
    return 1;
}

int qdi_population_offer(qdi_population *p, const char *text, double objective, const double *measures)
{
    if (p->kind == QDI_POP_QUALITY) {
        size_t worst = 0;
        if (p->n < p->limit)
            return put(p, p->n, text, objective, measures);
        for (size_t i = 1; i < p->n; i++)
            if (p->objective[i] < p->objective[worst])
                worst = i;
        return p->n && objective > p->objective[worst] ? put(p, worst, text, objective, measures) : 0;
    }
    if (p->n >= p->limit)
        return 0;
    if (p->n < p->k || qdi_population_novelty(p, measures) >= p->threshold)
        return put(p, p->n, text, objective, measures);
    return 0;
}

int qdi_population_save(const qdi_population *p, cJSON *out)
{
    cJSON *list = cJSON_AddArrayToObject(out, "population");
    for (size_t i = 0; list && i < p->n; i++) {
        cJSON *e = cJSON_CreateObject(), *ms;
        if (!e)
            return QD_ENOMEM;
        cJSON_AddItemToArray(list, e);
        cJSON_AddStringToObject(e, "text", p->texts[i]);
        cJSON_AddItemToObject(e, "objective", qdi_json_double(p->objective[i]));
        if (!(ms = cJSON_AddArrayToObject(e, "measures")))
            return QD_ENOMEM;
        for (size_t d = 0; d < p->m; d++)
            cJSON_AddItemToArray(ms, qdi_json_double(p->measures[i * p->m + d]));
    }
    return list ? QD_OK : QD_ENOMEM;
}

int qdi_population_load(qdi_population *p, const cJSON *in)
{
    const cJSON *list = cJSON_GetObjectItemCaseSensitive(in, "population"), *e;
    double *ms = malloc((p->m ? p->m : 1) * sizeof *ms);
    int rc = QD_OK;
    if (!ms)
        return QD_ENOMEM;
    cJSON_ArrayForEach(e, list) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(e, "text");
        const cJSON *o = cJSON_GetObjectItemCaseSensitive(e, "objective");
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(e, "measures");
        if (!cJSON_IsString(t) || !cJSON_IsNumber(o) || cJSON_GetArraySize(v) != (int)p->m || p->n >= p->limit) {
            rc = QD_EFORMAT;
            break;
        }
        for (size_t d = 0; d < p->m; d++)
            ms[d] = cJSON_GetNumberValue(cJSON_GetArrayItem(v, (int)d));
        if (put(p, p->n, t->valuestring, o->valuedouble, ms) < 0) {
            rc = QD_ENOMEM;
            break;
        }
    }
    free(ms);
    return rc;
}
