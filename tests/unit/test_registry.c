/* test_registry.c — lb/registry.h (the shared memory every lb process
 * sees) and lb/ctl.h (messages with descriptors between processes). */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../lb/ctl.h"
#include "../../lb/registry.h"
#include "unit.h"

static void test_objects_are_found_by_kind_and_name(void)
{
    struct registry r;
    CHECK(registry_create(&r, 8) == 0);
    uint32_t fe = registry_find(&r, REG_FRONTEND, "web", "", 1);
    uint32_t be = registry_find(&r, REG_BACKEND, "web", "", 1);
    uint32_t s1 = registry_find(&r, REG_SERVER, "web", "s1", 1);
    CHECK(fe != 0 && be != 0 && s1 != 0);
    CHECK(fe != be && be != s1);
    CHECK_EQ_INT(registry_find(&r, REG_BACKEND, "web", "", 0), be);
    CHECK_EQ_INT(registry_find(&r, REG_SERVER, "web", "s1", 1), s1);
    CHECK_EQ_INT(registry_find(&r, REG_SERVER, "web", "s2", 0), 0); /* not created */
    CHECK_EQ_STR(registry_object(&r, s1)->server, "s1");

    char long_name[REG_NAME_MAX + 1];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    CHECK_EQ_INT(registry_find(&r, REG_BACKEND, long_name, "", 1), 0);

    /* Eight entries: five more fit, then it is full. */
    for (int i = 0; i < 5; i++) {
        char name[8];
        snprintf(name, sizeof(name), "s%d", i + 10);
        CHECK(registry_find(&r, REG_SERVER, "web", name, 1) != 0);
    }
    CHECK_EQ_INT(registry_find(&r, REG_SERVER, "web", "one-too-many", 1), 0);
    registry_release(&r, s1);
    CHECK(registry_find(&r, REG_SERVER, "web", "one-too-many", 1) != 0);
    registry_detach(&r);
}

static void test_server_state_round_trips(void)
{
    struct registry r;
    CHECK(registry_create(&r, 4) == 0);
    uint32_t id = registry_find(&r, REG_SERVER, "be", "s1", 1);
    struct reg_server st = { .admin = SRV_ADMIN_DRAIN, .check_up = 1, .weight = 7, .kill_epoch = 3 };
    snprintf(st.check_status, sizeof(st.check_status), "L7OK");
    snprintf(st.check_desc, sizeof(st.check_desc), "Layer7 check passed");
    reg_server_write(registry_object(&r, id), &st);
    struct reg_server back;
    reg_server_read(registry_object(&r, id), &back);
    CHECK_EQ_INT(back.admin, SRV_ADMIN_DRAIN);
    CHECK_EQ_INT(back.weight, 7);
    CHECK_EQ_INT(back.kill_epoch, 3);
    CHECK_EQ_STR(back.check_status, "L7OK");
    CHECK_EQ_STR(back.check_desc, "Layer7 check passed");
    CHECK_EQ_INT(registry_object(&r, id)->seq % 2, 0);
    registry_detach(&r);
}

static void test_counters_sum_over_blocks_and_survive_their_workers(void)
{
    struct registry r;
    CHECK(registry_create(&r, 4) == 0);
    uint32_t id = registry_find(&r, REG_SERVER, "be", "s1", 1);
    uint32_t a = registry_block_take(&r, 100, 1, 0);
    uint32_t b = registry_block_take(&r, 101, 1, 1);
    CHECK(a != 0 && b != 0 && a != b);
    ctr_add(&registry_counters(&r, a, id)->tot, 5);
    ctr_add(&registry_counters(&r, a, id)->cur, 2);
    ctr_add(&registry_counters(&r, b, id)->tot, 3);
    ctr_add(&registry_counters(&r, b, id)->tunnels_cur, 1);
    ctr_add(&registry_counters(&r, b, id)->bytes_in, 1000);
    struct stats_counters sum;
    registry_sum(&r, id, &sum);
    CHECK_EQ_INT(sum.tot, 8);
    CHECK_EQ_INT(sum.cur, 2);
    CHECK_EQ_INT(sum.tunnels_cur, 1);

    /* Worker b exits: its totals stay, what it had open does not. */
    registry_block_release(&r, b);
    registry_sum(&r, id, &sum);
    CHECK_EQ_INT(sum.tot, 8);
    CHECK_EQ_INT(sum.bytes_in, 1000);
    CHECK_EQ_INT(sum.tunnels_cur, 0);
    CHECK_EQ_INT(sum.cur, 2);

    /* A block taken again starts from zero. */
    uint32_t c = registry_block_take(&r, 102, 2, 0);
    CHECK_EQ_INT(registry_counters(&r, c, id)->tot, 0);
    registry_sum(&r, id, &sum);
    CHECK_EQ_INT(sum.tot, 8);

    /* An entry given back and reused starts from zero too. */
    registry_release(&r, id);
    uint32_t again = registry_find(&r, REG_SERVER, "be", "s9", 1);
    registry_sum(&r, again, &sum);
    CHECK_EQ_INT(sum.tot, 0);
    registry_detach(&r);
}

