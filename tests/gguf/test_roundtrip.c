/*
 * test_roundtrip.c - the writer's output read back by the reader: every metadata value
 * type (scalars, arrays of each, strings with NULs, nested arrays), every tensor type with
 * random shapes and data, alignment, typed getters and their errors, atomic file writes,
 * and metadata copied value by value from one file into another.
 */
#include <check.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/wrk_error.h"
#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "gguf/quant.h"
#include "gguf_test_util.h"
#include "worker_plugin.h"

static const enum gguf_type scalar_types[] = {
    GGUF_TYPE_UINT8, GGUF_TYPE_INT8, GGUF_TYPE_UINT16, GGUF_TYPE_INT16, GGUF_TYPE_UINT32,
    GGUF_TYPE_INT32, GGUF_TYPE_FLOAT32, GGUF_TYPE_BOOL, GGUF_TYPE_UINT64, GGUF_TYPE_INT64,
    GGUF_TYPE_FLOAT64,
};
#define N_SCALAR (sizeof scalar_types / sizeof scalar_types[0])

static size_t tsize(enum gguf_type t)
{
    switch (t) {
    case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
    case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
    case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
    default: return 8;
    }
}

/* Random value bytes of a scalar type (bools 0/1, floats finite). */
static void rand_scalar(enum gguf_type t, uint8_t *out)
{
    if (t == GGUF_TYPE_BOOL) {
        out[0] = (uint8_t)(tu_rand() & 1);
    } else if (t == GGUF_TYPE_FLOAT32) {
        float f = tu_uniform(-1e6f, 1e6f);
        memcpy(out, &f, 4);
    } else if (t == GGUF_TYPE_FLOAT64) {
        double d = (double)tu_uniform(-1e6f, 1e6f) * 1e-3 + 1e-9;
        memcpy(out, &d, 8);
    } else {
        tu_fill(out, tsize(t));
    }
}

static gguf_file *reopen(gguf_writer *w, void **mem, size_t *size)
{
    gguf_file *f = NULL;
    ck_assert_int_eq(gguf_writer_to_memory(w, mem, size), 0);
    int rc = gguf_open_memory(*mem, *size, &f);
    ck_assert_msg(rc == 0, "reopen: %s", wrk_error_detail());
    return f;
}

