/* chat-scripts.h — the Lua scripts that make each wscale.chat.v1 operation
 * one atomic step in Redis.
 *
 *   say    XADD to the room's stream (capped by XDEL of the oldest) + PUBLISH
 *          of the msg carrying the
 *          new id, so a published message is always a stored one
 *   join   presence add (+ a join event) + members + the stream's position,
 *          and with since the entries after it
 *   range  the stream's position and the entries after an id (catching up
 *          after this backend's subscriber was away)
 *   leave  presence remove (+ a leave event when the nick's last connection)
 *   touch  refreshes this backend's members of a room and removes expired
 *          ones (members of a backend that died), with their leave events
 *   who    removes expired members, then lists the room's nicks
 *
 * Presence per room: a sorted set of "<connection>|<nick>" scored by expiry
 * (Redis's clock, ms) and a hash of nick → connections, so a nick joins when
 * its first connection arrives and leaves with its last. Scripts are sent by
 * EVALSHA; chat_scripts_load() sends SCRIPT LOAD when the publisher
 * connects, before anything else on that connection. */
#ifndef WSCALE_CHAT_SCRIPTS_H
#define WSCALE_CHAT_SCRIPTS_H

#include "chat-proto.h"

/* The Redis names of a room: its channel ("room"), its stream ("history"),
 * its presence set ("presence") and nick counts ("members"), each
 * "wscale:<kind>:<room>". */
#define CHAT_KEY_MAX (CHAT_ROOM_MAX + 24)
void chat_key(char out[CHAT_KEY_MAX], const char *kind, const char *room);

enum chat_script { SCRIPT_SAY, SCRIPT_JOIN, SCRIPT_RANGE, SCRIPT_LEAVE, SCRIPT_TOUCH, SCRIPT_WHO,
                   CHAT_NSCRIPTS };

/* The script's full source. */
const char *chat_script_text(enum chat_script s);

/* Its SHA-1 as 40 hex digits (computed once). */
const char *chat_script_sha(enum chat_script s);

struct bus;

/* Sends SCRIPT LOAD for every script. */
void chat_scripts_load(struct bus *bus);

#endif
