/* test_stats.c — lb/stats.h: the renderers of a stats snapshot (HAProxy's
 * CSV, JSON, "show info", "show servers state", the HTML page, Prometheus)
 * and HAProxy's server status words. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "../../lb/stats.h"
#include "unit.h"

/* ---- a snapshot: proxy "web" (listen) with servers in every state, and a
 * backend whose names need escaping everywhere ---- */

#define NROWS 8
#define ODD_NAME "a<b&\"c'\\"

static struct stats_row rows[NROWS];
static char statuses[NROWS][32];
static struct stats_snapshot snap;

static void server(struct stats_row *r, const char *px, unsigned iid, const char *name,
                   unsigned sid)
{
    r->type = STATS_SERVER;
    r->pxname = px;
    r->svname = name;
    r->iid = iid;
    r->sid = sid;
    r->rise = 2;
    r->fall = 3;
    r->weight = r->iweight = 100;
    r->act = 1;
    r->check_up = 1;
    r->check_duration_ms = -1;
}

static void fixture(void)
{
    memset(rows, 0, sizeof(rows));
    struct stats_row *r = rows;

    r[0] = (struct stats_row){ .type = STATS_FRONTEND, .pxname = "web", .svname = "FRONTEND",
                               .iid = 1, .status = "OPEN", .slim = 9000 };
    r[0].c = (struct stats_counters){ .cur = 12, .tot = 345, .bytes_in = 1000,
                                      .bytes_out = 3000000, .req_tot = 400, .ereq = 1,
                                      .tunnels_cur = 10, .tunnels_tot = 300 };
    r[0].c.hrsp[1] = 380;
    r[0].c.hrsp[4] = 2;

    server(&r[1], "web", 1, "s1", 1); /* UP, checked by HTTP */
    r[1].has_check = 1;
    r[1].addr = "127.0.0.1:8001";
    r[1].host = "127.0.0.1";
    r[1].port = 8001;
    r[1].check_status = "L7OK";
    r[1].check_code = 200;
    r[1].check_duration_ms = 3;
    r[1].check_desc = "Layer7 check passed";
    r[1].lastchg_s = 4000;
    r[1].c = (struct stats_counters){ .cur = 5, .tot = 200, .bytes_in = 700, .bytes_out = 9000,
                                      .req_tot = 210, .lbtot = 200, .tunnels_cur = 4,
                                      .tunnels_tot = 150 };
    r[1].c.hrsp[1] = 190;

    server(&r[2], "web", 1, "s2", 2); /* UP, one failed check of fall 3 */
    r[2].has_check = 1;
    r[2].health = 1;
    r[2].weight = 50;
    r[2].addr = "[::1]:8002";
    r[2].host = "backend2.local";
    r[2].port = 8002;
    r[2].ssl = 1;
    r[2].check_status = "L4CON";
    r[2].check_duration_ms = 1;
    r[2].check_desc = "Layer4 connection problem: Connection refused";
    r[2].chkfail = 3;
    r[2].chkdown = 1;
    r[2].lastchg_s = 65;
    r[2].downtime_s = 12;

    server(&r[3], "web", 1, "s3", 3); /* a backup, disabled in the configuration */
    r[3].admin = SRV_ADMIN_MAINT;
    r[3].cfg_disabled = 1;
    r[3].has_check = 1;
    r[3].check_up = 0;
    r[3].act = 0;
    r[3].bck = 1;
    r[3].addr = "10.0.0.3:80";
    r[3].host = "10.0.0.3";
    r[3].port = 80;
    r[3].check_status = "INI";
    r[3].lastchg_s = 100000;

    server(&r[4], "web", 1, "s4", 4); /* draining, unchecked, maxconn 50 */
    r[4].admin = SRV_ADMIN_DRAIN;
    r[4].slim = 50;
    r[4].addr = "10.0.0.4:80";
    r[4].host = "10.0.0.4";
    r[4].port = 80;
    r[4].lastchg_s = 7;

    r[5] = (struct stats_row){ .type = STATS_BACKEND, .pxname = "web", .svname = "BACKEND",
                               .iid = 1, .status = "UP", .weight = 150, .act = 2,
                               .algo = "roundrobin", .lastchg_s = 4000 };
    r[5].c = (struct stats_counters){ .cur = 5, .qcur = 2, .tot = 345, .req_tot = 210 };

    server(&r[6], ODD_NAME, 2, "x\"y<z>", 1); /* DOWN, one passed check of rise 2 */
    r[6].has_check = 1;
    r[6].check_up = 0;
    r[6].health = 1;
    r[6].weight = r[6].iweight = 1;
    r[6].addr = "127.0.0.1:9";
    r[6].host = "localhost";
    r[6].port = 9;
    r[6].check_status = "L7STS";
    r[6].check_code = 503;
    r[6].check_duration_ms = 20;
    r[6].check_desc = "Layer7 wrong status, \"503\" <Service Unavailable>";
    r[6].chkfail = 7;
    r[6].chkdown = 2;
    r[6].downtime_s = 90000;

    r[7] = (struct stats_row){ .type = STATS_BACKEND, .pxname = ODD_NAME, .svname = "BACKEND",
                               .iid = 2, .status = "DOWN", .algo = "leastconn", .chkdown = 1,
                               .downtime_s = 90000 };

    for (int i = 1; i <= 6; i++) {
        if (r[i].type == STATS_SERVER) {
            stats_server_status(&r[i], statuses[i], sizeof(statuses[i]));
            r[i].status = statuses[i];
        }
    }
    snap = (struct stats_snapshot){
        .info = { .version = "0.1.0", .node = "host1", .pid = 4242, .uptime_s = 93784,
                  .workers = 4, .old_workers = 1, .reloads = 2, .maxconn = 9000,
                  .cur_conns = 12, .cum_conns = 345, .cur_tunnels = 10, .cum_tunnels = 300 },
        .rows = rows,
        .nrows = NROWS,
        .show_legends = 1,
    };
}

