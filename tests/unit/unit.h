/* unit.h — a minimal unit-test harness: one executable per test file.
 *
 *   static void test_something(void) { CHECK(1 + 1 == 2); CHECK_EQ_INT(f(), 3); }
 *   int main(void) { RUN(test_something); return unit_report("http"); }
 *
 * A failed CHECK prints file:line and the expression, marks the test failed
 * and goes on; unit_report() prints one summary line and returns the exit
 * status. */
#ifndef WSCALE_UNIT_H
#define WSCALE_UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_tests, unit_failed_tests, unit_current_failed;

#define CHECK(cond)                                                                  \
    do {                                                                             \
        if (!(cond)) {                                                               \
            fprintf(stderr, "  %s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); \
            unit_current_failed = 1;                                                 \
        }                                                                            \
    } while (0)

#define CHECK_EQ_INT(actual, expected)                                               \
    do {                                                                             \
        long long a_ = (long long)(actual), e_ = (long long)(expected);              \
        if (a_ != e_) {                                                              \
            fprintf(stderr, "  %s:%d: %s is %lld, expected %lld\n", __FILE__, __LINE__, \
                    #actual, a_, e_);                                                \
            unit_current_failed = 1;                                                 \
        }                                                                            \
    } while (0)

#define CHECK_EQ_STR(actual, expected)                                               \
    do {                                                                             \
        const char *a_ = (actual), *e_ = (expected);                                 \
        if (a_ == NULL || strcmp(a_, e_) != 0) {                                     \
            fprintf(stderr, "  %s:%d: %s is \"%s\", expected \"%s\"\n", __FILE__,    \
                    __LINE__, #actual, a_ ? a_ : "(null)", e_);                      \
            unit_current_failed = 1;                                                 \
        }                                                                            \
    } while (0)

#define RUN(test)                                                                    \
    do {                                                                             \
        unit_current_failed = 0;                                                     \
        test();                                                                      \
        unit_tests++;                                                                \
        if (unit_current_failed) {                                                   \
            unit_failed_tests++;                                                     \
            fprintf(stderr, "FAIL %s\n", #test);                                     \
        }                                                                            \
    } while (0)

static inline int unit_report(const char *suite)
{
    printf("unit %-12s %d tests, %d failed\n", suite, unit_tests, unit_failed_tests);
    return unit_failed_tests ? 1 : 0;
}

#endif
