/* gpt_testutil.c - helpers shared by the gpt tests (see gpt_testutil.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <check.h>

#include "gpt_testutil.h"

float gpt_max_abs(const float *a, size_t n)
{
    float m = 0;
    for (size_t i = 0; i < n; i++) m = fmaxf(m, fabsf(a[i]));
    return m;
}

void gpt_close_enough(const float *a, const float *b, size_t n, float tol, const char *what)
{
    float scale = fmaxf(1.0f, gpt_max_abs(b, n)), worst = 0;
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        float e = fabsf(a[i] - b[i]);
        ck_assert_msg(isfinite(a[i]), "%s: non-finite value at %zu", what, i);
        if (e > worst) { worst = e; at = i; }
    }
    ck_assert_msg(worst <= tol * scale, "%s: max error %g at %zu (%g vs %g), allowed %g", what,
                  worst, at, a[at], b[at], tol * scale);
}

int gpt_device_count_in_child(void)
{
    char cmd[2100], exe[2048], line[32] = "0";
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    FILE *p;
    if (n <= 0) return 0;
    exe[n] = '\0';
    snprintf(cmd, sizeof cmd, "'%s' --count", exe);
    p = popen(cmd, "r");
    if (!p) return 0;
    if (!fgets(line, sizeof line, p)) line[0] = '0';
    pclose(p);
    return atoi(line);
}
