/* test_dtoa.c - src/dtoa_short.c, shortest round-trip double printing.
 * Every double checked reads back bit for bit (strtod); no decimal with
 * fewer digits reads back (the two decimals of one digit fewer either side
 * of v, found with %.*e, do not: a shorter decimal is one of those too); and the digits are printf's
 * correctly rounded %.*e at that length whenever that one reads back (else
 * the neighbour on the other side, as happens next to powers of two).
 * Inputs: hand-picked edge cases, every power of two and its neighbours,
 * the smallest subnormals, integers, random bit patterns, random values of
 * everyday size and random 16- and 17-digit decimals. */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include "testutil.h"

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint64_t next(void) /* splitmix64 */
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static double from_bits(uint64_t b)
{
    double v;
    memcpy(&v, &b, sizeof v);
    return v;
}

static int same_bits(double a, double b)
{
    return memcmp(&a, &b, sizeof a) == 0;
}

/* A decimal m 10^e with the trailing zeros of m moved into e. */
static void normalise(uint64_t *m, int *e)
{
    while (*m && *m % 10 == 0) {
        *m /= 10;
        ++*e;
    }
}

/* |v| correctly rounded to p significant digits (printf's %.*e): m 10^e. */
static void rounded(double v, int p, uint64_t *m, int *e)
{
    char buf[64], *s = buf;
    int x;
    snprintf(buf, sizeof buf, "%.*e", p - 1, fabs(v));
    *m = 0;
    for (; *s != 'e'; s++)
        if (*s != '.')
            *m = *m * 10 + (uint64_t)(*s - '0');
    x = atoi(s + 1);
    *e = x - (p - 1);
}

static int reads_back(uint64_t m, int e, double v)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s%" PRIu64 "e%d", signbit(v) ? "-" : "", m, e);
    return same_bits(strtod(buf, NULL), v);
}

static unsigned long checked, failures;

/* Checks one finite double; reports the first few failures. */
static void check(double v)
{
    char buf[32], old[40];
    uint64_t f, m;
    int e, me, n = 0, ok = 1;
    size_t len = qdi_dtoa(buf, v);
    checked++;
    if (len != strlen(buf) || !same_bits(strtod(buf, NULL), v))
        ok = 0;
    CU_ASSERT_FATAL(qdi_dtoa_digits(v, &f, &e) == 0);
    for (uint64_t t = f; t; t /= 10)
        n++;
    if (v == 0) {
        ok &= f == 0 && strcmp(buf, signbit(v) ? "-0" : "0") == 0;
        n = 1;
    }
    /* (b) nothing shorter reads back: neither neighbour of v among the
     * decimals of n - 1 digits (which include every shorter one) */
    for (int p = n - 1; ok && v != 0 && p == n - 1 && p > 0; p++) {
        char r[64];
        rounded(v, p, &m, &me);
        snprintf(r, sizeof r, "%" PRIu64 "e%d", m, me);
        uint64_t other = strtod(r, NULL) < fabs(v) ? m + 1 : m - 1;
        if (reads_back(m, me, v) || (other && reads_back(other, me, v)))
            ok = 0;
    }
    /* (c) printf's digits at that length when they read back, else a neighbour */
    if (ok && v != 0) {
        rounded(v, n, &m, &me);
        if (reads_back(m, me, v)) {
            normalise(&m, &me);
            ok = m == f && me == e;
        } else {
            uint64_t up = m + 1, down = m - 1;
            int eu = me, ed = me;
            normalise(&up, &eu);
            normalise(&down, &ed);
            ok = (up == f && eu == e) || (down == f && ed == e);
        }
    }
    /* the layout: %.15g's text up to 15 digits, %.17g's at 17 (subnormals
     * aside, where %.15g gives more digits than it needs), and always
     * printf's rule for an exponent: below -4 or at or above the precision */
    if (ok) {
        int x = e + n - 1, precision = n <= 15 ? 15 : 17;
        ok = !strchr(buf, 'e') == !(x < -4 || x >= precision);
        snprintf(old, sizeof old, "%.*g", precision, v);
        if (ok && n != 16 && fabs(v) >= DBL_MIN)
            ok = strcmp(buf, old) == 0;
    }
    if (!ok && failures++ < 10)
        fprintf(stderr, "dtoa: %a (%.17g) printed as \"%s\" (digits %" PRIu64 "e%d)\n", v, v, buf, f, e);
}

static void expect(double v, const char *text)
{
    char buf[32];
    qdi_dtoa(buf, v);
    if (strcmp(buf, text))
        fprintf(stderr, "dtoa: %a printed \"%s\", expected \"%s\"\n", v, buf, text);
    CU_ASSERT_STRING_EQUAL(buf, text);
    check(v);
}

