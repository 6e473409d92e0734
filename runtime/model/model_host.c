/*
 * model_host.c - the wp_host services table the runtime gives a plugin (worker_plugin.h).
 *
 * Each callback finds the model through host->runtime (a wrk_model_rt). Memory goes through
 * the context's accountant; metadata and tensors come from the model's GGUF; errors land in
 * the thread-local wrk_error detail that worker_last_error_detail() returns.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/wrk_error.h"
#include "core/wrk_log.h"
#include "core/wrk_vram.h"
#include "gguf/gguf.h"
#include "gguf/quant.h"
#include "ops/ops.h"
#include "model/model_internal.h"

static wrk_model_rt *rt_of(const wp_host *host)
{
    return host ? (wrk_model_rt *)host->runtime : NULL;
}

/* --- logging and errors --- */

static void host_log(const wp_host *host, int level, const char *fmt, ...)
{
    wrk_model_rt *rt = rt_of(host);
    va_list ap;
    if (!fmt) return;
    if (level < WP_LOG_ERROR) level = WP_LOG_ERROR;
    if (level > WP_LOG_DEBUG) level = WP_LOG_DEBUG;
    va_start(ap, fmt);
    wrk_vlog(level, rt ? rt->component : "plugin", fmt, ap);
    va_end(ap);
}

static int host_set_error(const wp_host *host, int code, const char *fmt, ...)
{
    va_list ap;
    (void)host;
    if (!fmt) return wrk_error(code, "plugin error %d", code);
    va_start(ap, fmt);
    wrk_verror(code, fmt, ap);
    va_end(ap);
    return code;
}

/* --- memory --- */

static void *host_alloc(const wp_host *host, size_t bytes, int tag, const char *what)
{
    wrk_model_rt *rt = rt_of(host);
    if (!rt) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "host->alloc: invalid host table");
        return NULL;
    }
    if (tag < 0 || tag >= WP_MEM_TAG_COUNT) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "host->alloc(%s): unknown tag %d",
                  what ? what : "?", tag);
        return NULL;
    }
    return wrk_vram_alloc(rt->model->ctx->acc, bytes, tag, what ? what : "plugin buffer");
}

static void host_free(const wp_host *host, void *ptr)
{
    wrk_model_rt *rt = rt_of(host);
    if (rt && ptr) wrk_vram_free(rt->model->ctx->acc, ptr);
}

/* --- the kernel library's scratch (ABI 1.1) --- */

/* Scratch sizes are rounded up to this, so the buffer settles after a few calls of the
 * first prefill (x copies plus a weight chunk of up to 64 MiB, matmul_gemm.cu) instead of
 * growing, with a full synchronisation each time, for every larger shape. */
#define WRK_SCRATCH_QUANTUM ((size_t)16 << 20)

static size_t scratch_round(size_t bytes)
{
    size_t r = (bytes + WRK_SCRATCH_QUANTUM - 1) / WRK_SCRATCH_QUANTUM * WRK_SCRATCH_QUANTUM;
    return r >= bytes ? r : bytes; /* the rounding overflowed: exact (and surely refused) */
}

/* Wait for the work queued on the context's stream. Every op of the library runs on that
 * stream, so afterwards nothing can still read or write the scratch buffer. The library's
 * own synchronize is that wait on CUDA and a no-op on the host backend (ops run at once). */
static int scratch_drain(const wp_host *host)
{
    return host->ops && host->ops->synchronize ? host->ops->synchronize(host) : 0;
}

/* One buffer reused by every call: returned as is when big enough. A larger request waits
 * for the queued work (it may still use the old buffer), frees the old buffer first (its
 * memory may be what the new one needs) and allocates the rounded size, or, when that is
 * refused, the exact size. Not thread-safe: like the stream, one thread drives a model. */
