/* snapshot.h — a stats snapshot (lb/stats.h) of the live lb: the proxies and
 * servers of a configuration, their state and their counters summed over
 * every worker, from the registry. The master builds one for the runtime
 * API, a worker for the stats page and Prometheus. */
#ifndef WSCALE_LB_SNAPSHOT_H
#define WSCALE_LB_SNAPSHOT_H

#include "lb-t.h"
#include "registry.h"
#include "stats.h"

/* Fills st. Returns 0, or -1 when out of memory. */
int stats_snapshot_build(struct stats_snapshot *st, const struct lb_config *cfg,
                         const struct registry *reg);

void stats_snapshot_free(struct stats_snapshot *st);

#endif
