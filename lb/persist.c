/* persist.c — see persist.h. */
#include "persist.h"

#include <stdlib.h>
#include <string.h>

#include "balance.h"
#include "cookie.h"

#define FUTURE_SLACK 86400 /* dates further ahead than a day are refused, as HAProxy */

static void set_req_state(struct txn *t, enum persist_req_state st)
{
    t->ck_log = (uint8_t)((t->ck_log & 0xf0) | st);
}

static void set_rsp_state(struct txn *t, enum persist_rsp_state st)
{
    t->ck_log = (uint8_t)((t->ck_log & 0x0f) | st << 4);
}

static uint32_t unix_now(struct lb *lb)
{
    return (uint32_t)ev_now(lb->loop);
}

/* True when a date is set and more than `max` seconds ago, or over a day ahead. */
static int out_of_date(uint32_t date, uint32_t max, uint32_t now)
{
    int64_t age = (int64_t)now - date;
    return date && max && (age > max || -age > FUTURE_SLACK);
}

/* One occurrence of the cookie, value v: checks its dates, then looks for a
 * server with that value which may take the request. prev is the state an
 * earlier occurrence left. */
static enum persist_req_state judge(struct lb *lb, struct txn *t, const struct proxy *be,
                                    const char *v, size_t len, enum persist_req_state prev)
{
    const struct persist_cookie *ck = &be->ck;
    uint32_t now = unix_now(lb);
    struct cookie_value cv;
    cookie_value_parse(v, len, &cv);
    if (cv.last)
        t->ck_last = cv.last;
    if (cv.first)
        t->ck_first = cv.first;
    enum persist_req_state stale = out_of_date(t->ck_first, ck->maxlife, now) ? CK_OLD
                                 : out_of_date(t->ck_last, ck->maxidle, now) ? CK_EXPIRED : CK_NONE;
    if (stale != CK_NONE) {
        t->ck_first = t->ck_last = 0; /* as if the client had sent none */
        return stale;
    }
    enum persist_req_state st = prev;
    /* Several servers may share a value: the first that may take it. An
     * empty value designates nobody, not a server without a cookie. */
    for (size_t i = 0; cv.server_len && i < be->nservers; i++) {
        const struct server *s = be->servers[i];
        if (s->cookie == NULL || strlen(s->cookie) != cv.server_len ||
            memcmp(s->cookie, cv.server, cv.server_len) != 0)
            continue;
        if (balance_server_persist_ok(s)) {
            t->ck_srv = s->index;
            return CK_VALID;
        }
        st = CK_DOWN;
    }
    return st == CK_DOWN || st == CK_EXPIRED || st == CK_OLD ? st : CK_INVALID;
}

void persist_request(struct lb *lb, struct txn *t, const struct proxy *be,
                     const struct http_request *req)
{
    if (be->ck.name == NULL)
        return;
    t->cacheable = http_method_is(req, "GET") || http_method_is(req, "HEAD") ||
                   http_method_is(req, "OPTIONS") || http_method_is(req, "TRACE");
    enum persist_req_state st = CK_NONE;
    for (size_t i = 0; i < req->num_headers; i++) {
        const struct http_header *h = &req->headers[i];
        if (!http_token_eq(h->name, h->name_len, "cookie"))
            continue;
        size_t pos = 0, len;
        const char *v;
        while (cookie_find(h->value, h->value_len, be->ck.name, &pos, &v, &len))
            st = t->ck_srv ? CK_UNUSED : judge(lb, t, be, v, len, st);
    }
    set_req_state(t, st);
}

int persist_request_field(const struct proxy *be, const struct http_header *h, struct strbuf *sb)
{
    const struct persist_cookie *ck = &be->ck;
    size_t pos = 0, len;
    const char *v;
    if (ck->name == NULL || !ck->insert || !ck->indirect ||
        !http_token_eq(h->name, h->name_len, "cookie") ||
        !cookie_find(h->value, h->value_len, ck->name, &pos, &v, &len))
        return 0;
    char *kept = malloc(h->value_len);
    if (kept == NULL) {
        sb->failed = 1; /* never forward the cookie the server must not see */
        return 1;
    }
    size_t n = cookie_strip(h->value, h->value_len, ck->name, kept);
    if (n > 0)
        strbuf_printf(sb, "%.*s: %.*s\r\n", (int)h->name_len, h->name, (int)n, kept);
    free(kept);
    return 1;
}

