/*
 * reader_get.c - accessors and typed getters of a parsed GGUF file (gguf.h), and the
 * walk over serialised values (gguf_value) used for nested arrays.
 */
#include <string.h>

#include "core/wrk_error.h"
#include "gguf/gguf_internal.h"

uint32_t gguf_version(const gguf_file *f) { return f ? f->version : 0; }
uint64_t gguf_alignment(const gguf_file *f) { return f ? f->alignment : 0; }
uint64_t gguf_data_offset(const gguf_file *f) { return f ? f->data_offset : 0; }
uint64_t gguf_file_size(const gguf_file *f) { return f ? f->size : 0; }
int64_t gguf_n_kv(const gguf_file *f) { return f ? f->n_kv : 0; }
int64_t gguf_n_tensors(const gguf_file *f) { return f ? f->n_tensors : 0; }

int64_t gguf_find_key(const gguf_file *f, const char *key)
{
    if (!f || !key) return -1;
    return gguf_name_find(f->kv_by_key, f->n_kv, key);
}

const char *gguf_key(const gguf_file *f, int64_t i)
{
    return f && i >= 0 && i < f->n_kv ? f->kv[i].key : NULL;
}

enum gguf_type gguf_kv_type(const gguf_file *f, int64_t i)
{
    return f && i >= 0 && i < f->n_kv ? f->kv[i].type : GGUF_TYPE_COUNT;
}

const gguf_tensor_info *gguf_tensor(const gguf_file *f, int64_t i)
{
    return f && i >= 0 && i < f->n_tensors ? &f->tensors[i] : NULL;
}

const gguf_tensor_info *gguf_find_tensor(const gguf_file *f, const char *name)
{
    if (!f || !name) return NULL;
    int64_t i = gguf_name_find(f->t_by_name, f->n_tensors, name);
    return i < 0 ? NULL : &f->tensors[i];
}

/* The entry of key, or NULL with a detail naming the key. */
static const gguf_kv *lookup(const gguf_file *f, const char *key)
{
    if (!f || !key) {
        wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: NULL file or key");
        return NULL;
    }
    int64_t i = gguf_find_key(f, key);
    if (i < 0) {
        wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: %s: metadata key '%s' is missing",
                  f->source, key);
        return NULL;
    }
    return &f->kv[i];
}

static int wrong_type(const gguf_file *f, const gguf_kv *kv, const char *want)
{
    return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                     "gguf: %s: metadata key '%s' is %s, expected %s", f->source, kv->key,
                     gguf_type_name(kv->type), want);
}

/* An integer (or bool) scalar as a sign and magnitude; 0 when kv is not one. */
static int int_value(const gguf_kv *kv, int allow_bool, int *neg, uint64_t *mag)
{
    uint8_t b[8] = {0};
    memcpy(b, kv->raw, kv->raw_size <= 8 ? kv->raw_size : 8);
    uint64_t u;
    int64_t s;
    *neg = 0;
    switch (kv->type) {
    case GGUF_TYPE_BOOL:
        if (!allow_bool) return 0;
        *mag = b[0] != 0;
        return 1;
    case GGUF_TYPE_UINT8: *mag = b[0]; return 1;
    case GGUF_TYPE_UINT16: { uint16_t v; memcpy(&v, b, 2); *mag = v; return 1; }
    case GGUF_TYPE_UINT32: { uint32_t v; memcpy(&v, b, 4); *mag = v; return 1; }
    case GGUF_TYPE_UINT64: memcpy(&u, b, 8); *mag = u; return 1;
    case GGUF_TYPE_INT8: s = (int8_t)b[0]; break;
    case GGUF_TYPE_INT16: { int16_t v; memcpy(&v, b, 2); s = v; break; }
    case GGUF_TYPE_INT32: { int32_t v; memcpy(&v, b, 4); s = v; break; }
    case GGUF_TYPE_INT64: memcpy(&s, b, 8); break;
    default: return 0;
    }
    *neg = s < 0;
    *mag = s < 0 ? (uint64_t)0 - (uint64_t)s : (uint64_t)s;
    return 1;
}

static int out_of_range(const gguf_file *f, const gguf_kv *kv, int neg, uint64_t mag,
                        const char *dst)
{
    return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                     "gguf: %s: metadata key '%s' value %s%llu does not fit %s", f->source,
                     kv->key, neg ? "-" : "", (unsigned long long)mag, dst);
}

