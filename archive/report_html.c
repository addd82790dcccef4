/* report_html.c - report.html: one self-contained page (no network, no
 * external files) in which a person browses an archive: the run's summary,
 * the map, the parallel axes (three measures or more), the QD score, coverage
 * and best objective over the iterations, a paged table of the elites
 * (sortable, filterable), and a panel showing the elite of a clicked cell or
 * row in full: objective, measures (with their category or end names),
 * genome (a text in full; a real vector's first numbers, archive.csv has them
 * all), meta (e.g. the raw AI feedback) and lineage.
 *
 * Small archives (at most svg_cells cells, default REPORT_SVG_CELLS) get the
 * inline SVG heatmap of heatmap_svg.c (Voronoi polygons for CVT); bigger
 * ones a canvas drawn by the page's script (report.js) from the data, so a
 * 100,000-elite report stays a few MB. The data travels compactly in a
 * <script type="application/json"> block: the cells as int32 and the
 * objectives, measures and genomes as float32, little-endian, in base64
 * (the page shows numbers to 6 digits; archive.json holds them exactly);
 * texts, meta and lineage as JSON arrays. Every '<' in the block is written
 * \u003c, so no text can close it, and the script puts texts into the page
 * with textContent only, never as HTML, so an elite's text (an LLM's output)
 * cannot inject markup. Opening the page as report.html#cell=N shows the
 * elite of cell N. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"
#include "archive/report_js.h"

#define REPORT_GENES 32
#define REPORT_NUMBERS 1500000 /* float32 numbers a report carries at most (~8 MB in base64) */
#define REPORT_SVG_CELLS 4096
#define CHART_POINTS 400

void qd_report_defaults(qd_report_options *o)
{
    memset(o, 0, sizeof *o);
    qd_heatmap_defaults(&o->heatmap);
}

/* Writes JSON text with every '<' as \u003c ('<' only occurs inside JSON
 * strings, where the escape means the same character). */
static void script_json(FILE *fp, const char *json)
{
    for (; *json; json++) {
        if (*json == '<')
            fputs("\\u003c", fp);
        else
            fputc(*json, fp);
    }
}

/* Base64 of little-endian words: the bytes gathered in a block, encoded
 * three at a time when it is full (one byte at a time through the encoder
 * cost 20M instructions of the Quick-start save point) and written; b64_end
 * encodes and writes what is left, with its padding. */
#define B64_BLOCK 3072 /* bytes in: a multiple of 3 and of 4 */
typedef struct b64 {
    FILE *fp;
    unsigned char in[B64_BLOCK];
    size_t n;
    char out[B64_BLOCK / 3 * 4];
} b64;

static const char b64_digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The two digits of every 12 bits, so that three bytes take two lookups
 * (7.5M instructions of the Quick-start save point with one a digit). */
static char b64_pairs[2 * 4096];
static pthread_once_t b64_pairs_once = PTHREAD_ONCE_INIT;

static void b64_pairs_init(void)
{
    for (size_t v = 0; v < 4096; v++) {
        b64_pairs[2 * v] = b64_digits[v >> 6];
        b64_pairs[2 * v + 1] = b64_digits[v & 63];
    }
}

/* Encodes and writes the first n bytes of b->in (n a multiple of 3). */
static void b64_encode(b64 *b, size_t n)
{
    char *o = b->out;
    pthread_once(&b64_pairs_once, b64_pairs_init);
    for (size_t i = 0; i < n; i += 3, o += 4) {
        uint32_t t = (uint32_t)b->in[i] << 16 | (uint32_t)b->in[i + 1] << 8 | b->in[i + 2];
        memcpy(o, b64_pairs + 2 * (t >> 12), 2);
        memcpy(o + 2, b64_pairs + 2 * (t & 4095), 2);
    }
    fwrite(b->out, 1, (size_t)(o - b->out), b->fp);
}

static void b64_word(b64 *b, uint32_t w)
{
    unsigned char *p = b->in + b->n;
    p[0] = (unsigned char)w;
    p[1] = (unsigned char)(w >> 8);
    p[2] = (unsigned char)(w >> 16);
    p[3] = (unsigned char)(w >> 24);
    if ((b->n += 4) == B64_BLOCK) {
        b64_encode(b, B64_BLOCK);
        b->n = 0;
    }
}

static void b64_float(b64 *b, double v)
{
    float f = (float)v;
    uint32_t w;
    memcpy(&w, &f, sizeof w);
    b64_word(b, w);
}

