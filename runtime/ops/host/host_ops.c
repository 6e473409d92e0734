/*
 * host_ops.c - the reference (host memory) kernel set: the element-wise ops, copies, the
 * greedy argmax, and the wp_ops table that gathers them with matmul/get_rows/attention.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "ops/host/host_ops.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"
#include "text/sampler.h"

/* y[i] += x[i]. */
static int host_add(const wp_host *host, float *y, const float *x, size_t n)
{
    (void)host;
    if (n && (!y || !x))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "add: NULL buffer");
    for (size_t i = 0; i < n; i++)
        y[i] += x[i];
    return 0;
}

/* out[r] = x[r] * (1 / sqrt(mean(x[r]^2) + eps)) * weight; in place allowed since each
 * row's sum of squares is complete before its first write. */
static int host_rms_norm(const wp_host *host, const float *x, const float *weight, float *out,
                         int n_rows, int width, float eps)
{
    (void)host;
    int rc = wrk_ops_check_rms_norm(x, weight, out, n_rows, width, eps);
    if (rc)
        return rc;
    for (int r = 0; r < n_rows; r++) {
        const float *xr = x + (size_t)r * width;
        float *orow = out + (size_t)r * width;
        float ss = 0.0f;
        for (int i = 0; i < width; i++)
            ss += xr[i] * xr[i];
        const float inv = 1.0f / sqrtf(ss / (float)width + eps);
        for (int i = 0; i < width; i++)
            orow[i] = xr[i] * inv * weight[i];
    }
    return 0;
}

/* Backend memory is host memory here: both copies are plain memcpy. */
static int host_copy(void *dst, const void *src, size_t n, const char *what)
{
    if (n && (!dst || !src))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: NULL buffer", what);
    if (n)
        memcpy(dst, src, n);
    return 0;
}

static int host_to_host(const wp_host *host, void *dst, const void *src, size_t n)
{
    (void)host;
    return host_copy(dst, src, n, "to_host");
}

static int host_from_host(const wp_host *host, void *dst, const void *src, size_t n)
{
    (void)host;
    return host_copy(dst, src, n, "from_host");
}

/* A readback of the host set: the ops before it have already run (nothing is queued
 * here), so the bytes are copied at start into a small heap slot, which finish copies out
 * and frees. n is kept to check finish's. */
typedef struct host_readback {
    size_t n;
    unsigned char bytes[WP_READBACK_MAX_BYTES];
} host_readback;

static int host_readback_start(const wp_host *host, const void *src, size_t n, void **pending)
{
    (void)host;
    int rc = wrk_ops_check_readback_start(src, n, pending);
    if (rc)
        return rc;
    host_readback *rb = malloc(sizeof *rb);
    if (!rb)
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "readback_start: out of host memory");
    rb->n = n;
    memcpy(rb->bytes, src, n);
    *pending = rb;
    return 0;
}

static int host_readback_finish(const wp_host *host, void *pending, void *dst, size_t n)
{
    (void)host;
    host_readback *rb = pending;
    const int rc = wrk_ops_check_readback_finish(pending, n, rb ? rb->n : 0);
    if (!rb)
        return rc;
    if (!rc && dst)
        memcpy(dst, rb->bytes, n);
    free(rb);   /* released whatever the outcome (the contract) */
    return rc;
}

/* Host kernels run synchronously: nothing is ever queued. */
static int host_synchronize(const wp_host *host)
{
    (void)host;
    return 0;
}

/* The greedy choice: the host sampler's own argmax (text/sampler.h), so the host set and
 * host sampling cannot disagree. */
static int host_argmax(const wp_host *host, const float *x, int n, int32_t *out)
{
    (void)host;
    int rc = wrk_ops_check_argmax(x, n, out);
    if (rc)
        return rc;
    out[0] = wrk_sampler_argmax(x, (uint32_t)n);
    return 0;
}

/* Graphs are a CUDA feature: the host set runs every op as it is called. */
static int host_graph_begin(const wp_host *host)
{
    (void)host;
    return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "graph_begin: the host backend has no graphs");
}

static int host_graph_end(const wp_host *host, void **graph)
{
    (void)host;
    if (graph)
        *graph = NULL;
    return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "graph_end: the host backend has no graphs");
}

static int host_graph_launch(const wp_host *host, void *graph)
{
    (void)host;
    (void)graph;
    return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "graph_launch: the host backend has no graphs");
}

static void host_graph_free(const wp_host *host, void *graph)
{
    (void)host;
    (void)graph;
}

static const wp_ops host_ops = {
    WORKER_PLUGIN_ABI_MAJOR, WORKER_PLUGIN_ABI_MINOR, sizeof(wp_ops),
    wrk_host_matmul, wrk_host_get_rows, wrk_host_attention, host_add, host_rms_norm,
    host_to_host, host_from_host, host_synchronize,
    /* ABI 1.1 */
    wrk_host_matmul_multi, wrk_host_matmul_glu, wrk_host_get_rows_dev,
    wrk_host_attention_decode_work, wrk_host_attention_decode,
    host_graph_begin, host_graph_end, host_graph_launch, host_graph_free,
    /* ABI 1.2 */
    host_argmax,
    /* ABI 1.3 */
    host_readback_start, host_readback_finish,
};

const wp_ops *wrk_ops_host(void)
{
    return &host_ops;
}
