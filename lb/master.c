/* master.c — see master.h. */
#include "master.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <fcntl.h>
#include <unistd.h>

#include "../shared/net.h"
#include "../shared/supervisor.h"
#include "../shared/version.h"
#include "check.h"
#include "config.h"
#include "ctl.h"
#include "lb.h"
#include "registry.h"
#include "snapshot.h"
#include "stats-socket.h"
#include "stick.h"

#define BACKLOG 1024
#define START_TIMEOUT 10.0      /* seconds for a new generation to be ready */
#define KILL_GRACE 5.0          /* seconds past the drain bound before SIGKILL */
#define TICKET_ROTATION 3600.0  /* seconds between new TLS ticket keys */
#define BACKOFF_FIRST 0.5
#define BACKOFF_MAX 10.0
#define STABLE_AFTER 10.0       /* a worker up this long restarts without backoff */

struct master;
struct generation;

struct worker {
    struct generation *gen;
    unsigned slot;
    pid_t pid;                  /* 0: not running */
    uint32_t block;             /* its counters in the registry */
    int ctl;                    /* our end of its control socket */
    int xfer;                   /* the sending end of its handover socket */
    ev_io ctl_watch;
    ev_child child_watch;
    ev_timer restart;
    double backoff;
    ev_tstamp started;
    int ready;                  /* it said so */
    int stopping;               /* asked to stop: its exit is expected */
};

/* The workers of one configuration, and their listening sockets. */
struct generation {
    struct master *m;
    uint32_t id;
    struct lb_config *cfg;      /* NULL once older generations no longer need it */
    int config_fd;              /* a memfd with the text its workers parse */
    unsigned nlisteners, nworkers;
    struct net_addr *addrs;     /* [nlisteners] */
    int *fds;                   /* [listener * nworkers + slot]; -1 once closed */
    int *stick_fds;             /* a memfd per stick table, in configuration order */
    unsigned nstick;
    struct worker *workers;     /* [nworkers] */
    int serving;                /* all its workers were ready once */
    struct generation *next;    /* in m->old */
};

/* A server state as it was before a reload that may still fail. */
struct saved_state {
    uint32_t obj;
    int created;
    struct reg_server st;
};

struct master {
    struct ev_loop *loop;
    const char *path;
    enum log_level level;
    struct registry reg;
    struct generation *cur;     /* serving */
    struct generation *next;    /* starting (a reload) */
    struct generation *old;     /* draining */
    struct saved_state *saved;  /* to undo if `next` fails */
    size_t nsaved;
    struct checks *checks;
    struct api_ops ops;         /* what the runtime API acts on */
    struct stats_sockets *stats;
    ev_signal sigterm, sigint, sighup, sigusr2;
    ev_timer start_timer;
    ev_timer kill_timer;
    ev_timer key_rotation;
    int stopping;
    int reload_pending;
    int failed;                 /* the first generation never started */
};

static int worker_spawn(struct worker *w);
static void reload(struct master *m);

/* ---- generations: sockets and workers ------------------------------------ */

static int same_addr(const struct net_addr *a, const struct net_addr *b)
{
    return a->len == b->len && memcmp(&a->ss, &b->ss, a->len) == 0;
}

/* The listening socket for (addr, slot) of the serving generation, or -1. */
static int find_socket(const struct generation *g, const struct net_addr *addr, unsigned slot)
{
    if (g == NULL || slot >= g->nworkers)
        return -1;
    for (unsigned i = 0; i < g->nlisteners; i++)
        if (same_addr(&g->addrs[i], addr))
            return g->fds[i * g->nworkers + slot];
    return -1;
}

static void gen_close_sockets(struct generation *g)
{
    for (unsigned i = 0; g->fds && i < g->nlisteners * g->nworkers; i++) {
        if (g->fds[i] >= 0)
            close(g->fds[i]);
        g->fds[i] = -1;
    }
}

static void gen_free(struct generation *g)
{
    if (g == NULL)
        return;
    gen_close_sockets(g);
    for (unsigned i = 0; i < g->nstick; i++)
        close(g->stick_fds[i]);
    free(g->stick_fds);
    if (g->config_fd >= 0)
        close(g->config_fd);
    lb_config_free(g->cfg);
    free(g->addrs);
    free(g->fds);
    free(g->workers);
    free(g);
}

/* Binds what the configuration listens on: the serving generation's
 * sockets are shared (the same kernel sockets, so nothing queued on them is
 * lost), new addresses get new ones. */
static int gen_open_sockets(struct generation *g, const struct generation *prev)
{
    struct lb_config *cfg = g->cfg;
    unsigned i = 0;
    for (struct proxy *px = cfg->proxies; px; px = px->next) {
        for (size_t b = 0; (px->caps & PROXY_FRONTEND) && b < px->nbinds; b++, i++) {
            struct listener *li = px->binds[b];
            char addr[NET_ADDR_STRLEN];
            net_addr_format((struct sockaddr *)&li->addr.ss, addr, sizeof(addr));
            g->addrs[i] = li->addr;
            int fresh = find_socket(prev, &li->addr, 0) < 0;
            if (fresh && net_bind_probe(&li->addr) != 0) {
                log_error("%s:%d: frontend '%s': cannot bind %s: %s", cfg->file, li->line, px->name,
                          addr, strerror(errno));
                return -1;
            }
            for (unsigned slot = 0; slot < g->nworkers; slot++) {
                int shared = find_socket(prev, &li->addr, slot);
                int fd = shared >= 0 ? fcntl(shared, F_DUPFD_CLOEXEC, 0)
                                     : net_listen(&li->addr, BACKLOG, 1);
                if (fd < 0) {
                    log_error("%s:%d: frontend '%s': cannot bind %s: %s", cfg->file, li->line,
                              px->name, addr, strerror(errno));
                    return -1;
                }
                g->fds[i * g->nworkers + slot] = fd;
            }
            if (fresh)
                log_info("frontend '%s' listening on %s%s, backend '%s'", px->name, addr,
                         li->tls ? " (TLS)" : "", px->backend->name);
        }
    }
    return 0;
}

