/*
 * wc_input.c - bounds-checked reads from a mapped input file (see wc_input.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/wrk_error.h"
#include "wc_input.h"

int wc_input_open(const char *path, wc_input *in)
{
    struct stat st;
    int fd;

    memset(in, 0, sizeof *in);
    in->path = path;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: cannot open: %s", path,
                         strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: not a regular file", path);
    }
    in->size = (size_t)st.st_size;
    if (in->size == 0) {
        close(fd);
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: empty file", path);
    }
    in->data = mmap(NULL, in->size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);   /* the mapping keeps the file alive */
    if (in->data == MAP_FAILED) {
        in->data = NULL;
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: cannot map %zu bytes: %s", path,
                         in->size, strerror(errno));
    }
    return 0;
}

void wc_input_close(wc_input *in)
{
    if (in->data)
        munmap((void *)in->data, in->size);
    in->data = NULL;
    in->size = 0;
}

int wc_read_bytes(wc_input *in, uint64_t n, const char *what, const uint8_t **out)
{
    uint64_t left = in->size - in->off;
    if (n > left)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s: truncated at byte offset %zu reading %s: need %llu bytes, "
                         "%llu left (file size %zu)", in->path, in->off, what,
                         (unsigned long long)n, (unsigned long long)left, in->size);
    *out = in->data + in->off;
    in->off += (size_t)n;
    return 0;
}

int wc_read_i32(wc_input *in, const char *what, int32_t *out)
{
    const uint8_t *p = NULL;
    int rc = wc_read_bytes(in, 4, what, &p);
    if (rc) return rc;
    memcpy(out, p, 4);   /* host is little-endian, as the format */
    return 0;
}

int wc_read_f32(wc_input *in, const char *what, float *out)
{
    const uint8_t *p = NULL;
    int rc = wc_read_bytes(in, 4, what, &p);
    if (rc) return rc;
    memcpy(out, p, 4);
    return 0;
}

int wc_read_f32_array(wc_input *in, uint64_t n, const char *what, const float **out)
{
    const uint8_t *p = NULL;
    int rc;
    if (n > UINT64_MAX / 4)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "%s: %s: element count %llu overflows",
                         in->path, what, (unsigned long long)n);
    if (in->off % 4 != 0)
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER,
                         "%s: %s at byte offset %zu is not 4-byte aligned", in->path, what,
                         in->off);
    rc = wc_read_bytes(in, n * 4, what, &p);
    if (rc) return rc;
    *out = (const float *)(const void *)p;
    return 0;
}
