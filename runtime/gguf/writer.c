/*
 * writer.c - build GGUF v3 files in memory and write them (gguf_writer.h).
 *
 * Metadata keeps insertion order (a key set again is replaced in place); each value is
 * kept serialised. Tensors are laid out in insertion order, each at the next multiple of
 * general.alignment (default 32), and the file ends padded to the alignment, as
 * llama.cpp's writer does. gguf_writer_write goes through a temporary file in the same
 * directory, renamed over the path once complete, so readers never see a partial file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/wrk_error.h"
#include "gguf/gguf_internal.h"
#include "gguf/gguf_writer.h"
#include "gguf/quant.h"

typedef struct wkv {
    char *key;
    uint32_t type;
    uint8_t *val;   /* serialised value (after the type tag) */
    size_t len;
} wkv;

typedef struct wtensor {
    char *name;
    uint32_t type, n_dims;
    uint64_t ne[GGUF_MAX_DIMS];
    uint64_t nbytes;
    void *data;
} wtensor;

struct gguf_writer {
    wkv *kv;
    size_t n_kv, cap_kv;
    wtensor *t;
    size_t n_t, cap_t;
};

gguf_writer *gguf_writer_new(void)
{
    return calloc(1, sizeof(gguf_writer));
}

void gguf_writer_free(gguf_writer *w)
{
    if (!w) return;
    for (size_t i = 0; i < w->n_kv; i++) {
        free(w->kv[i].key);
        free(w->kv[i].val);
    }
    for (size_t i = 0; i < w->n_t; i++) {
        free(w->t[i].name);
        free(w->t[i].data);
    }
    free(w->kv);
    free(w->t);
    free(w);
}

static int nomem(void)
{
    return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "gguf writer: out of host memory");
}

/* Store key = (type, val[len]); takes ownership of val. */
static int put_kv(gguf_writer *w, const char *key, uint32_t type, uint8_t *val, size_t len)
{
    if (!w || !key || !*key) {
        free(val);
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf writer: NULL writer or empty key");
    }
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, key) == 0) {
            free(w->kv[i].val);
            w->kv[i].type = type;
            w->kv[i].val = val;
            w->kv[i].len = len;
            return 0;
        }
    }
    if (w->n_kv == w->cap_kv) {
        size_t cap = w->cap_kv ? 2 * w->cap_kv : 16;
        wkv *kv = realloc(w->kv, cap * sizeof *kv);
        if (!kv) {
            free(val);
            return nomem();
        }
        w->kv = kv;
        w->cap_kv = cap;
    }
    char *k = strdup(key);
    if (!k) {
        free(val);
        return nomem();
    }
    w->kv[w->n_kv++] = (wkv){k, type, val, len};
    return 0;
}

/* Serialised scalar of size bytes. */
static int put_scalar(gguf_writer *w, const char *key, uint32_t type, const void *v, size_t n)
{
    uint8_t *val = malloc(n);
    if (!val) return nomem();
    memcpy(val, v, n);
    return put_kv(w, key, type, val, n);
}

int gguf_writer_set_u32(gguf_writer *w, const char *key, uint32_t v)
{
    return put_scalar(w, key, GGUF_TYPE_UINT32, &v, 4);
}

int gguf_writer_set_i32(gguf_writer *w, const char *key, int32_t v)
{
    return put_scalar(w, key, GGUF_TYPE_INT32, &v, 4);
}

int gguf_writer_set_u64(gguf_writer *w, const char *key, uint64_t v)
{
    return put_scalar(w, key, GGUF_TYPE_UINT64, &v, 8);
}

int gguf_writer_set_f32(gguf_writer *w, const char *key, float v)
{
    return put_scalar(w, key, GGUF_TYPE_FLOAT32, &v, 4);
}

int gguf_writer_set_bool(gguf_writer *w, const char *key, int v)
{
    uint8_t b = v != 0;
    return put_scalar(w, key, GGUF_TYPE_BOOL, &b, 1);
}

int gguf_writer_set_str(gguf_writer *w, const char *key, const char *v)
{
    if (!v) return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf writer: NULL string for '%s'",
                             key ? key : "");
    uint64_t len = strlen(v);
    uint8_t *val = malloc(8 + len);
    if (!val) return nomem();
    memcpy(val, &len, 8);
    memcpy(val + 8, v, len);
    return put_kv(w, key, GGUF_TYPE_STRING, val, 8 + len);
}

/* Header of an array value (u32 elem type, u64 count) followed by body bytes. */
static uint8_t *array_val(uint32_t et, uint64_t n, size_t body, size_t *len)
{
    if (body > SIZE_MAX - 12) return NULL;
    uint8_t *val = malloc(12 + body);
    if (!val) return NULL;
    memcpy(val, &et, 4);
    memcpy(val + 4, &n, 8);
    *len = 12 + body;
    return val;
}

