/* test_qdhf_text.c - text QDHF: the built-in embedder
 * (evaluators/text_embedder.c) is deterministic, unit-length and puts
 * similar texts closer than unrelated ones; the qdhf evaluator learns a
 * measure from judgments keyed by text (built-in embedder, or
 * /v1/embeddings through the LLM client and the test server), saves and
 * reloads it with its IDF weights, and names a bad judgments line; the
 * shipped examples/qdhf-text.json runs against the test server, offline
 * and with online rounds judged by the LLM (and resumes the same). */
#include <math.h>
#include <string.h>
#include "evaluators/qdhf.h"
#include "src/search_internal.h"
#include "llmtest.h"

static double dot(const double *a, const double *b, size_t n)
{
    double s = 0;
    for (size_t i = 0; i < n; i++)
        s += a[i] * b[i];
    return s;
}

static void test_embedder_is_deterministic_and_unit_length(void)
{
    static const char *const corpus[] = {"the cat sat on the mat", "stocks fell on Monday", "a dog barked"};
    qdi_text_embedder e = {0}, f = {0};
    double a[128], b[128], z[128];
    CU_ASSERT_EQUAL_FATAL(qdi_text_embedder_fit(&e, 128, corpus, 3), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qdi_text_embedder_fit(&f, 128, corpus, 3), QD_OK);
    qdi_text_embed(&e, "The cat sat on the mat.", a);
    qdi_text_embed(&f, "The cat sat on the mat.", b);
    CU_ASSERT(!memcmp(a, b, sizeof a));
    CU_ASSERT_DOUBLE_EQUAL(dot(a, a, 128), 1.0, 1e-12);
    /* case and punctuation do not matter */
    qdi_text_embed(&e, "the CAT sat, on the mat", b);
    CU_ASSERT(!memcmp(a, b, sizeof a));
    /* no words: the zero vector */
    qdi_text_embed(&e, " ,.;! ", z);
    CU_ASSERT_EQUAL(dot(z, z, 128), 0.0);
    qdi_text_embedder_free(&e);
    qdi_text_embedder_free(&f);
}

static void test_similar_texts_embed_closer(void)
{
    static const char *const corpus[] = {
        "the cat sat on the mat",      "a cat sat on a mat",           "quarterly revenue grew strongly",
        "the dog chased the cat",      "bond yields rose this quarter", "the kitten slept on the mat",
    };
    qdi_text_embedder e = {0};
    double v[6][512];
    CU_ASSERT_EQUAL_FATAL(qdi_text_embedder_fit(&e, 512, corpus, 6), QD_OK);
    for (int i = 0; i < 6; i++)
        qdi_text_embed(&e, corpus[i], v[i]);
    CU_ASSERT(dot(v[0], v[1], 512) > dot(v[0], v[2], 512));
    CU_ASSERT(dot(v[0], v[5], 512) > dot(v[0], v[4], 512));
    CU_ASSERT(dot(v[2], v[4], 512) > dot(v[2], v[3], 512));
    /* word pieces: "cats" is nearer "cat" than "dog" is */
    double cat[512], cats[512], dog[512];
    qdi_text_embed(&e, "cat", cat);
    qdi_text_embed(&e, "cats", cats);
    qdi_text_embed(&e, "dog", dog);
    CU_ASSERT(dot(cat, cats, 512) > dot(cat, dog, 512));
    qdi_text_embedder_free(&e);
}

/* A text of 12 words, a fraction r of them about money, the rest animals. */
static void mixed_text(gsl_rng *rng, double r, char *out, size_t len)
{
    static const char *const animals[] = {"cat", "dog", "bird", "fish", "horse", "mouse", "lion", "tiger"};
    static const char *const money[] = {"stock", "bond", "market", "price", "trade", "bank", "fund", "loan"};
    size_t used = 0, k = (size_t)lround(12 * r);
    out[0] = '\0';
    for (size_t i = 0; i < 12; i++) {
        int m = gsl_rng_uniform(rng) * (12 - i) < (double)k;
        k -= (size_t)m;
        const char *w = m ? money[gsl_rng_uniform_int(rng, 8)] : animals[gsl_rng_uniform_int(rng, 8)];
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? " " : "", w);
    }
}

