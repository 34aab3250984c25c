/* rooms.c — see rooms.h. */
#include "rooms.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../shared/log.h"
#include "../shared/rbuf.h"
#include "backend.h"
#include "bus.h"
#include "chat-scripts.h"
#include "chat-v1.h"
#include "session.h"

#define TOUCH_BATCH 500 /* members per presence refresh command */

enum sub_state { SUB_NONE, SUB_SUBSCRIBING, SUB_SUBSCRIBED, SUB_UNSUBSCRIBING };

enum member_state {
    M_WAIT_SUB,  /* joining: waiting for the room's channel */
    M_JOINING,   /* its join script is in flight */
    M_SYNC_WAIT, /* must catch up: waiting for the channel, or for the publisher */
    M_SYNCING,   /* covered by the room's range read in flight */
    M_LIVE,
};

/* A live frame kept while some member waits for its read. */
struct held {
    struct held *next;
    struct rbuf *frame;
    int is_msg;
    struct chat_id id;
};

struct room {
    struct room *hnext;               /* hash chain */
    struct rooms *rs;
    struct member *members;           /* through member.room_prev/room_next */
    size_t nmembers;
    unsigned waiting;                 /* members in M_JOINING or M_SYNCING */
    unsigned refs;                    /* Redis calls in flight pointing here */
    uint8_t sub;                      /* enum sub_state */
    uint8_t range_in_flight;
    unsigned epoch;                   /* times its subscription was lost */
    struct held *held, *held_tail;
    size_t name_len;
    char name[CHAT_ROOM_MAX + 1];
    char channel[CHAT_KEY_MAX];            /* wscale:room:<name> */
};

struct join_call {
    struct member *m;                 /* NULL once the member is gone */
    struct room *room;
};

struct member {
    struct room *room;
    struct chat_client *client;
    struct member *room_prev, *room_next;
    struct member *client_next;
    struct join_call *call;
    uint8_t state;                    /* enum member_state */
    uint8_t has_since;
    unsigned epoch;                   /* the room's epoch when its read was sent */
    struct chat_id cursor;            /* the last message id it was sent */
    struct chat_id since;
    json_t *ref;
    const char *nick;                 /* inside key */
    char key[];                       /* presence entry: "<instance>.<conn>|<nick>" */
};

struct rooms {
    struct backend *be;
    struct room **buckets;
    size_t nbuckets, count;
    ev_timer presence_timer;
    char instance[9];                 /* random per process: entries of a restart differ */
};

static void send_range(struct room *r);
static void on_channel(redisAsyncContext *ac, void *reply_ptr, void *privdata);

/* --- the table ------------------------------------------------------------ */

static size_t name_hash(const char *name, size_t len)
{
    size_t h = 2166136261u;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)name[i]) * 16777619u;
    return h;
}

static struct room **slot_of(struct rooms *rs, const char *name, size_t len)
{
    struct room **p = &rs->buckets[name_hash(name, len) & (rs->nbuckets - 1)];
    while (*p && ((*p)->name_len != len || memcmp((*p)->name, name, len) != 0))
        p = &(*p)->hnext;
    return p;
}

static void grow(struct rooms *rs)
{
    size_t n = rs->nbuckets * 2;
    struct room **b = calloc(n, sizeof(*b));
    if (b == NULL)
        return; /* longer chains, still correct */
    for (size_t i = 0; i < rs->nbuckets; i++) {
        while (rs->buckets[i]) {
            struct room *r = rs->buckets[i];
            rs->buckets[i] = r->hnext;
            size_t j = name_hash(r->name, r->name_len) & (n - 1);
            r->hnext = b[j];
            b[j] = r;
        }
    }
    free(rs->buckets);
    rs->buckets = b;
    rs->nbuckets = n;
}

static struct room *room_get(struct rooms *rs, const char *name, size_t len)
{
    struct room **slot = slot_of(rs, name, len);
    if (*slot)
        return *slot;
    struct room *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->rs = rs;
    memcpy(r->name, name, len);
    r->name_len = len;
    chat_key(r->channel, "room", r->name);
    *slot = r;
    if (++rs->count > rs->nbuckets)
        grow(rs);
    return r;
}

