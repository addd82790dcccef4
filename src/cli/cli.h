/* cli.h - the elites command-line tool's commands. Exit codes: 0 success,
 * 1 a run or export failed, 2 bad usage or config, 130 interrupted. */
#ifndef ELITES_CLI_H
#define ELITES_CLI_H

#include "elites.h"

int cli_run(int argc, char **argv);
int cli_export(int argc, char **argv);
int cli_rescore(int argc, char **argv);
int cli_judge(int argc, char **argv);

#endif
