/* lb.c — `wscale lb`: the command line. It checks the configuration and
 * starts the master (lb/master.c), which starts the workers by running this
 * same program again with the internal --worker options. */
#include "lb.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/cli.h"
#include "config.h"
#include "master.h"

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static void lb_usage(FILE *out)
{
    fputs("Usage: wscale lb -f FILE [-c] [--log-level LEVEL]\n"
          "\n"
          "An HAProxy-style layer-7 proxy that understands the WebSocket upgrade.\n"
          "It reads an HAProxy configuration (sections global, defaults, frontend,\n"
          "backend, listen; see conf/lb.cfg), balances requests over servers, and\n"
          "turns a connection into a byte tunnel once the server completes the\n"
          "client's WebSocket handshake (101). A master process runs the health\n"
          "checks and the stats socket and supervises the worker processes that\n"
          "serve the traffic (global 'nbthread N' or 'workers N').\n"
          "\n"
          "Options:\n"
          "  -f FILE              the configuration file (required)\n"
          "  -c                   check the configuration and exit: 0 if valid, 1 if\n"
          "                       not, with FILE:LINE: message for every error\n"
          "  --log-level LEVEL    debug, info, warn or error for event logs (info);\n"
          "                       request logs follow the configuration's 'log' lines\n"
          "  -h, --help           show this help\n"
          "\n"
          "Signals (to the master): SIGUSR2 or SIGHUP reloads the file: an invalid\n"
          "file changes nothing; a valid one starts new workers on the same sockets,\n"
          "the old ones hand their idle tunnels over and drain (up to hard-stop-after).\n"
          "SIGTERM drains (no new connections; requests and tunnels in progress\n"
          "finish, up to hard-stop-after, default 10s); SIGINT stops now.\n",
          out);
}

/* "3,4,5": a list of descriptors. Returns how many, or -1. */
static int parse_fds(const char *text, int *out, int max)
{
    int n = 0;
    const char *p = text;
    while (*p && n < max) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (errno || end == p || v < 0 || v > 1 << 24 || (*end != ',' && *end != '\0'))
            return -1;
        out[n++] = (int)v;
        p = *end ? end + 1 : end;
    }
    return *p ? -1 : n;
}

static int parse_unsigned(const char *text, unsigned *out)
{
    char *end;
    errno = 0;
    unsigned long v = strtoul(text, &end, 10);
    if (errno || end == text || *end || v > 1u << 30)
        return -1;
    *out = (unsigned)v;
    return 0;
}

/* The master's part: the configuration checked, then run (or just
 * reported with -c). */
static int lb_check_or_run(const char *file, int check_only, enum log_level level)
{
    struct strbuf errors = STRBUF_INIT, warnings = STRBUF_INIT, text = STRBUF_INIT;
    struct lb_config *cfg = NULL;
    if (lb_config_read(file, &text, &errors) == 0)
        cfg = lb_config_parse(file, text.data ? text.data : "", text.len, env_lookup, &errors,
                              &warnings);
    if (warnings.len)
        fprintf(stderr, "%s", warnings.data);
    strbuf_free(&warnings);
    if (cfg == NULL) {
        fprintf(stderr, "%s", errors.data ? errors.data : "");
        fprintf(stderr, "wscale lb: %s is not valid\n", file);
        strbuf_free(&errors);
        strbuf_free(&text);
        return 1;
    }
    strbuf_free(&errors);
    if (check_only) {
        printf("Configuration file is valid\n");
        lb_config_free(cfg);
        strbuf_free(&text);
        return 0;
    }
    int status = master_main(file, cfg, text.data ? text.data : "", text.len, level);
    strbuf_free(&text);
    return status;
}

enum {
    OPT_HELP = 1, OPT_FILE, OPT_CHECK, OPT_LOG_LEVEL,
    /* internal: how the master starts a worker */
    OPT_WORKER, OPT_GENERATION, OPT_BLOCK, OPT_FDS, OPT_LISTEN_FDS, OPT_STICK_FDS,
};

