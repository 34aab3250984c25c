/* io.c — see io.h. */
#include "io.h"

#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../shared/tls.h"

static ssize_t from_tls(ssize_t n)
{
    if (n >= 0)
        return n;
    return n == TLS_WANT_READ ? IO_AGAIN : n == TLS_WANT_WRITE ? IO_WANT_WRITE : IO_ERROR;
}

ssize_t io_recv(struct lb *lb, int fd, void *buf, size_t len)
{
    SSL *ssl = io_tls(lb, fd);
    if (ssl)
        return from_tls(tls_read(ssl, buf, len));
    for (;;) {
        ssize_t n = recv(fd, buf, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERROR;
    }
}

ssize_t io_send(struct lb *lb, int fd, const void *buf, size_t len)
{
    SSL *ssl = io_tls(lb, fd);
    if (ssl) {
        /* A write that must read first (a handshake message) waits like a
         * full socket: the stream watches both directions then. */
        ssize_t n = from_tls(tls_write(ssl, buf, len));
        return n == IO_WANT_WRITE ? IO_AGAIN : n;
    }
    for (;;) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? IO_AGAIN : IO_ERROR;
    }
}

int io_pending(const struct lb *lb, int fd)
{
    SSL *ssl = io_tls(lb, fd);
    return ssl && SSL_has_pending(ssl);
}

void io_shutdown_write(struct lb *lb, int fd)
{
    SSL *ssl = io_tls(lb, fd);
    if (ssl)
        tls_close_notify(ssl);
    shutdown(fd, SHUT_WR);
}

void io_attach(struct lb *lb, int fd, SSL *ssl)
{
    lb->tls[fd] = ssl;
}

void io_close(struct lb *lb, int fd)
{
    SSL *ssl = io_tls(lb, fd);
    if (ssl) {
        tls_free(ssl);
        lb->tls[fd] = NULL;
    }
    close(fd);
}
