/*
 * reader.c - open a GGUF v2/v3 image (mmap of a file, or memory) and parse its header and
 * metadata defensively. Tensor infos: reader_tensors.c; getters: reader_get.c.
 *
 * Layout (little-endian): "GGUF", u32 version, u64 n_tensors, u64 n_kv, n_kv entries
 * { string key, u32 type, value }, n_tensors infos, padding to general.alignment, data.
 * Every count and length is checked against the bytes left before it is used or anything
 * is allocated, so no allocation exceeds a small multiple of the file size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/wrk_error.h"
#include "gguf/gguf_internal.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the GGUF reader assumes a little-endian host"
#endif

/* Smallest serialised sizes, used to bound counts before allocating. */
#define MIN_KV_BYTES 13       /* u64 key length + 1 byte key + u32 type; values >= 1 byte */
#define MIN_TENSOR_BYTES 33   /* u64 + 1 byte name, u32 n_dims, one u64 dim, u32, u64 */
#define MIN_NESTED_BYTES 12   /* u32 type + u64 count */

static const struct { const char *name; uint64_t size; } type_info[GGUF_TYPE_COUNT] = {
    [GGUF_TYPE_UINT8] = {"uint8", 1},     [GGUF_TYPE_INT8] = {"int8", 1},
    [GGUF_TYPE_UINT16] = {"uint16", 2},   [GGUF_TYPE_INT16] = {"int16", 2},
    [GGUF_TYPE_UINT32] = {"uint32", 4},   [GGUF_TYPE_INT32] = {"int32", 4},
    [GGUF_TYPE_FLOAT32] = {"float32", 4}, [GGUF_TYPE_BOOL] = {"bool", 1},
    [GGUF_TYPE_STRING] = {"string", 0},   [GGUF_TYPE_ARRAY] = {"array", 0},
    [GGUF_TYPE_UINT64] = {"uint64", 8},   [GGUF_TYPE_INT64] = {"int64", 8},
    [GGUF_TYPE_FLOAT64] = {"float64", 8},
};

uint64_t gguf_type_size(enum gguf_type t)
{
    return (unsigned)t < GGUF_TYPE_COUNT ? type_info[t].size : 0;
}

const char *gguf_type_name(enum gguf_type t)
{
    return (unsigned)t < GGUF_TYPE_COUNT ? type_info[t].name : "unknown";
}

int gguf_fail(const gguf_cursor *c, uint64_t at, const char *fmt, ...)
{
    char msg[WRK_ERROR_DETAIL_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: %s: byte %llu: %s", c->source,
                     (unsigned long long)at, msg);
}

static uint64_t left(const gguf_cursor *c)
{
    return c->size - c->pos;
}

int gguf_rd_u32(gguf_cursor *c, uint32_t *v, const char *what)
{
    if (left(c) < 4)
        return gguf_fail(c, c->pos, "truncated: %s needs 4 bytes, %llu left", what,
                         (unsigned long long)left(c));
    memcpy(v, c->base + c->pos, 4);
    c->pos += 4;
    return 0;
}

int gguf_rd_u64(gguf_cursor *c, uint64_t *v, const char *what)
{
    if (left(c) < 8)
        return gguf_fail(c, c->pos, "truncated: %s needs 8 bytes, %llu left", what,
                         (unsigned long long)left(c));
    memcpy(v, c->base + c->pos, 8);
    c->pos += 8;
    return 0;
}

int gguf_rd_str(gguf_cursor *c, const uint8_t **p, uint64_t *len, const char *what)
{
    uint64_t at = c->pos;
    int rc = gguf_rd_u64(c, len, what);
    if (rc) return rc;
    if (*len > left(c))
        return gguf_fail(c, at, "%s: string length %llu exceeds the %llu bytes left", what,
                         (unsigned long long)*len, (unsigned long long)left(c));
    *p = c->base + c->pos;
    c->pos += *len;
    return 0;
}

/* Check an array header's count against the bytes left (each element needs min bytes). */
static int check_count(gguf_cursor *c, uint64_t at, uint64_t n, uint64_t min, const char *ctx)
{
    if (n > left(c) / min)
        return gguf_fail(c, at, "%s: array of %llu elements cannot fit in the %llu bytes left",
                         ctx, (unsigned long long)n, (unsigned long long)left(c));
    return 0;
}