/* A list option's descriptors, in a new array. */
static int *fd_list(const char *text, int *n)
{
    int max = 1;
    for (const char *p = text; *p; p++)
        max += *p == ',';
    int *fds = malloc((size_t)max * sizeof(int));
    *n = fds ? parse_fds(text, fds, max) : -1;
    return fds;
}

int lb_main(int argc, char **argv)
{
    static const struct cli_option options[] = {
        { "help", 'h', 0, OPT_HELP },
        { "file", 'f', 1, OPT_FILE },
        { "check", 'c', 0, OPT_CHECK },
        { "log-level", 0, 1, OPT_LOG_LEVEL },
        { "worker", 0, 1, OPT_WORKER },
        { "generation", 0, 1, OPT_GENERATION },
        { "block", 0, 1, OPT_BLOCK },
        { "fds", 0, 1, OPT_FDS },
        { "listen-fds", 0, 1, OPT_LISTEN_FDS },
        { "stick-fds", 0, 1, OPT_STICK_FDS },
        { NULL, 0, 0, 0 },
    };
    const char *file = NULL;
    int check_only = 0, worker = 0, bad_internal = 0;
    enum log_level level = LOG_INFO;
    struct worker_args wa = { .ctl_fd = -1 };
    int fds[4], nfds = 0;
    int *listen_fds = NULL, nlisten = 0, *stick_fds = NULL, nstick = 0;
    struct cli c;
    cli_init(&c, argc, argv, 1);
    int id;
    while ((id = cli_next(&c, options)) != CLI_END) {
        switch (id) {
        case OPT_HELP:
            lb_usage(stdout);
            return 0;
        case OPT_FILE:
            file = c.value;
            break;
        case OPT_CHECK:
            check_only = 1;
            break;
        case OPT_LOG_LEVEL:
            if (log_level_parse(c.value, &level) != 0) {
                fprintf(stderr, "wscale lb: --log-level '%s': expected debug, info, warn or error\n",
                        c.value);
                return 2;
            }
            break;
        case OPT_WORKER:
            worker = 1;
            bad_internal |= parse_unsigned(c.value, &wa.slot);
            break;
        case OPT_GENERATION:
            bad_internal |= parse_unsigned(c.value, &wa.generation);
            break;
        case OPT_BLOCK:
            bad_internal |= parse_unsigned(c.value, &wa.block);
            break;
        case OPT_FDS:
            nfds = parse_fds(c.value, fds, 4);
            break;
        case OPT_LISTEN_FDS:
            free(listen_fds);
            listen_fds = fd_list(c.value, &nlisten);
            break;
        case OPT_STICK_FDS:
            free(stick_fds);
            stick_fds = fd_list(c.value, &nstick);
            break;
        case CLI_POSITIONAL:
            fprintf(stderr, "wscale lb: unexpected argument '%s' (the file goes after -f)\n", c.value);
            return 2;
        default:
            fprintf(stderr, "wscale lb: %s\n(see: wscale lb --help)\n", c.error);
            return 2;
        }
    }
    int status = 2;
    if (file == NULL) {
        fprintf(stderr, "wscale lb: no configuration file: use -f FILE (see: wscale lb --help)\n");
        goto out;
    }
    log_setup("lb", level);

    if (worker) {
        if (bad_internal || nfds != 4 || nlisten < 0 || nstick < 0) {
            fprintf(stderr, "wscale lb: --worker is internal: the master starts workers\n");
            goto out;
        }
        wa.file = file;
        wa.ctl_fd = fds[0];
        wa.config_fd = fds[1];
        wa.registry_fd = fds[2];
        wa.xfer_fd = fds[3];
        wa.listen_fds = listen_fds;
        wa.nlisten = (size_t)nlisten;
        wa.stick_fds = stick_fds;
        wa.nstick = (size_t)nstick;
        status = worker_main(&wa);
        goto out;
    }

    status = lb_check_or_run(file, check_only, level);
out:
    free(listen_fds);
    free(stick_fds);
    return status;
}
