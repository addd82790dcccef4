/* qdhf.c - the "qdhf" evaluator: measures learned from similarity judgments
 * (Ding et al., "Quality Diversity through Human Feedback").
 *
 * It wraps a base evaluator (e.g. the arm), which gives the objective and
 * the ground-truth measures. Before the search it draws `triplets` triplets
 * of random genomes (uniform in the base's bounds), has them judged ("of x1
 * and x2, which is closer to ref?") by the simulated judge (qdhf_judge.c),
 * or reads judgments from a JSONL file (people's answers), and trains the
 * linear projection of qdhf_learn.c from the genomes' features to `latent`
 * measures. During the search each candidate's measures are its projected
 * features; the base's own measures are the ground truth the loop reports
 * QD score and coverage in (the truth hooks). The measure ranges are given
 * ("ranges") or the min / max of the projected training genomes (later
 * values outside them land in the archive's edge cells).
 *
 * Mode "online" (the paper's headline setting) trains again at the
 * iterations of "schedule" on triplets drawn from the archive, on all the
 * judgments so far, and the loop rebuilds the archive under the new
 * projection (qdhf_rounds.c). "projection": "pca" replaces the judgments by
 * the first principal components of the genomes' features (the paper's
 * unsupervised baseline), "autoencoder" by the latent code of an
 * auto-encoder fitted on them (its other one, autoencoder.c);
 * "projection_file" reuses a saved projection.
 *
 * Features: "genome" (the genome itself) or "arm" (cos and sin of the
 * cumulative joint angles, the QDHF authors' arm features: the end
 * effector's position is a linear function of them); "text" and
 * "embeddings" learn from a judgments_file keyed by text, and online
 * ("text" only) have the run's LLM judge the later rounds.
 *
 * What the first training reached is written back into the config as
 * "learned" (triplets, split, epochs, train / validation accuracy, ranges),
 * so it is in archive.json's config echo; every round's record and the
 * projection in use are in archive.json's "evaluator" object. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/qdhf.h"

void qdi_qdhf_features(const qdhf *q, const double *x, double *f)
{
    if (q->features != QDHF_FEATURES_ARM) {
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

int qdi_qdhf_solution_features(const qdhf *q, const qd_solution *sol, qd_llm_session *session, double *f, char *err,
                               size_t errlen)
{
    double *v;
    size_t n;
    if (q->features == QDHF_FEATURES_TEXT) {
        qdi_text_embed(&q->embedder, sol->text, f);
    } else if (q->features == QDHF_FEATURES_EMBEDDINGS) {
        if (!session) {
            qdi_set_error(err, errlen, "qdhf: features \"embeddings\" need the run's \"llm\" section");
            return QD_EEVAL;
        }
        if (qd_llm_embed(session, sol->text ? sol->text : "", &v, &n) != QD_OK) {
            qdi_set_error(err, errlen, "qdhf: embedding failed: %s", qd_llm_session_error(session));
            return QD_EEVAL;
        }
        if (n != q->d) {
            free(v);
            qdi_set_error(err, errlen, "qdhf: the embedding has %zu numbers, the projection takes %zu", n, q->d);
            return QD_EEVAL;
        }
        memcpy(f, v, n * sizeof *f);
        free(v);
    } else {
        qdi_qdhf_features(q, sol->x, f);
    }
    return QD_OK;
}

int qdi_qdhf_worker_init(const qdhf *q, qd_worker *w)
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

void qdi_qdhf_worker_fini(const qdhf *q, qd_worker *w)
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
 * truth; the objective, text, meta and lineage land in sol. */
static int base_evaluate(const qdhf *q, qd_solution *sol, qd_worker *w, double *truth)
{
    qdhf_worker *qw = w->eval_state;
    qd_solution tmp = *sol;
    int rc;
    tmp.measures = truth;
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

int qdi_qdhf_truth(const qdhf *q, const double *x, qd_worker *w, double *truth)
{
    qd_solution s = {.x = (double *)x, .n = q->dim, .objective = NAN};
    int rc = base_evaluate(q, &s, w, truth);
    qd_solution_clear(&s);
    return rc;
}

/* Writes what the first training reached into the config as "learned". */
static int report_learned(qd_config *cfg, const qdhf *q, const qd_space *space)
{
    cJSON *json = qd_config_json(cfg), *o, *r = cJSON_GetArrayItem(q->rounds, 0);
    cJSON_DeleteItemFromObjectCaseSensitive(json, "learned");
    if (!(o = cJSON_AddObjectToObject(json, "learned")))
        return QD_ENOMEM;
    static const char *const keys[] = {"triplets", "train", "validation", "epochs", "train_accuracy",
                                       "validation_accuracy"};
    for (size_t i = 0; r && i < QDI_ARRAY_LEN(keys); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, keys[i]);
        if (v)
            cJSON_AddItemToObject(o, keys[i], cJSON_Duplicate(v, 1));
    }
    cJSON *ranges = cJSON_AddArrayToObject(o, "ranges");
    for (size_t k = 0; ranges && k < space->measures; k++) {
        double pair[2] = {space->measure_lower[k], space->measure_upper[k]};
        cJSON_AddItemToArray(ranges, cJSON_CreateDoubleArray(pair, 2));
    }
    qd_config_has(cfg, "learned"); /* an output: known, not read */
    return QD_OK;
}

