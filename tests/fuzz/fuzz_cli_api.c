/* fuzz_cli_api.c — lb/cli-api.h: HAProxy's runtime API over a fixed fake lb.
 *
 * The first byte picks the socket's level, whether the operations refuse,
 * and whether snapshots fail; the rest is lines of commands, as a client
 * sends them. For any line at any level: every answer ends with a newline
 * or the prompt, every snapshot taken is freed, the level never rises,
 * nothing runs after "quit", and only a session at level admin changes a
 * server, one the snapshot showed, with a weight from 0 to 256. */
#include <string.h>

#include "../../lb/cli-api.h"
#include "fuzz.h"

#define NROWS 5

/* Backend "web" (s1, s2) and backend "api" (a1), as in test_cli_api.c. */
static const struct stats_row rows[NROWS] = {
    { .type = STATS_FRONTEND, .pxname = "web", .svname = "FRONTEND", .iid = 1, .status = "OPEN" },
    { .type = STATS_SERVER, .pxname = "web", .svname = "s1", .iid = 1, .sid = 1, .status = "UP",
      .has_check = 1, .check_up = 1, .rise = 2, .fall = 3, .weight = 100, .iweight = 100,
      .act = 1, .addr = "127.0.0.1:8001", .host = "127.0.0.1", .port = 8001,
      .check_status = "L4OK", .check_duration_ms = 1 },
    { .type = STATS_SERVER, .pxname = "web", .svname = "s2", .iid = 1, .sid = 2, .status = "MAINT",
      .check_up = 1, .rise = 2, .fall = 3, .weight = 0, .iweight = 50, .act = 1,
      .addr = "127.0.0.1:8002", .host = "127.0.0.1", .port = 8002, .check_duration_ms = -1 },
    { .type = STATS_BACKEND, .pxname = "web", .svname = "BACKEND", .iid = 1, .status = "UP",
      .weight = 100, .act = 2, .algo = "roundrobin" },
    { .type = STATS_SERVER, .pxname = "api", .svname = "a1", .iid = 2, .sid = 1, .status = "no check",
      .check_up = 1, .rise = 2, .fall = 3, .weight = 1, .iweight = 1, .act = 1,
      .addr = "127.0.0.1:9001", .host = "127.0.0.1", .port = 9001, .check_duration_ms = -1 },
};

struct fake {
    const struct api_session *session;
    int live;             /* snapshots not freed */
    int fail_snapshot;
    const char *refuse;   /* what the operations answer */
};

static int fake_snapshot(void *ctx, struct stats_snapshot *st)
{
    struct fake *f = ctx;
    if (f->fail_snapshot)
        return -1;
    memset(st, 0, sizeof(*st));
    st->rows = malloc(sizeof(rows));
    if (st->rows == NULL)
        return -1;
    memcpy(st->rows, rows, sizeof(rows));
    st->nrows = NROWS;
    st->info = (struct stats_info){ .version = "0.1.0", .pid = 7, .workers = 2, .maxconn = 100 };
    f->live++;
    return 0;
}

static void fake_snapshot_free(void *ctx, struct stats_snapshot *st)
{
    struct fake *f = ctx;
    free(st->rows);
    st->rows = NULL;
    f->live--;
}

/* An operation may only come from an admin, about a server shown. */
static void check_operation(struct fake *f, const char *be, const char *srv)
{
    FUZZ_CHECK(f->session->level == API_ADMIN);
    int known = 0;
    for (size_t i = 0; i < NROWS; i++)
        known |= rows[i].type == STATS_SERVER && strcmp(rows[i].pxname, be) == 0 &&
                 strcmp(rows[i].svname, srv) == 0;
    FUZZ_CHECK(known);
}

static const char *fake_set_admin(void *ctx, const char *be, const char *srv, enum srv_admin st)
{
    check_operation(ctx, be, srv);
    FUZZ_CHECK(st == SRV_ADMIN_READY || st == SRV_ADMIN_DRAIN || st == SRV_ADMIN_MAINT);
    return ((struct fake *)ctx)->refuse;
}

static const char *fake_set_weight(void *ctx, const char *be, const char *srv, unsigned weight)
{
    check_operation(ctx, be, srv);
    FUZZ_CHECK(weight <= 256);
    return ((struct fake *)ctx)->refuse;
}

static const char *fake_shutdown(void *ctx, const char *be, const char *srv)
{
    check_operation(ctx, be, srv);
    return ((struct fake *)ctx)->refuse;
}

static int ends_an_answer(const struct strbuf *out)
{
    if (out->len == 0)
        return 1;
    if (out->data[out->len - 1] == '\n')
        return 1;
    return out->len >= 2 && memcmp(out->data + out->len - 2, "> ", 2) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct api_session s = { (enum api_level)(data[0] % 3), 0, 0, 0 };
    struct fake f = { &s, 0, (data[0] >> 2) & 1, (data[0] & 8) ? "No such server.\n" : NULL };
    const struct api_ops ops = { &f, fake_snapshot, fake_snapshot_free, fake_set_admin,
                                 fake_set_weight, fake_shutdown };
    struct strbuf out = STRBUF_INIT;
    char *line = malloc(size);
    FUZZ_CHECK(line != NULL);

    const uint8_t *p = data + 1, *end = data + size;
    while (p < end) {
        const uint8_t *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = (size_t)((nl ? nl : end) - p);
        memcpy(line, p, len);
        line[len] = '\0';
        p += len + (nl != NULL);

        enum api_level before = s.level;
        int was_quit = s.quit_given;
        size_t had = out.len;
        api_execute(&ops, &s, line, &out);
        FUZZ_CHECK(!out.failed);
        FUZZ_CHECK(f.live == 0);
        FUZZ_CHECK(s.level <= before);
        FUZZ_CHECK(ends_an_answer(&out));
        FUZZ_CHECK(s.quit == (s.quit_given || !s.interactive));
        if (was_quit)
            FUZZ_CHECK(out.len == had && s.quit_given);
    }
    strbuf_free(&out);
    free(line);
    return 0;
}
