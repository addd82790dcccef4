/* archive_internal.h - the archive struct, shared by the generic archive and
 * its load/save code. */
#ifndef ELITES_ARCHIVE_INTERNAL_H
#define ELITES_ARCHIVE_INTERNAL_H

#include "src/internal.h"

#define QDI_EMPTY SIZE_MAX

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
    char error[256];
};

#endif
