/* test_cmaes.c - the CMA-ES core (mutators/cma_es.c) and the cmaes emitter
 * (mutators/cmaes.c): convergence on the sphere within the reference
 * implementation's budget, weights for fewer parents, every ranker's
 * ordering of a hand-made batch, the restart rules, CMA-MAE with
 * learning_rate 1 equal to CMA-ME and with learning_rate 0 equal to CMA-ES
 * (the optimizing emitter) through whole searches, checkpoints that
 * resume bit for bit (core and emitter), exact JSON doubles, config errors. */
#define _GNU_SOURCE /* qsort_r */
#include <math.h>
#include "testutil.h"
#include "mutators/cma_es.h"

/* ---- the CMA-ES core alone --------------------------------------------- */

static int by_value(const void *a, const void *b, void *values)
{
    const double *f = values;
    double x = f[*(const size_t *)a], y = f[*(const size_t *)b];
    return x < y ? -1 : x > y;
}

/* Evaluations until the best sample of a generation has sum x_i^2 < 1e-8
 * (default lambda and mu, x0 = (1, ..., 1), sigma0 = 0.5). */
static uint64_t evaluations_to_1e8(size_t n, unsigned long seed)
{
    size_t lambda = 4 + (size_t)floor(3.0 * log((double)n));
    double *x0 = malloc(n * sizeof *x0), *xs = malloc(lambda * n * sizeof *xs), *f = malloc(lambda * sizeof *f);
    size_t *order = malloc(lambda * sizeof *order);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    uint64_t evaluations = 0;
    qdi_cma_es *es;
    gsl_rng_set(rng, seed);
    for (size_t i = 0; i < n; i++)
        x0[i] = 1.0;
    es = qdi_cma_es_new(n, lambda, 0.5, x0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(es);
    while (evaluations < 100000) {
        double best = INFINITY;
        qdi_cma_es_ask(es, rng, xs);
        for (size_t k = 0; k < lambda; k++) {
            f[k] = 0;
            for (size_t i = 0; i < n; i++)
                f[k] += xs[k * n + i] * xs[k * n + i];
            best = fmin(best, f[k]);
            order[k] = k;
        }
        evaluations += lambda;
        if (best < 1e-8)
            break;
        qsort_r(order, lambda, sizeof *order, by_value, f);
        qdi_cma_es_tell(es, order, qdi_cma_es_mu(es));
        CU_ASSERT_FALSE(qdi_cma_es_failed(es));
    }
    CU_ASSERT_EQUAL(qdi_cma_es_evaluations(es), evaluations - lambda);
    CU_ASSERT(qdi_cma_es_decompositions(es) > 0);
    qdi_cma_es_free(es);
    gsl_rng_free(rng);
    free(x0);
    free(xs);
    free(f);
    free(order);
    return evaluations;
}

/* The reference: Hansen's purecma.py (pycma 3.0.0, the minimal reference
 * implementation, positive weights) on the same problem, x0 = 1, sigma0 =
 * 0.5, stopping at the first generation whose best f < 1e-8, mean over 100
 * seeds: 1432 evaluations in 10-D (min 1290, max 1580) and 2651 in 20-D
 * (min 2388, max 2904). purecma's d_sigma and step-size rule differ a little
 * from the tutorial's, which ours follows. Ours must be within 20% of the
 * reference, averaged over 20 seeds. */
static void test_converges_on_sphere_within_reference_budget(void)
{
    const struct {
        size_t n;
        double reference;
    } cases[] = {{10, 1432}, {20, 2651}};
    for (size_t c = 0; c < 2; c++) {
        double sum = 0;
        for (unsigned long seed = 1; seed <= 20; seed++)
            sum += (double)evaluations_to_1e8(cases[c].n, seed);
        double mean = sum / 20.0;
        printf("\n  n = %zu: %.0f evaluations (reference %.0f) ", cases[c].n, mean, cases[c].reference);
        CU_ASSERT(mean >= 0.8 * cases[c].reference);
        CU_ASSERT(mean <= 1.2 * cases[c].reference);
    }
}

/* With p parents the weights are ln(p + 1/2) - ln(i), normalised: one
 * parent moves the mean onto it; none leaves the mean and counts the
 * evaluations. */
static void test_tell_weights_follow_the_number_of_parents(void)
{
    double x0[3] = {0.5, -1, 2}, xs[8 * 3], expect[3] = {0, 0, 0}, w[3], sum = 0;
    size_t order[8] = {5, 2, 7, 0, 1, 3, 4, 6};
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    qdi_cma_es *es = qdi_cma_es_new(3, 8, 0.3, x0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(es);
    CU_ASSERT_EQUAL(qdi_cma_es_mu(es), 4);
    qdi_cma_es_ask(es, rng, xs);
    qdi_cma_es_tell(es, order, 0);
    CU_ASSERT_EQUAL(memcmp(qdi_cma_es_mean(es), x0, sizeof x0), 0);
    CU_ASSERT_EQUAL(qdi_cma_es_evaluations(es), 8);
    qdi_cma_es_ask(es, rng, xs);
    qdi_cma_es_tell(es, order, 1);
    for (size_t i = 0; i < 3; i++)
        CU_ASSERT_DOUBLE_EQUAL(qdi_cma_es_mean(es)[i], xs[5 * 3 + i], 1e-14);
    qdi_cma_es_ask(es, rng, xs);
    qdi_cma_es_tell(es, order, 3);
    for (size_t i = 0; i < 3; i++)
        sum += w[i] = log(3.5) - log((double)i + 1.0);
    for (size_t i = 0; i < 3; i++)
        for (size_t j = 0; j < 3; j++)
            expect[j] += w[i] / sum * xs[order[i] * 3 + j];
    for (size_t j = 0; j < 3; j++)
        CU_ASSERT_DOUBLE_EQUAL(qdi_cma_es_mean(es)[j], expect[j], 1e-14);
    qdi_cma_es_free(es);
    gsl_rng_free(rng);
}

/* Runs `generations` of ask + tell (ranking by the first coordinate). */
static void drive(qdi_cma_es *es, gsl_rng *rng, size_t n, size_t lambda, int generations, double *xs)
{
    double f[64];
    size_t order[64];
    for (int g = 0; g < generations; g++) {
        qdi_cma_es_ask(es, rng, xs);
        for (size_t k = 0; k < lambda; k++) {
            f[k] = 0;
            for (size_t i = 0; i < n; i++)
                f[k] += (double)(i + 1) * xs[k * n + i] * xs[k * n + i];
            order[k] = k;
        }
        qsort_r(order, lambda, sizeof *order, by_value, f);
        qdi_cma_es_tell(es, order, qdi_cma_es_mu(es));
    }
}

/* A state saved as JSON text (after some decompositions, and between ask
 * and tell), loaded into a fresh instance with the same RNG state, samples
 * the same numbers bit for bit from then on. */
static void test_core_checkpoint_resumes_bit_for_bit(void)
{
    enum { N = 6, LAMBDA = 10 };
    double x0[N] = {1, 2, 3, -1, 0, 0.5}, xa[LAMBDA * N], xb[LAMBDA * N];
    size_t order[LAMBDA];
    gsl_rng *ra = gsl_rng_alloc(gsl_rng_mt19937), *rb = gsl_rng_alloc(gsl_rng_mt19937);
    qdi_cma_es *a = qdi_cma_es_new(N, LAMBDA, 0.7, x0), *b = qdi_cma_es_new(N, LAMBDA, 0.1, x0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    drive(a, ra, N, LAMBDA, 40, xa);
    CU_ASSERT(qdi_cma_es_decompositions(a) > 2);
    qdi_cma_es_ask(a, ra, xa); /* pending: the samples are state too */
    cJSON *saved = cJSON_CreateObject();
    CU_ASSERT_EQUAL(qdi_cma_es_save(a, saved), QD_OK);
    char *text = cJSON_PrintUnformatted(saved);
    cJSON *parsed = cJSON_Parse(text);
    CU_ASSERT_EQUAL(qdi_cma_es_load(b, parsed), QD_OK);
    gsl_rng_memcpy(rb, ra);
    for (size_t k = 0; k < LAMBDA; k++)
        order[k] = (k * 7) % LAMBDA;
    qdi_cma_es_tell(a, order, 5);
    qdi_cma_es_tell(b, order, 5);
    drive(a, ra, N, LAMBDA, 30, xa);
    drive(b, rb, N, LAMBDA, 30, xb);
    CU_ASSERT_EQUAL(memcmp(xa, xb, sizeof xa), 0);
    CU_ASSERT_EQUAL(memcmp(qdi_cma_es_mean(a), qdi_cma_es_mean(b), N * sizeof(double)), 0);
    CU_ASSERT_EQUAL(qdi_cma_es_sigma(a), qdi_cma_es_sigma(b));
    CU_ASSERT_EQUAL(qdi_cma_es_decompositions(a), qdi_cma_es_decompositions(b));
    /* a checkpoint of another size is refused and leaves b as it was */
    qdi_cma_es *c = qdi_cma_es_new(N, LAMBDA + 1, 0.7, x0);
    CU_ASSERT_EQUAL(qdi_cma_es_load(c, parsed), QD_EFORMAT);
    CU_ASSERT_EQUAL(memcmp(qdi_cma_es_mean(c), x0, sizeof x0), 0);
    cJSON_DeleteItemFromObjectCaseSensitive(parsed, "C");
    CU_ASSERT_EQUAL(qdi_cma_es_load(b, parsed), QD_EFORMAT);
    CU_ASSERT_EQUAL(memcmp(qdi_cma_es_mean(a), qdi_cma_es_mean(b), N * sizeof(double)), 0);
    qdi_cma_es_free(c);
    cJSON_Delete(parsed);
    cJSON_Delete(saved);
    free(text);
    qdi_cma_es_free(a);
    qdi_cma_es_free(b);
    gsl_rng_free(ra);
    gsl_rng_free(rb);
}

/* cJSON prints 15 digits when they read back within an ulp; the helpers
 * print what reads back exactly. */
static void test_json_doubles_read_back_exactly(void)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double v[1000], back[1000], special[3] = {NAN, INFINITY, -INFINITY}, sp[3];
    for (size_t i = 0; i < 1000; i++)
        v[i] = (gsl_rng_uniform(rng) - 0.5) * pow(10.0, (double)(i % 40) - 20.0);
    v[0] = 0.1 + 0.2;
    cJSON *a = qdi_json_doubles(v, 1000), *s = qdi_json_doubles(special, 3);
    char *text = cJSON_PrintUnformatted(a), *stext = cJSON_PrintUnformatted(s);
    cJSON *pa = cJSON_Parse(text), *ps = cJSON_Parse(stext);
    CU_ASSERT_EQUAL(qdi_json_get_doubles(pa, back, 1000), QD_OK);
    CU_ASSERT_EQUAL(memcmp(v, back, sizeof v), 0);
    CU_ASSERT_EQUAL(qdi_json_get_doubles(a, back, 1000), QD_OK); /* in memory, unprinted */
    CU_ASSERT_EQUAL(memcmp(v, back, sizeof v), 0);
    CU_ASSERT_EQUAL(qdi_json_get_doubles(ps, sp, 3), QD_OK);
    CU_ASSERT(isnan(sp[0]) && sp[1] == INFINITY && sp[2] == -INFINITY);
    CU_ASSERT_EQUAL(qdi_json_get_doubles(pa, back, 999), QD_EFORMAT);
    cJSON *bad = cJSON_Parse("[1, \"x\"]");
    CU_ASSERT_EQUAL(qdi_json_get_doubles(bad, back, 2), QD_EFORMAT);
    cJSON_Delete(bad);
    cJSON_Delete(a);
    cJSON_Delete(s);
    cJSON_Delete(pa);
    cJSON_Delete(ps);
    free(text);
    free(stext);
    gsl_rng_free(rng);
}

/* ---- the emitter ------------------------------------------------------- */

enum { DIM = 3, BATCH = 8 };

typedef struct bench {
    qd_space space;
    qd_config *acfg, *mcfg;
    qd_archive *archive;
    qd_mutator *m;
    qd_job jobs[BATCH];
    double x[BATCH * DIM], measures[BATCH * 2], extra[BATCH * 2 * DIM];
    gsl_rng *rng; /* the jobs' streams, as a worker's */
    uint64_t next_job;
} bench;

/* An emitter of BATCH jobs over DIM genes and 2 measures, a 10 x 10 grid
 * over [0, 1]^2; extra is spliced into the mutator's config. */
static int bench_init(bench *b, const char *extra, uint64_t seed)
{
    char json[512];
    memset(b, 0, sizeof *b);
    qd_space_init(&b->space, QD_GENOME_REAL, DIM, 2);
    snprintf(json, sizeof json, "{\"type\": \"cmaes\", \"batch\": %d, \"sigma0\": 0.5%s}", BATCH, extra);
    b->acfg = qdt_config("{\"dims\": [{\"bins\": 10, \"range\": [0, 1]}, {\"bins\": 10, \"range\": [0, 1]}]}");
    b->mcfg = qdt_config(json);
    if (!b->acfg || !b->mcfg || qd_archive_new(b->acfg, &b->space, &b->archive) != QD_OK)
        return -1;
    if (qd_mutator_new(b->mcfg, &b->space, 0, seed, &b->m) != QD_OK) {
        fprintf(stderr, "bench_init: %s\n", qd_config_error(b->mcfg));
        return -1;
    }
    for (size_t j = 0; j < BATCH; j++) {
        b->jobs[j].sol.x = b->x + j * DIM;
        b->jobs[j].sol.n = DIM;
        b->jobs[j].sol.measures = b->measures + j * 2;
        b->jobs[j].sol.m = 2;
        b->jobs[j].extra = b->extra + j * 2 * DIM;
    }
    b->rng = gsl_rng_alloc(gsl_rng_mt19937);
    return b->rng ? 0 : -1;
}

/* Asks a batch and produces each job as a worker does, from a stream
 * seeded by the job's number. */
static int ask_batch(bench *b)
{
    qd_worker w = {.rng = b->rng};
    int rc = b->m->type->ask(b->m, b->archive, b->jobs, BATCH);
    for (size_t j = 0; j < BATCH && rc == QD_OK; j++) {
        b->jobs[j].id = b->next_job++;
        qdi_rng_seed(w.rng, qdi_seed_mix(7, b->jobs[j].id));
        rc = b->m->type->produce(b->m, &b->jobs[j], &w);
    }
    return rc;
}

static void bench_free(bench *b)
{
    if (b->rng)
        gsl_rng_free(b->rng);
    qd_mutator_free(b->m);
    qd_archive_free(b->archive);
    qd_config_free(b->acfg);
    qd_config_free(b->mcfg);
    qd_space_free(&b->space);
}

/* The emitter's CMA-ES mean and restart count, read from its checkpoint. */
static void emitter_mean(const qd_mutator *m, double *mean)
{
    cJSON *out = cJSON_CreateObject();
    CU_ASSERT_EQUAL(m->type->save(m, out), QD_OK);
    CU_ASSERT_EQUAL(qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(out, "es"),
                                                                          "mean"),
                                         mean, DIM),
                    QD_OK);
    cJSON_Delete(out);
}

