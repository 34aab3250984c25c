/* opts.c — see opts.h. */
#include "opts.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/cli.h"
#include "../shared/units.h"

static int fail(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return -1;
}

int bench_url_parse(const char *text, struct bench_url *u, char *err, size_t err_size)
{
    memset(u, 0, sizeof(*u));
    if (strlen(text) >= sizeof(u->text))
        return fail(err, err_size, "URL '%.40s...' is too long", text);
    strcpy(u->text, text);
    const char *p;
    if (strncmp(text, "ws://", 5) == 0) {
        p = text + 5;
        u->port = 80;
    } else if (strncmp(text, "wss://", 6) == 0) {
        p = text + 6;
        u->tls = 1;
        u->port = 443;
    } else {
        return fail(err, err_size, "URL '%s' must start with ws:// or wss://", text);
    }
    size_t auth_len = strcspn(p, "/?#");
    const char *rest = p + auth_len;
    const char *host = p, *port = NULL;
    size_t host_len = auth_len;
    if (*p == '[') {
        const char *close = memchr(p, ']', auth_len);
        if (close == NULL)
            return fail(err, err_size, "URL '%s': IPv6 address without ']'", text);
        host = p + 1;
        host_len = (size_t)(close - host);
        if (close + 1 < rest) {
            if (close[1] != ':')
                return fail(err, err_size, "URL '%s': expected ':PORT' after ']'", text);
            port = close + 2;
        }
    } else {
        const char *colon = memchr(p, ':', auth_len);
        if (colon) {
            host_len = (size_t)(colon - p);
            port = colon + 1;
        }
    }
    if (host_len == 0 || host_len >= sizeof(u->host))
        return fail(err, err_size, "URL '%s' has no host", text);
    if (memchr(host, '@', host_len))
        return fail(err, err_size, "URL '%s': user information is not supported", text);
    memcpy(u->host, host, host_len);
    if (port) {
        char digits[8];
        size_t n = (size_t)(rest - port);
        if (n == 0 || n >= sizeof(digits))
            return fail(err, err_size, "URL '%s': invalid port", text);
        memcpy(digits, port, n);
        digits[n] = '\0';
        if (units_parse_port(digits, &u->port) != 0)
            return fail(err, err_size, "URL '%s': invalid port '%s' (expected 1-65535)", text, digits);
    }
    if (strchr(rest, '#'))
        return fail(err, err_size, "URL '%s': fragments are not allowed in WebSocket URLs", text);
    for (const char *c = rest; *c; c++)
        if ((unsigned char)*c <= ' ' || *c == 0x7f)
            return fail(err, err_size, "URL '%s': spaces and control characters must be %%-encoded", text);
    if (*rest == '\0')
        strcpy(u->target, "/");
    else if (*rest == '?')
        snprintf(u->target, sizeof(u->target), "/%s", rest);
    else
        snprintf(u->target, sizeof(u->target), "%s", rest);
    return 0;
}

static int parse_ipv4(const char *text, size_t len, uint32_t *out)
{
    char buf[INET_ADDRSTRLEN];
    struct in_addr a;
    if (len >= sizeof(buf))
        return -1;
    memcpy(buf, text, len);
    buf[len] = '\0';
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    *out = ntohl(a.s_addr);
    return 0;
}

int bench_source_parse(const char *text, uint32_t *first, uint32_t *last)
{
    const char *dash = strchr(text, '-');
    if (dash == NULL) {
        if (parse_ipv4(text, strlen(text), first) != 0)
            return -1;
        *last = *first;
        return 0;
    }
    if (parse_ipv4(text, (size_t)(dash - text), first) != 0 ||
        parse_ipv4(dash + 1, strlen(dash + 1), last) != 0 || *last < *first)
        return -1;
    return 0;
}

enum {
    OPT_URL = 1, OPT_CLIENTS, OPT_PUBLISHERS, OPT_RATE, OPT_CONNECT_RATE, OPT_SIZE,
    OPT_DURATION, OPT_PROCS, OPT_JSON, OPT_QUIET, OPT_PROGRESS, OPT_SOURCE, OPT_PID,
    OPT_MAX_CONNECTING, OPT_GRACE, OPT_TIMEOUT, OPT_HELP,
};

