/* config.c — see config.h. Keyword placement follows HAProxy's matrix
 * (configuration.txt, "Proxy keywords matrix"). */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/units.h"
#include "balance.h"
#include "stick-rules.h"
#include "cookie.h"

enum section { SEC_NONE, SEC_GLOBAL, SEC_DEFAULTS, SEC_FRONTEND, SEC_BACKEND, SEC_LISTEN };

/* Where a keyword may appear: HAProxy's defaults/frontend/backend/listen. */
#define IN_D 0x1
#define IN_F 0x2
#define IN_B 0x4
#define IN_L 0x8

struct parser {
    const char *file;
    struct lb_config *cfg;
    struct strbuf *errors, *warnings;
    int nerrors;
    int line;
    enum section sec;
    int skipping;            /* inside a section that was refused: its lines are not read */
    struct proxy defaults;   /* what the next proxies start from */
    struct proxy *cur;       /* the proxy being read, or &defaults */
    struct proxy **tail;     /* where the next proxy is linked */
};

static void error(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warning(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Appends msg, which may quote the user's words, on one line: control
 * characters (a "\n" escape in a quoted word) are written as escapes. */
static void put_message(struct strbuf *sb, const char *msg)
{
    for (const unsigned char *c = (const unsigned char *)msg; *c; c++) {
        if (*c == '\n')
            strbuf_append(sb, "\\n", 2);
        else if (*c == '\r')
            strbuf_append(sb, "\\r", 2);
        else if ((*c < 0x20 && *c != '\t') || *c == 0x7f)
            strbuf_printf(sb, "\\x%02x", *c);
        else
            strbuf_append(sb, (const char *)c, 1);
    }
    strbuf_append(sb, "\n", 1);
}

static void report(struct parser *p, struct strbuf *sb, int line, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (line > 0)
        strbuf_printf(sb, "%s:%d: ", p->file, line);
    else
        strbuf_printf(sb, "%s: ", p->file);
    put_message(sb, msg);
}

static void error(struct parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(p, p->errors, p->line, fmt, ap);
    va_end(ap);
    p->nerrors++;
}

static void warning(struct parser *p, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    strbuf_printf(p->warnings, "%s:%d: warning: ", p->file, p->line);
    put_message(p->warnings, msg);
}

static char *xstrdup(struct parser *p, const char *s)
{
    char *d = s ? strdup(s) : NULL;
    if (s && d == NULL)
        error(p, "out of memory");
    return d;
}

static const char *section_name(enum section s)
{
    static const char *const names[] = { "(none)", "global", "defaults", "frontend", "backend",
                                         "listen" };
    return names[s];
}

/* ---- values ---------------------------------------------------------- */

static int want_args(struct parser *p, struct conf_line *l, int min, int max, const char *usage)
{
    if (l->argc < min || l->argc > max) {
        error(p, "'%s' expects %s", l->argv[0], usage);
        return -1;
    }
    return 0;
}

static int parse_uint(struct parser *p, const char *what, const char *text, uint64_t min,
                      uint64_t max, unsigned *out)
{
    uint64_t v;
    if (units_parse_uint(text, max, &v) != 0 || v < min) {
        error(p, "%s: '%s' is not an integer from %llu to %llu", what, text,
              (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = (unsigned)v;
    return 0;
}

static int parse_time(struct parser *p, const char *what, const char *text, uint32_t *ms)
{
    uint64_t v;
    if (units_parse_duration(text, UNITS_MILLISECONDS, &v) != 0) {
        error(p, "%s: '%s' is not a duration (a number with us, ms, s, m, h or d; a bare "
                 "number is milliseconds)", what, text);
        return -1;
    }
    *ms = (uint32_t)v;
    return 0;
}

/* Resolves an HAProxy address ("*:8080", ":8080", "[::1]:80", "host:80"). */
static int parse_addr(struct parser *p, const char *what, const char *text, char **host_out,
                      uint16_t *port, struct net_addr *addr)
{
    char host[256];
    const char *why;
    if (net_split_hostport(text, host, sizeof(host), port) != 0) {
        error(p, "%s: '%s' is not ADDRESS:PORT (e.g. *:8080, 127.0.0.1:8080, [::1]:8080)", what,
              text);
        return -1;
    }
    if (net_resolve(host, *port, addr, &why) != 0) {
        error(p, "%s: cannot resolve '%s': %s", what, host, why);
        return -1;
    }
    if (host_out)
        *host_out = xstrdup(p, host);
    return 0;
}

/* ---- proxies --------------------------------------------------------- */

/* HAProxy's built-in defaults, which a new defaults section starts from. */
static void proxy_builtin_defaults(struct proxy *px)
{
    memset(px, 0, sizeof(*px));
    px->balance = BALANCE_ROUNDROBIN;
    px->random_draws = 2;
    px->retries = 3;
    px->defsrv.weight = 1;
    px->defsrv.inter_ms = 2000;
    px->defsrv.rise = 2;
    px->defsrv.fall = 3;
    px->defsrv.verify = 1;
}

static void proxy_free_strings(struct proxy *px)
{
    free(px->name);
    free(px->chk_method);
    free(px->chk_uri);
    free(px->chk_version);
    free(px->backend_name);
    free(px->hash_key_name);
    free(px->ring);
    free(px->defsrv.ca_file);
    free(px->defsrv.sni);
    free(px->stats_uri);
    free(px->stats_realm);
    for (size_t i = 0; i < px->nstats_auth; i++)
        free(px->stats_auth[i]);
    free(px->stats_auth);
    free(px->prometheus_uri);
    free(px->defsrv.cookie);
    free(px->ck.name);
    free(px->ck.domain);
    free(px->ck.attrs);
}

/* A server takes its settings from a default-server: its own copy of them. */
static void server_copy_settings(struct parser *p, struct server *dst, const struct server *src)
{
    *dst = *src;
    dst->ca_file = xstrdup(p, src->ca_file);
    dst->sni = xstrdup(p, src->sni);
    dst->cookie = xstrdup(p, src->cookie);
}

/* HAProxy's rule for proxy and server names: letters, digits, '-', '_',
 * '.' and ':'. It keeps them safe in CSV, logs and the runtime API. */
static int valid_name(struct parser *p, const char *what, const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n >= 104) {
        error(p, "%s name '%s' must have 1 to 103 characters", what, name);
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':')) {
            error(p, "%s name '%s': character '%c' is not allowed (use letters, digits, '-', "
                     "'_', '.' and ':')", what, name, c);
            return 0;
        }
    }
    return 1;
}

static void add_stats_auth(struct parser *p, struct proxy *px, const char *user_pass)
{
    char **grown = realloc(px->stats_auth, (px->nstats_auth + 1) * sizeof(*grown));
    char *copy = xstrdup(p, user_pass);
    if (grown == NULL || copy == NULL) {
        free(copy);
        if (grown)
            px->stats_auth = grown;
        error(p, "out of memory");
        return;
    }
    px->stats_auth = grown;
    px->stats_auth[px->nstats_auth++] = copy;
}

/* A new proxy takes every setting of the current defaults section. */
static struct proxy *proxy_new(struct parser *p, const char *name, unsigned caps)
{
    struct proxy *px = calloc(1, sizeof(*px));
    if (px == NULL) {
        error(p, "out of memory");
        return NULL;
    }
    *px = p->defaults;
    px->next = NULL;
    px->name = xstrdup(p, name);
    px->line = p->line;
    px->caps = caps;
    px->chk_method = xstrdup(p, p->defaults.chk_method);
    px->chk_uri = xstrdup(p, p->defaults.chk_uri);
    px->chk_version = xstrdup(p, p->defaults.chk_version);
    px->backend_name = xstrdup(p, p->defaults.backend_name);
    px->hash_key_name = xstrdup(p, p->defaults.hash_key_name);
    px->stats_uri = xstrdup(p, p->defaults.stats_uri);
    px->stats_realm = xstrdup(p, p->defaults.stats_realm);
    px->prometheus_uri = xstrdup(p, p->defaults.prometheus_uri);
    px->stats_auth = NULL;
    px->nstats_auth = 0;
    for (size_t i = 0; i < p->defaults.nstats_auth; i++)
        add_stats_auth(p, px, p->defaults.stats_auth[i]);
    px->ck.name = xstrdup(p, p->defaults.ck.name);
    px->ck.domain = xstrdup(p, p->defaults.ck.domain);
    px->ck.attrs = xstrdup(p, p->defaults.ck.attrs);
    server_copy_settings(p, &px->defsrv, &p->defaults.defsrv);
    px->servers = NULL;
    px->binds = NULL;
    *p->tail = px;
    p->tail = &px->next;
    return px;
}

/* ---- server options (server and default-server lines) ---------------- */

static int parse_server_options(struct parser *p, struct conf_line *l, int first, struct server *s)
{
    for (int i = first; i < l->argc; i++) {
        const char *o = l->argv[i];
        const char *v = i + 1 < l->argc ? l->argv[i + 1] : NULL;
        int takes_value = 1;
        if (strcmp(o, "check") == 0) {
            s->check = 1;
            takes_value = 0;
        } else if (strcmp(o, "no-check") == 0) {
            s->check = 0;
            takes_value = 0;
        } else if (strcmp(o, "backup") == 0) {
            s->backup = 1;
            takes_value = 0;
        } else if (strcmp(o, "disabled") == 0) {
            s->disabled = 1;
            takes_value = 0;
        } else if (strcmp(o, "enabled") == 0) {
            s->disabled = 0;
            takes_value = 0;
        } else if (strcmp(o, "ssl") == 0 || strcmp(o, "no-ssl") == 0) {
            s->ssl = strcmp(o, "ssl") == 0;
            takes_value = 0;
        } else if (v == NULL && (strcmp(o, "inter") == 0 || strcmp(o, "rise") == 0 ||
                                 strcmp(o, "fall") == 0 || strcmp(o, "weight") == 0 ||
                                 strcmp(o, "maxconn") == 0 || strcmp(o, "verify") == 0 ||
                                 strcmp(o, "ca-file") == 0 || strcmp(o, "sni") == 0 ||
                                 strcmp(o, "cookie") == 0)) {
            error(p, "server option '%s' expects a value", o);
            return -1;
        } else if (strcmp(o, "inter") == 0) {
            uint32_t ms;
            if (parse_time(p, "inter", v, &ms) != 0)
                return -1;
            if (ms == 0) {
                error(p, "inter: must be more than 0");
                return -1;
            }
            s->inter_ms = ms;
        } else if (strcmp(o, "rise") == 0) {
            if (parse_uint(p, "rise", v, 1, 1000, &s->rise) != 0)
                return -1;
        } else if (strcmp(o, "fall") == 0) {
            if (parse_uint(p, "fall", v, 1, 1000, &s->fall) != 0)
                return -1;
        } else if (strcmp(o, "weight") == 0) {
            if (parse_uint(p, "weight", v, 0, 256, &s->weight) != 0)
                return -1;
        } else if (strcmp(o, "maxconn") == 0) {
            if (parse_uint(p, "maxconn", v, 0, 1000000, &s->maxconn) != 0)
                return -1;
        } else if (strcmp(o, "verify") == 0) {
            if (strcmp(v, "none") != 0 && strcmp(v, "required") != 0) {
                error(p, "verify '%s': expected none or required", v);
                return -1;
            }
            s->verify = strcmp(v, "required") == 0;
        } else if (strcmp(o, "ca-file") == 0) {
            free(s->ca_file);
            s->ca_file = xstrdup(p, v);
        } else if (strcmp(o, "cookie") == 0) {
            if (!cookie_value_ok(v)) {
                error(p, "server option cookie '%s': a cookie value is made of letters, digits "
                         "and RFC 6265 cookie characters, without spaces, '\"', ',', ';', '\\' "
                         "or '|' (which starts the dates of maxidle and maxlife)", v);
                return -1;
            }
            free(s->cookie);
            s->cookie = xstrdup(p, v);
        } else if (strcmp(o, "sni") == 0) {
            /* HAProxy takes an expression; a constant is str(NAME). */
            size_t n = strlen(v);
            free(s->sni);
            s->sni = NULL; /* an error below leaves none, not a freed one */
            if (strncmp(v, "str(", 4) == 0 && n > 5 && v[n - 1] == ')') {
                s->sni = xstrdup(p, v + 4);
                if (s->sni)
                    s->sni[n - 5] = '\0';
            } else if (strchr(v, '(') == NULL) {
                s->sni = xstrdup(p, v);
            } else {
                error(p, "sni '%s': only a constant name is supported, e.g. sni str(chat.example.com)", v);
                return -1;
            }
        } else {
            error(p, "unknown server option '%s' (expected check, inter, rise, fall, weight, "
                     "maxconn, backup, disabled, ssl, verify, ca-file, sni, cookie)", o);
            return -1;
        }
        i += takes_value;
    }
    return 0;
}

/* ---- keywords -------------------------------------------------------- */

static void kw_mode(struct parser *p, struct conf_line *l)
{
    if (want_args(p, l, 2, 2, "one argument: http") != 0)
        return;
    if (strcmp(l->argv[1], "http") != 0)
        error(p, "mode '%s' is not supported (wscale proxies HTTP and WebSocket: use 'mode http')",
              l->argv[1]);
}

static void kw_maxconn(struct parser *p, struct conf_line *l)
{
    if (want_args(p, l, 2, 2, "one number") == 0)
        parse_uint(p, "maxconn", l->argv[1], 1, 10000000, &p->cur->maxconn);
}

/* "TLSv1.2" or "TLSv1.3"; older versions are not offered at all. */
static int parse_tls_version(struct parser *p, const char *what, const char *v, int *out)
{
    if (strcmp(v, "TLSv1.2") == 0)
        *out = TLS1_2_VERSION;
    else if (strcmp(v, "TLSv1.3") == 0)
        *out = TLS1_3_VERSION;
    else if (strcmp(v, "SSLv3") == 0 || strcmp(v, "TLSv1.0") == 0 || strcmp(v, "TLSv1.1") == 0)
        error(p, "%s %s: wscale offers TLSv1.2 and TLSv1.3 only", what, v);
    else
        error(p, "%s '%s': expected TLSv1.2 or TLSv1.3", what, v);
    return *out ? 0 : -1;
}

static void replace(struct parser *p, char **slot, const char *value)
{
    free(*slot);
    *slot = xstrdup(p, value);
}

static void settings_copy(struct parser *p, struct tls_settings *dst, const struct tls_settings *src)
{
    *dst = *src;
    dst->ciphers = xstrdup(p, src->ciphers);
    dst->ciphersuites = xstrdup(p, src->ciphersuites);
    dst->curves = xstrdup(p, src->curves);
    dst->alpn = xstrdup(p, src->alpn);
}

static void settings_free(struct tls_settings *s)
{
    free(s->ciphers);
    free(s->ciphersuites);
    free(s->curves);
    free(s->alpn);
}

/* One TLS option of a bind line or of ssl-default-bind-options at argv[*i]
 * (a value, if it takes one, at argv[*i + 1]). Returns 1 if it was one, 0
 * if the word is not a TLS option, -1 on an error. */
static int tls_option(struct parser *p, struct conf_line *l, int *i, struct tls_settings *s)
{
    const char *o = l->argv[*i];
    const char *v = *i + 1 < l->argc ? l->argv[*i + 1] : NULL;
    static const char *const with_value[] = { "alpn", "ciphers", "ciphersuites", "curves",
                                              "ssl-min-ver", "ssl-max-ver", NULL };
    for (int k = 0; with_value[k]; k++) {
        if (strcmp(o, with_value[k]) != 0)
            continue;
        if (v == NULL) {
            error(p, "'%s' expects a value", o);
            return -1;
        }
        (*i)++;
        if (strcmp(o, "alpn") == 0)
            replace(p, &s->alpn, v);
        else if (strcmp(o, "ciphers") == 0)
            replace(p, &s->ciphers, v);
        else if (strcmp(o, "ciphersuites") == 0)
            replace(p, &s->ciphersuites, v);
        else if (strcmp(o, "curves") == 0)
            replace(p, &s->curves, v);
        else if (parse_tls_version(p, o, v, strcmp(o, "ssl-min-ver") == 0 ? &s->min_version
                                                                         : &s->max_version) != 0)
            return -1;
        return 1;
    }
    if (strcmp(o, "no-tls-tickets") == 0)
        s->no_tickets = 1;
    else if (strcmp(o, "prefer-client-ciphers") == 0)
        s->prefer_client_ciphers = 1;
    else if (strcmp(o, "no-tlsv12") == 0)
        s->min_version = TLS1_3_VERSION;
    else if (strcmp(o, "no-tlsv13") == 0)
        s->max_version = TLS1_2_VERSION;
    else if (strcmp(o, "no-sslv3") == 0 || strcmp(o, "no-tlsv10") == 0 || strcmp(o, "no-tlsv11") == 0)
        ; /* what they ask is always so: only TLSv1.2 and TLSv1.3 are offered */
    else
        return 0;
    return 1;
}

static void kw_bind(struct parser *p, struct conf_line *l)
{
    if (l->argc < 2) {
        error(p, "'bind' expects an address, e.g. 'bind *:8080'");
        return;
    }
    /* The options: ssl, crt PATH (repeatable), and the TLS settings, which
     * start from the global ssl-default-bind-* ones. */
    struct tls_settings ts;
    settings_copy(p, &ts, &p->cfg->ssl_defaults);
    char *crts[CONF_MAX_WORDS];
    size_t ncrts = 0;
    int ssl = 0, ok = 1;
    for (int i = 2; i < l->argc && ok; i++) {
        const char *o = l->argv[i];
        if (strcmp(o, "ssl") == 0) {
            ssl = 1;
        } else if (strcmp(o, "crt") == 0) {
            if (i + 1 >= l->argc) {
                error(p, "'crt' expects a PEM file or a directory of them");
                ok = 0;
            } else {
                crts[ncrts++] = l->argv[++i];
            }
        } else {
            int r = tls_option(p, l, &i, &ts);
            if (r == 0)
                error(p, "unknown bind option '%s' (expected ssl, crt, alpn, ciphers, "
                         "ciphersuites, curves, ssl-min-ver, ssl-max-ver, no-tls-tickets, "
                         "prefer-client-ciphers)", o);
            ok = r > 0;
        }
    }
    if (ok && ncrts && !ssl) {
        error(p, "'crt' needs 'ssl' on the same bind line");
        ok = 0;
    }
    if (ok && ssl && !ncrts) {
        error(p, "'ssl' needs at least one 'crt FILE|DIR'");
        ok = 0;
    }

    /* "bind :80,:8080" declares several addresses at once. */
    char *list = l->argv[1];
    for (char *save = NULL, *a = strtok_r(list, ",", &save); a && ok; a = strtok_r(NULL, ",", &save)) {
        struct listener *li = calloc(1, sizeof(*li));
        struct listener **grown = realloc(p->cur->binds, (p->cur->nbinds + 1) * sizeof(*grown));
        if (li == NULL || grown == NULL) {
            free(li);
            error(p, "out of memory");
            break;
        }
        p->cur->binds = grown;
        uint16_t port;
        if (parse_addr(p, "bind", a, NULL, &port, &li->addr) != 0) {
            free(li);
            break;
        }
        li->fe = p->cur;
        li->text = xstrdup(p, a);
        li->line = p->line;
        li->fd = -1;
        p->cur->binds[p->cur->nbinds++] = li;
        if (ssl) {
            char why[512];
            li->tls = tls_server_new(crts, ncrts, &ts, why, sizeof(why));
            if (li->tls == NULL) {
                error(p, "bind %s ssl: %s", a, why);
                break;
            }
            p->cfg->uses_tls = 1;
        }
    }
    settings_free(&ts);
}

/* "redirect scheme https [code N]": plain requests get N (301) to https. */
static void kw_redirect(struct parser *p, struct conf_line *l)
{
    unsigned code = 301;
    if (l->argc < 3 || strcmp(l->argv[1], "scheme") != 0 || strcmp(l->argv[2], "https") != 0) {
        error(p, "only 'redirect scheme https [code N]' is supported");
        return;
    }
    for (int i = 3; i < l->argc; i++) {
        if (strcmp(l->argv[i], "code") == 0 && i + 1 < l->argc) {
            if (parse_uint(p, "redirect code", l->argv[++i], 301, 308, &code) != 0)
                return;
            if (code == 304 || code == 305 || code == 306) {
                error(p, "redirect code %u: expected 301, 302, 303, 307 or 308", code);
                return;
            }
        } else if (strcmp(l->argv[i], "if") == 0 || strcmp(l->argv[i], "unless") == 0) {
            error(p, "conditional redirect is not supported: it applies to plain binds only, "
                     "which is what 'if !{ ssl_fc }' usually says");
            return;
        } else {
            error(p, "unknown redirect option '%s' (expected code N)", l->argv[i]);
            return;
        }
    }
    p->cur->redirect_https = (uint16_t)code;
}

static void set_backend(struct parser *p, const char *name, int forced)
{
    free(p->cur->backend_name);
    p->cur->backend_name = xstrdup(p, name);
    p->cur->backend_line = p->line;
    p->cur->backend_forced = (uint8_t)forced;
}

static void kw_default_backend(struct parser *p, struct conf_line *l)
{
    if (want_args(p, l, 2, 2, "a backend name") != 0)
        return;
    /* An unconditional use_backend takes precedence, as in HAProxy. */
    if (!p->cur->backend_forced)
        set_backend(p, l->argv[1], 0);
}

static void kw_use_backend(struct parser *p, struct conf_line *l)
{
    if (l->argc > 2 && (strcmp(l->argv[2], "if") == 0 || strcmp(l->argv[2], "unless") == 0)) {
        error(p, "conditional use_backend ('%s ...') is not supported; use an unconditional "
                 "'use_backend NAME' or 'default_backend NAME'", l->argv[2]);
        return;
    }
    if (want_args(p, l, 2, 2, "a backend name") != 0)
        return;
    /* The first unconditional use_backend wins. */
    if (!p->cur->backend_forced)
        set_backend(p, l->argv[1], 1);
}

struct timeout_kw {
    const char *name;
    unsigned where;
    size_t offset;
};

static void kw_timeout(struct parser *p, struct conf_line *l)
{
    static const struct timeout_kw kinds[] = {
        { "client", IN_D | IN_F | IN_L, offsetof(struct lb_timeouts, client) },
        { "server", IN_D | IN_B | IN_L, offsetof(struct lb_timeouts, server) },
        { "connect", IN_D | IN_B | IN_L, offsetof(struct lb_timeouts, connect) },
        { "tunnel", IN_D | IN_B | IN_L, offsetof(struct lb_timeouts, tunnel) },
        { "http-request", IN_D | IN_F | IN_B | IN_L, offsetof(struct lb_timeouts, http_request) },
        { "http-keep-alive", IN_D | IN_F | IN_B | IN_L,
          offsetof(struct lb_timeouts, http_keep_alive) },
        { "queue", IN_D | IN_F | IN_B | IN_L, offsetof(struct lb_timeouts, queue) },
        { "client-fin", IN_D | IN_F | IN_L, offsetof(struct lb_timeouts, client_fin) },
        { "server-fin", IN_D | IN_B | IN_L, offsetof(struct lb_timeouts, server_fin) },
        { "check", IN_D | IN_B | IN_L, offsetof(struct lb_timeouts, check) },
    };
    if (want_args(p, l, 3, 3, "a kind and a duration, e.g. 'timeout client 30s'") != 0)
        return;
    for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
        if (strcmp(l->argv[1], kinds[i].name) != 0)
            continue;
        unsigned here = p->sec == SEC_DEFAULTS ? IN_D : p->sec == SEC_FRONTEND ? IN_F
                      : p->sec == SEC_BACKEND ? IN_B : IN_L;
        if (!(kinds[i].where & here)) {
            error(p, "'timeout %s' has no effect in a %s section (it belongs to the %s side)",
                  l->argv[1], section_name(p->sec), kinds[i].where & IN_F ? "frontend" : "backend");
            return;
        }
        char what[64];
        snprintf(what, sizeof(what), "timeout %s", l->argv[1]);
        parse_time(p, what, l->argv[2], (uint32_t *)(void *)((char *)&p->cur->to + kinds[i].offset));
        return;
    }
    error(p, "unknown timeout '%s' (expected client, server, connect, tunnel, http-request, "
             "http-keep-alive, queue, client-fin, server-fin, check)", l->argv[1]);
}

static void kw_balance(struct parser *p, struct conf_line *l)
{
    static const char expected[] =
        "expected roundrobin, leastconn, random, source, uri, url_param, hdr";
    if (l->argc < 2) {
        error(p, "'balance' expects an algorithm (%s)", expected);
        return;
    }
    const char *a = l->argv[1];
    struct proxy *px = p->cur;
    int extra = l->argc - 2; /* words after the algorithm */
    free(px->hash_key_name);
    px->hash_key_name = NULL;
    px->hash_uri_whole = 0;
    if (strcmp(a, "roundrobin") == 0 || strcmp(a, "leastconn") == 0 || strcmp(a, "random") == 0 ||
        strcmp(a, "source") == 0) {
        px->balance = a[0] == 'r' && a[1] == 'o' ? BALANCE_ROUNDROBIN
                    : a[0] == 'l' ? BALANCE_LEASTCONN : a[0] == 's' ? BALANCE_SOURCE : BALANCE_RANDOM;
        px->random_draws = 2;
    } else if (strncmp(a, "random(", 7) == 0 && a[strlen(a) - 1] == ')') {
        char draws[16];
        size_t n = strlen(a) - 8;
        if (n == 0 || n >= sizeof(draws)) {
            error(p, "balance: expected random(N) with N from 1 to 100");
            return;
        }
        memcpy(draws, a + 7, n);
        draws[n] = '\0';
        if (parse_uint(p, "balance random(N)", draws, 1, 100, &px->random_draws) == 0)
            px->balance = BALANCE_RANDOM;
    } else if (strcmp(a, "uri") == 0) {
        px->balance = BALANCE_URI;
        if (extra == 1 && strcmp(l->argv[2], "whole") == 0) {
            px->hash_uri_whole = 1;
            extra = 0;
        }
    } else if (strcmp(a, "url_param") == 0) {
        if (l->argc < 3) {
            error(p, "'balance url_param' expects a parameter name, e.g. 'balance url_param room'");
            return;
        }
        px->balance = BALANCE_URL_PARAM;
        px->hash_key_name = xstrdup(p, l->argv[2]);
        extra--;
    } else if (strncmp(a, "hdr(", 4) == 0 && strlen(a) > 5 && a[strlen(a) - 1] == ')') {
        px->balance = BALANCE_HDR;
        px->hash_key_name = xstrdup(p, a + 4);
        if (px->hash_key_name)
            px->hash_key_name[strlen(px->hash_key_name) - 1] = '\0';
    } else {
        error(p, "unknown balance algorithm '%s' (%s)", a, expected);
        return;
    }
    if (extra > 0)
        error(p, "balance %s: option '%s' is not supported", a, l->argv[l->argc - extra]);
}

static void kw_hash_type(struct parser *p, struct conf_line *l)
{
    if (l->argc == 2 && strcmp(l->argv[1], "map-based") == 0) {
        p->cur->hash_type = HASH_MAP_BASED;
    } else if (l->argc == 2 && strcmp(l->argv[1], "consistent") == 0) {
        p->cur->hash_type = HASH_CONSISTENT;
    } else if (l->argc > 2) {
        error(p, "hash-type %s: choosing the hash function ('%s') is not supported: wscale "
                 "uses its own 64-bit hash", l->argv[1], l->argv[2]);
    } else {
        error(p, "'hash-type' expects map-based or consistent");
    }
}

static void kw_hash_balance_factor(struct parser *p, struct conf_line *l)
{
    if (want_args(p, l, 2, 2, "a percentage: 0 (off) or 100 and more") != 0)
        return;
    if (parse_uint(p, "hash-balance-factor", l->argv[1], 0, 100000, &p->cur->hash_balance_factor) == 0 &&
        p->cur->hash_balance_factor > 0 && p->cur->hash_balance_factor < 100)
        error(p, "hash-balance-factor %u: must be 0 (off) or at least 100 (percent of the "
                 "average load)", p->cur->hash_balance_factor);
}

static void kw_default_server(struct parser *p, struct conf_line *l)
{
    parse_server_options(p, l, 1, &p->cur->defsrv);
}

static void kw_server(struct parser *p, struct conf_line *l)
{
    if (l->argc < 3) {
        error(p, "'server' expects a name and an address, e.g. 'server s1 10.0.0.1:8080 check'");
        return;
    }
    struct proxy *be = p->cur;
    if (!valid_name(p, "server", l->argv[1]))
        return;
    for (size_t i = 0; i < be->nservers; i++) {
        if (strcmp(be->servers[i]->name, l->argv[1]) == 0) {
            error(p, "server '%s' is already defined in %s '%s' (line %d)", l->argv[1],
                  section_name(p->sec), be->name, be->servers[i]->line);
            return;
        }
    }
    struct server *s = calloc(1, sizeof(*s));
    struct server **grown = realloc(be->servers, (be->nservers + 1) * sizeof(*grown));
    if (s == NULL || grown == NULL) {
        free(s);
        error(p, "out of memory");
        return;
    }
    be->servers = grown;
    server_copy_settings(p, s, &be->defsrv);
    s->be = be;
    s->line = p->line;
    s->name = xstrdup(p, l->argv[1]);
    be->servers[be->nservers++] = s;
    char what[300];
    snprintf(what, sizeof(what), "server '%s'", l->argv[1]);
    parse_addr(p, what, l->argv[2], &s->host, &s->port, &s->addr);
    parse_server_options(p, l, 3, s);
}

static void kw_retries(struct parser *p, struct conf_line *l)
{
    if (want_args(p, l, 2, 2, "a number") == 0)
        parse_uint(p, "retries", l->argv[1], 0, 100, &p->cur->retries);
}

static void kw_http_check(struct parser *p, struct conf_line *l)
{
    if (l->argc == 4 && strcmp(l->argv[1], "expect") == 0 && strcmp(l->argv[2], "status") == 0) {
        parse_uint(p, "http-check expect status", l->argv[3], 100, 599, &p->cur->expect_status);
        return;
    }
    error(p, "only 'http-check expect status N' is supported");
}

/* A cookie's maxidle or maxlife: seconds when bare, or us, ms, s, m, h, d as
 * HAProxy reads them; non-zero values under a second are refused. */
static int parse_seconds(struct parser *p, const char *what, const char *text, uint32_t *out)
{
    static const struct { const char *suffix; uint64_t num, den; } units[] = {
        { "", 1, 1 }, { "us", 1, 1000000 }, { "ms", 1, 1000 }, { "s", 1, 1 },
        { "m", 60, 1 }, { "h", 3600, 1 }, { "d", 86400, 1 },
    };
    size_t digits = strspn(text, "0123456789");
    char number[24];
    uint64_t v;
    for (size_t i = 0; digits > 0 && digits < sizeof(number) && i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(text + digits, units[i].suffix) != 0)
            continue;
        memcpy(number, text, digits);
        number[digits] = '\0';
        if (units_parse_uint(number, UINT32_MAX, &v) != 0)
            break;
        uint64_t secs = (v * units[i].num + units[i].den - 1) / units[i].den;
        if (secs > INT32_MAX)
            break;
        if (v > 0 && units[i].den > 1 && v * units[i].num < units[i].den) {
            error(p, "cookie %s %s: under a second (the dates in the cookie count in seconds); "
                     "use 0 to disable", what, text);
            return -1;
        }
        *out = (uint32_t)secs;
        return 0;
    }
    error(p, "cookie %s: '%s' is not a duration (a number of seconds, or with us, ms, s, m, h or "
             "d; at most 2147483647s)", what, text);
    return -1;
}

