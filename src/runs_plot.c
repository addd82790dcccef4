/* runs_plot.c - several runs' progress in one SVG: QD score, coverage and
 * best objective (obj_max) against evaluations, one panel each, runs
 * overlaid in distinct colours with a legend.
 *
 * Runs that share a group (seeds of one config) are drawn as one curve: the
 * mean over the seeds, with a shaded band from the seeds' minimum to their
 * maximum. The curve is sampled at every evaluation count at which some
 * seed has a row, from the count every seed has reached to the count every
 * seed has reached at its end; each seed's figure there is the one of its
 * last row at or before that count (the figures only change at rows). Axes
 * start at 0 (or below, for negative figures) and end on a round tick; tick
 * labels are short (1.5k, 20M). Long curves are thinned to at most
 * MAX_POINTS points, keeping the last. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

#define PANELS 3
#define PANEL_W 260.0
#define PANEL_H 180.0
#define LEFT 64.0
#define PANEL_STEP (PANEL_W + 96.0)
#define TOP 56.0
#define LEGEND_ROW 20.0
#define MAX_POINTS 800

static const char *const panel_names[PANELS] = {"QD score", "coverage (%)", "best objective"};
/* Colour-blind-safe categorical colours (Okabe and Ito, 2008), then greys. */
static const char *const palette[] = {"#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00",
                                      "#56b4e9", "#000000", "#f0e442", "#777777", "#aaaaaa"};

/* One curve: a lone run or a group's mean, with its band (lo = hi = mean
 * for a lone run). */
typedef struct curve {
    const char *label;
    size_t runs, n;
    double *x, *mean[PANELS], *lo[PANELS], *hi[PANELS];
} curve;

static double figure(const qd_metrics *r, int p)
{
    /* coverage in %, as elites compare and report.html show it */
    return p == 0 ? r->stats.qd_score : p == 1 ? 100.0 * r->stats.coverage : r->stats.obj_max;
}

/* A figure printed short: three significant digits, with k, M, G or T
 * for thousands and up (1.5k, 20M). len >= 16. */