int gguf_writer_set_arr(gguf_writer *w, const char *key, enum gguf_type elem_type,
                        const void *data, uint64_t n)
{
    uint64_t sz = gguf_type_size(elem_type);
    size_t len;
    if (sz == 0 || (!data && n) || n > SIZE_MAX / sz)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "gguf writer: key '%s': bad array (element type %s, %llu elements)",
                         key ? key : "", gguf_type_name(elem_type), (unsigned long long)n);
    uint8_t *val = array_val((uint32_t)elem_type, n, (size_t)(n * sz), &len);
    if (!val) return nomem();
    if (n) memcpy(val + 12, data, (size_t)(n * sz));
    return put_kv(w, key, GGUF_TYPE_ARRAY, val, len);
}

int gguf_writer_set_arr_str(gguf_writer *w, const char *key, const char *const *strs,
                            const uint64_t *lens, uint64_t n)
{
    size_t body = 0, len;
    if (!strs && n)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf writer: NULL strings for '%s'",
                         key ? key : "");
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = lens ? lens[i] : (strs[i] ? strlen(strs[i]) : 0);
        if (!strs[i] && l)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "gguf writer: key '%s': string %llu is NULL", key ? key : "",
                             (unsigned long long)i);
        if (l > SIZE_MAX - 8 - body) return nomem();
        body += 8 + (size_t)l;
    }
    uint8_t *val = array_val(GGUF_TYPE_STRING, n, body, &len), *p;
    if (!val) return nomem();
    p = val + 12;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t l = lens ? lens[i] : (strs[i] ? strlen(strs[i]) : 0);
        memcpy(p, &l, 8);
        if (l) memcpy(p + 8, strs[i], (size_t)l);
        p += 8 + l;
    }
    return put_kv(w, key, GGUF_TYPE_ARRAY, val, len);
}

/* Serialised form of a checked value: scalars as is, strings and arrays with headers. */
static int value_bytes(const gguf_value *v, uint8_t **out, size_t *len)
{
    int rc = gguf_value_check(v);
    if (rc) return rc;
    if (v->size > SIZE_MAX - 12) return nomem();
    size_t hdr = v->type == GGUF_TYPE_ARRAY ? 12 : v->type == GGUF_TYPE_STRING ? 8 : 0;
    uint8_t *val = malloc(hdr + (size_t)v->size + 1);
    if (!val) return nomem();
    if (v->type == GGUF_TYPE_ARRAY) {
        uint32_t et = (uint32_t)v->elem_type;
        memcpy(val, &et, 4);
        memcpy(val + 4, &v->n, 8);
    } else if (v->type == GGUF_TYPE_STRING) {
        memcpy(val, &v->size, 8);
    }
    if (v->size) memcpy(val + hdr, v->data, (size_t)v->size);
    *out = val;
    *len = hdr + (size_t)v->size;
    return 0;
}

int gguf_writer_set_value(gguf_writer *w, const char *key, const gguf_value *v)
{
    uint8_t *val = NULL;
    size_t len = 0;
    int rc = value_bytes(v, &val, &len);
    if (rc) {
        wrk_error_prefix("gguf writer: key '%s': ", key ? key : "");
        return CUDA_ERROR_INVALID_PARAMETER;
    }
    return put_kv(w, key, (uint32_t)v->type, val, len);
}

int gguf_writer_set_arr_arr(gguf_writer *w, const char *key, const gguf_value *inner,
                            uint64_t n)
{
    size_t body = 0, len;
    if (!inner && n)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf writer: NULL arrays for '%s'",
                         key ? key : "");
    for (uint64_t i = 0; i < n; i++) {
        if (inner[i].type != GGUF_TYPE_ARRAY || gguf_value_check(&inner[i]))
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "gguf writer: key '%s': element %llu is not a valid array",
                             key ? key : "", (unsigned long long)i);
        if (inner[i].size > SIZE_MAX - 12 - body) return nomem();
        body += 12 + (size_t)inner[i].size;
    }
    uint8_t *val = array_val(GGUF_TYPE_ARRAY, n, body, &len), *p;
    if (!val) return nomem();
    p = val + 12;
    for (uint64_t i = 0; i < n; i++) {
        uint32_t et = (uint32_t)inner[i].elem_type;
        memcpy(p, &et, 4);
        memcpy(p + 4, &inner[i].n, 8);
        if (inner[i].size) memcpy(p + 12, inner[i].data, (size_t)inner[i].size);
        p += 12 + inner[i].size;
    }
    return put_kv(w, key, GGUF_TYPE_ARRAY, val, len);
}

/* ---- tensors ------------------------------------------------------------------------- */

