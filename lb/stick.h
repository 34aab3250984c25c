/* stick.h — a stick table: client address → server, in shared memory.
 *
 * The table lives in a memory region the caller provides (an mmap
 * MAP_SHARED mapping, so that every worker process sees the same table). It
 * holds no pointer: each process may map it at its own address.
 *
 * Keys are 16 bytes (an IPv4 address as IPv4-mapped IPv6); values are an
 * opaque 32-bit server key. An entry expires `expire_ms` after it was last
 * stored or matched (0: never; then only the size bound removes entries).
 *
 * A table of N entries never holds more than N. A key lives in one of the 16
 * slots of its two buckets of 8, chosen by SipHash-2-4 under a random key
 * drawn by stick_init (so clients cannot aim their addresses at one bucket).
 * A new key takes a free or expired slot of the emptier bucket, else the
 * least recently used of those 16: an approximation of "the least recently
 * used of the table goes first", which may also drop an entry a little before
 * the table is entirely full when both of a key's buckets are crowded.
 *
 * Concurrency: a process-shared robust mutex guards the table; an operation
 * holds it for at most 16 slot reads and one slot write. A process dying
 * while holding it does not wedge the others: the next one to lock clears
 * the one entry the dead process may have half written, and goes on.
 *
 * Time is the caller's: now_ms is CLOCK_MONOTONIC in milliseconds, the same
 * in every process of the host. */
#ifndef WSCALE_LB_STICK_H
#define WSCALE_LB_STICK_H

#include <stddef.h>
#include <stdint.h>

#define STICK_KEY_LEN 16
#define STICK_MAX_ENTRIES (16u << 20) /* 16m entries: 512 MiB of shared memory */

/* The bytes a table of `entries` (1 .. STICK_MAX_ENTRIES) needs. */
size_t stick_region_size(unsigned entries);

/* Makes region (stick_region_size(entries) bytes, 64-byte aligned, as a
 * mapping is) an empty table. Done once, before other processes use it.
 * Returns 0, or -1 with errno if the process-shared lock cannot be made. */
int stick_init(void *region, unsigned entries, uint32_t expire_ms);

/* Releases the lock's resources (none on Linux); the caller unmaps. */
void stick_destroy(void *region);

/* Looks key up. Returns 1 and sets *server when present and not expired
 * (its expiry starts again: a match refreshes it), 0 otherwise, and also
 * when the lock cannot be taken. */
int stick_lookup(void *region, const uint8_t key[STICK_KEY_LEN], uint64_t now_ms,
                 uint32_t *server);

/* Maps key to server, replacing what the key had, refreshing its expiry.
 * Returns 0, or -1 when the lock cannot be taken. */
int stick_store(void *region, const uint8_t key[STICK_KEY_LEN], uint32_t server, uint64_t now_ms);

/* The entries not expired at now_ms: a walk of the whole table under the
 * lock, for tests and statistics. */
unsigned stick_count(void *region, uint64_t now_ms);

/* The lock every operation above takes (not recursive: do not call them
 * while holding it). Exposed for tests that kill a process holding it.
 * Returns 0, or -1 if the lock is unusable. */
int stick_lock(void *region);
void stick_unlock(void *region);

#endif
