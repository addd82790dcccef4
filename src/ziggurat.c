/* ziggurat.c - standard normal draws by the ziggurat method (Marsaglia &
 * Tsang 2000, "The Ziggurat Method for Generating Random Variables"), over
 * a xoshiro256++ stream's state.
 *
 * The density f(x) = exp(-x^2/2) on x >= 0 is covered by 128 layers of equal
 * area v: layer 0 is the base strip [0, r] x [0, f(r)] together with the
 * tail beyond r, layer i >= 1 is [0, x_i] x [f(x_i), f(x_{i+1})], and
 * x_1 = r > x_2 > ... > x_128 = 0. One 64-bit draw picks the layer (7 bits),
 * the sign (1 bit) and a point z = U x_i in it (53 bits); z < x_{i+1} lies
 * under the curve whatever the height, which is the case 98.8% of the time.
 * Otherwise layer 0 samples the tail (Marsaglia 1964) and the others test
 * a uniform height against f(z). r and v are solved for at load time (they
 * come out as the paper's r = 3.442619855899, v = 9.91256303526217e-3;
 * tests/test_rng.c checks both). */
#include <math.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "internal.h"
#include "xoshiro.h"

#define LAYERS 128

static struct {
    double r, v;
    double w[LAYERS];     /* x_i / 2^53: the width of one step of the 53-bit U */
    uint64_t k[LAYERS];   /* 2^53 x_{i+1} / x_i: U below it is always accepted */
    double f[LAYERS + 1]; /* f(x_i), f(x_128) = f(0) = 1 */
} zig;

static double density(double x)
{
    return exp(-0.5 * x * x);
}

/* Area of one layer when the base strip ends at r: the strip plus the tail. */
static double layer_area(double r)
{
    return r * density(r) + sqrt(M_PI / 2) * erfc(r / M_SQRT2);
}

/* Builds the layers up from r; returns how far the top layer's area misses
 * v (> 0: the layers reach the top too soon, so r is too small). */
static double build(double r, double *x)
{
    double v = layer_area(r);
    x[0] = v / density(r);
    x[1] = r;
    for (int i = 1; i < LAYERS - 1; i++) {
        double h = density(x[i]) + v / x[i];
        if (h >= 1)
            return 1;
        x[i + 1] = sqrt(-2 * log(h));
    }
    x[LAYERS] = 0;
    return density(x[LAYERS - 1]) + v / x[LAYERS - 1] - 1;
}

__attribute__((constructor)) static void zig_init(void)
{
    double x[LAYERS + 1], lo = 2, hi = 5;
    for (int it = 0; it < 200 && hi - lo > 1e-15; it++) {
        double mid = 0.5 * (lo + hi);
        if (build(mid, x) > 0)
            lo = mid;
        else
            hi = mid;
    }
    build(hi, x);
    zig.r = hi;
    zig.v = layer_area(hi);
    for (int i = 0; i < LAYERS; i++) {
        zig.w[i] = x[i] * 0x1.0p-53;
        zig.k[i] = (uint64_t)(x[i + 1] / x[i] * 0x1.0p53);
        zig.f[i] = density(x[i]);
    }
    zig.f[LAYERS] = 1;
}

/* The tail beyond r: x = r + a with a ~ Exp(r) accepted with probability
 * exp(-a^2/2), by the test 2b > a^2 with b ~ Exp(1). */
static double tail(uint64_t s[4])
{
    double a, b;
    do {
        a = -log(1 - qdi_xoshiro_uniform(s)) / zig.r; /* 1 - U in (0, 1] */
        b = -log(1 - qdi_xoshiro_uniform(s));
    } while (b + b < a * a);
    return zig.r + a;
}

/* z with the sign bit of u (bit 7) on it, without a branch. */
static double with_sign(double z, uint64_t u)
{
    uint64_t bits;
    memcpy(&bits, &z, sizeof bits);
    bits ^= (u & 0x80) << 56;
    memcpy(&z, &bits, sizeof z);
    return z;
}

/* The rare part of a draw (1.2%): the tail or the wedge test of layer i
 * for the point z of the draw u; NAN when the point is rejected. */
__attribute__((noinline)) static double slow_path(uint64_t s[4], uint64_t u, unsigned i, double z)
{
    if (i == 0)
        return with_sign(tail(s), u);
    if (zig.f[i] + qdi_xoshiro_uniform(s) * (zig.f[i + 1] - zig.f[i]) < density(z))
        return with_sign(z, u);
    return NAN;
}

static inline double draw(uint64_t s[4])
{
    for (;;) {
        uint64_t u = qdi_xoshiro_next(s);
        unsigned i = (unsigned)(u & (LAYERS - 1));
        uint64_t j = u >> 11;
        double z = (double)j * zig.w[i];
        if (__builtin_expect(j < zig.k[i], 1))
            return with_sign(z, u);
        z = slow_path(s, u, i, z);
        if (!isnan(z))
            return z;
    }
}

double qdi_ziggurat(uint64_t s[4])
{
    return draw(s);
}

void qdi_ziggurat_constants(double *r, double *v)
{
    *r = zig.r;
    *v = zig.v;
}

void qd_ran_gaussian_fill(const gsl_rng *rng, double sigma, double *out, size_t n)
{
    uint64_t s[4];
    if (rng->type != qd_rng_xoshiro256pp) {
        for (size_t i = 0; i < n; i++)
            out[i] = gsl_ran_gaussian_ziggurat(rng, sigma);
        return;
    }
    memcpy(s, rng->state, sizeof s); /* in registers for the loop */
    for (size_t i = 0; i < n; i++)
        out[i] = sigma * draw(s);
    memcpy(rng->state, s, sizeof s);
}

double qd_ran_gaussian(const gsl_rng *rng, double sigma)
{
    if (rng->type == qd_rng_xoshiro256pp)
        return sigma * qdi_ziggurat(rng->state);
    return gsl_ran_gaussian_ziggurat(rng, sigma);
}
