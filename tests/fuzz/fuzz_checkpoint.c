/* fuzz_checkpoint.c - libFuzzer target: the checkpoint loader. The input
 * is a checkpoint folder in three parts separated by a line "--file--":
 * state.json, archive.json (also used as result.json) and the
 * checkpoint-metrics journal. The config is taken from state.json (as
 * `elites resume` does), a search is built from it and resumed. */
#include "fuzz.h"
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fuzz_setup();
    if (mkdir("run", 0755) != 0 || mkdir("run/checkpoint", 0755) != 0) {
        perror("fuzz: run/checkpoint");
        exit(1);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *state, *rest, *archive, *metrics;
    size_t nstate, nrest, narchive, nmetrics;
    char err[1024], note[1024];
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    fuzz_split(data, size, "\n--file--\n", &state, &nstate, &rest, &nrest);
    fuzz_split(rest, nrest, "\n--file--\n", &archive, &narchive, &metrics, &nmetrics);
    fuzz_write("run/checkpoint/state.json", state, nstate);
    fuzz_write("run/checkpoint/archive.json", archive, narchive);
    fuzz_write("run/checkpoint/result.json", archive, narchive);
    fuzz_write("run/checkpoint-metrics", metrics, nmetrics);
    if (qd_checkpoint_config("run", &cfg, err, sizeof err) == QD_OK && fuzz_config_safe(qd_config_json(cfg), NULL) &&
        qd_search_new(cfg, &s) == QD_OK) {
        qd_search_resume(s, "run", note, sizeof note);
        qd_search_free(s);
    }
    qd_config_free(cfg);
    return 0;
}
