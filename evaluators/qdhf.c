/* qdhf.c - the "qdhf" evaluator: measures learned from similarity judgments
 * (Ding et al., "Quality Diversity through Human Feedback", offline mode).
 *
 * It wraps a base evaluator (e.g. the arm), which gives the objective and
 * the ground-truth measures. Before the search it draws `triplets` triplets
 * of random genomes (uniform in the base's bounds), has them judged ("of x1
 * and x2, which is closer to ref?") by the simulated judge, which answers
 * from the base's ground-truth measures, or reads judgments from a JSONL
 * file (people's answers), and trains the linear projection of
 * qdhf_learn.c from the genomes' features to `latent` measures. During the
 * search each candidate's measures are its projected features; the base's
 * own measures are not used. The measure ranges are given ("ranges") or the
 * min / max of the projected training genomes (later values outside them
 * land in the archive's edge cells).
 *
 * Features: "genome" (the genome itself) or "arm" (cos and sin of the
 * cumulative joint angles, the QDHF authors' arm features: the end
 * effector's position is a linear function of them).
 *
 * What the training reached is written back into the config as "learned"
 * (triplets, split, epochs, train / validation accuracy, ranges), so it is
 * in archive.json's config echo. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/qdhf_learn.h"

enum { FEATURES_GENOME, FEATURES_ARM };

typedef struct qdhf {
    qd_evaluator *base;
    int features;
    size_t dim, d, k, mb; /* genome length, feature length, latent measures, base measures */
    qdi_projection proj;
} qdhf;

/* Per-worker state: the base's own state and scratch. */
typedef struct qdhf_worker {
    void *base_state;
    double *truth, *f;
} qdhf_worker;

static void features_of(const qdhf *q, const double *x, double *f)
{
    if (q->features == FEATURES_GENOME) {
        memcpy(f, x, q->dim * sizeof *f);
        return;
    }
    double angle = 0;
    for (size_t i = 0; i < q->dim; i++) {
        angle += x[i];
        f[i] = cos(angle);
        f[q->dim + i] = sin(angle);
    }
}

static int base_worker_init(const qdhf *q, qd_worker *w)
{
    qdhf_worker *qw = calloc(1, sizeof *qw);
    if (!qw)
        return QD_ENOMEM;
    qw->truth = malloc((q->mb + 1) * sizeof *qw->truth);
    qw->f = malloc((q->d + 1) * sizeof *qw->f);
    w->eval_state = NULL;
    if (!qw->truth || !qw->f || (q->base->type->worker_init && q->base->type->worker_init(q->base, w) != QD_OK)) {
        free(qw->truth);
        free(qw->f);
        free(qw);
        return QD_EEVAL;
    }
    qw->base_state = w->eval_state;
    w->eval_state = qw;
    return QD_OK;
}

static void base_worker_fini(const qdhf *q, qd_worker *w)
{
    qdhf_worker *qw = w->eval_state;
    if (!qw)
        return;
    w->eval_state = qw->base_state;
    if (q->base->type->worker_fini)
        q->base->type->worker_fini(q->base, w);
    w->eval_state = NULL;
    free(qw->truth);
    free(qw->f);
    free(qw);
}

/* Runs the base evaluator on sol with the ground-truth measures going to
 * qw->truth; the objective and meta land in sol. */
static int base_evaluate(const qdhf *q, qd_solution *sol, qd_worker *w)
{
    qdhf_worker *qw = w->eval_state;
    qd_solution tmp = *sol;
    int rc;
    tmp.measures = qw->truth;
    tmp.m = q->mb;
    w->eval_state = qw->base_state;
    rc = q->base->type->evaluate(q->base, &tmp, w);
    w->eval_state = qw;
    sol->objective = tmp.objective;
    sol->meta = tmp.meta;
    sol->text = tmp.text;
    sol->lineage = tmp.lineage;
    return rc;
}

/* Reads judgments from a JSONL file: {"ref": [...], "x1": [...], "x2":
 * [...], "closer": 1 or 2} per line (genomes of the base's length). Fills
 * the genome table (3 rows per judgment) and the labels. */
