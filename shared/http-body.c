/* http-body.c — see http-body.h. Reference: RFC 9112 section 7.1. */
#include "http-body.h"

#include <string.h>

enum {
    CH_SIZE,        /* hex digits of a chunk size */
    CH_EXT,         /* after the size: extensions up to CR */
    CH_SIZE_LF,     /* LF ending the size line */
    CH_DATA,        /* chunk data */
    CH_DATA_CR,     /* CR after chunk data */
    CH_DATA_LF,     /* LF after chunk data */
    CH_TRAILER,     /* start of a trailer line, or the final CRLF */
    CH_TRAILER_TXT, /* inside a trailer line */
    CH_TRAILER_LF,  /* LF ending a trailer line */
    CH_FINAL_LF,    /* LF of the final empty line */
    CH_DONE,
};

void http_body_init(struct http_body *b, const struct http_framing *f)
{
    memset(b, 0, sizeof(*b));
    if (f->chunked) {
        b->kind = HTTP_BODY_CHUNKED;
        b->state = CH_SIZE;
    } else if (f->until_close) {
        b->kind = HTTP_BODY_CLOSE;
    } else if (f->has_content_length && f->content_length > 0) {
        b->kind = HTTP_BODY_LENGTH;
        b->remaining = f->content_length;
    } else {
        b->kind = HTTP_BODY_NONE;
    }
}

int http_body_done(const struct http_body *b)
{
    switch (b->kind) {
    case HTTP_BODY_NONE:
        return 1;
    case HTTP_BODY_LENGTH:
        return b->remaining == 0;
    case HTTP_BODY_CHUNKED:
        return b->state == CH_DONE;
    default:
        return 0;
    }
}

static int hex_value(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Counts a byte of a size or trailer line against the line limit. */
static int line_byte(struct http_body *b)
{
    return ++b->line_len > HTTP_BODY_MAX_LINE ? -1 : 0;
}

static ssize_t chunked_feed(struct http_body *b, const uint8_t *p, size_t len, int *done)
{
    size_t i = 0;
    while (i < len && b->state != CH_DONE) {
        uint8_t c = p[i];
        switch (b->state) {
        case CH_SIZE: {
            int h = hex_value(c);
            if (h >= 0) {
                if (b->remaining >> 59) /* the next digit would overflow */
                    return -1;
                b->remaining = b->remaining << 4 | (uint64_t)h;
            } else if (b->line_len == 0) {
                return -1; /* a size needs at least one digit */
            } else if (c == ';' || c == ' ' || c == '\t') {
                b->state = CH_EXT;
            } else if (c == '\r') {
                b->state = CH_SIZE_LF;
            } else {
                return -1;
            }
            if (line_byte(b) != 0)
                return -1;
            i++;
            break;
        }
        case CH_EXT:
            if (c == '\r')
                b->state = CH_SIZE_LF;
            else if (c == '\n' || (c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            if (line_byte(b) != 0)
                return -1;
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                return -1;
            i++;
            b->line_len = 0;
            if (b->remaining == 0) {
                b->last_chunk = 1;
                b->state = CH_TRAILER;
            } else {
                b->state = CH_DATA;
            }
            break;
        case CH_DATA: {
            size_t n = len - i;
            if (n > b->remaining)
                n = (size_t)b->remaining;
            b->remaining -= n;
            i += n;
            if (b->remaining == 0)
                b->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
            if (c != '\r')
                return -1;
            b->state = CH_DATA_LF;
            i++;
            break;
        case CH_DATA_LF:
            if (c != '\n')
                return -1;
            b->state = CH_SIZE;
            i++;
            break;
        case CH_TRAILER:
            if (c == '\r') {
                b->state = CH_FINAL_LF;
            } else if (c == '\n' || c == ' ' || c == '\t') {
                return -1; /* bare LF, or obs-fold in trailers */
            } else {
                b->state = CH_TRAILER_TXT;
                b->line_len = 1;
            }
            i++;
            break;
        case CH_TRAILER_TXT:
            if (c == '\r')
                b->state = CH_TRAILER_LF;
            else if (c == '\n' || (c < 0x20 && c != '\t') || c == 0x7f)
                return -1;
            else if (line_byte(b) != 0)
                return -1;
            i++;
            break;
        case CH_TRAILER_LF:
            if (c != '\n')
                return -1;
            b->state = CH_TRAILER;
            b->line_len = 0;
            i++;
            break;
        case CH_FINAL_LF:
            if (c != '\n')
                return -1;
            b->state = CH_DONE;
            i++;
            break;
        }
    }
    *done = b->state == CH_DONE;
    return (ssize_t)i;
}

ssize_t http_body_feed(struct http_body *b, const uint8_t *p, size_t len, int *done)
{
    ssize_t n;
    switch (b->kind) {
    case HTTP_BODY_NONE:
        n = 0;
        *done = 1;
        break;
    case HTTP_BODY_LENGTH:
        n = (ssize_t)(len < b->remaining ? len : b->remaining);
        b->remaining -= (uint64_t)n;
        *done = b->remaining == 0;
        break;
    case HTTP_BODY_CHUNKED:
        n = chunked_feed(b, p, len, done);
        break;
    default:
        n = (ssize_t)len;
        *done = 0;
        break;
    }
    if (n > 0)
        b->total += (uint64_t)n;
    return n;
}
