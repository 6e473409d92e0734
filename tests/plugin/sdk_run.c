/*
 * sdk_run.c - drive an out-of-tree plugin through the public API only (libworker.so):
 *   sdk_run CONFIG.ini MODEL.gguf ARCH PLUGIN
 * opens a host-backend context with the ini file (whose [plugins] path names the plugin's
 * directory), loads the model, checks which plugin serves it, and generates a few tokens
 * greedily, twice, requiring the same text both times. Exit 0 on success.
 */
#include <stdio.h>
#include <string.h>

#include "worker_ffi.h"
#include "worker_ext.h"

static int fail(const char *what, int ec)
{
    fprintf(stderr, "sdk_run: %s: %s (%d): %s\n", what, cuda_error_message(ec), ec,
            worker_last_error_detail());
    return 1;
}

/* Generate up to 6 tokens greedily from prompt into text; returns tokens or -1. */
static int generate(CudaModel *m, const char *prompt, char *text, size_t cap)
{
    InferenceResult *r;
    char piece[64];
    int ec = 0, idx = -1, n = 0;
    size_t used = 0;

    text[0] = '\0';
    if (!(r = cuda_inference_start(m, prompt, 6, 0.0f, 42, &ec))) return fail("start", ec), -1;
    while (cuda_inference_next_token(r, piece, sizeof piece, &idx, &ec)) {
        used += (size_t)snprintf(text + used, cap - used, "%s", piece);
        n++;
    }
    if (ec != 0) {
        cuda_inference_free(r);
        return fail("next_token", ec), -1;
    }
    if (n == 0 && worker_inference_stop_reason(r) != WORKER_STOP_EOS) {
        fprintf(stderr, "sdk_run: no token and no EOS\n");
        n = -1;
    }
    cuda_inference_free(r);
    return n;
}

int main(int argc, char **argv)
{
    WorkerInitOptions opt;
    WorkerModelInfo info;
    CudaContext *ctx;
    CudaModel *m;
    uint64_t bytes = 0;
    char a[512], b[512];
    int ec = 0, n1, n2;

    if (argc != 5) {
        fprintf(stderr, "usage: %s CONFIG MODEL ARCH PLUGIN\n", argv[0]);
        return 2;
    }
    memset(&opt, 0, sizeof opt);
    opt.struct_size = sizeof opt;
    opt.device = "host";
    opt.config_path = argv[1];
    if (!(ctx = worker_init_ex(&opt, &ec))) return fail("worker_init_ex", ec);
    if (!(m = cuda_load_model(ctx, argv[2], &bytes, &ec))) {
        fail("cuda_load_model", ec);
        cuda_destroy(ctx);
        return 1;
    }
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    if ((ec = worker_model_info(m, &info)) != 0 || strcmp(info.architecture, argv[3]) != 0 ||
        strcmp(info.plugin, argv[4]) != 0 || bytes == 0) {
        fprintf(stderr, "sdk_run: model info: arch %s plugin %s bytes %llu\n",
                info.architecture ? info.architecture : "?", info.plugin ? info.plugin : "?",
                (unsigned long long)bytes);
        cuda_destroy(ctx);
        return 1;
    }
    printf("loaded %s through plugin %s %s: %llu bytes\n", info.name, info.plugin,
           info.plugin_version, (unsigned long long)bytes);
    n1 = generate(m, "ab", a, sizeof a);
    n2 = generate(m, "ab", b, sizeof b);
    cuda_unload_model(m);
    cuda_destroy(ctx);
    if (n1 < 0 || n2 < 0) return 1;
    if (n1 != n2 || strcmp(a, b) != 0) {
        fprintf(stderr, "sdk_run: greedy runs differ: '%s' vs '%s'\n", a, b);
        return 1;
    }
    printf("generated %d tokens: '%s'\n", n1, a);
    return 0;
}
