/* export.c - `elites export ARCHIVE.json [--csv OUT.csv] [--json OUT.json]
 * [--svg OUT.svg] [--html OUT.html] [--measures X,Y] [--title T]
 * [--range LO:HI] [--compare RUN]...`: loads a saved archive and writes it
 * again in the requested formats. The HTML report takes its progress charts
 * from the metrics.csv beside the archive, when there is one, and with
 * --compare a comparison with other runs (runs.c). */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: elites export ARCHIVE.json [--csv OUT.csv] [--json OUT.json] [--svg OUT.svg]\n"
                "                     [--html OUT.html] [--measures X,Y] [--title TEXT] [--range LO:HI]\n"
                "                     [--compare RUN]... [--no-group]\n"
                "\n"
                "Loads an archive.json written by `elites run` and writes it again:\n"
                "  --csv OUT.csv    one row per elite (index, objective, measures_*, solution_* or text)\n"
                "  --json OUT.json  the archive as JSON (same format as archive.json)\n"
                "  --svg OUT.svg    a heatmap of the elites' objectives\n"
                "  --html OUT.html  a report to browse the elites (with progress charts from\n"
                "                   the metrics.csv beside ARCHIVE.json, if there is one)\n"
                "  --measures X,Y   the measures on the heatmap's axes (default 0,1)\n"
                "  --title TEXT     the title (default: the config's name)\n"
                "  --range LO:HI    the heatmap's colour range (default: the elites' own), the\n"
                "                   same for two runs to compare them by eye; LO: or :HI fixes\n"
                "                   one end\n"
                "  --compare RUN    (repeatable) add to the report a comparison of this run with\n"
                "                   the run folder RUN: the plot of `elites plot` and the table of\n"
                "                   `elites compare` (seeds of one config: mean and spread)\n"
                "  --no-group       in the comparison, every run on its own\n");
}

/* --range LO:HI into the colour range (either side may be empty: that end
 * stays the elites' own). Returns 0 or the exit status. */
static int parse_range(const char *text, qd_heatmap_options *o)
{
    const char *colon = strchr(text, ':');
    char *end;
    double lo = NAN, hi = NAN;
    if (colon && colon != text) {
        lo = strtod(text, &end);
        if (end != colon || !isfinite(lo))
            colon = NULL;
    }
    if (colon && colon[1]) {
        hi = strtod(colon + 1, &end);
        if (*end || !isfinite(hi))
            colon = NULL;
    }
    if (!colon || (isnan(lo) && isnan(hi)) || lo >= hi) {
        fprintf(stderr,
                "elites export: --range must be LO:HI, two numbers with LO < HI (e.g. 0:100; LO: or :HI"
                " fixes one end), got '%s'\n",
                text);
        return 2;
    }
    o->vmin = lo;
    o->vmax = hi;
    return 0;
}

/* --measures, --title and --range into heatmap options (title default: the saved
 * config's name). Returns 0 or the exit status. */
static int heatmap_options(qd_heatmap_options *o, const cJSON *top, const char *measures, const char *title,
                           const char *range)
{
    char end;
    unsigned long x, y;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(top, "config"), "name");
    qd_heatmap_defaults(o);
    if (measures) {
        if (sscanf(measures, "%lu,%lu%c", &x, &y, &end) != 2) {
            fprintf(stderr, "elites export: --measures must be two measure numbers as X,Y (e.g. 0,1), got '%s'\n",
                    measures);
            return 2;
        }
        o->x_measure = x;
        o->y_measure = y;
    }
    o->title = title ? title : cJSON_IsString(name) ? name->valuestring : NULL;
    return range ? parse_range(range, o) : 0;
}

/* Reads the metrics.csv written beside archive_path by `elites run`, if
 * there is one; *rows is malloc'd (NULL and 0 when there is none). A file
 * that does not parse is reported and skipped: the report is still made. */
