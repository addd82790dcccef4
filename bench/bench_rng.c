/* bench_rng.c - the cost of a job's random stream: ns per seeding and per
 * normal draw for GSL's MT19937 (+ gsl_ran_gaussian_ziggurat, today's
 * default, and gsl_ran_gaussian) against xoshiro256++ (+ elites' ziggurat,
 * qd_ran_gaussian); then the Quick-start job (examples/sphere.json) and
 * CMA-ME at n = 20 (examples/sphere-cma-me.json with evaluator.dim=20)
 * through qd_search with "rng" mt19937 and xoshiro256++, interleaved, in
 * evaluations/s (search only, nothing saved) and their ratio.
 * Times are CPU seconds of this process (the machine is shared: read the
 * ratios). Not part of make check.
 *
 * usage: bench_rng [--draws N] [--reps R] [--iterations I] [--no-search]
 *                  [--only seed-mt|seed-xoshiro|normal-mt|normal-xoshiro|fill-xoshiro|
 *                          quick-mt|quick-xoshiro|cma-mt|cma-xoshiro]
 *   run from the source folder (it reads examples/). --only runs one loop
 *   of N operations (or one search of I iterations) and prints nothing
 *   else: for callgrind, whose instruction count per operation is
 *   (Ir(2N) - Ir(N)) / N (per evaluation: the same over 2I and I).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <gsl/gsl_randist.h>
#include "src/internal.h"

static double cpu_seconds(void)
{
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return (double)u.ru_utime.tv_sec + 1e-6 * (double)u.ru_utime.tv_usec + (double)u.ru_stime.tv_sec +
           1e-6 * (double)u.ru_stime.tv_usec;
}

static volatile double sink;

/* ns per reseeding of a job's stream, as run_job does it. */
static double seed_ns(const gsl_rng_type *type, long n)
{
    gsl_rng *r = gsl_rng_alloc(type);
    double t0 = cpu_seconds();
    for (long j = 0; j < n; j++)
        qdi_rng_seed(r, qdi_seed_mix(42, (uint64_t)j));
    double t = cpu_seconds() - t0;
    sink = gsl_rng_uniform(r);
    gsl_rng_free(r);
    return 1e9 * t / (double)n;
}

enum { NORMAL_QD, NORMAL_GSL_ZIGGURAT, NORMAL_GSL_POLAR, NORMAL_QD_FILL };

/* ns per N(0, 1) draw. */
static double normal_ns(const gsl_rng_type *type, int which, long n)
{
    gsl_rng *r = gsl_rng_alloc(type);
    double acc = 0, t0;
    qdi_rng_seed(r, 1);
    t0 = cpu_seconds();
    if (which == NORMAL_QD)
        for (long i = 0; i < n; i++)
            acc += qd_ran_gaussian(r, 1.0);
    else if (which == NORMAL_GSL_ZIGGURAT)
        for (long i = 0; i < n; i++)
            acc += gsl_ran_gaussian_ziggurat(r, 1.0);
    else if (which == NORMAL_GSL_POLAR)
        for (long i = 0; i < n; i++)
            acc += gsl_ran_gaussian(r, 1.0);
    else
        for (long i = 0; i < n; i += 1000) {
            double z[1000];
            qd_ran_gaussian_fill(r, 1.0, z, 1000);
            acc += z[0];
        }
    double t = cpu_seconds() - t0;
    sink = acc;
    gsl_rng_free(r);
    return 1e9 * t / (double)n;
}

/* Evaluations per CPU second of one search (no saving). */
static double search_rate(const char *path, const char *rng, const char *dim, long iterations)
{
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    char err[512], set[64];
    double t0, rate = -1;
    if (qd_config_load_file(path, &cfg, err, sizeof err) != QD_OK) {
        fprintf(stderr, "bench_rng: %s\n", err);
        return -1;
    }
    snprintf(set, sizeof set, "iterations=%ld", iterations);
    if (qd_config_set(cfg, set) || qd_config_set(cfg, rng) || (dim && qd_config_set(cfg, dim)) ||
        qd_search_new(cfg, &s) != QD_OK) {
        fprintf(stderr, "bench_rng: %s\n", qd_config_error(cfg));
        qd_config_free(cfg);
        return -1;
    }
    t0 = cpu_seconds();
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "bench_rng: %s\n", qd_search_error(s));
            goto done;
        }
    rate = (double)qd_search_counts(s)->evaluated / (cpu_seconds() - t0);
done:
    qd_search_free(s);
    qd_config_free(cfg);
    return rate;
}

static const struct {
    const char *name, *path, *dim;
} jobs[] = {
    {"Quick-start MAP-Elites n=20", "examples/sphere.json", NULL},
    {"CMA-ME n=20", "examples/sphere-cma-me.json", "evaluator.dim=20"},
};

