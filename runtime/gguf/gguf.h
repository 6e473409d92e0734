/*
 * gguf.h - a defensive, mmap-based reader of GGUF v2/v3 model files.
 *
 * A model file is untrusted input. gguf_open validates everything before use: every count,
 * length, offset and tensor extent against the file size with overflow-checked arithmetic;
 * tensor data inside the data section, aligned, non-overlapping; unique names; supported
 * tensor types (wp_dtype). A malformed file gives CUDA_ERROR_MODEL_LOAD_FAILED with a
 * wrk_error detail naming what is wrong and where (byte offset, key or tensor). No
 * allocation is larger than the file justifies.
 */
#ifndef WRK_GGUF_H
#define WRK_GGUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Metadata value types, numbered as in the GGUF specification. */
enum gguf_type {
    GGUF_TYPE_UINT8 = 0, GGUF_TYPE_INT8 = 1, GGUF_TYPE_UINT16 = 2, GGUF_TYPE_INT16 = 3,
    GGUF_TYPE_UINT32 = 4, GGUF_TYPE_INT32 = 5, GGUF_TYPE_FLOAT32 = 6, GGUF_TYPE_BOOL = 7,
    GGUF_TYPE_STRING = 8, GGUF_TYPE_ARRAY = 9, GGUF_TYPE_UINT64 = 10, GGUF_TYPE_INT64 = 11,
    GGUF_TYPE_FLOAT64 = 12, GGUF_TYPE_COUNT = 13
};

#define GGUF_DEFAULT_ALIGNMENT 32
#define GGUF_MAX_DIMS 4

typedef struct gguf_file gguf_file;

typedef struct gguf_tensor_info {
    const char *name;      /* NUL-terminated copy */
    uint32_t type;         /* enum wp_dtype */
    uint32_t n_dims;
    uint64_t ne[GGUF_MAX_DIMS];   /* unused = 1 */
    uint64_t offset;       /* relative to the data section */
    uint64_t nbytes;
    const void *data;      /* inside the mapping */
} gguf_tensor_info;

/** Map and validate path. 0 or CUDA_ERROR_MODEL_LOAD_FAILED (+ detail). */
int gguf_open(const char *path, gguf_file **out);
/** Validate an in-memory image (not copied; must outlive the handle). For fuzzing/tests. */
int gguf_open_memory(const void *data, size_t size, gguf_file **out);
void gguf_close(gguf_file *f);

uint32_t gguf_version(const gguf_file *f);
uint64_t gguf_alignment(const gguf_file *f);
uint64_t gguf_data_offset(const gguf_file *f);   /* file offset of the data section */
uint64_t gguf_file_size(const gguf_file *f);

/* --- metadata --- */
int64_t gguf_n_kv(const gguf_file *f);
/** Index of key, or -1. */
int64_t gguf_find_key(const gguf_file *f, const char *key);
const char *gguf_key(const gguf_file *f, int64_t i);
enum gguf_type gguf_kv_type(const gguf_file *f, int64_t i);

/** Typed scalar getters: 0, or CUDA_ERROR_MODEL_LOAD_FAILED + detail naming the key when
 *  it is absent or of another type. The integer getters accept any integer type (and
 *  bool for u32) whose value fits the destination. */
int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out);
int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out);
int gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out);
int gguf_get_f32(const gguf_file *f, const char *key, float *out);   /* f32 or f64 */
int gguf_get_bool(const gguf_file *f, const char *key, int *out);
/** String (NUL-terminated copy owned by f). */
int gguf_get_str(const gguf_file *f, const char *key, const char **out);

/** Arrays: element type and count; GGUF_TYPE_ARRAY elements (nested arrays) are allowed. */
int gguf_get_arr_info(const gguf_file *f, const char *key, enum gguf_type *elem_type,
                      uint64_t *n);
/** Numeric array data (little-endian, packed as in the file) for non-string,
 *  non-array elements; NULL on type mismatch. */
const void *gguf_get_arr_data(const gguf_file *f, const char *key);
/** i-th string of a string array (NUL-terminated copy owned by f), or NULL. */
const char *gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i);
/** Length in bytes of the i-th string (strings may hold NUL bytes). */
uint64_t gguf_get_arr_str_len(const gguf_file *f, const char *key, uint64_t i);

/* --- generic values (added by B: walking nested arrays, copying metadata) --- */

/** A metadata value in its serialised form, a view into the image (unaligned: memcpy).
 *  Scalars: data = the little-endian bytes, n = 1. Strings: data = the bytes, n = size =
 *  length. Arrays: elem_type, n elements, data = the serialised elements (for arrays of
 *  strings or arrays, each element as in the file: u64 length + bytes, or u32 type + u64
 *  count + elements), size = their bytes. */
typedef struct gguf_value {
    enum gguf_type type;
    enum gguf_type elem_type;
    uint64_t n;
    const void *data;
    uint64_t size;
} gguf_value;

/** Value of metadata entry i. 0 or CUDA_ERROR_INVALID_PARAMETER (+ detail). */
int gguf_kv_value(const gguf_file *f, int64_t i, gguf_value *out);
/** Element i of an array value (O(i) for string and array elements). Bounds-checked: 0,
 *  or CUDA_ERROR_INVALID_PARAMETER / CUDA_ERROR_MODEL_LOAD_FAILED (+ detail). */
int gguf_value_elem(const gguf_value *arr, uint64_t i, gguf_value *out);
/** Check that v is a well-formed value (every length and count within v->size). */
int gguf_value_check(const gguf_value *v);

/* --- tensors --- */
int64_t gguf_n_tensors(const gguf_file *f);
const gguf_tensor_info *gguf_tensor(const gguf_file *f, int64_t i);
/** Tensor by name, or NULL. */
const gguf_tensor_info *gguf_find_tensor(const gguf_file *f, const char *name);

#ifdef __cplusplus
}
#endif
#endif
