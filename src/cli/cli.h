/* cli.h - the elites command-line tool's commands. Exit codes: 0 success,
 * 1 a run or export failed, 2 bad usage or config, 130 interrupted. */
#ifndef ELITES_CLI_H
#define ELITES_CLI_H

#include "elites.h"

int cli_run(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_rescore(int argc, char **argv);
int cli_plot(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_judge(int argc, char **argv);

/* A run folder read by plot, compare and export --compare (runs.c). */
typedef struct cli_run_dir {
    char *dir;   /* the folder */
    char *name;  /* its config's name, else the folder's last part */
    char *label; /* name, or "name (dir)" when another run has the same name */
    qd_metrics *rows;
    size_t nrows;
} cli_run_dir;

typedef enum { CLI_TABLE_TEXT, CLI_TABLE_CSV, CLI_TABLE_HTML } cli_table_format;

/* Reads n runs (folders of `elites run`, or files in them); *out is
 * malloc'd (cli_runs_free). Errors are printed as "elites CMD: ..."; returns
 * 0 or the exit status. */
int cli_runs_load(const char *cmd, char *const *args, size_t n, cli_run_dir **out);
/* Frees what cli_runs_load returned. Accepts NULL. */
void cli_runs_free(cli_run_dir *runs, size_t n);
/* The runs as plot series (malloc'd array; strings borrowed from runs);
 * grouped: runs of the same name are one group. NULL when out of memory. */
qd_run_series *cli_runs_series(const cli_run_dir *runs, size_t n, int grouped);
/* Prints the final figures of each run and, grouped, the mean and sample
 * sd of each group of two or more runs of the same name. */
void cli_runs_table(FILE *fp, const cli_run_dir *runs, size_t n, int grouped, cli_table_format format);

#endif
