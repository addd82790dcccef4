/* llm.c - the LLM mutator of QDAIF (Bradley et al. 2023, "Quality-Diversity
 * through AI Feedback"): a language model writes the children.
 *
 * LMX (language model crossover, Meyerson et al. 2023) builds a few-shot
 * prompt from k elites in QDAIF's format, T e1 SEP T e2 SEP T e3 SEP T, with
 * T the template line ("Here is a random opinion piece about eating
 * vegetables and plant-based foods:") and SEP "\n###\n" (lmx_prompt, default
 * "{examples}{template}", can wrap it for chat models); the model's
 * continuation is the child. Modes:
 *  - "lmx-near" (QDAIF's default): a parent cell drawn uniformly among the
 *    filled ones, every filled cell j weighted 1 / (1 + |idx(parent) -
 *    idx(j)|^3) in bin-index space, k distinct cells drawn by weight;
 *  - "lmx": k distinct elites drawn uniformly;
 *  - "lmx-replace": the parent's own examples (kept in its lineage) with one
 *    swapped for a random text of the pool (seeds and elites);
 *  - "rewrite": an instruction for chat models asking to change one elite
 *    toward a target description ("more positive", ...);
 *  - "crossover": an instruction to combine two elites.
 * The first `initial` jobs (and any while too few cells are filled) are
 * seeded: k seed texts in random order, or the bare template ("zero-shot").
 * Children are cut at the first stop marker, stripped, given a final "."
 * when they lack one, and rejected (a failed job, counted by reason) when
 * empty or equal to a text already evaluated in the run.
 *
 * ask (main thread, the mutator's RNG) picks the examples and writes the
 * prompt into a payload of the job's own; produce (a worker, the job's RNG
 * for the sampling seed) calls the model; tell frees the payload. The set
 * of texts already seen changes only in tell, behind a read-write lock, so
 * a batch run is the same whatever the thread count (and tell may run while
 * other jobs are in flight).
 */
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "src/internal.h"
#include "population.h"

enum { MODE_LMX_NEAR, MODE_LMX, MODE_LMX_REPLACE, MODE_REWRITE, MODE_CROSSOVER, MODE_FIXED, MODE_SHUFFLE, MODE_ZERO_SHOT,
       MODE_LMX_QUALITY, MODE_NSAIF };
enum { TRUNC_CUT, TRUNC_KEEP, TRUNC_REJECT };
static const char *const truncated_names[] = {"cut", "keep", "reject", NULL};
static const char *const mode_names[] = {"lmx-near", "lmx", "lmx-replace", "rewrite", "crossover", "fixed", "shuffle",
                                         "zero-shot", "lmx-quality", "nsaif", NULL};

/* What ask hands a job: allocated per job and kept on the mutator's list
 * until tell (or fini) frees it, so a job in flight never shares it. */
typedef struct payload {
    char *prompt;
    char **examples; /* copies of the prompt's examples, to drop some when it does not fit */
    size_t nexamples;
    char *lineage; /* JSON object text without the closing "}" (produce adds the seed) */
    qd_llm_endpoint endpoint;
    struct payload *prev, *next;
} payload;

typedef struct seen_set { /* 64-bit hashes of texts, open addressing */
    uint64_t *slots;
    size_t cap, count;
} seen_set;

typedef struct llm_mutator {
    int mode, zero_shot, on_truncated;
    qd_llm_endpoint endpoint;
    long examples, max_tokens;
    double temperature;
    char *template, *separator, *joiner, *end, *system, *topic, *rewrite, *crossover, *lmx;
    char **seeds, **stop, **targets;
    size_t nseeds, nstop, ntargets;
    uint64_t initial, asked;
    payload *live; /* payloads of jobs not told yet (main thread only) */
    seen_set seen;
    int has_pop;
    qdi_population pop; /* lmx-quality, nsaif: the mutator's own texts (main thread) */
    pthread_rwlock_t seen_lock;
    int lock_ready;
} llm_mutator;

/* ---- the set of texts seen --------------------------------------------- */

static uint64_t text_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
    return h ? h : 1; /* 0 marks an empty slot */
}

static int seen_has(const seen_set *s, uint64_t h)
{
    if (!s->cap)
        return 0;
    for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i] == h)
            return 1;
        if (s->slots[i] == 0)
            return 0;
    }
}

static int seen_add(seen_set *s, uint64_t h)
{
    if ((s->count + 1) * 2 > s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 1024;
        uint64_t *slots = calloc(cap, sizeof *slots);
        if (!slots)
            return QD_ENOMEM;
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) {
                size_t k = s->slots[i] & (cap - 1);
                while (slots[k])
                    k = (k + 1) & (cap - 1);
                slots[k] = s->slots[i];
            }
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    size_t i = h & (s->cap - 1);
    while (s->slots[i] && s->slots[i] != h)
        i = (i + 1) & (s->cap - 1);
    if (!s->slots[i]) {
        s->slots[i] = h;
        s->count++;
    }
    return QD_OK;
}

