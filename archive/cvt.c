/* cvt.c - the CVT tessellation: cells are the Voronoi regions of k centroids,
 * and a measure vector belongs to the cell of its nearest centroid
 * (Vassiliades, Chatzilygeroudis & Mouret 2018, "Using Centroidal Voronoi
 * Tessellations to Scale Up the Multidimensional Archive of Phenotypic
 * Elites Algorithm"; pyribs' CVTArchive).
 *
 * The centroids come, in this order of precedence, from "centroids" (an
 * explicit list; this is also how a saved archive reloads, since describe
 * writes them into archive.json), from "centroids_file" (JSON or CSV), or
 * from Lloyd's k-means over "samples" points drawn uniformly in "ranges"
 * with a GSL mt19937 seeded from "seed": the initial centroids are the first
 * k samples (which are k uniform random points, like pyribs' init="random"),
 * each step assigns every sample to its nearest centroid and moves each
 * centroid to the mean of its samples; a centroid with no samples stays
 * where it is. It stops after "kmeans_iterations" steps or as soon as no
 * sample changes cell (a fixed point). Everything is in a fixed order, so
 * the same config gives the same centroids bit for bit.
 *
 * Both the lookup and the k-means assignment use archive/kdtree.c, which is
 * exact (equal to a brute-force scan, ties to the lowest centroid index).
 * Saved centroids are written in the shortest form that reads back exactly
 * (cJSON's own number printer may drop the last bit).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"
#include "archive/kdtree.h"

#define MAX_CELLS ((size_t)1 << 31)
#define DEFAULT_SAMPLES 100000
/* An upper bound; Lloyd's usually stops earlier at a fixed point. Measured
 * on uniform samples in [0, 1]^m: with 10 samples per centroid (10,000 cells
 * from 100,000 samples, the CMA-MAE paper's CVT) it stops after 18 (5-D) to
 * 27 (2-D) steps, in 0.6 s (2-D) / 1.6 s (5-D); with 100 or 1,000 samples
 * per centroid it needs 90 to 180 steps, and after 100 the quantisation
 * error is within 0.01% of the fixed point's (after 10, within 6%). So 100
 * costs little where it is not needed and loses nothing measurable where it
 * stops short; scikit-learn's default of 300 would buy nothing here. */
#define DEFAULT_ITERATIONS 100

typedef struct cvt {
    size_t m, k;
    double *centroids; /* k * m, row-major, in cell order */
    qdi_kdtree tree;
} cvt;

static size_t cvt_find(const void *state, const double *measures)
{
    const cvt *c = state;
    return qdi_kdtree_nearest(&c->tree, measures, SIZE_MAX);
}

/* A short JSON rendering of a value for messages. */
static void show_value(const cJSON *item, char *buf, size_t len)
{
    char *s = cJSON_PrintUnformatted(item);
    snprintf(buf, len, "%s", s ? s : "(unprintable)");
    if (s && strlen(s) >= len && len > 4)
        strcpy(buf + len - 4, "...");
    free(s);
}

/* ---- ranges ------------------------------------------------------------- */

static int read_pair(qd_config *cfg, const char *key, const cJSON *pair, double *lo, double *hi)
{
    const cJSON *a = cJSON_GetArrayItem(pair, 0), *b = cJSON_GetArrayItem(pair, 1);
    char shown[80];
    if (!cJSON_IsArray(pair) || cJSON_GetArraySize(pair) != 2 || !cJSON_IsNumber(a) || !cJSON_IsNumber(b) ||
        !isfinite(a->valuedouble) || !isfinite(b->valuedouble)) {
        show_value(pair, shown, sizeof shown);
        return qd_config_fail(cfg, key, "must be [low, high] (two finite numbers), got %s", shown);
    }
    if (!(b->valuedouble > a->valuedouble))
        return qd_config_fail(cfg, key, "must be [low, high] with low < high, got [%g, %g]", a->valuedouble,
                              b->valuedouble);
    *lo = a->valuedouble;
    *hi = b->valuedouble;
    return QD_OK;
}

