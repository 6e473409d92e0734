# gpt plugin: the module plugins/gpt.la (-> plugins/.libs/gpt.so), serving the GGUF
# architecture gpt2. It links neither libworker nor libwrk, and shares no source with
# plugins/llama: it reaches the runtime (and the shared kernel library) only through the
# wp_host table (abi/worker_plugin.h).
plugin_LTLIBRARIES += plugins/gpt.la
plugins_gpt_la_SOURCES = plugins/gpt/gpt.h plugins/gpt/gpt_plugin.c plugins/gpt/gpt_load.c \
	plugins/gpt/gpt_kv.c plugins/gpt/gpt_forward.c plugins/gpt/gpt_kernels_host.c
plugins_gpt_la_CPPFLAGS = $(AM_CPPFLAGS)
plugins_gpt_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
plugins_gpt_la_LDFLAGS = $(WP_MODULE_FLAGS) $(CUDA_LDFLAGS)
plugins_gpt_la_LIBADD = -lm
if HAVE_CUDA
plugins_gpt_la_SOURCES += plugins/gpt/gpt_kernels_cuda.cu
plugins_gpt_la_CPPFLAGS += -DGPT_WITH_CUDA=1
# nvcc's host stubs use C++ runtime pieces (static guards, the personality routine).
plugins_gpt_la_LIBADD += -L$(CUDA_LIBDIR) -lcudart -lstdc++
else
plugins_gpt_la_SOURCES += plugins/gpt/gpt_kernels_none.c
endif
