/*
 * toy.c - the test plugin family of tests/plugin (built several times with different -D
 * flags, each module in its own directory; see tests/plugin.mk).
 *
 * Architecture "toy": one tensor toy.embd of shape [V, V] (F32 or F16), V = toy.vocab_size.
 * forward: logits = TOY_SCALE * row tokens[n-1] of toy.embd, through host->ops (get_rows
 * into a backend scratch buffer, to_host), so it runs on either backend. The KV "cache" is
 * one backend buffer of n_ctx floats (it only records that positions were used).
 *
 * Variants (macros):
 *   TOY_NAME "toy"         descriptor name          TOY_SCALE 1.0f   logits multiplier
 *   TOY_ABI_MAJOR/MINOR    versions it claims       TOY_SMALL        descriptor one member short
 *   TOY_STRUCT_SIZE        the descriptor's size as an older minor built it
 *   TOY_FAIL_LOAD          load allocates (tensor + scratch) then fails, freeing its own
 *   TOY_NO_ENTRY           exports no entry symbol  TOY_LTX          entry only as
 *                                                                    <module>_LTX_worker_plugin_entry
 */
#include <stdlib.h>
#include <string.h>

#include "worker_plugin.h"

#ifndef TOY_NAME
#define TOY_NAME "toy"
#endif
#ifndef TOY_SCALE
#define TOY_SCALE 1.0f
#endif
#ifndef TOY_ABI_MAJOR
#define TOY_ABI_MAJOR WORKER_PLUGIN_ABI_MAJOR
#endif
#ifndef TOY_ABI_MINOR
#define TOY_ABI_MINOR WORKER_PLUGIN_ABI_MINOR
#endif
#ifdef TOY_SMALL
#define TOY_STRUCT_SIZE offsetof(wp_plugin, forward)   /* one member short of ABI 1.0 */
#endif
#ifndef TOY_STRUCT_SIZE
#define TOY_STRUCT_SIZE sizeof(wp_plugin)
#endif

typedef struct toy_model {
    const wp_host *host;
    wp_tensor embd;
    uint32_t vocab;
    uint32_t n_ctx;
    float *row;          /* backend scratch: one row of embd as fp32 */
} toy_model;

typedef struct toy_kv {
    float *cache;        /* backend memory, n_ctx floats */
    uint32_t n_ctx;
} toy_kv;

static int toy_load(const wp_host *host, const char *arch, void **out)
{
    toy_model *m;
    uint64_t ne[2];
    int rc;

    (void)arch;
    *out = NULL;
    if (!(m = calloc(1, sizeof *m)))
        return host->set_error(host, CUDA_ERROR_OUT_OF_MEMORY, "toy: out of memory");
    m->host = host;
    if ((rc = host->meta_u32(host, "toy.vocab_size", &m->vocab)) != 0) goto fail;
    if (host->meta_has(host, "toy.context_length")) {
        if ((rc = host->meta_u32(host, "toy.context_length", &m->n_ctx)) != 0) goto fail;
    } else {
        m->n_ctx = 64;
    }
    ne[0] = ne[1] = m->vocab;
    rc = host->tensor_load(host, "toy.embd", 2, ne,
                           WP_DTYPE_BIT(WP_DTYPE_F32) | WP_DTYPE_BIT(WP_DTYPE_F16), &m->embd);
    if (rc) goto fail;
    if (!(m->row = host->alloc(host, (size_t)m->vocab * sizeof(float), WP_MEM_SCRATCH,
                               "toy logits row"))) {
        rc = CUDA_ERROR_OUT_OF_MEMORY;
        goto fail;
    }
#ifdef TOY_FAIL_LOAD
    rc = host->set_error(host, CUDA_ERROR_MODEL_LOAD_FAILED,
                         "toy: refusing to load (this plugin always fails after allocating)");
    goto fail;
#endif
    host->log(host, WP_LOG_DEBUG, "toy model: vocab %u, n_ctx %u", m->vocab, m->n_ctx);
    *out = m;
    return 0;
fail:
    if (m->row) host->free(host, m->row);   /* our own buffer; the runtime frees tensors */
    free(m);
    return rc;
}

