/* test_command.c - the command evaluator (evaluators/command.c), driven
 * through whole searches with small shell and python3 programs the tests
 * write into a temporary folder: a good program fills the archive; a
 * crashing, hanging, garbage-printing, field-missing and NaN-printing one
 * gives each candidate a failure with the exact reason (in the failure
 * kinds and in failures.jsonl) while the run completes; a slow one that
 * writes its reply in pieces succeeds; persistent mode gives the same
 * archive as fork mode for a seed and starts one process per worker; a
 * persistent process that dies or hangs is replaced for the next candidate
 * and its candidate counted as failed; the search's job_timeout ends a
 * program early; a program that never reads its input does not bring
 * SIGPIPE down on the search; env, cwd, text genomes, the config checks and
 * the examples; and no child process is left behind. */
#define _GNU_SOURCE /* realpath */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "testutil.h"

/* ---- helpers ------------------------------------------------------------ */

/* Writes an executable script dir/name; returns its path (caller frees). */
static char *script(const char *dir, const char *name, const char *text)
{
    char *path = malloc(1024);
    FILE *f;
    snprintf(path, 1024, "%s/%s", dir, name);
    f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    chmod(path, 0755);
    return path;
}

/* A search over a 3-gene genome in [-1, 1] with two measures in [0, 1] on
 * a 10x10 grid; evaluator_fields are the command evaluator's own. */
static char *config_json(const char *evaluator_fields, int workers, int iterations, int batch)
{
    char *json = malloc(8192);
    snprintf(json, 8192,
             "{\"seed\": 7, \"iterations\": %d, \"workers\": %d,"
             "\"evaluator\": {\"type\": \"command\", %s, \"dim\": 3, \"lower\": -1, \"upper\": 1,"
             " \"measures\": 2, \"measure_lower\": 0, \"measure_upper\": 1},"
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"
             "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.3, \"batch\": %d}]}",
             iterations, workers, evaluator_fields, batch);
    return json;
}

/* Runs a config to its end and saves into out; returns the search (the
 * caller frees it and *cfg). */
static qd_search *run_json(const char *json, const char *out, qd_config **cfg)
{
    qd_search *s = NULL;
    *cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*cfg);
    if (qd_search_new(*cfg, &s) != QD_OK) {
        fprintf(stderr, "\n  qd_search_new: %s\n", qd_config_error(*cfg));
        CU_FAIL_FATAL("qd_search_new failed");
    }
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "\n  qd_search_step: %s\n", qd_search_error(s));
            CU_FAIL("qd_search_step failed");
            break;
        }
    CU_ASSERT_EQUAL(qd_search_save(s, out), QD_OK);
    return s;
}

static qd_search *run(const char *fields, int workers, int iterations, int batch, const char *out, qd_config **cfg)
{
    char *json = config_json(fields, workers, iterations, batch);
    qd_search *s = run_json(json, out, cfg);
    free(json);
    return s;
}

/* The number of lines of dir/failures.jsonl whose "reason" is reason
 * (every line must be a JSON object with one); -1 if a line is not. */
static long failure_lines(const char *dir, const char *reason, long *total)
{
    char path[1024], *text, *line, *save = NULL;
    long n = 0;
    *total = 0;
    snprintf(path, sizeof path, "%s/failures.jsonl", dir);
    if (!(text = qdt_slurp(path)))
        return 0;
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "reason");
        if (!cJSON_IsString(r)) {
            cJSON_Delete(j);
            free(text);
            return -1;
        }
        if (strcmp(r->valuestring, reason) == 0)
            n++;
        else
            fprintf(stderr, "\n  failures.jsonl reason: %s\n", r->valuestring);
        (*total)++;
        cJSON_Delete(j);
    }
    free(text);
    return n;
}

/* Checks that every job of the run failed with exactly reason, in the
 * search's failure kinds and in failures.jsonl. */
