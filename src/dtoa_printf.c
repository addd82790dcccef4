/* dtoa_printf.c - printf's "%.Pg" and "%.Pf" without printf, from the
 * shortest round-trip digits of src/dtoa_short.c. The heatmap writes a
 * title and four coordinates per cell: through printf that was ~20,000
 * instructions per elite, most of the Quick-start job's save.
 *
 * Why rounding the shortest digits gives printf's answer when the output
 * has at most 14 significant digits: let D be the shortest decimal that
 * reads back as v, and x the exact value of v that printf rounds. D lies in
 * v's rounding interval, within 2^-53 |x| of x. (1) If D has no more digits
 * than the output, D is on the output grid, whose spacing is at least
 * 10^-14 |x|, and x is far closer to D than half of that: x rounds to D.
 * (2) Otherwise D and x round alike unless a midpoint M of the output grid
 * lies between them; M has at most 15 significant digits and would be in
 * v's rounding interval, which holds at most one decimal of 15 digits or
 * fewer (DBL_DIG): so M would be D itself. The one doubtful case is thus D
 * exactly a midpoint (its dropped digits "5"), where x may lie on either
 * side. That case, longer outputs (printf then shows the binary value's
 * own digits: "%.17g" of 1e-05 is 1.0000000000000001e-05), subnormals in
 * "%g" (their rounding interval is wider: 5e-324 is 4.94066e-324 at 6
 * digits) and non-finite values go to snprintf. */
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include "internal.h"

static const uint64_t pow10u[20] = {1,
                                    10,
                                    100,
                                    1000,
                                    10000,
                                    100000,
                                    1000000,
                                    10000000,
                                    100000000,
                                    1000000000,
                                    10000000000u,
                                    100000000000u,
                                    1000000000000u,
                                    10000000000000u,
                                    100000000000000u,
                                    1000000000000000u,
                                    10000000000000000u,
                                    100000000000000000u,
                                    1000000000000000000u,
                                    10000000000000000000u};

static int ndigits(uint64_t f)
{
    int n = 1;
    while (n < 20 && f >= pow10u[n])
        n++;
    return n;
}

/* Rounds f 10^e to the nearest multiple of 10^at: 0 when the dropped part
 * is exactly a half (the caller asks snprintf), else 1 with *f, *e the
 * rounded value (unchanged when at <= e). */
static int round_at(uint64_t *f, int *e, int at)
{
    int drop = at - *e;
    if (drop <= 0)
        return 1;
    if (drop > 19) { /* everything dropped, and less than half of 10^at */
        *f = 0;
        *e = at;
        return 1;
    }
    uint64_t unit = pow10u[drop], rem = *f % unit, half = unit / 2;
    if (rem == half)
        return 0;
    *f = *f / unit + (rem > half);
    *e = at;
    return 1;
}

static char *put_digits(char *p, uint64_t f, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        p[i] = (char)('0' + f % 10);
        f /= 10;
    }
    return p + n;
}

size_t qdi_format_g(char *buf, double v, int prec)
{
    uint64_t f;
    int e, n, x;
    char *p = buf;
    if (prec < 1)
        prec = 1;
    if (prec > 14 || (v != 0 && fabs(v) < DBL_MIN) || qdi_dtoa_digits(v, &f, &e) != 0)
        return (size_t)snprintf(buf, 32, "%.*g", prec, v);
    if (f) {
        n = ndigits(f);
        if (n > prec) {
            if (!round_at(&f, &e, e + n - prec))
                return (size_t)snprintf(buf, 32, "%.*g", prec, v);
            if (f == pow10u[prec]) { /* 9.99.. rounded up to 10.0.. */
                f = pow10u[prec - 1];
                e++;
            }
        }
        while (f % 10 == 0) { /* %g drops trailing zeros */
            f /= 10;
            e++;
        }
        n = ndigits(f);
    } else {
        n = 1;
    }
    if (signbit(v))
        *p++ = '-';
    x = f ? e + n - 1 : 0; /* the exponent of the first digit */
    if (x < -4 || x >= prec) {
        char d[20];
        put_digits(d, f, n);
        *p++ = d[0];
        if (n > 1) {
            *p++ = '.';
            memcpy(p, d + 1, (size_t)n - 1);
            p += n - 1;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        x = x < 0 ? -x : x;
        if (x >= 100)
            *p++ = (char)('0' + x / 100);
        *p++ = (char)('0' + x / 10 % 10);
        *p++ = (char)('0' + x % 10);
    } else if (e >= 0) { /* an integer */
        p = put_digits(p, f, n);
        for (int i = 0; i < e; i++)
            *p++ = '0';
    } else if (x >= 0) {
        char d[20];
        put_digits(d, f, n);
        memcpy(p, d, (size_t)x + 1);
        p += x + 1;
        *p++ = '.';
        memcpy(p, d + x + 1, (size_t)(n - x - 1));
        p += n - x - 1;
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = -1; i > x; i--)
            *p++ = '0';
        p = put_digits(p, f, n);
    }
    *p = '\0';
    return (size_t)(p - buf);
}

