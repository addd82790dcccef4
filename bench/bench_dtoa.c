/* bench_dtoa.c - shortest round-trip printing (qdi_dtoa, src/dtoa_short.c)
 * against the path it replaced (%.15g, read back with strtod, else %.17g),
 * in nanoseconds of thread CPU time per double, best of 5 rounds over the
 * same N doubles of everyday size (genes, measures, objectives: uniform in
 * [-0.5, 0.5) times 10^-3..10^3). With "old" or "new" as the first argument
 * only that one runs once (for callgrind: instructions per double are its
 * Ir over N).
 *
 *   bench/bench_dtoa [old|new|both [N]]
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "src/internal.h"

static double thread_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* What qdi_format_double did before src/dtoa_short.c. */
static size_t old_format(char *buf, double v)
{
    snprintf(buf, 32, "%.15g", v);
    if (strtod(buf, NULL) != v)
        snprintf(buf, 32, "%.17g", v);
    return strlen(buf);
}

static size_t new_format(char *buf, double v)
{
    return qdi_dtoa(buf, v);
}

/* Formats every value; returns the bytes written (kept, so the work is not
 * optimised away). */
static size_t run(size_t (*fmt)(char *, double), const double *v, size_t n)
{
    char buf[32];
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++)
        bytes += fmt(buf, v[i]);
    return bytes;
}

static double best_ns(size_t (*fmt)(char *, double), const double *v, size_t n, size_t *bytes)
{
    double best = INFINITY;
    for (int r = 0; r < 5; r++) {
        double t0 = thread_seconds();
        *bytes = run(fmt, v, n);
        double t = thread_seconds() - t0;
        best = t < best ? t : best;
    }
    return 1e9 * best / (double)n;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "both";
    size_t n = argc > 2 ? (size_t)atol(argv[2]) : 1000000, bytes;
    double *v = malloc(n * sizeof *v);
    uint64_t s = 42;
    if (!v)
        return 1;
    for (size_t i = 0; i < n; i++) { /* splitmix64 */
        uint64_t z = (s += 0x9e3779b97f4a7c15u);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        z ^= z >> 31;
        v[i] = ((double)(z >> 11) * 0x1p-53 - 0.5) * pow(10.0, (double)(int)(z % 7) - 3);
    }
    if (strcmp(mode, "old") == 0 || strcmp(mode, "new") == 0) {
        bytes = run(strcmp(mode, "old") == 0 ? old_format : new_format, v, n);
        printf("%s: %zu doubles, %zu bytes\n", mode, n, bytes);
    } else {
        size_t old_bytes, new_bytes;
        double o = best_ns(old_format, v, n, &old_bytes), w = best_ns(new_format, v, n, &new_bytes);
        printf("%zu doubles: old %%.15g/strtod/%%.17g %.1f ns each (%.2f bytes), qdi_dtoa %.1f ns each (%.2f bytes): "
               "%.1fx\n",
               n, o, (double)old_bytes / (double)n, w, (double)new_bytes / (double)n, o / w);
    }
    free(v);
    return 0;
}
