/* idle.c — `wscale bench idle`: open N connections and hold them for -t,
 * answering pings (client.c does); the worker counts what the server closed. */
#include "worker.h"

const struct bench_mode_ops bench_idle_ops = {
    .timed = 1,
};
