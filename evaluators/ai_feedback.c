/* ai_feedback.c - the AI-feedback evaluator of QDAIF (Bradley et al. 2023,
 * "Quality-Diversity through AI Feedback"): a language model judges a text.
 *
 * Quality is the answer to a yes/no question ("is the text about the
 * topic?"): p(yes) / (p(yes) + p(no)) from the top log-probabilities of the
 * answer token, every spelling of a label merged (qd_llm_label_probs). Each
 * diversity measure is a question with labelled answers: a binary axis is
 * the normalised probability of its first label (sentiment: positive vs
 * negative), a categorical axis (poem genre, tone) the index of the most
 * likely label plus 0.5, so that a grid with one bin per label over
 * [0, labels] puts it in its own bin. Where a server gives no logprobs the
 * evaluator asks for a rating from 0 to 10 instead (value rating / 10) and,
 * for categorical axes, reads the label the answer names: "feedback":
 * "rating" always does so, "auto" (the default) falls back per question
 * when a reply carries no usable logprobs and says so once in the log. The
 * answers and probabilities go into the solution's meta.
 *
 * Prompts follow QDAIF's instruction format by default:
 * "### Instruction:\n{question}\n\n### Input:\n{text}\n\n### Response:".
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "src/internal.h"

enum { FEEDBACK_AUTO, FEEDBACK_LOGPROBS, FEEDBACK_RATING };
/* What "auto" decided for a question (atomic): not yet, logprobs, ratings. */
enum { DECIDE_NOT_YET, DECIDE_LOGPROBS, DECIDE_RATING };

typedef struct question {
    char *name;
    char *question;
    char *rating_question;
    char **labels;
    size_t nlabels;
    int categorical;
    int decided;              /* auto: DECIDE_* (atomic) */
    unsigned long answers;    /* auto: answers given by ratings (atomic), for the re-check */
} question;

typedef struct ai_feedback {
    qd_llm_endpoint endpoint;
    int feedback;
    long top_logprobs, max_tokens, rating_tokens, recheck;
    qd_llm *llm;
    char *template, *system, *topic;
    question quality;
    question *measures;
    size_t m;
    int warned; /* a one-off fallback was logged (atomic) */
    uint64_t asked_logprobs, no_logprobs, no_label; /* replies (atomic): with logprobs asked, without, no label among them */
} ai_feedback;

static const char *const template_fields[] = {"question", "text", "labels", "topic"};

static char *dup_str(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The default rating question: the question itself, then a 0..10 scale
 * from the second label to the first. */
static char *default_rating_question(const question *q)
{
    const char *fmt = "%s\nOn a scale from 0 to 10, where 0 means \"%s\" and 10 means \"%s\", how would you "
                      "answer? Answer with a number only.";
    size_t n = strlen(fmt) + strlen(q->question) + strlen(q->labels[0]) + strlen(q->labels[1]) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, fmt, q->question, q->labels[1], q->labels[0]);
    return out;
}

