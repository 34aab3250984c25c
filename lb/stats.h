/* stats.h — what the lb shows about itself.
 *
 * A snapshot holds one row per frontend, backend and server: configuration,
 * state and counters summed over every worker process (current and still
 * draining after a reload). The renderers turn a snapshot into the runtime
 * API's "show info", "show stat" and "show servers state", the stats page
 * (HTML, CSV, JSON) and Prometheus metrics. They are pure: a snapshot in,
 * text out. Column and metric names follow HAProxy's where the meaning is
 * the same. */
#ifndef WSCALE_LB_STATS_H
#define WSCALE_LB_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "../shared/strbuf.h"

/* A server's administrative state (set by the config and the runtime API). */
enum srv_admin {
    SRV_ADMIN_READY, /* takes new streams */
    SRV_ADMIN_DRAIN, /* keeps its streams and persistent clients; no new balanced ones */
    SRV_ADMIN_MAINT, /* keeps its streams; nothing new at all */
};

/* Counters of a frontend, a backend or a server. Gauges (cur, tunnels_cur,
 * qcur) are what is open now; the rest only grow. */
struct stats_counters {
    uint64_t cur;         /* FE: client connections; BE: streams assigned; srv: streams holding a slot */
    uint64_t tot;         /* the same, cumulative */
    uint64_t bytes_in;    /* received from clients */
    uint64_t bytes_out;   /* sent to clients */
    uint64_t req_tot;     /* HTTP requests (FE: received; BE, srv: forwarded) */
    uint64_t hrsp[6];     /* HTTP responses: 1xx, 2xx, 3xx, 4xx, 5xx, other */
    uint64_t ereq;        /* FE: invalid or incomplete requests */
    uint64_t econ;        /* BE, srv: failed connection attempts */
    uint64_t eresp;       /* BE, srv: invalid or aborted responses */
    uint64_t wretr;       /* BE, srv: connection retries */
    uint64_t wredis;      /* BE, srv: redispatches to another server */
    uint64_t cli_abrt;    /* transfers aborted by the client */
    uint64_t srv_abrt;    /* transfers aborted by the server */
    uint64_t lbtot;       /* srv: times chosen (balancing or persistence) */
    uint64_t tunnels_cur; /* WebSocket tunnels open */
    uint64_t tunnels_tot; /* WebSocket tunnels established */
    uint64_t qcur;        /* BE: streams waiting for a server slot */
};

enum stats_type { STATS_FRONTEND, STATS_BACKEND, STATS_SERVER };

struct stats_row {
    enum stats_type type;
    const char *pxname;
    const char *svname;        /* "FRONTEND", "BACKEND" or the server's name */
    unsigned iid;              /* the proxy's id: 1, 2, ... in file order */
    unsigned sid;              /* the server's id in its backend: 1, 2, ...; 0 for FE, BE */

    /* State. FE: "OPEN" (or "STOP" once stopping). BE: "UP" or "DOWN" (no
     * usable server). Server: HAProxy's words, made by stats_server_status():
     * "UP", "DOWN", "MAINT", "DRAIN", "no check" (UP, unchecked), and while
     * checks change it "UP 2/3" (going down: 2 more failed checks of fall 3
     * to DOWN) or "DOWN 1/2" (going up: 1 passed check of rise 2). */
    const char *status;
    enum srv_admin admin;      /* servers */
    int cfg_disabled;          /* srv: "disabled" in the configuration (HAProxy's CMAINT flag) */
    int has_check;             /* servers: "check" is configured */
    int check_up;              /* servers: the checks' verdict (1 without checks) */
    unsigned health;           /* consecutive check results against the current verdict */
    unsigned rise, fall;
    unsigned weight;           /* srv: effective now; BE: sum over usable servers */
    unsigned iweight;          /* srv: as configured */
    unsigned act, bck;         /* srv: 1 if an active / backup server; BE: usable ones of each */
    unsigned slim;             /* maxconn: FE: its limit; srv: 0 when unlimited */
    const char *algo;          /* BE: HAProxy's name of the balance algorithm ("roundrobin") */
    const char *addr;          /* srv: "127.0.0.1:8001", "[::1]:8001"; NULL otherwise */
    const char *host;          /* srv: the address as configured (a name or an IP literal) */
    unsigned port;             /* srv */
    int ssl;                   /* srv: TLS to the server */

