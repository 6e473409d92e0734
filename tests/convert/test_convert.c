/*
 * test_convert.c - worker-convert --from llama2c: round trip and bad inputs.
 *
 * Random llama2.c checkpoints (unusual shapes: hidden not a multiple of 32, GQA, tied and
 * untied output) are converted by the installed tool (run as a separate process, as a user
 * would), and the GGUF is read back with our reader: F32 tensors equal the checkpoint's
 * arrays bit for bit, F16 within half precision, metadata and the vocabulary as specified.
 * Truncated or inconsistent inputs must fail with exit status 1 and a message naming the
 * file and the byte offset, leaving no output file.
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
#include "l2c_fixture.h"

static char g_dir[256];
static char g_tool[1024];

static void setup_dir(void)
{
    snprintf(g_dir, sizeof g_dir, "/tmp/wc-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(g_dir));
}

static void teardown_dir(void)
{
    char cmd[512];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) { /* best effort */ }
}

/* Run the tool with args; return its exit status; its stderr lands in err (cap bytes). */
static int run_tool(const char *args, char *err, size_t cap)
{
    char cmd[4096], errpath[512];
    FILE *fp;
    size_t n = 0;
    int st;

    snprintf(errpath, sizeof errpath, "%s/stderr.txt", g_dir);
    snprintf(cmd, sizeof cmd, "'%s' %s 2>'%s' >/dev/null", g_tool, args, errpath);
    st = system(cmd);
    fp = fopen(errpath, "r");
    if (fp) { n = fread(err, 1, cap - 1, fp); fclose(fp); }
    err[n] = '\0';
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void path_in(char *out, size_t cap, const char *name)
{
    snprintf(out, cap, "%s/%s", g_dir, name);
}

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* Convert fixture f with --type type_arg; return the opened GGUF. */
static gguf_file *convert_fixture(const l2c_fixture *f, const char *type_arg)
{
    char model[512], tok[512], out[512], args[2048], err[4096];
    gguf_file *g = NULL;
    int rc;

    path_in(model, sizeof model, "model.bin");
    path_in(tok, sizeof tok, "tok.bin");
    path_in(out, sizeof out, "out.gguf");
    ck_assert_int_eq(l2c_fixture_write_model(f, model), 0);
    ck_assert_int_eq(l2c_fixture_write_tokenizer(f, tok), 0);
    snprintf(args, sizeof args, "--from llama2c '%s' '%s' -o '%s' --type %s --name fixture",
             model, tok, out, type_arg);
    rc = run_tool(args, err, sizeof err);
    ck_assert_msg(rc == 0, "worker-convert failed (%d): %s", rc, err);
    rc = gguf_open(out, &g);
    ck_assert_msg(rc == 0, "our reader rejects the output");
    return g;
}

static uint32_t meta_u32(const gguf_file *g, const char *key)
{
    uint32_t v = 0;
    ck_assert_msg(gguf_get_u32(g, key, &v) == 0, "missing %s", key);
    return v;
}

/* Check tensor name has shape {ne0, ne1} (ne1 = 0: 1-D) and values == src within tol
 * (tol 0: bit-exact F32). */
static void check_tensor(const gguf_file *g, const char *name, uint64_t ne0, uint64_t ne1,
                         const float *src, uint32_t want_type)
{
    const gguf_tensor_info *t = gguf_find_tensor(g, name);
    uint64_t n = ne0 * (ne1 ? ne1 : 1);
    float *row;

    ck_assert_msg(t != NULL, "tensor %s missing", name);
    ck_assert_uint_eq(t->n_dims, ne1 ? 2 : 1);
    ck_assert_uint_eq(t->ne[0], ne0);
    if (ne1) ck_assert_uint_eq(t->ne[1], ne1);
    ck_assert_msg(t->type == want_type, "%s: type %u, want %u", name, t->type, want_type);
    row = malloc(n * sizeof *row);
    wrk_dequantize_row(t->type, t->data, row, n);
    for (uint64_t i = 0; i < n; i++) {
        if (t->type == WP_DTYPE_F32) {
            ck_assert_msg(memcmp(&row[i], &src[i], 4) == 0, "%s[%llu]: %.9g != %.9g", name,
                          (unsigned long long)i, row[i], src[i]);
        } else {
            /* Round to nearest: half a unit in the last place of F16 (11 significant
             * bits) or BF16 (8); values here are in [-1, 1). */
            float rel = t->type == WP_DTYPE_BF16 ? 0x1p-8f : 0x1p-11f;
            ck_assert_msg(fabsf(row[i] - src[i]) <= fabsf(src[i]) * rel + 0x1p-24f,
                          "%s[%llu]: %.9g vs %.9g", name, (unsigned long long)i, row[i],
                          src[i]);
        }
    }
    free(row);
}

static void check_roundtrip(l2c_fixture *f, const char *type_arg, uint32_t wtype)
{
    gguf_file *g = convert_fixture(f, type_arg);
    const uint64_t dim = (uint64_t)f->dim, hid = (uint64_t)f->hidden;
    const uint64_t kv = dim / (uint64_t)f->n_heads * (uint64_t)f->n_kv_heads;
    const uint64_t v = (uint64_t)f->vocab;
    const float *w = f->weights;
    const char *s = NULL;
    float fv = 0;
    int b = -1;

    /* metadata */
    ck_assert_int_eq(gguf_get_str(g, "general.architecture", &s), 0);
    ck_assert_str_eq(s, "llama");
    ck_assert_int_eq(gguf_get_str(g, "general.name", &s), 0);
    ck_assert_str_eq(s, "fixture");
    ck_assert_uint_eq(meta_u32(g, "llama.context_length"), (uint32_t)f->seq_len);
    ck_assert_uint_eq(meta_u32(g, "llama.embedding_length"), dim);
    ck_assert_uint_eq(meta_u32(g, "llama.block_count"), (uint32_t)f->n_layers);
    ck_assert_uint_eq(meta_u32(g, "llama.feed_forward_length"), hid);
    ck_assert_uint_eq(meta_u32(g, "llama.attention.head_count"), (uint32_t)f->n_heads);
    ck_assert_uint_eq(meta_u32(g, "llama.attention.head_count_kv"), (uint32_t)f->n_kv_heads);
    ck_assert_uint_eq(meta_u32(g, "llama.rope.dimension_count"), dim / (uint64_t)f->n_heads);
    ck_assert_int_eq(gguf_get_f32(g, "llama.rope.freq_base", &fv), 0);
    ck_assert(fv == 10000.0f);
    ck_assert_int_eq(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &fv), 0);
    ck_assert(fv == 1e-5f);

    /* vocabulary */
    ck_assert_int_eq(gguf_get_str(g, "tokenizer.ggml.model", &s), 0);
    ck_assert_str_eq(s, "llama");
    ck_assert_uint_eq(meta_u32(g, "tokenizer.ggml.bos_token_id"), 1);
    ck_assert_uint_eq(meta_u32(g, "tokenizer.ggml.eos_token_id"), 2);
    ck_assert_uint_eq(meta_u32(g, "tokenizer.ggml.unknown_token_id"), 0);
    ck_assert_int_eq(gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &b), 0);
    ck_assert_int_eq(b, 1);
    ck_assert_int_eq(gguf_get_bool(g, "tokenizer.ggml.add_eos_token", &b), 0);
    ck_assert_int_eq(b, 0);
    {
        enum gguf_type et;
        uint64_t n = 0;
        const float *scores;
        const int32_t *types;
        ck_assert_int_eq(gguf_get_arr_info(g, "tokenizer.ggml.tokens", &et, &n), 0);
        ck_assert_int_eq(et, GGUF_TYPE_STRING);
        ck_assert_uint_eq(n, v);
        ck_assert_int_eq(gguf_get_arr_info(g, "tokenizer.ggml.scores", &et, &n), 0);
        ck_assert_int_eq(et, GGUF_TYPE_FLOAT32);
        ck_assert_int_eq(gguf_get_arr_info(g, "tokenizer.ggml.token_type", &et, &n), 0);
        ck_assert_int_eq(et, GGUF_TYPE_INT32);
        scores = gguf_get_arr_data(g, "tokenizer.ggml.scores");
        types = gguf_get_arr_data(g, "tokenizer.ggml.token_type");
        ck_assert_ptr_nonnull(scores);
        ck_assert_ptr_nonnull(types);
        ck_assert_str_eq(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 0), "<unk>");
        ck_assert_str_eq(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 1), "<s>");
        ck_assert_str_eq(gguf_get_arr_str(g, "tokenizer.ggml.tokens", 2), "</s>");
        ck_assert_int_eq(types[0], 2);
        ck_assert_int_eq(types[1], 3);
        ck_assert_int_eq(types[2], 3);
        for (uint64_t i = 3; i < v; i++) {
            const char *t = gguf_get_arr_str(g, "tokenizer.ggml.tokens", i);
            char want[64];
            size_t k = 0;
            /* expected text: spaces as U+2581 */
            for (int32_t j = 0; j < f->tok_len[i]; j++) {
                if (f->tok[i][j] == ' ') { memcpy(want + k, "\xE2\x96\x81", 3); k += 3; }
                else want[k++] = f->tok[i][j];
            }
            want[k] = '\0';
            ck_assert_ptr_nonnull(t);
            ck_assert_str_eq(t, want);
            ck_assert_int_eq(types[i], i < 259 ? 6 : 1);
            ck_assert_msg(memcmp(&scores[i], &f->score[i], 4) == 0, "score %llu",
                          (unsigned long long)i);
        }
    }

    /* tensors */
    check_tensor(g, "token_embd.weight", dim, v, w + l2c_fixture_offset(f, "emb"), wtype);
    for (int l = 0; l < f->n_layers; l++) {
        char name[64];
        const size_t L = (size_t)l;
#define T(suffix, arr, ne0, ne1, type) \
        snprintf(name, sizeof name, "blk.%d.%s", l, suffix); \
        check_tensor(g, name, ne0, ne1, \
                     w + l2c_fixture_offset(f, arr) + L * (ne0) * ((ne1) ? (ne1) : 1), type)
        T("attn_norm.weight", "rms_att", dim, 0, WP_DTYPE_F32);
        T("attn_q.weight", "wq", dim, dim, wtype);
        T("attn_k.weight", "wk", dim, kv, wtype);
        T("attn_v.weight", "wv", dim, kv, wtype);
        T("attn_output.weight", "wo", dim, dim, wtype);
        T("ffn_norm.weight", "rms_ffn", dim, 0, WP_DTYPE_F32);
        T("ffn_gate.weight", "w1", dim, hid, wtype);
        T("ffn_down.weight", "w2", hid, dim, wtype);
        T("ffn_up.weight", "w3", dim, hid, wtype);
#undef T
    }
    check_tensor(g, "output_norm.weight", dim, 0, w + l2c_fixture_offset(f, "rms_final"),
                 WP_DTYPE_F32);
    if (f->tied) {
        ck_assert_ptr_null(gguf_find_tensor(g, "output.weight"));
        ck_assert_int_eq(gguf_n_tensors(g), 2 + 9 * f->n_layers);
    } else {
        check_tensor(g, "output.weight", dim, v, w + l2c_fixture_offset(f, "wcls"), wtype);
        ck_assert_int_eq(gguf_n_tensors(g), 3 + 9 * f->n_layers);
    }
    gguf_close(g);
}

