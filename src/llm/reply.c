/* reply.c - the reply shapes of OpenAI-compatible servers and the
 * maths that turns answer-token log-probabilities into scores (QDAIF,
 * Bradley et al. 2023: the normalised probability of an answer label).
 *
 * The servers agree on choices[0].text / choices[0].message.content but
 * not on logprobs. Shapes read here, whichever endpoint they come from:
 *  - logprobs.content[] of {token, logprob, top_logprobs[] of {token,
 *    logprob}}: OpenAI chat, vLLM chat (>= 0.4), Ollama chat (>= 0.12.11),
 *    llama.cpp chat and completions (since b4400; with post_sampling_probs
 *    the fields are prob / top_probs, probabilities not logs);
 *  - logprobs.tokens[], token_logprobs[], top_logprobs[] of {token:
 *    logprob} objects: OpenAI and vLLM completions, and vLLM chat before
 *    0.4 (which also sends "content": null inside logprobs);
 *  - top-level completion_probabilities[] of {content, probs[] of {tok_str,
 *    prob}} (llama.cpp before b4400, whose /v1/completions gives "logprobs":
 *    null) or of {token, logprob, top_logprobs[]} (llama.cpp's /completion).
 * message.content may be null (text ""), usage may be missing (counts -1;
 * llama.cpp's tokens_evaluated / tokens_predicted are read instead), a
 * logprob may be null or a huge negative stand-in for -inf (vLLM -9999,
 * llama.cpp -FLT_MAX): all read as very unlikely.
 */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "llm_internal.h"

#define MAX_POSITIONS 64 /* token positions kept from a reply */

void qd_llm_reply_clear(qd_llm_reply *r)
{
    if (!r)
        return;
    free(r->text);
    free(r->finish_reason);
    for (size_t i = 0; i < r->ntokens; i++) {
        free(r->tokens[i].token);
        for (size_t k = 0; k < r->tokens[i].ntop; k++)
            free(r->tokens[i].top[k].token);
        free(r->tokens[i].top);
    }
    free(r->tokens);
    memset(r, 0, sizeof *r);
    r->prompt_tokens = r->completion_tokens = -1;
}

static double number_or(const cJSON *v, double fallback)
{
    return cJSON_IsNumber(v) ? v->valuedouble : fallback;
}

/* A logprob field: a number, or null / missing for -inf. */
static double logprob_of(const cJSON *v)
{
    return cJSON_IsNumber(v) ? v->valuedouble : -INFINITY;
}

/* A probability field turned into a logprob. */
static double log_of_prob(const cJSON *v)
{
    double p = number_or(v, 0.0);
    return p > 0 ? log(p) : -INFINITY;
}

static char *dup_or_empty(const char *s)
{
    return strdup(s ? s : "");
}

/* Appends one token position; alternatives are added by the caller. */
static qd_llm_token *add_position(qd_llm_reply *r, const char *token, double logprob, size_t nalts)
{
    qd_llm_token *t;
    if (r->ntokens >= MAX_POSITIONS)
        return NULL;
    if (!(t = realloc(r->tokens, (r->ntokens + 1) * sizeof *t)))
        return NULL;
    r->tokens = t;
    t = &r->tokens[r->ntokens];
    memset(t, 0, sizeof *t);
    if (!(t->token = dup_or_empty(token)) || (nalts && !(t->top = calloc(nalts, sizeof *t->top)))) {
        free(t->token);
        return NULL;
    }
    t->logprob = logprob;
    r->ntokens++;
    return t;
}

static int add_alt(qd_llm_token *t, const char *token, double logprob)
{
    if (!(t->top[t->ntop].token = dup_or_empty(token)))
        return QD_ENOMEM;
    t->top[t->ntop++].logprob = logprob;
    return QD_OK;
}