static const struct cli_option options[] = {
    { "url", 'u', 1, OPT_URL },
    { "clients", 'c', 1, OPT_CLIENTS },
    { "publishers", 'p', 1, OPT_PUBLISHERS },
    { "rate", 'r', 1, OPT_RATE },
    { "connect-rate", 'R', 1, OPT_CONNECT_RATE },
    { "size", 's', 1, OPT_SIZE },
    { "duration", 't', 1, OPT_DURATION },
    { "procs", 'P', 1, OPT_PROCS },
    { "json", 0, 0, OPT_JSON },
    { "quiet", 'q', 0, OPT_QUIET },
    { "progress", 0, 0, OPT_PROGRESS },
    { "source", 0, 1, OPT_SOURCE },
    { "pid", 0, 1, OPT_PID },
    { "max-connecting", 0, 1, OPT_MAX_CONNECTING },
    { "grace", 0, 1, OPT_GRACE },
    { "timeout", 0, 1, OPT_TIMEOUT },
    { "help", 'h', 0, OPT_HELP },
    { NULL, 0, 0, 0 },
};

/* Which modes each option applies to (bit per enum bench_mode). */
#define M(m) (1u << (m))
#define ALL (M(BENCH_IDLE) | M(BENCH_FANOUT) | M(BENCH_ECHO) | M(BENCH_STORM))
static unsigned option_modes(int id)
{
    switch (id) {
    case OPT_PUBLISHERS: case OPT_RATE: return M(BENCH_FANOUT);
    case OPT_CONNECT_RATE: return M(BENCH_IDLE);
    case OPT_PID: return M(BENCH_IDLE);
    case OPT_SIZE: case OPT_GRACE: return M(BENCH_FANOUT) | M(BENCH_ECHO);
    case OPT_DURATION: return M(BENCH_IDLE) | M(BENCH_FANOUT) | M(BENCH_ECHO);
    default: return ALL;
    }
}

static const char *const mode_names[] = { "idle", "fanout", "echo", "storm" };

static int parse_count(const char *opt, const char *value, uint64_t min, uint64_t max, uint64_t *out,
                       char *err, size_t err_size)
{
    if (units_parse_uint(value, max, out) != 0 || *out < min)
        return fail(err, err_size, "%s '%s': expected a whole number from %llu to %llu", opt, value,
                    (unsigned long long)min, (unsigned long long)max);
    return 0;
}

static int parse_urls(struct bench_opts *o, const char *list, char *err, size_t err_size)
{
    const char *p = list;
    while (1) {
        size_t n = strcspn(p, ",");
        char one[sizeof(o->urls[0].text)];
        if (n == 0)
            return fail(err, err_size, "-u '%s': empty URL in the list", list);
        if (o->nurls == BENCH_MAX_URLS)
            return fail(err, err_size, "-u: at most %d URLs", BENCH_MAX_URLS);
        if (n >= sizeof(one))
            return fail(err, err_size, "-u: URL '%.40s...' is too long", p);
        memcpy(one, p, n);
        one[n] = '\0';
        if (bench_url_parse(one, &o->urls[o->nurls], err, err_size) != 0)
            return -1;
        o->nurls++;
        if (p[n] == '\0')
            return 0;
        p += n + 1;
    }
}

static int parse_pids(struct bench_opts *o, const char *list, char *err, size_t err_size)
{
    const char *p = list;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end == p || v <= 0 || (*end != ',' && *end != '\0'))
            return fail(err, err_size, "--pid '%s': expected process ids separated by commas", list);
        if (o->npids == BENCH_MAX_PIDS)
            return fail(err, err_size, "--pid: at most %d processes", BENCH_MAX_PIDS);
        o->pids[o->npids++] = (pid_t)v;
        p = *end == ',' ? end + 1 : end;
    }
    return 0;
}

