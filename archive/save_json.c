/* save_json.c - archive.json: a header (format, anything the caller adds such
 * as the config echo and seed), the archive's description (enough to rebuild
 * it), its stats, then one elite per line in the archive's own (insertion)
 * order, so that a loaded archive is the same as the saved one in every
 * respect: elites, thresholds, the order uniform sampling draws from and the
 * order stats are summed in. Every number reads back bit for bit
 * (qdi_json_double); the same run gives the same bytes. Written atomically. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"
#include "outbuf.h"

/* Replaces every number under item by its exact raw form (cJSON's printer
 * may drop the last bit of a range or a centroid, and a reloaded archive
 * would then bin a measure on an edge differently). */
static int exact_numbers(cJSON *item)
{
    cJSON *child = item ? item->child : NULL;
    while (child) {
        cJSON *next = child->next;
        if (cJSON_IsNumber(child)) {
            cJSON *raw = qdi_json_double(child->valuedouble);
            if (raw) { /* the key moves over (a duplicate owns its keys) */
                raw->string = child->string;
                child->string = NULL;
            }
            if (!raw || !cJSON_ReplaceItemViaPointer(item, child, raw)) {
                cJSON_Delete(raw);
                return QD_ENOMEM;
            }
        } else if (exact_numbers(child)) {
            return QD_ENOMEM;
        }
        child = next;
    }
    return QD_OK;
}

/* Prints item, numbers exact, with every line after the first indented by
 * one tab. */
static int print_nested(FILE *fp, const cJSON *item)
{
    cJSON *copy = cJSON_Duplicate(item, 1);
    char *s = copy && exact_numbers(copy) == QD_OK ? cJSON_Print(copy) : NULL;
    cJSON_Delete(copy);
    if (!s)
        return QD_ENOMEM;
    for (const char *p = s; *p; p++) {
        fputc(*p, fp);
        if (*p == '\n')
            fputc('\t', fp);
    }
    free(s);
    return QD_OK;
}

static cJSON *json_text(const char *text)
{
    cJSON *v = cJSON_Parse(text);
    return v ? v : cJSON_CreateString(text);
}

/* Appends item unformatted as cJSON prints it, and deletes it; 0 when out
 * of memory. */
static int put_cjson(qdi_outbuf *o, cJSON *item)
{
    char *s = item ? cJSON_PrintUnformatted(item) : NULL;
    cJSON_Delete(item);
    if (!s)
        return 0;
    qdi_out_puts(o, s);
    free(s);
    return 1;
}

/* One elite on one line, the bytes cJSON_PrintUnformatted gives for the
 * object {index, coords, objective, [threshold], measures, solution | text,
 * [meta], [lineage]}, its numbers from the archive's text (qdi_elite_text:
 * formatted once per save, read back bit for bit). 0 when out of memory. */
static int put_elite(qdi_outbuf *o, const qd_archive *a, qdi_elite_text *t, size_t slot)
{
    size_t coords[64], cell = a->cell_of_slot[slot];
    int ok = 1;
    qdi_elite_text_slot(t, slot);
    qdi_out_puts(o, "{\"index\":");
    qdi_out_u64(o, cell);
    if (a->m <= 64 && qd_archive_coords(a, cell, coords) == QD_OK) {
        qdi_out_puts(o, ",\"coords\":[");
        for (size_t k = 0; k < a->m; k++) {
            if (k)
                qdi_out_c(o, ',');
            qdi_out_u64(o, coords[k]);
        }
        qdi_out_c(o, ']');
    }
    qdi_out_puts(o, ",\"objective\":");
    qdi_out_write(o, t->group[0], t->len[0]);
    if (a->learning_rate < 1.0) {
        qdi_out_puts(o, ",\"threshold\":");
        qdi_out_write(o, t->group[1], t->len[1]);
    }
    qdi_out_puts(o, ",\"measures\":[");
    qdi_out_write(o, t->group[2], t->len[2]);
    if (a->kind == QD_GENOME_REAL) {
        qdi_out_puts(o, "],\"solution\":[");
        qdi_out_write(o, t->group[3], t->len[3]);
        qdi_out_c(o, ']');
    } else {
        qdi_out_puts(o, "],\"text\":");
        ok &= put_cjson(o, cJSON_CreateString(a->text[slot] ? a->text[slot] : ""));
    }
    if (a->meta[slot]) {
        qdi_out_puts(o, ",\"meta\":");
        ok &= put_cjson(o, json_text(a->meta[slot]));
    }
    if (a->lineage[slot]) {
        qdi_out_puts(o, ",\"lineage\":");
        ok &= put_cjson(o, json_text(a->lineage[slot]));
    }
    qdi_out_c(o, '}');
    return ok;
}

