/* bench.c — `wscale bench MODE`: checks the options, resolves the URLs,
 * raises the open-files limit, picks source addresses, starts the workers
 * (parent.c) and prints what they measured (report.c). */
#include "bench.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../shared/net.h"
#include "opts.h"
#include "parent.h"
#include "report.h"
#include "result.h"

#define FILES_RESERVED 32      /* pipes, stdio, the loop's own descriptors */
#define PORTS_PER_SOURCE 28000 /* ephemeral ports per (source, destination), with margin */

static void usage(FILE *out)
{
    fputs(
"Usage: wscale bench MODE -u URL [OPTIONS]\n"
"\n"
"A WebSocket load generator to point at your own deployment.\n"
"\n"
"Modes:\n"
"  idle   -u URL -c N [-R RATE] -t D   open N connections and hold them for D,\n"
"                                      answering pings\n"
"  fanout -u URL[,URL...] -c N -p P -r RATE -s SIZE -t D\n"
"                                      N chat clients (wscale backend's protocol),\n"
"                                      P of them publishing RATE msgs/s in total;\n"
"                                      every client must receive every message\n"
"  echo   -u URL -c N -s SIZE -t D     N closed-loop clients against an echo\n"
"                                      server (wscale backend --echo)\n"
"  storm  -u URL -c N                  connect N as fast as possible\n"
"\n"
"Options:\n"
"  -u, --url URL[,URL...]   ws:// or wss:// with path and query; clients take\n"
"                           the URLs in turn\n"
"  -c, --clients N          connections                                   (100)\n"
"  -t, --duration D         measured window (idle, fanout, echo)          (10s)\n"
"  -p, --publishers P       fanout: publishing clients                      (1)\n"
"  -r, --rate RATE          fanout: messages per second, all publishers  (1000)\n"
"  -s, --size SIZE          fanout, echo: message bytes, at least 40        (64)\n"
"  -R, --connect-rate RATE  idle: new connections per second      (no limit)\n"
"  -P, --procs PROCS        spread the clients over PROCS processes          (1)\n"
"      --max-connecting N   connects in progress per process              (256)\n"
"      --grace D            fanout, echo: time late messages get after the\n"
"                           window                                         (2s)\n"
"      --timeout D          connect, TLS and upgrade must end within D     (10s)\n"
"      --source A[-B]       IPv4 source addresses to use in turn; by default,\n"
"                           beyond 28000 connections to a loopback address,\n"
"                           127.0.0.1, 127.0.0.2, ...\n"
"      --pid PID[,PID...]   idle: report the RSS of these processes before\n"
"                           connecting and at the end of the hold, per connection\n"
"      --json               print one JSON object instead of the table\n"
"      --progress           show the progress line even if stderr is no terminal\n"
"  -q, --quiet              no progress line\n"
"  -h, --help               show this help\n"
"\n"
"wss:// does not verify the server's certificate (like wrk): it measures, it\n"
"does not authenticate. Latencies come from send timestamps of the monotonic\n"
"clock, so the generator's processes must all run on one host (they do).\n"
"Durations take ms, s, m (a bare number is seconds); sizes take k, m.\n"
"Exit status: 0 when the run happened (even with losses), 1 when the target\n"
"could not be reached at all or an option is wrong.\n",
        out);
}

/* The source addresses clients take in turn (network order), or none. */
static int pick_sources(const struct bench_opts *o, const struct net_addr *addrs, uint32_t **out,
                        size_t *n)
{
    uint32_t first = o->source_first, last = o->source_last;
    *out = NULL;
    *n = 0;
    if (first == 0) {
        for (size_t i = 0; i < o->nurls; i++) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)&addrs[i].ss;
            if (addrs[i].ss.ss_family != AF_INET || (ntohl(sin->sin_addr.s_addr) >> 24) != 127)
                return 0; /* only loopback destinations get sources automatically */
        }
        if (o->clients <= PORTS_PER_SOURCE)
            return 0;
        uint64_t need = (o->clients + PORTS_PER_SOURCE - 1) / PORTS_PER_SOURCE;
        first = 0x7f000001;
        last = first + (uint32_t)(need > 254 ? 253 : need - 1);
    }
    *n = (size_t)(last - first) + 1;
    *out = calloc(*n, sizeof(**out));
    if (*out == NULL)
        return -1;
    for (size_t i = 0; i < *n; i++)
        (*out)[i] = htonl(first + (uint32_t)i);
    return 0;
}

