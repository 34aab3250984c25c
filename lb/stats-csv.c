/* stats-csv.c — see stats.h: "show stat" (CSV and JSON), "show info",
 * "show servers state", and the HAProxy codes they share.
 *
 * The CSV columns are HAProxy's (doc/management.txt, "CSV format", and
 * HAProxy's stat_cols_px[]), in its order, up to the last one wscale fills
 * with the same meaning (h3req), then wscale's own. A field is left empty
 * where HAProxy leaves it empty for that kind of row, or where wscale does
 * not count the thing at all (queue maxima, rates, compression, ...). */
#include "stats.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../shared/utf8.h"

/* HAProxy's check statuses a finished check reports (check-t.h, check.c). */
const struct stats_check_status stats_check_results[] = {
    { "HANA", 4, 2, "Health analyze" },
    { "SOCKERR", 5, 2, "Socket error" },
    { "L4OK", 6, 3, "Layer4 check passed" },
    { "L4TOUT", 7, 2, "Layer4 timeout" },
    { "L4CON", 8, 2, "Layer4 connection problem" },
    { "L6OK", 9, 3, "Layer6 check passed" },
    { "L6TOUT", 10, 2, "Layer6 timeout" },
    { "L6RSP", 11, 2, "Layer6 invalid response" },
    { "L7TOUT", 12, 2, "Layer7 timeout" },
    { "L7RSP", 13, 2, "Layer7 invalid response" },
    { "L7OK", 15, 3, "Layer7 check passed" },
    { "L7OKC", 16, 4, "Layer7 check conditionally passed" },
    { "L7STS", 17, 2, "Layer7 wrong status" },
    { "PROCERR", 18, 2, "External check error" },
    { "PROCTOUT", 19, 2, "External check timeout" },
    { "PROCOK", 20, 3, "External check passed" },
    { NULL, 0, 0, NULL },
};

static const struct stats_check_status check_unknown = { "UNK", 0, 0, "Unknown" };
static const struct stats_check_status check_initializing = { "INI", 1, 0, "Initializing" };

/* HAProxy's codes above which a check has run, and has layer 5-7 data. */
#define CHECK_CODE_CHECKED 3
#define CHECK_CODE_L57DATA 14

