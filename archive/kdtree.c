/* kdtree.c - exact nearest-neighbour search over a fixed point set (Bentley
 * 1975, "Multidimensional binary search trees used for associative
 * searching"; Friedman, Bentley & Finkel 1977 for the search with pruning).
 *
 * The tree lives in flat arrays: the points are reordered so that each node
 * is the median (by coordinate, then by original index, a strict order) of
 * its range along the dimension of largest spread, with the smaller points
 * before it and the larger after it. A query descends to the near side
 * first, then visits a node's point and far side only when the squared
 * distance to the splitting plane does not exceed the best distance so far.
 *
 * Exactness: distances are summed over dimensions in order, as a brute-force
 * scan does, and a far-side point's computed distance is never below the
 * computed squared plane distance (rounding is monotone and the terms are
 * non-negative), so pruning with a strict ">" never drops the nearest point
 * nor one at an equal distance; equal distances go to the lowest original
 * index. The answer is therefore the brute-force one, bit for bit.
 */
#include <math.h>
#include <stdlib.h>
#include "archive/kdtree.h"
#include "src/elites.h"

#define QDI_KDTREE_LEAF 8

int qdi_kdtree_init(qdi_kdtree *t, size_t n, size_t m)
{
    t->n = n;
    t->m = m;
    t->points = NULL;
    t->index = t->position = NULL;
    t->split = NULL;
    if (n == 0 || m == 0 || n > SIZE_MAX / sizeof(double) / m)
        return QD_ENOMEM;
    t->points = malloc(n * m * sizeof *t->points);
    t->index = malloc(n * sizeof *t->index);
    t->position = malloc(n * sizeof *t->position);
    t->split = calloc(n, sizeof *t->split);
    if (!t->points || !t->index || !t->position || !t->split) {
        qdi_kdtree_free(t);
        return QD_ENOMEM;
    }
    return QD_OK;
}

void qdi_kdtree_free(qdi_kdtree *t)
{
    free(t->points);
    free(t->index);
    free(t->position);
    free(t->split);
    t->points = NULL;
    t->index = t->position = NULL;
    t->split = NULL;
}

/* ---- building ----------------------------------------------------------- */

/* The strict order the medians are taken in: coordinate d, then index. */
static int before(const double *p, size_t m, unsigned d, size_t a, size_t b)
{
    double x = p[a * m + d], y = p[b * m + d];
    return x < y || (x == y && a < b);
}

static void swap(size_t *idx, size_t i, size_t j)
{
    size_t tmp = idx[i];
    idx[i] = idx[j];
    idx[j] = tmp;
}

/* Quickselect: puts the nth smallest of idx[lo, hi) at nth, smaller ones
 * before it and larger ones after it (median-of-three pivot). */
static void select_nth(size_t *idx, size_t lo, size_t hi, size_t nth, const double *p, size_t m, unsigned d)
{
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2, last = hi - 1, store = lo;
        if (before(p, m, d, idx[mid], idx[lo]))
            swap(idx, mid, lo);
        if (before(p, m, d, idx[last], idx[lo]))
            swap(idx, last, lo);
        if (before(p, m, d, idx[mid], idx[last]))
            swap(idx, mid, last); /* the median of the three is now at last */
        for (size_t i = lo; i < last; i++)
            if (before(p, m, d, idx[i], idx[last]))
                swap(idx, i, store++);
        swap(idx, store, last);
        if (nth == store)
            return;
        if (nth < store)
            hi = store;
        else
            lo = store + 1;
    }
}

static unsigned widest_dim(const qdi_kdtree *t, const double *p, size_t lo, size_t hi)
{
    unsigned best = 0;
    double best_spread = -1;
    for (size_t d = 0; d < t->m; d++) {
        double min = INFINITY, max = -INFINITY;
        for (size_t i = lo; i < hi; i++) {
            double v = p[t->index[i] * t->m + d];
            if (v < min)
                min = v;
            if (v > max)
                max = v;
        }
        if (max - min > best_spread) {
            best_spread = max - min;
            best = (unsigned)d;
        }
    }
    return best;
}

static void build(qdi_kdtree *t, const double *p, size_t lo, size_t hi)
{
    while (hi - lo > QDI_KDTREE_LEAF) {
        size_t mid = lo + (hi - lo) / 2;
        unsigned d = widest_dim(t, p, lo, hi);
        select_nth(t->index, lo, hi, mid, p, t->m, d);
        t->split[mid] = d;
        build(t, p, lo, mid);
        lo = mid + 1;
    }
}

void qdi_kdtree_build(qdi_kdtree *t, const double *points)
{
    size_t m = t->m;
    for (size_t i = 0; i < t->n; i++)
        t->index[i] = i;
    build(t, points, 0, t->n);
    for (size_t i = 0; i < t->n; i++) {
        const double *src = points + t->index[i] * m;
        for (size_t d = 0; d < m; d++)
            t->points[i * m + d] = src[d];
        t->position[t->index[i]] = i;
    }
}

/* ---- searching ---------------------------------------------------------- */

typedef struct nearest {
    const qdi_kdtree *t;
    const double *q;
    double dist;
    size_t index;
} nearest;

/* Squared distance, summed in dimension order (as a brute-force scan). */
static double dist2(const double *a, const double *b, size_t m)
{
    double s = 0;
    for (size_t d = 0; d < m; d++) {
        double diff = a[d] - b[d];
        s += diff * diff;
    }
    return s;
}

static void visit(nearest *s, size_t pos)
{
    double dist = dist2(s->q, s->t->points + pos * s->t->m, s->t->m);
    size_t index = s->t->index[pos];
    if (dist < s->dist || (dist == s->dist && index < s->index)) {
        s->dist = dist;
        s->index = index;
    }
}

static void search(nearest *s, size_t lo, size_t hi)
{
    const qdi_kdtree *t = s->t;
    while (hi - lo > QDI_KDTREE_LEAF) {
        size_t mid = lo + (hi - lo) / 2;
        unsigned d = t->split[mid];
        double diff = s->q[d] - t->points[mid * t->m + d];
        /* near side first; the node's point and the far side are at least
         * diff^2 away */
        if (diff < 0) {
            search(s, lo, mid);
            if (diff * diff > s->dist)
                return;
            visit(s, mid);
            lo = mid + 1;
        } else {
            search(s, mid + 1, hi);
            if (diff * diff > s->dist)
                return;
            visit(s, mid);
            hi = mid;
        }
    }
    for (size_t pos = lo; pos < hi; pos++)
        visit(s, pos);
}

size_t qdi_kdtree_nearest(const qdi_kdtree *t, const double *q, size_t hint)
{
    nearest s = {.t = t, .q = q, .dist = INFINITY, .index = t->n};
    if (hint < t->n)
        visit(&s, t->position[hint]);
    search(&s, 0, t->n);
    return s.index < t->n ? s.index : 0; /* a NaN query matches nothing */
}
