/* config.c - validated reading of a JSON config.
 *
 * A qd_config is a view on one JSON object with its path in the document
 * ("mutators[1]"). Each reader names the key it wants, checks its type and a
 * rule ("> 0"), writes the default back into the tree when the key is absent
 * (so the config echoed into archive.json is the complete, resolved one) and
 * marks the key known; qd_config_check_keys then rejects whatever no reader
 * asked for, which catches typos. Every message names the file, the field
 * path and the offending value. The first error sticks: later calls fail
 * fast, so plug-in init code can read field after field and check once.
 */
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include "config_internal.h"

static qd_config *view_new(qd_config *root, cJSON *json, const char *path)
{
    qd_config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->root = root ? root : c;
    c->json = json;
    c->path = strdup(path);
    if (!c->path) {
        free(c);
        return NULL;
    }
    if (root) {
        qd_config **v = realloc(root->children, (root->nchildren + 1) * sizeof *v);
        if (!v) {
            free(c->path);
            free(c);
            return NULL;
        }
        root->children = v;
        root->children[root->nchildren++] = c;
    }
    return c;
}

static void view_free(qd_config *c)
{
    for (size_t i = 0; i < c->nknown; i++)
        free(c->known[i]);
    free(c->known);
    free(c->path);
    free(c);
}

int qd_config_wrap(cJSON *json, const char *source, qd_config **out)
{
    qd_config *c;
    *out = NULL;
    if (!json)
        return QD_EINVAL;
    c = view_new(NULL, json, "");
    if (!c || !(c->source = strdup(source ? source : "config"))) {
        if (c)
            view_free(c);
        return QD_ENOMEM;
    }
    c->tree = json;
    *out = c;
    return QD_OK;
}

static void line_col(const char *text, const char *at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *p = text; p < at && *p; p++) {
        if (*p == '\n') {
            (*line)++;
            *col = 1;
        } else {
            (*col)++;
        }
    }
}

int qd_config_parse(const char *text, const char *source, qd_config **out, char *err, size_t errlen)
{
    const char *end = NULL;
    cJSON *json;
    int rc;
    *out = NULL;
    if (text[strspn(text, " \t\r\n")] == '\0') {
        qdi_set_error(err, errlen, "%s: the file is empty; expected a JSON object", source);
        return QD_EFORMAT;
    }
    {
        size_t bad;
        if (!qdi_utf8_valid(text, &bad)) { /* it would reach every JSON file the run writes */
            int line, col;
            line_col(text, text + bad, &line, &col);
            qdi_set_error(err, errlen, "%s: invalid UTF-8 at line %d, column %d (byte 0x%02x); a config must be "
                          "UTF-8", source, line, col, (unsigned char)text[bad]);
            return QD_EFORMAT;
        }
    }
    json = cJSON_ParseWithOpts(text, &end, 1);
    if (!json) {
        int line, col;
        line_col(text, end ? end : text, &line, &col);
        qdi_set_error(err, errlen, "%s: invalid JSON at line %d, column %d", source, line, col);
        return QD_EFORMAT;
    }
    if (!cJSON_IsObject(json)) {
        qdi_set_error(err, errlen, "%s: the config must be a JSON object", source);
        cJSON_Delete(json);
        return QD_EFORMAT;
    }
    rc = qd_config_wrap(json, source, out);
    if (rc) {
        cJSON_Delete(json);
        qdi_set_error(err, errlen, "%s: out of memory", source);
    }
    return rc;
}

/* A config holds settings, not data: a 100 MB description was written
 * into every save. ELITES_MAX_CONFIG_MB raises the limit. */
#define DEFAULT_MAX_CONFIG_MB 16

int qd_config_load_file(const char *path, qd_config **out, char *err, size_t errlen)
{
    char *text;
    const char *env = getenv("ELITES_MAX_CONFIG_MB");
    long max_mb = env && atol(env) > 0 ? atol(env) : DEFAULT_MAX_CONFIG_MB;
    struct stat st;
    int rc;
    *out = NULL;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && (double)st.st_size > (double)max_mb * 1048576.0) {
        qdi_set_error(err, errlen, "%s: %lld bytes, more than the %ld MB a config may have (point to data files "
                      "instead; ELITES_MAX_CONFIG_MB raises the limit)", path, (long long)st.st_size, max_mb);
        return QD_EINVAL;
    }
    rc = qdi_read_file(path, &text, NULL, err, errlen);
    if (rc)
        return rc;
    rc = qd_config_parse(text, path, out, err, errlen);
    free(text);
    return rc;
}