static void read_metrics(const char *archive_path, qd_metrics **rows, size_t *n)
{
    char *path, err[1024];
    const char *slash = strrchr(archive_path, '/');
    size_t dirlen = slash ? (size_t)(slash - archive_path) + 1 : 0;
    FILE *fp;
    *rows = NULL;
    *n = 0;
    if (!(path = malloc(dirlen + 16)))
        return;
    snprintf(path, dirlen + 16, "%.*smetrics.csv", (int)dirlen, archive_path);
    if ((fp = fopen(path, "r"))) {
        fclose(fp);
        if (qd_metrics_load_csv(path, rows, n, err, sizeof err) != QD_OK)
            fprintf(stderr, "elites export: %s; the report has no progress charts\n", err);
    }
    free(path);
}

/* The report's comparison section (--compare): this run (when its folder
 * has a metrics.csv) and the others, as the plot of `elites plot` and the
 * table of `elites compare`. *html is malloc'd. Returns 0 or the exit
 * status. */
static int comparison_html(const char *in, char *const *others, size_t nothers, int grouped, char **html)
{
    char **args = calloc(nothers + 1, sizeof *args), *path, err[1024];
    const char *slash = strrchr(in, '/');
    size_t n = 0, len = 0, dirlen = slash ? (size_t)(slash - in) + 1 : 0;
    cli_run_dir *runs = NULL;
    qd_run_series *series = NULL;
    FILE *fp, *probe;
    int status;
    *html = NULL;
    if (!args || !(path = malloc(dirlen + 16))) {
        free(args);
        return 1;
    }
    snprintf(path, dirlen + 16, "%.*smetrics.csv", (int)dirlen, in);
    if ((probe = fopen(path, "r"))) {
        fclose(probe);
        args[n++] = (char *)in;
    }
    free(path);
    for (size_t i = 0; i < nothers; i++)
        args[n++] = others[i];
    if ((status = cli_runs_load("export", args, n, &runs)) != 0)
        goto done;
    if (!(series = cli_runs_series(runs, n, grouped)) || !(fp = open_memstream(html, &len))) {
        status = 1;
        goto done;
    }
    fputs("<h2>Comparison</h2>\n<div class=\"comparison\">\n", fp);
    if (qd_runs_plot_svg(fp, series, n, NULL, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites export: --compare: %s\n", err);
        status = 1;
    }
    cli_runs_table(fp, runs, n, grouped, CLI_TABLE_HTML);
    fputs("</div>\n", fp);
    if (fclose(fp) != 0)
        status = 1;
    if (status) {
        free(*html);
        *html = NULL;
    }
done:
    free(series);
    cli_runs_free(runs, status ? 0 : n);
    free(args);
    return status;
}

/* --html: the report, with the saved config and its description. */
static int export_html(const qd_archive *a, const cJSON *top, const qd_heatmap_options *heat, const char *in,
                       const char *path, const char *extra_html)
{
    qd_report_options r;
    char err[1024];
    qd_metrics *rows;
    size_t n;
    int status = 0;
    const cJSON *config = cJSON_GetObjectItemCaseSensitive(top, "config");
    const cJSON *description = cJSON_GetObjectItemCaseSensitive(config, "description");
    read_metrics(in, &rows, &n);
    qd_report_defaults(&r);
    r.heatmap = *heat;
    r.title = heat->title;
    r.description = cJSON_IsString(description) ? description->valuestring : NULL;
    r.config = config;
    r.metrics = rows;
    r.nmetrics = n;
    r.extra_html = extra_html;
    if (qd_archive_save_html(a, &r, path, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites export: %s\n", err);
        status = 1;
    }
    free(rows);
    return status;
}

int cli_export(int argc, char **argv)
{
    const char *in = NULL, *csv = NULL, *json = NULL, *svg = NULL, *html = NULL, *measures = NULL,
               *title = NULL, *range = NULL;
    char err[1024], **compare = calloc((size_t)argc, sizeof *compare), *extra_html = NULL;
    size_t ncompare = 0;
    int grouped = 1;
    qd_archive *a = NULL;
    cJSON *top = NULL, *extra = NULL;
    qd_heatmap_options heat;
    int status = 0;
    if (!compare)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            free(compare);
            return 0;
        } else if (strcmp(argv[i], "--csv") == 0 && i + 1 < argc) {
            csv = argv[++i];
        } else if (strcmp(argv[i], "--json") == 0 && i + 1 < argc) {
            json = argv[++i];
        } else if (strcmp(argv[i], "--svg") == 0 && i + 1 < argc) {
            svg = argv[++i];
        } else if (strcmp(argv[i], "--html") == 0 && i + 1 < argc) {
            html = argv[++i];
        } else if (strcmp(argv[i], "--measures") == 0 && i + 1 < argc) {
            measures = argv[++i];
        } else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc) {
            title = argv[++i];
        } else if (strcmp(argv[i], "--range") == 0 && i + 1 < argc) {
            range = argv[++i];
        } else if (strcmp(argv[i], "--compare") == 0 && i + 1 < argc) {
            compare[ncompare++] = argv[++i];
        } else if (strcmp(argv[i], "--no-group") == 0) {
            grouped = 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "elites export: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            free(compare);
            return 2;
        } else if (!in) {
            in = argv[i];
        } else {
            fprintf(stderr, "elites export: more than one archive given ('%s')\n", argv[i]);
            free(compare);
            return 2;
        }
    }
    if (!in || (!csv && !json && !svg && !html)) {
        fprintf(stderr, "elites export: give an archive and at least one of --csv, --json, --svg, --html\n");
        usage(stderr);
        free(compare);
        return 2;
    }
    if (ncompare && !html) {
        fprintf(stderr, "elites export: --compare puts a comparison into the report: give --html too\n");
        free(compare);
        return 2;
    }
    if (range && (status = parse_range(range, &heat)) != 0) {
        free(compare);
        return status;
    }
    qd_global_init();
    if (qd_archive_load_json(in, &a, &top, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites export: %s\n", err);
        free(compare);
        return 1;
    }
    if (csv && qd_archive_save_csv(a, csv, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites export: %s\n", err);
        status = 1;
    }
    if (!status && json) {
        /* keep the original header fields (config echo, seed, counts) */
        extra = cJSON_CreateObject();
        const cJSON *item;
        cJSON_ArrayForEach(item, top) {
            const char *k = item->string;
            if (strcmp(k, "format") && strcmp(k, "format_version") && strcmp(k, "archive") && strcmp(k, "stats") &&
                strcmp(k, "elites"))
                cJSON_AddItemToObject(extra, k, cJSON_Duplicate(item, 1));
        }
        if (qd_archive_save_json(a, extra, json, err, sizeof err) != QD_OK) {
            fprintf(stderr, "elites export: %s\n", err);
            status = 1;
        }
    }
    if (!status && (svg || html) && (status = heatmap_options(&heat, top, measures, title, range)) == 0) {
        if (svg && qd_archive_save_svg(a, &heat, svg, err, sizeof err) != QD_OK) {
            fprintf(stderr, "elites export: %s\n", err);
            status = 1;
        }
        if (!status && html && ncompare)
            status = comparison_html(in, compare, ncompare, grouped, &extra_html);
        if (!status && html)
            status = export_html(a, top, &heat, in, html, extra_html);
    }
    if (!status)
        printf("exported %zu elites from %s to%s%s%s%s%s%s%s%s\n", qd_archive_filled(a), in, csv ? " " : "",
               csv ? csv : "", json ? " " : "", json ? json : "", svg ? " " : "", svg ? svg : "", html ? " " : "",
               html ? html : "");
    free(extra_html);
    free(compare);
    cJSON_Delete(extra);
    cJSON_Delete(top);
    qd_archive_free(a);
    return status;
}
