/* archive.c - the generic archive: storage, add, sampling and stats over any
 * tessellation (grid, CVT) that maps a measure vector to a cell.
 *
 * Elites are stored as structure-of-arrays over "slots" in insertion order
 * (objective[slot], measures[slot*m], x[slot*dim], ...), with slot_of_cell
 * mapping a cell to its slot. Memory grows with the number of elites, not the
 * number of cells, and uniform sampling of an elite is one random slot.
 *
 * Add semantics follow pyribs: a solution in an empty cell is NEW; in an
 * occupied cell it is IMPROVE when its objective beats the cell's threshold,
 * else NOT_ADDED; value = objective - threshold before the add. The threshold
 * is the elite's objective for plain MAP-Elites (learning_rate 1); CMA-MAE
 * (Fontaine & Nikolaidis 2023) anneals it: t <- (1 - a) t + a f.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"

static int grow(qd_archive *a)
{
    size_t cap = a->cap ? a->cap * 2 : 64;
    if (cap > a->cells)
        cap = a->cells;
#define GROW(field, per)                                                          \
    do {                                                                          \
        void *p_ = realloc(a->field, (per) * cap * sizeof *a->field + 1);         \
        if (!p_)                                                                  \
            return QD_ENOMEM;                                                     \
        a->field = p_;                                                            \
    } while (0)
    GROW(cell_of_slot, 1);
    GROW(objective, 1);
    GROW(threshold, 1);
    GROW(measures, a->m);
    if (a->kind == QD_GENOME_REAL)
        GROW(x, a->dim);
    GROW(text, 1);
    GROW(meta, 1);
    GROW(lineage, 1);
#undef GROW
    for (size_t i = a->cap; i < cap; i++)
        a->text[i] = a->meta[i] = a->lineage[i] = NULL;
    a->cap = cap;
    return QD_OK;
}

static int read_common(qd_archive *a, qd_config *cfg, const qd_space *space)
{
    static const char *const genomes[] = {"real", "text", NULL};
    int genome = space->kind == QD_GENOME_TEXT;
    long dim = (long)space->dim, m = (long)space->measures;
    double offset = isfinite(space->objective_min) ? space->objective_min : 0.0;

    /* These describe the space; a saved archive carries them and they must
     * agree with the space it is loaded for. */
    if (qd_config_choice(cfg, "genome", genomes, &genome) ||
        qd_config_int(cfg, "solution_dim", &dim, ">= 0") ||
        qd_config_int(cfg, "measure_dim", &m, ">= 1"))
        return QD_EINVAL;
    if (genome != (int)space->kind)
        return qd_config_fail(cfg, "genome", "is \"%s\" but the evaluator's genome is %s",
                              genomes[genome], genomes[space->kind]);
    if ((size_t)dim != space->dim)
        return qd_config_fail(cfg, "solution_dim", "is %ld but the evaluator's genome has %zu numbers",
                              dim, space->dim);
    if ((size_t)m != space->measures)
        return qd_config_fail(cfg, "measure_dim", "is %ld but the evaluator gives %zu measures",
                              m, space->measures);
    a->kind = space->kind;
    a->dim = space->dim;
    a->m = space->measures;

    a->learning_rate = 1.0;
    a->threshold_min = -INFINITY;
    if (qd_config_number(cfg, "qd_score_offset", &offset, NULL) ||
        qd_config_number(cfg, "learning_rate", &a->learning_rate, ">= 0 <= 1"))
        return QD_EINVAL;
    a->offset = offset;
    if (qd_config_has(cfg, "threshold_min")) {
        double t = 0;
        if (qd_config_number(cfg, "threshold_min", &t, NULL))
            return QD_EINVAL;
        a->threshold_min = t;
    } else if (a->learning_rate < 1.0) {
        return qd_config_fail(cfg, "threshold_min", "is required when learning_rate < 1 (CMA-MAE)");
    }
    return QD_OK;
}

/* "measure_labels" (one entry per measure: null, {"categories": [...]} or
 * {"low": ..., "high": ...}) and "objective_range" when the space has them,
 * for the drawings (heatmap_svg.c, report_html.c). */
