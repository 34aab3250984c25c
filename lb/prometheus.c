/* prometheus.c — stats_render_prometheus (see stats.h): the text exposition
 * format 0.0.4, with the metric names, labels and state sets of HAProxy's
 * exporter (addons/promex) under the prefix "wscale_" instead of
 * "haproxy_". Every family has its "# HELP" and "# TYPE" lines once,
 * followed by all its samples. A sample wscale has no value for is left
 * out (HAProxy's exporter writes NaN there). */
#include "stats.h"

#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static void put(struct strbuf *out, const char *s)
{
    strbuf_append(out, s, strlen(s));
}

static void family(struct strbuf *out, const char *name, const char *help, int counter)
{
    strbuf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                  counter ? "counter" : "gauge");
}

/* A label value, escaped as the exposition format wants. */
static void label_value(struct strbuf *out, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\\' || *p == '"')
            strbuf_append(out, "\\", 1);
        if (*p == '\n')
            put(out, "\\n");
        else
            strbuf_append(out, p, 1);
    }
}

/* "name{proxy="..",server="..",extra="..."} " — extra is an already made
 * label pair or NULL. */
static void sample_start(struct strbuf *out, const char *name, const struct stats_row *r,
                         const char *extra_name, const char *extra_value)
{
    put(out, name);
    put(out, "{proxy=\"");
    label_value(out, r->pxname);
    if (r->type == STATS_SERVER) {
        put(out, "\",server=\"");
        label_value(out, r->svname);
    }
    put(out, "\"");
    if (extra_name) {
        strbuf_printf(out, ",%s=\"", extra_name);
        label_value(out, extra_value);
        put(out, "\"");
    }
    put(out, "} ");
}

/* ---- process ---- */

static void process_metric(struct strbuf *out, const char *name, const char *help, int counter,
                           uint64_t value)
{
    family(out, name, help, counter);
    strbuf_printf(out, "%s %" PRIu64 "\n", name, value);
}

static void render_process(const struct stats_snapshot *st, struct strbuf *out)
{
    const struct stats_info *i = &st->info;
    uint64_t requests = 0;
    for (size_t k = 0; k < st->nrows; k++)
        if (st->rows[k].type == STATS_FRONTEND)
            requests += st->rows[k].c.req_tot;
    process_metric(out, "wscale_process_uptime_seconds", "How long ago the lb was started.",
                   0, i->uptime_s);
    process_metric(out, "wscale_process_max_connections",
                   "Connections the current workers accept at once (maxconn per worker).", 0,
                   (uint64_t)i->maxconn * i->workers);
    process_metric(out, "wscale_process_current_connections",
                   "Client connections open on all workers.", 0, i->cur_conns);
    process_metric(out, "wscale_process_connections_total",
                   "Client connections accepted since the lb started.", 1, i->cum_conns);
    process_metric(out, "wscale_process_requests_total",
                   "HTTP requests received since the lb started.", 1, requests);
    if (i->node) {
        family(out, "wscale_process_node", "Node name.", 0);
        put(out, "wscale_process_node{node=\"");
        label_value(out, i->node);
        put(out, "\"} 1\n");
    }
    process_metric(out, "wscale_process_stopping", "1 while the lb is stopping (draining).", 0,
                   i->stopping ? 1 : 0);
    if (i->version) {
        family(out, "wscale_process_build_info", "Build info.", 0);
        put(out, "wscale_process_build_info{version=\"");
        label_value(out, i->version);
        put(out, "\"} 1\n");
    }
    process_metric(out, "wscale_process_workers",
                   "Worker processes serving the current configuration.", 0, i->workers);
    process_metric(out, "wscale_process_old_workers",
                   "Worker processes of older configurations, still draining.", 0,
                   i->old_workers);
    process_metric(out, "wscale_process_reloads_total", "Configuration reloads.", 1,
                   i->reloads);
    process_metric(out, "wscale_process_current_tunnels", "WebSocket tunnels open.", 0,
                   i->cur_tunnels);
    process_metric(out, "wscale_process_tunnels_total",
                   "WebSocket tunnels established since the lb started.", 1, i->cum_tunnels);
}

/* ---- frontends, backends, servers ---- */

/* What a simple (one sample per row) metric reports. */
enum value {
    V_QCUR, V_CUR, V_SLIM, V_TOT, V_BIN, V_BOUT, V_EREQ, V_ECON, V_ERESP, V_WRETR, V_WREDIS,
    V_WEIGHT, V_ACT, V_BCK, V_CHKFAIL, V_CHKDOWN, V_LASTCHG, V_DOWNTIME, V_LBTOT,
    V_CHECK_CODE, V_CHECK_DURATION, V_REQ_TOT, V_CLI_ABRT, V_SRV_ABRT, V_TUNNELS_CUR,
    V_TUNNELS_TOT,
    /* state sets and labelled families */
    V_STATUS, V_CHECK_STATUS, V_HTTP_RESPONSES, V_AGG_SERVER_STATUS, V_AGG_CHECK_STATUS,
};

