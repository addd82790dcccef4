/* strbuf.c - a growable string for building prompts and small JSON texts:
 * appends never fail loudly, a failed allocation sets `failed` and later
 * appends do nothing, so a builder checks once at the end. */
#include <stdlib.h>
#include <string.h>
#include "internal.h"

void qdi_strbuf_put(qdi_strbuf *b, const char *s)
{
    size_t n = strlen(s);
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (b->len + n + 1 > cap)
            cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) {
            b->failed = 1;
            return;
        }
        b->s = p;
        b->cap = cap;
    }
    memcpy(b->s + b->len, s, n + 1);
    b->len += n;
}
