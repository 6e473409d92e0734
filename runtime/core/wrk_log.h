/*
 * wrk_log.h - structured logging to stderr, as text or one JSON object per line.
 */
#ifndef WRK_LOG_H
#define WRK_LOG_H

#include <stdarg.h>

#ifdef __cplusplus
extern "C" {
#endif

enum wrk_log_level { WRK_LOG_ERROR = 0, WRK_LOG_WARN = 1, WRK_LOG_INFO = 2, WRK_LOG_DEBUG = 3 };

/** Log one line (thread-safe). component: short source name ("gguf", "plugin:llama"). */
void wrk_log(int level, const char *component, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void wrk_vlog(int level, const char *component, const char *fmt, va_list ap);

/** 1: JSON lines, 0: text. Also set by WORKER_LOG_FORMAT=json|text. */
void wrk_log_set_json(int json);
/** Lines above level are dropped. Also set by WORKER_LOG_LEVEL=error|warn|info|debug. */
void wrk_log_set_level(int level);

#ifdef __cplusplus
}
#endif
#endif
