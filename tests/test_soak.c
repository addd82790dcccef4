/* test_soak.c - the fault-injection soak: QDAIF runs (batch and async,
 * 8 workers) against the test server while it fails 30% of the API requests
 * with a random mix of faults: 429 with Retry-After, 500, 503, dropped
 * connections, stalls past the client's timeout, bodies cut short,
 * truncated JSON, wrong shapes, empty choices, missing logprobs. Every job
 * must be accounted for: asked = evaluated + failed, each failure a line of
 * failures.jsonl with a reason, the failure kinds summing to the failures,
 * the archive reading back whole. 160 jobs per mode here; ELITES_SOAK_JOBS
 * (e.g. 2000) sets a longer run: bench/soak.sh. */
#include <math.h>
#include "llmtest.h"

static qdt_server server;

static void stop_server(void)
{
    qdt_server_stop(&server);
}

static const char *QUALITY = "Determine whether or not the input text is closely related to the following topic: "
                             "\\\"someone talking about whether or not they like to eat vegetables\\\". Answer "
                             "\\\"yes\\\" if it is about the topic, or \\\"no\\\" if not.";
static const char *SENTIMENT = "Determine the sentiment of the given opinion on eating vegetables and plant-based "
                               "foods (from the input text) by writing \\\"positive\\\" or \\\"negative\\\" in the "
                               "output.";

/* Jobs per run: 8 per iteration after 16 initial ones. */
static long soak_jobs(void)
{
    const char *env = getenv("ELITES_SOAK_JOBS");
    long n = env && *env ? strtol(env, NULL, 10) : 160;
    return n < 24 ? 24 : n;
}

static void soak_config(char *buf, size_t n, const char *mode, long iterations)
{
    snprintf(buf, n,
             "{\"name\": \"soak\", \"seed\": 5, \"iterations\": %ld, \"workers\": 8, \"mode\": \"%s\", "
             "\"llm\": {\"url\": \"%s\", \"model\": \"test-openai\", \"timeout\": 0.2, \"connect_timeout\": 2, "
             "\"retries\": 2, \"backoff\": 0.01, \"backoff_max\": 0.05, \"retry_after_max\": 0.05, "
             "\"fail_after\": 1000, \"skip_seconds\": 0}, "
             "\"evaluator\": {\"type\": \"ai_feedback\", \"top_logprobs\": 10, \"quality\": {\"question\": \"%s\"}, "
             "\"measures\": [{\"name\": \"sentiment\", \"question\": \"%s\", "
             "\"labels\": [\"positive\", \"negative\"]}]}, "
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 20}]}, "
             "\"mutators\": [{\"type\": \"llm\", \"mode\": \"lmx-near\", \"batch\": 8, \"initial\": 16, "
             "\"template\": \"Here is a random opinion piece about eating vegetables and plant-based foods:\", "
             "\"seeds\": [\"You should eat vegetables because they are good for you.\", \"I really don't like "
             "eating vegetables, they taste bland and boring.\"]}]}",
             iterations, mode, server.url, QUALITY, SENTIMENT);
}

static size_t count_lines(const char *text, const char *must_contain, size_t *without)
{
    size_t n = 0;
    *without = 0;
    for (const char *p = text; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        char line[2048];
        snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line - 1 ? len : sizeof line - 1), p);
        n++;
        if (!strstr(line, must_contain))
            (*without)++;
        p = end ? end + 1 : p + len;
    }
    return n;
}

