/* qdhf_rounds.c - QDHF's training rounds and what they leave behind.
 *
 * A round fits the projection (retrained from scratch on every judgment so
 * far, as the authors' code does; or PCA of the rows' features) and sets
 * the measure ranges to the min / max of the projected rows. Online QDHF
 * (Ding et al. 2024; authors' arm code: rounds at iterations 1, 101, 251,
 * 501 of 1,000, 250 judgments each) runs the first round before the search
 * on random genomes and the later ones from the iterate hook on triplets
 * of the archive's elites (drawn with replacement); the loop then rebuilds
 * the archive; text QDHF's later rounds have the run's LLM judge triplets
 * of the archive's texts instead. Each round's random numbers come from (seed, round), so a
 * resumed run needs only the judgments, the projection and the round
 * count, which save / load keep exactly. describe gives archive.json the
 * projection in use and each round's record; a projection file (or that
 * archive.json) can be loaded back as "projection_file". */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/qdhf.h"

/* Measure ranges: the given ones, or the min / max of the projected rows. */
static int set_ranges(qdhf *q, qd_space *space, const double *rows, size_t nrows)
{
    double *f = malloc((q->d + q->k) * sizeof *f), *z = f + q->d;
    if (!f)
        return QD_ENOMEM;
    for (size_t k = 0; k < q->k; k++) {
        space->measure_lower[k] = INFINITY;
        space->measure_upper[k] = -INFINITY;
    }
    for (size_t r = 0; r < nrows; r++) {
        qdi_qdhf_features(q, rows + r * q->dim, f);
        qdi_projection_apply(&q->proj, f, z);
        for (size_t k = 0; k < q->k; k++) {
            space->measure_lower[k] = fmin(space->measure_lower[k], z[k]);
            space->measure_upper[k] = fmax(space->measure_upper[k], z[k]);
        }
    }
    free(f);
    for (size_t k = 0; k < q->k; k++) {
        if (q->fixed_ranges) {
            space->measure_lower[k] = q->ranges[2 * k];
            space->measure_upper[k] = q->ranges[2 * k + 1];
        }
        if (!(space->measure_upper[k] > space->measure_lower[k])) { /* all projections equal, or no rows */
            double mid = isfinite(space->measure_lower[k]) ? space->measure_lower[k] : 0;
            space->measure_lower[k] = mid - 1;
            space->measure_upper[k] = mid + 1;
        }
    }
    return QD_OK;
}

static cJSON *ranges_json(const qd_space *space)
{
    cJSON *a = cJSON_CreateArray();
    for (size_t k = 0; a && k < space->measures; k++) {
        cJSON *pair = cJSON_CreateArray();
        cJSON_AddItemToArray(a, pair);
        cJSON_AddItemToArray(pair, qdi_json_double(space->measure_lower[k]));
        cJSON_AddItemToArray(pair, qdi_json_double(space->measure_upper[k]));
    }
    return a;
}

