/* voronoi.c - Voronoi cells of 2-D sites clipped to a box, so a CVT archive
 * (Vassiliades et al. 2018) is drawn as its true cells rather than a raster.
 *
 * The idea: a site's cell is the box intersected with one half-plane per
 * other site (the side of their perpendicular bisector nearer to it). Each
 * cell starts as the box and is clipped (Sutherland-Hodgman against one line)
 * by the other sites nearest first, found ring by ring in a bucket grid over
 * the sites. Once every vertex of the cell lies within R of its site, a site
 * farther than 2R cannot cut it (its bisector passes beyond every vertex),
 * so the rings stop there: about k log k work for k well-spread sites
 * instead of k^2. Coordinates are the archive's own measures, so the cells
 * are those of its Euclidean nearest-centroid lookup. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/voronoi.h"
#include "src/elites.h"

typedef struct poly {
    double *xy;
    size_t n, cap; /* vertices, capacity in vertices */
} poly;

static int reserve(poly *p, size_t n)
{
    if (n <= p->cap)
        return QD_OK;
    size_t cap = p->cap ? p->cap : 16;
    while (cap < n)
        cap *= 2;
    double *xy = realloc(p->xy, cap * 2 * sizeof *xy);
    if (!xy)
        return QD_ENOMEM;
    p->xy = xy;
    p->cap = cap;
    return QD_OK;
}

/* Keeps the part of in where a*x + b*y <= c, into out. */
static int clip(const poly *in, poly *out, double a, double b, double c)
{
    out->n = 0;
    if (reserve(out, in->n + 1))
        return QD_ENOMEM;
    for (size_t i = 0; i < in->n; i++) {
        const double *p = in->xy + 2 * i, *q = in->xy + 2 * ((i + 1) % in->n);
        double fp = a * p[0] + b * p[1] - c, fq = a * q[0] + b * q[1] - c;
        if (fp <= 0) {
            out->xy[2 * out->n] = p[0];
            out->xy[2 * out->n + 1] = p[1];
            out->n++;
        }
        if ((fp < 0 && fq > 0) || (fp > 0 && fq < 0)) {
            double t = fp / (fp - fq);
            out->xy[2 * out->n] = p[0] + t * (q[0] - p[0]);
            out->xy[2 * out->n + 1] = p[1] + t * (q[1] - p[1]);
            out->n++;
        }
    }
    return QD_OK;
}

/* Squared distance from s to the farthest vertex of p. */
static double reach2(const poly *p, const double *s)
{
    double r = 0;
    for (size_t i = 0; i < p->n; i++) {
        double dx = p->xy[2 * i] - s[0], dy = p->xy[2 * i + 1] - s[1];
        r = fmax(r, dx * dx + dy * dy);
    }
    return r;
}

int qdi_voronoi_build(qdi_voronoi *v, const double *sites, size_t k, const double lo[2], const double hi[2])
{
    double bl[2] = {lo[0], lo[1]}, bh[2] = {hi[0], hi[1]}, bw[2];
    size_t nb = 1, *head = NULL, *next = NULL, cap = 0, used = 0;
    poly a = {0}, b = {0};
    int rc = QD_ENOMEM;
    memset(v, 0, sizeof *v);
    v->k = k;
    while (nb * nb < k)
        nb++;
    for (size_t i = 0; i < k; i++)
        for (int d = 0; d < 2; d++) {
            bl[d] = fmin(bl[d], sites[2 * i + d]);
            bh[d] = fmax(bh[d], sites[2 * i + d]);
        }
    for (int d = 0; d < 2; d++)
        bw[d] = bh[d] > bl[d] ? (bh[d] - bl[d]) / (double)nb : 1.0;
    if (!(v->start = malloc((k + 1) * sizeof *v->start)) || !(head = malloc(nb * nb * sizeof *head)) ||
        !(next = malloc((k ? k : 1) * sizeof *next)))
        goto done;
    for (size_t i = 0; i < nb * nb; i++)
        head[i] = SIZE_MAX;
#define BUCKET(x, d) ((size_t)fmin((double)(nb - 1), fmax(0.0, floor(((x) - bl[d]) / bw[d]))))
    for (size_t i = k; i-- > 0;) { /* lists in index order */
        size_t c = BUCKET(sites[2 * i], 0) + nb * BUCKET(sites[2 * i + 1], 1);
        next[i] = head[c];
        head[c] = i;
    }
    for (size_t i = 0; i < k; i++) {
        const double *s = sites + 2 * i;
        long bx = (long)BUCKET(s[0], 0), by = (long)BUCKET(s[1], 1);
        double step = fmin(bw[0], bw[1]);
        int empty = 0;
        v->start[i] = used;
        if (reserve(&a, 4))
            goto done;
        double box[8] = {lo[0], lo[1], hi[0], lo[1], hi[0], hi[1], lo[0], hi[1]};
        memcpy(a.xy, box, sizeof box);
        a.n = 4;
        for (long r = 0; r <= (long)nb && !empty && a.n >= 3; r++) {
            /* sites of ring r are at least (r - 1) * step away */
            if (r >= 2 && ((double)(r - 1) * step) * ((double)(r - 1) * step) > 4 * reach2(&a, s))
                break;
            for (long y = by - r; y <= by + r && !empty; y++)
                for (long x = bx - r; x <= bx + r && !empty; x++) {
                    if ((labs(x - bx) != r && labs(y - by) != r) || x < 0 || y < 0 || x >= (long)nb ||
                        y >= (long)nb)
                        continue;
                    for (size_t j = head[(size_t)x + nb * (size_t)y]; j != SIZE_MAX && a.n >= 3; j = next[j]) {
                        const double *t = sites + 2 * j;
                        if (j == i)
                            continue;
                        if (t[0] == s[0] && t[1] == s[1]) {
                            empty = j < i; /* the lower index owns the shared cell */
                            continue;
                        }
                        /* nearer to s than to t: 2 p.(t - s) <= |t|^2 - |s|^2 */
                        if (clip(&a, &b, 2 * (t[0] - s[0]), 2 * (t[1] - s[1]),
                                 t[0] * t[0] + t[1] * t[1] - s[0] * s[0] - s[1] * s[1]))
                            goto done;
                        poly tmp = a;
                        a = b;
                        b = tmp;
                    }
                }
        }
        if (empty || a.n < 3)
            continue;
        if (used + a.n > cap) {
            size_t ncap = cap ? cap : 64;
            while (ncap < used + a.n)
                ncap *= 2;
            double *xy = realloc(v->xy, ncap * 2 * sizeof *xy);
            if (!xy)
                goto done;
            v->xy = xy;
            cap = ncap;
        }
        memcpy(v->xy + 2 * used, a.xy, a.n * 2 * sizeof *a.xy);
        used += a.n;
    }
#undef BUCKET
    v->start[k] = used;
    rc = QD_OK;
done:
    free(head);
    free(next);
    free(a.xy);
    free(b.xy);
    if (rc)
        qdi_voronoi_free(v);
    return rc;
}

void qdi_voronoi_free(qdi_voronoi *v)
{
    free(v->start);
    free(v->xy);
    v->start = NULL;
    v->xy = NULL;
}
