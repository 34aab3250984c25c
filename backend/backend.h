/* backend.h — the backend mode's context: one per process, owning the
 * listener, every session, the Redis bus and the timers. */
#ifndef WSCALE_BACKEND_H
#define WSCALE_BACKEND_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/rbuf.h"
#include "../shared/tls.h"
#include "../shared/timeq.h"
#include "../shared/ws.h"
#include "hub.h"
#include "options.h"
#include "outq.h"

#define BACKEND_SCRATCH_SIZE (64 * 1024) /* the one read buffer all sessions share */
#define BACKEND_MAX_HEAD 16384           /* request head limit: 431 above */
#define BACKEND_MAX_HEADERS 100
#define BACKEND_CLOSE_TIMEOUT 5.0        /* for the peer's close frame, and its FIN */

struct session;
struct rooms;

struct backend_stats {
    uint64_t connections_total;     /* accepted TCP connections */
    uint64_t websockets_total;      /* completed WebSocket handshakes */
    uint64_t handshake_errors[6];   /* 400, 403, 404, 426, 431, other */
    uint64_t messages_in;           /* messages received from clients */
    uint64_t messages_out;          /* data frames queued to clients */
    uint64_t bytes_in, bytes_out;   /* on client sockets */
    uint64_t closes_sent[16];       /* close frames we sent, by code - 1000 */
    uint64_t slow_consumer_closes;
    uint64_t publish_queue_full_closes;
    uint64_t ping_timeouts;
    uint64_t handshake_timeouts;
    uint64_t accept_errors;
    uint64_t invalid_bus_messages;  /* not UTF-8: cannot be a text frame */
    uint64_t chat_errors;           /* wscale.chat.v1 error frames sent */
    uint64_t chat_policy_closes;    /* wscale.chat.v1: closed 1008 for rate or errors */
};

struct backend {
    struct ev_loop *loop;
    const struct backend_options *opt;
    struct ws_reader_config ws_config;

    int listen_fd;
    ev_io accept_watcher;
    ev_timer accept_pause;          /* out of file descriptors: accept again later */
    ev_signal sigterm, sigint;
    ev_timer drain_timer;           /* the longest a shutdown may take */
    ev_prepare before_sleep;        /* writes queued output, frees dead sessions */
    int draining;

    struct timeq handshake_q;       /* waiting for the request head */
    struct timeq open_q;            /* open: pinged when idle, dropped if silent */
    struct timeq closing_q;         /* our close frame sent, waiting for theirs */
    struct timeq finish_q;          /* last bytes going out, then the peer's FIN */

    struct session *flush_list;     /* sessions with output to write before sleeping */
    size_t flush_count;             /* sessions on flush_list */
    ev_timer flush_timer;           /* a big fan-out's writes, batched (--write-delay) */
    struct session *dead_list;      /* sessions to free before sleeping */
    size_t nsessions;               /* accepted and not yet freed */

    struct hub hub;                 /* tutorial-protocol sessions */
    struct hub chat_hub;            /* wscale.chat.v1 sessions (they are not sent hub traffic) */
    struct bus *bus;                /* NULL in echo mode */
    struct rooms *rooms;            /* wscale.chat.v1's rooms; NULL in echo mode */
    uint64_t chat_connections;      /* wscale.chat.v1 sessions opened */
    struct outq_pool outq_pool;
    uint8_t *scratch;
    struct rbuf *greeting;          /* encoded once, queued by reference */
    struct tls_server *tls;         /* --tls-cert, or NULL */
    ev_timer ticket_rotation;       /* new TLS ticket keys, hourly */
    struct backend_stats stats;
};

/* Runs the backend until SIGTERM/SIGINT and its drain complete. Returns the
 * process exit status. */
int backend_run(const struct backend_options *opt);

/* The backend mode's entry point: `wscale backend ...`. */
int backend_main(int argc, char **argv);

#endif
