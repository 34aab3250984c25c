/* rooms.h — the wscale.chat.v1 rooms this process has members in: their
 * Redis channels, the members' presence, and delivery without gap or
 * duplicate.
 *
 * A room's channel is subscribed only while the room has local members (a
 * backend sees no traffic of rooms it does not serve), through a small state
 * machine that never re-subscribes a channel whose UNSUBSCRIBE is still in
 * flight (hiredis 0.14 keys its callbacks by channel name).
 *
 * Every member has a cursor: the id of the last message it was sent. Live
 * messages reach a member only when their id is past its cursor. A member
 * that joins (or must catch up) first waits for the channel to be
 * subscribed, then reads the stream's position in Redis; live messages that
 * arrive meanwhile are held by the room. When the read returns, the member
 * gets the stored messages after its cursor, then the held ones past it, and
 * is live: subscribe first, read second, merge by id — nothing is missed,
 * nothing is sent twice. When this process's subscriber connection drops,
 * every member catches up the same way once the channel is back. */
#ifndef WSCALE_ROOMS_H
#define WSCALE_ROOMS_H

#include <hiredis/hiredis.h>
#include <stddef.h>

#include "chat-proto.h"

struct backend;
struct chat_client;
struct rooms;

/* NULL if out of memory. Installs the bus hooks and the presence timer. */
struct rooms *rooms_new(struct backend *be);

/* Frees every room. Members must be gone (sessions closed) before. */
void rooms_free(struct rooms *rs);

/* A join request of a client (validated; not already in the room, under
 * CHAT_MAX_ROOMS). Answers with joined (and the recovery) or an error. */
void rooms_join(struct rooms *rs, struct chat_client *c, const struct chat_request *req);

/* Leaves one room (answers left) — or, with req NULL, every room of the
 * client, silently (the session is closing). Returns -1 if the client is
 * not in req's room. */
int rooms_leave(struct rooms *rs, struct chat_client *c, const struct chat_request *req);

/* The member of c in room, or NULL. */
struct member *rooms_member(struct chat_client *c, const char *room, size_t len);

/* The nick a member joined with. */
const char *rooms_member_nick(const struct member *m);

/* A stream entry ([id, [field, value, ...]]) as a msg object of room, or
 * NULL when it is not one of ours; *id gets its id. */
json_t *rooms_entry_msg(const char *room, const struct redisReply *entry, struct chat_id *id);

/* Number of rooms with local members, for metrics. */
size_t rooms_count(const struct rooms *rs);

#endif
