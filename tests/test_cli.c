/* test_cli.c - the `elites` program as a user runs it (src/cli/main.c,
 * src/cli/run.c, src/cli/export.c): `elites run` on examples/sphere.json
 * writes its files and exits 0; bad configs, bad --set values and
 * unreadable files exit 2 with one message on stderr naming the file, field
 * and value; --help and --version; `elites export` reproduces archive.csv
 * and archive.json byte for byte. The binary is $ELITES_BIN and the source
 * tree $ELITES_SRCDIR (set by tests/Makemodule.am; when run by hand from
 * the build folder they default to ./elites and .). */
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "cliutil.h"

/* What one run of the program did. */
typedef struct cli_result {
    int status; /* exit code, or -1 if it did not exit normally */
    char *out, *err;
} cli_result;

static void cli_result_free(cli_result *r)
{
    free(r->out);
    free(r->err);
    r->out = r->err = NULL;
}

/* Runs `elites args...` (NULL-terminated) with stdout and stderr captured
 * in files of the folder dir. */
static cli_result run_elites(const char *dir, const char *const *args)
{
    cli_result r = {-1, NULL, NULL};
    r.status = qdt_wait_cli(qdt_start_cli(dir, args), dir, &r.out, &r.err);
    return r;
}

static int exists(const char *dir, const char *name)
{
    char path[2048];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &st) == 0;
}

static int starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void write_file(const char *path, const char *text)
{
    char err[256];
    CU_ASSERT_EQUAL_FATAL(qdi_write_file_atomic(path, text, strlen(text), err, sizeof err), QD_OK);
}

/* 1 if two files hold the same bytes. */
static int same_bytes(const char *a, const char *b)
{
    char *x = qdt_slurp(a), *y = qdt_slurp(b);
    int same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    return same;
}

static void test_run_sphere_example_writes_its_files(void)
{
    char *tmp = qdt_tmpdir(), out[1024], config[1024], path[1100];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(config, sizeof config, "%s/examples/sphere.json", qdt_srcdir());
    const char *args[] = {"run", config, "--iterations", "20", "--set", "evaluator.dim=10", "-o", out, "-q", NULL};
    cli_result r = run_elites(tmp, args);
    if (r.status != 0)
        fprintf(stderr, "\n  stderr: %s\n", r.err);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.out, ""); /* -q */
    CU_ASSERT_STRING_EQUAL(r.err, "");
    CU_ASSERT(exists(out, "archive.json"));
    CU_ASSERT(exists(out, "archive.csv"));
    CU_ASSERT(exists(out, "metrics.csv"));
    CU_ASSERT(exists(out, "heatmap.svg"));
    CU_ASSERT(exists(out, "report.html"));
    CU_ASSERT(!exists(out, "failures.jsonl"));

    /* the overrides reached the run: 20 metrics rows, a 10-gene genome */
    snprintf(path, sizeof path, "%s/metrics.csv", out);
    char *metrics = qdt_slurp(path);
    size_t lines = 0;
    for (const char *p = metrics; p && *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, 20 + 1);
    free(metrics);
    snprintf(path, sizeof path, "%s/archive.json", out);
    char *text = qdt_slurp(path);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(doc, "config");
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(cfg, "evaluator");
    const cJSON *dim = cJSON_GetObjectItemCaseSensitive(ev, "dim");
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cfg, "iterations");
    const cJSON *filled = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "stats"), "filled");
    CU_ASSERT(cJSON_IsNumber(dim) && dim->valuedouble == 10);
    CU_ASSERT(cJSON_IsNumber(it) && it->valuedouble == 20);
    CU_ASSERT(cJSON_IsNumber(filled) && filled->valuedouble > 0);
    cJSON_Delete(doc);
    free(text);
    cli_result_free(&r);
    qdt_rmdir(tmp);
    free(tmp);
}

