/* stick-rules.c — see stick-rules.h. */
#include "stick-rules.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "../shared/units.h"
#include "balance.h"
#include "stick.h"
#include "stream.h"

uint32_t stick_server_key(const struct server *s)
{
    return s->obj;
}

struct server *stick_key_server(const struct lb *lb, const struct proxy *be, uint32_t key)
{
    (void)lb;
    for (size_t i = 0; key && i < be->nservers; i++)
        if (be->servers[i]->obj == key)
            return be->servers[i];
    return NULL;
}

/* CLOCK_MONOTONIC in ms: the same clock in every process of the host. */
static uint64_t monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* The client's address as a key of be's table, in key, or NULL when the
 * table's type cannot hold it (an IPv6 client, a type ip table). */
static const uint8_t *client_key(const struct proxy *be, const struct stream *s, uint8_t key[16])
{
    if (!be->stick.ipv6 && (s->flags & SF_IPV6))
        return NULL;
    stream_client_addr(s, key);
    return key;
}

struct server *stick_match_server(struct lb *lb, const struct stream *s, const struct proxy *be)
{
    uint8_t buf[16];
    const uint8_t *key = be->stick.match && be->stick.table ? client_key(be, s, buf) : NULL;
    uint32_t srv_key;
    if (key == NULL || !stick_lookup(be->stick.table, key, monotonic_ms(), &srv_key))
        return NULL;
    struct server *srv = stick_key_server(lb, be, srv_key);
    return srv && balance_server_persist_ok(srv) ? srv : NULL;
}

void stick_store_request(const struct stream *s)
{
    const struct server *srv = stream_server(s);
    const struct proxy *be = srv->be;
    uint8_t buf[16];
    const uint8_t *key = be->stick.store && be->stick.table ? client_key(be, s, buf) : NULL;
    if (key)
        stick_store(be->stick.table, key, stick_server_key(srv), monotonic_ms());
}

/* ---- configuration ------------------------------------------------------ */

/* HAProxy's table sizes: a count with an optional k, m or g suffix, for
 * 2^10, 2^20 and 2^30. Returns 0, or -1 with the reason in err. */
