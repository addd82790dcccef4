/* report_html.c - report.html: one self-contained page (no network, no
 * external files) in which a person browses an archive: the run's summary,
 * the heatmap (heatmap_svg.c, inline), the QD score and coverage over the
 * iterations, a table of the elites (best first, filterable, sortable), and
 * a panel showing the elite of a clicked cell or row in full: objective,
 * measures, genome (a text in full; a real vector up to REPORT_GENES numbers,
 * archive.csv has them all), meta (e.g. the raw AI feedback) and lineage.
 *
 * The elites travel as JSON in a <script type="application/json"> block
 * with every '<' written \u003c, so no text can close the block; the page's
 * script puts texts into the page with textContent only, never as HTML, so
 * an elite's text (an LLM's output) cannot inject markup. Opening the page
 * as report.html#cell=N shows the elite of cell N. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"

#define REPORT_GENES 32
#define CHART_POINTS 400

void qd_report_defaults(qd_report_options *o)
{
    memset(o, 0, sizeof *o);
    qd_heatmap_defaults(&o->heatmap);
}

static void html_text(FILE *fp, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", fp); break;
        case '<': fputs("&lt;", fp); break;
        case '>': fputs("&gt;", fp); break;
        case '"': fputs("&quot;", fp); break;
        default: fputc(*s, fp);
        }
    }
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

static cJSON *json_or_string(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    return v ? v : cJSON_CreateString(text);
}

/* The page's data: the measure names and one object per elite, in slot
 * order (the heatmap's data-slot attributes index this array). */
static char *elites_json(const qd_archive *a)
{
    cJSON *root = cJSON_CreateObject(), *list, *names;
    char *out;
    const cJSON *n = cJSON_GetObjectItemCaseSensitive(a->description, "measure_names");
    if (!root)
        return NULL;
    names = n ? cJSON_Duplicate(n, 1) : cJSON_CreateArray();
    cJSON_AddItemToObject(root, "measure_names", names);
    cJSON_AddNumberToObject(root, "solution_dim", (double)a->dim);
    list = cJSON_AddArrayToObject(root, "elites");
    for (size_t i = 0; list && i < a->filled; i++) {
        qd_elite e;
        size_t coords[64];
        cJSON *o = cJSON_CreateObject();
        if (!o)
            break;
        qd_archive_elite_at(a, i, &e);
        cJSON_AddNumberToObject(o, "cell", (double)e.cell);
        if (a->m <= 64 && qd_archive_coords(a, e.cell, coords) == QD_OK) {
            double c[64];
            for (size_t k = 0; k < a->m; k++)
                c[k] = (double)coords[k];
            cJSON_AddItemToObject(o, "coords", qdi_json_doubles(c, a->m));
        }
        cJSON_AddItemToObject(o, "objective", qdi_json_double(e.objective));
        cJSON_AddItemToObject(o, "measures", qdi_json_doubles(e.measures, e.m));
        if (a->kind == QD_GENOME_REAL)
            cJSON_AddItemToObject(o, "genome", qdi_json_doubles(e.x, e.n < REPORT_GENES ? e.n : REPORT_GENES));
        else
            cJSON_AddStringToObject(o, "text", e.text ? e.text : "");
        if (e.meta)
            cJSON_AddItemToObject(o, "meta", json_or_string(e.meta));
        if (e.lineage)
            cJSON_AddItemToObject(o, "lineage", json_or_string(e.lineage));
        cJSON_AddItemToArray(list, o);
    }
    out = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return out;
}

/* A line chart of one metric over the iterations (at most CHART_POINTS
 * points: every k-th row and the last). */