static void test_run_logs_plain_lines_when_not_a_terminal(void)
{
    char *tmp = qdt_tmpdir(), out[1024], config[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(config, sizeof config, "%s/examples/sphere.json", qdt_srcdir());
    const char *args[] = {"run", config, "--iterations", "4", "--seed", "9", "--set", "evaluator.dim=4",
                          "--set", "mutators[0].batch=20", "-o", out, NULL};
    cli_result r = run_elites(tmp, args);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(strstr(r.out, ", seed 9, 4 iterations -> ") != NULL);
    /* no terminal control codes, one line per logged iteration */
    CU_ASSERT(strchr(r.out, '\r') == NULL);
    CU_ASSERT(strchr(r.out, '\033') == NULL);
    CU_ASSERT(strstr(r.out, "\niter 1/4  ") != NULL);
    CU_ASSERT(strstr(r.out, "\niter 4/4  ") != NULL);
    CU_ASSERT(strstr(r.out, "\ndone: 4 iterations, 80 evaluations, 0 failed") != NULL);
    CU_ASSERT(strstr(r.out, "archive.json, archive.csv, metrics.csv, heatmap.svg, report.html, checkpoint/\n") != NULL);
    cli_result_free(&r);
    qdt_rmdir(tmp);
    free(tmp);
}

/* Runs `elites run CONFIG -q -o tmp/out` plus extra arguments on a config
 * written from text, and checks exit 2, the exact stderr (%s in want is
 * replaced by the config's path) and that nothing was written. */
static void expect_run_error(const char *config_text, const char *extra, const char *want)
{
    char *tmp = qdt_tmpdir(), config[1024], out[1024], msg[2048];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    snprintf(config, sizeof config, "%s/bad.json", tmp);
    snprintf(out, sizeof out, "%s/out", tmp);
    if (config_text)
        write_file(config, config_text);
    const char *args[] = {"run", config, "-q", "-o", out, extra ? "--set" : NULL, extra, NULL};
    cli_result r = run_elites(tmp, args);
    snprintf(msg, sizeof msg, want, config);
    CU_ASSERT_EQUAL(r.status, 2);
    if (strcmp(r.err, msg) != 0)
        fprintf(stderr, "\n  got:    %s  wanted: %s", r.err, msg);
    CU_ASSERT_STRING_EQUAL(r.err, msg);
    CU_ASSERT_STRING_EQUAL(r.out, "");
    CU_ASSERT(!exists(out, "."));
    cli_result_free(&r);
    qdt_rmdir(tmp);
    free(tmp);
}

#define GOOD_PARTS                                                                                             \
    "\"evaluator\": {\"type\": \"sphere\", \"dim\": 4}, \"archive\": {\"dims\": [{\"bins\": 4}, {\"bins\": 4}]}"

static void test_bad_config_exits_2_naming_file_field_and_value(void)
{
    expect_run_error("{" GOOD_PARTS ", \"mutators\": [{\"type\": \"gaussian\", \"sigma\": -0.5}]}", NULL,
                     "elites run: %s: mutators[0].sigma must be > 0, got -0.5\n");
    expect_run_error("{" GOOD_PARTS ", \"mutators\": [{\"type\": \"gaussian\", \"sigmaa\": 0.5}]}", NULL,
                     "elites run: %s: mutators[0].sigmaa is not a known field (known: count, type, sigma, batch, "
                     "init, initial, clip, x0)\n");
    expect_run_error("{" GOOD_PARTS ",\n \"mutators\": [{\"type\": \"gaussian\"},]\n}", NULL,
                     "elites run: %s: invalid JSON at line 2, column 36\n"); /* the ] after the comma */
    expect_run_error(NULL, NULL, "elites run: %s: cannot open: No such file or directory\n");
    /* --set errors name the assignment; values it sets are checked as if from the file */
    expect_run_error("{" GOOD_PARTS ", \"mutators\": [{\"type\": \"gaussian\"}]}", "evaluator.dim=abc",
                     "elites run: --set evaluator.dim=abc: evaluator.dim is a number, got \"abc\"\n");
    expect_run_error("{" GOOD_PARTS ", \"mutators\": [{\"type\": \"gaussian\"}]}", "mutators[0].sigma=-1",
                     "elites run: %s: mutators[0].sigma must be > 0, got -1\n");
}

static void test_bad_command_lines_exit_2(void)
{
    char *tmp = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    const char *none[] = {NULL};
    cli_result r = run_elites(tmp, none);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(starts_with(r.err, "usage: elites <command>"));
    cli_result_free(&r);
    const char *unknown[] = {"frobnicate", NULL};
    r = run_elites(tmp, unknown);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(starts_with(r.err, "elites: unknown command 'frobnicate'\nusage: elites <command>"));
    cli_result_free(&r);
    const char *two[] = {"run", "a.json", "b.json", NULL};
    r = run_elites(tmp, two);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(starts_with(r.err, "elites run: give exactly one CONFIG.json\n"));
    cli_result_free(&r);
    /* --seed and --iterations are checked as typed, before the config is read */
    const char *seed[] = {"run", "a.json", "--seed", "abc", NULL};
    r = run_elites(tmp, seed);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_STRING_EQUAL(r.err, "elites run: --seed takes a whole number >= 0, got \"abc\"\n");
    cli_result_free(&r);
    const char *iterations[] = {"run", "a.json", "--iterations", "0", NULL};
    r = run_elites(tmp, iterations);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_STRING_EQUAL(r.err, "elites run: --iterations takes a whole number >= 1, got \"0\"\n");
    cli_result_free(&r);
    const char *export_nothing[] = {"export", "a.json", NULL};
    r = run_elites(tmp, export_nothing);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT(starts_with(r.err, "elites export: give an archive and at least one of --csv, --json, --svg, --html\n"));
    cli_result_free(&r);
    qdt_rmdir(tmp);
    free(tmp);
}

static void test_help_and_version(void)
{
    char *tmp = qdt_tmpdir(), want[128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    static const struct {
        const char *args[3];
        const char *prefix;
    } cases[] = {
        {{"--help", NULL}, "usage: elites <command> [options]\n"},
        {{"-h", NULL}, "usage: elites <command> [options]\n"},
        {{"run", "--help", NULL}, "usage: elites run CONFIG.json [options]\n"},
        {{"rescore", "--help", NULL}, "usage: elites rescore ARCHIVE.json --config CONFIG.json -o DIR\n"},
        {{"export", "--help", NULL}, "usage: elites export ARCHIVE.json [--csv OUT.csv] [--json OUT.json] [--svg OUT.svg]\n"},
    };
    for (size_t i = 0; i < QDI_ARRAY_LEN(cases); i++) {
        cli_result r = run_elites(tmp, cases[i].args);
        CU_ASSERT_EQUAL(r.status, 0);
        CU_ASSERT(starts_with(r.out, cases[i].prefix));
        CU_ASSERT_STRING_EQUAL(r.err, "");
        cli_result_free(&r);
    }
    snprintf(want, sizeof want, "elites %s\n", qd_version());
    const char *version[] = {"--version", NULL}, *v[] = {"-V", NULL};
    cli_result r = run_elites(tmp, version);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.out, want);
    cli_result_free(&r);
    r = run_elites(tmp, v);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.out, want);
    cli_result_free(&r);
    qdt_rmdir(tmp);
    free(tmp);
}

