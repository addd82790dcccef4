/* judge.c - `elites judge OUTDIR`: a person answers QDHF's triplet
 * questions about the texts of a run's archive. Triplet i shows three
 * distinct elites drawn with an RNG seeded from (seed, i): A, then B and C,
 * each wrapped to the terminal's width, and reads a line: b or c (which of
 * B and C is more similar to A), s (skip), u (undo the last answer) or q
 * (quit; end of input too). Each answer is appended to the judgments file
 * at once and synced, so Ctrl-C loses nothing; its line carries the
 * triplet's index, and a later `elites judge` goes on after the highest
 * one. The lines are the judgments_file format of text QDHF.
 *
 * With --llm a language model answers instead of a person
 * (qd_llm_judge_triplet: logprobs of B and C, else the parsed answer),
 * through a client built from the run's own "llm" section (archive.json's
 * config echo; ELITES_LLM_URL / ELITES_LLM_MODEL fill what it lacks) and
 * --set llm.KEY=VALUE (llm.cache records and replays the calls): --count
 * triplets are asked, answers appended as they come, failures counted and
 * named; a failed triplet is skipped (exit 1 when all fail). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <gsl/gsl_rng.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: elites judge OUTDIR [--file JUDGMENTS.jsonl] [--seed N]\n"
                "       elites judge OUTDIR --llm [--count N] [--chat] [--set llm.KEY=VALUE]... [--file F] [--seed N]\n"
                "\n"
                "Shows triplets of texts from OUTDIR/archive.json and asks which of B and C\n"
                "is more similar to A: answer b or c, s to skip, u to undo, q to quit.\n"
                "Answers go to JUDGMENTS.jsonl (default OUTDIR/judgments.jsonl) at once;\n"
                "running it again goes on where it stopped.\n"
                "\n"
                "--llm: a language model answers N triplets (default 100) through the run's\n"
                "\"llm\" section (or ELITES_LLM_URL, ELITES_LLM_MODEL); --chat uses\n"
                "/v1/chat/completions instead of /v1/completions.\n");
}

/* Prints text wrapped at width columns (bytes; a word longer than the
 * line gets a line of its own), each line indented by two spaces. */
static void wrap(const char *label, const char *text, size_t width)
{
    size_t col = 0;
    printf("%s\n", label);
    width = width > 12 ? width - 2 : 10;
    for (const char *p = text; *p;) {
        size_t n = strcspn(p, " \n\t");
        if (col && col + 1 + n > width) {
            putchar('\n');
            col = 0;
        }
        printf(col ? " %.*s" : "  %.*s", (int)n, p);
        col += n + 1;
        p += n;
        if (*p == '\n') {
            putchar('\n');
            col = 0;
        }
        if (*p)
            p++;
    }
    putchar('\n');
}

/* Reads a whole file (malloc'd, NUL-terminated; *len bytes); NULL with
 * errno set when it cannot. */
static char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    if (!fp)
        return NULL;
    do {
        if (n + 4096 + 1 > cap) {
            char *b = realloc(buf, cap = 2 * cap + 4096 + 1);
            if (!b) {
                free(buf);
                fclose(fp);
                return NULL;
            }
            buf = b;
        }
        got = fread(buf + n, 1, cap - n - 1, fp);
        n += got;
    } while (got > 0);
    fclose(fp);
    buf[n] = '\0';
    if (len)
        *len = n;
    return buf;
}

/* The answered lines of the file: their count and the highest index. */
static int scan(const char *path, size_t *lines, long *last)
{
    char *text;
    *lines = 0;
    *last = -1;
    if (access(path, F_OK) != 0)
        return 0;
    if (!(text = slurp(path, NULL))) {
        fprintf(stderr, "elites judge: %s: cannot read: %s\n", path, strerror(errno));
        return -1;
    }
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n")) {
        cJSON *j = cJSON_Parse(line);
        const cJSON *i = cJSON_GetObjectItemCaseSensitive(j, "index");
        (*lines)++;
        if (cJSON_IsNumber(i) && i->valuedouble > *last && i->valuedouble <= 9007199254740992.0) /* cast defined */
            *last = (long)i->valuedouble;
        cJSON_Delete(j);
    }
    free(text);
    return 0;
}

