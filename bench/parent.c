/* parent.c — see parent.h.
 *
 * Each worker (worker.c) and the parent talk over two pipes, one text line
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
 * The "go" barrier makes every process measure the same window: no
 * publisher starts while clients of another process are still connecting. */
#include "parent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "worker.h"

/* Sum of VmRSS of the --pid processes in KiB, or -1. */
long long bench_rss_kib(const struct bench_opts *o)
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

static void tell_all(struct bench_parent *p, const char *line)
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
static void advance(struct bench_parent *p)
{
    int all_ready = 1, all_sent = 1;
    uint64_t total = 0;
    for (unsigned i = 0; i < p->n; i++) {
        struct bench_child *k = &p->kids[i];
        all_ready &= k->ready || k->eof;
        all_sent &= k->sent_known || k->eof;
        total += k->sent;
    }
    if (!p->go_sent && all_ready) {
        p->go_sent = 1;
        if (p->o->npids)
            p->rss_after = bench_rss_kib(p->o);
        tell_all(p, "go\n");
    }
    if (p->go_sent && !p->total_sent && all_sent && p->o->mode == BENCH_FANOUT) {
        char line[64];
        p->total_sent = 1;
        snprintf(line, sizeof(line), "total %llu\n", (unsigned long long)total);
        tell_all(p, line);
    }
}

static void on_line(struct bench_parent *p, struct bench_child *k, char *line)
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

static void read_child(struct bench_parent *p, struct bench_child *k)
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

static void show_progress(struct bench_parent *p, uint64_t now)
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

/* idle --pid: the memory idle connections hold is the last sample taken
 * while every one of them is still held (the first right after they are all
 * up, then one a second), not the peak of connecting them. */
static void sample_idle_rss(struct bench_parent *p)
{
    if (p->o->mode != BENCH_IDLE || !p->o->npids || !p->go_sent)
        return;
    for (unsigned i = 0; i < p->n; i++)
        if (p->kids[i].done || p->kids[i].eof)
            return;
    p->rss_after = bench_rss_kib(p->o);
}

/* Reads the workers until every pipe is closed. */
void bench_parent_run(struct bench_parent *p)
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
            sample_idle_rss(p);
            next_tick = now + 1000000000u;
        }
    }
    if (p->progress)
        fputs("\n", stderr);
    free(fds);
}

/* Forks the workers. Returns 0 in the parent; in a worker, runs it and
 * returns 1 with its exit status in *status. */
/* After a failed fork: keeps the `started` workers only and closes their
 * control pipes, so that they stop (and are waited for) instead of waiting
 * for a "go" that will not come. Returns -1 with errno kept. */
static int abandon(struct bench_parent *p, unsigned started)
{
    int saved = errno;
    p->n = started;
    for (unsigned i = 0; i < started; i++) {
        close(p->kids[i].down);
        p->kids[i].down = -1;
    }
    errno = saved;
    return -1;
}

int bench_parent_spawn(struct bench_parent *p, const struct net_addr *addrs, const uint32_t *sources,
                       size_t nsources, int *status)
{
    for (unsigned i = 0; i < p->n; i++) {
        int up[2], down[2];
        if (pipe2(up, O_CLOEXEC) != 0)
            return abandon(p, i);
        if (pipe2(down, O_CLOEXEC) != 0) {
            close(up[0]);
            close(up[1]);
            return abandon(p, i);
        }
        fflush(NULL);
        pid_t pid = fork();
        if (pid < 0) {
            close(up[0]);
            close(up[1]);
            close(down[0]);
            close(down[1]);
            return abandon(p, i);
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

int bench_parent_collect(struct bench_parent *p, struct bench_result *total, const char **first_error)
{
    int rc = 0;
    *first_error = NULL;
    for (unsigned i = 0; i < p->n; i++) {
        struct bench_child *k = &p->kids[i];
        if (k->pid > 0) {
            int ws;
            while (waitpid(k->pid, &ws, 0) < 0 && errno == EINTR)
                ;
        }
        if (!k->done) {
            if (k->pid > 0)
                fprintf(stderr, "wscale bench: worker %u ended without a result\n", i);
            rc = -1;
        }
        if (k->error[0] && *first_error == NULL)
            *first_error = k->error;
        bench_result_merge(total, &k->r);
    }
    return rc;
}

void bench_parent_close(struct bench_parent *p)
{
    for (unsigned i = 0; i < p->n; i++) {
        if (p->kids[i].pid > 0) {
            close(p->kids[i].up);
            if (p->kids[i].down >= 0)
                close(p->kids[i].down);
        }
        free(p->kids[i].buf);
    }
}
