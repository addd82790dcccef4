/* test_qdhf.c - learned measures (evaluators/qdhf_learn.c, qdhf.c): the
 * triplet loss's gradient against finite differences, the simulated judge,
 * training on arm judgments recovers the end effector's position (up to a
 * linear map), the qdhf evaluator in a search, judgments from a file, and
 * its config errors. */
#include <math.h>
#include <gsl/gsl_multifit.h>
#include "evaluators/qdhf_learn.h"
#include "testutil.h"

static void test_loss_gradient_matches_finite_differences(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    qdi_projection p;
    double f[6 * 5], grad[2 * 5];
    qdi_triplet t[2] = {{0, 1, 2, 1}, {3, 4, 5, -1}};
    CU_ASSERT_EQUAL_FATAL(qdi_projection_init(&p, 5, 2, rng), QD_OK);
    for (size_t i = 0; i < 30; i++)
        f[i] = gsl_rng_uniform(rng) * 2 - 1;
    /* a margin large enough that both hinges are active */
    double margin = 10.0, loss = qdi_triplet_loss(&p, f, t, 2, margin, grad);
    CU_ASSERT(loss > 0);
    for (size_t i = 0; i < 10; i++) {
        double keep = p.W[i], h = 1e-6, up, down;
        p.W[i] = keep + h;
        up = qdi_triplet_loss(&p, f, t, 2, margin, NULL);
        p.W[i] = keep - h;
        down = qdi_triplet_loss(&p, f, t, 2, margin, NULL);
        p.W[i] = keep;
        CU_ASSERT_DOUBLE_EQUAL(grad[i], (up - down) / (2 * h), 1e-6);
    }
    qdi_projection_free(&p);
    gsl_rng_free(rng);
}

static void test_simulated_judge_picks_the_closer(void)
{
    /* ref at 0, x1 at 3, x2 at 1 (1-D truths): x2 is closer: +1 */
    double truth[3] = {0, 3, 1};
    CU_ASSERT_EQUAL(qdi_judge_simulated(truth, 1, 0, 1, 2), 1);
    CU_ASSERT_EQUAL(qdi_judge_simulated(truth, 1, 0, 2, 1), -1);
    double tie[3] = {0, 1, -1};
    CU_ASSERT_EQUAL(qdi_judge_simulated(tie, 1, 0, 1, 2), -1);
}

/* The arm's end effector and features for random angles. */
static void arm_row(gsl_rng *rng, size_t joints, double *x, double *f, double *pos)
{
    double angle = 0;
    pos[0] = pos[1] = 0;
    for (size_t i = 0; i < joints; i++) {
        x[i] = -M_PI + 2 * M_PI * gsl_rng_uniform(rng);
        angle += x[i];
        f[i] = cos(angle);
        f[joints + i] = sin(angle);
        pos[0] += f[i];
        pos[1] += f[joints + i];
    }
}

/* R^2 of the least-squares fit of y on (z_0, z_1, 1). */
static double r_squared(const double *z, const double *y, size_t n)
{
    gsl_matrix *X = gsl_matrix_alloc(n, 3), *cov = gsl_matrix_alloc(3, 3);
    gsl_vector *Y = gsl_vector_alloc(n), *c = gsl_vector_alloc(3);
    gsl_multifit_linear_workspace *ws = gsl_multifit_linear_alloc(n, 3);
    double chisq, mean = 0, tss = 0;
    for (size_t i = 0; i < n; i++) {
        gsl_matrix_set(X, i, 0, z[2 * i]);
        gsl_matrix_set(X, i, 1, z[2 * i + 1]);
        gsl_matrix_set(X, i, 2, 1.0);
        gsl_vector_set(Y, i, y[i]);
        mean += y[i] / (double)n;
    }
    for (size_t i = 0; i < n; i++)
        tss += (y[i] - mean) * (y[i] - mean);
    gsl_multifit_linear(X, Y, c, cov, &chisq, ws);
    gsl_multifit_linear_free(ws);
    gsl_matrix_free(X);
    gsl_matrix_free(cov);
    gsl_vector_free(Y);
    gsl_vector_free(c);
    return 1.0 - chisq / tss;
}

