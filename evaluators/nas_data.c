/* nas_data.c - data sets for the network trainer: a CSV of "label,
 * features..." rows (the shipped data/digits.csv, or a user's own), and a
 * train/test split fixed by a seed, with features standardised by the
 * training rows' mean and standard deviation (a constant feature stays 0).
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <gsl/gsl_randist.h>
#include "evaluators/nas.h"

#define MAX_CLASSES 1000

void qdi_nas_data_free(qdi_nas_data *d)
{
    if (!d)
        return;
    free(d->x);
    free(d->y);
    memset(d, 0, sizeof *d);
}

/* Counts the fields of a line (commas + 1). */
static size_t fields(const char *s, const char *e)
{
    size_t n = 1;
    for (; s < e; s++)
        n += *s == ',';
    return n;
}

static int grow(qdi_nas_data *d, size_t *cap)
{
    size_t c = *cap ? 2 * *cap : 1024;
    double *x = realloc(d->x, c * d->features * sizeof *x);
    int *y;
    if (!x)
        return QD_ENOMEM;
    d->x = x;
    if (!(y = realloc(d->y, c * sizeof *y)))
        return QD_ENOMEM;
    d->y = y;
    *cap = c;
    return QD_OK;
}

int qdi_nas_data_read(const char *path, qdi_nas_data *d, char *err, size_t errlen)
{
    char *text = NULL, ferr[512];
    size_t len, cap = 0, line = 0;
    int rc = QD_OK, maxlabel = -1;
    memset(d, 0, sizeof *d);
    if (qdi_read_file(path, &text, &len, ferr, sizeof ferr)) {
        qdi_set_error(err, errlen, "%s", ferr);
        return QD_EIO;
    }
    for (char *s = text; *s && rc == QD_OK;) {
        char *e = strchr(s, '\n'), *p, *end;
        if (!e)
            e = s + strlen(s);
        line++;
        if (e > s && e[-1] == '\r')
            e[-1] = '\0';
        *e = '\0';
        p = s;
        while (*p && isspace((unsigned char)*p))
            p++;
        if (!*p)
            goto next;
        if (line == 1 && !isdigit((unsigned char)*p) && *p != '-' && *p != '+' && *p != '.')
            goto next; /* a header */
        if (!d->features) {
            if (fields(s, e) < 2) {
                qdi_set_error(err, errlen, "%s: line %zu: a row needs a label and at least one feature", path, line);
                rc = QD_EFORMAT;
                break;
            }
            d->features = fields(s, e) - 1;
        } else if (fields(s, e) != d->features + 1) {
            qdi_set_error(err, errlen, "%s: line %zu: %zu fields, but the first row has %zu", path, line,
                          fields(s, e), d->features + 1);
            rc = QD_EFORMAT;
            break;
        }
        if (d->n == cap && (rc = grow(d, &cap)) != QD_OK) {
            qdi_set_error(err, errlen, "%s: out of memory", path);
            break;
        }
        errno = 0;
        long label = strtol(p, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (end == p || *end != ',' || errno || label < 0 || label >= MAX_CLASSES) {
            qdi_set_error(err, errlen, "%s: line %zu: the label must be a whole number 0 to %d, got \"%.20s\"", path,
                          line, MAX_CLASSES - 1, p);
            rc = QD_EFORMAT;
            break;
        }
        d->y[d->n] = (int)label;
        if (label > maxlabel)
            maxlabel = (int)label;
        p = end + 1;
        for (size_t f = 0; f < d->features; f++) {
            double v = strtod(p, &end);
            while (*end == ' ' || *end == '\t')
                end++;
            if (end == p || !isfinite(v) || (*end != ',' && *end != '\0')) {
                qdi_set_error(err, errlen, "%s: line %zu: feature %zu is not a number: \"%.20s\"", path, line, f + 1,
                              p);
                rc = QD_EFORMAT;
                break;
            }
            d->x[d->n * d->features + f] = v;
            p = end + 1;
        }
        d->n++;
    next:
        s = e < text + len ? e + 1 : e;
    }
    free(text);
    if (rc == QD_OK && d->n < 2) {
        qdi_set_error(err, errlen, "%s: needs at least 2 rows, has %zu", path, d->n);
        rc = QD_EFORMAT;
    }
    if (rc == QD_OK && maxlabel < 1) {
        qdi_set_error(err, errlen, "%s: every row has label 0: nothing to classify", path);
        rc = QD_EFORMAT;
    }
    if (rc != QD_OK) {
        qdi_nas_data_free(d);
        return rc;
    }
    d->classes = maxlabel + 1;
    return QD_OK;
}

static int alloc_set(qdi_nas_data *s, size_t n, size_t features, int classes)
{
    s->n = n;
    s->features = features;
    s->classes = classes;
    s->x = malloc((n ? n : 1) * features * sizeof *s->x);
    s->y = malloc((n ? n : 1) * sizeof *s->y);
    return s->x && s->y ? QD_OK : QD_ENOMEM;
}

int qdi_nas_data_split(const qdi_nas_data *d, double test_fraction, uint64_t seed, qdi_nas_data *train,
                       qdi_nas_data *test)
{
    size_t *idx = malloc(d->n * sizeof *idx), ntest = (size_t)ceil(test_fraction * (double)d->n), F = d->features;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    double *mean = calloc(F, sizeof *mean), *sd = calloc(F, sizeof *sd);
    int rc = QD_ENOMEM;
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    if (ntest < 1)
        ntest = 1;
    if (ntest >= d->n)
        ntest = d->n - 1;
    if (!idx || !rng || !mean || !sd || alloc_set(train, d->n - ntest, F, d->classes) ||
        alloc_set(test, ntest, F, d->classes))
        goto done;
    for (size_t i = 0; i < d->n; i++)
        idx[i] = i;
    qdi_rng_seed(rng, seed);
    gsl_ran_shuffle(rng, idx, d->n, sizeof *idx);
    for (size_t i = 0; i < d->n; i++) {
        qdi_nas_data *s = i < ntest ? test : train;
        size_t r = i < ntest ? i : i - ntest;
        memcpy(s->x + r * F, d->x + idx[i] * F, F * sizeof *s->x);
        s->y[r] = d->y[idx[i]];
    }
    for (size_t r = 0; r < train->n; r++)
        for (size_t f = 0; f < F; f++)
            mean[f] += train->x[r * F + f] / (double)train->n;
    for (size_t r = 0; r < train->n; r++)
        for (size_t f = 0; f < F; f++) {
            double v = train->x[r * F + f] - mean[f];
            sd[f] += v * v / (double)train->n;
        }
    for (size_t f = 0; f < F; f++)
        sd[f] = sd[f] > 1e-12 ? sqrt(sd[f]) : 1.0;
    for (int k = 0; k < 2; k++) {
        qdi_nas_data *s = k ? test : train;
        for (size_t r = 0; r < s->n; r++)
            for (size_t f = 0; f < F; f++)
                s->x[r * F + f] = (s->x[r * F + f] - mean[f]) / sd[f];
    }
    rc = QD_OK;
done:
    if (rc != QD_OK) {
        qdi_nas_data_free(train);
        qdi_nas_data_free(test);
    }
    free(idx);
    free(mean);
    free(sd);
    gsl_rng_free(rng);
    return rc;
}
