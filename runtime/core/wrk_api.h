/*
 * wrk_api.h - marks the functions libworker.so exports.
 *
 * libwrk is compiled with -fvisibility=hidden so nothing internal leaks into the shared
 * library's dynamic symbol table; every public cuda_* / worker_* definition carries WRK_API
 * (and is also matched by libworker's -export-symbols-regex).
 */
#ifndef WRK_API_H
#define WRK_API_H

#if defined(__GNUC__)
#define WRK_API __attribute__((visibility("default")))
#else
#define WRK_API
#endif

#endif
