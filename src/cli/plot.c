/* plot.c - `elites plot RUN... -o OUT.svg [--title T] [--no-group]`: QD
 * score, coverage and best objective against evaluations for several runs,
 * overlaid with a legend (the drawing is src/runs_plot.c). Runs that share a
 * config name are seeds of one config and are drawn as their mean with a
 * min-max band, unless --no-group. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: elites plot RUN... -o OUT.svg [--title TEXT] [--no-group]\n"
                "\n"
                "Draws QD score, coverage and best objective against evaluations for each RUN\n"
                "(an output folder of `elites run`, read from its metrics.csv), overlaid, with a\n"
                "legend named after each run's config name. Runs with the same config name\n"
                "(e.g. the same config run with several --seed) are drawn as one curve: their\n"
                "mean, with a band from their minimum to their maximum.\n"
                "  -o, --output OUT.svg  the SVG to write (atomically)\n"
                "  --title TEXT          a title above the plots\n"
                "  --no-group            draw every run on its own, even with a shared name\n");
}

int cli_plot(int argc, char **argv)
{
    const char *out = NULL, *title = NULL;
    char **args = calloc((size_t)argc, sizeof *args), err[1024];
    size_t n = 0;
    int grouped = 1, status = 0;
    cli_run_dir *runs = NULL;
    qd_run_series *series = NULL;
    if (!args)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            free(args);
            return 0;
        } else if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc) {
            out = argv[++i];
        } else if (strcmp(argv[i], "--title") == 0 && i + 1 < argc) {
            title = argv[++i];
        } else if (strcmp(argv[i], "--no-group") == 0) {
            grouped = 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "elites plot: unknown or incomplete option '%s'\n", argv[i]);
            usage(stderr);
            free(args);
            return 2;
        } else {
            args[n++] = argv[i];
        }
    }
    if (!n || !out) {
        fprintf(stderr, "elites plot: give at least one run folder and -o OUT.svg\n");
        usage(stderr);
        free(args);
        return 2;
    }
    if ((status = cli_runs_load("plot", args, n, &runs)) == 0) {
        if (!(series = cli_runs_series(runs, n, grouped))) {
            status = 1;
        } else if (qd_runs_save_svg(series, n, title, out, err, sizeof err) != QD_OK) {
            fprintf(stderr, "elites plot: %s\n", err);
            status = 1;
        } else {
            printf("plotted %zu runs to %s\n", n, out);
        }
    }
    free(series);
    cli_runs_free(runs, status ? 0 : n);
    free(args);
    return status;
}
