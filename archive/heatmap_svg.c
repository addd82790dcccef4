/* heatmap_svg.c - an archive as an SVG heatmap: each filled cell coloured by
 * its elite's objective (viridis, as pyribs' grid_archive_heatmap and
 * cvt_archive_heatmap), empty cells light grey, axes named after the
 * measures (with category names as ticks and end names on probability
 * axes, archive/axes.c), a colour bar bounded by the evaluator's objective
 * range, and a tooltip (<title>) per cell with its index, objective and
 * measures printed short.
 *
 * Grid archives are drawn in bin-index space: every bin is as wide as every
 * other, with tick labels at the true edges, so QDAIF's non-uniform bins
 * (0.005 wide at the ends, 0.3 in the middle) all stay visible. One measure
 * gives one row of bins; two give the grid; three or four give facets, one
 * 2-D slice per bin of the other measures (at most 64 slices); with more the
 * two chosen measures are shown with a note saying it is a projection (best
 * elite over the others). CVT archives with two measures are drawn as their
 * true Voronoi cells clipped to the measure box (archive/voronoi.c),
 * outlined, empty cells drawn empty; with more than two measures the elites
 * are drawn as points at their (x, y) measures, with the same note. The
 * file is written atomically and is the same bytes for the same archive. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"
#include "archive/voronoi.h"
#include "outbuf.h"

#define MARGIN_LEFT 80.0
#define MARGIN_TOP 56.0
#define MARGIN_BOTTOM 56.0
#define BAR_GAP 24.0
#define BAR_WIDTH 16.0
#define MARGIN_RIGHT 96.0
#define Y_END_GAP 16.0 /* the y axis's end names from its name */
#define FACET_GAP_X 12.0
#define FACET_GAP_Y 22.0
#define MAX_FACETS 64

/* viridis at 11 evenly spaced stops (matplotlib's table, rounded) */
static const unsigned char viridis[11][3] = {
    {0x44, 0x01, 0x54}, {0x48, 0x24, 0x75}, {0x41, 0x44, 0x87}, {0x35, 0x5f, 0x8d},
    {0x2a, 0x78, 0x8e}, {0x21, 0x91, 0x8c}, {0x22, 0xa8, 0x84}, {0x44, 0xbf, 0x70},
    {0x7a, 0xd1, 0x51}, {0xbd, 0xdf, 0x26}, {0xfd, 0xe7, 0x25},
};

void qd_heatmap_defaults(qd_heatmap_options *o)
{
    memset(o, 0, sizeof *o);
    o->x_measure = 0;
    o->y_measure = 1;
    o->size = 480;
    o->raster = 240;
    o->vmin = NAN;
    o->vmax = NAN;
    o->title = NULL;
}

/* Colour of t in [0, 1] as "#rrggbb" into buf[8]. */
static void color_of(double t, char *buf)
{
    double u;
    size_t i;
    unsigned char c[3];
    if (!(t > 0))
        t = 0;
    if (t > 1)
        t = 1;
    u = t * 10.0;
    i = (size_t)u;
    if (i >= 10)
        i = 9;
    u -= (double)i;
    for (int k = 0; k < 3; k++)
        c[k] = (unsigned char)lround((1.0 - u) * viridis[i][k] + u * viridis[i + 1][k]);
    static const char hex[] = "0123456789abcdef";
    buf[0] = '#';
    for (int k = 0; k < 3; k++) {
        buf[1 + 2 * k] = hex[c[k] >> 4];
        buf[2 + 2 * k] = hex[c[k] & 15];
    }
    buf[7] = '\0';
}

/* Writes s with XML's five special characters escaped. */
/* One axis of the drawing: bins (grid) with their edges, or a continuous
 * range (CVT, points). */
typedef struct axis {
    size_t measure, bins; /* bins 0: continuous */
    double lo, hi;
    double *edges;        /* bins + 1, grid only */
} axis;

