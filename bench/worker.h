/* worker.h — one bench process: its share of the clients on its own libev
 * loop, talking to the parent over two pipes (see bench.c for the protocol).
 *
 * The phases: connect every client (bounded in flight, paced by -R), tell the
 * parent "ready", wait for "go" (all processes are connected), run the mode's
 * measured window, then send the result lines and "done". */
#ifndef WSCALE_BENCH_WORKER_H
#define WSCALE_BENCH_WORKER_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/net.h"
#include "client.h"
#include "opts.h"
#include "result.h"

/* What a sub-command does with connected clients. Every hook is optional. */
struct bench_mode_ops {
    int (*init)(struct bench_worker *w);                   /* -1: out of memory */
    void (*on_open)(struct client *c);
    void (*on_message)(struct client *c, const uint8_t *data, size_t len);
    void (*on_closed)(struct client *c);                   /* closed by the server */
    void (*start)(struct bench_worker *w);                 /* the window opens */
    void (*window_end)(struct bench_worker *w);            /* -t has elapsed */
    void (*on_total)(struct bench_worker *w, uint64_t total); /* fanout: sent by all */
    void (*free)(struct bench_worker *w);
    int timed;                                             /* has a -t window */
};

extern const struct bench_mode_ops bench_idle_ops, bench_fanout_ops, bench_echo_ops,
    bench_storm_ops;

struct bench_worker {
    struct ev_loop *loop;
    const struct bench_opts *o;
    const struct bench_mode_ops *ops;
    const struct net_addr *addrs; /* one per URL */
    unsigned index, nprocs;       /* this process among all */
    SSL_CTX *tls;
    struct client *clients;       /* its share: global id index + i * nprocs */
    size_t nclients;
    size_t next, connecting, open;
    uint32_t *sources;            /* source addresses, network order; NULL: none */
    size_t nsources;
    struct bench_result r;
    int to_parent, from_parent;
    ev_io ctl;
    char ctl_buf[256];
    size_t ctl_len;
    ev_timer progress, pace, window;
    uint64_t pace_start_ns;
    uint64_t window_end_ns;
    int ready_sent, finished, pumping;
    uint8_t *scratch;             /* reads land here */
    size_t scratch_size;
    uint8_t *wbuf;                /* frames are built here */
    size_t wbuf_size;
    uint64_t rng;
    char first_error[256];
    void *mode;                   /* the mode's own state */
};

uint64_t bench_now_ns(void);

/* Runs one bench process to its end. Returns the process exit status. */
int bench_worker_run(const struct bench_opts *o, const struct net_addr *addrs, unsigned index,
                     unsigned nprocs, const uint32_t *sources, size_t nsources, int to_parent,
                     int from_parent);

/* Called by the client. */
void bench_worker_failed(struct bench_worker *w, struct client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void bench_worker_opened(struct bench_worker *w, struct client *c);
void bench_worker_closed(struct bench_worker *w, struct client *c); /* an open client ended */

/* Writes a line to the parent. */
void bench_worker_tell(struct bench_worker *w, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Sends the result and stops the loop. */
void bench_worker_finish(struct bench_worker *w);

/* A pseudo-random 64-bit number (xorshift): masks and keys, not secrets. */
uint64_t bench_worker_random(struct bench_worker *w);

#endif
