/* export.c - `elites export ARCHIVE.json [--csv OUT.csv] [--json OUT.json]
 * [--svg OUT.svg] [--html OUT.html] [--measures X,Y] [--title T]`: loads a
 * saved archive and writes it again in the requested formats. The HTML
 * report takes its progress charts from the metrics.csv beside the archive,
 * when there is one. */
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: elites export ARCHIVE.json [--csv OUT.csv] [--json OUT.json] [--svg OUT.svg]\n"
                "                     [--html OUT.html] [--measures X,Y] [--title TEXT]\n"
                "\n"
                "Loads an archive.json written by `elites run` and writes it again:\n"
                "  --csv OUT.csv    one row per elite (index, objective, measures_*, solution_* or text)\n"
                "  --json OUT.json  the archive as JSON (same format as archive.json)\n"
                "  --svg OUT.svg    a heatmap of the elites' objectives\n"
                "  --html OUT.html  a report to browse the elites (with progress charts from\n"
                "                   the metrics.csv beside ARCHIVE.json, if there is one)\n"
                "  --measures X,Y   the measures on the heatmap's axes (default 0,1)\n"
                "  --title TEXT     the title (default: the config's name)\n");
}

/* --measures and --title into heatmap options (title default: the saved
 * config's name). Returns 0 or the exit status. */
static int heatmap_options(qd_heatmap_options *o, const cJSON *top, const char *measures, const char *title)
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
    return 0;
}

/* A whole file as a string (caller frees); NULL if unreadable. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL, *grown;
    size_t len = 0, cap = 0, got;
    if (!fp)
        return NULL;
    do {
        if (len + 4096 + 1 > cap) {
            if (!(grown = realloc(buf, cap = 2 * cap + 4096 + 1))) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = grown;
        }
        got = fread(buf + len, 1, cap - len - 1, fp);
        len += got;
    } while (got > 0);
    fclose(fp);
    buf[len] = '\0';
    return buf;
}

/* Reads the metrics.csv written beside archive_path by `elites run`, if
 * there is one; *rows is malloc'd (NULL and 0 when there is none). A file
 * that does not parse is reported and skipped: the report is still made. */
static void read_metrics(const char *archive_path, qd_metrics **rows, size_t *n)
{
    static const char *const names[] = {"iteration", "evaluations", "failed", "coverage", "qd_score",
                                        "norm_qd_score", "obj_max", "obj_mean", "seconds", NULL};
    int col[9];
    char *path, *text = NULL, *line, *save = NULL;
    const char *slash = strrchr(archive_path, '/');
    size_t dirlen = slash ? (size_t)(slash - archive_path) + 1 : 0, cap = 0;
    *rows = NULL;
    *n = 0;
    if (!(path = malloc(dirlen + 16)))
        return;
    snprintf(path, dirlen + 16, "%.*smetrics.csv", (int)dirlen, archive_path);
    if (!(text = slurp(path)))
        goto done;
    line = strtok_r(text, "\n", &save);
    for (int k = 0; names[k]; k++) {
        col[k] = -1;
        int c = 0;
        for (const char *p = line; p && *p; c++) {
            size_t len = strcspn(p, ",");
            if (len == strlen(names[k]) && strncmp(p, names[k], len) == 0)
                col[k] = c;
            p += len + (p[len] == ',');
        }
        if (col[k] < 0) {
            fprintf(stderr, "elites export: %s has no column %s; the report has no progress charts\n", path, names[k]);
            goto done;
        }
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        double v[32];
        int c = 0;
        for (char *p = line; *p && c < 32; c++) {
            v[c] = strtod(p, &p);
            p += strcspn(p, ",");
            p += *p == ',';
        }
        if (*n == cap) {
            qd_metrics *grown = realloc(*rows, (cap = cap ? 2 * cap : 256) * sizeof *grown);
            if (!grown)
                break;
            *rows = grown;
        }
        qd_metrics *r = &(*rows)[(*n)++];
        memset(r, 0, sizeof *r);
        r->iteration = (uint64_t)v[col[0]];
        r->evaluations = (uint64_t)v[col[1]];
        r->failed = (uint64_t)v[col[2]];
        r->stats.coverage = v[col[3]];
        r->stats.qd_score = v[col[4]];
        r->stats.norm_qd_score = v[col[5]];
        r->stats.obj_max = v[col[6]];
        r->stats.obj_mean = v[col[7]];
        r->seconds = v[col[8]];
    }
done:
    free(text);
    free(path);
}

/* --html: the report, with the saved config and its description. */
static int export_html(const qd_archive *a, const cJSON *top, const qd_heatmap_options *heat, const char *in,
                       const char *path)
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
               *title = NULL;
    char err[1024];
    qd_archive *a = NULL;
    cJSON *top = NULL, *extra = NULL;
    qd_heatmap_options heat;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
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
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "elites export: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else if (!in) {
            in = argv[i];
        } else {
            fprintf(stderr, "elites export: more than one archive given ('%s')\n", argv[i]);
            return 2;
        }
    }
    if (!in || (!csv && !json && !svg && !html)) {
        fprintf(stderr, "elites export: give an archive and at least one of --csv, --json, --svg, --html\n");
        usage(stderr);
        return 2;
    }
    qd_global_init();
    if (qd_archive_load_json(in, &a, &top, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites export: %s\n", err);
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
    if (!status && (svg || html) && (status = heatmap_options(&heat, top, measures, title)) == 0) {
        if (svg && qd_archive_save_svg(a, &heat, svg, err, sizeof err) != QD_OK) {
            fprintf(stderr, "elites export: %s\n", err);
            status = 1;
        }
        if (!status && html)
            status = export_html(a, top, &heat, in, html);
    }
    if (!status)
        printf("exported %zu elites from %s to%s%s%s%s%s%s%s%s\n", qd_archive_filled(a), in, csv ? " " : "",
               csv ? csv : "", json ? " " : "", json ? json : "", svg ? " " : "", svg ? svg : "", html ? " " : "",
               html ? html : "");
    cJSON_Delete(extra);
    cJSON_Delete(top);
    qd_archive_free(a);
    return status;
}