static int only(const char *what, long n, long iterations)
{
    static const char *const searches[] = {"quick-mt", "quick-xoshiro", "cma-mt", "cma-xoshiro"};
    for (int k = 0; k < 4; k++)
        if (!strcmp(what, searches[k]))
            return search_rate(jobs[k / 2].path, k % 2 ? "rng=xoshiro256++" : "rng=mt19937", jobs[k / 2].dim,
                               iterations) < 0;
    if (!strcmp(what, "seed-mt"))
        seed_ns(gsl_rng_mt19937, n);
    else if (!strcmp(what, "seed-xoshiro"))
        seed_ns(qd_rng_xoshiro256pp, n);
    else if (!strcmp(what, "normal-mt"))
        normal_ns(gsl_rng_mt19937, NORMAL_GSL_ZIGGURAT, n);
    else if (!strcmp(what, "normal-xoshiro"))
        normal_ns(qd_rng_xoshiro256pp, NORMAL_QD, n);
    else if (!strcmp(what, "fill-xoshiro"))
        normal_ns(qd_rng_xoshiro256pp, NORMAL_QD_FILL, n);
    else {
        fprintf(stderr, "bench_rng: --only %s: not one of seed-mt, seed-xoshiro, normal-mt, normal-xoshiro, fill-xoshiro, "
                "quick-mt, quick-xoshiro, cma-mt, cma-xoshiro\n", what);
        return 2;
    }
    return 0;
}

int main(int argc, char **argv)
{
    long draws = 20000000, reps = 3, iterations = 300;
    int search = 1;
    const char *only_what = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--draws") && i + 1 < argc)
            draws = atol(argv[++i]);
        else if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atol(argv[++i]);
        else if (!strcmp(argv[i], "--iterations") && i + 1 < argc)
            iterations = atol(argv[++i]);
        else if (!strcmp(argv[i], "--only") && i + 1 < argc)
            only_what = argv[++i];
        else if (!strcmp(argv[i], "--no-search"))
            search = 0;
        else {
            fprintf(stderr, "usage: bench_rng [--draws N] [--reps R] [--iterations I] [--no-search] [--only WHAT]\n");
            return 2;
        }
    }
    if (draws < 1 || reps < 1 || iterations < 1) {
        fprintf(stderr, "bench_rng: --draws, --reps and --iterations must be >= 1\n");
        return 2;
    }
    if (only_what)
        return only(only_what, draws, iterations);
    qd_global_init();
    printf("per operation, CPU ns (best of %ld, %ld each):\n", reps, draws);
    double best[7] = {1e300, 1e300, 1e300, 1e300, 1e300, 1e300, 1e300};
    for (long r = 0; r < reps; r++) {
        double v[7] = {seed_ns(gsl_rng_mt19937, draws / 10), seed_ns(qd_rng_xoshiro256pp, draws),
                       normal_ns(gsl_rng_mt19937, NORMAL_GSL_ZIGGURAT, draws),
                       normal_ns(gsl_rng_mt19937, NORMAL_GSL_POLAR, draws),
                       normal_ns(qd_rng_xoshiro256pp, NORMAL_GSL_ZIGGURAT, draws),
                       normal_ns(qd_rng_xoshiro256pp, NORMAL_QD, draws),
                       normal_ns(qd_rng_xoshiro256pp, NORMAL_QD_FILL, draws)};
        for (int k = 0; k < 7; k++)
            best[k] = v[k] < best[k] ? v[k] : best[k];
    }
    printf("  seed a job stream   mt19937 %8.1f   xoshiro256++ %6.1f   ratio %6.1fx\n", best[0], best[1],
           best[0] / best[1]);
    printf("  normal draw         mt19937 + gsl_ran_gaussian_ziggurat %6.2f   mt19937 + gsl_ran_gaussian %6.2f\n",
           best[2], best[3]);
    printf("                      xoshiro256++ + gsl_ran_gaussian_ziggurat %6.2f   xoshiro256++ + qd_ran_gaussian %6.2f\n",
           best[4], best[5]);
    printf("                      xoshiro256++ + qd_ran_gaussian_fill (1000 at a time) %6.2f\n", best[6]);
    printf("  normal ratio        mt19937+gsl ziggurat / xoshiro256++ + qd_ran_gaussian %5.2fx, "
           "mt19937+gsl_ran_gaussian / same %5.2fx\n", best[2] / best[5], best[3] / best[5]);
    if (!search)
        return 0;
    printf("searches, evaluations per CPU second (%ld iterations, %ld interleaved reps, best):\n", iterations, reps);
    for (size_t j = 0; j < 2; j++) {
        double mt = 0, xo = 0;
        for (long r = 0; r < reps; r++) {
            double a = search_rate(jobs[j].path, "rng=mt19937", jobs[j].dim, iterations);
            double b = search_rate(jobs[j].path, "rng=xoshiro256++", jobs[j].dim, iterations);
            if (a < 0 || b < 0)
                return 1;
            mt = a > mt ? a : mt;
            xo = b > xo ? b : xo;
        }
        printf("  %-28s mt19937 %10.0f   xoshiro256++ %10.0f   ratio %5.2fx\n", jobs[j].name, mt, xo, xo / mt);
    }
    return 0;
}
