/* test_config.c - the config reader (src/config.c) and --set overrides
 * (src/config_set.c): every kind of bad field gives one exact message that
 * names the file, the field path and the value (unknown keys at the top
 * level and nested, wrong types, out-of-range values, missing required
 * fields, bad choices, unknown plug-in types, malformed JSON, unreadable
 * files), readers write defaults back, the first error sticks, and
 * qd_config_set types a value as the field it replaces and rejects bad
 * paths and mismatched values. */
#include <math.h>
#include "testutil.h"

/* A small valid search config: sphere in 4-D, 4x4 grid, one gaussian
 * mutator, one worker (no threads). Cases edit one part of it. */
#define EV "\"evaluator\": {\"type\": \"sphere\", \"dim\": 4}"
#define AR "\"archive\": {\"dims\": [{\"bins\": 4}, {\"bins\": 4}]}"
#define MU "\"mutators\": [{\"type\": \"gaussian\", \"batch\": 4}]"
#define WK "\"workers\": 1"
#define VALID "{" WK ", " EV ", " AR ", " MU "}"

typedef struct bad_case {
    const char *json;
    const char *msg;
} bad_case;

/* Builds a search from each case and checks it fails with exactly msg. */
static void expect_search_errors(const bad_case *cases, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        qd_config *c = qdt_config(cases[i].json);
        qd_search *s = NULL;
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        CU_ASSERT_EQUAL(qd_search_new(c, &s), QD_EINVAL);
        CU_ASSERT_PTR_NULL(s);
        if (strcmp(qd_config_error(c), cases[i].msg) != 0)
            fprintf(stderr, "\n  case %zu\n  got:    %s\n  wanted: %s\n", i, qd_config_error(c), cases[i].msg);
        CU_ASSERT_STRING_EQUAL(qd_config_error(c), cases[i].msg);
        qd_search_free(s);
        qd_config_free(c);
    }
}

static void test_valid_config_builds_a_search(void)
{
    qd_config *c = qdt_config(VALID);
    qd_search *s = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_search_new(c, &s), QD_OK);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), "");
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(qd_archive_cells(qd_search_archive(s)), 16);
    CU_ASSERT_EQUAL(qd_archive_solution_dim(qd_search_archive(s)), 4);
    CU_ASSERT_EQUAL(qd_search_seed(s), 1);          /* default */
    CU_ASSERT_EQUAL(qd_search_iterations(s), 1000); /* default */
    qd_search_free(s);
    qd_config_free(c);
}

static void test_unknown_keys_at_top_level_and_nested(void)
{
    static const bad_case cases[] = {
        {"{" WK ", " EV ", " AR ", " MU ", \"seeed\": 3}",
         "test.json: seeed is not a known field (known: seed, iterations, name, description, workers, mode, inflight, job_timeout, grace, rng, max_consecutive_failures, max_failure_rate, failure_window, output, llm, "
         "evaluator, archive, truth_archive, mutators, scheduler)"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"sigmaa\": 0.5}]}",
         "test.json: mutators[0].sigmaa is not a known field (known: count, type, sigma, batch, init, initial, "
         "clip, x0)"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\"}, {\"type\": \"isoline\", "
         "\"sigma\": 0.5}]}",
         "test.json: mutators[1].sigma is not a known field (known: count, type, sigma_iso, sigma_line, batch, "
         "init, initial, clip, x0)"},
        {"{" WK ", \"evaluator\": {\"type\": \"sphere\", \"dims\": 4}, " AR ", " MU "}",
         "test.json: evaluator.dims is not a known field (known: type, dim)"},
        {"{" WK ", " EV ", \"archive\": {\"dims\": [{\"bins\": 4}, {\"bins\": 4, \"rnge\": [0, 1]}]}, " MU "}",
         "test.json: archive.dims[1].rnge is not a known field (known: edges, bins, range)"},
        {"{" WK ", " EV ", " AR ", " MU ", \"output\": {\"dir\": \"x\", \"every\": 3}}",
         "test.json: output.every is not a known field (known: dir, log_every, save_every, checkpoint_every, max_failed_saves, heatmap_range)"},
        {"{" WK ", " EV ", " AR ", " MU ", \"seed\": 1, \"seed\": 2}", "test.json: seed appears more than once"},
    };
    expect_search_errors(cases, QDI_ARRAY_LEN(cases));
}

