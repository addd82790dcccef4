/* command.c - the "command" evaluator: a user's program scores each
 * candidate (a PyTorch trainer, a simulator, an `srun` that sends the work
 * to a cluster).
 *
 * The candidate goes to the program's stdin as one JSON line,
 *   {"id": 17, "seed": 3405691582, "x": [0.5, -1.25]}   ("text": "..." for a text genome)
 * and the program answers with one JSON object on stdout,
 *   {"objective": 93.1, "measures": [0.2, 1.7], "meta": {...}}
 * ("meta" optional; {"error": "why"} fails the candidate on purpose). In
 * "fork" mode (the default) each candidate runs the program once: the
 * request, then EOF on stdin; the reply is stdout (or its last non-empty
 * line), read once the program has exited with status 0. In "persistent"
 * mode each worker thread keeps one process that answers one line per
 * request line, started at the worker's first candidate, restarted after it
 * dies, times out or breaks the protocol, and told to quit (EOF on stdin)
 * when the search ends: far cheaper when the program is slow to start.
 *
 * Anything that goes wrong fails that candidate only, with a reason for
 * failures.jsonl: exit status or signal, timeout, bad JSON, a missing or
 * non-finite field; the reasons about the process itself end with the tail
 * of its stderr. Each process runs in its own process group, so a timeout
 * ends everything it started (SIGTERM, then SIGKILL after kill_grace), and
 * every process is reaped. A job deadline (the search's job_timeout) cuts
 * the timeout short. The job id and seed are not handed to
 * evaluators, so "id" is a run-wide evaluation number (the job number when
 * one worker evaluates every job) and "seed" the first draw of the job's
 * RNG, which the search seeds from (run seed, job number): the same for the
 * same job in every run and mode.
 */
#define _GNU_SOURCE /* pipe2, posix_spawn_file_actions_addchdir_np, sigabbrev_np */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "src/internal.h"

extern char **environ;

enum { MODE_FORK, MODE_PERSISTENT };

#define MAX_OUTPUT ((size_t)8 << 20) /* stdout bytes read per candidate */

typedef struct command {
    char **argv;      /* NULL-terminated; {"/bin/sh", "-c", command} or the config's argv */
    char **env;       /* NULL-terminated "NAME=value": the environment at init plus "env" */
    char *cwd;        /* NULL: the search's */
    int mode;
    double timeout, kill_grace;
    size_t tail_max;  /* stderr bytes kept; 0: stderr is not captured but passed through */
    uint64_t next_id; /* atomic */
} command;

typedef struct buffer {
    char *data;
    size_t len, cap;
} buffer;

/* A worker's process and what it has said. */
typedef struct command_worker {
    char **env;           /* the command's env (borrowed) plus worker_var */
    char worker_var[48];  /* ELITES_WORKER=<id> */
    pid_t pid;            /* 0: no process */
    int in, out, err;     /* our ends of its pipes; -1 when closed */
    buffer out_buf;       /* stdout not yet consumed */
    char *tail;           /* ring of the last tail_max stderr bytes */
    size_t tail_start, tail_len;
    int tail_cut;         /* more stderr came than the ring holds */
} command_worker;

/* What exchange() ended with. */
enum { X_DONE, X_EOF, X_TIMEOUT, X_TOO_BIG, X_IO };

/* ---- small helpers ------------------------------------------------------ */

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