size_t qdi_format_f(char *buf, double v, int decimals)
{
    uint64_t f;
    int e, n;
    char *p = buf;
    if (decimals < 0 || decimals > 17 || qdi_dtoa_digits(v, &f, &e) != 0 ||
        fabs(v) >= 1e13 / (double)pow10u[decimals]) /* at most 14 significant digits out */
        return (size_t)snprintf(buf, QDI_FORMAT_F_MAX, "%.*f", decimals < 0 ? 0 : decimals, v);
    if (f && !round_at(&f, &e, -decimals))
        return (size_t)snprintf(buf, QDI_FORMAT_F_MAX, "%.*f", decimals, v);
    if (signbit(v))
        *p++ = '-';
    /* f 10^e with e >= -decimals: write it with exactly `decimals` places */
    if (f == 0)
        e = -decimals;
    while (e > -decimals) { /* scale to the last decimal place */
        f *= 10;
        e--;
    }
    n = ndigits(f);
    if (n <= decimals) { /* 0.0ddd */
        *p++ = '0';
        if (decimals) {
            *p++ = '.';
            for (int i = n; i < decimals; i++)
                *p++ = '0';
            p = put_digits(p, f, n);
        }
    } else {
        char d[24];
        put_digits(d, f, n);
        memcpy(p, d, (size_t)(n - decimals));
        p += n - decimals;
        if (decimals) {
            *p++ = '.';
            memcpy(p, d + n - decimals, (size_t)decimals);
            p += decimals;
        }
    }
    *p = '\0';
    return (size_t)(p - buf);
}

size_t qdi_format_a(char *buf, double v)
{
    static const char hex[] = "0123456789abcdef";
    uint64_t bits, frac;
    int exp;
    char *p = buf;
    if (!isfinite(v)) { /* printf's: "nan", "-nan", "inf", "-inf" (an empty metric is NaN on every row) */
        const char *t = isnan(v) ? (signbit(v) ? "-nan" : "nan") : v < 0 ? "-inf" : "inf";
        size_t n = strlen(t);
        memcpy(buf, t, n + 1);
        return n;
    }
    memcpy(&bits, &v, sizeof bits);
    if (bits >> 63)
        *p++ = '-';
    frac = bits & (((uint64_t)1 << 52) - 1);
    exp = (int)((bits >> 52) & 0x7ff);
    *p++ = '0';
    *p++ = 'x';
    if (exp == 0 && frac == 0) {
        memcpy(p, "0p+0", 5);
        return (size_t)(p + 4 - buf);
    }
    /* normal: 0x1.FFFp+E; subnormal: 0x0.FFFp-1022, as glibc prints them */
    *p++ = exp ? '1' : '0';
    exp = exp ? exp - 1023 : -1022;
    if (frac) {
        int n = 13;
        while ((frac & 0xf) == 0) { /* trailing zeros dropped */
            frac >>= 4;
            n--;
        }
        *p++ = '.';
        for (int i = n - 1; i >= 0; i--)
            p[i] = hex[frac & 0xf], frac >>= 4;
        p += n;
    }
    *p++ = 'p';
    *p++ = exp < 0 ? '-' : '+';
    exp = exp < 0 ? -exp : exp;
    if (exp >= 1000)
        *p++ = (char)('0' + exp / 1000);
    if (exp >= 100)
        *p++ = (char)('0' + exp / 100 % 10);
    if (exp >= 10)
        *p++ = (char)('0' + exp / 10 % 10);
    *p++ = (char)('0' + exp % 10);
    *p = '\0';
    return (size_t)(p - buf);
}