static void b64_end(b64 *b)
{
    size_t whole = b->n / 3 * 3, rest = b->n - whole;
    b64_encode(b, whole);
    if (rest) {
        unsigned char c0 = b->in[whole], c1 = rest > 1 ? b->in[whole + 1] : 0;
        fputc(b64_digits[c0 >> 2], b->fp);
        fputc(b64_digits[((c0 & 3) << 4) | (c1 >> 4)], b->fp);
        fputc(rest > 1 ? b64_digits[(c1 & 15) << 2] : '=', b->fp);
        fputc('=', b->fp);
    }
    b->n = 0;
}

/* Writes a cJSON item unformatted with every '<' escaped; 0 when out of
 * memory. */
static int put_json(FILE *fp, const cJSON *item)
{
    char *t = cJSON_PrintUnformatted(item);
    if (!t)
        return 0;
    script_json(fp, t);
    free(t);
    return 1;
}

/* A JSON text (meta, lineage) as itself, anything else as a string. */
static int put_json_or_string(FILE *fp, const char *text)
{
    cJSON *v = cJSON_Parse(text);
    int ok;
    if (!v)
        v = cJSON_CreateString(text);
    ok = v && put_json(fp, v);
    cJSON_Delete(v);
    return ok;
}

static int put_string(FILE *fp, const char *text)
{
    cJSON *v = cJSON_CreateString(text ? text : "");
    int ok = v && put_json(fp, v);
    cJSON_Delete(v);
    return ok;
}

/* How many genome numbers each elite carries: all up to REPORT_GENES, fewer
 * in big archives so the report stays within REPORT_NUMBERS numbers. */
static size_t report_genes(const qd_archive *a)
{
    size_t g = a->dim < REPORT_GENES ? a->dim : REPORT_GENES, per;
    if (a->kind != QD_GENOME_REAL)
        return 0;
    per = a->filled ? REPORT_NUMBERS / a->filled : g + 1 + a->m;
    per = per > 1 + a->m ? per - 1 - a->m : 0;
    if (per < 4)
        per = 4;
    return g < per ? g : per;
}

/* The page's data (see the comment at the top): elites in slot order, the
 * SVG heatmap's data-slot attributes index them. */
static int write_data(FILE *fp, const qd_archive *a, const qd_report_options *o, int canvas)
{
    const cJSON *names = cJSON_GetObjectItemCaseSensitive(a->description, "measure_names");
    const cJSON *labels = cJSON_GetObjectItemCaseSensitive(a->description, "measure_labels");
    size_t g = report_genes(a);
    int has_meta = 0, has_lineage = 0, ok = 1;
    double vmin, vmax;
    qd_archive_stats st;
    b64 b = {.fp = fp};
    char num[32];
    for (size_t i = 0; i < a->filled; i++) {
        has_meta |= a->meta && a->meta[i];
        has_lineage |= a->lineage && a->lineage[i];
    }
    qd_archive_stats_get(a, &st);
    fprintf(fp, "{\"v\":2,\"n\":%zu,\"m\":%zu,\"dim\":%zu,\"genes\":%zu,\"names\":", a->filled, a->m, a->dim, g);
    if (cJSON_IsArray(names))
        ok &= put_json(fp, names);
    else
        fputs("[]", fp);
    fputs(",\"labels\":", fp);
    if (cJSON_IsArray(labels))
        ok &= put_json(fp, labels);
    else
        fputs("null", fp);
    fprintf(fp, ",\"stats\":\"%zu of %zu cells (%.2f%%), QD score %.6g, best %.6g\"", st.filled, st.cells,
            100.0 * st.coverage, st.qd_score, a->filled ? st.obj_max : 0.0);
    fputs(",\"cell\":\"", fp);
    for (size_t i = 0; i < a->filled; i++)
        b64_word(&b, (uint32_t)a->cell_of_slot[i]);
    b64_end(&b);
    fputs("\",\"objective\":\"", fp);
    for (size_t i = 0; i < a->filled; i++)
        b64_float(&b, a->objective[i]);
    b64_end(&b);
    fputs("\",\"measures\":\"", fp);
    for (size_t i = 0; i < a->filled * a->m; i++)
        b64_float(&b, a->measures[i]);
    b64_end(&b);
    fputc('"', fp);
    if (g) {
        fputs(",\"genome\":\"", fp);
        for (size_t i = 0; i < a->filled; i++)
            for (size_t j = 0; j < g; j++)
                b64_float(&b, a->x[i * a->dim + j]);
        b64_end(&b);
        fputc('"', fp);
    }
    if (a->kind == QD_GENOME_TEXT) {
        fputs(",\"text\":[", fp);
        for (size_t i = 0; ok && i < a->filled; i++) {
            if (i)
                fputc(',', fp);
            ok &= put_string(fp, a->text ? a->text[i] : NULL);
        }
        fputc(']', fp);
    }
    for (int which = 0; which < 2; which++) {
        char **field = which ? a->lineage : a->meta;
        if (!(which ? has_lineage : has_meta))
            continue;
        fprintf(fp, ",\"%s\":[", which ? "lineage" : "meta");
        for (size_t i = 0; ok && i < a->filled; i++) {
            if (i)
                fputc(',', fp);
            if (field[i])
                ok &= put_json_or_string(fp, field[i]);
            else
                fputs("null", fp);
        }
        fputc(']', fp);
    }
    qdi_heatmap_color_range(a, &o->heatmap, &vmin, &vmax);
    fprintf(fp, ",\"map\":{\"mode\":\"%s\",\"grid\":%s,\"x\":%zu,\"y\":%zu,\"size\":%zu,\"vmin\":%s", canvas ? "canvas" : "svg",
            a->type->coords ? "true" : "false", o->heatmap.x_measure, o->heatmap.y_measure, o->heatmap.size,
            qdi_format_double(num, vmin));
    fprintf(fp, ",\"vmax\":%s,\"axes\":", qdi_format_double(num, vmax));
    cJSON *axes = qdi_heatmap_axes_json(a);
    ok &= axes && put_json(fp, axes);
    cJSON_Delete(axes);
    if (canvas && !a->type->coords && a->m == 2) {
        double *c = qdi_heatmap_centroids(a);
        if (c) {
            fputs(",\"centroids\":\"", fp);
            for (size_t i = 0; i < a->cells * a->m; i++)
                b64_float(&b, c[i]);
            b64_end(&b);
            fputc('"', fp);
            free(c);
        }
    }
    fputs("}}", fp);
    return ok ? QD_OK : QD_ENOMEM;
}

