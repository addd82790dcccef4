/* heatmap_svg.c - an archive as an SVG heatmap: each filled cell coloured by
 * its elite's objective (viridis, as pyribs' grid_archive_heatmap and
 * cvt_archive_heatmap), empty cells light grey, axes named after the
 * measures, a colour bar, and a tooltip (<title>) per cell with its index,
 * objective and measures.
 *
 * Grid archives are drawn in bin-index space: every bin is as wide as every
 * other, with tick labels at the true edges, so QDAIF's non-uniform bins
 * (0.005 wide at the ends, 0.3 in the middle) all stay visible. One measure
 * gives one row of bins; two give the grid; with more, the two chosen
 * measures are shown and each pixel holds the best elite over the others.
 * CVT archives with two measures are drawn as a raster: each pixel of the
 * measure box takes the colour of the elite of its nearest centroid (the
 * archive's own lookup), so the Voronoi cells appear without computing
 * their polygons; with more than two measures the elites are drawn as
 * points at their (x, y) measures. The file is written atomically and is
 * the same bytes for the same archive. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"

#define MARGIN_LEFT 80.0
#define MARGIN_TOP 56.0
#define MARGIN_BOTTOM 56.0
#define BAR_GAP 24.0
#define BAR_WIDTH 16.0
#define MARGIN_RIGHT 96.0

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
    snprintf(buf, 8, "#%02x%02x%02x", c[0], c[1], c[2]);
}

/* Writes s with XML's five special characters escaped. */
static void xml_text(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        case '\'': fputs("&apos;", fp); break;
        default: fputc(*s, fp);
        }
    }
}

