/* test_resume.c - checkpoints and resume (src/checkpoint.c): a batch-mode
 * run stopped at an iteration and resumed from its checkpoint leaves the
 * same archive.json, archive.csv, metrics (but for the wall-clock column)
 * and failures.jsonl, byte for byte, as one that never stopped - for
 * MAP-Elites, Iso+LineDD under a bandit scheduler, CMA-MAE with its result
 * archive and a CVT archive, with another worker count after the resume,
 * and stopped twice; a config that would change results is refused naming
 * the field; a truncated or unreadable checkpoint is named and the previous
 * one used; a SIGKILL at a random moment leaves a run that resumes to the
 * uninterrupted archive - also a QDAIF run against the test server that
 * records an LLM cache (killed mid-write, mended and replayed at the
 * resume) - and an async run that resumes keeping every elite its
 * checkpoint held, with every job accounted for. */
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "cliutil.h"
#include "llmtest.h"

/* "picky": the sphere on [-1, 1]^n that refuses jobs with x[0] > 0.6, so
 * runs have failures to carry over. */
static int picky_init(qd_evaluator *ev, qd_config *cfg)
{
    long dim = 4;
    if (qd_config_int(cfg, "dim", &dim, ">= 2"))
        return QD_EINVAL;
    return qdt_space(&ev->space, (size_t)dim, -1, 1, -1, 1, 0, 1);
}

static int picky_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    double f = 0;
    (void)ev;
    if (sol->x[0] > 0.6)
        return qd_worker_fail(w, "picky: x[0] = %.3f is too large", sol->x[0]);
    for (size_t i = 0; i < sol->n; i++)
        f += sol->x[i] * sol->x[i];
    sol->objective = 1.0 / (1.0 + f);
    sol->measures[0] = tanh(sol->x[0] + sol->x[1]);
    sol->measures[1] = tanh(sol->x[1] - sol->x[2 % sol->n]);
    return QD_OK;
}

static const qd_evaluator_type picky_type = {
    .name = "picky",
    .init = picky_init,
    .evaluate = picky_evaluate,
};

static void register_picky(void)
{
    static int done;
    if (!done) {
        CU_ASSERT_EQUAL(qd_register_evaluator(&picky_type), QD_OK);
        done = 1;
    }
}

/* ---- configs ----------------------------------------------------------- */

#define MAP_ELITES                                                                                              \
    "\"seed\": 11, \"evaluator\": {\"type\": \"picky\", \"dim\": 5},"                                         \
    "\"archive\": {\"dims\": [{\"bins\": 12}, {\"bins\": 12}]},"                                                \
    "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.2, \"batch\": 24, \"initial\": 24}]"

#define BANDIT                                                                                                  \
    "\"seed\": 5, \"evaluator\": {\"type\": \"sphere\", \"dim\": 6},"                                           \
    "\"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"                                                \
    "\"mutators\": [{\"type\": \"isoline\", \"batch\": 16, \"initial\": 16},"                                   \
    "               {\"type\": \"cmaes\", \"batch\": 12, \"sigma0\": 0.5, \"count\": 2}],"                       \
    "\"scheduler\": {\"type\": \"bandit\", \"active\": 2}"

#define CMA_MAE                                                                                                 \
    "\"seed\": 3, \"evaluator\": {\"type\": \"sphere\", \"dim\": 8},"                                           \
    "\"archive\": {\"dims\": [{\"bins\": 16}, {\"bins\": 16}], \"learning_rate\": 0.05, \"threshold_min\": 0},"   \
    "\"mutators\": [{\"type\": \"cmaes\", \"batch\": 10, \"sigma0\": 0.5, \"count\": 3, \"ranker\": "          \
    "\"improvement\", \"restart\": \"basic\"}]"

#define CVT                                                                                                     \
    "\"seed\": 9, \"evaluator\": {\"type\": \"rastrigin\", \"dim\": 6},"                                        \
    "\"archive\": {\"type\": \"cvt\", \"cells\": 64, \"samples\": 2000},"                                        \
    "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.3, \"batch\": 20, \"initial\": 20}]"

static const char *const configs[] = {MAP_ELITES, BANDIT, CMA_MAE, CVT, NULL};

/* qd_search_free does not free the config it was built from. */
static void finish(qd_search *s, qd_config *cfg)
{
    qd_search_free(s);
    qd_config_free(cfg);
}