static int set_nonblocking(int fd)
{
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static const char *error_text(int e, char *buf, size_t len)
{
    return strerror_r(e, buf, len); /* GNU: returns the text */
}

/* Writes to a pipe without letting SIGPIPE kill the process when the
 * reader is gone. SIGPIPE from write() goes to the writing thread, so it
 * is blocked in this thread only for the call; if the write raised it (and
 * it was not already pending) sigtimedwait takes it back before the mask
 * is restored. Neither the process's disposition of SIGPIPE (which the CLI
 * and library users keep: `elites ... | head` should still end quietly)
 * nor other threads are touched; libpq guards its socket writes the same
 * way. The write fails with EPIPE instead. */
static ssize_t write_nosigpipe(int fd, const char *buf, size_t len)
{
    sigset_t pipe_set, old, pending;
    int was_pending, saved;
    ssize_t n;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    n = write(fd, buf, len);
    saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        while (sigtimedwait(&pipe_set, NULL, &zero) < 0 && errno == EINTR)
            ;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return n;
}

/* ---- stderr tail -------------------------------------------------------- */

static void tail_reset(command_worker *cw)
{
    cw->tail_start = cw->tail_len = 0;
    cw->tail_cut = 0;
}

static void tail_push(command_worker *cw, size_t max, const char *s, size_t n)
{
    if (n >= max) {
        memcpy(cw->tail, s + n - max, max);
        cw->tail_cut |= n > max || cw->tail_len > 0;
        cw->tail_start = 0;
        cw->tail_len = max;
        return;
    }
    for (size_t i = 0; i < n; i++) {
        cw->tail[(cw->tail_start + cw->tail_len) % max] = s[i];
        if (cw->tail_len < max) {
            cw->tail_len++;
        } else {
            cw->tail_start = (cw->tail_start + 1) % max;
            cw->tail_cut = 1;
        }
    }
}

/* Appends "; stderr: <tail>" to w->error when the process wrote to
 * stderr: one line (newlines shown as " | "), its end kept when it does not
 * fit, starting on a UTF-8 character boundary. */
static void append_tail(const command *c, const command_worker *cw, qd_worker *w)
{
    size_t used = strlen(w->error), room, n = 0, start;
    char *flat;
    if (!cw->tail_len)
        return;
    if (!(flat = malloc(3 * cw->tail_len + 1)))
        return;
    for (size_t i = 0; i < cw->tail_len; i++) {
        unsigned char ch = (unsigned char)cw->tail[(cw->tail_start + i) % c->tail_max];
        if (ch == '\n') {
            memcpy(flat + n, " | ", 3);
            n += 3;
        } else if (ch == '\r' || ch == '\t' || ch == 0x7f) {
            flat[n++] = ' ';
        } else if (ch >= 0x20) {
            flat[n++] = (char)ch;
        } else if (ch != 0) {
            flat[n++] = ' ';
        }
    }
    /* trailing newlines and blanks say nothing */
    while (n && (flat[n - 1] == ' ' || flat[n - 1] == '|'))
        n--;
    start = 0;
    while (start < n && (flat[start] == ' ' || flat[start] == '|'))
        start++;
    flat[n] = '\0';
    room = sizeof w->error - used;
    if (start < n && room > sizeof "; stderr: ..." + 8) {
        int cut = cw->tail_cut;
        room -= sizeof "; stderr: ...";
        if (n - start > room) {
            start = n - room;
            cut = 1;
        }
        while (start < n && ((unsigned char)flat[start] & 0xC0) == 0x80)
            start++;
        snprintf(w->error + used, sizeof w->error - used, "; stderr: %s%s", cut ? "..." : "", flat + start);
    }
    free(flat);
}

/* Sets w->error (and the stderr tail when with_tail) and returns QD_EEVAL. */
static int fail(const command *c, const command_worker *cw, qd_worker *w, int with_tail, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static int fail(const command *c, const command_worker *cw, qd_worker *w, int with_tail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qdi_vset_error(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
    if (with_tail && cw)
        append_tail(c, cw, w);
    return QD_EEVAL;
}

/* "exit status 3", "killed by SIGSEGV". */
static void describe_status(int status, char *buf, size_t len)
{
    if (WIFEXITED(status)) {
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        const char *name = sigabbrev_np(WTERMSIG(status));
        if (name)
            snprintf(buf, len, "killed by SIG%s", name);
        else
            snprintf(buf, len, "killed by signal %d", WTERMSIG(status));
    } else {
        snprintf(buf, len, "wait status %d", status);
    }
}

/* ---- the process -------------------------------------------------------- */

/* 1 once pid has exited (not reaped: its process group stays reserved), 0
 * when `until` passes first. Polls with a growing sleep. */
static int wait_exit(pid_t pid, double until)
{
    long ns = 20000;
    for (;;) {
        siginfo_t info;
        double left;
        info.si_pid = 0;
        if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0) {
            if (info.si_pid == pid)
                return 1;
        } else if (errno != EINTR) {
            return 1; /* ECHILD: reaped elsewhere (SIGCHLD ignored) */
        }
        if ((left = until - qdi_now()) <= 0)
            return 0;
        struct timespec t = {0, ns < left * 1e9 ? ns : (long)(left * 1e9) + 1};
        nanosleep(&t, NULL);
        if (ns < 5000000)
            ns *= 2;
    }
}

/* Ends the worker's process: closes our pipe ends, waits for it until
 * `until`, then sends SIGTERM to its process group, waits kill_grace and
 * sends SIGKILL to the group (which also ends what it started), and reaps
 * it. Returns the wait status (0 when it cannot be known); *killed says
 * whether it had to be signalled. */
static int finish(const command *c, command_worker *cw, double until, int *killed)
{
    int status = 0;
    *killed = 0;
    close_fd(&cw->in);
    close_fd(&cw->out);
    if (cw->pid <= 0) {
        close_fd(&cw->err);
        return 0;
    }
    if (!wait_exit(cw->pid, until)) {
        *killed = 1;
        kill(-cw->pid, SIGTERM);
        wait_exit(cw->pid, qdi_now() + c->kill_grace);
        kill(-cw->pid, SIGKILL);
    }
    /* what it wrote to stderr before it ended is in the pipe (a process it
     * started may still hold the pipe: read only what is there) */
    while (cw->err >= 0) {
        char buf[4096];
        ssize_t n = read(cw->err, buf, sizeof buf);
        if (n > 0)
            tail_push(cw, c->tail_max, buf, (size_t)n);
        else if (n < 0 && errno == EINTR)
            continue;
        else
            close_fd(&cw->err);
    }
    /* pid reads 0 before the reap frees its process group for reuse, so a
     * cancel (another thread) never signals a group that is not ours */
    pid_t pid = cw->pid;
    __atomic_store_n(&cw->pid, 0, __ATOMIC_SEQ_CST);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return status;
}

/* Starts the program with pipes on stdin, stdout and (when the tail is
 * kept) stderr, in a process group of its own, with the default signal
 * mask and SIGPIPE, SIGINT, SIGTERM, SIGHUP and SIGQUIT at their default
 * actions whatever this process does with them. Every pipe end is
 * O_CLOEXEC, so a process another worker starts at the same moment does
 * not inherit it (it would keep a stdin open and the program would never
 * see EOF). posix_spawn is vfork-fast and safe in a threaded process. */
static int start(const command *c, command_worker *cw, qd_worker *w)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1}, rc = 0;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, defaults;
    char why[128];
    pid_t pid;
    if (pipe2(in, O_CLOEXEC) || pipe2(out, O_CLOEXEC) || (c->tail_max && pipe2(err, O_CLOEXEC))) {
        rc = errno;
        goto done;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    sigaddset(&defaults, SIGINT);
    sigaddset(&defaults, SIGTERM);
    sigaddset(&defaults, SIGHUP);
    sigaddset(&defaults, SIGQUIT);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (c->tail_max)
        posix_spawn_file_actions_adddup2(&fa, err[1], 2);
    if (c->cwd)
        posix_spawn_file_actions_addchdir_np(&fa, c->cwd);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &defaults);
    posix_spawnattr_setpgroup(&at, 0);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&pid, c->argv[0], &fa, &at, c->argv, cw->env);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (rc == 0) {
        __atomic_store_n(&cw->pid, pid, __ATOMIC_SEQ_CST);
        cw->in = in[1];
        cw->out = out[0];
        cw->err = err[0];
        in[1] = out[0] = err[0] = -1;
        if (set_nonblocking(cw->in) || set_nonblocking(cw->out) || (cw->err >= 0 && set_nonblocking(cw->err))) {
            int killed;
            rc = errno; /* not seen on a fresh pipe */
            finish(c, cw, qdi_now(), &killed);
        }
    }