static void *host_scratch(const wp_host *host, size_t bytes)
{
    wrk_model_rt *rt = rt_of(host);
    wrk_accountant *acc;
    size_t want;
    int rc;
    if (!rt) {
        wrk_error(CUDA_ERROR_INVALID_PARAMETER, "host->scratch: invalid host table");
        return NULL;
    }
    if (bytes == 0) bytes = 1; /* still a valid, distinct buffer */
    if (rt->scratch && rt->scratch_bytes >= bytes) return rt->scratch;

    acc = rt->model->ctx->acc;
    if (rt->scratch) {
        if ((rc = scratch_drain(host)) != 0) {
            wrk_error_prefix("ops scratch: waiting for queued work before growing to %zu "
                             "bytes: ", bytes);
            return NULL; /* the old buffer stays; unload frees it */
        }
        wrk_vram_free(acc, rt->scratch);
        rt->scratch = NULL;
        rt->scratch_bytes = 0;
    }
    want = scratch_round(bytes);
    rt->scratch = wrk_vram_alloc(acc, want, WP_MEM_SCRATCH, "ops scratch");
    if (!rt->scratch && want > bytes) {
        want = bytes;
        rt->scratch = wrk_vram_alloc(acc, want, WP_MEM_SCRATCH, "ops scratch");
    }
    if (!rt->scratch) return NULL; /* the accountant's detail names the size and free memory */
    rt->scratch_bytes = want;
    wrk_log(WRK_LOG_DEBUG, "model", "ops scratch: %zu bytes (asked for %zu)", want, bytes);
    return rt->scratch;
}

void wrk_model_free_scratch(CudaModel *m)
{
    wrk_model_rt *rt = m ? m->host.runtime : NULL;
    if (!rt || !rt->scratch) return;
    /* A failed wait means a broken context: nothing runs any more, so free regardless. */
    if (scratch_drain(&m->host) != 0)
        wrk_log(WRK_LOG_WARN, "model", "freeing the ops scratch: %s", wrk_error_detail());
    wrk_vram_free(m->ctx->acc, rt->scratch);
    rt->scratch = NULL;
    rt->scratch_bytes = 0;
}

/* --- metadata --- */

static const gguf_file *gguf_of(const wp_host *host)
{
    wrk_model_rt *rt = rt_of(host);
    return rt ? rt->model->gguf : NULL;
}

static int meta_args_bad(const wp_host *host, const char *key, const void *out)
{
    if (!gguf_of(host) || !key || !out)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "host->meta_*: NULL argument");
    return 0;
}

static int host_meta_u32(const wp_host *host, const char *key, uint32_t *out)
{
    int rc = meta_args_bad(host, key, out);
    return rc ? rc : gguf_get_u32(gguf_of(host), key, out);
}

static int host_meta_f32(const wp_host *host, const char *key, float *out)
{
    int rc = meta_args_bad(host, key, out);
    return rc ? rc : gguf_get_f32(gguf_of(host), key, out);
}

static int host_meta_bool(const wp_host *host, const char *key, int *out)
{
    int rc = meta_args_bad(host, key, out);
    return rc ? rc : gguf_get_bool(gguf_of(host), key, out);
}

static int host_meta_str(const wp_host *host, const char *key, const char **out)
{
    int rc = meta_args_bad(host, key, out);
    return rc ? rc : gguf_get_str(gguf_of(host), key, out);
}

static int host_meta_has(const wp_host *host, const char *key)
{
    const gguf_file *f = gguf_of(host);
    return f && key && gguf_find_key(f, key) >= 0;
}

/* --- tensors --- */

static void fill_tensor(const gguf_tensor_info *ti, wp_tensor *out)
{
    memset(out, 0, sizeof *out);
    out->name = ti->name;
    out->type = ti->type;
    out->n_dims = ti->n_dims;
    for (int i = 0; i < 4; i++) out->ne[i] = i < (int)ti->n_dims ? ti->ne[i] : 1;
    out->nbytes = ti->nbytes;
}