/* Appends value to a "; "-joined list (HAProxy's "; domain=" for domains). */
static void join(struct parser *p, char **list, const char *sep, const char *value)
{
    struct strbuf sb = STRBUF_INIT;
    if (*list)
        strbuf_printf(&sb, "%s%s", *list, sep);
    strbuf_printf(&sb, "%s", value);
    free(*list);
    *list = sb.failed ? NULL : sb.data;
    if (sb.failed) {
        strbuf_free(&sb);
        error(p, "out of memory");
    }
}

static void persist_cookie_free(struct persist_cookie *ck)
{
    free(ck->name);
    free(ck->domain);
    free(ck->attrs);
    memset(ck, 0, sizeof(*ck));
}

/* One option of a "cookie" line at argv[*i]. Returns 0, or -1 on an error. */
static int cookie_option(struct parser *p, struct conf_line *l, int *i, struct persist_cookie *ck)
{
    static const char supported[] =
        "supported: insert, indirect, nocache, httponly, secure, maxidle, maxlife, domain, attr";
    const char *o = l->argv[*i];
    const char *v = *i + 1 < l->argc ? l->argv[*i + 1] : NULL;
    uint8_t *flag = strcmp(o, "insert") == 0 ? &ck->insert : strcmp(o, "indirect") == 0 ? &ck->indirect
                  : strcmp(o, "nocache") == 0 ? &ck->nocache : strcmp(o, "httponly") == 0 ? &ck->httponly
                  : strcmp(o, "secure") == 0 ? &ck->secure : NULL;
    if (flag) {
        *flag = 1;
        return 0;
    }
    int valued = strcmp(o, "maxidle") == 0 || strcmp(o, "maxlife") == 0 ||
                 strcmp(o, "domain") == 0 || strcmp(o, "attr") == 0;
    if (!valued) {
        if (strcmp(o, "rewrite") == 0 || strcmp(o, "prefix") == 0 || strcmp(o, "preserve") == 0 ||
            strcmp(o, "postonly") == 0 || strcmp(o, "dynamic") == 0)
            error(p, "cookie option '%s' is not supported by wscale (%s)", o, supported);
        else
            error(p, "unknown cookie option '%s' (%s)", o, supported);
        return -1;
    }
    if (v == NULL) {
        error(p, "cookie option '%s' expects a value", o);
        return -1;
    }
    (*i)++;
    if (strcmp(o, "maxidle") == 0 || strcmp(o, "maxlife") == 0)
        return parse_seconds(p, o, v, o[3] == 'i' ? &ck->maxidle : &ck->maxlife);
    if (strcmp(o, "domain") == 0) {
        if (v[0] == '\0' || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "0123456789.-_") != strlen(v)) {
            error(p, "cookie domain '%s': a domain name is letters, digits, '.', '-' and '_'", v);
            return -1;
        }
        if (strchr(v, '.') == NULL)
            warning(p, "cookie domain '%s' has no embedded dot: browsers may refuse it "
                       "(RFC 6265 5.2.3)", v);
        join(p, &ck->domain, "; domain=", v);
        return 0;
    }
    for (const unsigned char *c = (const unsigned char *)v; *c; c++) {
        if (*c < 0x20 || *c == 0x7f || *c == ';') {
            error(p, "cookie attr '%s': character '%%x%02X' is not permitted (one attribute per "
                     "'attr', e.g. attr SameSite=Strict)", v, *c);
            return -1;
        }
    }
    join(p, &ck->attrs, "; ", v);
    return 0;
}

