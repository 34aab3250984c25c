/* cli-api.c — see cli-api.h. HAProxy's runtime API over wscale's state.
 *
 * Commands are found by their leading words, as HAProxy's keyword table
 * does. Texts follow HAProxy (src/cli.c, src/server.c, src/proxy.c,
 * src/stats.c); where HAProxy checks the level inside a command, so do we,
 * first. One deliberate difference: "help" (and the list after "Unknown
 * command") shows only the commands the session's level may run, where
 * HAProxy lists them all and answers "Permission denied" on use. */
#include "cli-api.h"

#include <stdlib.h>
#include <string.h>

#include "../shared/version.h"

#define MAX_ARGS 32

static void put(struct strbuf *out, const char *s)
{
    strbuf_append(out, s, strlen(s));
}

static const char no_memory[] = "Out of memory.\n";
static const char permission_denied[] = "Permission denied\n";

/* ---- snapshots and names ---- */

static int take_snapshot(const struct api_ops *ops, struct stats_snapshot *st, struct strbuf *out)
{
    memset(st, 0, sizeof(*st));
    if (ops->snapshot(ops->ctx, st) != 0) {
        put(out, no_memory);
        return -1;
    }
    return 0;
}

static const struct stats_row *find_row(const struct stats_snapshot *st, enum stats_type type,
                                        const char *pxname, const char *svname)
{
    for (size_t i = 0; i < st->nrows; i++) {
        const struct stats_row *r = &st->rows[i];
        if (r->type == type && strcmp(r->pxname, pxname) == 0 &&
            (svname == NULL || strcmp(r->svname, svname) == 0))
            return r;
    }
    return NULL;
}

/* Splits "backend/server" in place (arg may be NULL). Returns the error
 * text, or NULL with *be and *srv set. */
static const char *split_server(char *arg, char **be, char **srv)
{
    char *slash = arg ? strchr(arg, '/') : NULL;
    if (slash == NULL || slash[1] == '\0')
        return "Require 'backend/server'.\n";
    *slash = '\0';
    *be = arg;
    *srv = slash + 1;
    return NULL;
}

static const char *server_error(const struct stats_snapshot *st, const char *be, const char *srv)
{
    if (find_row(st, STATS_BACKEND, be, NULL) == NULL)
        return "No such backend.\n";
    if (find_row(st, STATS_SERVER, be, srv) == NULL)
        return "No such server.\n";
    return NULL;
}

/* Finds the server named by arg ("backend/server") in a fresh snapshot,
 * copying its configured weight. Returns 0, or -1 after writing the error. */
static int resolve_server(const struct api_ops *ops, char *arg, char **be, char **srv,
                          unsigned *iweight, struct strbuf *out)
{
    const char *err = split_server(arg, be, srv);
    if (err) {
        put(out, err);
        return -1;
    }
    struct stats_snapshot st;
    if (take_snapshot(ops, &st, out) != 0)
        return -1;
    err = server_error(&st, *be, *srv);
    if (err == NULL)
        *iweight = find_row(&st, STATS_SERVER, *be, *srv)->iweight;
    ops->snapshot_free(ops->ctx, &st);
    if (err) {
        put(out, err);
        return -1;
    }
    return 0;
}

/* ---- weights ---- */

/* HAProxy's "set weight" argument: N (0..256) or N% of the configured
 * weight. Returns NULL and sets *weight, or HAProxy's error text. */
static const char *parse_weight(const char *text, unsigned iweight, unsigned *weight)
{
    if (text == NULL || *text == '\0')
        return "Require <weight> or <weight%>.\n";
    char *end;
    long w = strtol(text, &end, 10);
    if (end == text)
        return "Empty weight string empty or preceded by garbage\n";
    if (end[0] == '%' && end[1] == '\0') {
        if (w < 0)
            return "Relative weight must be positive.\n";
        if (w > 25600)
            w = 25600;
        w = (long)iweight * w / 100;
        if (w > 256)
            w = 256;
    } else if (w < 0 || w > 256) {
        return "Absolute weight can only be between 0 and 256 inclusive.\n";
    } else if (*end != '\0') {
        return "Trailing garbage in weight string\n";
    }
    *weight = (unsigned)w;
    return NULL;
}

