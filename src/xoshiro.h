/* xoshiro.h - the xoshiro256++ step and splitmix64 seeding, inline for the
 * files that draw from a stream's state directly (xoshiro.c, ziggurat.c).
 * xoshiro256++ (Blackman & Vigna 2018, "Scrambled linear pseudorandom
 * number generators"): 256 bits of state, period 2^256 - 1, 64-bit output
 * rotl(s0 + s3, 23) + s0. splitmix64 (Steele, Lea & Flood 2014) fills the
 * four words from one 64-bit seed, so seeding a stream costs a few ns. */
#ifndef QD_XOSHIRO_H
#define QD_XOSHIRO_H

#include <stdint.h>

static inline uint64_t qdi_rotl64(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* Advances the state and returns the next 64-bit output. */
static inline uint64_t qdi_xoshiro_next(uint64_t s[4])
{
    uint64_t out = qdi_rotl64(s[0] + s[3], 23) + s[0];
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = qdi_rotl64(s[3], 45);
    return out;
}

/* Fills the state with four consecutive splitmix64 outputs from seed. The
 * outputs of splitmix64 are a bijection of its counter, so at most one of
 * the four words is zero and the state is never all zero. */
static inline void qdi_xoshiro_seed(uint64_t s[4], uint64_t seed)
{
    for (int k = 0; k < 4; k++) {
        uint64_t z = (seed += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        s[k] = z ^ (z >> 31);
    }
}

/* A double uniform in [0, 1) from the top 53 bits of the next output. */
static inline double qdi_xoshiro_uniform(uint64_t s[4])
{
    return (double)(qdi_xoshiro_next(s) >> 11) * 0x1.0p-53;
}

#endif
