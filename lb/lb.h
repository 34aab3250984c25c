/* lb.h — a worker process's context. It owns the configuration (with the
 * runtime state of proxies and servers), the listeners, every stream, the
 * timeout queues and the I/O buffer pool. Its server state follows the
 * registry the master writes; its counters go to its own block there.
 *
 * The lb runs as a master (lb/master.c: configuration, checks, runtime
 * API, reloads) and worker processes (lb/worker.c) that serve traffic. */
#ifndef WSCALE_LB_H
#define WSCALE_LB_H

#include <ev.h>
#include <openssl/ssl.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/log.h"
#include "../shared/pool.h"
#include "../shared/slab.h"
#include "../shared/timeq.h"
#include "lb-t.h"
#include "registry.h"

#define LB_DEFAULT_DRAIN_MS 10000 /* SIGTERM drain bound without hard-stop-after */

struct interned_line {
    char *text;                    /* NULL: free slot */
    unsigned refs;
};

struct handover;

struct lb {
    struct ev_loop *loop;
    struct lb_config *cfg;
    struct registry reg;
    uint32_t block;                /* our counters in the registry */
    unsigned slot, generation;     /* which worker of which configuration */
    int ctl;                       /* to the master */
    ev_io ctl_watch;
    ev_io xfer_watch;              /* tunnels handed over to us on a reload */
    struct handover *out;          /* soft-stopped: handing our tunnels over */
    ev_timer sync_timer;           /* server state is read again every second */
    struct server **servers;       /* by server index; [0] is NULL */
    struct listener **listeners;   /* by listener index */
    uint8_t *scratch;              /* the tunnel relay's one read buffer */
    struct pbuf_pool pool;         /* bufsize buffers, lent while data waits */
    struct slab streams;           /* every struct stream, apart from the heap */
    struct slab streams6;          /* the struct stream6 of IPv6 clients */
    struct timeq **timeqs;         /* one per distinct timeout value */
    size_t ntimeqs;
    unsigned maxconn;              /* effective global limit */
    unsigned actconn;              /* streams open */
    int draining;
    ev_tstamp start;               /* stream times are ms since this */
    ev_signal sigterm, sigint;
    ev_timer drain_timer;          /* the end of a drain; closing may start earlier */
    ev_tstamp drain_deadline;
    ev_tstamp spread_start;        /* close-spread-time: closing started then */
    unsigned spread_total, spread_closed;
    ev_timer accept_retry;         /* out of file descriptors: accept again later */
    unsigned accept_pauses;        /* of the current shortage; it is logged once */
    ev_prepare before_sleep;
    struct stream *dead;           /* streams to free before the loop sleeps */
    struct interned_line *lines;   /* request lines of tunnels (httplog.c) */
    size_t nlines;
    SSL **tls;                     /* TLS sessions by file descriptor (io.c) */
    size_t tls_size;
    ev_timer ticket_rotation;      /* new TLS ticket keys, hourly */
};

/* This worker's counters of a registry object (a proxy's fe_obj or be_obj,
 * a server's obj). */
static inline struct stats_counters *lb_ctr(const struct lb *lb, uint32_t obj)
{
    return registry_counters(&lb->reg, lb->block, obj);
}

/* Traffic could not connect to s: the master counts it as a failed check. */
void lb_report_connect_failure(struct lb *lb, struct server *s, const char *why);

/* The timeout queue for `ms` (0: never expires), created on first use.
 * NULL only if out of memory. */
struct timeq *lb_timeq(struct lb *lb, uint32_t ms);

/* Milliseconds since the lb started (the loop's cached time). */
uint32_t lb_now_ms(const struct lb *lb);

/* A stream was closed: accept again if a limit had paused listeners. */
void lb_listeners_resume(struct lb *lb);

/* The lb mode's entry point: `wscale lb ...`. */
int lb_main(int argc, char **argv);

/* What the master tells a worker it starts (lb/master.c builds the command
 * line, lb/lb.c parses it). */
struct worker_args {
    const char *file;              /* the configuration's name, for messages */
    unsigned slot, generation, block;
    int ctl_fd, config_fd, registry_fd, xfer_fd;
    int *listen_fds;               /* one per listener, in configuration order */
    size_t nlisten;
    int *stick_fds;                /* one per stick table, in configuration order */
    size_t nstick;
};

int worker_main(const struct worker_args *a);

#endif
