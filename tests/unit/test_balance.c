/* test_balance.c — lb/balance.h: which server a new stream goes to
 * (smooth weighted round-robin, leastconn, random(N)), and which servers may
 * be chosen at all (UP, weight, maxconn, backups, the server to avoid). */
#include <stdlib.h>
#include <string.h>

#include "../../lb/balance.h"
#include "unit.h"

#define MAXS 8

static struct proxy be;
static struct server srv[MAXS];
static struct server *ptrs[MAXS];

/* A backend of n active servers, all UP with weight 1, balanced by algo. */
static void setup(enum lb_balance algo, size_t n)
{
    memset(&be, 0, sizeof(be));
    memset(srv, 0, sizeof(srv));
    for (size_t i = 0; i < n; i++) {
        srv[i].be = &be;
        srv[i].up = 1;
        srv[i].weight = 1;
        srv[i].index = (uint16_t)(i + 1);
        ptrs[i] = &srv[i];
    }
    be.servers = ptrs;
    be.nservers = n;
    be.balance = algo;
    be.random_draws = 2;
}

static struct server *pick(const struct server *avoid, int *full)
{
    *full = -1;
    return balance_pick(&be, avoid, NULL, full);
}

/* Index of the picked server in srv[], or -1 for NULL. */
static int pick_index(const struct server *avoid, int *full)
{
    struct server *s = pick(avoid, full);
    return s ? (int)(s - srv) : -1;
}

/* ---- roundrobin ---- */

static void test_roundrobin_equal_weights_cycles_through_all(void)
{
    int full, seen[4] = { 0 };
    setup(BALANCE_ROUNDROBIN, 4);
    for (int round = 0; round < 3; round++) {
        memset(seen, 0, sizeof(seen));
        for (int i = 0; i < 4; i++) {
            int k = pick_index(NULL, &full);
            CHECK(k >= 0 && k < 4);
            if (k >= 0 && k < 4)
                seen[k]++;
            CHECK_EQ_INT(full, 0);
        }
        for (int i = 0; i < 4; i++)
            CHECK_EQ_INT(seen[i], 1);
    }
}

static void test_roundrobin_respects_weights_exactly(void)
{
    int full, count[3] = { 0 };
    setup(BALANCE_ROUNDROBIN, 3);
    srv[0].weight = 5;
    for (int i = 0; i < 700; i++) {
        int k = pick_index(NULL, &full);
        CHECK(k >= 0 && k < 3);
        if (k >= 0 && k < 3)
            count[k]++;
    }
    CHECK_EQ_INT(count[0], 500);
    CHECK_EQ_INT(count[1], 100);
    CHECK_EQ_INT(count[2], 100);
}

static void test_roundrobin_is_smooth(void)
{
    /* Weights 5, 1, 1: nginx's smooth sequence is a a b a c a a, never
     * five a in a row; every window of 7 holds exactly 5 a, 1 b, 1 c. */
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    srv[0].weight = 5;
    char seq[71];
    for (int i = 0; i < 70; i++) {
        int k = pick_index(NULL, &full);
        seq[i] = k >= 0 ? (char)('a' + k) : '?';
    }
    seq[70] = '\0';
    CHECK(strncmp(seq, "aabacaa", 7) == 0);
    CHECK(strstr(seq, "aaaaa") == NULL);
    for (int start = 0; start + 7 <= 70; start++) {
        int a = 0, b = 0, c = 0;
        for (int i = start; i < start + 7; i++) {
            a += seq[i] == 'a';
            b += seq[i] == 'b';
            c += seq[i] == 'c';
        }
        if (a != 5 || b != 1 || c != 1) {
            fprintf(stderr, "  window at %d of %s is not smooth\n", start, seq);
            unit_current_failed = 1;
            break;
        }
    }
}

static void test_roundrobin_skips_down_servers(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    srv[1].up = 0;
    for (int i = 0; i < 30; i++) {
        int k = pick_index(NULL, &full);
        CHECK(k == 0 || k == 2);
    }
}

static void test_weight_zero_is_never_picked(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    srv[2].weight = 0;
    for (int i = 0; i < 30; i++)
        CHECK(pick_index(NULL, &full) != 2);
    be.balance = BALANCE_LEASTCONN;
    srv[0].cur_conns = 10;
    srv[1].cur_conns = 10;
    for (int i = 0; i < 30; i++)
        CHECK(pick_index(NULL, &full) != 2);
    be.balance = BALANCE_RANDOM;
    for (int i = 0; i < 300; i++)
        CHECK(pick_index(NULL, &full) != 2);
}