/* The hand-made batch: job 3 failed; statuses, improvement values,
 * objectives and measures chosen so every ranker orders it differently.
 *   job  add status  value  objective  measures
 *   0    NOT_ADDED   -0.5   50         (0.1, 0.9)
 *   1    NEW          3.0   20         (0.8, 0.1)
 *   2    IMPROVE      5.0   90         (0.3, 0.3)
 *   3    (failed)
 *   4    NEW          1.0   99         (0.9, 0.9)
 *   5    IMPROVE      0.5   10         (0.0, 0.5)
 *   6    NOT_ADDED   -0.1   70         (0.5, 0.0)
 *   7    IMPROVE      4.0   30         (0.2, 0.7) */
static void hand_made_batch(qd_job *jobs)
{
    static const int status[BATCH] = {QD_NOT_ADDED, QD_NEW, QD_IMPROVE, QD_NOT_ADDED,
                                      QD_NEW, QD_IMPROVE, QD_NOT_ADDED, QD_IMPROVE};
    static const double value[BATCH] = {-0.5, 3.0, 5.0, 0, 1.0, 0.5, -0.1, 4.0};
    static const double objective[BATCH] = {50, 20, 90, NAN, 99, 10, 70, 30};
    static const double measures[BATCH][2] = {{0.1, 0.9}, {0.8, 0.1}, {0.3, 0.3}, {NAN, NAN},
                                              {0.9, 0.9}, {0.0, 0.5}, {0.5, 0.0}, {0.2, 0.7}};
    for (size_t j = 0; j < BATCH; j++) {
        jobs[j].status = j == 3 ? QD_EEVAL : QD_OK;
        jobs[j].add.status = (qd_add_status)status[j];
        jobs[j].add.value = value[j];
        jobs[j].add.cell = 0;
        jobs[j].sol.objective = objective[j];
        jobs[j].sol.measures[0] = measures[j][0];
        jobs[j].sol.measures[1] = measures[j][1];
    }
}

