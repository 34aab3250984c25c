/* units.c — see units.h. */
#include "units.h"

#include <string.h>
#include <strings.h>

#define DURATION_MAX_MS (UINT64_C(1) << 31)
#define SIZE_MAX_BYTES (UINT64_C(1) << 40)

/* Reads the leading decimal digits of text into *value, stopping at the first
 * non-digit. Returns a pointer to it, or NULL if there were no digits or the
 * number exceeds max. */
static const char *read_digits(const char *text, uint64_t max, uint64_t *value)
{
    const char *p = text;
    uint64_t v = 0;
    while (*p >= '0' && *p <= '9') {
        uint64_t d = (uint64_t)(*p - '0');
        if (d > max || v > (max - d) / 10)
            return NULL;
        v = v * 10 + d;
        p++;
    }
    if (p == text)
        return NULL;
    *value = v;
    return p;
}

int units_parse_uint(const char *text, uint64_t max, uint64_t *out)
{
    uint64_t v;
    const char *end = read_digits(text, max, &v);
    if (end == NULL || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int units_parse_duration(const char *text, enum units_default bare, uint64_t *ms)
{
    static const struct { const char *suffix; uint64_t num, den; } units[] = {
        { "us", 1, 1000 },
        { "ms", 1, 1 },
        { "s", 1000, 1 },
        { "m", 60 * 1000, 1 },
        { "h", 60 * 60 * 1000, 1 },
        { "d", 24 * 60 * 60 * 1000, 1 },
    };
    uint64_t v;
    const char *suffix = read_digits(text, UINT64_MAX / 1000, &v);
    if (suffix == NULL)
        return -1;

    uint64_t num = bare == UNITS_SECONDS ? 1000 : 1, den = 1;
    if (*suffix != '\0') {
        size_t i;
        for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
            if (strcmp(suffix, units[i].suffix) == 0)
                break;
        if (i == sizeof(units) / sizeof(units[0]))
            return -1;
        num = units[i].num;
        den = units[i].den;
    }
    if (v > DURATION_MAX_MS * den / num)
        return -1;
    uint64_t result = (v * num + den - 1) / den;
    if (result > DURATION_MAX_MS)
        return -1;
    *ms = result;
    return 0;
}

int units_parse_size(const char *text, uint64_t *bytes)
{
    uint64_t v;
    const char *p = read_digits(text, SIZE_MAX_BYTES, &v);
    if (p == NULL)
        return -1;

    unsigned shift = 0;
    switch (*p) {
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    default: break;
    }
    if (shift != 0 && (*p == 'i' || *p == 'I'))
        p++;
    if (*p == 'b' || *p == 'B')
        p++;
    if (*p != '\0')
        return -1;
    if (v > SIZE_MAX_BYTES >> shift)
        return -1;
    *bytes = v << shift;
    return 0;
}

int units_parse_port(const char *text, uint16_t *port)
{
    uint64_t v;
    if (units_parse_uint(text, 65535, &v) != 0 || v == 0)
        return -1;
    *port = (uint16_t)v;
    return 0;
}
