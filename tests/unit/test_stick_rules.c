/* test_stick_rules.c — lb/stick-rules.h: a backend's stick table applied to
 * requests. Which clients a table holds (type ip: IPv4 only, as HAProxy;
 * ipv6: all), which servers persistence still sends to (UP and enabled,
 * even without weight or a free slot), what match and store each do, and
 * the server <-> key pair. */
#include <string.h>
#include <sys/mman.h>

#include "../../lb/balance.h"
#include "../../lb/stick-rules.h"
#include "../../lb/stick.h"
#include "../../lb/stream.h"
#include "unit.h"

#define NSRV 4

static struct lb lb;
static struct lb_config cfg;
static struct proxy be, other;
static struct server srv[NSRV + 1]; /* [0] unused: index 0 is "no server" */
static struct server *by_index[NSRV + 1];
static struct server *be_servers[NSRV];

/* Servers 1-3 in be, 4 in other; be sticks with a table of 64 entries. */
static void setup(int ipv6, int match, int store)
{
    memset(&lb, 0, sizeof(lb));
    memset(&cfg, 0, sizeof(cfg));
    memset(&be, 0, sizeof(be));
    memset(&other, 0, sizeof(other));
    memset(srv, 0, sizeof(srv));
    for (unsigned i = 1; i <= NSRV; i++) {
        srv[i].be = i < NSRV ? &be : &other;
        srv[i].index = (uint16_t)i;
        srv[i].obj = 100 + i; /* registry objects: what the table stores */
        srv[i].up = 1;
        srv[i].weight = 1;
        by_index[i] = &srv[i];
        if (i < NSRV)
            be_servers[i - 1] = &srv[i];
    }
    be.servers = be_servers;
    be.nservers = NSRV - 1;
    cfg.nservers = NSRV;
    lb.cfg = &cfg;
    lb.servers = by_index;
    be.stick.size = 64;
    be.stick.ipv6 = (uint8_t)ipv6;
    be.stick.match = (uint8_t)match;
    be.stick.store = (uint8_t)store;
    be.stick.table = mmap(NULL, stick_region_size(64), PROT_READ | PROT_WRITE,
                          MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    CHECK(be.stick.table != MAP_FAILED && stick_init(be.stick.table, 64, 0) == 0);
}

static void teardown(void)
{
    stick_destroy(be.stick.table);
    munmap(be.stick.table, stick_region_size(64));
}

static struct stream client_v4(uint8_t last)
{
    struct stream s;
    memset(&s, 0, sizeof(s));
    s.client_v4[0] = 192;
    s.client_v4[1] = 0;
    s.client_v4[2] = 2;
    s.client_v4[3] = last;
    return s;
}

static struct stream6 client_v6(uint8_t last)
{
    struct stream6 s;
    memset(&s, 0, sizeof(s));
    s.s.flags = SF_IPV6;
    s.client_addr[0] = 0x20;
    s.client_addr[1] = 0x01;
    s.client_addr[2] = 0x0d;
    s.client_addr[3] = 0xb8;
    s.client_addr[15] = last;
    return s;
}

/* The client was served by server index `to`: the store rule runs. */
static void served(struct stream *s, uint16_t to)
{
    stream_set_server(s, by_index[to]);
    stick_store_request(s);
    stream_set_server(s, NULL);
}

static void test_a_client_goes_back_to_the_server_that_served_it(void)
{
    setup(0, 1, 1);
    struct stream a = client_v4(1), b = client_v4(2);
    CHECK(stick_match_server(&lb, &a, &be) == NULL);
    served(&a, 2);
    served(&b, 3);
    CHECK(stick_match_server(&lb, &a, &be) == &srv[2]);
    CHECK(stick_match_server(&lb, &b, &be) == &srv[3]);
    served(&a, 1); /* it went elsewhere (redispatch): it sticks there now */
    CHECK(stick_match_server(&lb, &a, &be) == &srv[1]);
    teardown();
}

static void test_a_down_or_maint_server_gets_no_persistent_client(void)
{
    setup(0, 1, 1);
    struct stream a = client_v4(1);
    served(&a, 2);
    srv[2].up = 0;
    CHECK(stick_match_server(&lb, &a, &be) == NULL);
    srv[2].up = 1;
    srv[2].admin = SRV_ADMIN_MAINT;
    CHECK(stick_match_server(&lb, &a, &be) == NULL);
    srv[2].admin = SRV_ADMIN_DRAIN; /* draining: its persistent clients stay */
    CHECK(stick_match_server(&lb, &a, &be) == &srv[2]);
    srv[2].admin = SRV_ADMIN_READY;
    CHECK(stick_match_server(&lb, &a, &be) == &srv[2]);
    teardown();
}

static void test_weight_0_and_a_full_server_still_get_their_persistent_clients(void)
{
    setup(0, 1, 1);
    struct stream a = client_v4(1);
    served(&a, 2);
    srv[2].weight = 0;
    srv[2].maxconn = 1;
    srv[2].cur_conns = 1;
    CHECK(!balance_server_usable(&srv[2]));
    CHECK(balance_server_persist_ok(&srv[2]));
    CHECK(stick_match_server(&lb, &a, &be) == &srv[2]);
    teardown();
}

static void test_a_type_ip_table_holds_ipv4_clients_only(void)
{
    setup(0, 1, 1);
    struct stream v4 = client_v4(1);
    struct stream6 v6 = client_v6(1);
    served(&v6.s, 2);
    CHECK_EQ_INT(stick_count(be.stick.table, 1), 0);
    CHECK(stick_match_server(&lb, &v6.s, &be) == NULL);
    served(&v4, 3);
    CHECK_EQ_INT(stick_count(be.stick.table, 1), 1);
    CHECK(stick_match_server(&lb, &v4, &be) == &srv[3]);
    teardown();
}

static void test_a_type_ipv6_table_holds_every_client(void)
{
    setup(1, 1, 1);
    struct stream v4 = client_v4(1);
    struct stream6 v6 = client_v6(1);
    served(&v6.s, 2);
    served(&v4, 3);
    CHECK_EQ_INT(stick_count(be.stick.table, 1), 2);
    CHECK(stick_match_server(&lb, &v6.s, &be) == &srv[2]);
    CHECK(stick_match_server(&lb, &v4, &be) == &srv[3]);
    teardown();
}

static void test_match_alone_never_stores_and_store_alone_never_matches(void)
{
    struct stream a = client_v4(1);
    setup(0, 1, 0);
    served(&a, 2);
    CHECK_EQ_INT(stick_count(be.stick.table, 1), 0);
    teardown();

    setup(0, 0, 1);
    served(&a, 2);
    CHECK_EQ_INT(stick_count(be.stick.table, 1), 1);
    CHECK(stick_match_server(&lb, &a, &be) == NULL);
    teardown();
}

static void test_server_keys_name_servers_of_this_backend_only(void)
{
    setup(0, 1, 1);
    for (unsigned i = 1; i < NSRV; i++)
        CHECK(stick_key_server(&lb, &be, stick_server_key(&srv[i])) == &srv[i]);
    CHECK(stick_key_server(&lb, &be, stick_server_key(&srv[NSRV])) == NULL); /* other's */
    CHECK(stick_key_server(&lb, &be, 0) == NULL);
    CHECK(stick_key_server(&lb, &be, NSRV + 1) == NULL);
    CHECK(stick_key_server(&lb, &be, UINT32_MAX) == NULL);
    teardown();
}

int main(void)
{
    RUN(test_a_client_goes_back_to_the_server_that_served_it);
    RUN(test_a_down_or_maint_server_gets_no_persistent_client);
    RUN(test_weight_0_and_a_full_server_still_get_their_persistent_clients);
    RUN(test_a_type_ip_table_holds_ipv4_clients_only);
    RUN(test_a_type_ipv6_table_holds_every_client);
    RUN(test_match_alone_never_stores_and_store_alone_never_matches);
    RUN(test_server_keys_name_servers_of_this_backend_only);
    return unit_report("stick-rules");
}
