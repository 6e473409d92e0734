/*
 * gguf_writer.h - write GGUF v3 files (for fixtures, tools and worker-convert).
 *
 * Build the file in memory: add metadata and tensors (data copied, or produced by
 * quantizing fp32), then write. Keys keep insertion order; tensors are aligned to
 * general.alignment (default 32).
 */
#ifndef WRK_GGUF_WRITER_H
#define WRK_GGUF_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include "gguf/gguf.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_new(void);
void gguf_writer_free(gguf_writer *w);

/* Metadata (a key set twice is replaced). Return 0 or CUDA_ERROR_OUT_OF_MEMORY/INVALID. */
int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v);
int gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v);
int gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v);
int gguf_writer_set_f32(gguf_writer *w, const char *key, float v);
int gguf_writer_set_bool(gguf_writer *w, const char *key, int v);
int gguf_writer_set_str(gguf_writer *w, const char *key, const char *v);
/** Array of fixed-size elements (any scalar gguf_type), n elements packed little-endian. */
int gguf_writer_set_arr(gguf_writer *w, const char *key, enum gguf_type elem_type,
                        const void *data, uint64_t n);
/** Array of strings (lens may be NULL for NUL-terminated strings). */
int gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                            const uint64_t *lens, uint64_t n);

/* Added by B: values of any type in serialised form (see gguf_value in gguf.h), e.g. copied
 * from a file being read, and arrays of arrays. The value is validated and copied. */
int gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v);
/** Array of n arrays; inner[i] must each be a GGUF_TYPE_ARRAY value. */
int gguf_writer_set_arr_arr(gguf_writer *w, const char *key, const gguf_value *inner,
                            uint64_t n);

/** Add a tensor whose data (nbytes for type and shape) is copied. */
int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const uint64_t *ne, const void *data);
/** Add a tensor given as fp32 values, converted/quantized to type (ne[0] must be a
 *  multiple of the type's block size). */
int gguf_writer_add_tensor_f32(gguf_writer *w, const char *name, uint32_t type,
                               uint32_t n_dims, const uint64_t *ne, const float *values);

/** Write to path (atomically: a temporary file renamed). 0 or error + detail. */
int gguf_writer_write(gguf_writer *w, const char *path);
/** Serialise to a malloc'd buffer (caller frees). */
int gguf_writer_to_memory(gguf_writer *w, void **data, size_t *size);

#ifdef __cplusplus
}
#endif
#endif
