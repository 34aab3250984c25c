/* net.h — addresses, listening and connecting sockets. */
#ifndef WSCALE_NET_H
#define WSCALE_NET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct net_addr {
    struct sockaddr_storage ss;
    socklen_t len;
};

/* Longest "[ipv6]:port" text plus NUL. */
#define NET_ADDR_STRLEN 64

/* Splits "HOST:PORT", "[IPV6]:PORT", ":PORT" or "*:PORT" into host and port;
 * as in HAProxy the last colon separates the port (":::8080" is IPv6 any).
 * An empty host or "*" becomes "0.0.0.0" (all IPv4 addresses, as HAProxy).
 * Returns 0, or -1 if the text has no valid port or the host does not fit. */
int net_split_hostport(const char *text, char *host, size_t host_size, uint16_t *port);

/* Resolves host (a numeric address or a name, looked up once, blocking) and
 * port into *out, preferring IPv4. Returns 0, or -1 with *err set to a static
 * or gai_strerror() message. */
int net_resolve(const char *host, uint16_t port, struct net_addr *out, const char **err);

/* Opens a non-blocking listening TCP socket on addr with SO_REUSEADDR (and
 * SO_REUSEPORT when reuseport is set). Returns the fd, or -1 with errno. */
int net_listen(const struct net_addr *addr, int backlog, int reuseport);

/* Whether addr is free to listen on, as a socket without SO_REUSEPORT sees
 * it: a group of SO_REUSEPORT listeners (another lb) would otherwise let a
 * new one join it silently. Returns 0, or -1 with errno (EADDRINUSE). */
int net_bind_probe(const struct net_addr *addr);

/* Makes fd's SO_REUSEPORT group give each new connection to one of its
 * first n sockets, at random, instead of hashing over all of them: sockets
 * added after them (a retiring generation's, when the count of workers
 * shrinks) get none, so none is queued on a socket about to close. Returns
 * 0, or -1 with errno. */
int net_reuseport_spread(int fd, unsigned n);

/* Formats addr as "1.2.3.4:80" or "[::1]:80" into buf. Returns buf. */
char *net_addr_format(const struct sockaddr *addr, char *buf, size_t size);

/* Raises the open-files soft limit to the hard limit. Returns the new limit. */
long net_raise_nofile(void);

#endif