static void test_known_values_print_shortest(void)
{
    failures = 0;
    expect(0.0, "0");
    expect(-0.0, "-0");
    expect(0.1, "0.1");
    expect(-0.1, "-0.1");
    expect(1.0 / 3.0, "0.3333333333333333");
    expect(2.0 / 3.0, "0.6666666666666666");
    expect(0.1 + 0.2, "0.30000000000000004");
    expect(5e-324, "5e-324");
    expect(1e-323, "1e-323");
    expect(DBL_TRUE_MIN * 3, "1.5e-323");
    expect(DBL_MIN, "2.2250738585072014e-308");
    expect(DBL_MAX, "1.7976931348623157e+308");
    expect(-DBL_MAX, "-1.7976931348623157e+308");
    expect(9007199254740993.0, "9007199254740992");
    expect(9007199254740991.0, "9007199254740991");
    expect(1e15, "1e+15");
    expect(123456789012345.0, "123456789012345");
    expect(1e16, "1e+16");
    expect(1e21, "1e+21");
    expect(1e22, "1e+22");
    expect(1e23, "1e+23");
    expect(1e-5, "1e-05");
    expect(1e-4, "0.0001");
    expect(1.5e-4, "0.00015");
    expect(123.456, "123.456");
    expect(100.0, "100");
    expect(1.0, "1");
    expect(-2.5, "-2.5");
    expect(1e100, "1e+100");
    expect(1e-100, "1e-100");
    expect(5e-310, "5e-310");
    expect(0x1p-1022 - 0x1p-1074, "2.225073858507201e-308");
    expect(4.35, "4.35");
    expect(2.0e-7, "2e-07");
    expect(299792458.0, "299792458");
    expect(M_PI, "3.141592653589793");
    expect(1.7976931348623157e308, "1.7976931348623157e+308");
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_non_finite_print_as_before(void)
{
    char buf[32];
    CU_ASSERT_EQUAL(qdi_dtoa(buf, NAN), 3);
    CU_ASSERT_STRING_EQUAL(buf, "nan");
    qdi_dtoa(buf, INFINITY);
    CU_ASSERT_STRING_EQUAL(buf, "inf");
    qdi_dtoa(buf, -INFINITY);
    CU_ASSERT_STRING_EQUAL(buf, "-inf");
    CU_ASSERT_STRING_EQUAL(qdi_format_double(buf, -INFINITY), "-inf");
    uint64_t f;
    int e;
    CU_ASSERT_EQUAL(qdi_dtoa_digits(NAN, &f, &e), -1);
}

/* Powers of two (where the double below is nearer than the one above) and
 * their neighbours, for every exponent; powers of ten. */
static void test_every_power_of_two_and_ten(void)
{
    failures = checked = 0;
    for (uint64_t bq = 0; bq < 2047; bq++) {
        uint64_t b = bq << 52;
        for (int d = -2; d <= 2; d++)
            if ((int64_t)b + d > 0)
                check(from_bits(b + (uint64_t)d));
        check(-from_bits(b | 1));
    }
    for (int k = -323; k <= 308; k++) {
        char s[32];
        snprintf(s, sizeof s, "1e%d", k);
        double v = strtod(s, NULL);
        check(v);
        check(nextafter(v, 0));
        check(nextafter(v, INFINITY));
    }
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_subnormals_and_integers(void)
{
    failures = checked = 0;
    for (uint64_t c = 1; c < 20000; c++)
        check(from_bits(c));
    for (uint64_t c = 0x000fffffffffffffu; c > 0x000fffffffffffffu - 2000; c--)
        check(from_bits(c));
    for (int i = 0; i < 20000; i++)
        check((double)i);
    for (int64_t d = -1000; d <= 1000; d++) {
        check((double)((INT64_C(1) << 53) + d));
        check((double)(INT64_C(1) << 53) * 1000.0 + (double)d * 1024.0);
    }
    CU_ASSERT_EQUAL(failures, 0);
}

static void test_random_bit_patterns(void)
{
    failures = checked = 0;
    while (checked < 200000) {
        double v = from_bits(next());
        if (isfinite(v))
            check(v);
    }
    CU_ASSERT_EQUAL(failures, 0);
}

/* What the files hold: objectives, measures and genes of everyday size. */
static void test_random_everyday_values(void)
{
    failures = checked = 0;
    for (int i = 0; i < 100000; i++) {
        double u = (double)(next() >> 11) * 0x1p-53;
        int scale = (int)(next() % 21) - 10;
        check(u);
        check((u - 0.5) * pow(10.0, scale));
    }
    CU_ASSERT_EQUAL(failures, 0);
}

/* Decimals of 16 and 17 digits, the lengths %.15g could not give. */
static void test_random_long_decimals(void)
{
    failures = checked = 0;
    for (int i = 0; i < 50000; i++) {
        char s[64];
        snprintf(s, sizeof s, "%" PRIu64 "e%d", next() % UINT64_C(9000000000000000) + UINT64_C(1000000000000000),
                 (int)(next() % 600) - 320);
        check(strtod(s, NULL));
        snprintf(s, sizeof s, "%" PRIu64 "e%d", next() % UINT64_C(90000000000000000) + UINT64_C(10000000000000000),
                 (int)(next() % 40) - 20);
        check(strtod(s, NULL));
    }
    CU_ASSERT_EQUAL(failures, 0);
}

/* qdi_format_g / qdi_format_f against snprintf for v at every precision
 * asked; counts mismatches (the first few printed). */
static unsigned long printf_mismatches;

static void check_printf(double v)
{
    char want[QDI_FORMAT_F_MAX], got[QDI_FORMAT_F_MAX];
    for (int p = 1; p <= 17; p++) {
        snprintf(want, 32, "%.*g", p, v);
        size_t n = qdi_format_g(got, v, p);
        if (strcmp(want, got) != 0 || n != strlen(want)) {
            if (printf_mismatches++ < 10)
                fprintf(stderr, "\n%%.%dg of %a: printf %s, qdi_format_g %s\n", p, v, want, got);
        }
    }
    for (int d = 0; d <= 6; d++) {
        snprintf(want, sizeof want, "%.*f", d, v);
        size_t n = qdi_format_f(got, v, d);
        if (strcmp(want, got) != 0 || n != strlen(want)) {
            if (printf_mismatches++ < 10)
                fprintf(stderr, "\n%%.%df of %a: printf %s, qdi_format_f %s\n", d, v, want, got);
        }
    }
}

static void test_g_and_f_print_as_printf_does(void)
{
    static const double known[] = {0.0, 0.125, 0.375, 2.5, 0.5, 1.5, 1e-5, 1.2345e-5, 123456789.0, 9.9999995,
                                   9.9999996, 99999.95, 0.0001, 0.00009999999, 1e15, 1e16, 1e17, 1e18, 1e19,
                                   1e300, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 1.0 / 3,
                                   2.675, 1.005, 1234.5, 0.045, 100.0, 1e-300, 4503599627370496.5, 0.95, 0.05};
    printf_mismatches = 0;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        check_printf(known[i]);
        check_printf(-known[i]);
    }
    for (int i = 0; i < 20000; i++) {
        double u = (double)(next() >> 11) / 9007199254740992.0; /* [0, 1) */
        check_printf(ldexp(u, (int)(next() % 120) - 60));       /* everyday magnitudes */
        check_printf((double)(next() % 200000) / 1000.0);        /* SVG coordinates, with exact ties */
        check_printf((double)(next() % 20000) / 8.0 - 1000.0);   /* binary fractions: printf's ties */
        check_printf(from_bits(next()));                         /* any double */
    }
    CU_ASSERT_EQUAL(printf_mismatches, 0);
}

/* qdi_format_a writes glibc's "%a" byte for byte (the checkpoint's
 * metrics journal was written with fprintf before), and it reads back. */
static void test_a_prints_as_printf_does(void)
{
    static const double known[] = {0.0, 1.0, 1.5, 0.1, 1.0 / 3, 2.0, 1024.0, 5e-324, 1e-310, 2.2250738585072014e-308,
                                   1.7976931348623157e308, 1e300, 1e-300, 123456.789, INFINITY, NAN};
    char mine[32], theirs[64];
    int mismatches = 0;
    for (int i = 0; i < 2 * (int)(sizeof known / sizeof known[0]) + 400000; i++) {
        double v = i < 32 ? (i & 1 ? -known[i / 2] : known[i / 2]) : i % 4 ? from_bits(next())
                                                                           : (double)(next() % 100000) / 64.0;
        size_t n = qdi_format_a(mine, v);
        snprintf(theirs, sizeof theirs, "%a", v);
        if (strcmp(mine, theirs) != 0 || n != strlen(theirs)) {
            if (mismatches++ < 5)
                fprintf(stderr, "%%a of %.17g: %s, printf %s\n", v, mine, theirs);
        } else if (isfinite(v) && memcmp(&(double){strtod(mine, NULL)}, &v, sizeof v) != 0) {
            mismatches++;
        }
    }
    CU_ASSERT_EQUAL(mismatches, 0);
}

static const qdt_test tests[] = {
    {"%a prints as printf does", test_a_prints_as_printf_does},
    {"%g and %f print as printf does", test_g_and_f_print_as_printf_does},
    {"known values print shortest", test_known_values_print_shortest},
    {"non-finite values print as before", test_non_finite_print_as_before},
    {"every power of two and ten", test_every_power_of_two_and_ten},
    {"subnormals and integers", test_subnormals_and_integers},
    {"random bit patterns", test_random_bit_patterns},
    {"random everyday values", test_random_everyday_values},
    {"random 16 and 17 digit decimals", test_random_long_decimals},
    {NULL, NULL},
};

QDT_MAIN("dtoa", tests)