/* Renders with fn into a fresh buffer; the caller frees it. */
#define RENDER(out, call)                                                                    \
    do {                                                                                     \
        fixture();                                                                           \
        struct strbuf *out_ = &(out);                                                        \
        *out_ = (struct strbuf)STRBUF_INIT;                                                  \
        call;                                                                                \
        CHECK(!out_->failed && out_->data != NULL);                                          \
    } while (0)

static int contains(const struct strbuf *sb, const char *needle)
{
    return sb->data && strstr(sb->data, needle) != NULL;
}

/* ---- a small CSV reader: HAProxy's quoting (",", doubled quotes) ---- */

#define MAXCOLS 128

struct csv_line {
    char *field[MAXCOLS];
    int n;
};

/* Splits the line starting at *p (fields are unquoted into buf); moves *p
 * past it. Every HAProxy line ends with ",\n": the empty last field is
 * dropped. */
static void csv_read(const char **p, char *buf, struct csv_line *line)
{
    const char *s = *p;
    line->n = 0;
    for (;;) {
        line->field[line->n++] = buf;
        if (*s == '"') {
            for (s++; *s && !(*s == '"' && s[1] != '"'); s++) {
                if (*s == '"')
                    s++;
                *buf++ = *s;
            }
            s++;
        } else {
            while (*s && *s != ',' && *s != '\n')
                *buf++ = *s++;
        }
        *buf++ = '\0';
        if (*s != ',' || line->n == MAXCOLS)
            break;
        s++;
    }
    if (line->n && *line->field[line->n - 1] == '\0')
        line->n--;
    *p = *s == '\n' ? s + 1 : s;
}

/* The value of column name in row (both read from the same output). */
static const char *csv_get(const struct csv_line *head, const struct csv_line *row,
                           const char *name)
{
    for (int i = 0; i < head->n && i < row->n; i++)
        if (strcmp(head->field[i], name) == 0)
            return row->field[i];
    return NULL;
}

static const char expected_header[] =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,"
    "lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,"
    "hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,"
    "cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,"
    "ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,"
    "check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,"
    "algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,"
    "cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,"
    "idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,"
    "agg_server_check_status,agg_check_status,srid,sess_other,h1sess,h2sess,h3sess,req_other,"
    "h1req,h2req,h3req,tunnels_cur,tunnels_tot,\n";

/* Reads the whole CSV output: header then rows. Returns the row count. */
static int csv_parse(const char *text, char *buf, struct csv_line *head, struct csv_line *rws,
                     int max)
{
    const char *p = text;
    csv_read(&p, buf, head);
    head->field[0] += 2; /* "# " */
    buf += strlen(text) + 1;
    int n = 0;
    while (*p && n < max) {
        csv_read(&p, buf, &rws[n++]);
        buf += strlen(text) + 1;
    }
    return n;
}

/* ---- server status words ---- */

static const char *status_of(int admin, int has_check, int up, unsigned health)
{
    static char buf[32];
    struct stats_row r = { .type = STATS_SERVER, .admin = (enum srv_admin)admin,
                           .has_check = has_check, .check_up = up, .health = health,
                           .rise = 2, .fall = 3 };
    stats_server_status(&r, buf, sizeof(buf));
    return buf;
}

static void test_server_status_uses_haproxys_words(void)
{
    CHECK_EQ_STR(status_of(SRV_ADMIN_READY, 1, 1, 0), "UP");
    CHECK_EQ_STR(status_of(SRV_ADMIN_READY, 1, 1, 1), "UP 2/3");
    CHECK_EQ_STR(status_of(SRV_ADMIN_READY, 1, 1, 2), "UP 1/3");
    CHECK_EQ_STR(status_of(SRV_ADMIN_READY, 1, 0, 0), "DOWN");
    CHECK_EQ_STR(status_of(SRV_ADMIN_READY, 1, 0, 1), "DOWN 1/2");
    CHECK_EQ_STR(status_of(SRV_ADMIN_READY, 0, 1, 0), "no check");
    CHECK_EQ_STR(status_of(SRV_ADMIN_DRAIN, 0, 1, 0), "DRAIN");
    CHECK_EQ_STR(status_of(SRV_ADMIN_DRAIN, 1, 1, 1), "DRAIN 2/3");
    CHECK_EQ_STR(status_of(SRV_ADMIN_DRAIN, 1, 0, 0), "DOWN");
    CHECK_EQ_STR(status_of(SRV_ADMIN_MAINT, 1, 1, 0), "MAINT");
    CHECK_EQ_STR(status_of(SRV_ADMIN_MAINT, 0, 1, 0), "MAINT");
}

static void test_check_status_codes_are_haproxys(void)
{
    CHECK_EQ_INT(stats_check_status_find("UNK")->code, 0);
    CHECK_EQ_INT(stats_check_status_find("INI")->code, 1);
    CHECK_EQ_INT(stats_check_status_find("L4OK")->code, 6);
    CHECK_EQ_INT(stats_check_status_find("L4CON")->code, 8);
    CHECK_EQ_INT(stats_check_status_find("L6OK")->code, 9);
    CHECK_EQ_INT(stats_check_status_find("L7OK")->code, 15);
    CHECK_EQ_INT(stats_check_status_find("L7OK")->result, 3);
    CHECK_EQ_INT(stats_check_status_find("L7STS")->code, 17);
    CHECK_EQ_INT(stats_check_status_find("L7STS")->result, 2);
    CHECK_EQ_STR(stats_check_status_find("L4TOUT")->desc, "Layer4 timeout");
    CHECK(stats_check_status_find("L9OK") == NULL);
    CHECK(stats_check_status_find(NULL) == NULL);
}

