/*
 * llama_plugin.c - the descriptor and entry symbol of the llama plugin, which serves the
 * GGUF architectures "llama" (Llama 2/3, TinyLlama, Mistral) and "qwen2".
 */
#include "config.h"
#include "llama.h"

/* The CUDA kernel set exists only in a CUDA build. */
#ifdef HAVE_CUDA
#define LLAMA_BACKENDS ((1u << WP_BACKEND_HOST) | (1u << WP_BACKEND_CUDA))
#else
#define LLAMA_BACKENDS (1u << WP_BACKEND_HOST)
#endif

static const char *const llama_architectures[] = { "llama", "qwen2", NULL };

/* Report what the runtime needs to size a session: vocab, trained context, batch limit. */
static int llama_model_info(void *model, wp_model_info *info)
{
    const llama_model *m = model;
    if (!m || !info)
        return CUDA_ERROR_INVALID_PARAMETER;
    info->struct_size = sizeof(*info);
    info->vocab_size = m->hp.n_vocab;
    info->context_length = m->hp.n_ctx_train;
    info->max_batch = LLAMA_MAX_BATCH;
    info->n_params = m->n_params;
    return CUDA_SUCCESS;
}

static const wp_plugin llama_plugin_descriptor = {
    WP_PLUGIN_HEADER,
    "llama",
    "0.1.0",
    "Llama-family decoder (llama, qwen2): RMSNorm, RoPE (normal and NeoX), GQA, SwiGLU",
    llama_architectures,
    LLAMA_BACKENDS,
    llama_probe,
    llama_load,
    llama_unload,
    llama_model_info,
    llama_kv_size,
    llama_kv_create,
    llama_kv_free,
    llama_forward,
    /* ABI 1.2 */
    llama_forward_greedy,
    llama_kv_reset,
    /* ABI 1.3 */
    llama_greedy_queue,
    llama_greedy_collect,
};

WORKER_PLUGIN_DEFINE(llama_plugin_descriptor)