/* Every scalar type and an array of each, with random contents, compared byte for byte. */
START_TEST(metadata_every_type)
{
    gguf_writer *w = gguf_writer_new();
    uint8_t sval[N_SCALAR][8];
    uint8_t *aval[N_SCALAR];
    uint64_t alen[N_SCALAR];
    char key[64];

    for (size_t i = 0; i < N_SCALAR; i++) {
        enum gguf_type t = scalar_types[i];
        rand_scalar(t, sval[i]);
        gguf_value v = {t, GGUF_TYPE_COUNT, 1, sval[i], tsize(t)};
        snprintf(key, sizeof key, "test.scalar.%zu", i);
        ck_assert_int_eq(gguf_writer_set_value(w, key, &v), 0);
        alen[i] = tu_range(0, 40);
        aval[i] = malloc(alen[i] * tsize(t) + 1);
        for (uint64_t k = 0; k < alen[i]; k++) rand_scalar(t, aval[i] + k * tsize(t));
        snprintf(key, sizeof key, "test.array.%zu", i);
        ck_assert_int_eq(gguf_writer_set_arr(w, key, t, aval[i], alen[i]), 0);
    }
    /* strings: one plain, one array with an empty string, a NUL inside, UTF-8 */
    char plain[40];
    for (int i = 0; i < 39; i++) plain[i] = (char)('a' + tu_range(0, 25));
    plain[39] = '\0';
    ck_assert_int_eq(gguf_writer_set_str(w, "test.string", plain), 0);
    const char *strs[4] = {"", "a\0b", "\xe2\x96\x81hello", plain};
    uint64_t lens[4] = {0, 3, 8, 39};
    ck_assert_int_eq(gguf_writer_set_arr_str(w, "test.strings", strs, lens, 4), 0);
    /* the typed setters */
    uint32_t u32 = (uint32_t)tu_rand();
    int32_t i32 = -(int32_t)tu_range(1, 1000000);
    uint64_t u64 = tu_rand() | (1ull << 63);
    float f32 = tu_uniform(-10, 10);
    ck_assert_int_eq(gguf_writer_set_u32(w, "t.u32", u32), 0);
    ck_assert_int_eq(gguf_writer_set_i32(w, "t.i32", i32), 0);
    ck_assert_int_eq(gguf_writer_set_u64(w, "t.u64", u64), 0);
    ck_assert_int_eq(gguf_writer_set_f32(w, "t.f32", f32), 0);
    ck_assert_int_eq(gguf_writer_set_bool(w, "t.bool", 7), 0);

    void *mem;
    size_t size;
    gguf_file *f = reopen(w, &mem, &size);
    ck_assert_uint_eq(gguf_version(f), 3);
    ck_assert_int_eq(gguf_n_kv(f), 2 * (int64_t)N_SCALAR + 2 + 5);
    ck_assert_int_eq(gguf_n_tensors(f), 0);
    /* insertion order is kept */
    ck_assert_str_eq(gguf_key(f, 0), "test.scalar.0");
    ck_assert_str_eq(gguf_key(f, 1), "test.array.0");

    for (size_t i = 0; i < N_SCALAR; i++) {
        enum gguf_type t = scalar_types[i];
        gguf_value v;
        snprintf(key, sizeof key, "test.scalar.%zu", i);
        int64_t k = gguf_find_key(f, key);
        ck_assert_int_ge(k, 0);
        ck_assert_int_eq(gguf_kv_type(f, k), t);
        ck_assert_int_eq(gguf_kv_value(f, k, &v), 0);
        ck_assert_uint_eq(v.size, tsize(t));
        ck_assert_mem_eq(v.data, sval[i], tsize(t));

        snprintf(key, sizeof key, "test.array.%zu", i);
        enum gguf_type et;
        uint64_t n;
        ck_assert_int_eq(gguf_get_arr_info(f, key, &et, &n), 0);
        ck_assert_int_eq(et, t);
        ck_assert_uint_eq(n, alen[i]);
        const void *d = gguf_get_arr_data(f, key);
        ck_assert_ptr_nonnull(d);
        ck_assert_uint_eq((uintptr_t)d % 8, 0); /* aligned copy */
        if (n) ck_assert_mem_eq(d, aval[i], n * tsize(t));
        ck_assert_ptr_null(gguf_get_arr_str(f, key, 0));
        free(aval[i]);
    }
    const char *s;
    ck_assert_int_eq(gguf_get_str(f, "test.string", &s), 0);
    ck_assert_str_eq(s, plain);
    for (uint64_t i = 0; i < 4; i++) {
        ck_assert_uint_eq(gguf_get_arr_str_len(f, "test.strings", i), lens[i]);
        ck_assert_mem_eq(gguf_get_arr_str(f, "test.strings", i), strs[i], lens[i]);
        ck_assert_int_eq(gguf_get_arr_str(f, "test.strings", i)[lens[i]], 0);
    }
    ck_assert_ptr_null(gguf_get_arr_str(f, "test.strings", 4));
    ck_assert_ptr_null(gguf_get_arr_data(f, "test.strings"));

    uint32_t gu32;
    int64_t gi64;
    uint64_t gu64;
    float gf;
    int gb;
    ck_assert_int_eq(gguf_get_u32(f, "t.u32", &gu32), 0);
    ck_assert_uint_eq(gu32, u32);
    ck_assert_int_eq(gguf_get_i64(f, "t.i32", &gi64), 0);
    ck_assert_int_eq(gi64, i32);
    ck_assert_int_eq(gguf_get_u64(f, "t.u64", &gu64), 0);
    ck_assert_uint_eq(gu64, u64);
    ck_assert_int_eq(gguf_get_f32(f, "t.f32", &gf), 0);
    ck_assert_float_eq(gf, f32);
    ck_assert_int_eq(gguf_get_bool(f, "t.bool", &gb), 0);
    ck_assert_int_eq(gb, 1);
    gguf_close(f);
    free(mem);
    gguf_writer_free(w);
}
END_TEST

/* Typed getters convert between integer types when the value fits and name the key when
 * it does not, is missing or has another type. */
