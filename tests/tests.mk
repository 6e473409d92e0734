# Tests (Check). Each component keeps its tests in its own fragment.
WRK_TESTCFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir)/tests
WRK_TESTLIBS = runtime/libwrk.la $(CHECK_LIBS)
WRK_TESTLINK = -no-install $(WRK_LINK_FLAGS)
EXTRA_DIST += tests/check_run.h
include tests/headers.mk
include tests/core.mk
include tests/gguf.mk
include tests/plugin.mk
include tests/ops.mk
include tests/llama.mk
include tests/text.mk
include tests/gpt.mk
include tests/convert.mk
include tests/server.mk
EXTRA_DIST += tests/valgrind.supp
