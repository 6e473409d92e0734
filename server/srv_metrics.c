/*
 * srv_metrics.c - Prometheus counters and histograms (see srv_metrics.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_log.h"
#include "srv_metrics.h"

#define NBUCKETS 12

typedef struct histogram {
    const char *name;
    const char *help;
    double bounds[NBUCKETS];
    uint64_t counts[NBUCKETS];  /* non-cumulative; summed when rendered */
    uint64_t inf;
    double sum;
    uint64_t n;
} histogram;

static pthread_mutex_t m_lock = PTHREAD_MUTEX_INITIALIZER;
static double start_ms;
static uint64_t outcomes[SRV_OUT__COUNT];
static uint64_t tokens_total;
static uint64_t vram_bytes;
static int queue_depth, jobs_active;

static histogram h_inference = {
    "worker_inference_duration_ms", "Wall time of a job from start to its terminal event",
    {10, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000}, {0}, 0, 0, 0};
static histogram h_ttft = {
    "worker_time_to_first_token_ms", "Time from job start (prefill included) to its first token",
    {1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000}, {0}, 0, 0, 0};
static histogram h_token = {
    "worker_token_latency_ms", "Time per generated token after the first",
    {0.1, 0.5, 1, 2, 5, 10, 20, 50, 100, 250, 500, 1000}, {0}, 0, 0, 0};

static const char *const outcome_names[SRV_OUT__COUNT] = {
    "success", "cancelled", "timeout", "vram_oom", "error", "invalid", "busy"};

const char *srv_outcome_name(srv_outcome o)
{
    return (unsigned)o < SRV_OUT__COUNT ? outcome_names[o] : "error";
}

void srv_metrics_init(void)
{
    start_ms = srv_now_ms();
}

double srv_metrics_uptime_s(void)
{
    return (srv_now_ms() - start_ms) / 1000.0;
}

void srv_metrics_outcome(srv_outcome o)
{
    if ((unsigned)o >= SRV_OUT__COUNT) return;
    pthread_mutex_lock(&m_lock);
    outcomes[o]++;
    pthread_mutex_unlock(&m_lock);
}

void srv_metrics_tokens(uint64_t n)
{
    pthread_mutex_lock(&m_lock);
    tokens_total += n;
    pthread_mutex_unlock(&m_lock);
}

static void observe(histogram *h, double v)
{
    pthread_mutex_lock(&m_lock);
    int b = 0;
    while (b < NBUCKETS && v > h->bounds[b]) b++;
    if (b < NBUCKETS) h->counts[b]++;
    else h->inf++;
    h->sum += v;
    h->n++;
    pthread_mutex_unlock(&m_lock);
}

void srv_metrics_inference_ms(double ms) { observe(&h_inference, ms); }
void srv_metrics_ttft_ms(double ms) { observe(&h_ttft, ms); }
void srv_metrics_token_ms(double ms) { observe(&h_token, ms); }

void srv_metrics_set_vram(uint64_t bytes)
{
    pthread_mutex_lock(&m_lock);
    vram_bytes = bytes;
    pthread_mutex_unlock(&m_lock);
}

uint64_t srv_metrics_vram(void)
{
    pthread_mutex_lock(&m_lock);
    uint64_t v = vram_bytes;
    pthread_mutex_unlock(&m_lock);
    return v;
}

void srv_metrics_set_queue(int queued, int active)
{
    pthread_mutex_lock(&m_lock);
    queue_depth = queued;
    jobs_active = active;
    pthread_mutex_unlock(&m_lock);
}

static void render_histogram(FILE *f, const histogram *h)
{
    uint64_t cum = 0;
    fprintf(f, "# HELP %s %s\n# TYPE %s histogram\n", h->name, h->help, h->name);
    for (int b = 0; b < NBUCKETS; b++) {
        cum += h->counts[b];
        fprintf(f, "%s_bucket{le=\"%g\"} %llu\n", h->name, h->bounds[b], (unsigned long long)cum);
    }
    fprintf(f, "%s_bucket{le=\"+Inf\"} %llu\n", h->name, (unsigned long long)(cum + h->inf));
    fprintf(f, "%s_sum %.3f\n%s_count %llu\n", h->name, h->sum, h->name,
            (unsigned long long)h->n);
}

char *srv_metrics_render(void)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (!f) return NULL;
    pthread_mutex_lock(&m_lock);
    fprintf(f, "# HELP worker_vram_bytes VRAM bytes held by this worker (weights, KV cache, "
            "scratch)\n# TYPE worker_vram_bytes gauge\nworker_vram_bytes %llu\n",
            (unsigned long long)vram_bytes);
    fprintf(f, "# HELP worker_requests_total Generation requests by outcome\n"
            "# TYPE worker_requests_total counter\n");
    for (int o = 0; o < SRV_OUT__COUNT; o++)
        fprintf(f, "worker_requests_total{outcome=\"%s\"} %llu\n", outcome_names[o],
                (unsigned long long)outcomes[o]);
    fprintf(f, "# HELP worker_tokens_generated_total Tokens generated\n"
            "# TYPE worker_tokens_generated_total counter\nworker_tokens_generated_total %llu\n",
            (unsigned long long)tokens_total);
    render_histogram(f, &h_inference);
    render_histogram(f, &h_ttft);
    render_histogram(f, &h_token);
    fprintf(f, "# HELP worker_queue_depth Jobs waiting for the inference thread\n"
            "# TYPE worker_queue_depth gauge\nworker_queue_depth %d\n", queue_depth);
    fprintf(f, "# HELP worker_jobs_active Jobs being generated (0 or 1)\n"
            "# TYPE worker_jobs_active gauge\nworker_jobs_active %d\n", jobs_active);
    pthread_mutex_unlock(&m_lock);
    fprintf(f, "# HELP worker_uptime_seconds Seconds since start\n"
            "# TYPE worker_uptime_seconds gauge\nworker_uptime_seconds %.3f\n",
            srv_metrics_uptime_s());
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}
