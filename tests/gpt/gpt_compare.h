/* gpt_compare.h - logits comparison shared by the gpt tests. */
#ifndef GPT_COMPARE_H
#define GPT_COMPARE_H
#include <stddef.h>

/* max |a[i]| */
float gpt_max_abs(const float *a, size_t n);
/* Check assertion: every a[i] finite and max |a - b| <= tol * max(1, max|b|). */
void gpt_close_enough(const float *a, const float *b, size_t n, float tol, const char *what);
#endif