START_TEST(getter_conversions)
{
    gguf_writer *w = gguf_writer_new();
    uint8_t u8 = (uint8_t)tu_range(1, 255);
    int16_t neg = -(int16_t)tu_range(1, 3000);
    uint64_t big = (1ull << 63) + tu_range(0, 1000);
    double f64 = 0.25 + (double)tu_range(1, 100);
    gguf_value v8 = {GGUF_TYPE_UINT8, GGUF_TYPE_COUNT, 1, &u8, 1};
    gguf_value vn = {GGUF_TYPE_INT16, GGUF_TYPE_COUNT, 1, &neg, 2};
    gguf_value vf = {GGUF_TYPE_FLOAT64, GGUF_TYPE_COUNT, 1, &f64, 8};
    ck_assert_int_eq(gguf_writer_set_value(w, "k.u8", &v8), 0);
    ck_assert_int_eq(gguf_writer_set_value(w, "k.neg", &vn), 0);
    ck_assert_int_eq(gguf_writer_set_value(w, "k.f64", &vf), 0);
    ck_assert_int_eq(gguf_writer_set_u64(w, "k.big", big), 0);
    ck_assert_int_eq(gguf_writer_set_bool(w, "k.bool", 1), 0);
    ck_assert_int_eq(gguf_writer_set_str(w, "k.str", "x"), 0);
    void *mem;
    size_t size;
    gguf_file *f = reopen(w, &mem, &size);
    uint32_t u32;
    int64_t i64;
    uint64_t u64;
    float fl;
    int b;
    const char *s;
    ck_assert_int_eq(gguf_get_u32(f, "k.u8", &u32), 0);
    ck_assert_uint_eq(u32, u8);
    ck_assert_int_eq(gguf_get_i64(f, "k.neg", &i64), 0);
    ck_assert_int_eq(i64, neg);
    ck_assert_int_eq(gguf_get_f32(f, "k.f64", &fl), 0);
    ck_assert_float_eq(fl, (float)f64);
    ck_assert_int_eq(gguf_get_u32(f, "k.bool", &u32), 0); /* bool accepted for u32 */
    ck_assert_uint_eq(u32, 1);

    ck_assert_int_eq(gguf_get_u32(f, "k.neg", &u32), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "'k.neg'"));
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "does not fit"));
    ck_assert_int_eq(gguf_get_u64(f, "k.neg", &u64), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_int_eq(gguf_get_i64(f, "k.big", &i64), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "'k.big'"));
    ck_assert_int_eq(gguf_get_u32(f, "k.big", &u32), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_int_eq(gguf_get_u32(f, "k.missing", &u32), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "'k.missing' is missing"));
    ck_assert_int_eq(gguf_get_str(f, "k.u8", &s), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "'k.u8' is uint8, expected string"));
    ck_assert_int_eq(gguf_get_f32(f, "k.str", &fl), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_int_eq(gguf_get_bool(f, "k.u8", &b), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_int_eq(gguf_get_i64(f, "k.bool", &i64), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_int_eq(gguf_get_arr_info(f, "k.str", NULL, NULL), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "expected array"));
    gguf_close(f);
    free(mem);
    gguf_writer_free(w);
}
END_TEST

/* Build an array value of n random u32 (serialised form == packed data). */
static gguf_value u32_array(uint32_t *store, uint64_t n)
{
    for (uint64_t i = 0; i < n; i++) store[i] = (uint32_t)tu_rand();
    return (gguf_value){GGUF_TYPE_ARRAY, GGUF_TYPE_UINT32, n, store, n * 4};
}

/* Arrays of arrays (of numbers, of strings, of arrays) survive and can be walked. */
START_TEST(nested_arrays)
{
    gguf_writer *w = gguf_writer_new();
    uint32_t st[5][16];
    gguf_value inner[5];
    uint64_t lens[5];
    for (int i = 0; i < 5; i++) {
        lens[i] = tu_range(0, 16);
        inner[i] = u32_array(st[i], lens[i]);
    }
    ck_assert_int_eq(gguf_writer_set_arr_arr(w, "n.u32s", inner, 5), 0);

    /* an inner array of strings, serialised by hand */
    tu_buf sb = {0};
    tu_str(&sb, "alpha");
    tu_str(&sb, "");
    tu_str(&sb, "gamma");
    gguf_value sv = {GGUF_TYPE_ARRAY, GGUF_TYPE_STRING, 3, sb.b, sb.n};
    gguf_value mixed[2] = {sv, inner[0]};
    ck_assert_int_eq(gguf_writer_set_arr_arr(w, "n.mixed", mixed, 2), 0);

    /* three levels: [[[u32...]...]] built from serialised level-2 arrays */
    tu_buf l2 = {0};
    for (int i = 0; i < 2; i++) {
        tu_u32(&l2, GGUF_TYPE_UINT32);
        tu_u64(&l2, lens[i + 1]);
        tu_bytes(&l2, st[i + 1], lens[i + 1] * 4);
    }
    gguf_value lvl2 = {GGUF_TYPE_ARRAY, GGUF_TYPE_ARRAY, 2, l2.b, l2.n};
    ck_assert_int_eq(gguf_writer_set_arr_arr(w, "n.deep", &lvl2, 1), 0);
    ck_assert_int_eq(gguf_writer_set_arr_arr(w, "n.empty", NULL, 0), 0);

    void *mem;
    size_t size;
    gguf_file *f = reopen(w, &mem, &size);
    enum gguf_type et;
    uint64_t n;
    gguf_value v, e, e2, e3;
    ck_assert_int_eq(gguf_get_arr_info(f, "n.u32s", &et, &n), 0);
    ck_assert_int_eq(et, GGUF_TYPE_ARRAY);
    ck_assert_uint_eq(n, 5);
    ck_assert_ptr_null(gguf_get_arr_data(f, "n.u32s"));
    ck_assert_int_eq(gguf_kv_value(f, gguf_find_key(f, "n.u32s"), &v), 0);
    for (uint64_t i = 0; i < 5; i++) {
        ck_assert_int_eq(gguf_value_elem(&v, i, &e), 0);
        ck_assert_int_eq(e.type, GGUF_TYPE_ARRAY);
        ck_assert_int_eq(e.elem_type, GGUF_TYPE_UINT32);
        ck_assert_uint_eq(e.n, lens[i]);
        if (lens[i]) ck_assert_mem_eq(e.data, st[i], lens[i] * 4);
        if (lens[i]) {
            uint64_t k = tu_range(0, lens[i] - 1);
            ck_assert_int_eq(gguf_value_elem(&e, k, &e2), 0);
            ck_assert_int_eq(e2.type, GGUF_TYPE_UINT32);
            ck_assert_mem_eq(e2.data, &st[i][k], 4);
        }
    }
    ck_assert_int_ne(gguf_value_elem(&v, 5, &e), 0);

    ck_assert_int_eq(gguf_kv_value(f, gguf_find_key(f, "n.mixed"), &v), 0);
    ck_assert_int_eq(gguf_value_elem(&v, 0, &e), 0);
    ck_assert_int_eq(e.elem_type, GGUF_TYPE_STRING);
    ck_assert_int_eq(gguf_value_elem(&e, 2, &e2), 0);
    ck_assert_int_eq(e2.type, GGUF_TYPE_STRING);
    ck_assert_uint_eq(e2.n, 5);
    ck_assert_mem_eq(e2.data, "gamma", 5);
    ck_assert_int_eq(gguf_value_elem(&e, 1, &e2), 0);
    ck_assert_uint_eq(e2.n, 0);
    ck_assert_int_eq(gguf_value_elem(&v, 1, &e), 0);
    ck_assert_uint_eq(e.n, lens[0]);

    ck_assert_int_eq(gguf_kv_value(f, gguf_find_key(f, "n.deep"), &v), 0);
    ck_assert_int_eq(gguf_value_elem(&v, 0, &e), 0);
    ck_assert_int_eq(e.elem_type, GGUF_TYPE_ARRAY);
    ck_assert_int_eq(gguf_value_elem(&e, 1, &e2), 0);
    ck_assert_uint_eq(e2.n, lens[2]);
    if (lens[2]) {
        ck_assert_int_eq(gguf_value_elem(&e2, lens[2] - 1, &e3), 0);
        ck_assert_mem_eq(e3.data, &st[2][lens[2] - 1], 4);
    }
    ck_assert_int_eq(gguf_get_arr_info(f, "n.empty", &et, &n), 0);
    ck_assert_uint_eq(n, 0);
    gguf_close(f);
    free(mem);
    tu_free(&sb);
    tu_free(&l2);
    gguf_writer_free(w);
}
END_TEST

static const uint32_t all_types[] = {WP_DTYPE_F32, WP_DTYPE_F16, WP_DTYPE_BF16, WP_DTYPE_Q8_0,
                                     WP_DTYPE_Q4_0, WP_DTYPE_Q4_K, WP_DTYPE_Q6_K};
#define N_TYPES (sizeof all_types / sizeof all_types[0])

/* Tensors of every type, random shapes and bytes, at a random alignment. */
static void tensors_roundtrip(uint32_t align)
{
    gguf_writer *w = gguf_writer_new();
    enum { NT = 2 * N_TYPES };
    uint8_t *data[NT];
    uint64_t ne[NT][4], nbytes[NT];
    uint32_t nd[NT], type[NT];
    char name[NT][32];
    if (align) ck_assert_int_eq(gguf_writer_set_u32(w, "general.alignment", align), 0);
    ck_assert_int_eq(gguf_writer_set_str(w, "general.architecture", "llama"), 0);
    for (int i = 0; i < NT; i++) {
        type[i] = all_types[i % N_TYPES];
        nd[i] = (uint32_t)tu_range(1, 4);
        ne[i][0] = wrk_dtype_block_elems(type[i]) * tu_range(1, 3);
        nbytes[i] = wrk_dtype_row_bytes(type[i], ne[i][0]);
        for (uint32_t d = 1; d < 4; d++) {
            ne[i][d] = d < nd[i] ? tu_range(1, 3) : 1;
            nbytes[i] *= ne[i][d];
        }
        snprintf(name[i], sizeof name[i], "blk.%d.%s.weight", i, wrk_dtype_name(type[i]));
        if (i < (int)N_TYPES) { /* raw bytes */
            data[i] = malloc(nbytes[i]);
            tu_fill(data[i], nbytes[i]); /* the reader does not interpret tensor bytes */
            ck_assert_int_eq(gguf_writer_add_tensor(w, name[i], type[i], nd[i], ne[i], data[i]), 0);
        } else { /* fp32 values, converted by the writer */
            uint64_t nel = ne[i][0] * ne[i][1] * ne[i][2] * ne[i][3];
            float *x = malloc(nel * sizeof *x);
            for (uint64_t k = 0; k < nel; k++) x[k] = tu_uniform(-2, 2);
            data[i] = malloc(nbytes[i]);
            for (uint64_t r = 0; r < nel / ne[i][0]; r++)
                wrk_quantize_row(type[i], x + r * ne[i][0],
                                 data[i] + r * wrk_dtype_row_bytes(type[i], ne[i][0]), ne[i][0]);
            ck_assert_int_eq(gguf_writer_add_tensor_f32(w, name[i], type[i], nd[i], ne[i], x), 0);
            free(x);
        }
    }
    void *mem;
    size_t size;
    gguf_file *f = reopen(w, &mem, &size);
    uint64_t a = align ? align : GGUF_DEFAULT_ALIGNMENT;
    ck_assert_uint_eq(gguf_alignment(f), a);
    ck_assert_uint_eq(gguf_data_offset(f) % a, 0);
    ck_assert_uint_eq(gguf_file_size(f), size);
    ck_assert_uint_eq(size % a, 0); /* padded like llama.cpp's writer */
    ck_assert_int_eq(gguf_n_tensors(f), NT);
    for (int i = 0; i < NT; i++) {
        const gguf_tensor_info *t = gguf_find_tensor(f, name[i]);
        ck_assert_ptr_nonnull(t);
        ck_assert_ptr_eq(t, gguf_tensor(f, i));
        ck_assert_str_eq(t->name, name[i]);
        ck_assert_uint_eq(t->type, type[i]);
        ck_assert_uint_eq(t->n_dims, nd[i]);
        for (int d = 0; d < 4; d++) ck_assert_uint_eq(t->ne[d], ne[i][d]);
        ck_assert_uint_eq(t->nbytes, nbytes[i]);
        ck_assert_uint_eq(t->offset % a, 0);
        ck_assert_ptr_eq(t->data, (const uint8_t *)mem + gguf_data_offset(f) + t->offset);
        ck_assert_mem_eq(t->data, data[i], nbytes[i]);
        free(data[i]);
    }
    ck_assert_ptr_null(gguf_find_tensor(f, "nope"));
    ck_assert_ptr_null(gguf_tensor(f, NT));
    gguf_close(f);
    free(mem);
    gguf_writer_free(w);
}

START_TEST(tensors_every_type) { tensors_roundtrip(0); }
END_TEST
START_TEST(tensors_alignment_1) { tensors_roundtrip(1); }
END_TEST
START_TEST(tensors_alignment_256) { tensors_roundtrip(256); }
END_TEST

/* The writer refuses what the reader would refuse. */
START_TEST(writer_refuses)
{
    gguf_writer *w = gguf_writer_new();
    uint64_t ne[2] = {32, 2};
    float x[64];
    for (int i = 0; i < 64; i++) x[i] = tu_uniform(-1, 1);
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "a", WP_DTYPE_Q8_0, 2, ne, x), 0);
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "a", WP_DTYPE_F32, 2, ne, x),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "duplicate tensor name 'a'"));
    ck_assert_int_eq(gguf_writer_add_tensor(w, "b", 13, 2, ne, x), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "Q5_K (13)"));
    uint64_t bad[1] = {33};
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "c", WP_DTYPE_Q4_0, 1, bad, x),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "d", WP_DTYPE_F32, 5, ne, x),
                     CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(gguf_writer_set_arr(w, "k", GGUF_TYPE_STRING, x, 1),
                     CUDA_ERROR_INVALID_PARAMETER);
    gguf_value broken = {GGUF_TYPE_ARRAY, GGUF_TYPE_UINT32, 5, x, 8};
    ck_assert_int_eq(gguf_writer_set_value(w, "k", &broken), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "'k'"));
    /* a key set twice is replaced in place */
    ck_assert_int_eq(gguf_writer_set_u32(w, "general.alignment", 3), 0);
    void *mem;
    size_t size;
    ck_assert_int_eq(gguf_writer_to_memory(w, &mem, &size), CUDA_ERROR_INVALID_PARAMETER);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "alignment"));
    ck_assert_int_eq(gguf_writer_set_u32(w, "general.alignment", 64), 0);
    gguf_file *f = reopen(w, &mem, &size);
    ck_assert_int_eq(gguf_n_kv(f), 1);
    ck_assert_uint_eq(gguf_alignment(f), 64);
    gguf_close(f);
    free(mem);
    gguf_writer_free(w);
}
END_TEST