/* "ranges": [[lo, hi], ...] or one pair for all, kept in q->ranges. */
static int read_ranges(qd_config *cfg, qdhf *q)
{
    if (!qd_config_has(cfg, "ranges"))
        return QD_OK;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(qd_config_json(cfg), "ranges");
    int one = cJSON_GetArraySize(r) == 2 && cJSON_IsNumber(cJSON_GetArrayItem(r, 0));
    if (!(q->ranges = malloc(2 * q->k * sizeof *q->ranges)))
        return qd_config_fail(cfg, "ranges", "could not be read: out of memory");
    for (size_t k = 0; k < q->k; k++) {
        double *pair = q->ranges + 2 * k;
        if (qdi_json_get_doubles(one ? r : cJSON_GetArrayItem(r, (int)k), pair, 2) != QD_OK ||
            !(isfinite(pair[0]) && isfinite(pair[1]) && pair[1] > pair[0]) ||
            (!one && (size_t)cJSON_GetArraySize(r) != q->k))
            return qd_config_fail(cfg, "ranges", "must be [low, high] or one [low, high] per latent measure (%zu), "
                                                 "with low < high",
                                  q->k);
    }
    q->fixed_ranges = 1;
    return QD_OK;
}

/* "schedule": the iterations before which online rounds run, the first 1
 * (the round from random genomes, before the search). */
static int read_schedule(qd_config *cfg, qdhf *q)
{
    static const double authors[] = {1, 101, 251, 501};
    double *v = NULL;
    size_t n = 0;
    if (qd_config_numbers(cfg, "schedule", 0, &v, &n, ">= 1"))
        return QD_EINVAL;
    if (!v) {
        n = QDI_ARRAY_LEN(authors);
        if (!(v = malloc(sizeof authors)))
            return qd_config_fail(cfg, "schedule", "could not be read: out of memory");
        memcpy(v, authors, sizeof authors);
        cJSON_AddItemToObject(qd_config_json(cfg), "schedule", cJSON_CreateDoubleArray(v, (int)n));
    }
    int ok = n >= 1 && v[0] == 1;
    for (size_t i = 0; ok && i < n; i++)
        ok = v[i] == floor(v[i]) && (i == 0 || v[i] > v[i - 1]);
    if (ok && (q->schedule = malloc(n * sizeof *q->schedule)))
        for (size_t i = 0; i < n; i++)
            q->schedule[i] = (uint64_t)v[i];
    free(v);
    if (!ok)
        return qd_config_fail(cfg, "schedule", "must list increasing whole iteration numbers starting with 1");
    if (!q->schedule)
        return qd_config_fail(cfg, "schedule", "could not be read: out of memory");
    q->nschedule = n;
    return QD_OK;
}

/* The judge evaluator, when "judge" is given: same genome as the base. */
static int read_judge(qd_evaluator *ev, qd_config *cfg, qdhf *q)
{
    qd_config *jc;
    if (!qd_config_has(cfg, "judge"))
        return QD_OK;
    if (qd_config_object(cfg, "judge", 1, &jc) || qdi_evaluator_new(jc, ev->llm, ev->seed, &q->judge))
        return QD_EINVAL;
    if (q->features >= QDHF_FEATURES_TEXT)
        return qd_config_fail(cfg, "judge", "is not used with text features (judgments come from the file)");
    if (q->judge->space.kind != QD_GENOME_REAL || q->judge->space.dim != q->dim)
        return qd_config_fail(cfg, "judge", "must take the base's genome (%zu real numbers)", q->dim);
    q->mj = q->judge->space.measures;
    if (!(q->judge_worker.rng = gsl_rng_alloc(gsl_rng_mt19937)) ||
        (q->judge->type->worker_init && q->judge->type->worker_init(q->judge, &q->judge_worker) != QD_OK))
        return qd_config_fail(cfg, "judge", "could not be set up: %s", q->judge_worker.error);
    return QD_OK;
}