/* Appends one answer and syncs the file. */
static int append(const char *path, long index, const char *const t[3], int closer, const qd_llm_judgment *llm)
{
    cJSON *j = cJSON_CreateObject();
    char *line;
    int fd, ok;
    cJSON_AddNumberToObject(j, "index", (double)index);
    cJSON_AddStringToObject(j, "ref", t[0]);
    cJSON_AddStringToObject(j, "x1", t[1]);
    cJSON_AddStringToObject(j, "x2", t[2]);
    cJSON_AddNumberToObject(j, "closer", closer);
    if (llm) { /* who answered, and how sure */
        cJSON_AddStringToObject(j, "judge", llm->from_logprobs ? "llm logprobs" : "llm answer");
        cJSON_AddNumberToObject(j, "p_b", llm->p_b);
    }
    line = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!line || (fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644)) < 0) {
        fprintf(stderr, "elites judge: %s: cannot write: %s\n", path, line ? strerror(errno) : "out of memory");
        free(line);
        return -1;
    }
    ok = write(fd, line, strlen(line)) == (ssize_t)strlen(line) && write(fd, "\n", 1) == 1 && fsync(fd) == 0;
    close(fd);
    free(line);
    if (!ok)
        fprintf(stderr, "elites judge: %s: write failed: %s\n", path, strerror(errno));
    return ok ? 0 : -1;
}

/* Removes the file's last line; its index in *index. */
static int undo(const char *path, long *index)
{
    char *text, tmp[4200];
    size_t len = 0;
    if (!(text = slurp(path, &len)) || len == 0) {
        free(text);
        return -1;
    }
    size_t end = len - 1; /* the last line's newline */
    while (end > 0 && text[end - 1] != '\n')
        end--;
    cJSON *j = cJSON_Parse(text + end);
    const cJSON *i = cJSON_GetObjectItemCaseSensitive(j, "index");
    *index = cJSON_IsNumber(i) && i->valuedouble >= 0 && i->valuedouble <= 9007199254740992.0 ? (long)i->valuedouble : -1;
    cJSON_Delete(j);
    /* the shorter file goes in whole or not at all: temp file + rename */
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *fp = fopen(tmp, "wb");
    int rc = fp && fwrite(text, 1, end, fp) == end && fflush(fp) == 0 && fsync(fileno(fp)) == 0 ? 0 : -1;
    if (fp && fclose(fp) != 0)
        rc = -1;
    if (rc == 0 && rename(tmp, path) != 0)
        rc = -1;
    if (rc) {
        fprintf(stderr, "elites judge: %s: cannot rewrite: %s\n", path, strerror(errno));
        unlink(tmp);
    }
    free(text);
    return rc;
}

/* The LLM client: the run's "llm" section (from archive.json's config
 * echo, top may be NULL; errors name source), then the --set assignments. */