static void test_export_reproduces_archive_files(void)
{
    char *tmp = qdt_tmpdir(), out[1024], config[1024], a_json[1100], a_csv[1100], e_csv[1100], e_json[1100];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(config, sizeof config, "%s/examples/sphere.json", qdt_srcdir());
    const char *run[] = {"run", config, "--iterations", "20", "--set", "evaluator.dim=10", "-o", out, "-q", NULL};
    cli_result r = run_elites(tmp, run);
    CU_ASSERT_EQUAL_FATAL(r.status, 0);
    cli_result_free(&r);
    snprintf(a_json, sizeof a_json, "%s/archive.json", out);
    snprintf(a_csv, sizeof a_csv, "%s/archive.csv", out);
    snprintf(e_csv, sizeof e_csv, "%s/out.csv", tmp);
    snprintf(e_json, sizeof e_json, "%s/out.json", tmp);
    const char *export[] = {"export", a_json, "--csv", e_csv, "--json", e_json, NULL};
    r = run_elites(tmp, export);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT(starts_with(r.out, "exported "));
    CU_ASSERT_STRING_EQUAL(r.err, "");
    CU_ASSERT(same_bytes(a_csv, e_csv));
    CU_ASSERT(same_bytes(a_json, e_json));
    cli_result_free(&r);

    /* a file that is not an archive: exit 1, message names it */
    char msg[2048];
    const char *bad[] = {"export", config, "--csv", e_csv, NULL};
    r = run_elites(tmp, bad);
    CU_ASSERT_EQUAL(r.status, 1);
    snprintf(msg, sizeof msg, "elites export: %s: not an elites archive (no \"format\": \"elites-archive\")\n", config);
    CU_ASSERT_STRING_EQUAL(r.err, msg);
    cli_result_free(&r);
    qdt_rmdir(tmp);
    free(tmp);
}

