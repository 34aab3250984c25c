/* config.h — reads an HAProxy-style configuration into struct lb_config.
 *
 * Supported: sections global, defaults, frontend, backend, listen, with
 * HAProxy's keywords and semantics for what wscale does (see conf/lb.cfg and
 * the README). Anything else is an error naming the keyword: a config never
 * means something other than what it says. Errors and warnings are lines of
 * "FILE:LINE: message". Host names are resolved here, once. */
#ifndef WSCALE_LB_CONFIG_H
#define WSCALE_LB_CONFIG_H

#include <stddef.h>

#include "../shared/conf.h"
#include "../shared/strbuf.h"
#include "lb-t.h"

/* Parses text (the content of file `name`). Returns the configuration, or
 * NULL when there was at least one error; errors and warnings are appended
 * to the buffers, one line each. */
struct lb_config *lb_config_parse(const char *name, const char *text, size_t len,
                                  conf_getenv_fn *getenv_fn, struct strbuf *errors,
                                  struct strbuf *warnings);

/* Reads a file's bytes into text. Returns 0, or -1 with the error. */
int lb_config_read(const char *path, struct strbuf *text, struct strbuf *errors);

/* Reads and parses a file; a file that cannot be read is an error too. */
struct lb_config *lb_config_load(const char *path, conf_getenv_fn *getenv_fn,
                                 struct strbuf *errors, struct strbuf *warnings);

/* Finds a proxy by name having all of `caps`. */
struct proxy *lb_config_find(const struct lb_config *cfg, const char *name, unsigned caps);

void lb_config_free(struct lb_config *cfg);

#endif
