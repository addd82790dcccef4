/* kdtree.h - an exact nearest-neighbour k-d tree over a fixed set of points,
 * used by the CVT archive for its cell lookup and for the assignment step of
 * its k-means. Internal (qdi_ prefix). */
#ifndef ELITES_KDTREE_H
#define ELITES_KDTREE_H

#include <stddef.h>

/* Flat arrays, no node structs: the node over tree positions [lo, hi) holds
 * the point at mid = lo + (hi - lo) / 2 and splits on dimension split[mid];
 * its children are [lo, mid) and [mid + 1, hi). Ranges of at most
 * QDI_KDTREE_LEAF points are leaves, scanned in full. */
typedef struct qdi_kdtree {
    size_t n, m;
    double *points;   /* n * m coordinates, in tree order */
    size_t *index;    /* original index of the point at each tree position */
    size_t *position; /* tree position of each original index */
    unsigned *split;  /* split dimension of the node whose point sits there */
} qdi_kdtree;

/* Allocates a tree for n >= 1 points of m >= 1 dimensions (memset it to zero
 * first or call qdi_kdtree_free only after a successful init). QD_ENOMEM on
 * failure, with everything freed. */
int qdi_kdtree_init(qdi_kdtree *t, size_t n, size_t m);
/* (Re)builds the tree over points (n * m finite numbers, row-major; copied):
 * median splits on the dimension of largest spread. No allocation. */
void qdi_kdtree_build(qdi_kdtree *t, const double *points);
/* Original index of the point nearest to q (squared Euclidean distance summed
 * over dimensions in order, as a brute-force scan computes it); ties go to
 * the lowest index, so the answer equals a brute-force scan's. hint, when
 * < n, is a likely answer (a sample's previous centroid in k-means) used to
 * start the search; the result does not depend on it. */
size_t qdi_kdtree_nearest(const qdi_kdtree *t, const double *q, size_t hint);
/* Frees the arrays (not the struct). Safe on a zeroed struct. */
void qdi_kdtree_free(qdi_kdtree *t);

#endif
