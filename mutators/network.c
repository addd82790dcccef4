/* network.c - the grammar mutator of the network language (nas_lang.c): the
 * no-LLM baseline of LLMatic-style search (Nasir et al. 2023). A child is a
 * uniformly drawn elite with one random structural edit: add a layer, remove
 * one (a residual block's begin and end go together), resize a layer (units
 * or filters halved or doubled), wrap a shape-keeping layer in a residual
 * block, or swap an activation. Edits that break the shapes are drawn again
 * (up to 50 times), so children parse, and so are networks over the size
 * limits max_params / max_flops (by default the nas evaluator's), so a
 * search spends its budget on networks the evaluator will train (what slips
 * through still fails there, counted). The first `initial` children (and
 * any while the archive is empty) are random networks; "mode": "random"
 * makes every child a random network: random search, the floor for the same
 * budget.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_rng.h>
#include "evaluators/nas.h"
#include "src/config_internal.h"

typedef struct network_mutator {
    int random_only;
    qdi_nas_shape input;
    int classes, max_layers;
    long max_params;
    double max_flops;
    uint64_t initial, asked;
} network_mutator;

static const int widths[] = {8, 16, 32, 64, 128, 256};
static const qdi_nas_act acts[] = {QDI_ACT_RELU, QDI_ACT_TANH, QDI_ACT_SIGMOID, QDI_ACT_NONE};

static qdi_nas_layer layer(qdi_nas_kind kind, int units, int k, qdi_nas_act act)
{
    qdi_nas_layer L;
    memset(&L, 0, sizeof L);
    L.kind = kind;
    L.units = units;
    L.kh = L.kw = k;
    L.act = act;
    L.partner = -1;
    L.pool_size = 2;
    L.pool_max = 1;
    return L;
}

static int pick(gsl_rng *r, int n)
{
    return (int)gsl_rng_uniform_int(r, (unsigned long)n);
}

static qdi_nas_act random_act(gsl_rng *r)
{
    return gsl_rng_uniform(r) < 0.6 ? QDI_ACT_RELU : acts[pick(r, 4)];
}

/* A layer that fits after shape s (conv, pool, batchnorm, dropout before
 * flatten; dense, dropout, batchnorm after). */
static qdi_nas_layer random_layer(gsl_rng *r, qdi_nas_shape s)
{
    int k = pick(r, 10);
    if (k == 0)
        return layer(QDI_NAS_BATCHNORM, 0, 0, QDI_ACT_NONE);
    if (k == 1) {
        qdi_nas_layer L = layer(QDI_NAS_DROPOUT, 0, 0, QDI_ACT_NONE);
        L.rate = 0.1 * (1 + pick(r, 4));
        return L;
    }
    if (!s.flat) {
        if (k <= 3 && s.h >= 2 && s.w >= 2) {
            qdi_nas_layer L = layer(QDI_NAS_POOL, 0, 0, QDI_ACT_NONE);
            L.pool_max = pick(r, 3) != 0;
            return L;
        }
        qdi_nas_layer L = layer(QDI_NAS_CONV, widths[pick(r, 4)], pick(r, 3) ? 3 : (pick(r, 2) ? 1 : 5), random_act(r));
        L.same = pick(r, 2);
        return L;
    }
    return layer(QDI_NAS_DENSE, widths[pick(r, 6)], 0, random_act(r));
}

/* Renumbers lines and checks; nonzero when the network fits (shapes, and
 * the size limits when st is given). */
static int fits(qdi_nas_net *net, int max_layers, const network_mutator *st)
{
    char err[256];
    if ((int)net->n > max_layers)
        return 0;
    for (size_t i = 0; i < net->n; i++) {
        net->layers[i].line = (int)i + 1;
        net->layers[i].partner = -1;
    }
    if (qdi_nas_check(net, err, sizeof err) != QD_OK)
        return 0;
    return !st || (net->params <= st->max_params && (double)net->flops <= st->max_flops);
}

