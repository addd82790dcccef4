/* test_plugins.c - conformance checks run over every registered plug-in
 * that builds from its type name alone (as GSL's rng/test.c runs every
 * generator through the same checks): an evaluator flagged
 * QD_EVALUATOR_NO_RNG gives the same results whatever state the worker's
 * RNG is in (the loop skips seeding it); a mutator flagged QD_MUTATOR_ANY_N
 * asks and tells one job at a time; a mutator that saves its state, loaded
 * into a fresh instance with the same RNG state, asks the same genomes
 * next. Plug-ins that need more than a type name (a program, an LLM server,
 * a base evaluator) are skipped; the suite checks that enough were not. */
#include <math.h>
#include "testutil.h"

/* Names of a role, split from qd_registry_names' comma list. */
static size_t names_of(const char *role, char names[][64], size_t max)
{
    char buf[1024], *save = NULL, *tok;
    size_t n = 0;
    qd_registry_names(role, buf, sizeof buf);
    for (tok = strtok_r(buf, ", ", &save); tok && n < max; tok = strtok_r(NULL, ", ", &save))
        snprintf(names[n++], 64, "%s", tok);
    return n;
}

static qd_evaluator *evaluator_named(const char *name)
{
    char json[256];
    qd_evaluator *ev = NULL;
    snprintf(json, sizeof json, "{\"type\": \"%s\"}", name);
    qd_config *cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    if (qd_evaluator_new(cfg, &ev) != QD_OK)
        ev = NULL;
    qd_config_free(cfg);
    return ev;
}

/* Evaluates one genome with the worker's RNG seeded `seed`. */
static int evaluate_with(const qd_evaluator *ev, qd_worker *w, unsigned long seed, const double *x, double *f,
                         double *m)
{
    qd_solution sol = {.x = (double *)x, .n = ev->space.dim, .measures = m, .m = ev->space.measures};
    int rc;
    gsl_rng_set(w->rng, seed);
    rc = ev->type->evaluate(ev, &sol, w);
    *f = sol.objective;
    free(sol.meta);
    free(sol.lineage);
    return rc;
}

static void test_evaluators_flagged_no_rng_ignore_the_rng(void)
{
    char names[32][64];
    size_t n = names_of("evaluator", names, 32), checked = 0;
    gsl_rng *draw = gsl_rng_alloc(gsl_rng_mt19937);
    for (size_t i = 0; i < n; i++) {
        const qd_evaluator_type *t = qd_find_evaluator(names[i]);
        qd_evaluator *ev;
        if (!t || !(t->flags & QD_EVALUATOR_NO_RNG) || !(ev = evaluator_named(names[i])))
            continue;
        if (ev->space.kind != QD_GENOME_REAL) {
            qd_evaluator_free(ev);
            continue;
        }
        qd_worker w = {.id = 0, .rng = gsl_rng_alloc(gsl_rng_mt19937)};
        size_t dim = ev->space.dim, m = ev->space.measures;
        double *x = malloc(dim * sizeof *x), *m1 = malloc(m * sizeof *m1), *m2 = malloc(m * sizeof *m2);
        CU_ASSERT_FATAL(x && m1 && m2 && w.rng);
        if (t->worker_init)
            CU_ASSERT_EQUAL_FATAL(t->worker_init(ev, &w), QD_OK);
        for (int k = 0; k < 50; k++) {
            double f1, f2;
            for (size_t d = 0; d < dim; d++) {
                double lo = isfinite(ev->space.lower[d]) ? ev->space.lower[d] : -10;
                double hi = isfinite(ev->space.upper[d]) ? ev->space.upper[d] : 10;
                x[d] = lo + (hi - lo) * gsl_rng_uniform(draw);
            }
            CU_ASSERT_EQUAL(evaluate_with(ev, &w, 1, x, &f1, m1), QD_OK);
            CU_ASSERT_EQUAL(evaluate_with(ev, &w, 987654321, x, &f2, m2), QD_OK);
            CU_ASSERT(f1 == f2 && memcmp(m1, m2, m * sizeof *m1) == 0);
        }
        if (t->worker_fini)
            t->worker_fini(ev, &w);
        gsl_rng_free(w.rng);
        free(x);
        free(m1);
        free(m2);
        qd_evaluator_free(ev);
        checked++;
    }
    gsl_rng_free(draw);
    CU_ASSERT(checked >= 3); /* sphere, rastrigin, arm at least */
}

/* ---- mutators ----------------------------------------------------------- */