int bench_main(int argc, char **argv)
{
    char err[512];
    int status = 1;
    struct bench_opts *o = calloc(1, sizeof(*o));
    struct net_addr *addrs = NULL;
    uint32_t *sources = NULL;
    size_t nsources = 0;
    struct bench_parent p = { .o = o, .rss_before = -1, .rss_after = -1 };
    if (o == NULL) {
        fprintf(stderr, "wscale bench: out of memory\n");
        return 1;
    }
    int rc = bench_opts_parse(o, argc, argv, err, sizeof(err));
    if (rc == 1) {
        usage(stdout);
        status = 0;
        goto out;
    }
    if (rc != 0) {
        fprintf(stderr, "wscale bench: %s\n", err);
        goto out;
    }
    addrs = calloc(o->nurls, sizeof(*addrs));
    if (addrs == NULL)
        goto out;
    for (size_t i = 0; i < o->nurls; i++) {
        const char *why;
        if (net_resolve(o->urls[i].host, o->urls[i].port, &addrs[i], &why) != 0) {
            fprintf(stderr, "wscale bench: %s: cannot resolve '%s': %s\n", o->urls[i].text,
                    o->urls[i].host, why);
            goto out;
        }
    }
    long files = net_raise_nofile();
    uint64_t per_proc = (o->clients + o->procs - 1) / o->procs;
    long room_per_proc = files > FILES_RESERVED ? files - FILES_RESERVED : -1;
    if (files > 0 && per_proc + FILES_RESERVED > (uint64_t)files) {
        uint64_t room = (uint64_t)files > FILES_RESERVED ? (uint64_t)files - FILES_RESERVED : 1;
        fprintf(stderr, "wscale bench: %ld open files per process: use -P %llu for %llu connections\n",
                files, (unsigned long long)((o->clients + room - 1) / room), (unsigned long long)o->clients);
        goto out;
    }
    if (pick_sources(o, addrs, &sources, &nsources) != 0)
        goto out;
    p.n = (unsigned)o->procs;
    p.kids = calloc(p.n, sizeof(*p.kids));
    if (p.kids == NULL)
        goto out;
    p.progress = !o->quiet && (o->progress || isatty(STDERR_FILENO));
    if (o->npids) {
        p.rss_before = bench_rss_kib(o);
        if (p.rss_before < 0)
            goto out;
    }

    int worker_status;
    rc = bench_parent_spawn(&p, addrs, sources, nsources, &worker_status);
    if (rc == 1) {
        status = worker_status;
        goto out;
    }
    if (rc != 0)
        fprintf(stderr, "wscale bench: cannot start worker processes: %s\n", strerror(errno));
    else
        bench_parent_run(&p);

    struct bench_result total;
    bench_result_init(&total);
    const char *first_error = NULL;
    int broken = rc != 0;
    if (bench_parent_collect(&p, &total, &first_error) != 0)
        broken = 1;
    if (!broken && total.established == 0) {
        fprintf(stderr, "wscale bench: could not reach the target: %s\n",
                first_error ? first_error : "no connection succeeded");
    } else if (!broken) {
        struct bench_report rep = { .o = o, .r = &total, .procs = p.n, .room_per_proc = room_per_proc,
                                    .first_error = first_error,
                                    .rss_before_kib = p.rss_before, .rss_after_kib = p.rss_after };
        if (o->json)
            bench_report_json(stdout, &rep);
        else
            bench_report_table(stdout, &rep);
        status = 0;
    }

out:
    if (p.kids)
        bench_parent_close(&p);
    free(p.kids);
    free(sources);
    free(addrs);
    free(o);
    return status;
}