static qd_config *config_of(const char *body, long iterations, long workers, qd_search **s)
{
    char json[4096];
    qd_config *cfg;
    snprintf(json, sizeof json, "{%s, \"iterations\": %ld, \"workers\": %ld}", body, iterations, workers);
    cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    *s = NULL;
    if (qd_search_new(cfg, s) != QD_OK)
        fprintf(stderr, "config: %s\n", qd_config_error(cfg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(*s);
    return cfg;
}

static void steps(qd_search *s, long n)
{
    for (long i = 0; i < n && !qd_search_done(s); i++)
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
}

static char *file_in(const char *dir, const char *name)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return qdt_slurp(path);
}

/* metrics.csv without its wall-clock seconds column and the LLM counters
 * after it (the client's counts start again at a resume): the first 11
 * columns */
static char *metrics_sans_seconds(const char *dir)
{
    char *text = file_in(dir, "metrics.csv"), *out, *o;
    if (!text)
        return NULL;
    out = o = malloc(strlen(text) + 1);
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        char *cut = line;
        for (int k = 0; cut && k < 11; k++)
            cut = strchr(cut + (k > 0), ',');
        size_t n = cut ? (size_t)(cut - line) : strlen(line);
        memcpy(o, line, n);
        o += n;
        *o++ = '\n';
    }
    *o = '\0';
    free(text);
    return out;
}

/* Drops the line of the config echo that holds key (quoted, with its
 * colon), e.g. the worker count, which may change at a resume without
 * changing the results. */
static void drop_line_with(char *text, const char *key)
{
    char *w = text ? strstr(text, key) : NULL, *nl;
    if (!w)
        return;
    while (w > text && w[-1] != '\n')
        w--;
    nl = strchr(w, '\n');
    memmove(w, nl ? nl + 1 : w + strlen(w), strlen(nl ? nl + 1 : w + strlen(w)) + 1);
}

static void drop_workers_line(char *text)
{
    drop_line_with(text, "\"workers\":");
}

static void assert_same_file(const char *a, const char *b, const char *name)
{
    char *x = file_in(a, name), *y = file_in(b, name);
    drop_workers_line(x);
    drop_workers_line(y);
    drop_line_with(x, "\"cache\":"); /* each run records its own LLM cache */
    drop_line_with(y, "\"cache\":");
    CU_ASSERT_PTR_NOT_NULL(x);
    CU_ASSERT_PTR_NOT_NULL(y);
    if (x && y && strcmp(x, y) != 0) {
        fprintf(stderr, "\n%s differs between %s and %s\n", name, a, b);
        CU_FAIL("files differ");
    }
    free(x);
    free(y);
}

static void assert_same_run(const char *a, const char *b)
{
    char *x, *y;
    assert_same_file(a, b, "archive.json");
    assert_same_file(a, b, "archive.csv");
    x = metrics_sans_seconds(a);
    y = metrics_sans_seconds(b);
    CU_ASSERT(x && y && strcmp(x, y) == 0);
    free(x);
    free(y);
    x = file_in(a, "failures.jsonl");
    y = file_in(b, "failures.jsonl");
    CU_ASSERT((!x && !y) || (x && y && strcmp(x, y) == 0));
    free(x);
    free(y);
}

/* Runs body to `total` iterations in one go into dir/straight, and with
 * stops after each of stops[] (0-terminated) into dir/stopped, resuming
 * each time with the next worker count. */
static void stop_and_resume(const char *body, long total, const long *stops, const long *workers, const char *dir)
{
    char straight[1024], stopped[1024];
    qd_search *s;
    qd_config *cfg;
    long done = 0;
    snprintf(straight, sizeof straight, "%s/straight", dir);
    snprintf(stopped, sizeof stopped, "%s/stopped", dir);
    cfg = config_of(body, total, 2, &s);
    steps(s, total);
    CU_ASSERT(qd_search_done(s));
    CU_ASSERT_EQUAL(qd_search_save(s, straight), QD_OK);
    finish(s, cfg);
    for (size_t k = 0;; k++) {
        cfg = config_of(body, total, workers[k], &s);
        if (k > 0) {
            char note[256] = "x";
            CU_ASSERT_EQUAL_FATAL(qd_search_resume(s, stopped, note, sizeof note), QD_OK);
            CU_ASSERT_STRING_EQUAL(note, "");
            CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, (uint64_t)done);
        }
        if (!stops[k]) {
            steps(s, total);
            CU_ASSERT(qd_search_done(s));
            CU_ASSERT_EQUAL(qd_search_save(s, stopped), QD_OK);
            finish(s, cfg);
            break;
        }
        steps(s, stops[k] - done);
        done = stops[k];
        CU_ASSERT_EQUAL(qd_search_save(s, stopped), QD_OK);
        CU_ASSERT_EQUAL(qd_search_checkpoint(s, stopped), QD_OK);
        finish(s, cfg);
    }
    assert_same_run(straight, stopped);
}