/* Reads every key (defaults depend on the mode). */
static int read_config(qd_evaluator *ev, qd_config *cfg, const char **file, const char **projection_file,
                       long *triplets)
{
    static const char *const feature_kinds[] = {"genome", "arm", "text", "embeddings", NULL};
    static const char *const modes[] = {"offline", "online", NULL};
    static const char *const projections[] = {"learned", "pca", "autoencoder", NULL};
    qdhf *q = ev->state;
    qd_config *bc;
    long latent = 2, seed = (long)ev->seed, batch = 32, epochs, min_epochs, edim = 256, hidden = 32;
    qdi_train_defaults(&q->train);
    if (qd_config_object(cfg, "base", 1, &bc) || qdi_evaluator_new(bc, ev->llm, ev->seed, &q->base) ||
        qd_config_choice(cfg, "mode", modes, &q->online) ||
        qd_config_choice(cfg, "projection", projections, &q->projection) ||
        qd_config_choice(cfg, "features", feature_kinds, &q->features) ||
        qd_config_int(cfg, "latent", &latent, ">= 1 <= 64"))
        return QD_EINVAL;
    *triplets = q->online ? 250 : 1000;
    min_epochs = q->online ? 200 : 0;
    epochs = q->projection == QDHF_AUTOENCODER ? 100 : 1000;
    if (qd_config_int(cfg, "triplets", triplets, ">= 2 <= 100000000") ||
        qd_config_string(cfg, "judgments_file", file) || qd_config_string(cfg, "projection_file", projection_file) ||
        (qd_config_has(cfg, "seed") && qd_config_int(cfg, "seed", &seed, ">= 0")) ||
        qd_config_number(cfg, "lr", &q->train.lr, "> 0") || qd_config_int(cfg, "batch", &batch, ">= 1") ||
        qd_config_int(cfg, "epochs", &epochs, ">= 1 <= 1000000") ||
        qd_config_int(cfg, "min_epochs", &min_epochs, ">= 0 <= 1000000") ||
        qd_config_number(cfg, "margin", &q->train.margin, ">= 0") ||
        qd_config_number(cfg, "noise", &q->noise, ">= 0 <= 1") ||
        (q->projection == QDHF_AUTOENCODER && qd_config_int(cfg, "hidden", &hidden, ">= 1 <= 1024")))
        return QD_EINVAL;
    q->ae = (qdi_ae_options){.hidden = (size_t)hidden, .epochs = (size_t)epochs, .batch = (size_t)batch,
                             .lr = q->train.lr};
    q->seed = (uint64_t)seed;
    q->train.batch = (size_t)batch;
    q->train.max_epochs = (size_t)epochs;
    q->train.min_epochs = (size_t)min_epochs;
    q->per_round = (size_t)*triplets;
    const qd_space *bs = &q->base->space;
    if (q->features >= QDHF_FEATURES_TEXT) {
        const char *kind = q->features == QDHF_FEATURES_TEXT ? "text" : "embeddings";
        if (q->features == QDHF_FEATURES_TEXT && qd_config_int(cfg, "embedding_dim", &edim, ">= 2 <= 1000000"))
            return QD_EINVAL;
        if (bs->kind != QD_GENOME_TEXT)
            return qd_config_fail(cfg, "features", "\"%s\" needs a base with a text genome", kind);
        if (q->projection != QDHF_LEARNED || (!*file && !*projection_file) ||
            (q->online && (q->features != QDHF_FEATURES_TEXT || !*file)))
            return qd_config_fail(cfg, "features", "\"%s\" learns offline from a judgments_file (or loads a "
                                                   "projection_file)%s",
                                  kind, q->online ? "; online, its first round is a judgments_file" : "");
        if (q->online && !ev->llm)
            return qd_config_fail(cfg, "mode", "\"online\" with text features needs the run's \"llm\" section (an "
                                               "LLM judges the later rounds)");
        if (q->features == QDHF_FEATURES_EMBEDDINGS && !ev->llm)
            return qd_config_fail(cfg, "features", "\"embeddings\" needs the run's \"llm\" section (/v1/embeddings)");
        if (q->features == QDHF_FEATURES_EMBEDDINGS && *projection_file)
            return qd_config_fail(cfg, "projection_file", "is not supported with features \"embeddings\" yet");
        q->dim = q->d = (size_t)edim; /* embeddings: set from the first one */
    } else if (bs->kind != QD_GENOME_REAL) {
        return qd_config_fail(cfg, "base", "must have a real-valued genome (its features are learned from)");
    } else {
        q->dim = bs->dim;
        q->d = q->features == QDHF_FEATURES_ARM ? 2 * q->dim : q->dim;
    }
    q->k = (size_t)latent;
    q->mb = q->mj = bs->measures;
    if (q->online && (*projection_file || (*file && q->features != QDHF_FEATURES_TEXT)))
        return qd_config_fail(cfg, *file ? "judgments_file" : "projection_file",
                              "cannot be used with mode \"online\" (its later rounds judge the archive's solutions)");
    if (*file && q->projection != QDHF_LEARNED)
        return qd_config_fail(cfg, "judgments_file", "is not used by projection \"%s\"", projections[q->projection]);
    for (size_t j = 0; !*file && !*projection_file && bs->kind == QD_GENOME_REAL && j < bs->dim; j++)
        if (!isfinite(bs->lower[j]) || !isfinite(bs->upper[j]))
            return qd_config_fail(cfg, "base", "must have finite genome bounds to draw random genomes from");
    if ((q->online && read_schedule(cfg, q)) || read_ranges(cfg, q) || read_judge(ev, cfg, q))
        return QD_EINVAL;
    return QD_OK;
}

