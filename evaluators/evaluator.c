/* evaluator.c - the generic evaluator wrapper: picks the type named by the
 * config, allocates its state, lets it declare the search space and checks
 * that the space is usable. */
#include <stdlib.h>
#include "src/internal.h"

int qd_evaluator_new(qd_config *cfg, qd_evaluator **out)
{
    return qdi_evaluator_new(cfg, NULL, 1, out);
}

int qd_evaluator_new_llm(qd_config *cfg, qd_llm *llm, uint64_t seed, qd_evaluator **out)
{
    return qdi_evaluator_new(cfg, llm, seed, out);
}

int qdi_evaluator_new(qd_config *cfg, qd_llm *llm, uint64_t seed, qd_evaluator **out)
{
    const char *name = NULL;
    const qd_evaluator_type *type;
    qd_evaluator *ev;
    char names[256];
    *out = NULL;
    if (qd_config_require(cfg, "type") || qd_config_string(cfg, "type", &name))
        return QD_EINVAL;
    if (!(type = qd_find_evaluator(name))) {
        qd_registry_names("evaluator", names, sizeof names);
        return qd_config_fail(cfg, "type", "\"%s\" is not a known evaluator (known: %s)", name, names);
    }
    if (!(ev = calloc(1, sizeof *ev)))
        return qd_config_fail(cfg, NULL, "could not be built: out of memory");
    ev->type = type;
    ev->llm = llm;
    ev->seed = seed;
    if (type->state_size && !(ev->state = calloc(1, type->state_size))) {
        free(ev);
        return qd_config_fail(cfg, NULL, "could not be built: out of memory");
    }
    if (type->init(ev, cfg) != QD_OK || qd_config_check_keys(cfg) != QD_OK) {
        if (!*qd_config_error(cfg))
            qd_config_fail(cfg, NULL, "%s", ev->error[0] ? ev->error : "could not be set up");
        qd_evaluator_free(ev);
        return QD_EINVAL;
    }
    if (ev->space.measures == 0) {
        qd_config_fail(cfg, "type", "\"%s\" declared no measures", name);
        qd_evaluator_free(ev);
        return QD_EINVAL;
    }
    *out = ev;
    return QD_OK;
}

void qd_evaluator_free(qd_evaluator *ev)
{
    if (!ev)
        return;
    if (ev->type && ev->type->fini && ev->state)
        ev->type->fini(ev);
    qd_space_free(&ev->space);
    free(ev->state);
    free(ev);
}