/* The measure names from the description (NULL when absent). */
static const char *measure_name(const qd_archive *a, size_t k)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(a->description, "measure_names");
    const cJSON *n = cJSON_GetArrayItem(names, (int)k);
    return cJSON_IsString(n) ? n->valuestring : NULL;
}

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
    } else if (cJSON_IsNumber(bins) && bins->valuedouble >= 1 && cJSON_GetArraySize(range) == 2) {
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

/* A round step (1, 2 or 5 times a power of ten) giving about n ticks. */
static double nice_step(double span, int n)
{
    double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
}

static void tick(FILE *fp, int vertical, double x0, double y0, double len, double t, double v)
{
    char label[32];
    snprintf(label, sizeof label, "%.4g", fabs(v) < 1e-12 ? 0.0 : v);
    if (vertical)
        fprintf(fp,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                x0 - 5, y0 + len - t * len, x0, y0 + len - t * len, x0 - 8, y0 + len - t * len, label);
    else
        fprintf(fp,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
                x0 + t * len, y0, x0 + t * len, y0 + 5, x0 + t * len, y0 + 18, label);
}

/* Ticks of an axis. Uniform bins and continuous ranges get round values;
 * explicit (non-uniform) edges are labelled themselves, every edge when
 * there are at most 12 bins, else every k-th. Positions are in [0, 1]. */
static void ticks(FILE *fp, const axis *ax, int vertical, double x0, double y0, double len)
{
    int uniform = 1;
    for (size_t i = 1; ax->bins && i < ax->bins; i++)
        if (fabs((ax->edges[i + 1] - ax->edges[i]) - (ax->edges[1] - ax->edges[0])) >
            1e-9 * (ax->hi - ax->lo))
            uniform = 0;
    if (!uniform) {
        size_t every = ax->bins <= 12 ? 1 : (ax->bins + 9) / 10;
        for (size_t e = 0; e <= ax->bins; e += every)
            tick(fp, vertical, x0, y0, len, (double)e / (double)ax->bins, ax->edges[e]);
        return;
    }
    double step = nice_step(ax->hi - ax->lo, 6);
    for (double v = ceil(ax->lo / step - 1e-9) * step; v <= ax->hi + 1e-9 * step; v += step)
        tick(fp, vertical, x0, y0, len, (v - ax->lo) / (ax->hi - ax->lo), v);
}

static void cell_title(FILE *fp, const qd_archive *a, size_t slot)
{
    char buf[32];
    fprintf(fp, "<title>cell %zu: objective %s; measures", a->cell_of_slot[slot],
            qdi_format_double(buf, a->objective[slot]));
    for (size_t k = 0; k < a->m; k++)
        fprintf(fp, "%s%s", k ? ", " : " ", qdi_format_double(buf, a->measures[slot * a->m + k]));
    if (a->text && a->text[slot]) {
        size_t len = strlen(a->text[slot]);
        char *cut = strndup(a->text[slot], len > 200 ? 200 : len);
        fputs("\n", fp);
        xml_text(fp, cut ? cut : "");
        if (len > 200)
            fputs("...", fp);
        free(cut);
    }
    fputs("</title>", fp);
}

/* The bin of a grid elite along one axis. */
static size_t grid_bin(const qd_archive *a, size_t slot, const axis *ax)
{
    size_t coords[64];
    qd_archive_coords(a, a->cell_of_slot[slot], coords);
    return coords[ax->measure];
}

/* Grid: one rect per shown cell (the best elite over hidden dimensions). */
static int draw_grid(FILE *fp, const qd_archive *a, const axis *ax, const axis *ay, double x0, double y0, double w,
                     double h, double vmin, double vmax)
{
    size_t ny = ay ? ay->bins : 1, nx = ax->bins;
    size_t *best;
    char color[8];
    if (nx > SIZE_MAX / ny || !(best = malloc(nx * ny * sizeof *best)))
        return QD_ENOMEM;
    for (size_t i = 0; i < nx * ny; i++)
        best[i] = QDI_EMPTY;
    for (size_t s = 0; s < a->filled; s++) {
        size_t i = grid_bin(a, s, ax) + nx * (ay ? grid_bin(a, s, ay) : 0);
        if (best[i] == QDI_EMPTY || a->objective[s] > a->objective[best[i]])
            best[i] = s;
    }
    for (size_t i = 0; i < nx * ny; i++) {
        size_t s = best[i], bx = i % nx, by = i / nx;
        if (s == QDI_EMPTY)
            continue;
        color_of((a->objective[s] - vmin) / (vmax - vmin), color);
        fprintf(fp, "<rect class=\"cell\" data-slot=\"%zu\" x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\">",
                s, x0 + w * (double)bx / (double)nx, y0 + h - h * (double)(by + 1) / (double)ny, w / (double)nx,
                h / (double)ny, color);
        cell_title(fp, a, s);
        fputs("</rect>\n", fp);
    }
    free(best);
    return QD_OK;
}

/* CVT in 2-D: a raster of the nearest centroid's elite, run-length coded
 * per row (one rect per run of equal cells). */
static int draw_raster(FILE *fp, const qd_archive *a, const axis *ax, const axis *ay, size_t res, double x0,
                       double y0, double w, double h, double vmin, double vmax)
{
    size_t *row = malloc(res * sizeof *row);
    double pw = w / (double)res, ph = h / (double)res, mv[2];
    char color[8];
    if (!row)
        return QD_ENOMEM;
    for (size_t py = 0; py < res; py++) {
        mv[1] = ay->lo + (ay->hi - ay->lo) * ((double)py + 0.5) / (double)res;
        for (size_t px = 0; px < res; px++) {
            mv[0] = ax->lo + (ax->hi - ax->lo) * ((double)px + 0.5) / (double)res;
            row[px] = a->slot_of_cell[a->type->find(a->state, mv)];
        }
        for (size_t px = 0; px < res;) {
            size_t run = 1, s = row[px];
            while (px + run < res && row[px + run] == s)
                run++;
            if (s != QDI_EMPTY) {
                color_of((a->objective[s] - vmin) / (vmax - vmin), color);
                fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"%s\"/>\n",
                        x0 + pw * (double)px, y0 + h - ph * (double)(py + 1), pw * (double)run + 0.01, ph + 0.01,
                        color);
            }
            px += run;
        }
    }
    free(row);
    /* one invisible marker per elite at its centroid-side position keeps the
     * tooltips and lets a reader count the elites */
    for (size_t s = 0; s < a->filled; s++) {
        double mx = a->measures[s * a->m + ax->measure], my = a->measures[s * a->m + ay->measure];
        fprintf(fp, "<circle class=\"cell\" data-slot=\"%zu\" cx=\"%.2f\" cy=\"%.2f\" r=\"1.5\" fill=\"none\" stroke=\"none\">",
                s, x0 + w * (mx - ax->lo) / (ax->hi - ax->lo), y0 + h - h * (my - ay->lo) / (ay->hi - ay->lo));
        cell_title(fp, a, s);
        fputs("</circle>\n", fp);
    }
    return QD_OK;
}