/* The learned space: the base's genome, k measures "learned_i". */
static int declare_space(qd_evaluator *ev, qd_config *cfg)
{
    qdhf *q = ev->state;
    const qd_space *bs = &q->base->space;
    if (qd_space_init(&ev->space, bs->kind, bs->dim, q->k))
        return qd_config_fail(cfg, "latent", "could not be set up: out of memory");
    if (bs->dim) {
        memcpy(ev->space.lower, bs->lower, bs->dim * sizeof *bs->lower);
        memcpy(ev->space.upper, bs->upper, bs->dim * sizeof *bs->upper);
    }
    ev->space.objective_min = bs->objective_min;
    ev->space.objective_max = bs->objective_max;
    for (size_t k = 0; k < q->k; k++) {
        char name[32];
        static const char *const prefix[] = {"learned", "pca", "ae"};
        snprintf(name, sizeof name, "%s_%zu", prefix[q->projection], k);
        qd_space_set_measure_name(&ev->space, k, name);
    }
    return QD_OK;
}

static int qdhf_init(qd_evaluator *ev, qd_config *cfg)
{
    qdhf *q = ev->state;
    const char *file = NULL, *projection_file = NULL;
    long triplets = 0;
    gsl_rng *rng = NULL;
    char err[512];
    int rc = QD_EINVAL;
    if (read_config(ev, cfg, &file, &projection_file, &triplets) || declare_space(ev, cfg))
        return QD_EINVAL;
    qd_config_has(cfg, "ranges"); /* read by read_ranges */
    if (!(q->rounds = cJSON_CreateArray()) || !(rng = gsl_rng_alloc(gsl_rng_mt19937)) ||
        !(q->main.rng = gsl_rng_alloc(gsl_rng_mt19937)) || qdi_qdhf_worker_init(q, &q->main) != QD_OK) {
        qd_config_fail(cfg, NULL, "could not be set up: out of memory");
        goto done;
    }
    if (projection_file) {
        rc = qdi_qdhf_load_projection(cfg, q, &ev->space, projection_file);
        goto done;
    }
    qdi_rng_seed(rng, q->seed);
    if (file) {
        if ((q->features == QDHF_FEATURES_EMBEDDINGS || q->online) && qd_llm_session_new(ev->llm, 0, &q->session) != QD_OK) {
            qd_config_fail(cfg, "features", "could not open an LLM session: out of memory");
            goto done;
        }
        if (q->features >= QDHF_FEATURES_TEXT ? qdi_qdhf_read_text_judgments(cfg, q, file)
                                              : qdi_qdhf_read_judgments(cfg, q, file))
            goto done;
    } else {
        const qd_space *bs = &q->base->space;
        size_t n = (size_t)triplets;
        if (qdi_qdhf_reserve(q, n) != QD_OK) {
            qd_config_fail(cfg, "triplets", "could not be set up: out of memory");
            goto done;
        }
        for (size_t i = 0; i < 3 * n * q->dim; i++) {
            size_t j = i % q->dim;
            q->genomes[i] = bs->lower[j] + (bs->upper[j] - bs->lower[j]) * gsl_rng_uniform(rng);
        }
        if (q->projection == QDHF_LEARNED && qdi_qdhf_judge(q, n, rng, err, sizeof err) != QD_OK) {
            qd_config_fail(cfg, "base", "%s", err);
            goto done;
        }
        if (q->projection != QDHF_LEARNED)
            q->n = n; /* the genomes only, no answers */
    }
    if (qdi_qdhf_fit(q, &ev->space, q->genomes, 3 * q->n, rng, 0, err, sizeof err) != QD_OK) {
        qd_config_fail(cfg, NULL, "%s", err);
        goto done;
    }
    if (q->projection != QDHF_LEARNED)
        q->n = 0;
    if (report_learned(cfg, q, &ev->space))
        goto done;
    q->next_round = 1;
    ev->remeasures = q->online;
    rc = QD_OK;
done:
    if (rng)
        gsl_rng_free(rng);
    return rc;
}

