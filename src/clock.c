/* clock.c - the library's one clock: monotonic seconds as a double, for
 * deadlines, timeouts, grace periods and latencies (never set back by a
 * change of the wall clock). */
#include <time.h>
#include "internal.h"

double qdi_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}
