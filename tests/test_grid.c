/* test_grid.c - the grid archive: bin indexing at and beyond every edge
 * (uniform and explicit), add statuses and improvement values, CMA-MAE
 * thresholds, stats against hand-computed values, uniform sampling. */
#include <math.h>
#include "testutil.h"

/* A 1-D or 2-D real-genome space with n genes and no natural ranges. */
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

static size_t cell_of(qd_archive *a, double v)
{
    size_t cell = 12345;
    CU_ASSERT_EQUAL(qd_archive_find(a, &v, &cell), QD_OK);
    return cell;
}

static void test_uniform_bins_at_and_beyond_every_edge(void)
{
    qd_space sp = space_of(1, 1);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 10, \"range\": [-1, 1]}]}", &sp, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_cells(a), 10);
    /* edges are -1 + i * 0.2: an edge belongs to the bin above it */
    for (int i = 0; i < 10; i++) {
        double edge = -1.0 + (double)i * (2.0 / 10.0);
        CU_ASSERT_EQUAL(cell_of(a, edge), (size_t)i);
        CU_ASSERT_EQUAL(cell_of(a, nextafter(edge, 2.0)), (size_t)i);
        if (i > 0)
            CU_ASSERT_EQUAL(cell_of(a, nextafter(edge, -2.0)), (size_t)(i - 1));
    }
    CU_ASSERT_EQUAL(cell_of(a, 1.0), 9);          /* the last edge: last bin */
    CU_ASSERT_EQUAL(cell_of(a, 1e300), 9);        /* above: last bin */
    CU_ASSERT_EQUAL(cell_of(a, INFINITY), 9);
    CU_ASSERT_EQUAL(cell_of(a, -1.0000001), 0);   /* below: first bin */
    CU_ASSERT_EQUAL(cell_of(a, -INFINITY), 0);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_explicit_edges_at_and_beyond_every_edge(void)
{
    /* QDAIF's 20 sentiment bins, finer at the ends */
    static const double e[] = {0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, 0.20, 0.50,
                               0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1};
    qd_space sp = space_of(1, 1);
    qd_archive *a = archive_from("{\"dims\": [{\"edges\": [0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, "
                                 "0.10, 0.20, 0.50, 0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1]}]}",
                                 &sp, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_cells(a), 20);
    for (size_t i = 0; i < 20; i++) {
        CU_ASSERT_EQUAL(cell_of(a, e[i]), i);
        CU_ASSERT_EQUAL(cell_of(a, (e[i] + e[i + 1]) / 2), i);
        CU_ASSERT_EQUAL(cell_of(a, nextafter(e[i + 1], -1.0)), i);
    }
    CU_ASSERT_EQUAL(cell_of(a, 1.0), 19);
    CU_ASSERT_EQUAL(cell_of(a, 7.5), 19);
    CU_ASSERT_EQUAL(cell_of(a, -0.001), 0);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_two_dims_are_row_major(void)
{
    qd_space sp = space_of(1, 2);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 3, \"range\": [0, 3]}, {\"edges\": [0, 1, 10]}]}", &sp,
                                 NULL);
    size_t cell, coords[2];
    double m[2] = {2.5, 5.0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_cells(a), 6);
    CU_ASSERT_EQUAL(qd_archive_find(a, m, &cell), QD_OK);
    CU_ASSERT_EQUAL(cell, 2 * 2 + 1);
    CU_ASSERT_EQUAL(qd_archive_coords(a, cell, coords), QD_OK);
    CU_ASSERT_EQUAL(coords[0], 2);
    CU_ASSERT_EQUAL(coords[1], 1);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_nan_measure_is_rejected_with_reason(void)
{
    qd_space sp = space_of(1, 2);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}, {\"bins\": 2, \"range\": [0, 1]}]}",
                                 &sp, NULL);
    double x = 0, m[2] = {0.5, NAN};
    qd_solution s = {.x = &x, .n = 1, .objective = 1, .measures = m, .m = 2};
    qd_add_result r;
    size_t cell;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_find(a, m, &cell), QD_EINVAL);
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(qd_archive_error(a), "measure 1 is NaN");
    m[1] = 0.5;
    s.objective = NAN;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(qd_archive_error(a), "objective is NaN");
    CU_ASSERT_EQUAL(qd_archive_filled(a), 0);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static qd_add_result add1(qd_archive *a, double x, double f, double meas)
{
    qd_solution s = {.x = &x, .n = 1, .objective = f, .measures = &meas, .m = 1};
    qd_add_result r = {0};
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    return r;
}

