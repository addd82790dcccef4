/* qdhf_judge.c - where QDHF's judgments come from: a JSONL file of
 * people's answers, or a simulated judge that answers "which of x1 and x2
 * is closer to ref?" from measures - the base evaluator's ground truth, or
 * those of any other evaluator given as "judge" (a different notion of
 * similarity, or an external program through the command evaluator) - and
 * gives the wrong answer with probability "noise" (the paper's robustness
 * study). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/qdhf.h"

int qdi_qdhf_reserve(qdhf *q, size_t more)
{
    if (q->n + more <= q->cap)
        return QD_OK;
    size_t cap = q->cap ? q->cap : 256;
    while (cap < q->n + more)
        cap *= 2;
    double *g = realloc(q->genomes, 3 * cap * q->dim * sizeof *g);
    if (!g)
        return QD_ENOMEM;
    q->genomes = g;
    qdi_triplet *t = realloc(q->t, cap * sizeof *t);
    if (!t)
        return QD_ENOMEM;
    q->t = t;
    q->cap = cap;
    return QD_OK;
}

/* One line: {"ref": [...], "x1": [...], "x2": [...], "closer": 1 or 2}. */
static int read_line(qd_config *cfg, qdhf *q, const char *path, const char *line, size_t lineno)
{
    static const char *const keys[] = {"ref", "x1", "x2"};
    cJSON *j = cJSON_Parse(line);
    const cJSON *closer;
    int rc = QD_OK;
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return qd_config_fail(cfg, "judgments_file", "%s line %zu is not a JSON object", path, lineno);
    }
    if (qdi_qdhf_reserve(q, 1) != QD_OK) {
        cJSON_Delete(j);
        return qd_config_fail(cfg, "judgments_file", "could not be read: out of memory");
    }
    for (int r = 0; r < 3 && rc == QD_OK; r++)
        if (qdi_json_get_doubles(cJSON_GetObjectItemCaseSensitive(j, keys[r]), q->genomes + (3 * q->n + r) * q->dim,
                                 q->dim) != QD_OK)
            rc = qd_config_fail(cfg, "judgments_file", "%s line %zu: \"%s\" must be an array of %zu numbers", path,
                                lineno, keys[r], q->dim);
    closer = cJSON_GetObjectItemCaseSensitive(j, "closer");
    if (rc == QD_OK && !(cJSON_IsNumber(closer) && (closer->valuedouble == 1 || closer->valuedouble == 2)))
        rc = qd_config_fail(cfg, "judgments_file", "%s line %zu: \"closer\" must be 1 or 2", path, lineno);
    if (rc == QD_OK) {
        q->t[q->n] = (qdi_triplet){3 * q->n, 3 * q->n + 1, 3 * q->n + 2, closer->valuedouble == 2 ? 1 : -1};
        q->n++;
    }
    cJSON_Delete(j);
    return rc;
}

int qdi_qdhf_read_judgments(qd_config *cfg, qdhf *q, const char *path)
{
    char *text = NULL, err[512];
    size_t lineno = 0;
    int rc = QD_OK;
    if (qdi_read_file(path, &text, NULL, err, sizeof err) != QD_OK)
        return qd_config_fail(cfg, "judgments_file", "could not be read: %s", err);
    for (char *line = text, *next; line && *line && rc == QD_OK; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (line[strspn(line, " \t\r")] == '\0')
            continue; /* blank lines are allowed */
        rc = read_line(cfg, q, path, line, lineno);
    }
    free(text);
    if (rc == QD_OK && q->n < 2)
        rc = qd_config_fail(cfg, "judgments_file", "%s holds %zu judgments; at least 2 are needed", path, q->n);
    return rc;
}

