/* payload.c — see payload.h. */
#include "payload.h"

#include <stdio.h>
#include <string.h>

#define MAGIC "WSB1 "

void payload_write(uint8_t *out, size_t size, const struct payload *p)
{
    char head[PAYLOAD_HEADER + 1];
    snprintf(head, sizeof(head), MAGIC "%08x %08x %016llx ", (unsigned)p->sender, (unsigned)p->seq,
             (unsigned long long)p->sent_ns);
    memcpy(out, head, PAYLOAD_HEADER);
    memset(out + PAYLOAD_HEADER, 'x', size - PAYLOAD_HEADER);
}

/* Reads n hex digits; returns -1 on anything else. */
static int hex(const uint8_t *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10;
        else
            return -1;
        v = v << 4 | d;
    }
    *out = v;
    return 0;
}

int payload_read(const uint8_t *msg, size_t len, struct payload *p)
{
    size_t scan = len < 256 ? len : 256;
    const uint8_t *h = memmem(msg, scan, MAGIC, sizeof(MAGIC) - 1);
    if (h == NULL || (size_t)(msg + len - h) < PAYLOAD_HEADER)
        return -1;
    uint64_t sender, seq, ts;
    if (hex(h + 5, 8, &sender) != 0 || h[13] != ' ' || hex(h + 14, 8, &seq) != 0 || h[22] != ' ' ||
        hex(h + 23, 16, &ts) != 0 || h[39] != ' ')
        return -1;
    p->sender = (uint32_t)sender;
    p->seq = (uint32_t)seq;
    p->sent_ns = ts;
    return 0;
}
