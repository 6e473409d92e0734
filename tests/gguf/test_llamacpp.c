/*
 * test_llamacpp.c - GGUF files written by llama.cpp's own Python writer (gguf-py
 * GGUFWriter; tests/gguf/llamacpp/make_fixtures.py) read by our reader with identical
 * metadata. Each fixture comes with a <name>.expected dump made by gguf-py's GGUFReader;
 * this test prints the same dump from our getters (format: make_fixtures.py's docstring)
 * and compares it line by line, then checks that the typed getters agree with the generic
 * values they are built on, and that our converters (quant.h) turn the fp32 sources that
 * gguf-py converted into the same bytes as gguf-py (numpy f16, quantize_bf16, quantize_q8_0).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/gguf.h"
#include "gguf/quant.h"

static const char *const fixtures[] = { "llama", "align64", "tokenizer" };
#define N_FIXTURES (sizeof fixtures / sizeof fixtures[0])

/* Path of tests/gguf/llamacpp/<name><ext> under $top_srcdir (default "."). */
static void fixture_path(char *buf, size_t n, const char *name, const char *ext)
{
    const char *top = getenv("top_srcdir");
    snprintf(buf, n, "%s/tests/gguf/llamacpp/%s%s", top ? top : ".", name, ext);
}

static gguf_file *open_fixture(const char *name)
{
    char path[4096];
    gguf_file *f = NULL;
    fixture_path(path, sizeof path, name, ".gguf");
    int rc = gguf_open(path, &f);
    ck_assert_msg(rc == 0, "gguf_open(%s): %s", path, wrk_error_detail());
    return f;
}

/* Bytes as the dump writes them: 0x21..0x7e kept except \ , [ ]; the rest \xHH. */
static void put_esc(FILE *o, const void *p, uint64_t n)
{
    const unsigned char *b = p;
    for (uint64_t i = 0; i < n; i++) {
        unsigned c = b[i];
        if (c >= 0x21 && c <= 0x7e && c != '\\' && c != ',' && c != '[' && c != ']')
            fputc((int)c, o);
        else
            fprintf(o, "\\x%02x", c);
    }
}

static uint64_t fnv1a64(const void *p, uint64_t n)
{
    const unsigned char *b = p;
    uint64_t h = 0xcbf29ce484222325ull;
    for (uint64_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return h;
}

/* One value, recursively for arrays (elements through gguf_value_elem). */
static void put_value(FILE *o, const gguf_value *v)
{
    const unsigned char *d = v->data;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            uint64_t u64; int64_t i64; } x;
    switch (v->type) {
    case GGUF_TYPE_UINT8: memcpy(&x.u8, d, 1); fprintf(o, "%u", (unsigned)x.u8); break;
    case GGUF_TYPE_INT8: memcpy(&x.i8, d, 1); fprintf(o, "%d", (int)x.i8); break;
    case GGUF_TYPE_UINT16: memcpy(&x.u16, d, 2); fprintf(o, "%u", (unsigned)x.u16); break;
    case GGUF_TYPE_INT16: memcpy(&x.i16, d, 2); fprintf(o, "%d", (int)x.i16); break;
    case GGUF_TYPE_UINT32: memcpy(&x.u32, d, 4); fprintf(o, "%u", (unsigned)x.u32); break;
    case GGUF_TYPE_INT32: memcpy(&x.i32, d, 4); fprintf(o, "%d", (int)x.i32); break;
    case GGUF_TYPE_UINT64:
        memcpy(&x.u64, d, 8); fprintf(o, "%llu", (unsigned long long)x.u64); break;
    case GGUF_TYPE_INT64: memcpy(&x.i64, d, 8); fprintf(o, "%lld", (long long)x.i64); break;
    case GGUF_TYPE_FLOAT32: memcpy(&x.u32, d, 4); fprintf(o, "0x%08x", (unsigned)x.u32); break;
    case GGUF_TYPE_FLOAT64:
        memcpy(&x.u64, d, 8); fprintf(o, "0x%016llx", (unsigned long long)x.u64); break;
    case GGUF_TYPE_BOOL: fputs(d[0] ? "1" : "0", o); break;
    case GGUF_TYPE_STRING: put_esc(o, v->data, v->size); break;
    case GGUF_TYPE_ARRAY:
        fprintf(o, "[%d;%llu:", (int)v->elem_type, (unsigned long long)v->n);
        for (uint64_t i = 0; i < v->n; i++) {
            gguf_value e;
            int rc = gguf_value_elem(v, i, &e);
            ck_assert_msg(rc == 0, "gguf_value_elem(%llu): %s", (unsigned long long)i,
                          wrk_error_detail());
            ck_assert_int_eq(e.type, v->elem_type);
            if (i)
                fputc(',', o);
            put_value(o, &e);
        }
        fputc(']', o);
        break;
    default:
        ck_abort_msg("unexpected value type %d", (int)v->type);
    }
}