void qd_config_free(qd_config *root)
{
    if (!root)
        return;
    root = root->root;
    for (size_t i = 0; i < root->nchildren; i++)
        view_free(root->children[i]);
    free(root->children);
    cJSON_Delete(root->tree);
    free(root->source);
    view_free(root);
}

const char *qd_config_error(const qd_config *c)
{
    return c ? c->root->error : "";
}

const char *qd_config_source(const qd_config *c)
{
    return c->root->source;
}

const char *qd_config_path(const qd_config *c)
{
    return c->path;
}

cJSON *qd_config_json(const qd_config *c)
{
    return c->json;
}

/* "path.key", or "key" at the root, into buf. */
static const char *field_path(const qd_config *c, const char *key, char *buf, size_t len)
{
    if (!key || !*key)
        snprintf(buf, len, "%s", c->path[0] ? c->path : "(top level)");
    else if (c->path[0])
        snprintf(buf, len, "%s.%s", c->path, key);
    else
        snprintf(buf, len, "%s", key);
    return buf;
}

int qd_config_fail(qd_config *c, const char *key, const char *fmt, ...)
{
    qd_config *root = c->root;
    char path[256], msg[768];
    va_list ap;
    if (root->failed)
        return QD_EINVAL;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(root->error, sizeof root->error, "%s: %s %s", root->source,
             field_path(c, key, path, sizeof path), msg);
    root->failed = 1;
    return QD_EINVAL;
}

/* A short JSON rendering of a value for messages. */
void qdi_config_show_value(const cJSON *item, char *buf, size_t len)
{
    char *s = cJSON_PrintUnformatted(item);
    if (!s) {
        snprintf(buf, len, "(unprintable)");
        return;
    }
    if (strlen(s) > 60)
        snprintf(buf, len, "%.57s...", s);
    else
        snprintf(buf, len, "%s", s);
    free(s);
}

/* "key[i]" into buf: the field name of an array element in messages. */
static const char *element_key(const char *key, size_t i, char *buf, size_t len)
{
    snprintf(buf, len, "%s[%zu]", key, i);
    return buf;
}

static int mark_known(qd_config *c, const char *key)
{
    for (size_t i = 0; i < c->nknown; i++)
        if (strcmp(c->known[i], key) == 0)
            return QD_OK;
    char **v = realloc(c->known, (c->nknown + 1) * sizeof *v);
    if (!v)
        return QD_ENOMEM;
    c->known = v;
    if (!(c->known[c->nknown] = strdup(key)))
        return QD_ENOMEM;
    c->nknown++;
    return QD_OK;
}

/* Marks key known and returns its item (NULL when absent). */
static cJSON *lookup(qd_config *c, const char *key)
{
    if (mark_known(c, key) != QD_OK) {
        qd_config_fail(c, key, "could not be read: out of memory");
        return NULL;
    }
    return cJSON_GetObjectItemCaseSensitive(c->json, key);
}

/* Edit distance between two short strings, case-insensitive; a large
 * number when either is too long to compare. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), row[65];
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j], best = diag + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            diag = up;
            row[j] = best;
        }
    }
    return row[lb];
}

/* "is required", pointing at a key of the object that looks like a typo
 * of it ("evaluatr" for "evaluator"), since that key is only reported as
 * unknown after every reader has run. */
static int fail_required(qd_config *c, const char *key)
{
    const cJSON *item;
    cJSON_ArrayForEach(item, c->json) {
        size_t d = edit_distance(item->string, key), len = strlen(key);
        if (d <= (len > 5 ? 2 : 1))
            return qd_config_fail(c, key, "is required (found \"%s\": a typo?)", item->string);
    }
    return qd_config_fail(c, key, "is required");
}

int qd_config_has(qd_config *c, const char *key)
{
    return lookup(c, key) != NULL;
}

int qd_config_require(qd_config *c, const char *key)
{
    if (c->root->failed)
        return QD_EINVAL;
    if (!lookup(c, key))
        return fail_required(c, key);
    return QD_OK;
}

/* Checks v against a rule such as "> 0" or ">= 0 <= 1". Returns 1 if it
 * holds; otherwise writes "must be > 0" style text into why. */
