/* llmatic.c - the LLMatic mutator (Nasir et al. 2023, "LLMatic: Neural
 * Architecture Search via Large Language Models and Quality Diversity
 * Optimization"): an LLM writes each child network in the network language
 * (evaluators/nas_lang.c) from the parent network(s) and an instruction
 * prompt drawn from the prompt archive (mutators/prompt_archive.c).
 *
 * Each job is a mutation (probability 0.85: one parent, one of the 13
 * instructions) or a crossover (0.15: two parents, the crossover prompt).
 * Parents are drawn among the top networks of the archive by objective,
 * prompts among the most curious of their kind; the child is sampled at its
 * prompt's temperature +- uniform(0.1). The reply is searched for a network
 * (code fences, prose around it) and strictly checked; one that holds none,
 * does not parse or repeats its parent is a failed job with its reason.
 * After each job the prompt's curiosity and temperature move by whether the
 * child entered the network archive. The first jobs evaluate the seed
 * networks as they are; while the archive is empty they are the parents.
 *
 * "genome": "pytorch" makes the genomes PyTorch nn.Module source (the
 * authors' form) for a trainer behind the command evaluator: the prompt
 * describes the module's contract instead of the network language, and a
 * reply's first code block holding an nn.Module class is the child.
 *
 * ask (main thread, the mutator's RNG) draws op, parents, prompt and
 * temperature and writes the prompt into a payload of the job's own;
 * produce (a worker) calls the model with the job's seed; tell updates the
 * prompt archive in job order, so a batch run is the same whatever the
 * thread count. The prompt archive is checkpointed and written with the
 * run's outputs as prompts.json and prompts.csv.
 */
#include <stdlib.h>
#include <string.h>
#include "evaluators/nas.h"
#include "mutators/prompt_archive.h"

typedef struct payload {
    char *prompt;
    char *lineage;        /* JSON object text without the closing "}" */
    char *parents[2];     /* parent texts (a child equal to one is rejected) */
    double temperature;
    size_t prompt_index;
    int replied;          /* produce got a reply (the prompt's outcome counts) */
    struct payload *prev, *next;
} payload;

typedef struct llmatic_mutator {
    qdi_prompt_archive prompts;
    int pytorch;   /* genomes are nn.Module source, not the network language */
    char *language; /* {language} of the prompt */
    char **seeds;
    size_t nseeds;
    char *template, *system;
    qd_llm_endpoint endpoint;
    double mutation_probability;
    long top_networks, top_prompts, max_tokens;
    uint64_t asked;
    payload *live;
} llmatic_mutator;

static const char *const template_fields[] = {"language", "networks", "instruction"};

/* ---- configuration ----------------------------------------------------- */

/* The default seed: input, flatten (for an image), dense 32 relu, output. */
static char *default_seed(const char *input, long classes)
{
    qdi_nas_shape s;
    char *out = malloc(256);
    if (!out)
        return NULL;
    if (qdi_nas_parse_shape(input, &s) != QD_OK)
        s.flat = 1;
    snprintf(out, 256, "input %s\n%sdense 32 relu\ndense %ld softmax\n", input, s.flat ? "" : "flatten\n", classes);
    return out;
}

/* The default PyTorch seed: the same network as an nn.Sequential. */
static char *default_module(const char *input, long classes)
{
    qdi_nas_shape s;
    char *out = malloc(1024);
    if (!out)
        return NULL;
    if (qdi_nas_parse_shape(input, &s) != QD_OK)
        s = (qdi_nas_shape){8, 8, 1, 0};
    snprintf(out, 1024,
             "import torch.nn as nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
             "        self.layers = nn.Sequential(\n            nn.Flatten(),\n            nn.Linear(%zu, 32),\n"
             "            nn.ReLU(),\n            nn.Linear(32, %ld),\n        )\n\n    def forward(self, x):\n"
             "        return self.layers(x)\n",
             qdi_nas_shape_size(s), classes);
    return out;
}

