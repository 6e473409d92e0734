/*
 * model_load.c - cuda_load_model / cuda_unload_model: GGUF -> plugin -> weights in backend
 * memory (issue 3 item 3, issue 4).
 *
 * Load: open and validate the GGUF (runtime/gguf), read general.architecture, pick the
 * plugin from the context's registry, hand it the wp_host services table, let it probe and
 * load (it uploads weights through host->tensor_load, which checks shapes and records every
 * tensor), ask it for model facts, build the tokenizer from the file's metadata, and fill
 * the public WorkerModelInfo. One model per context (M0-W-1001).
 *
 * Any failure unwinds everything in reverse order (plugin model, uploaded tensors,
 * tokenizer, GGUF mapping): the accountant returns to where it was before the call.
 */
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
#include "plugin/registry.h"
#include "session/job_spare.h"
#include "text/tokenizer.h"
#include "model/model_internal.h"

/* Bytes per pinned staging buffer (two are used). */
#define WRK_UPLOAD_CHUNK (64ull << 20)

/* Copy src into a fixed buffer; an over-long value is an error naming what. */
static int copy_field(char *dst, size_t cap, const char *src, const char *what)
{
    size_t n = strlen(src);
    if (n >= cap)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "%s is too long (%zu bytes, at most %zu)",
                         what, n, cap - 1);
    memcpy(dst, src, n + 1);
    return 0;
}

/* general.name, else the file's base name without ".gguf". */
static void model_name(CudaModel *m)
{
    const char *name = NULL, *base;
    size_t n;
    if (gguf_find_key(m->gguf, "general.name") >= 0 &&
        gguf_get_str(m->gguf, "general.name", &name) == 0 && name && *name) {
        snprintf(m->name, sizeof m->name, "%s", name);
        return;
    }
    base = strrchr(m->path, '/');
    base = base ? base + 1 : m->path;
    n = strlen(base);
    if (n > 5 && strcmp(base + n - 5, ".gguf") == 0) n -= 5;
    if (n >= sizeof m->name) n = sizeof m->name - 1;
    memcpy(m->name, base, n);
    m->name[n] = '\0';
}

/* The weight type holding the most bytes among the uploaded tensors. */
static void dominant_type(CudaModel *m)
{
    uint64_t bytes[64] = {0}, best = 0;
    int best_t = -1;
    for (struct wrk_loaded_tensor *t = m->tensors; t; t = t->next)
        if (t->t.type < 64) bytes[t->t.type] += t->t.nbytes;
    for (int i = 0; i < 64; i++)
        if (bytes[i] > best) {
            best = bytes[i];
            best_t = i;
        }
    snprintf(m->quant_kind, sizeof m->quant_kind, "%s",
             best_t < 0 ? "none" : wrk_dtype_name((uint32_t)best_t));
}

/* Layer and KV-head counts use the GGUF convention every architecture shares
 * (<arch>.block_count, <arch>.attention.*); the runtime still reads no tensor names.
 * KV bytes per token come from the plugin itself: the growth of kv_size by one position
 * (scratch buffers do not grow past the batch size). Unknown values stay 0. */
static void fill_shape_info(CudaModel *m, WorkerModelInfo *pi)
{
    char key[128];
    uint32_t heads = 0, dim = 0, v = 0;
    uint64_t a = 0, b = 0;

    snprintf(key, sizeof key, "%s.block_count", m->arch);
    if (gguf_find_key(m->gguf, key) >= 0 && gguf_get_u32(m->gguf, key, &v) == 0) pi->n_layers = v;
    snprintf(key, sizeof key, "%s.attention.head_count", m->arch);
    if (gguf_find_key(m->gguf, key) >= 0) gguf_get_u32(m->gguf, key, &heads);
    pi->n_kv_heads = heads;
    snprintf(key, sizeof key, "%s.attention.head_count_kv", m->arch);
    if (gguf_find_key(m->gguf, key) >= 0 && gguf_get_u32(m->gguf, key, &v) == 0)
        pi->n_kv_heads = v;
    snprintf(key, sizeof key, "%s.embedding_length", m->arch);
    if (gguf_find_key(m->gguf, key) >= 0) gguf_get_u32(m->gguf, key, &dim);
    if (heads) pi->head_dim = dim / heads;
    snprintf(key, sizeof key, "%s.attention.key_length", m->arch);
    if (gguf_find_key(m->gguf, key) >= 0 && gguf_get_u32(m->gguf, key, &v) == 0) pi->head_dim = v;
    if (m->info.context_length > 2) {
        uint32_t n = m->info.context_length > 4096 ? 4096 : m->info.context_length - 1;
        if (m->plugin->kv_size(m->plugin_model, n, &a) == 0 &&
            m->plugin->kv_size(m->plugin_model, n + 1, &b) == 0 && b > a)
            pi->kv_bytes_per_token = b - a;
    }
    wrk_error_clear();   /* absent keys are not failures */
}