static void test_blocks_run_out_and_come_back(void)
{
    struct registry r;
    CHECK(registry_create(&r, 2) == 0);
    uint32_t last = 0;
    for (int i = 1; i < REG_MAX_BLOCKS; i++)
        last = registry_block_take(&r, 1000 + i, 1, (uint32_t)i);
    CHECK(last != 0);
    CHECK_EQ_INT(registry_block_take(&r, 5000, 1, 0), 0);
    registry_block_release(&r, last);
    CHECK_EQ_INT(registry_block_take(&r, 5000, 1, 0), last);
    registry_detach(&r);
}

/* A child process maps the registry from the descriptor, as a worker does. */
static void test_another_process_attaches_and_counts(void)
{
    struct registry r;
    CHECK(registry_create(&r, 4) == 0);
    uint32_t id = registry_find(&r, REG_FRONTEND, "fe", "", 1);
    uint32_t blk = registry_block_take(&r, getpid(), 1, 0);
    pid_t pid = fork();
    if (pid == 0) {
        struct registry child;
        int fd = dup(r.fd);
        if (registry_attach(&child, fd) != 0)
            _exit(1);
        uint32_t found = registry_find(&child, REG_FRONTEND, "fe", "", 0);
        for (int i = 0; i < 1000; i++)
            ctr_add(&registry_counters(&child, blk, found)->tot, 1);
        registry_detach(&child);
        _exit(found == id ? 0 : 2);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stats_counters sum;
    registry_sum(&r, id, &sum);
    CHECK_EQ_INT(sum.tot, 1000);

    struct registry bad;
    int fds[2];
    CHECK(pipe(fds) == 0);
    CHECK(registry_attach(&bad, fds[0]) != 0); /* not a registry */
    close(fds[0]);
    close(fds[1]);
    registry_detach(&r);
}

static void test_ticket_keys_are_shared(void)
{
    struct registry r;
    CHECK(registry_create(&r, 2) == 0);
    struct tls_ticket_key keys[2], back[2];
    memset(keys, 0x5a, sizeof(keys));
    keys[1].name[0] = 1;
    registry_keys_write(&r, keys);
    registry_keys_read(&r, back);
    CHECK(memcmp(keys, back, sizeof(keys)) == 0);
    registry_detach(&r);
}

static void test_messages_carry_descriptors(void)
{
    int sv[2], p[2];
    CHECK(ctl_pair(sv) == 0);
    CHECK(pipe(p) == 0);
    struct ctl_msg m = { .type = CTL_SOFT_STOP, .generation = 7 };
    snprintf(m.text, sizeof(m.text), "hello");
    CHECK(ctl_send(sv[0], &m, sizeof(m), &p[1], 1) == 0);
    close(p[1]);
    struct ctl_msg got;
    int fds[CTL_MAX_FDS], nfds = -1;
    CHECK_EQ_INT(ctl_recv(sv[1], &got, sizeof(got), fds, CTL_MAX_FDS, &nfds), (long long)sizeof(got));
    CHECK_EQ_INT(nfds, 1);
    CHECK_EQ_INT(got.generation, 7);
    CHECK_EQ_STR(got.text, "hello");
    /* The descriptor received is the pipe's write end. */
    CHECK_EQ_INT(write(fds[0], "x", 1), 1);
    char c = 0;
    CHECK_EQ_INT(read(p[0], &c, 1), 1);
    CHECK_EQ_INT(c, 'x');
    close(fds[0]);

    /* Nothing waiting: EAGAIN. A record too large for the buffer: refused,
     * and its descriptors do not leak. */
    CHECK_EQ_INT(ctl_recv(sv[1], &got, sizeof(got), fds, CTL_MAX_FDS, &nfds), -1);
    CHECK_EQ_INT(errno, EAGAIN);
    int dup_fd = dup(p[0]);
    CHECK(ctl_send(sv[0], &m, sizeof(m), &dup_fd, 1) == 0);
    close(dup_fd);
    char small[8];
    CHECK_EQ_INT(ctl_recv(sv[1], small, sizeof(small), fds, CTL_MAX_FDS, &nfds), -1);
    CHECK_EQ_INT(errno, EMSGSIZE);
    CHECK_EQ_INT(nfds, 0);

    /* More descriptors than the receiver takes: refused too. */
    int two[2] = { p[0], p[0] };
    CHECK(ctl_send(sv[0], &m, sizeof(m), two, 2) == 0);
    CHECK_EQ_INT(ctl_recv(sv[1], &got, sizeof(got), fds, 1, &nfds), -1);
    CHECK_EQ_INT(errno, EMSGSIZE);

    /* The peer closed: 0. */
    close(sv[0]);
    CHECK_EQ_INT(ctl_recv(sv[1], &got, sizeof(got), fds, CTL_MAX_FDS, &nfds), 0);
    close(sv[1]);
    close(p[0]);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    RUN(test_objects_are_found_by_kind_and_name);
    RUN(test_server_state_round_trips);
    RUN(test_counters_sum_over_blocks_and_survive_their_workers);
    RUN(test_blocks_run_out_and_come_back);
    RUN(test_another_process_attaches_and_counts);
    RUN(test_ticket_keys_are_shared);
    RUN(test_messages_carry_descriptors);
    return unit_report("registry");
}
