# runtime/config: worker-orcd.ini on inih (also compiled directly by the server).
runtime_libwrk_la_SOURCES += runtime/config/config.h runtime/config/config.c