static void test_wrong_types_name_field_and_value(void)
{
    static const bad_case cases[] = {
        {"{" WK ", \"evaluator\": {\"type\": \"sphere\", \"dim\": \"ten\"}, " AR ", " MU "}",
         "test.json: evaluator.dim must be an integer, got \"ten\""},
        {"{" WK ", \"evaluator\": {\"type\": \"sphere\", \"dim\": 4.5}, " AR ", " MU "}",
         "test.json: evaluator.dim must be an integer, got 4.5"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"sigma\": \"big\"}]}",
         "test.json: mutators[0].sigma must be a number, got \"big\""},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"clip\": 1}]}",
         "test.json: mutators[0].clip must be true or false, got 1"},
        {"{" WK ", " EV ", " AR ", " MU ", \"name\": [\"a\", \"b\"]}",
         "test.json: name must be a string, got [\"a\",\"b\"]"},
        {"{" WK ", \"evaluator\": \"sphere\", " AR ", " MU "}",
         "test.json: evaluator must be an object, got \"sphere\""},
        {"{" WK ", " EV ", " AR ", \"mutators\": {\"type\": \"gaussian\"}}",
         "test.json: mutators must be an array, got {\"type\":\"gaussian\"}"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [3]}", "test.json: mutators[0] must be an object, got 3"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": 7}]}",
         "test.json: mutators[0].type must be a string, got 7"},
        {"{" WK ", " EV ", \"archive\": {\"dims\": [{\"bins\": 4, \"range\": [0, \"1\"]}, {\"bins\": 4}]}, " MU "}",
         "test.json: archive.dims[0].range[1] must be a finite number, got \"1\""},
        {"{" WK ", " EV ", \"archive\": {\"dims\": [{\"bins\": 4, \"range\": [0, 1, 2]}, {\"bins\": 4}]}, " MU "}",
         "test.json: archive.dims[0].range must have 2 numbers, got 3"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"x0\": [1, 2]}]}",
         "test.json: mutators[0].x0 must have 4 numbers, got 2"},
        /* cJSON reads 1e400 as infinity */
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"sigma\": 1e400}]}",
         "test.json: mutators[0].sigma must be a finite number, got inf"},
        /* a value longer than 60 characters is cut to its first 57 and "..." */
        {"{" WK ", " EV ", " AR ", " MU ", \"name\": {\"a\": \"0123456789012345678901234567890123456789012345678901\"}}", /* 60 characters */
         "test.json: name must be a string, got {\"a\":\"0123456789012345678901234567890123456789012345678901\"}"},
        {"{" WK ", " EV ", " AR ", " MU ", \"name\": {\"a\": \"01234567890123456789012345678901234567890123456789012\"}}", /* 61 characters */
         "test.json: name must be a string, got {\"a\":\"012345678901234567890123456789012345678901234567890..."},
    };
    expect_search_errors(cases, QDI_ARRAY_LEN(cases));
}

static void test_out_of_range_values_name_rule_and_value(void)
{
    static const bad_case cases[] = {
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"sigma\": -0.5}]}",
         "test.json: mutators[0].sigma must be > 0, got -0.5"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\"}, {\"type\": \"gaussian\", "
         "\"sigma\": 0}]}",
         "test.json: mutators[1].sigma must be > 0, got 0"},
        {"{" WK ", " EV ", " AR ", " MU ", \"iterations\": 0}", "test.json: iterations must be >= 1, got 0"},
        {"{" WK ", " EV ", " AR ", " MU ", \"seed\": -3}", "test.json: seed must be >= 0, got -3"},
        {"{\"workers\": 5000, " EV ", " AR ", " MU "}", "test.json: workers must be >= 0 and <= 4096, got 5000"},
        {"{" WK ", \"evaluator\": {\"type\": \"sphere\", \"dim\": 1}, " AR ", " MU "}",
         "test.json: evaluator.dim must be >= 2 and <= 1000000, got 1"},
        {"{" WK ", " EV ", \"archive\": {\"dims\": [{\"bins\": 0}, {\"bins\": 4}]}, " MU "}",
         "test.json: archive.dims[0].bins must be >= 1, got 0"},
        {"{" WK ", " EV ", \"archive\": {\"dims\": [{\"bins\": 4}, {\"bins\": 4}], \"learning_rate\": 1.5}, " MU
         "}",
         "test.json: archive.learning_rate must be >= 0 and <= 1, got 1.5"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"batch\": 0}]}",
         "test.json: mutators[0].batch must be >= 1 and <= 10000000, got 0"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"count\": 0}]}",
         "test.json: mutators[0].count must be >= 1 and <= 100000, got 0"},
        {"{" WK ", " EV ", " AR ", " MU ", \"output\": {\"save_every\": -1}}",
         "test.json: output.save_every must be >= 0, got -1"},
        {"{" WK ", " EV ", " AR ", \"mutators\": []}", "test.json: mutators must list at least one mutator"},
    };
    expect_search_errors(cases, QDI_ARRAY_LEN(cases));
}