/* "cookie NAME [options]": cookie-based persistence as HAProxy's "cookie"
 * keyword. Each line replaces what an earlier one (or defaults) said. */
static void kw_cookie(struct parser *p, struct conf_line *l)
{
    if (l->argc < 2) {
        error(p, "'cookie' expects a name, e.g. 'cookie SRVID insert indirect nocache'");
        return;
    }
    if (!cookie_name_ok(l->argv[1])) {
        error(p, "cookie name '%s' is not an RFC 6265 token (letters, digits and "
                 "!#$%%&'*+-.^_`|~)", l->argv[1]);
        return;
    }
    struct persist_cookie ck = { 0 };
    for (int i = 2; i < l->argc; i++) {
        if (cookie_option(p, l, &i, &ck) != 0) {
            persist_cookie_free(&ck);
            return;
        }
    }
    if (!ck.insert && (ck.nocache || ck.httponly || ck.secure || ck.domain || ck.attrs ||
                       ck.maxidle || ck.maxlife))
        warning(p, "cookie %s: nocache, httponly, secure, domain, attr, maxidle and maxlife apply "
                   "to the cookie the lb inserts: without 'insert' they have no effect",
                l->argv[1]);
    ck.name = xstrdup(p, l->argv[1]);
    persist_cookie_free(&p->cur->ck);
    p->cur->ck = ck;
}