static void test_stop_and_resume_equals_an_uninterrupted_run(void)
{
    static const long stops[] = {7, 0}, workers[] = {1, 3};
    register_picky();
    for (size_t i = 0; configs[i]; i++) {
        char *tmp = qdt_tmpdir();
        CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
        stop_and_resume(configs[i], 20, stops, workers, tmp);
        qdt_rmdir(tmp);
        free(tmp);
    }
}

static void test_stopped_twice_and_another_worker_count(void)
{
    static const long stops[] = {1, 9, 0}, workers[] = {2, 1, 7};
    register_picky();
    for (size_t i = 0; configs[i]; i++) {
        char *tmp = qdt_tmpdir();
        CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
        stop_and_resume(configs[i], 15, stops, workers, tmp);
        qdt_rmdir(tmp);
        free(tmp);
    }
}

/* The picky runs do fail: the failures carried over are real ones. */
static void test_failures_carry_over(void)
{
    char *tmp = qdt_tmpdir(), *lines;
    qd_search *s;
    qd_config *cfg;
    uint64_t n = 0;
    register_picky();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    cfg = config_of(MAP_ELITES, 10, 2, &s);
    steps(s, 4);
    CU_ASSERT(qd_search_counts(s)->failed > 0);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    uint64_t failed = qd_search_counts(s)->failed;
    finish(s, cfg);
    cfg = config_of(MAP_ELITES, 10, 2, &s);
    CU_ASSERT_EQUAL_FATAL(qd_search_resume(s, tmp, NULL, 0), QD_OK);
    CU_ASSERT_EQUAL(qd_search_counts(s)->failed, failed);
    for (size_t i = 0; i < qd_search_failure_kinds(s); i++) {
        uint64_t c;
        qd_search_failure_kind(s, i, &c);
        n += c;
    }
    CU_ASSERT_EQUAL(n, failed);
    CU_ASSERT_EQUAL(qd_search_save(s, tmp), QD_OK);
    lines = file_in(tmp, "failures.jsonl");
    n = 0;
    for (const char *p = lines; p && *p; p++)
        n += *p == '\n';
    CU_ASSERT_EQUAL(n, failed);
    free(lines);
    finish(s, cfg);
    qdt_rmdir(tmp);
    free(tmp);
}

/* ---- what may and may not change --------------------------------------- */

/* Builds the MAP_ELITES config with one --set override applied (NULL:
 * none) or, with json, that config; resumes it from tmp and returns the
 * code. The caller frees *s and *cfg. */
static int resume_changed(const char *tmp, const char *set, const char *json, qd_search **s, qd_config **cfg)
{
    char base[4096];
    snprintf(base, sizeof base, "{%s, \"iterations\": 10, \"workers\": 1}", MAP_ELITES);
    *cfg = qdt_config(json ? json : base);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*cfg);
    if (set)
        CU_ASSERT_EQUAL_FATAL(qd_config_set(*cfg, set), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_search_new(*cfg, s), QD_OK);
    return qd_search_resume(*s, tmp, NULL, 0);
}

static void test_changed_config_is_refused_naming_the_field(void)
{
    static const struct {
        const char *set, *diff;
    } refused[] = {
        {"seed=12", ": seed is 12 here but 11 in the checkpoint"},
        {"archive.dims[1].bins=13", ": archive.dims[1].bins is 13 here but 12 in the checkpoint"},
        {"mode=async", ": mode is \"async\" here but \"batch\" in the checkpoint"},
    };
    static const char *const allowed[] = {"iterations=50", "workers=3", "name=longer", "output.save_every=5",
                                          "grace=1", "job_timeout=9"};
    char *tmp = qdt_tmpdir(), want[2048];
    qd_search *s;
    qd_config *cfg;
    register_picky();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    steps(s, 2);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    finish(s, cfg);

    /* the whole message once */
    CU_ASSERT_EQUAL(resume_changed(tmp, "mutators[0].sigma=0.3", NULL, &s, &cfg), QD_EINVAL);
    snprintf(want, sizeof want,
             "%s/checkpoint/state.json: the config does not match the checkpoint's: mutators[0].sigma is 0.3 here "
             "but 0.2 in the checkpoint (a resumed run must search as the stopped one did; only iterations, output, "
             "workers, inflight, job_timeout, grace, name, description and how to reach the LLM may change)",
             tmp);
    CU_ASSERT_STRING_EQUAL(qd_search_error(s), want);
    finish(s, cfg);
    for (size_t i = 0; i < QDI_ARRAY_LEN(refused); i++) {
        CU_ASSERT_EQUAL(resume_changed(tmp, refused[i].set, NULL, &s, &cfg), QD_EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(qd_search_error(s), refused[i].diff));
        finish(s, cfg);
    }
    /* a mutator more */
    CU_ASSERT_EQUAL(resume_changed(tmp, NULL,
                                   "{\"seed\": 11, \"evaluator\": {\"type\": \"picky\", \"dim\": 5},"
                                   "\"archive\": {\"dims\": [{\"bins\": 12}, {\"bins\": 12}]},"
                                   "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.2, \"batch\": 24, "
                                   "\"initial\": 24}, {\"type\": \"isoline\"}]}",
                                   &s, &cfg),
                    QD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_search_error(s), ": mutators is [{"));
    finish(s, cfg);
    /* what does not change the search may change */
    for (size_t i = 0; i < QDI_ARRAY_LEN(allowed); i++) {
        CU_ASSERT_EQUAL(resume_changed(tmp, allowed[i], NULL, &s, &cfg), QD_OK);
        CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 2);
        finish(s, cfg);
    }
    qdt_rmdir(tmp);
    free(tmp);
}

