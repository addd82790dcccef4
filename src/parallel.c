/* parallel.c - independent pieces of work spread over a few short-lived
 * threads, for the work of a save point (each output file, each part of
 * the elites' text): the caller runs pieces too, and each thread takes the
 * next piece not yet taken until none is left. Nothing here depends on the
 * pool: a save point may come while its workers hold jobs. */
#include <pthread.h>
#include <stdatomic.h>
#include "internal.h"

typedef struct spread {
    void (*fn)(void *arg, size_t i);
    void *arg;
    size_t n;
    atomic_size_t next;
} spread;

static void *take_pieces(void *p)
{
    spread *sp = p;
    size_t i;
    while ((i = atomic_fetch_add(&sp->next, 1)) < sp->n)
        sp->fn(sp->arg, i);
    return NULL;
}

void qdi_parallel_for(size_t n, size_t nthreads, void (*fn)(void *arg, size_t i), void *arg)
{
    pthread_t threads[QDI_PARALLEL_MAX];
    size_t started = 0;
    spread sp = {.fn = fn, .arg = arg, .n = n};
    atomic_init(&sp.next, 0);
    if (nthreads > n)
        nthreads = n;
    if (nthreads > QDI_PARALLEL_MAX)
        nthreads = QDI_PARALLEL_MAX;
    /* a thread that cannot start leaves its pieces to the others */
    while (started + 1 < nthreads && pthread_create(&threads[started], NULL, take_pieces, &sp) == 0)
        started++;
    take_pieces(&sp);
    for (size_t t = 0; t < started; t++)
        pthread_join(threads[t], NULL);
}
