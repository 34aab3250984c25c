/* opts.h — the command line of `wscale bench`, parsed without side effects
 * (no I/O, no globals) so it is unit-tested directly. */
#ifndef WSCALE_BENCH_OPTS_H
#define WSCALE_BENCH_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum bench_mode { BENCH_IDLE, BENCH_FANOUT, BENCH_ECHO, BENCH_STORM };

struct bench_url {
    int tls;           /* wss:// */
    char host[256];    /* without brackets for IPv6 */
    uint16_t port;
    char target[1024]; /* path and query, at least "/" */
    char text[1400];   /* the URL as given, for messages */
};

#define BENCH_MAX_URLS 64
#define BENCH_MAX_PIDS 64
#define BENCH_MIN_FANOUT_SIZE 40 /* the fanout header: see fanout.c */

struct bench_opts {
    enum bench_mode mode;
    struct bench_url urls[BENCH_MAX_URLS]; /* clients go round-robin over them */
    size_t nurls;
    uint64_t clients;        /* -c */
    uint64_t publishers;     /* -p (fanout) */
    uint64_t rate;           /* -r messages per second in total (fanout) */
    uint64_t connect_rate;   /* -R new connections per second, 0: no limit (idle) */
    uint64_t size;           /* -s message size in bytes (fanout, echo) */
    uint64_t duration_ms;    /* -t (idle, fanout, echo) */
    uint64_t procs;          /* -P */
    uint64_t max_connecting; /* connects in progress per process */
    uint64_t grace_ms;       /* fanout and echo: wait for late messages */
    uint64_t timeout_ms;     /* connect, TLS and upgrade must end within it */
    int json, quiet, progress;
    uint32_t source_first, source_last; /* --source, host byte order; 0: automatic */
    pid_t pids[BENCH_MAX_PIDS];         /* --pid */
    size_t npids;
};

/* Parses "ws://host[:port][/path][?query]" or wss://. IPv6 hosts go in
 * brackets. Returns 0, or -1 with a message in err. */
int bench_url_parse(const char *text, struct bench_url *u, char *err, size_t err_size);

/* Parses "A.B.C.D" or "A.B.C.D-E.F.G.H" (inclusive) into host-order bounds.
 * Returns 0 or -1. */
int bench_source_parse(const char *text, uint32_t *first, uint32_t *last);

/* Parses argv[1..argc) of `wscale bench MODE OPTIONS...` (argv[0] is
 * "bench"). Returns 0; 1 if help was asked for (nothing else is set); or -1
 * with a message naming the option and the fix in err. */
int bench_opts_parse(struct bench_opts *o, int argc, char **argv, char *err, size_t err_size);

#endif