static void check_all_failed_with(const qd_search *s, const char *dir, const char *reason)
{
    const qd_counts *c = qd_search_counts(s);
    uint64_t count = 0;
    long total;
    CU_ASSERT(c->asked > 0);
    CU_ASSERT_EQUAL(c->failed, c->asked);
    CU_ASSERT_EQUAL(c->evaluated, 0);
    CU_ASSERT_EQUAL(qd_search_failure_kinds(s), 1);
    const char *kind = qd_search_failure_kind(s, 0, &count);
    CU_ASSERT_PTR_NOT_NULL_FATAL(kind);
    if (strcmp(kind, reason) != 0)
        fprintf(stderr, "\n  reason: %s\n  wanted: %s\n", kind, reason);
    CU_ASSERT_STRING_EQUAL(kind, reason);
    CU_ASSERT_EQUAL(count, c->asked);
    CU_ASSERT_EQUAL(failure_lines(dir, reason, &total), (long)c->asked);
    CU_ASSERT_EQUAL(total, (long)c->asked);
    CU_ASSERT_EQUAL(qd_archive_filled(qd_search_archive(s)), 0);
}

/* 1 when this process has no child left (none running, none unreaped). */
static int no_children(void)
{
    return waitpid(-1, NULL, WNOHANG) == -1 && errno == ECHILD;
}

/* 1 once process pid is gone or a zombie (within two seconds). */
static int process_ended(long pid)
{
    for (int i = 0; i < 200; i++) {
        char path[64], *stat;
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        if (!(stat = qdt_slurp(path)))
            return 1;
        char *p = strrchr(stat, ')');
        int dead = p && (p[2] == 'Z' || p[2] == 'X');
        free(stat);
        if (dead)
            return 1;
        struct timespec t = {0, 10000000};
        nanosleep(&t, NULL);
    }
    return 0;
}

static size_t count_lines_in(const char *path)
{
    char *s = qdt_slurp(path);
    size_t n = 0;
    for (const char *p = s; p && *p; p++)
        n += *p == '\n';
    free(s);
    return n;
}

/* Runs a program that fails every candidate the same way and checks the
 * reason; fields are extra evaluator fields (may be ""). */
static void check_program_fails_with(const char *name, const char *text, const char *fields, const char *reason)
{
    char *dir = qdt_tmpdir(), ev[2048];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, name, text);
    qd_config *cfg;
    snprintf(ev, sizeof ev, "\"argv\": [\"%s\"]%s%s", prog, *fields ? ", " : "", fields);
    qd_search *s = run(ev, 2, 1, 4, dir, &cfg);
    check_all_failed_with(s, dir, reason);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

/* The good program (sh + awk, quick to start): objective 10 - |x|^2 plus
 * a small term from the seed (so the seed must reach it the same way in
 * every mode), measures from x[0] and x[1], the seed in meta; serves any
 * number of lines. START_LOG, when set, gets a line per process start. */
static const char good_sh[] =
    "#!/bin/sh\n"
    "[ -n \"$START_LOG\" ] && echo $$ >> \"$START_LOG\"\n"
    "case \"$(awk -W version 2>&1)\" in *mawk*) set -- -W interactive ;; *) set -- ;; esac\n"
    "exec awk \"$@\" '\n"
    "NF {\n"
    "    id = $0; sub(/.*\"id\":/, \"\", id); sub(/[^0-9].*/, \"\", id)\n"
    "    seed = $0; sub(/.*\"seed\":/, \"\", seed); sub(/[^0-9].*/, \"\", seed)\n"
    "    s = $0; sub(/.*\"x\":\\[/, \"\", s); sub(/\\].*/, \"\", s)\n"
    "    n = split(s, x, \",\"); f = 10\n"
    "    for (i = 1; i <= n; i++) f -= x[i] * x[i]\n"
    "    f += (seed % 1000) * 1e-6\n"
    "    m1 = (x[1] + 1) / 2; m2 = (x[2] + 1) / 2\n"
    "    if (m1 < 0) m1 = 0; if (m1 > 1) m1 = 1; if (m2 < 0) m2 = 0; if (m2 > 1) m2 = 1\n"
    "    printf \"{\\\"id\\\": %s, \\\"objective\\\": %.17g, \\\"measures\\\": [%.17g, %.17g], \\\"meta\\\": "
    "{\\\"seed\\\": %s}}\\n\", id, f, m1, m2, seed\n"
    "    fflush()\n"
    "}'\n";

/* ---- tests -------------------------------------------------------------- */

