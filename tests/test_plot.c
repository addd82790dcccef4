/* test_plot.c - comparing runs: metrics.csv read back (src/metrics_csv.c),
 * the runs plot (src/runs_plot.c: exact curve coordinates, the seeds' mean
 * and min-max band, figures held between rows when seeds' evaluation counts
 * differ, axes from 0 with short tick labels, the legend, well-formed XML),
 * and through the built program `elites plot`, `elites compare` (exact CSV,
 * mean ± sd), `elites export --range` and `--compare`, the config's
 * output.heatmap_range, with their error messages. */
#include <math.h>
#include <sys/stat.h>
#include "cliutil.h"

static const char *const header =
    "iteration,evaluations,failed,new,improved,filled,coverage,qd_score,norm_qd_score,obj_max,obj_mean,seconds\n";

static void write_text(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs(text, fp);
    fclose(fp);
}

/* A run folder dir/sub as `elites run` leaves it, as far as plot and
 * compare read it: archive.json's config name and metrics.csv. */
static void make_run(const char *dir, const char *sub, const char *name, const char *rows)
{
    char path[700], text[4096];
    snprintf(path, sizeof path, "%s/%s", dir, sub);
    CU_ASSERT_EQUAL_FATAL(mkdir(path, 0755), 0);
    snprintf(path, sizeof path, "%s/%s/archive.json", dir, sub);
    snprintf(text, sizeof text, "{\"config\": {\"name\": \"%s\"}, \"elites\": []}\n", name);
    write_text(path, text);
    snprintf(path, sizeof path, "%s/%s/metrics.csv", dir, sub);
    snprintf(text, sizeof text, "%s%s", header, rows);
    write_text(path, text);
}

/* The `d` of the n-th path of class cls inside the panel of figure name;
 * malloc'd, NULL if none. */
static char *path_d(const char *svg, const char *figure, const char *cls, int n)
{
    char key[128];
    const char *p, *end, *q;
    snprintf(key, sizeof key, "data-figure=\"%s\"", figure);
    if (!(p = strstr(svg, key)) || !(end = strstr(p, "</g>")))
        return NULL;
    snprintf(key, sizeof key, "<path class=\"%s\"", cls);
    for (; (p = strstr(p, key)) && p < end; p++)
        if (n-- == 0) {
            p = strstr(p, " d=\"") + 4;
            q = strchr(p, '"');
            return strndup(p, (size_t)(q - p));
        }
    return NULL;
}

/* The points of a path's d (its M and L commands). */
static int count_points(const char *d)
{
    int n = 0;
    for (; *d; d++)
        n += *d == 'M' || *d == 'L';
    return n;
}

static char *plot(const qd_run_series *runs, size_t n)
{
    char *buf = NULL, err[256];
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    CU_ASSERT_EQUAL(qd_runs_plot_svg(fp, runs, n, "two <seeds>", err, sizeof err), QD_OK);
    fclose(fp);
    return buf;
}

static qd_metrics row(uint64_t evaluations, double qd, double coverage, double best)
{
    qd_metrics r = {0};
    r.evaluations = evaluations;
    r.stats.qd_score = qd;
    r.stats.coverage = coverage;
    r.stats.obj_max = best;
    return r;
}