/* "[a, b, c]" for n dims of ne. */
static void fmt_shape(char *buf, size_t cap, uint32_t n, const uint64_t *ne)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, cap, "[");
    for (uint32_t i = 0; i < n && used < cap; i++)
        used += (size_t)snprintf(buf + used, cap - used, "%s%llu", i ? ", " : "",
                                 (unsigned long long)ne[i]);
    if (used < cap) snprintf(buf + used, cap - used, "]");
}

/* "F16|Q8_0" for the types in mask. */
static void fmt_types(char *buf, size_t cap, uint64_t mask)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t t = 0; t < 64 && used < cap; t++)
        if (mask & (1ull << t))
            used += (size_t)snprintf(buf + used, cap - used, "%s%s", used ? "|" : "",
                                     wrk_dtype_name(t));
    if (!buf[0]) snprintf(buf, cap, "(none)");
}

static int host_tensor_info(const wp_host *host, const char *name, wp_tensor *out)
{
    const gguf_file *f = gguf_of(host);
    const gguf_tensor_info *ti;
    if (!f || !name || !out)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "host->tensor_info: NULL argument");
    if (!(ti = gguf_find_tensor(f, name)))
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tensor '%s': missing from the file",
                         name);
    fill_tensor(ti, out);
    return 0;
}

static int host_tensor_exists(const wp_host *host, const char *name)
{
    const gguf_file *f = gguf_of(host);
    return f && name && gguf_find_tensor(f, name) != NULL;
}

/* Print "loading <name>: NN% (x/y MiB)" on a terminal, one line rewritten in place. */
static void progress(wrk_model_rt *rt, uint64_t add)
{
    int pct;
    rt->bytes_done += add;
    if (!rt->progress || !rt->bytes_total) return;
    pct = (int)(rt->bytes_done * 100 / rt->bytes_total);
    if (pct > 100) pct = 100;
    if (pct == rt->last_percent) return;
    rt->last_percent = pct;
    fprintf(stderr, "\rloading %s: %3d%% (%llu/%llu MiB)", rt->model->name, pct,
            (unsigned long long)(rt->bytes_done >> 20),
            (unsigned long long)(rt->bytes_total >> 20));
    fflush(stderr);
}

static int host_tensor_load(const wp_host *host, const char *name, uint32_t n_dims,
                            const uint64_t *ne, uint64_t type_mask, wp_tensor *out)
{
    wrk_model_rt *rt = rt_of(host);
    const gguf_tensor_info *ti;
    struct wrk_loaded_tensor *rec = NULL;
    char want[160], got[160];
    void *dst = NULL;
    int rc, ok = 1;

    if (!rt || !rt->model->gguf || !name || !ne || !out)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "host->tensor_load: NULL argument");
    if (n_dims < 1 || n_dims > 4)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "host->tensor_load('%s'): n_dims %u is not 1..4", name, n_dims);
    fmt_shape(want, sizeof want, n_dims, ne);
    if (!(ti = gguf_find_tensor(rt->model->gguf, name)))
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "tensor '%s': missing from the file (expected shape %s)", name, want);
    /* Same extents in the expected dimensions, 1 in every dimension beyond them. */
    for (uint32_t i = 0; i < 4; i++) {
        uint64_t actual = i < ti->n_dims ? ti->ne[i] : 1;
        uint64_t expected = i < n_dims ? ne[i] : 1;
        if (actual != expected) ok = 0;
    }
    if (!ok) {
        fmt_shape(got, sizeof got, ti->n_dims, ti->ne);
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "tensor '%s': expected shape %s, actual shape %s", name, want, got);
    }
    if (ti->type >= 64 || !(type_mask & (1ull << ti->type))) {
        fmt_types(want, sizeof want, type_mask);
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "tensor '%s': expected type %s, actual type %s", name, want,
                         wrk_dtype_name(ti->type));
    }
    if (!ti->nbytes || !ti->data)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "tensor '%s': no data", name);

    if (!(rec = calloc(1, sizeof *rec)))
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "tensor '%s': out of host memory", name);
    if (!(dst = wrk_vram_alloc(rt->model->ctx->acc, ti->nbytes, WP_MEM_WEIGHTS, ti->name))) {
        rc = CUDA_ERROR_OUT_OF_MEMORY;
        wrk_error_prefix("tensor '%s': ", name);
        goto fail;
    }
    if (rt->model->ctx->backend == WP_BACKEND_CUDA) {
#ifdef HAVE_CUDA
        rc = rt->up ? wrk_upload_cuda(rt->up, dst, ti->data, ti->nbytes)
                    : wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                                "tensor '%s': uploads are only possible during load", name);
