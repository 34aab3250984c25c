/* hist.h — a log-bucketed latency histogram, in the spirit of HdrHistogram.
 *
 * Values are microseconds. Below 128 µs every value has its own bucket; above,
 * each power of two is split into 128 equal buckets, so a bucket is at most
 * 1/128 of its values wide and a reported value (the bucket's middle) is
 * within 0.4 % of what was recorded. Values up to 2^27 µs (134 s) are kept;
 * larger ones count as 134 s. Fixed size, no allocation: merge by adding counts.
 *
 * Pure: no I/O. The text form is one line (no newline) so that a child process
 * can send its histogram to the parent over a pipe. */
#ifndef WSCALE_BENCH_HIST_H
#define WSCALE_BENCH_HIST_H

#include <stddef.h>
#include <stdint.h>

#define HIST_SUB 128                        /* buckets per power of two */
#define HIST_MAX_US ((UINT64_C(1) << 27) - 1)
#define HIST_BUCKETS (20 * HIST_SUB + HIST_SUB) /* index of HIST_MAX_US + 1 */

struct hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us; /* exact, not bucketed */
    uint32_t buckets[HIST_BUCKETS];
};

void hist_init(struct hist *h);

/* Records one value in microseconds. */
void hist_record(struct hist *h, uint64_t us);

/* Adds the counts of src into dst. */
void hist_merge(struct hist *dst, const struct hist *src);

/* The value below which `permille`/1000 of the recorded values lie (500 is
 * the median, 999 the 99.9th percentile), as the middle of its bucket and
 * never above the maximum. 0 when the histogram is empty. */
uint64_t hist_percentile(const struct hist *h, unsigned permille);

/* The bucket a value falls in, and the lowest value of a bucket. */
size_t hist_bucket(uint64_t us);
uint64_t hist_bucket_low(size_t bucket);

/* Writes h as "COUNT SUM MAX BUCKET:N BUCKET:N ..." (non-empty buckets only).
 * Returns the length written, or the length needed if it did not fit in size
 * (like snprintf). */
size_t hist_format(const struct hist *h, char *out, size_t size);

/* Reads a line written by hist_format() into h. Returns 0, or -1 if the text
 * is not such a line. */
int hist_parse(struct hist *h, const char *text);

#endif