static int describe_labels(cJSON *d, const qd_space *space)
{
    cJSON *all, *one;
    cJSON_DeleteItemFromObjectCaseSensitive(d, "measure_labels");
    cJSON_DeleteItemFromObjectCaseSensitive(d, "objective_range");
    if (isfinite(space->objective_min) && isfinite(space->objective_max)) {
        double r[2] = {space->objective_min, space->objective_max};
        if (!(one = cJSON_CreateDoubleArray(r, 2))) /* numbers, read back in memory (axes.c) */
            return QD_ENOMEM;
        cJSON_AddItemToObject(d, "objective_range", one);
    }
    if (!space->measure_labels)
        return QD_OK;
    if (!(all = cJSON_AddArrayToObject(d, "measure_labels")))
        return QD_ENOMEM;
    for (size_t k = 0; k < space->measures; k++) {
        char **l = space->measure_labels[k];
        size_t n = 0;
        while (l && l[n])
            n++;
        if (!l)
            one = cJSON_CreateNull();
        else if ((one = cJSON_CreateObject()) && space->measure_categorical[k])
            cJSON_AddItemToObject(one, "categories", cJSON_CreateStringArray((const char *const *)l, (int)n));
        else if (one) {
            cJSON_AddStringToObject(one, "low", l[0]);
            cJSON_AddStringToObject(one, "high", l[1]);
        }
        if (!one)
            return QD_ENOMEM;
        cJSON_AddItemToArray(all, one);
    }
    return QD_OK;
}

static int describe(qd_archive *a, qd_config *cfg, const qd_space *space)
{
    cJSON *d = cJSON_Duplicate(qd_config_json(cfg), 1);
    cJSON *names;
    if (!d)
        return QD_ENOMEM;
    cJSON_DeleteItemFromObjectCaseSensitive(d, "cells");
    cJSON_DeleteItemFromObjectCaseSensitive(d, "measure_names");
    if (!cJSON_AddNumberToObject(d, "cells", (double)a->cells))
        goto fail;
    if (!(names = cJSON_CreateStringArray((const char *const *)space->measure_names, (int)space->measures)))
        goto fail;
    cJSON_AddItemToObject(d, "measure_names", names);
    if (describe_labels(d, space))
        goto fail;
    if (a->type->describe && a->type->describe(a->state, d) != QD_OK)
        goto fail;
    a->description = d;
    return QD_OK;
fail:
    cJSON_Delete(d);
    return QD_ENOMEM;
}

int qd_archive_new(qd_config *cfg, const qd_space *space, qd_archive **out)
{
    const char *type_name = "grid";
    qd_archive *a;
    char names[256];
    long cells_check = 0;
    *out = NULL;
    if (qd_config_string(cfg, "type", &type_name))
        return QD_EINVAL;
    const qd_archive_type *type = qd_find_archive(type_name);
    if (!type) {
        qd_registry_names("archive", names, sizeof names);
        return qd_config_fail(cfg, "type", "\"%s\" is not a known archive type (known: %s)", type_name, names);
    }
    if (!(a = calloc(1, sizeof *a)))
        return qd_config_fail(cfg, NULL, "could not be built: out of memory");
    a->type = type;
    if (type->state_size && !(a->state = calloc(1, type->state_size))) {
        free(a);
        return qd_config_fail(cfg, NULL, "could not be built: out of memory");
    }
    if (read_common(a, cfg, space) || type->init(a->state, cfg, space, &a->cells))
        goto fail;
    if (qd_config_has(cfg, "cells")) { /* present in saved archives */
        if (qd_config_int(cfg, "cells", &cells_check, ">= 1"))
            goto fail;
        if ((size_t)cells_check != a->cells) {
            qd_config_fail(cfg, "cells", "is %ld but the archive has %zu cells", cells_check, a->cells);
            goto fail;
        }
    }
    qd_config_has(cfg, "measure_names"); /* informative; the space names win */
    qd_config_has(cfg, "measure_labels");
    qd_config_has(cfg, "objective_range");
    if (qd_config_check_keys(cfg))
        goto fail;
    if (!(a->slot_of_cell = malloc(a->cells * sizeof *a->slot_of_cell))) {
        qd_config_fail(cfg, NULL, "could not be built: out of memory for %zu cells", a->cells);
        goto fail;
    }
    for (size_t i = 0; i < a->cells; i++)
        a->slot_of_cell[i] = QDI_EMPTY;
    if (describe(a, cfg, space)) {
        qd_config_fail(cfg, NULL, "could not be built: out of memory");
        goto fail;
    }
    *out = a;
    return QD_OK;
fail:
    qd_archive_free(a);
    return QD_EINVAL;
}

