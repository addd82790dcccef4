/* config_internal.h - the qd_config struct, shared by config.c (readers) and
 * config_set.c (command-line overrides). */
#ifndef ELITES_CONFIG_INTERNAL_H
#define ELITES_CONFIG_INTERNAL_H

#include "internal.h"

struct qd_config {
    struct qd_config *root; /* the root view (itself for the root) */
    cJSON *json;            /* the object this view reads */
    char *path;             /* "mutators[1]"; "" for the root */
    char **known;           /* keys some reader asked for */
    size_t nknown;
    /* root only */
    cJSON *tree;
    char *source;
    int failed;
    char error[1024];
    struct qd_config **children;
    size_t nchildren;
};

/* A short JSON rendering of a value for messages (cut to 60 characters). */
void qdi_config_show_value(const cJSON *item, char *buf, size_t len);

#endif