static void held_clear(struct room *r)
{
    while (r->held) {
        struct held *h = r->held;
        r->held = h->next;
        rbuf_unref(h->frame);
        free(h);
    }
    r->held_tail = NULL;
}

/* Frees a room nobody needs any more: no members, no subscription, no call
 * in flight (each of those holds a pointer to it). */
static void room_maybe_free(struct room *r)
{
    if (r->nmembers > 0 || r->sub != SUB_NONE || r->refs > 0)
        return;
    struct rooms *rs = r->rs;
    struct room **slot = slot_of(rs, r->name, r->name_len);
    *slot = r->hnext;
    rs->count--;
    held_clear(r);
    free(r);
}

/* --- sending to members ---------------------------------------------------- */

static struct bus *bus_of(const struct room *r)
{
    return r->rs->be->bus;
}

/* Sends a frame to a member. Returns -1 if that closed the session: the
 * member is then gone. */
static int member_send(struct member *m, struct rbuf *frame)
{
    return session_send(m->client->session, frame);
}

/* Stored messages as frames, built once for every member they go to. */
struct entries {
    size_t n;
    struct chat_id *ids;
    struct rbuf **frames;
};

static void entries_free(struct entries *e)
{
    for (size_t i = 0; i < e->n; i++)
        rbuf_unref(e->frames[i]);
    free(e->ids);
    free(e->frames);
}

static const redisReply *field(const redisReply *fields, const char *name)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2)
        if (fields->element[i]->type == REDIS_REPLY_STRING && strcmp(fields->element[i]->str, name) == 0 &&
            fields->element[i + 1]->type == REDIS_REPLY_STRING)
            return fields->element[i + 1];
    return NULL;
}

json_t *rooms_entry_msg(const char *room, const redisReply *entry, struct chat_id *id)
{
    if (entry->type != REDIS_REPLY_ARRAY || entry->elements != 2 ||
        entry->element[0]->type != REDIS_REPLY_STRING || entry->element[1]->type != REDIS_REPLY_ARRAY)
        return NULL;
    const redisReply *rid = entry->element[0], *fields = entry->element[1];
    const redisReply *nick = field(fields, "nick"), *text = field(fields, "text");
    const redisReply *ts = field(fields, "ts"), *node = field(fields, "node");
    if (!nick || !text || !ts || !node || chat_id_parse(rid->str, rid->len, id) != 0)
        return NULL;
    /* NULL as well when a field is not UTF-8: it cannot be sent. */
    return chat_msg(room, rid->str, nick->str, nick->len, text->str, text->len,
                    strtoll(ts->str, NULL, 10), node->str);
}

/* XRANGE entries as msg frames. Entries that are not messages of ours are
 * skipped. Returns 0, or -1 if out of memory. */
static int entries_build(struct entries *e, const struct room *r, const redisReply *list)
{
    memset(e, 0, sizeof(*e));
    if (list->elements == 0)
        return 0;
    e->ids = malloc(list->elements * sizeof(*e->ids));
    e->frames = malloc(list->elements * sizeof(*e->frames));
    if (e->ids == NULL || e->frames == NULL)
        goto oom;
    for (size_t i = 0; i < list->elements; i++) {
        struct chat_id id;
        size_t len;
        char *json = chat_dump(rooms_entry_msg(r->name, list->element[i], &id), &len);
        if (json == NULL)
            continue;
        struct rbuf *f = session_frame(WS_OP_TEXT, json, len, NULL, 0);
        free(json);
        if (f == NULL)
            goto oom;
        e->ids[e->n] = id;
        e->frames[e->n++] = f;
    }
    return 0;
oom:
    entries_free(e);
    return -1;
}

/* Brings a member whose read returned up to date: the stored messages past
 * its cursor, then the held live ones past it. Returns how many stored ones
 * it was sent, or -1 if the session closed meanwhile (m is gone). */
static long catch_up(struct member *m, const struct entries *e)
{
    long sent = 0;
    for (size_t i = 0; i < e->n; i++) {
        if (chat_id_cmp(e->ids[i], m->cursor) <= 0)
            continue;
        if (member_send(m, e->frames[i]) != 0)
            return -1;
        m->cursor = e->ids[i];
        sent++;
    }
    return sent;
}