int gguf_get_u32(const gguf_file *f, const char *key, uint32_t *out)
{
    const gguf_kv *kv = lookup(f, key);
    int neg;
    uint64_t mag;
    if (!kv) return CUDA_ERROR_MODEL_LOAD_FAILED;
    if (!int_value(kv, 1, &neg, &mag)) return wrong_type(f, kv, "an integer");
    if (neg || mag > UINT32_MAX) return out_of_range(f, kv, neg, mag, "uint32");
    if (out) *out = (uint32_t)mag;
    return 0;
}

int gguf_get_u64(const gguf_file *f, const char *key, uint64_t *out)
{
    const gguf_kv *kv = lookup(f, key);
    int neg;
    uint64_t mag;
    if (!kv) return CUDA_ERROR_MODEL_LOAD_FAILED;
    if (!int_value(kv, 0, &neg, &mag)) return wrong_type(f, kv, "an integer");
    if (neg) return out_of_range(f, kv, neg, mag, "uint64");
    if (out) *out = mag;
    return 0;
}

int gguf_get_i64(const gguf_file *f, const char *key, int64_t *out)
{
    const gguf_kv *kv = lookup(f, key);
    int neg;
    uint64_t mag;
    if (!kv) return CUDA_ERROR_MODEL_LOAD_FAILED;
    if (!int_value(kv, 0, &neg, &mag)) return wrong_type(f, kv, "an integer");
    if (!neg && mag > (uint64_t)INT64_MAX) return out_of_range(f, kv, neg, mag, "int64");
    if (out) *out = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    return 0;
}

int gguf_get_f32(const gguf_file *f, const char *key, float *out)
{
    const gguf_kv *kv = lookup(f, key);
    if (!kv) return CUDA_ERROR_MODEL_LOAD_FAILED;
    if (kv->type == GGUF_TYPE_FLOAT32) {
        float v;
        memcpy(&v, kv->raw, 4);
        if (out) *out = v;
    } else if (kv->type == GGUF_TYPE_FLOAT64) {
        double v;
        memcpy(&v, kv->raw, 8);
        if (out) *out = (float)v;
    } else {
        return wrong_type(f, kv, "float32 or float64");
    }
    return 0;
}

int gguf_get_bool(const gguf_file *f, const char *key, int *out)
{
    const gguf_kv *kv = lookup(f, key);
    if (!kv) return CUDA_ERROR_MODEL_LOAD_FAILED;
    if (kv->type != GGUF_TYPE_BOOL) return wrong_type(f, kv, "bool");
    if (out) *out = kv->raw[0] != 0;
    return 0;
}

int gguf_get_str(const gguf_file *f, const char *key, const char **out)
{
    const gguf_kv *kv = lookup(f, key);
    if (!kv) return CUDA_ERROR_MODEL_LOAD_FAILED;
    if (kv->type != GGUF_TYPE_STRING) return wrong_type(f, kv, "string");
    if (out) *out = kv->copy;
    return 0;
}

int gguf_get_arr_info(const gguf_file *f, const char *key, enum gguf_type *elem_type,
                      uint64_t *n)
{
    const gguf_kv *kv = lookup(f, key);
    if (!kv) return CUDA_ERROR_MODEL_LOAD_FAILED;
    if (kv->type != GGUF_TYPE_ARRAY) return wrong_type(f, kv, "array");
    if (elem_type) *elem_type = kv->elem_type;
    if (n) *n = kv->n;
    return 0;
}

/* The array entry of key when its elements are of the wanted kind, else NULL. */
static const gguf_kv *array_kv(const gguf_file *f, const char *key, int want_str)
{
    int64_t i = gguf_find_key(f, key);
    if (i < 0 || f->kv[i].type != GGUF_TYPE_ARRAY) return NULL;
    enum gguf_type et = f->kv[i].elem_type;
    if (want_str ? et != GGUF_TYPE_STRING : (et == GGUF_TYPE_STRING || et == GGUF_TYPE_ARRAY))
        return NULL;
    return &f->kv[i];
}

const void *gguf_get_arr_data(const gguf_file *f, const char *key)
{
    const gguf_kv *kv = array_kv(f, key, 0);
    return kv ? kv->copy : NULL;
}

const char *gguf_get_arr_str(const gguf_file *f, const char *key, uint64_t i)
{
    const gguf_kv *kv = array_kv(f, key, 1);
    if (!kv || i >= kv->n) return NULL;
    return (const char *)kv->copy + kv->str_off[i];
}

