/* stream.c — see stream.h: creation, socket watching, timeouts by phase,
 * and the end of a stream. */
#include "stream.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/log.h"
#include "httplog.h"
#include "io.h"

static struct stream *stream_of_cli(ev_io *w)
{
    return (struct stream *)(void *)((char *)w - offsetof(struct stream, cli));
}

static struct stream *stream_of_srv(ev_io *w)
{
    return (struct stream *)(void *)((char *)w - offsetof(struct stream, srv));
}

static void stream_dispatch(struct lb *lb, struct stream *s, int cli_revents, int srv_revents)
{
    switch (s->state) {
    case ST_CONNECT:
        if (srv_revents)
            connect_io(lb, s);
        break;
    case ST_TUNNEL:
        tunnel_io(lb, s, cli_revents, srv_revents);
        break;
    case ST_REQ:
    case ST_HTTP:
    case ST_REPLY:
        txn_io(lb, s, cli_revents, srv_revents);
        break;
    default:
        break;
    }
}

/* The loop's userdata is the lb (worker.c): the watchers' data pointers
 * name the stream's listener and server. */
static void on_client(struct ev_loop *loop, ev_io *w, int revents)
{
    stream_dispatch(ev_userdata(loop), stream_of_cli(w), revents, 0);
}

static void on_server(struct ev_loop *loop, ev_io *w, int revents)
{
    stream_dispatch(ev_userdata(loop), stream_of_srv(w), 0, revents);
}

static void watch_one(struct ev_loop *loop, ev_io *w, int events)
{
    if (w->fd < 0)
        return;
    if ((w->events & (EV_READ | EV_WRITE)) == events && !!ev_is_active(w) == (events != 0))
        return;
    ev_io_stop(loop, w);
    ev_io_set(w, w->fd, events);
    if (events)
        ev_io_start(loop, w);
}

void stream_watch(struct lb *lb, struct stream *s, int cli_events, int srv_events)
{
    watch_one(lb->loop, &s->cli, cli_events);
    watch_one(lb->loop, &s->srv, srv_events);
}

void stream_set_timeout(struct lb *lb, struct stream *s, uint32_t ms)
{
    struct timeq *q = lb_timeq(lb, ms);
    if (q)
        timeq_add(q, &s->tq);
}

static const uint8_t v4_mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

static const uint8_t *client_addr6(const struct stream *s)
{
    return ((const struct stream6 *)(const void *)s)->client_addr;
}

void stream_client_ip(const struct stream *s, char *out, size_t size)
{
    if (s->flags & SF_IPV6)
        inet_ntop(AF_INET6, client_addr6(s), out, (socklen_t)size);
    else
        inet_ntop(AF_INET, s->client_v4, out, (socklen_t)size);
}

void stream_client_addr(const struct stream *s, uint8_t out[16])
{
    if (s->flags & SF_IPV6) {
        memcpy(out, client_addr6(s), 16);
    } else {
        memcpy(out, v4_mapped, 12);
        memcpy(out + 12, s->client_v4, 4);
    }
}

/* The client's address in 16 bytes (IPv4 as IPv4-mapped IPv6) and port. */
static uint16_t sockaddr_client(const struct sockaddr *addr, uint8_t out[16])
{
    memset(out, 0, 16);
    if (addr->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)addr;
        memcpy(out, v4_mapped, 12);
        memcpy(out + 12, &a->sin_addr, 4);
        return ntohs(a->sin_port);
    }
    if (addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)addr;
        memcpy(out, &a->sin6_addr, 16);
        return ntohs(a->sin6_port);
    }
    return 0;
}

/* A zeroed stream for this client (address as from sockaddr_client), from
 * the slab that fits it, or NULL. */
static struct stream *stream_alloc(struct lb *lb, const uint8_t addr[16], uint16_t port)
{
    struct stream *s;
    if (memcmp(addr, v4_mapped, 12) == 0) {
        if ((s = slab_alloc(&lb->streams)) == NULL)
            return NULL;
        memcpy(s->client_v4, addr + 12, 4);
    } else {
        struct stream6 *s6 = slab_alloc(&lb->streams6);
        if (s6 == NULL)
            return NULL;
        memcpy(s6->client_addr, addr, 16);
        s = &s6->s;
        s->flags = SF_IPV6;
    }
    s->client_port = port;
    return s;
}