/* Any other archive: the elites as points at their measures. */
static void draw_points(FILE *fp, const qd_archive *a, const axis *ax, const axis *ay, double x0, double y0, double w,
                        double h, double vmin, double vmax)
{
    char color[8];
    for (size_t s = 0; s < a->filled; s++) {
        double mx = a->measures[s * a->m + ax->measure];
        double tx = (mx - ax->lo) / (ax->hi - ax->lo), ty = 0.5;
        if (ay)
            ty = (a->measures[s * a->m + ay->measure] - ay->lo) / (ay->hi - ay->lo);
        tx = tx < 0 ? 0 : tx > 1 ? 1 : tx;
        ty = ty < 0 ? 0 : ty > 1 ? 1 : ty;
        color_of((a->objective[s] - vmin) / (vmax - vmin), color);
        fprintf(fp, "<circle class=\"cell\" data-slot=\"%zu\" cx=\"%.2f\" cy=\"%.2f\" r=\"3\" fill=\"%s\">", s, x0 + w * tx,
                y0 + h - h * ty, color);
        cell_title(fp, a, s);
        fputs("</circle>\n", fp);
    }
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

static void axis_label(FILE *fp, const qd_archive *a, const axis *ax, int vertical, double cx, double cy)
{
    const char *name = measure_name(a, ax->measure);
    char fallback[32];
    snprintf(fallback, sizeof fallback, "measure_%zu", ax->measure);
    if (vertical)
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\" transform=\"rotate(-90 %.2f %.2f)\">", cx,
                cy, cx, cy);
    else
        fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">", cx, cy);
    xml_text(fp, name ? name : fallback);
    fputs("</text>\n", fp);
}

static int draw(FILE *fp, const qd_archive *a, const qd_heatmap_options *o, axis *ax, axis *ay)
{
    if (!fp) /* a dry run that only checks the options */
        return QD_OK;
    int grid = a->type->coords != NULL, one_d = a->m == 1;
    double w = (double)o->size, h = one_d ? 48.0 : (double)o->size, x0 = MARGIN_LEFT, y0 = MARGIN_TOP;
    double vmin = o->vmin, vmax = o->vmax;
    qd_archive_stats st;
    int rc = QD_OK;
    qd_archive_stats_get(a, &st);
    if (isnan(vmin)) {
        vmin = INFINITY;
        for (size_t s = 0; s < a->filled; s++)
            vmin = a->objective[s] < vmin ? a->objective[s] : vmin;
    }
    if (isnan(vmax))
        vmax = st.obj_max;
    if (!a->filled || !isfinite(vmin) || !isfinite(vmax)) {
        vmin = 0;
        vmax = 1;
    }
    if (!(vmax > vmin))
        vmax = vmin + 1;
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" "
            "font-family=\"sans-serif\" font-size=\"12\" shape-rendering=\"crispEdges\">\n",
            x0 + w + MARGIN_RIGHT, y0 + h + MARGIN_BOTTOM, x0 + w + MARGIN_RIGHT, y0 + h + MARGIN_BOTTOM);
    fprintf(fp, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    if (o->title) {
        fprintf(fp, "<text x=\"%.2f\" y=\"20\" font-size=\"15\" font-weight=\"bold\">", x0);
        xml_text(fp, o->title);
        fputs("</text>\n", fp);
    }
    fprintf(fp, "<text x=\"%.2f\" y=\"40\">%zu of %zu cells (%.2f%%), QD score %.6g, best %.6g</text>\n", x0,
            st.filled, st.cells, 100.0 * st.coverage, st.qd_score, a->filled ? st.obj_max : 0.0);
    fprintf(fp, "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"#e8e8e8\" stroke=\"#333\"/>\n", x0,
            y0, w, h);
    if (grid)
        rc = draw_grid(fp, a, ax, one_d ? NULL : ay, x0, y0, w, h, vmin, vmax);
    else if (a->m == 2)
        rc = draw_raster(fp, a, ax, ay, o->raster, x0, y0, w, h, vmin, vmax);
    else
        draw_points(fp, a, ax, one_d ? NULL : ay, x0, y0, w, h, vmin, vmax);
    ticks(fp, ax, 0, x0, y0 + h, w);
    axis_label(fp, a, ax, 0, x0 + w / 2, y0 + h + 40);
    if (!one_d) {
        ticks(fp, ay, 1, x0, y0, h);
        axis_label(fp, a, ay, 1, 22, y0 + h / 2);
    }
    color_bar(fp, x0 + w + BAR_GAP, y0 + (one_d ? 0 : 20), one_d ? h : h - 40, vmin, vmax);
    fputs("</svg>\n", fp);
    return rc;
}

int qdi_heatmap_write(FILE *fp, const qd_archive *a, const qd_heatmap_options *opt, const char *name, char *err,
                      size_t errlen)
{
    qd_heatmap_options o;
    axis ax = {0}, ay = {0};
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
    if ((rc = draw(fp, a, &o, &ax, &ay)))
        qdi_set_error(err, errlen, "%s: out of memory", name);
done:
    free(ax.edges);
    free(ay.edges);
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