static void short_number(char *buf, size_t len, double v)
{
    static const char suffix[] = {'k', 'M', 'G', 'T'};
    double a = fabs(v), scale = 1;
    int s = -1;
    while (s < 3 && a / scale >= 999.5) {
        scale *= 1000;
        s++;
    }
    if (a < 1e-12)
        v = 0;
    if (!isfinite(v))
        snprintf(buf, len, "%s", isnan(v) ? "nan" : v > 0 ? "inf" : "-inf");
    else if (s < 0)
        snprintf(buf, len, "%.3g", v);
    else
        snprintf(buf, len, "%.3g%c", v / scale, suffix[s]);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void curve_free(curve *c)
{
    free(c->x);
    for (int p = 0; p < PANELS; p++) {
        free(c->mean[p]);
        free(c->lo[p]);
        free(c->hi[p]);
    }
}

/* The curve of the runs member[0..k): sample points as the file comment
 * says, thinned to MAX_POINTS. */
static int curve_build(curve *c, const qd_run_series *runs, const size_t *member, size_t k)
{
    size_t total = 0, nx = 0, *at = NULL;
    double from = 0, to = INFINITY, *xs = NULL;
    int rc = QD_ENOMEM;
    for (size_t j = 0; j < k; j++) {
        const qd_run_series *r = &runs[member[j]];
        total += r->nrows;
        if (r->nrows) {
            from = fmax(from, (double)r->rows[0].evaluations);
            to = fmin(to, (double)r->rows[r->nrows - 1].evaluations);
        } else {
            to = -1;
        }
    }
    c->runs = k;
    if (!(xs = malloc((total + 1) * sizeof *xs)) || !(at = calloc(k, sizeof *at)))
        goto done;
    for (size_t j = 0; j < k; j++)
        for (size_t i = 0; i < runs[member[j]].nrows; i++) {
            double e = (double)runs[member[j]].rows[i].evaluations;
            if (e >= from && e <= to)
                xs[nx++] = e;
        }
    qsort(xs, nx, sizeof *xs, cmp_double);
    size_t u = 0;
    for (size_t i = 0; i < nx; i++)
        if (!u || xs[i] != xs[u - 1])
            xs[u++] = xs[i];
    size_t stride = u > MAX_POINTS ? (u + MAX_POINTS - 1) / MAX_POINTS : 1;
    c->n = u ? (u - 1) / stride + 1 + ((u - 1) % stride != 0) : 0;
    if (!(c->x = malloc((c->n + 1) * sizeof *c->x)))
        goto done;
    for (int p = 0; p < PANELS; p++) {
        size_t bytes = (c->n + 1) * sizeof(double);
        if (!(c->mean[p] = malloc(bytes)) || !(c->lo[p] = malloc(bytes)) || !(c->hi[p] = malloc(bytes)))
            goto done;
    }
    for (size_t q = 0; q < c->n; q++) {
        size_t i = q * stride < u ? q * stride : u - 1;
        c->x[q] = xs[i];
        for (int p = 0; p < PANELS; p++) {
            double sum = 0, lo = INFINITY, hi = -INFINITY;
            size_t finite = 0;
            for (size_t j = 0; j < k; j++) {
                const qd_run_series *r = &runs[member[j]];
                while (at[j] + 1 < r->nrows && (double)r->rows[at[j] + 1].evaluations <= xs[i])
                    at[j]++;
                double v = figure(&r->rows[at[j]], p);
                if (isfinite(v)) {
                    sum += v;
                    lo = fmin(lo, v);
                    hi = fmax(hi, v);
                    finite++;
                }
            }
            c->mean[p][q] = finite == k ? sum / (double)k : NAN;
            c->lo[p][q] = finite == k ? lo : NAN;
            c->hi[p][q] = finite == k ? hi : NAN;
        }
    }
    rc = QD_OK;
done:
    free(xs);
    free(at);
    return rc;
}

/* A round step (1, 2 or 5 times a power of ten) giving about n ticks. */
static double round_step(double span, int n)
{
    double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
}

/* An axis from min(0, lo) to max(0, hi), widened to whole steps. */
static void axis_range(double lo, double hi, double *from, double *to, double *step)
{
    lo = fmin(0, isfinite(lo) ? lo : 0);
    hi = fmax(0, isfinite(hi) ? hi : 0);
    if (hi - lo <= 0)
        hi = lo + 1;
    *step = round_step(hi - lo, 5);
    *from = floor(lo / *step + 1e-9) * *step;
    *to = ceil(hi / *step - 1e-9) * *step;
}

typedef struct frame {
    double x0, y0, xfrom, xto, yfrom, yto;
} frame;

static double px(const frame *f, double x)
{
    return f->x0 + (x - f->xfrom) / (f->xto - f->xfrom) * PANEL_W;
}

static double py(const frame *f, double y)
{
    return f->y0 + PANEL_H - (y - f->yfrom) / (f->yto - f->yfrom) * PANEL_H;
}

static void panel_axes(FILE *fp, const frame *f, const char *name, double xstep, double ystep)
{
    char label[32];
    fprintf(fp, "<text x=\"%.2f\" y=\"%.2f\" font-weight=\"bold\">", f->x0, f->y0 - 10);
    qdi_xml_text(fp, name);
    fputs("</text>\n", fp);
    for (long i = 0; f->yfrom + (double)i * ystep <= f->yto + 1e-9 * ystep; i++) {
        double v = f->yfrom + (double)i * ystep, y = py(f, v);
        short_number(label, sizeof label, v);
        fprintf(fp,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#e5e5e5\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                f->x0, y, f->x0 + PANEL_W, y, f->x0 - 6, y, label);
    }
    for (long i = 0; f->xfrom + (double)i * xstep <= f->xto + 1e-9 * xstep; i++) {
        double v = f->xfrom + (double)i * xstep, x = px(f, v);
        short_number(label, sizeof label, v);
        fprintf(fp,
                "<line x1=\"%.2f\" y1=\"%.2f\" x2=\"%.2f\" y2=\"%.2f\" stroke=\"#333\"/>"
                "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">%s</text>\n",
                x, f->y0 + PANEL_H, x, f->y0 + PANEL_H + 5, x, f->y0 + PANEL_H + 18, label);
    }
    fprintf(fp,
            "<rect x=\"%.2f\" y=\"%.2f\" width=\"%.2f\" height=\"%.2f\" fill=\"none\" stroke=\"#333\"/>\n"
            "<text x=\"%.2f\" y=\"%.2f\" text-anchor=\"middle\">evaluations</text>\n",
            f->x0, f->y0, PANEL_W, PANEL_H, f->x0 + PANEL_W / 2, f->y0 + PANEL_H + 36);
}

/* The band (min to max over seeds) and the mean line of one curve, both as
 * paths broken where a figure is missing (best objective before any elite). */
static void panel_curve(FILE *fp, const frame *f, const curve *c, int p, const char *colour)
{
    if (c->runs > 1) {
        fprintf(fp, "<path class=\"band\" fill=\"%s\" fill-opacity=\"0.2\" stroke=\"none\" d=\"", colour);
        for (size_t i = 0; i < c->n;) {
            size_t j = i;
            while (j < c->n && isfinite(c->mean[p][j]))
                j++;
            for (size_t q = i; q < j; q++)
                fprintf(fp, "%s%.2f,%.2f", q == i ? "M" : " L", px(f, c->x[q]), py(f, c->hi[p][q]));
            for (size_t q = j; q-- > i;)
                fprintf(fp, " L%.2f,%.2f", px(f, c->x[q]), py(f, c->lo[p][q]));
            if (j > i)
                fputs(" Z ", fp);
            i = j + 1;
        }
        fputs("\"/>\n", fp);
    }
    fprintf(fp, "<path class=\"line\" fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" d=\"", colour);
    for (size_t q = 0, drawn = 0; q < c->n; q++)
        if (isfinite(c->mean[p][q]))
            fprintf(fp, "%s%.2f,%.2f", q == 0 || !isfinite(c->mean[p][q - 1]) ? (drawn++ ? " M" : "M") : " L",
                    px(f, c->x[q]), py(f, c->mean[p][q]));
    fputs("\"/>\n", fp);
}

static void legend(FILE *fp, const curve *c, size_t nc, double y)
{
    for (size_t i = 0; i < nc; i++) {
        const char *colour = palette[i % QDI_ARRAY_LEN(palette)];
        double yy = y + (double)i * LEGEND_ROW;
        fprintf(fp,
                "<g class=\"legend\"><rect x=\"%.2f\" y=\"%.2f\" width=\"18\" height=\"10\" fill=\"%s\"%s/>"
                "<text x=\"%.2f\" y=\"%.2f\">",
                LEFT, yy - 9, colour, c[i].runs > 1 ? " fill-opacity=\"0.6\"" : "", LEFT + 26, yy);
        qdi_xml_text(fp, c[i].label);
        if (c[i].runs > 1)
            fprintf(fp, ": mean of %zu runs, band from their min to max", c[i].runs);
        fputs("</text></g>\n", fp);
    }
}

/* Groups the runs into curves (first appearance order). */
static int build_curves(const qd_run_series *runs, size_t n, curve **out, size_t *nc)
{
    curve *c = calloc(n ? n : 1, sizeof *c);
    size_t *member = malloc((n ? n : 1) * sizeof *member);
    char *taken = calloc(n ? n : 1, 1);
    int rc = QD_OK;
    *nc = 0;
    if (!c || !member || !taken) {
        rc = QD_ENOMEM;
        goto done;
    }
    for (size_t i = 0; i < n && !rc; i++) {
        size_t k = 0;
        if (taken[i])
            continue;
        for (size_t j = i; j < n; j++)
            if (j == i || (runs[i].group && runs[j].group && !taken[j] && strcmp(runs[i].group, runs[j].group) == 0)) {
                member[k++] = j;
                taken[j] = 1;
            }
        c[*nc].label = k > 1 || !runs[i].label ? runs[i].group : runs[i].label;
        rc = curve_build(&c[*nc], runs, member, k);
        (*nc)++;
    }
done:
    free(member);
    free(taken);
    if (rc && c)
        for (size_t i = 0; i < *nc; i++)
            curve_free(&c[i]);
    if (rc) {
        free(c);
        c = NULL;
        *nc = 0;
    }
    *out = c;
    return rc;
}

int qd_runs_plot_svg(FILE *fp, const qd_run_series *runs, size_t n, const char *title, char *err, size_t errlen)
{
    curve *c;
    size_t nc;
    double xmax = 0, ylo[PANELS], yhi[PANELS], xfrom, xto, xstep;
    if (!n) {
        qdi_set_error(err, errlen, "no runs to plot");
        return QD_EINVAL;
    }
    for (size_t i = 0; i < n; i++)
        if (!runs[i].nrows) {
            qdi_set_error(err, errlen, "run '%s' has no metrics rows", runs[i].label ? runs[i].label : "?");
            return QD_EINVAL;
        }
    if (build_curves(runs, n, &c, &nc)) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    for (int p = 0; p < PANELS; p++) {
        ylo[p] = INFINITY;
        yhi[p] = -INFINITY;
    }
    for (size_t i = 0; i < nc; i++)
        for (size_t q = 0; q < c[i].n; q++) {
            xmax = fmax(xmax, c[i].x[q]);
            for (int p = 0; p < PANELS; p++)
                if (isfinite(c[i].mean[p][q])) {
                    ylo[p] = fmin(ylo[p], c[i].lo[p][q]);
                    yhi[p] = fmax(yhi[p], c[i].hi[p][q]);
                }
        }
    axis_range(0, xmax, &xfrom, &xto, &xstep);
    double width = LEFT + PANELS * PANEL_STEP - 72, legend_y = TOP + PANEL_H + 66;
    double height = legend_y + (double)nc * LEGEND_ROW;
    fprintf(fp,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"runs-plot\" width=\"%.0f\" height=\"%.0f\" "
            "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
            width, height, width, height);
    if (title) {
        fprintf(fp, "<text x=\"%.2f\" y=\"22\" font-size=\"16\" font-weight=\"bold\">", LEFT);
        qdi_xml_text(fp, title);
        fputs("</text>\n", fp);
    }
    for (int p = 0; p < PANELS; p++) {
        frame f = {LEFT + p * PANEL_STEP, TOP, xfrom, xto, 0, 0};
        double ystep;
        axis_range(ylo[p], yhi[p], &f.yfrom, &f.yto, &ystep);
        fprintf(fp, "<g class=\"panel\" data-figure=\"%s\">\n", panel_names[p]);
        panel_axes(fp, &f, panel_names[p], xstep, ystep);
        for (size_t i = 0; i < nc; i++)
            panel_curve(fp, &f, &c[i], p, palette[i % QDI_ARRAY_LEN(palette)]);
        fputs("</g>\n", fp);
    }
    legend(fp, c, nc, legend_y);
    fputs("</svg>\n", fp);
    for (size_t i = 0; i < nc; i++)
        curve_free(&c[i]);
    free(c);
    if (ferror(fp)) {
        qdi_set_error(err, errlen, "write failed");
        return QD_EIO;
    }
    return QD_OK;
}

int qd_runs_save_svg(const qd_run_series *runs, size_t n, const char *title, const char *path, char *err,
                     size_t errlen)
{
    qdi_atomic_file f;
    int rc = qdi_atomic_open(&f, path, err, errlen);
    if (rc)
        return rc;
    fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f.fp);
    if ((rc = qd_runs_plot_svg(f.fp, runs, n, title, err, errlen))) {
        qdi_atomic_abort(&f);
        return rc;
    }
    return qdi_atomic_commit(&f, err, errlen);
}
