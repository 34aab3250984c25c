/* check.h — active health checks, run by the master.
 *
 * A server with "check" is probed every `inter`: a TCP connect, then the TLS
 * handshake for an "ssl" server, or with "option httpchk" an HTTP request
 * whose status must be 2xx/3xx (or the one "http-check expect status"
 * names). `fall` consecutive failures mark an UP server DOWN, `rise`
 * consecutive successes bring it back. A DOWN server gets no new streams;
 * its existing tunnels stay. A connection refused to real traffic (a worker
 * reports it) counts as a failed check at once. Verdicts and the last
 * result (HAProxy's codes: L4OK, L4CON, L7STS, ...) go to the registry, and
 * state changes are logged. */
#ifndef WSCALE_LB_CHECK_H
#define WSCALE_LB_CHECK_H

#include <ev.h>
#include <stdint.h>

#include "lb-t.h"
#include "registry.h"

struct checks;

/* Starts the checks of every server with "check" in cfg. `changed` is
 * called when a verdict changes (the workers must look again). Returns
 * NULL when out of memory. */
struct checks *checks_start(struct ev_loop *loop, struct lb_config *cfg, struct registry *reg,
                            void (*changed)(void *data), void *data);

void checks_stop(struct checks *cs);

/* Traffic could not connect to s: one failed check, now (if s is checked
 * and UP). */
void checks_report_failure(struct checks *cs, struct server *s, const char *why);

/* Wall-clock milliseconds, as the registry keeps times. */
int64_t check_wall_ms(void);

#endif
