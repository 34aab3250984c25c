/* demo.c — `wscale demo`: the whole stack on one host, in one command.
 *
 * Its own redis-server (on a free loopback port, in a temporary directory,
 * no persistence) unless --redis names one; N backends (ws1..wsN); the lb in
 * front with a configuration generated here: round-robin, long tunnel
 * timeouts, health checks on /healthz, retries with redispatch, the stats
 * page on /stats and the runtime API on a socket in the temporary directory,
 * and TLS on a second port with a self-signed certificate made at start-up.
 * Everything
 * but Redis is this very binary, re-executed. Children are supervised (see
 * supervisor.h); Ctrl-C or SIGTERM stops them in order — the lb drains and
 * the backends say 1001 to their clients at the same time, then Redis goes —
 * removes the temporary directory and exits 0. */
#include "demo.h"

#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli.h"
#include "log.h"
#include "net.h"
#include "supervisor.h"
#include "tls.h"
#include "units.h"
#include "version.h"

#define MAX_BACKENDS 64
#define START_TIMEOUT 15.0 /* seconds for everything to accept connections */
#define STOP_TIMEOUT 20.0  /* seconds for an orderly stop before SIGKILL */

enum phase { STARTING, RUNNING, STOPPING };

struct demo {
    struct ev_loop *loop;
    unsigned nbackends;
    uint16_t port;               /* the lb's */
    uint16_t tls_port;           /* the lb's TLS port, or 0 */
    const char *bind;            /* the lb's address */
    const char *redis_arg;       /* --redis URL, or NULL: our own redis-server */
    const char *redis_server;    /* --redis-server PATH */
    char self[PATH_MAX];         /* this binary, to re-execute */
    char redis_path[PATH_MAX];   /* the redis-server to start */
    char tmpdir[1024];           /* short enough for the file names added to it */
    char redis_url[300];
    uint16_t redis_port;
    struct child redis;
    struct child backends[MAX_BACKENDS];
    uint16_t backend_ports[MAX_BACKENDS];
    char backend_names[MAX_BACKENDS][16];
    struct child lb;
    enum phase phase;
    int fronts_started;          /* the backends and the lb were started */
    unsigned running;            /* lb and backends not yet exited while stopping */
    int exit_code;
    ev_signal sigint, sigterm;
    ev_timer start_check;        /* polls ports until everything is up */
    ev_timer stop_deadline;
    ev_tstamp start_deadline;
};

static void demo_usage(FILE *out)
{
    fputs("Usage: wscale demo [--backends N] [--port PORT] [--tls-port PORT] [--bind ADDR]\n"
          "                   [--redis URL] [--redis-server PATH]\n"
          "\n"
          "The whole stack on this host, in one command: Redis, N chat backends\n"
          "(ws1..wsN) and the lb in front of them, supervised. Open the URL it prints\n"
          "in two browser windows and chat. Ctrl-C stops everything.\n"
          "\n"
          "Options:\n"
          "  --backends N         how many backends (4)\n"
          "  --port PORT          the lb's port (8080)\n"
          "  --tls-port PORT      the lb's TLS port, with a self-signed certificate\n"
          "                       made at start-up; 0 for none (8443)\n"
          "  --bind ADDR          the lb's address (127.0.0.1; 0.0.0.0 lets other\n"
          "                       machines in)\n"
          "  --redis URL          use this Redis instead of starting one\n"
          "  --redis-server PATH  the redis-server to start (found in PATH)\n"
          "  -h, --help           show this help\n",
          out);
}

/* ---- set-up helpers ------------------------------------------------------ */

/* A port nothing listens on now (the kernel's pick, released at once). */
static uint16_t free_port(void)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    uint16_t port = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

static int port_accepts(const char *host, uint16_t port)
{
    struct net_addr addr;
    const char *why;
    if (net_resolve(host, port, &addr, &why) != 0)
        return 0;
    int fd = socket(addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    int ok = connect(fd, (struct sockaddr *)&addr.ss, addr.len) == 0;
    close(fd);
    return ok;
}

/* Finds an executable in PATH. Returns 0 and fills out, or -1. */
static int find_in_path(const char *name, char *out, size_t size)
{
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *end = strchr(path, ':');
        size_t n = end ? (size_t)(end - path) : strlen(path);
        if (n > 0 && (size_t)snprintf(out, size, "%.*s/%s", (int)n, path, name) < size &&
            access(out, X_OK) == 0)
            return 0;
        path += n + (end ? 1 : 0);
    }
    return -1;
}

