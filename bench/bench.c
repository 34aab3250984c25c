/* bench.c — `wscale bench MODE`: the parent process.
 *
 * It checks the options, resolves the URLs, raises the open-files limit,
 * forks -P workers (worker.c) and talks to each over two pipes, one text line
 * per message:
 *
 *   worker -> parent   "p OPEN DELIVERED"  progress, once a second
 *                      "ready OPEN"        all its connects have ended
 *                      "sent N"            fanout: messages it sent in the window
 *                      "x TEXT"            its first connection error
 *                      "c ..." / "h ..."   its result (result.h)
 *                      "done"
 *   parent -> worker   "go"                every worker is ready: start the window
 *                      "total N"           fanout: messages sent by all workers
 *
 * Then it merges the results and prints the table or the JSON. */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../shared/net.h"
#include "opts.h"
#include "report.h"
#include "result.h"
#include "worker.h"

#define FILES_RESERVED 32      /* pipes, stdio, the loop's own descriptors */
#define PORTS_PER_SOURCE 28000 /* ephemeral ports per (source, destination), with margin */

static void usage(FILE *out)
{
    fputs(
"Usage: wscale bench MODE -u URL [OPTIONS]\n"
"\n"
"A WebSocket load generator to point at your own deployment.\n"
"\n"
"Modes:\n"
"  idle   -u URL -c N [-R RATE] -t D   open N connections and hold them for D,\n"
"                                      answering pings\n"
"  fanout -u URL[,URL...] -c N -p P -r RATE -s SIZE -t D\n"
"                                      N chat clients (wscale backend's protocol),\n"
"                                      P of them publishing RATE msgs/s in total;\n"
"                                      every client must receive every message\n"
"  echo   -u URL -c N -s SIZE -t D     N closed-loop clients against an echo\n"
"                                      server (wscale backend --echo)\n"
"  storm  -u URL -c N                  connect N as fast as possible\n"
"\n"
"Options:\n"
"  -u, --url URL[,URL...]   ws:// or wss:// with path and query; clients take\n"
"                           the URLs in turn\n"
"  -c, --clients N          connections                                   (100)\n"
"  -t, --duration D         measured window (idle, fanout, echo)          (10s)\n"
"  -p, --publishers P       fanout: publishing clients                      (1)\n"
"  -r, --rate RATE          fanout: messages per second, all publishers  (1000)\n"
"  -s, --size SIZE          fanout, echo: message bytes, at least 40        (64)\n"
"  -R, --connect-rate RATE  idle: new connections per second      (no limit)\n"
"  -P, --procs PROCS        spread the clients over PROCS processes          (1)\n"
"      --max-connecting N   connects in progress per process              (256)\n"
"      --grace D            fanout, echo: time late messages get after the\n"
"                           window                                         (2s)\n"
"      --timeout D          connect, TLS and upgrade must end within D     (10s)\n"
"      --source A[-B]       IPv4 source addresses to use in turn; by default,\n"
"                           beyond 28000 connections to a loopback address,\n"
"                           127.0.0.1, 127.0.0.2, ...\n"
"      --pid PID[,PID...]   idle: report the RSS of these processes before and\n"
"                           after connecting, per connection\n"
"      --json               print one JSON object instead of the table\n"
"      --progress           show the progress line even if stderr is no terminal\n"
"  -q, --quiet              no progress line\n"
"  -h, --help               show this help\n"
"\n"
"wss:// does not verify the server's certificate (like wrk): it measures, it\n"
"does not authenticate. Latencies come from send timestamps of the monotonic\n"
"clock, so the generator's processes must all run on one host (they do).\n"
"Durations take ms, s, m (a bare number is seconds); sizes take k, m.\n"
"Exit status: 0 when the run happened (even with losses), 1 when the target\n"
"could not be reached at all or an option is wrong.\n",
        out);
}

struct child {
    pid_t pid;
    int up, down;       /* read from it, write to it */
    char *buf;          /* partial lines */
    size_t len, cap;
    int ready, sent_known, done, eof;
    uint64_t sent, open, delivered;
    char error[256];
    struct bench_result r;
};

struct parent {
    const struct bench_opts *o;
    struct child *kids;
    unsigned n;
    int progress;
    long long rss_before, rss_after;
    int go_sent, total_sent;
    uint64_t start_ns;
    uint64_t last_delivered, last_tick_ns;
};

