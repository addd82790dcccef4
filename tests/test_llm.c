/* test_llm.c - the LLM client (src/llm/llm.c, reply.c, cache.c): every
 * server family's reply shape, through the client against the test server
 * and as hand-made replies; logprob -> label probability maths; retries and
 * backoff on a fake clock, Retry-After, errors that are not retried,
 * timeouts, round-robin over base URLs skipping a dead one, the cap on
 * requests in flight, the API key sent but never in an error, a log or a
 * file; the record/replay cache and its single flight; embeddings. */
#include <math.h>
#include <pthread.h>
#include "llmtest.h"

static qdt_server server;
static int server_up;

static void stop_server(void)
{
    qdt_server_stop(&server);
}

/* The suite's server, started on first use and reset for each test. */
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

/* A client of the test server: model, then more config fields (", ..."). A
 * fake clock is installed when clk is given. */
static qd_llm *client(const char *model, const char *extra, qdt_clock *clk)
{
    char json[4096];
    qd_config *cfg;
    qd_llm *llm = NULL;
    /* no jitter unless the test asks for it, so delays are exact */
    snprintf(json, sizeof json, "{\"url\": \"%s\", \"model\": \"%s\"%s%s}", srv()->url, model,
             extra && strstr(extra, "\"jitter\"") ? "" : ", \"jitter\": 0", extra ? extra : "");
    cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    if (qd_llm_new(cfg, 7, &llm) != QD_OK)
        fprintf(stderr, "client: %s\n", qd_config_error(cfg));
    qd_config_free(cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(llm);
    if (clk)
        qdi_llm_set_clock(llm, qdt_clock_now, qdt_clock_sleep, clk);
    return llm;
}

static qd_llm_session *session(qd_llm *llm)
{
    qd_llm_session *s = NULL;
    CU_ASSERT_EQUAL_FATAL(qd_llm_session_new(llm, 0, &s), QD_OK);
    return s;
}

static void feedback_prompt(char *buf, size_t n, const char *question, const char *text)
{
    snprintf(buf, n, "### Instruction:\n%s\n\n### Input:\n%s\n\n### Response:", question, text);
}

static double sigmoid(double x)
{
    return 1.0 / (1.0 + exp(-x));
}

static const char *const sentiment[] = {"positive", "negative"};
static const char *QUESTION = "Is the sentiment of the text positive or negative? Answer \"positive\" or \"negative\".";
/* three positive words (love, delicious, fresh) and one negative (soggy) */
static const char *TEXT = "I love delicious fresh broccoli but the beans are soggy";

/* A plain completion request with logprobs. */
static qd_llm_request feedback_request(qd_llm_endpoint ep, const char *prompt)
{
    qd_llm_request r = {0};
    r.endpoint = ep;
    r.prompt = prompt;
    r.temperature = 0;
    r.max_tokens = 2;
    r.top_logprobs = 10;
    return r;
}

/* ---- reply shapes ------------------------------------------------------ */

static void test_every_family_reply_shape_parses(void)
{
    static const struct {
        const char *model;
        int logprobs[2];  /* completions, chat */
        size_t position;  /* the answer's token position */
        int usage;
    } fam[] = {
        {"test-openai", {1, 1}, 0, 1},       {"test-vllm", {1, 1}, 1, 1},
        {"test-vllm-oldchat", {1, 1}, 0, 1}, {"test-llamacpp", {1, 1}, 0, 1},
        {"test-llamacpp-old", {1, 0}, 0, 1}, {"test-llamacpp-probs", {1, 1}, 0, 1},
        {"test-ollama", {0, 1}, 0, 1},       {"test-ollama-old", {0, 0}, 0, 1},
        {"test-nousage", {1, 1}, 0, 0},
    };
    char prompt[1024];
    feedback_prompt(prompt, sizeof prompt, QUESTION, TEXT);
    double expect = sigmoid(0.55 * (3 - 1) + 0.1);
    for (size_t f = 0; f < QDI_ARRAY_LEN(fam); f++)
        for (int ep = 0; ep < 2; ep++) {
            qd_llm *llm = client(fam[f].model, NULL, NULL);
            qd_llm_session *s = session(llm);
            qd_llm_request req = feedback_request(ep ? QD_LLM_CHAT : QD_LLM_COMPLETIONS, prompt);
            qd_llm_reply r;
            double p[2] = {-1, -1};
            qd_llm_label_info info = {99, 9, 0};
            int rc = qd_llm_complete(s, &req, &r);
            if (rc != QD_OK)
                fprintf(stderr, "%s %s: %s\n", fam[f].model, ep ? "chat" : "completions", qd_llm_session_error(s));
            CU_ASSERT_EQUAL(rc, QD_OK);
            CU_ASSERT_PTR_NOT_NULL_FATAL(r.text);
            CU_ASSERT_PTR_NOT_NULL(strstr(r.text, "positive"));
            CU_ASSERT_EQUAL(r.prompt_tokens > 0, fam[f].usage);
            CU_ASSERT_EQUAL(r.completion_tokens > 0, fam[f].usage);
            rc = qd_llm_label_probs(&r, sentiment, 2, p, &info);
            if (fam[f].logprobs[ep]) {
                CU_ASSERT_EQUAL(rc, QD_OK);
                CU_ASSERT_DOUBLE_EQUAL(p[0], expect, 1e-12);
                CU_ASSERT_DOUBLE_EQUAL(p[0] + p[1], 1.0, 1e-15);
                CU_ASSERT_EQUAL(info.position, fam[f].position);
                CU_ASSERT_EQUAL(info.bounded, 0);
            } else {
                CU_ASSERT_EQUAL(r.ntokens, 0);
                CU_ASSERT_EQUAL(rc, QD_ENOTFOUND);
            }
            qd_llm_stats st;
            qd_llm_stats_get(llm, &st);
            CU_ASSERT_EQUAL(st.no_usage, fam[f].usage ? 0 : 1);
            qd_llm_reply_clear(&r);
            qd_llm_session_free(s);
            qd_llm_free(llm);
        }
}

static qd_llm_reply parsed(const char *json)
{
    qd_llm_reply r;
    char err[256];
    int rc = qd_llm_reply_parse(json, &r, err, sizeof err);
    if (rc)
        fprintf(stderr, "parsed: %s\n", err);
    CU_ASSERT_EQUAL(rc, QD_OK);
    return r;
}

static void test_hand_made_replies_parse(void)
{
    qd_llm_reply r;
    double p[2];
    /* OpenAI chat: content null (a refusal), no usage */
    r = parsed("{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":null,\"refusal\":\"no\"},"
               "\"finish_reason\":\"stop\"}]}");
    CU_ASSERT_STRING_EQUAL(r.text, "");
    CU_ASSERT_STRING_EQUAL(r.finish_reason, "stop");
    CU_ASSERT_EQUAL(r.prompt_tokens, -1);
    CU_ASSERT_EQUAL(r.completion_tokens, -1);
    qd_llm_reply_clear(&r);
    /* content as a list of parts */
    r = parsed("{\"choices\":[{\"message\":{\"content\":[{\"type\":\"text\",\"text\":\"ab\"},"
               "{\"type\":\"text\",\"text\":\"cd\"}]}}]}");
    CU_ASSERT_STRING_EQUAL(r.text, "abcd");
    qd_llm_reply_clear(&r);
    /* legacy logprobs: null token logprob, vLLM's -9999 for -inf */
    r = parsed("{\"choices\":[{\"text\":\" yes\",\"logprobs\":{\"tokens\":[\" yes\"],\"token_logprobs\":[null],"
               "\"top_logprobs\":[{\" yes\":-0.1,\" no\":-9999.0}]}}],\"usage\":{\"prompt_tokens\":3,"
               "\"completion_tokens\":1}}");
    CU_ASSERT_EQUAL(r.ntokens, 1);
    CU_ASSERT_TRUE(isinf(r.tokens[0].logprob) && r.tokens[0].logprob < 0);
    CU_ASSERT_EQUAL(r.prompt_tokens, 3);
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, NULL), QD_OK);
    CU_ASSERT_EQUAL(p[0], 1.0);
    CU_ASSERT_EQUAL(p[1], 0.0);
    qd_llm_reply_clear(&r);
    /* legacy top_logprobs given as lists of {token, logprob} */
    r = parsed("{\"choices\":[{\"text\":\"a\",\"logprobs\":{\"tokens\":[\"a\"],\"token_logprobs\":[-0.1],"
               "\"top_logprobs\":[[{\"token\":\"a\",\"logprob\":-0.1},{\"token\":\"b\",\"logprob\":-2}]]}}]}");
    CU_ASSERT_EQUAL(r.ntokens, 1);
    CU_ASSERT_EQUAL(r.tokens[0].ntop, 2);
    CU_ASSERT_STRING_EQUAL(r.tokens[0].top[1].token, "b");
    CU_ASSERT_EQUAL(r.tokens[0].top[1].logprob, -2);
    qd_llm_reply_clear(&r);
    /* llama.cpp: -FLT_MAX for an impossible token */
    r = parsed("{\"choices\":[{\"message\":{\"content\":\"no\"},\"logprobs\":{\"content\":[{\"id\":1,\"token\":\"no\","
               "\"logprob\":-0.2,\"top_logprobs\":[{\"id\":1,\"token\":\"no\",\"logprob\":-0.2},{\"id\":2,"
               "\"token\":\"yes\",\"logprob\":-3.4028234663852886e38}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, NULL), QD_OK);
    CU_ASSERT_EQUAL(p[0], 0.0);
    CU_ASSERT_EQUAL(p[1], 1.0);
    qd_llm_reply_clear(&r);
    /* llama.cpp's own /completion: content, tokens_evaluated / predicted,
     * completion_probabilities with probabilities */
    r = parsed("{\"content\":\" hi\",\"tokens_evaluated\":5,\"tokens_predicted\":2,\"completion_probabilities\":"
               "[{\"content\":\" hi\",\"probs\":[{\"tok_str\":\" hi\",\"prob\":0.75},{\"tok_str\":\" yo\","
               "\"prob\":0.25}]}]}");
    CU_ASSERT_STRING_EQUAL(r.text, " hi");
    CU_ASSERT_EQUAL(r.prompt_tokens, 5);
    CU_ASSERT_EQUAL(r.completion_tokens, 2);
    CU_ASSERT_EQUAL(r.ntokens, 1);
    CU_ASSERT_DOUBLE_EQUAL(r.tokens[0].top[1].logprob, log(0.25), 1e-15);
    qd_llm_reply_clear(&r);
}

