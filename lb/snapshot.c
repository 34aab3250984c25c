/* snapshot.c — see snapshot.h. */
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../shared/net.h"
#include "../shared/version.h"
#include "check.h"

/* The text a row points to, allocated with the rows. */
struct row_text {
    char status[24];
    char addr[NET_ADDR_STRLEN];
    char check_status[8];
    char check_desc[96];
};

static size_t count_rows(const struct lb_config *cfg)
{
    size_t n = 0;
    for (const struct proxy *px = cfg->proxies; px; px = px->next) {
        if (px->caps & PROXY_FRONTEND)
            n++;
        if (px->caps & PROXY_BACKEND)
            n += 1 + px->nservers;
    }
    return n;
}

static const char *algo_name(const struct proxy *be)
{
    static const char *const names[] = { "roundrobin", "leastconn", "random", "source", "uri",
                                         "url_param", "hdr" };
    return names[be->balance];
}

static void fill_server(struct stats_row *r, struct row_text *t, const struct server *s,
                        const struct registry *reg, int64_t now)
{
    struct reg_server st;
    reg_server_read(registry_object(reg, s->obj), &st);
    net_addr_format((const struct sockaddr *)&s->addr.ss, t->addr, sizeof(t->addr));
    snprintf(t->check_status, sizeof(t->check_status), "%s", st.check_status);
    snprintf(t->check_desc, sizeof(t->check_desc), "%s", st.check_desc);
    r->addr = t->addr;
    r->host = s->host;
    r->port = s->port;
    r->cfg_disabled = s->disabled;
    r->ssl = s->ssl;
    r->admin = (enum srv_admin)st.admin;
    r->has_check = st.has_check;
    r->check_up = st.check_up;
    r->health = st.health;
    r->rise = s->rise;
    r->fall = s->fall;
    r->weight = st.weight;
    r->iweight = s->iweight;
    r->act = !s->backup;
    r->bck = s->backup;
    r->slim = s->maxconn;
    r->check_status = t->check_status;
    r->check_code = st.check_code;
    r->check_duration_ms = st.check_duration_ms;
    r->check_desc = t->check_desc;
    r->chkfail = st.chkfail;
    r->chkdown = st.chkdown;
    r->lastchg_s = (now - st.last_change_ms) / 1000;
    r->downtime_s = (st.downtime_ms + (st.check_up ? 0 : (uint64_t)(now - st.last_change_ms))) / 1000;
    registry_sum(reg, s->obj, &r->c);
    stats_server_status(r, t->status, sizeof(t->status));
    r->status = t->status;
}

/* A backend's state, as HAProxy's: its servers usable for balancing (UP,
 * ready, with a weight: a draining one is not) are counted, and it is UP
 * while it has one, or when it has no server at all (a stats-only section
 * is not DOWN). Its changes are kept by the master in the registry like a
 * server's. */
static void fill_backend(struct stats_row *b, const struct proxy *px, const struct stats_row *servers,
                         const struct registry *reg, int64_t now)
{
    for (size_t i = 0; i < px->nservers; i++) {
        const struct stats_row *r = &servers[i];
        if (!r->check_up || r->admin != SRV_ADMIN_READY || r->weight == 0)
            continue;
        b->act += r->act;
        b->bck += r->bck;
        if (r->act)
            b->weight += r->weight;
    }
    struct reg_server st;
    reg_server_read(registry_object(reg, px->be_obj), &st);
    b->status = b->act + b->bck > 0 || px->nservers == 0 ? "UP" : "DOWN";
    b->algo = algo_name(px);
    b->chkdown = st.chkdown;
    b->lastchg_s = (now - st.last_change_ms) / 1000;
    b->downtime_s = (st.downtime_ms + (st.check_up ? 0 : (uint64_t)(now - st.last_change_ms))) / 1000;
    registry_sum(reg, px->be_obj, &b->c);
}

static unsigned per_worker_maxconn(const struct lb_config *cfg)
{
    if (cfg->maxconn)
        return cfg->maxconn;
    struct rlimit rl;
    long nofile = getrlimit(RLIMIT_NOFILE, &rl) == 0 ? (long)rl.rlim_cur : 1024;
    return nofile > 100 ? (unsigned)((nofile - 50) / 2) : 1;
}

static void fill_info(struct stats_info *info, const struct lb_config *cfg, const struct registry *reg,
                      int64_t now)
{
    static char node[256];
    if (node[0] == '\0' && gethostname(node, sizeof(node) - 1) != 0)
        snprintf(node, sizeof(node), "-");
    const struct reg_header *h = reg->head;
    info->version = WSCALE_VERSION;
    info->node = node;
    info->pid = h->master_pid;
    info->uptime_s = (uint64_t)(now - h->start_ms) / 1000;
    info->workers = h->workers;
    info->old_workers = h->old_workers;
    info->reloads = h->reloads;
    info->maxconn = per_worker_maxconn(cfg);
    info->stopping = (int)h->stopping;
}

int stats_snapshot_build(struct stats_snapshot *st, const struct lb_config *cfg,
                         const struct registry *reg)
{
    memset(st, 0, sizeof(*st));
    size_t n = count_rows(cfg);
    st->rows = calloc(n ? n : 1, sizeof(struct stats_row) + sizeof(struct row_text));
    if (st->rows == NULL)
        return -1;
    struct row_text *texts = (struct row_text *)(void *)(st->rows + (n ? n : 1));
    int64_t now = check_wall_ms();
    fill_info(&st->info, cfg, reg, now);
    unsigned iid = 0;
    for (const struct proxy *px = cfg->proxies; px; px = px->next) {
        iid++;
        if (px->caps & PROXY_FRONTEND) {
            struct stats_row *r = &st->rows[st->nrows++];
            r->type = STATS_FRONTEND;
            r->pxname = px->name;
            r->svname = "FRONTEND";
            r->iid = iid;
            r->status = st->info.stopping ? "STOP" : "OPEN";
            r->slim = px->maxconn ? px->maxconn : st->info.maxconn;
            r->check_duration_ms = -1;
            registry_sum(reg, px->fe_obj, &r->c);
            st->info.cur_conns += r->c.cur;
            st->info.cum_conns += r->c.tot;
            st->info.cur_tunnels += r->c.tunnels_cur;
            st->info.cum_tunnels += r->c.tunnels_tot;
        }
        if (!(px->caps & PROXY_BACKEND))
            continue;
        struct stats_row *first = &st->rows[st->nrows];
        for (size_t i = 0; i < px->nservers; i++) {
            struct stats_row *r = &st->rows[st->nrows];
            r->type = STATS_SERVER;
            r->pxname = px->name;
            r->svname = px->servers[i]->name;
            r->iid = iid;
            r->sid = (unsigned)i + 1;
            fill_server(r, &texts[st->nrows], px->servers[i], reg, now);
            st->nrows++;
        }
        struct stats_row *b = &st->rows[st->nrows++];
        b->type = STATS_BACKEND;
        b->pxname = px->name;
        b->svname = "BACKEND";
        b->iid = iid;
        b->check_duration_ms = -1;
        fill_backend(b, px, first, reg, now);
    }
    return 0;
}

void stats_snapshot_free(struct stats_snapshot *st)
{
    free(st->rows);
    st->rows = NULL;
    st->nrows = 0;
}
