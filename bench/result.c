/* result.c — see result.h. */
#include "result.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum merge { SUM, MIN, MAX };

static const struct {
    const char *name;
    size_t offset;
    enum merge merge;
} counters[] = {
#define C(field, how) { #field, offsetof(struct bench_result, field), how }
    C(attempted, SUM), C(established, SUM), C(failed, SUM), C(closed, SUM),
    C(open_at_start, SUM), C(sent, SUM), C(delivered, SUM), C(duplicates, SUM),
    C(in_window, SUM), C(first_connect_ns, MIN), C(last_up_ns, MAX),
#undef C
};
#define NCOUNTERS (sizeof(counters) / sizeof(counters[0]))

static const struct {
    const char *name;
    size_t offset;
} hists[] = {
    { "handshake", offsetof(struct bench_result, handshake) },
    { "latency", offsetof(struct bench_result, latency) },
};
#define NHISTS (sizeof(hists) / sizeof(hists[0]))

#define FIELD(r, off) ((uint64_t *)((char *)(r) + (off)))
#define HIST(r, off) ((struct hist *)((char *)(r) + (off)))

void bench_result_init(struct bench_result *r)
{
    memset(r, 0, sizeof(*r));
}

void bench_result_merge(struct bench_result *dst, const struct bench_result *src)
{
    for (size_t i = 0; i < NCOUNTERS; i++) {
        uint64_t *d = FIELD(dst, counters[i].offset);
        uint64_t s = *FIELD(src, counters[i].offset);
        switch (counters[i].merge) {
        case SUM: *d += s; break;
        case MIN: if (s != 0 && (*d == 0 || s < *d)) *d = s; break;
        case MAX: if (s > *d) *d = s; break;
        }
    }
    for (size_t i = 0; i < NHISTS; i++)
        hist_merge(HIST(dst, hists[i].offset), HIST((struct bench_result *)src, hists[i].offset));
}

int bench_result_lines(const struct bench_result *r, void (*put)(const char *line, void *arg), void *arg)
{
    char line[128];
    for (size_t i = 0; i < NCOUNTERS; i++) {
        snprintf(line, sizeof(line), "c %s %" PRIu64, counters[i].name,
                 *FIELD((struct bench_result *)r, counters[i].offset));
        put(line, arg);
    }
    for (size_t i = 0; i < NHISTS; i++) {
        const struct hist *h = HIST((struct bench_result *)r, hists[i].offset);
        int prefix = snprintf(line, sizeof(line), "h %s ", hists[i].name);
        char probe[1];
        size_t need = (size_t)prefix + hist_format(h, probe, sizeof(probe)) + 1;
        char *text = malloc(need);
        if (text == NULL)
            return -1;
        memcpy(text, line, (size_t)prefix);
        hist_format(h, text + prefix, need - (size_t)prefix);
        put(text, arg);
        free(text);
    }
    return 0;
}

int bench_result_parse_line(struct bench_result *r, const char *line)
{
    if ((line[0] != 'c' && line[0] != 'h') || line[1] != ' ')
        return -1;
    const char *name = line + 2;
    const char *sp = strchr(name, ' ');
    if (sp == NULL)
        return -1;
    size_t n = (size_t)(sp - name);
    if (line[0] == 'c') {
        for (size_t i = 0; i < NCOUNTERS; i++)
            if (strlen(counters[i].name) == n && memcmp(counters[i].name, name, n) == 0) {
                char *end;
                if (sp[1] < '0' || sp[1] > '9')
                    return -1;
                uint64_t v = strtoull(sp + 1, &end, 10);
                if (*end != '\0')
                    return -1;
                *FIELD(r, counters[i].offset) = v;
                return 0;
            }
        return -1;
    }
    for (size_t i = 0; i < NHISTS; i++)
        if (strlen(hists[i].name) == n && memcmp(hists[i].name, name, n) == 0)
            return hist_parse(HIST(r, hists[i].offset), sp + 1);
    return -1;
}
