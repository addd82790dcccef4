/* outbuf.c - the out-of-line half of src/outbuf.h: flushing, long pieces,
 * integers and XML text. */
#include "outbuf.h"

void qdi_out_flush(qdi_outbuf *o)
{
    if (o->n)
        fwrite(o->b, 1, o->n, o->fp);
    o->n = 0;
}

void qdi_out_spill(qdi_outbuf *o, const char *s, size_t n)
{
    qdi_out_flush(o);
    fwrite(s, 1, n, o->fp);
}

void qdi_out_u64(qdi_outbuf *o, uint64_t n)
{
    char b[24], *p = qdi_u64_digits(b + sizeof b, n);
    qdi_out_write(o, p, (size_t)(b + sizeof b - p));
}

void qdi_out_xml_text(qdi_outbuf *o, const char *s)
{
    for (; s && *s; s++) {
        switch (*s) {
        case '&': qdi_out_write(o, "&amp;", 5); break;
        case '<': qdi_out_write(o, "&lt;", 4); break;
        case '>': qdi_out_write(o, "&gt;", 4); break;
        case '"': qdi_out_write(o, "&quot;", 6); break;
        case '\'': qdi_out_write(o, "&apos;", 6); break;
        default: qdi_out_c(o, *s);
        }
    }
}
