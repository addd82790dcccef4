/* search_save.c - what a search leaves on disk: archive.json (with the
 * resolved config echo, seed and counts), archive.csv, metrics.csv (one row
 * per iteration) and failures.jsonl (one row per failed job). Each file is
 * written atomically, so a run stopped at any moment leaves complete files. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "search_internal.h"

int qdi_search_record_failure(qd_search *s, qd_job *job)
{
    size_t i;
    cJSON *row;
    char *line;
    /* a reason may quote a program's stderr: made valid UTF-8 for the JSON files */
    qdi_utf8_sanitize_buf(job->reason, sizeof job->reason);
    snprintf(s->last_failure, sizeof s->last_failure, "%s", job->reason);
    for (i = 0; i < s->nkinds; i++)
        if (strcmp(s->kinds[i].reason, job->reason) == 0)
            break;
    if (i < s->nkinds) {
        s->kinds[i].count++;
    } else if (s->nkinds < QDI_MAX_FAILURE_KINDS) {
        if (!(s->kinds[i].reason = strdup(job->reason)))
            return QD_ENOMEM;
        s->kinds[i].count = 1;
        s->nkinds++;
    } else {
        s->other_failures++;
    }
    if (!(row = cJSON_CreateObject()))
        return QD_ENOMEM;
    cJSON_AddNumberToObject(row, "iteration", (double)(s->counts.iterations + 1));
    cJSON_AddNumberToObject(row, "job", (double)job->id);
    cJSON_AddNumberToObject(row, "mutator", (double)job->mutator);
    cJSON_AddStringToObject(row, "reason", job->reason);
    /* what a person needs to see why: the text and, from the evaluator,
     * what it asked and what came back */
    if (job->sol.text)
        cJSON_AddStringToObject(row, "text", job->sol.text);
    if (job->sol.meta) {
        cJSON *meta = cJSON_Parse(job->sol.meta);
        if (meta)
            cJSON_AddItemToObject(row, "meta", meta);
    }
    line = cJSON_PrintUnformatted(row);
    cJSON_Delete(row);
    if (!line)
        return QD_ENOMEM;
    if (s->nfailure_lines == s->capfailure_lines) {
        size_t cap = s->capfailure_lines ? 2 * s->capfailure_lines : 64;
        char **v = realloc(s->failure_lines, cap * sizeof *v);
        if (!v) {
            free(line);
            return QD_ENOMEM;
        }
        s->failure_lines = v;
        s->capfailure_lines = cap;
    }
    s->failure_lines[s->nfailure_lines++] = line;
    return QD_OK;
}

cJSON *qdi_search_header(const qd_search *s)
{
    cJSON *h = cJSON_CreateObject(), *c;
    if (!h)
        return NULL;
    cJSON_AddStringToObject(h, "elites_version", qd_version());
    cJSON_AddNumberToObject(h, "seed", (double)s->seed);
    cJSON_AddItemToObject(h, "config", qdi_redacted_copy(qd_config_json(s->cfg)));
    if (s->ev->type->describe) {
        cJSON *e = cJSON_AddObjectToObject(h, "evaluator");
        if (!e || s->ev->type->describe(s->ev, e) != QD_OK) {
            cJSON_Delete(h);
            return NULL;
        }
    }
    if (s->truth_all && s->nhistory) {
        const qd_metrics *r = &s->history[s->nhistory - 1];
        cJSON *t = cJSON_AddObjectToObject(h, "ground_truth");
        if (t && !isnan(r->truth_qd_score)) {
            cJSON_AddNumberToObject(t, "archive_qd_score", r->truth_qd_score);
            cJSON_AddNumberToObject(t, "archive_coverage", r->truth_coverage);
        }
        if (t && !isnan(r->truth_all_qd_score)) {
            cJSON_AddNumberToObject(t, "all_qd_score", r->truth_all_qd_score);
            cJSON_AddNumberToObject(t, "all_coverage", r->truth_all_coverage);
        }
    }
    c = cJSON_AddObjectToObject(h, "counts");
    if (c) {
        cJSON_AddNumberToObject(c, "iterations", (double)s->counts.iterations);
        cJSON_AddNumberToObject(c, "asked", (double)s->counts.asked);
        cJSON_AddNumberToObject(c, "evaluated", (double)s->counts.evaluated);
        cJSON_AddNumberToObject(c, "failed", (double)s->counts.failed);
        cJSON_AddNumberToObject(c, "new", (double)s->counts.new_cells);
        cJSON_AddNumberToObject(c, "improved", (double)s->counts.improved);
        cJSON_AddNumberToObject(c, "not_added", (double)s->counts.not_added);
    }
    return h;
}

