/* balance.c — see balance.h. */
#include "balance.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RING_POINTS_PER_WEIGHT 100

int balance_server_usable(const struct server *s)
{
    return s->up && s->admin == SRV_ADMIN_READY && s->weight > 0 && (s->maxconn == 0 || s->cur_conns < s->maxconn);
}

int balance_server_persist_ok(const struct server *s)
{
    return s->up && s->admin != SRV_ADMIN_MAINT;
}

/* Lower load per weight: a->cur/a->w < b->cur/b->w, without division. */
static int less_loaded(const struct server *a, const struct server *b)
{
    return (unsigned long long)a->cur_conns * b->weight < (unsigned long long)b->cur_conns * a->weight;
}

/* The candidates of this pick: active servers, or backups when no active
 * server is up. Fills set[] and returns how many; *full as in balance_pick. */
static size_t candidates(struct proxy *be, const struct server *avoid, struct server **set,
                         int *full)
{
    size_t n = 0;
    int any_up = 0;
    for (int backup = 0; backup <= 1 && !any_up; backup++) {
        for (size_t i = 0; i < be->nservers; i++) {
            struct server *s = be->servers[i];
            if (s->backup != backup || !s->up || s->admin != SRV_ADMIN_READY || s->weight == 0)
                continue;
            any_up = 1;
            if (!s->maxconn || s->cur_conns < s->maxconn)
                set[n++] = s;
            if (backup && !be->allbackups)
                break; /* the first UP backup only (waited for when full), as HAProxy */
        }
    }
    *full = any_up && n == 0;
    /* Leave out the server to avoid, unless it is the only one. */
    if (avoid && n > 1) {
        for (size_t i = 0; i < n; i++) {
            if (set[i] == avoid) {
                set[i] = set[--n];
                break;
            }
        }
    }
    return n;
}

static struct server *pick_roundrobin(struct server **set, size_t n)
{
    long total = 0;
    struct server *best = NULL;
    for (size_t i = 0; i < n; i++) {
        set[i]->rr_current += (long)set[i]->weight;
        total += (long)set[i]->weight;
        if (best == NULL || set[i]->rr_current > best->rr_current)
            best = set[i];
    }
    best->rr_current -= total;
    return best;
}

static struct server *pick_leastconn(struct proxy *be, struct server **set, size_t n)
{
    size_t start = be->rr_rotor++ % n;
    struct server *best = set[start];
    for (size_t k = 1; k < n; k++) {
        struct server *s = set[(start + k) % n];
        if (less_loaded(s, best))
            best = s;
    }
    return best;
}

static struct server *weighted_draw(struct server **set, size_t n)
{
    unsigned total = 0;
    for (size_t i = 0; i < n; i++)
        total += set[i]->weight;
    unsigned r = arc4random_uniform(total);
    for (size_t i = 0; i < n; i++) {
        if (r < set[i]->weight)
            return set[i];
        r -= set[i]->weight;
    }
    return set[n - 1];
}

static struct server *pick_random(struct proxy *be, struct server **set, size_t n)
{
    struct server *best = weighted_draw(set, n);
    for (unsigned d = 1; d < be->random_draws; d++) {
        struct server *s = weighted_draw(set, n);
        if (less_loaded(s, best))
            best = s;
    }
    return best;
}

int balance_url_param(const char *target, size_t len, const char *name, const char **value,
                      size_t *value_len)
{
    const char *q = memchr(target, '?', len);
    if (q == NULL)
        return 0;
    size_t nlen = strlen(name);
    const char *end = target + len;
    const char *p = q + 1;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        if ((size_t)(stop - p) > nlen && memcmp(p, name, nlen) == 0 && p[nlen] == '=') {
            *value = p + nlen + 1;
            *value_len = (size_t)(stop - *value);
            return 1;
        }
        p = stop + 1;
    }
    return 0;
}

uint64_t balance_hash(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    /* MurmurHash3's finalizer: neighbouring keys land far apart. */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}

static int point_order(const void *a, const void *b)
{
    const struct ring_point *x = a, *y = b;
    return x->hash < y->hash ? -1 : x->hash > y->hash;
}

