/*
 * main.c - worker-orcd: load one model and serve it over HTTP (see server/README.md).
 *
 * Start-up order (M0-W-1110): context -> model -> inference thread -> HTTP server -> one
 * ready line (-> optional orchestrator callback). Any failure logs code, message, detail,
 * GPU id and model path, frees what was taken and exits 1. SIGTERM, SIGINT and
 * POST /shutdown stop gracefully: refuse new requests (503), cancel the active and queued
 * jobs, free VRAM, exit 0.
 */
#include <errno.h>
#include <limits.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "worker_ext.h"
#include "srv_callback.h"
#include "srv_engine.h"
#include "srv_http.h"
#include "srv_log.h"
#include "srv_metrics.h"
#include "srv_opts.h"

static sem_t shutdown_sem;

/* Async-signal-safe: only sem_post. */
static void on_signal(int sig)
{
    (void)sig;
    sem_post(&shutdown_sem);
}

static void request_shutdown(void)
{
    sem_post(&shutdown_sem);
}

static int gpu_of(const char *device)
{
    if (strcmp(device, "cuda") == 0) return 0;
    return strncmp(device, "cuda:", 5) == 0 ? atoi(device + 5) : -1;
}

/* The start-up failure record the spec asks for: code, message, detail, GPU id, model. */
static void startup_failed(const srv_opts *o, const char *stage, int code, const char *detail)
{
    srv_log_event(SRV_LOG_ERROR, "startup_failed",
                  json_pack("{s:s, s:i, s:s, s:s, s:s, s:i, s:s}", "stage", stage, "code", code,
                            "message", cuda_error_message(code), "detail", detail ? detail : "",
                            "device", o->cfg.device, "gpu", gpu_of(o->cfg.device), "model",
                            o->cfg.model_path));
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    /* a client closing its socket mid-write must not kill the process */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL);
}

static void fill_device_facts(srv_server *srv, CudaContext *ctx, const char *device)
{
    srv->is_host = worker_context_is_host(ctx) == 1;
    srv->gpu = srv->is_host ? -1 : gpu_of(device);
    srv->sm_major = srv->sm_minor = -1;
    srv->cuda_runtime_version = 0;
    if (!srv->is_host) {
        WorkerDeviceInfo di;
        memset(&di, 0, sizeof di);
        di.struct_size = sizeof di;
        if (worker_device_info(ctx, &di) == 0) {
            srv->sm_major = di.sm_major;
            srv->sm_minor = di.sm_minor;
            srv->cuda_runtime_version = di.cuda_runtime_version;
        }
    }
}

/* The orchestrator's callback: {worker_id, vram_bytes, uri}. */
static int send_callback(const srv_opts *o, const srv_server *srv, uint64_t vram)
{
    char host[256], uri[400], msg[512];
    const char *h = srv->host;
    json_t *body;
    char *text;
    int rc;

    if (strcmp(h, "0.0.0.0") == 0 || strcmp(h, "::") == 0 || !*h) {
        if (gethostname(host, sizeof host) == 0) {
            host[sizeof host - 1] = '\0';
            h = host;
        }
    }
    snprintf(uri, sizeof uri, strchr(h, ':') ? "http://[%s]:%u" : "http://%s:%u", h, srv->port);
    body = json_pack("{s:s, s:I, s:s}", "worker_id", o->cfg.worker_id, "vram_bytes",
                     (json_int_t)vram, "uri", uri);
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) return -1;
    rc = srv_http_post(o->callback_url, text, 10, msg, sizeof msg);
    free(text);
    if (rc != 0) {
        srv_log_event(SRV_LOG_ERROR, "callback_failed",
                      json_pack("{s:s, s:s}", "url", o->callback_url, "msg", msg));
        return -1;
    }
    srv_log_event(SRV_LOG_INFO, "callback_sent",
                  json_pack("{s:s, s:s}", "url", o->callback_url, "uri", uri));
    return 0;
}