static int rule_holds(const char *rule, double v, char *why, size_t len)
{
    const char *p = rule;
    int ok = 1;
    char text[128] = "";
    size_t tl = 0;
    if (!rule)
        return 1;
    while (*p) {
        char op[3] = {0};
        double bound;
        char *end;
        while (*p == ' ' || *p == ',')
            p++;
        if (!*p)
            break;
        op[0] = *p++;
        if (*p == '=')
            op[1] = *p++;
        bound = strtod(p, &end);
        if (end == p)
            break; /* malformed rule: a programming error; ignore the rest */
        p = end;
        if (strcmp(op, ">") == 0)
            ok &= v > bound;
        else if (strcmp(op, ">=") == 0)
            ok &= v >= bound;
        else if (strcmp(op, "<") == 0)
            ok &= v < bound;
        else if (strcmp(op, "<=") == 0)
            ok &= v <= bound;
        else if (strcmp(op, "!=") == 0 || strcmp(op, "!") == 0)
            ok &= v != bound;
        char b[32];
        tl += (size_t)snprintf(text + tl, sizeof text - tl, "%s%s %s", tl ? " and " : "", op,
                               qdi_format_double(b, bound));
        if (tl >= sizeof text)
            tl = sizeof text - 1;
    }
    if (!ok)
        snprintf(why, len, "must be %s", text);
    return ok;
}

int qd_config_number(qd_config *c, const char *key, double *v, const char *rule)
{
    cJSON *item;
    char shown[80], why[160], num[32];
    if (c->root->failed)
        return QD_EINVAL;
    item = lookup(c, key);
    if (c->root->failed)
        return QD_EINVAL;
    if (!item) {
        if (!cJSON_AddNumberToObject(c->json, key, *v))
            return qd_config_fail(c, key, "could not be set: out of memory");
        return QD_OK;
    }
    if (!cJSON_IsNumber(item)) {
        qdi_config_show_value(item, shown, sizeof shown);
        return qd_config_fail(c, key, "must be a number, got %s", shown);
    }
    if (!isfinite(item->valuedouble))
        return qd_config_fail(c, key, "must be a finite number, got %s",
                              qdi_format_double(num, item->valuedouble));
    if (!rule_holds(rule, item->valuedouble, why, sizeof why))
        return qd_config_fail(c, key, "%s, got %s", why, qdi_format_double(num, item->valuedouble));
    *v = item->valuedouble;
    return QD_OK;
}

int qd_config_int(qd_config *c, const char *key, long *v, const char *rule)
{
    cJSON *item;
    char shown[80], why[160], num[32];
    double d;
    if (c->root->failed)
        return QD_EINVAL;
    item = lookup(c, key);
    if (c->root->failed)
        return QD_EINVAL;
    if (!item) {
        if (!cJSON_AddNumberToObject(c->json, key, (double)*v))
            return qd_config_fail(c, key, "could not be set: out of memory");
        return QD_OK;
    }
    if (!cJSON_IsNumber(item)) {
        qdi_config_show_value(item, shown, sizeof shown);
        return qd_config_fail(c, key, "must be an integer, got %s", shown);
    }
    d = item->valuedouble;
    if (!isfinite(d) || d != floor(d) || fabs(d) > 9007199254740992.0)
        return qd_config_fail(c, key, "must be an integer, got %s", qdi_format_double(num, d));
    if (!rule_holds(rule, d, why, sizeof why))
        return qd_config_fail(c, key, "%s, got %s", why, qdi_format_double(num, d));
    *v = (long)d;
    return QD_OK;
}

int qd_config_bool(qd_config *c, const char *key, int *v)
{
    cJSON *item;
    char shown[80];
    if (c->root->failed)
        return QD_EINVAL;
    item = lookup(c, key);
    if (c->root->failed)
        return QD_EINVAL;
    if (!item) {
        if (!cJSON_AddBoolToObject(c->json, key, *v ? 1 : 0))
            return qd_config_fail(c, key, "could not be set: out of memory");
        return QD_OK;
    }
    if (!cJSON_IsBool(item)) {
        qdi_config_show_value(item, shown, sizeof shown);
        return qd_config_fail(c, key, "must be true or false, got %s", shown);
    }
    *v = cJSON_IsTrue(item) ? 1 : 0;
    return QD_OK;
}