/* The PyTorch contract, in place of the network language's description. */
static char *module_language(const char *input, long classes)
{
    qdi_nas_shape s;
    char *out = malloc(512);
    if (!out)
        return NULL;
    if (qdi_nas_parse_shape(input, &s) != QD_OK)
        s = (qdi_nas_shape){8, 8, 1, 0};
    if (s.flat)
        snprintf(out, 512, "A network is a PyTorch nn.Module class named Net, built with no arguments, whose "
                           "forward takes a batch of vectors of %d numbers and returns %ld logits per example. Use "
                           "only torch, torch.nn as nn and torch.nn.functional as F.", s.c, classes);
    else
        snprintf(out, 512, "A network is a PyTorch nn.Module class named Net, built with no arguments, whose "
                           "forward takes a batch of images of shape (batch, %d, %d, %d) and returns %ld logits per "
                           "example. Use only torch, torch.nn as nn and torch.nn.functional as F.", s.c, s.h, s.w,
                 classes);
    return out;
}

static int read_seeds(qd_config *cfg, llmatic_mutator *st)
{
    const char *input = "8x8x1", *language = NULL;
    long classes = 10;
    char err[512];
    if (qd_config_string(cfg, "input", &input) || qd_config_int(cfg, "classes", &classes, ">= 2 <= 4096") ||
        qdi_config_strings(cfg, "seeds", 0, 1, &st->seeds, &st->nseeds) ||
        qd_config_string(cfg, "language", &language))
        return QD_EINVAL;
    st->language = language ? strdup(language) : st->pytorch ? module_language(input, classes) : strdup(qdi_nas_language);
    if (!st->language)
        return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    if (!st->seeds) {
        char *seed = st->pytorch ? default_module(input, classes) : default_seed(input, classes);
        if (!seed || !(st->seeds = calloc(2, sizeof *st->seeds))) {
            free(seed);
            return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
        }
        st->seeds[0] = seed;
        st->nseeds = 1;
    }
    for (size_t i = 0; i < st->nseeds; i++) {
        qdi_nas_net net;
        if (st->pytorch) {
            if (!strstr(st->seeds[i], "nn.Module"))
                return qd_config_fail(cfg, "seeds", "[%zu] holds no nn.Module class", i);
            continue;
        }
        if (qdi_nas_parse(st->seeds[i], &net, err, sizeof err) != QD_OK)
            return qd_config_fail(cfg, "seeds", "[%zu] is not a valid network: %s", i, err);
        qdi_nas_free(&net);
    }
    return QD_OK;
}

static int read_prompts(qd_config *cfg, llmatic_mutator *st)
{
    char **mutation = NULL, *cross[2] = {NULL, NULL};
    const char *crossover = qdi_llmatic_crossover;
    size_t n = 13;
    double t0 = 0.6;
    int rc;
    if (qdi_config_strings(cfg, "instructions", 0, 1, &mutation, &n) ||
        qd_config_string(cfg, "crossover_instruction", &crossover) ||
        qd_config_number(cfg, "temperature", &t0, ">= 0.1 <= 1")) {
        qdi_strings_free(mutation);
        return QD_EINVAL;
    }
    cross[0] = (char *)crossover;
    rc = qdi_prompt_archive_init(&st->prompts, mutation ? (const char *const *)mutation : qdi_llmatic_instructions,
                                 mutation ? n : 13, (const char *const *)cross, 1, t0);
    qdi_strings_free(mutation);
    return rc ? qd_config_fail(cfg, NULL, "could not be set up: out of memory") : QD_OK;
}

