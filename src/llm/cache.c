/* cache.c - the LLM client's record/replay cache: a JSONL file with one
 * line per distinct request, {"key", "endpoint", "request", "reply"}. The
 * request is the exact JSON body the client sends (model, prompt, sampling
 * fields; never the API key, which travels in a header), so the key - a
 * 64-bit FNV-1a hash of endpoint and body, written as 16 hex digits - names
 * a request independently of the server it went to. A hash match is
 * confirmed by comparing the whole body.
 *
 * Recording: the first caller of a request claims it, later identical
 * requests wait for its reply (single flight), so every caller of a run sees
 * the one reply that is written - the run and its replay agree even when the
 * server would have answered the same request differently twice. The reply
 * is kept as the exact text the server sent, a JSON string in the line:
 * cJSON prints numbers with 15 significant digits when that is "close
 * enough", so an object printed again would not read back bit for bit. The file is appended line by line (a log, not
 * rewritten atomically): a line cut short by a crash is skipped on the next
 * load and the file is mended with a newline before new lines go in.
 * Replay: answers only from the file; a miss is the caller's error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "llm_internal.h"

enum { PENDING, DONE };

typedef struct entry {
    uint64_t hash;
    char *endpoint, *body, *reply;
    int state;
    struct entry *next;
} entry;

struct qdi_llm_cache {
    pthread_mutex_t lock;
    pthread_cond_t done;
    entry **buckets;
    size_t nbuckets, count, skipped;
    FILE *fp;
    int replay;
    char *path;
};

static uint64_t fnv1a(const char *endpoint, const char *body)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *p = endpoint; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    h = (h ^ '\n') * 0x100000001b3ULL;
    for (const char *p = body; *p; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ULL;
    return h;
}

void qdi_llm_cache_key(const char *endpoint, const char *body, char out[17])
{
    snprintf(out, 17, "%016llx", (unsigned long long)fnv1a(endpoint, body));
}

static entry **slot_of(qdi_llm_cache *c, uint64_t h, const char *endpoint, const char *body)
{
    entry **e = &c->buckets[h & (c->nbuckets - 1)];
    for (; *e; e = &(*e)->next)
        if ((*e)->hash == h && strcmp((*e)->endpoint, endpoint) == 0 && strcmp((*e)->body, body) == 0)
            return e;
    return e;
}

static void entry_free(entry *e)
{
    free(e->endpoint);
    free(e->body);
    free(e->reply);
    free(e);
}

/* Doubles the table when it is three-quarters full. */
static int grow(qdi_llm_cache *c)
{
    size_t n = c->nbuckets * 2;
    entry **b;
    if (c->count * 4 < c->nbuckets * 3)
        return QD_OK;
    if (!(b = calloc(n, sizeof *b)))
        return QD_ENOMEM;
    for (size_t i = 0; i < c->nbuckets; i++)
        for (entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            e->next = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
        }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = n;
    return QD_OK;
}

/* Adds an entry (endpoint, body, reply copied; reply may be NULL). */
static entry *insert(qdi_llm_cache *c, uint64_t h, const char *endpoint, const char *body, const char *reply,
                     int state)
{
    entry *e;
    if (grow(c) || !(e = calloc(1, sizeof *e)))
        return NULL;
    e->hash = h;
    e->state = state;
    e->endpoint = strdup(endpoint);
    e->body = strdup(body);
    e->reply = reply ? strdup(reply) : NULL;
    if (!e->endpoint || !e->body || (reply && !e->reply)) {
        entry_free(e);
        return NULL;
    }
    e->next = c->buckets[h & (c->nbuckets - 1)];
    c->buckets[h & (c->nbuckets - 1)] = e;
    c->count++;
    return e;
}

/* Reads one line into the table; QD_EFORMAT when it is not a cache line. */
static int load_line(qdi_llm_cache *c, const char *line)
{
    cJSON *doc = cJSON_Parse(line);
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(doc, "endpoint");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(doc, "request");
    const cJSON *rep = cJSON_GetObjectItemCaseSensitive(doc, "reply");
    char *body = NULL, *reply = NULL;
    int rc = QD_EFORMAT;
    if (cJSON_IsString(ep) && cJSON_IsObject(req) && cJSON_IsString(rep)) {
        body = cJSON_PrintUnformatted(req);
        reply = strdup(rep->valuestring);
        rc = QD_ENOMEM;
        if (body && reply) {
            uint64_t h = fnv1a(ep->valuestring, body);
            rc = QD_OK;
            /* the first recording of a request wins */
            if (!*slot_of(c, h, ep->valuestring, body) && !insert(c, h, ep->valuestring, body, reply, DONE))
                rc = QD_ENOMEM;
        }
    }
    free(body);
    free(reply);
    cJSON_Delete(doc);
    return rc;
}

static int load(qdi_llm_cache *c, FILE *fp, int *ends_in_newline, char *err, size_t errlen)
{
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    *ends_in_newline = 1;
    while ((n = getline(&line, &cap, fp)) > 0) {
        *ends_in_newline = line[n - 1] == '\n';
        if (n == 1 && line[0] == '\n')
            continue;
        int rc = load_line(c, line);
        if (rc == QD_ENOMEM) {
            free(line);
            qdi_set_error(err, errlen, "%s: out of memory while loading", c->path);
            return rc;
        }
        if (rc)
            c->skipped++;
    }
    free(line);
    return QD_OK;
}