static int grid_axis(const qd_archive *a, size_t k, axis *ax)
{
    const cJSON *dims = cJSON_GetObjectItemCaseSensitive(a->description, "dims");
    const cJSON *d = cJSON_GetArrayItem(dims, (int)k);
    const cJSON *edges = cJSON_GetObjectItemCaseSensitive(d, "edges");
    const cJSON *bins = cJSON_GetObjectItemCaseSensitive(d, "bins");
    const cJSON *range = cJSON_GetObjectItemCaseSensitive(d, "range");
    ax->measure = k;
    if (cJSON_IsArray(edges) && cJSON_GetArraySize(edges) >= 2) {
        ax->bins = (size_t)cJSON_GetArraySize(edges) - 1;
        if (!(ax->edges = malloc((ax->bins + 1) * sizeof *ax->edges)))
            return QD_ENOMEM;
        for (size_t i = 0; i <= ax->bins; i++)
            ax->edges[i] = cJSON_GetArrayItem(edges, (int)i)->valuedouble;
    } else if (qdi_json_is_whole(bins, 1, QDI_JSON_COUNT_MAX) && cJSON_GetArraySize(range) == 2) {
        double lo = cJSON_GetArrayItem(range, 0)->valuedouble, hi = cJSON_GetArrayItem(range, 1)->valuedouble;
        ax->bins = (size_t)bins->valuedouble;
        if (!(ax->edges = malloc((ax->bins + 1) * sizeof *ax->edges)))
            return QD_ENOMEM;
        for (size_t i = 0; i <= ax->bins; i++)
            ax->edges[i] = lo + (hi - lo) * (double)i / (double)ax->bins;
    } else {
        return QD_EFORMAT;
    }
    ax->lo = ax->edges[0];
    ax->hi = ax->edges[ax->bins];
    return QD_OK;
}

/* A continuous axis over the description's "ranges" (CVT), else over the
 * elites' own measures. */
static void range_axis(const qd_archive *a, size_t k, axis *ax)
{
    const cJSON *ranges = cJSON_GetObjectItemCaseSensitive(a->description, "ranges");
    const cJSON *r = cJSON_GetArrayItem(ranges, (int)k);
    ax->measure = k;
    ax->bins = 0;
    ax->edges = NULL;
    if (cJSON_GetArraySize(r) == 2) {
        ax->lo = cJSON_GetArrayItem(r, 0)->valuedouble;
        ax->hi = cJSON_GetArrayItem(r, 1)->valuedouble;
    } else {
        ax->lo = INFINITY;
        ax->hi = -INFINITY;
        for (size_t i = 0; i < a->filled; i++) {
            double v = a->measures[i * a->m + k];
            ax->lo = v < ax->lo ? v : ax->lo;
            ax->hi = v > ax->hi ? v : ax->hi;
        }
        if (!(ax->lo < ax->hi)) {
            ax->lo = a->filled ? ax->lo - 1 : 0;
            ax->hi = a->filled ? ax->hi + 1 : 1;
        }
    }
}

/* Where value v sits along an axis, in [0, 1]: grids in bin-index space
 * (linear inside each bin), continuous axes linearly. */
static double axis_pos(const axis *ax, double v)
{
    if (!ax->bins)
        return (v - ax->lo) / (ax->hi - ax->lo);
    if (v <= ax->edges[0])
        return 0;
    for (size_t b = 0; b < ax->bins; b++)
        if (v < ax->edges[b + 1])
            return ((double)b + (v - ax->edges[b]) / (ax->edges[b + 1] - ax->edges[b])) / (double)ax->bins;
    return 1;
}

/* A round step (1, 2 or 5 times a power of ten) giving about n ticks. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
}

static void tick_line(FILE *fp, int vertical, double x0, double y0, double len, double t)
{
    if (!fp) /* ticks() measuring its labels */
        return;
    if (vertical)
        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>", x0 - 5,
                y0 + len - t * len, x0, y0 + len - t * len);
    else
        fprintf(fp, "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>", x0 + t * len, y0,
                x0 + t * len, y0 + 5);
}

static size_t tick_text(FILE *fp, int vertical, double x0, double y0, double len, double t, const char *label)
{
    size_t n = label ? strlen(label) : 0;
    if (!fp)
        return n;
    if (vertical)
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" dominant-baseline=\"middle\">", x0 - 8,
                y0 + len - t * len);
    else
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", x0 + t * len, y0 + 18);
    qdi_xml_text(fp, label);
    fputs("</text>\n", fp);
    return n;
}

static size_t tick(FILE *fp, int vertical, double x0, double y0, double len, double t, double v)
{
    char label[32];
    snprintf(label, sizeof label, "%.4g", fabs(v) < 1e-12 ? 0.0 : v);
    tick_line(fp, vertical, x0, y0, len, t);
    return tick_text(fp, vertical, x0, y0, len, t, label);
}

/* Nonzero when a grid axis's bins are all as wide (or the axis is
 * continuous). */
static int uniform_bins(const axis *ax)
{
    for (size_t i = 1; ax->bins && i < ax->bins; i++)
        if (fabs((ax->edges[i + 1] - ax->edges[i]) - (ax->edges[1] - ax->edges[0])) > 1e-9 * (ax->hi - ax->lo))
            return 0;
    return 1;
}

/* Ticks of an axis. A categorical axis (QDAIF's genre) gets its category
 * names at the middle of their intervals; uniform bins and continuous
 * ranges get round values; explicit (non-uniform) edges are labelled
 * themselves, every edge when there are at most 12 bins, else every k-th.
 * Positions are in [0, 1]. Returns the longest label's length in bytes;
 * with fp NULL only measures them. */
