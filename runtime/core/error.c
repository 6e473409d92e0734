/*
 * error.c - thread-local failure details (see wrk_error.h).
 */
#include <stdio.h>
#include <string.h>

#include "core/wrk_error.h"

static _Thread_local char tls_detail[WRK_ERROR_DETAIL_MAX];

int wrk_verror(int code, const char *fmt, va_list ap)
{
    vsnprintf(tls_detail, sizeof tls_detail, fmt, ap);
    return code;
}

int wrk_error(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    wrk_verror(code, fmt, ap);
    va_end(ap);
    return code;
}

void wrk_error_prefix(const char *fmt, ...)
{
    char prefix[WRK_ERROR_DETAIL_MAX];
    char old[WRK_ERROR_DETAIL_MAX];
    size_t n;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, tls_detail, sizeof old);
    n = strlen(prefix);
    if (n >= sizeof tls_detail) n = sizeof tls_detail - 1;
    memcpy(tls_detail, prefix, n);
    snprintf(tls_detail + n, sizeof tls_detail - n, "%.*s", (int)(sizeof tls_detail - n - 1), old);
}

void wrk_error_clear(void)
{
    tls_detail[0] = '\0';
}

const char *wrk_error_detail(void)
{
    return tls_detail;
}
