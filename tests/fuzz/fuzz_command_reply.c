/* fuzz_command_reply.c - libFuzzer target: the command evaluator's reply
 * parser. The input's first byte picks the number of measures (0-3) and
 * fork or persistent mode; the rest is what the program printed. A reply
 * read as good must have given finite numbers. */
#include "fuzz.h"
#include <math.h>
#include "evaluators/command.h"

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
    double measures[3] = {NAN, NAN, NAN};
    qd_solution sol = {0};
    char err[1024], *text;
    int protocol, with_tail, last_line;
    if (size < 1)
        return 0;
    sol.m = data[0] & 3;
    sol.measures = measures;
    sol.objective = NAN;
    last_line = !(data[0] & 4);
    text = fuzz_text(data + 1, size - 1);
    if (qdi_command_read_reply(text, last_line, 7, &sol, err, sizeof err, &protocol, &with_tail) == QD_OK) {
        if (!isfinite(sol.objective) || protocol)
            abort();
        for (size_t i = 0; i < sol.m; i++)
            if (!isfinite(measures[i]))
                abort();
    } else if (!err[0]) {
        abort(); /* a failure without a reason */
    }
    qd_solution_clear(&sol);
    free(text);
    return 0;
}