static int llm_client(const cJSON *top, const char *source, char **sets, size_t nsets, uint64_t seed, qd_config **root,
                      qd_llm **llm)
{
    const cJSON *l = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(top, "config"), "llm");
    cJSON *j = cJSON_CreateObject();
    qd_config *lc;
    *llm = NULL;
    if (!j || !cJSON_AddItemToObject(j, "llm", cJSON_IsObject(l) ? cJSON_Duplicate(l, 1) : cJSON_CreateObject()) ||
        qd_config_wrap(j, source, root) != QD_OK) {
        cJSON_Delete(j);
        fprintf(stderr, "elites judge: out of memory\n");
        return -1;
    }
    /* the echo holds the run's resolved url and model: the environment
     * names today's server */
    if (getenv("ELITES_LLM_URL") && *getenv("ELITES_LLM_URL"))
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "llm"), "url");
    if (getenv("ELITES_LLM_MODEL") && *getenv("ELITES_LLM_MODEL"))
        cJSON_DeleteItemFromObjectCaseSensitive(cJSON_GetObjectItemCaseSensitive(j, "llm"), "model");
    for (size_t i = 0; i < nsets; i++)
        if (strncmp(sets[i], "llm.", 4) || qd_config_set(*root, sets[i]) != QD_OK) {
            fprintf(stderr, "elites judge: --set %s: %s\n", sets[i],
                    strncmp(sets[i], "llm.", 4) ? "only llm.KEY=VALUE can be set" : qd_config_error(*root));
            return -1;
        }
    if (qd_config_object(*root, "llm", 1, &lc) || qd_llm_new(lc, seed, llm) || qd_config_check_keys(lc)) {
        fprintf(stderr, "elites judge: %s\n", qd_config_error(*root));
        return -1;
    }
    return 0;
}

/* Three distinct elites of a for triplet index. */
static void draw(const qd_archive *a, uint64_t seed, long index, gsl_rng *rng, const char *t[3])
{
    size_t n = qd_archive_filled(a), pick[3];
    gsl_rng_set(rng, (unsigned long)(seed * 1000003u + (uint64_t)index + 1));
    qd_rng_pick_distinct(rng, n, 3, pick);
    for (int r = 0; r < 3; r++) {
        qd_elite e;
        qd_archive_elite_at(a, pick[r], &e);
        t[r] = e.text ? e.text : "";
    }
}

static size_t terminal_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* --llm: asks count triplets from index on; 0 when every one was asked
 * (failures are counted and skipped), -1 when the file cannot be written
 * or every triplet failed. */
static int llm_judge(const qd_archive *a, qd_llm *llm, qd_llm_endpoint endpoint, uint64_t seed, long index,
                     long count, const char *fpath, size_t *done, gsl_rng *rng)
{
    qd_llm_session *s = NULL;
    long logprobs = 0, texts = 0, failed = 0;
    int rc = 0;
    if (qd_llm_session_new(llm, 0, &s) != QD_OK) {
        fprintf(stderr, "elites judge: could not open an LLM session: out of memory\n");
        return -1;
    }
    for (long i = 0; i < count; i++, index++) {
        const char *t[3];
        char err[512];
        qd_llm_judgment j;
        draw(a, seed, index, rng, t);
        if (qd_llm_judge_triplet(s, endpoint, t[0], t[1], t[2], &j, err, sizeof err) != QD_OK) {
            fprintf(stderr, "elites judge: triplet %ld failed: %s\n", index + 1, err);
            failed++;
            continue;
        }
        if (append(fpath, index, t, j.closer, &j)) {
            rc = -1;
            break;
        }
        ++*done;
        j.from_logprobs ? logprobs++ : texts++;
    }
    printf("llm judge: %ld judged (%ld from logprobs, %ld from answer texts), %ld failed\n", logprobs + texts,
           logprobs, texts, failed);
    if (rc == 0 && failed == count) {
        fprintf(stderr, "elites judge: every triplet failed\n");
        rc = -1;
    }
    qd_llm_session_free(s);
    return rc;
}

