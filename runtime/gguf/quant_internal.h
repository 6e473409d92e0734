/*
 * quant_internal.h - helpers shared by the reference quantizers (quant.c, quant_k.c).
 */
#ifndef WRK_QUANT_INTERNAL_H
#define WRK_QUANT_INTERNAL_H

#include <stdint.h>

/** Little-endian 16-bit field of a packed block. */
uint16_t wrk_q_rd16(const uint8_t *p);
void wrk_q_wr16(uint8_t *p, uint16_t v);
/** Round to nearest, ties to even (as ggml's nearest_int). */
int wrk_q_nearest_int(float f);

/** nb blocks of 256 elements. */
void wrk_dequant_q4_k(const uint8_t *src, float *dst, uint64_t nb);
void wrk_quant_q4_k(const float *src, uint8_t *dst, uint64_t nb);
void wrk_dequant_q6_k(const uint8_t *src, float *dst, uint64_t nb);
void wrk_quant_q6_k(const float *src, uint8_t *dst, uint64_t nb);

#endif
