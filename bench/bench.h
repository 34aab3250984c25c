/* bench.h — `wscale bench`: a WebSocket load generator to point at a
 * deployment (idle, fanout, echo, storm). */
#ifndef WSCALE_BENCH_H
#define WSCALE_BENCH_H

int bench_main(int argc, char **argv);

#endif