int gguf_skip_value(gguf_cursor *c, enum gguf_type t, int depth, const char *ctx)
{
    uint64_t at = c->pos, len = 0, n = 0;
    uint32_t et = 0;
    const uint8_t *p;
    int rc;

    if ((unsigned)t >= GGUF_TYPE_COUNT)
        return gguf_fail(c, at, "%s: unknown value type %u", ctx, (unsigned)t);
    if (t == GGUF_TYPE_STRING) return gguf_rd_str(c, &p, &len, ctx);
    if (t != GGUF_TYPE_ARRAY) {
        uint64_t sz = gguf_type_size(t);
        if (left(c) < sz)
            return gguf_fail(c, at, "truncated: %s: %s value needs %llu bytes, %llu left", ctx,
                             gguf_type_name(t), (unsigned long long)sz,
                             (unsigned long long)left(c));
        c->pos += sz;
        return 0;
    }
    if (depth >= GGUF_MAX_NESTING)
        return gguf_fail(c, at, "%s: arrays nested deeper than %d levels", ctx,
                         GGUF_MAX_NESTING);
    if ((rc = gguf_rd_u32(c, &et, ctx)) || (rc = gguf_rd_u64(c, &n, ctx))) return rc;
    if (et >= GGUF_TYPE_COUNT)
        return gguf_fail(c, at, "%s: unknown array element type %u", ctx, et);
    if (et != GGUF_TYPE_STRING && et != GGUF_TYPE_ARRAY) {
        uint64_t sz = gguf_type_size((enum gguf_type)et);
        if ((rc = check_count(c, at, n, sz, ctx))) return rc;
        c->pos += n * sz;
        return 0;
    }
    if ((rc = check_count(c, at, n, et == GGUF_TYPE_STRING ? 8 : MIN_NESTED_BYTES, ctx)))
        return rc;
    for (uint64_t i = 0; i < n; i++)
        if ((rc = gguf_skip_value(c, (enum gguf_type)et, depth + 1, ctx))) return rc;
    return 0;
}

int gguf_grow(void **arr, uint64_t *cap, uint64_t i, size_t elem)
{
    if (i < *cap) return 0;
    uint64_t ncap = *cap ? *cap * 2 : 16;
    if (ncap <= i) ncap = i + 1;
    if (ncap > SIZE_MAX / elem) return -1;
    void *p = realloc(*arr, (size_t)(ncap * elem));
    if (!p) return -1;
    memset((char *)p + *cap * elem, 0, (size_t)((ncap - *cap) * elem));
    *arr = p;
    *cap = ncap;
    return 0;
}

/* Copy len bytes into a NUL-terminated string; refuse embedded NULs when strict. */
static char *dup_bytes(const uint8_t *p, uint64_t len)
{
    char *s = malloc(len + 1);
    if (!s) return NULL;
    memcpy(s, p, len);
    s[len] = '\0';
    return s;
}

static int oom(const gguf_cursor *c, uint64_t at, const char *ctx)
{
    return gguf_fail(c, at, "%s: out of host memory", ctx);
}

/* Copy an array of strings: a blob of NUL-terminated strings plus n+1 offsets. The array
 * was already validated by gguf_skip_value, so the lengths are known to fit. */
static int copy_str_array(gguf_cursor *c, gguf_kv *kv, const char *ctx)
{
    gguf_cursor w = *c;
    w.pos = (uint64_t)(kv->raw - c->base);
    uint64_t total = kv->raw_size + kv->n; /* lengths' bytes >= 8 n cover the NULs */
    kv->copy = malloc(total ? total : 1);
    kv->str_off = malloc((kv->n + 1) * sizeof(uint64_t));
    if (!kv->copy || !kv->str_off) return oom(c, kv->offset, ctx);
    uint64_t o = 0;
    for (uint64_t i = 0; i < kv->n; i++) {
        const uint8_t *p;
        uint64_t len;
        int rc = gguf_rd_str(&w, &p, &len, ctx);
        if (rc) return rc;
        kv->str_off[i] = o;
        memcpy((char *)kv->copy + o, p, len);
        o += len;
        ((char *)kv->copy)[o++] = '\0';
    }
    kv->str_off[kv->n] = o;
    return 0;
}