/* Sum of VmRSS of the --pid processes in KiB, or -1. */
static long long rss_kib(const struct bench_opts *o)
{
    long long sum = 0;
    for (size_t i = 0; i < o->npids; i++) {
        char path[64], line[256];
        snprintf(path, sizeof(path), "/proc/%d/status", (int)o->pids[i]);
        FILE *f = fopen(path, "r");
        if (f == NULL) {
            fprintf(stderr, "wscale bench: --pid %d: %s\n", (int)o->pids[i], strerror(errno));
            return -1;
        }
        long long kib = -1;
        while (fgets(line, sizeof(line), f))
            if (sscanf(line, "VmRSS: %lld kB", &kib) == 1)
                break;
        fclose(f);
        if (kib < 0)
            return -1;
        sum += kib;
    }
    return sum;
}

static void tell_all(struct parent *p, const char *line)
{
    for (unsigned i = 0; i < p->n; i++) {
        if (p->kids[i].eof)
            continue;
        size_t len = strlen(line);
        while (write(p->kids[i].down, line, len) < 0 && errno == EINTR)
            ;
    }
}

/* Moves the barrier along once every live worker has reached it. */
static void advance(struct parent *p)
{
    int all_ready = 1, all_sent = 1;
    uint64_t total = 0;
    for (unsigned i = 0; i < p->n; i++) {
        struct child *k = &p->kids[i];
        all_ready &= k->ready || k->eof;
        all_sent &= k->sent_known || k->eof;
        total += k->sent;
    }
    if (!p->go_sent && all_ready) {
        p->go_sent = 1;
        if (p->o->npids)
            p->rss_after = rss_kib(p->o);
        tell_all(p, "go\n");
    }
    if (p->go_sent && !p->total_sent && all_sent && p->o->mode == BENCH_FANOUT) {
        char line[64];
        p->total_sent = 1;
        snprintf(line, sizeof(line), "total %llu\n", (unsigned long long)total);
        tell_all(p, line);
    }
}

static void on_line(struct parent *p, struct child *k, char *line)
{
    if (strncmp(line, "p ", 2) == 0) {
        unsigned long long open, delivered;
        if (sscanf(line + 2, "%llu %llu", &open, &delivered) == 2) {
            k->open = open;
            k->delivered = delivered;
        }
    } else if (strncmp(line, "ready ", 6) == 0) {
        k->ready = 1;
        k->open = strtoull(line + 6, NULL, 10);
    } else if (strncmp(line, "sent ", 5) == 0) {
        k->sent_known = 1;
        k->sent = strtoull(line + 5, NULL, 10);
    } else if (strncmp(line, "x ", 2) == 0) {
        snprintf(k->error, sizeof(k->error), "%s", line + 2);
    } else if (strcmp(line, "done") == 0) {
        k->done = 1;
    } else if (bench_result_parse_line(&k->r, line) != 0) {
        fprintf(stderr, "wscale bench: unexpected line from worker %d: %.60s\n", (int)k->pid, line);
    }
    advance(p);
}

static void read_child(struct parent *p, struct child *k)
{
    if (k->cap - k->len < 4096) {
        size_t cap = k->cap ? k->cap * 2 : 8192;
        char *b = realloc(k->buf, cap);
        if (b == NULL) {
            fprintf(stderr, "wscale bench: out of memory\n");
            k->eof = 1;
            return;
        }
        k->buf = b;
        k->cap = cap;
    }
    ssize_t n = read(k->up, k->buf + k->len, k->cap - k->len - 1);
    if (n < 0 && errno == EINTR)
        return;
    if (n <= 0) {
        k->eof = 1;
        advance(p);
        return;
    }
    k->len += (size_t)n;
    k->buf[k->len] = '\0';
    char *line = k->buf, *nl;
    while ((nl = strchr(line, '\n')) != NULL) {
        *nl = '\0';
        on_line(p, k, line);
        line = nl + 1;
    }
    k->len -= (size_t)(line - k->buf);
    memmove(k->buf, line, k->len);
}

