/* test_qdaif.c - QDAIF end to end against the deterministic test server:
 * the AI-feedback evaluator's scores follow the server's rule (logprobs,
 * rating fallback, categorical axes, meta), the LLM mutator's config
 * checks, a full run of 240 jobs with 8 workers whose archive holds
 * exactly the cells the rule predicts with every elite scored as the rule
 * says, the same archive whatever the worker count and whatever faults the
 * server injects, and record then replay with the server stopped giving a
 * byte-identical archive. */
#include <ctype.h>
#include <math.h>
#include "cliutil.h"
#include "llmtest.h"
#include "mutators/population.h"

static qdt_server server;
static int server_up;

static void stop_server(void)
{
    qdt_server_stop(&server);
}

static const qdt_server *srv(void)
{
    if (!server_up) {
        CU_ASSERT_FATAL(qdt_server_start(&server, NULL, NULL) == 0);
        server_up = 1;
        atexit(stop_server);
    }
    CU_ASSERT_FATAL(qdt_server_control(&server, "{\"reset\": true}") == 0);
    return &server;
}

/* ---- the server's rule, written out again ------------------------------ */

static const char *const POSITIVE[] = {"delicious", "love", "wonderful", "great", "healthy", "fresh", "tasty",
                                       "enjoy", "amazing", "vibrant", NULL};
static const char *const NEGATIVE[] = {"awful", "hate", "bland", "boring", "bitter", "soggy", "disgusting",
                                       "terrible", "dull", "gross", NULL};
static const char *const TOPIC[] = {"vegetables", "broccoli", "spinach", "carrots", "plant-based", "salad", "beans",
                                    "lentils", "spy", "politician", "secret", "agent", "rhyme", "stanza", "meter",
                                    "poem", NULL};
static const double EDGES[] = {0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05, 0.10, 0.20, 0.50,
                               0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1};

/* Words of a text in the server's sense: runs of [a-z-], lowercased. */
static int count_words(const char *text, const char *const *lexicon)
{
    char w[64];
    int n = 0;
    for (const char *p = text; *p;) {
        size_t len = 0;
        while (*p && !(isalpha((unsigned char)*p) || *p == '-'))
            p++;
        while (*p && (isalpha((unsigned char)*p) || *p == '-')) {
            if (len + 1 < sizeof w)
                w[len++] = (char)tolower((unsigned char)*p);
            p++;
        }
        w[len] = '\0';
        for (size_t i = 0; len && lexicon[i]; i++)
            n += strcmp(w, lexicon[i]) == 0;
    }
    return n;
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static double rule_quality(const char *text)
{
    return sigmoid(1.2 * count_words(text, TOPIC) - 2.0);
}

static double rule_sentiment(const char *text)
{
    return sigmoid(0.55 * (count_words(text, POSITIVE) - count_words(text, NEGATIVE)) + 0.1);
}

static size_t bin_of(double v)
{
    size_t i = 0;
    while (i + 1 < QDI_ARRAY_LEN(EDGES) - 1 && v >= EDGES[i + 1])
        i++;
    return i;
}

/* ---- evaluator --------------------------------------------------------- */

static const char *QUALITY = "Determine whether or not the input text is closely related to the following topic: "
                             "\\\"someone talking about whether or not they like to eat vegetables\\\". Answer "
                             "\\\"yes\\\" if it is about the topic, or \\\"no\\\" if not.";
static const char *SENTIMENT = "Determine the sentiment of the given opinion on eating vegetables and plant-based "
                               "foods (from the input text) by writing \\\"positive\\\" or \\\"negative\\\" in the "
                               "output.";

typedef struct judge {
    qd_config *cfg;
    qd_llm *llm;
    qd_evaluator *ev;
    qd_worker w;
} judge;

/* An LLM client for model and an evaluator from its config fields. */
static int judge_new(judge *j, const char *model, const char *fields)
{
    char text[4096], err[512];
    memset(j, 0, sizeof *j);
    snprintf(text, sizeof text, "{\"llm\": {\"url\": \"%s\", \"model\": \"%s\"}, \"evaluator\": {\"type\": "
                                "\"ai_feedback\", %s}}", srv()->url, model, fields);
    if (qd_config_parse(text, "test.json", &j->cfg, err, sizeof err) != QD_OK) {
        fprintf(stderr, "%s\n", err);
        return -1;
    }
    qd_config *lc, *ec;
    qd_config_object(j->cfg, "llm", 1, &lc);
    qd_config_object(j->cfg, "evaluator", 1, &ec);
    if (qd_llm_new(lc, 1, &j->llm) != QD_OK || qdi_evaluator_new(ec, j->llm, 1, &j->ev) != QD_OK)
        return -1;
    j->w.rng = gsl_rng_alloc(gsl_rng_mt19937);
    return qd_llm_session_new(j->llm, 0, &j->w.llm);
}

static void judge_free(judge *j)
{
    qd_evaluator_free(j->ev);
    qd_llm_session_free(j->w.llm);
    qd_llm_free(j->llm);
    if (j->w.rng)
        gsl_rng_free(j->w.rng);
    qd_config_free(j->cfg);
}

/* Evaluates a text; the caller frees sol->meta (qd_solution_clear). */
static int judge_text(judge *j, const char *text, qd_solution *sol, double *measures, size_t m)
{
    memset(sol, 0, sizeof *sol);
    sol->measures = measures;
    sol->m = m;
    qd_solution_set_text(sol, text);
    j->w.error[0] = '\0';
    return j->ev->type->evaluate(j->ev, sol, &j->w);
}

static void opinion_fields(char *buf, size_t n, const char *extra)
{
    snprintf(buf, n, "\"top_logprobs\": 10, \"quality\": {\"question\": \"%s\"}, \"measures\": [{\"name\": "
                     "\"sentiment\", \"question\": \"%s\", \"labels\": [\"positive\", \"negative\"]}]%s",
             QUALITY, SENTIMENT, extra ? extra : "");
}

static void test_feedback_scores_follow_the_rule(void)
{
    static const char *const models[] = {"test-openai", "test-vllm", "test-llamacpp", "test-llamacpp-probs"};
    static const char *const texts[] = {
        "I love delicious broccoli and fresh spinach.",
        "Soggy bland beans, I hate them, awful.",
        "Nothing about food here at all.",
    };
    char fields[2048];
    for (size_t f = 0; f < QDI_ARRAY_LEN(models); f++)
        for (int chat = 0; chat < 2; chat++) {
            judge j;
            opinion_fields(fields, sizeof fields, chat ? ", \"endpoint\": \"chat\"" : NULL);
            CU_ASSERT_EQUAL_FATAL(judge_new(&j, models[f], fields), 0);
            CU_ASSERT_EQUAL(j.ev->space.kind, QD_GENOME_TEXT);
            CU_ASSERT_EQUAL(j.ev->space.measures, 1);
            CU_ASSERT_STRING_EQUAL(j.ev->space.measure_names[0], "sentiment");
            for (size_t t = 0; t < QDI_ARRAY_LEN(texts); t++) {
                qd_solution sol;
                double m[1];
                int rc = judge_text(&j, texts[t], &sol, m, 1);
                if (rc)
                    fprintf(stderr, "%s: %s\n", models[f], j.w.error);
                CU_ASSERT_EQUAL(rc, QD_OK);
                CU_ASSERT_DOUBLE_EQUAL(sol.objective, rule_quality(texts[t]), 1e-12);
                CU_ASSERT_DOUBLE_EQUAL(m[0], rule_sentiment(texts[t]), 1e-12);
                /* the raw feedback is kept */
                cJSON *meta = cJSON_Parse(sol.meta);
                const cJSON *q = cJSON_GetObjectItemCaseSensitive(meta, "quality");
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(q, "p");
                CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItemCaseSensitive(p, "yes")->valuedouble, sol.objective, 0);
                CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItemCaseSensitive(p, "no")->valuedouble, 1 - sol.objective,
                                       1e-15);
                CU_ASSERT_TRUE(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(q, "answer")));
                CU_ASSERT_TRUE(cJSON_GetObjectItemCaseSensitive(meta, "tokens")->valuedouble > 0);
                CU_ASSERT_PTR_NOT_NULL(cJSON_GetObjectItemCaseSensitive(
                    cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(meta, "sentiment"), "p"),
                    "negative"));
                cJSON_Delete(meta);
                qd_solution_clear(&sol);
            }
            judge_free(&j);
        }
}