/* ---- commands ---- */

struct call {
    const struct api_ops *ops;
    struct api_session *s;
    char **args;          /* all the words, args[nargs] is NULL */
    int nargs;
    int kw;               /* how many of them name the command */
    struct strbuf *out;
};

/* The argument after the command's words, or NULL. */
static char *arg(const struct call *c, int n)
{
    return c->kw + n < c->nargs ? c->args[c->kw + n] : NULL;
}

static void reply(const struct call *c, const char *text)
{
    if (text)
        put(c->out, text);
}

static void cmd_show_info(struct call *c)
{
    if (arg(c, 0)) {
        strbuf_printf(c->out, "'show info %s' is not supported by wscale.\n", arg(c, 0));
        return;
    }
    struct stats_snapshot st;
    if (take_snapshot(c->ops, &st, c->out) != 0)
        return;
    stats_render_info(&st, c->out);
    c->ops->snapshot_free(c->ops->ctx, &st);
}

/* HAProxy's "show stat {<iid>|<proxy>} <type> <sid>": type is a mask of
 * 1 frontends, 2 backends, 4 servers; -1 means all. */
struct stat_filter {
    long iid, type, sid;
};

static int row_selected(const struct stats_row *r, const struct stat_filter *f)
{
    long bit = r->type == STATS_FRONTEND ? 1 : r->type == STATS_BACKEND ? 2 : 4;
    if (f->iid != -1 && (long)r->iid != f->iid)
        return 0;
    if (f->type != -1 && !(f->type & bit))
        return 0;
    return r->type != STATS_SERVER || f->sid == -1 || (long)r->sid == f->sid;
}

static void render_filtered(const struct stats_snapshot *st, const struct stat_filter *f,
                            struct strbuf *out)
{
    struct stats_snapshot sub = *st;
    sub.rows = calloc(st->nrows ? st->nrows : 1, sizeof(*sub.rows));
    if (sub.rows == NULL) {
        put(out, no_memory);
        return;
    }
    sub.nrows = 0;
    for (size_t i = 0; i < st->nrows; i++)
        if (row_selected(&st->rows[i], f))
            sub.rows[sub.nrows++] = st->rows[i];
    stats_render_csv(&sub, out);
    free(sub.rows);
}

static void cmd_show_stat(struct call *c)
{
    int n = 0;
    if (arg(c, 0) && strcmp(arg(c, 0), "domain") == 0) {
        if (arg(c, 1) == NULL || strcmp(arg(c, 1), "proxy") != 0) {
            put(c->out, "'show stat domain' only supports 'proxy' in wscale.\n");
            return;
        }
        n = 2;
    }
    int bound = arg(c, n) && arg(c, n + 1) && arg(c, n + 2);
    if (arg(c, n + (bound ? 3 : 0))) {
        strbuf_printf(c->out, "'show stat %s' is not supported by wscale.\n",
                      arg(c, n + (bound ? 3 : 0)));
        return;
    }
    struct stats_snapshot st;
    if (take_snapshot(c->ops, &st, c->out) != 0)
        return;
    st.show_legends = c->s->level >= API_OPERATOR;
    if (!bound) {
        stats_render_csv(&st, c->out);
    } else {
        struct stat_filter f = { atol(arg(c, n)), atol(arg(c, n + 1)), atol(arg(c, n + 2)) };
        for (size_t i = 0; i < st.nrows; i++)
            if (strcmp(st.rows[i].pxname, arg(c, n)) == 0)
                f.iid = st.rows[i].iid;
        if (f.iid == 0)
            put(c->out, "No such proxy.\n");
        else
            render_filtered(&st, &f, c->out);
    }
    c->ops->snapshot_free(c->ops->ctx, &st);
}