struct metric {
    const char *suffix;   /* after "wscale_<scope>_" */
    enum value value;
    int counter;
    const char *help;
};

/* HAProxy's check is running: configured, and not paused by maintenance. */
static int check_running(const struct stats_row *r)
{
    return r->type == STATS_SERVER && r->has_check && r->admin != SRV_ADMIN_MAINT;
}

static int checked(const struct stats_row *r)
{
    const struct stats_check_status *c = stats_check_status_find(r->check_status);
    return c && c->code > 1; /* neither unknown nor "INI" */
}

/* A simple metric's value as text, into buf; returns 0 if the row has none. */
static int simple_value(const struct stats_row *r, enum value v, char *buf, size_t size)
{
    const struct stats_counters *c = &r->c;
    int srv = r->type == STATS_SERVER;
    uint64_t n;
    switch (v) {
    case V_QCUR: n = c->qcur; break;
    case V_CUR: n = c->cur; break;
    case V_SLIM:
        if (srv && r->slim == 0)
            return 0;
        n = r->slim;
        break;
    case V_TOT: n = c->tot; break;
    case V_BIN: n = c->bytes_in; break;
    case V_BOUT: n = c->bytes_out; break;
    case V_EREQ: n = c->ereq; break;
    case V_ECON: n = c->econ; break;
    case V_ERESP: n = c->eresp; break;
    case V_WRETR: n = c->wretr; break;
    case V_WREDIS: n = c->wredis; break;
    case V_WEIGHT: n = r->weight; break;
    case V_ACT: n = r->act; break;
    case V_BCK: n = r->bck; break;
    case V_CHKFAIL:
    case V_CHKDOWN:
    case V_DOWNTIME:
        if (srv && !r->has_check)
            return 0;
        n = v == V_CHKFAIL ? r->chkfail : v == V_CHKDOWN ? r->chkdown : r->downtime_s;
        break;
    case V_LASTCHG:
        snprintf(buf, size, "%" PRId64, r->lastchg_s);
        return 1;
    case V_LBTOT: n = c->lbtot; break;
    case V_CHECK_CODE:
        if (!check_running(r))
            return 0;
        n = r->check_code > 0 ? (uint64_t)r->check_code : 0;
        break;
    case V_CHECK_DURATION:
        if (!check_running(r) || !checked(r) || r->check_duration_ms < 0)
            return 0;
        snprintf(buf, size, "%.3f", r->check_duration_ms / 1000.0);
        return 1;
    case V_REQ_TOT: n = c->req_tot; break;
    case V_CLI_ABRT: n = c->cli_abrt; break;
    case V_SRV_ABRT: n = c->srv_abrt; break;
    case V_TUNNELS_CUR: n = c->tunnels_cur; break;
    case V_TUNNELS_TOT: n = c->tunnels_tot; break;
    default: return 0;
    }
    snprintf(buf, size, "%" PRIu64, n);
    return 1;
}

static const char *const server_states[] = { "DOWN", "UP", "MAINT", "DRAIN", "NOLB" };

/* HAProxy's exporter state of a server: an index in server_states. */
static int server_state(const struct stats_row *r)
{
    if (r->admin == SRV_ADMIN_MAINT)
        return 2;
    if (r->has_check && !r->check_up)
        return 0;
    return r->admin == SRV_ADMIN_DRAIN ? 3 : 1;
}

/* One sample per state of a set, 1 for the row's state. */
static void state_set(struct strbuf *out, const char *name, const struct stats_row *r,
                      const char *const *states, size_t n, size_t current)
{
    for (size_t k = 0; k < n; k++) {
        sample_start(out, name, r, "state", states[k]);
        put(out, k == current ? "1\n" : "0\n");
    }
}

static void status_samples(struct strbuf *out, const char *name, const struct stats_row *r)
{
    static const char *const up_down[] = { "DOWN", "UP" };
    if (r->type == STATS_SERVER) {
        state_set(out, name, r, server_states, 5, (size_t)server_state(r));
        return;
    }
    const char *up = r->type == STATS_FRONTEND ? "OPEN" : "UP";
    state_set(out, name, r, up_down, 2, r->status && strcmp(r->status, up) == 0);
}