static void test_missing_required_fields(void)
{
    static const bad_case cases[] = {
        {"{" WK ", " AR ", " MU "}", "test.json: evaluator is required"},
        {"{" WK ", " EV ", " MU "}", "test.json: archive is required"},
        {"{" WK ", " EV ", " AR "}", "test.json: mutators is required"},
        {"{" WK ", \"evaluator\": {\"dim\": 4}, " AR ", " MU "}", "test.json: evaluator.type is required"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"sigma\": 0.5}]}", "test.json: mutators[0].type is required"},
        {"{" WK ", " EV ", \"archive\": {\"type\": \"grid\"}, " MU "}", "test.json: archive.dims is required"},
        {"{" WK ", " EV ", \"archive\": {\"dims\": [{\"bins\": 4}, {}]}, " MU "}",
         "test.json: archive.dims[1].bins is required"},
        {"{" WK ", " EV ", " AR ", " MU ", \"scheduler\": {\"type\": \"bandit\"}}",
         "test.json: scheduler.active is required"},
        /* a key that looks like a typo of the missing one is pointed at */
        {"{" WK ", \"evaluatr\": {\"type\": \"sphere\"}, " AR ", " MU "}",
         "test.json: evaluator is required (found \"evaluatr\": a typo?)"},
        {"{" WK ", " EV ", " AR ", \"Mutators\": []}", "test.json: mutators is required (found \"Mutators\": a typo?)"},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"typ\": \"gaussian\"}]}",
         "test.json: mutators[0].type is required (found \"typ\": a typo?)"},
        {"{" WK ", " EV ", \"archive\": {\"dims\": [{\"bins\": 4}, {\"bin\": 4}]}, " MU "}",
         "test.json: archive.dims[1].bins is required (found \"bin\": a typo?)"},
    };
    expect_search_errors(cases, QDI_ARRAY_LEN(cases));
}

static void test_bad_choices_list_the_choices(void)
{
    static const bad_case cases[] = {
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\", \"init\": \"random\"}]}",
         "test.json: mutators[0].init must be one of \"uniform\", \"x0\", got \"random\""},
        {"{" WK ", " EV ", " AR ", " MU ", \"scheduler\": {\"type\": \"ucb\"}}",
         "test.json: scheduler.type must be one of \"all\", \"bandit\", got \"ucb\""},
        {"{" WK ", \"evaluator\": {\"type\": \"arm\", \"objective\": \"max\"}, " AR ", " MU "}",
         "test.json: evaluator.objective must be one of \"neg_variance\", \"qdhf\", got \"max\""},
    };
    expect_search_errors(cases, QDI_ARRAY_LEN(cases));
}

static int dummy_init(qd_evaluator *ev, qd_config *cfg)
{
    (void)ev;
    (void)cfg;
    return QD_EINVAL;
}

static int dummy_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    (void)ev;
    (void)sol;
    return qd_worker_fail(w, "never called");
}

static const qd_evaluator_type dummy_type = {.name = "my_eval", .init = dummy_init, .evaluate = dummy_evaluate};

/* The lists come from the registry, so a new plug-in does not break this
 * test; the registry itself is checked to hold the built-ins first and a
 * type registered by the user after them. */