int qd_config_string(qd_config *c, const char *key, const char **v)
{
    cJSON *item;
    char shown[80];
    if (c->root->failed)
        return QD_EINVAL;
    item = lookup(c, key);
    if (c->root->failed)
        return QD_EINVAL;
    if (!item) {
        if (*v && !(item = cJSON_AddStringToObject(c->json, key, *v)))
            return qd_config_fail(c, key, "could not be set: out of memory");
        if (item)
            *v = item->valuestring;
        return QD_OK;
    }
    if (!cJSON_IsString(item)) {
        qdi_config_show_value(item, shown, sizeof shown);
        return qd_config_fail(c, key, "must be a string, got %s", shown);
    }
    *v = item->valuestring;
    return QD_OK;
}

int qd_config_choice(qd_config *c, const char *key, const char *const *choices, int *index)
{
    const char *s = choices[*index];
    char list[256] = "";
    size_t n = 0;
    if (qd_config_string(c, key, &s))
        return QD_EINVAL;
    for (int i = 0; choices[i]; i++) {
        if (strcmp(choices[i], s) == 0) {
            *index = i;
            return QD_OK;
        }
        n += (size_t)snprintf(list + n, n < sizeof list ? sizeof list - n : 0, "%s\"%s\"",
                              i ? ", " : "", choices[i]);
    }
    return qd_config_fail(c, key, "must be one of %s, got \"%s\"", list, s);
}

int qd_config_vector(qd_config *c, const char *key, double *out, size_t n, const char *rule)
{
    cJSON *item, *e;
    char shown[80], why[160], num[32], ek[128];
    size_t i = 0;
    if (c->root->failed)
        return QD_EINVAL;
    item = lookup(c, key);
    if (c->root->failed)
        return QD_EINVAL;
    if (!item) {
        int same = 1;
        for (i = 1; i < n; i++)
            same &= out[i] == out[0];
        if (same)
            item = cJSON_AddNumberToObject(c->json, key, n ? out[0] : 0.0);
        else if ((item = cJSON_CreateDoubleArray(out, (int)n)))
            cJSON_AddItemToObject(c->json, key, item);
        if (!item)
            return qd_config_fail(c, key, "could not be set: out of memory");
        return QD_OK;
    }
    if (cJSON_IsNumber(item)) {
        if (!isfinite(item->valuedouble))
            return qd_config_fail(c, key, "must be finite, got %s", qdi_format_double(num, item->valuedouble));
        if (!rule_holds(rule, item->valuedouble, why, sizeof why))
            return qd_config_fail(c, key, "%s, got %s", why, qdi_format_double(num, item->valuedouble));
        for (i = 0; i < n; i++)
            out[i] = item->valuedouble;
        return QD_OK;
    }
    if (!cJSON_IsArray(item)) {
        qdi_config_show_value(item, shown, sizeof shown);
        return qd_config_fail(c, key, "must be a number or an array of %zu numbers, got %s", n, shown);
    }
    if ((size_t)cJSON_GetArraySize(item) != n)
        return qd_config_fail(c, key, "must have %zu numbers, got %d", n, cJSON_GetArraySize(item));
    i = 0;
    cJSON_ArrayForEach(e, item) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
            qdi_config_show_value(e, shown, sizeof shown);
            return qd_config_fail(c, element_key(key, i, ek, sizeof ek), "must be a finite number, got %s", shown);
        }
        if (!rule_holds(rule, e->valuedouble, why, sizeof why))
            return qd_config_fail(c, element_key(key, i, ek, sizeof ek), "%s, got %s", why,
                                  qdi_format_double(num, e->valuedouble));
        out[i++] = e->valuedouble;
    }
    return QD_OK;
}

static qd_config *child_view(qd_config *c, cJSON *json, const char *path)
{
    qd_config *root = c->root;
    for (size_t i = 0; i < root->nchildren; i++)
        if (root->children[i]->json == json)
            return root->children[i];
    return view_new(root, json, path);
}

int qd_config_object(qd_config *c, const char *key, int required, qd_config **child)
{
    cJSON *item;
    char path[256], shown[80];
    *child = NULL;
    if (c->root->failed)
        return QD_EINVAL;
    item = lookup(c, key);
    if (c->root->failed)
        return QD_EINVAL;
    if (!item) {
        if (required)
            return fail_required(c, key);
        if (!(item = cJSON_AddObjectToObject(c->json, key)))
            return qd_config_fail(c, key, "could not be set: out of memory");
    }
    if (!cJSON_IsObject(item)) {
        qdi_config_show_value(item, shown, sizeof shown);
        return qd_config_fail(c, key, "must be an object, got %s", shown);
    }
    if (!(*child = child_view(c, item, field_path(c, key, path, sizeof path))))
        return qd_config_fail(c, key, "could not be read: out of memory");
    return QD_OK;
}

