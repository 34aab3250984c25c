/* balance.h — choosing a server for a new stream.
 *
 * roundrobin  smooth weighted round-robin: over any window, each server gets
 *             its weight's share, interleaved rather than in bursts
 * leastconn   fewest streams per unit of weight (the right choice for
 *             long-lived tunnels); ties rotate
 * random(N)   N weighted random draws, the least loaded of them wins
 *             ("power of N choices")
 *
 * Only UP servers with a weight and a free slot (maxconn) are chosen. Backup
 * servers are used only when no active server is UP: the first one, or all
 * of them with "option allbackups". */
#ifndef WSCALE_LB_BALANCE_H
#define WSCALE_LB_BALANCE_H

#include "lb-t.h"

/* Returns the chosen server, or NULL. `avoid` (may be NULL) is only chosen if
 * nothing else is usable. *full is set when servers are UP but all of them
 * are at their maxconn: the caller queues instead of failing. */
struct server *balance_pick(struct proxy *be, const struct server *avoid, int *full);

/* True when the server can be given a new stream now. */
int balance_server_usable(const struct server *s);

#endif