/* ---- configuration ----------------------------------------------------- */

static int check_template(qd_config *cfg, const char *key, const char *tmpl, const char *const *names, size_t n)
{
    char err[512], *out;
    const char *values[8] = {0};
    if (qdi_template_expand(tmpl, names, values, n, &out, err, sizeof err) != QD_OK)
        return qd_config_fail(cfg, key, "%s", err);
    free(out);
    return QD_OK;
}

static const char *const lmx_fields[] = {"examples", "template", "topic"};
static const char *const rewrite_fields[] = {"text", "target", "topic"};
static const char *const crossover_fields[] = {"text1", "text2", "topic"};

static int llm_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    static const char *const endpoints[] = {"completions", "chat", NULL};
    static const char *const inits[] = {"seeded", "zero-shot", NULL};
    llm_mutator *st = m->state;
    const char *tmpl = NULL, *sep = "\n###\n", *joiner = " ", *end = ".", *system = NULL, *topic = "";
    const char *rewrite = "Rewrite the following text so that it is {target}. Keep it about {topic} and about as "
                          "long. Reply with the new text only.\n\nText: {text}";
    const char *crossover = "Write one new text about {topic} that combines the ideas and the style of the two "
                            "texts below. Reply with the new text only.\n\nText 1: {text1}\n\nText 2: {text2}";
    const char *lmx = "{examples}{template}"; /* QDAIF's few-shot prompt */
    long batch = 1, examples = 3, initial;
    int endpoint, init = 0;
    if (!m->llm)
        return qd_config_fail(cfg, "type", "\"llm\" needs a language model: add a top-level \"llm\" section (url, "
                                           "model)");
    if (space->kind != QD_GENOME_TEXT)
        return qd_config_fail(cfg, "type", "\"llm\" writes texts, but the evaluator's genome is real-valued");
    if (qd_config_choice(cfg, "mode", mode_names, &st->mode))
        return QD_EINVAL;
    endpoint = st->mode == MODE_REWRITE || st->mode == MODE_CROSSOVER;
    st->temperature = 0.8;
    st->max_tokens = 50;
    if (qd_config_int(cfg, "batch", &batch, ">= 1 <= 100000") || qd_config_choice(cfg, "endpoint", endpoints, &endpoint) ||
        qd_config_require(cfg, "template") || qd_config_string(cfg, "template", &tmpl) ||
        qd_config_string(cfg, "separator", &sep) || qd_config_string(cfg, "joiner", &joiner) ||
        qd_config_string(cfg, "end", &end) || qd_config_string(cfg, "system", &system) ||
        qd_config_string(cfg, "topic", &topic) || qd_config_int(cfg, "examples", &examples, ">= 1 <= 20") ||
        qd_config_number(cfg, "temperature", &st->temperature, ">= 0 <= 2") ||
        qd_config_int(cfg, "max_tokens", &st->max_tokens, ">= 1") ||
        qdi_config_strings(cfg, "seeds", 0, 1, &st->seeds, &st->nseeds) ||
        qd_config_choice(cfg, "init", inits, &init) ||
        qd_config_choice(cfg, "on_truncated", truncated_names, &st->on_truncated))
        return QD_EINVAL;
    initial = init == 0 && st->nseeds ? 50 : 0;
    if (init == 1)
        initial = 5; /* QDAIF's zero-shot initialisation */
    if (qd_config_int(cfg, "initial", &initial, ">= 0"))
        return QD_EINVAL;
    if (!qd_config_has(cfg, "stop")) {
        cJSON *s = cJSON_CreateStringArray((const char *const[]){"\n", "#"}, 2); /* QDAIF's stop markers */
        if (!s)
            return qd_config_fail(cfg, "stop", "could not be set: out of memory");
        cJSON_AddItemToObject(qd_config_json(cfg), "stop", s);
    }
    if (qdi_config_strings(cfg, "stop", 0, 0, &st->stop, &st->nstop))
        return QD_EINVAL;
    if (init == 0 && !st->nseeds)
        return qd_config_fail(cfg, "seeds", "are needed by \"init\": \"seeded\" (or set \"init\": \"zero-shot\")");
    /* read in every mode, so one config switches modes with --set */
    if (qd_config_string(cfg, "lmx_prompt", &lmx) || check_template(cfg, "lmx_prompt", lmx, lmx_fields, 3) ||
        qd_config_string(cfg, "rewrite_prompt", &rewrite) ||
        check_template(cfg, "rewrite_prompt", rewrite, rewrite_fields, 3) ||
        qdi_config_strings(cfg, "targets", st->mode == MODE_REWRITE, 1, &st->targets, &st->ntargets) ||
        qd_config_string(cfg, "crossover_prompt", &crossover) ||
        check_template(cfg, "crossover_prompt", crossover, crossover_fields, 3))
        return QD_EINVAL;
    {
        long limit = st->mode == MODE_NSAIF ? 10000 : 10, k = 15;
        double threshold = 0.05;
        if (qd_config_int(cfg, "population", &limit, ">= 1 <= 1000000") ||
            qd_config_int(cfg, "novelty_k", &k, ">= 1") ||
            qd_config_number(cfg, "novelty_threshold", &threshold, ">= 0"))
            return QD_EINVAL;
        if (st->mode == MODE_LMX_QUALITY || st->mode == MODE_NSAIF) {
            if (qdi_population_init(&st->pop, st->mode == MODE_NSAIF ? QDI_POP_NOVELTY : QDI_POP_QUALITY,
                                    space->measures, space->measure_lower, space->measure_upper, (size_t)limit,
                                    (size_t)k, threshold))
                return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
            st->has_pop = 1;
        }
    }
    if (st->mode == MODE_FIXED && st->nseeds < (size_t)examples)
        return qd_config_fail(cfg, "seeds", "must hold at least examples (%ld) texts for mode \"fixed\", got %zu",
                              examples, st->nseeds);
    st->endpoint = endpoint ? QD_LLM_CHAT : QD_LLM_COMPLETIONS;
    st->zero_shot = init == 1 || st->mode == MODE_ZERO_SHOT;
    st->examples = examples;
    st->initial = (uint64_t)initial;
    if (!(st->template = strdup(tmpl)) || !(st->separator = strdup(sep)) || !(st->joiner = strdup(joiner)) ||
        !(st->end = strdup(end)) || !(st->topic = strdup(topic)) || (system && !(st->system = strdup(system))) ||
        !(st->rewrite = strdup(rewrite)) || !(st->crossover = strdup(crossover)) || !(st->lmx = strdup(lmx)))
        return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    m->batch = (size_t)batch;
    if (pthread_rwlock_init(&st->seen_lock, NULL) != 0)
        return qd_config_fail(cfg, NULL, "could not be set up");
    st->lock_ready = 1;
    for (size_t i = 0; i < st->nseeds; i++) /* a copy of a seed is no new text */
        if (seen_add(&st->seen, text_hash(st->seeds[i])))
            return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    return QD_OK;
}

