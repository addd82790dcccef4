/* test_nas.c - the network language and its trainer: valid and invalid
 * networks (line and reason), shape mismatches, parameters and FLOPs by hand,
 * finding a network in an LLM reply, every layer's backward pass against
 * finite differences, 100% on a linearly separable toy set, the CSV reader,
 * and the grammar / random mutators keeping to max_params / max_flops. */
#include <math.h>
#include <string.h>
#include "testutil.h"
#include "evaluators/nas.h"

static void expect_error(const char *text, const char *want)
{
    qdi_nas_net net;
    char err[512] = "";
    CU_ASSERT_EQUAL(qdi_nas_parse(text, &net, err, sizeof err), QD_EINVAL);
    if (strcmp(err, want) != 0)
        fprintf(stderr, "\n  got:  %s\n  want: %s\n", err, want);
    CU_ASSERT_STRING_EQUAL(err, want);
}

static void test_invalid_networks_name_the_line_and_reason(void)
{
    expect_error("input 8x8x1\nconv 16 3x3 relu\npool max 1\ndense 10 softmax\n",
                 "line 4: dense after pool needs flatten: got 6x6x16");
    expect_error("input 8x8x1\nconv 16 3x3 relu\n\n# comment\ndense 64 relu\n",
                 "line 5: dense after conv needs flatten: got 6x6x16");
    expect_error("input 8x8x1\nflatten\nconv 4 3x3\ndense 10 softmax",
                 "line 3: conv needs an HxWxC input: got 64 (conv comes before flatten)");
    expect_error("input 8x8x1\nconv 4 9x9\nflatten\ndense 10 softmax",
                 "line 2: conv kernel 9x9 does not fit the input 8x8x1 (add same, or use a smaller kernel)");
    expect_error("input 8x8x1\nresidual begin\nconv 4 3x3 same\nresidual end\nflatten\ndense 10 softmax",
                 "line 4: residual end: the block's output 8x8x4 differs from its input 8x8x1 (line 2)");
    expect_error("input 8x8x1\nresidual end\nflatten\ndense 10 softmax", "line 2: residual end without residual begin");
    expect_error("input 8x8x1\nresidual begin\nflatten\ndense 10 softmax", "line 2: residual begin has no residual end");
    expect_error("input 8x8x1\nflatten\ndense 10 relu", "line 3: the network must end with \"dense K softmax\" (K "
                                                        "classes), got a dense layer without softmax");
    expect_error("input 8x8x1\nflatten\ndense 32 softmax\ndense 10 softmax", "line 3: softmax only on the last layer");
    expect_error("input 8x8x1\nlstm 10\n", "line 2: unknown layer \"lstm\" (input, conv, pool, flatten, dense, "
                                           "dropout, batchnorm, residual)");
    expect_error("input 8x8x1\nflatten\ndense 10 gelu", "line 3: unknown activation \"gelu\" (relu, tanh, sigmoid, "
                                                        "none, softmax)");
    expect_error("input 8x8x1\nflatten\ndropout 1.5\ndense 10 softmax",
                 "line 3: dropout takes a probability 0 <= P < 1, got \"1.5\"");
    expect_error("conv 4 3x3\n", "line 1: a network starts with \"input HxWxC\", got conv");
    expect_error("input 8x8x1\nflatten\ndense 10 softmax extra", "line 3: unexpected \"extra\" after dense");
    expect_error("input 8x8x1\nconv 4 3x3 relu tanh\nflatten\ndense 10 softmax",
                 "line 2: conv: unexpected \"tanh\" (same, valid, relu, tanh, sigmoid, none)");
    expect_error("  \n# nothing\n", "empty network: no layer lines");
    expect_error("input 8x8x1\npool max 3\npool max 3\npool max 3\nflatten\ndense 10 softmax",
                 "line 3: pool 3 does not fit the input 2x2x1");
}