/* "log global|stdout|stderr" (also in global, without "global"). */
static void kw_log(struct parser *p, struct conf_line *l)
{
    enum lb_log_target *target = p->sec == SEC_GLOBAL ? &p->cfg->log : &p->cur->log;
    if (l->argc == 2 && strcmp(l->argv[1], "stdout") == 0) {
        *target = LOG_TARGET_STDOUT;
    } else if (l->argc == 2 && strcmp(l->argv[1], "stderr") == 0) {
        *target = LOG_TARGET_STDERR;
    } else if (l->argc == 2 && strcmp(l->argv[1], "global") == 0 && p->sec != SEC_GLOBAL) {
        *target = LOG_TARGET_GLOBAL;
    } else {
        error(p, "'log' supports %s stdout and stderr (one line per request or tunnel; "
                 "syslog targets, facilities and formats are not supported)",
              p->sec == SEC_GLOBAL ? "" : "global,");
    }
}

static void kw_option(struct parser *p, struct conf_line *l, int negate)
{
    if (l->argc < 2) {
        error(p, "'option' expects a name");
        return;
    }
    const char *o = l->argv[1];
    struct proxy *px = p->cur;
    unsigned here = p->sec == SEC_DEFAULTS ? IN_D : p->sec == SEC_FRONTEND ? IN_F
                  : p->sec == SEC_BACKEND ? IN_B : IN_L;
    if (strcmp(o, "forwardfor") == 0) {
        if (l->argc > 2) {
            error(p, "'option forwardfor' arguments (except, header, if-none) are not supported");
            return;
        }
        px->forwardfor = !negate;
    } else if (strcmp(o, "httplog") == 0) {
        if (!(here & (IN_D | IN_F | IN_L)) || l->argc > 2) {
            error(p, "'option httplog' takes no argument and belongs to defaults, frontend or listen");
            return;
        }
        /* The request log wscale writes is always HAProxy's httplog format. */
    } else if (strcmp(o, "redispatch") == 0 || strcmp(o, "httpchk") == 0 ||
               strcmp(o, "allbackups") == 0) {
        if (!(here & (IN_D | IN_B | IN_L))) {
            error(p, "'option %s' belongs to defaults, backend or listen", o);
            return;
        }
        if (strcmp(o, "redispatch") == 0) {
            px->redispatch = negate ? 0 : -1;
            if (!negate && l->argc == 3) {
                char *end;
                long v = strtol(l->argv[2], &end, 10);
                if (*end != '\0' || v == 0 || v < -100 || v > 100) {
                    error(p, "option redispatch: '%s' is not a non-zero interval", l->argv[2]);
                    return;
                }
                px->redispatch = (int)v;
            } else if (l->argc > 2 + !negate) {
                error(p, "option redispatch takes at most one interval");
            }
        } else if (strcmp(o, "allbackups") == 0) {
            px->allbackups = !negate;
        } else {
            px->httpchk = !negate;
            if (negate)
                return;
            if (l->argc > 5) {
                error(p, "option httpchk takes [URI] or METHOD URI [VERSION]");
                return;
            }
            free(px->chk_method);
            free(px->chk_uri);
            free(px->chk_version);
            /* HAProxy's forms: [<uri>] or <method> <uri> [<version>]. */
            int one = l->argc == 3;
            px->chk_method = xstrdup(p, l->argc > 3 ? l->argv[2] : "OPTIONS");
            px->chk_uri = xstrdup(p, one ? l->argv[2] : l->argc > 3 ? l->argv[3] : "/");
            px->chk_version = xstrdup(p, l->argc > 4 ? l->argv[4] : "HTTP/1.0");
            if (strcmp(px->chk_version, "HTTP/1.0") != 0 && strcmp(px->chk_version, "HTTP/1.1") != 0)
                error(p, "option httpchk: version must be HTTP/1.0 or HTTP/1.1");
        }
    } else {
        error(p, "unknown option '%s' (supported: forwardfor, httplog, redispatch, httpchk, "
                 "allbackups)", o);
    }
}

