/* redis-url.c — see redis-url.h. */
#include "redis-url.h"

#include <stdio.h>
#include <string.h>

#include "../shared/units.h"

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (size bytes with the NUL). */
static int decode(const char *s, size_t n, char *out, size_t size)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (o + 1 >= size)
            return -1;
        out[o++] = c;
    }
    out[o] = '\0';
    return 0;
}

int redis_url_parse(const char *text, struct redis_url *out, const char **err)
{
    static const char scheme[] = "redis://";
    memset(out, 0, sizeof(*out));
    out->port = REDIS_URL_DEFAULT_PORT;

    if (strncmp(text, "rediss://", 9) == 0) {
        *err = "TLS to Redis (rediss://) is not supported; use redis://";
        return -1;
    }
    if (strncmp(text, scheme, sizeof(scheme) - 1) != 0) {
        *err = "expected redis://[[user]:password@]host[:port][/db]";
        return -1;
    }
    const char *p = text + sizeof(scheme) - 1;

    /* userinfo ends at the last '@' before the path. */
    const char *path = strchr(p, '/');
    const char *end = path ? path : p + strlen(p);
    const char *at = NULL;
    for (const char *q = p; q < end; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL) {
            *err = "credentials must be written user:password@ or :password@";
            return -1;
        }
        if (decode(p, (size_t)(colon - p), out->user, sizeof(out->user)) != 0 ||
            decode(colon + 1, (size_t)(at - colon - 1), out->password, sizeof(out->password)) != 0) {
            *err = "invalid or over-long user or password (percent-encode special characters)";
            return -1;
        }
        if (out->password[0] == '\0') {
            *err = "empty password";
            return -1;
        }
        p = at + 1;
    }

    const char *host_end, *port_start = NULL;
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (close == NULL) {
            *err = "unterminated [IPv6] address";
            return -1;
        }
        p++;
        host_end = close;
        if (close + 1 < end) {
            if (close[1] != ':') {
                *err = "unexpected text after the [IPv6] address";
                return -1;
            }
            port_start = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(end - p));
        host_end = colon ? colon : end;
        if (colon)
            port_start = colon + 1;
    }
    size_t hlen = (size_t)(host_end - p);
    if (hlen == 0) {
        *err = "missing host";
        return -1;
    }
    if (hlen >= sizeof(out->host)) {
        *err = "host name too long";
        return -1;
    }
    for (size_t i = 0; i < hlen; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= 0x20 || c >= 0x7f || c == '@' || c == '?' || c == '#') {
            *err = "invalid character in host";
            return -1;
        }
    }
    memcpy(out->host, p, hlen);
    out->host[hlen] = '\0';

    if (port_start) {
        char port[8];
        size_t n = (size_t)(end - port_start);
        if (n == 0 || n >= sizeof(port)) {
            *err = "invalid port (expected 1-65535)";
            return -1;
        }
        memcpy(port, port_start, n);
        port[n] = '\0';
        if (units_parse_port(port, &out->port) != 0) {
            *err = "invalid port (expected 1-65535)";
            return -1;
        }
    }

    if (path && path[1] != '\0') {
        uint64_t db;
        if (units_parse_uint(path + 1, 65535, &db) != 0) {
            *err = "invalid database number after '/'";
            return -1;
        }
        out->db = (unsigned)db;
    }
    return 0;
}

void redis_url_format(const struct redis_url *url, char *buf, unsigned size)
{
    int v6 = strchr(url->host, ':') != NULL;
    snprintf(buf, size, "redis://%s%s%s%s%s:%u/%u", url->user, url->password[0] ? ":***@" : "",
             v6 ? "[" : "", url->host, v6 ? "]" : "", url->port, url->db);
}
