/* csv.c - archive.csv: one row per elite in cell order with a header that
 * pandas reads as is (pd.read_csv("archive.csv")): index, objective,
 * [threshold], measures_0.., the category name of each categorical
 * measure (measures_K_label, QDAIF's genre), then solution_0.. for real genomes or text for
 * text genomes, and meta / lineage when any elite has them. Numbers are
 * written so that they read back exactly. */
#include <string.h>
#include "archive/archive_internal.h"

void qdi_csv_field(FILE *fp, const char *s)
{
    if (!s)
        return;
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, fp);
        return;
    }
    fputc('"', fp);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', fp);
        fputc(*s, fp);
    }
    fputc('"', fp);
}

/* objective, [threshold], measures of e, comma-separated, one at a time. */
static void put_numbers(FILE *fp, const qd_elite *e, int thresholds)
{
    char num[32];
    fputs(qdi_format_double(num, e->objective), fp);
    if (thresholds)
        fprintf(fp, ",%s", qdi_format_double(num, e->threshold));
    for (size_t k = 0; k < e->m; k++)
        fprintf(fp, ",%s", qdi_format_double(num, e->measures[k]));
}

int qd_archive_save_csv(const qd_archive *a, const char *path, char *err, size_t errlen)
{
    qdi_atomic_file f;
    qdi_elite_text text;
    char num[32];
    int has_meta = 0, has_lineage = 0, thresholds = a->learning_rate < 1.0;
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
        if (qdi_axis_categories(a, k))
            fprintf(f.fp, ",measures_%zu_label", k);
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
    for (size_t cell = 0; cell < a->cells; cell++) {
        qd_elite e;
        size_t slot = a->slot_of_cell[cell];
        if (slot == QDI_EMPTY || qd_archive_elite(a, cell, &e) != QD_OK)
            continue;
        /* the numbers as archive.json has them (formatted once per save) */
        qdi_elite_text_slot(&text, slot);
        qdi_put_u64(f.fp, e.cell);
        fputc(',', f.fp);
        if (text.quoted) /* a non-finite number: bare here ("nan"), quoted in the JSON */
            put_numbers(f.fp, &e, thresholds);
        else
            fwrite(text.group[0], 1, text.len[0] + text.len[1] + text.len[2] + thresholds + (e.m > 0), f.fp);
        for (size_t k = 0; k < e.m; k++)
            if (qdi_axis_categories(a, k)) {
                const char *c = qdi_axis_category(a, k, e.measures[k]);
                fputc(',', f.fp);
                qdi_csv_field(f.fp, c ? c : "");
            }
        if (!text.quoted && e.n) {
            fputc(',', f.fp);
            fwrite(text.group[3], 1, text.len[3], f.fp);
        } else if (text.quoted) {
            for (size_t j = 0; j < e.n; j++)
                fprintf(f.fp, ",%s", qdi_format_double(num, e.x[j]));
        }
        if (a->kind == QD_GENOME_TEXT) {
            fputc(',', f.fp);
            /* an empty text is written "" so pandas does not read NaN */
            if (e.text && *e.text)
                qdi_csv_field(f.fp, e.text);
            else
                fputs("\"\"", f.fp);
        }
        if (has_meta) {
            fputc(',', f.fp);
            qdi_csv_field(f.fp, e.meta);
        }
        if (has_lineage) {
            fputc(',', f.fp);
            qdi_csv_field(f.fp, e.lineage);
        }
        fputc('\n', f.fp);
    }
    qdi_elite_text_close(&text);
    return qdi_atomic_commit(&f, err, errlen);
}