/* The rating the server gives: round(10 p), Python's round-half-even. */
static double rule_rating(double p)
{
    return nearbyint(10.0 * p) / 10.0;
}

static void test_ratings_replace_missing_logprobs(void)
{
    char fields[2048];
    const char *text = "I love delicious broccoli and fresh spinach.";
    qdt_log log = {0};
    qd_solution sol;
    double m[1];
    judge j;
    /* "rating": always the numeric question */
    opinion_fields(fields, sizeof fields, ", \"feedback\": \"rating\"");
    CU_ASSERT_EQUAL_FATAL(judge_new(&j, "test-openai", fields), 0);
    CU_ASSERT_EQUAL(judge_text(&j, text, &sol, m, 1), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(sol.objective, rule_rating(rule_quality(text)), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(m[0], rule_rating(rule_sentiment(text)), 1e-15);
    CU_ASSERT_PTR_NOT_NULL(strstr(sol.meta, "\"rating\":"));
    qd_solution_clear(&sol);
    judge_free(&j);
    /* "auto" with a server that has no logprobs: the first reply of each
     * question decides, once, and says so naming the question and what
     * came back; later answers ask for the rating only, and every recheck-th
     * (here 3rd) tries logprobs again */
    qd_set_log_handler(qdt_log_line, &log);
    opinion_fields(fields, sizeof fields, ", \"recheck\": 3");
    CU_ASSERT_EQUAL_FATAL(judge_new(&j, "test-ollama-old", fields), 0);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(judge_text(&j, text, &sol, m, 1), QD_OK);
        CU_ASSERT_DOUBLE_EQUAL(sol.objective, rule_rating(rule_quality(text)), 1e-15);
        CU_ASSERT_DOUBLE_EQUAL(m[0], rule_rating(rule_sentiment(text)), 1e-15);
        qd_solution_clear(&sol);
    }
    qd_set_log_handler(NULL, NULL);
    /* 2 + 2 for the first text, 1 + 1 for the next two, 2 + 2 for the 4th (the re-check) */
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "api_requests"), 12);
    CU_ASSERT_EQUAL(log.lines, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "ai_feedback: quality: the first answer decides: the judge's reply "
                                            "carried no logprobs (question \"Determine whether or not"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "answer \" yes\", top tokens none); using numeric ratings for "
                                            "\"quality\" from now on, trying logprobs again every 3 answers"));
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "ai_feedback: sentiment: the first answer decides: the judge's reply "
                                            "carried no logprobs"));
    judge_free(&j);
    /* "logprobs" with that server: a clear failure */
    opinion_fields(fields, sizeof fields, ", \"feedback\": \"logprobs\"");
    CU_ASSERT_EQUAL_FATAL(judge_new(&j, "test-ollama-old", fields), 0);
    CU_ASSERT_EQUAL(judge_text(&j, text, &sol, m, 1), QD_EEVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(j.w.error, "ai_feedback: quality: the reply has no logprobs"));
    qd_solution_clear(&sol);
    judge_free(&j);
}

/* A server that leaves the logprobs out of one reply among many (issue 11:
 * 214 of 7,509 replies): the message says what that reply showed, not that
 * the server's replies carry none, and the end of the run gives the count
 * (it said "the judge's replies carry no logprobs"). */
static void test_one_reply_without_logprobs_is_told_as_one(void)
{
    char fields[2048];
    const char *text = "I love delicious broccoli and fresh spinach.";
    qdt_log log = {0};
    qd_solution sol;
    double m[1];
    judge j;
    opinion_fields(fields, sizeof fields, NULL);
    CU_ASSERT_EQUAL_FATAL(judge_new(&j, "test-openai", fields), 0);
    CU_ASSERT_EQUAL(qdt_server_control(srv(), "{\"faults\": [{\"kind\": \"no_logprobs\"}]}"), 0);
    qd_set_log_handler(qdt_log_line, &log);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(judge_text(&j, text, &sol, m, 1), QD_OK);
        qd_solution_clear(&sol);
    }
    judge_free(&j);
    qd_set_log_handler(NULL, NULL);
    CU_ASSERT_EQUAL(log.lines, 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "ai_feedback: quality: the first answer decides: the judge's reply carried "
                                            "no logprobs (question \"Determine whether or not"));
    CU_ASSERT_PTR_NULL(strstr(log.text, "replies carry no logprobs"));
    /* quality's first reply, then sentiment's four: one of five lacked them */
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "ai_feedback: 1 of 5 replies lacked logprobs (scored from ratings and "
                                            "answer texts instead)\n"));
    if (!strstr(log.text, "1 of 5 replies"))
        fprintf(stderr, "\n%s\n", log.text);
}

static void test_categorical_axes_take_the_likeliest_label(void)
{
    const char *fields =
        "\"top_logprobs\": 20, \"quality\": {\"question\": \"Is this a good poem? Answer yes or no.\"}, "
        "\"measures\": [{\"name\": \"genre\", \"question\": \"What is the genre of this poem? Answer haiku, sonnet, "
        "ballad, limerick or hymn.\", \"labels\": [\"haiku\", \"sonnet\", \"ballad\", \"limerick\", \"hymn\"]}, "
        "{\"name\": \"tone\", \"question\": \"What is the tone of this poem? Answer happy, dark, mysterious, "
        "romantic or reflective.\", \"labels\": [\"happy\", \"dark\", \"mysterious\", \"romantic\", "
        "\"reflective\"]}]";
    static const struct {
        const char *text;
        double genre, tone;
    } poems[] = {
        {"An autumn pond, a frog in gloom by the grave.", 0.5, 1.5},
        {"There once was a fellow from Nantucket who whispered a riddle in the mist.", 3.5, 2.5},
        {"Praise the Lord in glory, my beloved rose.", 4.5, 3.5},
    };
    for (int rating = 0; rating < 2; rating++) {
        char buf[2048];
        judge j;
        snprintf(buf, sizeof buf, "%s%s", fields, rating ? ", \"feedback\": \"rating\"" : "");
        CU_ASSERT_EQUAL_FATAL(judge_new(&j, "test-openai", buf), 0);
        CU_ASSERT_EQUAL(j.ev->space.measure_upper[0], 5.0);
        CU_ASSERT_EQUAL(j.ev->space.measure_upper[1], 5.0);
        for (size_t i = 0; i < QDI_ARRAY_LEN(poems); i++) {
            qd_solution sol;
            double m[2];
            CU_ASSERT_EQUAL(judge_text(&j, poems[i].text, &sol, m, 2), QD_OK);
            CU_ASSERT_EQUAL(m[0], poems[i].genre);
            CU_ASSERT_EQUAL(m[1], poems[i].tone);
            qd_solution_clear(&sol);
        }
        judge_free(&j);
    }
}

static void expect_search_error(const char *json, const char *message)
{
    qd_config *cfg = qdt_config(json);
    qd_search *s = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(qd_search_new(cfg, &s), QD_EINVAL);
    if (!strstr(qd_config_error(cfg), message))
        fprintf(stderr, "expected \"%s\" in \"%s\"\n", message, qd_config_error(cfg));
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_config_error(cfg), message));
    qd_config_free(cfg);
}