void qd_archive_free(qd_archive *a)
{
    if (!a)
        return;
    if (a->type && a->type->fini && a->state)
        a->type->fini(a->state);
    qdi_archive_drop_text(a);
    for (size_t i = 0; i < a->filled; i++) {
        free(a->text[i]);
        free(a->meta[i]);
        free(a->lineage[i]);
    }
    free(a->state);
    free(a->slot_of_cell);
    free(a->cell_of_slot);
    free(a->objective);
    free(a->threshold);
    free(a->measures);
    free(a->x);
    free(a->text);
    free(a->meta);
    free(a->lineage);
    cJSON_Delete(a->description);
    free(a->groups);
    free(a->table);
    free(a);
}

/* Checks that a solution fits the archive; sets a->error. */
static int check_solution(qd_archive *a, const qd_solution *sol)
{
    if (!isfinite(sol->objective)) {
        qdi_set_error(a->error, sizeof a->error, "objective is %s", isnan(sol->objective) ? "NaN" : "infinite");
        return QD_EINVAL;
    }
    if (sol->m != a->m || !sol->measures) {
        qdi_set_error(a->error, sizeof a->error, "expected %zu measures, got %zu", a->m, sol->m);
        return QD_EINVAL;
    }
    for (size_t i = 0; i < a->m; i++)
        if (!isfinite(sol->measures[i])) {
            qdi_set_error(a->error, sizeof a->error, "measure %zu is %s", i,
                          isnan(sol->measures[i]) ? "NaN" : "infinite");
            return QD_EINVAL;
        }
    if (a->kind == QD_GENOME_REAL && (sol->n != a->dim || (a->dim && !sol->x))) {
        qdi_set_error(a->error, sizeof a->error, "expected a genome of %zu numbers, got %zu", a->dim, sol->n);
        return QD_EINVAL;
    }
    if (a->kind == QD_GENOME_TEXT && !sol->text) {
        qdi_set_error(a->error, sizeof a->error, "expected a text genome, got none");
        return QD_EINVAL;
    }
    return QD_OK;
}

static int dup_string(char **slot, const char *s)
{
    char *copy = NULL;
    if (!s && !*slot)
        return QD_OK; /* the common case of benchmark genomes: nothing to do */
    if (s && !(copy = strdup(s)))
        return QD_ENOMEM;
    free(*slot);
    *slot = copy;
    return QD_OK;
}

/* Copies a meta or lineage JSON text in the compact form archive.json gives
 * back on load (load_json.c: a string as its contents, anything else as
 * cJSON prints it), so a loaded archive holds the same text as the run
 * that saved it and re-exports the same CSV. Text that is not JSON is kept
 * as is. */
static int dup_json(char **slot, const char *json)
{
    if (!json)
        return dup_string(slot, NULL);
    cJSON *v = cJSON_ParseWithOpts(json, NULL, 1);
    char *compact;
    int rc;
    if (!v)
        return dup_string(slot, json);
    if (cJSON_IsString(v)) {
        rc = dup_string(slot, v->valuestring);
        cJSON_Delete(v);
        return rc;
    }
    compact = cJSON_PrintUnformatted(v);
    cJSON_Delete(v);
    if (!compact)
        return QD_ENOMEM;
    free(*slot);
    *slot = compact;
    return QD_OK;
}

