/* llm.c - the LLM client: OpenAI-compatible completions, chat completions
 * and embeddings over libcurl, for the LLM mutator and the AI-feedback
 * evaluator (QDAIF, Bradley et al. 2023) and anything else that needs a
 * language model.
 *
 * One qd_llm per search holds the configuration, a curl share (DNS cache and
 * TLS sessions) and the run's accounting; each worker thread talks through
 * its own qd_llm_session, a curl easy handle that keeps its connections
 * alive between requests. Connections themselves are not shared: libcurl's
 * shared connection cache (CURL_LOCK_DATA_CONNECT) is not safe with handles
 * running in several threads at once (curl issues #4544, #13840; valgrind
 * caught an invalid write in it here with 8 workers). A call builds
 * the JSON body, asks the record/replay cache (cache.c), and otherwise
 * POSTs to the next base URL in round-robin order, skipping one that failed
 * fail_after times in a row for skip_seconds. Connect errors, timeouts,
 * dropped connections, 429, 408 and 5xx replies and replies that do not
 * parse are retried with exponential backoff and jitter (a 429 or 503
 * Retry-After is honoured, up to retry_after_max); other 4xx fail at once.
 * The API key is read from the environment variable the config names; it
 * goes into one request header and nowhere else, and any text a server
 * sends back is scrubbed of it before it reaches an error message.
 */
#include <curl/curl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "config.h"
#include "llm_internal.h"

typedef struct url_state {
    char *base;              /* ".../v1", no trailing slash */
    unsigned failures_in_row;
    double down_until;       /* skipped until then (llm clock) */
    uint64_t requests, failures;
} url_state;

struct qd_llm {
    /* configuration */
    url_state *urls;
    size_t nurls;
    char *model, *embedding_model, *key_env, *key;
    double temperature;      /* < 0: not sent */
    long max_tokens;
    char **stop;             /* NULL-terminated, NULL: none */
    int has_seed;
    long seed;
    double timeout, connect_timeout, backoff, backoff_max, jitter, retry_after_max, skip_seconds;
    long retries, max_in_flight, fail_after;
    size_t max_reply;
    long context_tokens;     /* per request: configured, or learned (under lock) */
    int context_set;         /* configured: never replaced by a learned value */
    int context_asked;       /* /props: 0 not asked, 1 being asked, 2 answered (under lock) */
    pthread_cond_t context_known; /* signalled when /props has answered */
    double tokens_per_char;  /* the largest prompt_tokens / prompt length seen */
    uint64_t run_seed;
    int replay, probe;
    qdi_llm_cache *cache;
    /* shared state */
    CURLSH *share;           /* DNS and TLS sessions */
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t lock;    /* urls, round robin, accounting */
    pthread_cond_t slot_free;
    long in_flight;
    size_t next_url;
    qd_llm_stats st;
    double *latency;
    size_t nlatency, caplatency;
    double (*now)(void *);
    void (*sleep)(void *, double);
    void *clock_ctx;
};

struct qd_llm_session {
    qd_llm *llm;
    CURL *curl;
    struct curl_slist *headers;
    char *buf;               /* the reply body */
    size_t len, cap;
    int too_large;
    uint64_t rng;            /* jitter */
    char *url;               /* scratch for base + path */
    double deadline;         /* monotonic time the current job must end by (0: none) */
    int cancelled;           /* atomic: the job was given up; requests end */
    unsigned sent;           /* requests put on the wire in this attempt (libcurl may resend) */
    char error[512];
};

/* ---- clock ------------------------------------------------------------- */

void qd_llm_session_set_deadline(qd_llm_session *s, double deadline)
{
    if (s)
        s->deadline = deadline;
}

void qd_llm_session_cancel(qd_llm_session *s)
{
    if (s)
        __atomic_store_n(&s->cancelled, 1, __ATOMIC_SEQ_CST);
}

/* libcurl's progress callback (about once a second, and on every chunk):
 * a non-zero return aborts the transfer of a cancelled session. */
static int progress_cb(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return __atomic_load_n(&((qd_llm_session *)data)->cancelled, __ATOMIC_SEQ_CST);
}

static double real_now(void *ctx)
{
    (void)ctx;
    return qdi_now();
}

static void real_sleep(void *ctx, double seconds)
{
    struct timespec t;
    (void)ctx;
    if (!(seconds > 0))
        return;
    t.tv_sec = (time_t)seconds;
    t.tv_nsec = (long)((seconds - (double)t.tv_sec) * 1e9);
    while (nanosleep(&t, &t) != 0)
        ;
}

void qdi_llm_set_clock(qd_llm *llm, double (*now)(void *), void (*sleep)(void *, double), void *ctx)
{
    llm->now = now ? now : real_now;
    llm->sleep = sleep ? sleep : real_sleep;
    llm->clock_ctx = ctx;
}

/* ---- configuration ----------------------------------------------------- */

/* "http://host:port" gets "/v1"; a trailing "/" goes. */
static char *base_url(const char *url)
{
    size_t n = strlen(url);
    const char *scheme = strstr(url, "://");
    char *out;
    while (n > 0 && url[n - 1] == '/')
        n--;
    int add_v1 = scheme && !memchr(scheme + 3, '/', n - (size_t)(scheme + 3 - url));
    if (!(out = malloc(n + 4)))
        return NULL;
    memcpy(out, url, n);
    strcpy(out + n, add_v1 ? "/v1" : "");
    return out;
}

