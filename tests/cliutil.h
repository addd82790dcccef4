/* cliutil.h - running the `elites` program from a test: its path
 * ($ELITES_BIN, set by tests/Makemodule.am; ./elites when a suite is run by
 * hand from the build folder), the source tree ($ELITES_SRCDIR, else .),
 * and starting it with stdout and stderr captured in files of a folder. */
#ifndef ELITES_CLIUTIL_H
#define ELITES_CLIUTIL_H

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>
#include "testutil.h"

static inline const char *qdt_bin(void)
{
    const char *b = getenv("ELITES_BIN");
    return b && *b ? b : "./elites";
}

static inline const char *qdt_srcdir(void)
{
    const char *d = getenv("ELITES_SRCDIR");
    return d && *d ? d : ".";
}

/* Starts `elites args...` (NULL-terminated, at most 30) with stdout and
 * stderr into dir/stdout.txt and dir/stderr.txt; returns its pid. */
static inline pid_t qdt_start_cli(const char *dir, const char *const *args)
{
    char out_path[1024], err_path[1024];
    const char *argv[32];
    size_t n = 0;
    pid_t pid;
    snprintf(out_path, sizeof out_path, "%s/stdout.txt", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr.txt", dir);
    argv[n++] = qdt_bin();
    for (; *args && n < 31; args++)
        argv[n++] = *args;
    argv[n] = NULL;
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fo < 0 || fe < 0 || dup2(fo, 1) < 0 || dup2(fe, 2) < 0)
            _exit(127);
        close(fo);
        close(fe);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    CU_ASSERT_FATAL(pid > 0);
    return pid;
}

/* Waits for a program started by qdt_start_cli; returns its exit status
 * (-1 if it did not exit) and its output in *out and *err (never NULL;
 * the caller frees). */
static inline int qdt_wait_cli(pid_t pid, const char *dir, char **out, char **err)
{
    char path[1024];
    int wstatus;
    CU_ASSERT_FATAL(waitpid(pid, &wstatus, 0) == pid);
    snprintf(path, sizeof path, "%s/stdout.txt", dir);
    *out = qdt_slurp(path);
    snprintf(path, sizeof path, "%s/stderr.txt", dir);
    *err = qdt_slurp(path);
    if (!*out)
        *out = strdup("");
    if (!*err)
        *err = strdup("");
    if (WIFSIGNALED(wstatus))
        fprintf(stderr, "\n  the program died of signal %d\n", WTERMSIG(wstatus));
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1;
}

#endif
