/* run.c - `elites run CONFIG.json`: loads and validates the config,
 * applies command-line overrides, runs the search with a live progress line
 * on a terminal (plain log lines otherwise), saves the outputs periodically
 * and at the end, and stops cleanly on SIGINT/SIGTERM keeping finished work. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "cli.h"

static volatile sig_atomic_t interrupted;
static qd_search *running;

static void say(const char *msg)
{
    ssize_t r = write(STDERR_FILENO, msg, strlen(msg));
    (void)r;
}

/* First signal: stop after the jobs in flight; second: give them up and
 * save what is done; third: end at once. */
static void on_signal(int sig)
{
    interrupted++;
    if (interrupted >= 3) {
        say("\nelites run: ended at once; the files saved last are kept\n");
        _exit(128 + sig);
    }
    say(interrupted == 1 ? "\nelites run: stopping after the jobs in flight (again to give them up)\n"
                         : "\nelites run: giving up the jobs in flight; saving what is done\n");
    if (running)
        qd_search_stop(running);
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "usage: elites run CONFIG.json [options]\n"
            "       elites run --resume DIR [options]\n"
            "\n"
            "Runs a quality-diversity search described by CONFIG.json and writes\n"
            "archive.json, archive.csv, metrics.csv, heatmap.svg, report.html and a\n"
            "checkpoint/ folder into the output folder. Ctrl-C (or SIGTERM) stops\n"
            "after the jobs in flight and saves; a second Ctrl-C gives them up.\n"
            "\n"
            "options:\n"
            "  -o, --output DIR     output folder (default: config output.dir, else\n"
            "                       elites-out/<config name>)\n"
            "  --seed N             random seed (same seed, same archive)\n"
            "  --iterations N       number of iterations\n"
            "  --set PATH=VALUE     override a config field, e.g. --set evaluator.dim=20\n"
            "                       or --set mutators[0].sigma=0.2 (repeatable)\n"
            "  --resume DIR         go on from the checkpoint in DIR (a stopped run's\n"
            "                       output folder) with the config it holds, or with\n"
            "                       CONFIG.json if given (the same search; --iterations\n"
            "                       may grow)\n"
            "  -q, --quiet          no progress output\n"
            "  -h, --help           show this help\n");
}

static double now_seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void format_duration(char *buf, size_t len, double s)
{
    long t = (long)(s + 0.5);
    if (!isfinite(s) || s < 0)
        snprintf(buf, len, "--:--");
    else if (t >= 3600)
        snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

/* A rate as the progress and summary lines print it: whole numbers from
 * 100 up, three significant digits below (a network search runs at 0.8
 * evaluations a second, which "%.0f" showed as 0). */
static void format_rate(char *buf, size_t len, double rate)
{
    snprintf(buf, len, rate >= 100 || rate == 0 ? "%.0f" : "%.3g", rate);
}

/* Where this session started (a resumed run counts its rate from there). */
static uint64_t base_iteration, base_jobs;

static void progress(const qd_search *s, int tty, double started)
{
    const qd_metrics *r = qd_search_last_metrics(s);
    double dt = now_seconds() - started;
    double rate = dt > 0 ? (double)(r->evaluations + r->failed - base_jobs) / dt : 0;
    uint64_t done = r->iteration - base_iteration;
    double left = done ? dt / (double)done * (double)(qd_search_iterations(s) - r->iteration) : NAN;
    char eta[32], rbuf[32];
    format_duration(eta, sizeof eta, left);
    format_rate(rbuf, sizeof rbuf, rate);
    printf("%siter %llu/%llu  %s evals/s  coverage %.2f%%  QD score %.6g  best %.6g  ETA %s%s",
           tty ? "\r\033[K" : "", (unsigned long long)r->iteration, (unsigned long long)qd_search_iterations(s), rbuf,
           100.0 * r->stats.coverage, r->stats.qd_score, r->stats.obj_max, eta, tty ? "" : "\n");
    fflush(stdout);
}

static char *default_output(const char *config_path, const qd_search *s)
{
    const char *dir = qd_search_output(s)->dir, *base;
    char *out;
    size_t n;
    if (dir)
        return strdup(dir);
    base = strrchr(config_path, '/');
    base = base ? base + 1 : config_path;
    n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".json") == 0)
        n -= 5;
    if (!(out = malloc(n + 16)))
        return NULL;
    snprintf(out, n + 16, "elites-out/%.*s", (int)n, base);
    return out;
}

