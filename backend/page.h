/* page.h — the chat page, backend/chat-page.html, embedded in the binary
 * at build time (the Makefile turns it into build/.../chat-page.c). */
#ifndef WSCALE_PAGE_H
#define WSCALE_PAGE_H

#include <stddef.h>

extern const unsigned char chat_page_html[];
extern const size_t chat_page_html_len;

#endif
