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
};

#endif