static int qdhf_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const qdhf *q = ev->state;
    qdhf_worker *qw = w->eval_state;
    int rc;
    if (q->features < QDHF_FEATURES_TEXT && sol->n != q->dim)
        return qd_worker_fail(w, "qdhf: expected %zu numbers, got %zu", q->dim, sol->n);
    if ((rc = base_evaluate(q, sol, w, qw->truth)) != QD_OK)
        return rc;
    if (qdi_qdhf_solution_features(q, sol, w->llm, qw->f, w->error, sizeof w->error) != QD_OK)
        return QD_EEVAL;
    qdi_projection_apply(&q->proj, qw->f, sol->measures);
    return QD_OK;
}

static int qdhf_truth_space(const qd_evaluator *ev, qd_space *out)
{
    const qdhf *q = ev->state;
    /* a text base's measures (an LLM's judgments) are too dear to recompute
     * for every elite at every iteration */
    if (q->features >= QDHF_FEATURES_TEXT)
        return QD_ENOTFOUND;
    return qd_space_copy(out, &q->base->space);
}

static int qdhf_truth(const qd_evaluator *ev, const qd_solution *sol, double *g)
{
    qdhf *q = ev->state;
    char *error = ((qd_evaluator *)ev)->error; /* the loop's thread only */
    if (sol->n != q->dim) {
        qdi_set_error(error, sizeof ev->error, "expected %zu numbers, got %zu", q->dim, sol->n);
        return QD_EINVAL;
    }
    if (qdi_qdhf_truth(q, sol->x, &q->main, g) != QD_OK) {
        qdi_set_error(error, sizeof ev->error, "%s", q->main.error);
        return QD_EEVAL;
    }
    return QD_OK;
}

static int qdhf_remeasure(const qd_evaluator *ev, const qd_solution *sol, double *measures)
{
    const qdhf *q = ev->state;
    qdhf_worker *qw = q->main.eval_state;
    if (qdi_qdhf_solution_features(q, sol, q->session, qw->f, ((qd_evaluator *)ev)->error, sizeof ev->error) != QD_OK)
        return QD_EEVAL;
    qdi_projection_apply(&q->proj, qw->f, measures);
    return QD_OK;
}

static int qdhf_worker_init(const qd_evaluator *ev, qd_worker *w)
{
    return qdi_qdhf_worker_init(ev->state, w) == QD_OK ? QD_OK : qd_worker_fail(w, "qdhf: could not set up a worker");
}

static void qdhf_worker_fini(const qd_evaluator *ev, qd_worker *w)
{
    qdi_qdhf_worker_fini(ev->state, w);
}

static void qdhf_fini(qd_evaluator *ev)
{
    qdhf *q = ev->state;
    if (q->base)
        qdi_qdhf_worker_fini(q, &q->main);
    if (q->main.rng)
        gsl_rng_free(q->main.rng);
    if (q->judge && q->judge->type->worker_fini && q->judge_worker.eval_state)
        q->judge->type->worker_fini(q->judge, &q->judge_worker);
    if (q->judge_worker.rng)
        gsl_rng_free(q->judge_worker.rng);
    qd_evaluator_free(q->judge);
    qd_evaluator_free(q->base);
    qdi_projection_free(&q->proj);
    qdi_text_embedder_free(&q->embedder);
    qd_llm_session_free(q->session);
    free(q->genomes);
    free(q->t);
    free(q->ranges);
    free(q->schedule);
    cJSON_Delete(q->rounds);
}

const qd_evaluator_type qdi_evaluator_qdhf = {
    .name = "qdhf",
    .state_size = sizeof(qdhf),
    .init = qdhf_init,
    .evaluate = qdhf_evaluate,
    .worker_init = qdhf_worker_init,
    .worker_fini = qdhf_worker_fini,
    .fini = qdhf_fini,
    .truth_space = qdhf_truth_space,
    .truth = qdhf_truth,
    .iterate = qdi_qdhf_iterate,
    .remeasure = qdhf_remeasure,
    .save = qdi_qdhf_save,
    .load = qdi_qdhf_load,
    .describe = qdi_qdhf_describe,
};
