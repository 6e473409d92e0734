/*
 * llama_load.c - read the hyper-parameters of a llama/qwen2 GGUF and upload its weights
 * through the host table, checking every tensor's shape and type.
 */
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "llama.h"

/* Weight types the shared matmul accepts for matrices. */
#define LLAMA_MATRIX_TYPES                                                              \
    (WP_DTYPE_BIT(WP_DTYPE_F32) | WP_DTYPE_BIT(WP_DTYPE_F16) | WP_DTYPE_BIT(WP_DTYPE_BF16) | \
     WP_DTYPE_BIT(WP_DTYPE_Q8_0) | WP_DTYPE_BIT(WP_DTYPE_Q4_0) |                         \
     WP_DTYPE_BIT(WP_DTYPE_Q4_K) | WP_DTYPE_BIT(WP_DTYPE_Q6_K))
#define LLAMA_F32_ONLY WP_DTYPE_BIT(WP_DTYPE_F32)

/* Sanity limits: far above any real model, low enough that no size computed from them
 * overflows 64 bits. */
#define LLAMA_MAX_DIM (1u << 20)
#define LLAMA_MAX_LAYERS 4096u

static int llama_is_qwen2(const char *architecture)
{
    return strcmp(architecture, "qwen2") == 0;
}

/* Required u32 "<arch>.<suffix>"; the host getter records the detail on failure. */
static int llama_meta_u32(const wp_host *h, const char *arch, const char *suffix,
                          uint32_t *out)
{
    char key[160];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    return h->meta_u32(h, key, out);
}

/* Optional u32: *out keeps def when the key is absent; a present key of a wrong type is
 * still an error. */
static int llama_meta_u32_opt(const wp_host *h, const char *arch, const char *suffix,
                              uint32_t def, uint32_t *out)
{
    char key[160];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    *out = def;
    if (!h->meta_has(h, key))
        return CUDA_SUCCESS;
    return h->meta_u32(h, key, out);
}

static int llama_meta_f32_opt(const wp_host *h, const char *arch, const char *suffix,
                              float def, float *out)
{
    char key[160];
    snprintf(key, sizeof(key), "%s.%s", arch, suffix);
    *out = def;
    if (!h->meta_has(h, key))
        return CUDA_SUCCESS;
    return h->meta_f32(h, key, out);
}

/* Rope scaling we implement: none, or linear (positions scaled by 1/factor). Anything else
 * (yarn, longrope) would silently give wrong logits, so it is refused. */
static int llama_rope_scaling(const wp_host *h, const char *arch, float *freq_scale)
{
    char key[160];
    const char *type = "none";
    int rc;
    *freq_scale = 1.0f;
    snprintf(key, sizeof(key), "%s.rope.scaling.type", arch);
    if (h->meta_has(h, key) && (rc = h->meta_str(h, key, &type)) != 0)
        return rc;
    if (strcmp(type, "none") == 0)
        return CUDA_SUCCESS;
    if (strcmp(type, "linear") != 0)
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s: unsupported rope scaling type '%s' (supported: none, linear)",
                            key, type);
    float factor = 1.0f;
    if ((rc = llama_meta_f32_opt(h, arch, "rope.scaling.factor", 1.0f, &factor)) != 0)
        return rc;
    if (!(factor > 0.0f && factor < 1e6f))
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s.rope.scaling.factor: %g is not a positive factor", arch,
                            (double)factor);
    *freq_scale = 1.0f / factor;
    return CUDA_SUCCESS;
}

/* Optional probe: serve llama/qwen2 unless the rope scaling is one we do not implement. */
int llama_probe(const wp_host *host, const char *architecture)
{
    float scale;
    if (!host || !architecture)
        return CUDA_ERROR_INVALID_PARAMETER;
    if (strcmp(architecture, "llama") != 0 && !llama_is_qwen2(architecture))
        return host->set_error(host, CUDA_ERROR_MODEL_LOAD_FAILED,
                               "llama plugin: architecture '%s' is not served", architecture);
    return llama_rope_scaling(host, architecture, &scale);
}