/* ---- damaged checkpoints ----------------------------------------------- */

static void write_text(const char *dir, const char *name, const char *text)
{
    char path[1200];
    FILE *fp;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
}

static void test_bad_checkpoint_falls_back_to_the_previous_one(void)
{
    char *tmp = qdt_tmpdir(), want[3000], note[2048], dir[1100];
    qd_search *s;
    qd_config *cfg;
    register_picky();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);

    /* nothing there */
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    CU_ASSERT_EQUAL(qd_search_resume(s, tmp, NULL, 0), QD_ENOTFOUND);
    snprintf(want, sizeof want, "%s: no checkpoint to resume from (no %s/checkpoint)", tmp, tmp);
    CU_ASSERT_STRING_EQUAL(qd_search_error(s), want);
    /* two checkpoints: after iterations 2 and 3 */
    steps(s, 2);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    steps(s, 1);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    finish(s, cfg);

    /* the newest state.json cut short: the previous one is used */
    snprintf(dir, sizeof dir, "%s/checkpoint", tmp);
    write_text(dir, "state.json", "{\"format\": \"elites-checkpoint\", \"format_ver");
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    CU_ASSERT_EQUAL(qd_search_resume(s, tmp, note, sizeof note), QD_OK);
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 2);
    snprintf(want, sizeof want,
             "%s/checkpoint/state.json: not a JSON object (truncated?); resumed from the previous checkpoint, "
             "%s/checkpoint.prev",
             tmp, tmp);
    CU_ASSERT_STRING_EQUAL(note, want);
    steps(s, 10);
    CU_ASSERT(qd_search_done(s));
    finish(s, cfg);

    /* the newest archive.json damaged (state.json fine): also named */
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    steps(s, 2);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    steps(s, 1);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    finish(s, cfg);
    write_text(dir, "archive.json", "[1, 2");
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    CU_ASSERT_EQUAL(qd_search_resume(s, tmp, note, sizeof note), QD_OK);
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(note, "/checkpoint/archive.json: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(note, "; resumed from the previous checkpoint, "));
    finish(s, cfg);

    /* both bad: both named, nothing resumed */
    snprintf(dir, sizeof dir, "%s/checkpoint.prev", tmp);
    write_text(dir, "state.json", "");
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    CU_ASSERT_NOT_EQUAL(qd_search_resume(s, tmp, note, sizeof note), QD_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_search_error(s), "/checkpoint/archive.json: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_search_error(s), "; the previous checkpoint: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_search_error(s), "/checkpoint.prev/state.json"));
    finish(s, cfg);

    /* the newest state.json with a count no integer holds (1e300: a cast
     * of it is undefined): refused by name, the previous one used */
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    steps(s, 2);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    steps(s, 1);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, tmp), QD_OK);
    finish(s, cfg);
    snprintf(dir, sizeof dir, "%s/checkpoint", tmp);
    {
        char path[1200], *text, *at;
        snprintf(path, sizeof path, "%s/state.json", dir);
        text = qdt_slurp(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        at = strstr(text, "\"evaluated\":\t");
        CU_ASSERT_PTR_NOT_NULL_FATAL(at);
        at += strlen("\"evaluated\":\t");
        char *edited = malloc(strlen(text) + 8);
        CU_ASSERT_PTR_NOT_NULL_FATAL(edited);
        sprintf(edited, "%.*s1e300%s", (int)(at - text), text, at + strspn(at, "0123456789"));
        write_text(dir, "state.json", edited);
        free(edited);
        free(text);
    }
    cfg = config_of(MAP_ELITES, 10, 1, &s);
    CU_ASSERT_EQUAL(qd_search_resume(s, tmp, note, sizeof note), QD_OK);
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 2);
    if (!strstr(note, "/checkpoint/state.json: "))
        fprintf(stderr, "\n  note: %s\n", note);
    CU_ASSERT_PTR_NOT_NULL(strstr(note, "/checkpoint/state.json: "));
    CU_ASSERT_PTR_NOT_NULL(strstr(note, "; resumed from the previous checkpoint, "));
    finish(s, cfg);
    qdt_rmdir(tmp);
    free(tmp);
}