/* A NULL-terminated argv from a printf-style list of words separated by
 * '\x1f' (so words may hold spaces). The strings live in one allocation. */
static char **make_argv(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char **make_argv(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof(buf))
        return NULL;
    size_t words = 1;
    for (int i = 0; i < n; i++)
        words += buf[i] == '\x1f';
    char **argv = malloc((words + 1) * sizeof(char *) + (size_t)n + 1);
    if (argv == NULL)
        return NULL;
    char *text = (char *)(argv + words + 1);
    memcpy(text, buf, (size_t)n + 1);
    size_t k = 0;
    argv[k++] = text;
    for (char *p = text; *p; p++) {
        if (*p == '\x1f') {
            *p = '\0';
            argv[k++] = p + 1;
        }
    }
    argv[k] = NULL;
    return argv;
}

/* The runtime API's socket goes in the temporary directory, whose path may
 * be too long for a unix socket (107 bytes). */
static int has_stats_socket(const struct demo *d)
{
    return strlen(d->tmpdir) + sizeof("/lb.sock") <= 108;
}

static int write_lb_config(struct demo *d, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL)
        return -1;
    fprintf(f,
            "# Generated by wscale demo.\n"
            "global\n"
            "    log stdout\n"
            "    hard-stop-after 5s\n");
    if (has_stats_socket(d))
        fprintf(f, "    stats socket %s/lb.sock mode 600 level admin\n", d->tmpdir);
    fprintf(f,
            "defaults\n"
            "    mode http\n"
            "    log global\n"
            "    timeout http-request 10s\n"
            "    timeout client 30s\n"
            "    timeout server 30s\n"
            "    timeout connect 2s\n"
            "    timeout tunnel 1h\n"
            "    retries 3\n"
            "    option redispatch\n"
            "    option forwardfor\n"
            "frontend demo\n"
            "    bind %s:%u\n"
            "    stats enable\n"
            "    stats uri /stats\n"
            "    stats refresh 2s\n"
            "    default_backend chat\n",
            d->bind, d->port);
    if (d->tls_port)
        fprintf(f, "frontend demo_tls\n"
                   "    bind %s:%u ssl crt %s/demo.pem\n"
                   "    default_backend chat\n",
                d->bind, d->tls_port, d->tmpdir);
    fprintf(f, "backend chat\n"
               "    balance roundrobin\n"
               "    option httpchk GET /healthz\n"
               "    http-check expect status 200\n"
               "    default-server check inter 1s fall 2 rise 2\n");
    for (unsigned i = 0; i < d->nbackends; i++)
        fprintf(f, "    server %s 127.0.0.1:%u\n", d->backend_names[i], d->backend_ports[i]);
    return fclose(f) == 0 ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    return remove(path);
}

