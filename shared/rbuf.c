/* rbuf.c — see rbuf.h. */
#include "rbuf.h"

#include <stdlib.h>

struct rbuf *rbuf_new(size_t len)
{
    struct rbuf *b = malloc(sizeof(*b) + len);
    if (b == NULL)
        return NULL;
    b->refs = 1;
    b->len = len;
    return b;
}

void rbuf_unref(struct rbuf *b)
{
    if (--b->refs == 0)
        free(b);
}