const struct stats_check_status *stats_check_status_find(const char *name)
{
    if (name == NULL)
        return NULL;
    if (strcmp(name, check_unknown.name) == 0)
        return &check_unknown;
    if (strcmp(name, check_initializing.name) == 0)
        return &check_initializing;
    for (const struct stats_check_status *c = stats_check_results; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

void stats_server_status(const struct stats_row *r, char *buf, size_t size)
{
    const char *up = r->admin == SRV_ADMIN_DRAIN ? "DRAIN" : "UP";
    if (r->admin == SRV_ADMIN_MAINT)
        snprintf(buf, size, "MAINT");
    else if (!r->has_check)
        snprintf(buf, size, "%s", r->admin == SRV_ADMIN_DRAIN ? "DRAIN" : "no check");
    else if (!r->check_up && r->health) /* passed checks so far, of rise */
        snprintf(buf, size, "DOWN %u/%u", r->health, r->rise);
    else if (!r->check_up)
        snprintf(buf, size, "DOWN");
    else if (r->health) /* failed checks so far: fall - health more make it DOWN */
        snprintf(buf, size, "%s %u/%u", up, r->fall > r->health ? r->fall - r->health : 1,
                 r->fall);
    else
        snprintf(buf, size, "%s", up);
}

static void put(struct strbuf *out, const char *s)
{
    strbuf_append(out, s, strlen(s));
}

/* ---- field values ---- */

enum field_kind { F_EMPTY, F_UINT, F_INT, F_STR };

struct field {
    enum field_kind kind;
    uint64_t u;
    int64_t i;
    const char *s;
};

static struct field f_uint(uint64_t v)
{
    return (struct field){ .kind = F_UINT, .u = v };
}

static struct field f_int(int64_t v)
{
    return (struct field){ .kind = F_INT, .i = v };
}

static struct field f_str(const char *s)
{
    return s ? (struct field){ .kind = F_STR, .s = s } : (struct field){ .kind = F_EMPTY };
}

/* The CSV columns, in order. */
enum column {
    C_PXNAME, C_SVNAME, C_QCUR, C_QMAX, C_SCUR, C_SMAX, C_SLIM, C_STOT, C_BIN, C_BOUT,
    C_DREQ, C_DRESP, C_EREQ, C_ECON, C_ERESP, C_WRETR, C_WREDIS, C_STATUS, C_WEIGHT, C_ACT,
    C_BCK, C_CHKFAIL, C_CHKDOWN, C_LASTCHG, C_DOWNTIME, C_QLIMIT, C_PID, C_IID, C_SID,
    C_THROTTLE, C_LBTOT, C_TRACKED, C_TYPE, C_RATE, C_RATE_LIM, C_RATE_MAX, C_CHECK_STATUS,
    C_CHECK_CODE, C_CHECK_DURATION, C_HRSP_1XX, C_HRSP_2XX, C_HRSP_3XX, C_HRSP_4XX,
    C_HRSP_5XX, C_HRSP_OTHER, C_HANAFAIL, C_REQ_RATE, C_REQ_RATE_MAX, C_REQ_TOT, C_CLI_ABRT,
    C_SRV_ABRT, C_COMP_IN, C_COMP_OUT, C_COMP_BYP, C_COMP_RSP, C_LASTSESS, C_LAST_CHK,
    C_LAST_AGT, C_QTIME, C_CTIME, C_RTIME, C_TTIME, C_AGENT_STATUS, C_AGENT_CODE,
    C_AGENT_DURATION, C_CHECK_DESC, C_AGENT_DESC, C_CHECK_RISE, C_CHECK_FALL,
    C_CHECK_HEALTH, C_AGENT_RISE, C_AGENT_FALL, C_AGENT_HEALTH, C_ADDR, C_COOKIE, C_MODE,
    C_ALGO, C_CONN_RATE, C_CONN_RATE_MAX, C_CONN_TOT, C_INTERCEPTED, C_DCON, C_DSES, C_WREW,
    C_CONNECT, C_REUSE, C_CACHE_LOOKUPS, C_CACHE_HITS, C_SRV_ICUR, C_SRV_ILIM, C_QTIME_MAX,
    C_CTIME_MAX, C_RTIME_MAX, C_TTIME_MAX, C_EINT, C_IDLE_CONN_CUR, C_SAFE_CONN_CUR,
    C_USED_CONN_CUR, C_NEED_CONN_EST, C_UWEIGHT, C_AGG_SERVER_STATUS,
    C_AGG_SERVER_CHECK_STATUS, C_AGG_CHECK_STATUS, C_SRID, C_SESS_OTHER, C_H1SESS, C_H2SESS,
    C_H3SESS, C_REQ_OTHER, C_H1REQ, C_H2REQ, C_H3REQ,
    /* wscale's own */
    C_TUNNELS_CUR, C_TUNNELS_TOT,
    C_COUNT
};

static const char *const column_names[C_COUNT] = {
    "pxname", "svname", "qcur", "qmax", "scur", "smax", "slim", "stot", "bin", "bout",
    "dreq", "dresp", "ereq", "econ", "eresp", "wretr", "wredis", "status", "weight", "act",
    "bck", "chkfail", "chkdown", "lastchg", "downtime", "qlimit", "pid", "iid", "sid",
    "throttle", "lbtot", "tracked", "type", "rate", "rate_lim", "rate_max", "check_status",
    "check_code", "check_duration", "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx",
    "hrsp_5xx", "hrsp_other", "hanafail", "req_rate", "req_rate_max", "req_tot", "cli_abrt",
    "srv_abrt", "comp_in", "comp_out", "comp_byp", "comp_rsp", "lastsess", "last_chk",
    "last_agt", "qtime", "ctime", "rtime", "ttime", "agent_status", "agent_code",
    "agent_duration", "check_desc", "agent_desc", "check_rise", "check_fall",
    "check_health", "agent_rise", "agent_fall", "agent_health", "addr", "cookie", "mode",
    "algo", "conn_rate", "conn_rate_max", "conn_tot", "intercepted", "dcon", "dses", "wrew",
    "connect", "reuse", "cache_lookups", "cache_hits", "srv_icur", "src_ilim", "qtime_max",
    "ctime_max", "rtime_max", "ttime_max", "eint", "idle_conn_cur", "safe_conn_cur",
    "used_conn_cur", "need_conn_est", "uweight", "agg_server_status",
    "agg_server_check_status", "agg_check_status", "srid", "sess_other", "h1sess", "h2sess",
    "h3sess", "req_other", "h1req", "h2req", "h3req",
    "tunnels_cur", "tunnels_tot",
};

/* HAProxy shows a server's check fields only while checks run: configured
 * and not paused by maintenance. */
static int check_running(const struct stats_row *r)
{
    return r->type == STATS_SERVER && r->has_check && r->admin != SRV_ADMIN_MAINT;
}

/* HAProxy's check health: 0..rise-1 while DOWN (passed checks so far),
 * rise..rise+fall-1 while UP (rise+fall-1 when no check failed). */
static unsigned haproxy_health(const struct stats_row *r)
{
    if (!check_running(r))
        return 0;
    if (!r->check_up)
        return r->rise && r->health >= r->rise ? r->rise - 1 : r->health;
    unsigned top = r->rise + r->fall - 1;
    return r->health < r->fall ? top - r->health : r->rise;
}

static const struct stats_check_status *row_check(const struct stats_row *r)
{
    const struct stats_check_status *c = stats_check_status_find(r->check_status);
    return c ? c : &check_unknown;
}

static struct field column_value(const struct stats_snapshot *st, const struct stats_row *r,
                                 enum column col)
{
    int fe = r->type == STATS_FRONTEND, be = r->type == STATS_BACKEND;
    int srv = r->type == STATS_SERVER;
    const struct stats_counters *c = &r->c;
    switch (col) {
    case C_PXNAME: return f_str(r->pxname);
    case C_SVNAME: return f_str(r->svname);
    case C_QCUR: return be ? f_uint(c->qcur) : f_str(NULL);
    case C_SCUR: return f_uint(c->cur);
    case C_SLIM: return fe || (srv && r->slim) ? f_uint(r->slim) : f_str(NULL);
    case C_STOT: return f_uint(c->tot);
    case C_BIN: return f_uint(c->bytes_in);
    case C_BOUT: return f_uint(c->bytes_out);
    case C_EREQ: return fe ? f_uint(c->ereq) : f_str(NULL);
    case C_ECON: return fe ? f_str(NULL) : f_uint(c->econ);
    case C_ERESP: return fe ? f_str(NULL) : f_uint(c->eresp);
    case C_WRETR: return fe ? f_str(NULL) : f_uint(c->wretr);
    case C_WREDIS: return fe ? f_str(NULL) : f_uint(c->wredis);
    case C_STATUS: return f_str(r->status);
    case C_WEIGHT:
    case C_UWEIGHT: return fe ? f_str(NULL) : f_uint(r->weight);
    case C_ACT: return fe ? f_str(NULL) : f_uint(r->act);
    case C_BCK: return fe ? f_str(NULL) : f_uint(r->bck);
    case C_CHKFAIL: return srv && r->has_check ? f_uint(r->chkfail) : f_str(NULL);
    case C_CHKDOWN: return be || (srv && r->has_check) ? f_uint(r->chkdown) : f_str(NULL);
    case C_LASTCHG: return fe ? f_str(NULL) : f_int(r->lastchg_s);
    case C_DOWNTIME: return be || (srv && r->has_check) ? f_uint(r->downtime_s) : f_str(NULL);
    case C_PID: return f_uint(1); /* HAProxy's relative process number: one view of all workers */
    case C_IID: return f_uint(r->iid);
    case C_SID: return f_uint(r->sid);
    case C_LBTOT: return fe ? f_str(NULL) : f_uint(c->lbtot);
    case C_TYPE: return f_uint(fe ? 0 : be ? 1 : 2);
    case C_CHECK_STATUS: return check_running(r) ? f_str(row_check(r)->name) : f_str(NULL);
    case C_CHECK_CODE:
        return check_running(r) && row_check(r)->code > CHECK_CODE_L57DATA
                   ? f_uint((uint64_t)(r->check_code > 0 ? r->check_code : 0))
                   : f_str(NULL);
    case C_CHECK_DURATION:
        return check_running(r) && row_check(r)->code > CHECK_CODE_CHECKED &&
                       r->check_duration_ms >= 0
                   ? f_uint((uint64_t)r->check_duration_ms)
                   : f_str(NULL);
    case C_HRSP_1XX: case C_HRSP_2XX: case C_HRSP_3XX: case C_HRSP_4XX: case C_HRSP_5XX:
    case C_HRSP_OTHER:
        return f_uint(c->hrsp[col - C_HRSP_1XX]);
    case C_REQ_TOT: return f_uint(c->req_tot);
    case C_CLI_ABRT: return f_uint(c->cli_abrt);
    case C_SRV_ABRT: return f_uint(c->srv_abrt);
    case C_LAST_CHK: return check_running(r) ? f_str(r->check_desc) : f_str(NULL);
    case C_CHECK_DESC: return check_running(r) ? f_str(row_check(r)->desc) : f_str(NULL);
    case C_CHECK_RISE: return check_running(r) ? f_uint(r->rise) : f_str(NULL);
    case C_CHECK_FALL: return check_running(r) ? f_uint(r->fall) : f_str(NULL);
    case C_CHECK_HEALTH: return check_running(r) ? f_uint(haproxy_health(r)) : f_str(NULL);
    case C_ADDR: return srv && st->show_legends ? f_str(r->addr) : f_str(NULL);
    case C_MODE: return f_str("http");
    case C_ALGO: return be && st->show_legends ? f_str(r->algo) : f_str(NULL);
    case C_CONN_TOT: return fe ? f_uint(c->tot) : f_str(NULL);
    /* wscale speaks HTTP/1.x only: every session and request is an HTTP/1 one. */
    case C_SESS_OTHER: case C_H2SESS: case C_H3SESS: case C_REQ_OTHER: case C_H2REQ:
    case C_H3REQ:
        return fe ? f_uint(0) : f_str(NULL);
    case C_H1SESS: return fe ? f_uint(c->tot) : f_str(NULL);
    case C_H1REQ: return fe ? f_uint(c->req_tot) : f_str(NULL);
    case C_TUNNELS_CUR: return f_uint(c->tunnels_cur);
    case C_TUNNELS_TOT: return f_uint(c->tunnels_tot);
    default: return f_str(NULL);
    }
}

/* ---- CSV ---- */

/* HAProxy's CSV quoting: only text that would be ambiguous is quoted. */
static void csv_string(struct strbuf *out, const char *s)
{
    if (strpbrk(s, ",\"\r\n") == NULL) {
        put(out, s);
        return;
    }
    put(out, "\"");
    for (const char *p = s; *p; p++) {
        if (*p == '"')
            put(out, "\"");
        strbuf_append(out, p, 1);
    }
    put(out, "\"");
}

static void csv_field(struct strbuf *out, struct field f)
{
    switch (f.kind) {
    case F_UINT: strbuf_printf(out, "%" PRIu64, f.u); break;
    case F_INT: strbuf_printf(out, "%" PRId64, f.i); break;
    case F_STR: csv_string(out, f.s); break;
    case F_EMPTY: break;
    }
}

void stats_render_csv(const struct stats_snapshot *st, struct strbuf *out)
{
    put(out, "# ");
    for (int col = 0; col < C_COUNT; col++)
        strbuf_printf(out, "%s,", column_names[col]);
    put(out, "\n");
    for (size_t i = 0; i < st->nrows; i++) {
        for (int col = 0; col < C_COUNT; col++) {
            csv_field(out, column_value(st, &st->rows[i], (enum column)col));
            put(out, ",");
        }
        put(out, "\n");
    }
}

/* ---- show info ---- */

#define INFO_MAX 24

struct info {
    struct {
        const char *name;
        struct field value;
    } f[INFO_MAX];
    size_t n;
    char uptime[48];
};

static void info_add(struct info *in, const char *name, struct field value)
{
    if (in->n < INFO_MAX && value.kind != F_EMPTY) {
        in->f[in->n].name = name;
        in->f[in->n].value = value;
        in->n++;
    }
}

/* HAProxy's "show info" fields that apply, in its order, then wscale's. */
static void info_collect(const struct stats_snapshot *st, struct info *in)
{
    const struct stats_info *i = &st->info;
    uint64_t up = i->uptime_s, requests = 0;
    for (size_t k = 0; k < st->nrows; k++)
        if (st->rows[k].type == STATS_FRONTEND)
            requests += st->rows[k].c.req_tot;
    snprintf(in->uptime, sizeof(in->uptime), "%" PRIu64 "d %uh%02um%02us", up / 86400,
             (unsigned)(up % 86400 / 3600), (unsigned)(up % 3600 / 60), (unsigned)(up % 60));
    in->n = 0;
    info_add(in, "Name", f_str("wscale"));
    info_add(in, "Version", f_str(i->version));
    /* One HAProxy process with a thread per worker is what the snapshot,
     * summed over the workers, looks like. */
    info_add(in, "Nbthread", f_uint(i->workers));
    info_add(in, "Nbproc", f_uint(1));
    info_add(in, "Process_num", f_uint(1));
    info_add(in, "Pid", f_int(i->pid));
    info_add(in, "Uptime", f_str(in->uptime));
    info_add(in, "Uptime_sec", f_uint(up));
    info_add(in, "Maxconn", f_uint((uint64_t)i->maxconn * i->workers));
    info_add(in, "CurrConns", f_uint(i->cur_conns));
    info_add(in, "CumConns", f_uint(i->cum_conns));
    info_add(in, "CumReq", f_uint(requests));
    info_add(in, "node", f_str(i->node));
    info_add(in, "Stopping", f_uint(i->stopping ? 1 : 0));
    info_add(in, "Workers", f_uint(i->workers));
    info_add(in, "OldWorkers", f_uint(i->old_workers));
    info_add(in, "Reloads", f_uint(i->reloads));
    info_add(in, "CurrTunnels", f_uint(i->cur_tunnels));
    info_add(in, "CumTunnels", f_uint(i->cum_tunnels));
}

void stats_render_info(const struct stats_snapshot *st, struct strbuf *out)
{
    struct info in;
    info_collect(st, &in);
    for (size_t k = 0; k < in.n; k++) {
        strbuf_printf(out, "%s: ", in.f[k].name);
        struct field f = in.f[k].value;
        if (f.kind == F_STR)
            put(out, f.s);
        else
            csv_field(out, f);
        put(out, "\n");
    }
}

/* ---- JSON ---- */

/* A JSON string. Bytes that are not valid UTF-8 become U+FFFD. */
static void json_string(struct strbuf *out, const char *s)
{
    put(out, "\"");
    const unsigned char *p = (const unsigned char *)s;
    while (*p) {
        unsigned char ch = *p;
        if (ch == '"' || ch == '\\') {
            char esc[2] = { '\\', (char)ch };
            strbuf_append(out, esc, 2);
            p++;
        } else if (ch < 0x20) {
            strbuf_printf(out, ch == '\n' ? "\\n" : ch == '\r' ? "\\r" : ch == '\t' ? "\\t"
                                                                        : "\\u%04x", ch);
            p++;
        } else if (ch < 0x80) {
            strbuf_append(out, (const char *)p, 1);
            p++;
        } else {
            size_t len = ch >= 0xF0 ? 4 : ch >= 0xE0 ? 3 : 2;
            if (strnlen((const char *)p, len) == len && utf8_validate(p, len) == 0) {
                strbuf_append(out, (const char *)p, len);
                p += len;
            } else {
                put(out, "\\ufffd");
                p++;
            }
        }
    }
    put(out, "\"");
}

static void json_value(struct strbuf *out, struct field f)
{
    if (f.kind == F_STR)
        json_string(out, f.s);
    else
        csv_field(out, f);
}

void stats_render_json(const struct stats_snapshot *st, struct strbuf *out)
{
    struct info in;
    info_collect(st, &in);
    put(out, "{\"info\": {");
    for (size_t k = 0; k < in.n; k++) {
        if (k)
            put(out, ", ");
        json_string(out, in.f[k].name);
        put(out, ": ");
        json_value(out, in.f[k].value);
    }
    put(out, "}, \"stats\": [");
    for (size_t i = 0; i < st->nrows; i++) {
        put(out, i ? ",\n  {" : "\n  {");
        int first = 1;
        for (int col = 0; col < C_COUNT; col++) {
            struct field f = column_value(st, &st->rows[i], (enum column)col);
            if (f.kind == F_EMPTY)
                continue;
            if (!first)
                put(out, ", ");
            first = 0;
            json_string(out, column_names[col]);
            put(out, ": ");
            json_value(out, f);
        }
        put(out, "}");
    }
    put(out, st->nrows ? "\n]}\n" : "]}\n");
}

/* ---- show servers state ---- */

/* HAProxy's codes (server-t.h, check-t.h). */
enum { SRV_ST_STOPPED = 0, SRV_ST_RUNNING = 2 };
enum { SRV_ADMF_FMAINT = 0x01, SRV_ADMF_CMAINT = 0x04, SRV_ADMF_FDRAIN = 0x08 };
enum { CHK_ST_CONFIGURED = 0x02, CHK_ST_ENABLED = 0x04, CHK_ST_PAUSED = 0x08 };

/* A word of the space-separated format: anything that would split or end
 * a line is replaced (the config parser never lets such names through). */
static void state_word(struct strbuf *out, const char *s)
{
    if (s == NULL || *s == '\0') {
        put(out, "-");
        return;
    }
    for (const char *p = s; *p; p++) {
        char ch = (unsigned char)*p <= ' ' || *p == 0x7f ? '_' : *p;
        strbuf_append(out, &ch, 1);
    }
}

/* The IP address of "ip:port" or "[ip6]:port", into buf ("-" if none). */
static void addr_ip(const char *addr, char *buf, size_t size)
{
    const char *start = addr, *end = NULL;
    if (addr && addr[0] == '[') {
        start = addr + 1;
        end = strchr(start, ']');
    } else if (addr) {
        end = strrchr(addr, ':');
    }
    if (addr == NULL || *addr == '\0') {
        snprintf(buf, size, "-");
        return;
    }
    size_t len = end ? (size_t)(end - start) : strlen(start);
    snprintf(buf, size, "%.*s", (int)len, start);
}

/* HAProxy's srv_fqdn: the configured host when it is a name, else "-". */
static const char *host_fqdn(const char *host)
{
    unsigned char any[sizeof(struct in6_addr)];
    if (host == NULL || *host == '\0' || inet_pton(AF_INET, host, any) == 1 ||
        inet_pton(AF_INET6, host, any) == 1)
        return NULL;
    return host;
}

static void state_line(struct strbuf *out, const struct stats_row *r)
{
    char ip[64];
    addr_ip(r->addr, ip, sizeof(ip));
    unsigned admin = (r->admin == SRV_ADMIN_MAINT ? SRV_ADMF_FMAINT : 0) |
                     (r->admin == SRV_ADMIN_DRAIN ? SRV_ADMF_FDRAIN : 0) |
                     (r->cfg_disabled ? SRV_ADMF_CMAINT : 0);
    int running = r->admin != SRV_ADMIN_MAINT && (!r->has_check || r->check_up);
    const struct stats_check_status *chk = r->has_check ? row_check(r) : &check_initializing;
    unsigned chk_state = r->has_check ? CHK_ST_CONFIGURED | CHK_ST_ENABLED : 0;
    if (r->has_check && r->admin == SRV_ADMIN_MAINT)
        chk_state |= CHK_ST_PAUSED;

    strbuf_printf(out, "%u ", r->iid);
    state_word(out, r->pxname);
    strbuf_printf(out, " %u ", r->sid);
    state_word(out, r->svname);
    put(out, " ");
    state_word(out, ip);
    strbuf_printf(out, " %d %u %u %u %" PRId64 " %d %d %u %u 0 0 0 ",
                  running ? SRV_ST_RUNNING : SRV_ST_STOPPED, admin, r->weight, r->iweight,
                  r->lastchg_s, chk->code, r->has_check ? chk->result : 0, haproxy_health(r),
                  chk_state);
    state_word(out, host_fqdn(r->host));
    strbuf_printf(out, " %u - %d 0 - - 0\n", r->port, r->ssl ? 1 : 0);
}

int stats_render_servers_state(const struct stats_snapshot *st, const char *backend,
                               struct strbuf *out)
{
    if (backend) {
        size_t i = 0;
        while (i < st->nrows && !(st->rows[i].type == STATS_BACKEND &&
                                  strcmp(st->rows[i].pxname, backend) == 0))
            i++;
        if (i == st->nrows)
            return -1;
    }
    put(out, "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state "
             "srv_uweight srv_iweight srv_time_since_last_change srv_check_status "
             "srv_check_result srv_check_health srv_check_state srv_agent_state "
             "bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl "
             "srv_check_port srv_check_addr srv_agent_addr srv_agent_port\n");
    for (size_t i = 0; i < st->nrows; i++) {
        const struct stats_row *r = &st->rows[i];
        if (r->type == STATS_SERVER && (backend == NULL || strcmp(r->pxname, backend) == 0))
            state_line(out, r);
    }
    return 0;
}
