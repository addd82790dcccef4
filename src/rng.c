/* rng.c - the run's generator and seeding. Every random stream of a run
 * (each mutator's, each job's) is derived from the run seed and a stream
 * number with splitmix64, so a stream does not depend on how many others
 * exist or which thread uses it. The run's "rng" key picks the generator:
 * xoshiro256++ (xoshiro.c, the default), whose 32-byte state makes seeding
 * a job's stream nearly free (every mutating job seeds one), or GSL's
 * MT19937, whose 2.5 KB state costs microseconds per job. */
#include "internal.h"
#include "xoshiro.h"

uint64_t qdi_seed_mix(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void qdi_rng_seed(gsl_rng *rng, uint64_t seed)
{
    if (rng->type == qd_rng_xoshiro256pp) {
        qdi_xoshiro_seed(rng->state, seed);
        return;
    }
    unsigned long s = (unsigned long)(seed ^ (seed >> 32));
    /* mt19937 treats seed 0 as its default seed 4357; keep streams distinct. */
    gsl_rng_set(rng, s ? s : 0x5eed);
}

int qdi_rng_read(qd_config *cfg, const gsl_rng_type **type)
{
    static const char *const names[] = {"mt19937", "xoshiro256++", NULL};
    int i = 1; /* xoshiro256++ */
    if (qd_config_choice(cfg, "rng", names, &i))
        return QD_EINVAL;
    *type = i == 1 ? qd_rng_xoshiro256pp : gsl_rng_mt19937;
    return QD_OK;
}

void qd_rng_pick_distinct(const gsl_rng *rng, size_t n, size_t k, size_t *out)
{
    for (size_t r = 0; r < k && r < n; r++) {
        int again;
        do {
            out[r] = gsl_rng_uniform_int(rng, n);
            again = 0;
            for (size_t j = 0; j < r; j++)
                again |= out[j] == out[r];
        } while (again);
    }
}
