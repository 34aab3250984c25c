/* stick-rules.h — a backend's stick table applied to requests: HAProxy's
 * "stick-table type ip|ipv6 size N [expire D]" with "stick on src".
 *
 * "stick on src" is "stick match src" plus "stick store-request src":
 *   match  before balancing (after cookie persistence), the client's address
 *          is looked up; if it maps to a server that can take persistent
 *          traffic (balance_server_persist_ok), the request goes there
 *          without balancing (waiting in that server's queue when it is at
 *          its maxconn); otherwise it is balanced as usual. A match
 *          refreshes the entry.
 *   store  once the connection to the server is established (so the table
 *          holds the server that really took it, after retries and
 *          redispatch), the address is mapped to it, refreshing the entry.
 * A "type ip" table holds IPv4 clients only, as in HAProxy (there an IPv6
 * source does not convert to an IPv4 key): IPv6 clients are balanced and not
 * stored. "type ipv6" holds every client (IPv4 as IPv4-mapped IPv6). */
#ifndef WSCALE_LB_STICK_RULES_H
#define WSCALE_LB_STICK_RULES_H

#include <stddef.h>
#include <stdint.h>

#include "lb-t.h"

struct lb;
struct stream;

/* What a table stores for a server, and back: its registry object, which
 * names it across reloads (a table outlives a reload that keeps it).
 * stick_key_server returns NULL when the key names no server of be. */
uint32_t stick_server_key(const struct server *s);
struct server *stick_key_server(const struct lb *lb, const struct proxy *be, uint32_t key);

/* The server the client of s sticks to in be, if it may take the request
 * now; NULL to balance. */
struct server *stick_match_server(struct lb *lb, const struct stream *s, const struct proxy *be);

/* s is connected to its server: remember the client goes there. */
void stick_store_request(const struct stream *s);

/* Config: "stick-table ..." (argv[0] "stick-table") into *sc, or "stick
 * on|match|store-request src" (argv[0] "stick"). Return 0, or -1 with the
 * reason in err; *sc is unchanged then. */
int stick_parse_table(int argc, char *const *argv, struct stick_conf *sc, char *err, size_t errlen);
int stick_parse_rule(int argc, char *const *argv, struct stick_conf *sc, char *err, size_t errlen);

#endif