/* Parse one metadata entry at c into kv. */
static int read_kv(gguf_cursor *c, int64_t idx, gguf_kv *kv)
{
    char ctx[320];
    const uint8_t *kp;
    uint64_t klen = 0;
    uint32_t t = 0;
    int rc;

    kv->offset = c->pos;
    snprintf(ctx, sizeof ctx, "metadata entry %lld key", (long long)idx);
    if ((rc = gguf_rd_str(c, &kp, &klen, ctx))) return rc;
    if (klen == 0) return gguf_fail(c, kv->offset, "metadata entry %lld: empty key", (long long)idx);
    if (memchr(kp, 0, klen))
        return gguf_fail(c, kv->offset, "metadata entry %lld: key contains a NUL byte",
                         (long long)idx);
    if (!(kv->key = dup_bytes(kp, klen))) return oom(c, kv->offset, "key");
    snprintf(ctx, sizeof ctx, "key '%.256s'", kv->key);

    uint64_t at = c->pos;
    if ((rc = gguf_rd_u32(c, &t, ctx))) return rc;
    if (t >= GGUF_TYPE_COUNT) return gguf_fail(c, at, "%s: unknown value type %u", ctx, t);
    kv->type = (enum gguf_type)t;
    at = c->pos;

    if (t == GGUF_TYPE_STRING) {
        const uint8_t *p;
        if ((rc = gguf_rd_str(c, &p, &kv->n, ctx))) return rc;
        kv->raw = p;
        kv->raw_size = kv->n;
        if (!(kv->copy = dup_bytes(p, kv->n))) return oom(c, at, ctx);
        return 0;
    }
    if (t != GGUF_TYPE_ARRAY) {
        kv->n = 1;
        kv->raw = c->base + c->pos;
        kv->raw_size = gguf_type_size(kv->type);
        return gguf_skip_value(c, kv->type, 0, ctx);
    }

    /* arrays: validate the whole value first, then copy what getters hand out */
    if ((rc = gguf_skip_value(c, GGUF_TYPE_ARRAY, 0, ctx))) return rc;
    uint32_t et;
    memcpy(&et, c->base + at, 4);
    memcpy(&kv->n, c->base + at + 4, 8);
    kv->elem_type = (enum gguf_type)et;
    kv->raw = c->base + at + 12;
    kv->raw_size = c->pos - (at + 12);
    if (et == GGUF_TYPE_STRING) return copy_str_array(c, kv, ctx);
    if (et == GGUF_TYPE_ARRAY) return 0; /* nested: walked through gguf_value */
    kv->copy = malloc(kv->raw_size ? kv->raw_size : 1);
    if (!kv->copy) return oom(c, at, ctx);
    memcpy(kv->copy, kv->raw, kv->raw_size);
    return 0;
}

static int cmp_name_idx(const void *a, const void *b)
{
    const gguf_name_idx *x = a, *y = b;
    int r = strcmp(x->name, y->name);
    return r ? r : (x->idx > y->idx) - (x->idx < y->idx);
}

int gguf_name_index(gguf_name_idx *ix, int64_t n, int64_t *dup_a, int64_t *dup_b)
{
    qsort(ix, (size_t)n, sizeof *ix, cmp_name_idx);
    for (int64_t i = 1; i < n; i++) {
        if (strcmp(ix[i - 1].name, ix[i].name) == 0) {
            *dup_a = ix[i - 1].idx;
            *dup_b = ix[i].idx;
            return 1;
        }
    }
    return 0;
}

int64_t gguf_name_find(const gguf_name_idx *ix, int64_t n, const char *name)
{
    int64_t lo = 0, hi = n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo) / 2;
        int r = strcmp(ix[mid].name, name);
        if (r == 0) return ix[mid].idx;
        if (r < 0) lo = mid + 1;
        else hi = mid;
    }
    return -1;
}

/* Sort keys for lookup; refuse duplicates. */
static int index_keys(gguf_file *f, gguf_cursor *c)
{
    int64_t a, b;
    f->kv_by_key = malloc((size_t)(f->n_kv ? f->n_kv : 1) * sizeof *f->kv_by_key);
    if (!f->kv_by_key) return oom(c, 0, "key index");
    for (int64_t i = 0; i < f->n_kv; i++) f->kv_by_key[i] = (gguf_name_idx){f->kv[i].key, i};
    if (gguf_name_index(f->kv_by_key, f->n_kv, &a, &b))
        return gguf_fail(c, f->kv[b].offset,
                         "duplicate metadata key '%.256s' (first at byte %llu)", f->kv[b].key,
                         (unsigned long long)f->kv[a].offset);
    return 0;
}

/* general.alignment: optional, a uint32 power of two. */
static int read_alignment(gguf_file *f, gguf_cursor *c)
{
    int64_t i = gguf_find_key(f, "general.alignment");
    f->alignment = GGUF_DEFAULT_ALIGNMENT;
    if (i < 0) return 0;
    const gguf_kv *kv = &f->kv[i];
    if (kv->type != GGUF_TYPE_UINT32)
        return gguf_fail(c, kv->offset, "key 'general.alignment': must be a uint32, not %s",
                         gguf_type_name(kv->type));
    uint32_t a;
    memcpy(&a, kv->raw, 4);
    if (a == 0 || (a & (a - 1)) != 0)
        return gguf_fail(c, kv->offset,
                         "key 'general.alignment': %u is not a power of two", a);
    f->alignment = a;
    return 0;
}