/* Read and validate <arch>.* hyper-parameters; the vocabulary comes from token_embd. */
static int llama_read_hparams(const wp_host *h, const char *arch, llama_hparams *hp)
{
    int rc;
    uint32_t key_len, val_len;
    wp_tensor emb;

    memset(hp, 0, sizeof(*hp));
    hp->is_qwen2 = llama_is_qwen2(arch);
    if ((rc = llama_meta_u32(h, arch, "embedding_length", &hp->n_embd)) != 0 ||
        (rc = llama_meta_u32(h, arch, "block_count", &hp->n_layer)) != 0 ||
        (rc = llama_meta_u32(h, arch, "attention.head_count", &hp->n_head)) != 0 ||
        (rc = llama_meta_u32(h, arch, "feed_forward_length", &hp->n_ff)) != 0)
        return rc;
    if (hp->n_embd == 0 || hp->n_embd > LLAMA_MAX_DIM || hp->n_ff == 0 ||
        hp->n_ff > LLAMA_MAX_DIM || hp->n_layer == 0 || hp->n_layer > LLAMA_MAX_LAYERS ||
        hp->n_head == 0 || hp->n_head > hp->n_embd * 4)
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s: implausible hyper-parameters: embedding_length %u, "
                            "block_count %u, head_count %u, feed_forward_length %u",
                            arch, hp->n_embd, hp->n_layer, hp->n_head, hp->n_ff);
    if ((rc = llama_meta_u32_opt(h, arch, "attention.head_count_kv", hp->n_head,
                                 &hp->n_head_kv)) != 0)
        return rc;
    if (hp->n_head_kv == 0 || hp->n_head % hp->n_head_kv != 0)
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s.attention.head_count_kv = %u does not divide head_count = %u",
                            arch, hp->n_head_kv, hp->n_head);

    uint32_t def_hd = hp->n_embd % hp->n_head == 0 ? hp->n_embd / hp->n_head : 0;
    if ((rc = llama_meta_u32_opt(h, arch, "attention.key_length", def_hd, &key_len)) != 0 ||
        (rc = llama_meta_u32_opt(h, arch, "attention.value_length", key_len, &val_len)) != 0)
        return rc;
    if (key_len == 0 || key_len != val_len || key_len > 1024 || key_len % 2 != 0)
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s: head dimension %u (key_length) / %u (value_length) with "
                            "embedding_length %u and %u heads is not supported (need equal, "
                            "even, <= 1024)", arch, key_len, val_len, hp->n_embd, hp->n_head);
    hp->head_dim = key_len;

    uint32_t rope_dim;
    if ((rc = llama_meta_u32_opt(h, arch, "rope.dimension_count", hp->head_dim, &rope_dim)) != 0)
        return rc;
    if (rope_dim == 0 || rope_dim > hp->head_dim || rope_dim % 2 != 0)
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s.rope.dimension_count = %u must be even and <= head dim %u",
                            arch, rope_dim, hp->head_dim);
    hp->rope.rope_dim = (int)rope_dim;
    hp->rope.layout = hp->is_qwen2 ? LLAMA_ROPE_NEOX : LLAMA_ROPE_NORM;
    if ((rc = llama_meta_f32_opt(h, arch, "rope.freq_base", 10000.0f, &hp->rope.freq_base)) != 0)
        return rc;
    if (!(hp->rope.freq_base > 1.0f && hp->rope.freq_base < 1e12f))
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s.rope.freq_base = %g is not a usable base", arch,
                            (double)hp->rope.freq_base);
    if ((rc = llama_rope_scaling(h, arch, &hp->rope.freq_scale)) != 0)
        return rc;

    if ((rc = llama_meta_f32_opt(h, arch, "attention.layer_norm_rms_epsilon", 1e-5f,
                                 &hp->rms_eps)) != 0)
        return rc;
    if (!(hp->rms_eps > 0.0f && hp->rms_eps < 1.0f))
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "%s.attention.layer_norm_rms_epsilon = %g is out of (0, 1)", arch,
                            (double)hp->rms_eps);
    if ((rc = llama_meta_u32_opt(h, arch, "context_length", LLAMA_DEFAULT_CTX,
                                 &hp->n_ctx_train)) != 0)
        return rc;
    if (hp->n_ctx_train == 0)
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED, "%s.context_length is 0", arch);

    if ((rc = h->tensor_info(h, "token_embd.weight", &emb)) != 0)
        return rc;
    if (emb.n_dims != 2 || emb.ne[0] != hp->n_embd || emb.ne[1] == 0 ||
        emb.ne[1] > (1u << 24))
        return h->set_error(h, CUDA_ERROR_MODEL_LOAD_FAILED,
                            "token_embd.weight: expected [%u, vocab] (vocab <= 2^24), got "
                            "%u dims [%llu, %llu]", hp->n_embd, emb.n_dims,
                            (unsigned long long)emb.ne[0], (unsigned long long)emb.ne[1]);
    hp->n_vocab = (uint32_t)emb.ne[1];
    return CUDA_SUCCESS;
}