/* sum_i w_i x[order[i]] for p parents (log-linear weights). */
static void recombine(const double *x, const size_t *order, size_t p, double *mean)
{
    double w[BATCH], sum = 0;
    for (size_t i = 0; i < p; i++)
        sum += w[i] = log((double)p + 0.5) - log((double)i + 1.0);
    for (size_t j = 0; j < DIM; j++) {
        mean[j] = 0;
        for (size_t i = 0; i < p; i++)
            mean[j] += w[i] / sum * x[order[i] * DIM + j];
    }
}

static int close_to(const double *a, const double *b, double tol)
{
    for (size_t j = 0; j < DIM; j++)
        if (fabs(a[j] - b[j]) > tol)
            return 0;
    return 1;
}

/* Nonzero when no ordered choice of p parents other than expect gives a
 * mean within tol of mean (so the mean pins down the ranking). */
static int only_order_with_mean(const double *x, const size_t *expect, size_t p, const double *mean, double tol)
{
    size_t pick[BATCH];
    int used[BATCH] = {0}, others = 0;
    /* depth-first over ordered p-tuples of distinct jobs */
    size_t depth = 0;
    pick[0] = 0;
    for (;;) {
        if (pick[depth] == BATCH) {
            if (depth == 0)
                break;
            depth--;
            used[pick[depth]] = 0;
            pick[depth]++;
            continue;
        }
        if (used[pick[depth]]) {
            pick[depth]++;
            continue;
        }
        if (depth + 1 == p) {
            double m[DIM];
            recombine(x, pick, p, m);
            if (memcmp(pick, expect, p * sizeof *pick) != 0 && close_to(m, mean, tol))
                others++;
            pick[depth]++;
            continue;
        }
        used[pick[depth]] = 1;
        depth++;
        pick[depth] = 0;
    }
    return others == 0;
}

