/*
 * vram.c - the VRAM accountant (see wrk_vram.h).
 *
 * A mutex-guarded table of live allocations (pointer, size, tag, what). On the CUDA backend
 * memory comes from cudaMalloc on the accountant's device (made current on the calling thread
 * first, since server threads differ from the one that opened the context); on the reference
 * host backend it is 64-byte-aligned host memory, so the accounting is tested everywhere.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#ifdef HAVE_CUDA
#include <cuda_runtime_api.h>
#endif

#include "core/wrk_error.h"
#include "core/wrk_log.h"
#include "core/wrk_vram.h"

#define WHAT_MAX 96

struct wrk_alloc {
    void *ptr;
    uint64_t bytes;
    int tag;
    char what[WHAT_MAX];
};

struct wrk_accountant {
    pthread_mutex_t mu;
    int backend;
    int device;
    uint64_t limit;                     /* 0: none */
    uint64_t total;
    uint64_t tagged[WP_MEM_TAG_COUNT];
    struct wrk_alloc *a;                /* live allocations, unordered */
    size_t n, cap;
};

static const char *const tag_names[WP_MEM_TAG_COUNT] = { "weights", "kv-cache", "scratch" };

/* Name of a tag for messages. */
static const char *tag_name(int tag)
{
    return (tag >= 0 && tag < WP_MEM_TAG_COUNT) ? tag_names[tag] : "?";
}

/* Parse WORKER_VRAM_LIMIT_BYTES; 0 when unset or malformed (malformed is logged). */
static uint64_t env_limit(void)
{
    const char *s = getenv("WORKER_VRAM_LIMIT_BYTES");
    char *end;
    unsigned long long v;
    if (!s || !*s) return 0;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || s[0] == '-') {
        wrk_log(WRK_LOG_WARN, "vram", "ignoring malformed WORKER_VRAM_LIMIT_BYTES='%s'", s);
        return 0;
    }
    return (uint64_t)v;
}

wrk_accountant *wrk_accountant_new(int backend, int device)
{
    wrk_accountant *acc;
    if (backend != WP_BACKEND_HOST && backend != WP_BACKEND_CUDA) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "accountant: unknown backend %d", backend);
        return NULL;
    }
#ifndef HAVE_CUDA
    if (backend == WP_BACKEND_CUDA) {
        wrk_error(CUDA_ERROR_DEVICE_NOT_FOUND, "accountant: built without CUDA support");
        return NULL;
    }
#endif
    acc = calloc(1, sizeof *acc);
    if (!acc) {
        wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "accountant: out of host memory");
        return NULL;
    }
    pthread_mutex_init(&acc->mu, NULL);
    acc->backend = backend;
    acc->device = backend == WP_BACKEND_HOST ? -1 : device;
    acc->limit = env_limit();
    return acc;
}

/* Release one block to its backend (no accounting). */
static void backend_free(const wrk_accountant *acc, void *ptr)
{
#ifdef HAVE_CUDA
    if (acc->backend == WP_BACKEND_CUDA) {
        cudaError_t e;
        cudaSetDevice(acc->device);
        e = cudaFree(ptr);
        if (e != cudaSuccess)
            wrk_log(WRK_LOG_ERROR, "vram", "cudaFree(%p) failed: %s", ptr, cudaGetErrorString(e));
        return;
    }
#endif
    (void)acc;
    free(ptr);
}