static void cmd_show_servers_state(struct call *c)
{
    struct stats_snapshot st;
    if (take_snapshot(c->ops, &st, c->out) != 0)
        return;
    if (stats_render_servers_state(&st, arg(c, 0), c->out) != 0)
        put(c->out, "Can't find backend.\n");
    c->ops->snapshot_free(c->ops->ctx, &st);
}

static void cmd_show_backend(struct call *c)
{
    struct stats_snapshot st;
    if (take_snapshot(c->ops, &st, c->out) != 0)
        return;
    put(c->out, "# name\n");
    for (size_t i = 0; i < st.nrows; i++) {
        if (st.rows[i].type == STATS_BACKEND) {
            put(c->out, st.rows[i].pxname);
            put(c->out, "\n");
        }
    }
    c->ops->snapshot_free(c->ops->ctx, &st);
}

static void cmd_show_version(struct call *c)
{
    put(c->out, WSCALE_VERSION "\n");
}

static void cmd_show_cli_level(struct call *c)
{
    static const char *const names[] = { "user\n", "operator\n", "admin\n" };
    put(c->out, names[c->s->level]);
}

/* "user" and "operator": lower the session's level (never raise it). */
static void cmd_set_level(struct call *c)
{
    c->s->level = strcmp(c->args[0], "user") == 0 ? API_USER : API_OPERATOR;
}

static void cmd_get_weight(struct call *c)
{
    char *be, *srv;
    const char *err = split_server(arg(c, 0), &be, &srv);
    if (err) {
        put(c->out, err);
        return;
    }
    struct stats_snapshot st;
    if (take_snapshot(c->ops, &st, c->out) != 0)
        return;
    err = server_error(&st, be, srv);
    if (err) {
        put(c->out, err);
    } else {
        const struct stats_row *r = find_row(&st, STATS_SERVER, be, srv);
        strbuf_printf(c->out, "%u (initial %u)\n", r->weight, r->iweight);
    }
    c->ops->snapshot_free(c->ops->ctx, &st);
}

static void set_admin(struct call *c, enum srv_admin state)
{
    char *be, *srv;
    unsigned iweight;
    if (resolve_server(c->ops, arg(c, 0), &be, &srv, &iweight, c->out) == 0)
        reply(c, c->ops->set_admin(c->ops->ctx, be, srv, state));
}

static void cmd_disable_server(struct call *c)
{
    set_admin(c, SRV_ADMIN_MAINT);
}

static void cmd_enable_server(struct call *c)
{
    set_admin(c, SRV_ADMIN_READY);
}

static void set_weight(struct call *c, const char *be, const char *srv, unsigned iweight,
                       const char *text)
{
    unsigned weight;
    const char *err = parse_weight(text, iweight, &weight);
    reply(c, err ? err : c->ops->set_weight(c->ops->ctx, be, srv, weight));
}

static void cmd_set_weight(struct call *c)
{
    char *be, *srv;
    unsigned iweight;
    if (resolve_server(c->ops, arg(c, 0), &be, &srv, &iweight, c->out) == 0)
        set_weight(c, be, srv, iweight, arg(c, 1));
}

/* HAProxy's "set server" settings wscale does not have. */
static const char *const set_server_unsupported[] = {
    "addr", "agent", "agent-addr", "agent-port", "agent-send", "check-addr", "check-port",
    "fqdn", "health", "maxconn", "ssl", NULL,
};