static void test_training_on_arm_judgments_recovers_the_position(void)
{
    enum { J = 10, T = 1000, TEST = 500 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *x = malloc(3 * T * J * sizeof *x), *f = malloc(3 * T * 2 * J * sizeof *f), *pos = malloc(3 * T * 2 * sizeof *pos);
    qdi_triplet *t = malloc(T * sizeof *t);
    qdi_projection p = {.d = 2 * J, .k = 2};
    qdi_train_options o;
    qdi_train_report r;
    for (size_t i = 0; i < 3 * T; i++)
        arm_row(rng, J, x + i * J, f + i * 2 * J, pos + 2 * i);
    for (size_t i = 0; i < T; i++)
        t[i] = (qdi_triplet){3 * i, 3 * i + 1, 3 * i + 2, qdi_judge_simulated(pos, 2, 3 * i, 3 * i + 1, 3 * i + 2)};
    qdi_train_defaults(&o);
    CU_ASSERT_EQUAL_FATAL(qdi_projection_train(&p, f, t, T, &o, rng, &r), QD_OK);
    CU_ASSERT_EQUAL(r.train_size, 750);
    CU_ASSERT_EQUAL(r.valid_size, 250);
    CU_ASSERT(r.epochs >= 20 && r.epochs <= 1000);
    /* measured: about 0.95 validation accuracy (seeds 1-5: 0.93-0.96) */
    CU_ASSERT(r.valid_accuracy > 0.88);
    CU_ASSERT(r.train_accuracy > 0.88);
    /* on fresh arms, the learned measures explain the true x and y almost
     * linearly (R^2 about 0.99; a random projection gives about 0.5) */
    double *z = malloc(2 * TEST * sizeof *z), *tx = malloc(TEST * sizeof *tx), *ty = malloc(TEST * sizeof *ty);
    for (size_t i = 0; i < TEST; i++) {
        double xi[J], fi[2 * J], pi[2];
        arm_row(rng, J, xi, fi, pi);
        qdi_projection_apply(&p, fi, z + 2 * i);
        tx[i] = pi[0];
        ty[i] = pi[1];
    }
    CU_ASSERT(r_squared(z, tx, TEST) > 0.9);
    CU_ASSERT(r_squared(z, ty, TEST) > 0.9);
    free(z);
    free(tx);
    free(ty);
    qdi_projection_free(&p);
    free(x);
    free(f);
    free(pos);
    free(t);
    gsl_rng_free(rng);
}

#define QDHF_CONFIG(extra)                                                                                           \
    "{\"seed\": 3, \"iterations\": 30, \"workers\": 1,"                                                              \
    " \"evaluator\": {\"type\": \"qdhf\", \"base\": {\"type\": \"arm\", \"joints\": 6, \"objective\": \"qdhf\"},"   \
    " \"features\": \"arm\", \"triplets\": 400" extra "},"                                                          \
    " \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 20}, {\"bins\": 20}]},"                               \
    " \"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.1, \"batch\": 50}]}"

static qd_search *run(const char *json, qd_config **cfg)
{
    qd_search *s = NULL;
    *cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*cfg);
    if (qd_search_new(*cfg, &s) != QD_OK) {
        fprintf(stderr, "run: %s\n", qd_config_error(*cfg));
        return NULL;
    }
    while (!qd_search_done(s))
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
    return s;
}

static void test_qdhf_evaluator_learns_and_fills_the_archive(void)
{
    qd_config *c1, *c2;
    qd_search *s1 = run(QDHF_CONFIG(""), &c1), *s2 = run(QDHF_CONFIG(""), &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s2);
    const cJSON *learned = cJSON_GetObjectItem(cJSON_GetObjectItem(qd_config_json(c1), "evaluator"), "learned");
    CU_ASSERT_PTR_NOT_NULL_FATAL(learned);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(learned, "triplets")->valuedouble, 400);
    CU_ASSERT(cJSON_GetObjectItem(learned, "validation_accuracy")->valuedouble > 0.85);
    const qd_archive *a = qd_search_archive(s1);
    CU_ASSERT(qd_archive_filled(a) > 40);
    /* same seed: the same projection and the same elites */
    CU_ASSERT_EQUAL(qd_archive_filled(a), qd_archive_filled(qd_search_archive(s2)));
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite e1, e2;
        qd_archive_elite_at(a, i, &e1);
        qd_archive_elite_at(qd_search_archive(s2), i, &e2);
        CU_ASSERT_EQUAL(e1.cell, e2.cell);
        CU_ASSERT(e1.objective == e2.objective);
        CU_ASSERT(e1.measures[0] == e2.measures[0] && e1.measures[1] == e2.measures[1]);
    }
    qd_search_free(s1);
    qd_search_free(s2);
    qd_config_free(c1);
    qd_config_free(c2);
}