/* Writing to a path: same bytes as in memory, gguf_open maps it, no temporary left. */
START_TEST(write_file_atomic)
{
    char dir[] = "/tmp/gguf-test-XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/model.gguf", dir);
    gguf_writer *w = gguf_writer_new();
    float x[512];
    uint64_t ne[2] = {256, 2};
    for (int i = 0; i < 512; i++) x[i] = tu_uniform(-3, 3);
    ck_assert_int_eq(gguf_writer_set_str(w, "general.name", "tiny"), 0);
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "w", WP_DTYPE_Q6_K, 2, ne, x), 0);
    ck_assert_int_eq(gguf_writer_write(w, path), 0);
    /* overwrite: the rename replaces the old file */
    ck_assert_int_eq(gguf_writer_set_str(w, "general.name", "tiny2"), 0);
    ck_assert_int_eq(gguf_writer_write(w, path), 0);
    void *mem;
    size_t size;
    ck_assert_int_eq(gguf_writer_to_memory(w, &mem, &size), 0);
    gguf_file *f = NULL;
    ck_assert_int_eq(gguf_open(path, &f), 0);
    ck_assert_uint_eq(gguf_file_size(f), size);
    const char *name;
    ck_assert_int_eq(gguf_get_str(f, "general.name", &name), 0);
    ck_assert_str_eq(name, "tiny2");
    const gguf_tensor_info *t = gguf_find_tensor(f, "w");
    float y[512];
    wrk_dequantize_row(WP_DTYPE_Q6_K, t->data, y, 256);
    wrk_dequantize_row(WP_DTYPE_Q6_K, (const uint8_t *)t->data + 210, y + 256, 256);
    for (int i = 0; i < 512; i++) ck_assert(fabsf(x[i] - y[i]) < 0.1f);
    gguf_close(f);
    free(mem);
    DIR *d = opendir(dir);
    struct dirent *de;
    int files = 0;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.') files++;
    closedir(d);
    ck_assert_int_eq(files, 1);
    /* a path in a missing directory fails with a detail */
    char bad[160];
    snprintf(bad, sizeof bad, "%s/missing/x.gguf", dir);
    ck_assert_int_ne(gguf_writer_write(w, bad), 0);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "missing/x.gguf"));
    unlink(path);
    rmdir(dir);
    gguf_writer_free(w);
}
END_TEST

