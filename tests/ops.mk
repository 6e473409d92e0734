# Tests of the kernel library (runtime/ops).
#  test_ops_host: the reference set against a naive double-precision computation (CI).
#  test_ops_cuda: every CUDA op against the reference set (exits 77 without a GPU).
#  test_ops_fused_host / _cuda: the ABI 1.1 ops (fused products, decode step, graphs).
#  test_ops_argmax_host / _cuda: the ABI 1.2 argmax (host vs the sampler's greedy choice,
#                 CUDA vs host, in a graph).
#  test_ops_readback_host / _cuda: the ABI 1.3 readback_start/finish (bytes, stream order,
#                 waiting for the copy only, the pool, argument checks).
#  test_ops_int8_cuda: the int8-dot decode path of the quantized types (exits 77 without a
#                 GPU); ops_int8ref.c holds its checks, shared with the two CUDA tests above.
#  bench_gemv:    decode GEMV timings on the device (run by hand, not part of TESTS).
#  bench_gemm:    prefill (n = 512) matmul timings on the device (likewise).
check_PROGRAMS += tests/ops/test_ops_host
TESTS += tests/ops/test_ops_host
tests_ops_test_ops_host_SOURCES = tests/ops/test_ops_host.c tests/ops/ops_testutil.c \
	tests/ops/ops_testutil.h
tests_ops_test_ops_host_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_host_LDADD = $(WRK_TESTLIBS)
tests_ops_test_ops_host_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/ops/test_ops_fused_host
TESTS += tests/ops/test_ops_fused_host
tests_ops_test_ops_fused_host_SOURCES = tests/ops/test_ops_fused_host.c \
	tests/ops/ops_testutil.c tests/ops/ops_testutil.h
tests_ops_test_ops_fused_host_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_fused_host_LDADD = $(WRK_TESTLIBS) -lm
tests_ops_test_ops_fused_host_LDFLAGS = $(WRK_TESTLINK)

ARGMAX_CASES = tests/ops/argmax_cases.c tests/ops/argmax_cases.h tests/ops/ops_testutil.c \
	tests/ops/ops_testutil.h
check_PROGRAMS += tests/ops/test_ops_argmax_host
TESTS += tests/ops/test_ops_argmax_host
tests_ops_test_ops_argmax_host_SOURCES = tests/ops/test_ops_argmax_host.c $(ARGMAX_CASES)
tests_ops_test_ops_argmax_host_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_argmax_host_LDADD = $(WRK_TESTLIBS) -lm
tests_ops_test_ops_argmax_host_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/ops/test_ops_readback_host
TESTS += tests/ops/test_ops_readback_host
tests_ops_test_ops_readback_host_SOURCES = tests/ops/test_ops_readback_host.c
tests_ops_test_ops_readback_host_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_readback_host_LDADD = $(WRK_TESTLIBS)
tests_ops_test_ops_readback_host_LDFLAGS = $(WRK_TESTLINK)

if HAVE_CUDA
check_PROGRAMS += tests/ops/test_ops_readback_cuda
TESTS += tests/ops/test_ops_readback_cuda
tests_ops_test_ops_readback_cuda_SOURCES = tests/ops/test_ops_readback_cuda.c \
	tests/ops/ops_cudahost.c tests/ops/ops_cudahost.h tests/ops/ops_cudasuite.h
tests_ops_test_ops_readback_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_readback_cuda_LDADD = $(WRK_TESTLIBS) -L$(CUDA_LIBDIR) $(CUDA_LIBS)
tests_ops_test_ops_readback_cuda_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/ops/test_ops_argmax_cuda
TESTS += tests/ops/test_ops_argmax_cuda
tests_ops_test_ops_argmax_cuda_SOURCES = tests/ops/test_ops_argmax_cuda.c $(ARGMAX_CASES) \
	tests/ops/ops_cudahost.c tests/ops/ops_cudahost.h tests/ops/ops_cudasuite.h
