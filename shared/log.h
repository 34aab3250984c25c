/* log.h — one line per event on stderr, timestamped and greppable:
 *
 *   2026-11-24T21:35:00.123Z backend[4242] info: listening on 0.0.0.0:8080
 *
 * Each line is written with a single write(2) so lines from several processes
 * sharing one stderr (the demo) never interleave. */
#ifndef WSCALE_LOG_H
#define WSCALE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Sets the name printed on every line ("backend", "lb") and the lowest level
 * that is printed. Process-wide: called once at start-up, before any log. */
void log_setup(const char *role, enum log_level min_level);

/* Parses "debug", "info", "warn" or "error". Returns 0, or -1 if unknown. */
int log_level_parse(const char *name, enum log_level *out);

int log_enabled(enum log_level level);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The same line, written to fd (1 for traffic logs on stdout). */
void log_to(int fd, enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_debug(...) do { if (log_enabled(LOG_DEBUG)) log_msg(LOG_DEBUG, __VA_ARGS__); } while (0)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
