/* text_embedder.h - a local text embedder that needs no server: hashed
 * word unigrams and bigrams and character 3-grams, TF-IDF weighted (IDF
 * fitted on a corpus), L2-normalised, in a fixed dimension. */
#ifndef ELITES_TEXT_EMBEDDER_H
#define ELITES_TEXT_EMBEDDER_H

#include <stddef.h>

typedef struct qdi_text_embedder {
    size_t dim;
    double *idf; /* dim numbers */
} qdi_text_embedder;

/* Fits the IDF weights of a dim-bucket embedder on n texts (idf = ln((1 +
 * n) / (1 + df)) + 1, df the texts whose n-grams hash to the bucket);
 * n = 0 gives every bucket weight 1. QD_ENOMEM or QD_OK. */
int qdi_text_embedder_fit(qdi_text_embedder *e, size_t dim, const char *const *texts, size_t n);
/* Sets the IDF weights from dim numbers (a saved embedder). */
int qdi_text_embedder_set(qdi_text_embedder *e, size_t dim, const double *idf);
void qdi_text_embedder_free(qdi_text_embedder *e);
/* Embeds text into out (dim numbers, unit length; all zero for a text
 * with no letters or digits). Thread-safe: reads e only. */
void qdi_text_embed(const qdi_text_embedder *e, const char *text, double *out);

#endif