static void test_unknown_plugin_types_list_known_types(void)
{
    char names[3][512], msgs[3][700];
    bad_case cases[] = {
        {"{" WK ", \"evaluator\": {\"type\": \"sphre\"}, " AR ", " MU "}", msgs[0]},
        {"{" WK ", " EV ", " AR ", \"mutators\": [{\"type\": \"gaussian\"}, {\"type\": \"gauss\"}]}", msgs[1]},
        {"{" WK ", " EV ", \"archive\": {\"type\": \"hex\"}, " MU "}", msgs[2]},
    };
    CU_ASSERT_EQUAL(qd_register_evaluator(&dummy_type), QD_OK);
    CU_ASSERT_EQUAL(qd_register_evaluator(&dummy_type), QD_EEXIST);
    qd_registry_names("evaluator", names[0], sizeof names[0]);
    qd_registry_names("mutator", names[1], sizeof names[1]);
    qd_registry_names("archive", names[2], sizeof names[2]);
    CU_ASSERT(strncmp(names[0], "sphere, rastrigin, arm, ", 24) == 0);
    CU_ASSERT(strlen(names[0]) > 9 && strcmp(names[0] + strlen(names[0]) - 9, ", my_eval") == 0);
    CU_ASSERT(strncmp(names[1], "gaussian, isoline", 17) == 0);
    CU_ASSERT(strncmp(names[2], "grid, cvt", 9) == 0);
    snprintf(msgs[0], sizeof msgs[0], "test.json: evaluator.type \"sphre\" is not a known evaluator (known: %s)",
             names[0]);
    snprintf(msgs[1], sizeof msgs[1], "test.json: mutators[1].type \"gauss\" is not a known mutator (known: %s)",
             names[1]);
    snprintf(msgs[2], sizeof msgs[2], "test.json: archive.type \"hex\" is not a known archive type (known: %s)",
             names[2]);
    expect_search_errors(cases, QDI_ARRAY_LEN(cases));

    /* a plug-in whose init fails without saying why still gets a message */
    static const bad_case silent[] = {
        {"{" WK ", \"evaluator\": {\"type\": \"my_eval\"}, " AR ", " MU "}",
         "test.json: evaluator could not be set up"},
    };
    expect_search_errors(silent, 1);
}

/* Parses text and checks it fails with code and exactly msg. */
static void expect_parse_error(const char *text, int code, const char *msg)
{
    qd_config *c = (qd_config *)1;
    char err[512] = "";
    CU_ASSERT_EQUAL(qd_config_parse(text, "bad.json", &c, err, sizeof err), code);
    CU_ASSERT_PTR_NULL(c);
    if (strcmp(err, msg) != 0)
        fprintf(stderr, "\n  got:    %s\n  wanted: %s\n", err, msg);
    CU_ASSERT_STRING_EQUAL(err, msg);
}

static void test_malformed_json_gives_file_line_and_column(void)
{
    expect_parse_error("{\n  \"seed\": 1,\n  \"iterations\": ]\n}", QD_EFORMAT,
                       "bad.json: invalid JSON at line 3, column 17");
    /* cJSON stops after the second comma, at the brace */
    expect_parse_error("{\"seed\": 1,,}", QD_EFORMAT, "bad.json: invalid JSON at line 1, column 13");
    expect_parse_error("{\"seed\": 1}\n{}", QD_EFORMAT, "bad.json: invalid JSON at line 2, column 1");
    expect_parse_error("{\"seed\": 1", QD_EFORMAT, "bad.json: invalid JSON at line 1, column 11");
    expect_parse_error("", QD_EFORMAT, "bad.json: the file is empty; expected a JSON object");
    expect_parse_error(" \n\t\n", QD_EFORMAT, "bad.json: the file is empty; expected a JSON object");
    expect_parse_error("[1, 2]", QD_EFORMAT, "bad.json: the config must be a JSON object");
}