static int send_held(struct member *m)
{
    for (struct held *h = m->room->held; h; h = h->next) {
        if (h->is_msg && chat_id_cmp(h->id, m->cursor) <= 0)
            continue;
        if (member_send(m, h->frame) != 0)
            return -1;
        if (h->is_msg)
            m->cursor = h->id;
    }
    return 0;
}

/* Held frames are needed only while someone waits. */
static void held_release(struct room *r)
{
    if (r->waiting == 0)
        held_clear(r);
}

/* --- members ---------------------------------------------------------------- */

static void on_ignored(void *privdata, redisReply *reply)
{
    (void)privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_warn("redis: presence update refused: %s", reply->str);
}

static void send_leave(struct member *m)
{
    struct room *r = m->room;
    char zset[CHAT_KEY_MAX], hash[CHAT_KEY_MAX];
    chat_key(zset, "presence", r->name);
    chat_key(hash, "members", r->name);
    const char *argv[] = { "EVALSHA", chat_script_sha(SCRIPT_LEAVE), "2", zset, hash, r->channel,
                           r->name, m->key };
    bus_command(bus_of(r), on_ignored, NULL, 8, argv, NULL);
}

/* Makes the room's subscription follow whether it has members. */
static void room_sync_sub(struct room *r)
{
    if (r->nmembers > 0 && r->sub == SUB_NONE) {
        if (bus_channel(bus_of(r), "SUBSCRIBE", r->channel, on_channel, r) == 0)
            r->sub = SUB_SUBSCRIBING;
    } else if (r->nmembers == 0 && r->sub == SUB_SUBSCRIBED) {
        if (bus_channel(bus_of(r), "UNSUBSCRIBE", r->channel, on_channel, r) == 0)
            r->sub = SUB_UNSUBSCRIBING;
    }
}

/* Takes a member out of its room and its client. With tell_redis, its
 * presence entry is removed (a leave event if it was the nick's last). */
static void member_remove(struct member *m, int tell_redis)
{
    struct room *r = m->room;
    struct chat_client *c = m->client;
    if (m->call)
        m->call->m = NULL;
    if (m->state == M_JOINING || m->state == M_SYNCING)
        r->waiting--;
    if (tell_redis && m->state != M_WAIT_SUB)
        send_leave(m);

    if (m->room_prev)
        m->room_prev->room_next = m->room_next;
    else
        r->members = m->room_next;
    if (m->room_next)
        m->room_next->room_prev = m->room_prev;
    r->nmembers--;
    struct member **p = &c->rooms;
    while (*p != m)
        p = &(*p)->client_next;
    *p = m->client_next;
    c->nrooms--;

    json_decref(m->ref);
    free(m);
    held_release(r);
    room_sync_sub(r);
    room_maybe_free(r);
}

/* A join that cannot complete: the client is told, the member removed. */
static void member_fail(struct member *m, const char *why)
{
    struct session *s = m->client->session;
    json_t *ref = m->ref ? json_incref(m->ref) : NULL;
    member_remove(m, 0);
    chat_v1_error(s, ref, CHAT_E_UNAVAILABLE, why);
    json_decref(ref);
}

/* --- reading the stream ------------------------------------------------------ */

struct position {
    struct chat_id last, trimmed; /* the newest id, the newest trimmed away */
    const redisReply *members, *entries;
};

static int position_parse(const redisReply *reply, struct position *p)
{
    if (reply == NULL || reply->type != REDIS_REPLY_ARRAY || reply->elements != 4)
        return -1;
    const redisReply *const *e = (const redisReply *const *)reply->element;
    if (e[0]->type != REDIS_REPLY_STRING || e[1]->type != REDIS_REPLY_STRING ||
        e[2]->type != REDIS_REPLY_ARRAY || e[3]->type != REDIS_REPLY_ARRAY ||
        chat_id_parse(e[0]->str, e[0]->len, &p->last) != 0 ||
        chat_id_parse(e[1]->str, e[1]->len, &p->trimmed) != 0)
        return -1;
    p->members = e[2];
    p->entries = e[3];
    return 0;
}

