/*
 * ffi_context.c - the context half of the public API: cuda_init / worker_init[_ex],
 * cuda_destroy, device count, health, process memory usage, worker_context_is_host.
 *
 * Every public function clears the thread's error detail at entry, is NULL-safe, reports
 * through *error_code (when given) and never aborts.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "config/config.h"
#include "core/wrk_api.h"
#include "core/wrk_context.h"
#include "core/wrk_error.h"
#include "core/wrk_log.h"
#include "core/wrk_vram.h"
#include "plugin/registry.h"

/* Parse a device string: "cuda" / "cuda:N" -> CUDA ordinal N, "host" -> the reference
 * backend. Returns 0 or CUDA_ERROR_INVALID_PARAMETER with the string named. */
static int parse_device(const char *s, int *backend, int *ordinal)
{
    if (!s) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "device string is NULL");
    if (strcmp(s, "host") == 0) {
        *backend = WP_BACKEND_HOST;
        *ordinal = -1;
        return 0;
    }
    if (strcmp(s, "cuda") == 0) {
        *backend = WP_BACKEND_CUDA;
        *ordinal = 0;
        return 0;
    }
    if (strncmp(s, "cuda:", 5) == 0 && s[5] >= '0' && s[5] <= '9') {
        long v = 0;
        const char *p = s + 5;
        for (; *p >= '0' && *p <= '9'; p++) {
            v = v * 10 + (*p - '0');
            if (v > INT_MAX) break;
        }
        if (*p == '\0' && v <= INT_MAX) {
            *backend = WP_BACKEND_CUDA;
            *ordinal = (int)v;
            return 0;
        }
    }
    return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                     "unknown device '%.64s': expected \"cuda:N\", \"cuda\" or \"host\"", s);
}

/* Open a context on backend/ordinal with the given plugin settings; NULL + code on failure.
 * The one place that builds a CudaContext, so every entry point unwinds the same way. */
static CudaContext *context_open(int backend, int ordinal, const wrk_plugin_settings *ps,
                                 int *code)
{
    CudaContext *ctx;
    int rc;

    if (backend == WP_BACKEND_CUDA && ordinal < 0) {
        *code = wrk_error(CUDA_ERROR_INVALID_DEVICE, "invalid device id %d: must be >= 0",
                          ordinal);
        return NULL;
    }
    ctx = calloc(1, sizeof *ctx);
    if (!ctx) {
        *code = wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "context: out of host memory");
        return NULL;
    }
    ctx->backend = backend;
    ctx->device = ordinal;
    rc = wrk_device_open(ctx, ordinal);
    if (rc) goto fail;
    if (backend == WP_BACKEND_HOST)
        wrk_log(WRK_LOG_WARN, "device", "opened the slow reference host backend (plain C, for "
                "tests and development; use cuda:N to serve)");

    ctx->acc = wrk_accountant_new(ctx->backend, ctx->device);
    if (!ctx->acc) {
        rc = CUDA_ERROR_OUT_OF_MEMORY;
        goto fail_device;
    }
    rc = wrk_plugins_open(ps, &ctx->plugins);
    if (rc) {
        wrk_error_prefix("opening the plugin registry: ");
        goto fail_acc;
    }
    *code = CUDA_SUCCESS;
    return ctx;

fail_acc:
    wrk_accountant_free(ctx->acc);
fail_device:
    wrk_device_close(ctx);
fail:
    free(ctx);
    *code = rc;
    return NULL;
}

