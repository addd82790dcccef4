/* test_heatmap.c - the SVG heatmap (archive/heatmap_svg.c): one shape per
 * elite at the right place with the right colour, QDAIF's non-uniform bins
 * drawn at equal width with their edges as labels, the best elite over
 * facets for 3-D and 4-D grids, a projection note beyond, category and end
 * names on the axes, CVT Voronoi polygons, XML escaping, bad options, same bytes for
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

static void test_three_measures_give_one_facet_per_bin(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 3);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}, {\"bins\": 2, \"range\": [0, 2]},"
                                " {\"bins\": 3, \"range\": [0, 3]}]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 1, (double[]){0.5, 0.5, 0.5});
    add(a, 5, (double[]){0.5, 0.5, 2.5}); /* same (x, y), another slice */
    add(a, 3, (double[]){1.5, 1.5, 1.5});
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "class=\"facet\""), 3);
    CU_ASSERT_EQUAL(count(svg, "class=\"cell\""), 3); /* nothing hidden: every elite drawn */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">measure_2 in [0, 1)</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">measure_2 in [2, 3)</text>"));
    /* facets 160 px wide, 12 px apart, from x 80, y 78: bin (0, 0) of the
     * first and of the third slice */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-slot=\"0\" x=\"80.00\" y=\"158.00\" width=\"80.00\" height=\"80.00\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "data-slot=\"1\" x=\"424.00\" y=\"158.00\" width=\"80.00\" height=\"80.00\""));
    CU_ASSERT_PTR_NULL(strstr(svg, "A projection"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_four_measures_give_a_grid_of_facets_and_five_a_projection_note(void)
{
    qd_space sp;
    const char *tones[] = {"happy", "dark", "calm"};
    qd_space_init(&sp, QD_GENOME_REAL, 1, 4);
    qd_space_set_measure_name(&sp, 3, "tone");
    qd_space_set_measure_labels(&sp, 3, tones, 3, 1);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}, {\"bins\": 2, \"range\": [0, 2]},"
                                " {\"bins\": 2, \"range\": [0, 2]}, {\"bins\": 3, \"range\": [0, 3]}]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 1, (double[]){0.5, 0.5, 0.5, 0.5});
    add(a, 2, (double[]){0.5, 0.5, 1.5, 2.5});
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "class=\"facet\""), 6); /* 2 columns x 3 rows */
    CU_ASSERT_EQUAL(count(svg, "class=\"cell\""), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">measure_2 in [1, 2), tone: calm</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "measures 0.5, 0.5, 1.5, 2.5 (calm)</title>"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
    qd_space_init(&sp, QD_GENOME_REAL, 1, 5);
    a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 2]}, {\"bins\": 2, \"range\": [0, 2]},"
                    " {\"bins\": 2, \"range\": [0, 2]}, {\"bins\": 2, \"range\": [0, 2]}, {\"bins\": 2, \"range\": [0, 2]}]}",
                    &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 1, (double[]){0.5, 0.5, 0.5, 0.5, 0.5});
    svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "class=\"facet\""), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "A projection: each square shows the best elite over the 3 measures not drawn"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_category_names_and_end_names_label_the_axes(void)
{
    qd_space sp;
    const char *genres[] = {"haiku", "sonnet", "ballad", "limerick", "hymn"}, *ends[] = {"romance", "horror"};
    qd_space_init(&sp, QD_GENOME_TEXT, 0, 2);
    qd_space_set_measure_name(&sp, 0, "genre");
    qd_space_set_measure_labels(&sp, 0, genres, 5, 1);
    qd_space_set_measure_name(&sp, 1, "mood");
    qd_space_set_measure_labels(&sp, 1, ends, 2, 0);
    sp.objective_min = 0;
    sp.objective_max = 1;
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 5, \"range\": [0, 5]}, {\"bins\": 4, \"range\": [0, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    double m[2] = {1.5, 0.9};
    qd_solution s = {.text = "a poem", .objective = 0.94, .measures = m, .m = 2};
    qd_add_result r;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    for (size_t i = 0; i < 5; i++) {
        char want[64];
        snprintf(want, sizeof want, ">%s</text>", genres[i]);
        CU_ASSERT_PTR_NOT_NULL(strstr(svg, want));
    }
    /* haiku at the middle of the first of 5 bins of 96 px: x = 80 + 48 */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<text x=\"128.00\" y=\"554.00\" text-anchor=\"middle\">haiku</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">mood: romance \xe2\x86\x94 horror</text>"));
    /* the y axis's end names 16 px right of its name, in the rotated frame
     * (to its left, at y 282, they ran off the picture) */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"-218.00\" y=\"312.00\" text-anchor=\"start\" fill=\"#555\" "
                                       "transform=\"rotate(-90 22.00 296.00)\">romance</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"262.00\" y=\"312.00\" text-anchor=\"end\" fill=\"#555\" "
                                       "transform=\"rotate(-90 22.00 296.00)\">horror</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "measures 1.5 (sonnet), 0.9\na poem</title>"));
    /* one objective of 0.94 in [0, 1]: the bar spans 0.44 .. 1, not 0.94 .. 1.94 */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, ">0.44</text>"));
    CU_ASSERT_PTR_NULL(strstr(svg, ">1.44</text>"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

/* QDAIF's stories: y tick labels "0.995" and end names need more than the
 * 80 px margin: 6.5 px x 5 + 8 + 30 + 16 = 86.5. */
static void test_long_y_labels_and_end_names_widen_the_margin(void)
{
    qd_space sp;
    const char *ends[] = {"tragic", "happy"};
    qd_space_init(&sp, QD_GENOME_TEXT, 0, 2);
    qd_space_set_measure_name(&sp, 1, "ending");
    qd_space_set_measure_labels(&sp, 1, ends, 2, 0);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]},"
                                " {\"edges\": [0, 0.005, 0.5, 0.995, 1]}]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<rect x=\"86.50\" y=\"56.00\" width=\"480.00\" height=\"480.00\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<text x=\"78.50\" y=\"56.00\" text-anchor=\"end\" "
                                       "dominant-baseline=\"middle\">1</text>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "width=\"662\" height=\"592\""));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
    /* without end names the numbers fit the default margin */
    qd_space_init(&sp, QD_GENOME_TEXT, 0, 2);
    a = archive_for("{\"dims\": [{\"bins\": 2, \"range\": [0, 1]}, {\"edges\": [0, 0.005, 0.5, 0.995, 1]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<rect x=\"80.00\" y=\"56.00\" width=\"480.00\" height=\"480.00\""));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_cvt_cells_are_voronoi_polygons_with_empty_ones_drawn(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 2);
    qd_archive *a = archive_for("{\"type\": \"cvt\", \"centroids\": [[0.25, 0.5], [0.75, 0.5]],"
                                " \"ranges\": [[0, 1], [0, 1]]}",
                                &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 2, (double[]){0.9, 0.1});
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_EQUAL(count(svg, "<polygon class=\"cell\""), 1);
    CU_ASSERT_EQUAL(count(svg, "<polygon class=\"empty\""), 1);
    /* the right half of the 480 x 480 plot at (80, 56) */
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "points=\"320.00,536.00 560.00,536.00 560.00,56.00 320.00,56.00\">"
                                       "<title>cell 1: objective 2; measures 0.9, 0.1</title>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "points=\"80.00,536.00 320.00,536.00 320.00,56.00 80.00,56.00\">"
                                       "<title>cell 0: empty</title>"));
    free(svg);
    qd_archive_free(a);
    qd_space_free(&sp);
}

