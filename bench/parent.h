/* parent.h — the parent of the bench workers: forks them, runs the pipe
 * protocol with them (see parent.c), shows progress, collects results. */
#ifndef WSCALE_BENCH_PARENT_H
#define WSCALE_BENCH_PARENT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../shared/net.h"
#include "opts.h"
#include "result.h"

struct bench_child { /* one worker, seen from the parent */
    pid_t pid;
    int up, down;       /* read from it, write to it */
    char *buf;          /* partial lines */
    size_t len, cap;
    int ready, sent_known, done, eof;
    uint64_t sent, open, delivered;
    char error[256];
    struct bench_result r;
};

struct bench_parent { /* set o, kids (n of them), progress and rss_before before spawning */
    const struct bench_opts *o;
    struct bench_child *kids;
    unsigned n;
    int progress;
    long long rss_before, rss_after;
    int go_sent, total_sent;
    uint64_t start_ns;
    uint64_t last_delivered, last_tick_ns;
};

/* Forks p->n workers. Returns 0 in the parent; in a worker, runs it to its
 * end and returns 1 with its exit status in *status (the caller frees and
 * returns); -1 with errno if a pipe or fork failed. */
int bench_parent_spawn(struct bench_parent *p, const struct net_addr *addrs, const uint32_t *sources,
                       size_t nsources, int *status);

/* Reads the workers until every one has closed its pipe. */
void bench_parent_run(struct bench_parent *p);

/* Waits for every worker and adds their results into total. Returns 0, or
 * -1 if a worker ended without a result. *first_error is the first
 * connection error a worker reported, or NULL. */
int bench_parent_collect(struct bench_parent *p, struct bench_result *total, const char **first_error);

/* Closes the pipes and frees the buffers (not p->kids itself). */
void bench_parent_close(struct bench_parent *p);

/* The summed VmRSS of the --pid processes, in KiB, or -1 (with a message). */
long long bench_rss_kib(const struct bench_opts *o);

#endif
