# The runtime: everything goes into the convenience library runtime/libwrk.la (which tests
# and in-tree tools link directly, to reach internals), and libworker.so wraps it, exporting
# only the public cuda_* / worker_* API.
noinst_LTLIBRARIES += runtime/libwrk.la
runtime_libwrk_la_SOURCES =
runtime_libwrk_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden $(INIH_CFLAGS) $(PCRE2_CFLAGS)
runtime_libwrk_la_LIBADD = $(INIH_LIBS) $(PCRE2_LIBS) $(LTDL_LIBS) -lm
if HAVE_CUDA
runtime_libwrk_la_LIBADD += -L$(CUDA_LIBDIR) $(CUDA_LIBS) -lstdc++
endif

# Link flags for any final program or library that contains libwrk.
WRK_LINK_FLAGS = $(CUDA_LDFLAGS)

include runtime/core/core.mk
include runtime/gguf/gguf.mk
include runtime/plugin/plugin.mk
include runtime/ops/ops.mk
include runtime/text/text.mk
include runtime/session/session.mk
include runtime/config/config.mk
include runtime/model/model.mk

lib_LTLIBRARIES += runtime/libworker.la
runtime_libworker_la_SOURCES =
nodist_EXTRA_runtime_libworker_la_SOURCES = dummy.c
runtime_libworker_la_LIBADD = runtime/libwrk.la
runtime_libworker_la_LDFLAGS = -version-info 1:0:0 -no-undefined $(WRK_LINK_FLAGS) \
	-export-symbols-regex '^(cuda_|worker_)'
include_HEADERS += include/worker_ffi.h include/worker_types.h include/worker_errors.h \
	include/worker_ext.h