static void test_good_command_fills_archive(void)
{
    char *dir = qdt_tmpdir(), ev[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "good.sh", good_sh);
    qd_config *cfg;
    snprintf(ev, sizeof ev, "\"command\": \"'%s'\"", prog);
    qd_search *s = run(ev, 2, 4, 20, dir, &cfg);
    const qd_counts *c = qd_search_counts(s);
    qd_elite e;
    CU_ASSERT_EQUAL(c->asked, 80);
    CU_ASSERT_EQUAL(c->evaluated, 80);
    CU_ASSERT_EQUAL(c->failed, 0);
    CU_ASSERT(qd_archive_filled(qd_search_archive(s)) >= 20);
    /* the reply's meta is kept with the elite */
    CU_ASSERT_EQUAL_FATAL(qd_archive_elite_at(qd_search_archive(s), 0, &e), QD_OK);
    CU_ASSERT(e.meta && strncmp(e.meta, "{\"seed\":", 8) == 0);
    CU_ASSERT(e.objective > 7.0 && e.objective <= 10.001);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

static void test_crashing_command_gives_exit_status_and_stderr(void)
{
    check_program_fails_with("crash.sh",
                             "#!/bin/sh\ncat >/dev/null\necho 'Traceback (most recent call last):' >&2\n"
                             "echo 'ValueError: boom' >&2\nexit 3\n",
                             "",
                             "command: exit status 3; stderr: Traceback (most recent call last): | ValueError: boom");
    check_program_fails_with("segv.sh", "#!/bin/sh\nkill -SEGV $$\n", "", "command: killed by SIGSEGV");
}

static void test_hanging_command_times_out(void)
{
    char *dir = qdt_tmpdir(), ev[2048], pidfile[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    /* a background grandchild in the same process group must end too */
    snprintf(pidfile, sizeof pidfile, "%s/grandchild.pid", dir);
    char *prog = script(dir, "hang.sh",
                        "#!/bin/sh\necho 'loading' >&2\nsleep 30 &\necho $! >> \"$PIDFILE\"\nwait\n");
    qd_config *cfg;
    double t0 = qdi_now();
    snprintf(ev, sizeof ev, "\"argv\": [\"%s\"], \"timeout\": 0.3, \"env\": {\"PIDFILE\": \"%s\"}", prog, pidfile);
    qd_search *s = run(ev, 2, 2, 2, dir, &cfg);
    check_all_failed_with(s, dir, "command: timed out after 0.3 s; stderr: loading");
    CU_ASSERT(qdi_now() - t0 < 10.0); /* 4 candidates, 2 at a time, 0.3 s each: not 30 s */
    char *pids = qdt_slurp(pidfile), *p = pids, *end;
    size_t n = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(pids);
    for (long pid; (pid = strtol(p, &end, 10)) > 0; p = end, n++)
        CU_ASSERT(process_ended(pid));
    CU_ASSERT_EQUAL(n, 4);
    free(pids);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

static void test_job_timeout_cuts_the_command_short(void)
{
    char *dir = qdt_tmpdir(), *json = malloc(4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "long.sh", "#!/bin/sh\nsleep 30\n");
    qd_config *cfg;
    double t0 = qdi_now();
    snprintf(json, 4096,
             "{\"seed\": 7, \"iterations\": 1, \"workers\": 2, \"job_timeout\": 0.3,"
             "\"evaluator\": {\"type\": \"command\", \"argv\": [\"%s\"], \"timeout\": 60, \"dim\": 3,"
             " \"measures\": 2, \"measure_lower\": 0, \"measure_upper\": 1},"
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"
             "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.3, \"batch\": 2}]}",
             prog);
    qd_search *s = run_json(json, dir, &cfg);
    check_all_failed_with(s, dir, "command: timed out at the job's deadline (job_timeout)");
    CU_ASSERT(qdi_now() - t0 < 10.0);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(json);
    free(prog);
    free(dir);
}

static void *stop_later(void *arg)
{
    struct timespec t = {0, 300000000};
    nanosleep(&t, NULL);
    qd_search_stop(arg);
    return NULL;
}

/* A stop whose grace runs out gives the jobs up, and the evaluator's
 * cancel kills the programs: the search is freed at once, not when the
 * programs' 60 s timeout would have ended them, and no child is left. */
static void test_given_up_jobs_kill_their_programs(void)
{
    char *dir = qdt_tmpdir(), *json = malloc(4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "long.sh", "#!/bin/sh\nsleep 30\n");
    qd_config *cfg;
    qd_search *s = NULL;
    pthread_t stopper;
    double t0 = qdi_now();
    snprintf(json, 4096,
             "{\"seed\": 7, \"iterations\": 5, \"workers\": 2, \"grace\": 0.2,"
             "\"evaluator\": {\"type\": \"command\", \"argv\": [\"%s\"], \"timeout\": 60, \"dim\": 3,"
             " \"measures\": 2, \"measure_lower\": 0, \"measure_upper\": 1},"
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"
             "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.3, \"batch\": 6}]}",
             prog);
    cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL_FATAL(qd_search_new(cfg, &s), QD_OK);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&stopper, NULL, stop_later, s), 0);
    CU_ASSERT_EQUAL(qd_search_step(s), QD_EINTR);
    CU_ASSERT(qd_search_abandoned(s));
    pthread_join(stopper, NULL);
    qd_search_free(s);
    CU_ASSERT(qdi_now() - t0 < 10.0); /* the programs would sleep 30 s */
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(json);
    free(prog);
    free(dir);
}

static void test_command_ignoring_sigterm_is_killed(void)
{
    check_program_fails_with("stubborn.sh", "#!/bin/sh\ntrap '' TERM\nsleep 30\n",
                             "\"timeout\": 0.2, \"kill_grace\": 0.2", "command: timed out after 0.2 s");
}

static void test_garbage_printing_command(void)
{
    check_program_fails_with("garbage.sh", "#!/bin/sh\ncat >/dev/null\necho 'hello, world'\n", "",
                             "command: bad JSON on stdout: \"hello, world\"");
    check_program_fails_with("silent.sh", "#!/bin/sh\ncat >/dev/null\n", "", "command: no reply on stdout");
    check_program_fails_with("list.sh", "#!/bin/sh\necho '[1, 2]'\n", "", "command: reply is not a JSON object");
}

static void test_missing_field_command(void)
{
    check_program_fails_with("no_measures.sh", "#!/bin/sh\necho '{\"objective\": 1.5}'\n", "",
                             "command: reply has no \"measures\"");
    check_program_fails_with("no_objective.sh", "#!/bin/sh\necho '{\"measures\": [0.5, 0.5]}'\n", "",
                             "command: reply has no \"objective\"");
    check_program_fails_with("short.sh", "#!/bin/sh\necho '{\"objective\": 1, \"measures\": [0.5]}'\n", "",
                             "command: \"measures\" must be an array of 2 numbers, got 1");
    check_program_fails_with("reported.sh", "#!/bin/sh\necho '{\"error\": \"loss diverged\"}'\n", "",
                             "command: program reported: loss diverged");
}

static void test_nan_printing_command(void)
{
    /* Python's json writes NaN and Infinity bare (not JSON); they are read
     * as the values they mean and refused with a clear reason */
    check_program_fails_with("nan_objective.py",
                             "#!/usr/bin/env python3\nimport json, sys\nsys.stdin.read()\n"
                             "print(json.dumps({'objective': float('nan'), 'measures': [0.5, 0.5]}))\n",
                             "", "command: objective is NaN");
    check_program_fails_with("nan_measure.py",
                             "#!/usr/bin/env python3\nimport json, sys\nsys.stdin.read()\n"
                             "print(json.dumps({'objective': 1.0, 'measures': [0.5, float('nan')]}))\n",
                             "", "command: measures[1] is NaN");
    check_program_fails_with("inf.sh", "#!/bin/sh\necho '{\"objective\": -Infinity, \"measures\": [0.5, 0.5]}'\n",
                             "", "command: objective is infinite");
}

static void test_slow_command_succeeds(void)
{
    char *dir = qdt_tmpdir(), ev[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    /* progress on stdout first and stderr chatter, then a reply written in
     * pieces: fork mode reads stdout's last line */
    char *prog = script(dir, "slow.sh",
                        "#!/bin/sh\ncat >/dev/null\necho 'epoch 1' \nsleep 0.1\necho 'thinking...' >&2\n"
                        "printf '{\"objective\": '\nsleep 0.1\nprintf '0.5, \"measures\": [0.25, 0.75]}\\n'\n");
    qd_config *cfg;
    snprintf(ev, sizeof ev, "\"argv\": [\"%s\"], \"timeout\": 5", prog);
    qd_search *s = run(ev, 2, 2, 4, dir, &cfg);
    const qd_counts *c = qd_search_counts(s);
    CU_ASSERT_EQUAL(c->evaluated, 8);
    CU_ASSERT_EQUAL(c->failed, 0);
    CU_ASSERT_EQUAL(qd_archive_filled(qd_search_archive(s)), 1);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

static void test_persistent_mode_gives_same_archive_as_fork_mode(void)
{
    char *dir = qdt_tmpdir(), ev[2048], log[1024], a[1024], b[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "good.sh", good_sh);
    qd_config *cfg;
    qd_search *s;
    snprintf(log, sizeof log, "%s/starts.log", dir);
    snprintf(a, sizeof a, "%s/fork", dir);
    snprintf(b, sizeof b, "%s/persistent", dir);
    snprintf(ev, sizeof ev, "\"argv\": [\"%s\"], \"mode\": \"fork\", \"timeout\": 10", prog);
    s = run(ev, 2, 4, 20, a, &cfg);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 80);
    qd_search_free(s);
    qd_config_free(cfg);
    snprintf(ev, sizeof ev, "\"argv\": [\"%s\"], \"mode\": \"persistent\", \"timeout\": 10, \"env\": {\"START_LOG\": \"%s\"}",
             prog, log);
    s = run(ev, 3, 4, 20, b, &cfg);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 80);
    CU_ASSERT_EQUAL(qd_search_counts(s)->failed, 0);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children()); /* worker_fini ended every long-lived process */
    /* one process per worker that got work, not one per candidate */
    size_t starts = count_lines_in(log);
    CU_ASSERT(starts >= 1 && starts <= 3);
    snprintf(a, sizeof a, "%s/fork/archive.csv", dir);
    snprintf(b, sizeof b, "%s/persistent/archive.csv", dir);
    char *ca = qdt_slurp(a), *cb = qdt_slurp(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ca);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cb);
    CU_ASSERT_STRING_EQUAL(ca, cb);
    free(ca);
    free(cb);
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

