/* report.h — the end of a run: a table for people, or one JSON object. */
#ifndef WSCALE_BENCH_REPORT_H
#define WSCALE_BENCH_REPORT_H

#include <stdio.h>

#include "opts.h"
#include "result.h"

struct bench_report {
    const struct bench_opts *o;
    const struct bench_result *r;
    unsigned procs;
    long room_per_proc;        /* connections the open-files limit allows a process, -1: unknown */
    const char *first_error;   /* the first connection that failed, and why; or NULL */
    long long rss_before_kib, rss_after_kib; /* idle --pid; -1: not measured */
};

void bench_report_table(FILE *out, const struct bench_report *rep);
void bench_report_json(FILE *out, const struct bench_report *rep);

#endif