static void show_progress(struct parent *p, uint64_t now)
{
    uint64_t open = 0, delivered = 0;
    for (unsigned i = 0; i < p->n; i++) {
        open += p->kids[i].open;
        delivered += p->kids[i].delivered;
    }
    double dt = (double)(now - p->last_tick_ns) / 1e9;
    double rate = dt > 0 ? (double)(delivered - p->last_delivered) / dt : 0;
    fprintf(stderr, "\r  %6.1fs  open %-8llu messages %-12llu %10.0f/s ", (double)(now - p->start_ns) / 1e9,
            (unsigned long long)open, (unsigned long long)delivered, rate);
    p->last_delivered = delivered;
    p->last_tick_ns = now;
}

/* Reads the workers until every pipe is closed. */
static void run_parent(struct parent *p)
{
    struct pollfd *fds = calloc(p->n, sizeof(*fds));
    if (fds == NULL)
        return;
    p->start_ns = p->last_tick_ns = bench_now_ns();
    uint64_t next_tick = p->start_ns + 1000000000u;
    for (;;) {
        unsigned live = 0;
        for (unsigned i = 0; i < p->n; i++) {
            fds[i].fd = p->kids[i].eof ? -1 : p->kids[i].up;
            fds[i].events = POLLIN;
            live += !p->kids[i].eof;
        }
        if (live == 0)
            break;
        uint64_t now = bench_now_ns();
        int timeout = next_tick > now ? (int)((next_tick - now) / 1000000u) + 1 : 0;
        if (poll(fds, p->n, timeout) < 0 && errno != EINTR)
            break;
        for (unsigned i = 0; i < p->n; i++)
            if (fds[i].revents)
                read_child(p, &p->kids[i]);
        now = bench_now_ns();
        if (now >= next_tick) {
            if (p->progress)
                show_progress(p, now);
            next_tick = now + 1000000000u;
        }
    }
    if (p->progress)
        fputs("\n", stderr);
    free(fds);
}

/* The source addresses clients take in turn (network order), or none. */
static int pick_sources(const struct bench_opts *o, const struct net_addr *addrs, uint32_t **out,
                        size_t *n)
{
    uint32_t first = o->source_first, last = o->source_last;
    *out = NULL;
    *n = 0;
    if (first == 0) {
        for (size_t i = 0; i < o->nurls; i++) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)&addrs[i].ss;
            if (addrs[i].ss.ss_family != AF_INET || (ntohl(sin->sin_addr.s_addr) >> 24) != 127)
                return 0; /* only loopback destinations get sources automatically */
        }
        if (o->clients <= PORTS_PER_SOURCE)
            return 0;
        uint64_t need = (o->clients + PORTS_PER_SOURCE - 1) / PORTS_PER_SOURCE;
        first = 0x7f000001;
        last = first + (uint32_t)(need > 254 ? 253 : need - 1);
    }
    *n = (size_t)(last - first) + 1;
    *out = calloc(*n, sizeof(**out));
    if (*out == NULL)
        return -1;
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = htonl(first + (uint32_t)i);
    return 0;
}

/* Forks the workers. Returns 0 in the parent; in a worker, runs it and
 * returns 1 with its exit status in *status. */
static int spawn(struct parent *p, const struct net_addr *addrs, const uint32_t *sources, size_t nsources,
                 int *status)
{
    for (unsigned i = 0; i < p->n; i++) {
        int up[2], down[2];
        if (pipe2(up, O_CLOEXEC) != 0)
            return -1;
        if (pipe2(down, O_CLOEXEC) != 0) {
            close(up[0]);
            close(up[1]);
            return -1;
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            close(up[0]);
            close(up[1]);
            close(down[0]);
            close(down[1]);
            return -1;
        }
        if (pid == 0) {
            for (unsigned j = 0; j < i; j++) {
                close(p->kids[j].up);
                close(p->kids[j].down);
                p->kids[j].pid = 0; /* not this process's to close or wait for */
            }
            close(up[0]);
            close(down[1]);
            signal(SIGPIPE, SIG_IGN);
            *status = bench_worker_run(p->o, addrs, i, p->n, sources, nsources, up[1], down[0]);
            close(up[1]);
            close(down[0]);
            p->n = i; /* the rest were never this process's */
            return 1;
        }
        close(up[1]);
        close(down[0]);
        p->kids[i].pid = pid;
        p->kids[i].up = up[0];
        p->kids[i].down = down[1];
        bench_result_init(&p->kids[i].r);
    }
    return 0;
}

