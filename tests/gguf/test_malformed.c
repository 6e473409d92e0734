/*
 * test_malformed.c - every class of malformed GGUF is refused with
 * CUDA_ERROR_MODEL_LOAD_FAILED and a detail naming what and where, and the process goes
 * on: truncation at every byte, bad magic and versions, absurd counts and lengths, unknown
 * value and tensor types, bad alignment, out-of-range, misaligned and overlapping tensor
 * data, duplicate names and keys, bad n_dims, zero dims, element-count overflow.
 */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/wrk_error.h"
#include "gguf/gguf.h"
#include "gguf/gguf_writer.h"
#include "gguf/quant.h"
#include "gguf_test_util.h"
#include "worker_plugin.h"

/* Open must fail with the load error and a detail holding every wanted fragment. The image
 * is copied to an exact-size heap block so a read past its end is caught by valgrind/ASan. */
static void expect_fail_n(const void *data, size_t n, const char *w1, const char *w2)
{
    void *copy = malloc(n ? n : 1);
    if (n) memcpy(copy, data, n);
    gguf_file *f = (gguf_file *)&f; /* must be reset to NULL */
    int rc = gguf_open_memory(copy, n, &f);
    const char *d = wrk_error_detail();
    ck_assert_msg(rc == CUDA_ERROR_MODEL_LOAD_FAILED, "rc %d for '%s' (detail '%s')", rc, w1, d);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(d, "gguf: <memory>: byte "), "detail '%s' lacks the location", d);
    ck_assert_msg(strstr(d, w1), "detail '%s' lacks '%s'", d, w1);
    if (w2) ck_assert_msg(strstr(d, w2), "detail '%s' lacks '%s'", d, w2);
    free(copy);
}

static void expect_fail(const tu_buf *b, const char *w1, const char *w2)
{
    expect_fail_n(b->b, b->n, w1, w2);
}

/* Header + general.architecture (+ general.alignment when align != 0). */
static void begin(tu_buf *b, uint64_t n_tensors, uint32_t align)
{
    tu_header(b, 3, n_tensors, align ? 2 : 1);
    tu_str(b, "general.architecture");
    tu_u32(b, GGUF_TYPE_STRING);
    tu_str(b, "llama");
    if (align) {
        tu_str(b, "general.alignment");
        tu_u32(b, GGUF_TYPE_UINT32);
        tu_u32(b, align);
    }
}

/* A valid file with every section: metadata of several kinds, 3 tensors. */
static void *valid_file(size_t *size, size_t *data_end)
{
    gguf_writer *w = gguf_writer_new();
    const char *toks[3] = {"<s>", "</s>", "\xe2\x96\x81the"};
    float sc[3] = {0.0f, -1.5f, tu_uniform(-9, -2)};
    uint32_t inner[3] = {1, 2, (uint32_t)tu_rand()};
    gguf_value iv = {GGUF_TYPE_ARRAY, GGUF_TYPE_UINT32, 3, inner, 12};
    gguf_writer_set_str(w, "general.architecture", "llama");
    gguf_writer_set_u32(w, "llama.block_count", (uint32_t)tu_range(1, 100));
    gguf_writer_set_f32(w, "llama.rope.freq_base", tu_uniform(1, 1e4f));
    gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 3);
    gguf_writer_set_arr(w, "tokenizer.ggml.scores", GGUF_TYPE_FLOAT32, sc, 3);
    gguf_writer_set_arr_arr(w, "test.nested", &iv, 1);
    float x[512];
    for (int i = 0; i < 512; i++) x[i] = tu_uniform(-1, 1);
    uint64_t ne1[2] = {64, 2}, ne2[1] = {256}, ne3[2] = {32, 3};
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "a", WP_DTYPE_F16, 2, ne1, x), 0);
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "b", WP_DTYPE_Q4_K, 1, ne2, x), 0);
    ck_assert_int_eq(gguf_writer_add_tensor_f32(w, "c", WP_DTYPE_Q8_0, 2, ne3, x), 0);
    void *mem;
    ck_assert_int_eq(gguf_writer_to_memory(w, &mem, size), 0);
    gguf_writer_free(w);
    gguf_file *f;
    ck_assert_int_eq(gguf_open_memory(mem, *size, &f), 0);
    *data_end = 0;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor_info *t = gguf_tensor(f, i);
        size_t end = (size_t)(gguf_data_offset(f) + t->offset + t->nbytes);
        if (end > *data_end) *data_end = end;
    }
    gguf_close(f);
    return mem;
}

