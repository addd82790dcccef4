/* metrics_csv.c - reading back the metrics.csv a search writes
 * (search_save.c): one row per iteration, columns found by their header
 * names so older files with fewer columns still read. `elites export`'s
 * progress charts, `elites plot` and `elites compare` use it. An empty field
 * (obj_max and obj_mean before the first elite) reads as NaN. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

enum { C_ITERATION, C_EVALUATIONS, C_FAILED, C_COVERAGE, C_QD_SCORE, C_NORM_QD_SCORE, C_OBJ_MAX, C_OBJ_MEAN,
       C_SECONDS, C_REQUIRED, C_NEW = C_REQUIRED, C_IMPROVED, C_FILLED, C_LLM_REQUESTS, C_LLM_FAILURES,
       C_LLM_TOKENS, C_COLUMNS };

static const char *const column_names[C_COLUMNS] = {
    "iteration", "evaluations", "failed",   "coverage",     "qd_score",     "norm_qd_score", "obj_max", "obj_mean",
    "seconds",   "new",         "improved", "filled",       "llm_requests", "llm_failures",  "llm_tokens"};

/* The column of each known name in the header line (-1: absent). */
static void header_columns(const char *line, int *col)
{
    int c = 0;
    for (int k = 0; k < C_COLUMNS; k++)
        col[k] = -1;
    for (const char *p = line; *p; c++) {
        size_t len = strcspn(p, ",");
        for (int k = 0; k < C_COLUMNS; k++)
            if (col[k] < 0 && len == strlen(column_names[k]) && strncmp(p, column_names[k], len) == 0)
                col[k] = c;
        p += len;
        if (*p == ',')
            p++;
    }
}

/* Splits one row in place into at most max fields; returns the count. */
static int split_row(char *line, char **field, int max)
{
    int n = 0;
    for (char *p = line;; p++) {
        if (n < max)
            field[n] = p;
        n++;
        p += strcspn(p, ",");
        if (*p != ',')
            break;
        *p = '\0';
    }
    return n;
}

/* One field as a number: "" is NaN; anything else must read whole. */
static int field_number(const char *s, double *v)
{
    char *end;
    if (!*s) {
        *v = NAN;
        return 0;
    }
    errno = 0;
    *v = strtod(s, &end);
    return end == s || *end ? -1 : 0;
}

static int parse_row(char *line, const int *col, qd_metrics *r, const char *path, size_t lineno, char *err,
                     size_t errlen)
{
    char *field[64];
    double v[C_COLUMNS];
    int n = split_row(line, field, 64);
    for (int k = 0; k < C_COLUMNS; k++) {
        v[k] = 0;
        if (col[k] < 0)
            continue;
        if (col[k] >= n || col[k] >= 64) {
            qdi_set_error(err, errlen, "%s: line %zu has %d fields, no %s", path, lineno, n, column_names[k]);
            return QD_EFORMAT;
        }
        if (field_number(field[col[k]], &v[k]) || (k != C_OBJ_MAX && k != C_OBJ_MEAN && isnan(v[k]))) {
            qdi_set_error(err, errlen, "%s: line %zu, %s: not a number: '%s'", path, lineno, column_names[k],
                          field[col[k]]);
            return QD_EFORMAT;
        }
    }
    memset(r, 0, sizeof *r);
    r->iteration = (uint64_t)v[C_ITERATION];
    r->evaluations = (uint64_t)v[C_EVALUATIONS];
    r->failed = (uint64_t)v[C_FAILED];
    r->new_cells = (uint64_t)v[C_NEW];
    r->improved = (uint64_t)v[C_IMPROVED];
    r->stats.filled = (size_t)v[C_FILLED];
    r->stats.coverage = v[C_COVERAGE];
    r->stats.qd_score = v[C_QD_SCORE];
    r->stats.norm_qd_score = v[C_NORM_QD_SCORE];
    r->stats.obj_max = v[C_OBJ_MAX];
    r->stats.obj_mean = v[C_OBJ_MEAN];
    r->seconds = v[C_SECONDS];
    r->llm_requests = (uint64_t)v[C_LLM_REQUESTS];
    r->llm_failures = (uint64_t)v[C_LLM_FAILURES];
    r->llm_tokens = (uint64_t)v[C_LLM_TOKENS];
    return QD_OK;
}

int qd_metrics_load_csv(const char *path, qd_metrics **rows, size_t *n, char *err, size_t errlen)
{
    char *text = NULL, *line, *next;
    size_t len, cap = 0, lineno = 1;
    int col[C_COLUMNS], rc;
    qd_metrics *v = NULL;
    *rows = NULL;
    *n = 0;
    if ((rc = qdi_read_file(path, &text, &len, err, errlen)))
        return rc;
    next = strchr(text, '\n');
    if (next)
        *next++ = '\0';
    header_columns(text, col);
    for (int k = 0; k < C_REQUIRED; k++)
        if (col[k] < 0) {
            qdi_set_error(err, errlen, "%s: the header has no column %s (is it a metrics.csv of elites run?)", path,
                          column_names[k]);
            rc = QD_EFORMAT;
            goto fail;
        }
    while ((line = next) && *line) {
        lineno++;
        if ((next = strchr(line, '\n')))
            *next++ = '\0';
        if (*n == cap) {
            qd_metrics *grown = realloc(v, (cap = cap ? 2 * cap : 256) * sizeof *grown);
            if (!grown) {
                qdi_set_error(err, errlen, "out of memory");
                rc = QD_ENOMEM;
                goto fail;
            }
            v = grown;
        }
        if ((rc = parse_row(line, col, &v[*n], path, lineno, err, errlen)))
            goto fail;
        (*n)++;
    }
    free(text);
    *rows = v;
    return QD_OK;
fail:
    free(text);
    free(v);
    *n = 0;
    return rc;
}
