/* test_cvt.c - the CVT archive: nearest-centroid lookup against a brute-force
 * scan (2-D and 5-D, points outside the ranges, exact ties), k-means
 * determinism, explicit and file centroids, save/load round trips that keep
 * the centroids bit for bit, config errors, and add/sample/stats through the
 * generic archive. */
#include <math.h>
#include "testutil.h"

/* Not registered in src/registry.c yet; main registers it. */
extern const qd_archive_type qdi_archive_cvt;

/* A real-genome space with dim genes and m measures, no natural ranges. */
static qd_space space_of(size_t dim, size_t m)
{
    qd_space s;
    qd_space_init(&s, QD_GENOME_REAL, dim, m);
    return s;
}

static qd_archive *archive_from(const char *json, const qd_space *space, qd_config **keep)
{
    qd_config *c = qdt_config(json);
    qd_archive *a = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    if (qd_archive_new(c, space, &a) != QD_OK)
        fprintf(stderr, "archive_from: %s\n", qd_config_error(c));
    if (keep)
        *keep = c;
    else
        qd_config_free(c);
    return a;
}

/* The archive's centroids as saved in its description (malloc'd k * m). */
static double *centroids_of(const qd_archive *a, size_t *k)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(qd_archive_description(a), "centroids"), *c, *v;
    cJSON *list = cJSON_IsRaw(item) ? cJSON_Parse(item->valuestring) : NULL;
    size_t m = qd_archive_measure_dim(a), i = 0;
    double *out;
    *k = 0;
    if (!cJSON_IsArray(list)) {
        cJSON_Delete(list);
        return NULL;
    }
    out = malloc((size_t)cJSON_GetArraySize(list) * m * sizeof *out);
    cJSON_ArrayForEach(c, list) {
        size_t j = 0;
        cJSON_ArrayForEach(v, c) {
            if (j < m)
                out[i * m + j] = v->valuedouble;
            j++;
        }
        CU_ASSERT_EQUAL(j, m);
        i++;
    }
    *k = i;
    cJSON_Delete(list);
    return out;
}

/* The centroids' description text (exact: the shortest round-trip form). */
static const char *centroids_text(const qd_archive *a)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(qd_archive_description(a), "centroids");
    return cJSON_IsRaw(item) ? item->valuestring : "";
}

/* Brute force: the lowest index at the smallest squared distance. */
static size_t brute_nearest(const double *cent, size_t k, size_t m, const double *q)
{
    size_t best = 0;
    double best_dist = INFINITY;
    for (size_t i = 0; i < k; i++) {
        double s = 0;
        for (size_t d = 0; d < m; d++) {
            double diff = q[d] - cent[i * m + d];
            s += diff * diff;
        }
        if (s < best_dist) {
            best_dist = s;
            best = i;
        }
    }
    return best;
}

static void check_against_brute_force(size_t m, size_t cells)
{
    char json[256];
    qd_space sp = space_of(1, m);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double q[8];
    size_t k, wrong = 0;
    snprintf(json, sizeof json,
             "{\"type\": \"cvt\", \"cells\": %zu, \"ranges\": [-1, 1], \"samples\": %zu, \"kmeans_iterations\": 10}",
             cells, cells * 10);
    qd_archive *a = archive_from(json, &sp, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_cells(a), cells);
    double *cent = centroids_of(a, &k);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cent);
    CU_ASSERT_EQUAL_FATAL(k, cells);
    gsl_rng_set(rng, 42 + m);
    for (int i = 0; i < 10000; i++) {
        size_t cell = SIZE_MAX;
        for (size_t d = 0; d < m; d++) /* a third of [-1.5, 1.5] lies outside the ranges */
            q[d] = 3 * gsl_rng_uniform(rng) - 1.5;
        if (i % 10 == 0) /* and some far outside */
            q[i % m] *= 1000;
        CU_ASSERT_EQUAL(qd_archive_find(a, q, &cell), QD_OK);
        wrong += cell != brute_nearest(cent, k, m, q);
    }
    CU_ASSERT_EQUAL(wrong, 0);
    /* every centroid is the nearest to itself */
    for (size_t i = 0; i < k; i++) {
        size_t cell = SIZE_MAX;
        qd_archive_find(a, cent + i * m, &cell);
        wrong += cell != i;
    }
    CU_ASSERT_EQUAL(wrong, 0);
    free(cent);
    gsl_rng_free(rng);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_lookup_equals_brute_force_in_2d(void) { check_against_brute_force(2, 500); }