    /* The last health check (servers with "check"). */
    const char *check_status;  /* HAProxy's codes: "L4OK", "L4CON", "L4TOUT", "L6OK", "L6RSP",
                                  "L6TOUT", "L7OK", "L7STS", "L7RSP", "L7TOUT", "INI" (none yet) */
    int check_code;            /* L7: the HTTP status; 0 otherwise */
    int check_duration_ms;     /* -1: none yet */
    const char *check_desc;    /* e.g. "Layer4 connection problem: Connection refused" */
    uint64_t chkfail;          /* failed checks */
    /* Servers and backends (a backend is DOWN when none of its servers is usable): */
    uint64_t chkdown;          /* UP to DOWN transitions */
    int64_t lastchg_s;         /* seconds since the last state change */
    uint64_t downtime_s;       /* total time DOWN */

    struct stats_counters c;
};

struct stats_info {
    const char *version;       /* WSCALE_VERSION; NULL hides it ("stats hide-version") */
    const char *node;          /* host name */
    long pid;                  /* the master process */
    uint64_t uptime_s;
    unsigned workers;          /* processes serving the current configuration */
    unsigned old_workers;      /* processes of older configurations, still draining */
    unsigned reloads;
    unsigned maxconn;          /* per worker */
    int stopping;              /* SIGTERM received: draining */
    uint64_t cur_conns, cum_conns;     /* all frontends */
    uint64_t cur_tunnels, cum_tunnels; /* all frontends */
};

/* Rows are in HAProxy's order: for each proxy in file order, its FRONTEND
 * row, then its servers, then its BACKEND row. */
struct stats_snapshot {
    struct stats_info info;
    struct stats_row *rows;
    size_t nrows;
    /* Fill the addr and algo columns, as HAProxy does for the runtime API
     * at level operator or admin, and on the page with "stats show-legends". */
    int show_legends;
};

/* Options of the stats page. */
struct stats_page {
    const char *uri;           /* the stats uri ("/stats"): links to ;csv and ?json */
    unsigned refresh_s;        /* the page reloads itself this often; 0: never */
    int hide_version;
};

/* A server's status in HAProxy's words (see stats_row.status) from its
 * admin, has_check, check_up, health, rise and fall. */
void stats_server_status(const struct stats_row *r, char *buf, size_t size);

/* HAProxy's health check statuses ("L4OK", ...): their numeric code in
 * "show servers state", their result (HAProxy's CHK_RES_*: 0 unknown,
 * 2 failed, 3 passed, 4 conditionally passed) and description. */
struct stats_check_status {
    const char *name;
    int code;
    int result;
    const char *desc;
};

/* The statuses a finished check can report, in HAProxy's order; ends with
 * a NULL name. */
extern const struct stats_check_status stats_check_results[];

/* Finds a status by name ("INI" and "UNK" too); NULL if unknown. */
const struct stats_check_status *stats_check_status_find(const char *name);

/* The runtime API's "show stat": HAProxy's CSV, a "# pxname,svname,..."
 * header line, then one line per row. Like HAProxy's, every line ends with
 * a comma; HAProxy's columns come first, in its order, then wscale's own
 * (tunnels_cur, tunnels_tot). A field is empty where the value does not
 * apply or wscale does not count it. (The runtime API adds the empty line
 * that ends every answer.) */
void stats_render_csv(const struct stats_snapshot *st, struct strbuf *out);

/* {"info": {...}, "stats": [{"pxname": ..., "svname": ..., ...}]}: "info"
 * has the names and values of "show info"; one "stats" object per row whose
 * keys are the CSV's column names, same values, numbers as JSON numbers and
 * empty CSV fields left out. */
void stats_render_json(const struct stats_snapshot *st, struct strbuf *out);

/* The runtime API's "show info": "Name: value" lines, HAProxy's that apply
 * in its order (Nbthread is the number of workers, Maxconn their total),
 * then wscale's: Workers, OldWorkers, Reloads, CurrTunnels, CumTunnels. */
void stats_render_info(const struct stats_snapshot *st, struct strbuf *out);

/* The runtime API's "show servers state [BACKEND]" in HAProxy's format
 * (version line "1", "# be_id be_name ..." header, one line per server,
 * HAProxy's numeric codes). Returns 0, or -1 if `backend` (NULL: all)
 * names no backend; nothing is written then. */
int stats_render_servers_state(const struct stats_snapshot *st, const char *backend,
                               struct strbuf *out);

/* The stats page: one self-contained HTML document (inline CSS, no
 * external resource) that reloads itself every page->refresh_s. */
void stats_render_html(const struct stats_snapshot *st, const struct stats_page *page,
                       struct strbuf *out);

/* Prometheus text exposition format 0.0.4. */
void stats_render_prometheus(const struct stats_snapshot *st, struct strbuf *out);

#endif