static void kw_option_plain(struct parser *p, struct conf_line *l)
{
    kw_option(p, l, 0);
}

/* "stats enable|uri|refresh|realm|auth|hide-version": the stats page. */
static void kw_stats(struct parser *p, struct conf_line *l)
{
    struct proxy *px = p->cur;
    const char *what = l->argc > 1 ? l->argv[1] : "";
    if (strcmp(what, "enable") == 0 && l->argc == 2) {
        px->stats_enabled = 1;
    } else if (strcmp(what, "hide-version") == 0 && l->argc == 2) {
        px->stats_enabled = 1;
        px->stats_hide_version = 1;
    } else if (strcmp(what, "uri") == 0 && l->argc == 3) {
        if (l->argv[2][0] != '/') {
            error(p, "stats uri '%s': must start with '/'", l->argv[2]);
            return;
        }
        px->stats_enabled = 1;
        replace(p, &px->stats_uri, l->argv[2]);
    } else if (strcmp(what, "refresh") == 0 && l->argc == 3) {
        px->stats_enabled = 1;
        parse_time(p, "stats refresh", l->argv[2], &px->stats_refresh);
    } else if (strcmp(what, "realm") == 0 && l->argc == 3) {
        px->stats_enabled = 1;
        replace(p, &px->stats_realm, l->argv[2]);
    } else if (strcmp(what, "auth") == 0 && l->argc == 3) {
        if (strchr(l->argv[2], ':') == NULL) {
            error(p, "stats auth '%s': expected USER:PASSWORD", l->argv[2]);
            return;
        }
        px->stats_enabled = 1;
        add_stats_auth(p, px, l->argv[2]);
    } else if (strcmp(what, "show-legends") == 0 && l->argc == 2) {
        px->stats_enabled = 1;
        px->stats_show_legends = 1;
    } else if (strcmp(what, "admin") == 0 || strcmp(what, "http-request") == 0 ||
               strcmp(what, "scope") == 0 || strcmp(what, "show-desc") == 0 ||
               strcmp(what, "show-modules") == 0 || strcmp(what, "show-node") == 0) {
        error(p, "'stats %s' is not supported (the page is read-only: change server state "
                 "through the stats socket)", what);
    } else {
        error(p, "'stats' expects enable, uri PREFIX, refresh DELAY, realm NAME, "
                 "auth USER:PASSWORD, hide-version or show-legends");
    }
}

