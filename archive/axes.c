/* axes.c - the names along an archive's measure axes, from its description
 * (archive.c writes "measure_names", "measure_labels" and "objective_range"
 * from the evaluator's space): a categorical axis names each unit interval
 * [j, j + 1) (QDAIF's genre: haiku, sonnet, ...), a probability axis names
 * its two ends (romance at 0, horror at 1). The heatmap, the report and
 * archive.csv all read them here, so they say the same thing. */
#include <math.h>
#include "archive/archive_internal.h"

const char *qdi_axis_name(const qd_archive *a, size_t k)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(a->description, "measure_names");
    const cJSON *n = cJSON_GetArrayItem(names, (int)k);
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

static const cJSON *labels(const qd_archive *a, size_t k)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(a->description, "measure_labels"), (int)k);
}

size_t qdi_axis_categories(const qd_archive *a, size_t k)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(labels(a, k), "categories");
    return cJSON_IsArray(c) ? (size_t)cJSON_GetArraySize(c) : 0;
}

const char *qdi_axis_category(const qd_archive *a, size_t k, double value)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(labels(a, k), "categories");
    if (!cJSON_IsArray(c) || !(value >= 0) || value >= (double)cJSON_GetArraySize(c))
        return NULL;
    c = cJSON_GetArrayItem(c, (int)floor(value));
    return cJSON_IsString(c) ? c->valuestring : NULL;
}

int qdi_axis_ends(const qd_archive *a, size_t k, const char **low, const char **high)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(labels(a, k), "low");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(labels(a, k), "high");
    if (!cJSON_IsString(l) || !cJSON_IsString(h))
        return 0;
    *low = l->valuestring;
    *high = h->valuestring;
    return 1;
}

int qdi_objective_range(const qd_archive *a, double *lo, double *hi)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(a->description, "objective_range");
    const cJSON *l = cJSON_GetArrayItem(r, 0), *h = cJSON_GetArrayItem(r, 1);
    if (!cJSON_IsNumber(l) || !cJSON_IsNumber(h) || !(l->valuedouble < h->valuedouble))
        return 0;
    *lo = l->valuedouble;
    *hi = h->valuedouble;
    return 1;
}