/* Shapes like stories260K's: head size 8, hidden not a multiple of 32, GQA 2:1. */
static void fixture_small(l2c_fixture *f, int tied, int with_rope, unsigned seed)
{
    memset(f, 0, sizeof *f);
    f->dim = 32; f->hidden = 86; f->n_layers = 3; f->n_heads = 4; f->n_kv_heads = 2;
    f->vocab = 300 + (int32_t)(seed % 7); f->seq_len = 24; f->tied = tied;
    f->with_rope = with_rope;
    l2c_fixture_make(f, seed);
}

START_TEST(roundtrip_f32_tied)
{
    l2c_fixture f;
    fixture_small(&f, 1, _i & 1, 100u + (unsigned)_i);
    check_roundtrip(&f, "f32", WP_DTYPE_F32);
    l2c_fixture_free(&f);
}
END_TEST

START_TEST(roundtrip_f32_untied)
{
    l2c_fixture f;
    fixture_small(&f, 0, 1, 200u);
    check_roundtrip(&f, "f32", WP_DTYPE_F32);
    l2c_fixture_free(&f);
}
END_TEST

START_TEST(roundtrip_f16)
{
    l2c_fixture f;
    fixture_small(&f, _i, 1, 300u + (unsigned)_i);
    check_roundtrip(&f, "f16", WP_DTYPE_F16);
    l2c_fixture_free(&f);
}
END_TEST

