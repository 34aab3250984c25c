/* balance.h — choosing a server for a new stream.
 *
 * roundrobin  smooth weighted round-robin: over any window, each server gets
 *             its weight's share, interleaved rather than in bursts
 * leastconn   fewest streams per unit of weight (the right choice for
 *             long-lived tunnels); ties rotate
 * random(N)   N weighted random draws, the least loaded of them wins
 *             ("power of N choices")
 * source, uri, url_param NAME, hdr(NAME)
 *             a hash of the client's address, the path (or whole URI), a
 *             query parameter, a header; with hash-type map-based the hash
 *             picks among the usable servers (any change moves most keys),
 *             with consistent it falls on a ring of 100 points per unit of
 *             weight derived from server names (a change moves about the
 *             changed server's share). hash-balance-factor N skips servers
 *             whose load would exceed N% of their weighted share of the
 *             average: bounded loads, so a hot key cannot swamp one server.
 *             A request without the key (no such parameter or header) is
 *             balanced round-robin.
 *
 * Only UP servers with a weight and a free slot (maxconn) are chosen. Backup
 * servers are used only when no active server is UP: the first one, or all
 * of them with "option allbackups". */
#ifndef WSCALE_LB_BALANCE_H
#define WSCALE_LB_BALANCE_H

#include <stddef.h>
#include <stdint.h>

#include "lb-t.h"

/* Returns the chosen server, or NULL. `hash` is the request's hash for the
 * hash algorithms (NULL when the request lacks the key). `avoid` (may be
 * NULL) is only chosen if nothing else is usable. *full is set when servers
 * are UP but all of them are at their maxconn: the caller queues instead of
 * failing. */
struct server *balance_pick(struct proxy *be, const struct server *avoid, const uint64_t *hash,
                            int *full);

/* The hash of a key (64-bit FNV-1a, then a finalizer that spreads the bits). */
uint64_t balance_hash(const void *data, size_t len);

/* Builds be's consistent-hash ring from its servers' names and weights.
 * Returns 0, or -1 if out of memory. */
int balance_ring_build(struct proxy *be);

/* Finds query parameter `name` in a request target ("/chat?room=a&x=1").
 * Returns 1 and its value (possibly empty), or 0 when absent. */
int balance_url_param(const char *target, size_t len, const char *name, const char **value,
                      size_t *value_len);

/* True when the algorithm hashes a property of the request. */
static inline int balance_hashes(const struct proxy *be)
{
    return be->balance >= BALANCE_SOURCE;
}

/* True when the server can be given a new stream now. */
int balance_server_usable(const struct server *s);

/* True when the server may take a request that persistence (a cookie or a
 * stick table) sends to it without balancing: UP and not in maintenance (a
 * draining server keeps its persistent clients, as HAProxy's). Its weight
 * does not matter and its maxconn is waited for, in its queue (connect.c). */
int balance_server_persist_ok(const struct server *s);

#endif