/* Load "<name>" with shape [ne0] or [ne0, ne1] and count its parameters. */
static int llama_tensor(llama_model *m, const char *name, uint64_t ne0, uint64_t ne1,
                        uint64_t types, wp_tensor *out)
{
    const wp_host *h = m->host;
    uint64_t ne[2] = { ne0, ne1 };
    int rc = h->tensor_load(h, name, ne1 ? 2 : 1, ne, types, out);
    if (rc == 0)
        m->n_params += ne0 * (ne1 ? ne1 : 1);
    return rc;
}

/* Load the tensors of block il (biases only when present). */
static int llama_load_layer(llama_model *m, uint32_t il)
{
    const llama_hparams *hp = &m->hp;
    const wp_host *h = m->host;
    llama_layer *L = &m->layers[il];
    uint64_t d = hp->n_embd, q_dim = (uint64_t)hp->n_head * hp->head_dim,
             kv_dim = (uint64_t)hp->n_head_kv * hp->head_dim, ff = hp->n_ff;
    char name[96];
    int rc;

#define LLAMA_T(suffix, ne0, ne1, types, dst)                                    \
    do {                                                                         \
        snprintf(name, sizeof(name), "blk.%u." suffix, il);                      \
        if ((rc = llama_tensor(m, name, (ne0), (ne1), (types), (dst))) != 0)     \
            return rc;                                                           \
    } while (0)
#define LLAMA_T_OPT(suffix, ne0, types, dst)                                     \
    do {                                                                         \
        snprintf(name, sizeof(name), "blk.%u." suffix, il);                      \
        if (h->tensor_exists(h, name))                                           \
            LLAMA_T(suffix, ne0, 0, types, dst);                                 \
    } while (0)

    LLAMA_T("attn_norm.weight", d, 0, LLAMA_F32_ONLY, &L->attn_norm);
    LLAMA_T("attn_q.weight", d, q_dim, LLAMA_MATRIX_TYPES, &L->wq);
    LLAMA_T("attn_k.weight", d, kv_dim, LLAMA_MATRIX_TYPES, &L->wk);
    LLAMA_T("attn_v.weight", d, kv_dim, LLAMA_MATRIX_TYPES, &L->wv);
    LLAMA_T_OPT("attn_q.bias", q_dim, LLAMA_F32_ONLY, &L->bq);
    LLAMA_T_OPT("attn_k.bias", kv_dim, LLAMA_F32_ONLY, &L->bk);
    LLAMA_T_OPT("attn_v.bias", kv_dim, LLAMA_F32_ONLY, &L->bv);
    LLAMA_T("attn_output.weight", q_dim, d, LLAMA_MATRIX_TYPES, &L->wo);
    LLAMA_T("ffn_norm.weight", d, 0, LLAMA_F32_ONLY, &L->ffn_norm);
    LLAMA_T("ffn_gate.weight", d, ff, LLAMA_MATRIX_TYPES, &L->w_gate);
    LLAMA_T("ffn_up.weight", d, ff, LLAMA_MATRIX_TYPES, &L->w_up);
    LLAMA_T("ffn_down.weight", ff, d, LLAMA_MATRIX_TYPES, &L->w_down);
#undef LLAMA_T_OPT
#undef LLAMA_T
    return CUDA_SUCCESS;
}

/* Map, validate and upload the model. On failure the model state is freed here and the
 * tensors already uploaded are freed by the runtime. */