static void test_persistent_process_that_dies_is_restarted(void)
{
    char *dir = qdt_tmpdir(), ev[2048], log[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    /* dies on the third request each process gets */
    char *prog = script(dir, "die.py",
                        "#!/usr/bin/env python3\nimport json, os, sys\n"
                        "with open(os.environ['START_LOG'], 'a') as f:\n    f.write('start\\n')\n"
                        "served = 0\nfor line in sys.stdin:\n    served += 1\n    if served == 3:\n"
                        "        sys.stderr.write('dying on request 3\\n')\n        sys.stderr.flush()\n"
                        "        os._exit(1)\n    r = json.loads(line)\n"
                        "    print(json.dumps({'id': r['id'], 'objective': 1.0, 'measures': [0.5, 0.5]}), flush=True)\n");
    qd_config *cfg;
    uint64_t count = 0;
    long total;
    snprintf(log, sizeof log, "%s/starts.log", dir);
    snprintf(ev, sizeof ev, "\"argv\": [\"%s\"], \"mode\": \"persistent\", \"env\": {\"START_LOG\": \"%s\"}", prog, log);
    qd_search *s = run(ev, 1, 1, 9, dir, &cfg);
    const qd_counts *c = qd_search_counts(s);
    const char *reason = "command: program ended before replying (exit status 1); stderr: dying on request 3";
    CU_ASSERT_EQUAL(c->evaluated, 6);
    CU_ASSERT_EQUAL(c->failed, 3);
    CU_ASSERT_EQUAL(qd_search_failure_kinds(s), 1);
    CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 0, &count), reason);
    CU_ASSERT_EQUAL(count, 3);
    CU_ASSERT_EQUAL(failure_lines(dir, reason, &total), 3);
    CU_ASSERT_EQUAL(count_lines_in(log), 3); /* jobs 1-3, 4-6 and 7-9 each had a process */
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