/* "ranges": one [low, high] per measure, or a single pair for all. When
 * absent, the evaluator's natural ranges are used (and written back); they
 * are required only when k-means needs them. lo and hi get m entries. */
static int read_ranges(qd_config *cfg, const qd_space *space, int needed, double *lo, double *hi)
{
    size_t m = space->measures;
    const cJSON *item, *e;
    char key[64], shown[80];
    if (!qd_config_has(cfg, "ranges")) {
        cJSON *all;
        for (size_t k = 0; k < m; k++) {
            lo[k] = space->measure_lower[k];
            hi[k] = space->measure_upper[k];
            if (!(isfinite(lo[k]) && isfinite(hi[k]) && hi[k] > lo[k]))
                return needed ? qd_config_fail(cfg, "ranges",
                                               "is required: the evaluator gives no natural range for %s",
                                               space->measure_names[k])
                              : QD_OK;
        }
        if (!(all = cJSON_AddArrayToObject(qd_config_json(cfg), "ranges")))
            return qd_config_fail(cfg, "ranges", "could not be set: out of memory");
        for (size_t k = 0; k < m; k++) {
            double pair[2] = {lo[k], hi[k]};
            cJSON *p = cJSON_CreateDoubleArray(pair, 2);
            if (!p)
                return qd_config_fail(cfg, "ranges", "could not be set: out of memory");
            cJSON_AddItemToArray(all, p);
        }
        return QD_OK;
    }
    item = cJSON_GetObjectItemCaseSensitive(qd_config_json(cfg), "ranges");
    if (!cJSON_IsArray(item)) {
        show_value(item, shown, sizeof shown);
        return qd_config_fail(cfg, "ranges", "must be an array of [low, high] pairs, got %s", shown);
    }
    if (cJSON_IsNumber(cJSON_GetArrayItem(item, 0))) { /* one pair for every measure */
        if (read_pair(cfg, "ranges", item, &lo[0], &hi[0]))
            return QD_EINVAL;
        for (size_t k = 1; k < m; k++) {
            lo[k] = lo[0];
            hi[k] = hi[0];
        }
        return QD_OK;
    }
    if ((size_t)cJSON_GetArraySize(item) != m)
        return qd_config_fail(cfg, "ranges", "must have %zu entries (one per measure of the evaluator), got %d", m,
                              cJSON_GetArraySize(item));
    size_t k = 0;
    cJSON_ArrayForEach(e, item) {
        snprintf(key, sizeof key, "ranges[%zu]", k);
        if (read_pair(cfg, key, e, &lo[k], &hi[k]))
            return QD_EINVAL;
        k++;
    }
    return QD_OK;
}

/* ---- explicit centroids ------------------------------------------------- */

/* Reads a JSON array of centroids, each an array of m finite numbers, into
 * a malloc'd k * m array (caller frees). On error, where gets the element
 * ("[3]", "[3][1]" or "") and why the message. */
static int read_list(const cJSON *list, size_t m, double **out, size_t *k, char *where, size_t wlen, char *why,
                     size_t ylen)
{
    const cJSON *c, *v;
    char shown[80];
    size_t i = 0;
    *out = NULL;
    *k = 0;
    where[0] = '\0';
    if (!cJSON_IsArray(list)) {
        show_value(list, shown, sizeof shown);
        snprintf(why, ylen, "must be an array of centroids (arrays of %zu numbers), got %s", m, shown);
        return QD_EINVAL;
    }
    if (cJSON_GetArraySize(list) == 0) {
        snprintf(why, ylen, "must not be empty");
        return QD_EINVAL;
    }
    if ((size_t)cJSON_GetArraySize(list) > MAX_CELLS) {
        snprintf(why, ylen, "holds more than %zu centroids", MAX_CELLS);
        return QD_EINVAL;
    }
    *k = (size_t)cJSON_GetArraySize(list);
    if (!(*out = malloc(*k * m * sizeof **out))) {
        snprintf(why, ylen, "could not be read: out of memory");
        return QD_ENOMEM;
    }
    cJSON_ArrayForEach(c, list) {
        size_t j = 0;
        if (!cJSON_IsArray(c) || (size_t)cJSON_GetArraySize(c) != m) {
            snprintf(where, wlen, "[%zu]", i);
            if (cJSON_IsArray(c))
                snprintf(why, ylen, "must have %zu numbers (one per measure), got %d", m, cJSON_GetArraySize(c));
            else {
                show_value(c, shown, sizeof shown);
                snprintf(why, ylen, "must be an array of %zu numbers (one per measure), got %s", m, shown);
            }
            goto fail;
        }
        cJSON_ArrayForEach(v, c) {
            if (!cJSON_IsNumber(v) || !isfinite(v->valuedouble)) {
                show_value(v, shown, sizeof shown);
                snprintf(where, wlen, "[%zu][%zu]", i, j);
                snprintf(why, ylen, "must be a finite number, got %s", shown);
                goto fail;
            }
            (*out)[i * m + j++] = v->valuedouble;
        }
        i++;
    }
    return QD_OK;
fail:
    free(*out);
    *out = NULL;
    *k = 0;
    return QD_EINVAL;
}

