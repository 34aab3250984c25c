/* stats-page.c — stats_render_html (see stats.h): the page an operator
 * keeps open during a deploy. One document, inline CSS, no script: the
 * process (workers old and new, reloads, connections and tunnels), then a
 * table per proxy in HAProxy's spirit: its FRONTEND row, a row per server,
 * its BACKEND row, coloured by status.
 *
 * Every row is a <tr class="frontend|server|backend ..."> with data-proxy,
 * data-server (the CSV's svname) and data-status (the status as shown), so
 * tests can find it. Every string from the snapshot is HTML-escaped. */
#include "stats.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static void put(struct strbuf *out, const char *s)
{
    strbuf_append(out, s, strlen(s));
}

/* Text or attribute value: the five characters HTML gives meaning to. */
static void esc(struct strbuf *out, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        switch (*p) {
        case '&': put(out, "&amp;"); break;
        case '<': put(out, "&lt;"); break;
        case '>': put(out, "&gt;"); break;
        case '"': put(out, "&quot;"); break;
        case '\'': put(out, "&#39;"); break;
        default: strbuf_append(out, p, 1);
        }
    }
}

/* "42s", "3m07s", "2h05m", "4d03h": two units are enough to read a change. */
static void human_duration(char *buf, size_t size, int64_t s)
{
    if (s < 0)
        snprintf(buf, size, "-");
    else if (s < 60)
        snprintf(buf, size, "%" PRId64 "s", s);
    else if (s < 3600)
        snprintf(buf, size, "%" PRId64 "m%02" PRId64 "s", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, size, "%" PRId64 "h%02" PRId64 "m", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, size, "%" PRId64 "d%02" PRId64 "h", s / 86400, s % 86400 / 3600);
}

/* "512 B", "1.5 KiB", "3.2 GiB". */
static void human_bytes(char *buf, size_t size, uint64_t n)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB", "EiB" };
    if (n < 1024) {
        snprintf(buf, size, "%" PRIu64 " B", n);
        return;
    }
    double v = (double)n / 1024;
    size_t u = 0;
    while (v >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
        v /= 1024;
        u++;
    }
    snprintf(buf, size, "%.1f %s", v, units[u]);
}

/* The colour class of a status as shown ("UP", "UP 2/3", "DOWN 1/2", ...). */
static const char *status_class(const char *status)
{
    if (status == NULL)
        return "st-other";
    int moving = strchr(status, ' ') != NULL && strcmp(status, "no check") != 0;
    if (strncmp(status, "UP", 2) == 0 || strcmp(status, "OPEN") == 0)
        return moving ? "st-going-down" : "st-up";
    if (strncmp(status, "DOWN", 4) == 0 || strcmp(status, "STOP") == 0)
        return moving ? "st-going-up" : "st-down";
    if (strncmp(status, "DRAIN", 5) == 0)
        return "st-drain";
    if (strncmp(status, "MAINT", 5) == 0)
        return "st-maint";
    if (strcmp(status, "no check") == 0)
        return "st-nocheck";
    return "st-other";
}

