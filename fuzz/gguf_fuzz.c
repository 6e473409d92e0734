/*
 * gguf_fuzz.c - libFuzzer target for the GGUF reader: every input is opened with
 * gguf_open_memory and, when accepted, every accessor is walked (metadata through each
 * typed getter and the nested-value walker, tensors by index and name, the first row of
 * each tensor dequantized). The reader must never crash, hang, read outside the input or
 * allocate more than a small multiple of its size (run with -malloc_limit_mb).
 *
 * Build: ./configure CC=clang --enable-fuzzers && make fuzz/gguf_fuzz, or fuzz/run-ci.sh.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gguf/gguf.h"
#include "gguf/quant.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint64_t sink;

/* Touch every byte a value view claims, and walk nested elements (bounded). */
static void walk_value(const gguf_value *v, int depth)
{
    const uint8_t *p = v->data;
    for (uint64_t i = 0; i < v->size; i++) sink += p[i];
    if (v->type != GGUF_TYPE_ARRAY || depth > 4) return;
    uint64_t n = v->n < 16 ? v->n : 16;
    for (uint64_t i = 0; i < n; i++) {
        gguf_value e;
        if (gguf_value_elem(v, i, &e) == 0) walk_value(&e, depth + 1);
    }
    if (v->n > 16) {
        gguf_value e;
        if (gguf_value_elem(v, v->n - 1, &e) == 0) walk_value(&e, depth + 1);
    }
}

static void walk_kv(const gguf_file *f, int64_t i)
{
    const char *key = gguf_key(f, i);
    uint32_t u32;
    int64_t i64;
    uint64_t u64, n;
    float f32;
    int b;
    const char *s;
    enum gguf_type et;
    gguf_value v;

    sink += strlen(key) + (uint64_t)gguf_kv_type(f, i);
    if (gguf_find_key(f, key) != i) abort(); /* keys are unique */
    if (gguf_kv_value(f, i, &v) == 0) walk_value(&v, 0);
    sink += gguf_get_u32(f, key, &u32) == 0 ? u32 : 0;
    sink += gguf_get_i64(f, key, &i64) == 0 ? (uint64_t)i64 : 0;
    sink += gguf_get_u64(f, key, &u64) == 0 ? u64 : 0;
    sink += gguf_get_f32(f, key, &f32) == 0 ? (uint64_t)(f32 == f32) : 0;
    sink += gguf_get_bool(f, key, &b) == 0 ? (uint64_t)b : 0;
    if (gguf_get_str(f, key, &s) == 0) sink += strlen(s);
    if (gguf_get_arr_info(f, key, &et, &n) == 0) {
        const uint8_t *d = gguf_get_arr_data(f, key);
        if (d && n) sink += d[0];
        for (uint64_t k = 0; k < n && k < 8; k++) {
            const char *str = gguf_get_arr_str(f, key, k);
            if (str) sink += strlen(str) + gguf_get_arr_str_len(f, key, k);
        }
        if (n) sink += gguf_get_arr_str_len(f, key, n - 1);
    }
}

static void walk_tensor(const gguf_file *f, int64_t i, const uint8_t *base, size_t size)
{
    const gguf_tensor_info *t = gguf_tensor(f, i);
    if (gguf_find_tensor(f, t->name) != t) abort(); /* names are unique */
    const uint8_t *d = t->data;
    if (d < base || t->nbytes > size || d - base > (ptrdiff_t)(size - t->nbytes)) abort();
    if (t->nbytes) sink += d[0] + d[t->nbytes - 1];
    /* dequantize (a bounded prefix of) the first row */
    uint64_t be = wrk_dtype_block_elems(t->type);
    uint64_t n = t->ne[0] < 4096 ? t->ne[0] : 4096 / be * be;
    if (n == 0) return;
    float *row = malloc(n * sizeof *row);
    if (!row) return;
    wrk_dequantize_row(t->type, d, row, n);
    sink += (uint64_t)(row[0] == row[0]);
    free(row);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gguf_file *f = NULL;
    if (gguf_open_memory(data, size, &f) != 0) return 0;
    sink += gguf_version(f) + gguf_alignment(f) + gguf_data_offset(f) + gguf_file_size(f);
    if (gguf_data_offset(f) > size) abort();
    for (int64_t i = 0; i < gguf_n_kv(f); i++) walk_kv(f, i);
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) walk_tensor(f, i, data, size);
    gguf_close(f);
    return 0;
}