/* Unlinks a payload from the live list and frees it. */
static void drop_payload(llm_mutator *st, payload *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        st->live = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p->prompt);
    free(p->lineage);
    for (size_t i = 0; i < p->nexamples; i++)
        free(p->examples[i]);
    free(p->examples);
    free(p);
}

static void llm_fini(qd_mutator *m)
{
    llm_mutator *st = m->state;
    while (st->live)
        drop_payload(st, st->live);
    free(st->template);
    free(st->separator);
    free(st->joiner);
    free(st->end);
    free(st->system);
    free(st->topic);
    free(st->rewrite);
    free(st->crossover);
    free(st->lmx);
    qdi_strings_free(st->seeds);
    qdi_strings_free(st->stop);
    qdi_strings_free(st->targets);
    free(st->seen.slots);
    if (st->has_pop)
        qdi_population_fini(&st->pop);
    if (st->lock_ready)
        pthread_rwlock_destroy(&st->seen_lock);
}

/* ---- building prompts (main thread) ------------------------------------ */

/* The lmx_prompt template with {examples} = "T e1 SEP T e2 SEP ... " and
 * {template} = T: by default QDAIF's "T e1 SEP T e2 SEP T e3 SEP T". */
static char *lmx_prompt(const llm_mutator *st, const char *const *examples, size_t n)
{
    qdi_strbuf b = {0};
    char *out = NULL, err[256];
    qdi_strbuf_put(&b, "");
    for (size_t i = 0; i < n; i++) {
        qdi_strbuf_put(&b, st->template);
        qdi_strbuf_put(&b, st->joiner);
        qdi_strbuf_put(&b, examples[i]);
        qdi_strbuf_put(&b, st->separator);
    }
    const char *values[3] = {b.s, st->template, st->topic};
    if (!b.failed)
        qdi_template_expand(st->lmx, lmx_fields, values, 3, &out, err, sizeof err);
    free(b.s);
    return out;
}

/* Keeps copies of a prompt's examples in its payload. */
static int keep_examples(payload *p, const char *const *examples, size_t n)
{
    if (!n)
        return QD_OK;
    if (!(p->examples = calloc(n, sizeof *p->examples)))
        return QD_ENOMEM;
    for (; p->nexamples < n; p->nexamples++)
        if (!(p->examples[p->nexamples] = strdup(examples[p->nexamples])))
            return QD_ENOMEM;
    return QD_OK;
}

