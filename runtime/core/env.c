/*
 * env.c - the "off when set to 0" switches (wrk_env.h).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "core/wrk_env.h"

int wrk_env_on(const char *name)
{
    const char *v = name ? getenv(name) : NULL;
    return !(v && strcmp(v, "0") == 0);
}

int wrk_env_on_once(const char *name, volatile int *state)
{
    if (*state < 0)
        *state = wrk_env_on(name);
    return *state != 0;
}
