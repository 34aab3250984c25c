/* supervisor.c — see supervisor.h. */
#include "supervisor.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"

#define BACKOFF_FIRST 0.5
#define BACKOFF_MAX 10.0
#define STABLE_AFTER 10.0 /* seconds up after which a crash restarts the backoff */

const char *child_status_text(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exited with status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "ended (status 0x%x)", status);
    return buf;
}

static void on_restart(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct child *c = w->data;
    (void)loop;
    (void)revents;
    if (c->stopping)
        return;
    if (child_start(c) != 0)
        log_error("%s: cannot restart: %s", c->name, strerror(errno));
    else
        log_info("%s restarted as pid %d", c->name, (int)c->pid);
}

static void on_child(struct ev_loop *loop, ev_child *w, int revents)
{
    struct child *c = w->data;
    int status = w->rstatus;
    (void)revents;
    ev_child_stop(loop, w);
    c->pid = 0;
    if (c->stopping) {
        if (c->on_exit)
            c->on_exit(c, status);
        return;
    }
    if (ev_now(loop) - c->started > STABLE_AFTER)
        c->backoff = BACKOFF_FIRST;
    char why[96];
    log_warn("%s %s; restarting in %.1fs", c->name, child_status_text(status, why, sizeof(why)),
             c->backoff);
    ev_timer_set(&c->restart, c->backoff, 0);
    ev_timer_start(loop, &c->restart);
    c->restarts++;
    c->backoff = c->backoff * 2 > BACKOFF_MAX ? BACKOFF_MAX : c->backoff * 2;
}

void child_init(struct child *c, struct ev_loop *loop, const char *name, const char *path,
                char **argv, const char *log_path)
{
    memset(c, 0, sizeof(*c));
    c->loop = loop;
    c->name = name;
    c->path = path;
    c->argv = argv;
    c->log_path = log_path;
    c->backoff = BACKOFF_FIRST;
    ev_init(&c->restart, on_restart);
    c->restart.data = c;
}

/* In the forked child: become what argv says, or die trying. */
static void exec_child(const char *name, const char *path, char **argv, const char *log_path,
                       const int *keep, size_t nkeep, pid_t parent)
{
    /* Die with the supervisor; if it is already gone, do not start at all. */
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0 || getppid() != parent)
        _exit(1);
    setpgid(0, 0);
    /* The loop blocks the signals it watches and the parent may ignore
     * SIGPIPE: a new program starts with neither. */
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    if (log_path) {
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0)
            _exit(1);
    }
    for (size_t i = 0; i < nkeep; i++)
        if (fcntl(keep[i], F_SETFD, 0) != 0)
            _exit(1);
    execv(path, argv);
    fprintf(stderr, "%s: cannot run %s: %s\n", name, path, strerror(errno));
    _exit(127);
}

pid_t spawn_process(const char *name, const char *path, char **argv, const char *log_path,
                    const int *keep_fds, size_t nkeep)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid == 0)
        exec_child(name, path, argv, log_path, keep_fds, nkeep, parent);
    return pid;
}

int child_start(struct child *c)
{
    pid_t pid = spawn_process(c->name, c->path, c->argv, c->log_path, NULL, 0);
    if (pid < 0)
        return -1;
    c->pid = pid;
    c->started = ev_now(c->loop);
    ev_child_init(&c->watcher, on_child, pid, 0);
    c->watcher.data = c;
    ev_child_start(c->loop, &c->watcher);
    return 0;
}

void child_stop(struct child *c, int sig)
{
    int first = !c->stopping;
    c->stopping = 1;
    ev_timer_stop(c->loop, &c->restart);
    if (c->pid > 0)
        kill(c->pid, sig);
    else if (first && c->on_exit)
        c->on_exit(c, 0); /* waiting to restart: it is already stopped */
}

void child_forget(struct child *c)
{
    ev_timer_stop(c->loop, &c->restart);
    if (ev_is_active(&c->watcher))
        ev_child_stop(c->loop, &c->watcher);
}
