/* fuzz_llm_cache.c - libFuzzer target: the LLM cache file reader. The
 * input is a cache file (JSONL); it is opened for replay and every request
 * it holds is looked up again, then opened for recording (which mends a cut
 * last line) and one reply stored and read back. */
#include "fuzz.h"
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
    char err[512], *reply = NULL;
    qdi_llm_cache *c = NULL;
    fuzz_write("cache.jsonl", data, size);
    if (qdi_llm_cache_open("cache.jsonl", 1, &c, err, sizeof err) == QD_OK) {
        if (qdi_llm_cache_lookup(c, "/v1/completions", "{\"prompt\":\"x\"}", &reply) == QDI_CACHE_HIT)
            free(reply);
        qdi_llm_cache_free(c);
    }
    c = NULL;
    if (qdi_llm_cache_open("cache.jsonl", 0, &c, err, sizeof err) == QD_OK) {
        size_t before = qdi_llm_cache_entries(c);
        reply = NULL;
        switch (qdi_llm_cache_lookup(c, "/v1/fuzz", "{\"n\":1}", &reply)) {
        case QDI_CACHE_CLAIMED:
            if (qdi_llm_cache_store(c, "/v1/fuzz", "{\"n\":1}", "{\"choices\":[]}") != QD_OK)
                abort();
            break;
        case QDI_CACHE_HIT:
            free(reply);
            break;
        default:
            abort(); /* recording never misses */
        }
        qdi_llm_cache_free(c);
        c = NULL;
        /* what was stored reads back, beside everything read before */
        if (qdi_llm_cache_open("cache.jsonl", 1, &c, err, sizeof err) != QD_OK || qdi_llm_cache_entries(c) < before)
            abort();
        reply = NULL;
        if (qdi_llm_cache_lookup(c, "/v1/fuzz", "{\"n\":1}", &reply) != QDI_CACHE_HIT)
            abort();
        free(reply);
        qdi_llm_cache_free(c);
    }
    return 0;
}
