/* stats-http.c — see stats-http.h. */
#include "stats-http.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "snapshot.h"
#include "stream.h"

enum format { FMT_HTML, FMT_CSV, FMT_JSON, FMT_PROMETHEUS };

static const struct proxy *stats_proxy(const struct proxy *fe)
{
    if (fe->stats_enabled)
        return fe;
    return fe->backend && fe->backend->stats_enabled ? fe->backend : NULL;
}

static const char *prometheus_uri(const struct proxy *fe)
{
    if (fe->prometheus_uri)
        return fe->prometheus_uri;
    return fe->backend ? fe->backend->prometheus_uri : NULL;
}

/* The path of a target: up to its query string. */
static size_t path_len(const struct http_request *req)
{
    const char *q = memchr(req->target, '?', req->target_len);
    return q ? (size_t)(q - req->target) : req->target_len;
}

/* Whether the options after the stats uri name `word` (";csv", "?json"). */
static int has_option(const char *opts, size_t len, const char *word)
{
    size_t wl = strlen(word);
    for (size_t i = 0; i < len;) {
        while (i < len && (opts[i] == ';' || opts[i] == '?' || opts[i] == '&'))
            i++;
        size_t start = i;
        while (i < len && opts[i] != ';' && opts[i] != '?' && opts[i] != '&')
            i++;
        if (i - start == wl && memcmp(opts + start, word, wl) == 0)
            return 1;
    }
    return 0;
}

/* HTTP Basic credentials against the "stats auth" list. */
static int authorized(const struct proxy *px, const struct http_request *req)
{
    if (px->nstats_auth == 0)
        return 1;
    const struct http_header *h = http_header_find(req, "authorization");
    if (h == NULL || h->value_len < 7 || strncasecmp(h->value, "Basic ", 6) != 0)
        return 0;
    const char *b64 = h->value + 6;
    size_t n = h->value_len - 6;
    while (n > 0 && *b64 == ' ')
        b64++, n--;
    unsigned char decoded[512];
    if (n == 0 || n % 4 != 0 || n / 4 * 3 > sizeof(decoded))
        return 0;
    int len = EVP_DecodeBlock(decoded, (const unsigned char *)b64, (int)n);
    if (len < 0)
        return 0;
    len -= (b64[n - 1] == '=') + (b64[n - 2] == '='); /* padding decodes to zeros */
    for (size_t i = 0; i < px->nstats_auth; i++) {
        size_t want = strlen(px->stats_auth[i]);
        if ((size_t)len == want && CRYPTO_memcmp(decoded, px->stats_auth[i], want) == 0)
            return 1;
    }
    return 0;
}

/* Options after the stats uri, as HAProxy's: ";norefresh", and ";no-maint"
 * and ";up" that leave servers out of every format. */
struct page_options {
    int norefresh;
    int hide_maint; /* servers in maintenance */
    int hide_down;  /* those, and servers DOWN and not on their way back up */
};

static void hide_servers(struct stats_snapshot *st, const struct page_options *o)
{
    size_t n = 0;
    for (size_t i = 0; i < st->nrows; i++) {
        const struct stats_row *r = &st->rows[i];
        int hidden = r->type == STATS_SERVER &&
                     (((o->hide_maint || o->hide_down) && r->admin == SRV_ADMIN_MAINT) ||
                      (o->hide_down && r->status && strcmp(r->status, "DOWN") == 0));
        if (!hidden)
            st->rows[n++] = *r;
    }
    st->nrows = n;
}

static void serve(struct lb *lb, struct stream *s, const struct proxy *px, enum format fmt,
                  const struct page_options *o)
{
    struct stats_snapshot st;
    if (stats_snapshot_build(&st, lb->cfg, &lb->reg) != 0) {
        txn_reply(lb, s, 500, "LR");
        return;
    }
    hide_servers(&st, o);
    struct strbuf body = STRBUF_INIT;
    const char *type = "text/plain; charset=utf-8";
    if (px && px->stats_hide_version)
        st.info.version = NULL;
    st.show_legends = px && px->stats_show_legends;
    switch (fmt) {
    case FMT_HTML: {
        struct stats_page page = { .uri = px->stats_uri,
                                   .refresh_s = o->norefresh ? 0 : px->stats_refresh / 1000,
                                   .hide_version = px->stats_hide_version };
        stats_render_html(&st, &page, &body);
        type = "text/html; charset=utf-8";
        break;
    }
    case FMT_CSV:
        stats_render_csv(&st, &body);
        break;
    case FMT_JSON:
        stats_render_json(&st, &body);
        type = "application/json";
        break;
    case FMT_PROMETHEUS:
        stats_render_prometheus(&st, &body);
        type = "text/plain; version=0.0.4; charset=utf-8";
        break;
    }
    stats_snapshot_free(&st);
    if (body.failed)
        txn_reply(lb, s, 500, "LR");
    else
        txn_answer(lb, s, 200, "LR", "", type, body.data ? body.data : "", body.len);
    strbuf_free(&body);
}

int stats_http_serve(struct lb *lb, struct stream *s, const struct http_request *req)
{
    const struct proxy *fe = stream_frontend(s);
    const struct proxy *px = stats_proxy(fe);
    const char *prom = prometheus_uri(fe);
    enum format fmt;
    struct page_options o = { 0 };
    size_t plen = path_len(req);
    if (prom && plen == strlen(prom) && memcmp(req->target, prom, plen) == 0) {
        fmt = FMT_PROMETHEUS;
    } else if (px && req->target_len >= strlen(px->stats_uri) &&
               memcmp(req->target, px->stats_uri, strlen(px->stats_uri)) == 0) {
        const char *opts = req->target + strlen(px->stats_uri);
        size_t olen = req->target_len - strlen(px->stats_uri);
        fmt = has_option(opts, olen, "csv") ? FMT_CSV : has_option(opts, olen, "json") ? FMT_JSON
                                                                                         : FMT_HTML;
        o.norefresh = has_option(opts, olen, "norefresh");
        o.hide_maint = has_option(opts, olen, "no-maint");
        o.hide_down = has_option(opts, olen, "up");
    } else {
        return 0;
    }
    if (!http_method_is(req, "GET") && !http_method_is(req, "HEAD")) {
        char allow[] = "Allow: GET, HEAD\r\n";
        char body[] = "<html><body><h1>405 Method Not Allowed</h1></body></html>\n";
        txn_answer(lb, s, 405, "LR", allow, "text/html", body, sizeof(body) - 1);
        return 1;
    }
    if (fmt != FMT_PROMETHEUS && !authorized(px, req)) {
        char realm[200];
        snprintf(realm, sizeof(realm), "WWW-Authenticate: Basic realm=\"%s\"\r\n",
                 px->stats_realm ? px->stats_realm : "wscale statistics");
        char body[] = "<html><body><h1>401 Unauthorized</h1>\nThis page needs a user name and "
                      "a password.\n</body></html>\n";
        txn_answer(lb, s, 401, "LR", realm, "text/html", body, sizeof(body) - 1);
        return 1;
    }
    serve(lb, s, fmt == FMT_PROMETHEUS ? NULL : px, fmt, &o);
    return 1;
}