static void test_bad_replies_are_refused_with_a_reason(void)
{
    static const struct {
        const char *json, *why;
    } bad[] = {
        {"{\"choices\": [{\"text\": \"ab", "not a JSON object"},
        {"{\"id\": \"x\"}", "no \"choices\""},
        {"{\"error\": {\"message\": \"model foo not found\"}}", "model foo not found"},
        {"{\"object\": \"error\", \"message\": \"bad request\", \"code\": 400}", "bad request"},
        {"{\"error\": \"slot unavailable\"}", "slot unavailable"},
        {"{\"choices\": [{\"index\": 0}]}", "neither \"text\" nor \"message\""},
        {"[1, 2]", "not a JSON object"},
    };
    for (size_t i = 0; i < QDI_ARRAY_LEN(bad); i++) {
        qd_llm_reply r;
        char err[256] = "";
        CU_ASSERT_EQUAL(qd_llm_reply_parse(bad[i].json, &r, err, sizeof err), QD_EFORMAT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, bad[i].why));
        CU_ASSERT_PTR_NULL(r.text);
        CU_ASSERT_EQUAL(r.ntokens, 0);
    }
}

/* Found by tests/fuzz/fuzz_llm_reply (UBSan: a count beyond a long was
 * converted): the exact input. A count too big to be one reads as unknown. */