static int read_question(qd_config *c, question *q, int is_quality)
{
    const char *text = NULL, *rating = NULL, *name = is_quality ? "quality" : NULL;
    int categorical;
    if ((!is_quality && (qd_config_require(c, "name") || qd_config_string(c, "name", &name))) ||
        qd_config_require(c, "question") || qd_config_string(c, "question", &text) ||
        qdi_config_strings(c, "labels", !is_quality, 2, &q->labels, &q->nlabels))
        return QD_EINVAL;
    if (!q->labels) { /* quality: yes / no */
        cJSON *l = cJSON_CreateStringArray((const char *const[]){"yes", "no"}, 2);
        if (!l)
            return qd_config_fail(c, "labels", "could not be set: out of memory");
        cJSON_AddItemToObject(qd_config_json(c), "labels", l);
        if (qdi_config_strings(c, "labels", 1, 2, &q->labels, &q->nlabels))
            return QD_EINVAL;
    }
    for (size_t i = 0; i < q->nlabels; i++)
        if (!*q->labels[i] || strlen(q->labels[i]) >= 60)
            return qd_config_fail(c, "labels", "must be non-empty words of under 60 characters, got \"%s\"",
                                  q->labels[i]);
    categorical = q->nlabels > 2;
    if (qd_config_bool(c, "categorical", &categorical) || qd_config_string(c, "rating_question", &rating))
        return QD_EINVAL;
    if (is_quality && categorical)
        return qd_config_fail(c, "categorical", "cannot be true for quality (a score needs two labels)");
    if (!categorical && q->nlabels != 2)
        return qd_config_fail(c, "labels", "must be two labels for a non-categorical question, got %zu",
                              q->nlabels);
    q->categorical = categorical;
    if (!(q->name = dup_str(name)) || !(q->question = dup_str(text)))
        return qd_config_fail(c, NULL, "could not be set up: out of memory");
    if (!categorical) {
        q->rating_question = rating ? strdup(rating) : default_rating_question(q);
        if (!q->rating_question)
            return qd_config_fail(c, NULL, "could not be set up: out of memory");
        if (!rating)
            cJSON_AddStringToObject(qd_config_json(c), "rating_question", q->rating_question);
    }
    return qd_config_check_keys(c);
}

static void free_question(question *q)
{
    free(q->name);
    free(q->question);
    free(q->rating_question);
    qdi_strings_free(q->labels);
}

static int check_template(qd_config *cfg, const char *key, const char *tmpl)
{
    char err[512], *out;
    const char *values[4] = {"q", "t", "l", "p"};
    if (qdi_template_expand(tmpl, template_fields, values, 4, &out, err, sizeof err) != QD_OK)
        return qd_config_fail(cfg, key, "%s", err);
    free(out);
    return QD_OK;
}

static int ai_init(qd_evaluator *ev, qd_config *cfg)
{
    static const char *const endpoints[] = {"completions", "chat", NULL};
    static const char *const feedbacks[] = {"auto", "logprobs", "rating", NULL};
    ai_feedback *st = ev->state;
    const char *tmpl = "### Instruction:\n{question}\n\n### Input:\n{text}\n\n### Response:";
    const char *system = NULL, *topic = "";
    qd_config *qc;
    int endpoint = 0;
    size_t m;
    st->top_logprobs = 5;
    st->max_tokens = 3;
    st->rating_tokens = 4;
    st->recheck = 100;
    st->llm = ev->llm;
    if (!ev->llm)
        return qd_config_fail(cfg, "type", "\"ai_feedback\" needs a language model: add a top-level \"llm\" "
                                           "section (url, model)");
    if (qd_config_choice(cfg, "endpoint", endpoints, &endpoint) ||
        qd_config_choice(cfg, "feedback", feedbacks, &st->feedback) ||
        qd_config_int(cfg, "top_logprobs", &st->top_logprobs, ">= 1 <= 20") ||
        qd_config_int(cfg, "max_tokens", &st->max_tokens, ">= 1") ||
        qd_config_int(cfg, "rating_tokens", &st->rating_tokens, ">= 1") ||
        qd_config_int(cfg, "recheck", &st->recheck, ">= 1") ||
        qd_config_string(cfg, "template", &tmpl) || qd_config_string(cfg, "system", &system) ||
        qd_config_string(cfg, "topic", &topic) || check_template(cfg, "template", tmpl) ||
        qd_config_object(cfg, "quality", 1, &qc) || read_question(qc, &st->quality, 1) ||
        qd_config_array_size(cfg, "measures", 1, &m))
        return QD_EINVAL;
    st->endpoint = endpoint ? QD_LLM_CHAT : QD_LLM_COMPLETIONS;
    if (m == 0)
        return qd_config_fail(cfg, "measures", "must list at least one measure (a question with labels)");
    if (!(st->measures = calloc(m, sizeof *st->measures)) || !(st->template = strdup(tmpl)) ||
        !(st->topic = strdup(topic)) || (system && !(st->system = strdup(system))))
        return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    st->m = m;
    for (size_t k = 0; k < m; k++) {
        qd_config *mc;
        if (qd_config_array_object(cfg, "measures", k, &mc) || read_question(mc, &st->measures[k], 0))
            return QD_EINVAL;
        for (size_t j = 0; j < k; j++)
            if (strcmp(st->measures[j].name, st->measures[k].name) == 0)
                return qd_config_fail(mc, "name", "\"%s\" is used by measures[%zu] too", st->measures[k].name, j);
    }
    if (qd_space_init(&ev->space, QD_GENOME_TEXT, 0, m))
        return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    for (size_t k = 0; k < m; k++) {
        const question *q = &st->measures[k];
        ev->space.measure_lower[k] = 0;
        ev->space.measure_upper[k] = q->categorical ? (double)q->nlabels : 1.0;
        /* a binary value is p(labels[0]): labels[1] names the low end */
        const char *ends[2] = {q->labels[1], q->labels[0]};
        if (qd_space_set_measure_name(&ev->space, k, q->name) ||
            qd_space_set_measure_labels(&ev->space, k, q->categorical ? (const char *const *)q->labels : ends,
                                        q->categorical ? q->nlabels : 2, q->categorical))
            return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    }
    ev->space.objective_min = 0;
    ev->space.objective_max = 1;
    return QD_OK;
}

