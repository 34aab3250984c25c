/* io.h — reading and writing a stream's sockets, plain or TLS alike.
 *
 * The lb keeps each TLS connection's SSL object in a table indexed by file
 * descriptor (as HAProxy's fdtab), so a stream needs no field for it and a
 * plain tunnel stays a 200-byte struct. Everything that moves bytes goes
 * through these functions; with TLS they drive the handshake too. */
#ifndef WSCALE_LB_IO_H
#define WSCALE_LB_IO_H

#include <openssl/ssl.h>
#include <stddef.h>
#include <sys/types.h>

#include "lb.h"

#define IO_AGAIN (-1)      /* nothing now: wait until the socket is readable */
#define IO_WANT_WRITE (-2) /* TLS must write first: wait until it is writable */
#define IO_ERROR (-3)

/* Reads: > 0, 0 at the peer's close, or IO_*. Sends: the bytes taken, or
 * IO_AGAIN when the socket is full (wait until writable), or IO_ERROR. */
ssize_t io_recv(struct lb *lb, int fd, void *buf, size_t len);
ssize_t io_send(struct lb *lb, int fd, const void *buf, size_t len);

/* True when TLS holds decrypted bytes that no readiness event will announce:
 * read again before waiting. */
int io_pending(const struct lb *lb, int fd);

/* Ends our direction: close_notify with TLS, then a FIN. */
void io_shutdown_write(struct lb *lb, int fd);

/* Attaches a TLS session to fd (ownership moves to the table). */
void io_attach(struct lb *lb, int fd, SSL *ssl);

static inline SSL *io_tls(const struct lb *lb, int fd)
{
    return lb->tls && fd >= 0 && (size_t)fd < lb->tls_size ? lb->tls[fd] : NULL;
}

/* Closes fd, ending its TLS session first (close_notify) if it has one. */
void io_close(struct lb *lb, int fd);

#endif
