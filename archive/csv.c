/* csv.c - archive.csv: one row per elite in cell order with a header that
 * pandas reads as is (pd.read_csv("archive.csv")): index, objective,
 * [threshold], measures_0.., the category name of each categorical
 * measure (measures_K_label, QDAIF's genre), then solution_0.. for real genomes or text for
 * text genomes, and meta / lineage when any elite has them. Numbers are
 * written so that they read back exactly. */
#include <string.h>
#include "archive/archive_internal.h"
#include "outbuf.h"

/* Appends s as a CSV field: quoted, its quotes doubled, when it holds a
 * comma, a quote or a line break. */
static void csv_field(qdi_outbuf *o, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        qdi_out_puts(o, s);
        return;
    }
    qdi_out_c(o, '"');
    for (; *s; s++) {
        if (*s == '"')
            qdi_out_c(o, '"');
        qdi_out_c(o, *s);
    }
    qdi_out_c(o, '"');
}

void qdi_csv_field(FILE *fp, const char *s)
{
    qdi_outbuf o;
    qdi_out_init(&o, fp);
    csv_field(&o, s);
    qdi_out_flush(&o);
}

/* ",v" for each of the n numbers (the first without its comma when first). */
static void put_numbers(qdi_outbuf *o, const double *v, size_t n, int first)
{
    char num[32];
    for (size_t i = 0; i < n; i++) {
        if (i || !first)
            qdi_out_c(o, ',');
        qdi_out_puts(o, qdi_format_double(num, v[i]));
    }
}

int qd_archive_save_csv(const qd_archive *a, const char *path, char *err, size_t errlen)
{
    qdi_atomic_file f;
    qdi_elite_text text;
    qdi_outbuf o;
    int has_meta = 0, has_lineage = 0, has_labels = 0, thresholds = a->learning_rate < 1.0;
    int rc = qdi_atomic_open(&f, path, err, errlen);
    if (rc)
        return rc;
    for (size_t i = 0; i < a->filled; i++) {
        has_meta |= a->meta[i] != NULL;
        has_lineage |= a->lineage[i] != NULL;
    }
    fputs("index,objective", f.fp);
    if (thresholds)
        fputs(",threshold", f.fp);
    for (size_t k = 0; k < a->m; k++)
        fprintf(f.fp, ",measures_%zu", k);
    for (size_t k = 0; k < a->m; k++) /* a categorical axis's names (QDAIF) */
        if (qdi_axis_categories(a, k)) {
            fprintf(f.fp, ",measures_%zu_label", k);
            has_labels = 1; /* looked up per row only then (a description lookup each) */
        }
    if (a->kind == QD_GENOME_REAL)
        for (size_t j = 0; j < a->dim; j++)
            fprintf(f.fp, ",solution_%zu", j);
    else
        fputs(",text", f.fp);
    if (has_meta)
        fputs(",meta", f.fp);
    if (has_lineage)
        fputs(",lineage", f.fp);
    fputc('\n', f.fp);
    if ((rc = qdi_elite_text_open(&text, a))) {
        qdi_set_error(err, errlen, "%s: %s", path, qd_strerror(rc));
        qdi_atomic_abort(&f);
        return rc;
    }
    qdi_out_init(&o, f.fp);
    for (size_t cell = 0; cell < a->cells; cell++) {
        qd_elite e;
        size_t slot = a->slot_of_cell[cell];
        if (slot == QDI_EMPTY || qd_archive_elite(a, cell, &e) != QD_OK)
            continue;
        /* the numbers as archive.json has them (formatted once per save) */
        qdi_elite_text_slot(&text, slot);
        qdi_out_u64(&o, e.cell);
        qdi_out_c(&o, ',');
        if (text.quoted) { /* a non-finite number: bare here ("nan"), quoted in the JSON */
            put_numbers(&o, &e.objective, 1, 1);
            if (thresholds)
                put_numbers(&o, &e.threshold, 1, 0);
            put_numbers(&o, e.measures, e.m, 0);
        } else {
            qdi_out_write(&o, text.group[0], text.len[0] + text.len[1] + text.len[2] + thresholds + (e.m > 0));
        }
        for (size_t k = 0; has_labels && k < e.m; k++)
            if (qdi_axis_categories(a, k)) {
                const char *c = qdi_axis_category(a, k, e.measures[k]);
                qdi_out_c(&o, ',');
                csv_field(&o, c ? c : "");
            }
        if (!text.quoted && e.n) {
            qdi_out_c(&o, ',');
            qdi_out_write(&o, text.group[3], text.len[3]);
        } else if (text.quoted) {
            put_numbers(&o, e.x, e.n, 0);
        }
        if (a->kind == QD_GENOME_TEXT) {
            qdi_out_c(&o, ',');
            /* an empty text is written "" so pandas does not read NaN */
            if (e.text && *e.text)
                csv_field(&o, e.text);
            else
                qdi_out_puts(&o, "\"\"");
        }
        if (has_meta) {
            qdi_out_c(&o, ',');
            csv_field(&o, e.meta);
        }
        if (has_lineage) {
            qdi_out_c(&o, ',');
            csv_field(&o, e.lineage);
        }
        qdi_out_c(&o, '\n');
    }
    qdi_out_flush(&o);
    qdi_elite_text_close(&text);
    return qdi_atomic_commit(&f, err, errlen);
}
