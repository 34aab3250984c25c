/* lb-t.h — the types of the lb mode.
 *
 * What the configuration file describes and the runtime state hung on it
 * live in the same structs, as HAProxy's struct proxy and struct server do:
 * a proxy is a frontend, a backend, or both (listen). */
#ifndef WSCALE_LB_T_H
#define WSCALE_LB_T_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

#include "../shared/net.h"
#include "../shared/timeq.h"
#include "../shared/tls.h"
#include "cli-api.h"

struct stream;
struct check;

/* Timeouts in milliseconds; 0 means "not set" (see lb/timeouts.c for what
 * applies instead, HAProxy's fallbacks). */
struct lb_timeouts {
    uint32_t client, server, connect, tunnel, http_request, http_keep_alive;
    uint32_t queue, client_fin, server_fin, check;
};

enum lb_balance {
    BALANCE_ROUNDROBIN, BALANCE_LEASTCONN, BALANCE_RANDOM,
    /* hashing a property of the request: */
    BALANCE_SOURCE, BALANCE_URI, BALANCE_URL_PARAM, BALANCE_HDR,
};

enum lb_hash_type { HASH_MAP_BASED, HASH_CONSISTENT };

/* A point of a consistent-hash ring: the server owning hashes up to it. */
struct ring_point {
    uint64_t hash;
    struct server *srv;
};

enum lb_log_target { LOG_TARGET_NONE, LOG_TARGET_GLOBAL, LOG_TARGET_STDOUT, LOG_TARGET_STDERR };

/* A FIFO of streams waiting for a server slot (server maxconn). */
struct stream_queue {
    struct stream *head, *tail;
    unsigned len;
};

/* Cookie-based persistence: HAProxy's "cookie" keyword (lb/persist.c). */
struct persist_cookie {
    char *name;              /* NULL: no persistence cookie */
    uint8_t insert;          /* the lb sets it; else the server does (passive) */
    uint8_t indirect;        /* hidden from servers; not re-sent while valid */
    uint8_t nocache, httponly, secure;
    uint32_t maxidle, maxlife; /* seconds; 0: not enforced */
    char *domain;            /* "a; domain=b" for several, as HAProxy joins them */
    char *attrs;             /* the "attr" values, joined with "; " */
};

/* A backend's "stick-table type ip|ipv6 size N expire D" and its rules on
 * the client's address: "stick on src", or its halves "stick match src"
 * (look up) and "stick store-request src" (store). See lb/stick-rules.h. */
struct stick_conf {
    unsigned size;           /* entries; 0: no stick-table */
    uint32_t expire_ms;      /* 0: never (only the size bound removes entries) */
    uint8_t ipv6;            /* type ipv6: every client; type ip: IPv4 clients only */
    uint8_t match, store;
    int table_line, rule_line;
    void *table;             /* runtime: the shared region (the master makes it) */
};

struct server {
    struct proxy *be;
    char *name;
    char *host;              /* as written, for messages */
    uint16_t port;
    struct net_addr addr;    /* resolved at start-up */
    int line;

    unsigned weight;         /* 0..256; 0 takes no new traffic */
    unsigned maxconn;        /* 0: unlimited */
    unsigned inter_ms, rise, fall;
    uint8_t check, backup, disabled;
    uint8_t ssl;             /* TLS to the server */
    uint8_t verify;          /* check its certificate (HAProxy's default: required) */
    char *ca_file;           /* what it is checked against */
    char *sni;               /* the SNI sent and the name checked; NULL: the host */
    SSL_CTX *tls_ctx;        /* built from the above at start-up */
    char *cookie;            /* "cookie VALUE": its persistence cookie's value */

    /* runtime */
    uint32_t obj;            /* its object in the registry (lb/registry.h) */
    uint16_t index;          /* in lb->servers; 0 is "no server" */
    uint8_t up;              /* the checks' verdict (always 1 without "check") */
    uint8_t admin;           /* enum srv_admin: ready, drain, maint */
    unsigned iweight;        /* the weight the configuration gives it */
    uint32_t kill_epoch;     /* the last "shutdown sessions" acted upon */
    unsigned health;         /* consecutive check results in the current direction */
    unsigned cur_conns;      /* streams holding a slot on this server */
    unsigned long long total_conns;
    struct stream_queue queue; /* streams persistence sends here, waiting for a slot */
    long rr_current;         /* smooth weighted round-robin state */
    struct check *chk;       /* NULL without "check" */
};

