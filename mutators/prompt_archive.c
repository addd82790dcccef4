/* prompt_archive.c - LLMatic's prompt archive (Nasir et al. 2023): the
 * instruction prompts the LLM is given after the parent network(s), each
 * with its own sampling temperature and a curiosity score. A prompt whose
 * child enters the network archive gains curiosity (+1) and temperature
 * (+0.05); one whose child does not loses curiosity (-0.5) and temperature
 * (-0.05). Parents' prompts are drawn among the most curious; each child is
 * sampled at its prompt's temperature +- uniform(0.1), clipped to
 * [0.1, 1.0]. The authors keep (prompt, temperature) pairs in a second CVT
 * archive; here each prompt is one niche whose temperature evolves, which
 * keeps the same selection and updates without a second tessellation.
 */
#include <stdlib.h>
#include <string.h>
#include "mutators/prompt_archive.h"

/* The paper's instructions, appended after the parent network. */
const char *const qdi_llmatic_instructions[13] = {
    "Add a layer to improve the above network",
    "Delete a layer to improve the above network",
    "Improve the above network",
    "Improve the above network by reducing the size drastically",
    "Improve the above network by increasing the size drastically",
    "Add fully connected layer to improve the above network",
    "Add convolutional layer to improve the above network",
    "Add pooling layer to improve the above network",
    "Add residual connection to improve the above network",
    "Add multiple residual connections to improve the above network",
    "Add dropout layer to improve the above network",
    "Add normalization layer to improve the above network",
    "Add recurrent layer to improve the above network",
};

const char qdi_llmatic_crossover[] = "Combine the above two neural networks and create a third neural network";

static double clip(const qdi_prompt_archive *pa, double t)
{
    return t < pa->t_min ? pa->t_min : t > pa->t_max ? pa->t_max : t;
}

int qdi_prompt_archive_init(qdi_prompt_archive *pa, const char *const *mutation, size_t n,
                            const char *const *crossover, size_t ncross, double t0)
{
    memset(pa, 0, sizeof *pa);
    if (!(pa->prompts = calloc(n + ncross ? n + ncross : 1, sizeof *pa->prompts)))
        return QD_ENOMEM;
    pa->step = 0.05;
    pa->jitter = 0.1;
    pa->t_min = 0.1;
    pa->t_max = 1.0;
    pa->reward = 1.0;
    pa->penalty = 0.5;
    for (size_t i = 0; i < n + ncross; i++) {
        qdi_prompt *p = &pa->prompts[i];
        p->crossover = i >= n;
        p->temperature = t0;
        if (!(p->text = strdup(i < n ? mutation[i] : crossover[i - n]))) {
            qdi_prompt_archive_free(pa);
            return QD_ENOMEM;
        }
        pa->n++;
    }
    return QD_OK;
}

void qdi_prompt_archive_free(qdi_prompt_archive *pa)
{
    for (size_t i = 0; i < pa->n; i++)
        free(pa->prompts[i].text);
    free(pa->prompts);
    memset(pa, 0, sizeof *pa);
}

/* Is prompt a ranked before b: more curious, or as curious and earlier. */
static int before(const qdi_prompt_archive *pa, size_t a, size_t b)
{
    double ca = pa->prompts[a].curiosity, cb = pa->prompts[b].curiosity;
    return ca > cb || (ca == cb && a < b);
}

size_t qdi_prompt_archive_pick(const qdi_prompt_archive *pa, int crossover, size_t top, gsl_rng *rng)
{
    size_t best[64], k = 0;
    if (top < 1)
        top = 1;
    if (top > QDI_ARRAY_LEN(best))
        top = QDI_ARRAY_LEN(best);
    /* the top prompts of the kind, best first (insertion into a short list) */
    for (size_t i = 0; i < pa->n; i++) {
        size_t at;
        if (!pa->prompts[i].crossover != !crossover)
            continue;
        for (at = k; at > 0 && before(pa, i, best[at - 1]); at--)
            ;
        if (at >= top)
            continue;
        if (k < top)
            k++;
        memmove(best + at + 1, best + at, (k - 1 - at) * sizeof *best);
        best[at] = i;
    }
    if (k == 0)
        return (size_t)-1;
    return best[k == 1 ? 0 : gsl_rng_uniform_int(rng, k)];
}

double qdi_prompt_archive_child_temperature(const qdi_prompt_archive *pa, size_t i, gsl_rng *rng)
{
    double u = 2.0 * gsl_rng_uniform(rng) - 1.0;
    return clip(pa, pa->prompts[i].temperature + pa->jitter * u);
}

void qdi_prompt_archive_update(qdi_prompt_archive *pa, size_t i, int success)
{
    qdi_prompt *p = &pa->prompts[i];
    p->uses++;
    if (success) {
        p->successes++;
        p->curiosity += pa->reward;
        p->temperature = clip(pa, p->temperature + pa->step);
    } else {
        p->curiosity -= pa->penalty;
        p->temperature = clip(pa, p->temperature - pa->step);
    }
}