static int read_judgments(qd_config *cfg, const char *path, size_t dim, double **genomes, qdi_triplet **t, size_t *n)
{
    char *text = NULL, err[512], *line, *save = NULL;
    size_t cap = 0, lineno = 0;
    static const char *const keys[] = {"ref", "x1", "x2"};
    int rc = QD_OK;
    *n = 0;
    if (qdi_read_file(path, &text, NULL, err, sizeof err) != QD_OK)
        return qd_config_fail(cfg, "judgments_file", "could not be read: %s", err);
    for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        cJSON *j;
        const cJSON *closer;
        lineno++;
        if (!*line)
            continue;
        if (!(j = cJSON_Parse(line))) {
            rc = qd_config_fail(cfg, "judgments_file", "%s line %zu is not JSON", path, lineno);
            break;
        }
        if (*n == cap) {
            cap = cap ? 2 * cap : 256;
            double *g = realloc(*genomes, 3 * cap * dim * sizeof *g);
            qdi_triplet *tt = g ? realloc(*t, cap * sizeof *tt) : NULL;
            if (g)
                *genomes = g;
            if (tt)
                *t = tt;
            if (!g || !tt) {
                cJSON_Delete(j);
                rc = qd_config_fail(cfg, "judgments_file", "could not be read: out of memory");
                break;
            }
        }
        for (int r = 0; r < 3 && rc == QD_OK; r++)
            if (qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(j, keys[r]), *genomes + (3 * *n + r) * dim,
                                     dim) != QD_OK)
                rc = qd_config_fail(cfg, "judgments_file", "%s line %zu: \"%s\" must be an array of %zu numbers", path,
                                    lineno, keys[r], dim);
        closer = cJSON_GetObjectItemCaseSensitive(j, "closer");
        if (rc == QD_OK && !(cJSON_IsNumber(closer) && (closer->valuedouble == 1 || closer->valuedouble == 2)))
            rc = qd_config_fail(cfg, "judgments_file", "%s line %zu: \"closer\" must be 1 or 2", path, lineno);
        int y = rc == QD_OK && closer->valuedouble == 2 ? 1 : -1;
        cJSON_Delete(j);
        if (rc)
            break;
        (*t)[*n] = (qdi_triplet){3 * *n, 3 * *n + 1, 3 * *n + 2, y};
        (*n)++;
    }
    free(text);
    if (rc == QD_OK && *n < 2)
        rc = qd_config_fail(cfg, "judgments_file", "%s holds %zu judgments; at least 2 are needed", path, *n);
    return rc;
}

/* Draws 3 n random genomes and judges each consecutive three with the
 * simulated judge (the base's measures). */
static int simulate_judgments(qd_config *cfg, qdhf *q, const qd_space *bs, size_t n, gsl_rng *rng, double **genomes,
                              qdi_triplet **t)
{
    qd_worker w = {0};
    double *truth = malloc(3 * n * q->mb * sizeof *truth);
    int rc = QD_OK;
    *genomes = malloc(3 * n * q->dim * sizeof **genomes);
    *t = malloc(n * sizeof **t);
    if (!truth || !*genomes || !*t || !(w.rng = gsl_rng_alloc(gsl_rng_mt19937)) || base_worker_init(q, &w)) {
        free(truth);
        if (w.rng)
            gsl_rng_free(w.rng);
        return qd_config_fail(cfg, "triplets", "could not be set up: out of memory");
    }
    for (size_t i = 0; i < 3 * n && rc == QD_OK; i++) {
        double *x = *genomes + i * q->dim, m[1];
        qd_solution s = {.x = x, .n = q->dim, .measures = m, .m = 0};
        for (size_t j = 0; j < q->dim; j++)
            x[j] = bs->lower[j] + (bs->upper[j] - bs->lower[j]) * gsl_rng_uniform(rng);
        qdi_rng_seed(w.rng, qdi_seed_mix(gsl_rng_get(rng), i));
        if (base_evaluate(q, &s, &w) != QD_OK)
            rc = qd_config_fail(cfg, "base", "failed on a random genome: %s", w.error);
        else
            memcpy(truth + i * q->mb, ((qdhf_worker *)w.eval_state)->truth, q->mb * sizeof *truth);
        qd_solution_clear(&s);
    }
    for (size_t i = 0; i < n && rc == QD_OK; i++)
        (*t)[i] = (qdi_triplet){3 * i, 3 * i + 1, 3 * i + 2, qdi_judge_simulated(truth, q->mb, 3 * i, 3 * i + 1, 3 * i + 2)};
    base_worker_fini(q, &w);
    gsl_rng_free(w.rng);
    free(truth);
    return rc;
}