/* Each ranker on the hand-made batch: the new mean must be the weighted
 * recombination of exactly the expected parents in the expected order. */
static void test_rankers_order_a_hand_made_batch_exactly(void)
{
    static const struct {
        const char *ranker, *selection, *direction;
        size_t parents;
        size_t order[5];
    } cases[] = {
        /* by value: 2 (5.0), 7 (4.0), 1 (3.0), 4 (1.0), then 5, 6, 0, failed 3 */
        {"improvement", "mu", NULL, 4, {2, 7, 1, 4}},
        /* new cells 1, 4; improved 2, 7, 5; not added 6, 0; failed 3 */
        {"two_stage_improvement", "mu", NULL, 4, {1, 4, 2, 7}},
        /* filter: the five solutions the archive took */
        {"two_stage_improvement", "filter", NULL, 5, {1, 4, 2, 7, 5}},
        /* by objective: 4 (99), 2 (90), 6 (70), 0 (50), ... */
        {"objective", "mu", NULL, 4, {4, 2, 6, 0}},
        /* direction (0.6, 0.8): projections 0: 0.78, 1: 0.56, 2: 0.42,
         * 4: 1.26, 5: 0.40, 6: 0.30, 7: 0.68 */
        {"random_direction", "mu", "[0.6, 0.8]", 4, {4, 0, 7, 1}},
        /* new 4 (1.26), 1 (0.56); improved 7 (0.68), 2 (0.42), 5 (0.40) */
        {"two_stage_random_direction", "mu", "[0.6, 0.8]", 4, {4, 1, 7, 2}},
    };
    for (size_t c = 0; c < QDI_ARRAY_LEN(cases); c++) {
        bench b;
        char extra[256];
        double x[BATCH * DIM], mean[DIM], expect[DIM];
        snprintf(extra, sizeof extra, ", \"ranker\": \"%s\", \"selection\": \"%s\", \"restart\": \"basic\"",
                 cases[c].ranker, cases[c].selection);
        CU_ASSERT_FATAL(bench_init(&b, extra, 7 + c) == 0);
        if (cases[c].direction) { /* a known direction, through a checkpoint */
            cJSON *state = cJSON_CreateObject();
            CU_ASSERT_EQUAL(b.m->type->save(b.m, state), QD_OK);
            cJSON_ReplaceItemInObjectCaseSensitive(state, "direction", cJSON_Parse(cases[c].direction));
            CU_ASSERT_EQUAL(b.m->type->load(b.m, state), QD_OK);
            cJSON_Delete(state);
        }
        CU_ASSERT_EQUAL(ask_batch(&b), QD_OK);
        memcpy(x, b.x, sizeof x);
        hand_made_batch(b.jobs);
        CU_ASSERT_EQUAL(b.m->type->tell(b.m, b.archive, b.jobs, BATCH), QD_OK);
        CU_ASSERT_EQUAL(b.m->restarts, 0);
        emitter_mean(b.m, mean);
        recombine(x, cases[c].order, cases[c].parents, expect);
        if (!close_to(mean, expect, 1e-12))
            printf("\n  %s/%s: mean does not match the expected ranking ", cases[c].ranker, cases[c].selection);
        CU_ASSERT(close_to(mean, expect, 1e-12));
        CU_ASSERT(only_order_with_mean(x, cases[c].order, cases[c].parents, mean, 1e-9));
        bench_free(&b);
    }
}