static void test_labels_absent_split_or_misspelt_by_the_server(void)
{
    char fields[2048];
    const char *happy = "I love delicious fresh broccoli.", *sad = "Soggy bland beans, I hate them, awful.";
    qd_solution sol;
    qd_llm_stats st;
    double m[1];
    judge j;
    /* top_logprobs 2: the two spellings of "positive" fill the list and
     * "negative" is absent; it gets the bound, not 0 */
    opinion_fields(fields, sizeof fields, NULL);
    memcpy(strstr(fields, "\"top_logprobs\": 10"), "\"top_logprobs\":  2", 18);
    CU_ASSERT_EQUAL_FATAL(judge_new(&j, "test-openai", fields), 0);
    CU_ASSERT_EQUAL(judge_text(&j, happy, &sol, m, 1), QD_OK);
    double P = rule_sentiment(happy), a = 0.75 * 0.92 * P, b = 0.25 * 0.92 * P, left = 1 - a - b;
    double bound = b < left ? b : left;
    CU_ASSERT_DOUBLE_EQUAL(m[0], (a + b) / (a + b + bound), 1e-12);
    CU_ASSERT_TRUE(m[0] < 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(sol.meta, "\"bounded\":1"));
    qd_solution_clear(&sol);
    qd_llm_stats_get(j.llm, &st);
    CU_ASSERT_EQUAL(st.label_scores, 2);
    CU_ASSERT_EQUAL(st.label_bounded, 1); /* quality's "no" was listed */
    cJSON *json = cJSON_CreateObject();
    qd_llm_stats_json(j.llm, json);
    CU_ASSERT_EQUAL(cJSON_GetObjectItemCaseSensitive(json, "label_scores_bounded")->valuedouble, 1);
    cJSON_Delete(json);
    judge_free(&j);
    /* "negative" spelled " neg" + "ative" (logprob -0.05), and "yes" as
     * "Y" / "Yes.": the whole label is scored, the near misses merged */
    opinion_fields(fields, sizeof fields, NULL);
    CU_ASSERT_EQUAL_FATAL(judge_new(&j, "test-openai", fields), 0);
    qdt_server_control(&server, "{\"split\": {\"negative\": [\" neg\", \"ative\"]}, \"variants\": {\"yes\": [\"Y\", "
                                "\"Yes.\"]}}");
    CU_ASSERT_EQUAL(judge_text(&j, sad, &sol, m, 1), QD_OK);
    double pn = 1 - rule_sentiment(sad), neg = 0.92 * pn * (0.75 * exp(-0.05) + 0.25), pos = 0.92 * (1 - pn);
    CU_ASSERT_DOUBLE_EQUAL(m[0], pos / (pos + neg), 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(sol.objective, rule_quality(sad), 1e-12);
    qd_solution_clear(&sol);
    judge_free(&j);
}

static void test_config_errors_name_the_field(void)
{
    char json[4096], fields[2048];
    opinion_fields(fields, sizeof fields, NULL);
    snprintf(json, sizeof json, "{\"evaluator\": {\"type\": \"ai_feedback\", %s}, \"archive\": {\"dims\": [{\"bins\": "
                                "10}]}, \"mutators\": [{\"type\": \"gaussian\"}]}", fields);
    expect_search_error(json, "evaluator.type \"ai_feedback\" needs a language model: add a top-level \"llm\"");
    snprintf(json, sizeof json, "{\"llm\": {\"url\": \"http://127.0.0.1:9/v1\", \"model\": \"m\"}, \"evaluator\": "
                                "{\"type\": \"sphere\"}, \"archive\": {\"dims\": [{\"bins\": 10}, {\"bins\": 10}]}, "
                                "\"mutators\": [{\"type\": \"llm\", \"template\": \"T:\", \"seeds\": [\"a\"]}]}");
    expect_search_error(json, "mutators[0].type \"llm\" writes texts, but the evaluator's genome is real-valued");
    snprintf(json, sizeof json, "{\"llm\": {\"url\": \"http://127.0.0.1:9/v1\", \"model\": \"m\"}, \"evaluator\": "
                                "{\"type\": \"ai_feedback\", %s}, \"archive\": {\"dims\": [{\"bins\": 10}]}, "
                                "\"mutators\": [{\"type\": \"llm\", \"template\": \"T:\"}]}", fields);
    expect_search_error(json, "mutators[0].seeds are needed by \"init\": \"seeded\"");
    snprintf(json, sizeof json, "{\"llm\": {\"url\": \"http://127.0.0.1:9/v1\", \"model\": \"m\"}, \"evaluator\": "
                                "{\"type\": \"ai_feedback\", %s, \"template\": \"{question} {txt}\"}, \"archive\": "
                                "{\"dims\": [{\"bins\": 10}]}, \"mutators\": [{\"type\": \"llm\", \"template\": "
                                "\"T:\", \"init\": \"zero-shot\"}]}", fields);
    expect_search_error(json, "evaluator.template names an unknown field {txt} (known: {question}, {text}");
    snprintf(json, sizeof json, "{\"llm\": {\"url\": \"http://127.0.0.1:9/v1\", \"model\": \"m\"}, \"evaluator\": "
                                "{\"type\": \"ai_feedback\", %s}, \"archive\": {\"dims\": [{\"bins\": 10}]}, "
                                "\"mutators\": [{\"type\": \"llm\", \"template\": \"T:\", \"init\": \"zero-shot\", "
                                "\"mode\": \"rewrite\"}]}", fields);
    expect_search_error(json, "mutators[0].targets is required");
    snprintf(json, sizeof json, "{\"llm\": {\"url\": \"http://127.0.0.1:9/v1\", \"model\": \"m\"}, \"evaluator\": "
                                "{\"type\": \"ai_feedback\", %s}, \"archive\": {\"dims\": [{\"bins\": 10}]}, "
                                "\"mutators\": [{\"type\": \"llm\", \"template\": \"T:\", \"init\": \"zero-shot\", "
                                "\"lmx_prompt\": \"{exmples}{template}\"}]}", fields);
    expect_search_error(json, "mutators[0].lmx_prompt names an unknown field {exmples} (known: {examples}, "
                              "{template}, {topic})");
    snprintf(json, sizeof json, "{\"llm\": {\"url\": \"http://127.0.0.1:9/v1\", \"model\": \"m\"}, \"evaluator\": "
                                "{\"type\": \"ai_feedback\", \"quality\": {\"question\": \"q\"}, \"measures\": "
                                "[{\"name\": \"a\", \"question\": \"q\", \"labels\": [\"x\", \"y\", \"z\"], "
                                "\"categorical\": false}]}, \"archive\": {\"dims\": [{\"bins\": 10}]}, "
                                "\"mutators\": [{\"type\": \"llm\", \"template\": \"T:\", \"init\": \"zero-shot\"}]}");
    expect_search_error(json, "evaluator.measures[0].labels must be two labels for a non-categorical question");
}

/* ---- full runs --------------------------------------------------------- */

/* The opinions domain as in examples/qdaif-opinions.json, against url. */
static void qdaif_config(char *buf, size_t n, const char *url, long workers, long iterations, const char *mode,
                         const char *llm_extra)
{
    char fields[2048];
    opinion_fields(fields, sizeof fields, NULL);
    snprintf(buf, n,
             "{\"name\": \"qdaif-test\", \"seed\": 3, \"iterations\": %ld, \"workers\": %ld, "
             "\"llm\": {\"url\": \"%s\", \"model\": \"test-openai\"%s}, "
             "\"evaluator\": {\"type\": \"ai_feedback\", %s}, "
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"edges\": [0, 0.005, 0.01, 0.015, 0.02, 0.03, 0.04, "
             "0.05, 0.10, 0.20, 0.50, 0.80, 0.90, 0.95, 0.96, 0.97, 0.98, 0.985, 0.99, 0.995, 1]}]}, "
             "\"mutators\": [{\"type\": \"llm\", \"mode\": \"%s\", \"batch\": 8, \"initial\": 16, "
             "\"targets\": [\"more positive\", \"more negative\"], "
             "\"template\": \"Here is a random opinion piece about eating vegetables and plant-based foods:\", "
             "\"seeds\": [\"Plant-based foods are a great source of healthy micronutrients, and can play a "
             "significant role in providing you with macronutrients also.\", \"You should eat vegetables because "
             "they are good for you.\", \"I really don't like eating vegetables, they taste bland and boring.\"]}]}",
             iterations, workers, url, llm_extra ? llm_extra : "", fields, mode);
}

/* Runs a config to the end and saves into dir; returns the search (caller
 * frees it and cfg). */
static qd_search *run(const char *json, const char *dir, qd_config **cfg)
{
    qd_search *s = NULL;
    *cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(*cfg);
    if (qd_search_new(*cfg, &s) != QD_OK) {
        fprintf(stderr, "run: %s\n", qd_config_error(*cfg));
        return NULL;
    }
    while (!qd_search_done(s))
        if (qd_search_step(s) != QD_OK) {
            fprintf(stderr, "run: %s\n", qd_search_error(s));
            break;
        }
    if (dir && qd_search_save(s, dir) != QD_OK)
        fprintf(stderr, "run: %s\n", qd_search_error(s));
    return s;
}

static char *file_in(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return qdt_slurp(path);
}

static void test_qdaif_run_fills_the_expected_cells(void)
{
    char json[8192], *dir = qdt_tmpdir();
    qd_config *cfg;
    int expected[20] = {0}, filled[20] = {0};
    setenv("ELITES_TEST_QDAIF_KEY", "sk-qdaif-SECRET-42", 1);
    qdaif_config(json, sizeof json, srv()->url, 8, 30, "lmx-near", ", \"api_key_env\": \"ELITES_TEST_QDAIF_KEY\"");
    qd_search *s = run(json, dir, &cfg);
    unsetenv("ELITES_TEST_QDAIF_KEY");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const qd_archive *a = qd_search_archive(s);
    const qd_counts *c = qd_search_counts(s);
    /* the rule can give d = #positive - #negative in [-10, 10] */
    for (int d = -10; d <= 10; d++)
        expected[bin_of(sigmoid(0.55 * d + 0.1))] = 1;
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite e;
        CU_ASSERT_EQUAL_FATAL(qd_archive_elite_at(a, i, &e), QD_OK);
        filled[e.cell] = 1;
        /* each elite is scored as the rule says and sits in its bin */
        CU_ASSERT_DOUBLE_EQUAL(e.objective, rule_quality(e.text), 1e-12);
        CU_ASSERT_DOUBLE_EQUAL(e.measures[0], rule_sentiment(e.text), 1e-12);
        CU_ASSERT_EQUAL(e.cell, bin_of(rule_sentiment(e.text)));
        /* post-processing: one line, a final ".", nothing else around */
        CU_ASSERT_PTR_NULL(strchr(e.text, '\n'));
        CU_ASSERT_PTR_NULL(strchr(e.text, '#'));
        CU_ASSERT_EQUAL(e.text[strlen(e.text) - 1], '.');
        CU_ASSERT_FALSE(isspace((unsigned char)e.text[0]));
        CU_ASSERT_PTR_NOT_NULL(strstr(e.lineage, "\"op\":\""));
        CU_ASSERT_PTR_NOT_NULL(strstr(e.lineage, "\"seed\":"));
        CU_ASSERT_PTR_NOT_NULL(strstr(e.meta, "\"sentiment\":{\"p\":{\"positive\":"));
    }
    for (size_t b = 0; b < 20; b++) {
        if (filled[b] != expected[b])
            fprintf(stderr, "bin %zu: filled %d, expected %d\n", b, filled[b], expected[b]);
        CU_ASSERT_EQUAL(filled[b], expected[b]);
    }
    /* every job was asked, evaluated or failed for a reason the mutator
     * gives (an empty or repeated text); nothing else went wrong */
    CU_ASSERT_EQUAL(c->asked, 240);
    CU_ASSERT_EQUAL(c->evaluated + c->failed, 240);
    CU_ASSERT_TRUE(c->failed > 0);
    for (size_t k = 0; k < qd_search_failure_kinds(s); k++) {
        uint64_t n;
        const char *why = qd_search_failure_kind(s, k, &n);
        CU_ASSERT_TRUE(strcmp(why, "llm: empty text") == 0 || strcmp(why, "llm: duplicate text") == 0);
    }
    /* one generation per job, two questions per text evaluated */
    qd_llm_stats st;
    qd_llm_stats_get(qd_search_llm(s), &st);
    CU_ASSERT_EQUAL(st.calls, c->asked + 2 * c->evaluated);
    CU_ASSERT_EQUAL(st.requests, st.calls);
    CU_ASSERT_EQUAL(st.failures, 0);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "api_requests"), (double)st.requests);
    CU_ASSERT_TRUE(st.prompt_tokens > 0 && st.completion_tokens > 0);
    CU_ASSERT_TRUE(!isnan(st.latency_mean) && st.latency_p95 > 0);
    /* the saved archive reads back with its texts, meta and lineage */
    char path[1024], err[512];
    qd_archive *back = NULL;
    snprintf(path, sizeof path, "%s/archive.json", dir);
    CU_ASSERT_EQUAL_FATAL(qd_archive_load_json(path, &back, NULL, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(qd_archive_filled(back), qd_archive_filled(a));
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite e, f;
        qd_archive_elite_at(a, i, &e);
        CU_ASSERT_EQUAL_FATAL(qd_archive_elite(back, e.cell, &f), QD_OK);
        CU_ASSERT_STRING_EQUAL(f.text, e.text);
        CU_ASSERT_STRING_EQUAL(f.meta, e.meta);
        CU_ASSERT_STRING_EQUAL(f.lineage, e.lineage);
        CU_ASSERT_EQUAL(f.objective, e.objective);
    }
    qd_archive_free(back);
    char *stats = file_in(dir, "llm.json"), *metrics = file_in(dir, "metrics.csv");
    CU_ASSERT_PTR_NOT_NULL(stats && strstr(stats, "\"latency_p95\""));
    CU_ASSERT_PTR_NOT_NULL(metrics && strstr(metrics, ",llm_requests,llm_failures,llm_tokens\n"));
    free(stats);
    free(metrics);
    /* the key went to the server with every request and into no file */
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "auth_seen"), qdt_server_stat(&server, "api_requests"));
    static const char *const outputs[] = {"archive.json", "archive.csv", "metrics.csv", "llm.json", "failures.jsonl"};
    for (size_t i = 0; i < QDI_ARRAY_LEN(outputs); i++) {
        char *text = file_in(dir, outputs[i]);
        CU_ASSERT_PTR_NOT_NULL(text);
        CU_ASSERT_PTR_NULL(text ? strstr(text, "SECRET") : NULL);
        free(text);
    }
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_other_modes_run(void)
{
    static const char *const modes[] = {"lmx", "lmx-replace", "rewrite", "crossover"};
    for (size_t i = 0; i < QDI_ARRAY_LEN(modes); i++) {
        char json[8192];
        qd_config *cfg;
        qdaif_config(json, sizeof json, srv()->url, 4, 6, modes[i], NULL);
        qd_search *s = run(json, NULL, &cfg);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        const qd_archive *a = qd_search_archive(s);
        CU_ASSERT_TRUE(qd_archive_filled(a) >= 3);
        int found = 0;
        for (size_t k = 0; k < qd_archive_filled(a); k++) {
            qd_elite e;
            char op[64];
            qd_archive_elite_at(a, k, &e);
            snprintf(op, sizeof op, "\"op\":\"%s\"", modes[i]);
            found |= strstr(e.lineage, op) != NULL;
            CU_ASSERT_DOUBLE_EQUAL(e.measures[0], rule_sentiment(e.text), 1e-12);
            if (strcmp(modes[i], "lmx-replace") == 0)
                CU_ASSERT_PTR_NOT_NULL(strstr(e.lineage, "\"examples\":["));
        }
        if (!found)
            fprintf(stderr, "mode %s made no elite\n", modes[i]);
        CU_ASSERT_TRUE(found);
        qd_search_free(s);
        qd_config_free(cfg);
    }
}

