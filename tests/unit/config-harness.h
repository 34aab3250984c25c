/* config-harness.h — parsing lb configuration texts in unit tests: the
 * last result, its errors and warnings, and line matching on them. */
#ifndef WSCALE_CONFIG_HARNESS_H
#define WSCALE_CONFIG_HARNESS_H

#include <stdarg.h>
#include <string.h>

#include "../../lb/config.h"

static struct strbuf errors = STRBUF_INIT, warnings = STRBUF_INIT;
static struct lb_config *cfg;

/* The environment the texts see: ${LB_ADDR} and ${LB_PORT}, nothing else. */
static inline const char *fake_getenv(const char *name)
{
    if (strcmp(name, "LB_ADDR") == 0)
        return "127.0.0.1";
    if (strcmp(name, "LB_PORT") == 0)
        return "9090";
    return NULL;
}

/* Parses text as file "t.cfg", replacing the previous result. */
static inline struct lb_config *parse(const char *text)
{
    lb_config_free(cfg);
    strbuf_free(&errors);
    strbuf_free(&warnings);
    cfg = lb_config_parse("t.cfg", text, strlen(text), fake_getenv, &errors, &warnings);
    return cfg;
}

static inline const char *errs(void)
{
    return errors.data ? errors.data : "";
}

static inline const char *warns(void)
{
    return warnings.data ? warnings.data : "";
}

static inline int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* True if some line of `text` starts with `prefix` and contains every
 * fragment of the NULL-terminated list. */
static inline int has_line(const char *text, const char *prefix, va_list ap)
{
    const char *frags[16];
    int nfrags = 0;
    for (const char *f; (f = va_arg(ap, const char *)) != NULL && nfrags < 16;)
        frags[nfrags++] = f;
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        char buf[1024];
        if (len >= sizeof(buf))
            len = sizeof(buf) - 1;
        memcpy(buf, line, len);
        buf[len] = '\0';
        int ok = strncmp(buf, prefix, strlen(prefix)) == 0;
        for (int i = 0; ok && i < nfrags; i++)
            ok = strstr(buf, frags[i]) != NULL;
        if (ok)
            return 1;
        line += len + (end ? 1 : 0);
    }
    return 0;
}

#endif