static void summary(const qd_search *s, const char *outdir, double seconds, int checkpointed)
{
    const qd_counts *c = qd_search_counts(s);
    qd_archive_stats st;
    char rbuf[32];
    qd_archive_stats_get(qd_search_result_archive(s), &st);
    format_rate(rbuf, sizeof rbuf, seconds > 0 ? (double)(c->evaluated + c->failed - base_jobs) / seconds : 0.0);
    printf("done: %llu iterations, %llu evaluations, %llu failed, in %.1f s (%s evals/s)%s\n",
           (unsigned long long)c->iterations, (unsigned long long)c->evaluated, (unsigned long long)c->failed, seconds,
           rbuf, base_iteration ? " since the resume" : "");
    printf("archive: %zu of %zu cells filled (coverage %.2f%%), QD score %.6g (normalised %.4g), best %.6g, mean %.6g\n",
           st.filled, st.cells, 100.0 * st.coverage, st.qd_score, st.norm_qd_score, st.obj_max, st.obj_mean);
    const qd_metrics *last = qd_search_last_metrics(s);
    if (last && !isnan(last->truth_qd_score)) {
        printf("ground truth: archive solutions QD score %.4g (coverage %.2f%%)", last->truth_qd_score,
               100.0 * last->truth_coverage);
        if (!isnan(last->truth_all_qd_score))
            printf(", all solutions QD score %.4g (coverage %.2f%%)", last->truth_all_qd_score,
                   100.0 * last->truth_all_coverage);
        putchar('\n');
    }
    printf("inserted: %llu new cells, %llu improvements, %llu not added\n", (unsigned long long)c->new_cells,
           (unsigned long long)c->improved, (unsigned long long)c->not_added);
    if (qd_search_async(s))
        printf("mode async: results were told as they landed, so this run is not bit-reproducible\n");
    for (size_t i = 0; i < qd_search_failure_kinds(s); i++) {
        uint64_t n;
        const char *why = qd_search_failure_kind(s, i, &n);
        printf("failed %llu x: %s\n", (unsigned long long)n, why);
    }
    if (qd_search_llm(s)) {
        qd_llm_stats ls;
        qd_llm_stats_get(qd_search_llm(s), &ls);
        printf("llm: %llu calls, %llu requests, %llu retries, %llu failed, %llu from the cache; tokens %llu prompt + "
               "%llu completion",
               (unsigned long long)ls.calls, (unsigned long long)ls.requests, (unsigned long long)ls.retries,
               (unsigned long long)ls.failures, (unsigned long long)ls.cache_hits,
               (unsigned long long)ls.prompt_tokens, (unsigned long long)ls.completion_tokens);
        if (ls.no_usage)
            printf(" (%llu replies gave no counts)", (unsigned long long)ls.no_usage);
        if (!isnan(ls.latency_mean))
            printf("; latency mean %.0f ms, p95 %.0f ms", 1000 * ls.latency_mean, 1000 * ls.latency_p95);
        putchar('\n');
        if (ls.label_bounded)
            printf("llm: %llu of %llu label scores had a label absent from the top logprobs (given the bound, the "
                   "smallest listed probability; a larger top_logprobs narrows it)\n",
                   (unsigned long long)ls.label_bounded, (unsigned long long)ls.label_scores);
        if (ls.truncated)
            printf("llm: %llu of %llu generations ran into max_tokens (finish_reason \"length\"; kept, cut or "
                   "rejected as the mutator's on_truncated says)\n",
                   (unsigned long long)ls.truncated, (unsigned long long)ls.generations);
        for (int k = 0; k < QD_LLM_ERR_KINDS; k++)
            if (ls.errors[k])
                printf("llm: %llu failed attempts: %s\n", (unsigned long long)ls.errors[k], qd_llm_error_kind_name(k));
    }
    printf("wrote %s/archive.json, archive.csv, metrics.csv, heatmap.svg, report.html%s%s%s\n", outdir,
           c->failed ? ", failures.jsonl" : "", qd_search_llm(s) ? ", llm.json" : "",
           checkpointed ? ", checkpoint/" : "");
    printf("report: open %s/report.html in a web browser (e.g. xdg-open %s/report.html) to browse the elites\n", outdir,
           outdir);
}

/* Nonzero if s is a whole number in digits, at least min. */
static int whole_number(const char *s, unsigned long long min)
{
    char *end;
    if (!*s || strspn(s, "0123456789") != strlen(s))
        return 0;
    errno = 0;
    return strtoull(s, &end, 10) >= min && errno == 0;
}

/* Loads the config file at path, or with path NULL the config of the
 * checkpoint in resume_dir, then applies the overrides. */