static void test_only_weight_zero_servers_means_no_server(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 2);
    srv[0].weight = 0;
    srv[1].weight = 0;
    CHECK(pick(NULL, &full) == NULL);
    CHECK_EQ_INT(full, 0);
}

static void test_server_in_maint_or_drain_is_never_picked(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    srv[0].admin = SRV_ADMIN_MAINT;
    srv[1].admin = SRV_ADMIN_DRAIN;
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 2);
    srv[2].admin = SRV_ADMIN_DRAIN;
    CHECK(pick(NULL, &full) == NULL);
    CHECK_EQ_INT(full, 0);
}

/* ---- maxconn and availability ---- */

static void test_server_at_maxconn_is_skipped(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    srv[0].maxconn = 2;
    srv[0].cur_conns = 2;
    for (int i = 0; i < 30; i++) {
        int k = pick_index(NULL, &full);
        CHECK(k == 1 || k == 2);
        CHECK_EQ_INT(full, 0);
    }
    /* Below its maxconn it is picked again. */
    srv[0].cur_conns = 1;
    int seen0 = 0;
    for (int i = 0; i < 3; i++)
        seen0 += pick_index(NULL, &full) == 0;
    CHECK_EQ_INT(seen0, 1);
}

static void test_all_servers_at_maxconn_is_full(void)
{
    int full;
    setup(BALANCE_LEASTCONN, 3);
    for (int i = 0; i < 3; i++) {
        srv[i].maxconn = 5;
        srv[i].cur_conns = 5;
    }
    srv[2].up = 0;
    srv[2].cur_conns = 0; /* DOWN: its free slots do not count */
    CHECK(pick(NULL, &full) == NULL);
    CHECK_EQ_INT(full, 1);
}

static void test_no_server_up_is_not_full(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    for (int i = 0; i < 3; i++)
        srv[i].up = 0;
    CHECK(pick(NULL, &full) == NULL);
    CHECK_EQ_INT(full, 0);
}

static void test_empty_backend_gives_no_server(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 0);
    CHECK(pick(NULL, &full) == NULL);
    CHECK_EQ_INT(full, 0);
}

static void test_server_usable(void)
{
    setup(BALANCE_ROUNDROBIN, 1);
    CHECK(balance_server_usable(&srv[0]));
    srv[0].maxconn = 1;
    CHECK(balance_server_usable(&srv[0]));
    srv[0].cur_conns = 1;
    CHECK(!balance_server_usable(&srv[0]));
    srv[0].maxconn = 0;
    CHECK(balance_server_usable(&srv[0]));
    srv[0].weight = 0;
    CHECK(!balance_server_usable(&srv[0]));
    srv[0].weight = 1;
    srv[0].up = 0;
    CHECK(!balance_server_usable(&srv[0]));
    srv[0].up = 1;
    srv[0].admin = SRV_ADMIN_MAINT;
    CHECK(!balance_server_usable(&srv[0]));
    srv[0].admin = SRV_ADMIN_DRAIN;
    CHECK(!balance_server_usable(&srv[0]));
}

static void test_persistence_ignores_weight_and_maxconn_but_not_down_or_maint(void)
{
    setup(BALANCE_ROUNDROBIN, 1);
    CHECK(balance_server_persist_ok(&srv[0]));
    srv[0].weight = 0;
    srv[0].maxconn = 1;
    srv[0].cur_conns = 1;
    CHECK(balance_server_persist_ok(&srv[0]));
    srv[0].up = 0;
    CHECK(!balance_server_persist_ok(&srv[0]));
    srv[0].up = 1;
    srv[0].admin = SRV_ADMIN_MAINT;
    CHECK(!balance_server_persist_ok(&srv[0]));
    srv[0].admin = SRV_ADMIN_DRAIN; /* draining keeps its persistent clients */
    CHECK(balance_server_persist_ok(&srv[0]));
}

/* ---- backups ---- */

static void test_backups_are_not_used_while_an_active_server_is_up(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 4);
    srv[2].backup = 1;
    srv[3].backup = 1;
    srv[0].up = 0;
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 1);
}

static void test_active_servers_at_maxconn_queue_rather_than_use_backups(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 2);
    srv[0].maxconn = 1;
    srv[0].cur_conns = 1;
    srv[1].backup = 1;
    CHECK(pick(NULL, &full) == NULL);
    CHECK_EQ_INT(full, 1);
}