#define TEXT_CONFIG(extra)                                                                                           \
    "{\"type\": \"qdhf\", \"base\": {\"type\": \"command\", \"argv\": [\"/bin/true\"], \"genome\": \"text\","        \
    " \"measure_names\": [\"m\"], \"measure_lower\": 0, \"measure_upper\": 1}, \"features\": \"text\","              \
    " \"latent\": 1, \"embedding_dim\": 128, " extra "}"

/* Writes n judgments over mixed texts, answered from the mix fractions. */
static void write_judgments(const char *path, size_t n)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    FILE *fp = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    for (size_t i = 0; i < n; i++) {
        double r[3];
        char t[3][256];
        for (int j = 0; j < 3; j++) {
            r[j] = gsl_rng_uniform(rng);
            mixed_text(rng, r[j], t[j], sizeof t[j]);
        }
        fprintf(fp, "{\"ref\": \"%s\", \"x1\": \"%s\", \"x2\": \"%s\", \"closer\": %d}\n", t[0], t[1], t[2],
                fabs(r[0] - r[2]) < fabs(r[0] - r[1]) ? 2 : 1);
    }
    fclose(fp);
    gsl_rng_free(rng);
}

static double measure_of(const qd_evaluator *ev, const char *text)
{
    double z;
    qd_solution s = {.text = (char *)text, .measures = &z, .m = 1};
    CU_ASSERT_EQUAL(ev->type->remeasure(ev, &s, &z), QD_OK);
    return z;
}