static void test_unreadable_file_names_the_file(void)
{
    char *dir = qdt_tmpdir(), path[600], err[512];
    qd_config *c = (qd_config *)1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    snprintf(path, sizeof path, "%s/missing.json", dir);
    CU_ASSERT_EQUAL(qd_config_load_file(path, &c, err, sizeof err), QD_EIO);
    CU_ASSERT_PTR_NULL(c);
    char want[700];
    snprintf(want, sizeof want, "%s: cannot open: No such file or directory", path);
    CU_ASSERT_STRING_EQUAL(err, want);

    c = (qd_config *)1;
    CU_ASSERT_EQUAL(qd_config_load_file(dir, &c, err, sizeof err), QD_EIO);
    CU_ASSERT_PTR_NULL(c);
    snprintf(want, sizeof want, "%s: read failed: Is a directory", dir);
    CU_ASSERT_STRING_EQUAL(err, want);

    /* a readable file with bad JSON names the file by its path */
    snprintf(path, sizeof path, "%s/broken.json", dir);
    CU_ASSERT_EQUAL(qdi_write_file_atomic(path, "{\n\"a\": tru\n}", 12, err, sizeof err), QD_OK);
    c = (qd_config *)1;
    CU_ASSERT_EQUAL(qd_config_load_file(path, &c, err, sizeof err), QD_EFORMAT);
    CU_ASSERT_PTR_NULL(c);
    snprintf(want, sizeof want, "%s: invalid JSON at line 2, column 6", path);
    CU_ASSERT_STRING_EQUAL(err, want);

    /* a good file loads and messages name it */
    snprintf(path, sizeof path, "%s/good.json", dir);
    CU_ASSERT_EQUAL(qdi_write_file_atomic(path, "{\"seed\": -1}", 12, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(qd_config_load_file(path, &c, err, sizeof err), QD_OK);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_STRING_EQUAL(qd_config_source(c), path);
    long seed = 0;
    CU_ASSERT_EQUAL(qd_config_int(c, "seed", &seed, ">= 0"), QD_EINVAL);
    snprintf(want, sizeof want, "%s: seed must be >= 0, got -1", path);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), want);
    qd_config_free(c);
    qdt_rmdir(dir);
    free(dir);
}

static void test_readers_write_defaults_back(void)
{
    qd_config *c = qdt_config("{\"given\": 2.5}"), *child;
    double d = 7, vec[3] = {1, 1, 1}, vec2[2] = {1, 2};
    long n = 9;
    int b = 1, choice = 1;
    const char *s = "dflt";
    static const char *const choices[] = {"a", "b", NULL};
    char *text;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_number(c, "given", &d, "> 0"), QD_OK);
    CU_ASSERT_EQUAL(d, 2.5);
    d = 7;
    CU_ASSERT_EQUAL(qd_config_number(c, "num", &d, "> 0"), QD_OK);
    CU_ASSERT_EQUAL(d, 7);
    CU_ASSERT_EQUAL(qd_config_int(c, "int", &n, NULL), QD_OK);
    CU_ASSERT_EQUAL(qd_config_bool(c, "flag", &b), QD_OK);
    CU_ASSERT_EQUAL(qd_config_string(c, "str", &s), QD_OK);
    CU_ASSERT_STRING_EQUAL(s, "dflt");
    CU_ASSERT_EQUAL(qd_config_choice(c, "pick", choices, &choice), QD_OK);
    CU_ASSERT_EQUAL(choice, 1);
    CU_ASSERT_EQUAL(qd_config_vector(c, "same", vec, 3, NULL), QD_OK);
    CU_ASSERT_EQUAL(qd_config_vector(c, "pair", vec2, 2, NULL), QD_OK);
    CU_ASSERT_EQUAL(qd_config_object(c, "sub", 0, &child), QD_OK);
    CU_ASSERT_STRING_EQUAL(qd_config_path(child), "sub");
    CU_ASSERT_EQUAL(qd_config_check_keys(c), QD_OK);
    text = cJSON_PrintUnformatted(qd_config_json(c));
    CU_ASSERT_STRING_EQUAL(text, "{\"given\":2.5,\"num\":7,\"int\":9,\"flag\":true,\"str\":\"dflt\",\"pick\":\"b\","
                                 "\"same\":1,\"pair\":[1,2],\"sub\":{}}");
    free(text);
    qd_config_free(c);
}

