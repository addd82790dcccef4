/* nas.c - the "nas" evaluator of LLMatic-style architecture search (Nasir
 * et al. 2023): a genome is a network in the language of nas_lang.c; it is
 * parsed, checked against the data set (input shape, classes) and the size
 * limits, trained by nas_train.c on the training split, and scored by its
 * held-out accuracy (in percent; the loss goes into meta).
 *
 * Measures are the paper's shape features (maximum layer width / depth, and
 * FLOPs) or any two of width_depth, flops, params, depth, width, each mapped
 * to [0, 1] over a box: log scale for the sizes, linear for depth, the box
 * from the language's limits and the config's max_params / max_flops unless
 * "box" gives it. (The authors' code leaves its measures unnormalised while
 * its CVT centroids lie in [0, 1]^2, so most networks crowd a few niches.)
 * A network that does not parse, does not fit the data or does not train is
 * a failed job with its reason, never an elite.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/nas.h"
#include "src/config_internal.h"

#ifndef QD_DATADIR
#define QD_DATADIR ""
#endif
#ifndef QD_SRCDATADIR
#define QD_SRCDATADIR ""
#endif

enum { M_WIDTH_DEPTH, M_FLOPS, M_PARAMS, M_DEPTH, M_WIDTH, M_COUNT };
static const char *const measure_names[] = {"width_depth", "flops", "params", "depth", "width", NULL};

typedef struct nas_state {
    qdi_nas_data train, test;
    qdi_nas_shape input;
    qdi_nas_train_options opt;
    long max_params;
    double max_flops;
    int measure[2];
    double box[2][2];
} nas_state;

/* "digits" is the shipped data set: $ELITES_DATA_DIR, the installed data
 * folder, then the source tree's data/. */
static int read_data(qd_config *cfg, const char *name, qdi_nas_data *d)
{
    char err[1024], path[4096];
    const char *dirs[3] = {getenv("ELITES_DATA_DIR"), QD_DATADIR, QD_SRCDATADIR};
    if (strcmp(name, "digits") != 0) {
        if (qdi_nas_data_read(name, d, err, sizeof err))
            return qd_config_fail(cfg, "data", "%s", err);
        return QD_OK;
    }
    for (int i = 0; i < 3; i++) {
        FILE *fp;
        if (!dirs[i] || !*dirs[i])
            continue;
        snprintf(path, sizeof path, "%s/digits.csv", dirs[i]);
        if ((fp = fopen(path, "r")) != NULL) {
            fclose(fp);
            if (qdi_nas_data_read(path, d, err, sizeof err))
                return qd_config_fail(cfg, "data", "%s", err);
            return QD_OK;
        }
    }
    return qd_config_fail(cfg, "data", "\"digits\": digits.csv is in none of $ELITES_DATA_DIR, %s, %s", QD_DATADIR,
                          QD_SRCDATADIR);
}

static int read_shape(qd_config *cfg, const qdi_nas_data *d, qdi_nas_shape *s)
{
    const char *text = NULL;
    char buf[64];
    if (!qd_config_has(cfg, "input")) {
        if (d->features == 64)
            *s = (qdi_nas_shape){8, 8, 1, 0};
        else
            *s = (qdi_nas_shape){1, 1, (int)d->features, 1};
        cJSON_AddStringToObject(qd_config_json(cfg), "input", qdi_nas_shape_text(*s, buf));
        return QD_OK;
    }
    if (qd_config_string(cfg, "input", &text))
        return QD_EINVAL;
    if (qdi_nas_parse_shape(text, s))
        return qd_config_fail(cfg, "input", "must be a shape HxWxC or a size N, got \"%s\"", text);
    if (qdi_nas_shape_size(*s) != d->features)
        return qd_config_fail(cfg, "input", "\"%s\" holds %zu numbers, but the data set has %zu features", text,
                              qdi_nas_shape_size(*s), d->features);
    return QD_OK;
}

static void default_box(const nas_state *st, int measure, double *box)
{
    double in = (double)qdi_nas_shape_size(st->input), K = (double)st->train.classes;
    switch (measure) {
    case M_WIDTH_DEPTH: /* from a wide single layer down to one in twelve */
        box[0] = 0.5;
        box[1] = 512;
        break;
    case M_FLOPS: /* from input -> dense K softmax up to the limit */
        box[0] = 2 * in * K;
        box[1] = st->max_flops;
        break;
    case M_PARAMS:
        box[0] = in * K + K;
        box[1] = (double)st->max_params;
        break;
    case M_DEPTH:
        box[0] = 1;
        box[1] = 12;
        break;
    default:
        box[0] = K;
        box[1] = 1024;
    }
}

