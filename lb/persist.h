/* persist.h — cookie-based persistence, HAProxy's "cookie" keyword
 * (configuration.txt 4.2 "cookie", 5.2 "cookie", 8.5).
 *
 * Request: a cookie NAME whose value is a server's "cookie VALUE" sends the
 * request to that server without balancing (t->ck_srv, used by connect.c),
 * if the server may take persistent traffic (balance_server_persist_ok: UP
 * and not in maintenance; a full one is waited for). Otherwise — unknown
 * value, server DOWN or in maintenance, cookie past maxidle or maxlife — the
 * request is balanced as if it had none. With "insert indirect" the server
 * never sees NAME in a Cookie field.
 *
 * Response, with "insert": a Set-Cookie for the server that answered, unless
 * the client already holds a valid one for it whose dates need no refresh;
 * a server without a cookie value gets its clients told to drop theirs. A
 * Set-Cookie NAME of the server's own is removed (insert; or indirect when
 * the client came with a valid cookie). "nocache" adds "Cache-control:
 * private" to a cacheable response that gets a Set-Cookie.
 *
 * Dates (maxidle, maxlife): see cookie.h. A cookie is too old when its first
 * date is more than maxlife ago, expired when its last date is more than
 * maxidle ago, and ignored either way when a date is over a day ahead. */
#ifndef WSCALE_LB_PERSIST_H
#define WSCALE_LB_PERSIST_H

#include <stdint.h>

#include "../shared/http.h"
#include "../shared/strbuf.h"
#include "stream.h"

/* The request's cookie as the log's third character shows it:
 * N none, I invalid (no such server), D its server is DOWN, V valid,
 * E expired (maxidle), O too old (maxlife), U present but not used. */
enum persist_req_state { CK_NONE, CK_INVALID, CK_DOWN, CK_VALID, CK_EXPIRED, CK_OLD, CK_UNUSED };

/* The response's, as the fourth: N nothing, I inserted, U updated (dates
 * refreshed), P provided by the server, D the server's deleted. */
enum persist_rsp_state { SCK_NONE, SCK_INSERTED, SCK_UPDATED, SCK_PROVIDED, SCK_DELETED };

/* Reads the request's persistence cookie for backend be: sets t->ck_srv,
 * the cookie's dates and the request state. Does nothing without a cookie. */
void persist_request(struct lb *lb, struct txn *t, const struct proxy *be,
                     const struct http_request *req);

/* Request head rewrite: when field h must not reach the server as it is
 * (a Cookie field holding NAME under "insert indirect"), appends what the
 * server gets instead (maybe nothing) and returns 1; else returns 0. */
int persist_request_field(const struct proxy *be, const struct http_header *h, struct strbuf *sb);

/* Response head rewrite: returns 1 when the server's field h (its own
 * Set-Cookie NAME) must be removed, and notes what it saw. */
int persist_response_field(struct txn *t, const struct server *srv, const struct http_header *h);

/* Appends the Set-Cookie (and Cache-control) fields the response of srv
 * gets, as "Name: value\r\n" lines. */
void persist_response_fields(struct lb *lb, struct txn *t, const struct server *srv,
                             const struct http_response *rsp, struct strbuf *sb);

/* The log's cookie characters for backend be (NULL: none) and states
 * ck_log ("--" when the backend has no persistence cookie). */
void persist_log_chars(const struct proxy *be, uint8_t ck_log, char out[2]);

#endif
