/* utf8.c - UTF-8 checked on the way in, so every JSON file a run writes can
 * be read back by strict parsers (Python's json refused an archive.json
 * whose "name" held a Latin-1 byte). Config text with invalid UTF-8 is
 * refused with its line and column; text from outside (LLM replies, a
 * command's replies and messages) has each invalid byte replaced by U+FFFD,
 * as browsers and Python's errors="replace" do. Valid means RFC 3629: no
 * overlong forms, no surrogates, nothing above U+10FFFF. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "internal.h"

/* Length of the valid UTF-8 sequence at s (1-4), or 0 if it is not one. */
static size_t sequence(const unsigned char *s)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        return (s[1] & 0xc0) == 0x80 ? 2 : 0;
    if (c >= 0xe0 && c <= 0xef) {
        unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
    }
    return 0;
}

int qdi_utf8_valid(const char *text, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; s[i];) {
        size_t n = sequence(s + i);
        if (!n) {
            if (bad)
                *bad = i;
            return 0;
        }
        i += n;
    }
    return 1;
}

char *qdi_utf8_fix(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t len = strlen(text), k = 0;
    char *out = malloc(3 * len + 1); /* each bad byte becomes 3 */
    if (!out)
        return NULL;
    for (size_t i = 0; s[i];) {
        size_t n = sequence(s + i);
        if (n) {
            memcpy(out + k, s + i, n);
            k += n;
            i += n;
        } else {
            memcpy(out + k, "\xef\xbf\xbd", 3);
            k += 3;
            i++;
        }
    }
    out[k] = '\0';
    return out;
}

int qdi_utf8_sanitize(char **text)
{
    char *fixed;
    if (!*text || qdi_utf8_valid(*text, NULL))
        return QD_OK;
    if (!(fixed = qdi_utf8_fix(*text)))
        return QD_ENOMEM;
    free(*text);
    *text = fixed;
    return QD_OK;
}

void qdi_utf8_sanitize_buf(char *buf, size_t len)
{
    char *fixed;
    size_t bad;
    if (qdi_utf8_valid(buf, NULL) || !(fixed = qdi_utf8_fix(buf)))
        return;
    snprintf(buf, len, "%s", fixed);
    free(fixed);
    if (!qdi_utf8_valid(buf, &bad)) /* the cut split the last sequence */
        buf[bad] = '\0';
}