static int parse_count(const char *text, unsigned *out, char *err, size_t errlen)
{
    char digits[24];
    size_t n = strlen(text);
    unsigned shift = 0;
    if (n > 0 && strchr("kKmMgG", text[n - 1])) {
        char c = text[--n];
        shift = c == 'k' || c == 'K' ? 10 : c == 'm' || c == 'M' ? 20 : 30;
    }
    uint64_t v;
    if (n == 0 || n >= sizeof(digits)) {
        snprintf(err, errlen, "stick-table size '%s' is not a number of entries (e.g. 200k)", text);
        return -1;
    }
    memcpy(digits, text, n);
    digits[n] = '\0';
    if (units_parse_uint(digits, UINT32_MAX, &v) != 0) {
        snprintf(err, errlen, "stick-table size '%s' is not a number of entries (e.g. 200k)", text);
        return -1;
    }
    v <<= shift;
    if (v == 0 || v > STICK_MAX_ENTRIES) {
        snprintf(err, errlen, "stick-table size '%s' must be from 1 to 16m entries (at 32 bytes "
                 "each, 16m take 512 MiB)", text);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

/* HAProxy options wscale does not offer, and why. */
static const char *unsupported_table_option(const char *o)
{
    static const char *const reasons[][2] = {
        { "nopurge", "a full table always drops its least recently used entries" },
        { "peers", "tables are not replicated between hosts" },
        { "srvkey", "entries name servers by wscale's own key" },
        { "write-to", "a table is not copied into another" },
        { "store", "tables map clients to servers only (no counters or other data)" },
        { "len", "it sizes string and binary keys; wscale's tables hold addresses" },
        { "recv-only", "tables are not replicated between hosts" },
    };
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (strcmp(o, reasons[i][0]) == 0)
            return reasons[i][1];
    return NULL;
}

int stick_parse_table(int argc, char *const *argv, struct stick_conf *sc, char *err, size_t errlen)
{
    struct stick_conf t = *sc;
    int have_type = 0, have_size = 0;
    t.expire_ms = 0;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        const char *why = unsupported_table_option(o);
        if (why) {
            snprintf(err, errlen, "stick-table: '%s' is not supported: %s", o, why);
            return -1;
        }
        if (strcmp(o, "type") != 0 && strcmp(o, "size") != 0 && strcmp(o, "expire") != 0) {
            snprintf(err, errlen, "unknown stick-table option '%s' (expected type ip|ipv6, "
                     "size N, expire DURATION)", o);
            return -1;
        }
        if (v == NULL) {
            snprintf(err, errlen, "stick-table: '%s' expects a value", o);
            return -1;
        }
        i++;
        if (strcmp(o, "type") == 0) {
            if (strcmp(v, "ip") != 0 && strcmp(v, "ipv6") != 0) {
                int known = strcmp(v, "integer") == 0 || strcmp(v, "string") == 0 ||
                            strcmp(v, "binary") == 0;
                snprintf(err, errlen, "stick-table type '%s' is %s: wscale sticks on the client's "
                         "address, with type ip (IPv4 clients) or ipv6 (every client)", v,
                         known ? "not supported" : "unknown");
                return -1;
            }
            t.ipv6 = strcmp(v, "ipv6") == 0;
            have_type = 1;
        } else if (strcmp(o, "size") == 0) {
            if (parse_count(v, &t.size, err, errlen) != 0)
                return -1;
            have_size = 1;
        } else {
            uint64_t ms;
            if (units_parse_duration(v, UNITS_MILLISECONDS, &ms) != 0) {
                snprintf(err, errlen, "stick-table expire '%s' is not a duration (a number with "
                         "ms, s, m, h or d, at most 24 days)", v);
                return -1;
            }
            t.expire_ms = (uint32_t)ms;
        }
    }
    if (!have_type || !have_size) {
        snprintf(err, errlen, "stick-table needs %s, e.g. 'stick-table type ip size 200k expire 30m'",
                 !have_type ? "a type" : "a size");
        return -1;
    }
    *sc = t;
    return 0;
}

int stick_parse_rule(int argc, char *const *argv, struct stick_conf *sc, char *err, size_t errlen)
{
    const char *kind = argc > 1 ? argv[1] : "";
    int match = strcmp(kind, "on") == 0 || strcmp(kind, "match") == 0;
    int store = strcmp(kind, "on") == 0 || strcmp(kind, "store-request") == 0;
    if (strcmp(kind, "store-response") == 0) {
        snprintf(err, errlen, "'stick store-response' is not supported: wscale sticks on the "
                 "client's address, with 'stick on src'");
        return -1;
    }
    if (!match && !store) {
        snprintf(err, errlen, "'stick %s': expected 'stick on src' (or 'stick match src' and "
                 "'stick store-request src')", kind);
        return -1;
    }
    if (argc < 3) {
        snprintf(err, errlen, "'stick %s' expects what to stick on: src", kind);
        return -1;
    }
    if (strcmp(argv[2], "src") != 0) {
        snprintf(err, errlen, "'stick %s %s': only the client's address, src, is supported",
                 kind, argv[2]);
        return -1;
    }
    if (argc > 3) {
        const char *o = argv[3];
        if (strcmp(o, "table") == 0)
            snprintf(err, errlen, "'stick %s src table ...': another proxy's table is not "
                     "supported: declare a stick-table in this backend", kind);
        else if (strcmp(o, "if") == 0 || strcmp(o, "unless") == 0)
            snprintf(err, errlen, "conditional stick rules ('%s ...') are not supported", o);
        else
            snprintf(err, errlen, "'stick %s src': unexpected '%s' (nothing may follow src)",
                     kind, o);
        return -1;
    }
    sc->match |= (uint8_t)match;
    sc->store |= (uint8_t)store;
    return 0;
}
