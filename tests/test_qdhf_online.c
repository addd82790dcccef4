/* test_qdhf_online.c - QDHF as the paper runs it: the online schedule
 * (rounds before the right iterations, logged in the metrics), the rebuild
 * (every elite re-projected, the best per new cell kept), checkpoint and
 * resume give the same run, the noisy judge's error rate, PCA, the
 * auto-encoder baseline, a saved
 * projection reloaded, and the ground-truth metrics of the loop
 * (src/search_truth.c, src/search_rebuild.c, evaluators/qdhf_*.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/qdhf.h"
#include "src/search_internal.h"
#include "testutil.h"

#define ONLINE_CONFIG(extra)                                                                                         \
    "{\"seed\": 5, \"iterations\": 12, \"workers\": 2,"                                                              \
    " \"evaluator\": {\"type\": \"qdhf\", \"mode\": \"online\", \"schedule\": [1, 4, 9], \"min_epochs\": 20,"        \
    " \"base\": {\"type\": \"arm\", \"joints\": 6, \"objective\": \"qdhf\"}, \"features\": \"arm\", \"triplets\": 60" \
    extra "},"                                                                                                       \
    " \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 20}, {\"bins\": 20}], \"qd_score_offset\": 0},"        \
    " \"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.1, \"batch\": 50, \"init\": \"uniform\", \"initial\": 50}]}"

static qd_search *build(const char *json, qd_config **cfg)
{
    qd_search *s = NULL;
    *cfg = qdt_config(json);
    if (!*cfg)
        return NULL;
    if (qd_search_new(*cfg, &s) != QD_OK)
        fprintf(stderr, "build: %s\n", qd_config_error(*cfg));
    return s;
}

static void run_to(qd_search *s, uint64_t iterations)
{
    while (qd_search_counts(s)->iterations < iterations && !qd_search_done(s))
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
}

static void test_rounds_fire_before_the_scheduled_iterations(void)
{
    qd_config *cfg;
    qd_search *s = build(ONLINE_CONFIG(""), &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run_to(s, 12);
    for (size_t i = 0; i < s->nhistory; i++) {
        const qd_metrics *r = &s->history[i];
        int round = r->iteration == 4 || r->iteration == 9;
        CU_ASSERT_EQUAL(!isnan(r->rebuild_coverage_before), round);
        CU_ASSERT_EQUAL(!isnan(r->rebuild_coverage_after), round);
        if (round) /* the coverage the previous row ended with */
            CU_ASSERT_EQUAL(r->rebuild_coverage_before, s->history[i - 1].stats.coverage);
    }
    /* the rounds' records: at init (iteration 0), then before 4 and 9, on
     * 60 more judgments each */
    const qdhf *q = s->ev->state;
    CU_ASSERT_EQUAL(cJSON_GetArraySize(q->rounds), 3);
    static const double at[] = {0, 4, 9};
    for (int i = 0; i < 3; i++) {
        const cJSON *r = cJSON_GetArrayItem(q->rounds, i);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(r, "iteration")->valuedouble, at[i]);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(r, "triplets")->valuedouble, 60.0 * (i + 1));
        CU_ASSERT(cJSON_GetObjectItem(r, "epochs")->valuedouble >= 20); /* min_epochs */
    }
    CU_ASSERT_EQUAL(q->next_round, 3);
    qd_search_free(s);
    qd_config_free(cfg);
}

/* The features of a genome projected with the evaluator's projection. */
static void project(const qdhf *q, const double *x, double *z)
{
    double f[64];
    qdi_qdhf_features(q, x, f);
    qdi_projection_apply(&q->proj, f, z);
}

