/* test_elite_text.c - archive/elite_text.c, the elites' numbers formatted
 * once per save: archive.json's elite lines are the bytes the cJSON object
 * the writer used to build prints (the reference below is that code),
 * archive.csv is what formatting each number on its own gives, a change to
 * the archive after a save shows in the next one, and an archive too big to
 * keep its text (formatted elite by elite) writes the same bytes. */
#include <math.h>
#include "archive/archive_internal.h"
#include "testutil.h"

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    char *s;
    long n;
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    rewind(f);
    s = malloc((size_t)n + 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    if (s)
        s[n] = '\0';
    fclose(f);
    return s;
}

/* The elite line the writer printed before (a cJSON object per elite). */
static char *reference_line(const qd_archive *a, size_t i)
{
    qd_elite e;
    size_t coords[64];
    cJSON *o = cJSON_CreateObject(), *c;
    char *s;
    qd_archive_elite_at(a, i, &e);
    cJSON_AddNumberToObject(o, "index", (double)e.cell);
    qd_archive_coords(a, e.cell, coords);
    c = cJSON_AddArrayToObject(o, "coords");
    for (size_t k = 0; k < a->m; k++)
        cJSON_AddItemToArray(c, cJSON_CreateNumber((double)coords[k]));
    cJSON_AddItemToObject(o, "objective", qdi_json_double(e.objective));
    if (a->learning_rate < 1.0)
        cJSON_AddItemToObject(o, "threshold", qdi_json_double(e.threshold));
    cJSON_AddItemToObject(o, "measures", qdi_json_doubles(e.measures, e.m));
    if (a->kind == QD_GENOME_REAL)
        cJSON_AddItemToObject(o, "solution", qdi_json_doubles(e.x, e.n));
    else
        cJSON_AddStringToObject(o, "text", e.text ? e.text : "");
    if (e.meta)
        cJSON_AddItemToObject(o, "meta", cJSON_Parse(e.meta));
    if (e.lineage)
        cJSON_AddItemToObject(o, "lineage", cJSON_Parse(e.lineage));
    s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* archive.csv as formatting every number on its own writes it. */
static void reference_csv(const qd_archive *a, FILE *fp)
{
    char num[32];
    fputs("index,objective", fp);
    if (a->learning_rate < 1.0)
        fputs(",threshold", fp);
    for (size_t k = 0; k < a->m; k++)
        fprintf(fp, ",measures_%zu", k);
    if (a->kind == QD_GENOME_REAL)
        for (size_t j = 0; j < a->dim; j++)
            fprintf(fp, ",solution_%zu", j);
    else
        fputs(",text", fp);
    fputs(",meta\n", fp);
    for (size_t cell = 0; cell < a->cells; cell++) {
        qd_elite e;
        if (qd_archive_elite(a, cell, &e) != QD_OK)
            continue;
        fprintf(fp, "%zu,%s", cell, qdi_format_double(num, e.objective));
        if (a->learning_rate < 1.0)
            fprintf(fp, ",%s", qdi_format_double(num, e.threshold));
        for (size_t k = 0; k < e.m; k++)
            fprintf(fp, ",%s", qdi_format_double(num, e.measures[k]));
        for (size_t j = 0; j < e.n; j++)
            fprintf(fp, ",%s", qdi_format_double(num, e.x[j]));
        if (a->kind == QD_GENOME_TEXT) {
            fputc(',', fp);
            if (e.text && *e.text)
                qdi_csv_field(fp, e.text);
            else
                fputs("\"\"", fp);
        }
        fputc(',', fp);
        qdi_csv_field(fp, e.meta);
        fputc('\n', fp);
    }
}

/* Saves a's JSON and CSV into dir and checks both against the references. */
static void check_saved(const qd_archive *a, const char *dir)
{
    char jpath[600], cpath[600], rpath[600], err[512];
    snprintf(jpath, sizeof jpath, "%s/archive.json", dir);
    snprintf(cpath, sizeof cpath, "%s/archive.csv", dir);
    snprintf(rpath, sizeof rpath, "%s/reference.csv", dir);
    CU_ASSERT_EQUAL_FATAL(qd_archive_save_json(a, NULL, jpath, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_archive_save_csv(a, cpath, err, sizeof err), QD_OK);
    char *json = slurp(jpath), *line = strstr(json, "\"elites\":\t[\n\t\t");
    CU_ASSERT_PTR_NOT_NULL_FATAL(line);
    line += strlen("\"elites\":\t[\n\t\t");
    for (size_t i = 0; i < a->filled; i++) {
        char *ref = reference_line(a, i), *end = strstr(line, i + 1 < a->filled ? ",\n\t\t" : "\n\t]");
        CU_ASSERT_PTR_NOT_NULL_FATAL(end);
        if (strlen(ref) != (size_t)(end - line) || strncmp(ref, line, strlen(ref)) != 0)
            fprintf(stderr, "elite %zu: wrote %.*s\nexpected %s\n", i, (int)(end - line), line, ref);
        CU_ASSERT_EQUAL(strlen(ref), (size_t)(end - line));
        CU_ASSERT_EQUAL(strncmp(ref, line, strlen(ref)), 0);
        free(ref);
        line = end + 4;
    }
    FILE *fp = fopen(rpath, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    reference_csv(a, fp);
    fclose(fp);
    char *csv = slurp(cpath), *want = slurp(rpath);
    CU_ASSERT_STRING_EQUAL(csv, want);
    free(csv);
    free(want);
    /* and it loads back the same, bit for bit, inf and nan genes too (the
     * loader refused the strings "inf" and "nan" the writer gives them) */
    qd_archive *b = NULL;
    if (qd_archive_load_json(jpath, &b, NULL, err, sizeof err) != QD_OK)
        fprintf(stderr, "load: %s\n", err);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->filled, a->filled);
    for (size_t i = 0; i < a->filled; i++) {
        CU_ASSERT_EQUAL(memcmp(&a->objective[i], &b->objective[i], sizeof(double)), 0);
        if (a->learning_rate < 1.0)
            CU_ASSERT_EQUAL(memcmp(&a->threshold[i], &b->threshold[i], sizeof(double)), 0);
        CU_ASSERT_EQUAL(memcmp(a->measures + i * a->m, b->measures + i * a->m, a->m * sizeof(double)), 0);
        if (a->kind == QD_GENOME_REAL)
            CU_ASSERT_EQUAL(memcmp(a->x + i * a->dim, b->x + i * a->dim, a->dim * sizeof(double)), 0);
    }
    qd_archive_free(b);
    free(json);
}

static qd_archive *grid(qd_genome_kind kind, const char *extra, qd_config **cfg)
{
    qd_space sp;
    qd_archive *a = NULL;
    char json[300];
    snprintf(json, sizeof json, "{\"dims\": [{\"bins\": 4, \"range\": [0, 1]}, {\"bins\": 4, \"range\": [0, 1]}]%s}",
             extra);
    *cfg = qdt_config(json);
    qd_space_init(&sp, kind, kind == QD_GENOME_REAL ? 3 : 0, 2);
    CU_ASSERT_EQUAL(qd_archive_new(*cfg, &sp, &a), QD_OK);
    qd_space_free(&sp);
    return a;
}

/* Adds a solution whose numbers have every kind of length. */
static void add(qd_archive *a, double f, double m0, double m1, const double *x, const char *text, const char *meta)
{
    double m[2] = {m0, m1}, xs[3] = {x ? x[0] : 0, x ? x[1] : 0, x ? x[2] : 0};
    qd_solution s = {.x = a->kind == QD_GENOME_REAL ? xs : NULL, .n = a->kind == QD_GENOME_REAL ? 3 : 0,
                     .text = (char *)text, .objective = f, .measures = m, .m = 2, .meta = (char *)meta};
    qd_add_result r;
    CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
}

/* Four elites; finite 0: one with genes inf and nan. */
static void fill(qd_archive *a, int finite)
{
    const double x1[3] = {1.0 / 3, -0.0, 5e-324}, x2[3] = {0.1, 1e300, -2.5};
    const double x3[3] = {finite ? 1e-7 : INFINITY, finite ? 123456.789 : NAN, 7};
    add(a, 1.0 / 3, 0.1, 0.9, x1, "a \"poem\"\n", "{\"k\": [1, 2]}");
    add(a, 100, 0.6, 0.3, x2, "", NULL);
    add(a, 0.30000000000000004, 0.35, 0.35, x1, "x,y", NULL);
    add(a, 2, 0.99, 0.01, x3, "three", "{\"why\": \"inf\"}");
}

static void test_lines_and_rows_are_the_references(void)
{
    char *dir = qdt_tmpdir();
    const char *extra[] = {"", ", \"learning_rate\": 0.5, \"threshold_min\": 0"};
    for (int kind = 0; kind < 2; kind++)
        for (int e = 0; e < 2; e++) {
            qd_config *cfg;
            qd_archive *a = grid(kind ? QD_GENOME_TEXT : QD_GENOME_REAL, extra[e], &cfg);
            CU_ASSERT_PTR_NOT_NULL_FATAL(a);
            fill(a, 0);
            check_saved(a, dir);
            qd_archive_free(a);
            qd_config_free(cfg);
            a = grid(kind ? QD_GENOME_TEXT : QD_GENOME_REAL, extra[e], &cfg);
            fill(a, 1);
            check_saved(a, dir);
            qd_archive_free(a);
            qd_config_free(cfg);
        }
    qdt_rmdir(dir);
    free(dir);
}

/* The kept text is the archive's state at the save: a later add shows. */
static void test_a_change_after_a_save_shows_in_the_next(void)
{
    char *dir = qdt_tmpdir(), path[600], err[512];
    const double x[3] = {0.125, 0.25, 0.5};
    qd_config *cfg;
    qd_archive *a = grid(QD_GENOME_REAL, "", &cfg);
    fill(a, 1);
    check_saved(a, dir);
    add(a, 1000.5, 0.1, 0.9, x, NULL, NULL); /* improves the first's cell: as many elites */
    check_saved(a, dir);
    add(a, 7.75, 0.8, 0.8, x, NULL, NULL); /* a new cell */
    check_saved(a, dir);
    snprintf(path, sizeof path, "%s/archive.csv", dir);
    char *csv = slurp(path);
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, ",1000.5,0.1,0.9,0.125,0.25,0.5,\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(csv, ",7.75,0.8,0.8,0.125,0.25,0.5,\n"));
    free(csv);
    qdi_archive_drop_text(a);
    qdi_archive_drop_text(a); /* twice is fine */
    check_saved(a, dir);
    CU_ASSERT_EQUAL(qd_archive_save_csv(a, path, err, sizeof err), QD_OK);
    qd_archive_free(a);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

/* Above qdi_elite_text_max nothing is kept and each elite is formatted as
 * it is written: the same bytes. */
static void test_too_big_to_keep_writes_the_same(void)
{
    char *dir = qdt_tmpdir();
    size_t max = qdi_elite_text_max;
    qd_config *cfg;
    qd_archive *a = grid(QD_GENOME_REAL, ", \"learning_rate\": 0.5, \"threshold_min\": 0", &cfg);
    fill(a, 0);
    qdi_elite_text_max = 0;
    check_saved(a, dir);
    CU_ASSERT_PTR_NULL(a->text_cache);
    qdi_elite_text_max = max;
    check_saved(a, dir);
    CU_ASSERT_PTR_NOT_NULL(a->text_cache);
    qd_archive_free(a);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

/* Formatted on several threads (in parts, then moved together), the text
 * is byte for byte what the references give, whatever the part sizes. */
static void test_formatted_on_threads_is_the_same(void)
{
    char *dir = qdt_tmpdir();
    qd_space sp;
    qd_config *cfg = qdt_config("{\"dims\": [{\"bins\": 64, \"range\": [0, 1]}, {\"bins\": 64, \"range\": [0, 1]}]}");
    qd_archive *a = NULL;
    uint64_t r = 12345;
    qd_space_init(&sp, QD_GENOME_REAL, 3, 2);
    CU_ASSERT_EQUAL_FATAL(qd_archive_new(cfg, &sp, &a), QD_OK);
    for (size_t i = 0; i < 3001; i++) {
        double x[3];
        for (int k = 0; k < 3; k++) { /* short and long numbers alike */
            r = r * 6364136223846793005u + 1442695040888963407u;
            x[k] = (r >> 40) % 3 == 0 ? (double)(r >> 54) : (double)(r >> 11) / 9007199254740992.0;
        }
        add(a, x[0] * 100, (double)(i % 64) / 64 + 0.001, (double)(i / 64) / 64 + 0.001, x, NULL, "{}");
    }
    CU_ASSERT_EQUAL_FATAL(a->filled, 3001);
    size_t threads[] = {2, 3, 16};
    for (size_t t = 0; t < QDI_ARRAY_LEN(threads); t++) {
        qdi_archive_set_threads(a, threads[t]);
        qdi_archive_drop_text(a);
        qdi_archive_freeze_text(a); /* formats it, on the threads */
        CU_ASSERT_PTR_NOT_NULL(a->text_cache);
        check_saved(a, dir);
        qdi_archive_drop_text(a);
    }
    /* frozen, a text gone stale is neither rebuilt nor dropped: the
     * writers format each elite as they go, and write the new state */
    qdi_archive_freeze_text(a);
    struct qdi_elite_text_cache *kept = a->text_cache;
    add(a, 1e6, 0.5, 0.5, NULL, NULL, "{}");
    check_saved(a, dir);
    CU_ASSERT_PTR_EQUAL(a->text_cache, kept);
    qdi_archive_drop_text(a);
    CU_ASSERT_PTR_NULL(a->text_cache);
    check_saved(a, dir); /* unfrozen: built again */
    CU_ASSERT_PTR_NOT_NULL(a->text_cache);
    qd_archive_free(a);
    qd_space_free(&sp);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static const qdt_test tests[] = {
    {"lines and rows are the references", test_lines_and_rows_are_the_references},
    {"a change after a save shows in the next", test_a_change_after_a_save_shows_in_the_next},
    {"too big to keep writes the same", test_too_big_to_keep_writes_the_same},
    {"formatted on threads is the same", test_formatted_on_threads_is_the_same},
    {NULL, NULL},
};

QDT_MAIN("elite_text", tests)
