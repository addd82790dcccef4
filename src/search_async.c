/* search_async.c - the loop's async mode: `inflight` jobs kept running,
 * each result told as it lands. A mutator whose ask and tell take any
 * number of jobs (QD_MUTATOR_ANY_N) is asked one job at a time, one that
 * works in whole batches (CMA-ES) its batch, told when the batch is back;
 * every result enters the archive on its own (qd_archive_add). An
 * iteration is as many told jobs as a batch iteration runs. Not
 * bit-reproducible: the order results land in depends on timing. Each
 * mutator owns the job slots of its batch (mut_off); a slot is free,
 * running or done (back, its batch not complete). */
#include <stdlib.h>
#include <string.h>
#include "pool.h"
#include "scheduler.h"
#include "search_internal.h"

static int any_n(const qd_mutator *m)
{
    return (m->type->flags & QD_MUTATOR_ANY_N) != 0;
}

/* Asks mutators, round robin, for jobs while fewer than inflight_max run:
 * one job from an any-n mutator with a free slot, a whole batch from a
 * batch mutator whose slots are all free. */
static int async_fill(qd_search *s)
{
    size_t idle = 0;
    /* asks of the whole run (one short iteration before a resume asked fewer) */
    int64_t total = (int64_t)(s->iterations * s->njobs) + s->ask_offset;
    uint64_t budget = total > 0 ? (uint64_t)total : 0;
    while (s->running < s->inflight_max && idle < s->nmutators && s->counts.asked < budget) {
        size_t i = s->rr, off = s->mut_off[i], j, n = 0;
        qd_mutator *m = s->mutators[i];
        s->rr = (s->rr + 1) % s->nmutators;
        if (any_n(m)) {
            for (j = off; j < off + m->batch && s->slot[j] != SLOT_FREE; j++)
                ;
            if (j < off + m->batch)
                n = 1;
        } else {
            for (j = off; j < off + m->batch && s->slot[j] == SLOT_FREE; j++)
                ;
            n = j == off + m->batch ? m->batch : 0;
            j = off;
        }
        if (!n || s->counts.asked + n > budget) {
            idle++;
            continue;
        }
        idle = 0;
        for (size_t k = j; k < j + n; k++)
            qdi_search_prepare_job(s, &s->jobs[k], i);
        m->error[0] = '\0';
        int rc = m->type->ask(m, s->archive, s->jobs + j, n);
        if (rc != QD_OK) {
            qdi_set_error(s->error, sizeof s->error, "mutators[%zu] (%s) failed to ask: %s", i, m->type->name,
                          m->error[0] ? m->error : qd_strerror(rc));
            return rc;
        }
        s->counts.asked += n;
        for (size_t k = j; k < j + n; k++) {
            if (qdi_pool_submit(s->pool, &s->jobs[k], 1) != QD_OK) {
                qdi_set_error(s->error, sizeof s->error, "out of memory handing jobs to the workers");
                return QD_ENOMEM; /* the jobs already out are collected at the free */
            }
            s->slot[k] = SLOT_RUNNING;
            s->running++;
        }
    }
    return QD_OK;
}

/* Tells mutator i about its jobs [j, j + n) and frees their slots. */
static int async_tell(qd_search *s, size_t i, size_t j, size_t n)
{
    qd_mutator *m = s->mutators[i];
    size_t added = 0;
    if (m->type->tell && m->type->tell(m, s->archive, s->jobs + j, n) != QD_OK) {
        qdi_set_error(s->error, sizeof s->error, "mutators[%zu] (%s) failed to learn: %s", i, m->type->name, m->error);
        return QD_EINVAL;
    }
    for (size_t k = j; k < j + n; k++) {
        added += s->jobs[k].status == QD_OK && s->jobs[k].add.status != QD_NOT_ADDED;
        qd_solution_clear(&s->jobs[k].sol);
        s->slot[k] = SLOT_FREE;
    }
    qdi_scheduler_tell(s->scheduler, i, n, added);
    return QD_OK;
}

/* One job is back: into the archive(s) at once, then told (any-n) or kept
 * until its mutator's batch is complete. */
static int async_land(qd_search *s, qd_job *job, qd_metrics *row)
{
    size_t slot = (size_t)(job - s->jobs), i = job->mutator, off = s->mut_off[i];
    qd_mutator *m = s->mutators[i];
    s->running--;
    if (job->status == QD_OK) {
        if (qd_archive_add(s->archive, &job->sol, &job->add) != QD_OK ||
            (s->result && qd_archive_add(s->result, &job->sol, &(qd_add_result){0}) != QD_OK)) {
            qdi_set_error(s->error, sizeof s->error, "archive refused a solution: %s",
                          qd_archive_error(s->archive)[0] ? qd_archive_error(s->archive) : qd_archive_error(s->result));
            return QD_EINVAL;
        }
        s->counts.evaluated++;
        qdi_search_outcome(s, 0);
        if (job->add.status == QD_IMPROVE)
            row->improved++;
        else if (job->add.status == QD_NOT_ADDED)
            s->counts.not_added++;
    } else {
        s->counts.failed++;
        qdi_search_outcome(s, 1);
        if (qdi_search_record_failure(s, job) != QD_OK)
            return QD_ENOMEM;
    }
    if (any_n(m))
        return async_tell(s, i, slot, 1);
    s->slot[slot] = SLOT_DONE;
    for (size_t k = off; k < off + m->batch; k++)
        if (s->slot[k] != SLOT_DONE)
            return QD_OK;
    return async_tell(s, i, off, m->batch);
}

/* One async iteration: as many jobs told as a batch iteration runs, or
 * fewer when a stop comes (then the jobs in flight are waited for, within
 * the grace period). QD_EINTR when the stop left nothing to count. */
int qdi_search_async_step(qd_search *s, qd_metrics *row)
{
    size_t told = 0, filled = qd_archive_filled(s->archive);
    qdi_task task;
    int rc;
    while (told < s->njobs) {
        if (!qdi_search_stopped(s) && (rc = async_fill(s)))
            return rc;
        if (s->running == 0)
            break; /* stopped, all in: done */
        rc = qdi_pool_wait(s->pool, 0.1, &task);
        if (rc == QD_OK) {
            if ((rc = async_land(s, task.jobs, row)))
                return rc;
            told++;
        } else if (rc != QD_ETIMEOUT) {
            break;
        }
        if (s->running > 0 && qdi_search_give_up(s)) {
            qdi_search_cancel_jobs(s);
            break;
        }
    }
    /* new cells of the search archive, as batch mode counts them */
    row->new_cells = qd_archive_filled(s->archive) - filled;
    s->counts.new_cells += row->new_cells;
    s->counts.improved += row->improved;
    if (!told) {
        qdi_set_error(s->error, sizeof s->error, "stopped: gave up the %zu jobs in flight before any came back",
                      s->running);
        return QD_EINTR;
    }
    return QD_OK;
}
