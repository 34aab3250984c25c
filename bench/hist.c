/* hist.c — see hist.h. */
#include "hist.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void hist_init(struct hist *h)
{
    memset(h, 0, sizeof(*h));
}

size_t hist_bucket(uint64_t us)
{
    if (us > HIST_MAX_US)
        us = HIST_MAX_US;
    if (us < HIST_SUB)
        return (size_t)us;
    unsigned msb = 63u - (unsigned)__builtin_clzll(us);
    unsigned shift = msb - 7; /* us >> shift is in [128, 256) */
    return (size_t)shift * HIST_SUB + (size_t)(us >> shift);
}

uint64_t hist_bucket_low(size_t bucket)
{
    if (bucket < 2 * HIST_SUB)
        return bucket;
    unsigned shift = (unsigned)(bucket / HIST_SUB) - 1;
    return (uint64_t)(bucket % HIST_SUB + HIST_SUB) << shift;
}

/* The middle of a bucket: what a percentile reports. */
static uint64_t bucket_mid(size_t bucket)
{
    if (bucket < 2 * HIST_SUB)
        return bucket;
    unsigned shift = (unsigned)(bucket / HIST_SUB) - 1;
    return hist_bucket_low(bucket) + ((UINT64_C(1) << shift) >> 1);
}

void hist_record(struct hist *h, uint64_t us)
{
    h->buckets[hist_bucket(us)]++;
    h->count++;
    h->sum_us += us;
    if (us > h->max_us)
        h->max_us = us;
}

void hist_merge(struct hist *dst, const struct hist *src)
{
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        dst->buckets[i] += src->buckets[i];
    dst->count += src->count;
    dst->sum_us += src->sum_us;
    if (src->max_us > dst->max_us)
        dst->max_us = src->max_us;
}

uint64_t hist_percentile(const struct hist *h, unsigned permille)
{
    if (h->count == 0)
        return 0;
    /* The rank of the value asked for, 1-based, rounded up. */
    uint64_t rank = (h->count * permille + 999) / 1000;
    if (rank == 0)
        rank = 1;
    uint64_t seen = 0;
    for (size_t i = 0; i < HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            uint64_t v = bucket_mid(i);
            return v < h->max_us ? v : h->max_us;
        }
    }
    return h->max_us;
}

size_t hist_format(const struct hist *h, char *out, size_t size)
{
    size_t n = 0;
#define PUT(...)                                                                    \
    do {                                                                            \
        int k_ = snprintf(out + (n < size ? n : size), n < size ? size - n : 0, __VA_ARGS__); \
        n += (size_t)k_;                                                            \
    } while (0)
    PUT("%" PRIu64 " %" PRIu64 " %" PRIu64, h->count, h->sum_us, h->max_us);
    for (size_t i = 0; i < HIST_BUCKETS; i++)
        if (h->buckets[i])
            PUT(" %zu:%" PRIu32, i, h->buckets[i]);
#undef PUT
    return n;
}

int hist_parse(struct hist *h, const char *text)
{
    hist_init(h);
    char *end;
    const char *p = text;
    uint64_t *fields[] = { &h->count, &h->sum_us, &h->max_us };
    for (size_t i = 0; i < 3; i++) {
        if (*p < '0' || *p > '9')
            return -1;
        *fields[i] = strtoull(p, &end, 10);
        p = end;
        if (*p == ' ')
            p++;
        else if (*p != '\0' || i < 2)
            return -1;
    }
    uint64_t total = 0;
    while (*p != '\0') {
        if (*p < '0' || *p > '9')
            return -1;
        unsigned long long b = strtoull(p, &end, 10);
        if (*end != ':' || b >= HIST_BUCKETS || end[1] < '0' || end[1] > '9')
            return -1;
        unsigned long long c = strtoull(end + 1, &end, 10);
        if (c > UINT32_MAX || (*end != ' ' && *end != '\0'))
            return -1;
        h->buckets[b] += (uint32_t)c;
        total += c;
        p = *end == ' ' ? end + 1 : end;
    }
    return total == h->count ? 0 : -1;
}