/* Every prefix shorter than the end of the last tensor's data fails cleanly; longer ones
 * (only the final padding cut) still read. */
START_TEST(truncation_every_byte)
{
    size_t size, data_end;
    uint8_t *mem = valid_file(&size, &data_end);
    ck_assert_uint_lt(data_end, size + 1);
    for (size_t n = 0; n < data_end; n++) {
        void *copy = malloc(n ? n : 1);
        memcpy(copy, mem, n);
        gguf_file *f = NULL;
        int rc = gguf_open_memory(copy, n, &f);
        ck_assert_msg(rc == CUDA_ERROR_MODEL_LOAD_FAILED, "prefix %zu accepted", n);
        ck_assert_ptr_null(f);
        ck_assert_msg(strstr(wrk_error_detail(), "gguf: <memory>: byte "), "prefix %zu: '%s'",
                      n, wrk_error_detail());
        free(copy);
    }
    for (size_t n = data_end; n <= size; n++) {
        gguf_file *f = NULL;
        ck_assert_int_eq(gguf_open_memory(mem, n, &f), 0);
        gguf_close(f);
    }
    free(mem);
    /* a truncated string says so, naming the key */
    tu_buf b = {0};
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "general.name");
    tu_u32(&b, GGUF_TYPE_STRING);
    tu_u64(&b, 100);
    tu_random(&b, 20);
    expect_fail(&b, "key 'general.name'", "string length 100 exceeds the 20 bytes left");
    tu_free(&b);
}
END_TEST

START_TEST(bad_magic_and_version)
{
    tu_buf b = {0};
    expect_fail_n("GGU", 3, "too short", NULL);
    tu_bytes(&b, "GGML", 4);
    tu_u32(&b, 3);
    tu_u64(&b, 0);
    tu_u64(&b, 0);
    expect_fail(&b, "bad magic", NULL);
    tu_free(&b);
    static const struct { uint32_t v; const char *want; } cases[] = {
        {1, "version 1 is not supported"}, {0, "version 0"}, {4, "version 4"},
        {0x03000000u, "big-endian"}, {0xffffffffu, "version 4294967295"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tu_header(&b, cases[i].v, 0, 0);
        expect_fail(&b, cases[i].want, NULL);
        tu_free(&b);
    }
    /* a header-only v3 file with nothing in it is valid */
    tu_header(&b, 3, 0, 0);
    gguf_file *f = NULL;
    ck_assert_int_eq(gguf_open_memory(b.b, b.n, &f), 0);
    ck_assert_int_eq(gguf_n_kv(f), 0);
    ck_assert_uint_eq(gguf_alignment(f), 32);
    gguf_close(f);
    tu_free(&b);
}
END_TEST

START_TEST(absurd_counts)
{
    tu_buf b = {0};
    tu_header(&b, 3, 1ull << 63, 0);
    tu_random(&b, 100);
    expect_fail(&b, "tensor count 9223372036854775808", "cannot fit");
    tu_free(&b);
    tu_header(&b, 3, 0, UINT64_MAX);
    tu_random(&b, 100);
    expect_fail(&b, "metadata count 18446744073709551615", "cannot fit");
    tu_free(&b);
    /* counts that just exceed what the bytes could hold */
    tu_header(&b, 3, 0, 4);
    tu_random(&b, 3 * 13);
    expect_fail(&b, "metadata count 4", NULL);
    tu_free(&b);
}
END_TEST

START_TEST(absurd_lengths)
{
    tu_buf b = {0};
    /* key length 2^63 */
    tu_header(&b, 3, 0, 1);
    tu_u64(&b, 1ull << 63);
    tu_random(&b, 64);
    expect_fail(&b, "string length 9223372036854775808", "metadata entry 0 key");
    tu_free(&b);
    /* string value of length UINT64_MAX, named by its key */
    begin(&b, 0, 0);
    b.b[16] = 2; /* two entries */
    tu_str(&b, "general.name");
    tu_u32(&b, GGUF_TYPE_STRING);
    tu_u64(&b, UINT64_MAX);
    tu_random(&b, 16);
    expect_fail(&b, "key 'general.name'", "string length 18446744073709551615");
    tu_free(&b);
    /* array of 2^62 uint32 */
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "tokenizer.ggml.token_type");
    tu_u32(&b, GGUF_TYPE_ARRAY);
    tu_u32(&b, GGUF_TYPE_UINT32);
    tu_u64(&b, 1ull << 62);
    tu_random(&b, 64);
    expect_fail(&b, "key 'tokenizer.ggml.token_type'", "array of 4611686018427387904");
    tu_free(&b);
    /* array of huge count of strings */
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "tokenizer.ggml.tokens");
    tu_u32(&b, GGUF_TYPE_ARRAY);
    tu_u32(&b, GGUF_TYPE_STRING);
    tu_u64(&b, UINT64_MAX / 2);
    tu_str(&b, "a");
    expect_fail(&b, "key 'tokenizer.ggml.tokens'", "cannot fit");
    tu_free(&b);
    /* a string inside an array that runs past the end */
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "tokenizer.ggml.tokens");
    tu_u32(&b, GGUF_TYPE_ARRAY);
    tu_u32(&b, GGUF_TYPE_STRING);
    tu_u64(&b, 2);
    tu_str(&b, "a");
    tu_u64(&b, 1000);
    tu_random(&b, 10);
    expect_fail(&b, "key 'tokenizer.ggml.tokens'", "string length 1000");
    tu_free(&b);
    /* tensor name of 2^63 bytes */
    tu_header(&b, 3, 1, 0);
    tu_u64(&b, 1ull << 63);
    tu_random(&b, 64);
    expect_fail(&b, "tensor 0 name", "string length");
    tu_free(&b);
}
END_TEST

