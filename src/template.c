/* template.c - prompt templates with named fields: "{text}" is replaced by
 * the value of the field "text", "{{" and "}}" stand for braces. Values go
 * in verbatim (a text holding "{x}" is not expanded again). Used by the LLM
 * mutator and the AI-feedback evaluator, whose prompts live in the config. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

int qdi_template_expand(const char *tmpl, const char *const *names, const char *const *values, size_t n, char **out,
                        char *err, size_t errlen)
{
    size_t len = 0, cap = strlen(tmpl) + 64;
    char *buf = malloc(cap);
    *out = NULL;
    if (!buf)
        goto nomem;
    for (const char *p = tmpl; *p;) {
        const char *add = p;
        size_t addlen = 1;
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            addlen = 1;
            p += 2;
        } else if (p[0] == '{') {
            const char *end = strchr(p, '}');
            size_t i;
            if (!end) {
                qdi_set_error(err, errlen, "has a \"{\" with no \"}\" (write \"{{\" for a brace)");
                free(buf);
                return QD_EINVAL;
            }
            for (i = 0; i < n; i++)
                if (strlen(names[i]) == (size_t)(end - p - 1) && strncmp(names[i], p + 1, (size_t)(end - p - 1)) == 0)
                    break;
            if (i == n) {
                char known[256] = "";
                size_t k = 0;
                for (size_t j = 0; j < n && k < sizeof known; j++)
                    k += (size_t)snprintf(known + k, sizeof known - k, "%s{%s}", j ? ", " : "", names[j]);
                qdi_set_error(err, errlen, "names an unknown field {%.*s} (known: %s)", (int)(end - p - 1), p + 1,
                              known);
                free(buf);
                return QD_EINVAL;
            }
            add = values[i] ? values[i] : "";
            addlen = strlen(add);
            p = end + 1;
        } else {
            p++;
        }
        if (len + addlen + 1 > cap) {
            while (len + addlen + 1 > cap)
                cap *= 2;
            char *b = realloc(buf, cap);
            if (!b)
                goto nomem;
            buf = b;
        }
        memcpy(buf + len, add, addlen);
        len += addlen;
    }
    buf[len] = '\0';
    *out = buf;
    return QD_OK;
nomem:
    free(buf);
    qdi_set_error(err, errlen, "out of memory");
    return QD_ENOMEM;
}

int qdi_config_strings(qd_config *cfg, const char *key, int required, size_t min, char ***out, size_t *n)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(qd_config_json(cfg), key), *e;
    size_t count, i = 0;
    *out = NULL;
    *n = 0;
    if (!qd_config_has(cfg, key))
        return required ? qd_config_require(cfg, key) : QD_OK;
    if (cJSON_IsString(v)) {
        count = 1;
    } else if (cJSON_IsArray(v)) {
        cJSON_ArrayForEach(e, v)
            if (!cJSON_IsString(e))
                return qd_config_fail(cfg, key, "must be a string or a list of strings");
        count = (size_t)cJSON_GetArraySize(v);
    } else {
        return qd_config_fail(cfg, key, "must be a string or a list of strings");
    }
    if (count < min)
        return qd_config_fail(cfg, key, "must list at least %zu strings, got %zu", min, count);
    if (!(*out = calloc(count + 1, sizeof **out)))
        return qd_config_fail(cfg, key, "could not be read: out of memory");
    if (cJSON_IsString(v)) {
        if (!((*out)[i++] = strdup(v->valuestring)))
            goto nomem;
    } else {
        cJSON_ArrayForEach(e, v)
            if (!((*out)[i++] = strdup(e->valuestring)))
                goto nomem;
    }
    *n = count;
    return QD_OK;
nomem:
    qdi_strings_free(*out);
    *out = NULL;
    return qd_config_fail(cfg, key, "could not be read: out of memory");
}

void qdi_strings_free(char **list)
{
    for (size_t i = 0; list && list[i]; i++)
        free(list[i]);
    free(list);
}