static void cmd_set_server(struct call *c)
{
    char *be, *srv;
    unsigned iweight;
    if (resolve_server(c->ops, arg(c, 0), &be, &srv, &iweight, c->out) != 0)
        return;
    const char *what = arg(c, 1), *value = arg(c, 2);
    if (what && strcmp(what, "weight") == 0) {
        set_weight(c, be, srv, iweight, value);
    } else if (what && strcmp(what, "state") == 0) {
        if (value && strcmp(value, "ready") == 0)
            reply(c, c->ops->set_admin(c->ops->ctx, be, srv, SRV_ADMIN_READY));
        else if (value && strcmp(value, "drain") == 0)
            reply(c, c->ops->set_admin(c->ops->ctx, be, srv, SRV_ADMIN_DRAIN));
        else if (value && strcmp(value, "maint") == 0)
            reply(c, c->ops->set_admin(c->ops->ctx, be, srv, SRV_ADMIN_MAINT));
        else
            put(c->out, "'set server <srv> state' expects 'ready', 'drain' and 'maint'.\n");
    } else {
        for (const char *const *u = set_server_unsupported; what && *u; u++) {
            if (strcmp(what, *u) == 0) {
                strbuf_printf(c->out, "'set server <srv> %s' is not supported by wscale.\n", what);
                return;
            }
        }
        put(c->out, "'set server <srv>' only supports 'state' and 'weight'.\n");
    }
}

static void cmd_shutdown_sessions(struct call *c)
{
    char *be, *srv;
    unsigned iweight;
    if (resolve_server(c->ops, arg(c, 0), &be, &srv, &iweight, c->out) == 0)
        reply(c, c->ops->shutdown_sessions(c->ops->ctx, be, srv));
}

static void cmd_help(struct call *c);

static void cmd_prompt(struct call *c)
{
    c->s->interactive = !c->s->interactive;
}

static void cmd_quit(struct call *c)
{
    c->s->quit_given = 1;
}

struct command {
    const char *words[4];      /* NULL-terminated */
    enum api_level level;
    const char *usage;         /* NULL: not listed by "help" */
    const char *desc;
    void (*run)(struct call *c);
};