static void test_first_error_sticks(void)
{
    qd_config *c = qdt_config("{\"a\": -1, \"b\": \"x\"}");
    double a = 1, b = 1;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_number(c, "a", &a, ">= 0 < 10"), QD_EINVAL);
    CU_ASSERT_EQUAL(a, 1); /* untouched on error */
    CU_ASSERT_EQUAL(qd_config_number(c, "b", &b, NULL), QD_EINVAL);
    CU_ASSERT_EQUAL(qd_config_check_keys(c), QD_EINVAL);
    CU_ASSERT_EQUAL(qd_config_fail(c, "z", "later"), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), "test.json: a must be >= 0 and < 10, got -1");
    qd_config_free(c);
}

/* ---- --set ------------------------------------------------------------- */

/* The item at a dotted path in c's tree ("mutators.0.sigma"). */
static cJSON *item_at(qd_config *c, const char *a, const char *b, const char *cc)
{
    cJSON *j = cJSON_GetObjectItemCaseSensitive(qd_config_json(c), a);
    if (j && b)
        j = cJSON_IsArray(j) ? cJSON_GetArrayItem(j, atoi(b)) : cJSON_GetObjectItemCaseSensitive(j, b);
    if (j && cc)
        j = cJSON_GetObjectItemCaseSensitive(j, cc);
    return j;
}

static void test_set_types_value_as_existing_field(void)
{
    qd_config *c = qdt_config("{\"workers\": 1, \"name\": \"run\", \"evaluator\": {\"type\": \"sphere\", \"dim\": "
                              "4}, \"archive\": {\"dims\": [{\"bins\": 4}, {\"bins\": 4}]}, \"mutators\": "
                              "[{\"type\": \"gaussian\", \"batch\": 4, \"sigma\": 0.1, \"clip\": false}]}");
    qd_search *s = NULL;
    cJSON *j;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_set(c, "evaluator.dim=20"), QD_OK);
    CU_ASSERT_EQUAL(qd_config_set(c, "mutators[0].sigma=0.25"), QD_OK);
    CU_ASSERT_EQUAL(qd_config_set(c, "mutators.0.batch=6"), QD_OK); /* ".0" indexes too */
    CU_ASSERT_EQUAL(qd_config_set(c, "mutators[0].clip=true"), QD_OK);
    CU_ASSERT_EQUAL(qd_config_set(c, "name=42"), QD_OK);           /* a string stays a string */
    CU_ASSERT_EQUAL(qd_config_set(c, "evaluator.type=rastrigin"), QD_OK);
    CU_ASSERT_EQUAL(qd_config_set(c, "archive.dims=[{\"bins\": 5}, {\"bins\": 3}]"), QD_OK); /* JSON */
    CU_ASSERT_EQUAL(qd_config_set(c, "archive.dims[1].bins=2"), QD_OK);

    j = item_at(c, "evaluator", "dim", NULL);
    CU_ASSERT(cJSON_IsNumber(j) && j->valuedouble == 20);
    j = item_at(c, "mutators", "0", "sigma");
    CU_ASSERT(cJSON_IsNumber(j) && j->valuedouble == 0.25);
    j = item_at(c, "mutators", "0", "batch");
    CU_ASSERT(cJSON_IsNumber(j) && j->valuedouble == 6);
    CU_ASSERT(cJSON_IsTrue(item_at(c, "mutators", "0", "clip")));
    j = item_at(c, "name", NULL, NULL);
    CU_ASSERT(cJSON_IsString(j) && strcmp(j->valuestring, "42") == 0);
    j = item_at(c, "evaluator", "type", NULL);
    CU_ASSERT(cJSON_IsString(j) && strcmp(j->valuestring, "rastrigin") == 0);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), "");

    /* the search sees the overridden values */
    CU_ASSERT_EQUAL_FATAL(qd_search_new(c, &s), QD_OK);
    CU_ASSERT_EQUAL(qd_archive_solution_dim(qd_search_archive(s)), 20);
    CU_ASSERT_EQUAL(qd_archive_cells(qd_search_archive(s)), 10);
    CU_ASSERT_EQUAL(qd_search_step(s), QD_OK);
    CU_ASSERT_EQUAL(qd_search_counts(s)->asked, 6);
    qd_search_free(s);
    qd_config_free(c);
}