static size_t ticks(FILE *fp, const qd_archive *a, const axis *ax, int vertical, double x0, double y0, double len)
{
    size_t nc = qdi_axis_categories(a, ax->measure), longest = 0, n;
    if (nc && nc <= 40) {
        for (size_t j = 0; j < nc; j++) {
            double t = axis_pos(ax, (double)j + 0.5);
            if (t <= 0 || t >= 1)
                continue;
            tick_line(fp, vertical, x0, y0, len, t);
            n = tick_text(fp, vertical, x0, y0, len, t, qdi_axis_category(a, ax->measure, (double)j + 0.5));
            longest = n > longest ? n : longest;
        }
        return longest;
    }
    if (!uniform_bins(ax)) {
        size_t every = ax->bins <= 12 ? 1 : (ax->bins + 9) / 10;
        for (size_t e = 0; e <= ax->bins; e += every) {
            n = tick(fp, vertical, x0, y0, len, (double)e / (double)ax->bins, ax->edges[e]);
            longest = n > longest ? n : longest;
        }
        return longest;
    }
    double step = nice_step(ax->hi - ax->lo, len < 200 ? 3 : 6);
    for (double v = ceil(ax->lo / step - 1e-9) * step; v <= ax->hi + 1e-9 * step; v += step) {
        n = tick(fp, vertical, x0, y0, len, (v - ax->lo) / (ax->hi - ax->lo), v);
        longest = n > longest ? n : longest;
    }
    return longest;
}

/* Numbers of the per-cell markup: printf's "%.2f" / "%.Pg" text through
 * qdi_format_f / qdi_format_g (an archive of 10,000 elites printed through
 * fprintf cost 20,000 instructions per elite, most of a Quick-start save). */
static void put_f2(qdi_outbuf *o, const char *before, double v)
{
    qdi_out_puts(o, before);
    qdi_out_commit(o, qdi_format_f(qdi_out_room(o, QDI_FORMAT_F_MAX), v, 2));
}

static void put_g(qdi_outbuf *o, double v, int prec)
{
    qdi_out_commit(o, qdi_format_g(qdi_out_room(o, 32), v, prec));
}

/* Which measures have category names (cat[k] 1), looked up once per map
 * rather than once per cell (a->m <= 64, checked before drawing). */
static void categorical(const qd_archive *a, unsigned char *cat)
{
    for (size_t k = 0; k < a->m && k < 64; k++)
        cat[k] = qdi_axis_categories(a, k) > 0;
}

/* "0.5 (haiku)": a measure printed short, with its category if it has one. */
static void measure_text(qdi_outbuf *o, const qd_archive *a, const unsigned char *cat, size_t k, double v)
{
    const char *c = cat[k] ? qdi_axis_category(a, k, v) : NULL;
    put_g(o, v, 4);
    if (c) {
        qdi_out_puts(o, " (");
        qdi_out_xml_text(o, c);
        qdi_out_c(o, ')');
    }
}

static void cell_title(qdi_outbuf *o, const qd_archive *a, const unsigned char *cat, size_t slot)
{
    qdi_out_puts(o, "<title>cell ");
    qdi_out_u64(o, a->cell_of_slot[slot]);
    qdi_out_puts(o, ": objective ");
    put_g(o, a->objective[slot], 6);
    qdi_out_puts(o, "; measures");
    for (size_t k = 0; k < a->m; k++) {
        qdi_out_puts(o, k ? ", " : " ");
        measure_text(o, a, cat, k, a->measures[slot * a->m + k]);
    }
    if (a->text && a->text[slot]) {
        size_t len = strlen(a->text[slot]);
        char *cut = strndup(a->text[slot], len > 200 ? 200 : len);
        qdi_out_c(o, '\n');
        qdi_out_xml_text(o, cut ? cut : "");
        if (len > 200)
            qdi_out_puts(o, "...");
        free(cut);
    }
    qdi_out_puts(o, "</title>");
}

/* The bins of a grid elite (coords has a->m entries). */
static void grid_coords(const qd_archive *a, size_t slot, size_t *coords)
{
    qd_archive_coords(a, a->cell_of_slot[slot], coords);
}

/* Grid: one rect per shown cell, the best elite over the measures that are
 * neither shown nor fixed (fix[k] SIZE_MAX: free; else only elites in bin
 * fix[k] of measure k count). */