static char *random_network(const network_mutator *st, gsl_rng *r)
{
    qdi_nas_layer L[QDI_NAS_MAX_LAYERS];
    qdi_nas_net net = {L, 0, 0, 0, 0, 0};
    for (int tries = 0; tries < 100; tries++) {
        qdi_nas_shape s = st->input;
        int convs = s.flat ? 0 : pick(r, 4), dense = pick(r, 3);
        net.n = 0;
        L[net.n++] = layer(QDI_NAS_INPUT, 0, 0, QDI_ACT_NONE);
        L[0].out = st->input;
        for (int i = 0; i < convs; i++) {
            qdi_nas_layer c = layer(QDI_NAS_CONV, widths[pick(r, 4)], 3, random_act(r));
            c.same = pick(r, 2);
            L[net.n++] = c;
            if (pick(r, 3) == 0) {
                L[net.n++] = layer(QDI_NAS_RES_BEGIN, 0, 0, QDI_ACT_NONE);
                c.same = 1;
                L[net.n++] = c;
                L[net.n++] = layer(QDI_NAS_RES_END, 0, 0, QDI_ACT_NONE);
            }
            if (pick(r, 2))
                L[net.n++] = random_layer(r, (qdi_nas_shape){4, 4, 1, 0});
        }
        if (!s.flat)
            L[net.n++] = layer(QDI_NAS_FLATTEN, 0, 0, QDI_ACT_NONE);
        for (int i = 0; i < dense; i++)
            L[net.n++] = random_layer(r, (qdi_nas_shape){1, 1, 1, 1});
        L[net.n++] = layer(QDI_NAS_DENSE, st->classes, 0, QDI_ACT_SOFTMAX);
        if (fits(&net, st->max_layers, st))
            return qdi_nas_print(&net);
    }
    /* the smallest network always fits */
    net.n = 0;
    L[net.n++] = layer(QDI_NAS_INPUT, 0, 0, QDI_ACT_NONE);
    L[0].out = st->input;
    if (!st->input.flat)
        L[net.n++] = layer(QDI_NAS_FLATTEN, 0, 0, QDI_ACT_NONE);
    L[net.n++] = layer(QDI_NAS_DENSE, st->classes, 0, QDI_ACT_SOFTMAX);
    fits(&net, QDI_NAS_MAX_LAYERS, NULL);
    return qdi_nas_print(&net);
}

static void insert(qdi_nas_net *net, size_t at, qdi_nas_layer L)
{
    memmove(net->layers + at + 1, net->layers + at, (net->n - at) * sizeof L);
    net->layers[at] = L;
    net->n++;
}

static void erase(qdi_nas_net *net, size_t at)
{
    memmove(net->layers + at, net->layers + at + 1, (net->n - at - 1) * sizeof *net->layers);
    net->n--;
}

/* One random edit of net (room for 3 more layers); 0 when none applied. */
static int edit(qdi_nas_net *net, gsl_rng *r)
{
    size_t n = net->n, at = 1 + (size_t)pick(r, (int)(n - 1)); /* 1 .. n-1 */
    qdi_nas_layer *L = &net->layers[at < n - 1 ? at : n - 2];
    switch (pick(r, 5)) {
    case 0: /* add */
        insert(net, at, random_layer(r, net->layers[at - 1].out));
        return 1;
    case 1: /* remove */
        if (at >= n - 1)
            return 0;
        if (net->layers[at].kind == QDI_NAS_RES_BEGIN || net->layers[at].kind == QDI_NAS_RES_END) {
            size_t p = (size_t)net->layers[at].partner, hi = p > at ? p : at, lo = p > at ? at : p;
            erase(net, hi);
            erase(net, lo);
            return 1;
        }
        erase(net, at);
        return 1;
    case 2: /* resize */
        if (L->kind != QDI_NAS_CONV && L->kind != QDI_NAS_DENSE)
            return 0;
        L->units = pick(r, 2) ? L->units * 2 : (L->units > 1 ? L->units / 2 : 2);
        if (L->units > 512)
            return 0;
        return 1;
    case 3: { /* residual block around a shape-keeping layer */
        qdi_nas_shape s = net->layers[at - 1].out;
        qdi_nas_layer B = layer(s.flat ? QDI_NAS_DENSE : QDI_NAS_CONV, s.c, 3, random_act(r));
        B.same = 1;
        if (s.c > 512)
            return 0;
        insert(net, at, layer(QDI_NAS_RES_END, 0, 0, QDI_ACT_NONE));
        insert(net, at, B);
        insert(net, at, layer(QDI_NAS_RES_BEGIN, 0, 0, QDI_ACT_NONE));
        return 1;
    }
    default: { /* activation */
        qdi_nas_act a = acts[pick(r, 4)];
        if ((L->kind != QDI_NAS_CONV && L->kind != QDI_NAS_DENSE) || L->act == a)
            return 0;
        L->act = a;
        return 1;
    }
    }
}

static char *mutate(const network_mutator *st, const char *parent, gsl_rng *r)
{
    qdi_nas_net net, work;
    qdi_nas_layer buf[QDI_NAS_MAX_LAYERS + 3];
    char err[256], *child = NULL;
    if (qdi_nas_parse(parent, &net, err, sizeof err) != QD_OK)
        return random_network(st, r);
    for (int tries = 0; tries < 50 && !child; tries++) {
        memcpy(buf, net.layers, net.n * sizeof *buf);
        work = (qdi_nas_net){buf, net.n, 0, 0, 0, 0};
        fits(&work, QDI_NAS_MAX_LAYERS, NULL); /* partners of the copy */
        if (work.n + 3 > QDI_NAS_MAX_LAYERS || !edit(&work, r) || !fits(&work, st->max_layers, st))
            continue;
        child = qdi_nas_print(&work);
        if (child && strcmp(child, parent) == 0) {
            free(child);
            child = NULL;
        }
    }
    qdi_nas_free(&net);
    return child ? child : random_network(st, r);
}

