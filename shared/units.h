/* units.h — durations and byte sizes as users write them.
 *
 * Pure parsers shared by command-line flags and the lb config file. */
#ifndef WSCALE_UNITS_H
#define WSCALE_UNITS_H

#include <stdint.h>

/* Unit applied to a bare number: command-line flags read "30" as seconds,
 * HAProxy config files read it as milliseconds. */
enum units_default { UNITS_SECONDS, UNITS_MILLISECONDS };

/* Parses a duration: a decimal integer followed by one of us, ms, s, m, h, d
 * ("1000s", "250ms", "2m"), or a bare integer in `bare` units. Durations are
 * kept in milliseconds; microseconds round up to the next millisecond. The
 * result must fit in 2^31 ms (about 24 days, HAProxy's limit too).
 * Returns 0 and sets *ms, or -1 if the text is not such a duration. */
int units_parse_duration(const char *text, enum units_default bare, uint64_t *ms);

/* Parses a byte size: a decimal integer with an optional binary suffix
 * k, m or g (1k = 1024), optionally followed by "b" or "ib", any case
 * ("1048576", "1m", "4MiB", "512kb"). The result must be at most 2^40.
 * Returns 0 and sets *bytes, or -1. */
int units_parse_size(const char *text, uint64_t *bytes);

/* Parses a TCP port "1".."65535". Returns 0 and sets *port, or -1. */
int units_parse_port(const char *text, uint16_t *port);

/* Parses a decimal unsigned integer no greater than max. Returns 0 or -1. */
int units_parse_uint(const char *text, uint64_t max, uint64_t *out);

#endif
