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
    case QD_ENOSPC: return "no space left on the device";
    case QD_ETOOBIG: return "does not fit";
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
    qdi_dtoa(buf, v);
    return buf;
}

char *qd_format_double(char *buf, double v)
{
    return qdi_format_double(buf, v);
}

int qd_worker_fail(qd_worker *w, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qdi_vset_error(w->error, sizeof w->error, fmt, ap);
    va_end(ap);
    return QD_EEVAL;
}

cJSON *qdi_json_double(double v)
{
    char buf[32];
    qdi_format_double(buf, v);
    /* raw text goes out as it is and reads back through strtod */
    return isfinite(v) ? cJSON_CreateRaw(buf) : cJSON_CreateString(buf);
}

cJSON *qdi_json_doubles(const double *v, size_t n)
{
    cJSON *a = cJSON_CreateArray(), *item;
    for (size_t i = 0; a && i < n; i++) {
        if (!(item = qdi_json_double(v[i]))) {
            cJSON_Delete(a);
            return NULL;
        }
        cJSON_AddItemToArray(a, item);
    }
    return a;
}

int qdi_json_get_double(const cJSON *item, double *v)
{
    char *end;
    if (cJSON_IsNumber(item)) {
        *v = item->valuedouble;
        return QD_OK;
    }
    if (!cJSON_IsRaw(item) && !cJSON_IsString(item))
        return QD_EFORMAT;
    if (cJSON_IsString(item) && strcmp(item->valuestring, "nan") && strcmp(item->valuestring, "inf") &&
        strcmp(item->valuestring, "-inf"))
        return QD_EFORMAT;
    *v = strtod(item->valuestring, &end);
    return end != item->valuestring && *end == '\0' ? QD_OK : QD_EFORMAT;
}

int qdi_json_is_whole(const cJSON *item, double lo, double hi)
{
    return cJSON_IsNumber(item) && item->valuedouble >= lo && item->valuedouble <= hi &&
           item->valuedouble == floor(item->valuedouble);
}

int qdi_json_get_doubles(const cJSON *array, double *v, size_t n)
{
    const cJSON *item;
    size_t i = 0;
    if (!cJSON_IsArray(array) || (size_t)cJSON_GetArraySize(array) != n)
        return QD_EFORMAT;
    cJSON_ArrayForEach(item, array) {
        if (qdi_json_get_double(item, &v[i++]) != QD_OK)
            return QD_EFORMAT;
    }
    return QD_OK;
}
