/* supervisor.h — starting, watching, restarting and stopping child processes.
 *
 * A child is started with PR_SET_PDEATHSIG, so it receives SIGTERM if the
 * supervisor dies, however it dies: no orphan is ever left behind. It runs
 * in its own process group, so a Ctrl-C in the terminal reaches only the
 * supervisor, which then stops the children in the order it chooses. A
 * child that exits on its own is logged and restarted after a backoff that
 * doubles from 0.5 s to 10 s (and starts over once it has run for 10 s). */
#ifndef WSCALE_SUPERVISOR_H
#define WSCALE_SUPERVISOR_H

#include <ev.h>
#include <sys/types.h>

struct child {
    const char *name;        /* "redis", "ws1", "lb": for logs */
    const char *path;        /* the program to run */
    char **argv;             /* NULL-terminated, argv[0] included */
    const char *log_path;    /* where its output goes; NULL: the supervisor's */
    pid_t pid;               /* 0 while not running */
    int stopping;            /* asked to stop: an exit is not a crash */
    int restarts;
    double backoff;          /* delay before the next restart */
    ev_tstamp started;
    ev_child watcher;
    ev_timer restart;
    struct ev_loop *loop;
    void (*on_exit)(struct child *c, int status); /* after a requested stop */
    void *data;
};

/* Forks and runs path with argv as a child (see above: PDEATHSIG, own
 * process group, clean signal mask), its output in log_path (NULL: ours).
 * Only the descriptors in keep_fds are passed on (all others are close-on-
 * exec). Returns the pid, or -1 with errno. */
pid_t spawn_process(const char *name, const char *path, char **argv, const char *log_path,
                    const int *keep_fds, size_t nkeep);

/* Prepares c (which the caller owns) for loop, the default loop. */
void child_init(struct child *c, struct ev_loop *loop, const char *name, const char *path,
                char **argv, const char *log_path);

/* Starts the child. Returns 0, or -1 with errno if it could not be forked. */
int child_start(struct child *c);

/* Sends sig and marks the child as stopping: its exit is then reported to
 * on_exit (once) instead of restarting it. A child not running is reported
 * at once. Calling it again (say with SIGKILL) only sends the signal. */
void child_stop(struct child *c, int sig);

/* Stops watching the child (after it exited, or to give up on it). */
void child_forget(struct child *c);

/* Describes an exit status: "exited with status 1", "killed by signal 9". */
const char *child_status_text(int status, char *buf, size_t size);

#endif