int persist_response_field(struct txn *t, const struct server *srv, const struct http_header *h)
{
    const struct persist_cookie *ck = &srv->be->ck;
    const char *name;
    size_t len;
    if (ck->name == NULL || !http_token_eq(h->name, h->name_len, "set-cookie") ||
        !cookie_set_name(h->value, h->value_len, &name, &len) || len != strlen(ck->name) ||
        memcmp(name, ck->name, len) != 0)
        return 0;
    int direct = t->ck_srv && t->ck_srv == srv->index;
    if (ck->insert || (direct && ck->indirect)) {
        set_rsp_state(t, SCK_DELETED);
        return 1;
    }
    set_rsp_state(t, SCK_PROVIDED);
    return 0;
}

/* Whether a shared cache could keep this response (HAProxy's rules for
 * "nocache"): a safe method, unless Pragma or Cache-Control says otherwise;
 * Cache-Control values count in order, "public" making it cacheable again. */
static int response_cacheable(const struct txn *t, const struct http_response *rsp)
{
    if (rsp->status < 200)
        return 0;
    for (size_t i = 0; i < rsp->num_headers; i++) {
        const struct http_header *h = &rsp->headers[i];
        if (http_token_eq(h->name, h->name_len, "pragma") &&
            http_caseeq(h->value, h->value_len, "no-cache", 8))
            return 0;
    }
    int cacheable = t->cacheable;
    for (size_t i = 0; i < rsp->num_headers; i++) {
        const struct http_header *h = &rsp->headers[i];
        if (!http_token_eq(h->name, h->name_len, "cache-control"))
            continue;
        for (const char *p = h->value, *end = h->value + h->value_len; p < end;) {
            const char *comma = memchr(p, ',', (size_t)(end - p));
            const char *stop = comma ? comma : end;
            while (p < stop && (*p == ' ' || *p == '\t'))
                p++;
            size_t n = (size_t)(stop - p);
            while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
            if (http_token_eq(p, n, "public"))
                cacheable = 1;
            else if (http_token_eq(p, n, "private") || http_token_eq(p, n, "no-cache") ||
                     http_token_eq(p, n, "no-store") || http_token_eq(p, n, "max-age=0") ||
                     http_token_eq(p, n, "s-maxage=0"))
                cacheable = 0;
            p = stop + 1;
        }
    }
    return cacheable;
}

void persist_response_fields(struct lb *lb, struct txn *t, const struct server *srv,
                             const struct http_response *rsp, struct strbuf *sb)
{
    const struct persist_cookie *ck = &srv->be->ck;
    if (ck->name == NULL || !ck->insert)
        return;
    uint32_t now = unix_now(lb);
    int direct = t->ck_srv && t->ck_srv == srv->index;
    /* A client that came with a valid cookie for this server gets none,
     * unless its dates must change: the last one refreshed (maxidle, or a
     * date to drop), the first one added (maxlife) or dropped. */
    int refresh = (ck->maxidle || t->ck_last) && (t->ck_last == 0 || (int64_t)t->ck_last < now);
    if (direct && !refresh && !(ck->maxlife && !t->ck_first) && !(!ck->maxlife && t->ck_first))
        return;
    struct cookie_set c = {
        .name = ck->name,
        .value = srv->cookie,
        .dated = ck->maxidle || ck->maxlife,
        .last = cookie_date_now(now),
        .first = !ck->maxlife ? 0 : t->ck_first ? t->ck_first >> 2 : cookie_date_now(now),
        .domain = ck->domain,
        .httponly = ck->httponly,
        .secure = ck->secure,
        .attrs = ck->attrs,
    };
    strbuf_printf(sb, "Set-Cookie: ");
    cookie_format_set(sb, &c);
    strbuf_printf(sb, "\r\n");
    set_rsp_state(t, srv->cookie && direct ? SCK_UPDATED : SCK_INSERTED);
    /* HTTP/1.0 caches keep Set-Cookie with the page: "private", which all
     * understand, rather than no-cache="set-cookie", as HAProxy. */
    if (ck->nocache && response_cacheable(t, rsp))
        strbuf_printf(sb, "Cache-control: private\r\n");
}

void persist_log_chars(const struct proxy *be, uint8_t ck_log, char out[2])
{
    static const char req[] = "NIDVEOU", rsp[] = "NIUPD";
    if (be == NULL || be->ck.name == NULL) {
        out[0] = out[1] = '-';
        return;
    }
    out[0] = req[(ck_log & 0x0f) % (sizeof(req) - 1)];
    out[1] = rsp[(ck_log >> 4) % (sizeof(rsp) - 1)];
}
