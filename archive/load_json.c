/* load_json.c - rebuilds an archive from archive.json: the "archive" object
 * is read as an archive config (so the same validation applies), then every
 * elite is restored into its saved cell with its threshold. Errors name the
 * file and the element. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"

/* The axis labels and objective range archive.c's describe wrote (an
 * entry that is not of that form is ignored: they only label drawings). */
static void labels_from(const cJSON *desc, qd_space *space)
{
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(desc, "measure_labels");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(desc, "objective_range");
    if (cJSON_GetArraySize(range) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(range, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(range, 1))) {
        space->objective_min = cJSON_GetArrayItem(range, 0)->valuedouble;
        space->objective_max = cJSON_GetArrayItem(range, 1)->valuedouble;
    }
    for (size_t k = 0; cJSON_IsArray(all) && k < space->measures; k++) {
        const cJSON *one = cJSON_GetArrayItem(all, (int)k), *cats = cJSON_GetObjectItemCaseSensitive(one, "categories");
        const cJSON *low = cJSON_GetObjectItemCaseSensitive(one, "low"), *high = cJSON_GetObjectItemCaseSensitive(one, "high");
        if (cJSON_IsArray(cats) && cJSON_GetArraySize(cats) >= 1 && cJSON_GetArraySize(cats) <= 4096) {
            size_t n = (size_t)cJSON_GetArraySize(cats);
            const char **l = calloc(n, sizeof *l);
            int ok = l != NULL;
            for (size_t j = 0; ok && j < n; j++) {
                const cJSON *c = cJSON_GetArrayItem(cats, (int)j);
                ok = cJSON_IsString(c);
                if (ok)
                    l[j] = c->valuestring;
            }
            if (ok)
                qd_space_set_measure_labels(space, k, l, n, 1);
            free(l);
        } else if (cJSON_IsString(low) && cJSON_IsString(high)) {
            const char *l[2] = {low->valuestring, high->valuestring};
            qd_space_set_measure_labels(space, k, l, 2, 0);
        }
    }
}

/* The largest sizes a loaded archive may give (far above any search's:
 * the space's arrays are made from them before anything else is read). */
#define MAX_SOLUTION_DIM 10000000
#define MAX_MEASURE_DIM 10000

static int space_from(const cJSON *desc, qd_space *space, const char *path, char *err, size_t errlen)
{
    const cJSON *genome = cJSON_GetObjectItemCaseSensitive(desc, "genome");
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(desc, "solution_dim");
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(desc, "measure_dim");
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(desc, "measure_names");
    qd_genome_kind kind;
    char num[32];
    if (!cJSON_IsString(genome) || !cJSON_IsNumber(dim) || !cJSON_IsNumber(m)) {
        qdi_set_error(err, errlen, "%s: archive must give genome, solution_dim and measure_dim", path);
        return QD_EFORMAT;
    }
    /* checked before they become sizes (a cast of 3e120 is undefined; found
     * by the fuzzer) and before the space's arrays are made */
    if (!qdi_json_is_whole(dim, 0, MAX_SOLUTION_DIM)) {
        qdi_set_error(err, errlen, "%s: archive.solution_dim is %s, not a whole number from 0 to %d", path,
                      qdi_format_double(num, dim->valuedouble), MAX_SOLUTION_DIM);
        return QD_EFORMAT;
    }
    if (!qdi_json_is_whole(m, 1, MAX_MEASURE_DIM)) {
        qdi_set_error(err, errlen, "%s: archive.measure_dim is %s, not a whole number from 1 to %d", path,
                      qdi_format_double(num, m->valuedouble), MAX_MEASURE_DIM);
        return QD_EFORMAT;
    }
    if (strcmp(genome->valuestring, "real") == 0)
        kind = QD_GENOME_REAL;
    else if (strcmp(genome->valuestring, "text") == 0)
        kind = QD_GENOME_TEXT;
    else {
        qdi_set_error(err, errlen, "%s: archive.genome must be \"real\" or \"text\", got \"%s\"", path,
                      genome->valuestring);
        return QD_EFORMAT;
    }
    if (qd_space_init(space, kind, (size_t)dim->valuedouble, (size_t)m->valuedouble)) {
        qdi_set_error(err, errlen, "%s: out of memory", path);
        return QD_ENOMEM;
    }
    if (cJSON_IsArray(names))
        for (size_t i = 0; i < space->measures; i++) {
            const cJSON *n = cJSON_GetArrayItem(names, (int)i);
            if (cJSON_IsString(n))
                qd_space_set_measure_name(space, i, n->valuestring);
        }
    labels_from(desc, space);
    return QD_OK;
}

static char *json_field_text(const cJSON *v)
{
    if (!v)
        return NULL;
    if (cJSON_IsString(v))
        return strdup(v->valuestring);
    return cJSON_PrintUnformatted(v);
}