/* One soak run in mode; checks the accounting and returns the failures. */
static uint64_t soak(const char *mode)
{
    long jobs = soak_jobs(), iterations = jobs / 8;
    char json[8192], path[1024], err[512], *dir = qdt_tmpdir(), *lines;
    qd_config *cfg;
    qd_search *s = NULL;
    qd_archive *back = NULL;
    uint64_t failed, kinds = 0;
    size_t nlines, bad;
    int rc = QD_OK;
    CU_ASSERT_FATAL(qdt_server_control(&server, "{\"reset\": true}") == 0);
    CU_ASSERT_FATAL(qdt_server_control(&server, "{\"random\": {\"rate\": 0.3, \"seed\": 11, \"seconds\": 0.3, "
                                                "\"retry_after\": 2}}") == 0);
    soak_config(json, sizeof json, mode, iterations);
    cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    if (qd_search_new(cfg, &s) != QD_OK)
        fprintf(stderr, "soak: %s\n", qd_config_error(cfg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    while (!qd_search_done(s) && (rc = qd_search_step(s)) == QD_OK)
        ;
    CU_ASSERT_EQUAL(rc, QD_OK);
    CU_ASSERT_EQUAL(qd_search_save(s, dir), QD_OK);
    const qd_counts *c = qd_search_counts(s);
    /* every job asked came back evaluated or failed, none lost or doubled */
    CU_ASSERT_EQUAL(c->asked, (uint64_t)(8 * iterations));
    CU_ASSERT_EQUAL(c->evaluated + c->failed, c->asked);
    /* async tells one job at a time; a batch may fill one new cell twice */
    if (strcmp(mode, "async") == 0)
        CU_ASSERT_EQUAL(c->new_cells + c->improved + c->not_added, c->evaluated);
    CU_ASSERT_TRUE(c->new_cells + c->improved + c->not_added <= c->evaluated);
    failed = c->failed;
    /* each failure is one line of failures.jsonl, with a reason */
    snprintf(path, sizeof path, "%s/failures.jsonl", dir);
    lines = qdt_slurp(path);
    nlines = count_lines(lines, "\"reason\":\"", &bad);
    CU_ASSERT_EQUAL(nlines, failed);
    CU_ASSERT_EQUAL(bad, 0);
    free(lines);
    for (size_t k = 0; k < qd_search_failure_kinds(s); k++) {
        uint64_t n = 0;
        const char *why = qd_search_failure_kind(s, k, &n);
        CU_ASSERT_TRUE(why && *why);
        if (getenv("ELITES_SOAK_JOBS"))
            printf("  %llu x %s\n", (unsigned long long)n, why);
        kinds += n;
    }
    CU_ASSERT_EQUAL(kinds, failed);
    /* the archive written reads back with every elite */
    snprintf(path, sizeof path, "%s/archive.json", dir);
    CU_ASSERT_EQUAL_FATAL(qd_archive_load_json(path, &back, NULL, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(qd_archive_filled(back), qd_archive_filled(qd_search_archive(s)));
    CU_ASSERT_TRUE(qd_archive_filled(back) > 0);
    /* the faults did happen, every kind of them */
    cJSON *st = qdt_server_call(&server, NULL);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(st, "faults"), *e;
    int nkinds = 0;
    double nfaults = 0, napi = cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(st, "api_requests"));
    cJSON_ArrayForEach(e, f) {
        nkinds++;
        nfaults += e->valuedouble;
    }
    if (nfaults >= 100) /* kinds come in a fixed sequence (seed 11): all ten within the first 42 */
        CU_ASSERT_EQUAL(nkinds, 10);
    CU_ASSERT_TRUE(nfaults > 0.2 * napi && nfaults < 0.4 * napi);
    if (getenv("ELITES_SOAK_JOBS"))
        printf("\nsoak %s: %llu jobs, %llu evaluated, %llu failed, %.0f requests, %.0f faults\n", mode,
               (unsigned long long)c->asked, (unsigned long long)c->evaluated, (unsigned long long)failed, napi,
               nfaults);
    cJSON_Delete(st);
    qd_archive_free(back);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
    return failed;
}

static void quiet(void *ctx, const char *line)
{
    (void)ctx, (void)line;
}

static void test_batch_run_accounts_for_every_job_under_faults(void)
{
    soak("batch");
}

static void test_async_run_accounts_for_every_job_under_faults(void)
{
    soak("async");
}

static int setup(void)
{
    qd_set_log_handler(quiet, NULL);
    if (qdt_server_start(&server, NULL, NULL) != 0)
        return -1;
    atexit(stop_server);
    return 0;
}

static const qdt_test tests[] = {
    {"a batch run accounts for every job under 30% faults", test_batch_run_accounts_for_every_job_under_faults},
    {"an async run accounts for every job under 30% faults", test_async_run_accounts_for_every_job_under_faults},
    {NULL, NULL},
};

int main(void)
{
    if (setup() != 0)
        return 1;
    return qdt_run("soak", tests);
}
