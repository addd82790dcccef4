/* checkpoint.c - a run's checkpoint: everything a stopped search needs to
 * go on as if it had never stopped.
 *
 * OUTDIR/checkpoint/ holds state.json (format, the resolved config, counts,
 * the job counter, every mutator's state and RNG, the scheduler, the number
 * of metrics rows - kept in OUTDIR/checkpoint-metrics - and the failure
 * records), archive.json (the search archive
 * with its CMA-MAE thresholds) and, with CMA-MAE, result.json. Every number
 * is written exactly, so a batch-mode run stopped at an iteration and
 * resumed gives the same archive bit for bit as one that never stopped.
 *
 * Writing: the files go into OUTDIR/checkpoint.tmp/, then checkpoint/ is
 * renamed to checkpoint.prev/ and checkpoint.tmp/ to checkpoint/. A crash at
 * any moment leaves either a complete checkpoint/ or a complete
 * checkpoint.prev/, and resuming falls back to the previous one when the
 * newest cannot be read.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "scheduler.h"
#include "search_internal.h"

#define CKPT_FORMAT "elites-checkpoint"
#define CKPT_VERSION 1

/* Config fields that may change between a run and its resume: they do not
 * change what the search does (how long, where to, how many threads, how
 * to reach the LLM server). */
static const char *const free_top[] = {"iterations", "output", "workers", "name", "description", "inflight",
                                       "job_timeout", "grace", "max_consecutive_failures", "max_failure_rate",
                                       "failure_window", NULL};
static const char *const free_llm[] = {"api_key", "api_key_env", "backoff", "backoff_max", "cache",
                                       "connect_timeout", "fail_after", "jitter", "max_in_flight",
                                       "max_reply_bytes", "probe", "replay", "retries", "retry_after_max",
                                       "skip_seconds", "timeout", "url", NULL};

/* Limits on memory, at any depth: raising one changes no result (and a
 * checkpoint written before they existed lacks them). */
static const char *const free_any[] = {"max_cells", "max_samples", "max_memory_mb", NULL};

static int listed(const char *const *names, const char *key)
{
    for (; *names; names++)
        if (strcmp(*names, key) == 0)
            return 1;
    return 0;
}

/* ---- writing ---------------------------------------------------------- */

static cJSON *rng_json(const gsl_rng *r)
{
    const unsigned char *b = gsl_rng_state(r);
    size_t n = gsl_rng_size(r);
    char *hex = malloc(2 * n + 1);
    cJSON *out;
    if (!hex)
        return NULL;
    for (size_t i = 0; i < n; i++)
        sprintf(hex + 2 * i, "%02x", b[i]);
    hex[2 * n] = '\0';
    out = cJSON_CreateString(hex);
    free(hex);
    return out;
}

static int rng_load(gsl_rng *r, const cJSON *item)
{
    unsigned char *b = gsl_rng_state(r);
    size_t n = gsl_rng_size(r);
    const char *hex = cJSON_GetStringValue(item);
    if (!hex || strlen(hex) != 2 * n)
        return QD_EFORMAT;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        if (sscanf(hex + 2 * i, "%2x", &v) != 1)
            return QD_EFORMAT;
        b[i] = (unsigned char)v;
    }
    return QD_OK;
}

static void add_u64(cJSON *o, const char *key, uint64_t v)
{
    cJSON_AddNumberToObject(o, key, (double)v);
}

