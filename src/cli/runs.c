/* runs.c - the run folders that `elites plot`, `elites compare` and
 * `elites export --compare` read, and the table of their final figures.
 *
 * A run is the output folder of `elites run` (or any file in it, such as
 * its archive.json): its metrics.csv gives the figures, its archive.json's
 * config name names it (else the folder's own name). Runs that share a
 * config name are taken as seeds of one config (a group) unless grouping is
 * turned off; a name that repeats is shown with its folder, "name (DIR)". */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

/* A whole file as a string (caller frees); NULL if unreadable. */
static char *slurp(const char *path)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL, *grown;
    size_t len = 0, cap = 0, got;
    if (!fp)
        return NULL;
    do {
        if (len + 65536 + 1 > cap) {
            if (!(grown = realloc(buf, cap = 2 * cap + 65536 + 1))) {
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

/* dir + "/" + file, malloc'd. */
static char *join(const char *dir, const char *file)
{
    size_t len = strlen(dir) + strlen(file) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, file);
    return p;
}

/* The folder a RUN argument names: itself, or the folder of a file in it;
 * trailing slashes dropped. NULL (message printed) if it is neither. */
static char *run_folder(const char *cmd, const char *arg)
{
    struct stat st;
    char *dir;
    size_t len;
    if (stat(arg, &st) != 0 || (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))) {
        fprintf(stderr, "elites %s: %s: no such run folder\n", cmd, arg);
        return NULL;
    }
    if (!(dir = strdup(arg)))
        return NULL;
    if (S_ISREG(st.st_mode)) {
        char *slash = strrchr(dir, '/');
        if (slash)
            slash[slash == dir] = '\0';
        else
            strcpy(dir, ".");
    }
    for (len = strlen(dir); len > 1 && dir[len - 1] == '/'; len--)
        dir[len - 1] = '\0';
    return dir;
}

/* The run's name: archive.json's config.name, else the folder's last part.
 * NULL (message printed) when archive.json is there but is not JSON. */
static char *run_name(const char *cmd, const char *dir)
{
    char *path = join(dir, "archive.json"), *text = path ? slurp(path) : NULL, *name = NULL;
    const char *base = strrchr(dir, '/');
    if (text) {
        cJSON *top = cJSON_Parse(text);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(top, "config"), "name");
        if (!top)
            fprintf(stderr, "elites %s: %s: not valid JSON\n", cmd, path);
        else if (cJSON_IsString(v) && *v->valuestring)
            name = strdup(v->valuestring);
        else
            name = strdup(base && base[1] ? base + 1 : dir);
        cJSON_Delete(top);
    } else if (path) {
        name = strdup(base && base[1] ? base + 1 : dir);
    }
    free(text);
    free(path);
    return name;
}

