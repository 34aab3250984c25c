/* test_memory.c — shared/slab.h (objects on pages of their own) and the
 * trim of shared/pool.h (spare buffers a burst left behind). */
#include <stdint.h>
#include <stdlib.h>

#include "../../shared/pool.h"
#include "../../shared/slab.h"
#include "unit.h"

struct thing {
    uint64_t a, b, c;
    char name[20];
};

static int all_zero(const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return 0;
    return 1;
}

static void test_slab_objects_are_zeroed_aligned_and_distinct(void)
{
    struct slab slab;
    slab_init(&slab, sizeof(struct thing), 4096);
    CHECK(slab.size >= sizeof(struct thing) && slab.size % 8 == 0);
    enum { N = 1000 }; /* many chunks of 4 KiB */
    struct thing *t[N];
    for (int i = 0; i < N; i++) {
        t[i] = slab_alloc(&slab);
        CHECK(t[i] != NULL);
        CHECK((uintptr_t)t[i] % 8 == 0);
        CHECK(all_zero(t[i], sizeof(*t[i])));
        memset(t[i], 0xA5, sizeof(*t[i]));
        t[i]->a = (uint64_t)i;
    }
    for (int i = 0; i < N; i++)
        CHECK_EQ_INT(t[i]->a, i); /* no two overlap */
    CHECK_EQ_INT(slab.in_use, N);
    for (int i = 0; i < N; i++)
        slab_free(&slab, t[i]);
    CHECK_EQ_INT(slab.in_use, 0);
    slab_destroy(&slab);
}

static void test_a_freed_object_comes_back_zeroed(void)
{
    struct slab slab;
    slab_init(&slab, sizeof(struct thing), 65536);
    struct thing *a = slab_alloc(&slab), *b = slab_alloc(&slab);
    memset(a, 0xFF, sizeof(*a));
    slab_free(&slab, a);
    slab_free(&slab, NULL);
    CHECK_EQ_INT(slab.in_use, 1);
    struct thing *c = slab_alloc(&slab);
    CHECK(c != NULL && c != b);
    CHECK(all_zero(c, sizeof(*c)));
    slab_free(&slab, b);
    slab_free(&slab, c);
    CHECK_EQ_INT(slab.in_use, 0);
    slab_destroy(&slab);
}

static void test_tiny_objects_hold_the_free_link(void)
{
    struct slab slab;
    slab_init(&slab, 1, 4096);
    CHECK(slab.size >= sizeof(void *));
    void *a = slab_alloc(&slab), *b = slab_alloc(&slab);
    CHECK(a != NULL && b != NULL && a != b);
    slab_free(&slab, a);
    slab_free(&slab, b);
    slab_destroy(&slab);
}

static void test_trim_frees_only_spare_buffers_nobody_needed(void)
{
    struct pbuf_pool pool;
    pbuf_pool_init(&pool, 1024, 100);
    struct pbuf *b[50];
    for (int i = 0; i < 50; i++)
        b[i] = pbuf_get(&pool);
    for (int i = 0; i < 50; i++)
        pbuf_put(&pool, b[i]);
    CHECK_EQ_INT(pool.nfree, 50);
    /* The burst used them all in this period: nothing is freed yet. */
    CHECK_EQ_INT(pbuf_pool_trim(&pool, 8), 0);
    CHECK_EQ_INT(pool.nfree, 50);
    /* Then a quiet period using 10 at most: 40 sat unused, 8 stay spare. */
    for (int i = 0; i < 10; i++)
        b[i] = pbuf_get(&pool);
    for (int i = 0; i < 10; i++)
        pbuf_put(&pool, b[i]);
    CHECK_EQ_INT(pbuf_pool_trim(&pool, 8), 32);
    CHECK_EQ_INT(pool.nfree, 18);
    /* Quiet again, nothing used: down to the floor, and no further. */
    CHECK_EQ_INT(pbuf_pool_trim(&pool, 8), 10);
    CHECK_EQ_INT(pool.nfree, 8);
    CHECK_EQ_INT(pbuf_pool_trim(&pool, 8), 0);
    struct pbuf *x = pbuf_get(&pool);
    CHECK(x != NULL && pbuf_len(x) == 0);
    pbuf_put(&pool, x);
    CHECK_EQ_INT(pool.in_use, 0);
    pbuf_pool_free(&pool);
}

int main(void)
{
    RUN(test_slab_objects_are_zeroed_aligned_and_distinct);
    RUN(test_a_freed_object_comes_back_zeroed);
    RUN(test_tiny_objects_hold_the_free_link);
    RUN(test_trim_frees_only_spare_buffers_nobody_needed);
    return unit_report("memory");
}
