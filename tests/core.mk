# tests/core: the foundation (errors, logging, accountant, contexts, NULL-safety) and the
# public ABI lock (exported symbols, abidiff against abi/libworker.abi).
CORE_TESTS = tests/core/test_error tests/core/test_log tests/core/test_vram \
	tests/core/test_context tests/core/test_ffi_null tests/core/test_gpu_context \
	tests/core/test_env
check_PROGRAMS += $(CORE_TESTS)
TESTS += $(CORE_TESTS) tests/core/abi_exports.sh tests/core/abi_check.sh

CORE_TEST_HDRS = tests/core/capture.h
tests_core_test_error_SOURCES = tests/core/test_error.c
tests_core_test_log_SOURCES = tests/core/test_log.c $(CORE_TEST_HDRS)
tests_core_test_vram_SOURCES = tests/core/test_vram.c $(CORE_TEST_HDRS)
tests_core_test_context_SOURCES = tests/core/test_context.c $(CORE_TEST_HDRS)
tests_core_test_ffi_null_SOURCES = tests/core/test_ffi_null.c
tests_core_test_gpu_context_SOURCES = tests/core/test_gpu_context.c
tests_core_test_env_SOURCES = tests/core/test_env.c
tests_core_test_env_CFLAGS = $(WRK_TESTCFLAGS)
tests_core_test_env_LDADD = $(WRK_TESTLIBS)
tests_core_test_env_LDFLAGS = $(WRK_TESTLINK)
tests_core_test_error_CFLAGS = $(WRK_TESTCFLAGS)
tests_core_test_log_CFLAGS = $(WRK_TESTCFLAGS)
tests_core_test_vram_CFLAGS = $(WRK_TESTCFLAGS)
tests_core_test_context_CFLAGS = $(WRK_TESTCFLAGS)
tests_core_test_ffi_null_CFLAGS = $(WRK_TESTCFLAGS)
tests_core_test_gpu_context_CFLAGS = $(WRK_TESTCFLAGS)
tests_core_test_error_LDADD = $(WRK_TESTLIBS)
tests_core_test_log_LDADD = $(WRK_TESTLIBS)
tests_core_test_vram_LDADD = $(WRK_TESTLIBS)
tests_core_test_context_LDADD = $(WRK_TESTLIBS)
tests_core_test_ffi_null_LDADD = $(WRK_TESTLIBS)
tests_core_test_gpu_context_LDADD = $(WRK_TESTLIBS)
tests_core_test_error_LDFLAGS = $(WRK_TESTLINK)
tests_core_test_log_LDFLAGS = $(WRK_TESTLINK)
tests_core_test_vram_LDFLAGS = $(WRK_TESTLINK)
tests_core_test_context_LDFLAGS = $(WRK_TESTLINK)
tests_core_test_ffi_null_LDFLAGS = $(WRK_TESTLINK)
tests_core_test_gpu_context_LDFLAGS = $(WRK_TESTLINK)

# The ABI lock: both scripts find the built library through top_builddir.
dist_noinst_SCRIPTS += tests/core/abi_exports.sh tests/core/abi_check.sh
EXTRA_DIST += abi/libworker.abi

# Regenerate the committed public-ABI baseline from the library just built (after an
# intended, reviewed change; see abi/README.md).
abi-baseline: runtime/libworker.la
	@test -n "$(ABIDW)" || { echo "abidw not found (Debian: abigail-tools)"; exit 1; }
	$(ABIDW) --no-corpus-path --headers-dir $(top_srcdir)/include \
	  --drop-private-types --out-file $(top_srcdir)/abi/libworker.abi runtime/.libs/libworker.so
	@echo "wrote $(top_srcdir)/abi/libworker.abi"
.PHONY: abi-baseline
