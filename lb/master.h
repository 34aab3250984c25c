/* master.h — the lb's master process.
 *
 * It reads and validates the configuration, creates the registry (shared
 * memory) and the listening sockets — one per listener and worker slot,
 * sharing the port with SO_REUSEPORT — and starts the workers (fork and
 * exec of this same program), which serve the traffic. It runs the health
 * checks, serves the runtime API on the stats sockets, restarts a worker
 * that dies, and reloads:
 *
 *   SIGUSR2 or SIGHUP  re-read the file. If it is invalid, nothing changes
 *                      (the errors are logged with FILE:LINE). Otherwise a
 *                      new generation of workers starts on the same sockets
 *                      (new listeners are bound first); once all of them are
 *                      ready, the old workers stop accepting, hand their idle
 *                      tunnels over and drain. No connection attempt is
 *                      refused: the sockets never close.
 *   SIGTERM            every worker drains; the master exits after them.
 *   SIGINT             every worker stops now.
 *
 * A worker whose master dies drains and exits (PR_SET_PDEATHSIG). */
#ifndef WSCALE_LB_MASTER_H
#define WSCALE_LB_MASTER_H

#include <stddef.h>

#include "../shared/log.h"
#include "lb-t.h"

/* Runs the master with the configuration read from `path` (text, len; it
 * parsed into cfg, which the master now owns). Returns the exit status. */
int master_main(const char *path, struct lb_config *cfg, const char *text, size_t len,
                enum log_level level);

#endif
