/* options.c — see options.h. */
#include "options.h"

#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "../shared/cli.h"
#include "../shared/http.h"
#include "../shared/net.h"
#include "../shared/units.h"
#include "../shared/utf8.h"

enum {
    OPT_HELP = 1, OPT_LISTEN, OPT_ID, OPT_REDIS, OPT_CHANNEL, OPT_MAX_MESSAGE,
    OPT_PING_INTERVAL, OPT_ECHO, OPT_ALLOW_ORIGIN, OPT_MAX_OUTPUT, OPT_PUBLISH_QUEUE,
    OPT_HANDSHAKE_TIMEOUT, OPT_DRAIN_TIMEOUT, OPT_REDIS_TIMEOUT, OPT_LOG_LEVEL, OPT_TLS_CERT,
    OPT_HISTORY, OPT_RATE_LIMIT, OPT_PRESENCE_TTL, OPT_WRITE_DELAY,
};

static const struct cli_option options[] = {
    { "help", 'h', 0, OPT_HELP },
    { "listen", 0, 1, OPT_LISTEN },
    { "id", 0, 1, OPT_ID },
    { "redis", 0, 1, OPT_REDIS },
    { "channel", 0, 1, OPT_CHANNEL },
    { "max-message", 0, 1, OPT_MAX_MESSAGE },
    { "ping-interval", 0, 1, OPT_PING_INTERVAL },
    { "echo", 0, 0, OPT_ECHO },
    { "allow-origin", 0, 1, OPT_ALLOW_ORIGIN },
    { "max-output", 0, 1, OPT_MAX_OUTPUT },
    { "publish-queue", 0, 1, OPT_PUBLISH_QUEUE },
    { "handshake-timeout", 0, 1, OPT_HANDSHAKE_TIMEOUT },
    { "drain-timeout", 0, 1, OPT_DRAIN_TIMEOUT },
    { "redis-timeout", 0, 1, OPT_REDIS_TIMEOUT },
    { "log-level", 0, 1, OPT_LOG_LEVEL },
    { "tls-cert", 0, 1, OPT_TLS_CERT },
    { "history", 0, 1, OPT_HISTORY },
    { "rate-limit", 0, 1, OPT_RATE_LIMIT },
    { "presence-ttl", 0, 1, OPT_PRESENCE_TTL },
    { "write-delay", 0, 1, OPT_WRITE_DELAY },
    { NULL, 0, 0, 0 },
};

void backend_usage(FILE *out)
{
    fputs(
"Usage: wscale backend [OPTIONS]\n"
"\n"
"A WebSocket group-chat server. Every text message a client sends is published\n"
"to a Redis channel; every backend subscribed to it sends \"<ID>:<text>\" to each\n"
"of its own clients. New clients first receive \"Connected successfully to server\n"
"<ID>\". Clients that ask for the subprotocol wscale.chat.v1 get rooms with\n"
"history, recovery, presence and acks instead (see README). The same port\n"
"answers GET / (the chat page), GET /healthz and GET /metrics.\n"
"\n"
"Options (environment variables in brackets; flags win):\n"
"  --listen ADDR:PORT        address to listen on            [PORT] (0.0.0.0:8080)\n"
"  --id ID                   name of this server in messages [APPID] (host name)\n"
"  --redis URL               redis://[[user]:password@]host[:port][/db]\n"
"                            [REDIS_URL, or REDIS_HOST and REDIS_PORT] (redis://127.0.0.1:6379)\n"
"  --channel NAME            Redis pub/sub channel                  (livechat)\n"
"  --echo                    no Redis: send each message back to its sender only\n"
"  --tls-cert PEM            serve wss:// and https:// with this certificate\n"
"                            chain and key (Mozilla intermediate TLS settings)\n"
"  --allow-origin LIST       comma-separated Origins allowed to connect (any);\n"
"                            others get 403, requests without Origin are allowed\n"
"  --max-message BYTES       largest message accepted, larger is closed 1009 (1m)\n"
"  --max-output BYTES        unsent bytes to one client before it is closed\n"
"                            1008 as a slow consumer                       (4m)\n"
"  --publish-queue BYTES     messages held while Redis is away; a client whose\n"
"                            message does not fit is closed 1013         (32m)\n"
"  --ping-interval DURATION  ping idle clients; drop those silent for another\n"
"                            interval; 0 disables                         (30s)\n"
"  --handshake-timeout DURATION  time to send the request head            (10s)\n"
"  --drain-timeout DURATION  on SIGTERM/SIGINT, time clients get to answer the\n"
"                            1001 close before exit                       (10s)\n"
"  --redis-timeout DURATION  Redis connect and reply timeout               (5s)\n"
"  --write-delay DURATION    when 64+ clients have output, wait this long so\n"
"                            more messages share each write; 0: at once   (5ms)\n"
"  --log-level LEVEL         debug, info, warn or error                  (info)\n"
"\n"
"wscale.chat.v1:\n"
"  --history N               messages kept per room (Redis stream cap)   (1000)\n"
"  --rate-limit N            frames per second a connection may send; over\n"
"                            it: error rate_limited, close 1008           (20)\n"
"  --presence-ttl DURATION   a member not refreshed for this long (its backend\n"
"                            died) leaves its rooms; refreshed every ttl/3 (15s)\n"
"  -h, --help                show this help\n"
"\n"
"BYTES take k, m, g suffixes (1k = 1024). DURATION takes ms, s, m, h (a bare\n"
"number is seconds).\n",
        out);
}

