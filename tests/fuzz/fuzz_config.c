/* fuzz_config.c - libFuzzer target: the config loader. The input is a
 * config file; when it parses, a search is built from it (every section:
 * archive, mutators, evaluator - command, nas, qdhf, ai_feedback with its
 * LLM - and the files they name) and freed. Lines after a line
 * "#set" are --set assignments applied first. */
#include "fuzz.h"

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
    const uint8_t *json, *sets;
    size_t njson, nsets;
    char err[1024], *text, *assign, *line, *save = NULL;
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    fuzz_split(data, size, "\n#set\n", &json, &njson, &sets, &nsets);
    text = fuzz_text(json, njson);
    assign = fuzz_text(sets, nsets);
    if (qd_config_parse(text, "fuzz.json", &cfg, err, sizeof err) == QD_OK) {
        for (line = strtok_r(assign, "\n", &save); line; line = strtok_r(NULL, "\n", &save))
            qd_config_set(cfg, line);
        if (!qd_config_error(cfg)[0] && fuzz_config_safe(qd_config_json(cfg), NULL) && qd_search_new(cfg, &s) == QD_OK)
            qd_search_free(s);
    }
    qd_config_free(cfg);
    free(assign);
    free(text);
    return 0;
}