static void test_persistent_process_that_hangs_is_replaced(void)
{
    char *dir = qdt_tmpdir(), ev[2048], log[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    /* hangs on the second request each process gets */
    char *prog = script(dir, "hang.py",
                        "#!/usr/bin/env python3\nimport json, os, sys, time\n"
                        "with open(os.environ['START_LOG'], 'a') as f:\n    f.write('start\\n')\n"
                        "served = 0\nfor line in sys.stdin:\n    served += 1\n    if served == 2:\n"
                        "        time.sleep(30)\n    r = json.loads(line)\n"
                        "    print(json.dumps({'id': r['id'], 'objective': 1.0, 'measures': [0.5, 0.5]}), flush=True)\n");
    qd_config *cfg;
    uint64_t count = 0;
    snprintf(log, sizeof log, "%s/starts.log", dir);
    snprintf(ev, sizeof ev,
             "\"argv\": [\"%s\"], \"mode\": \"persistent\", \"timeout\": 8, \"env\": {\"START_LOG\": \"%s\"}", prog,
             log);
    qd_search *s = run(ev, 1, 1, 4, dir, &cfg);
    const qd_counts *c = qd_search_counts(s);
    CU_ASSERT_EQUAL(c->evaluated, 2);
    CU_ASSERT_EQUAL(c->failed, 2);
    CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 0, &count), "command: timed out after 8 s");
    CU_ASSERT_EQUAL(count, 2);
    CU_ASSERT_EQUAL(count_lines_in(log), 2);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

