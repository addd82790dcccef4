/* elite_text.c - every elite's numbers as text, formatted once per archive
 * state (qdi_dtoa: the shortest text that reads back bit for bit) and
 * shared by the writers of archive.json, the checkpoint's copy of it and
 * archive.csv. A save point formats each number once instead of once per
 * file; the text is rebuilt when the archive has changed since (every
 * store counts a change), and not kept at all for archives whose text would
 * pass qdi_elite_text_max bytes: their writers format each elite as they
 * go, into a scratch buffer of one elite. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include "archive/archive_internal.h"

/* Text kept at most (about 3 bytes per byte of doubles: 256 MB is an
 * archive of some 10 million numbers); tests lower it. */
size_t qdi_elite_text_max = (size_t)256 << 20;
/* Room for one number, its quotes and its comma. */
#define NUMBER_ROOM 34

struct qdi_elite_text_cache {
    unsigned long long changes; /* a->changes when built */
    size_t filled;
    char *text;
    size_t *end; /* 4 per slot: ends of objective, threshold, measures, genome groups */
    unsigned char *quoted; /* per slot: holds a non-finite number ("nan") */
};

/* Appends the numbers v[0..n) to p, each followed by a comma; a
 * non-finite one as JSON needs it, a string ("nan", "-inf": what
 * qdi_json_double writes), setting *quoted. */
static char *put_numbers(char *p, const double *v, size_t n, unsigned char *quoted)
{
    for (size_t i = 0; i < n; i++) {
        if (isfinite(v[i])) {
            p += qdi_dtoa(p, v[i]);
        } else {
            *p++ = '"';
            p += qdi_dtoa(p, v[i]);
            *p++ = '"';
            *quoted = 1;
        }
        *p++ = ',';
    }
    return p;
}

/* Formats slot's numbers at p; end[0..4) get the ends of its four groups
 * (offsets from base). */
static char *put_slot(const qd_archive *a, size_t slot, char *p, const char *base, size_t *end,
                      unsigned char *quoted)
{
    int thresholds = a->learning_rate < 1.0;
    *quoted = 0;
    p = put_numbers(p, &a->objective[slot], 1, quoted);
    end[0] = (size_t)(p - base);
    if (thresholds)
        p = put_numbers(p, &a->threshold[slot], 1, quoted);
    end[1] = (size_t)(p - base);
    p = put_numbers(p, a->measures + slot * a->m, a->m, quoted);
    end[2] = (size_t)(p - base);
    if (a->kind == QD_GENOME_REAL)
        p = put_numbers(p, a->x + slot * a->dim, a->dim, quoted);
    end[3] = (size_t)(p - base);
    return p;
}

static size_t slot_room(const qd_archive *a)
{
    return (2 + a->m + (a->kind == QD_GENOME_REAL ? a->dim : 0)) * NUMBER_ROOM;
}

/* Slots per part when the text is formatted on several threads. */
#define TEXT_PART 1024

typedef struct text_parts {
    const qd_archive *a;
    struct qdi_elite_text_cache *c;
    size_t room, nparts;
    size_t used[64]; /* bytes each part wrote */
} text_parts;

/* The first slot of part k (the slots split as evenly as can be). */
static size_t part_start(const text_parts *tp, size_t k)
{
    return tp->a->filled / tp->nparts * k + (k < tp->a->filled % tp->nparts ? k : tp->a->filled % tp->nparts);
}

/* Formats part k's slots from byte room * (its first slot) of the text. */
static void format_part(void *arg, size_t k)
{
    text_parts *tp = arg;
    size_t first = part_start(tp, k), last = part_start(tp, k + 1);
    char *start = tp->c->text + tp->room * first, *p = start;
    for (size_t i = first; i < last; i++)
        p = put_slot(tp->a, i, p, tp->c->text, tp->c->end + 4 * i, tp->c->quoted + i);
    tp->used[k] = (size_t)(p - start);
}

/* The cache for a's current state, built if need be; NULL when too big or
 * out of memory (the writers then format as they go). */