struct stream *stream_new(struct lb *lb, struct listener *li, int fd, const struct sockaddr *addr)
{
    uint8_t client[16];
    uint16_t port = sockaddr_client(addr, client);
    struct stream *s = stream_alloc(lb, client, port);
    if (s == NULL) {
        close(fd);
        return NULL;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    ev_io_init(&s->cli, on_client, fd, 0);
    s->cli.data = li;
    ev_io_init(&s->srv, on_server, -1, 0);

    lb->actconn++;
    li->fe->feconn++;
    li->fe->fe_total++;
    struct stats_counters *c = lb_ctr(lb, li->fe->fe_obj);
    ctr_add(&c->cur, 1);
    ctr_add(&c->tot, 1);
    txn_start(lb, s);
    return s;
}

struct stream *stream_adopt_tunnel(struct lb *lb, struct listener *li, struct server *srv,
                                   int cli_fd, int srv_fd, const struct stream_origin *o)
{
    struct stream *s = stream_alloc(lb, o->client_addr, o->client_port);
    if (s == NULL) {
        close(cli_fd);
        close(srv_fd);
        return NULL;
    }
    ev_io_init(&s->cli, on_client, cli_fd, 0);
    s->cli.data = li;
    ev_io_init(&s->srv, on_server, srv_fd, 0);
    stream_set_server(s, srv);
    s->flags |= SF_SLOT | SF_ASSIGNED;
    s->bytes_in = o->bytes_in;
    s->bytes_out = o->bytes_out;
    s->t_start = lb_now_ms(lb) - o->age_ms; /* modulo 2^32, as every duration */
    memcpy(s->timers, o->timers, sizeof(s->timers));
    s->request_line = httplog_intern(lb, o->request_line);

    /* Counted as open here, not as new: the old worker counted it in. */
    lb->actconn++;
    li->fe->feconn++;
    srv->be->beconn++;
    srv->cur_conns++;
    uint32_t objs[3] = { li->fe->fe_obj, srv->be->be_obj, srv->obj };
    for (int i = 0; i < 3; i++)
        ctr_add(&lb_ctr(lb, objs[i])->cur, 1);
    tunnel_adopt(lb, s);
    return s;
}

/* A transfer cut short counts against whoever cut it. */
static void count_abort(struct lb *lb, struct stream *s, const char *term)
{
    struct server *srv = stream_server(s);
    if (term == NULL || srv == NULL || term[1] != 'D')
        return;
    int client = term[0] == 'C' || term[0] == 'c';
    int server = term[0] == 'S' || term[0] == 's';
    if (!client && !server)
        return;
    ctr_add(client ? &lb_ctr(lb, srv->obj)->cli_abrt : &lb_ctr(lb, srv->obj)->srv_abrt, 1);
    ctr_add(client ? &lb_ctr(lb, srv->be->be_obj)->cli_abrt : &lb_ctr(lb, srv->be->be_obj)->srv_abrt, 1);
}

void stream_close(struct lb *lb, struct stream *s, const char *term)
{
    if (s->state == ST_DEAD)
        return;
    if (term)
        httplog_emit(lb, s, term);
    count_abort(lb, s, term);
    connect_release(lb, s);
    ev_io_stop(lb->loop, &s->cli);
    io_close(lb, s->cli.fd);
    if (s->srv.fd >= 0) {
        ev_io_stop(lb->loop, &s->srv);
        io_close(lb, s->srv.fd);
        s->srv.fd = -1;
    }
    timeq_remove(&s->tq);
    if (s->state == ST_TUNNEL)
        tunnel_free(lb, s);
    else if (s->u.txn)
        txn_free(lb, s->u.txn);

    lb->actconn--;
    stream_frontend(s)->feconn--;
    ctr_sub(&lb_ctr(lb, stream_frontend(s)->fe_obj)->cur, 1);
    s->state = ST_DEAD;
    s->u.dead_next = lb->dead;
    lb->dead = s;
    lb_listeners_resume(lb);
}

void stream_free_dead(struct lb *lb)
{
    while (lb->dead) {
        struct stream *s = lb->dead;
        lb->dead = s->u.dead_next;
        slab_free(s->flags & SF_IPV6 ? &lb->streams6 : &lb->streams, s);
    }
}

struct stream **stream_list(struct lb *lb, size_t *n)
{
    size_t total = 0;
    for (size_t i = 0; i < lb->ntimeqs; i++)
        total += lb->timeqs[i]->count;
    struct stream **all = malloc((total ? total : 1) * sizeof(*all));
    *n = 0;
    if (all == NULL)
        return NULL;
    for (size_t i = 0; i < lb->ntimeqs; i++)
        for (struct timeq_entry *e = lb->timeqs[i]->head.next; e != &lb->timeqs[i]->head; e = e->next)
            all[(*n)++] = stream_of_tq(e);
    return all;
}

void stream_close_all(struct lb *lb, const char *term)
{
    /* Every live stream is in the timeout queue of its phase. Closing one
     * that held a server slot may move a queued stream into a queue already
     * walked, hence the passes until one closes nothing. */
    for (int closed = 1; closed;) {
        closed = 0;
        for (size_t i = 0; i < lb->ntimeqs; i++) {
            struct timeq *q = lb->timeqs[i];
            while (q->count > 0) {
                stream_close(lb, stream_of_tq(q->head.next), term);
                closed = 1;
            }
        }
    }
}

void stream_timeout(struct timeq *q, struct timeq_entry *e)
{
    struct lb *lb = q->data;
    struct stream *s = stream_of_tq(e);
    struct txn *t = s->state == ST_TUNNEL ? NULL : s->u.txn;
    switch (s->state) {
    case ST_REQ:
        /* A request started and not finished in time gets 408; an idle
         * connection (new, or kept alive) just goes, unlogged. */
        if (t && t->req && pbuf_len(t->req) > 0)
            txn_reply(lb, s, 408, "cR");
        else
            stream_close(lb, s, NULL);
        break;
    case ST_QUEUED:
        connect_queue_timeout(lb, s);
        break;
    case ST_CONNECT:
        connect_failed(lb, s, "connect timeout", 1);
        break;
    case ST_HTTP:
        if (!t->rsp_head_done)
            txn_reply(lb, s, 504, "sH");
        else /* data phase: blame the side that holds bytes back */
            stream_close(lb, s, t->rsp_fwd > 0 || t->to_cli ? "cD" : "sD");
        break;
    case ST_TUNNEL:
        stream_close(lb, s, "cD");
        break;
    default:
        stream_close(lb, s, t && t->term[0] ? t->term : "cD");
        break;
    }
}