/* ---- CSV ---- */

static void test_csv_header_is_haproxys_columns_in_order_then_wscales(void)
{
    struct strbuf out;
    RENDER(out, stats_render_csv(&snap, &out));
    CHECK(strncmp(out.data, expected_header, strlen(expected_header)) == 0);
    strbuf_free(&out);
}

static void test_csv_server_row_is_exact(void)
{
    struct strbuf out;
    RENDER(out, stats_render_csv(&snap, &out));
    const char *row = strstr(out.data, "\nweb,s1,");
    CHECK(row != NULL);
    if (row == NULL)
        return;
    const char *expected =
        "web,s1,,,5,,,200,700,9000,,,,0,0,0,0,UP,100,1,0,0,0,4000,0,,1,1,1,,200,,2,,,,"
        "L7OK,200,3,0,190,0,0,0,0,,,,210,0,0,,,,,,Layer7 check passed,,,,,,,,,"
        "Layer7 check passed,,2,3,4,,,,127.0.0.1:8001,,http,,,,,,,,,,,,,,,,,,,,,,,,100,"
        ",,,,,,,,,,,,4,150,\n";
    CHECK(strncmp(row + 1, expected, strlen(expected)) == 0);
    strbuf_free(&out);
}

static void test_csv_rows_fill_what_applies_by_column_name(void)
{
    struct strbuf out;
    RENDER(out, stats_render_csv(&snap, &out));
    char *buf = malloc((NROWS + 1) * (out.len + 1));
    struct csv_line head, r[NROWS];
    CHECK_EQ_INT(csv_parse(out.data, buf, &head, r, NROWS), NROWS);
    CHECK_EQ_INT(head.n, 114);
    for (int i = 0; i < NROWS; i++)
        CHECK_EQ_INT(r[i].n, head.n);

    /* FRONTEND: sessions, its limit, HTTP/1 counts; no backend-only field */
    CHECK_EQ_STR(csv_get(&head, &r[0], "svname"), "FRONTEND");
    CHECK_EQ_STR(csv_get(&head, &r[0], "slim"), "9000");
    CHECK_EQ_STR(csv_get(&head, &r[0], "conn_tot"), "345");
    CHECK_EQ_STR(csv_get(&head, &r[0], "h1sess"), "345");
    CHECK_EQ_STR(csv_get(&head, &r[0], "h1req"), "400");
    CHECK_EQ_STR(csv_get(&head, &r[0], "h2req"), "0");
    CHECK_EQ_STR(csv_get(&head, &r[0], "hrsp_5xx"), "2");
    CHECK_EQ_STR(csv_get(&head, &r[0], "type"), "0");
    CHECK_EQ_STR(csv_get(&head, &r[0], "sid"), "0");
    CHECK_EQ_STR(csv_get(&head, &r[0], "econ"), "");
    CHECK_EQ_STR(csv_get(&head, &r[0], "weight"), "");
    CHECK_EQ_STR(csv_get(&head, &r[0], "tunnels_cur"), "10");
    /* server going down: HAProxy's health count, the generic check text */
    CHECK_EQ_STR(csv_get(&head, &r[2], "status"), "UP 2/3");
    CHECK_EQ_STR(csv_get(&head, &r[2], "check_health"), "3");
    CHECK_EQ_STR(csv_get(&head, &r[2], "check_desc"), "Layer4 connection problem");
    CHECK_EQ_STR(csv_get(&head, &r[2], "last_chk"),
                 "Layer4 connection problem: Connection refused");
    CHECK_EQ_STR(csv_get(&head, &r[2], "check_code"), "");
    CHECK_EQ_STR(csv_get(&head, &r[2], "addr"), "[::1]:8002");
    /* in maintenance the checks are paused: no check field */
    CHECK_EQ_STR(csv_get(&head, &r[3], "status"), "MAINT");
    CHECK_EQ_STR(csv_get(&head, &r[3], "check_status"), "");
    CHECK_EQ_STR(csv_get(&head, &r[3], "bck"), "1");
    /* unchecked, draining, with a limit */
    CHECK_EQ_STR(csv_get(&head, &r[4], "status"), "DRAIN");
    CHECK_EQ_STR(csv_get(&head, &r[4], "slim"), "50");
    CHECK_EQ_STR(csv_get(&head, &r[4], "chkfail"), "");
    CHECK_EQ_STR(csv_get(&head, &r[4], "downtime"), "");
    /* BACKEND */
    CHECK_EQ_STR(csv_get(&head, &r[5], "qcur"), "2");
    CHECK_EQ_STR(csv_get(&head, &r[5], "algo"), "roundrobin");
    CHECK_EQ_STR(csv_get(&head, &r[5], "type"), "1");
    CHECK_EQ_STR(csv_get(&head, &r[5], "chkdown"), "0");
    CHECK_EQ_STR(csv_get(&head, &r[5], "ereq"), "");
    /* quoting */
    CHECK_EQ_STR(csv_get(&head, &r[6], "pxname"), ODD_NAME);
    CHECK_EQ_STR(csv_get(&head, &r[6], "svname"), "x\"y<z>");
    CHECK_EQ_STR(csv_get(&head, &r[6], "last_chk"),
                 "Layer7 wrong status, \"503\" <Service Unavailable>");
    CHECK_EQ_STR(csv_get(&head, &r[6], "status"), "DOWN 1/2");
    CHECK_EQ_STR(csv_get(&head, &r[6], "check_health"), "1");
    CHECK_EQ_STR(csv_get(&head, &r[6], "check_code"), "503");
    free(buf);
    strbuf_free(&out);
}