tests_ops_test_ops_argmax_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_argmax_cuda_LDADD = $(WRK_TESTLIBS) -L$(CUDA_LIBDIR) $(CUDA_LIBS) -lm
tests_ops_test_ops_argmax_cuda_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/ops/test_ops_fused_cuda
TESTS += tests/ops/test_ops_fused_cuda
tests_ops_test_ops_fused_cuda_SOURCES = tests/ops/test_ops_fused_cuda.c \
	tests/ops/ops_testutil.c tests/ops/ops_testutil.h tests/ops/ops_cudahost.c \
	tests/ops/ops_cudahost.h tests/ops/ops_devweight.c tests/ops/ops_devweight.h \
	tests/ops/ops_int8ref.c tests/ops/ops_int8ref.h \
	tests/ops/ops_multicheck.c tests/ops/ops_multicheck.h tests/ops/ops_cudasuite.h
tests_ops_test_ops_fused_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_fused_cuda_LDADD = $(WRK_TESTLIBS) -L$(CUDA_LIBDIR) $(CUDA_LIBS) -lm
tests_ops_test_ops_fused_cuda_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/ops/test_ops_cuda
TESTS += tests/ops/test_ops_cuda
tests_ops_test_ops_cuda_SOURCES = tests/ops/test_ops_cuda.c tests/ops/ops_testutil.c \
	tests/ops/ops_testutil.h tests/ops/ops_cudahost.c tests/ops/ops_cudahost.h \
	tests/ops/ops_devweight.c tests/ops/ops_devweight.h tests/ops/ops_int8ref.c \
	tests/ops/ops_int8ref.h tests/ops/ops_cudasuite.h tests/ops/ops_multicheck.c \
	tests/ops/ops_multicheck.h
tests_ops_test_ops_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_cuda_LDADD = $(WRK_TESTLIBS) -L$(CUDA_LIBDIR) $(CUDA_LIBS) -lm
tests_ops_test_ops_cuda_LDFLAGS = $(WRK_TESTLINK)

check_PROGRAMS += tests/ops/test_ops_int8_cuda
TESTS += tests/ops/test_ops_int8_cuda
tests_ops_test_ops_int8_cuda_SOURCES = tests/ops/test_ops_int8_cuda.c \
	tests/ops/ops_testutil.c tests/ops/ops_testutil.h tests/ops/ops_cudahost.c \
	tests/ops/ops_cudahost.h tests/ops/ops_devweight.c tests/ops/ops_devweight.h \
	tests/ops/ops_int8ref.c tests/ops/ops_int8ref.h \
	tests/ops/ops_multicheck.c tests/ops/ops_multicheck.h tests/ops/ops_cudasuite.h
tests_ops_test_ops_int8_cuda_CFLAGS = $(WRK_TESTCFLAGS)
tests_ops_test_ops_int8_cuda_LDADD = $(WRK_TESTLIBS) -L$(CUDA_LIBDIR) $(CUDA_LIBS) -lm
tests_ops_test_ops_int8_cuda_LDFLAGS = $(WRK_TESTLINK)

noinst_PROGRAMS += tests/ops/bench_gemv
tests_ops_bench_gemv_SOURCES = tests/ops/bench_gemv.c tests/ops/ops_cudahost.c \
	tests/ops/ops_cudahost.h
tests_ops_bench_gemv_CFLAGS = $(AM_CFLAGS)
tests_ops_bench_gemv_LDADD = runtime/libwrk.la -L$(CUDA_LIBDIR) $(CUDA_LIBS)
tests_ops_bench_gemv_LDFLAGS = -no-install $(WRK_LINK_FLAGS)

noinst_PROGRAMS += tests/ops/bench_gemm
tests_ops_bench_gemm_SOURCES = tests/ops/bench_gemm.c tests/ops/ops_cudahost.c \
	tests/ops/ops_cudahost.h
tests_ops_bench_gemm_CFLAGS = $(AM_CFLAGS)
tests_ops_bench_gemm_LDADD = runtime/libwrk.la -L$(CUDA_LIBDIR) $(CUDA_LIBS)
tests_ops_bench_gemm_LDFLAGS = -no-install $(WRK_LINK_FLAGS)
endif
