/* registry.c - plug-in types by name. One NULL-terminated table of built-ins
 * per role (as GSL's rng/types.c), plus the types library users register
 * before they build a search. Adding a built-in = one line here. */
#include <stdio.h>
#include <string.h>
#include "internal.h"

#define MAX_USER_TYPES 64

static const qd_archive_type *const builtin_archives[] = {
    &qdi_archive_grid,
    &qdi_archive_cvt,
    NULL,
};

static const qd_mutator_type *const builtin_mutators[] = {
    &qdi_mutator_gaussian,
    &qdi_mutator_isoline,
    &qdi_mutator_cmaes,
    &qdi_mutator_llm,
    &qdi_mutator_network,
    &qdi_mutator_llmatic,
    NULL,
};

static const qd_evaluator_type *const builtin_evaluators[] = {
    &qdi_evaluator_sphere,
    &qdi_evaluator_rastrigin,
    &qdi_evaluator_arm,
    &qdi_evaluator_qdhf,
    &qdi_evaluator_ai_feedback,
    &qdi_evaluator_command,
    &qdi_evaluator_nas,
    NULL,
};

static const qd_archive_type *user_archives[MAX_USER_TYPES];
static const qd_mutator_type *user_mutators[MAX_USER_TYPES];
static const qd_evaluator_type *user_evaluators[MAX_USER_TYPES];
static size_t n_user_archives, n_user_mutators, n_user_evaluators;

/* The lookups are the same for every role: a macro keeps them one. */
#define DEFINE_ROLE(role, type_t, builtins, users, n_users)                     \
    const type_t *qd_find_##role(const char *name)                              \
    {                                                                           \
        if (!name)                                                              \
            return NULL;                                                        \
        for (size_t i = 0; builtins[i]; i++)                                    \
            if (strcmp(builtins[i]->name, name) == 0)                           \
                return builtins[i];                                             \
        for (size_t i = 0; i < n_users; i++)                                    \
            if (strcmp(users[i]->name, name) == 0)                              \
                return users[i];                                                \
        return NULL;                                                            \
    }                                                                           \
    int qd_register_##role(const type_t *t)                                     \
    {                                                                           \
        if (!t || !t->name || !*t->name)                                        \
            return QD_EINVAL;                                                   \
        if (qd_find_##role(t->name))                                            \
            return QD_EEXIST;                                                   \
        if (n_users == MAX_USER_TYPES)                                          \
            return QD_ENOMEM;                                                   \
        users[n_users++] = t;                                                   \
        return QD_OK;                                                           \
    }                                                                           \
    static void names_##role(char *buf, size_t len)                             \
    {                                                                           \
        size_t n = 0;                                                           \
        buf[0] = '\0';                                                          \
        for (size_t i = 0; builtins[i] && n < len; i++)                         \
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",      \
                                  builtins[i]->name);                           \
        for (size_t i = 0; i < n_users && n < len; i++)                         \
            n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "",      \
                                  users[i]->name);                              \
    }

DEFINE_ROLE(archive, qd_archive_type, builtin_archives, user_archives, n_user_archives)
DEFINE_ROLE(mutator, qd_mutator_type, builtin_mutators, user_mutators, n_user_mutators)
DEFINE_ROLE(evaluator, qd_evaluator_type, builtin_evaluators, user_evaluators, n_user_evaluators)

void qd_registry_names(const char *role, char *buf, size_t len)
{
    if (!buf || !len)
        return;
    if (strcmp(role, "archive") == 0)
        names_archive(buf, len);
    else if (strcmp(role, "mutator") == 0)
        names_mutator(buf, len);
    else if (strcmp(role, "evaluator") == 0)
        names_evaluator(buf, len);
    else
        buf[0] = '\0';
}