static int parse_option(struct bench_opts *o, int id, const struct cli *c, char *err, size_t err_size)
{
    const char *v = c->value, *opt = c->option;
    switch (id) {
    case OPT_URL: return parse_urls(o, v, err, err_size);
    case OPT_CLIENTS: return parse_count(opt, v, 1, 10000000, &o->clients, err, err_size);
    case OPT_PUBLISHERS: return parse_count(opt, v, 1, 1000000, &o->publishers, err, err_size);
    case OPT_RATE: return parse_count(opt, v, 1, 100000000, &o->rate, err, err_size);
    case OPT_CONNECT_RATE: return parse_count(opt, v, 1, 10000000, &o->connect_rate, err, err_size);
    case OPT_PROCS: return parse_count(opt, v, 1, 256, &o->procs, err, err_size);
    case OPT_MAX_CONNECTING: return parse_count(opt, v, 1, 100000, &o->max_connecting, err, err_size);
    case OPT_SIZE:
        if (units_parse_size(v, &o->size) != 0 || o->size == 0 || o->size > (16u << 20))
            return fail(err, err_size, "%s '%s': expected a size from 1 to 16m (e.g. 64, 1k)", opt, v);
        return 0;
    case OPT_DURATION:
    case OPT_GRACE:
    case OPT_TIMEOUT: {
        uint64_t ms;
        if (units_parse_duration(v, UNITS_SECONDS, &ms) != 0 || (id != OPT_GRACE && ms == 0))
            return fail(err, err_size, "%s '%s': expected a duration such as 10s, 500ms or 2m", opt, v);
        *(id == OPT_DURATION ? &o->duration_ms : id == OPT_GRACE ? &o->grace_ms : &o->timeout_ms) = ms;
        return 0;
    }
    case OPT_JSON: o->json = 1; return 0;
    case OPT_QUIET: o->quiet = 1; return 0;
    case OPT_PROGRESS: o->progress = 1; return 0;
    case OPT_SOURCE:
        if (bench_source_parse(v, &o->source_first, &o->source_last) != 0)
            return fail(err, err_size, "--source '%s': expected an IPv4 address or a range "
                        "such as 127.0.0.1-127.0.0.8", v);
        return 0;
    case OPT_PID: return parse_pids(o, v, err, err_size);
    }
    return fail(err, err_size, "internal error: option %d", id);
}

int bench_opts_parse(struct bench_opts *o, int argc, char **argv, char *err, size_t err_size)
{
    memset(o, 0, sizeof(*o));
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "help") == 0)
        return 1;
    size_t m;
    for (m = 0; m < 4; m++)
        if (strcmp(argv[1], mode_names[m]) == 0)
            break;
    if (m == 4)
        return fail(err, err_size, "unknown benchmark '%s' (expected idle, fanout, echo or storm)", argv[1]);
    o->mode = (enum bench_mode)m;
    o->clients = 100;
    o->publishers = 1;
    o->rate = 1000;
    o->size = 64;
    o->duration_ms = 10000;
    o->procs = 1;
    o->max_connecting = 256;
    o->grace_ms = 2000;
    o->timeout_ms = 10000;

    struct cli c;
    cli_init(&c, argc, argv, 2);
    int id;
    while ((id = cli_next(&c, options)) != CLI_END) {
        if (id == CLI_ERROR)
            return fail(err, err_size, "%s", c.error);
        if (id == CLI_POSITIONAL)
            return fail(err, err_size, "unexpected argument '%s' (URLs go after -u)", c.value);
        if (id == OPT_HELP)
            return 1;
        if (!(option_modes(id) & M(o->mode)))
            return fail(err, err_size, "%s does not apply to 'bench %s' (see wscale bench --help)",
                        c.option, mode_names[o->mode]);
        if (parse_option(o, id, &c, err, err_size) != 0)
            return -1;
    }
    if (o->nurls == 0)
        return fail(err, err_size, "no target: give one with -u ws://HOST:PORT/PATH");
    if (o->mode == BENCH_FANOUT) {
        if (o->publishers > o->clients)
            return fail(err, err_size, "-p %llu is more than -c %llu: publishers are among the clients",
                        (unsigned long long)o->publishers, (unsigned long long)o->clients);
        if (o->size < BENCH_MIN_FANOUT_SIZE)
            return fail(err, err_size, "-s %llu is too small: a fanout message carries a %d-byte header",
                        (unsigned long long)o->size, BENCH_MIN_FANOUT_SIZE);
    }
    if (o->mode == BENCH_ECHO && o->size < BENCH_MIN_FANOUT_SIZE)
        return fail(err, err_size, "-s %llu is too small: an echo message carries a %d-byte header",
                    (unsigned long long)o->size, BENCH_MIN_FANOUT_SIZE);
    if (o->procs > o->clients)
        o->procs = o->clients;
    return 0;
}