/* Free memory of the backend, for the OOM detail; UINT64_MAX when unknown. */
static uint64_t backend_free_bytes(const wrk_accountant *acc)
{
#ifdef HAVE_CUDA
    if (acc->backend == WP_BACKEND_CUDA) {
        size_t f = 0, t = 0;
        if (cudaMemGetInfo(&f, &t) != cudaSuccess) return UINT64_MAX;
        return f;
    }
#endif
    (void)acc;
    {
        long pages = sysconf(_SC_AVPHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
        if (pages < 0 || psize < 0) return UINT64_MAX;
        return (uint64_t)pages * (uint64_t)psize;
    }
}

/* Format "N free" for an OOM detail. */
static void fmt_free(char *buf, size_t len, uint64_t free_b)
{
    if (free_b == UINT64_MAX) snprintf(buf, len, "unknown");
    else snprintf(buf, len, "%" PRIu64, free_b);
}

void *wrk_vram_alloc(wrk_accountant *acc, size_t bytes, int tag, const char *what)
{
    void *p = NULL;
    char freebuf[32];

    if (!what) what = "(unnamed)";
    if (!acc) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "vram alloc for %s: no accountant", what);
        return NULL;
    }
    if (bytes == 0) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "vram alloc for %s: zero bytes", what);
        return NULL;
    }
    if (tag < 0 || tag >= WP_MEM_TAG_COUNT) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "vram alloc for %s: unknown tag %d", what, tag);
        return NULL;
    }

    pthread_mutex_lock(&acc->mu);
    if (acc->limit && (bytes > acc->limit || acc->total > acc->limit - bytes)) {
        uint64_t left = acc->limit > acc->total ? acc->limit - acc->total : 0;
        pthread_mutex_unlock(&acc->mu);
        fmt_free(freebuf, sizeof freebuf, left);
        wrk_error(CUDA_ERROR_OUT_OF_MEMORY,
                  "out of %s memory: need %zu bytes for %s (%s), %s free under the limit of "
                  "%" PRIu64 " bytes (WORKER_VRAM_LIMIT_BYTES)",
                  acc->backend == WP_BACKEND_CUDA ? "device" : "host", bytes, what,
                  tag_name(tag), freebuf, acc->limit);
        return NULL;
    }
    if (acc->n == acc->cap) {
        size_t ncap = acc->cap ? acc->cap * 2 : 64;
        struct wrk_alloc *na = realloc(acc->a, ncap * sizeof *na);
        if (!na) {
            pthread_mutex_unlock(&acc->mu);
            wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "vram alloc for %s: accountant table full "
                      "(out of host memory)", what);
            return NULL;
        }
        acc->a = na;
        acc->cap = ncap;
    }

#ifdef HAVE_CUDA
    if (acc->backend == WP_BACKEND_CUDA) {
        cudaError_t e = cudaSetDevice(acc->device);
        if (e == cudaSuccess) e = cudaMalloc(&p, bytes);
        if (e != cudaSuccess) {
            p = NULL;
            cudaGetLastError();   /* cudaMalloc failures are not sticky: clear them */
            pthread_mutex_unlock(&acc->mu);
            fmt_free(freebuf, sizeof freebuf, backend_free_bytes(acc));
            wrk_error(CUDA_ERROR_OUT_OF_MEMORY,
                      "out of device memory: need %zu bytes for %s (%s), %s free "
                      "(cudaMalloc: %s)", bytes, what, tag_name(tag), freebuf,
                      cudaGetErrorString(e));
            return NULL;
        }
    }
#endif
    if (acc->backend == WP_BACKEND_HOST) {
        /* aligned_alloc wants a multiple of the alignment */
        size_t rounded = (bytes + 63) & ~(size_t)63;
        p = rounded >= bytes ? aligned_alloc(64, rounded) : NULL;
        if (!p) {
            pthread_mutex_unlock(&acc->mu);
            fmt_free(freebuf, sizeof freebuf, backend_free_bytes(acc));
            wrk_error(CUDA_ERROR_OUT_OF_MEMORY,
                      "out of host memory: need %zu bytes for %s (%s), %s free",
                      bytes, what, tag_name(tag), freebuf);
            return NULL;
        }
    }

    acc->a[acc->n].ptr = p;
    acc->a[acc->n].bytes = bytes;
    acc->a[acc->n].tag = tag;
    snprintf(acc->a[acc->n].what, WHAT_MAX, "%s", what);
    acc->n++;
    acc->total += bytes;
    acc->tagged[tag] += bytes;
    pthread_mutex_unlock(&acc->mu);
    wrk_log(WRK_LOG_DEBUG, "vram", "alloc %zu bytes for %s (%s) at %p", bytes, what,
            tag_name(tag), p);
    return p;
}

void wrk_vram_free(wrk_accountant *acc, void *ptr)
{
    size_t i;
    if (!ptr) return;
    if (!acc) {
        wrk_log(WRK_LOG_ERROR, "vram", "free of %p without an accountant (leaked)", ptr);
        return;
    }
    pthread_mutex_lock(&acc->mu);
    /* scan from the end: the most recent allocations are usually freed first */
    for (i = acc->n; i-- > 0;) {
        if (acc->a[i].ptr == ptr) break;
    }
    if (i == (size_t)-1) {
        pthread_mutex_unlock(&acc->mu);
        wrk_log(WRK_LOG_ERROR, "vram", "free of unknown pointer %p ignored", ptr);
        return;
    }
    acc->total -= acc->a[i].bytes;
    acc->tagged[acc->a[i].tag] -= acc->a[i].bytes;
    acc->a[i] = acc->a[acc->n - 1];
    acc->n--;
    backend_free(acc, ptr);
    pthread_mutex_unlock(&acc->mu);
}