static void fill_public_info(CudaModel *m)
{
    WorkerModelInfo *pi = &m->public_info;
    const char *tmpl = NULL;
    uint64_t wbytes = 0;

    for (struct wrk_loaded_tensor *t = m->tensors; t; t = t->next) wbytes += t->t.nbytes;
    memset(pi, 0, sizeof *pi);
    pi->struct_size = sizeof *pi;
    pi->architecture = m->arch;
    pi->name = m->name;
    pi->plugin = m->plugin->name;
    pi->plugin_version = m->plugin->version ? m->plugin->version : "";
    pi->quant_kind = m->quant_kind;
    pi->tokenizer_kind = m->tokenizer ? wrk_tokenizer_kind(m->tokenizer) : NULL;
    if (gguf_find_key(m->gguf, "tokenizer.chat_template") >= 0 &&
        gguf_get_str(m->gguf, "tokenizer.chat_template", &tmpl) == 0)
        pi->chat_template = tmpl;
    pi->vocab_size = m->info.vocab_size;
    pi->context_length = m->info.context_length;
    pi->n_params = m->info.n_params;
    pi->weight_bytes = wbytes;
    fill_shape_info(m, pi);
}

/* Release everything m holds, in reverse order of acquisition. Safe on a partly built m. */
static void model_release(CudaModel *m)
{
    wrk_model_rt *rt = m->host.runtime;
#ifdef HAVE_CUDA
    if (rt && rt->up) {
        /* Drain copies before freeing their targets; keep the detail of the real failure. */
        char keep[WRK_ERROR_DETAIL_MAX];
        snprintf(keep, sizeof keep, "%s", wrk_error_detail());
        (void)wrk_upload_cuda_end(rt->up);
        rt->up = NULL;
        wrk_error(0, "%s", keep);
    }
#endif
    wrk_spare_release(m);
    if (m->plugin && m->plugin_model) m->plugin->unload(m->plugin_model);
    m->plugin_model = NULL;
    wrk_model_free_scratch(m);
    wrk_model_free_tensors(m);
    if (m->tokenizer) wrk_tokenizer_free(m->tokenizer);
    m->tokenizer = NULL;
    if (m->gguf) gguf_close(m->gguf);
    m->gguf = NULL;
    free(rt);
    m->host.runtime = NULL;
    free(m->path);
    free(m);
}

/* Open the default registry (settings of the environment) when the context has none. */
static int ensure_registry(CudaContext *ctx)
{
    if (ctx->plugins) return 0;
    return wrk_plugins_open(NULL, &ctx->plugins);
}

/* The steps of a load after m and rt exist; returns 0 or an error with detail. */
static int load_steps(CudaModel *m, wrk_model_rt *rt)
{
    CudaContext *ctx = m->ctx;
    const char *arch = NULL;
    int rc;

    if ((rc = gguf_open(m->path, &m->gguf)) != 0) return rc;
    if ((rc = gguf_get_str(m->gguf, "general.architecture", &arch)) != 0) return rc;
    if ((rc = copy_field(m->arch, sizeof m->arch, arch, "general.architecture")) != 0) return rc;
    model_name(m);
    if ((rc = ensure_registry(ctx)) != 0) return rc;
    if (!(m->plugin = wrk_plugins_find(ctx->plugins, m->arch, ctx->backend)))
        return CUDA_ERROR_MODEL_LOAD_FAILED;
    snprintf(rt->component, sizeof rt->component, "plugin:%s", m->plugin->name);
    if ((rc = wrk_model_host_init(m, rt)) != 0) return rc;

    rt->progress = isatty(2);
    for (int64_t i = 0; i < gguf_n_tensors(m->gguf); i++)
        rt->bytes_total += gguf_tensor(m->gguf, i)->nbytes;
    rt->last_percent = -1;
    if (ctx->backend == WP_BACKEND_CUDA) {
#ifdef HAVE_CUDA
        /* Small models do not need 2 x 64 MiB of pinned memory (slow to allocate). */
        uint64_t chunk = rt->bytes_total / 2 + 4096;
        if (chunk > WRK_UPLOAD_CHUNK) chunk = WRK_UPLOAD_CHUNK;
        if ((rc = wrk_upload_cuda_begin(ctx->stream, chunk, &rt->up)) != 0) return rc;
#else
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "CUDA backend without CUDA support");
#endif
    }

    if (m->plugin->probe && (rc = m->plugin->probe(&m->host, m->arch)) != 0) {
        wrk_error_prefix("plugin '%s' cannot serve this file: ", m->plugin->name);
        return rc;
    }
    rc = m->plugin->load(&m->host, m->arch, &m->plugin_model);
    if (rt->progress && rt->last_percent >= 0) fputc('\n', stderr);
    if (rc != 0) {
        m->plugin_model = NULL;   /* the plugin released its own state */
        wrk_error_prefix("plugin '%s': ", m->plugin->name);
        return rc;
    }
    if (!m->plugin_model)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin '%s': load succeeded but returned no model", m->plugin->name);