static int llmatic_init(qd_mutator *m, qd_config *cfg, const qd_space *space)
{
    static const char *const endpoints[] = {"chat", "completions", NULL};
    static const char *const genomes[] = {"network", "pytorch", NULL};
    llmatic_mutator *st = m->state;
    const char *tmpl = "{language}\n\n{networks}{instruction}. Reply with the whole new network in this language, "
                       "in one code block.",
               *system = NULL;
    long batch = 8;
    int endpoint = 0, genome = 0;
    char err[256], *out;
    const char *values[3] = {"", "", ""};
    if (!m->llm)
        return qd_config_fail(cfg, "type", "\"llmatic\" needs a language model: add a top-level \"llm\" section "
                                           "(url, model)");
    if (space->kind != QD_GENOME_TEXT)
        return qd_config_fail(cfg, "type", "\"llmatic\" writes networks, but the evaluator's genome is real-valued");
    st->mutation_probability = 0.85;
    st->top_networks = 5;
    st->top_prompts = 3;
    st->max_tokens = 600;
    if (qd_config_int(cfg, "batch", &batch, ">= 1 <= 100000") ||
        qd_config_number(cfg, "mutation_probability", &st->mutation_probability, ">= 0 <= 1") ||
        qd_config_int(cfg, "top_networks", &st->top_networks, ">= 1 <= 10000") ||
        qd_config_int(cfg, "top_prompts", &st->top_prompts, ">= 1 <= 64") ||
        qd_config_int(cfg, "max_tokens", &st->max_tokens, ">= 1") ||
        qd_config_choice(cfg, "endpoint", endpoints, &endpoint) || qd_config_string(cfg, "prompt", &tmpl) ||
        qd_config_string(cfg, "system", &system) || qd_config_choice(cfg, "genome", genomes, &genome))
        return QD_EINVAL;
    st->pytorch = genome == 1;
    if (read_seeds(cfg, st) || read_prompts(cfg, st))
        return QD_EINVAL;
    if (qdi_template_expand(tmpl, template_fields, values, 3, &out, err, sizeof err) != QD_OK)
        return qd_config_fail(cfg, "prompt", "%s", err);
    free(out);
    if (!(st->template = strdup(tmpl)) || (system && !(st->system = strdup(system))))
        return qd_config_fail(cfg, NULL, "could not be set up: out of memory");
    st->endpoint = endpoint == 0 ? QD_LLM_CHAT : QD_LLM_COMPLETIONS;
    m->batch = (size_t)batch;
    return QD_OK;
}

static void drop_payload(llmatic_mutator *st, payload *p)
{
    if (p->prev)
        p->prev->next = p->next;
    else
        st->live = p->next;
    if (p->next)
        p->next->prev = p->prev;
    free(p->prompt);
    free(p->lineage);
    free(p->parents[0]);
    free(p->parents[1]);
    free(p);
}

static void llmatic_fini(qd_mutator *m)
{
    llmatic_mutator *st = m->state;
    while (st->live)
        drop_payload(st, st->live);
    qdi_prompt_archive_free(&st->prompts);
    qdi_strings_free(st->seeds);
    free(st->template);
    free(st->system);
    free(st->language);
}

/* ---- asking (main thread) ---------------------------------------------- */

/* The top `k` filled cells by objective (ties: the lower cell), best first,
 * into cells (room for k); their number. */
static size_t top_cells(const qd_archive *a, size_t k, size_t *cells, double *objs)
{
    size_t filled = qd_archive_filled(a), n = 0;
    for (size_t i = 0; i < filled; i++) {
        qd_elite e;
        size_t at;
        qd_archive_elite_at(a, i, &e);
        for (at = n; at > 0 && (e.objective > objs[at - 1] || (e.objective == objs[at - 1] && e.cell < cells[at - 1]));
             at--)
            ;
        if (at >= k)
            continue;
        if (n < k)
            n++;
        memmove(cells + at + 1, cells + at, (n - 1 - at) * sizeof *cells);
        memmove(objs + at + 1, objs + at, (n - 1 - at) * sizeof *objs);
        cells[at] = e.cell;
        objs[at] = e.objective;
    }
    return n;
}

/* Draws nparents distinct parents among the top networks (or the seeds
 * while the archive is empty); their texts into texts (copies) and cells
 * into ids (the seed index for seeds). */