/* Sorted by usage, as HAProxy's help is. */
static const struct command commands[] = {
    { { "disable", "server" }, API_ADMIN, "disable server <bk>/<srv>",
      "put a server in maintenance (as 'set server ... state maint')", cmd_disable_server },
    { { "enable", "server" }, API_ADMIN, "enable server <bk>/<srv>",
      "take a server out of maintenance (as 'set server ... state ready')", cmd_enable_server },
    { { "get", "weight" }, API_USER, "get weight <bk>/<srv>",
      "report a server's current weight", cmd_get_weight },
    { { "operator" }, API_OPERATOR, "operator",
      "lower the level of the current CLI session to operator", cmd_set_level },
    { { "set", "server" }, API_ADMIN, "set server <bk>/<srv> state|weight ...",
      "set a server's state (ready|drain|maint) or weight (N or N%)", cmd_set_server },
    { { "set", "weight" }, API_ADMIN, "set weight <bk>/<srv> (DEPRECATED)",
      "change a server's weight (use 'set server' instead)", cmd_set_weight },
    { { "show", "backend" }, API_USER, "show backend",
      "list backends in the current running config", cmd_show_backend },
    { { "show", "cli", "level" }, API_USER, "show cli level",
      "display the level of the current CLI session", cmd_show_cli_level },
    { { "show", "info" }, API_USER, "show info",
      "report information about the running process", cmd_show_info },
    { { "show", "servers", "state" }, API_USER, "show servers state [<backend>]",
      "dump volatile server information (all or for a single backend)",
      cmd_show_servers_state },
    { { "show", "stat" }, API_USER, "show stat [{<px>|<iid>} <type> <sid>]",
      "report counters for each proxy and server", cmd_show_stat },
    { { "show", "version" }, API_USER, "show version",
      "show version of the current process", cmd_show_version },
    { { "shutdown", "sessions", "server" }, API_ADMIN, "shutdown sessions server <bk>/<srv>",
      "kill sessions on a server", cmd_shutdown_sessions },
    { { "user" }, API_USER, "user",
      "lower the level of the current CLI session to user", cmd_set_level },
    /* always listed last, as HAProxy does */
    { { "help" }, API_USER, "help [<command>]", "list matching or all commands", cmd_help },
    { { "prompt" }, API_USER, "prompt", "toggle interactive mode with prompt", cmd_prompt },
    { { "quit" }, API_USER, "quit", "disconnect", cmd_quit },
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

/* HAProxy commands wscale does not have: answered in one line. */
static const char *const unsupported[][4] = {
    { "abort", "ssl" }, { "add", "acl" }, { "add", "backend" }, { "add", "map" },
    { "add", "server" }, { "add", "ssl" }, { "clear", "acl" }, { "clear", "counters" },
    { "clear", "map" }, { "clear", "table" }, { "commit", "acl" }, { "commit", "map" },
    { "commit", "ssl" }, { "debug" }, { "del", "acl" }, { "del", "backend" }, { "del", "map" },
    { "del", "server" }, { "del", "ssl" }, { "disable", "agent" },
    { "disable", "dynamic-cookie" }, { "disable", "frontend" }, { "disable", "health" },
    { "dump", "ssl" }, { "dump", "stats-file" }, { "echo" }, { "enable", "agent" },
    { "enable", "dynamic-cookie" }, { "enable", "frontend" }, { "enable", "health" },
    { "experimental-mode" }, { "expert-mode" }, { "get", "acl" }, { "get", "map" },
    { "get", "var" }, { "httpclient" }, { "new", "ssl" }, { "prepare", "acl" },
    { "prepare", "map" }, { "set", "anon" }, { "set", "dynamic-cookie-key" }, { "set", "map" },
    { "set", "maxconn" }, { "set", "profiling" }, { "set", "rate-limit" },
    { "set", "severity-output" }, { "set", "ssl" }, { "set", "table" }, { "set", "timeout" },
    { "set", "var" }, { "show", "acl" }, { "show", "activity" }, { "show", "anon" },
    { "show", "cache" }, { "show", "cli", "sockets" }, { "show", "dev" }, { "show", "env" },
    { "show", "errors" }, { "show", "events" }, { "show", "fd" }, { "show", "libs" },
    { "show", "map" }, { "show", "peers" }, { "show", "pools" }, { "show", "profiling" },
    { "show", "quic" }, { "show", "resolvers" }, { "show", "schema" },
    { "show", "servers", "conn" }, { "show", "sess" }, { "show", "ssl" },
    { "show", "startup-logs" }, { "show", "table" }, { "show", "tasks" }, { "show", "threads" },
    { "show", "trace" }, { "shutdown", "frontend" }, { "shutdown", "session" }, { "trace" },
    { "update" }, { "wait" },
};

/* How many of words[] (NULL-terminated, up to 4) lead args; 0 if not all do. */
static int match_words(const char *const *words, char **args, int nargs)
{
    int n = 0;
    while (n < 4 && words[n]) {
        if (n >= nargs || strcmp(words[n], args[n]) != 0)
            return 0;
        n++;
    }
    return n;
}

static void usage_line(struct strbuf *out, const struct command *cmd)
{
    strbuf_printf(out, "  %-40s: %s\n", cmd->usage, cmd->desc);
}

/* How many leading words args[] shares with the command's. */
static int common_words(const struct command *cmd, char **args, int nargs)
{
    int n = 0;
    while (n < nargs && n < 4 && cmd->words[n] && strcmp(cmd->words[n], args[n]) == 0)
        n++;
    return n;
}

static int always_listed(const struct command *cmd)
{
    return cmd->run == cmd_help || cmd->run == cmd_prompt || cmd->run == cmd_quit;
}

/* The usage of the commands the level allows that share the most leading
 * words with args[] (all of them when none shares any), then help, prompt
 * and quit. */
static void list_commands(const struct call *c, char **args, int nargs)
{
    int length = 0;
    for (size_t k = 0; k < NCOMMANDS; k++) {
        int n = common_words(&commands[k], args, nargs);
        if (c->s->level >= commands[k].level && !always_listed(&commands[k]) && n > length)
            length = n;
    }
    for (size_t k = 0; k < NCOMMANDS; k++)
        if (c->s->level >= commands[k].level && !always_listed(&commands[k]) &&
            common_words(&commands[k], args, nargs) >= length)
            usage_line(c->out, &commands[k]);
    for (size_t k = 0; k < NCOMMANDS; k++)
        if (always_listed(&commands[k]))
            usage_line(c->out, &commands[k]);
}

static void cmd_help(struct call *c)
{
    put(c->out, "The following commands are valid at this level:\n");
    list_commands(c, c->args + 1, c->nargs - 1);
}

/* HAProxy's answer to what is no command: an empty line gets the list of
 * commands, anything else the closest ones (HAProxy ranks them by a fuzzy
 * distance; here, those sharing the most leading words, or all). */
static void unknown_command(struct call *c)
{
    put(c->out, c->nargs == 0
                    ? "Unknown command. Please enter one of the following commands only:\n"
                    : "Unknown command, but maybe one of the following ones is a better match:\n");
    list_commands(c, c->args, c->nargs);
}

static void run_command(struct call *c)
{
    if (c->nargs == 0) {
        unknown_command(c);
        return;
    }
    const struct command *best = NULL;
    int best_n = 0;
    for (size_t k = 0; k < NCOMMANDS; k++) {
        int n = match_words(commands[k].words, c->args, c->nargs);
        if (n > best_n) {
            best = &commands[k];
            best_n = n;
        }
    }
    if (best) {
        if (c->s->level < best->level) {
            put(c->out, permission_denied);
            return;
        }
        c->kw = best_n;
        best->run(c);
        return;
    }
    for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++) {
        int n = match_words(unsupported[k], c->args, c->nargs);
        if (n == 0)
            continue;
        put(c->out, "'");
        for (int w = 0; w < n; w++) {
            put(c->out, w ? " " : "");
            put(c->out, c->args[w]);
        }
        put(c->out, "' is not supported by wscale.\n");
        return;
    }
    unknown_command(c);
}