static void test_persistent_protocol_errors(void)
{
    /* a line that is not JSON puts the process out of step: it is replaced */
    check_program_fails_with("chatty.sh", "#!/bin/sh\nwhile read l; do echo 'step 1 of 3'; done\n",
                             "\"mode\": \"persistent\"", "command: bad JSON on stdout: \"step 1 of 3\"");
    check_program_fails_with("wrong_id.sh",
                             "#!/bin/sh\nwhile read l; do echo '{\"id\": -1, \"objective\": 1, \"measures\": [0, 0]}'; done\n",
                             "\"mode\": \"persistent\"",
                             "command: reply's \"id\" is not the request's (one reply per request line, in order)");
    check_program_fails_with("quits.sh", "#!/bin/sh\nexit 0\n", "\"mode\": \"persistent\"",
                             "command: program ended before replying (exit status 0)");
}

static void test_program_that_ignores_its_input_does_not_raise_sigpipe(void)
{
    /* a request far larger than a pipe's buffer to a program that exits
     * without reading it: the write fails with EPIPE (no SIGPIPE kills the
     * test) and the program's reply still counts */
    char *dir = qdt_tmpdir(), *json = malloc(8192);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "deaf.sh", "#!/bin/sh\necho '{\"objective\": 1, \"measures\": [0.5, 0.5]}'\n");
    qd_config *cfg;
    snprintf(json, 8192,
             "{\"seed\": 7, \"iterations\": 1, \"workers\": 2,"
             "\"evaluator\": {\"type\": \"command\", \"argv\": [\"%s\"], \"dim\": 20000, \"lower\": -1, \"upper\": 1,"
             " \"measures\": 2, \"measure_lower\": 0, \"measure_upper\": 1},"
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 10}, {\"bins\": 10}]},"
             "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.3, \"batch\": 4}]}",
             prog);
    qd_search *s = run_json(json, dir, &cfg);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 4);
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(json);
    free(prog);
    free(dir);
}

static void test_env_cwd_and_worker_reach_the_program(void)
{
    char *dir = qdt_tmpdir(), ev[2048], real[PATH_MAX], want[PATH_MAX + 128];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "where.sh",
                        "#!/bin/sh\ncat >/dev/null\nprintf '{\"objective\": 1, \"measures\": [0.5, 0.5], "
                        "\"meta\": {\"foo\": \"%s\", \"cwd\": \"%s\", \"worker\": \"%s\"}}\\n' "
                        "\"$FOO\" \"$(pwd -P)\" \"$ELITES_WORKER\"\n");
    qd_config *cfg;
    qd_elite e;
    CU_ASSERT_PTR_NOT_NULL_FATAL(realpath(dir, real));
    /* a relative argv[0] is found from cwd */
    snprintf(ev, sizeof ev, "\"argv\": [\"./where.sh\"], \"cwd\": \"%s\", \"env\": {\"FOO\": \"bar baz\"}", dir);
    qd_search *s = run(ev, 1, 1, 2, dir, &cfg);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 2);
    CU_ASSERT_EQUAL_FATAL(qd_archive_elite_at(qd_search_archive(s), 0, &e), QD_OK);
    snprintf(want, sizeof want, "{\"foo\":\"bar baz\",\"cwd\":\"%s\",\"worker\":\"0\"}", real);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e.meta);
    CU_ASSERT_STRING_EQUAL(e.meta, want);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

