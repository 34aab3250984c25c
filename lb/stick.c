/* stick.c — see stick.h. */
#include "stick.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define BUCKET 8 /* slots per bucket: a key has two buckets */

struct stick_head {
    pthread_mutex_t lock;    /* process-shared, robust */
    uint32_t entries;        /* slots, and the bound on entries */
    uint32_t nbuckets;
    uint32_t expire_ms;      /* 0: never */
    uint32_t writing;        /* 1 + the slot being written, 0 when none */
    uint64_t hash_key[2];    /* SipHash key, random */
};

struct stick_entry {
    uint8_t key[STICK_KEY_LEN];
    uint64_t used_ms;        /* last stored or matched */
    uint32_t server;
    uint32_t live;           /* 0: a free slot */
};

/* Entries start at the first cache line after the header. */
#define ENTRIES_OFFSET ((sizeof(struct stick_head) + 63) & ~(size_t)63)

static struct stick_entry *slot(struct stick_head *h, uint32_t i)
{
    return (struct stick_entry *)(void *)((char *)h + ENTRIES_OFFSET) + i;
}

size_t stick_region_size(unsigned entries)
{
    return ENTRIES_OFFSET + (size_t)entries * sizeof(struct stick_entry);
}

/* ---- SipHash-2-4 (Aumasson and Bernstein), 64-bit output ---------------- */

static uint64_t rotl(uint64_t x, int b)
{
    return (x << b) | (x >> (64 - b));
}

static void sipround(uint64_t v[4])
{
    v[0] += v[1];
    v[1] = rotl(v[1], 13) ^ v[0];
    v[0] = rotl(v[0], 32);
    v[2] += v[3];
    v[3] = rotl(v[3], 16) ^ v[2];
    v[0] += v[3];
    v[3] = rotl(v[3], 21) ^ v[0];
    v[2] += v[1];
    v[1] = rotl(v[1], 17) ^ v[2];
    v[2] = rotl(v[2], 32);
}

static uint64_t load_le64(const uint8_t *p, size_t n)
{
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++)
        x |= (uint64_t)p[i] << (8 * i);
    return x;
}

static void sipblock(uint64_t v[4], uint64_t m)
{
    v[3] ^= m;
    sipround(v);
    sipround(v);
    v[0] ^= m;
}

