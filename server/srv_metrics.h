/*
 * srv_metrics.h - counters and histograms for GET /metrics (Prometheus text format 0.0.4).
 * Names follow the worker HTTP spec: worker_vram_bytes, worker_requests_total{outcome},
 * worker_tokens_generated_total, worker_inference_duration_ms (histogram),
 * worker_uptime_seconds; ours: worker_time_to_first_token_ms and worker_token_latency_ms
 * (histograms), worker_queue_depth, worker_jobs_active. Thread-safe.
 */
#ifndef SRV_METRICS_H
#define SRV_METRICS_H

#include <stdint.h>

/** Outcomes of worker_requests_total (one per finished job or refused generation request). */
typedef enum {
    SRV_OUT_SUCCESS, SRV_OUT_CANCELLED, SRV_OUT_TIMEOUT, SRV_OUT_VRAM_OOM, SRV_OUT_ERROR,
    SRV_OUT_INVALID, SRV_OUT_BUSY, SRV_OUT__COUNT
} srv_outcome;

void srv_metrics_init(void);
/** Label value of an outcome ("success", "cancelled", ...). */
const char *srv_outcome_name(srv_outcome o);
void srv_metrics_outcome(srv_outcome o);
void srv_metrics_tokens(uint64_t n);
void srv_metrics_inference_ms(double ms);
void srv_metrics_ttft_ms(double ms);
void srv_metrics_token_ms(double ms);
/** Gauges the inference thread publishes (it alone may call the FFI). */
void srv_metrics_set_vram(uint64_t bytes);
uint64_t srv_metrics_vram(void);
void srv_metrics_set_queue(int queued, int active);

/** Seconds since srv_metrics_init. */
double srv_metrics_uptime_s(void);

/** Render the exposition text. malloc'd; caller frees. */
char *srv_metrics_render(void);

#endif