done:
    close_fd(&in[0]);
    close_fd(&in[1]);
    close_fd(&out[0]);
    close_fd(&out[1]);
    close_fd(&err[0]);
    close_fd(&err[1]);
    if (rc)
        return fail(c, NULL, w, 0, "command: cannot start \"%s\": %s", c->argv[0], error_text(rc, why, sizeof why));
    return QD_OK;
}

static int read_out(command_worker *cw)
{
    buffer *b = &cw->out_buf;
    ssize_t n;
    if (b->cap - b->len < 4096 + 1) {
        size_t cap = b->cap ? 2 * b->cap : 16384;
        char *d;
        if (b->len > MAX_OUTPUT)
            return X_TOO_BIG;
        if (!(d = realloc(b->data, cap)))
            return X_IO;
        b->data = d;
        b->cap = cap;
    }
    n = read(cw->out, b->data + b->len, b->cap - b->len - 1);
    if (n > 0)
        b->len += (size_t)n;
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        close_fd(&cw->out);
    return X_DONE;
}

static void read_err(const command *c, command_worker *cw)
{
    char buf[4096];
    ssize_t n = read(cw->err, buf, sizeof buf);
    if (n > 0)
        tail_push(cw, c->tail_max, buf, (size_t)n);
    else if (n == 0 || (errno != EAGAIN && errno != EINTR))
        close_fd(&cw->err);
}

/* Feeds the request to stdin as the program reads it and collects stdout
 * and stderr, until the reply is complete (fork: stdout and stderr closed;
 * persistent: a newline on stdout, its offset in *line_end) or the deadline
 * passes. In fork mode stdin is closed after the request (EOF says the
 * input is complete); a program that exits without reading it all is not
 * an error here: its exit status and output tell. */
static int exchange(const command *c, command_worker *cw, const char *req, size_t len, double deadline,
                    size_t *line_end)
{
    size_t sent = 0, scanned = 0;
    for (;;) {
        struct pollfd fds[3];
        int n = 0, iin = -1, iout = -1, ierr = -1, ms;
        double left;
        if (c->mode == MODE_PERSISTENT) {
            char *nl = cw->out_buf.len > scanned ? memchr(cw->out_buf.data + scanned, '\n', cw->out_buf.len - scanned)
                                                 : NULL;
            if (nl) {
                *line_end = (size_t)(nl - cw->out_buf.data);
                return X_DONE;
            }
            scanned = cw->out_buf.len;
            if (cw->out < 0)
                return X_EOF;
            if (cw->out_buf.len > MAX_OUTPUT)
                return X_TOO_BIG;
        } else if (cw->out < 0 && cw->err < 0) {
            return X_DONE;
        }
        if ((left = deadline - qdi_now()) <= 0)
            return X_TIMEOUT;
        ms = left > 1e6 ? 1000000000 : (int)ceil(left * 1000.0);
        if (cw->in >= 0 && sent < len) {
            iin = n;
            fds[n++] = (struct pollfd){.fd = cw->in, .events = POLLOUT};
        }
        if (cw->out >= 0) {
            iout = n;
            fds[n++] = (struct pollfd){.fd = cw->out, .events = POLLIN};
        }
        if (cw->err >= 0) {
            ierr = n;
            fds[n++] = (struct pollfd){.fd = cw->err, .events = POLLIN};
        }
        if (poll(fds, (nfds_t)n, ms) < 0) {
            if (errno == EINTR)
                continue;
            return X_IO;
        }
        if (iin >= 0 && fds[iin].revents) {
            ssize_t k = write_nosigpipe(cw->in, req + sent, len - sent);
            if (k > 0)
                sent += (size_t)k;
            else if (k < 0 && errno != EAGAIN && errno != EINTR)
                close_fd(&cw->in); /* EPIPE: it stopped reading */
            if (sent == len && c->mode == MODE_FORK)
                close_fd(&cw->in);
        }
        if (iout >= 0 && fds[iout].revents && read_out(cw) != X_DONE)
            return cw->out_buf.len > MAX_OUTPUT ? X_TOO_BIG : X_IO;
        if (ierr >= 0 && fds[ierr].revents)
            read_err(c, cw);
    }
}

