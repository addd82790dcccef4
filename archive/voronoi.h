/* voronoi.h - the Voronoi cells of 2-D sites clipped to a box, as convex
 * polygons, for drawing CVT archives (heatmap_svg.c, report_html.c).
 * Internal (qdi_ prefix). */
#ifndef ELITES_VORONOI_H
#define ELITES_VORONOI_H

#include <stddef.h>

/* Cell i's vertices, counter-clockwise, are the points
 * (xy[2j], xy[2j + 1]) for j in [start[i], start[i + 1]); a cell with fewer
 * than 3 vertices is empty (a site equal to a lower-numbered one, or one
 * outside the box whose region misses it). */
typedef struct qdi_voronoi {
    size_t k;
    size_t *start; /* k + 1 */
    double *xy;
} qdi_voronoi;

/* Computes the cells of k sites (k * 2 numbers, row-major) within the box
 * [lo[0], hi[0]] x [lo[1], hi[1]]: each cell is the box cut by the bisector
 * of its site and every neighbour that can reach it (a bucket grid finds
 * them nearest first). A point belongs to the cell of its nearest site, ties
 * to the lowest index, as the CVT archive's lookup decides. Fills *v (the
 * caller frees it with qdi_voronoi_free); QD_ENOMEM with nothing held. */
int qdi_voronoi_build(qdi_voronoi *v, const double *sites, size_t k, const double lo[2], const double hi[2]);
/* Frees the arrays of *v (not the struct). Safe on a zeroed struct. */
void qdi_voronoi_free(qdi_voronoi *v);

#endif