static void test_csv_quotes_only_ambiguous_text(void)
{
    struct strbuf out;
    RENDER(out, stats_render_csv(&snap, &out));
    CHECK(contains(&out, "\n\"a<b&\"\"c'\\\",\"x\"\"y<z>\","));
    CHECK(contains(&out, ",\"Layer7 wrong status, \"\"503\"\" <Service Unavailable>\","));
    CHECK(contains(&out, ",Layer4 connection problem: Connection refused,"));
    strbuf_free(&out);
}

static void test_csv_shows_addresses_only_with_legends(void)
{
    struct strbuf out;
    RENDER(out, (snap.show_legends = 0, stats_render_csv(&snap, &out)));
    CHECK(!contains(&out, "127.0.0.1:8001"));
    CHECK(!contains(&out, "roundrobin"));
    strbuf_free(&out);
}

static void test_csv_of_nothing_is_the_header(void)
{
    struct strbuf out;
    RENDER(out, (snap.nrows = 0, stats_render_csv(&snap, &out)));
    CHECK_EQ_STR(out.data, expected_header);
    strbuf_free(&out);
}

/* ---- show info ---- */

static void test_info_lines_are_haproxys_then_wscales(void)
{
    struct strbuf out;
    RENDER(out, stats_render_info(&snap, &out));
    CHECK_EQ_STR(out.data, "Name: wscale\n"
                           "Version: 0.1.0\n"
                           "Nbthread: 4\n"
                           "Nbproc: 1\n"
                           "Process_num: 1\n"
                           "Pid: 4242\n"
                           "Uptime: 1d 2h03m04s\n"
                           "Uptime_sec: 93784\n"
                           "Maxconn: 36000\n"
                           "CurrConns: 12\n"
                           "CumConns: 345\n"
                           "CumReq: 400\n"
                           "node: host1\n"
                           "Stopping: 0\n"
                           "Workers: 4\n"
                           "OldWorkers: 1\n"
                           "Reloads: 2\n"
                           "CurrTunnels: 10\n"
                           "CumTunnels: 300\n");
    strbuf_free(&out);
}

static void test_info_leaves_out_a_hidden_version(void)
{
    struct strbuf out;
    RENDER(out, (snap.info.version = NULL, snap.info.stopping = 1, stats_render_info(&snap, &out)));
    CHECK(!contains(&out, "Version"));
    CHECK(contains(&out, "\nStopping: 1\n"));
    strbuf_free(&out);
}

/* ---- JSON: a small validating reader that also collects, for each object
 * of "stats", its keys and values (numbers as written, strings decoded) ---- */

#define MAXPAIRS 128

struct json_object {
    char *key[MAXPAIRS];
    char *value[MAXPAIRS];
    int n;
};

struct json {
    const char *p;
    char *buf;              /* decoded strings go here */
    struct json_object *objs;
    int nobjs, max;
    int ok;
};

/* What a value is in the document: the top-level object, the "stats"
 * array, one of its objects, or anything else. */
enum role { R_TOP, R_STATS, R_ROW, R_OTHER };

static void ws(struct json *j)
{
    while (*j->p == ' ' || *j->p == '\n' || *j->p == '\r' || *j->p == '\t')
        j->p++;
}

static char *json_str(struct json *j)
{
    char *start = j->buf;
    if (*j->p != '"')
        return j->ok = 0, NULL;
    for (j->p++; *j->p != '"'; j->p++) {
        unsigned char ch = (unsigned char)*j->p;
        if (ch < 0x20)
            return j->ok = 0, NULL;
        if (ch != '\\') {
            *j->buf++ = (char)ch;
            continue;
        }
        static const char escapes[] = "\"\\/bfnrtu", decoded[] = "\"\\/\b\f\n\r\t";
        j->p++;
        const char *esc = strchr(escapes, *j->p);
        if (*j->p == '\0' || esc == NULL)
            return j->ok = 0, NULL;
        if (*j->p == 'u') {
            for (int k = 1; k <= 4; k++)
                if (!isxdigit((unsigned char)j->p[k]))
                    return j->ok = 0, NULL;
            *j->buf++ = '?';
            j->p += 4;
        } else {
            *j->buf++ = decoded[esc - escapes];
        }
    }
    j->p++;
    *j->buf++ = '\0';
    return start;
}

static char *json_value(struct json *j, enum role role);

/* An object or array; a row object records its pairs. */
static void json_container(struct json *j, enum role role)
{
    int object = *j->p == '{';
    char close = object ? '}' : ']';
    struct json_object *row = NULL;
    if (role == R_ROW && object && j->nobjs < j->max)
        row = &j->objs[j->nobjs++];
    j->p++;
    ws(j);
    if (*j->p == close) {
        j->p++;
        return;
    }
    for (;;) {
        char *key = NULL;
        ws(j);
        if (object) {
            key = json_str(j);
            ws(j);
            if (!j->ok || *j->p != ':')
                return (void)(j->ok = 0);
            j->p++;
        }
        enum role inner = role == R_TOP && key && strcmp(key, "stats") == 0 ? R_STATS
                          : role == R_STATS                                 ? R_ROW
                                                                            : R_OTHER;
        char *value = json_value(j, inner);
        if (!j->ok)
            return;
        if (row && row->n < MAXPAIRS) {
            row->key[row->n] = key;
            row->value[row->n++] = value;
        }
        ws(j);
        if (*j->p == close) {
            j->p++;
            return;
        }
        if (*j->p != ',')
            return (void)(j->ok = 0);
        j->p++;
    }
}

