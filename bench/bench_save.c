/* bench_save.c - what saving costs against searching, for one config (the
 * Quick-start job by default): runs the search, then the save point
 * `elites run` ends with (qd_search_checkpoint, then qd_search_save) REPEAT
 * times into a fresh folder, and prints the search's and one save's wall
 * and CPU seconds and their ratio. The save's CPU is the process's (the
 * outputs are written on the run's `workers` threads; the pool's own sit
 * idle meanwhile, so it is the saving's alone, whatever else the machine
 * runs) and, apart, the calling thread's.
 * The save point is qd_search_save_point (both at once) where the library
 * has it, else, or with BENCH_SAVE_IN_TURN=1 in the environment, the two
 * calls in turn. Public API only, so the same file builds against an
 * older libelites.
 *
 *   bench/bench_save [CONFIG.json [REPEAT [OUTDIR]]]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "elites.h"

/* weak: an older libelites has no qd_search_save_point */
int qd_search_save_point(qd_search *s, const char *dir, int outputs_on_full_disk, int *checkpoint_rc,
                         char *checkpoint_err, size_t checkpoint_errlen) __attribute__((weak));

static double clock_s(clockid_t id)
{
    struct timespec t;
    clock_gettime(id, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : "examples/sphere.json";
    int repeat = argc > 2 ? atoi(argv[2]) : 5;
    char dir[512], err[512], cmd[600];
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    double w0, c0, t0, search_wall, search_cpu, save_wall = 1e30, save_cpu = 1e30, save_thread = 1e30,
           best_wall = 1e30, ckpt_wall = 0;
    const char *in_turn = getenv("BENCH_SAVE_IN_TURN");
    int together = qd_search_save_point && !(in_turn && strcmp(in_turn, "1") == 0);
    if (argc > 3)
        snprintf(dir, sizeof dir, "%s", argv[3]);
    else
        snprintf(dir, sizeof dir, "/tmp/bench_save.%d", (int)getpid());
    qd_global_init();
    if (qd_config_load_file(path, &cfg, err, sizeof err) != QD_OK || qd_search_new(cfg, &s) != QD_OK) {
        fprintf(stderr, "bench_save: %s: %s\n", path, cfg ? qd_config_error(cfg) : err);
        return 1;
    }
    w0 = clock_s(CLOCK_MONOTONIC);
    c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "bench_save: %s\n", qd_search_error(s));
            return 1;
        }
    search_wall = clock_s(CLOCK_MONOTONIC) - w0;
    search_cpu = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0;
    for (int r = 0; r < repeat; r++) {
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            return 1;
        w0 = clock_s(CLOCK_MONOTONIC);
        c0 = clock_s(CLOCK_PROCESS_CPUTIME_ID);
        t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
        double mid;
        if (together) {
            char ckerr[1100];
            int ckrc, rc = qd_search_save_point(s, dir, 0, &ckrc, ckerr, sizeof ckerr);
            mid = w0; /* not apart */
            if (ckrc != QD_OK || rc != QD_OK) {
                fprintf(stderr, "bench_save: %s\n", ckrc != QD_OK ? ckerr : qd_search_error(s));
                return 1;
            }
        } else {
            int rc = qd_search_checkpoint(s, dir);
            mid = clock_s(CLOCK_MONOTONIC);
            if (rc != QD_OK || qd_search_save(s, dir) != QD_OK) {
                fprintf(stderr, "bench_save: %s\n", qd_search_error(s));
                return 1;
            }
        }
        double w = clock_s(CLOCK_MONOTONIC) - w0, c = clock_s(CLOCK_PROCESS_CPUTIME_ID) - c0,
               t = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
        save_wall = w < save_wall ? w : save_wall; /* best of REPEAT: the machine is shared */
        save_cpu = c < save_cpu ? c : save_cpu;
        save_thread = t < save_thread ? t : save_thread;
        if (w < best_wall) { /* how the best one split */
            best_wall = w;
            ckpt_wall = mid - w0;
        }
    }
    qd_archive_stats st;
    qd_archive_stats_get(qd_search_result_archive(s), &st);
    printf("%s: %zu elites; search %.3f s wall %.3f s cpu; save (checkpoint + outputs %s, best of %d) %.4f s wall "
           "%.4f s cpu (%.4f s on the calling thread; checkpoint %.4f s of the wall); save/search wall %.1f%%, cpu %.1f%%\n",
           path, st.filled, search_wall, search_cpu, together ? "at once" : "in turn", repeat, save_wall, save_cpu,
           save_thread, ckpt_wall, 100.0 * save_wall / search_wall, 100.0 * save_cpu / search_cpu);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (argc <= 3 && system(cmd) != 0)
        return 1;
    qd_search_free(s);
    qd_config_free(cfg);
    return 0;
}
