/* dtoa_short.c - shortest round-trip printing of doubles: the fewest
 * significant digits that read back (strtod, round to nearest even) as the
 * same double, and among the decimals of that length the nearest to the
 * double's exact value.
 *
 * The algorithm is Schubfach (R. Giulietti, "The Schubfach way to render
 * doubles", 2020; the reference implementation is OpenJDK's
 * DoubleToDecimal). A double v = c 2^q rounds back from any decimal in its
 * rounding interval R = [(c - 1/2) 2^q, (c + 1/2) 2^q] (closed when c is even,
 * open when odd; the lower half is 1/4 when c is a power of two). With
 * k = floor(log10 2^q), R holds at most one multiple of 10^(k+1) and at least
 * one of 10^k, so the answer is that multiple of 10^(k+1) if R holds one, else
 * s = floor(v 10^-k) or s + 1, whichever is in R (the nearer if both are).
 * v 10^-k and R's ends are scaled by 4 and computed, rounded to odd, as one
 * 64 x 126-bit product with a tabled 10^-k (src/dtoa_short_table.h), which
 * is exact enough for every comparison (the paper's section 9).
 *
 * Unlike Java's Double.toString this gives the shortest digits even when
 * that is one digit (5e-324, where Java writes 4.9E-324: it keeps two). */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "internal.h"
#include "dtoa_short_table.h"

#define Q_MIN (-1074)
#define C_MIN (UINT64_C(1) << 52)
#define MASK63 ((UINT64_C(1) << 63) - 1)

/* floor(q log10 2), floor(log10(3/4 2^q)), floor(e log2 10) for the
 * exponents of doubles (the paper's section 8; constants as in OpenJDK's
 * MathUtils). */
static int flog10pow2(int q)
{
    return (int)(((int64_t)q * INT64_C(661971961083)) >> 41);
}

static int flog10_three_quarters_pow2(int q)
{
    return (int)(((int64_t)q * INT64_C(661971961083) - INT64_C(274743187321)) >> 41);
}

static int flog2pow10(int e)
{
    return (int)(((int64_t)e * INT64_C(913124641741)) >> 38);
}

/* floor(g cp 2^-127) with its lowest bit set when the product is not exact
 * (rounding to odd), g = g1 2^63 + g0. */
static uint64_t rop(uint64_t g1, uint64_t g0, uint64_t cp)
{
    __uint128_t x = (__uint128_t)g0 * cp, y = (__uint128_t)g1 * cp;
    uint64_t x1 = (uint64_t)(x >> 64), y0 = (uint64_t)y, y1 = (uint64_t)(y >> 64);
    uint64_t z = (y0 >> 1) + x1;
    return (y1 + (z >> 63)) | (((z & MASK63) + MASK63) >> 63);
}

/* The shortest decimal f 10^e of c 2^q (c > 0), f possibly with trailing
 * zeros. */
static void to_decimal(int q, uint64_t c, uint64_t *f, int *e)
{
    uint64_t out = c & 1, cb = c << 2, cbr = cb + 2, cbl, vb, vbl, vbr, s, t, sp10, tp10;
    const uint64_t *g;
    int k, h, uin, win;
    if (c != C_MIN || q == Q_MIN) {
        cbl = cb - 2;
        k = flog10pow2(q);
    } else { /* a power of two: the double below is half as far */
        cbl = cb - 1;
        k = flog10_three_quarters_pow2(q);
    }
    h = q + flog2pow10(-k) + 2;
    g = dtoa_g[-k - DTOA_G_EMIN];
    vb = rop(g[0], g[1], cb << h);
    vbl = rop(g[0], g[1], cbl << h);
    vbr = rop(g[0], g[1], cbr << h);
    *e = k;
    /* one digit fewer: the multiple of 10^(k+1) in R, if there is one */
    s = vb >> 2;
    sp10 = s / 10 * 10;
    tp10 = sp10 + 10;
    uin = vbl + out <= sp10 << 2;
    win = (tp10 << 2) + out <= vbr;
    if (uin != win) {
        *f = uin ? sp10 : tp10;
        return;
    }
    t = s + 1;
    uin = vbl + out <= s << 2;
    win = (t << 2) + out <= vbr;
    if (uin != win) {
        *f = uin ? s : t;
        return;
    }
    /* both in R: the nearer to v, the even one on a tie */
    int64_t cmp = (int64_t)(vb - ((s + t) << 1));
    *f = cmp < 0 || (cmp == 0 && !(s & 1)) ? s : t;
}

int qdi_dtoa_digits(double v, uint64_t *f, int *e)
{
    uint64_t bits, frac, c;
    int bq, mq;
    memcpy(&bits, &v, sizeof bits);
    bq = (int)(bits >> 52) & 0x7ff;
    frac = bits & (C_MIN - 1);
    if (bq == 0x7ff)
        return -1;
    if (bq == 0 && frac == 0) {
        *f = 0;
        *e = 0;
        return 0;
    }
    if (bq) {
        c = C_MIN | frac;
        mq = 1075 - bq; /* v = c 2^-mq */
        if (mq > 0 && mq < 53 && (c >> mq) << mq == c) { /* an integer below 2^53: exact */
            *f = c >> mq;
            *e = 0;
        } else {
            to_decimal(-mq, c, f, e);
        }
    } else {
        to_decimal(Q_MIN, frac, f, e);
    }
    while (*f % 10 == 0) {
        *f /= 10;
        ++*e;
    }
    return 0;
}

