/* utf8.h — incremental UTF-8 validation (RFC 3629), for text that arrives in
 * pieces: WebSocket fragments, frames split across reads.
 *
 * Fails fast: the first byte that cannot start or continue a valid sequence
 * is an error, even when the sequence would only have completed in a later
 * piece. Overlong forms, surrogates (U+D800..U+DFFF) and code points above
 * U+10FFFF are errors. */
#ifndef WSCALE_UTF8_H
#define WSCALE_UTF8_H

#include <stddef.h>
#include <stdint.h>

struct utf8_state {
    uint8_t need; /* continuation bytes still expected */
    uint8_t lo;   /* allowed range for the next continuation byte */
    uint8_t hi;
};

#define UTF8_STATE_INIT { 0, 0x80, 0xBF }

/* Validates the next piece. Returns 0, or -1 at the first invalid byte
 * (the state is then meaningless). */
int utf8_feed(struct utf8_state *st, const uint8_t *p, size_t len);

/* True when the text so far ends on a character boundary. */
static inline int utf8_complete(const struct utf8_state *st)
{
    return st->need == 0;
}

/* Validates a whole string. Returns 0 or -1. */
int utf8_validate(const uint8_t *p, size_t len);

#endif