static void test_set_adds_new_fields(void)
{
    qd_config *c = qdt_config(VALID);
    qd_search *s = NULL;
    cJSON *j;
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_set(c, "seed=7"), QD_OK);                 /* JSON number */
    CU_ASSERT_EQUAL(qd_config_set(c, "mutators[0].clip=true"), QD_OK);  /* JSON bool */
    CU_ASSERT_EQUAL(qd_config_set(c, "output.dir=runs/a b"), QD_OK);    /* creates output{} */
    CU_ASSERT_EQUAL(qd_config_set(c, "description=2024-01 run"), QD_OK); /* not JSON: a string */
    CU_ASSERT_EQUAL(qd_config_set(c, "name=\"42\""), QD_OK);            /* JSON string */
    CU_ASSERT_EQUAL(qd_config_set(c, "scheduler={\"type\": \"all\"}"), QD_OK);
    CU_ASSERT_EQUAL(qd_config_set(c, "mutators[0].x0=[0, 0, 1, 1]"), QD_OK);
    j = item_at(c, "seed", NULL, NULL);
    CU_ASSERT(cJSON_IsNumber(j) && j->valuedouble == 7);
    CU_ASSERT(cJSON_IsTrue(item_at(c, "mutators", "0", "clip")));
    j = item_at(c, "output", "dir", NULL);
    CU_ASSERT(cJSON_IsString(j) && strcmp(j->valuestring, "runs/a b") == 0);
    j = item_at(c, "description", NULL, NULL);
    CU_ASSERT(cJSON_IsString(j) && strcmp(j->valuestring, "2024-01 run") == 0);
    j = item_at(c, "name", NULL, NULL);
    CU_ASSERT(cJSON_IsString(j) && strcmp(j->valuestring, "42") == 0);
    CU_ASSERT(cJSON_IsObject(item_at(c, "scheduler", NULL, NULL)));
    CU_ASSERT(cJSON_GetArraySize(item_at(c, "mutators", "0", "x0")) == 4);
    CU_ASSERT_EQUAL_FATAL(qd_search_new(c, &s), QD_OK);
    CU_ASSERT_EQUAL(qd_search_seed(s), 7);
    CU_ASSERT_STRING_EQUAL(qd_search_output(s)->dir, "runs/a b");
    qd_search_free(s);
    qd_config_free(c);

    /* a new field no reader knows is caught when the config is read */
    c = qdt_config(VALID);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_set(c, "evaluator.dimm=8"), QD_OK);
    CU_ASSERT_EQUAL(qd_search_new(c, &s), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), "test.json: evaluator.dimm is not a known field (known: type, dim)");
    qd_config_free(c);

    /* a value from --set is checked like one from the file */
    c = qdt_config(VALID);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_set(c, "mutators[0].sigma=-0.5"), QD_OK);
    CU_ASSERT_EQUAL(qd_search_new(c, &s), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), "test.json: mutators[0].sigma must be > 0, got -0.5");
    qd_config_free(c);
}