static void test_metrics_csv_reads_every_column(void)
{
    char *dir = qdt_tmpdir(), path[600], err[512];
    qd_metrics *rows;
    size_t n;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    write_text(path, "iteration,evaluations,failed,new,improved,filled,coverage,qd_score,norm_qd_score,obj_max,"
                     "obj_mean,seconds,llm_requests,llm_failures,llm_tokens\n"
                     "1,10,1,3,0,3,0.03,5.5,0.055,,,0.25,12,1,900\n"
                     "2,20,1,2,4,5,0.05,12.25,0.1225,3.5,2.5,0.5,24,1,1800\n");
    CU_ASSERT_EQUAL_FATAL(qd_metrics_load_csv(path, &rows, &n, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT_EQUAL(rows[0].iteration, 1);
    CU_ASSERT_EQUAL(rows[0].evaluations, 10);
    CU_ASSERT_EQUAL(rows[0].failed, 1);
    CU_ASSERT_EQUAL(rows[0].new_cells, 3);
    CU_ASSERT_EQUAL(rows[0].stats.filled, 3);
    CU_ASSERT(isnan(rows[0].stats.obj_max) && isnan(rows[0].stats.obj_mean));
    CU_ASSERT_EQUAL(rows[1].improved, 4);
    CU_ASSERT_EQUAL(rows[1].stats.coverage, 0.05);
    CU_ASSERT_EQUAL(rows[1].stats.qd_score, 12.25);
    CU_ASSERT_EQUAL(rows[1].stats.norm_qd_score, 0.1225);
    CU_ASSERT_EQUAL(rows[1].stats.obj_max, 3.5);
    CU_ASSERT_EQUAL(rows[1].stats.obj_mean, 2.5);
    CU_ASSERT_EQUAL(rows[1].seconds, 0.5);
    CU_ASSERT_EQUAL(rows[1].llm_requests, 24);
    CU_ASSERT_EQUAL(rows[1].llm_tokens, 1800);
    free(rows);
    qdt_rmdir(dir);
    free(dir);
}

static void test_metrics_csv_errors_name_file_line_and_column(void)
{
    char *dir = qdt_tmpdir(), path[600], err[1024], want[1024];
    qd_metrics *rows = (qd_metrics *)1;
    size_t n = 7;
    snprintf(path, sizeof path, "%s/metrics.csv", dir);
    write_text(path, "iteration,evaluations,failed,coverage,norm_qd_score,obj_max,obj_mean,seconds\n1,2,3,4,5,6,7,8\n");
    CU_ASSERT_EQUAL(qd_metrics_load_csv(path, &rows, &n, err, sizeof err), QD_EFORMAT);
    snprintf(want, sizeof want, "%s: the header has no column qd_score (is it a metrics.csv of elites run?)", path);
    CU_ASSERT_STRING_EQUAL(err, want);
    CU_ASSERT(rows == NULL && n == 0);
    write_text(path, "iteration,evaluations,failed,coverage,qd_score,norm_qd_score,obj_max,obj_mean,seconds\n"
                     "1,10,0,0.1,1,0.1,1,1,0.1\n2,20,0,0.2,abc,0.2,1,1,0.2\n");
    CU_ASSERT_EQUAL(qd_metrics_load_csv(path, &rows, &n, err, sizeof err), QD_EFORMAT);
    snprintf(want, sizeof want, "%s: line 3, qd_score: not a number: 'abc'", path);
    CU_ASSERT_STRING_EQUAL(err, want);
    write_text(path, "iteration,evaluations,failed,coverage,qd_score,norm_qd_score,obj_max,obj_mean,seconds\n"
                     "1,10,0,0.1,1\n");
    CU_ASSERT_EQUAL(qd_metrics_load_csv(path, &rows, &n, err, sizeof err), QD_EFORMAT);
    snprintf(want, sizeof want, "%s: line 2 has 5 fields, no norm_qd_score", path);
    CU_ASSERT_STRING_EQUAL(err, want);
    qdt_rmdir(dir);
    free(dir);
}

/* Two seeds at the same evaluation counts: the mean line and the band
 * from min to max, at hand-computed positions (panel at x 64, y 56, 260 x
 * 180; x axis 0-400, y axis 0-40). */
static void test_plot_draws_seed_mean_and_band(void)
{
    qd_metrics a[4] = {row(100, 10, 0.1, 1), row(200, 20, 0.2, 2), row(300, 30, 0.3, 3), row(400, 40, 0.4, 4)};
    qd_metrics b[4] = {row(100, 0, 0.1, 1), row(200, 10, 0.2, 2), row(300, 20, 0.3, 3), row(400, 20, 0.4, 4)};
    qd_run_series runs[2] = {{"s1", "sphere", a, 4}, {"s2", "sphere", b, 4}};
    char *svg = plot(runs, 2), *d;
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    d = path_d(svg, "QD score", "line", 0);
    CU_ASSERT_STRING_EQUAL(d, "M129.00,213.50 L194.00,168.50 L259.00,123.50 L324.00,101.00");
    free(d);
    d = path_d(svg, "QD score", "band", 0);
    CU_ASSERT_STRING_EQUAL(d, "M129.00,191.00 L194.00,146.00 L259.00,101.00 L324.00,56.00 L324.00,146.00"
                              " L259.00,146.00 L194.00,191.00 L129.00,236.00 Z ");
    free(d);
    CU_ASSERT_PTR_NULL(path_d(svg, "QD score", "line", 1)); /* one curve for the two seeds */
    /* coverage in percent (10-40 %, y axis 0-40) as elites compare and report.html show it */
    d = path_d(svg, "coverage (%)", "line", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_STRING_EQUAL(d, "M485.00,191.00 L550.00,146.00 L615.00,101.00 L680.00,56.00"); /* panel 2: x + 356 */
    free(d);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">sphere: mean of 2 runs, band from their min to max</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">two &lt;seeds&gt;</text>"));
    /* ticks from 0 on both axes of every panel */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "dominant-baseline=\"middle\">0</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "text-anchor=\"middle\">0</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "text-anchor=\"middle\">400</text>"));
    free(svg);
}

/* Seeds whose rows fall at different evaluation counts: the curve runs
 * from the count both reached first (150) to the count both reached last
 * (250), each seed's figure held from its last row at or before. */
static void test_plot_holds_figures_between_rows(void)
{
    qd_metrics c[2] = {row(100, 10, 0.1, 1), row(250, 30, 0.3, 3)};
    qd_metrics d2[2] = {row(150, 20, 0.2, 2), row(300, 40, 0.4, 4)};
    qd_run_series runs[2] = {{"c", "g", c, 2}, {"d", "g", d2, 2}};
    char *svg = plot(runs, 2), *d;
    /* x axis 0-250 (step 50); y axis 0-30 (step 5); mean 15 at 150, 25 at 250 */
    d = path_d(svg, "QD score", "line", 0);
    CU_ASSERT_STRING_EQUAL(d, "M220.00,146.00 L324.00,86.00");
    free(d);
    free(svg);
}

/* Runs of different groups are separate curves with their own colours and
 * legend rows; a missing best objective (no elite yet) breaks the line. */
static void test_plot_overlays_runs_and_breaks_at_missing_figures(void)
{
    qd_metrics a[3] = {row(500, 1, 0.1, NAN), row(1000, 2, 0.2, 5), row(1500, 3, 0.3, 6)};
    qd_metrics b[2] = {row(500, 2, 0.2, 1), row(1500, 4, 0.4, 2)};
    qd_run_series runs[2] = {{"first", NULL, a, 3}, {"second", NULL, b, 2}};
    char *svg = plot(runs, 2), *d;
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "fill=\"#0072b2\"/><text x=\"90.00\" y=\"302.00\">first</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "fill=\"#d55e00\"/><text x=\"90.00\" y=\"322.00\">second</text>"));
    CU_ASSERT_PTR_NULL(strstr(svg, "class=\"band\""));
    d = path_d(svg, "best objective", "line", 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d[0], 'M'); /* starts at the first row that has one */
    CU_ASSERT_PTR_NULL(strchr(d + 1, 'M'));
    CU_ASSERT_EQUAL(count_points(d), 2);
    free(d);
    /* x axis 0-1600 in steps of 200, printed short */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">1.2k</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">1.6k</text>"));
    CU_ASSERT_PTR_NULL(strstr(svg, ">1800</text>"));
    free(svg);
}

