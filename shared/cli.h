/* cli.h — command-line options: "--name VALUE", "--name=VALUE", "-n VALUE",
 * and flags without a value. No global state (unlike getopt), so each mode
 * and each unit test parses its own argv. */
#ifndef WSCALE_CLI_H
#define WSCALE_CLI_H

#include <stddef.h>

struct cli_option {
    const char *name; /* long name without "--" */
    char short_name;  /* or 0 */
    int takes_value;
    int id;           /* returned by cli_next(), must be > 0 */
};

#define CLI_END 0
#define CLI_ERROR (-1)
#define CLI_POSITIONAL (-2)

struct cli {
    int argc;
    char **argv;
    int next;            /* index of the next argument to look at */
    int options_done;    /* "--" was seen: every later argument is positional */
    const char *value;   /* value of the option just returned, or the positional */
    const char *option;  /* the option as written, for messages ("--listen") */
    char error[160];     /* set when CLI_ERROR is returned */
};

/* Starts reading argv[first..argc). */
void cli_init(struct cli *c, int argc, char **argv, int first);

/* Returns the id of the next option (c->value holds its value, if any),
 * CLI_POSITIONAL for a non-option argument (in c->value), CLI_END, or
 * CLI_ERROR with c->error naming the option and the problem. */
int cli_next(struct cli *c, const struct cli_option *options);

#endif