#else
        rc = wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "built without CUDA");
#endif
    } else {
        rc = wrk_upload_host(dst, ti->data, ti->nbytes);
    }
    if (rc) {
        wrk_error_prefix("tensor '%s': ", name);
        goto fail;
    }
    fill_tensor(ti, &rec->t);
    rec->t.data = dst;
    rec->next = rt->model->tensors;
    rt->model->tensors = rec;
    *out = rec->t;
    progress(rt, ti->nbytes);
    return 0;
fail:
    if (dst) {
#ifdef HAVE_CUDA
        /* A queued copy may still target dst: drain the stream before freeing it. */
        if (rt->model->ctx->backend == WP_BACKEND_CUDA && rt->up) {
            char keep[WRK_ERROR_DETAIL_MAX];
            snprintf(keep, sizeof keep, "%s", wrk_error_detail());
            (void)wrk_upload_cuda_end(rt->up);
            rt->up = NULL;
            wrk_error(rc, "%s", keep);
        }
#endif
        wrk_vram_free(rt->model->ctx->acc, dst);
    }
    free(rec);
    return rc;
}

int wrk_upload_host(void *dst, const void *src, uint64_t n)
{
    if ((!dst || !src) && n)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "weight upload: NULL argument");
    if (n) memcpy(dst, src, n);
    return 0;
}

void wrk_model_free_tensors(CudaModel *m)
{
    struct wrk_loaded_tensor *t, *next;
    if (!m) return;
    for (t = m->tensors; t; t = next) {
        next = t->next;
        wrk_vram_free(m->ctx->acc, t->t.data);
        free(t);
    }
    m->tensors = NULL;
}

int wrk_model_host_init(CudaModel *m, wrk_model_rt *rt)
{
    wp_host *h = &m->host;
    CudaContext *ctx = m->ctx;

    memset(h, 0, sizeof *h);
    h->abi_major = WORKER_PLUGIN_ABI_MAJOR;
    h->abi_minor = WORKER_PLUGIN_ABI_MINOR;
    h->struct_size = sizeof *h;
    h->backend = (uint32_t)ctx->backend;
    h->device = ctx->backend == WP_BACKEND_CUDA ? ctx->device : -1;
    h->stream = ctx->stream;
    h->cublas = ctx->cublas;
    h->runtime = rt;
    h->log = host_log;
    h->set_error = host_set_error;
    h->alloc = host_alloc;
    h->free = host_free;
    h->meta_u32 = host_meta_u32;
    h->meta_f32 = host_meta_f32;
    h->meta_bool = host_meta_bool;
    h->meta_str = host_meta_str;
    h->meta_has = host_meta_has;
    h->tensor_info = host_tensor_info;
    h->tensor_exists = host_tensor_exists;
    h->tensor_load = host_tensor_load;
    h->ops = ctx->backend == WP_BACKEND_CUDA ? wrk_ops_cuda() : wrk_ops_host();
    h->scratch = host_scratch;
    h->launch_flags = ctx->backend == WP_BACKEND_CUDA ? wrk_ops_cuda_launch_flags() : 0;
    if (!h->ops)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "no kernel library for the %s backend (built without CUDA?)",
                         ctx->backend == WP_BACKEND_CUDA ? "CUDA" : "host");
    return 0;
}