static void test_stderr_tail_keeps_the_end(void)
{
    char *dir = qdt_tmpdir(), ev[1024];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "noisy.sh",
                        "#!/bin/sh\ncat >/dev/null\ni=0\nwhile [ $i -lt 200 ]; do echo \"log line $i\" >&2; "
                        "i=$((i+1)); done\necho 'the real error' >&2\nexit 1\n");
    qd_config *cfg;
    uint64_t count;
    snprintf(ev, sizeof ev, "\"argv\": [\"%s\"], \"stderr_tail\": 40", prog);
    qd_search *s = run(ev, 1, 1, 1, dir, &cfg);
    const char *reason = qd_search_failure_kind(s, 0, &count);
    CU_ASSERT_PTR_NOT_NULL_FATAL(reason);
    CU_ASSERT_STRING_EQUAL(reason, "command: exit status 1; stderr: ...og line 198 | log line 199 | the real error");
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(prog);
    free(dir);
}

/* "text_counter": gives job k the text "candidate k". */
static int text_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    (void)cfg;
    (void)space;
    m->batch = 6;
    return QD_OK;
}

static int text_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    (void)m;
    (void)a;
    for (size_t j = 0; j < n; j++) {
        char text[64];
        snprintf(text, sizeof text, "candidate \"%llu\"", (unsigned long long)jobs[j].id);
        if (qd_solution_set_text(&jobs[j].sol, text) != QD_OK)
            return QD_ENOMEM;
    }
    return QD_OK;
}

static const qd_mutator_type text_counter = {.name = "text_counter", .init = text_init, .ask = text_ask};

static void test_text_genome_goes_as_text(void)
{
    char *dir = qdt_tmpdir(), *json = malloc(4096);
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    char *prog = script(dir, "text.py",
                        "#!/usr/bin/env python3\nimport json, sys\n"
                        "for line in sys.stdin:\n    r = json.loads(line)\n    t = r['text']\n"
                        "    print(json.dumps({'objective': len(t), 'measures': [int(t.split('\"')[1]) / 10 + 0.05]}),"
                        " flush=True)\n");
    qd_config *cfg;
    qd_elite e;
    if (!qd_find_mutator("text_counter"))
        CU_ASSERT_EQUAL(qd_register_mutator(&text_counter), QD_OK);
    snprintf(json, 4096,
             "{\"seed\": 1, \"iterations\": 1, \"workers\": 2,"
             "\"evaluator\": {\"type\": \"command\", \"argv\": [\"%s\"], \"mode\": \"persistent\", \"genome\": "
             "\"text\", \"measure_names\": [\"number\"], \"measure_lower\": 0, \"measure_upper\": 1},"
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 10}]},"
             "\"mutators\": [{\"type\": \"text_counter\"}]}",
             prog);
    qd_search *s = run_json(json, dir, &cfg);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 6);
    CU_ASSERT_EQUAL(qd_archive_filled(qd_search_archive(s)), 6);
    for (size_t i = 0; i < qd_archive_filled(qd_search_archive(s)); i++) {
        CU_ASSERT_EQUAL_FATAL(qd_archive_elite_at(qd_search_archive(s), i, &e), QD_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e.text);
        CU_ASSERT_EQUAL(e.objective, (double)strlen(e.text));
    }
    qd_search_free(s);
    qd_config_free(cfg);
    CU_ASSERT(no_children());
    qdt_rmdir(dir);
    free(json);
    free(prog);
    free(dir);
}

/* Runs one of examples/command's configs, shortened, from the source
 * folder (the configs name their programs relative to it). */
static void run_example(const char *name)
{
    const char *src = getenv("ELITES_SRCDIR");
    char path[1024], set[1200], err[512];
    char *dir = qdt_tmpdir();
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    src = src && *src ? src : ".";
    snprintf(path, sizeof path, "%s/examples/command/%s", src, name);
    snprintf(set, sizeof set, "evaluator.cwd=%s", src);
    if (qd_config_load_file(path, &cfg, err, sizeof err) != QD_OK) {
        fprintf(stderr, "\n  %s\n", err);
        CU_FAIL_FATAL("example config does not load");
    }
    CU_ASSERT_EQUAL_FATAL(qd_config_set(cfg, set), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_config_set(cfg, "iterations=4"), QD_OK);
    if (qd_search_new(cfg, &s) != QD_OK) {
        fprintf(stderr, "\n  %s\n", qd_config_error(cfg));
        CU_FAIL_FATAL("example search does not build");
    }
    while (!qd_search_done(s))
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
    CU_ASSERT(qd_search_counts(s)->evaluated > 0);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, qd_search_counts(s)->asked);
    CU_ASSERT(qd_archive_filled(qd_search_archive(s)) > 0);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_examples_run(void)
{
    run_example("sphere-python.json");
    run_example("sphere-shell.json");
    CU_ASSERT(no_children());
}

