/*
 * srv_json.h - untrusted request bodies: byte-level checks before parsing (strict UTF-8,
 * nesting depth, lone surrogate escapes) and typed, range-checked field readers after.
 * Every failure writes a message naming the field for a 400 INVALID_REQUEST response.
 */
#ifndef SRV_JSON_H
#define SRV_JSON_H

#include <stddef.h>
#include <stdint.h>
#include <jansson.h>

/** Length in bytes of the longest strictly valid UTF-8 prefix of buf[0..len). */
size_t srv_utf8_valid_prefix(const char *buf, size_t len);

/** malloc'd copy of s with every invalid UTF-8 byte replaced by U+FFFD (NULL: no memory). */
char *srv_utf8_sanitize(const char *s);

/** Number of code points in the valid UTF-8 string s. */
size_t srv_utf8_chars(const char *s);

/**
 * Check a raw body before jansson sees it: strict UTF-8 (no overlongs, no encoded surrogates,
 * nothing above U+10FFFF), arrays/objects nested at most max_depth deep, and no \uXXXX escape
 * that leaves a surrogate unpaired. 0, or -1 with msg.
 */
int srv_body_precheck(const char *buf, size_t len, unsigned max_depth, char *msg, size_t cap);

/** precheck + parse into an object. Returns a new reference, or NULL with msg. */
json_t *srv_body_parse_object(const char *buf, size_t len, unsigned max_depth,
                              char *msg, size_t cap);

/* Field readers: 0 on success (absent optional fields get def), -1 with msg otherwise.
 * Integers must be JSON integers; reals accept integers and reals; booleans are never numbers. */
int srv_json_int(json_t *obj, const char *key, int required, long long lo, long long hi,
                 long long def, long long *out, char *msg, size_t cap);
int srv_json_real(json_t *obj, const char *key, double lo, double hi, double def, double *out,
                  char *msg, size_t cap);
int srv_json_bool(json_t *obj, const char *key, int def, int *out, char *msg, size_t cap);
/** String field: required or optional (NULL when absent), non-empty when nonempty is set,
 *  at most max_chars code points (0: no limit). *out points into obj. */
int srv_json_string(json_t *obj, const char *key, int required, int nonempty, size_t max_chars,
                    const char **out, char *msg, size_t cap);
/** uint64 field: a JSON integer >= 0 or a decimal string (for values above 2^63-1).
 *  *present is 0 when absent. */
int srv_json_u64(json_t *obj, const char *key, uint64_t *out, int *present, char *msg, size_t cap);

#endif
