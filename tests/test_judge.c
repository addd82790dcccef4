/* test_judge.c - `elites judge OUTDIR` (src/cli/judge.c) driven through a
 * pseudo-terminal as a person would: the answers land in the judgments
 * file at once with the right "closer", undo takes the last one back, a
 * second session goes on after the last answered triplet, and an archive
 * of real genomes is refused with its path; with --llm the test server
 * (tests/llm_server.py) answers, from logprobs or the answer text, its
 * failures counted, its calls recorded and replayed. */
#include <errno.h>
#include <math.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <string.h>
#include "cliutil.h"
#include "llmtest.h"

/* Writes dir/archive.json: a 1-D archive of the texts. */
static void words_archive(const char *dir, const char *const *texts, size_t n)
{
    qd_space sp;
    qd_archive *a = NULL;
    char path[600], err[256];
    qd_config *cfg = qdt_config("{\"type\": \"grid\", \"dims\": [{\"bins\": 10, \"range\": [0, 1]}]}");
    CU_ASSERT_EQUAL_FATAL(qd_space_init(&sp, QD_GENOME_TEXT, 0, 1), QD_OK);
    CU_ASSERT_EQUAL_FATAL(qd_archive_new(cfg, &sp, &a), QD_OK);
    for (size_t i = 0; i < n; i++) {
        double m = (i + 0.5) / 10.0;
        qd_solution s = {.objective = 1, .measures = &m, .m = 1};
        qd_add_result r;
        CU_ASSERT_EQUAL(qd_solution_set_text(&s, texts[i]), QD_OK);
        CU_ASSERT_EQUAL(qd_archive_add(a, &s, &r), QD_OK);
        qd_solution_clear(&s);
    }
    snprintf(path, sizeof path, "%s/archive.json", dir);
    CU_ASSERT_EQUAL(qd_archive_save_json(a, NULL, path, err, sizeof err), QD_OK);
    qd_archive_free(a);
    qd_config_free(cfg);
    qd_space_free(&sp);
}

