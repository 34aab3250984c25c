/* cookie.c — see cookie.h. */
#include "cookie.h"

#include <string.h>

static const char B64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int is_space(char c)
{
    return c == ' ' || c == '\t';
}

static int is_delim(char c)
{
    return c == ';' || c == ',';
}

/* The end of a value starting at i: the first delimiter outside quotes (a
 * backslash escapes the next character inside them), or len. */
static size_t value_end(const char *v, size_t len, size_t i)
{
    int quoted = 0;
    for (; i < len; i++) {
        if (quoted && v[i] == '\\' && i + 1 < len)
            i++;
        else if (v[i] == '"')
            quoted = !quoted;
        else if (!quoted && is_delim(v[i]))
            break;
    }
    return i;
}

int cookie_next(const char *v, size_t len, size_t *pos, struct cookie_pair *out)
{
    size_t i = *pos;
    while (i < len && (is_space(v[i]) || is_delim(v[i])))
        i++;
    if (i >= len) {
        *pos = len;
        return 0;
    }
    size_t name_beg = i, name_end = i;
    for (; i < len && v[i] != '=' && !is_delim(v[i]); i++)
        if (!is_space(v[i]))
            name_end = i + 1;
    out->name = v + name_beg;
    out->name_len = name_end - name_beg;
    out->start = v + name_beg;
    out->has_value = i < len && v[i] == '=';
    if (!out->has_value) {
        out->value = v + name_end;
        out->value_len = 0;
        out->end = v + name_end;
        *pos = i < len ? i + 1 : len;
        return 1;
    }
    i++;
    while (i < len && is_space(v[i]))
        i++;
    size_t val_beg = i, stop = value_end(v, len, i), val_end = stop;
    while (val_end > val_beg && is_space(v[val_end - 1]))
        val_end--;
    out->value = v + val_beg;
    out->value_len = val_end - val_beg;
    out->end = v + val_end;
    *pos = stop < len ? stop + 1 : len;
    return 1;
}

static int named(const struct cookie_pair *p, const char *name, size_t name_len)
{
    return p->has_value && p->name_len == name_len && memcmp(p->name, name, name_len) == 0;
}

int cookie_find(const char *v, size_t len, const char *name, size_t *pos, const char **value,
                size_t *value_len)
{
    size_t name_len = strlen(name);
    struct cookie_pair p;
    while (cookie_next(v, len, pos, &p)) {
        if (named(&p, name, name_len)) {
            *value = p.value;
            *value_len = p.value_len;
            return 1;
        }
    }
    return 0;
}

size_t cookie_strip(const char *v, size_t len, const char *name, char *out)
{
    size_t name_len = strlen(name), pos = 0, n = 0;
    int kept = 0, kept_cookie = 0, dropping = 0;
    /* The separator after the last pair kept: from its end to the start of
     * the pair that followed it, whatever became of that one. */
    const char *sep_from = NULL, *sep_to = NULL;
    struct cookie_pair p;
    while (cookie_next(v, len, &pos, &p)) {
        if (sep_from && !sep_to)
            sep_to = p.start;
        if (named(&p, name, name_len)) {
            dropping = 1;
            continue;
        }
        int attribute = p.name_len > 0 && p.name[0] == '$';
        if (attribute && dropping)
            continue; /* it belongs to the cookie removed before it */
        dropping = 0;
        if (kept) {
            memcpy(out + n, sep_from, (size_t)(sep_to - sep_from));
            n += (size_t)(sep_to - sep_from);
        }
        memcpy(out + n, p.start, (size_t)(p.end - p.start));
        n += (size_t)(p.end - p.start);
        kept = 1;
        kept_cookie |= !attribute;
        sep_from = p.end;
        sep_to = NULL;
    }
    return kept_cookie ? n : 0;
}

int cookie_set_name(const char *v, size_t len, const char **name, size_t *name_len)
{
    size_t pos = 0;
    struct cookie_pair p;
    while (pos < len && is_space(v[pos]))
        pos++;
    if (pos < len && is_delim(v[pos]))
        return 0; /* the field starts with attributes: it sets nothing */
    if (!cookie_next(v, len, &pos, &p) || !p.has_value)
        return 0;
    *name = p.name;
    *name_len = p.name_len;
    return 1;
}

int cookie_name_ok(const char *name)
{
    if (*name == '\0')
        return 0;
    for (const unsigned char *c = (const unsigned char *)name; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f || strchr("()<>@,;:\\\"/[]?={}", *c))
            return 0;
    return 1;
}

int cookie_value_ok(const char *value)
{
    if (*value == '\0')
        return 0;
    for (const unsigned char *c = (const unsigned char *)value; *c; c++)
        if (*c <= 0x20 || *c >= 0x7f || strchr("\",;\\|", *c))
            return 0;
    return 1;
}

void cookie_date_encode(uint32_t units, char out[5])
{
    for (int i = 0; i < 5; i++)
        out[i] = B64[(units >> (24 - 6 * i)) & 0x3f];
}

int cookie_date_decode(const char *in, uint32_t *units)
{
    uint32_t u = 0;
    for (int i = 0; i < 5; i++) {
        const char *at = in[i] ? strchr(B64, in[i]) : NULL;
        if (at == NULL)
            return -1;
        u = u << 6 | (uint32_t)(at - B64);
    }
    *units = u;
    return 0;
}

/* A date field of at least 5 characters at p (end is the value's end), as
 * seconds; 0 when absent, invalid or zero, as HAProxy ignores those. */
static uint32_t date_at(const char *p, const char *end)
{
    char five[6];
    uint32_t units;
    if (end - p < 5)
        return 0;
    memcpy(five, p, 5);
    five[5] = '\0';
    return cookie_date_decode(five, &units) == 0 ? units << 2 : 0;
}

void cookie_value_parse(const char *v, size_t len, struct cookie_value *out)
{
    const char *end = v + len, *bar = memchr(v, '|', len);
    out->server = v;
    out->server_len = bar ? (size_t)(bar - v) : len;
    out->last = out->first = 0;
    if (bar == NULL)
        return;
    out->last = date_at(bar + 1, end);
    const char *bar2 = memchr(bar + 1, '|', (size_t)(end - bar - 1));
    if (bar2)
        out->first = date_at(bar2 + 1, end);
}

void cookie_format_set(struct strbuf *sb, const struct cookie_set *c)
{
    if (c->value == NULL) {
        strbuf_printf(sb, "%s=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/", c->name);
    } else {
        char date[5];
        strbuf_printf(sb, "%s=%s", c->name, c->value);
        if (c->dated) {
            cookie_date_encode(c->last, date);
            strbuf_printf(sb, "|%.5s", date);
            if (c->first) {
                cookie_date_encode(c->first, date);
                strbuf_printf(sb, "|%.5s", date);
            }
        }
        strbuf_printf(sb, "; path=/");
    }
    if (c->domain)
        strbuf_printf(sb, "; domain=%s", c->domain);
    if (c->httponly)
        strbuf_printf(sb, "; HttpOnly");
    if (c->secure)
        strbuf_printf(sb, "; Secure");
    if (c->attrs)
        strbuf_printf(sb, "; %s", c->attrs);
}