int qdi_qdhf_fit(qdhf *q, qd_space *space, const double *rows, size_t nrows, gsl_rng *rng, uint64_t iteration,
                 char *err, size_t errlen)
{
    qdi_train_report report = {0};
    qdi_ae_report ae = {0};
    double *f = malloc((q->projection != QDHF_LEARNED ? nrows : 3 * q->n) * q->d * sizeof *f + 1);
    cJSON *o;
    int rc;
    if (!f) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    if (q->projection != QDHF_LEARNED) {
        for (size_t r = 0; r < nrows; r++)
            qdi_qdhf_features(q, rows + r * q->dim, f + r * q->d);
        if (q->projection == QDHF_PCA)
            rc = qdi_projection_fit_pca(&q->proj, f, nrows, q->d, q->k);
        else
            rc = qdi_projection_fit_autoencoder(&q->proj, f, nrows, q->d, q->k, &q->ae, rng, &ae);
        if (rc == QD_EINVAL)
            qdi_set_error(err, errlen, "%s needs at least 2 rows%s, got %zu rows",
                          q->projection == QDHF_PCA ? "PCA" : "the auto-encoder",
                          q->projection == QDHF_PCA ? " and latent <= the feature count" : "", nrows);
    } else {
        for (size_t r = 0; r < 3 * q->n; r++)
            qdi_qdhf_features(q, q->genomes + r * q->dim, f + r * q->d);
        q->proj.d = q->d;
        q->proj.k = q->k;
        rc = qdi_projection_train(&q->proj, f, q->t, q->n, &q->train, rng, &report);
    }
    free(f);
    if (rc == QD_OK)
        rc = set_ranges(q, space, rows, nrows);
    if (rc) {
        if (rc == QD_ENOMEM)
            qdi_set_error(err, errlen, "could not train the projection: out of memory");
        return rc;
    }
    if (!(o = cJSON_CreateObject()))
        return QD_ENOMEM;
    cJSON_AddItemToArray(q->rounds, o);
    cJSON_AddNumberToObject(o, "iteration", (double)iteration);
    if (q->projection == QDHF_LEARNED) {
        cJSON_AddNumberToObject(o, "triplets", (double)q->n);
        cJSON_AddNumberToObject(o, "train", (double)report.train_size);
        cJSON_AddNumberToObject(o, "validation", (double)report.valid_size);
        cJSON_AddNumberToObject(o, "epochs", (double)report.epochs);
        cJSON_AddNumberToObject(o, "train_accuracy", report.train_accuracy);
        cJSON_AddNumberToObject(o, "validation_accuracy", report.valid_accuracy);
    } else {
        cJSON_AddNumberToObject(o, "rows", (double)nrows);
    }
    if (q->projection == QDHF_AUTOENCODER) {
        cJSON_AddNumberToObject(o, "epochs", (double)ae.epochs);
        cJSON_AddNumberToObject(o, "initial_reconstruction_error", ae.initial_error);
        cJSON_AddNumberToObject(o, "reconstruction_error", ae.error);
    }
    cJSON_AddItemToObject(o, "ranges", ranges_json(space));
    return QD_OK;
}

/* An online round of text QDHF: n triplets of three distinct elites (drawn
 * from rng) judged by the run's LLM (qd_llm_judge_triplet); their
 * embeddings join the judgment table, failed ones are counted and left
 * out. rows gets the elites' embeddings (filled x d). */
static int judge_texts(qdhf *q, const qd_archive *a, size_t filled, double *rows, size_t n, gsl_rng *rng,
                       size_t *failed, char *err, size_t errlen)
{
    const char **texts = malloc(filled * sizeof *texts);
    char why[512] = "";
    if (!texts) {
        qdi_set_error(err, errlen, "online round: out of memory");
        return QD_ENOMEM;
    }
    for (size_t i = 0; i < filled; i++) {
        qd_elite e;
        qd_archive_elite_at(a, i, &e);
        texts[i] = e.text ? e.text : "";
        qdi_text_embed(&q->embedder, texts[i], rows + i * q->d);
    }
    *failed = 0;
    for (size_t j = 0; j < n; j++) {
        size_t pick[3];
        qd_llm_judgment answer;
        qd_rng_pick_distinct(rng, filled, 3, pick);
        if (qd_llm_judge_triplet(q->session, QD_LLM_COMPLETIONS, texts[pick[0]], texts[pick[1]], texts[pick[2]],
                                 &answer, why, sizeof why) != QD_OK) {
            if (++*failed == 1)
                qdi_log("qdhf: an LLM judgment failed (failures are counted, the round goes on): %s", why);
            continue;
        }
        for (int r = 0; r < 3; r++)
            memcpy(q->genomes + (3 * q->n + (size_t)r) * q->d, rows + pick[r] * q->d, q->d * sizeof *rows);
        q->t[q->n] = (qdi_triplet){3 * q->n, 3 * q->n + 1, 3 * q->n + 2, answer.closer == 2 ? 1 : -1};
        q->n++;
    }
    free(texts);
    if (*failed == n) {
        qdi_set_error(err, errlen, "online round: every LLM judgment failed: %s", why);
        return QD_EEVAL;
    }
    return QD_OK;
}

