/* test_scheduler.c - the mutator scheduler (src/scheduler.c): "all" asks
 * every mutator; "bandit" (pyribs' BanditScheduler) keeps a fixed number
 * active, gives never-selected mutators the first places (lowest index
 * first), replaces an active mutator when it restarts by the inactive one
 * with the highest UCB1 score (checked against hand-computed scores), or
 * re-chooses every place every iteration with reselect "all"; its state
 * survives save and load. */
#include <math.h>
#include "testutil.h"
#include "src/scheduler.h"

#define POOL 4

typedef struct fixture {
    qd_config *cfg;
    qdi_scheduler *sc;
    qd_mutator m[POOL];
    qd_mutator *ptr[POOL];
} fixture;

static int setup(fixture *f, const char *json)
{
    memset(f, 0, sizeof *f);
    for (size_t i = 0; i < POOL; i++)
        f->ptr[i] = &f->m[i];
    f->cfg = qdt_config(json);
    if (!f->cfg)
        return -1;
    if (qdi_scheduler_new(f->cfg, POOL, &f->sc) != QD_OK) {
        fprintf(stderr, "scheduler: %s\n", qd_config_error(f->cfg));
        return -1;
    }
    return 0;
}

static void teardown(fixture *f)
{
    qdi_scheduler_free(f->sc);
    qd_config_free(f->cfg);
}

/* Selects and checks the active set against want[0..n-1] (ascending). */
static void expect_active(fixture *f, const size_t *want, size_t n)
{
    size_t active[POOL];
    size_t got = qdi_scheduler_select(f->sc, f->ptr, active);
    CU_ASSERT_EQUAL_FATAL(got, n);
    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(active[i], want[i]);
}

static void test_all_asks_every_mutator(void)
{
    fixture f;
    CU_ASSERT_EQUAL_FATAL(setup(&f, "{}"), 0);
    expect_active(&f, (size_t[]){0, 1, 2, 3}, 4);
    f.m[2].restarts = 5;
    qdi_scheduler_tell(f.sc, 1, 10, 0);
    expect_active(&f, (size_t[]){0, 1, 2, 3}, 4);
    teardown(&f);
}

static void test_bandit_tries_unselected_mutators_first(void)
{
    fixture f;
    CU_ASSERT_EQUAL_FATAL(setup(&f, "{\"scheduler\": {\"type\": \"bandit\", \"active\": 2}}"), 0);
    expect_active(&f, (size_t[]){0, 1}, 2);
    qdi_scheduler_tell(f.sc, 0, 10, 9);
    qdi_scheduler_tell(f.sc, 1, 10, 9);
    /* no restart: the same mutators stay active */
    expect_active(&f, (size_t[]){0, 1}, 2);
    /* mutator 0 restarts: its place goes to 2, never selected (ties to the
     * lowest index), however well 0 did */
    f.m[0].restarts++;
    expect_active(&f, (size_t[]){1, 2}, 2);
    /* then 1 restarts: 3 is the last never-selected one */
    qdi_scheduler_tell(f.sc, 2, 10, 0);
    f.m[1].restarts++;
    expect_active(&f, (size_t[]){2, 3}, 2);
    teardown(&f);
}

/* UCB1 = success / selected + zeta * sqrt(ln(total success) / selected). */
static double ucb1(double success, double selected, double total, double zeta)
{
    return success / selected + zeta * sqrt(log(total) / selected);
}

static void test_bandit_picks_the_highest_ucb1_score(void)
{
    fixture f;
    CU_ASSERT_EQUAL_FATAL(setup(&f, "{\"scheduler\": {\"type\": \"bandit\", \"active\": 1, \"zeta\": 1}}"), 0);
    /* every mutator selected once, one at a time: 0, 1, 2, 3 */
    const double asked[POOL] = {100, 4, 10, 50}, added[POOL] = {40, 1, 3, 21};
    for (size_t i = 0; i < POOL; i++) {
        expect_active(&f, (size_t[]){i}, 1);
        qdi_scheduler_tell(f.sc, i, (uint64_t)asked[i], (uint64_t)added[i]);
        f.m[i].restarts++;
    }
    /* by hand, total success 65, zeta 1: 0.4 + 0.204 = 0.604,
     * 0.25 + 1.022 = 1.272, 0.3 + 0.646 = 0.946, 0.42 + 0.289 = 0.709:
     * mutator 1 (little tried) wins on its exploration term */
    double score[POOL], best = -1;
    size_t want = 0;
    for (size_t i = 0; i < POOL; i++) {
        score[i] = ucb1(added[i], asked[i], 65, 1.0);
        if (score[i] > best) {
            best = score[i];
            want = i;
        }
    }
    CU_ASSERT_EQUAL(want, 1);
    CU_ASSERT_DOUBLE_EQUAL(score[1], 1.272, 1e-3);
    expect_active(&f, (size_t[]){1}, 1);
    /* 1 tries again and fails 40 times: 1/44 + sqrt(ln 65 / 44) = 0.331,
     * now below 0 (0.604), 2 (0.946) and 3 (0.709): 2 is next */
    qdi_scheduler_tell(f.sc, 1, 40, 0);
    f.m[1].restarts++;
    CU_ASSERT(ucb1(1, 44, 65, 1.0) < ucb1(3, 10, 65, 1.0));
    expect_active(&f, (size_t[]){2}, 1);
    teardown(&f);
}

