/* llmtest.h - what the LLM suites share: starting and stopping the
 * deterministic OpenAI-compatible test server (tests/llm_server.py) on a
 * port the OS picks, sending it control requests (queued faults, a required
 * key, latency) and reading its counters; a fake clock for retry timing;
 * and a log capture. */
#ifndef ELITES_LLMTEST_H
#define ELITES_LLMTEST_H

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"
#include "src/llm/llm_internal.h"

typedef struct qdt_server {
    pid_t pid;
    int port;
    int stdin_fd; /* closing it ends the server */
    char url[64]; /* http://127.0.0.1:PORT/v1 */
} qdt_server;

/* The server script: $ELITES_SRCDIR/tests/llm_server.py (make check sets
 * it), else tests/llm_server.py from the current folder. */
static inline void qdt_server_script(char *buf, size_t len)
{
    const char *src = getenv("ELITES_SRCDIR");
    snprintf(buf, len, "%s/tests/llm_server.py", src && *src ? src : ".");
}

/* Starts the server (extra: NULL or "--latency", "0.05"); 0 on success. */
static inline int qdt_server_start(qdt_server *s, const char *opt, const char *val)
{
    int out[2], in[2];
    char script[1024], line[64] = {0};
    size_t n = 0;
    memset(s, 0, sizeof *s);
    qdt_server_script(script, sizeof script);
    if (pipe(out) || pipe(in))
        return -1;
    fflush(NULL);
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        dup2(out[1], 1);
        dup2(in[0], 0);
        close(out[0]);
        close(out[1]);
        close(in[0]);
        close(in[1]);
        if (opt)
            execlp("python3", "python3", script, "--watch-stdin", opt, val, (char *)NULL);
        else
            execlp("python3", "python3", script, "--watch-stdin", (char *)NULL);
        fprintf(stderr, "cannot run python3 %s (python3 is needed by the LLM tests)\n", script);
        _exit(127);
    }
    close(out[1]);
    close(in[0]);
    s->stdin_fd = in[1];
    /* the first line is "PORT <n>" */
    while (n + 1 < sizeof line) {
        struct pollfd p = {out[0], POLLIN, 0};
        if (poll(&p, 1, 20000) <= 0 || read(out[0], line + n, 1) != 1)
            break;
        if (line[n++] == '\n')
            break;
    }
    close(out[0]);
    if (sscanf(line, "PORT %d", &s->port) != 1) {
        fprintf(stderr, "the test server did not start (%s)\n", script);
        close(s->stdin_fd);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
        return -1;
    }
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d/v1", s->port);
    return 0;
}

static inline void qdt_server_stop(qdt_server *s)
{
    if (s->pid <= 0)
        return;
    close(s->stdin_fd);
    kill(s->pid, SIGTERM);
    waitpid(s->pid, NULL, 0);
    s->pid = 0;
}

static size_t qdt_collect(char *data, size_t size, size_t n, void *ctx)
{
    char **buf = ctx;
    size_t old = *buf ? strlen(*buf) : 0, len = size * n;
    char *b = realloc(*buf, old + len + 1);
    if (!b)
        return 0;
    memcpy(b + old, data, len);
    b[old + len] = '\0';
    *buf = b;
    return len;
}

/* POSTs a JSON body to the server's /control (body NULL: GET /stats) and
 * returns the parsed reply (caller deletes). */
static inline cJSON *qdt_server_call(const qdt_server *s, const char *body)
{
    CURL *c = curl_easy_init();
    char url[128], *reply = NULL;
    cJSON *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", s->port, body ? "control" : "stats");
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, qdt_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    if (body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    if (curl_easy_perform(c) == CURLE_OK && reply)
        out = cJSON_Parse(reply);
    curl_easy_cleanup(c);
    free(reply);
    return out;
}

/* GETs path ("bodies", "stats") from the server; the parsed reply (caller deletes). */
static inline cJSON *qdt_server_get(const qdt_server *s, const char *path)
{
    CURL *c = curl_easy_init();
    char url[128], *reply = NULL;
    cJSON *out = NULL;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/%s", s->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, qdt_collect);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &reply);
    if (curl_easy_perform(c) == CURLE_OK && reply)
        out = cJSON_Parse(reply);
    curl_easy_cleanup(c);
    free(reply);
    return out;
}

static inline int qdt_server_control(const qdt_server *s, const char *body)
{
    cJSON *r = qdt_server_call(s, body);
    int ok = r != NULL;
    cJSON_Delete(r);
    return ok ? 0 : -1;
}

/* A counter from GET /stats ("api_requests", "auth_ok", ...); -1 on error. */
static inline double qdt_server_stat(const qdt_server *s, const char *name)
{
    cJSON *r = qdt_server_call(s, NULL);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(r, name);
    double out = cJSON_IsNumber(v) ? v->valuedouble : -1;
    cJSON_Delete(r);
    return out;
}

/* A port nobody listens on (bound, then closed). */
static inline int qdt_dead_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0), port = 1;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

/* A clock that only moves when the client sleeps; it records the sleeps. */
typedef struct qdt_clock {
    double t;
    double sleeps[64];
    size_t n;
} qdt_clock;

static inline double qdt_clock_now(void *ctx)
{
    return ((qdt_clock *)ctx)->t;
}

static inline void qdt_clock_sleep(void *ctx, double s)
{
    qdt_clock *c = ctx;
    if (c->n < 64)
        c->sleeps[c->n++] = s;
    c->t += s;
}

/* Every log line, kept for the tests to read. */
typedef struct qdt_log {
    char text[16384];
    size_t len;
    int lines;
} qdt_log;

static inline void qdt_log_line(void *ctx, const char *line)
{
    qdt_log *l = ctx;
    l->len += (size_t)snprintf(l->text + l->len, sizeof l->text - l->len, "%s\n", line);
    if (l->len >= sizeof l->text)
        l->len = sizeof l->text - 1;
    l->lines++;
}

#endif