/* ---- SIGKILL ------------------------------------------------------------ */

/* Starts the CLI with its output to /dev/null; its pid, or -1. */
static pid_t spawn_cli(const char *const *argv)
{
    pid_t pid;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    return pid;
}

/* Runs the CLI; with kill_after_ms > 0, SIGKILLs it kill_after_ms after the
 * file `armed` appears (its first checkpoint), so a loaded machine's slow
 * start-up cannot make every kill land before there is anything to resume. */
static int run_cli(const char *const *argv, int kill_after_ms, const char *armed)
{
    int wstatus;
    pid_t pid;
    pid = spawn_cli(argv);
    if (pid < 0)
        return -1;
    if (kill_after_ms > 0) {
        struct stat sb;
        for (int waited = 0; armed && stat(armed, &sb) != 0 && waited < 120000; waited += 2) {
            if (waitpid(pid, &wstatus, WNOHANG) == pid) /* ended before its first checkpoint */
                return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
            usleep(2000);
        }
        usleep((useconds_t)kill_after_ms * 1000);
        kill(pid, SIGKILL);
    }
    if (waitpid(pid, &wstatus, 0) != pid)
        return -1;
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

/* Runs argv to its end like run_cli and returns its exit status; *span_ms
 * gets the milliseconds from the moment the file armed appeared (the first
 * checkpoint) to the end, so a kill test can aim inside that span instead
 * of at a fixed range that a fast machine finishes before (seen in CI: a
 * QDAIF run done within 500 ms of its first checkpoint, three times). */
static int run_cli_span(const char *const *argv, const char *armed, int *span_ms)
{
    struct timespec t0 = {0, 0}, t1;
    struct stat sb;
    int wstatus, seen = 0;
    pid_t pid;
    pid = spawn_cli(argv);
    if (pid < 0)
        return -1;
    for (;;) {
        if (!seen && stat(armed, &sb) == 0) {
            clock_gettime(CLOCK_MONOTONIC, &t0);
            seen = 1;
        }
        if (waitpid(pid, &wstatus, WNOHANG) == pid)
            break;
        usleep(1000);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    *span_ms = seen ? (int)((t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000) : 0;
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

/* A kill moment in [1, 3/4 of span] ms after the first checkpoint. */
static int kill_moment(gsl_rng *r, int span_ms)
{
    unsigned long top = span_ms > 4 ? (unsigned long)span_ms * 3 / 4 : 2;
    return 1 + (int)gsl_rng_uniform_int(r, top);
}

static void test_sigkill_at_a_random_moment_leaves_a_resumable_run(void)
{
    static const char cfgtext[] =
        "{\"seed\": 4, \"iterations\": 150, \"workers\": 2, \"evaluator\": {\"type\": \"sphere\", \"dim\": 8},"
        " \"archive\": {\"dims\": [{\"bins\": 16}, {\"bins\": 16}]},"
        " \"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.4, \"batch\": 50, \"init\": \"uniform\"},"
        "                {\"type\": \"cmaes\", \"batch\": 12, \"sigma0\": 0.5}],"
        " \"output\": {\"checkpoint_every\": 1, \"save_every\": 0}}";
    char *tmp = qdt_tmpdir(), config[1100], straight[1100], killed[1100];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    gsl_rng_set(r, (unsigned long)time(NULL)); /* a random moment: which one is in the log on failure */
    snprintf(config, sizeof config, "%s/run.json", tmp);
    write_text(tmp, "run.json", cfgtext);
    snprintf(straight, sizeof straight, "%s/straight", tmp);
    const char *full[] = {qdt_bin(), "run", config, "-o", straight, "-q", NULL};
    char armed[1200];
    int span = 0;
    snprintf(armed, sizeof armed, "%s/checkpoint", straight);
    CU_ASSERT_EQUAL_FATAL(run_cli_span(full, armed, &span), 0);
    int resumed = 0;
    /* three rounds, and more while none hit the run (a busy machine can
     * make the straight run slower than the killed ones: each extra round
     * aims at half the span of the one before) */
    for (int round = 0; round < 3 || (resumed == 0 && round < 10); round++) {
        int ms = kill_moment(r, round < 3 ? span : span >> (round - 2)); /* after the first checkpoint */
        snprintf(killed, sizeof killed, "%s/killed%d", tmp, round);
        const char *first[] = {qdt_bin(), "run", config, "-o", killed, "-q", NULL};
        /* odd rounds resume from the checkpoint's own config, without the file */
        const char *again_cfg[] = {qdt_bin(), "run", config, "--resume", killed, "-q", NULL};
        const char *again_bare[] = {qdt_bin(), "run", "--resume", killed, "-q", NULL};
        const char *const *again = round % 2 ? again_bare : again_cfg;
        struct stat sb;
        char ck[1200];
        snprintf(ck, sizeof ck, "%s/checkpoint", killed);
        int st = run_cli(first, ms, ck);
        if (st == 0 || (stat(ck, &sb) != 0 && (snprintf(ck, sizeof ck, "%s/checkpoint.prev", killed), stat(ck, &sb)) != 0)) {
            /* finished before the kill, or killed before the first checkpoint */
            continue;
        }
        CU_ASSERT_EQUAL(st, 128 + SIGKILL);
        int rc = run_cli(again, 0, NULL);
        if (rc != 0)
            fprintf(stderr, "\nresume after a SIGKILL at %d ms exited %d\n", ms, rc);
        CU_ASSERT_EQUAL(rc, 0);
        assert_same_file(straight, killed, "archive.csv");
        assert_same_file(straight, killed, "archive.json");
        resumed++;
    }
    /* the run takes well over a second (a synced checkpoint per iteration):
     * some kill must have hit it between its first checkpoint and its end */
    CU_ASSERT(resumed >= 1);
    gsl_rng_free(r);
    qdt_rmdir(tmp);
    free(tmp);
}

/* One round of kill and resume: runs config into killed, SIGKILLs it ms
 * after its first checkpoint, and (when the kill landed after one)
 * resumes it with the same config file. *before (when not NULL) gets the
 * archive of the checkpoint the resume starts from. Returns 1 when resumed. */
static int kill_then_resume(const char *config, const char *killed, int ms, qd_archive **before)
{
    const char *first[] = {qdt_bin(), "run", config, "-o", killed, "-q", NULL};
    const char *again[] = {qdt_bin(), "run", config, "--resume", killed, "-q", NULL};
    char ck[1200], path[1300], err[512];
    struct stat sb;
    int st, rc;
    snprintf(ck, sizeof ck, "%s/checkpoint", killed);
    st = run_cli(first, ms, ck);
    if (st == 0 || (stat(ck, &sb) != 0 && (snprintf(ck, sizeof ck, "%s/checkpoint.prev", killed), stat(ck, &sb)) != 0))
        return 0; /* finished before the kill, or killed before the first checkpoint */
    CU_ASSERT_EQUAL(st, 128 + SIGKILL);
    if (before) {
        snprintf(path, sizeof path, "%s/archive.json", ck);
        CU_ASSERT_EQUAL(qd_archive_load_json(path, before, NULL, err, sizeof err), QD_OK);
    }
    rc = run_cli(again, 0, NULL);
    if (rc != 0)
        fprintf(stderr, "\nresume after a SIGKILL at %d ms exited %d\n", ms, rc);
    CU_ASSERT_EQUAL(rc, 0);
    return 1;
}

/* The body of a QDAIF config against url (recording its LLM cache in cache
 * when not NULL), without iterations and workers. */
static void qdaif_body(char *buf, size_t n, const char *url, const char *cache)
{
    snprintf(buf, n,
             "\"seed\": 6, \"llm\": {\"url\": \"%s\", \"model\": \"test-openai\"%s%s%s}, "
             "\"evaluator\": {\"type\": \"ai_feedback\", \"top_logprobs\": 10, \"quality\": {\"question\": "
             "\"Is the text about vegetables? Answer yes or no.\"}, \"measures\": [{\"name\": \"sentiment\", "
             "\"question\": \"Is the text positive or negative?\", \"labels\": [\"positive\", \"negative\"]}]}, "
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 20}]}, "
             "\"mutators\": [{\"type\": \"llm\", \"mode\": \"lmx-near\", \"batch\": 8, \"initial\": 8, "
             "\"template\": \"Here is a random opinion piece about eating vegetables:\", "
             "\"seeds\": [\"You should eat vegetables because they are good for you.\", \"I really do not like "
             "eating vegetables, they taste bland and boring.\"]}]",
             url, cache ? ", \"cache\": \"" : "", cache ? cache : "", cache ? "\"" : "");
}

/* A QDAIF config file's text: 10 iterations, a checkpoint after each. */
static void qdaif_text(char *buf, size_t n, const char *url, const char *cache)
{
    char body[3072];
    qdaif_body(body, sizeof body, url, cache);
    snprintf(buf, n, "{%s, \"iterations\": 10, \"workers\": 4, "
                     "\"output\": {\"checkpoint_every\": 1, \"save_every\": 0}}", body);
}

/* Found by the SIGKILL test below: the LLM mutator did not checkpoint the
 * texts it had seen, so a resumed run took a repeat of an earlier text as
 * new (one "duplicate text" failure fewer than the run that never stopped). */
static void test_llm_run_stopped_and_resumed_rejects_the_same_duplicates(void)
{
    static const long stops[] = {9, 0}, workers[] = {4, 4};
    char body[3072], *tmp = qdt_tmpdir();
    qdt_server server;
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    CU_ASSERT_FATAL(qdt_server_start(&server, NULL, NULL) == 0);
    qdaif_body(body, sizeof body, server.url, NULL);
    stop_and_resume(body, 18, stops, workers, tmp);
    /* metrics.csv counts the LLM calls of the whole run, not of the last
     * process only (the client's own counters start at 0 in each) */
    qd_metrics *a = NULL, *b = NULL;
    size_t na = 0, nb = 0;
    char path[1200], err[512];
    snprintf(path, sizeof path, "%s/straight/metrics.csv", tmp);
    CU_ASSERT_EQUAL_FATAL(qd_metrics_load_csv(path, &a, &na, err, sizeof err), QD_OK);
    snprintf(path, sizeof path, "%s/stopped/metrics.csv", tmp);
    CU_ASSERT_EQUAL_FATAL(qd_metrics_load_csv(path, &b, &nb, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(na, 18);
    CU_ASSERT_EQUAL(nb, na);
    for (size_t i = 0; i < na && i < nb; i++) {
        CU_ASSERT_EQUAL(a[i].llm_requests, b[i].llm_requests);
        CU_ASSERT_EQUAL(a[i].llm_failures, b[i].llm_failures);
        CU_ASSERT_EQUAL(a[i].llm_tokens, b[i].llm_tokens);
    }
    CU_ASSERT(na > 10 && a[na - 1].llm_requests > a[9].llm_requests);
    free(a);
    free(b);
    qdt_server_stop(&server);
    qdt_rmdir(tmp);
    free(tmp);
}

static void test_sigkill_of_an_llm_run_with_a_cache_resumes_to_the_same_archive(void)
{
    char *tmp = qdt_tmpdir(), text[4096], config[1100], cache[1100], straight[1100], killed[1100];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    qdt_server server;
    int resumed = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    CU_ASSERT_FATAL(qdt_server_start(&server, "--latency", "0.002") == 0);
    gsl_rng_set(r, (unsigned long)time(NULL) + 1);
    snprintf(config, sizeof config, "%s/straight.json", tmp);
    snprintf(cache, sizeof cache, "%s/straight.jsonl", tmp);
    snprintf(straight, sizeof straight, "%s/straight", tmp);
    qdaif_text(text, sizeof text, server.url, cache);
    write_text(tmp, "straight.json", text);
    const char *full[] = {qdt_bin(), "run", config, "-o", straight, "-q", NULL};
    char armed[1200];
    int span = 0;
    snprintf(armed, sizeof armed, "%s/checkpoint", straight);
    CU_ASSERT_EQUAL_FATAL(run_cli_span(full, armed, &span), 0);
    for (int round = 0; round < 3; round++) {
        int ms = kill_moment(r, span);
        char name[64];
        snprintf(name, sizeof name, "killed%d.json", round);
        snprintf(config, sizeof config, "%s/%s", tmp, name);
        snprintf(cache, sizeof cache, "%s/killed%d.jsonl", tmp, round);
        snprintf(killed, sizeof killed, "%s/killed%d", tmp, round);
        qdaif_text(text, sizeof text, server.url, cache);
        write_text(tmp, name, text);
        if (!kill_then_resume(config, killed, ms, NULL))
            continue;
        assert_same_file(straight, killed, "archive.csv");
        assert_same_file(straight, killed, "archive.json");
        /* the cache the resume went on with reads back whole */
        qdi_llm_cache *c = NULL;
        char err[512];
        CU_ASSERT_EQUAL(qdi_llm_cache_open(cache, 1, &c, err, sizeof err), QD_OK);
        CU_ASSERT(c && qdi_llm_cache_entries(c) > 0);
        CU_ASSERT(c && qdi_llm_cache_skipped(c) <= 1); /* at most the line the kill cut */
        qdi_llm_cache_free(c);
        resumed++;
        break; /* one resume is enough: a second round only when the kill missed */
    }
    CU_ASSERT(resumed >= 1);
    qdt_server_stop(&server);
    gsl_rng_free(r);
    qdt_rmdir(tmp);
    free(tmp);
}

static void test_sigkill_of_an_async_run_resumes_keeping_every_elite(void)
{
    static const char cfgtext[] =
        "{\"seed\": 8, \"iterations\": 40, \"workers\": 2, \"mode\": \"async\", \"inflight\": 6,"
        " \"evaluator\": {\"type\": \"sphere\", \"dim\": 8},"
        " \"archive\": {\"dims\": [{\"bins\": 16}, {\"bins\": 16}]},"
        " \"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.4, \"batch\": 40, \"init\": \"uniform\"}],"
        " \"output\": {\"checkpoint_every\": 1, \"save_every\": 0}}";
    char *tmp = qdt_tmpdir(), config[1100], killed[1100], path[1200], err[512];
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    int resumed = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    gsl_rng_set(r, (unsigned long)time(NULL) + 2);
    snprintf(config, sizeof config, "%s/async.json", tmp);
    write_text(tmp, "async.json", cfgtext);
    /* one run to its end first, to learn how long it runs after its first checkpoint */
    char timing[1100], armed[1200];
    int span = 0;
    snprintf(timing, sizeof timing, "%s/timing", tmp);
    snprintf(armed, sizeof armed, "%s/checkpoint", timing);
    const char *full[] = {qdt_bin(), "run", config, "-o", timing, "-q", NULL};
    CU_ASSERT_EQUAL_FATAL(run_cli_span(full, armed, &span), 0);
    for (int round = 0; round < 3; round++) {
        int ms = kill_moment(r, span);
        qd_archive *before = NULL, *after = NULL;
        cJSON *top = NULL;
        snprintf(killed, sizeof killed, "%s/killed%d", tmp, round);
        if (!kill_then_resume(config, killed, ms, &before)) {
            qd_archive_free(before);
            continue;
        }
        snprintf(path, sizeof path, "%s/archive.json", killed);
        CU_ASSERT_EQUAL_FATAL(qd_archive_load_json(path, &after, &top, err, sizeof err), QD_OK);
        /* every elite of the checkpoint is still there, or a better one */
        for (size_t i = 0; before && i < qd_archive_filled(before); i++) {
            qd_elite e, f;
            CU_ASSERT_EQUAL(qd_archive_elite_at(before, i, &e), QD_OK);
            CU_ASSERT_EQUAL_FATAL(qd_archive_elite(after, e.cell, &f), QD_OK);
            CU_ASSERT(f.objective >= e.objective);
        }
        /* every job asked was evaluated or failed */
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(top, "counts");
        double asked = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "asked"));
        double evaluated = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "evaluated"));
        double failed = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(c, "failed"));
        CU_ASSERT(asked > 0 && asked == evaluated + failed);
        cJSON_Delete(top);
        qd_archive_free(after);
        qd_archive_free(before);
        resumed++;
        break;
    }
    CU_ASSERT(resumed >= 1);
    gsl_rng_free(r);
    qdt_rmdir(tmp);
    free(tmp);
}

static const qdt_test tests[] = {
    {"stop and resume equals an uninterrupted run", test_stop_and_resume_equals_an_uninterrupted_run},
    {"stopped twice and another worker count", test_stopped_twice_and_another_worker_count},
    {"failures carry over", test_failures_carry_over},
    {"changed config is refused naming the field", test_changed_config_is_refused_naming_the_field},
    {"bad checkpoint falls back to the previous one", test_bad_checkpoint_falls_back_to_the_previous_one},
    {"SIGKILL at a random moment leaves a resumable run", test_sigkill_at_a_random_moment_leaves_a_resumable_run},
    {"an LLM run stopped and resumed rejects the same duplicates",
     test_llm_run_stopped_and_resumed_rejects_the_same_duplicates},
    {"SIGKILL of an LLM run with a cache resumes to the same archive",
     test_sigkill_of_an_llm_run_with_a_cache_resumes_to_the_same_archive},
    {"SIGKILL of an async run resumes keeping every elite", test_sigkill_of_an_async_run_resumes_keeping_every_elite},
    {NULL, NULL},
};

QDT_MAIN("resume", tests)
