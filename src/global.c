/* global.c - process-wide set-up and the version string. */
#include <curl/curl.h>
#include <gsl/gsl_errno.h>
#include <pthread.h>
#include "config.h"
#include "internal.h"
#include "mutators/cma_linalg.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int init_status = QD_OK;

static void global_init_once(void)
{
    /* GSL's default handler aborts the process; we check return codes. */
    gsl_set_error_handler_off();
    qdi_linalg_init(); /* OpenBLAS: one thread per call */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        init_status = QD_EHTTP;
}

int qd_global_init(void)
{
    pthread_once(&once, global_init_once);
    return init_status;
}

const char *qd_version(void)
{
    return PACKAGE_VERSION;
}
