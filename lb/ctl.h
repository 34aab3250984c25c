/* ctl.h — messages between the master and its workers.
 *
 * Each worker has a SOCK_SEQPACKET socket pair with the master: one record
 * per message, small fixed structs, file descriptors attached with
 * SCM_RIGHTS. The same helpers carry tunnels from an old worker to a new one
 * on reload (lb/handover.c). */
#ifndef WSCALE_LB_CTL_H
#define WSCALE_LB_CTL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum ctl_type {
    CTL_READY = 1,      /* worker: my listeners are watched, I serve */
    CTL_CONNECT_FAILED, /* worker: traffic could not connect to server `obj` (text: why) */
    CTL_POKE,           /* master: server state changed in the registry, look again */
    CTL_SOFT_STOP,      /* master: stop accepting and drain; hand idle tunnels over to
                           the attached socket (if any), whose workers serve `generation` */
};

struct ctl_msg {
    uint32_t type;
    uint32_t obj;
    uint32_t generation;
    char text[244];
};

#define CTL_MAX_FDS 4

/* Sends one record with up to CTL_MAX_FDS descriptors. Returns 0, or -1
 * with errno (EAGAIN when the socket is full). */
int ctl_send(int fd, const void *msg, size_t len, const int *fds, int nfds);

/* Receives one record into buf. Returns its length (0: the peer closed),
 * or -1 with errno. Descriptors that came with it are stored in fds (close-
 * on-exec) and counted in *nfds; a record larger than size, or with more
 * descriptors than maxfds, is an error (EMSGSIZE) and its descriptors are
 * closed. */
ssize_t ctl_recv(int fd, void *buf, size_t size, int *fds, int maxfds, int *nfds);

/* A SOCK_SEQPACKET socket pair, both ends non-blocking and close-on-exec. */
int ctl_pair(int sv[2]);

#endif
