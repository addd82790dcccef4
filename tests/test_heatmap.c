/* test_heatmap.c - the SVG heatmap (archive/heatmap_svg.c): one shape per
 * elite at the right place with the right colour, QDAIF's non-uniform bins
 * drawn at equal width with their edges as labels, the best elite over
 * hidden dimensions, CVT rasters, XML escaping, bad options, same bytes for
 * the same archive. */
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

static void add(qd_archive *a, double f, const double *meas)
{
    double x = 0;
    qd_solution s = {.x = &x, .n = 1, .objective = f, .measures = (double *)meas, .m = qd_archive_measure_dim(a)};
    qd_add_result r;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
}

/* Saves a heatmap into a fresh folder and returns its text (caller frees). */
static char *render(const qd_archive *a, const qd_heatmap_options *o)
{
    char *dir = qdt_tmpdir(), path[600], err[512], *svg;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/heatmap.svg", dir);
    CU_ASSERT_EQUAL(qd_archive_save_svg(a, o, path, err, sizeof err), QD_OK);
    svg = qdt_slurp(path);
    qdt_rmdir(dir);
    free(dir);
    return svg;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_one_shape_per_elite_with_viridis_ends(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 2);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 4, \"range\": [0, 4]}, {\"bins\": 2, \"range\": [0, 2]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 10, (double[]){0.5, 0.5}); /* bin (0, 0): lowest objective */
    add(a, 30, (double[]){3.5, 1.5}); /* bin (3, 1): highest */
    add(a, 20, (double[]){1.5, 0.5}); /* bin (1, 0): the middle */
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "class=\"cell\""), 3);
    /* plot at x 80, y 56, 480 x 480: a cell is 120 x 240; y grows downward */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"80.00\" y=\"296.00\" width=\"120.00\" height=\"240.00\" fill=\"#440154\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"440.00\" y=\"56.00\" width=\"120.00\" height=\"240.00\" fill=\"#fde725\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"200.00\" y=\"296.00\" width=\"120.00\" height=\"240.00\" fill=\"#21918c\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<title>cell 7: objective 30; measures 3.5, 1.5</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "3 of 8 cells (37.50%)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">measure_0</text>"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_qdaif_edges_are_equal_width_and_labelled(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 1);
    qd_space_set_measure_name(&sp, 0, "sentiment");
    qd_archive *a = archive_for("{\"dims\": [{\"edges\": [0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, 0.20,"
                                " 0.50, 0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1]}]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 0.9, (double[]){0.001}); /* bin 0 */
    add(a, 0.5, (double[]){0.999}); /* bin 19 */
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "class=\"cell\""), 2);
    /* 20 bins of 24 px each, one row 48 px high, whatever the edge widths */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"80.00\" y=\"56.00\" width=\"24.00\" height=\"48.00\" fill=\"#fde725\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"536.00\" y=\"56.00\" width=\"24.00\" height=\"48.00\" fill=\"#440154\""));
    /* 20 bins: every second edge is labelled, at its own value */
    CU_ASSERT_PTR_NULL(strstr(svg, ">0.005</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">0.01</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">0.5</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">sentiment</text>"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_hidden_dimensions_show_the_best_elite(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 3);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}, {\"bins\": 2, \"range\": [0, 2]},"
                                " {\"bins\": 3, \"range\": [0, 3]}]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 1, (double[]){0.5, 0.5, 0.5});
    add(a, 5, (double[]){0.5, 0.5, 2.5}); /* same (x, z) column, better */
    add(a, 3, (double[]){1.5, 1.5, 1.5});
    qd_heatmap_options o;
    qd_heatmap_defaults(&o);
    o.y_measure = 2; /* show measures 0 and 2; measure 1 is hidden */
    char *svg = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "class=\"cell\""), 3); /* three distinct (x, z) cells */
    o.y_measure = 1;                                  /* show 0 and 1: measure 2 hidden */
    free(svg);
    svg = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "class=\"cell\""), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "objective 5;"));
    CU_ASSERT_PTR_NULL(strstr(svg, "objective 1;"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_cvt_raster_covers_the_elites_cells(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 2);
    qd_archive *a = archive_for("{\"type\": \"cvt\", \"centroids\": [[0.25, 0.5], [0.75, 0.5]],"
                                " \"ranges\": [[0, 1], [0, 1]]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 2, (double[]){0.9, 0.1});
    qd_heatmap_options o;
    qd_heatmap_defaults(&o);
    o.raster = 4;
    char *svg = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "<circle class=\"cell\""), 1);
    /* each of the 4 raster rows has one run over the right half: 2 of 4 pixels */
    CU_ASSERT_EQUAL(count(svg, "width=\"240.01\""), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<rect x=\"320.00\" y=\"416.00\" width=\"240.01\" height=\"120.01\""));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_names_and_texts_are_escaped(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_TEXT, 0, 1);
    qd_space_set_measure_name(&sp, 0, "<tone & style>");
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    double m = 0.2;
    qd_solution s = {.text = "\"Kale\" < 'chips' & more", .objective = 1, .measures = &m, .m = 1};
    qd_add_result r;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    qd_heatmap_options o;
    qd_heatmap_defaults(&o);
    o.title = "opinions & <vegetables>";
    char *svg = render(a, &o);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">&lt;tone &amp; style&gt;</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">opinions &amp; &lt;vegetables&gt;</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "&quot;Kale&quot; &lt; &apos;chips&apos; &amp; more</title>"));
    CU_ASSERT_PTR_NULL(strstr(svg, "<tone"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_bad_options_name_the_file_and_value(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 2);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}, {\"bins\": 2, \"range\": [0, 1]}]}", &sp);
    qd_heatmap_options o;
    char err[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    qd_heatmap_defaults(&o);
    o.y_measure = 5;
    CU_ASSERT_EQUAL(qd_archive_save_svg(a, &o, "/tmp/never.svg", err, sizeof err), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(err, "/tmp/never.svg: heatmap measures 0 and 5: the archive has 2 measures (numbered from 0)");
    qd_heatmap_defaults(&o);
    CU_ASSERT_EQUAL(qd_archive_save_svg(a, &o, "/nonexistent-dir/h.svg", err, sizeof err), QD_EIO);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent-dir/h.svg"));
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_empty_archive_and_same_bytes_twice(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 2);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 3, \"range\": [0, 1]}, {\"bins\": 3, \"range\": [0, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char *empty = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(empty);
    CU_ASSERT_EQUAL(count(empty, "class=\"cell\""), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(empty, "0 of 9 cells (0.00%)"));
    CU_ASSERT_PTR_NOT_NULL(strstr(empty, "</svg>\n"));
    add(a, 1.5, (double[]){0.1, 0.9});
    add(a, 2.5, (double[]){0.9, 0.1});
    char *one = render(a, NULL), *two = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    CU_ASSERT_STRING_EQUAL(one, two);
    free(empty);
    free(one);
    free(two);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static const qdt_test tests[] = {
    {"one shape per elite, viridis at both ends", test_one_shape_per_elite_with_viridis_ends},
    {"QDAIF's edges are equal width and labelled", test_qdaif_edges_are_equal_width_and_labelled},
    {"hidden dimensions show the best elite", test_hidden_dimensions_show_the_best_elite},
    {"CVT raster covers the elites' cells", test_cvt_raster_covers_the_elites_cells},
    {"names and texts are escaped", test_names_and_texts_are_escaped},
    {"bad options name the file and value", test_bad_options_name_the_file_and_value},
    {"empty archive; same bytes twice", test_empty_archive_and_same_bytes_twice},
    {NULL, NULL},
};

QDT_MAIN("heatmap", tests)