/* The whole dump of f from our getters, in make_fixtures.py's format (malloc'd). */
static char *dump(const gguf_file *f)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    ck_assert_ptr_nonnull(o);
    fprintf(o, "version\t%u\n", (unsigned)gguf_version(f));
    fprintf(o, "alignment\t%llu\n", (unsigned long long)gguf_alignment(f));
    fprintf(o, "data_offset\t%llu\n", (unsigned long long)gguf_data_offset(f));
    fprintf(o, "n_kv\t%lld\n", (long long)gguf_n_kv(f));
    fprintf(o, "n_tensors\t%lld\n", (long long)gguf_n_tensors(f));
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        gguf_value v;
        int rc = gguf_kv_value(f, i, &v);
        ck_assert_msg(rc == 0, "gguf_kv_value(%lld): %s", (long long)i, wrk_error_detail());
        ck_assert_int_eq(v.type, gguf_kv_type(f, i));
        fputs("kv\t", o);
        put_esc(o, gguf_key(f, i), strlen(gguf_key(f, i)));
        fprintf(o, "\t%d\t", (int)v.type);
        put_value(o, &v);
        fputc('\n', o);
    }
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor_info *t = gguf_tensor(f, i);
        ck_assert_ptr_nonnull(t);
        fputs("tensor\t", o);
        put_esc(o, t->name, strlen(t->name));
        fprintf(o, "\t%u\t", (unsigned)t->type);
        for (uint32_t d = 0; d < t->n_dims; d++)
            fprintf(o, "%s%llu", d ? "," : "", (unsigned long long)t->ne[d]);
        fprintf(o, "\t%llu\t%llu\t%016llx\n", (unsigned long long)t->offset,
                (unsigned long long)t->nbytes, (unsigned long long)fnv1a64(t->data, t->nbytes));
    }
    fclose(o);
    return buf;
}

static char *read_all(const char *path)
{
    FILE *fp = fopen(path, "rb");
    ck_assert_msg(fp != NULL, "cannot open %s", path);
    char *buf = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&buf, &len);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, fp)) > 0)
        fwrite(chunk, 1, n, o);
    fclose(fp);
    fclose(o);
    return buf;
}

/* Our dump equals gguf-py's, line by line (the first difference is reported). */
START_TEST(dump_matches_gguf_py)
{
    const char *name = fixtures[_i];
    char path[4096];
    fixture_path(path, sizeof path, name, ".expected");
    char *want = read_all(path);
    gguf_file *f = open_fixture(name);
    char *got = dump(f);

    const char *w = want, *g = got;
    for (int line = 1; *w || *g; line++) {
        size_t wl = strcspn(w, "\n"), gl = strcspn(g, "\n");
        ck_assert_msg(wl == gl && memcmp(w, g, wl) == 0,
                      "%s.expected line %d differs:\n  gguf-py: %.*s\n  ours:    %.*s", name,
                      line, (int)(wl > 400 ? 400 : wl), w, (int)(gl > 400 ? 400 : gl), g);
        w += wl + (w[wl] == '\n');
        g += gl + (g[gl] == '\n');
    }
    free(got);
    free(want);
    gguf_close(f);
}
END_TEST

/* Integer value of a scalar integer/bool value, widened (for the typed getter checks). */
static int int_value(const gguf_value *v, int64_t *s, uint64_t *u, int *is_signed)
{
    const unsigned char *d = v->data;
    union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
            uint64_t u64; int64_t i64; } x;
    *is_signed = 1;
    switch (v->type) {
    case GGUF_TYPE_INT8: memcpy(&x.i8, d, 1); *s = x.i8; break;
    case GGUF_TYPE_INT16: memcpy(&x.i16, d, 2); *s = x.i16; break;
    case GGUF_TYPE_INT32: memcpy(&x.i32, d, 4); *s = x.i32; break;
    case GGUF_TYPE_INT64: memcpy(&x.i64, d, 8); *s = x.i64; break;
    case GGUF_TYPE_UINT8: memcpy(&x.u8, d, 1); *u = x.u8; *is_signed = 0; break;
    case GGUF_TYPE_UINT16: memcpy(&x.u16, d, 2); *u = x.u16; *is_signed = 0; break;
    case GGUF_TYPE_UINT32: memcpy(&x.u32, d, 4); *u = x.u32; *is_signed = 0; break;
    case GGUF_TYPE_UINT64: memcpy(&x.u64, d, 8); *u = x.u64; *is_signed = 0; break;
    default: return 0;
    }
    if (*is_signed)
        *u = (uint64_t)*s;
    else
        *s = (int64_t)*u;
    return 1;
}