/* ---- request and reply -------------------------------------------------- */

/* The request line (malloc'd, newline-terminated): id, seed and the genome,
 * numbers in the shortest form that reads back exactly. */
static char *request(const qd_evaluator *ev, const qd_solution *sol, uint64_t id, unsigned long seed, size_t *len)
{
    cJSON *r = cJSON_CreateObject(), *g = NULL;
    char *s = NULL, *line = NULL;
    if (!r || !cJSON_AddNumberToObject(r, "id", (double)id) || !cJSON_AddNumberToObject(r, "seed", (double)seed))
        goto done;
    if (ev->space.kind == QD_GENOME_TEXT) {
        if (!cJSON_AddStringToObject(r, "text", sol->text ? sol->text : ""))
            goto done;
    } else {
        if (!(g = qdi_json_doubles(sol->x, sol->n)))
            goto done;
        cJSON_AddItemToObject(r, "x", g);
    }
    if (!(s = cJSON_PrintUnformatted(r)))
        goto done;
    *len = strlen(s);
    if ((line = realloc(s, *len + 2))) {
        line[(*len)++] = '\n';
        line[*len] = '\0';
        s = NULL;
    }
done:
    free(s);
    cJSON_Delete(r);
    return line;
}

/* Copies s with the bare NaN, Infinity and -Infinity tokens that Python's
 * json module writes (not JSON) turned into strings cJSON can read. */
static char *quote_nonfinite(const char *s)
{
    static const char *const tokens[] = {"-Infinity", "Infinity", "NaN"};
    size_t n = strlen(s), k = 0;
    char *out = malloc(2 * n + 1);
    int in_string = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (in_string) {
            if (s[i] == '\\' && i + 1 < n)
                out[k++] = s[i++];
            else if (s[i] == '"')
                in_string = 0;
            out[k++] = s[i++];
            continue;
        }
        if (s[i] == '"')
            in_string = 1;
        size_t t;
        for (t = 0; t < QDI_ARRAY_LEN(tokens); t++) {
            size_t tl = strlen(tokens[t]);
            if (strncmp(s + i, tokens[t], tl) == 0) {
                out[k++] = '"';
                memcpy(out + k, tokens[t], tl);
                k += tl;
                out[k++] = '"';
                i += tl;
                break;
            }
        }
        if (t == QDI_ARRAY_LEN(tokens))
            out[k++] = s[i++];
    }
    out[k] = '\0';
    return out;
}

static cJSON *parse_json(const char *text)
{
    const char *end;
    /* invalid UTF-8 from the program becomes U+FFFD (its texts go into JSON files) */
    char *fixed = qdi_utf8_valid(text, NULL) ? NULL : qdi_utf8_fix(text), *q;
    const char *s = fixed ? fixed : text;
    cJSON *j = cJSON_ParseWithOpts(s, &end, 1);
    if (j || (!strstr(s, "NaN") && !strstr(s, "Infinity"))) {
        free(fixed);
        return j;
    }
    q = quote_nonfinite(s);
    free(fixed);
    if (!q)
        return NULL;
    j = cJSON_ParseWithOpts(q, &end, 1);
    free(q);
    return j;
}

/* Parses a reply: the whole text, or (fork mode, when that is not JSON)
 * its last non-empty line, so that a program may print progress first. */
static cJSON *parse_reply_text(char *text, int last_line)
{
    cJSON *j = parse_json(text);
    char *end, *line;
    if (j || !last_line)
        return j;
    end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (line = end; line > text && line[-1] != '\n'; line--)
        ;
    if (line == text)
        return NULL;
    return parse_json(line);
}

enum { NUM_OK, NUM_MISSING, NUM_NULL, NUM_NOT_NUMBER };

/* A reply number: a JSON number, or NaN / Infinity / -Infinity (bare, as
 * Python writes them, or as the strings "nan", "inf", "-inf"). */
static int reply_number(const cJSON *item, double *v)
{
    static const char *const names[] = {"NaN", "nan", "Infinity", "inf", "-Infinity", "-inf"};
    static const double values[] = {NAN, NAN, INFINITY, INFINITY, -INFINITY, -INFINITY};
    if (!item)
        return NUM_MISSING;
    if (cJSON_IsNull(item))
        return NUM_NULL;
    if (cJSON_IsNumber(item)) {
        *v = item->valuedouble;
        return NUM_OK;
    }
    if (cJSON_IsString(item))
        for (size_t i = 0; i < QDI_ARRAY_LEN(names); i++)
            if (strcmp(item->valuestring, names[i]) == 0) {
                *v = values[i];
                return NUM_OK;
            }
    return NUM_NOT_NUMBER;
}

