/* conf.h — the lexer of HAProxy-style configuration files.
 *
 * Pure: text in, lines of words out. Rules, as HAProxy's:
 *   - words are separated by spaces and tabs; '#' starts a comment
 *   - "double quotes" group a word and expand ${NAME} from the environment
 *   - 'single quotes' group a word literally
 *   - a backslash escapes the next character outside single quotes
 *     (\  \# \" \' \\ ; \t \n \r are tab, newline, carriage return)
 *   - a line holds at most CONF_MAX_WORDS words and CONF_MAX_LINE bytes
 * Semantics (sections, keywords) belong to the caller. */
#ifndef WSCALE_CONF_H
#define WSCALE_CONF_H

#include <stddef.h>

#define CONF_MAX_WORDS 64
#define CONF_MAX_LINE 4096

struct conf_line {
    int lineno;                   /* 1-based */
    int argc;                     /* 0 for a blank or comment-only line */
    char *argv[CONF_MAX_WORDS];   /* point into words */
    char words[CONF_MAX_LINE + 1];
};

/* Environment lookup for ${NAME}: getenv() in production. */
typedef const char *conf_getenv_fn(const char *name);

/* Splits one line (without its newline; len bytes) into words. Returns 0, or
 * -1 with *err describing the problem (unterminated quote, ${ without },
 * too many words, line too long, NUL byte). */
int conf_split_line(const char *text, size_t len, int lineno, conf_getenv_fn *getenv_fn,
                    struct conf_line *out, const char **err);

#endif