/* A number for a CSV cell, or "" for NaN (no value this row). */
static const char *number_or_empty(char *buf, double v)
{
    if (isnan(v)) {
        buf[0] = '\0';
        return buf;
    }
    return qdi_format_double(buf, v);
}

static int save_metrics(const qd_search *s, const char *path, char *err, size_t errlen)
{
    qdi_atomic_file f;
    char a[32], b[32], c[32], d[32], e[32], secs[QDI_FORMAT_F_MAX];
    int rc = qdi_atomic_open(&f, path, err, errlen);
    if (rc)
        return rc;
    fputs("iteration,evaluations,failed,new,improved,filled,coverage,qd_score,norm_qd_score,obj_max,obj_mean,"
          "seconds",
          f.fp);
    fputs(s->llm ? ",llm_requests,llm_failures,llm_tokens" : "", f.fp);
    fputs(s->truth_all ? ",truth_qd_score,truth_coverage,truth_all_qd_score,truth_all_coverage" : "", f.fp);
    fputs(s->ev->remeasures ? ",rebuild_coverage_before,rebuild_coverage_after\n" : "\n", f.fp);
    for (size_t i = 0; i < s->nhistory; i++) {
        const qd_metrics *r = &s->history[i];
        /* fprintf of this row cost 7,700 instructions, a tenth of the outputs' */
        const uint64_t counts[] = {r->iteration, r->evaluations, r->failed, r->new_cells, r->improved, r->stats.filled};
        const char *texts[] = {qdi_format_double(a, r->stats.coverage), qdi_format_double(b, r->stats.qd_score),
                               qdi_format_double(c, r->stats.norm_qd_score),
                               r->stats.filled ? qdi_format_double(d, r->stats.obj_max) : "",
                               r->stats.filled ? qdi_format_double(e, r->stats.obj_mean) : ""};
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            qdi_put_u64(f.fp, counts[k]);
            fputc(',', f.fp);
        }
        for (size_t k = 0; k < sizeof texts / sizeof texts[0]; k++) {
            fputs(texts[k], f.fp);
            fputc(',', f.fp);
        }
        qdi_format_f(secs, r->seconds, 3);
        fputs(secs, f.fp);
        if (s->llm)
            fprintf(f.fp, ",%llu,%llu,%llu", (unsigned long long)r->llm_requests,
                    (unsigned long long)r->llm_failures, (unsigned long long)r->llm_tokens);
        if (s->truth_all)
            fprintf(f.fp, ",%s,%s,%s,%s", number_or_empty(a, r->truth_qd_score), number_or_empty(b, r->truth_coverage),
                    number_or_empty(c, r->truth_all_qd_score), number_or_empty(d, r->truth_all_coverage));
        if (s->ev->remeasures)
            fprintf(f.fp, ",%s,%s", number_or_empty(a, r->rebuild_coverage_before),
                    number_or_empty(b, r->rebuild_coverage_after));
        fputc('\n', f.fp);
    }
    return qdi_atomic_commit(&f, err, errlen);
}

static int save_failures(const qd_search *s, const char *path, char *err, size_t errlen)
{
    qdi_atomic_file f;
    int rc = qdi_atomic_open(&f, path, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < s->nfailure_lines; i++)
        fprintf(f.fp, "%s\n", s->failure_lines[i]);
    return qdi_atomic_commit(&f, err, errlen);
}