/* Shows the start of a text on one line, quoted, for a message. */
static void snippet(const char *s, char *buf, size_t len)
{
    size_t k = 0, i = 0, n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        n--;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    buf[k++] = '"';
    for (; i < n && k + 5 < len && k < 80; i++)
        buf[k++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (i < n && k + 4 < len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k++] = '"';
    buf[k] = '\0';
}

/* Reads the objective, measures and meta of a reply object into sol. */
static int read_values(const command *c, const command_worker *cw, const cJSON *j, qd_solution *sol, qd_worker *w)
{
    const cJSON *item, *e;
    double v = 0.0;
    size_t i = 0;
    char *meta;
    int kind = reply_number(cJSON_GetObjectItemCaseSensitive(j, "objective"), &v);
    if (kind == NUM_MISSING)
        return fail(c, cw, w, 0, "command: reply has no \"objective\"");
    if (kind == NUM_NULL)
        return fail(c, cw, w, 0, "command: objective is null");
    if (kind == NUM_NOT_NUMBER)
        return fail(c, cw, w, 0, "command: \"objective\" is not a number");
    if (!isfinite(v))
        return fail(c, cw, w, 0, "command: objective is %s", isnan(v) ? "NaN" : "infinite");
    sol->objective = v;
    if (!(item = cJSON_GetObjectItemCaseSensitive(j, "measures")))
        return fail(c, cw, w, 0, "command: reply has no \"measures\"");
    if (!cJSON_IsArray(item))
        return fail(c, cw, w, 0, "command: \"measures\" is not an array");
    if ((size_t)cJSON_GetArraySize(item) != sol->m)
        return fail(c, cw, w, 0, "command: \"measures\" must be an array of %zu numbers, got %d", sol->m,
                    cJSON_GetArraySize(item));
    cJSON_ArrayForEach(e, item) {
        kind = reply_number(e, &v);
        if (kind == NUM_NULL)
            return fail(c, cw, w, 0, "command: measures[%zu] is null", i);
        if (kind != NUM_OK)
            return fail(c, cw, w, 0, "command: measures[%zu] is not a number", i);
        if (!isfinite(v))
            return fail(c, cw, w, 0, "command: measures[%zu] is %s", i, isnan(v) ? "NaN" : "infinite");
        sol->measures[i++] = v;
    }
    item = cJSON_GetObjectItemCaseSensitive(j, "meta");
    if (!item || cJSON_IsNull(item))
        return QD_OK;
    if (!cJSON_IsObject(item))
        return fail(c, cw, w, 0, "command: \"meta\" is not an object");
    meta = cJSON_PrintUnformatted(item);
    kind = meta && qd_solution_set_meta(sol, meta) == QD_OK;
    free(meta);
    return kind ? QD_OK : fail(c, cw, w, 0, "command: out of memory");
}

/* Reads a reply into sol. *protocol is set when the reply cannot belong to
 * this request (not JSON, not an object, another id): a persistent process
 * is then out of step and is restarted. */
static int read_reply(const command *c, const command_worker *cw, char *text, int last_line, uint64_t id,
                      qd_solution *sol, qd_worker *w, int *protocol)
{
    cJSON *j = parse_reply_text(text, last_line);
    const cJSON *item;
    char show[120];
    int rc;
    *protocol = 1;
    if (!j) {
        snippet(text, show, sizeof show);
        if (strlen(show) == 2)
            return fail(c, cw, w, 1, "command: no reply on stdout");
        return fail(c, cw, w, 1, "command: bad JSON on stdout: %s", show);
    }
    item = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!cJSON_IsObject(j)) {
        rc = fail(c, cw, w, 1, "command: reply is not a JSON object");
    } else if (item && !(cJSON_IsNumber(item) && item->valuedouble == (double)id)) {
        rc = fail(c, cw, w, 1, "command: reply's \"id\" is not the request's (one reply per request line, in order)");
    } else {
        *protocol = 0;
        item = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (item && !cJSON_IsNull(item))
            rc = fail(c, cw, w, 0, "command: program reported: %s",
                      cJSON_IsString(item) ? item->valuestring : "(\"error\" is not a string)");
        else
            rc = read_values(c, cw, j, sol, w);
    }
    cJSON_Delete(j);
    return rc;
}

/* ---- evaluation ----------------------------------------------------------- */

/* The candidate's deadline: timeout seconds from now, or the job's own
 * (the search's job_timeout, in w->deadline) when that comes first. */
static double candidate_deadline(const command *c, const qd_worker *w, int *by_job)
{
    double deadline = qdi_now() + c->timeout;
    *by_job = w->deadline > 0 && w->deadline < deadline;
    return *by_job ? w->deadline : deadline;
}

static int fail_timeout(const command *c, const command_worker *cw, qd_worker *w, int by_job)
{
    if (by_job)
        return fail(c, cw, w, 1, "command: timed out at the job's deadline (job_timeout)");
    return fail(c, cw, w, 1, "command: timed out after %g s", c->timeout);
}