START_TEST(roundtrip_bf16)
{
    l2c_fixture f;
    fixture_small(&f, 0, 1, 350u);
    check_roundtrip(&f, "bf16", WP_DTYPE_BF16);
    l2c_fixture_free(&f);
}
END_TEST

/* Write a model whose file is cut to keep bytes; expect exit 1 naming file and offset. */
static void expect_failure(const char *model, const char *tok, const char *needle)
{
    char out[512], args[2048], err[4096];
    int rc;
    path_in(out, sizeof out, "out.gguf");
    snprintf(args, sizeof args, "--from llama2c '%s' '%s' -o '%s'", model, tok, out);
    rc = run_tool(args, err, sizeof err);
    ck_assert_msg(rc == 1, "exit %d, want 1; stderr: %s", rc, err);
    ck_assert_msg(strstr(err, needle) != NULL, "stderr lacks \"%s\": %s", needle, err);
    ck_assert_msg(!file_exists(out), "a failed conversion left %s", out);
}

static void truncate_file(const char *path, long keep)
{
    ck_assert_int_eq(truncate(path, keep), 0);
}

START_TEST(truncated_checkpoint)
{
    l2c_fixture f;
    char model[512], tok[512];
    long size, cut;
    fixture_small(&f, 1, 1, 400u + (unsigned)_i);
    path_in(model, sizeof model, "model.bin");
    path_in(tok, sizeof tok, "tok.bin");
    ck_assert_int_eq(l2c_fixture_write_model(&f, model), 0);
    ck_assert_int_eq(l2c_fixture_write_tokenizer(&f, tok), 0);
    /* A random cut inside the header or the arrays (before the end of rms_final). */
    /* bytes up to the end of rms_final: a cut anywhere before it is a truncation */
    size = 28 + 4 * (long)(l2c_fixture_offset(&f, "rms_final") + (size_t)f.dim);
    srand(500u + (unsigned)_i);
    cut = _i == 0 ? 10 : 28 + rand() % (size - 28);
    truncate_file(model, cut);
    expect_failure(model, tok, model);
    expect_failure(model, tok, "byte offset");
    expect_failure(model, tok, _i == 0 ? "header" : "truncated");
    l2c_fixture_free(&f);
}
END_TEST