static int restore_elite(qd_archive *a, const cJSON *e, size_t i, double *x, double *meas, const char *path,
                         char *err, size_t errlen)
{
    const cJSON *index = cJSON_GetObjectItemCaseSensitive(e, "index");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(e, "objective");
    const cJSON *thr = cJSON_GetObjectItemCaseSensitive(e, "threshold");
    const cJSON *text = cJSON_GetObjectItemCaseSensitive(e, "text");
    qd_solution sol = {0};
    double threshold = 0;
    int rc;
    if (!qdi_json_is_whole(index, 0, QDI_JSON_COUNT_MAX)) { /* the cast below defined; restore checks the range */
        qdi_set_error(err, errlen, "%s: elites[%zu].index must be a cell number", path, i);
        return QD_EFORMAT;
    }
    /* numbers as the writer gives them: a non-finite one is the string
     * "nan", "inf" or "-inf" (archive/elite_text.c) */
    if (qdi_json_get_double(obj, &sol.objective)) {
        qdi_set_error(err, errlen, "%s: elites[%zu].objective must be a number", path, i);
        return QD_EFORMAT;
    }
    if (thr && qdi_json_get_double(thr, &threshold)) {
        qdi_set_error(err, errlen, "%s: elites[%zu].threshold must be a number", path, i);
        return QD_EFORMAT;
    }
    if (qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(e, "measures"), meas, a->m)) {
        qdi_set_error(err, errlen, "%s: elites[%zu].measures must be %zu numbers", path, i, a->m);
        return QD_EFORMAT;
    }
    sol.measures = meas;
    sol.m = a->m;
    if (a->kind == QD_GENOME_REAL) {
        if (qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(e, "solution"), x, a->dim)) {
            qdi_set_error(err, errlen, "%s: elites[%zu].solution must be %zu numbers", path, i, a->dim);
            return QD_EFORMAT;
        }
        sol.x = x;
        sol.n = a->dim;
    } else if (!cJSON_IsString(text)) {
        qdi_set_error(err, errlen, "%s: elites[%zu].text must be a string", path, i);
        return QD_EFORMAT;
    } else {
        sol.text = text->valuestring; /* borrowed: store() copies */
    }
    sol.meta = json_field_text(cJSON_GetObjectItemCaseSensitive(e, "meta"));
    sol.lineage = json_field_text(cJSON_GetObjectItemCaseSensitive(e, "lineage"));
    rc = qdi_archive_restore(a, (size_t)index->valuedouble, &sol, thr ? threshold : sol.objective);
    if (rc)
        qdi_set_error(err, errlen, "%s: elites[%zu]: %s", path, i, a->error);
    free(sol.meta);
    free(sol.lineage);
    return rc;
}

int qd_archive_load_json(const char *path, qd_archive **out, cJSON **top, char *err, size_t errlen)
{
    char *text = NULL;
    cJSON *doc = NULL;
    qd_config *cfg = NULL;
    qd_archive *a = NULL;
    qd_space space = {0};
    double *x = NULL, *meas = NULL;
    const cJSON *elites, *e, *desc, *format;
    size_t i = 0;
    int rc;
    *out = NULL;
    if (top)
        *top = NULL;
    if ((rc = qdi_read_file(path, &text, NULL, err, errlen)))
        return rc;
    doc = cJSON_Parse(text);
    free(text);
    rc = QD_EFORMAT;
    if (!doc || !cJSON_IsObject(doc)) {
        qdi_set_error(err, errlen, "%s: not a JSON object (truncated or not an archive.json?)", path);
        goto done;
    }
    format = cJSON_GetObjectItemCaseSensitive(doc, "format");
    if (!cJSON_IsString(format) || strcmp(format->valuestring, "elites-archive") != 0) {
        qdi_set_error(err, errlen, "%s: not an elites archive (no \"format\": \"elites-archive\")", path);
        goto done;
    }
    desc = cJSON_GetObjectItemCaseSensitive(doc, "archive");
    elites = cJSON_GetObjectItemCaseSensitive(doc, "elites");
    if (!cJSON_IsObject(desc) || !cJSON_IsArray(elites)) {
        qdi_set_error(err, errlen, "%s: must hold an \"archive\" object and an \"elites\" array", path);
        goto done;
    }
    if ((rc = space_from(desc, &space, path, err, errlen)))
        goto done;
    if ((rc = qd_config_wrap(cJSON_Duplicate(desc, 1), path, &cfg))) {
        qdi_set_error(err, errlen, "%s: out of memory", path);
        goto done;
    }
    if ((rc = qd_archive_new(cfg, &space, &a))) {
        /* the message names the file; say the fields are under "archive" */
        qdi_set_error(err, errlen, "%s (in its \"archive\" object)", qd_config_error(cfg));
        rc = QD_EFORMAT;
        goto done;
    }
    x = malloc((space.dim + 1) * sizeof *x);
    meas = malloc(space.measures * sizeof *meas);
    if (!x || !meas) {
        rc = QD_ENOMEM;
        qdi_set_error(err, errlen, "%s: out of memory", path);
        goto done;
    }
    cJSON_ArrayForEach(e, elites) {
        if ((rc = restore_elite(a, e, i++, x, meas, path, err, errlen)))
            goto done;
    }
    *out = a;
    a = NULL;
    if (top) {
        *top = doc;
        doc = NULL;
    }
    rc = QD_OK;
done:
    free(x);
    free(meas);
    qd_archive_free(a);
    qd_config_free(cfg);
    qd_space_free(&space);
    cJSON_Delete(doc);
    return rc;
}
