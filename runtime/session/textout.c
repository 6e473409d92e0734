/*
 * textout.c - UTF-8 and stop-sequence holdback of generated text (see textout.h).
 */
#include <stdlib.h>
#include <string.h>

#include "core/wrk_error.h"
#include "session/textout.h"
#include "text/utf8.h"

int wrk_textout_init(wrk_textout *o, const char *const *stops, int n_stop)
{
    memset(o, 0, sizeof *o);
    if (n_stop < 0 || n_stop > WRK_TEXTOUT_MAX_STOPS || (n_stop > 0 && !stops))
        return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "stop sequences: %d given (0..%d)",
                         n_stop, WRK_TEXTOUT_MAX_STOPS);
    for (int i = 0; i < n_stop; i++) {
        if (!stops[i] || !stops[i][0]) {
            wrk_textout_free(o);
            return wrk_error(CUDA_ERROR_INVALID_PARAMETER, "stop sequence %d is empty", i);
        }
        o->stop[i] = strdup(stops[i]);
        if (!o->stop[i]) {
            wrk_textout_free(o);
            return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "stop sequences: out of memory");
        }
        o->stop_len[i] = strlen(stops[i]);
        o->n_stop = i + 1;
    }
    return 0;
}

void wrk_textout_free(wrk_textout *o)
{
    for (int i = 0; i < o->n_stop; i++) free(o->stop[i]);
    free(o->buf);
    memset(o, 0, sizeof *o);
}

int wrk_textout_push(wrk_textout *o, const char *bytes, size_t n)
{
    if (n == 0) return 0;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 64;
        char *b;
        while (cap < o->len + n) cap *= 2;
        b = realloc(o->buf, cap);
        if (!b) return wrk_error(CUDA_ERROR_OUT_OF_MEMORY, "output text: out of memory");
        o->buf = b;
        o->cap = cap;
    }
    /* U+0000 cannot cross the NUL-terminated FFI: it is dropped. */
    for (size_t i = 0; i < n; i++)
        if (bytes[i] != '\0') o->buf[o->len++] = bytes[i];
    return 0;
}

size_t wrk_textout_ready(const wrk_textout *o, int final, int *stopped)
{
    size_t best = o->len, hold = 0, ready;
    int found = 0;

    *stopped = 0;
    for (int i = 0; i < o->n_stop; i++) {
        const char *hit = o->len ? memmem(o->buf, o->len, o->stop[i], o->stop_len[i]) : NULL;
        if (hit && (size_t)(hit - o->buf) <= best) {
            best = (size_t)(hit - o->buf);
            found = 1;
        }
    }
    if (found) {
        *stopped = 1;
        return best;
    }
    if (final) return o->len;
    /* The longest tail of buf that a stop sequence starts with. */
    for (int i = 0; i < o->n_stop; i++) {
        size_t max = o->stop_len[i] - 1 < o->len ? o->stop_len[i] - 1 : o->len;
        for (size_t k = max; k > hold; k--)
            if (memcmp(o->buf + o->len - k, o->stop[i], k) == 0) { hold = k; break; }
    }
    ready = wrk_utf8_complete_prefix((const unsigned char *)o->buf, o->len - hold);
    return ready;
}

char *wrk_textout_take(wrk_textout *o, size_t n, size_t *out_len)
{
    char *s;
    if (n > o->len) n = o->len;
    s = wrk_utf8_sanitize(o->buf ? o->buf : "", n, out_len);
    if (!s) return NULL;
    if (o->buf) memmove(o->buf, o->buf + n, o->len - n);
    o->len -= n;
    return s;
}

void wrk_textout_clear(wrk_textout *o)
{
    o->len = 0;
}