START_TEST(unknown_value_types)
{
    tu_buf b = {0};
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "x.y");
    tu_u32(&b, 13);
    tu_random(&b, 16);
    expect_fail(&b, "key 'x.y'", "unknown value type 13");
    tu_free(&b);
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "x.arr");
    tu_u32(&b, GGUF_TYPE_ARRAY);
    tu_u32(&b, 99);
    tu_u64(&b, 1);
    tu_random(&b, 16);
    expect_fail(&b, "key 'x.arr'", "unknown array element type 99");
    tu_free(&b);
    /* nested array with an unknown inner element type */
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "x.nest");
    tu_u32(&b, GGUF_TYPE_ARRAY);
    tu_u32(&b, GGUF_TYPE_ARRAY);
    tu_u64(&b, 1);
    tu_u32(&b, 0x7fffffff);
    tu_u64(&b, 0);
    expect_fail(&b, "key 'x.nest'", "unknown array element type 2147483647");
    tu_free(&b);
    /* arrays nested 9 deep */
    tu_header(&b, 3, 0, 1);
    tu_str(&b, "x.deep");
    tu_u32(&b, GGUF_TYPE_ARRAY);
    for (int i = 0; i < 9; i++) {
        tu_u32(&b, GGUF_TYPE_ARRAY);
        tu_u64(&b, 1);
    }
    tu_u32(&b, GGUF_TYPE_UINT8);
    tu_u64(&b, 0);
    expect_fail(&b, "key 'x.deep'", "nested deeper");
    tu_free(&b);
    /* empty key, key with a NUL */
    tu_header(&b, 3, 0, 1);
    tu_u64(&b, 0);
    tu_u32(&b, GGUF_TYPE_UINT8);
    tu_u8(&b, 1);
    expect_fail(&b, "empty key", NULL);
    tu_free(&b);
    tu_header(&b, 3, 0, 1);
    tu_u64(&b, 3);
    tu_bytes(&b, "a\0b", 3);
    tu_u32(&b, GGUF_TYPE_UINT8);
    tu_u8(&b, 1);
    expect_fail(&b, "NUL byte", NULL);
    tu_free(&b);
}
END_TEST

START_TEST(duplicate_keys)
{
    tu_buf b = {0};
    tu_header(&b, 3, 0, 3);
    tu_str(&b, "general.name");
    tu_u32(&b, GGUF_TYPE_UINT8);
    tu_u8(&b, 1);
    tu_str(&b, "other");
    tu_u32(&b, GGUF_TYPE_UINT8);
    tu_u8(&b, 2);
    size_t second = b.n;
    tu_str(&b, "general.name");
    tu_u32(&b, GGUF_TYPE_STRING);
    tu_str(&b, "x");
    char at[32];
    snprintf(at, sizeof at, "byte %zu:", second);
    expect_fail(&b, "duplicate metadata key 'general.name'", at);
    tu_free(&b);
}
END_TEST