/* Returns numbers and strings as text; NULL for containers and literals. */
static char *json_value(struct json *j, enum role role)
{
    ws(j);
    if (*j->p == '{' || *j->p == '[') {
        json_container(j, role);
        return NULL;
    }
    if (*j->p == '"')
        return json_str(j);
    if (*j->p == '-' || isdigit((unsigned char)*j->p)) {
        char *start = j->buf;
        while (*j->p == '-' || *j->p == '.' || *j->p == 'e' || *j->p == 'E' || *j->p == '+' ||
               isdigit((unsigned char)*j->p))
            *j->buf++ = *j->p++;
        *j->buf++ = '\0';
        return start;
    }
    static const char *const literals[] = { "true", "false", "null" };
    for (size_t k = 0; k < 3; k++) {
        if (strncmp(j->p, literals[k], strlen(literals[k])) == 0) {
            j->p += strlen(literals[k]);
            return NULL;
        }
    }
    j->ok = 0;
    return NULL;
}

/* Validates a whole document. Returns the number of "stats" objects, or -1. */
static int json_parse(const char *text, char *buf, struct json_object *objs, int max)
{
    struct json j = { text, buf, objs, 0, max, 1 };
    json_value(&j, R_TOP);
    ws(&j);
    return j.ok && *j.p == '\0' ? j.nobjs : -1;
}

static const char *json_get(const struct json_object *o, const char *key)
{
    for (int i = 0; i < o->n; i++)
        if (o->key[i] && strcmp(o->key[i], key) == 0)
            return o->value[i];
    return NULL;
}

static void test_json_is_valid_and_says_what_the_csv_says(void)
{
    struct strbuf json, csv;
    RENDER(json, stats_render_json(&snap, &json));
    RENDER(csv, stats_render_csv(&snap, &csv));
    char *jbuf = malloc(json.len + 1), *cbuf = malloc((NROWS + 1) * (csv.len + 1));
    static struct json_object objs[NROWS + 1];
    memset(objs, 0, sizeof(objs));
    struct csv_line head, r[NROWS];
    CHECK_EQ_INT(json_parse(json.data, jbuf, objs, NROWS + 1), NROWS);
    CHECK_EQ_INT(csv_parse(csv.data, cbuf, &head, r, NROWS), NROWS);
    for (int i = 0; i < NROWS; i++) {
        int filled = 0;
        for (int col = 0; col < head.n; col++) {
            const char *v = json_get(&objs[i], head.field[col]);
            if (*r[i].field[col] == '\0') {
                CHECK(v == NULL); /* empty CSV fields are left out */
                continue;
            }
            filled++;
            CHECK(v != NULL && strcmp(v, r[i].field[col]) == 0);
        }
        CHECK_EQ_INT(objs[i].n, filled);
    }
    CHECK(contains(&json, "\"pxname\": \"a<b&\\\"c'\\\\\""));
    CHECK(contains(&json, "\"scur\": 12,"));
    CHECK(contains(&json, "{\"info\": {\"Name\": \"wscale\", \"Version\": \"0.1.0\","));
    CHECK(contains(&json, "\"Uptime_sec\": 93784,"));
    free(jbuf);
    free(cbuf);
    strbuf_free(&json);
    strbuf_free(&csv);
}

static void test_json_escapes_control_characters_and_bad_utf8(void)
{
    struct strbuf out;
    RENDER(out, (rows[6].check_desc = "tab\there\x01 caf\xc3\xa9 bad\xff", rows[6].svname = "\xe2\x82",
                 stats_render_json(&snap, &out)));
    CHECK(contains(&out, "\"last_chk\": \"tab\\there\\u0001 caf\xc3\xa9 bad\\ufffd\""));
    CHECK(contains(&out, "\"svname\": \"\\ufffd\\ufffd\""));
    char *buf = malloc(out.len + 1);
    static struct json_object objs[NROWS];
    CHECK_EQ_INT(json_parse(out.data, buf, objs, NROWS), NROWS);
    free(buf);
    strbuf_free(&out);
}

static void test_json_of_nothing_is_valid(void)
{
    struct strbuf out;
    RENDER(out, (snap.nrows = 0, stats_render_json(&snap, &out)));
    char *buf = malloc(out.len + 1);
    static struct json_object objs[1];
    CHECK_EQ_INT(json_parse(out.data, buf, objs, 1), 0);
    free(buf);
    strbuf_free(&out);
}

/* ---- show servers state ---- */

static const char state_header[] =
    "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight "
    "srv_iweight srv_time_since_last_change srv_check_status srv_check_result "
    "srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id "
    "srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr "
    "srv_agent_port\n";