WRK_API CudaContext *worker_init_ex(const WorkerInitOptions *options, int *error_code)
{
    wrk_config cfg;
    wrk_plugin_settings ps;
    char err[512];
    char *path = NULL;
    const char *device;
    CudaContext *ctx;
    int backend = WP_BACKEND_CUDA, ordinal = 0, code;

    wrk_error_clear();
    if (!options) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                           "worker_init_ex: options is NULL"));
        return NULL;
    }
    if (options->struct_size < sizeof(WorkerInitOptions)) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                     "worker_init_ex: options.struct_size %u < %zu (set it to sizeof)",
                     options->struct_size, sizeof(WorkerInitOptions)));
        return NULL;
    }
    wrk_config_defaults(&cfg);
    if (options->config_path) {
        err[0] = '\0';
        code = wrk_config_load(options->config_path, &cfg, err, sizeof err);
        if (code) {
            /* err already reads "file:line: message" */
            wrk_set_code(error_code, wrk_error(code, "reading the configuration: %s",
                                               err[0] ? err : options->config_path));
            return NULL;
        }
    }
    /* options override the file */
    device = options->device ? options->device : cfg.device[0] ? cfg.device : "cuda:0";
    code = parse_device(device, &backend, &ordinal);
    if (code) {
        wrk_set_code(error_code, code);
        return NULL;
    }

    memset(&ps, 0, sizeof ps);
    if (options->plugin_path && cfg.plugin_path[0]) {
        size_t n = strlen(options->plugin_path) + strlen(cfg.plugin_path) + 2;
        path = malloc(n);
        if (!path) {
            wrk_set_code(error_code, wrk_error(CUDA_ERROR_OUT_OF_MEMORY,
                                               "worker_init_ex: out of host memory"));
            return NULL;
        }
        snprintf(path, n, "%s:%s", options->plugin_path, cfg.plugin_path);
        ps.path = path;
    } else if (options->plugin_path) {
        ps.path = options->plugin_path;
    } else if (cfg.plugin_path[0]) {
        ps.path = cfg.plugin_path;
    }
    ps.prefer = cfg.plugin_prefer[0] ? cfg.plugin_prefer : NULL;
    ps.disable = cfg.plugin_disable[0] ? cfg.plugin_disable : NULL;

    ctx = context_open(backend, ordinal, &ps, &code);
    free(path);
    wrk_set_code(error_code, code);
    return ctx;
}

WRK_API CudaContext *worker_init(const char *device, int *error_code)
{
    WorkerInitOptions o;
    wrk_error_clear();
    if (!device) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                           "worker_init: device is NULL"));
        return NULL;
    }
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.device = device;
    return worker_init_ex(&o, error_code);
}

WRK_API CudaContext *cuda_init(int gpu_device, int *error_code)
{
    char dev[32];
    wrk_error_clear();
    if (gpu_device < 0) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_DEVICE,
                                           "invalid device id %d: must be >= 0", gpu_device));
        return NULL;
    }
    snprintf(dev, sizeof dev, "cuda:%d", gpu_device);
    return worker_init(dev, error_code);
}

WRK_API void cuda_destroy(CudaContext *ctx)
{
    wrk_error_clear();
    if (!ctx) return;
    if (ctx->model) {
        cuda_unload_model(ctx->model);
        ctx->model = NULL;
    }
    wrk_plugins_close(ctx->plugins);
    ctx->plugins = NULL;
    wrk_accountant_free(ctx->acc);   /* logs and frees anything still allocated */
    ctx->acc = NULL;
    wrk_device_close(ctx);
    free(ctx);
}

WRK_API int cuda_get_device_count(void)
{
    wrk_error_clear();
    return wrk_device_count();
}

WRK_API bool cuda_check_device_health(CudaContext *ctx, int *error_code)
{
    int rc;
    wrk_error_clear();
    if (!ctx) {
        wrk_set_code(error_code, wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                           "device health: context is NULL"));
        return false;
    }
    rc = wrk_device_health(ctx);
    wrk_set_code(error_code, rc);
    return rc == CUDA_SUCCESS;
}

WRK_API uint64_t cuda_get_process_vram_usage(CudaContext *ctx)
{
    wrk_error_clear();
    if (!ctx) return 0;
    return wrk_vram_total(ctx->acc);
}

WRK_API int worker_context_is_host(const CudaContext *ctx)
{
    wrk_error_clear();
    if (!ctx) return -1;
    return ctx->backend == WP_BACKEND_HOST ? 1 : 0;
}

WRK_API int worker_device_info(const CudaContext *ctx, WorkerDeviceInfo *info)
{
    wrk_error_clear();
    if (!ctx || !info)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "device info: %s is NULL",
                         ctx ? "info" : "context");
    if (info->struct_size < sizeof(WorkerDeviceInfo))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "device info: struct_size %u < %zu (set it to sizeof)",
                         info->struct_size, sizeof(WorkerDeviceInfo));
    /* fill only the members of this version; a newer caller's tail stays untouched */
    info->is_host = ctx->backend == WP_BACKEND_HOST;
    info->device = info->is_host ? -1 : ctx->device;
    info->name = ctx->device_name;
    info->sm_major = ctx->sm_major;
    info->sm_minor = ctx->sm_minor;
    info->cuda_runtime_version = ctx->cuda_runtime_version;
    return CUDA_SUCCESS;
}
