/* handover.h — on a reload, idle tunnels move to the new workers.
 *
 * A tunnel is idle when no byte of it waits in the lb (bytes waiting in the
 * kernel's socket buffers travel with the sockets) and neither side has
 * closed or speaks TLS. Its two sockets go to a new worker with SCM_RIGHTS,
 * with what the log line needs (client, server, byte counts, age, request
 * line); the new worker relays from there. Clients notice nothing, and the
 * old worker can exit instead of lingering as long as its WebSockets live.
 * Tunnels that cannot move now are tried again while the old worker
 * drains; TLS tunnels never move. A tunnel moves only if the new
 * configuration still has its frontend and server. */
#ifndef WSCALE_LB_HANDOVER_H
#define WSCALE_LB_HANDOVER_H

#include <ev.h>
#include <stdint.h>

#include "lb.h"

/* Old worker: starts handing tunnels over to the workers of generation
 * `successor` through xfer_fd (which it now owns). */
void handover_start(struct lb *lb, int xfer_fd, uint32_t successor);

void handover_free(struct lb *lb);

/* New worker: lb->xfer_watch is readable (tunnels arrive). */
void handover_on_receive(struct ev_loop *loop, ev_io *w, int revents);

#endif
