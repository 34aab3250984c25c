/* payload.h — the bench message: a fixed 40-byte header, then padding.
 *
 *   "WSB1 SSSSSSSS QQQQQQQQ TTTTTTTTTTTTTTTT " then 'x' up to the size
 *
 * S is the sender's global client id, Q its sequence number and T the
 * CLOCK_MONOTONIC send time in nanoseconds, all in fixed-width hex. The
 * monotonic clock is shared by all processes of one host, so sender and
 * receivers must run on the same host. Text only, so a chat server relays it.
 * Pure: no I/O. */
#ifndef WSCALE_BENCH_PAYLOAD_H
#define WSCALE_BENCH_PAYLOAD_H

#include <stddef.h>
#include <stdint.h>

#define PAYLOAD_HEADER 40

struct payload {
    uint32_t sender;
    uint32_t seq;
    uint64_t sent_ns;
};

/* Writes a message of `size` bytes (at least PAYLOAD_HEADER) into out. */
void payload_write(uint8_t *out, size_t size, const struct payload *p);

/* Finds a bench header in a received message (anywhere in its first 256
 * bytes: a chat server prefixes "<ID>:"). Returns 0 and fills p, or -1 if
 * the message is not one of ours. */
int payload_read(const uint8_t *msg, size_t len, struct payload *p);

#endif
