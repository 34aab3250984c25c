/* redis-url.h — parses redis://[[USER]:PASSWORD@]HOST[:PORT][/DB].
 *
 * Pure. User and password may be percent-encoded (a password holding '@' is
 * written %40). HOST may be a name, an IPv4 address or a bracketed IPv6
 * address. PORT defaults to 6379, DB to 0. */
#ifndef WSCALE_REDIS_URL_H
#define WSCALE_REDIS_URL_H

#include <stdint.h>

#define REDIS_URL_DEFAULT_PORT 6379

struct redis_url {
    char host[256];
    uint16_t port;
    char user[128];     /* empty: no ACL user, AUTH with the password only */
    char password[512]; /* empty: no AUTH */
    unsigned db;
};

/* Returns 0, or -1 with *err saying what is wrong. */
int redis_url_parse(const char *text, struct redis_url *out, const char **err);

/* Writes the URL back without its password, for logs: "redis://host:port/db". */
void redis_url_format(const struct redis_url *url, char *buf, unsigned size);

#endif
