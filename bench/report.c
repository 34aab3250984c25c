/* report.c — see report.h. The derived figures (expected, loss, rates) are
 * computed here once, for both forms. */
#include "report.h"

#include <inttypes.h>

static const char *const mode_names[] = { "idle", "fanout", "echo", "storm" };

struct figures {
    double seconds;        /* the measured window */
    uint64_t expected;     /* fanout: every client open at the start gets every message */
    double loss_pct;
    double per_second;     /* fanout: deliveries/s; echo: round trips/s */
    double all_up_ms;      /* storm: first connect to last 101 */
    long long rss_per_conn; /* idle --pid: bytes per established connection, -1: none */
};

static struct figures figures_of(const struct bench_report *rep)
{
    const struct bench_result *r = rep->r;
    struct figures f = { .seconds = (double)rep->o->duration_ms / 1000.0, .rss_per_conn = -1 };
    f.expected = r->sent * r->open_at_start;
    if (f.expected > 0)
        f.loss_pct = 100.0 * (double)(f.expected - (r->delivered < f.expected ? r->delivered : f.expected)) /
                     (double)f.expected;
    if (rep->o->mode == BENCH_FANOUT)
        f.per_second = (double)r->delivered / f.seconds;
    else if (rep->o->mode == BENCH_ECHO)
        f.per_second = (double)r->in_window / f.seconds;
    if (r->last_up_ns > r->first_connect_ns && r->first_connect_ns)
        f.all_up_ms = (double)(r->last_up_ns - r->first_connect_ns) / 1e6;
    if (rep->rss_before_kib >= 0 && rep->rss_after_kib >= 0 && r->established > 0)
        f.rss_per_conn = (rep->rss_after_kib - rep->rss_before_kib) * 1024 / (long long)r->established;
    return f;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static void table_hist(FILE *out, const char *label, const struct hist *h)
{
    if (h->count == 0) {
        fprintf(out, "  %-12s (none)\n", label);
        return;
    }
    fprintf(out, "  %-12s p50 %.3f ms   p99 %.3f ms   p99.9 %.3f ms   max %.3f ms\n", label,
            ms(hist_percentile(h, 500)), ms(hist_percentile(h, 990)), ms(hist_percentile(h, 999)),
            ms(h->max_us));
}

void bench_report_table(FILE *out, const struct bench_report *rep)
{
    const struct bench_opts *o = rep->o;
    const struct bench_result *r = rep->r;
    struct figures f = figures_of(rep);
    fprintf(out, "wscale bench %s  %s%s  %" PRIu64 " clients, %u process%s\n", mode_names[o->mode],
            o->urls[0].text, o->nurls > 1 ? " (and more)" : "", o->clients, rep->procs,
            rep->procs == 1 ? "" : "es");
    fprintf(out, "  %-12s established %" PRIu64 "   failed %" PRIu64 "   closed by server %" PRIu64 "\n",
            "connections", r->established, r->failed, r->closed);
    if (rep->first_error)
        fprintf(out, "  %-12s %s\n", "first error", rep->first_error);
    if (rep->room_per_proc > 0)
        fprintf(out, "  %-12s up to %ld connections per process (open files)\n", "capacity",
                rep->room_per_proc);
    table_hist(out, "handshake", &r->handshake);
    switch (o->mode) {
    case BENCH_IDLE:
        fprintf(out, "  %-12s %.1f s\n", "held", f.seconds);
        if (f.rss_per_conn >= 0)
            fprintf(out, "  %-12s rss %lld KiB before, %lld KiB after: %lld bytes per connection\n",
                    "memory", rep->rss_before_kib, rep->rss_after_kib, f.rss_per_conn);
        break;
    case BENCH_STORM:
        fprintf(out, "  %-12s %.3f ms from the first connect to the last 101%s\n", "all up", f.all_up_ms,
                r->failed ? " (some failed)" : "");
        break;
    case BENCH_FANOUT:
        fprintf(out, "  %-12s %" PRIu64 " publishers, %" PRIu64 " msg/s, %" PRIu64 " bytes, %.1f s\n",
                "load", o->publishers, o->rate, o->size, f.seconds);
        fprintf(out, "  %-12s sent %" PRIu64 "   expected %" PRIu64 "   delivered %" PRIu64
                "   loss %.3f %%   duplicates %" PRIu64 "\n",
                "messages", r->sent, f.expected, r->delivered, f.loss_pct, r->duplicates);
        fprintf(out, "  %-12s %.0f deliveries/s\n", "throughput", f.per_second);
        table_hist(out, "latency", &r->latency);
        break;
    case BENCH_ECHO:
        fprintf(out, "  %-12s %" PRIu64 " bytes, %.1f s\n", "load", o->size, f.seconds);
        fprintf(out, "  %-12s sent %" PRIu64 "   echoed %" PRIu64 "   in the window %" PRIu64 "\n",
                "messages", r->sent, r->delivered, r->in_window);
        fprintf(out, "  %-12s %.0f msgs/s\n", "throughput", f.per_second);
        table_hist(out, "latency", &r->latency);
        break;
    }
}

static void json_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fputc('\\', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void json_hist(FILE *out, const char *name, const struct hist *h)
{
    fprintf(out, ",\"%s\":{\"count\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p99\":%" PRIu64 ",\"p999\":%" PRIu64
            ",\"max\":%" PRIu64 "}",
            name, h->count, hist_percentile(h, 500), hist_percentile(h, 990), hist_percentile(h, 999),
            h->max_us);
}

void bench_report_json(FILE *out, const struct bench_report *rep)
{
    const struct bench_opts *o = rep->o;
    const struct bench_result *r = rep->r;
    struct figures f = figures_of(rep);
    fprintf(out, "{\"mode\":\"%s\",\"urls\":[", mode_names[o->mode]);
    for (size_t i = 0; i < o->nurls; i++) {
        if (i)
            fputc(',', out);
        json_string(out, o->urls[i].text);
    }
    fprintf(out, "],\"clients\":%" PRIu64 ",\"procs\":%u", o->clients, rep->procs);
    fprintf(out, ",\"attempted\":%" PRIu64 ",\"established\":%" PRIu64 ",\"failed\":%" PRIu64
            ",\"closed_by_server\":%" PRIu64,
            r->attempted, r->established, r->failed, r->closed);
    if (rep->room_per_proc > 0)
        fprintf(out, ",\"max_connections_per_proc\":%ld", rep->room_per_proc);
    if (rep->first_error) {
        fputs(",\"first_error\":", out);
        json_string(out, rep->first_error);
    }
    json_hist(out, "handshake_us", &r->handshake);
    switch (o->mode) {
    case BENCH_IDLE:
        fprintf(out, ",\"duration_s\":%.3f", f.seconds);
        if (f.rss_per_conn >= 0)
            fprintf(out, ",\"rss_before_kib\":%lld,\"rss_after_kib\":%lld,\"rss_per_connection_bytes\":%lld",
                    rep->rss_before_kib, rep->rss_after_kib, f.rss_per_conn);
        break;
    case BENCH_STORM:
        fprintf(out, ",\"all_up_ms\":%.3f", f.all_up_ms);
        break;
    case BENCH_FANOUT:
        fprintf(out, ",\"duration_s\":%.3f,\"publishers\":%" PRIu64 ",\"rate\":%" PRIu64 ",\"size\":%" PRIu64
                ",\"clients_at_start\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"expected\":%" PRIu64
                ",\"delivered\":%" PRIu64 ",\"loss_pct\":%.4f,\"duplicates\":%" PRIu64
                ",\"deliveries_per_s\":%.1f",
                f.seconds, o->publishers, o->rate, o->size, r->open_at_start, r->sent, f.expected,
                r->delivered, f.loss_pct, r->duplicates, f.per_second);
        json_hist(out, "latency_us", &r->latency);
        break;
    case BENCH_ECHO:
        fprintf(out, ",\"duration_s\":%.3f,\"size\":%" PRIu64 ",\"sent\":%" PRIu64 ",\"echoed\":%" PRIu64
                ",\"in_window\":%" PRIu64 ",\"msgs_per_s\":%.1f",
                f.seconds, o->size, r->sent, r->delivered, r->in_window, f.per_second);
        json_hist(out, "latency_us", &r->latency);
        break;
    }
    fputs("}\n", out);
}
