/*
 * gen_corpus.c - write the fuzzer's seed corpus: small valid GGUF files from the writer
 * (every metadata kind, every tensor type, other alignments) and a few broken ones.
 * Usage: gen_corpus DIR. Build: see fuzz/run-ci.sh (GEN_CORPUS=1).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "gguf/quant.h"
#include "worker_plugin.h"

static unsigned rnd_state = 12345;

static float rnd(void)
{
    rnd_state = rnd_state * 1103515245u + 12345u;
    return (float)((rnd_state >> 8) & 0xffff) / 32768.0f - 1.0f;
}

static void save(const char *dir, const char *name, const void *p, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *fp = fopen(path, "wb");
    if (!fp || fwrite(p, 1, n, fp) != n) {
        perror(path);
        exit(1);
    }
    fclose(fp);
}

static void save_writer(const char *dir, const char *name, gguf_writer *w)
{
    void *mem;
    size_t n;
    if (gguf_writer_to_memory(w, &mem, &n) != 0) exit(1);
    save(dir, name, mem, n);
    free(mem);
}

/* Metadata of every kind, as a tokenizer-bearing model would have. */
static void meta(gguf_writer *w)
{
    const char *toks[5] = {"<unk>", "<s>", "</s>", "\xe2\x96\x81the", "a\nb"};
    float scores[5] = {0, 0, 0, -1.25f, -3.5f};
    int32_t types[5] = {2, 3, 3, 1, 1};
    uint32_t inner[3] = {7, 8, 9};
    gguf_value iv = {GGUF_TYPE_ARRAY, GGUF_TYPE_UINT32, 3, inner, 12};
    gguf_value arrs[2] = {iv, iv};
    int8_t i8 = -5;
    double f64 = 2.5;
    gguf_value v8 = {GGUF_TYPE_INT8, GGUF_TYPE_COUNT, 1, &i8, 1};
    gguf_value vd = {GGUF_TYPE_FLOAT64, GGUF_TYPE_COUNT, 1, &f64, 8};
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_str(w, "general.name", "seed");
    gguf_writer_set_u32(w, "llama.block_count", 1);
    gguf_writer_set_u64(w, "llama.context_length", 128);
    gguf_writer_set_i32(w, "llama.attention.head_count", 2);
    gguf_writer_set_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
    gguf_writer_set_bool(w, "tokenizer.ggml.add_bos_token", 1);
    gguf_writer_set_value(w, "test.i8", &v8);
    gguf_writer_set_value(w, "test.f64", &vd);
    gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 5);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, scores, 5);
    gguf_writer_set_arr(w, "tokenizer.ggml.token_type", GGUF_TYPE_INT32, types, 5);
    gguf_writer_set_arr_arr(w, "test.nested", arrs, 2);
}

static void tensor(gguf_writer *w, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1)
{
    uint64_t ne[2] = {ne0, ne1};
    float *x = malloc(ne0 * ne1 * sizeof *x);
    for (uint64_t i = 0; i < ne0 * ne1; i++) x[i] = rnd();
    if (gguf_writer_add_tensor_f32(w, name, type, ne1 > 1 ? 2 : 1, ne, x) != 0) exit(1);
    free(x);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s DIR\n", argv[0]);
        return 2;
    }
    const char *dir = argv[1];
    static const uint32_t types[] = {WP_DTYPE_F32, WP_DTYPE_F16, WP_DTYPE_BF16, WP_DTYPE_Q8_0,
                                     WP_DTYPE_Q4_0, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
    /* one file per tensor type, with metadata */
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        gguf_writer *w = gguf_writer_new();
        meta(w);
        uint64_t be = wrk_dtype_block_elems(types[i]);
        tensor(w, "token_embd.weight", types[i], be == 1 ? 16 : be, 2);
        tensor(w, "output_norm.weight", WP_DTYPE_F32, 16, 1);
        char name[64];
        snprintf(name, sizeof name, "valid-%s.gguf", wrk_dtype_name(types[i]));
        save_writer(dir, name, w);
        gguf_writer_free(w);
    }
    /* metadata only; tensors only; other alignments */
    gguf_writer *w = gguf_writer_new();
    meta(w);
    save_writer(dir, "valid-meta-only.gguf", w);
    gguf_writer_free(w);
    w = gguf_writer_new();
    tensor(w, "a", WP_DTYPE_F16, 8, 3);
    tensor(w, "b", WP_DTYPE_Q8_0, 32, 1);
    save_writer(dir, "valid-tensors-only.gguf", w);
    gguf_writer_free(w);
    w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 64);
    tensor(w, "a", WP_DTYPE_F32, 4, 1);
    tensor(w, "b", WP_DTYPE_F32, 4, 1);
    save_writer(dir, "valid-align64.gguf", w);
    gguf_writer_free(w);
    w = gguf_writer_new();
    gguf_writer_set_u32(w, "general.alignment", 1);
    tensor(w, "a", WP_DTYPE_F16, 3, 1);
    save_writer(dir, "valid-align1.gguf", w);
    gguf_writer_free(w);

    /* broken: derived from a valid file */
    w = gguf_writer_new();
    meta(w);
    tensor(w, "t", WP_DTYPE_Q4_0, 32, 2);
    void *mem;
    size_t n;
    if (gguf_writer_to_memory(w, &mem, &n) != 0) return 1;
    gguf_writer_free(w);
    uint8_t *b = mem;
    save(dir, "broken-truncated.gguf", b, n / 2);
    uint8_t *c = malloc(n);
    memcpy(c, b, n);
    c[4] = 1; /* version 1 */
    save(dir, "broken-v1.gguf", c, n);
    memcpy(c, b, n);
    memset(c + 8, 0xff, 8); /* absurd tensor count */
    save(dir, "broken-count.gguf", c, n);
    memcpy(c, b, n);
    c[24] = 0xff; /* absurd first key length */
    c[31] = 0x7f;
    save(dir, "broken-keylen.gguf", c, n);
    free(c);
    free(mem);
    save(dir, "broken-magic.gguf", "GGUX\3\0\0\0", 8);
    return 0;
}