static int read_urls(qd_llm *llm, qd_config *cfg)
{
    char **list;
    size_t n;
    const char *env = getenv("ELITES_LLM_URL");
    if (!qd_config_has(cfg, "url") && env && *env)
        cJSON_AddStringToObject(qd_config_json(cfg), "url", env);
    if (qdi_config_strings(cfg, "url", 0, 1, &list, &n))
        return QD_EINVAL;
    if (!list) {
        if (llm->replay)
            return QD_OK;
        return qd_config_fail(cfg, "url", "is required (the server's base URL, e.g. \"http://127.0.0.1:8080/v1\"; "
                                          "or set ELITES_LLM_URL)");
    }
    for (size_t i = 0; i < n; i++) {
        char shown[512];
        qdi_redact_url(shown, sizeof shown, list[i]);
        if (strncmp(list[i], "http://", 7) != 0 && strncmp(list[i], "https://", 8) != 0) {
            qd_config_fail(cfg, "url", "must start with http:// or https://, got \"%s\"", shown);
            qdi_strings_free(list);
            return QD_EINVAL;
        }
        /* a checkpoint's config keeps no password: ask for the URL again */
        if (strstr(list[i], "://[redacted]@")) {
            qd_config_fail(cfg, "url", "is \"%s\": its credentials are not saved; give the URL again "
                           "(--set llm.url=URL)", shown);
            qdi_strings_free(list);
            return QD_EINVAL;
        }
    }
    llm->urls = calloc(n, sizeof *llm->urls);
    for (size_t i = 0; llm->urls && i < n; i++)
        if (!(llm->urls[llm->nurls++].base = base_url(list[i])))
            break;
    qdi_strings_free(list);
    if (!llm->urls || !llm->urls[n - 1].base)
        return qd_config_fail(cfg, "url", "could not be read: out of memory");
    return QD_OK;
}

static int read_config(qd_llm *llm, qd_config *cfg)
{
    const char *model = getenv("ELITES_LLM_MODEL"), *emodel = NULL, *key_env = "OPENAI_API_KEY", *cache = NULL;
    long seed = 0;
    size_t nstop;
    llm->temperature = -1;
    llm->max_tokens = 256;
    llm->timeout = 120;
    llm->connect_timeout = 10;
    llm->retries = 5;
    llm->backoff = 0.5;
    llm->backoff_max = 30;
    llm->jitter = 0.5;
    llm->retry_after_max = 60;
    llm->max_reply = 8 << 20;
    llm->fail_after = 3;
    llm->skip_seconds = 30;
    double max_reply = (double)llm->max_reply;
    if (model && !*model)
        model = NULL;
    if (qd_config_has(cfg, "api_key"))
        return qd_config_fail(cfg, "api_key", "is not read from configs (they are saved with the results): put the "
                                              "key in an environment variable and name it in llm.api_key_env");
    llm->probe = 1;
    if (qd_config_bool(cfg, "replay", &llm->replay) || qd_config_bool(cfg, "probe", &llm->probe) || qd_config_string(cfg, "cache", &cache) ||
        qd_config_string(cfg, "model", &model) || qd_config_string(cfg, "api_key_env", &key_env) ||
        read_urls(llm, cfg) ||
        (qd_config_has(cfg, "temperature") && qd_config_number(cfg, "temperature", &llm->temperature, ">= 0 <= 2")) ||
        qd_config_int(cfg, "max_tokens", &llm->max_tokens, ">= 1") ||
        qdi_config_strings(cfg, "stop", 0, 0, &llm->stop, &nstop) ||
        (qd_config_has(cfg, "seed") && qd_config_int(cfg, "seed", &seed, ">= 0")) ||
        qd_config_number(cfg, "timeout", &llm->timeout, "> 0") ||
        qd_config_number(cfg, "connect_timeout", &llm->connect_timeout, "> 0") ||
        qd_config_int(cfg, "retries", &llm->retries, ">= 0 <= 100") ||
        qd_config_number(cfg, "backoff", &llm->backoff, ">= 0") ||
        qd_config_number(cfg, "backoff_max", &llm->backoff_max, ">= 0") ||
        qd_config_number(cfg, "jitter", &llm->jitter, ">= 0 <= 1") ||
        qd_config_number(cfg, "retry_after_max", &llm->retry_after_max, ">= 0") ||
        qd_config_int(cfg, "max_in_flight", &llm->max_in_flight, ">= 0") ||
        qd_config_number(cfg, "max_reply_bytes", &max_reply, ">= 1024") ||
        qd_config_int(cfg, "fail_after", &llm->fail_after, ">= 1") ||
        qd_config_number(cfg, "skip_seconds", &llm->skip_seconds, ">= 0") ||
        qd_config_int(cfg, "context_tokens", &llm->context_tokens, ">= 0"))
        return QD_EINVAL;
    if (!model)
        return qd_config_fail(cfg, "model", "is required (the model name the server expects; or set ELITES_LLM_MODEL)");
    emodel = model;
    if (qd_config_string(cfg, "embedding_model", &emodel) || qd_config_check_keys(cfg))
        return QD_EINVAL;
    if (llm->replay && !cache)
        return qd_config_fail(cfg, "replay", "needs llm.cache, the recorded file to answer from");
    llm->context_set = llm->context_tokens > 0;
    llm->has_seed = qd_config_has(cfg, "seed");
    llm->seed = seed;
    llm->max_reply = (size_t)max_reply;
    if (!(llm->model = strdup(model)) || !(llm->embedding_model = strdup(emodel)) ||
        !(llm->key_env = strdup(key_env)))
        return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    if (cache) {
        char err[512];
        if (qdi_llm_cache_open(cache, llm->replay, &llm->cache, err, sizeof err))
            return qd_config_fail(cfg, "cache", "%s", err);
    }
    return QD_OK;
}

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ctx)
{
    (void)h;
    (void)access;
    pthread_mutex_lock(&((qd_llm *)ctx)->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *ctx)
{
    (void)h;
    pthread_mutex_unlock(&((qd_llm *)ctx)->share_locks[data]);
}

int qd_llm_new(qd_config *cfg, uint64_t seed, qd_llm **out)
{
    qd_llm *llm;
    const char *key;
    *out = NULL;
    if (qd_global_init() != QD_OK)
        return qd_config_fail(cfg, NULL, "could not initialise libcurl");
    if (!(llm = calloc(1, sizeof *llm)))
        return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    pthread_mutex_init(&llm->lock, NULL);
    pthread_cond_init(&llm->slot_free, NULL);
    pthread_cond_init(&llm->context_known, NULL);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&llm->share_locks[i], NULL);
    qdi_llm_set_clock(llm, NULL, NULL, NULL);
    llm->run_seed = seed;
    if (read_config(llm, cfg))
        goto fail;
    key = getenv(llm->key_env);
    if (key && *key && !(llm->key = strdup(key))) {
        qd_config_fail(cfg, "api_key_env", "could not be read: out of memory");
        goto fail;
    }
    if (!(llm->share = curl_share_init()) ||
        curl_share_setopt(llm->share, CURLSHOPT_LOCKFUNC, share_lock) != CURLSHE_OK ||
        curl_share_setopt(llm->share, CURLSHOPT_UNLOCKFUNC, share_unlock) != CURLSHE_OK ||
        curl_share_setopt(llm->share, CURLSHOPT_USERDATA, llm) != CURLSHE_OK ||
        curl_share_setopt(llm->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK ||
        curl_share_setopt(llm->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK) {
        qd_config_fail(cfg, NULL, "could not set up libcurl's shared DNS cache");
        goto fail;
    }
    for (int k = 0; k < QD_LLM_ERR_KINDS; k++)
        llm->st.errors[k] = 0;
    *out = llm;
    return QD_OK;
fail:
    qd_llm_free(llm);
    return QD_EINVAL;
}

/* Overwrites a secret before its memory is freed. */
static void wipe(char *s)
{
    if (s)
        for (volatile char *p = s; *p; p++)
            *p = 0;
}

void qd_llm_free(qd_llm *llm)
{
    if (!llm)
        return;
    if (llm->share)
        curl_share_cleanup(llm->share);
    qdi_llm_cache_free(llm->cache);
    for (size_t i = 0; i < llm->nurls; i++)
        free(llm->urls[i].base);
    free(llm->urls);
    free(llm->model);
    free(llm->embedding_model);
    free(llm->key_env);
    wipe(llm->key);
    free(llm->key);
    qdi_strings_free(llm->stop);
    free(llm->latency);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&llm->share_locks[i]);
    pthread_mutex_destroy(&llm->lock);
    pthread_cond_destroy(&llm->slot_free);
    pthread_cond_destroy(&llm->context_known);
    free(llm);
}

/* ---- sessions ---------------------------------------------------------- */

/* Called by libcurl before each request it sends, also when it sends one
 * again on its own over a fresh connection because the reused one had
 * died: the attempts the server sees, counted honestly. */
static int on_prereq(void *ctx, char *primary_ip, char *local_ip, int primary_port, int local_port)
{
    (void)primary_ip;
    (void)local_ip;
    (void)primary_port;
    (void)local_port;
    ((qd_llm_session *)ctx)->sent++;
    return CURL_PREREQFUNC_OK;
}

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
    qd_llm_session *s = ctx;
    size_t len = size * n;
    if (s->len + len > s->llm->max_reply) {
        s->too_large = 1;
        return 0; /* curl stops with CURLE_WRITE_ERROR */
    }
    if (s->len + len + 1 > s->cap) {
        size_t cap = s->cap ? s->cap : 16384;
        while (cap < s->len + len + 1)
            cap *= 2;
        char *b = realloc(s->buf, cap);
        if (!b)
            return 0;
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, data, len);
    s->len += len;
    s->buf[s->len] = '\0';
    return len;
}

