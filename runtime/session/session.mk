# runtime/session: inference jobs behind the FFI, worker_tokenize/worker_detokenize.
runtime_libwrk_la_SOURCES += runtime/session/session.h runtime/session/session.c \
	runtime/session/textout.h runtime/session/textout.c runtime/session/tokenize_api.c \
	runtime/session/job_spare.h runtime/session/job_spare.c \
	runtime/session/greedy_pipe.h runtime/session/greedy_pipe.c