static int pick_parents(qd_mutator *m, const qd_archive *a, size_t nparents, char **texts, size_t *ids, int *from_seeds)
{
    llmatic_mutator *st = m->state;
    size_t k = (size_t)st->top_networks, *cells = malloc(k * sizeof *cells), n, first = 0;
    double *objs = malloc(k * sizeof *objs);
    int rc = QD_OK;
    if (!cells || !objs) {
        rc = QD_ENOMEM;
        goto done;
    }
    n = top_cells(a, k, cells, objs);
    *from_seeds = n == 0;
    for (size_t i = 0; i < nparents; i++) {
        size_t pool = n ? n : st->nseeds, j = gsl_rng_uniform_int(m->rng, pool);
        if (i == 1 && pool > 1 && j == first) /* a distinct second parent */
            j = (j + 1 + gsl_rng_uniform_int(m->rng, pool - 1)) % pool;
        first = i == 0 ? j : first;
        if (n) {
            qd_elite e;
            qd_archive_elite(a, cells[j], &e);
            ids[i] = cells[j];
            texts[i] = strdup(e.text ? e.text : "");
        } else {
            ids[i] = j;
            texts[i] = strdup(st->seeds[j]);
        }
        if (!texts[i])
            rc = QD_ENOMEM;
    }
done:
    free(cells);
    free(objs);
    return rc;
}

/* The prompt: the template with the language, the parents in code fences
 * and the instruction. */
static char *build_prompt(const llmatic_mutator *st, char *const *parents, size_t n, const char *instruction)
{
    qdi_strbuf b = {0};
    char err[256], *out = NULL;
    qdi_strbuf_put(&b, "");
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(parents[i]);
        qdi_strbuf_put(&b, st->pytorch ? "```python\n" : "```\n");
        qdi_strbuf_put(&b, parents[i]);
        qdi_strbuf_put(&b, len && parents[i][len - 1] == '\n' ? "```\n\n" : "\n```\n\n");
    }
    const char *values[3] = {st->language, b.s, instruction};
    if (!b.failed)
        qdi_template_expand(st->template, template_fields, values, 3, &out, err, sizeof err);
    free(b.s);
    return out;
}

static char *make_lineage(const char *op, size_t prompt, double temperature, int from_seeds, const size_t *ids,
                          size_t n)
{
    char t[32], *out = malloc(160);
    if (!out)
        return NULL;
    int len = snprintf(out, 160, "{\"op\":\"%s\",\"prompt\":%zu,\"temperature\":%s,\"%s\":[", op, prompt,
                       qdi_format_double(t, temperature), from_seeds ? "seeds" : "parents");
    for (size_t i = 0; i < n; i++)
        len += snprintf(out + len, 160 - (size_t)len, "%s%zu", i ? "," : "", ids[i]);
    snprintf(out + len, 160 - (size_t)len, "]");
    return out;
}

static int llm_job(qd_mutator *m, const qd_archive *a, payload *p)
{
    llmatic_mutator *st = m->state;
    int crossover = gsl_rng_uniform(m->rng) >= st->mutation_probability && (qd_archive_filled(a) >= 2 ||
                                                                            (qd_archive_filled(a) == 0 && st->nseeds >= 2));
    size_t ids[2], n = crossover ? 2 : 1, prompt = qdi_prompt_archive_pick(&st->prompts, crossover,
                                                                             (size_t)st->top_prompts, m->rng);
    int from_seeds, rc;
    if (prompt == (size_t)-1) { /* no prompt of that kind (an empty instruction list cannot happen) */
        crossover = 0;
        n = 1;
        prompt = qdi_prompt_archive_pick(&st->prompts, 0, (size_t)st->top_prompts, m->rng);
    }
    if ((rc = pick_parents(m, a, n, p->parents, ids, &from_seeds)))
        return rc;
    p->prompt_index = prompt;
    p->temperature = qdi_prompt_archive_child_temperature(&st->prompts, prompt, m->rng);
    p->prompt = build_prompt(st, p->parents, n, st->prompts.prompts[prompt].text);
    p->lineage = make_lineage(crossover ? "crossover" : "mutation", prompt, p->temperature, from_seeds, ids, n);
    return p->prompt && p->lineage ? QD_OK : QD_ENOMEM;
}