static uint64_t splitmix(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

int qd_llm_session_new(qd_llm *llm, unsigned id, qd_llm_session **out)
{
    qd_llm_session *s = calloc(1, sizeof *s);
    size_t longest = 0;
    *out = NULL;
    if (!s)
        return QD_ENOMEM;
    s->llm = llm;
    s->rng = qdi_seed_mix(llm->run_seed, ((uint64_t)3 << 32) + id); /* a stream of its own */
    for (size_t i = 0; i < llm->nurls; i++)
        if (strlen(llm->urls[i].base) > longest)
            longest = strlen(llm->urls[i].base);
    if (!(s->url = malloc(longest + 64)) || !(s->curl = curl_easy_init()))
        goto fail;
    s->headers = curl_slist_append(NULL, "Content-Type: application/json");
    if (s->headers) /* no "Expect: 100-continue" round trip before large bodies */
        s->headers = curl_slist_append(s->headers, "Expect:");
    if (s->headers && llm->key) {
        size_t n = strlen(llm->key) + 32;
        char *h = malloc(n);
        struct curl_slist *l = NULL;
        if (h) {
            snprintf(h, n, "Authorization: Bearer %s", llm->key);
            l = curl_slist_append(s->headers, h);
            wipe(h);
            free(h);
        }
        if (!l) {
            curl_slist_free_all(s->headers);
            s->headers = NULL;
        } else {
            s->headers = l;
        }
    }
    if (!s->headers)
        goto fail;
    curl_easy_setopt(s->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(s->curl, CURLOPT_SHARE, llm->share);
    curl_easy_setopt(s->curl, CURLOPT_HTTPHEADER, s->headers);
    curl_easy_setopt(s->curl, CURLOPT_POST, 1L);
    curl_easy_setopt(s->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(s->curl, CURLOPT_WRITEDATA, s);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)(llm->timeout * 1000.0));
    curl_easy_setopt(s->curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(llm->connect_timeout * 1000.0));
    curl_easy_setopt(s->curl, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(s->curl, CURLOPT_XFERINFOFUNCTION, progress_cb);
    curl_easy_setopt(s->curl, CURLOPT_XFERINFODATA, s);
    curl_easy_setopt(s->curl, CURLOPT_PREREQFUNCTION, on_prereq);
    curl_easy_setopt(s->curl, CURLOPT_PREREQDATA, s);
    curl_easy_setopt(s->curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(s->curl, CURLOPT_USERAGENT, "elites/" PACKAGE_VERSION);
    if (!getenv("no_proxy") && !getenv("NO_PROXY")) /* a proxy never sees local servers */
        curl_easy_setopt(s->curl, CURLOPT_NOPROXY, "localhost,127.0.0.1,::1");
    *out = s;
    return QD_OK;
fail:
    qd_llm_session_free(s);
    return QD_ENOMEM;
}

void qd_llm_session_free(qd_llm_session *s)
{
    if (!s)
        return;
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->headers) {
        for (struct curl_slist *l = s->headers; l; l = l->next)
            wipe(l->data);
        curl_slist_free_all(s->headers);
    }
    free(s->buf);
    free(s->url);
    free(s);
}

const char *qd_llm_session_error(const qd_llm_session *s)
{
    return s->error;
}

/* ---- accounting -------------------------------------------------------- */

void qd_llm_count_label_score(qd_llm *llm, size_t bounded)
{
    pthread_mutex_lock(&llm->lock);
    llm->st.label_scores++;
    llm->st.label_bounded += bounded > 0;
    pthread_mutex_unlock(&llm->lock);
}

const char *qd_llm_error_kind_name(int kind)
{
    static const char *const names[QD_LLM_ERR_KINDS] = {
        "connect", "timeout", "dropped", "http_429", "http_5xx", "http_4xx", "bad_reply", "too_large",
        "replay_miss", "other", "context",
    };
    return kind >= 0 && kind < QD_LLM_ERR_KINDS ? names[kind] : "unknown";
}

static void add_latency(qd_llm *llm, double seconds)
{
    if (llm->nlatency == llm->caplatency) {
        size_t cap = llm->caplatency ? 2 * llm->caplatency : 1024;
        double *v = realloc(llm->latency, cap * sizeof *v);
        if (!v)
            return; /* the accounting loses one sample, the run goes on */
        llm->latency = v;
        llm->caplatency = cap;
    }
    llm->latency[llm->nlatency++] = seconds;
}

void qd_llm_stats_get(const qd_llm *llm, qd_llm_stats *st)
{
    qd_llm *l = (qd_llm *)llm; /* the lock is not part of the value */
    double *copy = NULL, sum = 0;
    size_t n;
    pthread_mutex_lock(&l->lock);
    *st = l->st;
    st->context_tokens = l->context_tokens;
    n = l->nlatency;
    if (n && (copy = malloc(n * sizeof *copy)))
        memcpy(copy, l->latency, n * sizeof *copy);
    pthread_mutex_unlock(&l->lock);
    st->latency_mean = st->latency_p95 = NAN;
    if (copy) {
        for (size_t i = 0; i < n; i++)
            sum += copy[i];
        st->latency_mean = sum / (double)n;
        st->latency_p95 = qdi_llm_quantile(copy, n, 0.95);
        free(copy);
    }
}

int qd_llm_stats_json(const qd_llm *llm, cJSON *out)
{
    qd_llm_stats st;
    cJSON *errors, *urls;
    qd_llm_stats_get(llm, &st);
    cJSON_AddNumberToObject(out, "calls", (double)st.calls);
    cJSON_AddNumberToObject(out, "requests", (double)st.requests);
    cJSON_AddNumberToObject(out, "retries", (double)st.retries);
    cJSON_AddNumberToObject(out, "resent_by_libcurl", (double)st.resent);
    cJSON_AddNumberToObject(out, "failures", (double)st.failures);
    cJSON_AddNumberToObject(out, "cache_hits", (double)st.cache_hits);
    cJSON_AddNumberToObject(out, "prompt_tokens", (double)st.prompt_tokens);
    cJSON_AddNumberToObject(out, "completion_tokens", (double)st.completion_tokens);
    cJSON_AddNumberToObject(out, "replies_without_usage", (double)st.no_usage);
    cJSON_AddNumberToObject(out, "label_scores", (double)st.label_scores);
    cJSON_AddNumberToObject(out, "label_scores_bounded", (double)st.label_bounded);
    cJSON_AddNumberToObject(out, "generations", (double)st.generations);
    cJSON_AddNumberToObject(out, "truncated_replies", (double)st.truncated);
    if (st.context_tokens > 0)
        cJSON_AddNumberToObject(out, "context_tokens", (double)st.context_tokens);
    else
        cJSON_AddNullToObject(out, "context_tokens");
    if (isnan(st.latency_mean)) {
        cJSON_AddNullToObject(out, "latency_mean");
        cJSON_AddNullToObject(out, "latency_p95");
    } else {
        cJSON_AddNumberToObject(out, "latency_mean", st.latency_mean);
        cJSON_AddNumberToObject(out, "latency_p95", st.latency_p95);
    }
    if (!(errors = cJSON_AddObjectToObject(out, "errors")) || !(urls = cJSON_AddArrayToObject(out, "urls")))
        return QD_ENOMEM;
    for (int k = 0; k < QD_LLM_ERR_KINDS; k++)
        cJSON_AddNumberToObject(errors, qd_llm_error_kind_name(k), (double)st.errors[k]);
    pthread_mutex_lock(&((qd_llm *)llm)->lock);
    for (size_t i = 0; i < llm->nurls; i++) {
        cJSON *u = cJSON_CreateObject();
        char shown[512];
        qdi_redact_url(shown, sizeof shown, llm->urls[i].base); /* user:password@ is not shown */
        cJSON_AddStringToObject(u, "url", shown);
        cJSON_AddNumberToObject(u, "requests", (double)llm->urls[i].requests);
        cJSON_AddNumberToObject(u, "failures", (double)llm->urls[i].failures);
        cJSON_AddItemToArray(urls, u);
    }
    pthread_mutex_unlock(&((qd_llm *)llm)->lock);
    return QD_OK;
}

/* ---- one HTTP attempt -------------------------------------------------- */

/* The next base URL in round-robin order that is not being skipped; when
 * every one is, the one whose pause ends first. */
static size_t pick_url(qd_llm *llm)
{
    double now = llm->now(llm->clock_ctx);
    size_t best = 0;
    pthread_mutex_lock(&llm->lock);
    for (size_t i = 0; i < llm->nurls; i++) {
        size_t k = (llm->next_url + i) % llm->nurls;
        if (llm->urls[k].down_until <= now) {
            best = k;
            goto found;
        }
        if (llm->urls[k].down_until < llm->urls[best].down_until)
            best = k;
    }
found:
    llm->next_url = best + 1;
    llm->urls[best].requests++;
    pthread_mutex_unlock(&llm->lock);
    return best;
}

static void url_result(qd_llm *llm, size_t u, int ok)
{
    double now = llm->now(llm->clock_ctx);
    unsigned in_row = 0;
    pthread_mutex_lock(&llm->lock);
    url_state *st = &llm->urls[u];
    if (ok) {
        st->failures_in_row = 0;
        st->down_until = 0;
    } else {
        st->failures++;
        if (++st->failures_in_row >= (unsigned)llm->fail_after && llm->nurls > 1 && st->down_until <= now) {
            st->down_until = now + llm->skip_seconds;
            in_row = st->failures_in_row;
        }
    }
    pthread_mutex_unlock(&llm->lock);
    if (in_row) /* base never changes after set-up */
        qdi_log("llm: %s failed %u times in a row; trying the other servers for %g s", st->base, in_row,
                llm->skip_seconds);
}

static void take_slot(qd_llm *llm)
{
    if (llm->max_in_flight <= 0)
        return;
    pthread_mutex_lock(&llm->lock);
    while (llm->in_flight >= llm->max_in_flight)
        pthread_cond_wait(&llm->slot_free, &llm->lock);
    llm->in_flight++;
    pthread_mutex_unlock(&llm->lock);
}

static void give_slot(qd_llm *llm)
{
    if (llm->max_in_flight <= 0)
        return;
    pthread_mutex_lock(&llm->lock);
    llm->in_flight--;
    pthread_cond_signal(&llm->slot_free);
    pthread_mutex_unlock(&llm->lock);
}

typedef struct outcome {
    int kind;            /* QD_LLM_ERR_*, or -1 on success */
    int retryable;
    long status;         /* HTTP status, 0 if none */
    double retry_after;  /* seconds asked by the server, 0 if none */
    char detail[768];    /* why (redacted) */
    unsigned resent;     /* requests libcurl sent again on its own */
} outcome;

/* The error text of a failed HTTP reply: its "message" if it is an API
 * error object, else its start; scrubbed of the key. */
static void reply_detail(const qd_llm_session *s, char *out, size_t len)
{
    char raw[1024];
    cJSON *doc = s->len ? cJSON_Parse(s->buf) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message")
                                       : (cJSON_IsString(e) ? e : cJSON_GetObjectItemCaseSensitive(doc, "message"));
    if (cJSON_IsString(m))
        snprintf(raw, sizeof raw, "%s", m->valuestring);
    else
        snprintf(raw, sizeof raw, "%s", s->len ? s->buf : "(empty reply)");
    cJSON_Delete(doc);
    qdi_llm_redact(out, len, raw, s->llm->key);
}

/* Nonzero when a lowercased copy of text holds one of the NULL-ended
 * needles. */
static int mentions(const char *text, const char *const *needles)
{
    char low[1024];
    size_t n = 0;
    for (; text && *text && n + 1 < sizeof low; text++)
        low[n++] = (char)((*text >= 'A' && *text <= 'Z') ? *text + 32 : *text);
    low[n] = '\0';
    for (size_t i = 0; needles[i]; i++)
        if (strstr(low, needles[i]))
            return 1;
    return 0;
}

/* An error reply that the same request would get again: 1 when it says the
 * prompt does not fit the context (llama.cpp's 500 "Input prompt is too big
 * compared to KV size", its newer 400 exceed_context_size_error, OpenAI's
 * 400 "maximum context length"; a context size it names is learned), 2 for
 * another bad request that llama.cpp answers with 500 (bad JSON, n > 1,
 * top_logprobs without logprobs), 0 for a transient error. */
static int deterministic_error(qd_llm_session *s)
{
    static const char *const context[] = {"kv size", "context size", "context length", "context window",
                                          "exceed_context", "too many tokens", NULL};
    static const char *const bad[] = {"json.exception", "parse error", "only one completion choice", "requires",
                                      "not supported", "must be", "invalid_request", "invalid", NULL};
    cJSON *doc = s->len ? cJSON_Parse(s->buf) : NULL;
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(doc, "error");
    const cJSON *m = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "message") : e;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(e, "type");
    const cJSON *n_ctx = cJSON_GetObjectItemCaseSensitive(e, "n_ctx");
    const char *msg = cJSON_IsString(m) ? m->valuestring : (s->len && !doc ? s->buf : "");
    const char *t = cJSON_IsString(type) ? type->valuestring : "";
    int kind = 0;
    if (mentions(msg, context) || mentions(t, context))
        kind = 1;
    else if (strcmp(t, "invalid_request_error") == 0 || mentions(msg, bad))
        kind = 2;
    if (kind == 1 && cJSON_IsNumber(n_ctx) && n_ctx->valuedouble >= 1 && n_ctx->valuedouble <= QDI_JSON_COUNT_MAX) {
        pthread_mutex_lock(&s->llm->lock);
        if (!s->llm->context_set)
            s->llm->context_tokens = (long)n_ctx->valuedouble;
        pthread_mutex_unlock(&s->llm->lock);
    }
    cJSON_Delete(doc);
    return kind;
}

static void attempt(qd_llm_session *s, size_t u, const char *path, const char *body, outcome *o)
{
    qd_llm *llm = s->llm;
    CURLcode code;
    long status = 0;
    memset(o, 0, sizeof *o);
    o->kind = -1;
    snprintf(s->url, strlen(llm->urls[u].base) + 64, "%s%s", llm->urls[u].base, path);
    s->len = 0;
    s->too_large = 0;
    if (s->buf)
        s->buf[0] = '\0';
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    {
        /* the job's deadline (job_timeout) shortens the request timeout */
        double t = llm->timeout, left = s->deadline > 0 ? s->deadline - qdi_now() : t;
        curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)(1000.0 * (left < t ? (left > 0.001 ? left : 0.001) : t)));
    }
    if (body) { /* NULL: a GET (the start-up probe) */
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(s->curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    }
    take_slot(llm);
    s->sent = 0;
    code = curl_easy_perform(s->curl);
    give_slot(llm);
    o->resent = s->sent > 1 ? s->sent - 1 : 0;
    if (code != CURLE_OK) {
        switch (code) {
        case CURLE_COULDNT_CONNECT: case CURLE_COULDNT_RESOLVE_HOST: case CURLE_COULDNT_RESOLVE_PROXY:
            o->kind = QD_LLM_ERR_CONNECT;
            break;
        case CURLE_OPERATION_TIMEDOUT:
            o->kind = QD_LLM_ERR_TIMEOUT;
            break;
        case CURLE_GOT_NOTHING: case CURLE_RECV_ERROR: case CURLE_SEND_ERROR: case CURLE_PARTIAL_FILE:
            o->kind = QD_LLM_ERR_DROPPED;
            break;
        default:
            o->kind = s->too_large ? QD_LLM_ERR_TOO_LARGE : QD_LLM_ERR_OTHER;
        }
        o->retryable = o->kind != QD_LLM_ERR_TOO_LARGE && o->kind != QD_LLM_ERR_OTHER;
        if (s->too_large)
            snprintf(o->detail, sizeof o->detail, "the reply is larger than llm.max_reply_bytes (%zu)",
                     llm->max_reply);
        else /* the generic text: the error buffer would name ports and times */
            snprintf(o->detail, sizeof o->detail, "%s", curl_easy_strerror(code));
        return;
    }
    curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
    o->status = status;
    if (status >= 200 && status < 300)
        return;
    if (status == 429 || status == 503) {
        curl_off_t after = 0;
        if (curl_easy_getinfo(s->curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK && after > 0)
            o->retry_after = (double)after;
    }
    o->kind = status == 429 ? QD_LLM_ERR_HTTP_429 : (status >= 500 ? QD_LLM_ERR_HTTP_5XX : QD_LLM_ERR_HTTP_4XX);
    o->retryable = status == 429 || status >= 500 || status == 408 || status == 409;
    if (status != 429 && status != 408) {
        int why = deterministic_error(s);
        if (why)
            o->retryable = 0;
        if (why == 1)
            o->kind = QD_LLM_ERR_CONTEXT;
    }
    reply_detail(s, o->detail, sizeof o->detail);
}

/* ---- a call: cache, attempts, retries ---------------------------------- */

typedef int (*parse_fn)(const char *raw, void *out, long *ptok, long *ctok, char *err, size_t errlen);

static const char *describe(const outcome *o, char *buf, size_t len)
{
    switch (o->kind) {
    case QD_LLM_ERR_CONNECT: return "could not connect";
    case QD_LLM_ERR_TIMEOUT: return "timed out";
    case QD_LLM_ERR_DROPPED: return "the connection dropped";
    case QD_LLM_ERR_BAD_REPLY: return "bad reply";
    case QD_LLM_ERR_TOO_LARGE: return "reply too large";
    case QD_LLM_ERR_CONTEXT:
        snprintf(buf, len, "the prompt does not fit the model's context (HTTP %ld, not retried)", o->status);
        return buf;
    case QD_LLM_ERR_HTTP_429: case QD_LLM_ERR_HTTP_5XX: case QD_LLM_ERR_HTTP_4XX:
        snprintf(buf, len, "HTTP %ld", o->status);
        return buf;
    default: return "request failed";
    }
}

static int fail_code(int kind)
{
    return kind == QD_LLM_ERR_TIMEOUT ? QD_ETIMEOUT
         : kind == QD_LLM_ERR_BAD_REPLY ? QD_EFORMAT
         : kind == QD_LLM_ERR_REPLAY_MISS ? QD_ENOTFOUND
         : kind == QD_LLM_ERR_CONTEXT ? QD_ETOOBIG : QD_EHTTP;
}

static void count_tokens(qd_llm *llm, long ptok, long ctok)
{
    if (ptok >= 0)
        llm->st.prompt_tokens += (uint64_t)ptok;
    if (ctok >= 0)
        llm->st.completion_tokens += (uint64_t)ctok;
    if (ptok < 0 && ctok < 0)
        llm->st.no_usage++;
}

/* Sends body to path until a reply parses (into out) or retries run out. */
static int call(qd_llm_session *s, const char *path, const char *body, parse_fn parse, void *out, int *cached)
{
    qd_llm *llm = s->llm;
    char *raw = NULL, why[512], status[128];
    long ptok = -1, ctok = -1;
    int claimed = 0, rc;
    outcome o;
    *cached = 0;
    s->error[0] = '\0';
    pthread_mutex_lock(&llm->lock);
    llm->st.calls++;
    pthread_mutex_unlock(&llm->lock);
    if (llm->cache) {
        int hit = qdi_llm_cache_lookup(llm->cache, path, body, &raw);
        if (hit == QDI_CACHE_HIT) {
            rc = parse(raw, out, &ptok, &ctok, why, sizeof why);
            free(raw);
            pthread_mutex_lock(&llm->lock);
            llm->st.cache_hits++;
            if (rc)
                llm->st.failures++;
            pthread_mutex_unlock(&llm->lock);
            *cached = 1;
            if (rc)
                qdi_set_error(s->error, sizeof s->error, "llm: the cached reply does not parse: %s", why);
            return rc;
        }
        if (hit == QDI_CACHE_MISS) {
            pthread_mutex_lock(&llm->lock);
            llm->st.errors[QD_LLM_ERR_REPLAY_MISS]++;
            llm->st.failures++;
            pthread_mutex_unlock(&llm->lock);
            /* no key in the text: failures are grouped by their reason */
            qdi_set_error(s->error, sizeof s->error,
                          "llm: replay: no recorded reply for this %s request in llm.cache (the run asks what the "
                          "recorded one did not)", path + 1);
            return QD_ENOTFOUND;
        }
        if (hit != QDI_CACHE_CLAIMED) {
            qdi_set_error(s->error, sizeof s->error, "llm: out of memory");
            return QD_ENOMEM;
        }
        claimed = 1;
    }
    if (!llm->nurls) {
        qdi_set_error(s->error, sizeof s->error, "llm: no server URL configured");
        rc = QD_EINVAL;
        goto done;
    }
    for (unsigned n = 0;; n++) {
        size_t u = pick_url(llm);
        double t0 = qdi_now();
        attempt(s, u, path, body, &o);
        double dt = qdi_now() - t0;
        if (o.kind < 0) {
            if (parse(s->buf ? s->buf : "", out, &ptok, &ctok, why, sizeof why) == QD_OK) {
                pthread_mutex_lock(&llm->lock);
                llm->st.requests += 1 + o.resent;
                llm->st.resent += o.resent;
                llm->urls[u].requests += o.resent;
                llm->st.retries += n > 0;
                add_latency(llm, dt);
                count_tokens(llm, ptok, ctok);
                pthread_mutex_unlock(&llm->lock);
                url_result(llm, u, 1);
                rc = QD_OK;
                if (claimed && qdi_llm_cache_store(llm->cache, path, body, s->buf) != QD_OK)
                    qdi_log("llm.cache: could not record a reply (disk full?)");
                claimed = 0;
                goto done;
            }
            o.kind = QD_LLM_ERR_BAD_REPLY;
            o.retryable = 1;
            qdi_llm_redact(o.detail, sizeof o.detail, why, llm->key);
        }
        pthread_mutex_lock(&llm->lock);
        llm->st.requests += 1 + o.resent;
        llm->st.resent += o.resent;
        llm->urls[u].requests += o.resent;
        llm->st.retries += n > 0;
        llm->st.errors[o.kind]++;
        pthread_mutex_unlock(&llm->lock);
        url_result(llm, u, 0);
        if (__atomic_load_n(&s->cancelled, __ATOMIC_SEQ_CST)) {
            qdi_set_error(s->error, sizeof s->error, "llm: cancelled: the job was given up after a stop");
            pthread_mutex_lock(&llm->lock);
            llm->st.failures++; /* a failed call, as one out of time or retries */
            pthread_mutex_unlock(&llm->lock);
            rc = QD_EINTR;
            goto done;
        }
        if (!o.retryable || n >= (unsigned)llm->retries) {
            if (o.status == 401)
                qdi_set_error(s->error, sizeof s->error, "llm: HTTP 401 after %u attempt%s (is the API key in $%s "
                              "right?): %s", n + 1, n ? "s" : "", llm->key_env, o.detail);
            else
                qdi_set_error(s->error, sizeof s->error, "llm: %s after %u attempt%s: %s",
                              describe(&o, status, sizeof status), n + 1, n ? "s" : "", o.detail);
            /* the message ends with server text, so a cut can only shorten a secret at the end */
            qdi_llm_redact(why, sizeof why, s->error, llm->key);
            snprintf(s->error, sizeof s->error, "%s", why);
            pthread_mutex_lock(&llm->lock);
            llm->st.failures++;
            pthread_mutex_unlock(&llm->lock);
            rc = fail_code(o.kind);
            goto done;
        }
        double delay = o.retry_after > 0 ? (o.retry_after < llm->retry_after_max ? o.retry_after : llm->retry_after_max)
                                         : qdi_llm_backoff(llm->backoff, llm->backoff_max, llm->jitter, n,
                                                           (double)(splitmix(&s->rng) >> 11) * 0x1.0p-53);
        if (s->deadline > 0 && qdi_now() + delay >= s->deadline) {
            qdi_set_error(s->error, sizeof s->error, "llm: no time left for attempt %u before job_timeout", n + 2);
            pthread_mutex_lock(&llm->lock);
            llm->st.failures++;
            pthread_mutex_unlock(&llm->lock);
            rc = QD_ETIMEOUT;
            goto done;
        }
        llm->sleep(llm->clock_ctx, delay);
    }
done:
    if (claimed)
        qdi_llm_cache_release(llm->cache, path, body);
    return rc;
}

/* ---- completions and embeddings ---------------------------------------- */

static int parse_completion(const char *raw, void *out, long *ptok, long *ctok, char *err, size_t errlen)
{
    qd_llm_reply *r = out;
    int rc = qd_llm_reply_parse(raw, r, err, errlen);
    *ptok = rc ? -1 : r->prompt_tokens;
    *ctok = rc ? -1 : r->completion_tokens;
    return rc;
}

typedef struct embedding {
    double *vec;
    size_t n;
} embedding;

static int parse_embedding(const char *raw, void *out, long *ptok, long *ctok, char *err, size_t errlen)
{
    embedding *e = out;
    *ctok = -1;
    return qdi_llm_embedding_parse(raw, &e->vec, &e->n, ptok, err, errlen);
}

static char *completion_body(const qd_llm *llm, const qd_llm_request *req)
{
    cJSON *b = cJSON_CreateObject(), *stop;
    const char *const *stops = req->stop ? req->stop : (const char *const *)llm->stop;
    double temperature = req->temperature >= 0 ? req->temperature : llm->temperature;
    char *text = NULL;
    if (!b)
        return NULL;
    cJSON_AddStringToObject(b, "model", llm->model);
    if (req->endpoint == QD_LLM_CHAT) {
        cJSON *msgs = cJSON_AddArrayToObject(b, "messages"), *m;
        if (req->system && (m = cJSON_CreateObject())) {
            cJSON_AddStringToObject(m, "role", "system");
            cJSON_AddStringToObject(m, "content", req->system);
            cJSON_AddItemToArray(msgs, m);
        }
        if ((m = cJSON_CreateObject())) {
            cJSON_AddStringToObject(m, "role", "user");
            cJSON_AddStringToObject(m, "content", req->prompt ? req->prompt : "");
            cJSON_AddItemToArray(msgs, m);
        }
    } else {
        cJSON_AddStringToObject(b, "prompt", req->prompt ? req->prompt : "");
    }
    cJSON_AddNumberToObject(b, "max_tokens", (double)(req->max_tokens > 0 ? req->max_tokens : llm->max_tokens));
    if (temperature >= 0)
        cJSON_AddNumberToObject(b, "temperature", temperature);
    if (stops && stops[0] && (stop = cJSON_AddArrayToObject(b, "stop")))
        for (size_t i = 0; stops[i]; i++)
            cJSON_AddItemToArray(stop, cJSON_CreateString(stops[i]));
    if (req->seeded) /* int32 range: every server family takes it */
        cJSON_AddNumberToObject(b, "seed", (double)(req->seed % 2147483648ULL));
    else if (llm->has_seed)
        cJSON_AddNumberToObject(b, "seed", (double)llm->seed);
    if (req->top_logprobs > 0) {
        if (req->endpoint == QD_LLM_CHAT) {
            cJSON_AddTrueToObject(b, "logprobs");
            cJSON_AddNumberToObject(b, "top_logprobs", (double)req->top_logprobs);
        } else {
            cJSON_AddNumberToObject(b, "logprobs", (double)req->top_logprobs);
        }
    }
    cJSON_AddFalseToObject(b, "stream");
    text = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    return text;
}

int qd_llm_complete(qd_llm_session *s, const qd_llm_request *req, qd_llm_reply *reply)
{
    char *body = completion_body(s->llm, req);
    qd_llm *llm = s->llm;
    int cached = 0, rc;
    memset(reply, 0, sizeof *reply);
    reply->prompt_tokens = reply->completion_tokens = -1;
    if (!body) {
        qdi_set_error(s->error, sizeof s->error, "llm: out of memory");
        return QD_ENOMEM;
    }
    rc = call(s, req->endpoint == QD_LLM_CHAT ? "/chat/completions" : "/completions", body, parse_completion, reply,
              &cached);
    free(body);
    reply->from_cache = cached;
    if (rc == QD_OK) {
        size_t chars = (req->prompt ? strlen(req->prompt) : 0) + (req->system ? strlen(req->system) : 0);
        pthread_mutex_lock(&llm->lock);
        if (reply->prompt_tokens > 0 && chars > 0 && (double)reply->prompt_tokens / (double)chars > llm->tokens_per_char)
            llm->tokens_per_char = (double)reply->prompt_tokens / (double)chars;
        llm->st.generations += req->generation != 0;
        if (req->generation && reply->finish_reason && strcmp(reply->finish_reason, "length") == 0)
            llm->st.truncated++;
        pthread_mutex_unlock(&llm->lock);
    }
    return rc;
}

/* Asks the server's root /props (llama.cpp) for the context of a slot:
 * default_generation_settings.n_ctx, or n_ctx. 0 when it does not say. */
static long ask_props(qd_llm_session *s)
{
    qd_llm *llm = s->llm;
    char *url = strdup(llm->urls[0].base), *cut;
    long n = 0, status = 0;
    if (!url)
        return 0;
    if ((cut = strstr(url, "/v1")) && (cut[3] == '\0' || cut[3] == '/'))
        *cut = '\0';
    snprintf(s->url, strlen(llm->urls[0].base) + 64, "%s/props", url);
    free(url);
    s->len = 0;
    s->too_large = 0;
    curl_easy_setopt(s->curl, CURLOPT_URL, s->url);
    curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(s->curl, CURLOPT_TIMEOUT_MS, (long)(1000.0 * (llm->connect_timeout < 10 ? llm->connect_timeout : 10)));
    if (curl_easy_perform(s->curl) == CURLE_OK && curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK &&
        status == 200 && s->len) {
        cJSON *doc = cJSON_Parse(s->buf);
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(doc, "default_generation_settings"), "n_ctx");
        if (!cJSON_IsNumber(v))
            v = cJSON_GetObjectItemCaseSensitive(doc, "n_ctx");
        if (cJSON_IsNumber(v) && v->valuedouble >= 1 && v->valuedouble <= QDI_JSON_COUNT_MAX)
            n = (long)v->valuedouble;
        cJSON_Delete(doc);
    }
    curl_easy_setopt(s->curl, CURLOPT_POST, 1L); /* back to the API's method */
    return n;
}

