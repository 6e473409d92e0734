/*
 * bench_recipe.c - shapes and per-tensor types of the benchmark models (bench_model.h).
 * The q4_k_m recipe follows llama.cpp's llama_tensor_get_type for LLAMA_FTYPE_MOSTLY_Q4_K_M:
 * Q4_K everywhere, Q6_K for attn_v and ffn_down where use_more_bits, Q6_K for the output
 * matrix (the token embedding when it is tied, since it then is the output), norms F32.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_plugin.h"
#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "bench_model.h"

int bench_shape_parse(const char *text, bench_shape *out)
{
    memset(out, 0, sizeof *out);
    out->rope_base = 500000.0f;
    if (!text) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "no shape given");
    if (strcmp(text, "1b") == 0) {
        *out = (bench_shape){ "1b", 2048, 16, 32, 8, 8192, 128256, 8192, 500000.0f, 1 };
        return 0;
    }
    if (strcmp(text, "8b") == 0) {
        *out = (bench_shape){ "8b", 4096, 32, 32, 8, 14336, 128256, 8192, 500000.0f, 0 };
        return 0;
    }
    if (strncmp(text, "custom:", 7) == 0) {
        unsigned v[7] = { 0 };
        char tail;
        int n = sscanf(text + 7, "%u,%u,%u,%u,%u,%u,%u%c", &v[0], &v[1], &v[2], &v[3], &v[4],
                       &v[5], &v[6], &tail);
        if (n != 6 && n != 7)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "shape '%s': expected custom:dim,layers,heads,kv,ffn,vocab[,tied]",
                             text);
        snprintf(out->name, sizeof out->name, "custom");
        out->dim = v[0];
        out->n_layers = v[1];
        out->n_heads = v[2];
        out->n_kv_heads = v[3];
        out->ffn = v[4];
        out->vocab = v[5];
        out->tied = n == 7 ? v[6] != 0 : 1;
        out->ctx = 2048;
        if (out->dim == 0 || out->n_layers == 0 || out->n_layers > 1000 || out->n_heads == 0 ||
            out->n_kv_heads == 0 || out->n_heads % out->n_kv_heads || out->dim % out->n_heads ||
            (out->dim / out->n_heads) % 2 || out->ffn == 0 || out->vocab < 260 ||
            out->dim > 65536 || out->ffn > 262144 || out->vocab > (1u << 24))
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "shape '%s' is not a usable llama shape (heads must divide dim "
                             "into an even head size, kv must divide heads, vocab >= 260)",
                             text);
        return 0;
    }
    return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "unknown shape '%s' (1b, 8b, custom:...)",
                     text);
}

int bench_ftype_parse(const char *text)
{
    if (!text) return -1;
    if (strcmp(text, "f16") == 0) return BENCH_F16;
    if (strcmp(text, "q8_0") == 0) return BENCH_Q8_0;
    if (strcmp(text, "q4_k_m") == 0) return BENCH_Q4_K_M;
    return -1;
}

const char *bench_ftype_name(int ftype)
{
    return ftype == BENCH_F16 ? "f16" : ftype == BENCH_Q8_0 ? "q8_0" : "q4_k_m";
}

uint32_t bench_ftype_file_type(int ftype)
{
    return ftype == BENCH_F16 ? 1 : ftype == BENCH_Q8_0 ? 7 : 15;
}

int bench_use_more_bits(uint32_t i_layer, uint32_t n_layers)
{
    return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 ||
           (i_layer >= n_layers / 8 && (i_layer - n_layers / 8) % 3 == 2);
}

/* The type a matrix of row length ne0 can have: the wanted one, or llama.cpp's fallback. */
static uint32_t fit(uint32_t type, uint64_t ne0)
{
    if (ne0 % wrk_dtype_block_elems(type) == 0) return type;
    if (ne0 % wrk_dtype_block_elems(WP_DTYPE_Q8_0) == 0) return WP_DTYPE_Q8_0;
    return WP_DTYPE_F16;
}

static void add(gs_tensor *out, uint32_t *n, const char *name, uint32_t type, uint64_t ne0,
                uint64_t ne1)
{
    gs_tensor *t = &out[(*n)++];
    memset(t, 0, sizeof *t);
    snprintf(t->name, sizeof t->name, "%s", name);
    t->n_dims = ne1 ? 2 : 1;
    t->ne[0] = ne0;
    t->ne[1] = ne1 ? ne1 : 1;
    t->type = ne1 ? fit(type, ne0) : WP_DTYPE_F32;
}

int bench_tensors(const bench_shape *s, int ftype, gs_tensor *out, uint32_t *n)
{
    uint64_t hd = s->dim / s->n_heads, q = (uint64_t)s->n_heads * hd,
             kv = (uint64_t)s->n_kv_heads * hd;
    uint32_t base = ftype == BENCH_F16 ? WP_DTYPE_F16 : ftype == BENCH_Q8_0 ? WP_DTYPE_Q8_0
                                                                             : WP_DTYPE_Q4_K;
    uint32_t out_type = ftype == BENCH_Q4_K_M ? WP_DTYPE_Q6_K : base;
    char name[64];

    *n = 0;
    if (3 + 9ull * s->n_layers > GS_MAX_TENSORS)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%u layers: too many tensors",
                         s->n_layers);
    add(out, n, "token_embd.weight", s->tied ? out_type : base, s->dim, s->vocab);
    for (uint32_t il = 0; il < s->n_layers; il++) {
        uint32_t more = ftype == BENCH_Q4_K_M && bench_use_more_bits(il, s->n_layers)
                            ? WP_DTYPE_Q6_K : base;
#define L(suffix, type, ne0, ne1)                                    \
        snprintf(name, sizeof name, "blk.%u." suffix, il);          \
        add(out, n, name, type, ne0, ne1)
        L("attn_norm.weight", WP_DTYPE_F32, s->dim, 0);
        L("attn_q.weight", base, s->dim, q);
        L("attn_k.weight", base, s->dim, kv);
        L("attn_v.weight", more, s->dim, kv);
        L("attn_output.weight", base, q, s->dim);
        L("ffn_norm.weight", WP_DTYPE_F32, s->dim, 0);
        L("ffn_gate.weight", base, s->dim, s->ffn);
        L("ffn_up.weight", base, s->dim, s->ffn);
        L("ffn_down.weight", more, s->ffn, s->dim);
#undef L
    }
    add(out, n, "output_norm.weight", WP_DTYPE_F32, s->dim, 0);
    if (!s->tied) add(out, n, "output.weight", out_type, s->dim, s->vocab);
    return 0;
}