static void test_bandit_reselect_all_chooses_every_iteration(void)
{
    fixture f;
    CU_ASSERT_EQUAL_FATAL(
        setup(&f, "{\"scheduler\": {\"type\": \"bandit\", \"active\": 2, \"reselect\": \"all\"}}"), 0);
    expect_active(&f, (size_t[]){0, 1}, 2);
    qdi_scheduler_tell(f.sc, 0, 10, 10);
    qdi_scheduler_tell(f.sc, 1, 10, 10);
    /* no restarts, but every place is chosen again: 2 and 3 come first */
    expect_active(&f, (size_t[]){2, 3}, 2);
    qdi_scheduler_tell(f.sc, 2, 10, 0);
    qdi_scheduler_tell(f.sc, 3, 10, 1);
    expect_active(&f, (size_t[]){0, 1}, 2);
    teardown(&f);
}

static void test_bandit_state_survives_save_and_load(void)
{
    fixture f, g;
    const char *json = "{\"scheduler\": {\"type\": \"bandit\", \"active\": 2}}";
    CU_ASSERT_EQUAL_FATAL(setup(&f, json), 0);
    CU_ASSERT_EQUAL_FATAL(setup(&g, json), 0);
    expect_active(&f, (size_t[]){0, 1}, 2);
    qdi_scheduler_tell(f.sc, 0, 10, 1);
    qdi_scheduler_tell(f.sc, 1, 10, 7);
    f.m[0].restarts++;
    expect_active(&f, (size_t[]){1, 2}, 2);
    qdi_scheduler_tell(f.sc, 2, 10, 2);

    /* the restart counts the scheduler last saw are saved too: without
     * them a resumed bandit would take an active mutator that restarted
     * before the save as just restarted */
    cJSON *state = cJSON_CreateObject();
    CU_ASSERT_EQUAL_FATAL(qdi_scheduler_save(f.sc, state), QD_OK);
    const cJSON *seen = cJSON_GetObjectItemCaseSensitive(state, "restarts_seen");
    CU_ASSERT_FATAL(cJSON_IsArray(seen) && cJSON_GetArraySize(seen) == POOL);
    CU_ASSERT_EQUAL(cJSON_GetArrayItem(seen, 0)->valuedouble, 1);
    for (int i = 1; i < POOL; i++)
        CU_ASSERT_EQUAL(cJSON_GetArrayItem(seen, i)->valuedouble, 0);
    CU_ASSERT_EQUAL_FATAL(qdi_scheduler_load(g.sc, state), QD_OK);
    for (size_t i = 0; i < POOL; i++)
        g.m[i].restarts = f.m[i].restarts;
    /* both go on alike: no restart keeps {1, 2}; then 2 restarts and 3,
     * never selected, takes its place */
    expect_active(&g, (size_t[]){1, 2}, 2);
    expect_active(&f, (size_t[]){1, 2}, 2);
    f.m[2].restarts++;
    g.m[2].restarts++;
    expect_active(&f, (size_t[]){1, 3}, 2);
    expect_active(&g, (size_t[]){1, 3}, 2);
    /* a state of the wrong size is refused */
    qd_config *small = qdt_config(json);
    qdi_scheduler *three = NULL;
    CU_ASSERT_EQUAL_FATAL(qdi_scheduler_new(small, 3, &three), QD_OK);
    CU_ASSERT_EQUAL(qdi_scheduler_load(three, state), QD_EFORMAT);
    qdi_scheduler_free(three);
    qd_config_free(small);
    cJSON_Delete(state);
    teardown(&f);
    teardown(&g);
}

static const qdt_test tests[] = {
    {"all asks every mutator", test_all_asks_every_mutator},
    {"bandit tries unselected mutators first", test_bandit_tries_unselected_mutators_first},
    {"bandit picks the highest UCB1 score", test_bandit_picks_the_highest_ucb1_score},
    {"bandit reselect all chooses every iteration", test_bandit_reselect_all_chooses_every_iteration},
    {"bandit state survives save and load", test_bandit_state_survives_save_and_load},
    {NULL, NULL},
};

QDT_MAIN("scheduler", tests)
