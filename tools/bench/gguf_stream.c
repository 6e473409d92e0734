/*
 * gguf_stream.c - front-to-back GGUF v3 writer for the benchmark models (gguf_stream.h).
 * Layout: "GGUF", u32 version, u64 n_tensors, u64 n_kv, the key/values, the tensor infos
 * (name, n_dims, ne[], type, offset), padding to 32, the tensor data (each aligned to 32).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/quant.h"
#include "gguf_stream.h"

static int put(gguf_stream *s, const void *p, size_t n)
{
    if (s->failed) return CUDA_ERROR_UNKNOWN;
    if (n && fwrite(p, 1, n, s->fp) != n) {
        s->failed = 1;
        return wrk_error(CUDA_ERROR_UNKNOWN, "%s: write failed: %s", s->tmp_path,
                         strerror(errno));
    }
    return 0;
}

static int put_u32(gguf_stream *s, uint32_t v) { return put(s, &v, 4); }   /* little-endian host */
static int put_u64(gguf_stream *s, uint64_t v) { return put(s, &v, 8); }

static int put_str(gguf_stream *s, const char *v, uint64_t len)
{
    int rc = put_u64(s, len);
    return rc ? rc : put(s, v, len);
}

static int zeros(gguf_stream *s, uint64_t n)
{
    static const char z[GS_ALIGN];
    int rc = 0;
    while (n && !rc) {
        size_t k = n < sizeof z ? (size_t)n : sizeof z;
        rc = put(s, z, k);
        n -= k;
    }
    return rc;
}

int gs_open(gguf_stream *s, const char *path, uint64_t n_kv, const gs_tensor *tensors,
            uint32_t n_tensors)
{
    uint64_t off = 0;
    memset(s, 0, sizeof *s);
    if (!path || !tensors || n_tensors == 0 || n_tensors > GS_MAX_TENSORS)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gs_open: bad arguments");
    s->tensors = malloc(n_tensors * sizeof *tensors);
    s->path = strdup(path);
    s->tmp_path = malloc(strlen(path) + 5);
    if (!s->tensors || !s->path || !s->tmp_path) {
        gs_abort(s);
        return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "gs_open: out of memory");
    }
    memcpy(s->tensors, tensors, n_tensors * sizeof *tensors);
    s->n_tensors = n_tensors;
    for (uint32_t i = 0; i < n_tensors; i++) {
        gs_tensor *t = &s->tensors[i];
        uint64_t rows = t->n_dims > 1 ? t->ne[1] : 1;
        uint64_t rb = wrk_dtype_row_bytes(t->type, t->ne[0]);
        if (rb == 0 || t->n_dims < 1 || t->n_dims > 2) {
            gs_abort(s);
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "%s: %s rows of %llu elements are not possible", t->name,
                             wrk_dtype_name(t->type), (unsigned long long)t->ne[0]);
        }
        t->nbytes = rb * rows;
        t->offset = off;
        off += (t->nbytes + GS_ALIGN - 1) / GS_ALIGN * GS_ALIGN;
    }
    sprintf(s->tmp_path, "%s.tmp", path);
    s->fp = fopen(s->tmp_path, "wb");
    if (!s->fp) {
        int e = errno;
        gs_abort(s);
        return wrk_error(CUDA_ERROR_UNKNOWN, "%s.tmp: cannot create: %s", path, strerror(e));
    }
    setvbuf(s->fp, NULL, _IOFBF, 1 << 22);
    s->n_kv_declared = n_kv;
    if (put(s, "GGUF", 4) || put_u32(s, 3) || put_u64(s, n_tensors) || put_u64(s, n_kv)) {
        gs_abort(s);
        return CUDA_ERROR_UNKNOWN;
    }
    return 0;
}

/* Key and type of the next key/value; refuses more than declared. */
static int kv_head(gguf_stream *s, const char *key, enum gguf_type type)
{
    int rc;
    if (s->n_kv_written >= s->n_kv_declared)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: more key/values than the %llu "
                         "declared", key, (unsigned long long)s->n_kv_declared);
    s->n_kv_written++;
    if ((rc = put_str(s, key, strlen(key))) != 0) return rc;
    return put_u32(s, (uint32_t)type);
}

int gs_kv_u32(gguf_stream *s, const char *key, uint32_t v)
{
    int rc = kv_head(s, key, GGUF_TYPE_UINT32);
    return rc ? rc : put_u32(s, v);
}

int gs_kv_f32(gguf_stream *s, const char *key, float v)
{
    int rc = kv_head(s, key, GGUF_TYPE_FLOAT32);
    return rc ? rc : put(s, &v, 4);
}