/* Runs one generation with every job given the same status and objective. */
static void uniform_generation(bench *b, qd_add_status status, double objective)
{
    CU_ASSERT_EQUAL(ask_batch(b), QD_OK);
    for (size_t j = 0; j < BATCH; j++) {
        b->jobs[j].status = QD_OK;
        b->jobs[j].add.status = status;
        b->jobs[j].add.value = objective - (double)j;
        b->jobs[j].sol.objective = objective;
        b->jobs[j].sol.measures[0] = b->jobs[j].sol.measures[1] = 0.5;
    }
    CU_ASSERT_EQUAL(b->m->type->tell(b->m, b->archive, b->jobs, BATCH), QD_OK);
}

/* no_improvement restarts when nothing was added; basic restarts on flat
 * ranking values and not on a generation with nothing added. */
static void test_restart_rules(void)
{
    bench b;
    CU_ASSERT_FATAL(bench_init(&b, ", \"restart\": \"no_improvement\"", 3) == 0);
    uniform_generation(&b, QD_IMPROVE, 1.0);
    CU_ASSERT_EQUAL(b.m->restarts, 0);
    uniform_generation(&b, QD_NOT_ADDED, 1.0);
    CU_ASSERT_EQUAL(b.m->restarts, 1);
    bench_free(&b);

    CU_ASSERT_FATAL(bench_init(&b, ", \"restart\": \"basic\", \"ranker\": \"objective\"", 3) == 0);
    uniform_generation(&b, QD_NOT_ADDED, 1.0); /* flat objectives */
    CU_ASSERT_EQUAL(b.m->restarts, 1);
    bench_free(&b);

    CU_ASSERT_FATAL(bench_init(&b, ", \"restart\": \"basic\", \"ranker\": \"improvement\", \"selection\": \"mu\"", 3) == 0);
    uniform_generation(&b, QD_NOT_ADDED, 1.0); /* values differ: no stop */
    CU_ASSERT_EQUAL(b.m->restarts, 0);
    bench_free(&b);
}

