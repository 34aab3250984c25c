/* cli.c — see cli.h. */
#include "cli.h"

#include <stdio.h>
#include <string.h>

void cli_init(struct cli *c, int argc, char **argv, int first)
{
    memset(c, 0, sizeof(*c));
    c->argc = argc;
    c->argv = argv;
    c->next = first;
}

int cli_next(struct cli *c, const struct cli_option *options)
{
    c->value = NULL;
    c->option = NULL;
    if (c->next >= c->argc)
        return CLI_END;

    const char *arg = c->argv[c->next++];
    if (!c->options_done && strcmp(arg, "--") == 0) {
        c->options_done = 1;
        if (c->next >= c->argc)
            return CLI_END;
        arg = c->argv[c->next++];
    }
    if (c->options_done || arg[0] != '-' || arg[1] == '\0') {
        c->value = arg;
        return CLI_POSITIONAL;
    }

    const struct cli_option *o;
    const char *inline_value = NULL;
    c->option = arg;
    if (arg[1] == '-') {
        const char *name = arg + 2;
        const char *eq = strchr(name, '=');
        size_t n = eq ? (size_t)(eq - name) : strlen(name);
        for (o = options; o->name; o++)
            if (strlen(o->name) == n && strncmp(o->name, name, n) == 0)
                break;
        if (eq)
            inline_value = eq + 1;
    } else {
        for (o = options; o->name; o++)
            if (o->short_name != 0 && o->short_name == arg[1])
                break;
        if (o->name && arg[2] != '\0')
            inline_value = arg + 2; /* "-fFILE" */
    }
    if (o->name == NULL) {
        snprintf(c->error, sizeof(c->error), "unknown option '%s'", arg);
        return CLI_ERROR;
    }

    if (!o->takes_value) {
        if (inline_value) {
            snprintf(c->error, sizeof(c->error), "option '--%s' takes no value", o->name);
            return CLI_ERROR;
        }
        return o->id;
    }
    if (inline_value) {
        c->value = inline_value;
    } else if (c->next < c->argc) {
        c->value = c->argv[c->next++];
    } else {
        snprintf(c->error, sizeof(c->error), "option '%s' needs a value", arg);
        return CLI_ERROR;
    }
    return o->id;
}
