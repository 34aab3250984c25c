/* registry.h — the lb's shared memory: what every process of one lb sees.
 *
 * The master creates it once (a memfd) and every worker maps it. It holds:
 *
 *   objects   one per frontend, backend and server, found by name, so the
 *             same server keeps its entry (state and counters) across
 *             reloads. A server's state (admin state, weight, the checks'
 *             verdict and last result) is written by the master only and
 *             read by everyone under a sequence lock.
 *   blocks    one per worker process: its counters for every object, which
 *             only that worker writes. Readers sum the blocks in use; block
 *             0 keeps the totals of workers that have exited, so counters
 *             never go backwards across restarts and reloads.
 *   header    process-wide facts: generation, reloads, TLS ticket keys.
 *
 * Nothing in it is a pointer: each process maps it at its own address. */
#ifndef WSCALE_LB_REGISTRY_H
#define WSCALE_LB_REGISTRY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../shared/tls.h"
#include "stats.h"

#define REG_NAME_MAX 104     /* proxy and server names: at most 103 characters */
#define REG_MAX_BLOCKS 256   /* worker processes alive at once, old ones included */

enum reg_kind { REG_FREE, REG_FRONTEND, REG_BACKEND, REG_SERVER };

/* A server's state. The master writes it; others copy it out with
 * reg_server_read(). */
struct reg_server {
    uint8_t admin;            /* enum srv_admin */
    uint8_t check_up;         /* the checks' verdict; 1 without checks */
    uint8_t has_check;
    uint8_t pad;
    uint32_t weight;          /* effective */
    uint32_t kill_epoch;      /* "shutdown sessions": each bump closes the server's streams */
    uint32_t health;          /* consecutive check results against the verdict */
    int64_t last_change_ms;   /* wall clock */
    uint64_t downtime_ms;     /* DOWN periods that ended */
    uint64_t chkfail, chkdown;
    int32_t check_code, check_duration_ms;
    char check_status[8];     /* "L4OK", ...; "INI" before the first check */
    char check_desc[96];
    /* The configuration the state above started from: a reload keeps
     * runtime changes only for settings the new file does not change. */
    uint32_t cfg_weight;
    uint8_t cfg_admin;
};

struct reg_object {
    uint32_t kind;            /* enum reg_kind */
    uint32_t generation;      /* the newest configuration that has it */
    char proxy[REG_NAME_MAX];
    char server[REG_NAME_MAX];
    uint32_t seq;             /* odd while the master writes srv */
    struct reg_server srv;
};

struct reg_block {
    int32_t pid;              /* 0: free */
    uint32_t generation;
    uint32_t slot;
    uint32_t pad;
    /* then stats_counters[max_objects] */
};

struct reg_header {
    uint32_t magic;
    uint32_t max_objects;
    int64_t start_ms;         /* wall clock at the master's start */
    int32_t master_pid;
    uint32_t generation;      /* of the current configuration */
    uint32_t reloads;
    uint32_t workers;         /* of the current configuration */
    uint32_t old_workers;     /* of older ones, draining */
    uint32_t stopping;
    uint32_t keys_seq;        /* odd while the master writes the keys */
    struct tls_ticket_key ticket_keys[2]; /* shared, so any worker resumes any session */
};

struct registry {
    void *base;
    size_t size;
    int fd;                   /* the memfd */
    struct reg_header *head;
    uint32_t max_objects;
};

/* The master: creates a registry with room for max_objects. Returns 0 or
 * -1 with errno. */
int registry_create(struct registry *r, uint32_t max_objects);

/* A worker: maps the registry the master created (fd inherited). */
int registry_attach(struct registry *r, int fd);

void registry_detach(struct registry *r);

struct reg_object *registry_object(const struct registry *r, uint32_t id);

/* The object for kind/proxy/server (server "" for proxies): the existing
 * one, else (master only, with create set) a new one. Returns its id (from
 * 1), or 0 if absent or the registry is full. */
uint32_t registry_find(struct registry *r, enum reg_kind kind, const char *proxy,
                       const char *server, int create);

/* Gives an object's entry back (an object no configuration has any more). */
void registry_release(struct registry *r, uint32_t id);

/* Server state: copied out consistently, written by the master. */
void reg_server_read(const struct reg_object *o, struct reg_server *out);
void reg_server_write(struct reg_object *o, const struct reg_server *in);

/* Counter blocks. The master takes a free one for a new worker (0 if none
 * is free) and gives it back when the worker has exited, adding its totals
 * to block 0 and dropping its gauges. */
uint32_t registry_block_take(struct registry *r, pid_t pid, uint32_t generation, uint32_t slot);
void registry_block_set_pid(struct registry *r, uint32_t block, pid_t pid);
void registry_block_release(struct registry *r, uint32_t block);
struct reg_block *registry_block(const struct registry *r, uint32_t block);

/* The counters of object `id` in a block. */
struct stats_counters *registry_counters(const struct registry *r, uint32_t block, uint32_t id);

/* The counters of object `id` summed over every block. */
void registry_sum(const struct registry *r, uint32_t id, struct stats_counters *out);

/* TLS ticket keys: the master sets them (rotation), workers copy them. */
void registry_keys_write(struct registry *r, const struct tls_ticket_key keys[2]);
void registry_keys_read(const struct registry *r, struct tls_ticket_key keys[2]);

/* Counter updates by the block's one writer; readers may read at any time. */
static inline void ctr_add(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + n, __ATOMIC_RELAXED);
}

static inline void ctr_sub(uint64_t *c, uint64_t n)
{
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) - n, __ATOMIC_RELAXED);
}

#endif
