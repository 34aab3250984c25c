/* test_cli.c — shared/cli.h: command-line option parsing. */
#include <string.h>

#include "../../shared/cli.h"
#include "unit.h"

enum { OPT_NAME = 1, OPT_VERBOSE, OPT_PORT };

static const struct cli_option options[] = {
    { "name", 'n', 1, OPT_NAME },
    { "verbose", 'v', 0, OPT_VERBOSE },
    { "port", 0, 1, OPT_PORT },
    { NULL, 0, 0, 0 },
};

#define ARGC(argv) ((int)(sizeof(argv) / sizeof((argv)[0])))

static struct cli c;

static void start(int argc, char **argv)
{
    cli_init(&c, argc, argv, 1); /* argv[0] is the program */
}

static void test_long_option_with_separate_value(void)
{
    char *argv[] = { "prog", "--name", "alice" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), OPT_NAME);
    CHECK_EQ_STR(c.value, "alice");
    CHECK_EQ_STR(c.option, "--name");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_long_option_with_equals_value(void)
{
    char *argv[] = { "prog", "--name=alice=bob", "--port=" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), OPT_NAME);
    CHECK_EQ_STR(c.value, "alice=bob");
    CHECK_EQ_INT(cli_next(&c, options), OPT_PORT);
    CHECK_EQ_STR(c.value, "");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_short_option_with_separate_value(void)
{
    char *argv[] = { "prog", "-n", "alice" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), OPT_NAME);
    CHECK_EQ_STR(c.value, "alice");
    CHECK_EQ_STR(c.option, "-n");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_short_option_with_attached_value(void)
{
    char *argv[] = { "prog", "-nalice", "-n-x" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), OPT_NAME);
    CHECK_EQ_STR(c.value, "alice");
    CHECK_EQ_INT(cli_next(&c, options), OPT_NAME);
    CHECK_EQ_STR(c.value, "-x");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_value_may_start_with_a_dash(void)
{
    char *argv[] = { "prog", "--name", "-v" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), OPT_NAME);
    CHECK_EQ_STR(c.value, "-v");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_flags_take_no_value(void)
{
    char *argv[] = { "prog", "--verbose", "-v", "file" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), OPT_VERBOSE);
    CHECK(c.value == NULL);
    CHECK_EQ_STR(c.option, "--verbose");
    CHECK_EQ_INT(cli_next(&c, options), OPT_VERBOSE);
    CHECK(c.value == NULL);
    CHECK_EQ_INT(cli_next(&c, options), CLI_POSITIONAL);
    CHECK_EQ_STR(c.value, "file");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_flag_given_a_value_is_an_error(void)
{
    char *argv[] = { "prog", "--verbose=yes" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "verbose") != NULL);

    char *argv2[] = { "prog", "-vx" };
    start(ARGC(argv2), argv2);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "verbose") != NULL);
}

static void test_missing_value_is_an_error(void)
{
    char *argv[] = { "prog", "--name" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "--name") != NULL);

    char *argv2[] = { "prog", "--verbose", "-n" };
    start(ARGC(argv2), argv2);
    CHECK_EQ_INT(cli_next(&c, options), OPT_VERBOSE);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "-n") != NULL);
}

static void test_unknown_option_error_names_it(void)
{
    char *argv[] = { "prog", "--bogus", "x" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "--bogus") != NULL);

    char *argv2[] = { "prog", "-z" };
    start(ARGC(argv2), argv2);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "-z") != NULL);

    char *argv3[] = { "prog", "--nam=x" }; /* no prefix matching */
    start(ARGC(argv3), argv3);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "--nam") != NULL);

    char *argv4[] = { "prog", "--names", "x" };
    start(ARGC(argv4), argv4);
    CHECK_EQ_INT(cli_next(&c, options), CLI_ERROR);
    CHECK(strstr(c.error, "--names") != NULL);
}

static void test_positional_arguments_are_returned_in_order(void)
{
    char *argv[] = { "prog", "first", "--verbose", "-", "last" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), CLI_POSITIONAL);
    CHECK_EQ_STR(c.value, "first");
    CHECK_EQ_INT(cli_next(&c, options), OPT_VERBOSE);
    CHECK_EQ_INT(cli_next(&c, options), CLI_POSITIONAL);
    CHECK_EQ_STR(c.value, "-"); /* a lone dash is an argument (stdin) */
    CHECK_EQ_INT(cli_next(&c, options), CLI_POSITIONAL);
    CHECK_EQ_STR(c.value, "last");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_double_dash_alone_ends_the_arguments(void)
{
    char *argv[] = { "prog", "--verbose", "--" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), OPT_VERBOSE);
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_double_dash_makes_every_later_argument_positional(void)
{
    char *argv[] = { "prog", "--", "--name", "-v", "--bogus" };
    start(ARGC(argv), argv);
    CHECK_EQ_INT(cli_next(&c, options), CLI_POSITIONAL);
    CHECK_EQ_STR(c.value, "--name");
    CHECK_EQ_INT(cli_next(&c, options), CLI_POSITIONAL);
    CHECK_EQ_STR(c.value, "-v");
    CHECK_EQ_INT(cli_next(&c, options), CLI_POSITIONAL);
    CHECK_EQ_STR(c.value, "--bogus");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

static void test_first_index_skips_earlier_arguments(void)
{
    char *argv[] = { "wscale", "backend", "--port", "80" };
    cli_init(&c, ARGC(argv), argv, 2);
    CHECK_EQ_INT(cli_next(&c, options), OPT_PORT);
    CHECK_EQ_STR(c.value, "80");
    CHECK_EQ_INT(cli_next(&c, options), CLI_END);
}

int main(void)
{
    RUN(test_long_option_with_separate_value);
    RUN(test_long_option_with_equals_value);
    RUN(test_short_option_with_separate_value);
    RUN(test_short_option_with_attached_value);
    RUN(test_value_may_start_with_a_dash);
    RUN(test_flags_take_no_value);
    RUN(test_flag_given_a_value_is_an_error);
    RUN(test_missing_value_is_an_error);
    RUN(test_unknown_option_error_names_it);
    RUN(test_positional_arguments_are_returned_in_order);
    RUN(test_double_dash_alone_ends_the_arguments);
    RUN(test_double_dash_makes_every_later_argument_positional);
    RUN(test_first_index_skips_earlier_arguments);
    return unit_report("cli");
}