static void test_plot_rejects_no_runs_and_empty_runs(void)
{
    char err[256];
    qd_run_series empty = {"e", NULL, NULL, 0};
    CU_ASSERT_EQUAL(qd_runs_plot_svg(stdout, NULL, 0, NULL, err, sizeof err), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "no runs to plot");
    CU_ASSERT_EQUAL(qd_runs_plot_svg(stdout, &empty, 1, NULL, err, sizeof err), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "run 'e' has no metrics rows");
}

typedef struct cli_result {
    int status;
    char *out, *err;
} cli_result;

static cli_result cli(const char *dir, const char *const *args)
{
    cli_result r;
    r.status = qdt_wait_cli(qdt_start_cli(dir, args), dir, &r.out, &r.err);
    return r;
}

static void cli_free(cli_result *r)
{
    free(r->out);
    free(r->err);
}

static char *seeds_dir(char *a, char *b, char *c, char *beta)
{
    char *dir = qdt_tmpdir();
    make_run(dir, "a", "alpha", "1,100,0,1,0,1,0.125,5,0.0625,0.5,0.5,0.5\n2,300,0,1,0,1,0.25,10,0.125,1,1,1\n");
    make_run(dir, "b", "alpha", "1,300,1,1,0,1,0.5,20,0.25,2,2,2\n");
    make_run(dir, "c", "alpha", "1,300,2,1,0,1,0.75,30,0.375,3,3,3\n");
    make_run(dir, "beta", "beta", "1,50,0,1,0,1,0.5,1.5,0.015,,,0.75\n");
    snprintf(a, 700, "%s/a", dir);
    snprintf(b, 700, "%s/b/archive.json", dir); /* a file in the folder names the folder */
    snprintf(c, 700, "%s/c/", dir);
    snprintf(beta, 700, "%s/beta", dir);
    return dir;
}

