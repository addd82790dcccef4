/* test_rescore.c - `elites rescore` (src/cli/rescore.c), through the built
 * binary: rescoring an archive with its own config reproduces it byte for
 * byte; into a coarser grid each cell keeps the best of the elites that fall
 * in it; bad input gives exit status 2 with the reason; an ai_feedback
 * config is rescored through its "llm" section (the test server). */
#include <math.h>
#include <sys/wait.h>
#include "llmtest.h"

static char cmd_out[8192];

/* Runs a shell command, keeps its stderr+stdout in cmd_out; exit status. */
static int sh(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    size_t n = p ? fread(cmd_out, 1, sizeof cmd_out - 1, p) : 0;
    cmd_out[n] = '\0';
    int st = p ? pclose(p) : -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *bin(void)
{
    const char *b = getenv("ELITES_BIN");
    return b && *b ? b : "./elites";
}

static const char *srcdir(void)
{
    const char *d = getenv("ELITES_SRCDIR");
    return d && *d ? d : ".";
}

/* Writes dir/c.json: the config at path with insert put after the first
 * marker in it. */
static void write_edited(const char *path, const char *marker, const char *insert, const char *dir)
{
    char out[700];
    char *text = qdt_slurp(path), *at = text ? strstr(text, marker) : NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(at);
    size_t head = (size_t)(at - text) + strlen(marker);
    snprintf(out, sizeof out, "%s/c.json", dir);
    FILE *fp = fopen(out, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fprintf(fp, "%.*s%s%s", (int)head, text, insert, text + head);
    fclose(fp);
    free(text);
}

/* dir/run/archive.csv and dir/re/archive.csv hold the same bytes. */
static void same_csv(const char *dir)
{
    char a[700], b[700];
    snprintf(a, sizeof a, "%s/run/archive.csv", dir);
    snprintf(b, sizeof b, "%s/re/archive.csv", dir);
    char *ta = qdt_slurp(a), *tb = qdt_slurp(b);
    CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
    CU_ASSERT_PTR_NOT_NULL_FATAL(tb);
    CU_ASSERT_STRING_EQUAL(ta, tb);
    free(ta);
    free(tb);
}

static void test_own_config_reproduces_the_archive(void)
{
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(sh("%s run %s/examples/arm.json --iterations 30 -q -o %s/run", bin(), srcdir(), dir), 0);
    CU_ASSERT_EQUAL(sh("%s rescore %s/run/archive.json --config %s/examples/arm.json -o %s/re", bin(), dir, srcdir(), dir), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd_out, ": 0 failed"));
    same_csv(dir);
    char b[700];
    snprintf(b, sizeof b, "%s/re/report.html", dir);
    char *ta = qdt_slurp(b);
    CU_ASSERT_PTR_NOT_NULL(ta);
    free(ta);
    qdt_rmdir(dir);
    free(dir);
}

static void test_coarser_grid_keeps_the_best_per_cell(void)
{
    char *dir = qdt_tmpdir(), path[700], err[512];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(sh("%s run %s/examples/arm.json --iterations 30 -q -o %s/run", bin(), srcdir(), dir), 0);
    snprintf(path, sizeof path, "%s/coarse.json", dir);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("{\"evaluator\": {\"type\": \"arm\", \"joints\": 10, \"objective\": \"qdhf\"},"
          " \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 5, \"range\": [-10, 10]},"
          " {\"bins\": 5, \"range\": [-10, 10]}]}, \"mutators\": []}", fp);
    fclose(fp);
    CU_ASSERT_EQUAL_FATAL(sh("%s rescore %s/run/archive.json --config %s -o %s/re", bin(), dir, path, dir), 0);
    qd_archive *fine = NULL, *coarse = NULL;
    snprintf(path, sizeof path, "%s/run/archive.json", dir);
    CU_ASSERT_EQUAL_FATAL(qd_archive_load_json(path, &fine, NULL, err, sizeof err), QD_OK);
    snprintf(path, sizeof path, "%s/re/archive.json", dir);
    CU_ASSERT_EQUAL_FATAL(qd_archive_load_json(path, &coarse, NULL, err, sizeof err), QD_OK);
    double best[25];
    for (int i = 0; i < 25; i++)
        best[i] = -INFINITY;
    for (size_t i = 0; i < qd_archive_filled(fine); i++) {
        qd_elite e;
        size_t cell;
        qd_archive_elite_at(fine, i, &e);
        CU_ASSERT_EQUAL(qd_archive_find(coarse, e.measures, &cell), QD_OK);
        best[cell] = fmax(best[cell], e.objective);
    }
    size_t filled = 0;
    for (size_t c = 0; c < 25; c++) {
        qd_elite e;
        if (isinf(best[c])) {
            CU_ASSERT_EQUAL(qd_archive_elite(coarse, c, &e), QD_ENOTFOUND);
            continue;
        }
        filled++;
        CU_ASSERT_EQUAL_FATAL(qd_archive_elite(coarse, c, &e), QD_OK);
        CU_ASSERT(e.objective == best[c]);
    }
    CU_ASSERT_EQUAL(qd_archive_filled(coarse), filled);
    CU_ASSERT(filled > 5);
    qd_archive_free(fine);
    qd_archive_free(coarse);
    qdt_rmdir(dir);
    free(dir);
}

static void test_bad_input_exits_2_with_the_reason(void)
{
    char *dir = qdt_tmpdir();
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(sh("%s run %s/examples/arm.json --iterations 5 -q -o %s/run", bin(), srcdir(), dir), 0);
    CU_ASSERT_EQUAL(sh("%s rescore %s/run/archive.json -o %s/re", bin(), dir, dir), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd_out, "give an archive, --config and -o"));
    CU_ASSERT_EQUAL(sh("%s rescore %s/run/archive.json --config %s/examples/sphere.json -o %s/re", bin(), dir, srcdir(),
                       dir),
                    2);
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd_out, "holds real genomes of 10 numbers, but"));
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd_out, "evaluator takes real genomes of 20"));
    CU_ASSERT_EQUAL(sh("%s rescore %s/nothing.json --config %s/examples/arm.json -o %s/re", bin(), dir, srcdir(), dir), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd_out, "nothing.json"));
    qdt_rmdir(dir);
    free(dir);
}