/* A round step (1, 2 or 5 times a power of ten) giving about n ticks over
 * span. */
static double chart_step(double span, int n)
{
    double raw = span / n, p = pow(10.0, floor(log10(raw))), f = raw / p;
    return (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * p;
}

/* A line chart of one metric over the iterations (at most CHART_POINTS
 * points: every k-th row and the last). The y axis starts at 0 unless the
 * metric goes below it, and both axes carry round ticks. */
static void chart(FILE *fp, const qd_metrics *rows, size_t n, const char *label, int which)
{
    const double w = 420, h = 180, left = 80, top = 16, bottom = 36;
    double lo = INFINITY, hi = -INFINITY, last_it, step;
    size_t every = n > CHART_POINTS ? (n + CHART_POINTS - 1) / CHART_POINTS : 1;
    char buf[32];
#define METRIC(r) (which == 0 ? (r)->stats.qd_score : which == 1 ? 100.0 * (r)->stats.coverage : (r)->stats.obj_max)
    for (size_t i = 0; i < n; i++) {
        double v = METRIC(&rows[i]);
        if (isfinite(v)) {
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    if (!isfinite(lo)) {
        lo = 0;
        hi = 1;
    }
    if (lo > 0)
        lo = 0;
    if (!(hi > lo))
        hi = lo + 1;
    last_it = (double)rows[n - 1].iteration;
    fprintf(fp, "<figure class=\"chart\"><svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\" font-size=\"11\">\n",
            left + w + 16, top + h + bottom, left + w + 16, top + h + bottom);
    fprintf(fp, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#999\"/>\n", left,
            top, w, h);
    step = chart_step(hi - lo, 4);
    for (double v = ceil(lo / step - 1e-9) * step; v <= hi + 1e-9 * step; v += step) {
        double y = top + h - h * (v - lo) / (hi - lo);
        snprintf(buf, sizeof buf, "%.4g", fabs(v) < 1e-9 * step ? 0.0 : v);
        fprintf(fp, "<line x1=\"%.0f\" y1=\"%.1f\" x2=\"%.0f\" y2=\"%.1f\" stroke=\"#ddd\"/>"
                    "<text x=\"%.0f\" y=\"%.1f\" text-anchor=\"end\" dominant-baseline=\"middle\">%s</text>\n",
                left, y, left + w, y, left - 6, y, buf);
    }
    step = last_it > 1 ? chart_step(last_it - 1, 5) : 1;
    if (step < 1)
        step = 1;
    for (double it = 0; it <= last_it; it += step) { /* 1, then the multiples of step */
        if (it > 0 && it <= 1)
            continue;
        double at = it < 1 ? 1 : it, x = left + (last_it > 1 ? w * (at - 1) / (last_it - 1) : w);
        fprintf(fp, "<line x1=\"%.1f\" y1=\"%.0f\" x2=\"%.1f\" y2=\"%.0f\" stroke=\"#333\"/>"
                    "<text x=\"%.1f\" y=\"%.0f\" text-anchor=\"middle\">%.0f</text>\n",
                x, top + h, x, top + h + 4, x, top + h + 16, at);
    }
    fprintf(fp, "<polyline class=\"series\" fill=\"none\" stroke=\"#2a788e\" stroke-width=\"2\" points=\"");
    for (size_t i = 0;; i = i + every < n - 1 ? i + every : n - 1) {
        const qd_metrics *r = &rows[i];
        double v = METRIC(r), t = last_it > 1 ? ((double)r->iteration - 1) / (last_it - 1) : 1;
        char px[QDI_FORMAT_F_MAX], py[QDI_FORMAT_F_MAX]; /* printf's %.1f, without its cost per point */
        qdi_format_f(px, left + w * t, 1);
        qdi_format_f(py, top + h - h * ((isfinite(v) ? v : lo) - lo) / (hi - lo), 1);
        fputs(i ? " " : "", fp);
        fputs(px, fp);
        fputc(',', fp);
        fputs(py, fp);
        if (i == n - 1)
            break;
    }
    fputs("\"/>\n", fp);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">iteration</text>", left + w / 2, top + h + 30);
    fprintf(fp, "</svg><figcaption>%s</figcaption></figure>\n", label);
#undef METRIC
}

static const char style[] =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{margin-bottom:4px}.desc{color:#555;max-width:900px}"
    "table{border-collapse:collapse}td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #ddd}"
    ".stats td:first-child{color:#555}.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}"
    "#detail{flex:1;min-width:320px;max-width:640px;background:#f6f6f6;padding:12px;border-radius:6px;"
    "scroll-margin:16px}"
    "#detail pre{white-space:pre-wrap;word-break:break-word;background:#fff;padding:8px;border:1px solid #ddd}"
    ".small{color:#777;font-size:12px}.cell{cursor:pointer}"
    ".canvaswrap{position:relative;display:inline-block}.canvaswrap canvas+canvas{position:absolute;left:0;top:0}"
    "#tip{position:fixed;display:none;z-index:10;pointer-events:none;background:#fff;border:1px solid #888;"
    "border-radius:4px;padding:6px 8px;font-size:12px;max-width:360px;box-shadow:0 2px 6px rgba(0,0,0,.2)}"
    ".tiptext{color:#444;margin-top:4px;white-space:pre-wrap}"
    "#elites tbody tr{cursor:pointer}#elites tbody tr:hover{background:#eef}#elites th{cursor:pointer;user-select:none}"
    ".chart{display:inline-block;margin:0 24px 0 0}figcaption{text-align:center;color:#555}"
    "#filter{margin:8px 0;padding:4px;width:320px}.pager button{margin:0 4px}";

static void stat_row(FILE *fp, const char *name, const char *value)
{
    fprintf(fp, "<tr><td>%s</td><td>%s</td></tr>\n", name, value);
}

static int write_report(FILE *fp, const qd_archive *a, const qd_report_options *o, const char *path, char *err,
                        size_t errlen)
{
    qd_archive_stats st;
    char buf[64], num[32];
    int rc, canvas = a->cells > (o->svg_cells ? o->svg_cells : REPORT_SVG_CELLS);
    qd_archive_stats_get(a, &st);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", fp);
    qdi_xml_text(fp, o->title ? o->title : "elites archive");
    fprintf(fp, "</title>\n<style>%s</style></head>\n<body>\n<h1>", style);
    qdi_xml_text(fp, o->title ? o->title : "elites archive");
    fputs("</h1>\n", fp);
    if (o->description) {
        fputs("<p class=\"desc\">", fp);
        qdi_xml_text(fp, o->description);
        fputs("</p>\n", fp);
    }
    fputs("<table class=\"stats\">\n", fp);
    snprintf(buf, sizeof buf, "%zu of %zu (%.2f%%)", st.filled, st.cells, 100.0 * st.coverage);
    stat_row(fp, "cells filled", buf);
    snprintf(buf, sizeof buf, "%.6g (offset %s)", st.qd_score, qdi_format_double(num, a->offset));
    stat_row(fp, "QD score", buf);
    snprintf(buf, sizeof buf, "%.6g", st.norm_qd_score);
    stat_row(fp, "normalised QD score", buf);
    snprintf(buf, sizeof buf, "%.6g", st.filled ? st.obj_max : NAN);
    stat_row(fp, "best objective", buf);
    snprintf(buf, sizeof buf, "%.6g", st.filled ? st.obj_mean : NAN);
    stat_row(fp, "mean objective", buf);
    if (o->nmetrics) {
        const qd_metrics *r = &o->metrics[o->nmetrics - 1];
        snprintf(buf, sizeof buf, "%llu iterations, %llu evaluations, %llu failed", (unsigned long long)r->iteration,
                 (unsigned long long)r->evaluations, (unsigned long long)r->failed);
        stat_row(fp, "run", buf);
    }
    fputs("</table>\n<div class=\"row\">\n<div id=\"map\">\n", fp);
    if (!canvas && (rc = qdi_heatmap_write(fp, a, &o->heatmap, path, err, errlen)))
        return rc;
    fputs("</div>\n<div id=\"detail\"><p>Click a cell of the map or a row of the table to see its elite.</p>"
          "</div>\n</div>\n",
          fp);
    if (a->m >= 3)
        fprintf(fp, "<h2>Parallel axes</h2>\n<p class=\"small\">Every elite as a line through its %zu measures, "
                    "coloured by its objective (the best drawn on top); the elite shown in the panel is drawn in red.</p>"
                    "\n<div id=\"parallel\"></div>\n",
                a->m);
    if (o->nmetrics) {
        fputs("<h2>Progress</h2>\n", fp);
        chart(fp, o->metrics, o->nmetrics, "QD score", 0);
        chart(fp, o->metrics, o->nmetrics, "coverage (%)", 1);
        chart(fp, o->metrics, o->nmetrics, "best objective", 2);
    }
    if (o->extra_html) /* e.g. a comparison with other runs (elites export --compare) */
        fputs(o->extra_html, fp);
    fputs("<h2>Elites</h2>\n<input id=\"filter\" placeholder=\"filter: a cell number or words of a text\">"
          " <span class=\"pager\"><button id=\"prev\">previous</button><button id=\"next\">next</button></span>"
          " <span id=\"count\"></span>\n<table id=\"elites\"><thead><tr><th data-key=\"cell\">cell</th>"
          "<th data-key=\"objective\">objective</th>",
          fp);
    for (size_t k = 0; k < a->m; k++) {
        const cJSON *names = cJSON_GetObjectItemCaseSensitive(a->description, "measure_names");
        const cJSON *nm = cJSON_GetArrayItem(names, (int)k);
        fprintf(fp, "<th data-key=\"%zu\">", k);
        if (cJSON_IsString(nm))
            qdi_xml_text(fp, nm->valuestring);
        else
            fprintf(fp, "measure_%zu", k);
        fputs("</th>", fp);
    }
    if (a->kind == QD_GENOME_TEXT)
        fputs("<th data-key=\"text\">text</th>", fp);
    fputs("</tr></thead><tbody></tbody></table>\n", fp);
    if (o->config) {
        char *cfg = cJSON_Print(o->config);
        if (!cfg)
            goto nomem;
        fputs("<details><summary>Config</summary><pre>", fp);
        qdi_xml_text(fp, cfg);
        fputs("</pre></details>\n", fp);
        free(cfg);
    }
    fputs("<script type=\"application/json\" id=\"data\">", fp);
    if (write_data(fp, a, o, canvas))
        goto nomem;
    fprintf(fp, "</script>\n<script>\n%s</script>\n</body></html>\n", qdi_report_script);
    return QD_OK;
nomem:
    qdi_set_error(err, errlen, "%s: out of memory", path);
    return QD_ENOMEM;
}

int qd_archive_save_html(const qd_archive *a, const qd_report_options *opt, const char *path, char *err,
                         size_t errlen)
{
    qd_report_options o;
    qdi_atomic_file f;
    int rc;
    if (opt)
        o = *opt;
    else
        qd_report_defaults(&o);
    if ((rc = qdi_heatmap_write(NULL, a, &o.heatmap, path, err, errlen)))
        return rc;
    if ((rc = qdi_atomic_open(&f, path, err, errlen)))
        return rc;
    if ((rc = write_report(f.fp, a, &o, path, err, errlen))) {
        qdi_atomic_abort(&f);
        return rc;
    }
    return qdi_atomic_commit(&f, err, errlen);
}
