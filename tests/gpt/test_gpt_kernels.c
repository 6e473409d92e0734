/*
 * test_gpt_kernels.c - the gpt plugin's CUDA kernels (LayerNorm, GELU, learned positions)
 * against its plain-C set, on random data. GPU only: exits 77 without one.
 *
 * The kernel sets are linked in from plugins/gpt (a test convenience library); memory and
 * copies go through the real services table of a model loaded on cuda:0, as in the plugin.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker_ffi.h"
#include "worker_ext.h"
#include "core/wrk_context.h"
#include "../../plugins/gpt/gpt.h"
#include "gpt_fixture.h"

static CudaContext *g_ctx;
static CudaModel *g_model;
static const wp_host *g_host;
static char g_path[256];

static void setup(void)
{
    static const gpt_shape s = { "kernels", 32, 4, 1, 64, 300, 16, 1, WP_DTYPE_F32 };
    gpt_ref ref;
    uint64_t vram;
    int err = 0;
    snprintf(g_path, sizeof g_path, "/tmp/gpt-kernels-%d.gguf", (int)getpid());
    ck_assert_int_eq(gpt_fixture_write(&s, 5u, g_path, &ref, NULL), 0);
    gpt_ref_free(&ref);
    g_ctx = worker_init("cuda:0", &err);
    ck_assert_msg(g_ctx != NULL, "%s", worker_last_error_detail());
    g_model = cuda_load_model(g_ctx, g_path, &vram, &err);
    ck_assert_msg(g_model != NULL, "%s", worker_last_error_detail());
    g_host = &g_model->host;
    ck_assert_ptr_nonnull(gpt_kernels_cuda());
}

static void teardown(void)
{
    cuda_unload_model(g_model);
    cuda_destroy(g_ctx);
    unlink(g_path);
}

static float *rand_vec(size_t n, float scale, float offset, unsigned *seed)
{
    float *v = malloc(n * sizeof *v);
    for (size_t i = 0; i < n; i++)
        v[i] = offset + scale * ((float)rand_r(seed) / (float)RAND_MAX * 2.0f - 1.0f);
    return v;
}

static float *to_dev(const float *h, size_t n)
{
    float *d = g_host->alloc(g_host, n * sizeof *d, WP_MEM_SCRATCH, "kernel test");
    ck_assert_ptr_nonnull(d);
    ck_assert_int_eq(g_host->ops->from_host(g_host, d, h, n * sizeof *d), 0);
    return d;
}

static void check_close(const float *got, const float *want, size_t n, float tol,
                        const char *what)
{
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i])),
                      "%s[%zu]: %.8g vs %.8g", what, i, got[i], want[i]);
}

START_TEST(layer_norm_matches_host)
{
    static const int widths[] = { 1, 31, 64, 100, 768, 1000, 4097 };
    int width = widths[_i % 7], rows = 1 + _i * 5, inplace = _i % 2;
    unsigned seed = 900u + (unsigned)_i;
    size_t n = (size_t)rows * width;
    /* a large common offset: the two-pass variance must not lose the spread */
    float *x = rand_vec(n, 3.0f, 50.0f, &seed), *w = rand_vec((size_t)width, 0.5f, 1.0f, &seed);
    float *b = rand_vec((size_t)width, 0.5f, 0.0f, &seed);
    float *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    float *dx = to_dev(x, n), *dw = to_dev(w, (size_t)width), *db = to_dev(b, (size_t)width);
    float *dy = inplace ? dx : g_host->alloc(g_host, n * sizeof(float), WP_MEM_SCRATCH, "y");
    ck_assert_int_eq(gpt_kernels_host()->layer_norm(NULL, x, w, b, want, rows, width, 1e-5f), 0);
    ck_assert_int_eq(gpt_kernels_cuda()->layer_norm(g_host, dx, dw, db, dy, rows, width, 1e-5f),
                     0);
    ck_assert_int_eq(g_host->ops->to_host(g_host, got, dy, n * sizeof *got), 0);
    check_close(got, want, n, width == 1 ? 1e-3f : 2e-5f, "layer_norm");
    if (!inplace) g_host->free(g_host, dy);
    g_host->free(g_host, db); g_host->free(g_host, dw); g_host->free(g_host, dx);
    free(x); free(w); free(b); free(want); free(got);
}
END_TEST

START_TEST(gelu_matches_host)
{
    unsigned seed = 1000u + (unsigned)_i;
    size_t n = 1 + (size_t)_i * 77777;
    float *x = rand_vec(n, 10.0f, 0.0f, &seed), *got = malloc(n * sizeof *got);
    float *dx = to_dev(x, n);
    ck_assert_int_eq(gpt_kernels_cuda()->gelu(g_host, dx, n), 0);
    ck_assert_int_eq(gpt_kernels_host()->gelu(NULL, x, n), 0);
    ck_assert_int_eq(g_host->ops->to_host(g_host, got, dx, n * sizeof *got), 0);
    check_close(got, x, n, 2e-6f, "gelu");
    g_host->free(g_host, dx);
    free(x); free(got);
}
END_TEST

START_TEST(add_positions_matches_host)
{
    unsigned seed = 1100u + (unsigned)_i;
    int width = 48 + _i * 100, n_ctx = 40, n = 1 + _i * 3, pos = n_ctx - n - _i;
    float *x = rand_vec((size_t)n * width, 1.0f, 0.0f, &seed);
    float *table = rand_vec((size_t)n_ctx * width, 1.0f, 0.0f, &seed);
    float *got = malloc((size_t)n * width * sizeof *got);
    float *dx = to_dev(x, (size_t)n * width), *dt = to_dev(table, (size_t)n_ctx * width);
    ck_assert_int_eq(gpt_kernels_cuda()->add_positions(g_host, dx, dt, n, pos, width), 0);
    ck_assert_int_eq(gpt_kernels_host()->add_positions(NULL, x, table, n, pos, width), 0);
    ck_assert_int_eq(g_host->ops->to_host(g_host, got, dx, (size_t)n * width * sizeof *got), 0);
    check_close(got, x, (size_t)n * width, 0.0f, "add_positions");
    g_host->free(g_host, dt); g_host->free(g_host, dx);
    free(x); free(table); free(got);
}
END_TEST

int main(int argc, char **argv)
{
    char cmd[2100], exe[2048], line[32] = "0";
    ssize_t len;
    FILE *p;
    Suite *s;
    TCase *tc;
    SRunner *sr;
    int failed;

    if (argc == 2 && strcmp(argv[1], "--count") == 0) {
        printf("%d\n", cuda_get_device_count());
        return 0;
    }
    if (gpt_kernels_cuda() == NULL) {
        fprintf(stderr, "built without CUDA: skipping\n");
        return 77;
    }
    /* count devices in a child so CUDA is never initialised before Check forks */
    len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return EXIT_FAILURE;
    exe[len] = '\0';
    snprintf(cmd, sizeof cmd, "'%s' --count", exe);
    p = popen(cmd, "r");
    if (!p || !fgets(line, sizeof line, p)) line[0] = '0';
    if (p) pclose(p);
    if (atoi(line) <= 0) {
        fprintf(stderr, "no CUDA device: skipping the gpt kernel tests\n");
        return 77;
    }
    s = suite_create("gpt_kernels");
    tc = tcase_create("cuda_vs_host");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, layer_norm_matches_host, 0, 14);
    tcase_add_loop_test(tc, gelu_matches_host, 0, 6);
    tcase_add_loop_test(tc, add_positions_matches_host, 0, 6);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