/* Writes a solution into a slot (the slot exists). */
static int store(qd_archive *a, size_t slot, const qd_solution *sol)
{
    a->changes++;
    a->objective[slot] = sol->objective;
    memcpy(a->measures + slot * a->m, sol->measures, a->m * sizeof *a->measures);
    if (a->kind == QD_GENOME_REAL && a->dim)
        memcpy(a->x + slot * a->dim, sol->x, a->dim * sizeof *a->x);
    if (dup_string(&a->text[slot], a->kind == QD_GENOME_TEXT ? sol->text : NULL) ||
        dup_json(&a->meta[slot], sol->meta) || dup_json(&a->lineage[slot], sol->lineage)) {
        qdi_set_error(a->error, sizeof a->error, "out of memory");
        return QD_ENOMEM;
    }
    return QD_OK;
}

static int new_slot(qd_archive *a, size_t cell, size_t *slot)
{
    if (a->filled == a->cap && grow(a) != QD_OK) {
        qdi_set_error(a->error, sizeof a->error, "out of memory");
        return QD_ENOMEM;
    }
    *slot = a->filled++;
    a->cell_of_slot[*slot] = cell;
    a->slot_of_cell[cell] = *slot;
    return QD_OK;
}

/* Status and value of a solution against a cell's state before any update
 * (pyribs' rules): it can enter when f > t, t being threshold_min for an
 * empty cell; value = f - t, measured from 0 for an empty cell when
 * threshold_min is -inf (CMA-ME). */
static int judge(const qd_archive *a, size_t slot, double f, qd_add_result *res, double *t)
{
    int empty = slot == QDI_EMPTY;
    *t = empty ? a->threshold_min : a->threshold[slot];
    res->value = f - (empty && isinf(*t) ? 0.0 : *t);
    res->status = !(f > *t) ? QD_NOT_ADDED : (empty ? QD_NEW : QD_IMPROVE);
    return res->status != QD_NOT_ADDED;
}

/* Puts sol into cell (creating its slot) with threshold t_new. */
static int place(qd_archive *a, size_t cell, const qd_solution *sol, double t_new)
{
    size_t slot = a->slot_of_cell[cell];
    int rc;
    if (slot == QDI_EMPTY) {
        if ((rc = new_slot(a, cell, &slot)))
            return rc;
        a->text[slot] = a->meta[slot] = a->lineage[slot] = NULL;
    }
    a->threshold[slot] = t_new;
    return store(a, slot, sol);
}

int qd_archive_add(qd_archive *a, const qd_solution *sol, qd_add_result *res)
{
    double t, f = sol->objective;
    int rc;
    res->status = QD_NOT_ADDED;
    res->value = 0;
    res->cell = 0;
    if ((rc = check_solution(a, sol)))
        return rc;
    res->cell = a->type->find(a->state, sol->measures);
    if (!judge(a, a->slot_of_cell[res->cell], f, res, &t))
        return QD_OK;
    /* CMA-MAE: t <- (1 - a) t + a f; the plain archive keeps t = f */
    return place(a, res->cell, sol, isinf(t) ? f : (1.0 - a->learning_rate) * t + a->learning_rate * f);
}

/* Grows the batch scratch: groups for n solutions and a hash table of at
 * least 2n slots (a power of two) from cell to group. */
static int batch_scratch(qd_archive *a, size_t n)
{
    size_t cap = 16;
    while (cap < 2 * n)
        cap *= 2;
    if (n > a->group_cap) {
        qdi_batch_group *g = realloc(a->groups, n * sizeof *g);
        if (!g)
            return QD_ENOMEM;
        a->groups = g;
        a->group_cap = n;
    }
    if (cap > a->table_cap) {
        size_t *t = realloc(a->table, cap * sizeof *t);
        if (!t)
            return QD_ENOMEM;
        a->table = t;
        a->table_cap = cap;
    }
    memset(a->table, 0, cap * sizeof *a->table);
    a->table_mask = cap - 1;
    return QD_OK;
}

