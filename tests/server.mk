# server tests: unit tests of the request checks (Check, no model needed), the end-to-end
# test of a running worker-orcd on the host backend (python3 stdlib), and the OpenAI client
# test (node + the official `openai` package; `npm ci` in tests/server first, else SKIP).
check_PROGRAMS += tests/server/test_server_units
tests_server_test_server_units_SOURCES = tests/server/test_server_units.c $(SRV_CORE_SOURCES)
tests_server_test_server_units_CFLAGS = $(WRK_TESTCFLAGS) $(JANSSON_CFLAGS) \
	-I$(top_srcdir)/server
tests_server_test_server_units_LDADD = $(CHECK_LIBS) $(JANSSON_LIBS)
tests_server_test_server_units_LDFLAGS = -no-install
TESTS += tests/server/test_server_units tests/server/server_e2e.py tests/server/openai_client.sh
EXTRA_DIST += tests/server/server_e2e.py tests/server/openai_client.sh \
	tests/server/openai_client.mjs tests/server/package.json tests/server/package-lock.json
