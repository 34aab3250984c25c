/* utf8-reference.h — a UTF-8 validator written from RFC 3629 section 3 by
 * decoding (shortest form only, no surrogates, nothing above U+10FFFF): an
 * oracle independent of shared/utf8.c, for its unit tests and its fuzz
 * target. */
#ifndef WSCALE_UTF8_REFERENCE_H
#define WSCALE_UTF8_REFERENCE_H

#include <stddef.h>
#include <stdint.h>

/* 1 if p[0..len) is UTF-8, else 0. */
static inline int utf8_reference_valid(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        size_t n;
        uint32_t cp, min;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 2, cp = c & 0x1F, min = 0x80;
        } else if ((c & 0xF0) == 0xE0) {
            n = 3, cp = c & 0x0F, min = 0x800;
        } else if ((c & 0xF8) == 0xF0) {
            n = 4, cp = c & 0x07, min = 0x10000;
        } else {
            return 0;
        }
        if (i + n > len)
            return 0;
        for (size_t k = 1; k < n; k++) {
            if ((p[i + k] & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (p[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += n;
    }
    return 1;
}

#endif