/* The outputs of one save are one set: each file is written (atomically)
 * as NAME.tmp, and only once every one of them is on disk are they renamed
 * over NAME. A failure before that (a full disk, say) removes the NAME.tmp
 * files written so far, so the previous set stays whole and no folder ever
 * holds an archive.json of one iteration beside a metrics.csv of another.
 * The renames need no new space; a crash in the middle of them can mix two
 * sets, but the checkpoint, written before the outputs, is whole either way.
 * NAME.tmp files a killed run left are removed at the next start
 * (qd_output_prepare). The files are written at once, each on a thread of
 * its own (qd_search_save_point: beside the checkpoint): each writer only
 * reads the search, and the elites' text they share is formatted before
 * they start, on `workers` threads. */
struct output_set;
typedef int (*output_writer)(const struct output_set *set, const char *path, char *err, size_t errlen);

typedef struct output_file {
    const char *name;
    output_writer write;
    char path[4096];
    char err[1024];
    int rc;
} output_file;

typedef struct output_set {
    qd_search *s;
    const char *dir;
    const char *name, *description; /* the config's, read before the writers start (a read marks the key known) */
    output_file files[8];
    size_t n;
} output_set;

static void stage(output_set *set, const char *name, output_writer write)
{
    output_file *f = &set->files[set->n++];
    f->name = name;
    f->write = write;
    snprintf(f->path, sizeof f->path, "%s/%s.tmp", set->dir, name);
}

static void write_one(void *arg, size_t i)
{
    output_set *set = arg;
    output_file *f = &set->files[i];
    f->rc = f->write(set, f->path, f->err, sizeof f->err);
}

static void unstage(output_set *set)
{
    for (size_t i = 0; i < set->n; i++)
        unlink(set->files[i].path);
}

static int publish(output_set *set, char *err, size_t errlen)
{
    char to[4096];
    for (size_t i = 0; i < set->n; i++) {
        snprintf(to, sizeof to, "%s/%s", set->dir, set->files[i].name);
        if (rename(set->files[i].path, to) != 0) {
            qdi_set_error(err, errlen, "%s: cannot rename %s: %s", to, set->files[i].path, strerror(errno));
            unstage(set);
            return QD_EIO;
        }
    }
    qdi_fsync_dir(set->dir);
    return QD_OK;
}

/* archive.json: a hard link to the checkpoint's copy when a checkpoint of
 * this very state was just written in dir (the same bytes: the checkpoint
 * writes the result archive with this header), else written out. */
static int write_archive_json(const output_set *set, const char *path, char *err, size_t errlen)
{
    qd_search *s = set->s;
    cJSON *h;
    int rc;
    if (s->ckpt_dir && s->ckpt_at == s->counts.iterations + 1 && strcmp(s->ckpt_dir, set->dir) == 0) {
        char from[4096];
        snprintf(from, sizeof from, "%s/checkpoint/%s", set->dir, s->result ? "result.json" : "archive.json");
        unlink(path);
        if (link(from, path) == 0)
            return QD_OK;
    }
    if (!(h = qdi_search_header(s))) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    rc = qd_archive_save_json(qd_search_result_archive(s), h, path, err, errlen);
    cJSON_Delete(h);
    return rc;
}

static int write_csv(const output_set *set, const char *path, char *err, size_t errlen)
{
    return qd_archive_save_csv(qd_search_result_archive(set->s), path, err, errlen);
}

static int write_metrics(const output_set *set, const char *path, char *err, size_t errlen)
{
    return save_metrics(set->s, path, err, errlen);
}

static int write_svg(const output_set *set, const char *path, char *err, size_t errlen)
{
    qd_search *s = set->s;
    qd_heatmap_options o;
    qd_heatmap_defaults(&o);
    o.title = set->name;
    o.vmin = s->output.heatmap_range[0];
    o.vmax = s->output.heatmap_range[1];
    return qd_archive_save_svg(qd_search_result_archive(s), &o, path, err, errlen);
}