static void test_measure_learned_from_text_judgments(void)
{
    char *dir = qdt_tmpdir(), path[600], json[2048], arch[600];
    qd_config *cfg, *c2;
    qd_evaluator *ev = NULL, *back = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/judgments.jsonl", dir);
    write_judgments(path, 600);
    snprintf(json, sizeof json, TEXT_CONFIG("\"judgments_file\": \"%s\""), path);
    cfg = qdt_config(json);
    if (qd_evaluator_new(cfg, &ev) != QD_OK)
        fprintf(stderr, "%s\n", qd_config_error(cfg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    CU_ASSERT_EQUAL(ev->space.kind, QD_GENOME_TEXT);
    const cJSON *learned = cJSON_GetObjectItem(qd_config_json(cfg), "learned");
    /* measured 0.873 on 150 validation judgments; chance is 0.5 */
    CU_ASSERT(cJSON_GetObjectItem(learned, "validation_accuracy")->valuedouble > 0.75);
    /* the measure orders texts by their mix, one way or the other */
    double all_animals = measure_of(ev, "cat dog bird fish horse mouse lion tiger cat dog bird fish");
    double half = measure_of(ev, "cat stock dog bond bird market fish price horse trade mouse bank");
    double all_money = measure_of(ev, "stock bond market price trade bank fund loan stock bond market price");
    CU_ASSERT((all_animals < half && half < all_money) || (all_animals > half && half > all_money));
    /* saved with its IDF weights and reloaded, it measures the same */
    cJSON *d = cJSON_CreateObject();
    CU_ASSERT_EQUAL_FATAL(ev->type->describe(ev, d), QD_OK);
    char *text = cJSON_Print(d);
    snprintf(arch, sizeof arch, "%s/projection.json", dir);
    FILE *fp = fopen(arch, "w");
    fputs(text, fp);
    fclose(fp);
    free(text);
    cJSON_Delete(d);
    snprintf(json, sizeof json, TEXT_CONFIG("\"projection_file\": \"%s\""), arch);
    c2 = qdt_config(json);
    if (qd_evaluator_new(c2, &back) != QD_OK)
        fprintf(stderr, "%s\n", qd_config_error(c2));
    CU_ASSERT_PTR_NOT_NULL_FATAL(back);
    CU_ASSERT_EQUAL(measure_of(back, "a cat and a bank"), measure_of(ev, "a cat and a bank"));
    qd_evaluator_free(ev);
    qd_evaluator_free(back);
    qd_config_free(cfg);
    qd_config_free(c2);
    /* a bad line is named with its file and number */
    fp = fopen(path, "a");
    fputs("{\"ref\": \"a cat\", \"x1\": 3, \"x2\": \"a dog\", \"closer\": 1}\n", fp);
    fclose(fp);
    snprintf(json, sizeof json, TEXT_CONFIG("\"judgments_file\": \"%s\""), path);
    cfg = qdt_config(json);
    CU_ASSERT_EQUAL(qd_evaluator_new(cfg, &ev), QD_EINVAL);
    char want[1024];
    snprintf(want, sizeof want, "test.json: judgments_file %s line 601: \"x1\" must be a text", path);
    CU_ASSERT_STRING_EQUAL(qd_config_error(cfg), want);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_measure_learned_from_llm_embeddings(void)
{
    char *dir = qdt_tmpdir(), path[600], json[4096];
    qdt_server srv;
    qd_config *cfg, *lc, *ec;
    qd_llm *llm = NULL;
    qd_evaluator *ev = NULL;
    qd_worker w = {0};
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(qdt_server_start(&srv, NULL, NULL), 0);
    snprintf(path, sizeof path, "%s/judgments.jsonl", dir);
    write_judgments(path, 300);
    snprintf(json, sizeof json,
             "{\"llm\": {\"url\": \"%s\", \"model\": \"m\"}, \"evaluator\": {\"type\": \"qdhf\", \"base\":"
             " {\"type\": \"command\", \"argv\": [\"/bin/true\"], \"genome\": \"text\", \"measure_names\": [\"m\"],"
             " \"measure_lower\": 0, \"measure_upper\": 1}, \"features\": \"embeddings\", \"latent\": 1,"
             " \"judgments_file\": \"%s\"}}",
             srv.url, path);
    cfg = qdt_config(json);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    qd_config_object(cfg, "llm", 1, &lc);
    qd_config_object(cfg, "evaluator", 1, &ec);
    CU_ASSERT_EQUAL_FATAL(qd_llm_new(lc, 1, &llm), QD_OK);
    if (qdi_evaluator_new(ec, llm, 1, &ev) != QD_OK)
        fprintf(stderr, "%s\n", qd_config_error(cfg));
    CU_ASSERT_PTR_NOT_NULL_FATAL(ev);
    const qdhf *q = ev->state;
    CU_ASSERT_EQUAL(q->d, 16); /* the test server's embeddings */
    CU_ASSERT_EQUAL(q->n, 300);
    /* the server hashes words into 16 buckets: the mix is learnable */
    const cJSON *learned = cJSON_GetObjectItem(qd_config_json(ec), "learned");
    CU_ASSERT(cJSON_GetObjectItem(learned, "validation_accuracy")->valuedouble > 0.7);
    /* a worker embeds a candidate through its own session */
    double z = NAN;
    qd_solution sol = {.text = "stock bond market price", .measures = &z, .m = 1};
    CU_ASSERT_EQUAL_FATAL(qd_llm_session_new(llm, 1, &w.llm), QD_OK);
    w.rng = gsl_rng_alloc(gsl_rng_mt19937);
    CU_ASSERT_EQUAL_FATAL(ev->type->worker_init(ev, &w), QD_OK);
    qdhf_worker *qw = w.eval_state;
    CU_ASSERT_EQUAL(qdi_qdhf_solution_features(q, &sol, w.llm, qw->f, w.error, sizeof w.error), QD_OK);
    CU_ASSERT_EQUAL(ev->type->remeasure(ev, &sol, &z), QD_OK);
    CU_ASSERT(isfinite(z));
    ev->type->worker_fini(ev, &w);
    gsl_rng_free(w.rng);
    qd_llm_session_free(w.llm);
    qd_evaluator_free(ev);
    qd_llm_free(llm);
    qd_config_free(cfg);
    qdt_server_stop(&srv);
    qdt_rmdir(dir);
    free(dir);
}

/* examples/qdhf-text.json shortened to 6 iterations, the test server at
 * url writing the opinions and judging them; extra: one more --set or NULL. */
static qd_search *shipped_text_example(const char *url, const char *extra, qd_config **cfg)
{
    const char *src = getenv("ELITES_SRCDIR");
    char path[1024], set[1200], err[512];
    qd_search *s = NULL;
    snprintf(path, sizeof path, "%s/examples/qdhf-text.json", src && *src ? src : ".");
    CU_ASSERT_EQUAL_FATAL(qd_config_load_file(path, cfg, err, sizeof err), QD_OK);
    snprintf(set, sizeof set, "evaluator.judgments_file=%s/examples/qdhf-text-judgments.jsonl",
             src && *src ? src : ".");
    CU_ASSERT_EQUAL_FATAL(qd_config_set(*cfg, set), QD_OK);
    snprintf(set, sizeof set, "llm.url=%s", url);
    CU_ASSERT_EQUAL_FATAL(qd_config_set(*cfg, set), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_config_set(*cfg, "llm.model=test-openai"), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_config_set(*cfg, "iterations=6"), QD_OK);
    if (extra)
        for (const char *e = extra; *e; e += strlen(e) + 1) /* NUL-separated assignments */
            CU_ASSERT_EQUAL_FATAL(qd_config_set(*cfg, e), QD_OK);
    if (qd_search_new(*cfg, &s) != QD_OK)
        fprintf(stderr, "%s\n", qd_config_error(*cfg));
    return s;
}

static void test_online_text_rounds_judged_by_the_llm(void)
{
    static const char extra[] = "evaluator.mode=online\0evaluator.schedule=[1, 3, 5]\0evaluator.triplets=20\0";
    char *dir = qdt_tmpdir(), note[256];
    qd_config *c0, *c1, *c2;
    qdt_server srv;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(qdt_server_start(&srv, NULL, NULL), 0);
    qd_search *whole = shipped_text_example(srv.url, extra, &c0), *first, *second;
    CU_ASSERT_PTR_NOT_NULL_FATAL(whole);
    while (!qd_search_done(whole))
        CU_ASSERT_EQUAL_FATAL(qd_search_step(whole), QD_OK);
    /* the file's 120, then 20 LLM judgments before iterations 3 and 5 */
    const qdhf *q = whole->ev->state;
    CU_ASSERT_EQUAL(q->n, 160);
    CU_ASSERT_EQUAL_FATAL(cJSON_GetArraySize(q->rounds), 3);
    const cJSON *r = cJSON_GetArrayItem(q->rounds, 2);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(r, "iteration")->valuedouble, 5);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(r, "llm_judged")->valuedouble, 20);
    CU_ASSERT_EQUAL(cJSON_GetObjectItem(r, "llm_failed")->valuedouble, 0);
    CU_ASSERT(!isnan(whole->history[2].rebuild_coverage_after)); /* iteration 3 rebuilt */
    /* stopped after iteration 4 and resumed: the same run */
    first = shipped_text_example(srv.url, extra, &c1);
    CU_ASSERT_PTR_NOT_NULL_FATAL(first);
    while (qd_search_counts(first)->iterations < 4)
        CU_ASSERT_EQUAL_FATAL(qd_search_step(first), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_search_checkpoint(first, dir), QD_OK);
    qd_search_free(first);
    qd_config_free(c1);
    second = shipped_text_example(srv.url, extra, &c2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(second);
    CU_ASSERT_EQUAL_FATAL(qd_search_resume(second, dir, note, sizeof note), QD_OK);
    while (!qd_search_done(second))
        CU_ASSERT_EQUAL_FATAL(qd_search_step(second), QD_OK);
    const qdhf *q2 = second->ev->state;
    CU_ASSERT_EQUAL(q2->n, 160);
    CU_ASSERT(!memcmp(q->proj.W, q2->proj.W, q->k * q->d * sizeof *q->proj.W));
    const qd_archive *x = qd_search_archive(whole), *y = qd_search_archive(second);
    CU_ASSERT_EQUAL_FATAL(qd_archive_filled(x), qd_archive_filled(y));
    for (size_t i = 0; i < qd_archive_filled(x); i++) {
        qd_elite e, f;
        qd_archive_elite_at(x, i, &e);
        qd_archive_elite_at(y, i, &f);
        CU_ASSERT(e.objective == f.objective && !strcmp(e.text, f.text));
    }
    qd_search_free(whole);
    qd_search_free(second);
    qd_config_free(c0);
    qd_config_free(c2);
    qdt_server_stop(&srv);
    qdt_rmdir(dir);
    free(dir);
}

static void test_shipped_text_example_runs_against_the_test_server(void)
{
    qd_config *cfg = NULL;
    qdt_server srv;
    CU_ASSERT_EQUAL_FATAL(qdt_server_start(&srv, NULL, NULL), 0);
    qd_search *s = shipped_text_example(srv.url, NULL, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    while (!qd_search_done(s))
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
    /* the shipped judgments: 120, learned well above chance (measured 0.867
     * on the 30 held out) */
    const qdhf *q = s->ev->state;
    CU_ASSERT_EQUAL(q->n, 120);
    CU_ASSERT_EQUAL(q->features, QDHF_FEATURES_TEXT);
    const cJSON *learned = cJSON_GetObjectItem(qd_config_json(cfg), "evaluator");
    learned = cJSON_GetObjectItem(learned, "learned");
    CU_ASSERT(cJSON_GetObjectItem(learned, "validation_accuracy")->valuedouble > 0.75);
    CU_ASSERT_STRING_EQUAL(s->ev->space.measure_names[0], "learned_0");
    /* the opinions landed in more than one learned cell */
    CU_ASSERT(qd_archive_filled(qd_search_archive(s)) > 3);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_server_stop(&srv);
}

static void test_text_config_errors_name_the_field(void)
{
    static const struct {
        const char *json, *msg;
    } cases[] = {
        {TEXT_CONFIG("\"triplets\": 10"),
         "test.json: features \"text\" learns offline from a judgments_file (or loads a projection_file)"},
        {"{\"type\": \"qdhf\", \"base\": {\"type\": \"arm\"}, \"features\": \"text\", \"judgments_file\": \"x\"}",
         "test.json: features \"text\" needs a base with a text genome"},
        {TEXT_CONFIG("\"mode\": \"online\", \"judgments_file\": \"x\""),
         "test.json: mode \"online\" with text features needs the run's \"llm\" section (an LLM judges the later "
         "rounds)"},
        {TEXT_CONFIG("\"mode\": \"online\", \"triplets\": 10"),
         "test.json: features \"text\" learns offline from a judgments_file (or loads a projection_file); online, its "
         "first round is a judgments_file"},
    };
    for (size_t i = 0; i < QDI_ARRAY_LEN(cases); i++) {
        qd_config *c = qdt_config(cases[i].json);
        qd_evaluator *ev = NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(qd_evaluator_new(c, &ev), QD_EINVAL);
        if (strcmp(qd_config_error(c), cases[i].msg))
            fprintf(stderr, "\n  got:    %s\n  wanted: %s\n", qd_config_error(c), cases[i].msg);
        CU_ASSERT_STRING_EQUAL(qd_config_error(c), cases[i].msg);
        qd_config_free(c);
    }
}

static const qdt_test tests[] = {
    {"embedder is deterministic and unit length", test_embedder_is_deterministic_and_unit_length},
    {"similar texts embed closer", test_similar_texts_embed_closer},
    {"measure learned from text judgments", test_measure_learned_from_text_judgments},
    {"measure learned from llm embeddings", test_measure_learned_from_llm_embeddings},
    {"text config errors name the field", test_text_config_errors_name_the_field},
    {"shipped text example runs against the test server", test_shipped_text_example_runs_against_the_test_server},
    {"online text rounds judged by the llm", test_online_text_rounds_judged_by_the_llm},
    {NULL, NULL},
};

QDT_MAIN("qdhf_text", tests)
