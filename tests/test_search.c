/* test_search.c - the search loop (src/search.c) and what it leaves on disk
 * (src/search_save.c, archive/save_json.c, archive/csv.c, archive/load_json.c):
 * the same seed gives byte-identical archive.json and archive.csv, another
 * seed another archive, the JSON -> load -> save round trip gives the same
 * bytes, archive.csv has the right header and one row per elite,
 * metrics.csv one row per iteration; a short MAP-Elites run on the sphere
 * reaches a stated coverage; failed jobs (a test evaluator that refuses
 * some jobs, returns NaN objectives or infinite measures) are counted by
 * reason and written to failures.jsonl while the run goes on; and the
 * archive is the same bit for bit for 1, 2, 7 and 32 workers. */
#include <math.h>
#include <gsl/gsl_rng.h>
#include "testutil.h"

/* ---- test plug-ins ------------------------------------------------------ */

/* "flaky": a cheap evaluator over two unbounded genes and more whose job
 * number is read from x[0] (exact with the job_counter mutator below).
 * Job k fails (qd_worker_fail) when k % fail_every == fail_every - 1,
 * returns a NaN objective when k % nan_every == nan_every - 1, an infinite
 * measure when k % inf_every == inf_every - 1 (checked in that order; 0
 * turns a rule off). "noise" adds noise * U(0,1) from the worker's RNG to
 * the objective (so results depend on per-job seeding), "meta" attaches a
 * JSON text with spaces, commas and quotes, "distinct" gives each failed
 * job its own reason. */
typedef struct flaky {
    long fail_every, nan_every, inf_every;
    double noise;
    int meta, distinct;
} flaky;

static int flaky_init(qd_evaluator *ev, qd_config *cfg)
{
    flaky *f = ev->state;
    long dim = 4;
    f->fail_every = 7;
    if (qd_config_int(cfg, "dim", &dim, ">= 2") || qd_config_int(cfg, "fail_every", &f->fail_every, ">= 0") ||
        qd_config_int(cfg, "nan_every", &f->nan_every, ">= 0") ||
        qd_config_int(cfg, "inf_every", &f->inf_every, ">= 0") || qd_config_number(cfg, "noise", &f->noise, ">= 0") ||
        qd_config_bool(cfg, "meta", &f->meta) || qd_config_bool(cfg, "distinct", &f->distinct))
        return QD_EINVAL;
    return qdt_space(&ev->space, (size_t)dim, NAN, NAN, 0, 10, 0, 101);
}

static int hits(long k, long every)
{
    return every > 0 && k >= 0 && k % every == every - 1;
}

static int flaky_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const flaky *f = ev->state;
    long k = lround(sol->x[0]);
    if (hits(k, f->fail_every))
        return f->distinct ? qd_worker_fail(w, "flaky: job %ld fails", k)
                           : qd_worker_fail(w, "flaky: every %ldth job fails", f->fail_every);
    sol->objective = 50.0 + 50.0 * sin(sol->x[0] + 2.0 * sol->x[1]) + f->noise * gsl_rng_uniform(w->rng);
    sol->measures[0] = fabs(fmod(sol->x[0], 10.0));
    sol->measures[1] = fabs(fmod(0.37 * sol->x[1], 10.0));
    if (hits(k, f->nan_every))
        sol->objective = NAN;
    else if (hits(k, f->inf_every))
        sol->measures[1] = INFINITY;
    if (f->meta) {
        char meta[128];
        snprintf(meta, sizeof meta, "{\"job\": %ld, \"note\": \"a, \\\"b\\\"\"}", k);
        if (qd_solution_set_meta(sol, meta) != QD_OK)
            return qd_worker_fail(w, "flaky: out of memory");
    }
    return QD_OK;
}

static const qd_evaluator_type flaky_type = {
    .name = "flaky",
    .state_size = sizeof(flaky),
    .init = flaky_init,
    .evaluate = flaky_evaluate,
};

/* "job_counter": sets x[0] = x[1] = the job number, other genes 0, so the
 * flaky evaluator knows which job it sees. */
