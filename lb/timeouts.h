/* timeouts.h — which timeout applies, with HAProxy's fallbacks for those
 * left unset (0 means never):
 *
 *   http-request     ← client          (a request head, from its first byte)
 *   http-keep-alive  ← http-request    (idle between two requests)
 *   queue            ← connect         (waiting for a server slot)
 *   data phase       = the shorter of client and server
 *   tunnel           ← the data phase  (after the upgrade)
 *   client-fin, server-fin ← tunnel    (one direction of a tunnel closed)
 *   an answer of the lb's own: client, or 10 s, so it never hangs */
#ifndef WSCALE_LB_TIMEOUTS_H
#define WSCALE_LB_TIMEOUTS_H

#include <stdint.h>

#include "lb-t.h"

static inline uint32_t to_min_set(uint32_t a, uint32_t b)
{
    if (a == 0)
        return b;
    if (b == 0)
        return a;
    return a < b ? a : b;
}

static inline uint32_t to_http_request(const struct proxy *fe)
{
    return fe->to.http_request ? fe->to.http_request : fe->to.client;
}

static inline uint32_t to_keep_alive(const struct proxy *fe)
{
    return fe->to.http_keep_alive ? fe->to.http_keep_alive : to_http_request(fe);
}

static inline uint32_t to_queue(const struct proxy *be)
{
    return be->to.queue ? be->to.queue : be->to.connect;
}

static inline uint32_t to_data(const struct proxy *fe, const struct proxy *be)
{
    return to_min_set(fe->to.client, be->to.server);
}

static inline uint32_t to_tunnel(const struct proxy *fe, const struct proxy *be)
{
    return be->to.tunnel ? be->to.tunnel : to_data(fe, be);
}

static inline uint32_t to_fin(const struct proxy *fe, const struct proxy *be)
{
    uint32_t tunnel = to_tunnel(fe, be);
    return to_min_set(fe->to.client_fin ? fe->to.client_fin : tunnel,
                      be->to.server_fin ? be->to.server_fin : tunnel);
}

static inline uint32_t to_reply(const struct proxy *fe)
{
    return fe->to.client ? fe->to.client : 10000;
}

#endif
