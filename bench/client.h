/* client.h — one WebSocket client connection of the load generator, on
 * libev: non-blocking connect (from a chosen source address), optional TLS
 * without certificate verification, the HTTP upgrade with the 101 checked
 * (status, Upgrade, Connection, Sec-WebSocket-Accept), then RFC 6455 frames
 * through shared/ws: masked frames out, pings answered with pongs, a close
 * answered with a close. Messages go to the worker's mode (worker.h). */
#ifndef WSCALE_BENCH_CLIENT_H
#define WSCALE_BENCH_CLIENT_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/ws-handshake.h"
#include "../shared/ws.h"

struct bench_worker;
struct bench_url;
struct net_addr;

enum client_state {
    CLIENT_NEW,        /* not started yet */
    CLIENT_CONNECTING, /* TCP connect in progress */
    CLIENT_TLS,        /* TLS handshake */
    CLIENT_UPGRADE,    /* request sent, waiting for the 101 */
    CLIENT_OPEN,
    CLIENT_DONE,       /* failed or closed: fd and buffers released */
};

struct client {
    struct bench_worker *w;
    ev_io io;
    int fd;
    SSL *ssl;
    uint8_t state;
    uint8_t close_sent;
    uint8_t in_window;     /* was open when the measured window began */
    uint32_t gid;          /* global id across processes */
    uint64_t started_ns;   /* when connect() was called */
    const struct bench_url *url;
    char key[WS_KEY_LEN + 1];
    char *head;            /* the response head while upgrading */
    size_t head_len;
    uint8_t *out;          /* bytes the socket did not take yet */
    size_t out_len, out_cap;
    struct ws_reader reader;
    uint64_t msgs;         /* messages of ours this client received */
    uint64_t pending_ns;   /* echo: send time of the message in flight, 0: none */
    uint32_t seq;          /* next sequence number it sends */
    uint32_t *last_seq;    /* fanout: per sender, last sequence + 1 received */
};

/* Starts connecting c (already holding w, gid and url) to addr, from source
 * (network order, 0: the kernel's choice). Returns 0, or -1 after counting
 * the failure (c is then CLIENT_DONE). */
int client_start(struct client *c, const struct net_addr *addr, uint32_t source);

/* Sends one masked text message; returns 0, or -1 if the client failed
 * (it is then CLIENT_DONE). */
int client_send_text(struct client *c, const uint8_t *data, size_t len);

/* Gives up on a connection that is not open yet: counted as failed. */
void client_fail(struct client *c, const char *why);

/* Sends a close frame (1000) and releases the connection without waiting. */
void client_close(struct client *c);

/* Releases everything c holds (any state). */
void client_free(struct client *c);

#endif