static void test_fuzz_huge_token_count_reads_as_unknown(void)
{
    qd_llm_reply r = parsed(
        "{\"id\": \"tcmpl-test\", \"oated\": 0, \"model\": \"test-ollama-old\", \"choices\": [{\"index\": 0, "
        "\"message\": {\"role\": \"ssistant\", \"content\": \" positive\"}, \"finish_reason\": \"stop\"}], "
        "\"usage\": {\"prompt_tokens\": 19, \"completion_tokens\": "
        "1555555555555555555555555555555555555555555555555555555555555555555555555555555555, \"total_tokens\": 20}}");
    double *vec = NULL;
    size_t n = 0;
    long ptok = 0;
    char err[256];
    CU_ASSERT_STRING_EQUAL(r.text, " positive");
    CU_ASSERT_EQUAL(r.prompt_tokens, 19);
    CU_ASSERT_EQUAL(r.completion_tokens, -1);
    qd_llm_reply_clear(&r);
    CU_ASSERT_EQUAL(qdi_llm_embedding_parse("{\"data\": [{\"embedding\": [0.5]}], \"usage\": {\"prompt_tokens\": 1e300}}",
                                            &vec, &n, &ptok, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(ptok, -1);
    free(vec);
}

/* ---- logprob maths ----------------------------------------------------- */

static void test_label_probs_merge_variants_and_normalise(void)
{
    double p[2];
    qd_llm_label_info info;
    /* case, leading space and tokenizer markers (GPT-2 "Ġ", SentencePiece
     * "▁") are variants of one label; other tokens do not count */
    qd_llm_reply r = parsed(
        "{\"choices\":[{\"text\":\" Positive\",\"logprobs\":{\"content\":[{\"token\":\" Positive\",\"logprob\":-1,"
        "\"top_logprobs\":[{\"token\":\" Positive\",\"logprob\":-1},{\"token\":\"\\u0120positive\",\"logprob\":-2},"
        "{\"token\":\"\\u2581Negative\",\"logprob\":-1.5},{\"token\":\"negative.\",\"logprob\":-3},"
        "{\"token\":\"\\n\",\"logprob\":-0.5},{\"token\":\" neutral\",\"logprob\":-0.7}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, sentiment, 2, p, &info), QD_OK);
    double pos_mass = exp(-1) + exp(-2), neg_mass = exp(-1.5) + exp(-3);
    CU_ASSERT_DOUBLE_EQUAL(p[0], pos_mass / (pos_mass + neg_mass), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[1], neg_mass / (pos_mass + neg_mass), 1e-15);
    CU_ASSERT_EQUAL(info.position, 0);
    CU_ASSERT_EQUAL(info.bounded, 0);
    qd_llm_reply_clear(&r);
}

static void test_label_probs_use_first_position_naming_a_label(void)
{
    double p[2];
    qd_llm_label_info info;
    qd_llm_reply r = parsed(
        "{\"choices\":[{\"text\":\"\\nThe answer: yes\",\"logprobs\":{\"content\":["
        "{\"token\":\"\\n\",\"logprob\":-0.01,\"top_logprobs\":[{\"token\":\"\\n\",\"logprob\":-0.01},"
        "{\"token\":\"The\",\"logprob\":-5}]},"
        "{\"token\":\"The\",\"logprob\":-0.1,\"top_logprobs\":[{\"token\":\"The\",\"logprob\":-0.1}]},"
        "{\"token\":\" yes\",\"logprob\":-0.2,\"top_logprobs\":[{\"token\":\" yes\",\"logprob\":-0.2},"
        "{\"token\":\" no\",\"logprob\":-1.8}]},"
        "{\"token\":\" no\",\"logprob\":-0.3,\"top_logprobs\":[{\"token\":\" no\",\"logprob\":-0.3}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, &info), QD_OK);
    CU_ASSERT_EQUAL(info.position, 2);
    CU_ASSERT_DOUBLE_EQUAL(p[0], 1.0 / (1.0 + exp(-1.6)), 1e-15);
    qd_llm_reply_clear(&r);
    /* a reply that never names a label, and one without logprobs */
    r = parsed("{\"choices\":[{\"text\":\"maybe\",\"logprobs\":{\"content\":[{\"token\":\"maybe\",\"logprob\":-0.1,"
               "\"top_logprobs\":[{\"token\":\"maybe\",\"logprob\":-0.1}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, NULL), QD_ENOTFOUND);
    qd_llm_reply_clear(&r);
    r = parsed("{\"choices\":[{\"text\":\"yes\"}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, NULL), QD_ENOTFOUND);
    qd_llm_reply_clear(&r);
}

static void test_label_prefixes_count_only_when_unambiguous(void)
{
    static const char *const genres[] = {"haiku", "sonnet", "ballad", "limerick", "hymn"};
    double p[5];
    qd_llm_label_info info;
    /* "limer" names limerick, "hy" hymn and "son" sonnet; "h" starts two
     * labels and names none; haiku and ballad, named by no token, get the
     * bound: the smallest listed logprob (-3) */
    qd_llm_reply r = parsed(
        "{\"choices\":[{\"text\":\"x\",\"logprobs\":{\"content\":[{\"token\":\"x\",\"logprob\":0,\"top_logprobs\":["
        "{\"token\":\" limer\",\"logprob\":-1},{\"token\":\"h\",\"logprob\":-0.1},{\"token\":\"hy\",\"logprob\":-0.2},"
        "{\"token\":\"Son\",\"logprob\":-2},{\"token\":\"Limerick\",\"logprob\":-3}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, genres, 5, p, &info), QD_OK);
    double lim = exp(-1) + exp(-3), son = exp(-2), hymn = exp(-0.2), bound = exp(-3);
    double sum = lim + son + hymn + 2 * bound;
    CU_ASSERT_DOUBLE_EQUAL(p[3], lim / sum, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[1], son / sum, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[4], hymn / sum, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[0], bound / sum, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[2], bound / sum, 1e-15);
    CU_ASSERT_EQUAL(info.bounded, 2);
    CU_ASSERT_DOUBLE_EQUAL(info.bound, -3, 0);
    qd_llm_reply_clear(&r);
}

static void test_an_absent_label_gets_the_bound_not_zero(void)
{
    double p[2];
    qd_llm_label_info info;
    /* only "yes" is among the top logprobs: "no" has at most the smallest
     * listed probability, here less, what the list leaves (1 - e^-0.1 -
     * e^-3); the score does not saturate to 1 */
    qd_llm_reply r = parsed(
        "{\"choices\":[{\"text\":\" yes\",\"logprobs\":{\"content\":[{\"token\":\" yes\",\"logprob\":-0.1,"
        "\"top_logprobs\":[{\"token\":\" yes\",\"logprob\":-0.1},{\"token\":\" The\",\"logprob\":-3}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, &info), QD_OK);
    double left = 1 - exp(-0.1) - exp(-3);
    CU_ASSERT_DOUBLE_EQUAL(p[0], exp(-0.1) / (exp(-0.1) + left), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(p[1], left / (exp(-0.1) + left), 1e-15);
    CU_ASSERT(p[0] < 1);
    CU_ASSERT_EQUAL(info.bounded, 1);
    CU_ASSERT_DOUBLE_EQUAL(info.bound, log(left), 1e-15);
    qd_llm_reply_clear(&r);
    /* a listed token less likely than what the list leaves: the bound is its logprob */
    r = parsed("{\"choices\":[{\"text\":\" yes\",\"logprobs\":{\"content\":[{\"token\":\" yes\",\"logprob\":-0.5,"
               "\"top_logprobs\":[{\"token\":\" yes\",\"logprob\":-0.5},{\"token\":\" The\",\"logprob\":-6}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, &info), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(p[1], exp(-6) / (exp(-0.5) + exp(-6)), 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(info.bound, -6, 0);
    qd_llm_reply_clear(&r);
}

static void test_near_misses_name_their_label(void)
{
    double p[2];
    qd_llm_label_info info;
    /* "Y", "Yes." and " yes" are yes; "N" and "no," are no; "\n" nothing */
    qd_llm_reply r = parsed(
        "{\"choices\":[{\"text\":\"Y\",\"logprobs\":{\"content\":[{\"token\":\"Y\",\"logprob\":-0.5,"
        "\"top_logprobs\":[{\"token\":\"Y\",\"logprob\":-0.5},{\"token\":\"Yes.\",\"logprob\":-1.5},"
        "{\"token\":\" yes\",\"logprob\":-2},{\"token\":\"N\",\"logprob\":-1},{\"token\":\"no,\",\"logprob\":-3},"
        "{\"token\":\"\\n\",\"logprob\":-4}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, (const char *const[]){"yes", "no"}, 2, p, &info), QD_OK);
    double yes = exp(-0.5) + exp(-1.5) + exp(-2), no = exp(-1) + exp(-3);
    CU_ASSERT_DOUBLE_EQUAL(p[0], yes / (yes + no), 1e-15);
    CU_ASSERT_EQUAL(info.bounded, 0);
    qd_llm_reply_clear(&r);
}

static void test_a_label_of_two_tokens_is_scored_whole(void)
{
    static const char *const moods[] = {"happy", "sad"};
    double p[2];
    qd_llm_label_info info;
    /* "sad" is " s" + "ad": the answer spells it, so its mass is
     * p(" s") p("ad" | " s"); "Sad" adds its own */
    qd_llm_reply r = parsed(
        "{\"choices\":[{\"text\":\" sad\",\"logprobs\":{\"content\":["
        "{\"token\":\" s\",\"logprob\":-0.3,\"top_logprobs\":[{\"token\":\" s\",\"logprob\":-0.3},"
        "{\"token\":\" happy\",\"logprob\":-1.5},{\"token\":\"Sad\",\"logprob\":-3}]},"
        "{\"token\":\"ad\",\"logprob\":-0.1,\"top_logprobs\":[{\"token\":\"ad\",\"logprob\":-0.1}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, moods, 2, p, &info), QD_OK);
    double sad = exp(-0.4) + exp(-3), happy = exp(-1.5);
    CU_ASSERT_DOUBLE_EQUAL(p[1], sad / (sad + happy), 1e-15);
    CU_ASSERT_EQUAL(info.bounded, 0);
    qd_llm_reply_clear(&r);
    /* the answer is " happy": " s" alone counts its own probability (an
     * upper bound of "sad"'s) */
    r = parsed("{\"choices\":[{\"text\":\" happy\",\"logprobs\":{\"content\":["
               "{\"token\":\" happy\",\"logprob\":-0.2,\"top_logprobs\":[{\"token\":\" happy\",\"logprob\":-0.2},"
               "{\"token\":\" s\",\"logprob\":-2}]},"
               "{\"token\":\".\",\"logprob\":-0.1,\"top_logprobs\":[{\"token\":\".\",\"logprob\":-0.1}]}]}}]}");
    CU_ASSERT_EQUAL(qd_llm_label_probs(&r, moods, 2, p, &info), QD_OK);
    CU_ASSERT_DOUBLE_EQUAL(p[0], exp(-0.2) / (exp(-0.2) + exp(-2)), 1e-15);
    qd_llm_reply_clear(&r);
}

static void test_rating_answers_are_read(void)
{
    double v = -1;
    CU_ASSERT_EQUAL(qd_llm_parse_rating(" 7", 0, 10, &v), QD_OK);
    CU_ASSERT_EQUAL(v, 7);
    CU_ASSERT_EQUAL(qd_llm_parse_rating("Rating: 8.5/10", 0, 10, &v), QD_OK);
    CU_ASSERT_EQUAL(v, 8.5);
    CU_ASSERT_EQUAL(qd_llm_parse_rating("I would say .5", 0, 10, &v), QD_OK);
    CU_ASSERT_EQUAL(v, 0.5);
    CU_ASSERT_EQUAL(qd_llm_parse_rating("eleven", 0, 10, &v), QD_ENOTFOUND);
    CU_ASSERT_EQUAL(qd_llm_parse_rating("12", 0, 10, &v), QD_EINVAL);
    CU_ASSERT_EQUAL(qd_llm_parse_rating("-3", 0, 10, &v), QD_EINVAL);
}

static void test_quantile_and_backoff_formulas(void)
{
    double v[20];
    for (int i = 0; i < 20; i++)
        v[i] = 20 - i; /* 20 .. 1, unsorted */
    CU_ASSERT_EQUAL(qdi_llm_quantile(v, 20, 0.95), 19); /* rank ceil(0.95 * 20) = 19 */
    CU_ASSERT_EQUAL(qdi_llm_quantile(v, 20, 0.5), 10);
    CU_ASSERT_EQUAL(qdi_llm_quantile(v, 1, 0.95), 1);
    CU_ASSERT_TRUE(isnan(qdi_llm_quantile(v, 0, 0.95)));
    /* base * 2^k capped, minus up to a jitter share */
    CU_ASSERT_EQUAL(qdi_llm_backoff(0.5, 30, 0, 0, 0.9), 0.5);
    CU_ASSERT_EQUAL(qdi_llm_backoff(0.5, 30, 0, 3, 0.9), 4.0);
    CU_ASSERT_EQUAL(qdi_llm_backoff(0.5, 30, 0, 10, 0.9), 30.0);
    CU_ASSERT_DOUBLE_EQUAL(qdi_llm_backoff(0.5, 30, 0.5, 2, 0.5), 2.0 * 0.75, 1e-15);
    CU_ASSERT_EQUAL(qdi_llm_backoff(0.5, 30, 1, 2, 0), 2.0);
}

/* ---- retries ----------------------------------------------------------- */

static qd_llm_request gen_request(void)
{
    qd_llm_request r = {0};
    r.endpoint = QD_LLM_COMPLETIONS;
    r.prompt = "Here is a random opinion piece about eating vegetables and plant-based foods:";
    r.temperature = 0.8;
    r.max_tokens = 50;
    r.seeded = 1;
    r.seed = 12;
    return r;
}

static void test_retries_back_off_exponentially_on_a_fake_clock(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", ", \"retries\": 6", &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qd_llm_stats st;
    /* a server error, a reply cut in the middle, a reply whose JSON is cut,
     * one with no choices, a stall past the timeout... then an answer */
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"500\"}, {\"kind\": \"cut\"}, {\"kind\": \"truncate\"}, "
                              "{\"kind\": \"wrong_shape\"}, {\"kind\": \"502\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    CU_ASSERT_TRUE(strlen(r.text) > 0);
    CU_ASSERT_EQUAL(clk.n, 5);
    CU_ASSERT_EQUAL(clk.sleeps[0], 0.5);
    CU_ASSERT_EQUAL(clk.sleeps[1], 1.0);
    CU_ASSERT_EQUAL(clk.sleeps[2], 2.0);
    CU_ASSERT_EQUAL(clk.sleeps[3], 4.0);
    CU_ASSERT_EQUAL(clk.sleeps[4], 8.0);
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.calls, 1);
    CU_ASSERT_EQUAL(st.requests, 6);
    CU_ASSERT_EQUAL(st.retries, 5);
    CU_ASSERT_EQUAL(st.failures, 0);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_HTTP_5XX], 2);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_DROPPED], 1);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_BAD_REPLY], 2);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "api_requests"), 6);
    qd_llm_reply_clear(&r);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void test_jitter_shortens_delays_within_bounds(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", ", \"retries\": 4, \"jitter\": 0.5", &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    int differ = 0;
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"500\"}, {\"kind\": \"500\"}, {\"kind\": \"500\"}, "
                              "{\"kind\": \"500\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    CU_ASSERT_EQUAL_FATAL(clk.n, 4);
    for (size_t i = 0; i < 4; i++) {
        double full = 0.5 * pow(2, (double)i);
        CU_ASSERT_TRUE(clk.sleeps[i] > full * 0.5 && clk.sleeps[i] <= full);
        differ += clk.sleeps[i] != full;
    }
    CU_ASSERT_TRUE(differ > 0);
    qd_llm_reply_clear(&r);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void test_retry_after_is_honoured_and_capped(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", ", \"retry_after_max\": 5", &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qd_llm_stats st;
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"429\", \"retry_after\": 3}, {\"kind\": \"503\", "
                              "\"retry_after\": 2}, {\"kind\": \"429\", \"retry_after\": 120}, {\"kind\": \"429\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    CU_ASSERT_EQUAL_FATAL(clk.n, 4);
    CU_ASSERT_EQUAL(clk.sleeps[0], 3.0);
    CU_ASSERT_EQUAL(clk.sleeps[1], 2.0);
    CU_ASSERT_EQUAL(clk.sleeps[2], 5.0); /* capped by retry_after_max */
    CU_ASSERT_EQUAL(clk.sleeps[3], 4.0); /* no Retry-After: the backoff of the 4th retry */
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_HTTP_429], 3);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_HTTP_5XX], 1);
    qd_llm_reply_clear(&r);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void test_client_errors_are_not_retried(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", NULL, &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qd_llm_stats st;
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"400\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_EHTTP);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s), "llm: HTTP 400 after 1 attempt: injected 400");
    CU_ASSERT_EQUAL(clk.n, 0);
    CU_ASSERT_PTR_NULL(r.text);
    /* a reply over the size cap is not retried either */
    qd_llm_session_free(s);
    qd_llm_free(llm);
    llm = client("test-openai", ", \"max_reply_bytes\": 4096", &clk);
    s = session(llm);
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"big\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_EHTTP);
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_llm_session_error(s), "larger than llm.max_reply_bytes (4096)"));
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_TOO_LARGE], 1);
    CU_ASSERT_EQUAL(st.requests, 1);
    CU_ASSERT_EQUAL(st.failures, 1);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void test_a_full_context_500_is_not_retried(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-llamacpp", NULL, &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qd_llm_stats st;
    long ctx;
    double per_char;
    /* llama.cpp's answer to a prompt longer than a slot's context: HTTP
     * 500, the same every time */
    qdt_server_control(&server, "{\"n_ctx\": 3}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_ETOOBIG);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s),
                           "llm: the prompt does not fit the model's context (HTTP 500, not retried) after 1 attempt: "
                           "Input prompt is too big compared to KV size. Please try increasing KV size.");
    CU_ASSERT_EQUAL(clk.n, 0);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "context_rejected"), 1);
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.requests, 1);
    CU_ASSERT_EQUAL(st.retries, 0);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_CONTEXT], 1);
    /* the context comes from llama.cpp's /props, asked once */
    qd_llm_context(s, &ctx, &per_char);
    CU_ASSERT_EQUAL(ctx, 3);
    CU_ASSERT_EQUAL(per_char, 0);
    qd_llm_context(s, &ctx, &per_char);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "props"), 1);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void test_a_bad_request_500_is_not_retried_but_a_transient_one_is(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-llamacpp", NULL, &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    long ctx;
    double per_char;
    /* llama.cpp answers n > 1 with a 500 that names the request's fault */
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"500\", \"message\": \"Only one completion choice is "
                                "allowed\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_EHTTP);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s), "llm: HTTP 500 after 1 attempt: Only one completion choice is "
                                                    "allowed");
    CU_ASSERT_EQUAL(clk.n, 0);
    /* a 500 that names no fault of the request is retried */
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"500\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    CU_ASSERT_EQUAL(clk.n, 1);
    /* every reply's usage.prompt_tokens teaches tokens per character;
     * no /props (the server does not serve one): the context is unknown */
    qd_llm_context(s, &ctx, &per_char);
    CU_ASSERT_EQUAL(ctx, 0);
    CU_ASSERT_DOUBLE_EQUAL(per_char, (double)r.prompt_tokens / (double)strlen(req.prompt), 1e-15);
    qd_llm_reply_clear(&r);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void test_retries_run_out(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", ", \"retries\": 2", &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qd_llm_stats st;
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"500\"}, {\"kind\": \"500\"}, {\"kind\": \"500\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_EHTTP);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s), "llm: HTTP 500 after 3 attempts: injected 500");
    CU_ASSERT_EQUAL(clk.n, 2);
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.failures, 1);
    CU_ASSERT_EQUAL(st.requests, 3);
    CU_ASSERT_EQUAL(st.retries, 2);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void test_stall_times_out_and_dropped_connection_retries(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", ", \"timeout\": 0.5", &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qd_llm_stats st;
    /* a fresh client: its first connection is new, so curl itself does not
     * retry the dropped one */
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"drop\"}, {\"kind\": \"stall\", \"seconds\": 2}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_DROPPED], 1);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_TIMEOUT], 1);
    CU_ASSERT_EQUAL(st.requests, 3);
    qd_llm_reply_clear(&r);
    /* every attempt stalls: a timeout error */
    qd_llm_session_free(s);
    qd_llm_free(llm);
    llm = client("test-openai", ", \"timeout\": 0.5, \"retries\": 1", &clk);
    s = session(llm);
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"stall\", \"seconds\": 2}, {\"kind\": \"stall\", "
                                "\"seconds\": 2}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_ETIMEOUT);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s), "llm: timed out after 2 attempts: Timeout was reached");
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

/* A job deadline (job_timeout) cuts a request short though the client's
 * own timeout is long, and no retry starts after it. */
static void test_job_deadline_cuts_requests_short(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", ", \"timeout\": 30, \"retries\": 5", &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    struct timespec t0, t1;
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"stall\", \"seconds\": 3}]}");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    qd_llm_session_set_deadline(s, (double)t0.tv_sec + 1e-9 * (double)t0.tv_nsec + 0.3);
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_ETIMEOUT);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    /* well under the stall and the client's 30 s (loose: a busy machine) */
    CU_ASSERT((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec) < 2.5);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s), "llm: no time left for attempt 2 before job_timeout");
    qd_llm_session_set_deadline(s, 0);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static void *cancel_later(void *arg)
{
    struct timespec t = {0, 200000000};
    nanosleep(&t, NULL);
    qd_llm_session_cancel(arg);
    return NULL;
}

