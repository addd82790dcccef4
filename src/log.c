/* log.c - the library's notes (a server without logprobs, a cache line that
 * could not be read): one line each to a handler the application sets, by
 * default "elites: <line>" on stderr. The library never prints otherwise. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include "internal.h"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static void (*log_fn)(void *ctx, const char *line);
static void *log_ctx;

void qd_set_log_handler(void (*fn)(void *ctx, const char *line), void *ctx)
{
    pthread_mutex_lock(&log_lock);
    log_fn = fn;
    log_ctx = ctx;
    pthread_mutex_unlock(&log_lock);
}

void qdi_log(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&log_lock);
    if (log_fn)
        log_fn(log_ctx, line);
    else
        fprintf(stderr, "elites: %s\n", line);
    pthread_mutex_unlock(&log_lock);
}
