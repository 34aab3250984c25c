/* utf8.c — see utf8.h. */
#include "utf8.h"

#include <string.h>

int utf8_feed(struct utf8_state *st, const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        if (st->need == 0) {
            /* ASCII fast path: eight bytes at a time while no high bit is set. */
            while (i + 8 <= len) {
                uint64_t w;
                memcpy(&w, p + i, 8);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            if (i == len)
                break;
            uint8_t c = p[i++];
            if (c < 0x80)
                continue;
            st->lo = 0x80;
            st->hi = 0xBF;
            if (c >= 0xC2 && c <= 0xDF) {
                st->need = 1;
            } else if (c >= 0xE0 && c <= 0xEF) {
                st->need = 2;
                if (c == 0xE0)
                    st->lo = 0xA0; /* no overlong 3-byte forms */
                else if (c == 0xED)
                    st->hi = 0x9F; /* no surrogates */
            } else if (c >= 0xF0 && c <= 0xF4) {
                st->need = 3;
                if (c == 0xF0)
                    st->lo = 0x90; /* no overlong 4-byte forms */
                else if (c == 0xF4)
                    st->hi = 0x8F; /* nothing above U+10FFFF */
            } else {
                return -1; /* stray continuation, C0/C1 overlong, F5..FF */
            }
        } else {
            uint8_t c = p[i++];
            if (c < st->lo || c > st->hi)
                return -1;
            st->lo = 0x80;
            st->hi = 0xBF;
            st->need--;
        }
    }
    return 0;
}

int utf8_validate(const uint8_t *p, size_t len)
{
    struct utf8_state st = UTF8_STATE_INIT;
    if (utf8_feed(&st, p, len) != 0 || !utf8_complete(&st))
        return -1;
    return 0;
}