/* Builds a command evaluator from JSON text and checks the config error
 * contains want (NULL: must build). */
static void check_config(const char *json, const char *want)
{
    qd_config *cfg = qdt_config(json);
    qd_evaluator *ev = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    int rc = qd_evaluator_new(cfg, &ev);
    if (!want) {
        if (rc != QD_OK)
            fprintf(stderr, "\n  unexpected error: %s\n", qd_config_error(cfg));
        CU_ASSERT_EQUAL(rc, QD_OK);
    } else {
        CU_ASSERT_EQUAL(rc, QD_EINVAL);
        if (!strstr(qd_config_error(cfg), want))
            fprintf(stderr, "\n  error: %s\n  wanted: %s\n", qd_config_error(cfg), want);
        CU_ASSERT_PTR_NOT_NULL(strstr(qd_config_error(cfg), want));
    }
    qd_evaluator_free(ev);
    qd_config_free(cfg);
}

static void test_config_errors_name_the_field(void)
{
    check_config("{\"type\": \"command\", \"command\": \"true\", \"dim\": 2, \"measures\": 1}", NULL);
    check_config("{\"type\": \"command\", \"dim\": 2, \"measures\": 1}", "command is required");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"argv\": [\"true\"], \"dim\": 2, \"measures\": 1}",
                 "argv cannot be combined with command");
    check_config("{\"type\": \"command\", \"argv\": [\"no-such-program-here\"], \"dim\": 2, \"measures\": 1}",
                 "argv names a program that was not found: \"no-such-program-here\" (not in PATH)");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"mode\": \"forked\", \"dim\": 2, \"measures\": 1}",
                 "mode");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"timeout\": 0, \"dim\": 2, \"measures\": 1}",
                 "timeout must be > 0");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"cwd\": \"/no/such/folder\", \"dim\": 2, "
                 "\"measures\": 1}",
                 "cwd is not a folder: \"/no/such/folder\"");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"env\": {\"A\": 1}, \"dim\": 2, \"measures\": 1}",
                 "env.A");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"measures\": 1}", "dim is required");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"dim\": 2}", "measures is required");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"dim\": 2, \"measures\": 2, "
                 "\"measure_names\": [\"a\"]}",
                 "measure_names must give 2 names (one per measure), got 1");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"dim\": 2, \"measures\": 1, \"lower\": 1, "
                 "\"upper\": [2, 0]}",
                 "upper must be above lower");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"dim\": 2, \"measures\": 1, \"stderr_tail\": -1}",
                 "stderr_tail");
    check_config("{\"type\": \"command\", \"command\": \"true\", \"genome\": \"text\", \"dim\": 2, \"measures\": 1}",
                 "dim is not a known field");
}

static const qdt_test tests[] = {
    {"good command fills archive", test_good_command_fills_archive},
    {"crashing command gives exit status and stderr", test_crashing_command_gives_exit_status_and_stderr},
    {"hanging command times out", test_hanging_command_times_out},
    {"job timeout cuts the command short", test_job_timeout_cuts_the_command_short},
    {"given-up jobs kill their programs", test_given_up_jobs_kill_their_programs},
    {"command ignoring SIGTERM is killed", test_command_ignoring_sigterm_is_killed},
    {"garbage-printing command", test_garbage_printing_command},
    {"missing-field command", test_missing_field_command},
    {"NaN-printing command", test_nan_printing_command},
    {"slow command succeeds", test_slow_command_succeeds},
    {"persistent mode gives same archive as fork mode", test_persistent_mode_gives_same_archive_as_fork_mode},
    {"persistent process that dies is restarted", test_persistent_process_that_dies_is_restarted},
    {"persistent process that hangs is replaced", test_persistent_process_that_hangs_is_replaced},
    {"persistent protocol errors", test_persistent_protocol_errors},
    {"program that ignores its input does not raise SIGPIPE",
     test_program_that_ignores_its_input_does_not_raise_sigpipe},
    {"env, cwd and worker reach the program", test_env_cwd_and_worker_reach_the_program},
    {"stderr tail keeps the end", test_stderr_tail_keeps_the_end},
    {"text genome goes as text", test_text_genome_goes_as_text},
    {"config errors name the field", test_config_errors_name_the_field},
    {"examples run", test_examples_run},
    {NULL, NULL},
};

QDT_MAIN("command", tests)
