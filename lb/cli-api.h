/* cli-api.h — HAProxy's runtime API, as spoken on the stats socket.
 *
 * A client sends a line of commands separated by ';' ("\;" is a literal
 * one; a backslash escapes the next character, as in HAProxy). Every answer
 * ends with an empty line; without "prompt" the connection ends once the
 * commands received are answered; "prompt" toggles interactive mode (a
 * "> " prompt after each answer) and "quit" ends it. Each command needs a
 * level: user may look (show info, show stat, show servers state, get
 * weight, help), operator may also see addresses in "show stat", admin may
 * change servers (enable/disable/set server, set weight, shutdown sessions).
 * Errors are HAProxy's texts ("No such server.", "Permission denied",
 * "Unknown command. Please enter one of the following commands only:" and
 * the help); HAProxy commands wscale lacks get a one-line "not supported by
 * wscale" answer. This file parses and answers; the socket and the state it
 * acts on belong to the caller (lb/master.c). */
#ifndef WSCALE_LB_CLI_API_H
#define WSCALE_LB_CLI_API_H

#include "../shared/strbuf.h"
#include "stats.h"

enum api_level { API_USER, API_OPERATOR, API_ADMIN };

/* What the commands act on. The set_* and shutdown functions return NULL on
 * success, else the error text to send ("No such server.\n"). They are
 * called with names that a snapshot just showed to exist, and weights
 * already checked (0..256) and converted from percents of the configured
 * weight; what is left to refuse is theirs (HAProxy's "Backend is using a
 * static LB algorithm and only accepts weights '0%' and '100%'.\n"). */
struct api_ops {
    void *ctx;
    /* Fills *st. Returns 0, or -1 when out of memory (nothing to free then). */
    int (*snapshot)(void *ctx, struct stats_snapshot *st);
    void (*snapshot_free)(void *ctx, struct stats_snapshot *st);
    const char *(*set_admin)(void *ctx, const char *backend, const char *server,
                             enum srv_admin state);
    const char *(*set_weight)(void *ctx, const char *backend, const char *server,
                              unsigned weight);
    const char *(*shutdown_sessions)(void *ctx, const char *backend, const char *server);
};

/* A connection's state between lines. Start with the socket's level and
 * zeros; "user" and "operator" lower the level for the rest of the
 * connection. */
struct api_session {
    enum api_level level;
    int interactive;           /* "prompt" was given */
    int quit;                  /* "quit" was given, or the line was not interactive */
    int quit_given;            /* "quit" was given: run nothing more */
};

/* Executes one line (without its "\n"; a trailing "\r" is ignored),
 * appending the answers to out (and the "> " prompt in interactive mode).
 * Afterwards, s->quit tells whether the connection should be closed once
 * out is sent. As HAProxy, a non-interactive client that sent several lines
 * at once gets them all answered: a caller already holding further complete
 * lines executes them before closing, unless s->quit_given. */
void api_execute(const struct api_ops *ops, struct api_session *s, const char *line,
                 struct strbuf *out);

#endif
