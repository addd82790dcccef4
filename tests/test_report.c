/* test_report.c - report.html (archive/report_html.c): the embedded data
 * holds every elite (numbers as float32 in base64, texts exactly), no text
 * can break out of the data block or inject markup, long genomes are cut
 * with their length kept (more in big archives, within the report's number
 * budget), big archives get a canvas map instead of the SVG one, the
 * progress charts have one point per row (thinned for long runs, ending on
 * the last) on an axis from 0, and the heatmap's cells point at the data. */
#include <math.h>
#include <stdint.h>
#include "testutil.h"

static qd_archive *archive_for(const char *json, qd_space *sp)
{
    qd_config *c = qdt_config(json);
    qd_archive *a = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    if (qd_archive_new(c, sp, &a) != QD_OK)
        fprintf(stderr, "archive_for: %s\n", qd_config_error(c));
    qd_config_free(c);
    return a;
}

static char *render(const qd_archive *a, const qd_report_options *o)
{
    char *dir = qdt_tmpdir(), path[600], err[512], *html;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/report.html", dir);
    CU_ASSERT_EQUAL(qd_archive_save_html(a, o, path, err, sizeof err), QD_OK);
    html = qdt_slurp(path);
    qdt_rmdir(dir);
    free(dir);
    return html;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

/* The JSON of the data block, parsed. */
static cJSON *data_of(const char *html)
{
    const char *open = strstr(html, "<script type=\"application/json\" id=\"data\">"), *close;
    CU_ASSERT_PTR_NOT_NULL_FATAL(open);
    open = strchr(open, '>') + 1;
    close = strstr(open, "</script>");
    CU_ASSERT_PTR_NOT_NULL_FATAL(close);
    char *text = strndup(open, (size_t)(close - open));
    CU_ASSERT_PTR_NULL(strchr(text, '<')); /* every '<' is escaped */
    cJSON *json = cJSON_Parse(text);
    free(text);
    return json;
}

/* A base64 field of the data block decoded into 4-byte words; n gets the
 * count. The caller frees. */
static uint32_t *words_of(const cJSON *d, const char *field, size_t *n)
{
    const cJSON *f = cJSON_GetObjectItem(d, field);
    CU_ASSERT_FATAL(cJSON_IsString(f));
    const char *s = f->valuestring;
    size_t len = strlen(s), nb = 0;
    unsigned char *bytes = malloc(len);
    uint32_t acc = 0;
    int bits = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(bytes);
    for (const char *p = s; *p && *p != '='; p++) {
        const char *digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", *at = strchr(digits, *p);
        if (!at) {
            CU_FAIL("not base64");
            break;
        }
        acc = (acc << 6) | (uint32_t)(at - digits);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            bytes[nb++] = (unsigned char)(acc >> bits);
        }
    }
    CU_ASSERT_EQUAL(nb % 4, 0);
    uint32_t *w = malloc((nb / 4 + 1) * sizeof *w);
    for (size_t i = 0; i < nb / 4; i++) /* little-endian */
        w[i] = (uint32_t)bytes[4 * i] | (uint32_t)bytes[4 * i + 1] << 8 | (uint32_t)bytes[4 * i + 2] << 16 |
               (uint32_t)bytes[4 * i + 3] << 24;
    free(bytes);
    *n = nb / 4;
    return w;
}

static float float_of(uint32_t w)
{
    float f;
    memcpy(&f, &w, sizeof f);
    return f;
}

static const char *hostile = "</script><script>alert('x')</script> & <b>bold</b>";