static void test_servers_state_uses_haproxys_format_and_codes(void)
{
    struct strbuf out;
    int rc;
    RENDER(out, rc = stats_render_servers_state(&snap, NULL, &out));
    CHECK_EQ_INT(rc, 0);
    struct strbuf expected = STRBUF_INIT;
    strbuf_printf(&expected, "%s"
                  /* running, L7OK (15) passed (3), full health 2+3-1, CONFIGURED|ENABLED */
                  "1 web 1 s1 127.0.0.1 2 0 100 100 4000 15 3 4 6 0 0 0 - 8001 - 0 0 - - 0\n"
                  /* one failure: health 3; a host name is the fqdn; TLS */
                  "1 web 2 s2 ::1 2 0 50 100 65 8 2 3 6 0 0 0 backend2.local 8002 - 1 0 - - 0\n"
                  /* FMAINT|CMAINT, stopped, checks paused */
                  "1 web 3 s3 10.0.0.3 0 5 100 100 100000 1 0 0 14 0 0 0 - 80 - 0 0 - - 0\n"
                  /* FDRAIN, still running; unchecked: INI, no check state */
                  "1 web 4 s4 10.0.0.4 2 8 100 100 7 1 0 0 0 0 0 0 - 80 - 0 0 - - 0\n"
                  /* DOWN, one success of rise 2: health 1 */
                  "2 " ODD_NAME " 1 x\"y<z> 127.0.0.1 0 0 1 1 0 17 2 1 6 0 0 0 localhost 9 - 0 0 "
                  "- - 0\n",
                  state_header);
    CHECK_EQ_STR(out.data, expected.data);
    strbuf_free(&expected);
    strbuf_free(&out);
}

static void test_servers_state_of_one_backend(void)
{
    struct strbuf out;
    int rc;
    RENDER(out, rc = stats_render_servers_state(&snap, ODD_NAME, &out));
    CHECK_EQ_INT(rc, 0);
    CHECK(strncmp(out.data, state_header, strlen(state_header)) == 0);
    CHECK(!contains(&out, " web "));
    CHECK(contains(&out, "\n2 " ODD_NAME " 1 "));
    strbuf_free(&out);
}

static void test_servers_state_of_an_unknown_backend_is_refused(void)
{
    struct strbuf out = STRBUF_INIT;
    fixture();
    CHECK_EQ_INT(stats_render_servers_state(&snap, "nope", &out), -1);
    CHECK_EQ_INT(stats_render_servers_state(&snap, "s1", &out), -1);
    CHECK_EQ_INT(out.len, 0);
    strbuf_free(&out);
}

static void test_servers_state_keeps_names_on_one_line(void)
{
    struct strbuf out;
    RENDER(out, (rows[6].svname = "bad name\nx", stats_render_servers_state(&snap, NULL, &out)));
    CHECK(contains(&out, " 1 bad_name_x 127.0.0.1 "));
    strbuf_free(&out);
}

/* ---- HTML ---- */

static const struct stats_page page = { "/stats", 5, 0 };

static void test_html_marks_every_row_for_tests(void)
{
    struct strbuf out;
    RENDER(out, stats_render_html(&snap, &page, &out));
    CHECK(contains(&out, "<tr class=\"frontend st-up\" data-proxy=\"web\" "
                         "data-server=\"FRONTEND\" data-status=\"OPEN\">"));
    CHECK(contains(&out, "<tr class=\"server st-up\" data-proxy=\"web\" data-server=\"s1\" "
                         "data-status=\"UP\">"));
    CHECK(contains(&out, "<tr class=\"server st-going-down\" data-proxy=\"web\" "
                         "data-server=\"s2\" data-status=\"UP 2/3\">"));
    CHECK(contains(&out, "<tr class=\"server st-maint backup\" data-proxy=\"web\" "
                         "data-server=\"s3\" data-status=\"MAINT\">"));
    CHECK(contains(&out, "<tr class=\"server st-drain\" data-proxy=\"web\" data-server=\"s4\" "
                         "data-status=\"DRAIN\">"));
    CHECK(contains(&out, "<tr class=\"backend st-up\" data-proxy=\"web\" "
                         "data-server=\"BACKEND\" data-status=\"UP\">"));
    CHECK(contains(&out, "<tr class=\"server st-going-up\" data-proxy=\"a&lt;b&amp;&quot;c&#39;\\\" "
                         "data-server=\"x&quot;y&lt;z&gt;\" data-status=\"DOWN 1/2\">"));
    CHECK(contains(&out, "<tr class=\"backend st-down\" "));
    strbuf_free(&out);
}

static void test_html_escapes_every_string(void)
{
    struct strbuf out;
    RENDER(out, stats_render_html(&snap, &page, &out));
    CHECK(!contains(&out, "a<b"));
    CHECK(!contains(&out, "<z>"));
    CHECK(!contains(&out, "<Service"));
    CHECK(contains(&out, "<h2>a&lt;b&amp;&quot;c&#39;\\</h2>"));
    CHECK(contains(&out, "title=\"Layer7 wrong status, &quot;503&quot; &lt;Service "
                         "Unavailable&gt;\">L7STS/503 in 20ms</td>"));
    strbuf_free(&out);
}

static void test_html_is_one_document_without_script(void)
{
    struct strbuf out;
    RENDER(out, stats_render_html(&snap, &page, &out));
    CHECK(strncmp(out.data, "<!DOCTYPE html>\n<html", 21) == 0);
    CHECK(contains(&out, "<meta http-equiv=\"refresh\" content=\"5\">"));
    CHECK(contains(&out, "<a href=\"/stats;csv\">CSV</a>"));
    CHECK(contains(&out, "<a href=\"/stats?json\">JSON</a>"));
    CHECK(contains(&out, "<style>"));
    CHECK(!contains(&out, "<script"));
    CHECK(!contains(&out, "http://"));
    CHECK(!contains(&out, "https://"));
    CHECK(!contains(&out, "src="));
    CHECK(contains(&out, "0.1.0"));
    CHECK(contains(&out, "</html>\n"));
    strbuf_free(&out);
}

