/* hub.c — see hub.h. */
#include "hub.h"

#include "session.h"

void hub_add(struct hub *h, struct session *s)
{
    s->hub_prev = NULL;
    s->hub_next = h->head;
    if (h->head)
        h->head->hub_prev = s;
    h->head = s;
    h->count++;
}

void hub_remove(struct hub *h, struct session *s)
{
    if (s->hub_prev)
        s->hub_prev->hub_next = s->hub_next;
    else
        h->head = s->hub_next;
    if (s->hub_next)
        s->hub_next->hub_prev = s->hub_prev;
    s->hub_prev = s->hub_next = NULL;
    h->count--;
}

void hub_broadcast(struct hub *h, struct rbuf *frame)
{
    struct session *s = h->head;
    while (s) {
        struct session *next = s->hub_next; /* s may leave the hub below */
        session_send(s, frame);
        s = next;
    }
}