static void test_compare_csv_has_exact_figures_and_group_sd(void)
{
    char a[700], b[700], c[700], beta[700], want[4096];
    char *dir = seeds_dir(a, b, c, beta);
    const char *args[] = {"compare", a, b, c, beta, "--csv", NULL};
    cli_result r = cli(dir, args);
    CU_ASSERT_EQUAL(r.status, 0);
    snprintf(want, sizeof want,
             "kind,run,name,runs,evaluations,evaluations_sd,failed,failed_sd,qd_score,qd_score_sd,norm_qd_score,"
             "norm_qd_score_sd,coverage,coverage_sd,best_objective,best_objective_sd,seconds,seconds_sd\n"
             "run,%s/a,alpha,1,300,,0,,10,,0.125,,0.25,,1,,1,\n"
             "run,%s/b,alpha,1,300,,1,,20,,0.25,,0.5,,2,,2,\n"
             "run,%s/c,alpha,1,300,,2,,30,,0.375,,0.75,,3,,3,\n"
             "run,%s/beta,beta,1,50,,0,,1.5,,0.015,,0.5,,,,0.75,\n"
             "group,,alpha,3,300,0,1,1,20,10,0.25,0.125,0.5,0.25,2,1,2,1\n",
             dir, dir, dir, dir);
    CU_ASSERT_STRING_EQUAL(r.out, want);
    CU_ASSERT_STRING_EQUAL(r.err, "");
    cli_free(&r);
    qdt_rmdir(dir);
    free(dir);
}

/* compare's CSV writes a figure as metrics.csv does (the shortest text
 * that reads back, laid out as %.17g for 16 and 17 digits): its own
 * %.15g/%.16g/%.17g search wrote 1.234567890123456e+16 for the
 * 12345678901234560 of the run's metrics.csv. */
static void test_compare_csv_writes_figures_as_metrics_csv_does(void)
{
    char *dir = qdt_tmpdir(), a[700], want[2048];
    make_run(dir, "a", "alpha", "1,12345678901234560,0,1,0,1,0.1,0.30000000000000004,1e-07,-0,2.5,0.5\n");
    snprintf(a, sizeof a, "%s/a", dir);
    const char *args[] = {"compare", a, "--csv", NULL};
    cli_result r = cli(dir, args);
    CU_ASSERT_EQUAL(r.status, 0);
    snprintf(want, sizeof want,
             "kind,run,name,runs,evaluations,evaluations_sd,failed,failed_sd,qd_score,qd_score_sd,norm_qd_score,"
             "norm_qd_score_sd,coverage,coverage_sd,best_objective,best_objective_sd,seconds,seconds_sd\n"
             "run,%s/a,alpha,1,12345678901234560,,0,,0.30000000000000004,,1e-07,,0.1,,-0,,0.5,\n",
             dir);
    CU_ASSERT_STRING_EQUAL(r.out, want);
    CU_ASSERT_STRING_EQUAL(r.err, "");
    cli_free(&r);
    qdt_rmdir(dir);
    free(dir);
}