static int set_error(char *err, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int set_error(char *err, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, size, fmt, ap);
    va_end(ap);
    return OPTIONS_ERROR;
}

static int copy_text(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n == 0 || n >= size)
        return -1;
    memcpy(dst, src, n + 1);
    return 0;
}

/* An id goes into every message this server delivers: printable UTF-8. */
static int id_valid(const char *id)
{
    for (const char *p = id; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return 0;
    return *id != '\0' && utf8_validate((const uint8_t *)id, strlen(id)) == 0;
}

static int parse_duration(const char *text, double *seconds)
{
    uint64_t ms;
    if (units_parse_duration(text, UNITS_SECONDS, &ms) != 0)
        return -1;
    *seconds = (double)ms / 1000.0;
    return 0;
}

static void set_defaults(struct backend_options *o)
{
    memset(o, 0, sizeof(*o));
    strcpy(o->listen_host, "0.0.0.0");
    o->listen_port = 8080;
    strcpy(o->redis.host, "127.0.0.1");
    o->redis.port = REDIS_URL_DEFAULT_PORT;
    strcpy(o->channel, "livechat");
    o->max_message = 1 << 20;
    o->max_output = 4 << 20;
    o->publish_queue = 32 << 20;
    o->ping_interval = 30;
    o->handshake_timeout = 10;
    o->drain_timeout = 10;
    o->redis_timeout = 5;
    o->history = 1000;
    o->rate_limit = 20;
    o->presence_ttl = 15;
    o->write_delay = 0.005;
    o->log_level = LOG_INFO;
}

/* Applies PORT, APPID, REDIS_URL, REDIS_HOST and REDIS_PORT. */
static int apply_environment(struct backend_options *o, options_getenv_fn *getenv_fn,
                             char *err, size_t size)
{
    const char *v, *why;
    if ((v = getenv_fn("PORT")) && *v) {
        if (units_parse_port(v, &o->listen_port) != 0)
            return set_error(err, size, "environment PORT='%s': expected a port number 1-65535", v);
    }
    if ((v = getenv_fn("APPID")) && *v) {
        if (copy_text(o->id, sizeof(o->id), v) != 0 || !id_valid(o->id))
            return set_error(err, size, "environment APPID='%s': expected 1-%d printable characters",
                             v, BACKEND_ID_MAX);
    }
    if ((v = getenv_fn("REDIS_URL")) && *v) {
        if (redis_url_parse(v, &o->redis, &why) != 0)
            return set_error(err, size, "environment REDIS_URL: %s", why);
        return OPTIONS_OK; /* a full URL overrides REDIS_HOST and REDIS_PORT */
    }
    if ((v = getenv_fn("REDIS_HOST")) && *v) {
        if (copy_text(o->redis.host, sizeof(o->redis.host), v) != 0)
            return set_error(err, size, "environment REDIS_HOST: host name too long");
    }
    if ((v = getenv_fn("REDIS_PORT")) && *v) {
        if (units_parse_port(v, &o->redis.port) != 0)
            return set_error(err, size, "environment REDIS_PORT='%s': expected a port number 1-65535", v);
    }
    return OPTIONS_OK;
}

static int apply_flag(struct backend_options *o, int id, const char *v, const char *flag,
                      char *err, size_t size)
{
    const char *why;
    switch (id) {
    case OPT_LISTEN:
        if (net_split_hostport(v, o->listen_host, sizeof(o->listen_host), &o->listen_port) != 0)
            return set_error(err, size, "%s '%s': expected ADDR:PORT, e.g. 0.0.0.0:8080 or [::1]:8080", flag, v);
        break;
    case OPT_ID:
        if (copy_text(o->id, sizeof(o->id), v) != 0 || !id_valid(o->id))
            return set_error(err, size, "%s '%s': expected 1-%d printable characters", flag, v, BACKEND_ID_MAX);
        break;
    case OPT_REDIS:
        if (redis_url_parse(v, &o->redis, &why) != 0)
            return set_error(err, size, "%s '%s': %s", flag, v, why);
        break;
    case OPT_CHANNEL:
        if (copy_text(o->channel, sizeof(o->channel), v) != 0)
            return set_error(err, size, "%s: expected a channel name of 1-255 bytes", flag);
        break;
    case OPT_ECHO:
        o->echo = 1;
        break;
    case OPT_ALLOW_ORIGIN:
        if (*v == '\0')
            return set_error(err, size, "%s: expected a comma-separated list of origins, e.g. https://chat.example.com", flag);
        o->allow_origin = v;
        break;
    case OPT_MAX_MESSAGE:
    case OPT_MAX_OUTPUT:
    case OPT_PUBLISH_QUEUE: {
        uint64_t bytes;
        if (units_parse_size(v, &bytes) != 0 || bytes == 0 || bytes > (UINT64_C(1) << 30))
            return set_error(err, size, "%s '%s': expected a size from 1 to 1g, e.g. 1048576 or 4m", flag, v);
        *(id == OPT_MAX_MESSAGE ? &o->max_message : id == OPT_MAX_OUTPUT ? &o->max_output
                                                                         : &o->publish_queue) = bytes;
        break;
    }
    case OPT_PING_INTERVAL:
    case OPT_HANDSHAKE_TIMEOUT:
    case OPT_DRAIN_TIMEOUT:
    case OPT_REDIS_TIMEOUT: {
        double s;
        if (parse_duration(v, &s) != 0)
            return set_error(err, size, "%s '%s': expected a duration such as 500ms, 30s, 5m", flag, v);
        if (s == 0 && (id == OPT_HANDSHAKE_TIMEOUT || id == OPT_REDIS_TIMEOUT))
            return set_error(err, size, "%s: must be more than 0", flag);
        *(id == OPT_PING_INTERVAL ? &o->ping_interval
          : id == OPT_HANDSHAKE_TIMEOUT ? &o->handshake_timeout
          : id == OPT_DRAIN_TIMEOUT ? &o->drain_timeout : &o->redis_timeout) = s;
        break;
    }
    case OPT_HISTORY:
        if (units_parse_uint(v, 1000000, &o->history) != 0 || o->history == 0)
            return set_error(err, size, "%s '%s': expected a number of messages from 1 to 1000000", flag, v);
        break;
    case OPT_RATE_LIMIT:
        if (units_parse_uint(v, 100000, &o->rate_limit) != 0 || o->rate_limit == 0)
            return set_error(err, size, "%s '%s': expected frames per second from 1 to 100000", flag, v);
        break;
    case OPT_WRITE_DELAY: {
        double s;
        if (parse_duration(v, &s) != 0 || s > 0.1)
            return set_error(err, size, "%s '%s': expected a duration from 0 to 100ms, e.g. 5ms", flag, v);
        o->write_delay = s;
        break;
    }
    case OPT_PRESENCE_TTL: {
        double s;
        if (parse_duration(v, &s) != 0 || s < 1 || s > 86400)
            return set_error(err, size, "%s '%s': expected a duration from 1s to 24h, e.g. 15s", flag, v);
        o->presence_ttl = s;
        break;
    }
    case OPT_TLS_CERT:
        if (*v == '\0')
            return set_error(err, size, "%s: expected a PEM file holding the certificate chain and key", flag);
        o->tls_cert = v;
        break;
    case OPT_LOG_LEVEL:
        if (log_level_parse(v, &o->log_level) != 0)
            return set_error(err, size, "%s '%s': expected debug, info, warn or error", flag, v);
        break;
    }
    return OPTIONS_OK;
}

int backend_options_parse(struct backend_options *o, int argc, char **argv, int first,
                          options_getenv_fn *getenv_fn, char *err, size_t err_size)
{
    set_defaults(o);
    int rc = apply_environment(o, getenv_fn, err, err_size);
    if (rc != OPTIONS_OK)
        return rc;

    struct cli c;
    cli_init(&c, argc, argv, first);
    int id;
    while ((id = cli_next(&c, options)) != CLI_END) {
        if (id == CLI_ERROR)
            return set_error(err, err_size, "%s", c.error);
        if (id == CLI_POSITIONAL)
            return set_error(err, err_size, "unexpected argument '%s'", c.value);
        if (id == OPT_HELP)
            return OPTIONS_HELP;
        rc = apply_flag(o, id, c.value, c.option, err, err_size);
        if (rc != OPTIONS_OK)
            return rc;
    }

    if (o->id[0] == '\0') {
        if (gethostname(o->id, sizeof(o->id)) != 0 || !id_valid(o->id))
            strcpy(o->id, "wscale");
        o->id[BACKEND_ID_MAX] = '\0';
    }
    /* Leave room for a whole message plus its "<ID>:" prefix and frame header. */
    if (o->max_output < o->max_message + 1024)
        return set_error(err, err_size, "--max-output (%llu) must exceed --max-message (%llu) by at least 1k",
                         (unsigned long long)o->max_output, (unsigned long long)o->max_message);
    if (!o->echo && o->publish_queue < o->max_message)
        return set_error(err, err_size, "--publish-queue (%llu) must be at least --max-message (%llu)",
                         (unsigned long long)o->publish_queue, (unsigned long long)o->max_message);
    return OPTIONS_OK;
}

int backend_origin_allowed(const struct backend_options *o, const char *origin, size_t len)
{
    if (o->allow_origin == NULL)
        return 1;
    const char *p = o->allow_origin;
    while (*p) {
        while (*p == ' ' || *p == ',')
            p++;
        const char *start = p;
        while (*p && *p != ',')
            p++;
        const char *end = p;
        while (end > start && end[-1] == ' ')
            end--;
        size_t n = (size_t)(end - start);
        if ((n == 1 && *start == '*') || (n > 0 && http_caseeq(start, n, origin, len)))
            return 1;
    }
    return 0;
}
