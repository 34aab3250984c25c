/* conf.c — see conf.h. */
#include "conf.h"

#include <string.h>

/* Appends c to the word being built; fails when the line is full. The words
 * never need more than the line's length plus one NUL (each further word's
 * NUL takes the place of the blank before it), which words[] holds. */
static int put(struct conf_line *out, size_t *n, char c)
{
    if (*n >= sizeof(out->words))
        return -1;
    out->words[(*n)++] = c;
    return 0;
}

/* Expands ${NAME} at text[*i] (pointing at '$'). */
static int expand(const char *text, size_t len, size_t *i, struct conf_line *out, size_t *n,
                  conf_getenv_fn *getenv_fn, const char **err)
{
    size_t start = *i + 2, j = start;
    while (j < len && text[j] != '}')
        j++;
    if (j >= len) {
        *err = "'${' without a closing '}'";
        return -1;
    }
    char name[256];
    size_t nlen = j - start;
    if (nlen == 0 || nlen >= sizeof(name)) {
        *err = "invalid environment variable name in '${...}'";
        return -1;
    }
    memcpy(name, text + start, nlen);
    name[nlen] = '\0';
    const char *value = getenv_fn(name);
    for (const char *v = value ? value : ""; *v; v++) {
        if (put(out, n, *v) != 0) {
            *err = "line too long after expanding environment variables";
            return -1;
        }
    }
    *i = j + 1;
    return 0;
}

static char unescape(char c)
{
    switch (c) {
    case 't': return '\t';
    case 'n': return '\n';
    case 'r': return '\r';
    default: return c;
    }
}

int conf_split_line(const char *text, size_t len, int lineno, conf_getenv_fn *getenv_fn,
                    struct conf_line *out, const char **err)
{
    size_t i = 0, n = 0;
    out->lineno = lineno;
    out->argc = 0;
    if (len > CONF_MAX_LINE) {
        *err = "line too long";
        return -1;
    }
    if (memchr(text, '\0', len)) {
        *err = "NUL byte in line";
        return -1;
    }

    for (;;) {
        while (i < len && (text[i] == ' ' || text[i] == '\t' || text[i] == '\r'))
            i++;
        if (i >= len || text[i] == '#')
            return 0;
        if (out->argc == CONF_MAX_WORDS) {
            *err = "too many words on one line";
            return -1;
        }
        out->argv[out->argc++] = out->words + n;

        char quote = 0;
        while (i < len) {
            char c = text[i];
            if (quote == '\'') {
                if (c == '\'')
                    quote = 0;
                else if (put(out, &n, c) != 0)
                    goto full;
                i++;
            } else if (c == '\\') {
                if (i + 1 >= len) {
                    *err = "backslash at end of line";
                    return -1;
                }
                if (put(out, &n, unescape(text[i + 1])) != 0)
                    goto full;
                i += 2;
            } else if (quote == '"') {
                if (c == '"') {
                    quote = 0;
                    i++;
                } else if (c == '$' && i + 1 < len && text[i + 1] == '{') {
                    if (expand(text, len, &i, out, &n, getenv_fn, err) != 0)
                        return -1;
                } else {
                    if (put(out, &n, c) != 0)
                        goto full;
                    i++;
                }
            } else if (c == '"' || c == '\'') {
                quote = c;
                i++;
            } else if (c == ' ' || c == '\t' || c == '\r' || c == '#') {
                break;
            } else {
                if (put(out, &n, c) != 0)
                    goto full;
                i++;
            }
        }
        if (quote) {
            *err = quote == '"' ? "unterminated double quote" : "unterminated single quote";
            return -1;
        }
        if (put(out, &n, '\0') != 0)
            goto full;
    }
full:
    *err = "line too long";
    return -1;
}
