/* grid.c - the grid tessellation: per measure dimension either uniform bins
 * over a range or explicit, possibly non-uniform, bin edges (QDAIF's
 * sentiment bins are finer near 0 and 1).
 *
 * Bin rule for edges e_0 < ... < e_B: bin i holds e_i <= v < e_{i+1}; values
 * below e_0 go to bin 0 and values at or above e_B to bin B-1. Uniform bins
 * use arithmetic and then correct by one against the same edges (computed as
 * lo + i * (hi - lo) / B, as numpy's linspace), so a value exactly on an edge
 * lands where the saved edges say. Cells are numbered row-major, the first
 * measure varying slowest (numpy's ravel_multi_index, as pyribs). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"


typedef struct grid_dim {
    size_t bins;
    int uniform;
    double lo, hi, scale; /* scale = bins / (hi - lo) */
    double *edges;        /* bins + 1 edges */
} grid_dim;

typedef struct grid {
    size_t m;
    grid_dim *dims;
    size_t *stride;
} grid;

static size_t bin_of(const grid_dim *d, double v)
{
    size_t i;
    if (!(v >= d->edges[0]))
        return 0;
    if (v >= d->edges[d->bins])
        return d->bins - 1;
    if (d->uniform) {
        /* v >= edges[0] = lo, so the product is >= 0 and truncation is
         * floor (without a libm call on baseline x86-64) */
        double f = (v - d->lo) * d->scale;
        i = f >= (double)d->bins ? d->bins - 1 : (size_t)f;
        if (v < d->edges[i])
            i--;
        else if (v >= d->edges[i + 1])
            i++;
        return i;
    }
    /* largest i with edges[i] <= v */
    size_t lo = 0, hi = d->bins;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (d->edges[mid] <= v)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static size_t grid_find(const void *state, const double *measures)
{
    const grid *g = state;
    size_t cell = 0;
    for (size_t k = 0; k < g->m; k++)
        cell += bin_of(&g->dims[k], measures[k]) * g->stride[k];
    return cell;
}

static void grid_coords(const void *state, size_t cell, size_t *coords)
{
    const grid *g = state;
    for (size_t k = 0; k < g->m; k++) {
        coords[k] = cell / g->stride[k];
        cell %= g->stride[k];
    }
}

static int read_dim(qd_config *dc, const qd_space *space, size_t k, long max_cells, grid_dim *d)
{
    if (qd_config_has(dc, "edges")) {
        size_t n;
        if (qd_config_numbers(dc, "edges", 1, &d->edges, &n, NULL))
            return QD_EINVAL;
        if (n < 2)
            return qd_config_fail(dc, "edges", "must have at least 2 edges, got %zu", n);
        for (size_t i = 1; i < n; i++)
            if (!(d->edges[i] > d->edges[i - 1]))
                return qd_config_fail(dc, "edges", "must increase strictly, but edge %zu (%g) is not above edge %zu (%g)",
                                      i, d->edges[i], i - 1, d->edges[i - 1]);
        if (qd_config_has(dc, "bins") || qd_config_has(dc, "range"))
            return qd_config_fail(dc, "edges", "cannot be combined with bins or range");
        d->bins = n - 1;
        d->lo = d->edges[0];
        d->hi = d->edges[n - 1];
        d->uniform = 0;
        return QD_OK;
    }
    long bins = 0;
    double range[2] = {space->measure_lower[k], space->measure_upper[k]};
    if (qd_config_require(dc, "bins") || qd_config_int(dc, "bins", &bins, ">= 1"))
        return QD_EINVAL;
    /* checked before the edges are allocated (bins 2^31: 16 GB of edges) */
    if (bins > max_cells)
        return qd_config_fail(dc, "bins", "is %ld, more than archive.max_cells (%ld) allows; raise it if the memory "
                              "is there", bins, max_cells);
    if (!qd_config_has(dc, "range") && !(isfinite(range[0]) && isfinite(range[1])))
        return qd_config_fail(dc, "range", "is required: the evaluator gives no natural range for %s",
                              space->measure_names[k]);
    if (qd_config_vector(dc, "range", range, 2, NULL))
        return QD_EINVAL;
    if (!(range[1] > range[0]))
        return qd_config_fail(dc, "range", "must be [low, high] with low < high, got [%g, %g]", range[0], range[1]);
    d->bins = (size_t)bins;
    d->lo = range[0];
    d->hi = range[1];
    d->uniform = 1;
    d->scale = (double)d->bins / (d->hi - d->lo);
    if (!(d->edges = malloc((d->bins + 1) * sizeof *d->edges)))
        return qd_config_fail(dc, "bins", "could not be set up: out of memory");
    double step = (d->hi - d->lo) / (double)d->bins;
    for (size_t i = 0; i < d->bins; i++)
        d->edges[i] = d->lo + (double)i * step;
    d->edges[d->bins] = d->hi;
    return QD_OK;
}

static int grid_init(void *state, qd_config *cfg, const qd_space *space, size_t *cells)
{
    grid *g = state;
    size_t n, total = 1;
    long max_cells = QDI_DEFAULT_MAX_CELLS;
    if (qd_config_int(cfg, "max_cells", &max_cells, ">= 1 <= 2147483648") || qd_config_array_size(cfg, "dims", 1, &n))
        return QD_EINVAL;
    if (n != space->measures)
        return qd_config_fail(cfg, "dims", "must have %zu entries (one per measure of the evaluator), got %zu",
                              space->measures, n);
    g->m = n;
    g->dims = calloc(n, sizeof *g->dims);
    g->stride = calloc(n, sizeof *g->stride);
    if (!g->dims || !g->stride)
        return qd_config_fail(cfg, "dims", "could not be set up: out of memory");
    for (size_t k = 0; k < n; k++) {
        qd_config *dc;
        if (qd_config_array_object(cfg, "dims", k, &dc) || read_dim(dc, space, k, max_cells, &g->dims[k]) ||
            qd_config_check_keys(dc))
            return QD_EINVAL;
        if (g->dims[k].bins > (size_t)max_cells / total)
            return qd_config_fail(cfg, "dims", "give %.0f cells%s, more than archive.max_cells (%ld) allows; raise it if "
                                  "the memory is there",
                                  (double)total * (double)g->dims[k].bins, k + 1 < n ? " or more" : "", max_cells);
        total *= g->dims[k].bins;
    }
    for (size_t k = n; k-- > 0;)
        g->stride[k] = k + 1 < n ? g->stride[k + 1] * g->dims[k + 1].bins : 1;
    *cells = total;
    return QD_OK;
}

static void grid_fini(void *state)
{
    grid *g = state;
    if (g->dims)
        for (size_t k = 0; k < g->m; k++)
            free(g->dims[k].edges);
    free(g->dims);
    free(g->stride);
}

const qd_archive_type qdi_archive_grid = {
    .name = "grid",
    .state_size = sizeof(grid),
    .init = grid_init,
    .find = grid_find,
    .coords = grid_coords,
    .describe = NULL,
    .fini = grid_fini,
};
