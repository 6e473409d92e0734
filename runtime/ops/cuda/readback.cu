/*
 * readback.cu - wp_ops.readback_start/readback_finish of the CUDA set (ABI 1.3): a small copy
 * to the host that is waited for on its own, so that the host can queue more work (the next
 * decode step) before it waits for the bytes (to_host waits for the whole stream).
 *
 * Each handle is a slot of a pool the runtime keeps for the process: WP_READBACK_MAX_BYTES of
 * page-locked host memory, so that the device-to-host copy is asynchronous (into pageable
 * memory cudaMemcpyAsync may wait for the stream), and an event recorded right after the
 * copy, so that finish waits for the copy and not for what was queued behind it. Slots are
 * made lazily, RB_CHUNK at a time (one cudaMallocHost and RB_CHUNK events), and reused; a
 * pipelined decode keeps at most WP_GREEDY_QUEUE_MAX handles per cache, so one chunk is all
 * a worker makes. wrk_ops_cuda_release(device) frees the idle chunks of a device when its
 * context is destroyed (events belong to the device they were created on).
 *
 * The host memory comes from wrk_pinned_buffer_alloc, as the pinned logits buffer does
 * (runtime/core/device_cuda.c): page-locked when the driver gives it, else pageable (still
 * correct, the copy may then wait for the stream), never counted by the VRAM accountant
 * (it is host memory), freed by wrk_host_buffer_free. The pool is guarded by a mutex, and
 * a handle is looked up in it before use, so a handle finished twice or never made here is
 * refused rather than written through.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_context.h"
#include "ops/cuda/cuda_common.cuh"
#include "ops/cuda/cuda_ops.h"
#include "ops/ops.h"
#include "ops/ops_internal.h"

/* Slots per chunk: a few jobs' worth of outstanding steps. */
#define RB_CHUNK 8

/* Slot states: free, handed out by start, being waited for by finish. */
enum { RB_FREE = 0, RB_QUEUED = 1, RB_FINISHING = 2 };

struct rb_chunk;

typedef struct rb_slot {
    unsigned char *bytes;    /* WP_READBACK_MAX_BYTES in the chunk's host block */
    cudaEvent_t done;        /* recorded after the copy */
    size_t n;                /* bytes the copy moves (finish checks its n against it) */
    int state;
    struct rb_chunk *chunk;
} rb_slot;

typedef struct rb_chunk {
    int device;              /* the events' device */
    int pinned;              /* mem is page-locked (wrk_pinned_buffer_alloc) */
    void *mem;
    int n_busy;              /* slots not RB_FREE */
    rb_slot slots[RB_CHUNK];
    struct rb_chunk *next;
} rb_chunk;

static pthread_mutex_t rb_lock = PTHREAD_MUTEX_INITIALIZER;
static rb_chunk *rb_chunks;

static void rb_chunk_destroy(rb_chunk *c)
{
    for (int i = 0; i < RB_CHUNK; i++)
        if (c->slots[i].done)
            cudaEventDestroy(c->slots[i].done);
    if (c->mem)
        wrk_host_buffer_free(c->mem, c->pinned);
    (void)cudaGetLastError();
    free(c);
}

/* A new chunk for device (the current one), linked into the pool. Called with rb_lock. */
static int rb_chunk_new(int device, rb_chunk **out)
{
    const size_t bytes = (size_t)RB_CHUNK * WP_READBACK_MAX_BYTES;
    rb_chunk *c = (rb_chunk *)calloc(1, sizeof *c);
    if (!c)
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "readback_start: out of host memory for "
                         "the readback pool");
    c->device = device;
    c->mem = wrk_pinned_buffer_alloc(bytes, &c->pinned);
    if (!c->mem) {
        free(c);
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "readback_start: out of host memory for "
                         "the readback pool (%zu bytes)", bytes);
    }
    for (int i = 0; i < RB_CHUNK; i++) {
        rb_slot *s = &c->slots[i];
        s->bytes = (unsigned char *)c->mem + (size_t)i * WP_READBACK_MAX_BYTES;
        s->chunk = c;
        cudaError_t e = cudaEventCreateWithFlags(&s->done, cudaEventDisableTiming);
        if (e != cudaSuccess) {
            s->done = NULL;
            const int rc = wrk_cuda_check(e, "readback_start: cudaEventCreateWithFlags");
            rb_chunk_destroy(c);
            return rc;
        }
    }
    c->next = rb_chunks;
    rb_chunks = c;
    *out = c;
    return 0;
}

