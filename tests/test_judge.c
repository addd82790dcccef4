/* test_judge.c - `elites judge OUTDIR` (src/cli/judge.c) driven through a
 * pseudo-terminal as a person would: the answers land in the judgments
 * file at once with the right "closer", undo takes the last one back, a
 * second session goes on after the last answered triplet, and an archive
 * of real genomes is refused with its path. */
#include <errno.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include "cliutil.h"

/* Writes dir/archive.json: a 1-D archive of n text elites. */
static void text_archive(const char *dir, size_t n)
{
    qd_space sp;
    qd_archive *a = NULL;
    char path[600], err[256];
    qd_config *cfg = qdt_config("{\"type\": \"grid\", \"dims\": [{\"bins\": 10, \"range\": [0, 1]}]}");
    CU_ASSERT_EQUAL_FATAL(qd_space_init(&sp, QD_GENOME_TEXT, 0, 1), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_archive_new(cfg, &sp, &a), QD_OK);
    for (size_t i = 0; i < n; i++) {
        char text[64];
        double m = (i + 0.5) / 10.0;
        qd_solution s = {.objective = 1, .measures = &m, .m = 1};
        qd_add_result r;
        snprintf(text, sizeof text, "text number %zu", i);
        CU_ASSERT_EQUAL(qd_solution_set_text(&s, text), QD_OK);
        CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
        qd_solution_clear(&s);
    }
    snprintf(path, sizeof path, "%s/archive.json", dir);
    CU_ASSERT_EQUAL(qd_archive_save_json(a, NULL, path, err, sizeof err), QD_OK);
    qd_archive_free(a);
    qd_config_free(cfg);
    qd_space_free(&sp);
}

/* Runs `elites judge dir` in a pseudo-terminal with input typed ahead;
 * returns its exit status, the terminal's output in out. */
static int judge(const char *dir, const char *input, char *out, size_t len)
{
    int master, status = -1;
    struct winsize ws = {.ws_row = 24, .ws_col = 40};
    pid_t pid = forkpty(&master, NULL, NULL, &ws);
    size_t n = 0;
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl(qdt_bin(), qdt_bin(), "judge", dir, (char *)NULL);
        _exit(127);
    }
    CU_ASSERT_EQUAL((size_t)write(master, input, strlen(input)), strlen(input));
    for (;;) { /* until the child closes the terminal (EIO) */
        struct pollfd pfd = {.fd = master, .events = POLLIN};
        if (poll(&pfd, 1, 30000) == 0) { /* waiting for input it will never get */
            CU_FAIL("elites judge did not end");
            kill(pid, SIGKILL);
            break;
        }
        ssize_t got = read(master, out + n, len - 1 - n);
        if (got > 0 && n + (size_t)got < len - 1)
            n += (size_t)got;
        else if (got < 0 && errno == EINTR)
            continue;
        else if (got <= 0)
            break;
    }
    out[n] = '\0';
    close(master);
    waitpid(pid, &status, 0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The "index" and "closer" of each line of dir/judgments.jsonl. */
static size_t answers(const char *dir, int *index, int *closer, size_t max)
{
    char path[600], *text;
    size_t n = 0;
    snprintf(path, sizeof path, "%s/judgments.jsonl", dir);
    if (!(text = qdt_slurp(path)))
        return 0;
    for (char *line = strtok(text, "\n"); line && n < max; line = strtok(NULL, "\n"), n++) {
        cJSON *j = cJSON_Parse(line);
        CU_ASSERT_PTR_NOT_NULL(j);
        index[n] = (int)cJSON_GetObjectItem(j, "index")->valuedouble;
        closer[n] = (int)cJSON_GetObjectItem(j, "closer")->valuedouble;
        CU_ASSERT(cJSON_IsString(cJSON_GetObjectItem(j, "ref")) && cJSON_IsString(cJSON_GetObjectItem(j, "x1")) &&
                  cJSON_IsString(cJSON_GetObjectItem(j, "x2")));
        cJSON_Delete(j);
    }
    free(text);
    return n;
}

static void test_answers_undo_and_resume(void)
{
    char *dir = qdt_tmpdir(), *out = malloc(65536);
    int index[8], closer[8];
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    text_archive(dir, 6);
    /* b for triplet 1, b for 2, undo (2 again), c, skip 3, c for 4, quit */
    CU_ASSERT_EQUAL(judge(dir, "b\nb\nu\nc\ns\nc\nq\n", out, 65536), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "0 judgments done"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "A:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "text number"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3 judgments in"));
    CU_ASSERT_EQUAL_FATAL(answers(dir, index, closer, 8), 3);
    CU_ASSERT(index[0] == 0 && closer[0] == 1);
    CU_ASSERT(index[1] == 1 && closer[1] == 2);
    CU_ASSERT(index[2] == 3 && closer[2] == 2);
    /* a second session says how many are done and goes on at triplet 5 */
    CU_ASSERT_EQUAL(judge(dir, "b\n\004", out, 65536), 0); /* end of input (Ctrl-D) quits too */
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3 judgments done"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "-- triplet 5 --"));
    CU_ASSERT_EQUAL_FATAL(answers(dir, index, closer, 8), 4);
    CU_ASSERT(index[3] == 4 && closer[3] == 1);
    qdt_rmdir(dir);
    free(dir);
    free(out);
}

static void test_real_genomes_are_refused(void)
{
    char *dir = qdt_tmpdir(), *out = malloc(65536), path[600], err[256], want[800];
    qd_space sp;
    qd_archive *a = NULL;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    qd_config *cfg = qdt_config("{\"type\": \"grid\", \"dims\": [{\"bins\": 10, \"range\": [0, 1]}]}");
    CU_ASSERT_EQUAL_FATAL(qd_space_init(&sp, QD_GENOME_REAL, 2, 1), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_archive_new(cfg, &sp, &a), QD_OK);
    snprintf(path, sizeof path, "%s/archive.json", dir);
    CU_ASSERT_EQUAL(qd_archive_save_json(a, NULL, path, err, sizeof err), QD_OK);
    CU_ASSERT_EQUAL(judge(dir, "q\n", out, 65536), 1);
    snprintf(want, sizeof want, "elites judge: %s must hold at least 3 text elites (it holds 0 real-valued elites)",
             path);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, want));
    qd_archive_free(a);
    qd_config_free(cfg);
    qd_space_free(&sp);
    qdt_rmdir(dir);
    free(dir);
    free(out);
}

static const qdt_test tests[] = {
    {"answers, undo and resume", test_answers_undo_and_resume},
    {"real genomes are refused", test_real_genomes_are_refused},
    {NULL, NULL},
};

QDT_MAIN("judge", tests)
