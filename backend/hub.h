/* hub.h — the sessions of this process that receive chat traffic, and the
 * local fan-out: one encoded frame, queued by reference to each of them. */
#ifndef WSCALE_HUB_H
#define WSCALE_HUB_H

#include <stddef.h>

#include "../shared/rbuf.h"

struct session;

struct hub {
    struct session *head; /* doubly linked through session.hub_prev/hub_next */
    size_t count;
};

void hub_add(struct hub *h, struct session *s);
void hub_remove(struct hub *h, struct session *s);

/* Queues frame to every member. A member that this pushes over its output
 * limit is closed as a slow consumer (and leaves the hub); the others keep
 * receiving. */
void hub_broadcast(struct hub *h, struct rbuf *frame);

#endif
