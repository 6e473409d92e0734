/*
 * toy_fixture.c - write toy GGUF models (see toy_fixture.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "worker_plugin.h"
#include "gguf/gguf_writer.h"
#include "toy_fixture.h"

void toy_fixture_init(toy_fixture *f)
{
    memset(f, 0, sizeof *f);
    f->arch = "toy";
    f->vocab = TOY_VOCAB;
    f->type = WP_DTYPE_F32;
    f->ne0 = f->ne1 = TOY_VOCAB;
    f->seed = 1;
}

/* xorshift32: reproducible values without libc's rand state. */
static float next_value(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return (float)(*s >> 8) / (float)(1u << 23) - 1.0f;
}

static int write_tokenizer(gguf_writer *w)
{
    static const char *const pieces[TOY_VOCAB] = {
        "<unk>", "<s>", "</s>", "\xe2\x96\x81", "a", "b", "c", "d", "e", "f", "g", "h", "i",
        "j", "k", "l", "m", "n", "o", "p", "q", "r", "s", "t", "u", "v", "w", "x", "y", "z",
        "\xe2\x96\x81" "a", "\xe2\x96\x81" "b"};
    float scores[TOY_VOCAB];
    int32_t types[TOY_VOCAB];
    int rc = 0;

    for (int i = 0; i < TOY_VOCAB; i++) {
        scores[i] = -(float)i;
        types[i] = i == 0 ? 2 : i < 3 ? 3 : 1;   /* unknown, control, normal */
    }
    rc |= gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    rc |= gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", pieces, NULL, TOY_VOCAB);
    rc |= gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, TOY_VOCAB);
    rc |= gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types,
                              TOY_VOCAB);
    rc |= gguf_writer_set_u32(w, "tokenizer.ggml.unknown_token_id", 0);
    rc |= gguf_writer_set_u32(w, "tokenizer.ggml.bos_token_id", 1);
    rc |= gguf_writer_set_u32(w, "tokenizer.ggml.eos_token_id", 2);
    rc |= gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", 1);
    return rc;
}

int toy_fixture_write(const toy_fixture *f, const char *path, float **values)
{
    gguf_writer *w = gguf_writer_new();
    char key[128];
    uint64_t ne[2] = {f->ne0, f->ne1};
    size_t n = (size_t)(f->ne0 * f->ne1);
    float *v = malloc(n * sizeof *v);
    uint32_t s = f->seed ? f->seed : 1;
    int rc = 0;

    if (values) *values = NULL;
    if (!w || !v) {
        gguf_writer_free(w);
        free(v);
        return CUDA_ERROR_OUT_OF_MEMORY;
    }
    for (size_t i = 0; i < n; i++) v[i] = next_value(&s);
    rc |= gguf_writer_set_str(w, "general.architecture", f->arch);
    rc |= gguf_writer_set_str(w, "general.name", "toy test model");
    snprintf(key, sizeof key, "%s.vocab_size", f->arch);
    rc |= gguf_writer_set_u32(w, key, f->vocab);
    snprintf(key, sizeof key, "%s.context_length", f->arch);
    rc |= gguf_writer_set_u32(w, key, 64);
    if (!f->omit_tokenizer) rc |= write_tokenizer(w);
    if (!f->omit_tensor) {
        snprintf(key, sizeof key, "%s.embd", f->arch);
        rc |= gguf_writer_add_tensor_f32(w, key, f->type, 2, ne, v);
    }
    if (!rc) rc = gguf_writer_write(w, path);
    gguf_writer_free(w);
    if (rc || !values) free(v);
    else *values = v;
    return rc;
}