/* A stop that gives the jobs up cancels their sessions from another
 * thread: a stalled request ends within about a second (not at the 30 s
 * timeout) and no retry starts. */
static void test_cancel_ends_a_stalled_request(void)
{
    qdt_clock clk = {0};
    qd_llm *llm = client("test-openai", ", \"timeout\": 30, \"retries\": 5", &clk);
    qd_llm_session *s = session(llm);
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    pthread_t th;
    struct timespec t0, t1;
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"stall\", \"seconds\": 4}]}");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&th, NULL, cancel_later, s), 0);
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_EINTR);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    pthread_join(th, NULL);
    CU_ASSERT((double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec) < 3.0);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s), "llm: cancelled: the job was given up after a stop");
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

/* Requests per base URL, from the accounting JSON. */
static void url_requests(const qd_llm *llm, double *out, size_t n)
{
    cJSON *o = cJSON_CreateObject();
    qd_llm_stats_json(llm, o);
    const cJSON *urls = cJSON_GetObjectItemCaseSensitive(o, "urls");
    for (size_t i = 0; i < n; i++)
        out[i] = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(urls, (int)i), "requests")->valuedouble;
    cJSON_Delete(o);
}

static void test_round_robin_skips_a_dead_url(void)
{
    qdt_clock clk = {0};
    char extra[256];
    double req_per_url[2];
    qd_llm_reply r;
    qd_llm_request req = gen_request();
    qdt_log log = {0};
    srv();
    snprintf(extra, sizeof extra, "{\"url\": [\"http://127.0.0.1:%d\", \"%s\"], \"model\": \"test-openai\", "
                                  "\"jitter\": 0, \"fail_after\": 2, \"skip_seconds\": 30}",
             qdt_dead_port(), server.url);
    qd_config *cfg = qdt_config(extra);
    qd_llm *llm = NULL;
    CU_ASSERT_EQUAL_FATAL(qd_llm_new(cfg, 1, &llm), QD_OK);
    qd_config_free(cfg);
    qdi_llm_set_clock(llm, qdt_clock_now, qdt_clock_sleep, &clk);
    qd_set_log_handler(qdt_log_line, &log);
    qd_llm_session *s = session(llm);
    for (int i = 0; i < 6; i++) {
        CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
        qd_llm_reply_clear(&r);
    }
    /* the dead URL was tried until it failed twice in a row, then skipped */
    url_requests(llm, req_per_url, 2);
    CU_ASSERT_EQUAL(req_per_url[0], 2);
    CU_ASSERT_EQUAL(req_per_url[1], 6);
    CU_ASSERT_EQUAL(log.lines, 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "failed 2 times in a row"));
    /* after skip_seconds it gets one more try */
    clk.t += 31;
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    qd_llm_reply_clear(&r);
    url_requests(llm, req_per_url, 2);
    CU_ASSERT_EQUAL(req_per_url[0], 3);
    CU_ASSERT_EQUAL(req_per_url[1], 7);
    qd_set_log_handler(NULL, NULL);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

