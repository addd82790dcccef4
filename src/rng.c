/* rng.c - seeding. Every random stream of a run (each mutator's, each job's)
 * is derived from the run seed and a stream number with splitmix64, so a
 * stream does not depend on how many others exist or which thread uses it. */
#include "internal.h"

uint64_t qdi_seed_mix(uint64_t seed, uint64_t stream)
{
    uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void qdi_rng_seed(gsl_rng *rng, uint64_t seed)
{
    unsigned long s = (unsigned long)(seed ^ (seed >> 32));
    /* mt19937 treats seed 0 as its default seed 4357; keep streams distinct. */
    gsl_rng_set(rng, s ? s : 0x5eed);
}