/* The judge's measures of genome x into m (mj numbers). */
static int judge_measures(qdhf *q, const double *x, double *m, char *err, size_t errlen)
{
    if (!q->judge) {
        if (qdi_qdhf_truth(q, x, &q->main, m) != QD_OK) {
            qdi_set_error(err, errlen, "the base evaluator failed on a genome to judge: %s", q->main.error);
            return QD_EEVAL;
        }
        return QD_OK;
    }
    qd_solution s = {.x = (double *)x, .n = q->dim, .measures = m, .m = q->mj, .objective = NAN};
    int rc = q->judge->type->evaluate(q->judge, &s, &q->judge_worker);
    qd_solution_clear(&s);
    if (rc != QD_OK) {
        qdi_set_error(err, errlen, "the judge evaluator failed on a genome: %s", q->judge_worker.error);
        return QD_EEVAL;
    }
    for (size_t i = 0; i < q->mj; i++)
        if (!isfinite(m[i])) {
            qdi_set_error(err, errlen, "the judge evaluator gave a non-finite measure %zu", i);
            return QD_EEVAL;
        }
    return QD_OK;
}

int qdi_qdhf_judge(qdhf *q, size_t n, gsl_rng *rng, char *err, size_t errlen)
{
    double *m = malloc(3 * q->mj * sizeof *m);
    int rc = QD_OK;
    if (!m) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    for (size_t i = 0; i < n && rc == QD_OK; i++) {
        size_t row = 3 * (q->n + i);
        for (size_t r = 0; r < 3 && rc == QD_OK; r++) {
            /* an evaluator that reads its worker's RNG gets one stream per genome */
            qdi_rng_seed(q->judge ? q->judge_worker.rng : q->main.rng, qdi_seed_mix(q->seed, row + r));
            rc = judge_measures(q, q->genomes + (row + r) * q->dim, m + r * q->mj, err, errlen);
        }
        if (rc)
            break;
        int y = qdi_judge_simulated(m, q->mj, 0, 1, 2);
        /* one draw per judgment whatever p is, so a noisy run and a clean
         * one see the same later random numbers */
        if (gsl_rng_uniform(rng) < q->noise)
            y = -y;
        q->t[q->n + i] = (qdi_triplet){row, row + 1, row + 2, y};
    }
    free(m);
    if (rc == QD_OK)
        q->n += n;
    return rc;
}

/* Judgments keyed by text: the three texts of each line go into texts
 * (3 per judgment, malloc'd), the answers into q->t. */
static int read_text_line(qd_config *cfg, qdhf *q, const char *path, const char *line, size_t lineno, char ***texts,
                          size_t *cap)
{
    static const char *const keys[] = {"ref", "x1", "x2"};
    cJSON *j = cJSON_Parse(line);
    const cJSON *closer;
    if (!j || !cJSON_IsObject(j)) {
        cJSON_Delete(j);
        return qd_config_fail(cfg, "judgments_file", "%s line %zu is not a JSON object", path, lineno);
    }
    if (3 * (q->n + 1) > *cap) {
        size_t c = *cap ? 2 * *cap : 768;
        char **t = realloc(*texts, c * sizeof *t);
        if (!t || qdi_qdhf_reserve(q, 1) != QD_OK) {
            if (t)
                *texts = t;
            cJSON_Delete(j);
            return qd_config_fail(cfg, "judgments_file", "could not be read: out of memory");
        }
        *texts = t;
        *cap = c;
    }
    for (int r = 0; r < 3; r++) {
        const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, keys[r]));
        if (!s) {
            cJSON_Delete(j);
            for (int k = 0; k < r; k++)
                free((*texts)[3 * q->n + k]);
            return qd_config_fail(cfg, "judgments_file", "%s line %zu: \"%s\" must be a text", path, lineno, keys[r]);
        }
        (*texts)[3 * q->n + r] = strdup(s);
    }
    closer = cJSON_GetObjectItemCaseSensitive(j, "closer");
    int ok = cJSON_IsNumber(closer) && (closer->valuedouble == 1 || closer->valuedouble == 2);
    int y = ok && closer->valuedouble == 2 ? 1 : -1;
    cJSON_Delete(j);
    if (!ok || !(*texts)[3 * q->n] || !(*texts)[3 * q->n + 1] || !(*texts)[3 * q->n + 2]) {
        for (int k = 0; k < 3; k++)
            free((*texts)[3 * q->n + k]);
        return ok ? qd_config_fail(cfg, "judgments_file", "could not be read: out of memory")
                  : qd_config_fail(cfg, "judgments_file", "%s line %zu: \"closer\" must be 1 or 2", path, lineno);
    }
    if (qdi_qdhf_reserve(q, 1) != QD_OK) {
        for (int k = 0; k < 3; k++)
            free((*texts)[3 * q->n + k]);
        return qd_config_fail(cfg, "judgments_file", "could not be read: out of memory");
    }
    q->t[q->n] = (qdi_triplet){3 * q->n, 3 * q->n + 1, 3 * q->n + 2, y};
    q->n++;
    return QD_OK;
}

