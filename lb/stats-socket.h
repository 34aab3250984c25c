/* stats-socket.h — the master's stats sockets: unix sockets speaking the
 * runtime API (lb/cli-api.h), as HAProxy's "stats socket". socat and nc -U
 * work against them:
 *
 *   echo "show stat" | socat stdio /run/wscale/admin.sock
 *
 * A client gets the answers to its first line and is closed, unless it
 * asked for "prompt" (interactive mode); an idle client is closed after
 * "stats timeout" (10 s), and at most "stats maxconn" (10) are served at
 * once. Sockets follow the configuration across reloads: new paths are
 * bound before the reload is accepted, removed ones closed once it is. */
#ifndef WSCALE_LB_STATS_SOCKET_H
#define WSCALE_LB_STATS_SOCKET_H

#include <ev.h>
#include <stddef.h>

#include "cli-api.h"
#include "lb-t.h"

struct stats_sockets;

struct stats_sockets *stats_sockets_new(struct ev_loop *loop, const struct api_ops *ops);

/* Binds the sockets of cfg that are not open yet. Returns 0, or -1 with a
 * FILE:LINE message in why (and those it just bound are closed again). */
int stats_sockets_open(struct stats_sockets *ss, const struct lb_config *cfg, char *why,
                       size_t size);

/* Closes (and removes) the sockets cfg does not have. */
void stats_sockets_prune(struct stats_sockets *ss, const struct lb_config *cfg);

/* Levels, permissions, timeout and maxconn of cfg apply from now on. */
void stats_sockets_set_config(struct stats_sockets *ss, const struct lb_config *cfg);

/* Closes every socket and client; removes the socket files. */
void stats_sockets_free(struct stats_sockets *ss);

#endif