static void check_status_samples(struct strbuf *out, const char *name, const struct stats_row *r)
{
    if (!check_running(r))
        return;
    for (const struct stats_check_status *c = stats_check_results; c->name; c++) {
        sample_start(out, name, r, "state", c->name);
        put(out, r->check_status && strcmp(r->check_status, c->name) == 0 ? "1\n" : "0\n");
    }
}

static void http_response_samples(struct strbuf *out, const char *name, const struct stats_row *r)
{
    static const char *const codes[] = { "1xx", "2xx", "3xx", "4xx", "5xx", "other" };
    for (size_t k = 0; k < 6; k++) {
        sample_start(out, name, r, "code", codes[k]);
        strbuf_printf(out, "%" PRIu64 "\n", r->c.hrsp[k]);
    }
}

/* A backend's servers: how many are in each state, or report each check status. */
static void aggregate_samples(struct strbuf *out, const char *name, const struct stats_snapshot *st,
                              const struct stats_row *be, int by_check)
{
    uint64_t count[32] = { 0 };
    for (size_t i = 0; i < st->nrows; i++) {
        const struct stats_row *r = &st->rows[i];
        if (r->type != STATS_SERVER || strcmp(r->pxname, be->pxname) != 0)
            continue;
        if (!by_check) {
            count[server_state(r)]++;
            continue;
        }
        for (size_t k = 0; check_running(r) && stats_check_results[k].name; k++)
            if (r->check_status && strcmp(r->check_status, stats_check_results[k].name) == 0)
                count[k]++;
    }
    for (size_t k = 0; by_check ? stats_check_results[k].name != NULL : k < 5; k++) {
        sample_start(out, name, be, "state",
                     by_check ? stats_check_results[k].name : server_states[k]);
        strbuf_printf(out, "%" PRIu64 "\n", count[k]);
    }
}

static const struct metric frontend_metrics[] = {
    { "current_sessions", V_CUR, 0, "Current client connections." },
    { "limit_sessions", V_SLIM, 0, "Configured limit of client connections (maxconn)." },
    { "sessions_total", V_TOT, 1, "Client connections accepted." },
    { "bytes_in_total", V_BIN, 1, "Bytes received from clients." },
    { "bytes_out_total", V_BOUT, 1, "Bytes sent to clients." },
    { "request_errors_total", V_EREQ, 1, "Invalid or incomplete requests." },
    { "status", V_STATUS, 0, "Current status of the service, per state label value." },
    { "http_responses_total", V_HTTP_RESPONSES, 1, "HTTP responses, per status class." },
    { "http_requests_total", V_REQ_TOT, 1, "HTTP requests received." },
    { "connections_total", V_TOT, 1, "Client connections accepted." },
    { "current_tunnels", V_TUNNELS_CUR, 0, "WebSocket tunnels open." },
    { "tunnels_total", V_TUNNELS_TOT, 1, "WebSocket tunnels established." },
};

static const struct metric backend_metrics[] = {
    { "current_queue", V_QCUR, 0, "Streams waiting for a server slot." },
    { "current_sessions", V_CUR, 0, "Current streams assigned to the backend." },
    { "sessions_total", V_TOT, 1, "Streams assigned to the backend." },
    { "bytes_in_total", V_BIN, 1, "Bytes received from clients." },
    { "bytes_out_total", V_BOUT, 1, "Bytes sent to clients." },
    { "connection_errors_total", V_ECON, 1, "Failed connection attempts to servers." },
    { "response_errors_total", V_ERESP, 1, "Invalid or aborted responses." },
    { "retry_warnings_total", V_WRETR, 1, "Connection retries." },
    { "redispatch_warnings_total", V_WREDIS, 1, "Redispatches to another server." },
    { "status", V_STATUS, 0, "Current status of the service, per state label value." },
    { "weight", V_WEIGHT, 0, "Sum of the weights of the usable servers." },
    { "active_servers", V_ACT, 0, "Usable active servers." },
    { "backup_servers", V_BCK, 0, "Usable backup servers." },
    { "check_up_down_total", V_CHKDOWN, 1, "Times the backend went DOWN." },
    { "check_last_change_seconds", V_LASTCHG, 0, "Seconds since the last state change." },
    { "downtime_seconds_total", V_DOWNTIME, 1, "Total time the backend was DOWN." },
    { "loadbalanced_total", V_LBTOT, 1, "Times a server was chosen." },
    { "http_responses_total", V_HTTP_RESPONSES, 1, "HTTP responses, per status class." },
    { "http_requests_total", V_REQ_TOT, 1, "HTTP requests forwarded." },
    { "client_aborts_total", V_CLI_ABRT, 1, "Transfers aborted by the client." },
    { "server_aborts_total", V_SRV_ABRT, 1, "Transfers aborted by the server." },
    { "uweight", V_WEIGHT, 0, "Sum of the user weights of the usable servers." },
    { "agg_server_status", V_AGG_SERVER_STATUS, 0, "Servers in each state." },
    { "agg_check_status", V_AGG_CHECK_STATUS, 0, "Servers whose last check reported each status." },
    { "current_tunnels", V_TUNNELS_CUR, 0, "WebSocket tunnels open." },
    { "tunnels_total", V_TUNNELS_TOT, 1, "WebSocket tunnels established." },
};