/* An entry of a content-array shape: {token, logprob|prob, top_logprobs|top_probs}. */
static int read_content_entry(qd_llm_reply *r, const cJSON *e)
{
    const cJSON *tok = cJSON_GetObjectItemCaseSensitive(e, "token");
    const cJSON *lp = cJSON_GetObjectItemCaseSensitive(e, "logprob");
    const cJSON *top = cJSON_GetObjectItemCaseSensitive(e, "top_logprobs");
    int probs = 0;
    const cJSON *a;
    qd_llm_token *t;
    if (!cJSON_IsObject(e))
        return QD_EFORMAT;
    if (!lp && cJSON_GetObjectItemCaseSensitive(e, "prob")) {
        probs = 1; /* llama.cpp's post-sampling probabilities */
        lp = cJSON_GetObjectItemCaseSensitive(e, "prob");
        top = cJSON_GetObjectItemCaseSensitive(e, "top_probs");
    }
    if (!tok) /* llama.cpp before b4400 in completion_probabilities */
        tok = cJSON_GetObjectItemCaseSensitive(e, "content");
    if (!top && cJSON_GetObjectItemCaseSensitive(e, "probs")) {
        probs = 1;
        top = cJSON_GetObjectItemCaseSensitive(e, "probs");
    }
    if (!(t = add_position(r, cJSON_IsString(tok) ? tok->valuestring : "", probs ? log_of_prob(lp) : logprob_of(lp),
                           cJSON_IsArray(top) ? (size_t)cJSON_GetArraySize(top) : 0)))
        return r->ntokens >= MAX_POSITIONS ? QD_OK : QD_ENOMEM;
    if (probs && !lp)
        t->logprob = -INFINITY;
    if (!cJSON_IsArray(top))
        top = NULL;
    cJSON_ArrayForEach(a, top) {
        const cJSON *at = cJSON_GetObjectItemCaseSensitive(a, "token");
        const cJSON *av = cJSON_GetObjectItemCaseSensitive(a, probs ? "prob" : "logprob");
        if (!at)
            at = cJSON_GetObjectItemCaseSensitive(a, "tok_str");
        if (!cJSON_IsObject(a))
            continue;
        if (add_alt(t, cJSON_IsString(at) ? at->valuestring : "", probs ? log_of_prob(av) : logprob_of(av)))
            return QD_ENOMEM;
    }
    return QD_OK;
}

static int read_content_array(qd_llm_reply *r, const cJSON *arr)
{
    const cJSON *e;
    cJSON_ArrayForEach(e, arr) {
        int rc = read_content_entry(r, e);
        if (rc == QD_ENOMEM)
            return rc;
    }
    return QD_OK;
}

/* The legacy completions shape: parallel arrays. */
static int read_legacy(qd_llm_reply *r, const cJSON *lp)
{
    const cJSON *tokens = cJSON_GetObjectItemCaseSensitive(lp, "tokens");
    const cJSON *lps = cJSON_GetObjectItemCaseSensitive(lp, "token_logprobs");
    const cJSON *tops = cJSON_GetObjectItemCaseSensitive(lp, "top_logprobs");
    int n = cJSON_GetArraySize(tokens);
    for (int i = 0; i < n; i++) {
        const cJSON *tok = cJSON_GetArrayItem(tokens, i);
        const cJSON *top = cJSON_IsArray(tops) ? cJSON_GetArrayItem(tops, i) : NULL;
        const cJSON *a;
        qd_llm_token *t = add_position(r, cJSON_IsString(tok) ? tok->valuestring : "",
                                       logprob_of(cJSON_IsArray(lps) ? cJSON_GetArrayItem(lps, i) : NULL),
                                       top && (cJSON_IsObject(top) || cJSON_IsArray(top))
                                           ? (size_t)cJSON_GetArraySize(top) : 0);
        if (!t)
            return r->ntokens >= MAX_POSITIONS ? QD_OK : QD_ENOMEM;
        if (cJSON_IsObject(top)) { /* {token: logprob, ...} */
            cJSON_ArrayForEach(a, top)
                if (add_alt(t, a->string, logprob_of(a)))
                    return QD_ENOMEM;
        } else if (cJSON_IsArray(top)) { /* some servers send a list of {token, logprob} */
            cJSON_ArrayForEach(a, top) {
                const cJSON *at = cJSON_GetObjectItemCaseSensitive(a, "token");
                if (add_alt(t, cJSON_IsString(at) ? at->valuestring : "",
                            logprob_of(cJSON_GetObjectItemCaseSensitive(a, "logprob"))))
                    return QD_ENOMEM;
            }
        }
    }
    return QD_OK;
}