typedef struct worker_arg {
    qd_llm *llm;
    unsigned id;
    int ok;
    const char *prompt;
    char text[512];
} worker_arg;

static void *worker(void *p)
{
    worker_arg *a = p;
    qd_llm_session *s = NULL;
    qd_llm_request req = gen_request();
    if (a->prompt)
        req.prompt = a->prompt;
    if (qd_llm_session_new(a->llm, a->id, &s) != QD_OK)
        return NULL;
    for (int i = 0; i < 3; i++) {
        qd_llm_reply r;
        if (qd_llm_complete(s, &req, &r) == QD_OK) {
            a->ok++;
            snprintf(a->text, sizeof a->text, "%s", r.text);
        }
        qd_llm_reply_clear(&r);
    }
    qd_llm_session_free(s);
    return NULL;
}

static void test_requests_in_flight_are_capped(void)
{
    qd_llm *llm = client("test-openai", ", \"max_in_flight\": 2", NULL);
    pthread_t t[6];
    worker_arg a[6];
    qdt_server_control(&server, "{\"latency\": 0.02}");
    for (unsigned i = 0; i < 6; i++) {
        a[i] = (worker_arg){llm, i, 0, NULL, ""};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    for (unsigned i = 0; i < 6; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(a[i].ok, 3);
    }
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "api_requests"), 18);
    CU_ASSERT_TRUE(qdt_server_stat(&server, "max_inflight") <= 2);
    qd_llm_free(llm);
}

