/* checkpoint_metrics.c - the metrics rows of a checkpoint. They go to
 * OUTDIR/checkpoint-metrics, one line of hex doubles ("%a": exact and cheap
 * to print) per iteration, appended at each checkpoint; state.json records
 * how many rows belong to it, and a resume cuts the file back to that
 * count. Rewriting the whole history into every checkpoint would make
 * checkpoints cost more and more as a run grows (every iteration's row at
 * every checkpoint). */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "search_internal.h"

#define METRICS_FIELDS 22
#define METRICS_FIELDS_V1 16 /* journals written before the ground-truth columns */

static void metrics_values(const qd_metrics *r, double *v)
{
    double x[METRICS_FIELDS] = {(double)r->iteration, (double)r->evaluations, (double)r->failed,
                                (double)r->new_cells, (double)r->improved, (double)r->stats.cells,
                                (double)r->stats.filled, r->stats.coverage, r->stats.qd_score,
                                r->stats.norm_qd_score, r->stats.obj_max, r->stats.obj_mean, r->seconds,
                                (double)r->llm_requests, (double)r->llm_failures, (double)r->llm_tokens,
                                r->truth_qd_score, r->truth_coverage, r->truth_all_qd_score,
                                r->truth_all_coverage, r->rebuild_coverage_before, r->rebuild_coverage_after};
    memcpy(v, x, sizeof x);
}

static void metrics_from(qd_metrics *r, const double *v)
{
    r->iteration = (uint64_t)v[0];
    r->evaluations = (uint64_t)v[1];
    r->failed = (uint64_t)v[2];
    r->new_cells = (uint64_t)v[3];
    r->improved = (uint64_t)v[4];
    r->stats.cells = (size_t)v[5];
    r->stats.filled = (size_t)v[6];
    r->stats.coverage = v[7];
    r->stats.qd_score = v[8];
    r->stats.norm_qd_score = v[9];
    r->stats.obj_max = v[10];
    r->stats.obj_mean = v[11];
    r->seconds = v[12];
    r->llm_requests = (uint64_t)v[13];
    r->llm_failures = (uint64_t)v[14];
    r->llm_tokens = (uint64_t)v[15];
    r->truth_qd_score = v[16];
    r->truth_coverage = v[17];
    r->truth_all_qd_score = v[18];
    r->truth_all_coverage = v[19];
    r->rebuild_coverage_before = v[20];
    r->rebuild_coverage_after = v[21];
}

/* QD_ENOSPC when errno e says the disk (or the quota) is full, else
 * QD_EIO: a full disk lets a save point write the checkpoint again alone. */
static int journal_error(int e)
{
    return e == ENOSPC || e == EDQUOT ? QD_ENOSPC : QD_EIO;
}

/* Appends the rows not yet in the journal of dir (a new journal for a run
 * that has not written one there) and syncs it. A failed append is undone
 * (the file cut back to its last synced rows, the stream's error cleared),
 * so the next checkpoint appends the same rows again. */
