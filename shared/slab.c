/* slab.c — see slab.h. */
#include "slab.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define SLAB_ALIGN 8 /* pointers and 64-bit integers; no object here needs more */

/* The head of a chunk: the link to the next, then the objects. */
struct chunk {
    struct chunk *next;
    size_t bytes;
    _Alignas(SLAB_ALIGN) unsigned char objects[];
};

void slab_init(struct slab *slab, size_t size, size_t chunk_bytes)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    memset(slab, 0, sizeof(*slab));
    size_t least = size < sizeof(void *) ? sizeof(void *) : size;
    slab->size = (least + SLAB_ALIGN - 1) / SLAB_ALIGN * SLAB_ALIGN;
    chunk_bytes = (chunk_bytes + page - 1) / page * page;
    while (chunk_bytes < sizeof(struct chunk) + slab->size)
        chunk_bytes += page;
    slab->per_chunk = (chunk_bytes - sizeof(struct chunk)) / slab->size;
}

/* Under AddressSanitizer objects come from malloc, so that it sees every
 * use after free and every leak of one. */
#ifdef __SANITIZE_ADDRESS__
void *slab_alloc(struct slab *slab)
{
    void *obj = calloc(1, slab->size);
    if (obj)
        slab->in_use++;
    return obj;
}

void slab_free(struct slab *slab, void *p)
{
    if (p == NULL)
        return;
    free(p);
    slab->in_use--;
}
#else
static int slab_grow(struct slab *slab)
{
    size_t bytes = sizeof(struct chunk) + slab->per_chunk * slab->size;
    struct chunk *c = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (c == MAP_FAILED)
        return -1;
    c->bytes = bytes;
    c->next = slab->chunks;
    slab->chunks = c;
    slab->fresh = c->objects;
    slab->fresh_left = slab->per_chunk;
    return 0;
}

void *slab_alloc(struct slab *slab)
{
    void *obj = slab->free;
    if (obj) {
        slab->free = *(void **)obj;
        memset(obj, 0, slab->size);
    } else {
        /* The newest chunk's never-used objects, in order: its pages are
         * touched (and resident) only as they are needed. They are zero. */
        if (slab->fresh_left == 0 && slab_grow(slab) != 0)
            return NULL;
        obj = slab->fresh;
        slab->fresh += slab->size;
        slab->fresh_left--;
    }
    slab->in_use++;
    return obj;
}

void slab_free(struct slab *slab, void *p)
{
    if (p == NULL)
        return;
    *(void **)p = slab->free;
    slab->free = p;
    slab->in_use--;
}
#endif

void slab_destroy(struct slab *slab)
{
    for (struct chunk *c = slab->chunks, *next; c; c = next) {
        next = c->next;
        munmap(c, c->bytes);
    }
    slab->chunks = slab->free = NULL;
    slab->fresh = NULL;
    slab->fresh_left = 0;
    slab->in_use = 0;
}