void wrk_accountant_free(wrk_accountant *acc)
{
    if (!acc) return;
    pthread_mutex_lock(&acc->mu);
    for (size_t i = 0; i < acc->n; i++) {
        wrk_log(WRK_LOG_WARN, "vram", "leak: %" PRIu64 " bytes for %s (%s) at %p still "
                "allocated at teardown; freeing it", acc->a[i].bytes, acc->a[i].what,
                tag_name(acc->a[i].tag), acc->a[i].ptr);
        backend_free(acc, acc->a[i].ptr);
    }
    pthread_mutex_unlock(&acc->mu);
    pthread_mutex_destroy(&acc->mu);
    free(acc->a);
    free(acc);
}

/* The mutex lives in a const-reachable object; reading totals still has to lock it. */
static pthread_mutex_t *mu_of(const wrk_accountant *acc)
{
    return &((wrk_accountant *)acc)->mu;
}

uint64_t wrk_vram_total(const wrk_accountant *acc)
{
    uint64_t t;
    if (!acc) return 0;
    pthread_mutex_lock(mu_of(acc));
    t = acc->total;
    pthread_mutex_unlock(mu_of(acc));
    return t;
}

uint64_t wrk_vram_tagged(const wrk_accountant *acc, int tag)
{
    uint64_t t;
    if (!acc || tag < 0 || tag >= WP_MEM_TAG_COUNT) return 0;
    pthread_mutex_lock(mu_of(acc));
    t = acc->tagged[tag];
    pthread_mutex_unlock(mu_of(acc));
    return t;
}

size_t wrk_vram_count(const wrk_accountant *acc)
{
    size_t n;
    if (!acc) return 0;
    pthread_mutex_lock(mu_of(acc));
    n = acc->n;
    pthread_mutex_unlock(mu_of(acc));
    return n;
}

/* Residency of one allocation: 0, or the error code with a detail naming it. */
static int check_one(const wrk_accountant *acc, const struct wrk_alloc *al)
{
#ifdef HAVE_CUDA
    if (acc->backend == WP_BACKEND_CUDA) {
        struct cudaPointerAttributes attr;
        cudaError_t e;
        memset(&attr, 0, sizeof attr);
        e = cudaPointerGetAttributes(&attr, al->ptr);
        if (e != cudaSuccess) {
            cudaGetLastError();
            return wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                             "residency: cudaPointerGetAttributes(%p) for %s (%s) failed: %s",
                             al->ptr, al->what, tag_name(al->tag), cudaGetErrorString(e));
        }
        if (attr.type != cudaMemoryTypeDevice)
            return wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                             "residency: %s (%s, %" PRIu64 " bytes at %p) is not device memory "
                             "(memory type %d)", al->what, tag_name(al->tag), al->bytes,
                             al->ptr, (int)attr.type);
        if (attr.device != acc->device)
            return wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                             "residency: %s (%s) at %p lives on device %d, not %d", al->what,
                             tag_name(al->tag), al->ptr, attr.device, acc->device);
        return 0;
    }
#endif
    (void)acc;
    if (!al->ptr || ((uintptr_t)al->ptr & 63u) != 0)
        return wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                         "residency: %s (%s) at %p is not a live aligned host block",
                         al->what, tag_name(al->tag), al->ptr);
    return 0;
}

int wrk_vram_check_residency(const wrk_accountant *acc)
{
    uint64_t sum[WP_MEM_TAG_COUNT] = { 0 }, total = 0;
    int rc = 0;
    if (!acc) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "residency: no accountant");
    pthread_mutex_lock(mu_of(acc));
    for (size_t i = 0; i < acc->n && rc == 0; i++) {
        rc = check_one(acc, &acc->a[i]);
        sum[acc->a[i].tag] += acc->a[i].bytes;
        total += acc->a[i].bytes;
    }
    if (rc == 0) {
        uint64_t tags = 0;
        for (int t = 0; t < WP_MEM_TAG_COUNT; t++) {
            tags += acc->tagged[t];
            if (sum[t] != acc->tagged[t])
                rc = wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                               "residency: %s total %" PRIu64 " != %" PRIu64 " in the table",
                               tag_names[t], acc->tagged[t], sum[t]);
        }
        if (rc == 0 && (tags != acc->total || total != acc->total))
            rc = wrk_error(CUDA_ERROR_VRAM_RESIDENCY_FAILED,
                           "residency: total %" PRIu64 " != tag sum %" PRIu64
                           " / table sum %" PRIu64, acc->total, tags, total);
    }
    pthread_mutex_unlock(mu_of(acc));
    return rc;
}

void wrk_vram_set_limit(wrk_accountant *acc, uint64_t limit)
{
    if (!acc) return;
    pthread_mutex_lock(&acc->mu);
    acc->limit = limit;
    pthread_mutex_unlock(&acc->mu);
}
