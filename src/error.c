/* error.c - status codes, error text helpers and number formatting shared by
 * every module. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

const char *qd_strerror(int code)
{
    switch (code) {
    case QD_OK: return "success";
    case QD_EINVAL: return "invalid argument or configuration";
    case QD_ENOMEM: return "out of memory";
    case QD_EIO: return "input/output error";
    case QD_EHTTP: return "HTTP request failed";
    case QD_ENOTFOUND: return "not found";
    case QD_EEVAL: return "evaluation failed";
    case QD_EFORMAT: return "bad file format";
    case QD_EEXIST: return "already exists";
    case QD_ETIMEOUT: return "timed out";
    case QD_EINTR: return "interrupted";
    default: return "unknown error";
    }
}

void qdi_vset_error(char *buf, size_t len, const char *fmt, va_list ap)
{
    if (!buf || len == 0)
        return;
    vsnprintf(buf, len, fmt, ap);
}

void qdi_set_error(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qdi_vset_error(buf, len, fmt, ap);
    va_end(ap);
}

char *qdi_format_double(char *buf, double v)
{
    if (isnan(v)) {
        strcpy(buf, "nan");
    } else if (isinf(v)) {
        strcpy(buf, v > 0 ? "inf" : "-inf");
    } else {
        snprintf(buf, 32, "%.15g", v);
        if (strtod(buf, NULL) != v)
            snprintf(buf, 32, "%.17g", v);
    }
    return buf;
}

int qd_worker_fail(qd_worker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qdi_vset_error(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
    return QD_EEVAL;
}
