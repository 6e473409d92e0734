/*
 * test_bench_model.c - make-bench-model and worker-bench on small random models.
 *
 * File checks (always): for f16, q8_0 and q4_k_m, tied and untied, the written file opens
 * with runtime/gguf's validating reader, has the llama keys and the recipe's tensor types
 * (q4_k_m: Q6_K attn_v/ffn_down where use_more_bits, Q6_K output), its weights look like
 * N(0, 0.02) and its norms like 1 + N(0, 0.02); the file does not depend on the thread count;
 * bad arguments are refused. Load checks (need plugins/llama): each model loads through
 * cuda_load_model on the host backend, its byte vocabulary tokenizes, and worker-bench runs
 * on it with an exact-length prompt. Without the llama plugin the file checks run and the
 * program exits 77 (SKIP).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "gguf/gguf.h"
#include "gguf/quant.h"
#include "worker_plugin.h"
#include "worker_ext.h"

#define SHAPE_TIED "custom:256,3,8,2,768,1024"
#define SHAPE_UNTIED "custom:256,2,8,4,512,700,0"
static const char *const types[] = { "f16", "q8_0", "q4_k_m" };

static char tmpdir[512];

static const char *builddir(void)
{
    const char *b = getenv("top_builddir");
    return b ? b : ".";
}

/* Run make-bench-model with args; its exit status. */
static int make_model(const char *args)
{
    char cmd[2048];
    int st;
    snprintf(cmd, sizeof cmd, "%s/tools/bench/make-bench-model -q %s", builddir(), args);
    st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void model_path(char *out, size_t n, const char *shape, const char *type)
{
    snprintf(out, n, "%s/%s-%s.gguf", tmpdir, strstr(shape, ",0") ? "untied" : "tied", type);
}

static uint32_t u32(const gguf_file *f, const char *key)
{
    uint32_t v = 0;
    ck_assert_msg(gguf_get_u32(f, key, &v) == 0, "%s missing", key);
    return v;
}

/* Mean and std of a tensor's values (dequantized), and the fraction of exact zeros. */
static void moments(const gguf_file *f, const char *name, double *mean, double *sd,
                    double *zeros)
{
    const gguf_tensor_info *t = gguf_find_tensor(f, name);
    uint64_t rows, n0;
    double s = 0, ss = 0, z = 0, cnt = 0;
    float *row;
    ck_assert_msg(t != NULL, "%s missing", name);
    n0 = t->ne[0];
    rows = t->nbytes / wrk_dtype_row_bytes(t->type, n0);
    row = malloc(n0 * sizeof *row);
    ck_assert_ptr_nonnull(row);
    for (uint64_t r = 0; r < rows; r++) {
        wrk_dequantize_row(t->type, (const char *)t->data + r * wrk_dtype_row_bytes(t->type, n0),
                           row, n0);
        for (uint64_t i = 0; i < n0; i++) {
            s += row[i];
            ss += (double)row[i] * row[i];
            z += row[i] == 0.0f;
            cnt++;
        }
    }
    free(row);
    *mean = s / cnt;
    *sd = sqrt(ss / cnt - *mean * *mean);
    *zeros = z / cnt;
}

static uint32_t type_of(const gguf_file *f, const char *name)
{
    const gguf_tensor_info *t = gguf_find_tensor(f, name);
    ck_assert_msg(t != NULL, "%s missing", name);
    return t->type;
}

static int more_bits(uint32_t i, uint32_t n)
{
    return i < n / 8 || i >= 7 * n / 8 || (i >= n / 8 && (i - n / 8) % 3 == 2);
}

/* The file of one (shape, type): keys, tensor types, statistics. */
static void check_file(const char *shape, int ti)
{
    char path[1024], name[64];
    gguf_file *f = NULL;
    const char *s = NULL;
    int tied = strstr(shape, ",0") == NULL;
    uint32_t nl, base, expect;
    double mean, sd, zeros;

    model_path(path, sizeof path, shape, types[ti]);
    ck_assert_int_eq(gguf_open(path, &f), 0);
    ck_assert_int_eq(gguf_get_str(f, "general.architecture", &s), 0);
    ck_assert_str_eq(s, "llama");
    ck_assert_int_eq(gguf_get_str(f, "tokenizer.ggml.model", &s), 0);
    ck_assert_str_eq(s, "gpt2");
    ck_assert_uint_eq(u32(f, "llama.embedding_length"), 256);
    nl = u32(f, "llama.block_count");
    ck_assert_uint_eq(nl, tied ? 3 : 2);
    ck_assert_uint_eq(u32(f, "llama.attention.head_count_kv"), tied ? 2 : 4);
    ck_assert_uint_eq(u32(f, "general.file_type"), ti == 0 ? 1 : ti == 1 ? 7 : 15);
    ck_assert_int_eq(gguf_n_tensors(f), 2 + 9 * (int64_t)nl + (tied ? 0 : 1));
    ck_assert_int_eq(gguf_find_tensor(f, "output.weight") != NULL, !tied);

    base = ti == 0 ? WP_DTYPE_F16 : ti == 1 ? WP_DTYPE_Q8_0 : WP_DTYPE_Q4_K;
    for (uint32_t il = 0; il < nl; il++) {
        expect = ti == 2 && more_bits(il, nl) ? WP_DTYPE_Q6_K : base;
        snprintf(name, sizeof name, "blk.%u.attn_v.weight", il);
        ck_assert_uint_eq(type_of(f, name), expect);
        snprintf(name, sizeof name, "blk.%u.ffn_down.weight", il);
        ck_assert_uint_eq(type_of(f, name), expect);
        snprintf(name, sizeof name, "blk.%u.attn_q.weight", il);
        ck_assert_uint_eq(type_of(f, name), base);
        snprintf(name, sizeof name, "blk.%u.ffn_norm.weight", il);
        ck_assert_uint_eq(type_of(f, name), WP_DTYPE_F32);
    }
    expect = ti == 2 ? WP_DTYPE_Q6_K : base;
    ck_assert_uint_eq(type_of(f, tied ? "token_embd.weight" : "output.weight"), expect);
    if (!tied) ck_assert_uint_eq(type_of(f, "token_embd.weight"), base);

    moments(f, "blk.0.ffn_gate.weight", &mean, &sd, &zeros);
    ck_assert_msg(fabs(mean) < 0.002 && sd > 0.017 && sd < 0.023 && zeros < 0.05,
                  "%s ffn_gate: mean %g sd %g zeros %g", types[ti], mean, sd, zeros);
    moments(f, "token_embd.weight", &mean, &sd, &zeros);
    ck_assert_msg(fabs(mean) < 0.002 && sd > 0.017 && sd < 0.023,
                  "%s token_embd: mean %g sd %g", types[ti], mean, sd);
    moments(f, "output_norm.weight", &mean, &sd, &zeros);
    ck_assert_msg(fabs(mean - 1.0) < 0.01 && sd > 0.01 && sd < 0.03 && zeros == 0.0,
                  "norm: mean %g sd %g", mean, sd);
    gguf_close(f);
}

START_TEST(test_files)
{
    check_file(SHAPE_TIED, _i);
    check_file(SHAPE_UNTIED, _i);
}
END_TEST

/* Same seed, other thread count: the same bytes; another seed: other bytes. */
START_TEST(test_deterministic)
{
    char a[1024], b[1024], args[2048], cmd[4096];
    snprintf(a, sizeof a, "%s/det-1.gguf", tmpdir);
    snprintf(b, sizeof b, "%s/det-2.gguf", tmpdir);
    snprintf(args, sizeof args, "--shape %s --type q4_k_m -t 1 -o %s", SHAPE_TIED, a);
    ck_assert_int_eq(make_model(args), 0);
    snprintf(args, sizeof args, "--shape %s --type q4_k_m -t 3 -o %s", SHAPE_TIED, b);
    ck_assert_int_eq(make_model(args), 0);
    snprintf(cmd, sizeof cmd, "cmp -s %s %s", a, b);
    ck_assert_int_eq(system(cmd), 0);
    snprintf(args, sizeof args, "--shape %s --type q4_k_m --seed 7 -o %s", SHAPE_TIED, b);
    ck_assert_int_eq(make_model(args), 0);
    ck_assert_int_ne(system(cmd), 0);
    remove(a);
    remove(b);
}
END_TEST

/* Unknown shapes and types, impossible shapes: exit 2, no file left behind. */
START_TEST(test_bad_args)
{
    char p[1024], args[2048];
    struct stat st;
    snprintf(p, sizeof p, "%s/bad.gguf", tmpdir);
    snprintf(args, sizeof args, "--shape 3b --type f16 -o %s 2>/dev/null", p);
    ck_assert_int_eq(make_model(args), 2);
    snprintf(args, sizeof args, "--shape %s --type q5_k -o %s 2>/dev/null", SHAPE_TIED, p);
    ck_assert_int_eq(make_model(args), 2);
    snprintf(args, sizeof args, "--shape custom:256,2,7,2,512,1024 --type f16 -o %s 2>/dev/null",
             p);
    ck_assert_int_eq(make_model(args), 2);
    snprintf(args, sizeof args, "--shape custom:256,2,8,2,512,100 --type f16 -o %s 2>/dev/null",
             p);
    ck_assert_int_eq(make_model(args), 2);
    ck_assert_int_ne(stat(p, &st), 0);
}
END_TEST

/* Rows that are not a whole number of K blocks fall back to Q8_0 (as llama.cpp). */
START_TEST(test_fallback)
{
    char p[1024], args[2048];
    gguf_file *f = NULL;
    snprintf(p, sizeof p, "%s/fallback.gguf", tmpdir);
    snprintf(args, sizeof args, "--shape custom:96,1,4,2,160,300 --type q4_k_m -o %s", p);
    ck_assert_int_eq(make_model(args), 0);
    ck_assert_int_eq(gguf_open(p, &f), 0);
    ck_assert_uint_eq(type_of(f, "blk.0.attn_q.weight"), WP_DTYPE_Q8_0);
    ck_assert_uint_eq(type_of(f, "blk.0.ffn_down.weight"), WP_DTYPE_Q8_0);
    gguf_close(f);
    remove(p);
}
END_TEST

/* Load on the host backend; the byte vocabulary: BOS + one token per byte. */
START_TEST(test_load_host)
{
    char path[1024];
    CudaContext *ctx;
    CudaModel *m;
    WorkerModelInfo mi;
    gguf_file *f = NULL;
    uint64_t vram = 0, bytes = 0;
    int32_t ids[64];
    size_t n = 0;
    char text[64];
    int err = 0;

    model_path(path, sizeof path, _i < 3 ? SHAPE_TIED : SHAPE_UNTIED, types[_i % 3]);
    ck_assert_int_eq(gguf_open(path, &f), 0);
    for (int64_t i = 0; i < gguf_n_tensors(f); i++) bytes += gguf_tensor(f, i)->nbytes;
    gguf_close(f);
    ctx = worker_init("host", &err);
    ck_assert_msg(ctx != NULL, "worker_init: %s", worker_last_error_detail());
    m = cuda_load_model(ctx, path, &vram, &err);
    ck_assert_msg(m != NULL, "load %s: %s", path, worker_last_error_detail());
    memset(&mi, 0, sizeof mi);
    mi.struct_size = sizeof mi;
    ck_assert_int_eq(worker_model_info(m, &mi), 0);
    ck_assert_str_eq(mi.architecture, "llama");
    ck_assert_uint_eq(mi.weight_bytes, bytes);
    ck_assert_uint_eq(mi.vocab_size, _i < 3 ? 1024 : 700);
    ck_assert_int_eq(worker_tokenize(m, "h\xc3\xa9llo", 1, ids, 64, &n), 0);
    ck_assert_uint_eq(n, 7);                              /* BOS + 6 bytes */
    /* BOS: the first control token, at n - 256 (n >= 1024, as Llama 3) or n - 2. */
    ck_assert_int_eq(ids[0], (int)mi.vocab_size - (mi.vocab_size >= 1024 ? 256 : 2));
    ck_assert_int_eq(worker_detokenize(m, ids + 1, n - 1, text, sizeof text, &n), 0);
    ck_assert_str_eq(text, "h\xc3\xa9llo");
    cuda_unload_model(m);
    cuda_destroy(ctx);
}
END_TEST

/* worker-bench on the host backend: exit 0, JSON with the exact prompt length. */
START_TEST(test_worker_bench)
{
    char path[1024], cmd[4096], out[65536];
    FILE *p;
    size_t got;
    int st;
    model_path(path, sizeof path, SHAPE_UNTIED, types[_i]);
    snprintf(cmd, sizeof cmd, "%s/tools/worker-bench -m %s --device host -p 37 -n 9 -r 2 "
             "--json 2>&1", builddir(), path);
    p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    got = fread(out, 1, sizeof out - 1, p);
    out[got] = '\0';
    st = pclose(p);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "worker-bench failed:\n%s", out);
    ck_assert_msg(strstr(out, "\"tokens_requested\": 37, \"tokens\": 37,") != NULL,
                  "no exact pp prompt:\n%s", out);
    ck_assert_msg(strstr(out, "\"tg\": {\"tokens\": 9,") != NULL, "no tg:\n%s", out);
    ck_assert_msg(strstr(out, "\"is_host\": true") != NULL, "%s", out);
    /* A missing model is an error with the library's detail. */
    snprintf(cmd, sizeof cmd, "%s/tools/worker-bench -m %s/none.gguf --device host "
             ">/dev/null 2>&1", builddir(), tmpdir);
    st = system(cmd);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 1);
}
END_TEST

