/* slab.h — many objects of one size, carved from pages of their own.
 *
 * A long-lived object (a connection's state) allocated by malloc between
 * short-lived ones (its handshake buffers) pins the heap pages around it:
 * once the short-lived ones are freed, the holes they leave stay resident.
 * Objects from a slab live in mmap'd chunks apart from the heap, so the heap
 * is left with the short-lived memory alone, which goes back to the system
 * when it is freed. A freed object is kept for the next one; chunks are
 * unmapped by slab_destroy(). Under AddressSanitizer every object is a
 * malloc of its own, so that use after free and leaks are still caught. */
#ifndef WSCALE_SLAB_H
#define WSCALE_SLAB_H

#include <stddef.h>

struct slab {
    size_t size;         /* bytes per object, rounded up for alignment */
    size_t per_chunk;
    void *free;          /* freed objects, each holding the next */
    void *chunks;        /* mapped chunks, linked through their first bytes */
    unsigned char *fresh; /* the newest chunk's objects never handed out */
    size_t fresh_left;
    size_t in_use;
};

/* size: of one object; chunk_bytes: the mapping size (rounded to pages). */
void slab_init(struct slab *slab, size_t size, size_t chunk_bytes);

/* A zeroed object, or NULL (out of memory). */
void *slab_alloc(struct slab *slab);

/* Gives an object back; NULL is accepted. */
void slab_free(struct slab *slab, void *p);

/* Unmaps every chunk. Free every object first: under AddressSanitizer,
 * where objects come from malloc, one still in use is a leak. */
void slab_destroy(struct slab *slab);

#endif