static void test_post_processing_when_the_server_ignores_stop(void)
{
    char json[8192];
    qd_config *cfg;
    /* "test-nostop" runs on past the text ("\n###\nHere is another one");
     * zero-shot: the first prompts are the bare template; lmx_prompt wraps
     * the few-shot block */
    char fixed[8192], extra[700], *dir = qdt_tmpdir(), *cache;
    snprintf(extra, sizeof extra, ", \"cache\": \"%s/c.jsonl\"", dir);
    qdaif_config(json, sizeof json, srv()->url, 4, 5, "lmx-near", extra);
    memcpy(strstr(json, "test-openai"), "test-nostop", 11); /* same length */
    char *at = strstr(json, "\"initial\": 16");
    snprintf(fixed, sizeof fixed, "%.*s\"initial\": 8, \"init\": \"zero-shot\", \"lmx_prompt\": \"Examples:\\n"
                                  "{examples}Now: {template}\"%s", (int)(at - json), json,
             at + strlen("\"initial\": 16"));
    qd_search *s = run(fixed, NULL, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const qd_archive *a = qd_search_archive(s);
    CU_ASSERT_TRUE(qd_archive_filled(a) >= 3);
    int zero_shot = 0;
    for (size_t k = 0; k < qd_archive_filled(a); k++) {
        qd_elite e;
        qd_archive_elite_at(a, k, &e);
        CU_ASSERT_PTR_NULL(strchr(e.text, '\n'));
        CU_ASSERT_PTR_NULL(strchr(e.text, '#'));
        CU_ASSERT_PTR_NULL(strstr(e.text, "Here is another"));
        CU_ASSERT_EQUAL(e.text[strlen(e.text) - 1], '.');
        CU_ASSERT_DOUBLE_EQUAL(e.measures[0], rule_sentiment(e.text), 1e-12);
        zero_shot |= strstr(e.lineage, "\"op\":\"zero-shot\",\"seeds\":[]") != NULL;
    }
    CU_ASSERT_TRUE(zero_shot);
    qd_search_free(s);
    qd_config_free(cfg);
    cache = file_in(dir, "c.jsonl");
    CU_ASSERT_PTR_NOT_NULL(cache && strstr(cache, "\"prompt\":\"Examples:\\nNow: Here is a random opinion piece"));
    CU_ASSERT_PTR_NOT_NULL(cache && strstr(cache, "\"prompt\":\"Examples:\\nHere is a random opinion piece"));
    free(cache);
    qdt_rmdir(dir);
    free(dir);
}

/* json with every occurrence of from replaced by to (n: json's size). */
static void edit(char *json, size_t n, const char *from, const char *to)
{
    char *at, *out = malloc(n);
    size_t len = 0;
    const char *p = json;
    CU_ASSERT_PTR_NOT_NULL_FATAL(out);
    while ((at = strstr(p, from))) {
        len += (size_t)snprintf(out + len, n - len, "%.*s%s", (int)(at - p), p, to);
        p = at + strlen(from);
    }
    snprintf(out + len, n - len, "%s", p);
    snprintf(json, n, "%s", out);
    free(out);
}

static void test_failures_keep_the_text_question_and_answer(void)
{
    char json[8192], *dir = qdt_tmpdir();
    qd_config *cfg;
    qdt_log log = {0};
    /* a judge without logprobs and "feedback": "logprobs": every text fails */
    qdaif_config(json, sizeof json, srv()->url, 2, 1, "lmx-near", NULL);
    edit(json, sizeof json, "test-openai", "test-ollama-old");
    edit(json, sizeof json, "\"top_logprobs\": 10,", "\"top_logprobs\": 10, \"feedback\": \"logprobs\",");
    qd_set_log_handler(qdt_log_line, &log);
    qd_search *s = run(json, dir, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(qd_search_counts(s)->evaluated, 0);
    /* the note names the axis, the question, the answer and the tokens */
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "ai_feedback: quality: the judge's reply carried no logprobs (question "
                                            "\"Determine whether or not the input text is closely related to the "
                                            "following topi...\", answer \""));
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "\", top tokens none); failures.jsonl keeps every such answer, the end "
                                            "of the run gives how many"));
    char *rows = file_in(dir, "failures.jsonl"), *line = rows;
    int judged = 0;
    CU_ASSERT_PTR_NOT_NULL_FATAL(rows);
    while (line && *line) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        cJSON *row = cJSON_Parse(line);
        const cJSON *reason = cJSON_GetObjectItemCaseSensitive(row, "reason");
        CU_ASSERT_TRUE(cJSON_IsString(reason));
        if (cJSON_IsString(reason) && strstr(reason->valuestring, "ai_feedback: quality: the reply has no logprobs")) {
            const cJSON *text = cJSON_GetObjectItemCaseSensitive(row, "text");
            const cJSON *q = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(row, "meta"),
                                                              "quality");
            CU_ASSERT_TRUE(cJSON_IsString(text) && strlen(text->valuestring) > 0);
            CU_ASSERT_PTR_NOT_NULL(strstr(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "question")),
                                          "Determine whether or not the input text is closely related"));
            const char *answer = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(q, "answer"));
            CU_ASSERT_TRUE(answer && (strcmp(answer, " yes") == 0 || strcmp(answer, " no") == 0));
            CU_ASSERT_TRUE(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(q, "top_logprobs")));
            judged++;
        }
        cJSON_Delete(row);
        line = nl ? nl + 1 : NULL;
    }
    CU_ASSERT_TRUE(judged > 0);
    free(rows);
    qd_search_free(s);
    qd_set_log_handler(NULL, NULL);
    /* the end-of-run count says those jobs failed (not that ratings scored them) */
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, " replies lacked logprobs (their jobs failed, kept in failures.jsonl)"));
    CU_ASSERT_PTR_NULL(strstr(log.text, "scored from ratings"));
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_prompts_shrink_to_fit_the_context(void)
{
    char json[8192];
    qd_config *cfg;
    /* llama.cpp with a small context per slot: the 3-example prompts (about
     * 100 words) are refused with its HTTP 500, which is not retried; the
     * mutator learns the context (/props) and the tokens per character
     * (usage) and sends fewer examples */
    qdaif_config(json, sizeof json, srv()->url, 2, 4, "lmx-near", NULL);
    edit(json, sizeof json, "test-openai", "test-llamacpp");
    edit(json, sizeof json, "\"batch\": 8,", "\"batch\": 8, \"max_tokens\": 20,");
    CU_ASSERT_EQUAL(qdt_server_control(srv(), "{\"n_ctx\": 90}"), 0);
    qd_search *s = run(json, NULL, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const qd_counts *c = qd_search_counts(s);
    double rejected = qdt_server_stat(&server, "context_rejected");
    CU_ASSERT_TRUE(rejected >= 1 && rejected <= 4);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "props"), 1);
    CU_ASSERT_TRUE(c->evaluated > 16);
    for (size_t k = 0; k < qd_search_failure_kinds(s); k++) {
        uint64_t n;
        const char *why = qd_search_failure_kind(s, k, &n);
        /* (max_tokens 20 cuts a few long children) */
        CU_ASSERT_TRUE(strcmp(why, "llm: empty text") == 0 || strcmp(why, "llm: duplicate text") == 0 ||
                       strcmp(why, "llm: truncated text with no full sentence (finish_reason \"length\")") == 0);
    }
    int fewer = 0;
    const qd_archive *a = qd_search_archive(s);
    for (size_t k = 0; k < qd_archive_filled(a); k++) {
        qd_elite e;
        qd_archive_elite_at(a, k, &e);
        fewer += strstr(e.lineage, "\"examples_sent\":") != NULL;
    }
    CU_ASSERT_TRUE(fewer > 0);
    qd_llm_stats st;
    qd_llm_stats_get(qd_search_llm(s), &st);
    CU_ASSERT_EQUAL(st.context_tokens, 90);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_CONTEXT], (uint64_t)rejected);
    CU_ASSERT_EQUAL(st.retries, 0);
    qd_search_free(s);
    qd_config_free(cfg);
    /* a context too small for even one example: a clear reason naming the
     * size, 3 requests a job; /props answers late, so the other worker's
     * first job starts while the size is being asked and must wait for it
     * (it failed naming no size: the flake of a loaded make distcheck) */
    qdaif_config(json, sizeof json, srv()->url, 2, 1, "lmx-near", NULL);
    CU_ASSERT_EQUAL(qdt_server_control(srv(), "{\"n_ctx\": 20, \"props_delay\": 0.3}"), 0);
    s = run(json, NULL, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    uint64_t n = 0;
    for (size_t k = 0; k < qd_search_failure_kinds(s); k++)
        if (qd_search_failure_kinds(s) != 1)
            fprintf(stderr, "kind %zu: %s\n", k, qd_search_failure_kind(s, k, &n));
    CU_ASSERT_EQUAL(qd_search_failure_kinds(s), 1);
    CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 0, &n),
                           "llm: the prompt does not fit the server's context (20 tokens) even with 1 example: use "
                           "shorter texts or a smaller max_tokens, or give the server a larger context (llama.cpp: -c "
                           "is shared by the -np slots, each gets c / np)");
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "context_rejected"), 24);
    qd_search_free(s);
    qd_config_free(cfg);
}