static int write_html(const output_set *set, const char *path, char *err, size_t errlen)
{
    qd_search *s = set->s;
    qd_report_options r;
    cJSON *shown = qdi_redacted_copy(qd_config_json(s->cfg));
    int rc;
    if (!shown) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    qd_report_defaults(&r);
    r.title = r.heatmap.title = set->name;
    r.heatmap.vmin = s->output.heatmap_range[0];
    r.heatmap.vmax = s->output.heatmap_range[1];
    r.description = set->description;
    r.config = shown;
    r.metrics = s->history;
    r.nmetrics = s->nhistory;
    rc = qd_archive_save_html(qd_search_result_archive(s), &r, path, err, errlen);
    cJSON_Delete(shown);
    return rc;
}

/* The LLM accounting (not in archive.json: a replay makes no requests). */
static int write_llm(const output_set *set, const char *path, char *err, size_t errlen)
{
    qd_search *s = set->s;
    cJSON *o = cJSON_CreateObject();
    char *text = NULL;
    int rc;
    if (o && qd_llm_stats_json(s->llm, o) == QD_OK)
        text = cJSON_Print(o);
    cJSON_Delete(o);
    if (!text) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    size_t n = strlen(text);
    text[n] = '\n'; /* cJSON_Print leaves no newline: write n + 1 bytes with one */
    rc = qdi_write_file_atomic(path, text, n + 1, err, errlen);
    free(text);
    return rc;
}

static int write_failures(const output_set *set, const char *path, char *err, size_t errlen)
{
    return save_failures(set->s, path, err, errlen);
}

size_t qdi_search_save_threads(const qd_search *s)
{
    return s->nworkers > 1 ? s->nworkers : 1;
}

/* Stages the set's files in dir (created if need be), archive.json first:
 * the first file's error is the one reported. */
static int stage_outputs(qd_search *s, const char *dir, output_set *set)
{
    int rc;
    *set = (output_set){.s = s, .dir = dir};
    if (strlen(dir) > sizeof set->files[0].path - 64) {
        qdi_set_error(s->error, sizeof s->error, "%.200s...: output folder name too long", dir);
        return QD_EINVAL;
    }
    if ((rc = qdi_mkdir_p(dir, s->error, sizeof s->error)))
        return rc;
    qd_config_string(s->cfg, "name", &set->name);
    qd_config_string(s->cfg, "description", &set->description);
    stage(set, "archive.json", write_archive_json);
    stage(set, "archive.csv", write_csv);
    stage(set, "metrics.csv", write_metrics);
    stage(set, "heatmap.svg", write_svg);
    stage(set, "report.html", write_html);
    if (s->llm)
        stage(set, "llm.json", write_llm);
    if (s->nfailure_lines)
        stage(set, "failures.jsonl", write_failures);
    return QD_OK;
}

/* After the writers: the first failed file's error (the set removed), else
 * the set renamed into place and the mutators' own outputs written. */
static int finish_outputs(qd_search *s, output_set *set)
{
    int rc;
    /* the elites' text the checkpoint and the files shared is not needed
     * until the next save point */
    qdi_archive_drop_text(qd_search_archive(s));
    qdi_archive_drop_text(qd_search_result_archive(s));
    for (size_t i = 0; i < set->n; i++)
        if (set->files[i].rc) { /* the first file's error in the order staged, whichever failed first */
            snprintf(s->error, sizeof s->error, "%s", set->files[i].err);
            unstage(set);
            return set->files[i].rc;
        }
    if ((rc = publish(set, s->error, sizeof s->error)))
        return rc;
    /* a mutator's own outputs (LLMatic's prompts.json, prompts.csv), each
     * written atomically once the set above is in place */
    for (size_t i = 0; !rc && i < s->nmutators; i++)
        if (s->mutators[i]->type->write)
            rc = s->mutators[i]->type->write(s->mutators[i], set->dir, s->error, sizeof s->error);
    return rc;
}

