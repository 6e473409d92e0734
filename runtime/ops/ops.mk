# runtime/ops: the shared kernel library (wp_ops) for the host (reference) and CUDA backends.
runtime_libwrk_la_SOURCES += runtime/ops/ops.h runtime/ops/ops_internal.h \
	runtime/ops/ops_check.c \
	runtime/ops/host/host_ops.h runtime/ops/host/host_ops.c \
	runtime/ops/host/host_matmul.c runtime/ops/host/host_attention.c
if HAVE_CUDA
runtime_libwrk_la_SOURCES += runtime/ops/cuda/cuda_common.cuh runtime/ops/cuda/cublas_common.cuh \
	runtime/ops/cuda/quant_traits.cuh runtime/ops/cuda/cuda_ops.h \
	runtime/ops/cuda/cuda_ops.cu runtime/ops/cuda/matmul.cu runtime/ops/cuda/matmul_int8.cu \
	runtime/ops/cuda/matmul_gemm.cu runtime/ops/cuda/graph.cu runtime/ops/cuda/dequant.cu \
	runtime/ops/cuda/get_rows.cu runtime/ops/cuda/attention.cu \
	runtime/ops/cuda/attention_gemm.cu runtime/ops/cuda/attention_decode.cu \
	runtime/ops/cuda/argmax.cu runtime/ops/cuda/readback.cu
# nvcc runs without dependency tracking: name the kernel headers so an edit rebuilds.
wrk_ops_cuda_deps = $(srcdir)/runtime/ops/cuda/cuda_common.cuh \
	$(srcdir)/runtime/ops/cuda/cublas_common.cuh \
	$(srcdir)/runtime/ops/cuda/quant_traits.cuh $(srcdir)/runtime/ops/cuda/cuda_ops.h \
	$(srcdir)/runtime/ops/ops_internal.h $(srcdir)/abi/worker_plugin.h
runtime/ops/cuda/cuda_ops.lo runtime/ops/cuda/matmul.lo runtime/ops/cuda/matmul_int8.lo \
runtime/ops/cuda/matmul_gemm.lo \
runtime/ops/cuda/graph.lo runtime/ops/cuda/dequant.lo runtime/ops/cuda/get_rows.lo runtime/ops/cuda/attention.lo \
runtime/ops/cuda/attention_gemm.lo runtime/ops/cuda/attention_decode.lo \
runtime/ops/cuda/argmax.lo runtime/ops/cuda/readback.lo: $(wrk_ops_cuda_deps)
# nvcc's host stubs of kernel launches use C++ static-local guards (__cxa_guard_*), so every
# link of libwrk with CUDA kernels needs libstdc++ (programs are linked by the C driver).
runtime_libwrk_la_LIBADD += -lstdc++
else
runtime_libwrk_la_SOURCES += runtime/ops/ops_nocuda.c
endif