/* A rescoring config whose llm.url carries user:password (issue 11): the
 * files rescore writes show it redacted (archive.json and report.html had
 * it verbatim). */
static void test_no_url_password_in_the_files_written(void)
{
    char *dir = qdt_tmpdir(), path[700], *text;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(sh("%s run %s/examples/arm.json --iterations 5 -q -o %s/run", bin(), srcdir(), dir), 0);
    snprintf(path, sizeof path, "%s/examples/arm.json", srcdir());
    /* arm.json with an llm section in front of its own fields */
    write_edited(path, "{", "\"llm\": {\"url\": \"http://SentinelUser7:SentinelPass9@127.0.0.1:1/v1\", \"model\": \"m\"},",
                 dir);
    snprintf(path, sizeof path, "%s/c.json", dir);
    CU_ASSERT_EQUAL(sh("%s rescore %s/run/archive.json --config %s -o %s/re", bin(), dir, path, dir), 0);
    CU_ASSERT_PTR_NULL(strstr(cmd_out, "SentinelPass9"));
    static const char *const files[] = {"archive.json", "archive.csv", "heatmap.svg", "report.html"};
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/re/%s", dir, files[i]);
        text = qdt_slurp(path);
        CU_ASSERT_PTR_NOT_NULL(text);
        CU_ASSERT(text && !strstr(text, "SentinelUser7") && !strstr(text, "SentinelPass9"));
        if (i == 0)
            CU_ASSERT(text && strstr(text, "\"url\":\t\"http://[redacted]@127.0.0.1:1/v1\""));
        free(text);
    }
    qdt_rmdir(dir);
    free(dir);
}

/* An ai_feedback (QDAIF) archive rescored with its own config asks the
 * config's LLM again: the test server judges the same texts alike, so the
 * archive comes back the same ("needs a language model" before: the
 * evaluator got no client and the worker no session). */
static void test_ai_feedback_rescores_through_the_llm(void)
{
    char *dir = qdt_tmpdir(), path[700];
    qdt_server srv;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(qdt_server_start(&srv, NULL, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(sh("%s run %s/examples/qdaif-opinions.json --iterations 8 --set llm.url=%s --set llm.model=test "
                             "-q -o %s/run", bin(), srcdir(), srv.url, dir), 0);
    double judged = qdt_server_stat(&srv, "api_requests");
    snprintf(path, sizeof path, "%s/examples/qdaif-opinions.json", srcdir());
    char fields[200];
    snprintf(fields, sizeof fields, "\"url\": \"%s\", \"model\": \"test\", ", srv.url);
    write_edited(path, "\"llm\": {", fields, dir);
    snprintf(path, sizeof path, "%s/c.json", dir);
    CU_ASSERT_EQUAL(sh("%s rescore %s/run/archive.json --config %s -o %s/re", bin(), dir, path, dir), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(cmd_out, ": 0 failed"));
    CU_ASSERT(qdt_server_stat(&srv, "api_requests") > judged); /* it asked the judge again */
    /* the same elites in the same cells with the same scores (and lineage) */
    same_csv(dir);
    qdt_server_stop(&srv);
    qdt_rmdir(dir);
    free(dir);
}

static const qdt_test tests[] = {
    {"ai_feedback rescores through the llm", test_ai_feedback_rescores_through_the_llm},
    {"own config reproduces the archive", test_own_config_reproduces_the_archive},
    {"coarser grid keeps the best per cell", test_coarser_grid_keeps_the_best_per_cell},
    {"bad input exits 2 with the reason", test_bad_input_exits_2_with_the_reason},
    {"no URL password in the files written", test_no_url_password_in_the_files_written},
    {NULL, NULL},
};

QDT_MAIN("rescore", tests)