/* The size limits: the config's, else the nas evaluator's (its defaults
 * when it sets none), else none. */
static int read_limits(qd_config *cfg, network_mutator *st)
{
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(cfg->root->json, "evaluator");
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(ev, "type");
    const cJSON *mp = cJSON_GetObjectItemCaseSensitive(ev, "max_params");
    const cJSON *mf = cJSON_GetObjectItemCaseSensitive(ev, "max_flops");
    int nas = cJSON_IsString(type) && strcmp(type->valuestring, "nas") == 0;
    st->max_params = nas ? 200000 : LONG_MAX;
    st->max_flops = nas ? 1e6 : HUGE_VAL;
    if (nas && cJSON_IsNumber(mp) && mp->valuedouble >= 1 && mp->valuedouble <= QDI_JSON_COUNT_MAX)
        st->max_params = (long)mp->valuedouble;
    if (nas && cJSON_IsNumber(mf) && mf->valuedouble > 0)
        st->max_flops = mf->valuedouble;
    return qd_config_int(cfg, "max_params", &st->max_params, ">= 1") ||
           qd_config_number(cfg, "max_flops", &st->max_flops, "> 0");
}

static int network_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    static const char *const modes[] = {"grammar", "random", NULL};
    network_mutator *st = m->state;
    const char *input = "8x8x1";
    long batch = 8, classes = 10, max_layers = 16, initial = 16;
    int mode = 0;
    if (space->kind != QD_GENOME_TEXT)
        return qd_config_fail(cfg, "type", "\"network\" writes networks, but the evaluator's genome is real-valued");
    if (qd_config_choice(cfg, "mode", modes, &mode) || qd_config_int(cfg, "batch", &batch, ">= 1 <= 100000") ||
        qd_config_string(cfg, "input", &input) || qd_config_int(cfg, "classes", &classes, ">= 2 <= 4096") ||
        qd_config_int(cfg, "max_layers", &max_layers, ">= 3 <= 60") ||
        qd_config_int(cfg, "initial", &initial, ">= 0") || read_limits(cfg, st))
        return QD_EINVAL;
    if (qdi_nas_parse_shape(input, &st->input) != QD_OK)
        return qd_config_fail(cfg, "input", "must be a shape HxWxC or a size N, got \"%s\"", input);
    st->random_only = mode == 1;
    st->classes = (int)classes;
    st->max_layers = (int)max_layers;
    st->initial = (uint64_t)initial;
    m->batch = (size_t)batch;
    return QD_OK;
}

static int network_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    network_mutator *st = m->state;
    for (size_t j = 0; j < n; j++) {
        char *text;
        int rc;
        if (st->random_only || st->asked < st->initial || qd_archive_filled(a) == 0) {
            text = random_network(st, m->rng);
        } else {
            size_t cell;
            qd_elite e;
            qd_archive_sample(a, m->rng, &cell);
            qd_archive_elite(a, cell, &e);
            text = mutate(st, e.text, m->rng);
        }
        if (!text)
            return qd_mutator_fail(m, QD_ENOMEM, "network: out of memory");
        rc = qd_solution_set_text(&jobs[j].sol, text);
        free(text);
        if (rc)
            return qd_mutator_fail(m, rc, "network: out of memory");
        st->asked++;
    }
    return QD_OK;
}

static int network_save(const qd_mutator *m, cJSON *out)
{
    const network_mutator *st = m->state;
    return cJSON_AddNumberToObject(out, "asked", (double)st->asked) ? QD_OK : QD_ENOMEM;
}

static int network_load(qd_mutator *m, const cJSON *in)
{
    network_mutator *st = m->state;
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(in, "asked");
    if (!qdi_json_is_whole(asked, 0, QDI_JSON_COUNT_MAX))
        return qd_mutator_fail(m, QD_EFORMAT, "network: checkpoint has no \"asked\" count");
    st->asked = (uint64_t)asked->valuedouble;
    return QD_OK;
}

const qd_mutator_type qdi_mutator_network = {
    .name = "network",
    .state_size = sizeof(network_mutator),
    .flags = QD_MUTATOR_ANY_N | QD_MUTATOR_NO_RNG,
    .init = network_init,
    .ask = network_ask,
    .save = network_save,
    .load = network_load,
};