/* ---- the API key ------------------------------------------------------- */

#define SECRET "sk-test-SECRET-0123456789abcdef"

static void test_key_is_sent_but_never_shown(void)
{
    qdt_clock clk = {0};
    qdt_log log = {0};
    char dir_cache[600], *dir = qdt_tmpdir(), *cache_text;
    qd_llm_reply r;
    qd_llm_request req = gen_request();
    setenv("ELITES_TEST_LLM_KEY", SECRET, 1);
    snprintf(dir_cache, sizeof dir_cache, ", \"api_key_env\": \"ELITES_TEST_LLM_KEY\", \"retries\": 1, "
                                          "\"cache\": \"%s/cache.jsonl\"", dir);
    qd_set_log_handler(qdt_log_line, &log);
    qd_llm *llm = client("test-openai", dir_cache, &clk);
    qd_llm_session *s = session(llm);
    qdt_server_control(&server, "{\"require_key\": \"" SECRET "\"}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    qd_llm_reply_clear(&r);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "auth_ok"), 1);
    /* a server that repeats the header in its error: the key is scrubbed */
    req.seed = 13;
    qdt_server_control(&server, "{\"faults\": [{\"kind\": \"echo_auth\"}]}");
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_EHTTP);
    CU_ASSERT_PTR_NULL(strstr(qd_llm_session_error(s), "SECRET"));
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_llm_session_error(s), "bad key: Bearer [redacted]"));
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_llm_session_error(s), "$ELITES_TEST_LLM_KEY"));
    /* a wrong key: the server's message quotes what it got */
    qdt_server_control(&server, "{\"require_key\": \"another\"}");
    req.seed = 14;
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_EHTTP);
    CU_ASSERT_PTR_NULL(strstr(qd_llm_session_error(s), "SECRET"));
    /* nothing the client wrote holds it: log, accounting, cache */
    cJSON *o = cJSON_CreateObject();
    qd_llm_stats_json(llm, o);
    char *stats = cJSON_Print(o);
    CU_ASSERT_PTR_NULL(strstr(stats, "SECRET"));
    free(stats);
    cJSON_Delete(o);
    qd_llm_session_free(s);
    qd_llm_free(llm);
    qd_set_log_handler(NULL, NULL);
    CU_ASSERT_PTR_NULL(strstr(log.text, "SECRET"));
    snprintf(dir_cache, sizeof dir_cache, "%s/cache.jsonl", dir);
    cache_text = qdt_slurp(dir_cache);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cache_text);
    CU_ASSERT_PTR_NOT_NULL(strstr(cache_text, "\"endpoint\":\"/completions\""));
    CU_ASSERT_PTR_NULL(strstr(cache_text, "SECRET"));
    free(cache_text);
    unsetenv("ELITES_TEST_LLM_KEY");
    qdt_rmdir(dir);
    free(dir);
}