static int evaluate_fork(const command *c, command_worker *cw, const char *req, size_t len, uint64_t id,
                         qd_solution *sol, qd_worker *w)
{
    char status_text[64];
    int x, status, killed, protocol, by_job;
    double deadline = candidate_deadline(c, w, &by_job);
    cw->out_buf.len = 0;
    tail_reset(cw);
    if (start(c, cw, w) != QD_OK)
        return QD_EEVAL;
    x = exchange(c, cw, req, len, deadline, NULL);
    status = finish(c, cw, x == X_DONE ? deadline : qdi_now(), &killed);
    if (x == X_TIMEOUT || killed)
        return fail_timeout(c, cw, w, by_job);
    if (x == X_TOO_BIG)
        return fail(c, cw, w, 1, "command: more than %zu MiB on stdout", MAX_OUTPUT >> 20);
    if (x == X_IO)
        return fail(c, cw, w, 1, "command: could not talk to the program (out of memory or poll failed)");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        describe_status(status, status_text, sizeof status_text);
        return fail(c, cw, w, 1, "command: %s", status_text);
    }
    cw->out_buf.data = cw->out_buf.data ? cw->out_buf.data : calloc(1, 1);
    if (!cw->out_buf.data)
        return fail(c, cw, w, 0, "command: out of memory");
    cw->out_buf.data[cw->out_buf.len] = '\0';
    return read_reply(c, cw, cw->out_buf.data, 1, id, sol, w, &protocol);
}

/* Stops a persistent process the polite way: EOF on stdin, kill_grace to
 * quit, then the signals. */
static int stop_persistent(const command *c, command_worker *cw, int *killed)
{
    close_fd(&cw->in);
    cw->out_buf.len = 0;
    return finish(c, cw, qdi_now() + c->kill_grace, killed);
}

static int evaluate_persistent(const command *c, command_worker *cw, const char *req, size_t len, uint64_t id,
                               qd_solution *sol, qd_worker *w)
{
    char status_text[64];
    size_t end = 0;
    int x, rc, killed, protocol, status, by_job;
    double deadline = candidate_deadline(c, w, &by_job);
    tail_reset(cw);
    if (!cw->pid) {
        cw->out_buf.len = 0;
        if (start(c, cw, w) != QD_OK)
            return QD_EEVAL;
    }
    x = exchange(c, cw, req, len, deadline, &end);
    if (x == X_TIMEOUT) {
        finish(c, cw, qdi_now(), &killed);
        cw->out_buf.len = 0;
        return fail_timeout(c, cw, w, by_job);
    }
    if (x != X_DONE) {
        status = stop_persistent(c, cw, &killed);
        if (x == X_TOO_BIG)
            return fail(c, cw, w, 1, "command: reply line over %zu MiB", MAX_OUTPUT >> 20);
        if (x == X_IO)
            return fail(c, cw, w, 1, "command: could not talk to the program (out of memory or poll failed)");
        if (killed)
            return fail(c, cw, w, 1, "command: program closed stdout before replying");
        describe_status(status, status_text, sizeof status_text);
        return fail(c, cw, w, 1, "command: program ended before replying (%s)", status_text);
    }
    cw->out_buf.data[end] = '\0';
    rc = read_reply(c, cw, cw->out_buf.data, 0, id, sol, w, &protocol);
    memmove(cw->out_buf.data, cw->out_buf.data + end + 1, cw->out_buf.len - end - 1);
    cw->out_buf.len -= end + 1;
    if (protocol)
        stop_persistent(c, cw, &killed); /* out of step: the next candidate starts a fresh one */
    return rc;
}

static int command_evaluate(const qd_evaluator *ev, qd_solution *sol, qd_worker *w)
{
    const command *c = ev->state;
    command_worker *cw = w->eval_state;
    uint64_t id = __atomic_fetch_add(&((command *)ev->state)->next_id, 1, __ATOMIC_RELAXED);
    unsigned long seed = gsl_rng_get(w->rng);
    size_t len = 0;
    char *req;
    int rc;
    if (!cw)
        return qd_worker_fail(w, "command: worker %u was not set up", w->id);
    if (ev->space.kind == QD_GENOME_REAL && sol->n != ev->space.dim)
        return qd_worker_fail(w, "command: expected %zu numbers, got %zu", ev->space.dim, sol->n);
    if (!(req = request(ev, sol, id, seed, &len)))
        return qd_worker_fail(w, "command: out of memory");
    if (c->mode == MODE_FORK)
        rc = evaluate_fork(c, cw, req, len, id, sol, w);
    else
        rc = evaluate_persistent(c, cw, req, len, id, sol, w);
    free(req);
    return rc;
}

/* ---- workers -------------------------------------------------------------- */

static int command_worker_init(const qd_evaluator *ev, qd_worker *w)
{
    const command *c = ev->state;
    command_worker *cw = calloc(1, sizeof *cw);
    size_t n = 0;
    if (!cw)
        return qd_worker_fail(w, "command: out of memory");
    while (c->env[n])
        n++;
    cw->env = malloc((n + 2) * sizeof *cw->env);
    cw->tail = malloc(c->tail_max + 1);
    if (!cw->env || !cw->tail) {
        free(cw->env);
        free(cw->tail);
        free(cw);
        return qd_worker_fail(w, "command: out of memory");
    }
    snprintf(cw->worker_var, sizeof cw->worker_var, "ELITES_WORKER=%u", w->id);
    memcpy(cw->env, c->env, n * sizeof *cw->env);
    cw->env[n] = cw->worker_var;
    cw->env[n + 1] = NULL;
    cw->in = cw->out = cw->err = -1;
    w->eval_state = cw;
    return QD_OK;
}