static cJSON *stats_json(const qd_archive *a)
{
    qd_archive_stats st;
    cJSON *o = cJSON_CreateObject();
    qd_archive_stats_get(a, &st);
    if (!o)
        return NULL;
    cJSON_AddNumberToObject(o, "cells", (double)st.cells);
    cJSON_AddNumberToObject(o, "filled", (double)st.filled);
    cJSON_AddItemToObject(o, "coverage", qdi_json_double(st.coverage));
    cJSON_AddItemToObject(o, "qd_score", qdi_json_double(st.qd_score));
    cJSON_AddItemToObject(o, "qd_score_offset", qdi_json_double(a->offset));
    cJSON_AddItemToObject(o, "norm_qd_score", qdi_json_double(st.norm_qd_score));
    if (st.filled) {
        cJSON_AddItemToObject(o, "obj_max", qdi_json_double(st.obj_max));
        cJSON_AddItemToObject(o, "obj_mean", qdi_json_double(st.obj_mean));
    } else {
        cJSON_AddNullToObject(o, "obj_max");
        cJSON_AddNullToObject(o, "obj_mean");
    }
    return o;
}

int qd_archive_save_json(const qd_archive *a, const cJSON *extra, const char *path, char *err, size_t errlen)
{
    qdi_atomic_file f;
    const cJSON *item;
    cJSON *stats = NULL;
    qdi_elite_text text;
    qdi_outbuf o;
    size_t written = 0;
    int rc = qdi_atomic_open(&f, path, err, errlen);
    if (rc)
        return rc;
    fputs("{\n\t\"format\":\t\"elites-archive\",\n\t\"format_version\":\t1", f.fp);
    cJSON_ArrayForEach(item, extra) {
        fprintf(f.fp, ",\n\t\"%s\":\t", item->string);
        if ((rc = print_nested(f.fp, item)))
            goto fail;
    }
    fputs(",\n\t\"archive\":\t", f.fp);
    if ((rc = print_nested(f.fp, a->description)))
        goto fail;
    fputs(",\n\t\"stats\":\t", f.fp);
    if (!(stats = stats_json(a)) || (rc = print_nested(f.fp, stats))) {
        rc = QD_ENOMEM;
        goto fail;
    }
    fputs(",\n\t\"elites\":\t[", f.fp);
    if ((rc = qdi_elite_text_open(&text, a)))
        goto fail;
    qdi_out_init(&o, f.fp);
    for (size_t i = 0; i < a->filled; i++) {
        qdi_out_puts(&o, written++ ? ",\n\t\t" : "\n\t\t");
        if (!put_elite(&o, a, &text, i)) {
            qdi_elite_text_close(&text);
            rc = QD_ENOMEM;
            goto fail;
        }
    }
    qdi_elite_text_close(&text);
    qdi_out_flush(&o);
    fputs(written ? "\n\t]\n}\n" : "]\n}\n", f.fp);
    cJSON_Delete(stats);
    return qdi_atomic_commit(&f, err, errlen);
fail:
    cJSON_Delete(stats);
    qdi_set_error(err, errlen, "%s: %s", path, qd_strerror(rc));
    qdi_atomic_abort(&f);
    return rc;
}