void qd_llm_context(qd_llm_session *s, long *tokens, double *per_char)
{
    qd_llm *llm = s->llm;
    pthread_mutex_lock(&llm->lock);
    if (!llm->context_tokens && !llm->context_asked && llm->nurls && !llm->replay) {
        llm->context_asked = 1;
        pthread_mutex_unlock(&llm->lock);
        long n = ask_props(s);
        pthread_mutex_lock(&llm->lock);
        if (n > 0 && !llm->context_tokens)
            llm->context_tokens = n;
        llm->context_asked = 2;
        pthread_cond_broadcast(&llm->context_known);
    }
    /* another session is asking: wait for its answer (a job that went on
     * without it sent prompts unfitted and failed naming no size) */
    while (llm->context_asked == 1)
        pthread_cond_wait(&llm->context_known, &llm->lock);
    *tokens = llm->context_tokens;
    *per_char = llm->tokens_per_char;
    pthread_mutex_unlock(&llm->lock);
}

int qd_llm_embed(qd_llm_session *s, const char *text, double **vec, size_t *n)
{
    cJSON *b = cJSON_CreateObject();
    embedding e = {NULL, 0};
    char *body;
    int cached, rc;
    *vec = NULL;
    *n = 0;
    if (b) {
        cJSON_AddStringToObject(b, "model", s->llm->embedding_model);
        cJSON_AddStringToObject(b, "input", text);
        cJSON_AddStringToObject(b, "encoding_format", "float");
    }
    body = b ? cJSON_PrintUnformatted(b) : NULL;
    cJSON_Delete(b);
    if (!body) {
        qdi_set_error(s->error, sizeof s->error, "llm: out of memory");
        return QD_ENOMEM;
    }
    rc = call(s, "/embeddings", body, parse_embedding, &e, &cached);
    free(body);
    if (rc == QD_OK) {
        *vec = e.vec;
        *n = e.n;
    }
    return rc;
}

