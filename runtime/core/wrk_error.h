/*
 * wrk_error.h - the runtime's failure reporting.
 *
 * Every failing internal function records a human-readable detail in thread-local storage
 * (read back by worker_last_error_detail()) and returns a CudaErrorCode. The detail says
 * what failed and where: file, key, tensor, byte offset, CUDA call.
 */
#ifndef WRK_ERROR_H
#define WRK_ERROR_H

#include <stdarg.h>
#include "worker_errors.h"

#ifdef __cplusplus
extern "C" {
#endif

#define WRK_ERROR_DETAIL_MAX 1024

/** Record detail (printf-style) for code and return code. */
int wrk_error(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int wrk_verror(int code, const char *fmt, va_list ap);

/** Prefix the current detail with more context ("loading model x.gguf: " + old detail). */
void wrk_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Forget the calling thread's detail (start of each public call). */
void wrk_error_clear(void);

/** The calling thread's detail; "" when none. */
const char *wrk_error_detail(void);

/** Store code into an FFI out-parameter when it is not NULL. */
static inline void wrk_set_code(int *out, int code) { if (out) *out = code; }

#ifdef __cplusplus
}
#endif
#endif
