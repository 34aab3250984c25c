/* check.h — active health checks and server state.
 *
 * A server with "check" is probed every `inter`: a TCP connect, or with
 * "option httpchk" an HTTP request whose status must be 2xx/3xx (or the one
 * "http-check expect status" names). `fall` consecutive failures mark an UP
 * server DOWN, `rise` consecutive successes bring it back. A DOWN server gets
 * no new streams; its existing tunnels stay. A connection refused to real
 * traffic counts as a failed check at once. State changes are logged. */
#ifndef WSCALE_LB_CHECK_H
#define WSCALE_LB_CHECK_H

#include "lb.h"

/* Starts the checks of every server that has "check". Returns 0 or -1. */
int check_start_all(struct lb *lb);

void check_stop_all(struct lb *lb);

/* Traffic could not connect to s: one failed check, now (if s is checked). */
void check_report_failure(struct lb *lb, struct server *s, const char *why);

#endif