static void test_truncated_replies_under_each_on_truncated(void)
{
    /* "": on_truncated not given, the default (cut) */
    static const char *const modes[] = {"keep", "cut", "reject", ""};
    static const char *const expect[] = {"First part. Second part.", "First part.", NULL, "First part."};
    for (size_t i = 0; i < QDI_ARRAY_LEN(modes); i++) {
        char json[8192], field[128], *dir = qdt_tmpdir();
        qd_config *cfg;
        /* 4 words of "First part. Second part goes on": finish_reason "length" */
        qdaif_config(json, sizeof json, srv()->url, 2, 1, "lmx-near", NULL);
        if (modes[i][0])
            snprintf(field, sizeof field, "\"batch\": 8, \"max_tokens\": 4, \"on_truncated\": \"%s\",", modes[i]);
        else
            snprintf(field, sizeof field, "\"batch\": 8, \"max_tokens\": 4,");
        edit(json, sizeof json, "\"batch\": 8,", field);
        /* the judge's answers run into their max_tokens too, as a real
         * model's do: they are not generations and not counted */
        CU_ASSERT_EQUAL(qdt_server_control(srv(), "{\"generate\": \"First part. Second part goes on\", "
                                                  "\"judge_length\": true}"), 0);
        qd_search *s = run(json, dir, &cfg);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        const qd_archive *a = qd_search_archive(s);
        qd_llm_stats st;
        qd_llm_stats_get(qd_search_llm(s), &st);
        CU_ASSERT_EQUAL(st.generations, 8);
        CU_ASSERT_EQUAL(st.truncated, 8);
        if (expect[i]) {
            qd_elite e;
            CU_ASSERT_EQUAL_FATAL(qd_archive_filled(a), 1);
            qd_archive_elite_at(a, 0, &e);
            CU_ASSERT_STRING_EQUAL(e.text, expect[i]);
            CU_ASSERT_PTR_NOT_NULL(strstr(e.lineage, i == 0 ? "\"truncated\":\"kept\"" : "\"truncated\":\"cut\""));
        } else {
            uint64_t n = 0;
            CU_ASSERT_EQUAL(qd_archive_filled(a), 0);
            CU_ASSERT_STRING_EQUAL(qd_search_failure_kind(s, 0, &n), "llm: truncated text rejected (finish_reason "
                                                                     "\"length\"; on_truncated is \"reject\")");
            CU_ASSERT_EQUAL(n, 8);
            char *rows = file_in(dir, "failures.jsonl");
            CU_ASSERT_PTR_NOT_NULL(rows && strstr(rows, "\"text\":\" First part. Second part\""));
            free(rows);
        }
        qd_search_free(s);
        qd_config_free(cfg);
        qdt_rmdir(dir);
        free(dir);
    }
}

