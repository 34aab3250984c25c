/* stream.h — one client connection through the lb, and the server
 * connection paired with it (HAProxy calls this a stream).
 *
 *   REQ ─► QUEUED ─► CONNECT ─► HTTP ─► (keep-alive) REQ ...
 *    │                            └──► TUNNEL (after a valid 101)
 *    └──────────► REPLY (an answer of the lb's own: 400, 503, ...)
 *
 * A tunnel keeps only this struct: 184 bytes. HTTP transactions hang their
 * buffers and parsing state on a separate struct txn, freed when the
 * connection goes idle or becomes a tunnel. For the same reason the data
 * pointers libev gives each watcher for the user name the stream's listener
 * and server (the lb is the loop's userdata), and an IPv4 client's address
 * takes 4 bytes: the stream of an IPv6 client is a struct stream6. */
#ifndef WSCALE_LB_STREAM_H
#define WSCALE_LB_STREAM_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/http-body.h"
#include "../shared/pool.h"
#include "../shared/rbuf.h"
#include "../shared/timeq.h"
#include "../shared/ws-handshake.h"
#include "lb.h"

enum stream_state {
    ST_REQ,      /* reading a request head */
    ST_QUEUED,   /* waiting for a server slot (server maxconn) */
    ST_CONNECT,  /* connecting to the server */
    ST_HTTP,     /* forwarding a request and its response */
    ST_TUNNEL,   /* after a valid 101: relaying bytes both ways */
    ST_REPLY,    /* sending an answer of the lb's own, then closing */
    ST_DEAD,
};

/* stream.flags */
#define SF_CLI_EOF 0x01   /* the client sent FIN */
#define SF_SRV_EOF 0x02   /* the server sent FIN */
#define SF_CLI_SHUT 0x04  /* we sent FIN to the client */
#define SF_SRV_SHUT 0x08  /* we sent FIN to the server */
#define SF_SLOT 0x10      /* holds a slot on its server (cur_conns) */
#define SF_ASSIGNED 0x20  /* counted in its backend's beconn */
#define SF_KA_WAIT 0x40   /* waiting for the next request of a kept-alive connection */
#define SF_IPV6 0x80      /* the client is IPv6: the stream is a struct stream6 */

/* Timer slots, in ms (STREAM_TIMER_UNSET until reached): HAProxy's
 * Tq (request head), Tw (queue), Tc (connect), Tr (response head). */
enum { TIMER_TQ, TIMER_TW, TIMER_TC, TIMER_TR, NTIMERS };
#define STREAM_TIMER_UNSET UINT32_MAX

/* Bytes of a tunnel waiting for a full socket, allocated only then. A
 * rewritten 101 (head) goes to the client before to_cli. */
struct tunnel_pend {
    struct pbuf *to_srv, *to_cli;
    struct rbuf *head;
    uint32_t head_off;
};

/* Budget: an idle tunnel's user-space memory <= 256 B (issue 8); this struct: 184 of them. */
struct stream {
    ev_io cli;                /* client socket; data: its struct listener */
    ev_io srv;                /* server socket, fd -1 if none; data: its struct server or NULL */
    struct timeq_entry tq;    /* the timeout of the current phase */
    union {
        struct txn *txn;          /* REQ..HTTP, REPLY */
        struct tunnel_pend *pend; /* TUNNEL: NULL unless a socket is full */
        struct stream *dead_next; /* DEAD: lb->dead, freed before the loop sleeps */
    } u;
    uint64_t bytes_in;        /* read from the client */
    uint64_t bytes_out;       /* written to the client */
    uint32_t t_start;         /* ms (lb_now_ms) at accept or at the request's start */
    uint32_t timers[NTIMERS];
    uint8_t client_v4[4];     /* the client's IPv4 address, unless SF_IPV6 */
    uint16_t client_port;
    uint16_t request_line;    /* TUNNEL: interned request line for the log (httplog.c) */
    uint8_t state;
    uint8_t flags;            /* SF_* above */
    uint8_t cookie_log;       /* TUNNEL: the cookie states for the log (persist.h) */
};