static void put_json_string(qdi_strbuf *b, const char *s)
{
    cJSON *v = cJSON_CreateString(s);
    char *text = v ? cJSON_PrintUnformatted(v) : NULL;
    if (text)
        qdi_strbuf_put(b, text);
    else
        b->failed = 1;
    free(text);
    cJSON_Delete(v);
}

/* The lineage of a child, as far as ask knows it: {"op": ..., "parents":
 * [cells] or "seeds": [indices], "examples" (lmx-replace), "target". */
static char *lineage(const char *op, const char *list_name, const size_t *ids, size_t n, const char *const *examples,
                     size_t nexamples, const char *target)
{
    qdi_strbuf b = {0};
    char num[32];
    qdi_strbuf_put(&b, "{\"op\":\"");
    qdi_strbuf_put(&b, op);
    qdi_strbuf_put(&b, "\",\"");
    qdi_strbuf_put(&b, list_name);
    qdi_strbuf_put(&b, "\":[");
    for (size_t i = 0; i < n; i++) {
        snprintf(num, sizeof num, "%s%zu", i ? "," : "", ids[i]);
        qdi_strbuf_put(&b, num);
    }
    qdi_strbuf_put(&b, "]");
    if (examples) {
        qdi_strbuf_put(&b, ",\"examples\":[");
        for (size_t i = 0; i < nexamples; i++) {
            if (i)
                qdi_strbuf_put(&b, ",");
            put_json_string(&b, examples[i]);
        }
        qdi_strbuf_put(&b, "]");
    }
    if (target) {
        qdi_strbuf_put(&b, ",\"target\":");
        put_json_string(&b, target);
    }
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* k seed texts in random order (all of them when there are fewer); with
 * fixed the first k in their order (the "fixed few-shot" baseline). */
static int seeded_job(qd_mutator *m, payload *p, int fixed)
{
    llm_mutator *st = m->state;
    size_t k = st->zero_shot ? 0 : ((size_t)st->examples < st->nseeds ? (size_t)st->examples : st->nseeds);
    size_t idx[20], all[64];
    const char *ex[20];
    size_t pool = st->nseeds < 64 ? st->nseeds : 64;
    for (size_t i = 0; i < pool; i++)
        all[i] = i;
    if (k > pool)
        k = pool;
    if (k && fixed)
        memcpy(idx, all, k * sizeof *idx);
    else if (k) {
        gsl_ran_choose(m->rng, idx, k, all, pool, sizeof *all);
        gsl_ran_shuffle(m->rng, idx, k, sizeof *idx);
    }
    for (size_t i = 0; i < k; i++)
        ex[i] = st->seeds[idx[i]];
    p->prompt = lmx_prompt(st, ex, k);
    p->lineage = lineage(st->zero_shot ? "zero-shot" : (fixed ? "fixed" : "seeded"), "seeds", idx, k,
                         st->mode == MODE_LMX_REPLACE ? ex : NULL, k, NULL);
    p->endpoint = st->endpoint;
    return p->prompt && p->lineage ? keep_examples(p, ex, k) : QD_ENOMEM;
}

/* k distinct filled cells drawn with weights 1 / (1 + d^3), d the distance
 * in bin-index space from a uniformly drawn parent cell (LMX-near); with
 * near 0 (or an archive without coordinates) uniformly. */
static int pick_cells(qd_mutator *m, const qd_archive *a, size_t k, int near, size_t *cells)
{
    size_t filled = qd_archive_filled(a), dims = qd_archive_measure_dim(a), parent;
    double *w = malloc(filled * sizeof *w);
    size_t *pc = malloc(2 * (dims ? dims : 1) * sizeof *pc), *jc = pc + (dims ? dims : 1);
    qd_elite e;
    int rc = QD_OK;
    if (!w || !pc) {
        rc = QD_ENOMEM;
        goto done;
    }
    qd_archive_sample(a, m->rng, &parent);
    if (near && qd_archive_coords(a, parent, pc) != QD_OK)
        near = 0;
    for (size_t i = 0; i < filled; i++) {
        qd_archive_elite_at(a, i, &e);
        w[i] = 1.0;
        if (near) {
            double d2 = 0;
            qd_archive_coords(a, e.cell, jc);
            for (size_t d = 0; d < dims; d++)
                d2 += ((double)jc[d] - (double)pc[d]) * ((double)jc[d] - (double)pc[d]);
            w[i] = 1.0 / (1.0 + pow(d2, 1.5)); /* 1 / (1 + |d|^3) */
        }
    }
    /* weighted draws without replacement, in draw order */
    for (size_t n = 0; n < k; n++) {
        double total = 0, u;
        size_t i;
        for (i = 0; i < filled; i++)
            total += w[i];
        u = gsl_rng_uniform(m->rng) * total;
        for (i = 0; i + 1 < filled && (u -= w[i]) >= 0; i++)
            ;
        while (w[i] == 0) /* rounding left u past the last weight */
            i--;
        qd_archive_elite_at(a, i, &e);
        cells[n] = e.cell;
        w[i] = 0;
    }
done:
    free(w);
    free(pc);
    return rc;
}

static int lmx_job(qd_mutator *m, const qd_archive *a, payload *p)
{
    llm_mutator *st = m->state;
    size_t k = (size_t)st->examples, cells[20];
    const char *ex[20];
    qd_elite e;
    int rc = pick_cells(m, a, k, st->mode == MODE_LMX_NEAR, cells);
    if (rc)
        return rc;
    for (size_t i = 0; i < k; i++) {
        qd_archive_elite(a, cells[i], &e);
        ex[i] = e.text;
    }
    p->prompt = lmx_prompt(st, ex, k);
    p->lineage = lineage(mode_names[st->mode], "parents", cells, k, NULL, 0, NULL);
    p->endpoint = st->endpoint;
    return p->prompt && p->lineage ? keep_examples(p, ex, k) : QD_ENOMEM;
}

/* The parent's examples (from its lineage) with one swapped for a random
 * text of the pool: the seeds and every elite. */
static int replace_job(qd_mutator *m, const qd_archive *a, payload *p)
{
    llm_mutator *st = m->state;
    size_t parent, k = 0, pool = st->nseeds + qd_archive_filled(a), pick;
    const char *ex[20];
    char *owned[20] = {0};
    qd_elite e;
    cJSON *lin, *list, *item;
    qd_archive_sample(a, m->rng, &parent);
    qd_archive_elite(a, parent, &e);
    lin = e.lineage ? cJSON_Parse(e.lineage) : NULL;
    list = cJSON_GetObjectItemCaseSensitive(lin, "examples");
    cJSON_ArrayForEach(item, list)
        if (cJSON_IsString(item) && k < (size_t)st->examples && (owned[k] = strdup(item->valuestring)))
            k++;
    cJSON_Delete(lin);
    if (k == 0) /* no examples kept: start from LMX-near ones */
        return lmx_job(m, a, p);
    for (size_t i = 0; i < k; i++)
        ex[i] = owned[i];
    pick = gsl_rng_uniform_int(m->rng, pool);
    size_t slot = gsl_rng_uniform_int(m->rng, k);
    if (pick < st->nseeds) {
        ex[slot] = st->seeds[pick];
    } else {
        qd_elite other;
        qd_archive_elite_at(a, pick - st->nseeds, &other);
        ex[slot] = other.text;
    }
    p->prompt = lmx_prompt(st, ex, k);
    p->lineage = lineage("lmx-replace", "parents", &parent, 1, ex, k, NULL);
    p->endpoint = st->endpoint;
    int rc = p->prompt && p->lineage ? keep_examples(p, ex, k) : QD_ENOMEM;
    for (size_t i = 0; i < k; i++)
        free(owned[i]);
    return rc;
}

/* k distinct members of the mutator's own population in random order
 * (lmx-quality: the best texts; nsaif: the novelty archive). */
static int population_job(qd_mutator *m, payload *p)
{
    llm_mutator *st = m->state;
    size_t k = (size_t)st->examples, idx[20], *all = malloc(st->pop.n * sizeof *all);
    const char *ex[20];
    if (!all)
        return QD_ENOMEM;
    for (size_t i = 0; i < st->pop.n; i++)
        all[i] = i;
    gsl_ran_choose(m->rng, idx, k, all, st->pop.n, sizeof *all);
    gsl_ran_shuffle(m->rng, idx, k, sizeof *idx);
    free(all);
    for (size_t i = 0; i < k; i++)
        ex[i] = st->pop.texts[idx[i]];
    p->prompt = lmx_prompt(st, ex, k);
    p->lineage = lineage(mode_names[st->mode], "members", idx, k, NULL, 0, NULL);
    p->endpoint = st->endpoint;
    return p->prompt && p->lineage ? keep_examples(p, ex, k) : QD_ENOMEM;
}

static int instruction_job(qd_mutator *m, const qd_archive *a, payload *p)
{
    llm_mutator *st = m->state;
    size_t cells[2];
    qd_elite e1, e2;
    char err[256];
    int rc;
    if (st->mode == MODE_REWRITE) {
        const char *target = st->targets[gsl_rng_uniform_int(m->rng, st->ntargets)];
        qd_archive_sample(a, m->rng, &cells[0]);
        qd_archive_elite(a, cells[0], &e1);
        const char *values[3] = {e1.text, target, st->topic};
        rc = qdi_template_expand(st->rewrite, rewrite_fields, values, 3, &p->prompt, err, sizeof err);
        if (rc == QD_OK)
            p->lineage = lineage("rewrite", "parents", cells, 1, NULL, 0, target);
    } else {
        if ((rc = pick_cells(m, a, 2, 0, cells)))
            return rc;
        qd_archive_elite(a, cells[0], &e1);
        qd_archive_elite(a, cells[1], &e2);
        const char *values[3] = {e1.text, e2.text, st->topic};
        rc = qdi_template_expand(st->crossover, crossover_fields, values, 3, &p->prompt, err, sizeof err);
        if (rc == QD_OK)
            p->lineage = lineage("crossover", "parents", cells, 2, NULL, 0, NULL);
    }
    p->endpoint = st->endpoint;
    return rc ? rc : (p->lineage ? QD_OK : QD_ENOMEM);
}

static int llm_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    llm_mutator *st = m->state;
    size_t need = st->mode == MODE_REWRITE ? 1 : (st->mode == MODE_CROSSOVER ? 2 : (size_t)st->examples);
    for (size_t j = 0; j < n; j++) {
        payload *p = calloc(1, sizeof *p);
        int rc;
        if (!p)
            return qd_mutator_fail(m, QD_ENOMEM, "llm: out of memory");
        p->next = st->live;
        if (st->live)
            st->live->prev = p;
        st->live = p;
        if (st->mode == MODE_FIXED || st->mode == MODE_SHUFFLE || st->mode == MODE_ZERO_SHOT)
            rc = seeded_job(m, p, st->mode == MODE_FIXED);
        else if (st->has_pop)
            rc = st->asked < st->initial || st->pop.n < need ? seeded_job(m, p, 0) : population_job(m, p);
        else if (st->asked < st->initial || qd_archive_filled(a) < need)
            rc = seeded_job(m, p, 0);
        else if (st->mode == MODE_LMX_NEAR || st->mode == MODE_LMX)
            rc = lmx_job(m, a, p);
        else if (st->mode == MODE_LMX_REPLACE)
            rc = replace_job(m, a, p);
        else
            rc = instruction_job(m, a, p);
        if (rc)
            return qd_mutator_fail(m, rc, "llm: could not build a prompt: %s", qd_strerror(rc));
        jobs[j].data = p;
        st->asked++;
    }
    return QD_OK;
}