static void test_text_elites_round_trip_and_cannot_inject(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_TEXT, 0, 1);
    qd_space_set_measure_name(&sp, 0, "sentiment");
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 4, \"range\": [0, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    double m1 = 0.1, m2 = 0.9;
    qd_solution s1 = {.text = (char *)hostile, .objective = 0.75, .measures = &m1, .m = 1,
                      .meta = "{\"quality\": {\"yes\": -0.1}}"};
    qd_solution s2 = {.text = "Kale is fine.", .objective = 0.1 + 0.2, .measures = &m2, .m = 1,
                      .lineage = "{\"parents\": [3, 4]}"};
    qd_add_result r;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s1, &r), QD_OK);
    CU_ASSERT_EQUAL(qd_archive_add(a, &s2, &r), QD_OK);
    qd_report_options o;
    qd_report_defaults(&o);
    o.title = "opinions <&>";
    char *html = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(count(html, "<script"), 2);    /* the data block and the page's script */
    CU_ASSERT_EQUAL(count(html, "</script>"), 2);
    CU_ASSERT_PTR_NULL(strstr(html, "<b>bold"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<h1>opinions &lt;&amp;&gt;</h1>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<th data-key=\"0\">sentiment</th><th data-key=\"text\">text</th>"));
    cJSON *d = data_of(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(d, "n")->valuedouble, 2);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(d, "m")->valuedouble, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "text"), 0)->valuestring, hostile);
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "text"), 1)->valuestring, "Kale is fine.");
    size_t n;
    uint32_t *cell = words_of(d, "cell", &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(cell[0], 0);
    CU_ASSERT_EQUAL(cell[1], 3);
    free(cell);
    uint32_t *obj = words_of(d, "objective", &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(float_of(obj[0]) == 0.75f);
    CU_ASSERT(float_of(obj[1]) == (float)(0.1 + 0.2));
    free(obj);
    uint32_t *mea = words_of(d, "measures", &n);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT(float_of(mea[1]) == 0.9f);
    free(mea);
    cJSON *meta = cJSON_GetObjectItem(d, "meta"), *lin = cJSON_GetObjectItem(d, "lineage");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(meta, 0), "quality"), "yes")->valuedouble,
                    -0.1);
    CU_ASSERT(cJSON_IsNull(cJSON_GetArrayItem(meta, 1)));
    CU_ASSERT(cJSON_IsNull(cJSON_GetArrayItem(lin, 0)));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(lin, 1), "parents")), 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "names"), 0)->valuestring, "sentiment");
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(d, "genome"));
    /* a small archive: the SVG heatmap inline, its shapes index the data */
    cJSON *map = cJSON_GetObjectItem(d, "map");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(map, "mode")->valuestring, "svg");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(map, "axes"), 0),
                                                           "edges")), 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "class=\"cell\" data-slot=\"0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "class=\"cell\" data-slot=\"1\""));
    CU_ASSERT_PTR_NULL(strstr(html, "id=\"parallel\"")); /* one measure: no parallel axes */
    cJSON_Delete(d);
    free(html);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_long_genomes_are_cut_and_their_length_kept(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 40, 2);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}, {\"bins\": 2, \"range\": [0, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    double x[40], m[2] = {0.2, 0.7};
    for (int i = 0; i < 40; i++)
        x[i] = i / 3.0;
    qd_solution s = {.x = x, .n = 40, .objective = 1.5, .measures = m, .m = 2};
    qd_add_result r;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    char *html = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    cJSON *d = data_of(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(d, "dim")->valuedouble, 40);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(d, "genes")->valuedouble, 32);
    size_t n;
    uint32_t *g = words_of(d, "genome", &n), *cell = words_of(d, "cell", &n);
    CU_ASSERT(float_of(g[31]) == (float)(31 / 3.0));
    CU_ASSERT_EQUAL(cell[0], 1); /* bins (0, 1): row-major */
    free(g);
    free(cell);
    CU_ASSERT_PTR_NULL(strstr(html, "<h2>Progress</h2>")); /* no metrics given: no charts */
    cJSON_Delete(d);
    free(html);
    qd_archive_free(a);
    qd_space_free(&sp);
}

/* A big grid (over the SVG limit) gets the canvas map: no SVG heatmap, the
 * grid's edges for the script, and fewer genome numbers per elite so the
 * report stays within its budget of numbers. */