struct listener {
    struct proxy *fe;
    char *text;              /* the bind address as written */
    struct tls_server *tls;  /* NULL for a plain bind */
    struct net_addr addr;
    int line;
    int fd;
    ev_io watcher;
    uint16_t index;          /* in lb->listeners */
    uint8_t paused;          /* not accepting: maxconn reached, or out of fds */
};

#define PROXY_FRONTEND 0x1
#define PROXY_BACKEND 0x2

struct proxy {
    struct proxy *next;
    char *name;
    int line;
    unsigned caps;           /* PROXY_FRONTEND, PROXY_BACKEND, both for listen */

    struct lb_timeouts to;
    enum lb_balance balance;
    unsigned random_draws;   /* random(N) */
    char *hash_key_name;     /* url_param NAME, hdr(NAME) */
    uint8_t hash_uri_whole;  /* balance uri whole: the query string counts too */
    enum lb_hash_type hash_type;
    unsigned hash_balance_factor; /* bounded loads: 0 off, else >= 100 (percent) */
    struct ring_point *ring; /* consistent hashing: sorted by hash */
    size_t ring_size;
    unsigned retries;
    int redispatch;          /* 0: off; HAProxy's interval otherwise (-1: last retry) */
    uint8_t forwardfor, httpchk, allbackups;
    uint16_t redirect_https; /* "redirect scheme https": its status, or 0 */
    struct persist_cookie ck;
    char *chk_method, *chk_uri, *chk_version;
    unsigned expect_status;  /* 0: any 2xx or 3xx passes */
    unsigned maxconn;        /* frontend: concurrent connections; 0: the global one */
    enum lb_log_target log;
    char *backend_name;      /* use_backend / default_backend, resolved below */
    int backend_line;
    uint8_t backend_forced;  /* set by use_backend: default_backend does not replace it */
    struct proxy *backend;
    struct server defsrv;    /* default-server settings */
    struct stick_conf stick;

    struct server **servers;
    size_t nservers;
    struct listener **binds;
    size_t nbinds;

    /* The stats page ("stats enable") and Prometheus metrics. */
    uint8_t stats_enabled;
    uint8_t stats_hide_version;
    uint8_t stats_show_legends; /* addresses and algorithms on the page */
    char *stats_uri;         /* a prefix: "/stats", "/stats;csv", "/stats?json" */
    char *stats_realm;
    char **stats_auth;       /* "user:password" entries; none: no authentication */
    size_t nstats_auth;
    uint32_t stats_refresh;  /* ms; 0: the page does not reload itself */
    char *prometheus_uri;    /* http-request use-service prometheus-exporter if { path URI } */

    /* runtime */
    uint32_t fe_obj, be_obj; /* its frontend and backend objects in the registry */
    unsigned feconn;         /* streams accepted by this frontend, still open */
    unsigned beconn;         /* streams assigned to this backend */
    unsigned long long fe_total, be_total;
    struct stream_queue queue; /* waiting for a server slot */
    unsigned rr_rotor;       /* leastconn tie-break */
};

/* "stats socket PATH [mode OCTAL] [level LEVEL]": the runtime API. */
struct stats_socket_cfg {
    char *path;
    unsigned mode;           /* permissions of the socket file */
    enum api_level level;
    int line;
};

struct lb_config {
    char *file;
    unsigned workers;        /* nbthread / workers: worker processes */
    unsigned maxconn;        /* global: accepted connections at once, per worker */
    unsigned bufsize;        /* tune.bufsize */
    uint32_t hard_stop_after;/* ms; bound of a drain (SIGTERM, or old workers after a reload) */
    uint32_t close_spread_time; /* ms: closing at the end of a drain spreads over this */
    struct stats_socket_cfg *stats_sockets;
    size_t nstats_sockets;
    uint32_t stats_timeout;  /* ms a stats socket client may stay idle */
    unsigned stats_maxconn;  /* stats socket clients at once */
    enum lb_log_target log;  /* global log target */
    struct tls_settings ssl_defaults; /* ssl-default-bind-* */
    int uses_tls;            /* some bind or server speaks TLS */
    struct proxy *proxies;   /* in file order */
    unsigned nservers, nlisteners;
};

#endif
