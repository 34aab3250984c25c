/* handover.c — see handover.h. */
#include "handover.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctl.h"
#include "httplog.h"
#include "io.h"
#include "stream.h"

#define HANDOVER_MAGIC 0x77734831u /* "wsH1" */
#define RETRY_INTERVAL 0.25        /* seconds between passes while tunnels could still move */

struct handover {
    int fd;
    uint32_t successor;
    ev_io writable;            /* the socket was full: go on when it drains */
    ev_timer retry;
    unsigned moved;
    int reported;
};

struct handover_msg {
    uint32_t magic;
    uint32_t fe_obj, srv_obj;
    uint32_t age_ms;
    uint64_t bytes_in, bytes_out;
    uint32_t timers[NTIMERS];
    uint16_t client_port;
    uint8_t client_addr[16];
    char request_line[160];
};

enum { CANNOT, LATER, NOW };

/* Whether tunnel-or-not s can move to `successor`'s workers. */
static int movable(struct lb *lb, const struct stream *s, uint32_t successor)
{
    if (io_tls(lb, s->cli.fd) || (s->srv.fd >= 0 && io_tls(lb, s->srv.fd)))
        return CANNOT;
    if (s->state != ST_TUNNEL)
        return s->state == ST_REPLY ? CANNOT : LATER; /* may become a tunnel */
    if (s->flags & (SF_CLI_EOF | SF_SRV_EOF | SF_CLI_SHUT | SF_SRV_SHUT))
        return CANNOT;
    const struct server *srv = stream_server(s);
    const struct reg_object *fe = registry_object(&lb->reg, stream_frontend(s)->fe_obj);
    const struct reg_object *so = registry_object(&lb->reg, srv->obj);
    if (fe->generation < successor || so->generation < successor)
        return CANNOT; /* the new configuration does not have them */
    return s->u.pend ? LATER : NOW;
}

static void fill(struct lb *lb, const struct stream *s, struct handover_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->magic = HANDOVER_MAGIC;
    m->fe_obj = stream_frontend(s)->fe_obj;
    m->srv_obj = stream_server(s)->obj;
    m->age_ms = lb_now_ms(lb) - s->t_start;
    m->bytes_in = s->bytes_in;
    m->bytes_out = s->bytes_out;
    memcpy(m->timers, s->timers, sizeof(m->timers));
    m->client_port = s->client_port;
    stream_client_addr(s, m->client_addr);
    const char *line = httplog_line(lb, s->request_line);
    if (line)
        snprintf(m->request_line, sizeof(m->request_line), "%s", line);
}

static void pass(struct lb *lb);

static void on_writable(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)revents;
    ev_io_stop(loop, w);
    pass(w->data);
}

static void on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    pass(w->data);
}

/* Sends every tunnel that can move now. */
static void pass(struct lb *lb)
{
    struct handover *h = lb->out;
    unsigned later = 0, kept = 0;
    size_t n;
    struct stream **all = stream_list(lb, &n);
    for (size_t i = 0; i < n; i++) {
        struct stream *s = all[i];
        int m = s->state == ST_DEAD ? CANNOT : movable(lb, s, h->successor);
        if (m == LATER)
            later++;
        if (m == CANNOT && s->state == ST_TUNNEL)
            kept++;
        if (m != NOW)
            continue;
        struct handover_msg msg;
        fill(lb, s, &msg);
        int fds[2] = { s->cli.fd, s->srv.fd };
        if (ctl_send(h->fd, &msg, sizeof(msg), fds, 2) != 0) {
            free(all);
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                ev_io_start(lb->loop, &h->writable);
                return;
            }
            log_warn("handing tunnels over to generation %u failed: %s; the %u left stay here",
                     h->successor, strerror(errno), lb->actconn);
            handover_free(lb);
            return;
        }
        h->moved++;
        stream_close(lb, s, NULL); /* our copies of the sockets go; theirs stay open */
    }
    free(all);
    if (!h->reported) {
        h->reported = 1;
        log_info("handed %u idle tunnels over to generation %u; %u stay here (TLS, closing, "
                 "or their server is gone)%s", h->moved, h->successor, kept,
                 later ? ", others will follow when idle" : "");
    }
    if (later)
        ev_timer_start(lb->loop, &h->retry);
}