static void test_add_statuses_and_improvement_values(void)
{
    qd_space sp = space_of(1, 1);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 4, \"range\": [0, 4]}]}", &sp, NULL);
    qd_add_result r;
    qd_elite e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    r = add1(a, 0.1, 5.0, 1.5);
    CU_ASSERT_EQUAL(r.status, QD_NEW);
    CU_ASSERT_EQUAL(r.cell, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.value, 5.0, 0); /* a new cell: the objective */
    r = add1(a, 0.2, 3.0, 1.7);
    CU_ASSERT_EQUAL(r.status, QD_NOT_ADDED);
    CU_ASSERT_DOUBLE_EQUAL(r.value, -2.0, 0);
    r = add1(a, 0.3, 5.0, 1.2); /* a tie does not replace */
    CU_ASSERT_EQUAL(r.status, QD_NOT_ADDED);
    CU_ASSERT_DOUBLE_EQUAL(r.value, 0.0, 0);
    r = add1(a, 0.4, 7.5, 1.9);
    CU_ASSERT_EQUAL(r.status, QD_IMPROVE);
    CU_ASSERT_DOUBLE_EQUAL(r.value, 2.5, 0);
    CU_ASSERT_EQUAL(qd_archive_elite(a, 1, &e), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(e.x[0], 0.4, 0);
    CU_ASSERT_DOUBLE_EQUAL(e.objective, 7.5, 0);
    CU_ASSERT_DOUBLE_EQUAL(e.measures[0], 1.9, 0);
    CU_ASSERT_EQUAL(qd_archive_elite(a, 0, &e), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(qd_archive_filled(a), 1);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_cma_mae_threshold_anneals(void)
{
    qd_space sp = space_of(1, 1);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}], \"learning_rate\": 0.1, "
                                 "\"threshold_min\": 0}",
                                 &sp, NULL);
    qd_add_result r;
    qd_elite e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    r = add1(a, 0, 10.0, 0.5);
    CU_ASSERT_EQUAL(r.status, QD_NEW);
    CU_ASSERT_DOUBLE_EQUAL(r.value, 10.0, 1e-12);                    /* f - threshold_min */
    CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 0), 1.0, 1e-12);  /* 0.9*0 + 0.1*10 */
    r = add1(a, 1, 2.0, 0.5); /* worse than the elite but above the threshold: replaces */
    CU_ASSERT_EQUAL(r.status, QD_IMPROVE);
    CU_ASSERT_DOUBLE_EQUAL(r.value, 1.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 0), 0.9 * 1.0 + 0.1 * 2.0, 1e-12);
    CU_ASSERT_EQUAL(qd_archive_elite(a, 0, &e), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(e.objective, 2.0, 0);
    r = add1(a, 2, 1.0, 0.5);
    CU_ASSERT_EQUAL(r.status, QD_NOT_ADDED);
    CU_ASSERT_DOUBLE_EQUAL(r.value, 1.0 - 1.1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 1), 0.0, 0); /* empty: threshold_min */
    qd_archive_free(a);
    qd_space_free(&sp);
}

/* Adds a batch of 1-D solutions (x = i, objective f[i], measure m[i]). */
static void add_batch(qd_archive *a, const double *f, const double *m, size_t n, qd_add_result *res)
{
    qd_solution sols[8];
    const qd_solution *ptrs[8];
    double x[8];
    CU_ASSERT_FATAL(n <= 8);
    for (size_t i = 0; i < n; i++) {
        x[i] = (double)i;
        sols[i] = (qd_solution){.x = &x[i], .n = 1, .objective = f[i], .measures = (double *)&m[i], .m = 1};
        ptrs[i] = &sols[i];
    }
    CU_ASSERT_EQUAL(qd_archive_add_batch(a, ptrs, n, res), QD_OK);
}