/* Writes what training reached into the config as "learned". */
static int report_learned(qd_config *cfg, const qdi_train_report *r, size_t n, const qd_space *space)
{
    cJSON *json = qd_config_json(cfg), *o;
    cJSON_DeleteItemFromObjectCaseSensitive(json, "learned");
    if (!(o = cJSON_AddObjectToObject(json, "learned")))
        return QD_ENOMEM;
    cJSON_AddNumberToObject(o, "triplets", (double)n);
    cJSON_AddNumberToObject(o, "train", (double)r->train_size);
    cJSON_AddNumberToObject(o, "validation", (double)r->valid_size);
    cJSON_AddNumberToObject(o, "epochs", (double)r->epochs);
    cJSON_AddNumberToObject(o, "train_accuracy", r->train_accuracy);
    cJSON_AddNumberToObject(o, "validation_accuracy", r->valid_accuracy);
    cJSON *ranges = cJSON_AddArrayToObject(o, "ranges");
    for (size_t k = 0; ranges && k < space->measures; k++) {
        double pair[2] = {space->measure_lower[k], space->measure_upper[k]};
        cJSON_AddItemToArray(ranges, cJSON_CreateDoubleArray(pair, 2));
    }
    qd_config_has(cfg, "learned"); /* an output: known, not read */
    return QD_OK;
}

/* Measure ranges: "ranges" ([[lo, hi], ...] or one pair for all) or the
 * min / max of the projected rows of the feature table. */
static int set_ranges(qd_config *cfg, const qdhf *q, qd_space *space, const double *features, size_t rows)
{
    double *z = malloc(q->k * sizeof *z);
    if (!z)
        return qd_config_fail(cfg, "ranges", "could not be set: out of memory");
    for (size_t k = 0; k < q->k; k++) {
        space->measure_lower[k] = INFINITY;
        space->measure_upper[k] = -INFINITY;
    }
    for (size_t r = 0; r < rows; r++) {
        qdi_projection_apply(&q->proj, features + r * q->d, z);
        for (size_t k = 0; k < q->k; k++) {
            space->measure_lower[k] = fmin(space->measure_lower[k], z[k]);
            space->measure_upper[k] = fmax(space->measure_upper[k], z[k]);
        }
    }
    free(z);
    if (qd_config_has(cfg, "ranges")) {
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(qd_config_json(cfg), "ranges");
        int one = cJSON_GetArraySize(r) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(r, 0));
        for (size_t k = 0; k < q->k; k++) {
            double pair[2];
            if (qdi_json_get_doubles(one ? r : cJSON_GetArrayItem(r, (int)k), pair, 2) != QD_OK ||
                !(isfinite(pair[0]) && isfinite(pair[1]) && pair[1] > pair[0]) ||
                (!one && (size_t)cJSON_GetArraySize(r) != q->k))
                return qd_config_fail(cfg, "ranges", "must be [low, high] or one [low, high] per latent measure (%zu), "
                                                     "with low < high",
                                      q->k);
            space->measure_lower[k] = pair[0];
            space->measure_upper[k] = pair[1];
        }
    }
    for (size_t k = 0; k < q->k; k++)
        if (!(space->measure_upper[k] > space->measure_lower[k])) { /* all projections equal */
            space->measure_lower[k] -= 1;
            space->measure_upper[k] += 1;
        }
    return QD_OK;
}