cJSON *qdi_prompt_archive_json(const qdi_prompt_archive *pa)
{
    cJSON *list = cJSON_CreateArray();
    for (size_t i = 0; list && i < pa->n; i++) {
        const qdi_prompt *p = &pa->prompts[i];
        cJSON *o = cJSON_CreateObject(), *t = qdi_json_double(p->temperature), *c = qdi_json_double(p->curiosity);
        if (!o || !t || !c || !cJSON_AddItemToArray(list, o)) {
            cJSON_Delete(o);
            cJSON_Delete(t);
            cJSON_Delete(c);
            cJSON_Delete(list);
            return NULL;
        }
        cJSON_AddNumberToObject(o, "index", (double)i);
        cJSON_AddStringToObject(o, "kind", p->crossover ? "crossover" : "mutation");
        cJSON_AddStringToObject(o, "prompt", p->text);
        cJSON_AddItemToObject(o, "temperature", t);
        cJSON_AddItemToObject(o, "curiosity", c);
        cJSON_AddNumberToObject(o, "uses", (double)p->uses);
        if (!cJSON_AddNumberToObject(o, "successes", (double)p->successes)) {
            cJSON_Delete(list);
            return NULL;
        }
    }
    return list;
}

int qdi_prompt_archive_load(qdi_prompt_archive *pa, const cJSON *array, char *err, size_t errlen)
{
    if (!cJSON_IsArray(array) || (size_t)cJSON_GetArraySize(array) != pa->n) {
        qdi_set_error(err, errlen, "prompt archive: expected a list of %zu prompts, got %s", pa->n,
                      cJSON_IsArray(array) ? "" : "none");
        if (cJSON_IsArray(array))
            snprintf(err + strlen(err), errlen - strlen(err), "%d", cJSON_GetArraySize(array));
        return QD_EFORMAT;
    }
    for (size_t i = 0; i < pa->n; i++) {
        const cJSON *o = cJSON_GetArrayItem(array, (int)i);
        const cJSON *text = cJSON_GetObjectItemCaseSensitive(o, "prompt");
        const cJSON *uses = cJSON_GetObjectItemCaseSensitive(o, "uses");
        const cJSON *wins = cJSON_GetObjectItemCaseSensitive(o, "successes");
        qdi_prompt *p = &pa->prompts[i];
        double t, c;
        if (!cJSON_IsString(text) || strcmp(text->valuestring, p->text) != 0) {
            qdi_set_error(err, errlen, "prompt archive: prompt %zu is not \"%s\"", i, p->text);
            return QD_EFORMAT;
        }
        if (qdi_json_get_double(cJSON_GetObjectItemCaseSensitive(o, "temperature"), &t) ||
            qdi_json_get_double(cJSON_GetObjectItemCaseSensitive(o, "curiosity"), &c) || 
            !qdi_json_is_whole(uses, 0, QDI_JSON_COUNT_MAX) || !qdi_json_is_whole(wins, 0, QDI_JSON_COUNT_MAX)) {
            qdi_set_error(err, errlen, "prompt archive: prompt %zu lacks temperature, curiosity, uses or successes",
                          i);
            return QD_EFORMAT;
        }
        p->temperature = t;
        p->curiosity = c;
        p->uses = (uint64_t)uses->valuedouble;
        p->successes = (uint64_t)wins->valuedouble;
    }
    return QD_OK;
}

static int write_csv(const qdi_prompt_archive *pa, const char *path, char *err, size_t errlen)
{
    qdi_atomic_file f;
    char t[32], c[32];
    int rc = qdi_atomic_open(&f, path, err, errlen);
    if (rc)
        return rc;
    fputs("index,kind,temperature,curiosity,uses,successes,prompt\n", f.fp);
    for (size_t i = 0; i < pa->n; i++) {
        const qdi_prompt *p = &pa->prompts[i];
        fprintf(f.fp, "%zu,%s,%s,%s,%llu,%llu,", i, p->crossover ? "crossover" : "mutation",
                qdi_format_double(t, p->temperature), qdi_format_double(c, p->curiosity),
                (unsigned long long)p->uses, (unsigned long long)p->successes);
        qdi_csv_field(f.fp, p->text);
        fputc('\n', f.fp);
    }
    return qdi_atomic_commit(&f, err, errlen);
}

int qdi_prompt_archive_write(const qdi_prompt_archive *pa, const char *dir, char *err, size_t errlen)
{
    size_t len = strlen(dir) + 32;
    char *path = malloc(len), *text = NULL;
    cJSON *o = cJSON_CreateObject(), *list = qdi_prompt_archive_json(pa);
    int rc = QD_ENOMEM;
    if (!path || !o || !list) {
        cJSON_Delete(list);
        goto done;
    }
    cJSON_AddItemToObject(o, "prompts", list);
    if (!(text = cJSON_Print(o)))
        goto done;
    snprintf(path, len, "%s/prompts.json", dir);
    size_t n = strlen(text);
    text[n] = '\n'; /* cJSON_Print leaves no newline: write n + 1 bytes with one */
    if ((rc = qdi_write_file_atomic(path, text, n + 1, err, errlen)))
        goto done;
    snprintf(path, len, "%s/prompts.csv", dir);
    rc = write_csv(pa, path, err, errlen);
done:
    if (rc == QD_ENOMEM)
        qdi_set_error(err, errlen, "prompt archive: out of memory");
    free(text);
    free(path);
    cJSON_Delete(o);
    return rc;
}