/* Metadata copied entry by entry through gguf_value gives identical bytes. */
START_TEST(copy_metadata)
{
    gguf_writer *w = gguf_writer_new(), *w2 = gguf_writer_new();
    uint32_t st[8];
    gguf_value in = u32_array(st, 8);
    const char *strs[3] = {"x", "yy", "zzz"};
    ck_assert_int_eq(gguf_writer_set_u32(w, "a", (uint32_t)tu_rand()), 0);
    ck_assert_int_eq(gguf_writer_set_str(w, "b", "hello"), 0);
    ck_assert_int_eq(gguf_writer_set_arr_str(w, "c", strs, NULL, 3), 0);
    ck_assert_int_eq(gguf_writer_set_arr_arr(w, "d", &in, 1), 0);
    ck_assert_int_eq(gguf_writer_set_arr(w, "e", GGUF_TYPE_UINT32, st, 8), 0);
    void *m1, *m2;
    size_t s1, s2;
    gguf_file *f = reopen(w, &m1, &s1);
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        gguf_value v;
        ck_assert_int_eq(gguf_kv_value(f, i, &v), 0);
        ck_assert_int_eq(gguf_writer_set_value(w2, gguf_key(f, i), &v), 0);
    }
    ck_assert_int_eq(gguf_writer_to_memory(w2, &m2, &s2), 0);
    ck_assert_uint_eq(s1, s2);
    ck_assert_mem_eq(m1, m2, s1);
    gguf_close(f);
    free(m1);
    free(m2);
    gguf_writer_free(w);
    gguf_writer_free(w2);
}
END_TEST

