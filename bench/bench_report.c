/* bench_report.c - big reports: writes report.html for archives of 100,000
 * elites (a 320x320 grid and a CVT of 100,000 random centroids, both over
 * [0, 1]^2, n = 20 real genomes, objectives uniform) plus a 10,000-elite
 * grid, and prints each file's size and the time to write it. Load time in
 * a browser is measured by bench/report_load.mjs over the files written
 * here (bench/report_big.sh runs both). Not part of make check.
 * usage: bench/bench_report OUTDIR */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include "src/elites.h"

#define DIM 20

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static unsigned long long state = 88172645463325252ULL;
static double uniform(void) /* xorshift64, fixed seed: the same files every run */
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return (double)(state >> 11) / 9007199254740992.0;
}

static void one(const char *dir, const char *name, const char *json, size_t n, int grid_fill, size_t side)
{
    char err[512], path[1024];
    qd_space sp;
    qd_config *cfg = NULL;
    qd_archive *a = NULL;
    qd_space_init(&sp, QD_GENOME_REAL, DIM, 2);
    qd_space_set_measure_name(&sp, 0, "x");
    qd_space_set_measure_name(&sp, 1, "y");
    if (qd_config_parse(json, name, &cfg, err, sizeof err) || qd_archive_new(cfg, &sp, &a)) {
        fprintf(stderr, "bench_report: %s: %s\n", name, cfg ? qd_config_error(cfg) : err);
        exit(1);
    }
    double x[DIM], m[2];
    qd_add_result r;
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < DIM; j++)
            x[j] = 10 * uniform() - 5;
        if (grid_fill) { /* one elite per cell */
            m[0] = ((double)(i % side) + 0.5) / (double)side;
            m[1] = ((double)(i / side) + 0.5) / (double)side;
        } else {
            m[0] = uniform();
            m[1] = uniform();
        }
        qd_solution s = {.x = x, .n = DIM, .objective = 100 * uniform(), .measures = m, .m = 2};
        if (qd_archive_add(a, &s, &r)) {
            fprintf(stderr, "bench_report: add failed\n");
            exit(1);
        }
    }
    qd_archive_stats st;
    qd_archive_stats_get(a, &st);
    snprintf(path, sizeof path, "%s/%s.html", dir, name);
    double t0 = now();
    if (qd_archive_save_html(a, NULL, path, err, sizeof err)) {
        fprintf(stderr, "bench_report: %s\n", err);
        exit(1);
    }
    double t1 = now();
    struct stat sb;
    stat(path, &sb);
    printf("%-10s %7zu elites of %7zu cells  %6.2f MB  written in %4.0f ms  %s\n", name, st.filled, st.cells,
           (double)sb.st_size / 1e6, 1e3 * (t1 - t0), path);
    qd_archive_free(a);
    qd_config_free(cfg);
    qd_space_free(&sp);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: bench_report OUTDIR\n");
        return 2;
    }
    one(argv[1], "grid10k", "{\"dims\": [{\"bins\": 100, \"range\": [0, 1]}, {\"bins\": 100, \"range\": [0, 1]}]}",
        10000, 1, 100);
    one(argv[1], "grid100k", "{\"dims\": [{\"bins\": 320, \"range\": [0, 1]}, {\"bins\": 320, \"range\": [0, 1]}]}",
        100000, 1, 320);
    /* a CVT of 100,000 random centroids given in the config (k-means over
     * 100,000 cells would dominate the bench); 400,000 random solutions fill
     * most of its cells */
    size_t k = 100000, len = 64 + k * 48;
    char *json = malloc(len), *p = json;
    p += sprintf(p, "{\"type\": \"cvt\", \"ranges\": [[0, 1], [0, 1]], \"centroids\": [");
    for (size_t i = 0; i < k; i++)
        p += sprintf(p, "%s[%.6f, %.6f]", i ? ", " : "", uniform(), uniform());
    sprintf(p, "]}");
    one(argv[1], "cvt100k", json, 400000, 0, 0);
    free(json);
    return 0;
}