int balance_ring_build(struct proxy *be)
{
    size_t n = 0;
    for (size_t i = 0; i < be->nservers; i++)
        n += (size_t)be->servers[i]->weight * RING_POINTS_PER_WEIGHT;
    struct ring_point *ring = n ? malloc(n * sizeof(*ring)) : NULL;
    if (n && ring == NULL)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < be->nservers; i++) {
        struct server *s = be->servers[i];
        for (unsigned j = 0; j < s->weight * RING_POINTS_PER_WEIGHT; j++) {
            /* From the name, not the position: other servers' points stay
             * where they are when one is added or removed. */
            char id[300];
            int len = snprintf(id, sizeof(id), "%s#%u", s->name, j);
            ring[k].hash = balance_hash(id, (size_t)len);
            ring[k].srv = s;
            k++;
        }
    }
    if (n > 0) /* qsort's array may not be NULL, even when empty */
        qsort(ring, n, sizeof(*ring), point_order);
    free(be->ring);
    be->ring = ring;
    be->ring_size = n;
    return 0;
}

/* Bounded loads: may s take one more stream without going over its
 * weighted share of factor% of the average? */
static int under_bound(const struct proxy *be, const struct server *s, unsigned long long load,
                       unsigned long long weight)
{
    if (be->hash_balance_factor == 0 || weight == 0)
        return 1;
    unsigned long long cap = ((load + 1) * be->hash_balance_factor * s->weight + 100 * weight - 1) /
                             (100 * weight);
    return s->cur_conns + 1 <= cap;
}

static struct server *pick_consistent(struct proxy *be, struct server **set, size_t n,
                                      uint64_t hash)
{
    unsigned long long load = 0, weight = 0;
    for (size_t i = 0; i < n; i++) {
        load += set[i]->cur_conns;
        weight += set[i]->weight;
    }
    /* The first point at or after the hash, then on around the ring. */
    size_t lo = 0, hi = be->ring_size;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (be->ring[mid].hash < hash)
            lo = mid + 1;
        else
            hi = mid;
    }
    struct server *first_usable = NULL;
    for (size_t k = 0; k < be->ring_size; k++) {
        struct server *s = be->ring[(lo + k) % be->ring_size].srv;
        int candidate = 0;
        for (size_t i = 0; i < n && !candidate; i++)
            candidate = set[i] == s;
        if (!candidate)
            continue;
        if (first_usable == NULL)
            first_usable = s;
        if (under_bound(be, s, load, weight))
            return s;
    }
    return first_usable;
}

static struct server *pick_map(struct server **set, size_t n, uint64_t hash)
{
    unsigned long long total = 0;
    for (size_t i = 0; i < n; i++)
        total += set[i]->weight;
    unsigned long long r = hash % total;
    for (size_t i = 0; i < n; i++) {
        if (r < set[i]->weight)
            return set[i];
        r -= set[i]->weight;
    }
    return set[n - 1];
}

struct server *balance_pick(struct proxy *be, const struct server *avoid, const uint64_t *hash,
                            int *full)
{
    struct server *stack[64];
    struct server **set = be->nservers <= 64 ? stack : malloc(be->nservers * sizeof(*set));
    *full = 0;
    if (set == NULL)
        return NULL;
    size_t n = candidates(be, avoid, set, full);
    struct server *chosen = NULL;
    if (n > 0) {
        switch (be->balance) {
        case BALANCE_ROUNDROBIN: chosen = pick_roundrobin(set, n); break;
        case BALANCE_LEASTCONN: chosen = pick_leastconn(be, set, n); break;
        case BALANCE_RANDOM: chosen = pick_random(be, set, n); break;
        case BALANCE_SOURCE:
        case BALANCE_URI:
        case BALANCE_URL_PARAM:
        case BALANCE_HDR:
            if (hash == NULL)
                chosen = pick_roundrobin(set, n);
            else if (be->hash_type == HASH_CONSISTENT && be->ring_size > 0)
                chosen = pick_consistent(be, set, n, *hash);
            else
                chosen = pick_map(set, n, *hash);
            break;
        }
    }
    if (set != stack)
        free(set);
    return chosen;
}