static void test_redaction_catches_a_key_cut_short(void)
{
    char out[128];
    qdi_llm_redact(out, sizeof out, "key " SECRET " and again " SECRET ".", SECRET);
    CU_ASSERT_STRING_EQUAL(out, "key [redacted] and again [redacted].");
    qdi_llm_redact(out, sizeof out, "message ends inside sk-test-SEC", SECRET);
    CU_ASSERT_STRING_EQUAL(out, "message ends inside [redacted]");
    qdi_llm_redact(out, sizeof out, "no key here", NULL);
    CU_ASSERT_STRING_EQUAL(out, "no key here");
}

/* ---- configuration ----------------------------------------------------- */

static void expect_config_error(const char *json, const char *message)
{
    qd_config *cfg = qdt_config(json);
    qd_llm *llm = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(qd_llm_new(cfg, 1, &llm), QD_EINVAL);
    CU_ASSERT_PTR_NULL(llm);
    if (!strstr(qd_config_error(cfg), message))
        fprintf(stderr, "expected \"%s\" in \"%s\"\n", message, qd_config_error(cfg));
    CU_ASSERT_PTR_NOT_NULL(strstr(qd_config_error(cfg), message));
    qd_config_free(cfg);
}

static void test_config_errors_name_the_field(void)
{
    unsetenv("ELITES_LLM_URL");
    unsetenv("ELITES_LLM_MODEL");
    expect_config_error("{\"url\": \"http://x\", \"model\": \"m\", \"api_key\": \"sk-1\"}",
                        "api_key is not read from configs");
    expect_config_error("{\"model\": \"m\"}", "test.json: url is required");
    expect_config_error("{\"url\": \"ftp://x\", \"model\": \"m\"}",
                        "url must start with http:// or https://, got \"ftp://x\"");
    expect_config_error("{\"url\": [\"http://x\", 3], \"model\": \"m\"}", "url must be a string or a list");
    expect_config_error("{\"url\": \"http://x\"}", "model is required");
    expect_config_error("{\"url\": \"http://x\", \"model\": \"m\", \"replay\": true}", "replay needs llm.cache");
    expect_config_error("{\"url\": \"http://x\", \"model\": \"m\", \"jitter\": 2}", "jitter must be >= 0 and <= 1, got 2");
    expect_config_error("{\"url\": \"http://x\", \"model\": \"m\", \"retrys\": 2}", "retrys");
    expect_config_error("{\"model\": \"m\", \"replay\": true, \"cache\": \"/nonexistent/elites/c.jsonl\"}",
                        "cache cannot read /nonexistent/elites/c.jsonl");
}

/* ---- record / replay --------------------------------------------------- */

static void test_cache_records_then_replays_without_a_server(void)
{
    char *dir = qdt_tmpdir(), extra[600], cfgtext[900];
    char texts[4][512];
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qd_llm_stats st;
    snprintf(extra, sizeof extra, ", \"cache\": \"%s/c.jsonl\"", dir);
    qd_llm *llm = client("test-openai", extra, NULL);
    qd_llm_session *s = session(llm);
    for (int i = 0; i < 4; i++) {
        req.seed = (uint64_t)(100 + i);
        CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
        CU_ASSERT_EQUAL(r.from_cache, 0);
        snprintf(texts[i], sizeof texts[i], "%s", r.text);
        qd_llm_reply_clear(&r);
    }
    /* the same request again comes from the cache */
    req.seed = 101;
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    CU_ASSERT_EQUAL(r.from_cache, 1);
    CU_ASSERT_STRING_EQUAL(r.text, texts[1]);
    qd_llm_reply_clear(&r);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "api_requests"), 4);
    qd_llm_session_free(s);
    qd_llm_free(llm);
    /* replay against a dead port: every recorded request answers */
    snprintf(cfgtext, sizeof cfgtext, "{\"url\": \"http://127.0.0.1:%d/v1\", \"model\": \"test-openai\", "
                                      "\"replay\": true, \"cache\": \"%s/c.jsonl\"}", qdt_dead_port(), dir);
    qd_config *cfg = qdt_config(cfgtext);
    CU_ASSERT_EQUAL_FATAL(qd_llm_new(cfg, 1, &llm), QD_OK);
    qd_config_free(cfg);
    s = session(llm);
    for (int i = 3; i >= 0; i--) {
        req.seed = (uint64_t)(100 + i);
        CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
        CU_ASSERT_EQUAL(r.from_cache, 1);
        CU_ASSERT_STRING_EQUAL(r.text, texts[i]);
        qd_llm_reply_clear(&r);
    }
    req.seed = 99; /* never recorded */
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_ENOTFOUND);
    CU_ASSERT_STRING_EQUAL(qd_llm_session_error(s), "llm: replay: no recorded reply for this completions request "
                                                     "in llm.cache (the run asks what the recorded one did not)");
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.requests, 0);
    CU_ASSERT_EQUAL(st.cache_hits, 4);
    CU_ASSERT_EQUAL(st.errors[QD_LLM_ERR_REPLAY_MISS], 1);
    qd_llm_session_free(s);
    qd_llm_free(llm);
    qdt_rmdir(dir);
    free(dir);
}