/* Parses CSV text: one centroid of m numbers per line; blank lines and
 * lines starting with '#' are skipped, and so is a first line that does not
 * start with a number (a header). Same out / error contract as read_list. */
static int read_csv(const char *text, size_t m, double **out, size_t *k, char *where, size_t wlen, char *why,
                    size_t ylen)
{
    size_t cap = 0, line = 0;
    int first = 1;
    *out = NULL;
    *k = 0;
    where[0] = '\0';
    for (const char *p = text; *p;) {
        const char *end = p + strcspn(p, "\n");
        const char *s = p + strspn(p, " \t\r");
        line++;
        if (s < end && *s != '#') {
            char *next;
            errno = 0;
            (void)strtod(s, &next);
            if (first && next == s) { /* a header */
                first = 0;
                p = *end ? end + 1 : end;
                continue;
            }
            first = 0;
            if (*k == cap) {
                size_t ncap = cap ? cap * 2 : 1024;
                double *nb = ncap <= MAX_CELLS ? realloc(*out, ncap * m * sizeof *nb) : NULL;
                if (!nb) {
                    snprintf(why, ylen, "could not be read: out of memory");
                    goto fail;
                }
                *out = nb;
                cap = ncap;
            }
            for (size_t j = 0; j < m; j++) {
                double v = 0;
                s += strspn(s, " \t\r");
                if (s < end)
                    v = strtod(s, &next);
                if (s >= end || next == s || next > end || !isfinite(v)) {
                    snprintf(where, wlen, "line %zu", line);
                    snprintf(why, ylen, "must hold %zu finite numbers separated by commas (one per measure)", m);
                    goto fail;
                }
                (*out)[*k * m + j] = v;
                s = next + strspn(next, " \t\r");
                if (j + 1 < m) {
                    if (*s != ',') {
                        snprintf(where, wlen, "line %zu", line);
                        snprintf(why, ylen, "must have %zu numbers (one per measure), got %zu", m, j + 1);
                        goto fail;
                    }
                    s++;
                }
            }
            if (s < end) {
                snprintf(where, wlen, "line %zu", line);
                snprintf(why, ylen, "must have %zu numbers (one per measure), got more", m);
                goto fail;
            }
            ++*k;
        }
        p = *end ? end + 1 : end;
    }
    if (*k == 0) {
        snprintf(why, ylen, "holds no centroids");
        goto fail;
    }
    return QD_OK;
fail:
    free(*out);
    *out = NULL;
    *k = 0;
    return QD_EINVAL;
}

/* Reads "centroids_file": a JSON array of centroids, a JSON object with a
 * "centroids" array, or a saved archive.json (its "archive" object's
 * centroids); anything else is read as CSV. */
