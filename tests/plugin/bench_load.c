/*
 * bench_load.c - model load speed (issue 3 item 6). A benchmark, not a test: not in TESTS.
 *
 *   tests/plugin/bench_load [MiB [device]]      (default 2048 MiB, cuda:0)
 *
 * Writes a toy GGUF whose one F16 tensor takes about MiB (random bits), loads it once to
 * warm the page cache, then loads it three more times through the toy plugin
 * (tests/plugin/good) and prints the best rate in GB/s. Target on the H100: >= 2 GB/s.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "worker_ffi.h"
#include "worker_ext.h"
#include "core/wrk_context.h"
#include "gguf/gguf_writer.h"
#include "plugin/registry.h"
#include "plugin_test_util.h"
#include "toy_fixture.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A toy model of vocab V with an F16 [V, V] embedding of random half floats (finite). */
static int write_model(const char *path, uint32_t v)
{
    static const char *const toks[] = {"<unk>", "<s>", "</s>", "a"};
    gguf_writer *w = gguf_writer_new();
    uint64_t ne[2] = {v, v}, n = (uint64_t)v * v;
    uint16_t *data = malloc(n * sizeof *data);
    uint32_t s = (uint32_t)time(NULL) | 1;
    int rc = 0;

    if (!w || !data) return 1;
    for (uint64_t i = 0; i < n; i++) {
        s ^= s << 13; s ^= s >> 17; s ^= s << 5;
        data[i] = (uint16_t)(s & 0xbbff);   /* exponent < 31: never inf/nan */
    }
    rc |= gguf_writer_set_str(w, "general.architecture", "toy");
    rc |= gguf_writer_set_u32(w, "toy.vocab_size", v);
    rc |= gguf_writer_set_str(w, "tokenizer.ggml.model", "llama");
    rc |= gguf_writer_set_arr_str(w, "tokenizer.ggml.tokens", toks, NULL, 4);
    rc |= gguf_writer_add_tensor(w, "toy.embd", WP_DTYPE_F16, 2, ne, data);
    free(data);
    if (!rc) rc = gguf_writer_write(w, path);
    gguf_writer_free(w);
    return rc;
}

int main(int argc, char **argv)
{
    unsigned long mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 2048;
    const char *device = argc > 2 ? argv[2] : "cuda:0";
    uint32_t v = (uint32_t)sqrt((double)mib * 1048576.0 / 2.0) / 32 * 32;
    char dir[256], path[512], mdir[512];
    wrk_plugin_settings s = {ptu_module_dir("good", mdir, sizeof mdir), NULL, NULL, 1};
    CudaContext *ctx;
    double best = 0;
    int ec = 0;

    if (strncmp(device, "cuda", 4) == 0 && cuda_get_device_count() == 0) {
        printf("SKIP: no CUDA device\n");
        return 77;
    }
    if (v < 32 || !ptu_mkdtemp(dir, sizeof dir)) return 1;
    snprintf(path, sizeof path, "%s/bench.gguf", dir);
    if (write_model(path, v) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, worker_last_error_detail());
        return 1;
    }
    if (!(ctx = worker_init(device, &ec))) {
        fprintf(stderr, "worker_init(%s): %s\n", device, worker_last_error_detail());
        return 1;
    }
    wrk_plugins_close(ctx->plugins);
    ctx->plugins = NULL;
    if (wrk_plugins_open(&s, &ctx->plugins) != 0) return 1;
    for (int i = 0; i < 4; i++) {
        uint64_t bytes = 0;
        double t0 = now(), dt;
        CudaModel *m = cuda_load_model(ctx, path, &bytes, &ec);
        dt = now() - t0;
        if (!m) {
            fprintf(stderr, "load: %s\n", worker_last_error_detail());
            break;
        }
        cuda_unload_model(m);
        printf("%s load %d: %.3f GB in %.3f s = %.2f GB/s\n", i ? "timed" : "warm-up", i,
               (double)bytes / 1e9, dt, (double)bytes / 1e9 / dt);
        if (i && (double)bytes / 1e9 / dt > best) best = (double)bytes / 1e9 / dt;
    }
    printf("best: %.2f GB/s (%s, %u x %u F16)\n", best, device, v, v);
    cuda_destroy(ctx);
    ptu_rmdir(dir);
    return best > 0 ? 0 : 1;
}