START_TEST(bad_alignment)
{
    tu_buf b = {0};
    static const uint32_t bad[] = {0, 3, 24, 0x80000001u};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        begin(&b, 0, 0);
        b.b[16] = 2;
        tu_str(&b, "general.alignment");
        tu_u32(&b, GGUF_TYPE_UINT32);
        tu_u32(&b, bad[i]);
        char want[64];
        snprintf(want, sizeof want, "%u is not a power of two", bad[i]);
        expect_fail(&b, "general.alignment", want);
        tu_free(&b);
    }
    /* wrong type */
    begin(&b, 0, 0);
    b.b[16] = 2;
    tu_str(&b, "general.alignment");
    tu_u32(&b, GGUF_TYPE_UINT64);
    tu_u64(&b, 32);
    expect_fail(&b, "general.alignment", "must be a uint32, not uint64");
    tu_free(&b);
}
END_TEST

START_TEST(unknown_tensor_types)
{
    tu_buf b = {0};
    uint64_t ne[2] = {256, 2};
    begin(&b, 1, 0);
    tu_tensor(&b, "blk.0.ffn_down.weight", 2, ne, 13, 0);
    tu_pad(&b, 32);
    tu_random(&b, 176 * 2);
    expect_fail(&b, "tensor 'blk.0.ffn_down.weight': type Q5_K (13) is not supported", NULL);
    tu_free(&b);
    begin(&b, 1, 0);
    tu_tensor(&b, "t", 2, ne, 1000, 0);
    tu_pad(&b, 32);
    tu_random(&b, 1024);
    expect_fail(&b, "tensor 't': type unknown (1000) is not supported", NULL);
    tu_free(&b);
    begin(&b, 1, 0);
    tu_tensor(&b, "t", 2, ne, 3, 0); /* Q4_1: known to ggml, not supported */
    tu_pad(&b, 32);
    tu_random(&b, 1024);
    expect_fail(&b, "type Q4_1 (3)", NULL);
    tu_free(&b);
}
END_TEST

/* One tensor file: header, info, padding, data_bytes of random data. */
static void one_tensor(tu_buf *b, const char *name, uint32_t nd, const uint64_t *ne,
                       uint32_t type, uint64_t off, size_t data_bytes)
{
    begin(b, 1, 0);
    tu_tensor(b, name, nd, ne, type, off);
    tu_pad(b, 32);
    tu_random(b, data_bytes);
}

START_TEST(bad_shapes)
{
    tu_buf b = {0};
    uint64_t ne[5] = {32, 2, 2, 2, 2};
    one_tensor(&b, "t0", 0, ne, WP_DTYPE_F32, 0, 256);
    expect_fail(&b, "tensor 't0': n_dims 0 is out of range", NULL);
    tu_free(&b);
    one_tensor(&b, "t5", 5, ne, WP_DTYPE_F32, 0, 4096);
    expect_fail(&b, "tensor 't5': n_dims 5 is out of range", NULL);
    tu_free(&b);
    uint64_t z[3] = {32, 0, 4};
    one_tensor(&b, "tz", 3, z, WP_DTYPE_F32, 0, 256);
    expect_fail(&b, "tensor 'tz': dimension 1 is zero", NULL);
    tu_free(&b);
    uint64_t ov[3] = {1ull << 32, 1ull << 32, 1ull << 32};
    one_tensor(&b, "tov", 3, ov, WP_DTYPE_F32, 0, 256);
    expect_fail(&b, "tensor 'tov': element count overflows", NULL);
    tu_free(&b);
    uint64_t ovb[2] = {1ull << 62, 1}; /* 2^62 elements fine, 2^64 bytes not */
    one_tensor(&b, "tob", 2, ovb, WP_DTYPE_F32, 0, 256);
    expect_fail(&b, "tensor 'tob': byte size overflows", NULL);
    tu_free(&b);
    uint64_t big[1] = {UINT64_MAX};
    one_tensor(&b, "tbig", 1, big, WP_DTYPE_F32, 0, 256);
    expect_fail(&b, "tensor 'tbig': dimension 0", "too large");
    tu_free(&b);
    uint64_t odd[2] = {33, 1};
    one_tensor(&b, "tq", 2, odd, WP_DTYPE_Q8_0, 0, 256);
    expect_fail(&b, "tensor 'tq': ne[0] = 33 is not a multiple of the Q8_0 block size 32", NULL);
    tu_free(&b);
    uint64_t k[1] = {128};
    one_tensor(&b, "tk", 1, k, WP_DTYPE_Q4_K, 0, 256);
    expect_fail(&b, "block size 256", NULL);
    tu_free(&b);
    /* empty and over-long names */
    one_tensor(&b, "", 1, k, WP_DTYPE_F32, 0, 512);
    expect_fail(&b, "tensor 0: empty name", NULL);
    tu_free(&b);
    char longname[300];
    memset(longname, 'n', 299);
    longname[299] = '\0';
    one_tensor(&b, longname, 1, k, WP_DTYPE_F32, 0, 512);
    expect_fail(&b, "tensor 0: name of 299 bytes", NULL);
    tu_free(&b);
}
END_TEST