static int read_file(qd_config *cfg, const char *path, size_t m, double **out, size_t *k)
{
    char *text = NULL, err[512], where[64], why[256];
    const char *s;
    cJSON *doc = NULL;
    int rc;
    if (qdi_read_file(path, &text, NULL, err, sizeof err))
        return qd_config_fail(cfg, "centroids_file", "cannot be read: %s", err);
    s = text + strspn(text, " \t\r\n");
    if (*s == '[' || *s == '{') {
        const cJSON *list;
        if (!(doc = cJSON_Parse(s))) {
            free(text);
            return qd_config_fail(cfg, "centroids_file", "\"%s\" is not valid JSON", path);
        }
        list = doc;
        if (cJSON_IsObject(doc)) {
            const cJSON *archive = cJSON_GetObjectItemCaseSensitive(doc, "archive");
            list = cJSON_GetObjectItemCaseSensitive(cJSON_IsObject(archive) ? archive : doc, "centroids");
        }
        rc = read_list(list, m, out, k, where, sizeof where, why, sizeof why);
        if (rc && !list)
            snprintf(why, sizeof why, "holds no \"centroids\" array");
    } else {
        rc = read_csv(s, m, out, k, where, sizeof where, why, sizeof why);
    }
    cJSON_Delete(doc);
    free(text);
    if (rc)
        return qd_config_fail(cfg, "centroids_file", "\"%s\"%s%s %s", path, where[0] ? " at " : "", where, why);
    return QD_OK;
}

static int read_centroids(qd_config *cfg, size_t m, double **out, size_t *k)
{
    cJSON *item = cJSON_GetObjectItemCaseSensitive(qd_config_json(cfg), "centroids"), *parsed = NULL;
    char where[64], why[256], key[96];
    int rc;
    if (cJSON_IsRaw(item)) /* a description built in memory (see cvt_describe) */
        item = parsed = cJSON_Parse(item->valuestring);
    rc = read_list(item, m, out, k, where, sizeof where, why, sizeof why);
    cJSON_Delete(parsed);
    if (rc) {
        snprintf(key, sizeof key, "centroids%s", where);
        return qd_config_fail(cfg, key, "%s", why);
    }
    return QD_OK;
}

/* ---- k-means ------------------------------------------------------------ */

/* A uniform double in [0, 1) with 53 random bits from two 32-bit mt19937
 * outputs (genrand_res53), so 100,000 samples do not collide in 1-D as
 * gsl_rng_uniform's 32 bits would. */
static double uniform53(gsl_rng *rng)
{
    unsigned long a = gsl_rng_get(rng) >> 5, b = gsl_rng_get(rng) >> 6;
    return ((double)a * 67108864.0 + (double)b) * (1.0 / 9007199254740992.0);
}

/* Lloyd's algorithm; fills c->centroids (k * m, allocated). */
static int kmeans(cvt *c, size_t samples, long iterations, uint64_t seed, const double *lo, const double *hi)
{
    size_t m = c->m, k = c->k;
    double *x = malloc(samples * m * sizeof *x), *sum = malloc(k * m * sizeof *sum);
    size_t *cell = malloc(samples * sizeof *cell), *count = malloc(k * sizeof *count);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    int rc = QD_ENOMEM;
    if (samples > SIZE_MAX / sizeof *x / m || !x || !sum || !cell || !count || !rng)
        goto done;
    qdi_rng_seed(rng, qdi_seed_mix(seed, 0));
    for (size_t i = 0; i < samples; i++)
        for (size_t d = 0; d < m; d++)
            x[i * m + d] = lo[d] + (hi[d] - lo[d]) * uniform53(rng);
    memcpy(c->centroids, x, k * m * sizeof *x);
    for (size_t i = 0; i < samples; i++)
        cell[i] = SIZE_MAX;
    for (long it = 0; it < iterations; it++) {
        size_t changed = 0;
        qdi_kdtree_build(&c->tree, c->centroids);
        for (size_t i = 0; i < samples; i++) {
            size_t j = qdi_kdtree_nearest(&c->tree, x + i * m, cell[i]);
            changed += j != cell[i];
            cell[i] = j;
        }
        if (!changed)
            break;
        memset(sum, 0, k * m * sizeof *sum);
        memset(count, 0, k * sizeof *count);
        for (size_t i = 0; i < samples; i++) {
            count[cell[i]]++;
            for (size_t d = 0; d < m; d++)
                sum[cell[i] * m + d] += x[i * m + d];
        }
        for (size_t j = 0; j < k; j++) /* an empty cluster keeps its centroid */
            for (size_t d = 0; count[j] && d < m; d++)
                c->centroids[j * m + d] = sum[j * m + d] / (double)count[j];
    }
    rc = QD_OK;
done:
    gsl_rng_free(rng);
    free(x);
    free(sum);
    free(cell);
    free(count);
    return rc;
}

