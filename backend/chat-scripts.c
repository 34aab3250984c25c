/* chat-scripts.c — see chat-scripts.h. The argument order of each script is
 * written above it; chat-v1.c and rooms.c call them. */
#include "chat-scripts.h"

#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>

#include "../shared/log.h"
#include "bus.h"

/* Shared by the scripts that touch presence or read the stream. */
#define PRELUDE \
    "local function now_ms()\n" \
    "  local t = redis.call('TIME')\n" \
    "  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n" \
    "end\n" \
    "local function event(channel, room, what, nick)\n" \
    "  redis.call('PUBLISH', channel, cjson.encode({op = 'presence', room = room, event = what, nick = nick}))\n" \
    "end\n" \
    "local function drop(zset, hash, channel, room, member)\n" \
    "  if redis.call('ZREM', zset, member) == 1 then\n" \
    "    local nick = string.sub(member, string.find(member, '|', 1, true) + 1)\n" \
    "    if redis.call('HINCRBY', hash, nick, -1) <= 0 then\n" \
    "      redis.call('HDEL', hash, nick)\n" \
    "      event(channel, room, 'leave', nick)\n" \
    "    end\n" \
    "  end\n" \
    "end\n" \
    "local function reap(zset, hash, channel, room, now)\n" \
    "  for _, member in ipairs(redis.call('ZRANGEBYSCORE', zset, '-inf', now)) do\n" \
    "    drop(zset, hash, channel, room, member)\n" \
    "  end\n" \
    "end\n" \
    "local function touch(zset, hash, channel, room, member, expiry, ttl)\n" \
    "  if redis.call('ZADD', zset, expiry, member) == 1 then\n" \
    "    local nick = string.sub(member, string.find(member, '|', 1, true) + 1)\n" \
    "    if redis.call('HINCRBY', hash, nick, 1) == 1 then\n" \
    "      event(channel, room, 'join', nick)\n" \
    "    end\n" \
    "  end\n" \
    "  redis.call('PEXPIRE', zset, ttl * 2)\n" \
    "  redis.call('PEXPIRE', hash, ttl * 2)\n" \
    "end\n" \
    "local function members(hash)\n" \
    "  local nicks = redis.call('HKEYS', hash)\n" \
    "  table.sort(nicks)\n" \
    "  return nicks\n" \
    "end\n" \
    "local function position(stream, since, limit)\n" \
    "  if redis.call('EXISTS', stream) == 0 then return {'0-0', '0-0', {}} end\n" \
    "  local info = redis.call('XINFO', 'STREAM', stream)\n" \
    "  local f = {}\n" \
    "  for i = 1, #info, 2 do f[info[i]] = info[i + 1] end\n" \
    "  local entries = {}\n" \
    "  if since ~= '' then\n" \
    "    local r = redis.pcall('XRANGE', stream, '(' .. since, '+', 'COUNT', limit)\n" \
    "    if type(r) == 'table' and not r.err then entries = r end\n" \
    "  end\n" \
    "  return {f['last-generated-id'], f['max-deleted-entry-id'], entries}\n" \
    "end\n"

static const char *const sources[CHAT_NSCRIPTS] = {
    /* KEYS: stream. ARGV: channel, room, nick, text, node, cap. Returns the id.
     * The cap is kept with XDEL, not XADD MAXLEN: Redis 7.0 records the
     * stream's max-deleted-entry-id only for XDEL, and recovery needs it to
     * tell whether anything after `since` is gone. */
    [SCRIPT_SAY] =
        "local t = redis.call('TIME')\n"
        "local ts = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)\n"
        "local id = redis.call('XADD', KEYS[1], '*', 'nick', ARGV[3],\n"
        "  'text', ARGV[4], 'ts', string.format('%d', ts), 'node', ARGV[5])\n"
        "local excess = redis.call('XLEN', KEYS[1]) - tonumber(ARGV[6])\n"
        "if excess > 0 then\n"
        "  for _, e in ipairs(redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', excess)) do\n"
        "    redis.call('XDEL', KEYS[1], e[1])\n"
        "  end\n"
        "end\n"
        "redis.call('PUBLISH', ARGV[1], cjson.encode({op = 'msg', room = ARGV[2], id = id,\n"
        "  nick = ARGV[3], text = ARGV[4], ts = ts, node = ARGV[5]}))\n"
        "return id\n",
    /* KEYS: stream, presence set, members hash. ARGV: channel, room, member,
     * ttl ms, since ('' for none), count. Returns {last id, highest trimmed
     * id, members, entries after since}. */
    [SCRIPT_JOIN] = PRELUDE
        "local now = now_ms()\n"
        "reap(KEYS[2], KEYS[3], ARGV[1], ARGV[2], now)\n"
        "touch(KEYS[2], KEYS[3], ARGV[1], ARGV[2], ARGV[3], now + ARGV[4], ARGV[4])\n"
        "local p = position(KEYS[1], ARGV[5], ARGV[6])\n"
        "return {p[1], p[2], members(KEYS[3]), p[3]}\n",
    /* KEYS: stream. ARGV: since, count. Returns as join, members empty. */
    [SCRIPT_RANGE] = PRELUDE
        "local p = position(KEYS[1], ARGV[1], ARGV[2])\n"
        "return {p[1], p[2], {}, p[3]}\n",
    /* KEYS: presence set, members hash. ARGV: channel, room, member. */
    [SCRIPT_LEAVE] = PRELUDE
        "drop(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3])\n"
        "return 1\n",
    /* KEYS: presence set, members hash. ARGV: channel, room, ttl ms, member... */
    [SCRIPT_TOUCH] = PRELUDE
        "local now = now_ms()\n"
        "reap(KEYS[1], KEYS[2], ARGV[1], ARGV[2], now)\n"
        "for i = 4, #ARGV do\n"
        "  touch(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[i], now + ARGV[3], ARGV[3])\n"
        "end\n"
        "return 1\n",
    /* KEYS: presence set, members hash. ARGV: channel, room. Returns the nicks. */
    [SCRIPT_WHO] = PRELUDE
        "reap(KEYS[1], KEYS[2], ARGV[1], ARGV[2], now_ms())\n"
        "return members(KEYS[2])\n",
};

static char shas[CHAT_NSCRIPTS][2 * SHA_DIGEST_LENGTH + 1];

void chat_key(char out[CHAT_KEY_MAX], const char *kind, const char *room)
{
    snprintf(out, CHAT_KEY_MAX, "wscale:%s:%s", kind, room);
}

const char *chat_script_text(enum chat_script s)
{
    return sources[s];
}

const char *chat_script_sha(enum chat_script s)
{
    if (shas[s][0] == '\0') {
        unsigned char digest[SHA_DIGEST_LENGTH];
        SHA1((const unsigned char *)sources[s], strlen(sources[s]), digest);
        for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
            snprintf(shas[s] + 2 * i, 3, "%02x", digest[i]);
    }
    return shas[s];
}

static void on_loaded(void *privdata, redisReply *reply)
{
    (void)privdata;
    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("redis: SCRIPT LOAD refused: %s", reply->str);
}

void chat_scripts_load(struct bus *bus)
{
    for (int s = 0; s < CHAT_NSCRIPTS; s++) {
        const char *argv[] = { "SCRIPT", "LOAD", sources[s] };
        bus_command(bus, on_loaded, NULL, 3, argv, NULL);
    }
}
