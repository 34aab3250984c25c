/* cli-api.h — HAProxy's runtime API, as spoken on the stats socket.
 *
 * A client sends a line of commands separated by ';'. Without "prompt" the
 * connection ends after that line's answers; "prompt" turns on interactive
 * mode (a "> " prompt after each answer) until "quit". Each command needs a
 * level: user may look (show info, show stat, show servers state, help),
 * admin may also change server state (enable/disable/set server, shutdown
 * sessions). Errors are HAProxy's texts ("No such server.", "Permission
 * denied", "Unknown command: ..."). This file parses and answers; the
 * socket and the state it acts on belong to the caller (lb/master.c). */
#ifndef WSCALE_LB_CLI_API_H
#define WSCALE_LB_CLI_API_H

#include "../shared/strbuf.h"
#include "stats.h"

enum api_level { API_USER, API_OPERATOR, API_ADMIN };

/* What the commands act on. The set_* and shutdown functions return NULL on
 * success, else the error text to send ("No such server.\n"). */
struct api_ops {
    void *ctx;
    /* Fills *st. Returns 0, or -1 when out of memory. */
    int (*snapshot)(void *ctx, struct stats_snapshot *st);
    void (*snapshot_free)(void *ctx, struct stats_snapshot *st);
    const char *(*set_admin)(void *ctx, const char *backend, const char *server,
                             enum srv_admin state);
    const char *(*set_weight)(void *ctx, const char *backend, const char *server,
                              unsigned weight);
    const char *(*shutdown_sessions)(void *ctx, const char *backend, const char *server);
};

/* A connection's state between lines. */
struct api_session {
    enum api_level level;
    int interactive;           /* "prompt" was given */
    int quit;                  /* "quit" was given, or the line was not interactive */
};

/* Executes one line (without its "\n"), appending the answers to out (and
 * the "> " prompt in interactive mode). Afterwards, s->quit tells whether
 * the connection should be closed once out is sent. */
void api_execute(const struct api_ops *ops, struct api_session *s, const char *line,
                 struct strbuf *out);

#endif