static int draw_grid(FILE *fp, const qd_archive *a, const axis *ax, const axis *ay, const size_t *fix, double x0,
                     double y0, double w, double h, double vmin, double vmax)
{
    size_t ny = ay ? ay->bins : 1, nx = ax->bins, coords[64], row = SIZE_MAX;
    size_t *best;
    char color[8], ws[QDI_FORMAT_F_MAX], hs[QDI_FORMAT_F_MAX], ys[QDI_FORMAT_F_MAX], b[QDI_FORMAT_F_MAX];
    int rc = QD_OK;
    char **xs; /* each column's x, formatted when first drawn: a cell's coordinates are its column's and row's */
    unsigned char cat[64];
    qdi_outbuf o;
    categorical(a, cat);
    if (nx > SIZE_MAX / ny || !(best = malloc(nx * ny * sizeof *best)))
        return QD_ENOMEM;
    if (!(xs = calloc(nx, sizeof *xs))) {
        free(best);
        return QD_ENOMEM;
    }
    qdi_out_init(&o, fp);
    qdi_format_f(ws, w / (double)nx, 2);
    qdi_format_f(hs, h / (double)ny, 2);
    for (size_t i = 0; i < nx * ny; i++)
        best[i] = QDI_EMPTY;
    for (size_t s = 0; s < a->filled; s++) {
        int in = 1;
        grid_coords(a, s, coords);
        for (size_t k = 0; fix && k < a->m; k++)
            in &= fix[k] == SIZE_MAX || coords[k] == fix[k];
        if (!in)
            continue;
        size_t i = coords[ax->measure] + nx * (ay ? coords[ay->measure] : 0);
        if (best[i] == QDI_EMPTY || a->objective[s] > a->objective[best[i]])
            best[i] = s;
    }
    for (size_t i = 0; i < nx * ny; i++) {
        size_t s = best[i], bx = i % nx, by = i / nx;
        if (s == QDI_EMPTY)
            continue;
        if (by != row) {
            qdi_format_f(ys, y0 + h - h * (double)(by + 1) / (double)ny, 2);
            row = by;
        }
        if (!xs[bx]) {
            qdi_format_f(b, x0 + w * (double)bx / (double)nx, 2);
            if (!(xs[bx] = strdup(b))) {
                rc = QD_ENOMEM;
                break;
            }
        }
        color_of((a->objective[s] - vmin) / (vmax - vmin), color);
        qdi_out_puts(&o, "<rect class=\"cell\" data-slot=\"");
        qdi_out_u64(&o, s);
        qdi_out_puts(&o, "\" x=\"");
        qdi_out_puts(&o, xs[bx]);
        qdi_out_puts(&o, "\" y=\"");
        qdi_out_puts(&o, ys);
        qdi_out_puts(&o, "\" width=\"");
        qdi_out_puts(&o, ws);
        qdi_out_puts(&o, "\" height=\"");
        qdi_out_puts(&o, hs);
        qdi_out_puts(&o, "\" fill=\"");
        qdi_out_puts(&o, color);
        qdi_out_puts(&o, "\">");
        cell_title(&o, a, cat, s);
        qdi_out_puts(&o, "</rect>\n");
    }
    qdi_out_flush(&o);
    for (size_t i = 0; i < nx; i++)
        free(xs[i]);
    free(xs);
    free(best);
    return rc;
}

/* The CVT centroids (k * m) from the description, or NULL. */
double *qdi_heatmap_centroids(const qd_archive *a)
{
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(a->description, "centroids"), *row;
    cJSON *parsed = NULL;
    double *out = NULL;
    size_t i = 0;
    if (cJSON_IsRaw(c))
        c = parsed = cJSON_Parse(c->valuestring);
    if (cJSON_IsArray(c) && (size_t)cJSON_GetArraySize(c) == a->cells && (out = malloc(a->cells * a->m * sizeof *out)))
        cJSON_ArrayForEach(row, c) {
            for (size_t k = 0; k < a->m; k++) {
                const cJSON *v = cJSON_GetArrayItem(row, (int)k);
                if (!cJSON_IsNumber(v)) {
                    free(out);
                    out = NULL;
                    goto done;
                }
                out[i * a->m + k] = v->valuedouble;
            }
            i++;
        }
done:
    cJSON_Delete(parsed);
    return out;
}

/* CVT in 2-D: every cell as its Voronoi polygon clipped to the measure box
 * (voronoi.c), outlined; a filled cell is coloured by its elite and carries
 * its tooltip, an empty one is drawn empty. QD_EFORMAT when the description
 * has no centroids. */