int llama_load(const wp_host *host, const char *architecture, void **model_out)
{
    llama_model *m;
    int rc;

    if (!host || !architecture || !model_out)
        return CUDA_ERROR_INVALID_PARAMETER;
    *model_out = NULL;
    if ((rc = llama_probe(host, architecture)) != 0)
        return rc;
    m = calloc(1, sizeof(*m));
    if (!m)
        return host->set_error(host, CUDA_ERROR_OUT_OF_MEMORY, "llama: model state");
    m->host = host;
    m->kern = host->backend == WP_BACKEND_CUDA ? llama_kernels_cuda() : llama_kernels_host();
    if (!m->kern || !host->ops) {
        rc = host->set_error(host, CUDA_ERROR_MODEL_LOAD_FAILED,
                             "llama: no kernel set for backend %u in this build",
                             host->backend);
        goto fail;
    }
    /* the fused products and the decode step are ABI 1.1 ops, the greedy steps' argmax an
     * ABI 1.2 op and their readback ABI 1.3 ops (the registry refuses this plugin under an
     * older runtime; a host table of its own must still carry them) */
    if (!WP_STRUCT_HAS(host->ops, wp_ops, readback_finish)) {
        rc = host->set_error(host, CUDA_ERROR_MODEL_LOAD_FAILED,
                             "llama: the runtime's kernel library is older than ABI 1.3 "
                             "(struct_size %u)", host->ops->struct_size);
        goto fail;
    }
    if ((rc = llama_read_hparams(host, architecture, &m->hp)) != 0)
        goto fail;

    const llama_hparams *hp = &m->hp;
    m->layers = calloc(hp->n_layer, sizeof(*m->layers));
    if (!m->layers) {
        rc = host->set_error(host, CUDA_ERROR_OUT_OF_MEMORY, "llama: %u layer records",
                             hp->n_layer);
        goto fail;
    }
    if ((rc = llama_tensor(m, "token_embd.weight", hp->n_embd, hp->n_vocab,
                           LLAMA_MATRIX_TYPES, &m->tok_embd)) != 0)
        goto fail;
    for (uint32_t il = 0; il < hp->n_layer; il++)
        if ((rc = llama_load_layer(m, il)) != 0)
            goto fail;
    if ((rc = llama_tensor(m, "output_norm.weight", hp->n_embd, 0, LLAMA_F32_ONLY,
                           &m->output_norm)) != 0)
        goto fail;
    if (host->tensor_exists(host, "output.weight")) {
        if ((rc = llama_tensor(m, "output.weight", hp->n_embd, hp->n_vocab,
                               LLAMA_MATRIX_TYPES, &m->output)) != 0)
            goto fail;
    } else {
        m->output = m->tok_embd;   /* tied embeddings (qwen2 small models, some llamas) */
    }
    if (host->tensor_exists(host, "rope_freqs.weight")) {
        if ((rc = llama_tensor(m, "rope_freqs.weight", (uint64_t)hp->rope.rope_dim / 2, 0,
                               LLAMA_F32_ONLY, &m->rope_freqs)) != 0)
            goto fail;
        m->hp.rope.freq_factors = m->rope_freqs.data;
    }
    host->log(host, WP_LOG_INFO,
              "llama: %s, %u layers, d=%u, heads %u/%u x %u, ff %u, vocab %u, ctx %u, "
              "rope %s dim %d base %g%s", architecture, hp->n_layer, hp->n_embd, hp->n_head,
              hp->n_head_kv, hp->head_dim, hp->n_ff, hp->n_vocab, hp->n_ctx_train,
              hp->rope.layout == LLAMA_ROPE_NEOX ? "neox" : "normal", hp->rope.rope_dim,
              (double)hp->rope.freq_base, m->output.data == m->tok_embd.data ? ", tied output" : "");
    *model_out = m;
    return CUDA_SUCCESS;
fail:
    free(m->layers);
    free(m);
    return rc;
}

/* Free the plugin's own state; the runtime frees the uploaded tensors. */
void llama_unload(void *model)
{
    llama_model *m = model;
    if (!m)
        return;
    free(m->layers);
    free(m);
}
