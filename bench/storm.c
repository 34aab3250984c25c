/* storm.c — `wscale bench storm`: connect N clients as fast as the in-flight
 * bound allows and stop once every attempt has ended; the report is the
 * time from the first connect to the last 101 and the handshake latencies
 * the worker recorded. */
#include "worker.h"

const struct bench_mode_ops bench_storm_ops = {
    .timed = 0,
};