static int llmatic_ask(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    llmatic_mutator *st = m->state;
    for (size_t j = 0; j < n; j++, st->asked++) {
        payload *p;
        int rc;
        if (st->asked < st->nseeds) { /* a seed network as it is */
            char lin[64];
            snprintf(lin, sizeof lin, "{\"op\":\"seed\",\"seeds\":[%llu]}", (unsigned long long)st->asked);
            if (qd_solution_set_text(&jobs[j].sol, st->seeds[st->asked]) ||
                qd_solution_set_lineage(&jobs[j].sol, lin))
                return qd_mutator_fail(m, QD_ENOMEM, "llmatic: out of memory");
            jobs[j].data = NULL;
            continue;
        }
        if (!(p = calloc(1, sizeof *p)))
            return qd_mutator_fail(m, QD_ENOMEM, "llmatic: out of memory");
        p->next = st->live;
        if (st->live)
            st->live->prev = p;
        st->live = p;
        jobs[j].data = p;
        if ((rc = llm_job(m, a, p)))
            return qd_mutator_fail(m, rc, "llmatic: could not build a prompt: %s", qd_strerror(rc));
    }
    return QD_OK;
}

/* ---- producing (a worker) ---------------------------------------------- */

/* The nn.Module source in a reply: the first fenced block that holds
 * "nn.Module", else the reply from its first import / class line when it
 * holds one. A malloc'd text, or NULL. */
static char *extract_module(const char *reply)
{
    const char *s = reply, *end = reply + strlen(reply), *from = NULL;
    while ((s = strstr(s, "```")) != NULL) {
        const char *body = strchr(s + 3, '\n'), *close;
        if (!body)
            break;
        body++;
        close = strstr(body, "```");
        if (!close)
            close = end;
        for (const char *q = body; q && q < close; q = strstr(q + 1, "nn.Module"))
            if (strncmp(q, "nn.Module", 9) == 0)
                return strndup(body, (size_t)(close - body));
        if (close == end)
            break;
        s = close + 3;
    }
    if (!strstr(reply, "nn.Module"))
        return NULL;
    for (s = reply; s && *s && !from; s = strchr(s, '\n'), s = s ? s + 1 : NULL)
        if (strncmp(s, "import ", 7) == 0 || strncmp(s, "from ", 5) == 0 || strncmp(s, "class ", 6) == 0)
            from = s;
    return from ? strdup(from) : NULL;
}

/* Checks a PyTorch child: not a copy of a parent (ignoring blank ends). */
static int same_text(const char *a, const char *b)
{
    size_t la, lb;
    if (!a || !b)
        return 0;
    while (*a == '\n' || *a == ' ')
        a++;
    while (*b == '\n' || *b == ' ')
        b++;
    la = strlen(a);
    lb = strlen(b);
    while (la && strchr(" \n", a[la - 1]))
        la--;
    while (lb && strchr(" \n", b[lb - 1]))
        lb--;
    return la == lb && memcmp(a, b, la) == 0;
}

/* Equal networks up to layout: both printed from their parse. */
static int same_network(const qdi_nas_net *a, const char *text)
{
    qdi_nas_net b;
    char err[64], *x, *y;
    int same;
    if (!text || qdi_nas_parse(text, &b, err, sizeof err) != QD_OK)
        return 0;
    x = qdi_nas_print(a);
    y = qdi_nas_print(&b);
    same = x && y && strcmp(x, y) == 0;
    free(x);
    free(y);
    qdi_nas_free(&b);
    return same;
}