typedef struct bench {
    qd_evaluator *ev;
    qd_archive *archive;
    qd_config *acfg;
} bench;

/* A 6-D sphere and a 10x10 grid archive, seeded with 200 random elites. */
static void bench_new(bench *b)
{
    qd_config *ecfg = qdt_config("{\"type\": \"sphere\", \"dim\": 6}");
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    qd_worker w = {.rng = r};
    CU_ASSERT_PTR_NOT_NULL_FATAL(ecfg);
    CU_ASSERT_EQUAL_FATAL(qd_evaluator_new(ecfg, &b->ev), QD_OK);
    qd_config_free(ecfg);
    b->acfg = qdt_config("{\"dims\": [{\"bins\": 10}, {\"bins\": 10}]}");
    CU_ASSERT_EQUAL_FATAL(qd_archive_new(b->acfg, &b->ev->space, &b->archive), QD_OK);
    for (int k = 0; k < 200; k++) {
        double x[6], m[2];
        qd_solution sol = {.x = x, .n = 6, .measures = m, .m = 2};
        qd_add_result res;
        for (int d = 0; d < 6; d++)
            x[d] = -5.12 + 10.24 * gsl_rng_uniform(r);
        CU_ASSERT_EQUAL(b->ev->type->evaluate(b->ev, &sol, &w), QD_OK);
        CU_ASSERT_EQUAL(qd_archive_add(b->archive, &sol, &res), QD_OK);
    }
    gsl_rng_free(r);
}

static void bench_free(bench *b)
{
    qd_archive_free(b->archive);
    qd_config_free(b->acfg);
    qd_evaluator_free(b->ev);
}

static qd_mutator *mutator_named(const bench *b, const char *name)
{
    char json[256];
    qd_mutator *m = NULL;
    snprintf(json, sizeof json, "{\"type\": \"%s\", \"batch\": 8}", name);
    qd_config *cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    if (qd_mutator_new(cfg, &b->ev->space, 0, 42, &m) != QD_OK)
        m = NULL;
    qd_config_free(cfg);
    return m;
}

/* n jobs with genome and measure buffers (evaluated by the bench). */
typedef struct jobs {
    qd_job *job;
    double *x, *m, *extra;
} jobs;

/* Room for any mutator's extra numbers: 2 x the 6 genes (CMA-ES). */
enum { EXTRA = 12 };

static void jobs_new(jobs *j, size_t n)
{
    j->job = calloc(n, sizeof *j->job);
    j->x = calloc(n * 6, sizeof *j->x);
    j->m = calloc(n * 2, sizeof *j->m);
    j->extra = calloc(n * EXTRA, sizeof *j->extra);
    CU_ASSERT_FATAL(j->job && j->x && j->m && j->extra);
    for (size_t k = 0; k < n; k++) {
        j->job[k].id = k;
        j->job[k].sol = (qd_solution){.x = j->x + 6 * k, .n = 6, .measures = j->m + 2 * k, .m = 2};
        j->job[k].extra = j->extra + EXTRA * k;
    }
}

static void jobs_free(jobs *j)
{
    free(j->job);
    free(j->x);
    free(j->m);
    free(j->extra);
}

/* Asks, evaluates, adds and tells n jobs of m. */
static void cycle(bench *b, qd_mutator *m, jobs *j, size_t n)
{
    qd_worker w = {.rng = gsl_rng_alloc(gsl_rng_mt19937)};
    CU_ASSERT_EQUAL_FATAL(m->type->ask(m, b->archive, j->job, n), QD_OK);
    for (size_t k = 0; k < n; k++) {
        j->job[k].status = QD_OK;
        if (m->type->produce)
            CU_ASSERT_EQUAL(m->type->produce(m, &j->job[k], &w), QD_OK);
        CU_ASSERT_EQUAL(b->ev->type->evaluate(b->ev, &j->job[k].sol, &w), QD_OK);
        CU_ASSERT_EQUAL(qd_archive_add(b->archive, &j->job[k].sol, &j->job[k].add), QD_OK);
    }
    if (m->type->tell)
        CU_ASSERT_EQUAL(m->type->tell(m, b->archive, j->job, n), QD_OK);
    gsl_rng_free(w.rng);
}