/* Text of a chat message content: a string, null, or a list of parts. */
static char *message_text(const cJSON *content)
{
    const cJSON *part;
    size_t len = 0;
    char *out;
    if (cJSON_IsString(content))
        return strdup(content->valuestring);
    if (!cJSON_IsArray(content))
        return strdup("");
    cJSON_ArrayForEach(part, content) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t))
            len += strlen(t->valuestring);
    }
    if (!(out = malloc(len + 1)))
        return NULL;
    out[0] = '\0';
    cJSON_ArrayForEach(part, content) {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (cJSON_IsString(t))
            strcat(out, t->valuestring);
    }
    return out;
}

static void read_usage(qd_llm_reply *r, const cJSON *doc)
{
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(doc, "usage");
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(u, "prompt_tokens");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(u, "completion_tokens");
    if (!cJSON_IsNumber(p)) /* llama.cpp's own fields */
        p = cJSON_GetObjectItemCaseSensitive(doc, "tokens_evaluated");
    if (!cJSON_IsNumber(c))
        c = cJSON_GetObjectItemCaseSensitive(doc, "tokens_predicted");
    r->prompt_tokens = cJSON_IsNumber(p) && p->valuedouble >= 0 ? (long)p->valuedouble : -1;
    r->completion_tokens = cJSON_IsNumber(c) && c->valuedouble >= 0 ? (long)c->valuedouble : -1;
}

/* The message of an error reply ({"error": {"message"}}, {"error": "..."},
 * vLLM's {"object": "error", "message"}), or NULL. */
static const char *error_message(const cJSON *doc)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *obj = cJSON_GetObjectItemCaseSensitive(doc, "object");
    if (cJSON_IsString(e))
        return e->valuestring;
    if (cJSON_IsObject(e)) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(e, "message");
        return cJSON_IsString(m) ? m->valuestring : "(no message)";
    }
    if (cJSON_IsString(obj) && strcmp(obj->valuestring, "error") == 0) {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(doc, "message");
        return cJSON_IsString(m) ? m->valuestring : "(no message)";
    }
    return NULL;
}

int qd_llm_reply_parse(const char *json, qd_llm_reply *r, char *err, size_t errlen)
{
    /* invalid UTF-8 from a server becomes U+FFFD (the texts go into JSON files) */
    char *fixed = qdi_utf8_valid(json, NULL) ? NULL : qdi_utf8_fix(json);
    cJSON *doc = cJSON_Parse(fixed ? fixed : json);
    free(fixed);
    const cJSON *choices, *c, *lp, *probs, *content;
    const char *emsg;
    int rc = QD_EFORMAT;
    memset(r, 0, sizeof *r); /* *r is output only: its old contents are not freed */
    r->prompt_tokens = r->completion_tokens = -1;
    if (!cJSON_IsObject(doc)) {
        qdi_set_error(err, errlen, "the reply is not a JSON object (cut short?)");
        goto done;
    }
    if ((emsg = error_message(doc))) {
        qdi_set_error(err, errlen, "the server sent an error: %s", emsg);
        goto done;
    }
    choices = cJSON_GetObjectItemCaseSensitive(doc, "choices");
    c = cJSON_GetArrayItem(choices, 0);
    content = cJSON_GetObjectItemCaseSensitive(doc, "content");
    if (cJSON_IsObject(c)) {
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(c, "text");
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(c, "message");
        const cJSON *fin = cJSON_GetObjectItemCaseSensitive(c, "finish_reason");
        if (cJSON_IsString(text))
            r->text = strdup(text->valuestring);
        else if (cJSON_IsObject(msg))
            r->text = message_text(cJSON_GetObjectItemCaseSensitive(msg, "content"));
        else {
            qdi_set_error(err, errlen, "choices[0] has neither \"text\" nor \"message\"");
            goto done;
        }
        if (cJSON_IsString(fin) && !(r->finish_reason = strdup(fin->valuestring)))
            goto nomem;
        lp = cJSON_GetObjectItemCaseSensitive(c, "logprobs");
    } else if (cJSON_IsString(content)) { /* llama.cpp's own /completion */
        r->text = strdup(content->valuestring);
        lp = NULL;
    } else {
        qdi_set_error(err, errlen, "the reply has no \"choices\" (not a completion reply)");
        goto done;
    }
    if (!r->text)
        goto nomem;
    if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(lp, "content"))) {
        if (read_content_array(r, cJSON_GetObjectItemCaseSensitive(lp, "content")))
            goto nomem;
    } else if (cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(lp, "tokens"))) {
        if (read_legacy(r, lp))
            goto nomem;
    } else if (cJSON_IsArray(probs = cJSON_GetObjectItemCaseSensitive(doc, "completion_probabilities"))) {
        if (read_content_array(r, probs))
            goto nomem;
    }
    read_usage(r, doc);
    rc = QD_OK;
    goto done;