/* The judged texts' rows: the built-in embedder, fitted on them. */
static int embed_builtin(qd_config *cfg, qdhf *q, char **texts)
{
    if (qdi_text_embedder_fit(&q->embedder, q->d, (const char *const *)texts, 3 * q->n) != QD_OK)
        return qd_config_fail(cfg, "judgments_file", "could not be read: out of memory");
    for (size_t i = 0; i < 3 * q->n; i++)
        qdi_text_embed(&q->embedder, texts[i], q->genomes + i * q->d);
    return QD_OK;
}

/* The judged texts' rows from /v1/embeddings; the first sets d. */
static int embed_llm(qd_config *cfg, qdhf *q, char **texts)
{
    double *rows = NULL;
    for (size_t i = 0; i < 3 * q->n; i++) {
        double *v;
        size_t n;
        if (qd_llm_embed(q->session, texts[i], &v, &n) != QD_OK) {
            free(rows);
            return qd_config_fail(cfg, "features", "embedding a judged text failed: %s",
                                  qd_llm_session_error(q->session));
        }
        if (i == 0 && n >= 1 && !(rows = malloc(3 * q->n * n * sizeof *rows))) {
            free(v);
            return qd_config_fail(cfg, "features", "could not embed: out of memory");
        }
        if (i == 0)
            q->d = n;
        if (n != q->d || n == 0) {
            free(v);
            free(rows);
            return qd_config_fail(cfg, "features", "the server's embeddings have %zu and %zu numbers", q->d, n);
        }
        memcpy(rows + i * n, v, n * sizeof *v);
        free(v);
    }
    free(q->genomes);
    q->genomes = rows;
    q->dim = q->d;
    q->cap = q->n;
    return QD_OK;
}

int qdi_qdhf_read_text_judgments(qd_config *cfg, qdhf *q, const char *path)
{
    char *text = NULL, err[512], **texts = NULL;
    size_t lineno = 0, cap = 0;
    int rc = QD_OK;
    if (qdi_read_file(path, &text, NULL, err, sizeof err) != QD_OK)
        return qd_config_fail(cfg, "judgments_file", "could not be read: %s", err);
    for (char *line = text, *next; line && *line && rc == QD_OK; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        lineno++;
        if (line[strspn(line, " \t\r")] == '\0')
            continue;
        rc = read_text_line(cfg, q, path, line, lineno, &texts, &cap);
    }
    free(text);
    if (rc == QD_OK && q->n < 2)
        rc = qd_config_fail(cfg, "judgments_file", "%s holds %zu judgments; at least 2 are needed", path, q->n);
    if (rc == QD_OK)
        rc = q->features == QDHF_FEATURES_TEXT ? embed_builtin(cfg, q, texts) : embed_llm(cfg, q, texts);
    for (size_t i = 0; i < 3 * q->n; i++)
        free(texts[i]);
    free(texts);
    return rc;
}
