/*
 * toy2.c - a complete worker-orcd architecture plugin, built OUT OF TREE with only the
 * installed SDK (tests/plugin/sdk_test.sh does exactly this):
 *
 *   cc -std=c11 -shared -fPIC $(pkg-config --cflags worker-orcd-plugin) -o toy2.so toy2.c
 *
 * Architecture "toy2": a GGUF with toy2.vocab_size = V and one tensor toy2.embd [V, V]
 * (F32 or F16). The "model" predicts the next token's logits as row tokens[n-1] of
 * toy2.embd. Everything backend-specific goes through host->ops, so the same code runs on
 * the CUDA and the reference host backend. See docs/plugins.md.
 */
#include <stdlib.h>

#include <worker_plugin.h>

typedef struct toy2_model {
    const wp_host *host;   /* valid until unload returns */
    wp_tensor embd;        /* uploaded by the runtime, freed by it at unload */
    uint32_t vocab;
    float *row;            /* our scratch: one fp32 row in backend memory */
} toy2_model;

typedef struct toy2_kv {
    uint32_t n_ctx;
    float *positions;      /* a stand-in for a real KV cache (backend memory) */
} toy2_kv;

static int toy2_load(const wp_host *host, const char *arch, void **out)
{
    toy2_model *m = calloc(1, sizeof *m);
    uint64_t ne[2];
    int rc;

    (void)arch;
    *out = NULL;
    if (!m) return host->set_error(host, CUDA_ERROR_OUT_OF_MEMORY, "toy2: out of memory");
    m->host = host;
    if ((rc = host->meta_u32(host, "toy2.vocab_size", &m->vocab)) != 0) goto fail;
    ne[0] = ne[1] = m->vocab;
    /* The runtime checks shape and type and names the tensor in any error. */
    rc = host->tensor_load(host, "toy2.embd", 2, ne,
                           WP_DTYPE_BIT(WP_DTYPE_F32) | WP_DTYPE_BIT(WP_DTYPE_F16), &m->embd);
    if (rc) goto fail;
    m->row = host->alloc(host, m->vocab * sizeof(float), WP_MEM_SCRATCH, "toy2 row");
    if (!m->row) {
        rc = CUDA_ERROR_OUT_OF_MEMORY;
        goto fail;
    }
    host->log(host, WP_LOG_INFO, "toy2: %u-token model ready", m->vocab);
    *out = m;
    return 0;
fail:
    free(m);   /* tensors already loaded are freed by the runtime */
    return rc;
}

static void toy2_unload(void *model)
{
    toy2_model *m = model;
    m->host->free(m->host, m->row);
    free(m);
}

static int toy2_model_info(void *model, wp_model_info *info)
{
    toy2_model *m = model;
    info->vocab_size = m->vocab;
    info->context_length = 64;
    info->max_batch = 16;
    info->n_params = (uint64_t)m->vocab * m->vocab;
    return 0;
}

static int toy2_kv_size(void *model, uint32_t n_ctx, uint64_t *bytes)
{
    (void)model;
    *bytes = (uint64_t)n_ctx * sizeof(float);
    return 0;
}

static int toy2_kv_create(void *model, uint32_t n_ctx, void **out)
{
    toy2_model *m = model;
    toy2_kv *kv = calloc(1, sizeof *kv);
    if (!kv) return m->host->set_error(m->host, CUDA_ERROR_OUT_OF_MEMORY, "toy2: no memory");
    kv->n_ctx = n_ctx;
    kv->positions = m->host->alloc(m->host, n_ctx * sizeof(float), WP_MEM_KV_CACHE, "toy2 kv");
    if (!kv->positions) {
        free(kv);
        return CUDA_ERROR_OUT_OF_MEMORY;   /* the accountant recorded the detail */
    }
    *out = kv;
    return 0;
}

static void toy2_kv_free(void *model, void *kvp)
{
    toy2_model *m = model;
    toy2_kv *kv = kvp;
    m->host->free(m->host, kv->positions);
    free(kv);
}

static int toy2_forward(void *model, void *kvp, const int32_t *tokens, int n, int pos,
                        float *logits, int all_logits)
{
    toy2_model *m = model;
    toy2_kv *kv = kvp;
    const wp_ops *ops = m->host->ops;
    int rc;

    if (n < 1 || pos < 0 || (uint32_t)(pos + n) > kv->n_ctx)
        return m->host->set_error(m->host, CUDA_ERROR_INVALID_PARAMETER,
                                  "toy2: %d tokens at %d exceed the cache of %u", n, pos,
                                  kv->n_ctx);
    for (int i = all_logits ? 0 : n - 1; i < n; i++) {
        float *dst = logits + (all_logits ? (size_t)i * m->vocab : 0);
        if ((rc = ops->get_rows(m->host, &m->embd, &tokens[i], 1, m->row)) != 0) return rc;
        if ((rc = ops->to_host(m->host, dst, m->row, m->vocab * sizeof(float))) != 0) return rc;
    }
    return 0;
}

static const char *const toy2_archs[] = {"toy2", NULL};

static const wp_plugin toy2_plugin = {
    WP_PLUGIN_HEADER,
    "toy2", "0.1", "out-of-tree example plugin", toy2_archs,
    (1u << WP_BACKEND_HOST) | (1u << WP_BACKEND_CUDA),
    NULL,   /* probe: serve every toy2 file */
    toy2_load, toy2_unload, toy2_model_info,
    toy2_kv_size, toy2_kv_create, toy2_kv_free, toy2_forward,
    NULL,   /* forward_greedy (ABI 1.2): optional */
    NULL,   /* kv_reset (ABI 1.2): optional; NULL: caches are not reused between jobs */
    NULL,   /* greedy_queue (ABI 1.3): optional, with greedy_collect */
    NULL,   /* greedy_collect (ABI 1.3) */
};

WORKER_PLUGIN_DEFINE(toy2_plugin)