static const char *reply_error(const redisReply *reply, struct room *r)
{
    if (reply == NULL)
        return "redis connection lost";
    if (reply->type == REDIS_REPLY_ERROR) {
        log_error("redis: room '%s': %s", r->name, reply->str);
        if (strncmp(reply->str, "NOSCRIPT", 8) == 0)
            bus_fail_publisher(bus_of(r), "scripts missing in Redis");
    }
    return "redis refused the request";
}

/* The state a member whose read returned goes to: live, unless the
 * subscription was lost since the read was sent (then it catches up again). */
static void member_done_waiting(struct member *m)
{
    struct room *r = m->room;
    r->waiting--;
    m->state = m->epoch == r->epoch ? M_LIVE : M_SYNC_WAIT;
}

/* Answers a join whose script replied: joined, the recovery, then live. */
static void join_answer(struct room *r, struct member *m, redisReply *reply)
{
    struct position pos;
    if (position_parse(reply, &pos) != 0) {
        r->waiting--;
        m->state = M_SYNC_WAIT; /* not M_JOINING: it no longer waits */
        member_fail(m, reply_error(reply, r));
        return;
    }
    json_t *members = json_array();
    for (size_t i = 0; members && i < pos.members->elements; i++)
        if (pos.members->element[i]->type == REDIS_REPLY_STRING)
            json_array_append_new(members, json_stringn(pos.members->element[i]->str,
                                                         pos.members->element[i]->len));
    char last[CHAT_ID_STRLEN];
    chat_id_format(pos.last, last);

    struct chat_client *c = m->client;
    struct session *s = c->session;
    int recovering = m->has_since;
    int complete = 1;
    m->cursor = pos.last;
    if (recovering && chat_id_cmp(m->since, pos.last) <= 0) {
        m->cursor = m->since;
        complete = chat_id_cmp(pos.trimmed, m->since) <= 0;
    } else if (recovering) {
        complete = 0; /* since is from a history this Redis does not have */
    }
    member_done_waiting(m);

    struct entries e;
    if (entries_build(&e, r, pos.entries) != 0) {
        session_kill(s, "out of memory");
        held_release(r);
        return;
    }
    chat_v1_send(s, chat_joined(r->name, m->nick, members, last));
    long count = 0;
    if (s->state == SESSION_OPEN && recovering)
        count = catch_up(m, &e);
    entries_free(&e);
    if (s->state != SESSION_OPEN || count < 0) {
        held_release(r);
        return;
    }
    if (recovering) {
        chat_v1_send(s, chat_recovered(r->name, (size_t)count, complete));
        if (s->state != SESSION_OPEN) {
            held_release(r);
            return;
        }
    }
    if (chat_id_cmp(m->cursor, pos.last) < 0)
        m->cursor = pos.last;
    if (send_held(m) == 0 && m->state == M_SYNC_WAIT && r->sub == SUB_SUBSCRIBED && !r->range_in_flight)
        send_range(r);
    held_release(r);
}

static void on_join_reply(void *privdata, redisReply *reply)
{
    struct join_call *jc = privdata;
    struct room *r = jc->room;
    struct member *m = jc->m;
    free(jc);
    if (m) {
        m->call = NULL;
        join_answer(r, m, reply);
    }
    r->refs--; /* held until here: members may leave meanwhile */
    room_maybe_free(r);
}

static void send_join(struct member *m)
{
    struct room *r = m->room;
    struct join_call *jc = malloc(sizeof(*jc));
    if (jc == NULL) {
        member_fail(m, "out of memory");
        return;
    }
    char stream[CHAT_KEY_MAX], zset[CHAT_KEY_MAX], hash[CHAT_KEY_MAX], ttl[24], since[CHAT_ID_STRLEN], count[24];
    chat_key(stream, "history", r->name);
    chat_key(zset, "presence", r->name);
    chat_key(hash, "members", r->name);
    const struct backend_options *o = r->rs->be->opt;
    snprintf(ttl, sizeof(ttl), "%.0f", o->presence_ttl * 1000);
    snprintf(count, sizeof(count), "%llu", (unsigned long long)o->history);
    since[0] = '\0';
    if (m->has_since)
        chat_id_format(m->since, since);
    const char *argv[] = { "EVALSHA", chat_script_sha(SCRIPT_JOIN), "3", stream, zset, hash,
                           r->channel, r->name, m->key, ttl, since, count };
    *jc = (struct join_call){ .m = m, .room = r };
    if (bus_command(bus_of(r), on_join_reply, jc, 12, argv, NULL) != 0) {
        free(jc);
        member_fail(m, "redis is not reachable");
        return;
    }
    m->call = jc;
    m->state = M_JOINING;
    m->epoch = r->epoch;
    r->waiting++;
    r->refs++;
}

