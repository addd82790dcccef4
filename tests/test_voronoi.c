/* test_voronoi.c - the clipped Voronoi cells of archive/voronoi.c against a
 * brute-force nearest-site raster: every pixel centre lies in the polygon of
 * its nearest site (ties to the lowest index), the cells tile the box (their
 * areas sum to its area), a duplicate site's cell is empty, and a hand-made
 * case gives the exact vertices. */
#include <math.h>
#include "testutil.h"
#include "archive/voronoi.h"

static int inside(const qdi_voronoi *v, size_t i, double x, double y, double *margin)
{
    size_t a = v->start[i], b = v->start[i + 1];
    *margin = INFINITY;
    if (b - a < 3)
        return 0;
    for (size_t j = a; j < b; j++) {
        const double *p = v->xy + 2 * j, *q = v->xy + 2 * (j + 1 < b ? j + 1 : a);
        double ex = q[0] - p[0], ey = q[1] - p[1], len = hypot(ex, ey);
        if (len == 0)
            continue;
        double cross = (ex * (y - p[1]) - ey * (x - p[0])) / len; /* > 0: left of the edge (inside, CCW) */
        *margin = fmin(*margin, cross);
    }
    return *margin >= -1e-9;
}

static double area(const qdi_voronoi *v, size_t i)
{
    double s = 0;
    for (size_t j = v->start[i]; j < v->start[i + 1]; j++) {
        const double *p = v->xy + 2 * j, *q = v->xy + 2 * (j + 1 < v->start[i + 1] ? j + 1 : v->start[i]);
        s += p[0] * q[1] - q[0] * p[1];
    }
    return s / 2;
}

static void check_raster(const double *sites, size_t k, const double lo[2], const double hi[2], size_t res)
{
    qdi_voronoi v;
    size_t wrong = 0, checked = 0;
    double total = 0;
    CU_ASSERT_EQUAL_FATAL(qdi_voronoi_build(&v, sites, k, lo, hi), QD_OK);
    for (size_t i = 0; i < k; i++) {
        CU_ASSERT(area(&v, i) >= 0); /* counter-clockwise or empty */
        total += area(&v, i);
    }
    CU_ASSERT_DOUBLE_EQUAL(total, (hi[0] - lo[0]) * (hi[1] - lo[1]), 1e-9 * (hi[0] - lo[0]) * (hi[1] - lo[1]));
    for (size_t py = 0; py < res; py++)
        for (size_t px = 0; px < res; px++) {
            double x = lo[0] + (hi[0] - lo[0]) * (px + 0.5) / res, y = lo[1] + (hi[1] - lo[1]) * (py + 0.5) / res;
            size_t best = 0;
            double bd = INFINITY, margin;
            for (size_t i = 0; i < k; i++) {
                double dx = x - sites[2 * i], dy = y - sites[2 * i + 1], d = dx * dx + dy * dy;
                if (d < bd) {
                    bd = d;
                    best = i;
                }
            }
            checked++;
            if (!inside(&v, best, x, y, &margin))
                wrong++;
        }
    CU_ASSERT_EQUAL(checked, res * res);
    CU_ASSERT_EQUAL(wrong, 0);
    qdi_voronoi_free(&v);
}

static void test_cells_match_a_nearest_site_raster(void)
{
    enum { K = 300 };
    double sites[2 * K], lo[2] = {-1, 0}, hi[2] = {1, 10};
    uint64_t s = 12345;
    for (size_t i = 0; i < 2 * K; i++) {
        s = s * 6364136223846793005ULL + 1442695040888963407ULL;
        double u = (double)(s >> 11) / 9007199254740992.0;
        sites[i] = i % 2 ? lo[1] + u * (hi[1] - lo[1]) : lo[0] + u * (hi[0] - lo[0]);
    }
    check_raster(sites, K, lo, hi, 200);
}

static void test_clustered_sites_and_sites_outside_the_box(void)
{
    /* a tight cluster, a far site and two outside the box: far neighbours
     * still cut the cells they reach */
    double sites[] = {0.5, 0.5, 0.51, 0.5, 0.5, 0.51, 0.52, 0.52, 0.05, 0.95, -0.3, 0.5, 1.4, 1.4, 0.9, 0.1};
    double lo[2] = {0, 0}, hi[2] = {1, 1};
    check_raster(sites, sizeof sites / sizeof *sites / 2, lo, hi, 300);
}

static void test_two_sites_split_the_box_exactly(void)
{
    double sites[] = {0.25, 0.5, 0.75, 0.5}, lo[2] = {0, 0}, hi[2] = {1, 1};
    qdi_voronoi v;
    CU_ASSERT_EQUAL_FATAL(qdi_voronoi_build(&v, sites, 2, lo, hi), QD_OK);
    CU_ASSERT_EQUAL(v.start[1] - v.start[0], 4);
    CU_ASSERT_EQUAL(v.start[2] - v.start[1], 4);
    CU_ASSERT_DOUBLE_EQUAL(area(&v, 0), 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(area(&v, 1), 0.5, 1e-12);
    /* cell 0: (0,0) (0.5,0) (0.5,1) (0,1) */
    double want[] = {0, 0, 0.5, 0, 0.5, 1, 0, 1};
    for (size_t j = 0; j < 8; j++)
        CU_ASSERT_DOUBLE_EQUAL(v.xy[2 * v.start[0] + j], want[j], 1e-12);
    qdi_voronoi_free(&v);
}

static void test_a_duplicate_site_has_an_empty_cell(void)
{
    double sites[] = {0.3, 0.3, 0.7, 0.7, 0.3, 0.3}, lo[2] = {0, 0}, hi[2] = {1, 1};
    qdi_voronoi v;
    CU_ASSERT_EQUAL_FATAL(qdi_voronoi_build(&v, sites, 3, lo, hi), QD_OK);
    CU_ASSERT(v.start[1] - v.start[0] >= 3);
    CU_ASSERT_EQUAL(v.start[3] - v.start[2], 0);
    CU_ASSERT_DOUBLE_EQUAL(area(&v, 0) + area(&v, 1), 1.0, 1e-12);
    qdi_voronoi_free(&v);
    check_raster(sites, 3, lo, hi, 64);
}

static const qdt_test tests[] = {
    {"cells match a nearest-site raster", test_cells_match_a_nearest_site_raster},
    {"clustered sites and sites outside the box", test_clustered_sites_and_sites_outside_the_box},
    {"two sites split the box exactly", test_two_sites_split_the_box_exactly},
    {"a duplicate site has an empty cell", test_a_duplicate_site_has_an_empty_cell},
    {NULL, NULL},
};

int main(void)
{
    return qdt_run("voronoi", tests);
}
