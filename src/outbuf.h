/* outbuf.h - a writer's own buffer in front of a FILE, for the writers that
 * put a few dozen short pieces per elite (tags, commas, numbers): a stdio
 * call costs some 130 instructions (its lock, its checks, its copy), an
 * append here a bounds check and a memcpy. A full buffer goes to the FILE in
 * one fwrite, so a failed write leaves the FILE in error as before (the
 * atomic file's commit reports it). The writer flushes before it writes to
 * the FILE itself and before it returns. */
#ifndef QD_OUTBUF_H
#define QD_OUTBUF_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define QDI_OUTBUF_SIZE 16384

typedef struct qdi_outbuf {
    FILE *fp;
    size_t n; /* bytes held */
    char b[QDI_OUTBUF_SIZE];
} qdi_outbuf;

/* Hands the buffered bytes to fp (fwrite) and empties the buffer. */
void qdi_out_flush(qdi_outbuf *o);
/* Flushes, then writes s[0..n) to fp directly (a piece that does not fit). */
void qdi_out_spill(qdi_outbuf *o, const char *s, size_t n);
/* Appends n in decimal, as printf's "%llu". */
void qdi_out_u64(qdi_outbuf *o, uint64_t n);
/* Appends s with XML's five special characters escaped (s NULL: nothing). */
void qdi_out_xml_text(qdi_outbuf *o, const char *s);

/* Writes n's decimal digits to end back from end (24 bytes are room for
 * any); returns the first. */
static inline char *qdi_u64_digits(char *end, uint64_t n)
{
    do
        *--end = (char)('0' + n % 10);
    while (n /= 10);
    return end;
}

static inline void qdi_out_init(qdi_outbuf *o, FILE *fp)
{
    o->fp = fp;
    o->n = 0;
}

static inline void qdi_out_write(qdi_outbuf *o, const char *s, size_t n)
{
    if (n > QDI_OUTBUF_SIZE - o->n) {
        qdi_out_spill(o, s, n);
        return;
    }
    memcpy(o->b + o->n, s, n);
    o->n += n;
}

/* Appends a string (a literal's length is folded at compile time). */
static inline void qdi_out_puts(qdi_outbuf *o, const char *s)
{
    qdi_out_write(o, s, strlen(s));
}

static inline void qdi_out_c(qdi_outbuf *o, char c)
{
    if (o->n == QDI_OUTBUF_SIZE)
        qdi_out_flush(o);
    o->b[o->n++] = c;
}

/* Room for need <= QDI_OUTBUF_SIZE bytes at the buffer's end, to format into
 * in place; qdi_out_commit then keeps the len bytes written there. */
static inline char *qdi_out_room(qdi_outbuf *o, size_t need)
{
    if (need > QDI_OUTBUF_SIZE - o->n)
        qdi_out_flush(o);
    return o->b + o->n;
}

static inline void qdi_out_commit(qdi_outbuf *o, size_t len)
{
    o->n += len;
}

#endif
