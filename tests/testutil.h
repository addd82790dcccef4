/* testutil.h - the small harness every CUnit suite shares: a table of named
 * tests, a main that runs them verbosely and prints one machine-readable
 * line "RESULT <suite>: N passed, M failed" (summed by .ci/run), and helpers
 * for temporary folders and configs built from JSON text. */
#ifndef ELITES_TESTUTIL_H
#define ELITES_TESTUTIL_H

#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "src/internal.h"

typedef struct qdt_test {
    const char *name;
    void (*fn)(void);
} qdt_test;

static inline int qdt_run(const char *suite_name, const qdt_test *tests)
{
    CU_pSuite suite;
    unsigned run, failed;
    qd_global_init();
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    suite = CU_add_suite(suite_name, NULL, NULL);
    for (const qdt_test *t = tests; t->name; t++)
        CU_add_test(suite, t->name, t->fn);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    run = CU_get_number_of_tests_run();
    failed = CU_get_number_of_tests_failed();
    printf("\nRESULT %s: %u passed, %u failed\n", suite_name, run - failed, failed);
    CU_cleanup_registry();
    return failed ? 1 : 0;
}

#define QDT_MAIN(suite_name, table) \
    int main(void) { return qdt_run(suite_name, table); }

/* Makes a fresh temporary folder; the caller frees the string. */
static inline char *qdt_tmpdir(void)
{
    const char *base = getenv("TMPDIR");
    char *p = malloc(512);
    snprintf(p, 512, "%s/elites-test-XXXXXX", base && *base ? base : "/tmp");
    if (!mkdtemp(p)) {
        free(p);
        return NULL;
    }
    return p;
}

/* Removes a folder and what it holds (one level). */
static inline void qdt_rmdir(const char *dir)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
}

/* Parses a config from JSON text (test source "test.json"); NULL on error. */
static inline qd_config *qdt_config(const char *json)
{
    qd_config *c = NULL;
    char err[512];
    if (qd_config_parse(json, "test.json", &c, err, sizeof err) != QD_OK) {
        fprintf(stderr, "qdt_config: %s\n", err);
        return NULL;
    }
    return c;
}

/* Reads a whole file into a malloc'd string (NULL if unreadable). */
/* Declares a test evaluator's space: dim real genes in [lo, hi] (lo NaN:
 * left as qd_space_init sets them), two measures in [mlo, mhi], objective
 * in [fmin, fmax]. QD_ENOMEM as qd_space_init. */
static inline int qdt_space(qd_space *sp, size_t dim, double lo, double hi, double mlo, double mhi, double fmin,
                            double fmax)
{
    if (qd_space_init(sp, QD_GENOME_REAL, dim, 2))
        return QD_ENOMEM;
    for (size_t i = 0; lo == lo && i < dim; i++) {
        sp->lower[i] = lo;
        sp->upper[i] = hi;
    }
    for (size_t k = 0; k < 2; k++) {
        sp->measure_lower[k] = mlo;
        sp->measure_upper[k] = mhi;
    }
    sp->objective_min = fmin;
    sp->objective_max = fmax;
    return QD_OK;
}

static inline char *qdt_slurp(const char *path)
{
    char *s = NULL, err[256];
    if (qdi_read_file(path, &s, NULL, err, sizeof err) != QD_OK)
        return NULL;
    return s;
}

#endif