static void test_bad_configs_name_field_and_value(void)
{
    static const struct {
        const char *json, *error;
    } cases[] = {
        {"{\"type\": \"cmaes\", \"batch\": 1}", "test.json: batch must be >= 2 for CMA-ES, got 1"},
        {"{\"type\": \"cmaes\", \"sigma0\": -0.5}", "test.json: sigma0 must be > 0, got -0.5"},
        {"{\"type\": \"cmaes\", \"ranker\": \"best\"}", "test.json: ranker"},
        {"{\"type\": \"cmaes\", \"restart\": \"never\"}", "test.json: restart"},
    };
    for (size_t c = 0; c < QDI_ARRAY_LEN(cases); c++) {
        qd_space sp;
        qd_mutator *m = NULL;
        qd_config *cfg = qdt_config(cases[c].json);
        qd_space_init(&sp, QD_GENOME_REAL, 4, 2);
        CU_ASSERT_EQUAL(qd_mutator_new(cfg, &sp, 0, 1, &m), QD_EINVAL);
        CU_ASSERT_PTR_NULL(m);
        if (strncmp(qd_config_error(cfg), cases[c].error, strlen(cases[c].error)) != 0)
            printf("\n  got: %s ", qd_config_error(cfg));
        CU_ASSERT_EQUAL(strncmp(qd_config_error(cfg), cases[c].error, strlen(cases[c].error)), 0);
        qd_config_free(cfg);
        qd_space_free(&sp);
    }
}

/* One generation of the emitter against its archive: the jobs are scored
 * (objective -sum (x_i - 0.3)^2, measures = the first two genes) and added. */
static void emitter_generation(bench *b)
{
    qd_add_result res[BATCH];
    const qd_solution *sols[BATCH];
    CU_ASSERT_EQUAL(ask_batch(b), QD_OK);
    for (size_t j = 0; j < BATCH; j++) {
        qd_solution *s = &b->jobs[j].sol;
        s->objective = 0;
        for (size_t i = 0; i < DIM; i++)
            s->objective -= (s->x[i] - 0.3) * (s->x[i] - 0.3);
        s->measures[0] = s->x[0];
        s->measures[1] = s->x[1];
        b->jobs[j].status = QD_OK;
        sols[j] = s;
    }
    CU_ASSERT_EQUAL(qd_archive_add_batch(b->archive, sols, BATCH, res), QD_OK);
    for (size_t j = 0; j < BATCH; j++)
        b->jobs[j].add = res[j];
    CU_ASSERT_EQUAL(b->m->type->tell(b->m, b->archive, b->jobs, BATCH), QD_OK);
}

/* Saved after k generations (through JSON text), loaded into a fresh
 * emitter of another seed with the RNG state copied (the mutator's RNG is
 * the search's to checkpoint), both continue with equal archives: every
 * sample is bit-identical and so is the final checkpoint. */