/* New connections go to g's own sockets only: each listener's group has
 * g's sockets first (slot order; sockets of a retiring generation's higher
 * slots come after them and are about to close), and a new generation's
 * sockets get nothing before it serves. */
static void gen_spread(const struct generation *g)
{
    for (unsigned i = 0; i < g->nlisteners; i++)
        if (net_reuseport_spread(g->fds[i * g->nworkers], g->nworkers) != 0)
            log_warn("cannot steer connections among the workers' sockets: %s; a reload that "
                     "changes the number of workers may reset connections arriving meanwhile",
                     strerror(errno));
}

/* The serving generation's table for be, if it has the same settings: a
 * reload keeps who sticks where. -1 otherwise. */
static int find_stick_table(const struct generation *prev, const struct proxy *be)
{
    unsigned k = 0;
    for (const struct proxy *px = prev && prev->cfg ? prev->cfg->proxies : NULL; px; px = px->next) {
        if (!(px->caps & PROXY_BACKEND) || px->stick.size == 0)
            continue;
        if (strcmp(px->name, be->name) == 0 && px->stick.size == be->stick.size &&
            px->stick.ipv6 == be->stick.ipv6 && px->stick.expire_ms == be->stick.expire_ms)
            return prev->stick_fds[k];
        k++;
    }
    return -1;
}

