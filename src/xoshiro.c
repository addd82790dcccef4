/* xoshiro.c - xoshiro256++ as a GSL RNG type, so every gsl_rng user
 * (archive sampling, gsl_ran_*, checkpoints through gsl_rng_state) works on
 * it unchanged. gsl_rng_get returns all 64 bits where unsigned long has
 * them (max 2^64 - 1), else the top 32. The step and the seeding are in
 * xoshiro.h. */
#include <limits.h>
#include "internal.h"
#include "xoshiro.h"

static void xoshiro_set(void *state, unsigned long seed)
{
    qdi_xoshiro_seed(state, (uint64_t)seed);
}

static unsigned long xoshiro_get(void *state)
{
#if ULONG_MAX >= 0xffffffffffffffffULL
    return (unsigned long)qdi_xoshiro_next(state);
#else
    return (unsigned long)(qdi_xoshiro_next(state) >> 32);
#endif
}

static double xoshiro_get_double(void *state)
{
    return qdi_xoshiro_uniform(state);
}

static const gsl_rng_type xoshiro256pp = {
    .name = "xoshiro256++",
    .max = ULONG_MAX,
    .min = 0,
    .size = 4 * sizeof(uint64_t),
    .set = xoshiro_set,
    .get = xoshiro_get,
    .get_double = xoshiro_get_double,
};

const gsl_rng_type *qd_rng_xoshiro256pp = &xoshiro256pp;
