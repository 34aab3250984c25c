/* test_conf.c — shared/conf.h: the HAProxy-style line lexer (words, comments,
 * quotes, escapes, ${NAME} expansion) and its limits. */
#include <stdlib.h>
#include <string.h>

#include "../../shared/conf.h"
#include "unit.h"

static struct conf_line line;
static const char *err;

/* A fake environment: HOST=example.com, PORT=8080, SPACED="a b", LONG is
 * long_value when set; everything else undefined. */
static const char *long_value;

static const char *fake_getenv(const char *name)
{
    if (strcmp(name, "HOST") == 0)
        return "example.com";
    if (strcmp(name, "PORT") == 0)
        return "8080";
    if (strcmp(name, "SPACED") == 0)
        return "a b";
    if (strcmp(name, "LONG") == 0)
        return long_value;
    return NULL;
}

/* Splits text[0..len) from a heap copy of exactly len bytes, so that ASan
 * reports any read past the end. */
static int split_n(const char *text, size_t len, int lineno)
{
    char *copy = malloc(len ? len : 1);
    memcpy(copy, text, len);
    /* Stale bytes in words, but argv NULL: a test looking at a word the
     * lexer did not produce fails instead of crashing. */
    memset(&line, 0, sizeof(line));
    memset(line.words, 0x5a, sizeof(line.words));
    line.lineno = -1;
    line.argc = -1;
    err = NULL;
    int rc = conf_split_line(copy, len, lineno, fake_getenv, &line, &err);
    free(copy);
    if (rc != 0) {
        /* A refused line's words may be unterminated. */
        for (int i = 0; i < CONF_MAX_WORDS; i++)
            line.argv[i] = NULL;
    }
    return rc;
}

static int split(const char *text)
{
    return split_n(text, strlen(text), 7);
}

/* ---- words and comments ---- */

static void test_words_are_split_on_spaces_and_tabs(void)
{
    CHECK_EQ_INT(split("  server\ts1   127.0.0.1:8081 \t check  "), 0);
    CHECK_EQ_INT(line.argc, 4);
    CHECK_EQ_STR(line.argv[0], "server");
    CHECK_EQ_STR(line.argv[1], "s1");
    CHECK_EQ_STR(line.argv[2], "127.0.0.1:8081");
    CHECK_EQ_STR(line.argv[3], "check");
}

static void test_single_word_line(void)
{
    CHECK_EQ_INT(split("global"), 0);
    CHECK_EQ_INT(line.argc, 1);
    CHECK_EQ_STR(line.argv[0], "global");
}

static void test_blank_lines_give_no_words(void)
{
    CHECK_EQ_INT(split(""), 0);
    CHECK_EQ_INT(line.argc, 0);
    CHECK_EQ_INT(split("   \t  "), 0);
    CHECK_EQ_INT(line.argc, 0);
}

static void test_comment_only_lines_give_no_words(void)
{
    CHECK_EQ_INT(split("# a comment with \"quotes and 'stuff"), 0);
    CHECK_EQ_INT(line.argc, 0);
    CHECK_EQ_INT(split("    # indented comment"), 0);
    CHECK_EQ_INT(line.argc, 0);
    CHECK_EQ_INT(split("#"), 0);
    CHECK_EQ_INT(line.argc, 0);
}

