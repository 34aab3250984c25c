/* strbuf.h — a growable text buffer for building responses and reports. */
#ifndef WSCALE_STRBUF_H
#define WSCALE_STRBUF_H

#include <stddef.h>

struct strbuf {
    char *data; /* NUL-terminated once anything was appended */
    size_t len, cap;
    int failed; /* an allocation failed: the content is incomplete */
};

#define STRBUF_INIT { NULL, 0, 0, 0 }

void strbuf_append(struct strbuf *sb, const char *p, size_t n);
void strbuf_printf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_free(struct strbuf *sb);

#endif