#ifdef HAVE_CUDA
    rc = wrk_upload_cuda_end(rt->up);
    rt->up = NULL;
    if (rc != 0) return rc;
#endif

    memset(&m->info, 0, sizeof m->info);
    m->info.struct_size = sizeof m->info;
    if ((rc = m->plugin->model_info(m->plugin_model, &m->info)) != 0) {
        wrk_error_prefix("plugin '%s': model_info: ", m->plugin->name);
        return rc;
    }
    if (!m->info.vocab_size || !m->info.max_batch || !m->info.context_length)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "plugin '%s': model_info gave vocab_size %u, context_length %u, "
                         "max_batch %u (all must be >= 1)", m->plugin->name,
                         m->info.vocab_size, m->info.context_length, m->info.max_batch);

    if ((rc = wrk_tokenizer_from_gguf(m->gguf, &m->tokenizer)) != 0) return rc;
    if (wrk_tokenizer_vocab_size(m->tokenizer) > m->info.vocab_size)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "tokenizer has %u tokens but the model's logits have %u rows",
                         wrk_tokenizer_vocab_size(m->tokenizer), m->info.vocab_size);
    dominant_type(m);
    fill_public_info(m);
    return 0;
}

WRK_API CudaModel *cuda_load_model(CudaContext *ctx, const char *model_path,
                                   uint64_t *vram_bytes_used, int *error_code)
{
    CudaModel *m = NULL;
    wrk_model_rt *rt = NULL;
    uint64_t baseline;
    int rc;

    wrk_error_clear();
    if (vram_bytes_used) *vram_bytes_used = 0;
    if (!ctx || !ctx->acc) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                           "cuda_load_model: context is NULL"));
        return NULL;
    }
    if (!model_path || !*model_path) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                           "cuda_load_model: model_path is NULL or empty"));
        return NULL;
    }
    if (ctx->model) {
        wrk_set_code(error_code,
                     wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                               "context already holds model %s (%s); one model per worker "
                               "(M0-W-1001): unload it first", ctx->model->name,
                               ctx->model->path ? ctx->model->path : "?"));
        return NULL;
    }
    baseline = wrk_vram_total(ctx->acc);
    m = calloc(1, sizeof *m);
    rt = calloc(1, sizeof *rt);
    if (!m || !rt || !(m->path = strdup(model_path))) {
        free(m ? m->path : NULL);
        free(m);
        free(rt);
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_OUT_OF_MEMORY,
                                           "cuda_load_model: out of host memory"));
        return NULL;
    }
    m->ctx = ctx;
    rt->model = m;
    rt->baseline = baseline;
    m->host.runtime = rt;

    if ((rc = load_steps(m, rt)) != 0) {
        uint64_t left;
        if (rc != CUDA_ERROR_OUT_OF_MEMORY) rc = CUDA_ERROR_MODEL_LOAD_FAILED;
        wrk_error_prefix("loading model %s: ", model_path);
        model_release(m);
        left = wrk_vram_total(ctx->acc);
        if (left != baseline)
            wrk_log(WRK_LOG_WARN, "model",
                    "a failed load left %lld bytes in the accountant (plugin leak?)",
                    (long long)(left - baseline));
        wrk_log(WRK_LOG_ERROR, "model", "%s", wrk_error_detail());
        wrk_set_code(error_code, rc);
        return NULL;
    }
    m->weight_bytes = wrk_vram_total(ctx->acc) - baseline;
    ctx->model = m;
    wrk_log(WRK_LOG_INFO, "model",
            "loaded %s (%s, %s, plugin %s %s): %llu bytes of %s memory, %u tokens vocab",
            m->name, m->arch, m->quant_kind, m->plugin->name,
            m->plugin->version ? m->plugin->version : "",
            (unsigned long long)m->weight_bytes,
            ctx->backend == WP_BACKEND_CUDA ? "device" : "host", m->info.vocab_size);
    if (vram_bytes_used) *vram_bytes_used = m->weight_bytes;
    wrk_set_code(error_code, CUDA_SUCCESS);
    return m;
}

WRK_API void cuda_unload_model(CudaModel *model)
{
    CudaContext *ctx;
    uint64_t baseline, left;

    wrk_error_clear();
    if (!model) return;
    ctx = model->ctx;
    baseline = ((wrk_model_rt *)model->host.runtime)->baseline;
    if (ctx && ctx->model == model) ctx->model = NULL;
    model_release(model);
    if (ctx && ctx->acc && (left = wrk_vram_total(ctx->acc)) != baseline)
        wrk_log(WRK_LOG_WARN, "model",
                "after unload the accountant holds %llu bytes, %llu before the load "
                "(inference jobs still open, or a plugin leak)",
                (unsigned long long)left, (unsigned long long)baseline);
}