static void test_comment_after_words_is_dropped(void)
{
    CHECK_EQ_INT(split("bind *:80 # listen here"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[0], "bind");
    CHECK_EQ_STR(line.argv[1], "*:80");
}

static void test_comment_right_after_a_word_ends_it(void)
{
    CHECK_EQ_INT(split("bind *:80#x y z"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[1], "*:80");
}

static void test_comment_text_is_not_lexed(void)
{
    /* An unterminated quote or a lone backslash in a comment is no error. */
    CHECK_EQ_INT(split("mode http # don't \"worry\\"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[1], "http");
}

static void test_lineno_is_stored(void)
{
    CHECK_EQ_INT(split_n("mode http", 9, 42), 0);
    CHECK_EQ_INT(line.lineno, 42);
    CHECK_EQ_INT(split_n("", 0, 3), 0);
    CHECK_EQ_INT(line.lineno, 3);
}

static void test_argv_points_into_words(void)
{
    CHECK_EQ_INT(split("a bb ccc"), 0);
    CHECK_EQ_INT(line.argc, 3);
    for (int i = 0; i < line.argc; i++) {
        CHECK(line.argv[i] >= line.words);
        CHECK(line.argv[i] < line.words + sizeof(line.words));
    }
}

static void test_trailing_carriage_return_is_whitespace(void)
{
    /* Files written on Windows: "mode http\r" is two words. */
    CHECK_EQ_INT(split("mode http\r"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[1], "http");
}

/* ---- double quotes ---- */

static void test_double_quotes_group_words(void)
{
    CHECK_EQ_INT(split("log \"a b\tc\" d"), 0);
    CHECK_EQ_INT(line.argc, 3);
    CHECK_EQ_STR(line.argv[1], "a b\tc");
    CHECK_EQ_STR(line.argv[2], "d");
}

static void test_quotes_join_with_adjacent_text(void)
{
    CHECK_EQ_INT(split("x\"y z\"w 'p q'r"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[0], "xy zw");
    CHECK_EQ_STR(line.argv[1], "p qr");
}

static void test_hash_inside_quotes_is_not_a_comment(void)
{
    CHECK_EQ_INT(split("a \"b # c\" '# d' e"), 0);
    CHECK_EQ_INT(line.argc, 4);
    CHECK_EQ_STR(line.argv[1], "b # c");
    CHECK_EQ_STR(line.argv[2], "# d");
    CHECK_EQ_STR(line.argv[3], "e");
}

static void test_empty_double_quoted_word_is_a_word(void)
{
    CHECK_EQ_INT(split("a \"\" b"), 0);
    CHECK_EQ_INT(line.argc, 3);
    CHECK_EQ_STR(line.argv[0], "a");
    CHECK_EQ_STR(line.argv[1], "");
    CHECK_EQ_STR(line.argv[2], "b");
}

static void test_empty_single_quoted_word_is_a_word(void)
{
    CHECK_EQ_INT(split("''"), 0);
    CHECK_EQ_INT(line.argc, 1);
    CHECK_EQ_STR(line.argv[0], "");
}

static void test_variables_expand_in_double_quotes(void)
{
    CHECK_EQ_INT(split("bind \"${HOST}:${PORT}\""), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[1], "example.com:8080");
}

static void test_expanded_value_stays_one_word(void)
{
    CHECK_EQ_INT(split("x \"${SPACED}\" y"), 0);
    CHECK_EQ_INT(line.argc, 3);
    CHECK_EQ_STR(line.argv[1], "a b");
}

static void test_undefined_variable_expands_to_empty(void)
{
    CHECK_EQ_INT(split("x \"<${NOPE}>\""), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[1], "<>");
    CHECK_EQ_INT(split("x \"${NOPE}\" y"), 0);
    CHECK_EQ_INT(line.argc, 3);
    CHECK_EQ_STR(line.argv[1], "");
}

static void test_dollar_without_brace_is_literal(void)
{
    CHECK_EQ_INT(split("x \"$HOST a$ $\""), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[1], "$HOST a$ $");
}

static void test_variables_do_not_expand_outside_double_quotes(void)
{
    CHECK_EQ_INT(split("x ${HOST} '${HOST}'"), 0);
    CHECK_EQ_INT(line.argc, 3);
    CHECK_EQ_STR(line.argv[1], "${HOST}");
    CHECK_EQ_STR(line.argv[2], "${HOST}");
}

/* ---- single quotes ---- */

static void test_single_quotes_are_literal(void)
{
    CHECK_EQ_INT(split("x 'a \"b\" \\n \\\\ # c'"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[1], "a \"b\" \\n \\\\ # c");
}

static void test_double_quote_inside_single_quotes_and_back(void)
{
    CHECK_EQ_INT(split("\"it's\" 'say \"hi\"'"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[0], "it's");
    CHECK_EQ_STR(line.argv[1], "say \"hi\"");
}

/* ---- backslash escapes ---- */

static void test_escaped_space_joins_a_word(void)
{
    CHECK_EQ_INT(split("a\\ b c"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[0], "a b");
    CHECK_EQ_STR(line.argv[1], "c");
}

static void test_escaped_hash_is_not_a_comment(void)
{
    CHECK_EQ_INT(split("a\\#b c"), 0);
    CHECK_EQ_INT(line.argc, 2);
    CHECK_EQ_STR(line.argv[0], "a#b");
}

static void test_escaped_quotes_and_backslash(void)
{
    CHECK_EQ_INT(split("\\\"a \\'b \\\\c"), 0);
    CHECK_EQ_INT(line.argc, 3);
    CHECK_EQ_STR(line.argv[0], "\"a");
    CHECK_EQ_STR(line.argv[1], "'b");
    CHECK_EQ_STR(line.argv[2], "\\c");
}

static void test_escaped_control_characters(void)
{
    CHECK_EQ_INT(split("a\\tb\\nc\\rd"), 0);
    CHECK_EQ_INT(line.argc, 1);
    CHECK_EQ_STR(line.argv[0], "a\tb\nc\rd");
}

static void test_escapes_work_inside_double_quotes(void)
{
    CHECK_EQ_INT(split("\"a\\\"b\\t\\${HOST}\""), 0);
    CHECK_EQ_INT(line.argc, 1);
    CHECK_EQ_STR(line.argv[0], "a\"b\t${HOST}");
}

/* ---- errors ---- */

static void check_error(const char *text, const char *fragment)
{
    int rc = split(text);
    CHECK_EQ_INT(rc, -1);
    CHECK(err != NULL);
    if (err && strstr(err, fragment) == NULL) {
        fprintf(stderr, "  error for [%s] is \"%s\", expected it to contain \"%s\"\n", text, err,
                fragment);
        unit_current_failed = 1;
    }
}

static void test_unterminated_double_quote_is_an_error(void)
{
    check_error("bind \"*:80", "unterminated double quote");
    check_error("\"", "unterminated double quote");
}

static void test_unterminated_single_quote_is_an_error(void)
{
    check_error("bind '*:80", "unterminated single quote");
    check_error("a 'b # c", "unterminated single quote");
}

static void test_dollar_brace_without_close_is_an_error(void)
{
    check_error("x \"${HOST\"", "without a closing");
    check_error("x \"${", "without a closing");
}

static void test_empty_variable_name_is_an_error(void)
{
    check_error("x \"${}\"", "variable name");
}

static void test_backslash_at_end_of_line_is_an_error(void)
{
    check_error("mode http\\", "backslash at end of line");
    check_error("\\", "backslash at end of line");
    check_error("x \"a\\", "backslash at end of line");
}

static void test_nul_byte_is_an_error(void)
{
    static const char text[] = "mode\0http";
    CHECK_EQ_INT(split_n(text, sizeof(text) - 1, 1), -1);
    CHECK(err != NULL && strstr(err, "NUL") != NULL);
    /* Even in a comment. */
    static const char comment[] = "mode http # \0";
    CHECK_EQ_INT(split_n(comment, sizeof(comment) - 1, 1), -1);
}

static void test_max_words_are_accepted(void)
{
    char text[CONF_MAX_WORDS * 2 + 1];
    size_t n = 0;
    for (int i = 0; i < CONF_MAX_WORDS; i++) {
        text[n++] = (char)('a' + i % 26);
        text[n++] = ' ';
    }
    CHECK_EQ_INT(split_n(text, n, 1), 0);
    CHECK_EQ_INT(line.argc, CONF_MAX_WORDS);
    CHECK_EQ_STR(line.argv[CONF_MAX_WORDS - 1], "l"); /* 63 % 26 = 11 */
}

static void test_too_many_words_is_an_error(void)
{
    char text[(CONF_MAX_WORDS + 1) * 2 + 1];
    size_t n = 0;
    for (int i = 0; i < CONF_MAX_WORDS + 1; i++) {
        text[n++] = 'w';
        text[n++] = ' ';
    }
    text[n] = '\0';
    check_error(text, "too many words");
}

static void test_trailing_comment_does_not_count_as_words(void)
{
    char text[CONF_MAX_WORDS * 2 + 64];
    size_t n = 0;
    for (int i = 0; i < CONF_MAX_WORDS; i++) {
        text[n++] = 'w';
        text[n++] = ' ';
    }
    memcpy(text + n, "# one two three", 15);
    n += 15;
    CHECK_EQ_INT(split_n(text, n, 1), 0);
    CHECK_EQ_INT(line.argc, CONF_MAX_WORDS);
}

static void test_line_of_max_length_is_accepted(void)
{
    /* "a line holds at most CONF_MAX_LINE bytes": exactly that many is fine. */
    char *text = malloc(CONF_MAX_LINE);
    memset(text, 'a', CONF_MAX_LINE);
    int rc = split_n(text, CONF_MAX_LINE, 1);
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        CHECK_EQ_INT(line.argc, 1);
        CHECK_EQ_INT(line.argc == 1 ? strlen(line.argv[0]) : 0, CONF_MAX_LINE);
    } else {
        fprintf(stderr, "  a %d-byte line was refused: \"%s\"\n", CONF_MAX_LINE, err);
    }
    free(text);
}

static void test_line_over_max_length_is_an_error(void)
{
    char *text = malloc(CONF_MAX_LINE + 2);
    memset(text, 'a', CONF_MAX_LINE + 1);
    text[CONF_MAX_LINE + 1] = '\0';
    check_error(text, "line too long");
    /* Even when it is mostly a comment. */
    text[0] = '#';
    check_error(text, "line too long");
    free(text);
}

static void test_expansion_that_overflows_the_line_is_an_error(void)
{
    char *value = malloc(CONF_MAX_LINE + 100);
    memset(value, 'v', CONF_MAX_LINE + 99);
    value[CONF_MAX_LINE + 99] = '\0';
    long_value = value;
    check_error("x \"${LONG}\"", "too long");
    long_value = NULL;
    free(value);
}

static void test_expansion_within_the_limit_is_fine(void)
{
    char *value = malloc(1001);
    memset(value, 'v', 1000);
    value[1000] = '\0';
    long_value = value;
    int rc = split("x \"${LONG}\" y");
    CHECK_EQ_INT(rc, 0);
    if (rc == 0) {
        CHECK_EQ_INT(line.argc, 3);
        CHECK_EQ_INT(line.argc == 3 ? strlen(line.argv[1]) : 0, 1000);
        CHECK_EQ_STR(line.argv[2], "y");
    }
    long_value = NULL;
    free(value);
}

int main(void)
{
    RUN(test_words_are_split_on_spaces_and_tabs);
    RUN(test_single_word_line);
    RUN(test_blank_lines_give_no_words);
    RUN(test_comment_only_lines_give_no_words);
    RUN(test_comment_after_words_is_dropped);
    RUN(test_comment_right_after_a_word_ends_it);
    RUN(test_comment_text_is_not_lexed);
    RUN(test_lineno_is_stored);
    RUN(test_argv_points_into_words);
    RUN(test_trailing_carriage_return_is_whitespace);

    RUN(test_double_quotes_group_words);
    RUN(test_quotes_join_with_adjacent_text);
    RUN(test_hash_inside_quotes_is_not_a_comment);
    RUN(test_empty_double_quoted_word_is_a_word);
    RUN(test_empty_single_quoted_word_is_a_word);
    RUN(test_variables_expand_in_double_quotes);
    RUN(test_expanded_value_stays_one_word);
    RUN(test_undefined_variable_expands_to_empty);
    RUN(test_dollar_without_brace_is_literal);
    RUN(test_variables_do_not_expand_outside_double_quotes);

    RUN(test_single_quotes_are_literal);
    RUN(test_double_quote_inside_single_quotes_and_back);

    RUN(test_escaped_space_joins_a_word);
    RUN(test_escaped_hash_is_not_a_comment);
    RUN(test_escaped_quotes_and_backslash);
    RUN(test_escaped_control_characters);
    RUN(test_escapes_work_inside_double_quotes);

    RUN(test_unterminated_double_quote_is_an_error);
    RUN(test_unterminated_single_quote_is_an_error);
    RUN(test_dollar_brace_without_close_is_an_error);
    RUN(test_empty_variable_name_is_an_error);
    RUN(test_backslash_at_end_of_line_is_an_error);
    RUN(test_nul_byte_is_an_error);
    RUN(test_max_words_are_accepted);
    RUN(test_too_many_words_is_an_error);
    RUN(test_trailing_comment_does_not_count_as_words);
    RUN(test_line_of_max_length_is_accepted);
    RUN(test_line_over_max_length_is_an_error);
    RUN(test_expansion_that_overflows_the_line_is_an_error);
    RUN(test_expansion_within_the_limit_is_fine);
    return unit_report("conf");
}
