/*
 * job_spare.c - a finished job's KV cache and logits buffer kept for the next job (see
 * job_spare.h for why and when).
 */
#include <stdlib.h>
#include <string.h>

#include "core/wrk_env.h"
#include "plugin/registry.h"
#include "session/job_spare.h"

/* Read once per process: WORKER_KV_REUSE=0 turns reuse off. */
static int reuse_on(void)
{
    static volatile int state = -1;
    return wrk_env_on_once("WORKER_KV_REUSE", &state);
}

static void kv_drop(CudaModel *m)
{
    if (m->spare.kv)
        m->plugin->kv_free(m->plugin_model, m->spare.kv);
    m->spare.kv = NULL;
    m->spare.kv_n_ctx = 0;
}

int wrk_spare_kv_take(CudaModel *m, uint32_t n_ctx, void **kv, uint32_t *kv_n_ctx)
{
    *kv = NULL;
    *kv_n_ctx = n_ctx;
    if (m->spare.kv && m->spare.kv_n_ctx >= n_ctx) {
        *kv = m->spare.kv;
        *kv_n_ctx = m->spare.kv_n_ctx;
        m->spare.kv = NULL;
        m->spare.kv_n_ctx = 0;
        if (m->plugin->kv_reset(m->plugin_model, *kv) == 0)
            return 0;
        /* the plugin could not reset it: a fresh one instead (the detail is replaced) */
        m->plugin->kv_free(m->plugin_model, *kv);
        *kv = NULL;
        *kv_n_ctx = n_ctx;
    }
    kv_drop(m);
    int rc = m->plugin->kv_create(m->plugin_model, n_ctx, kv);
    if (rc)
        *kv = NULL;
    return rc;
}

void wrk_spare_kv_give(CudaModel *m, void *kv, uint32_t n_ctx)
{
    if (!kv)
        return;
    if (!reuse_on() || !WRK_PLUGIN_HAS(m->plugin, kv_reset) ||
        (m->spare.kv && m->spare.kv_n_ctx >= n_ctx)) {
        m->plugin->kv_free(m->plugin_model, kv);
        return;
    }
    kv_drop(m);
    m->spare.kv = kv;
    m->spare.kv_n_ctx = n_ctx;
}

float *wrk_spare_logits_take(CudaModel *m, size_t bytes, int *pinned)
{
    if (m->spare.logits && m->spare.logits_bytes == bytes) {
        float *p = m->spare.logits;
        *pinned = m->spare.logits_pinned;
        m->spare.logits = NULL;
        return p;
    }
    return wrk_host_buffer_alloc(m->ctx, bytes, pinned);
}

void wrk_spare_logits_give(CudaModel *m, float *logits, size_t bytes, int pinned)
{
    if (!logits)
        return;
    if (!reuse_on() || m->spare.logits) {
        wrk_host_buffer_free(logits, pinned);
        return;
    }
    m->spare.logits = logits;
    m->spare.logits_bytes = bytes;
    m->spare.logits_pinned = pinned;
}

void wrk_spare_release(CudaModel *m)
{
    if (m->plugin && m->plugin_model)
        kv_drop(m);
    if (m->spare.logits)
        wrk_host_buffer_free(m->spare.logits, m->spare.logits_pinned);
    memset(&m->spare, 0, sizeof m->spare);
}