static void remove_tmpdir(struct demo *d)
{
    if (d->tmpdir[0] && nftw(d->tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
        log_warn("cannot remove %s: %s", d->tmpdir, strerror(errno));
    d->tmpdir[0] = '\0';
}

/* ---- stopping ------------------------------------------------------------- */

static void finish(struct demo *d)
{
    ev_timer_stop(d->loop, &d->stop_deadline);
    remove_tmpdir(d);
    log_info("stopped");
    ev_break(d->loop, EVBREAK_ALL);
}

static void on_redis_exit(struct child *c, int status)
{
    (void)status;
    finish(c->data);
}

/* The lb or a backend has stopped; once all of them have, Redis goes. */
static void on_front_exit(struct child *c, int status)
{
    struct demo *d = c->data;
    char why[96];
    log_info("%s %s", c->name, child_status_text(status, why, sizeof(why)));
    if (--d->running > 0)
        return;
    if (d->redis_arg == NULL)
        child_stop(&d->redis, SIGTERM);
    else
        finish(d);
}

static void demo_stop(struct demo *d, const char *why)
{
    d->phase = STOPPING;
    ev_timer_stop(d->loop, &d->start_check);
    log_info("%s: stopping: the lb drains and the backends close their clients (1001), "
             "then Redis stops", why);
    d->running = d->nbackends + 1;
    ev_timer_set(&d->stop_deadline, STOP_TIMEOUT, 0);
    ev_timer_start(d->loop, &d->stop_deadline);
    child_stop(&d->lb, SIGTERM);
    for (unsigned i = 0; i < d->nbackends; i++)
        child_stop(&d->backends[i], SIGTERM);
}

static void kill_all(struct demo *d)
{
    child_stop(&d->lb, SIGKILL);
    for (unsigned i = 0; i < d->nbackends; i++)
        child_stop(&d->backends[i], SIGKILL);
    if (d->redis_arg == NULL)
        child_stop(&d->redis, SIGKILL);
}

static void on_stop_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct demo *d = w->data;
    (void)loop;
    (void)revents;
    log_warn("orderly stop took over %.0fs: killing what is left", STOP_TIMEOUT);
    d->exit_code = 1;
    kill_all(d);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct demo *d = w->data;
    (void)loop;
    (void)revents;
    const char *name = w->signum == SIGINT ? "SIGINT" : "SIGTERM";
    if (d->phase == STOPPING) {
        log_warn("%s again: killing everything now", name);
        d->exit_code = 1;
        kill_all(d);
        return;
    }
    demo_stop(d, name);
}

/* ---- starting ------------------------------------------------------------- */

static int start_fronts(struct demo *d);

/* Where to reach the lb from this host: its address, or loopback when it
 * listens on every address. */
static const char *lb_host(const struct demo *d)
{
    if (strcmp(d->bind, "0.0.0.0") == 0)
        return "127.0.0.1";
    if (strcmp(d->bind, "::") == 0)
        return "::1";
    return d->bind;
}

static void print_table(struct demo *d)
{
    printf("\nwscale demo is up: %u backends behind the lb, one Redis.\n\n", d->nbackends);
    printf("  %-8s %-8s %s\n", "process", "pid", "address");
    if (d->redis_arg == NULL)
        printf("  %-8s %-8d 127.0.0.1:%u  (data in %s, not kept)\n", "redis", (int)d->redis.pid,
               d->redis_port, d->tmpdir);
    else
        printf("  %-8s %-8s %s\n", "redis", "-", d->redis_url);
    for (unsigned i = 0; i < d->nbackends; i++)
        printf("  %-8s %-8d 127.0.0.1:%u\n", d->backends[i].name, (int)d->backends[i].pid,
               d->backend_ports[i]);
    /* An IPv6 address takes brackets in a URL. */
    char host[300];
    snprintf(host, sizeof(host), strchr(lb_host(d), ':') ? "[%s]" : "%s", lb_host(d));
    printf("  %-8s %-8d %s:%u", "lb", (int)d->lb.pid, d->bind, d->port);
    if (d->tls_port)
        printf(", %s:%u (TLS)", d->bind, d->tls_port);
    printf("\n\nOpen http://%s:%u/ in two browser windows and chat: rooms, history, members\n"
           "(protocol wscale.chat.v1). Kill a backend's pid: the page reconnects and recovers\n"
           "what it missed.\n", host, d->port);
    if (d->tls_port)
        printf("Over TLS: https://%s:%u/ (a self-signed certificate: the browser will ask).\n",
               host, d->tls_port);
    printf("Or the tutorial's way, in a browser console on that page:\n"
           "  ws = new WebSocket(\"ws://%s:%u\"); ws.onmessage = m => console.log(m.data)\n"
           "  ws.send(\"hello\")\n", host, d->port);
    printf("The lb's stats page: http://%s:%u/stats (servers, tunnels, checks).\n", host, d->port);
    if (has_stats_socket(d))
        printf("Its runtime API: echo \"show stat\" | socat stdio UNIX:%s/lb.sock\n", d->tmpdir);
    printf("Ctrl-C stops everything.\n\n");
    fflush(stdout);
}

static int everything_up(struct demo *d)
{
    if (d->redis_arg == NULL && !port_accepts("127.0.0.1", d->redis_port))
        return 0;
    for (unsigned i = 0; i < d->nbackends; i++)
        if (!port_accepts("127.0.0.1", d->backend_ports[i]))
            return 0;
    return port_accepts(lb_host(d), d->port) && (!d->tls_port || port_accepts(lb_host(d), d->tls_port));
}

static void on_start_check(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct demo *d = w->data;
    (void)revents;
    if (everything_up(d)) {
        ev_timer_stop(loop, w);
        d->phase = RUNNING;
        print_table(d);
        return;
    }
    if (ev_now(loop) > d->start_deadline) {
        log_error("not everything accepted connections within %.0fs (see the errors above)",
                  START_TIMEOUT);
        d->exit_code = 1;
        demo_stop(d, "start-up failed");
    }
}

/* During start-up a child that exits means a mistake (a port in use, a bad
 * Redis URL), not a crash to retry: report it and stop. */
static void watch_startup_exits(struct demo *d)
{
    struct child *all[MAX_BACKENDS + 2];
    unsigned n = 0;
    if (d->redis_arg == NULL)
        all[n++] = &d->redis;
    for (unsigned i = 0; i < d->nbackends; i++)
        all[n++] = &d->backends[i];
    all[n++] = &d->lb;
    for (unsigned i = 0; i < n; i++) {
        struct child *c = all[i];
        if (c->pid == 0 && c->restarts > 0 && d->phase == STARTING) {
            log_error("%s failed during start-up (see its errors above)", c->name);
            d->exit_code = 1;
            demo_stop(d, "start-up failed");
            return;
        }
    }
}

static void on_start_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct demo *d = w->data;
    watch_startup_exits(d);
    if (d->phase != STARTING)
        return;
    if (!d->fronts_started && (d->redis_arg || port_accepts("127.0.0.1", d->redis_port))) {
        if (start_fronts(d) != 0) {
            log_error("cannot start the backends and the lb: %s", strerror(errno));
            d->exit_code = 1;
            demo_stop(d, "start-up failed");
        }
        return;
    }
    on_start_check(loop, w, revents);
}

