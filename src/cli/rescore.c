/* rescore.c - `elites rescore ARCHIVE.json --config CONFIG.json -o DIR`:
 * re-evaluates every elite of a saved archive with the evaluator of another
 * config and inserts it into that config's archive. This is how QD papers
 * compare methods whose archives differ: QDHF scores the archive found with
 * learned measures on the ground-truth measures ("every archive solution is
 * re-inserted into a ground-truth 50x50 archive"), and a QDAIF archive can be
 * judged again by a second model. The elites go in in their saved order as
 * one batch each (so the result does not depend on threads); failures are
 * counted with their reasons. A config with an "llm" section gives the
 * evaluator its client and the worker a session (ai_feedback asks it), its
 * "seed" (default 1) seeding the client. DIR gets archive.json (with the
 * source archive named in its header), archive.csv, heatmap.svg and
 * report.html. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "cli.h"

static void usage(FILE *fp)
{
    fprintf(fp, "usage: elites rescore ARCHIVE.json --config CONFIG.json -o DIR\n"
                "\n"
                "Re-evaluates every elite of ARCHIVE.json with CONFIG.json's evaluator and\n"
                "inserts it into CONFIG.json's archive (e.g. the ground-truth measures of a\n"
                "run whose measures were learned); writes archive.json, archive.csv,\n"
                "heatmap.svg and report.html into DIR and prints the new archive's stats.\n");
}

/* Evaluates copies of the elites of src and adds them to dst; counts
 * failures (printing the first few reasons). */
static int rescore(const qd_archive *src, qd_evaluator *ev, qd_llm *llm, qd_archive *dst, uint64_t *failed)
{
    qd_worker w = {0};
    size_t m = ev->space.measures;
    double *meas = malloc((m + 1) * sizeof *meas), *x = NULL;
    int status = 0;
    *failed = 0;
    if (!meas || !(w.rng = gsl_rng_alloc(gsl_rng_mt19937)) || (llm && qd_llm_session_new(llm, 0, &w.llm) != QD_OK)) {
        if (w.rng)
            gsl_rng_free(w.rng);
        free(meas);
        return 1;
    }
    if (ev->type->worker_init && ev->type->worker_init(ev, &w) != QD_OK) {
        fprintf(stderr, "elites rescore: could not set up the evaluator: %s\n", w.error);
        qd_llm_session_free(w.llm);
        gsl_rng_free(w.rng);
        free(meas);
        return 1;
    }
    for (size_t i = 0; i < qd_archive_filled(src); i++) {
        qd_elite e;
        qd_add_result r;
        qd_archive_elite_at(src, i, &e);
        free(x);
        x = e.n ? malloc(e.n * sizeof *x) : NULL;
        if (e.n && !x) {
            status = 1;
            break;
        }
        if (e.n)
            memcpy(x, e.x, e.n * sizeof *x);
        qd_solution s = {.x = x, .n = e.n, .measures = meas, .m = m, .objective = NAN};
        int ok = qd_solution_set_text(&s, e.text) == QD_OK && qd_solution_set_lineage(&s, e.lineage) == QD_OK;
        gsl_rng_set(w.rng, (unsigned long)i + 1);
        w.error[0] = '\0';
        if (!ok || ev->type->evaluate(ev, &s, &w) != QD_OK || qd_archive_add(dst, &s, &r) != QD_OK) {
            if ((*failed)++ < 5)
                fprintf(stderr, "elites rescore: elite %zu (cell %zu) failed: %s\n", i, e.cell,
                        w.error[0] ? w.error : !ok ? "out of memory" : qd_archive_error(dst));
        }
        qd_solution_clear(&s);
    }
    free(x);
    if (ev->type->worker_fini)
        ev->type->worker_fini(ev, &w);
    qd_llm_session_free(w.llm);
    gsl_rng_free(w.rng);
    free(meas);
    return status;
}