/* A v2 file (same layout) is read. */
START_TEST(version_2)
{
    tu_buf b = {0};
    tu_header(&b, 2, 1, 1);
    tu_str(&b, "general.architecture");
    tu_u32(&b, GGUF_TYPE_STRING);
    tu_str(&b, "llama");
    uint64_t ne[1] = {8};
    tu_tensor(&b, "t", 1, ne, WP_DTYPE_F32, 0);
    tu_pad(&b, 32);
    size_t at = b.n;
    tu_random(&b, 32);
    gguf_file *f = NULL;
    ck_assert_int_eq(gguf_open_memory(b.b, b.n, &f), 0);
    ck_assert_uint_eq(gguf_version(f), 2);
    ck_assert_uint_eq(gguf_data_offset(f), at);
    ck_assert_mem_eq(gguf_tensor(f, 0)->data, b.b + at, 32);
    gguf_close(f);
    tu_free(&b);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gguf_roundtrip");
    TCase *tc = tcase_create("roundtrip");
    tcase_add_test(tc, metadata_every_type);
    tcase_add_test(tc, getter_conversions);
    tcase_add_test(tc, nested_arrays);
    tcase_add_test(tc, tensors_every_type);
    tcase_add_test(tc, tensors_alignment_1);
    tcase_add_test(tc, tensors_alignment_256);
    tcase_add_test(tc, writer_refuses);
    tcase_add_test(tc, write_file_atomic);
    tcase_add_test(tc, copy_metadata);
    tcase_add_test(tc, version_2);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    tu_seed();
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