static const char page_style[] =
    "body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;"
    "color:#1f2328;background:#fafafa}"
    "header{background:#24292f;color:#fff;padding:12px 20px}"
    "header h1{margin:0 0 6px;font-size:20px}header h1 .version{font-weight:normal;"
    "font-size:14px;color:#c9d1d9;margin-left:8px}"
    "header a{color:#9ecbff}"
    "dl.process{display:flex;flex-wrap:wrap;gap:6px 24px;margin:8px 0 0}"
    "dl.process div{display:flex;gap:6px}dl.process dt{color:#c9d1d9}"
    "dl.process dd{margin:0;font-weight:bold}"
    "dl.process .attention dd{color:#ffd33d}"
    ".banner{background:#d73a49;color:#fff;padding:6px 20px;font-weight:bold}"
    "main{padding:8px 20px 20px}"
    "section.proxy{margin:16px 0}section.proxy h2{font-size:16px;margin:0 0 4px}"
    "table{border-collapse:collapse;background:#fff;font-variant-numeric:tabular-nums}"
    "th,td{border:1px solid #d0d7de;padding:2px 6px;text-align:right;white-space:nowrap}"
    "th{background:#eaeef2;font-weight:600;text-align:center}"
    "td.name,td.status,td.check{text-align:left}"
    "tr.frontend td,tr.backend td{font-weight:600}"
    "tr.frontend td.name,tr.backend td.name{background:#eaeef2}"
    ".badge{display:inline-block;min-width:4.5em;padding:0 6px;border-radius:3px;"
    "color:#fff;font-weight:600;text-align:center}"
    ".tag{font-size:11px;color:#57606a;margin-left:4px}"
    "small{color:#57606a}"
    "tr.st-up{background:#e6f6e6}.st-up .badge{background:#1a7f37}"
    "tr.st-going-down{background:#fff8c5}.st-going-down .badge{background:#9a6700}"
    "tr.st-going-up{background:#ffe5c2}.st-going-up .badge{background:#bc4c00}"
    "tr.st-down{background:#ffe0e0}.st-down .badge{background:#cf222e}"
    "tr.st-drain{background:#ddeeff}.st-drain .badge{background:#0969da}"
    "tr.st-maint{background:#efe4d6}.st-maint .badge{background:#8a5a20}"
    "tr.st-nocheck{background:#f0f4f0}.st-nocheck .badge{background:#6e7781}"
    ".st-other .badge{background:#6e7781}"
    ".legend{margin-top:16px;color:#57606a}.legend .badge{min-width:0;margin-right:4px}"
    ".legend span.item{margin-right:14px}";

static void process_item(struct strbuf *out, const char *name, const char *value, int attention)
{
    put(out, attention ? "<div class=\"attention\"><dt>" : "<div><dt>");
    put(out, name);
    put(out, "</dt><dd>");
    esc(out, value);
    put(out, "</dd></div>");
}

static void render_header(const struct stats_snapshot *st, const struct stats_page *page,
                          struct strbuf *out)
{
    const struct stats_info *i = &st->info;
    char buf[64];
    put(out, "<header><h1>wscale");
    if (!page->hide_version && i->version) {
        put(out, "<span class=\"version\">");
        esc(out, i->version);
        put(out, "</span>");
    }
    put(out, "</h1><dl class=\"process\">");
    snprintf(buf, sizeof(buf), "%" PRIu64 "d %" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s",
             i->uptime_s / 86400, i->uptime_s % 86400 / 3600, i->uptime_s % 3600 / 60,
             i->uptime_s % 60);
    process_item(out, "Uptime", buf, 0);
    snprintf(buf, sizeof(buf), "%u", i->workers);
    process_item(out, "Workers", buf, 0);
    snprintf(buf, sizeof(buf), "%u", i->old_workers);
    process_item(out, "Old workers", buf, i->old_workers > 0);
    snprintf(buf, sizeof(buf), "%u", i->reloads);
    process_item(out, "Reloads", buf, 0);
    snprintf(buf, sizeof(buf), "%" PRIu64 " (%" PRIu64 " total)", i->cur_conns, i->cum_conns);
    process_item(out, "Connections", buf, 0);
    snprintf(buf, sizeof(buf), "%" PRIu64 " (%" PRIu64 " total)", i->cur_tunnels,
             i->cum_tunnels);
    process_item(out, "Tunnels", buf, 0);
    snprintf(buf, sizeof(buf), "%ld", i->pid);
    process_item(out, "Pid", buf, 0);
    if (i->node)
        process_item(out, "Node", i->node, 0);
    put(out, "</dl><p>");
    put(out, "<a href=\"");
    esc(out, page->uri);
    put(out, ";csv\">CSV</a> &middot; <a href=\"");
    esc(out, page->uri);
    put(out, "?json\">JSON</a>");
    if (page->refresh_s > 0)
        strbuf_printf(out, " &middot; refreshes every %u s", page->refresh_s);
    put(out, "</p></header>\n");
    if (i->stopping)
        put(out, "<p class=\"banner\">Stopping: no new connections, open ones are draining.</p>\n");
}