static int read_measures(qd_config *cfg, nas_state *st)
{
    char **list = NULL;
    size_t n = 0;
    st->measure[0] = M_WIDTH_DEPTH;
    st->measure[1] = M_FLOPS;
    if (!qd_config_has(cfg, "measures"))
        cJSON_AddItemToObject(qd_config_json(cfg), "measures",
                              cJSON_CreateStringArray((const char *const[]){"width_depth", "flops"}, 2));
    if (qdi_config_strings(cfg, "measures", 1, 2, &list, &n))
        return QD_EINVAL;
    for (size_t i = 0; i < n; i++) {
        int k;
        for (k = 0; measure_names[k]; k++)
            if (strcmp(list[i], measure_names[k]) == 0)
                break;
        if (n != 2 || !measure_names[k]) {
            qdi_strings_free(list);
            return qd_config_fail(cfg, "measures", "must be two of width_depth, flops, params, depth, width");
        }
        st->measure[i] = k;
    }
    qdi_strings_free(list);
    for (int i = 0; i < 2; i++)
        default_box(st, st->measure[i], st->box[i]);
    if (qd_config_has(cfg, "box")) {
        double *v = NULL;
        if (qd_config_numbers(cfg, "box", 1, &v, &n, "> 0"))
            return QD_EINVAL;
        if (n != 4 || !(v[0] < v[1]) || !(v[2] < v[3])) {
            free(v);
            return qd_config_fail(cfg, "box", "must be [lo0, hi0, lo1, hi1] with lo < hi");
        }
        memcpy(st->box, v, 4 * sizeof *v);
        free(v);
    }
    return QD_OK;
}

static int nas_init(qd_evaluator *ev, qd_config *cfg)
{
    static const char *const optimizers[] = {"adam", "sgd", NULL};
    nas_state *st = ev->state;
    const char *data = "digits";
    double test_fraction = 0.2, lr = -1, momentum = 0.9, budget = 0;
    long epochs = 8, batch = 32, split_seed = 1;
    int optimizer = 0;
    qdi_nas_data all;
    const cJSON *seed = cJSON_GetObjectItemCaseSensitive(cfg->root->json, "seed");
    if (qdi_json_is_whole(seed, 0, QDI_JSON_COUNT_MAX))
        split_seed = (long)seed->valuedouble;
    st->max_params = 200000;
    st->max_flops = 1e6;
    if (qd_config_string(cfg, "data", &data) || qd_config_number(cfg, "test_fraction", &test_fraction, "> 0 < 1") ||
        qd_config_int(cfg, "split_seed", &split_seed, ">= 0") || qd_config_int(cfg, "epochs", &epochs, ">= 1 <= 10000") ||
        qd_config_int(cfg, "batch_size", &batch, ">= 1 <= 4096") ||
        qd_config_choice(cfg, "optimizer", optimizers, &optimizer) ||
        qd_config_number(cfg, "momentum", &momentum, ">= 0 < 1") ||
        qd_config_number(cfg, "time_budget", &budget, ">= 0") ||
        qd_config_int(cfg, "max_params", &st->max_params, ">= 1") ||
        qd_config_number(cfg, "max_flops", &st->max_flops, "> 0"))
        return QD_EINVAL;
    lr = optimizer == 0 ? 0.003 : 0.05;
    if (qd_config_number(cfg, "learning_rate", &lr, "> 0"))
        return QD_EINVAL;
    if (read_data(cfg, data, &all))
        return QD_EINVAL;
    if (read_shape(cfg, &all, &st->input) ||
        qdi_nas_data_split(&all, test_fraction, qdi_seed_mix((uint64_t)split_seed, 0x6e6173), &st->train, &st->test)) {
        qdi_nas_data_free(&all);
        return qd_config_fail(cfg, "data", "could not be split: out of memory"), QD_EINVAL;
    }
    qdi_nas_data_free(&all);
    st->opt = (qdi_nas_train_options){.epochs = (int)epochs,
                                      .batch = (size_t)batch,
                                      .optimizer = optimizer == 0 ? QDI_OPT_ADAM : QDI_OPT_SGD,
                                      .lr = lr,
                                      .momentum = momentum,
                                      .time_budget = budget};
    if (read_measures(cfg, st) || qd_space_init(&ev->space, QD_GENOME_TEXT, 0, 2))
        return QD_EINVAL;
    for (int i = 0; i < 2; i++) {
        ev->space.measure_lower[i] = 0;
        ev->space.measure_upper[i] = 1;
        qd_space_set_measure_name(&ev->space, (size_t)i, measure_names[st->measure[i]]);
    }
    ev->space.objective_min = 0;
    ev->space.objective_max = 100;
    return QD_OK;
}

