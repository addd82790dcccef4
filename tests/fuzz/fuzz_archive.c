/* fuzz_archive.c - libFuzzer target: the archive loader (archive.json, as
 * written by a run, `elites export` and a checkpoint). The input is an
 * archive.json; when it loads, the archive is written again as JSON, CSV,
 * heatmap and report, and the JSON written must load again. */
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
    char err[1024];
    qd_archive *a = NULL, *b = NULL;
    cJSON *top = NULL;
    fuzz_write("archive.json", data, size);
    if (qd_archive_load_json("archive.json", &a, &top, err, sizeof err) == QD_OK) {
        if (qd_archive_save_json(a, NULL, "again.json", err, sizeof err) == QD_OK) {
            if (qd_archive_load_json("again.json", &b, NULL, err, sizeof err) != QD_OK) {
                fprintf(stderr, "a saved archive does not load again: %s\n", err);
                abort();
            }
            if (qd_archive_cells(a) != qd_archive_cells(b))
                abort();
        }
        qd_archive_save_csv(a, "archive.csv", err, sizeof err);
        qd_archive_save_svg(a, NULL, "heatmap.svg", err, sizeof err);
        qd_archive_save_html(a, NULL, "report.html", err, sizeof err);
    }
    qd_archive_free(b);
    qd_archive_free(a);
    cJSON_Delete(top);
    return 0;
}