static void test_big_archives_get_a_canvas_map_and_a_number_budget(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 40, 3);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 250, \"range\": [0, 1]}, {\"bins\": 240, \"range\": [0, 1]},"
                                " {\"bins\": 2, \"range\": [0, 1]}]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    double x[40] = {0}, m[3];
    qd_add_result r;
    for (int i = 0; i < 100000; i++) {
        m[0] = (i % 250 + 0.5) / 250;
        m[1] = (i / 250 % 240 + 0.5) / 240;
        m[2] = i < 60000 ? 0.25 : 0.75;
        x[0] = i;
        qd_solution s = {.x = x, .n = 40, .objective = i, .measures = m, .m = 3};
        if (qd_archive_add(a, &s, &r) != QD_OK)
            break;
    }
    qd_archive_stats st;
    qd_archive_stats_get(a, &st);
    CU_ASSERT_EQUAL(st.filled, 100000);
    char *html = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NULL(strstr(html, "<svg xmlns")); /* no SVG heatmap */
    CU_ASSERT_PTR_NULL(strstr(html, "class=\"cell\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<div id=\"parallel\"></div>"));
    cJSON *d = data_of(html);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    cJSON *map = cJSON_GetObjectItem(d, "map");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(map, "mode")->valuestring, "canvas");
    CU_ASSERT(cJSON_IsTrue(cJSON_GetObjectItem(map, "grid")));
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(map, "axes"), 1),
                                                           "edges")), 241);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(map, "vmax")->valuedouble, 99999);
    /* 1,500,000 numbers over 100,000 elites: 15 each, 1 objective + 3 measures + 11 genes */
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(d, "genes")->valuedouble, 11);
    size_t n;
    uint32_t *g = words_of(d, "genome", &n);
    CU_ASSERT_EQUAL(n, 100000 * 11);
    CU_ASSERT(float_of(g[11 * 77777]) == 77777.0f);
    free(g);
    cJSON_Delete(d);
    free(html);
    qd_archive_free(a);
    qd_space_free(&sp);
}

/* A CVT archive over the SVG limit carries its centroids for the script's
 * Voronoi raster; svg_cells moves the limit. */
static void test_big_cvt_archives_carry_their_centroids(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 2, 2);
    qd_archive *a = archive_for("{\"type\": \"cvt\", \"cells\": 50, \"samples\": 2000, \"ranges\": [[0, 1], [0, 2]]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    double x[2] = {0}, m[2] = {0.5, 1};
    qd_add_result r;
    qd_solution s = {.x = x, .n = 2, .objective = 1, .measures = m, .m = 2};
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    qd_report_options o;
    qd_report_defaults(&o);
    char *html = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<polygon class=\"cell\" data-slot=\"0\""));
    cJSON *d = data_of(html);
    CU_ASSERT_PTR_NULL(cJSON_GetObjectItem(cJSON_GetObjectItem(d, "map"), "centroids"));
    cJSON_Delete(d);
    free(html);
    o.svg_cells = 49;
    html = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NULL(strstr(html, "<polygon"));
    d = data_of(html);
    cJSON *map = cJSON_GetObjectItem(d, "map");
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(map, "mode")->valuestring, "canvas");
    CU_ASSERT(cJSON_IsFalse(cJSON_GetObjectItem(map, "grid")));
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(map, "axes"), 1), "hi")->valuedouble, 2);
    size_t n;
    uint32_t *c = words_of(map, "centroids", &n);
    CU_ASSERT_EQUAL(n, 100);
    size_t inside = 0;
    for (size_t i = 0; i < n; i++)
        inside += float_of(c[i]) >= 0 && float_of(c[i]) <= (i % 2 ? 2 : 1);
    CU_ASSERT_EQUAL(inside, n);
    free(c);
    cJSON_Delete(d);
    free(html);
    qd_archive_free(a);
    qd_space_free(&sp);
}