/* Of HAProxy's http-request rules, the one that serves Prometheus metrics:
 * "http-request use-service prometheus-exporter if { path URI }". */
static void kw_http_request(struct parser *p, struct conf_line *l)
{
    if (l->argc == 8 && strcmp(l->argv[1], "use-service") == 0 &&
        strcmp(l->argv[2], "prometheus-exporter") == 0 && strcmp(l->argv[3], "if") == 0 &&
        strcmp(l->argv[4], "{") == 0 && strcmp(l->argv[5], "path") == 0 &&
        strcmp(l->argv[7], "}") == 0) {
        if (l->argv[6][0] != '/') {
            error(p, "prometheus-exporter path '%s': must start with '/'", l->argv[6]);
            return;
        }
        replace(p, &p->cur->prometheus_uri, l->argv[6]);
        return;
    }
    error(p, "of the http-request rules only 'http-request use-service prometheus-exporter "
             "if { path /metrics }' is supported");
}

/* "stick-table type ip|ipv6 size N [expire D]" (see stick-rules.h). */
static void kw_stick_table(struct parser *p, struct conf_line *l)
{
    char why[300];
    if (p->sec == SEC_FRONTEND) {
        error(p, "a stick-table in a frontend serves track-sc counters, which wscale does not "
                 "support: declare it in the backend, with 'stick on src'");
    } else if (p->cur->stick.table_line) {
        error(p, "only one stick-table per %s (the first is at line %d)", section_name(p->sec),
              p->cur->stick.table_line);
    } else {
        p->cur->stick.table_line = p->line; /* even if refused: its rules need no other error */
        if (stick_parse_table(l->argc, l->argv, &p->cur->stick, why, sizeof(why)) != 0)
            error(p, "%s", why);
    }
}

/* "stick on src", "stick match src", "stick store-request src". */
static void kw_stick(struct parser *p, struct conf_line *l)
{
    char why[300];
    if (stick_parse_rule(l->argc, l->argv, &p->cur->stick, why, sizeof(why)) != 0)
        error(p, "%s", why);
    else if (p->cur->stick.rule_line == 0)
        p->cur->stick.rule_line = p->line;
}

/* A stick rule needs the backend's own table; one half without the other
 * does nothing useful. */
static void check_stick(struct parser *p, const struct proxy *px)
{
    const struct stick_conf *sc = &px->stick;
    if ((sc->match || sc->store) && sc->table_line == 0) {
        p->line = sc->rule_line;
        error(p, "stick rules need a stick-table in %s '%s': add e.g. 'stick-table type ip "
                 "size 200k expire 30m'", px->caps & PROXY_FRONTEND ? "listen" : "backend",
              px->name);
    } else if (sc->size && !sc->match && !sc->store) {
        p->line = sc->table_line;
        warning(p, "the stick-table of '%s' is not used: add 'stick on src'", px->name);
    } else if (sc->match != sc->store) {
        p->line = sc->rule_line;
        warning(p, "'%s' has 'stick %s src' without 'stick %s src': %s; 'stick on src' does both",
                px->name, sc->match ? "match" : "store-request", sc->match ? "store-request" : "match",
                sc->match ? "no entry is ever stored" : "stored entries are never used");
    }
}

struct keyword {
    const char *name;
    unsigned where;
    void (*parse)(struct parser *p, struct conf_line *l);
};

static const struct keyword proxy_keywords[] = {
    { "mode", IN_D | IN_F | IN_B | IN_L, kw_mode },
    { "maxconn", IN_D | IN_F | IN_L, kw_maxconn },
    { "bind", IN_F | IN_L, kw_bind },
    { "default_backend", IN_D | IN_F | IN_L, kw_default_backend },
    { "use_backend", IN_F | IN_L, kw_use_backend },
    { "timeout", IN_D | IN_F | IN_B | IN_L, kw_timeout },
    { "balance", IN_D | IN_B | IN_L, kw_balance },
    { "hash-type", IN_D | IN_B | IN_L, kw_hash_type },
    { "hash-balance-factor", IN_D | IN_B | IN_L, kw_hash_balance_factor },
    { "default-server", IN_D | IN_B | IN_L, kw_default_server },
    { "server", IN_B | IN_L, kw_server },
    { "retries", IN_D | IN_B | IN_L, kw_retries },
    { "http-check", IN_D | IN_B | IN_L, kw_http_check },
    { "log", IN_D | IN_F | IN_B | IN_L, kw_log },
    { "option", IN_D | IN_F | IN_B | IN_L, kw_option_plain },
    { "redirect", IN_F | IN_B | IN_L, kw_redirect },
    { "stats", IN_D | IN_F | IN_B | IN_L, kw_stats },
    { "http-request", IN_F | IN_B | IN_L, kw_http_request },
    { "stick-table", IN_F | IN_B | IN_L, kw_stick_table },
    { "stick", IN_B | IN_L, kw_stick },
    { "cookie", IN_D | IN_B | IN_L, kw_cookie },
    { NULL, 0, NULL },
};

static const char *where_text(unsigned where, char buf[64])
{
    const char *names[] = { "defaults", "frontend", "backend", "listen" };
    buf[0] = '\0';
    for (int i = 0; i < 4; i++) {
        if (where & (1u << i)) {
            if (buf[0])
                strcat(buf, ", ");
            strcat(buf, names[i]);
        }
    }
    return buf;
}

static void proxy_keyword(struct parser *p, struct conf_line *l)
{
    unsigned here = p->sec == SEC_DEFAULTS ? IN_D : p->sec == SEC_FRONTEND ? IN_F
                  : p->sec == SEC_BACKEND ? IN_B : IN_L;
    if (strcmp(l->argv[0], "no") == 0) {
        if (l->argc >= 2 && strcmp(l->argv[1], "option") == 0) {
            struct conf_line shifted = *l;
            shifted.argc = l->argc - 1;
            for (int i = 0; i < shifted.argc; i++)
                shifted.argv[i] = l->argv[i + 1];
            kw_option(p, &shifted, 1);
        } else {
            error(p, "only 'no option NAME' is supported");
        }
        return;
    }
    for (const struct keyword *k = proxy_keywords; k->name; k++) {
        if (strcmp(k->name, l->argv[0]) != 0)
            continue;
        if (!(k->where & here)) {
            char where[64];
            error(p, "'%s' is not allowed in a %s section (allowed in: %s)", k->name,
                  section_name(p->sec), where_text(k->where, where));
            return;
        }
        k->parse(p, l);
        return;
    }
    error(p, "unknown keyword '%s' in %s section", l->argv[0], section_name(p->sec));
}

/* "stats socket PATH [mode OCTAL] [level user|operator|admin]". */
static void kw_stats_socket(struct parser *p, struct conf_line *l)
{
    struct lb_config *cfg = p->cfg;
    if (l->argc < 3) {
        error(p, "'stats socket' expects a path, e.g. 'stats socket /run/wscale/admin.sock "
                 "mode 600 level admin'");
        return;
    }
    const char *path = l->argv[2];
    if (strncmp(path, "ipv4@", 5) == 0 || strncmp(path, "ipv6@", 5) == 0 || strchr(path, ':')) {
        error(p, "stats socket '%s': only a unix socket path is supported", path);
        return;
    }
    if (path[0] != '/' && strncmp(path, "unix@", 5) != 0 && path[0] != '.') {
        error(p, "stats socket '%s': expected an absolute or relative file path", path);
        return;
    }
    if (strncmp(path, "unix@", 5) == 0)
        path += 5;
    /* HAProxy's default level; a mode safer than the umask's. */
    struct stats_socket_cfg sc = { .mode = 0600, .level = API_OPERATOR, .line = p->line };
    for (int i = 3; i < l->argc; i++) {
        const char *o = l->argv[i];
        const char *v = i + 1 < l->argc ? l->argv[i + 1] : NULL;
        if (v == NULL) {
            error(p, "stats socket option '%s' expects a value", o);
            return;
        }
        if (strcmp(o, "mode") == 0) {
            char *end;
            unsigned long mode = strtoul(v, &end, 8);
            if (*end != '\0' || end == v || mode > 0777) {
                error(p, "stats socket mode '%s': expected octal permissions, e.g. 600", v);
                return;
            }
            sc.mode = (unsigned)mode;
        } else if (strcmp(o, "level") == 0) {
            if (strcmp(v, "user") == 0)
                sc.level = API_USER;
            else if (strcmp(v, "operator") == 0)
                sc.level = API_OPERATOR;
            else if (strcmp(v, "admin") == 0)
                sc.level = API_ADMIN;
            else {
                error(p, "stats socket level '%s': expected user, operator or admin", v);
                return;
            }
        } else {
            error(p, "unknown stats socket option '%s' (expected mode OCTAL, level "
                     "user|operator|admin)", o);
            return;
        }
        i++;
    }
    if (strlen(path) >= 108) {
        error(p, "stats socket '%s': a unix socket path has at most 107 characters", path);
        return;
    }
    for (size_t i = 0; i < cfg->nstats_sockets; i++) {
        if (strcmp(cfg->stats_sockets[i].path, path) == 0) {
            error(p, "stats socket '%s' is already declared at line %d", path,
                  cfg->stats_sockets[i].line);
            return;
        }
    }
    struct stats_socket_cfg *grown = realloc(cfg->stats_sockets,
                                             (cfg->nstats_sockets + 1) * sizeof(*grown));
    if (grown == NULL) {
        error(p, "out of memory");
        return;
    }
    cfg->stats_sockets = grown;
    sc.path = xstrdup(p, path);
    cfg->stats_sockets[cfg->nstats_sockets++] = sc;
}