static void test_rebuild_keeps_the_best_per_new_cell(void)
{
    qd_config *cfg;
    qd_search *s = build(ONLINE_CONFIG(""), &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run_to(s, 3);
    /* the old elites, before the round of iteration 4 */
    size_t n = qd_archive_filled(s->archive);
    double *x = malloc(n * 6 * sizeof *x), *obj = malloc(n * sizeof *obj);
    for (size_t i = 0; i < n; i++) {
        qd_elite e;
        qd_archive_elite_at(s->archive, i, &e);
        memcpy(x + 6 * i, e.x, 6 * sizeof *x);
        obj[i] = e.objective;
    }
    CU_ASSERT_EQUAL_FATAL(qdi_search_relearn(s), QD_OK);
    CU_ASSERT(!isnan(s->rebuild_after));
    const qdhf *q = s->ev->state;
    const qd_archive *a = s->archive;
    /* the new ranges are the min / max of the projected old elites */
    for (size_t k = 0; k < 2; k++) {
        double lo = INFINITY, hi = -INFINITY, z[2];
        for (size_t i = 0; i < n; i++) {
            project(q, x + 6 * i, z);
            lo = fmin(lo, z[k]);
            hi = fmax(hi, z[k]);
        }
        CU_ASSERT_EQUAL(s->ev->space.measure_lower[k], lo);
        CU_ASSERT_EQUAL(s->ev->space.measure_upper[k], hi);
    }
    /* every new cell holds the best old elite that projects into it */
    size_t cells = qd_archive_cells(a), filled = 0;
    double *best = malloc(cells * sizeof *best);
    for (size_t c = 0; c < cells; c++)
        best[c] = NAN;
    for (size_t i = 0; i < n; i++) {
        double z[2];
        size_t cell;
        project(q, x + 6 * i, z);
        CU_ASSERT_EQUAL_FATAL(qd_archive_find(a, z, &cell), QD_OK);
        if (isnan(best[cell]) || obj[i] > best[cell])
            best[cell] = obj[i];
    }
    for (size_t c = 0; c < cells; c++) {
        qd_elite e;
        int rc = qd_archive_elite(a, c, &e);
        CU_ASSERT_EQUAL(rc == QD_OK, !isnan(best[c]));
        if (rc == QD_OK) {
            double z[2];
            filled++;
            CU_ASSERT_EQUAL(e.objective, best[c]);
            project(q, e.x, z);
            CU_ASSERT(z[0] == e.measures[0] && z[1] == e.measures[1]);
        }
    }
    CU_ASSERT_EQUAL(filled, qd_archive_filled(a));
    CU_ASSERT(filled < n); /* some old elites shared a new cell */
    CU_ASSERT_EQUAL(s->rebuild_after, (double)filled / (double)cells);
    free(best);
    free(x);
    free(obj);
    qd_search_free(s);
    qd_config_free(cfg);
}

/* Elites and metrics of two runs are the same, number for number. */
static void assert_same_run(const qd_search *a, const qd_search *b)
{
    const qd_archive *x = qd_search_archive(a), *y = qd_search_archive(b);
    CU_ASSERT_EQUAL_FATAL(qd_archive_filled(x), qd_archive_filled(y));
    for (size_t i = 0; i < qd_archive_filled(x); i++) {
        qd_elite e, f;
        qd_archive_elite_at(x, i, &e);
        qd_archive_elite_at(y, i, &f);
        CU_ASSERT(e.cell == f.cell && e.objective == f.objective && !memcmp(e.x, f.x, e.n * sizeof *e.x) &&
                  !memcmp(e.measures, f.measures, e.m * sizeof *e.measures));
    }
    CU_ASSERT_EQUAL_FATAL(a->nhistory, b->nhistory);
    for (size_t i = 0; i < a->nhistory; i++) {
        const qd_metrics *r = &a->history[i], *t = &b->history[i];
        CU_ASSERT(r->stats.qd_score == t->stats.qd_score && r->truth_all_qd_score == t->truth_all_qd_score);
        CU_ASSERT(isnan(r->truth_qd_score) ? isnan(t->truth_qd_score) : r->truth_qd_score == t->truth_qd_score);
        CU_ASSERT(isnan(r->rebuild_coverage_after) ? isnan(t->rebuild_coverage_after)
                                                   : r->rebuild_coverage_after == t->rebuild_coverage_after);
    }
}

static void test_resume_gives_the_same_run(void)
{
    char *dir = qdt_tmpdir(), note[256], *one, *two, p1[600], p2[600];
    qd_config *c0, *c1, *c2;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    qd_search *whole = build(ONLINE_CONFIG(""), &c0), *first = build(ONLINE_CONFIG(""), &c1), *second;
    CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    run_to(whole, 12);
    /* stopped after iteration 6: between the rounds of 4 and 9 */
    run_to(first, 6);
    CU_ASSERT_EQUAL_FATAL(qd_search_checkpoint(first, dir), QD_OK);
    qd_search_free(first);
    qd_config_free(c1);
    second = build(ONLINE_CONFIG(""), &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_EQUAL_FATAL(qd_search_resume(second, dir, note, sizeof note), QD_OK);
    run_to(second, 12);
    assert_same_run(whole, second);
    /* the saved archives are the same, byte for byte */
    snprintf(p1, sizeof p1, "%s/a", dir);
    snprintf(p2, sizeof p2, "%s/b", dir);
    CU_ASSERT_EQUAL(qd_search_save(whole, p1), QD_OK);
    CU_ASSERT_EQUAL(qd_search_save(second, p2), QD_OK);
    snprintf(p1, sizeof p1, "%s/a/archive.csv", dir);
    snprintf(p2, sizeof p2, "%s/b/archive.csv", dir);
    one = qdt_slurp(p1);
    two = qdt_slurp(p2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    CU_ASSERT_STRING_EQUAL(one, two);
    free(one);
    free(two);
    qd_search_free(whole);
    qd_search_free(second);
    qd_config_free(c0);
    qd_config_free(c2);
    qdt_rmdir(dir);
    free(dir);
}

/* y of each judgment by its triplet number (training shuffles the table). */
static int *labels(const qdhf *q)
{
    int *y = malloc(q->n * sizeof *y);
    for (size_t i = 0; i < q->n; i++)
        y[q->t[i].ref / 3] = q->t[i].y;
    return y;
}

static qd_evaluator *evaluator(const char *json, qd_config **cfg)
{
    qd_evaluator *ev = NULL;
    *cfg = qdt_config(json);
    if (qd_evaluator_new(*cfg, &ev) != QD_OK)
        fprintf(stderr, "evaluator: %s\n", qd_config_error(*cfg));
    return ev;
}

#define JUDGE_CONFIG(noise)                                                                                          \
    "{\"type\": \"qdhf\", \"base\": {\"type\": \"arm\", \"joints\": 4}, \"features\": \"arm\", \"triplets\": 4000,"  \
    " \"epochs\": 1, \"noise\": " noise "}"

static void test_noisy_judge_flips_answers_at_its_rate(void)
{
    qd_config *c1, *c2;
    qd_evaluator *clean = evaluator(JUDGE_CONFIG("0"), &c1), *noisy = evaluator(JUDGE_CONFIG("0.2"), &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(clean);
    CU_ASSERT_PTR_NOT_NULL_FATAL(noisy);
    const qdhf *a = clean->state, *b = noisy->state;
    CU_ASSERT_EQUAL_FATAL(a->n, 4000);
    CU_ASSERT_EQUAL_FATAL(b->n, 4000);
    /* the same genomes were judged (one draw per judgment either way) */
    CU_ASSERT(!memcmp(a->genomes, b->genomes, 3 * 4000 * 4 * sizeof *a->genomes));
    int *ya = labels(a), *yb = labels(b);
    size_t flipped = 0;
    for (size_t i = 0; i < 4000; i++)
        flipped += ya[i] != yb[i];
    /* Binomial(4000, 0.2): mean 800, sd 25.3; 5 sd either side */
    CU_ASSERT(flipped >= 800 - 127 && flipped <= 800 + 127);
    free(ya);
    free(yb);
    qd_evaluator_free(clean);
    qd_evaluator_free(noisy);
    qd_config_free(c1);
    qd_config_free(c2);
}

static void test_judge_evaluator_answers_from_its_measures(void)
{
    /* a judge that sees the arm's x only (a saved projection onto sum cos):
     * every answer agrees with x */
    char *dir = qdt_tmpdir(), path[600], json[2048];
    qd_config *c;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/x.json", dir);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("{\"projection\": {\"features\": \"arm\", \"d\": 6, \"k\": 1, \"W\": [1, 1, 1, 0, 0, 0], \"b\": [0],"
          " \"ranges\": [[-3, 3]]}}\n", fp);
    fclose(fp);
    snprintf(json, sizeof json,
             "{\"type\": \"qdhf\", \"base\": {\"type\": \"arm\", \"joints\": 3}, \"judge\": {\"type\": \"qdhf\","
             " \"base\": {\"type\": \"arm\", \"joints\": 3}, \"features\": \"arm\", \"latent\": 1,"
             " \"projection_file\": \"%s\"}, \"features\": \"arm\", \"triplets\": 300, \"epochs\": 1}",
             path);
    qd_evaluator *ev = evaluator(json, &c);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    const qdhf *q = ev->state;
    for (size_t i = 0; i < q->n; i++) {
        double g[3][2];
        for (int r = 0; r < 3; r++) {
            size_t row = (&q->t[i].ref)[r];
            double angle = 0, x = 0;
            for (int j = 0; j < 3; j++) {
                angle += q->genomes[row * 3 + j];
                x += cos(angle);
            }
            g[r][0] = x;
            g[r][1] = 0;
        }
        double d1 = (g[0][0] - g[1][0]) * (g[0][0] - g[1][0]), d2 = (g[0][0] - g[2][0]) * (g[0][0] - g[2][0]);
        /* y = +1: x2 (third row) is the closer */
        if (fabs(d1 - d2) > 1e-9)
            CU_ASSERT_EQUAL(q->t[i].y, d1 > d2 ? 1 : -1);
    }
    qd_evaluator_free(ev);
    qd_config_free(c);
    qdt_rmdir(dir);
    free(dir);
}

static void test_pca_finds_the_main_axes(void)
{
    /* points along (1, 1, 0) with spread 10, along (0, 0, 1) with spread 1 */
    enum { N = 400 };
    double f[N * 3];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    qdi_projection p = {0};
    for (size_t i = 0; i < N; i++) {
        double a = 10 * (gsl_rng_uniform(rng) - 0.5), b = gsl_rng_uniform(rng) - 0.5;
        f[3 * i] = a + 3;
        f[3 * i + 1] = a - 2;
        f[3 * i + 2] = b;
    }
    CU_ASSERT_EQUAL_FATAL(qdi_projection_fit_pca(&p, f, N, 3, 2), QD_OK);
    /* up to the sample's small correlations (measured 0.0013) */
    CU_ASSERT_DOUBLE_EQUAL(p.W[0], M_SQRT1_2, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(p.W[1], M_SQRT1_2, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(p.W[2], 0, 0.01);
    CU_ASSERT_DOUBLE_EQUAL(fabs(p.W[5]), 1, 0.01);
    CU_ASSERT(p.W[0] > 0); /* signed so the largest entry is positive */
    /* centred: the mean projects to 0 */
    double mean[3] = {0}, z[2];
    for (size_t i = 0; i < N * 3; i++)
        mean[i % 3] += f[i] / N;
    qdi_projection_apply(&p, mean, z);
    CU_ASSERT_DOUBLE_EQUAL(z[0], 0, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(z[1], 0, 1e-9);
    CU_ASSERT_EQUAL(qdi_projection_fit_pca(&p, f, 1, 3, 2), QD_EINVAL);
    qdi_projection_free(&p);
    gsl_rng_free(rng);
}

/* n rows of 6 features on a 2-d manifold (u, v uniform in [-1, 1]), or
 * 6 independent uniform features when manifold is 0. */
static void manifold_rows(double *f, size_t n, int manifold, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++) {
        double u = 2 * gsl_rng_uniform(rng) - 1, v = 2 * gsl_rng_uniform(rng) - 1, *r = f + 6 * i;
        if (!manifold) {
            for (size_t c = 0; c < 6; c++)
                r[c] = 2 * gsl_rng_uniform(rng) - 1;
            continue;
        }
        r[0] = u;
        r[1] = 3 * v + 1;
        r[2] = u + v;
        r[3] = sin(2 * u);
        r[4] = u * v;
        r[5] = cos(2 * v);
    }
}

static void test_autoencoder_reduces_reconstruction_error(void)
{
    enum { N = 500 };
    double f[N * 6];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    qdi_projection p = {0};
    qdi_ae_options o = {.hidden = 16, .epochs = 150, .batch = 32, .lr = 3e-3};
    qdi_ae_report low, noise;
    manifold_rows(f, N, 1, rng);
    CU_ASSERT_EQUAL_FATAL(qdi_projection_fit_autoencoder(&p, f, N, 6, 2, &o, rng, &low), QD_OK);
    CU_ASSERT_EQUAL(low.epochs, 150);
    CU_ASSERT_EQUAL(p.h, 16);
    /* a 2-d set through 2 latents: most of its variance comes back */
    CU_ASSERT(low.initial_error > 0.5);
    CU_ASSERT(low.error < 0.01); /* measured 0.0015 of 1.10 */
    /* 6 independent features cannot come back through 2 latents */
    manifold_rows(f, N, 0, rng);
    CU_ASSERT_EQUAL_FATAL(qdi_projection_fit_autoencoder(&p, f, N, 6, 2, &o, rng, &noise), QD_OK);
    CU_ASSERT(noise.error > 0.4);
    CU_ASSERT(noise.error > 5 * low.error);
    o.hidden = 0;
    CU_ASSERT_EQUAL(qdi_projection_fit_autoencoder(&p, f, N, 6, 2, &o, rng, NULL), QD_EINVAL);
    o.hidden = 16;
    CU_ASSERT_EQUAL(qdi_projection_fit_autoencoder(&p, f, 1, 6, 2, &o, rng, NULL), QD_EINVAL);
    CU_ASSERT_PTR_NULL(p.W1);
    qdi_projection_free(&p);
    gsl_rng_free(rng);
}

static void test_autoencoder_is_deterministic_for_a_seed(void)
{
    enum { N = 200 };
    double f[N * 6], z[3][2];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    qdi_projection p[3] = {{0}};
    qdi_ae_options o = {.hidden = 8, .epochs = 10, .batch = 32, .lr = 1e-3};
    manifold_rows(f, N, 1, rng);
    for (int i = 0; i < 3; i++) {
        qdi_rng_seed(rng, i == 2 ? 8 : 7);
        CU_ASSERT_EQUAL_FATAL(qdi_projection_fit_autoencoder(&p[i], f, N, 6, 2, &o, rng, NULL), QD_OK);
        qdi_projection_apply(&p[i], f + 6 * 11, z[i]);
    }
    CU_ASSERT(!memcmp(p[0].W1, p[1].W1, 8 * 6 * sizeof(double)));
    CU_ASSERT(!memcmp(p[0].b1, p[1].b1, 8 * sizeof(double)));
    CU_ASSERT(!memcmp(p[0].W, p[1].W, 2 * 8 * sizeof(double)));
    CU_ASSERT(!memcmp(p[0].b, p[1].b, 2 * sizeof(double)));
    CU_ASSERT(!memcmp(z[0], z[1], sizeof z[0]));
    CU_ASSERT(memcmp(p[0].W1, p[2].W1, 8 * 6 * sizeof(double)) != 0);
    CU_ASSERT(z[0][0] != z[2][0]);
    for (int i = 0; i < 3; i++)
        qdi_projection_free(&p[i]);
    gsl_rng_free(rng);
}

#define AE_EXTRA ", \"projection\": \"autoencoder\", \"hidden\": 8, \"epochs\": 15"

static void test_autoencoder_online_resumes_and_reloads(void)
{
    char *dir = qdt_tmpdir(), note[256], json[4096], path[600];
    qd_config *c0, *c1, *c2;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    qd_search *whole = build(ONLINE_CONFIG(AE_EXTRA), &c0), *first = build(ONLINE_CONFIG(AE_EXTRA), &c1), *second;
    CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    CU_ASSERT_STRING_EQUAL(whole->ev->space.measure_names[1], "ae_1");
    run_to(whole, 12);
    const qdhf *q = whole->ev->state;
    CU_ASSERT_EQUAL(cJSON_GetArraySize(q->rounds), 3); /* refitted on the archive at 4 and 9 */
    const cJSON *r = cJSON_GetArrayItem(q->rounds, 2);
    CU_ASSERT(cJSON_GetObjectItem(r, "reconstruction_error")->valuedouble <
              cJSON_GetObjectItem(r, "initial_reconstruction_error")->valuedouble);
    CU_ASSERT_EQUAL(q->n, 0); /* no judgments */
    run_to(first, 6);
    CU_ASSERT_EQUAL_FATAL(qd_search_checkpoint(first, dir), QD_OK);
    qd_search_free(first);
    qd_config_free(c1);
    second = build(ONLINE_CONFIG(AE_EXTRA), &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_EQUAL_FATAL(qd_search_resume(second, dir, note, sizeof note), QD_OK);
    run_to(second, 12);
    assert_same_run(whole, second);
    qd_search_free(second);
    qd_config_free(c2);
    /* the saved encoder reloads exactly */
    CU_ASSERT_EQUAL_FATAL(qd_search_save(whole, dir), QD_OK);
    snprintf(path, sizeof path, "%s/archive.json", dir);
    snprintf(json, sizeof json,
             "{\"type\": \"qdhf\", \"base\": {\"type\": \"arm\", \"joints\": 6, \"objective\": \"qdhf\"},"
             " \"features\": \"arm\", \"projection_file\": \"%s\"}",
             path);
    qd_evaluator *ev = evaluator(json, &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    const qdhf *b = ev->state;
    CU_ASSERT_EQUAL_FATAL(b->proj.h, 8);
    CU_ASSERT(!memcmp(q->proj.W1, b->proj.W1, 8 * 12 * sizeof(double)));
    CU_ASSERT(!memcmp(q->proj.b1, b->proj.b1, 8 * sizeof(double)));
    CU_ASSERT(!memcmp(q->proj.W, b->proj.W, 2 * 8 * sizeof(double)));
    CU_ASSERT(!memcmp(q->proj.b, b->proj.b, 2 * sizeof(double)));
    qd_evaluator_free(ev);
    qd_config_free(c2);
    qd_search_free(whole);
    qd_config_free(c0);
    qdt_rmdir(dir);
    free(dir);
}

static void test_saved_projection_measures_the_same(void)
{
    char *dir = qdt_tmpdir(), json[4096], path[600];
    qd_config *c1, *c2;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    qd_search *s = build(ONLINE_CONFIG(""), &c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run_to(s, 12);
    CU_ASSERT_EQUAL_FATAL(qd_search_save(s, dir), QD_OK);
    snprintf(path, sizeof path, "%s/archive.json", dir);
    snprintf(json, sizeof json,
             "{\"type\": \"qdhf\", \"base\": {\"type\": \"arm\", \"joints\": 6, \"objective\": \"qdhf\"},"
             " \"features\": \"arm\", \"projection_file\": \"%s\"}",
             path);
    qd_evaluator *ev = evaluator(json, &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    /* the final projection and ranges of the run, exactly */
    const qdhf *a = s->ev->state, *b = ev->state;
    CU_ASSERT(!memcmp(a->proj.W, b->proj.W, 2 * 12 * sizeof *a->proj.W));
    CU_ASSERT(!memcmp(a->proj.b, b->proj.b, 2 * sizeof *a->proj.b));
    for (size_t k = 0; k < 2; k++)
        CU_ASSERT(s->ev->space.measure_lower[k] == ev->space.measure_lower[k] &&
                  s->ev->space.measure_upper[k] == ev->space.measure_upper[k]);
    qd_evaluator_free(ev);
    qd_config_free(c2);
    /* a file without a projection is named */
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    snprintf(json, sizeof json,
             "{\"type\": \"qdhf\", \"base\": {\"type\": \"arm\", \"joints\": 6}, \"features\": \"arm\","
             " \"projection_file\": \"%s/archive.csv\"}",
             dir);
    c2 = qdt_config(json);
    CU_ASSERT_EQUAL(qd_evaluator_new(c2, &ev), QD_EINVAL);
    char want[1024];
    snprintf(want, sizeof want, "test.json: projection_file %s/archive.csv holds no \"projection\" (nor "
             "\"evaluator\".\"projection\")", dir);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c2), want);
    qd_config_free(c2);
    qd_search_free(s);
    qd_config_free(c1);
    qdt_rmdir(dir);
    free(dir);
}

static void test_ground_truth_metrics_of_the_true_measures(void)
{
    /* MAP-Elites on the arm's own measures with the truth grid equal to
     * the archive: the archive-solutions numbers are the archive's own */
    qd_config *cfg;
    qd_search *s = build("{\"seed\": 2, \"iterations\": 20, \"workers\": 1, \"evaluator\": {\"type\": \"arm\","
                         " \"joints\": 5, \"objective\": \"qdhf\"}, \"archive\": {\"type\": \"grid\", \"dims\":"
                         " [{\"bins\": 50}, {\"bins\": 50}], \"qd_score_offset\": 0}, \"mutators\": [{\"type\":"
                         " \"gaussian\", \"sigma\": 0.1, \"batch\": 40}]}",
                         &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run_to(s, 20);
    for (size_t i = 0; i < s->nhistory; i++) {
        const qd_metrics *r = &s->history[i];
        /* the archive-solutions numbers on the first, every truth_every-th
         * (default 10) and the last iteration */
        CU_ASSERT_EQUAL(!isnan(r->truth_qd_score), r->iteration == 1 || r->iteration % 10 == 0);
        CU_ASSERT(!isnan(r->truth_all_qd_score));
        if (isnan(r->truth_qd_score))
            continue;
        CU_ASSERT_DOUBLE_EQUAL(r->truth_qd_score, r->stats.norm_qd_score, 1e-9);
        CU_ASSERT_EQUAL(r->truth_coverage, r->stats.coverage);
        /* every solution ever binned: at least the archive's elites */
        CU_ASSERT(r->truth_all_coverage >= r->truth_coverage);
        CU_ASSERT(r->truth_all_qd_score >= r->truth_qd_score - 1e-9);
        CU_ASSERT(isnan(r->rebuild_coverage_before));
    }
    qd_search_free(s);
    qd_config_free(cfg);
}

static void test_online_config_errors_name_the_field(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {"{\"evaluator\": {\"type\": \"qdhf\", \"mode\": \"online\", \"schedule\": [4, 9], \"base\": {\"type\":"
         " \"arm\"}}, \"archive\": {}, \"mutators\": []}",
         "test.json: evaluator.schedule must list increasing whole iteration numbers starting with 1"},
        {ONLINE_CONFIG(", \"judgments_file\": \"x.jsonl\""),
         "test.json: evaluator.judgments_file cannot be used with mode \"online\" (its later rounds judge the "
         "archive's solutions)"},
        {ONLINE_CONFIG(", \"noise\": 1.5"), "test.json: evaluator.noise must be >= 0 and <= 1, got 1.5"},
        {"{\"mode\": \"async\", \"evaluator\": {\"type\": \"qdhf\", \"mode\": \"online\", \"triplets\": 20,"
         " \"base\": {\"type\": \"arm\", \"joints\": 3}}, \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 5},"
         " {\"bins\": 5}]}, \"mutators\": [{\"type\": \"gaussian\"}]}",
         "test.json: mode must be \"batch\": the evaluator re-learns its measures during the run"},
        {"{\"evaluator\": {\"type\": \"sphere\"}, \"truth_archive\": {}, \"archive\": {\"type\": \"grid\", \"dims\":"
         " [{\"bins\": 5}, {\"bins\": 5}]}, \"mutators\": [{\"type\": \"gaussian\"}]}",
         "test.json: truth_archive is set, but evaluator \"sphere\" has no ground-truth measures"},
    };
    for (size_t i = 0; i < QDI_ARRAY_LEN(cases); i++) {
        qd_config *c = qdt_config(cases[i].json);
        qd_search *s = NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(qd_search_new(c, &s), QD_EINVAL);
        if (strcmp(qd_config_error(c), cases[i].msg))
            fprintf(stderr, "\n  got:    %s\n  wanted: %s\n", qd_config_error(c), cases[i].msg);
        CU_ASSERT_STRING_EQUAL(qd_config_error(c), cases[i].msg);
        qd_config_free(c);
    }
}

static void test_run_seed_reaches_judge_draws_and_training(void)
{
    /* no "seed" in the evaluator: the run's seed decides the judgments and
     * the projection */
    qd_config *c1, *c2, *c3;
    qd_search *a = build(ONLINE_CONFIG(""), &c1), *b = build(ONLINE_CONFIG(""), &c2);
    char json[4096];
    snprintf(json, sizeof json, "%s", ONLINE_CONFIG(""));
    memcpy(strstr(json, "\"seed\": 5"), "\"seed\": 6", 9);
    qd_search *c = build(json, &c3);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const qdhf *qa = a->ev->state, *qb = b->ev->state, *qc = c->ev->state;
    CU_ASSERT_EQUAL(qa->seed, 5);
    CU_ASSERT_EQUAL(qc->seed, 6);
    CU_ASSERT(!memcmp(qa->genomes, qb->genomes, 3 * 60 * 6 * sizeof *qa->genomes));
    CU_ASSERT(!memcmp(qa->proj.W, qb->proj.W, 2 * 12 * sizeof *qa->proj.W));
    CU_ASSERT(memcmp(qa->genomes, qc->genomes, 3 * 60 * 6 * sizeof *qa->genomes) != 0);
    CU_ASSERT(memcmp(qa->proj.W, qc->proj.W, 2 * 12 * sizeof *qa->proj.W) != 0);
    qd_search_free(a);
    qd_search_free(b);
    qd_search_free(c);
    qd_config_free(c1);
    qd_config_free(c2);
    qd_config_free(c3);
}

static void test_metrics_csv_logs_the_rebuilds(void)
{
    char *dir = qdt_tmpdir(), path[600], *csv, *line;
    qd_config *cfg;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    qd_search *s = build(ONLINE_CONFIG(""), &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    run_to(s, 5);
    CU_ASSERT_EQUAL_FATAL(qd_search_save(s, dir), QD_OK);
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    csv = qdt_slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);
    line = strtok(csv, "\n");
    CU_ASSERT_STRING_EQUAL(line, "iteration,evaluations,failed,new,improved,filled,coverage,qd_score,norm_qd_score,"
                                 "obj_max,obj_mean,seconds,truth_qd_score,truth_coverage,truth_all_qd_score,"
                                 "truth_all_coverage,rebuild_coverage_before,rebuild_coverage_after");
    for (int it = 1; it <= 5 && (line = strtok(NULL, "\n")); it++) {
        size_t len = strlen(line);
        CU_ASSERT_EQUAL(atoi(line), it);
        /* the rebuild columns are empty but on iteration 4 */
        CU_ASSERT_EQUAL(len >= 2 && strcmp(line + len - 2, ",,") == 0, it != 4);
    }
    free(csv);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_shipped_online_example_runs_the_paper_schedule(void)
{
    /* examples/arm-qdhf-online.json, shortened to 102 iterations: round 2
     * before iteration 101, on 250 more judgments */
    const char *src = getenv("ELITES_SRCDIR");
    char path[1024], err[512];
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    snprintf(path, sizeof path, "%s/examples/arm-qdhf-online.json", src && *src ? src : ".");
    CU_ASSERT_EQUAL_FATAL(qd_config_load_file(path, &cfg, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_config_set(cfg, "iterations=102"), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_search_new(cfg, &s), QD_OK);
    run_to(s, 102);
    const qdhf *q = s->ev->state;
    static const uint64_t paper[] = {1, 101, 251, 501};
    CU_ASSERT_EQUAL(q->nschedule, 4);
    for (size_t i = 0; i < 4 && i < q->nschedule; i++)
        CU_ASSERT_EQUAL(q->schedule[i], paper[i]);
    CU_ASSERT_EQUAL(q->per_round, 250);
    CU_ASSERT_EQUAL(q->n, 500);
    CU_ASSERT_EQUAL(q->train.min_epochs, 200);
    CU_ASSERT(isnan(s->history[99].rebuild_coverage_after));
    CU_ASSERT(!isnan(s->history[100].rebuild_coverage_after));
    qd_search_free(s);
    qd_config_free(cfg);
}

static const qdt_test tests[] = {
    {"shipped online example runs the paper schedule", test_shipped_online_example_runs_the_paper_schedule},
    {"run seed reaches judge, draws and training", test_run_seed_reaches_judge_draws_and_training},
    {"metrics.csv logs the rebuilds", test_metrics_csv_logs_the_rebuilds},
    {"rounds fire before the scheduled iterations", test_rounds_fire_before_the_scheduled_iterations},
    {"rebuild keeps the best per new cell", test_rebuild_keeps_the_best_per_new_cell},
    {"resume gives the same run", test_resume_gives_the_same_run},
    {"noisy judge flips answers at its rate", test_noisy_judge_flips_answers_at_its_rate},
    {"judge evaluator answers from its measures", test_judge_evaluator_answers_from_its_measures},
    {"pca finds the main axes", test_pca_finds_the_main_axes},
    {"autoencoder reduces reconstruction error", test_autoencoder_reduces_reconstruction_error},
    {"autoencoder is deterministic for a seed", test_autoencoder_is_deterministic_for_a_seed},
    {"autoencoder online resumes and reloads", test_autoencoder_online_resumes_and_reloads},
    {"saved projection measures the same", test_saved_projection_measures_the_same},
    {"ground-truth metrics of the true measures", test_ground_truth_metrics_of_the_true_measures},
    {"online config errors name the field", test_online_config_errors_name_the_field},
    {NULL, NULL},
};

QDT_MAIN("qdhf_online", tests)