static int counter_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    long batch = 10;
    (void)space;
    if (qd_config_int(cfg, "batch", &batch, ">= 1"))
        return QD_EINVAL;
    m->batch = (size_t)batch;
    return QD_OK;
}

static int counter_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    (void)m;
    (void)a;
    for (size_t j = 0; j < n; j++) {
        for (size_t i = 0; i < jobs[j].sol.n; i++)
            jobs[j].sol.x[i] = 0;
        jobs[j].sol.x[0] = jobs[j].sol.x[1] = (double)jobs[j].id;
    }
    return QD_OK;
}

static const qd_mutator_type counter_type = {
    .name = "job_counter",
    .init = counter_init,
    .ask = counter_ask,
};

static void register_test_types(void)
{
    static int done;
    if (!done) {
        CU_ASSERT_EQUAL(qd_register_evaluator(&flaky_type), QD_OK);
        CU_ASSERT_EQUAL(qd_register_mutator(&counter_type), QD_OK);
        done = 1;
    }
}

/* ---- helpers ------------------------------------------------------------ */

/* A short MAP-Elites run on the 10-D sphere: 20x20 grid, gaussian
 * mutator from x0 = 0, 30 iterations of 100. %s: extra top-level fields. */
#define SPHERE_CONFIG                                                                                          \
    "{\"iterations\": 30, \"workers\": 1, %s"                                                                  \
    "\"evaluator\": {\"type\": \"sphere\", \"dim\": 10},"                                                      \
    "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 20}, {\"bins\": 20}]},"                           \
    "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 100, \"init\": \"x0\", \"x0\": 0}]}"

/* Runs a config to its end and saves into dir; returns the search (the
 * caller frees it and *cfg) or NULL. */
static qd_search *run_to(const char *json, const char *dir, qd_config **cfg)
{
    qd_search *s = NULL;
    *cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*cfg);
    if (qd_search_new(*cfg, &s) != QD_OK) {
        fprintf(stderr, "run_to: %s\n", qd_config_error(*cfg));
        CU_FAIL("qd_search_new failed");
        return NULL;
    }
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "run_to: %s\n", qd_search_error(s));
            CU_FAIL("qd_search_step failed");
            break;
        }
    if (qd_search_save(s, dir) != QD_OK) {
        fprintf(stderr, "run_to: %s\n", qd_search_error(s));
        CU_FAIL("qd_search_save failed");
    }
    return s;
}

/* Runs a config in a fresh folder and frees the search; returns the
 * folder (caller frees it and removes it with qdt_rmdir). */
static char *run_in_tmp(const char *json)
{
    char *dir = qdt_tmpdir();
    qd_config *cfg = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    qd_search_free(run_to(json, dir, &cfg));
    qd_config_free(cfg);
    return dir;
}

/* Contents of dir/name (caller frees), NULL if unreadable. */
static char *slurp_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return qdt_slurp(path);
}

/* 1 if dir_a/name and dir_b/name exist and hold the same bytes. */
static int same_file(const char *dir_a, const char *dir_b, const char *name)
{
    char *a = slurp_in(dir_a, name), *b = slurp_in(dir_b, name);
    int same = a && b && strcmp(a, b) == 0;
    if (!same)
        fprintf(stderr, "\n  %s differs between %s and %s\n", name, dir_a, dir_b);
    free(a);
    free(b);
    return same;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; s && *s; s++)
        n += *s == '\n';
    return n;
}

/* Splits one CSV record (RFC 4180 quoting) starting at *p into at most max
 * malloc'd fields; advances *p past the record's newline. Returns the
 * number of fields, or -1 for a malformed record. */
static int csv_record(const char **p, char **fields, int max)
{
    const char *s = *p;
    int n = 0;
    for (;;) {
        char *f = malloc(strlen(s) + 1);
        size_t len = 0;
        if (!f)
            return -1;
        if (*s == '"') {
            for (s++;; s++) {
                if (*s == '\0') {
                    free(f);
                    return -1;
                }
                if (*s == '"') {
                    if (s[1] != '"')
                        break;
                    s++;
                }
                f[len++] = *s;
            }
            s++;
        } else {
            while (*s && *s != ',' && *s != '\n')
                f[len++] = *s++;
        }
        f[len] = '\0';
        if (n == max) {
            free(f);
            return -1;
        }
        fields[n++] = f;
        if (*s == ',') {
            s++;
            continue;
        }
        if (*s == '\n')
            s++;
        else if (*s) {
            return -1; /* text after a closing quote */
        }
        *p = s;
        return n;
    }
}

