# tests/headers: the public headers stand alone in C99/C11/C++ with gcc and clang, and the
# locked functions keep exactly the spec's signatures (compile-time and through libworker.so).
TESTS += tests/headers/compile_headers.sh tests/headers/test_locked_api
dist_noinst_SCRIPTS += tests/headers/compile_headers.sh
EXTRA_DIST += tests/headers/locked_signatures.h tests/headers/locked_decls.c \
	tests/headers/locked_decls.cc
check_PROGRAMS += tests/headers/test_locked_api
tests_headers_test_locked_api_SOURCES = tests/headers/test_locked_api.c \
	tests/headers/locked_signatures.h
tests_headers_test_locked_api_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# Linked against the public shared library, as a consumer would be.
tests_headers_test_locked_api_LDADD = runtime/libworker.la $(CHECK_LIBS)
tests_headers_test_locked_api_LDFLAGS = -no-install