static void test_compare_table_shows_mean_and_sd(void)
{
    char a[700], b[700], c[700], beta[700], want[1024];
    char *dir = seeds_dir(a, b, c, beta);
    const char *args[] = {"compare", a, b, c, beta, NULL};
    const char *ungrouped[] = {"compare", a, beta, "--no-group", NULL};
    cli_result r = cli(dir, args);
    CU_ASSERT_EQUAL(r.status, 0);
    snprintf(want, sizeof want, "alpha (%s/a)", dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "\n\nalpha (mean ± sd of 3) "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  300 ± 0  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  1 ± 1  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  20 ± 10  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  0.25 ± 0.125  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  50% ± 25%  "));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "  2 ± 1\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(r.out, "beta "));
    CU_ASSERT_EQUAL(strncmp(r.out, "run ", 4), 0);
    cli_free(&r);
    r = cli(dir, ungrouped);
    CU_ASSERT_EQUAL(r.status, 0);
    CU_ASSERT_STRING_EQUAL(r.out, "run    evaluations  failed  QD score  norm QD score  coverage  best objective  "
                                  "seconds\n"
                                  "alpha          300       0        10          0.125       25%               1  "
                                  "      1\n"
                                  "beta            50       0       1.5          0.015       50%               -  "
                                  "   0.75\n");
    cli_free(&r);
    qdt_rmdir(dir);
    free(dir);
}