static int qdhf_init(qd_evaluator *ev, qd_config *cfg)
{
    static const char *const feature_kinds[] = {"genome", "arm", NULL};
    qdhf *q = ev->state;
    qd_config *bc;
    const char *file = NULL;
    long latent = 2, triplets = 1000, seed = 1, batch = 32, epochs = 1000;
    qdi_train_options train;
    qdi_train_report report;
    double *genomes = NULL, *features = NULL;
    qdi_triplet *t = NULL;
    size_t n = 0;
    gsl_rng *rng = NULL;
    int rc = QD_EINVAL;
    qdi_train_defaults(&train);
    if (qd_config_object(cfg, "base", 1, &bc) || qd_evaluator_new(bc, &q->base) ||
        qd_config_choice(cfg, "features", feature_kinds, &q->features) ||
        qd_config_int(cfg, "latent", &latent, ">= 1 <= 64") ||
        qd_config_int(cfg, "triplets", &triplets, ">= 2 <= 100000000") ||
        qd_config_string(cfg, "judgments_file", &file) || qd_config_int(cfg, "seed", &seed, ">= 0") ||
        qd_config_number(cfg, "lr", &train.lr, "> 0") || qd_config_int(cfg, "batch", &batch, ">= 1") ||
        qd_config_int(cfg, "epochs", &epochs, ">= 1 <= 1000000") ||
        qd_config_number(cfg, "margin", &train.margin, ">= 0"))
        return QD_EINVAL;
    qd_config_has(cfg, "ranges"); /* read after training */
    train.batch = (size_t)batch;
    train.max_epochs = (size_t)epochs;
    const qd_space *bs = &q->base->space;
    if (bs->kind != QD_GENOME_REAL)
        return qd_config_fail(cfg, "base", "must have a real-valued genome (its features are learned from)");
    for (size_t j = 0; !file && j < bs->dim; j++)
        if (!isfinite(bs->lower[j]) || !isfinite(bs->upper[j]))
            return qd_config_fail(cfg, "base", "must have finite genome bounds to draw random genomes from");
    q->dim = bs->dim;
    q->d = q->features == FEATURES_ARM ? 2 * q->dim : q->dim;
    q->k = (size_t)latent;
    q->mb = bs->measures;
    if (qd_space_init(&ev->space, QD_GENOME_REAL, q->dim, q->k))
        return qd_config_fail(cfg, "latent", "could not be set up: out of memory");
    memcpy(ev->space.lower, bs->lower, q->dim * sizeof *bs->lower);
    memcpy(ev->space.upper, bs->upper, q->dim * sizeof *bs->upper);
    ev->space.objective_min = bs->objective_min;
    ev->space.objective_max = bs->objective_max;
    for (size_t k = 0; k < q->k; k++) {
        char name[32];
        snprintf(name, sizeof name, "learned_%zu", k);
        qd_space_set_measure_name(&ev->space, k, name);
    }
    if (!(rng = gsl_rng_alloc(gsl_rng_mt19937))) {
        qd_config_fail(cfg, NULL, "could not be set up: out of memory");
        goto done;
    }
    qdi_rng_seed(rng, (uint64_t)seed);
    if (file ? read_judgments(cfg, file, q->dim, &genomes, &t, &n)
             : simulate_judgments(cfg, q, bs, (size_t)triplets, rng, &genomes, &t))
        goto done;
    if (!file)
        n = (size_t)triplets;
    if (!(features = malloc(3 * n * q->d * sizeof *features))) {
        qd_config_fail(cfg, NULL, "could not be set up: out of memory");
        goto done;
    }
    for (size_t r = 0; r < 3 * n; r++)
        features_of(q, genomes + r * q->dim, features + r * q->d);
    q->proj.d = q->d;
    q->proj.k = q->k;
    if (qdi_projection_train(&q->proj, features, t, n, &train, rng, &report) != QD_OK) {
        qd_config_fail(cfg, NULL, "could not train the projection: out of memory");
        goto done;
    }
    if (set_ranges(cfg, q, &ev->space, features, 3 * n) || report_learned(cfg, &report, n, &ev->space))
        goto done;
    rc = QD_OK;
done:
    if (rng)
        gsl_rng_free(rng);
    free(genomes);
    free(features);
    free(t);
    return rc;
}

static int qdhf_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const qdhf *q = ev->state;
    qdhf_worker *qw = w->eval_state;
    int rc;
    if (sol->n != q->dim)
        return qd_worker_fail(w, "qdhf: expected %zu numbers, got %zu", q->dim, sol->n);
    if ((rc = base_evaluate(q, sol, w)) != QD_OK)
        return rc;
    features_of(q, sol->x, qw->f);
    qdi_projection_apply(&q->proj, qw->f, sol->measures);
    return QD_OK;
}

static int qdhf_worker_init(const qd_evaluator *ev, qd_worker *w)
{
    return base_worker_init(ev->state, w) == QD_OK ? QD_OK : qd_worker_fail(w, "qdhf: could not set up a worker");
}

static void qdhf_worker_fini(const qd_evaluator *ev, qd_worker *w)
{
    base_worker_fini(ev->state, w);
}

static void qdhf_fini(qd_evaluator *ev)
{
    qdhf *q = ev->state;
    qd_evaluator_free(q->base);
    qdi_projection_free(&q->proj);
}

const qd_evaluator_type qdi_evaluator_qdhf = {
    .name = "qdhf",
    .state_size = sizeof(qdhf),
    .init = qdhf_init,
    .evaluate = qdhf_evaluate,
    .worker_init = qdhf_worker_init,
    .worker_fini = qdhf_worker_fini,
    .fini = qdhf_fini,
};
