/*
 * ops_cudasuite.h - the end of every CUDA op test's main(): run the suite without fork()
 * (the CUDA context does not survive it), then release the test host.
 */
#ifndef OPS_CUDASUITE_H
#define OPS_CUDASUITE_H

#include <check.h>

#include "check_run.h"
#include "ops_cudahost.h"

/** Run suite s, free it, tu_cuda_host_fini(host); main()'s exit status: 0 when every test
 *  passed, else 1. */
static inline int tu_cuda_run_suite(Suite *s, wp_host *host)
{
    const int rc = check_run_suite(s, 1);
    tu_cuda_host_fini(host);
    return rc;
}

#endif