static void on_range_reply(void *privdata, redisReply *reply)
{
    struct room *r = privdata;
    r->range_in_flight = 0;
    struct position pos;
    struct entries e = { 0 };
    int ok = position_parse(reply, &pos) == 0 && entries_build(&e, r, pos.entries) == 0;
    if (!ok)
        reply_error(reply, r);

    /* Members may leave (a slow consumer closed) while this runs. */
    struct member *next;
    for (struct member *m = r->members; m; m = next) {
        next = m->room_next;
        if (m->state != M_SYNCING)
            continue;
        if (!ok) {
            r->waiting--;
            m->state = M_SYNC_WAIT;
            continue;
        }
        int complete = chat_id_cmp(pos.trimmed, m->cursor) <= 0 && chat_id_cmp(m->cursor, pos.last) <= 0;
        member_done_waiting(m);
        struct session *s = m->client->session;
        long count = catch_up(m, &e);
        if (count < 0)
            continue;
        if (!complete) {
            chat_v1_send(s, chat_recovered(r->name, (size_t)count, 0));
            if (s->state != SESSION_OPEN)
                continue;
        }
        if (chat_id_cmp(m->cursor, pos.last) < 0)
            m->cursor = pos.last;
        send_held(m);
    }
    entries_free(&e);
    held_release(r);
    /* After a failure the publisher's return (publisher_up) tries again. */
    if (ok && r->sub == SUB_SUBSCRIBED)
        send_range(r);
    r->refs--; /* held until here: members may leave meanwhile */
    room_maybe_free(r);
}

/* One read of the stream for every member that must catch up, from the
 * oldest of their cursors. */
static void send_range(struct room *r)
{
    if (r->range_in_flight)
        return;
    struct chat_id from = { UINT64_MAX, UINT64_MAX };
    int any = 0;
    for (struct member *m = r->members; m; m = m->room_next) {
        if (m->state == M_SYNC_WAIT) {
            any = 1;
            if (chat_id_cmp(m->cursor, from) < 0)
                from = m->cursor;
        }
    }
    if (!any)
        return;
    char stream[CHAT_KEY_MAX], since[CHAT_ID_STRLEN], count[24];
    chat_key(stream, "history", r->name);
    chat_id_format(from, since);
    snprintf(count, sizeof(count), "%llu", (unsigned long long)r->rs->be->opt->history);
    const char *argv[] = { "EVALSHA", chat_script_sha(SCRIPT_RANGE), "1", stream, since, count };
    if (bus_command(bus_of(r), on_range_reply, r, 6, argv, NULL) != 0)
        return; /* publisher_up tries again */
    r->range_in_flight = 1;
    r->refs++;
    for (struct member *m = r->members; m; m = m->room_next) {
        if (m->state == M_SYNC_WAIT) {
            m->state = M_SYNCING;
            m->epoch = r->epoch;
            r->waiting++;
        }
    }
}

/* --- the room's channel ------------------------------------------------------ */

static void deliver(struct room *r, const char *payload, size_t len)
{
    struct backend *be = r->rs->be;
    struct chat_live live;
    if (chat_parse_live(payload, len, &live) != 0) {
        be->stats.invalid_bus_messages++;
        log_debug("redis: room '%s': dropped a message that is not a msg or presence frame", r->name);
        return;
    }
    struct rbuf *f = session_frame(WS_OP_TEXT, payload, len, NULL, 0);
    if (f == NULL) {
        log_error("out of memory delivering to room '%s'", r->name);
        return;
    }
    struct member *next;
    for (struct member *m = r->members; m; m = next) {
        next = m->room_next;
        if (m->state != M_LIVE)
            continue;
        if (!live.is_msg) {
            member_send(m, f);
        } else if (chat_id_cmp(live.id, m->cursor) > 0) {
            m->cursor = live.id;
            member_send(m, f);
        }
    }
    if (r->waiting > 0) {
        struct held *h = malloc(sizeof(*h));
        if (h == NULL) {
            /* The waiting members would miss it: make them read again. */
            r->epoch++;
        } else {
            *h = (struct held){ .frame = rbuf_ref(f), .is_msg = live.is_msg, .id = live.id };
            if (r->held_tail)
                r->held_tail->next = h;
            else
                r->held = h;
            r->held_tail = h;
        }
    }
    rbuf_unref(f);
}