static int draw_voronoi(FILE *fp, const qd_archive *a, const axis *ax, const axis *ay, double x0, double y0,
                        double w, double h, double vmin, double vmax)
{
    double *c = qdi_heatmap_centroids(a), lo[2] = {ax->lo, ay->lo}, hi[2] = {ax->hi, ay->hi};
    qdi_voronoi v;
    char color[8];
    unsigned char cat[64];
    qdi_outbuf o;
    if (!c)
        return QD_EFORMAT;
    categorical(a, cat);
    int rc = qdi_voronoi_build(&v, c, a->cells, lo, hi);
    free(c);
    if (rc)
        return rc;
    qdi_out_init(&o, fp);
    for (size_t cell = 0; cell < a->cells; cell++) {
        size_t s = a->slot_of_cell[cell];
        if (v.start[cell + 1] - v.start[cell] < 3)
            continue;
        if (s == QDI_EMPTY)
            qdi_out_puts(&o, "<polygon class=\"empty\" fill=\"#fcfcfc\" stroke=\"#999\" stroke-width=\"0.5\" points=\"");
        else {
            color_of((a->objective[s] - vmin) / (vmax - vmin), color);
            qdi_out_puts(&o, "<polygon class=\"cell\" data-slot=\"");
            qdi_out_u64(&o, s);
            qdi_out_puts(&o, "\" fill=\"");
            qdi_out_puts(&o, color);
            qdi_out_puts(&o, "\" stroke=\"#555\" stroke-width=\"0.5\" points=\"");
        }
        for (size_t j = v.start[cell]; j < v.start[cell + 1]; j++)
        {
            put_f2(&o, j > v.start[cell] ? " " : "", x0 + w * axis_pos(ax, v.xy[2 * j]));
            put_f2(&o, ",", y0 + h - h * axis_pos(ay, v.xy[2 * j + 1]));
        }
        qdi_out_puts(&o, "\">");
        if (s != QDI_EMPTY) {
            cell_title(&o, a, cat, s);
        } else {
            qdi_out_puts(&o, "<title>cell ");
            qdi_out_u64(&o, cell);
            qdi_out_puts(&o, ": empty</title>");
        }
        qdi_out_puts(&o, "</polygon>\n");
    }
    qdi_out_flush(&o);
    qdi_voronoi_free(&v);
    return QD_OK;
}

/* Any other archive: the elites as points at their measures. */
static void draw_points(FILE *fp, const qd_archive *a, const axis *ax, const axis *ay, double x0, double y0, double w,
                        double h, double vmin, double vmax)
{
    char color[8];
    unsigned char cat[64];
    qdi_outbuf o;
    categorical(a, cat);
    qdi_out_init(&o, fp);
    for (size_t s = 0; s < a->filled; s++) {
        double tx = axis_pos(ax, a->measures[s * a->m + ax->measure]), ty = 0.5;
        if (ay)
            ty = axis_pos(ay, a->measures[s * a->m + ay->measure]);
        tx = tx < 0 ? 0 : tx > 1 ? 1 : tx;
        ty = ty < 0 ? 0 : ty > 1 ? 1 : ty;
        color_of((a->objective[s] - vmin) / (vmax - vmin), color);
        qdi_out_puts(&o, "<circle class=\"cell\" data-slot=\"");
        qdi_out_u64(&o, s);
        put_f2(&o, "\" cx=\"", x0 + w * tx);
        put_f2(&o, "\" cy=\"", y0 + h - h * ty);
        qdi_out_puts(&o, "\" r=\"3\" fill=\"");
        qdi_out_puts(&o, color);
        qdi_out_puts(&o, "\">");
        cell_title(&o, a, cat, s);
        qdi_out_puts(&o, "</circle>\n");
    }
    qdi_out_flush(&o);
}

static void color_bar(FILE *fp, double x, double y, double h, double vmin, double vmax)
{
    char color[8], label[32];
    fputs("<defs><linearGradient id=\"viridis\" x1=\"0\" y1=\"1\" x2=\"0\" y2=\"0\">\n", fp);
    for (int i = 0; i <= 10; i++) {
        color_of(i / 10.0, color);
        fprintf(fp, "<stop offset=\"%.1f\" stop-color=\"%s\"/>\n", i / 10.0, color);
    }
    fputs("</linearGradient></defs>\n", fp);
    fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"url(#viridis)\" stroke=\"#333\"/>\n",
            x, y, BAR_WIDTH, h);
    for (int i = 0; i <= 4; i++) {
        double t = i / 4.0;
        snprintf(label, sizeof label, "%.4g", vmin + (vmax - vmin) * t);
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" dominant-baseline=\"middle\">%s</text>\n", x + BAR_WIDTH + 4,
                y + h - t * h, label);
    }
    fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">objective</text>\n", x + BAR_WIDTH / 2, y - 16);
}

/* The axis's name, centred along it, and on a probability axis the names of
 * its ends ("romance" at the low end, "horror" at the high one): under the
 * x axis's name, between the y axis's name and its tick labels (to its
 * left they ran off the picture). */
