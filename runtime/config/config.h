/*
 * config.h - worker-orcd.ini (parsed with inih). Documented in docs/worker-orcd.ini.
 *
 * Sections and keys:
 *   [runtime]  device = cuda:0 | host
 *   [model]    path = /path/to/model.gguf ; context_length = 0 (0: the model's)
 *   [plugins]  path = dir:dir ; prefer = arch=plugin,... ; disable = plugin,...
 *   [server]   host = 127.0.0.1 ; port = 8080 ; queue_size = 8 ; max_body_bytes = 1048576 ;
 *              connection_timeout_s = 30 ; max_connections = 64 ; worker_id =
 *   [limits]   max_tokens = 2048 ; inference_timeout_s = 300 ; max_json_depth = 32 ;
 *              health_check_interval_s = 60
 *   [logging]  format = text | json ; level = error|warn|info|debug
 * Unknown sections or keys and bad values are errors naming file:line. Self-contained
 * (no other runtime dependency) so the server can compile it too.
 */
#ifndef WRK_CONFIG_H
#define WRK_CONFIG_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define WRK_CONFIG_STR 4096

typedef struct wrk_config {
    char device[64];
    char model_path[WRK_CONFIG_STR];
    unsigned context_length;
    char plugin_path[WRK_CONFIG_STR];
    char plugin_prefer[WRK_CONFIG_STR];
    char plugin_disable[WRK_CONFIG_STR];
    char server_host[256];
    unsigned server_port;
    unsigned queue_size;
    unsigned long max_body_bytes;
    unsigned connection_timeout_s;
    unsigned max_connections;
    char worker_id[256];
    unsigned max_tokens;
    unsigned inference_timeout_s;
    unsigned max_json_depth;
    unsigned health_check_interval_s;
    int log_json;
    int log_level;   /* enum wrk_log_level */
} wrk_config;

void wrk_config_defaults(wrk_config *cfg);
/** Parse path over cfg's current values. 0, or CUDA_ERROR_INVALID_PARAMETER with
 *  "file:line: message" in err (also for a missing/unreadable file). */
int wrk_config_load(const char *path, wrk_config *cfg, char *err, size_t err_len);
/** Set one key as the file would (same validation), e.g. for a command-line flag that
 *  overrides the file: wrk_config_set(cfg, "server", "port", "9000", err, n). 0, or
 *  CUDA_ERROR_INVALID_PARAMETER with "[section] key = 'value': message" in err; cfg is
 *  unchanged on error. (Addition by engineer C.) */
int wrk_config_set(wrk_config *cfg, const char *section, const char *key, const char *value,
                   char *err, size_t err_len);

#ifdef __cplusplus
}
#endif
#endif