static void test_html_shows_the_deploy_at_a_glance(void)
{
    struct strbuf out;
    RENDER(out, stats_render_html(&snap, &page, &out));
    CHECK(contains(&out, "<dt>Uptime</dt><dd>1d 2h03m04s</dd>"));
    CHECK(contains(&out, "<div class=\"attention\"><dt>Old workers</dt><dd>1</dd></div>"));
    CHECK(contains(&out, "<dt>Reloads</dt><dd>2</dd>"));
    CHECK(contains(&out, "<dt>Tunnels</dt><dd>10 (300 total)</dd>"));
    CHECK(contains(&out, "<td title=\"3000000 bytes\">2.9 MiB</td>"));
    CHECK(contains(&out, "<td title=\"4000 s\">1h06m</td>"));  /* last change */
    CHECK(contains(&out, "<td title=\"90000 s\">1d01h</td>")); /* downtime */
    CHECK(contains(&out, "<td>50 <small>of 100</small></td>"));
    CHECK(contains(&out, "L7OK/200 in 3ms"));
    strbuf_free(&out);
}

static void test_html_without_refresh_or_version(void)
{
    struct strbuf out;
    const struct stats_page quiet = { "/s<", 0, 1 };
    RENDER(out, (snap.info.stopping = 1, stats_render_html(&snap, &quiet, &out)));
    CHECK(!contains(&out, "http-equiv"));
    CHECK(!contains(&out, "0.1.0"));
    CHECK(contains(&out, "<a href=\"/s&lt;;csv\">"));
    CHECK(contains(&out, "class=\"banner\""));
    strbuf_free(&out);
}

/* ---- Prometheus: every line well-formed, each family announced once ---- */

static int metric_name_ok(const char *p, size_t len)
{
    if (len == 0 || !(isalpha((unsigned char)p[0]) || p[0] == '_' || p[0] == ':'))
        return 0;
    for (size_t i = 1; i < len; i++)
        if (!(isalnum((unsigned char)p[i]) || p[i] == '_' || p[i] == ':'))
            return 0;
    return 1;
}

/* Checks one sample line of family `fam`; returns 1 if well-formed. */
static int sample_ok(const char *line, const char *fam)
{
    size_t n = strcspn(line, "{ ");
    if (!metric_name_ok(line, n) || strlen(fam) != n || strncmp(line, fam, n) != 0)
        return 0;
    const char *p = line + n;
    if (*p == '{') {
        p++;
        while (*p != '}') {
            size_t k = strcspn(p, "=");
            if (!metric_name_ok(p, k) || p[k] != '=' || p[k + 1] != '"')
                return 0;
            for (p += k + 2; *p != '"'; p++) {
                if (*p == '\0' || *p == '\n')
                    return 0;
                if (*p == '\\' && !strchr("\\\"n", *++p))
                    return 0;
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return 0;
        }
        p++;
    }
    if (*p++ != ' ')
        return 0;
    char *end;
    strtod(p, &end);
    return end != p && *end == '\0';
}

static void test_prometheus_is_well_formed(void)
{
    struct strbuf out;
    RENDER(out, stats_render_prometheus(&snap, &out));
    char *text = strdup(out.data), *save = NULL;
    char fam[128] = "", seen[8192] = " ";
    int state = 0; /* 0: expect HELP, 1: expect TYPE, 2: samples */
    int lines = 0, bad = 0;
    for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        lines++;
        if (strncmp(line, "# HELP ", 7) == 0) {
            size_t n = strcspn(line + 7, " ");
            snprintf(fam, sizeof(fam), "%.*s", (int)n, line + 7);
            char mark[140];
            snprintf(mark, sizeof(mark), " %s ", fam);
            if (!metric_name_ok(fam, strlen(fam)) || strstr(seen, mark) || line[7 + n] != ' ') {
                fprintf(stderr, "  bad or repeated HELP: %s\n", line);
                bad++;
            }
            strncat(seen, mark + 1, sizeof(seen) - strlen(seen) - 1);
            state = 1;
        } else if (strncmp(line, "# TYPE ", 7) == 0) {
            char expect_counter[160], expect_gauge[160];
            snprintf(expect_counter, sizeof(expect_counter), "# TYPE %s counter", fam);
            snprintf(expect_gauge, sizeof(expect_gauge), "# TYPE %s gauge", fam);
            int counter = strcmp(line, expect_counter) == 0;
            size_t n = strlen(fam);
            if (state != 1 || (!counter && strcmp(line, expect_gauge) != 0) ||
                counter != (n > 6 && strcmp(fam + n - 6, "_total") == 0)) {
                fprintf(stderr, "  bad TYPE: %s\n", line);
                bad++;
            }
            state = 2;
        } else if (state != 2 || !sample_ok(line, fam)) {
            fprintf(stderr, "  bad sample: %s\n", line);
            bad++;
        }
    }
    CHECK_EQ_INT(bad, 0);
    CHECK(lines > 100);
    CHECK(out.data[out.len - 1] == '\n');
    free(text);
    strbuf_free(&out);
}