int main(int argc, char **argv)
{
    static srv_server srv;
    srv_opts o;
    WorkerInitOptions io;
    CudaContext *ctx = NULL;
    CudaModel *model = NULL;
    srv_engine_config ec;
    char model_path[PATH_MAX], msg[512];
    uint64_t vram = 0;
    int err = 0, rc, exit_code = 1;
    double t0;

    rc = srv_opts_parse(argc, argv, &o);
    if (rc != SRV_OPTS_RUN) return rc == SRV_OPTS_EXIT_OK ? 0 : 1;
    srv_log_setup(o.cfg.log_json, o.cfg.log_level);
    srv_metrics_init();
    sem_init(&shutdown_sem, 0, 0);
    install_signals();
    t0 = srv_now_ms();
    srv_log_event(SRV_LOG_INFO, "starting",
                  json_pack("{s:s, s:s, s:s, s:s}", "version", worker_version_string(),
                            "device", o.cfg.device, "model", o.cfg.model_path, "config",
                            o.config_path));
    if (o.kv_cache_given)
        srv_log_event(SRV_LOG_INFO, "option_ignored",
                      json_pack("{s:s, s:i, s:s}", "option", "--kv-cache-size-mb", "value",
                                (int)o.kv_cache_mb, "why", "the runtime sizes the KV cache per "
                                "job from the prompt and max_tokens"));

    /* 1. context */
    if (strncmp(o.cfg.device, "cuda", 4) == 0 && cuda_get_device_count() == 0) {
        startup_failed(&o, "context", CUDA_ERROR_DEVICE_NOT_FOUND,
                       "no CUDA device (or no driver) on this machine; run with --device host "
                       "to use the reference CPU backend (slow, for tests)");
        goto out;
    }
    memset(&io, 0, sizeof io);
    io.struct_size = sizeof io;
    io.device = o.cfg.device;
    io.config_path = o.config_path[0] ? o.config_path : NULL;
    io.plugin_path = o.cfg.plugin_path[0] ? o.cfg.plugin_path : NULL;
    ctx = worker_init_ex(&io, &err);
    if (!ctx) {
        startup_failed(&o, "context", err, worker_last_error_detail());
        goto out;
    }
    fill_device_facts(&srv, ctx, o.cfg.device);

    /* 2. model (the FFI wants an absolute path) */
    if (!realpath(o.cfg.model_path, model_path))
        snprintf(model_path, sizeof model_path, "%s", o.cfg.model_path);
    model = cuda_load_model(ctx, model_path, &vram, &err);
    if (!model) {
        startup_failed(&o, "model", err, worker_last_error_detail());
        goto out;
    }
    memset(&srv.info, 0, sizeof srv.info);
    srv.info.struct_size = sizeof srv.info;
    if (worker_model_info(model, &srv.info) != 0) {
        startup_failed(&o, "model", CUDA_ERROR_MODEL_LOAD_FAILED, worker_last_error_detail());
        goto out;
    }

    /* 3. inference thread */
    memset(&ec, 0, sizeof ec);
    ec.queue_size = o.cfg.queue_size;
    ec.inference_timeout_s = o.cfg.inference_timeout_s;
    ec.health_interval_s = o.cfg.health_check_interval_s;
    {
        /* test hook: a slow device, so cancel/disconnect/queue tests can catch a job
         * mid-stream on a tiny model; logged loudly, never on by default */
        const char *d = getenv("WORKER_ORCD_DEBUG_TOKEN_DELAY_MS");
        if (d && *d) {
            ec.debug_token_delay_ms = (unsigned)strtoul(d, NULL, 10);
            if (ec.debug_token_delay_ms > 1000) ec.debug_token_delay_ms = 1000;
            srv_log_event(SRV_LOG_WARN, "debug_token_delay",
                          json_pack("{s:i}", "ms", (int)ec.debug_token_delay_ms));
        }
    }
    srv_metrics_set_vram(cuda_get_process_vram_usage(ctx));
    srv.engine = srv_engine_start(ctx, model, &ec);
    if (!srv.engine) {
        startup_failed(&o, "engine", CUDA_ERROR_UNKNOWN, "cannot start the inference thread");
        goto out;
    }

    /* 4. HTTP */
    srv.limits.max_tokens = o.cfg.max_tokens ? o.cfg.max_tokens : 2048;
    srv.limits.vocab_size = srv.info.vocab_size;
    srv.max_body = o.cfg.max_body_bytes;
    srv.max_depth = o.cfg.max_json_depth ? o.cfg.max_json_depth : 32;
    srv.inference_timeout_s = o.cfg.inference_timeout_s;
    snprintf(srv.host, sizeof srv.host, "%s", o.cfg.server_host);
    srv.port = o.cfg.server_port;
    srv.request_shutdown = request_shutdown;
    if (srv_http_start(&srv, o.cfg.max_connections, o.cfg.connection_timeout_s, msg,
                       sizeof msg) != 0) {
        startup_failed(&o, "http", CUDA_ERROR_UNKNOWN, msg);
        goto out;
    }

    /* 5. the one ready line */
    {
        char listen[300];
        snprintf(listen, sizeof listen, strchr(srv.host, ':') ? "http://[%s]:%u"
                                                              : "http://%s:%u", srv.host,
                 srv.port);
        srv_log_event(SRV_LOG_INFO, "ready",
                      json_pack("{s:s, s:s, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:f}",
                                "model", srv.info.name ? srv.info.name : "",
                                "architecture", srv.info.architecture ? srv.info.architecture
                                                                      : "",
                                "plugin", srv.info.plugin ? srv.info.plugin : "",
                                "quant_kind", srv.info.quant_kind ? srv.info.quant_kind : "",
                                "device", srv.is_host ? "host" : o.cfg.device,
                                "vram_bytes", (json_int_t)vram,
                                "listen", listen,
                                "model_path", model_path,
                                "worker_id", o.cfg.worker_id,
                                "startup_ms", srv_now_ms() - t0));
    }
    if (o.callback_url[0] && send_callback(&o, &srv, vram) != 0) {
        /* the orchestrator would never learn of us: holding the GPU would be a leak */
        startup_failed(&o, "callback", CUDA_ERROR_UNKNOWN, "ready callback failed");
        goto out;
    }

    while (sem_wait(&shutdown_sem) != 0 && errno == EINTR) {}
    srv_log_event(SRV_LOG_INFO, "shutting_down", NULL);
    exit_code = 0;

out:
    /* reverse order of acquisition */
    atomic_store(&srv.shutting_down, 1);
    srv_http_quiesce(&srv);
    srv_engine_stop(srv.engine);     /* active and queued jobs end with CANCELLED */
    srv_http_drain(&srv, 5000);      /* let their streams deliver the terminal events */
    srv_http_stop(&srv);             /* joins the connection threads */
    srv_engine_free(srv.engine);
    cuda_unload_model(model);
    cuda_destroy(ctx);
    if (exit_code == 0)
        srv_log_event(SRV_LOG_INFO, "stopped",
                      json_pack("{s:f}", "uptime_seconds", srv_metrics_uptime_s()));
    sem_destroy(&shutdown_sem);
    return exit_code;
}