/* ---- lines ---- */

/* Cuts text at the next unescaped ';' (which becomes '\0'); returns what
 * follows it, or NULL at the end. */
static char *next_command(char *text)
{
    for (char *p = text; *p; p++) {
        if (*p == '\\' && p[1]) {
            p++;
        } else if (*p == ';') {
            *p = '\0';
            return p + 1;
        }
    }
    return NULL;
}

/* Splits a command into words at spaces and tabs, in place, removing the
 * backslashes that escape a character. Returns the number of words. */
static int split_words(char *text, char **args, int max)
{
    int n = 0;
    char *p = text;
    while (n < max) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            break;
        char *word = p, *w = p;
        while (*p && *p != ' ' && *p != '\t') {
            if (*p == '\\' && p[1])
                p++;
            *w++ = *p++;
        }
        if (*p)
            p++;
        *w = '\0';
        args[n++] = word;
    }
    args[n] = NULL;
    return n;
}

void api_execute(const struct api_ops *ops, struct api_session *s, const char *line,
                 struct strbuf *out)
{
    size_t len = strlen(line);
    if (len && line[len - 1] == '\r')
        len--;
    char *text = malloc(len + 1);
    if (text == NULL) {
        put(out, no_memory);
        s->quit = 1;
        return;
    }
    memcpy(text, line, len);
    text[len] = '\0';

    int ran = 0;
    for (char *cmd = text, *rest; cmd && !s->quit_given; cmd = rest) {
        rest = next_command(cmd);
        char *args[MAX_ARGS + 1];
        struct call c = { ops, s, args, split_words(cmd, args, MAX_ARGS), 0, out };
        if (c.nargs == 0 && (ran || rest))
            continue; /* an empty command between or after others */
        ran = 1;
        run_command(&c);
        if (!s->quit_given)
            put(out, s->interactive ? "\n> " : "\n");
    }
    free(text);
    s->quit = s->quit_given || !s->interactive;
}