START_TEST(tensor_data_out_of_range)
{
    tu_buf b = {0};
    uint64_t ne[2] = {64, 4}; /* 1024 bytes of F32 */
    one_tensor(&b, "short", 2, ne, WP_DTYPE_F32, 0, 1023);
    expect_fail(&b, "tensor 'short': data [0, +1024) lies outside the data section", NULL);
    tu_free(&b);
    one_tensor(&b, "far", 2, ne, WP_DTYPE_F32, 1ull << 40, 1024);
    expect_fail(&b, "tensor 'far'", "outside the data section");
    tu_free(&b);
    one_tensor(&b, "wrap", 2, ne, WP_DTYPE_F32, UINT64_MAX - 31, 1024);
    expect_fail(&b, "tensor 'wrap'", "outside");
    tu_free(&b);
    /* data section itself beyond the end (infos end unaligned, file stops there) */
    begin(&b, 1, 0);
    tu_tensor(&b, "t", 2, ne, WP_DTYPE_F32, 0);
    if (b.n % 32 == 0) tu_u8(&b, 0);
    expect_fail(&b, "data section would start at byte", NULL);
    tu_free(&b);
}
END_TEST

START_TEST(misaligned_offset)
{
    tu_buf b = {0};
    uint64_t ne[1] = {8};
    one_tensor(&b, "mis", 1, ne, WP_DTYPE_F32, 16, 64);
    expect_fail(&b, "tensor 'mis': data offset 16 is not a multiple of the alignment 32", NULL);
    tu_free(&b);
    /* with alignment 64, offset 32 is misaligned too */
    begin(&b, 1, 64);
    tu_tensor(&b, "m64", 1, ne, WP_DTYPE_F32, 32);
    tu_pad(&b, 64);
    tu_random(&b, 128);
    expect_fail(&b, "tensor 'm64': data offset 32 is not a multiple of the alignment 64", NULL);
    tu_free(&b);
}
END_TEST

START_TEST(overlapping_tensors)
{
    tu_buf b = {0};
    uint64_t ne[1] = {64}; /* 256 bytes */
    begin(&b, 3, 0);
    tu_tensor(&b, "first", 1, ne, WP_DTYPE_F32, 512);
    tu_tensor(&b, "second", 1, ne, WP_DTYPE_F32, 0);
    tu_tensor(&b, "third", 1, ne, WP_DTYPE_F32, 224);  /* overlaps second's tail */
    tu_pad(&b, 32);
    tu_random(&b, 1024);
    expect_fail(&b, "tensors 'second' [0, +256) and 'third' [224, +256) overlap", NULL);
    tu_free(&b);
    /* identical offsets */
    begin(&b, 2, 0);
    tu_tensor(&b, "x", 1, ne, WP_DTYPE_F32, 256);
    tu_tensor(&b, "y", 1, ne, WP_DTYPE_F32, 256);
    tu_pad(&b, 32);
    tu_random(&b, 1024);
    expect_fail(&b, "overlap", NULL);
    tu_free(&b);
}
END_TEST

START_TEST(duplicate_tensor_names)
{
    tu_buf b = {0};
    uint64_t ne[1] = {8};
    begin(&b, 3, 0);
    tu_tensor(&b, "output.weight", 1, ne, WP_DTYPE_F32, 0);
    tu_tensor(&b, "token_embd.weight", 1, ne, WP_DTYPE_F32, 32);
    tu_tensor(&b, "output.weight", 1, ne, WP_DTYPE_F32, 64);
    tu_pad(&b, 32);
    tu_random(&b, 96);
    expect_fail(&b, "duplicate tensor name 'output.weight'", NULL);
    tu_free(&b);
}
END_TEST

/* Random corruption of a valid file never crashes; it either fails with a detail or
 * opens with every tensor inside the image. */
