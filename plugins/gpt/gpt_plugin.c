/*
 * gpt_plugin.c - the descriptor of the gpt plugin: architecture "gpt2", host backend
 * always, CUDA when built with it (GPT_WITH_CUDA, set by plugins/gpt/gpt.mk).
 */
#include <stddef.h>

#include "gpt.h"

/* The name must match the module's file name; a separately built copy (the independence
 * test) may be given another name and version. */
#ifndef GPT_PLUGIN_NAME
#define GPT_PLUGIN_NAME "gpt"
#endif
#ifndef GPT_PLUGIN_VERSION
#define GPT_PLUGIN_VERSION "1.0.0"
#endif

#ifdef GPT_WITH_CUDA
#define GPT_BACKENDS ((1u << WP_BACKEND_HOST) | (1u << WP_BACKEND_CUDA))
#else
#define GPT_BACKENDS (1u << WP_BACKEND_HOST)
#endif

static const char *const gpt_architectures[] = { "gpt2", NULL };

/* Serve a gpt2 file when its hyper-parameter keys are there; tensors are checked at load. */
static int gpt_probe(const wp_host *host, const char *architecture)
{
    static const char *const keys[] = { "gpt2.embedding_length", "gpt2.block_count",
                                        "gpt2.attention.head_count", "gpt2.context_length" };
    (void)architecture;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (!host->meta_has(host, keys[i]))
            return host->set_error(host, CUDA_ERROR_MODEL_LOAD_FAILED,
                                   "gpt2: metadata key %s is missing", keys[i]);
    return CUDA_SUCCESS;
}

static int gpt_model_info(void *model, wp_model_info *info)
{
    const gpt_model *m = model;
    if (!m || !info) return CUDA_ERROR_INVALID_PARAMETER;
    info->struct_size = sizeof *info;
    info->vocab_size = m->hp.n_vocab;
    info->context_length = m->hp.n_ctx_train;
    info->max_batch = GPT_MAX_BATCH;
    info->n_params = m->n_params;
    return CUDA_SUCCESS;
}

static const wp_plugin gpt_descriptor = {
    WP_PLUGIN_HEADER,
    GPT_PLUGIN_NAME,
    GPT_PLUGIN_VERSION,
    "GPT-2 family: learned positions, LayerNorm, fused QKV, GELU MLP",
    gpt_architectures,
    GPT_BACKENDS,
    gpt_probe,
    gpt_load,
    gpt_unload,
    gpt_model_info,
    gpt_kv_size,
    gpt_kv_create,
    gpt_kv_free,
    gpt_forward,
    /* ABI 1.2: no greedy decode step on the device (the forward pass has no decode path of
     * its own to share; the runtime samples the host logits) */
    NULL,
    gpt_kv_reset,
    /* ABI 1.3: no pipelined greedy steps either (they build on forward_greedy's device
     * step); greedy jobs keep host sampling */
    NULL,
    NULL,
};

WORKER_PLUGIN_DEFINE(gpt_descriptor)