/* SIGINT during a run: the iteration in progress finishes, the outputs are
 * saved and the exit code is 130. The signal is sent once the first
 * progress line is out, so the run is under way whatever the machine's
 * speed; the iterations are far more than it can do before that. */
static void test_sigint_saves_finished_work_and_exits_130(void)
{
    char *tmp = qdt_tmpdir(), out[1024], config[1024], out_path[1100], err_path[1100], path[1100];
    CU_ASSERT_PTR_NOT_NULL_FATAL(tmp);
    snprintf(out, sizeof out, "%s/run", tmp);
    snprintf(config, sizeof config, "%s/examples/sphere.json", qdt_srcdir());
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", tmp);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", tmp);
    const char *argv[] = {qdt_bin(), "run", config, "--iterations", "100000000", "--set", "evaluator.dim=4",
                          "--set", "mutators[0].batch=10", "-o", out, NULL};
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    CU_ASSERT_FATAL(pid > 0);
    /* wait (at most about a minute) for "iter 1/..." */
    int started = 0, wstatus;
    for (int i = 0; i < 6000 && !started; i++) {
        char *o = qdt_slurp(out_path);
        started = o && strstr(o, "\niter 1/100000000 ") != NULL;
        free(o);
        if (!started)
            usleep(10000);
    }
    CU_ASSERT(started);
    kill(pid, SIGINT);
    CU_ASSERT_FATAL(waitpid(pid, &wstatus, 0) == pid);
    CU_ASSERT(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 130);

    /* the message names the last finished iteration, the files hold it */
    char *err = qdt_slurp(err_path), want[3300];
    const char *line = err ? strstr(err, "elites run: interrupted") : NULL;
    unsigned long long done = 0;
    CU_ASSERT_FATAL(line && sscanf(line, "elites run: interrupted after iteration %llu;", &done) == 1);
    snprintf(want, sizeof want,
             "\nelites run: stopping after the jobs in flight (again to give them up)\n"
             "elites run: interrupted after iteration %llu; saved the archive and metrics and a checkpoint in %s "
             "(go on with: elites run --resume %s)\n",
             done, out, out);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT(done >= 1);
    snprintf(path, sizeof path, "%s/metrics.csv", out);
    char *metrics = qdt_slurp(path);
    size_t lines = 0;
    for (const char *p = metrics; p && *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, done + 1);
    snprintf(path, sizeof path, "%s/archive.json", out);
    char *text = qdt_slurp(path);
    cJSON *doc = text ? cJSON_Parse(text) : NULL;
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "counts"), "iterations");
    CU_ASSERT(cJSON_IsNumber(it) && it->valuedouble == (double)done);
    cJSON_Delete(doc);
    free(text);
    free(metrics);

    /* the run goes on from its checkpoint to 5 more iterations */
    char more[32];
    snprintf(more, sizeof more, "%llu", done + 5);
    const char *again[] = {"run", config, "--iterations", more, "--set", "evaluator.dim=4",
                           "--set", "mutators[0].batch=10", "--resume", out, "-q", NULL};
    cli_result r = run_elites(tmp, again);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.err, "");
    cli_result_free(&r);
    snprintf(path, sizeof path, "%s/metrics.csv", out);
    metrics = qdt_slurp(path);
    lines = 0;
    for (const char *p = metrics; p && *p; p++)
        lines += *p == '\n';
    CU_ASSERT_EQUAL(lines, done + 5 + 1);
    free(metrics);
    free(err);
    qdt_rmdir(tmp);
    free(tmp);
}

static const qdt_test tests[] = {
    {"run sphere example writes its files", test_run_sphere_example_writes_its_files},
    {"run logs plain lines when not a terminal", test_run_logs_plain_lines_when_not_a_terminal},
    {"bad config exits 2 naming file, field and value", test_bad_config_exits_2_naming_file_field_and_value},
    {"bad command lines exit 2", test_bad_command_lines_exit_2},
    {"help and version", test_help_and_version},
    {"export reproduces archive files", test_export_reproduces_archive_files},
    {"SIGINT saves finished work and exits 130", test_sigint_saves_finished_work_and_exits_130},
    {NULL, NULL},
};

QDT_MAIN("cli", tests)