/* The group of a cell in this batch, created on first sight. */
static qdi_batch_group *group_of(qd_archive *a, size_t cell, size_t *ngroups)
{
    size_t h = (size_t)(((uint64_t)cell * 0x9e3779b97f4a7c15ULL) >> 17) & a->table_mask;
    while (a->table[h]) {
        qdi_batch_group *g = &a->groups[a->table[h] - 1];
        if (g->cell == cell)
            return g;
        h = (h + 1) & a->table_mask;
    }
    a->table[h] = ++*ngroups;
    qdi_batch_group *g = &a->groups[*ngroups - 1];
    g->cell = cell;
    g->count = 0;
    g->sum = 0;
    g->best = SIZE_MAX;
    return g;
}

int qd_archive_add_batch(qd_archive *a, const qd_solution *const *sols, size_t n, qd_add_result *res)
{
    size_t ngroups = 0;
    int rc = QD_OK;
    for (size_t i = 0; i < n; i++) {
        if ((rc = check_solution(a, sols[i]))) {
            char why[sizeof a->error];
            memcpy(why, a->error, sizeof why);
            qdi_set_error(a->error, sizeof a->error, "solution %zu: %s", i, why);
            return rc;
        }
    }
    if (n == 0)
        return QD_OK;
    if (batch_scratch(a, n)) {
        qdi_set_error(a->error, sizeof a->error, "out of memory");
        return QD_ENOMEM;
    }
    /* every solution is judged against the archive as it was before the
     * batch; those that can enter are grouped by cell (in order of first
     * appearance, so the result does not depend on hashing) */
    for (size_t i = 0; i < n; i++) {
        double t, f = sols[i]->objective;
        res[i].cell = a->type->find(a->state, sols[i]->measures);
        if (!judge(a, a->slot_of_cell[res[i].cell], f, &res[i], &t))
            continue;
        qdi_batch_group *g = group_of(a, res[i].cell, &ngroups);
        g->count++;
        g->sum += f;
        if (g->best == SIZE_MAX || f > sols[g->best]->objective)
            g->best = i; /* the first of equal maxima stays */
    }
    for (size_t k = 0; k < ngroups && rc == QD_OK; k++) {
        const qdi_batch_group *g = &a->groups[k];
        size_t slot = a->slot_of_cell[g->cell];
        double t = slot == QDI_EMPTY ? a->threshold_min : a->threshold[slot];
        double f = sols[g->best]->objective;
        /* the batch update of the CMA-MAE paper as pyribs applies it:
         * t <- (1-a)^k t + (1 - (1-a)^k) mean(f) over the k entrants.
         * With a = 1 that would be the entrants' mean, below the new
         * elite's objective, and a later, worse solution could replace
         * it; so a = 1 keeps t = the elite's objective, as pyribs does
         * for threshold_min = -inf and as CMA-ME needs (pyribs would use
         * the mean for a = 1 with a finite threshold_min). */
        double ratio = g->count == 1 ? 1.0 - a->learning_rate : pow(1.0 - a->learning_rate, (double)g->count);
        double t_new = isinf(t) || a->learning_rate >= 1.0 ? f : ratio * t + (1.0 - ratio) * g->sum / (double)g->count;
        rc = place(a, g->cell, sols[g->best], t_new);
    }
    return rc;
}

int qdi_archive_restore(qd_archive *a, size_t cell, const qd_solution *sol, double threshold)
{
    size_t slot;
    int rc;
    if ((rc = check_solution(a, sol)))
        return rc;
    if (cell >= a->cells) {
        qdi_set_error(a->error, sizeof a->error, "cell %zu is outside the archive (%zu cells)", cell, a->cells);
        return QD_EINVAL;
    }
    if (a->slot_of_cell[cell] != QDI_EMPTY) {
        qdi_set_error(a->error, sizeof a->error, "cell %zu holds two elites", cell);
        return QD_EINVAL;
    }
    if ((rc = new_slot(a, cell, &slot)))
        return rc;
    a->text[slot] = a->meta[slot] = a->lineage[slot] = NULL;
    a->threshold[slot] = threshold;
    return store(a, slot, sol);
}

