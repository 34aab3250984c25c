/* lb.h — the lb mode's context: one per process. It owns the configuration
 * (with the runtime state of proxies and servers), the listeners, every
 * stream, the timeout queues and the I/O buffer pool. */
#ifndef WSCALE_LB_H
#define WSCALE_LB_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/pool.h"
#include "../shared/timeq.h"
#include "lb-t.h"

#define LB_DEFAULT_DRAIN_MS 10000 /* SIGTERM drain bound without hard-stop-after */

struct interned_line {
    char *text;                    /* NULL: free slot */
    unsigned refs;
};

struct lb {
    struct ev_loop *loop;
    struct lb_config *cfg;
    struct server **servers;       /* by server index; [0] is NULL */
    struct listener **listeners;   /* by listener index */
    uint8_t *scratch;              /* the tunnel relay's one read buffer */
    struct pbuf_pool pool;         /* bufsize buffers, lent while data waits */
    struct timeq **timeqs;         /* one per distinct timeout value */
    size_t ntimeqs;
    unsigned maxconn;              /* effective global limit */
    unsigned actconn;              /* streams open */
    int draining;
    ev_tstamp start;               /* stream times are ms since this */
    ev_signal sigterm, sigint;
    ev_timer drain_timer;
    ev_timer accept_retry;         /* out of file descriptors: accept again later */
    ev_prepare before_sleep;
    struct stream *dead;           /* streams to free before the loop sleeps */
    struct interned_line *lines;   /* request lines of tunnels (httplog.c) */
    size_t nlines;
    SSL **tls;                     /* TLS sessions by file descriptor (io.c) */
    size_t tls_size;
    ev_timer ticket_rotation;      /* new TLS ticket keys, hourly */
};

/* The timeout queue for `ms` (0: never expires), created on first use.
 * NULL only if out of memory. */
struct timeq *lb_timeq(struct lb *lb, uint32_t ms);

/* Milliseconds since the lb started (the loop's cached time). */
uint32_t lb_now_ms(const struct lb *lb);

/* A stream was closed: accept again if a limit had paused listeners. */
void lb_listeners_resume(struct lb *lb);

/* The lb mode's entry point: `wscale lb ...`. */
int lb_main(int argc, char **argv);

#endif