static int load_one(const char *cmd, const char *arg, cli_run_dir *r)
{
    char err[1024], *path;
    memset(r, 0, sizeof *r);
    if (!(r->dir = run_folder(cmd, arg)) || !(r->name = run_name(cmd, r->dir)) ||
        !(path = join(r->dir, "metrics.csv")))
        return 2;
    if (qd_metrics_load_csv(path, &r->rows, &r->nrows, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites %s: %s\n", cmd, err);
        free(path);
        return 2;
    }
    if (!r->nrows) {
        fprintf(stderr, "elites %s: %s: no rows (the run has not finished an iteration)\n", cmd, path);
        free(path);
        return 2;
    }
    free(path);
    return 0;
}

int cli_runs_load(const char *cmd, char *const *args, size_t n, cli_run_dir **out)
{
    cli_run_dir *runs = calloc(n ? n : 1, sizeof *runs);
    int status = 0;
    size_t i;
    *out = NULL;
    if (!runs)
        return 1;
    for (i = 0; i < n && !status; i++)
        status = load_one(cmd, args[i], &runs[i]);
    for (size_t j = 0; j < i && !status; j++) {
        int repeats = 0;
        for (size_t k = 0; k < i; k++)
            repeats |= k != j && strcmp(runs[j].name, runs[k].name) == 0;
        size_t len = strlen(runs[j].name) + strlen(runs[j].dir) + 4;
        if (!(runs[j].label = malloc(len)))
            status = 1;
        else if (repeats)
            snprintf(runs[j].label, len, "%s (%s)", runs[j].name, runs[j].dir);
        else
            snprintf(runs[j].label, len, "%s", runs[j].name);
    }
    if (status) {
        cli_runs_free(runs, i);
        return status;
    }
    *out = runs;
    return 0;
}

void cli_runs_free(cli_run_dir *runs, size_t n)
{
    for (size_t i = 0; runs && i < n; i++) {
        free(runs[i].dir);
        free(runs[i].name);
        free(runs[i].label);
        free(runs[i].rows);
    }
    free(runs);
}

qd_run_series *cli_runs_series(const cli_run_dir *runs, size_t n, int grouped)
{
    qd_run_series *s = calloc(n ? n : 1, sizeof *s);
    for (size_t i = 0; s && i < n; i++) {
        s[i].label = runs[i].label;
        s[i].group = grouped ? runs[i].name : NULL;
        s[i].rows = runs[i].rows;
        s[i].nrows = runs[i].nrows;
    }
    return s;
}

/* ---- the table of final figures ---- */

#define FIGURES 7
static const char *const figure_titles[FIGURES] = {"evaluations", "failed",         "QD score", "norm QD score",
                                                   "coverage",    "best objective", "seconds"};
static const char *const figure_keys[FIGURES] = {"evaluations", "failed",         "qd_score", "norm_qd_score",
                                                 "coverage",    "best_objective", "seconds"};

static void final_figures(const cli_run_dir *r, double *v)
{
    const qd_metrics *m = &r->rows[r->nrows - 1];
    v[0] = (double)m->evaluations;
    v[1] = (double)m->failed;
    v[2] = m->stats.qd_score;
    v[3] = m->stats.norm_qd_score;
    v[4] = m->stats.coverage;
    v[5] = m->stats.obj_max;
    v[6] = m->seconds;
}

/* A figure for the CSV: the shortest text that reads back exactly (as in
 * metrics.csv), "" for a missing one; buf holds 32 bytes or more. */
static void exact(char *buf, double v)
{
    if (isnan(v))
        buf[0] = '\0';
    else
        qd_format_double(buf, v);
}

/* A figure for people: integers whole, coverage in percent, else 6
 * significant digits; "-" when missing (best objective of an empty archive). */
static void readable(char *buf, size_t len, int k, double v)
{
    if (isnan(v))
        snprintf(buf, len, "-");
    else if (k <= 1)
        snprintf(buf, len, "%.0f", v);
    else if (k == 4)
        snprintf(buf, len, "%.4g%%", 100 * v);
    else
        snprintf(buf, len, "%.6g", v);
}

/* A standard deviation for people: whole from 100 up, else 3 significant
 * digits (coverage in percent). */
static void spread(char *buf, size_t len, int k, double v)
{
    double shown = k == 4 ? 100 * v : v;
    if (isnan(v))
        snprintf(buf, len, "-");
    else
        snprintf(buf, len, fabs(shown) >= 100 ? "%.0f%s" : "%.3g%s", shown, k == 4 ? "%" : "");
}

/* Mean and sample standard deviation of figure k over the runs named
 * name (NaN sd for one run); the number of runs in *count. */
static void group_figure(const cli_run_dir *runs, size_t n, const char *name, int k, double *mean, double *sd,
                         size_t *count)
{
    double sum = 0, sq = 0, v[FIGURES];
    size_t c = 0;
    for (size_t i = 0; i < n; i++)
        if (strcmp(runs[i].name, name) == 0) {
            final_figures(&runs[i], v);
            sum += v[k];
            c++;
        }
    *mean = sum / (double)c;
    for (size_t i = 0; i < n; i++)
        if (strcmp(runs[i].name, name) == 0) {
            final_figures(&runs[i], v);
            sq += (v[k] - *mean) * (v[k] - *mean);
        }
    *sd = c > 1 ? sqrt(sq / (double)(c - 1)) : NAN;
    *count = c;
}

/* Whether run i is the first of its name with at least one more after it. */
static int group_head(const cli_run_dir *runs, size_t n, size_t i)
{
    int later = 0;
    for (size_t j = 0; j < n; j++) {
        if (j < i && strcmp(runs[j].name, runs[i].name) == 0)
            return 0;
        later |= j > i && strcmp(runs[j].name, runs[i].name) == 0;
    }
    return later;
}

/* Columns on screen: UTF-8 continuation bytes take none. */
static size_t columns(const char *s)
{
    size_t c = 0;
    for (; *s; s++)
        c += ((unsigned char)*s & 0xc0) != 0x80;
    return c;
}

static void html_text(FILE *fp, const char *s)
{
    for (; *s; s++)
        if (*s == '<')
            fputs("&lt;", fp);
        else if (*s == '>')
            fputs("&gt;", fp);
        else if (*s == '&')
            fputs("&amp;", fp);
        else if (*s == '"')
            fputs("&quot;", fp);
        else
            fputc(*s, fp);
}

static void csv_text(FILE *fp, const char *s)
{
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

static void write_csv(FILE *fp, const cli_run_dir *runs, size_t n, int grouped)
{
    char a[40], b[40], v40[40];
    double v[FIGURES];
    fputs("kind,run,name,runs", fp);
    for (int k = 0; k < FIGURES; k++)
        fprintf(fp, ",%s,%s_sd", figure_keys[k], figure_keys[k]);
    fputc('\n', fp);
    for (size_t i = 0; i < n; i++) {
        fputs("run,", fp);
        csv_text(fp, runs[i].dir);
        fputc(',', fp);
        csv_text(fp, runs[i].name);
        fputs(",1", fp);
        final_figures(&runs[i], v);
        for (int k = 0; k < FIGURES; k++) {
            exact(v40, v[k]);
            fprintf(fp, ",%s,", v40);
        }
        fputc('\n', fp);
    }
    for (size_t i = 0; grouped && i < n; i++) {
        size_t count = 0;
        if (!group_head(runs, n, i))
            continue;
        fputs("group,,", fp);
        csv_text(fp, runs[i].name);
        for (int k = 0; k < FIGURES; k++) {
            double mean, sd;
            group_figure(runs, n, runs[i].name, k, &mean, &sd, &count);
            exact(a, mean);
            exact(b, sd);
            if (k == 0)
                fprintf(fp, ",%zu", count);
            fprintf(fp, ",%s,%s", a, b);
        }
        fputc('\n', fp);
    }
}

/* The cells of the table for people: a header, one row per run, then one
 * per group of seeds ("mean ± sd"). *rows rows of FIGURES + 1 cells, each
 * malloc'd (free_cells). */
static char **table_cells(const cli_run_dir *runs, size_t n, int grouped, size_t *rows)
{
    size_t cap = (2 * n + 1) * (FIGURES + 1), r = 1;
    char **cell = calloc(cap, sizeof *cell), buf[128], a[48], b[48];
    double v[FIGURES];
    if (!cell)
        return NULL;
    cell[0] = strdup("run");
    for (int k = 0; k < FIGURES; k++)
        cell[k + 1] = strdup(figure_titles[k]);
    for (size_t i = 0; i < n; i++, r++) {
        final_figures(&runs[i], v);
        cell[r * (FIGURES + 1)] = strdup(runs[i].label);
        for (int k = 0; k < FIGURES; k++) {
            readable(buf, sizeof buf, k, v[k]);
            cell[r * (FIGURES + 1) + k + 1] = strdup(buf);
        }
    }
    for (size_t i = 0; grouped && i < n; i++) {
        size_t count = 0;
        if (!group_head(runs, n, i))
            continue;
        for (int k = 0; k < FIGURES; k++) {
            double mean, sd;
            group_figure(runs, n, runs[i].name, k, &mean, &sd, &count);
            readable(a, sizeof a, k >= 2 ? k : 2, mean);
            spread(b, sizeof b, k, sd);
            snprintf(buf, sizeof buf, "%s ± %s", a, b);
            cell[r * (FIGURES + 1) + k + 1] = strdup(buf);
        }
        snprintf(buf, sizeof buf, "%.80s (mean ± sd of %zu)", runs[i].name, count);
        cell[r * (FIGURES + 1)] = strdup(buf);
        r++;
    }
    *rows = r;
    return cell;
}

void cli_runs_table(FILE *fp, const cli_run_dir *runs, size_t n, int grouped, cli_table_format format)
{
    size_t rows = 0, width[FIGURES + 1] = {0};
    char **cell;
    if (format == CLI_TABLE_CSV) {
        write_csv(fp, runs, n, grouped);
        return;
    }
    if (!(cell = table_cells(runs, n, grouped, &rows)))
        return;
    for (size_t r = 0; r < rows; r++)
        for (int k = 0; k <= FIGURES; k++) {
            const char *c = cell[r * (FIGURES + 1) + k] ? cell[r * (FIGURES + 1) + k] : "";
            if (columns(c) > width[k])
                width[k] = columns(c);
        }
    if (format == CLI_TABLE_HTML)
        fputs("<table class=\"compare\">\n", fp);
    for (size_t r = 0; r < rows; r++) {
        if (format == CLI_TABLE_HTML)
            fputs("<tr>", fp);
        for (int k = 0; k <= FIGURES; k++) {
            const char *c = cell[r * (FIGURES + 1) + k] ? cell[r * (FIGURES + 1) + k] : "";
            if (format == CLI_TABLE_HTML) {
                fputs(r ? "<td>" : "<th>", fp);
                html_text(fp, c);
                fputs(r ? "</td>" : "</th>", fp);
            } else if (k == 0) {
                fprintf(fp, "%s%*s", c, (int)(width[k] - columns(c)), "");
            } else {
                fprintf(fp, "  %*s%s", (int)(width[k] - columns(c)), "", c);
            }
        }
        fputs(format == CLI_TABLE_HTML ? "</tr>\n" : "\n", fp);
        if (format == CLI_TABLE_TEXT && r == n && rows > n + 1)
            fputc('\n', fp);
    }
    if (format == CLI_TABLE_HTML)
        fputs("</table>\n", fp);
    for (size_t i = 0; i < rows * (FIGURES + 1); i++)
        free(cell[i]);
    free(cell);
}