static void test_emitter_checkpoint_resumes_identically(void)
{
    bench a, b;
    const char *extra = ", \"ranker\": \"two_stage_improvement\", \"selection\": \"filter\", "
                        "\"restart\": \"no_improvement\"";
    CU_ASSERT_FATAL(bench_init(&a, extra, 11) == 0);
    CU_ASSERT_FATAL(bench_init(&b, extra, 99) == 0);
    for (int g = 0; g < 80; g++) {
        qd_add_result res[BATCH];
        const qd_solution *sols[BATCH];
        emitter_generation(&a);
        for (size_t j = 0; j < BATCH; j++)
            sols[j] = &a.jobs[j].sol;
        CU_ASSERT_EQUAL(qd_archive_add_batch(b.archive, sols, BATCH, res), QD_OK); /* b's archive follows */
    }
    printf("\n  restarts before the checkpoint: %llu ", (unsigned long long)a.m->restarts);
    CU_ASSERT(a.m->restarts > 0); /* the state includes a restart */
    cJSON *saved = cJSON_CreateObject();
    CU_ASSERT_EQUAL(a.m->type->save(a.m, saved), QD_OK);
    char *text = cJSON_PrintUnformatted(saved);
    cJSON *parsed = cJSON_Parse(text);
    CU_ASSERT_EQUAL(b.m->type->load(b.m, parsed), QD_OK);
    gsl_rng_memcpy(b.m->rng, a.m->rng);
    b.next_job = a.next_job; /* the jobs' streams go on, as a checkpoint's next_job */
    CU_ASSERT_EQUAL(b.m->restarts, a.m->restarts);
    int identical = 1;
    for (int g = 0; g < 40; g++) {
        emitter_generation(&a);
        emitter_generation(&b);
        identical &= memcmp(a.x, b.x, sizeof a.x) == 0;
    }
    CU_ASSERT(identical);
    cJSON *end_a = cJSON_CreateObject(), *end_b = cJSON_CreateObject();
    a.m->type->save(a.m, end_a);
    b.m->type->save(b.m, end_b);
    char *ta = cJSON_PrintUnformatted(end_a), *tb = cJSON_PrintUnformatted(end_b);
    CU_ASSERT_STRING_EQUAL(ta, tb);
    free(ta);
    free(tb);
    cJSON_Delete(end_a);
    cJSON_Delete(end_b);
    cJSON_Delete(saved);
    cJSON_Delete(parsed);
    free(text);
    bench_free(&a);
    bench_free(&b);
}

/* ---- whole searches ---------------------------------------------------- */

static qd_search *run_search_ranked(const char *archive_extra, const char *ranker, qd_config **cfg_out)
{
    char json[1024];
    qd_search *s = NULL;
    snprintf(json, sizeof json,
             "{\"seed\": 5, \"iterations\": 60, \"workers\": 1,"
             " \"evaluator\": {\"type\": \"sphere\", \"dim\": 10},"
             " \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 20}, {\"bins\": 20}]%s},"
             " \"mutators\": [{\"type\": \"cmaes\", \"count\": 3, \"batch\": 12, \"sigma0\": 0.5, \"clip\": true,"
             " \"ranker\": \"%s\", \"selection\": \"mu\", \"restart\": \"basic\"}]}",
             archive_extra, ranker);
    *cfg_out = qdt_config(json);
    if (!*cfg_out || qd_search_new(*cfg_out, &s) != QD_OK) {
        fprintf(stderr, "run_search: %s\n", *cfg_out ? qd_config_error(*cfg_out) : "bad JSON");
        return NULL;
    }
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK)
            break;
    return s;
}

static qd_search *run_search(const char *archive_extra, qd_config **cfg_out)
{
    return run_search_ranked(archive_extra, "improvement", cfg_out);
}

/* Elites of b that equal a's, cell for cell, bit for bit. */
static size_t same_elites(const qd_archive *a, const qd_archive *b)
{
    size_t same = 0;
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite ea, eb;
        qd_archive_elite_at(a, i, &ea);
        if (qd_archive_elite(b, ea.cell, &eb) != QD_OK)
            continue;
        same += ea.objective == eb.objective && ea.threshold == eb.threshold &&
                memcmp(ea.x, eb.x, ea.n * sizeof *ea.x) == 0 &&
                memcmp(ea.measures, eb.measures, ea.m * sizeof *ea.measures) == 0;
    }
    return same;
}

/* CMA-MAE with learning rate 1 is CMA-ME: the same archive, elite for
 * elite, bit for bit. threshold_min is 0 and the emitters clip to the box,
 * where the sphere's objective is in [0, 100]: then a new cell's
 * improvement value (f - threshold_min) is CMA-ME's (f). Without clipping
 * the two part ways as soon as a sample far outside the box scores below
 * 0 (CMA-ME takes it into an empty cell, CMA-MAE does not); a threshold_min
 * far below every objective instead would shift the values of new cells
 * and change the improvement ranking. */
