/* solution.c - ownership helpers for a solution's strings. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

static int replace(char **slot, const char *value)
{
    char *copy = NULL;
    if (value) {
        copy = strdup(value);
        if (!copy)
            return QD_ENOMEM;
    }
    free(*slot);
    *slot = copy;
    return QD_OK;
}

int qd_solution_set_text(qd_solution *sol, const char *text)
{
    return replace(&sol->text, text);
}

int qd_solution_set_meta(qd_solution *sol, const char *json)
{
    return replace(&sol->meta, json);
}

int qd_solution_set_lineage(qd_solution *sol, const char *json)
{
    return replace(&sol->lineage, json);
}

void qd_solution_clear(qd_solution *sol)
{
    free(sol->text);
    free(sol->meta);
    free(sol->lineage);
    sol->text = sol->meta = sol->lineage = NULL;
}
