/*
 * quant.h - tensor element types of GGUF/ggml: sizes, names, and the reference (plain C)
 * conversion of rows to and from fp32. Layouts follow ggml exactly:
 *   F32, F16 (IEEE half), BF16 (upper half of f32), Q8_0 (32: f16 d, int8 qs[32]),
 *   Q4_0 (32: f16 d, uint8 qs[16], x = (q - 8) * d), Q4_K (256: f16 d, f16 dmin,
 *   uint8 scales[12], uint8 qs[128]), Q6_K (256: uint8 ql[128], uint8 qh[64],
 *   int8 scales[16], f16 d).
 * These are the oracle of every CUDA dequantization kernel.
 */
#ifndef WRK_QUANT_H
#define WRK_QUANT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/** 1 when type is one of the supported wp_dtype values. */
int wrk_dtype_supported(uint32_t type);
/** Name ("Q4_K"), or the ggml name of a known-but-unsupported type, or "unknown". */
const char *wrk_dtype_name(uint32_t type);
/** Elements per block (1 for F32/F16/BF16), 0 for unsupported types. */
uint32_t wrk_dtype_block_elems(uint32_t type);
/** Bytes per block, 0 for unsupported types. */
uint32_t wrk_dtype_block_bytes(uint32_t type);
/** Bytes of a row of n elements (n a multiple of the block size); 0 if not. */
uint64_t wrk_dtype_row_bytes(uint32_t type, uint64_t n);

float wrk_f16_to_f32(uint16_t h);
uint16_t wrk_f32_to_f16(float f);          /* round to nearest even */
float wrk_bf16_to_f32(uint16_t h);
uint16_t wrk_f32_to_bf16(float f);         /* round to nearest even */

/** Convert n elements of a row of type to fp32 (n a multiple of the block size). */
void wrk_dequantize_row(uint32_t type, const void *src, float *dst, uint64_t n);
/** Convert n fp32 values into a row of type (reference quantizers, as ggml's). */
void wrk_quantize_row(uint32_t type, const float *src, void *dst, uint64_t n);

#ifdef __cplusplus
}
#endif
#endif