static void toy_unload(void *model)
{
    toy_model *m = model;
    if (!m) return;
    m->host->free(m->host, m->row);
    free(m);
}

static int toy_model_info(void *model, wp_model_info *info)
{
    toy_model *m = model;
    info->vocab_size = m->vocab;
    info->context_length = m->n_ctx;
    info->max_batch = 8;
    info->n_params = (uint64_t)m->vocab * m->vocab;
    return 0;
}

static int toy_kv_size(void *model, uint32_t n_ctx, uint64_t *bytes)
{
    (void)model;
    *bytes = (uint64_t)n_ctx * sizeof(float);
    return 0;
}

static int toy_kv_create(void *model, uint32_t n_ctx, void **out)
{
    toy_model *m = model;
    toy_kv *kv;
    *out = NULL;
    if (!n_ctx || n_ctx > m->n_ctx)
        return m->host->set_error(m->host, CUDA_ERROR_INVALID_PARAMETER,
                                  "toy: n_ctx %u not in 1..%u", n_ctx, m->n_ctx);
    if (!(kv = calloc(1, sizeof *kv)))
        return m->host->set_error(m->host, CUDA_ERROR_OUT_OF_MEMORY, "toy: out of memory");
    kv->n_ctx = n_ctx;
    if (!(kv->cache = m->host->alloc(m->host, n_ctx * sizeof(float), WP_MEM_KV_CACHE,
                                     "toy kv"))) {
        free(kv);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    *out = kv;
    return 0;
}

static void toy_kv_free(void *model, void *kvp)
{
    toy_model *m = model;
    toy_kv *kv = kvp;
    if (!kv) return;
    m->host->free(m->host, kv->cache);
    free(kv);
}

static int toy_forward(void *model, void *kvp, const int32_t *tokens, int n, int pos,
                       float *logits, int all_logits)
{
    toy_model *m = model;
    toy_kv *kv = kvp;
    const wp_ops *ops = m->host->ops;
    int rc;

    if (!kv || n < 1 || n > 8 || pos < 0 || (uint32_t)(pos + n) > kv->n_ctx)
        return m->host->set_error(m->host, CUDA_ERROR_INVALID_PARAMETER,
                                  "toy: bad forward (n %d, pos %d)", n, pos);
    for (int i = all_logits ? 0 : n - 1; i < n; i++) {
        float *dst = logits + (all_logits ? (size_t)i * m->vocab : 0);
        if ((rc = ops->get_rows(m->host, &m->embd, &tokens[i], 1, m->row)) != 0) return rc;
        if ((rc = ops->to_host(m->host, dst, m->row, m->vocab * sizeof(float))) != 0) return rc;
        for (uint32_t v = 0; v < m->vocab; v++) dst[v] *= TOY_SCALE;
    }
    return 0;
}

static const char *const toy_archs[] = {"toy", NULL};

static const wp_plugin toy_plugin = {
    TOY_ABI_MAJOR, TOY_ABI_MINOR, TOY_STRUCT_SIZE,
    TOY_NAME, "1.0", "test plugin of tests/plugin", toy_archs,
    (1u << WP_BACKEND_HOST) | (1u << WP_BACKEND_CUDA),
    NULL, toy_load, toy_unload, toy_model_info, toy_kv_size, toy_kv_create, toy_kv_free,
    toy_forward,
    NULL, /* forward_greedy (ABI 1.2) */
    NULL, /* kv_reset (ABI 1.2) */
    NULL, /* greedy_queue (ABI 1.3) */
    NULL, /* greedy_collect (ABI 1.3) */
};

#if defined(TOY_NO_ENTRY)
WP_EXPORT const wp_plugin *toy_not_the_entry(void);
WP_EXPORT const wp_plugin *toy_not_the_entry(void) { return &toy_plugin; }
#elif defined(TOY_LTX)
WP_EXPORT const wp_plugin *ltxmod_LTX_worker_plugin_entry(void);
WP_EXPORT const wp_plugin *ltxmod_LTX_worker_plugin_entry(void) { return &toy_plugin; }
#else
WORKER_PLUGIN_DEFINE(toy_plugin)
#endif