static void axis_label(FILE *fp, const qd_archive *a, const axis *ax, int vertical, double cx, double cy, double len)
{
    const char *name = qdi_axis_name(a, ax->measure), *low, *high;
    char fallback[32], rot[96] = "";
    int ends = qdi_axis_ends(a, ax->measure, &low, &high);
    snprintf(fallback, sizeof fallback, "measure_%zu", ax->measure);
    if (vertical)
        snprintf(rot, sizeof rot, " transform=\"rotate(-90 %.2f %.2f)\"", cx, cy);
    fprintf(fp, "<text class=\"axis-name\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\"%s>", cx, cy, rot);
    qdi_xml_text(fp, name ? name : fallback);
    if (ends) {
        fputs(": ", fp);
        qdi_xml_text(fp, low);
        fputs(" \xe2\x86\x94 ", fp); /* U+2194 */
        qdi_xml_text(fp, high);
    }
    fputs("</text>\n", fp);
    if (!ends)
        return;
    /* the end names under the ends, in the rotated frame for the y axis */
    fprintf(fp, "<text class=\"axis-end\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"start\" fill=\"#555\"%s>", cx - len / 2,
            cy + (vertical ? Y_END_GAP : 14), rot);
    qdi_xml_text(fp, low);
    fprintf(fp, "</text>\n<text class=\"axis-end\" x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" fill=\"#555\"%s>",
            cx + len / 2, cy + (vertical ? Y_END_GAP : 14), rot);
    qdi_xml_text(fp, high);
    fputs("</text>\n", fp);
}

/* The colour scale: the options' range, else the elites' objectives;
 * bounded by the evaluator's objective range when it declares one, and
 * widened (within that range) when every elite has the same objective. */
void qdi_heatmap_color_range(const qd_archive *a, const qd_heatmap_options *o, double *vmin, double *vmax)
{
    double lo = INFINITY, hi = -INFINITY, rlo, rhi;
    int ranged = qdi_objective_range(a, &rlo, &rhi);
    for (size_t s = 0; s < a->filled; s++) {
        lo = fmin(lo, a->objective[s]);
        hi = fmax(hi, a->objective[s]);
    }
    if (!a->filled || !isfinite(lo) || !isfinite(hi)) {
        lo = ranged ? rlo : 0;
        hi = ranged ? rhi : 1;
    }
    if (!isnan(o->vmin))
        lo = o->vmin;
    if (!isnan(o->vmax))
        hi = o->vmax;
    if (!(hi > lo)) {
        double c = lo;
        lo = c - 0.5;
        hi = c + 0.5;
        if (ranged && isnan(o->vmin) && isnan(o->vmax)) {
            lo = fmax(lo, rlo);
            hi = fmin(hi, rhi);
            if (!(hi > lo)) {
                lo = rlo;
                hi = rhi;
            }
        }
    }
    *vmin = lo;
    *vmax = hi;
}

/* The facets of a 3-D or 4-D grid: the measures other than x and y and the
 * numbers of columns and rows (0 when there are none). */
static size_t facet_layout(const qd_archive *a, const qd_heatmap_options *o, size_t hidden[2], axis fa[2],
                           size_t *cols, size_t *rows)
{
    size_t nh = 0;
    if (!a->type->coords || a->m < 3 || a->m > 4)
        return 0;
    for (size_t k = 0; k < a->m; k++)
        if (k != o->x_measure && k != o->y_measure)
            hidden[nh++] = k;
    size_t n0 = fa[0].bins, n1 = nh > 1 ? fa[1].bins : 1;
    if (n0 * n1 > MAX_FACETS)
        return 0;
    if (nh == 1) { /* 3-D: wrap the slices into rows of at most 6 */
        *cols = n0 < 6 ? n0 : 6;
        *rows = (n0 + *cols - 1) / *cols;
    } else {
        *cols = n0;
        *rows = n1;
    }
    return nh;
}

/* The title of a facet: "tone: dark" or "measure_2 in [0, 1)". */
static void facet_title(FILE *fp, const qd_archive *a, const axis *fa, size_t bin)
{
    const char *name = qdi_axis_name(a, fa->measure), *cat = NULL;
    if (qdi_axis_categories(a, fa->measure))
        cat = qdi_axis_category(a, fa->measure, 0.5 * (fa->edges[bin] + fa->edges[bin + 1]));
    if (name)
        qdi_xml_text(fp, name);
    else
        fprintf(fp, "measure_%zu", fa->measure);
    if (cat) {
        fputs(": ", fp);
        qdi_xml_text(fp, cat);
    } else {
        fprintf(fp, " in [%.4g, %.4g)", fa->edges[bin], fa->edges[bin + 1]);
    }
}

/* Room the y axis's tick labels (drawn along len px) need beyond the
 * default margin: category names ("mysterious") and long numbers are wider
 * than the margin's numbers (about 6.5 px a character at font size 12); a
 * probability axis's end names take Y_END_GAP more. */