/* A free slot of the current device, marked queued (a new chunk when none is free). */
static int rb_take(rb_slot **out)
{
    int device = 0, rc = 0;
    rb_slot *s = NULL;
    *out = NULL;
    cudaError_t e = cudaGetDevice(&device);
    if (e != cudaSuccess)
        return wrk_cuda_check(e, "readback_start: cudaGetDevice");
    pthread_mutex_lock(&rb_lock);
    for (rb_chunk *c = rb_chunks; c && !s; c = c->next)
        if (c->device == device && c->n_busy < RB_CHUNK)
            for (int i = 0; i < RB_CHUNK && !s; i++)
                if (c->slots[i].state == RB_FREE)
                    s = &c->slots[i];
    if (!s) {
        rb_chunk *c = NULL;
        if ((rc = rb_chunk_new(device, &c)) == 0)
            s = &c->slots[0];
    }
    if (s) {
        s->state = RB_QUEUED;
        s->chunk->n_busy++;
    }
    pthread_mutex_unlock(&rb_lock);
    *out = s;
    return rc;
}

static void rb_give(rb_slot *s)
{
    pthread_mutex_lock(&rb_lock);
    s->state = RB_FREE;
    s->chunk->n_busy--;
    pthread_mutex_unlock(&rb_lock);
}

/* The queued slot that handle p is, now marked finishing; NULL when p is no such slot. */
static rb_slot *rb_claim(const void *p)
{
    const uintptr_t a = (uintptr_t)p;
    rb_slot *s = NULL;
    pthread_mutex_lock(&rb_lock);
    for (rb_chunk *c = rb_chunks; c && !s; c = c->next) {
        const uintptr_t first = (uintptr_t)&c->slots[0];
        if (a >= first && a < first + sizeof c->slots && (a - first) % sizeof(rb_slot) == 0)
            s = &c->slots[(a - first) / sizeof(rb_slot)];
    }
    if (s && s->state == RB_QUEUED)
        s->state = RB_FINISHING;
    else
        s = NULL;
    pthread_mutex_unlock(&rb_lock);
    return s;
}

extern "C" int wrk_cuda_readback_start(const wp_host *host, const void *src, size_t n,
                                       void **pending)
{
    int rc = wrk_ops_check_readback_start(src, n, pending);
    if (rc)
        return rc;
    rb_slot *s = NULL;
    if ((rc = rb_take(&s)) != 0)
        return rc;
    const cudaStream_t st = wrk_stream(host);
    int copied = 0;
    if (n) {
        rc = wrk_cuda_check(cudaMemcpyAsync(s->bytes, src, n, cudaMemcpyDeviceToHost, st),
                            "readback_start: cudaMemcpyAsync");
        copied = rc == 0;
    }
    if (!rc)
        rc = wrk_cuda_check(cudaEventRecord(s->done, st), "readback_start: cudaEventRecord");
    if (rc) {
        /* a copy already queued still writes the slot: let it land before the slot is
         * handed out again */
        if (copied)
            (void)cudaStreamSynchronize(st);
        (void)cudaGetLastError();
        rb_give(s);
        return rc;
    }
    s->n = n;
    *pending = s;
    return 0;
}

extern "C" int wrk_cuda_readback_finish(const wp_host *host, void *pending, void *dst,
                                        size_t n)
{
    (void)host;
    if (!pending)
        return wrk_ops_check_readback_finish(pending, n, 0);
    rb_slot *s = rb_claim(pending);
    if (!s)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "readback_finish: %p is not an outstanding readback (finished "
                         "already, or not made by readback_start)", pending);
    /* wait first in every case: the slot goes back to the pool only once its copy landed */
    int rc = wrk_cuda_check(cudaEventSynchronize(s->done), "readback_finish: "
                            "cudaEventSynchronize");
    if (!rc)
        rc = wrk_ops_check_readback_finish(pending, n, s->n);
    if (!rc && dst)
        memcpy(dst, s->bytes, n);
    rb_give(s);
    return rc;
}

extern "C" void wrk_ops_cuda_release(int device)
{
    pthread_mutex_lock(&rb_lock);
    rb_chunk **link = &rb_chunks;
    while (*link) {
        rb_chunk *c = *link;
        if (c->device == device && c->n_busy == 0) {
            *link = c->next;
            rb_chunk_destroy(c);
        } else {
            link = &c->next;
        }
    }
    pthread_mutex_unlock(&rb_lock);
}
