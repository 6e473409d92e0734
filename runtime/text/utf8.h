/*
 * utf8.h - the UTF-8 rules the tokenizers and the session share.
 *
 * Validity follows Unicode 15 table 3-7 (no overlongs, no surrogates, nothing above
 * U+10FFFF). Invalid input is repaired with U+FFFD by "substitution of maximal subparts"
 * (Unicode ch. 3, the WHATWG decoder, Python's errors="replace"), so our ids match a
 * reference that decoded the same bytes with TextDecoder or HF tokenizers.
 */
#ifndef WRK_UTF8_H
#define WRK_UTF8_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Length of the valid character at s[0..n) (1..4), or 0 when the bytes there are not
 *  the start of a complete valid character; *bad receives the length of the maximal
 *  invalid subpart to replace (>= 1) in that case. n must be >= 1. */
size_t wrk_utf8_char(const unsigned char *s, size_t n, size_t *bad);

/** Copy src into a new malloc'd buffer with each invalid subpart replaced by U+FFFD;
 *  NUL-terminated, *out_len excludes the NUL. NULL on OOM. */
char *wrk_utf8_sanitize(const char *src, size_t len, size_t *out_len);

/** Length of the longest prefix of s[0..n) that ends on a character boundary, treating a
 *  trailing truncated-but-so-far-valid sequence as incomplete (held back). Invalid bytes
 *  count as complete (they will never become valid). */
size_t wrk_utf8_complete_prefix(const unsigned char *s, size_t n);

/** Encode code point cp (<= 0x10FFFF) into out[4]; returns the byte count. */
size_t wrk_utf8_encode(uint32_t cp, char *out);

/** Decode the valid character at s (as wrk_utf8_char said); returns the code point. */
uint32_t wrk_utf8_decode(const unsigned char *s, size_t len);

#ifdef __cplusplus
}
#endif
#endif
