/* llm_internal.h - the LLM client's pieces shared between its files (llm.c:
 * HTTP, retries, accounting; reply.c: reply shapes and logprob maths;
 * cache.c: the record/replay cache) and reached by the tests. */
#ifndef ELITES_LLM_INTERNAL_H
#define ELITES_LLM_INTERNAL_H

#include "internal.h"

/* Replaces the clock the client uses for backoff sleeps and for skipping a
 * failing base URL (tests use a fake one; latency is always real time).
 * now returns seconds; sleep waits (or pretends to wait) seconds. */
void qdi_llm_set_clock(qd_llm *llm, double (*now)(void *ctx), void (*sleep)(void *ctx, double seconds), void *ctx);

/* The q-quantile (0..1, nearest rank) of n values (sorted in place); NaN
 * when n is 0. */
double qdi_llm_quantile(double *v, size_t n, double q);

/* The delay before retry number attempt (0 for the first retry): base * 2^attempt
 * capped at max, minus a random share up to jitter (u uniform in [0, 1)). */
double qdi_llm_backoff(double base, double max, double jitter, unsigned attempt, double u);

/* Parses an embeddings reply (OpenAI's data[0].embedding, llama.cpp's older
 * top-level "embedding"); *vec is malloc'd. */
int qdi_llm_embedding_parse(const char *json, double **vec, size_t *n, long *prompt_tokens, char *err, size_t errlen);

/* Copies text into out replacing every occurrence of secret (if non-empty)
 * with "[redacted]". */
void qdi_llm_redact(char *out, size_t len, const char *text, const char *secret);

/* ---- record/replay cache (cache.c) ---- */

typedef struct qdi_llm_cache qdi_llm_cache;

/* Opens (creating) a JSONL cache: loads its lines, keeps the file open for
 * appending unless replay. Unreadable lines are skipped and counted. */
int qdi_llm_cache_open(const char *path, int replay, qdi_llm_cache **out, char *err, size_t errlen);
void qdi_llm_cache_free(qdi_llm_cache *c);

enum { QDI_CACHE_HIT, QDI_CACHE_CLAIMED, QDI_CACHE_MISS };

/* Looks a request (endpoint path + body) up. HIT: *reply is a malloc'd copy
 * of the recorded reply. In replay mode a miss is MISS; otherwise the caller
 * now owns the key (CLAIMED) and must call qdi_llm_cache_store or
 * qdi_llm_cache_release; a concurrent identical request waits for it. */
int qdi_llm_cache_lookup(qdi_llm_cache *c, const char *endpoint, const char *body, char **reply);
/* Records the reply of a claimed request (memory and file), as the exact
 * text received. */
int qdi_llm_cache_store(qdi_llm_cache *c, const char *endpoint, const char *body, const char *reply);
/* Gives a claimed request up (it failed). */
void qdi_llm_cache_release(qdi_llm_cache *c, const char *endpoint, const char *body);
/* The key of a request as written in the cache (16 hex digits + NUL). */
void qdi_llm_cache_key(const char *endpoint, const char *body, char out[17]);
/* Lines loaded and lines skipped as unreadable. */
size_t qdi_llm_cache_entries(const qdi_llm_cache *c);
size_t qdi_llm_cache_skipped(const qdi_llm_cache *c);

#endif
