/* text_embedder.c - the built-in text embedder of text QDHF: a bag of
 * hashed features ("the hashing trick", Weinberger et al. 2009) with
 * TF-IDF weights, so that texts that share words, word pairs and word
 * pieces lie close. A text is lower-cased and split into words (runs of
 * letters, digits and bytes >= 0x80, so UTF-8 letters stay inside words);
 * each word, each pair of consecutive words and each 3-gram of "<word>"
 * is hashed (FNV-1a, with a tag per kind) into one of dim buckets, with a
 * sign from another hash bit so collisions cancel on average. Counts are
 * dampened (1 + ln tf), weighted by IDF and the vector scaled to unit
 * length: cosine similarity is then a dot product. */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "src/internal.h"
#include "evaluators/text_embedder.h"

typedef void (*gram_fn)(void *ctx, uint64_t h);

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int word_byte(unsigned char c)
{
    return isalnum(c) || c >= 0x80;
}

/* Calls fn for the hash of every n-gram of text. */
static void each_gram(const char *text, gram_fn fn, void *ctx)
{
    const uint64_t basis = 14695981039346656037ull;
    char word[258], prev[258];
    size_t plen = 0;
    for (const char *p = text; *p;) {
        while (*p && !word_byte((unsigned char)*p))
            p++;
        if (!*p)
            break;
        size_t n = 1;
        word[0] = '<';
        while (*p && word_byte((unsigned char)*p)) {
            if (n < 256)
                word[n++] = (char)tolower((unsigned char)*p);
            p++;
        }
        word[n++] = '>';
        fn(ctx, fnv(fnv(basis, "w", 1), word + 1, n - 2));
        if (plen) {
            uint64_t h = fnv(fnv(basis, "b", 1), prev, plen);
            fn(ctx, fnv(fnv(h, " ", 1), word + 1, n - 2));
        }
        for (size_t i = 0; i + 3 <= n; i++)
            fn(ctx, fnv(fnv(basis, "c", 1), word + i, 3));
        memcpy(prev, word + 1, n - 2);
        plen = n - 2;
    }
}

typedef struct counts {
    size_t dim;
    double *v;
} counts;

static void count_gram(void *ctx, uint64_t h)
{
    counts *c = ctx;
    c->v[(h >> 1) % c->dim] += 1.0;
}

int qdi_text_embedder_fit(qdi_text_embedder *e, size_t dim, const char *const *texts, size_t n)
{
    double *df = calloc(dim, sizeof *df), *tf = calloc(dim, sizeof *tf);
    e->dim = dim;
    e->idf = malloc(dim * sizeof *e->idf);
    if (!df || !tf || !e->idf) {
        free(df);
        free(tf);
        qdi_text_embedder_free(e);
        return QD_ENOMEM;
    }
    counts c = {dim, tf};
    for (size_t i = 0; i < n; i++) {
        memset(tf, 0, dim * sizeof *tf);
        each_gram(texts[i], count_gram, &c);
        for (size_t b = 0; b < dim; b++)
            df[b] += tf[b] > 0;
    }
    for (size_t b = 0; b < dim; b++)
        e->idf[b] = n ? log((1.0 + (double)n) / (1.0 + df[b])) + 1.0 : 1.0;
    free(df);
    free(tf);
    return QD_OK;
}

int qdi_text_embedder_set(qdi_text_embedder *e, size_t dim, const double *idf)
{
    e->dim = dim;
    if (!(e->idf = malloc(dim * sizeof *e->idf)))
        return QD_ENOMEM;
    memcpy(e->idf, idf, dim * sizeof *idf);
    return QD_OK;
}

void qdi_text_embedder_free(qdi_text_embedder *e)
{
    free(e->idf);
    e->idf = NULL;
}

typedef struct signed_counts {
    size_t dim;
    double *tf, *sign;
} signed_counts;

static void signed_gram(void *ctx, uint64_t h)
{
    signed_counts *c = ctx;
    size_t b = (h >> 1) % c->dim;
    c->tf[b] += 1.0;
    c->sign[b] += (h & 1) ? 1.0 : -1.0;
}

void qdi_text_embed(const qdi_text_embedder *e, const char *text, double *out)
{
    double norm = 0;
    double *sign = calloc(e->dim, sizeof *sign);
    memset(out, 0, e->dim * sizeof *out);
    if (!sign)
        return;
    signed_counts c = {e->dim, out, sign};
    each_gram(text ? text : "", signed_gram, &c);
    for (size_t b = 0; b < e->dim; b++) {
        if (out[b] > 0) /* dampened count, with the sign most of its n-grams carry */
            out[b] = (1.0 + log(out[b])) * e->idf[b] * (sign[b] < 0 ? -1.0 : 1.0);
        norm += out[b] * out[b];
    }
    free(sign);
    if (norm > 0)
        for (size_t b = 0; b < e->dim; b++)
            out[b] /= sqrt(norm);
}
