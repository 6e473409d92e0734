/*
 * srv_log.h - worker-orcd's structured log: one line per event on stderr, as text
 * ("2026-01-01T00:00:00.000Z info request id=r1 status=200") or as one JSON object per line.
 * The server links only libworker's public API, so it keeps its own logger.
 */
#ifndef SRV_LOG_H
#define SRV_LOG_H

#include <jansson.h>

enum srv_log_level { SRV_LOG_ERROR = 0, SRV_LOG_WARN = 1, SRV_LOG_INFO = 2, SRV_LOG_DEBUG = 3,
                     SRV_LOG_CRITICAL = -1 };

/** Choose the output format (1: JSON lines) and the most verbose level printed. */
void srv_log_setup(int json, int level);

/**
 * Log one event. fields (may be NULL) is a JSON object whose members become key=value pairs;
 * the reference is stolen (freed here). Thread-safe: one write per line.
 */
void srv_log_event(int level, const char *event, json_t *fields);

/** Log a free-text message as event "message" with field msg. */
void srv_log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/** Write the current UTC time as RFC 3339 with milliseconds ("...T..:..:..123Z") into buf. */
void srv_rfc3339_now(char *buf, size_t cap);

/** Monotonic clock in milliseconds. */
double srv_now_ms(void);

#endif
