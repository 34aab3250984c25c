/* stats-http.h — the stats page, its CSV and JSON, and Prometheus metrics,
 * answered by the worker that receives the request:
 *
 *   stats uri PREFIX          a request whose target starts with PREFIX gets
 *                             the page; PREFIX;csv the CSV, PREFIX?json the
 *                             JSON (";" "?" "&" separate such options;
 *                             "norefresh" stops the page's self-reload,
 *                             "no-maint" leaves out servers in maintenance,
 *                             "up" those and the DOWN ones, as HAProxy's)
 *   stats auth USER:PASSWORD  HTTP Basic authentication first (401)
 *   http-request use-service prometheus-exporter if { path URI }
 *                             a request for exactly that path gets metrics
 *
 * on the frontend, or on its backend (HAProxy allows both). Counters and
 * state come from the registry: they cover every worker. GET and HEAD only. */
#ifndef WSCALE_LB_STATS_HTTP_H
#define WSCALE_LB_STATS_HTTP_H

#include "../shared/http.h"
#include "lb.h"

struct stream;

/* Answers the request if it is one of the above. Returns 1 if it did, 0
 * if the request goes on to a server. */
int stats_http_serve(struct lb *lb, struct stream *s, const struct http_request *req);

#endif
