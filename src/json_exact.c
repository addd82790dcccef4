/* json_exact.c - JSON numbers that read back bit for bit. cJSON 1.7.15
 * prints a double with %.15g whenever that reads back within one ulp, so
 * the last bit of an objective or a genome can be lost between archive.json
 * and a reloaded archive; these helpers print the shortest of %.15g and
 * %.17g that reads back exactly (qdi_format_double) as a raw JSON item. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

cJSON *qdi_json_number(double v)
{
    char buf[32];
    if (!isfinite(v)) /* JSON has no NaN or infinity: null, as cJSON does */
        return cJSON_CreateNull();
    return cJSON_CreateRaw(qdi_format_double(buf, v));
}

cJSON *qdi_json_number_array(const double *v, size_t n)
{
    char *text = malloc(n * 26 + 3), *p = text, buf[32];
    cJSON *item;
    if (!text)
        return NULL;
    *p++ = '[';
    for (size_t i = 0; i < n; i++) {
        const char *s = isfinite(v[i]) ? qdi_format_double(buf, v[i]) : "null";
        size_t len = strlen(s);
        if (i)
            *p++ = ',';
        memcpy(p, s, len);
        p += len;
    }
    *p++ = ']';
    *p = '\0';
    item = cJSON_CreateRaw(text);
    free(text);
    return item;
}
