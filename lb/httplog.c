/* httplog.c — see httplog.h. */
#include "httplog.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "../shared/log.h"
#include "persist.h"
#include "stream.h"

#define INTERN_MAX 1024 /* distinct request lines held by open tunnels */

uint16_t httplog_intern(struct lb *lb, const char *line)
{
    size_t free_slot = 0;
    for (size_t i = 1; i < lb->nlines; i++) {
        if (lb->lines[i].text == NULL) {
            if (!free_slot)
                free_slot = i;
        } else if (strcmp(lb->lines[i].text, line) == 0) {
            lb->lines[i].refs++;
            return (uint16_t)i;
        }
    }
    if (!free_slot) {
        if (lb->nlines >= INTERN_MAX)
            return 0;
        size_t n = lb->nlines ? lb->nlines * 2 : 16;
        if (n > INTERN_MAX)
            n = INTERN_MAX;
        struct interned_line *grown = realloc(lb->lines, n * sizeof(*grown));
        if (grown == NULL)
            return 0;
        memset(grown + lb->nlines, 0, (n - lb->nlines) * sizeof(*grown));
        free_slot = lb->nlines ? lb->nlines : 1; /* id 0 means "none" */
        lb->lines = grown;
        lb->nlines = n;
    }
    char *copy = strdup(line);
    if (copy == NULL)
        return 0;
    lb->lines[free_slot].text = copy;
    lb->lines[free_slot].refs = 1;
    return (uint16_t)free_slot;
}

void httplog_release(struct lb *lb, uint16_t id)
{
    if (id == 0 || id >= lb->nlines || lb->lines[id].text == NULL)
        return;
    if (--lb->lines[id].refs == 0) {
        free(lb->lines[id].text);
        lb->lines[id].text = NULL;
    }
}

const char *httplog_line(const struct lb *lb, uint16_t id)
{
    return id && id < lb->nlines ? lb->lines[id].text : NULL;
}

void httplog_free(struct lb *lb)
{
    for (size_t i = 0; i < lb->nlines; i++)
        free(lb->lines[i].text);
    free(lb->lines);
    lb->lines = NULL;
    lb->nlines = 0;
}

static enum lb_log_target target_of(const struct lb *lb, const struct proxy *fe)
{
    return fe->log == LOG_TARGET_GLOBAL ? lb->cfg->log : fe->log;
}

static void format_client(const struct stream *s, char *out, size_t size)
{
    char ip[INET6_ADDRSTRLEN];
    stream_client_ip(s, ip, sizeof(ip));
    snprintf(out, size, strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, s->client_port);
}

/* The wall-clock time of a stream's start, HAProxy style. */
static void format_start_date(const struct lb *lb, const struct stream *s, char *out, size_t size)
{
    struct timeval now;
    gettimeofday(&now, NULL);
    double ago = (double)(lb_now_ms(lb) - s->t_start) / 1000.0;
    double start = (double)now.tv_sec + (double)now.tv_usec / 1e6 - ago;
    time_t secs = (time_t)start;
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t n = strftime(out, size, "%d/%b/%Y:%H:%M:%S", &tm);
    snprintf(out + n, size - n, ".%03d", (int)((start - (double)secs) * 1000));
}

static void format_timer(uint32_t v, char *out, size_t size)
{
    if (v == STREAM_TIMER_UNSET)
        snprintf(out, size, "-1");
    else
        snprintf(out, size, "%u", v);
}

void httplog_emit(struct lb *lb, struct stream *s, const char *term)
{
    struct listener *li = stream_listener(s);
    enum lb_log_target target = target_of(lb, li->fe);
    if (target != LOG_TARGET_STDOUT && target != LOG_TARGET_STDERR)
        return;

    struct server *srv = stream_server(s);
    struct proxy *be = srv ? srv->be : li->fe->backend;
    const struct txn *t = s->state == ST_TUNNEL ? NULL : s->u.txn;
    char client[64], date[64], timers[NTIMERS][16];
    format_client(s, client, sizeof(client));
    format_start_date(lb, s, date, sizeof(date));
    for (int i = 0; i < NTIMERS; i++)
        format_timer(s->timers[i], timers[i], sizeof(timers[i]));

    const char *request = "<BADREQ>";
    if (t && t->request_line[0])
        request = t->request_line;
    else if (s->state == ST_TUNNEL)
        request = httplog_line(lb, s->request_line) ? httplog_line(lb, s->request_line) : "<tunnel>";
    int status = s->state == ST_TUNNEL ? 101 : t ? (t->status ? t->status : -1) : -1;
    char ck[2];
    persist_log_chars(be, s->state == ST_TUNNEL ? s->cookie_log : t ? t->ck_log : 0, ck);

    log_to(target == LOG_TARGET_STDOUT ? 1 : 2, LOG_INFO,
           "%s [%s] %s %s/%s %s/%s/%s/%s/%u %d %llu %llu - %c%c%c%c %u/%u/%u/%u/%u %u/%u \"%s\"",
           client, date, li->fe->name, be ? be->name : "<NOSRV>", srv ? srv->name : "<NOSRV>",
           timers[TIMER_TQ], timers[TIMER_TW], timers[TIMER_TC], timers[TIMER_TR],
           lb_now_ms(lb) - s->t_start, status, (unsigned long long)s->bytes_out,
           (unsigned long long)s->bytes_in, term[0], term[1], ck[0], ck[1], lb->actconn, li->fe->feconn,
           be ? be->beconn : 0, srv ? srv->cur_conns : 0, t ? t->retries : 0,
           srv ? srv->queue.len : 0u, be ? be->queue.len : 0, request);
}