static void test_first_backup_only_when_no_active_server_is_up(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 4);
    srv[0].up = 0;
    srv[1].backup = 1;
    srv[2].backup = 1;
    srv[3].backup = 1;
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 1);
    /* The first backup DOWN: the next one. */
    srv[1].up = 0;
    for (int i = 0; i < 20; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 2);
}

static void test_full_first_backup_is_waited_for_not_passed_over(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    srv[0].up = 0;
    srv[1].backup = 1;
    srv[2].backup = 1;
    srv[1].maxconn = 1;
    srv[1].cur_conns = 1;
    /* As HAProxy: without allbackups only the first UP backup serves, so a
     * full one means "queue", not "use the second backup". */
    CHECK_EQ_INT(pick_index(NULL, &full), -1);
    CHECK_EQ_INT(full, 1);
}

static void test_all_backups_share_the_load_with_allbackups(void)
{
    int full, count[4] = { 0 };
    setup(BALANCE_ROUNDROBIN, 4);
    be.allbackups = 1;
    srv[0].up = 0;
    srv[1].backup = 1;
    srv[2].backup = 1;
    srv[3].backup = 1;
    for (int i = 0; i < 30; i++) {
        int k = pick_index(NULL, &full);
        CHECK(k >= 1 && k <= 3);
        if (k >= 0 && k < 4)
            count[k]++;
    }
    CHECK_EQ_INT(count[1], 10);
    CHECK_EQ_INT(count[2], 10);
    CHECK_EQ_INT(count[3], 10);
}

static void test_active_server_coming_back_takes_over_from_backups(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 2);
    srv[1].backup = 1;
    srv[0].up = 0;
    CHECK_EQ_INT(pick_index(NULL, &full), 1);
    srv[0].up = 1;
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 0);
}

/* ---- avoid ---- */

static void test_avoided_server_is_not_picked_when_another_is_usable(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 2);
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(pick_index(&srv[0], &full), 1);
    be.balance = BALANCE_LEASTCONN;
    srv[1].cur_conns = 100; /* even when it is the most loaded */
    for (int i = 0; i < 10; i++)
        CHECK_EQ_INT(pick_index(&srv[0], &full), 1);
    be.balance = BALANCE_RANDOM;
    for (int i = 0; i < 100; i++)
        CHECK_EQ_INT(pick_index(&srv[0], &full), 1);
}

static void test_avoided_server_is_picked_when_it_is_the_only_one(void)
{
    int full;
    setup(BALANCE_ROUNDROBIN, 3);
    srv[1].up = 0;
    srv[2].maxconn = 1;
    srv[2].cur_conns = 1;
    for (int i = 0; i < 5; i++) {
        CHECK_EQ_INT(pick_index(&srv[0], &full), 0);
        CHECK_EQ_INT(full, 0);
    }
}

/* ---- leastconn ---- */

static void test_leastconn_picks_the_fewest_connections(void)
{
    int full;
    setup(BALANCE_LEASTCONN, 4);
    srv[0].cur_conns = 5;
    srv[1].cur_conns = 3;
    srv[2].cur_conns = 1;
    srv[3].cur_conns = 7;
    for (int i = 0; i < 8; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 2);
}

static void test_leastconn_respects_weights(void)
{
    int full;
    setup(BALANCE_LEASTCONN, 2);
    srv[0].cur_conns = 4;
    srv[0].weight = 4; /* 1 per unit of weight */
    srv[1].cur_conns = 2;
    srv[1].weight = 1; /* 2 per unit of weight */
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 0);
}

static void test_leastconn_rotates_ties(void)
{
    int full, count[3] = { 0 };
    setup(BALANCE_LEASTCONN, 3);
    for (int i = 0; i < 30; i++) {
        int k = pick_index(NULL, &full);
        if (k >= 0 && k < 3)
            count[k]++;
    }
    CHECK_EQ_INT(count[0], 10);
    CHECK_EQ_INT(count[1], 10);
    CHECK_EQ_INT(count[2], 10);
}

static void test_leastconn_follows_the_load_as_it_changes(void)
{
    /* Each pick takes a slot, as the caller does: the load evens out. */
    int full;
    setup(BALANCE_LEASTCONN, 3);
    srv[0].cur_conns = 6;
    for (int i = 0; i < 12; i++) {
        struct server *s = pick(NULL, &full);
        CHECK(s != NULL);
        if (s)
            s->cur_conns++;
    }
    CHECK_EQ_INT(srv[0].cur_conns, 6);
    CHECK_EQ_INT(srv[1].cur_conns, 6);
    CHECK_EQ_INT(srv[2].cur_conns, 6);
}