static void chart(FILE *fp, const qd_metrics *rows, size_t n, const char *label, int which)
{
    const double w = 420, h = 180, left = 80, top = 16, bottom = 36;
    double lo = INFINITY, hi = -INFINITY, last_it;
    size_t step = n > CHART_POINTS ? (n + CHART_POINTS - 1) / CHART_POINTS : 1;
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
    if (!(hi > lo))
        hi = lo + 1;
    last_it = (double)rows[n - 1].iteration;
    fprintf(fp, "<figure class=\"chart\"><svg width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            left + w + 16, top + h + bottom, left + w + 16, top + h + bottom);
    fprintf(fp, "<rect x=\"%.0f\" y=\"%.0f\" width=\"%.0f\" height=\"%.0f\" fill=\"#fafafa\" stroke=\"#999\"/>\n", left,
            top, w, h);
    fprintf(fp, "<polyline class=\"series\" fill=\"none\" stroke=\"#2a788e\" stroke-width=\"2\" points=\"");
    for (size_t i = 0;; i = i + step < n - 1 ? i + step : n - 1) {
        const qd_metrics *r = &rows[i];
        double v = METRIC(r), t = last_it > 1 ? ((double)r->iteration - 1) / (last_it - 1) : 1;
        fprintf(fp, "%s%.1f,%.1f", i ? " " : "", left + w * t, top + h - h * ((isfinite(v) ? v : lo) - lo) / (hi - lo));
        if (i == n - 1)
            break;
    }
    fputs("\"/>\n", fp);
    snprintf(buf, sizeof buf, "%.6g", hi);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>", left - 6, top + 4, buf);
    snprintf(buf, sizeof buf, "%.6g", lo);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%s</text>", left - 6, top + h, buf);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\">1</text><text x=\"%.0f\" y=\"%.0f\" text-anchor=\"end\">%.0f</text>", left,
            top + h + 16, left + w, top + h + 16, last_it);
    fprintf(fp, "<text x=\"%.0f\" y=\"%.0f\" text-anchor=\"middle\">iteration</text>", left + w / 2, top + h + 30);
    fprintf(fp, "</svg><figcaption>%s</figcaption></figure>\n", label);
#undef METRIC
}

static const char style[] =
    "body{font-family:sans-serif;margin:24px;color:#222;max-width:1400px}"
    "h1{margin-bottom:4px}.desc{color:#555;max-width:900px}"
    "table{border-collapse:collapse}td,th{padding:3px 10px;text-align:left;border-bottom:1px solid #ddd}"
    ".stats td:first-child{color:#555}.row{display:flex;gap:24px;flex-wrap:wrap;align-items:flex-start}"
    "#detail{flex:1;min-width:320px;max-width:640px;background:#f6f6f6;padding:12px;border-radius:6px}"
    "#detail pre{white-space:pre-wrap;word-break:break-word;background:#fff;padding:8px;border:1px solid #ddd}"
    ".cell{cursor:pointer}.cell:hover{stroke:#000;stroke-width:1}"
    "#elites tbody tr{cursor:pointer}#elites tbody tr:hover{background:#eef}#elites th{cursor:pointer}"
    ".chart{display:inline-block;margin:0 24px 0 0}figcaption{text-align:center;color:#555}"
    "#filter{margin:8px 0;padding:4px;width:320px}";

/* The page's script: reads the data block, fills the table, shows an elite
 * on click. Texts go in through textContent only. */
static const char script[] =
    "(function(){\n"
    "var D=JSON.parse(document.getElementById('data').textContent),E=D.elites;\n"
    "var det=document.getElementById('detail'),tb=document.querySelector('#elites tbody');\n"
    "var order=E.map(function(e,i){return i;}),key='objective',desc=true,LIMIT=500;\n"
    "function el(t,txt){var n=document.createElement(t);if(txt!==undefined)n.textContent=txt;return n;}\n"
    "function fmt(v){return typeof v==='number'?String(+v.toPrecision(8)):String(v);}\n"
    "function show(i){var e=E[i];det.textContent='';det.appendChild(el('h3','Cell '+e.cell+"
    "(e.coords?' ('+e.coords.join(', ')+')':'')));\n"
    " var t=el('table');function row(k,v){var r=el('tr');r.appendChild(el('td',k));r.appendChild(el('td',v));"
    "t.appendChild(r);}\n"
    " row('objective',fmt(e.objective));e.measures.forEach(function(m,k){row(D.measure_names[k]||('measure '+k),fmt(m));});\n"
    " det.appendChild(t);\n"
    " if(e.text!==undefined){det.appendChild(el('h4','Text'));det.appendChild(el('pre',e.text));}\n"
    " if(e.genome){det.appendChild(el('h4','Genome'+(D.solution_dim>e.genome.length?' (first '+e.genome.length+' of '"
    "+D.solution_dim+' numbers; archive.csv has all)':'')));det.appendChild(el('pre',e.genome.map(fmt).join(', ')));}\n"
    " if(e.meta!==undefined){det.appendChild(el('h4','Meta'));det.appendChild(el('pre',JSON.stringify(e.meta,null,2)));}\n"
    " if(e.lineage!==undefined){det.appendChild(el('h4','Lineage'));det.appendChild(el('pre',"
    "JSON.stringify(e.lineage,null,2)));}}\n"
    "function val(e,k){return k==='cell'?e.cell:k==='objective'?e.objective:k==='text'?(e.text||''):e.measures[+k];}\n"
    "function fill(){var q=document.getElementById('filter').value.toLowerCase();tb.textContent='';var shown=0;\n"
    " var o=order.slice().sort(function(a,b){var x=val(E[a],key),y=val(E[b],key);return (x<y?-1:x>y?1:a-b)*(desc?-1:1);});\n"
    " for(var j=0;j<o.length&&shown<LIMIT;j++){var e=E[o[j]];\n"
    "  if(q&&String(e.cell)!==q&&(e.text||'').toLowerCase().indexOf(q)<0)continue;shown++;\n"
    "  var r=el('tr');r.appendChild(el('td',String(e.cell)));r.appendChild(el('td',fmt(e.objective)));\n"
    "  e.measures.forEach(function(m){r.appendChild(el('td',fmt(m)));});\n"
    "  if(e.text!==undefined)r.appendChild(el('td',e.text.length>120?e.text.slice(0,120)+'...':e.text));\n"
    "  r.addEventListener('click',show.bind(null,o[j]));tb.appendChild(r);}\n"
    " document.getElementById('count').textContent=shown+' shown (at most '+LIMIT+'), '+E.length+' elites';}\n"
    "document.querySelectorAll('#map .cell').forEach(function(c){c.addEventListener('click',"
    "function(){show(+c.getAttribute('data-slot'));});});\n"
    "document.querySelectorAll('#elites th').forEach(function(h){h.addEventListener('click',function(){\n"
    " var k=h.getAttribute('data-key');if(k===key)desc=!desc;else{key=k;desc=k==='objective';}fill();});});\n"
    "document.getElementById('filter').addEventListener('input',fill);fill();\n"
    "var h=location.hash.match(/^#cell=(\\d+)$/);if(h)E.forEach(function(e,i){if(e.cell===+h[1])show(i);});\n"
    "})();\n";

