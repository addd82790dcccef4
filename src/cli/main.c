/* main.c - the elites command-line tool: parses the command line and hands
 * off to `elites run` (run.c), `elites export` (export.c),
 * `elites rescore` (rescore.c), `elites plot` (plot.c) and
 * `elites compare` (compare.c). The only place in the project that
 * decides to exit. */
#include <stdio.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: elites <command> [options]\n"
            "\n"
            "Quality-diversity search (MAP-Elites and friends) from a JSON config.\n"
            "\n"
            "commands:\n"
            "  run CONFIG.json      run a search and write its archive and metrics\n"
            "  export ARCHIVE.json  re-export a saved archive (CSV, JSON, SVG heatmap, HTML report)\n"
            "  rescore ARCHIVE.json re-evaluate a saved archive's elites into another\n"
            "                       config's archive (e.g. ground-truth measures)\n"
            "  plot RUN...          QD score, coverage and best objective against evaluations\n"
            "                       of several runs in one SVG, -o OUT.svg (seeds: mean, band)\n"
            "  compare RUN...       a table of the runs' final figures (seeds: mean ± sd)\n"
            "\n"
            "options:\n"
            "  -h, --help           show this help (elites <command> --help for a command)\n"
            "  -V, --version        show the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
        printf("elites %s\n", qd_version());
        return 0;
    }
    if (strcmp(argv[1], "run") == 0)
        return cli_run(argc - 1, argv + 1);
    if (strcmp(argv[1], "export") == 0)
        return cli_export(argc - 1, argv + 1);
    if (strcmp(argv[1], "rescore") == 0)
        return cli_rescore(argc - 1, argv + 1);
    if (strcmp(argv[1], "plot") == 0)
        return cli_plot(argc - 1, argv + 1);
    if (strcmp(argv[1], "compare") == 0)
        return cli_compare(argc - 1, argv + 1);
    fprintf(stderr, "elites: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