nomem:
    qdi_set_error(err, errlen, "out of memory");
    rc = QD_ENOMEM;
done:
    if (rc != QD_OK)
        qd_llm_reply_clear(r);
    cJSON_Delete(doc);
    return rc;
}

int qdi_llm_embedding_parse(const char *json, double **vec, size_t *n, long *prompt_tokens, char *err, size_t errlen)
{
    cJSON *doc = cJSON_Parse(json);
    const cJSON *emb = NULL, *e, *data;
    const char *emsg;
    size_t i = 0;
    int rc = QD_EFORMAT;
    *vec = NULL;
    *n = 0;
    *prompt_tokens = -1;
    if (!doc) {
        qdi_set_error(err, errlen, "the reply is not JSON (cut short?)");
        return QD_EFORMAT;
    }
    if (cJSON_IsObject(doc) && (emsg = error_message(doc))) {
        qdi_set_error(err, errlen, "the server sent an error: %s", emsg);
        goto done;
    }
    data = cJSON_GetObjectItemCaseSensitive(doc, "data");
    emb = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(data, 0), "embedding");
    if (!emb)
        emb = cJSON_GetObjectItemCaseSensitive(doc, "embedding");
    if (cJSON_IsArray(emb) && cJSON_IsArray(cJSON_GetArrayItem(emb, 0)))
        emb = cJSON_GetArrayItem(emb, 0); /* llama.cpp: one vector per sequence */
    if (!cJSON_IsArray(emb) || cJSON_GetArraySize(emb) == 0) {
        qdi_set_error(err, errlen, "the reply has no embedding (data[0].embedding)");
        goto done;
    }
    if (!(*vec = malloc((size_t)cJSON_GetArraySize(emb) * sizeof **vec))) {
        qdi_set_error(err, errlen, "out of memory");
        rc = QD_ENOMEM;
        goto done;
    }
    cJSON_ArrayForEach(e, emb) {
        if (!cJSON_IsNumber(e)) {
            qdi_set_error(err, errlen, "embedding[%zu] is not a number", i);
            free(*vec);
            *vec = NULL;
            goto done;
        }
        (*vec)[i++] = e->valuedouble;
    }
    *n = i;
    {
        const cJSON *pt = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(doc, "usage"),
                                                           "prompt_tokens");
        *prompt_tokens = cJSON_IsNumber(pt) && pt->valuedouble >= 0 ? (long)pt->valuedouble : -1;
    }
    rc = QD_OK;
done:
    cJSON_Delete(doc);
    return rc;
}

/* ---- answer labels ----------------------------------------------------- */

/* The comparable form of a token or label: leading space, newline and
 * tokenizer markers (GPT-2's "Ġ" and "Ċ", SentencePiece's "▁") and quotes
 * dropped, trailing space and punctuation dropped, ASCII lowercased. */
static void normalise(const char *s, char *out, size_t len)
{
    size_t n = 0;
    for (;;) {
        if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r' || *s == '"' || *s == '\'' || *s == '*')
            s++;
        else if ((unsigned char)s[0] == 0xC4 && ((unsigned char)s[1] == 0xA0 || (unsigned char)s[1] == 0x8A))
            s += 2;
        else if ((unsigned char)s[0] == 0xE2 && (unsigned char)s[1] == 0x96 && (unsigned char)s[2] == 0x81)
            s += 3;
        else
            break;
    }
    for (; *s && n + 1 < len; s++)
        out[n++] = (char)tolower((unsigned char)*s);
    while (n > 0 && strchr(" \t\r\n.,:;!?\"'*)", out[n - 1]))
        n--;
    out[n] = '\0';
}

/* The label a token names: exact match, or a prefix of at least 3
 * characters of exactly one label; -1 for none. */
static int label_of(const char *token, char (*labels)[64], size_t n)
{
    char t[64];
    int found = -1;
    size_t len;
    normalise(token, t, sizeof t);
    len = strlen(t);
    if (len == 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strcmp(t, labels[i]) == 0)
            return (int)i;
    if (len < 3)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (strncmp(t, labels[i], len) == 0) {
            if (found >= 0)
                return -1; /* names more than one label */
            found = (int)i;
        }
    return found;
}