/* The subscription is confirmed: waiting joins and catch-ups can read. */
static void room_subscribed(struct room *r)
{
    struct member *next;
    for (struct member *m = r->members; m; m = next) {
        next = m->room_next;
        if (m->state == M_WAIT_SUB)
            send_join(m);
    }
    send_range(r);
}

/* The subscriber connection is gone: whatever the channel carried meanwhile
 * is lost, so live members will catch up from the stream. Joins still
 * waiting for the channel are refused rather than left hanging. */
static void channel_lost(struct room *r)
{
    r->sub = SUB_NONE;
    r->epoch++;
    r->refs++; /* keeps r while members are removed */
    struct member *next;
    for (struct member *m = r->members; m; m = next) {
        next = m->room_next;
        if (m->state == M_LIVE)
            m->state = M_SYNC_WAIT;
        else if (m->state == M_WAIT_SUB)
            member_fail(m, "redis connection lost");
    }
    r->refs--;
    room_maybe_free(r);
}

static void on_channel(redisAsyncContext *ac, void *reply_ptr, void *privdata)
{
    struct room *r = privdata;
    redisReply *reply = reply_ptr;
    (void)ac;
    if (reply == NULL) {
        channel_lost(r);
        return;
    }
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements < 3 || reply->element[0]->type != REDIS_REPLY_STRING)
        return;
    const char *kind = reply->element[0]->str;
    if (strcmp(kind, "message") == 0 && reply->element[2]->type == REDIS_REPLY_STRING) {
        deliver(r, reply->element[2]->str, reply->element[2]->len);
    } else if (strcmp(kind, "subscribe") == 0) {
        r->sub = SUB_SUBSCRIBED;
        log_debug("redis subscriber: subscribed to '%s'", r->channel);
        if (r->nmembers == 0)
            room_sync_sub(r);
        else
            room_subscribed(r);
    } else if (strcmp(kind, "unsubscribe") == 0) {
        r->sub = SUB_NONE;
        log_debug("redis subscriber: unsubscribed from '%s'", r->channel);
        room_sync_sub(r);
        room_maybe_free(r);
    }
}

/* --- the bus's hooks and the presence refresh ------------------------------- */

static void on_publisher_up(void *data)
{
    struct rooms *rs = data;
    chat_scripts_load(rs->be->bus);
    for (size_t i = 0; i < rs->nbuckets; i++)
        for (struct room *r = rs->buckets[i]; r; r = r->hnext)
            if (r->sub == SUB_SUBSCRIBED)
                send_range(r);
}

static void on_subscriber_up(void *data)
{
    struct rooms *rs = data;
    for (size_t i = 0; i < rs->nbuckets; i++)
        for (struct room *r = rs->buckets[i]; r; r = r->hnext)
            room_sync_sub(r);
}

static void touch_batch(struct room *r, const char **keys, size_t n)
{
    char zset[CHAT_KEY_MAX], hash[CHAT_KEY_MAX], ttl[24];
    chat_key(zset, "presence", r->name);
    chat_key(hash, "members", r->name);
    snprintf(ttl, sizeof(ttl), "%.0f", r->rs->be->opt->presence_ttl * 1000);
    const char *argv[8 + TOUCH_BATCH] = { "EVALSHA", chat_script_sha(SCRIPT_TOUCH), "2", zset, hash,
                                          r->channel, r->name };
    argv[7] = ttl;
    for (size_t i = 0; i < n; i++)
        argv[8 + i] = keys[i];
    bus_command(bus_of(r), on_ignored, NULL, (int)(8 + n), argv, NULL);
}

/* Every ttl/3: this process's members are still here; expired ones (of a
 * backend that died) are removed by the same script. */