/* Scalar getters agree with the generic value of every scalar key. */
static void check_scalar(const gguf_file *f, const char *key, const gguf_value *v)
{
    int64_t s = 0;
    uint64_t u = 0;
    int is_signed;
    if (int_value(v, &s, &u, &is_signed)) {
        uint32_t u32;
        int64_t i64;
        uint64_t u64;
        int fits32 = is_signed ? (s >= 0 && s <= (int64_t)UINT32_MAX) : u <= UINT32_MAX;
        int fits_i64 = is_signed || u <= (uint64_t)INT64_MAX;
        int fits_u64 = !is_signed || s >= 0;
        ck_assert_msg((gguf_get_u32(f, key, &u32) == 0) == fits32, "%s: u32", key);
        if (fits32)
            ck_assert_uint_eq(u32, u);
        ck_assert_msg((gguf_get_i64(f, key, &i64) == 0) == fits_i64, "%s: i64", key);
        if (fits_i64)
            ck_assert_int_eq(i64, s);
        ck_assert_msg((gguf_get_u64(f, key, &u64) == 0) == fits_u64, "%s: u64", key);
        if (fits_u64)
            ck_assert_uint_eq(u64, u);
    } else if (v->type == GGUF_TYPE_FLOAT32) {
        float x, want;
        memcpy(&want, v->data, 4);
        ck_assert_msg(gguf_get_f32(f, key, &x) == 0, "%s: %s", key, wrk_error_detail());
        ck_assert_mem_eq(&x, &want, 4);
    } else if (v->type == GGUF_TYPE_FLOAT64) {
        double want;
        float x;
        memcpy(&want, v->data, 8);
        ck_assert_msg(gguf_get_f32(f, key, &x) == 0, "%s: %s", key, wrk_error_detail());
        float wf = (float)want;
        ck_assert_mem_eq(&x, &wf, 4);
    } else if (v->type == GGUF_TYPE_BOOL) {
        int b = -1;
        ck_assert_msg(gguf_get_bool(f, key, &b) == 0, "%s: %s", key, wrk_error_detail());
        ck_assert_int_eq(b, ((const unsigned char *)v->data)[0] != 0);
    } else if (v->type == GGUF_TYPE_STRING) {
        const char *str = NULL;
        ck_assert_msg(gguf_get_str(f, key, &str) == 0, "%s: %s", key, wrk_error_detail());
        ck_assert_mem_eq(str, v->data, v->size);   /* a copy: all bytes, NULs included */
        ck_assert_int_eq(str[v->size], '\0');
    }
}

/* Array getters agree with the generic value: element type, count, data, strings. */
static void check_array(const gguf_file *f, const char *key, const gguf_value *v)
{
    enum gguf_type et;
    uint64_t n;
    ck_assert_msg(gguf_get_arr_info(f, key, &et, &n) == 0, "%s: %s", key, wrk_error_detail());
    ck_assert_int_eq(et, v->elem_type);
    ck_assert_uint_eq(n, v->n);
    if (et == GGUF_TYPE_STRING) {
        for (uint64_t i = 0; i < n; i++) {
            gguf_value e;
            ck_assert_int_eq(gguf_value_elem(v, i, &e), 0);
            const char *s = gguf_get_arr_str(f, key, i);
            ck_assert_ptr_nonnull(s);
            ck_assert_uint_eq(gguf_get_arr_str_len(f, key, i), e.size);
            ck_assert_mem_eq(s, e.data, e.size);
        }
        ck_assert_ptr_null(gguf_get_arr_str(f, key, n));
        ck_assert_ptr_null(gguf_get_arr_data(f, key));
    } else if (et == GGUF_TYPE_ARRAY) {
        ck_assert_ptr_null(gguf_get_arr_data(f, key));
    } else {
        const void *d = gguf_get_arr_data(f, key);
        ck_assert_ptr_nonnull(d);
        ck_assert_mem_eq(d, v->data, v->size);
        ck_assert_ptr_null(gguf_get_arr_str(f, key, 0));
    }
}

START_TEST(typed_getters_agree)
{
    gguf_file *f = open_fixture(fixtures[_i]);
    for (int64_t i = 0; i < gguf_n_kv(f); i++) {
        const char *key = gguf_key(f, i);
        gguf_value v;
        ck_assert_int_eq(gguf_find_key(f, key), i);
        ck_assert_int_eq(gguf_kv_value(f, i, &v), 0);
        ck_assert_int_eq(gguf_value_check(&v), 0);
        if (v.type == GGUF_TYPE_ARRAY)
            check_array(f, key, &v);
        else
            check_scalar(f, key, &v);
    }
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor_info *t = gguf_tensor(f, i);
        ck_assert_ptr_eq(gguf_find_tensor(f, t->name), t);
        for (uint32_t d = t->n_dims; d < GGUF_MAX_DIMS; d++)
            ck_assert_uint_eq(t->ne[d], 1);
        ck_assert_uint_eq(t->offset % gguf_alignment(f), 0);
        /* data pointers are laid out as the offsets say, relative to the first tensor */
        const gguf_tensor_info *t0 = gguf_tensor(f, 0);
        ck_assert_ptr_eq((const char *)t->data, (const char *)t0->data + (t->offset - t0->offset));
    }
    ck_assert_int_eq(gguf_find_key(f, "no.such.key"), -1);
    gguf_close(f);
}
END_TEST