int qdi_llm_cache_open(const char *path, int replay, qdi_llm_cache **out, char *err, size_t errlen)
{
    qdi_llm_cache *c = calloc(1, sizeof *c);
    FILE *fp;
    int ends_in_newline = 1, rc;
    *out = NULL;
    if (c) {
        pthread_mutex_init(&c->lock, NULL);
        pthread_cond_init(&c->done, NULL);
    }
    if (!c || !(c->path = strdup(path)) || !(c->buckets = calloc(c->nbuckets = 256, sizeof *c->buckets))) {
        qdi_llm_cache_free(c);
        qdi_set_error(err, errlen, "%s: out of memory", path);
        return QD_ENOMEM;
    }
    c->replay = replay;
    fp = fopen(path, "r");
    if (!fp && (replay || errno != ENOENT)) {
        qdi_set_error(err, errlen, "cannot read %s: %s%s", path, strerror(errno),
                      replay ? " (replay answers only from a recorded cache)" : "");
        qdi_llm_cache_free(c);
        return QD_EIO;
    }
    if (fp) {
        rc = load(c, fp, &ends_in_newline, err, errlen);
        fclose(fp);
        if (rc) {
            qdi_llm_cache_free(c);
            return rc;
        }
        if (c->skipped)
            qdi_log("llm.cache: skipped %zu unreadable line%s of %s (a run cut off while writing?)", c->skipped,
                    c->skipped == 1 ? "" : "s", path);
    }
    if (!replay) {
        if (!(c->fp = fopen(path, "a"))) {
            qdi_set_error(err, errlen, "cannot write %s: %s", path, strerror(errno));
            qdi_llm_cache_free(c);
            return QD_EIO;
        }
        if (!ends_in_newline) /* mend a line cut short */
            fputc('\n', c->fp);
    }
    *out = c;
    return QD_OK;
}

void qdi_llm_cache_free(qdi_llm_cache *c)
{
    if (!c)
        return;
    if (c->fp)
        fclose(c->fp);
    for (size_t i = 0; c->buckets && i < c->nbuckets; i++)
        for (entry *e = c->buckets[i], *next; e; e = next) {
            next = e->next;
            entry_free(e);
        }
    free(c->buckets);
    pthread_mutex_destroy(&c->lock);
    pthread_cond_destroy(&c->done);
    free(c->path);
    free(c);
}

int qdi_llm_cache_lookup(qdi_llm_cache *c, const char *endpoint, const char *body, char **reply)
{
    uint64_t h = fnv1a(endpoint, body);
    int rc;
    *reply = NULL;
    pthread_mutex_lock(&c->lock);
    for (;;) {
        entry *e = *slot_of(c, h, endpoint, body);
        if (e && e->state == DONE) {
            rc = (*reply = strdup(e->reply)) ? QDI_CACHE_HIT : QD_ENOMEM;
            break;
        }
        if (e) { /* another thread is asking the server */
            pthread_cond_wait(&c->done, &c->lock);
            continue;
        }
        if (c->replay) {
            rc = QDI_CACHE_MISS;
            break;
        }
        rc = insert(c, h, endpoint, body, NULL, PENDING) ? QDI_CACHE_CLAIMED : QD_ENOMEM;
        break;
    }
    pthread_mutex_unlock(&c->lock);
    return rc;
}

int qdi_llm_cache_store(qdi_llm_cache *c, const char *endpoint, const char *body, const char *reply)
{
    uint64_t h = fnv1a(endpoint, body);
    cJSON *line = cJSON_CreateObject(), *req = cJSON_Parse(body);
    char key[17], *text = NULL, *canon = strdup(reply);
    int rc = QD_ENOMEM;
    qdi_llm_cache_key(endpoint, body, key);
    if (line && req && canon) {
        cJSON_AddStringToObject(line, "key", key);
        cJSON_AddStringToObject(line, "endpoint", endpoint);
        cJSON_AddItemToObject(line, "request", req);
        req = NULL;
        cJSON_AddStringToObject(line, "reply", reply);
        text = cJSON_PrintUnformatted(line);
    }
    pthread_mutex_lock(&c->lock);
    entry *e = *slot_of(c, h, endpoint, body);
    if (e && text && canon) {
        free(e->reply);
        e->reply = canon;
        canon = NULL;
        e->state = DONE;
        rc = QD_OK;
        if (c->fp && (fprintf(c->fp, "%s\n", text) < 0 || fflush(c->fp) != 0))
            rc = QD_EIO;
    } else if (e) { /* could not record: give the claim up */
        *slot_of(c, h, endpoint, body) = e->next;
        entry_free(e);
        c->count--;
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
    free(text);
    free(canon);
    cJSON_Delete(line);
    cJSON_Delete(req);
    return rc;
}

void qdi_llm_cache_release(qdi_llm_cache *c, const char *endpoint, const char *body)
{
    uint64_t h = fnv1a(endpoint, body);
    pthread_mutex_lock(&c->lock);
    entry **slot = slot_of(c, h, endpoint, body);
    if (*slot && (*slot)->state == PENDING) {
        entry *e = *slot;
        *slot = e->next;
        entry_free(e);
        c->count--;
    }
    pthread_cond_broadcast(&c->done);
    pthread_mutex_unlock(&c->lock);
}

size_t qdi_llm_cache_entries(const qdi_llm_cache *c)
{
    return c->count;
}

size_t qdi_llm_cache_skipped(const qdi_llm_cache *c)
{
    return c->skipped;
}