/* Prepares every child (so that stopping works whatever happens next) and
 * starts our Redis; start_fronts() follows once it accepts connections. */
static int start_children(struct demo *d)
{
    char cfg[PATH_MAX], log_path[PATH_MAX];
    /* Re-executing /proc/self/exe keeps working even if the file on disk is
     * replaced (a rebuild) while the demo runs. */
    static const char self_exe[] = "/proc/self/exe";

    if (d->redis_arg == NULL) {
        d->redis_port = free_port();
        snprintf(d->redis_url, sizeof(d->redis_url), "redis://127.0.0.1:%u", d->redis_port);
        snprintf(log_path, sizeof(log_path), "%s/redis.log", d->tmpdir);
        /* Words are separated by \x1f; a string break follows it before hex digits. */
        char **argv = make_argv("redis-server\x1f--port\x1f%u\x1f--bind\x1f" "127.0.0.1\x1f"
                                "--save\x1f\x1f--appendonly\x1fno\x1f--dir\x1f%s\x1f"
                                "--daemonize\x1fno",
                                d->redis_port, d->tmpdir);
        child_init(&d->redis, d->loop, "redis", d->redis_path, argv, strdup(log_path));
        d->redis.on_exit = on_redis_exit;
        d->redis.data = d;
    } else {
        snprintf(d->redis_url, sizeof(d->redis_url), "%s", d->redis_arg);
    }
    for (unsigned i = 0; i < d->nbackends; i++) {
        snprintf(d->backend_names[i], sizeof(d->backend_names[i]), "ws%u", i + 1);
        d->backend_ports[i] = free_port();
        char **argv = make_argv("%s\x1f" "backend\x1f--listen\x1f" "127.0.0.1:%u\x1f--id\x1f%s"
                                "\x1f--redis\x1f%s",
                                d->self, d->backend_ports[i], d->backend_names[i], d->redis_url);
        child_init(&d->backends[i], d->loop, d->backend_names[i], self_exe, argv, NULL);
        d->backends[i].on_exit = on_front_exit;
        d->backends[i].data = d;
    }
    snprintf(cfg, sizeof(cfg), "%s/lb.cfg", d->tmpdir);
    child_init(&d->lb, d->loop, "lb", self_exe, make_argv("%s\x1flb\x1f-f\x1f%s", d->self, cfg),
               NULL);
    d->lb.on_exit = on_front_exit;
    d->lb.data = d;

    if (d->tls_port) {
        char pem[PATH_MAX], why[512];
        snprintf(pem, sizeof(pem), "%s/demo.pem", d->tmpdir);
        if (tls_make_self_signed(pem, why, sizeof(why)) != 0) {
            fprintf(stderr, "wscale demo: %s\n", why);
            return -1;
        }
    }
    if (write_lb_config(d, cfg) != 0) {
        fprintf(stderr, "wscale demo: cannot write %s: %s\n", cfg, strerror(errno));
        return -1;
    }
    if (d->redis_arg == NULL && (d->redis.argv == NULL || child_start(&d->redis) != 0))
        return -1;
    return 0;
}

