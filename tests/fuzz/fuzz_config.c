/* fuzz_config.c — lb/config.h: the whole configuration parser on any text.
 *
 * Every text gives a configuration and no error, or NULL and at least one
 * error; every error and warning is one "FILE:..." line; freeing what was
 * returned leaves no leak (LeakSanitizer checks it).
 *
 * The parser resolves host names. This machine's resolver asks a DNS server
 * on the network for names not in /etc/hosts, and random inputs are full of
 * names: the target links with -Wl,--wrap=getaddrinfo (see the Makefile) and
 * resolves numeric addresses only, plus "localhost". So fuzzing never sends
 * a packet, and stays fast; the parser's handling of a failed resolution is
 * still exercised, by every other name. */
#include <netdb.h>
#include <string.h>

#include "../../lb/config.h"
#include "fuzz.h"

int __real_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);
int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res);

int __wrap_getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                       struct addrinfo **res)
{
    struct addrinfo numeric;
    if (hints)
        numeric = *hints;
    else
        memset(&numeric, 0, sizeof(numeric));
    numeric.ai_flags |= AI_NUMERICHOST | AI_NUMERICSERV;
    if (node && strcmp(node, "localhost") == 0)
        node = "127.0.0.1";
    return __real_getaddrinfo(node, service, &numeric, res);
}

static const char *no_env(const char *name)
{
    (void)name;
    return NULL;
}

/* Each line of sb starts with "fuzz.cfg" followed by ':' and ends with '\n'. */
static void check_lines(const struct strbuf *sb)
{
    if (sb->len == 0)
        return;
    const char *s = sb->data, *end = sb->data + sb->len;
    FUZZ_CHECK(end[-1] == '\n');
    while (s < end) {
        FUZZ_CHECK(strncmp(s, "fuzz.cfg:", 9) == 0);
        s = (const char *)memchr(s, '\n', (size_t)(end - s)) + 1;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct strbuf errors = STRBUF_INIT, warnings = STRBUF_INIT;
    struct lb_config *cfg =
        lb_config_parse("fuzz.cfg", (const char *)data, size, no_env, &errors, &warnings);
    FUZZ_CHECK(!errors.failed && !warnings.failed);
    FUZZ_CHECK((cfg == NULL) == (errors.len > 0));
    check_lines(&errors);
    check_lines(&warnings);
    if (cfg) {
        for (struct proxy *px = cfg->proxies; px; px = px->next)
            FUZZ_CHECK(lb_config_find(cfg, px->name, px->caps) != NULL);
    }
    lb_config_free(cfg);
    strbuf_free(&errors);
    strbuf_free(&warnings);
    return 0;
}