static void command_worker_fini(const qd_evaluator *ev, qd_worker *w)
{
    command_worker *cw = w->eval_state;
    int killed;
    if (!cw)
        return;
    stop_persistent(ev->state, cw, &killed);
    free(cw->env);
    free(cw->tail);
    free(cw->out_buf.data);
    free(cw);
    w->eval_state = NULL;
}

/* ---- configuration -------------------------------------------------------- */

/* 1 if a program name runs as posix_spawnp would find it (a path with a
 * slash, relative to cwd; else a PATH entry). */
static int program_exists(const char *name, const char *cwd)
{
    char path[4096];
    const char *dirs = getenv("PATH");
    if (strchr(name, '/')) {
        if (name[0] != '/' && cwd)
            snprintf(path, sizeof path, "%s/%s", cwd, name);
        else
            snprintf(path, sizeof path, "%s", name);
        return access(path, X_OK) == 0;
    }
    for (const char *d = dirs ? dirs : "/bin:/usr/bin"; *d;) {
        const char *colon = strchr(d, ':');
        size_t dl = colon ? (size_t)(colon - d) : strlen(d);
        snprintf(path, sizeof path, "%.*s%s%s", (int)dl, d, dl ? "/" : "", name);
        if (access(path, X_OK) == 0)
            return 1;
        d += dl + (colon ? 1 : 0);
    }
    return 0;
}

static int env_name_ok(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s == '=')
            return 0;
    return 1;
}

static int env_overridden(const char *entry, const cJSON *extra)
{
    const cJSON *e;
    size_t n = strcspn(entry, "=");
    if (strncmp(entry, "ELITES_WORKER=", 14) == 0)
        return 1;
    cJSON_ArrayForEach(e, extra)
        if (strlen(e->string) == n && strncmp(entry, e->string, n) == 0)
            return 1;
    return 0;
}

/* The program's environment: this process's at init, minus ELITES_WORKER
 * (set per worker) and the names "env" sets, plus "env". */
static int read_env(command *c, qd_config *cfg)
{
    qd_config *ec = NULL;
    const cJSON *extra = NULL, *e;
    size_t n = 0, k = 0;
    if (qd_config_has(cfg, "env")) {
        if (qd_config_object(cfg, "env", 1, &ec))
            return QD_EINVAL;
        extra = qd_config_json(ec);
        cJSON_ArrayForEach(e, extra) {
            const char *v = NULL;
            if (qd_config_string(ec, e->string, &v))
                return QD_EINVAL;
            if (!env_name_ok(e->string))
                return qd_config_fail(ec, e->string, "is not a usable variable name");
            n++;
        }
    }
    for (char **p = environ; p && *p; p++)
        n++;
    if (!(c->env = calloc(n + 1, sizeof *c->env)))
        return qd_config_fail(cfg, "env", "could not be set up: out of memory");
    for (char **p = environ; p && *p; p++)
        if (!env_overridden(*p, extra) && !(c->env[k++] = strdup(*p)))
            goto nomem;
    cJSON_ArrayForEach(e, extra) {
        size_t len = strlen(e->string) + strlen(e->valuestring) + 2;
        if (!(c->env[k] = malloc(len)))
            goto nomem;
        snprintf(c->env[k++], len, "%s=%s", e->string, e->valuestring);
    }
    return QD_OK;
nomem:
    return qd_config_fail(cfg, "env", "could not be set up: out of memory");
}

static int read_program(command *c, qd_config *cfg)
{
    const char *shell = NULL, *cwd = NULL;
    size_t n;
    struct stat st;
    int has_command = qd_config_has(cfg, "command"), has_argv = qd_config_has(cfg, "argv");
    if (has_command && has_argv)
        return qd_config_fail(cfg, "argv", "cannot be combined with command (give one)");
    if (!has_argv) {
        if (qd_config_require(cfg, "command") || qd_config_string(cfg, "command", &shell))
            return QD_EINVAL;
        if (!*shell)
            return qd_config_fail(cfg, "command", "must not be empty");
        if (!(c->argv = calloc(4, sizeof *c->argv)) || !(c->argv[0] = strdup("/bin/sh")) ||
            !(c->argv[1] = strdup("-c")) || !(c->argv[2] = strdup(shell)))
            return qd_config_fail(cfg, "command", "could not be set up: out of memory");
    } else if (qdi_config_strings(cfg, "argv", 1, 1, &c->argv, &n)) {
        return QD_EINVAL;
    }
    if (qd_config_string(cfg, "cwd", &cwd))
        return QD_EINVAL;
    if (cwd && (stat(cwd, &st) != 0 || !S_ISDIR(st.st_mode)))
        return qd_config_fail(cfg, "cwd", "is not a folder: \"%s\"", cwd);
    if (cwd && !(c->cwd = strdup(cwd)))
        return qd_config_fail(cfg, "cwd", "could not be set up: out of memory");
    if (has_argv && !program_exists(c->argv[0], c->cwd))
        return qd_config_fail(cfg, "argv", "names a program that was not found: \"%s\"%s", c->argv[0],
                              strchr(c->argv[0], '/') ? "" : " (not in PATH)");
    return QD_OK;
}

