/* bench_command.c - throughput of the command evaluator: evaluations per
 * second when each candidate starts the program ("fork" mode) and when each
 * worker keeps one long-lived process ("persistent" mode), for the same
 * program in Python (standard library) and in sh + awk, scoring the 10-D
 * sphere through a whole search (gaussian mutator, 20x20 grid). Prints
 * both rates and their ratio, with 1 worker and with one per core. Not
 * part of make check.
 *
 *   bench/bench_command [seconds per measurement, default 3]
 *
 * PYTHON names the interpreter (default python3 from PATH; a pyenv shim in
 * front of it adds a shell script to every start).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "src/elites.h"

static const char python_prog[] =
    "import json, sys\n"
    "for line in sys.stdin:\n"
    "    r = json.loads(line)\n"
    "    x = r['x']\n"
    "    half = len(x) // 2\n"
    "    print(json.dumps({'id': r['id'], 'objective': 100.0 - sum(v * v for v in x),\n"
    "                      'measures': [sum(x[:half]), sum(x[half:])]}), flush=True)\n";

static const char awk_prog[] =
    "#!/bin/sh\n"
    "case \"$(awk -W version 2>&1)\" in *mawk*) set -- -W interactive ;; *) set -- ;; esac\n"
    "exec awk \"$@\" '\n"
    "NF {\n"
    "    id = $0; sub(/.*\"id\":/, \"\", id); sub(/[^0-9].*/, \"\", id)\n"
    "    s = $0; sub(/.*\"x\":\\[/, \"\", s); sub(/\\].*/, \"\", s)\n"
    "    n = split(s, x, \",\"); f = 100; m1 = 0; m2 = 0\n"
    "    for (i = 1; i <= n; i++) { f -= x[i] * x[i]; if (i <= n / 2) m1 += x[i]; else m2 += x[i] }\n"
    "    printf \"{\\\"id\\\": %s, \\\"objective\\\": %.17g, \\\"measures\\\": [%.17g, %.17g]}\\n\", id, f, m1, m2\n"
    "    fflush()\n"
    "}'\n";

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "bench_command: cannot write %s\n", path);
        exit(1);
    }
    chmod(path, 0755);
}

/* Runs searches of `batch` candidates per iteration until `seconds` have
 * passed; returns evaluations per second. */
static double rate(const char *argv_json, const char *mode, long workers, long batch, double seconds)
{
    char json[4096], err[512] = "";
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    double t0, t;
    snprintf(json, sizeof json,
             "{\"seed\": 1, \"iterations\": 1000000, \"workers\": %ld,"
             "\"evaluator\": {\"type\": \"command\", \"argv\": %s, \"mode\": \"%s\", \"timeout\": 30,"
             " \"dim\": 10, \"lower\": -5.12, \"upper\": 5.12, \"measures\": 2, \"measure_lower\": -25.6,"
             " \"measure_upper\": 25.6},"
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 20}, {\"bins\": 20}]},"
             "\"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": %ld}]}",
             workers, argv_json, mode, batch);
    if (qd_config_parse(json, "bench", &cfg, err, sizeof err) != QD_OK || qd_search_new(cfg, &s) != QD_OK) {
        fprintf(stderr, "bench_command: %s\n", cfg ? qd_config_error(cfg) : err);
        exit(1);
    }
    t0 = now();
    do {
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "bench_command: %s\n", qd_search_error(s));
            exit(1);
        }
    } while ((t = now() - t0) < seconds);
    if (qd_search_counts(s)->failed) {
        uint64_t n;
        fprintf(stderr, "bench_command: %llu failed: %s\n", (unsigned long long)qd_search_counts(s)->failed,
                qd_search_failure_kind(s, 0, &n));
        exit(1);
    }
    double r = (double)qd_search_counts(s)->evaluated / t;
    qd_search_free(s); /* ends the persistent processes (outside the timing) */
    qd_config_free(cfg);
    return r;
}

int main(int argc, char **argv)
{
    double seconds = argc > 1 ? atof(argv[1]) : 3.0;
    char dir[] = "/tmp/bench-command-XXXXXX", py[256], sh[256], py_argv[300], sh_argv[300];
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    long worker_counts[2] = {1, cores > 1 ? cores : 1};
    if (seconds <= 0 || !mkdtemp(dir)) {
        fprintf(stderr, "usage: bench_command [seconds per measurement > 0]\n");
        return 1;
    }
    qd_global_init();
    snprintf(py, sizeof py, "%s/sphere.py", dir);
    snprintf(sh, sizeof sh, "%s/sphere.sh", dir);
    write_file(py, python_prog);
    write_file(sh, awk_prog);
    const char *python = getenv("PYTHON") && *getenv("PYTHON") ? getenv("PYTHON") : "python3";
    snprintf(py_argv, sizeof py_argv, "[\"%s\", \"%s\"]", python, py);
    snprintf(sh_argv, sizeof sh_argv, "[\"%s\"]", sh);
    struct {
        const char *name, *argv;
    } progs[] = {{"python", py_argv}, {"sh + awk", sh_argv}};
    printf("command evaluator, 10-D sphere through a search, %.0f s per measurement; python = %s\n", seconds,
           python);
    printf("%-10s %7s %16s %16s %9s\n", "program", "workers", "fork evals/s", "persistent", "ratio");
    for (size_t p = 0; p < 2; p++)
        for (size_t k = 0; k < (worker_counts[1] > 1 ? 2u : 1u); k++) {
            long w = worker_counts[k];
            double fork_rate = rate(progs[p].argv, "fork", w, 4 * w, seconds);
            double persistent_rate = rate(progs[p].argv, "persistent", w, 100 * w, seconds);
            printf("%-10s %7ld %16.1f %16.1f %8.0fx\n", progs[p].name, w, fork_rate, persistent_rate,
                   persistent_rate / fork_rate);
            fflush(stdout);
        }
    remove(py);
    remove(sh);
    rmdir(dir);
    return 0;
}