static void test_leastconn_skips_down_servers(void)
{
    int full;
    setup(BALANCE_LEASTCONN, 3);
    srv[0].up = 0;
    srv[1].cur_conns = 50;
    srv[2].cur_conns = 40;
    for (int i = 0; i < 5; i++)
        CHECK_EQ_INT(pick_index(NULL, &full), 2);
}

/* ---- random(N) ---- */

static void test_random_never_picks_a_down_server(void)
{
    int full, count[4] = { 0 };
    setup(BALANCE_RANDOM, 4);
    srv[1].up = 0;
    for (int i = 0; i < 10000; i++) {
        int k = pick_index(NULL, &full);
        CHECK(k >= 0 && k < 4);
        if (k >= 0 && k < 4)
            count[k]++;
    }
    CHECK_EQ_INT(count[1], 0);
    CHECK(count[0] > 0 && count[2] > 0 && count[3] > 0);
}

static void test_random_two_choices_favours_the_less_loaded(void)
{
    int full, idle = 0;
    setup(BALANCE_RANDOM, 2);
    be.random_draws = 2;
    srv[0].cur_conns = 0;
    srv[1].cur_conns = 100;
    for (int i = 0; i < 10000; i++)
        idle += pick_index(NULL, &full) == 0;
    /* Two draws: the idle one wins unless both draws hit the busy one,
     * 3/4 of the time. */
    if (idle <= 7000) {
        fprintf(stderr, "  idle server got %d of 10000 picks\n", idle);
        unit_current_failed = 1;
    }
    CHECK(idle < 8000);
}

static void test_random_one_draw_ignores_load(void)
{
    int full, idle = 0;
    setup(BALANCE_RANDOM, 2);
    be.random_draws = 1;
    srv[0].cur_conns = 0;
    srv[1].cur_conns = 100;
    for (int i = 0; i < 10000; i++)
        idle += pick_index(NULL, &full) == 0;
    CHECK(idle > 4000 && idle < 6000);
}

static void test_random_more_draws_favour_the_idle_one_more(void)
{
    int full, idle = 0;
    setup(BALANCE_RANDOM, 2);
    be.random_draws = 5;
    srv[1].cur_conns = 100;
    for (int i = 0; i < 10000; i++)
        idle += pick_index(NULL, &full) == 0;
    CHECK(idle > 9300); /* 1 - 1/32 */
}

static void test_random_respects_weights(void)
{
    int full, count[2] = { 0 };
    setup(BALANCE_RANDOM, 2);
    be.random_draws = 1;
    srv[0].weight = 3;
    for (int i = 0; i < 10000; i++) {
        int k = pick_index(NULL, &full);
        if (k >= 0 && k < 2)
            count[k]++;
    }
    CHECK(count[0] > 7000 && count[0] < 8000);
}

static void test_many_servers_beyond_the_stack_set(void)
{
    /* More servers than balance_pick keeps on its stack. */
    int full;
    enum { N = 100 };
    struct server *many = calloc(N, sizeof(*many));
    struct server **mp = calloc(N, sizeof(*mp));
    memset(&be, 0, sizeof(be));
    for (int i = 0; i < N; i++) {
        many[i].be = &be;
        many[i].up = i == 77;
        many[i].weight = 1;
        mp[i] = &many[i];
    }
    be.servers = mp;
    be.nservers = N;
    be.balance = BALANCE_ROUNDROBIN;
    for (int i = 0; i < 5; i++) {
        full = -1;
        CHECK(balance_pick(&be, NULL, NULL, &full) == &many[77]);
        CHECK_EQ_INT(full, 0);
    }
    free(many);
    free(mp);
}

/* ---- hashing ---- */

static char names[MAXS][8];

/* A hashing backend over servers s0..s(n-1). */
static void setup_hash(enum lb_hash_type type, size_t n)
{
    setup(BALANCE_URL_PARAM, n);
    be.hash_type = type;
    for (size_t i = 0; i < n; i++) {
        snprintf(names[i], sizeof(names[i]), "s%zu", i);
        srv[i].name = names[i];
    }
    if (type == HASH_CONSISTENT)
        CHECK_EQ_INT(balance_ring_build(&be), 0);
}

