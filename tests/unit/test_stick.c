/* test_stick.c — lb/stick.h: the stick table over a shared memory region:
 * lookups and stores, expiry and refresh, the size bound (least recently used
 * entries go first), IPv4 and IPv6 keys, several processes on one table, and
 * a process killed while holding the lock. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lb/stick.h"
#include "unit.h"

/* A fresh table in a shared anonymous mapping, as the lb makes them. */
static void *table_new(unsigned entries, uint32_t expire_ms)
{
    void *region = mmap(NULL, stick_region_size(entries), PROT_READ | PROT_WRITE,
                        MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (region == MAP_FAILED)
        return NULL;
    if (stick_init(region, entries, expire_ms) != 0) {
        munmap(region, stick_region_size(entries));
        return NULL;
    }
    return region;
}

static void table_free(void *region, unsigned entries)
{
    stick_destroy(region);
    munmap(region, stick_region_size(entries));
}

/* 10.0.x.y as the lb keeps it: IPv4-mapped IPv6. */
static void key_v4(uint8_t key[16], unsigned n)
{
    memset(key, 0, 16);
    key[10] = key[11] = 0xff;
    key[12] = 10;
    key[14] = (uint8_t)(n >> 8);
    key[15] = (uint8_t)n;
    key[13] = (uint8_t)(n >> 16);
}

/* 2001:db8::n */
static void key_v6(uint8_t key[16], unsigned n)
{
    memset(key, 0, 16);
    key[0] = 0x20;
    key[1] = 0x01;
    key[2] = 0x0d;
    key[3] = 0xb8;
    key[12] = (uint8_t)(n >> 24);
    key[13] = (uint8_t)(n >> 16);
    key[14] = (uint8_t)(n >> 8);
    key[15] = (uint8_t)n;
}

/* The server stuck to key n, or -1 when absent. */
static long lookup_v4(void *t, unsigned n, uint64_t now)
{
    uint8_t key[16];
    uint32_t server;
    key_v4(key, n);
    return stick_lookup(t, key, now, &server) ? (long)server : -1;
}

static void store_v4(void *t, unsigned n, uint32_t server, uint64_t now)
{
    uint8_t key[16];
    key_v4(key, n);
    CHECK_EQ_INT(stick_store(t, key, server, now), 0);
}

static void test_a_stored_key_is_found_with_its_server(void)
{
    void *t = table_new(64, 0);
    CHECK(t != NULL);
    store_v4(t, 1, 3, 1000);
    store_v4(t, 2, 4, 1000);
    CHECK_EQ_INT(lookup_v4(t, 1, 1001), 3);
    CHECK_EQ_INT(lookup_v4(t, 2, 1001), 4);
    CHECK_EQ_INT(lookup_v4(t, 7, 1001), -1);
    CHECK_EQ_INT(stick_count(t, 1001), 2);
    table_free(t, 64);
}

static void test_storing_again_replaces_the_server_without_a_second_entry(void)
{
    void *t = table_new(64, 0);
    store_v4(t, 1, 3, 1000);
    store_v4(t, 1, 9, 2000);
    CHECK_EQ_INT(lookup_v4(t, 1, 2001), 9);
    CHECK_EQ_INT(stick_count(t, 2001), 1);
    table_free(t, 64);
}

static void test_server_keys_are_opaque_32_bit_values(void)
{
    void *t = table_new(64, 0);
    store_v4(t, 1, 0, 5);
    store_v4(t, 2, UINT32_MAX, 5);
    CHECK_EQ_INT(lookup_v4(t, 1, 6), 0);
    CHECK_EQ_INT(lookup_v4(t, 2, 6), UINT32_MAX);
    table_free(t, 64);
}

static void test_an_entry_expires_expire_ms_after_it_was_stored(void)
{
    void *t = table_new(64, 1000);
    store_v4(t, 1, 3, 10000);
    CHECK_EQ_INT(stick_count(t, 10999), 1);
    CHECK_EQ_INT(stick_count(t, 11000), 0);
    CHECK_EQ_INT(lookup_v4(t, 1, 11000), -1);
    table_free(t, 64);
}

static void test_a_match_refreshes_the_entry(void)
{
    void *t = table_new(64, 1000);
    store_v4(t, 1, 3, 10000);
    CHECK_EQ_INT(lookup_v4(t, 1, 10800), 3); /* expiry starts again at 10800 */
    CHECK_EQ_INT(lookup_v4(t, 1, 11700), 3);
    CHECK_EQ_INT(lookup_v4(t, 1, 12699), 3);
    CHECK_EQ_INT(lookup_v4(t, 1, 13699), -1);
    table_free(t, 64);
}

static void test_a_store_refreshes_the_entry(void)
{
    void *t = table_new(64, 1000);
    store_v4(t, 1, 3, 10000);
    store_v4(t, 1, 3, 10900);
    CHECK_EQ_INT(lookup_v4(t, 1, 11500), 3);
    table_free(t, 64);
}

static void test_an_expired_key_stored_again_lives_again(void)
{
    void *t = table_new(64, 1000);
    store_v4(t, 1, 3, 10000);
    CHECK_EQ_INT(lookup_v4(t, 1, 12000), -1);
    store_v4(t, 1, 5, 12000);
    CHECK_EQ_INT(lookup_v4(t, 1, 12500), 5);
    CHECK_EQ_INT(stick_count(t, 12500), 1);
    table_free(t, 64);
}

static void test_without_expire_entries_stay(void)
{
    void *t = table_new(64, 0);
    store_v4(t, 1, 3, 10);
    CHECK_EQ_INT(lookup_v4(t, 1, 10 + 40ULL * 24 * 3600 * 1000), 3);
    table_free(t, 64);
}

/* Another process may read the clock just after us and store first. */
static void test_a_time_before_the_last_use_counts_as_now(void)
{
    void *t = table_new(64, 1000);
    store_v4(t, 1, 3, 5000);
    CHECK_EQ_INT(lookup_v4(t, 1, 4990), 3); /* neither expired nor moved back */
    CHECK_EQ_INT(lookup_v4(t, 1, 6000), -1);
    table_free(t, 64);
}

static void test_ipv4_and_ipv6_keys_are_distinct(void)
{
    void *t = table_new(64, 0);
    uint8_t v4[16], v6[16], v6b[16];
    uint32_t server = 0;
    key_v4(v4, 5);
    key_v6(v6, 5);
    key_v6(v6b, 6);
    CHECK_EQ_INT(stick_store(t, v4, 1, 1), 0);
    CHECK_EQ_INT(stick_store(t, v6, 2, 1), 0);
    CHECK_EQ_INT(stick_lookup(t, v4, 2, &server), 1);
    CHECK_EQ_INT(server, 1);
    CHECK_EQ_INT(stick_lookup(t, v6, 2, &server), 1);
    CHECK_EQ_INT(server, 2);
    CHECK_EQ_INT(stick_lookup(t, v6b, 2, &server), 0);
    /* ::ffff:10.0.0.5 and ::a00:5 differ only in the mapping prefix. */
    uint8_t compat[16] = { 0 };
    memcpy(compat + 12, v4 + 12, 4);
    CHECK_EQ_INT(stick_lookup(t, compat, 2, &server), 0);
    table_free(t, 64);
}

static void test_never_more_entries_than_size(void)
{
    const unsigned size = 100; /* not a multiple of the bucket size */
    void *t = table_new(size, 0);
    int over = 0;
    for (unsigned i = 0; i < 1000; i++) {
        store_v4(t, i, i, 1 + i);
        over |= stick_count(t, 1 + i) > size;
    }
    CHECK(!over);
    CHECK_EQ_INT(stick_count(t, 2000), size); /* and every slot serves */
    table_free(t, size);
}

static void test_a_full_table_keeps_the_recent_entries(void)
{
    const unsigned size = 1024;
    void *t = table_new(size, 0);
    for (unsigned i = 0; i < 4 * size; i++)
        store_v4(t, i, i, 1 + i);
    int recent_lost = 0;
    for (unsigned i = 4 * size - 64; i < 4 * size; i++)
        recent_lost += lookup_v4(t, i, 10 * size) != (long)i;
    CHECK_EQ_INT(recent_lost, 0);
    /* The oldest entries went first: hardly any of the first quarter stayed. */
    int old_kept = 0;
    for (unsigned i = 0; i < size; i++)
        old_kept += lookup_v4(t, i, 10 * size) >= 0;
    CHECK(old_kept < 16);
    table_free(t, size);
}

/* One bucket (8 slots): which entry makes room is exactly visible. */
static void test_when_full_expired_entries_go_first(void)
{
    void *t = table_new(8, 100);
    for (unsigned i = 0; i < 4; i++)
        store_v4(t, i, i, 1000);       /* expired at 1100 */
    for (unsigned i = 4; i < 8; i++)
        store_v4(t, i, i, 1090);       /* alive until 1190 */
    for (unsigned i = 8; i < 12; i++)
        store_v4(t, i, i, 1120);
    for (unsigned i = 4; i < 12; i++)
        CHECK_EQ_INT(lookup_v4(t, i, 1121), i);
    table_free(t, 8);
}

static void test_when_full_the_least_recently_used_goes(void)
{
    void *t = table_new(8, 0);
    for (unsigned i = 0; i < 8; i++)
        store_v4(t, i, i, 100 + i);
    CHECK_EQ_INT(lookup_v4(t, 0, 200), 0); /* 0 is now the most recent; 1 the least */
    store_v4(t, 8, 8, 201);
    CHECK_EQ_INT(lookup_v4(t, 1, 202), -1);
    CHECK_EQ_INT(lookup_v4(t, 0, 202), 0);
    CHECK_EQ_INT(lookup_v4(t, 8, 202), 8);
    CHECK_EQ_INT(stick_count(t, 202), 8);
    table_free(t, 8);
}

static void test_a_table_of_one_entry(void)
{
    void *t = table_new(1, 0);
    store_v4(t, 1, 1, 1);
    store_v4(t, 2, 2, 2);
    CHECK_EQ_INT(lookup_v4(t, 1, 3), -1);
    CHECK_EQ_INT(lookup_v4(t, 2, 3), 2);
    CHECK_EQ_INT(stick_count(t, 3), 1);
    table_free(t, 1);
}

/* The region holds no pointer: two mappings of one file, at different
 * addresses, are the same table (lock included). */
static void test_the_table_works_at_any_address(void)
{
    const unsigned size = 64;
    size_t bytes = stick_region_size(size);
    int fd = memfd_create("stick-test", 0);
    CHECK(fd >= 0 && ftruncate(fd, (off_t)bytes) == 0);
    void *a = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    void *b = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    close(fd);
    CHECK(a != MAP_FAILED && b != MAP_FAILED && a != b);
    CHECK_EQ_INT(stick_init(a, size, 0), 0);
    store_v4(a, 1, 7, 1);
    CHECK_EQ_INT(lookup_v4(b, 1, 2), 7);
    store_v4(b, 2, 8, 3);
    CHECK_EQ_INT(lookup_v4(a, 2, 4), 8);
    stick_destroy(a);
    munmap(a, bytes);
    munmap(b, bytes);
}

/* ---- several processes ---------------------------------------------------- */

#define PROCS 4

static uint32_t server_of(unsigned n)
{
    return n * 2654435761u + 1;
}

/* Runs child(t, i) in PROCS processes; true if all of them exited 0. */
static int in_processes(void *t, int (*child)(void *t, unsigned i))
{
    pid_t pids[PROCS];
    int ok = 1;
    for (unsigned i = 0; i < PROCS; i++) {
        pids[i] = fork();
        if (pids[i] == 0)
            _exit(child(t, i));
        ok &= pids[i] > 0;
    }
    for (unsigned i = 0; i < PROCS; i++) {
        int status = -1;
        ok &= pids[i] > 0 && waitpid(pids[i], &status, 0) == pids[i] && WIFEXITED(status) &&
              WEXITSTATUS(status) == 0;
    }
    return ok;
}

/* Stores and looks up 64 keys at random in a 16-entry table, so that
 * processes keep replacing each other's entries. Every key always maps to
 * server_of(key): any other answer is an entry torn by a race. */
static int hammer(void *t, unsigned i)
{
    srand(i + 1);
    for (unsigned round = 0; round < 300000; round++) {
        unsigned n = (unsigned)rand() % 64;
        uint8_t key[16];
        uint32_t server;
        key_v4(key, n);
        if (rand() & 1) {
            if (stick_store(t, key, server_of(n), 1 + round) != 0)
                return 2;
        } else if (stick_lookup(t, key, 1 + round, &server) && server != server_of(n)) {
            return 1;
        }
    }
    return 0;
}

static void test_processes_hammering_one_table_never_see_a_torn_entry(void)
{
    void *t = table_new(16, 0);
    CHECK(in_processes(t, hammer));
    unsigned live = stick_count(t, 400000);
    CHECK(live > 0 && live <= 16);
    for (unsigned n = 0; n < 64; n++) {
        long server = lookup_v4(t, n, 400000);
        CHECK(server < 0 || (uint32_t)server == server_of(n));
    }
    table_free(t, 16);
}

/* Each process stores its own 256 keys. */
static int store_own_keys(void *t, unsigned i)
{
    for (unsigned n = i * 256; n < (i + 1) * 256; n++) {
        uint8_t key[16];
        key_v4(key, n);
        if (stick_store(t, key, server_of(n), 1) != 0)
            return 1;
    }
    return 0;
}

static void test_what_one_process_stores_the_others_find(void)
{
    const unsigned size = 8192;
    void *t = table_new(size, 0);
    CHECK(in_processes(t, store_own_keys));
    int right = 0;
    for (unsigned n = 0; n < PROCS * 256; n++)
        right += lookup_v4(t, n, 2) == (long)server_of(n);
    CHECK_EQ_INT(right, PROCS * 256);
    CHECK_EQ_INT(stick_count(t, 2), PROCS * 256);
    table_free(t, size);
}

static void test_a_process_killed_holding_the_lock_does_not_wedge_the_others(void)
{
    void *t = table_new(64, 0);
    store_v4(t, 1, 3, 1);
    int pipefd[2];
    CHECK(pipe(pipefd) == 0);
    pid_t pid = fork();
    if (pid == 0) {
        close(pipefd[0]);
        if (stick_lock(t) == 0 && write(pipefd[1], "L", 1) == 1)
            pause();
        _exit(1);
    }
    close(pipefd[1]);
    char c = 0;
    CHECK(read(pipefd[0], &c, 1) == 1 && c == 'L');
    close(pipefd[0]);
    kill(pid, SIGKILL);
    int status;
    waitpid(pid, &status, 0);
    CHECK(WIFSIGNALED(status));

    alarm(10); /* a wedged lock ends this test binary, failing it */
    CHECK_EQ_INT(lookup_v4(t, 1, 2), 3);
    store_v4(t, 2, 4, 3);
    CHECK_EQ_INT(lookup_v4(t, 2, 4), 4);
    CHECK_EQ_INT(stick_count(t, 5), 2);
    alarm(0);
    table_free(t, 64);
}

int main(void)
{
    RUN(test_a_stored_key_is_found_with_its_server);
    RUN(test_storing_again_replaces_the_server_without_a_second_entry);
    RUN(test_server_keys_are_opaque_32_bit_values);
    RUN(test_an_entry_expires_expire_ms_after_it_was_stored);
    RUN(test_a_match_refreshes_the_entry);
    RUN(test_a_store_refreshes_the_entry);
    RUN(test_an_expired_key_stored_again_lives_again);
    RUN(test_without_expire_entries_stay);
    RUN(test_a_time_before_the_last_use_counts_as_now);
    RUN(test_ipv4_and_ipv6_keys_are_distinct);
    RUN(test_never_more_entries_than_size);
    RUN(test_a_full_table_keeps_the_recent_entries);
    RUN(test_when_full_expired_entries_go_first);
    RUN(test_when_full_the_least_recently_used_goes);
    RUN(test_a_table_of_one_entry);
    RUN(test_the_table_works_at_any_address);
    RUN(test_processes_hammering_one_table_never_see_a_torn_entry);
    RUN(test_what_one_process_stores_the_others_find);
    RUN(test_a_process_killed_holding_the_lock_does_not_wedge_the_others);
    return unit_report("stick");
}