static void test_judgments_come_from_a_file(void)
{
    char *dir = qdt_tmpdir(), path[600], json[2048];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    FILE *fp;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/judgments.jsonl", dir);
    fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    for (int i = 0; i < 300; i++) { /* a person answering from the end effector's position */
        double x[3][6], f[12], pos[3][2];
        for (int r = 0; r < 3; r++)
            arm_row(rng, 6, x[r], f, pos[r]);
        double d1 = hypot(pos[0][0] - pos[1][0], pos[0][1] - pos[1][1]);
        double d2 = hypot(pos[0][0] - pos[2][0], pos[0][1] - pos[2][1]);
        fputs("{", fp);
        for (int r = 0; r < 3; r++) {
            fprintf(fp, "\"%s\": [", r == 0 ? "ref" : r == 1 ? "x1" : "x2");
            for (int j = 0; j < 6; j++)
                fprintf(fp, "%s%.17g", j ? ", " : "", x[r][j]);
            fputs("], ", fp);
        }
        fprintf(fp, "\"closer\": %d}\n", d2 < d1 ? 2 : 1);
    }
    fclose(fp);
    snprintf(json, sizeof json, QDHF_CONFIG(", \"judgments_file\": \"%s\""), path);
    qd_config *c;
    qd_search *s = run(json, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const cJSON *learned = cJSON_GetObjectItem(cJSON_GetObjectItem(qd_config_json(c), "evaluator"), "learned");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(learned, "triplets")->valuedouble, 300);
    /* measured 0.79 on 75 validation judgments; chance is 0.5 */
    CU_ASSERT(cJSON_GetObjectItem(learned, "validation_accuracy")->valuedouble > 0.7);
    qd_search_free(s);
    qd_config_free(c);
    /* a bad line is named with its file and number */
    fp = fopen(path, "a");
    fputs("{\"ref\": [1, 2], \"x1\": [], \"x2\": [], \"closer\": 1}\n", fp);
    fclose(fp);
    c = qdt_config(json);
    CU_ASSERT_EQUAL(qd_search_new(c, &s), QD_EINVAL);
    char want[800];
    snprintf(want, sizeof want,
             "test.json: evaluator.judgments_file %s line 301: \"ref\" must be an array of 6 numbers", path);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), want);
    qd_config_free(c);
    qdt_rmdir(dir);
    free(dir);
    gsl_rng_free(rng);
}

static void test_config_errors_name_the_field(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"evaluator\": {\"type\": \"qdhf\"}, \"archive\": {}, \"mutators\": []}", "test.json: evaluator.base is required"},
        {"{\"evaluator\": {\"type\": \"qdhf\", \"base\": {\"type\": \"arm\"}, \"features\": \"pixels\"}, \"archive\": {},"
         " \"mutators\": []}",
         "test.json: evaluator.features must be one of \"genome\", \"arm\", \"text\", \"embeddings\", got \"pixels\""},
        {"{\"evaluator\": {\"type\": \"qdhf\", \"base\": {\"type\": \"arm\"}, \"triplets\": 50, \"ranges\": [1, 0]},"
         " \"archive\": {}, \"mutators\": []}",
         "test.json: evaluator.ranges must be [low, high] or one [low, high] per latent measure (2), with low < high"},
        {"{\"evaluator\": {\"type\": \"qdhf\", \"base\": {\"type\": \"arm\", \"joints\": 0}}, \"archive\": {},"
         " \"mutators\": []}",
         "test.json: evaluator.base.joints must be >= 1 and <= 1000000, got 0"},
    };
    for (size_t i = 0; i < QDI_ARRAY_LEN(cases); i++) {
        qd_config *c = qdt_config(cases[i].json);
        qd_search *s = NULL;
        CU_ASSERT_EQUAL(qd_search_new(c, &s), QD_EINVAL);
        if (strcmp(qd_config_error(c), cases[i].msg))
            fprintf(stderr, "\n  got:    %s\n  wanted: %s\n", qd_config_error(c), cases[i].msg);
        CU_ASSERT_STRING_EQUAL(qd_config_error(c), cases[i].msg);
        qd_config_free(c);
    }
}

static const qdt_test tests[] = {
    {"loss gradient matches finite differences", test_loss_gradient_matches_finite_differences},
    {"simulated judge picks the closer", test_simulated_judge_picks_the_closer},
    {"training on arm judgments recovers the position", test_training_on_arm_judgments_recovers_the_position},
    {"qdhf evaluator learns and fills the archive", test_qdhf_evaluator_learns_and_fills_the_archive},
    {"judgments come from a file", test_judgments_come_from_a_file},
    {"config errors name the field", test_config_errors_name_the_field},
    {NULL, NULL},
};

QDT_MAIN("qdhf", tests)