/* ---- the archive type --------------------------------------------------- */

/* Reads samples, kmeans_iterations and seed: with defaults written back
 * when k-means runs, only checked when present otherwise. */
static int read_kmeans_fields(qd_config *cfg, int run, size_t k, long *samples, long *iterations, long *seed)
{
    *samples = DEFAULT_SAMPLES;
    *iterations = DEFAULT_ITERATIONS;
    *seed = 0;
    if ((run || qd_config_has(cfg, "samples")) && qd_config_int(cfg, "samples", samples, ">= 1"))
        return QD_EINVAL;
    if ((run || qd_config_has(cfg, "kmeans_iterations")) &&
        qd_config_int(cfg, "kmeans_iterations", iterations, ">= 0"))
        return QD_EINVAL;
    if ((run || qd_config_has(cfg, "seed")) && qd_config_int(cfg, "seed", seed, ">= 0"))
        return QD_EINVAL;
    if (run && (size_t)*samples < k)
        return qd_config_fail(cfg, "samples", "must be >= cells (%zu), got %ld", k, *samples);
    long max_samples = QDI_DEFAULT_MAX_SAMPLES;
    if ((run || qd_config_has(cfg, "max_samples")) && qd_config_int(cfg, "max_samples", &max_samples, ">= 1"))
        return QD_EINVAL;
    if (run) {
        /* k-means draws samples x measures numbers and runs cells x samples
         * work per pass: both bounded before anything is allocated */
        if (*samples > max_samples)
            return qd_config_fail(cfg, "samples", "is %ld, more than archive.max_samples (%ld) allows; raise it if the "
                                  "memory and time are there", *samples, max_samples);
    }
    return QD_OK;
}

/* Explicit centroids must be distinct: a repeated one would be a cell that
 * no measure vector can reach. The tree finds each centroid's first copy. */
static int check_distinct(qd_config *cfg, const cvt *c, const char *file)
{
    for (size_t i = 0; i < c->k; i++) {
        size_t j = qdi_kdtree_nearest(&c->tree, c->centroids + i * c->m, i);
        char key[64];
        if (j == i)
            continue;
        if (file)
            return qd_config_fail(cfg, "centroids_file", "\"%s\" repeats centroid %zu as centroid %zu", file, j, i);
        snprintf(key, sizeof key, "centroids[%zu]", i);
        return qd_config_fail(cfg, key, "repeats centroids[%zu]", j);
    }
    return QD_OK;
}

/* Explicit centroids, from "centroids" or (file not NULL) "centroids_file":
 * their count must match cells when given (want > 0) and becomes cells when
 * not; the k-means fields are then unused, only checked. */
static int read_explicit(cvt *c, qd_config *cfg, const char *file, long want)
{
    long samples, iterations, seed;
    if (file ? read_file(cfg, file, c->m, &c->centroids, &c->k) : read_centroids(cfg, c->m, &c->centroids, &c->k))
        return QD_EINVAL;
    if (want && (size_t)want != c->k) {
        if (file)
            return qd_config_fail(cfg, "centroids_file", "\"%s\" holds %zu centroids but cells is %ld", file, c->k,
                                  want);
        return qd_config_fail(cfg, "centroids", "must have %ld entries (one per cell), got %zu", want, c->k);
    }
    want = (long)c->k;
    if (qd_config_int(cfg, "cells", &want, ">= 1")) /* writes cells back when absent */
        return QD_EINVAL;
    return read_kmeans_fields(cfg, 0, c->k, &samples, &iterations, &seed);
}