static void test_lookup_equals_brute_force_in_5d(void) { check_against_brute_force(5, 300); }

static void test_ties_go_to_the_lowest_centroid_index(void)
{
    /* a 10 x 10 integer lattice in a scrambled order: half-integer queries
     * are equidistant from 2 or 4 centroids */
    qd_space sp = space_of(1, 2);
    cJSON *list = cJSON_CreateArray(), *cfg = cJSON_CreateObject();
    double cent[200], q[2];
    size_t wrong = 0, ties = 0;
    for (size_t i = 0; i < 100; i++) {
        size_t p = (i * 37) % 100; /* 37 is prime to 100: a permutation */
        cent[2 * i] = (double)(p / 10);
        cent[2 * i + 1] = (double)(p % 10);
        cJSON_AddItemToArray(list, cJSON_CreateDoubleArray(cent + 2 * i, 2));
    }
    cJSON_AddStringToObject(cfg, "type", "cvt");
    cJSON_AddItemToObject(cfg, "centroids", list);
    char *json = cJSON_PrintUnformatted(cfg);
    qd_archive *a = archive_from(json, &sp, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_cells(a), 100);
    for (int x = -3; x <= 21; x++)
        for (int y = -3; y <= 21; y++) {
            size_t cell = SIZE_MAX;
            q[0] = x * 0.5;
            q[1] = y * 0.5;
            CU_ASSERT_EQUAL(qd_archive_find(a, q, &cell), QD_OK);
            wrong += cell != brute_nearest(cent, 100, 2, q);
            ties += (x & 1) || (y & 1);
        }
    CU_ASSERT_EQUAL(wrong, 0);
    CU_ASSERT(ties > 400);
    free(json);
    cJSON_Delete(cfg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

#define SMALL_2D "\"type\": \"cvt\", \"cells\": 200, \"ranges\": [[-1, 1], [0, 3]], \"samples\": 4000, " \
                 "\"kmeans_iterations\": 20"

static void test_same_config_gives_identical_centroids(void)
{
    qd_space sp = space_of(1, 2);
    qd_archive *a = archive_from("{" SMALL_2D "}", &sp, NULL);
    qd_archive *b = archive_from("{" SMALL_2D ", \"seed\": 0}", &sp, NULL);
    qd_archive *c = archive_from("{" SMALL_2D ", \"seed\": 1}", &sp, NULL);
    size_t k;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    /* the text is the shortest exact form: equal text = equal bits */
    CU_ASSERT(strlen(centroids_text(a)) > 1000);
    CU_ASSERT_STRING_EQUAL(centroids_text(a), centroids_text(b));
    CU_ASSERT(strcmp(centroids_text(a), centroids_text(c)) != 0);
    double *ca = centroids_of(a, &k);
    CU_ASSERT_EQUAL(k, 200);
    for (size_t i = 0; i < k; i++) { /* k-means kept them inside the box */
        CU_ASSERT(ca[2 * i] >= -1 && ca[2 * i] <= 1);
        CU_ASSERT(ca[2 * i + 1] >= 0 && ca[2 * i + 1] <= 3);
    }
    free(ca);
    qd_archive_free(a);
    qd_archive_free(b);
    qd_archive_free(c);
    qd_space_free(&sp);
}

static void test_defaults_are_written_back(void)
{
    qd_space sp = space_of(1, 1);
    qd_config *c;
    sp.measure_lower[0] = -2;
    sp.measure_upper[0] = 2;
    qd_archive *a = archive_from("{\"type\": \"cvt\", \"cells\": 3, \"samples\": 30}", &sp, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char *s = cJSON_PrintUnformatted(qd_config_json(c));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"ranges\":[[-2,2]]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"kmeans_iterations\":100"));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"seed\":0"));
    CU_ASSERT_PTR_NULL(strstr(s, "\"centroids\"")); /* the config echo stays small */
    free(s);
    /* the default sample count */
    qd_archive_free(a);
    qd_config_free(c);
    a = archive_from("{\"type\": \"cvt\", \"cells\": 3, \"kmeans_iterations\": 0}", &sp, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    s = cJSON_PrintUnformatted(qd_config_json(c));
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "\"samples\":100000"));
    free(s);
    qd_archive_free(a);
    qd_config_free(c);
    qd_space_free(&sp);
}

