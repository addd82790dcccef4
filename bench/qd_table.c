/* qd_table.c - the QD-score table of the CMA-MAE paper's linear projection
 * benchmark (Fontaine & Nikolaidis 2023, Table 1; pyribs examples/sphere.py):
 * for each function (sphere, rastrigin), dimension and algorithm it runs the
 * pyribs configuration for a number of iterations and seeds and prints the
 * normalised QD score (sum of objectives / cells, objectives in [0, 100]),
 * coverage, best objective and evaluations per second, as mean and standard
 * error over seeds, as a Markdown table.
 *
 * usage: qd_table [--iterations N] [--seeds K] [--dims 20,100]
 *                 [--functions sphere,rastrigin]
 *                 [--algorithms map_elites,line_map_elites,cma_me,cma_mae]
 *                 [--workers W]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "src/elites.h"

/* The per-algorithm part of the config (pyribs examples/sphere.py). */
static const struct {
    const char *name, *archive_extra, *mutators;
} algorithms[] = {
    {"map_elites", "",
     "[{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 540, \"init\": \"x0\"}]"},
    {"line_map_elites", "",
     "[{\"type\": \"isoline\", \"sigma_iso\": 0.5, \"sigma_line\": 0.2, \"batch\": 540, \"init\": \"x0\"}]"},
    {"cma_me", "",
     "[{\"type\": \"cmaes\", \"count\": 15, \"sigma0\": 0.5, \"batch\": 36, \"ranker\": \"two_stage_improvement\","
     " \"selection\": \"filter\", \"restart\": \"no_improvement\"}]"},
    {"cma_me_basic", "",
     "[{\"type\": \"cmaes\", \"count\": 15, \"sigma0\": 0.5, \"batch\": 36, \"ranker\": \"two_stage_improvement\","
     " \"selection\": \"mu\", \"restart\": \"basic\"}]"},
    {"cma_mae", ", \"learning_rate\": 0.01, \"threshold_min\": 0",
     "[{\"type\": \"cmaes\", \"count\": 15, \"sigma0\": 0.5, \"batch\": 36, \"ranker\": \"improvement\","
     " \"selection\": \"mu\", \"restart\": \"basic\"}]"},
};

typedef struct sample {
    double qd, coverage, best, rate;
} sample;

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run_one(const char *function, long dim, size_t alg, long iterations, long seed, long workers, sample *out)
{
    char json[4096];
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    char err[1024];
    int rc = 1;
    snprintf(json, sizeof json,
             "{\"seed\": %ld, \"iterations\": %ld, \"workers\": %ld,"
             " \"evaluator\": {\"type\": \"%s\", \"dim\": %ld},"
             " \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 100}, {\"bins\": 100}]%s},"
             " \"mutators\": %s}",
             seed, iterations, workers, function, dim, algorithms[alg].archive_extra, algorithms[alg].mutators);
    if (qd_config_parse(json, algorithms[alg].name, &cfg, err, sizeof err) != QD_OK) {
        fprintf(stderr, "qd_table: %s\n", err);
        return 1;
    }
    if (qd_search_new(cfg, &s) != QD_OK) {
        fprintf(stderr, "qd_table: %s\n", qd_config_error(cfg));
        goto done;
    }
    double t0 = now();
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "qd_table: %s\n", qd_search_error(s));
            goto done;
        }
    double dt = now() - t0;
    qd_archive_stats st;
    qd_archive_stats_get(qd_search_result_archive(s), &st);
    out->qd = st.norm_qd_score;
    out->coverage = 100.0 * st.coverage;
    out->best = st.obj_max;
    out->rate = (double)qd_search_counts(s)->evaluated / dt;
    rc = 0;
done:
    qd_search_free(s);
    qd_config_free(cfg);
    return rc;
}

static void mean_se(const double *v, size_t n, double *mean, double *se)
{
    double m = 0, ss = 0;
    for (size_t i = 0; i < n; i++)
        m += v[i];
    m /= (double)n;
    for (size_t i = 0; i < n; i++)
        ss += (v[i] - m) * (v[i] - m);
    *mean = m;
    *se = n > 1 ? sqrt(ss / (double)(n - 1) / (double)n) : 0.0;
}

static int listed(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)); p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    long iterations = 1000, seeds = 3, workers = 1;
    const char *dims = "20,100", *functions = "sphere,rastrigin",
               *algs = "map_elites,line_map_elites,cma_me,cma_mae";
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--iterations")) iterations = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--seeds")) seeds = atol(argv[i + 1]);
        else if (!strcmp(argv[i], "--dims")) dims = argv[i + 1];
        else if (!strcmp(argv[i], "--functions")) functions = argv[i + 1];
        else if (!strcmp(argv[i], "--algorithms")) algs = argv[i + 1];
        else if (!strcmp(argv[i], "--workers")) workers = atol(argv[i + 1]);
        else { fprintf(stderr, "qd_table: unknown option %s\n", argv[i]); return 2; }
    }
    if (seeds < 1 || iterations < 1)
        return 2;
    qd_global_init();
    printf("%ld iterations, %ld seeds, 540 solutions per iteration, 100x100 grid, workers %ld\n\n", iterations,
           seeds, workers);
    printf("| function | n | algorithm | QD score | coverage %% | best | evals/s |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (const char *f = functions; *f;) {
        char function[32];
        size_t fl = strcspn(f, ",");
        snprintf(function, sizeof function, "%.*s", (int)fl, f);
        f += fl + (f[fl] == ',');
        for (const char *d = dims; *d;) {
            long dim = strtol(d, (char **)&d, 10);
            if (*d == ',')
                d++;
            for (size_t a = 0; a < sizeof algorithms / sizeof algorithms[0]; a++) {
                double qd[64], cov[64], best[64], rate[64], m[4], se[4];
                size_t n = 0;
                if (!listed(algs, algorithms[a].name))
                    continue;
                for (long k = 0; k < seeds && k < 64; k++, n++) {
                    sample smp;
                    if (run_one(function, dim, a, iterations, 1000 + k, workers, &smp))
                        return 1;
                    qd[n] = smp.qd;
                    cov[n] = smp.coverage;
                    best[n] = smp.best;
                    rate[n] = smp.rate;
                }
                mean_se(qd, n, &m[0], &se[0]);
                mean_se(cov, n, &m[1], &se[1]);
                mean_se(best, n, &m[2], &se[2]);
                mean_se(rate, n, &m[3], &se[3]);
                printf("| %s | %ld | %s | %.2f ± %.2f | %.2f ± %.2f | %.2f ± %.2f | %.0f |\n", function, dim,
                       algorithms[a].name, m[0], se[0], m[1], se[1], m[2], se[2], m[3]);
                fflush(stdout);
            }
        }
    }
    return 0;
}