void qdi_llm_shown_urls(const qd_llm *llm, char *out, size_t len)
{
    size_t used = 0;
    if (!len)
        return;
    out[0] = '\0';
    for (size_t u = 0; u < llm->nurls && used < len; u++) {
        char shown[600];
        qdi_redact_url(shown, sizeof shown, llm->urls[u].base);
        used += (size_t)snprintf(out + used, len - used, "%s%s", u ? ", " : "", shown);
    }
}

/* ---- the start-up probe ------------------------------------------------ */

int qd_llm_probe(qd_llm *llm, char *err, size_t errlen)
{
    qd_llm_session *s;
    int rc = QD_OK;
    if (!llm->probe || llm->replay)
        return QD_OK;
    if (qd_llm_session_new(llm, 0, &s) != QD_OK) {
        qdi_set_error(err, errlen, "llm: start-up probe: out of memory");
        return QD_ENOMEM;
    }
    for (size_t u = 0; u < llm->nurls && rc == QD_OK; u++) {
        outcome o;
        s->deadline = qdi_now() + (llm->timeout < 30 ? llm->timeout : 30); /* a probe is quick or failed */
        char shown[600], status[32], hint[160] = "";
        curl_easy_setopt(s->curl, CURLOPT_HTTPGET, 1L);
        attempt(s, u, "/models", NULL, &o);
        if (o.kind < 0)
            continue;
        qdi_redact_url(shown, sizeof shown, s->url);
        if (o.status == 401 || o.status == 403)
            snprintf(hint, sizeof hint, " (is the API key in $%s right?)", llm->key_env);
        else if (o.status == 404)
            snprintf(hint, sizeof hint, " (is llm.url right? it names the API's base, e.g. http://host:8080/v1)");
        qdi_set_error(err, errlen, "llm: the start-up probe GET %s failed: %s%s: %s (llm.probe false skips it)",
                      shown, describe(&o, status, sizeof status), hint, o.detail);
        rc = fail_code(o.kind);
    }
    qd_llm_session_free(s);
    return rc;
}