static void test_any_n_mutators_work_one_job_at_a_time(void)
{
    char names[32][64];
    size_t n = names_of("mutator", names, 32), checked = 0;
    for (size_t i = 0; i < n; i++) {
        const qd_mutator_type *t = qd_find_mutator(names[i]);
        bench b;
        jobs j;
        qd_mutator *m;
        if (!t || !(t->flags & QD_MUTATOR_ANY_N))
            continue;
        bench_new(&b);
        if (!(m = mutator_named(&b, names[i]))) {
            bench_free(&b);
            continue;
        }
        jobs_new(&j, 1);
        for (int k = 0; k < 20; k++) {
            cycle(&b, m, &j, 1);
            for (size_t d = 0; d < 6; d++)
                CU_ASSERT(isfinite(j.x[d]));
        }
        jobs_free(&j);
        qd_mutator_free(m);
        bench_free(&b);
        checked++;
    }
    CU_ASSERT(checked >= 2); /* gaussian, isoline at least */
}

static void test_saved_mutators_ask_the_same_next(void)
{
    char names[32][64];
    size_t n = names_of("mutator", names, 32), checked = 0;
    for (size_t i = 0; i < n; i++) {
        const qd_mutator_type *t = qd_find_mutator(names[i]);
        bench b;
        jobs j1, j2;
        qd_mutator *m1, *m2;
        if (!t || !t->save || !t->load)
            continue;
        bench_new(&b);
        if (!(m1 = mutator_named(&b, names[i]))) {
            bench_free(&b);
            continue;
        }
        m2 = mutator_named(&b, names[i]);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m2);
        jobs_new(&j1, m1->batch);
        jobs_new(&j2, m1->batch);
        for (int k = 0; k < 5; k++)
            cycle(&b, m1, &j1, m1->batch);
        /* state through its JSON text, as a checkpoint carries it */
        cJSON *state = cJSON_CreateObject();
        CU_ASSERT_EQUAL_FATAL(t->save(m1, state), QD_OK);
        char *text = cJSON_PrintUnformatted(state);
        cJSON *back = cJSON_Parse(text);
        CU_ASSERT_EQUAL_FATAL(t->load(m2, back), QD_OK);
        gsl_rng_memcpy(m2->rng, m1->rng);
        m2->restarts = m1->restarts;
        CU_ASSERT_EQUAL(m1->type->ask(m1, b.archive, j1.job, m1->batch), QD_OK);
        CU_ASSERT_EQUAL(m2->type->ask(m2, b.archive, j2.job, m2->batch), QD_OK);
        /* and produce the same children from the same job streams */
        for (size_t k = 0; k < m1->batch && m1->type->produce; k++) {
            qd_worker w1 = {.rng = gsl_rng_alloc(gsl_rng_mt19937)}, w2 = {.rng = gsl_rng_alloc(gsl_rng_mt19937)};
            CU_ASSERT_FATAL(w1.rng && w2.rng);
            qdi_rng_seed(w1.rng, qdi_seed_mix(42, k));
            qdi_rng_seed(w2.rng, qdi_seed_mix(42, k));
            CU_ASSERT_EQUAL(m1->type->produce(m1, &j1.job[k], &w1), QD_OK);
            CU_ASSERT_EQUAL(m2->type->produce(m2, &j2.job[k], &w2), QD_OK);
            gsl_rng_free(w1.rng);
            gsl_rng_free(w2.rng);
        }
        CU_ASSERT(memcmp(j1.x, j2.x, m1->batch * 6 * sizeof *j1.x) == 0);
        if (m1->type->tell) { /* let them free what ask made (payloads) */
            for (size_t k = 0; k < m1->batch; k++)
                j1.job[k].status = j2.job[k].status = QD_EEVAL;
            m1->type->tell(m1, b.archive, j1.job, m1->batch);
            m2->type->tell(m2, b.archive, j2.job, m2->batch);
        }
        cJSON_Delete(state);
        cJSON_Delete(back);
        free(text);
        jobs_free(&j1);
        jobs_free(&j2);
        qd_mutator_free(m1);
        qd_mutator_free(m2);
        bench_free(&b);
        checked++;
    }
    CU_ASSERT(checked >= 3); /* gaussian, isoline, cmaes at least */
}

static const qdt_test tests[] = {
    {"evaluators flagged NO_RNG ignore the RNG", test_evaluators_flagged_no_rng_ignore_the_rng},
    {"ANY_N mutators work one job at a time", test_any_n_mutators_work_one_job_at_a_time},
    {"saved mutators ask the same next", test_saved_mutators_ask_the_same_next},
    {NULL, NULL},
};

QDT_MAIN("plugins", tests)