uint64_t gguf_get_arr_str_len(const gguf_file *f, const char *key, uint64_t i)
{
    const gguf_kv *kv = array_kv(f, key, 1);
    if (!kv || i >= kv->n) return 0;
    return kv->str_off[i + 1] - kv->str_off[i] - 1;
}

/* --- gguf_value ------------------------------------------------------------------------ */

int gguf_kv_value(const gguf_file *f, int64_t i, gguf_value *out)
{
    if (!f || !out || i < 0 || i >= f->n_kv)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf_kv_value: bad entry %lld",
                         (long long)i);
    const gguf_kv *kv = &f->kv[i];
    out->type = kv->type;
    out->elem_type = kv->type == GGUF_TYPE_ARRAY ? kv->elem_type : GGUF_TYPE_COUNT;
    out->n = kv->n;
    out->data = kv->raw;
    out->size = kv->raw_size;
    return 0;
}

/* Read the value of type t at c (already bounds-checked by skipping) into out. */
static int value_at(gguf_cursor *c, enum gguf_type t, gguf_value *out)
{
    uint64_t start = c->pos;
    int rc = gguf_skip_value(c, t, 1, "value");
    if (rc) return rc;
    const uint8_t *p = c->base + start;
    out->type = t;
    out->elem_type = GGUF_TYPE_COUNT;
    if (t == GGUF_TYPE_STRING) {
        memcpy(&out->n, p, 8);
        out->data = p + 8;
        out->size = out->n;
    } else if (t == GGUF_TYPE_ARRAY) {
        uint32_t et;
        memcpy(&et, p, 4);
        memcpy(&out->n, p + 4, 8);
        out->elem_type = (enum gguf_type)et;
        out->data = p + 12;
        out->size = c->pos - start - 12;
    } else {
        out->n = 1;
        out->data = p;
        out->size = c->pos - start;
    }
    return 0;
}

int gguf_value_elem(const gguf_value *arr, uint64_t i, gguf_value *out)
{
    if (!arr || !out || arr->type != GGUF_TYPE_ARRAY || i >= arr->n || (!arr->data && arr->size))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "gguf_value_elem: not an array or index %llu out of range",
                         (unsigned long long)i);
    gguf_cursor c = {arr->data, arr->size, 0, "<value>"};
    uint64_t sz = gguf_type_size(arr->elem_type);
    if (sz) {
        if (i >= c.size / sz)
            return gguf_fail(&c, 0, "array of %llu %s does not fit %llu bytes",
                             (unsigned long long)arr->n, gguf_type_name(arr->elem_type),
                             (unsigned long long)c.size);
        c.pos = i * sz;
        return value_at(&c, arr->elem_type, out);
    }
    for (uint64_t k = 0; k < i; k++) {
        int rc = gguf_skip_value(&c, arr->elem_type, 1, "array element");
        if (rc) return rc;
    }
    return value_at(&c, arr->elem_type, out);
}

int gguf_value_check(const gguf_value *v)
{
    if (!v || (!v->data && v->size) || (unsigned)v->type >= GGUF_TYPE_COUNT)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "gguf_value_check: bad value");
    gguf_cursor c = {v->data, v->size, 0, "<value>"};
    uint64_t sz = gguf_type_size(v->type);
    if (sz) {
        if (v->size != sz)
            return gguf_fail(&c, 0, "%s value of %llu bytes", gguf_type_name(v->type),
                             (unsigned long long)v->size);
        return 0;
    }
    if (v->type == GGUF_TYPE_STRING) {
        if (v->n != v->size) return gguf_fail(&c, 0, "string length %llu != size %llu",
                                              (unsigned long long)v->n,
                                              (unsigned long long)v->size);
        return 0;
    }
    if ((unsigned)v->elem_type >= GGUF_TYPE_COUNT)
        return gguf_fail(&c, 0, "unknown array element type %u", (unsigned)v->elem_type);
    for (uint64_t k = 0; k < v->n; k++) {
        int rc = gguf_skip_value(&c, v->elem_type, 1, "array element");
        if (rc) return rc;
    }
    if (c.pos != c.size)
        return gguf_fail(&c, c.pos, "%llu trailing bytes after %llu array elements",
                         (unsigned long long)(c.size - c.pos), (unsigned long long)v->n);
    return 0;
}
