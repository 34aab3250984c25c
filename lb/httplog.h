/* httplog.h — one line per finished request or tunnel, in HAProxy's
 * httplog spirit:
 *
 *   127.0.0.1:41234 [24/Nov/2026:21:35:00.123] http all/s1 0/0/1/2/5012 101 1523 342 - ---- 3/3/1/1/0 0/0 "GET / HTTP/1.1"
 *
 * client, [accept date], frontend, backend/server, Tq/Tw/Tc/Tr/Tt (ms; -1:
 * not reached), status, bytes to the client, bytes from the client, "-",
 * termination state (e.g. "--" clean, "cD" client timeout in the data phase,
 * "sC" server connect failure; then the persistence cookie's states, of the
 * request and of the response, "--" without a cookie: see persist.h),
 * actconn/feconn/beconn/srv_conn/retries, srv_queue/backend_queue,
 * the request line. Fields sit where HAProxy's httplog has them, so its log
 * tools parse the line; the bytes from the client fill the slot of the
 * captured request cookie (always "-" in HAProxy without "capture cookie").
 * Written to the frontend's log target (log stdout|stderr, or global); a
 * frontend without one logs no traffic, as HAProxy. */
#ifndef WSCALE_LB_HTTPLOG_H
#define WSCALE_LB_HTTPLOG_H

#include <stdint.h>

struct lb;
struct stream;

/* Logs the stream's request or tunnel with termination state term. */
void httplog_emit(struct lb *lb, struct stream *s, const char *term);

/* Tunnels keep their request line for the log as a shared, counted string:
 * most tunnels carry the same few ("GET /chat HTTP/1.1"). Returns an id, or
 * 0 when the table is full (the log then shows "<tunnel>"). */
uint16_t httplog_intern(struct lb *lb, const char *line);
void httplog_release(struct lb *lb, uint16_t id);

/* The text of an interned line, or NULL. */
const char *httplog_line(const struct lb *lb, uint16_t id);

/* Frees the interned lines (at exit). */
void httplog_free(struct lb *lb);

#endif