static double y_label_room(const qd_archive *a, const axis *ay, double len)
{
    const char *low, *high;
    size_t longest = ticks(NULL, a, ay, 1, 0, 0, len);
    /* the labels, their gap, the rotated axis name, the end names */
    double need = 6.5 * (double)longest + 8 + 30 + (qdi_axis_ends(a, ay->measure, &low, &high) ? Y_END_GAP : 0);
    return need > MARGIN_LEFT ? need - MARGIN_LEFT : 0;
}

static int draw(FILE *fp, const qd_archive *a, const qd_heatmap_options *o, axis *ax, axis *ay, axis fa[2])
{
    if (!fp) /* a dry run that only checks the options */
        return QD_OK;
    int grid = a->type->coords != NULL, one_d = a->m == 1;
    size_t hidden[2], cols = 1, rows = 1, nh = facet_layout(a, o, hidden, fa, &cols, &rows);
    double fs = nh ? fmax(80.0, (double)o->size / (double)(cols > rows ? cols : rows)) : (double)o->size;
    double w = nh ? (double)cols * fs + (double)(cols - 1) * FACET_GAP_X : fs;
    double h = one_d ? 48.0 : nh ? (double)rows * (fs + FACET_GAP_Y) - FACET_GAP_Y : fs;
    double room = a->m > 1 ? y_label_room(a, ay, nh ? fs : h) : 0;
    double x0 = MARGIN_LEFT + room, y0 = MARGIN_TOP + (nh ? FACET_GAP_Y : 0), vmin, vmax;
    int projected = !one_d && !nh && a->m > 2;
    double bottom = MARGIN_BOTTOM + (projected ? 20 : 0);
    qd_archive_stats st;
    int rc = QD_OK;
    qd_archive_stats_get(a, &st);
    qdi_heatmap_color_range(a, o, &vmin, &vmax);
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\">\n",
            x0 + w + MARGIN_RIGHT, y0 + h + bottom, x0 + w + MARGIN_RIGHT, y0 + h + bottom);
    fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    if (o->title) {
        fprintf(fp, "<text x=\"%.2f\" y=\"20\" font-size=\"15\" font-weight=\"bold\">", x0);
        qdi_xml_text(fp, o->title);
        fputs("</text>\n", fp);
    }
    fprintf(fp, "<text x=\"%.2f\" y=\"40\">%zu of %zu cells (%.2f%%), QD score %.6g, best %.6g</text>\n", x0,
            st.filled, st.cells, 100.0 * st.coverage, st.qd_score, a->filled ? st.obj_max : 0.0);
    if (nh) { /* one 2-D slice per bin of the other measures */
        size_t fix[4] = {SIZE_MAX, SIZE_MAX, SIZE_MAX, SIZE_MAX}, n = fa[0].bins * (nh > 1 ? fa[1].bins : 1);
        for (size_t f = 0; f < n && !rc; f++) {
            size_t col = f % cols, row = f / cols;
            double fx = x0 + (double)col * (fs + FACET_GAP_X), fy = y0 + (double)row * (fs + FACET_GAP_Y);
            fix[hidden[0]] = nh > 1 ? f % fa[0].bins : f;
            if (nh > 1)
                fix[hidden[1]] = f / fa[0].bins;
            fprintf(fp, "<g class=\"facet\"><text class=\"facet-title\" x=\"%.2f\" y=\"%.2f\">", fx, fy - 6);
            facet_title(fp, a, &fa[0], fix[hidden[0]]);
            if (nh > 1) {
                fputs(", ", fp);
                facet_title(fp, a, &fa[1], fix[hidden[1]]);
            }
            fprintf(fp, "</text>\n<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#e8e8e8\" "
                        "stroke=\"#333\"/>\n",
                    fx, fy, fs, fs);
            rc = draw_grid(fp, a, ax, ay, fix, fx, fy, fs, fs, vmin, vmax);
            if (row == rows - 1 || f + cols >= n)
                ticks(fp, a, ax, 0, fx, fy + fs, fs);
            if (col == 0)
                ticks(fp, a, ay, 1, fx, fy, fs);
            fputs("</g>\n", fp);
        }
    } else {
        fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#e8e8e8\" stroke=\"#333\"/>\n",
                x0, y0, w, h);
        if (grid)
            rc = draw_grid(fp, a, ax, one_d ? NULL : ay, NULL, x0, y0, w, h, vmin, vmax);
        else if (a->m == 2 && (rc = draw_voronoi(fp, a, ax, ay, x0, y0, w, h, vmin, vmax)) == QD_EFORMAT)
            rc = QD_OK, draw_points(fp, a, ax, ay, x0, y0, w, h, vmin, vmax);
        else if (a->m != 2)
            draw_points(fp, a, ax, one_d ? NULL : ay, x0, y0, w, h, vmin, vmax);
        ticks(fp, a, ax, 0, x0, y0 + h, w);
        if (!one_d)
            ticks(fp, a, ay, 1, x0, y0, h);
    }
    axis_label(fp, a, ax, 0, x0 + w / 2, y0 + h + 40, w);
    if (!one_d)
        axis_label(fp, a, ay, 1, 22, y0 + h / 2, h);
    if (projected)
        fprintf(fp, "<text class=\"note\" x=\"%.2f\" y=\"%.2f\" fill=\"#a00\">A projection: each %s shows the best "
                    "elite over the %zu measures not drawn (the report's parallel axes show all %zu).</text>\n",
                x0, y0 + h + 70, grid ? "square" : "point", a->m - 2, a->m);
    color_bar(fp, x0 + w + BAR_GAP, y0 + (one_d ? 0 : 20), one_d ? h : (h > 120 ? h - 40 : h), vmin, vmax);
    fputs("</svg>\n", fp);
    return rc;
}