void handover_start(struct lb *lb, int xfer_fd, uint32_t successor)
{
    if (lb->out) {
        close(xfer_fd);
        return;
    }
    struct handover *h = calloc(1, sizeof(*h));
    if (h == NULL) {
        log_warn("out of memory: tunnels stay on this worker");
        close(xfer_fd);
        return;
    }
    h->fd = xfer_fd;
    h->successor = successor;
    ev_io_init(&h->writable, on_writable, xfer_fd, EV_WRITE);
    h->writable.data = lb;
    ev_timer_init(&h->retry, on_retry, RETRY_INTERVAL, 0);
    h->retry.data = lb;
    lb->out = h;
    pass(lb);
}

void handover_free(struct lb *lb)
{
    struct handover *h = lb->out;
    if (h == NULL)
        return;
    ev_io_stop(lb->loop, &h->writable);
    ev_timer_stop(lb->loop, &h->retry);
    close(h->fd);
    free(h);
    lb->out = NULL;
}

static struct proxy *frontend_by_obj(struct lb *lb, uint32_t obj)
{
    for (struct proxy *px = lb->cfg->proxies; px; px = px->next)
        if ((px->caps & PROXY_FRONTEND) && px->fe_obj == obj && px->nbinds > 0)
            return px;
    return NULL;
}

static struct server *server_by_obj(struct lb *lb, uint32_t obj)
{
    for (unsigned i = 1; i <= lb->cfg->nservers; i++)
        if (lb->servers[i]->obj == obj)
            return lb->servers[i];
    return NULL;
}

static void adopt(struct lb *lb, const struct handover_msg *m, int cli_fd, int srv_fd)
{
    struct proxy *fe = frontend_by_obj(lb, m->fe_obj);
    struct server *srv = server_by_obj(lb, m->srv_obj);
    if (fe == NULL || srv == NULL || fe->backend != srv->be) {
        log_warn("a tunnel handed over has no frontend or server here: closed");
        close(cli_fd);
        close(srv_fd);
        return;
    }
    struct stream_origin o = {
        .age_ms = m->age_ms,
        .bytes_in = m->bytes_in,
        .bytes_out = m->bytes_out,
        .client_port = m->client_port,
        .request_line = m->request_line,
    };
    memcpy(o.timers, m->timers, sizeof(o.timers));
    memcpy(o.client_addr, m->client_addr, sizeof(o.client_addr));
    stream_adopt_tunnel(lb, fe->binds[0], srv, cli_fd, srv_fd, &o);
}

void handover_on_receive(struct ev_loop *loop, ev_io *w, int revents)
{
    struct lb *lb = w->data;
    (void)revents;
    for (;;) {
        struct handover_msg m;
        int fds[CTL_MAX_FDS], nfds;
        ssize_t n = ctl_recv(w->fd, &m, sizeof(m), fds, CTL_MAX_FDS, &nfds);
        if (n < 0 && errno == EMSGSIZE)
            continue; /* a record we cannot use: dropped, with its descriptors */
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (n <= 0) {
            /* Nobody can hand anything over any more. */
            ev_io_stop(loop, w);
            close(w->fd);
            ev_io_set(w, -1, 0);
            return;
        }
        m.request_line[sizeof(m.request_line) - 1] = '\0';
        if ((size_t)n != sizeof(m) || m.magic != HANDOVER_MAGIC || nfds != 2) {
            for (int i = 0; i < nfds; i++)
                close(fds[i]);
            continue;
        }
        adopt(lb, &m, fds[0], fds[1]);
        if (lb->out)
            pass(lb); /* we are handing over too: it goes on */
    }
}
