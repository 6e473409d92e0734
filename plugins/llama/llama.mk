# llama plugin: the module plugins/llama.la (-> plugins/.libs/llama.so), serving the GGUF
# architectures llama and qwen2. It links neither libworker nor libwrk: it reaches the
# runtime only through the wp_host table (abi/worker_plugin.h).
plugin_LTLIBRARIES += plugins/llama.la
plugins_llama_la_SOURCES = plugins/llama/llama.h plugins/llama/llama_plugin.c \
	plugins/llama/llama_load.c plugins/llama/llama_kv.c plugins/llama/llama_forward.c \
	plugins/llama/llama_decode.c plugins/llama/llama_greedy.c \
	plugins/llama/llama_kernels_host.c
plugins_llama_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
plugins_llama_la_LDFLAGS = $(WP_MODULE_FLAGS) $(CUDA_LDFLAGS)
plugins_llama_la_LIBADD = -lm
if HAVE_CUDA
plugins_llama_la_SOURCES += plugins/llama/llama_kernels_cuda.cu
# nvcc's launch stubs use C++ function-local statics (__cxa_guard_*): link the C++ runtime.
plugins_llama_la_LIBADD += -L$(CUDA_LIBDIR) -lcudart -lstdc++
else
plugins_llama_la_SOURCES += plugins/llama/llama_kernels_none.c
endif
EXTRA_DIST += plugins/llama/README.md
