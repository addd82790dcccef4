/* config_set.c - "--set PATH=VALUE" overrides applied to a config tree
 * before it is read. The value is typed as the existing field is, so
 * "--set evaluator.dim=abc" is refused when dim is a number; a field that is
 * absent takes the value as JSON when it parses and as a string otherwise. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "config_internal.h"

static int set_fail(qd_config *root, const char *assignment, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_fail(qd_config *root, const char *assignment, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(root->error, sizeof root->error, "--set %s: %s", assignment, msg);
    root->failed = 1;
    return QD_EINVAL;
}

/* Builds the item that replaces (or creates) a field from text. */
static cJSON *typed_value(const cJSON *old, const char *text, const char *path, char *why, size_t len)
{
    if (old && cJSON_IsNumber(old)) {
        char *end;
        double d;
        errno = 0;
        d = strtod(text, &end);
        if (end == text || *end || errno || !isfinite(d)) {
            snprintf(why, len, "%s is a number, got \"%s\"", path, text);
            return NULL;
        }
        return cJSON_CreateNumber(d);
    }
    if (old && cJSON_IsBool(old)) {
        if (strcmp(text, "true") == 0)
            return cJSON_CreateTrue();
        if (strcmp(text, "false") == 0)
            return cJSON_CreateFalse();
        snprintf(why, len, "%s is true or false, got \"%s\"", path, text);
        return NULL;
    }
    if (old && cJSON_IsString(old))
        return cJSON_CreateString(text);
    if (old) { /* object, array or null: the value must be JSON */
        cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
        if (!v)
            snprintf(why, len, "%s takes a JSON value, got \"%s\"", path, text);
        return v;
    }
    /* the whole text must be JSON: cJSON_Parse would read "2024-01" as 2024 */
    cJSON *v = cJSON_ParseWithOpts(text, NULL, 1);
    return v ? v : cJSON_CreateString(text);
}

int qd_config_set(qd_config *root, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    char *path = NULL, *p, *seg;
    char walked[512] = "", parent_path[512], why[600], shown[80];
    cJSON *node, *created = NULL, *created_in = NULL;
    int rc = QD_EINVAL;
    root = root->root;
    if (!eq || eq == assignment)
        return set_fail(root, assignment, "expected PATH=VALUE, e.g. evaluator.dim=20");
    if (!qdi_utf8_valid(assignment, NULL))
        return set_fail(root, "(not shown)", "is not valid UTF-8 (values go into JSON files)");
    if (!(path = strndup(assignment, (size_t)(eq - assignment))))
        return set_fail(root, assignment, "out of memory");
    node = root->tree;
    /* Split "a.b[2].c" into segments; "[2]" and ".2" both index arrays. */
    for (p = path; *p == '.'; p++)
        ;
    while (*p) {
        long index = -1;
        cJSON *next, *parent = node;
        seg = p;
        snprintf(parent_path, sizeof parent_path, "%s", walked[0] ? walked : "(top level)");
        if (*p == '[') {
            char *end;
            index = strtol(p + 1, &end, 10);
            if (end == p + 1 || *end != ']' || index < 0) {
                set_fail(root, assignment, "bad index in \"%s\"", path);
                goto done;
            }
            p = end + 1;
        } else {
            while (*p && *p != '.' && *p != '[')
                p++;
            if (p == seg) {
                set_fail(root, assignment, "empty field name in \"%s\"", path);
                goto done;
            }
        }
        char saved = *p;
        *p = '\0';
        if (index < 0 && cJSON_IsArray(node)) {
            char *end;
            index = strtol(seg, &end, 10);
            if (end == seg || *end || index < 0) {
                set_fail(root, assignment, "%s is an array; \"%s\" is not an index", parent_path, seg);
                goto done;
            }
        }
        size_t wl = strlen(walked);
        if (index >= 0)
            snprintf(walked + wl, sizeof walked - wl, "[%ld]", index);
        else
            snprintf(walked + wl, sizeof walked - wl, "%s%s", wl ? "." : "", seg);
        int last = saved == '\0' || (saved == '.' && p[1] == '\0');
        if (index >= 0) {
            if (!cJSON_IsArray(parent)) {
                qdi_config_show_value(parent, shown, sizeof shown);
                set_fail(root, assignment, "%s is not an array, got %s", parent_path, shown);
                goto done;
            }
            int size = cJSON_GetArraySize(parent);
            if (index >= size) {
                set_fail(root, assignment, "%s is out of range: %s has %d element%s", walked, parent_path, size,
                         size == 1 ? "" : "s");
                goto done;
            }
            next = cJSON_GetArrayItem(parent, (int)index);
        } else {
            if (!cJSON_IsObject(parent)) {
                qdi_config_show_value(parent, shown, sizeof shown);
                set_fail(root, assignment, "%s is not an object, got %s", parent_path, shown);
                goto done;
            }
            next = cJSON_GetObjectItemCaseSensitive(parent, seg);
        }
        if (last) {
            cJSON *v = typed_value(next, eq + 1, walked, why, sizeof why);
            if (!v) {
                set_fail(root, assignment, "%s", why);
                goto done;
            }
            if (index >= 0)
                cJSON_ReplaceItemInArray(parent, (int)index, v);
            else if (next)
                cJSON_ReplaceItemInObjectCaseSensitive(parent, seg, v);
            else
                cJSON_AddItemToObject(parent, seg, v);
            rc = QD_OK;
            goto done;
        }
        if (!next) { /* create intermediate objects */
            if (!(next = cJSON_AddObjectToObject(parent, seg))) {
                set_fail(root, assignment, "out of memory");
                goto done;
            }
            if (!created) { /* removed again if the assignment fails */
                created = next;
                created_in = parent;
            }
        }
        node = next;
        *p = saved;
        if (*p == '.')
            p++;
    }
    set_fail(root, assignment, "empty path");
done:
    if (rc != QD_OK && created)
        cJSON_Delete(cJSON_DetachItemViaPointer(created_in, created));
    free(path);
    return rc;
}