static void kw_global_stats(struct parser *p, struct conf_line *l)
{
    const char *what = l->argc > 1 ? l->argv[1] : "";
    if (strcmp(what, "socket") == 0) {
        kw_stats_socket(p, l);
    } else if (strcmp(what, "timeout") == 0 && l->argc == 3) {
        parse_time(p, "stats timeout", l->argv[2], &p->cfg->stats_timeout);
    } else if (strcmp(what, "maxconn") == 0 && l->argc == 3) {
        parse_uint(p, "stats maxconn", l->argv[2], 1, 10000, &p->cfg->stats_maxconn);
    } else {
        error(p, "global 'stats' expects socket PATH [mode OCTAL] [level LEVEL], timeout "
                 "DELAY or maxconn N");
    }
}

static void global_keyword(struct parser *p, struct conf_line *l)
{
    struct lb_config *cfg = p->cfg;
    const char *k = l->argv[0];
    if (strcmp(k, "maxconn") == 0) {
        if (want_args(p, l, 2, 2, "one number") == 0)
            parse_uint(p, "maxconn", l->argv[1], 1, 10000000, &cfg->maxconn);
    } else if (strcmp(k, "tune.bufsize") == 0) {
        if (want_args(p, l, 2, 2, "a size in bytes") == 0)
            parse_uint(p, "tune.bufsize", l->argv[1], 1024, 1 << 20, &cfg->bufsize);
    } else if (strcmp(k, "hard-stop-after") == 0) {
        if (want_args(p, l, 2, 2, "a duration") == 0)
            parse_time(p, "hard-stop-after", l->argv[1], &cfg->hard_stop_after);
    } else if (strcmp(k, "close-spread-time") == 0) {
        if (want_args(p, l, 2, 2, "a duration") == 0)
            parse_time(p, "close-spread-time", l->argv[1], &cfg->close_spread_time);
    } else if (strcmp(k, "nbthread") == 0 || strcmp(k, "workers") == 0) {
        /* wscale's workers are processes (sharing each listener with
         * SO_REUSEPORT), which is also how it holds more connections than
         * one process's open-files limit allows. */
        if (want_args(p, l, 2, 2, "a number of worker processes") == 0)
            parse_uint(p, k, l->argv[1], 1, 64, &cfg->workers);
    } else if (strcmp(k, "stats") == 0) {
        kw_global_stats(p, l);
    } else if (strcmp(k, "master-worker") == 0) {
        /* Always so: a master process supervises the workers. */
        if (l->argc > 1)
            error(p, "'master-worker %s' is not supported (wscale always runs a master "
                     "that restarts failed workers)", l->argv[1]);
    } else if (strcmp(k, "log") == 0) {
        kw_log(p, l);
    } else if (strcmp(k, "ssl-default-bind-ciphers") == 0 ||
               strcmp(k, "ssl-default-bind-ciphersuites") == 0 ||
               strcmp(k, "ssl-default-bind-curves") == 0) {
        char **slot = strcmp(k, "ssl-default-bind-ciphers") == 0 ? &cfg->ssl_defaults.ciphers
                    : strcmp(k, "ssl-default-bind-ciphersuites") == 0 ? &cfg->ssl_defaults.ciphersuites
                    : &cfg->ssl_defaults.curves;
        if (want_args(p, l, 2, 2, "one list") == 0)
            replace(p, slot, l->argv[1]);
    } else if (strcmp(k, "ssl-default-bind-options") == 0) {
        for (int i = 1; i < l->argc; i++) {
            int r = tls_option(p, l, &i, &cfg->ssl_defaults);
            if (r == 0)
                error(p, "unknown ssl-default-bind-options option '%s' (expected ssl-min-ver, "
                         "ssl-max-ver, no-tls-tickets, prefer-client-ciphers, no-tlsv12, "
                         "no-tlsv13)", l->argv[i]);
            if (r <= 0)
                break;
        }
    } else if (strcmp(k, "daemon") == 0) {
        error(p, "'%s' is not supported: wscale lb runs in the foreground (use your service "
                 "manager to daemonize)", k);
    } else {
        error(p, "unknown keyword '%s' in global section", k);
    }
}

/* ---- sections -------------------------------------------------------- */

static void begin_section(struct parser *p, struct conf_line *l)
{
    const char *s = l->argv[0];
    p->skipping = 0;
    if (strcmp(s, "global") == 0) {
        if (l->argc > 1)
            error(p, "'global' takes no argument");
        p->sec = SEC_GLOBAL;
        p->cur = NULL;
        return;
    }
    if (strcmp(s, "defaults") == 0) {
        if (l->argc > 2) {
            error(p, "'defaults' takes at most a name ('from' is not supported)");
            return;
        }
        proxy_free_strings(&p->defaults);
        proxy_builtin_defaults(&p->defaults);
        p->sec = SEC_DEFAULTS;
        p->cur = &p->defaults;
        return;
    }
    enum section sec = strcmp(s, "frontend") == 0 ? SEC_FRONTEND
                     : strcmp(s, "backend") == 0 ? SEC_BACKEND : SEC_LISTEN;
    unsigned caps = sec == SEC_FRONTEND ? PROXY_FRONTEND
                  : sec == SEC_BACKEND ? PROXY_BACKEND : PROXY_FRONTEND | PROXY_BACKEND;
    if (l->argc != 2) {
        error(p, "'%s' expects a name%s", s,
              l->argc > 2 ? " (an address after the name is not supported: use 'bind')" : "");
        p->sec = SEC_NONE;
        p->skipping = 1;
        return;
    }
    if (!valid_name(p, s, l->argv[1])) {
        p->sec = SEC_NONE;
        p->skipping = 1;
        return;
    }
    for (struct proxy *px = p->cfg->proxies; px; px = px->next) {
        if (strcmp(px->name, l->argv[1]) == 0 && (px->caps & caps)) {
            error(p, "%s '%s' has the same name as the proxy declared at line %d", s, l->argv[1],
                  px->line);
            break;
        }
    }
    p->sec = sec;
    p->cur = proxy_new(p, l->argv[1], caps);
    if (p->cur == NULL) {
        p->sec = SEC_NONE;
        p->skipping = 1;
    }
}

static int is_section(const char *word)
{
    return strcmp(word, "global") == 0 || strcmp(word, "defaults") == 0 ||
           strcmp(word, "frontend") == 0 || strcmp(word, "backend") == 0 ||
           strcmp(word, "listen") == 0;
}

static int is_unsupported_section(const char *word)
{
    static const char *const others[] = { "userlist", "peers", "resolvers", "cache", "program",
                                          "http-errors", "ring", "mailers", "crt-store",
                                          "traces", NULL };
    for (int i = 0; others[i]; i++)
        if (strcmp(word, others[i]) == 0)
            return 1;
    return 0;
}

/* ---- whole-file checks ----------------------------------------------- */

/* A cookie is only as good as the servers' values: one without a value
 * cannot be stuck to, and a value without the backend's cookie is unused. */
static void check_server_cookies(struct parser *p, const struct proxy *be)
{
    for (size_t i = 0; i < be->nservers; i++) {
        const struct server *s = be->servers[i];
        p->line = s->line;
        if (be->ck.name && s->cookie == NULL)
            warning(p, "server '%s' has no 'cookie VALUE' while backend '%s' uses cookie '%s': "
                       "its clients cannot stick to it%s", s->name, be->name, be->ck.name,
                    be->ck.insert ? " (they are told to drop the cookie)" : "");
        else if (be->ck.name == NULL && s->cookie)
            warning(p, "server '%s' has 'cookie %s' but backend '%s' has no 'cookie' line: the "
                       "value is not used", s->name, s->cookie, be->name);
    }
}

/* Two binds on one address would share its port (the workers' sockets use
 * SO_REUSEPORT) and split its traffic: refused, as a failing bind would be. */