static void test_learning_rate_one_equals_cma_me(void)
{
    qd_config *ca, *cb;
    qd_search *me = run_search("", &ca), *mae = run_search(", \"learning_rate\": 1, \"threshold_min\": 0", &cb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(me);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mae);
    const qd_archive *a = qd_search_archive(me), *b = qd_search_archive(mae);
    CU_ASSERT_EQUAL(qd_search_counts(me)->iterations, 60);
    CU_ASSERT(qd_archive_filled(a) > 20);
    CU_ASSERT_EQUAL(qd_archive_filled(a), qd_archive_filled(b));
    CU_ASSERT_EQUAL(same_elites(a, b), qd_archive_filled(a));
    CU_ASSERT_EQUAL(qd_search_counts(me)->improved, qd_search_counts(mae)->improved);
    /* and an annealing archive (0.5) does differ, so the check can fail */
    qd_config *cc;
    qd_search *other = run_search(", \"learning_rate\": 0.5, \"threshold_min\": 0", &cc);
    CU_ASSERT_PTR_NOT_NULL_FATAL(other);
    CU_ASSERT_NOT_EQUAL(qd_search_counts(me)->improved, qd_search_counts(other)->improved);
    qd_search_free(me);
    qd_search_free(mae);
    qd_search_free(other);
    qd_config_free(ca);
    qd_config_free(cb);
    qd_config_free(cc);
}

/* CMA-MAE with learning rate 0 is CMA-ES: the thresholds never leave
 * threshold_min (0), so every improvement value is f - 0 = f and the
 * improvement ranker orders each batch by objective, as the optimizing
 * emitter ("objective" ranker) does. Both searches draw the same samples and
 * build the same archive, bit for bit (the emitters clip to the box, where
 * the sphere's objective is in [0, 100]). With learning rate 0.01 the
 * thresholds move and the two part ways, so the check can fail. */
static void test_learning_rate_zero_equals_cma_es(void)
{
    const char *lr0 = ", \"learning_rate\": 0, \"threshold_min\": 0";
    const char *lr001 = ", \"learning_rate\": 0.01, \"threshold_min\": 0";
    qd_config *ca, *cb, *cc, *cd;
    qd_search *mae = run_search_ranked(lr0, "improvement", &ca), *es = run_search_ranked(lr0, "objective", &cb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mae);
    CU_ASSERT_PTR_NOT_NULL_FATAL(es);
    const qd_archive *a = qd_search_archive(mae), *b = qd_search_archive(es);
    CU_ASSERT_EQUAL(qd_search_counts(mae)->iterations, 60);
    CU_ASSERT(qd_archive_filled(a) > 20);
    CU_ASSERT_EQUAL(qd_archive_filled(a), qd_archive_filled(b));
    CU_ASSERT_EQUAL(same_elites(a, b), qd_archive_filled(a));
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite e;
        qd_archive_elite_at(a, i, &e);
        CU_ASSERT_EQUAL(e.threshold, 0.0);
    }
    qd_search *mae2 = run_search_ranked(lr001, "improvement", &cc), *es2 = run_search_ranked(lr001, "objective", &cd);
    CU_ASSERT_PTR_NOT_NULL_FATAL(mae2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(es2);
    CU_ASSERT(same_elites(qd_search_archive(mae2), qd_search_archive(es2)) < qd_archive_filled(qd_search_archive(mae2)));
    qd_search_free(mae);
    qd_search_free(es);
    qd_search_free(mae2);
    qd_search_free(es2);
    qd_config_free(ca);
    qd_config_free(cb);
    qd_config_free(cc);
    qd_config_free(cd);
}

static const qdt_test tests[] = {
    {"converges on sphere within reference budget", test_converges_on_sphere_within_reference_budget},
    {"tell weights follow the number of parents", test_tell_weights_follow_the_number_of_parents},
    {"core checkpoint resumes bit for bit", test_core_checkpoint_resumes_bit_for_bit},
    {"JSON doubles read back exactly", test_json_doubles_read_back_exactly},
    {"rankers order a hand-made batch exactly", test_rankers_order_a_hand_made_batch_exactly},
    {"restart rules", test_restart_rules},
    {"bad configs name field and value", test_bad_configs_name_field_and_value},
    {"emitter checkpoint resumes identically", test_emitter_checkpoint_resumes_identically},
    {"learning rate one equals CMA-ME", test_learning_rate_one_equals_cma_me},
    {"learning rate zero equals CMA-ES", test_learning_rate_zero_equals_cma_es},
    {NULL, NULL},
};

QDT_MAIN("cmaes", tests)