static int pick_key(unsigned key)
{
    char text[32];
    int len = snprintf(text, sizeof(text), "room-%u", key);
    uint64_t h = balance_hash(text, (size_t)len);
    int full;
    struct server *s = balance_pick(&be, NULL, &h, &full);
    return s ? (int)(s - srv) : -1;
}

static void test_consistent_ring_of_a_backend_without_weight_is_empty(void)
{
    setup_hash(HASH_CONSISTENT, 0);
    CHECK(be.ring == NULL);
    CHECK_EQ_INT(be.ring_size, 0);
    CHECK(pick_key(1) == -1);
}

#define KEYS 10000

static void test_same_key_same_server(void)
{
    setup_hash(HASH_CONSISTENT, 4);
    for (unsigned k = 0; k < 100; k++)
        CHECK_EQ_INT(pick_key(k), pick_key(k));
    free(be.ring);
}

static void test_consistent_hash_spreads_keys_evenly(void)
{
    int count[MAXS] = { 0 };
    setup_hash(HASH_CONSISTENT, 4);
    for (unsigned k = 0; k < KEYS; k++)
        count[pick_key(k)]++;
    for (int i = 0; i < 4; i++)
        CHECK(count[i] > KEYS / 4 * 8 / 10 && count[i] < KEYS / 4 * 12 / 10);
    free(be.ring);
}

static void test_a_down_server_moves_only_its_own_keys(void)
{
    static int before[KEYS];
    setup_hash(HASH_CONSISTENT, 4);
    for (unsigned k = 0; k < KEYS; k++)
        before[k] = pick_key(k);
    srv[2].up = 0;
    int moved = 0, moved_wrongly = 0;
    for (unsigned k = 0; k < KEYS; k++) {
        int now = pick_key(k);
        moved += now != before[k];
        moved_wrongly += now != before[k] && before[k] != 2;
    }
    /* About 1/4 of the keys lived on s2; nothing else moves. */
    CHECK_EQ_INT(moved_wrongly, 0);
    CHECK(moved > KEYS / 4 * 8 / 10 && moved < KEYS / 4 * 12 / 10);
    free(be.ring);
}

static void test_adding_a_server_moves_about_one_nth_of_the_keys(void)
{
    static int before[KEYS];
    setup_hash(HASH_CONSISTENT, 4);
    for (unsigned k = 0; k < KEYS; k++)
        before[k] = pick_key(k);
    free(be.ring);
    setup_hash(HASH_CONSISTENT, 5); /* s0..s3 keep their names: s4 is new */
    int moved = 0, moved_elsewhere = 0;
    for (unsigned k = 0; k < KEYS; k++) {
        int now = pick_key(k);
        moved += now != before[k];
        moved_elsewhere += now != before[k] && now != 4;
    }
    /* About 1/5 of the keys go to the new server, and only there. */
    CHECK_EQ_INT(moved_elsewhere, 0);
    CHECK(moved > KEYS / 5 * 8 / 10 && moved < KEYS / 5 * 12 / 10);
    free(be.ring);
}

static void test_map_based_hashing_moves_most_keys_when_a_server_goes(void)
{
    static int before[KEYS];
    setup_hash(HASH_MAP_BASED, 4);
    for (unsigned k = 0; k < KEYS; k++)
        before[k] = pick_key(k);
    srv[2].up = 0;
    int moved = 0;
    for (unsigned k = 0; k < KEYS; k++)
        moved += pick_key(k) != before[k];
    CHECK(moved > KEYS / 2); /* the contrast that makes consistent hashing worth it */
}

static void test_consistent_hash_honours_weights(void)
{
    int count[MAXS] = { 0 };
    setup(BALANCE_URL_PARAM, 2);
    be.hash_type = HASH_CONSISTENT;
    snprintf(names[0], sizeof(names[0]), "s0");
    snprintf(names[1], sizeof(names[1]), "s1");
    srv[0].name = names[0];
    srv[1].name = names[1];
    srv[0].weight = 3;
    CHECK_EQ_INT(balance_ring_build(&be), 0);
    for (unsigned k = 0; k < KEYS; k++)
        count[pick_key(k)]++;
    CHECK(count[0] > KEYS * 3 / 4 * 9 / 10 && count[0] < KEYS * 3 / 4 * 11 / 10);
    free(be.ring);
}

static void test_bounded_load_keeps_a_hot_key_from_swamping_one_server(void)
{
    int count[MAXS] = { 0 };
    setup_hash(HASH_CONSISTENT, 4);
    be.hash_balance_factor = 125;
    /* One hot key, 400 streams: without a bound all would land on one server. */
    for (int i = 0; i < 400; i++) {
        int k = pick_key(7);
        count[k]++;
        srv[k].cur_conns++;
    }
    for (int i = 0; i < 4; i++)
        CHECK(count[i] <= (400 / 4) * 125 / 100 + 1);
    free(be.ring);
}