static void test_colours_between_the_stops_are_interpolated(void)
{
    qd_space sp;
    qd_space_init(&sp, QD_GENOME_REAL, 1, 1);
    qd_archive *a = archive_for("{\"dims\": [{\"bins\": 3, \"range\": [0, 3]}]}", &sp);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    add(a, 10, (double[]){0.5});
    add(a, 15, (double[]){1.5}); /* t = 0.25: halfway from stop 2 (#414487) to stop 3 (#355f8d) */
    add(a, 30, (double[]){2.5});
    char *svg = render(a, NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(svg);
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "x=\"240.00\" y=\"56.00\" width=\"160.00\" height=\"48.00\" fill=\"#3b528a\""));
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
    {"three measures give one facet per bin", test_three_measures_give_one_facet_per_bin},
    {"four measures give a grid of facets, five a projection note",
     test_four_measures_give_a_grid_of_facets_and_five_a_projection_note},
    {"category names and end names label the axes", test_category_names_and_end_names_label_the_axes},
    {"long y labels and end names widen the margin", test_long_y_labels_and_end_names_widen_the_margin},
    {"CVT cells are Voronoi polygons, empty ones drawn", test_cvt_cells_are_voronoi_polygons_with_empty_ones_drawn},
    {"colours between the stops are interpolated", test_colours_between_the_stops_are_interpolated},
    {"names and texts are escaped", test_names_and_texts_are_escaped},
    {"bad options name the file and value", test_bad_options_name_the_file_and_value},
    {"empty archive; same bytes twice", test_empty_archive_and_same_bytes_twice},
    {NULL, NULL},
};

QDT_MAIN("heatmap", tests)