/* Writes dir/archive.json: a 1-D archive of n text elites, "text number i". */
static void text_archive(const char *dir, size_t n)
{
    char text[10][64];
    const char *texts[10];
    for (size_t i = 0; i < n && i < 10; i++) {
        snprintf(text[i], sizeof text[i], "text number %zu", i);
        texts[i] = text[i];
    }
    words_archive(dir, texts, n < 10 ? n : 10);
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

/* The Jaccard similarity of two texts' word sets (space-separated words). */
static double jaccard(const char *x, const char *y)
{
    char a[8][32], b[8][32];
    size_t na = 0, nb = 0, both = 0;
    for (const char *p = x; *p && na < 8; p += strspn(p, " "))
        na += sscanf(p, "%31s", a[na]) == 1, p += strcspn(p, " ");
    for (const char *p = y; *p && nb < 8; p += strspn(p, " "))
        nb += sscanf(p, "%31s", b[nb]) == 1, p += strcspn(p, " ");
    for (size_t i = 0; i < na; i++)
        for (size_t j = 0; j < nb; j++)
            both += !strcmp(a[i], b[j]);
    return (double)both / (double)(na + nb - both);
}

/* Runs `elites judge dir --llm ARGS...`; returns its status, output in out and err. */
static int llm_judge(const char *dir, const char *const *args, char **out, char **err)
{
    const char *argv[16] = {"judge", dir, "--llm", "--set", "llm.retries=0"};
    size_t n = 5;
    for (; *args && n < 15; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    return qdt_wait_cli(qdt_start_cli(dir, argv), dir, out, err);
}

static void test_llm_answers_through_the_test_server(void)
{
    /* distinct word sets (the server compares words), no two pairs alike */
    static const char *const texts[] = {"red apple pie", "red apple tart", "green apple pie", "blue sea wave",
                                        "blue sea shell sand", "red sea wave"};
    char *dir = qdt_tmpdir(), *out, *err, path[600], *one, *two;
    int index[8], closer[8];
    qdt_server srv;
    CU_ASSERT_PTR_NOT_NULL_FATAL(dir);
    CU_ASSERT_EQUAL_FATAL(qdt_server_start(&srv, NULL, NULL), 0);
    words_archive(dir, texts, 6);
    setenv("ELITES_LLM_URL", srv.url, 1);
    setenv("ELITES_LLM_MODEL", "test-openai", 1);
    /* the first request fails (a 400 is not retried): counted, skipped */
    CU_ASSERT_EQUAL(qdt_server_control(&srv, "{\"faults\": [{\"kind\": \"400\"}]}"), 0);
    CU_ASSERT_EQUAL(llm_judge(dir, (const char *const[]){"--count", "4", NULL}, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "llm judge: 3 judged (3 from logprobs, 0 from answer texts), 1 failed"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "elites judge: triplet 1 failed: "));
    free(out);
    free(err);
    /* the answers are the server's: B when A shares more of its words */
    snprintf(path, sizeof path, "%s/judgments.jsonl", dir);
    one = qdt_slurp(path);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    size_t n = 0;
    for (char *line = strtok(one, "\n"); line; line = strtok(NULL, "\n"), n++) {
        cJSON *j = cJSON_Parse(line);
        const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(j, "ref"));
        const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(j, "x1"));
        const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(j, "x2"));
        CU_ASSERT_FATAL(a && b && c);
        double p_b = 1.0 / (1.0 + exp(-8.0 * (jaccard(a, b) - jaccard(a, c))));
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "index")->valuedouble, (double)n + 1);
        CU_ASSERT_EQUAL(cJSON_GetObjectItem(j, "closer")->valuedouble, p_b >= 0.5 ? 1 : 2);
        CU_ASSERT_DOUBLE_EQUAL(cJSON_GetObjectItem(j, "p_b")->valuedouble, p_b, 1e-9);
        CU_ASSERT_STRING_EQUAL(cJSON_GetStringValue(cJSON_GetObjectItem(j, "judge")), "llm logprobs");
        cJSON_Delete(j);
    }
    CU_ASSERT_EQUAL(n, 3);
    free(one);
    /* a server without logprobs: the answer text; the file goes on */
    setenv("ELITES_LLM_MODEL", "test-ollama-old", 1);
    CU_ASSERT_EQUAL(llm_judge(dir, (const char *const[]){"--count", "2", NULL}, &out, &err), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "3 judgments done"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "llm judge: 2 judged (0 from logprobs, 2 from answer texts), 0 failed"));
    free(out);
    free(err);
    CU_ASSERT_EQUAL_FATAL(answers(dir, index, closer, 8), 5);
    CU_ASSERT(index[3] == 4 && index[4] == 5);
    /* recorded, then replayed with the server gone: the same answers */
    setenv("ELITES_LLM_MODEL", "test-openai", 1);
    char cache[700], a1[700], a2[700], fa[720], fb[720];
    snprintf(cache, sizeof cache, "llm.cache=%s/cache.jsonl", dir);
    snprintf(a1, sizeof a1, "%s/a.jsonl", dir);
    snprintf(a2, sizeof a2, "%s/b.jsonl", dir);
    CU_ASSERT_EQUAL(llm_judge(dir, (const char *const[]){"--count", "3", "--set", cache, "--file", a1, NULL}, &out,
                              &err),
                    0);
    free(out);
    free(err);
    qdt_server_stop(&srv);
    CU_ASSERT_EQUAL(llm_judge(dir,
                              (const char *const[]){"--count", "3", "--set", cache, "--set", "llm.replay=true",
                                                    "--file", a2, NULL},
                              &out, &err),
                    0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "llm judge: 3 judged (3 from logprobs, 0 from answer texts), 0 failed"));
    free(out);
    free(err);
    snprintf(fa, sizeof fa, "%s", a1);
    snprintf(fb, sizeof fb, "%s", a2);
    one = qdt_slurp(fa);
    two = qdt_slurp(fb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(one);
    CU_ASSERT_PTR_NOT_NULL_FATAL(two);
    CU_ASSERT_STRING_EQUAL(one, two);
    free(one);
    free(two);
    /* every triplet failing is an error */
    CU_ASSERT_EQUAL(llm_judge(dir, (const char *const[]){"--count", "1", "--file", a2, NULL}, &out, &err), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "elites judge: every triplet failed"));
    free(out);
    free(err);
    unsetenv("ELITES_LLM_URL");
    unsetenv("ELITES_LLM_MODEL");
    qdt_rmdir(dir);
    free(dir);
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
    {"llm answers through the test server", test_llm_answers_through_the_test_server},
    {NULL, NULL},
};

QDT_MAIN("judge", tests)
