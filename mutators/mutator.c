/* mutator.c - the generic mutator wrapper: picks the type named by the
 * config, allocates its state, gives it its own RNG stream (derived from the
 * run seed and the mutator's index) and unwinds on failure. */
#include <stdarg.h>
#include <stdlib.h>
#include "src/internal.h"

int qd_mutator_new(qd_config *cfg, const qd_space *space, size_t index, uint64_t seed, qd_mutator **out)
{
    return qdi_mutator_new(cfg, space, index, seed, NULL, NULL, out);
}

int qdi_mutator_new(qd_config *cfg, const qd_space *space, size_t index, uint64_t seed, qd_llm *llm,
                    const gsl_rng_type *rng_type, qd_mutator **out)
{
    const char *name = NULL;
    const qd_mutator_type *type;
    qd_mutator *m;
    char names[256];
    *out = NULL;
    if (qd_config_require(cfg, "type") || qd_config_string(cfg, "type", &name))
        return QD_EINVAL;
    if (!(type = qd_find_mutator(name))) {
        qd_registry_names("mutator", names, sizeof names);
        return qd_config_fail(cfg, "type", "\"%s\" is not a known mutator (known: %s)", name, names);
    }
    if (!(m = calloc(1, sizeof *m)))
        return qd_config_fail(cfg, NULL, "could not be built: out of memory");
    m->type = type;
    m->space = space;
    m->index = index;
    m->batch = 1;
    m->llm = llm;
    if ((type->state_size && !(m->state = calloc(1, type->state_size))) || !(m->rng = gsl_rng_alloc(rng_type ? rng_type : gsl_rng_mt19937))) {
        qd_mutator_free(m);
        return qd_config_fail(cfg, NULL, "could not be built: out of memory");
    }
    /* stream 2^32 + index: separate from job streams (numbered from 0) */
    qdi_rng_seed(m->rng, qdi_seed_mix(seed, ((uint64_t)1 << 32) + index));
    if (type->init(m, cfg, space) != QD_OK || qd_config_check_keys(cfg) != QD_OK) {
        if (!*qd_config_error(cfg))
            qd_config_fail(cfg, NULL, "%s", m->error[0] ? m->error : "could not be set up");
        qd_mutator_free(m);
        return QD_EINVAL;
    }
    *out = m;
    return QD_OK;
}

void qd_mutator_free(qd_mutator *m)
{
    if (!m)
        return;
    if (m->type && m->type->fini && m->state)
        m->type->fini(m);
    free(m->state);
    if (m->rng)
        gsl_rng_free(m->rng);
    free(m);
}

int qd_mutator_fail(qd_mutator *m, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qdi_vset_error(m->error, sizeof m->error, fmt, ap);
    va_end(ap);
    return code;
}