int qd_search_save(qd_search *s, const char *dir)
{
    output_set set;
    int rc;
    if ((rc = stage_outputs(s, dir, &set)))
        return rc;
    /* the text archive.json and archive.csv share, formatted before they
     * start (on the save's threads too) and left alone while they run */
    qdi_archive_set_threads(s->result ? s->result : s->archive, qdi_search_save_threads(s));
    qdi_archive_freeze_text(qd_search_result_archive(s));
    qdi_parallel_for(set.n, set.n, write_one, &set); /* a thread per file: see qd_search_save_point */
    return finish_outputs(s, &set);
}

/* qd_search_save_point's pieces: the checkpoint, then every file but
 * archive.json (files[0], which links to the checkpoint's copy). */
typedef struct save_point {
    output_set *set;
    int checkpoint_rc;
} save_point;

static void save_point_piece(void *arg, size_t i)
{
    save_point *sp = arg;
    if (i == 0)
        sp->checkpoint_rc = qd_search_checkpoint(sp->set->s, sp->set->dir);
    else
        write_one(sp->set, i);
}

/* The checkpoint, then the outputs, one after the other: the order when
 * the checkpoint must have the disk to itself. */
static int save_in_turn(qd_search *s, const char *dir, int outputs_on_full_disk, int *checkpoint_rc,
                        char *checkpoint_err, size_t checkpoint_errlen)
{
    if (checkpoint_errlen)
        checkpoint_err[0] = '\0';
    if ((*checkpoint_rc = qd_search_checkpoint(s, dir)) != QD_OK)
        snprintf(checkpoint_err, checkpoint_errlen, "%s", s->error);
    if (*checkpoint_rc == QD_ENOSPC && !outputs_on_full_disk)
        return QD_OK;
    return qd_search_save(s, dir);
}

int qd_search_save_point(qd_search *s, const char *dir, int outputs_on_full_disk, int *checkpoint_rc,
                         char *checkpoint_err, size_t checkpoint_errlen)
{
    output_set set;
    save_point sp = {.set = &set};
    size_t threads = qdi_search_save_threads(s);
    if (checkpoint_errlen)
        checkpoint_err[0] = '\0';
    if (stage_outputs(s, dir, &set) != QD_OK) /* the checkpoint says why, and the outputs again */
        return save_in_turn(s, dir, outputs_on_full_disk, checkpoint_rc, checkpoint_err, checkpoint_errlen);
    /* every elite's text first, on the save's threads: the checkpoint's
     * archives and the outputs then only read it */
    qdi_archive_set_threads(s->archive, threads);
    qdi_archive_freeze_text(s->archive);
    if (s->result) {
        qdi_archive_set_threads(s->result, threads);
        qdi_archive_freeze_text(s->result);
    }
    /* a thread for each piece (at most 8): each file's fsync waits on the
     * disk while the others are formatted (measured: 8% less wall time than
     * one thread more than the save's, bench/RESULTS.md) */
    qdi_parallel_for(set.n, set.n, save_point_piece, &sp);
    if ((*checkpoint_rc = sp.checkpoint_rc) != QD_OK)
        snprintf(checkpoint_err, checkpoint_errlen, "%s", s->error);
    if (*checkpoint_rc == QD_ENOSPC) {
        /* the outputs may have taken the checkpoint's space: gone, and the
         * checkpoint again alone, as it would have been written first */
        unstage(&set);
        qdi_archive_drop_text(s->archive);
        if (s->result)
            qdi_archive_drop_text(s->result);
        return save_in_turn(s, dir, outputs_on_full_disk, checkpoint_rc, checkpoint_err, checkpoint_errlen);
    }
    for (size_t i = 1; i < set.n; i++)
        if (set.files[i].rc == QD_ENOSPC) {
            /* the checkpoint may have taken the outputs' space: they are
             * written again after it, alone, as they would have been (so a
             * full disk ends a run the same way whichever file met it) */
            unstage(&set);
            return qd_search_save(s, dir);
        }
    write_one(&set, 0); /* archive.json: the checkpoint's copy linked, or written out */
    return finish_outputs(s, &set);
}