static void test_cma_mae_batch_threshold_update(void)
{
    qd_space sp = space_of(1, 1);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}], \"learning_rate\": 0.1, "
                                 "\"threshold_min\": 0}",
                                 &sp, NULL);
    qd_add_result r[8];
    qd_elite e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    /* three entrants in empty cell 0, one in cell 1: all judged against
     * the archive before the batch, so all are NEW with value f - 0 */
    add_batch(a, (double[]){10, 4, 1, 2}, (double[]){0.5, 0.5, 0.5, 1.5}, 4, r);
    for (size_t i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(r[i].status, QD_NEW);
    CU_ASSERT_DOUBLE_EQUAL(r[1].value, 4.0, 0);
    /* t = 0.9^3 * 0 + (1 - 0.9^3) * mean(10, 4, 1) = 0.271 * 5 */
    CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 0), 1.355, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 1), 0.2, 1e-12); /* 0.9 * 0 + 0.1 * 2 */
    CU_ASSERT_EQUAL(qd_archive_elite(a, 0, &e), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(e.objective, 10.0, 0); /* the best entrant */
    /* 1 is below the threshold; 3 and 2 enter: t = 0.81 * 1.355 + 0.19 * 2.5,
     * and the best entrant (3) replaces the elite 10 (annealing) */
    add_batch(a, (double[]){1, 3, 2}, (double[]){0.1, 0.2, 0.3}, 3, r);
    CU_ASSERT_EQUAL(r[0].status, QD_NOT_ADDED);
    CU_ASSERT_DOUBLE_EQUAL(r[0].value, 1.0 - 1.355, 1e-12);
    CU_ASSERT_EQUAL(r[1].status, QD_IMPROVE);
    CU_ASSERT_DOUBLE_EQUAL(r[1].value, 3.0 - 1.355, 1e-12);
    CU_ASSERT_EQUAL(r[2].status, QD_IMPROVE);
    CU_ASSERT_DOUBLE_EQUAL(r[2].value, 2.0 - 1.355, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 0), 0.81 * 1.355 + 0.19 * 2.5, 1e-12);
    CU_ASSERT_EQUAL(qd_archive_elite(a, 0, &e), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(e.objective, 3.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(e.x[0], 1.0, 0);
    qd_archive_free(a);
    qd_space_free(&sp);
}

/* learning_rate 1 (plain, and CMA-MAE's alpha = 1 with a finite
 * threshold_min): the threshold is the elite's objective after a batch,
 * not the entrants' mean, so a worse solution cannot replace the elite. */
static void test_batch_with_learning_rate_one_keeps_best_as_threshold(void)
{
    const char *configs[] = {"{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}]}",
                             "{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}], \"learning_rate\": 1, "
                             "\"threshold_min\": 0}"};
    for (size_t c = 0; c < 2; c++) {
        qd_space sp = space_of(1, 1);
        qd_archive *a = archive_from(configs[c], &sp, NULL);
        qd_add_result r[8];
        qd_elite e;
        CU_ASSERT_PTR_NOT_NULL_FATAL(a);
        add_batch(a, (double[]){5, 9, 7}, (double[]){0.5, 0.5, 0.5}, 3, r);
        CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 0), 9.0, 0);
        add_batch(a, (double[]){8, 12, 11}, (double[]){0.5, 0.5, 0.5}, 3, r);
        CU_ASSERT_EQUAL(r[0].status, QD_NOT_ADDED);
        CU_ASSERT_DOUBLE_EQUAL(r[0].value, -1.0, 0);
        CU_ASSERT_EQUAL(r[1].status, QD_IMPROVE);
        CU_ASSERT_DOUBLE_EQUAL(r[1].value, 3.0, 0);
        CU_ASSERT_DOUBLE_EQUAL(qd_archive_threshold(a, 0), 12.0, 0);
        r[0] = add1(a, 0, 10.0, 0.5);
        CU_ASSERT_EQUAL(r[0].status, QD_NOT_ADDED);
        CU_ASSERT_EQUAL(qd_archive_elite(a, 0, &e), QD_OK);
        CU_ASSERT_DOUBLE_EQUAL(e.objective, 12.0, 0);
        qd_archive_free(a);
        qd_space_free(&sp);
    }
}