static void test_without_the_key_requests_go_round_robin(void)
{
    int count[MAXS] = { 0 }, full;
    setup_hash(HASH_CONSISTENT, 4);
    for (int i = 0; i < 8; i++) {
        struct server *s = balance_pick(&be, NULL, NULL, &full);
        count[s - srv]++;
    }
    for (int i = 0; i < 4; i++)
        CHECK_EQ_INT(count[i], 2);
    free(be.ring);
}

static void test_url_param_is_found_among_others(void)
{
    const char *v;
    size_t n;
    const char t[] = "/chat?x=1&room=lobby&y=2";
    CHECK_EQ_INT(balance_url_param(t, sizeof(t) - 1, "room", &v, &n), 1);
    CHECK(n == 5 && memcmp(v, "lobby", 5) == 0);
    CHECK_EQ_INT(balance_url_param(t, sizeof(t) - 1, "x", &v, &n), 1);
    CHECK(n == 1 && v[0] == '1');
    CHECK_EQ_INT(balance_url_param(t, sizeof(t) - 1, "oom", &v, &n), 0);  /* not a suffix match */
    CHECK_EQ_INT(balance_url_param(t, sizeof(t) - 1, "roo", &v, &n), 0);  /* not a prefix match */
    CHECK_EQ_INT(balance_url_param("/chat", 5, "room", &v, &n), 0);
    CHECK_EQ_INT(balance_url_param("/c?room=", 8, "room", &v, &n), 1);
    CHECK_EQ_INT((int)n, 0);
}

int main(void)
{
    RUN(test_same_key_same_server);
    RUN(test_consistent_ring_of_a_backend_without_weight_is_empty);
    RUN(test_consistent_hash_spreads_keys_evenly);
    RUN(test_a_down_server_moves_only_its_own_keys);
    RUN(test_adding_a_server_moves_about_one_nth_of_the_keys);
    RUN(test_map_based_hashing_moves_most_keys_when_a_server_goes);
    RUN(test_consistent_hash_honours_weights);
    RUN(test_bounded_load_keeps_a_hot_key_from_swamping_one_server);
    RUN(test_without_the_key_requests_go_round_robin);
    RUN(test_url_param_is_found_among_others);
    RUN(test_roundrobin_equal_weights_cycles_through_all);
    RUN(test_roundrobin_respects_weights_exactly);
    RUN(test_roundrobin_is_smooth);
    RUN(test_roundrobin_skips_down_servers);
    RUN(test_weight_zero_is_never_picked);
    RUN(test_only_weight_zero_servers_means_no_server);
    RUN(test_server_in_maint_or_drain_is_never_picked);

    RUN(test_server_at_maxconn_is_skipped);
    RUN(test_all_servers_at_maxconn_is_full);
    RUN(test_no_server_up_is_not_full);
    RUN(test_empty_backend_gives_no_server);
    RUN(test_server_usable);
    RUN(test_persistence_ignores_weight_and_maxconn_but_not_down_or_maint);

    RUN(test_backups_are_not_used_while_an_active_server_is_up);
    RUN(test_active_servers_at_maxconn_queue_rather_than_use_backups);
    RUN(test_first_backup_only_when_no_active_server_is_up);
    RUN(test_full_first_backup_is_waited_for_not_passed_over);
    RUN(test_all_backups_share_the_load_with_allbackups);
    RUN(test_active_server_coming_back_takes_over_from_backups);

    RUN(test_avoided_server_is_not_picked_when_another_is_usable);
    RUN(test_avoided_server_is_picked_when_it_is_the_only_one);

    RUN(test_leastconn_picks_the_fewest_connections);
    RUN(test_leastconn_respects_weights);
    RUN(test_leastconn_rotates_ties);
    RUN(test_leastconn_follows_the_load_as_it_changes);
    RUN(test_leastconn_skips_down_servers);

    RUN(test_random_never_picks_a_down_server);
    RUN(test_random_two_choices_favours_the_less_loaded);
    RUN(test_random_one_draw_ignores_load);
    RUN(test_random_more_draws_favour_the_idle_one_more);
    RUN(test_random_respects_weights);
    RUN(test_many_servers_beyond_the_stack_set);
    return unit_report("balance");
}
