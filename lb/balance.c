/* balance.c — see balance.h. */
#include "balance.h"

#include <stdlib.h>

int balance_server_usable(const struct server *s)
{
    return s->up && !s->disabled && s->weight > 0 && (s->maxconn == 0 || s->cur_conns < s->maxconn);
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
            if (s->backup != backup || !s->up || s->disabled || s->weight == 0)
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

struct server *balance_pick(struct proxy *be, const struct server *avoid, int *full)
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
        }
    }
    if (set != stack)
        free(set);
    return chosen;
}