static int cvt_init(void *state, qd_config *cfg, const qd_space *space, size_t *cells)
{
    cvt *c = state;
    int has_list = qd_config_has(cfg, "centroids"), explicit = has_list || qd_config_has(cfg, "centroids_file");
    const char *file = NULL;
    long want = 0, samples, iterations, seed, max_cells = QDI_DEFAULT_MAX_CELLS;
    double *lo = malloc(space->measures * sizeof *lo), *hi = malloc(space->measures * sizeof *hi);
    int rc = QD_EINVAL;
    c->m = space->measures;
    if (!lo || !hi) {
        qd_config_fail(cfg, "ranges", "could not be read: out of memory");
        goto done;
    }
    if ((!explicit && qd_config_require(cfg, "cells")) ||
        (qd_config_has(cfg, "cells") && qd_config_int(cfg, "cells", &want, ">= 1")))
        goto done;
    if (qd_config_int(cfg, "max_cells", &max_cells, ">= 1 <= 2147483648"))
        goto done;
    if (want > max_cells) {
        qd_config_fail(cfg, "cells", "is %ld, more than archive.max_cells (%ld) allows; raise it if the memory "
                       "is there", want, max_cells);
        goto done;
    }
    if (read_ranges(cfg, space, !explicit, lo, hi) || qd_config_string(cfg, "centroids_file", &file))
        goto done;
    if (explicit ? read_explicit(c, cfg, has_list ? NULL : file, want)
                 : read_kmeans_fields(cfg, 1, (size_t)want, &samples, &iterations, &seed))
        goto done;
    if (!explicit) {
        c->k = (size_t)want;
        c->centroids = malloc(c->k * c->m * sizeof *c->centroids);
    }
    if (!c->centroids || qdi_kdtree_init(&c->tree, c->k, c->m)) {
        qd_config_fail(cfg, "cells", "could not be set up: out of memory for %zu centroids", c->k);
        goto done;
    }
    if (!explicit && kmeans(c, (size_t)samples, iterations, (uint64_t)seed, lo, hi)) {
        qd_config_fail(cfg, "samples", "could not be drawn: out of memory for %ld samples", samples);
        goto done;
    }
    qdi_kdtree_build(&c->tree, c->centroids);
    if (explicit && check_distinct(cfg, c, has_list ? NULL : file))
        goto done;
    *cells = c->k;
    rc = QD_OK;
done:
    free(lo);
    free(hi);
    return rc;
}

/* Adds "centroids" in the shortest decimal form that reads back exactly, one
 * centroid per line, as a raw JSON item (cJSON's printer is not exact). */
static int cvt_describe(const void *state, cJSON *out)
{
    const cvt *c = state;
    size_t cap = c->k * (c->m * 26 + 8) + 8, n = 0;
    char *text = malloc(cap), num[32];
    cJSON *raw;
    if (!text)
        return QD_ENOMEM;
    text[n++] = '[';
    for (size_t i = 0; i < c->k; i++) {
        n += (size_t)snprintf(text + n, cap - n, "%s[", i ? ",\n\t\t" : "");
        for (size_t d = 0; d < c->m; d++)
            n += (size_t)snprintf(text + n, cap - n, "%s%s", d ? ", " : "",
                                  qdi_format_double(num, c->centroids[i * c->m + d]));
        text[n++] = ']';
    }
    text[n++] = ']';
    text[n] = '\0';
    raw = cJSON_CreateRaw(text);
    free(text);
    if (!raw)
        return QD_ENOMEM;
    cJSON_DeleteItemFromObjectCaseSensitive(out, "centroids");
    cJSON_AddItemToObject(out, "centroids", raw);
    return QD_OK;
}

static void cvt_fini(void *state)
{
    cvt *c = state;
    qdi_kdtree_free(&c->tree);
    free(c->centroids);
}

const qd_archive_type qdi_archive_cvt = {
    .name = "cvt",
    .state_size = sizeof(cvt),
    .init = cvt_init,
    .find = cvt_find,
    .coords = NULL,
    .describe = cvt_describe,
    .fini = cvt_fini,
};
