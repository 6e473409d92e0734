/*
 * srv_opts.h - worker-orcd's command line over the ini file (flags win).
 */
#ifndef SRV_OPTS_H
#define SRV_OPTS_H

#include "config/config.h"

typedef struct srv_opts {
    wrk_config cfg;              /* ini values, then flags applied over them */
    char config_path[4096];      /* "" when no --config */
    char callback_url[2048];     /* "" when none */
    unsigned kv_cache_mb;        /* --kv-cache-size-mb: accepted for compatibility */
    int kv_cache_given;
} srv_opts;

enum { SRV_OPTS_RUN = 0, SRV_OPTS_EXIT_OK = 1, SRV_OPTS_EXIT_FAIL = 2 };

/** Parse argv (loading --config first). Prints --help/--version or the error itself. */
int srv_opts_parse(int argc, char **argv, srv_opts *o);

#endif