/* F32/F16 tensors hold finite, nonzero values (gguf-py wrote random nonzero data). */
START_TEST(float_tensors_nonzero)
{
    gguf_file *f = open_fixture(fixtures[_i]);
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor_info *t = gguf_tensor(f, i);
        const unsigned char *d = t->data;
        if (t->type == 0) {
            for (uint64_t k = 0; k < t->nbytes / 4; k++) {
                float x;
                memcpy(&x, d + 4 * k, 4);
                ck_assert_msg(x != 0.0f && x == x && x > -3.0f && x < 3.0f, "%s[%llu] = %g",
                              t->name, (unsigned long long)k, (double)x);
            }
        } else if (t->type == 1) {
            for (uint64_t k = 0; k < t->nbytes / 2; k++) {
                uint16_t h;
                memcpy(&h, d + 2 * k, 2);
                ck_assert_msg((h & 0x7fff) != 0 && (h & 0x7c00) != 0x7c00, "%s[%llu] = 0x%04x",
                              t->name, (unsigned long long)k, (unsigned)h);
            }
        }
    }
    gguf_close(f);
}
END_TEST

/* Every tensor X with an fp32 source "X.src": our quantizer gives gguf-py's bytes exactly,
 * and our dequantizer gives values close to the source. */
START_TEST(converters_match_gguf_py)
{
    gguf_file *f = open_fixture(fixtures[_i]);
    int n_checked = 0;
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) {
        const gguf_tensor_info *t = gguf_tensor(f, i);
        char name[512];
        snprintf(name, sizeof name, "%s.src", t->name);
        const gguf_tensor_info *src = gguf_find_tensor(f, name);
        if (!src)
            continue;
        ck_assert_uint_eq(src->type, 0);
        ck_assert_uint_eq(src->n_dims, t->n_dims);
        ck_assert_mem_eq(src->ne, t->ne, sizeof t->ne);
        uint64_t n = src->nbytes / 4, row = t->ne[0];
        ck_assert_uint_eq(wrk_dtype_row_bytes(t->type, row) * (n / row), t->nbytes);
        float *x = malloc(n * sizeof *x), *y = malloc(n * sizeof *y);
        unsigned char *q = malloc(t->nbytes);
        ck_assert(x && y && q);
        memcpy(x, src->data, n * sizeof *x);
        uint64_t rb = wrk_dtype_row_bytes(t->type, row);
        for (uint64_t r = 0; r < n / row; r++) {
            wrk_quantize_row(t->type, x + r * row, q + r * rb, row);
            wrk_dequantize_row(t->type, (const unsigned char *)t->data + r * rb, y + r * row, row);
        }
        for (uint64_t b = 0; b < t->nbytes; b++)
            ck_assert_msg(q[b] == ((const unsigned char *)t->data)[b],
                          "%s (%s): byte %llu: ours 0x%02x, gguf-py 0x%02x", t->name,
                          wrk_dtype_name(t->type), (unsigned long long)b, q[b],
                          ((const unsigned char *)t->data)[b]);
        for (uint64_t k = 0; k < n; k++) {
            /* f16 2^-11, bf16 2^-8 relative; Q8_0 half a step of amax/127 (< 2/127 here) */
            float tol = t->type == 8 ? 2.0f / 127.0f : fabsf(x[k]) / 256.0f;
            ck_assert_msg(fabsf(y[k] - x[k]) <= tol, "%s[%llu]: %g vs source %g", t->name,
                          (unsigned long long)k, (double)y[k], (double)x[k]);
        }
        free(x);
        free(y);
        free(q);
        n_checked++;
    }
    if (strcmp(fixtures[_i], "llama") == 0)
        ck_assert_int_eq(n_checked, 4);
    gguf_close(f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("gguf_llamacpp");
    TCase *tc = tcase_create("gguf-py fixtures");
    tcase_add_loop_test(tc, dump_matches_gguf_py, 0, (int)N_FIXTURES);
    tcase_add_loop_test(tc, typed_getters_agree, 0, (int)N_FIXTURES);
    tcase_add_loop_test(tc, float_tensors_nonzero, 0, (int)N_FIXTURES);
    tcase_add_loop_test(tc, converters_match_gguf_py, 0, (int)N_FIXTURES);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
