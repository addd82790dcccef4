/* fuzz_llm_reply.c - libFuzzer target: the LLM reply parser for every
 * endpoint. The input is a reply body; it is read as a completions or chat
 * reply (every logprobs shape: content[], tokens/token_logprobs/top_logprobs,
 * completion_probabilities) and, when that parses, scored as QDAIF does
 * (answer-label probabilities for yes/no and for five labels, and the
 * numeric rating fallback on its text), then read as an embeddings reply. */
#include "fuzz.h"
#include <math.h>
#include "src/llm/llm_internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const yes_no[] = {"yes", "no"};
    static const char *const genres[] = {"haiku", "sonnet", "ballad", "limerick", "hymn"};
    char err[512], *text = fuzz_text(data, size);
    qd_llm_reply r;
    double p[5], v, *vec = NULL;
    qd_llm_label_info info;
    size_t n;
    long ptok;
    if (qd_llm_reply_parse(text, &r, err, sizeof err) == QD_OK) {
        if (qd_llm_label_probs(&r, yes_no, 2, p, &info) == QD_OK && !(p[0] >= 0 && p[0] <= 1 && p[1] >= 0 && p[1] <= 1))
            abort(); /* a probability outside [0, 1] (or NaN) */
        if (qd_llm_label_probs(&r, genres, 5, p, NULL) == QD_OK)
            for (size_t i = 0; i < 5; i++)
                if (!(p[i] >= 0 && p[i] <= 1))
                    abort();
        if (qd_llm_parse_rating(r.text, 0, 10, &v) == QD_OK && !(v >= 0 && v <= 10))
            abort();
        qd_llm_reply_clear(&r);
    }
    if (qdi_llm_embedding_parse(text, &vec, &n, &ptok, err, sizeof err) == QD_OK && (!vec || !n))
        abort();
    free(vec);
    free(text);
    return 0;
}