/* Redis accepts connections: the backends and the lb can come. */
static int start_fronts(struct demo *d)
{
    d->fronts_started = 1;
    for (unsigned i = 0; i < d->nbackends; i++)
        if (d->backends[i].argv == NULL || child_start(&d->backends[i]) != 0)
            return -1;
    if (d->lb.argv == NULL || child_start(&d->lb) != 0)
        return -1;
    return 0;
}

static void free_children(struct demo *d)
{
    struct child *all[MAX_BACKENDS + 2];
    unsigned n = 0;
    all[n++] = &d->redis;
    all[n++] = &d->lb;
    for (unsigned i = 0; i < d->nbackends; i++)
        all[n++] = &d->backends[i];
    for (unsigned i = 0; i < n; i++) {
        if (all[i]->loop == NULL)
            continue; /* never prepared */
        child_forget(all[i]);
        free(all[i]->argv);
        free((char *)all[i]->log_path);
    }

}

/* ---- command line --------------------------------------------------------- */

enum { OPT_HELP = 1, OPT_BACKENDS, OPT_PORT, OPT_TLS_PORT, OPT_BIND, OPT_REDIS, OPT_REDIS_SERVER };

static int parse_options(struct demo *d, int argc, char **argv)
{
    static const struct cli_option options[] = {
        { "help", 'h', 0, OPT_HELP },
        { "backends", 0, 1, OPT_BACKENDS },
        { "port", 0, 1, OPT_PORT },
        { "tls-port", 0, 1, OPT_TLS_PORT },
        { "bind", 0, 1, OPT_BIND },
        { "redis", 0, 1, OPT_REDIS },
        { "redis-server", 0, 1, OPT_REDIS_SERVER },
        { NULL, 0, 0, 0 },
    };
    struct cli c;
    cli_init(&c, argc, argv, 1);
    int id;
    while ((id = cli_next(&c, options)) != CLI_END) {
        uint64_t v;
        switch (id) {
        case OPT_HELP:
            demo_usage(stdout);
            return 1;
        case OPT_BACKENDS:
            if (units_parse_uint(c.value, MAX_BACKENDS, &v) != 0 || v == 0) {
                fprintf(stderr, "wscale demo: --backends '%s': expected 1 to %d\n", c.value,
                        MAX_BACKENDS);
                return -1;
            }
            d->nbackends = (unsigned)v;
            break;
        case OPT_PORT:
            if (units_parse_port(c.value, &d->port) != 0) {
                fprintf(stderr, "wscale demo: --port '%s': expected 1 to 65535\n", c.value);
                return -1;
            }
            break;
        case OPT_TLS_PORT:
            if (units_parse_uint(c.value, 65535, &v) != 0) {
                fprintf(stderr, "wscale demo: --tls-port '%s': expected 1 to 65535, or 0 for none\n",
                        c.value);
                return -1;
            }
            d->tls_port = (uint16_t)v;
            break;
        case OPT_BIND:
            d->bind = c.value;
            break;
        case OPT_REDIS:
            if (strncmp(c.value, "redis://", 8) != 0) {
                fprintf(stderr, "wscale demo: --redis '%s': expected redis://host:port\n", c.value);
                return -1;
            }
            d->redis_arg = c.value;
            break;
        case OPT_REDIS_SERVER:
            if (access(c.value, X_OK) != 0) {
                fprintf(stderr, "wscale demo: --redis-server '%s': %s\n", c.value, strerror(errno));
                return -1;
            }
            d->redis_server = c.value;
            break;
        case CLI_POSITIONAL:
            fprintf(stderr, "wscale demo: unexpected argument '%s' (see: wscale demo --help)\n",
                    c.value);
            return -1;
        default:
            fprintf(stderr, "wscale demo: %s\n(see: wscale demo --help)\n", c.error);
            return -1;
        }
    }
    return 0;
}