static const char two_digits[] = "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
                                 "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

/* The eight digits of r < 10^8, leading zeros included, at p. */
static void put8(char *p, uint32_t r)
{
    uint32_t hi = r / 10000, lo = r % 10000;
    memcpy(p, two_digits + 2 * (hi / 100), 2);
    memcpy(p + 2, two_digits + 2 * (hi % 100), 2);
    memcpy(p + 4, two_digits + 2 * (lo / 100), 2);
    memcpy(p + 6, two_digits + 2 * (lo % 100), 2);
}

static const uint64_t pow10u[20] = {UINT64_C(1),
                                    UINT64_C(10),
                                    UINT64_C(100),
                                    UINT64_C(1000),
                                    UINT64_C(10000),
                                    UINT64_C(100000),
                                    UINT64_C(1000000),
                                    UINT64_C(10000000),
                                    UINT64_C(100000000),
                                    UINT64_C(1000000000),
                                    UINT64_C(10000000000),
                                    UINT64_C(100000000000),
                                    UINT64_C(1000000000000),
                                    UINT64_C(10000000000000),
                                    UINT64_C(100000000000000),
                                    UINT64_C(1000000000000000),
                                    UINT64_C(10000000000000000),
                                    UINT64_C(100000000000000000),
                                    UINT64_C(1000000000000000000),
                                    UINT64_C(10000000000000000000)};

/* How many decimal digits f > 0 has: t = floor(bits log10 2) (1233 / 4096
 * is log10 2 to 4 digits, exact for bits <= 64) is that count or one less. */
static int decimal_length(uint64_t f)
{
    int t = ((64 - __builtin_clzll(f)) * 1233) >> 12;
    return t + (f >= pow10u[t]);
}

/* f's n decimal digits at p[0..n): eight at a time by one 64-bit division
 * (64-bit division by 100 per pair was most of the printing), then two at
 * a time in 32 bits. */
static void put_digits(char *p, uint64_t f, int n)
{
    char *q = p + n;
    while (f >= 100000000) {
        uint64_t hi = f / 100000000;
        q -= 8;
        put8(q, (uint32_t)(f - hi * 100000000));
        f = hi;
    }
    uint32_t r = (uint32_t)f;
    while (r >= 100) {
        uint32_t hi = r / 100;
        q -= 2;
        memcpy(q, two_digits + 2 * (r - hi * 100), 2);
        r = hi;
    }
    if (r >= 10)
        memcpy(q - 2, two_digits + 2 * r, 2);
    else
        q[-1] = (char)('0' + r);
}

size_t qdi_dtoa(char *buf, double v)
{
    char *p = buf;
    uint64_t f;
    int e, n, x, i;
    if (qdi_dtoa_digits(v, &f, &e) != 0) {
        strcpy(buf, v != v ? "nan" : v > 0 ? "inf" : "-inf");
        return strlen(buf);
    }
    if (signbit(v))
        *p++ = '-';
    if (f == 0) {
        *p++ = '0';
        *p = '\0';
        return (size_t)(p - buf);
    }
    /* the digits go straight to their place; where a point follows the
     * first digits, they are written one byte on and moved back */
    n = decimal_length(f);
    x = e + n - 1; /* the exponent of the first digit */
    /* printf's %.15g layout up to 15 digits, %.17g's for 16 and 17 (what
     * the files held before, when %.15g or else %.17g was printed) */
    if (x < -4 || x >= (n <= 15 ? 15 : 17)) {
        put_digits(p + 1, f, n);
        p[0] = p[1];
        if (n > 1) {
            p[1] = '.';
            p += n + 1;
        } else {
            p++;
        }
        *p++ = 'e';
        *p++ = x < 0 ? '-' : '+';
        x = x < 0 ? -x : x;
        if (x >= 100)
            *p++ = (char)('0' + x / 100);
        *p++ = (char)('0' + x / 10 % 10);
        *p++ = (char)('0' + x % 10);
    } else if (x >= n - 1) { /* an integer */
        put_digits(p, f, n);
        p += n;
        for (i = n - 1; i < x; i++)
            *p++ = '0';
    } else if (x >= 0) {
        put_digits(p + 1, f, n);
        for (i = 0; i <= x; i++)
            p[i] = p[i + 1];
        p[x + 1] = '.';
        p += n + 1;
    } else {
        *p++ = '0';
        *p++ = '.';
        for (i = -1; i > x; i--)
            *p++ = '0';
        put_digits(p, f, n);
        p += n;
    }
    *p = '\0';
    return (size_t)(p - buf);
}