static void test_explicit_centroids_are_used_as_given(void)
{
    /* 0.1 + 0.2 = 0.30000000000000004 loses its last bit in cJSON's printer */
    static const double want[] = {0.30000000000000004, -1, 2.5, 1e-300, 5, 1.0000000000000002};
    qd_space sp = space_of(1, 2);
    qd_config *c;
    qd_archive *a = archive_from("{\"type\": \"cvt\", \"centroids\": [[0.30000000000000004, -1], [2.5, 1e-300], "
                                 "[5, 1.0000000000000002]]}",
                                 &sp, &c);
    double q[2] = {2.4, 0.1};
    size_t k, cell = SIZE_MAX;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_cells(a), 3);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(qd_config_json(c), "cells")->valuedouble, 3);
    /* no k-means, so no k-means defaults and no ranges needed */
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItemCaseSensitive(qd_config_json(c), "samples"));
    double *got = centroids_of(a, &k);
    CU_ASSERT_EQUAL_FATAL(k, 3);
    CU_ASSERT(memcmp(got, want, sizeof want) == 0);
    CU_ASSERT_EQUAL(qd_archive_find(a, q, &cell), QD_OK);
    CU_ASSERT_EQUAL(cell, 1);
    q[0] = 100;
    CU_ASSERT_EQUAL(qd_archive_find(a, q, &cell), QD_OK);
    CU_ASSERT_EQUAL(cell, 2);
    q[0] = NAN;
    CU_ASSERT_EQUAL(qd_archive_find(a, q, &cell), QD_EINVAL);
    free(got);
    qd_archive_free(a);
    qd_config_free(c);
    qd_space_free(&sp);
}

static void write_text(const char *path, const char *text)
{
    char err[256];
    CU_ASSERT_EQUAL(qdi_write_file_atomic(path, text, strlen(text), err, sizeof err), QD_OK);
}

static void test_centroids_file_json_and_csv(void)
{
    static const double want[] = {0, 0, 1, 0.5, -2, 3.25};
    char *dir = qdt_tmpdir(), path[600], json[800];
    qd_space sp = space_of(1, 2);
    size_t k;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    const char *files[][2] = {
        {"c.json", "[[0, 0], [1, 0.5], [-2, 3.25]]"},
        {"o.json", "{\"centroids\": [[0, 0], [1, 0.5], [-2, 3.25]]}"},
        {"a.json", "{\"archive\": {\"centroids\": [[0, 0], [1, 0.5], [-2, 3.25]]}}"},
        {"c.csv", "# centroids\nm0,m1\n0,0\n\n1, 0.5\r\n-2,3.25"},
        {"bare.csv", "0,0\n1,0.5\n-2,3.25\n"},
    };
    for (size_t f = 0; f < QDI_ARRAY_LEN(files); f++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[f][0]);
        write_text(path, files[f][1]);
        snprintf(json, sizeof json, "{\"type\": \"cvt\", \"cells\": 3, \"centroids_file\": \"%s\"}", path);
        qd_archive *a = archive_from(json, &sp, NULL);
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        double *got = centroids_of(a, &k);
        CU_ASSERT_EQUAL(k, 3);
        CU_ASSERT(k == 3 && memcmp(got, want, sizeof want) == 0);
        free(got);
        qd_archive_free(a);
    }
    /* a bad line is named */
    snprintf(path, sizeof path, "%s/bad.csv", dir);
    write_text(path, "0,0\n1,\n");
    snprintf(json, sizeof json, "{\"type\": \"cvt\", \"centroids_file\": \"%s\"}", path);
    qd_config *c = qdt_config(json);
    qd_archive *a = NULL;
    char msg[800];
    CU_ASSERT_EQUAL(qd_archive_new(c, &sp, &a), QD_EINVAL);
    snprintf(msg, sizeof msg,
             "test.json: centroids_file \"%s\" at line 2 must hold 2 finite numbers separated by commas (one per "
             "measure)",
             path);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), msg);
    qd_config_free(c);
    qdt_rmdir(dir);
    free(dir);
    qd_space_free(&sp);
}