static int llmatic_produce(const qd_mutator *m, qd_job *job, qd_worker *w)
{
    const llmatic_mutator *st = m->state;
    payload *p = job->data;
    qd_llm_request req = {0};
    qd_llm_reply r;
    qdi_nas_net net;
    char err[400], *text, *lin;
    unsigned long seed = gsl_rng_get(w->rng);
    int rc;
    if (!p) /* a seed network: nothing to produce */
        return job->sol.text ? QD_OK : qd_worker_fail(w, "no network for the job");
    if (!w->llm)
        return qd_worker_fail(w, "no LLM session for the job");
    req.endpoint = st->endpoint;
    req.system = st->system;
    req.prompt = p->prompt;
    req.temperature = p->temperature;
    req.max_tokens = st->max_tokens;
    req.seeded = 1;
    req.seed = seed;
    req.generation = 1;
    if (qd_llm_complete(w->llm, &req, &r) != QD_OK) {
        const char *e = qd_llm_session_error(w->llm);
        return qd_worker_fail(w, "%s", strncmp(e, "llm: ", 5) == 0 ? e + 5 : e);
    }
    p->replied = 1;
    if (st->pytorch) {
        text = extract_module(r.text);
        qd_llm_reply_clear(&r);
        if (!text)
            return qd_worker_fail(w, "the reply holds no nn.Module class");
        if (same_text(text, p->parents[0]) || same_text(text, p->parents[1])) {
            free(text);
            return qd_worker_fail(w, "the reply repeats a parent network");
        }
        goto accept;
    }
    text = qdi_nas_extract(r.text);
    qd_llm_reply_clear(&r);
    if (!text)
        return qd_worker_fail(w, "the reply holds no network");
    if (qdi_nas_parse(text, &net, err, sizeof err) != QD_OK) {
        free(text);
        return qd_worker_fail(w, "the reply's network: %s", err);
    }
    rc = same_network(&net, p->parents[0]) || same_network(&net, p->parents[1]);
    qdi_nas_free(&net);
    if (rc) {
        free(text);
        return qd_worker_fail(w, "the reply repeats a parent network");
    }
accept:;
    size_t n = strlen(p->lineage) + 48;
    if (!(lin = malloc(n))) {
        free(text);
        return QD_ENOMEM;
    }
    snprintf(lin, n, "%s,\"seed\":%lu}", p->lineage, seed);
    rc = qd_solution_set_text(&job->sol, text);
    if (rc == QD_OK)
        rc = qd_solution_set_lineage(&job->sol, lin);
    free(text);
    free(lin);
    return rc;
}

/* ---- learning ---------------------------------------------------------- */

static int llmatic_tell(qd_mutator *m, const qd_archive *a, qd_job *jobs, size_t n)
{
    llmatic_mutator *st = m->state;
    (void)a;
    for (size_t j = 0; j < n; j++) {
        payload *p = jobs[j].data;
        if (!p)
            continue;
        /* an LLM that did not answer says nothing about the prompt */
        if (p->replied)
            qdi_prompt_archive_update(&st->prompts, p->prompt_index,
                                      jobs[j].status == QD_OK && jobs[j].add.status != QD_NOT_ADDED);
        drop_payload(st, p);
        jobs[j].data = NULL;
    }
    return QD_OK;
}

static int llmatic_save(const qd_mutator *m, cJSON *out)
{
    const llmatic_mutator *st = m->state;
    cJSON *list = qdi_prompt_archive_json(&st->prompts);
    if (!list || !cJSON_AddNumberToObject(out, "asked", (double)st->asked)) {
        cJSON_Delete(list);
        return QD_ENOMEM;
    }
    cJSON_AddItemToObject(out, "prompts", list);
    return QD_OK;
}

static int llmatic_load(qd_mutator *m, const cJSON *in)
{
    llmatic_mutator *st = m->state;
    const cJSON *asked = cJSON_GetObjectItemCaseSensitive(in, "asked");
    char err[256];
    if (!qdi_json_is_whole(asked, 0, QDI_JSON_COUNT_MAX))
        return qd_mutator_fail(m, QD_EFORMAT, "llmatic: checkpoint has no \"asked\" count");
    if (qdi_prompt_archive_load(&st->prompts, cJSON_GetObjectItemCaseSensitive(in, "prompts"), err, sizeof err))
        return qd_mutator_fail(m, QD_EFORMAT, "llmatic: checkpoint: %s", err);
    st->asked = (uint64_t)asked->valuedouble;
    return QD_OK;
}

static int llmatic_write(const qd_mutator *m, const char *dir, char *err, size_t errlen)
{
    const llmatic_mutator *st = m->state;
    return qdi_prompt_archive_write(&st->prompts, dir, err, errlen);
}

const qd_mutator_type qdi_mutator_llmatic = {
    .name = "llmatic",
    .state_size = sizeof(llmatic_mutator),
    .flags = QD_MUTATOR_ANY_N,
    .init = llmatic_init,
    .ask = llmatic_ask,
    .produce = llmatic_produce,
    .tell = llmatic_tell,
    .save = llmatic_save,
    .load = llmatic_load,
    .write = llmatic_write,
    .fini = llmatic_fini,
};