int qdi_qdhf_iterate(qd_evaluator *ev, const qd_archive *a, uint64_t iteration, int *rebuild)
{
    qdhf *q = ev->state;
    size_t filled = qd_archive_filled(a), n = q->per_round, failed = 0;
    double *rows;
    gsl_rng *rng;
    int rc = QD_ENOMEM;
    *rebuild = 0;
    if (!q->online || q->next_round >= q->nschedule || iteration < q->schedule[q->next_round])
        return QD_OK;
    if (filled < (q->features == QDHF_FEATURES_TEXT ? 3 : 1)) /* nothing to judge or to rebuild: wait for elites */
        return QD_OK;
    rows = malloc(filled * q->dim * sizeof *rows);
    rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rows || !rng || (q->projection == QDHF_LEARNED && qdi_qdhf_reserve(q, n) != QD_OK)) {
        qdi_set_error(ev->error, sizeof ev->error, "online round: out of memory");
        goto done;
    }
    for (size_t i = 0; q->features != QDHF_FEATURES_TEXT && i < filled; i++) {
        qd_elite e;
        qd_archive_elite_at(a, i, &e);
        memcpy(rows + i * q->dim, e.x, q->dim * sizeof *rows);
    }
    qdi_rng_seed(rng, qdi_seed_mix(q->seed, q->next_round));
    if (q->features == QDHF_FEATURES_TEXT) {
        if ((rc = judge_texts(q, a, filled, rows, n, rng, &failed, ev->error, sizeof ev->error)))
            goto done;
    } else if (q->projection == QDHF_LEARNED) {
        for (size_t r = 0; r < 3 * n; r++)
            memcpy(q->genomes + (3 * q->n + r) * q->dim, rows + gsl_rng_uniform_int(rng, filled) * q->dim,
                   q->dim * sizeof *rows);
        if ((rc = qdi_qdhf_judge(q, n, rng, ev->error, sizeof ev->error)))
            goto done;
    }
    if ((rc = qdi_qdhf_fit(q, &ev->space, rows, filled, rng, iteration, ev->error, sizeof ev->error)))
        goto done;
    cJSON *last = cJSON_GetArrayItem(q->rounds, cJSON_GetArraySize(q->rounds) - 1);
    if (q->features == QDHF_FEATURES_TEXT) {
        cJSON_AddNumberToObject(last, "llm_judged", (double)(n - failed));
        cJSON_AddNumberToObject(last, "llm_failed", (double)failed);
    }
    const cJSON *acc = cJSON_GetObjectItemCaseSensitive(last, "validation_accuracy");
    if (acc)
        qdi_log("qdhf: round %zu before iteration %llu: %zu judgments, %g epochs, validation accuracy %.3f",
                q->next_round + 1, (unsigned long long)iteration, q->n,
                cJSON_GetObjectItemCaseSensitive(last, "epochs")->valuedouble, acc->valuedouble);
    q->next_round++;
    *rebuild = 1;
    rc = QD_OK;
done:
    free(rows);
    if (rng)
        gsl_rng_free(rng);
    return rc;
}

/* The projection as JSON: features, d, k, W (row-major), b, ranges. */
static cJSON *projection_json(const qdhf *q, const qd_space *space)
{
    static const char *const kinds[] = {"genome", "arm", "text", "embeddings"};
    cJSON *p = cJSON_CreateObject();
    if (!p)
        return NULL;
    cJSON_AddStringToObject(p, "features", kinds[q->features]);
    cJSON_AddNumberToObject(p, "d", (double)q->d);
    cJSON_AddNumberToObject(p, "k", (double)q->k);
    if (q->proj.h) { /* the auto-encoder's encoder: z = W tanh(W1 f + b1) + b */
        cJSON_AddNumberToObject(p, "hidden", (double)q->proj.h);
        cJSON_AddItemToObject(p, "W1", qdi_json_doubles(q->proj.W1, q->proj.h * q->d));
        cJSON_AddItemToObject(p, "b1", qdi_json_doubles(q->proj.b1, q->proj.h));
    }
    cJSON_AddItemToObject(p, "W", qdi_json_doubles(q->proj.W, q->k * (q->proj.h ? q->proj.h : q->d)));
    cJSON_AddItemToObject(p, "b", qdi_json_doubles(q->proj.b, q->k));
    cJSON_AddItemToObject(p, "ranges", ranges_json(space));
    if (q->features == QDHF_FEATURES_TEXT) /* the embedder's IDF weights */
        cJSON_AddItemToObject(p, "idf", qdi_json_doubles(q->embedder.idf, q->d));
    return p;
}