static void test_plot_command_writes_svg_and_reports_bad_runs(void)
{
    char a[700], b[700], c[700], beta[700], out[700], want[1024], cmd[1500];
    char *dir = seeds_dir(a, b, c, beta), *svg;
    snprintf(out, sizeof out, "%s/plot.svg", dir);
    const char *args[] = {"plot", a, b, c, beta, "-o", out, NULL};
    cli_result r = cli(dir, args);
    CU_ASSERT_EQUAL(r.status, 0);
    snprintf(want, sizeof want, "plotted 4 runs to %s\n", out);
    CU_ASSERT_STRING_EQUAL(r.out, want);
    cli_free(&r);
    svg = qdt_slurp(out);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(strncmp(svg, "<?xml", 5), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">alpha: mean of 3 runs, band from their min to max</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">beta</text>"));
    free(svg);
    /* a real XML parser reads it */
    snprintf(cmd, sizeof cmd, "python3 -c 'import sys, xml.etree.ElementTree as E; E.parse(sys.argv[1])' '%s'", out);
    CU_ASSERT_EQUAL(system(cmd), 0);

    snprintf(want, sizeof want, "%s/none", dir);
    const char *missing[] = {"plot", a, want, "-o", out, NULL};
    r = cli(dir, missing);
    CU_ASSERT_EQUAL(r.status, 2);
    snprintf(cmd, sizeof cmd, "elites plot: %s/none: no such run folder\n", dir);
    CU_ASSERT_STRING_EQUAL(r.err, cmd);
    cli_free(&r);

    snprintf(want, sizeof want, "%s/a/metrics.csv", dir);
    write_text(want, "iteration,evaluations\n1,2\n");
    const char *bad[] = {"plot", a, "-o", out, NULL};
    r = cli(dir, bad);
    CU_ASSERT_EQUAL(r.status, 2);
    snprintf(cmd, sizeof cmd,
             "elites plot: %s: the header has no column failed (is it a metrics.csv of elites run?)\n", want);
    CU_ASSERT_STRING_EQUAL(r.err, cmd);
    cli_free(&r);

    write_text(want, header);
    r = cli(dir, bad);
    CU_ASSERT_EQUAL(r.status, 2);
    snprintf(cmd, sizeof cmd, "elites plot: %s: no rows (the run has not finished an iteration)\n", want);
    CU_ASSERT_STRING_EQUAL(r.err, cmd);
    cli_free(&r);
    qdt_rmdir(dir);
    free(dir);
}

/* Two short real runs of a small sphere config, for export. */
static void real_runs(const char *dir)
{
    char config[700], out[700];
    snprintf(config, sizeof config, "%s/tiny.json", dir);
    write_text(config, "{\"name\": \"tiny\", \"iterations\": 3, \"evaluator\": {\"type\": \"sphere\", \"dim\": 4},"
                       " \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 8}, {\"bins\": 8}]},"
                       " \"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 16}]}\n");
    for (int seed = 1; seed <= 2; seed++) {
        char s[16];
        snprintf(s, sizeof s, "%d", seed);
        snprintf(out, sizeof out, "%s/s%d", dir, seed);
        const char *args[] = {"run", config, "--seed", s, "-o", out, "-q", NULL};
        cli_result r = cli(dir, args);
        CU_ASSERT_EQUAL_FATAL(r.status, 0);
        cli_free(&r);
    }
}

static void test_export_range_sets_colour_bar_and_rejects_bad_ranges(void)
{
    char *dir = qdt_tmpdir(), archive[700], svg_path[700], *svg;
    real_runs(dir);
    snprintf(archive, sizeof archive, "%s/s1/archive.json", dir);
    snprintf(svg_path, sizeof svg_path, "%s/h.svg", dir);
    const char *args[] = {"export", archive, "--svg", svg_path, "--range", "-250:1000", NULL};
    cli_result r = cli(dir, args);
    CU_ASSERT_EQUAL(r.status, 0);
    cli_free(&r);
    svg = qdt_slurp(svg_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">-250</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">1000</text>"));
    free(svg);
    static const char *const bad[] = {"5", "5:1", "a:b", "3:3", ":", "1:2x", NULL};
    for (int i = 0; bad[i]; i++) {
        char want[512];
        const char *b[] = {"export", archive, "--svg", svg_path, "--range", bad[i], NULL};
        r = cli(dir, b);
        CU_ASSERT_EQUAL(r.status, 2);
        snprintf(want, sizeof want,
                 "elites export: --range must be LO:HI, two numbers with LO < HI (e.g. 0:100; LO: or :HI fixes "
                 "one end), got '%s'\n",
                 bad[i]);
        CU_ASSERT_STRING_EQUAL(r.err, want);
        cli_free(&r);
    }
    qdt_rmdir(dir);
    free(dir);
}

/* output.heatmap_range (--set on elites run) fixes the run's own
 * heatmap.svg and report.html colour range; a bad one names its value. */
static void test_run_heatmap_range_from_config(void)
{
    char *dir = qdt_tmpdir(), config[700], out[700], path[800], *text;
    snprintf(config, sizeof config, "%s/tiny.json", dir);
    write_text(config, "{\"name\": \"tiny\", \"iterations\": 2, \"evaluator\": {\"type\": \"sphere\", \"dim\": 4},"
                       " \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 8}, {\"bins\": 8}]},"
                       " \"mutators\": [{\"type\": \"gaussian\", \"sigma\": 0.5, \"batch\": 8}],"
                       " \"output\": {\"heatmap_range\": [-250, 1000]}}\n");
    snprintf(out, sizeof out, "%s/run", dir);
    const char *args[] = {"run", config, "-o", out, "-q", NULL};
    cli_result r = cli(dir, args);
    CU_ASSERT_EQUAL(r.status, 0);
    cli_free(&r);
    for (int i = 0; i < 2; i++) {
        snprintf(path, sizeof path, "%s/%s", out, i ? "report.html" : "heatmap.svg");
        text = qdt_slurp(path);
        CU_ASSERT_PTR_NOT_NULL_FATAL(text);
        CU_ASSERT_PTR_NOT_NULL(strstr(text, ">-250</text>"));
        CU_ASSERT_PTR_NOT_NULL(strstr(text, ">1000</text>"));
        free(text);
    }
    const char *bad[] = {"run", config, "-o", out, "-q", "--set", "output.heatmap_range=[3,3]", NULL};
    r = cli(dir, bad);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_PTR_NOT_NULL(
        strstr(r.err, "output.heatmap_range must be two numbers [LO, HI] with LO < HI, got [3,3]\n"));
    cli_free(&r);
    qdt_rmdir(dir);
    free(dir);
}

static void test_export_compare_embeds_plot_and_table(void)
{
    char *dir = qdt_tmpdir(), archive[700], other[700], html_path[700], *html, want[1024];
    real_runs(dir);
    snprintf(archive, sizeof archive, "%s/s1/archive.json", dir);
    snprintf(other, sizeof other, "%s/s2", dir);
    snprintf(html_path, sizeof html_path, "%s/r.html", dir);
    const char *args[] = {"export", archive, "--html", html_path, "--compare", other, NULL};
    cli_result r = cli(dir, args);
    CU_ASSERT_EQUAL(r.status, 0);
    cli_free(&r);
    html = qdt_slurp(html_path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    const char *section = strstr(html, "<h2>Comparison</h2>");
    CU_ASSERT_PTR_NOT_NULL_FATAL(section);
    CU_ASSERT_PTR_NOT_NULL(strstr(section, "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"runs-plot\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(section, ">tiny: mean of 2 runs, band from their min to max</text>"));
    snprintf(want, sizeof want, "<tr><td>tiny (%s/s1)</td><td>48</td>", dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(section, want));
    snprintf(want, sizeof want, "<tr><td>tiny (%s/s2)</td><td>48</td>", dir);
    CU_ASSERT_PTR_NOT_NULL(strstr(section, want));
    CU_ASSERT_PTR_NOT_NULL(strstr(section, "<tr><td>tiny (mean ± sd of 2)</td><td>48 ± 0</td>"));
    CU_ASSERT_PTR_NULL(strstr(section, "<?xml"));
    free(html);

    const char *no_html[] = {"export", archive, "--svg", html_path, "--compare", other, NULL};
    r = cli(dir, no_html);
    CU_ASSERT_EQUAL(r.status, 2);
    CU_ASSERT_STRING_EQUAL(r.err, "elites export: --compare puts a comparison into the report: give --html too\n");
    cli_free(&r);
    qdt_rmdir(dir);
    free(dir);
}

static const qdt_test tests[] = {
    {"metrics_csv_reads_every_column", test_metrics_csv_reads_every_column},
    {"metrics_csv_errors_name_file_line_and_column", test_metrics_csv_errors_name_file_line_and_column},
    {"plot_draws_seed_mean_and_band", test_plot_draws_seed_mean_and_band},
    {"plot_holds_figures_between_rows", test_plot_holds_figures_between_rows},
    {"plot_overlays_runs_and_breaks_at_missing_figures", test_plot_overlays_runs_and_breaks_at_missing_figures},
    {"plot_rejects_no_runs_and_empty_runs", test_plot_rejects_no_runs_and_empty_runs},
    {"compare_csv_has_exact_figures_and_group_sd", test_compare_csv_has_exact_figures_and_group_sd},
    {"compare_csv_writes_figures_as_metrics_csv_does", test_compare_csv_writes_figures_as_metrics_csv_does},
    {"compare_table_shows_mean_and_sd", test_compare_table_shows_mean_and_sd},
    {"plot_command_writes_svg_and_reports_bad_runs", test_plot_command_writes_svg_and_reports_bad_runs},
    {"export_range_sets_colour_bar_and_rejects_bad_ranges", test_export_range_sets_colour_bar_and_rejects_bad_ranges},
    {"run_heatmap_range_from_config", test_run_heatmap_range_from_config},
    {"export_compare_embeds_plot_and_table", test_export_compare_embeds_plot_and_table},
    {NULL, NULL}};

QDT_MAIN("plot", tests)