int gs_kv_bool(gguf_stream *s, const char *key, int v)
{
    uint8_t b = v != 0;
    int rc = kv_head(s, key, GGUF_TYPE_BOOL);
    return rc ? rc : put(s, &b, 1);
}

int gs_kv_str(gguf_stream *s, const char *key, const char *v)
{
    int rc = kv_head(s, key, GGUF_TYPE_STRING);
    return rc ? rc : put_str(s, v, strlen(v));
}

int gs_kv_arr_i32(gguf_stream *s, const char *key, const int32_t *v, uint64_t n)
{
    int rc = kv_head(s, key, GGUF_TYPE_ARRAY);
    if (!rc) rc = put_u32(s, GGUF_TYPE_INT32);
    if (!rc) rc = put_u64(s, n);
    return rc ? rc : put(s, v, n * sizeof *v);
}

int gs_kv_arr_str(gguf_stream *s, const char *key, const char *const *v, const uint32_t *lens,
                  uint64_t n)
{
    int rc = kv_head(s, key, GGUF_TYPE_ARRAY);
    if (!rc) rc = put_u32(s, GGUF_TYPE_STRING);
    if (!rc) rc = put_u64(s, n);
    for (uint64_t i = 0; i < n && !rc; i++) rc = put_str(s, v[i], lens[i]);
    return rc;
}

/* The tensor infos and the padding before the data section (once, at the first data). */
static int write_infos(gguf_stream *s)
{
    int rc = 0;
    long pos;
    if (s->n_kv_written != s->n_kv_declared)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%llu key/values written, %llu declared",
                         (unsigned long long)s->n_kv_written,
                         (unsigned long long)s->n_kv_declared);
    for (uint32_t i = 0; i < s->n_tensors && !rc; i++) {
        const gs_tensor *t = &s->tensors[i];
        rc = put_str(s, t->name, strlen(t->name));
        if (!rc) rc = put_u32(s, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims && !rc; d++) rc = put_u64(s, t->ne[d]);
        if (!rc) rc = put_u32(s, t->type);
        if (!rc) rc = put_u64(s, t->offset);
    }
    if (rc) return rc;
    pos = ftell(s->fp);
    if (pos < 0) return wrk_error(CUDA_ERROR_UNKNOWN, "%s: ftell failed", s->tmp_path);
    return zeros(s, (GS_ALIGN - (uint64_t)pos % GS_ALIGN) % GS_ALIGN);
}

int gs_data(gguf_stream *s, const void *data, size_t n)
{
    const char *p = data;
    int rc;
    if (s->failed) return CUDA_ERROR_UNKNOWN;
    if (!s->infos_done) {
        if ((rc = write_infos(s)) != 0) {
            s->failed = 1;
            return rc;
        }
        s->infos_done = 1;
    }
    while (n) {
        gs_tensor *t;
        uint64_t left, k;
        if (s->next_data >= s->n_tensors)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "more tensor data than declared");
        t = &s->tensors[s->next_data];
        left = t->nbytes - s->cur_written;
        k = n < left ? n : left;
        if ((rc = put(s, p, k)) != 0) return rc;
        p += k;
        n -= k;
        s->cur_written += k;
        if (s->cur_written == t->nbytes) {
            uint64_t pad = (GS_ALIGN - t->nbytes % GS_ALIGN) % GS_ALIGN;
            if ((rc = zeros(s, pad)) != 0) return rc;
            s->data_written += t->nbytes + pad;
            s->cur_written = 0;
            s->next_data++;
        }
    }
    return 0;
}

int gs_close(gguf_stream *s)
{
    int rc = 0;
    if (s->failed) rc = CUDA_ERROR_UNKNOWN;
    else if (s->next_data != s->n_tensors)
        rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: data of %u of %u tensors written",
                       s->path, s->next_data, s->n_tensors);
    if (!rc && fclose(s->fp) != 0)
        rc = wrk_error(CUDA_ERROR_UNKNOWN, "%s: close failed: %s", s->tmp_path, strerror(errno));
    if (!rc) {
        s->fp = NULL;
        if (rename(s->tmp_path, s->path) != 0)
            rc = wrk_error(CUDA_ERROR_UNKNOWN, "rename %s: %s", s->tmp_path, strerror(errno));
    }
    if (rc) {
        gs_abort(s);
        return rc;
    }
    free(s->tensors);
    free(s->path);
    free(s->tmp_path);
    memset(s, 0, sizeof *s);
    return 0;
}

void gs_abort(gguf_stream *s)
{
    if (s->fp) fclose(s->fp);
    if (s->tmp_path) remove(s->tmp_path);   /* harmless when it is already gone */
    free(s->tensors);
    free(s->path);
    free(s->tmp_path);
    memset(s, 0, sizeof *s);
}
