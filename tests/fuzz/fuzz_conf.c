/* fuzz_conf.c — shared/conf.h: the configuration line lexer.
 *
 * Any line either splits into at most CONF_MAX_WORDS words that lie, each
 * NUL-terminated and in order, inside the line's words[] array, or is
 * refused with a reason. The words, written back in single quotes, split
 * again into the same words. */
#include <string.h>

#include "../../shared/conf.h"
#include "fuzz.h"

static char long_value[CONF_MAX_LINE + 16];

/* ${S...} is "a b", ${L...} longer than any line, anything else unset. */
static const char *fuzz_getenv(const char *name)
{
    if (name[0] == 'S')
        return "a b";
    if (name[0] == 'L') {
        memset(long_value, 'v', sizeof(long_value) - 1);
        return long_value;
    }
    return NULL;
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

static void check_words(const struct conf_line *l)
{
    FUZZ_CHECK(l->argc >= 0 && l->argc <= CONF_MAX_WORDS);
    const char *next = l->words, *end = l->words + sizeof(l->words);
    for (int i = 0; i < l->argc; i++) {
        FUZZ_CHECK(l->argv[i] >= next && l->argv[i] < end);
        const char *nul = memchr(l->argv[i], '\0', (size_t)(end - l->argv[i]));
        FUZZ_CHECK(nul != NULL);
        next = nul + 1;
    }
}

/* Writes the words back as a line: each in single quotes, a quote itself
 * as '\''. Returns the length, or 0 if it does not fit. */
static size_t requote(const struct conf_line *l, char *out, size_t cap)
{
    size_t n = 0;
    for (int i = 0; i < l->argc; i++) {
        if (n + 3 > cap)
            return 0;
        if (i > 0)
            out[n++] = ' ';
        out[n++] = '\'';
        for (const char *c = l->argv[i]; *c; c++) {
            if (n + 6 > cap)
                return 0;
            if (*c == '\'') {
                memcpy(out + n, "'\\''", 4);
                n += 4;
            } else {
                out[n++] = *c;
            }
        }
        out[n++] = '\'';
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct conf_line line, again;
    static char text[CONF_MAX_LINE];
    const char *err = NULL;

    line.argc = -1;
    int rc = conf_split_line((const char *)data, size, 42, fuzz_getenv, &line, &err);
    FUZZ_CHECK(rc == 0 || (rc == -1 && err != NULL));
    if (rc != 0)
        return 0;
    FUZZ_CHECK(line.lineno == 42);
    check_words(&line);

    size_t n = requote(&line, text, sizeof(text));
    if (n == 0 && line.argc > 0)
        return 0;
    err = NULL;
    FUZZ_CHECK(conf_split_line(text, n, 1, no_env, &again, &err) == 0);
    FUZZ_CHECK(again.argc == line.argc);
    for (int i = 0; i < line.argc; i++)
        FUZZ_CHECK(strcmp(again.argv[i], line.argv[i]) == 0);
    return 0;
}
