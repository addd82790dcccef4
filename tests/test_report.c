/* test_report.c - report.html (archive/report_html.c): the embedded data
 * holds every elite exactly, no text can break out of the data block or
 * inject markup, long genomes are cut with their length kept, the progress
 * charts have one point per row (thinned for long runs, ending on the last),
 * and the heatmap's cells point at the data. */
#include <math.h>
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
    cJSON *e = cJSON_GetObjectItem(d, "elites");
    CU_ASSERT_EQUAL(cJSON_GetArraySize(e), 2);
    cJSON *e0 = cJSON_GetArrayItem(e, 0), *e1 = cJSON_GetArrayItem(e, 1);
    CU_ASSERT_STRING_EQUAL(cJSON_GetObjectItem(e0, "text")->valuestring, hostile);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(e0, "cell")->valuedouble, 0);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(e0, "meta"), "quality"), "yes")->valuedouble,
                    -0.1);
    CU_ASSERT(cJSON_GetObjectItem(e1, "objective")->valuedouble == 0.1 + 0.2); /* exact, not 0.3 */
    CU_ASSERT_EQUAL(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(e1, "lineage"), "parents")), 2);
    CU_ASSERT_STRING_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(d, "measure_names"), 0)->valuestring, "sentiment");
    /* the heatmap's shapes index the data */
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "class=\"cell\" data-slot=\"0\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "class=\"cell\" data-slot=\"1\""));
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
    cJSON *e0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "elites"), 0), *g = cJSON_GetObjectItem(e0, "genome");
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(d, "solution_dim")->valuedouble, 40);
    CU_ASSERT_EQUAL(cJSON_GetArraySize(g), 32);
    CU_ASSERT(cJSON_GetArrayItem(g, 31)->valuedouble == 31 / 3.0);
    CU_ASSERT_EQUAL(cJSON_GetArrayItem(cJSON_GetObjectItem(e0, "coords"), 1)->valuedouble, 1);
    CU_ASSERT_PTR_NULL(strstr(html, "<h2>Progress</h2>")); /* no metrics given: no charts */
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
    CU_ASSERT_PTR_NOT_NULL(strstr(html, "<td>run</td><td>10 iterations, 0 evaluations, 0 failed</td>"));
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
    {"config is shown escaped", test_config_is_shown_escaped},
    {"bad heatmap options fail before writing", test_bad_heatmap_options_fail_before_writing},
    {NULL, NULL},
};

QDT_MAIN("report", tests)