int qdi_checkpoint_journal_append(qd_search *s, const char *path)
{
    if (s->journal && strcmp(s->journal_path, path) != 0) {
        fclose(s->journal);
        s->journal = NULL;
        s->journal_rows = 0;
    }
    if (!s->journal) {
        free(s->journal_path);
        if (!(s->journal_path = strdup(path)))
            return QD_ENOMEM;
        /* a resumed run reopened it in qd_search_resume; else it starts over */
        if (!(s->journal = fopen(path, "w"))) {
            int e = errno;
            qdi_set_error(s->error, sizeof s->error, "%s: cannot write: %s", path, strerror(e));
            return journal_error(e);
        }
        s->journal_rows = 0;
        s->journal_bytes = 0;
    }
    for (size_t i = s->journal_rows; i < s->nhistory; i++) {
        double v[METRICS_FIELDS];
        metrics_values(&s->history[i], v);
        char line[METRICS_FIELDS * 32], *p = line; /* fprintf's "%a" cost 2,000 instructions a number */
        for (size_t k = 0; k < METRICS_FIELDS; k++) {
            p += qdi_format_a(p, v[k]);
            *p++ = k + 1 < METRICS_FIELDS ? ',' : '\n';
        }
        fwrite(line, 1, (size_t)(p - line), s->journal);
    }
    if (fflush(s->journal) != 0 || ferror(s->journal) || fsync(fileno(s->journal)) != 0) {
        int e = errno;
        qdi_set_error(s->error, sizeof s->error, "%s: write failed: %s", path, strerror(e));
        /* back to the rows last synced (a part of a row left in the file
         * would sit before the rows appended next): reopened, as closing
         * writes what the stream still holds, and cut */
        fclose(s->journal);
        if ((s->journal = fopen(path, "r+")) &&
            (ftruncate(fileno(s->journal), s->journal_bytes) != 0 || fseek(s->journal, 0, SEEK_END) != 0)) {
            fclose(s->journal);
            s->journal = NULL;
        }
        if (!s->journal)
            s->journal_rows = 0; /* the next checkpoint writes it from the start */
        return journal_error(e);
    }
    s->journal_rows = s->nhistory;
    s->journal_bytes = ftell(s->journal);
    return QD_OK;
}

/* Reads the first n rows of the journal into s's history, cuts off what
 * follows (rows of a checkpoint that was never completed) and keeps it
 * open for appending. */
int qdi_checkpoint_journal_load(qd_search *s, const char *path, size_t n, char *err, size_t errlen)
{
    FILE *fp = fopen(path, "r+");
    char line[1024];
    size_t rows = 0;
    if (!fp) {
        qdi_set_error(err, errlen, "%s: cannot read: %s", path, strerror(errno));
        return QD_EIO;
    }
    s->nhistory = 0;
    while (rows < n && fgets(line, sizeof line, fp)) {
        double v[METRICS_FIELDS];
        char *p = line, *end;
        qd_metrics row = {0};
        size_t k;
        for (k = 0; k < METRICS_FIELDS; k++)
            v[k] = NAN;
        for (k = 0; k < METRICS_FIELDS; k++) {
            v[k] = strtod(p, &end);
            if (end == p || (*end != ',' && *end != '\n'))
                break;
            p = end + 1;
            if (*end == '\n') {
                k++;
                break;
            }
        }
        if (k != METRICS_FIELDS && k != METRICS_FIELDS_V1)
            break;
        if (k == METRICS_FIELDS_V1)
            for (size_t i = METRICS_FIELDS_V1; i < METRICS_FIELDS; i++)
                v[i] = NAN;
        metrics_from(&row, v);
        if (qdi_search_push_metrics(s, &row)) {
            fclose(fp);
            qdi_set_error(err, errlen, "out of memory");
            return QD_ENOMEM;
        }
        rows++;
    }
    if (rows < n) {
        fclose(fp);
        qdi_set_error(err, errlen, "%s: has %zu whole rows, the checkpoint needs %zu", path, rows, n);
        return QD_EFORMAT;
    }
    if (fflush(fp) != 0 || ftruncate(fileno(fp), ftell(fp)) != 0 || fseek(fp, 0, SEEK_END) != 0) {
        fclose(fp);
        qdi_set_error(err, errlen, "%s: cannot cut off the rows after %zu: %s", path, n, strerror(errno));
        return QD_EIO;
    }
    if (s->nhistory > 0) {
        const qd_metrics *last = &s->history[s->nhistory - 1];
        s->llm_base_requests = last->llm_requests;
        s->llm_base_failures = last->llm_failures;
        s->llm_base_tokens = last->llm_tokens;
    }
    if (s->journal)
        fclose(s->journal);
    free(s->journal_path);
    s->journal = fp;
    s->journal_path = strdup(path);
    s->journal_rows = n;
    s->journal_bytes = ftell(fp);
    if (!s->journal_path) {
        qdi_set_error(err, errlen, "out of memory");
        return QD_ENOMEM;
    }
    return QD_OK;
}
