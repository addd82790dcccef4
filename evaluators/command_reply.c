/* command_reply.c - reads the reply of the "command" evaluator's program:
 * one JSON object, {"objective": 93.1, "measures": [0.2, 1.7], "meta": {...}}
 * or {"error": "why"}, optionally with the request's "id". Python's bare NaN,
 * Infinity and -Infinity are accepted (and then refused as non-finite where
 * a finite number is needed); in fork mode a reply that is not JSON is read
 * from its last non-empty line, so a program may print progress first.
 * Apart from the process handling in command.c so that it can be tested and
 * fuzzed alone (tests/fuzz/fuzz_command_reply.c).
 */
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "evaluators/command.h"

/* Where a failure's reason goes, and whether the process's stderr tail
 * should follow it. */
typedef struct reason {
    char *err;
    size_t errlen;
    int with_tail;
} reason;

static int fail(reason *why, int with_tail, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(reason *why, int with_tail, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    qdi_vset_error(why->err, why->errlen, fmt, ap);
    va_end(ap);
    why->with_tail = with_tail;
    return QD_EEVAL;
}

/* Copies s with the bare NaN, Infinity and -Infinity tokens that Python's
 * json module writes (not JSON) turned into strings cJSON can read. */
static char *quote_nonfinite(const char *s)
{
    static const char *const tokens[] = {"-Infinity", "Infinity", "NaN"};
    size_t n = strlen(s), k = 0;
    char *out = malloc(2 * n + 1);
    int in_string = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < n;) {
        if (in_string) {
            if (s[i] == '\\' && i + 1 < n)
                out[k++] = s[i++];
            else if (s[i] == '"')
                in_string = 0;
            out[k++] = s[i++];
            continue;
        }
        if (s[i] == '"')
            in_string = 1;
        size_t t;
        for (t = 0; t < QDI_ARRAY_LEN(tokens); t++) {
            size_t tl = strlen(tokens[t]);
            if (strncmp(s + i, tokens[t], tl) == 0) {
                out[k++] = '"';
                memcpy(out + k, tokens[t], tl);
                k += tl;
                out[k++] = '"';
                i += tl;
                break;
            }
        }
        if (t == QDI_ARRAY_LEN(tokens))
            out[k++] = s[i++];
    }
    out[k] = '\0';
    return out;
}

static cJSON *parse_json(const char *text)
{
    const char *end;
    /* invalid UTF-8 from the program becomes U+FFFD (its texts go into JSON files) */
    char *fixed = qdi_utf8_valid(text, NULL) ? NULL : qdi_utf8_fix(text), *q;
    const char *s = fixed ? fixed : text;
    cJSON *j = cJSON_ParseWithOpts(s, &end, 1);
    if (j || (!strstr(s, "NaN") && !strstr(s, "Infinity"))) {
        free(fixed);
        return j;
    }
    q = quote_nonfinite(s);
    free(fixed);
    if (!q)
        return NULL;
    j = cJSON_ParseWithOpts(q, &end, 1);
    free(q);
    return j;
}

/* Parses a reply: the whole text, or (fork mode, when that is not JSON)
 * its last non-empty line, so that a program may print progress first. */
static cJSON *parse_reply_text(const char *text, int last_line)
{
    cJSON *j = parse_json(text);
    const char *end, *line;
    if (j || !last_line)
        return j;
    end = text + strlen(text);
    while (end > text && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    for (line = end; line > text && line[-1] != '\n'; line--)
        ;
    if (line == text)
        return NULL;
    return parse_json(line);
}

enum { NUM_OK, NUM_MISSING, NUM_NULL, NUM_NOT_NUMBER };

/* A reply number: a JSON number, or NaN / Infinity / -Infinity (bare, as
 * Python writes them, or as the strings "nan", "inf", "-inf"). */
static int reply_number(const cJSON *item, double *v)
{
    static const char *const names[] = {"NaN", "nan", "Infinity", "inf", "-Infinity", "-inf"};
    static const double values[] = {NAN, NAN, INFINITY, INFINITY, -INFINITY, -INFINITY};
    if (!item)
        return NUM_MISSING;
    if (cJSON_IsNull(item))
        return NUM_NULL;
    if (cJSON_IsNumber(item)) {
        *v = item->valuedouble;
        return NUM_OK;
    }
    if (cJSON_IsString(item))
        for (size_t i = 0; i < QDI_ARRAY_LEN(names); i++)
            if (strcmp(item->valuestring, names[i]) == 0) {
                *v = values[i];
                return NUM_OK;
            }
    return NUM_NOT_NUMBER;
}

/* Shows the start of a text on one line, quoted, for a message. */
static void snippet(const char *s, char *buf, size_t len)
{
    size_t k = 0, i = 0, n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == '\t'))
        n--;
    while (i < n && (s[i] == ' ' || s[i] == '\n' || s[i] == '\r' || s[i] == '\t'))
        i++;
    buf[k++] = '"';
    for (; i < n && k + 5 < len && k < 80; i++)
        buf[k++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
    if (i < n && k + 4 < len) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k++] = '"';
    buf[k] = '\0';
}