static void stat_row(FILE *fp, const char *name, const char *value)
{
    fprintf(fp, "<tr><td>%s</td><td>%s</td></tr>\n", name, value);
}

static int write_report(FILE *fp, const qd_archive *a, const qd_report_options *o, const char *path, char *err,
                        size_t errlen)
{
    qd_archive_stats st;
    char buf[64], num[32], *data;
    int rc;
    qd_archive_stats_get(a, &st);
    fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>", fp);
    html_text(fp, o->title ? o->title : "elites archive");
    fprintf(fp, "</title>\n<style>%s</style></head>\n<body>\n<h1>", style);
    html_text(fp, o->title ? o->title : "elites archive");
    fputs("</h1>\n", fp);
    if (o->description) {
        fputs("<p class=\"desc\">", fp);
        html_text(fp, o->description);
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
    if ((rc = qdi_heatmap_write(fp, a, &o->heatmap, path, err, errlen)))
        return rc;
    fputs("</div>\n<div id=\"detail\"><p>Click a cell of the heatmap or a row of the table to see its elite.</p>"
          "</div>\n</div>\n",
          fp);
    if (o->nmetrics) {
        fputs("<h2>Progress</h2>\n", fp);
        chart(fp, o->metrics, o->nmetrics, "QD score", 0);
        chart(fp, o->metrics, o->nmetrics, "coverage (%)", 1);
        chart(fp, o->metrics, o->nmetrics, "best objective", 2);
    }
    if (o->extra_html) /* e.g. a comparison with other runs (elites export --compare) */
        fputs(o->extra_html, fp);
    fputs("<h2>Elites</h2>\n<input id=\"filter\" placeholder=\"filter: a cell number or words of a text\">"
          " <span id=\"count\"></span>\n<table id=\"elites\"><thead><tr><th data-key=\"cell\">cell</th>"
          "<th data-key=\"objective\">objective</th>",
          fp);
    for (size_t k = 0; k < a->m; k++) {
        const cJSON *names = cJSON_GetObjectItemCaseSensitive(a->description, "measure_names");
        const cJSON *nm = cJSON_GetArrayItem(names, (int)k);
        fprintf(fp, "<th data-key=\"%zu\">", k);
        if (cJSON_IsString(nm))
            html_text(fp, nm->valuestring);
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
        html_text(fp, cfg);
        fputs("</pre></details>\n", fp);
        free(cfg);
    }
    if (!(data = elites_json(a)))
        goto nomem;
    fputs("<script type=\"application/json\" id=\"data\">", fp);
    script_json(fp, data);
    free(data);
    fprintf(fp, "</script>\n<script>\n%s</script>\n</body></html>\n", script);
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