/* Reads a projection object into q and the ranges of space; err says why not. */
static int projection_read(qdhf *q, qd_space *space, const cJSON *p, char *err, size_t errlen)
{
    static const char *const kinds[] = {"genome", "arm", "text", "embeddings"};
    const char *f = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(p, "features"));
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(p, "d"), *k = cJSON_GetObjectItemCaseSensitive(p, "k");
    const cJSON *ranges = cJSON_GetObjectItemCaseSensitive(p, "ranges");
    if (!f || strcmp(f, kinds[q->features]) || !cJSON_IsNumber(d) || d->valuedouble != (double)q->d ||
        !cJSON_IsNumber(k) || k->valuedouble != (double)q->k) {
        qdi_set_error(err, errlen, "its projection is not one of %s features (d = %zu) to %zu measures",
                      kinds[q->features], q->d, q->k);
        return QD_EFORMAT;
    }
    const cJSON *hidden = cJSON_GetObjectItemCaseSensitive(p, "hidden");
    size_t h = 0, cols;
    if (hidden && (!cJSON_IsNumber(hidden) || hidden->valuedouble < 1 || hidden->valuedouble > QDI_AE_MAX_HIDDEN ||
                   hidden->valuedouble != floor(hidden->valuedouble))) {
        qdi_set_error(err, errlen, "its projection's hidden must be a whole number in 1..%d", QDI_AE_MAX_HIDDEN);
        return QD_EFORMAT;
    }
    if (hidden)
        h = (size_t)hidden->valuedouble;
    cols = h ? h : q->d;
    qdi_projection_free(&q->proj);
    q->proj.d = q->d;
    q->proj.k = q->k;
    q->proj.h = h;
    q->proj.W = malloc(q->k * cols * sizeof *q->proj.W);
    q->proj.b = malloc(q->k * sizeof *q->proj.b);
    if (h) {
        q->proj.W1 = malloc(h * q->d * sizeof *q->proj.W1);
        q->proj.b1 = malloc(h * sizeof *q->proj.b1);
    }
    if (!q->proj.W || !q->proj.b || (h && (!q->proj.W1 || !q->proj.b1))) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    if (h && (qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(p, "W1"), q->proj.W1, h * q->d) ||
              qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(p, "b1"), q->proj.b1, h))) {
        qdi_set_error(err, errlen, "its projection (hidden %zu) needs W1 (%zu numbers) and b1 (%zu)", h, h * q->d, h);
        return QD_EFORMAT;
    }
    if (qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(p, "W"), q->proj.W, q->k * cols) ||
        qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(p, "b"), q->proj.b, q->k) ||
        cJSON_GetArraySize(ranges) != (int)q->k) {
        qdi_set_error(err, errlen, "its projection needs W (%zu numbers), b (%zu) and %zu ranges", q->k * cols, q->k,
                      q->k);
        return QD_EFORMAT;
    }
    for (size_t i = 0; i < q->k; i++) {
        double pair[2];
        if (qdi_json_get_doubles(cJSON_GetArrayItem(ranges, (int)i), pair, 2) || !(pair[1] > pair[0])) {
            qdi_set_error(err, errlen, "its projection's ranges[%zu] is not [low, high] with low < high", i);
            return QD_EFORMAT;
        }
        space->measure_lower[i] = q->fixed_ranges ? q->ranges[2 * i] : pair[0];
        space->measure_upper[i] = q->fixed_ranges ? q->ranges[2 * i + 1] : pair[1];
    }
    if (q->features == QDHF_FEATURES_TEXT) {
        double *idf = malloc(q->d * sizeof *idf);
        int rc = idf && qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(p, "idf"), idf, q->d) == QD_OK
                     ? QD_OK
                     : QD_EFORMAT;
        qdi_text_embedder_free(&q->embedder);
        if (rc == QD_OK && qdi_text_embedder_set(&q->embedder, q->d, idf) != QD_OK)
            rc = QD_ENOMEM;
        free(idf);
        if (rc) {
            qdi_set_error(err, errlen, "its text projection needs idf (%zu numbers)", q->d);
            return rc;
        }
    }
    return QD_OK;
}

int qdi_qdhf_load_projection(qd_config *cfg, qdhf *q, qd_space *space, const char *path)
{
    char *text = NULL, err[512];
    cJSON *j;
    const cJSON *p;
    int rc;
    if (qdi_read_file(path, &text, NULL, err, sizeof err) != QD_OK)
        return qd_config_fail(cfg, "projection_file", "could not be read: %s", err);
    j = cJSON_Parse(text);
    free(text);
    /* a projection file, or the archive.json of a QDHF run */
    p = cJSON_GetObjectItemCaseSensitive(j, "projection");
    if (!p)
        p = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "evaluator"), "projection");
    if (!p) {
        cJSON_Delete(j);
        return qd_config_fail(cfg, "projection_file", "%s holds no \"projection\" (nor \"evaluator\".\"projection\")",
                              path);
    }
    rc = projection_read(q, space, p, err, sizeof err);
    cJSON_Delete(j);
    if (rc)
        return qd_config_fail(cfg, "projection_file", "%s: %s", path, err);
    return QD_OK;
}

