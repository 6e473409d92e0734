/*
 * utf8.c - UTF-8 validation, repair and boundary detection (see utf8.h).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "text/utf8.h"

/* Allowed range of the second byte for each lead byte (table 3-7); later bytes 80..BF. */
static int second_ok(unsigned char lead, unsigned char b)
{
    if (lead == 0xE0) return b >= 0xA0 && b <= 0xBF;
    if (lead == 0xED) return b >= 0x80 && b <= 0x9F;
    if (lead == 0xF0) return b >= 0x90 && b <= 0xBF;
    if (lead == 0xF4) return b >= 0x80 && b <= 0x8F;
    return b >= 0x80 && b <= 0xBF;
}

static size_t lead_len(unsigned char c)
{
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) return 2;
    if (c >= 0xE0 && c <= 0xEF) return 3;
    if (c >= 0xF0 && c <= 0xF4) return 4;
    return 0;   /* continuation byte, C0, C1, F5..FF: never a lead */
}

size_t wrk_utf8_char(const unsigned char *s, size_t n, size_t *bad)
{
    size_t need = lead_len(s[0]), i;

    if (need == 0) { *bad = 1; return 0; }
    if (need == 1) return 1;
    /* The maximal subpart: the lead plus each following byte that is still allowed. */
    for (i = 1; i < need; i++) {
        int ok = i < n && (i == 1 ? second_ok(s[0], s[1]) : (s[i] & 0xC0) == 0x80);
        if (!ok) { *bad = i; return 0; }
    }
    return need;
}

char *wrk_utf8_sanitize(const char *src, size_t len, size_t *out_len)
{
    const unsigned char *s = (const unsigned char *)src;
    /* Each bad byte grows to at most 3 bytes (U+FFFD). */
    char *out = len <= (SIZE_MAX - 1) / 3 ? malloc(len * 3 + 1) : NULL;
    size_t i = 0, o = 0;

    if (!out) return NULL;
    while (i < len) {
        size_t bad = 0, c = wrk_utf8_char(s + i, len - i, &bad);
        if (c) {
            memcpy(out + o, s + i, c);
            o += c;
            i += c;
        } else {
            memcpy(out + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i += bad;
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

size_t wrk_utf8_complete_prefix(const unsigned char *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        size_t bad = 0, c = wrk_utf8_char(s + i, n - i, &bad);
        if (c) { i += c; continue; }
        /* A subpart that ran into the end of the buffer may still complete. */
        if (i + bad >= n && lead_len(s[i]) > 1) return i;
        i += bad;
    }
    return n;
}

size_t wrk_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

uint32_t wrk_utf8_decode(const unsigned char *s, size_t len)
{
    switch (len) {
    case 1: return s[0];
    case 2: return ((uint32_t)(s[0] & 0x1F) << 6) | (s[1] & 0x3F);
    case 3: return ((uint32_t)(s[0] & 0x0F) << 12) | ((uint32_t)(s[1] & 0x3F) << 6) |
                   (s[2] & 0x3F);
    default: return ((uint32_t)(s[0] & 0x07) << 18) | ((uint32_t)(s[1] & 0x3F) << 12) |
                    ((uint32_t)(s[2] & 0x3F) << 6) | (s[3] & 0x3F);
    }
}
