/* registry.c — see registry.h. Layout of the region:
 *
 *   header | objects[max_objects] | blocks[REG_MAX_BLOCKS]
 *
 * where a block is its struct reg_block followed by one struct
 * stats_counters per object, rounded up to a cache line. */
#include "registry.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define REG_MAGIC 0x77735231u /* "wsR1" */
#define ALIGN64(n) (((n) + 63) & ~(size_t)63)

static size_t objects_offset(void)
{
    return ALIGN64(sizeof(struct reg_header));
}

static size_t block_size(uint32_t max_objects)
{
    return ALIGN64(sizeof(struct reg_block) + (size_t)max_objects * sizeof(struct stats_counters));
}

static size_t blocks_offset(uint32_t max_objects)
{
    return objects_offset() + ALIGN64((size_t)max_objects * sizeof(struct reg_object));
}

static size_t region_size(uint32_t max_objects)
{
    return blocks_offset(max_objects) + (size_t)REG_MAX_BLOCKS * block_size(max_objects);
}

static int map(struct registry *r, int fd, size_t size)
{
    void *base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (base == MAP_FAILED)
        return -1;
    r->base = base;
    r->size = size;
    r->fd = fd;
    r->head = base;
    return 0;
}

int registry_create(struct registry *r, uint32_t max_objects)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    int fd = memfd_create("wscale-lb-registry", MFD_CLOEXEC);
    if (fd < 0)
        return -1;
    size_t size = region_size(max_objects);
    if (ftruncate(fd, (off_t)size) != 0 || map(r, fd, size) != 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    r->max_objects = max_objects;
    r->head->magic = REG_MAGIC;
    r->head->max_objects = max_objects;
    r->head->master_pid = (int32_t)getpid();
    return 0;
}

int registry_attach(struct registry *r, int fd)
{
    memset(r, 0, sizeof(*r));
    r->fd = -1;
    struct reg_header head;
    if (pread(fd, &head, sizeof(head), 0) != (ssize_t)sizeof(head) || head.magic != REG_MAGIC) {
        errno = EINVAL;
        return -1;
    }
    if (map(r, fd, region_size(head.max_objects)) != 0)
        return -1;
    r->max_objects = head.max_objects;
    return 0;
}

void registry_detach(struct registry *r)
{
    if (r->base)
        munmap(r->base, r->size);
    if (r->fd >= 0)
        close(r->fd);
    memset(r, 0, sizeof(*r));
    r->fd = -1;
}

struct reg_object *registry_object(const struct registry *r, uint32_t id)
{
    if (id == 0 || id > r->max_objects)
        return NULL;
    struct reg_object *objects = (struct reg_object *)(void *)((char *)r->base + objects_offset());
    return &objects[id - 1];
}

uint32_t registry_find(struct registry *r, enum reg_kind kind, const char *proxy,
                       const char *server, int create)
{
    if (strlen(proxy) >= REG_NAME_MAX || strlen(server) >= REG_NAME_MAX)
        return 0;
    uint32_t free_id = 0;
    for (uint32_t id = 1; id <= r->max_objects; id++) {
        struct reg_object *o = registry_object(r, id);
        uint32_t k = __atomic_load_n(&o->kind, __ATOMIC_ACQUIRE);
        if (k == REG_FREE) {
            if (free_id == 0)
                free_id = id;
            continue;
        }
        if (k == (uint32_t)kind && strcmp(o->proxy, proxy) == 0 && strcmp(o->server, server) == 0)
            return id;
    }
    if (!create || free_id == 0)
        return 0;
    struct reg_object *o = registry_object(r, free_id);
    memset(o, 0, sizeof(*o));
    strcpy(o->proxy, proxy);
    strcpy(o->server, server);
    /* A reused entry's counters start from zero. Blocks not in use are
     * cleared when taken (and never touched before: the region stays sparse). */
    for (uint32_t b = 0; b < REG_MAX_BLOCKS; b++)
        if (b == 0 || __atomic_load_n(&registry_block(r, b)->pid, __ATOMIC_ACQUIRE) != 0)
            memset(registry_counters(r, b, free_id), 0, sizeof(struct stats_counters));
    __atomic_store_n(&o->kind, (uint32_t)kind, __ATOMIC_RELEASE);
    return free_id;
}

void registry_release(struct registry *r, uint32_t id)
{
    struct reg_object *o = registry_object(r, id);
    if (o)
        __atomic_store_n(&o->kind, (uint32_t)REG_FREE, __ATOMIC_RELEASE);
}