/* The stream of an IPv6 client (SF_IPV6), from a slab of its own: IPv4
 * clients, IPv4-mapped ones included, do not pay for the 16 bytes. */
struct stream6 {
    struct stream s;
    uint8_t client_addr[16];
};

/* The HTTP transaction state of a stream, while it has one. */
struct txn {
    struct pbuf *req;         /* from the client: the head, the body, pipelined requests */
    struct pbuf *rsp;         /* from the server */
    struct rbuf *to_srv;      /* the rewritten request head, until sent */
    struct rbuf *to_cli;      /* a response head or an answer of the lb's own, until sent */
    uint32_t to_srv_off, to_cli_off;
    uint32_t req_fwd;         /* bytes at req's head classified as body: may be sent */
    uint32_t rsp_fwd;         /* the same for rsp */
    struct http_body req_body, rsp_body;
    uint8_t req_done;         /* the request is entirely forwarded */
    uint8_t rsp_head_done;    /* the final response head was forwarded */
    uint8_t upgrade;          /* the request asks for a WebSocket */
    uint8_t head_request;     /* method HEAD: the response has no body */
    uint8_t keepalive;        /* the client connection stays open afterwards */
    uint8_t retries;          /* connection attempts that failed so far */
    uint8_t has_hash;         /* the request has the key the backend hashes */
    uint8_t cacheable;        /* GET, HEAD, OPTIONS, TRACE: a cache may keep the answer */
    uint8_t ck_log;           /* cookie states for the log (persist.h) */
    uint16_t ck_srv;          /* the server the request's cookie sends it to, 0: none */
    uint32_t ck_last, ck_first; /* the cookie's dates (UNIX seconds), 0: none */
    uint64_t hash;            /* ...and this is its hash */
    uint16_t status;          /* of the final response, for the log */
    char term[2];             /* termination state, once decided */
    char ws_accept[WS_ACCEPT_LEN + 1]; /* what a valid 101 must carry */
    char request_line[160];   /* for the log, truncated at 159 bytes */
    struct stream *queue_prev, *queue_next; /* in the backend's queue, or a server's */
    uint16_t queue_srv;       /* QUEUED: the server whose queue it is in (persistence); 0: the backend's */
    uint8_t persistent;       /* its server came from persistence, not balancing */
    struct lb *lb;
};

struct stream *stream_new(struct lb *lb, struct listener *li, int fd,
                          const struct sockaddr *addr);

/* What a tunnel another worker handed over brings with it (lb/handover.c). */
struct stream_origin {
    uint32_t age_ms;
    uint64_t bytes_in, bytes_out;
    uint32_t timers[NTIMERS];
    uint16_t client_port;
    uint8_t client_addr[16];
    const char *request_line;
};

/* Goes on with such a tunnel, whose sockets are now cli_fd and srv_fd. */
struct stream *stream_adopt_tunnel(struct lb *lb, struct listener *li, struct server *srv,
                                   int cli_fd, int srv_fd, const struct stream_origin *o);

/* Ends the stream: logs it with termination state term ("--" when clean,
 * NULL to log nothing), closes both sockets, releases the server slot. The
 * memory goes before the loop next sleeps. */
void stream_close(struct lb *lb, struct stream *s, const char *term);

/* Before the loop sleeps: free closed streams. */
void stream_free_dead(struct lb *lb);

/* Every live stream, in a new array (NULL if out of memory): a walk that
 * closes streams must not follow the timeout queues, which closing one may
 * reorder (a freed slot moves a queued stream on). Streams closed during
 * the walk stay allocated until the loop sleeps, as ST_DEAD. */
struct stream **stream_list(struct lb *lb, size_t *n);

/* Closes every stream (SIGINT, end of drain). */
void stream_close_all(struct lb *lb, const char *term);

/* Timeout expiry for every stream queue. */
void stream_timeout(struct timeq *q, struct timeq_entry *e);

/* The server of a stream (or NULL), its listener, its frontend: the
 * watchers' data pointers name them. */