/* ---- producing (a worker) ---------------------------------------------- */

/* The length of text up to and including its last full sentence (a ".",
 * "!" or "?", with closing quotes or brackets after it); 0 if none. */
static size_t last_sentence(const char *text, size_t len)
{
    for (size_t i = len; i > 0; i--)
        if (strchr(".!?", text[i - 1]) && (i == len || strchr(" \t\"')", text[i]))) {
            while (i < len && strchr("\"')", text[i]))
                i++;
            return i;
        }
    return 0;
}

/* Cuts at the first stop marker, strips, adds the ending: a new string.
 * truncated (the reply ran into max_tokens before any stop marker): with
 * "cut" the text ends at its last full sentence (*none set when there is
 * none, NULL returned). */
static char *post_process(const llm_mutator *st, const char *raw, int truncated, int *none)
{
    size_t len = strlen(raw), start = 0, endlen = strlen(st->end);
    int stopped = 0, cut = 0;
    char *out;
    *none = 0;
    for (size_t i = 0; i < st->nstop; i++) {
        const char *at = *st->stop[i] ? strstr(raw, st->stop[i]) : NULL;
        if (at && (size_t)(at - raw) < len) {
            len = (size_t)(at - raw);
            stopped = 1;
        }
    }
    while (start < len && strchr(" \t\r\n", raw[start]))
        start++;
    while (len > start && strchr(" \t\r\n", raw[len - 1]))
        len--;
    if (truncated && !stopped && st->on_truncated == TRUNC_CUT && len > start) {
        size_t keep = last_sentence(raw + start, len - start);
        if (!keep) {
            *none = 1;
            return NULL;
        }
        len = start + keep;
        cut = 1; /* a sentence ends it: no ending added */
    }
    if (!(out = malloc(len - start + endlen + 1)))
        return NULL;
    memcpy(out, raw + start, len - start);
    out[len - start] = '\0';
    if (!cut && len > start && endlen && (len - start < endlen || strcmp(out + (len - start - endlen), st->end) != 0))
        strcat(out, st->end);
    return out;
}