static struct qdi_elite_text_cache *cache_of(const qd_archive *a)
{
    struct qdi_elite_text_cache *c = a->text_cache;
    size_t room = slot_room(a), used = 0;
    if (c && c->changes == a->changes && c->filled == a->filled)
        return c;
    if (a->text_frozen)
        return NULL; /* writers on several threads: none may build it */
    qdi_archive_drop_text(a);
    if (a->filled == 0 || room > qdi_elite_text_max / a->filled)
        return NULL;
    if (!(c = calloc(1, sizeof *c)) || !(c->text = malloc(room * a->filled)) ||
        !(c->end = malloc(4 * a->filled * sizeof *c->end)) || !(c->quoted = malloc(a->filled))) {
        if (c) {
            free(c->text);
            free(c->end);
        }
        free(c);
        return NULL;
    }
    if (a->threads > 1 && a->filled >= 2 * TEXT_PART) {
        /* parts formatted at once, each from its own room, then moved up
         * against the one before */
        text_parts tp = {.a = a, .c = c, .room = room, .nparts = (a->filled + TEXT_PART - 1) / TEXT_PART};
        if (tp.nparts > QDI_ARRAY_LEN(tp.used))
            tp.nparts = QDI_ARRAY_LEN(tp.used);
        qdi_parallel_for(tp.nparts, a->threads, format_part, &tp);
        for (size_t k = 0; k < tp.nparts; k++) {
            size_t first = part_start(&tp, k), last = part_start(&tp, k + 1), from = room * first;
            memmove(c->text + used, c->text + from, tp.used[k]);
            for (size_t j = 4 * first; j < 4 * last; j++)
                c->end[j] = c->end[j] - from + used;
            used += tp.used[k];
        }
    } else {
        for (size_t i = 0; i < a->filled; i++) {
            char *p = put_slot(a, i, c->text + used, c->text, c->end + 4 * i, c->quoted + i);
            used = (size_t)(p - c->text);
        }
    }
    c->changes = a->changes;
    c->filled = a->filled;
    /* the text cache is the archive's own business: a const archive may
     * fill it (a save does not change what the archive holds) */
    ((qd_archive *)a)->text_cache = c;
    return c;
}

void qdi_archive_set_threads(qd_archive *a, size_t n)
{
    a->threads = n;
}

void qdi_archive_freeze_text(const qd_archive *a)
{
    cache_of(a);
    ((qd_archive *)a)->text_frozen = 1;
}

void qdi_archive_drop_text(const qd_archive *a)
{
    struct qdi_elite_text_cache *c = a->text_cache;
    ((qd_archive *)a)->text_frozen = 0;
    if (!c)
        return;
    free(c->text);
    free(c->end);
    free(c->quoted);
    free(c);
    ((qd_archive *)a)->text_cache = NULL;
}

int qdi_elite_text_open(qdi_elite_text *t, const qd_archive *a)
{
    memset(t, 0, sizeof *t);
    t->a = a;
    if ((t->cache = cache_of(a)))
        return QD_OK;
    t->scratch = malloc(slot_room(a));
    return t->scratch ? QD_OK : QD_ENOMEM;
}

void qdi_elite_text_slot(qdi_elite_text *t, size_t slot)
{
    const char *base;
    size_t start, end[4], i;
    if (t->cache) {
        base = t->cache->text;
        start = slot ? t->cache->end[4 * slot - 1] : 0;
        memcpy(end, t->cache->end + 4 * slot, sizeof end);
        t->quoted = t->cache->quoted[slot];
    } else {
        base = t->scratch;
        start = 0;
        put_slot(t->a, slot, t->scratch, t->scratch, end, &t->quoted);
    }
    /* each group without its last comma */
    for (i = 0; i < 4; i++) {
        t->group[i] = base + start;
        t->len[i] = end[i] > start ? end[i] - start - 1 : 0;
        start = end[i];
    }
}

void qdi_elite_text_close(qdi_elite_text *t)
{
    free(t->scratch);
    t->scratch = NULL;
}