int qdi_qdhf_describe(const qd_evaluator *ev, cJSON *out)
{
    const qdhf *q = ev->state;
    cJSON *p = projection_json(q, &ev->space), *r = cJSON_Duplicate(q->rounds, 1);
    if (!p || !r) {
        cJSON_Delete(p);
        cJSON_Delete(r);
        return QD_ENOMEM;
    }
    cJSON_AddItemToObject(out, "projection", p);
    cJSON_AddItemToObject(out, "rounds", r);
    return QD_OK;
}

int qdi_qdhf_save(const qd_evaluator *ev, cJSON *out)
{
    const qdhf *q = ev->state;
    cJSON *t;
    if (!q->online)
        return QD_OK; /* nothing changes after init */
    if (qdi_qdhf_describe(ev, out) != QD_OK)
        return QD_ENOMEM;
    cJSON_AddNumberToObject(out, "next_round", (double)q->next_round);
    cJSON_AddItemToObject(out, "genomes", qdi_json_doubles(q->genomes, 3 * q->n * q->dim));
    if (!(t = cJSON_AddArrayToObject(out, "triplets")))
        return QD_ENOMEM;
    for (size_t i = 0; i < q->n; i++) {
        double v[4] = {(double)q->t[i].ref, (double)q->t[i].x1, (double)q->t[i].x2, (double)q->t[i].y};
        cJSON_AddItemToArray(t, cJSON_CreateDoubleArray(v, 4));
    }
    return QD_OK;
}

int qdi_qdhf_load(qd_evaluator *ev, const cJSON *in)
{
    qdhf *q = ev->state;
    const cJSON *next = cJSON_GetObjectItemCaseSensitive(in, "next_round");
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(in, "triplets"), *x;
    size_t n = (size_t)cJSON_GetArraySize(t), i = 0;
    if (!q->online)
        return QD_OK;
    if (!cJSON_IsNumber(next) || next->valuedouble < 1 || next->valuedouble > (double)q->nschedule) {
        qdi_set_error(ev->error, sizeof ev->error, "next_round missing or not in 1..%zu", q->nschedule);
        return QD_EFORMAT;
    }
    if (projection_read(q, &ev->space, cJSON_GetObjectItemCaseSensitive(in, "projection"), ev->error,
                        sizeof ev->error))
        return QD_EFORMAT;
    q->n = 0;
    if (qdi_qdhf_reserve(q, n) != QD_OK) {
        qdi_set_error(ev->error, sizeof ev->error, "out of memory");
        return QD_ENOMEM;
    }
    if (qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(in, "genomes"), q->genomes, 3 * n * q->dim)) {
        qdi_set_error(ev->error, sizeof ev->error, "genomes must hold %zu numbers", 3 * n * q->dim);
        return QD_EFORMAT;
    }
    cJSON_ArrayForEach(x, t) {
        double v[4];
        if (qdi_json_get_doubles(x, v, 4) || v[0] < 0 || v[1] < 0 || v[2] < 0 || v[0] >= 3.0 * (double)n ||
            v[1] >= 3.0 * (double)n || v[2] >= 3.0 * (double)n || (v[3] != 1 && v[3] != -1)) {
            qdi_set_error(ev->error, sizeof ev->error, "triplets[%zu] must be [ref, x1, x2, +-1] over the genomes", i);
            return QD_EFORMAT;
        }
        q->t[i++] = (qdi_triplet){(size_t)v[0], (size_t)v[1], (size_t)v[2], (int)v[3]};
    }
    q->n = n;
    cJSON_Delete(q->rounds);
    q->rounds = cJSON_Duplicate(cJSON_GetObjectItemCaseSensitive(in, "rounds"), 1);
    if (!q->rounds)
        q->rounds = cJSON_CreateArray();
    q->next_round = (size_t)next->valuedouble;
    return q->rounds ? QD_OK : QD_ENOMEM;
}