static void ai_fini(qd_evaluator *ev)
{
    ai_feedback *st = ev->state;
    /* with "feedback": "logprobs" such an answer failed its job; else it fell back */
    const char *then = st->feedback == FEEDBACK_LOGPROBS ? "their jobs failed, kept in failures.jsonl" : NULL;
    if (st->no_logprobs)
        qdi_log("ai_feedback: %llu of %llu replies lacked logprobs (%s)", (unsigned long long)st->no_logprobs,
                (unsigned long long)st->asked_logprobs, then ? then : "scored from ratings and answer texts instead");
    if (st->no_label)
        qdi_log("ai_feedback: in %llu of %llu replies the top logprobs named none of the labels (%s)",
                (unsigned long long)st->no_label, (unsigned long long)st->asked_logprobs,
                then ? then : "scored from the answer texts instead");
    free_question(&st->quality);
    for (size_t k = 0; st->measures && k < st->m; k++)
        free_question(&st->measures[k]);
    free(st->measures);
    free(st->template);
    free(st->system);
    free(st->topic);
}

/* ---- evaluation -------------------------------------------------------- */

/* The session error without its "llm: " prefix (the reason names it). */
static const char *llm_error(const qd_worker *w)
{
    const char *e = qd_llm_session_error(w->llm);
    return strncmp(e, "llm: ", 5) == 0 ? e + 5 : e;
}

static int ask(const ai_feedback *st, qd_worker *w, const question *q, const char *question_text, const char *text,
               long top_logprobs, long max_tokens, qd_llm_reply *reply, long *tokens)
{
    char err[256], *prompt, labels[512] = "";
    size_t n = 0;
    for (size_t i = 0; i < q->nlabels && n < sizeof labels; i++)
        n += (size_t)snprintf(labels + n, sizeof labels - n, "%s%s", i ? ", " : "", q->labels[i]);
    const char *values[4] = {question_text, text, labels, st->topic};
    if (qdi_template_expand(st->template, template_fields, values, 4, &prompt, err, sizeof err))
        return qd_worker_fail(w, "ai_feedback: %s: template %s", q->name, err);
    qd_llm_request req = {0};
    req.endpoint = st->endpoint;
    req.system = st->system;
    req.prompt = prompt;
    req.temperature = 0;
    req.max_tokens = max_tokens;
    req.top_logprobs = top_logprobs;
    int rc = qd_llm_complete(w->llm, &req, reply);
    free(prompt);
    if (rc != QD_OK)
        return qd_worker_fail(w, "ai_feedback: %s: %s", q->name, llm_error(w));
    if (reply->prompt_tokens > 0)
        *tokens += reply->prompt_tokens;
    if (reply->completion_tokens > 0)
        *tokens += reply->completion_tokens;
    return QD_OK;
}