static void add_random(qd_archive *a, gsl_rng *rng, int n)
{
    double x[3], meas[2];
    for (int i = 0; i < n; i++) {
        qd_solution s = {.x = x, .n = 3, .measures = meas, .m = 2};
        qd_add_result r;
        for (int j = 0; j < 3; j++)
            x[j] = gsl_rng_uniform(rng);
        meas[0] = 2.4 * gsl_rng_uniform(rng) - 1.2;
        meas[1] = 3.4 * gsl_rng_uniform(rng) - 0.2;
        s.objective = gsl_rng_uniform(rng) * 10 - 5;
        CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    }
}

static void test_save_and_load_keep_centroids_and_cells(void)
{
    qd_space sp = space_of(3, 2);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    char *dir = qdt_tmpdir(), p1[600], p2[600], err[512];
    qd_archive *a = archive_from("{" SMALL_2D ", \"seed\": 7}", &sp, NULL), *b = NULL;
    size_t ka, kb;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    add_random(a, rng, 500);
    CU_ASSERT(qd_archive_filled(a) > 100);
    snprintf(p1, sizeof p1, "%s/archive.json", dir);
    snprintf(p2, sizeof p2, "%s/again.json", dir);
    CU_ASSERT_EQUAL_FATAL(qd_archive_save_json(a, NULL, p1, err, sizeof err), QD_OK);
    if (qd_archive_load_json(p1, &b, NULL, err, sizeof err) != QD_OK)
        fprintf(stderr, "load: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* the centroids, bit for bit */
    double *ca = centroids_of(a, &ka), *cb = centroids_of(b, &kb);
    CU_ASSERT_EQUAL_FATAL(ka, 200);
    CU_ASSERT_EQUAL_FATAL(kb, 200);
    CU_ASSERT(memcmp(ca, cb, ka * 2 * sizeof *ca) == 0);
    CU_ASSERT_STRING_EQUAL(centroids_text(a), centroids_text(b));
    /* the elites, in the same cells */
    CU_ASSERT_EQUAL(qd_archive_filled(b), qd_archive_filled(a));
    for (size_t cell = 0; cell < qd_archive_cells(a); cell++) {
        qd_elite ea, eb;
        int ra = qd_archive_elite(a, cell, &ea), rb = qd_archive_elite(b, cell, &eb);
        CU_ASSERT_EQUAL(ra, rb);
        if (ra == QD_OK && rb == QD_OK) {
            CU_ASSERT_DOUBLE_EQUAL(ea.objective, eb.objective, 1e-12);
            CU_ASSERT_DOUBLE_EQUAL(ea.measures[1], eb.measures[1], 1e-12);
        }
    }
    /* the same lookups */
    for (int i = 0; i < 2000; i++) {
        double q[2] = {4 * gsl_rng_uniform(rng) - 2, 5 * gsl_rng_uniform(rng) - 1};
        size_t c1, c2;
        qd_archive_find(a, q, &c1);
        qd_archive_find(b, q, &c2);
        CU_ASSERT_EQUAL(c1, c2);
    }
    /* and saving the loaded archive gives the same bytes */
    CU_ASSERT_EQUAL(qd_archive_save_json(b, NULL, p2, err, sizeof err), QD_OK);
    char *t1 = qdt_slurp(p1), *t2 = qdt_slurp(p2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t2);
    CU_ASSERT_STRING_EQUAL(t1, t2);
    CU_ASSERT_PTR_NOT_NULL(strstr(t1, "\"type\":\t\"cvt\""));
    free(t1);
    free(t2);
    free(ca);
    free(cb);
    qdt_rmdir(dir);
    free(dir);
    gsl_rng_free(rng);
    qd_archive_free(a);
    qd_archive_free(b);
    qd_space_free(&sp);
}

static void test_add_sample_and_stats_through_the_generic_archive(void)
{
    qd_space sp = space_of(1, 2);
    qd_archive *a = archive_from("{\"type\": \"cvt\", \"centroids\": [[0, 0], [1, 0], [0, 1], [1, 1]], "
                                 "\"qd_score_offset\": -10}",
                                 &sp, NULL);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double x = 0, meas[2];
    qd_solution s = {.x = &x, .n = 1, .measures = meas, .m = 2};
    qd_add_result r;
    qd_archive_stats st;
    qd_elite e;
    size_t cell, coords[2], seen[4] = {0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_sample(a, rng, &cell), QD_ENOTFOUND);
    meas[0] = 0.9, meas[1] = 0.2, s.objective = 1;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    CU_ASSERT_EQUAL(r.status, QD_NEW);
    CU_ASSERT_EQUAL(r.cell, 1);
    meas[0] = 1.4, meas[1] = -0.3, s.objective = 3; /* outside the hull: still cell 1 */
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    CU_ASSERT_EQUAL(r.status, QD_IMPROVE);
    CU_ASSERT_EQUAL(r.cell, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.value, 2, 1e-12);
    meas[0] = 1.3, meas[1] = 0.1, s.objective = 2;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    CU_ASSERT_EQUAL(r.status, QD_NOT_ADDED);
    meas[0] = 0.2, meas[1] = 0.7, s.objective = -4;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    CU_ASSERT_EQUAL(r.status, QD_NEW);
    CU_ASSERT_EQUAL(r.cell, 2);
    CU_ASSERT_EQUAL(qd_archive_elite(a, 1, &e), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(e.objective, 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(e.measures[0], 1.4, 0);
    CU_ASSERT_EQUAL(qd_archive_elite(a, 0, &e), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(qd_archive_coords(a, 1, coords), QD_ENOTFOUND); /* no grid coordinates */
    qd_archive_stats_get(a, &st);
    CU_ASSERT_EQUAL(st.cells, 4);
    CU_ASSERT_EQUAL(st.filled, 2);
    CU_ASSERT_DOUBLE_EQUAL(st.coverage, 0.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(st.qd_score, (3 + 10) + (-4 + 10), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.norm_qd_score, 19.0 / 4, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.obj_max, 3, 0);
    CU_ASSERT_DOUBLE_EQUAL(st.obj_mean, -0.5, 1e-12);
    for (int i = 0; i < 2000; i++) {
        CU_ASSERT_EQUAL_FATAL(qd_archive_sample(a, rng, &cell), QD_OK);
        CU_ASSERT_FATAL(cell < 4);
        seen[cell]++;
    }
    CU_ASSERT(seen[0] == 0 && seen[3] == 0);
    CU_ASSERT(seen[1] > 850 && seen[2] > 850);
    gsl_rng_free(rng);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_bad_cvt_configs_name_field_and_value(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"type\": \"cvt\", \"cells\": 0, \"ranges\": [0, 1]}", "test.json: cells must be >= 1, got 0"},
        {"{\"type\": \"cvt\", \"cells\": 2.5, \"ranges\": [0, 1]}", "test.json: cells must be an integer, got 2.5"},
        {"{\"type\": \"cvt\", \"ranges\": [0, 1]}", "test.json: cells is required"},
        {"{\"type\": \"cvt\", \"cells\": 10, \"samples\": 5, \"ranges\": [0, 1]}",
         "test.json: samples must be >= cells (10), got 5"},
        {"{\"type\": \"cvt\", \"cells\": 10, \"kmeans_iterations\": -1, \"ranges\": [0, 1]}",
         "test.json: kmeans_iterations must be >= 0, got -1"},
        {"{\"type\": \"cvt\", \"cells\": 10, \"seed\": -3, \"ranges\": [0, 1]}", "test.json: seed must be >= 0, got -3"},
        {"{\"type\": \"cvt\", \"cells\": 10}",
         "test.json: ranges is required: the evaluator gives no natural range for measure_0"},
        {"{\"type\": \"cvt\", \"cells\": 10, \"ranges\": [[0, 1], [1, 0]]}",
         "test.json: ranges[1] must be [low, high] with low < high, got [1, 0]"},
        {"{\"type\": \"cvt\", \"cells\": 10, \"ranges\": [[0, 1]]}",
         "test.json: ranges must have 2 entries (one per measure of the evaluator), got 1"},
        {"{\"type\": \"cvt\", \"cells\": 10, \"ranges\": [[0, 1], [0, \"x\"]]}",
         "test.json: ranges[1] must be [low, high] (two finite numbers), got [0,\"x\"]"},
        {"{\"type\": \"cvt\", \"centroids\": [[0, 0], [1, 1, 1]]}",
         "test.json: centroids[1] must have 2 numbers (one per measure), got 3"},
        {"{\"type\": \"cvt\", \"centroids\": [[0, 0], 7]}",
         "test.json: centroids[1] must be an array of 2 numbers (one per measure), got 7"},
        {"{\"type\": \"cvt\", \"centroids\": [[0, 0], [1, \"a\"]]}",
         "test.json: centroids[1][1] must be a finite number, got \"a\""},
        {"{\"type\": \"cvt\", \"cells\": 3, \"centroids\": [[0, 0], [1, 1]]}",
         "test.json: centroids must have 3 entries (one per cell), got 2"},
        {"{\"type\": \"cvt\", \"centroids\": []}", "test.json: centroids must not be empty"},
        {"{\"type\": \"cvt\", \"centroids\": {\"a\": 1}}",
         "test.json: centroids must be an array of centroids (arrays of 2 numbers), got {\"a\":1}"},
        {"{\"type\": \"cvt\", \"centroids\": [[0, 0], [1, 1], [0, 0]]}",
         "test.json: centroids[2] repeats centroids[0]"},
        {"{\"type\": \"cvt\", \"centroids_file\": \"/nonexistent/c.csv\"}",
         "test.json: centroids_file cannot be read: /nonexistent/c.csv: cannot open: No such file or directory"},
    };
    qd_space sp = space_of(1, 2);
    for (size_t i = 0; i < QDI_ARRAY_LEN(cases); i++) {
        qd_config *c = qdt_config(cases[i].json);
        qd_archive *a = NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(qd_archive_new(c, &sp, &a), QD_EINVAL);
        CU_ASSERT_PTR_NULL(a);
        if (strcmp(qd_config_error(c), cases[i].msg) != 0)
            fprintf(stderr, "\n  got:    %s\n  wanted: %s\n", qd_config_error(c), cases[i].msg);
        CU_ASSERT_STRING_EQUAL(qd_config_error(c), cases[i].msg);
        qd_config_free(c);
    }
    qd_space_free(&sp);
}

/* Found by tests/fuzz/fuzz_config (a timeout): a mistyped field was
 * refused only after the k-means had run with the default 100,000 samples.
 * The exact input, then a typo beside samples (max_samples raised) the
 * k-means could not even allocate: refused for the typo, before any k-means. */
static void test_fuzz_mistyped_field_is_refused_before_the_kmeans(void)
{
    static const char input[] =
        "{\n"
        " \"name\": \"sphere-cvt-map-elites\",\n"
        " \"description\": \"d\",\n"
        " \"seed\": 1,\n"
        " \"iterations\": 10000,\n"
        " \"evaluator\": {\n"
        "  \"type\": \"sphere\",\n"
        "  \"dim\": 6\n"
        " },\n"
        " \"archive\": {\n"
        "  \"type\": \"cvt\",\n"
        "  \"cells\": 16,\n"
        "  \"sam\213les\": 200\n"
        " },\n"
        " \"mutators\": [\n"
        "  {\n"
        "   \"" "\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377"
        "\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377"
        "\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377"
        "type\": \"gaussian\",\n"
        "   \"sigma\": 0.5,\n"
        "   \"batch\": 8,\n"
        "   \"init\": \"x0\",\n"
        "   \"x0\": 0\n"
        "  }\n"
        " ]\n"
        "}";
    char err[512];
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    /* since configs must be UTF-8 this input stops at parsing; were it
     * let through, the typo would be refused before the k-means */
    if (qd_config_parse(input, "fuzz.json", &cfg, err, sizeof err) == QD_OK) {
        CU_ASSERT_NOT_EQUAL(qd_search_new(cfg, &s), QD_OK);
        CU_ASSERT_PTR_NULL(s);
        CU_ASSERT_PTR_NOT_NULL(strstr(qd_config_error(cfg), "fuzz.json: archive.sam\213les is not a known field (known: "));
    } else {
        CU_ASSERT_STRING_EQUAL(err, "fuzz.json: invalid UTF-8 at line 13, column 7 (byte 0x8b); a config must be UTF-8");
    }
    qd_config_free(cfg);
    qd_space sp = space_of(1, 2);
    qd_config *c = qdt_config("{\"type\": \"cvt\", \"cells\": 10, \"samples\": 1e12, \"max_samples\": 1e13, \"sampels\": 5, \"ranges\": [0, 1]}");
    qd_archive *a = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_archive_new(c, &sp, &a), QD_EINVAL);
    CU_ASSERT_PTR_NULL(a);
    if (!strstr(qd_config_error(c), "test.json: sampels is not a known field (known: "))
        fprintf(stderr, "\n  got: %s\n", qd_config_error(c));
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_config_error(c), "test.json: sampels is not a known field (known: "));
    qd_config_free(c);
    qd_space_free(&sp);
}

static const qdt_test tests[] = {
    {"lookup equals brute force in 2-D", test_lookup_equals_brute_force_in_2d},
    {"lookup equals brute force in 5-D", test_lookup_equals_brute_force_in_5d},
    {"ties go to the lowest centroid index", test_ties_go_to_the_lowest_centroid_index},
    {"same config gives identical centroids", test_same_config_gives_identical_centroids},
    {"defaults are written back", test_defaults_are_written_back},
    {"explicit centroids are used as given", test_explicit_centroids_are_used_as_given},
    {"centroids file, JSON and CSV", test_centroids_file_json_and_csv},
    {"save and load keep centroids and cells", test_save_and_load_keep_centroids_and_cells},
    {"fuzz: a mistyped field is refused before the k-means", test_fuzz_mistyped_field_is_refused_before_the_kmeans},
    {"add, sample and stats through the generic archive", test_add_sample_and_stats_through_the_generic_archive},
    {"bad CVT configs name field and value", test_bad_cvt_configs_name_field_and_value},
    {NULL, NULL},
};

int main(void)
{
    int rc = qd_register_archive(&qdi_archive_cvt);
    if (rc != QD_OK && rc != QD_EEXIST) {
        fprintf(stderr, "cannot register the cvt archive: %s\n", qd_strerror(rc));
        return 1;
    }
    return qdt_run("cvt", tests);
}