static int load_config(const char *path, const char *resume_dir, char **sets, int nsets, const char *seed,
                       const char *iterations, qd_config **cfg)
{
    char err[1024], buf[64];
    /* checked here, so the message names the option the user typed */
    if (seed && !whole_number(seed, 0)) {
        fprintf(stderr, "elites run: --seed takes a whole number >= 0, got \"%s\"\n", seed);
        return 2;
    }
    if (iterations && !whole_number(iterations, 1)) {
        fprintf(stderr, "elites run: --iterations takes a whole number >= 1, got \"%s\"\n", iterations);
        return 2;
    }
    if (path ? qd_config_load_file(path, cfg, err, sizeof err) != QD_OK
             : qd_checkpoint_config(resume_dir, cfg, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites run: %s\n", err);
        return path ? 2 : 1;
    }
    for (int i = 0; i < nsets; i++)
        if (qd_config_set(*cfg, sets[i]) != QD_OK)
            goto fail;
    if (seed) {
        snprintf(buf, sizeof buf, "seed=%s", seed);
        if (qd_config_set(*cfg, buf) != QD_OK)
            goto fail;
    }
    if (iterations) {
        snprintf(buf, sizeof buf, "iterations=%s", iterations);
        if (qd_config_set(*cfg, buf) != QD_OK)
            goto fail;
    }
    return 0;
fail:
    fprintf(stderr, "elites run: %s\n", qd_config_error(*cfg));
    return 2;
}

/* The save-point policy: the checkpoint (what a resume needs) and the
 * outputs written at once, the checkpoint written again alone when it found
 * the disk full (qd_search_save_point). A failed save point is retried at the next one; after
 * output.max_failed_saves of them in a row, or when the disk is full for
 * the checkpoint, the run stops keeping the last good checkpoint. */
typedef struct save_state {
    long failed_in_row;
    uint64_t good_checkpoint; /* iteration of the last good checkpoint (0: none this session) */
    int has_checkpoint;
    char reason[1200];        /* why the run stopped (empty: it did not) */
} save_state;

/* One save point: a checkpoint when `checkpoint`, the outputs when
 * `outputs`. Returns nonzero when the run must stop (reason set). */
static int save_point(qd_search *s, const char *outdir, int checkpoint, int outputs, save_state *ss, int newline)
{
    char why[1100] = "", ckerr[1050];
    int disk_full = 0, saved = QD_OK;
    if (checkpoint) {
        int rc;
        if (outputs) /* both at once; the outputs are left out when the checkpoint finds the disk full */
            saved = qd_search_save_point(s, outdir, 0, &rc, ckerr, sizeof ckerr);
        else if ((rc = qd_search_checkpoint(s, outdir)) != QD_OK)
            snprintf(ckerr, sizeof ckerr, "%s", qd_search_error(s));
        if (rc == QD_OK) {
            ss->good_checkpoint = qd_search_counts(s)->iterations;
            ss->has_checkpoint = 1;
        } else {
            snprintf(why, sizeof why, "checkpoint: %s", ckerr);
            disk_full = rc == QD_ENOSPC;
        }
    } else if (outputs) {
        saved = qd_search_save(s, outdir);
    }
    if (saved != QD_OK && !why[0])
        snprintf(why, sizeof why, "%s", qd_search_error(s));
    if (!why[0]) {
        ss->failed_in_row = 0;
        return 0;
    }
    ss->failed_in_row++;
    if (disk_full || ss->failed_in_row >= qd_search_output(s)->max_failed_saves) {
        if (!disk_full)
            snprintf(ss->reason, sizeof ss->reason, "%ld save points in a row failed (output.max_failed_saves), the "
                     "last: %s", ss->failed_in_row, why);
        else
            snprintf(ss->reason, sizeof ss->reason, "the disk is full: %s", why);
        return 1;
    }
    fprintf(stderr, "%selites run: could not save (%ld of %ld in a row; retried at the next save point): %s\n",
            newline ? "\n" : "", ss->failed_in_row, qd_search_output(s)->max_failed_saves, why);
    return 0;
}

int cli_run(int argc, char **argv)
{
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'}, {"seed", required_argument, NULL, 's'},
        {"iterations", required_argument, NULL, 'i'}, {"set", required_argument, NULL, 'S'},
        {"quiet", no_argument, NULL, 'q'}, {"help", no_argument, NULL, 'h'},
        {"resume", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    const char *outopt = NULL, *seed = NULL, *iterations = NULL, *resume = NULL;
    char **sets = calloc((size_t)argc, sizeof *sets), *outdir = NULL;
    int nsets = 0, quiet = 0, c, status = 0, tty;
    qd_config *cfg = NULL;
    qd_search *s = NULL;
    double started, last_save;
    if (!sets)
        return 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:qh", opts, NULL)) != -1) {
        switch (c) {
        case 'o': outopt = optarg; break;
        case 's': seed = optarg; break;
        case 'i': iterations = optarg; break;
        case 'S': sets[nsets++] = optarg; break;
        case 'q': quiet = 1; break;
        case 'r': resume = optarg; break;
        case 'h': usage(stdout); free(sets); return 0;
        default: usage(stderr); free(sets); return 2;
        }
    }
    /* --resume DIR may go without CONFIG: the checkpoint holds it */
    if (optind != argc - 1 && !(resume && optind == argc)) {
        fprintf(stderr, "elites run: give exactly one CONFIG.json\n");
        usage(stderr);
        free(sets);
        return 2;
    }
    const char *config_path = optind < argc ? argv[optind] : NULL;
    char config_name[1100];
    if (config_path)
        snprintf(config_name, sizeof config_name, "%s", config_path);
    else
        snprintf(config_name, sizeof config_name, "%s/checkpoint (its config)", resume);
    if ((status = load_config(config_path, resume, sets, nsets, seed, iterations, &cfg)))
        goto done;
    if (qd_search_new(cfg, &s) != QD_OK) {
        fprintf(stderr, "elites run: %s\n", qd_config_error(cfg));
        status = 2;
        goto done;
    }
    if (resume && outopt && strcmp(resume, outopt) != 0) {
        fprintf(stderr, "elites run: --resume %s writes into %s; -o %s cannot differ\n", resume, resume, outopt);
        status = 2;
        goto done;
    }
    outdir = resume ? strdup(resume) : outopt ? strdup(outopt) : default_output(config_path, s);
    if (!outdir) {
        status = 1;
        goto done;
    }
    if (resume) {
        char note[2048];
        int rc = qd_search_resume(s, resume, note, sizeof note);
        if (rc != QD_OK) {
            fprintf(stderr, "elites run: cannot resume: %s\n", qd_search_error(s));
            status = rc == QD_EINVAL ? 2 : 1;
            goto done;
        }
        if (note[0])
            fprintf(stderr, "elites run: %s\n", note);
        /* a resume goes on: it cannot take back iterations already done,
         * and one with nothing left says so (its outputs are written again) */
        unsigned long long done_already = qd_search_counts(s)->iterations, target = qd_search_iterations(s);
        if (done_already > target) {
            fprintf(stderr, "elites run: cannot resume: iterations is %llu, fewer than the %llu the checkpoint in %s "
                    "has done (a resume cannot shorten a run; give --iterations %llu or more)\n",
                    target, done_already, resume, done_already);
            status = 2;
            goto done;
        }
        if (done_already == target)
            fprintf(stderr, "elites run: the run in %s is already complete (iteration %llu of %llu): nothing to "
                    "run, its outputs are written again (--iterations N goes on to N)\n",
                    resume, done_already, target);
        if (!quiet)
            printf("resuming %s at iteration %llu\n", resume,
                   (unsigned long long)qd_search_counts(s)->iterations);
    }
    {
        char why[1400];
        size_t removed = 0;
        /* before any work: a bad -o is found now, not when the search ends */
        if (qd_output_prepare(outdir, &removed, why, sizeof why) != QD_OK) {
            fprintf(stderr, "elites run: %s; nothing was run\n", why);
            status = 2;
            goto done;
        }
        if (removed)
            fprintf(stderr, "elites run: removed %zu temporary file%s an interrupted run left in %s\n", removed,
                    removed == 1 ? "" : "s", outdir);
        if (qd_search_probe(s) != QD_OK) {
            fprintf(stderr, "elites run: %s; nothing was run\n", qd_search_error(s));
            status = 1;
            goto done;
        }
    }
    running = s;
    {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGINT, &sa, NULL);
        sigaction(SIGTERM, &sa, NULL);
    }
    tty = isatty(STDOUT_FILENO);
    started = last_save = now_seconds();
    base_iteration = qd_search_counts(s)->iterations;
    base_jobs = qd_search_counts(s)->evaluated + qd_search_counts(s)->failed;
    if (!quiet)
        printf("elites %s: %s, seed %llu, %llu iterations%s -> %s\n", qd_version(), config_name,
               (unsigned long long)qd_search_seed(s), (unsigned long long)qd_search_iterations(s),
               qd_search_async(s) ? ", async (not bit-reproducible)" : "", outdir);
    double last_draw = 0;
    uint64_t last_checkpoint = qd_search_counts(s)->iterations;
    save_state ss = {0};
    while (!qd_search_done(s)) {
        int rc = qd_search_step(s);
        if (rc == QD_EINTR)
            break; /* jobs given up: saved below */
        if (rc != QD_OK) {
            fprintf(stderr, "%selites run: %s\n", tty && !quiet ? "\n" : "", qd_search_error(s));
            status = 1;
            break;
        }
        const qd_metrics *r = qd_search_last_metrics(s);
        double t = now_seconds();
        if (!quiet && ((tty && (t - last_draw > 0.1 || qd_search_done(s))) ||
                       (!tty && (r->iteration % (uint64_t)qd_search_output(s)->log_every == 0 || r->iteration == 1)))) {
            progress(s, tty, started);
            last_draw = t;
        }
        double every = qd_search_output(s)->save_every;
        long ck_every = qd_search_output(s)->checkpoint_every;
        int save_now = every > 0 && t - last_save >= every && !qd_search_done(s);
        int ck_now = !qd_search_done(s) && (ck_every > 0 ? r->iteration - last_checkpoint >= (uint64_t)ck_every : save_now);
        if (save_now)
            last_save = t;
        if (ck_now)
            last_checkpoint = r->iteration;
        if ((save_now || ck_now) && save_point(s, outdir, ck_now, save_now, &ss, tty && !quiet))
            break;
    }
    double searched = now_seconds() - started; /* the summary's rate leaves the saving out */
    if (!quiet && tty)
        putchar('\n');
    if (ss.reason[0]) {
        /* stopped for failed saves: the last good checkpoint stays as it is */
        fprintf(stderr, "elites run: stopped after iteration %llu: %s; ", (unsigned long long)qd_search_counts(s)->iterations,
                ss.reason);
        if (ss.has_checkpoint)
            fprintf(stderr, "the last good checkpoint (iteration %llu) is in %s/checkpoint (go on with: elites run "
                    "--resume %s)\n", (unsigned long long)ss.good_checkpoint, outdir, outdir);
        else
            fprintf(stderr, "no checkpoint was written in this session\n");
        status = 1;
        goto done;
    }
    /* the checkpoint (what a resume needs) and the results at once */
    int ckrc, checkpointed;
    char ckerr[1100] = "";
    int saved = qd_search_save_point(s, outdir, 1, &ckrc, ckerr, sizeof ckerr);
    checkpointed = ckrc == QD_OK;
    if (saved != QD_OK) {
        fprintf(stderr, "elites run: could not save the results: %s\n", qd_search_error(s));
        if (!checkpointed)
            fprintf(stderr, "elites run: could not write the checkpoint: %s\n", ckerr);
        status = 1;
        goto done;
    }
    if (!checkpointed) {
        /* after a half-done iteration the previous checkpoint stays, as intended */
        int torn = interrupted && strstr(ckerr, "given up half way") != NULL;
        fprintf(stderr, "elites run: %s%s\n", torn ? "" : "could not write the checkpoint: ", ckerr);
        if (!torn && status == 0)
            status = 1;
    }
    if (!quiet)
        summary(s, outdir, searched, checkpointed);
    {
        const qd_counts *c = qd_search_counts(s);
        if (c->evaluated == 0 && c->failed > 0 && !interrupted) {
            fprintf(stderr, "elites run: nothing was evaluated: all %llu jobs failed (the last: %s)\n",
                    (unsigned long long)c->failed, qd_search_last_failure(s));
            status = 1;
        }
    }
    if (interrupted && status == 0) {
        fprintf(stderr,
                "elites run: interrupted after iteration %llu; saved the archive and metrics%s in %s%s%s%s\n",
                (unsigned long long)qd_search_counts(s)->iterations, checkpointed ? " and a checkpoint" : "",
                outdir, checkpointed ? " (go on with: elites run --resume " : "", checkpointed ? outdir : "",
                checkpointed ? ")" : "");
        status = 130;
    }
    if (s && qd_search_abandoned(s)) {
        /* jobs given up still run in their threads: joining them could
         * take for ever, so leave now (s stays reachable from running) */
        fflush(stdout);
        _exit(status);
    }
done:
    running = NULL;
    qd_search_free(s);
    qd_config_free(cfg);
    free(outdir);
    free(sets);
    return status;
}