int qd_config_array_size(qd_config *c, const char *key, int required, size_t *n)
{
    cJSON *item;
    char shown[80];
    *n = 0;
    if (c->root->failed)
        return QD_EINVAL;
    item = lookup(c, key);
    if (c->root->failed)
        return QD_EINVAL;
    if (!item)
        return required ? fail_required(c, key) : QD_OK;
    if (!cJSON_IsArray(item)) {
        qdi_config_show_value(item, shown, sizeof shown);
        return qd_config_fail(c, key, "must be an array, got %s", shown);
    }
    *n = (size_t)cJSON_GetArraySize(item);
    return QD_OK;
}

int qd_config_array_object(qd_config *c, const char *key, size_t i, qd_config **child)
{
    cJSON *arr, *item;
    char path[256], base[256], shown[80];
    *child = NULL;
    if (c->root->failed)
        return QD_EINVAL;
    arr = lookup(c, key);
    if (!arr || !cJSON_IsArray(arr) || i >= (size_t)cJSON_GetArraySize(arr))
        return qd_config_fail(c, key, "has no element %zu", i);
    item = cJSON_GetArrayItem(arr, (int)i);
    snprintf(path, sizeof path, "%s[%zu]", field_path(c, key, base, sizeof base), i);
    if (!cJSON_IsObject(item)) {
        char k[64];
        qdi_config_show_value(item, shown, sizeof shown);
        snprintf(k, sizeof k, "%s[%zu]", key, i);
        return qd_config_fail(c, k, "must be an object, got %s", shown);
    }
    if (!(*child = child_view(c, item, path)))
        return qd_config_fail(c, key, "could not be read: out of memory");
    return QD_OK;
}

int qd_config_check_keys(qd_config *c)
{
    const cJSON *item;
    if (c->root->failed)
        return QD_EINVAL;
    cJSON_ArrayForEach(item, c->json) {
        const char *key = item->string;
        int known = 0;
        for (size_t i = 0; i < c->nknown && !known; i++)
            known = strcmp(c->known[i], key) == 0;
        if (!known) {
            char list[512] = "";
            size_t n = 0;
            for (size_t i = 0; i < c->nknown && n < sizeof list; i++)
                n += (size_t)snprintf(list + n, sizeof list - n, "%s%s", i ? ", " : "", c->known[i]);
            return qd_config_fail(c, key, "is not a known field (known: %s)", c->nknown ? list : "none");
        }
        for (const cJSON *o = item->next; o; o = o->next)
            if (strcmp(o->string, key) == 0)
                return qd_config_fail(c, key, "appears more than once");
    }
    return QD_OK;
}

int qd_config_numbers(qd_config *c, const char *key, int required, double **out, size_t *n, const char *rule)
{
    cJSON *item, *e;
    char shown[80], why[160], num[32], ek[128];
    size_t i = 0;
    *out = NULL;
    *n = 0;
    if (qd_config_array_size(c, key, required, n))
        return QD_EINVAL;
    if (*n == 0) {
        if (qd_config_has(c, key))
            return qd_config_fail(c, key, "must not be empty");
        return QD_OK;
    }
    item = cJSON_GetObjectItemCaseSensitive(c->json, key);
    if (!(*out = malloc(*n * sizeof **out)))
        return qd_config_fail(c, key, "could not be read: out of memory");
    cJSON_ArrayForEach(e, item) {
        if (!cJSON_IsNumber(e) || !isfinite(e->valuedouble)) {
            qdi_config_show_value(e, shown, sizeof shown);
            goto fail_value;
        }
        if (!rule_holds(rule, e->valuedouble, why, sizeof why)) {
            qd_config_fail(c, element_key(key, i, ek, sizeof ek), "%s, got %s", why,
                           qdi_format_double(num, e->valuedouble));
            goto fail;
        }
        (*out)[i++] = e->valuedouble;
    }
    return QD_OK;
fail_value:
    qd_config_fail(c, element_key(key, i, ek, sizeof ek), "must be a finite number, got %s", shown);
fail:
    free(*out);
    *out = NULL;
    *n = 0;
    return QD_EINVAL;
}