static void test_stats_match_hand_computed_values(void)
{
    qd_space sp = space_of(1, 1);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 8, \"range\": [0, 8]}], \"qd_score_offset\": -2}", &sp,
                                 NULL);
    qd_archive_stats st;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    qd_archive_stats_get(a, &st);
    CU_ASSERT_EQUAL(st.filled, 0);
    CU_ASSERT_DOUBLE_EQUAL(st.qd_score, 0, 0);
    CU_ASSERT(isnan(st.obj_max));
    add1(a, 0, 1.0, 0.5);
    add1(a, 0, 3.0, 1.5);
    add1(a, 0, -1.5, 7.5);
    add1(a, 0, 0.5, 1.6); /* not added */
    qd_archive_stats_get(a, &st);
    CU_ASSERT_EQUAL(st.cells, 8);
    CU_ASSERT_EQUAL(st.filled, 3);
    CU_ASSERT_DOUBLE_EQUAL(st.coverage, 3.0 / 8.0, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(st.qd_score, (1 + 2) + (3 + 2) + (-1.5 + 2), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.norm_qd_score, 8.5 / 8.0, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(st.obj_max, 3.0, 0);
    CU_ASSERT_DOUBLE_EQUAL(st.obj_mean, 2.5 / 3.0, 1e-12);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_sampling_only_returns_elites_and_reaches_each(void)
{
    qd_space sp = space_of(1, 1);
    qd_archive *a = archive_from("{\"dims\": [{\"bins\": 100, \"range\": [0, 100]}]}", &sp, NULL);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng *twin = gsl_rng_alloc(gsl_rng_mt19937); /* same seed: the same draws */
    int seen[100] = {0};
    size_t cell;
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_EQUAL(qd_archive_sample(a, rng, &cell), QD_ENOTFOUND);
    CU_ASSERT_PTR_NULL(qdi_archive_sample_x(a, twin));
    for (int i = 0; i < 100; i += 7)
        add1(a, i, 1.0, i + 0.5);
    for (int k = 0; k < 10000; k++) {
        qd_elite e;
        const double *x = qdi_archive_sample_x(a, twin); /* the mutators' shortcut picks the same elite */
        CU_ASSERT_EQUAL_FATAL(qd_archive_sample(a, rng, &cell), QD_OK);
        CU_ASSERT_EQUAL(qd_archive_elite(a, cell, &e), QD_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(x);
        CU_ASSERT_EQUAL(x[0], e.x[0]);
        CU_ASSERT_EQUAL(cell % 7, 0);
        seen[cell]++;
    }
    for (int i = 0; i < 100; i += 7) /* 15 elites, ~667 draws each */
        CU_ASSERT(seen[i] > 500 && seen[i] < 850);
    gsl_rng_free(twin);
    gsl_rng_free(rng);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_bad_grid_configs_name_field_and_value(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"dims\": [{\"bins\": 0, \"range\": [0, 1]}]}", "test.json: dims[0].bins must be >= 1, got 0"},
        {"{\"dims\": [{\"bins\": 2.5, \"range\": [0, 1]}]}", "test.json: dims[0].bins must be an integer, got 2.5"},
        {"{\"dims\": [{\"bins\": 2, \"range\": [1, 0]}]}",
         "test.json: dims[0].range must be [low, high] with low < high, got [1, 0]"},
        {"{\"dims\": [{\"bins\": 2}]}",
         "test.json: dims[0].range is required: the evaluator gives no natural range for measure_0"},
        {"{\"dims\": [{\"edges\": [0, 0.5, 0.5, 1]}]}",
         "test.json: dims[0].edges must increase strictly, but edge 2 (0.5) is not above edge 1 (0.5)"},
        {"{\"dims\": [{\"bins\": 2, \"range\": [0, 1], \"bns\": 3}]}",
         "test.json: dims[0].bns is not a known field (known: edges, bins, range)"},
        {"{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}, {\"bins\": 2, \"range\": [0, 1]}]}",
         "test.json: dims must have 1 entries (one per measure of the evaluator), got 2"},
        {"{\"type\": \"hex\", \"dims\": []}", "test.json: type \"hex\" is not a known archive type (known: grid, cvt)"},
        {"{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}], \"learning_rate\": 0.5}",
         "test.json: threshold_min is required when learning_rate < 1 (CMA-MAE)"},
    };
    qd_space sp = space_of(1, 1);
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

static const qdt_test tests[] = {
    {"uniform bins at and beyond every edge", test_uniform_bins_at_and_beyond_every_edge},
    {"explicit edges at and beyond every edge", test_explicit_edges_at_and_beyond_every_edge},
    {"two dims are row major", test_two_dims_are_row_major},
    {"NaN measure is rejected with reason", test_nan_measure_is_rejected_with_reason},
    {"add statuses and improvement values", test_add_statuses_and_improvement_values},
    {"CMA-MAE threshold anneals", test_cma_mae_threshold_anneals},
    {"CMA-MAE batch threshold update", test_cma_mae_batch_threshold_update},
    {"batch with learning rate one keeps best as threshold", test_batch_with_learning_rate_one_keeps_best_as_threshold},
    {"stats match hand-computed values", test_stats_match_hand_computed_values},
    {"sampling only returns elites and reaches each", test_sampling_only_returns_elites_and_reaches_each},
    {"bad grid configs name field and value", test_bad_grid_configs_name_field_and_value},
    {NULL, NULL},
};

QDT_MAIN("grid", tests)