START_TEST(random_corruption)
{
    size_t size, data_end;
    uint8_t *mem = valid_file(&size, &data_end);
    uint8_t *copy = malloc(size);
    for (int iter = 0; iter < 3000; iter++) {
        memcpy(copy, mem, size);
        int nflip = (int)tu_range(1, 4);
        for (int k = 0; k < nflip; k++) {
            size_t at = (size_t)tu_range(0, data_end < 400 ? data_end - 1 : 399);
            copy[at] = (uint8_t)tu_rand();
        }
        gguf_file *f = NULL;
        int rc = gguf_open_memory(copy, size, &f);
        if (rc) {
            ck_assert_int_eq(rc, CUDA_ERROR_MODEL_LOAD_FAILED);
            ck_assert(strlen(wrk_error_detail()) > 0);
            continue;
        }
        for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
            const gguf_tensor_info *t = gguf_tensor(f, i);
            ck_assert((const uint8_t *)t->data >= copy);
            ck_assert((const uint8_t *)t->data + t->nbytes <= copy + size);
        }
        gguf_close(f);
    }
    free(copy);
    free(mem);
}
END_TEST

START_TEST(open_errors)
{
    gguf_file *f = NULL;
    ck_assert_int_eq(gguf_open("/nonexistent/model.gguf", &f), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "/nonexistent/model.gguf: cannot open"));
    ck_assert_int_eq(gguf_open("/tmp", &f), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "not a regular file"));
    char path[] = "/tmp/gguf-bad-XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    tu_buf b = {0};
    tu_header(&b, 1, 0, 0);
    ck_assert_int_eq(write(fd, b.b, b.n), (ssize_t)b.n);
    close(fd);
    ck_assert_int_eq(gguf_open(path, &f), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), path));
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "version 1"));
    ck_assert_ptr_null(f);
    truncate(path, 0);
    ck_assert_int_eq(gguf_open(path, &f), CUDA_ERROR_MODEL_LOAD_FAILED);
    ck_assert_ptr_nonnull(strstr(wrk_error_detail(), "too short"));
    unlink(path);
    tu_free(&b);
}
END_TEST

/* The fuzzer's seed corpus stays meaningful: valid-* seeds open, broken-* seeds fail. */
START_TEST(seed_corpus)
{
    const char *top = getenv("top_srcdir");
    char dir[1024];
    if (top) {
        snprintf(dir, sizeof dir, "%s/fuzz/corpus", top);
    } else { /* run by hand: the source tree this file was compiled from */
        const char *me = __FILE__, *rel = strstr(me, "tests/gguf/test_malformed.c");
        snprintf(dir, sizeof dir, "%.*sfuzz/corpus", rel ? (int)(rel - me) : 0, me);
    }
    DIR *d = opendir(dir);
    ck_assert_msg(d != NULL, "cannot open %s (set top_srcdir)", dir);
    struct dirent *de;
    int valid = 0, broken = 0;
    while ((de = readdir(d))) {
        char path[1400];
        gguf_file *f = NULL;
        if (de->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        int rc = gguf_open(path, &f);
        if (strncmp(de->d_name, "valid-", 6) == 0) {
            ck_assert_msg(rc == 0, "%s: %s", path, wrk_error_detail());
            valid++;
        } else if (strncmp(de->d_name, "broken-", 7) == 0) {
            ck_assert_msg(rc == CUDA_ERROR_MODEL_LOAD_FAILED, "%s accepted", path);
            ck_assert_ptr_nonnull(strstr(wrk_error_detail(), path));
            broken++;
        }
        gguf_close(f);
    }
    closedir(d);
    ck_assert_int_ge(valid, 7);
    ck_assert_int_ge(broken, 3);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gguf_malformed");
    TCase *tc = tcase_create("malformed");
    tcase_add_test(tc, truncation_every_byte);
    tcase_add_test(tc, bad_magic_and_version);
    tcase_add_test(tc, absurd_counts);
    tcase_add_test(tc, absurd_lengths);
    tcase_add_test(tc, unknown_value_types);
    tcase_add_test(tc, duplicate_keys);
    tcase_add_test(tc, bad_alignment);
    tcase_add_test(tc, unknown_tensor_types);
    tcase_add_test(tc, bad_shapes);
    tcase_add_test(tc, tensor_data_out_of_range);
    tcase_add_test(tc, misaligned_offset);
    tcase_add_test(tc, overlapping_tensors);
    tcase_add_test(tc, duplicate_tensor_names);
    tcase_add_test(tc, random_corruption);
    tcase_add_test(tc, open_errors);
    tcase_add_test(tc, seed_corpus);
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