/* Reads the objective, measures and meta of a reply object into sol. */
static int read_values(const cJSON *j, qd_solution *sol, reason *why)
{
    const cJSON *item, *e;
    double v = 0.0;
    size_t i = 0;
    char *meta;
    int kind = reply_number(cJSON_GetObjectItemCaseSensitive(j, "objective"), &v);
    if (kind == NUM_MISSING)
        return fail(why, 0, "command: reply has no \"objective\"");
    if (kind == NUM_NULL)
        return fail(why, 0, "command: objective is null");
    if (kind == NUM_NOT_NUMBER)
        return fail(why, 0, "command: \"objective\" is not a number");
    if (!isfinite(v))
        return fail(why, 0, "command: objective is %s", isnan(v) ? "NaN" : "infinite");
    sol->objective = v;
    if (!(item = cJSON_GetObjectItemCaseSensitive(j, "measures")))
        return fail(why, 0, "command: reply has no \"measures\"");
    if (!cJSON_IsArray(item))
        return fail(why, 0, "command: \"measures\" is not an array");
    if ((size_t)cJSON_GetArraySize(item) != sol->m)
        return fail(why, 0, "command: \"measures\" must be an array of %zu numbers, got %d", sol->m,
                    cJSON_GetArraySize(item));
    cJSON_ArrayForEach(e, item) {
        kind = reply_number(e, &v);
        if (kind == NUM_NULL)
            return fail(why, 0, "command: measures[%zu] is null", i);
        if (kind != NUM_OK)
            return fail(why, 0, "command: measures[%zu] is not a number", i);
        if (!isfinite(v))
            return fail(why, 0, "command: measures[%zu] is %s", i, isnan(v) ? "NaN" : "infinite");
        sol->measures[i++] = v;
    }
    item = cJSON_GetObjectItemCaseSensitive(j, "meta");
    if (!item || cJSON_IsNull(item))
        return QD_OK;
    if (!cJSON_IsObject(item))
        return fail(why, 0, "command: \"meta\" is not an object");
    meta = cJSON_PrintUnformatted(item);
    kind = meta && qd_solution_set_meta(sol, meta) == QD_OK;
    free(meta);
    return kind ? QD_OK : fail(why, 0, "command: out of memory");
}

int qdi_command_read_reply(const char *text, int last_line, uint64_t id, qd_solution *sol, char *err, size_t errlen,
                           int *protocol, int *with_tail)
{
    cJSON *j = parse_reply_text(text, last_line);
    const cJSON *item;
    char show[120];
    reason r = {err, errlen, 0}, *why = &r;
    int rc;
    *protocol = 1;
    *with_tail = 0;
    if (!j) {
        snippet(text, show, sizeof show);
        if (strlen(show) == 2)
            return fail(why, 1, "command: no reply on stdout");
        return fail(why, 1, "command: bad JSON on stdout: %s", show);
    }
    item = cJSON_GetObjectItemCaseSensitive(j, "id");
    if (!cJSON_IsObject(j)) {
        rc = fail(why, 1, "command: reply is not a JSON object");
    } else if (item && !(cJSON_IsNumber(item) && item->valuedouble == (double)id)) {
        rc = fail(why, 1, "command: reply's \"id\" is not the request's (one reply per request line, in order)");
    } else {
        *protocol = 0;
        item = cJSON_GetObjectItemCaseSensitive(j, "error");
        if (item && !cJSON_IsNull(item))
            rc = fail(why, 0, "command: program reported: %s",
                      cJSON_IsString(item) ? item->valuestring : "(\"error\" is not a string)");
        else
            rc = read_values(j, sol, why);
    }
    cJSON_Delete(j);
    *with_tail = r.with_tail;
    return rc;
}