static void test_prometheus_names_and_labels_follow_haproxys_exporter(void)
{
    struct strbuf out;
    RENDER(out, stats_render_prometheus(&snap, &out));
    CHECK(contains(&out, "\nwscale_process_build_info{version=\"0.1.0\"} 1\n"));
    CHECK(contains(&out, "\nwscale_process_workers 4\n"));
    CHECK(contains(&out, "\nwscale_process_old_workers 1\n"));
    CHECK(contains(&out, "\nwscale_process_reloads_total 2\n"));
    CHECK(contains(&out, "\nwscale_process_uptime_seconds 93784\n"));
    CHECK(contains(&out, "\nwscale_frontend_current_sessions{proxy=\"web\"} 12\n"));
    CHECK(contains(&out, "\nwscale_frontend_status{proxy=\"web\",state=\"UP\"} 1\n"));
    CHECK(contains(&out, "\nwscale_frontend_http_responses_total{proxy=\"web\",code=\"2xx\"} 380\n"));
    CHECK(contains(&out, "\nwscale_frontend_current_tunnels{proxy=\"web\"} 10\n"));
    CHECK(contains(&out, "\nwscale_backend_current_queue{proxy=\"web\"} 2\n"));
    CHECK(contains(&out, "\nwscale_backend_agg_server_status{proxy=\"web\",state=\"UP\"} 2\n"));
    CHECK(contains(&out, "\nwscale_backend_agg_server_status{proxy=\"web\",state=\"MAINT\"} 1\n"));
    CHECK(contains(&out, "\nwscale_backend_agg_server_status{proxy=\"web\",state=\"DRAIN\"} 1\n"));
    CHECK(contains(&out, "\nwscale_backend_agg_check_status{proxy=\"web\",state=\"L4CON\"} 1\n"));
    CHECK(contains(&out, "\nwscale_server_status{proxy=\"web\",server=\"s1\",state=\"UP\"} 1\n"));
    CHECK(contains(&out, "\nwscale_server_status{proxy=\"web\",server=\"s1\",state=\"DOWN\"} 0\n"));
    CHECK(contains(&out, "\nwscale_server_status{proxy=\"web\",server=\"s3\",state=\"MAINT\"} 1\n"));
    CHECK(contains(&out, "\nwscale_server_status{proxy=\"web\",server=\"s4\",state=\"DRAIN\"} 1\n"));
    CHECK(contains(&out, "\nwscale_server_check_status{proxy=\"web\",server=\"s1\",state=\"L7OK\"} 1\n"));
    CHECK(contains(&out, "\nwscale_server_check_status{proxy=\"web\",server=\"s1\",state=\"L4CON\"} 0\n"));
    CHECK(contains(&out, "\nwscale_server_check_code{proxy=\"web\",server=\"s1\"} 200\n"));
    CHECK(contains(&out, "\nwscale_server_check_duration_seconds{proxy=\"web\",server=\"s1\"} 0.003\n"));
    CHECK(contains(&out, "\nwscale_server_weight{proxy=\"web\",server=\"s2\"} 50\n"));
    CHECK(contains(&out, "\nwscale_server_current_tunnels{proxy=\"web\",server=\"s1\"} 4\n"));
    /* label values escaped; a DOWN backend */
    CHECK(contains(&out, "\nwscale_backend_status{proxy=\"a<b&\\\"c'\\\\\",state=\"DOWN\"} 1\n"));
    CHECK(contains(&out, "{proxy=\"a<b&\\\"c'\\\\\",server=\"x\\\"y<z>\"}"));
    /* nothing made up: no check samples for the unchecked or paused servers */
    CHECK(!contains(&out, "wscale_server_check_status{proxy=\"web\",server=\"s3\""));
    CHECK(!contains(&out, "wscale_server_check_status{proxy=\"web\",server=\"s4\""));
    CHECK(!contains(&out, "wscale_server_check_failures_total{proxy=\"web\",server=\"s4\"}"));
    CHECK(!contains(&out, "wscale_server_limit_sessions{proxy=\"web\",server=\"s1\"}"));
    CHECK(contains(&out, "\nwscale_server_limit_sessions{proxy=\"web\",server=\"s4\"} 50\n"));
    strbuf_free(&out);
}

static void test_prometheus_label_escapes_newlines(void)
{
    struct strbuf out;
    RENDER(out, (rows[6].svname = "a\nb", stats_render_prometheus(&snap, &out)));
    CHECK(contains(&out, "server=\"a\\nb\""));
    strbuf_free(&out);
}

int main(void)
{
    RUN(test_server_status_uses_haproxys_words);
    RUN(test_check_status_codes_are_haproxys);
    RUN(test_csv_header_is_haproxys_columns_in_order_then_wscales);
    RUN(test_csv_server_row_is_exact);
    RUN(test_csv_rows_fill_what_applies_by_column_name);
    RUN(test_csv_quotes_only_ambiguous_text);
    RUN(test_csv_shows_addresses_only_with_legends);
    RUN(test_csv_of_nothing_is_the_header);
    RUN(test_info_lines_are_haproxys_then_wscales);
    RUN(test_info_leaves_out_a_hidden_version);
    RUN(test_json_is_valid_and_says_what_the_csv_says);
    RUN(test_json_escapes_control_characters_and_bad_utf8);
    RUN(test_json_of_nothing_is_valid);
    RUN(test_servers_state_uses_haproxys_format_and_codes);
    RUN(test_servers_state_of_one_backend);
    RUN(test_servers_state_of_an_unknown_backend_is_refused);
    RUN(test_servers_state_keeps_names_on_one_line);
    RUN(test_html_marks_every_row_for_tests);
    RUN(test_html_escapes_every_string);
    RUN(test_html_is_one_document_without_script);
    RUN(test_html_shows_the_deploy_at_a_glance);
    RUN(test_html_without_refresh_or_version);
    RUN(test_prometheus_is_well_formed);
    RUN(test_prometheus_names_and_labels_follow_haproxys_exporter);
    RUN(test_prometheus_label_escapes_newlines);
    return unit_report("stats");
}
