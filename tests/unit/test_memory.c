/* test_memory.c — shared/slab.h (objects on pages of their own), the trim
 * of shared/pool.h (spare buffers a burst left behind), and the size of an
 * idle tunnel's struct stream (lb/stream.h) with the client address it
 * keeps in 4 bytes for IPv4, 16 more for IPv6. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../lb/stream.h"
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

/* The budget of lb/stream.h: an idle tunnel holds one struct stream, and
 * its slab rounds nothing up. */
static void test_a_tunnel_stream_fits_184_bytes_and_its_slab_adds_nothing(void)
{
    CHECK(sizeof(struct stream) <= 184);
    CHECK_EQ_INT(sizeof(struct stream6), sizeof(struct stream) + 16);
    struct slab slab;
    slab_init(&slab, sizeof(struct stream), 256 * 1024);
    CHECK_EQ_INT(slab.size, sizeof(struct stream));
    /* Left over in a chunk: its header and less than one object. */
    CHECK(256 * 1024 - slab.per_chunk * slab.size < slab.size + 64);
    slab_destroy(&slab);
}

static void test_an_ipv4_client_reads_back_as_itself_and_as_a_mapped_key(void)
{
    struct stream s;
    memset(&s, 0, sizeof(s));
    CHECK(inet_pton(AF_INET, "192.0.2.7", s.client_v4) == 1);
    char ip[INET6_ADDRSTRLEN];
    stream_client_ip(&s, ip, sizeof(ip));
    CHECK_EQ_STR(ip, "192.0.2.7");
    uint8_t key[16], want[16];
    CHECK(inet_pton(AF_INET6, "::ffff:192.0.2.7", want) == 1);
    stream_client_addr(&s, key);
    CHECK(memcmp(key, want, 16) == 0); /* balance source and stick tables' key, as before */
}

static void test_an_ipv6_client_reads_back_from_the_16_bytes_after_its_stream(void)
{
    struct stream6 s6;
    memset(&s6, 0, sizeof(s6));
    s6.s.flags = SF_IPV6;
    CHECK(inet_pton(AF_INET6, "2001:db8::7", s6.client_addr) == 1);
    char ip[INET6_ADDRSTRLEN];
    stream_client_ip(&s6.s, ip, sizeof(ip));
    CHECK_EQ_STR(ip, "2001:db8::7");
    uint8_t key[16];
    stream_client_addr(&s6.s, key);
    CHECK(memcmp(key, s6.client_addr, 16) == 0);
}

int main(void)
{
    RUN(test_slab_objects_are_zeroed_aligned_and_distinct);
    RUN(test_a_freed_object_comes_back_zeroed);
    RUN(test_tiny_objects_hold_the_free_link);
    RUN(test_trim_frees_only_spare_buffers_nobody_needed);
    RUN(test_a_tunnel_stream_fits_184_bytes_and_its_slab_adds_nothing);
    RUN(test_an_ipv4_client_reads_back_as_itself_and_as_a_mapped_key);
    RUN(test_an_ipv6_client_reads_back_from_the_16_bytes_after_its_stream);
    return unit_report("memory");
}