/* Without --redis, a redis-server to start must exist. */
static int redis_server_found(struct demo *d)
{
    if (d->redis_arg)
        return 1;
    if (d->redis_server) {
        snprintf(d->redis_path, sizeof(d->redis_path), "%s", d->redis_server);
        return 1;
    }
    if (find_in_path("redis-server", d->redis_path, sizeof(d->redis_path)) == 0)
        return 1;
    fprintf(stderr, "wscale demo: redis-server not found in PATH: install it (Debian, Ubuntu: "
                    "sudo apt-get install redis-server), or pass --redis-server PATH or "
                    "--redis URL\n");
    return 0;
}

/* The lb's ports must be free, or nothing else is worth starting. */
static int lb_port_free(const struct demo *d, uint16_t port, const char *flag)
{
    struct net_addr addr;
    const char *why;
    if (net_resolve(d->bind, port, &addr, &why) != 0) {
        fprintf(stderr, "wscale demo: --bind '%s': %s\n", d->bind, why);
        return 0;
    }
    int fd = net_listen(&addr, 1, 0);
    if (fd < 0) {
        fprintf(stderr, "wscale demo: cannot listen on %s:%u: %s (pass %s N)\n", d->bind, port,
                strerror(errno), flag);
        return 0;
    }
    close(fd);
    return 1;
}

int demo_main(int argc, char **argv)
{
    struct demo *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return 1;
    d->nbackends = 4;
    d->port = 8080;
    d->tls_port = 8443;
    d->bind = "127.0.0.1";
    int rc = parse_options(d, argc, argv);
    if (rc == 0 && d->tls_port == d->port) {
        fprintf(stderr, "wscale demo: --port and --tls-port are both %u\n", d->port);
        rc = -1;
    }
    if (rc != 0 || !lb_port_free(d, d->port, "--port") ||
        (d->tls_port && !lb_port_free(d, d->tls_port, "--tls-port"))) {
        free(d);
        return rc > 0 ? 0 : 2;
    }
    if (!redis_server_found(d)) {
        free(d);
        return 1;
    }
    log_setup("demo", LOG_INFO);
    ssize_t n = readlink("/proc/self/exe", d->self, sizeof(d->self) - 1);
    const char *tmp = getenv("TMPDIR");
    int fits = snprintf(d->tmpdir, sizeof(d->tmpdir), "%s/wscale-demo-XXXXXX",
                        tmp && *tmp ? tmp : "/tmp") < (int)sizeof(d->tmpdir);
    if (n <= 0 || !fits || mkdtemp(d->tmpdir) == NULL) {
        fprintf(stderr, "wscale demo: cannot prepare: %s\n", strerror(errno));
        free(d);
        return 1;
    }
    d->self[n] = '\0';

    d->loop = ev_default_loop(EVFLAG_AUTO);
    ev_signal_init(&d->sigint, on_signal, SIGINT);
    d->sigint.data = d;
    ev_signal_start(d->loop, &d->sigint);
    ev_signal_init(&d->sigterm, on_signal, SIGTERM);
    d->sigterm.data = d;
    ev_signal_start(d->loop, &d->sigterm);
    ev_init(&d->stop_deadline, on_stop_deadline);
    d->stop_deadline.data = d;
    ev_init(&d->start_check, on_start_tick);
    d->start_check.data = d;

    log_info("wscale " WSCALE_VERSION " demo starting: %u backends, lb on %s:%u", d->nbackends,
             d->bind, d->port);
    if (start_children(d) != 0) {
        d->exit_code = 1;
        demo_stop(d, "start-up failed");
    } else {
        d->start_deadline = ev_now(d->loop) + START_TIMEOUT;
        ev_timer_set(&d->start_check, 0.05, 0.05);
        ev_timer_start(d->loop, &d->start_check);
    }
    ev_run(d->loop, 0);

    int status = d->exit_code;
    ev_signal_stop(d->loop, &d->sigint);
    ev_signal_stop(d->loop, &d->sigterm);
    ev_timer_stop(d->loop, &d->start_check);
    ev_timer_stop(d->loop, &d->stop_deadline);
    free_children(d);
    remove_tmpdir(d);
    ev_loop_destroy(d->loop);
    free(d);
    return status;
}
