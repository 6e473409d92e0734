/* gpt_testutil.h - helpers shared by the gpt tests: logits comparison, GPU probe. */
#ifndef GPT_TESTUTIL_H
#define GPT_TESTUTIL_H
#include <stddef.h>

/* max |a[i]| */
float gpt_max_abs(const float *a, size_t n);
/* Check assertion: every a[i] finite and max |a - b| <= tol * max(1, max|b|). */
void gpt_close_enough(const float *a, const float *b, size_t n, float tol, const char *what);
/* Number of CUDA devices, asked of a child process (this test run as "EXE --count") so
 * that the test process itself never initialises CUDA before Check runs the tests. */
int gpt_device_count_in_child(void);
#endif