static inline struct server *stream_server(const struct stream *s)
{
    return s->srv.data;
}

static inline void stream_set_server(struct stream *s, struct server *srv)
{
    s->srv.data = srv;
}

static inline struct listener *stream_listener(const struct stream *s)
{
    return s->cli.data;
}

static inline struct proxy *stream_frontend(const struct stream *s)
{
    return stream_listener(s)->fe;
}

/* Bytes received from the client (in) or sent to it (out): the stream's
 * count for the log, and the counters of its frontend, backend and server. */
static inline void stream_count_in(struct lb *lb, struct stream *s, uint64_t n)
{
    struct server *srv = stream_server(s);
    s->bytes_in += n;
    ctr_add(&lb_ctr(lb, stream_frontend(s)->fe_obj)->bytes_in, n);
    if (srv) {
        ctr_add(&lb_ctr(lb, srv->obj)->bytes_in, n);
        ctr_add(&lb_ctr(lb, srv->be->be_obj)->bytes_in, n);
    }
}

static inline void stream_count_out(struct lb *lb, struct stream *s, uint64_t n)
{
    struct server *srv = stream_server(s);
    s->bytes_out += n;
    ctr_add(&lb_ctr(lb, stream_frontend(s)->fe_obj)->bytes_out, n);
    if (srv) {
        ctr_add(&lb_ctr(lb, srv->obj)->bytes_out, n);
        ctr_add(&lb_ctr(lb, srv->be->be_obj)->bytes_out, n);
    }
}

/* The stream whose timeout entry is e (every live stream has one). */
static inline struct stream *stream_of_tq(struct timeq_entry *e)
{
    return (struct stream *)(void *)((char *)e - offsetof(struct stream, tq));
}

/* Writes the client's IP address (without port) into out. */
void stream_client_ip(const struct stream *s, char *out, size_t size);

/* The client's address in 16 bytes, IPv4 as IPv4-mapped IPv6: the key that
 * balance source hashes and stick tables store. */
void stream_client_addr(const struct stream *s, uint8_t out[16]);

/* Watches the client and server sockets for the given events (EV_READ,
 * EV_WRITE or 0). */
void stream_watch(struct lb *lb, struct stream *s, int cli_events, int srv_events);

/* Moves the stream into the timeout queue of `ms` for its current phase. */
void stream_set_timeout(struct lb *lb, struct stream *s, uint32_t ms);

/* txn.c: the HTTP phase. */
void txn_start(struct lb *lb, struct stream *s);              /* wait for a request head */
void txn_io(struct lb *lb, struct stream *s, int cli_revents, int srv_revents);
void txn_server_connected(struct lb *lb, struct stream *s);  /* send the request */
void txn_reply(struct lb *lb, struct stream *s, int status, const char *term);
/* An answer of the lb's own with a body (none for HEAD), then the close. */
void txn_answer(struct lb *lb, struct stream *s, int status, const char *term,
                const char *extra_headers, const char *content_type, const char *body, size_t len);
void txn_free(struct lb *lb, struct txn *t);

/* connect.c: choosing a server and connecting to it. */
void connect_assign(struct lb *lb, struct stream *s);          /* balance, queue or 503 */
void connect_io(struct lb *lb, struct stream *s);              /* connect completed or failed */
void connect_failed(struct lb *lb, struct stream *s, const char *why, int timed_out);
void connect_release(struct lb *lb, struct stream *s);         /* give the server slot back */
void connect_queue_timeout(struct lb *lb, struct stream *s);
void connect_assign_queued(struct lb *lb, struct proxy *be);    /* slots freed: serve the queue */

/* tunnel.c: after a valid 101. */
void tunnel_start(struct lb *lb, struct stream *s, struct rbuf *head, struct pbuf *to_cli,
                  struct pbuf *to_srv);
void tunnel_adopt(struct lb *lb, struct stream *s);  /* one another worker handed over */
void tunnel_io(struct lb *lb, struct stream *s, int cli_revents, int srv_revents);
void tunnel_free(struct lb *lb, struct stream *s);

#endif