START_TEST(truncated_tokenizer)
{
    l2c_fixture f;
    char model[512], tok[512];
    struct stat st;
    fixture_small(&f, 1, 1, 600u + (unsigned)_i);
    path_in(model, sizeof model, "model.bin");
    path_in(tok, sizeof tok, "tok.bin");
    ck_assert_int_eq(l2c_fixture_write_model(&f, model), 0);
    ck_assert_int_eq(l2c_fixture_write_tokenizer(&f, tok), 0);
    ck_assert_int_eq(stat(tok, &st), 0);
    srand(700u + (unsigned)_i);
    truncate_file(tok, 4 + rand() % (st.st_size - 5));
    expect_failure(model, tok, tok);
    expect_failure(model, tok, "truncated at byte offset");
    l2c_fixture_free(&f);
}
END_TEST

START_TEST(bad_inputs)
{
    l2c_fixture f;
    char model[512], tok[512], other[512];
    FILE *fp;
    int32_t v;
    fixture_small(&f, 1, 1, 800u);
    path_in(model, sizeof model, "model.bin");
    path_in(tok, sizeof tok, "tok.bin");
    path_in(other, sizeof other, "missing.bin");

    /* missing file */
    ck_assert_int_eq(l2c_fixture_write_tokenizer(&f, tok), 0);
    expect_failure(other, tok, "missing.bin: cannot open");

    /* n_heads that does not divide dim */
    ck_assert_int_eq(l2c_fixture_write_model(&f, model), 0);
    fp = fopen(model, "r+b");
    v = 5;
    fseek(fp, 12, SEEK_SET);
    fwrite(&v, 4, 1, fp);
    fclose(fp);
    expect_failure(model, tok, "n_heads 5 does not divide dim 32");

    /* trailing garbage after the checkpoint */
    ck_assert_int_eq(l2c_fixture_write_model(&f, model), 0);
    fp = fopen(model, "ab");
    fwrite(&v, 4, 1, fp);
    fclose(fp);
    expect_failure(model, tok, "unexpected");

    /* a tokenizer of another (bigger) vocabulary: trailing entries */
    ck_assert_int_eq(l2c_fixture_write_model(&f, model), 0);
    fp = fopen(tok, "ab");
    fwrite(&(float){ 1.0f }, 4, 1, fp);
    fwrite(&(int32_t){ 1 }, 4, 1, fp);
    fwrite("x", 1, 1, fp);
    fclose(fp);
    expect_failure(model, tok, "unexpected bytes after");

    /* a token length beyond max_token_length */
    ck_assert_int_eq(l2c_fixture_write_tokenizer(&f, tok), 0);
    fp = fopen(tok, "r+b");
    v = 1000;
    fseek(fp, 4 + 4, SEEK_SET);   /* length of token 0 */
    fwrite(&v, 4, 1, fp);
    fclose(fp);
    expect_failure(model, tok, "length 1000 out of range");
    l2c_fixture_free(&f);
}
END_TEST