/* Validate a tensor description; *nbytes its data size. */
static int check_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                        const uint64_t *ne, uint64_t *nbytes)
{
    if (!w || !name || !*name || strlen(name) > GGUF_MAX_NAME || !ne)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "gguf writer: tensor name must be 1..%d bytes", GGUF_MAX_NAME);
    for (size_t i = 0; i < w->n_t; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "gguf writer: duplicate tensor name '%s'", name);
    if (!wrk_dtype_supported(type))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "gguf writer: tensor '%s': type %s (%u) is not supported", name,
                         wrk_dtype_name(type), type);
    if (n_dims < 1 || n_dims > GGUF_MAX_DIMS)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "gguf writer: tensor '%s': n_dims %u out of range 1..%d", name,
                         n_dims, GGUF_MAX_DIMS);
    uint64_t nb = wrk_dtype_row_bytes(type, ne[0]);
    if (ne[0] == 0 || nb == 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "gguf writer: tensor '%s': ne[0] = %llu is not a positive multiple "
                         "of the %s block size %u", name, (unsigned long long)ne[0],
                         wrk_dtype_name(type), wrk_dtype_block_elems(type));
    for (uint32_t d = 1; d < n_dims; d++)
        if (ne[d] == 0 || __builtin_mul_overflow(nb, ne[d], &nb) || nb > (uint64_t)SIZE_MAX / 2)
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                             "gguf writer: tensor '%s': dimension %u is zero or too large",
                             name, d);
    *nbytes = nb;
    return 0;
}

/* Append a tensor whose data buffer (nbytes, malloc'd) is owned from now on. */
static int push_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                       const uint64_t *ne, uint64_t nbytes, void *data)
{
    if (w->n_t == w->cap_t) {
        size_t cap = w->cap_t ? 2 * w->cap_t : 16;
        wtensor *t = realloc(w->t, cap * sizeof *t);
        if (!t) {
            free(data);
            return nomem();
        }
        w->t = t;
        w->cap_t = cap;
    }
    wtensor *t = &w->t[w->n_t];
    memset(t, 0, sizeof *t);
    if (!(t->name = strdup(name))) {
        free(data);
        return nomem();
    }
    t->type = type;
    t->n_dims = n_dims;
    for (uint32_t d = 0; d < GGUF_MAX_DIMS; d++) t->ne[d] = d < n_dims ? ne[d] : 1;
    t->nbytes = nbytes;
    t->data = data;
    w->n_t++;
    return 0;
}

int gguf_writer_add_tensor(gguf_writer *w, const char *name, uint32_t type, uint32_t n_dims,
                           const uint64_t *ne, const void *data)
{
    uint64_t nbytes;
    int rc = check_tensor(w, name, type, n_dims, ne, &nbytes);
    if (rc) return rc;
    if (!data) return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                "gguf writer: tensor '%s': NULL data", name);
    void *copy = malloc((size_t)nbytes);
    if (!copy) return nomem();
    memcpy(copy, data, (size_t)nbytes);
    return push_tensor(w, name, type, n_dims, ne, nbytes, copy);
}

int gguf_writer_add_tensor_f32(gguf_writer *w, const char *name, uint32_t type,
                               uint32_t n_dims, const uint64_t *ne, const float *values)
{
    uint64_t nbytes;
    int rc = check_tensor(w, name, type, n_dims, ne, &nbytes);
    if (rc) return rc;
    if (!values) return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                                  "gguf writer: tensor '%s': NULL values", name);
    uint8_t *q = malloc((size_t)nbytes);
    if (!q) return nomem();
    uint64_t row_bytes = wrk_dtype_row_bytes(type, ne[0]), rows = nbytes / row_bytes;
    for (uint64_t r = 0; r < rows; r++)
        wrk_quantize_row(type, values + r * ne[0], q + r * row_bytes, ne[0]);
    return push_tensor(w, name, type, n_dims, ne, nbytes, q);
}

/* ---- serialisation ------------------------------------------------------------------- */

typedef struct sink {
    int fd;            /* >= 0: write to fd; else grow buf */
    uint8_t *buf;
    size_t len, cap;
    int err;           /* first failure: errno, or ENOMEM */
} sink;

static void put(sink *s, const void *p, size_t n)
{
    if (s->err || n == 0) return;
    if (s->fd >= 0) {
        const uint8_t *b = p;
        while (n) {
            ssize_t k = write(s->fd, b, n);
            if (k < 0 && errno == EINTR) continue;
            if (k <= 0) {
                s->err = k < 0 ? errno : EIO;
                return;
            }
            b += k;
            n -= (size_t)k;
        }
        return;
    }
    if (n > s->cap - s->len) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap - s->len < n) {
            if (cap > SIZE_MAX / 2) {
                s->err = ENOMEM;
                return;
            }
            cap *= 2;
        }
        uint8_t *b = realloc(s->buf, cap);
        if (!b) {
            s->err = ENOMEM;
            return;
        }
        s->buf = b;
        s->cap = cap;
    }
    memcpy(s->buf + s->len, p, n);
    s->len += n;
}