/* The label an answer text names first (a whole word, any case); -1. */
static int label_in_text(const question *q, const char *text)
{
    int best = -1;
    size_t at = (size_t)-1;
    for (size_t i = 0; i < q->nlabels; i++) {
        size_t len = strlen(q->labels[i]);
        for (const char *p = text; *p; p++) {
            if (strncasecmp(p, q->labels[i], len) != 0)
                continue;
            if ((p > text && isalnum((unsigned char)p[-1])) || isalnum((unsigned char)p[len]))
                continue;
            if ((size_t)(p - text) < at) {
                at = (size_t)(p - text);
                best = (int)i;
            }
            break;
        }
    }
    return best;
}

/* The reply's first token positions as [[token, logprob], ...] lists (at
 * most 2 positions of 5 alternatives), the judge's raw answer. */
static cJSON *top_tokens(const qd_llm_reply *r)
{
    cJSON *out = cJSON_CreateArray();
    for (size_t pos = 0; out && pos < r->ntokens && pos < 2; pos++) {
        const qd_llm_token *t = &r->tokens[pos];
        cJSON *list = cJSON_CreateArray();
        for (size_t a = 0; list && a < (t->ntop ? t->ntop : 1) && a < 5; a++) {
            cJSON *pair = cJSON_CreateArray();
            const char *tok = t->ntop ? t->top[a].token : t->token;
            double lp = t->ntop ? t->top[a].logprob : t->logprob;
            cJSON_AddItemToArray(pair, cJSON_CreateString(tok));
            cJSON_AddItemToArray(pair, isfinite(lp) ? cJSON_CreateNumber(lp) : cJSON_CreateNull());
            cJSON_AddItemToArray(list, pair);
        }
        cJSON_AddItemToArray(out, list);
    }
    return out;
}

/* A short text of the tokens for the log: " The" -0.1, "\n" -2.3. */
static void tokens_text(const cJSON *top, char *out, size_t len)
{
    const cJSON *list = cJSON_GetArrayItem(top, 0), *pair;
    size_t n = 0;
    out[0] = '\0';
    cJSON_ArrayForEach(pair, list) {
        char *tok = cJSON_PrintUnformatted(cJSON_GetArrayItem(pair, 0));
        const cJSON *lp = cJSON_GetArrayItem(pair, 1);
        if (tok && n < len)
            n += (size_t)snprintf(out + n, len - n, "%s%s %.3g", n ? ", " : "", tok,
                                  cJSON_IsNumber(lp) ? lp->valuedouble : -INFINITY);
        free(tok);
    }
    if (!out[0])
        snprintf(out, len, "none");
}

/* What a failing or falling-back question asked and got, in its meta entry. */
static void note_answer(cJSON *o, const char *question_text, const char *answer, cJSON *top)
{
    cJSON_AddStringToObject(o, "question", question_text);
    cJSON_AddStringToObject(o, "answer", answer);
    if (top)
        cJSON_AddItemToObject(o, "top_logprobs", top);
}

/* Whether this answer of q asks for logprobs: always but with "rating";
 * in "auto" until the first replies decide, then every recheck-th answer
 * while ratings are used. */
static int wants_logprobs(ai_feedback *st, question *q)
{
    if (st->feedback != FEEDBACK_AUTO)
        return st->feedback == FEEDBACK_LOGPROBS;
    if (__atomic_load_n(&q->decided, __ATOMIC_RELAXED) != DECIDE_RATING)
        return 1;
    return __atomic_add_fetch(&q->answers, 1, __ATOMIC_RELAXED) % (unsigned long)st->recheck == 0;
}