/* The prompt to send: the payload's, or (when the server's context is
 * known and the prompt would not fit it with max_tokens, or the server said
 * so) rebuilt from the last k of its examples. *owned is set when rebuilt. */
static const char *fitted_prompt(const llm_mutator *st, const payload *p, size_t k, char **owned)
{
    *owned = NULL;
    if (k >= p->nexamples)
        return p->prompt;
    *owned = lmx_prompt(st, (const char *const *)p->examples + (p->nexamples - k), k);
    return *owned;
}

/* Nonzero when a prompt of len characters, at per_char tokens each, and
 * max_tokens more fit a context of ctx tokens (unknown: it fits). */
static int fits(size_t len, long ctx, double per_char, long max_tokens)
{
    return ctx <= 0 || per_char <= 0 || (double)len * per_char + (double)max_tokens <= (double)ctx;
}

/* The reason is the same for every such job, so they are counted as one kind. */
static int too_big(qd_worker *w, long ctx, size_t k)
{
    char size[64] = "";
    if (ctx > 0)
        snprintf(size, sizeof size, " (%ld tokens)", ctx);
    return qd_worker_fail(w, "the prompt does not fit the server's context%s even with %zu example%s: use shorter "
                             "texts or a smaller max_tokens, or give the server a larger context (llama.cpp: -c is "
                             "shared by the -np slots, each gets c / np)", size, k, k == 1 ? "" : "s");
}