static void free_fields(char **fields, int n)
{
    for (int i = 0; i < n; i++)
        free(fields[i]);
}

/* ---- determinism and outputs ------------------------------------------- */

static void test_same_seed_gives_identical_archive_files(void)
{
    char json[2048];
    snprintf(json, sizeof json, SPHERE_CONFIG, "\"seed\": 5,");
    char *a = run_in_tmp(json), *b = run_in_tmp(json);
    CU_ASSERT(same_file(a, b, "archive.json"));
    CU_ASSERT(same_file(a, b, "archive.csv"));
    /* and the archive is not trivially empty */
    char *csv = slurp_in(a, "archive.csv");
    CU_ASSERT(count_lines(csv) > 50);
    free(csv);
    qdt_rmdir(a);
    qdt_rmdir(b);
    free(a);
    free(b);
}

static void test_different_seeds_give_different_archives(void)
{
    char json[2048];
    snprintf(json, sizeof json, SPHERE_CONFIG, "\"seed\": 5,");
    char *a = run_in_tmp(json);
    snprintf(json, sizeof json, SPHERE_CONFIG, "\"seed\": 6,");
    char *b = run_in_tmp(json);
    char *ca = slurp_in(a, "archive.csv"), *cb = slurp_in(b, "archive.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    CU_ASSERT(strcmp(ca, cb) != 0);
    free(ca);
    free(cb);
    qdt_rmdir(a);
    qdt_rmdir(b);
    free(a);
    free(b);
}

/* Loads dir/archive.json, saves it again (keeping the header fields as
 * `elites export --json` does) and checks both files come back byte for
 * byte. */
static void check_round_trip(const char *dir)
{
    char in[1024], out_json[1024], out_csv[1024], err[1024];
    qd_archive *a = NULL;
    cJSON *top = NULL, *extra = cJSON_CreateObject();
    const cJSON *item;
    snprintf(in, sizeof in, "%s/archive.json", dir);
    snprintf(out_json, sizeof out_json, "%s/again.json", dir);
    snprintf(out_csv, sizeof out_csv, "%s/again.csv", dir);
    CU_ASSERT_PTR_NOT_NULL_FATAL(extra);
    if (qd_archive_load_json(in, &a, &top, err, sizeof err) != QD_OK) {
        fprintf(stderr, "\n  load: %s\n", err);
        CU_FAIL("qd_archive_load_json failed");
        cJSON_Delete(extra);
        return;
    }
    cJSON_ArrayForEach(item, top) {
        const char *k = item->string;
        if (strcmp(k, "format") && strcmp(k, "format_version") && strcmp(k, "archive") && strcmp(k, "stats") &&
            strcmp(k, "elites"))
            cJSON_AddItemToObject(extra, k, cJSON_Duplicate(item, 1));
    }
    CU_ASSERT_EQUAL(qd_archive_save_json(a, extra, out_json, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(qd_archive_save_csv(a, out_csv, err, sizeof err), QD_OK);
    char *j0 = slurp_in(dir, "archive.json"), *j1 = slurp_in(dir, "again.json");
    char *c0 = slurp_in(dir, "archive.csv"), *c1 = slurp_in(dir, "again.csv");
    CU_ASSERT_PTR_NOT_NULL(j1);
    CU_ASSERT_PTR_NOT_NULL(c1);
    CU_ASSERT(j0 && j1 && strcmp(j0, j1) == 0);
    CU_ASSERT(c0 && c1 && strcmp(c0, c1) == 0);
    free(j0);
    free(j1);
    free(c0);
    free(c1);
    cJSON_Delete(extra);
    cJSON_Delete(top);
    qd_archive_free(a);
}

static void test_json_round_trip_gives_identical_json_and_csv(void)
{
    char json[2048];
    register_test_types();
    /* grid archive, real genome */
    snprintf(json, sizeof json, SPHERE_CONFIG, "\"seed\": 3,");
    char *dir = run_in_tmp(json);
    check_round_trip(dir);
    qdt_rmdir(dir);
    free(dir);
    /* CVT archive (centroids saved in the file) */
    dir = run_in_tmp("{\"seed\": 4, \"iterations\": 10, \"workers\": 1,"
                     "\"evaluator\": {\"type\": \"sphere\", \"dim\": 6},"
                     "\"archive\": {\"type\": \"cvt\", \"cells\": 50, \"samples\": 2000},"
                     "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 50}]}");
    check_round_trip(dir);
    qdt_rmdir(dir);
    free(dir);
    /* elites with meta: JSON text with spaces, commas and quotes */
    dir = run_in_tmp("{\"seed\": 4, \"iterations\": 3, \"workers\": 1,"
                     "\"evaluator\": {\"type\": \"flaky\", \"fail_every\": 0, \"meta\": true},"
                     "\"archive\": {\"dims\": [{\"bins\": 5}, {\"bins\": 5}]},"
                     "\"mutators\": [{\"type\": \"job_counter\", \"batch\": 20}]}");
    check_round_trip(dir);
    qdt_rmdir(dir);
    free(dir);
}

static void test_csv_has_header_and_one_row_per_elite(void)
{
    char json[2048], want[4096];
    qd_config *cfg = NULL;
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(json, sizeof json, SPHERE_CONFIG, "\"seed\": 8,");
    qd_search *s = run_to(json, dir, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const qd_archive *a = qd_search_result_archive(s);
    char *csv = slurp_in(dir, "archive.csv"), *fields[64];
    const char *p = csv;
    CU_ASSERT_PTR_NOT_NULL_FATAL(csv);

    /* header: index, objective, measures_0..1, solution_0..9 */
    size_t wl = (size_t)snprintf(want, sizeof want, "index,objective,measures_0,measures_1");
    for (int j = 0; j < 10; j++)
        wl += (size_t)snprintf(want + wl, sizeof want - wl, ",solution_%d", j);
    int n = csv_record(&p, fields, 64);
    CU_ASSERT_EQUAL_FATAL(n, 14);
    char joined[4096] = "";
    for (int i = 0; i < n; i++) {
        strcat(joined, i ? "," : "");
        strcat(joined, fields[i]);
    }
    CU_ASSERT_STRING_EQUAL(joined, want);
    free_fields(fields, n);

    /* rows: one per elite, cells ascending, values as in the archive */
    size_t rows = 0, last = 0;
    while (*p) {
        char *end;
        qd_elite e;
        n = csv_record(&p, fields, 64);
        CU_ASSERT_EQUAL_FATAL(n, 14);
        size_t cell = strtoul(fields[0], &end, 10);
        CU_ASSERT(*end == '\0');
        CU_ASSERT(rows == 0 || cell > last);
        CU_ASSERT_EQUAL_FATAL(qd_archive_elite(a, cell, &e), QD_OK);
        CU_ASSERT_EQUAL(strtod(fields[1], NULL), e.objective); /* exact: shortest round-trip format */
        CU_ASSERT_EQUAL(strtod(fields[2], NULL), e.measures[0]);
        CU_ASSERT_EQUAL(strtod(fields[3], NULL), e.measures[1]);
        CU_ASSERT_EQUAL(strtod(fields[13], NULL), e.x[9]);
        last = cell;
        rows++;
        free_fields(fields, n);
    }
    CU_ASSERT_EQUAL(rows, qd_archive_filled(a));
    CU_ASSERT(rows > 50);
    free(csv);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_metrics_has_one_row_per_iteration(void)
{
    char json[2048];
    qd_config *cfg = NULL;
    char *dir = qdt_tmpdir(), *fields[32];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(json, sizeof json, SPHERE_CONFIG, "\"seed\": 9,");
    qd_search *s = run_to(json, dir, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    char *m = slurp_in(dir, "metrics.csv");
    const char *p = m;
    CU_ASSERT_PTR_NOT_NULL_FATAL(m);
    CU_ASSERT_EQUAL(count_lines(m), 30 + 1);
    int n = csv_record(&p, fields, 32);
    CU_ASSERT_EQUAL(n, 12);
    CU_ASSERT_STRING_EQUAL(fields[0], "iteration");
    CU_ASSERT_STRING_EQUAL(fields[1], "evaluations");
    CU_ASSERT_STRING_EQUAL(fields[5], "filled");
    CU_ASSERT_STRING_EQUAL(fields[6], "coverage");
    free_fields(fields, n);
    unsigned long prev_filled = 0;
    for (unsigned long it = 1; *p; it++) {
        n = csv_record(&p, fields, 32);
        CU_ASSERT_EQUAL_FATAL(n, 12);
        CU_ASSERT_EQUAL(strtoul(fields[0], NULL, 10), it);
        CU_ASSERT_EQUAL(strtoul(fields[1], NULL, 10), 100 * it);
        CU_ASSERT_EQUAL(strtoul(fields[2], NULL, 10), 0);
        CU_ASSERT(strtoul(fields[5], NULL, 10) >= prev_filled); /* plain MAP-Elites never loses a cell */
        prev_filled = strtoul(fields[5], NULL, 10);
        free_fields(fields, n);
    }
    /* the last row is the final archive */
    CU_ASSERT_EQUAL(prev_filled, qd_archive_filled(qd_search_archive(s)));
    free(m);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

/* MAP-Elites as pyribs' sphere example, shortened: 20-D sphere, 100x100
 * grid, one gaussian mutator (sigma 0.5, 540 per iteration, from x0 = 0),
 * 100 iterations. Measured over seeds 1..12: coverage 0.393 to 0.416, QD
 * score 326,000 to 347,000 (after 10 iterations coverage is only about
 * 0.08). The floors below leave about 10% margin under the worst seed. */
static void test_short_sphere_run_reaches_coverage_floor(void)
{
    static const unsigned seeds[] = {1, 2, 3};
    for (size_t i = 0; i < QDI_ARRAY_LEN(seeds); i++) {
        char json[1024];
        qd_config *cfg;
        qd_search *s = NULL;
        qd_archive_stats st;
        snprintf(json, sizeof json,
                 "{\"seed\": %u, \"iterations\": 100, \"workers\": 1,"
                 "\"evaluator\": {\"type\": \"sphere\", \"dim\": 20},"
                 "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 100}, {\"bins\": 100}]},"
                 "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 540, \"init\": \"x0\", "
                 "\"x0\": 0}]}",
                 seeds[i]);
        cfg = qdt_config(json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
        CU_ASSERT_EQUAL_FATAL(qd_search_new(cfg, &s), QD_OK);
        while (!qd_search_done(s))
            CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
        qd_archive_stats_get(qd_search_archive(s), &st);
        printf("\n    seed %u: coverage %.4f, QD score %.0f, best %.3f ", seeds[i], st.coverage, st.qd_score,
               st.obj_max);
        CU_ASSERT_EQUAL(st.cells, 10000);
        CU_ASSERT(st.coverage > 0.35);
        CU_ASSERT(st.qd_score > 290000);
        CU_ASSERT(st.obj_max <= 100.0);
        CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 54000);
        qd_search_free(s);
        qd_config_free(cfg);
    }
}

/* ---- failures ----------------------------------------------------------- */

#define FLAKY_CONFIG                                                                                           \
    "{\"seed\": 2, \"iterations\": 5, \"workers\": %d,"                                                        \
    "\"evaluator\": {\"type\": \"flaky\", \"fail_every\": 7, \"nan_every\": 11, \"inf_every\": 13},"           \
    "\"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"                                                \
    "\"mutators\": [{\"type\": \"job_counter\", \"batch\": 40}]}"

static void test_failed_jobs_are_counted_and_written(void)
{
    static const char *const reasons[] = {"flaky: every 7th job fails", "flaky: objective is NaN",
                                          "flaky: measure 1 (measure_1) is infinite"};
    const uint64_t jobs = 5 * 40;
    uint64_t expect[3] = {0, 0, 0}, count;
    char json[1024];
    qd_config *cfg = NULL;
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    register_test_types();
    for (uint64_t k = 0; k < jobs; k++)
        expect[0] += hits((long)k, 7);
    for (uint64_t k = 0; k < jobs; k++)
        expect[1] += !hits((long)k, 7) && hits((long)k, 11);
    for (uint64_t k = 0; k < jobs; k++)
        expect[2] += !hits((long)k, 7) && !hits((long)k, 11) && hits((long)k, 13);
    snprintf(json, sizeof json, FLAKY_CONFIG, 1);
    qd_search *s = run_to(json, dir, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);

    /* the run completes and counts every job once */
    const qd_counts *c = qd_search_counts(s);
    CU_ASSERT(qd_search_done(s));
    CU_ASSERT_EQUAL(c->iterations, 5);
    CU_ASSERT_EQUAL(c->asked, jobs);
    CU_ASSERT_EQUAL(c->failed, expect[0] + expect[1] + expect[2]);
    CU_ASSERT_EQUAL(c->evaluated, jobs - c->failed);
    CU_ASSERT_EQUAL(qd_search_last_metrics(s)->failed, c->failed);
    CU_ASSERT(qd_archive_filled(qd_search_archive(s)) > 0);

    /* reasons by kind, in order of first appearance (jobs 6, 10, 12) */
    CU_ASSERT_EQUAL_FATAL(qd_search_failure_kinds(s), 3);
    for (size_t i = 0; i < 3; i++) {
        const char *why = qd_search_failure_kind(s, i, &count);
        CU_ASSERT_PTR_NOT_NULL_FATAL(why);
        CU_ASSERT_STRING_EQUAL(why, reasons[i]);
        CU_ASSERT_EQUAL(count, expect[i]);
    }
    CU_ASSERT_PTR_NULL(qd_search_failure_kind(s, 3, &count));

    /* failures.jsonl: one line per failed job, in job order */
    char *text = slurp_in(dir, "failures.jsonl");
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    CU_ASSERT_EQUAL(count_lines(text), c->failed);
    char *line = text, *nl;
    uint64_t k = 0;
    for (; (nl = strchr(line, '\n')); line = nl + 1) {
        *nl = '\0';
        while (k < jobs && !hits((long)k, 7) && !hits((long)k, 11) && !hits((long)k, 13))
            k++;
        cJSON *row = cJSON_Parse(line);
        CU_ASSERT_PTR_NOT_NULL_FATAL(row);
        const cJSON *job = cJSON_GetObjectItemCaseSensitive(row, "job");
        const cJSON *it = cJSON_GetObjectItemCaseSensitive(row, "iteration");
        const cJSON *mu = cJSON_GetObjectItemCaseSensitive(row, "mutator");
        const cJSON *why = cJSON_GetObjectItemCaseSensitive(row, "reason");
        CU_ASSERT(cJSON_IsNumber(job) && job->valuedouble == (double)k);
        CU_ASSERT(cJSON_IsNumber(it) && it->valuedouble == (double)(k / 40 + 1));
        CU_ASSERT(cJSON_IsNumber(mu) && mu->valuedouble == 0);
        CU_ASSERT_FATAL(cJSON_IsString(why));
        CU_ASSERT_STRING_EQUAL(why->valuestring, reasons[hits((long)k, 7) ? 0 : hits((long)k, 11) ? 1 : 2]);
        cJSON_Delete(row);
        k++;
    }

    /* archive.json carries the counts */
    char *aj = slurp_in(dir, "archive.json");
    cJSON *doc = aj ? cJSON_Parse(aj) : NULL;
    const cJSON *counts = cJSON_GetObjectItemCaseSensitive(doc, "counts");
    CU_ASSERT_PTR_NOT_NULL_FATAL(counts);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(counts, "failed")->valuedouble, (double)c->failed);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(counts, "evaluated")->valuedouble, (double)c->evaluated);
    cJSON_Delete(doc);
    free(aj);
    free(text);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_run_where_every_job_fails_completes(void)
{
    char json[1024], path[1100], err[512];
    qd_config *cfg = NULL;
    qd_archive *a = NULL;
    uint64_t count;
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    register_test_types();
    snprintf(json, sizeof json,
             "{\"seed\": 2, \"iterations\": 4, \"workers\": 1, \"max_consecutive_failures\": 0,"
             "\"evaluator\": {\"type\": \"flaky\", \"fail_every\": 1, \"distinct\": true},"
             "\"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"
             "\"mutators\": [{\"type\": \"job_counter\", \"batch\": 25}]}");
    qd_search *s = run_to(json, dir, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT(qd_search_done(s));
    CU_ASSERT_EQUAL(qd_search_counts(s)->failed, 100);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 0);
    CU_ASSERT_EQUAL(qd_archive_filled(qd_search_archive(s)), 0);
    /* 64 reasons are kept one by one, the rest counted together */
    CU_ASSERT_EQUAL_FATAL(qd_search_failure_kinds(s), 65);
    CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 0, &count), "flaky: job 0 fails");
    CU_ASSERT_EQUAL(count, 1);
    CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 63, &count), "flaky: job 63 fails");
    CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 64, &count), "(other reasons)");
    CU_ASSERT_EQUAL(count, 36);
    char *f = slurp_in(dir, "failures.jsonl");
    CU_ASSERT_EQUAL(count_lines(f), 100);
    CU_ASSERT(f && strstr(f, "\"reason\":\"flaky: job 99 fails\"}\n") != NULL);
    free(f);
    /* the empty archive is saved, with a CSV header only, and loads */
    char *csv = slurp_in(dir, "archive.csv");
    CU_ASSERT(csv && strcmp(csv, "index,objective,measures_0,measures_1,solution_0,solution_1,solution_2,"
                                 "solution_3\n") == 0);
    free(csv);
    snprintf(path, sizeof path, "%s/archive.json", dir);
    CU_ASSERT_EQUAL(qd_archive_load_json(path, &a, NULL, err, sizeof err), QD_OK);
    CU_ASSERT(a && qd_archive_filled(a) == 0 && qd_archive_cells(a) == 100);
    qd_archive_free(a);
    check_round_trip(dir);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_no_failures_file_without_failures(void)
{
    char *dir = run_in_tmp("{\"seed\": 5, \"iterations\": 2, \"workers\": 1,"
                           "\"evaluator\": {\"type\": \"sphere\", \"dim\": 4},"
                           "\"archive\": {\"dims\": [{\"bins\": 4}, {\"bins\": 4}]},"
                           "\"mutators\": [{\"type\": \"gaussian\", \"batch\": 10}]}");
    char *f = slurp_in(dir, "failures.jsonl"), *a = slurp_in(dir, "archive.csv");
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_PTR_NOT_NULL(a);
    free(f);
    free(a);
    qdt_rmdir(dir);
    free(dir);
}

/* ---- workers ------------------------------------------------------------ */

static void test_archive_identical_across_worker_counts(void)
{
    static const int workers[] = {1, 2, 7, 32};
    char *dirs[4], *flaky_dirs[4], json[2048];
    register_test_types();
    for (size_t i = 0; i < 4; i++) {
        /* sphere + gaussian: the mutator's choices depend on earlier adds */
        snprintf(json, sizeof json,
                 "{\"seed\": 11, \"iterations\": 20, \"workers\": %d,"
                 "\"evaluator\": {\"type\": \"sphere\", \"dim\": 10},"
                 "\"archive\": {\"dims\": [{\"bins\": 20}, {\"bins\": 20}]},"
                 "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 100, \"init\": \"x0\"},"
                 "{\"type\": \"gaussian\", \"sigma\": 0.2, \"batch\": 37}]}",
                 workers[i]);
        dirs[i] = run_in_tmp(json);
        /* flaky with worker-RNG noise and failures: per-job seeding */
        snprintf(json, sizeof json,
                 "{\"seed\": 12, \"iterations\": 10, \"workers\": %d,"
                 "\"evaluator\": {\"type\": \"flaky\", \"noise\": 5, \"nan_every\": 9},"
                 "\"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"
                 "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 3, \"batch\": 50}]}",
                 workers[i]);
        flaky_dirs[i] = run_in_tmp(json);
    }
    for (size_t i = 1; i < 4; i++) {
        CU_ASSERT(same_file(dirs[0], dirs[i], "archive.csv"));
        CU_ASSERT(same_file(flaky_dirs[0], flaky_dirs[i], "archive.csv"));
        CU_ASSERT(same_file(flaky_dirs[0], flaky_dirs[i], "failures.jsonl"));
    }
    for (size_t i = 0; i < 4; i++) {
        qdt_rmdir(dirs[i]);
        qdt_rmdir(flaky_dirs[i]);
        free(dirs[i]);
        free(flaky_dirs[i]);
    }
}

/* Children made in the workers (gaussian, isoline, CMA-ES sampling from
 * each job's stream; several CMA emitters told on the pool) give the same
 * archive for 1, 2 and 4 workers, with either generator. */
static void test_produced_children_identical_across_worker_counts(void)
{
    static const int workers[] = {1, 2, 4};
    static const char *const rngs[] = {"mt19937", "xoshiro256++"};
    static const char *const mutators[] = {
        "{\"type\": \"gaussian\", \"sigma\": 0.3, \"batch\": 60, \"init\": \"uniform\", \"clip\": true}",
        "{\"type\": \"isoline\", \"batch\": 50, \"init\": \"x0\"}",
        "{\"type\": \"cmaes\", \"count\": 5, \"batch\": 12, \"sigma0\": 0.5, \"eigen_gap\": 0.1}",
        "{\"type\": \"gaussian\", \"sigma\": 0.2, \"batch\": 20}, {\"type\": \"isoline\", \"batch\": 20},"
        "{\"type\": \"cmaes\", \"count\": 3, \"batch\": 8, \"clip\": true}",
    };
    char json[2048];
    for (size_t r = 0; r < QDI_ARRAY_LEN(rngs); r++)
        for (size_t k = 0; k < QDI_ARRAY_LEN(mutators); k++) {
            char *dirs[3];
            for (size_t i = 0; i < 3; i++) {
                snprintf(json, sizeof json,
                         "{\"seed\": 21, \"iterations\": 25, \"workers\": %d, \"rng\": \"%s\","
                         "\"evaluator\": {\"type\": \"sphere\", \"dim\": 8},"
                         "\"archive\": {\"dims\": [{\"bins\": 20}, {\"bins\": 20}]},"
                         "\"mutators\": [%s]}",
                         workers[i], rngs[r], mutators[k]);
                dirs[i] = run_in_tmp(json);
                CU_ASSERT_PTR_NOT_NULL_FATAL(dirs[i]);
            }
            for (size_t i = 1; i < 3; i++) {
                int same = same_file(dirs[0], dirs[i], "archive.csv");
                if (!same)
                    printf("\n  %s, mutators %zu: %d workers differ from 1 ", rngs[r], k, workers[i]);
                CU_ASSERT(same);
            }
            for (size_t i = 0; i < 3; i++) {
                qdt_rmdir(dirs[i]);
                free(dirs[i]);
            }
        }
}

static const qdt_test tests[] = {
    {"same seed gives identical archive files", test_same_seed_gives_identical_archive_files},
    {"different seeds give different archives", test_different_seeds_give_different_archives},
    {"JSON round trip gives identical JSON and CSV", test_json_round_trip_gives_identical_json_and_csv},
    {"CSV has header and one row per elite", test_csv_has_header_and_one_row_per_elite},
    {"metrics has one row per iteration", test_metrics_has_one_row_per_iteration},
    {"short sphere run reaches coverage floor", test_short_sphere_run_reaches_coverage_floor},
    {"failed jobs are counted and written", test_failed_jobs_are_counted_and_written},
    {"run where every job fails completes", test_run_where_every_job_fails_completes},
    {"no failures file without failures", test_no_failures_file_without_failures},
    {"archive identical across worker counts", test_archive_identical_across_worker_counts},
    {"produced children identical across worker counts", test_produced_children_identical_across_worker_counts},
    {NULL, NULL},
};

QDT_MAIN("search", tests)
