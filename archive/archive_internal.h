/* archive_internal.h - the archive struct, shared by the generic archive and
 * its load/save code. */
#ifndef ELITES_ARCHIVE_INTERNAL_H
#define ELITES_ARCHIVE_INTERNAL_H

#include "src/internal.h"

#define QDI_EMPTY SIZE_MAX

/* The entrants of one cell in a batch add. */
typedef struct qdi_batch_group {
    size_t cell, best, count;
    double sum;
} qdi_batch_group;

struct qd_archive {
    const qd_archive_type *type;
    void *state;
    qd_genome_kind kind;
    size_t dim, m, cells;
    double offset, learning_rate, threshold_min;
    size_t *slot_of_cell; /* cells entries; QDI_EMPTY when empty */
    size_t filled, cap;   /* slots in use / allocated */
    size_t *cell_of_slot;
    double *objective, *threshold, *measures, *x;
    char **text, **meta, **lineage;
    cJSON *description;
    qdi_batch_group *groups; /* batch add scratch */
    size_t group_cap;
    size_t *table, table_cap, table_mask;
    char error[256];
    unsigned long long changes; /* elites stored so far (the text cache's clock) */
    struct qdi_elite_text_cache *text_cache; /* elite_text.c */
    size_t threads; /* how many its writers may use (qdi_archive_set_threads) */
    int text_frozen; /* no writer may build or drop the text (qdi_archive_freeze_text) */
};

/* elite_text.c: one elite's numbers as text (qdi_dtoa), each group with
 * its numbers comma-separated: group[0] the objective, [1] the threshold
 * (empty unless learning_rate < 1), [2] the measures, [3] the genome (empty
 * for text genomes); len[i] bytes each, not NUL-terminated. The text of
 * the whole archive is formatted once per state and kept in the archive
 * for the next writer (the JSON and CSV writers of one save point share
 * it). Not safe against another thread saving the same archive at once. */
typedef struct qdi_elite_text {
    const qd_archive *a;
    struct qdi_elite_text_cache *cache;
    char *scratch;
    const char *group[4];
    size_t len[4];
    unsigned char quoted; /* a non-finite number is in, as a JSON string ("nan") */
} qdi_elite_text;
/* Starts reading a's elites' text (formatting it if the archive changed
 * since it last was); QD_ENOMEM when even one elite's buffer is lacking. */
int qdi_elite_text_open(qdi_elite_text *t, const qd_archive *a);
/* Points t->group / t->len at the text of the elite in slot. */
void qdi_elite_text_slot(qdi_elite_text *t, size_t slot);
void qdi_elite_text_close(qdi_elite_text *t);
/* The most text an archive keeps (bytes; 256 MB): bigger archives' writers
 * format each elite as they go. */
extern size_t qdi_elite_text_max;

/* axes.c: a measure's name (NULL when absent), its number of categories (0:
 * not categorical), the category holding a value (NULL if none), the names
 * of its low and high ends (1 when it has them), and the objective's range
 * when the evaluator declares one (1 when it does). All point into the
 * archive's description. */
const char *qdi_axis_name(const qd_archive *a, size_t k);
size_t qdi_axis_categories(const qd_archive *a, size_t k);
const char *qdi_axis_category(const qd_archive *a, size_t k, double value);
int qdi_axis_ends(const qd_archive *a, size_t k, const char **low, const char **high);
int qdi_objective_range(const qd_archive *a, double *lo, double *hi);

/* Cells an archive may have unless its config's max_cells says more (each
 * cell takes the objective, measures, genome and a threshold: 10 million
 * cells of a 20-D genome are about 2 GB). */
#define QDI_DEFAULT_MAX_CELLS 10000000L
/* k-means samples a CVT may draw unless max_samples says more. */
#define QDI_DEFAULT_MAX_SAMPLES 10000000L

#endif