static int llm_produce(const qd_mutator *m, qd_job *job, qd_worker *w)
{
    llm_mutator *st = m->state;
    const payload *p = job->data;
    qd_llm_request req = {0};
    qd_llm_reply r;
    char *text, *lin, *owned = NULL;
    unsigned long seed = gsl_rng_get(w->rng);
    int dup, rc, none, truncated;
    long ctx;
    double per_char;
    if (!w->llm || !p)
        return qd_worker_fail(w, "no LLM session or prompt for the job");
    size_t k = p->nexamples;
    qd_llm_context(w->llm, &ctx, &per_char);
    while (k > 1 && !fits(strlen(p->prompt) * k / p->nexamples, ctx, per_char, st->max_tokens))
        k--; /* an estimate; the rebuilt prompt is checked below */
    req.endpoint = p->endpoint;
    req.system = st->system;
    req.temperature = st->temperature;
    req.max_tokens = st->max_tokens;
    req.stop = (const char *const *)st->stop;
    req.seeded = 1;
    req.seed = seed;
    req.generation = 1;
    for (;;) {
        free(owned);
        if (!(req.prompt = fitted_prompt(st, p, k, &owned)))
            return QD_ENOMEM;
        if (k > 1 && !fits(strlen(req.prompt), ctx, per_char, st->max_tokens)) {
            k--;
            continue;
        }
        rc = qd_llm_complete(w->llm, &req, &r);
        if (rc == QD_ETOOBIG && k > 1) { /* the server said so: one example fewer */
            qd_llm_context(w->llm, &ctx, &per_char);
            k--;
            continue;
        }
        break;
    }
    if (rc != QD_OK) {
        const char *e = qd_llm_session_error(w->llm);
        free(owned);
        if (rc == QD_ETOOBIG)
            return too_big(w, ctx, k);
        return qd_worker_fail(w, "%s", strncmp(e, "llm: ", 5) == 0 ? e + 5 : e);
    }
    free(owned);
    truncated = r.finish_reason && strcmp(r.finish_reason, "length") == 0;
    text = post_process(st, r.text, truncated, &none);
    if (truncated && st->on_truncated == TRUNC_REJECT && r.text[0]) {
        qd_solution_set_text(&job->sol, r.text); /* kept for failures.jsonl */
        qd_llm_reply_clear(&r);
        free(text);
        return qd_worker_fail(w, "truncated text rejected (finish_reason \"length\"; on_truncated is \"reject\")");
    }
    if (none) {
        qd_solution_set_text(&job->sol, r.text);
        qd_llm_reply_clear(&r);
        return qd_worker_fail(w, "truncated text with no full sentence (finish_reason \"length\")");
    }
    qd_llm_reply_clear(&r);
    if (!text)
        return QD_ENOMEM;
    if (!*text) {
        free(text);
        return qd_worker_fail(w, "empty text");
    }
    pthread_rwlock_rdlock(&st->seen_lock);
    dup = seen_has(&st->seen, text_hash(text));
    pthread_rwlock_unlock(&st->seen_lock);
    if (dup) {
        qd_solution_set_text(&job->sol, text);
        free(text);
        return qd_worker_fail(w, "duplicate text");
    }
    size_t n = strlen(p->lineage) + 96;
    if (!(lin = malloc(n))) {
        free(text);
        return QD_ENOMEM;
    }
    snprintf(lin, n, "%s,\"seed\":%lu%s%s", p->lineage, seed, truncated ? (st->on_truncated == TRUNC_CUT ?
             ",\"truncated\":\"cut\"" : ",\"truncated\":\"kept\"") : "", "");
    if (k < p->nexamples) {
        size_t len = strlen(lin);
        snprintf(lin + len, n - len, ",\"examples_sent\":%zu", k);
    }
    strcat(lin, "}");
    rc = qd_solution_set_text(&job->sol, text);
    if (rc == QD_OK)
        rc = qd_solution_set_lineage(&job->sol, lin);
    free(text);
    free(lin);
    return rc;
}