static int save_all(const qd_archive *a, const char *in, const char *config_path, const qd_config *cfg,
                    const char *dir)
{
    char err[1024], path[4096];
    cJSON *extra = cJSON_CreateObject();
    /* what the files show of the config: no password of a URL */
    cJSON *config = qd_config_redacted(cfg);
    qd_report_options r;
    const cJSON *name = cJSON_GetObjectItemCaseSensitive(config, "name");
    int status = 0;
    if (!extra || !config) {
        cJSON_Delete(extra);
        cJSON_Delete(config);
        return 1;
    }
    cJSON_AddStringToObject(extra, "rescored_from", in);
    cJSON_AddStringToObject(extra, "rescored_with", config_path);
    cJSON_AddItemToObject(extra, "config", config); /* extra owns it from here */
    qd_report_defaults(&r);
    r.title = r.heatmap.title = cJSON_IsString(name) ? name->valuestring : NULL;
    r.config = config;
    snprintf(path, sizeof path, "%s/archive.json", dir);
    if (qd_archive_save_json(a, extra, path, err, sizeof err) == QD_OK) {
        snprintf(path, sizeof path, "%s/archive.csv", dir);
        if (qd_archive_save_csv(a, path, err, sizeof err) == QD_OK) {
            snprintf(path, sizeof path, "%s/heatmap.svg", dir);
            if (qd_archive_save_svg(a, &r.heatmap, path, err, sizeof err) == QD_OK) {
                snprintf(path, sizeof path, "%s/report.html", dir);
                if (qd_archive_save_html(a, &r, path, err, sizeof err) == QD_OK)
                    goto done;
            }
        }
    }
    fprintf(stderr, "elites rescore: %s\n", err);
    status = 1;
done:
    cJSON_Delete(extra);
    return status;
}

int cli_rescore(int argc, char **argv)
{
    const char *in = NULL, *config_path = NULL, *dir = NULL;
    char err[1024];
    qd_archive *src = NULL, *dst = NULL;
    qd_config *cfg = NULL, *ec, *ac, *lc;
    qd_evaluator *ev = NULL;
    qd_llm *llm = NULL;
    long seed = 1;
    uint64_t failed = 0;
    int status = 2;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) {
            config_path = argv[++i];
        } else if ((strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0) && i + 1 < argc) {
            dir = argv[++i];
        } else if (argv[i][0] == '-' || in) {
            fprintf(stderr, "elites rescore: unexpected argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        } else {
            in = argv[i];
        }
    }
    if (!in || !config_path || !dir) {
        fprintf(stderr, "elites rescore: give an archive, --config and -o\n");
        usage(stderr);
        return 2;
    }
    qd_global_init();
    if (qd_archive_load_json(in, &src, NULL, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites rescore: %s\n", err);
        return 1;
    }
    if (qd_config_load_file(config_path, &cfg, err, sizeof err) != QD_OK) {
        fprintf(stderr, "elites rescore: %s\n", err);
        goto done;
    }
    /* only the evaluator and the archive matter; the rest is not read */
    if ((qd_config_has(cfg, "seed") && qd_config_int(cfg, "seed", &seed, ">= 0")) ||
        (qd_config_has(cfg, "llm") &&
         (qd_config_object(cfg, "llm", 1, &lc) || qd_llm_new(lc, (uint64_t)seed, &llm) || qd_config_check_keys(lc))) ||
        qd_config_object(cfg, "evaluator", 1, &ec) || qd_evaluator_new_llm(ec, llm, (uint64_t)seed, &ev) ||
        qd_config_object(cfg, "archive", 1, &ac) || qd_archive_new(ac, &ev->space, &dst)) {
        fprintf(stderr, "elites rescore: %s\n", qd_config_error(cfg));
        goto done;
    }
    if (qd_archive_genome_kind(src) != ev->space.kind || qd_archive_solution_dim(src) != ev->space.dim) {
        fprintf(stderr, "elites rescore: %s holds %s genomes of %zu numbers, but %s's evaluator takes %s genomes of %zu\n",
                in, qd_archive_genome_kind(src) == QD_GENOME_TEXT ? "text" : "real", qd_archive_solution_dim(src),
                config_path, ev->space.kind == QD_GENOME_TEXT ? "text" : "real", ev->space.dim);
        goto done;
    }
    status = 1;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "elites rescore: could not create %s: %s\n", dir, strerror(errno));
        goto done;
    }
    if (rescore(src, ev, llm, dst, &failed) || save_all(dst, in, config_path, cfg, dir))
        goto done;
    qd_archive_stats st;
    qd_archive_stats_get(dst, &st);
    printf("rescored %zu elites of %s with %s: %llu failed\n", qd_archive_filled(src), in, config_path,
           (unsigned long long)failed);
    printf("archive: %zu of %zu cells filled (coverage %.2f%%), QD score %.6g (normalised %.4g), best %.6g, mean %.6g\n",
           st.filled, st.cells, 100.0 * st.coverage, st.qd_score, st.norm_qd_score, st.obj_max, st.obj_mean);
    printf("wrote %s/archive.json, archive.csv, heatmap.svg, report.html\n", dir);
    status = failed ? 1 : 0;
done:
    qd_archive_free(src);
    qd_archive_free(dst);
    qd_evaluator_free(ev);
    qd_llm_free(llm); /* after the evaluator that borrowed it */
    qd_config_free(cfg);
    return status;
}
