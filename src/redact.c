/* redact.c - credentials kept out of what a run writes and shows. A URL's
 * user:password@ (http://user:pass@host/v1, as llm.url or ELITES_LLM_URL
 * may carry) becomes "[redacted]@" in archive.json, the checkpoint,
 * report.html, llm.json and messages; an "api_key" value (configs refuse
 * it, but a library user may build one) becomes "[redacted]". The run
 * itself keeps the real values in memory. */
#include <stdio.h>
#include <string.h>
#include "internal.h"

void qdi_redact_url(char *out, size_t len, const char *url)
{
    const char *scheme = strstr(url, "://"), *at, *end;
    if (!len)
        return;
    if (!scheme) {
        snprintf(out, len, "%s", url);
        return;
    }
    /* the authority runs to the first '/', '?' or '#' after the scheme; its
     * last '@' ends the user information */
    end = scheme + 3 + strcspn(scheme + 3, "/?#");
    at = NULL;
    for (const char *p = scheme + 3; p < end; p++)
        if (*p == '@')
            at = p;
    if (!at) {
        snprintf(out, len, "%s", url);
        return;
    }
    snprintf(out, len, "%.*s[redacted]%s", (int)(scheme + 3 - url), url, at);
}

static int redact_tree(cJSON *node)
{
    for (cJSON *x = node ? node->child : NULL; x; x = x->next) {
        if (cJSON_IsString(x) && x->valuestring) {
            int key = x->string && strcmp(x->string, "api_key") == 0;
            if (key || strstr(x->valuestring, "://")) {
                size_t n = strlen(x->valuestring) + 16;
                char *shown = cJSON_malloc(n);
                if (!shown)
                    return -1;
                if (key)
                    snprintf(shown, n, "[redacted]");
                else
                    qdi_redact_url(shown, n, x->valuestring);
                cJSON_free(x->valuestring);
                x->valuestring = shown;
            }
        } else if (redact_tree(x) != 0) {
            return -1;
        }
    }
    return 0;
}

cJSON *qdi_redacted_copy(const cJSON *config)
{
    cJSON *copy = cJSON_Duplicate(config, 1);
    if (copy && redact_tree(copy) != 0) {
        cJSON_Delete(copy);
        return NULL;
    }
    return copy;
}

cJSON *qd_config_redacted(const qd_config *c)
{
    return qdi_redacted_copy(qd_config_json(c));
}