int bench_main(int argc, char **argv)
{
    char err[512];
    int status = 1;
    struct bench_opts *o = calloc(1, sizeof(*o));
    struct net_addr *addrs = NULL;
    uint32_t *sources = NULL;
    size_t nsources = 0;
    struct parent p = { .o = o, .rss_before = -1, .rss_after = -1 };
    if (o == NULL) {
        fprintf(stderr, "wscale bench: out of memory\n");
        return 1;
    }
    int rc = bench_opts_parse(o, argc, argv, err, sizeof(err));
    if (rc == 1) {
        usage(stdout);
        status = 0;
        goto out;
    }
    if (rc != 0) {
        fprintf(stderr, "wscale bench: %s\n", err);
        goto out;
    }
    addrs = calloc(o->nurls, sizeof(*addrs));
    if (addrs == NULL)
        goto out;
    for (size_t i = 0; i < o->nurls; i++) {
        const char *why;
        if (net_resolve(o->urls[i].host, o->urls[i].port, &addrs[i], &why) != 0) {
            fprintf(stderr, "wscale bench: %s: cannot resolve '%s': %s\n", o->urls[i].text,
                    o->urls[i].host, why);
            goto out;
        }
    }
    long files = net_raise_nofile();
    uint64_t per_proc = (o->clients + o->procs - 1) / o->procs;
    long room_per_proc = files > FILES_RESERVED ? files - FILES_RESERVED : -1;
    if (files > 0 && per_proc + FILES_RESERVED > (uint64_t)files) {
        uint64_t room = (uint64_t)files > FILES_RESERVED ? (uint64_t)files - FILES_RESERVED : 1;
        fprintf(stderr, "wscale bench: %ld open files per process: use -P %llu for %llu connections\n",
                files, (unsigned long long)((o->clients + room - 1) / room), (unsigned long long)o->clients);
        goto out;
    }
    if (pick_sources(o, addrs, &sources, &nsources) != 0)
        goto out;
    p.n = (unsigned)o->procs;
    p.kids = calloc(p.n, sizeof(*p.kids));
    if (p.kids == NULL)
        goto out;
    p.progress = !o->quiet && (o->progress || isatty(STDERR_FILENO));
    if (o->npids) {
        p.rss_before = rss_kib(o);
        if (p.rss_before < 0)
            goto out;
    }

    int worker_status;
    rc = spawn(&p, addrs, sources, nsources, &worker_status);
    if (rc == 1) {
        status = worker_status;
        goto out;
    }
    if (rc != 0)
        fprintf(stderr, "wscale bench: cannot start worker processes: %s\n", strerror(errno));
    else
        run_parent(&p);

    struct bench_result total;
    bench_result_init(&total);
    const char *first_error = NULL;
    int broken = rc != 0;
    for (unsigned i = 0; i < p.n; i++) {
        struct child *k = &p.kids[i];
        if (k->pid > 0) {
            int ws;
            while (waitpid(k->pid, &ws, 0) < 0 && errno == EINTR)
                ;
        }
        if (!k->done) {
            if (k->pid > 0)
                fprintf(stderr, "wscale bench: worker %u ended without a result\n", i);
            broken = 1;
        }
        if (k->error[0] && first_error == NULL)
            first_error = k->error;
        bench_result_merge(&total, &k->r);
    }
    if (!broken && total.established == 0) {
        fprintf(stderr, "wscale bench: could not reach the target: %s\n",
                first_error ? first_error : "no connection succeeded");
    } else if (!broken) {
        struct bench_report rep = { .o = o, .r = &total, .procs = p.n, .room_per_proc = room_per_proc,
                                    .first_error = first_error,
                                    .rss_before_kib = p.rss_before, .rss_after_kib = p.rss_after };
        if (o->json)
            bench_report_json(stdout, &rep);
        else
            bench_report_table(stdout, &rep);
        status = 0;
    }

out:
    if (p.kids)
        for (unsigned i = 0; i < p.n; i++) {
            if (p.kids[i].pid > 0) {
                close(p.kids[i].up);
                close(p.kids[i].down);
            }
            free(p.kids[i].buf);
        }
    free(p.kids);
    free(sources);
    free(addrs);
    free(o);
    return status;
}