static cJSON *state_json(qd_search *s)
{
    cJSON *st = cJSON_CreateObject(), *c, *ms, *sc, *f, *kinds, *lines;
    if (!st)
        return NULL;
    cJSON_AddStringToObject(st, "format", CKPT_FORMAT);
    cJSON_AddNumberToObject(st, "format_version", CKPT_VERSION);
    cJSON_AddStringToObject(st, "elites_version", qd_version());
    cJSON_AddItemToObject(st, "config", qdi_redacted_copy(qd_config_json(s->cfg)));
    if ((c = cJSON_AddObjectToObject(st, "counts"))) {
        add_u64(c, "iterations", s->counts.iterations);
        /* jobs in flight (async) are not in the checkpoint: a resumed run
         * has never asked them (a job back while its batch is not is in
         * the archive and the counts already) */
        add_u64(c, "asked", s->counts.asked - s->running);
        add_u64(c, "evaluated", s->counts.evaluated);
        add_u64(c, "failed", s->counts.failed);
        add_u64(c, "new", s->counts.new_cells);
        add_u64(c, "improved", s->counts.improved);
        add_u64(c, "not_added", s->counts.not_added);
    }
    add_u64(st, "next_job", s->next_job);
    cJSON_AddItemToObject(st, "seconds", qdi_json_double(qdi_search_elapsed(s)));
    if ((ms = cJSON_AddArrayToObject(st, "mutators")))
        for (size_t i = 0; i < s->nmutators; i++) {
            const qd_mutator *m = s->mutators[i];
            cJSON *mo = cJSON_CreateObject(), *state;
            if (!mo)
                break;
            cJSON_AddItemToArray(ms, mo);
            cJSON_AddStringToObject(mo, "type", m->type->name);
            cJSON_AddItemToObject(mo, "rng", rng_json(m->rng));
            add_u64(mo, "restarts", m->restarts);
            if (m->type->save && (state = cJSON_AddObjectToObject(mo, "state")) && m->type->save(m, state) != QD_OK) {
                cJSON_Delete(st);
                return NULL;
            }
        }
    if ((sc = cJSON_AddObjectToObject(st, "scheduler")) && qdi_scheduler_save(s->scheduler, sc) != QD_OK) {
        cJSON_Delete(st);
        return NULL;
    }
    if (s->ev->type->save) {
        cJSON *es = cJSON_AddObjectToObject(st, "evaluator");
        s->ev->error[0] = '\0';
        if (!es || s->ev->type->save(s->ev, es) != QD_OK) {
            qdi_set_error(s->error, sizeof s->error, "checkpoint: evaluator %s: %s", s->ev->type->name,
                          s->ev->error[0] ? s->ev->error : "out of memory");
            cJSON_Delete(st);
            return NULL;
        }
    }
    add_u64(st, "metrics_rows", s->nhistory); /* in OUTDIR/checkpoint-metrics */
    if ((f = cJSON_AddObjectToObject(st, "failures"))) {
        if ((kinds = cJSON_AddArrayToObject(f, "kinds")))
            for (size_t i = 0; i < s->nkinds; i++) {
                cJSON *k = cJSON_CreateObject();
                cJSON_AddItemToArray(kinds, k);
                cJSON_AddStringToObject(k, "reason", s->kinds[i].reason);
                add_u64(k, "count", s->kinds[i].count);
            }
        add_u64(f, "other", s->other_failures);
        if ((lines = cJSON_AddArrayToObject(f, "lines")))
            for (size_t i = 0; i < s->nfailure_lines; i++)
                cJSON_AddItemToArray(lines, cJSON_CreateString(s->failure_lines[i]));
    }
    return st;
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Writes archive a as tmp/name; the result archive (what archive.json
 * holds) with archive.json's header, so that qd_search_save can link the
 * file as archive.json instead of printing every elite again (the header
 * is ignored when a checkpoint is loaded). */
static int write_archive(qd_search *s, const char *tmp, const char *name, const qd_archive *a, int result)
{
    char *path = join(tmp, name);
    cJSON *h = result ? qdi_search_header(s) : NULL;
    int rc;
    if (!path || (result && !h)) {
        free(path);
        qdi_set_error(s->error, sizeof s->error, "checkpoint: out of memory");
        return QD_ENOMEM;
    }
    rc = qd_archive_save_json(a, h, path, s->error, sizeof s->error);
    cJSON_Delete(h);
    free(path);
    return rc;
}

static int write_checkpoint(qd_search *s, const char *dir)
{
    char *tmp = join(dir, "checkpoint.tmp"), *cur = join(dir, "checkpoint"), *prev = join(dir, "checkpoint.prev");
    char *path = NULL, *text = NULL;
    cJSON *st = NULL;
    int rc = QD_ENOMEM;
    if (!tmp || !cur || !prev)
        goto done;
    if ((rc = qdi_mkdir_p(dir, s->error, sizeof s->error)))
        goto done;
    qdi_remove_dir(tmp);
    if (mkdir(tmp, 0755) != 0) {
        int e = errno;
        qdi_set_error(s->error, sizeof s->error, "%s: cannot create: %s", tmp, strerror(e));
        rc = e == ENOSPC || e == EDQUOT ? QD_ENOSPC : QD_EIO;
        goto done;
    }
    qdi_archive_set_threads(s->archive, qdi_search_save_threads(s));
    if (s->result)
        qdi_archive_set_threads(s->result, qdi_search_save_threads(s));
    /* the saved archive.json holds the result archive (the search archive
     * itself without CMA-MAE) */
    if ((rc = write_archive(s, tmp, "archive.json", s->archive, !s->result)) ||
        (s->result && (rc = write_archive(s, tmp, "result.json", s->result, 1))) ||
        (s->truth_all && (rc = write_archive(s, tmp, "truth_all.json", s->truth_all, 0))))
        goto done;
    rc = QD_ENOMEM;
    if (!(path = join(dir, "checkpoint-metrics")))
        goto done;
    if ((rc = qdi_checkpoint_journal_append(s, path)))
        goto done;
    free(path);
    path = NULL;
    rc = QD_ENOMEM;
    if (!(st = state_json(s)) || !(text = cJSON_Print(st)) || !(path = join(tmp, "state.json")))
        goto done;
    /* state.json last: its presence says the folder is complete */
    if ((rc = qdi_write_file_atomic(path, text, strlen(text), s->error, sizeof s->error)))
        goto done;
    qdi_fsync_dir(tmp);
    qdi_remove_dir(prev);
    if (rename(cur, prev) != 0 && errno != ENOENT) {
        qdi_set_error(s->error, sizeof s->error, "%s: cannot rename to %s: %s", cur, prev, strerror(errno));
        rc = QD_EIO;
        goto done;
    }
    if (rename(tmp, cur) != 0) {
        qdi_set_error(s->error, sizeof s->error, "%s: cannot rename to %s: %s", tmp, cur, strerror(errno));
        rc = QD_EIO;
        goto done;
    }
    qdi_fsync_dir(dir);
    free(s->ckpt_dir);
    s->ckpt_dir = strdup(dir); /* NULL (out of memory): the next save writes archive.json out */
    s->ckpt_at = s->counts.iterations + 1;
    rc = QD_OK;
done:
    if (rc == QD_ENOMEM && !s->error[0])
        qdi_set_error(s->error, sizeof s->error, "checkpoint: out of memory");
    if (rc)
        qdi_remove_dir(tmp);
    cJSON_Delete(st);
    free(text);
    free(path);
    free(tmp);
    free(cur);
    free(prev);
    return rc;
}

int qd_search_checkpoint(qd_search *s, const char *dir)
{
    if (s->torn) {
        qdi_set_error(s->error, sizeof s->error,
                      "no checkpoint after an iteration given up half way (the last one stays)");
        return QD_EINVAL;
    }
    return write_checkpoint(s, dir);
}

/* ---- reading ---------------------------------------------------------- */

/* Describes the first difference between two config trees under path
 * ("" at the top) into buf; 0 when they are the same. */
static int config_diff(const cJSON *a, const cJSON *b, const char *path, char *buf, size_t len)
{
    char sub[512];
    if (cJSON_IsObject(a) && cJSON_IsObject(b)) {
        const cJSON *x;
        int top = path[0] == '\0', llm = strcmp(path, "llm") == 0;
        cJSON_ArrayForEach(x, a) {
            if ((top && listed(free_top, x->string)) || (llm && listed(free_llm, x->string)) ||
                listed(free_any, x->string))
                continue;
            snprintf(sub, sizeof sub, "%s%s%s", path, top ? "" : ".", x->string);
            if (config_diff(x, cJSON_GetObjectItemCaseSensitive(b, x->string), sub, buf, len))
                return 1;
        }
        cJSON_ArrayForEach(x, b) {
            if ((top && listed(free_top, x->string)) || (llm && listed(free_llm, x->string)) ||
                listed(free_any, x->string))
                continue;
            if (!cJSON_GetObjectItemCaseSensitive(a, x->string)) {
                snprintf(buf, len, "%s%s%s is not set here but is in the checkpoint", path, top ? "" : ".",
                         x->string);
                return 1;
            }
        }
        return 0;
    }
    if (cJSON_IsArray(a) && cJSON_IsArray(b) && cJSON_GetArraySize(a) == cJSON_GetArraySize(b)) {
        for (int i = 0; i < cJSON_GetArraySize(a); i++) {
            snprintf(sub, sizeof sub, "%s[%d]", path, i);
            if (config_diff(cJSON_GetArrayItem(a, i), cJSON_GetArrayItem(b, i), sub, buf, len))
                return 1;
        }
        return 0;
    }
    if (b && cJSON_Compare(a, b, 1))
        return 0;
    {
        char *va = a ? cJSON_PrintUnformatted(a) : NULL, *vb = b ? cJSON_PrintUnformatted(b) : NULL;
        snprintf(buf, len, "%s is %.100s here but %.100s in the checkpoint", path, va ? va : "not set",
                 vb ? vb : "not set");
        free(va);
        free(vb);
    }
    return 1;
}

static const cJSON *field(const cJSON *o, const char *key)
{
    return cJSON_GetObjectItemCaseSensitive(o, key);
}

static int u64_field(const cJSON *o, const char *key, uint64_t *v)
{
    const cJSON *x = field(o, key);
    if (!qdi_json_is_whole(x, 0, QDI_JSON_COUNT_MAX))
        return QD_EFORMAT;
    *v = (uint64_t)x->valuedouble;
    return QD_OK;
}

/* Reads the failure records into s. */
static int load_failures(qd_search *s, const cJSON *f)
{
    const cJSON *kinds = field(f, "kinds"), *lines = field(f, "lines"), *x;
    if (!cJSON_IsArray(kinds) || !cJSON_IsArray(lines) || u64_field(f, "other", &s->other_failures))
        return QD_EFORMAT;
    cJSON_ArrayForEach(x, kinds) {
        const char *reason = cJSON_GetStringValue(field(x, "reason"));
        if (!reason || s->nkinds == QDI_MAX_FAILURE_KINDS || u64_field(x, "count", &s->kinds[s->nkinds].count))
            return QD_EFORMAT;
        if (!(s->kinds[s->nkinds].reason = strdup(reason)))
            return QD_ENOMEM;
        s->nkinds++;
    }
    s->capfailure_lines = (size_t)cJSON_GetArraySize(lines);
    if (s->capfailure_lines && !(s->failure_lines = calloc(s->capfailure_lines, sizeof *s->failure_lines)))
        return QD_ENOMEM;
    cJSON_ArrayForEach(x, lines) {
        if (!cJSON_IsString(x))
            return QD_EFORMAT;
        if (!(s->failure_lines[s->nfailure_lines] = strdup(x->valuestring)))
            return QD_ENOMEM;
        s->nfailure_lines++;
    }
    return QD_OK;
}

/* Loads the state of one checkpoint folder into s; on error the message
 * names the file and s may be half loaded (the caller then stops). The
 * config check comes first, so a refused resume changes nothing. */
static int load_from(qd_search *s, const char *dir, const char *ck, char *err, size_t errlen)
{
    char *spath = join(ck, "state.json"), *apath = join(ck, "archive.json"), *rpath = join(ck, "result.json");
    char *mpath = join(dir, "checkpoint-metrics"), *tpath = join(ck, "truth_all.json");
    uint64_t nrows;
    char *text = NULL, diff[768];
    cJSON *st = NULL;
    qd_archive *a = NULL, *r = NULL, *g = NULL;
    const cJSON *c, *ms, *x;
    int rc = QD_ENOMEM;
    size_t i = 0;
    if (!spath || !apath || !rpath || !mpath || !tpath) {
        qdi_set_error(err, errlen, "out of memory");
        goto done;
    }
    if ((rc = qdi_read_file(spath, &text, NULL, err, errlen)))
        goto done;
    rc = QD_EFORMAT;
    if (!(st = cJSON_Parse(text)) || !cJSON_IsObject(st)) {
        qdi_set_error(err, errlen, "%s: not a JSON object (truncated?)", spath);
        goto done;
    }
    x = field(st, "format");
    if (!cJSON_IsString(x) || strcmp(x->valuestring, CKPT_FORMAT) != 0 || !cJSON_IsNumber(field(st, "format_version")) ||
        field(st, "format_version")->valueint != CKPT_VERSION) {
        qdi_set_error(err, errlen, "%s: not an elites checkpoint of format version %d", spath, CKPT_VERSION);
        goto done;
    }
    if (config_diff(qd_config_json(s->cfg), field(st, "config"), "", diff, sizeof diff)) {
        qdi_set_error(err, errlen,
                      "%s: the config does not match the checkpoint's: %s (a resumed run must search as the "
                      "stopped one did; only iterations, output, workers, inflight, job_timeout, grace, name, "
                      "description and how to reach the LLM may change)",
                      spath, diff);
        rc = QD_EINVAL;
        goto done;
    }
    /* the archives, into new objects: swapped in only when all is read */
    if ((rc = qd_archive_load_json(apath, &a, NULL, err, errlen)))
        goto done;
    if (s->result && (rc = qd_archive_load_json(rpath, &r, NULL, err, errlen)))
        goto done;
    if (s->truth_all && (rc = qd_archive_load_json(tpath, &g, NULL, err, errlen)))
        goto done;
    rc = QD_EFORMAT;
    if (qd_archive_cells(a) != qd_archive_cells(s->archive) || (r && qd_archive_cells(r) != qd_archive_cells(s->result))) {
        qdi_set_error(err, errlen, "%s: the archive has a different number of cells than the config gives", apath);
        goto done;
    }
    c = field(st, "counts");
    if (u64_field(c, "iterations", &s->counts.iterations) || u64_field(c, "asked", &s->counts.asked) ||
        u64_field(c, "evaluated", &s->counts.evaluated) || u64_field(c, "failed", &s->counts.failed) ||
        u64_field(c, "new", &s->counts.new_cells) || u64_field(c, "improved", &s->counts.improved) ||
        u64_field(c, "not_added", &s->counts.not_added) || u64_field(st, "next_job", &s->next_job)) {
        qdi_set_error(err, errlen, "%s: counts or next_job missing or not whole numbers", spath);
        goto done;
    }
    /* async: a stop left its last iteration short (fewer jobs told than a
     * whole one); the jobs still to ask are the whole iterations to go,
     * not the configured total less those asked (that ran one iteration
     * too many, 3001 of 3000) */
    s->ask_offset = (int64_t)s->counts.asked - (int64_t)(s->counts.iterations * s->njobs);
    ms = field(st, "mutators");
    if (!cJSON_IsArray(ms) || (size_t)cJSON_GetArraySize(ms) != s->nmutators) {
        qdi_set_error(err, errlen, "%s: mutators must list %zu mutator states", spath, s->nmutators);
        goto done;
    }
    cJSON_ArrayForEach(x, ms) {
        qd_mutator *m = s->mutators[i];
        const char *type = cJSON_GetStringValue(field(x, "type"));
        if (!type || strcmp(type, m->type->name) || rng_load(m->rng, field(x, "rng")) ||
            u64_field(x, "restarts", &m->restarts)) {
            qdi_set_error(err, errlen, "%s: mutators[%zu]: type, rng or restarts missing or wrong", spath, i);
            goto done;
        }
        m->error[0] = '\0';
        if (m->type->load && m->type->load(m, field(x, "state")) != QD_OK) {
            qdi_set_error(err, errlen, "%s: mutators[%zu] (%s): %s", spath, i, m->type->name,
                          m->error[0] ? m->error : "state cannot be read");
            goto done;
        }
        i++;
    }
    if (qdi_scheduler_load(s->scheduler, field(st, "scheduler")) != QD_OK) {
        qdi_set_error(err, errlen, "%s: scheduler state missing or wrong", spath);
        goto done;
    }
    if (s->ev->type->load) {
        s->ev->error[0] = '\0';
        if (s->ev->type->load(s->ev, field(st, "evaluator")) != QD_OK) {
            qdi_set_error(err, errlen, "%s: evaluator (%s): %s", spath, s->ev->type->name,
                          s->ev->error[0] ? s->ev->error : "state cannot be read");
            goto done;
        }
    }
    if (u64_field(st, "metrics_rows", &nrows)) {
        qdi_set_error(err, errlen, "%s: metrics_rows missing", spath);
        goto done;
    }
    if ((rc = qdi_checkpoint_journal_load(s, mpath, (size_t)nrows, err, errlen)))
        goto done;
    rc = QD_EFORMAT;
    if ((rc = load_failures(s, field(st, "failures")))) {
        qdi_set_error(err, errlen, "%s: failures cannot be read", spath);
        goto done;
    }
    {
        double secs = 0;
        qdi_json_get_double(field(st, "seconds"), &secs);
        qdi_search_set_elapsed(s, secs);
    }
    qd_archive_free(s->archive);
    s->archive = a;
    a = NULL;
    if (r) {
        qd_archive_free(s->result);
        s->result = r;
        r = NULL;
    }
    if (g) {
        qd_archive_free(s->truth_all);
        s->truth_all = g;
        g = NULL;
    }
    rc = QD_OK;
done:
    qd_archive_free(a);
    qd_archive_free(r);
    qd_archive_free(g);
    free(tpath);
    cJSON_Delete(st);
    free(text);
    free(spath);
    free(apath);
    free(rpath);
    free(mpath);
    return rc;
}

int qd_search_resume(qd_search *s, const char *dir, char *note, size_t notelen)
{
    char *cur = join(dir, "checkpoint"), *prev = join(dir, "checkpoint.prev");
    char err1[1024] = "", err2[1024] = "";
    struct stat sb;
    int rc;
    if (note && notelen)
        note[0] = '\0';
    if (s->counts.iterations || s->counts.asked) {
        qdi_set_error(s->error, sizeof s->error, "resume: the search has already run");
        rc = QD_EINVAL;
        goto done;
    }
    if (!cur || !prev) {
        qdi_set_error(s->error, sizeof s->error, "out of memory");
        rc = QD_ENOMEM;
        goto done;
    }
    if (stat(cur, &sb) != 0 && stat(prev, &sb) != 0) {
        qdi_set_error(s->error, sizeof s->error, "%s: no checkpoint to resume from (no %s/checkpoint)", dir, dir);
        rc = QD_ENOTFOUND;
        goto done;
    }
    rc = load_from(s, dir, cur, err1, sizeof err1);
    /* a refused config is refused whichever checkpoint is read; a bad
     * newest checkpoint falls back to the one before it */
    if (rc != QD_OK && rc != QD_EINVAL && stat(prev, &sb) == 0) {
        qdi_search_reset_loaded(s);
        if ((rc = load_from(s, dir, prev, err2, sizeof err2)) == QD_OK && note)
            snprintf(note, notelen, "%.1000s; resumed from the previous checkpoint, %s", err1, prev);
    }
    if (rc != QD_OK)
        qdi_set_error(s->error, sizeof s->error, "%s%s%s", err1, err2[0] ? "; the previous checkpoint: " : "", err2);
done:
    free(cur);
    free(prev);
    return rc;
}

int qd_checkpoint_config(const char *dir, qd_config **out, char *err, size_t errlen)
{
    static const char *const names[] = {"checkpoint/state.json", "checkpoint.prev/state.json"};
    char why[2][700] = {"", ""};
    *out = NULL;
    for (size_t i = 0; i < 2; i++) {
        char *path = join(dir, names[i]), *text = NULL;
        cJSON *st = NULL, *c;
        if (!path) {
            qdi_set_error(err, errlen, "out of memory");
            return QD_ENOMEM;
        }
        if (qdi_read_file(path, &text, NULL, why[i], sizeof why[i]) == QD_OK) {
            st = cJSON_Parse(text);
            c = st ? cJSON_DetachItemFromObjectCaseSensitive(st, "config") : NULL;
            if (!cJSON_IsObject(c)) {
                qdi_set_error(why[i], sizeof why[i], "%s: no \"config\" object (truncated?)", path);
                cJSON_Delete(c);
            } else if (qd_config_wrap(c, path, out) != QD_OK) {
                cJSON_Delete(c);
                qdi_set_error(why[i], sizeof why[i], "out of memory");
            }
        }
        cJSON_Delete(st);
        free(text);
        free(path);
        if (*out)
            return QD_OK;
    }
    qdi_set_error(err, errlen, "%s: no readable checkpoint (%s; %s)", dir, why[0], why[1]);
    return QD_ENOTFOUND;
}