int qdi_heatmap_write(FILE *fp, const qd_archive *a, const qd_heatmap_options *opt, const char *name, char *err,
                      size_t errlen)
{
    qd_heatmap_options o;
    axis ax = {0}, ay = {0}, fa[2] = {{0}, {0}};
    int rc;
    if (opt)
        o = *opt;
    else
        qd_heatmap_defaults(&o);
    if (o.x_measure >= a->m || (a->m > 1 && (o.y_measure >= a->m || o.y_measure == o.x_measure))) {
        qdi_set_error(err, errlen, "%s: heatmap measures %zu and %zu: the archive has %zu measure%s (numbered from 0)",
                      name, o.x_measure, o.y_measure, a->m, a->m == 1 ? "" : "s");
        return QD_EINVAL;
    }
    if (a->m > 64) {
        qdi_set_error(err, errlen, "%s: heatmaps take archives of at most 64 measures, this one has %zu", name, a->m);
        return QD_EINVAL;
    }
    if (o.size < 16 || o.size > 100000 || o.raster < 1 || o.raster > 4096) {
        qdi_set_error(err, errlen, "%s: heatmap size %zu (16..100000) or raster %zu (1..4096) out of range", name,
                      o.size, o.raster);
        return QD_EINVAL;
    }
    if (a->type->coords) {
        if ((rc = grid_axis(a, o.x_measure, &ax)) || (a->m > 1 && (rc = grid_axis(a, o.y_measure, &ay)))) {
            qdi_set_error(err, errlen, "%s: the archive description has no bins for its measures", name);
            goto done;
        }
    } else {
        range_axis(a, o.x_measure, &ax);
        if (a->m > 1)
            range_axis(a, o.y_measure, &ay);
    }
    if (a->type->coords && a->m >= 3 && a->m <= 4) /* the facets' axes */
        for (size_t k = 0, n = 0; k < a->m; k++)
            if (k != o.x_measure && k != o.y_measure && (rc = grid_axis(a, k, &fa[n++]))) {
                qdi_set_error(err, errlen, "%s: the archive description has no bins for its measures", name);
                goto done;
            }
    if ((rc = draw(fp, a, &o, &ax, &ay, fa)))
        qdi_set_error(err, errlen, "%s: out of memory", name);
done:
    free(ax.edges);
    free(ay.edges);
    free(fa[0].edges);
    free(fa[1].edges);
    return rc;
}

int qd_archive_save_svg(const qd_archive *a, const qd_heatmap_options *opt, const char *path, char *err,
                        size_t errlen)
{
    qdi_atomic_file f;
    int rc;
    /* check the options before a temporary file is made */
    if ((rc = qdi_heatmap_write(NULL, a, opt, path, err, errlen)) != QD_OK)
        return rc;
    if ((rc = qdi_atomic_open(&f, path, err, errlen)))
        return rc;
    if ((rc = qdi_heatmap_write(f.fp, a, opt, path, err, errlen))) {
        qdi_atomic_abort(&f);
        return rc;
    }
    return qdi_atomic_commit(&f, err, errlen);
}

cJSON *qdi_heatmap_axes_json(const qd_archive *a)
{
    cJSON *all = cJSON_CreateArray();
    for (size_t k = 0; all && k < a->m; k++) {
        axis ax = {0};
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddItemToArray(all, o))
            goto fail;
        if (a->type->coords) {
            if (grid_axis(a, k, &ax))
                goto fail;
            cJSON_AddItemToObject(o, "edges", qdi_json_doubles(ax.edges, ax.bins + 1));
            cJSON_AddBoolToObject(o, "uniform", uniform_bins(&ax));
            free(ax.edges);
        } else {
            range_axis(a, k, &ax);
            cJSON_AddItemToObject(o, "lo", qdi_json_double(ax.lo));
            cJSON_AddItemToObject(o, "hi", qdi_json_double(ax.hi));
        }
    }
    return all;
fail:
    cJSON_Delete(all);
    return NULL;
}