static int read_header(gguf_file *f, gguf_cursor *c, uint64_t *n_tensors)
{
    uint32_t version = 0;
    uint64_t n_kv = 0;
    int rc;

    if (c->size < 4 || memcmp(c->base, "GGUF", 4) != 0)
        return gguf_fail(c, 0, c->size < 4 ? "file too short for a GGUF header (%llu bytes)"
                                           : "not a GGUF file (bad magic, %llu bytes)",
                         (unsigned long long)c->size);
    c->pos = 4;
    if ((rc = gguf_rd_u32(c, &version, "version"))) return rc;
    if (version == 1)
        return gguf_fail(c, 4, "GGUF version 1 is not supported (only versions 2 and 3)");
    if (version == 0x02000000u || version == 0x03000000u)
        return gguf_fail(c, 4, "big-endian GGUF files are not supported");
    if (version != 2 && version != 3)
        return gguf_fail(c, 4, "unsupported GGUF version %u (only 2 and 3)", version);
    f->version = version;
    if ((rc = gguf_rd_u64(c, n_tensors, "tensor count"))) return rc;
    if ((rc = gguf_rd_u64(c, &n_kv, "metadata count"))) return rc;
    if (*n_tensors > left(c) / MIN_TENSOR_BYTES)
        return gguf_fail(c, 8, "tensor count %llu cannot fit in the %llu bytes left",
                         (unsigned long long)*n_tensors, (unsigned long long)left(c));
    if (n_kv > left(c) / MIN_KV_BYTES)
        return gguf_fail(c, 16, "metadata count %llu cannot fit in the %llu bytes left",
                         (unsigned long long)n_kv, (unsigned long long)left(c));
    uint64_t cap = 0;
    for (uint64_t i = 0; i < n_kv; i++) {
        if (gguf_grow((void **)&f->kv, &cap, i, sizeof *f->kv)) return oom(c, c->pos, "metadata");
        f->n_kv = (int64_t)i + 1; /* so close() frees a partially parsed entry */
        if ((rc = read_kv(c, (int64_t)i, &f->kv[i]))) return rc;
    }
    if ((rc = index_keys(f, c))) return rc;
    return read_alignment(f, c);
}

/* Parse the whole image; f->base/size/source are set. */
static int parse(gguf_file *f)
{
    gguf_cursor c = {f->base, f->size, 0, f->source};
    uint64_t n_tensors = 0;
    int rc = read_header(f, &c, &n_tensors);
    if (rc) return rc;
    return gguf_read_tensors(f, &c, n_tensors);
}

static gguf_file *new_file(const char *source)
{
    gguf_file *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    if (!(f->source = strdup(source))) {
        free(f);
        return NULL;
    }
    return f;
}

int gguf_open_memory(const void *data, size_t size, gguf_file **out)
{
    if (!out || (!data && size))
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf_open_memory: NULL argument");
    *out = NULL;
    gguf_file *f = new_file("<memory>");
    if (!f) return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: out of host memory");
    f->base = data ? data : (const uint8_t *)"";
    f->size = size;
    int rc = parse(f);
    if (rc) {
        gguf_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

int gguf_open(const char *path, gguf_file **out)
{
    struct stat st;
    if (!path || !out) return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf_open: NULL argument");
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: %s: cannot open: %s", path,
                         strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: %s: not a regular file", path);
    }
    if (st.st_size < 24) {
        close(fd);
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED,
                         "gguf: %s: byte 0: file too short for a GGUF header (%lld bytes)",
                         path, (long long)st.st_size);
    }
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd); /* the mapping keeps the file */
    if (map == MAP_FAILED)
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: %s: mmap failed: %s", path,
                         strerror(err));
    gguf_file *f = new_file(path);
    if (!f) {
        munmap(map, (size_t)st.st_size);
        return wrk_error(CUDA_ERROR_MODEL_LOAD_FAILED, "gguf: out of host memory");
    }
    f->base = map;
    f->size = (uint64_t)st.st_size;
    f->mapped = 1;
    int rc = parse(f);
    if (rc) {
        gguf_close(f);
        return rc;
    }
    *out = f;
    return 0;
}

void gguf_close(gguf_file *f)
{
    if (!f) return;
    for (int64_t i = 0; i < f->n_kv; i++) {
        free(f->kv[i].key);
        free(f->kv[i].copy);
        free(f->kv[i].str_off);
    }
    free(f->kv);
    free(f->kv_by_key);
    for (int64_t i = 0; i < f->n_tensors; i++) free((char *)f->tensors[i].name);
    free(f->tensors);
    free(f->t_by_name);
    if (f->mapped) munmap((void *)f->base, (size_t)f->size);
    free(f->source);
    free(f);
}
