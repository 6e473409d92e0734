/*
 * gguf_internal.h - the parsed form of a GGUF file, shared by the reader's files
 * (reader.c: header and metadata, reader_tensors.c: tensor infos, reader_get.c: getters)
 * and the writer (which validates serialised values with the same parser).
 */
#ifndef WRK_GGUF_INTERNAL_H
#define WRK_GGUF_INTERNAL_H

#include <stdarg.h>
#include <stdint.h>

#include "gguf/gguf.h"

/* Arrays of arrays deeper than this are refused (bounds the parser's recursion). */
#define GGUF_MAX_NESTING 8
/* Longest tensor name accepted (ggml itself allows 63). */
#define GGUF_MAX_NAME 255

/* Bytes of one scalar of type t, 0 for string/array/unknown. */
uint64_t gguf_type_size(enum gguf_type t);
/* "uint32", "string", ... or "unknown". */
const char *gguf_type_name(enum gguf_type t);

/* A bounded read position in an untrusted image; errors name the source and offset. */
typedef struct gguf_cursor {
    const uint8_t *base;
    uint64_t size;
    uint64_t pos;
    const char *source;   /* file name or "<memory>" for messages */
} gguf_cursor;

/* Record "gguf: <source>: byte <at>: <msg>" and return CUDA_ERROR_MODEL_LOAD_FAILED. */
int gguf_fail(const gguf_cursor *c, uint64_t at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

int gguf_rd_u32(gguf_cursor *c, uint32_t *v, const char *what);
int gguf_rd_u64(gguf_cursor *c, uint64_t *v, const char *what);
/* A GGUF string (u64 length + bytes): *p points into the image. */
int gguf_rd_str(gguf_cursor *c, const uint8_t **p, uint64_t *len, const char *what);

/* Skip over one serialised value of type t (after its type tag), checking every length
 * and count against the remaining bytes; ctx names the key for messages. */
int gguf_skip_value(gguf_cursor *c, enum gguf_type t, int depth, const char *ctx);

/* Make room for index i in *arr (capacity *cap elements of elem bytes, new ones zeroed),
 * doubling, so memory follows what has been parsed rather than a claimed count. 0 or -1. */
int gguf_grow(void **arr, uint64_t *cap, uint64_t i, size_t elem);

/* One metadata entry. Scalars and nested arrays are read from the image on demand;
 * strings, string arrays and numeric arrays are copied (aligned, NUL-terminated). */
typedef struct gguf_kv {
    char *key;
    enum gguf_type type;
    enum gguf_type elem_type;  /* arrays */
    uint64_t n;                /* arrays: element count; strings: length in bytes */
    const uint8_t *raw;        /* serialised value in the image (arrays: the elements) */
    uint64_t raw_size;
    uint64_t offset;           /* file offset of the entry, for messages */
    void *copy;                /* string / numeric array / string-array blob */
    uint64_t *str_off;         /* string arrays: n+1 offsets into copy */
} gguf_kv;

/* A name with the index of its entry; arrays of these sorted by name serve lookups. */
typedef struct gguf_name_idx {
    const char *name;
    int64_t idx;
} gguf_name_idx;

/* Build the sorted index of n names (name(i)); on a duplicate return its two indices. */
int gguf_name_index(gguf_name_idx *ix, int64_t n, int64_t *dup_a, int64_t *dup_b);
/* Index of name in a sorted index, or -1. */
int64_t gguf_name_find(const gguf_name_idx *ix, int64_t n, const char *name);

struct gguf_file {
    const uint8_t *base;
    uint64_t size;
    int mapped;                /* base is an mmap of size bytes */
    char *source;
    uint32_t version;
    uint64_t alignment;
    uint64_t data_offset;
    int64_t n_kv;
    gguf_kv *kv;
    gguf_name_idx *kv_by_key; /* sorted by key, for lookup */
    int64_t n_tensors;
    gguf_tensor_info *tensors;
    gguf_name_idx *t_by_name; /* sorted by name */
};

/* Parse and validate the tensor infos at c (after the metadata), set alignment-derived
 * data_offset and every tensor's extent. */
int gguf_read_tensors(gguf_file *f, gguf_cursor *c, uint64_t n_tensors);

#endif
