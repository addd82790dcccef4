/* compare.c - `elites compare RUN... [--csv] [--no-group]`: the final
 * figures of each run (from its metrics.csv's last row): QD score,
 * normalised QD score, coverage, best objective, evaluations, failed jobs
 * and wall time; then, for runs sharing a config name (seeds), each group's
 * mean and sample standard deviation. --csv prints the same for machines,
 * every figure exact. */
#include <stdlib.h>
#include <string.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: elites compare RUN... [--csv] [--no-group]\n"
                "\n"
                "Prints a table of each RUN's final figures (an output folder of `elites run`,\n"
                "read from its metrics.csv): evaluations, failed jobs, QD score, normalised QD\n"
                "score, coverage, best objective and wall time in seconds. Runs with the same\n"
                "config name are seeds of one config: a row per such group gives the mean and\n"
                "the sample standard deviation of each figure.\n"
                "  --csv       comma-separated output (kind,run,name,runs, then each figure and\n"
                "              its _sd; coverage as a fraction)\n"
                "  --no-group  no group rows\n");
}

int cli_compare(int argc, char **argv)
{
    char **args = calloc((size_t)argc, sizeof *args);
    size_t n = 0;
    int grouped = 1, csv = 0, status;
    cli_run_dir *runs = NULL;
    if (!args)
        return 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            free(args);
            return 0;
        } else if (strcmp(argv[i], "--csv") == 0) {
            csv = 1;
        } else if (strcmp(argv[i], "--no-group") == 0) {
            grouped = 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "elites compare: unknown option '%s'\n", argv[i]);
            usage(stderr);
            free(args);
            return 2;
        } else {
            args[n++] = argv[i];
        }
    }
    if (!n) {
        fprintf(stderr, "elites compare: give at least one run folder\n");
        usage(stderr);
        free(args);
        return 2;
    }
    if ((status = cli_runs_load("compare", args, n, &runs)) == 0)
        cli_runs_table(stdout, runs, n, grouped, csv ? CLI_TABLE_CSV : CLI_TABLE_TEXT);
    cli_runs_free(runs, status ? 0 : n);
    free(args);
    return status;
}
