/* options.h — backend configuration from flags and the environment.
 *
 * Flags win over environment variables, which win over defaults. The
 * environment is what containers use: PORT, APPID, REDIS_URL, and the
 * tutorial's REDIS_HOST / REDIS_PORT. */
#ifndef WSCALE_BACKEND_OPTIONS_H
#define WSCALE_BACKEND_OPTIONS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../shared/log.h"
#include "redis-url.h"

#define BACKEND_ID_MAX 64

struct backend_options {
    char listen_host[256];
    uint16_t listen_port;
    char id[BACKEND_ID_MAX + 1];
    struct redis_url redis;
    char channel[256];
    int echo;                  /* no Redis: every message goes back to its sender */
    const char *allow_origin;  /* comma-separated list, or NULL for any origin */
    const char *tls_cert;      /* PEM with chain and key: serve wss:// (NULL: ws://) */
    uint64_t max_message;      /* bytes; a larger message is closed with 1009 */
    uint64_t max_output;       /* bytes of unsent output before a 1008 close */
    uint64_t publish_queue;    /* bytes waiting for Redis before a 1013 close */
    double ping_interval;      /* seconds; 0 disables pings */
    double handshake_timeout;  /* seconds to send a complete request head */
    double drain_timeout;      /* seconds to wait for close frames at shutdown */
    double redis_timeout;      /* seconds for Redis to connect or answer */
    uint64_t history;          /* wscale.chat.v1: messages kept per room */
    uint64_t rate_limit;       /* wscale.chat.v1: frames per second per connection */
    double presence_ttl;       /* wscale.chat.v1: seconds a member lives without a refresh */
    double write_delay;        /* seconds a big fan-out's writes may wait to be batched */
    enum log_level log_level;
};

enum { OPTIONS_OK, OPTIONS_HELP, OPTIONS_ERROR };

/* Environment lookup, getenv() in production; tests pass their own. */
typedef const char *options_getenv_fn(const char *name);

/* Fills o from argv[first..argc) and the environment. Returns OPTIONS_OK,
 * OPTIONS_HELP (--help was given), or OPTIONS_ERROR with a message in err
 * naming the flag or variable and what it expects. */
int backend_options_parse(struct backend_options *o, int argc, char **argv, int first,
                          options_getenv_fn *getenv_fn, char *err, size_t err_size);

/* True if origin (the Origin header value) is allowed by o->allow_origin. */
int backend_origin_allowed(const struct backend_options *o, const char *origin, size_t len);

void backend_usage(FILE *out);

#endif