static void test_cache_skips_a_cut_line_and_mends_the_file(void)
{
    char *dir = qdt_tmpdir(), path[600], extra[700], *text;
    qd_llm_request req = gen_request();
    qd_llm_reply r;
    qdt_log log = {0};
    FILE *fp;
    snprintf(path, sizeof path, "%s/c.jsonl", dir);
    fp = fopen(path, "w");
    fputs("{\"key\": \"0\", \"endpoint\": \"/completions\", \"request\": {\"model\"", fp); /* cut short */
    fclose(fp);
    qd_set_log_handler(qdt_log_line, &log);
    snprintf(extra, sizeof extra, ", \"cache\": \"%s\"", path);
    qd_llm *llm = client("test-openai", extra, NULL);
    qd_set_log_handler(NULL, NULL);
    CU_ASSERT_PTR_NOT_NULL(strstr(log.text, "skipped 1 unreadable line"));
    qd_llm_session *s = session(llm);
    CU_ASSERT_EQUAL(qd_llm_complete(s, &req, &r), QD_OK);
    qd_llm_reply_clear(&r);
    qd_llm_session_free(s);
    qd_llm_free(llm);
    text = qdt_slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    /* the new line starts on a line of its own */
    CU_ASSERT_PTR_NOT_NULL(strstr(text, "\"model\"\n{\"key\":\""));
    free(text);
    qdt_rmdir(dir);
    free(dir);
}

static void test_identical_requests_in_flight_ask_the_server_once(void)
{
    char *dir = qdt_tmpdir(), extra[600];
    pthread_t t[8];
    worker_arg a[8];
    snprintf(extra, sizeof extra, ", \"cache\": \"%s/c.jsonl\"", dir);
    qd_llm *llm = client("test-openai", extra, NULL);
    qdt_server_control(&server, "{\"latency\": 0.05}");
    for (unsigned i = 0; i < 8; i++) {
        a[i] = (worker_arg){llm, i, 0, NULL, ""};
        pthread_create(&t[i], NULL, worker, &a[i]);
    }
    for (unsigned i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        CU_ASSERT_EQUAL(a[i].ok, 3);
        CU_ASSERT_STRING_EQUAL(a[i].text, a[0].text);
    }
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "api_requests"), 1);
    qd_llm_free(llm);
    qdt_rmdir(dir);
    free(dir);
}

/* ---- embeddings -------------------------------------------------------- */

static void test_embeddings(void)
{
    qd_llm *llm = client("test-nousage", NULL, NULL);
    qd_llm_session *s = session(llm);
    double *a = NULL, *b = NULL, *c = NULL, norm = 0;
    size_t na = 0, nb = 0, nc = 0;
    qd_llm_stats st;
    CU_ASSERT_EQUAL(qd_llm_embed(s, "I love broccoli", &a, &na), QD_OK);
    CU_ASSERT_EQUAL(qd_llm_embed(s, "I love broccoli", &b, &nb), QD_OK);
    CU_ASSERT_EQUAL(qd_llm_embed(s, "soggy beans again", &c, &nc), QD_OK);
    CU_ASSERT_EQUAL_FATAL(na, 16);
    CU_ASSERT_EQUAL_FATAL(nb, 16);
    CU_ASSERT_EQUAL_FATAL(nc, 16);
    for (size_t i = 0; i < na; i++)
        norm += a[i] * a[i];
    CU_ASSERT_DOUBLE_EQUAL(norm, 1.0, 1e-12);
    CU_ASSERT_EQUAL(memcmp(a, b, 16 * sizeof *a), 0);
    CU_ASSERT_NOT_EQUAL(memcmp(a, c, 16 * sizeof *a), 0);
    qd_llm_stats_get(llm, &st);
    CU_ASSERT_EQUAL(st.no_usage, 3);
    CU_ASSERT_EQUAL(qdt_server_stat(&server, "api_requests"), 3);
    free(a);
    free(b);
    free(c);
    qd_llm_session_free(s);
    qd_llm_free(llm);
}

static const qdt_test tests[] = {
    {"every family's reply shape parses", test_every_family_reply_shape_parses},
    {"hand-made replies parse", test_hand_made_replies_parse},
    {"bad replies are refused with a reason", test_bad_replies_are_refused_with_a_reason},
    {"fuzz: a huge token count reads as unknown", test_fuzz_huge_token_count_reads_as_unknown},
    {"label probs merge variants and normalise", test_label_probs_merge_variants_and_normalise},
    {"label probs use the first position naming a label", test_label_probs_use_first_position_naming_a_label},
    {"an absent label gets the bound, not zero", test_an_absent_label_gets_the_bound_not_zero},
    {"near misses name their label", test_near_misses_name_their_label},
    {"a label of two tokens is scored whole", test_a_label_of_two_tokens_is_scored_whole},
    {"label prefixes count only when unambiguous", test_label_prefixes_count_only_when_unambiguous},
    {"rating answers are read", test_rating_answers_are_read},
    {"quantile and backoff formulas", test_quantile_and_backoff_formulas},
    {"retries back off exponentially on a fake clock", test_retries_back_off_exponentially_on_a_fake_clock},
    {"jitter shortens delays within bounds", test_jitter_shortens_delays_within_bounds},
    {"Retry-After is honoured and capped", test_retry_after_is_honoured_and_capped},
    {"client errors are not retried", test_client_errors_are_not_retried},
    {"retries run out", test_retries_run_out},
    {"a full-context 500 is not retried", test_a_full_context_500_is_not_retried},
    {"a bad-request 500 is not retried, a transient one is",
     test_a_bad_request_500_is_not_retried_but_a_transient_one_is},
    {"a stall times out and a dropped connection retries", test_stall_times_out_and_dropped_connection_retries},
    {"a job deadline cuts requests short", test_job_deadline_cuts_requests_short},
    {"cancel ends a stalled request", test_cancel_ends_a_stalled_request},
    {"round robin skips a dead URL", test_round_robin_skips_a_dead_url},
    {"requests in flight are capped", test_requests_in_flight_are_capped},
    {"the key is sent but never shown", test_key_is_sent_but_never_shown},
    {"redaction catches a key cut short", test_redaction_catches_a_key_cut_short},
    {"config errors name the field", test_config_errors_name_the_field},
    {"the cache records, then replays without a server", test_cache_records_then_replays_without_a_server},
    {"the cache skips a cut line and mends the file", test_cache_skips_a_cut_line_and_mends_the_file},
    {"identical requests in flight ask the server once", test_identical_requests_in_flight_ask_the_server_once},
    {"embeddings", test_embeddings},
    {NULL, NULL},
};

QDT_MAIN("llm", tests)
