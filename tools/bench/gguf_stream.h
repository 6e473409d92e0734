/*
 * gguf_stream.h - write a GGUF v3 file front to back without holding the tensor data.
 *
 * runtime/gguf's writer builds the whole file in memory, which does not fit a 16 GB model
 * on a build machine; this one writes the header, the metadata and the tensor infos first
 * (the caller declares every tensor up front so the offsets are known), then takes each
 * tensor's data in declaration order, padding to the alignment (32, GGUF's default, as no
 * general.alignment is written). runtime/gguf's reader validates the result.
 *
 * Errors: every function returns 0 or a CudaErrorCode with a wrk_error detail.
 */
#ifndef BENCH_GGUF_STREAM_H
#define BENCH_GGUF_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "gguf/gguf.h"

#define GS_MAX_TENSORS 4096
#define GS_ALIGN 32

typedef struct gs_tensor {
    char name[64];
    uint32_t type;        /* wp_dtype */
    uint32_t n_dims;
    uint64_t ne[2];
    uint64_t nbytes;
    uint64_t offset;      /* relative to the data section */
} gs_tensor;

typedef struct gguf_stream {
    FILE *fp;
    char *path, *tmp_path;
    uint64_t n_kv_declared, n_kv_written;
    gs_tensor *tensors;
    uint32_t n_tensors;
    uint32_t next_data;   /* index of the tensor whose data comes next */
    uint64_t data_written; /* bytes of the data section so far */
    uint64_t cur_written;  /* bytes of the current tensor so far */
    int infos_done;
    int failed;
} gguf_stream;

/** Open path.tmp for writing; n_kv and the tensors (already with name/type/shape) are the
 *  complete lists. The tensor array is copied; byte sizes and offsets are computed here. */
int gs_open(gguf_stream *s, const char *path, uint64_t n_kv, const gs_tensor *tensors,
            uint32_t n_tensors);

/* Metadata, exactly n_kv calls in all before the first gs_data call. */
int gs_kv_u32(gguf_stream *s, const char *key, uint32_t v);
int gs_kv_f32(gguf_stream *s, const char *key, float v);
int gs_kv_bool(gguf_stream *s, const char *key, int v);
int gs_kv_str(gguf_stream *s, const char *key, const char *v);
int gs_kv_arr_i32(gguf_stream *s, const char *key, const int32_t *v, uint64_t n);
/** Array of strings with explicit lengths (n may be 0). */
int gs_kv_arr_str(gguf_stream *s, const char *key, const char *const *v, const uint32_t *lens,
                  uint64_t n);

/** Append bytes of the current tensor's data (the tensor infos are written before the
 *  first call); a tensor complete at its nbytes moves on to the next. */
int gs_data(gguf_stream *s, const void *data, size_t n);

/** Check that everything declared was written, flush, rename path.tmp to path. */
int gs_close(gguf_stream *s);
/** Drop the temporary file (after a failure). */
void gs_abort(gguf_stream *s);

#endif