/* A new, empty stick table for be in a memfd the workers map. */
static int new_stick_table(const struct lb_config *cfg, const struct proxy *be)
{
    size_t size = stick_region_size(be->stick.size);
    int fd = memfd_create("wscale-lb-stick", MFD_CLOEXEC);
    void *region = MAP_FAILED;
    if (fd >= 0 && ftruncate(fd, (off_t)size) == 0)
        region = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (region == MAP_FAILED || stick_init(region, be->stick.size, be->stick.expire_ms) != 0) {
        log_error("%s:%d: stick-table of '%s': cannot make %zu bytes of shared memory: %s",
                  cfg->file, be->stick.table_line, be->name, size, strerror(errno));
        if (region != MAP_FAILED)
            munmap(region, size);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    munmap(region, size);
    log_info("backend '%s': stick table of %u entries, %zu bytes of shared memory", be->name,
             be->stick.size, size);
    return fd;
}

static int gen_open_stick_tables(struct generation *g, const struct generation *prev)
{
    for (const struct proxy *be = g->cfg->proxies; be; be = be->next) {
        if (!(be->caps & PROXY_BACKEND) || be->stick.size == 0)
            continue;
        int kept = find_stick_table(prev, be);
        int fd = kept >= 0 ? fcntl(kept, F_DUPFD_CLOEXEC, 0) : new_stick_table(g->cfg, be);
        if (fd < 0)
            return -1;
        int *grown = realloc(g->stick_fds, (g->nstick + 1) * sizeof(*grown));
        if (grown == NULL) {
            close(fd);
            return -1;
        }
        g->stick_fds = grown;
        g->stick_fds[g->nstick++] = fd;
    }
    return 0;
}

static struct generation *gen_new(struct master *m, struct lb_config *cfg, const char *text,
                                  size_t len)
{
    struct generation *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->m = m;
    g->cfg = cfg;
    g->config_fd = -1;
    g->nlisteners = cfg->nlisteners;
    g->nworkers = cfg->workers;
    g->addrs = calloc(g->nlisteners ? g->nlisteners : 1, sizeof(*g->addrs));
    size_t nfds = (size_t)g->nlisteners * g->nworkers;
    g->fds = malloc((nfds ? nfds : 1) * sizeof(int));
    g->workers = calloc(g->nworkers, sizeof(*g->workers));
    g->config_fd = memfd_create("wscale-lb-config", MFD_CLOEXEC);
    if (g->addrs == NULL || g->fds == NULL || g->workers == NULL || g->config_fd < 0 ||
        write(g->config_fd, text, len) != (ssize_t)len) {
        g->cfg = NULL; /* the caller still owns it */
        gen_free(g);
        return NULL;
    }
    for (unsigned i = 0; i < g->nlisteners * g->nworkers; i++)
        g->fds[i] = -1;
    for (unsigned s = 0; s < g->nworkers; s++) {
        struct worker *w = &g->workers[s];
        w->gen = g;
        w->slot = s;
        w->ctl = w->xfer = -1;
        w->backoff = BACKOFF_FIRST;
    }
    return g;
}

static unsigned running(const struct generation *g)
{
    unsigned n = 0;
    for (unsigned s = 0; g && s < g->nworkers; s++)
        n += g->workers[s].pid > 0;
    return n;
}

static unsigned workers_alive(const struct master *m)
{
    unsigned n = running(m->cur) + running(m->next);
    for (const struct generation *g = m->old; g; g = g->next)
        n += running(g);
    return n;
}

static void worker_signal(struct worker *w, int sig)
{
    w->stopping = 1;
    ev_timer_stop(w->gen->m->loop, &w->restart);
    if (w->pid > 0)
        kill(w->pid, sig);
}

static void gen_signal(struct generation *g, int sig)
{
    for (unsigned s = 0; g && s < g->nworkers; s++)
        worker_signal(&g->workers[s], sig);
}

static void publish_counts(struct master *m)
{
    unsigned old = 0;
    for (const struct generation *g = m->old; g; g = g->next)
        old += running(g);
    m->reg.head->workers = m->cur ? m->cur->nworkers : 0;
    m->reg.head->old_workers = old;
}

/* Sends every running worker a message (a full socket drops it: each worker
 * also looks at the registry every second). */
static void broadcast(struct master *m, const struct ctl_msg *msg)
{
    struct generation *gens[2] = { m->cur, m->next };
    for (int k = 0; k < 3; k++) {
        for (struct generation *g = k < 2 ? gens[k] : m->old; g; g = k < 2 ? NULL : g->next)
            for (unsigned s = 0; s < g->nworkers; s++)
                if (g->workers[s].pid > 0 && g->workers[s].ctl >= 0)
                    ctl_send(g->workers[s].ctl, msg, sizeof(*msg), NULL, 0);
    }
}

static void poke_workers(struct master *m)
{
    struct ctl_msg msg = { .type = CTL_POKE };
    broadcast(m, &msg);
}

/* A backend is UP while one of its servers can take balanced traffic (UP,
 * ready, weight > 0) or when it has none at all: the rule of the stats
 * (snapshot.c). Its changes are kept in the registry as a server's are (last
 * change, DOWN transitions and downtime), for the stats. */
static void backends_update(struct master *m, const struct lb_config *cfg)
{
    int64_t now = check_wall_ms();
    for (const struct proxy *be = cfg->proxies; be; be = be->next) {
        if (!(be->caps & PROXY_BACKEND))
            continue;
        int up = be->nservers == 0;
        for (size_t i = 0; i < be->nservers && !up; i++) {
            struct reg_server st;
            reg_server_read(registry_object(&m->reg, be->servers[i]->obj), &st);
            up = st.check_up && st.admin == SRV_ADMIN_READY && st.weight > 0;
        }
        struct reg_object *o = registry_object(&m->reg, be->be_obj);
        struct reg_server bst;
        reg_server_read(o, &bst);
        if (bst.check_up == up)
            continue;
        if (up)
            bst.downtime_ms += (uint64_t)(now - bst.last_change_ms);
        else
            bst.chkdown++;
        bst.check_up = (uint8_t)up;
        bst.last_change_ms = now;
        reg_server_write(o, &bst);
    }
}

/* Server state changed (checks, runtime API): the workers look again. */
static void state_changed(void *data)
{
    struct master *m = data;
    if (m->cur && m->cur->cfg)
        backends_update(m, m->cur->cfg);
    poke_workers(m);
}

/* ---- the registry ---------------------------------------------------------- */

/* Registry entries no live generation uses any more are given back. */
static void registry_sweep(struct master *m)
{
    uint32_t oldest = m->cur ? m->cur->id : UINT32_MAX;
    for (const struct generation *g = m->old; g; g = g->next)
        if (g->id < oldest)
            oldest = g->id;
    for (uint32_t id = 1; id <= m->reg.max_objects; id++) {
        struct reg_object *o = registry_object(&m->reg, id);
        if (o->kind != REG_FREE && o->generation < oldest)
            registry_release(&m->reg, id);
    }
}

static int save_state(struct master *m, uint32_t obj, int created)
{
    struct saved_state *grown = realloc(m->saved, (m->nsaved + 1) * sizeof(*grown));
    if (grown == NULL)
        return -1;
    m->saved = grown;
    struct saved_state *s = &m->saved[m->nsaved++];
    s->obj = obj;
    s->created = created;
    reg_server_read(registry_object(&m->reg, obj), &s->st);
    return 0;
}

/* A server's state for a new configuration. Runtime changes (the API's
 * weight or admin state, the checks' verdict) stay unless the file changes
 * that setting, as HAProxy's server-state file does. */
static void prepare_server(struct master *m, struct server *s, uint32_t obj, int created)
{
    struct reg_object *o = registry_object(&m->reg, obj);
    struct reg_server st;
    reg_server_read(o, &st);
    int64_t now = check_wall_ms();
    if (created) {
        memset(&st, 0, sizeof(st));
        st.weight = s->weight;
        st.admin = s->admin;
        st.check_up = 1;
        st.last_change_ms = now;
        st.check_duration_ms = -1;
    } else {
        if (st.cfg_weight != s->weight)
            st.weight = s->weight;
        if (st.cfg_admin != s->admin) {
            st.admin = s->admin;
            st.last_change_ms = now;
        }
    }
    if (s->check && !st.has_check) {
        st.check_up = 1;
        st.health = 0;
        snprintf(st.check_status, sizeof(st.check_status), "INI");
        st.check_desc[0] = '\0';
        st.check_code = 0;
        st.check_duration_ms = -1;
    } else if (!s->check) {
        st.check_up = 1;
        st.check_status[0] = st.check_desc[0] = '\0';
    }
    st.has_check = s->check;
    st.cfg_weight = s->weight;
    st.cfg_admin = s->admin;
    reg_server_write(o, &st);
}

/* Gives every proxy and server of g's configuration its registry entry
 * and initial state (remembering the previous one, should g fail). */
static int gen_register(struct master *m, struct generation *g)
{
    free(m->saved);
    m->saved = NULL;
    m->nsaved = 0;
    for (struct proxy *px = g->cfg->proxies; px; px = px->next) {
        uint32_t *ids[2] = { &px->fe_obj, &px->be_obj };
        enum reg_kind kinds[2] = { REG_FRONTEND, REG_BACKEND };
        unsigned caps[2] = { PROXY_FRONTEND, PROXY_BACKEND };
        for (int k = 0; k < 2; k++) {
            if (!(px->caps & caps[k]))
                continue;
            int created = registry_find(&m->reg, kinds[k], px->name, "", 0) == 0;
            *ids[k] = registry_find(&m->reg, kinds[k], px->name, "", 1);
            if (*ids[k] == 0)
                goto full;
            struct reg_object *o = registry_object(&m->reg, *ids[k]);
            o->generation = g->id;
            if (created) {
                struct reg_server st = { .check_up = 1, .last_change_ms = check_wall_ms() };
                reg_server_write(o, &st);
            }
        }
        for (size_t i = 0; (px->caps & PROXY_BACKEND) && i < px->nservers; i++) {
            struct server *s = px->servers[i];
            int created = registry_find(&m->reg, REG_SERVER, px->name, s->name, 0) == 0;
            s->obj = registry_find(&m->reg, REG_SERVER, px->name, s->name, 1);
            if (s->obj == 0)
                goto full;
            if (save_state(m, s->obj, created) != 0) {
                log_error("out of memory");
                return -1;
            }
            prepare_server(m, s, s->obj, created);
            registry_object(&m->reg, s->obj)->generation = g->id;
        }
    }
    return 0;
full:
    log_error("%s: the configuration has more proxies and servers than the %u this lb was "
              "started with room for: restart it to take more", g->cfg->file, m->reg.max_objects);
    return -1;
}

/* g failed to start: server states are as they were. */
static void gen_unregister(struct master *m)
{
    for (size_t i = m->nsaved; i-- > 0;) {
        struct saved_state *s = &m->saved[i];
        if (s->created)
            registry_release(&m->reg, s->obj);
        else
            reg_server_write(registry_object(&m->reg, s->obj), &s->st);
    }
    free(m->saved);
    m->saved = NULL;
    m->nsaved = 0;
}

/* ---- workers --------------------------------------------------------------- */

static struct master *master_of(const struct worker *w)
{
    return w->gen->m;
}

static void worker_forget(struct worker *w)
{
    struct master *m = master_of(w);
    ev_io_stop(m->loop, &w->ctl_watch);
    if (ev_is_active(&w->child_watch))
        ev_child_stop(m->loop, &w->child_watch);
    ev_timer_stop(m->loop, &w->restart);
    if (w->ctl >= 0)
        close(w->ctl);
    if (w->xfer >= 0)
        close(w->xfer);
    w->ctl = w->xfer = -1;
    if (w->block)
        registry_block_release(&m->reg, w->block);
    w->block = 0;
    w->pid = 0;
    w->ready = 0;
}

static void start_failed(struct master *m, const char *why);
static void commit(struct master *m);

static void worker_ready(struct master *m, struct worker *w)
{
    struct generation *g = w->gen;
    w->ready = 1;
    if (g->serving) {
        log_info("worker %u of generation %u restarted (pid %d)", w->slot, g->id, (int)w->pid);
        return;
    }
    for (unsigned s = 0; s < g->nworkers; s++)
        if (!g->workers[s].ready)
            return;
    g->serving = 1;
    ev_timer_stop(m->loop, &m->start_timer);
    if (g == m->next) {
        commit(m);
        return;
    }
    log_info("ready: %u worker%s serving generation %u", g->nworkers, g->nworkers > 1 ? "s" : "",
             g->id);
}

static void on_worker_ctl(struct ev_loop *loop, ev_io *w, int revents)
{
    struct worker *wk = w->data;
    struct master *m = master_of(wk);
    (void)loop;
    (void)revents;
    for (;;) {
        struct ctl_msg msg;
        int fds[CTL_MAX_FDS], nfds;
        ssize_t n = ctl_recv(wk->ctl, &msg, sizeof(msg), fds, CTL_MAX_FDS, &nfds);
        if (n < 0 && errno == EMSGSIZE)
            continue;
        if (n <= 0) {
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
                ev_io_stop(m->loop, &wk->ctl_watch); /* it is exiting: the child watcher tells */
            return;
        }
        for (int i = 0; i < nfds; i++)
            close(fds[i]);
        if ((size_t)n != sizeof(msg))
            continue;
        msg.text[sizeof(msg.text) - 1] = '\0';
        if (msg.type == CTL_READY) {
            worker_ready(m, wk);
        } else if (msg.type == CTL_CONNECT_FAILED && m->cur && m->cur->cfg) {
            for (struct proxy *be = m->cur->cfg->proxies; be; be = be->next)
                for (size_t i = 0; (be->caps & PROXY_BACKEND) && i < be->nservers; i++)
                    if (be->servers[i]->obj == msg.obj)
                        checks_report_failure(m->checks, be->servers[i], msg.text);
        }
    }
}

static void gen_remove_old(struct master *m, struct generation *g)
{
    for (struct generation **p = &m->old; *p; p = &(*p)->next) {
        if (*p == g) {
            *p = g->next;
            gen_free(g);
            return;
        }
    }
}

static void on_worker_exit(struct ev_loop *loop, ev_child *c, int revents)
{
    struct worker *w = c->data;
    struct master *m = master_of(w);
    struct generation *g = w->gen;
    int status = c->rstatus;
    (void)revents;
    char why[96];
    child_status_text(status, why, sizeof(why));
    int was_ready = w->ready, expected = w->stopping;
    pid_t pid = w->pid;
    worker_forget(w);
    publish_counts(m);

    if (m->stopping) {
        log_info("worker %u of generation %u (pid %d) %s", w->slot, g->id, (int)pid, why);
        if (workers_alive(m) == 0)
            ev_break(loop, EVBREAK_ALL);
        return;
    }
    if (g != m->cur && g != m->next) {
        log_info("old worker %u of generation %u (pid %d) %s", w->slot, g->id, (int)pid, why);
        if (running(g) == 0) {
            gen_remove_old(m, g);
            registry_sweep(m);
        }
        return;
    }
    if (expected)
        return;
    if (!g->serving) {
        char msg[160];
        snprintf(msg, sizeof(msg), "worker %u (pid %d) %s before it was ready", w->slot, (int)pid, why);
        start_failed(m, msg);
        return;
    }
    if (ev_now(loop) - w->started > STABLE_AFTER)
        w->backoff = BACKOFF_FIRST;
    log_warn("worker %u of generation %u (pid %d) %s%s; restarting in %.1fs", w->slot, g->id,
             (int)pid, why, was_ready ? "" : " while starting", w->backoff);
    ev_timer_set(&w->restart, w->backoff, 0);
    ev_timer_start(loop, &w->restart);
    w->backoff = w->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : w->backoff * 2;
}

static const char *level_name(enum log_level level)
{
    static const char *const names[] = { "debug", "info", "warn", "error" };
    return names[level];
}

/* Forks and execs `wscale lb --worker ...` with its descriptors. Returns
 * 0, or -1 (logged). */
static int worker_spawn(struct worker *w)
{
    struct generation *g = w->gen;
    struct master *m = g->m;
    int ctl[2] = { -1, -1 }, xfer[2] = { -1, -1 };
    w->block = registry_block_take(&m->reg, getpid(), g->id, w->slot);
    if (w->block == 0 || ctl_pair(ctl) != 0 || ctl_pair(xfer) != 0) {
        log_error("cannot start worker %u: %s", w->slot,
                  w->block == 0 ? "too many old workers still draining" : strerror(errno));
        goto fail;
    }
    char slot[16], gen[16], block[16], fds[64];
    char *listen = malloc((size_t)g->nlisteners * 12 + 1);
    char *stick = malloc((size_t)g->nstick * 12 + 1);
    int *keep = malloc(((size_t)g->nlisteners + g->nstick + 4) * sizeof(int));
    if (listen == NULL || stick == NULL || keep == NULL) {
        free(listen);
        free(stick);
        free(keep);
        log_error("cannot start worker %u: out of memory", w->slot);
        goto fail;
    }
    snprintf(slot, sizeof(slot), "%u", w->slot);
    snprintf(gen, sizeof(gen), "%u", g->id);
    snprintf(block, sizeof(block), "%u", w->block);
    snprintf(fds, sizeof(fds), "%d,%d,%d,%d", ctl[1], g->config_fd, m->reg.fd, xfer[1]);
    size_t nkeep = 0, off = 0;
    keep[nkeep++] = ctl[1];
    keep[nkeep++] = g->config_fd;
    keep[nkeep++] = m->reg.fd;
    keep[nkeep++] = xfer[1];
    listen[0] = '\0';
    for (unsigned i = 0; i < g->nlisteners; i++) {
        int fd = g->fds[i * g->nworkers + w->slot];
        keep[nkeep++] = fd;
        off += (size_t)sprintf(listen + off, "%s%d", i ? "," : "", fd);
    }
    stick[0] = '\0';
    off = 0;
    for (unsigned i = 0; i < g->nstick; i++) {
        keep[nkeep++] = g->stick_fds[i];
        off += (size_t)sprintf(stick + off, "%s%d", i ? "," : "", g->stick_fds[i]);
    }
    char *argv[] = { "wscale", "lb", "-f", (char *)m->path, "--log-level", (char *)level_name(m->level),
                     "--worker", slot, "--generation", gen, "--block", block, "--fds", fds,
                     "--listen-fds", listen, "--stick-fds", stick, NULL };
    pid_t pid = spawn_process("worker", "/proc/self/exe", argv, NULL, keep, nkeep);
    int saved = errno;
    free(listen);
    free(stick);
    free(keep);
    close(ctl[1]);
    close(xfer[1]);
    ctl[1] = xfer[1] = -1;
    if (pid < 0) {
        log_error("cannot start worker %u: %s", w->slot, strerror(saved));
        goto fail;
    }
    registry_block_set_pid(&m->reg, w->block, pid);
    w->pid = pid;
    w->ctl = ctl[0];
    w->xfer = xfer[0];
    w->ready = w->stopping = 0;
    w->started = ev_now(m->loop);
    ev_io_init(&w->ctl_watch, on_worker_ctl, w->ctl, EV_READ);
    w->ctl_watch.data = w;
    ev_io_start(m->loop, &w->ctl_watch);
    ev_child_init(&w->child_watch, on_worker_exit, pid, 0);
    w->child_watch.data = w;
    ev_child_start(m->loop, &w->child_watch);
    publish_counts(m);
    return 0;
fail:
    for (int i = 0; i < 2; i++) {
        if (ctl[i] >= 0)
            close(ctl[i]);
        if (xfer[i] >= 0)
            close(xfer[i]);
    }
    if (w->block)
        registry_block_release(&m->reg, w->block);
    w->block = 0;
    if (g->serving) { /* a restart: try again later */
        ev_timer_set(&w->restart, BACKOFF_MAX, 0);
        ev_timer_start(m->loop, &w->restart);
    }
    return -1;
}

static void on_worker_restart(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    worker_spawn(t->data);
}

static void gen_start_workers(struct generation *g)
{
    struct master *m = g->m;
    for (unsigned s = 0; s < g->nworkers; s++) {
        struct worker *w = &g->workers[s];
        ev_init(&w->restart, on_worker_restart);
        w->restart.data = w;
        if (worker_spawn(w) != 0) {
            start_failed(m, "a worker could not be started");
            return;
        }
    }
    ev_timer_set(&m->start_timer, START_TIMEOUT, 0);
    ev_timer_start(m->loop, &m->start_timer);
}

/* ---- reloads ---------------------------------------------------------------- */

/* The new generation could not start: the running one goes on (or, at
 * start-up, the lb exits). */
static void start_failed(struct master *m, const char *why)
{
    ev_timer_stop(m->loop, &m->start_timer);
    if (m->next) {
        /* Its workers stop (they serve nothing yet) and are reaped as old ones. */
        struct generation *g = m->next;
        m->next = NULL;
        log_error("reload failed: %s; generation %u goes on serving", why, m->cur->id);
        gen_signal(g, SIGINT);
        gen_close_sockets(g);
        gen_unregister(m);
        stats_sockets_prune(m->stats, m->cur->cfg);
        lb_config_free(g->cfg);
        g->cfg = NULL;
        if (running(g) == 0) {
            gen_free(g);
        } else {
            g->next = m->old;
            m->old = g;
        }
        publish_counts(m);
        if (m->reload_pending) {
            m->reload_pending = 0;
            reload(m);
        }
        return;
    }
    log_error("cannot start: %s", why);
    m->failed = 1;
    m->stopping = 1;
    gen_signal(m->cur, SIGINT);
    if (workers_alive(m) == 0)
        ev_break(m->loop, EVBREAK_ALL);
}

static void on_start_timeout(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    start_failed(t->data, "the new workers were not ready in time");
}

/* The new generation is ready: it takes over. */
static void commit(struct master *m)
{
    struct generation *prev = m->cur, *g = m->next;
    m->cur = g;
    m->next = NULL;
    free(m->saved);
    m->saved = NULL;
    m->nsaved = 0;
    unsigned streams = 0;
    gen_spread(g);
    for (unsigned s = 0; s < prev->nworkers; s++) {
        struct worker *w = &prev->workers[s];
        if (w->pid <= 0)
            continue;
        struct ctl_msg msg = { .type = CTL_SOFT_STOP, .generation = g->id };
        int xfer = g->workers[s % g->nworkers].xfer;
        w->stopping = 1;
        ev_timer_stop(m->loop, &w->restart);
        if (ctl_send(w->ctl, &msg, sizeof(msg), &xfer, xfer >= 0 ? 1 : 0) != 0) {
            log_warn("worker %u of generation %u (pid %d) cannot be told to stop: %s; sending "
                     "SIGTERM", s, prev->id, (int)w->pid, strerror(errno));
            kill(w->pid, SIGTERM);
        }
    }
    gen_close_sockets(prev);
    for (struct proxy *px = prev->cfg->proxies; px; px = px->next)
        if (px->caps & PROXY_FRONTEND) {
            struct stats_counters c;
            registry_sum(&m->reg, px->fe_obj, &c);
            streams += (unsigned)c.cur;
        }
    checks_stop(m->checks);
    m->checks = checks_start(m->loop, g->cfg, &m->reg, state_changed, m);
    if (m->checks == NULL)
        log_error("out of memory: health checks are off");
    backends_update(m, g->cfg);
    stats_sockets_prune(m->stats, g->cfg);
    stats_sockets_set_config(m->stats, g->cfg);
    lb_config_free(prev->cfg);
    prev->cfg = NULL;
    prev->next = m->old;
    m->old = prev;
    m->reg.head->generation = g->id;
    m->reg.head->reloads++;
    publish_counts(m);
    if (running(prev) == 0) {
        gen_remove_old(m, prev);
        registry_sweep(m);
    }
    log_info("reloaded: generation %u serving with %u worker%s; generation %u hands over or "
             "drains %u connections", g->id, g->nworkers, g->nworkers > 1 ? "s" : "", prev->id,
             streams);
    poke_workers(m);
    if (m->reload_pending) {
        m->reload_pending = 0;
        reload(m);
    }
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strbuf_append(&sb, chunk, n);
    int failed = ferror(f) || sb.failed;
    fclose(f);
    if (failed) {
        strbuf_free(&sb);
        errno = EIO;
        return NULL;
    }
    *len = sb.len;
    return sb.data ? sb.data : strdup("");
}

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

/* Logs each line of a report. */
static void log_lines(enum log_level level, const char *prefix, const char *text)
{
    while (text && *text) {
        const char *nl = strchr(text, '\n');
        int n = nl ? (int)(nl - text) : (int)strlen(text);
        log_msg(level, "%s%.*s", prefix, n, text);
        text += n + (nl ? 1 : 0);
    }
}

/* Prepares a generation for cfg (bound, registered), then starts its
 * workers. The first one becomes m->cur, later ones m->next. */
static int gen_launch(struct master *m, struct lb_config *cfg, const char *text, size_t len)
{
    struct generation *g = gen_new(m, cfg, text, len);
    if (g == NULL) {
        log_error("out of memory");
        lb_config_free(cfg);
        return -1;
    }
    g->id = m->cur ? m->cur->id + 1 : 1;
    while (m->old && g->id <= m->old->id)
        g->id++;
    char why[300] = "";
    if (gen_register(m, g) != 0 || gen_open_sockets(g, m->cur) != 0 ||
        gen_open_stick_tables(g, m->cur) != 0 ||
        stats_sockets_open(m->stats, cfg, why, sizeof(why)) != 0) {
        if (why[0])
            log_error("%s", why);
        gen_unregister(m);
        if (m->cur)
            stats_sockets_prune(m->stats, m->cur->cfg);
        gen_free(g);
        return -1;
    }
    if (m->cur == NULL) {
        m->cur = g;
        gen_spread(g);
    } else {
        m->next = g;
    }
    gen_start_workers(g);
    return 0;
}

static void reload(struct master *m)
{
    if (m->stopping)
        return;
    if (m->next) {
        m->reload_pending = 1; /* after the one in progress */
        return;
    }
    size_t len = 0;
    char *text = read_file(m->path, &len);
    if (text == NULL) {
        log_error("reload refused: %s: cannot read: %s; generation %u goes on serving", m->path,
                  strerror(errno), m->cur->id);
        return;
    }
    struct strbuf errors = STRBUF_INIT, warnings = STRBUF_INIT;
    struct lb_config *cfg = lb_config_parse(m->path, text, len, env_lookup, &errors, &warnings);
    log_lines(LOG_WARN, "", warnings.data);
    if (cfg == NULL) {
        log_lines(LOG_ERROR, "reload refused: ", errors.data);
        log_error("reload refused: %s is not valid; generation %u goes on serving", m->path,
                  m->cur->id);
    } else {
        log_info("reloading %s: starting generation %u", m->path, m->cur->id + 1);
        if (gen_launch(m, cfg, text, len) != 0)
            log_error("reload refused; generation %u goes on serving", m->cur->id);
    }
    strbuf_free(&errors);
    strbuf_free(&warnings);
    free(text);
}

/* ---- signals, timers -------------------------------------------------------- */

static void on_kill_timer(struct ev_loop *loop, ev_timer *t, int revents)
{
    struct master *m = t->data;
    (void)loop;
    (void)revents;
    log_warn("%u workers outlived their drain: killing them", workers_alive(m));
    gen_signal(m->cur, SIGKILL);
    gen_signal(m->next, SIGKILL);
    for (struct generation *g = m->old; g; g = g->next)
        gen_signal(g, SIGKILL);
}

static void stop_all(struct master *m, int sig)
{
    gen_signal(m->cur, sig);
    gen_signal(m->next, sig);
    for (struct generation *g = m->old; g; g = g->next)
        gen_signal(g, sig);
}

static void on_signal(struct ev_loop *loop, ev_signal *w, int revents)
{
    struct master *m = w->data;
    (void)revents;
    if (w->signum == SIGHUP || w->signum == SIGUSR2) {
        log_info("%s: reloading %s", w->signum == SIGHUP ? "SIGHUP" : "SIGUSR2", m->path);
        reload(m);
        return;
    }
    if (w->signum == SIGINT || m->stopping) {
        log_info("%s: stopping %u workers now", w->signum == SIGINT ? "SIGINT" : "SIGTERM",
                 workers_alive(m));
        m->stopping = 1;
        stop_all(m, SIGINT);
    } else {
        uint32_t bound = m->cur->cfg->hard_stop_after ? m->cur->cfg->hard_stop_after
                                                      : LB_DEFAULT_DRAIN_MS;
        log_info("SIGTERM: %u workers drain, for at most %.1fs", workers_alive(m), bound / 1000.0);
        m->stopping = 1;
        m->reg.head->stopping = 1;
        ev_timer_stop(loop, &m->start_timer);
        stop_all(m, SIGTERM);
        gen_signal(m->next, SIGINT); /* not serving yet: nothing to drain */
        ev_timer_set(&m->kill_timer, bound / 1000.0 + KILL_GRACE, 0);
        ev_timer_start(loop, &m->kill_timer);
    }
    gen_close_sockets(m->cur);
    if (workers_alive(m) == 0)
        ev_break(loop, EVBREAK_ALL);
}

static void rotate_keys(struct master *m, int initial)
{
    struct tls_ticket_key keys[2];
    registry_keys_read(&m->reg, keys);
    keys[1] = keys[0];
    if (tls_ticket_key_new(&keys[0]) != 0 || (initial && tls_ticket_key_new(&keys[1]) != 0)) {
        log_warn("cannot generate TLS ticket keys: the current ones stay");
        return;
    }
    registry_keys_write(&m->reg, keys);
}

static void on_key_rotation(struct ev_loop *loop, ev_timer *t, int revents)
{
    (void)loop;
    (void)revents;
    rotate_keys(t->data, 0);
}

/* ---- the runtime API's actions ------------------------------------------- */

static struct server *find_server(struct master *m, const char *backend, const char *server)
{
    struct proxy *be = m->cur ? lb_config_find(m->cur->cfg, backend, PROXY_BACKEND) : NULL;
    for (size_t i = 0; be && i < be->nservers; i++)
        if (strcmp(be->servers[i]->name, server) == 0)
            return be->servers[i];
    return NULL;
}

static int api_snapshot(void *ctx, struct stats_snapshot *st)
{
    struct master *m = ctx;
    return stats_snapshot_build(st, m->cur->cfg, &m->reg);
}

static void api_snapshot_free(void *ctx, struct stats_snapshot *st)
{
    (void)ctx;
    stats_snapshot_free(st);
}

static const char *api_set_admin(void *ctx, const char *backend, const char *server,
                                 enum srv_admin state)
{
    struct master *m = ctx;
    struct server *s = find_server(m, backend, server);
    if (s == NULL)
        return "No such server.\n";
    struct reg_object *o = registry_object(&m->reg, s->obj);
    struct reg_server st;
    reg_server_read(o, &st);
    if (st.admin != state) {
        static const char *const names[] = { "READY", "DRAIN", "MAINT" };
        log_info("server %s/%s is %s (runtime API)", backend, server, names[state]);
        st.admin = (uint8_t)state;
        st.last_change_ms = check_wall_ms();
        reg_server_write(o, &st);
        state_changed(m);
    }
    return NULL;
}

static const char *api_set_weight(void *ctx, const char *backend, const char *server,
                                  unsigned weight)
{
    struct master *m = ctx;
    struct server *s = find_server(m, backend, server);
    if (s == NULL)
        return "No such server.\n";
    struct reg_object *o = registry_object(&m->reg, s->obj);
    struct reg_server st;
    reg_server_read(o, &st);
    if (st.weight != weight) {
        log_info("server %s/%s weight %u (runtime API, was %u)", backend, server, weight, st.weight);
        st.weight = weight;
        reg_server_write(o, &st);
        poke_workers(m);
    }
    return NULL;
}

static const char *api_shutdown_sessions(void *ctx, const char *backend, const char *server)
{
    struct master *m = ctx;
    struct server *s = find_server(m, backend, server);
    if (s == NULL)
        return "No such server.\n";
    struct reg_object *o = registry_object(&m->reg, s->obj);
    struct reg_server st;
    reg_server_read(o, &st);
    st.kill_epoch++;
    reg_server_write(o, &st);
    log_info("server %s/%s: shutting down its sessions (runtime API)", backend, server);
    poke_workers(m);
    return NULL;
}

/* ---- the master's life -------------------------------------------------------- */

static uint32_t registry_room(const struct lb_config *cfg)
{
    uint32_t n = 0;
    for (const struct proxy *px = cfg->proxies; px; px = px->next)
        n += 2 + (uint32_t)px->nservers;
    n *= 4; /* reloads may add proxies and servers */
    return n < 256 ? 256 : n;
}

static void master_free(struct master *m)
{
    checks_stop(m->checks);
    stats_sockets_free(m->stats);
    struct generation *gens[2] = { m->cur, m->next };
    for (int k = 0; k < 2; k++)
        if (gens[k]) {
            for (unsigned s = 0; s < gens[k]->nworkers; s++)
                worker_forget(&gens[k]->workers[s]);
            gen_free(gens[k]);
        }
    while (m->old) {
        struct generation *g = m->old;
        m->old = g->next;
        for (unsigned s = 0; s < g->nworkers; s++)
            worker_forget(&g->workers[s]);
        gen_free(g);
    }
    free(m->saved);
    ev_signal_stop(m->loop, &m->sigterm);
    ev_signal_stop(m->loop, &m->sigint);
    ev_signal_stop(m->loop, &m->sighup);
    ev_signal_stop(m->loop, &m->sigusr2);
    ev_timer_stop(m->loop, &m->start_timer);
    ev_timer_stop(m->loop, &m->kill_timer);
    ev_timer_stop(m->loop, &m->key_rotation);
    registry_detach(&m->reg);
    ev_loop_destroy(m->loop);
}

int master_main(const char *path, struct lb_config *cfg, const char *text, size_t len,
                enum log_level level)
{
    struct master m;
    memset(&m, 0, sizeof(m));
    m.path = path;
    m.level = level;
    m.loop = ev_default_loop(EVFLAG_AUTO);
    if (m.loop == NULL) {
        log_error("cannot create the event loop");
        lb_config_free(cfg);
        return 1;
    }
    signal(SIGPIPE, SIG_IGN);
    net_raise_nofile();
    if (registry_create(&m.reg, registry_room(cfg)) != 0) {
        log_error("cannot create the shared memory: %s", strerror(errno));
        lb_config_free(cfg);
        ev_loop_destroy(m.loop);
        return 1;
    }
    m.reg.head->start_ms = check_wall_ms();
    rotate_keys(&m, 1);
    m.ops = (struct api_ops){ &m, api_snapshot, api_snapshot_free, api_set_admin, api_set_weight,
                              api_shutdown_sessions };
    m.stats = stats_sockets_new(m.loop, &m.ops);
    if (m.stats == NULL) {
        log_error("out of memory");
        lb_config_free(cfg);
        master_free(&m);
        return 1;
    }

    ev_signal_init(&m.sigterm, on_signal, SIGTERM);
    ev_signal_init(&m.sigint, on_signal, SIGINT);
    ev_signal_init(&m.sighup, on_signal, SIGHUP);
    ev_signal_init(&m.sigusr2, on_signal, SIGUSR2);
    ev_signal *sigs[] = { &m.sigterm, &m.sigint, &m.sighup, &m.sigusr2 };
    for (int i = 0; i < 4; i++) {
        sigs[i]->data = &m;
        ev_signal_start(m.loop, sigs[i]);
    }
    ev_init(&m.start_timer, on_start_timeout);
    m.start_timer.data = &m;
    ev_init(&m.kill_timer, on_kill_timer);
    m.kill_timer.data = &m;
    ev_timer_init(&m.key_rotation, on_key_rotation, TICKET_ROTATION, TICKET_ROTATION);
    m.key_rotation.data = &m;
    ev_timer_start(m.loop, &m.key_rotation);

    log_info("wscale " WSCALE_VERSION " lb starting with %s: %u worker%s", path, cfg->workers,
             cfg->workers > 1 ? "s" : "");
    if (gen_launch(&m, cfg, text, len) != 0) {
        master_free(&m);
        return 1;
    }
    m.reg.head->generation = m.cur->id;
    stats_sockets_set_config(m.stats, m.cur->cfg);
    if (!m.failed) {
        m.checks = checks_start(m.loop, m.cur->cfg, &m.reg, state_changed, &m);
        if (m.checks == NULL)
            log_error("out of memory: health checks are off");
    }
    if (workers_alive(&m) > 0)
        ev_run(m.loop, 0);
    int status = m.failed ? 1 : 0;
    master_free(&m);
    log_info(status ? "stopped after a failed start" : "stopped");
    return status;
}
