/* judge.c - an LLM as QDHF's judge (Ding et al. 2024): the triplet question
 * "Of B and C, which is more similar to A? Answer B or C." asked in the
 * instruction format the ai_feedback evaluator uses (QDAIF's), answered
 * from the top logprobs of the answer token (B against C, every spelling
 * merged by qd_llm_label_probs) when the server gives them, else from the
 * answer's text (the first standalone B or C). The request goes through the
 * client like every other call, so retries, accounting and the
 * record/replay cache apply. */
#include <ctype.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "llm_internal.h"

#define QUESTION "Of B and C, which is more similar to A? Answer B or C."

/* Appends "X: text" on one line (newlines and tabs as spaces). */
static void put_text(qdi_strbuf *b, const char *label, const char *text)
{
    char *line = strdup(text ? text : "");
    if (!line) {
        b->failed = 1;
        return;
    }
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r' || *p == '\t')
            *p = ' ';
    qdi_strbuf_put(b, label);
    qdi_strbuf_put(b, ": ");
    qdi_strbuf_put(b, line);
    qdi_strbuf_put(b, "\n");
    free(line);
}

/* The first standalone B or C of an answer text (any case): 1, 2 or 0. */
static int answer_in_text(const char *text)
{
    for (const char *p = text; *p; p++) {
        char c = (char)toupper((unsigned char)*p);
        if ((c == 'B' || c == 'C') && (p == text || !isalnum((unsigned char)p[-1])) && !isalnum((unsigned char)p[1]))
            return c == 'B' ? 1 : 2;
    }
    return 0;
}

int qd_llm_judge_triplet(qd_llm_session *s, qd_llm_endpoint endpoint, const char *a, const char *b, const char *c,
                         qd_llm_judgment *out, char *err, size_t errlen)
{
    static const char *const labels[] = {"b", "c"};
    qdi_strbuf prompt = {0};
    qd_llm_request req = {0};
    qd_llm_reply reply;
    double p[2];
    int rc;
    memset(out, 0, sizeof *out);
    qdi_strbuf_put(&prompt, "### Instruction: " QUESTION "\n\n### Input:\n");
    put_text(&prompt, "A", a);
    put_text(&prompt, "B", b);
    put_text(&prompt, "C", c);
    qdi_strbuf_put(&prompt, "\n### Response:");
    if (!prompt.s || prompt.failed) {
        free(prompt.s);
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    req.endpoint = endpoint;
    req.prompt = prompt.s;
    req.temperature = 0;
    req.max_tokens = 4;
    req.top_logprobs = 5;
    rc = qd_llm_complete(s, &req, &reply);
    free(prompt.s);
    if (rc != QD_OK) {
        qdi_set_error(err, errlen, "%s", qd_llm_session_error(s));
        return rc;
    }
    if (qd_llm_label_probs(&reply, labels, 2, p, NULL) == QD_OK) {
        out->p_b = p[0];
        out->closer = p[0] >= p[1] ? 1 : 2;
        out->from_logprobs = 1;
    } else if ((out->closer = answer_in_text(reply.text))) {
        out->p_b = out->closer == 1 ? 1.0 : 0.0;
    } else {
        qdi_set_error(err, errlen, "the answer names neither B nor C: \"%.60s\"", reply.text);
        rc = QD_EFORMAT;
    }
    qd_llm_reply_clear(&reply);
    return rc;
}