/* The number of points of the first polyline of the page. */
static size_t chart_points(const char *html, char *last, size_t lastlen)
{
    const char *p = strstr(html, "class=\"series\""), *end;
    size_t n = 1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    p = strstr(p, "points=\"") + 8;
    end = strchr(p, '"');
    for (const char *q = p; q < end; q++)
        n += *q == ' ';
    const char *sp = end;
    while (sp > p && sp[-1] != ' ')
        sp--;
    snprintf(last, lastlen, "%.*s", (int)(end - sp), sp);
    return n;
}

static void test_progress_charts_thin_long_runs_and_end_on_the_last_row(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 1);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    qd_metrics rows[1000];
    memset(rows, 0, sizeof rows);
    for (int i = 0; i < 1000; i++) {
        rows[i].iteration = (uint64_t)i + 1;
        rows[i].stats.qd_score = i;
        rows[i].stats.coverage = i / 1000.0;
        rows[i].stats.obj_max = 1;
    }
    qd_report_options o;
    qd_report_defaults(&o);
    o.metrics = rows;
    o.nmetrics = 10;
    char last[64], *html = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(count(html, "class=\"series\""), 3);
    CU_ASSERT_EQUAL(chart_points(html, last, sizeof last), 10);
    CU_ASSERT_STRING_EQUAL(last, "500.0,16.0"); /* x = 80 + 420, the top: the highest QD score */
    /* the y axis from 0 (bottom, y = 16 + 180) with round ticks (0, 2, 4, 6, 8 for QD scores 0..9) */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "y=\"196.0\" text-anchor=\"end\" dominant-baseline=\"middle\">0</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "dominant-baseline=\"middle\">8</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td>run</td><td>10 iterations, 0 evaluations, 0 failed</td>"));
    free(html);
    o.nmetrics = 6; /* iterations 1..6 ticked one by one: "1" once per chart (it was drawn twice) */
    html = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(count(html, "y=\"212\" text-anchor=\"middle\">1</text>"), 3);
    CU_ASSERT_EQUAL(count(html, "y=\"212\" text-anchor=\"middle\">6</text>"), 3);
    free(html);
    o.nmetrics = 1000; /* every 3rd row (0, 3, ..., 999): 334 points */
    html = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_EQUAL(chart_points(html, last, sizeof last), 334);
    CU_ASSERT_STRING_EQUAL(last, "500.0,16.0");
    free(html);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_config_is_shown_escaped(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 1);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    cJSON *cfg = cJSON_Parse("{\"prompt\": \"<b>write</b>\"}");
    qd_report_options o;
    qd_report_defaults(&o);
    o.config = cfg;
    o.description = "a & b";
    char *html = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(html);
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "&quot;&lt;b&gt;write&lt;/b&gt;&quot;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<p class=\"desc\">a &amp; b</p>"));
    cJSON_Delete(cfg);
    free(html);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_bad_heatmap_options_fail_before_writing(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 1);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}]}", &sp);
    char *dir = qdt_tmpdir(), path[600], err[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    snprintf(path, sizeof path, "%s/report.html", dir);
    qd_report_options o;
    qd_report_defaults(&o);
    o.heatmap.x_measure = 3;
    CU_ASSERT_EQUAL(qd_archive_save_html(a, &o, path, err, sizeof err), QD_EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "heatmap measures 3"));
    CU_ASSERT_PTR_NULL(qdt_slurp(path)); /* nothing written */
    qdt_rmdir(dir);
    free(dir);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static const qdt_test tests[] = {
    {"text elites round-trip and cannot inject", test_text_elites_round_trip_and_cannot_inject},
    {"long genomes are cut, their length kept", test_long_genomes_are_cut_and_their_length_kept},
    {"progress charts thin long runs, end on the last row", test_progress_charts_thin_long_runs_and_end_on_the_last_row},
    {"big archives get a canvas map and a number budget", test_big_archives_get_a_canvas_map_and_a_number_budget},
    {"big CVT archives carry their centroids", test_big_cvt_archives_carry_their_centroids},
    {"config is shown escaped", test_config_is_shown_escaped},
    {"bad heatmap options fail before writing", test_bad_heatmap_options_fail_before_writing},
    {NULL, NULL},
};

QDT_MAIN("report", tests)