static void put_u32(sink *s, uint32_t v) { put(s, &v, 4); }
static void put_u64(sink *s, uint64_t v) { put(s, &v, 8); }

static void put_zeros(sink *s, uint64_t n)
{
    static const uint8_t z[64];
    while (n) {
        size_t k = n < sizeof z ? (size_t)n : sizeof z;
        put(s, z, k);
        n -= k;
    }
}

/* general.alignment as set by the caller, else the default; 0 when set but invalid. */
static uint64_t writer_alignment(const gguf_writer *w)
{
    for (size_t i = 0; i < w->n_kv; i++) {
        if (strcmp(w->kv[i].key, "general.alignment") != 0) continue;
        uint32_t a;
        if (w->kv[i].type != GGUF_TYPE_UINT32) return 0;
        memcpy(&a, w->kv[i].val, 4);
        return a && (a & (a - 1)) == 0 ? a : 0;
    }
    return GGUF_DEFAULT_ALIGNMENT;
}

static int emit(const gguf_writer *w, sink *s)
{
    uint64_t align = writer_alignment(w);
    if (!align)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "gguf writer: general.alignment must be a uint32 power of two");
    uint64_t pos = 0;
    put(s, "GGUF", 4);
    put_u32(s, 3);
    put_u64(s, w->n_t);
    put_u64(s, w->n_kv);
    pos = 24;
    for (size_t i = 0; i < w->n_kv; i++) {
        uint64_t klen = strlen(w->kv[i].key);
        put_u64(s, klen);
        put(s, w->kv[i].key, (size_t)klen);
        put_u32(s, w->kv[i].type);
        put(s, w->kv[i].val, w->kv[i].len);
        pos += 8 + klen + 4 + w->kv[i].len;
    }
    uint64_t off = 0;
    for (size_t i = 0; i < w->n_t; i++) {
        const wtensor *t = &w->t[i];
        uint64_t nlen = strlen(t->name);
        put_u64(s, nlen);
        put(s, t->name, (size_t)nlen);
        put_u32(s, t->n_dims);
        for (uint32_t d = 0; d < t->n_dims; d++) put_u64(s, t->ne[d]);
        put_u32(s, t->type);
        put_u64(s, off);
        pos += 8 + nlen + 4 + 8ull * t->n_dims + 4 + 8;
        off += (t->nbytes + align - 1) / align * align;
    }
    put_zeros(s, (align - pos % align) % align);
    for (size_t i = 0; i < w->n_t; i++) {
        put(s, w->t[i].data, (size_t)w->t[i].nbytes);
        put_zeros(s, (align - w->t[i].nbytes % align) % align);
    }
    if (s->err)
        return wrk_error(s->err == ENOMEM ? CUDA_ERROR_OUT_OF_MEMORY : CUDA_ERROR_UNKNOWN,
                         "gguf writer: %s", strerror(s->err));
    return 0;
}

int gguf_writer_to_memory(gguf_writer *w, void **data, size_t *size)
{
    if (!w || !data || !size)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf_writer_to_memory: NULL argument");
    sink s = {.fd = -1};
    int rc = emit(w, &s);
    if (rc) {
        free(s.buf);
        return rc;
    }
    *data = s.buf;
    *size = s.len;
    return 0;
}

int gguf_writer_write(gguf_writer *w, const char *path)
{
    if (!w || !path || !*path)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf_writer_write: NULL argument");
    size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return nomem();
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int rc = wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf writer: %s: cannot create: %s",
                           path, strerror(errno));
        free(tmp);
        return rc;
    }
    fchmod(fd, 0644);
    sink s = {.fd = fd};
    int rc = emit(w, &s);
    if (!rc && fsync(fd) != 0)
        rc = wrk_error(CUDA_ERROR_UNKNOWN, "gguf writer: %s: fsync: %s", tmp, strerror(errno));
    if (close(fd) != 0 && !rc)
        rc = wrk_error(CUDA_ERROR_UNKNOWN, "gguf writer: %s: close: %s", tmp, strerror(errno));
    if (!rc && rename(tmp, path) != 0)
        rc = wrk_error(CUDA_ERROR_UNKNOWN, "gguf writer: %s: rename: %s", path,
                       strerror(errno));
    if (rc) {
        wrk_error_prefix("writing %s: ", path);
        unlink(tmp);
    }
    free(tmp);
    return rc;
}