static int have_llama_plugin(void)
{
    const char *pp = getenv("WORKER_PLUGIN_PATH");
    char p[1024];
    if (!pp) return 0;
    snprintf(p, sizeof p, "%s/llama.so", pp);
    return access(p, R_OK) == 0;
}

int main(void)
{
    Suite *s = suite_create("bench_model");
    TCase *tf = tcase_create("files"), *tl = tcase_create("load");
    SRunner *sr;
    int failed, plugin = have_llama_plugin();
    char args[2048], path[1024];

    snprintf(tmpdir, sizeof tmpdir, "/tmp/test_bench_model.XXXXXX");
    if (!mkdtemp(tmpdir)) return 99;
    /* The six models every test reads. */
    for (int t = 0; t < 3; t++) {
        const char *shapes[2] = { SHAPE_TIED, SHAPE_UNTIED };
        for (int k = 0; k < 2; k++) {
            model_path(path, sizeof path, shapes[k], types[t]);
            snprintf(args, sizeof args, "--shape %s --type %s -t 2 -o %s", shapes[k], types[t],
                     path);
            if (make_model(args) != 0) {
                fprintf(stderr, "make-bench-model %s failed\n", args);
                return 1;
            }
        }
    }
    tcase_set_timeout(tf, 300);
    tcase_add_loop_test(tf, test_files, 0, 3);
    tcase_add_test(tf, test_deterministic);
    tcase_add_test(tf, test_bad_args);
    tcase_add_test(tf, test_fallback);
    suite_add_tcase(s, tf);
    if (plugin) {
        tcase_set_timeout(tl, 600);
        tcase_add_loop_test(tl, test_load_host, 0, 6);
        tcase_add_loop_test(tl, test_worker_bench, 0, 3);
        suite_add_tcase(s, tl);
    } else {
        fprintf(stderr, "llama plugin not built (no llama.so in WORKER_PLUGIN_PATH): only the "
                "file checks run\n");
    }
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    snprintf(args, sizeof args, "rm -rf %s", tmpdir);
    if (system(args) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    if (failed) return 1;
    return plugin ? 0 : 77;
}