static double measure_value(const qdi_nas_net *net, int which)
{
    switch (which) {
    case M_WIDTH_DEPTH:
        return (double)net->max_width / (double)net->depth;
    case M_FLOPS:
        return (double)net->flops;
    case M_PARAMS:
        return (double)net->params;
    case M_DEPTH:
        return (double)net->depth;
    default:
        return (double)net->max_width;
    }
}

/* v mapped to [0, 1] over [lo, hi]: log scale, depth linear. */
static double normalise(double v, const double *box, int which)
{
    double t = which == M_DEPTH ? (v - box[0]) / (box[1] - box[0])
                                : (log(v) - log(box[0])) / (log(box[1]) - log(box[0]));
    return t < 0 ? 0 : t > 1 ? 1 : t;
}

static int nas_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const nas_state *st = ev->state;
    qdi_nas_net net;
    qdi_nas_train_options opt = st->opt;
    qdi_nas_train_result r;
    char err[400], a[48], b[48], meta[512];
    const qdi_nas_layer *in, *out;
    int rc;
    if (!sol->text)
        return qd_worker_fail(w, "nas: the genome has no network text");
    if (qdi_nas_parse(sol->text, &net, err, sizeof err))
        return qd_worker_fail(w, "network: %s", err);
    in = &net.layers[0];
    out = &net.layers[net.n - 1];
    if (in->out.h != st->input.h || in->out.w != st->input.w || in->out.c != st->input.c) {
        rc = qd_worker_fail(w, "network: line %d: input %s does not match the data set's examples, %s", in->line,
                            qdi_nas_shape_text(in->out, a), qdi_nas_shape_text(st->input, b));
        goto done;
    }
    if (out->units != st->train.classes) {
        rc = qd_worker_fail(w, "network: line %d: the output has %d classes, the data set %d", out->line, out->units,
                            st->train.classes);
        goto done;
    }
    if (net.params > st->max_params) {
        rc = qd_worker_fail(w, "network: %ld parameters, more than max_params (%ld)", net.params, st->max_params);
        goto done;
    }
    if ((double)net.flops > st->max_flops) {
        rc = qd_worker_fail(w, "network: %ld FLOPs, more than max_flops (%g)", net.flops, st->max_flops);
        goto done;
    }
    opt.deadline = w->deadline;
    if (qdi_nas_train(&net, &st->train, &st->test, &opt, w->rng, &r, err, sizeof err)) {
        rc = qd_worker_fail(w, "training: %s", err);
        goto done;
    }
    sol->objective = 100.0 * r.accuracy;
    for (size_t i = 0; i < 2 && i < sol->m; i++)
        sol->measures[i] = normalise(measure_value(&net, st->measure[i]), st->box[i], st->measure[i]);
    snprintf(meta, sizeof meta,
             "{\"accuracy\":%.6g,\"test_loss\":%.6g,\"train_loss\":%.6g,\"params\":%ld,\"flops\":%ld,\"depth\":%d,"
             "\"max_width\":%d,\"epochs\":%d}",
             r.accuracy, r.test_loss, r.train_loss, net.params, net.flops, net.depth, net.max_width, r.epochs);
    rc = qd_solution_set_meta(sol, meta);
done:
    qdi_nas_free(&net);
    return rc;
}

static void nas_fini(qd_evaluator *ev)
{
    nas_state *st = ev->state;
    qdi_nas_data_free(&st->train);
    qdi_nas_data_free(&st->test);
}

const qd_evaluator_type qdi_evaluator_nas = {
    .name = "nas",
    .state_size = sizeof(nas_state),
    .init = nas_init,
    .evaluate = nas_evaluate,
    .fini = nas_fini,
};
