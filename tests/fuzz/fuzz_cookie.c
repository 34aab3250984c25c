/* fuzz_cookie.c — lb/cookie.h: the persistence cookie's codec.
 *
 * The first byte is the length of a cookie name taken from the next bytes;
 * the rest is a Cookie field value. Pairs, found values and names lie
 * inside the field; stripping keeps a subsequence of it, no longer, without
 * the cookie, and is idempotent; dates read back as written; a Set-Cookie
 * the lb would send names its cookie and carries its value and dates. */
#include <string.h>

#include "../../lb/cookie.h"
#include "fuzz.h"

static int is_subsequence(const char *s, size_t n, const char *of, size_t len)
{
    size_t j = 0;
    for (size_t i = 0; i < n; i++) {
        while (j < len && of[j] != s[i])
            j++;
        if (j == len)
            return 0;
        j++;
    }
    return 1;
}

static size_t count_named(const char *v, size_t len, const char *name)
{
    size_t pos = 0, n = 0, name_len = strlen(name);
    struct cookie_pair p;
    while (cookie_next(v, len, &pos, &p)) {
        FUZZ_CHECK(pos <= len);
        if (p.has_value && p.name_len == name_len && memcmp(p.name, name, name_len) == 0)
            n++;
    }
    return n;
}

static void check_pairs(const char *v, size_t len)
{
    size_t pos = 0, last = 0, pairs = 0;
    struct cookie_pair p;
    while (cookie_next(v, len, &pos, &p)) {
        FUZZ_CHECK(pos > last && pos <= len);
        last = pos;
        FUZZ_CHECK(++pairs <= len);
        FUZZ_CHECK(p.start <= p.end && fuzz_inside(p.start, (size_t)(p.end - p.start), v, len));
        FUZZ_CHECK(p.name == p.start && fuzz_inside(p.name, p.name_len, p.start,
                                                    (size_t)(p.end - p.start)));
        FUZZ_CHECK(fuzz_inside(p.value, p.value_len, p.start, (size_t)(p.end - p.start)));
        if (p.has_value)
            FUZZ_CHECK(p.value >= p.name + p.name_len + 1); /* after the = */
        else
            FUZZ_CHECK(p.value_len == 0);
    }
    FUZZ_CHECK(pos == len);
}

static void check_find(const char *v, size_t len, const char *name)
{
    size_t pos = 0, found = 0, value_len;
    const char *value;
    while (cookie_find(v, len, name, &pos, &value, &value_len)) {
        FUZZ_CHECK(fuzz_inside(value, value_len, v, len));
        FUZZ_CHECK(++found <= len);
    }
    FUZZ_CHECK(found == count_named(v, len, name));
}

static void check_strip(const char *v, size_t len, const char *name)
{
    char *out = malloc(len ? len : 1), *again = malloc(len ? len : 1);
    FUZZ_CHECK(out && again);
    size_t n = cookie_strip(v, len, name, out);
    FUZZ_CHECK(n <= len);
    FUZZ_CHECK(is_subsequence(out, n, v, len));
    FUZZ_CHECK(count_named(out, n, name) == 0);
    if (n > 0) {
        FUZZ_CHECK(cookie_strip(out, n, name, again) == n);
        FUZZ_CHECK(memcmp(again, out, n) == 0);
    }
    free(out);
    free(again);
}

static void check_dates(const char *v, size_t len)
{
    struct cookie_value cv;
    cookie_value_parse(v, len, &cv);
    FUZZ_CHECK(cv.server == v && cv.server_len <= len);
    FUZZ_CHECK(cv.last % 4 == 0 && cv.first % 4 == 0);

    char five[6] = { 0 }, out[5];
    uint32_t units;
    if (len >= 5) {
        memcpy(five, v, 5);
        if (cookie_date_decode(five, &units) == 0) {
            FUZZ_CHECK(units < (1u << 30));
            cookie_date_encode(units, out);
            FUZZ_CHECK(memcmp(out, five, 5) == 0);
        }
    }
}

/* The Set-Cookie for name=value (when both are valid) with dates from the
 * input reads back: its name, its value, its dates. */
static void check_set_cookie(const char *name, const char *v, size_t len)
{
    char value[17] = { 0 };
    uint32_t last = 0, first = 0;
    memcpy(value, v, len < 16 ? len : 16);
    if (len >= 24) {
        memcpy(&last, v + 16, 4);
        memcpy(&first, v + 20, 4);
    }
    if (!cookie_name_ok(name) || !cookie_value_ok(value))
        return;
    struct cookie_set c = { .name = name, .value = value, .dated = last != 0, .last = last,
                            .first = first, .httponly = 1, .attrs = "SameSite=Lax" };
    struct strbuf sb = STRBUF_INIT;
    cookie_format_set(&sb, &c);
    FUZZ_CHECK(!sb.failed && sb.len > 0);
    const char *set_name;
    size_t set_name_len;
    FUZZ_CHECK(cookie_set_name(sb.data, sb.len, &set_name, &set_name_len) == 1);
    FUZZ_CHECK(set_name_len == strlen(name) && memcmp(set_name, name, set_name_len) == 0);

    size_t pos = 0, value_len;
    const char *got;
    FUZZ_CHECK(cookie_find(sb.data, sb.len, name, &pos, &got, &value_len) == 1);
    struct cookie_value cv;
    cookie_value_parse(got, value_len, &cv);
    FUZZ_CHECK(cv.server_len == strlen(value) && memcmp(cv.server, value, cv.server_len) == 0);
    uint32_t last_units = last & 0x3fffffff, first_units = first & 0x3fffffff;
    FUZZ_CHECK(cv.last == (c.dated ? last_units << 2 : 0));
    FUZZ_CHECK(cv.first == (c.dated && first ? first_units << 2 : 0));
    strbuf_free(&sb);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    size_t name_len = data[0] % 16;
    if (name_len > size - 1)
        name_len = size - 1;
    char name[16];
    memcpy(name, data + 1, name_len);
    name[name_len] = '\0';

    size_t len = size - 1 - name_len;
    char *v = malloc(len ? len : 1); /* exactly len bytes: ASan sees any overread */
    FUZZ_CHECK(v != NULL);
    memcpy(v, data + 1 + name_len, len);

    check_pairs(v, len);
    check_find(v, len, name);
    check_strip(v, len, name);
    check_dates(v, len);
    const char *set_name;
    size_t set_name_len;
    if (cookie_set_name(v, len, &set_name, &set_name_len))
        FUZZ_CHECK(fuzz_inside(set_name, set_name_len, v, len));
    check_set_cookie(name, v, len);
    free(v);
    return 0;
}
