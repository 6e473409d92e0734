/*
 * srv_json.c - checks and typed readers for untrusted JSON bodies (see srv_json.h).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "srv_json.h"

size_t srv_utf8_valid_prefix(const char *buf, size_t len)
{
    const unsigned char *s = (const unsigned char *)buf;
    size_t i = 0;

    while (i < len) {
        unsigned c = s[i];
        size_t n;
        unsigned cp, min;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { n = 1; cp = c & 0x1F; min = 0x80; }
        else if (c >= 0xE0 && c <= 0xEF) { n = 2; cp = c & 0x0F; min = 0x800; }
        else if (c >= 0xF0 && c <= 0xF4) { n = 3; cp = c & 0x07; min = 0x10000; }
        else return i;
        if (i + n >= len) return i;   /* truncated sequence */
        for (size_t k = 1; k <= n; k++) {
            if ((s[i + k] & 0xC0) != 0x80) return i;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        /* overlong forms, UTF-16 surrogates and code points past U+10FFFF are invalid */
        if (cp < min || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) return i;
        i += n + 1;
    }
    return i;
}

char *srv_utf8_sanitize(const char *s)
{
    size_t len = strlen(s), o = 0;
    char *out = malloc(len * 3 + 1);   /* worst case: every byte becomes 3 */

    if (!out) return NULL;
    while (*s) {
        size_t ok = srv_utf8_valid_prefix(s, strlen(s));
        memcpy(out + o, s, ok);
        o += ok;
        s += ok;
        if (*s) {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            s++;
        }
    }
    out[o] = '\0';
    return out;
}

size_t srv_utf8_chars(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

static int hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        char c = p[k];
        v <<= 4;
        if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
        else return -1;
    }
    *out = v;
    return 0;
}

int srv_body_precheck(const char *buf, size_t len, unsigned max_depth, char *msg, size_t cap)
{
    size_t ok = srv_utf8_valid_prefix(buf, len);
    unsigned depth = 0;
    int in_string = 0;

    if (ok != len) {
        snprintf(msg, cap, "request body is not valid UTF-8 (byte offset %zu)", ok);
        return -1;
    }
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '"') {
                in_string = 0;
            } else if (c == '\\' && i + 1 < len) {
                unsigned u, lo;
                i++;
                if (buf[i] != 'u') continue;
                if (i + 4 >= len || hex4(buf + i + 1, &u) != 0) continue; /* parser reports */
                i += 4;
                if (u >= 0xDC00 && u <= 0xDFFF) {
                    snprintf(msg, cap, "lone low surrogate \\u%04X in a string (offset %zu)",
                             u, i - 5);
                    return -1;
                }
                if (u >= 0xD800 && u <= 0xDBFF) {
                    if (i + 6 < len && buf[i + 1] == '\\' && buf[i + 2] == 'u' &&
                        hex4(buf + i + 3, &lo) == 0 && lo >= 0xDC00 && lo <= 0xDFFF) {
                        i += 6;
                        continue;
                    }
                    snprintf(msg, cap, "lone high surrogate \\u%04X in a string (offset %zu)",
                             u, i - 5);
                    return -1;
                }
            }
            continue;
        }
        if (c == '"') {
            in_string = 1;
        } else if (c == '[' || c == '{') {
            if (++depth > max_depth) {
                snprintf(msg, cap, "JSON nested deeper than %u levels", max_depth);
                return -1;
            }
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        }
    }
    return 0;
}

json_t *srv_body_parse_object(const char *buf, size_t len, unsigned max_depth,
                              char *msg, size_t cap)
{
    json_error_t jerr;
    json_t *root;

    if (len == 0) {
        snprintf(msg, cap, "request body is empty; a JSON object is expected");
        return NULL;
    }
    if (srv_body_precheck(buf, len, max_depth, msg, cap) != 0) return NULL;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!root) {
        snprintf(msg, cap, "malformed JSON at line %d column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        return NULL;
    }
    if (!json_is_object(root)) {
        json_decref(root);
        snprintf(msg, cap, "request body must be a JSON object");
        return NULL;
    }
    return root;
}

static const char *type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    default: return "null";
    }
}

int srv_json_int(json_t *obj, const char *key, int required, long long lo, long long hi,
                 long long def, long long *out, char *msg, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        if (required) {
            snprintf(msg, cap, "missing required field '%s'", key);
            return -1;
        }
        *out = def;
        return 0;
    }
    if (!json_is_integer(v)) {
        snprintf(msg, cap, "field '%s' must be an integer, got %s", key, type_name(v));
        return -1;
    }
    long long x = json_integer_value(v);
    if (x < lo || x > hi) {
        snprintf(msg, cap, "field '%s' = %lld is out of range [%lld, %lld]", key, x, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int srv_json_real(json_t *obj, const char *key, double lo, double hi, double def, double *out,
                  char *msg, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_number(v)) {
        snprintf(msg, cap, "field '%s' must be a number, got %s", key, type_name(v));
        return -1;
    }
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi) {
        snprintf(msg, cap, "field '%s' = %g is out of range [%g, %g]", key, x, lo, hi);
        return -1;
    }
    *out = x;
    return 0;
}

int srv_json_bool(json_t *obj, const char *key, int def, int *out, char *msg, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    if (!v) {
        *out = def;
        return 0;
    }
    if (!json_is_boolean(v)) {
        snprintf(msg, cap, "field '%s' must be a boolean, got %s", key, type_name(v));
        return -1;
    }
    *out = json_is_true(v);
    return 0;
}

int srv_json_string(json_t *obj, const char *key, int required, int nonempty, size_t max_chars,
                    const char **out, char *msg, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    *out = NULL;
    if (!v) {
        if (required) {
            snprintf(msg, cap, "missing required field '%s'", key);
            return -1;
        }
        return 0;
    }
    if (!json_is_string(v)) {
        snprintf(msg, cap, "field '%s' must be a string, got %s", key, type_name(v));
        return -1;
    }
    const char *s = json_string_value(v);
    if (nonempty && !*s) {
        snprintf(msg, cap, "field '%s' must not be empty", key);
        return -1;
    }
    if (max_chars && srv_utf8_chars(s) > max_chars) {
        snprintf(msg, cap, "field '%s' is longer than %zu characters", key, max_chars);
        return -1;
    }
    *out = s;
    return 0;
}

int srv_json_u64(json_t *obj, const char *key, uint64_t *out, int *present, char *msg, size_t cap)
{
    json_t *v = json_object_get(obj, key);
    *present = 0;
    if (!v) return 0;
    if (json_is_integer(v)) {
        if (json_integer_value(v) < 0) {
            snprintf(msg, cap, "field '%s' must be a non-negative integer", key);
            return -1;
        }
        *out = (uint64_t)json_integer_value(v);
        *present = 1;
        return 0;
    }
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        if (*s < '0' || *s > '9') goto bad;
        unsigned long long x = strtoull(s, &end, 10);
        if (errno || *end || end - s > 20) goto bad;
        *out = x;
        *present = 1;
        return 0;
    }
bad:
    snprintf(msg, cap, "field '%s' must be an unsigned 64-bit integer (number or decimal string)",
             key);
    return -1;
}