/* ---- learning ---------------------------------------------------------- */

static int llm_tell(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    llm_mutator *st = m->state;
    int rc = QD_OK;
    (void)a;
    pthread_rwlock_wrlock(&st->seen_lock);
    for (size_t j = 0; j < n && rc == QD_OK; j++)
        if (jobs[j].status == QD_OK && jobs[j].sol.text)
            rc = seen_add(&st->seen, text_hash(jobs[j].sol.text));
    pthread_rwlock_unlock(&st->seen_lock);
    for (size_t j = 0; st->has_pop && j < n && rc == QD_OK; j++) /* in job order */
        if (jobs[j].status == QD_OK && jobs[j].sol.text &&
            qdi_population_offer(&st->pop, jobs[j].sol.text, jobs[j].sol.objective, jobs[j].sol.measures) < 0)
            rc = QD_ENOMEM;
    for (size_t j = 0; j < n; j++)
        if (jobs[j].data) {
            drop_payload(st, jobs[j].data);
            jobs[j].data = NULL;
        }
    return rc ? qd_mutator_fail(m, rc, "llm: out of memory") : QD_OK;
}

/* The state: the jobs asked and the set of texts seen (their hashes, 16
 * hex digits each), so that a resumed run rejects the same duplicates as
 * one that never stopped. */
static int llm_save(const qd_mutator *m, cJSON *out)
{
    const llm_mutator *st = m->state;
    cJSON *seen;
    char hex[17];
    if (!cJSON_AddNumberToObject(out, "asked", (double)st->asked) || !(seen = cJSON_AddArrayToObject(out, "seen")))
        return QD_ENOMEM;
    for (size_t i = 0; i < st->seen.cap; i++) {
        cJSON *h;
        if (!st->seen.slots[i])
            continue;
        snprintf(hex, sizeof hex, "%016llx", (unsigned long long)st->seen.slots[i]);
        if (!(h = cJSON_CreateString(hex)) || !cJSON_AddItemToArray(seen, h)) {
            cJSON_Delete(h);
            return QD_ENOMEM;
        }
    }
    return st->has_pop ? qdi_population_save(&st->pop, out) : QD_OK;
}

/* Adds the saved text hashes ("seen", absent in checkpoints before it was
 * saved) to the set. */
static int load_seen(qd_mutator *m, const cJSON *seen)
{
    llm_mutator *st = m->state;
    const cJSON *e;
    size_t i = 0;
    if (!seen)
        return QD_OK;
    if (!cJSON_IsArray(seen))
        return qd_mutator_fail(m, QD_EFORMAT, "llm: checkpoint's \"seen\" is not an array");
    cJSON_ArrayForEach(e, seen) {
        const char *s = cJSON_GetStringValue(e);
        char *end = NULL;
        uint64_t h = s && strlen(s) == 16 ? (uint64_t)strtoull(s, &end, 16) : 0;
        if (!h || !end || *end)
            return qd_mutator_fail(m, QD_EFORMAT, "llm: checkpoint's seen[%zu] is not a text hash", i);
        if (!seen_has(&st->seen, h) && seen_add(&st->seen, h))
            return qd_mutator_fail(m, QD_ENOMEM, "llm: out of memory");
        i++;
    }
    return QD_OK;
}

static int llm_load(qd_mutator *m, const cJSON *in)
{
    llm_mutator *st = m->state;
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(in, "asked");
    if (!qdi_json_is_whole(asked, 0, QDI_JSON_COUNT_MAX))
        return qd_mutator_fail(m, QD_EFORMAT, "llm: checkpoint has no \"asked\" count");
    st->asked = (uint64_t)asked->valuedouble;
    if (st->has_pop && qdi_population_load(&st->pop, in) != QD_OK)
        return qd_mutator_fail(m, QD_EFORMAT, "llm: the checkpoint's population does not fit this config");
    return load_seen(m, cJSON_GetObjectItemCaseSensitive(in, "seen"));
}

const qd_mutator_type qdi_mutator_llm = {
    .name = "llm",
    .state_size = sizeof(llm_mutator),
    .flags = QD_MUTATOR_ANY_N,
    .init = llm_init,
    .ask = llm_ask,
    .produce = llm_produce,
    .tell = llm_tell,
    .save = llm_save,
    .load = llm_load,
    .fini = llm_fini,
};