void reg_server_read(const struct reg_object *o, struct reg_server *out)
{
    for (;;) {
        uint32_t before = __atomic_load_n(&o->seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        memcpy(out, &o->srv, sizeof(*out));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&o->seq, __ATOMIC_RELAXED) == before)
            return;
    }
}

void reg_server_write(struct reg_object *o, const struct reg_server *in)
{
    __atomic_store_n(&o->seq, o->seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(&o->srv, in, sizeof(*in));
    o->srv.check_status[sizeof(o->srv.check_status) - 1] = '\0';
    o->srv.check_desc[sizeof(o->srv.check_desc) - 1] = '\0';
    __atomic_store_n(&o->seq, o->seq + 1, __ATOMIC_RELEASE);
}

struct reg_block *registry_block(const struct registry *r, uint32_t block)
{
    return (struct reg_block *)(void *)((char *)r->base + blocks_offset(r->max_objects) +
                                        (size_t)block * block_size(r->max_objects));
}

struct stats_counters *registry_counters(const struct registry *r, uint32_t block, uint32_t id)
{
    struct stats_counters *c = (struct stats_counters *)(void *)(registry_block(r, block) + 1);
    return &c[id - 1];
}

uint32_t registry_block_take(struct registry *r, pid_t pid, uint32_t generation, uint32_t slot)
{
    for (uint32_t b = 1; b < REG_MAX_BLOCKS; b++) {
        struct reg_block *blk = registry_block(r, b);
        if (__atomic_load_n(&blk->pid, __ATOMIC_ACQUIRE) != 0)
            continue;
        memset(blk + 1, 0, (size_t)r->max_objects * sizeof(struct stats_counters));
        blk->generation = generation;
        blk->slot = slot;
        __atomic_store_n(&blk->pid, (int32_t)pid, __ATOMIC_RELEASE);
        return b;
    }
    return 0;
}

void registry_block_set_pid(struct registry *r, uint32_t block, pid_t pid)
{
    __atomic_store_n(&registry_block(r, block)->pid, (int32_t)pid, __ATOMIC_RELEASE);
}

/* The counters that only grow: all but the gauges. */
static void add_totals(struct stats_counters *dst, const struct stats_counters *src)
{
    uint64_t cur = dst->cur, tunnels_cur = dst->tunnels_cur, qcur = dst->qcur;
    uint64_t *d = (uint64_t *)(void *)dst;
    const uint64_t *s = (const uint64_t *)(const void *)src;
    for (size_t i = 0; i < sizeof(*dst) / sizeof(uint64_t); i++)
        d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    dst->cur = cur;
    dst->tunnels_cur = tunnels_cur;
    dst->qcur = qcur;
}

void registry_block_release(struct registry *r, uint32_t block)
{
    if (block == 0 || block >= REG_MAX_BLOCKS)
        return;
    for (uint32_t id = 1; id <= r->max_objects; id++)
        add_totals(registry_counters(r, 0, id), registry_counters(r, block, id));
    __atomic_store_n(&registry_block(r, block)->pid, 0, __ATOMIC_RELEASE);
}

void registry_sum(const struct registry *r, uint32_t id, struct stats_counters *out)
{
    memset(out, 0, sizeof(*out));
    uint64_t *d = (uint64_t *)(void *)out;
    for (uint32_t b = 0; b < REG_MAX_BLOCKS; b++) {
        if (b > 0 && __atomic_load_n(&registry_block(r, b)->pid, __ATOMIC_ACQUIRE) == 0)
            continue;
        const uint64_t *s = (const uint64_t *)(const void *)registry_counters(r, b, id);
        for (size_t i = 0; i < sizeof(*out) / sizeof(uint64_t); i++)
            d[i] += __atomic_load_n(&s[i], __ATOMIC_RELAXED);
    }
}

void registry_keys_write(struct registry *r, const struct tls_ticket_key keys[2])
{
    struct reg_header *h = r->head;
    __atomic_store_n(&h->keys_seq, h->keys_seq + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    memcpy(h->ticket_keys, keys, sizeof(h->ticket_keys));
    __atomic_store_n(&h->keys_seq, h->keys_seq + 1, __ATOMIC_RELEASE);
}

void registry_keys_read(const struct registry *r, struct tls_ticket_key keys[2])
{
    const struct reg_header *h = r->head;
    for (;;) {
        uint32_t before = __atomic_load_n(&h->keys_seq, __ATOMIC_ACQUIRE);
        if (before & 1)
            continue;
        memcpy(keys, h->ticket_keys, sizeof(h->ticket_keys));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&h->keys_seq, __ATOMIC_RELAXED) == before)
            return;
    }
}