static const char table_head[] =
    "<table><thead><tr><th rowspan=\"2\">Name</th><th rowspan=\"2\">Status</th>"
    "<th rowspan=\"2\">Last check</th><th rowspan=\"2\">Weight</th>"
    "<th rowspan=\"2\">Queue</th><th colspan=\"3\">Sessions</th>"
    "<th colspan=\"2\">Tunnels</th><th colspan=\"2\">Bytes</th>"
    "<th colspan=\"4\">Responses</th><th colspan=\"3\">Errors</th>"
    "<th colspan=\"2\">Warnings</th><th rowspan=\"2\">Last change</th>"
    "<th rowspan=\"2\">Downtime</th></tr>\n"
    "<tr><th>Cur</th><th>Limit</th><th>Total</th><th>Cur</th><th>Total</th>"
    "<th>In</th><th>Out</th><th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th>"
    "<th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th></tr></thead>\n<tbody>\n";

static void cell_empty(struct strbuf *out)
{
    put(out, "<td></td>");
}

static void cell_uint(struct strbuf *out, uint64_t v)
{
    strbuf_printf(out, "<td>%" PRIu64 "</td>", v);
}

static void cell_bytes(struct strbuf *out, uint64_t v)
{
    char buf[32];
    human_bytes(buf, sizeof(buf), v);
    strbuf_printf(out, "<td title=\"%" PRIu64 " bytes\">%s</td>", v, buf);
}

static void cell_duration(struct strbuf *out, int64_t s)
{
    char buf[32];
    human_duration(buf, sizeof(buf), s);
    strbuf_printf(out, "<td title=\"%" PRId64 " s\">%s</td>", s, buf);
}

static void cell_name(const struct stats_snapshot *st, const struct stats_row *r,
                      struct strbuf *out)
{
    const char *legend = !st->show_legends ? NULL
                         : r->type == STATS_SERVER ? r->addr
                         : r->type == STATS_BACKEND ? r->algo : NULL;
    put(out, "<td class=\"name\"");
    if (legend) {
        put(out, " title=\"");
        esc(out, legend);
        put(out, "\"");
    }
    put(out, ">");
    if (r->type == STATS_FRONTEND)
        put(out, "Frontend");
    else if (r->type == STATS_BACKEND)
        put(out, "Backend");
    else
        esc(out, r->svname);
    if (r->type == STATS_SERVER && r->bck)
        put(out, "<span class=\"tag\">backup</span>");
    put(out, "</td>");
}

/* "L7OK/200 in 3ms", the description as a tooltip. */
static void cell_check(const struct stats_row *r, struct strbuf *out)
{
    if (r->type != STATS_SERVER || !r->has_check) {
        cell_empty(out);
        return;
    }
    put(out, "<td class=\"check\" title=\"");
    esc(out, r->check_desc);
    put(out, "\">");
    esc(out, r->check_status);
    if (r->check_code > 0)
        strbuf_printf(out, "/%d", r->check_code);
    if (r->check_duration_ms >= 0)
        strbuf_printf(out, " in %dms", r->check_duration_ms);
    put(out, "</td>");
}

static void cell_weight(const struct stats_row *r, struct strbuf *out)
{
    if (r->type == STATS_FRONTEND)
        cell_empty(out);
    else if (r->type == STATS_SERVER && r->weight != r->iweight)
        strbuf_printf(out, "<td>%u <small>of %u</small></td>", r->weight, r->iweight);
    else
        cell_uint(out, r->weight);
}

static void render_row(const struct stats_snapshot *st, const struct stats_row *r,
                       struct strbuf *out)
{
    static const char *const kinds[] = { "frontend", "backend", "server" };
    const struct stats_counters *c = &r->c;
    int fe = r->type == STATS_FRONTEND, srv = r->type == STATS_SERVER;