static void check_duplicate_binds(struct parser *p)
{
    for (struct proxy *a = p->cfg->proxies; a; a = a->next) {
        for (size_t i = 0; (a->caps & PROXY_FRONTEND) && i < a->nbinds; i++) {
            const struct listener *la = a->binds[i];
            for (struct proxy *b = p->cfg->proxies; b; b = b->next) {
                for (size_t j = 0; (b->caps & PROXY_FRONTEND) && j < b->nbinds; j++) {
                    const struct listener *lb = b->binds[j];
                    if (lb == la)
                        goto next;
                    if (lb->addr.len == la->addr.len &&
                        memcmp(&lb->addr.ss, &la->addr.ss, la->addr.len) == 0) {
                        p->line = la->line;
                        error(p, "bind %s: the same address is bound at line %d (%s '%s')",
                              la->text, lb->line, b->caps & PROXY_BACKEND ? "listen" : "frontend",
                              b->name);
                        goto next;
                    }
                }
            }
        next:;
        }
    }
}

static void finish(struct parser *p)
{
    struct lb_config *cfg = p->cfg;
    for (struct proxy *px = cfg->proxies; px; px = px->next) {
        p->line = px->line;
        if (px->stats_enabled && px->stats_uri == NULL)
            px->stats_uri = xstrdup(p, "/haproxy?stats"); /* HAProxy's default */
        if (px->caps & PROXY_FRONTEND) {
            if (px->nbinds == 0)
                error(p, "frontend '%s' has no 'bind' line (declare it as a backend if that "
                         "was meant)", px->name);
            cfg->nlisteners += (unsigned)px->nbinds;
            if (px->backend_name) {
                px->backend = lb_config_find(cfg, px->backend_name, PROXY_BACKEND);
                if (px->backend == NULL) {
                    p->line = px->backend_line;
                    error(p, "%s '%s' uses backend '%s', which does not exist", px->caps &
                          PROXY_BACKEND ? "listen" : "frontend", px->name, px->backend_name);
                }
            } else if (px->caps & PROXY_BACKEND) {
                px->backend = px;
            } else {
                error(p, "frontend '%s' has no backend: add 'default_backend NAME' or "
                         "'use_backend NAME'", px->name);
            }
            p->line = px->line;
            if (px->to.client == 0)
                warning(p, "frontend '%s' has no 'timeout client': idle clients are never "
                           "closed", px->name);
        }
        if (px->caps & PROXY_BACKEND) {
            if (px->hash_type == HASH_CONSISTENT && balance_ring_build(px) != 0)
                error(p, "out of memory");
            for (size_t i = 0; i < px->nservers; i++) {
                struct server *s = px->servers[i];
                char why[512];
                if (!s->ssl)
                    continue;
                p->line = s->line;
                if (s->verify && s->ca_file == NULL) {
                    error(p, "server '%s': 'ssl' verifies the server's certificate: add "
                             "'ca-file FILE', or 'verify none' to accept any", s->name);
                    continue;
                }
                s->tls_ctx = tls_client_ctx_new(s->verify, s->ca_file, why, sizeof(why));
                if (s->tls_ctx == NULL)
                    error(p, "server '%s': %s", s->name, why);
                cfg->uses_tls = 1;
            }
            check_stick(p, px);
            check_server_cookies(p, px);
            p->line = px->line;
            if (px->nservers == 0 && !px->stats_enabled && px->prometheus_uri == NULL)
                warning(p, "backend '%s' has no server: its requests get 503", px->name);
            for (size_t i = 0; i < px->nservers; i++) {
                struct server *s = px->servers[i];
                s->iweight = s->weight;
                s->admin = s->disabled ? SRV_ADMIN_MAINT : SRV_ADMIN_READY;
                s->up = 1;
            }
            if (px->to.server == 0 || px->to.connect == 0)
                warning(p, "backend '%s' lacks 'timeout %s': stalled servers are waited for "
                           "forever", px->name, px->to.server == 0 ? "server" : "connect");
            cfg->nservers += (unsigned)px->nservers;
        }
    }
    check_duplicate_binds(p);
    if (cfg->nlisteners == 0 && p->nerrors == 0) {
        p->line = 0;
        error(p, "no frontend or listen section: nothing to do");
    }
}

struct lb_config *lb_config_parse(const char *name, const char *text, size_t len,
                                  conf_getenv_fn *getenv_fn, struct strbuf *errors,
                                  struct strbuf *warnings)
{
    struct parser p;
    memset(&p, 0, sizeof(p));
    p.file = name;
    p.errors = errors;
    p.warnings = warnings;
    p.cfg = calloc(1, sizeof(*p.cfg));
    if (p.cfg == NULL) {
        strbuf_printf(errors, "%s: out of memory\n", name);
        return NULL;
    }
    p.cfg->file = strdup(name);
    p.cfg->bufsize = 16384;
    p.cfg->workers = 1;
    p.cfg->stats_timeout = 10000;
    p.cfg->stats_maxconn = 10;
    p.tail = &p.cfg->proxies;
    proxy_builtin_defaults(&p.defaults);

    struct conf_line *l = malloc(sizeof(*l));
    if (l == NULL) {
        lb_config_free(p.cfg);
        strbuf_printf(errors, "%s: out of memory\n", name);
        return NULL;
    }
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        const char *start = text + pos;
        const char *nl = memchr(start, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - start) : len - pos;
        pos += n + (nl ? 1 : 0);
        p.line = ++lineno;
        const char *why;
        if (conf_split_line(start, n, lineno, getenv_fn, l, &why) != 0) {
            error(&p, "%s", why);
            continue;
        }
        if (l->argc == 0)
            continue;
        if (is_section(l->argv[0])) {
            begin_section(&p, l);
        } else if (is_unsupported_section(l->argv[0])) {
            error(&p, "section '%s' is not supported by wscale", l->argv[0]);
            p.sec = SEC_NONE;
            p.skipping = 1;
        } else if (p.skipping) {
            continue;
        } else if (p.sec == SEC_GLOBAL) {
            global_keyword(&p, l);
        } else if (p.sec == SEC_NONE) {
            error(&p, "'%s' outside of a section (expected global, defaults, frontend, "
                      "backend or listen first)", l->argv[0]);
        } else {
            proxy_keyword(&p, l);
        }
    }
    free(l);
    finish(&p);
    proxy_free_strings(&p.defaults);
    if (p.nerrors > 0) {
        lb_config_free(p.cfg);
        return NULL;
    }
    return p.cfg;
}

int lb_config_read(const char *path, struct strbuf *text, struct strbuf *errors)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL) {
        strbuf_printf(errors, "%s: cannot open: %s\n", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        strbuf_append(text, chunk, n);
    int failed = ferror(f) || text->failed;
    fclose(f);
    if (failed) {
        strbuf_printf(errors, "%s: cannot read\n", path);
        return -1;
    }
    return 0;
}

struct lb_config *lb_config_load(const char *path, conf_getenv_fn *getenv_fn,
                                 struct strbuf *errors, struct strbuf *warnings)
{
    struct strbuf text = STRBUF_INIT;
    struct lb_config *cfg = NULL;
    if (lb_config_read(path, &text, errors) == 0)
        cfg = lb_config_parse(path, text.data ? text.data : "", text.len, getenv_fn, errors,
                              warnings);
    strbuf_free(&text);
    return cfg;
}

struct proxy *lb_config_find(const struct lb_config *cfg, const char *name, unsigned caps)
{
    for (struct proxy *px = cfg->proxies; px; px = px->next)
        if ((px->caps & caps) == caps && strcmp(px->name, name) == 0)
            return px;
    return NULL;
}

void lb_config_free(struct lb_config *cfg)
{
    if (cfg == NULL)
        return;
    struct proxy *px = cfg->proxies;
    while (px) {
        struct proxy *next = px->next;
        for (size_t i = 0; i < px->nservers; i++) {
            free(px->servers[i]->name);
            free(px->servers[i]->host);
            free(px->servers[i]->ca_file);
            free(px->servers[i]->sni);
            free(px->servers[i]->cookie);
            SSL_CTX_free(px->servers[i]->tls_ctx);
            free(px->servers[i]);
        }
        for (size_t i = 0; i < px->nbinds; i++) {
            free(px->binds[i]->text);
            tls_server_free(px->binds[i]->tls);
            free(px->binds[i]);
        }
        free(px->servers);
        free(px->binds);
        proxy_free_strings(px);
        free(px);
        px = next;
    }
    for (size_t i = 0; i < cfg->nstats_sockets; i++)
        free(cfg->stats_sockets[i].path);
    free(cfg->stats_sockets);
    settings_free(&cfg->ssl_defaults);
    free(cfg->file);
    free(cfg);
}