static const struct metric server_metrics[] = {
    { "current_sessions", V_CUR, 0, "Current streams on the server." },
    { "limit_sessions", V_SLIM, 0, "Configured limit of streams (maxconn)." },
    { "sessions_total", V_TOT, 1, "Streams sent to the server." },
    { "bytes_in_total", V_BIN, 1, "Bytes received from clients." },
    { "bytes_out_total", V_BOUT, 1, "Bytes sent to clients." },
    { "connection_errors_total", V_ECON, 1, "Failed connection attempts." },
    { "response_errors_total", V_ERESP, 1, "Invalid or aborted responses." },
    { "retry_warnings_total", V_WRETR, 1, "Connection retries." },
    { "redispatch_warnings_total", V_WREDIS, 1, "Redispatches away from the server." },
    { "status", V_STATUS, 0, "Current status of the service, per state label value." },
    { "weight", V_WEIGHT, 0, "Effective weight." },
    { "active", V_ACT, 0, "1 for an active server." },
    { "backup", V_BCK, 0, "1 for a backup server." },
    { "check_failures_total", V_CHKFAIL, 1, "Failed health checks." },
    { "check_up_down_total", V_CHKDOWN, 1, "UP to DOWN transitions." },
    { "check_last_change_seconds", V_LASTCHG, 0, "Seconds since the last state change." },
    { "downtime_seconds_total", V_DOWNTIME, 1, "Total time the server was DOWN." },
    { "loadbalanced_total", V_LBTOT, 1, "Times the server was chosen." },
    { "check_status", V_CHECK_STATUS, 0, "Status of last health check, per state label value." },
    { "check_code", V_CHECK_CODE, 0, "HTTP status of the last health check, 0 if none." },
    { "check_duration_seconds", V_CHECK_DURATION, 0, "Duration of the last health check." },
    { "http_responses_total", V_HTTP_RESPONSES, 1, "HTTP responses, per status class." },
    { "client_aborts_total", V_CLI_ABRT, 1, "Transfers aborted by the client." },
    { "server_aborts_total", V_SRV_ABRT, 1, "Transfers aborted by the server." },
    { "uweight", V_WEIGHT, 0, "User weight." },
    { "current_tunnels", V_TUNNELS_CUR, 0, "WebSocket tunnels open." },
    { "tunnels_total", V_TUNNELS_TOT, 1, "WebSocket tunnels established." },
};

static void render_family(const struct stats_snapshot *st, enum stats_type type,
                          const char *scope, const struct metric *m, struct strbuf *out)
{
    char name[96];
    snprintf(name, sizeof(name), "wscale_%s_%s", scope, m->suffix);
    family(out, name, m->help, m->counter);
    for (size_t i = 0; i < st->nrows; i++) {
        const struct stats_row *r = &st->rows[i];
        if (r->type != type)
            continue;
        switch (m->value) {
        case V_STATUS: status_samples(out, name, r); break;
        case V_CHECK_STATUS: check_status_samples(out, name, r); break;
        case V_HTTP_RESPONSES: http_response_samples(out, name, r); break;
        case V_AGG_SERVER_STATUS:
        case V_AGG_CHECK_STATUS:
            aggregate_samples(out, name, st, r, m->value == V_AGG_CHECK_STATUS);
            break;
        default: {
            char value[32];
            if (simple_value(r, m->value, value, sizeof(value))) {
                sample_start(out, name, r, NULL, NULL);
                strbuf_printf(out, "%s\n", value);
            }
        }
        }
    }
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

void stats_render_prometheus(const struct stats_snapshot *st, struct strbuf *out)
{
    render_process(st, out);
    for (size_t k = 0; k < COUNT(frontend_metrics); k++)
        render_family(st, STATS_FRONTEND, "frontend", &frontend_metrics[k], out);
    for (size_t k = 0; k < COUNT(backend_metrics); k++)
        render_family(st, STATS_BACKEND, "backend", &backend_metrics[k], out);
    for (size_t k = 0; k < COUNT(server_metrics); k++)
        render_family(st, STATS_SERVER, "server", &server_metrics[k], out);
}