int qd_archive_find(const qd_archive *a, const double *measures, size_t *cell)
{
    for (size_t i = 0; i < a->m; i++)
        if (isnan(measures[i]))
            return QD_EINVAL;
    *cell = a->type->find(a->state, measures);
    return QD_OK;
}

int qd_archive_sample(const qd_archive *a, gsl_rng *rng, size_t *cell)
{
    if (a->filled == 0)
        return QD_ENOTFOUND;
    *cell = a->cell_of_slot[gsl_rng_uniform_int(rng, a->filled)];
    return QD_OK;
}

const double *qdi_archive_sample_x(const qd_archive *a, gsl_rng *rng)
{
    if (a->filled == 0 || a->kind != QD_GENOME_REAL)
        return NULL;
    return a->x + gsl_rng_uniform_int(rng, a->filled) * a->dim;
}

static void fill_elite(const qd_archive *a, size_t slot, qd_elite *e)
{
    e->cell = a->cell_of_slot[slot];
    e->x = a->kind == QD_GENOME_REAL ? a->x + slot * a->dim : NULL;
    e->n = a->kind == QD_GENOME_REAL ? a->dim : 0;
    e->text = a->text[slot];
    e->objective = a->objective[slot];
    e->threshold = a->threshold[slot];
    e->measures = a->measures + slot * a->m;
    e->m = a->m;
    e->meta = a->meta[slot];
    e->lineage = a->lineage[slot];
}

int qd_archive_elite(const qd_archive *a, size_t cell, qd_elite *out)
{
    if (cell >= a->cells || a->slot_of_cell[cell] == QDI_EMPTY)
        return QD_ENOTFOUND;
    fill_elite(a, a->slot_of_cell[cell], out);
    return QD_OK;
}

int qd_archive_elite_at(const qd_archive *a, size_t i, qd_elite *out)
{
    if (i >= a->filled)
        return QD_ENOTFOUND;
    fill_elite(a, i, out);
    return QD_OK;
}

size_t qd_archive_cells(const qd_archive *a) { return a->cells; }
size_t qd_archive_filled(const qd_archive *a) { return a->filled; }
size_t qd_archive_measure_dim(const qd_archive *a) { return a->m; }
qd_genome_kind qd_archive_genome_kind(const qd_archive *a) { return a->kind; }
size_t qd_archive_solution_dim(const qd_archive *a) { return a->dim; }
double qd_archive_qd_score_offset(const qd_archive *a) { return a->offset; }
double qd_archive_learning_rate(const qd_archive *a) { return a->learning_rate; }
const char *qd_archive_error(const qd_archive *a) { return a->error; }
const cJSON *qd_archive_description(const qd_archive *a) { return a->description; }

double qd_archive_threshold(const qd_archive *a, size_t cell)
{
    if (cell < a->cells && a->slot_of_cell[cell] != QDI_EMPTY)
        return a->threshold[a->slot_of_cell[cell]];
    return a->threshold_min;
}

int qd_archive_coords(const qd_archive *a, size_t cell, size_t *coords)
{
    if (!a->type->coords || cell >= a->cells)
        return QD_ENOTFOUND;
    a->type->coords(a->state, cell, coords);
    return QD_OK;
}

void qd_archive_stats_get(const qd_archive *a, qd_archive_stats *st)
{
    double sum = 0, score = 0, max = -INFINITY;
    /* insertion order: archive.json keeps it, so a loaded archive sums the
     * same numbers in the same order as the run that saved it */
    for (size_t i = 0; i < a->filled; i++) {
        sum += a->objective[i];
        score += a->objective[i] - a->offset;
        if (a->objective[i] > max)
            max = a->objective[i];
    }
    st->cells = a->cells;
    st->filled = a->filled;
    st->coverage = (double)a->filled / (double)a->cells;
    st->qd_score = score;
    st->norm_qd_score = st->qd_score / (double)a->cells;
    st->obj_max = a->filled ? max : NAN;
    st->obj_mean = a->filled ? sum / (double)a->filled : NAN;
}