/* "auto" decides (or re-decides) for q and says so once per change. */
static void decide(ai_feedback *st, question *q, int to, const char *why, const char *answer, const cJSON *top)
{
    int from = __atomic_load_n(&q->decided, __ATOMIC_RELAXED);
    char toks[512];
    if (from == to || !__atomic_compare_exchange_n(&q->decided, &from, to, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        return;
    if (to == DECIDE_LOGPROBS) {
        if (from == DECIDE_RATING)
            qdi_log("ai_feedback: %s: the judge's top logprobs name the labels again; scoring \"%s\" from them",
                    q->name, q->name);
        return;
    }
    tokens_text(top, toks, sizeof toks);
    qdi_log("ai_feedback: %s: the first answer decides: %s (question \"%.80s%s\", answer \"%.40s\", top tokens %s); "
            "using numeric ratings%s for \"%s\" from now on, trying logprobs again every %ld answers "
            "(evaluator.recheck)",
            q->name, why, q->question, strlen(q->question) > 80 ? "..." : "", answer, toks,
            q->categorical ? " and answer texts" : "", q->name, st->recheck);
}

/* One question: its value (a probability, a category + 0.5, or a rating
 * / 10) and its meta entry. */
static int judge(ai_feedback *st, qd_worker *w, question *q, const char *text, double *value, cJSON *meta,
                 long *tokens)
{
    qd_llm_reply r;
    cJSON *o = cJSON_AddObjectToObject(meta, q->name);
    double *p = NULL, v;
    int rc, have_text = 0;
    char answer[512] = "";
    if (!o)
        return QD_ENOMEM;
    if (wants_logprobs(st, q)) {
        qd_llm_label_info info;
        if ((rc = ask(st, w, q, q->question, text, st->top_logprobs, st->max_tokens, &r, tokens)))
            return rc;
        snprintf(answer, sizeof answer, "%s", r.text);
        have_text = 1;
        if (!(p = malloc(q->nlabels * sizeof *p))) {
            qd_llm_reply_clear(&r);
            return QD_ENOMEM;
        }
        rc = qd_llm_label_probs(&r, (const char *const *)q->labels, q->nlabels, p, &info);
        int no_logprobs = r.ntokens == 0;
        cJSON *top = rc == QD_OK ? NULL : top_tokens(&r);
        qd_llm_reply_clear(&r);
        __atomic_add_fetch(&st->asked_logprobs, 1, __ATOMIC_RELAXED);
        if (rc == QD_OK) {
            cJSON *po = cJSON_AddObjectToObject(o, "p");
            size_t best = 0;
            for (size_t i = 0; i < q->nlabels; i++) {
                cJSON_AddNumberToObject(po, q->labels[i], p[i]);
                if (p[i] > p[best])
                    best = i;
            }
            *value = q->categorical ? (double)best + 0.5 : p[0];
            cJSON_AddStringToObject(o, "answer", answer);
            if (info.bounded) /* labels absent from the top logprobs got the bound */
                cJSON_AddNumberToObject(o, "bounded", (double)info.bounded);
            if (st->llm)
                qd_llm_count_label_score(st->llm, info.bounded);
            if (st->feedback == FEEDBACK_AUTO)
                decide(st, q, DECIDE_LOGPROBS, NULL, answer, NULL);
            free(p);
            return QD_OK;
        }
        free(p);
        /* what this one reply showed: a few replies without logprobs among
         * many say nothing of the server (the count comes at the end) */
        const char *why = no_logprobs ? "the judge's reply carried no logprobs"
                                      : "the answer's top logprobs name none of the labels";
        __atomic_add_fetch(no_logprobs ? &st->no_logprobs : &st->no_label, 1, __ATOMIC_RELAXED);
        if (st->feedback == FEEDBACK_LOGPROBS) {
            char toks[512];
            tokens_text(top, toks, sizeof toks);
            if (__atomic_exchange_n(&st->warned, 1, __ATOMIC_RELAXED) == 0)
                qdi_log("ai_feedback: %s: %s (question \"%.80s%s\", answer \"%.40s\", top tokens %s); "
                        "failures.jsonl keeps every such answer, the end of the run gives how many", q->name, why,
                        q->question, strlen(q->question) > 80 ? "..." : "", answer, toks);
            note_answer(o, q->question, answer, top);
            return qd_worker_fail(w, "ai_feedback: %s: %s", q->name,
                                  no_logprobs ? "the reply has no logprobs (set evaluator.feedback to \"rating\" or "
                                                "\"auto\" for servers without them)"
                                              : "none of the labels is among the answer's top logprobs");
        }
        /* auto: the first replies decide; a later miss falls back for this answer only */
        if (__atomic_load_n(&q->decided, __ATOMIC_RELAXED) != DECIDE_LOGPROBS)
            decide(st, q, DECIDE_RATING, why, answer, top);
        cJSON_AddItemToObject(o, "logprobs_missed", top ? top : cJSON_CreateNull());
    }
    if (q->categorical) { /* the label the answer names */
        if (!have_text) {
            if ((rc = ask(st, w, q, q->question, text, 0, st->max_tokens + 8, &r, tokens)))
                return rc;
            snprintf(answer, sizeof answer, "%s", r.text);
            qd_llm_reply_clear(&r);
        }
        int k = label_in_text(q, answer);
        if (k < 0) {
            note_answer(o, q->question, answer, NULL);
            return qd_worker_fail(w, "ai_feedback: %s: the answer names none of the labels", q->name);
        }
        *value = (double)k + 0.5;
        cJSON_AddStringToObject(o, "label", q->labels[k]);
        cJSON_AddStringToObject(o, "answer", answer);
        return QD_OK;
    }
    if ((rc = ask(st, w, q, q->rating_question, text, 0, st->rating_tokens, &r, tokens)))
        return rc;
    snprintf(answer, sizeof answer, "%s", r.text);
    qd_llm_reply_clear(&r);
    rc = qd_llm_parse_rating(answer, 0, 10, &v);
    if (rc != QD_OK) {
        note_answer(o, q->rating_question, answer, NULL);
        if (rc == QD_ENOTFOUND)
            return qd_worker_fail(w, "ai_feedback: %s: no rating in the answer", q->name);
        return qd_worker_fail(w, "ai_feedback: %s: the rating is outside 0..10", q->name);
    }
    *value = v / 10.0;
    cJSON_AddNumberToObject(o, "rating", v);
    cJSON_AddStringToObject(o, "answer", answer);
    return QD_OK;
}

static int ai_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    ai_feedback *st = ev->state; /* only the decisions and notes are written, atomically */
    cJSON *meta;
    char *text;
    long tokens = 0;
    int rc;
    if (!w->llm)
        return qd_worker_fail(w, "ai_feedback: the worker has no LLM session");
    if (!sol->text)
        return qd_worker_fail(w, "ai_feedback: the solution has no text");
    if (!(meta = cJSON_CreateObject()))
        return QD_ENOMEM;
    rc = judge(st, w, &st->quality, sol->text, &sol->objective, meta, &tokens);
    for (size_t k = 0; rc == QD_OK && k < st->m; k++)
        rc = judge(st, w, &st->measures[k], sol->text, &sol->measures[k], meta, &tokens);
    /* a failed job keeps its meta too: failures.jsonl shows what was asked and answered */
    if (rc != QD_ENOMEM) {
        cJSON_AddNumberToObject(meta, "tokens", (double)tokens);
        if (!(text = cJSON_PrintUnformatted(meta)) || qd_solution_set_meta(sol, text) != QD_OK)
            rc = QD_ENOMEM;
        free(text);
    }
    cJSON_Delete(meta);
    return rc;
}

const qd_evaluator_type qdi_evaluator_ai_feedback = {
    .name = "ai_feedback",
    .state_size = sizeof(ai_feedback),
    .flags = QD_EVALUATOR_NO_RNG,
    .init = ai_init,
    .evaluate = ai_evaluate,
    .fini = ai_fini,
};