static uint64_t siphash(const uint64_t k[2], const uint8_t *in, size_t len)
{
    uint64_t v[4] = { k[0] ^ 0x736f6d6570736575ULL, k[1] ^ 0x646f72616e646f6dULL,
                      k[0] ^ 0x6c7967656e657261ULL, k[1] ^ 0x7465646279746573ULL };
    size_t whole = len & ~(size_t)7;
    for (size_t i = 0; i < whole; i += 8)
        sipblock(v, load_le64(in + i, 8));
    sipblock(v, ((uint64_t)len << 56) | load_le64(in + whole, len - whole));
    v[2] ^= 0xff;
    for (int i = 0; i < 4; i++)
        sipround(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- the lock ----------------------------------------------------------- */

int stick_init(void *region, unsigned entries, uint32_t expire_ms)
{
    struct stick_head *h = region;
    memset(region, 0, stick_region_size(entries));
    h->entries = entries;
    h->nbuckets = (entries + BUCKET - 1) / BUCKET;
    h->expire_ms = expire_ms;
    arc4random_buf(h->hash_key, sizeof(h->hash_key));

    pthread_mutexattr_t attr;
    int rc = pthread_mutexattr_init(&attr);
    if (rc == 0) {
        rc = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        if (rc == 0)
            rc = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        if (rc == 0)
            rc = pthread_mutex_init(&h->lock, &attr);
        pthread_mutexattr_destroy(&attr);
    }
    if (rc != 0) {
        errno = rc;
        return -1;
    }
    return 0;
}

void stick_destroy(void *region)
{
    struct stick_head *h = region;
    pthread_mutex_destroy(&h->lock);
}

int stick_lock(void *region)
{
    struct stick_head *h = region;
    int rc = pthread_mutex_lock(&h->lock);
    if (rc == EOWNERDEAD) {
        /* Its owner died inside an operation: the only entry it may have
         * left half written is the one it was writing. */
        if (h->writing)
            slot(h, h->writing - 1)->live = 0;
        h->writing = 0;
        rc = pthread_mutex_consistent(&h->lock);
    }
    return rc == 0 ? 0 : -1;
}

void stick_unlock(void *region)
{
    struct stick_head *h = region;
    pthread_mutex_unlock(&h->lock);
}

/* ---- entries ------------------------------------------------------------ */

/* Age of an entry. Another process may have read the clock after us and
 * stored first: a time in our future counts as now. */
static int expired(const struct stick_head *h, const struct stick_entry *e, uint64_t now_ms)
{
    return h->expire_ms && now_ms > e->used_ms && now_ms - e->used_ms >= h->expire_ms;
}

static int usable(const struct stick_head *h, const struct stick_entry *e, uint64_t now_ms)
{
    return e->live && !expired(h, e, now_ms);
}

/* A key's buckets, as slot ranges [first, end): two, or one when both
 * hashes fall on the same bucket. Returns how many. */
static int buckets(struct stick_head *h, const uint8_t *key, uint32_t first[2], uint32_t end[2])
{
    uint64_t hash = siphash(h->hash_key, key, STICK_KEY_LEN);
    uint32_t b[2] = { (uint32_t)hash % h->nbuckets, (uint32_t)(hash >> 32) % h->nbuckets };
    int n = b[0] == b[1] ? 1 : 2;
    for (int i = 0; i < n; i++) {
        first[i] = b[i] * BUCKET;
        end[i] = first[i] + BUCKET < h->entries ? first[i] + BUCKET : h->entries;
    }
    return n;
}

/* The slot holding key (live, expired or not), or NULL. */
static struct stick_entry *find(struct stick_head *h, const uint8_t *key, int n,
                                const uint32_t first[2], const uint32_t end[2])
{
    for (int b = 0; b < n; b++) {
        for (uint32_t i = first[b]; i < end[b]; i++) {
            struct stick_entry *e = slot(h, i);
            if (e->live && memcmp(e->key, key, STICK_KEY_LEN) == 0)
                return e;
        }
    }
    return NULL;
}

/* Where a new key goes: a free or expired slot of the emptier bucket, else
 * the least recently used slot of both. */
static uint32_t place(struct stick_head *h, int n, const uint32_t first[2], const uint32_t end[2],
                      uint64_t now_ms)
{
    uint32_t best_free = 0, oldest = first[0];
    unsigned most_free = 0;
    for (int b = 0; b < n; b++) {
        unsigned nfree = 0;
        uint32_t first_free = 0;
        for (uint32_t i = first[b]; i < end[b]; i++) {
            struct stick_entry *e = slot(h, i);
            if (!usable(h, e, now_ms)) {
                if (nfree++ == 0)
                    first_free = i;
            } else if (e->used_ms < slot(h, oldest)->used_ms) {
                oldest = i; /* only used when no slot is free: all are live then */
            }
        }
        if (nfree > most_free) {
            most_free = nfree;
            best_free = first_free;
        }
    }
    return most_free ? best_free : oldest;
}

int stick_lookup(void *region, const uint8_t key[STICK_KEY_LEN], uint64_t now_ms,
                 uint32_t *server)
{
    struct stick_head *h = region;
    uint32_t first[2], end[2];
    int n = buckets(h, key, first, end);
    if (stick_lock(region) != 0)
        return 0;
    struct stick_entry *e = find(h, key, n, first, end);
    int found = e && !expired(h, e, now_ms);
    if (found) {
        *server = e->server;
        if (now_ms > e->used_ms)
            e->used_ms = now_ms;
    }
    stick_unlock(region);
    return found;
}

int stick_store(void *region, const uint8_t key[STICK_KEY_LEN], uint32_t server, uint64_t now_ms)
{
    struct stick_head *h = region;
    uint32_t first[2], end[2];
    int n = buckets(h, key, first, end);
    if (stick_lock(region) != 0)
        return -1;
    struct stick_entry *e = find(h, key, n, first, end);
    uint32_t i = e ? (uint32_t)(e - slot(h, 0)) : place(h, n, first, end, now_ms);
    e = slot(h, i);
    /* Mark the slot, so that if this process dies in the middle the next
     * owner of the lock clears it (see stick_lock). The compiler must not
     * move the entry's stores outside the marks. */
    h->writing = i + 1;
    atomic_signal_fence(memory_order_seq_cst);
    memcpy(e->key, key, STICK_KEY_LEN);
    e->server = server;
    e->used_ms = e->live && e->used_ms > now_ms ? e->used_ms : now_ms;
    e->live = 1;
    atomic_signal_fence(memory_order_seq_cst);
    h->writing = 0;
    stick_unlock(region);
    return 0;
}

unsigned stick_count(void *region, uint64_t now_ms)
{
    struct stick_head *h = region;
    unsigned n = 0;
    if (stick_lock(region) != 0)
        return 0;
    for (uint32_t i = 0; i < h->entries; i++)
        n += usable(h, slot(h, i), now_ms);
    stick_unlock(region);
    return n;
}