    strbuf_printf(out, "<tr class=\"%s %s%s\" data-proxy=\"", kinds[r->type],
                  status_class(r->status), srv && r->bck ? " backup" : "");
    esc(out, r->pxname);
    put(out, "\" data-server=\"");
    esc(out, r->svname);
    put(out, "\" data-status=\"");
    esc(out, r->status);
    put(out, "\">");
    cell_name(st, r, out);
    put(out, "<td class=\"status\"><span class=\"badge\">");
    esc(out, r->status);
    put(out, "</span></td>");
    cell_check(r, out);
    cell_weight(r, out);
    if (r->type == STATS_BACKEND)
        cell_uint(out, c->qcur);
    else
        cell_empty(out);
    cell_uint(out, c->cur);
    if (fe || (srv && r->slim))
        cell_uint(out, r->slim);
    else
        cell_empty(out);
    cell_uint(out, c->tot);
    cell_uint(out, c->tunnels_cur);
    cell_uint(out, c->tunnels_tot);
    cell_bytes(out, c->bytes_in);
    cell_bytes(out, c->bytes_out);
    for (int k = 2; k <= 5; k++)
        cell_uint(out, c->hrsp[k - 1]);
    if (fe) {
        cell_uint(out, c->ereq);
        for (int k = 0; k < 4; k++)
            cell_empty(out);
    } else {
        cell_empty(out);
        cell_uint(out, c->econ);
        cell_uint(out, c->eresp);
        cell_uint(out, c->wretr);
        cell_uint(out, c->wredis);
    }
    if (fe)
        cell_empty(out);
    else
        cell_duration(out, r->lastchg_s);
    if (r->type == STATS_BACKEND || (srv && r->has_check))
        cell_duration(out, (int64_t)r->downtime_s);
    else
        cell_empty(out);
    put(out, "</tr>\n");
}

static void render_legend(struct strbuf *out)
{
    static const char *const items[][3] = {
        { "st-up", "UP", "" },
        { "st-going-down", "UP 2/3", "failing checks (2 more to DOWN)" },
        { "st-going-up", "DOWN 1/2", "passing checks (1 of 2 to UP)" },
        { "st-down", "DOWN", "" },
        { "st-drain", "DRAIN", "no new balanced traffic" },
        { "st-maint", "MAINT", "no new traffic" },
        { "st-nocheck", "no check", "UP, not checked" },
    };
    put(out, "<p class=\"legend\">");
    for (size_t k = 0; k < sizeof(items) / sizeof(items[0]); k++)
        strbuf_printf(out, "<span class=\"item %s\"><span class=\"badge\">%s</span>%s</span>",
                      items[k][0], items[k][1], items[k][2]);
    put(out, "</p>\n");
}

void stats_render_html(const struct stats_snapshot *st, const struct stats_page *page,
                       struct strbuf *out)
{
    put(out, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    if (page->refresh_s > 0)
        strbuf_printf(out, "<meta http-equiv=\"refresh\" content=\"%u\">", page->refresh_s);
    put(out, "<title>wscale stats</title><style>");
    put(out, page_style);
    put(out, "</style></head>\n<body>\n");
    render_header(st, page, out);
    put(out, "<main>\n");
    for (size_t i = 0; i < st->nrows;) {
        /* A proxy's rows are consecutive: FRONTEND, servers, BACKEND. */
        size_t end = i + 1;
        while (end < st->nrows && st->rows[end].iid == st->rows[i].iid)
            end++;
        put(out, "<section class=\"proxy\" data-proxy=\"");
        esc(out, st->rows[i].pxname);
        put(out, "\"><h2>");
        esc(out, st->rows[i].pxname);
        put(out, "</h2>");
        put(out, table_head);
        for (; i < end; i++)
            render_row(st, &st->rows[i], out);
        put(out, "</tbody></table></section>\n");
    }
    render_legend(out);
    put(out, "</main>\n</body></html>\n");
}