/* params and FLOPs worked out by hand */
static void test_params_and_flops_by_hand(void)
{
    qdi_nas_net net;
    char err[256];
    /* 64*10 + 10 = 650 params; 2*64*10 = 1280 FLOPs */
    CU_ASSERT_EQUAL_FATAL(qdi_nas_parse("input 8x8x1\nflatten\ndense 10 softmax\n", &net, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(net.params, 650);
    CU_ASSERT_EQUAL(net.flops, 1280);
    CU_ASSERT_EQUAL(net.depth, 1);
    CU_ASSERT_EQUAL(net.max_width, 10);
    qdi_nas_free(&net);
    /* conv 3*3*1*16 + 16 = 160; pool -> 3x3x16 = 144; dense 144*64 + 64 = 9280; dense 64*10 + 10 = 650:
     * 10090 params. FLOPs 2*9*16*36 = 10368 + 2*144*64 = 18432 + 1280 = 30080 */
    CU_ASSERT_EQUAL_FATAL(qdi_nas_parse("input 8x8x1\nconv 16 3x3 relu\npool max 2\nflatten\ndense 64 relu\n"
                                        "dense 10 softmax\n", &net, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(net.params, 10090);
    CU_ASSERT_EQUAL(net.flops, 30080);
    CU_ASSERT_EQUAL(net.depth, 3);
    CU_ASSERT_EQUAL(net.max_width, 64);
    CU_ASSERT_EQUAL(net.layers[2].out.h, 3);
    qdi_nas_free(&net);
    /* conv 8 same: 9*1*8+8 = 80, FLOPs 2*9*8*64 = 9216; batchnorm 2*8 = 16; residual conv 8 same:
     * 9*8*8+8 = 584, FLOPs 2*9*8*8*64 = 73728; dense 512*10+10 = 5130, FLOPs 10240:
     * 5810 params, 93184 FLOPs */
    CU_ASSERT_EQUAL_FATAL(qdi_nas_parse("input 8x8x1\nconv 8 3x3 same relu\nbatchnorm\nresidual begin\n"
                                        "conv 8 3x3 same tanh\nresidual end\nflatten\ndropout 0.25\n"
                                        "dense 10 softmax\n", &net, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(net.params, 5810);
    CU_ASSERT_EQUAL(net.flops, 93184);
    CU_ASSERT_EQUAL(net.depth, 3);
    CU_ASSERT_EQUAL(net.layers[3].partner, 5);
    char *text = qdi_nas_print(&net);
    CU_ASSERT_STRING_EQUAL(text, "input 8x8x1\nconv 8 3x3 same relu\nbatchnorm\nresidual begin\n"
                                 "conv 8 3x3 same tanh\nresidual end\nflatten\ndropout 0.25\ndense 10 softmax\n");
    free(text);
    qdi_nas_free(&net);
}

static void test_network_found_in_an_llm_reply(void)
{
    char *t = qdi_nas_extract("Sure! Here is a better network:\n\n```text\ninput 8x8x1\n  conv 8 3x3 relu\nflatten\n"
                              "dense 10 softmax\n```\nIt adds a convolution.");
    CU_ASSERT_STRING_EQUAL(t, "input 8x8x1\nconv 8 3x3 relu\nflatten\ndense 10 softmax\n");
    free(t);
    t = qdi_nas_extract("The network:\ninput 8x8x1\nflatten\ndense 10 softmax\nThis should work well.\n");
    CU_ASSERT_STRING_EQUAL(t, "input 8x8x1\nflatten\ndense 10 softmax\n");
    free(t);
    CU_ASSERT_PTR_NULL(qdi_nas_extract("I cannot help with that."));
    /* lenient extraction, strict checking: the text found still has to parse */
    t = qdi_nas_extract("```\ninput 8x8x1\ndense 10 softmax\n```");
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    expect_error(t, "line 2: dense after input needs flatten: got 8x8x1");
    free(t);
}

/* Loss of the model on (x, y) in training mode with a fixed dropout stream. */
static double loss_at(qdi_nas_model *m, const double *x, const int *y, size_t b)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    qdi_nas_forward(m, x, b, 1, r);
    gsl_rng_free(r);
    return qdi_nas_loss(m, y, b, 1);
}

static void check_gradients(const char *text)
{
    qdi_nas_net net;
    qdi_nas_model m;
    char err[256];
    enum { B = 4 };
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    CU_ASSERT_EQUAL_FATAL(qdi_nas_parse(text, &net, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qdi_nas_model_new(&m, &net, B, rng), QD_OK);
    m.input_grad = 1;
    size_t in = m.units[0].out_size, K = m.units[net.n - 1].out_size;
    double *x = malloc(B * in * sizeof *x), *gx = malloc(B * in * sizeof *gx), *g = malloc(m.nparams * sizeof *g);
    int y[B];
    for (size_t i = 0; i < B * in; i++)
        x[i] = 2 * gsl_rng_uniform(rng) - 1;
    for (size_t i = 0; i < m.nparams; i++) /* batchnorm's gamma and beta off 1 and 0 */
        m.theta[i] += 0.1 * (gsl_rng_uniform(rng) - 0.5);
    for (int r = 0; r < B; r++)
        y[r] = (int)(gsl_rng_uniform_int(rng, K));
    loss_at(&m, x, y, B);
    memset(m.dtheta, 0, m.nparams * sizeof *m.dtheta);
    qdi_nas_backward(&m, B);
    memcpy(g, m.dtheta, m.nparams * sizeof *g);
    memcpy(gx, m.grad[0], B * in * sizeof *gx);
    double worst = 0, h = 1e-6;
    for (size_t i = 0; i < m.nparams; i++) {
        double keep = m.theta[i], up, down, num;
        m.theta[i] = keep + h;
        up = loss_at(&m, x, y, B);
        m.theta[i] = keep - h;
        down = loss_at(&m, x, y, B);
        m.theta[i] = keep;
        num = (up - down) / (2 * h);
        double e = fabs(num - g[i]) / fmax(1e-4, fabs(num) + fabs(g[i]));
        if (e > worst)
            worst = e;
    }
    for (size_t i = 0; i < B * in; i++) {
        double keep = x[i], up, down, num;
        x[i] = keep + h;
        up = loss_at(&m, x, y, B);
        x[i] = keep - h;
        down = loss_at(&m, x, y, B);
        x[i] = keep;
        num = (up - down) / (2 * h);
        double e = fabs(num - gx[i]) / fmax(1e-4, fabs(num) + fabs(gx[i]));
        if (e > worst)
            worst = e;
    }
    if (worst >= 1e-4)
        fprintf(stderr, "\n  %s: worst relative gradient error %g\n", text, worst);
    CU_ASSERT(worst < 1e-4);
    free(x);
    free(gx);
    free(g);
    qdi_nas_model_free(&m);
    qdi_nas_free(&net);
    gsl_rng_free(rng);
}

static void test_every_backward_pass_matches_finite_differences(void)
{
    check_gradients("input 5\ndense 6 tanh\ndense 3 softmax");
    check_gradients("input 5\ndense 6 sigmoid\ndense 4 none\ndense 3 softmax");
    check_gradients("input 5\ndense 6 relu\ndense 3 softmax");
    check_gradients("input 5x4x2\nconv 3 3x2 tanh\nflatten\ndense 3 softmax");
    check_gradients("input 5x5x2\nconv 3 3x3 same sigmoid\nflatten\ndense 3 softmax");
    check_gradients("input 4x4x2\npool max 2\nflatten\ndense 3 softmax");
    check_gradients("input 5x5x2\npool avg 2\nflatten\ndense 3 softmax");
    check_gradients("input 3x3x2\nbatchnorm\nflatten\ndense 3 softmax");
    check_gradients("input 6\nbatchnorm\ndense 3 softmax");
    check_gradients("input 6\ndropout 0.5\ndense 3 softmax");
    check_gradients("input 4x4x2\nresidual begin\nconv 2 3x3 same tanh\nresidual end\nflatten\ndense 3 softmax");
    check_gradients("input 6\nresidual begin\ndense 6 tanh\nresidual begin\ndense 6 sigmoid\nresidual end\n"
                    "residual end\ndense 3 softmax");
}

static void test_training_separates_a_linearly_separable_set(void)
{
    qdi_nas_data d = {0}, test;
    qdi_nas_net net;
    qdi_nas_train_result r;
    char err[256];
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    d.n = 200;
    d.features = 2;
    d.classes = 2;
    d.x = malloc(d.n * 2 * sizeof *d.x);
    d.y = malloc(d.n * sizeof *d.y);
    for (size_t i = 0; i < d.n; i++) {
        double a = gsl_rng_uniform(rng) * 2 - 1, b = gsl_rng_uniform(rng) * 2 - 1;
        if (fabs(a + b) < 0.2) /* a margin around the line a + b = 0 */
            b += a + b > 0 ? 0.4 : -0.4;
        d.x[2 * i] = a;
        d.x[2 * i + 1] = b;
        d.y[i] = a + b > 0;
    }
    test = d;
    CU_ASSERT_EQUAL_FATAL(qdi_nas_parse("input 2\ndense 2 softmax", &net, err, sizeof err), QD_OK);
    qdi_nas_train_options o = {.epochs = 100, .batch = 16, .optimizer = QDI_OPT_SGD, .lr = 0.5, .momentum = 0.9};
    CU_ASSERT_EQUAL_FATAL(qdi_nas_train(&net, &d, &test, &o, rng, &r, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(r.accuracy, 1.0);
    o.optimizer = QDI_OPT_ADAM;
    o.lr = 0.05;
    CU_ASSERT_EQUAL_FATAL(qdi_nas_train(&net, &d, &test, &o, rng, &r, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(r.accuracy, 1.0);
    qdi_nas_free(&net);
    qdi_nas_data_free(&d);
    gsl_rng_free(rng);
}

static void test_csv_reader_and_split(void)
{
    char *dir = qdt_tmpdir(), path[512], err[512];
    qdi_nas_data d, tr, te, tr2, te2;
    snprintf(path, sizeof path, "%s/d.csv", dir);
    FILE *fp = fopen(path, "w");
    fputs("label,a,b\n0,1,2\n1,3,4\n2,5,6\n1,7,8\n0,9,10\n", fp);
    fclose(fp);
    CU_ASSERT_EQUAL_FATAL(qdi_nas_data_read(path, &d, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(d.n, 5);
    CU_ASSERT_EQUAL(d.features, 2);
    CU_ASSERT_EQUAL(d.classes, 3);
    CU_ASSERT_EQUAL(d.x[3], 4);
    CU_ASSERT_EQUAL_FATAL(qdi_nas_data_split(&d, 0.4, 9, &tr, &te), QD_OK);
    CU_ASSERT_EQUAL(te.n, 2);
    CU_ASSERT_EQUAL(tr.n, 3);
    CU_ASSERT_EQUAL_FATAL(qdi_nas_data_split(&d, 0.4, 9, &tr2, &te2), QD_OK);
    CU_ASSERT_EQUAL(memcmp(te.y, te2.y, 2 * sizeof *te.y), 0); /* the same seed, the same split */
    CU_ASSERT_EQUAL(memcmp(tr.x, tr2.x, 6 * sizeof *tr.x), 0);
    qdi_nas_data_free(&tr);
    qdi_nas_data_free(&te);
    qdi_nas_data_free(&tr2);
    qdi_nas_data_free(&te2);
    qdi_nas_data_free(&d);
    fp = fopen(path, "w");
    fputs("0,1,2\n1,3,x\n", fp);
    fclose(fp);
    CU_ASSERT_EQUAL(qdi_nas_data_read(path, &d, err, sizeof err), QD_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2: feature 2 is not a number: \"x\""));
    fp = fopen(path, "w");
    fputs("0,1,2\n1,3\n", fp);
    fclose(fp);
    CU_ASSERT_EQUAL(qdi_nas_data_read(path, &d, err, sizeof err), QD_EFORMAT);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2: 2 fields, but the first row has 3"));
    qdt_rmdir(dir);
    free(dir);
}

/* The grammar and random mutators draw again what exceeds max_params /
 * max_flops (the nas evaluator's), so no job fails on the limits. */
static void test_mutators_keep_to_the_size_limits(void)
{
    static const char *const modes[] = {"random", "grammar"};
    for (size_t k = 0; k < 2; k++) {
        char json[2048];
        qd_config *cfg;
        qd_search *s = NULL;
        snprintf(json, sizeof json,
                 "{\"seed\": 4, \"iterations\": 6, \"workers\": 1, "
                 "\"evaluator\": {\"type\": \"nas\", \"epochs\": 1, \"batch_size\": 128, \"max_params\": 3000, "
                 "\"max_flops\": 30000}, \"archive\": {\"type\": \"grid\", \"dims\": [{\"bins\": 5}, {\"bins\": 5}]}, "
                 "\"mutators\": [{\"type\": \"network\", \"mode\": \"%s\", \"batch\": 8, \"initial\": 8}]}",
                 modes[k]);
        cfg = qdt_config(json);
        CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
        CU_ASSERT_EQUAL_FATAL(qd_search_new(cfg, &s), QD_OK);
        while (!qd_search_done(s))
            CU_ASSERT_EQUAL_FATAL(qd_search_step(s), QD_OK);
        CU_ASSERT_EQUAL(qd_search_counts(s)->asked, 48);
        CU_ASSERT_EQUAL(qd_search_counts(s)->failed, 0);
        const qd_archive *a = qd_search_archive(s);
        CU_ASSERT_TRUE(qd_archive_filled(a) >= 3);
        for (size_t i = 0; i < qd_archive_filled(a); i++) {
            qd_elite e;
            qdi_nas_net net;
            char err[256];
            qd_archive_elite_at(a, i, &e);
            CU_ASSERT_EQUAL_FATAL(qdi_nas_parse(e.text, &net, err, sizeof err), QD_OK);
            CU_ASSERT_TRUE(net.params <= 3000 && net.flops <= 30000);
            qdi_nas_free(&net);
        }
        qd_search_free(s);
        qd_config_free(cfg);
    }
}

static const qdt_test tests[] = {
    {"invalid networks name the line and reason", test_invalid_networks_name_the_line_and_reason},
    {"params and FLOPs by hand", test_params_and_flops_by_hand},
    {"network found in an LLM reply", test_network_found_in_an_llm_reply},
    {"every backward pass matches finite differences", test_every_backward_pass_matches_finite_differences},
    {"training separates a linearly separable set", test_training_separates_a_linearly_separable_set},
    {"CSV reader and split", test_csv_reader_and_split},
    {"mutators keep to the size limits", test_mutators_keep_to_the_size_limits},
    {NULL, NULL},
};

QDT_MAIN("nas", tests)
