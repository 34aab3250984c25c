/* status.h — plain HTTP on the backend's port: GET / (the chat page),
 * GET /healthz (200 "ok" while both Redis connections are up, else 503 and
 * why), GET /metrics (Prometheus text format), anything else 404. */
#ifndef WSCALE_STATUS_H
#define WSCALE_STATUS_H

#include "../shared/http.h"

struct session;

void status_serve(struct session *s, const struct http_request *req);

#endif
