/* test_llmatic.c - the LLMatic mutator and its prompt archive: the
 * archive's updates on a hand-made sequence of outcomes (curiosity,
 * temperature moves and clipping, selection of the most curious, child
 * temperatures, a JSON round-trip), an LLMatic run through the test server
 * (mutation and crossover, every failure for a reason of the mutator's or
 * the size limits, the prompt archive's counts matching the run's,
 * prompts.json / prompts.csv),
 * 1 and 2 workers giving the same run, a stopped and resumed run equal
 * byte for byte to an uninterrupted one, and PyTorch genomes through the
 * server's module rule. */
#include <math.h>
#include "llmtest.h"
#include "evaluators/nas.h"
#include "mutators/prompt_archive.h"

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

static char *file_in(const char *dir, const char *name)
{
    char path[1400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return qdt_slurp(path);
}

/* ---- the prompt archive ------------------------------------------------ */

static void test_prompt_archive_updates_on_a_hand_made_sequence(void)
{
    qdi_prompt_archive pa, back;
    const char *cross[] = {qdi_llmatic_crossover};
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    char err[256];
    CU_ASSERT_EQUAL_FATAL(qdi_prompt_archive_init(&pa, qdi_llmatic_instructions, 13, cross, 1, 0.6), QD_OK);
    CU_ASSERT_EQUAL(pa.n, 14);
    CU_ASSERT_TRUE(pa.prompts[13].crossover && !pa.prompts[12].crossover);
    CU_ASSERT_STRING_EQUAL(pa.prompts[0].text, "Add a layer to improve the above network");
    /* all at curiosity 0: top 1 is the first of the kind */
    CU_ASSERT_EQUAL(qdi_prompt_archive_pick(&pa, 0, 1, r), 0);
    CU_ASSERT_EQUAL(qdi_prompt_archive_pick(&pa, 1, 3, r), 13);
    /* prompt 4: success, success, failure */
    qdi_prompt_archive_update(&pa, 4, 1);
    qdi_prompt_archive_update(&pa, 4, 1);
    qdi_prompt_archive_update(&pa, 4, 0);
    CU_ASSERT_DOUBLE_EQUAL(pa.prompts[4].curiosity, 1.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(pa.prompts[4].temperature, 0.65, 1e-12);
    CU_ASSERT_EQUAL(pa.prompts[4].uses, 3);
    CU_ASSERT_EQUAL(pa.prompts[4].successes, 2);
    /* prompt 7: one success; prompt 0: one failure (below the untried) */
    qdi_prompt_archive_update(&pa, 7, 1);
    qdi_prompt_archive_update(&pa, 0, 0);
    CU_ASSERT_DOUBLE_EQUAL(pa.prompts[0].curiosity, -0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(pa.prompts[0].temperature, 0.55, 1e-12);
    CU_ASSERT_EQUAL(qdi_prompt_archive_pick(&pa, 0, 1, r), 4);
    /* the top 3 are 4, 7 and 1 (the first untried); never 0 */
    int seen[14] = {0};
    for (int i = 0; i < 300; i++)
        seen[qdi_prompt_archive_pick(&pa, 0, 3, r)]++;
    CU_ASSERT_TRUE(seen[4] > 0 && seen[7] > 0 && seen[1] > 0);
    CU_ASSERT_EQUAL(seen[4] + seen[7] + seen[1], 300);
    /* clipping: twenty successes reach 1.0, thirty failures 0.1 */
    for (int i = 0; i < 20; i++)
        qdi_prompt_archive_update(&pa, 7, 1);
    CU_ASSERT_DOUBLE_EQUAL(pa.prompts[7].temperature, 1.0, 0);
    for (int i = 0; i < 30; i++)
        qdi_prompt_archive_update(&pa, 2, 0);
    CU_ASSERT_DOUBLE_EQUAL(pa.prompts[2].temperature, 0.1, 0);
    CU_ASSERT_DOUBLE_EQUAL(pa.prompts[2].curiosity, -15, 1e-12);
    /* a child's temperature: the parent's +- 0.1, clipped */
    for (int i = 0; i < 200; i++) {
        double t4 = qdi_prompt_archive_child_temperature(&pa, 4, r);
        double t7 = qdi_prompt_archive_child_temperature(&pa, 7, r);
        double t2 = qdi_prompt_archive_child_temperature(&pa, 2, r);
        CU_ASSERT_TRUE(t4 >= 0.55 - 1e-12 && t4 <= 0.75 + 1e-12);
        CU_ASSERT_TRUE(t7 >= 0.9 - 1e-12 && t7 <= 1.0);
        CU_ASSERT_TRUE(t2 >= 0.1 && t2 <= 0.2 + 1e-12);
    }
    /* JSON round-trip: exact */
    cJSON *j = qdi_prompt_archive_json(&pa);
    char *text = cJSON_Print(j);
    cJSON *parsed = cJSON_Parse(text);
    CU_ASSERT_EQUAL_FATAL(qdi_prompt_archive_init(&back, qdi_llmatic_instructions, 13, cross, 1, 0.6), QD_OK);
    CU_ASSERT_EQUAL(qdi_prompt_archive_load(&back, parsed, err, sizeof err), QD_OK);
    for (size_t i = 0; i < 14; i++) {
        CU_ASSERT_EQUAL(back.prompts[i].temperature, pa.prompts[i].temperature);
        CU_ASSERT_EQUAL(back.prompts[i].curiosity, pa.prompts[i].curiosity);
        CU_ASSERT_EQUAL(back.prompts[i].uses, pa.prompts[i].uses);
        CU_ASSERT_EQUAL(back.prompts[i].successes, pa.prompts[i].successes);
    }
    qdi_prompt_archive_free(&back);
    /* another prompt list is refused, naming the prompt */
    CU_ASSERT_EQUAL_FATAL(qdi_prompt_archive_init(&back, qdi_llmatic_instructions + 1, 12, cross, 1, 0.6), QD_OK);
    CU_ASSERT_EQUAL(qdi_prompt_archive_load(&back, parsed, err, sizeof err), QD_EFORMAT);
    CU_ASSERT_STRING_EQUAL(err, "prompt archive: expected a list of 13 prompts, got 14");
    qdi_prompt_archive_free(&back);
    const char *two[] = {qdi_llmatic_crossover, "Combine them"};
    CU_ASSERT_EQUAL_FATAL(qdi_prompt_archive_init(&back, qdi_llmatic_instructions + 1, 12, two, 2, 0.6), QD_OK);
    CU_ASSERT_EQUAL(qdi_prompt_archive_load(&back, parsed, err, sizeof err), QD_EFORMAT);
    CU_ASSERT_STRING_EQUAL(err, "prompt archive: prompt 0 is not \"Delete a layer to improve the above network\"");
    qdi_prompt_archive_free(&back);
    cJSON_Delete(parsed);
    cJSON_Delete(j);
    free(text);
    qdi_prompt_archive_free(&pa);
    gsl_rng_free(r);
}

/* ---- runs through the test server -------------------------------------- */

static void llmatic_config(char *buf, size_t n, const char *url, long workers, long iterations, const char *extra)
{
    snprintf(buf, n,
             "{\"name\": \"llmatic-test\", \"seed\": 5, \"iterations\": %ld, \"workers\": %ld, "
             "\"llm\": {\"url\": \"%s\", \"model\": \"test-openai\"}, "
             "\"evaluator\": {\"type\": \"nas\", \"data\": \"digits\", \"epochs\": 1, \"batch_size\": 64, "
             "\"max_params\": 100000, \"max_flops\": 400000}, "
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 6}, {\"bins\": 6}]}, "
             "\"mutators\": [{\"type\": \"llmatic\", \"batch\": 4%s}]}",
             iterations, workers, url, extra ? extra : "");
}

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

static int allowed_reason(const char *why)
{
    return strcmp(why, "llmatic: the reply holds no network") == 0 ||
           strcmp(why, "llmatic: the reply repeats a parent network") == 0 ||
           strncmp(why, "llmatic: the reply's network: line ", 35) == 0 ||
           strncmp(why, "nas: network: ", 14) == 0 || strncmp(why, "network: ", 9) == 0;
}

static void test_llmatic_run_mutates_and_crosses_over_through_the_server(void)
{
    char json[4096], *dir = qdt_tmpdir();
    qd_config *cfg;
    llmatic_config(json, sizeof json, srv()->url, 2, 10, NULL);
    qd_search *s = run(json, dir, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const qd_archive *a = qd_search_archive(s);
    const qd_counts *c = qd_search_counts(s);
    CU_ASSERT_EQUAL(c->asked, 40);
    CU_ASSERT_EQUAL(c->evaluated + c->failed, 40);
    CU_ASSERT_TRUE(qd_archive_filled(a) >= 3);
    CU_ASSERT_TRUE(c->failed > 0);
    for (size_t k = 0; k < qd_search_failure_kinds(s); k++) {
        uint64_t nk;
        const char *why = qd_search_failure_kind(s, k, &nk);
        if (!allowed_reason(why))
            fprintf(stderr, "\n  unexpected failure: %s\n", why);
        CU_ASSERT_TRUE(allowed_reason(why));
    }
    /* children of both operators entered the archive, each with its lineage */
    int mutations = 0, crossovers = 0;
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite e;
        qdi_nas_net net;
        char err[256];
        qd_archive_elite_at(a, i, &e);
        CU_ASSERT_EQUAL(qdi_nas_parse(e.text, &net, err, sizeof err), QD_OK);
        qdi_nas_free(&net);
        CU_ASSERT_PTR_NOT_NULL_FATAL(e.lineage);
        mutations += strstr(e.lineage, "\"op\":\"mutation\",\"prompt\":") != NULL;
        crossovers += strstr(e.lineage, "\"op\":\"crossover\",\"prompt\":13,") != NULL;
        if (strstr(e.lineage, "\"op\":\"seed\""))
            continue;
        CU_ASSERT_PTR_NOT_NULL(strstr(e.lineage, "\"temperature\":"));
        CU_ASSERT_PTR_NOT_NULL(strstr(e.lineage, "\"seed\":"));
    }
    CU_ASSERT_TRUE(mutations > 0);
    CU_ASSERT_TRUE(crossovers > 0);
    /* the prompt archive saw every LLM child (the first job is the seed):
     * uses = 39, successes = children inserted */
    char *pj = file_in(dir, "prompts.json"), *pc = file_in(dir, "prompts.csv");
    CU_ASSERT_PTR_NOT_NULL_FATAL(pj);
    CU_ASSERT_PTR_NOT_NULL_FATAL(pc);
    cJSON *o = cJSON_Parse(pj), *p;
    double uses = 0, wins = 0;
    int n = 0;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(o, "prompts"))
    {
        double t = cJSON_GetObjectItemCaseSensitive(p, "temperature")->valuedouble;
        uses += cJSON_GetObjectItemCaseSensitive(p, "uses")->valuedouble;
        wins += cJSON_GetObjectItemCaseSensitive(p, "successes")->valuedouble;
        CU_ASSERT_TRUE(t >= 0.1 && t <= 1.0);
        n++;
    }
    CU_ASSERT_EQUAL(n, 14);
    if (uses != 39 || !crossovers) {
        fprintf(stderr, "\n  uses %g, wins %g, new %llu, improved %llu, crossovers %d\n%s\n", uses, wins,
                (unsigned long long)c->new_cells, (unsigned long long)c->improved, crossovers, pj);
        for (size_t k = 0; k < qd_search_failure_kinds(s); k++) {
            uint64_t nk;
            const char *why = qd_search_failure_kind(s, k, &nk);
            fprintf(stderr, "  %llu x %s\n", (unsigned long long)nk, why);
        }
    }
    CU_ASSERT_EQUAL(uses, 39);
    /* a success is a child that entered the archive as its batch was added
     * (two in one cell both count): at least the insertions, at most the
     * children evaluated */
    CU_ASSERT_TRUE(wins >= (double)(c->new_cells + c->improved - 1) && wins <= (double)(c->evaluated - 1));
    CU_ASSERT_PTR_NOT_NULL(strstr(pc, "index,kind,temperature,curiosity,uses,successes,prompt\n0,mutation,"));
    CU_ASSERT_PTR_NOT_NULL(strstr(pc, ",Combine the above two neural networks and create a third neural network\n"));
    cJSON_Delete(o);
    free(pj);
    free(pc);
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_one_and_two_workers_give_the_same_run(void)
{
    char json[4096], *one = qdt_tmpdir(), *two = qdt_tmpdir();
    static const char *const names[] = {"archive.csv", "prompts.json", "failures.jsonl"};
    qd_config *cfg;
    qd_search *s;
    llmatic_config(json, sizeof json, srv()->url, 1, 6, NULL);
    s = run(json, one, &cfg);
    qd_search_free(s);
    qd_config_free(cfg);
    llmatic_config(json, sizeof json, srv()->url, 2, 6, NULL);
    s = run(json, two, &cfg);
    qd_search_free(s);
    qd_config_free(cfg);
    for (size_t i = 0; i < QDI_ARRAY_LEN(names); i++) {
        char *a = file_in(one, names[i]), *b = file_in(two, names[i]);
        CU_ASSERT_PTR_NOT_NULL(a);
        CU_ASSERT_TRUE(a && b && strcmp(a, b) == 0);
        free(a);
        free(b);
    }
    qdt_rmdir(one);
    qdt_rmdir(two);
    free(one);
    free(two);
}

static void test_resumed_run_is_byte_identical(void)
{
    char json[4096], *dir = qdt_tmpdir(), straight[1200], stopped[1200], note[256];
    static const char *const names[] = {"archive.csv", "prompts.json", "prompts.csv", "failures.jsonl"};
    qd_config *cfg;
    qd_search *s;
    snprintf(straight, sizeof straight, "%s/straight", dir);
    snprintf(stopped, sizeof stopped, "%s/stopped", dir);
    llmatic_config(json, sizeof json, srv()->url, 2, 8, NULL);
    s = run(json, straight, &cfg);
    qd_search_free(s);
    qd_config_free(cfg);
    /* 3 iterations, a checkpoint, then a new search resumed from it */
    cfg = qdt_config(json);
    CU_ASSERT_EQUAL_FATAL(qd_search_new(cfg, &s), QD_OK);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
    CU_ASSERT_EQUAL(qd_search_save(s, stopped), QD_OK);
    CU_ASSERT_EQUAL(qd_search_checkpoint(s, stopped), QD_OK);
    qd_search_free(s);
    qd_config_free(cfg);
    cfg = qdt_config(json);
    CU_ASSERT_EQUAL_FATAL(qd_search_new(cfg, &s), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_search_resume(s, stopped, note, sizeof note), QD_OK);
    CU_ASSERT_EQUAL(qd_search_counts(s)->iterations, 3);
    while (!qd_search_done(s))
        CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
    CU_ASSERT_EQUAL(qd_search_save(s, stopped), QD_OK);
    qd_search_free(s);
    qd_config_free(cfg);
    for (size_t i = 0; i < QDI_ARRAY_LEN(names); i++) {
        char *a = file_in(straight, names[i]), *b = file_in(stopped, names[i]);
        CU_ASSERT_PTR_NOT_NULL(a);
        if (!(a && b && strcmp(a, b) == 0))
            fprintf(stderr, "\n  %s differs after the resume\n", names[i]);
        CU_ASSERT_TRUE(a && b && strcmp(a, b) == 0);
        free(a);
        free(b);
    }
    qdt_rmdir(dir);
    free(dir);
}

/* PyTorch genomes through the server's module rule, scored by a stdlib
 * stand-in for the trainer (objective: Linear layers; measures: Conv2d and
 * hidden widths over 256), so no torch is needed. */
static void test_pytorch_genomes_through_the_server(void)
{
    char json[4096], *dir = qdt_tmpdir(), prog[1200];
    qd_config *cfg;
    FILE *fp;
    snprintf(prog, sizeof prog, "%s/score.py", dir);
    fp = fopen(prog, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fp);
    fputs("import json, re, sys\n"
          "for line in sys.stdin:\n"
          "    r = json.loads(line)\n"
          "    t = r['text']\n"
          "    w = max(int(v) for v in re.findall(r'nn\\.Linear\\(\\d+, (\\d+)\\)', t))\n"
          "    out = {'id': r['id'], 'objective': t.count('nn.Linear'),\n"
          "           'measures': [min(t.count('nn.Conv2d'), 4) / 4, min(w, 256) / 256]}\n"
          "    print(json.dumps(out), flush=True)\n",
          fp);
    fclose(fp);
    snprintf(json, sizeof json,
             "{\"name\": \"llmatic-pytorch-test\", \"seed\": 2, \"iterations\": 8, \"workers\": 2, "
             "\"llm\": {\"url\": \"%s\", \"model\": \"test-openai\"}, "
             "\"evaluator\": {\"type\": \"command\", \"argv\": [\"python3\", \"%s\"], \"mode\": \"persistent\", "
             "\"genome\": \"text\", \"measures\": 2, \"measure_lower\": 0, \"measure_upper\": 1, "
             "\"objective_min\": 0, \"objective_max\": 20}, "
             "\"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 5}, {\"bins\": 8}]}, "
             "\"mutators\": [{\"type\": \"llmatic\", \"genome\": \"pytorch\", \"batch\": 4}]}",
             srv()->url, prog);
    qd_search *s = run(json, dir, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    const qd_archive *a = qd_search_archive(s);
    CU_ASSERT_EQUAL(qd_search_counts(s)->asked, 32);
    CU_ASSERT_TRUE(qd_archive_filled(a) >= 3);
    for (size_t i = 0; i < qd_archive_filled(a); i++) {
        qd_elite e;
        qd_archive_elite_at(a, i, &e);
        CU_ASSERT_PTR_NOT_NULL(strstr(e.text, "class Net(nn.Module):\n"));
        CU_ASSERT_PTR_NULL(strstr(e.text, "```"));
    }
    for (size_t k = 0; k < qd_search_failure_kinds(s); k++) {
        uint64_t nk;
        const char *why = qd_search_failure_kind(s, k, &nk);
        int ok = strcmp(why, "llmatic: the reply holds no nn.Module class") == 0 ||
                 strcmp(why, "llmatic: the reply repeats a parent network") == 0;
        if (!ok)
            fprintf(stderr, "\n  unexpected failure: %s\n", why);
        CU_ASSERT_TRUE(ok);
    }
    qd_search_free(s);
    qd_config_free(cfg);
    qdt_rmdir(dir);
    free(dir);
}

static void test_config_errors_name_the_field(void)
{
    static const struct {
        const char *extra, *want;
    } cases[] = {
        {", \"mutation_probability\": 1.5", "mutators[0].mutation_probability must be >= 0 and <= 1, got 1.5"},
        {", \"seeds\": [\"input 8x8x1\\nconv 4 3x3\\ndense 10 softmax\"]",
         "mutators[0].seeds [0] is not a valid network: line 3: dense after conv needs flatten: got 6x6x4"},
        {", \"prompt\": \"{networks} {oops}\"", "mutators[0].prompt"},
        {", \"temperature\": 0", "mutators[0].temperature must be >= 0.1 and <= 1, got 0"},
    };
    char json[4096];
    for (size_t i = 0; i < QDI_ARRAY_LEN(cases); i++) {
        qd_config *cfg;
        qd_search *s = NULL;
        llmatic_config(json, sizeof json, "http://127.0.0.1:1/v1", 1, 1, cases[i].extra);
        cfg = qdt_config(json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
        CU_ASSERT_NOT_EQUAL(qd_search_new(cfg, &s), QD_OK);
        if (!strstr(qd_config_error(cfg), cases[i].want))
            fprintf(stderr, "\n  got:  %s\n  want: %s\n", qd_config_error(cfg), cases[i].want);
        CU_ASSERT_PTR_NOT_NULL(strstr(qd_config_error(cfg), cases[i].want));
        qd_search_free(s);
        qd_config_free(cfg);
    }
}

static const qdt_test tests[] = {
    {"prompt archive updates on a hand-made sequence", test_prompt_archive_updates_on_a_hand_made_sequence},
    {"an LLMatic run mutates and crosses over through the server",
     test_llmatic_run_mutates_and_crosses_over_through_the_server},
    {"1 and 2 workers give the same run", test_one_and_two_workers_give_the_same_run},
    {"a resumed run is byte-identical", test_resumed_run_is_byte_identical},
    {"PyTorch genomes through the server", test_pytorch_genomes_through_the_server},
    {"config errors name the field", test_config_errors_name_the_field},
    {NULL, NULL},
};

QDT_MAIN("llmatic", tests)
