/* cookie.h — the persistence cookie's codec: finding a cookie in a Cookie
 * field, reading and writing HAProxy's cookie values, building the
 * Set-Cookie the lb sends.
 *
 * Pure: bytes in, spans and text out; no I/O, no allocation (except into a
 * caller's strbuf), no globals.
 *
 * A Cookie field value is a list of NAME=VALUE pairs (RFC 6265 5.4, 4.2.1)
 * read the way HAProxy reads them: pairs end at ';' or ',' outside a quoted
 * value, whitespace around names and values is ignored, names compare
 * exactly (case-sensitive), a quoted value keeps its quotes (RFC 6265
 * 5.2: they are part of the value), "$Attr" pairs of RFC 2109 belong to the
 * cookie before them, and a word without '=' is not a cookie.
 *
 * A persistence cookie's value is SERVER[|LAST[|FIRST]]: the server's
 * "cookie" value, then, with maxidle or maxlife, the dates it was last and
 * first issued. HAProxy writes a date as UNIX time in 4-second units (30
 * bits) in 5 base64 characters, most significant first, unpadded; cookies
 * issued by HAProxy read the same here and the other way round. */
#ifndef WSCALE_LB_COOKIE_H
#define WSCALE_LB_COOKIE_H

#include <stddef.h>
#include <stdint.h>

#include "../shared/strbuf.h"

/* One pair of a Cookie field value; every pointer points into it. */
struct cookie_pair {
    const char *name;
    size_t name_len;
    const char *value;       /* after '=', whitespace trimmed; quotes kept */
    size_t value_len;
    int has_value;           /* an '=' was there ("a" alone is not a cookie) */
    const char *start, *end; /* the pair's text without surrounding whitespace */
};

/* Reads the next non-empty pair of v[0..len) at *pos (start at 0) and moves
 * *pos past it and its delimiter. Returns 1, or 0 when no pair is left. */
int cookie_next(const char *v, size_t len, size_t *pos, struct cookie_pair *out);

/* Finds the next cookie called `name` from *pos on (moving *pos past it).
 * Returns 1 and its value, or 0 when there is none. */
int cookie_find(const char *v, size_t len, const char *name, size_t *pos, const char **value,
                size_t *value_len);

/* Writes into out (room for len bytes) the field value v without the
 * cookies called `name` and the "$" attributes that follow them; the other
 * pairs and the separators between them are kept byte for byte. Returns the
 * length written, 0 when nothing but attributes is left (the field goes). */
size_t cookie_strip(const char *v, size_t len, const char *name, char *out);

/* The name a Set-Cookie field value sets. Returns 1, or 0 without '='. */
int cookie_set_name(const char *v, size_t len, const char **name, size_t *name_len);

/* Syntax checks for the configuration: a cookie name is an RFC 6265 token;
 * a server's cookie value is made of cookie-octets other than '|', which
 * would start the dates. */
int cookie_name_ok(const char *name);
int cookie_value_ok(const char *value);

/* A persistence cookie's value, read. */
struct cookie_value {
    const char *server;      /* before the first '|' (may be empty) */
    size_t server_len;
    uint32_t last, first;    /* UNIX seconds (multiples of 4); 0: none or invalid */
};

void cookie_value_parse(const char *v, size_t len, struct cookie_value *out);

/* HAProxy's date for "now": UNIX seconds rounded up to 4-second units. */
static inline uint32_t cookie_date_now(uint32_t unix_now)
{
    return (unix_now + 3) >> 2;
}

/* Writes a date in 4-second units (its low 30 bits) as 5 characters. */
void cookie_date_encode(uint32_t units, char out[5]);

/* Reads 5 characters as a date in 4-second units. Returns 0, or -1 if one
 * is not base64. */
int cookie_date_decode(const char *in, uint32_t *units);

/* What the lb's Set-Cookie says. */
struct cookie_set {
    const char *name;
    const char *value;       /* the server's cookie; NULL: tell the client to drop it */
    int dated;               /* append |LAST (maxidle or maxlife) */
    uint32_t last;           /* 4-second units */
    uint32_t first;          /* 4-second units; 0: no |FIRST (no maxlife) */
    const char *domain;      /* NULL or "a; domain=b" */
    int httponly, secure;
    const char *attrs;       /* NULL or "X=1; Y" */
};

/* Appends the Set-Cookie field value, in HAProxy's order and spelling:
 * NAME=VALUE[|LAST[|FIRST]]; path=/[; domain=D][; HttpOnly][; Secure][; ATTRS]
 * or, without a value, NAME=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/... */
void cookie_format_set(struct strbuf *sb, const struct cookie_set *c);

#endif