/* Optional per-dimension bounds: absent keys leave the defaults (and are
 * not written back: infinite or NaN do not fit in JSON). */
static int read_bounds(qd_config *cfg, const char *lo_key, const char *hi_key, double *lo, double *hi, size_t n)
{
    if ((qd_config_has(cfg, lo_key) && qd_config_vector(cfg, lo_key, lo, n, NULL)) ||
        (qd_config_has(cfg, hi_key) && qd_config_vector(cfg, hi_key, hi, n, NULL)))
        return QD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!(lo[i] < hi[i]) && !isnan(lo[i]) && !isnan(hi[i]))
            return qd_config_fail(cfg, hi_key, "must be above %s (index %zu: %g <= %g)", lo_key, i, hi[i], lo[i]);
    return QD_OK;
}

static int read_space(qd_evaluator *ev, qd_config *cfg)
{
    static const char *const genomes[] = {"real", "text", NULL};
    qd_space *sp = &ev->space;
    char **names = NULL;
    size_t nnames = 0;
    long dim = 0, measures;
    int genome = 0, rc = QD_EINVAL;
    if (qd_config_choice(cfg, "genome", genomes, &genome))
        return QD_EINVAL;
    if (genome == QD_GENOME_REAL &&
        (qd_config_require(cfg, "dim") || qd_config_int(cfg, "dim", &dim, ">= 1 <= 100000000")))
        return QD_EINVAL;
    if (qdi_config_strings(cfg, "measure_names", 0, 1, &names, &nnames))
        return QD_EINVAL;
    measures = (long)nnames;
    if ((!nnames && qd_config_require(cfg, "measures")) || qd_config_int(cfg, "measures", &measures, ">= 1 <= 4096"))
        goto done;
    if (nnames && nnames != (size_t)measures) {
        qd_config_fail(cfg, "measure_names", "must give %ld names (one per measure), got %zu", measures, nnames);
        goto done;
    }
    if (qd_space_init(sp, genome == 0 ? QD_GENOME_REAL : QD_GENOME_TEXT, (size_t)dim, (size_t)measures)) {
        qd_config_fail(cfg, "dim", "could not be set up: out of memory");
        goto done;
    }
    if (read_bounds(cfg, "lower", "upper", sp->lower, sp->upper, sp->dim) ||
        read_bounds(cfg, "measure_lower", "measure_upper", sp->measure_lower, sp->measure_upper, sp->measures) ||
        (qd_config_has(cfg, "objective_min") && qd_config_number(cfg, "objective_min", &sp->objective_min, NULL)) ||
        (qd_config_has(cfg, "objective_max") && qd_config_number(cfg, "objective_max", &sp->objective_max, NULL)))
        goto done;
    for (size_t i = 0; i < nnames; i++)
        if (qd_space_set_measure_name(sp, i, names[i]) != QD_OK) {
            qd_config_fail(cfg, "measure_names", "could not be set: out of memory");
            goto done;
        }
    rc = QD_OK;
done:
    qdi_strings_free(names);
    return rc;
}

static int command_init(qd_evaluator *ev, qd_config *cfg)
{
    static const char *const modes[] = {"fork", "persistent", NULL};
    command *c = ev->state;
    long tail = 512;
    c->timeout = 60.0;
    c->kill_grace = 1.0;
    if (read_program(c, cfg) || qd_config_choice(cfg, "mode", modes, &c->mode) ||
        qd_config_number(cfg, "timeout", &c->timeout, "> 0 <= 1e9") ||
        qd_config_number(cfg, "kill_grace", &c->kill_grace, ">= 0 <= 3600") ||
        qd_config_int(cfg, "stderr_tail", &tail, ">= 0 <= 1048576") || read_env(c, cfg) || read_space(ev, cfg))
        return QD_EINVAL;
    c->tail_max = (size_t)tail;
    return QD_OK;
}

static void command_fini(qd_evaluator *ev)
{
    command *c = ev->state;
    qdi_strings_free(c->argv);
    qdi_strings_free(c->env);
    free(c->cwd);
}

/* A job given up after a stop: kill the worker's program (its whole
 * process group) so evaluate returns at once instead of at the timeout.
 * Runs in the loop's thread; pid is read atomically and is nonzero only
 * while the process is not yet reaped. */
static void command_cancel(const qd_evaluator *ev, qd_worker *w)
{
    const command_worker *cw = w->eval_state;
    pid_t pid;
    (void)ev;
    if (cw && (pid = __atomic_load_n(&cw->pid, __ATOMIC_SEQ_CST)) > 0)
        kill(-pid, SIGKILL);
}

const qd_evaluator_type qdi_evaluator_command = {
    .name = "command",
    .state_size = sizeof(command),
    .init = command_init,
    .evaluate = command_evaluate,
    .worker_init = command_worker_init,
    .worker_fini = command_worker_fini,
    .fini = command_fini,
    .cancel = command_cancel,
};