static void on_presence_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct rooms *rs = w->data;
    const char *keys[TOUCH_BATCH];
    (void)loop;
    (void)revents;
    for (size_t i = 0; i < rs->nbuckets; i++) {
        for (struct room *r = rs->buckets[i]; r; r = r->hnext) {
            size_t n = 0;
            for (struct member *m = r->members; m; m = m->room_next) {
                if (m->state == M_WAIT_SUB)
                    continue;
                keys[n++] = m->key;
                if (n == TOUCH_BATCH) {
                    touch_batch(r, keys, n);
                    n = 0;
                }
            }
            if (n > 0)
                touch_batch(r, keys, n);
        }
    }
}

/* --- the interface -------------------------------------------------------------- */

struct rooms *rooms_new(struct backend *be)
{
    struct rooms *rs = calloc(1, sizeof(*rs));
    if (rs == NULL)
        return NULL;
    rs->nbuckets = 64;
    rs->buckets = calloc(rs->nbuckets, sizeof(*rs->buckets));
    if (rs->buckets == NULL) {
        free(rs);
        return NULL;
    }
    rs->be = be;
    snprintf(rs->instance, sizeof(rs->instance), "%08x", arc4random());
    struct bus_hooks hooks = { on_publisher_up, on_subscriber_up, rs };
    bus_set_hooks(be->bus, &hooks);
    double every = be->opt->presence_ttl / 3;
    ev_timer_init(&rs->presence_timer, on_presence_timer, every, every);
    rs->presence_timer.data = rs;
    ev_timer_start(be->loop, &rs->presence_timer);
    return rs;
}

void rooms_free(struct rooms *rs)
{
    if (rs == NULL)
        return;
    ev_timer_stop(rs->be->loop, &rs->presence_timer);
    for (size_t i = 0; i < rs->nbuckets; i++) {
        while (rs->buckets[i]) {
            struct room *r = rs->buckets[i];
            rs->buckets[i] = r->hnext;
            held_clear(r);
            free(r);
        }
    }
    free(rs->buckets);
    free(rs);
}

struct member *rooms_member(struct chat_client *c, const char *room, size_t len)
{
    for (struct member *m = c->rooms; m; m = m->client_next)
        if (m->room->name_len == len && memcmp(m->room->name, room, len) == 0)
            return m;
    return NULL;
}

void rooms_join(struct rooms *rs, struct chat_client *c, const struct chat_request *req)
{
    struct session *s = c->session;
    struct room *r = room_get(rs, req->room, req->room_len);
    char prefix[32];
    int plen = snprintf(prefix, sizeof(prefix), "%s.%llu|", rs->instance, (unsigned long long)c->conn);
    struct member *m = r ? calloc(1, sizeof(*m) + (size_t)plen + req->nick_len + 1) : NULL;
    if (m == NULL) {
        if (r)
            room_maybe_free(r);
        session_kill(s, "out of memory");
        return;
    }
    memcpy(m->key, prefix, (size_t)plen);
    memcpy(m->key + plen, req->nick, req->nick_len);
    m->nick = m->key + plen;
    m->room = r;
    m->client = c;
    m->state = M_WAIT_SUB;
    m->has_since = (uint8_t)req->has_since;
    m->since = req->since;
    m->ref = req->ref ? json_incref(req->ref) : NULL;
    m->room_next = r->members;
    if (r->members)
        r->members->room_prev = m;
    r->members = m;
    r->nmembers++;
    m->client_next = c->rooms;
    c->rooms = m;
    c->nrooms++;

    if (r->sub == SUB_SUBSCRIBED) {
        send_join(m);
        return;
    }
    room_sync_sub(r);
    if (r->sub == SUB_NONE)
        member_fail(m, "redis is not reachable");
}

int rooms_leave(struct rooms *rs, struct chat_client *c, const struct chat_request *req)
{
    (void)rs;
    if (req == NULL) {
        while (c->rooms)
            member_remove(c->rooms, 1);
        return 0;
    }
    struct member *m = rooms_member(c, req->room, req->room_len);
    if (m == NULL)
        return -1;
    member_remove(m, 1);
    chat_v1_send(c->session, chat_left(req->room));
    return 0;
}

const char *rooms_member_nick(const struct member *m)
{
    return m->nick;
}

size_t rooms_count(const struct rooms *rs)
{
    return rs->count;
}