int cli_judge(int argc, char **argv)
{
    const char *dir = NULL, *file = NULL;
    char path[4096], fpath[4096], err[512], answer[64];
    unsigned long long seed = 1;
    qd_archive *a = NULL;
    cJSON *top = NULL;
    qd_config *root = NULL;
    qd_llm *llm = NULL;
    gsl_rng *rng = NULL;
    char **sets = calloc((size_t)argc + 1, sizeof *sets);
    size_t done = 0, nsets = 0;
    long last, index, count = 100;
    int status = 2, use_llm = 0;
    qd_llm_endpoint endpoint = QD_LLM_COMPLETIONS;
    if (!sets) {
        fprintf(stderr, "elites judge: out of memory\n");
        return 1;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            free(sets);
            return 0;
        } else if (!strcmp(argv[i], "--llm")) {
            use_llm = 1;
        } else if (!strcmp(argv[i], "--chat")) {
            endpoint = QD_LLM_CHAT;
        } else if (!strcmp(argv[i], "--count") && i + 1 < argc) {
            char *end;
            count = strtol(argv[++i], &end, 10);
            if (*end || count < 1) {
                fprintf(stderr, "elites judge: --count must be a whole number >= 1, got '%s'\n", argv[i]);
                free(sets);
                return 2;
            }
        } else if (!strcmp(argv[i], "--set") && i + 1 < argc) {
            sets[nsets++] = argv[++i];
        } else if (!strcmp(argv[i], "--file") && i + 1 < argc) {
            file = argv[++i];
        } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
            seed = strtoull(argv[++i], NULL, 10);
        } else if (argv[i][0] == '-' || dir) {
            fprintf(stderr, "elites judge: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            free(sets);
            return 2;
        } else {
            dir = argv[i];
        }
    }
    if (!dir || (!use_llm && (nsets || endpoint == QD_LLM_CHAT))) {
        if (dir)
            fprintf(stderr, "elites judge: --set and --chat go with --llm\n");
        usage(stderr);
        free(sets);
        return 2;
    }
    snprintf(path, sizeof path, "%s/archive.json", dir);
    snprintf(fpath, sizeof fpath, "%s", file ? file : "");
    if (!file)
        snprintf(fpath, sizeof fpath, "%s/judgments.jsonl", dir);
    status = 1;
    if (qd_archive_load_json(path, &a, &top, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites judge: %s\n", err);
        free(sets);
        return 1;
    }
    if (qd_archive_genome_kind(a) != QD_GENOME_TEXT || qd_archive_filled(a) < 3) {
        fprintf(stderr, "elites judge: %s must hold at least 3 text elites (it holds %zu %s elites)\n", path,
                qd_archive_filled(a), qd_archive_genome_kind(a) == QD_GENOME_TEXT ? "text" : "real-valued");
        goto done;
    }
    if (scan(fpath, &done, &last) || !(rng = gsl_rng_alloc(gsl_rng_mt19937)))
        goto done;
    printf("%zu judgments done in %s\n", done, fpath);
    index = last + 1;
    if (use_llm) {
        if (llm_client(top, path, sets, nsets, seed, &root, &llm) != 0) {
            status = 2; /* a bad --set or llm section */
            goto done;
        }
        if (llm_judge(a, llm, endpoint, seed, index, count, fpath, &done, rng) == 0) {
            printf("%zu judgments in %s\n", done, fpath);
            status = 0;
        }
        goto done;
    }
    for (;;) {
        const char *t[3];
        draw(a, seed, index, rng, t);
        size_t width = terminal_width();
        printf("\n-- triplet %ld --\n", index + 1);
        wrap("A:", t[0], width);
        wrap("B:", t[1], width);
        wrap("C:", t[2], width);
        printf("Which is more similar to A? b / c, s(kip), u(ndo), q(uit) [%zu done]: ", done);
        fflush(stdout);
        if (!fgets(answer, sizeof answer, stdin) || answer[0] == 'q')
            break;
        if (answer[0] == 'b' || answer[0] == 'c') {
            if (append(fpath, index, t, answer[0] == 'b' ? 1 : 2, NULL))
                goto done;
            done++;
            index++;
        } else if (answer[0] == 's') {
            index++;
        } else if (answer[0] == 'u') {
            long back;
            if (done == 0 || undo(fpath, &back)) {
                printf("nothing to undo\n");
                continue;
            }
            done--;
            if (back >= 0)
                index = back;
        } else {
            printf("answer b, c, s, u or q\n");
        }
    }
    printf("\n%zu judgments in %s\n", done, fpath);
    status = 0;
done:
    if (rng)
        gsl_rng_free(rng);
    qd_llm_free(llm);
    qd_config_free(root);
    cJSON_Delete(top);
    qd_archive_free(a);
    free(sets);
    return status;
}
