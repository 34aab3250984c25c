/* chat.h — the tutorial's chat protocol, byte for byte:
 *
 *   on connect      server → client  "Connected successfully to server <ID>"
 *   client → server "<text>"         published to the Redis channel as is
 *   every backend   server → client  "<ID>:<text>" to each of its clients,
 *                                    <ID> being the delivering backend's id
 *
 * With --echo there is no Redis: each message goes back to its sender only,
 * unprefixed, text or binary. */
#ifndef WSCALE_CHAT_H
#define WSCALE_CHAT_H

#include <stddef.h>
#include <stdint.h>

struct backend;
struct session;

/* Encodes the greeting once. Returns 0, or -1 if out of memory. */
int chat_init(struct backend *be);

/* Greets a session that just opened: the tutorial's greeting, or
 * wscale.chat.v1's hello. */
void chat_on_open(struct session *s);

/* A complete message from a client (opcode WS_OP_TEXT or WS_OP_BINARY). */
void chat_on_message(struct session *s, int opcode, const uint8_t *data, size_t len);

/* The bus's delivery callback: a message published on the channel. */
void chat_deliver(void *backend, const char *payload, size_t len);

#endif