/* log(exp(a) + exp(b)) without overflow. */
static double log_add(double a, double b)
{
    if (a == -INFINITY)
        return b;
    if (b == -INFINITY)
        return a;
    return a > b ? a + log1p(exp(b - a)) : b + log1p(exp(a - b));
}

int qd_llm_label_probs(const qd_llm_reply *r, const char *const *labels, size_t n, double *p, size_t *position)
{
    char (*norm)[64];
    double *mass;
    int rc = QD_ENOTFOUND;
    if (n == 0)
        return QD_EINVAL;
    norm = malloc(n * sizeof *norm);
    mass = malloc(n * sizeof *mass);
    if (!norm || !mass) {
        free(norm);
        free(mass);
        return QD_ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        normalise(labels[i], norm[i], sizeof norm[i]);
    for (size_t pos = 0; pos < r->ntokens && rc == QD_ENOTFOUND; pos++) {
        const qd_llm_token *t = &r->tokens[pos];
        int any = 0;
        for (size_t i = 0; i < n; i++)
            mass[i] = -INFINITY;
        if (t->ntop == 0) { /* no alternatives: the sampled token alone */
            int k = label_of(t->token, norm, n);
            if (k >= 0) {
                mass[k] = t->logprob;
                any = 1;
            }
        }
        for (size_t a = 0; a < t->ntop; a++) {
            int k = label_of(t->top[a].token, norm, n);
            if (k >= 0) {
                mass[k] = log_add(mass[k], t->top[a].logprob);
                any = 1;
            }
        }
        if (!any)
            continue;
        /* softmax over the labels' log-masses (QDAIF's normalisation) */
        double top = -INFINITY, sum = 0;
        for (size_t i = 0; i < n; i++)
            if (mass[i] > top)
                top = mass[i];
        for (size_t i = 0; i < n; i++) {
            p[i] = top == -INFINITY ? 0.0 : exp(mass[i] - top);
            sum += p[i];
        }
        if (!(sum > 0)) { /* every named label has probability 0: uniform */
            for (size_t i = 0; i < n; i++)
                p[i] = 1.0 / (double)n;
        } else {
            for (size_t i = 0; i < n; i++)
                p[i] /= sum;
        }
        if (position)
            *position = pos;
        rc = QD_OK;
    }
    free(norm);
    free(mass);
    return rc;
}

int qd_llm_parse_rating(const char *text, double lo, double hi, double *v)
{
    const char *s = text;
    char *end;
    while (*s && !isdigit((unsigned char)*s) && !(*s == '.' && isdigit((unsigned char)s[1])))
        s++;
    if (!*s)
        return QD_ENOTFOUND;
    *v = strtod(s, &end);
    if (end == s || !isfinite(*v))
        return QD_ENOTFOUND;
    if (s > text && s[-1] == '-')
        *v = -*v;
    return *v >= lo && *v <= hi ? QD_OK : QD_EINVAL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

double qdi_llm_quantile(double *v, size_t n, double q)
{
    size_t rank;
    if (n == 0)
        return NAN;
    qsort(v, n, sizeof *v, cmp_double);
    /* nearest rank: the smallest value with at least a share q of the
     * values at or below it */
    rank = (size_t)ceil(q * (double)n);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return v[rank - 1];
}

double qdi_llm_backoff(double base, double max, double jitter, unsigned attempt, double u)
{
    double d = base * pow(2.0, (double)(attempt > 60 ? 60 : attempt));
    if (d > max)
        d = max;
    return d * (1.0 - jitter * u);
}

void qdi_llm_redact(char *out, size_t len, const char *text, const char *secret)
{
    size_t n = 0, slen = secret ? strlen(secret) : 0;
    static const char mark[] = "[redacted]";
    if (!len)
        return;
    while (*text && n + 1 < len) {
        size_t rest = strlen(text);
        /* the whole secret, or a text cut short inside it (at least 4 of
         * its characters left at the end) */
        if (slen && (strncmp(text, secret, slen) == 0 ||
                     (rest < slen && rest >= 4 && strncmp(text, secret, rest) == 0))) {
            for (size_t i = 0; mark[i] && n + 1 < len; i++)
                out[n++] = mark[i];
            text += rest < slen ? rest : slen;
        } else {
            out[n++] = *text++;
        }
    }
    out[n] = '\0';
}
