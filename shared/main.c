/* main.c — `wscale MODE ...`: dispatch to a mode. */
#include <stdio.h>
#include <string.h>

#include "../backend/backend.h"
#include "../bench/bench.h"
#include "../lb/lb.h"
#include "demo.h"
#include "version.h"

static void usage(FILE *out)
{
    fputs("Usage: wscale MODE [OPTIONS]\n"
          "\n"
          "WebSockets at scale, in one executable.\n"
          "\n"
          "Modes:\n"
          "  lb        an HAProxy-style, WebSocket-aware layer-7 proxy\n"
          "  backend   a Redis-backed WebSocket group-chat server\n"
          "  demo      the whole stack on this host: Redis, backends, lb\n"
          "  bench     a WebSocket load generator: idle, fanout, echo, storm\n"
          "  version   print the version\n"
          "\n"
          "Run 'wscale MODE --help' for the options of a mode.\n",
          out);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *mode = argv[1];
    if (strcmp(mode, "backend") == 0)
        return backend_main(argc - 1, argv + 1);
    if (strcmp(mode, "lb") == 0)
        return lb_main(argc - 1, argv + 1);
    if (strcmp(mode, "bench") == 0)
        return bench_main(argc - 1, argv + 1);
    if (strcmp(mode, "demo") == 0)
        return demo_main(argc - 1, argv + 1);
    if (strcmp(mode, "version") == 0 || strcmp(mode, "--version") == 0 || strcmp(mode, "-V") == 0) {
        printf("wscale %s\n", WSCALE_VERSION);
        return 0;
    }
    if (strcmp(mode, "help") == 0 || strcmp(mode, "--help") == 0 || strcmp(mode, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "wscale: unknown mode '%s' (expected lb, backend, demo, bench or version; see wscale --help)\n", mode);
    return 2;
}
