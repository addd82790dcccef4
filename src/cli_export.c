/* cli_export.c - `elites export ARCHIVE.json [--csv OUT.csv] [--json OUT.json]
 * [--svg OUT.svg [--measures X,Y] [--title T]]`: loads a saved archive and
 * writes it again in the requested formats. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: elites export ARCHIVE.json [--csv OUT.csv] [--json OUT.json] [--svg OUT.svg]\n"
                "\n"
                "Loads an archive.json written by `elites run` and writes it again:\n"
                "  --csv OUT.csv    one row per elite (index, objective, measures_*, solution_* or text)\n"
                "  --json OUT.json  the archive as JSON (same format as archive.json)\n"
                "  --svg OUT.svg    a heatmap of the elites' objectives\n"
                "  --measures X,Y   the measures on the heatmap's axes (default 0,1)\n"
                "  --title TEXT     the heatmap's title (default: the config's name)\n");
}

/* --svg: the heatmap, titled with the saved config's name by default. */
static int export_svg(const qd_archive *a, const cJSON *top, const char *path, const char *measures, const char *title)
{
    qd_heatmap_options o;
    char err[1024], end;
    unsigned long x, y;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(top, "config"), "name");
    qd_heatmap_defaults(&o);
    if (measures) {
        if (sscanf(measures, "%lu,%lu%c", &x, &y, &end) != 2) {
            fprintf(stderr, "elites export: --measures must be two measure numbers as X,Y (e.g. 0,1), got '%s'\n",
                    measures);
            return 2;
        }
        o.x_measure = x;
        o.y_measure = y;
    }
    o.title = title ? title : cJSON_IsString(name) ? name->valuestring : NULL;
    if (qd_archive_save_svg(a, &o, path, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites export: %s\n", err);
        return 1;
    }
    return 0;
}

int cli_export(int argc, char **argv)
{
    const char *in = NULL, *csv = NULL, *json = NULL, *svg = NULL, *measures = NULL, *title = NULL;
    char err[1024];
    qd_archive *a = NULL;
    cJSON *top = NULL, *extra = NULL;
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
    if (!in || (!csv && !json && !svg)) {
        fprintf(stderr, "elites export: give an archive and at least one of --csv, --json, --svg\n");
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
    if (!status && svg)
        status = export_svg(a, top, svg, measures, title);
    if (!status)
        printf("exported %zu elites from %s to%s%s%s%s%s%s\n", qd_archive_filled(a), in, csv ? " " : "", csv ? csv : "",
               json ? " " : "", json ? json : "", svg ? " " : "", svg ? svg : "");
    cJSON_Delete(extra);
    cJSON_Delete(top);
    qd_archive_free(a);
    return status;
}