static void test_set_rejects_bad_paths_and_mismatched_values(void)
{
    static const bad_case cases[] = {
        {"evaluator.dim", "--set evaluator.dim: expected PATH=VALUE, e.g. evaluator.dim=20"},
        {"=5", "--set =5: expected PATH=VALUE, e.g. evaluator.dim=20"},
        {"..=5", "--set ..=5: empty path"},
        {"evaluator..dim=5", "--set evaluator..dim=5: empty field name in \"evaluator..dim\""},
        {"mutators[3].sigma=1", "--set mutators[3].sigma=1: mutators[3] is out of range: mutators has 1 element"},
        {"mutators[x].sigma=1", "--set mutators[x].sigma=1: bad index in \"mutators[x].sigma\""},
        {"mutators[-1].sigma=1", "--set mutators[-1].sigma=1: bad index in \"mutators[-1].sigma\""},
        {"mutators.first.sigma=1", "--set mutators.first.sigma=1: mutators is an array; \"first\" is not an index"},
        {"evaluator[0]=1", "--set evaluator[0]=1: evaluator is not an array, got {\"type\":\"sphere\",\"dim\":4}"},
        {"evaluator.dim.x=1", "--set evaluator.dim.x=1: evaluator.dim is not an object, got 4"},
        {"[0]=1", "--set [0]=1: (top level) is not an array, got {\"workers\":1,\"evaluator\":{\"type\":\"sphere\",\"dim\":4},\"archi..."},
        /* intermediate objects created on the way are removed again */
        {"output.sub[0]=1", "--set output.sub[0]=1: output.sub is not an array, got {}"},
        {"output.sub..x=1", "--set output.sub..x=1: empty field name in \"output.sub..x\""},
        /* values that do not fit the existing field's type */
        {"evaluator.dim=abc", "--set evaluator.dim=abc: evaluator.dim is a number, got \"abc\""},
        {"evaluator.dim=", "--set evaluator.dim=: evaluator.dim is a number, got \"\""},
        {"evaluator.dim=4x", "--set evaluator.dim=4x: evaluator.dim is a number, got \"4x\""},
        {"evaluator.dim=inf", "--set evaluator.dim=inf: evaluator.dim is a number, got \"inf\""},
        {"workers=yes", "--set workers=yes: workers is a number, got \"yes\""},
        {"archive.dims={bad", "--set archive.dims={bad: archive.dims takes a JSON value, got \"{bad\""},
        {"archive.dims=[1]x", "--set archive.dims=[1]x: archive.dims takes a JSON value, got \"[1]x\""},
    };
    for (size_t i = 0; i < QDI_ARRAY_LEN(cases); i++) {
        qd_config *c = qdt_config(VALID);
        char *before, *after;
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        before = cJSON_PrintUnformatted(qd_config_json(c));
        CU_ASSERT_EQUAL(qd_config_set(c, cases[i].json), QD_EINVAL);
        if (strcmp(qd_config_error(c), cases[i].msg) != 0)
            fprintf(stderr, "\n  got:    %s\n  wanted: %s\n", qd_config_error(c), cases[i].msg);
        CU_ASSERT_STRING_EQUAL(qd_config_error(c), cases[i].msg);
        after = cJSON_PrintUnformatted(qd_config_json(c));
        CU_ASSERT_STRING_EQUAL(before, after); /* a refused --set changes nothing */
        free(before);
        free(after);
        qd_config_free(c);
    }
}

static void test_set_boolean_field_takes_only_true_or_false(void)
{
    qd_config *c = qdt_config("{\"flag\": false}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_set(c, "flag=1"), QD_EINVAL);
    CU_ASSERT_STRING_EQUAL(qd_config_error(c), "--set flag=1: flag is true or false, got \"1\"");
    qd_config_free(c);
    c = qdt_config("{\"flag\": true}");
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(qd_config_set(c, "flag=false"), QD_OK);
    CU_ASSERT(cJSON_IsFalse(item_at(c, "flag", NULL, NULL)));
    CU_ASSERT_EQUAL(qd_config_set(c, "flag=true"), QD_OK);
    CU_ASSERT(cJSON_IsTrue(item_at(c, "flag", NULL, NULL)));
    qd_config_free(c);
}

static const qdt_test tests[] = {
    {"valid config builds a search", test_valid_config_builds_a_search},
    {"unknown keys at top level and nested", test_unknown_keys_at_top_level_and_nested},
    {"wrong types name field and value", test_wrong_types_name_field_and_value},
    {"out-of-range values name rule and value", test_out_of_range_values_name_rule_and_value},
    {"missing required fields", test_missing_required_fields},
    {"bad choices list the choices", test_bad_choices_list_the_choices},
    {"unknown plug-in types list known types", test_unknown_plugin_types_list_known_types},
    {"malformed JSON gives file, line and column", test_malformed_json_gives_file_line_and_column},
    {"unreadable file names the file", test_unreadable_file_names_the_file},
    {"readers write defaults back", test_readers_write_defaults_back},
    {"first error sticks", test_first_error_sticks},
    {"--set types value as existing field", test_set_types_value_as_existing_field},
    {"--set adds new fields", test_set_adds_new_fields},
    {"--set rejects bad paths and mismatched values", test_set_rejects_bad_paths_and_mismatched_values},
    {"--set boolean field takes only true or false", test_set_boolean_field_takes_only_true_or_false},
    {NULL, NULL},
};

QDT_MAIN("config", tests)