START_TEST(usage_errors)
{
    char err[4096];
    ck_assert_int_eq(run_tool("--from nosuch a b -o x.gguf", err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "unknown --from 'nosuch'"));
    ck_assert_int_eq(run_tool("--from llama2c onlyone -o x.gguf", err, sizeof err), 2);
    ck_assert_ptr_nonnull(strstr(err, "takes 2 inputs"));
    ck_assert_int_eq(run_tool("--from llama2c a b -o x.gguf --type q9", err, sizeof err), 2);
}
END_TEST

static Suite *convert_suite(void)
{
    Suite *s = suite_create("convert");
    TCase *tc = tcase_create("llama2c");
    tcase_add_checked_fixture(tc, setup_dir, teardown_dir);
    tcase_add_loop_test(tc, roundtrip_f32_tied, 0, 2);
    tcase_add_test(tc, roundtrip_f32_untied);
    tcase_add_loop_test(tc, roundtrip_f16, 0, 2);
    tcase_add_test(tc, roundtrip_bf16);
    tcase_add_loop_test(tc, truncated_checkpoint, 0, 4);
    tcase_add_loop_test(tc, truncated_tokenizer, 0, 4);
    tcase_add_test(tc, bad_inputs);
    tcase_add_test(tc, usage_errors);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *b = getenv("top_builddir");
    SRunner *sr;
    int failed;
    snprintf(g_tool, sizeof g_tool, "%s/tools/worker-convert", b ? b : ".");
    sr = srunner_create(convert_suite());
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