/* The CLI's summary counts the labels given the bound and the generations
 * cut by max_tokens (not the judge's answers, cut by theirs): the shipped
 * example, one iteration of 8 jobs, top_logprobs 2. */
static void test_the_summary_counts_bounded_labels_and_truncated_generations(void)
{
    char *dir = qdt_tmpdir(), config[1024], url[128], out[600], *sout = NULL, *serr = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(config, sizeof config, "%s/examples/qdaif-opinions.json", qdt_srcdir());
    snprintf(url, sizeof url, "llm.url=%s", srv()->url);
    snprintf(out, sizeof out, "%s/run", dir);
    CU_ASSERT_EQUAL(qdt_server_control(&server, "{\"generate\": \"First part. Second part goes on\", "
                                                "\"judge_length\": true}"), 0);
    const char *args[] = {"run", config, "--iterations", "1", "--set", url, "--set", "llm.model=test-openai",
                          "--set", "workers=1", "--set", "evaluator.top_logprobs=2", "--set",
                          "mutators[0].max_tokens=4", "-o", out, NULL};
    CU_ASSERT_EQUAL(qdt_wait_cli(qdt_start_cli(dir, args), dir, &sout, &serr), 0);
    /* the sentiment answer's list holds the two spellings of one label */
    CU_ASSERT_PTR_NOT_NULL(strstr(sout, "\nllm: 8 of 16 label scores had a label absent from the top logprobs "
                                        "(given the bound, the smallest listed probability; a larger top_logprobs "
                                        "narrows it)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(sout, "\nllm: 8 of 8 generations ran into max_tokens (finish_reason \"length\"; "
                                        "kept, cut or rejected as the mutator's on_truncated says)\n"));
    char *stats = file_in(out, "llm.json");
    CU_ASSERT_PTR_NOT_NULL(stats && strstr(stats, "\"generations\":\t8,\n\t\"truncated_replies\":\t8,"));
    CU_ASSERT_PTR_NOT_NULL(stats && strstr(stats, "\"label_scores_bounded\":\t8,"));
    free(stats);
    free(sout);
    free(serr);
    qdt_rmdir(dir);
    free(dir);
}

/* ---- the paper's baselines ---------------------------------------------- */

static const char *TEMPLATE = "Here is a random opinion piece about eating vegetables and plant-based foods:";
static const char *const SEEDS[] = {
    "Plant-based foods are a great source of healthy micronutrients, and can play a significant role in providing "
    "you with macronutrients also.",
    "You should eat vegetables because they are good for you.",
    "I really don't like eating vegetables, they taste bland and boring."};

/* The examples of an LMX prompt "T e1\n###\nT e2\n###\n...T" (at most 8). */
static size_t prompt_examples(const char *prompt, char ex[][512])
{
    size_t n = 0, tl = strlen(TEMPLATE);
    const char *p = prompt, *sep;
    while ((sep = strstr(p, "\n###\n")) && n < 8) {
        CU_ASSERT_EQUAL(strncmp(p, TEMPLATE, tl), 0);
        snprintf(ex[n++], 512, "%.*s", (int)(sep - p - tl - 1), p + tl + 1);
        p = sep + 5;
    }
    CU_ASSERT_STRING_EQUAL(p, TEMPLATE);
    return n;
}

/* The text a feedback prompt judges, or NULL (a generation prompt). */
static int judged_text(const char *prompt, char *out, size_t n)
{
    const char *in = strstr(prompt, "### Input:\n"), *end = in ? strstr(in, "\n\n### Response:") : NULL;
    if (!end)
        return 0;
    snprintf(out, n, "%.*s", (int)(end - in - 11), in + 11);
    return 1;
}

/* Runs 4 iterations of 8 jobs (16 initial) on one worker in a mode and
 * checks every generation prompt the server received. */
static void check_baseline(const char *mode, const char *mutator_extra)
{
    char json[8192], field[512], texts[64][512], ex[8][512];
    double quality[64];
    size_t ntexts = 0, gens = 0, before = 0;
    qd_config *cfg;
    qdaif_config(json, sizeof json, srv()->url, 1, 4, mode, NULL);
    snprintf(field, sizeof field, "\"batch\": 8, %s", mutator_extra);
    edit(json, sizeof json, "\"batch\": 8,", field);
    CU_ASSERT_EQUAL(qdt_server_control(&server, "{\"record\": true}"), 0);
    qd_search *s = run(json, NULL, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    cJSON *got = qdt_server_get(&server, "bodies"), *b;
    int orders = 0;
    char first[2048] = "";
    cJSON_ArrayForEach(b, cJSON_GetObjectItemCaseSensitive(got, "bodies")) {
        const char *prompt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(b, "prompt"));
        char text[512];
        CU_ASSERT_PTR_NOT_NULL_FATAL(prompt);
        if (judged_text(prompt, text, sizeof text)) {
            size_t i = 0;
            while (i < ntexts && strcmp(texts[i], text) != 0)
                i++;
            if (i == ntexts && ntexts < 64) {
                snprintf(texts[ntexts], sizeof texts[0], "%s", text);
                quality[ntexts++] = rule_quality(text);
            }
            continue;
        }
        if (gens % 8 == 0)
            before = ntexts; /* an iteration's prompts see the texts of the ones before */
        gens++;
        size_t n = prompt_examples(prompt, ex);
        if (strcmp(mode, "zero-shot") == 0) {
            CU_ASSERT_EQUAL(n, 0);
        } else if (strcmp(mode, "fixed") == 0) {
            CU_ASSERT_EQUAL(n, 3);
            for (size_t i = 0; i < n; i++)
                CU_ASSERT_STRING_EQUAL(ex[i], SEEDS[i]);
        } else if (strcmp(mode, "shuffle") == 0 || gens <= 16) { /* the seeds in a random order */
            CU_ASSERT_EQUAL(n, 3);
            int seen = 0;
            for (size_t i = 0; i < n; i++)
                for (int k = 0; k < 3; k++)
                    seen |= (strcmp(ex[i], SEEDS[k]) == 0) << k;
            CU_ASSERT_EQUAL(seen, 7);
            if (!first[0])
                snprintf(first, sizeof first, "%s", prompt);
            orders |= strcmp(first, prompt) != 0;
        } else { /* lmx-quality, nsaif: texts found before */
            CU_ASSERT_EQUAL(n, 3);
            for (size_t i = 0; i < n; i++) {
                size_t k = 0;
                while (k < before && strcmp(texts[k], ex[i]) != 0)
                    k++;
                CU_ASSERT_TRUE_FATAL(k < before);
                if (strcmp(mode, "lmx-quality") == 0) { /* among the 3 best so far */
                    size_t better = 0;
                    for (size_t j = 0; j < before; j++)
                        better += quality[j] > quality[k];
                    CU_ASSERT_TRUE(better < 3);
                }
            }
        }
    }
    CU_ASSERT_EQUAL(gens, 32);
    if (strcmp(mode, "shuffle") == 0)
        CU_ASSERT_TRUE(orders);
    cJSON_Delete(got);
    qd_search_free(s);
    qd_config_free(cfg);
}

static void test_baseline_prompts_are_the_papers(void)
{
    check_baseline("fixed", "");
    check_baseline("shuffle", "");
    check_baseline("zero-shot", "");
    check_baseline("lmx-quality", "\"population\": 3,");
    check_baseline("nsaif", "\"novelty_k\": 2, \"novelty_threshold\": 0.01,");
}

static void test_novelty_is_the_mean_distance_to_the_nearest(void)
{
    qdi_population p;
    const double lo[2] = {0, 0}, hi[2] = {1, 2};
    CU_ASSERT_EQUAL_FATAL(qdi_population_init(&p, QDI_POP_NOVELTY, 2, lo, hi, 4, 2, 0.6), QD_OK);
    CU_ASSERT_EQUAL(qdi_population_offer(&p, "a", 0.5, (const double[]){0, 0}), 1); /* fewer than k: in */
    CU_ASSERT_EQUAL(qdi_population_offer(&p, "b", 0.5, (const double[]){1, 0}), 1);
    /* (0, 1) in range units is (0, 0.5): distances 0.5 and sqrt(1.25) */
    CU_ASSERT_DOUBLE_EQUAL(qdi_population_novelty(&p, (const double[]){0, 1}), (0.5 + sqrt(1.25)) / 2, 1e-15);
    CU_ASSERT_EQUAL(qdi_population_offer(&p, "c", 0.1, (const double[]){0.5, 0}), 0); /* 0.5 < 0.6 */
    /* (0.5, 2) is (0.5, 1): sqrt(1.25) from both */
    CU_ASSERT_EQUAL(qdi_population_offer(&p, "d", 0.1, (const double[]){0.5, 2}), 1);
    CU_ASSERT_EQUAL(p.n, 3);
    /* a checkpoint round trip keeps the members */
    qdi_population back;
    cJSON *saved = cJSON_CreateObject();
    CU_ASSERT_EQUAL(qdi_population_save(&p, saved), QD_OK);
    char *text = cJSON_PrintUnformatted(saved); /* as a checkpoint file holds it */
    cJSON_Delete(saved);
    saved = cJSON_Parse(text);
    free(text);
    CU_ASSERT_EQUAL_FATAL(qdi_population_init(&back, QDI_POP_NOVELTY, 2, lo, hi, 4, 2, 0.6), QD_OK);
    CU_ASSERT_EQUAL(qdi_population_load(&back, saved), QD_OK);
    CU_ASSERT_EQUAL_FATAL(back.n, 3);
    CU_ASSERT_STRING_EQUAL(back.texts[2], "d");
    CU_ASSERT_EQUAL(back.measures[5], 2);
    CU_ASSERT_DOUBLE_EQUAL(qdi_population_novelty(&back, (const double[]){0, 1}),
                           qdi_population_novelty(&p, (const double[]){0, 1}), 0);
    qdi_population_fini(&back);
    /* more members than the limit: refused */
    CU_ASSERT_EQUAL_FATAL(qdi_population_init(&back, QDI_POP_NOVELTY, 2, lo, hi, 2, 2, 0.6), QD_OK);
    CU_ASSERT_EQUAL(qdi_population_load(&back, saved), QD_EFORMAT);
    qdi_population_fini(&back);
    cJSON_Delete(saved);
    qdi_population_fini(&p);
    /* quality: the 2 best stay */
    CU_ASSERT_EQUAL_FATAL(qdi_population_init(&p, QDI_POP_QUALITY, 2, lo, hi, 2, 0, 0), QD_OK);
    qdi_population_offer(&p, "a", 0.2, lo);
    qdi_population_offer(&p, "b", 0.9, lo);
    CU_ASSERT_EQUAL(qdi_population_offer(&p, "c", 0.1, lo), 0);
    CU_ASSERT_EQUAL(qdi_population_offer(&p, "d", 0.5, lo), 1);
    CU_ASSERT_STRING_EQUAL(p.texts[0], "d");
    CU_ASSERT_STRING_EQUAL(p.texts[1], "b");
    qdi_population_fini(&p);
}

static void test_worker_count_and_server_faults_do_not_change_the_archive(void)
{
    char json[8192], *one = qdt_tmpdir(), *eight = qdt_tmpdir(), *a, *b;
    qd_config *cfg;
    qd_search *s;
    qdaif_config(json, sizeof json, srv()->url, 1, 10, "lmx-near", NULL);
    s = run(json, one, &cfg);
    qd_search_free(s);
    qd_config_free(cfg);
    /* 8 workers while the server fails every 7th request and a few more */
    qdt_server_control(&server, "{\"every\": 7, \"kind\": \"500\", \"faults\": [{\"kind\": \"429\", "
                                "\"retry_after\": 0}, {\"kind\": \"truncate\"}, {\"kind\": \"cut\"}]}");
    qdaif_config(json, sizeof json, server.url, 8, 10, "lmx-near", ", \"backoff\": 0.001, \"jitter\": 0");
    s = run(json, eight, &cfg);
    qd_llm_stats st;
    qd_llm_stats_get(qd_search_llm(s), &st);
    CU_ASSERT_TRUE(st.retries >= st.requests / 8);
    CU_ASSERT_EQUAL(st.failures, 0);
    CU_ASSERT_EQUAL(qd_search_counts(s)->asked, 80);
    qd_search_free(s);
    qd_config_free(cfg);
    a = file_in(one, "archive.csv");
    b = file_in(eight, "archive.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(a, b);
    free(a);
    free(b);
    qdt_rmdir(one);
    qdt_rmdir(eight);
    free(one);
    free(eight);
}

/* The part of archive.json after the config echo and counts: the archive,
 * its stats and its elites. */
static const char *archive_part(const char *json)
{
    const char *p = json ? strstr(json, "\n\t\"archive\":") : NULL;
    return p ? p : "(none)";
}

static size_t lines_of(const char *text)
{
    size_t n = 0;
    for (; text && *text; text++)
        n += *text == '\n';
    return n;
}

static void test_record_then_replay_is_byte_identical_without_the_server(void)
{
    char json[8192], extra[1024], *dir = qdt_tmpdir(), rec[600], rep[600], rep1[600], again[600], more[600];
    qdt_server own;
    qd_config *cfg;
    qd_search *s;
    qd_llm_stats st;
    char *a, *b, *cache;
    snprintf(rec, sizeof rec, "%s/rec", dir);
    snprintf(rep, sizeof rep, "%s/rep", dir);
    snprintf(rep1, sizeof rep1, "%s/rep1", dir);
    snprintf(again, sizeof again, "%s/again", dir);
    snprintf(more, sizeof more, "%s/more", dir);
    /* record, against a server of this test's own */
    CU_ASSERT_EQUAL_FATAL(qdt_server_start(&own, NULL, NULL), 0);
    snprintf(extra, sizeof extra, ", \"cache\": \"%s/cache.jsonl\"", dir);
    qdaif_config(json, sizeof json, own.url, 8, 20, "lmx-near", extra);
    s = run(json, rec, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    qd_llm_stats_get(qd_search_llm(s), &st);
    double requests = qdt_server_stat(&own, "api_requests");
    CU_ASSERT_EQUAL(st.requests, requests);
    CU_ASSERT_EQUAL(st.cache_hits + st.requests, st.calls);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_server_stop(&own);
    /* one line per request the server answered */
    snprintf(more, sizeof more, "%s/cache.jsonl", dir);
    cache = qdt_slurp(more);
    CU_ASSERT_EQUAL(lines_of(cache), (size_t)requests);
    free(cache);
    snprintf(more, sizeof more, "%s/more", dir);
    /* the same config with the server gone: every call from the cache,
     * archive.json byte for byte the same */
    s = run(json, again, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    qd_llm_stats_get(qd_search_llm(s), &st);
    CU_ASSERT_EQUAL(st.requests, 0);
    CU_ASSERT_EQUAL(st.cache_hits, st.calls);
    qd_search_free(s);
    qd_config_free(cfg);
    a = file_in(rec, "archive.json");
    b = file_in(again, "archive.json");
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(a, b);
    free(b);
    /* strict replay (llm.replay), 8 workers and 1: the same archive; only
     * the config echo says replay */
    for (int workers = 8; workers >= 1; workers -= 7) {
        snprintf(extra, sizeof extra, ", \"cache\": \"%s/cache.jsonl\", \"replay\": true", dir);
        qdaif_config(json, sizeof json, own.url, workers, 20, "lmx-near", extra);
        s = run(json, workers == 8 ? rep : rep1, &cfg);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_EQUAL(qd_search_counts(s)->failed + qd_search_counts(s)->evaluated, 160);
        qd_search_free(s);
        qd_config_free(cfg);
        b = file_in(workers == 8 ? rep : rep1, "archive.json");
        CU_ASSERT_PTR_NOT_NULL_FATAL(b);
        CU_ASSERT_STRING_EQUAL(archive_part(a), archive_part(b));
        CU_ASSERT_PTR_NOT_NULL(strstr(b, "\"replay\":\ttrue"));
        free(b);
        char *c1 = file_in(rec, "archive.csv"), *c2 = file_in(workers == 8 ? rep : rep1, "archive.csv");
        CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
        CU_ASSERT_STRING_EQUAL(c1, c2);
        free(c1);
        free(c2);
    }
    free(a);
    /* replaying further than was recorded: the new requests fail, counted
     * under one reason, and the run goes on */
    qdaif_config(json, sizeof json, own.url, 8, 22, "lmx-near", extra);
    s = run(json, more, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 22);
    int found = 0;
    for (size_t k = 0; k < qd_search_failure_kinds(s); k++) {
        uint64_t n;
        const char *why = qd_search_failure_kind(s, k, &n);
        if (strcmp(why, "llm: replay: no recorded reply for this completions request in llm.cache (the run asks "
                        "what the recorded one did not)") == 0)
            found = n >= 16;
    }
    CU_ASSERT_TRUE(found);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static const qdt_test tests[] = {
    {"feedback scores follow the rule", test_feedback_scores_follow_the_rule},
    {"ratings replace missing logprobs", test_ratings_replace_missing_logprobs},
    {"one reply without logprobs is told as one", test_one_reply_without_logprobs_is_told_as_one},
    {"categorical axes take the likeliest label", test_categorical_axes_take_the_likeliest_label},
    {"labels absent, split or misspelt by the server", test_labels_absent_split_or_misspelt_by_the_server},
    {"config errors name the field", test_config_errors_name_the_field},
    {"a QDAIF run fills the expected cells", test_qdaif_run_fills_the_expected_cells},
    {"the other mutator modes run", test_other_modes_run},
    {"post-processing when the server ignores stop", test_post_processing_when_the_server_ignores_stop},
    {"failures keep the text, question and answer", test_failures_keep_the_text_question_and_answer},
    {"prompts shrink to fit the context", test_prompts_shrink_to_fit_the_context},
    {"truncated replies under each on_truncated", test_truncated_replies_under_each_on_truncated},
    {"the summary counts bounded labels and truncated generations",
     test_the_summary_counts_bounded_labels_and_truncated_generations},
    {"baseline prompts are the paper's", test_baseline_prompts_are_the_papers},
    {"novelty is the mean distance to the nearest", test_novelty_is_the_mean_distance_to_the_nearest},
    {"worker count and server faults do not change the archive",
     test_worker_count_and_server_faults_do_not_change_the_archive},
    {"record then replay is byte-identical without the server",
     test_record_then_replay_is_byte_identical_without_the_server},
    {NULL, NULL},
};

QDT_MAIN("qdaif", tests)
