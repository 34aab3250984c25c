/* result.h — what one bench process measured, and how the parent adds the
 * processes up. Each process sends its result as text lines over a pipe:
 * "c NAME VALUE" per counter, "h NAME HISTOGRAM" per histogram (hist.h).
 * Pure: no I/O. */
#ifndef WSCALE_BENCH_RESULT_H
#define WSCALE_BENCH_RESULT_H

#include <stddef.h>
#include <stdint.h>

#include "hist.h"

struct bench_result {
    uint64_t attempted;        /* connections started */
    uint64_t established;      /* upgraded to WebSocket (101) */
    uint64_t failed;           /* refused, reset, TLS or upgrade failed */
    uint64_t closed;           /* established, then closed by the server */
    uint64_t open_at_start;    /* open when the measured window began */
    uint64_t sent;             /* messages sent in the window */
    uint64_t delivered;        /* fanout: messages received; echo: echoes received */
    uint64_t duplicates;       /* fanout: a message a client had already received */
    uint64_t in_window;        /* echo: echoes received before the window closed */
    uint64_t first_connect_ns; /* CLOCK_MONOTONIC of the first connect (min) */
    uint64_t last_up_ns;       /* ... and of the last 101 received (max) */
    struct hist handshake;     /* connect() to 101, µs */
    struct hist latency;       /* send to receipt, µs */
};

void bench_result_init(struct bench_result *r);

/* Adds src into dst: counts are summed, first_connect_ns is the minimum
 * (ignoring 0), last_up_ns the maximum. */
void bench_result_merge(struct bench_result *dst, const struct bench_result *src);

/* Calls put(line, arg) for each line of r's text form (no newline). Returns
 * 0, or -1 if out of memory. */
int bench_result_lines(const struct bench_result *r, void (*put)(const char *line, void *arg),
                       void *arg);

/* Reads one line of the text form into r. Returns 0, or -1 if the line is
 * not one. */
int bench_result_parse_line(struct bench_result *r, const char *line);

#endif
